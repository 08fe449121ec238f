//! The desired IPVS table as a pure function of configuration, real-server
//! health and the previous quorum state, following keepalived's
//! `check/ipwrapper.c`:
//! - a real server that is down is removed, or kept at weight 0 with
//!   `inhibit_on_failure`;
//! - quorum: sum of the weights of alive servers; starting state is
//!   `sum >= quorum + hysteresis`; lost when `sum == 0 || sum < quorum - hysteresis`,
//!   regained when `sum >= quorum + hysteresis` (`update_quorum_state`);
//! - without quorum and with a `sorry_server`, the alive servers leave the
//!   pool (weight 0 if inhibited) and the sorry server enters it; with
//!   `sorry_server_inhibit` it stays at weight 0 while unused; without a
//!   sorry server losing quorum only notifies;
//! - `alpha`: a server with no check result yet counts as down, otherwise up;
//! - `ha_suspend` without the VIP freezes health at its last known value
//!   (checkers are suspended; the table stays), or at the starting verdict
//!   (up unless `alpha`) when the VIP was never there;
//! - `virtual_server_group` expands to one kernel service per address of
//!   each range and per fwmark, all with the same destinations.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::table::Table;

/// Latest health verdict of a real server's checkers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Health {
    Up,
    Down,
    /// No checker result yet (startup): `alpha` decides.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerInput {
    pub addr: IpAddr,
    pub port: u16,
    /// Effective weight (configured weight adjusted by dynamic checkers).
    pub weight: u32,
    /// Overrides the virtual server's `lvs_method`.
    pub fwd: Option<FwdMethod>,
    pub inhibit_on_failure: bool,
    pub u_thresh: u32,
    pub l_thresh: u32,
    pub tun_type: TunType,
    pub tun_port: u16,
    pub tun_flags: u16,
    pub health: Health,
}

impl RealServerInput {
    pub fn new(addr: IpAddr, port: u16, weight: u32, health: Health) -> Self {
        RealServerInput {
            addr,
            port,
            weight,
            fwd: None,
            inhibit_on_failure: false,
            u_thresh: 0,
            l_thresh: 0,
            tun_type: TunType::Ipip,
            tun_port: 0,
            tun_flags: 0,
            health,
        }
    }
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServerInput {
    pub addr: IpAddr,
    pub port: u16,
    /// keepalived gives the sorry server weight 1 unless configured.
    pub weight: u32,
    /// `sorry_server_lvs_method`; defaults to the virtual server's method.
    pub lvs_method: Option<FwdMethod>,
    /// `sorry_server_inhibit`: keep it at weight 0 while quorum is up.
    pub inhibit: bool,
}

/// One entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupEntry {
    /// `first-last port`: every address from `first` to `last` inclusive
    /// (keepalived varies only the last octet / last hextet).
    Range {
        first: IpAddr,
        last: IpAddr,
        port: u16,
    },
    Fwmark(u32),
    /// The mark `nftables_ipvs` gives the group's traffic of one family
    /// (its addresses and ports are in the plan's mark table).
    Marked {
        af: Family,
        mark: u32,
    },
}

/// What the virtual server binds to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VsTarget {
    Single(ServiceKey),
    /// `virtual_server group NAME` with its expanded entries.
    Group {
        name: String,
        protocol: Protocol,
        /// Family of the group's fwmark services.
        fwmark_af: Family,
        entries: Vec<GroupEntry>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerInput {
    /// Stable identity across reloads (keys the quorum state).
    pub id: String,
    pub target: VsTarget,
    pub sched: Scheduler,
    /// ONEPACKET and scheduler flags (sh/mh fallback, port); PERSISTENT is
    /// derived from `persistence_timeout`.
    pub flags: ServiceFlags,
    pub persistence_timeout: Option<u32>,
    /// IPv4 netmask (host order) or IPv6 prefix length.
    pub persistence_granularity: Option<u32>,
    pub persistence_engine: Option<String>,
    pub lvs_method: FwdMethod,
    pub real_servers: Vec<RealServerInput>,
    pub sorry_server: Option<SorryServerInput>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    /// Whether the VIP is currently on this host (only read with `ha_suspend`).
    pub vip_present: bool,
    /// Tunnel parameters of the sorry server (used when it forwards by TUN).
    pub sorry_server_tunnel: Tunnel,
}

/// `TUN type ipip|gue|gre [port N] [nocsum|csum|remcsum]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    pub tun_type: TunType,
    pub port: u16,
    pub flags: u16,
}

