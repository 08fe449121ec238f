//! keepalived's `no_accept` table, as nf_tables messages (the wire is
//! keepalived_nft's; no socket here: the bytes are tested against what
//! the kernel and `nft` read back).
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
//! With `use_vmac`, keepalived also keeps the kernel's IGMP / MLD reports
//! off the macvlans (they would leave with the virtual MAC, which a
//! backup's switch then learns): each report is duplicated to the lower
//! device and dropped, and IPv6 router solicitations from a VMAC dropped:
//!
//! ```text
//! table ip keepalived {
//!     map vmac_map { type iface_index : iface_index }
//!     chain out { ip protocol igmp meta oifkind "macvlan"
//!         dup to ip daddr device oif map @vmac_map drop }
//! }
//! table ip6 keepalived {
//!     map vmac_map { type iface_index : iface_index }
//!     set vmac_set { type iface_index }
//!     chain out { icmpv6 type mld2-listener-report meta oifkind "macvlan"
//!         dup to ip6 daddr device oif map @vmac_map drop
//!         icmpv6 type nd-router-solicit meta oifkind "macvlan"
//!         oif @vmac_set drop }
//! }
//! ```
//!
//! Each family's table and `out` chain exist as soon as anything needs
//! them; the `vips` part and the VMAC part are added when first needed,
//! so rules appear in the order keepalived appends them.
//!

pub use keepalived_nft::*;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

/// ICMPv6 neighbour solicitation and advertisement: let through to and
/// from a blocked address, or the address could not be resolved.
const ND_TYPES: [u8; 2] = [135, 136];
const IPPROTO_IGMP: u8 = 2;
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_ROUTER_SOLICIT: u8 = 133;
const ICMPV6_MLD2_REPORT: u8 = 143;

/// `meta oifkind "macvlan"`, in `NFT_REG_2`.
fn oifkind_macvlan() -> io::Result<[Attr; 2]> {
    let mut kind = [0u8; IFNAMSIZ];
    kind[..7].copy_from_slice(b"macvlan");
    Ok([
        meta(NFT_META_OIFKIND, NFT_REG_2)?,
        cmp_reg(NFT_REG_2, &kind)?,
    ])
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
    /// A VMAC (index) whose IGMP (IPv4) or MLD (IPv6) reports are moved
    /// to its lower device (index): `vmac_map` of the family's table.
    Vmac {
        v6: bool,
        vmac: u32,
        base: u32,
    },
    /// A VMAC whose router solicitations are dropped (`ip6 vmac_set`).
    VmacSolicit(u32),
}

impl Elem {
    fn family(&self) -> u8 {
        match self {
            Elem::V4(_) | Elem::Vmac { v6: false, .. } => NFPROTO_IPV4,
            _ => NFPROTO_IPV6,
        }
    }

    fn set(&self) -> &'static str {
        match self {
            Elem::V4(_) | Elem::V6(_) => "vips",
            Elem::LinkLocal(..) => "vips_link_local",
            Elem::LinkLocalName(..) => "vips_link_local_name",
            Elem::Vmac { .. } => "vmac_map",
            Elem::VmacSolicit(_) => "vmac_set",
        }
    }

    /// A map element's value (the lower device's index).
    fn data(&self) -> Option<Vec<u8>> {
        match self {
            Elem::Vmac { base, .. } => Some(base.to_ne_bytes().to_vec()),
            _ => None,
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
            Elem::Vmac { vmac: i, .. } | Elem::VmacSolicit(i) => i.to_ne_bytes().to_vec(),
        }
    }
}

/// The parts of the ruleset that exist (each built once, in order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The family's table and its `out` chain.
    pub v4: bool,
    pub v6: bool,
    /// The `in` chain, the `vips` set and their rules.
    pub v4_vips: bool,
    pub v6_vips: bool,
    pub ll_index: bool,
    pub ll_name: bool,
    /// The VMAC map (and IPv6 set) and their rules.
    pub igmp4: bool,
    pub igmp6: bool,
}

