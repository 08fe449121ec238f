//! `virtual_routes` and `virtual_rules` as typed values: the parent parses
//! each line once (keepalived_config::route) and vrrpd installs them.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// iproute2's `rt_scopes` names and their values, for routes and
/// addresses alike (the first name of a value is the one printed).
const SCOPES: [(&str, u8); 6] = [
    ("global", 0),
    ("universe", 0),
    ("site", 200),
    ("link", 253),
    ("host", 254),
    ("nowhere", 255),
];

/// The RT_SCOPE_* value of a scope name.
pub fn scope_by_name(name: &str) -> Option<u8> {
    SCOPES.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The name of an RT_SCOPE_* value, as `ip` prints it (a value without a
/// name as its number).
pub fn scope_name(value: u8) -> String {
    SCOPES
        .iter()
        .find(|&&(_, v)| v == value)
        .map_or_else(|| value.to_string(), |(n, _)| n.to_string())
}

/// An address with a prefix length (`10.0.0.0/8`, a host when bare).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    pub fn parse(s: &str) -> Result<Prefix, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("'{s}' is not an address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(|| format!("'{s}': bad prefix length"))?,
        };
        Ok(Prefix { addr, len })
    }

    /// The whole of one family (`default`).
    pub fn any(v6: bool) -> Prefix {
        Prefix {
            addr: if v6 {
                IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
            },
            len: 0,
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Route types keepalived accepts before the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteType {
    Unicast,
    Local,
    Broadcast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

impl RouteType {
    /// The kernel's RTN_* value.
    pub fn rtn(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
        }
    }
}

/// One `virtual_routes` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    pub kind: RouteType,
    pub dst: Prefix,
    /// `src`: the preferred source address.
    pub src: Option<IpAddr>,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// RT_SCOPE_* value, when given.
    pub scope: Option<u8>,
    /// Routing table (main when unset).
    pub table: Option<u32>,
    /// `metric` / `preference` / `priority`.
    pub metric: Option<u32>,
    /// RTPROT_* value (keepalived's default is boot, as `ip route`).
    pub protocol: Option<u8>,
    pub onlink: bool,
    /// `no_track`: keepalived would not watch it; accepted and ignored.
    pub no_track: bool,
    /// `track_group NAME` (static routes): its instances watch `dev`.
    #[serde(default)]
    pub track_group: Option<String>,
}

/// What a rule does with matching packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleAction {
    /// `table N` / `lookup N`.
    Table(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `virtual_rules` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// Address family of the rule (from its prefixes; IPv4 when none).
    pub v6: bool,
    pub from: Option<Prefix>,
    pub to: Option<Prefix>,
    pub action: RuleAction,
    /// `priority` / `preference` / `pref`.
    pub priority: Option<u32>,
    pub fwmark: Option<(u32, Option<u32>)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub tos: Option<u8>,
    pub no_track: bool,
    /// `track_group NAME` (static rules): its instances watch `iif`.
    #[serde(default)]
    pub track_group: Option<String>,
}
