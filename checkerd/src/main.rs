//! checkerd: health checks and every script, unprivileged and without
//! capabilities.
//!
//! The checker engine (`keepalived-check`) runs on this process's mio loop;
//! scripts (track scripts, MISC_CHECK, notify scripts) are started by the
//! launcher process forked before the seccomp filter. Real-server health
//! goes to the parent (for ipvsd), tracker verdicts too (for vrrpd:
//! scripts, `track_file` values, `vrrp_track_process` quorums); VRRP state
//! changes come back from the parent to run notify scripts.

mod launcher;
mod notify;
mod smtp;
mod track_file;
mod track_process;

use keepalived_check::plan::{CheckPlan, ServerPlan};
use keepalived_check::{Engine, Event, RsId, SocketIo};
use keepalived_child::{Ctx, Daemon};
use keepalived_ipc::{
    CheckTime, ConfigSlice, DumpKind, FromChild, Ids, RealServerHealth, ReplayState, SocketRequest,
    Subsystem, ToChild, TrackKind, TrackResult, TrackStatus, MAX_CHECK_TIMES,
};
use launcher::{Launcher, LAUNCHER_TOKEN};
use log::{error, info, warn};
use mio::Token;
use std::collections::BTreeMap;
use std::time::Instant;
use track_file::{FileTracker, TRACK_FILE_TOKEN};
use track_process::ProcessTracker;

/// The engine's tokens start here (below: IPC 0, signals 1, the launcher 8,
/// the track_file inotify descriptor 9).
const ENGINE_TOKEN_BASE: usize = 16;

/// A real server the engine checks.
struct Server {
    /// As planned (before any resume state): a reload that plans the same
    /// checks leaves it alone.
    plan: ServerPlan,
    /// Last state reported.
    last: Option<bool>,
    /// A report with `settled` was sent (the `Settled` event then needs
    /// no report of its own).
    told_settled: bool,
}

#[derive(Default)]
struct Checkerd {
    plan: CheckPlan,
    /// The plan's object ids: messages name servers, trackers, instances
    /// and groups by these.
    ids: Ids,
    engine: Option<Engine>,
    launcher: Option<Launcher>,
    /// One entry per engine id; `None` once a reload removed it.
    servers: Vec<Option<Server>>,
    notify: notify::Notifier,
    mailer: smtp::Mailer,
    health_sent: u64,
    /// When check durations may next go to the parent (once a second).
    next_check_times: Option<std::time::Instant>,
    /// Last verdict sent for each track script.
    scripts: BTreeMap<String, bool>,
    files: FileTracker,
    processes: ProcessTracker,
    /// Last verdict sent for each file and process tracker, kept across
    /// reloads so that only changes are sent.
    tracks_sent: BTreeMap<(TrackKind, String), TrackStatus>,
    track_reports: u64,
    /// `Start` arrived: verdicts may be sent.
    started: bool,
    /// `ha_suspend` virtual servers whose address ipvsd found here (the
    /// others' checks are suspended; unknown means not yet found).
    ha_active: BTreeMap<keepalived_ipc::VsId, bool>,
}