impl Parts {
    /// What `elems` need.
    pub fn needed<'a>(elems: impl IntoIterator<Item = &'a Elem>) -> Parts {
        let mut p = Parts::default();
        for e in elems {
            match e {
                Elem::V4(_) => (p.v4, p.v4_vips) = (true, true),
                Elem::V6(_) => (p.v6, p.v6_vips) = (true, true),
                Elem::LinkLocal(..) => (p.v6, p.v6_vips, p.ll_index) = (true, true, true),
                Elem::LinkLocalName(..) => (p.v6, p.v6_vips, p.ll_name) = (true, true, true),
                Elem::Vmac { v6: false, .. } => (p.v4, p.igmp4) = (true, true),
                Elem::Vmac { v6: true, .. } | Elem::VmacSolicit(_) => {
                    (p.v6, p.igmp6) = (true, true)
                }
            }
        }
        p
    }

    fn fields(self) -> [bool; 8] {
        [
            self.v4,
            self.v6,
            self.v4_vips,
            self.v6_vips,
            self.ll_index,
            self.ll_name,
            self.igmp4,
            self.igmp6,
        ]
    }

    fn from_fields(f: [bool; 8]) -> Parts {
        let [v4, v6, v4_vips, v6_vips, ll_index, ll_name, igmp4, igmp6] = f;
        Parts {
            v4,
            v6,
            v4_vips,
            v6_vips,
            ll_index,
            ll_name,
            igmp4,
            igmp6,
        }
    }

    fn zip(self, o: Parts, f: impl Fn(bool, bool) -> bool) -> Parts {
        let (a, b) = (self.fields(), o.fields());
        Parts::from_fields(std::array::from_fn(|i| f(a[i], b[i])))
    }

    pub fn union(self, o: Parts) -> Parts {
        self.zip(o, |a, b| a || b)
    }

    /// What `self` has and `o` has not.
    pub fn minus(self, o: Parts) -> Parts {
        self.zip(o, |a, b| a && !b)
    }

    pub fn any(self) -> bool {
        self.v4 || self.v6
    }
}

/// keepalived's ruleset on a batch: the parts `Parts` names, and the
/// elements of its sets.
pub trait Rules {
    /// Everything `parts` names, in dependency order.
    fn setup(&mut self, parts: Parts) -> io::Result<()>;
    /// Add (`NFT_MSG_NEWSETELEM`) or remove (`..DELSETELEM`) elements,
    /// one message per set and at most [`ELEMS_PER_MSG`] elements each.
    fn elems<'e>(&mut self, msg: u16, elems: impl IntoIterator<Item = &'e Elem>) -> io::Result<()>;
}

impl Rules for Batch<'_> {
    fn setup(&mut self, parts: Parts) -> io::Result<()> {
        setup_parts(self, parts)
    }

    fn elems<'e>(&mut self, msg: u16, elems: impl IntoIterator<Item = &'e Elem>) -> io::Result<()> {
        elems_of(self, msg, elems)
    }
}

/// A set, or a map when `data` gives the values' type and length.
fn new_set(
    b: &mut Batch,
    family: u8,
    name: &str,
    types: &[u32],
    len: u32,
    constant: bool,
    data: Option<(u32, u32)>,
) -> io::Result<()> {
    let spec = SetSpec {
        name,
        types,
        len,
        flags: if constant { NFT_SET_CONSTANT } else { 0 },
        data,
        ..SetSpec::default()
    };
    b.set(family, &spec)
}

/// `ip[6] {s,d}addr @vips drop`.
fn drop_vips(b: &mut Batch, family: u8, chain: &str, saddr: bool) -> io::Result<()> {
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
    e.extend(b.tail(NF_DROP, None)?);
    b.rule(family, chain, e)
}

