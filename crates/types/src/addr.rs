//! A virtual address's options, as vrrpd's plan carries them and the
//! rtnetlink crate writes them.

use serde::{Deserialize, Serialize};

/// keepalived 2.2.7's address options (vrrp_ipaddress.c), as rtnetlink
/// takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrOptions {
    /// IFA_F_* to set: `home` (HOMEADDRESS), `mngtmpaddr` (MANAGETEMPADDR),
    /// `noprefixroute` (NOPREFIXROUTE), `autojoin` (MCAUTOJOIN).
    pub flags: u32,
    /// `-nodad`: run duplicate address detection on an IPv6 VIP (keepalived
    /// turns it off by default: a VIP must work at once).
    pub dad: bool,
    /// IPv6 preferred lifetime in seconds; `None` is forever. keepalived's
    /// default is 0 (deprecated: never chosen as a source) for a /128 and
    /// forever otherwise.
    pub preferred_lft: Option<u32>,
    /// Valid lifetime in seconds (both families); `None` is forever. The
    /// kernel deletes the address when it runs out: ipvsd's announced
    /// addresses, refreshed while the suite lives (a dead-man switch).
    /// The preferred lifetime then applies to IPv4 too.
    pub valid_lft: Option<u32>,
    /// `peer ADDR/LEN`: a point-to-point address (the prefix is the peer's).
    pub peer: Option<std::net::IpAddr>,
}
