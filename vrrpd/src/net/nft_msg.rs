//! nf_tables netlink messages for keepalived's `no_accept` table, built
//! with neli's attribute types (no socket here: the bytes are tested
//! against what the kernel and `nft` read back).
//!
//! The layout is keepalived 2.2.7's (vrrp_nftables.c), so an operator's
//! `nft list table ip keepalived` reads the same whichever daemon runs:
//!
//! ```text
//! table ip keepalived {
//!     set vips { type ipv4_addr }
//!     chain out { type filter hook output priority P; policy accept;
//!         ip saddr @vips drop }
//!     chain in  { type filter hook input priority P; policy accept;
//!         ip daddr @vips drop }
//! }
//! table ip6 keepalived {
//!     set vips { type ipv6_addr }
//!     set neighbor-discovery { type icmpv6_type; flags constant; ... }
//!     set vips_link_local { type ipv6_addr . iface_index }
//!     chain out / in: ND accepted, fe80::/10 to the link-local chains,
//!         then the vips set dropped
//!     chain in_link_local / out_link_local: address . interface dropped
//! }
//! ```
//!
//! Every u32 attribute of nf_tables is big-endian on the wire; element
//! keys are raw bytes (addresses in network order, ifindex in host order,
//! as `meta iif` loads it).

use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{FromBytesWithInput, Size, ToBytes};
use std::io::{self, Cursor};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub const NFNL_MSG_BATCH_BEGIN: u16 = 16;
pub const NFNL_MSG_BATCH_END: u16 = 17;
/// Multicast group of nf_tables changes (the monitor joins it).
pub const NFNLGRP_NFTABLES: u32 = 7;

pub const NFT_MSG_NEWTABLE: u16 = 0;
pub const NFT_MSG_DELTABLE: u16 = 2;
pub const NFT_MSG_NEWCHAIN: u16 = 3;
pub const NFT_MSG_DELCHAIN: u16 = 5;
pub const NFT_MSG_NEWRULE: u16 = 6;
pub const NFT_MSG_DELRULE: u16 = 8;
pub const NFT_MSG_NEWSET: u16 = 9;
pub const NFT_MSG_DELSET: u16 = 11;
pub const NFT_MSG_NEWSETELEM: u16 = 12;
pub const NFT_MSG_DELSETELEM: u16 = 14;

pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

const NF_DROP: i32 = 0;
const NF_ACCEPT: i32 = 1;
const NFT_GOTO: i32 = -4;
const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;

const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_META_IIF: u32 = 4;
const NFT_META_OIF: u32 = 5;
const NFT_META_IIFNAME: u32 = 6;
const NFT_META_OIFNAME: u32 = 7;
const NFT_SET_CONSTANT: u32 = 2;
/// Registers: verdict, then the legacy 16-byte ones (a 20-byte
/// concatenation spills from 1 into 2, as nft itself does).
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NFT_REG_2: u32 = 2;

/// nft's user-space data types (informational, for `nft list`).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_IFINDEX: u32 = 20;
const TYPE_ICMPV6_TYPE: u32 = 29;
const TYPE_IFNAME: u32 = 41;
const TYPE_BITS: u32 = 6;
const IFNAMSIZ: usize = 16;

/// ICMPv6 neighbour solicitation and advertisement: let through to and
/// from a blocked address, or the address could not be resolved.
const ND_TYPES: [u8; 2] = [135, 136];

pub type Attr = Nlattr<u16, Buffer>;

fn bad<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(format!("nftables message: {e}"))
}

fn attr(t: u16, payload: Vec<u8>) -> io::Result<Attr> {
    NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(t)
                .build()
                .map_err(bad)?,
        )
        .nla_payload(Buffer::from(payload))
        .build()
        .map_err(bad)
}

fn be32(t: u16, v: u32) -> io::Result<Attr> {
    attr(t, v.to_be_bytes().to_vec())
}

fn string(t: u16, s: &str) -> io::Result<Attr> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    attr(t, b)
}

