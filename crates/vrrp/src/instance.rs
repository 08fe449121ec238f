//! One VRRP instance: the RFC 3768/5798 state machine with keepalived
//! 2.2.7's behaviour and log phrases, minus its flaw that any received
//! packet, valid or not, re-armed the master's advert timer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::action::{Action, Input, LogLevel, ResumeState, RxPacket, State};
use crate::ah;
use crate::config::{Auth, ConfigError, InstanceConfig, UnicastChecksum};
use crate::counters::{Counters, DropCause};
use crate::garp::Garp;
use crate::packet::{
    self, Advert, ChecksumVariant, RxMeta, Version, AUTH_AH, AUTH_NONE, AUTH_PASS,
};
use crate::timers;
use crate::track::{self, Effect, TrackStatus};

/// What a sync group allows a member to do (standalone: anything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyncGate {
    /// Every other member wants MASTER (or the group already is MASTER).
    pub can_go_master: bool,
    /// Another member has a fault of its own: stay in FAULT.
    pub others_faulted: bool,
}

impl SyncGate {
    pub const STANDALONE: SyncGate = SyncGate {
        can_go_master: true,
        others_faulted: false,
    };
}

/// See [`Instance::status`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    pub name: String,
    pub vrid: u8,
    pub state: State,
    pub effective_priority: u8,
    pub master_adver_int: Duration,
    pub master: Option<(IpAddr, u8)>,
    pub vips_set: bool,
    pub counters: Counters,
}

impl Status {
    pub fn resume_state(&self) -> ResumeState {
        ResumeState { state: self.state }
    }
}

#[derive(Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    /// Between Startup/Resume and Shutdown.
    started: bool,
    base_priority: u8,
    effective_priority: u8,
    interface_up: bool,
    /// It has an address to send from (see [`Input::Source`]).
    has_source: bool,
    track_status: Vec<TrackStatus>,
    /// Master_Adver_Interval: ours as master, the master's as v3 backup.
    master_adver_int: Duration,
    down_deadline: Option<Instant>,
    /// End of `vrrp_startup_delay` after a start.
    delayed_until: Option<Instant>,
    advert_deadline: Option<Instant>,
    /// Expiry of preempt_delay (keepalived's preempt_time).
    preempt_deadline: Option<Instant>,
    garp_delay_deadline: Option<Instant>,
    lower_prio_garp_deadline: Option<Instant>,
    /// When a lower priority advert was last answered: at most one answer
    /// per advert interval, so a flood of them is not amplified.
    lower_prio_answered: Option<Instant>,
    /// `auth_type AH`: keepalived's one sequence counter, for the adverts
    /// sent and the replay check of those received (a backup follows the
    /// master's, so it goes on from there when it takes over).
    ah_seq: u32,
    /// The counter ran out (keepalived's "cycle"): reset on becoming master.
    ah_cycle: bool,
    /// The AH sequence number of the datagram being handled.
    rx_ah_seq: Option<u32>,
    /// Unicast VRRPv3/IPv4 sends keepalived's old checksum (configured, or
    /// switched to when a peer's adverts carried it).
    old_unicast_checksum: bool,
    refresh_deadline: Option<Instant>,
    /// Next `garp_extra_if` announcement while master.
    extra_if_deadline: Option<Instant>,
    /// The down timer expired but the sync group held us in BACKUP.
    wants_master: bool,
    /// Last master heard (address, priority).
    master: Option<(IpAddr, u8)>,
    vips_set: bool,
    garp: Garp,
    counters: Counters,
    /// First drop of each cause is logged at Info, later ones at Debug, so
    /// a flood of junk cannot flood syslog.
    drop_logged: [bool; DropCause::COUNT],
    pending_logs: Vec<String>,
    pub(crate) gate: SyncGate,
}

impl Instance {
    /// Normalises `cfg` (keepalived's rules; corrections are logged as
    /// warnings on the first `handle`) and builds an instance in Init.
    /// Report initial interface / tracker states before `Startup`.
    pub fn new(mut cfg: InstanceConfig) -> Result<Instance, ConfigError> {
        let pending_logs = cfg.normalize()?;
        let track_status = cfg.tracks.iter().map(|t| t.initial).collect();
        let garp = Garp::new(cfg.garp.arp_interval, cfg.garp.na_interval);
        let mut i = Instance {
            state: State::Init,
            started: false,
            base_priority: cfg.priority,
            effective_priority: cfg.priority,
            interface_up: true,
            has_source: true,
            track_status,
            master_adver_int: cfg.advert_int,
            down_deadline: None,
            delayed_until: None,
            advert_deadline: None,
            preempt_deadline: None,
            garp_delay_deadline: None,
            lower_prio_garp_deadline: None,
            lower_prio_answered: None,
            ah_seq: 0,
            ah_cycle: false,
            rx_ah_seq: None,
            old_unicast_checksum: false,
            refresh_deadline: None,
            extra_if_deadline: None,
            wants_master: false,
            master: None,
            vips_set: false,
            garp,
            counters: Counters::default(),
            drop_logged: [false; DropCause::COUNT],
            pending_logs,
            gate: SyncGate::STANDALONE,
            cfg,
        };
        i.effective_priority = track::effective_priority(i.base_priority, i.deltas());
        Ok(i)
    }

