//! The parent's event loop: spawns the children, routes their messages,
//! restarts the ones that die, reloads, dumps and stops.
//!
//! The decisions (start-up barrier, restarts, reload barrier, generations,
//! ordered stop) are `lifecycle.rs`'s, without I/O; this shell turns
//! processes, sockets and signals into its events and carries out its
//! commands. It keeps the plan of every generation some child still runs.
//! A child restarted gets its configuration plus the state the parent
//! recorded at spawn; what is routed to it before its `Start` is queued and
//! delivered right after, so nothing is lost in the window.

mod answers;

use crate::backoff::Death;
use crate::control::ControlServer;
use crate::fifo::NotifyFifos;
use crate::hook_script::HookScript;
use crate::lifecycle::{Command, Event, Lifecycle, Phase};
use crate::logfiles;
use crate::pidfile::PidFiles;
use crate::slices::slice;
use crate::spawn::{spawn, ChildOptions};
use crate::state::KnownState;
use crate::user_scripts::UserScripts;
use keepalived_check::probe::client_cert::ClientCert;
use keepalived_config::{Config, LoadOptions};
use keepalived_ipc::control::{ReloadOutcome, Response};
use keepalived_ipc::script_allow::Allowlist;
use keepalived_ipc::{
    decode_from_child, Channel, DumpKind, FromChild, Ids, RecvError, ScriptEnd, Subsystem, ToChild,
    TrackKind, VrrpStateChange, MAX_FROM_CHILD,
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
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SIGNAL_TOKEN: Token = Token(1);
const CHILD_TOKEN_BASE: usize = 10;
/// checkerd's launcher sockets: registered for writability only, so a
/// large allowlist queued behind a full socket is flushed as room appears.
const LAUNCHER_TOKEN_BASE: usize = 40;
/// How long a dump waits for the children's parts.
const DUMP_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes queued towards one child before it counts as not reading.
const MAX_QUEUED_DOWN: usize = 512 << 20;
/// How long a child that closed its channel may take to exit.
const CLOSED_GRACE: Duration = Duration::from_secs(1);
/// Largest part of a dump one child may contribute.
const MAX_DUMP_PART: usize = 64 << 20;
/// Where a part was cut at that size.
const DUMP_CUT: &str = "\n (cut: this part is over 64 MiB)\n";
/// Messages read from one child per turn of the loop.
const DRAIN_BUDGET: usize = 256;
/// Routed messages held for a child between its spawn and its start.
const MAX_HELD: usize = 65_536;
/// Bytes queued towards a child above which the parent stops reading the
/// other children (whose messages it would route there): the sender of a
/// flood waits, its own queue fills and it pays for the overflow; the slow
/// recipient is not killed for messages it never asked for.
const ROUTE_HIGH_WATER: usize = 4 << 20;
/// Reading resumes once every child's queue is back under this.
const ROUTE_LOW_WATER: usize = 1 << 20;
/// Between two "reading paused" warnings for one child.
const PAUSE_WARN_EVERY: Duration = Duration::from_secs(60);

/// Everything the supervisor needs from the command line.
pub struct Settings {
    pub config_path: PathBuf,
    pub load: LoadOptions,
    pub enabled: Vec<Subsystem>,
    pub child: ChildOptions,
    pub log_file: Option<PathBuf>,
    pub pid_files: Vec<(Subsystem, PathBuf)>,
    pub respawn: bool,
    /// `-u`: the umask given on the command line (it beats the file's).
    pub umask_cmdline: Option<u32>,
    /// The network namespace the suite runs in (`-s` or `net_namespace`):
    /// a reload cannot move it.
    pub namespace: Option<String>,
    /// It came from `-s` (which beats the file's `net_namespace`).
    pub namespace_from_cli: bool,
    /// `/run/keepalived/NAMESPACE`, when the pid files went there: removed
    /// at stop once empty.
    pub pid_dir: Option<PathBuf>,
}

/// The I/O side of one child.
struct Slot {
    sub: Subsystem,
    chan: Option<Channel>,
    /// checkerd: the socket its script launcher reads the allowlist from
    /// (the parent only writes; checkerd keeps no copy).
    launcher: Option<Channel>,
    pid_file: Option<PathBuf>,
    /// Routed while it was starting: sent after its `Start`.
    held: Vec<ToChild>,
    /// Its budget ran out with messages left to read.
    more: bool,
    /// Not read while another child's queue is over [`ROUTE_HIGH_WATER`].
    paused: bool,
    /// When the last "reading paused" warning named it.
    pause_warned: Option<Instant>,
    /// When it closed its channel while running: if it is still alive
    /// [`CLOSED_GRACE`] later, it is killed (and restarted).
    closed_at: Option<Instant>,
    /// The kernel's OOM-kill count when it was spawned: a SIGKILL with the
    /// count risen since is the OOM killer's (backed off), not an
    /// operator's.
    oom_at_spawn: Option<u64>,
}

/// One validated configuration, the ids of its objects, its scripts (what
/// checkerd's launcher and the parent may run) and checkerd's plan (which
/// names those scripts by id), each made once.
struct Plan {
    config: Config,
    ids: Ids,
    scripts: Allowlist,
    check: keepalived_check::plan::CheckPlan,
    /// ipvsd's plan (its `nftables_ipvs` marks follow the previous one's).
    ipvs: keepalived_ipvs::plan::IpvsPlan,
    /// Its keywords keepalived-rs does not act on, as logged (for the
    /// status output).
    unsupported: Vec<String>,
}

impl Plan {
    /// `previous`: the scripts of the configuration before (an unchanged
    /// script keeps its id); `next`: above every script id given so far.
    /// `umask`: the one this configuration's scripts run under. `ssl`: the
    /// SSL block's client certificate (loaded by the caller, which refuses
    /// a configuration whose files cannot be used).
    fn new(
        config: Config,
        ids: Ids,
        previous: &Allowlist,
        next: &mut u32,
        umask: u32,
        ssl: Option<&ClientCert>,
        previous_ipvs: Option<&keepalived_ipvs::plan::IpvsPlan>,
    ) -> Plan {
        let mut scripts = Allowlist::of(&config, &ids, unprivileged_user(), previous, next);
        scripts.umask = Some(umask);
        let (check, errors, notes) = crate::check_plan::compile(&config, &ids, &scripts, ssl);
        for e in errors {
            error!("{e}");
        }
        for n in notes {
            warn!("{n}");
        }
        let ipvs = crate::ipvs_plan::compile(&config, &ids, previous_ipvs);
        Plan {
            config,
            ids,
            scripts,
            check,
            ipvs,
            unsupported: Vec::new(),
        }
    }

    /// What child `sub` gets of this configuration.
    fn slice(&self, sub: Subsystem, generation: u64) -> keepalived_ipc::ConfigSlice {
        slice(
            &self.config,
            &self.ids,
            &self.check,
            &self.ipvs,
            sub,
            generation,
        )
    }
}

struct PendingDump {
    kind: DumpKind,
    waiting: Vec<Subsystem>,
    parts: Vec<(Subsystem, String)>,
    deadline: Instant,
    /// A signal asked: write the dump file.
    file: bool,
    /// Control-socket requests answered from it.
    clients: Vec<(u64, answers::Want)>,
}

/// Who asked for a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DumpTo {
    /// A signal: the file in the dump directory, as keepalived.
    File,
    /// A control-socket request.
    Client(u64, answers::Want),
}

