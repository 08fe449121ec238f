//! The VRRP engine: the sans-IO instances and sync groups of
//! `keepalived-vrrp`, their sockets, and the actions they ask for carried
//! out against the kernel. The daemon shell (main.rs) only feeds it events.

use crate::net::garp::PacketSocket;
use crate::net::raw::{Received, Rx, Tx4, Vrrp4, Vrrp6};
use crate::net::rtnl::{Addr, AddrSpec, Link, Monitor, NetEvent, Rtnl};
use crate::net::vmac;
use crate::plan::{plan, Planned};
use keepalived_config::Config;
use keepalived_ipc::{
    FromChild, GroupStateChange, Ids, TrackKind as Watched, TrackResult, VrrpState, VrrpStateChange,
};
use keepalived_vrrp::action::{Action, Input, LogLevel, ResumeState, RxPacket, State};
use keepalived_vrrp::counters::DropCause;
use keepalived_vrrp::instance::Instance;
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

/// Token of the rtnetlink monitor; VRRP receive sockets follow.
pub const MONITOR_TOKEN: Token = Token(16);
const SOCKET_TOKEN_BASE: usize = 32;

enum Sock {
    V4(Vrrp4),
    V6(Vrrp6),
}

struct SockEntry {
    ifindex: u32,
    v6: bool,
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
    sockets: Vec<SockEntry>,
    packet: PacketSocket,
    rtnl: Rtnl,
    monitor: Monitor,
    links: BTreeMap<u32, Link>,
    unknown_vrid: u64,
    /// One receive buffer for every socket (VRRP packets are small; a
    /// datagram is never zeroed or allocated per packet here).
    rx_buf: Vec<u8>,
    /// Sockets whose budget ran out with datagrams left, and since when.
    rx_pending: std::collections::BTreeSet<usize>,
    rx_pending_since: Option<Instant>,
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
    /// Send sockets on VMACs, by VMAC ifindex.
    vmac_tx: BTreeMap<u32, Tx4>,
    /// Last state reported for each sync group.
    group_states: BTreeMap<String, VrrpState>,
    /// An instance changed state since the groups were last looked at.
    groups_dirty: bool,
}

fn state_of(s: State) -> VrrpState {
    match s {
        State::Init => VrrpState::Init,
        State::Backup => VrrpState::Backup,
        State::Master => VrrpState::Master,
        State::Fault => VrrpState::Fault,
    }
}

fn state_from(s: VrrpState) -> Option<State> {
    match s {
        VrrpState::Backup => Some(State::Backup),
        VrrpState::Master => Some(State::Master),
        VrrpState::Fault => Some(State::Fault),
        VrrpState::Init | VrrpState::Stop => None,
    }
}

