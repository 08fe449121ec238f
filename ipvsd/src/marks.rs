//! `nftables_ipvs`: the nftables table that marks virtual-server-group
//! traffic, so each group is served by fwmark services instead of one
//! IPVS service per address. keepalived 2.2.7's layout
//! (check_nftables.c), so `nft list table ip keepalived_ipvs` reads the
//! same whichever daemon runs:
//!
//! ```text
//! table ip keepalived_ipvs {
//!     map tcp_map { type ipv4_addr . inet_service : mark; flags interval
//!         elements = { 10.0.0.1-10.0.0.9 . 80 : 1000 } }
//!     chain in { type filter hook input priority -1; policy accept;
//!         meta l4proto tcp meta mark set ip daddr . tcp dport map @tcp_map return }
//! }
//! ```
//!
//! (`ip6` likewise; `udp_map` / `sctp_map` as used.) The table follows the
//! plan: built when the plan has marks (one atomic batch that also
//! removes what an earlier run left under the name), rebuilt when they
//! change or someone else deletes part of it, deleted at stop.

use keepalived_ipvs::plan::{MarkEntry, MarkTable};
use keepalived_ipvs::Protocol;
use keepalived_nft::*;
use log::{info, warn};
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;

pub struct Marks {
    conn: Conn,
    monitor: Monitor,
    /// What the kernel holds (as far as our batches know).
    built: Option<MarkTable>,
}

fn layout(t: &MarkTable) -> Layout {
    Layout {
        table: t.table.clone(),
        priority: t.priority,
        counters: t.counters,
    }
}

fn family(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        NFPROTO_IPV4
    } else {
        NFPROTO_IPV6
    }
}

fn map_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp_map",
        Protocol::Udp => "udp_map",
        Protocol::Sctp => "sctp_map",
    }
}

/// An address and port as the map's key holds them: each field padded to
/// 4 bytes, both in network order.
fn key(a: IpAddr, port: u16) -> Vec<u8> {
    let mut k = match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    k.extend_from_slice(&port.to_be_bytes());
    k.extend_from_slice(&[0, 0]);
    k
}

/// The table's families, and each family's maps, in the order keepalived
/// creates them (by the first entry that needs them).
fn parts(entries: &[MarkEntry]) -> Vec<(u8, Vec<Protocol>)> {
    let mut out: Vec<(u8, Vec<Protocol>)> = Vec::new();
    for e in entries {
        let f = family(e.first);
        let i = match out.iter().position(|(g, _)| *g == f) {
            Some(i) => i,
            None => {
                out.push((f, Vec::new()));
                out.len() - 1
            }
        };
        if !out[i].1.contains(&e.protocol) {
            out[i].1.push(e.protocol);
        }
    }
    out
}

/// The families `t` has a table in.
fn families(t: &MarkTable) -> Vec<u8> {
    parts(&t.entries).iter().map(|(f, _)| *f).collect()
}

/// `meta l4proto P meta mark set ip daddr . P dport map @P_map return`.
fn rule(b: &mut Batch, f: u8, p: Protocol) -> io::Result<()> {
    let v4 = f == NFPROTO_IPV4;
    let mut e = vec![
        meta(NFT_META_L4PROTO, NFT_REG_1)?,
        cmp_eq(&[p.to_raw() as u8])?,
        // The destination address, then the port right after it.
        if v4 {
            payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1)?
        } else {
            payload(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, NFT_REG_1)?
        },
        payload(
            NFT_PAYLOAD_TRANSPORT_HEADER,
            2,
            2,
            if v4 { NFT_REG32_00 + 1 } else { NFT_REG_2 },
        )?,
        map_lookup(map_name(p), NFT_REG_1)?,
        set_mark(NFT_REG_1)?,
    ];
    e.extend(b.tail(NFT_RETURN, None)?);
    b.rule(f, "in", e)
}

