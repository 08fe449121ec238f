//! The engine: when checkers and track scripts run, and what their
//! attempts mean.
//!
//! It does no I/O itself: attempts go through an [`Io`] and scripts through
//! a [`ScriptRunner`], each naming its work by a key from `key_base` up.
//! The owner tells it of readiness ([`Engine::on_event`]) and of time
//! ([`Engine::on_timer`]), always with the instant (an injected clock: tests
//! run it in virtual time). Verdicts come out as [`Event`]s.

use crate::core::{CheckerCore, Flavor, ScriptTracker, Timing};
use crate::file;
use crate::io::{Attempt, Io};
use crate::probe::dns::DnsSpec;
use crate::probe::http::HttpSpec;
use crate::probe::stream::Endpoint;
use crate::probe::udp::UdpSpec;
use crate::probe::Step;
use crate::script::{ScriptCommand, ScriptExit, ScriptHandle, ScriptRunner};
use log::{info, warn};
use nix::sys::signal::Signal;
use rustls::ClientConfig;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An attempt lasts at most this many `connect_timeout`s in all, however
/// often the server sends a byte.
const ATTEMPT_TIMEOUTS: u32 = 4;

/// Grace between SIGTERM and SIGKILL for a script past its timeout.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// A registered real server, as [`Engine::add_real_server`] named it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RsId(pub usize);

/// What the engine reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A real server's aggregate state (up when every checker is up) or its
    /// dynamic weight changed; also sent once when it is added.
    RealServer {
        id: RsId,
        up: bool,
        /// The effective weight, when a dynamic checker (MISC_CHECK
        /// `misc_dynamic`, FILE_CHECK with a weight) sets one.
        weight: Option<i32>,
    },
    /// A track script's verdict after rise/fall.
    Script { name: String, ok: bool },
    /// Every checker of the real server has given its first verdict (after
    /// its retries): its state is measured, no longer the starting one
    /// (`alpha`). Once per server; one without checkers at once.
    Settled { id: RsId },
}

/// A real server and its checkers.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RealServerSpec {
    /// Label for the log, e.g. `[10.0.0.2]:tcp:80`.
    pub name: String,
    /// Configured weight (dynamic weights are relative to it).
    pub weight: i32,
    pub checks: Vec<CheckSpec>,
    /// The state to resume from after a restart (overrides alpha).
    pub resume_up: Option<bool>,
    /// The virtual server's `omega`: report it down at shutdown.
    pub omega: bool,
}

/// One checker of a real server.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckSpec {
    /// `log_all_failures` / `checker_log_all_failures`: a failure that
    /// changes nothing (a retry is left) is logged at info, not debug.
    #[serde(default)]
    pub log_all_failures: bool,
    pub timing: Timing,
    /// Start down until the first success.
    pub alpha: bool,
    pub kind: CheckKind,
}

/// The checker kinds and their targets (connect_ip/port already applied).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CheckKind {
    Tcp(Endpoint),
    /// HTTP_GET, or SSL_GET when `HttpSpec::tls` is set.
    Http(Endpoint, HttpSpec),
    Smtp(Endpoint, String),
    Dns(Endpoint, DnsSpec),
    Udp(Endpoint, UdpSpec),
    Ping(IpAddr),
    Misc(MiscSpec),
    File(FileSpec),
}

/// MISC_CHECK.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MiscSpec {
    pub command: ScriptCommand,
    /// `misc_timeout` (unset: delay_loop).
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit 2..255 is up with weight exit-2.
    pub dynamic: bool,
}

/// FILE_CHECK.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileSpec {
    pub path: PathBuf,
    pub weight: i32,
    pub reverse: bool,
}

/// A `vrrp_script`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScriptSpec {
    pub name: String,
    pub command: ScriptCommand,
    pub interval: Duration,
    /// Unset: the interval.
    pub timeout: Option<Duration>,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

enum Run {
    Idle,
    /// An attempt the [`Io`] runs under the slot's key.
    Probe {
        slot: usize,
        /// Inactivity deadline: `connect_timeout` after the last progress,
        /// but never past `limit`.
        deadline: Instant,
        /// The attempt's absolute end: a server trickling a byte now and
        /// then (slowloris) cannot hold a probe for ever.
        limit: Instant,
    },
    Script {
        h: ScriptHandle,
        slot: usize,
        deadline: Instant,
        /// SIGTERM sent / SIGKILL sent.
        killing: u8,
    },
}

struct Check {
    server: usize,
    /// `log_all_failures`.
    log_all: bool,
    core: CheckerCore,
    kind: CheckKind,
    tls: Option<Arc<ClientConfig>>,
    run: Run,
    /// Weight delta from a dynamic checker (keepalived's cur_weight).
    cur_weight: i64,
    last_exit: Option<i32>,
    /// When the attempt under way began (its duration is the check
    /// latency operators watch).
    started: Option<Instant>,
    /// The deadline this checker has in the timer heap, with the entry's
    /// generation; entries that do not match are stale.
    armed: Option<(Instant, u64)>,
}

struct Server {
    /// `ha_suspend` with the address absent: checks are skipped (no
    /// verdict, the state kept), as keepalived's disabled checkers.
    suspended: bool,
    spec_weight: i32,
    name: String,
    checks: Vec<usize>,
    dynamic: bool,
    omega: bool,
    reported: Option<(bool, Option<i32>)>,
    /// [`Event::Settled`] was sent.
    settled: bool,
}

struct Script {
    spec: ScriptSpec,
    tracker: ScriptTracker,
    next: Instant,
    run: Run,
    /// As [`Check::armed`].
    armed: Option<(Instant, u64)>,
}

/// Who a key or a timer belongs to. The order (checks by index, then
/// scripts) is the order due timers fire in within one [`Engine::on_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    Check(usize),
    Script(usize),
}