impl VirtualServerInput {
    /// keepalived defaults: quorum 1, hysteresis 0, NAT, no alpha/omega.
    pub fn new(id: &str, target: VsTarget, sched: Scheduler) -> Self {
        VirtualServerInput {
            id: id.to_string(),
            target,
            sched,
            flags: ServiceFlags::default(),
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            lvs_method: FwdMethod::Masq,
            real_servers: Vec::new(),
            sorry_server: None,
            quorum: 1,
            hysteresis: 0,
            alpha: false,
            omega: false,
            ha_suspend: false,
            vip_present: true,
            sorry_server_tunnel: Tunnel::default(),
        }
    }
}

/// What must survive between two computations for one virtual server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsState {
    pub quorum_up: bool,
    /// Last alive verdict per real server, replayed while `ha_suspend` holds.
    pub alive: BTreeMap<DestKey, bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileState {
    pub vs: BTreeMap<String, VsState>,
}

/// Notifications for `notify_up`/`notify_down` (quorum) scripts and fifos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Gained quorum (runs `quorum_up`).
    QuorumUp { vs: String, weight_sum: u64 },
    /// Lost quorum (runs `quorum_down`); `initial` = starting without quorum.
    QuorumDown {
        vs: String,
        weight_sum: u64,
        initial: bool,
    },
}

/// Result of one computation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub table: Table,
    pub state: ReconcileState,
    pub events: Vec<Event>,
}

/// Most addresses one group range may stand for (one kernel service each).
pub const MAX_RANGE: u128 = 65_536;

/// Expand an address range (as `virtual_server_group` writes it: the last
/// octet, a prefix, or two full addresses); `None` when reversed, of mixed
/// families, or over [`MAX_RANGE`] addresses.
pub fn expand_range(first: IpAddr, last: IpAddr) -> Option<Vec<IpAddr>> {
    let (a, b, v4) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            (u128::from(u32::from(a)), u128::from(u32::from(b)), true)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), false),
        _ => return None,
    };
    if a > b || b - a >= MAX_RANGE {
        return None;
    }
    Some(
        (a..=b)
            .map(|n| {
                if v4 {
                    IpAddr::from(std::net::Ipv4Addr::from(n as u32))
                } else {
                    IpAddr::from(std::net::Ipv6Addr::from(n))
                }
            })
            .collect(),
    )
}

/// Kernel service identities a virtual server stands for.
pub fn service_keys(target: &VsTarget) -> Vec<ServiceKey> {
    match target {
        VsTarget::Single(k) => vec![*k],
        VsTarget::Group {
            protocol,
            fwmark_af,
            entries,
            ..
        } => {
            let mut v = Vec::new();
            for e in entries {
                match e {
                    GroupEntry::Range { first, last, port } => {
                        for addr in expand_range(*first, *last).unwrap_or_default() {
                            v.push(ServiceKey::Addr {
                                protocol: *protocol,
                                addr,
                                port: *port,
                            });
                        }
                    }
                    GroupEntry::Fwmark(mark) => v.push(ServiceKey::Fwmark {
                        af: *fwmark_af,
                        mark: *mark,
                    }),
                    GroupEntry::Marked { af, mark } => v.push(ServiceKey::Fwmark {
                        af: *af,
                        mark: *mark,
                    }),
                }
            }
            v
        }
    }
}

fn service_for(vs: &VirtualServerInput, key: ServiceKey) -> Service {
    let mut s = Service::new(key, vs.sched.clone());
    s.flags = vs.flags.config();
    if let Some(t) = vs.persistence_timeout {
        s.flags = s.flags | ServiceFlags::PERSISTENT;
        s.timeout = t;
        if let Some(g) = vs.persistence_granularity {
            s.netmask = g;
        }
    }
    s.pe_name = vs.persistence_engine.clone();
    s
}

fn dest_for(vs: &VirtualServerInput, rs: &RealServerInput, weight: u32) -> Dest {
    Dest {
        addr: rs.addr,
        port: rs.port,
        fwd: rs.fwd.unwrap_or(vs.lvs_method),
        weight,
        u_thresh: rs.u_thresh,
        l_thresh: rs.l_thresh,
        tun_type: rs.tun_type,
        tun_port: rs.tun_port,
        tun_flags: rs.tun_flags,
    }
}

/// Quorum transition per keepalived's `set_quorum_states` + `update_quorum_state`.
fn next_quorum(prev: Option<bool>, sum: u64, quorum: u32, hysteresis: u32) -> (bool, bool) {
    let up_threshold = i64::from(quorum) + i64::from(hysteresis);
    let down_threshold = i64::from(quorum) - i64::from(hysteresis);
    let sum_i = sum as i64;
    let (was, initial) = match prev {
        Some(up) => (up, false),
        None => (sum_i >= up_threshold, true),
    };
    let now = if was {
        !(sum == 0 || sum_i < down_threshold)
    } else {
        sum > 0 && sum_i >= up_threshold
    };
    (now, initial)
}