fn nest(t: u16, children: Vec<Attr>) -> io::Result<Attr> {
    let mut a = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(t)
                .nla_nested(true)
                .build()
                .map_err(bad)?,
        )
        .nla_payload(Buffer::from(Vec::new()))
        .build()
        .map_err(bad)?;
    for c in &children {
        a = a.nest(c).map_err(bad)?;
    }
    Ok(a)
}

/// `NFTA_DATA_VALUE` inside the given nest.
fn data_value(t: u16, bytes: &[u8]) -> io::Result<Attr> {
    nest(t, vec![attr(1, bytes.to_vec())?])
}

/// One expression: `NFTA_LIST_ELEM { NAME, DATA { ... } }`.
fn expr(name: &str, data: Vec<Attr>) -> io::Result<Attr> {
    let mut parts = vec![string(1, name)?];
    if !data.is_empty() {
        parts.push(nest(2, data)?);
    }
    nest(1, parts)
}

fn payload(base: u32, offset: u32, len: u32, dreg: u32) -> io::Result<Attr> {
    expr(
        "payload",
        vec![
            be32(1, dreg)?,
            be32(2, base)?,
            be32(3, offset)?,
            be32(4, len)?,
        ],
    )
}

fn meta(key: u32, dreg: u32) -> io::Result<Attr> {
    expr("meta", vec![be32(2, key)?, be32(1, dreg)?])
}

fn lookup(set: &str) -> io::Result<Attr> {
    expr("lookup", vec![string(1, set)?, be32(2, NFT_REG_1)?])
}

fn cmp_eq(data: &[u8]) -> io::Result<Attr> {
    expr(
        "cmp",
        vec![be32(1, NFT_REG_1)?, be32(2, 0)?, data_value(3, data)?],
    )
}

fn bitwise(mask: &[u8]) -> io::Result<Attr> {
    expr(
        "bitwise",
        vec![
            be32(1, NFT_REG_1)?,
            be32(2, NFT_REG_1)?,
            be32(3, mask.len() as u32)?,
            data_value(4, mask)?,
            data_value(5, &vec![0; mask.len()])?,
        ],
    )
}

fn verdict(code: i32, chain: Option<&str>) -> io::Result<Attr> {
    let mut v = vec![be32(1, code as u32)?];
    if let Some(c) = chain {
        v.push(string(2, c)?);
    }
    expr(
        "immediate",
        vec![be32(1, NFT_REG_VERDICT)?, nest(2, vec![nest(2, v)?])?],
    )
}

/// One blocked address, as the sets hold it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Elem {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    /// A link-local address on an interface, by index.
    LinkLocal(Ipv6Addr, u32),
    /// A link-local address on an interface, by name (keepalived uses the
    /// name when the instance does not track its interface, so a
    /// re-created interface keeps its rule).
    LinkLocalName(Ipv6Addr, String),
}

impl Elem {
    fn family(&self) -> u8 {
        match self {
            Elem::V4(_) => NFPROTO_IPV4,
            _ => NFPROTO_IPV6,
        }
    }

    fn set(&self) -> &'static str {
        match self {
            Elem::V4(_) | Elem::V6(_) => "vips",
            Elem::LinkLocal(..) => "vips_link_local",
            Elem::LinkLocalName(..) => "vips_link_local_name",
        }
    }

    fn key(&self) -> Vec<u8> {
        match self {
            Elem::V4(a) => a.octets().to_vec(),
            Elem::V6(a) => a.octets().to_vec(),
            Elem::LinkLocal(a, i) => {
                let mut k = a.octets().to_vec();
                k.extend_from_slice(&i.to_ne_bytes());
                k
            }
            Elem::LinkLocalName(a, n) => {
                let mut k = a.octets().to_vec();
                let mut name = [0u8; IFNAMSIZ];
                let b = n.as_bytes();
                let l = b.len().min(IFNAMSIZ - 1);
                name[..l].copy_from_slice(&b[..l]);
                k.extend_from_slice(&name);
                k
            }
        }
    }
}