/// Checkers and track scripts.
pub struct Engine {
    key_base: usize,
    slots: Vec<Option<Owner>>,
    free: Vec<usize>,
    servers: Vec<Option<Server>>,
    checks: Vec<Option<Check>>,
    /// `None` once a reload removed it (indices stay stable: tokens and
    /// timer entries name scripts by index).
    scripts: Vec<Option<Script>>,
    io: Box<dyn Io>,
    /// Whether a FILE_CHECK asked `io` to watch (then `key_base` is its).
    watching: bool,
    runner: Box<dyn ScriptRunner>,
    events: Vec<Event>,
    rng: u64,
    /// Deadlines of checkers and scripts, earliest first. Invalidation is
    /// lazy: an entry counts only while its owner exists and its `armed`
    /// holds the entry's generation (each owner has at most one live
    /// entry); stale entries are dropped when they reach the top.
    timers: BinaryHeap<Reverse<(Instant, Owner, u64)>>,
    /// Generation of the last timer entry pushed.
    generation: u64,
    /// The FILE_CHECKs, for inotify events (removed ones are dropped).
    file_checks: Vec<usize>,
    /// Scratch for [`Engine::on_timer`].
    due: Vec<Owner>,
    /// How long each real server's last finished check attempt took, for
    /// the servers whose figure changed since [`Engine::drain_check_times`].
    check_times: std::collections::BTreeMap<usize, Duration>,
    /// Attempts that could not open their socket since the last warning,
    /// and when that warning was (one a minute under EMFILE, not one per
    /// check).
    not_started: u64,
    not_started_warned: Option<Instant>,
    /// Indices of removed servers, checks and scripts, reused by the next
    /// additions: a reload that churns real servers must not grow the
    /// tables (10,000 reloads grew checkerd by 55 MiB before). A reused
    /// index is safe: timer entries carry a generation the new owner does
    /// not hold, probe keys are slots released at removal, and a removed
    /// server's pending events and figures are dropped with it.
    free_servers: Vec<usize>,
    free_checks: Vec<usize>,
    free_scripts: Vec<usize>,
}

/// Between two warnings about checks that could not open a socket.
const NOT_STARTED_WARN_EVERY: Duration = Duration::from_secs(60);