    /// Builds an instance and resumes it in a recorded state: a master
    /// keeps its addresses and advertises at once, a backup restarts its
    /// Master_Down timer.
    pub fn resume(
        cfg: InstanceConfig,
        rs: ResumeState,
        now: Instant,
    ) -> Result<(Instance, Vec<Action>), ConfigError> {
        let mut i = Instance::new(cfg)?;
        let out = i.handle(Input::Resume(rs), now);
        Ok((i, out))
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }
    pub fn name(&self) -> &str {
        &self.cfg.name
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }
    pub fn master_adver_int(&self) -> Duration {
        self.master_adver_int
    }
    /// Last master heard, with its priority.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// `--signum=STATS_CLEAR`: the counters back to zero (state and
    /// timers untouched).
    pub fn clear_counters(&mut self) {
        self.counters = Counters::default();
    }
    pub fn vips_set(&self) -> bool {
        self.vips_set
    }
    /// Interface down, no address to send from, or a weight-0 tracked
    /// object failing.
    pub fn own_fault(&self) -> bool {
        !self.interface_up
            || !self.has_source
            || self.cfg.no_peer_fault
            || self
                .cfg
                .tracks
                .iter()
                .zip(&self.track_status)
                .any(|(c, s)| track::effect(c, *s) == Effect::Fault)
    }
    pub(crate) fn wants_master(&self) -> bool {
        self.wants_master || self.state == State::Master
    }

    /// A serialisable snapshot for the parent (status reports, and the
    /// `ResumeState` to record).
    pub fn status(&self) -> Status {
        Status {
            name: self.cfg.name.clone(),
            vrid: self.cfg.vrid,
            state: self.state,
            effective_priority: self.effective_priority,
            master_adver_int: self.master_adver_int,
            master: self.master,
            vips_set: self.vips_set,
            counters: self.counters.clone(),
        }
    }

    /// Current Skew_Time.
    pub fn skew_time(&self) -> Duration {
        timers::skew_time(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_int,
        )
    }

