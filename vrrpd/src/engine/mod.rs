//! The VRRP engine: the sans-IO instances and sync groups of
//! `keepalived-vrrp`, their sockets, and the actions they ask for carried
//! out against the kernel. The daemon shell (main.rs) only feeds it events.

mod dump;
mod dynamic;
mod firewall;
mod perform;
mod reload;
mod rx;
mod sources;
mod statics;
mod vmacs;

use crate::net::garp::PacketSocket;
use crate::net::raw::{Received, Rx, RxRing, Tx4, Vrrp4, Vrrp6};
use crate::net::rtnl::{Addr, AddrSpec, Link, Monitor, NetEvent, Rtnl};
use crate::net::vmac;
use crate::plan::{plan, Planned};
use keepalived_ipc::{
    FromChild, GroupStateChange, Ids, InstanceId, TrackKind as Watched, TrackResult, VrrpState,
    VrrpStateChange,
};
use keepalived_vrrp::action::{Action, Input, LogLevel, ResumeState, RxPacket, State};
use keepalived_vrrp::counters::DropCause;
use keepalived_vrrp::instance::Instance;
use keepalived_vrrp::plan::VrrpPlan;
use keepalived_vrrp::sync_group::SyncGroup;
use keepalived_vrrp::track::TrackStatus;
use keepalived_vrrp::{frames, packet, ChecksumVariant};
use log::{debug, error, info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Instant;

/// Datagrams read from one socket per wake-up before timers run again.
const RX_BUDGET: usize = 64;
/// Receive moderation: the longest a busy receiver lets adverts queue
/// before reading them, and the share of the shortest advert interval it
/// may take (see [`Engine::hold_off`]).
const RX_WINDOW_MAX: std::time::Duration = std::time::Duration::from_millis(4);
const RX_WINDOW_SHARE: u32 = 4;
/// Packet wake-ups closer than this many windows apart make a receiver busy.
const RX_BUSY_WINDOWS: u32 = 4;

/// Token of the rtnetlink monitor; VRRP receive sockets follow.
pub const MONITOR_TOKEN: Token = Token(16);
/// Token of the nf_tables change monitor (the no_accept firewall).
pub const FIREWALL_TOKEN: Token = Token(17);
const SOCKET_TOKEN_BASE: usize = 32;

enum Sock {
    V4(Vrrp4),
    V6(Vrrp6),
}

impl Sock {
    fn rx_fd(&self) -> std::os::fd::RawFd {
        match self {
            Sock::V4(s) => s.rx_fd(),
            Sock::V6(s) => s.rx_fd(),
        }
    }
}

struct SockEntry {
    ifindex: u32,
    v6: bool,
    /// Receives IP protocol 51 (`auth_type AH` instances) instead of 112.
    ah: bool,
    sock: Sock,
}

/// A running unit and what it was planned from, between the two halves
/// of a reload.
struct Running {
    plans: Vec<Planned>,
    group: Option<String>,
    unit: Unit,
}

/// Where a member lives: its own unit, or a slot in a sync group.
#[derive(Clone, Copy)]
struct Place {
    unit: usize,
    slot: Option<usize>,
}

enum Unit {
    Single(Box<Instance>),
    Group(SyncGroup),
}

impl Unit {
    fn next_deadline(&self) -> Option<Instant> {
        match self {
            Unit::Single(i) => i.next_deadline(),
            Unit::Group(g) => g.next_deadline(),
        }
    }
}

pub struct Engine {
    plans: Vec<Planned>,
    places: Vec<Place>,
    units: Vec<Unit>,
    /// Each unit's next deadline, refreshed whenever the unit is handed an
    /// input or a timer: the loop asks for the earliest deadline at every
    /// wake-up, and recomputing 255 instances' (a backup receiving 12,750
    /// adverts a second) was a quarter of vrrpd's time.
    deadlines: Vec<Option<Instant>>,
    /// The instances (by plan index, in order) a datagram without AH on
    /// (interface, IPv6, VRID) goes to: one lookup per packet instead of
    /// two walks over every plan.
    rx_targets: std::collections::HashMap<(u32, bool, u8), Vec<usize>>,
    sockets: Vec<SockEntry>,
    packet: PacketSocket,
    rtnl: Rtnl,
    monitor: Monitor,
    links: BTreeMap<u32, Link>,
    unknown_vrid: u64,
    /// One receive buffer for every socket (VRRP packets are small; a
    /// datagram is never zeroed or allocated per packet here).
    rx_buf: Vec<u8>,
    /// What a batch of datagrams is read into (`recvmmsg`), and the
    /// batch itself (kept to reuse its allocation).
    rx_ring: RxRing,
    rx_batch: Vec<Rx>,
    /// Receive moderation ([`Engine::hold_off`]): the window, the last
    /// wake-up that read packets, and the instant reading may resume at.
    rx_window: std::time::Duration,
    rx_last: Option<Instant>,
    rx_hold_off: Option<Instant>,
    /// When the timers last ran: no packet is dated before it (an input
    /// older than a timer already fired would run the instance backwards).
    timers_at: Option<Instant>,
    /// Sockets whose budget ran out with datagrams left, and since when.
    rx_pending: std::collections::BTreeSet<usize>,
    rx_pending_since: Option<Instant>,
    /// The monitor's budget ran out with announcements left (read after
    /// the timers, like `rx_pending`).
    monitor_pending: bool,
    out: Vec<FromChild>,
    /// Last verdict of each object checkerd watches, kept across reloads.
    tracks: BTreeMap<(Watched, String), TrackStatus>,
    /// The plan's object ids: messages name instances, groups and
    /// trackers by these.
    ids: Ids,
    /// VMAC interfaces we created or adopted, by name: deleted at stop.
    vmacs: BTreeMap<String, u32>,
    /// Lower devices' devconf values before we changed them, restored at stop.
    lower_saved: BTreeMap<u32, Vec<(u16, u32)>>,
    /// Interfaces whose `promote_secondaries` we turned on (reset at stop,
    /// as keepalived does; one already on is left alone).
    promoted: std::collections::BTreeSet<u32>,
    /// Send sockets on VMACs, by VMAC ifindex.
    vmac_tx: BTreeMap<u32, Tx4>,
    /// Last state reported for each sync group.
    /// An instance changed state since the groups were last looked at.
    groups_dirty: bool,
    /// When each instance last changed state (wall clock, for the JSON
    /// dump's `last_transition`), by name; else `started_at`.
    transitions: BTreeMap<String, std::time::SystemTime>,
    started_at: std::time::SystemTime,
    /// keepalived's nftables table for instances without accept mode.
    firewall: Option<crate::net::firewall::Firewall>,
    /// `nftables_ifindex`.
    firewall_ifindex: bool,
    /// VMACs of IPv4 instances are in the firewall's map (no
    /// `disable_local_igmp`).
    firewall_local_igmp: bool,
    /// The firewall monitor's budget ran out with announcements left.
    firewall_pending: bool,
    /// `static_ipaddress` / `static_routes` / `static_rules` set up.
    statics: crate::plan::Statics,
    /// `interface_up_down_delays` by interface name: (down, up).
    link_delays: BTreeMap<String, (std::time::Duration, std::time::Duration)>,
    /// Link changes waiting out their delay: ifindex -> (due, up).
    link_pending: BTreeMap<u32, (Instant, bool)>,
    /// The plan running (a `dynamic_interfaces` rebuild applies it again).
    plan: VrrpPlan,
    /// `dynamic_interfaces`: instances not built because their interface
    /// does not exist, with that interface (`engine/dynamic.rs`).
    waiting: BTreeMap<String, String>,
    /// Waiting instances whose FAULT was reported.
    waiting_reported: std::collections::BTreeSet<String>,
    /// An interface some instance waits for appeared, or one came back
    /// with a new index: rebuild after the monitor's events.
    relink_pending: bool,
}

fn state_from(s: VrrpState) -> Option<State> {
    match s {
        VrrpState::Backup => Some(State::Backup),
        VrrpState::Master => Some(State::Master),
        VrrpState::Fault => Some(State::Fault),
        VrrpState::Init | VrrpState::Stop | VrrpState::Deleted => None,
    }
}

impl Engine {
    /// Open the kernel-facing sockets and plan the instances (nothing runs
    /// until [`Engine::start`]).
    pub fn new(vrrp: &VrrpPlan, ids: Ids, registry: &Registry) -> Result<Engine, String> {
        let mut rtnl = Rtnl::open().map_err(|e| e.to_string())?;
        let monitor = Monitor::open().map_err(|e| e.to_string())?;
        let mfd = monitor.fd();
        registry
            .register(&mut SourceFd(&mfd), MONITOR_TOKEN, Interest::READABLE)
            .map_err(|e| e.to_string())?;
        let packet = PacketSocket::open().map_err(|e| format!("packet socket: {e}"))?;
        let links: BTreeMap<u32, Link> = rtnl
            .links()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|l| (l.index, l))
            .collect();
        let addrs = rtnl.addresses().map_err(|e| e.to_string())?;
        let mut e = Engine {
            plans: Vec::new(),
            places: Vec::new(),
            units: Vec::new(),
            deadlines: Vec::new(),
            rx_targets: std::collections::HashMap::new(),
            sockets: Vec::new(),
            packet,
            rtnl,
            monitor,
            links,
            unknown_vrid: 0,
            rx_buf: vec![0; 65536],
            rx_ring: RxRing::default(),
            rx_batch: Vec::new(),
            rx_window: RX_WINDOW_MAX,
            rx_last: None,
            rx_hold_off: None,
            timers_at: None,
            rx_pending: Default::default(),
            rx_pending_since: None,
            monitor_pending: false,
            out: Vec::new(),
            tracks: BTreeMap::new(),
            ids,
            vmacs: BTreeMap::new(),
            lower_saved: BTreeMap::new(),
            promoted: Default::default(),
            vmac_tx: BTreeMap::new(),
            groups_dirty: false,
            transitions: BTreeMap::new(),
            started_at: std::time::SystemTime::now(),
            firewall: None,
            firewall_ifindex: false,
            firewall_local_igmp: false,
            firewall_pending: false,
            statics: Default::default(),
            link_delays: BTreeMap::new(),
            link_pending: BTreeMap::new(),
            plan: vrrp.clone(),
            waiting: BTreeMap::new(),
            waiting_reported: Default::default(),
            relink_pending: false,
        };
        e.set_firewall(vrrp, registry);
        e.set_statics(vrrp, true);
        e.build(vrrp, &addrs, registry, &BTreeMap::new(), Vec::new())?;
        // The VMACs exist now.
        e.sync_firewall();
        Ok(e)
    }

    /// (Re)build instances from the plan; `resume` gives recorded states.
    /// A unit (an instance, or a sync group with its members) planned
    /// exactly as one of `reuse` is taken over as it runs. Returns, per
    /// planned instance, whether it is new (and must be started).
    fn build(
        &mut self,
        vrrp: &VrrpPlan,
        addrs: &[Addr],
        registry: &Registry,
        resume: &BTreeMap<String, State>,
        mut reuse: Vec<Option<Running>>,
    ) -> Result<Vec<bool>, String> {
        // keepalived sets these once its sockets are open, and again at
        // a reload.
        if let Some(b) = vrrp.netlink_cmd_buf {
            crate::net::set_netlink_rcvbuf(self.rtnl.fd(), b);
        }
        if let Some(b) = vrrp.netlink_monitor_buf {
            crate::net::set_netlink_rcvbuf(self.monitor.fd(), b);
        }
        self.ensure_vmacs(vrrp);
        // `dynamic_interfaces`: instances whose interface is missing wait
        // (with their sync group) instead of being refused.
        let present = self.waiting_for_interfaces(vrrp);
        let vrrp = present.as_ref().unwrap_or(vrrp);
        self.link_delays = vrrp
            .link_delays
            .iter()
            .map(|d| (d.interface.clone(), (d.down, d.up)))
            .collect();
        let links: Vec<Link> = self.links.values().cloned().collect();
        let (mut plans, errors) = plan(vrrp, &links, addrs);
        for e in errors {
            error!("{e}; instance disabled");
        }
        for p in &plans {
            if let Some((name, index)) = &p.xmit {
                if !self.vmac_tx.contains_key(index) {
                    match Tx4::open(name, *index) {
                        Ok(t) => {
                            self.vmac_tx.insert(*index, t);
                        }
                        Err(e) => error!("({}) cannot send on {name}: {e}", p.cfg.name),
                    }
                }
            }
        }
        // Sockets: one pair per (interface, family) in use. One that cannot
        // be opened disables the instances on it, not all of vrrpd.
        let mut failed: Vec<(u32, bool, bool)> = Vec::new();
        for p in &plans {
            let v6 = p.cfg.src_addr.is_ipv6();
            let ah = p.cfg.uses_ah();
            if failed.contains(&(p.sock_if.1, v6, ah))
                || self
                    .sockets
                    .iter()
                    .any(|s| s.ifindex == p.sock_if.1 && s.v6 == v6 && s.ah == ah)
            {
                continue;
            }
            let sock = match (p.cfg.src_addr, p.cfg.mcast_group) {
                (IpAddr::V4(_), Some(IpAddr::V4(group))) => {
                    Vrrp4::open(&p.sock_if.0, p.sock_if.1, Some(group), ah).map(Sock::V4)
                }
                (IpAddr::V4(_), _) => {
                    let group = vrrp.mcast_group4;
                    Vrrp4::open(&p.sock_if.0, p.sock_if.1, Some(group), ah).map(Sock::V4)
                }
                (IpAddr::V6(src), Some(IpAddr::V6(group))) => {
                    Vrrp6::open(&p.sock_if.0, p.sock_if.1, Some(group), src).map(Sock::V6)
                }
                (IpAddr::V6(src), _) => {
                    let group = vrrp.mcast_group6;
                    Vrrp6::open(&p.sock_if.0, p.sock_if.1, Some(group), src).map(Sock::V6)
                }
            }
            .and_then(|sock| {
                let token = Token(SOCKET_TOKEN_BASE + self.sockets.len());
                let fd = sock.rx_fd();
                registry.register(&mut SourceFd(&fd), token, Interest::READABLE)?;
                Ok(sock)
            });
            match sock {
                Ok(sock) => self.sockets.push(SockEntry {
                    ifindex: p.sock_if.1,
                    v6,
                    ah,
                    sock,
                }),
                Err(e) => {
                    error!("VRRP socket on {}: {e}", p.sock_if.0);
                    failed.push((p.sock_if.1, v6, ah));
                }
            }
        }
        self.size_receive_buffers(&plans);
        plans.retain(|p| {
            let lost = failed.contains(&(p.sock_if.1, p.cfg.src_addr.is_ipv6(), p.cfg.uses_ah()));
            if lost {
                error!(
                    "({}) no VRRP socket on {}; instance disabled",
                    p.cfg.name, p.sock_if.0
                );
            }
            !lost
        });
        // Units: sync groups first, then the instances in no group.
        let mut places = vec![
            Place {
                unit: 0,
                slot: None
            };
            plans.len()
        ];
        let mut units = Vec::new();
        let mut fresh = vec![true; plans.len()];
        let mut take = |members: &[usize], group: Option<&str>| -> Option<Unit> {
            let want: Vec<&Planned> = members.iter().map(|&i| &plans[i]).collect();
            let hit = reuse.iter().position(|r| {
                r.as_ref().is_some_and(|r| {
                    r.group.as_deref() == group && r.plans.iter().eq(want.iter().copied())
                })
            })?;
            reuse[hit].take().map(|r| r.unit)
        };
        for name in &vrrp.groups {
            let members: Vec<usize> = plans
                .iter()
                .enumerate()
                .filter(|(_, p)| p.group.as_ref() == Some(name))
                .map(|(i, _)| i)
                .collect();
            if members.is_empty() {
                continue;
            }
            if let Some(unit) = take(&members, Some(name)) {
                for (slot, &i) in members.iter().enumerate() {
                    fresh[i] = false;
                    places[i] = Place {
                        unit: units.len(),
                        slot: Some(slot),
                    };
                }
                units.push(unit);
                continue;
            }
            let mut insts = Vec::new();
            for (slot, &i) in members.iter().enumerate() {
                let inst = new_instance(&plans[i], resume)?;
                insts.push(inst);
                places[i] = Place {
                    unit: units.len(),
                    slot: Some(slot),
                };
            }
            units.push(Unit::Group(SyncGroup::new(name, insts)));
        }
        for (i, p) in plans.iter().enumerate() {
            if p.group.is_none() {
                places[i] = Place {
                    unit: units.len(),
                    slot: None,
                };
                match take(&[i], None) {
                    Some(unit) => {
                        fresh[i] = false;
                        units.push(unit);
                    }
                    None => units.push(Unit::Single(Box::new(new_instance(p, resume)?))),
                }
            }
        }
        self.plans = plans;
        self.places = places;
        self.units = units;
        self.refresh_all_deadlines();
        self.rx_targets.clear();
        self.rx_window = self
            .plans
            .iter()
            .map(|p| p.cfg.advert_int / RX_WINDOW_SHARE)
            .fold(RX_WINDOW_MAX, std::cmp::min);
        for (m, p) in self.plans.iter().enumerate() {
            if !p.cfg.uses_ah() {
                self.rx_targets
                    .entry((p.sock_if.1, p.cfg.src_addr.is_ipv6(), p.cfg.vrid))
                    .or_default()
                    .push(m);
            }
        }
        Ok(fresh)
    }

    /// Tell each instance what is true now (links, trackers), then start it,
    /// or resume it in the state the parent recorded.
    pub fn start(
        &mut self,
        now: Instant,
        resume: &BTreeMap<String, State>,
        tracks: &[TrackResult],
    ) {
        let all = vec![true; self.plans.len()];
        self.start_fresh(now, resume, tracks, &all);
        self.report_waiting();
    }

    /// [`Engine::start`] for the instances marked in `fresh` only (a
    /// reload leaves the others running as they were).
    fn start_fresh(
        &mut self,
        now: Instant,
        resume: &BTreeMap<String, State>,
        tracks: &[TrackResult],
        fresh: &[bool],
    ) {
        for t in tracks {
            if let Some((kind, name)) = self.ids.tracker_key(t.tracker) {
                self.tracks.insert((kind, name.to_string()), t.status);
            }
        }
        let known = self.tracks.clone();
        let present = if resume.is_empty() {
            Vec::new()
        } else {
            self.rtnl.addresses().unwrap_or_default()
        };
        for m in (0..self.plans.len()).filter(|&m| fresh[m]) {
            if self.plans[m].promote_secondaries {
                self.promote_secondaries(self.plans[m].ifindex);
            }
            let up = self
                .links
                .get(&self.plans[m].ifindex)
                .is_some_and(|l| l.up && l.running);
            if !up && !self.plans[m].dont_track_primary {
                self.input(m, Input::InterfaceDown, now);
            }
            if self.plans[m].src_missing {
                let p = &self.plans[m];
                if p.src_configured {
                    info!(
                        "({}) entering FAULT state (source address {} is not on {})",
                        p.cfg.name, p.cfg.src_addr, p.ifname
                    );
                } else {
                    info!(
                        "({}) entering FAULT state (no IPv4 address for interface)",
                        p.cfg.name
                    );
                }
                self.input(m, Input::Source(None), now);
            }
            for (idx, ifindex) in self.plans[m].track_ifaces.clone() {
                let up = self.links.get(&ifindex).is_some_and(|l| l.up && l.running);
                self.input(
                    m,
                    Input::Track {
                        index: idx,
                        status: if up {
                            TrackStatus::Up
                        } else {
                            TrackStatus::Down
                        },
                    },
                    now,
                );
            }
            for (idx, kind, name) in self.plans[m].tracked.clone() {
                if let Some(&status) = known.get(&(kind, name)) {
                    self.input(m, Input::Track { index: idx, status }, now);
                }
            }
        }
        let mut started_groups = Vec::new();
        for m in (0..self.plans.len()).filter(|&m| fresh[m]) {
            let name = self.plans[m].cfg.name.clone();
            let place = self.places[m];
            // The kernel is the witness the parent may have missed (see
            // ResumeState::decide).
            let recorded = resume.get(&name).map(|&st| {
                let has_vips = !self.plans[m].vips.is_empty();
                let decided = ResumeState::decide(st, has_vips, self.holds_all_vips(m, &present));
                if decided != st {
                    info!("({name}) recorded as BACKUP but holds all its VIPs: it was master");
                }
                decided
            });
            match recorded {
                Some(state) => {
                    info!("({name}) resuming in {} state", state.as_str());
                    self.input(m, Input::Resume(ResumeState { state }), now);
                }
                None if place.slot.is_none() => self.input(m, Input::Startup, now),
                None => {
                    if !started_groups.contains(&place.unit) {
                        started_groups.push(place.unit);
                        if let Unit::Group(g) = &mut self.units[place.unit] {
                            let acts = g.startup(now);
                            self.refresh_deadline(place.unit);
                            self.perform_group(place.unit, acts);
                        }
                    }
                }
            }
        }
        // Resumed (a restarted vrrpd, or a reload): the groups are where
        // they were, and their notifies ran already.
        if !resume.is_empty() {
            self.check_groups(false);
        }
    }

    fn holds_all_vips(&self, m: usize, present: &[Addr]) -> bool {
        self.plans[m].vips.values().all(|v| {
            present
                .iter()
                .any(|a| a.index == v.index && a.addr == v.addr)
        })
    }

    fn input(&mut self, m: usize, input: Input, now: Instant) {
        let place = self.places[m];
        match (&mut self.units[place.unit], place.slot) {
            (Unit::Single(inst), _) => {
                let acts = inst.handle(input, now);
                self.refresh_deadline(place.unit);
                for a in acts {
                    self.perform(m, a);
                }
            }
            (Unit::Group(g), Some(slot)) => {
                let acts = g.handle(slot, input, now);
                self.refresh_deadline(place.unit);
                self.perform_group(place.unit, acts);
            }
            (Unit::Group(_), None) => {}
        }
    }

    /// Unit `u` was handed something: its next deadline again.
    fn refresh_deadline(&mut self, u: usize) {
        let d = self.units[u].next_deadline();
        if let Some(slot) = self.deadlines.get_mut(u) {
            *slot = d;
        }
    }

    fn refresh_all_deadlines(&mut self) {
        self.deadlines = self.units.iter().map(Unit::next_deadline).collect();
    }

    fn instance(&self, m: usize) -> &Instance {
        let place = self.places[m];
        match (&self.units[place.unit], place.slot) {
            (Unit::Single(i), _) => i,
            (Unit::Group(g), Some(s)) => g.member(s),
            (Unit::Group(g), None) => g.member(0),
        }
    }

    /// Messages for the parent produced since the last call.
    pub fn take_messages(&mut self) -> Vec<FromChild> {
        // Only after a state change: this runs after every packet.
        if std::mem::take(&mut self.groups_dirty) {
            self.check_groups(true);
        }
        std::mem::take(&mut self.out)
    }

    /// A sync group is in a state once all its members are: report each
    /// change (keepalived's group notifies, FIFO lines, alerts).
    fn check_groups(&mut self, report: bool) {
        for (u, unit) in self.units.iter_mut().enumerate() {
            let Unit::Group(g) = unit else { continue };
            let change = g.state_change();
            if let Some(slot) = self.deadlines.get_mut(u) {
                *slot = g.next_deadline();
            }
            let Some(state) = change else {
                continue;
            };
            if let Some(group) = self.ids.group(g.name()).filter(|_| report) {
                self.out
                    .push(FromChild::GroupState(GroupStateChange { group, state }));
            }
        }
    }

    /// A tracker's verdict from checkerd (script, file or process).
    pub fn on_track(&mut self, t: &TrackResult, now: Instant) {
        let Some((kind, name)) = self.ids.tracker_key(t.tracker) else {
            return;
        };
        let (kind, name, status) = (kind, name.to_string(), t.status);
        self.tracks.insert((kind, name.clone()), status);
        for m in 0..self.plans.len() {
            for (idx, k, n) in self.plans[m].tracked.clone() {
                if k == kind && n == name {
                    self.input(m, Input::Track { index: idx, status }, now);
                }
            }
        }
    }

    /// `keepalivedctl garp`: the instance re-announces its addresses if
    /// it is master (an id its plan does not have does nothing).
    pub fn announce(&mut self, id: InstanceId, now: Instant) {
        let Some(name) = self.ids.instance_name(id).map(str::to_string) else {
            return;
        };
        if let Some(m) = self.plans.iter().position(|p| p.cfg.name == name) {
            self.input(m, Input::Announce, now);
        }
    }

    pub fn on_timer(&mut self, now: Instant) {
        self.timers(now);
        self.timers_at = Some(now);
        // Then what a flood left unread (a budget each).
        let pending: Vec<usize> = std::mem::take(&mut self.rx_pending).into_iter().collect();
        self.rx_pending_since = None;
        for si in pending {
            self.drain_socket(si, now);
        }
        if self.monitor_pending {
            self.on_monitor(now);
        }
        if self.firewall_pending {
            self.on_firewall(now);
        }
    }

    fn timers(&mut self, now: Instant) {
        let due: Vec<(u32, bool)> = self
            .link_pending
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(i, (_, up))| (*i, *up))
            .collect();
        for (index, up) in due {
            self.link_pending.remove(&index);
            self.link_changed(index, up, now);
        }
        for u in 0..self.units.len() {
            let due = match self.deadlines.get(u) {
                Some(d) => *d,
                None => self.units[u].next_deadline(),
            };
            if due.is_none_or(|d| d > now) {
                continue;
            }
            match &mut self.units[u] {
                Unit::Single(inst) => {
                    let acts = inst.handle(Input::Timer, now);
                    self.refresh_deadline(u);
                    if let Some(m) = self.places.iter().position(|p| p.unit == u) {
                        for a in acts {
                            self.perform(m, a);
                        }
                    }
                }
                Unit::Group(g) => {
                    let acts = g.handle_timer(now);
                    self.refresh_deadline(u);
                    self.perform_group(u, acts);
                }
            }
        }
    }

    /// `kernel_rx_buf_size` / `vrrp_rx_bufs_policy`: each receive socket
    /// gets the sum of its instances' shares (none: left as the kernel
    /// made it), as keepalived 2.2.7 sizes its sockets.
    fn size_receive_buffers(&self, plans: &[Planned]) {
        use keepalived_vrrp::plan::RxBuf;
        for s in &self.sockets {
            let mut bytes: u64 = 0;
            for p in plans.iter().filter(|p| {
                p.sock_if.1 == s.ifindex
                    && p.cfg.src_addr.is_ipv6() == s.v6
                    && p.cfg.uses_ah() == s.ah
            }) {
                bytes += match p.rx_buf {
                    RxBuf::None => 0,
                    RxBuf::Bytes(b) => b,
                    RxBuf::MtuTimes(k) => {
                        u64::from(k) * u64::from(self.links.get(&s.ifindex).map_or(0, |l| l.mtu))
                    }
                };
            }
            if bytes == 0 {
                continue;
            }
            let val = i32::try_from(bytes).unwrap_or(i32::MAX);
            if let Err(e) = crate::net::set_rcvbuf(s.sock.rx_fd(), val) {
                info!("vrrp set receive socket buffer size error {e}");
            }
        }
    }

    /// `vrrp_startup_delay`, when set (every instance has the global one).
    pub fn startup_delay(&self) -> Option<std::time::Duration> {
        self.plans
            .first()
            .map(|p| p.cfg.startup_delay)
            .filter(|d| !d.is_zero())
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        // (Debug builds, which every namespace test runs, check the cache
        // against the units themselves: a mutation that forgot to refresh
        // would leave a timer unannounced.)
        #[cfg(debug_assertions)]
        if self.deadlines.len() == self.units.len() {
            for (u, unit) in self.units.iter().enumerate() {
                assert_eq!(
                    self.deadlines[u],
                    unit.next_deadline(),
                    "unit {u}'s cached deadline is stale"
                );
            }
        }
        let units: Vec<Option<Instant>>;
        let cached = if self.deadlines.len() == self.units.len() {
            &self.deadlines
        } else {
            // Between taking the units apart and building them again.
            units = self.units.iter().map(Unit::next_deadline).collect();
            &units
        };
        cached
            .iter()
            .flatten()
            .copied()
            .chain(self.rx_pending_since)
            .chain(self.link_pending.values().map(|(at, _)| *at))
            .min()
    }

    /// Priority-0 adverts, virtual addresses and routes removed, VMACs
    /// deleted.
    pub fn shutdown(&mut self, now: Instant) {
        for m in 0..self.plans.len() {
            self.input(m, Input::Shutdown, now);
        }
        if let Some(f) = self.firewall.as_mut() {
            f.stop();
        }
        let gone = std::mem::take(&mut self.statics);
        self.remove_statics(&gone);
        self.vmac_tx.clear();
        for (name, index) in std::mem::take(&mut self.vmacs) {
            match self.rtnl.delete_link(index) {
                Ok(()) => info!("Removed VMAC interface {name}"),
                Err(e) => warn!("cannot remove VMAC interface {name}: {e}"),
            }
        }
        for index in std::mem::take(&mut self.promoted) {
            let off = [(vmac::DEVCONF_PROMOTE_SECONDARIES, 0)];
            if let Err(e) = self.rtnl.set_inet_conf(index, &off) {
                warn!("cannot reset promote_secondaries of interface {index}: {e}");
            }
        }
        for (index, values) in std::mem::take(&mut self.lower_saved) {
            if let Err(e) = self.rtnl.set_inet_conf(index, &values) {
                warn!("cannot restore ARP settings of interface {index}: {e}");
            }
        }
    }

    /// `promote_secondaries`: when a VIP that is the interface's primary
    /// address of its subnet is removed, the kernel keeps the secondaries
    /// (it would delete them all). Set if off; keepalived sets it the same
    /// way (IPV4_DEVCONF over rtnetlink) and resets it at exit.
    fn promote_secondaries(&mut self, index: u32) {
        if self.promoted.contains(&index) {
            return;
        }
        let at = usize::from(vmac::DEVCONF_PROMOTE_SECONDARIES - 1);
        let on = self
            .links
            .get(&index)
            .and_then(|l| l.inet_conf.get(at))
            .is_some_and(|v| *v != 0);
        if on {
            return;
        }
        match self
            .rtnl
            .set_inet_conf(index, &[(vmac::DEVCONF_PROMOTE_SECONDARIES, 1)])
        {
            Ok(()) => {
                self.promoted.insert(index);
            }
            Err(e) => warn!("cannot set promote_secondaries on interface {index}: {e}"),
        }
    }

    fn refresh_links(&mut self) {
        match self.rtnl.links() {
            Ok(ls) => self.links = ls.into_iter().map(|l| (l.index, l)).collect(),
            Err(e) => warn!("cannot re-read links: {e}"),
        }
    }

    /// Current state of every instance, to resume from after a reload.
    pub fn states(&self) -> BTreeMap<String, State> {
        (0..self.plans.len())
            .map(|m| (self.plans[m].cfg.name.clone(), self.instance(m).state()))
            .collect()
    }
}

fn new_instance(p: &Planned, resume: &BTreeMap<String, State>) -> Result<Instance, String> {
    let _ = resume;
    Instance::new(p.cfg.clone()).map_err(|e| format!("({}) {e}", p.cfg.name))
}

/// The states the parent recorded, keyed by instance name.
pub fn recorded(states: &[VrrpStateChange], ids: &Ids) -> BTreeMap<String, State> {
    states
        .iter()
        .filter_map(|s| {
            let name = ids.instance_name(s.instance)?;
            state_from(s.state).map(|st| (name.to_string(), st))
        })
        .collect()
}
