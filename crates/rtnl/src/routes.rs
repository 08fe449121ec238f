//! `virtual_routes` and `virtual_rules` over rtnetlink: added when an
//! instance becomes master, removed when it leaves MASTER, as keepalived does.

use crate::rtnl::{attr, Rtnl};
use keepalived_types::route::{RouteSpec, RouteType, RuleAction, RuleSpec};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{
    FrAct, Frattr, Frf, RtAddrFamily, RtScope, RtTable, Rta, Rtm, RtmF, Rtn, Rtprot,
};
use neli::rtnl::{Fibmsg, FibmsgBuilder, Rtmsg, RtmsgBuilder};
use neli::types::RtBuffer;
use std::io;
use std::net::IpAddr;

/// keepalived's RTPROT_KEEPALIVED: `ip route` shows `proto keepalived`.
const PROTO_KEEPALIVED: u8 = 18;

/// A route with its output device resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub spec: RouteSpec,
    pub oif: Option<u32>,
}

/// A rule as given (interface names go to the kernel as names).
pub type Rule = RuleSpec;

fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn family(v6: bool) -> RtAddrFamily {
    if v6 {
        RtAddrFamily::Inet6
    } else {
        RtAddrFamily::Inet
    }
}

/// Tables above 255 only fit the RTA_TABLE / FRA_TABLE attribute.
fn table_field(t: u32) -> RtTable {
    RtTable::from(u8::try_from(t).unwrap_or(libc::RT_TABLE_UNSPEC))
}

fn route_msg(r: &Route) -> io::Result<Rtmsg> {
    let s = &r.spec;
    let v6 = s.dst.addr.is_ipv6();
    let mut attrs = RtBuffer::new();
    if s.dst.len > 0 {
        attrs.push(attr(Rta::Dst, ip_bytes(s.dst.addr))?);
    }
    if let Some(g) = s.via {
        attrs.push(attr(Rta::Gateway, ip_bytes(g))?);
    }
    if let Some(src) = s.src {
        attrs.push(attr(Rta::Prefsrc, ip_bytes(src))?);
    }
    if let Some(oif) = r.oif {
        attrs.push(attr(Rta::Oif, oif.to_ne_bytes().to_vec())?);
    }
    if let Some(m) = s.metric {
        attrs.push(attr(Rta::Priority, m.to_ne_bytes().to_vec())?);
    }
    let table = s.table.unwrap_or(u32::from(libc::RT_TABLE_MAIN));
    attrs.push(attr(Rta::Table, table.to_ne_bytes().to_vec())?);
    let scope = s.scope.unwrap_or(match s.kind {
        RouteType::Local => libc::RT_SCOPE_HOST,
        RouteType::Unicast | RouteType::Broadcast if s.via.is_none() => libc::RT_SCOPE_LINK,
        _ => libc::RT_SCOPE_UNIVERSE,
    });
    let flags = if s.onlink {
        // RTNH_F_ONLINK
        RtmF::from_bits_retain(4)
    } else {
        RtmF::empty()
    };
    RtmsgBuilder::default()
        .rtm_family(family(v6))
        .rtm_dst_len(s.dst.len)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(table_field(table))
        .rtm_protocol(Rtprot::from(s.protocol.unwrap_or(PROTO_KEEPALIVED)))
        .rtm_scope(RtScope::from(scope))
        .rtm_type(Rtn::from(s.kind.rtn()))
        .rtm_flags(flags)
        .rtattrs(attrs)
        .build()
        .map_err(|e| io::Error::other(format!("rtmsg: {e}")))
}

fn rule_msg(r: &Rule) -> io::Result<Fibmsg> {
    let mut attrs = RtBuffer::new();
    if let Some(p) = r.from {
        attrs.push(attr(Frattr::Src, ip_bytes(p.addr))?);
    }
    if let Some(p) = r.to {
        attrs.push(attr(Frattr::Dst, ip_bytes(p.addr))?);
    }
    if let Some(p) = r.priority {
        attrs.push(attr(Frattr::Priority, p.to_ne_bytes().to_vec())?);
    }
    if let Some((mark, mask)) = r.fwmark {
        attrs.push(attr(Frattr::Fwmark, mark.to_ne_bytes().to_vec())?);
        if let Some(m) = mask {
            attrs.push(attr(Frattr::Fwmask, m.to_ne_bytes().to_vec())?);
        }
    }
    for (ty, name) in [(Frattr::Iifname, &r.iif), (Frattr::Oifname, &r.oif)] {
        if let Some(n) = name {
            let mut b = n.as_bytes().to_vec();
            b.push(0);
            attrs.push(attr(ty, b)?);
        }
    }
    let (action, table) = match r.action {
        RuleAction::Table(t) => {
            attrs.push(attr(Frattr::Table, t.to_ne_bytes().to_vec())?);
            (FrAct::FrActToTbl, t)
        }
        RuleAction::Blackhole => (FrAct::FrActBlackhole, 0),
        RuleAction::Unreachable => (FrAct::FrActUnreachable, 0),
        RuleAction::Prohibit => (FrAct::FrActProhibit, 0),
    };
    FibmsgBuilder::default()
        .fib_family(family(r.v6))
        .fib_dst_len(r.to.map_or(0, |p| p.len))
        .fib_src_len(r.from.map_or(0, |p| p.len))
        .fib_tos(r.tos.unwrap_or(0))
        .fib_table(table_field(table))
        .fib_action(action)
        .fib_flags(Frf::empty())
        .rtattrs(attrs)
        .build()
        .map_err(|e| io::Error::other(format!("fibmsg: {e}")))
}

impl Rtnl {
    /// Add (or replace) a route.
    pub fn add_route(&mut self, r: &Route) -> io::Result<()> {
        let seq = self.send(
            Rtm::Newroute,
            NlmF::ACK | NlmF::CREATE | NlmF::REPLACE,
            route_msg(r)?,
        )?;
        self.ack::<Rtmsg>(seq)
    }

    /// Remove a route; one already gone is fine.
    pub fn del_route(&mut self, r: &Route) -> io::Result<()> {
        let seq = self.send(Rtm::Delroute, NlmF::ACK, route_msg(r)?)?;
        match self.ack::<Rtmsg>(seq) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            r => r,
        }
    }

    /// Add a rule; one already there is fine.
    pub fn add_rule(&mut self, r: &Rule) -> io::Result<()> {
        let seq = self.send(
            Rtm::Newrule,
            NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
            rule_msg(r)?,
        )?;
        match self.ack::<Fibmsg>(seq) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }

    /// Remove a rule; one already gone is fine.
    pub fn del_rule(&mut self, r: &Rule) -> io::Result<()> {
        let seq = self.send(Rtm::Delrule, NlmF::ACK, rule_msg(r)?)?;
        match self.ack::<Fibmsg>(seq) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            r => r,
        }
    }
}