impl Engine {
    /// Keys `key_base` (file watches) and above belong to the engine.
    pub fn new(key_base: usize, io: Box<dyn Io>, runner: Box<dyn ScriptRunner>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ ((std::process::id() as u64) << 32);
        Engine {
            key_base,
            slots: Vec::new(),
            free: Vec::new(),
            servers: Vec::new(),
            checks: Vec::new(),
            scripts: Vec::new(),
            io,
            watching: false,
            runner,
            events: Vec::new(),
            rng: seed | 1,
            timers: BinaryHeap::new(),
            generation: 0,
            file_checks: Vec::new(),
            due: Vec::new(),
            check_times: std::collections::BTreeMap::new(),
            not_started: 0,
            not_started_warned: None,
            free_servers: Vec::new(),
            free_checks: Vec::new(),
            free_scripts: Vec::new(),
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64: jitter only, no security role.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Add a real server; its first checks come after bootstrap + warmup.
    pub fn add_real_server(&mut self, spec: RealServerSpec, now: Instant) -> Result<RsId, String> {
        let id = self
            .free_servers
            .last()
            .copied()
            .unwrap_or(self.servers.len());
        let mut checks = Vec::new();
        let mut dynamic = false;
        for c in spec.checks {
            let flavor = match &c.kind {
                CheckKind::Tcp(_) | CheckKind::Smtp(..) => Flavor::Tcp,
                CheckKind::Udp(..) | CheckKind::Ping(_) | CheckKind::File(_) => Flavor::UpOnly,
                CheckKind::Dns(..) => Flavor::Dns,
                CheckKind::Misc(_) => Flavor::Misc,
                CheckKind::Http(_, h) => Flavor::Http {
                    urls: h.urls.len().max(1),
                    fast_recovery: h.fast_recovery,
                },
            };
            let tls = match &c.kind {
                CheckKind::Http(_, HttpSpec { tls: Some(t), .. }) => match t.client_config() {
                    Ok(c) => Some(c),
                    Err(e) => return Err(self.unwind(checks, e)),
                },
                _ => None,
            };
            let mut core = CheckerCore::new(c.timing, flavor, c.alpha);
            if let Some(up) = spec.resume_up {
                core.set_up(up);
            }
            let mut cur_weight = 0;
            match &c.kind {
                CheckKind::File(f) => {
                    // The state is known at once (keepalived clears alpha).
                    if let Err(e) = self.io.watch(&f.path) {
                        return Err(self.unwind(checks, e));
                    }
                    self.watching = true;
                    let st = file::status(file::read_value(&f.path), f.weight, f.reverse);
                    core = CheckerCore::new(c.timing, flavor, st.is_none());
                    core.mark_settled();
                    cur_weight = st.unwrap_or(0);
                    dynamic |= f.weight != 0;
                }
                CheckKind::Misc(m) => {
                    dynamic |= m.dynamic;
                    core.start(now, self.random() as f64 / u64::MAX as f64);
                }
                _ => core.start(now, self.random() as f64 / u64::MAX as f64),
            }
            let ci = self.free_checks.pop().unwrap_or(self.checks.len());
            if matches!(c.kind, CheckKind::File(_)) {
                self.file_checks.push(ci);
            }
            checks.push(ci);
            let check = Some(Check {
                server: id,
                log_all: c.log_all_failures,
                core,
                kind: c.kind,
                tls,
                run: Run::Idle,
                cur_weight,
                last_exit: None,
                started: None,
                armed: None,
            });
            if ci == self.checks.len() {
                self.checks.push(check);
            } else {
                self.checks[ci] = check;
            }
        }
        for &ci in &checks {
            self.sync(Owner::Check(ci));
        }
        self.prune();
        let server = Some(Server {
            suspended: false,
            spec_weight: spec.weight,
            name: spec.name,
            checks,
            dynamic,
            omega: spec.omega,
            reported: None,
            settled: false,
        });
        if id == self.servers.len() {
            self.servers.push(server);
        } else {
            self.free_servers.pop();
            self.servers[id] = server;
        }
        self.report(id);
        Ok(RsId(id))
    }

    /// A real server that could not be added: the checks made for it so
    /// far are taken back (none is scheduled yet). Returns `e`.
    fn unwind(&mut self, checks: Vec<usize>, e: String) -> String {
        for ci in checks {
            self.checks[ci] = None;
            self.free_checks.push(ci);
        }
        let all = &self.checks;
        self.file_checks.retain(|&ci| all[ci].is_some());
        e
    }

    /// Stop checking a real server (reload removed it).
    pub fn remove_real_server(&mut self, id: RsId) {
        let Some(srv) = self.servers.get_mut(id.0).and_then(Option::take) else {
            return;
        };
        let mut had_file = false;
        for ci in srv.checks {
            if let Some(mut c) = self.checks[ci].take() {
                had_file |= matches!(c.kind, CheckKind::File(_));
                self.stop_run(&mut c.run);
                self.free_checks.push(ci);
            }
        }
        self.free_servers.push(id.0);
        self.check_times.remove(&id.0);
        self.events
            .retain(|e| !matches!(e, Event::RealServer { id: i, .. } if *i == id));
        if had_file {
            let checks = &self.checks;
            self.file_checks.retain(|&ci| checks[ci].is_some());
        }
        // Their heap entries are stale now (the checks are gone).
        self.prune();
    }

    /// Add a track script; its first run is due at once.
    pub fn add_script(&mut self, spec: ScriptSpec, now: Instant) {
        let tracker = ScriptTracker::new(spec.rise, spec.fall, spec.init_fail);
        let script = Some(Script {
            spec,
            tracker,
            next: now,
            run: Run::Idle,
            armed: None,
        });
        let si = match self.free_scripts.pop() {
            Some(si) => {
                self.scripts[si] = script;
                si
            }
            None => {
                self.scripts.push(script);
                self.scripts.len() - 1
            }
        };
        self.sync(Owner::Script(si));
        self.prune();
    }

    /// A reload: scripts whose spec did not change keep their rise/fall
    /// history, schedule and any run in progress; the others are stopped
    /// and the new ones start (their first run due at once). Returns how
    /// many were kept.
    pub fn reconcile_scripts(&mut self, mut specs: Vec<ScriptSpec>, now: Instant) -> usize {
        let mut kept = 0;
        for si in 0..self.scripts.len() {
            let Some(s) = self.scripts[si].as_ref() else {
                continue;
            };
            if let Some(i) = specs.iter().position(|n| *n == s.spec) {
                specs.remove(i);
                kept += 1;
                continue;
            }
            if let Some(mut gone) = self.scripts[si].take() {
                self.stop_run(&mut gone.run);
                self.free_scripts.push(si);
            }
        }
        for spec in specs {
            self.add_script(spec, now);
        }
        self.prune();
        kept
    }

    /// Whether a real server is up now.
    pub fn real_server_up(&self, id: RsId) -> Option<bool> {
        let s = self.servers.get(id.0)?.as_ref()?;
        Some(
            s.checks
                .iter()
                .all(|&c| self.checks[c].as_ref().is_none_or(|c| c.core.is_up())),
        )
    }

    /// Take the events produced so far.
    /// The latest check duration of each real server whose figure changed
    /// since the last call (FILE_CHECKs, driven by inotify, have none).
    pub fn drain_check_times(&mut self) -> Vec<(RsId, Duration)> {
        let servers = &self.servers;
        std::mem::take(&mut self.check_times)
            .into_iter()
            .filter(|(s, _)| servers.get(*s).is_some_and(Option::is_some))
            .map(|(s, d)| (RsId(s), d))
            .collect()
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Earliest instant the engine must be called at.
    pub fn next_deadline(&self) -> Option<Instant> {
        // Every public method that changes deadlines ends with `prune`, so
        // the top entry is live.
        self.timers.peek().map(|Reverse((t, ..))| *t)
    }

    /// Stop everything; servers of virtual servers with `omega` are
    /// reported down.
    pub fn shutdown(&mut self) {
        for i in 0..self.checks.len() {
            if let Some(mut c) = self.checks[i].take() {
                self.stop_run(&mut c.run);
            }
        }
        for s in self.scripts.iter_mut().flatten() {
            if let Run::Script { h, .. } = s.run {
                self.runner.signal(h, Signal::SIGKILL);
            }
            s.run = Run::Idle;
        }
        for si in 0..self.scripts.len() {
            self.sync(Owner::Script(si));
        }
        self.prune();
        for (id, s) in self.servers.iter().enumerate() {
            if let Some(s) = s {
                if s.omega && s.reported.is_some_and(|r| r.0) {
                    self.events.push(Event::RealServer {
                        id: RsId(id),
                        up: false,
                        weight: None,
                    });
                }
            }
        }
    }

    /// Readiness under one of the engine's keys.
    pub fn on_event(&mut self, key: usize, now: Instant) {
        if key == self.key_base {
            if self.watching {
                self.file_changed();
            }
            return;
        }
        let Some(slot) = key.checked_sub(self.key_base + 1) else {
            return;
        };
        let Some(owner) = self.slots.get(slot).copied().flatten() else {
            return;
        };
        match owner {
            Owner::Check(ci) => self.drive_check(ci, now),
            Owner::Script(si) => self.drive_script(si, now),
        }
        self.sync(owner);
        self.prune();
    }

    /// Fire what is due at `now`: only the checkers and scripts whose
    /// deadline has come are touched.
    pub fn on_timer(&mut self, now: Instant) {
        // Collect first: what a firing re-arms at `now` or earlier waits for
        // the next call, as when every checker was visited once per call.
        let mut due = std::mem::take(&mut self.due);
        while let Some(&Reverse((t, owner, gen))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if let Some(armed) = self.armed_mut(owner) {
                if armed.is_some_and(|(_, g)| g == gen) {
                    *armed = None;
                    due.push(owner);
                }
            }
        }
        // Checks by index, then scripts: the order of the former full scan.
        due.sort_unstable();
        for &owner in &due {
            match owner {
                Owner::Check(ci) => self.fire_check(ci, now),
                Owner::Script(si) => self.fire_script(si, now),
            }
            self.sync(owner);
        }
        due.clear();
        self.due = due;
        self.prune();
    }

    /// Suspend (`ha_suspend`, the address gone) or resume a real server's
    /// checks; whether that changed anything.
    pub fn set_suspended(&mut self, id: RsId, on: bool) -> bool {
        match self.servers.get_mut(id.0).and_then(Option::as_mut) {
            Some(s) if s.suspended != on => {
                s.suspended = on;
                true
            }
            _ => false,
        }
    }

    fn fire_check(&mut self, ci: usize, now: Instant) {
        let Some(c) = self.checks[ci].as_mut() else {
            return;
        };
        // A suspended server's check waits another delay_loop.
        if matches!(c.run, Run::Idle)
            && self
                .servers
                .get(c.server)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.suspended)
        {
            c.core.reschedule(now);
            return;
        }
        match &c.run {
            Run::Idle => {
                if let Some(url) = c.core.begin(now) {
                    self.begin_check(ci, url, now);
                }
            }
            Run::Probe { deadline, .. } if *deadline <= now => {
                let Run::Probe { slot, .. } = std::mem::replace(&mut c.run, Run::Idle) else {
                    unreachable!()
                };
                let key = self.key(slot);
                let step = self.io.timed_out(key);
                self.io.stop(key);
                self.release(slot);
                match step {
                    Step::Done { ok, why } => self.finish_check(ci, ok, &why, None, now),
                    Step::Local { why } => self.no_verdict(ci, &why, now),
                    Step::Pending { .. } => self.finish_check(ci, false, "timeout", None, now),
                }
            }
            Run::Script { .. } => self.drive_check(ci, now),
            Run::Probe { .. } => {}
        }
    }

    fn fire_script(&mut self, si: usize, now: Instant) {
        let Some(s) = self.scripts[si].as_mut() else {
            return;
        };
        match s.run {
            Run::Idle if s.next <= now => self.begin_script(si, now),
            Run::Script { .. } => self.drive_script(si, now),
            _ => {}
        }
    }

    /// The owner's heap slot, `None` once a checker is removed.
    fn armed_mut(&mut self, owner: Owner) -> Option<&mut Option<(Instant, u64)>> {
        match owner {
            Owner::Check(ci) => self.checks.get_mut(ci)?.as_mut().map(|c| &mut c.armed),
            Owner::Script(si) => self.scripts.get_mut(si)?.as_mut().map(|s| &mut s.armed),
        }
    }

    fn is_live(&self, owner: Owner, gen: u64) -> bool {
        let armed = match owner {
            Owner::Check(ci) => self
                .checks
                .get(ci)
                .and_then(|c| c.as_ref())
                .map(|c| c.armed),
            Owner::Script(si) => self
                .scripts
                .get(si)
                .and_then(|s| s.as_ref())
                .map(|s| s.armed),
        };
        armed.flatten().is_some_and(|(_, g)| g == gen)
    }

    /// Bring the owner's heap entry in line with its state: its running
    /// attempt's deadline, else its next attempt (a script's next run).
    /// Call after anything that may have changed either.
    fn sync(&mut self, owner: Owner) {
        let (want, armed) = match owner {
            Owner::Check(ci) => {
                let Some(c) = self.checks[ci].as_mut() else {
                    return;
                };
                (run_deadline(&c.run).or(c.core.next_attempt()), &mut c.armed)
            }
            Owner::Script(si) => {
                let Some(s) = self.scripts[si].as_mut() else {
                    return;
                };
                (Some(run_deadline(&s.run).unwrap_or(s.next)), &mut s.armed)
            }
        };
        if armed.map(|(t, _)| t) == want {
            return;
        }
        match want {
            Some(t) => {
                self.generation += 1;
                *armed = Some((t, self.generation));
                self.timers.push(Reverse((t, owner, self.generation)));
            }
            None => *armed = None,
        }
    }

    /// Drop stale entries from the top (so [`Engine::next_deadline`] can
    /// peek), and rebuild the heap when mostly stale: each owner has at most
    /// one live entry, so a heap over twice their number is half garbage.
    fn prune(&mut self) {
        while let Some(&Reverse((_, owner, gen))) = self.timers.peek() {
            if self.is_live(owner, gen) {
                break;
            }
            self.timers.pop();
        }
        let owners = self.checks.len() + self.scripts.len();
        if self.timers.len() > 2 * owners + 64 {
            let mut timers = std::mem::take(&mut self.timers).into_vec();
            timers.retain(|Reverse((_, owner, gen))| self.is_live(*owner, *gen));
            self.timers = BinaryHeap::from(timers);
        }
    }

    fn alloc(&mut self, owner: Owner) -> usize {
        match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(owner);
                s
            }
            None => {
                self.slots.push(Some(owner));
                self.slots.len() - 1
            }
        }
    }