impl Checkerd {
    /// Suspend or resume the checks of `ha_suspend` servers as their
    /// address is absent or present (keepalived's "Activating" /
    /// "Suspending healthchecker" lines; "Deactivating" for one suspended
    /// from its start).
    fn apply_ha_suspend(&mut self) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        for (id, s) in self.servers.iter().enumerate() {
            let Some(Server { plan, last, .. }) = s else {
                continue;
            };
            if !plan.ha_suspend {
                continue;
            }
            let active = self.ha_active.get(&plan.vs).copied().unwrap_or(false);
            if engine.set_suspended(RsId(id), !active) {
                let verb = match (active, last.is_some()) {
                    (true, _) => "Activating",
                    (false, true) => "Suspending",
                    (false, false) => "Deactivating",
                };
                info!(
                    "{verb} healthchecker for service {} for VS {}",
                    plan.rk, plan.vk
                );
            }
        }
    }

    fn build(
        &mut self,
        plan: CheckPlan,
        replay: &ReplayState,
        ctx: &mut Ctx,
    ) -> Result<(), String> {
        let launcher = self.launcher.clone().ok_or("no script launcher")?;
        let io = SocketIo::new(ctx.registry, ENGINE_TOKEN_BASE)
            .map_err(|e| format!("check sockets: {e}"))?;
        let mut engine = Engine::new(ENGINE_TOKEN_BASE, Box::new(io), Box::new(launcher));
        self.servers.clear();
        for planned in plan.servers.iter().cloned() {
            let resume = replay
                .health
                .iter()
                .find(|h| h.real_server == planned.rs)
                .map(|h| h.up);
            add_server(&mut engine, &mut self.servers, planned, resume, ctx)?;
        }
        for s in plan.scripts.iter().cloned() {
            engine.add_script(s, ctx.now);
        }
        self.engine = Some(engine);
        self.ha_active = replay.ha_suspend.iter().copied().collect();
        self.apply_ha_suspend();
        self.configured(plan);
        Ok(())
    }

    fn configured(&mut self, plan: CheckPlan) {
        self.mailer.configure(plan.smtp.clone());
        keepalived_check::sockets::clear();
        for (k, n) in &plan.sockets {
            keepalived_check::sockets::set_target(k.clone(), *n);
        }
        self.plan = plan;
    }

    /// A reload: real servers and track scripts planned exactly as before
    /// are left alone (their checks keep their schedule, their state and
    /// their rise/fall history); the others are removed, and new or changed
    /// ones added, resuming the state their key last had.
    fn reconcile(&mut self, plan: CheckPlan, ctx: &mut Ctx) -> Result<(), String> {
        let engine = self.engine.as_mut().ok_or("not configured")?;
        let mut wanted: Vec<Option<ServerPlan>> = plan.servers.iter().cloned().map(Some).collect();
        let mut gone = Vec::new();
        for (id, slot) in self.servers.iter_mut().enumerate() {
            let Some(s) = slot else { continue };
            let same = wanted
                .iter()
                .position(|w| w.as_ref().is_some_and(|w| w.same_checks(&s.plan)));
            match same {
                // Kept: its checks go on; its scripts and alerts are the
                // new plan's.
                Some(i) => s.plan = wanted[i].take().expect("found above"),
                None => gone.push(id),
            }
        }
        // Add first: a server that cannot be added fails the reload with
        // nothing removed (what this reload added is taken out again).
        let mut last: BTreeMap<keepalived_ipc::RsId, bool> = BTreeMap::new();
        for &id in &gone {
            if let Some(Some(s)) = self.servers.get(id) {
                if let Some(up) = s.last {
                    last.insert(s.plan.rs, up);
                }
            }
        }
        let kept = self.servers.iter().flatten().count() - gone.len();
        let mut added = Vec::new();
        for planned in wanted.into_iter().flatten() {
            let resume = last.get(&planned.rs).copied();
            match add_server(engine, &mut self.servers, planned, resume, ctx) {
                // Its state is the one reported before the reload: no
                // notify script or alert unless it changes.
                Ok(id) => {
                    if let Some(Some(s)) = self.servers.get_mut(id) {
                        s.last = resume;
                    }
                    added.push(id);
                }
                Err(e) => {
                    for id in added {
                        engine.remove_real_server(RsId(id));
                        self.servers[id] = None;
                    }
                    engine.drain_events();
                    return Err(e);
                }
            }
        }
        for id in gone {
            engine.remove_real_server(RsId(id));
            self.servers[id] = None;
        }
        let kept_scripts = engine.reconcile_scripts(plan.scripts.clone(), ctx.now);
        self.apply_ha_suspend();
        info!(
            "Reload: {} real server(s) added or changed, {kept} kept; {kept_scripts} track script(s) kept",
            added.len()
        );
        self.configured(plan);
        Ok(())
    }

    /// (Re)build the file and process trackers from the plan.
    fn build_trackers(&mut self, reload: bool, ctx: &mut Ctx) {
        self.files.shutdown(ctx.registry);
        // Files only FILE_CHECKs read: initialised here, watched by the
        // engine.
        for f in &self.plan.file_inits {
            if let Some(init) = f.init {
                track_file::init_file(&f.name, std::path::Path::new(&f.path), init, reload);
            }
        }
        self.files = FileTracker::new(&self.plan.files, ctx.registry, reload);
        self.processes = ProcessTracker::new(&self.plan.processes);
        // A tracker that comes back later is reported afresh.
        let (f, p) = (&self.files, &self.processes);
        self.tracks_sent.retain(|(kind, name), _| match kind {
            TrackKind::File => f.values().any(|(n, _)| n == name),
            TrackKind::Process => p.states().any(|(n, ..)| n == name),
            TrackKind::Script => true,
            TrackKind::Interface | TrackKind::Bfd => false,
        });
    }

    /// Send every file value and process verdict that differs from the
    /// last one sent (all of them at start).
    fn report_trackers(&mut self, ctx: &mut Ctx) {
        if !self.started {
            return;
        }
        let values: Vec<(String, i64)> = self
            .files
            .values()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
        for (name, v) in values {
            self.send_track(TrackKind::File, name, TrackStatus::Value(v), ctx);
        }
        self.poll_processes(ctx);
    }

    fn poll_processes(&mut self, ctx: &mut Ctx) {
        if !self.started {
            return;
        }
        for (name, up) in self.processes.poll(ctx.now) {
            let status = if up {
                TrackStatus::Up
            } else {
                TrackStatus::Down
            };
            self.send_track(TrackKind::Process, name, status, ctx);
        }
    }

    fn send_track(&mut self, kind: TrackKind, name: String, status: TrackStatus, ctx: &mut Ctx) {
        let prev = self.tracks_sent.insert((kind, name.clone()), status);
        if prev == Some(status) {
            return;
        }
        let path = || {
            self.files
                .path(&name)
                .map_or(String::new(), |p| format!(" ({})", p.display()))
        };
        match (status, prev) {
            (TrackStatus::Value(v), Some(TrackStatus::Value(old))) => {
                info!(
                    "Track file {name} value changed from {old} to {v}{}",
                    path()
                )
            }
            (TrackStatus::Value(v), _) => info!("Track file {name} value is {v}{}", path()),
            (TrackStatus::Up | TrackStatus::Down, _) => info!(
                "Quorum {} for tracked process {name}",
                if status == TrackStatus::Up {
                    "gained"
                } else {
                    "lost"
                }
            ),
        }
        self.track_reports += 1;
        if let Some(tracker) = self.ids.tracker(kind, &name) {
            ctx.send(FromChild::Track(TrackResult { tracker, status }));
        }
    }

    fn pump(&mut self, ctx: &mut Ctx) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        for ev in engine.drain_events() {
            match ev {
                Event::RealServer { id, up, weight } => {
                    let Some(Some(Server {
                        plan,
                        last,
                        told_settled,
                    })) = self.servers.get_mut(id.0)
                    else {
                        continue;
                    };
                    let (vk, rk) = (&plan.vk, &plan.rk);
                    if *last != Some(up) {
                        if last.is_some() {
                            info!(
                                "{} {rk} of {vk}",
                                if up {
                                    "Adding service"
                                } else {
                                    "Removing service"
                                }
                            );
                        }
                        // keepalived runs a first state's script only
                        // with rs_init_notifies, and only an up one.
                        if last.is_some() || (up && self.plan.rs_init_notifies) {
                            self.notify.real_server(plan, up, self.launcher.as_ref());
                        }
                        if last.is_some() && plan.alert {
                            if let Some(id) = self.mailer.router_id() {
                                let a = smtp::rs_alert(id, vk, &plan.check_label, rk, up);
                                self.mailer.send(a, ctx.registry, ctx.now);
                            }
                        }
                    }
                    *last = Some(up);
                    self.health_sent += 1;
                    let settled = engine.settled(id);
                    *told_settled = settled;
                    ctx.send(health(plan, up, weight, settled));
                }
                // The first verdicts are in: said even when they kept the
                // starting state (ipvsd's bgp_announce waits for them).
                Event::Settled { id } => {
                    let Some(Some(Server {
                        plan, told_settled, ..
                    })) = self.servers.get_mut(id.0)
                    else {
                        continue;
                    };
                    if std::mem::replace(told_settled, true) {
                        continue;
                    }
                    let Some((up, weight)) = engine.reported(id) else {
                        continue;
                    };
                    self.health_sent += 1;
                    ctx.send(health(plan, up, weight, true));
                }
                Event::Script { name, ok } => {
                    // The engine logged the change (keepalived's phrase).
                    if self.scripts.insert(name.clone(), ok) == Some(ok) {
                        continue;
                    }
                    let Some(tracker) = self.ids.tracker(TrackKind::Script, &name) else {
                        continue;
                    };
                    ctx.send(FromChild::Track(TrackResult {
                        tracker,
                        status: if ok {
                            TrackStatus::Up
                        } else {
                            TrackStatus::Down
                        },
                    }));
                }
            }
        }
        if self.next_check_times.is_none_or(|t| t <= ctx.now) {
            let servers = &self.servers;
            let times: Vec<CheckTime> = engine
                .drain_check_times()
                .into_iter()
                .filter_map(|(id, d)| {
                    let Some(Some(s)) = servers.get(id.0) else {
                        return None;
                    };
                    Some(CheckTime {
                        real_server: s.plan.rs,
                        micros: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
                    })
                })
                .collect();
            for chunk in times.chunks(MAX_CHECK_TIMES) {
                ctx.send(FromChild::CheckTimes(chunk.to_vec()));
            }
            self.next_check_times = Some(ctx.now + std::time::Duration::from_secs(1));
        }
        if let Some(l) = self.launcher.as_ref() {
            self.notify.reap(l);
            for m in l.take_parent_requests() {
                ctx.send(m);
            }
        }
        for (k, count) in keepalived_check::sockets::wants(ctx.now) {
            ctx.send(FromChild::WantSockets(SocketRequest {
                v6: k.v6,
                udp: k.udp,
                mark: k.mark,
                bind_if: k.bind_if,
                count,
            }));
        }
    }
}