impl Engine {
    /// Open the kernel-facing sockets and plan the instances (nothing runs
    /// until [`Engine::start`]).
    pub fn new(config: &Config, ids: Ids, registry: &Registry) -> Result<Engine, String> {
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
            sockets: Vec::new(),
            packet,
            rtnl,
            monitor,
            links,
            unknown_vrid: 0,
            rx_buf: vec![0; 65536],
            rx_pending: Default::default(),
            rx_pending_since: None,
            out: Vec::new(),
            tracks: BTreeMap::new(),
            ids,
            vmacs: BTreeMap::new(),
            lower_saved: BTreeMap::new(),
            vmac_tx: BTreeMap::new(),
            group_states: BTreeMap::new(),
            groups_dirty: false,
        };
        e.build(config, &addrs, registry, &BTreeMap::new(), Vec::new())?;
        Ok(e)
    }

    /// (Re)build instances from `config`; `resume` gives recorded states.
    /// A unit (an instance, or a sync group with its members) planned
    /// exactly as one of `reuse` is taken over as it runs. Returns, per
    /// planned instance, whether it is new (and must be started).
    fn build(
        &mut self,
        config: &Config,
        addrs: &[Addr],
        registry: &Registry,
        resume: &BTreeMap<String, State>,
        mut reuse: Vec<Option<Running>>,
    ) -> Result<Vec<bool>, String> {
        self.ensure_vmacs(config);
        let links: Vec<Link> = self.links.values().cloned().collect();
        let (plans, errors) = plan(config, &links, addrs);
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
        // Sockets: one pair per (interface, family) in use.
        for p in &plans {
            let v6 = p.cfg.src_addr.is_ipv6();
            if self
                .sockets
                .iter()
                .any(|s| s.ifindex == p.sock_if.1 && s.v6 == v6)
            {
                continue;
            }
            let sock = match (p.cfg.src_addr, p.cfg.mcast_group) {
                (IpAddr::V4(_), Some(IpAddr::V4(group))) => {
                    Vrrp4::open(&p.sock_if.0, p.sock_if.1, Some(group)).map(Sock::V4)
                }
                (IpAddr::V4(_), _) => {
                    let group = config.global_defs.vrrp_mcast_group4;
                    Vrrp4::open(&p.sock_if.0, p.sock_if.1, Some(group)).map(Sock::V4)
                }
                (IpAddr::V6(src), Some(IpAddr::V6(group))) => {
                    Vrrp6::open(&p.sock_if.0, p.sock_if.1, Some(group), src).map(Sock::V6)
                }
                (IpAddr::V6(src), _) => {
                    let group = config.global_defs.vrrp_mcast_group6;
                    Vrrp6::open(&p.sock_if.0, p.sock_if.1, Some(group), src).map(Sock::V6)
                }
            }
            .map_err(|e| format!("VRRP socket on {}: {e}", p.sock_if.0))?;
            let token = Token(SOCKET_TOKEN_BASE + self.sockets.len());
            let fd = match &sock {
                Sock::V4(s) => s.rx_fd(),
                Sock::V6(s) => s.rx_fd(),
            };
            registry
                .register(&mut SourceFd(&fd), token, Interest::READABLE)
                .map_err(|e| e.to_string())?;
            self.sockets.push(SockEntry {
                ifindex: p.sock_if.1,
                v6,
                sock,
            });
        }
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
        for g in &config.vrrp_sync_groups {
            let members: Vec<usize> = plans
                .iter()
                .enumerate()
                .filter(|(_, p)| p.group.as_deref() == Some(&g.name))
                .map(|(i, _)| i)
                .collect();
            if members.is_empty() {
                continue;
            }
            if let Some(unit) = take(&members, Some(&g.name)) {
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
            units.push(Unit::Group(SyncGroup::new(&g.name, insts)));
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
        Ok(fresh)
    }

    /// Take the running units apart with what each was planned from (for
    /// a reload to keep those planned the same).
    fn take_units(&mut self) -> Vec<Option<Running>> {
        let units = std::mem::take(&mut self.units);
        units
            .into_iter()
            .enumerate()
            .map(|(u, unit)| {
                let mut members: Vec<(Option<usize>, usize)> = (0..self.plans.len())
                    .filter(|&m| self.places[m].unit == u)
                    .map(|m| (self.places[m].slot, m))
                    .collect();
                members.sort_unstable();
                let group = match &unit {
                    Unit::Group(_) => members
                        .first()
                        .and_then(|&(_, m)| self.plans[m].group.clone()),
                    Unit::Single(_) => None,
                };
                Some(Running {
                    plans: members
                        .into_iter()
                        .map(|(_, m)| self.plans[m].clone())
                        .collect(),
                    group,
                    unit,
                })
            })
            .collect()
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
            let up = self
                .links
                .get(&self.plans[m].ifindex)
                .is_some_and(|l| l.up && l.running);
            if !up {
                self.input(m, Input::InterfaceDown, now);
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
            // The kernel is the witness the parent may have missed: a vrrpd
            // that died just after becoming master (before the parent heard
            // of it) left all its VIPs in place, and only a master has them.
            let recorded = resume.get(&name).map(|&st| {
                if st == State::Backup
                    && !self.plans[m].vips.is_empty()
                    && self.holds_all_vips(m, &present)
                {
                    info!("({name}) recorded as BACKUP but holds all its VIPs: it was master");
                    State::Master
                } else {
                    st
                }
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
                for a in acts {
                    self.perform(m, a);
                }
            }
            (Unit::Group(g), Some(slot)) => {
                let acts = g.handle(slot, input, now);
                self.perform_group(place.unit, acts);
            }
            (Unit::Group(_), None) => {}
        }
    }

    fn perform_group(&mut self, unit: usize, acts: Vec<(usize, Action)>) {
        for (slot, a) in acts {
            if let Some(m) = self
                .places
                .iter()
                .position(|p| p.unit == unit && p.slot == Some(slot))
            {
                self.perform(m, a);
            }
        }
    }

    fn instance(&self, m: usize) -> &Instance {
        let place = self.places[m];
        match (&self.units[place.unit], place.slot) {
            (Unit::Single(i), _) => i,
            (Unit::Group(g), Some(s)) => g.member(s),
            (Unit::Group(g), None) => g.member(0),
        }
    }

    fn perform(&mut self, m: usize, a: Action) {
        let p = &self.plans[m];
        match a {
            Action::SendAdvert { dst, payload, .. } => {
                let Some(s) = self
                    .sockets
                    .iter()
                    .find(|s| s.ifindex == p.sock_if.1 && s.v6 == dst.is_ipv6())
                else {
                    return;
                };
                let vmac_tx = p.xmit.as_ref().and_then(|(_, i)| self.vmac_tx.get(i));
                let r = match (&s.sock, p.cfg.src_addr, dst) {
                    (Sock::V4(s4), IpAddr::V4(src), IpAddr::V4(d)) => {
                        let frame = packet::wrap_ipv4(src, d, &payload);
                        match vmac_tx {
                            Some(t) => t.send(&frame, d),
                            None => s4.send(&frame, d),
                        }
                    }
                    (Sock::V6(s6), _, IpAddr::V6(d)) => s6.send(&payload, d),
                    _ => Ok(()),
                };
                if let Err(e) = r {
                    warn!("({}) cannot send advert to {dst}: {e}", p.cfg.name);
                }
            }
            Action::AddVips { addrs, .. } => {
                let specs = p.specs(&addrs);
                for spec in specs {
                    if let Err(e) = self.rtnl.add_address(&spec) {
                        error!(
                            "({}) cannot add {}/{}: {e}",
                            self.plans[m].cfg.name, spec.addr, spec.prefix
                        );
                    }
                }
                self.set_routes(m, true);
            }
            Action::RemoveVips { addrs } => {
                self.set_routes(m, false);
                let specs = self.plans[m].specs(&addrs);
                for spec in specs {
                    if let Err(e) = self.rtnl.del_address(&spec) {
                        error!(
                            "({}) cannot remove {}/{}: {e}",
                            self.plans[m].cfg.name, spec.addr, spec.prefix
                        );
                    }
                }
            }
            Action::SendGarp(ip) => {
                let ifindex = p.vips.get(&IpAddr::V4(ip)).map_or(p.ifindex, |s| s.index);
                if let Err(e) = self.packet.send(ifindex, &frames::garp(p.mac, ip)) {
                    debug!("({}) gratuitous ARP for {ip}: {e}", p.cfg.name);
                }
            }
            Action::SendNa(ip) => {
                let ifindex = p.vips.get(&IpAddr::V6(ip)).map_or(p.ifindex, |s| s.index);
                if let Err(e) = self
                    .packet
                    .send(ifindex, &frames::unsolicited_na(p.mac, ip, false))
                {
                    debug!("({}) unsolicited NA for {ip}: {e}", p.cfg.name);
                }
            }
            Action::StateChanged { to, .. } => {
                self.groups_dirty = true;
                let priority = self.instance(m).effective_priority();
                let p = &self.plans[m];
                // An instance only goes back to Init when it stops (shutdown,
                // or removed by a reload): keepalived reports that as STOP
                // (notify_stop, FIFO lines, SMTP alerts).
                let state = match to {
                    State::Init => VrrpState::Stop,
                    s => state_of(s),
                };
                let group = p.group.as_deref().and_then(|g| self.ids.group(g));
                match self.ids.instance(&p.cfg.name) {
                    Some(instance) => self.out.push(FromChild::VrrpState(VrrpStateChange {
                        instance,
                        group,
                        state,
                        priority,
                    })),
                    None => error!("({}) has no id in the plan", p.cfg.name),
                }
            }
            Action::PriorityChanged { .. } | Action::MasterRxLowerPriority { .. } => {}
            Action::Log { level, message } => match level {
                LogLevel::Error => error!("{message}"),
                LogLevel::Warning => warn!("{message}"),
                LogLevel::Info => info!("{message}"),
                LogLevel::Debug => debug!("{message}"),
            },
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
        let mut now: BTreeMap<String, Option<VrrpState>> = BTreeMap::new();
        for m in 0..self.plans.len() {
            let Some(g) = self.plans[m].group.clone() else {
                continue;
            };
            let st = match self.instance(m).state() {
                State::Init => VrrpState::Stop,
                s => state_of(s),
            };
            now.entry(g)
                .and_modify(|v| {
                    if *v != Some(st) {
                        *v = None;
                    }
                })
                .or_insert(Some(st));
        }
        for (g, st) in now {
            let Some(st) = st else { continue };
            // A group that never started has nothing to report.
            if st == VrrpState::Stop && !self.group_states.contains_key(&g) {
                continue;
            }
            if self.group_states.get(&g) != Some(&st) {
                self.group_states.insert(g.clone(), st);
                if let Some(group) = self.ids.group(&g).filter(|_| report) {
                    self.out
                        .push(FromChild::GroupState(GroupStateChange { group, state: st }));
                }
            }
        }
    }

    /// A receive socket is readable.
    pub fn on_socket(&mut self, token: Token, now: Instant) {
        let Some(si) = token
            .0
            .checked_sub(SOCKET_TOKEN_BASE)
            .filter(|i| *i < self.sockets.len())
        else {
            return;
        };
        self.drain_socket(si, now);
    }

    /// Read at most [`RX_BUDGET`] datagrams from socket `si`. A flood must
    /// not keep the loop from its timers (a silent master is a failover):
    /// what is left is read after the next timers, at once
    /// ([`Engine::next_deadline`] says so), a budget at a time.
    fn drain_socket(&mut self, si: usize, now: Instant) {
        self.rx_pending.remove(&si);
        for _ in 0..RX_BUDGET {
            let r = match &self.sockets[si].sock {
                Sock::V4(s) => s.recv(&mut self.rx_buf),
                Sock::V6(s) => s.recv(&mut self.rx_buf),
            };
            let pkt: Received = match r {
                Ok(Rx::Packet(p)) => p,
                Ok(Rx::Junk) => continue,
                Ok(Rx::Empty) => return,
                Err(e) => {
                    warn!("VRRP receive: {e}");
                    return;
                }
            };
            let (ifindex, v6) = (self.sockets[si].ifindex, self.sockets[si].v6);
            let vrid = pkt.payload.get(1).copied();
            let targets: Vec<usize> = (0..self.plans.len())
                .filter(|&m| {
                    let p = &self.plans[m];
                    p.sock_if.1 == ifindex
                        && p.cfg.src_addr.is_ipv6() == v6
                        && Some(p.cfg.vrid) == vrid
                })
                .collect();
            if targets.is_empty() {
                self.unknown_vrid += 1;
                continue;
            }
            for m in targets {
                let rx = RxPacket {
                    src: pkt.src,
                    dst: pkt.dst,
                    ttl: pkt.ttl,
                    data: pkt.payload.clone(),
                };
                self.input(m, Input::Packet(rx), now);
            }
        }
        // Budget spent: come back right after the timers.
        self.rx_pending.insert(si);
        self.rx_pending_since.get_or_insert(now);
    }

    /// Links went up or down.
    pub fn on_monitor(&mut self, now: Instant) {
        let events = match self.monitor.drain() {
            Ok(e) => e,
            Err(e) => {
                warn!("rtnetlink monitor: {e}; re-reading links");
                self.rtnl
                    .links()
                    .map(|ls| ls.into_iter().map(NetEvent::Link).collect())
                    .unwrap_or_default()
            }
        };
        for ev in events {
            let NetEvent::Link(l) = ev else { continue };
            let was = self.links.get(&l.index).map(|o| o.up && o.running);
            let is = l.up && l.running;
            self.links.insert(l.index, l.clone());
            if was == Some(is) {
                continue;
            }
            info!(
                "Netlink reports {} {}",
                l.name,
                if is { "up" } else { "down" }
            );
            for m in 0..self.plans.len() {
                if self.plans[m].ifindex == l.index {
                    self.input(
                        m,
                        if is {
                            Input::InterfaceUp
                        } else {
                            Input::InterfaceDown
                        },
                        now,
                    );
                }
                for (idx, ifindex) in self.plans[m].track_ifaces.clone() {
                    if ifindex == l.index {
                        let status = if is {
                            TrackStatus::Up
                        } else {
                            TrackStatus::Down
                        };
                        self.input(m, Input::Track { index: idx, status }, now);
                    }
                }
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

    pub fn on_timer(&mut self, now: Instant) {
        self.timers(now);
        // Then what a flood left unread (a budget each).
        let pending: Vec<usize> = std::mem::take(&mut self.rx_pending).into_iter().collect();
        self.rx_pending_since = None;
        for si in pending {
            self.drain_socket(si, now);
        }
    }

    fn timers(&mut self, now: Instant) {
        for u in 0..self.units.len() {
            if self.units[u].next_deadline().is_none_or(|d| d > now) {
                continue;
            }
            match &mut self.units[u] {
                Unit::Single(inst) => {
                    let acts = inst.handle(Input::Timer, now);
                    if let Some(m) = self.places.iter().position(|p| p.unit == u) {
                        for a in acts {
                            self.perform(m, a);
                        }
                    }
                }
                Unit::Group(g) => {
                    let acts = g.handle_timer(now);
                    self.perform_group(u, acts);
                }
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.units
            .iter()
            .filter_map(Unit::next_deadline)
            .chain(self.rx_pending_since)
            .min()
    }

    /// Priority-0 adverts, virtual addresses and routes removed, VMACs
    /// deleted.
    pub fn shutdown(&mut self, now: Instant) {
        for m in 0..self.plans.len() {
            self.input(m, Input::Shutdown, now);
        }
        self.vmac_tx.clear();
        for (name, index) in std::mem::take(&mut self.vmacs) {
            match self.rtnl.delete_link(index) {
                Ok(()) => info!("Removed VMAC interface {name}"),
                Err(e) => warn!("cannot remove VMAC interface {name}: {e}"),
            }
        }
        for (index, values) in std::mem::take(&mut self.lower_saved) {
            if let Err(e) = self.rtnl.set_inet_conf(index, &values) {
                warn!("cannot restore ARP settings of interface {index}: {e}");
            }
        }
    }

    /// Add (`on`) or remove an instance's virtual routes and rules.
    fn set_routes(&mut self, m: usize, on: bool) {
        let name = self.plans[m].cfg.name.clone();
        let routes = self.plans[m].routes.clone();
        let rules = self.plans[m].rules.clone();
        if on {
            for r in &routes {
                if let Err(e) = self.rtnl.add_route(r) {
                    error!("({name}) cannot add route {}: {e}", r.spec.dst);
                }
            }
            for r in &rules {
                if let Err(e) = self.rtnl.add_rule(r) {
                    error!("({name}) cannot add rule {r:?}: {e}");
                }
            }
        } else {
            for r in &rules {
                if let Err(e) = self.rtnl.del_rule(r) {
                    warn!("({name}) cannot remove rule {r:?}: {e}");
                }
            }
            for r in &routes {
                if let Err(e) = self.rtnl.del_route(r) {
                    warn!("({name}) cannot remove route {}: {e}", r.spec.dst);
                }
            }
        }
    }

    /// Create (or adopt) the VMAC of every `use_vmac` instance, delete the
    /// ones no longer configured, and re-read the links.
    fn ensure_vmacs(&mut self, config: &Config) {
        let mut wanted = BTreeMap::new();
        for inst in &config.vrrp_instances {
            let Some(name) = crate::plan::vmac_name(inst) else {
                continue;
            };
            let base_name = inst
                .interface
                .clone()
                .or_else(|| config.global_defs.default_interface.clone());
            let Some(base) = self
                .links
                .values()
                .find(|l| Some(&l.name) == base_name.as_ref())
                .cloned()
            else {
                continue;
            };
            let v6 = inst
                .virtual_ipaddress
                .first()
                .is_some_and(|v| v.address.is_ipv6());
            let mac = vmac::virtual_mac(inst.virtual_router_id, v6);
            match self.links.values().find(|l| l.name == name).cloned() {
                Some(l) if l.lower == Some(base.index) && l.mac == mac => {
                    if !l.up {
                        let _ = self.rtnl.set_up(l.index);
                    }
                }
                Some(_) => {
                    error!(
                        "({}) interface {name} exists and is not a VMAC of {} with {}",
                        inst.name,
                        base.name,
                        mac.map(|b| format!("{b:02x}")).join(":")
                    );
                    continue;
                }
                None => {
                    if let Err(e) = self.rtnl.create_macvlan(&name, base.index, mac) {
                        error!("({}) cannot create VMAC interface {name}: {e}", inst.name);
                        continue;
                    }
                    info!(
                        "({}) Created VMAC interface {name} on {}",
                        inst.name, base.name
                    );
                }
            }
            wanted.insert(name, (base, v6));
        }
        self.refresh_links();
        // Forget (and delete) VMACs a reload dropped.
        let gone: Vec<(String, u32)> = self
            .vmacs
            .iter()
            .filter(|(n, _)| !wanted.contains_key(*n))
            .map(|(n, i)| (n.clone(), *i))
            .collect();
        for (name, index) in gone {
            self.vmacs.remove(&name);
            self.vmac_tx.remove(&index);
            let _ = self.rtnl.delete_link(index);
            info!("Removed VMAC interface {name}");
        }
        for (name, (base, v6)) in wanted {
            let Some(l) = self.links.values().find(|l| l.name == name).cloned() else {
                continue;
            };
            self.vmacs.insert(name.clone(), l.index);
            if v6 {
                continue;
            }
            if let Err(e) = self.rtnl.set_inet_conf(l.index, vmac::VMAC_CONF) {
                warn!("cannot set ARP settings of {name}: {e}");
            }
            if let std::collections::btree_map::Entry::Vacant(slot) =
                self.lower_saved.entry(base.index)
            {
                // A VMAC left by a vrrpd that crashed recorded the lower
                // device's settings from before they were changed.
                let before = l
                    .alias
                    .as_deref()
                    .and_then(vmac::parse_saved_alias)
                    .unwrap_or_else(|| {
                        vmac::LOWER_CONF
                            .iter()
                            .filter_map(|&(k, _)| {
                                base.inet_conf.get(usize::from(k) - 1).map(|&v| (k, v))
                            })
                            .collect()
                    });
                slot.insert(before);
                if let Err(e) = self.rtnl.set_inet_conf(base.index, vmac::LOWER_CONF) {
                    warn!("cannot set ARP settings of {}: {e}", base.name);
                }
            }
            if let Some(saved) = self.lower_saved.get(&base.index) {
                let alias = vmac::saved_alias(saved);
                if l.alias.as_deref() != Some(alias.as_str()) {
                    if let Err(e) = self.rtnl.set_alias(l.index, &alias) {
                        warn!("cannot record {}'s ARP settings on {name}: {e}", base.name);
                    }
                }
            }
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

    /// Apply a new configuration. An instance (or sync group) planned
    /// exactly as before is not touched: same state, timers, counters and
    /// addresses, no advert or gratuitous ARP out of turn. A changed one is
    /// rebuilt and resumes its state (a master keeps the addresses it still
    /// has and gains or loses only the difference); removed ones stop, new
    /// ones start.
    pub fn reload(
        &mut self,
        config: &Config,
        ids: Ids,
        registry: &Registry,
        now: Instant,
    ) -> Result<(), String> {
        self.ids = ids;
        let before = self.states();
        let old_names: Vec<String> = self.plans.iter().map(|p| p.cfg.name.clone()).collect();
        let new_names: Vec<String> = config
            .vrrp_instances
            .iter()
            .map(|i| i.name.clone())
            .collect();
        for (m, name) in old_names.iter().enumerate() {
            if !new_names.contains(name) {
                info!("({name}) removed from the configuration; stopping it");
                self.input(m, Input::Shutdown, now);
            }
        }
        let old_plans: BTreeMap<String, Planned> = self
            .plans
            .iter()
            .map(|p| (p.cfg.name.clone(), p.clone()))
            .collect();
        let addrs = self.rtnl.addresses().map_err(|e| e.to_string())?;
        let keep: BTreeMap<String, State> = before
            .into_iter()
            .filter(|(n, s)| new_names.contains(n) && *s != State::Init)
            .collect();
        let reuse = self.take_units();
        let fresh = self.build(config, &addrs, registry, &keep, reuse)?;
        let kept = fresh.iter().filter(|f| !**f).count();
        // (Tracker verdicts: the engine's own record, kept across reloads.)
        self.start_fresh(now, &keep, &[], &fresh);
        info!(
            "Reload: {kept} instance(s) unchanged, {} new or changed",
            fresh.len() - kept
        );
        // A changed master keeps its addresses across the reload: remove
        // what the new plan dropped, add only what it added.
        for m in (0..self.plans.len()).filter(|&m| fresh[m]) {
            let name = self.plans[m].cfg.name.clone();
            if keep.get(&name) != Some(&State::Master) {
                continue;
            }
            let Some(old) = old_plans.get(&name) else {
                continue;
            };
            let new = &self.plans[m];
            let old_vips: Vec<&AddrSpec> = old.vips.values().chain(&old.excluded).collect();
            let new_vips: Vec<AddrSpec> = new.vips.values().chain(&new.excluded).cloned().collect();
            let gone: Vec<AddrSpec> = old_vips
                .iter()
                .filter(|o| !new_vips.contains(o))
                .map(|o| (*o).clone())
                .collect();
            let added: Vec<AddrSpec> = new_vips
                .iter()
                .filter(|n| !old_vips.contains(n))
                .cloned()
                .collect();
            let (old_rules, old_routes) = (old.rules.clone(), old.routes.clone());
            for r in old_rules
                .iter()
                .filter(|r| !self.plans[m].rules.contains(r))
            {
                let _ = self.rtnl.del_rule(r);
            }
            for r in old_routes
                .iter()
                .filter(|r| !self.plans[m].routes.contains(r))
            {
                let _ = self.rtnl.del_route(r);
            }
            for spec in &gone {
                let _ = self.rtnl.del_address(spec);
            }
            for spec in &added {
                let _ = self.rtnl.add_address(spec);
            }
            let new_routes = self.plans[m].routes.iter().any(|r| !old_routes.contains(r))
                || self.plans[m].rules.iter().any(|r| !old_rules.contains(r));
            if new_routes {
                self.set_routes(m, true);
            }
        }
        Ok(())
    }

    pub fn dump(&self, stats: bool) -> String {
        let mut s = String::new();
        for m in 0..self.plans.len() {
            let inst = self.instance(m);
            let p = &self.plans[m];
            let _ = writeln!(s, " VRRP Instance = {}", p.cfg.name);
            let _ = writeln!(s, "   State = {}", inst.state().as_str());
            let _ = writeln!(s, "   Interface = {}", p.ifname);
            let _ = writeln!(s, "   Virtual Router ID = {}", p.cfg.vrid);
            let _ = writeln!(
                s,
                "   Priority = {}, effective {}",
                p.cfg.priority,
                inst.effective_priority()
            );
            if let Some((addr, prio)) = inst.master() {
                let _ = writeln!(s, "   Master = {addr} priority {prio}");
            }
            if stats {
                let c = inst.counters();
                let _ = writeln!(
                    s,
                    "   Adverts sent {}, received {}",
                    c.adverts_sent, c.adverts_received
                );
                let _ = writeln!(
                    s,
                    "   Became master {}, released master {}",
                    c.become_master, c.release_master
                );
                let _ = writeln!(
                    s,
                    "   Priority 0 sent {}, received {}",
                    c.pri_zero_sent, c.pri_zero_received
                );
                let _ = writeln!(
                    s,
                    "   Lower priority adverts not answered (rate limit) {}",
                    c.lower_prio_unanswered
                );
                let _ = writeln!(s, "   Packets dropped {}", c.total_dropped());
                for cause in DropCause::ALL {
                    if c.dropped(cause) > 0 {
                        let _ = writeln!(s, "     {}: {}", cause.as_str(), c.dropped(cause));
                    }
                }
                for (peer, by) in &c.checksum_by_peer {
                    let seen: Vec<String> = ChecksumVariant::ALL
                        .iter()
                        .filter(|v| by[v.index()] > 0)
                        .map(|v| format!("{} {}", v.as_str(), by[v.index()]))
                        .collect();
                    let _ = writeln!(s, "   Checksums from {peer}: {}", seen.join(", "));
                }
            }
        }
        if stats {
            let _ = writeln!(s, " Packets for unknown VRIDs: {}", self.unknown_vrid);
        }
        s
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
