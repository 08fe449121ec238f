//! The engine: checkers and track scripts on one mio loop.
//!
//! The owner polls; the engine registers its sources under tokens from
//! `token_base` up, and is told of readiness ([`Engine::on_event`]) and of
//! time ([`Engine::on_timer`]). Verdicts come out as [`Event`]s.

use crate::core::{CheckerCore, Flavor, ScriptTracker, Timing};
use crate::file;
use crate::probe::dns::{DnsProbe, DnsSpec};
use crate::probe::http::{HttpProbe, HttpSpec};
use crate::probe::ping::PingProbe;
use crate::probe::smtp::SmtpProbe;
use crate::probe::stream::Endpoint;
use crate::probe::tcp::TcpProbe;
use crate::probe::udp::{UdpProbe, UdpSpec};
use crate::probe::{Probe, Step};
use crate::script::{ScriptCommand, ScriptExit, ScriptHandle, ScriptRunner};
use log::{info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::signal::Signal;
use rustls::ClientConfig;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
}

/// A real server and its checkers.
#[derive(Clone, Debug, Default)]
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
#[derive(Clone, Debug)]
pub struct CheckSpec {
    pub timing: Timing,
    /// Start down until the first success.
    pub alpha: bool,
    pub kind: CheckKind,
}

/// The checker kinds and their targets (connect_ip/port already applied).
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug, Default)]
pub struct MiscSpec {
    pub command: ScriptCommand,
    /// `misc_timeout` (unset: delay_loop).
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit 2..255 is up with weight exit-2.
    pub dynamic: bool,
}

/// FILE_CHECK.
#[derive(Clone, Debug, Default)]
pub struct FileSpec {
    pub path: PathBuf,
    pub weight: i32,
    pub reverse: bool,
}

/// A `vrrp_script`.
#[derive(Clone, Debug)]
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
    Probe {
        probe: Box<dyn Probe>,
        slot: usize,
        deadline: Instant,
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
    core: CheckerCore,
    kind: CheckKind,
    tls: Option<Arc<ClientConfig>>,
    run: Run,
    /// Weight delta from a dynamic checker (keepalived's cur_weight).
    cur_weight: i64,
    last_exit: Option<i32>,
}

struct Server {
    spec_weight: i32,
    name: String,
    checks: Vec<usize>,
    dynamic: bool,
    omega: bool,
    reported: Option<(bool, Option<i32>)>,
}

struct Script {
    spec: ScriptSpec,
    tracker: ScriptTracker,
    next: Instant,
    run: Run,
}

#[derive(Clone, Copy)]
enum Owner {
    Check(usize),
    Script(usize),
}

/// Checkers and track scripts.
pub struct Engine {
    token_base: usize,
    slots: Vec<Option<Owner>>,
    free: Vec<usize>,
    servers: Vec<Option<Server>>,
    checks: Vec<Option<Check>>,
    scripts: Vec<Script>,
    inotify: Option<Inotify>,
    runner: Box<dyn ScriptRunner>,
    events: Vec<Event>,
    rng: u64,
    seq: u16,
}

