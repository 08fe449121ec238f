//! The messages: a [`Batch`] of nf_tables requests between the batch
//! markers, built from neli's attribute types (no socket here: the bytes
//! are tested against what the kernel and `nft` read back).
//!
//! Every u32 attribute of nf_tables is big-endian on the wire; element
//! keys are raw bytes (addresses and ports in network order, interface
//! indexes and marks in host order, as the expressions load them).

use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{FromBytesWithInput, Size, ToBytes};
use std::io::{self, Cursor};

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

pub const NF_DROP: i32 = 0;
pub const NF_ACCEPT: i32 = 1;
pub const NFT_GOTO: i32 = -4;
pub const NF_INET_LOCAL_IN: u32 = 1;
pub const NF_INET_LOCAL_OUT: u32 = 3;

pub const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
pub const NFT_META_IIF: u32 = 4;
pub const NFT_META_OIF: u32 = 5;
pub const NFT_META_IIFNAME: u32 = 6;
pub const NFT_META_OIFNAME: u32 = 7;
pub const NFT_META_L4PROTO: u32 = 16;
pub const NFT_META_OIFKIND: u32 = 27;
pub const NFT_SET_CONSTANT: u32 = 2;
pub const NFT_SET_MAP: u32 = 8;
/// Registers: verdict, then the legacy 16-byte ones (a 20-byte
/// concatenation spills from 1 into 2, as nft itself does).
pub const NFT_REG_VERDICT: u32 = 0;
pub const NFT_REG_1: u32 = 1;
pub const NFT_REG_2: u32 = 2;

/// nft's user-space data types (informational, for `nft list`).
pub const TYPE_IPADDR: u32 = 7;
pub const TYPE_IP6ADDR: u32 = 8;
pub const TYPE_IFINDEX: u32 = 20;
pub const TYPE_ICMPV6_TYPE: u32 = 29;
pub const TYPE_IFNAME: u32 = 41;
pub const TYPE_BITS: u32 = 6;
pub const IFNAMSIZ: usize = 16;
pub const NFT_RETURN: i32 = -5;
pub const NFT_META_MARK: u32 = 3;
pub const NFT_SET_INTERVAL: u32 = 4;
pub const NFT_SET_CONCAT: u32 = 0x80;
/// The 4-byte registers: `NFT_REG32_00` is the first word of `NFT_REG_1`.
pub const NFT_REG32_00: u32 = 8;
pub const TYPE_INET_SERVICE: u32 = 13;
pub const TYPE_MARK: u32 = 19;

pub type Attr = Nlattr<u16, Buffer>;

pub fn bad<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(format!("nftables message: {e}"))
}

pub fn attr(t: u16, payload: Vec<u8>) -> io::Result<Attr> {
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

pub fn be32(t: u16, v: u32) -> io::Result<Attr> {
    attr(t, v.to_be_bytes().to_vec())
}

pub fn string(t: u16, s: &str) -> io::Result<Attr> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    attr(t, b)
}