    fn release(&mut self, slot: usize) {
        self.slots[slot] = None;
        self.free.push(slot);
    }

    fn key(&self, slot: usize) -> usize {
        self.key_base + 1 + slot
    }

    fn stop_run(&mut self, run: &mut Run) {
        match std::mem::replace(run, Run::Idle) {
            Run::Probe { slot, .. } => {
                self.io.stop(self.key(slot));
                self.release(slot);
            }
            Run::Script { h, slot, .. } => {
                self.runner.signal(h, Signal::SIGKILL);
                self.release(slot);
            }
            Run::Idle => {}
        }
    }

    fn begin_check(&mut self, ci: usize, url: usize, now: Instant) {
        let c = self.checks[ci].as_ref().expect("check");
        if matches!(c.kind, CheckKind::File(_)) {
            // Driven by inotify, never scheduled.
            return;
        }
        let slot = self.alloc(Owner::Check(ci));
        let key = self.key(slot);
        self.checks[ci].as_mut().expect("check").started = Some(now);
        if let CheckKind::Misc(m) = &self.checks[ci].as_ref().expect("check").kind {
            let c = self.checks[ci].as_ref().expect("check");
            let timeout = m.timeout.unwrap_or(c.core.timing().delay_loop);
            match self.runner.spawn(&m.command, key) {
                Ok(h) => {
                    self.checks[ci].as_mut().expect("check").run = Run::Script {
                        h,
                        slot,
                        deadline: now + timeout,
                        killing: 0,
                    };
                }
                Err(e) => {
                    self.release(slot);
                    self.finish_check(ci, false, &format!("cannot run: {e}"), None, now);
                }
            }
            return;
        }
        let c = self.checks[ci].as_mut().expect("check");
        let t = c.core.timing().connect_timeout;
        self.io.start(
            key,
            Attempt {
                kind: &c.kind,
                url,
                tls: c.tls.as_ref(),
            },
        );
        c.run = Run::Probe {
            slot,
            deadline: now + t,
            limit: now + t * ATTEMPT_TIMEOUTS,
        };
        self.drive_check(ci, now);
    }