/// A family's table and its `out` chain (keepalived's
/// nft_setup_ipv4 / nft_setup_ipv6).
fn table_and_out(b: &mut Batch, f: u8) -> io::Result<()> {
    b.table_msg(NFT_MSG_NEWTABLE, f)?;
    b.chain(f, "out", Some(NF_INET_LOCAL_OUT))
}

/// The IPv4 `in` chain, `vips` set and rules.
fn setup_v4(b: &mut Batch) -> io::Result<()> {
    let f = NFPROTO_IPV4;
    b.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
    new_set(b, f, "vips", &[TYPE_IPADDR], 4, false, None)?;
    drop_vips(b, f, "in", false)?;
    drop_vips(b, f, "out", true)
}

/// The IPv6 `vips` part: neighbour discovery let through, link-local
/// addresses sent to their own chains, the rest dropped by set.
fn setup_v6(b: &mut Batch) -> io::Result<()> {
    let f = NFPROTO_IPV6;
    b.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
    b.chain(f, "in_link_local", None)?;
    b.chain(f, "out_link_local", None)?;
    new_set(b, f, "vips", &[TYPE_IP6ADDR], 16, false, None)?;
    new_set(
        b,
        f,
        "neighbor-discovery",
        &[TYPE_ICMPV6_TYPE],
        1,
        true,
        None,
    )?;
    let keys: Vec<Element> = ND_TYPES
        .iter()
        .map(|t| Element {
            key: vec![*t],
            ..Element::default()
        })
        .collect();
    b.elements(NFT_MSG_NEWSETELEM, f, "neighbor-discovery", &keys)?;
    for (chain, saddr) in [("in", false), ("out", true)] {
        // icmpv6 type @neighbor-discovery accept (next header 58).
        let mut e = vec![
            payload(NFT_PAYLOAD_NETWORK_HEADER, 6, 1, NFT_REG_1)?,
            cmp_eq(&[58])?,
            payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1)?,
            lookup("neighbor-discovery")?,
        ];
        e.extend(b.tail(NF_ACCEPT, None)?);
        b.rule(f, chain, e)?;
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
        e.extend(b.tail(NFT_GOTO, Some(&target))?);
        b.rule(f, chain, e)?;
    }
    drop_vips(b, f, "in", false)?;
    drop_vips(b, f, "out", true)
}

/// The link-local set keyed by interface index or name, and its rules.
fn setup_link_local(b: &mut Batch, by_name: bool) -> io::Result<()> {
    let f = NFPROTO_IPV6;
    let (set, types, len) = if by_name {
        ("vips_link_local_name", [TYPE_IP6ADDR, TYPE_IFNAME], 32)
    } else {
        ("vips_link_local", [TYPE_IP6ADDR, TYPE_IFINDEX], 20)
    };
    new_set(b, f, set, &types, len, false, None)?;
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
        e.extend(b.tail(NF_DROP, None)?);
        b.rule(f, chain, e)?;
    }
    Ok(())
}

/// The VMAC part of a family (keepalived's nft_setup_igmp): reports
/// leaving a macvlan are duplicated to its lower device and dropped;
/// IPv6 router solicitations from one are dropped.
fn setup_igmp(b: &mut Batch, v6: bool) -> io::Result<()> {
    let f = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
    new_set(
        b,
        f,
        "vmac_map",
        &[TYPE_IFINDEX],
        4,
        false,
        Some((TYPE_IFINDEX, 4)),
    )?;
    if v6 {
        new_set(b, f, "vmac_set", &[TYPE_IFINDEX], 4, false, None)?;
    }
    let mut e = if v6 {
        vec![
            meta(NFT_META_L4PROTO, NFT_REG_1)?,
            cmp_eq(&[IPPROTO_ICMPV6])?,
            payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1)?,
            cmp_eq(&[ICMPV6_MLD2_REPORT])?,
            payload(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, NFT_REG_1)?,
        ]
    } else {
        vec![
            payload(NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1)?,
            cmp_eq(&[IPPROTO_IGMP])?,
            payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1)?,
        ]
    };
    e.extend(oifkind_macvlan()?);
    e.push(meta(NFT_META_OIF, NFT_REG_2)?);
    e.push(map_lookup("vmac_map", NFT_REG_2)?);
    e.push(dup(NFT_REG_1, NFT_REG_2)?);
    e.extend(b.tail(NF_DROP, None)?);
    b.rule(f, "out", e)?;
    if v6 {
        let mut e = vec![
            meta(NFT_META_L4PROTO, NFT_REG_1)?,
            cmp_eq(&[IPPROTO_ICMPV6])?,
            payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1)?,
            cmp_eq(&[ICMPV6_ROUTER_SOLICIT])?,
        ];
        e.extend(oifkind_macvlan()?);
        e.push(meta(NFT_META_OIF, NFT_REG_2)?);
        e.push(expr(
            "lookup",
            vec![string(1, "vmac_set")?, be32(2, NFT_REG_2)?],
        )?);
        e.extend(b.tail(NF_DROP, None)?);
        b.rule(f, "out", e)?;
    }
    Ok(())
}

