//! Keywords keepalived 2.2.7 acts on that keepalived-rs accepts (so a
//! file keepalived runs still runs) but does not act on yet. Silence would
//! be the worst answer a drop-in can give: each use is reported with its
//! file:line, what keepalived would have done, and what that changes, at
//! every start and reload and by `-t`. Where ignoring the keyword changes
//! failover, traffic, health verdicts or scripts, `-t` fails with its own
//! exit status (3, LSB's "unimplemented feature") unless
//! `--allow-unsupported` is given: a migration's pre-flight check catches
//! it. keepalived's own `-t` verdict is unchanged otherwise.
//!
//! `docs/keywords.md` is generated from this table (`keepalived-rs
//! --list-unsupported`), and a test holds it against the parser and
//! keepalived's `keepalived.conf(5)`.

use crate::diag::{Diagnostic, Location, Pos, Severity};
use crate::tree::Node;
use serde::{Deserialize, Serialize};

/// What ignoring a keyword changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Effect {
    /// VRRP state or priority decisions.
    Failover,
    /// Which addresses, routes, firewall rules or IPVS entries exist.
    Traffic,
    /// Health-check verdicts.
    Checks,
    /// Scripts keepalived would run.
    Scripts,
    /// Notify FIFO lines, alerts, SNMP or D-Bus: what monitoring sees.
    Monitoring,
    /// Tuning, logging, process scheduling: no change in behaviour.
    Tuning,
}

impl Effect {
    /// Whether `-t` fails over it (without `--allow-unsupported`).
    pub fn blocks_config_test(self) -> bool {
        matches!(
            self,
            Effect::Failover | Effect::Traffic | Effect::Checks | Effect::Scripts
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Failover => "failover",
            Effect::Traffic => "traffic",
            Effect::Checks => "health checks",
            Effect::Scripts => "scripts",
            Effect::Monitoring => "monitoring",
            Effect::Tuning => "tuning",
        }
    }
}

/// One keyword keepalived-rs accepts without acting on it.
#[derive(Clone, Copy, Debug)]
pub struct Unsupported {
    /// The block it appears in (`global_defs`, `vrrp_instance`, `checker`
    /// for any health checker block, `top level`...).
    pub block: &'static str,
    pub keyword: &'static str,
    pub effect: Effect,
    /// What keepalived 2.2.7 does with it.
    pub keepalived: &'static str,
}

const fn u(
    block: &'static str,
    keyword: &'static str,
    effect: Effect,
    keepalived: &'static str,
) -> Unsupported {
    Unsupported {
        block,
        keyword,
        effect,
        keepalived,
    }
}

use Effect::*;

/// The table, sorted by block, then keyword.
#[rustfmt::skip]
pub const UNSUPPORTED: &[Unsupported] = &[
    u("checker", "BFD_CHECK", Checks, "takes a real server down with a BFD session"),
    u("global_defs", "bfd_cpu_affinity", Tuning, "pins the BFD process to CPUs"),
    u("global_defs", "bfd_no_swap", Tuning, "locks the BFD process in memory"),
    u("global_defs", "bfd_priority", Tuning, "sets the BFD process's nice value"),
    u("global_defs", "bfd_process_name", Tuning, "names the BFD process"),
    u("global_defs", "bfd_rlimit_rtime", Tuning, "limits the BFD process's realtime CPU"),
    u("global_defs", "bfd_rlimit_rttime", Tuning, "limits the BFD process's realtime CPU"),
    u("global_defs", "bfd_rt_priority", Tuning, "runs the BFD process with realtime priority"),
    u("global_defs", "config_save_dir", Tuning, "keeps copies of the configuration it loaded"),
    u("global_defs", "dbus_service_name", Monitoring, "names its D-Bus service"),
    u("global_defs", "enable_dbus", Monitoring, "publishes instance states on D-Bus and takes commands"),
    u("global_defs", "enable_snmp_checker", Monitoring, "serves the checker MIB over AgentX"),
    u("global_defs", "enable_snmp_keepalived", Monitoring, "serves the KEEPALIVED-MIB over AgentX"),
    u("global_defs", "enable_snmp_rfc", Monitoring, "serves the VRRP MIBs over AgentX"),
    u("global_defs", "enable_snmp_rfcv2", Monitoring, "serves the VRRPv2 MIB over AgentX"),
    u("global_defs", "enable_snmp_rfcv3", Monitoring, "serves the VRRPv3 MIB over AgentX"),
    u("global_defs", "enable_snmp_vrrp", Monitoring, "serves the VRRP part of KEEPALIVED-MIB over AgentX"),
    u("global_defs", "enable_traps", Monitoring, "sends SNMP traps on state changes"),
    u("global_defs", "log_unknown_vrids", Monitoring, "logs adverts for VRIDs not configured on their interface (ours counts them in the stats dump)"),
    u("global_defs", "lvs_netlink_cmd_rcv_bufs", Tuning, "sizes a netlink receive buffer"),
    u("global_defs", "lvs_netlink_cmd_rcv_bufs_force", Tuning, "sizes a netlink receive buffer"),
    u("global_defs", "lvs_netlink_monitor_rcv_bufs", Tuning, "sizes a netlink receive buffer"),
    u("global_defs", "lvs_netlink_monitor_rcv_bufs_force", Tuning, "sizes a netlink receive buffer"),
    u("global_defs", "no_checker_emails", Monitoring, "sends checker alerts only when a real server is added or removed"),
    u("global_defs", "process_monitor_rcv_bufs", Tuning, "sizes a netlink receive buffer"),
    u("global_defs", "process_monitor_rcv_bufs_force", Tuning, "sizes a netlink receive buffer"),
    u("global_defs", "random_seed", Tuning, "seeds ${_RANDOM}, so the values it gives repeat from run to run"),
    u("global_defs", "reload_file", Tuning, "writes a file when a reload completes"),
    u("global_defs", "reload_repeat", Tuning, "repeats a timed reload"),
    u("global_defs", "reload_time_file", Tuning, "reloads at a time read from a file"),
    u("global_defs", "snmp_socket", Monitoring, "the AgentX socket"),
    u("real_server", "snmp_name", Monitoring, "the real server's SNMP name"),
    u("top level", "bfd_instance", Failover, "runs a BFD session that instances and checkers can track"),
    u("top level", "child_wait_time", Tuning, "waits this long for its processes to exit at stop (ours: 5 s)"),
    u("top level", "linkbeat_interfaces", Tuning, "polls these interfaces' link state"),
    u("top level", "linkbeat_use_polling", Tuning, "polls link state instead of netlink"),
    u("top level", "namespace_with_ipsets", Tuning, "names ipsets after the namespace"),
    u("top level", "net_namespace_ipvs", Traffic, "programs IPVS in another network namespace"),
    u("virtual_server", "snmp_name", Monitoring, "the virtual server's SNMP name"),
    u("vrrp_instance", "linkbeat_use_polling", Tuning, "polls link state instead of netlink"),
    u("vrrp_instance", "track_bfd", Failover, "moves the instance with a BFD session's state"),
    u("vrrp_instance", "vrf", Traffic, "runs the instance in a VRF"),
    u("vrrp_sync_group", "track_bfd", Failover, "moves the group with a BFD session's state"),
];