/// The parts of the ruleset that exist (each built once, in order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    pub v4: bool,
    pub v6: bool,
    pub ll_index: bool,
    pub ll_name: bool,
}

impl Parts {
    /// What `elems` need.
    pub fn needed<'a>(elems: impl IntoIterator<Item = &'a Elem>) -> Parts {
        let mut p = Parts::default();
        for e in elems {
            match e {
                Elem::V4(_) => p.v4 = true,
                Elem::V6(_) => p.v6 = true,
                Elem::LinkLocal(..) => (p.v6, p.ll_index) = (true, true),
                Elem::LinkLocalName(..) => (p.v6, p.ll_name) = (true, true),
            }
        }
        p
    }

    pub fn union(self, o: Parts) -> Parts {
        Parts {
            v4: self.v4 || o.v4,
            v6: self.v6 || o.v6,
            ll_index: self.ll_index || o.ll_index,
            ll_name: self.ll_name || o.ll_name,
        }
    }

    pub fn any(self) -> bool {
        self.v4 || self.v6
    }
}

/// How the table is made (global_defs `nftables*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub table: String,
    pub priority: i32,
    pub counters: bool,
}

/// A closed batch: its bytes, the sequence numbers to be acknowledged,
/// and where the next batch's numbering starts.
pub struct Finished {
    pub bytes: Vec<u8>,
    pub acks: Vec<u32>,
    pub next_seq: u32,
}

/// A batch of nf_tables messages, sent in one write (the kernel applies
/// it whole or not at all). Every message but the batch markers asks for
/// an acknowledgement; `acks` lists their sequence numbers.
pub struct Batch<'a> {
    layout: &'a Layout,
    buf: Vec<u8>,
    seq: u32,
    acks: Vec<u32>,
    set_id: u32,
}