    fn drive_check(&mut self, ci: usize, now: Instant) {
        let Some(c) = self.checks[ci].as_mut() else {
            return;
        };
        let t = c.core.timing().connect_timeout;
        match &mut c.run {
            Run::Probe {
                slot,
                deadline,
                limit,
            } => match self.io.ready(self.key_base + 1 + *slot) {
                Step::Pending { progress } => {
                    if progress {
                        *deadline = (now + t).min(*limit);
                    }
                }
                Step::Done { ok, why } => {
                    let slot = *slot;
                    self.io.stop(self.key_base + 1 + slot);
                    c.run = Run::Idle;
                    self.release(slot);
                    self.finish_check(ci, ok, &why, None, now);
                }
                Step::Local { why } => {
                    let slot = *slot;
                    self.io.stop(self.key_base + 1 + slot);
                    c.run = Run::Idle;
                    self.release(slot);
                    self.no_verdict(ci, &why, now);
                }
            },
            Run::Script {
                h,
                slot,
                deadline,
                killing,
            } => {
                let (h, slot) = (*h, *slot);
                if let Some(exit) = self.runner.try_wait(h) {
                    let killed = *killing > 0;
                    let (ok, why) = misc_verdict(exit, &c.kind, killed);
                    c.run = Run::Idle;
                    self.release(slot);
                    let code = match exit {
                        ScriptExit::Exited(code) => Some(code),
                        _ => None,
                    };
                    self.finish_check(ci, ok, &why, code, now);
                } else if *deadline <= now {
                    escalate(&mut *self.runner, h, deadline, killing, now);
                }
            }
            Run::Idle => {}
        }
    }

    fn finish_check(&mut self, ci: usize, ok: bool, why: &str, exit: Option<i32>, now: Instant) {
        let Some(c) = self.checks[ci].as_mut() else {
            return;
        };
        let server = c.server;
        if let Some(t) = c.started.take() {
            self.check_times
                .insert(server, now.saturating_duration_since(t));
        }
        let spec_weight = self.servers[server].as_ref().map_or(0, |s| s.spec_weight);
        if ok {
            if let (CheckKind::Misc(m), Some(code)) = (&c.kind, exit) {
                if m.dynamic && c.last_exit != Some(code) {
                    c.cur_weight = if code == 0 {
                        0
                    } else {
                        (code - 2 - spec_weight) as i64
                    };
                    c.last_exit = Some(code);
                }
            }
        }
        let was = c.core.is_up();
        let (log_all, tcp) = (c.log_all, matches!(c.kind, CheckKind::Tcp(_)));
        let changed = c.core.on_result(ok, now);
        if changed == Some(false) {
            c.cur_weight = 0;
            c.last_exit = exit;
        }
        let name = self.servers[server]
            .as_ref()
            .map_or("", |s| s.name.as_str());
        match changed {
            Some(true) => info!("Check on {name} succeeded"),
            Some(false) => info!("Check on {name} failed: {why}"),
            // keepalived's TCP_CHECK phrases; the other kinds say why.
            None if !ok && was && log_all && tcp => {
                let what = if why == "timeout" {
                    "timeout"
                } else {
                    "failed"
                };
                info!("TCP connection to {name} {what}.")
            }
            None if !ok && was && log_all => info!("Check on {name} failed, will retry: {why}"),
            None if !ok && was => log::debug!("Check on {name} failed, will retry: {why}"),
            None => {}
        }
        self.report(server);
    }

    /// The attempt could not open its socket ([`Step::Local`]): nothing is
    /// said about the real server; the check runs again after `delay_loop`
    /// (keepalived: "TCP connect fail to create socket. Rescheduling.").
    fn no_verdict(&mut self, ci: usize, why: &str, now: Instant) {
        let Some(c) = self.checks[ci].as_mut() else {
            return;
        };
        c.started = None;
        c.core.reschedule(now);
        let server = c.server;
        self.not_started += 1;
        let due = self
            .not_started_warned
            .is_none_or(|t| now.saturating_duration_since(t) >= NOT_STARTED_WARN_EVERY);
        if due {
            let name = self.servers[server]
                .as_ref()
                .map_or("", |s| s.name.as_str());
            let others = self.not_started - 1;
            warn!(
                "Check on {name} could not begin ({why}); rescheduled without a verdict{}",
                if others > 0 {
                    format!(" ({others} more such attempts since the last warning)")
                } else {
                    String::new()
                }
            );
            self.not_started = 0;
            self.not_started_warned = Some(now);
        }
    }

    fn begin_script(&mut self, si: usize, now: Instant) {
        let slot = self.alloc(Owner::Script(si));
        let key = self.key(slot);
        let s = self.scripts[si].as_mut().expect("live script");
        // Runs are spaced by the interval from their start, as keepalived.
        s.next = now + s.spec.interval;
        let timeout = s.spec.timeout.unwrap_or(s.spec.interval);
        match self.runner.spawn(&s.spec.command, key) {
            Ok(h) => {
                s.run = Run::Script {
                    h,
                    slot,
                    deadline: now + timeout,
                    killing: 0,
                }
            }
            Err(e) => {
                warn!("Cannot run track script {}: {e}", s.spec.name);
                self.release(slot);
                self.script_result(si, false);
            }
        }
    }

    fn drive_script(&mut self, si: usize, now: Instant) {
        let Some(s) = self.scripts[si].as_mut() else {
            return;
        };
        let Run::Script {
            h,
            slot,
            deadline,
            killing,
        } = &mut s.run
        else {
            return;
        };
        let (h, slot) = (*h, *slot);
        if let Some(exit) = self.runner.try_wait(h) {
            s.run = Run::Idle;
            self.release(slot);
            let ok = exit == ScriptExit::Exited(0);
            self.script_result(si, ok);
        } else if *deadline <= now {
            if *killing == 0 {
                info!("Track script {} timed out", s.spec.name);
            }
            escalate(&mut *self.runner, h, deadline, killing, now);
        }
    }