impl Daemon for Checkerd {
    const SUBSYSTEM: Subsystem = Subsystem::Checker;

    fn configure(
        &mut self,
        slice: ConfigSlice,
        replay: ReplayState,
        ctx: &mut Ctx,
    ) -> Result<(), String> {
        let plan = slice.check.ok_or("no checker plan")?;
        info!(
            "Configuration {}: {} virtual server(s), {} real server(s), {} script(s), \
             {} track file(s), {} tracked process(es)",
            slice.generation,
            plan.virtual_servers.len(),
            plan.servers.len(),
            plan.scripts.len(),
            plan.files.len(),
            plan.processes.len()
        );
        // Before the seccomp filter: the launcher must be able to exec.
        let l = Launcher::start(ctx.registry, ctx.launcher_fd)
            .map_err(|e| format!("cannot start the script launcher: {e}"))?;
        info!("Script launcher started, pid={}", l.pid());
        self.launcher = Some(l);
        self.ids = slice.ids;
        self.build(plan, &replay, ctx)?;
        // Before the filter: init_file may create files, the first watches.
        self.build_trackers(false, ctx);
        Ok(())
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.started = true;
        // Tests: behave as a compromised checkerd would, asking the
        // launcher for whatever a file says (see the launcher test).
        if let (Some(path), Some(l)) = (ctx.launcher_selftest, self.launcher.as_ref()) {
            for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
                let Some(call) = forged_call(line) else {
                    continue;
                };
                let cmd = keepalived_check::ScriptCommand {
                    call,
                    by_parent: false,
                };
                let r = l.fire(&cmd);
                error!("launcher self-test: asked to run {line:?}: {r:?}");
            }
        }
        self.notify.fifo_scripts(&self.plan, self.launcher.as_ref());
        self.files.reread();
        self.report_trackers(ctx);
        self.pump(ctx);
    }

    fn reload(&mut self, slice: ConfigSlice, ctx: &mut Ctx) -> Result<(), String> {
        info!("Reloaded configuration {}", slice.generation);
        let plan = slice.check.ok_or("no checker plan")?;
        let previous = std::mem::replace(&mut self.ids, slice.ids);
        if let Err(e) = self.reconcile(plan, ctx) {
            self.ids = previous;
            return Err(e);
        }
        self.build_trackers(true, ctx);
        self.report_trackers(ctx);
        self.pump(ctx);
        Ok(())
    }

    fn sockets(
        &mut self,
        r: SocketRequest,
        given: u32,
        fds: Vec<std::os::fd::OwnedFd>,
        ctx: &mut Ctx,
    ) {
        let key = keepalived_check::sockets::SocketKey {
            v6: r.v6,
            udp: r.udp,
            mark: r.mark,
            bind_if: r.bind_if.clone(),
        };
        if (fds.len() as u32) < r.count {
            warn!(
                "the parent gave {} of {} sockets with fwmark {:?} / bind_if {:?}; asking again later",
                fds.len(),
                r.count,
                r.mark,
                r.bind_if
            );
        }
        let _ = given;
        keepalived_check::sockets::supply(&key, r.count, fds, ctx.now);
        self.pump(ctx);
    }

    fn message(&mut self, msg: ToChild, ctx: &mut Ctx) {
        if let (ToChild::ScriptEnded { id, end }, Some(l)) = (&msg, self.launcher.as_ref()) {
            if let (Some(t), Some(e)) = (l.parent_ended(*id, *end), self.engine.as_mut()) {
                e.on_event(t.0, ctx.now);
            }
        }
        if let ToChild::MasterRxLowerPri(id) = &msg {
            self.notify
                .rx_lower_pri(&self.plan, *id, self.launcher.as_ref());
        }
        if let ToChild::GroupState(g) = &msg {
            self.notify
                .group(&self.plan, g.group, g.state, self.launcher.as_ref());
            let sg = self.plan.groups.iter().find(|s| s.id == g.group);
            if let Some(sg) = sg.filter(|sg| self.mailer.vrrp_alerts(sg.alert, g.state)) {
                if let Some(a) = self
                    .mailer
                    .router_id()
                    .and_then(|id| smtp::group_alert(id, &sg.name, g.state))
                {
                    self.mailer.send(a, ctx.registry, ctx.now);
                }
            }
        }
        if let ToChild::HaSuspend {
            virtual_server,
            active,
        } = &msg
        {
            self.ha_active.insert(*virtual_server, *active);
            self.apply_ha_suspend();
        }
        if let ToChild::Quorum(q) = &msg {
            if let Some(vs) = self
                .plan
                .virtual_servers
                .iter()
                .find(|v| v.id == q.virtual_server)
            {
                self.notify.quorum(vs, q.up, self.launcher.as_ref());
                if let Some(id) = self.mailer.router_id().filter(|_| vs.alert) {
                    let a = smtp::quorum_alert(id, &vs.key, q, vs.quorum, vs.hysteresis);
                    self.mailer.send(a, ctx.registry, ctx.now);
                }
            }
        }
        if let ToChild::VrrpState(s) = msg {
            self.notify.vrrp(
                &self.plan,
                s.instance,
                s.state,
                s.priority,
                self.launcher.as_ref(),
            );
            let inst = self.plan.instances.iter().find(|i| i.id == s.instance);
            if let Some(inst) = inst.filter(|i| self.mailer.vrrp_alerts(i.alert, s.state)) {
                if let Some(a) = self
                    .mailer
                    .router_id()
                    .and_then(|id| smtp::vrrp_alert(id, &inst.name, s.state))
                {
                    self.mailer.send(a, ctx.registry, ctx.now);
                }
            }
        }
        self.pump(ctx);
    }

    fn dump(&mut self, kind: DumpKind) -> String {
        let mut s = String::new();
        match kind {
            DumpKind::Data => {
                s.push_str("------< Health checkers >------\n");
                for Server { plan, last, .. } in self.servers.iter().flatten() {
                    let (vk, rk) = (&plan.vk, &plan.rk);
                    let st = match last {
                        Some(true) => "UP",
                        Some(false) => "DOWN",
                        None => "UNKNOWN",
                    };
                    s.push_str(&format!(" Virtual server {vk}, real server {rk}: {st}\n"));
                }
                s.push_str("------< Tracked files and processes >------\n");
                for (name, v) in self.files.values() {
                    s.push_str(&format!(" Track file {name}: value {v}\n"));
                }
                for (name, n, up) in self.processes.states() {
                    let st = match up {
                        Some(true) => "UP",
                        Some(false) => "DOWN",
                        None => "UNKNOWN",
                    };
                    s.push_str(&format!(" Tracked process {name}: {n} process(es), {st}\n"));
                }
            }
            DumpKind::Json => {}
            DumpKind::Stats | DumpKind::StatsClear => {
                s.push_str("------< Health checker statistics >------\n");
                s.push_str(&format!(
                    " Real servers: {}\n Health reports sent: {}\n",
                    self.servers.iter().flatten().count(),
                    self.health_sent
                ));
                s.push_str(&format!(
                    " Scripts started: {}, notify scripts dropped (too many at once): {}\n",
                    self.notify.started(),
                    self.notify.dropped
                ));
                s.push_str(&format!(
                    " SMTP alerts sent: {}, failed: {}, in flight: {}\n",
                    self.mailer.sent,
                    self.mailer.failed,
                    self.mailer.in_flight()
                ));
                s.push_str(&format!(
                    " Tracked files: {}\n Tracked processes: {}\n Process scans: {}\n \
                     Tracker reports sent: {}\n",
                    self.files.len(),
                    self.processes.len(),
                    self.processes.scans(),
                    self.track_reports
                ));
            }
        }
        s
    }

    fn event(&mut self, token: Token, ctx: &mut Ctx) {
        if smtp::Mailer::owns(token) {
            self.mailer.on_event(token, ctx.registry, ctx.now);
        } else if token == TRACK_FILE_TOKEN {
            if self.started {
                for (name, v) in self.files.on_event() {
                    self.send_track(TrackKind::File, name, TrackStatus::Value(v), ctx);
                }
            }
        } else if token == LAUNCHER_TOKEN {
            let Some(l) = self.launcher.as_ref() else {
                return;
            };
            match l.drain() {
                Ok(done) => {
                    if let Some(e) = self.engine.as_mut() {
                        for t in done {
                            e.on_event(t.0, ctx.now);
                        }
                    }
                }
                Err(e) => {
                    // Without it no script can run: let the parent restart us.
                    error!("{e}");
                    std::process::exit(1);
                }
            }
        } else if let Some(e) = self.engine.as_mut() {
            e.on_event(token.0, ctx.now);
        }
        self.pump(ctx);
    }

    fn timer(&mut self, ctx: &mut Ctx) {
        if let Some(e) = self.engine.as_mut() {
            e.on_timer(ctx.now);
        }
        self.poll_processes(ctx);
        self.mailer.on_timer(ctx.registry, ctx.now);
        self.pump(ctx);
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.engine.as_ref().and_then(Engine::next_deadline),
            self.processes.next_deadline(),
            self.mailer.next_deadline(),
            keepalived_check::sockets::next_retry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn shutdown(&mut self, ctx: &mut Ctx) {
        if let Some(e) = self.engine.as_mut() {
            e.shutdown();
        }
        self.files.shutdown(ctx.registry);
        self.pump(ctx);
        if self.notify.started() > 0 {
            warn!("stopping with notify scripts possibly still running");
        }
    }
}

