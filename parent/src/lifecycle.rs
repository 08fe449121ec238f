//! The supervisor's decisions, without I/O: when to start, configure,
//! start, reload, kill and stop each child, which configuration generation
//! each one runs, and when a reload is over.
//!
//! `handle(event, now) -> commands`, like the VRRP core: the shell
//! (`supervisor.rs`) turns process and socket happenings into [`Event`]s and
//! carries out the [`Command`]s; every transition is unit-tested below.
//!
//! Generations: every configuration the parent validated gets one. Each
//! child has the last one it *accepted* (acked with `Ready`) and possibly
//! the newest one it *refused* (`Rejected`, or died while applying it). A
//! child is always brought to the newest generation it has not refused, one
//! reload in flight at a time; a child restarted after refusing comes back
//! with the plan it last accepted (no crash loop on a bad plan). A reload is
//! finished (`ReloadDone`) once every child has accepted or refused it —
//! children that were restarting at the time included (start-up's barrier,
//! again).

use crate::backoff::{self, Backoff, Death};
use crate::heartbeat::{self, Heartbeat};
use keepalived_ipc::Subsystem;
use log::Level;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A child that has not acked its configuration by then is stuck.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long start-up waits for every child before starting those ready.
pub const STARTUP_WAIT: Duration = Duration::from_secs(10);
/// How long a child may take to stop before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest reason from a child that reaches the log (children are
/// untrusted; a megabyte of text is not a reason).
const MAX_REASON: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The shell started the child's process (answering [`Command::Spawn`]).
    Spawned { sub: Subsystem, pid: u32 },
    /// Starting it failed (no binary, no descriptors...).
    SpawnFailed { sub: Subsystem, why: String },
    /// The child acked a generation (at start or after a reload).
    Ready { sub: Subsystem, generation: u64 },
    /// The child refused a reload.
    Rejected {
        sub: Subsystem,
        generation: u64,
        reason: String,
    },
    /// The shell caught the child breaking the protocol.
    Misbehaved { sub: Subsystem, why: String },
    /// The child's process ended. `how` is what the wait status says
    /// (external signal or on its own); the lifecycle knows when it killed
    /// the child itself.
    Died {
        sub: Subsystem,
        how: Death,
        what: String,
    },
    /// A validated configuration became generation `generation`.
    Reload { generation: u64 },
    /// SIGTERM / SIGINT.
    Stop,
    /// The child answered `Ping { seq }`.
    Pong { sub: Subsystem, seq: u64 },
    /// Time passed (restart, ready, stop, start-up and heartbeat
    /// deadlines).
    Tick,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start the child's process; answer with `Spawned` or `SpawnFailed`.
    Spawn(Subsystem),
    /// Send `Configure` with this generation's plan and the replay.
    Configure {
        sub: Subsystem,
        generation: u64,
    },
    /// Send `Start` (then whatever was routed to it since it was spawned).
    Start(Subsystem),
    /// The start-up barrier is over: the suite is running (the service
    /// manager hears READY=1). Once per life.
    Started,
    /// Send `Ping { seq }` (a heartbeat question).
    Ping {
        sub: Subsystem,
        seq: u64,
    },
    /// Send `Reload` with this generation's plan.
    Reload {
        sub: Subsystem,
        generation: u64,
    },
    /// SIGKILL the child's process.
    Kill {
        sub: Subsystem,
        pid: u32,
    },
    /// Ask the child to stop (`Shutdown`, or SIGTERM without a channel).
    Shutdown {
        sub: Subsystem,
        pid: u32,
    },
    Log {
        level: Level,
        text: String,
    },
    /// Every child has accepted or refused this generation; `failed` says
    /// which refused and why (empty: the reload worked).
    ReloadDone {
        generation: u64,
        failed: Vec<(Subsystem, String)>,
    },
    /// Stopping is over: every child is gone.
    Stopped,
}

/// Where one child is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// No process; started again at `restart_at` (never, when `None`).
    Down { restart_at: Option<Instant> },
    /// Spawned and sent `Configure { generation }`; no ack yet.
    Configuring {
        pid: u32,
        since: Instant,
        generation: u64,
    },
    /// Acked; waiting for the start barrier.
    Ready {
        pid: u32,
        ready_at: Instant,
        generation: u64,
    },
    /// Started, running `generation`; `applying` is a reload in flight.
    Running {
        pid: u32,
        ready_at: Instant,
        generation: u64,
        applying: Option<u64>,
    },
}

#[derive(Debug)]
struct Child {
    sub: Subsystem,
    run: Run,
    backoff: Backoff,
    restarts: u64,
    /// Last generation it acked.
    accepted: Option<u64>,
    /// Newest generation it refused (never sent to it again).
    refused: Option<u64>,
    /// Why the lifecycle killed it, if it did.
    killed_for: Option<Death>,
    stop_deadline: Option<Instant>,
    /// From its first ack until it is gone: is its loop answering?
    beat: Option<Heartbeat>,
}

impl Child {
    fn pid(&self) -> Option<u32> {
        match self.run {
            Run::Down { .. } => None,
            Run::Configuring { pid, .. } | Run::Ready { pid, .. } | Run::Running { pid, .. } => {
                Some(pid)
            }
        }
    }