    /// Current Master_Down_Interval.
    /// When a backup's down timer armed at `now` expires: after
    /// Master_Down_Interval, counted from the end of `vrrp_startup_delay`
    /// while it lasts.
    fn down_from(&self, now: Instant) -> Instant {
        let base = match self.delayed_until {
            Some(t) if t > now => t,
            _ => now,
        };
        base + self.master_down_interval()
    }

    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_int,
            self.cfg.down_timer_adverts,
        )
    }

    /// When `handle(Input::Timer, ..)` must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        let state_timer = match self.state {
            State::Backup => self.down_deadline,
            State::Master => self.advert_deadline,
            _ => None,
        };
        [
            state_timer,
            self.garp_delay_deadline,
            self.lower_prio_garp_deadline,
            self.refresh_deadline,
            self.extra_if_deadline,
            self.garp.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(input, now, &mut out);
        out
    }

    pub fn handle_into(&mut self, input: Input, now: Instant, out: &mut Vec<Action>) {
        for m in self.pending_logs.drain(..) {
            out.push(Action::Log {
                level: LogLevel::Warning,
                message: m,
            });
        }
        match input {
            Input::Startup => self.startup(now, out),
            Input::Resume(rs) => self.resume_in(rs.state, now, out),
            Input::Timer => self.on_timer(now, out),
            Input::Packet(p) => self.on_packet(p, now, out),
            Input::Ipv4Datagram(d) => self.on_datagram(&d, now, out),
            Input::Shutdown => self.shutdown(out),
            Input::InterfaceUp => {
                self.interface_up = true;
                self.fault_changed(now, out);
            }
            Input::InterfaceDown => {
                self.interface_up = false;
                self.fault_changed(now, out);
            }
            Input::Source(src) => {
                if let Some(a) = src {
                    self.cfg.src_addr = a;
                }
                self.has_source = src.is_some();
                self.fault_changed(now, out);
            }
            Input::Track { index, status } => {
                if let Some(s) = self.track_status.get_mut(index) {
                    *s = status;
                    self.recompute_priority(out);
                    self.fault_changed(now, out);
                }
            }
            Input::Announce => {
                if self.state == State::Master {
                    self.log(
                        out,
                        LogLevel::Info,
                        format_args!("Sending gratuitous ARPs / unsolicited NAs on request"),
                    );
                    let repeat = self.cfg.garp.master_repeat.max(1);
                    self.garp.burst(&self.cfg.vips, repeat, now, out);
                }
            }
        }
    }

    // ---- logging -------------------------------------------------------

    fn log(&self, out: &mut Vec<Action>, level: LogLevel, msg: std::fmt::Arguments<'_>) {
        out.push(Action::Log {
            level,
            message: format!("({}) {}", self.cfg.name, msg),
        });
    }

    // ---- lifecycle -----------------------------------------------------

    fn startup(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.started {
            return;
        }
        self.started = true;
        if !self.cfg.startup_delay.is_zero() {
            self.delayed_until = Some(now + self.cfg.startup_delay);
        }
        if self.own_fault() || self.gate.others_faulted {
            self.log(
                out,
                LogLevel::Info,
                format_args!("Entering FAULT STATE (init)"),
            );
            self.set_state(State::Fault, out);
        } else if self.cfg.starts_as_master()
            && self.gate.can_go_master
            && self.delayed_until.is_none()
        {
            self.become_master(now, out);
        } else if let Some(at) = self.delayed_until.filter(|_| self.cfg.starts_as_master()) {
            // keepalived: even an owner times out of BACKUP, at the
            // delay's end.
            self.log(
                out,
                LogLevel::Info,
                format_args!("Entering BACKUP STATE (init)"),
            );
            self.master_adver_int = self.cfg.advert_int;
            self.down_deadline = Some(at);
            self.set_state(State::Backup, out);
        } else {
            self.log(
                out,
                LogLevel::Info,
                format_args!("Entering BACKUP STATE (init)"),
            );
            self.master_adver_int = self.cfg.advert_int;
            self.down_deadline = Some(self.down_from(now));
            self.set_state(State::Backup, out);
        }
    }

    fn resume_in(&mut self, st: State, now: Instant, out: &mut Vec<Action>) {
        if self.started {
            return;
        }
        if st == State::Init {
            // Never got going before the crash: a normal start.
            return self.startup(now, out);
        }
        self.started = true;
        self.master_adver_int = self.cfg.advert_int;
        match st {
            State::Master => {
                // The addresses are still configured from before the crash.
                self.vips_set = true;
                self.state = State::Master;
                if self.own_fault() || self.gate.others_faulted {
                    self.enter_fault(out);
                    return;
                }
                self.log(
                    out,
                    LogLevel::Info,
                    format_args!("Resuming in MASTER STATE"),
                );
                self.send_advert(self.effective_priority, out);
                self.advert_deadline = Some(now + self.cfg.advert_int);
                if !self.cfg.garp.master_refresh.is_zero() {
                    self.refresh_deadline = Some(now + self.cfg.garp.master_refresh);
                }
                self.extra_if_deadline = self.extra_if_first(now);
            }
            State::Fault => {
                self.state = State::Fault;
                self.log(out, LogLevel::Info, format_args!("Resuming in FAULT STATE"));
                self.fault_changed(now, out);
            }
            State::Backup | State::Init => {
                if self.own_fault() || self.gate.others_faulted {
                    self.log(
                        out,
                        LogLevel::Info,
                        format_args!("Entering FAULT STATE (init)"),
                    );
                    self.set_state(State::Fault, out);
                    return;
                }
                self.state = State::Backup;
                self.log(
                    out,
                    LogLevel::Info,
                    format_args!("Resuming in BACKUP STATE"),
                );
                self.down_deadline = Some(self.down_from(now));
            }
        }
    }

    fn shutdown(&mut self, out: &mut Vec<Action>) {
        if !self.started {
            return;
        }
        if self.state == State::Master {
            self.send_advert(0, out);
            self.log(out, LogLevel::Debug, format_args!("sent 0 priority"));
            self.release_vips(out);
        }
        self.clear_timers();
        self.started = false;
        self.set_state(State::Init, out);
    }

    fn set_state(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        if from != to {
            out.push(Action::StateChanged { from, to });
        }
    }

    fn clear_timers(&mut self) {
        self.down_deadline = None;
        self.advert_deadline = None;
        self.preempt_deadline = None;
        self.garp_delay_deadline = None;
        self.lower_prio_garp_deadline = None;
        self.refresh_deadline = None;
        self.extra_if_deadline = None;
        self.wants_master = false;
        self.garp.clear();
    }

    /// The first `garp_extra_if` announcement after becoming master.
    fn extra_if_first(&self, now: Instant) -> Option<Instant> {
        let g = &self.cfg.garp;
        (!g.extra_if_interval.is_zero() && !g.extra_if.is_empty())
            .then(|| now + g.extra_if_interval)
    }

    // ---- transitions ---------------------------------------------------

    /// Backup/Fault/Init -> Master (RFC 6.4.2 "Master_Down_Timer fires").
    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        // A run-out AH counter starts again (keepalived's anti-replay reset).
        if std::mem::take(&mut self.ah_cycle) {
            self.ah_seq = 0;
        }
        // Advert first: the old master must drop the VIPs before our GARPs.
        self.send_advert(self.effective_priority, out);
        self.log(out, LogLevel::Info, format_args!("Entering MASTER STATE"));
        self.counters.become_master += 1;
        if self.cfg.version == Version::V3 && self.master_adver_int != self.cfg.advert_int {
            self.log(
                out,
                LogLevel::Debug,
                format_args!(
                    "changing advert interval from {}ms to locally configured {}ms",
                    self.master_adver_int.as_millis(),
                    self.cfg.advert_int.as_millis()
                ),
            );
        }
        self.master_adver_int = self.cfg.advert_int;
        self.clear_timers();
        self.master = None;
        if !self.vips_set {
            out.push(Action::AddVips {
                addrs: self.cfg.vips.clone(),
                block_traffic: !self.cfg.accept_mode(),
            });
            self.vips_set = true;
        }
        let g = &self.cfg.garp;
        self.garp.burst(&self.cfg.vips, g.master_repeat, now, out);
        if !g.master_delay.is_zero() && g.master_repeat > 0 {
            self.garp_delay_deadline = Some(now + g.master_delay);
        }
        if !g.master_refresh.is_zero() {
            self.refresh_deadline = Some(now + g.master_refresh);
        }
        self.extra_if_deadline = self.extra_if_first(now);
        self.advert_deadline = Some(now + self.cfg.advert_int);
        self.set_state(State::Master, out);
    }

    /// Master -> Backup (higher priority heard, or sync group).
    fn master_to_backup(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.log(out, LogLevel::Info, format_args!("Entering BACKUP STATE"));
        self.release_vips(out);
        self.clear_timers();
        self.counters.release_master += 1;
        self.down_deadline = Some(self.down_from(now));
        self.set_state(State::Backup, out);
    }

    fn release_vips(&mut self, out: &mut Vec<Action>) {
        if self.vips_set {
            out.push(Action::RemoveVips {
                addrs: self.cfg.vips.clone(),
            });
            self.vips_set = false;
        }
        self.garp.clear();
    }

    fn enter_fault(&mut self, out: &mut Vec<Action>) {
        self.log(out, LogLevel::Info, format_args!("Entering FAULT STATE"));
        if self.state == State::Master {
            // Let a backup take over after Skew_Time rather than Master_Down.
            self.send_advert(0, out);
            self.release_vips(out);
            self.counters.release_master += 1;
        }
        self.clear_timers();
        self.set_state(State::Fault, out);
    }

    fn leave_fault(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.master_adver_int = self.cfg.advert_int;
        if self.cfg.starts_as_master() && self.gate.can_go_master {
            self.become_master(now, out);
            return;
        }
        self.log(out, LogLevel::Info, format_args!("Entering BACKUP STATE"));
        self.clear_timers();
        self.down_deadline = Some(self.down_from(now));
        self.set_state(State::Backup, out);
    }

    fn fault_changed(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !self.started {
            return;
        }
        match (self.own_fault(), self.state) {
            (true, State::Backup | State::Master) => self.enter_fault(out),
            (false, State::Fault) if !self.gate.others_faulted => self.leave_fault(now, out),
            _ => {}
        }
    }

    fn deltas(&self) -> i64 {
        self.cfg
            .tracks
            .iter()
            .zip(&self.track_status)
            .map(|(c, s)| match track::effect(c, *s) {
                Effect::Delta(d) => d,
                Effect::Fault => 0,
            })
            .sum()
    }

    fn recompute_priority(&mut self, out: &mut Vec<Action>) {
        let new = track::effective_priority(self.base_priority, self.deltas());
        let old = self.effective_priority;
        if new == old {
            return;
        }
        if !self.started {
            self.effective_priority = new;
            return;
        }
        self.log(
            out,
            LogLevel::Info,
            format_args!("Changing effective priority from {old} to {new}"),
        );
        let old_mdi = self.master_down_interval();
        self.effective_priority = new;
        // A backup's running down timer moves by the change in Skew_Time.
        if let (State::Backup, Some(d)) = (self.state, self.down_deadline) {
            let new_mdi = self.master_down_interval();
            self.down_deadline = Some(if new_mdi >= old_mdi {
                d + (new_mdi - old_mdi)
            } else {
                d - (old_mdi - new_mdi)
            });
        }
        out.push(Action::PriorityChanged { from: old, to: new });
    }

    // ---- timers --------------------------------------------------------

    fn on_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let due = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        match self.state {
            State::Backup if due(self.down_deadline) => {
                self.log(
                    out,
                    LogLevel::Debug,
                    format_args!("Receive advertisement timeout"),
                );
                if self.gate.can_go_master {
                    self.become_master(now, out);
                } else {
                    // Held by the sync group until every member wants MASTER.
                    self.wants_master = true;
                    self.down_deadline = Some(self.down_from(now));
                }
            }
            State::Master if due(self.advert_deadline) => {
                self.send_advert(self.effective_priority, out);
                let next = self.advert_deadline.map(|d| d + self.cfg.advert_int);
                // Keep an exact rhythm unless we were badly late.
                self.advert_deadline = Some(match next {
                    Some(n) if n > now => n,
                    _ => now + self.cfg.advert_int,
                });
            }
            _ => {}
        }
        if self.state != State::Master {
            return;
        }
        let g = self.cfg.garp.clone();
        if due(self.garp_delay_deadline) {
            self.garp_delay_deadline = None;
            self.garp.burst(&self.cfg.vips, g.master_repeat, now, out);
        }
        if due(self.lower_prio_garp_deadline) {
            self.lower_prio_garp_deadline = None;
            self.garp
                .burst(&self.cfg.vips, g.lower_prio_repeat, now, out);
        }
        if let Some(r) = self.refresh_deadline.filter(|r| *r <= now) {
            self.garp
                .burst(&self.cfg.vips, g.master_refresh_repeat, now, out);
            let n = r + g.master_refresh;
            self.refresh_deadline = Some(if n > now { n } else { now + g.master_refresh });
        }
        if let Some(r) = self.extra_if_deadline.filter(|r| *r <= now) {
            self.garp.burst(&g.extra_if, 1, now, out);
            let n = r + g.extra_if_interval;
            self.extra_if_deadline = Some(if n > now {
                n
            } else {
                now + g.extra_if_interval
            });
        }
        self.garp.poll(now, out);
    }

    // ---- sending -------------------------------------------------------

    fn advert(&self, priority: u8) -> Advert {
        let (auth_type, auth_data) = match (&self.cfg.version, &self.cfg.auth) {
            (Version::V2, Auth::Pass(p)) => (AUTH_PASS, *p),
            (Version::V2, Auth::Ah(_)) => (AUTH_AH, [0; 8]),
            _ => (AUTH_NONE, [0; 8]),
        };
        Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            adver_int: self.cfg.adver_int_units(),
            auth_type,
            auth_data,
            addrs: self.cfg.vips.clone(),
        }
    }

    fn destinations(&self) -> Vec<IpAddr> {
        if !self.cfg.unicast_peers.is_empty() {
            self.cfg.unicast_peers.clone()
        } else if let Some(g) = self
            .cfg
            .mcast_group
            .filter(|g| g.is_ipv6() == self.cfg.src_addr.is_ipv6())
        {
            vec![g]
        } else if self.cfg.src_addr.is_ipv6() {
            vec![IpAddr::V6(packet::MCAST_GROUP_V6)]
        } else {
            vec![IpAddr::V4(packet::MCAST_GROUP_V4)]
        }
    }

    fn send_advert(&mut self, priority: u8, out: &mut Vec<Action>) {
        let advert = self.advert(priority);
        let unicast4 = !self.cfg.unicast_peers.is_empty() && self.cfg.src_addr.is_ipv4();
        let variant = if self.cfg.v3_checksum_as_v2 {
            ChecksumVariant::NoPseudoHeader
        } else if unicast4
            && (self.old_unicast_checksum || self.cfg.unicast_checksum == UnicastChecksum::Old)
        {
            ChecksumVariant::GroupPseudoHeader
        } else {
            ChecksumVariant::PseudoHeader
        };
        // One sequence number per advert, whatever the peers (keepalived).
        let ah_seq = matches!(self.cfg.auth, Auth::Ah(_)).then(|| {
            if self.ah_seq > 0xFFFF_FFFD {
                self.ah_cycle = true;
            } else {
                self.ah_seq += 1;
            }
            self.ah_seq
        });
        for dst in self.destinations() {
            match packet::encode(&advert, self.cfg.src_addr, dst, variant) {
                Ok(payload) => out.push(Action::SendAdvert {
                    dst,
                    priority,
                    payload,
                    ah_seq,
                }),
                Err(e) => self.log(
                    out,
                    LogLevel::Error,
                    format_args!("cannot encode advert: {e}"),
                ),
            }
        }
        self.counters.adverts_sent += 1;
        if priority == 0 {
            self.counters.pri_zero_sent += 1;
        }
    }

    // ---- receiving -----------------------------------------------------

    /// Counted, logged, and nothing else: no timer moves.
    fn dropped(&mut self, cause: DropCause, msg: &str, out: &mut Vec<Action>) {
        self.counters.drops[cause.index()] += 1;
        let level = if std::mem::replace(&mut self.drop_logged[cause.index()], true) {
            LogLevel::Debug
        } else {
            LogLevel::Info
        };
        self.log(out, level, format_args!("{msg}"));
    }

    fn on_datagram(&mut self, dgram: &[u8], now: Instant, out: &mut Vec<Action>) {
        if let Auth::Ah(key) = self.cfg.auth {
            return self.on_ah_datagram(dgram, &key, now, out);
        }
        match packet::parse_ipv4_packet(dgram) {
            Ok((m, payload)) => {
                let p = RxPacket {
                    src: m.src,
                    dst: m.dst,
                    ttl: m.ttl,
                    data: payload.to_vec(),
                };
                self.on_packet(p, now, out);
            }
            Err(e) => {
                self.counters.packets_received += 1;
                self.dropped(
                    e.into(),
                    &decode_phrase(e, dgram, self.cfg.version, false),
                    out,
                );
            }
        }
    }

    /// `auth_type AH`: the ICV and SPI checked before anything in the
    /// packet is believed, then the advert, then the sequence number
    /// (keepalived's vrrp_in_chk_ipsecah).
    fn on_ah_datagram(&mut self, dgram: &[u8], key: &ah::Key, now: Instant, out: &mut Vec<Action>) {
        let unicast = !self.cfg.unicast_peers.is_empty();
        let refused = match ah::open(dgram, key, unicast) {
            Ok((m, payload, seq)) => {
                let p = RxPacket {
                    src: m.src,
                    dst: m.dst,
                    ttl: m.ttl,
                    data: payload.to_vec(),
                };
                self.rx_ah_seq = Some(seq);
                self.on_packet(p, now, out);
                self.rx_ah_seq = None;
                return;
            }
            // An AH for another protocol: not ours to count.
            Err(ah::AhError::OtherProtocol) => return,
            Err(ah::AhError::BadIcv) => (
                DropCause::AuthFailure,
                "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
                    .to_string(),
            ),
            Err(ah::AhError::BadSpi(src, spi)) => (
                DropCause::AuthFailure,
                format!(
                    "IPSEC AH : invalid IPSEC SPI value. {} and expect {}",
                    src.swap_bytes(),
                    spi.swap_bytes()
                ),
            ),
            Err(ah::AhError::NotAh) => (
                DropCause::AuthTypeMismatch,
                format!("received a {AUTH_NONE} auth, expecting {AUTH_AH}!"),
            ),
            Err(ah::AhError::Malformed) => (
                DropCause::TooShort,
                "ip/vrrp header check failed - packet dropped".to_string(),
            ),
        };
        self.counters.packets_received += 1;
        self.dropped(refused.0, &refused.1, out);
    }

    fn on_packet(&mut self, p: RxPacket, now: Instant, out: &mut Vec<Action>) {
        self.counters.packets_received += 1;
        let (advert, variant) = match self.validate(&p) {
            Ok(v) => v,
            Err((cause, msg)) => {
                self.dropped(cause, &msg, out);
                return;
            }
        };
        // AH replay protection: only a newer sequence number is believed.
        if let Some(seq) = self.rx_ah_seq {
            if seq > self.ah_seq {
                self.ah_seq = seq;
                if self.state == State::Backup {
                    self.ah_cycle = false;
                }
            } else {
                let msg = format!(
                    "IPSEC-AH : sequence number {seq} already processed. Packet dropped. Local({})",
                    self.ah_seq
                );
                self.dropped(DropCause::AuthFailure, &msg, out);
                return;
            }
        }
        self.counters.adverts_received += 1;
        self.counters.record_checksum(p.src, variant);
        // keepalived's auto mode: a unicast peer on the old checksum gets
        // the old checksum back (once, for good).
        if variant == ChecksumVariant::GroupPseudoHeader
            && !self.cfg.unicast_peers.is_empty()
            && self.cfg.unicast_checksum == UnicastChecksum::Auto
            && !self.old_unicast_checksum
        {
            self.old_unicast_checksum = true;
            self.log(
                out,
                LogLevel::Info,
                format_args!("Setting unicast VRRPv3 checksum to old version"),
            );
        }
        if advert.priority == 0 {
            self.counters.pri_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(&advert, p.src, now, out),
            State::Master => self.master_rx(&advert, p.src, now, out),
            State::Init | State::Fault => {}
        }
    }

    /// RFC 3768 7.1 / RFC 5798 7.1 receive checks, plus keepalived's. The
    /// error carries keepalived's log phrase for the drop.
    fn validate(&self, p: &RxPacket) -> Result<(Advert, ChecksumVariant), (DropCause, String)> {
        let cfg = &self.cfg;
        let fail = |c: DropCause, m: String| Err((c, m));
        if p.src.is_ipv6() != cfg.src_addr.is_ipv6() {
            return fail(
                DropCause::FamilyMismatch,
                format!("received packet of the wrong address family from {}", p.src),
            );
        }
        let meta = RxMeta {
            src: p.src,
            dst: p.dst,
            ttl: p.ttl,
        };
        let d = match packet::decode(&p.data, &meta) {
            Ok(d) => d,
            Err(e) => {
                return fail(
                    e.into(),
                    decode_phrase(e, &p.data, cfg.version, p.src.is_ipv6()),
                )
            }
        };
        let a = d.advert;
        if p.src == cfg.src_addr {
            return fail(
                DropCause::OwnAddress,
                "received an advert with our own source address".into(),
            );
        }
        let multicast = cfg.unicast_peers.is_empty();
        // Unicast adverts may be routed, so keepalived waives the TTL check.
        if multicast && p.ttl != packet::VRRP_TTL {
            return fail(
                DropCause::BadTtl,
                format!(
                    "invalid TTL/HL. Received {} and expect {}",
                    p.ttl,
                    packet::VRRP_TTL
                ),
            );
        }
        if a.version != cfg.version {
            return fail(
                DropCause::BadVersion,
                format!(
                    "wrong version. Received {} and expect {}",
                    a.version.number(),
                    cfg.version.number()
                ),
            );
        }
        if a.vrid != cfg.vrid {
            return fail(
                DropCause::WrongVrid,
                format!(
                    "received VRID {} from {}, expect {}",
                    a.vrid, p.src, cfg.vrid
                ),
            );
        }
        match a.version {
            Version::V2 => {
                if a.auth_type > AUTH_AH {
                    return fail(
                        DropCause::InvalidAuthType,
                        format!("Invalid auth type: {}", a.auth_type),
                    );
                }
                let expect = match cfg.auth {
                    Auth::None => AUTH_NONE,
                    Auth::Pass(_) => AUTH_PASS,
                    Auth::Ah(_) => AUTH_AH,
                };
                if a.auth_type != expect {
                    return fail(
                        DropCause::AuthTypeMismatch,
                        format!("received a {} auth, expecting {}!", a.auth_type, expect),
                    );
                }
                if let Auth::Pass(pw) = &cfg.auth {
                    // Compare every byte (no early exit).
                    let diff = pw
                        .iter()
                        .zip(&a.auth_data)
                        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
                    if diff != 0 {
                        return fail(DropCause::AuthFailure, "received an invalid passwd!".into());
                    }
                }
                // v2 only: a different interval means a misconfigured peer.
                if a.adver_int != cfg.adver_int_units() {
                    return fail(
                        DropCause::IntervalMismatch,
                        format!(
                            "advertisement interval mismatch mine={} sec rcv'd={} sec",
                            cfg.adver_int_units(),
                            a.adver_int
                        ),
                    );
                }
            }
            // v3 adopts the master's interval instead (RFC 5798 6.4.2).
            Version::V3 => {
                if a.adver_int == 0 {
                    return fail(
                        DropCause::InvalidInterval,
                        format!("received advert interval 0 from {}", p.src),
                    );
                }
            }
        }
        if p.dst.is_multicast() != multicast {
            let (want, got) = if multicast {
                ("mult", "un")
            } else {
                ("un", "mult")
            };
            return fail(
                DropCause::WrongDestination,
                format!("Expected {want}icast packet but received {got}icast packet"),
            );
        }
        let skip_addrs = cfg.skip_check_adv_addr
            && self.state == State::Backup
            && self.master.is_some_and(|(m, _)| m == p.src);
        if !skip_addrs {
            if a.addrs.len() != cfg.vips.len() {
                return fail(
                    DropCause::AddrCountMismatch,
                    format!(
                        "received an unexpected ip number count {}, expected {}!",
                        a.addrs.len(),
                        cfg.vips.len()
                    ),
                );
            }
            if let Some(v) = cfg.vips.iter().find(|v| !a.addrs.contains(v)) {
                return fail(
                    DropCause::AddrListMismatch,
                    format!(
                        "ip address associated with VRID {} not present in MASTER advert: {}",
                        cfg.vrid, v
                    ),
                );
            }
        }
        if !multicast && cfg.check_unicast_src && !cfg.unicast_peers.contains(&p.src) {
            return fail(
                DropCause::NotUnicastPeer,
                format!("unicast source address {} not a unicast peer", p.src),
            );
        }
        if let Some(&(_, min, max)) = cfg.peer_ttl.iter().find(|(a, ..)| *a == p.src) {
            if p.ttl < min || p.ttl > max {
                return fail(
                    DropCause::BadTtl,
                    format!("TTL/HL {} not in range {min} - {max}", p.ttl),
                );
            }
        }
        Ok((a, d.checksum))
    }

    fn adopt_interval(&mut self, a: &Advert, out: &mut Vec<Action>) {
        if a.version != Version::V3 {
            return;
        }
        let mai = a.interval();
        if mai != self.master_adver_int {
            self.log(
                out,
                LogLevel::Debug,
                format_args!(
                    "advertisement interval updated from {}ms to {}ms by master",
                    self.master_adver_int.as_millis(),
                    mai.as_millis()
                ),
            );
            self.master_adver_int = mai;
        }
    }

    /// RFC 6.4.2 (Backup), with keepalived's nopreempt / preempt_delay.
    fn backup_rx(&mut self, a: &Advert, src: IpAddr, now: Instant, out: &mut Vec<Action>) {
        if a.priority == 0 {
            self.log(
                out,
                LogLevel::Info,
                format_args!("Backup received priority 0 advertisement"),
            );
            self.down_deadline = Some(now + self.skew_time());
            return;
        }
        let ours = self.effective_priority;
        let delaying =
            !self.cfg.preempt_delay.is_zero() && self.preempt_deadline.is_none_or(|t| t > now);
        if !self.cfg.preempt || a.priority >= ours || delaying {
            self.adopt_interval(a, out);
            self.down_deadline = Some(self.down_from(now));
            self.master = Some((src, a.priority));
            if !self.cfg.preempt_delay.is_zero() {
                if a.priority >= ours {
                    if self.preempt_deadline.take().is_some() {
                        self.log(out, LogLevel::Debug, format_args!("stop preempt delay"));
                    }
                } else if self.preempt_deadline.is_none() {
                    let d = self.cfg.preempt_delay;
                    self.log(
                        out,
                        LogLevel::Debug,
                        format_args!(
                            "start preempt delay ({}.{:06})",
                            d.as_secs(),
                            d.subsec_micros()
                        ),
                    );
                    self.preempt_deadline = Some(now + d);
                }
            }
            self.wants_master = false;
        } else {
            // Preempting: let the down timer run out.
            self.log(
                out,
                LogLevel::Info,
                format_args!(
                    "received lower priority ({}) advert from {} - discarding",
                    a.priority, src
                ),
            );
            self.master = Some((src, a.priority));
        }
    }

    /// RFC 6.4.3 (Master), with keepalived's split-brain hygiene.
    fn master_rx(&mut self, a: &Advert, src: IpAddr, now: Instant, out: &mut Vec<Action>) {
        let mut ours = self.effective_priority;
        let higher_addr = src > self.cfg.src_addr;
        if a.priority == 0
            || (self.cfg.higher_prio_send_advert
                && (a.priority > ours || (a.priority == ours && higher_addr)))
        {
            self.send_advert(ours, out);
            self.advert_deadline = Some(now + self.cfg.advert_int);
            if a.priority == 0 {
                self.log(
                    out,
                    LogLevel::Debug,
                    format_args!("Master received priority 0 message"),
                );
                return;
            }
        }
        if a.priority == ours && ours == crate::config::PRIO_OWNER {
            self.log(
                out,
                LogLevel::Info,
                format_args!(
                    "CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority"
                ),
            );
            self.base_priority = crate::config::PRIO_OWNER - 1;
            self.effective_priority = crate::config::PRIO_OWNER - 1;
            ours = self.effective_priority;
        }
        if a.priority < ours || (a.priority == ours && !higher_addr) {
            // keepalived takes the lower priority's AH sequence number, so
            // its adverts are newer than what that router has seen.
            if let Some(seq) = self.rx_ah_seq {
                self.log(
                    out,
                    LogLevel::Info,
                    format_args!("IPSEC-AH : Syncing seq_num - Increment seq"),
                );
                self.ah_seq = seq.wrapping_add(1);
                self.ah_cycle = false;
            }
            // One answer per advert interval: a stranger flooding lower
            // priority adverts must not make us send one per packet (the
            // regular adverts go on meanwhile).
            if self
                .lower_prio_answered
                .is_some_and(|t| now < t + self.cfg.advert_int)
            {
                // (Not logged: a flood would turn into a log flood.)
                self.counters.lower_prio_unanswered += 1;
                return;
            }
            self.lower_prio_answered = Some(now);
            let no_advert = self.cfg.lower_prio_no_advert();
            self.log(
                out,
                LogLevel::Info,
                format_args!(
                    "Received advert from {} with lower priority {}, ours {}{}",
                    src,
                    a.priority,
                    ours,
                    if no_advert {
                        ""
                    } else {
                        ", forcing new election"
                    }
                ),
            );
            if !no_advert {
                self.send_advert(ours, out);
                self.advert_deadline = Some(now + self.cfg.advert_int);
            }
            self.lower_prio_garps(now, out);
            out.push(Action::MasterRxLowerPriority {
                from: src,
                priority: a.priority,
                ours,
            });
            return;
        }
        if a.priority > ours {
            self.log(
                out,
                LogLevel::Info,
                format_args!(
                    "Master received advert from {} with higher priority {}, ours {}",
                    src, a.priority, ours
                ),
            );
        } else {
            self.log(
                out,
                LogLevel::Info,
                format_args!(
                    "Master received advert from {} with same priority {} but higher IP address than ours",
                    src, a.priority
                ),
            );
        }
        self.adopt_interval(a, out);
        self.master = Some((src, a.priority));
        self.master_to_backup(now, out);
    }

    /// Re-announce the VIPs after hearing a lower priority master, so
    /// switches relearn our port after a partition heals.
    ///
    /// Unlike keepalived, which queues a new burst per advert, a burst is
    /// skipped while the previous one's delayed repeat is pending: a stream
    /// of lower priority adverts cannot turn into a GARP storm.
    pub(crate) fn lower_prio_garps(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Master || self.lower_prio_garp_deadline.is_some() {
            return;
        }
        let g = &self.cfg.garp;
        if g.lower_prio_repeat > 0 {
            self.garp
                .burst(&self.cfg.vips, g.lower_prio_repeat, now, out);
            if !g.lower_prio_delay.is_zero() {
                self.lower_prio_garp_deadline = Some(now + g.lower_prio_delay);
            }
        }
    }

    // ---- sync group hooks ---------------------------------------------

    pub(crate) fn started(&self) -> bool {
        self.started
    }

    pub(crate) fn sync_to_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.started && self.state != State::Master && !self.own_fault() {
            self.become_master(now, out);
        }
    }

    pub(crate) fn sync_to_backup(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Master => self.master_to_backup(now, out),
            State::Fault if self.started && !self.own_fault() => {
                self.log(out, LogLevel::Info, format_args!("Entering BACKUP STATE"));
                self.clear_timers();
                self.master_adver_int = self.cfg.advert_int;
                self.down_deadline = Some(self.down_from(now));
                self.set_state(State::Backup, out);
            }
            _ => {}
        }
    }

    pub(crate) fn sync_to_fault(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Master | State::Backup) {
            self.enter_fault(out);
        }
    }
}

