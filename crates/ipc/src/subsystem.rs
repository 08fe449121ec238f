//! The three children and the names keepalived uses for them.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Subsystem {
    Vrrp,
    Checker,
    Ipvs,
}

impl Subsystem {
    pub const ALL: [Subsystem; 3] = [Subsystem::Vrrp, Subsystem::Checker, Subsystem::Ipvs];

    /// Executable name, looked up beside the parent or in the libexec directory.
    pub fn binary(self) -> &'static str {
        match self {
            Subsystem::Vrrp => "vrrpd",
            Subsystem::Checker => "checkerd",
            Subsystem::Ipvs => "ipvsd",
        }
    }

    /// Syslog ident, as keepalived names its processes so log filters keep working.
    pub fn syslog_ident(self) -> &'static str {
        match self {
            Subsystem::Vrrp => "Keepalived_vrrp",
            Subsystem::Checker => "Keepalived_healthcheckers",
            Subsystem::Ipvs => "Keepalived_ipvs",
        }
    }

    /// Suffix of the per-subsystem log file for `-g FILE`.
    pub fn log_suffix(self) -> &'static str {
        match self {
            Subsystem::Vrrp => "_vrrp",
            Subsystem::Checker => "_healthcheckers",
            Subsystem::Ipvs => "_ipvs",
        }
    }

    /// Order in which SIGTERM stops the children: VRRP first (priority-0
    /// adverts hand the VIPs over while the real servers still answer), then
    /// the checkers, then IPVS.
    pub fn stop_order() -> [Subsystem; 3] {
        [Subsystem::Vrrp, Subsystem::Checker, Subsystem::Ipvs]
    }
}

impl fmt::Display for Subsystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}