/// Everything `parts` names, in dependency order.
fn setup_parts(b: &mut Batch, parts: Parts) -> io::Result<()> {
    if parts.v4 {
        table_and_out(b, NFPROTO_IPV4)?;
    }
    if parts.v4_vips {
        setup_v4(b)?;
    }
    if parts.v6 {
        table_and_out(b, NFPROTO_IPV6)?;
    }
    if parts.v6_vips {
        setup_v6(b)?;
    }
    if parts.ll_index {
        setup_link_local(b, false)?;
    }
    if parts.ll_name {
        setup_link_local(b, true)?;
    }
    if parts.igmp4 {
        setup_igmp(b, false)?;
    }
    if parts.igmp6 {
        setup_igmp(b, true)?;
    }
    Ok(())
}

fn elems_of<'e>(
    b: &mut Batch,
    msg: u16,
    elems: impl IntoIterator<Item = &'e Elem>,
) -> io::Result<()> {
    let mut by_set: std::collections::BTreeMap<(u8, &'static str), Vec<Element>> =
        Default::default();
    for e in elems {
        // A map element is deleted by its key alone.
        let data = e.data().filter(|_| msg == NFT_MSG_NEWSETELEM);
        by_set
            .entry((e.family(), e.set()))
            .or_default()
            .push(Element {
                key: e.key(),
                key_end: None,
                data,
            });
    }
    for ((family, set), keys) in by_set {
        for chunk in keys.chunks(ELEMS_PER_MSG) {
            b.elements(msg, family, set, chunk)?;
        }
    }
    Ok(())
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

    #[test]
    fn one_address_builds_keepalived_ipv4_part() {
        let l = layout();
        let mut b = Batch::new(&l, 100).unwrap();
        b.setup(Parts::needed(&[Elem::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
        b.elems(NFT_MSG_NEWSETELEM, &[Elem::V4(Ipv4Addr::new(10, 0, 0, 1))])
            .unwrap();
        let f = b.finish().unwrap().unwrap();
        // table, 2 chains, set, 2 rules, elements.
        assert_eq!(f.acks.len(), 7);
        assert_eq!(f.next_seq, 109);
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
                v6: true,
                v6_vips: true,
                ll_index: true,
                ..Parts::default()
            }
        );
        assert!(!Parts::needed(&[]).any());
        // A VMAC needs its family's table and the VMAC part, not the
        // vips part; the difference is what a batch still has to build.
        let v = Parts::needed(&[Elem::Vmac {
            v6: false,
            vmac: 5,
            base: 2,
        }]);
        assert_eq!(
            v,
            Parts {
                v4: true,
                igmp4: true,
                ..Parts::default()
            }
        );
        let both = v.union(Parts::needed(&[Elem::V4(Ipv4Addr::LOCALHOST)]));
        assert_eq!(
            both.minus(v),
            Parts {
                v4_vips: true,
                ..Parts::default()
            }
        );
    }
}