/// Blocks the table refuses whole (keepalived-rs does not read inside
/// them), with the keywords keepalived reads there.
pub const UNSUPPORTED_BLOCKS: &[(&str, &[&str])] = &[(
    "bfd_instance",
    &[
        "neighbor_ip",
        "source_ip",
        "min_rx",
        "min_tx",
        "idle_tx",
        "multiplier",
        "passive",
        "ttl",
        "hoplimit",
        "max_hops",
        "vrrp",
        "checker",
    ],
)];

/// The entry for `keyword` in `block`, if keepalived-rs does not act on it.
pub fn lookup(block: &str, keyword: &str) -> Option<&'static Unsupported> {
    UNSUPPORTED
        .iter()
        .find(|u| u.block == block && u.keyword == keyword)
}

/// A keyword of the file keepalived-rs does not act on, where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedUse {
    pub keyword: String,
    pub block: String,
    pub effect: Effect,
    pub location: Location,
    pub keepalived: String,
}

impl UnsupportedUse {
    /// As logged and printed by `-t`.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            location: Some(self.location.clone()),
            message: format!(
                "'{}' is not implemented by keepalived-rs and is ignored (keepalived {}; affects {})",
                self.keyword,
                self.keepalived,
                self.effect.as_str()
            ),
            class: Default::default(),
        }
    }
}

/// Every use of an unsupported keyword in the file, in reading order.
pub(crate) fn scan(nodes: &[Node]) -> Vec<UnsupportedUse> {
    let mut out = Vec::new();
    walk(nodes, "top level", &mut out);
    out
}

fn walk(nodes: &[Node], block: &str, out: &mut Vec<UnsupportedUse>) {
    for n in nodes {
        let kw = n.kw.text.as_str();
        if let Some(u) = lookup(block, kw) {
            out.push(found(u, n.pos()));
        }
        if let Some(body) = &n.block {
            let checker = crate::model::CheckerKind::ALL.iter().any(|(n, _)| *n == kw);
            let inner = if checker {
                // A checker block itself may be unsupported (BFD_CHECK).
                if let Some(u) = lookup("checker", kw) {
                    out.push(found(u, n.pos()));
                }
                "checker"
            } else {
                kw
            };
            walk(body, inner, out);
        }
    }
}

fn found(u: &Unsupported, pos: &Pos) -> UnsupportedUse {
    UnsupportedUse {
        keyword: u.keyword.to_string(),
        block: u.block.to_string(),
        effect: u.effect,
        location: pos.to_location(),
        keepalived: u.keepalived.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_has_no_duplicates() {
        for w in UNSUPPORTED.windows(2) {
            let key = |u: &Unsupported| (u.block, u.keyword.to_ascii_lowercase());
            assert!(
                key(&w[0]) < key(&w[1]),
                "{} {} before {} {}",
                w[0].block,
                w[0].keyword,
                w[1].block,
                w[1].keyword
            );
        }
    }

    #[test]
    fn every_entry_is_a_keyword_the_reader_accepts() {
        let tables = crate::keywords();
        let known = |block: &str, kw: &str| {
            // A checker's keywords are in `checkers`; the checker blocks
            // themselves are named in the real server's block.
            let blocks: &[&str] = match block {
                "checker" => &["checkers", "real_server"],
                b => &[b],
            };
            tables
                .iter()
                .any(|(b, list)| blocks.contains(b) && list.contains(&kw))
        };
        for u in UNSUPPORTED {
            assert!(
                known(u.block, u.keyword),
                "{} in {} is not a keyword the reader knows",
                u.keyword,
                u.block
            );
        }
    }
}