    fn script_result(&mut self, si: usize, ok: bool) {
        let Some(s) = self.scripts[si].as_mut() else {
            return;
        };
        if let Some(v) = s.tracker.on_exit(ok) {
            info!(
                "VRRP_Script({}) {}",
                s.spec.name,
                if v { "succeeded" } else { "failed" }
            );
            self.events.push(Event::Script {
                name: s.spec.name.clone(),
                ok: v,
            });
        }
    }

    /// Some watched directory changed: re-read every tracked file (cheap,
    /// and immune to renames racing the event).
    fn file_changed(&mut self) {
        self.io.drain_watch();
        let mut touched = Vec::new();
        for &ci in &self.file_checks {
            let Some(c) = self.checks[ci].as_mut() else {
                continue;
            };
            let CheckKind::File(f) = &c.kind else {
                continue;
            };
            let st = file::status(file::read_value(&f.path), f.weight, f.reverse);
            let up = st.is_some();
            let w = st.unwrap_or(0);
            if up != c.core.is_up() || w != c.cur_weight {
                c.core.set_up(up);
                c.cur_weight = w;
                touched.push(c.server);
            }
        }
        for s in touched {
            self.report(s);
        }
    }

    /// Emit the server's aggregate state if it changed since last told.
    fn report(&mut self, id: usize) {
        let Some(s) = self.servers[id].as_ref() else {
            return;
        };
        let mut up = true;
        let mut delta = 0i64;
        for &ci in &s.checks {
            if let Some(c) = &self.checks[ci] {
                up &= c.core.is_up();
                delta += c.cur_weight;
            }
        }
        let weight = s
            .dynamic
            .then(|| (s.spec_weight as i64 + delta).clamp(0, i32::MAX as i64) as i32);
        let all_run = s
            .checks
            .iter()
            .all(|&ci| self.checks[ci].as_ref().is_none_or(|c| c.core.settled()));
        let now = (up, weight);
        let s = self.servers[id].as_mut().expect("server");
        if s.reported != Some(now) {
            s.reported = Some(now);
            self.events.push(Event::RealServer {
                id: RsId(id),
                up,
                weight,
            });
        }
        if all_run && !s.settled {
            s.settled = true;
            self.events.push(Event::Settled { id: RsId(id) });
        }
    }

    /// Whether every checker of the real server has given a verdict.
    pub fn settled(&self, id: RsId) -> bool {
        self.servers
            .get(id.0)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.settled)
    }

    /// The real server's state last reported (up, dynamic weight).
    pub fn reported(&self, id: RsId) -> Option<(bool, Option<i32>)> {
        self.servers.get(id.0).and_then(Option::as_ref)?.reported
    }
}

/// The deadline of a running attempt.
fn run_deadline(r: &Run) -> Option<Instant> {
    match r {
        Run::Probe { deadline, .. } | Run::Script { deadline, .. } => Some(*deadline),
        Run::Idle => None,
    }
}

/// TERM the process group at the timeout, KILL after a grace, then keep
/// polling.
fn escalate(
    runner: &mut dyn ScriptRunner,
    h: ScriptHandle,
    deadline: &mut Instant,
    killing: &mut u8,
    now: Instant,
) {
    let sig = if *killing == 0 {
        Signal::SIGTERM
    } else {
        Signal::SIGKILL
    };
    runner.signal(h, sig);
    *killing = killing.saturating_add(1);
    *deadline = now + KILL_GRACE;
}