impl Engine {
    /// Tokens `token_base` (inotify) and above belong to the engine.
    pub fn new(token_base: usize, runner: Box<dyn ScriptRunner>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ ((std::process::id() as u64) << 32);
        Engine {
            token_base,
            slots: Vec::new(),
            free: Vec::new(),
            servers: Vec::new(),
            checks: Vec::new(),
            scripts: Vec::new(),
            inotify: None,
            runner,
            events: Vec::new(),
            rng: seed | 1,
            seq: 0,
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
    pub fn add_real_server(
        &mut self,
        spec: RealServerSpec,
        registry: &Registry,
        now: Instant,
    ) -> Result<RsId, String> {
        let id = self.servers.len();
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
                CheckKind::Http(_, HttpSpec { tls: Some(t), .. }) => Some(t.client_config()?),
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
                    self.watch(&f.path, registry)?;
                    let st = file::status(file::read_value(&f.path), f.weight, f.reverse);
                    core = CheckerCore::new(c.timing, flavor, st.is_none());
                    cur_weight = st.unwrap_or(0);
                    dynamic |= f.weight != 0;
                }
                CheckKind::Misc(m) => {
                    dynamic |= m.dynamic;
                    core.start(now, self.random() as f64 / u64::MAX as f64);
                }
                _ => core.start(now, self.random() as f64 / u64::MAX as f64),
            }
            checks.push(self.checks.len());
            self.checks.push(Some(Check {
                server: id,
                core,
                kind: c.kind,
                tls,
                run: Run::Idle,
                cur_weight,
                last_exit: None,
            }));
        }
        self.servers.push(Some(Server {
            spec_weight: spec.weight,
            name: spec.name,
            checks,
            dynamic,
            omega: spec.omega,
            reported: None,
        }));
        self.report(id);
        Ok(RsId(id))
    }

    /// Stop checking a real server (reload removed it).
    pub fn remove_real_server(&mut self, id: RsId, registry: &Registry) {
        let Some(srv) = self.servers.get_mut(id.0).and_then(Option::take) else {
            return;
        };
        for ci in srv.checks {
            if let Some(mut c) = self.checks[ci].take() {
                self.stop_run(&mut c.run, registry);
            }
        }
    }

    /// Add a track script; its first run is due at once.
    pub fn add_script(&mut self, spec: ScriptSpec, now: Instant) {
        let tracker = ScriptTracker::new(spec.rise, spec.fall, spec.init_fail);
        self.scripts.push(Script {
            spec,
            tracker,
            next: now,
            run: Run::Idle,
        });
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
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Earliest instant the engine must be called at.
    pub fn next_deadline(&self) -> Option<Instant> {
        let runs = |r: &Run| match r {
            Run::Probe { deadline, .. } | Run::Script { deadline, .. } => Some(*deadline),
            Run::Idle => None,
        };
        let checks = self
            .checks
            .iter()
            .flatten()
            .filter_map(|c| runs(&c.run).or(c.core.next_attempt()));
        let scripts = self.scripts.iter().map(|s| match &s.run {
            Run::Idle => s.next,
            r => runs(r).unwrap_or(s.next),
        });
        checks.chain(scripts).min()
    }

    /// Stop everything; servers of virtual servers with `omega` are
    /// reported down.
    pub fn shutdown(&mut self, registry: &Registry) {
        for i in 0..self.checks.len() {
            if let Some(mut c) = self.checks[i].take() {
                self.stop_run(&mut c.run, registry);
            }
        }
        for s in &mut self.scripts {
            if let Run::Script { h, .. } = s.run {
                self.runner.signal(h, Signal::SIGKILL);
            }
            s.run = Run::Idle;
        }
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

    /// Readiness on one of the engine's tokens.
    pub fn on_event(&mut self, token: Token, registry: &Registry, now: Instant) {
        if token.0 == self.token_base {
            self.file_changed();
            return;
        }
        let Some(slot) = token.0.checked_sub(self.token_base + 1) else {
            return;
        };
        match self.slots.get(slot).copied().flatten() {
            Some(Owner::Check(ci)) => self.drive_check(ci, registry, now),
            Some(Owner::Script(si)) => self.drive_script(si, registry, now),
            None => {}
        }
    }

    /// Fire what is due at `now`.
    pub fn on_timer(&mut self, registry: &Registry, now: Instant) {
        for ci in 0..self.checks.len() {
            let Some(c) = self.checks[ci].as_mut() else {
                continue;
            };
            match &c.run {
                Run::Idle => {
                    if let Some(url) = c.core.begin(now) {
                        self.begin_check(ci, url, registry, now);
                    }
                }
                Run::Probe { deadline, .. } if *deadline <= now => {
                    let Run::Probe {
                        mut probe, slot, ..
                    } = std::mem::replace(&mut c.run, Run::Idle)
                    else {
                        unreachable!()
                    };
                    let step = probe.timed_out();
                    probe.deregister(registry);
                    self.release(slot);
                    if let Step::Done { ok, why } = step {
                        self.finish_check(ci, ok, &why, None, now);
                    }
                }
                Run::Script { .. } => self.drive_check(ci, registry, now),
                Run::Probe { .. } => {}
            }
        }
        for si in 0..self.scripts.len() {
            let s = &mut self.scripts[si];
            match s.run {
                Run::Idle if s.next <= now => self.begin_script(si, registry, now),
                Run::Script { .. } => self.drive_script(si, registry, now),
                _ => {}
            }
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

    fn token(&self, slot: usize) -> Token {
        Token(self.token_base + 1 + slot)
    }

    fn stop_run(&mut self, run: &mut Run, registry: &Registry) {
        match std::mem::replace(run, Run::Idle) {
            Run::Probe {
                mut probe, slot, ..
            } => {
                probe.deregister(registry);
                self.release(slot);
            }
            Run::Script { h, slot, .. } => {
                self.runner.signal(h, Signal::SIGKILL);
                self.release(slot);
            }
            Run::Idle => {}
        }
    }

    fn begin_check(&mut self, ci: usize, url: usize, registry: &Registry, now: Instant) {
        let c = self.checks[ci].as_ref().expect("check");
        if matches!(c.kind, CheckKind::File(_)) {
            // Driven by inotify, never scheduled.
            return;
        }
        let slot = self.alloc(Owner::Check(ci));
        let token = self.token(slot);
        if let CheckKind::Misc(m) = &self.checks[ci].as_ref().expect("check").kind {
            let c = self.checks[ci].as_ref().expect("check");
            let timeout = m.timeout.unwrap_or(c.core.timing().delay_loop);
            match self.runner.spawn(&m.command, registry, token) {
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
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let id = self.random() as u16;
        let c = self.checks[ci].as_mut().expect("check");
        let t = c.core.timing().connect_timeout;
        let probe: Box<dyn Probe> = match &c.kind {
            CheckKind::Tcp(ep) => Box::new(TcpProbe::start(ep, registry, token)),
            CheckKind::Http(ep, h) => Box::new(HttpProbe::start(
                ep,
                h,
                url,
                c.tls.as_ref(),
                registry,
                token,
            )),
            CheckKind::Smtp(ep, helo) => Box::new(SmtpProbe::start(ep, helo, registry, token)),
            CheckKind::Dns(ep, d) => {
                Box::new(DnsProbe::start(ep.dst, ep.bind, d, id, registry, token))
            }
            CheckKind::Udp(ep, u) => Box::new(UdpProbe::start(ep.dst, ep.bind, u, registry, token)),
            CheckKind::Ping(ip) => Box::new(PingProbe::start(
                SocketAddr::new(*ip, 0),
                seq,
                registry,
                token,
            )),
            CheckKind::Misc(_) | CheckKind::File(_) => unreachable!("handled above"),
        };
        c.run = Run::Probe {
            probe,
            slot,
            deadline: now + t,
        };
        self.drive_check(ci, registry, now);
    }

    fn drive_check(&mut self, ci: usize, registry: &Registry, now: Instant) {
        let Some(c) = self.checks[ci].as_mut() else {
            return;
        };
        let t = c.core.timing().connect_timeout;
        match &mut c.run {
            Run::Probe {
                probe,
                slot,
                deadline,
            } => match probe.ready() {
                Step::Pending { progress } => {
                    if progress {
                        *deadline = now + t;
                    }
                }
                Step::Done { ok, why } => {
                    probe.deregister(registry);
                    let slot = *slot;
                    c.run = Run::Idle;
                    self.release(slot);
                    self.finish_check(ci, ok, &why, None, now);
                }
            },
            Run::Script {
                h,
                slot,
                deadline,
                killing,
            } => {
                let (h, slot) = (*h, *slot);
                if let Some(exit) = self.runner.try_wait(h, registry) {
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
            None if !ok && was => log::debug!("Check on {name} failed, will retry: {why}"),
            None => {}
        }
        self.report(server);
    }

    fn begin_script(&mut self, si: usize, registry: &Registry, now: Instant) {
        let slot = self.alloc(Owner::Script(si));
        let token = self.token(slot);
        let s = &mut self.scripts[si];
        // Runs are spaced by the interval from their start, as keepalived.
        s.next = now + s.spec.interval;
        let timeout = s.spec.timeout.unwrap_or(s.spec.interval);
        match self.runner.spawn(&s.spec.command, registry, token) {
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

    fn drive_script(&mut self, si: usize, registry: &Registry, now: Instant) {
        let s = &mut self.scripts[si];
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
        if let Some(exit) = self.runner.try_wait(h, registry) {
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
        let s = &mut self.scripts[si];
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

    fn watch(&mut self, path: &std::path::Path, registry: &Registry) -> Result<(), String> {
        if self.inotify.is_none() {
            let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                .map_err(|e| format!("inotify: {e}"))?;
            registry
                .register(
                    &mut SourceFd(&ino.as_fd().as_raw_fd()),
                    Token(self.token_base),
                    Interest::READABLE,
                )
                .map_err(|e| format!("inotify: {e}"))?;
            self.inotify = Some(ino);
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let ino = self.inotify.as_ref().expect("inotify");
        ino.add_watch(
            dir,
            AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_DELETE,
        )
        .map_err(|e| format!("inotify watch {}: {e}", dir.display()))?;
        Ok(())
    }

    /// Some watched directory changed: re-read every tracked file (cheap,
    /// and immune to renames racing the event).
    fn file_changed(&mut self) {
        if let Some(ino) = &self.inotify {
            while let Ok(evs) = ino.read_events() {
                if evs.is_empty() {
                    break;
                }
            }
        }
        let mut touched = Vec::new();
        for c in self.checks.iter_mut().flatten() {
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