    fn ready_at(&self) -> Option<Instant> {
        match self.run {
            Run::Ready { ready_at, .. } | Run::Running { ready_at, .. } => Some(ready_at),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Starting { until: Instant },
    Running,
    Stopping,
}

#[derive(Debug)]
struct Round {
    generation: u64,
    pending: Vec<Subsystem>,
    failed: Vec<(Subsystem, String)>,
}

#[derive(Debug)]
pub struct Lifecycle {
    children: Vec<Child>,
    phase: Phase,
    /// The newest validated generation.
    current: u64,
    respawn: bool,
    stop_queue: VecDeque<Subsystem>,
    round: Option<Round>,
    stopped: bool,
    /// The last `Tick`: a much longer gap means the parent itself did not
    /// run, which is not the children's fault (see `heartbeat.rs`).
    last_tick: Option<Instant>,
}

fn truncate(s: &str) -> String {
    let mut end = s.len().min(MAX_REASON);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut t: String = s[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < s.len() {
        t.push_str("...");
    }
    t
}

impl Lifecycle {
    /// The children of `enabled`, none running yet; `handle(Tick)` starts
    /// them.
    pub fn new(enabled: &[Subsystem], generation: u64, respawn: bool, now: Instant) -> Self {
        Lifecycle {
            children: enabled
                .iter()
                .map(|&sub| Child {
                    sub,
                    run: Run::Down {
                        restart_at: Some(now),
                    },
                    backoff: Backoff::default(),
                    restarts: 0,
                    accepted: None,
                    refused: None,
                    killed_for: None,
                    stop_deadline: None,
                    beat: None,
                })
                .collect(),
            phase: Phase::Starting {
                until: now + STARTUP_WAIT,
            },
            current: generation,
            respawn,
            stop_queue: VecDeque::new(),
            round: None,
            stopped: false,
            last_tick: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Start-up begins now, not at [`Lifecycle::new`] (the startup script
    /// ran in between): the window for the children to get ready counts
    /// from here.
    pub fn begin(&mut self, now: Instant) {
        if let Phase::Starting { until } = &mut self.phase {
            *until = now + STARTUP_WAIT;
        }
    }

    pub fn current(&self) -> u64 {
        self.current
    }

    fn run(&self, sub: Subsystem) -> Option<Run> {
        self.child(sub).map(|c| c.run)
    }

    pub fn pid(&self, sub: Subsystem) -> Option<u32> {
        self.child(sub).and_then(Child::pid)
    }

    /// Started: routed messages go to it now.
    pub fn started(&self, sub: Subsystem) -> bool {
        matches!(self.run(sub), Some(Run::Running { .. }))
    }

    /// Spawned but not started: routed messages wait for its start.
    pub fn starting(&self, sub: Subsystem) -> bool {
        matches!(
            self.run(sub),
            Some(Run::Configuring { .. } | Run::Ready { .. })
        )
    }

    pub fn accepted(&self, sub: Subsystem) -> Option<u64> {
        self.child(sub).and_then(|c| c.accepted)
    }

    /// A reload the child is applying (not acked yet).
    pub fn applying(&self, sub: Subsystem) -> Option<u64> {
        match self.run(sub) {
            Some(Run::Running { applying, .. }) => applying,
            Some(Run::Configuring { generation, .. }) => Some(generation),
            _ => None,
        }
    }

    pub fn restarts(&self, sub: Subsystem) -> u64 {
        self.child(sub).map_or(0, |c| c.restarts)
    }

    /// Generations some child runs, applies or will get: the shell keeps
    /// those plans and may drop the others.
    pub fn generations_in_use(&self) -> Vec<u64> {
        let mut g = vec![self.current];
        for c in &self.children {
            g.extend(c.accepted);
            if let Run::Configuring { generation, .. }
            | Run::Ready { generation, .. }
            | Run::Running { generation, .. } = c.run
            {
                g.push(generation);
            }
        }
        g.sort_unstable();
        g.dedup();
        g
    }

    /// Earliest instant a `Tick` has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut ds: Vec<Instant> = Vec::new();
        for c in &self.children {
            match c.run {
                Run::Down { restart_at } if self.phase != Phase::Stopping => ds.extend(restart_at),
                Run::Configuring { since, .. } => ds.push(since + READY_TIMEOUT),
                _ => {}
            }
            ds.extend(c.stop_deadline);
            if c.killed_for.is_none() && self.phase != Phase::Stopping {
                ds.extend(c.beat.map(|b| b.deadline()));
            }
        }
        if let Phase::Starting { until } = self.phase {
            ds.push(until);
        }
        ds.into_iter().min()
    }

    /// Every child that acked a plan answers its heartbeat: the service
    /// manager's watchdog is fed only then (a child the parent cannot
    /// replace is the service's failure).
    pub fn children_answering(&self, now: Instant) -> bool {
        self.children
            .iter()
            .all(|c| c.beat.is_none_or(|b| b.overdue(now).is_none()))
    }

    fn child(&self, sub: Subsystem) -> Option<&Child> {
        self.children.iter().find(|c| c.sub == sub)
    }

    fn index(&self, sub: Subsystem) -> Option<usize> {
        self.children.iter().position(|c| c.sub == sub)
    }

    /// The generation `i` should run: the newest, unless it refused that
    /// one (then the last it accepted).
    fn target(&self, i: usize) -> u64 {
        let c = &self.children[i];
        if c.refused == Some(self.current) {
            c.accepted.unwrap_or(self.current)
        } else {
            self.current
        }
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::Spawned { sub, pid } => {
                if let Some(i) = self.index(sub) {
                    let generation = self.target(i);
                    let c = &mut self.children[i];
                    c.run = Run::Configuring {
                        pid,
                        since: now,
                        generation,
                    };
                    c.killed_for = None;
                    out.push(Command::Configure { sub, generation });
                    out.push(log(
                        Level::Info,
                        format!("Starting {} child process, pid={pid}", sub.syslog_ident()),
                    ));
                }
            }
            Event::SpawnFailed { sub, why } => {
                if let Some(i) = self.index(sub) {
                    let c = &mut self.children[i];
                    let delay = c.backoff.on_death(now, None, Death::OnItsOwn);
                    c.run = Run::Down {
                        restart_at: (self.phase != Phase::Stopping).then_some(now + delay),
                    };
                    out.push(log(
                        Level::Error,
                        format!("{why}; retrying in {} ms", delay.as_millis()),
                    ));
                }
            }
            Event::Ready { sub, generation } => self.ready(sub, generation, now, &mut out),
            Event::Rejected {
                sub,
                generation,
                reason,
            } => self.rejected(sub, generation, &reason, &mut out),
            Event::Misbehaved { sub, why } => {
                if let Some(i) = self.index(sub) {
                    let c = &mut self.children[i];
                    if let Some(pid) = c.pid() {
                        out.push(log(
                            Level::Error,
                            format!("{sub} (pid {pid}) {}; restarting it", truncate(&why)),
                        ));
                        c.killed_for = Some(Death::Misbehaved);
                        out.push(Command::Kill { sub, pid });
                    }
                }
            }
            Event::Died { sub, how, what } => self.died(sub, how, &what, now, &mut out),
            Event::Reload { generation } => self.reload(generation, &mut out),
            Event::Stop => self.stop(now, &mut out),
            Event::Pong { sub, seq } => {
                if let Some(b) = self.index(sub).and_then(|i| self.children[i].beat.as_mut()) {
                    b.answer(seq, now);
                }
            }
            Event::Tick => self.tick(now, &mut out),
        }
        self.maybe_finish(&mut out);
        out
    }

    fn ready(&mut self, sub: Subsystem, generation: u64, now: Instant, out: &mut Vec<Command>) {
        let Some(i) = self.index(sub) else { return };
        match self.children[i].run {
            Run::Configuring {
                pid, generation: g, ..
            } if g == generation => {
                self.children[i].accepted = Some(generation);
                self.children[i].beat = Some(Heartbeat::new(now));
                self.children[i].run = Run::Ready {
                    pid,
                    ready_at: now,
                    generation,
                };
                out.push(log(
                    Level::Info,
                    format!("{sub} (pid {pid}) ready (configuration {generation})"),
                ));
                self.settled(sub, generation, None);
                match self.phase {
                    Phase::Running => self.start(i, out),
                    Phase::Starting { .. } => {
                        if self.children.iter().all(|c| {
                            matches!(c.run, Run::Ready { .. } | Run::Down { restart_at: None })
                        }) {
                            self.start_all(out);
                        }
                    }
                    Phase::Stopping => {}
                }
            }
            Run::Running {
                pid,
                ready_at,
                applying: Some(a),
                ..
            } if a == generation => {
                self.children[i].accepted = Some(generation);
                self.children[i].run = Run::Running {
                    pid,
                    ready_at,
                    generation,
                    applying: None,
                };
                out.push(log(
                    Level::Info,
                    format!("{sub} applied configuration {generation}"),
                ));
                self.settled(sub, generation, None);
                self.catch_up(i, out);
            }
            _ => out.push(log(
                Level::Warn,
                format!("{sub} acked configuration {generation}, which it was not applying"),
            )),
        }
    }

    fn rejected(&mut self, sub: Subsystem, generation: u64, reason: &str, out: &mut Vec<Command>) {
        let Some(i) = self.index(sub) else { return };
        let reason = truncate(reason);
        match self.children[i].run {
            Run::Running {
                pid,
                ready_at,
                generation: running,
                applying: Some(a),
            } if a == generation => {
                let c = &mut self.children[i];
                c.refused = Some(generation);
                c.run = Run::Running {
                    pid,
                    ready_at,
                    generation: running,
                    applying: None,
                };
                out.push(log(
                    Level::Error,
                    format!(
                        "{sub} refused configuration {generation}: {reason}; it keeps running configuration {running}"
                    ),
                ));
                self.settled(sub, generation, Some(reason));
                self.catch_up(i, out);
            }
            _ => out.push(log(
                Level::Warn,
                format!("{sub} refused configuration {generation}, which it was not applying"),
            )),
        }
    }

    /// `sub` is done with `generation` (accepted when `failure` is None).
    fn settled(&mut self, sub: Subsystem, generation: u64, failure: Option<String>) {
        if let Some(r) = self.round.as_mut().filter(|r| r.generation == generation) {
            if r.pending.contains(&sub) {
                r.pending.retain(|s| *s != sub);
                if let Some(f) = failure {
                    r.failed.push((sub, f));
                }
            }
        }
    }

    /// Bring a running child with nothing in flight to its target.
    fn catch_up(&mut self, i: usize, out: &mut Vec<Command>) {
        let target = self.target(i);
        let c = &mut self.children[i];
        if let Run::Running {
            generation,
            applying: applying @ None,
            ..
        } = &mut c.run
        {
            if *generation != target && c.refused != Some(target) {
                *applying = Some(target);
                out.push(Command::Reload {
                    sub: c.sub,
                    generation: target,
                });
            }
        }
    }

    fn start(&mut self, i: usize, out: &mut Vec<Command>) {
        if let Run::Ready {
            pid,
            ready_at,
            generation,
        } = self.children[i].run
        {
            self.children[i].run = Run::Running {
                pid,
                ready_at,
                generation,
                applying: None,
            };
            out.push(Command::Start(self.children[i].sub));
            self.catch_up(i, out);
        }
    }

    fn start_all(&mut self, out: &mut Vec<Command>) {
        out.push(log(Level::Info, "All children configured; starting".into()));
        self.phase = Phase::Running;
        for i in 0..self.children.len() {
            self.start(i, out);
        }
        out.push(Command::Started);
    }

    fn died(
        &mut self,
        sub: Subsystem,
        how: Death,
        what: &str,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let Some(i) = self.index(sub) else { return };
        let stopping = self.phase == Phase::Stopping;
        let respawn = self.respawn;
        let c = &mut self.children[i];
        let Some(pid) = c.pid() else { return };
        let ident = sub.syslog_ident();
        let how = c.killed_for.take().unwrap_or(how);
        let ready_at = c.ready_at();
        // A plan it was applying when it died counts as refused: bringing
        // it back on that plan could be a crash loop. (Its first plan, with
        // nothing accepted before, is retried: there is nothing else.)
        let in_flight = match c.run {
            Run::Configuring { generation, .. } if c.accepted.is_some_and(|a| a != generation) => {
                Some(generation)
            }
            Run::Running {
                applying: Some(a), ..
            } => Some(a),
            _ => None,
        };
        c.stop_deadline = None;
        c.beat = None;
        c.run = Run::Down { restart_at: None };
        if let Some(g) = in_flight.filter(|_| !stopping) {
            c.refused = Some(g);
            out.push(log(
                Level::Error,
                format!("{sub} died while applying configuration {g}; it will run configuration {} again",
                    c.accepted.unwrap_or(g)),
            ));
            self.settled(sub, g, Some(format!("died while applying it ({what})")));
        }
        let c = &mut self.children[i];
        if stopping {
            out.push(log(Level::Info, format!("{ident} (pid {pid}) {what}")));
            if self.stop_queue.front() == Some(&sub) {
                self.stop_queue.pop_front();
                self.stop_next(now, out);
            }
            return;
        }
        if !respawn {
            out.push(log(
                Level::Error,
                format!("{ident} (pid {pid}) {what}; not restarting it (--dont-respawn)"),
            ));
            let g = self.current;
            self.settled(sub, g, Some("not running".into()));
            return;
        }
        let delay = c.backoff.on_death(now, ready_at, how);
        c.run = Run::Down {
            restart_at: Some(now + delay),
        };
        c.restarts += 1;
        if c.backoff.failures() >= backoff::LOUD_AFTER {
            out.push(log(
                Level::Error,
                format!(
                    "{ident} (pid {pid}) {what}; it keeps failing ({} times in a row), next restart in {} ms",
                    c.backoff.failures(),
                    delay.as_millis()
                ),
            ));
        } else {
            out.push(log(
                Level::Warn,
                format!(
                    "{ident} (pid {pid}) {what}; restarting in {} ms",
                    delay.as_millis()
                ),
            ));
        }
    }

    fn reload(&mut self, generation: u64, out: &mut Vec<Command>) {
        if self.phase == Phase::Stopping {
            return;
        }
        if let Some(old) = self.round.take() {
            if !old.pending.is_empty() {
                out.push(log(
                    Level::Info,
                    format!(
                        "Configuration {} superseded by {generation} before every child applied it",
                        old.generation
                    ),
                ));
            }
        }
        self.current = generation;
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for i in 0..self.children.len() {
            let c = &self.children[i];
            match c.run {
                Run::Down { restart_at: None } => failed.push((c.sub, "not running".to_string())),
                _ => pending.push(c.sub),
            }
            self.catch_up(i, out);
        }
        self.round = Some(Round {
            generation,
            pending,
            failed,
        });
    }

    fn maybe_finish(&mut self, out: &mut Vec<Command>) {
        if self.round.as_ref().is_some_and(|r| r.pending.is_empty()) {
            let r = self.round.take().expect("checked");
            out.push(Command::ReloadDone {
                generation: r.generation,
                failed: r.failed,
            });
        }
        if self.phase == Phase::Stopping
            && !self.stopped
            && self.stop_queue.is_empty()
            && self.children.iter().all(|c| c.pid().is_none())
        {
            self.stopped = true;
            out.push(Command::Stopped);
        }
    }

    fn stop(&mut self, now: Instant, out: &mut Vec<Command>) {
        if self.phase == Phase::Stopping {
            return;
        }
        out.push(log(Level::Info, "Stopping".into()));
        self.phase = Phase::Stopping;
        if let Some(r) = self.round.take() {
            let mut failed = r.failed;
            failed.extend(r.pending.into_iter().map(|s| (s, "stopping".to_string())));
            out.push(Command::ReloadDone {
                generation: r.generation,
                failed,
            });
        }
        for c in &mut self.children {
            if let Run::Down { restart_at } = &mut c.run {
                *restart_at = None;
            }
        }
        let enabled: Vec<Subsystem> = self.children.iter().map(|c| c.sub).collect();
        self.stop_queue = Subsystem::stop_order()
            .into_iter()
            .filter(|s| enabled.contains(s))
            .collect();
        self.stop_next(now, out);
    }

    /// Stop the children one at a time, in order.
    fn stop_next(&mut self, now: Instant, out: &mut Vec<Command>) {
        while let Some(&sub) = self.stop_queue.front() {
            let Some(i) = self.index(sub) else {
                self.stop_queue.pop_front();
                continue;
            };
            let Some(pid) = self.children[i].pid() else {
                self.stop_queue.pop_front();
                continue;
            };
            self.children[i].stop_deadline = Some(now + STOP_TIMEOUT);
            out.push(Command::Shutdown { sub, pid });
            return;
        }
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<Command>) {
        let stalled = self
            .last_tick
            .is_some_and(|t| now.saturating_duration_since(t) > heartbeat::INTERVAL * 2);
        self.last_tick = Some(now);
        if stalled {
            for b in self.children.iter_mut().filter_map(|c| c.beat.as_mut()) {
                b.parent_stalled(now);
            }
        }
        if self.phase != Phase::Stopping {
            self.heartbeats(now, out);
        }
        for i in 0..self.children.len() {
            let sub = self.children[i].sub;
            match self.children[i].run {
                Run::Down {
                    restart_at: Some(t),
                } if t <= now && self.phase != Phase::Stopping => {
                    self.children[i].run = Run::Down { restart_at: None };
                    out.push(Command::Spawn(sub));
                }
                Run::Configuring { pid, since, .. }
                    if now >= since + READY_TIMEOUT && self.children[i].killed_for.is_none() =>
                {
                    self.children[i].killed_for = Some(Death::Misbehaved);
                    out.push(log(
                        Level::Error,
                        format!(
                            "{sub} (pid {pid}) did not become ready within {} s; restarting it",
                            READY_TIMEOUT.as_secs()
                        ),
                    ));
                    out.push(Command::Kill { sub, pid });
                }
                _ => {}
            }
            let c = &mut self.children[i];
            if c.stop_deadline.is_some_and(|t| t <= now) {
                c.stop_deadline = None;
                if let Some(pid) = c.pid() {
                    out.push(log(
                        Level::Warn,
                        format!("{sub} did not stop in time; killing it"),
                    ));
                    out.push(Command::Kill { sub, pid });
                }
            }
        }
        if let Phase::Starting { until } = self.phase {
            if now >= until {
                let late: Vec<String> = self
                    .children
                    .iter()
                    .filter(|c| !matches!(c.run, Run::Ready { .. }))
                    .map(|c| c.sub.to_string())
                    .collect();
                out.push(log(
                    Level::Warn,
                    format!("starting without {} (not ready yet)", late.join(", ")),
                ));
                self.start_all(out);
            }
        }
    }
}

impl Lifecycle {
    /// Ask the children that are due; kill those that did not answer in
    /// time (the restart that follows is the usual one, with its replay).
    fn heartbeats(&mut self, now: Instant, out: &mut Vec<Command>) {
        for c in &mut self.children {
            let (Some(pid), Some(beat)) = (c.pid(), c.beat.as_mut()) else {
                continue;
            };
            if c.killed_for.is_some() {
                continue;
            }
            if let Some(waited) = beat.overdue(now) {
                c.killed_for = Some(Death::Misbehaved);
                out.push(log(
                    Level::Error,
                    format!(
                        "{} (pid {pid}) has not answered its heartbeat for {} s (stopped or wedged); restarting it",
                        c.sub,
                        waited.as_secs()
                    ),
                ));
                out.push(Command::Kill { sub: c.sub, pid });
            } else if let Some(seq) = beat.due(now) {
                out.push(Command::Ping { sub: c.sub, seq });
            }
        }
    }
}

fn log(level: Level, text: String) -> Command {
    Command::Log { level, text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Subsystem::{Checker, Ipvs, Vrrp};

    const ALL: [Subsystem; 3] = [Vrrp, Checker, Ipvs];

    /// Commands other than log lines and heartbeat questions (those have
    /// their own tests).
    fn acts(cmds: Vec<Command>) -> Vec<Command> {
        cmds.into_iter()
            .filter(|c| !matches!(c, Command::Log { .. } | Command::Ping { .. }))
            .collect()
    }

    /// The start barrier passing: each child started, then the suite.
    fn started(subs: &[Subsystem]) -> Vec<Command> {
        let mut v: Vec<Command> = subs.iter().map(|&s| Command::Start(s)).collect();
        v.push(Command::Started);
        v
    }

    fn logs(cmds: &[Command]) -> String {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Log { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    struct T {
        l: Lifecycle,
        now: Instant,
        next_pid: u32,
    }

    impl T {
        fn new(subs: &[Subsystem], respawn: bool) -> T {
            let now = Instant::now();
            T {
                l: Lifecycle::new(subs, 1, respawn, now),
                now,
                next_pid: 100,
            }
        }
        fn ev(&mut self, e: Event) -> Vec<Command> {
            self.l.handle(e, self.now)
        }
        fn spawned(&mut self, sub: Subsystem) -> Vec<Command> {
            self.next_pid += 1;
            let pid = self.next_pid;
            self.ev(Event::Spawned { sub, pid })
        }
        fn ready(&mut self, sub: Subsystem, generation: u64) -> Vec<Command> {
            self.ev(Event::Ready { sub, generation })
        }
        fn advance(&mut self, d: Duration) -> Vec<Command> {
            self.now += d;
            self.ev(Event::Tick)
        }
        /// Start all three and pass the barrier.
        fn running() -> T {
            let mut t = T::new(&ALL, true);
            assert_eq!(acts(t.ev(Event::Tick)), ALL.map(Command::Spawn).to_vec());
            for s in ALL {
                assert_eq!(
                    acts(t.spawned(s)),
                    vec![Command::Configure {
                        sub: s,
                        generation: 1
                    }]
                );
            }
            t.ready(Vrrp, 1);
            t.ready(Checker, 1);
            let c = t.ready(Ipvs, 1);
            assert!(logs(&c).contains("All children configured; starting"));
            assert_eq!(acts(c), started(&ALL));
            t
        }
        fn kill(&mut self, sub: Subsystem, how: Death) -> Vec<Command> {
            self.ev(Event::Died {
                sub,
                how,
                what: "was killed by SIGKILL".into(),
            })
        }
    }

    #[test]
    fn start_waits_for_every_child() {
        let mut t = T::new(&ALL, true);
        t.ev(Event::Tick);
        for s in ALL {
            t.spawned(s);
        }
        assert!(acts(t.ready(Vrrp, 1)).is_empty());
        assert!(!t.l.started(Vrrp));
        assert!(t.l.starting(Vrrp));
        assert!(acts(t.ready(Checker, 1)).is_empty());
        assert_eq!(acts(t.ready(Ipvs, 1)), started(&ALL));
        assert!(ALL.iter().all(|&s| t.l.started(s)));
        assert_eq!(t.l.phase(), Phase::Running);
    }

    #[test]
    fn start_goes_on_without_a_late_child() {
        let mut t = T::new(&ALL, true);
        t.ev(Event::Tick);
        for s in ALL {
            t.spawned(s);
        }
        t.ready(Vrrp, 1);
        t.ready(Checker, 1);
        // Their heartbeats come first; the barrier's deadline still holds.
        assert_eq!(t.l.next_deadline(), Some(t.now + heartbeat::INTERVAL));
        assert!(acts(t.advance(STARTUP_WAIT - Duration::from_millis(1))).is_empty());
        let c = t.advance(Duration::from_millis(1));
        assert!(logs(&c).contains("starting without ipvsd"));
        assert_eq!(acts(c), started(&[Vrrp, Checker]));
        // The late one starts as soon as it acks.
        assert_eq!(acts(t.ready(Ipvs, 1)), vec![Command::Start(Ipvs)]);
    }

    #[test]
    fn a_child_that_never_acks_is_killed_then_restarted() {
        let mut t = T::new(&[Vrrp], true);
        t.ev(Event::Tick);
        t.spawned(Vrrp);
        let pid = t.l.pid(Vrrp).unwrap();
        let c = t.advance(READY_TIMEOUT);
        assert!(logs(&c).contains("did not become ready within 30 s"));
        // (Start-up went on without it at STARTUP_WAIT, on the way.)
        assert_eq!(
            acts(c),
            vec![Command::Kill { sub: Vrrp, pid }, Command::Started]
        );
        // Killed by us: backs off (counts as a failure), not 10 ms.
        let c = t.kill(Vrrp, Death::External);
        assert!(logs(&c).contains("restarting in 20 ms"), "{}", logs(&c));
        assert!(acts(t.advance(Duration::from_millis(19))).is_empty());
        assert_eq!(
            acts(t.advance(Duration::from_millis(1))),
            vec![Command::Spawn(Vrrp)]
        );
    }

    /// The OOM killer's SIGKILL backs off (it would kill the child again);
    /// an operator's restarts at once.
    #[test]
    fn an_oom_killed_child_backs_off() {
        let mut t = T::running();
        let c = t.kill(Checker, Death::OutOfMemory);
        assert!(logs(&c).contains("restarting in 20 ms"), "{}", logs(&c));
        assert!(acts(t.advance(Duration::from_millis(19))).is_empty());
        assert_eq!(
            acts(t.advance(Duration::from_millis(1))),
            vec![Command::Spawn(Checker)]
        );
        t.spawned(Checker);
        t.ready(Checker, 1);
        let c = t.kill(Checker, Death::OutOfMemory);
        assert!(logs(&c).contains("restarting in 40 ms"), "{}", logs(&c));
    }

    #[test]
    fn a_killed_child_restarts_with_its_generation_and_starts_at_once() {
        let mut t = T::running();
        let c = t.kill(Checker, Death::External);
        assert!(logs(&c).contains("restarting in 10 ms"));
        assert!(!t.l.started(Checker));
        assert_eq!(t.l.restarts(Checker), 1);
        assert_eq!(
            acts(t.advance(backoff::BASE)),
            vec![Command::Spawn(Checker)]
        );
        assert_eq!(
            acts(t.spawned(Checker)),
            vec![Command::Configure {
                sub: Checker,
                generation: 1
            }]
        );
        assert_eq!(acts(t.ready(Checker, 1)), vec![Command::Start(Checker)]);
    }

    #[test]
    fn reload_waits_for_every_ack() {
        let mut t = T::running();
        let c = acts(t.ev(Event::Reload { generation: 2 }));
        assert_eq!(
            c,
            ALL.map(|sub| Command::Reload { sub, generation: 2 })
                .to_vec()
        );
        assert!(acts(t.ready(Vrrp, 2)).is_empty());
        assert!(acts(t.ready(Ipvs, 2)).is_empty());
        assert_eq!(t.l.accepted(Checker), Some(1));
        assert_eq!(t.l.applying(Checker), Some(2));
        assert_eq!(
            acts(t.ready(Checker, 2)),
            vec![Command::ReloadDone {
                generation: 2,
                failed: vec![]
            }]
        );
        assert_eq!(t.l.generations_in_use(), vec![2]);
    }

    #[test]
    fn a_rejecting_child_keeps_its_plan_and_the_reload_fails() {
        let mut t = T::running();
        t.ev(Event::Reload { generation: 2 });
        t.ready(Vrrp, 2);
        t.ready(Checker, 2);
        let c = t.ev(Event::Rejected {
            sub: Ipvs,
            generation: 2,
            reason: "bad\n".repeat(1000),
        });
        let text = logs(&c);
        assert!(text.contains("ipvsd refused configuration 2"));
        assert!(text.contains("keeps running configuration 1"));
        assert!(text.len() < 400, "a child's reason is logged whole");
        assert_eq!(
            acts(c),
            vec![Command::ReloadDone {
                generation: 2,
                failed: vec![(Ipvs, format!("{}...", "bad ".repeat(64)))]
            }]
        );
        assert_eq!(t.l.accepted(Ipvs), Some(1));
        assert_eq!(t.l.generations_in_use(), vec![1, 2]);
    }

    #[test]
    fn after_a_rejection_a_crash_brings_back_the_accepted_plan() {
        let mut t = T::running();
        t.ev(Event::Reload { generation: 2 });
        t.ready(Vrrp, 2);
        t.ready(Checker, 2);
        t.ev(Event::Rejected {
            sub: Ipvs,
            generation: 2,
            reason: "no".into(),
        });
        t.kill(Ipvs, Death::OnItsOwn);
        t.advance(Duration::from_secs(1));
        // Not generation 2, which it refused: no crash loop.
        assert_eq!(
            acts(t.spawned(Ipvs)),
            vec![Command::Configure {
                sub: Ipvs,
                generation: 1
            }]
        );
        // Started, and not asked to apply 2 again.
        assert_eq!(acts(t.ready(Ipvs, 1)), vec![Command::Start(Ipvs)]);
        // A newer reload is tried again.
        assert_eq!(
            acts(t.ev(Event::Reload { generation: 3 })),
            ALL.map(|sub| Command::Reload { sub, generation: 3 })
                .to_vec()
        );
    }

    #[test]
    fn a_child_that_dies_applying_a_reload_comes_back_on_its_old_plan() {
        let mut t = T::running();
        t.ev(Event::Reload { generation: 2 });
        t.ready(Vrrp, 2);
        t.ready(Ipvs, 2);
        let c = t.kill(Checker, Death::OnItsOwn);
        assert!(logs(&c).contains("died while applying configuration 2"));
        assert_eq!(
            acts(c),
            vec![Command::ReloadDone {
                generation: 2,
                failed: vec![(
                    Checker,
                    "died while applying it (was killed by SIGKILL)".into()
                )]
            }]
        );
        t.advance(Duration::from_secs(1));
        assert_eq!(
            acts(t.spawned(Checker)),
            vec![Command::Configure {
                sub: Checker,
                generation: 1
            }]
        );
    }

    #[test]
    fn reload_while_a_child_restarts_reaches_it_when_it_is_back() {
        let mut t = T::running();
        t.kill(Vrrp, Death::External);
        let c = acts(t.ev(Event::Reload { generation: 2 }));
        assert_eq!(
            c,
            vec![
                Command::Reload {
                    sub: Checker,
                    generation: 2
                },
                Command::Reload {
                    sub: Ipvs,
                    generation: 2
                }
            ]
        );
        t.ready(Checker, 2);
        assert!(
            acts(t.ready(Ipvs, 2)).is_empty(),
            "vrrpd has not applied it"
        );
        t.advance(backoff::BASE);
        assert_eq!(
            acts(t.spawned(Vrrp)),
            vec![Command::Configure {
                sub: Vrrp,
                generation: 2
            }]
        );
        assert_eq!(
            acts(t.ready(Vrrp, 2)),
            vec![
                Command::Start(Vrrp),
                Command::ReloadDone {
                    generation: 2,
                    failed: vec![]
                }
            ]
        );
    }

    #[test]
    fn reload_while_a_child_configures_follows_its_ack() {
        let mut t = T::running();
        t.kill(Vrrp, Death::External);
        t.advance(backoff::BASE);
        t.spawned(Vrrp); // Configure generation 1
        t.ev(Event::Reload { generation: 2 });
        t.ready(Checker, 2);
        t.ready(Ipvs, 2);
        assert_eq!(
            acts(t.ready(Vrrp, 1)),
            vec![
                Command::Start(Vrrp),
                Command::Reload {
                    sub: Vrrp,
                    generation: 2
                }
            ]
        );
        assert_eq!(
            acts(t.ready(Vrrp, 2)),
            vec![Command::ReloadDone {
                generation: 2,
                failed: vec![]
            }]
        );
    }

    #[test]
    fn reloads_in_quick_succession_send_one_at_a_time() {
        let mut t = T::running();
        t.ev(Event::Reload { generation: 2 });
        let c = t.ev(Event::Reload { generation: 3 });
        assert!(logs(&c).contains("Configuration 2 superseded by 3"));
        assert!(acts(c).is_empty(), "a reload is already in flight");
        for s in ALL {
            assert_eq!(
                acts(t.ready(s, 2)),
                vec![Command::Reload {
                    sub: s,
                    generation: 3
                }]
            );
        }
        t.ready(Vrrp, 3);
        t.ready(Checker, 3);
        assert_eq!(
            acts(t.ready(Ipvs, 3)),
            vec![Command::ReloadDone {
                generation: 3,
                failed: vec![]
            }]
        );
    }

    #[test]
    fn stray_acks_change_nothing() {
        let mut t = T::running();
        let c = t.ready(Vrrp, 7);
        assert!(acts(c).is_empty());
        let c = t.ev(Event::Rejected {
            sub: Vrrp,
            generation: 1,
            reason: "x".into(),
        });
        assert!(acts(c).is_empty());
        assert_eq!(t.l.accepted(Vrrp), Some(1));
    }

    #[test]
    fn misbehaviour_kills_and_backs_off() {
        let mut t = T::running();
        let pid = t.l.pid(Checker).unwrap();
        let c = t.ev(Event::Misbehaved {
            sub: Checker,
            why: "sent garbage".into(),
        });
        assert!(logs(&c).contains("sent garbage; restarting it"));
        assert_eq!(acts(c), vec![Command::Kill { sub: Checker, pid }]);
        let c = t.kill(Checker, Death::External);
        assert!(logs(&c).contains("restarting in 20 ms"), "{}", logs(&c));
    }

    #[test]
    fn repeated_failures_are_loud() {
        let mut t = T::new(&[Ipvs], true);
        let mut last = String::new();
        for _ in 0..backoff::LOUD_AFTER {
            t.advance(Duration::from_secs(60));
            t.spawned(Ipvs);
            last = logs(&t.kill(Ipvs, Death::OnItsOwn));
        }
        assert!(last.contains("keeps failing (5 times in a row)"), "{last}");
    }

    #[test]
    fn dont_respawn_leaves_it_down() {
        let mut t = T::new(&[Vrrp, Ipvs], false);
        t.ev(Event::Tick);
        t.spawned(Vrrp);
        t.spawned(Ipvs);
        t.ready(Vrrp, 1);
        t.ready(Ipvs, 1);
        let c = t.kill(Vrrp, Death::OnItsOwn);
        assert!(logs(&c).contains("not restarting it (--dont-respawn)"));
        // Nothing to restart: the next deadline is ipvsd's heartbeat.
        assert_eq!(t.l.next_deadline(), Some(t.now + heartbeat::INTERVAL));
        assert!(acts(t.advance(Duration::from_secs(60))).is_empty());
        // A reload cannot wait for it.
        t.ev(Event::Reload { generation: 2 });
        assert_eq!(
            acts(t.ready(Ipvs, 2)),
            vec![Command::ReloadDone {
                generation: 2,
                failed: vec![(Vrrp, "not running".into())]
            }]
        );
    }

    #[test]
    fn stop_goes_in_order_and_kills_the_slow() {
        let mut t = T::running();
        let pids: Vec<u32> = ALL.iter().map(|&s| t.l.pid(s).unwrap()).collect();
        let c = acts(t.ev(Event::Stop));
        assert_eq!(
            c,
            vec![Command::Shutdown {
                sub: Vrrp,
                pid: pids[0]
            }]
        );
        assert!(acts(t.ev(Event::Stop)).is_empty(), "a second TERM");
        assert!(acts(t.ev(Event::Reload { generation: 2 })).is_empty());
        assert_eq!(
            acts(t.kill(Vrrp, Death::OnItsOwn)),
            vec![Command::Shutdown {
                sub: Checker,
                pid: pids[1]
            }]
        );
        let c = t.advance(STOP_TIMEOUT);
        assert!(logs(&c).contains("checkerd did not stop in time"));
        assert_eq!(
            acts(c),
            vec![Command::Kill {
                sub: Checker,
                pid: pids[1]
            }]
        );
        assert_eq!(
            acts(t.kill(Checker, Death::External)),
            vec![Command::Shutdown {
                sub: Ipvs,
                pid: pids[2]
            }]
        );
        assert_eq!(acts(t.kill(Ipvs, Death::OnItsOwn)), vec![Command::Stopped]);
        // Nothing restarts after the stop.
        assert!(acts(t.advance(Duration::from_secs(60))).is_empty());
    }

    #[test]
    fn stop_while_a_child_is_down_skips_it_and_ends_a_reload() {
        let mut t = T::running();
        t.ev(Event::Reload { generation: 2 });
        t.kill(Vrrp, Death::External);
        let c = acts(t.ev(Event::Stop));
        assert!(c.contains(&Command::ReloadDone {
            generation: 2,
            failed: vec![
                (
                    Vrrp,
                    "died while applying it (was killed by SIGKILL)".into()
                ),
                (Checker, "stopping".into()),
                (Ipvs, "stopping".into())
            ]
        }));
        assert!(matches!(
            c.last(),
            Some(Command::Shutdown { sub: Checker, .. })
        ));
        assert!(acts(t.advance(Duration::from_secs(1))).is_empty());
    }

    #[test]
    fn spawn_failure_retries_with_backoff() {
        let mut t = T::new(&[Vrrp], true);
        t.ev(Event::Tick);
        let c = t.ev(Event::SpawnFailed {
            sub: Vrrp,
            why: "cannot start vrrpd: ENOENT".into(),
        });
        assert!(logs(&c).contains("retrying in 20 ms"));
        assert_eq!(t.l.next_deadline(), Some(t.now + Duration::from_millis(20)));
    }

    /// The heartbeat questions among the commands.
    fn pings(cmds: &[Command]) -> Vec<(Subsystem, u64)> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Ping { sub, seq } => Some((*sub, *seq)),
                _ => None,
            })
            .collect()
    }

    /// Let `d` pass as the parent's loop does (waking at least every
    /// second), `answering` children answering every question at once.
    fn live(t: &mut T, d: Duration, answering: &[Subsystem]) -> Vec<Command> {
        let mut all = Vec::new();
        let end = t.now + d;
        while t.now < end {
            let step = (end - t.now).min(Duration::from_secs(1));
            let c = t.advance(step);
            for (sub, seq) in pings(&c) {
                if answering.contains(&sub) {
                    t.ev(Event::Pong { sub, seq });
                }
            }
            all.extend(c);
        }
        all
    }

    #[test]
    fn started_is_said_once_when_the_barrier_passes() {
        let mut t = T::running();
        t.kill(Vrrp, Death::OnItsOwn);
        t.advance(Duration::from_secs(1));
        t.spawned(Vrrp);
        let c = t.ready(Vrrp, 1);
        assert_eq!(acts(c), vec![Command::Start(Vrrp)]);
    }

    #[test]
    fn answering_children_are_asked_every_interval_and_left_alone() {
        let mut t = T::running();
        for round in 1..=10u64 {
            let c = t.advance(heartbeat::INTERVAL);
            assert_eq!(pings(&c), ALL.map(|s| (s, round)).to_vec());
            assert!(acts(c).is_empty(), "nothing but questions");
            for s in ALL {
                t.ev(Event::Pong { sub: s, seq: round });
            }
            assert!(t.l.children_answering(t.now));
        }
    }

    #[test]
    fn a_child_that_stops_answering_is_killed_restarted_and_asked_again() {
        let mut t = T::running();
        let pid = t.l.pid(Vrrp).unwrap();
        let c = t.advance(heartbeat::INTERVAL);
        assert_eq!(pings(&c).len(), 3);
        t.ev(Event::Pong {
            sub: Checker,
            seq: 1,
        });
        t.ev(Event::Pong { sub: Ipvs, seq: 1 });
        // A wrong answer is no answer.
        t.ev(Event::Pong { sub: Vrrp, seq: 99 });
        let c = live(
            &mut t,
            heartbeat::TIMEOUT - Duration::from_millis(1),
            &[Checker, Ipvs],
        );
        assert!(acts(c).is_empty());
        assert!(t.l.children_answering(t.now));
        assert_eq!(
            t.l.next_deadline(),
            Some(t.now + Duration::from_millis(1)),
            "the parent wakes for the timeout"
        );
        let c = t.advance(Duration::from_millis(1));
        assert!(
            logs(&c).contains(&format!(
                "vrrpd (pid {pid}) has not answered its heartbeat for 10 s (stopped or wedged); restarting it"
            )),
            "{}",
            logs(&c)
        );
        assert_eq!(acts(c), vec![Command::Kill { sub: Vrrp, pid }]);
        // Until it is gone, the watchdog is not fed; it is killed once.
        assert!(!t.l.children_answering(t.now));
        assert!(acts(t.advance(heartbeat::INTERVAL)).is_empty());
        let c = t.kill(Vrrp, Death::External);
        assert!(logs(&c).contains("restarting in"), "{}", logs(&c));
        assert!(t.l.children_answering(t.now));
        t.advance(Duration::from_secs(1));
        t.spawned(Vrrp);
        assert_eq!(acts(t.ready(Vrrp, 1)), vec![Command::Start(Vrrp)]);
        let c = t.advance(heartbeat::INTERVAL);
        assert!(
            pings(&c).contains(&(Vrrp, 1)),
            "the new process is asked afresh"
        );
    }

    #[test]
    fn a_stalled_parent_does_not_blame_its_children() {
        let mut t = T::running();
        t.advance(heartbeat::INTERVAL);
        // The parent did not run for a minute (suspend, SIGSTOP of the
        // parent): nobody could answer.
        let c = t.advance(Duration::from_secs(60));
        assert!(acts(c).is_empty(), "nobody killed");
        let c = live(&mut t, heartbeat::TIMEOUT - Duration::from_millis(1), &[]);
        assert!(acts(c).is_empty());
        let c = t.advance(Duration::from_millis(1));
        assert_eq!(acts(c).len(), 3, "a full timeout later, they are");
    }

    #[test]
    fn no_questions_while_stopping() {
        let mut t = T::running();
        t.ev(Event::Stop);
        let c = t.advance(heartbeat::INTERVAL);
        assert!(pings(&c).is_empty());
    }
}
