//! The parent's event loop: spawns the children, routes their messages,
//! restarts the ones that die, reloads, dumps and stops.
//!
//! Start-up follows relayd: every child gets its typed configuration, the
//! parent waits until each has acked (`Ready`), then tells all to `Start`.
//! A child restarted later gets its configuration plus the state the parent
//! recorded, and starts as soon as it acks.

use crate::backoff::{self, Backoff, Death};
use crate::fifo::NotifyFifos;
use crate::logfiles;
use crate::pidfile::PidFiles;
use crate::slices::slice;
use crate::spawn::{spawn, ChildOptions};
use crate::state::KnownState;
use crate::user_scripts::UserScripts;
use keepalived_config::{Config, LoadOptions};
use keepalived_ipc::{
    decode_from_child, Channel, DumpKind, FromChild, RecvError, ScriptEnd, Subsystem, ToChild,
    TrackKind, MAX_FROM_CHILD,
};
use keepalived_sandbox::privileges::unprivileged_user;
use keepalived_sandbox::privileges_for;
use log::{debug, error, info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SIGNAL_TOKEN: Token = Token(1);
const CHILD_TOKEN_BASE: usize = 10;
/// A child that has not acked its configuration by then is stuck.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long start-up waits for every child before starting those ready.
const STARTUP_WAIT: Duration = Duration::from_secs(10);
/// How long a child may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a dump waits for the children's parts.
const DUMP_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes queued towards one child before it counts as not reading.
const MAX_QUEUED_DOWN: usize = 512 << 20;

/// Everything the supervisor needs from the command line.
pub struct Settings {
    pub config_path: PathBuf,
    pub load: LoadOptions,
    pub enabled: Vec<Subsystem>,
    pub child: ChildOptions,
    pub log_file: Option<PathBuf>,
    pub pid_files: Vec<(Subsystem, PathBuf)>,
    pub respawn: bool,
}

struct Slot {
    sub: Subsystem,
    pid: Option<Pid>,
    chan: Option<Channel>,
    spawned_at: Option<Instant>,
    ready_at: Option<Instant>,
    started: bool,
    restart_at: Option<Instant>,
    backoff: Backoff,
    killed_for: Option<Death>,
    restarts: u64,
    stop_deadline: Option<Instant>,
    pid_file: Option<PathBuf>,
}

#[derive(PartialEq, Eq, Debug)]
enum Phase {
    Starting { until: Instant },
    Running,
    Stopping,
}

struct PendingDump {
    kind: DumpKind,
    waiting: Vec<Subsystem>,
    parts: Vec<(Subsystem, String)>,
    deadline: Instant,
}

pub struct Supervisor {
    poll: Poll,
    sfd: SignalFd,
    slots: Vec<Slot>,
    settings: Settings,
    config: Config,
    generation: u64,
    known: KnownState,
    pid_files: PidFiles,
    phase: Phase,
    stop_queue: VecDeque<Subsystem>,
    dump: Option<PendingDump>,
    fifos: NotifyFifos,
    user_scripts: UserScripts,
    socket_budget: crate::check_sockets::Budget,
}

fn token(i: usize) -> Token {
    Token(CHILD_TOKEN_BASE + i)
}

impl Supervisor {
    pub fn new(
        settings: Settings,
        config: Config,
        pid_files: PidFiles,
        fifos: NotifyFifos,
    ) -> std::io::Result<Self> {
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGHUP,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
        ] {
            mask.add(s);
        }
        mask.thread_block()?;
        // SAFETY: ignore SIGPIPE; every send uses MSG_NOSIGNAL anyway.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        let poll = Poll::new()?;
        let raw = sfd.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&raw), SIGNAL_TOKEN, Interest::READABLE)?;
        let slots = settings
            .enabled
            .iter()
            .map(|&sub| Slot {
                sub,
                pid: None,
                chan: None,
                spawned_at: None,
                ready_at: None,
                started: false,
                restart_at: None,
                backoff: Backoff::default(),
                killed_for: None,
                restarts: 0,
                stop_deadline: None,
                pid_file: settings
                    .pid_files
                    .iter()
                    .find(|(s, _)| *s == sub)
                    .map(|(_, p)| p.clone()),
            })
            .collect();
        let user_scripts = UserScripts::new(&config, unprivileged_user());
        Ok(Supervisor {
            socket_budget: Default::default(),
            user_scripts,
            fifos,
            poll,
            sfd,
            slots,
            settings,
            config,
            generation: 1,
            known: KnownState::default(),
            pid_files,
            phase: Phase::Starting {
                until: Instant::now() + STARTUP_WAIT,
            },
            stop_queue: VecDeque::new(),
            dump: None,
        })
    }

    /// Run until stopped; returns the exit status.
    pub fn run(mut self) -> i32 {
        for i in 0..self.slots.len() {
            self.spawn_slot(i);
        }
        let mut events = Events::with_capacity(64);
        loop {
            let now = Instant::now();
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(now));
            let timeout = if keepalived_log::queued() > 0 {
                Some(timeout.map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1))))
            } else {
                timeout
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    error!("poll failed: {e}");
                    return 1;
                }
                continue;
            }
            let tokens: Vec<(Token, bool)> = events
                .iter()
                .map(|e| (e.token(), e.is_readable() || e.is_read_closed()))
                .collect();
            for (t, readable) in tokens {
                if t == SIGNAL_TOKEN {
                    self.handle_signals();
                } else if let Some(i) =
                    t.0.checked_sub(CHILD_TOKEN_BASE)
                        .filter(|i| *i < self.slots.len())
                {
                    if readable {
                        self.drain_child(i);
                    }
                }
            }
            self.fire_timers(Instant::now());
            self.flush_all();
            keepalived_log::flush();
            if self.phase == Phase::Stopping
                && self.stop_queue.is_empty()
                && self.slots.iter().all(|s| s.pid.is_none())
            {
                self.user_scripts.terminate_all();
                info!("Stopped keepalived-rs");
                self.pid_files.remove_all();
                keepalived_log::flush();
                return 0;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut ds: Vec<Instant> = Vec::new();
        for s in &self.slots {
            ds.extend(s.restart_at);
            ds.extend(s.stop_deadline);
            if s.pid.is_some() && s.ready_at.is_none() {
                ds.extend(s.spawned_at.map(|t| t + READY_TIMEOUT));
            }
        }
        if let Phase::Starting { until } = self.phase {
            ds.push(until);
        }
        ds.extend(self.dump.as_ref().map(|d| d.deadline));
        ds.into_iter().min()
    }

    fn spawn_slot(&mut self, i: usize) {
        let sub = self.slots[i].sub;
        self.slots[i].restart_at = None;
        let (mine, theirs) = match Channel::pair() {
            Ok(p) => p,
            Err(e) => return self.retry_later(i, format!("socketpair: {e}")),
        };
        let log_fd = match &self.settings.log_file {
            Some(base) => {
                let path = logfiles::child_log_path(base, sub);
                match logfiles::open_log(&path) {
                    Ok(fd) => Some(fd),
                    Err(e) => {
                        warn!("cannot open log file {}: {e}", path.display());
                        None
                    }
                }
            }
            None => None,
        };
        let pid = match spawn(
            sub,
            &self.settings.child,
            privileges_for(sub),
            &theirs,
            log_fd.as_ref(),
        ) {
            Ok(pid) => pid,
            Err(e) => return self.retry_later(i, format!("cannot start {sub}: {e}")),
        };
        drop(theirs);
        drop(log_fd);
        let mut chan = match Channel::new(mine, MAX_FROM_CHILD, MAX_QUEUED_DOWN) {
            Ok(c) => c,
            Err(e) => return self.retry_later(i, format!("IPC socket: {e}")),
        };
        let raw = chan.raw_fd();
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&raw),
            token(i),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            error!("cannot watch {sub}'s IPC socket: {e}");
        }
        let msg = ToChild::Configure {
            slice: Box::new(slice(&self.config, sub, self.generation)),
            replay: self.known.replay_for(sub),
        };
        if let Err(e) = chan.send(&msg) {
            error!("cannot send configuration to {sub}: {e}");
        }
        let now = Instant::now();
        let slot = &mut self.slots[i];
        slot.pid = Some(Pid::from_raw(pid as i32));
        slot.chan = Some(chan);
        slot.spawned_at = Some(now);
        slot.ready_at = None;
        slot.started = false;
        slot.killed_for = None;
        if let Some(p) = slot.pid_file.clone() {
            self.pid_files.write(&p, pid);
        }
        info!("Starting {} child process, pid={pid}", sub.syslog_ident());
    }

    /// Spawning itself failed (no binary, no fds): try again with backoff.
    fn retry_later(&mut self, i: usize, why: String) {
        let now = Instant::now();
        let slot = &mut self.slots[i];
        let delay = slot.backoff.on_death(now, None, Death::OnItsOwn);
        error!("{why}; retrying in {} ms", delay.as_millis());
        slot.restart_at = Some(now + delay);
    }

    fn drain_child(&mut self, i: usize) {
        loop {
            let Some(chan) = self.slots[i].chan.as_mut() else {
                return;
            };
            let bytes = match chan.recv_bytes() {
                Ok(Some((b, fds))) => {
                    if !fds.is_empty() {
                        return self.misbehaved(i, "sent file descriptors".into());
                    }
                    b
                }
                Ok(None) => return,
                Err(RecvError::Closed) => {
                    // It is exiting; SIGCHLD will tell how.
                    self.close_channel(i);
                    return;
                }
                Err(e) => return self.misbehaved(i, e.to_string()),
            };
            match decode_from_child(&bytes) {
                Ok(m) => {
                    let sub = self.slots[i].sub;
                    if !m.allowed_from(sub) {
                        return self.misbehaved(
                            i,
                            format!("sent a {} message, which it may not send", m.kind()),
                        );
                    }
                    self.handle_message(i, m);
                }
                Err(e) => return self.misbehaved(i, format!("undecodable message: {e}")),
            }
        }
    }

    fn handle_message(&mut self, i: usize, m: FromChild) {
        let sub = self.slots[i].sub;
        match m {
            FromChild::Ready { generation } => {
                if self.slots[i].ready_at.is_none() {
                    self.slots[i].ready_at = Some(Instant::now());
                    let pid = self.slots[i].pid.map_or(0, Pid::as_raw);
                    info!("{sub} (pid {pid}) ready (configuration {generation})");
                    match self.phase {
                        Phase::Running => self.start_slot(i),
                        Phase::Starting { .. } => {
                            if self.slots.iter().all(|s| s.ready_at.is_some()) {
                                self.start_all();
                            }
                        }
                        Phase::Stopping => {}
                    }
                } else {
                    info!("{sub} applied configuration {generation}");
                }
            }
            FromChild::Rejected { generation, reason } => {
                error!("{sub} refused configuration {generation}: {reason}");
            }
            FromChild::VrrpState(s) => {
                self.known.record_vrrp(&s);
                self.fifos.vrrp_state(&s);
                self.route(
                    &[Subsystem::Checker, Subsystem::Ipvs],
                    ToChild::VrrpState(s),
                );
            }
            FromChild::GroupState(g) => {
                self.fifos.group_state(&g);
                self.route(&[Subsystem::Checker], ToChild::GroupState(g));
            }
            FromChild::Health(h) => {
                self.known.record_health(&h);
                self.fifos.real_server(&h);
                self.route(&[Subsystem::Ipvs], ToChild::Health(h));
            }
            FromChild::Track(t) => {
                // Only trackers of the configuration: anything else would
                // grow the state the parent replays without bound.
                let c = &self.config;
                let known = match t.kind {
                    TrackKind::Script => c.vrrp_scripts.iter().any(|s| s.name == t.name),
                    TrackKind::File => c.track_files.iter().any(|f| f.name == t.name),
                    TrackKind::Process => c.vrrp_track_processes.iter().any(|p| p.name == t.name),
                };
                if !known {
                    // (A reload may have just removed it: not misbehaviour.)
                    debug!("dropping a verdict for unknown tracker {:.64}", t.name);
                    return;
                }
                self.known.record_track(&t);
                self.route(&[Subsystem::Vrrp], ToChild::Track(t));
            }
            FromChild::Quorum(q) => {
                self.fifos.quorum(&q);
                self.route(&[Subsystem::Checker], ToChild::Quorum(q));
            }
            FromChild::RunScript(r) => {
                if self.user_scripts.start(&r, &self.config).is_err() {
                    self.route(
                        &[Subsystem::Checker],
                        ToChild::ScriptEnded {
                            id: r.id,
                            end: ScriptEnd::Refused,
                        },
                    );
                }
            }
            FromChild::SignalScript { id, signal } => self.user_scripts.signal(id, signal),
            FromChild::WantSockets(request) => {
                let fds = if self.socket_budget.grant(request.count, Instant::now()) {
                    crate::check_sockets::make(&self.config, &request)
                } else {
                    Vec::new()
                };
                let msg = ToChild::Sockets {
                    given: fds.len() as u32,
                    request,
                };
                self.send_with(i, &msg, fds);
            }
            FromChild::Dump { kind, text } => self.dump_part(sub, kind, text),
        }
    }

    fn route(&mut self, to: &[Subsystem], msg: ToChild) {
        for i in 0..self.slots.len() {
            if to.contains(&self.slots[i].sub) && self.slots[i].started {
                self.send(i, &msg);
            }
        }
    }

    fn send(&mut self, i: usize, msg: &ToChild) {
        self.send_with(i, msg, Vec::new());
    }

    /// Send a message with descriptors (closed here once queued).
    fn send_with(&mut self, i: usize, msg: &ToChild, fds: Vec<std::os::fd::OwnedFd>) {
        let Some(chan) = self.slots[i].chan.as_mut() else {
            return;
        };
        let r = keepalived_ipc::encode(msg)
            .map_err(|_| nix::errno::Errno::EINVAL)
            .and_then(|b| chan.send_bytes(&b, fds));
        if let Err(e) = r {
            let why = format!("is not reading its messages ({e})");
            self.misbehaved(i, why);
        }
    }

    fn start_all(&mut self) {
        info!("All children configured; starting");
        self.phase = Phase::Running;
        for i in 0..self.slots.len() {
            if self.slots[i].ready_at.is_some() {
                self.start_slot(i);
            }
        }
    }

    fn start_slot(&mut self, i: usize) {
        self.slots[i].started = true;
        self.send(i, &ToChild::Start);
    }

    /// A child broke the protocol: log it, kill it; SIGCHLD restarts it.
    fn misbehaved(&mut self, i: usize, why: String) {
        let slot = &mut self.slots[i];
        error!(
            "{} (pid {:?}) {why}; restarting it",
            slot.sub,
            slot.pid.map(Pid::as_raw)
        );
        slot.killed_for = Some(Death::Misbehaved);
        if let Some(pid) = slot.pid {
            let _ = kill(pid, Signal::SIGKILL);
        }
        self.close_channel(i);
    }

    fn close_channel(&mut self, i: usize) {
        if let Some(chan) = self.slots[i].chan.take() {
            let raw = chan.raw_fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&raw));
        }
        self.slots[i].started = false;
    }

    fn handle_signals(&mut self) {
        while let Ok(Some(si)) = self.sfd.read_signal() {
            match si.ssi_signo as i32 {
                libc::SIGCHLD => self.reap(),
                libc::SIGHUP => self.reload(),
                libc::SIGTERM | libc::SIGINT => self.begin_stop(),
                libc::SIGUSR1 => self.begin_dump(DumpKind::Data),
                libc::SIGUSR2 => self.begin_dump(DumpKind::Stats),
                s => debug!("ignoring signal {s}"),
            }
        }
        // Coalesced SIGCHLDs: always reap everything.
        self.reap();
    }

    fn reap(&mut self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(status) => {
                    if let Some((id, end)) = self.user_scripts.reaped(status) {
                        self.route(&[Subsystem::Checker], ToChild::ScriptEnded { id, end });
                    } else if let Some(pid) = status.pid() {
                        self.child_died(pid, status);
                    }
                }
            }
        }
    }

    fn child_died(&mut self, pid: Pid, status: WaitStatus) {
        let Some(i) = self.slots.iter().position(|s| s.pid == Some(pid)) else {
            debug!("reaped unknown pid {pid}");
            return;
        };
        self.close_channel(i);
        if self.slots[i].sub == Subsystem::Checker {
            self.user_scripts.checker_gone();
        }
        let now = Instant::now();
        let stopping = self.phase == Phase::Stopping;
        let slot = &mut self.slots[i];
        let sub = slot.sub;
        slot.pid = None;
        slot.stop_deadline = None;
        let how = match (slot.killed_for.take(), status) {
            (Some(d), _) => d,
            (
                None,
                WaitStatus::Signaled(_, Signal::SIGKILL | Signal::SIGTERM | Signal::SIGINT, _),
            ) => Death::External,
            _ => Death::OnItsOwn,
        };
        let what = match status {
            WaitStatus::Exited(_, code) => format!("exited with status {code}"),
            WaitStatus::Signaled(_, Signal::SIGSYS, _) => {
                "was killed by SIGSYS (seccomp violation)".into()
            }
            WaitStatus::Signaled(_, sig, _) => format!("was killed by {sig}"),
            other => format!("ended ({other:?})"),
        };
        if let Some(p) = slot.pid_file.clone() {
            self.pid_files.remove(&p);
        }
        let slot = &mut self.slots[i];
        if stopping {
            info!("{} (pid {pid}) {what}", sub.syslog_ident());
            if self.stop_queue.front() == Some(&sub) {
                self.stop_queue.pop_front();
                self.stop_next();
            }
            return;
        }
        if !self.settings.respawn {
            error!(
                "{} (pid {pid}) {what}; not restarting it (--dont-respawn)",
                sub.syslog_ident()
            );
            return;
        }
        let delay = slot.backoff.on_death(now, slot.ready_at, how);
        slot.restart_at = Some(now + delay);
        slot.restarts += 1;
        if slot.backoff.failures() >= backoff::LOUD_AFTER {
            error!(
                "{} (pid {pid}) {what}; it keeps failing ({} times in a row), next restart in {} ms",
                sub.syslog_ident(),
                slot.backoff.failures(),
                delay.as_millis()
            );
        } else {
            warn!(
                "{} (pid {pid}) {what}; restarting in {} ms",
                sub.syslog_ident(),
                delay.as_millis()
            );
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            if self.phase != Phase::Stopping && self.slots[i].restart_at.is_some_and(|t| t <= now) {
                self.spawn_slot(i);
            }
            let s = &self.slots[i];
            if s.pid.is_some()
                && s.ready_at.is_none()
                && s.spawned_at.is_some_and(|t| now >= t + READY_TIMEOUT)
            {
                self.misbehaved(
                    i,
                    format!("did not become ready within {} s", READY_TIMEOUT.as_secs()),
                );
            }
            let s = &mut self.slots[i];
            if s.stop_deadline.is_some_and(|t| t <= now) {
                s.stop_deadline = None;
                if let Some(pid) = s.pid {
                    warn!("{} did not stop in time; killing it", s.sub);
                    let _ = kill(pid, Signal::SIGKILL);
                }
            }
        }
        if let Phase::Starting { until } = self.phase {
            if now >= until {
                let late: Vec<String> = self
                    .slots
                    .iter()
                    .filter(|s| s.ready_at.is_none())
                    .map(|s| s.sub.to_string())
                    .collect();
                warn!("starting without {} (not ready yet)", late.join(", "));
                self.start_all();
            }
        }
        if self.dump.as_ref().is_some_and(|d| d.deadline <= now) {
            self.finish_dump();
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.slots.len() {
            if let Some(chan) = self.slots[i].chan.as_mut() {
                if let Err(e) = chan.flush() {
                    debug!("{}: send failed: {e}", self.slots[i].sub);
                }
            }
        }
    }

    fn reload(&mut self) {
        if self.phase == Phase::Stopping {
            return;
        }
        info!(
            "Reloading configuration from {}",
            self.settings.config_path.display()
        );
        let loaded =
            match keepalived_config::load_file(&self.settings.config_path, &self.settings.load) {
                Ok(l) => l,
                Err(e) => {
                    error!("Reload failed; keeping the running configuration:");
                    for d in &e.diagnostics {
                        error!("{d}");
                    }
                    return;
                }
            };
        for d in &loaded.diagnostics {
            warn!("{d}");
        }
        for n in &loaded.notes {
            info!("{n}");
        }
        self.generation += 1;
        self.config = loaded.config;
        crate::script_security::apply(&mut self.config, unprivileged_user());
        self.user_scripts
            .reconfigure(&self.config, unprivileged_user());
        let names: Vec<String> = self
            .config
            .vrrp_instances
            .iter()
            .map(|v| v.name.clone())
            .collect();
        self.known.retain_instances(&names);
        self.fifos.reopen(&self.config, unprivileged_user());
        for i in 0..self.slots.len() {
            if self.slots[i].ready_at.is_some() {
                let msg = ToChild::Reload {
                    slice: Box::new(slice(&self.config, self.slots[i].sub, self.generation)),
                };
                self.send(i, &msg);
            }
        }
    }

    fn begin_stop(&mut self) {
        if self.phase == Phase::Stopping {
            return;
        }
        info!("Stopping");
        self.phase = Phase::Stopping;
        self.stop_queue = Subsystem::stop_order()
            .into_iter()
            .filter(|s| self.settings.enabled.contains(s))
            .collect();
        for s in &mut self.slots {
            s.restart_at = None;
        }
        self.stop_next();
    }

    /// Stop the children one at a time, in order.
    fn stop_next(&mut self) {
        while let Some(&sub) = self.stop_queue.front() {
            let Some(i) = self.slots.iter().position(|s| s.sub == sub) else {
                self.stop_queue.pop_front();
                continue;
            };
            let Some(pid) = self.slots[i].pid else {
                self.stop_queue.pop_front();
                continue;
            };
            if self.slots[i].chan.is_some() {
                self.send(i, &ToChild::Shutdown);
            } else {
                let _ = kill(pid, Signal::SIGTERM);
            }
            self.slots[i].stop_deadline = Some(Instant::now() + STOP_TIMEOUT);
            return;
        }
    }

    fn begin_dump(&mut self, kind: DumpKind) {
        if self.dump.is_some() {
            return;
        }
        let mut waiting = Vec::new();
        for i in 0..self.slots.len() {
            if self.slots[i].ready_at.is_some() && self.slots[i].chan.is_some() {
                waiting.push(self.slots[i].sub);
                self.send(i, &ToChild::Dump(kind));
            }
        }
        self.dump = Some(PendingDump {
            kind,
            waiting,
            parts: Vec::new(),
            deadline: Instant::now() + DUMP_TIMEOUT,
        });
        if self.dump.as_ref().is_some_and(|d| d.waiting.is_empty()) {
            self.finish_dump();
        }
    }

    fn dump_part(&mut self, sub: Subsystem, kind: DumpKind, text: String) {
        let Some(d) = self.dump.as_mut() else { return };
        if d.kind != kind || !d.waiting.contains(&sub) {
            return;
        }
        d.waiting.retain(|s| *s != sub);
        d.parts.push((sub, text));
        if d.waiting.is_empty() {
            self.finish_dump();
        }
    }

    fn finish_dump(&mut self) {
        let Some(d) = self.dump.take() else { return };
        let path = match d.kind {
            DumpKind::Data => "/tmp/keepalived.data",
            DumpKind::Stats => "/tmp/keepalived.stats",
        };
        let mut text = String::from("------< Parent >------\n");
        text.push_str(&format!(" Configuration generation: {}\n", self.generation));
        text.push_str(&format!(
            " Log lines dropped: {}\n",
            keepalived_log::dropped()
        ));
        text.push_str(&format!(
            " Notify FIFO lines written: {}, dropped: {}\n",
            self.fifos.written, self.fifos.dropped
        ));
        for s in &self.slots {
            text.push_str(&format!(
                " {}: pid {}, restarts {}\n",
                s.sub,
                s.pid.map_or("-".to_string(), |p| p.to_string()),
                s.restarts
            ));
        }
        for (_, part) in d.parts {
            text.push_str(&part);
        }
        for sub in d.waiting {
            text.push_str(&format!("------< {sub} >------\n (no answer)\n"));
        }
        match std::fs::write(path, text) {
            Ok(()) => info!("Wrote {path}"),
            Err(e) => error!("cannot write {path}: {e}"),
        }
    }
}