impl<'a> Batch<'a> {
    pub fn new(layout: &'a Layout, seq: u32) -> io::Result<Batch<'a>> {
        let mut b = Batch {
            layout,
            buf: Vec::new(),
            seq,
            acks: Vec::new(),
            set_id: 0,
        };
        b.raw(NFNL_MSG_BATCH_BEGIN, 0, NlmF::REQUEST, Vec::new())?;
        Ok(b)
    }

    /// Close the batch; empty (nothing between the markers) gives `None`.
    pub fn finish(mut self) -> io::Result<Option<Finished>> {
        if self.acks.is_empty() {
            return Ok(None);
        }
        self.raw(NFNL_MSG_BATCH_END, 0, NlmF::REQUEST, Vec::new())?;
        Ok(Some(Finished {
            bytes: self.buf,
            acks: self.acks,
            next_seq: self.seq,
        }))
    }

    fn raw(&mut self, ty: u16, family: u8, flags: NlmF, attrs: Vec<Attr>) -> io::Result<()> {
        // nfgenmsg: family, version 0, resource id (the subsystem, in the
        // batch markers; big-endian).
        let res_id: u16 = if ty == NFNL_MSG_BATCH_BEGIN || ty == NFNL_MSG_BATCH_END {
            NFNL_SUBSYS_NFTABLES
        } else {
            0
        };
        let mut payload = vec![family, 0];
        payload.extend_from_slice(&res_id.to_be_bytes());
        for a in &attrs {
            let mut c = Cursor::new(vec![0u8; a.padded_size()]);
            a.to_bytes(&mut c).map_err(bad)?;
            payload.extend_from_slice(&c.into_inner());
        }
        let msg: Nlmsghdr<u16, Buffer> = NlmsghdrBuilder::default()
            .nl_type(ty)
            .nl_flags(flags)
            .nl_seq(self.seq)
            .nl_payload(NlPayload::Payload(Buffer::from(payload)))
            .build()
            .map_err(bad)?;
        let mut c = Cursor::new(vec![0u8; msg.padded_size()]);
        msg.to_bytes(&mut c).map_err(bad)?;
        self.buf.extend_from_slice(&c.into_inner());
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }

    fn msg(&mut self, msg: u16, family: u8, flags: NlmF, attrs: Vec<Attr>) -> io::Result<()> {
        self.acks.push(self.seq);
        self.raw(
            (NFNL_SUBSYS_NFTABLES << 8) | msg,
            family,
            flags | NlmF::REQUEST | NlmF::ACK,
            attrs,
        )
    }

    fn table_msg(&mut self, msg: u16, family: u8) -> io::Result<()> {
        let flags = if msg == NFT_MSG_NEWTABLE {
            NlmF::CREATE
        } else {
            NlmF::empty()
        };
        let name = string(1, &self.layout.table)?;
        self.msg(msg, family, flags, vec![name])
    }

    /// Remove whatever an earlier run left under our table's name (an
    /// add that cannot fail, then the delete, so the batch does not
    /// depend on what exists).
    pub fn clear_table(&mut self, family: u8) -> io::Result<()> {
        self.table_msg(NFT_MSG_NEWTABLE, family)?;
        self.table_msg(NFT_MSG_DELTABLE, family)
    }

    pub fn delete_table(&mut self, family: u8) -> io::Result<()> {
        self.table_msg(NFT_MSG_DELTABLE, family)
    }

    fn chain(&mut self, family: u8, name: &str, hook: Option<u32>) -> io::Result<()> {
        let mut attrs = vec![string(1, &self.layout.table)?, string(3, name)?];
        if let Some(h) = hook {
            attrs.push(nest(
                4,
                vec![be32(1, h)?, be32(2, self.layout.priority as u32)?],
            )?);
            attrs.push(be32(5, NF_ACCEPT as u32)?);
            attrs.push(string(7, "filter")?);
        }
        self.msg(NFT_MSG_NEWCHAIN, family, NlmF::CREATE, attrs)
    }

    fn set(
        &mut self,
        family: u8,
        name: &str,
        types: &[u32],
        len: u32,
        constant: bool,
    ) -> io::Result<()> {
        self.set_id += 1;
        let key_type = types.iter().fold(0, |t, x| (t << TYPE_BITS) | x);
        // User data: the key's byte order (big-endian for plain
        // addresses, host order otherwise), which `nft list` reads.
        let order: u32 =
            if types.len() == 1 && (types[0] == TYPE_IPADDR || types[0] == TYPE_IP6ADDR) {
                2
            } else {
                1
            };
        let mut udata = vec![0u8, 4];
        udata.extend_from_slice(&order.to_ne_bytes());
        let mut attrs = vec![
            string(1, &self.layout.table)?,
            string(2, name)?,
            be32(4, key_type)?,
            be32(5, len)?,
            be32(10, self.set_id)?,
            attr(13, udata)?,
        ];
        if constant {
            attrs.push(be32(3, NFT_SET_CONSTANT)?);
        }
        self.msg(NFT_MSG_NEWSET, family, NlmF::CREATE, attrs)
    }

    fn rule(&mut self, family: u8, chain: &str, exprs: Vec<Attr>) -> io::Result<()> {
        let attrs = vec![
            string(1, &self.layout.table)?,
            string(2, chain)?,
            nest(4, exprs)?,
        ];
        self.msg(NFT_MSG_NEWRULE, family, NlmF::CREATE | NlmF::APPEND, attrs)
    }

    /// `[counter] verdict`, the tail of every rule.
    fn tail(&self, code: i32, chain: Option<&str>) -> io::Result<Vec<Attr>> {
        let mut v = Vec::new();
        if self.layout.counters {
            v.push(expr("counter", Vec::new())?);
        }
        v.push(verdict(code, chain)?);
        Ok(v)
    }

    /// `ip[6] {s,d}addr @vips drop`.
    fn drop_vips(&mut self, family: u8, chain: &str, saddr: bool) -> io::Result<()> {
        let (off, len) = match (family == NFPROTO_IPV4, saddr) {
            (true, true) => (12, 4),
            (true, false) => (16, 4),
            (false, true) => (8, 16),
            (false, false) => (24, 16),
        };
        let mut e = vec![
            payload(NFT_PAYLOAD_NETWORK_HEADER, off, len, NFT_REG_1)?,
            lookup("vips")?,
        ];
        e.extend(self.tail(NF_DROP, None)?);
        self.rule(family, chain, e)
    }

    /// The IPv4 table, its chains, set and rules.
    pub fn setup_v4(&mut self) -> io::Result<()> {
        let f = NFPROTO_IPV4;
        self.table_msg(NFT_MSG_NEWTABLE, f)?;
        self.chain(f, "out", Some(NF_INET_LOCAL_OUT))?;
        self.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
        self.set(f, "vips", &[TYPE_IPADDR], 4, false)?;
        self.drop_vips(f, "in", false)?;
        self.drop_vips(f, "out", true)
    }

    /// The IPv6 table: neighbour discovery let through, link-local
    /// addresses sent to their own chains, the rest dropped by set.
    pub fn setup_v6(&mut self) -> io::Result<()> {
        let f = NFPROTO_IPV6;
        self.table_msg(NFT_MSG_NEWTABLE, f)?;
        self.chain(f, "out", Some(NF_INET_LOCAL_OUT))?;
        self.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
        self.chain(f, "in_link_local", None)?;
        self.chain(f, "out_link_local", None)?;
        self.set(f, "vips", &[TYPE_IP6ADDR], 16, false)?;
        self.set(f, "neighbor-discovery", &[TYPE_ICMPV6_TYPE], 1, true)?;
        let keys: Vec<Vec<u8>> = ND_TYPES.iter().map(|t| vec![*t]).collect();
        self.elems_raw(NFT_MSG_NEWSETELEM, f, "neighbor-discovery", &keys)?;
        for (chain, saddr) in [("in", false), ("out", true)] {
            // icmpv6 type @neighbor-discovery accept (next header 58).
            let mut e = vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, 6, 1, NFT_REG_1)?,
                cmp_eq(&[58])?,
                payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1)?,
                lookup("neighbor-discovery")?,
            ];
            e.extend(self.tail(NF_ACCEPT, None)?);
            self.rule(f, chain, e)?;
            // ip6 {s,d}addr fe80::/10 goto {in,out}_link_local
            let off = if saddr { 8 } else { 24 };
            let mut mask = [0u8; 16];
            mask[0] = 0xff;
            mask[1] = 0xc0;
            let mut fe80 = [0u8; 16];
            fe80[0] = 0xfe;
            fe80[1] = 0x80;
            let target = format!("{chain}_link_local");
            let mut e = vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, off, 16, NFT_REG_1)?,
                bitwise(&mask)?,
                cmp_eq(&fe80)?,
            ];
            e.extend(self.tail(NFT_GOTO, Some(&target))?);
            self.rule(f, chain, e)?;
        }
        self.drop_vips(f, "in", false)?;
        self.drop_vips(f, "out", true)
    }

    /// The link-local set keyed by interface index or name, and its rules.
    pub fn setup_link_local(&mut self, by_name: bool) -> io::Result<()> {
        let f = NFPROTO_IPV6;
        let (set, types, len) = if by_name {
            ("vips_link_local_name", [TYPE_IP6ADDR, TYPE_IFNAME], 32)
        } else {
            ("vips_link_local", [TYPE_IP6ADDR, TYPE_IFINDEX], 20)
        };
        self.set(f, set, &types, len, false)?;
        for (chain, saddr) in [("in_link_local", false), ("out_link_local", true)] {
            let key = match (by_name, saddr) {
                (false, false) => NFT_META_IIF,
                (false, true) => NFT_META_OIF,
                (true, false) => NFT_META_IIFNAME,
                (true, true) => NFT_META_OIFNAME,
            };
            let off = if saddr { 8 } else { 24 };
            let mut e = vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, off, 16, NFT_REG_1)?,
                meta(key, NFT_REG_2)?,
                lookup(set)?,
            ];
            e.extend(self.tail(NF_DROP, None)?);
            self.rule(f, chain, e)?;
        }
        Ok(())
    }

    /// Everything `parts` names, in dependency order.
    pub fn setup(&mut self, parts: Parts) -> io::Result<()> {
        if parts.v4 {
            self.setup_v4()?;
        }
        if parts.v6 {
            self.setup_v6()?;
        }
        if parts.ll_index {
            self.setup_link_local(false)?;
        }
        if parts.ll_name {
            self.setup_link_local(true)?;
        }
        Ok(())
    }

    /// Add (`NFT_MSG_NEWSETELEM`) or remove (`..DELSETELEM`) elements,
    /// one message per set and at most [`ELEMS_PER_MSG`] elements each.
    pub fn elems<'e>(
        &mut self,
        msg: u16,
        elems: impl IntoIterator<Item = &'e Elem>,
    ) -> io::Result<()> {
        let mut by_set: std::collections::BTreeMap<(u8, &'static str), Vec<Vec<u8>>> =
            Default::default();
        for e in elems {
            by_set
                .entry((e.family(), e.set()))
                .or_default()
                .push(e.key());
        }
        for ((family, set), keys) in by_set {
            for chunk in keys.chunks(ELEMS_PER_MSG) {
                self.elems_raw(msg, family, set, chunk)?;
            }
        }
        Ok(())
    }

    fn elems_raw(&mut self, msg: u16, family: u8, set: &str, keys: &[Vec<u8>]) -> io::Result<()> {
        let list = keys
            .iter()
            .map(|k| nest(1, vec![data_value(1, k)?]))
            .collect::<io::Result<Vec<_>>>()?;
        let attrs = vec![
            string(1, &self.layout.table)?,
            string(2, set)?,
            nest(3, list)?,
        ];
        let flags = if msg == NFT_MSG_NEWSETELEM {
            NlmF::CREATE
        } else {
            NlmF::empty()
        };
        self.msg(msg, family, flags, attrs)
    }
}