pub struct Supervisor {
    poll: Poll,
    sfd: SignalFd,
    slots: Vec<Slot>,
    settings: Settings,
    life: Lifecycle,
    /// checkerd died and ipvsd was told (`Checkers`): tell it when
    /// checkerd runs again.
    checkers_down: bool,
    /// The validated configuration of each generation some child runs,
    /// applies or will get.
    plans: BTreeMap<u64, Plan>,
    /// Above every object id given so far (ids are never reused).
    next_id: u32,
    /// Above every script id given so far.
    next_script: u32,
    /// Messages naming an object their sender's plan does not have.
    unknown_ids: u64,
    /// `events` subscribers: their connection, and JSON (or FIFO lines).
    subscribers: Vec<(u64, bool)>,
    /// How the last reload ended, for the dumps and the status.
    last_reload: Option<ReloadOutcome>,
    /// ipvsd's last word on the kernel's IPVS.
    ipvs_available: Option<bool>,
    /// Control-socket `reload` requests waiting for the barrier of a
    /// generation.
    reload_waiters: Vec<(u64, u64)>,
    control: ControlServer,
    known: KnownState,
    pid_files: PidFiles,
    dump: Option<PendingDump>,
    fifos: NotifyFifos,
    user_scripts: UserScripts,
    socket_budget: crate::check_sockets::Budget,
    service: crate::service::Service,
    stopped: bool,
    /// `startup_script` / `shutdown_script` being waited for.
    hook: Option<HookScript>,
    /// The startup script runs: no child starts before it ends.
    holding: bool,
    /// The shutdown script was started (it runs once).
    shutdown_ran: bool,
    /// Instances with a known state when the last reload began.
    before_reload: std::collections::BTreeSet<String>,
    /// `disable_local_igmp` in force (restored when dropped).
    local_igmp: Option<crate::local_igmp::LocalIgmp>,
    /// The children's scheduling, limits and CPUs (`vrrp_priority`...).
    tuner: crate::tuning::Tuner,
    /// Instances reloads removed (ids are never reused): what vrrpd still
    /// says of them is not a transition.
    deleted_instances: std::collections::BTreeSet<keepalived_ipc::InstanceId>,
}

fn token(i: usize) -> Token {
    Token(CHILD_TOKEN_BASE + i)
}