/// Add one real server to the engine and to `servers` (same index).
/// Add a real server to the engine and to `servers` at the engine's id
/// (which may be a removed server's, reused); returns that id.
/// A real server's state, for ipvsd (through the parent).
fn health(plan: &ServerPlan, up: bool, weight: Option<i32>, settled: bool) -> FromChild {
    FromChild::Health(RealServerHealth {
        virtual_server: plan.vs,
        real_server: plan.rs,
        up,
        weight,
        settled,
    })
}

fn add_server(
    engine: &mut Engine,
    servers: &mut Vec<Option<Server>>,
    plan: ServerPlan,
    resume: Option<bool>,
    ctx: &mut Ctx,
) -> Result<usize, String> {
    let mut run = plan.spec.clone();
    run.resume_up = resume;
    let id = engine
        .add_real_server(run, ctx.now)
        .map_err(|e| format!("{} of {}: {e}", plan.rk, plan.vk))?
        .0;
    if id >= servers.len() {
        servers.resize_with(id + 1, || None);
    }
    debug_assert!(servers[id].is_none(), "the engine reused a live id");
    servers[id] = Some(Server {
        plan,
        last: None,
        told_settled: false,
    });
    Ok(id)
}

/// A line of the launcher self-test file: `ID` or `ID INSTANCE_ID STATE
/// PRIORITY` (what a compromised checkerd could ask for).
fn forged_call(line: &str) -> Option<keepalived_ipc::ScriptCall> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let script = keepalived_ipc::ScriptId(w.first()?.parse().ok()?);
    let args = match w[1..] {
        [] => keepalived_ipc::ScriptArgs::None,
        [id, _, prio] => keepalived_ipc::ScriptArgs::Instance {
            id: keepalived_ipc::InstanceId(id.parse().ok()?),
            state: keepalived_ipc::VrrpState::Master,
            priority: prio.parse().ok()?,
        },
        _ => return None,
    };
    Some(keepalived_ipc::ScriptCall { script, args })
}

fn main() {
    keepalived_child::run(Checkerd::default())
}