/// keepalived's wording for structural drops.
fn decode_phrase(e: packet::DecodeError, data: &[u8], version: Version, v6: bool) -> String {
    use packet::DecodeError as E;
    match e {
        E::TooShort | E::TooLong => {
            let expect = data.get(3).map(|n| {
                let per = if v6 { 16 } else { 4 };
                packet::HEADER_LEN
                    + usize::from(*n) * per
                    + if data[0] >> 4 == 2 {
                        packet::AUTH_LEN
                    } else {
                        0
                    }
            });
            let word = if e == E::TooShort { "short" } else { "long" };
            match expect {
                Some(x) => format!(
                    "vrrp packet too {word}, length {} and expect {x}",
                    data.len()
                ),
                None => format!("vrrp packet too {word}, length {}", data.len()),
            }
        }
        E::BadVersion => format!(
            "wrong version. Received {} and expect {}",
            data[0] >> 4,
            version.number()
        ),
        E::BadType => format!(
            "Invalid packet type. {} and expect {}",
            data[0] & 0x0f,
            packet::TYPE_ADVERT
        ),
        E::BadChecksum => {
            format!(
                "Invalid VRRPv{} checksum",
                data.first().map_or(version.number(), |b| b >> 4)
            )
        }
        E::FamilyMismatch => "source and destination of different address families".into(),
        E::NotVrrp => "received a non-VRRP packet".into(),
        E::AhUnsupported => "Received AH header but auth type not AH".into(),
    }
}
