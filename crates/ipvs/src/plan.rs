//! ipvsd's typed plan: every virtual server already resolved (addresses,
//! fwmarks, group entries, scheduler flags, tunnel options, persistence,
//! sorry server) by the parent, which parsed the configuration once. ipvsd
//! never sees the configuration: each pass it only lays the real servers'
//! health and the host's addresses (`ha_suspend`) over the plan.

use crate::desired::{Health, VirtualServerInput};
use crate::diff::SyncDaemonInput;
use crate::model::Timeouts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// One virtual server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedService {
    /// The parent's id of this virtual server (quorum messages name it).
    pub id: u32,
    /// keepalived's name for it in logs: `[10.0.0.1]:tcp:80`, `FWM 5`.
    pub name: String,
    /// Everything but health: real servers at their configured weight,
    /// health unknown, the VIP present.
    pub input: VirtualServerInput,
    /// The parent's id of each real server, in `input.real_servers` order.
    pub real_servers: Vec<u32>,
    /// The address `ha_suspend` looks for on the host (and `announce`
    /// puts on the announce interface).
    pub vip: Option<IpAddr>,
    /// `announce` (keepalived-rs extension): the VIP goes on the announce
    /// interface while the service is healthy.
    #[serde(default)]
    pub announce: Option<ServiceAnnounce>,
}

/// A virtual server's `announce { }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceAnnounce {
    /// Seconds quorum must have been up before the address is added.
    pub delay_up: f64,
    /// Seconds quorum must have been down before it goes.
    pub delay_down: f64,
    /// The real servers that have checkers: the first health round is
    /// complete once each has reported `settled` (every checker's first
    /// verdict given; the first report is only the starting state).
    pub checked: Vec<u32>,
}

/// `bgp_announce { }`: where and how announced addresses are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnouncePlan {
    /// The dummy interface ipvsd creates and owns.
    pub interface: String,
    /// Valid and preferred lifetime of each address, in seconds.
    pub lifetime: u32,
    /// Remove the addresses at stop (else they expire).
    pub withdraw_on_shutdown: bool,
    /// Seconds checkerd may be gone before every address goes.
    pub health_timeout: f64,
}

/// `lvs_sync_daemon` and the VRRP instance it follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedSyncDaemon {
    pub daemon: SyncDaemonInput,
    /// The instance's id, when it follows one.
    pub instance: Option<u32>,
}

/// One range of a virtual-server group, marked by `nftables_ipvs`:
/// traffic of `protocol` to an address from `first` to `last` and `port`
/// gets `mark`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkEntry {
    pub protocol: crate::Protocol,
    pub first: IpAddr,
    pub last: IpAddr,
    pub port: u16,
    pub mark: u32,
}

/// `nftables_ipvs`: the nftables table that marks virtual-server-group
/// traffic, so each group is one fwmark service per family (keepalived
/// 2.2.7's check_nftables.c).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkTable {
    pub table: String,
    /// The `in` chain's priority (before IPVS at input).
    pub priority: i32,
    /// `nftables_counters`.
    pub counters: bool,
    /// In the order keepalived adds them (virtual servers' order).
    pub entries: Vec<MarkEntry>,
    /// The mark of each group and protocol (`GROUP:6`, by protocol
    /// number): kept across reloads, as keepalived keeps a surviving
    /// group's.
    pub marks: BTreeMap<String, u32>,
    /// The next mark to give (never reused while the suite runs).
    pub next_mark: u32,
}

/// What ipvsd runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsPlan {
    pub services: Vec<PlannedService>,
    pub sync_daemon: Option<PlannedSyncDaemon>,
    /// `lvs_flush`: empty the whole table before the first pass.
    #[serde(default)]
    pub flush_at_start: bool,
    /// `lvs_flush_on_stop`: empty the whole table at stop (else remove
    /// only what we created).
    #[serde(default)]
    pub flush_on_stop: bool,
    /// `lvs_timeouts`: tcp, tcpfin, udp (0: keep the kernel's).
    #[serde(default)]
    pub timeouts: Option<Timeouts>,
    /// `nftables_ipvs`.
    #[serde(default)]
    pub mark_table: Option<MarkTable>,
    /// `bgp_announce` (set when some virtual server is announced).
    #[serde(default)]
    pub announce: Option<AnnouncePlan>,
}