pub fn nest(t: u16, children: Vec<Attr>) -> io::Result<Attr> {
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
pub fn data_value(t: u16, bytes: &[u8]) -> io::Result<Attr> {
    nest(t, vec![attr(1, bytes.to_vec())?])
}

/// One expression: `NFTA_LIST_ELEM { NAME, DATA { ... } }`.
pub fn expr(name: &str, data: Vec<Attr>) -> io::Result<Attr> {
    let mut parts = vec![string(1, name)?];
    if !data.is_empty() {
        parts.push(nest(2, data)?);
    }
    nest(1, parts)
}

pub fn payload(base: u32, offset: u32, len: u32, dreg: u32) -> io::Result<Attr> {
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

pub fn meta(key: u32, dreg: u32) -> io::Result<Attr> {
    expr("meta", vec![be32(2, key)?, be32(1, dreg)?])
}

pub fn lookup(set: &str) -> io::Result<Attr> {
    expr("lookup", vec![string(1, set)?, be32(2, NFT_REG_1)?])
}

/// A map lookup: the key in `reg`, the value loaded into `reg`.
pub fn map_lookup(set: &str, reg: u32) -> io::Result<Attr> {
    expr(
        "lookup",
        vec![string(1, set)?, be32(2, reg)?, be32(3, reg)?],
    )
}

pub fn cmp_eq(data: &[u8]) -> io::Result<Attr> {
    cmp_reg(NFT_REG_1, data)
}

pub fn cmp_reg(reg: u32, data: &[u8]) -> io::Result<Attr> {
    expr(
        "cmp",
        vec![be32(1, reg)?, be32(2, 0)?, data_value(3, data)?],
    )
}

/// `dup to <address in addr> device <index in dev>`.
pub fn dup(addr: u32, dev: u32) -> io::Result<Attr> {
    expr("dup", vec![be32(1, addr)?, be32(2, dev)?])
}

pub fn bitwise(mask: &[u8]) -> io::Result<Attr> {
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

pub fn verdict(code: i32, chain: Option<&str>) -> io::Result<Attr> {
    let mut v = vec![be32(1, code as u32)?];
    if let Some(c) = chain {
        v.push(string(2, c)?);
    }
    expr(
        "immediate",
        vec![be32(1, NFT_REG_VERDICT)?, nest(2, vec![nest(2, v)?])?],
    )
}

/// `meta set mark <reg>`.
pub fn set_mark(sreg: u32) -> io::Result<Attr> {
    expr("meta", vec![be32(2, NFT_META_MARK)?, be32(3, sreg)?])
}

/// `counter`.
pub fn counter() -> io::Result<Attr> {
    expr("counter", Vec::new())
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

    /// Add (`NFT_MSG_NEWTABLE`, creating) or delete the table.
    pub fn table_msg(&mut self, msg: u16, family: u8) -> io::Result<()> {
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

    /// A chain; a base chain of type filter, policy accept, at the
    /// layout's priority when `hook` is given.
    pub fn chain(&mut self, family: u8, name: &str, hook: Option<u32>) -> io::Result<()> {
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

    /// A set, or a map when `spec.data` gives the values' type and
    /// length.
    pub fn set(&mut self, family: u8, spec: &SetSpec) -> io::Result<()> {
        self.set_id += 1;
        let key_type = spec.types.iter().fold(0, |t, x| (t << TYPE_BITS) | x);
        // User data: the key's byte order (big-endian for plain
        // addresses, host order otherwise), which `nft list` reads.
        let order: u32 = if spec.types.len() == 1
            && (spec.types[0] == TYPE_IPADDR || spec.types[0] == TYPE_IP6ADDR)
        {
            2
        } else {
            1
        };
        let mut udata = vec![0u8, 4];
        udata.extend_from_slice(&order.to_ne_bytes());
        if spec.data.is_some() {
            // A map's values (interface indexes, marks): host order.
            udata.extend_from_slice(&[1, 4]);
            udata.extend_from_slice(&1u32.to_ne_bytes());
        }
        let mut attrs = vec![
            string(1, &self.layout.table)?,
            string(2, spec.name)?,
            be32(4, key_type)?,
            be32(5, spec.len)?,
            be32(10, self.set_id)?,
            attr(13, udata)?,
        ];
        let mut flags = spec.flags;
        if let Some((ty, len)) = spec.data {
            flags |= NFT_SET_MAP;
            attrs.push(be32(6, ty)?);
            attrs.push(be32(7, len)?);
        }
        if flags != 0 {
            attrs.push(be32(3, flags)?);
        }
        if !spec.concat.is_empty() {
            // NFTA_SET_DESC { CONCAT { ELEM { FIELD_LEN } ... } }
            let fields = spec
                .concat
                .iter()
                .map(|l| nest(1, vec![be32(1, *l)?]))
                .collect::<io::Result<Vec<_>>>()?;
            attrs.push(nest(9, vec![nest(2, fields)?])?);
        }
        if spec.counter {
            // NFTA_SET_EXPR: a counter on every element.
            attrs.push(nest(17, vec![string(1, "counter")?])?);
        }
        self.msg(NFT_MSG_NEWSET, family, NlmF::CREATE, attrs)
    }

    /// A rule appended to `chain`.
    pub fn rule(&mut self, family: u8, chain: &str, exprs: Vec<Attr>) -> io::Result<()> {
        let attrs = vec![
            string(1, &self.layout.table)?,
            string(2, chain)?,
            nest(4, exprs)?,
        ];
        self.msg(NFT_MSG_NEWRULE, family, NlmF::CREATE | NlmF::APPEND, attrs)
    }

    /// `[counter] verdict`, the tail of every rule.
    pub fn tail(&self, code: i32, chain: Option<&str>) -> io::Result<Vec<Attr>> {
        let mut v = Vec::new();
        if self.layout.counters {
            v.push(expr("counter", Vec::new())?);
        }
        v.push(verdict(code, chain)?);
        Ok(v)
    }

    /// Add (`NFT_MSG_NEWSETELEM`) or remove (`..DELSETELEM`) elements of
    /// one set in one message (callers keep it under [`ELEMS_PER_MSG`]).
    pub fn elements(
        &mut self,
        msg: u16,
        family: u8,
        set: &str,
        elems: &[Element],
    ) -> io::Result<()> {
        let list = elems
            .iter()
            .map(|el| {
                let mut e = vec![data_value(1, &el.key)?];
                if let Some(d) = &el.data {
                    e.push(data_value(2, d)?);
                }
                if let Some(k) = &el.key_end {
                    e.push(data_value(10, k)?);
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

/// A set or map's definition.
#[derive(Clone, Debug, Default)]
pub struct SetSpec<'a> {
    pub name: &'a str,
    /// The key's data types (nft's), concatenated in order.
    pub types: &'a [u32],
    /// The key's length in bytes (each field padded to 4).
    pub len: u32,
    /// NFT_SET_* flags (NFT_SET_MAP is added with `data`).
    pub flags: u32,
    /// A map's values: their type and length.
    pub data: Option<(u32, u32)>,
    /// With NFT_SET_CONCAT: each field's length, unpadded.
    pub concat: &'a [u32],
    /// A counter on each element.
    pub counter: bool,
}

/// One set element: its key, the end of its interval (interval sets),
/// and its value (maps; a map element is deleted by its key alone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub key: Vec<u8>,
    pub key_end: Option<Vec<u8>>,
    pub data: Option<Vec<u8>>,
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
        b.table_msg(NFT_MSG_NEWTABLE, NFPROTO_IPV4).unwrap();
        b.chain(NFPROTO_IPV4, "in", Some(NF_INET_LOCAL_IN)).unwrap();
        let spec = SetSpec {
            name: "m",
            types: &[TYPE_IPADDR, TYPE_INET_SERVICE],
            len: 8,
            flags: NFT_SET_CONCAT | NFT_SET_INTERVAL,
            data: Some((TYPE_MARK, 4)),
            concat: &[4, 2],
            counter: true,
        };
        b.set(NFPROTO_IPV4, &spec).unwrap();
        b.rule(NFPROTO_IPV4, "in", b.tail(NF_ACCEPT, None).unwrap())
            .unwrap();
        let e = Element {
            key: vec![10, 0, 0, 1, 0, 80, 0, 0],
            key_end: Some(vec![10, 0, 0, 9, 0, 80, 0, 0]),
            data: Some(1000u32.to_ne_bytes().to_vec()),
        };
        b.elements(NFT_MSG_NEWSETELEM, NFPROTO_IPV4, "m", &[e])
            .unwrap();
        let Finished {
            bytes: buf,
            acks,
            next_seq: next,
        } = b.finish().unwrap().unwrap();
        let msgs = walk(&buf);
        assert_eq!(msgs.first().unwrap().0, NFNL_MSG_BATCH_BEGIN);
        assert_eq!(msgs.last().unwrap().0, NFNL_MSG_BATCH_END);
        // table, chain, set, rule, elements.
        assert_eq!(acks.len(), 5);
        assert_eq!(msgs.len(), 7);
        assert_eq!(next, 107);
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