/// Elements per set-element message: bounds one message's size (a
/// link-local element by name is under 64 bytes).
pub const ELEMS_PER_MSG: usize = 256;

/// What one nf_tables change announcement (`ty`, its payload: nfgenmsg
/// then attributes) says, if it concerns a table named `table`: (message
/// type, family). The table's name is attribute 1 in every kind of
/// message (table, chain, rule, set, element list).
pub fn announced(ty: u16, payload: &[u8], table: &str) -> Option<(u16, u8)> {
    if ty >> 8 != NFNL_SUBSYS_NFTABLES || payload.len() < 4 {
        return None;
    }
    let attrs = &payload[4..];
    let list =
        GenlBuffer::<u16, Buffer>::from_bytes_with_input(&mut Cursor::new(attrs), attrs.len())
            .ok()?;
    let name = list.iter().find(|a| *a.nla_type().nla_type() == 1)?;
    let v: &[u8] = name.nla_payload().as_ref();
    let v = v.split(|b| *b == 0).next().unwrap_or(v);
    (v == table.as_bytes()).then_some((ty & 0xff, payload[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            table: "keepalived".into(),
            priority: -1,
            counters: false,
        }
    }

    /// Walk a batch: (type, flags, seq) of each message, lengths checked.
    fn walk(buf: &[u8]) -> Vec<(u16, u16, u32)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            let fl = u16::from_ne_bytes([buf[at + 6], buf[at + 7]]);
            let seq = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap());
            assert!(
                len >= 20 && at + len <= buf.len(),
                "bad length {len} at {at}"
            );
            out.push((ty, fl, seq));
            at += (len + 3) & !3;
        }
        out
    }

    #[test]
    fn a_batch_is_framed_and_every_change_is_acknowledged() {
        let l = layout();
        let mut b = Batch::new(&l, 100).unwrap();
        b.setup_v4().unwrap();
        b.elems(NFT_MSG_NEWSETELEM, &[Elem::V4(Ipv4Addr::new(10, 0, 0, 1))])
            .unwrap();
        let Finished {
            bytes: buf,
            acks,
            next_seq: next,
        } = b.finish().unwrap().unwrap();
        let msgs = walk(&buf);
        assert_eq!(msgs.first().unwrap().0, NFNL_MSG_BATCH_BEGIN);
        assert_eq!(msgs.last().unwrap().0, NFNL_MSG_BATCH_END);
        // table, 2 chains, set, 2 rules, elements.
        assert_eq!(acks.len(), 7);
        assert_eq!(msgs.len(), 9);
        assert_eq!(next, 109);
        assert_eq!(msgs[1].0, (10 << 8) | NFT_MSG_NEWTABLE);
        // The batch markers carry the subsystem as resource id.
        assert_eq!(&buf[16..20], &[0, 0, 0, 10]);
        assert!(acks
            .iter()
            .all(|s| msgs.iter().any(|m| m.2 == *s && m.1 & 4 != 0)));
    }

    #[test]
    fn an_empty_batch_is_not_sent() {
        let l = layout();
        let b = Batch::new(&l, 1).unwrap();
        assert!(b.finish().unwrap().is_none());
    }

    #[test]
    fn elements_are_split_by_set_and_chunked() {
        let l = layout();
        let mut b = Batch::new(&l, 1).unwrap();
        let mut elems: Vec<Elem> = (0..600u32)
            .map(|i| Elem::V4(Ipv4Addr::from(0x0a00_0000 + i)))
            .collect();
        elems.push(Elem::LinkLocal("fe80::1".parse().unwrap(), 3));
        b.elems(NFT_MSG_DELSETELEM, &elems).unwrap();
        let acks = b.finish().unwrap().unwrap().acks;
        // 600 IPv4 in 3 messages, the link-local one in its own.
        assert_eq!(acks.len(), 4);
    }

    #[test]
    fn keys_match_the_set_types() {
        let a: Ipv6Addr = "fe80::100".parse().unwrap();
        assert_eq!(
            Elem::V4(Ipv4Addr::new(10, 9, 0, 100)).key(),
            vec![10, 9, 0, 100]
        );
        assert_eq!(Elem::LinkLocal(a, 3).key().len(), 20);
        assert_eq!(&Elem::LinkLocal(a, 3).key()[16..], &3u32.to_ne_bytes());
        let k = Elem::LinkLocalName(a, "eth0".into()).key();
        assert_eq!(k.len(), 32);
        assert_eq!(&k[16..21], b"eth0\0");
    }

    #[test]
    fn parts_follow_the_elements() {
        let a: Ipv6Addr = "fe80::1".parse().unwrap();
        let p = Parts::needed(&[Elem::LinkLocal(a, 2)]);
        assert_eq!(
            p,
            Parts {
                v4: false,
                v6: true,
                ll_index: true,
                ll_name: false
            }
        );
        assert!(!Parts::needed(&[]).any());
    }

    #[test]
    fn announcements_of_our_table_are_recognised() {
        let l = layout();
        let mut b = Batch::new(&l, 1).unwrap();
        b.delete_table(NFPROTO_IPV6).unwrap();
        let buf = b.finish().unwrap().unwrap().bytes;
        // The second message is the delete.
        let first = (u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize + 3) & !3;
        let len = u32::from_ne_bytes(buf[first..first + 4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes([buf[first + 4], buf[first + 5]]);
        let payload = &buf[first + 16..first + len];
        assert_eq!(
            announced(ty, payload, "keepalived"),
            Some((NFT_MSG_DELTABLE, NFPROTO_IPV6))
        );
        assert_eq!(announced(ty, payload, "other"), None);
        assert_eq!(announced(ty, &payload[..3], "keepalived"), None);
        assert_eq!(announced(NFNL_MSG_BATCH_END, payload, "keepalived"), None);
        // A truncated attribute is not read past.
        let mut cut = payload.to_vec();
        cut[4] = 200;
        assert_eq!(announced(ty, &cut, "keepalived"), None);
    }
}