/// A real server's last report: up, and a dynamic weight if a checker set
/// one.
pub type HealthById = BTreeMap<u32, (bool, Option<i32>)>;

impl IpvsPlan {
    /// Whether some service needs the host's addresses (`ha_suspend` on an
    /// address service).
    pub fn uses_ha_suspend(&self) -> bool {
        self.services
            .iter()
            .any(|s| s.input.ha_suspend && s.vip.is_some())
    }

    /// The reconciler's inputs now: the plan with `health` laid over it
    /// (a dynamic weight replaces the configured one), and each VIP looked
    /// up in `local` (`None`: every address counts as present).
    pub fn inputs(
        &self,
        health: &HealthById,
        local: Option<&BTreeSet<IpAddr>>,
    ) -> Vec<VirtualServerInput> {
        self.services
            .iter()
            .map(|s| {
                let mut i = s.input.clone();
                i.vip_present = match (s.vip, local) {
                    (Some(ip), Some(l)) => l.contains(&ip),
                    _ => true,
                };
                for (r, id) in i.real_servers.iter_mut().zip(&s.real_servers) {
                    let (h, dynamic) = match health.get(id) {
                        Some((true, w)) => (Health::Up, *w),
                        Some((false, w)) => (Health::Down, *w),
                        None => (Health::Unknown, None),
                    };
                    r.health = h;
                    if let Some(w) = dynamic {
                        r.weight = w.max(0) as u32;
                    }
                }
                i
            })
            .collect()
    }

    /// The service a reconciler id (`VirtualServerInput::id`) stands for.
    pub fn service(&self, input_id: &str) -> Option<&PlannedService> {
        self.services.iter().find(|s| s.input.id == input_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{RealServerInput, VsTarget};
    use crate::{Protocol, Scheduler, ServiceKey};

    fn plan() -> IpvsPlan {
        let vip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut input = VirtualServerInput::new(
            "[10.0.0.1]:tcp:80",
            VsTarget::Single(ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: vip,
                port: 80,
            }),
            Scheduler::from_name("wrr"),
        );
        input.ha_suspend = true;
        for (a, w) in [("10.0.1.1", 3), ("10.0.1.2", 5)] {
            input.real_servers.push(RealServerInput::new(
                a.parse().unwrap(),
                80,
                w,
                Health::Unknown,
            ));
        }
        IpvsPlan {
            services: vec![PlannedService {
                id: 7,
                name: "[10.0.0.1]:tcp:80".into(),
                input,
                real_servers: vec![11, 12],
                vip: Some(vip),
                announce: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn health_and_host_addresses_are_laid_over_the_plan() {
        let p = plan();
        assert!(p.uses_ha_suspend());
        let none = p.inputs(&HealthById::new(), None);
        assert_eq!(none[0].real_servers[0].health, Health::Unknown);
        assert!(none[0].vip_present);
        let health = HealthById::from([(11, (true, None)), (12, (false, Some(-4)))]);
        let local = BTreeSet::from(["10.9.9.9".parse().unwrap()]);
        let i = p.inputs(&health, Some(&local));
        assert_eq!(i[0].real_servers[0].health, Health::Up);
        assert_eq!(i[0].real_servers[0].weight, 3, "configured weight kept");
        assert_eq!(i[0].real_servers[1].health, Health::Down);
        assert_eq!(
            i[0].real_servers[1].weight, 0,
            "a dynamic weight replaces it"
        );
        assert!(!i[0].vip_present, "the VIP is not on this host");
        assert_eq!(p.service("[10.0.0.1]:tcp:80").map(|s| s.id), Some(7));
    }
}