fn compute_vs(vs: &VirtualServerInput, prev: Option<&VsState>, out: &mut Desired) {
    let suspended = vs.ha_suspend && !vs.vip_present;
    let mut alive = BTreeMap::new();
    for rs in &vs.real_servers {
        // Suspended checkers never ran: the starting verdict (up unless alpha).
        let frozen = if suspended {
            Some(
                prev.and_then(|p| p.alive.get(&rs.key()).copied())
                    .unwrap_or(!vs.alpha),
            )
        } else {
            None
        };
        let a = frozen.unwrap_or(match rs.health {
            Health::Up => true,
            Health::Down => false,
            Health::Unknown => !vs.alpha,
        });
        alive.insert(rs.key(), a);
    }
    let sum: u64 = vs
        .real_servers
        .iter()
        .filter(|rs| alive[&rs.key()])
        .map(|rs| u64::from(rs.weight))
        .sum();
    let (quorum_up, initial) =
        next_quorum(prev.map(|p| p.quorum_up), sum, vs.quorum, vs.hysteresis);
    let was_up = prev.map(|p| p.quorum_up);
    match (was_up, quorum_up) {
        (Some(false), true) => out.events.push(Event::QuorumUp {
            vs: vs.id.clone(),
            weight_sum: sum,
        }),
        (Some(true), false) => out.events.push(Event::QuorumDown {
            vs: vs.id.clone(),
            weight_sum: sum,
            initial: false,
        }),
        (None, false) if vs.sorry_server.is_some() => out.events.push(Event::QuorumDown {
            vs: vs.id.clone(),
            weight_sum: sum,
            initial,
        }),
        _ => {}
    }

    let sorry_active = vs.sorry_server.is_some() && !quorum_up;
    let mut dests: BTreeMap<DestKey, Dest> = BTreeMap::new();
    for rs in &vs.real_servers {
        let in_pool = alive[&rs.key()] && !sorry_active;
        if in_pool {
            dests.insert(rs.key(), dest_for(vs, rs, rs.weight));
        } else if rs.inhibit_on_failure {
            dests.insert(rs.key(), dest_for(vs, rs, 0));
        }
    }
    if let Some(ss) = &vs.sorry_server {
        let key = DestKey {
            addr: ss.addr,
            port: ss.port,
        };
        let mut d = Dest::new(
            ss.addr,
            ss.port,
            ss.lvs_method.unwrap_or(vs.lvs_method),
            ss.weight,
        );
        if d.fwd == FwdMethod::Tunnel {
            d.tun_type = vs.sorry_server_tunnel.tun_type;
            d.tun_port = vs.sorry_server_tunnel.port;
            d.tun_flags = vs.sorry_server_tunnel.flags;
        }
        if sorry_active {
            dests.insert(key, d);
        } else if ss.inhibit && !dests.contains_key(&key) {
            d.weight = 0;
            dests.insert(key, d);
        }
    }

    for key in service_keys(&vs.target) {
        out.table.add_service(service_for(vs, key));
        for d in dests.values() {
            let mut d = d.clone();
            // A fwmark service's direct-routed or tunnelled destination
            // has no port (keepalived's ipvs_cmd clears it).
            if matches!(key, ServiceKey::Fwmark { .. }) && d.fwd != FwdMethod::Masq {
                d.port = 0;
            }
            out.table.add_dest(&key, d);
        }
    }
    out.state
        .vs
        .insert(vs.id.clone(), VsState { quorum_up, alive });
}

/// Compute the desired table, the next state and the quorum events.
/// Pure: same inputs, same output; time and I/O stay with the caller.
pub fn compute(input: &[VirtualServerInput], prev: &ReconcileState) -> Desired {
    let mut out = Desired::default();
    for vs in input {
        compute_vs(vs, prev.vs.get(&vs.id), &mut out);
    }
    out
}

/// Events to emit when ipvsd stops: keepalived's `update_vs_notifies(stopping)`
/// runs `quorum_down` for every virtual server with `omega`, whatever its state.
pub fn stop_events(input: &[VirtualServerInput]) -> Vec<Event> {
    input
        .iter()
        .filter(|vs| vs.omega)
        .map(|vs| Event::QuorumDown {
            vs: vs.id.clone(),
            weight_sum: 0,
            initial: false,
        })
        .collect()
}