fn misc_verdict(exit: ScriptExit, kind: &CheckKind, killed: bool) -> (bool, String) {
    let dynamic = matches!(kind, CheckKind::Misc(m) if m.dynamic);
    match exit {
        ScriptExit::Exited(0) => (true, String::new()),
        ScriptExit::Exited(c) if dynamic && (2..=255).contains(&c) => (true, String::new()),
        ScriptExit::Exited(c) => (false, format!("exited with status {c}")),
        ScriptExit::Signaled(_) if killed => (false, "timed out".into()),
        ScriptExit::Signaled(s) => (false, format!("due to signal {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::io;
    use std::rc::Rc;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A runner without processes: runs exit 0 as soon as they are waited
    /// for, but for names starting with `hang`, which end only once
    /// signalled.
    #[derive(Default)]
    struct Fake {
        spawns: Vec<(String, usize)>,
        running: HashMap<ScriptHandle, (String, Option<Signal>)>,
        signals: Vec<(String, Signal)>,
        /// Names whose runs exit 1.
        failing: Vec<String>,
        next: ScriptHandle,
    }

    struct Runner(Rc<RefCell<Fake>>);

    thread_local! {
        /// Test script names, by the id standing for each.
        static NAMES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    /// The script id standing for `name` in these tests.
    fn script(name: &str) -> ScriptCommand {
        let id = NAMES.with(|n| {
            let mut n = n.borrow_mut();
            let i = n.iter().position(|x| x == name).unwrap_or_else(|| {
                n.push(name.to_string());
                n.len() - 1
            });
            crate::script::ScriptId(i as u32)
        });
        ScriptCommand::local(id)
    }

    fn name_of(cmd: &ScriptCommand) -> String {
        NAMES.with(|n| n.borrow()[cmd.call.script.0 as usize].clone())
    }

    impl ScriptRunner for Runner {
        fn spawn(&mut self, cmd: &ScriptCommand, token: usize) -> io::Result<u64> {
            let mut f = self.0.borrow_mut();
            f.next += 1;
            let h = f.next;
            f.spawns.push((name_of(cmd), token));
            f.running.insert(h, (name_of(cmd), None));
            Ok(h)
        }
        fn try_wait(&mut self, h: ScriptHandle) -> Option<ScriptExit> {
            let mut f = self.0.borrow_mut();
            let (name, sig) = f.running.get(&h)?.clone();
            let exit = match sig {
                Some(s) => ScriptExit::Signaled(s as i32),
                None if name.starts_with("hang") => return None,
                None if f.failing.contains(&name) => ScriptExit::Exited(1),
                None => ScriptExit::Exited(0),
            };
            f.running.remove(&h);
            Some(exit)
        }
        fn signal(&mut self, h: ScriptHandle, sig: Signal) {
            let mut f = self.0.borrow_mut();
            if let Some((name, s)) = f.running.get_mut(&h) {
                *s = Some(sig);
                let name = name.clone();
                f.signals.push((name, sig));
            }
        }
    }

    /// Scripts only: no attempt ever starts.
    struct NoIo;

    impl Io for NoIo {
        fn start(&mut self, _: usize, _: Attempt<'_>) {
            unreachable!("no socket checkers here")
        }
        fn ready(&mut self, _: usize) -> Step {
            unreachable!()
        }
        fn timed_out(&mut self, _: usize) -> Step {
            unreachable!()
        }
        fn stop(&mut self, _: usize) {}
        fn watch(&mut self, _: &std::path::Path) -> Result<(), String> {
            Ok(())
        }
        fn drain_watch(&mut self) {}
    }

    impl Engine {
        /// The former full scan, as the reference for the heap.
        fn scan_deadline(&self) -> Option<Instant> {
            let checks = self
                .checks
                .iter()
                .flatten()
                .filter_map(|c| run_deadline(&c.run).or(c.core.next_attempt()));
            let scripts = self
                .scripts
                .iter()
                .flatten()
                .map(|s| run_deadline(&s.run).unwrap_or(s.next));
            checks.chain(scripts).min()
        }
    }

    fn misc(name: &str, bootstrap: u64, delay_loop: u64, timeout: u64) -> RealServerSpec {
        RealServerSpec {
            name: name.into(),
            weight: 1,
            checks: vec![CheckSpec {
                log_all_failures: false,
                timing: Timing {
                    delay_loop: ms(delay_loop),
                    connect_timeout: ms(1),
                    retry: 0,
                    delay_before_retry: ms(1),
                    warmup: Duration::ZERO,
                    bootstrap: ms(bootstrap),
                },
                alpha: false,
                kind: CheckKind::Misc(MiscSpec {
                    command: script(name),
                    timeout: Some(ms(timeout)),
                    dynamic: false,
                }),
            }],
            ..Default::default()
        }
    }

    /// Things stamped in ms since t0.
    type Timeline<T> = Vec<(u64, T)>;

    /// Virtual-time loop: jump to each deadline (checked against the full
    /// scan), fire, then deliver readiness for every run just started.
    /// Returns (ms since t0, name) of each start and the events.
    fn drive(
        e: &mut Engine,
        fake: &Rc<RefCell<Fake>>,
        t0: Instant,
        until: u64,
    ) -> (Timeline<String>, Timeline<Event>) {
        let (mut starts, mut events) = (Vec::new(), Vec::new());
        while let Some(t) = e.next_deadline() {
            assert_eq!(Some(t), e.scan_deadline(), "heap disagrees with a scan");
            if t > t0 + ms(until) {
                break;
            }
            let seen = fake.borrow().spawns.len();
            e.on_timer(t);
            let new: Vec<_> = fake.borrow().spawns[seen..].to_vec();
            let at = (t - t0).as_millis() as u64;
            for (name, token) in new {
                starts.push((at, name));
                e.on_event(token, t);
                assert_eq!(e.next_deadline(), e.scan_deadline());
            }
            // (A server's first verdict, `Settled`, is not what these
            // tests follow: state changes and when runs start.)
            events.extend(
                e.drain_events()
                    .into_iter()
                    .filter(|ev| !matches!(ev, Event::Settled { .. }))
                    .map(|ev| (at, ev)),
            );
        }
        (starts, events)
    }

    #[test]
    fn many_checkers_fire_when_due_in_order_and_removed_ones_never() {
        const N: u64 = 300;
        let fake = Rc::new(RefCell::new(Fake::default()));
        let mut e = Engine::new(16, Box::new(NoIo), Box::new(Runner(fake.clone())));
        let t0 = Instant::now();
        // Server i: first run at a scattered offset, its own loop.
        let first = |i: u64| (i * 7919) % N + 1;
        let every = |i: u64| 700 + (i * 31) % 500;
        for i in 0..N {
            e.add_real_server(misc(&format!("s{i}"), first(i), every(i), 50), t0)
                .unwrap();
        }
        assert_eq!(e.drain_events().len(), N as usize);
        // Removed before their first run, and after a few runs.
        for i in (0..N).step_by(10) {
            e.remove_real_server(RsId(i as usize));
        }
        let (mut starts, events) = drive(&mut e, &fake, t0, 2500);
        for i in (1..N).step_by(10) {
            e.remove_real_server(RsId(i as usize));
        }
        let (later, more) = drive(&mut e, &fake, t0, 6000);
        assert!(events.is_empty() && more.is_empty(), "all runs pass");
        assert!(later.iter().all(|(t, _)| *t > 2500));
        starts.extend(later);

        // Within one instant the order is by server; instants only grow.
        for w in starts.windows(2) {
            let idx = |s: &str| s[1..].parse::<u64>().unwrap();
            assert!(w[0].0 < w[1].0 || (w[0].0 == w[1].0 && idx(&w[0].1) < idx(&w[1].1)));
        }
        for i in 0..N {
            let name = format!("s{i}");
            let got: Vec<u64> = starts
                .iter()
                .filter(|(_, n)| *n == name)
                .map(|(t, _)| *t)
                .collect();
            let end = match i % 10 {
                0 => 0,
                1 => 2500,
                _ => 6000,
            };
            // MISC runs are spaced by the loop from their start.
            let want: Vec<u64> = (0..)
                .map(|k| first(i) + k * every(i))
                .take_while(|t| *t <= end)
                .collect();
            assert_eq!(got, want, "runs of {name}");
        }
        // Every server still there has a live entry; the removed ones none.
        assert!(e.timers.len() <= 2 * (N as usize) + 64);
        e.shutdown();
        assert_eq!(e.next_deadline(), None);
    }

    /// Reloads that churn real servers and track scripts reuse the removed
    /// ones' indices: the tables stay the size of the configuration (they
    /// grew by one entry per added server for ever), and a reused index
    /// inherits nothing: no pending event, no timer of the removed owner.
    #[test]
    fn churn_reuses_indices_and_inherits_nothing() {
        let fake = Rc::new(RefCell::new(Fake::default()));
        let mut e = Engine::new(16, Box::new(NoIo), Box::new(Runner(fake.clone())));
        let t0 = Instant::now();
        let keep = e.add_real_server(misc("keep", 10, 1000, 50), t0).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        let script = |n: u32| ScriptSpec {
            name: format!("chk{n}"),
            command: script(&format!("chk{n}")),
            interval: ms(1000),
            timeout: None,
            rise: 1,
            fall: 1,
            init_fail: false,
        };
        e.add_script(script(0), t0);
        for round in 0..1000u32 {
            let a = e.add_real_server(misc("a", 10, 1000, 50), t0).unwrap();
            let b = e.add_real_server(misc("b", 10, 1000, 50), t0).unwrap();
            ids.extend([a, b]);
            // The added server's first report is still pending: its removal
            // takes it away, so a later server reusing the id starts clean.
            e.remove_real_server(a);
            e.remove_real_server(b);
            e.reconcile_scripts(vec![script(round + 1)], t0);
        }
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(!ids.contains(&keep));
        assert!(
            e.servers.len() <= 3 && e.checks.len() <= 3,
            "{} {}",
            e.servers.len(),
            e.checks.len()
        );
        assert!(e.scripts.len() <= 2, "{}", e.scripts.len());
        let reported: Vec<RsId> = e
            .drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::RealServer { id, .. } => Some(id),
                Event::Script { .. } | Event::Settled { .. } => None,
            })
            .collect();
        assert_eq!(reported, vec![keep]);
        assert!(e.timers.len() <= 2 * 2 + 64);
        e.shutdown();
    }

    /// Each finished attempt's duration is kept for the parent (latest
    /// per server, handed over once); a check that hangs to its timeout
    /// takes the timeout.
    #[test]
    fn check_durations_are_measured_and_handed_over_once() {
        let fake = Rc::new(RefCell::new(Fake::default()));
        let mut e = Engine::new(16, Box::new(NoIo), Box::new(Runner(fake.clone())));
        let t0 = Instant::now();
        e.add_real_server(misc("quick", 10, 1000, 50), t0).unwrap();
        e.add_real_server(misc("hang", 10, 1000, 50), t0).unwrap();
        e.drain_events();
        assert!(e.drain_check_times().is_empty(), "nothing ran yet");
        drive(&mut e, &fake, t0, 2500);
        let times = e.drain_check_times();
        assert_eq!(times.len(), 2, "{times:?}");
        assert_eq!(times[0], (RsId(0), Duration::ZERO));
        // Started at 10, TERM at its 50 ms timeout, found dead at the next
        // deadline 2 s on.
        assert_eq!(times[1], (RsId(1), ms(2050)));
        assert!(e.drain_check_times().is_empty(), "handed over once");
        // A removed server's figure is not reported.
        drive(&mut e, &fake, t0, 3100);
        e.remove_real_server(RsId(1));
        let times = e.drain_check_times();
        assert_eq!(times, vec![(RsId(0), Duration::ZERO)]);
        e.shutdown();
    }

    #[test]
    fn script_timeout_escalates_at_its_deadlines_only() {
        let fake = Rc::new(RefCell::new(Fake::default()));
        let mut e = Engine::new(16, Box::new(NoIo), Box::new(Runner(fake.clone())));
        let t0 = Instant::now();
        e.add_real_server(misc("hang", 100, 10_000, 300), t0)
            .unwrap();
        // A busy neighbour: many wake-ups must not touch the hung run.
        e.add_real_server(misc("busy", 1, 10, 5), t0).unwrap();
        e.drain_events();
        let (starts, events) = drive(&mut e, &fake, t0, 5000);
        assert_eq!(starts.iter().filter(|s| s.1 == "hang").count(), 1);
        assert_eq!(starts.iter().filter(|s| s.1 == "busy").count(), 500);
        assert_eq!(
            fake.borrow().signals,
            vec![("hang".to_string(), Signal::SIGTERM)]
        );
        // TERM at 100 + 300; it is found dead at the next deadline, 2 s on.
        assert_eq!(
            events,
            vec![(
                2400,
                Event::RealServer {
                    id: RsId(0),
                    up: false,
                    weight: None
                }
            )]
        );
    }

    fn track_script(name: &str, fall: u32) -> ScriptSpec {
        ScriptSpec {
            name: name.into(),
            command: script(name),
            interval: ms(100),
            timeout: None,
            rise: 1,
            fall,
            init_fail: false,
        }
    }

    #[test]
    fn a_reload_keeps_an_unchanged_scripts_history() {
        let fake = Rc::new(RefCell::new(Fake::default()));
        let mut e = Engine::new(16, Box::new(NoIo), Box::new(Runner(fake.clone())));
        let t0 = Instant::now();
        e.add_script(track_script("chk", 3), t0);
        e.add_script(track_script("other", 3), t0);
        let up = |name: &str| Event::Script {
            name: name.into(),
            ok: true,
        };
        let (_, events) = drive(&mut e, &fake, t0, 250);
        assert_eq!(events, vec![(0, up("chk")), (0, up("other"))]);
        // The same chk, and `other` changed (fall 2): chk keeps its
        // schedule and history; `other` starts over (first run at once).
        let kept = e.reconcile_scripts(
            vec![track_script("chk", 3), track_script("other", 2)],
            t0 + ms(250),
        );
        assert_eq!(kept, 1);
        fake.borrow_mut().failing.push("chk".into());
        let (starts, events) = drive(&mut e, &fake, t0, 350);
        assert_eq!(
            starts,
            vec![
                (250, "other".to_string()),
                (300, "chk".to_string()),
                (350, "other".to_string())
            ]
        );
        // One failure after the reload: still up (fall 3 counts on).
        assert_eq!(events, vec![(250, up("other"))]);
        let (_, events) = drive(&mut e, &fake, t0, 550);
        assert_eq!(
            events,
            vec![(
                500,
                Event::Script {
                    name: "chk".into(),
                    ok: false
                }
            )]
        );
        // Removed: never runs again, and leaves no timer behind.
        assert_eq!(e.reconcile_scripts(vec![], t0 + ms(550)), 0);
        assert_eq!(e.next_deadline(), None);
    }
}
