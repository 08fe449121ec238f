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
const NFT_META_L4PROTO: u32 = 16;
const NFT_META_OIFKIND: u32 = 27;
const NFT_SET_CONSTANT: u32 = 2;
const NFT_SET_MAP: u32 = 8;
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
const IPPROTO_IGMP: u8 = 2;
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_ROUTER_SOLICIT: u8 = 133;
const ICMPV6_MLD2_REPORT: u8 = 143;

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

/// A map lookup: the key in `reg`, the value loaded into `reg`.
fn map_lookup(set: &str, reg: u32) -> io::Result<Attr> {
    expr(
        "lookup",
        vec![string(1, set)?, be32(2, reg)?, be32(3, reg)?],
    )
}

fn cmp_eq(data: &[u8]) -> io::Result<Attr> {
    cmp_reg(NFT_REG_1, data)
}

fn cmp_reg(reg: u32, data: &[u8]) -> io::Result<Attr> {
    expr(
        "cmp",
        vec![be32(1, reg)?, be32(2, 0)?, data_value(3, data)?],
    )
}

/// `dup to <address in addr> device <index in dev>`.
fn dup(addr: u32, dev: u32) -> io::Result<Attr> {
    expr("dup", vec![be32(1, addr)?, be32(2, dev)?])
}

/// `meta oifkind "macvlan"`, in `NFT_REG_2`.
fn oifkind_macvlan() -> io::Result<[Attr; 2]> {
    let mut kind = [0u8; IFNAMSIZ];
    kind[..7].copy_from_slice(b"macvlan");
    Ok([
        meta(NFT_META_OIFKIND, NFT_REG_2)?,
        cmp_reg(NFT_REG_2, &kind)?,
    ])
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

    /// A set, or a map when `data` gives the values' type and length.
    fn set(
        &mut self,
        family: u8,
        name: &str,
        types: &[u32],
        len: u32,
        constant: bool,
        data: Option<(u32, u32)>,
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
        if data.is_some() {
            // A map's values (interface indexes): host order.
            udata.extend_from_slice(&[1, 4]);
            udata.extend_from_slice(&1u32.to_ne_bytes());
        }
        let mut attrs = vec![
            string(1, &self.layout.table)?,
            string(2, name)?,
            be32(4, key_type)?,
            be32(5, len)?,
            be32(10, self.set_id)?,
            attr(13, udata)?,
        ];
        let mut flags = 0;
        if constant {
            flags |= NFT_SET_CONSTANT;
        }
        if let Some((ty, len)) = data {
            flags |= NFT_SET_MAP;
            attrs.push(be32(6, ty)?);
            attrs.push(be32(7, len)?);
        }
        if flags != 0 {
            attrs.push(be32(3, flags)?);
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

    /// A family's table and its `out` chain (keepalived's
    /// nft_setup_ipv4 / nft_setup_ipv6).
    fn table(&mut self, f: u8) -> io::Result<()> {
        self.table_msg(NFT_MSG_NEWTABLE, f)?;
        self.chain(f, "out", Some(NF_INET_LOCAL_OUT))
    }

    /// The IPv4 `in` chain, `vips` set and rules.
    pub fn setup_v4(&mut self) -> io::Result<()> {
        let f = NFPROTO_IPV4;
        self.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
        self.set(f, "vips", &[TYPE_IPADDR], 4, false, None)?;
        self.drop_vips(f, "in", false)?;
        self.drop_vips(f, "out", true)
    }

    /// The IPv6 `vips` part: neighbour discovery let through, link-local
    /// addresses sent to their own chains, the rest dropped by set.
    pub fn setup_v6(&mut self) -> io::Result<()> {
        let f = NFPROTO_IPV6;
        self.chain(f, "in", Some(NF_INET_LOCAL_IN))?;
        self.chain(f, "in_link_local", None)?;
        self.chain(f, "out_link_local", None)?;
        self.set(f, "vips", &[TYPE_IP6ADDR], 16, false, None)?;
        self.set(f, "neighbor-discovery", &[TYPE_ICMPV6_TYPE], 1, true, None)?;
        let keys: Vec<Key> = ND_TYPES.iter().map(|t| (vec![*t], None)).collect();
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
        self.set(f, set, &types, len, false, None)?;
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

    /// The VMAC part of a family (keepalived's nft_setup_igmp): reports
    /// leaving a macvlan are duplicated to its lower device and dropped;
    /// IPv6 router solicitations from one are dropped.
    pub fn setup_igmp(&mut self, v6: bool) -> io::Result<()> {
        let f = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
        self.set(
            f,
            "vmac_map",
            &[TYPE_IFINDEX],
            4,
            false,
            Some((TYPE_IFINDEX, 4)),
        )?;
        if v6 {
            self.set(f, "vmac_set", &[TYPE_IFINDEX], 4, false, None)?;
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
        e.extend(self.tail(NF_DROP, None)?);
        self.rule(f, "out", e)?;
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
            e.extend(self.tail(NF_DROP, None)?);
            self.rule(f, "out", e)?;
        }
        Ok(())
    }

    /// Everything `parts` names, in dependency order.
    pub fn setup(&mut self, parts: Parts) -> io::Result<()> {
        if parts.v4 {
            self.table(NFPROTO_IPV4)?;
        }
        if parts.v4_vips {
            self.setup_v4()?;
        }
        if parts.v6 {
            self.table(NFPROTO_IPV6)?;
        }
        if parts.v6_vips {
            self.setup_v6()?;
        }
        if parts.ll_index {
            self.setup_link_local(false)?;
        }
        if parts.ll_name {
            self.setup_link_local(true)?;
        }
        if parts.igmp4 {
            self.setup_igmp(false)?;
        }
        if parts.igmp6 {
            self.setup_igmp(true)?;
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
        let mut by_set: std::collections::BTreeMap<(u8, &'static str), Vec<Key>> =
            Default::default();
        for e in elems {
            // A map element is deleted by its key alone.
            let data = e.data().filter(|_| msg == NFT_MSG_NEWSETELEM);
            by_set
                .entry((e.family(), e.set()))
                .or_default()
                .push((e.key(), data));
        }
        for ((family, set), keys) in by_set {
            for chunk in keys.chunks(ELEMS_PER_MSG) {
                self.elems_raw(msg, family, set, chunk)?;
            }
        }
        Ok(())
    }

    fn elems_raw(&mut self, msg: u16, family: u8, set: &str, keys: &[Key]) -> io::Result<()> {
        let list = keys
            .iter()
            .map(|(k, d)| {
                let mut e = vec![data_value(1, k)?];
                if let Some(d) = d {
                    e.push(data_value(2, d)?);
                }
                nest(1, e)
            })
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

/// A set element's key and, in a map, its value.
type Key = (Vec<u8>, Option<Vec<u8>>);

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
        b.setup(Parts::needed(&[Elem::V4(Ipv4Addr::LOCALHOST)]))
            .unwrap();
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