/// Everything `t` needs, from nothing: the old table (ours, or an earlier
/// run's) goes in the same batch.
fn build(b: &mut Batch, t: &MarkTable) -> io::Result<()> {
    let counters = t.counters;
    for f in [NFPROTO_IPV4, NFPROTO_IPV6] {
        b.clear_table(f)?;
    }
    for (f, protos) in parts(&t.entries) {
        b.table_msg(NFT_MSG_NEWTABLE, f)?;
        b.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
        for p in protos {
            let v4 = f == NFPROTO_IPV4;
            let spec = SetSpec {
                name: map_name(p),
                types: &[
                    if v4 { TYPE_IPADDR } else { TYPE_IP6ADDR },
                    TYPE_INET_SERVICE,
                ],
                len: if v4 { 8 } else { 20 },
                flags: NFT_SET_CONCAT | NFT_SET_INTERVAL,
                data: Some((TYPE_MARK, 4)),
                concat: &[if v4 { 4 } else { 16 }, 2],
                counter: counters,
            };
            b.set(f, &spec)?;
            rule(b, f, p)?;
        }
    }
    let mut by_map: BTreeMap<(u8, &'static str), Vec<Element>> = BTreeMap::new();
    for e in &t.entries {
        by_map
            .entry((family(e.first), map_name(e.protocol)))
            .or_default()
            .push(Element {
                key: key(e.first, e.port),
                key_end: Some(key(e.last, e.port)),
                data: Some(e.mark.to_ne_bytes().to_vec()),
            });
    }
    for ((f, map), elems) in by_map {
        for chunk in elems.chunks(ELEMS_PER_MSG) {
            b.elements(NFT_MSG_NEWSETELEM, f, map, chunk)?;
        }
    }
    Ok(())
}

/// Whether two tables are the same in the kernel (the mark bookkeeping
/// aside).
fn same(a: &MarkTable, b: &MarkTable) -> bool {
    a.table == b.table
        && a.priority == b.priority
        && a.counters == b.counters
        && a.entries == b.entries
}

impl Marks {
    pub fn open() -> io::Result<Marks> {
        Ok(Marks {
            conn: Conn::open()?,
            monitor: Monitor::open()?,
            built: None,
        })
    }

    pub fn monitor_fd(&self) -> std::os::fd::RawFd {
        self.monitor.fd()
    }

    /// Make the kernel hold `want` (none: no table).
    pub fn sync(&mut self, want: Option<&MarkTable>) {
        match (want, self.built.as_ref()) {
            (Some(w), Some(b)) if same(w, b) => {}
            (None, None) => {}
            (None, Some(_)) => self.stop(),
            (Some(w), _) => {
                if let Some(b) = self.built.as_ref().filter(|b| b.table != w.table) {
                    // A new name: the old table goes first.
                    let b = b.clone();
                    self.delete(&b);
                }
                self.apply(w);
            }
        }
    }

    fn apply(&mut self, w: &MarkTable) {
        match self.conn.exchange(&layout(w), |b| build(b, w)) {
            Ok(()) => {
                info!(
                    "nftables table {}: {} virtual-server-group range(s) marked",
                    w.table,
                    w.entries.len()
                );
                self.built = Some(w.clone());
            }
            Err(e) => warn!("cannot update nftables table {}: {e}", w.table),
        }
    }

    /// Announcements: a part of our table deleted by someone else puts it
    /// back whole. Returns whether announcements are left.
    pub fn on_monitor(&mut self) -> bool {
        let Some(t) = self.built.clone() else {
            // Nothing of ours: drain and forget.
            return self.monitor.read(self.conn.portid(), "", |_| false).more;
        };
        let fams = families(&t);
        let seen = self
            .monitor
            .read(self.conn.portid(), &t.table, |f| fams.contains(&f));
        if seen.deleted {
            warn!(
                "nftables table {} was changed by someone else - restoring it",
                t.table
            );
            self.apply(&t);
        }
        seen.more
    }

    fn delete(&mut self, t: &MarkTable) {
        let fams = families(t);
        let r = self.conn.exchange(&layout(t), |b| {
            for f in fams {
                b.delete_table(f)?;
            }
            Ok(())
        });
        match r {
            Ok(()) => info!("Removed nftables table {}", t.table),
            Err(e) => warn!("cannot remove nftables table {}: {e}", t.table),
        }
    }

    /// Delete our table (at stop, or when the plan has none).
    pub fn stop(&mut self) {
        if let Some(t) = self.built.take() {
            self.delete(&t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(first: &str, last: &str, protocol: Protocol, mark: u32) -> MarkEntry {
        MarkEntry {
            protocol,
            first: first.parse().unwrap(),
            last: last.parse().unwrap(),
            port: 80,
            mark,
        }
    }

    #[test]
    fn keys_are_address_then_port_each_padded() {
        assert_eq!(
            key("10.0.0.1".parse().unwrap(), 80),
            vec![10, 0, 0, 1, 0, 80, 0, 0]
        );
        let k = key("2001:db8::1".parse().unwrap(), 443);
        assert_eq!(k.len(), 20);
        assert_eq!(&k[16..], &[1, 187, 0, 0]);
    }

    #[test]
    fn families_and_maps_in_the_order_keepalived_makes_them() {
        let t = [
            entry("10.0.0.1", "10.0.0.9", Protocol::Udp, 1000),
            entry("2001:db8::1", "2001:db8::1", Protocol::Tcp, 1001),
            entry("10.0.1.1", "10.0.1.1", Protocol::Tcp, 1001),
            entry("10.0.2.1", "10.0.2.1", Protocol::Udp, 1000),
        ];
        assert_eq!(
            parts(&t),
            vec![
                (NFPROTO_IPV4, vec![Protocol::Udp, Protocol::Tcp]),
                (NFPROTO_IPV6, vec![Protocol::Tcp]),
            ]
        );
    }

    #[test]
    fn a_table_is_one_batch() {
        let t = MarkTable {
            table: "keepalived_ipvs".into(),
            priority: -1,
            counters: false,
            entries: vec![
                entry("10.0.0.1", "10.0.0.9", Protocol::Tcp, 1000),
                entry("10.0.1.1", "10.0.1.1", Protocol::Tcp, 1000),
            ],
            ..MarkTable::default()
        };
        let l = layout(&t);
        let mut b = Batch::new(&l, 1).unwrap();
        build(&mut b, &t).unwrap();
        let f = b.finish().unwrap().unwrap();
        // 2 × (add + delete) of old tables, table, chain, map, rule, one
        // element message.
        assert_eq!(f.acks.len(), 9);
    }
}