impl Supervisor {
    /// `unsupported`: the configuration's keywords not acted on, as logged.
    pub fn new(
        settings: Settings,
        config: Config,
        unsupported: Vec<String>,
        pid_files: PidFiles,
        fifos: NotifyFifos,
        mut control: ControlServer,
    ) -> std::io::Result<Self> {
        // keepalived's checker stops when it cannot load these.
        let ssl = crate::ssl_client::load(&config).map_err(|lines| {
            for l in &lines {
                error!("{l}");
            }
            error!("Terminate...");
            std::io::Error::other("the SSL block's files cannot be used")
        })?;
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
        let mask = crate::signals::with_realtime(mask);
        mask.thread_block()?;
        // SAFETY: ignore SIGPIPE; every send uses MSG_NOSIGNAL anyway.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        let poll = Poll::new()?;
        let raw = sfd.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&raw), SIGNAL_TOKEN, Interest::READABLE)?;
        control.register(poll.registry())?;
        let slots = settings
            .enabled
            .iter()
            .map(|&sub| Slot {
                sub,
                chan: None,
                launcher: None,
                held: Vec::new(),
                more: false,
                paused: false,
                pause_warned: None,
                closed_at: None,
                oom_at_spawn: None,
                pid_file: settings
                    .pid_files
                    .iter()
                    .find(|(s, _)| *s == sub)
                    .map(|(_, p)| p.clone()),
            })
            .collect();
        let user_scripts = UserScripts::new(unprivileged_user());
        let life = Lifecycle::new(&settings.enabled, 1, settings.respawn, Instant::now());
        let mut next_id = 0;
        let ids = Ids::assign(&config.object_keys(), &Ids::default(), &mut next_id);
        let mut next_script = 0;
        let umask = crate::file_mode::effective(settings.umask_cmdline, config.global_defs.umask);
        Ok(Supervisor {
            service: crate::service::Service::from_env(Instant::now()),
            socket_budget: Default::default(),
            user_scripts,
            fifos,
            poll,
            sfd,
            slots,
            settings,
            life,
            checkers_down: false,
            plans: BTreeMap::from([(1, {
                let mut p = Plan::new(
                    config,
                    ids,
                    &Allowlist::default(),
                    &mut next_script,
                    umask,
                    ssl.as_ref(),
                    None,
                );
                p.unsupported = unsupported;
                p
            })]),
            next_id,
            next_script,
            unknown_ids: 0,
            last_reload: None,
            ipvs_available: None,
            reload_waiters: Vec::new(),
            subscribers: Vec::new(),
            control,
            known: KnownState::default(),
            pid_files,
            dump: None,
            stopped: false,
            hook: None,
            holding: false,
            shutdown_ran: false,
            before_reload: Default::default(),
            local_igmp: None,
            tuner: Default::default(),
            deleted_instances: Default::default(),
        })
    }

    /// Run until stopped; returns the exit status.
    pub fn run(mut self) -> i32 {
        self.set_local_igmp(self.life.current());
        if let Some(p) = self.plans.get(&self.life.current()) {
            let g = &p.config.global_defs;
            crate::tuning::name_self(g.process_name.as_deref());
            if g.max_auto_priority == 0 {
                // keepalived's advice, in its words (-1 silences it).
                info!("NOTICE: setting config option max_auto_priority should result in better keepalived performance");
            }
        }
        // keepalived runs the startup script before any child.
        let config = self.plans.get(&self.life.current()).map(|p| &p.config);
        self.hook = config
            .and_then(|c| HookScript::start(c, "startup", unprivileged_user(), Instant::now()));
        self.holding = self.hook.is_some();
        // The configuration is parsed and compiled: what that freed goes
        // back (reloads do the same) before the children are forked, so
        // that each fork copies the page tables of a smaller heap; what
        // sending their slices left goes when the start barrier passes
        // (`Command::Started`).
        keepalived_sandbox::release_unused_memory();
        self.tick();
        let mut events = Events::with_capacity(64);
        loop {
            let now = Instant::now();
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(now));
            // Messages or connections left over from a budget: look,
            // don't sleep.
            let timeout = if self.slots.iter().any(|s| s.more) || self.control.busy() {
                Some(Duration::ZERO)
            } else {
                timeout
            };
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
            // Signals first: a stop must get through whatever the children
            // send.
            if tokens.iter().any(|(t, _)| *t == SIGNAL_TOKEN) {
                self.handle_signals();
            }
            for (t, _) in &tokens {
                if self.control.owns(*t) {
                    let asked = self.control.ready(*t, self.poll.registry(), Instant::now());
                    for a in asked {
                        self.control_request(a.conn, a.request);
                    }
                }
            }
            self.control.resume(self.poll.registry(), Instant::now());
            for (t, readable) in tokens {
                if let Some(i) =
                    t.0.checked_sub(CHILD_TOKEN_BASE)
                        .filter(|i| *i < self.slots.len())
                {
                    if readable {
                        self.drain_child(i);
                    }
                }
            }
            for i in 0..self.slots.len() {
                if self.slots[i].more {
                    self.drain_child(i);
                }
            }
            if self
                .hook
                .as_ref()
                .is_some_and(|h| h.deadline() <= Instant::now())
            {
                let over = self
                    .hook
                    .as_mut()
                    .is_some_and(|h| h.expired(Instant::now()));
                if over {
                    self.hook_ended();
                }
            }
            self.tick();
            let now = Instant::now();
            self.service.tick(now, self.life.children_answering(now));
            self.control.expire(now, self.poll.registry());
            for i in 0..self.slots.len() {
                let late = self.slots[i]
                    .closed_at
                    .is_some_and(|t| Instant::now() >= t + CLOSED_GRACE);
                if late {
                    self.slots[i].closed_at = None;
                    if self.life.pid(self.slots[i].sub).is_some() {
                        self.misbehaved(i, "closed its channel but did not exit".into());
                    }
                }
            }
            if self
                .dump
                .as_ref()
                .is_some_and(|d| d.deadline <= Instant::now())
            {
                self.finish_dump();
            }
            self.flush_all();
            self.resume_paused();
            keepalived_log::flush();
            if self.stopped {
                self.local_igmp = None;
                self.control.remove();
                self.user_scripts.terminate_all();
                info!("Stopped keepalived-rs");
                self.pid_files.remove_all();
                if let Some(d) = &self.settings.pid_dir {
                    // keepalived's remove_pid_dir: only when empty.
                    let _ = std::fs::remove_dir(d);
                }
                keepalived_log::flush();
                return 0;
            }
        }
    }

    /// `fifo_write_vrrp_states_on_reload` (keepalived's vrrp_init_state on
    /// a reload): the notify FIFOs get the state of every sync group, and
    /// of every instance the reload kept that is not master (a master
    /// kept as master is not written again, as in keepalived). Instances
    /// that changed state were written as they changed.
    fn states_to_fifos(&mut self, generation: u64) {
        let Some(plan) = self.plans.get(&generation) else {
            return;
        };
        if !plan.config.global_defs.fifo_write_vrrp_states_on_reload {
            return;
        }
        let mut lines = Vec::new();
        for g in &plan.config.vrrp_sync_groups {
            if let Some(s) = plan
                .ids
                .group(&g.name)
                .and_then(|id| self.known.group_state(id))
            {
                lines.push(crate::fifo::group(&g.name, s));
            }
        }
        for i in &plan.config.vrrp_instances {
            let Some(id) = plan.ids.instance(&i.name) else {
                continue;
            };
            if !self.before_reload.contains(&i.name) {
                continue;
            }
            if let Some(s) = self.known.vrrp_change(id) {
                if s.state != keepalived_ipc::VrrpState::Master {
                    lines.push(crate::fifo::instance(&i.name, s.state, s.priority));
                }
            }
        }
        for t in &lines {
            self.fifos.transition(t);
        }
    }

    /// `disable_local_igmp` as `generation` says (set at start, and at a
    /// reload that adds or drops the keyword).
    fn set_local_igmp(&mut self, generation: u64) {
        let want = self
            .plans
            .get(&generation)
            .is_some_and(|p| p.config.global_defs.disable_local_igmp);
        if want != self.local_igmp.is_some() {
            self.local_igmp = want.then(crate::local_igmp::LocalIgmp::disable);
        }
    }

    /// The running instances `config` drops, each with what it reports
    /// (None: nothing, it was in FAULT already).
    fn removed_instances(
        &self,
        config: &Config,
    ) -> Vec<(String, keepalived_ipc::InstanceId, Option<VrrpStateChange>)> {
        use keepalived_ipc::VrrpState;
        let previous = &self.plans[&self.life.current()];
        previous
            .config
            .vrrp_instances
            .iter()
            .filter(|i| !config.vrrp_instances.iter().any(|n| n.name == i.name))
            .filter_map(|i| {
                let instance = previous.ids.instance(&i.name)?;
                let known = self.known.vrrp_change(instance);
                let was = known.map(|k| k.state);
                let state = if i.notify_deleted {
                    Some(VrrpState::Deleted)
                } else {
                    (was.is_some() && was != Some(VrrpState::Fault)).then_some(VrrpState::Fault)
                };
                let change = state.map(|state| VrrpStateChange {
                    instance,
                    group: None,
                    state,
                    priority: known.map_or(0, |k| k.priority),
                });
                Some((i.name.clone(), instance, change))
            })
            .collect()
    }

    /// The lifecycle's clock, held while the startup script runs.
    fn tick(&mut self) {
        if !self.holding {
            self.event(Event::Tick);
        }
    }

    /// The startup or shutdown script is over (or given up on).
    fn hook_ended(&mut self) {
        let Some(h) = self.hook.take() else { return };
        if h.kind == "startup" {
            self.holding = false;
            self.life.begin(Instant::now());
            self.tick();
        } else {
            self.stopped = true;
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.life.next_deadline(),
            self.hook.as_ref().map(HookScript::deadline),
            self.dump.as_ref().map(|d| d.deadline),
            self.service.deadline(),
            self.control.deadline(),
        ]
        .into_iter()
        .chain(
            self.slots
                .iter()
                .map(|s| s.closed_at.map(|t| t + CLOSED_GRACE)),
        )
        .flatten()
        .min()
    }

    fn slot_of(&self, sub: Subsystem) -> usize {
        self.slots
            .iter()
            .position(|s| s.sub == sub)
            .expect("the lifecycle only names enabled children")
    }

    /// Feed the lifecycle one event and carry out what it decides (which
    /// may feed it more events: a spawn's outcome).
    fn event(&mut self, first: Event) {
        let mut pending = vec![first];
        while let Some(ev) = pending.pop() {
            let cmds = self.life.handle(ev, Instant::now());
            for c in cmds {
                if let Some(next) = self.execute(c) {
                    pending.push(next);
                }
            }
        }
    }

    fn execute(&mut self, c: Command) -> Option<Event> {
        match c {
            Command::Spawn(sub) => return Some(self.spawn_child(sub)),
            Command::Configure { sub, generation } => {
                let i = self.slot_of(sub);
                self.slots[i].held.clear();
                self.send_allowlist(i, generation);
                let plan = &self.plans[&generation];
                let msg = ToChild::Configure {
                    slice: Box::new(plan.slice(sub, generation)),
                    replay: self.known.replay_for(sub),
                };
                self.send(i, &msg);
            }
            Command::Start(sub) => {
                let i = self.slot_of(sub);
                self.send(i, &ToChild::Start);
                for m in std::mem::take(&mut self.slots[i].held) {
                    self.send(i, &m);
                }
                // (Only after a death: at the first start ipvsd counts on
                // checkerd anyway.)
                if sub == Subsystem::Checker && std::mem::take(&mut self.checkers_down) {
                    self.route(&[Subsystem::Ipvs], ToChild::Checkers { running: true });
                }
            }
            Command::Reload { sub, generation } => {
                let i = self.slot_of(sub);
                self.send_allowlist(i, generation);
                let plan = &self.plans[&generation];
                let msg = ToChild::Reload {
                    slice: Box::new(plan.slice(sub, generation)),
                };
                self.send(i, &msg);
            }
            Command::Kill { sub, pid } => {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                let i = self.slot_of(sub);
                self.close_channel(i);
            }
            Command::Shutdown { sub, pid } => {
                let i = self.slot_of(sub);
                if self.slots[i].chan.is_some() {
                    self.send(i, &ToChild::Shutdown);
                } else {
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                }
            }
            Command::Log { level, text } => log::log!(level, "{text}"),
            Command::Started => {
                let status = self.status_line();
                self.service.started(&status);
                // Start-up's work (slices, spawning, the barrier) is over:
                // what it allocated and mapped goes too.
                keepalived_sandbox::release_unused_memory();
            }
            Command::Ping { sub, seq } => {
                let i = self.slot_of(sub);
                self.send(i, &ToChild::Ping { seq });
            }
            Command::ReloadDone { generation, failed } => {
                let outcome = if failed.is_empty() {
                    info!("Configuration {generation} applied by every child");
                    ReloadOutcome {
                        generation,
                        result: "applied".into(),
                        details: Vec::new(),
                    }
                } else {
                    let why: Vec<String> =
                        failed.iter().map(|(s, r)| format!("{s}: {r}")).collect();
                    error!(
                        "Reload of configuration {generation} failed ({})",
                        why.join("; ")
                    );
                    ReloadOutcome {
                        generation,
                        result: "failed".into(),
                        details: why,
                    }
                };
                self.reload_over(outcome);
                if !failed.iter().any(|(s, _)| *s == Subsystem::Vrrp) {
                    self.states_to_fifos(generation);
                }
                let keep = self.life.generations_in_use();
                self.plans.retain(|g, _| keep.contains(g));
            }
            Command::Stopped => {
                // A startup script still running is abandoned; then the
                // shutdown script, once, before the suite exits.
                if self.holding {
                    self.holding = false;
                    if let Some(h) = self.hook.take() {
                        h.abandon();
                    }
                }
                if !self.shutdown_ran {
                    self.shutdown_ran = true;
                    let config = self.plans.get(&self.life.current()).map(|p| &p.config);
                    self.hook = config.and_then(|c| {
                        HookScript::start(c, "shutdown", unprivileged_user(), Instant::now())
                    });
                }
                if self.hook.is_none() {
                    self.stopped = true;
                }
            }
        }
        None
    }

    /// Give checkerd's launcher the scripts of `generation` (sent before
    /// the plan itself: the launcher refuses what no list it has names).
    fn send_allowlist(&mut self, i: usize, generation: u64) {
        let Some(l) = self.slots[i].launcher.as_mut() else {
            return;
        };
        let r = keepalived_ipc::encode(&self.plans[&generation].scripts)
            .map_err(|_| nix::errno::Errno::EINVAL)
            .and_then(|b| l.send_bytes(&b, Vec::new()));
        if let Err(e) = r {
            error!("cannot give checkerd's script launcher its allowlist: {e}");
        }
    }

    /// The generation checkerd runs (or is moving to): what its script and
    /// socket requests are checked against.
    fn checker_generation(&self) -> u64 {
        self.life
            .applying(Subsystem::Checker)
            .or(self.life.accepted(Subsystem::Checker))
            .filter(|g| self.plans.contains_key(g))
            .unwrap_or(self.life.current())
    }

    /// Look an id up in the plans `sub` runs or applies: a child may name
    /// only objects of its own plan (anything else is dropped and counted,
    /// never recorded or routed).
    fn lookup<T>(&mut self, sub: Subsystem, f: impl Fn(&Ids) -> Option<T>) -> Option<T> {
        let found = [self.life.accepted(sub), self.life.applying(sub)]
            .into_iter()
            .flatten()
            .filter_map(|g| self.plans.get(&g))
            .find_map(|p| f(&p.ids));
        if found.is_none() {
            self.unknown_ids += 1;
            debug!("{sub} named an object its plan does not have");
        }
        found
    }

    fn spawn_child(&mut self, sub: Subsystem) -> Event {
        let i = self.slot_of(sub);
        self.slots[i].oom_at_spawn = crate::backoff::oom_kills();
        let (mine, theirs) = match Channel::pair() {
            Ok(p) => p,
            Err(e) => {
                return Event::SpawnFailed {
                    sub,
                    why: format!("socketpair: {e}"),
                }
            }
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
        // checkerd's launcher learns which scripts it may run from us.
        let launcher = if sub == Subsystem::Checker {
            match Channel::pair() {
                Ok(p) => Some(p),
                Err(e) => {
                    return Event::SpawnFailed {
                        sub,
                        why: format!("socketpair: {e}"),
                    }
                }
            }
        } else {
            None
        };
        let no_swap = self
            .plans
            .get(&self.life.current())
            .is_some_and(|p| crate::tuning::tuning_of(&p.config.global_defs, sub).no_swap);
        let privs = if no_swap {
            keepalived_sandbox::with_memory_lock(privileges_for(sub))
        } else {
            privileges_for(sub)
        };
        let pid = match spawn(
            sub,
            &self.settings.child,
            privs,
            &theirs,
            log_fd.as_ref(),
            launcher.as_ref().map(|(_, theirs)| theirs),
        ) {
            Ok(pid) => pid,
            Err(e) => {
                return Event::SpawnFailed {
                    sub,
                    why: format!("cannot start {sub}: {e}"),
                }
            }
        };
        drop(theirs);
        drop(log_fd);
        if let Some(p) = self.plans.get(&self.life.current()) {
            self.tuner.spawned(sub, pid, &p.config.global_defs);
        }
        self.slots[i].launcher = launcher.and_then(|(mine, _)| {
            let chan = Channel::new(mine, 1 << 16, MAX_QUEUED_DOWN)
                .map_err(|e| error!("launcher socket for {sub}: {e}"))
                .ok()?;
            let raw = chan.raw_fd();
            let t = Token(LAUNCHER_TOKEN_BASE + i);
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut SourceFd(&raw), t, Interest::WRITABLE)
            {
                error!("cannot watch the launcher socket: {e}");
            }
            Some(chan)
        });
        match Channel::new(mine, MAX_FROM_CHILD, MAX_QUEUED_DOWN) {
            Ok(chan) => {
                let raw = chan.raw_fd();
                if let Err(e) = self.poll.registry().register(
                    &mut SourceFd(&raw),
                    token(i),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    error!("cannot watch {sub}'s IPC socket: {e}");
                }
                self.slots[i].chan = Some(chan);
            }
            // The child finds no channel and exits; SIGCHLD restarts it.
            Err(e) => error!("IPC socket for {sub}: {e}"),
        }
        if let Some(p) = self.slots[i].pid_file.clone() {
            self.pid_files.write(&p, pid);
        }
        Event::Spawned { sub, pid }
    }

    /// Read at most [`DRAIN_BUDGET`] messages from child `i`: a child that
    /// floods valid messages cannot keep the parent from its signals
    /// (SIGTERM), its timers or the other children; the rest is read on the
    /// next turn of the loop, which does not sleep while some is left.
    fn drain_child(&mut self, i: usize) {
        let sub = self.slots[i].sub;
        self.slots[i].more = false;
        for _ in 0..DRAIN_BUDGET {
            if self.pause_if_congested(i) {
                return;
            }
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
                    // On a SEQPACKET socket an empty datagram reads like the
                    // end: a child that is not stopping either is exiting
                    // (SIGCHLD will tell how) or is trying to leave
                    // supervision. Give it a moment to die before deciding.
                    self.close_channel(i);
                    if self.life.phase() != Phase::Stopping {
                        self.slots[i].closed_at = Some(Instant::now());
                    }
                    return;
                }
                Err(e) => return self.misbehaved(i, e.to_string()),
            };
            match decode_from_child(&bytes) {
                Ok(m) => {
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
        // Budget spent: the rest on the next turn.
        self.slots[i].more = self.slots[i].chan.is_some();
    }

    /// The child (other than `i`) with the most bytes queued, and how many.
    fn fullest_other(&self, i: usize) -> Option<(usize, usize)> {
        (0..self.slots.len())
            .filter(|&j| j != i)
            .filter_map(|j| self.slots[j].chan.as_ref().map(|c| (j, c.queued_bytes())))
            .max_by_key(|&(_, q)| q)
    }

    /// Backpressure: while a child has more than [`ROUTE_HIGH_WATER`]
    /// queued, child `i`'s messages (which may be routed there) stay in its
    /// socket. Whoever floods fills its own queue; a stuck recipient is the
    /// heartbeat's business.
    fn pause_if_congested(&mut self, i: usize) -> bool {
        let Some((j, queued)) = self.fullest_other(i) else {
            return false;
        };
        if queued <= ROUTE_HIGH_WATER {
            return false;
        }
        let now = Instant::now();
        let reader = self.slots[j].sub;
        let slot = &mut self.slots[i];
        slot.paused = true;
        if slot
            .pause_warned
            .is_none_or(|t| now.duration_since(t) >= PAUSE_WARN_EVERY)
        {
            slot.pause_warned = Some(now);
            warn!(
                "Reading from {} paused: {} has {} KiB of messages it has not read yet \
                 (the sender waits, the reader is not killed)",
                slot.sub,
                reader,
                queued >> 10
            );
        }
        true
    }

    /// Paused children are read again once every queue is under
    /// [`ROUTE_LOW_WATER`] (on the next turn: no readiness edge will come
    /// for what is already in their sockets).
    fn resume_paused(&mut self) {
        for i in 0..self.slots.len() {
            if !self.slots[i].paused {
                continue;
            }
            let clear = self
                .fullest_other(i)
                .is_none_or(|(_, q)| q <= ROUTE_LOW_WATER);
            if clear {
                self.slots[i].paused = false;
                self.slots[i].more = self.slots[i].chan.is_some();
            }
        }
    }

    fn handle_message(&mut self, i: usize, m: FromChild) {
        let sub = self.slots[i].sub;
        match m {
            FromChild::Ready { generation } => self.event(Event::Ready { sub, generation }),
            FromChild::Pong { seq } => self.event(Event::Pong { sub, seq }),
            FromChild::Late { by_us } => {
                if let (Some(pid), Some(p)) =
                    (self.life.pid(sub), self.plans.get(&self.life.current()))
                {
                    self.tuner.late(sub, pid, by_us, &p.config.global_defs);
                }
            }
            FromChild::Ipvs { available } => self.ipvs_available = Some(available),
            FromChild::CheckTimes(times) => {
                for t in times.into_iter().take(keepalived_ipc::MAX_CHECK_TIMES) {
                    if self
                        .lookup(sub, |ids| ids.real_server_key(t.real_server).map(|_| ()))
                        .is_some()
                    {
                        let took = std::time::Duration::from_micros(t.micros);
                        self.known.record_check_time(t.real_server, took);
                    }
                }
            }
            FromChild::Rejected { generation, reason } => {
                self.event(Event::Rejected {
                    sub,
                    generation,
                    reason,
                });
                // Its launcher goes back to the scripts it runs.
                if let Some(g) = self.life.accepted(sub) {
                    self.send_allowlist(i, g);
                }
            }
            FromChild::VrrpState(s) if self.deleted_instances.contains(&s.instance) => {
                // Reported at the reload already (FAULT or DELETED).
                self.route(&[Subsystem::Ipvs], ToChild::VrrpState(s));
            }
            FromChild::VrrpState(s) => {
                let Some(name) = self.lookup(sub, |ids| {
                    let group_known = s.group.is_none_or(|g| ids.group_name(g).is_some());
                    ids.instance_name(s.instance)
                        .filter(|_| group_known)
                        .map(str::to_string)
                }) else {
                    return;
                };
                self.known.record_vrrp(&s);
                self.transition(crate::fifo::instance(&name, s.state, s.priority));
                self.route(
                    &[Subsystem::Checker, Subsystem::Ipvs],
                    ToChild::VrrpState(s),
                );
            }
            FromChild::MasterRxLowerPri { instance, priority } => {
                let Some(name) =
                    self.lookup(sub, |ids| ids.instance_name(instance).map(str::to_string))
                else {
                    return;
                };
                self.transition(crate::fifo::rx_lower_pri(&name, priority));
                self.route(&[Subsystem::Checker], ToChild::MasterRxLowerPri(instance));
            }
            FromChild::PriorityChanged {
                instance,
                priority,
                master,
            } => {
                let Some(name) =
                    self.lookup(sub, |ids| ids.instance_name(instance).map(str::to_string))
                else {
                    return;
                };
                self.transition(crate::fifo::priority(&name, priority, master));
            }
            FromChild::GroupState(g) => {
                let Some(name) =
                    self.lookup(sub, |ids| ids.group_name(g.group).map(str::to_string))
                else {
                    return;
                };
                self.known.record_group(g.group, g.state);
                self.transition(crate::fifo::group(&name, g.state));
                self.route(&[Subsystem::Checker], ToChild::GroupState(g));
            }
            FromChild::Health(h) => {
                let Some((vk, rk)) = self.lookup(sub, |ids| {
                    let (vs, rk) = ids.real_server_key(h.real_server)?;
                    let vk = ids
                        .virtual_server_key(vs)
                        .filter(|_| vs == h.virtual_server)?;
                    Some((vk.to_string(), rk.to_string()))
                }) else {
                    return;
                };
                // keepalived notifies a change, and a first (up) state
                // only with rs_init_notifies; not a weight alone.
                let before = self.known.record_health(&h);
                let init = self
                    .plans
                    .get(&self.life.current())
                    .is_some_and(|p| p.config.global_defs.rs_init_notifies);
                if before.map_or(h.up && init, |b| b != h.up) {
                    self.transition(crate::fifo::real_server(&vk, &rk, h.up));
                }
                self.route(&[Subsystem::Ipvs], ToChild::Health(h));
            }
            FromChild::Track(t) => {
                // Only trackers of its plan, of the kinds checkerd watches.
                let watched = |k: TrackKind| {
                    matches!(k, TrackKind::Script | TrackKind::File | TrackKind::Process)
                };
                if self
                    .lookup(sub, |ids| {
                        ids.tracker_key(t.tracker)
                            .map(|(k, _)| k)
                            .filter(|k| watched(*k))
                    })
                    .is_none()
                {
                    return;
                }
                self.known.record_track(&t);
                self.route(&[Subsystem::Vrrp], ToChild::Track(t));
            }
            FromChild::Quorum(q) => {
                let Some(vk) = self.lookup(sub, |ids| {
                    ids.virtual_server_key(q.virtual_server).map(str::to_string)
                }) else {
                    return;
                };
                self.known.record_quorum(q.virtual_server, q.up);
                self.transition(crate::fifo::quorum(&vk, q.up));
                self.route(&[Subsystem::Checker], ToChild::Quorum(q));
            }
            FromChild::HaSuspend {
                virtual_server,
                active,
            } => {
                if self
                    .lookup(sub, |ids| {
                        ids.virtual_server_key(virtual_server).map(|_| ())
                    })
                    .is_none()
                {
                    return;
                }
                self.known.record_ha(virtual_server, active);
                self.route(
                    &[Subsystem::Checker],
                    ToChild::HaSuspend {
                        virtual_server,
                        active,
                    },
                );
            }
            FromChild::RunScript(r) => {
                let g = self.checker_generation();
                let mut lists = vec![&self.plans[&g].scripts];
                if let Some(old) = self
                    .life
                    .accepted(Subsystem::Checker)
                    .filter(|a| *a != g)
                    .and_then(|a| self.plans.get(&a))
                {
                    lists.push(&old.scripts);
                }
                if self.user_scripts.start(&r, &lists).is_err() {
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
                    crate::check_sockets::make(
                        &self.plans[&self.checker_generation()].config,
                        &request,
                    )
                } else {
                    Vec::new()
                };
                let msg = ToChild::Sockets {
                    given: fds.len() as u32,
                    request,
                };
                self.send_with(i, &msg, fds);
            }
            FromChild::Dump { kind, text, last } => self.dump_part(sub, kind, text, last),
        }
    }

    /// Deliver to the started children of `to`; a child still starting
    /// gets it right after its `Start` (its replay was taken at spawn).
    fn route(&mut self, to: &[Subsystem], msg: ToChild) {
        for i in 0..self.slots.len() {
            let sub = self.slots[i].sub;
            if !to.contains(&sub) {
                continue;
            }
            if self.life.started(sub) {
                self.send(i, &msg);
            } else if self.life.starting(sub) {
                if self.slots[i].held.len() >= MAX_HELD {
                    self.slots[i].held.clear();
                    self.misbehaved(i, "is too slow to start".into());
                } else {
                    self.slots[i].held.push(msg.clone());
                }
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

    /// A child broke the protocol: the lifecycle kills it (and restarts it).
    fn misbehaved(&mut self, i: usize, why: String) {
        let sub = self.slots[i].sub;
        self.close_channel(i);
        self.event(Event::Misbehaved { sub, why });
    }

    fn close_channel(&mut self, i: usize) {
        if let Some(l) = self.slots[i].launcher.take() {
            let raw = l.raw_fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&raw));
        }
        if let Some(chan) = self.slots[i].chan.take() {
            let raw = chan.raw_fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&raw));
        }
    }

    fn handle_signals(&mut self) {
        while let Ok(Some(si)) = self.sfd.read_signal() {
            match si.ssi_signo as i32 {
                libc::SIGCHLD => self.reap(),
                libc::SIGHUP => {
                    self.reload();
                }
                libc::SIGTERM | libc::SIGINT => {
                    if self.life.phase() != Phase::Stopping {
                        self.service.stopping();
                    }
                    self.event(Event::Stop)
                }
                libc::SIGUSR1 => self.begin_dump(DumpKind::Data, DumpTo::File),
                libc::SIGUSR2 => self.begin_dump(DumpKind::Stats, DumpTo::File),
                s if s == crate::signals::json() => self.begin_dump(DumpKind::Json, DumpTo::File),
                s if s == crate::signals::stats_clear() => {
                    self.begin_dump(DumpKind::StatsClear, DumpTo::File)
                }
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
                    if self.hook.as_ref().is_some_and(|h| h.reaped(&status)) {
                        self.hook_ended();
                    } else if let Some((id, end)) = self.user_scripts.reaped(status) {
                        self.route(&[Subsystem::Checker], ToChild::ScriptEnded { id, end });
                    } else if let Some(pid) = status.pid() {
                        self.child_died(pid, status);
                    }
                }
            }
        }
    }

    fn child_died(&mut self, pid: Pid, status: WaitStatus) {
        let Some(i) = self
            .slots
            .iter()
            .position(|s| self.life.pid(s.sub) == Some(pid.as_raw() as u32))
        else {
            debug!("reaped unknown pid {pid}");
            return;
        };
        self.close_channel(i);
        self.slots[i].held.clear();
        self.slots[i].closed_at = None;
        let sub = self.slots[i].sub;
        if sub == Subsystem::Checker {
            self.user_scripts.checker_gone();
            // ipvsd's announced addresses depend on health reports (at
            // stop, checkerd's end is expected).
            if self.life.phase() != crate::lifecycle::Phase::Stopping {
                self.route(&[Subsystem::Ipvs], ToChild::Checkers { running: false });
                self.checkers_down = true;
            }
        }
        let how = match status {
            WaitStatus::Signaled(_, Signal::SIGKILL, _) => crate::backoff::sigkill_cause(
                self.slots[i].oom_at_spawn,
                crate::backoff::oom_kills(),
            ),
            WaitStatus::Signaled(_, Signal::SIGTERM | Signal::SIGINT, _) => Death::External,
            _ => Death::OnItsOwn,
        };
        let what = match status {
            WaitStatus::Signaled(_, Signal::SIGKILL, _) if how == Death::OutOfMemory => {
                "was killed by SIGKILL (the kernel's OOM killer)".into()
            }
            WaitStatus::Exited(_, code) => format!("exited with status {code}"),
            WaitStatus::Signaled(_, Signal::SIGSYS, _) => {
                "was killed by SIGSYS (seccomp violation)".into()
            }
            WaitStatus::Signaled(_, sig, _) => format!("was killed by {sig}"),
            other => format!("ended ({other:?})"),
        };
        if let Some(p) = self.slots[i].pid_file.clone() {
            self.pid_files.remove(&p);
        }
        self.event(Event::Died { sub, how, what });
    }

    fn flush_all(&mut self) {
        for i in 0..self.slots.len() {
            if let Some(chan) = self.slots[i].chan.as_mut() {
                if let Err(e) = chan.flush() {
                    debug!("{}: send failed: {e}", self.slots[i].sub);
                }
            }
            if let Some(l) = self.slots[i].launcher.as_mut() {
                let _ = l.flush();
            }
        }
    }

    /// SIGHUP: a new generation, if the file can run; the lifecycle brings
    /// each child to it and reports when all have answered. Returns that
    /// generation (None: stopping, or the file did not load). What the load
    /// freed goes back to the kernel, as after the first load.
    fn reload(&mut self) -> Option<u64> {
        let generation = self.load_generation();
        keepalived_sandbox::release_unused_memory();
        generation
    }

    /// [`Supervisor::reload`]'s work: load, compile and hand out the file.
    fn load_generation(&mut self) -> Option<u64> {
        if self.life.phase() == Phase::Stopping {
            return None;
        }
        info!(
            "Reloading configuration from {}",
            self.settings.config_path.display()
        );
        self.service.reloading();
        let loaded =
            match keepalived_config::load_file(&self.settings.config_path, &self.settings.load) {
                Ok(l) => l,
                Err(e) => {
                    error!("Reload failed; keeping the running configuration:");
                    for d in &e.diagnostics {
                        error!("{d}");
                    }
                    // No generation is made for it: the number says which
                    // one it would have been.
                    self.reload_over(ReloadOutcome {
                        generation: self.life.current() + 1,
                        result: "not loaded".into(),
                        details: e.diagnostics.iter().map(|d| d.to_string()).collect(),
                    });
                    return None;
                }
            };
        // The SSL block's files, read again (a renewed certificate
        // applies): what cannot be used refuses the reload before
        // anything changes.
        let ssl = match crate::ssl_client::load(&loaded.config) {
            Ok(s) => s,
            Err(lines) => {
                error!("Reload failed; keeping the running configuration:");
                for l in &lines {
                    error!("{l}");
                }
                self.reload_over(ReloadOutcome {
                    generation: self.life.current() + 1,
                    result: "not loaded".into(),
                    details: lines,
                });
                return None;
            }
        };
        for d in &loaded.diagnostics {
            warn!("{d}");
        }
        for n in &loaded.notes {
            info!("{n}");
        }
        let unsupported = loaded.unsupported_lines();
        for u in &unsupported {
            warn!("{u}");
        }
        let generation = self.life.current() + 1;
        let mut config = loaded.config;
        // keepalived 2.2.7: the namespace stays what it was (-s beats the
        // file anyway); the rest of the reload applies.
        let wanted = if self.settings.namespace_from_cli {
            self.settings.namespace.clone()
        } else {
            config.net_namespace.clone()
        };
        if wanted != self.settings.namespace {
            warn!("Cannot change network namespace at a reload - please restart keepalived");
        }
        crate::script_security::apply(&mut config, unprivileged_user());
        let umask =
            crate::file_mode::effective(self.settings.umask_cmdline, config.global_defs.umask);
        crate::file_mode::apply(umask);
        let removed = self.removed_instances(&config);
        // keepalived 2.2.7 (clear_diff_vrrp): an instance the reload
        // removes reports DELETED with `notify_deleted`, else FAULT (its
        // old way, kept as the default) unless it is in FAULT already —
        // never STOP. Sent before checkerd's reload (the same channel, in
        // order), so it still has the instance's scripts; vrrpd's STOP for
        // it is dropped.
        for (name, instance, change) in removed {
            self.deleted_instances.insert(instance);
            let Some(change) = change else {
                continue;
            };
            info!("({name}) removed by the reload: {}", change.state.as_str());
            self.transition(crate::fifo::instance(&name, change.state, change.priority));
            self.route(&[Subsystem::Checker], ToChild::VrrpState(change));
        }
        let previous = &self.plans[&self.life.current()];
        self.before_reload = previous
            .config
            .vrrp_instances
            .iter()
            .filter(|i| {
                previous
                    .ids
                    .instance(&i.name)
                    .is_some_and(|id| self.known.vrrp_state(id).is_some())
            })
            .map(|i| i.name.clone())
            .collect();
        let ids = Ids::assign(&config.object_keys(), &previous.ids, &mut self.next_id);
        self.known.retain(&ids);
        self.fifos.reopen(&config, unprivileged_user());
        let mut plan = Plan::new(
            config,
            ids,
            &previous.scripts,
            &mut self.next_script,
            umask,
            ssl.as_ref(),
            Some(&previous.ipvs),
        );
        plan.unsupported = unsupported;
        self.plans.insert(generation, plan);
        self.set_local_igmp(generation);
        if let Some(p) = self.plans.get(&generation) {
            let g = &p.config.global_defs;
            crate::tuning::name_self(g.process_name.as_deref());
            let life = &self.life;
            self.tuner.reloaded(g, |sub| life.pid(sub));
        }
        self.event(Event::Reload { generation });
        Some(generation)
    }

    /// One line for `systemctl status`: the configuration running, the
    /// VRRP states the parent has heard of, and how the last reload ended.
    fn status_line(&self) -> String {
        let states = self.known.vrrp_counts();
        let mut line = format!("Configuration {}", self.life.current());
        if !states.is_empty() {
            let parts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
            line.push_str(&format!("; VRRP: {}", parts.join(", ")));
        }
        if let Some(r) = &self.last_reload {
            line.push_str(&format!("; {}", answers::reload_line(r)));
        }
        line
    }

    fn begin_dump(&mut self, kind: DumpKind, to: DumpTo) {
        if let Some(d) = self.dump.as_mut() {
            // The one being collected serves whoever asks for the same.
            match to {
                _ if d.kind != kind => {
                    if let DumpTo::Client(conn, _) = to {
                        let busy =
                            Response::Error("another dump is being collected; try again".into());
                        self.control.answer(conn, &busy, self.poll.registry());
                    }
                }
                DumpTo::File => d.file = true,
                DumpTo::Client(conn, want) => d.clients.push((conn, want)),
            }
            return;
        }
        let mut waiting = Vec::new();
        for i in 0..self.slots.len() {
            // keepalived's JSON dump is the VRRP process's alone.
            if kind == DumpKind::Json && self.slots[i].sub != Subsystem::Vrrp {
                continue;
            }
            if self.life.started(self.slots[i].sub) && self.slots[i].chan.is_some() {
                waiting.push(self.slots[i].sub);
                self.send(i, &ToChild::Dump(kind));
            }
        }
        self.dump = Some(PendingDump {
            kind,
            waiting,
            parts: Vec::new(),
            deadline: Instant::now() + DUMP_TIMEOUT,
            file: to == DumpTo::File,
            clients: match to {
                DumpTo::File => Vec::new(),
                DumpTo::Client(conn, want) => vec![(conn, want)],
            },
        });
        if self.dump.as_ref().is_some_and(|d| d.waiting.is_empty()) {
            self.finish_dump();
        }
    }

    /// A piece of `sub`'s part of the dump (its last when `last`). A part
    /// is capped (a child cannot grow the parent's memory without bound);
    /// past the cap the rest is dropped and said so.
    fn dump_part(&mut self, sub: Subsystem, kind: DumpKind, text: String, last: bool) {
        let Some(d) = self.dump.as_mut() else { return };
        if d.kind != kind || !d.waiting.contains(&sub) {
            return;
        }
        let part = match d.parts.iter_mut().find(|(s, _)| *s == sub) {
            Some((_, p)) => p,
            None => {
                d.parts.push((sub, String::new()));
                &mut d.parts.last_mut().expect("just pushed").1
            }
        };
        if part.len() + text.len() <= MAX_DUMP_PART {
            part.push_str(&text);
        } else if !part.ends_with(DUMP_CUT) {
            part.push_str(DUMP_CUT);
        }
        if last {
            d.waiting.retain(|s| *s != sub);
        }
        if d.waiting.is_empty() {
            self.finish_dump();
        }
    }

    fn finish_dump(&mut self) {
        let Some(d) = self.dump.take() else { return };
        let text = if d.kind == DumpKind::Json {
            // vrrpd's text as it is; nothing at all without instances (as
            // keepalived), or when vrrpd did not answer in time.
            let json = d.parts.iter().map(|(_, p)| p.as_str()).collect::<String>();
            if json.is_empty() || json == "[]\n" || !d.waiting.is_empty() {
                None
            } else {
                Some(json)
            }
        } else {
            Some(self.dump_text(&d))
        };
        if d.file {
            self.write_dump(d.kind, text.as_deref());
        }
        for (conn, want) in d.clients {
            let answer = self.answer_from_dump(want, text.as_deref());
            self.control.answer(conn, &answer, self.poll.registry());
        }
    }

    /// keepalived 2.2.7's open_dump_file: with `data_use_instance` and a
    /// namespace or an instance name, `keepalived.NAMESPACE_NAME.data`
    /// (the stats and JSON dumps keep their names there too).
    /// The namespace and instance name are the syslog idents' suffix
    /// (`_NAMESPACE_NAME`), fixed at start.
    fn data_dump_name(&self) -> String {
        let used = self
            .plans
            .get(&self.life.current())
            .is_some_and(|p| p.config.global_defs.data_use_instance);
        match self.settings.child.ident_suffix.as_deref() {
            Some(suffix) if used => format!("keepalived.{}.data", suffix.trim_start_matches('_')),
            _ => "keepalived.data".into(),
        }
    }

    fn write_dump(&self, kind: DumpKind, text: Option<&str>) {
        let name = match kind {
            DumpKind::Data => self.data_dump_name(),
            DumpKind::Stats | DumpKind::StatsClear => "keepalived.stats".into(),
            DumpKind::Json => "keepalived.json".into(),
        };
        let path = crate::dumpfile::dump_dir().join(name);
        let Some(text) = text else {
            info!("No VRRP instance to write to {}", path.display());
            return;
        };
        match crate::dumpfile::write(&path, text.as_bytes()) {
            Ok(()) => info!("Wrote {}", path.display()),
            Err(e) => error!("cannot write {}: {e}", path.display()),
        }
    }

    /// The data or stats dump: the parent's part, then each child's.
    fn dump_text(&self, d: &PendingDump) -> String {
        let mut text = String::from("------< Parent >------\n");
        text.push_str(&format!(
            " Configuration generation: {}\n",
            self.life.current()
        ));
        if let Some(r) = &self.last_reload {
            text.push_str(&format!(" Last reload: {}\n", answers::reload_line(r)));
        }
        text.push_str(&format!(
            " Log lines dropped: {}\n",
            keepalived_log::dropped()
        ));
        text.push_str(&format!(
            " Notify FIFO lines written: {}, dropped: {}\n",
            self.fifos.written, self.fifos.dropped
        ));
        text.push_str(&format!(
            " Messages naming unknown objects: {}\n",
            self.unknown_ids
        ));
        for s in &self.slots {
            text.push_str(&format!(
                " {}: pid {}, restarts {}, configuration {}\n",
                s.sub,
                self.life
                    .pid(s.sub)
                    .map_or("-".to_string(), |p| p.to_string()),
                self.life.restarts(s.sub),
                self.life
                    .accepted(s.sub)
                    .map_or("-".to_string(), |g| g.to_string()),
            ));
        }
        for (_, part) in &d.parts {
            text.push_str(part);
        }
        for sub in &d.waiting {
            text.push_str(&format!("------< {sub} >------\n (no answer)\n"));
        }
        text
    }
}
