//! ipvsd: programs the kernel IPVS table (CAP_NET_ADMIN only).
//!
//! Reconcile, don't replay: the desired table is computed from the typed
//! plan the parent compiled (ipvsd never sees configuration text) and the
//! real servers' health (from checkerd through the parent), the kernel's
//! table is dumped, and only the difference is written. Entries changed behind our back are put back at the next pass;
//! entries we never created are left alone; on stop, what we created goes.
//! On a kernel without IPVS it says so once, keeps running, and retries.

mod announce;
mod marks;

use keepalived_child::{Ctx, Daemon};
use keepalived_ipc::{
    ConfigSlice, DumpKind, FromChild, QuorumChange, ReplayState, Subsystem, ToChild, VrrpState,
};
use keepalived_ipvs::diff::{desired_daemons, diff_daemon_set, teardown_daemons};
use keepalived_ipvs::plan::{HealthById, IpvsPlan};
use keepalived_ipvs::{
    compute, diff, teardown, Daemon as SyncDaemon, DaemonState, Event, IpvsError, IpvsSocket, Op,
    Owned, ReconcileState, Request, SyncFollow, Timeouts,
};
use log::{debug, error, info, warn};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How often a missing IPVS is looked for again.
const RETRY: Duration = Duration::from_secs(30);
/// How often the kernel table is compared with the desired one, to undo
/// changes made behind our back.
const DRIFT_CHECK: Duration = Duration::from_secs(5);
/// Services whose destinations the drift check reads per wake-up (one
/// dump each): 10,000 services read at once held ipvsd's loop for 1.6 s
/// in the VM guest; a slice holds it a few tens of milliseconds, and the
/// messages waiting are handled between slices.
const DRIFT_SLICE: usize = 256;

/// A drift check under way: the services whose destinations are still to
/// be compared with ipvsd's view.
struct Scan {
    keys: Vec<keepalived_ipvs::ServiceKey>,
    next: usize,
    started: Instant,
    slices: u32,
    longest: Duration,
}

#[derive(Default)]
struct Ipvsd {
    /// Messages for the parent, sent at the end of each callback.
    out: Vec<FromChild>,
    plan: IpvsPlan,
    /// Health by real server id, for the plan's real servers only.
    health: HealthById,
    /// Real servers whose checkers have all given a first verdict.
    settled: BTreeSet<u32>,
    /// The plan's real-server ids: a report naming another is dropped, and
    /// a reload forgets the health of those it removed (a reload that
    /// churns real servers grew this map for ever).
    planned: BTreeSet<u32>,
    /// The plan's object ids: messages name real servers, virtual servers
    /// and instances by these.
    ids: keepalived_ipc::Ids,
    sock: Option<IpvsSocket>,
    owned: Owned,
    state: ReconcileState,
    next_probe: Option<Instant>,
    next_drift: Option<Instant>,
    warned: bool,
    /// What the parent was last told of IPVS's availability.
    reported: Option<bool>,
    passes: u64,
    health_updates: u64,
    /// Last known state of every VRRP instance (from vrrpd via the parent).
    vrrp: BTreeMap<String, VrrpState>,
    /// Instances seen MASTER since we started (keepalived starts the backup
    /// sync daemon only when its instance leaves MASTER).
    was_master: BTreeSet<String>,
    /// Health changed since the last pass: reconcile once per wake-up, not
    /// once per message (a start reports thousands at once).
    dirty: bool,
    /// `lvs_flush` was carried out (once, at this process's first
    /// configuration with the kernel's IPVS: keepalived flushes at start,
    /// not at a reload).
    start_flush_done: bool,
    /// The kernel's timeouts before `lvs_timeouts` changed them, restored
    /// when a reload drops the keyword (as keepalived does).
    orig_timeouts: Option<Timeouts>,
    /// The timeouts last set.
    set_timeouts: Option<Timeouts>,
    /// `ha_suspend` services: whether their address was here at the last
    /// pass (what checkerd was told).
    ha_active: BTreeMap<u32, bool>,
    /// `nftables_ipvs`'s table (opened when a plan first has one).
    marks: Option<marks::Marks>,
    /// The kernel's table as ipvsd left it: the last dump with the
    /// changes applied since. A health pass diffs against it instead of
    /// dumping the table (10,000 services: one dump per service, over a
    /// second); start, reload and the drift check read the kernel again.
    view: Option<keepalived_ipvs::Table>,
    /// Change announcements are left to read (the budget ran out).
    marks_pending: bool,
    /// The drift check under way, a slice per wake-up.
    scan: Option<Scan>,
    /// `bgp_announce`: which addresses go on the announce interface.
    announcer: announce::Announcer,
    announce_shell: announce::Shell,
    /// The announce interface's addresses were read once (at start).
    adopted: bool,
}

/// The nftables change monitor's token.
const MARKS_TOKEN: mio::Token = mio::Token(16);

impl Ipvsd {
    /// nf_tables announcements (within their budget: `marks_pending` says
    /// some are left).
    fn read_marks(&mut self) {
        if let Some(m) = self.marks.as_mut() {
            self.marks_pending = m.on_monitor();
        }
    }

    /// `nftables_ipvs`: the table follows the plan, before the services
    /// that use its marks (keepalived's order).
    fn sync_marks(&mut self, ctx: &mut Ctx) {
        let want = self.plan.mark_table.as_ref();
        if self.marks.is_none() {
            if want.is_none() {
                return;
            }
            match marks::Marks::open() {
                Ok(m) => {
                    let fd = m.monitor_fd();
                    if let Err(e) = ctx.registry.register(
                        &mut mio::unix::SourceFd(&fd),
                        MARKS_TOKEN,
                        mio::Interest::READABLE,
                    ) {
                        warn!("nftables monitor: {e}; a flushed table is not put back");
                    }
                    self.marks = Some(m);
                }
                Err(e) => {
                    error!("nftables_ipvs: cannot open nf_tables netlink: {e}");
                    return;
                }
            }
        }
        if let Some(m) = self.marks.as_mut() {
            m.sync(want);
        }
    }

    /// `lvs_flush` and `lvs_timeouts`, before the table is written
    /// (keepalived's order: timeouts, then the flush, then the services).
    fn apply_globals(&mut self) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        match self.plan.timeouts {
            Some(t) => {
                if self.orig_timeouts.is_none() {
                    match sock.timeouts() {
                        Ok(o) => self.orig_timeouts = Some(o),
                        Err(e) => warn!("IPVS: cannot read the timeouts: {e}"),
                    }
                }
                // An unset one keeps the kernel's (libipvs sends the
                // original value).
                let o = self.orig_timeouts.unwrap_or_default();
                let pick = |v: u32, orig: u32| if v != 0 { v } else { orig };
                let want = Timeouts {
                    tcp: pick(t.tcp, o.tcp),
                    tcp_fin: pick(t.tcp_fin, o.tcp_fin),
                    udp: pick(t.udp, o.udp),
                };
                if self.set_timeouts != Some(want) {
                    match sock.execute(&Request::SetTimeouts(want)) {
                        Ok(_) => {
                            info!(
                                "IPVS: timeouts tcp {} tcpfin {} udp {}",
                                want.tcp, want.tcp_fin, want.udp
                            );
                            self.set_timeouts = Some(want);
                        }
                        Err(e) => error!("Failed to set ipvs timeouts: {e}"),
                    }
                }
            }
            None => {
                if let (Some(o), Some(_)) = (self.orig_timeouts, self.set_timeouts) {
                    match sock.execute(&Request::SetTimeouts(o)) {
                        Ok(_) => {
                            info!("IPVS: timeouts restored");
                            self.set_timeouts = None;
                        }
                        Err(e) => error!("Failed to set ipvs timeouts: {e}"),
                    }
                }
            }
        }
        if !self.start_flush_done {
            self.start_flush_done = true;
            if self.plan.flush_at_start {
                match sock.flush() {
                    Ok(()) => info!("IPVS: flushed the table (lvs_flush)"),
                    Err(e) => error!("IPVS: cannot flush the table: {e}"),
                }
            }
        }
    }

    /// Take a plan and its ids; what names objects the plan no longer has
    /// is forgotten, so state is bounded by the configuration.
    fn set_plan(&mut self, plan: IpvsPlan, ids: keepalived_ipc::Ids) {
        self.planned = plan
            .services
            .iter()
            .flat_map(|s| s.real_servers.iter().copied())
            .collect();
        let planned = &self.planned;
        self.health.retain(|id, _| planned.contains(id));
        self.settled.retain(|id| planned.contains(id));
        let services: BTreeSet<u32> = plan.services.iter().map(|s| s.id).collect();
        self.ha_active.retain(|id, _| services.contains(id));
        self.vrrp.retain(|name, _| ids.instance(name).is_some());
        self.was_master.retain(|name| ids.instance(name).is_some());
        let announced: Vec<_> = plan
            .services
            .iter()
            .filter_map(|s| {
                let a = s.announce.as_ref()?;
                Some((s.id, s.vip?, a.delay_up, a.delay_down))
            })
            .collect();
        let acts = self
            .announcer
            .configure(plan.announce.clone(), &announced, Instant::now());
        self.announce_shell.run(acts);
        self.plan = plan;
        self.ids = ids;
    }

    /// `bgp_announce`: each announced service's verdict from this pass
    /// (healthy once its first health round is complete: quorum up, and
    /// IPVS there to carry its traffic), then the addresses follow.
    fn announce_verdicts(&mut self, now: Instant) {
        if self.plan.announce.is_none() {
            return;
        }
        if !self.adopted {
            self.adopted = true;
            if let Some(i) = self.announcer.interface().map(str::to_string) {
                let present = self.announce_shell.present(&i);
                let acts = self.announcer.adopt(&present);
                self.announce_shell.run(acts);
            }
        }
        for s in &self.plan.services {
            let Some(a) = &s.announce else {
                continue;
            };
            // Every checked real server's first verdict is in (its first
            // report is the starting state, `alpha`'s).
            let complete = a.checked.iter().all(|id| self.settled.contains(id));
            let verdict = complete.then(|| {
                self.sock.is_some() && self.state.vs.get(&s.input.id).is_some_and(|v| v.quorum_up)
            });
            self.announcer.health(s.id, verdict, now);
        }
        self.announce_poll(now);
    }

    fn announce_poll(&mut self, now: Instant) {
        let acts = self.announcer.poll(now);
        self.announce_shell.run(acts);
    }

    /// A real server's report; one the plan does not name is dropped.
    fn report_health(&mut self, h: &keepalived_ipc::RealServerHealth) {
        let id = h.real_server.0;
        if !self.planned.contains(&id) {
            return;
        }
        self.health_updates += 1;
        self.health.insert(id, (h.up, h.weight));
        if h.settled {
            self.settled.insert(id);
        } else {
            self.settled.remove(&id);
        }
        self.dirty = true;
    }

    fn connect(&mut self, now: Instant) {
        let r = IpvsSocket::connect();
        let available = r.is_ok();
        if self.reported != Some(available) {
            self.reported = Some(available);
            self.out.push(FromChild::Ipvs { available });
        }
        match r {
            Ok(s) => {
                info!("IPVS: connected to the kernel's IPVS");
                self.sock = Some(s);
                self.next_probe = None;
            }
            Err(e @ IpvsError::NotAvailable) if !self.warned => {
                warn!(
                    "{e}; health checks keep running, retrying every {}s",
                    RETRY.as_secs()
                );
                self.warned = true;
                self.next_probe = Some(now + RETRY);
            }
            Err(IpvsError::NotAvailable) => self.next_probe = Some(now + RETRY),
            Err(e) => {
                error!("IPVS: {e}; retrying in {}s", RETRY.as_secs());
                self.next_probe = Some(now + RETRY);
            }
        }
    }

    fn vrrp_state(&mut self, instance: &str, state: VrrpState) {
        if state == VrrpState::Master {
            self.was_master.insert(instance.to_string());
        }
        self.vrrp.insert(instance.to_string(), state);
    }

    /// The sync daemons `lvs_sync_daemon` wants now.
    fn desired_daemons(&self) -> Vec<SyncDaemon> {
        let Some(d) = &self.plan.sync_daemon else {
            return Vec::new();
        };
        let instance = d
            .instance
            .and_then(|i| self.ids.instance_name(keepalived_ipc::InstanceId(i)));
        desired_daemons(&d.daemon, follow(instance, &self.vrrp, &self.was_master))
    }

    /// Sync daemon ops for this pass (empty when nothing changed).
    fn daemon_ops(&mut self, want: &[SyncDaemon]) -> Vec<Op> {
        let Some(sock) = self.sock.as_mut() else {
            return Vec::new();
        };
        if want.is_empty() && self.owned.daemons.is_empty() {
            return Vec::new();
        }
        match sock.daemons() {
            Ok(actual) => diff_daemon_set(want, &actual, &self.owned),
            Err(e) => {
                error!("IPVS: cannot read the sync daemons: {e}");
                Vec::new()
            }
        }
    }

    /// Messages for the parent (quorum changes) since the last call.
    fn flush(&mut self, ctx: &mut Ctx) {
        for m in self.out.drain(..) {
            ctx.send(m);
        }
    }

    /// One pass that reads the kernel's table: desired table, kernel
    /// table, difference applied.
    fn reconcile(&mut self, now: Instant) {
        self.pass(now, true);
    }

    /// One pass; `read`: dump the kernel's table rather than trust the
    /// view (a pass without a view reads it anyway).
    fn pass(&mut self, now: Instant, read: bool) {
        // (`now` is the wake-up's: a long pass before this one in the same
        // wake-up must not count as this one's time.)
        let started = Instant::now();
        let cpu_before = own_cpu();
        let read = read || self.view.is_none();
        if read {
            // The whole table is read: a drift check under way is moot.
            self.scan = None;
        }
        if read || self.next_drift.is_none() {
            self.next_drift = Some(now + DRIFT_CHECK);
        }
        let local = if self.plan.uses_ha_suspend() {
            match local_addresses() {
                Ok(a) => Some(a),
                Err(e) => {
                    error!("ha_suspend: cannot list the local addresses: {e}");
                    None
                }
            }
        } else {
            None
        };
        // checkerd suspends the checks of a service whose address is gone.
        if let Some(local) = &local {
            for s in &self.plan.services {
                let Some(vip) = s.vip.filter(|_| s.input.ha_suspend) else {
                    continue;
                };
                let active = local.contains(&vip);
                if self.ha_active.insert(s.id, active) != Some(active) {
                    self.out.push(FromChild::HaSuspend {
                        virtual_server: keepalived_ipc::VsId(s.id),
                        active,
                    });
                }
            }
        }
        let d = compute(&self.plan.inputs(&self.health, local.as_ref()), &self.state);
        self.state = d.state;
        // Quorum follows health even where the kernel has no IPVS: the
        // notify scripts, FIFO lines and alerts still go out.
        for ev in d.events {
            let input_id = match &ev {
                Event::QuorumUp { vs, .. } | Event::QuorumDown { vs, .. } => vs.clone(),
            };
            let Some(svc) = self.plan.service(&input_id) else {
                continue;
            };
            let (virtual_server, vs) = (keepalived_ipc::VsId(svc.id), svc.name.clone());
            let q = match ev {
                Event::QuorumUp { weight_sum, .. } => {
                    info!("Gained quorum for {vs}");
                    QuorumChange {
                        virtual_server,
                        up: true,
                        weight_sum,
                        initial: false,
                    }
                }
                Event::QuorumDown {
                    weight_sum,
                    initial,
                    ..
                } => {
                    warn!("Lost quorum for {vs}");
                    QuorumChange {
                        virtual_server,
                        up: false,
                        weight_sum,
                        initial,
                    }
                }
            };
            self.out.push(FromChild::Quorum(q));
        }
        let Some(sock) = self.sock.as_mut() else {
            // No IPVS to carry the traffic: nothing is announced.
            self.announce_verdicts(now);
            return;
        };
        let actual = match self.view.take() {
            Some(v) if !read => v,
            _ => match sock.table() {
                Ok(t) => t,
                Err(e) => {
                    error!("IPVS: cannot read the kernel table: {e}");
                    return;
                }
            },
        };
        let compared = actual.services.len();
        let mut ops = diff(&d.table, &actual, &self.owned);
        let daemons = self.desired_daemons();
        ops.extend(self.daemon_ops(&daemons));
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        for op in &ops {
            match op {
                Op::StartDaemon(dm) => info!(
                    "IPVS: starting the {} sync daemon on {} (syncid {})",
                    state_name(dm.state),
                    dm.mcast_ifn,
                    dm.sync_id
                ),
                Op::StopDaemon(st) => info!("IPVS: stopping the {} sync daemon", state_name(*st)),
                _ => {}
            }
        }
        self.passes += 1;
        if !ops.is_empty() {
            info!("IPVS: applying {} change(s)", ops.len());
        }
        let failed = sock.apply(&ops, &mut self.owned);
        if failed.is_empty() {
            let mut view = actual;
            for op in &ops {
                keepalived_ipvs::diff::apply_to_table(&mut view, op);
            }
            self.view = Some(view);
        } else {
            // Not what we think: the next pass reads the kernel.
            for (op, e) in failed {
                error!("IPVS: {op:?}: {e}");
            }
        }
        self.owned.claim(&d.table);
        self.owned.claim_daemons(&daemons);
        // After the services are in the kernel: then their addresses.
        self.announce_verdicts(now);
        let took = started.elapsed();
        if ops.is_empty() {
            debug!(
                "IPVS: reconcile pass: no change, {compared} service(s) compared in {took:?}{}",
                if read { "" } else { " (ipvsd's view)" }
            );
        } else {
            // The split tells what a faster ipvsd could still win: the
            // kernel's part is the table's own cost.
            let cpu = match (cpu_before, own_cpu()) {
                (Some((u0, k0)), Some((u1, k1))) => format!(
                    " (CPU: ipvsd {:?}, the kernel for it {:?})",
                    u1.saturating_sub(u0),
                    k1.saturating_sub(k0)
                ),
                _ => String::new(),
            };
            info!(
                "IPVS: reconcile pass: {} change(s) applied in {took:?}{cpu}",
                ops.len()
            );
        }
    }
}

impl Daemon for Ipvsd {
    const SUBSYSTEM: Subsystem = Subsystem::Ipvs;

    fn configure(
        &mut self,
        slice: ConfigSlice,
        replay: ReplayState,
        ctx: &mut Ctx,
    ) -> Result<(), String> {
        info!(
            "Configuration {}: {} virtual server(s)",
            slice.generation,
            slice.ipvs.as_ref().map_or(0, |p| p.services.len())
        );
        self.set_plan(
            slice.ipvs.ok_or("no IPVS plan in the configuration")?,
            slice.ids,
        );
        for v in replay.vrrp {
            if let Some(name) = self.ids.instance_name(v.instance).map(str::to_string) {
                self.vrrp_state(&name, v.state);
            }
        }
        self.health.clear();
        self.settled.clear();
        for h in &replay.health {
            self.report_health(h);
        }
        self.health_updates = 0;
        self.connect(ctx.now);
        Ok(())
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.sync_marks(ctx);
        self.apply_globals();
        self.reconcile(ctx.now);
        self.flush(ctx);
    }

    fn reload(&mut self, slice: ConfigSlice, ctx: &mut Ctx) -> Result<(), String> {
        let generation = slice.generation;
        self.set_plan(
            slice.ipvs.ok_or("no IPVS plan in the configuration")?,
            slice.ids,
        );
        self.sync_marks(ctx);
        self.apply_globals();
        self.reconcile(ctx.now);
        self.flush(ctx);
        // After the pass: tests wait for this line before reading the table.
        info!("Reloaded configuration {generation}");
        Ok(())
    }

    fn message(&mut self, msg: ToChild, ctx: &mut Ctx) {
        match msg {
            ToChild::Checkers { running } => {
                if let (false, Some(a)) = (running, &self.plan.announce) {
                    warn!(
                        "The health checker is gone: announced addresses are withdrawn if it is not back within {}s",
                        a.health_timeout
                    );
                }
                self.announcer.checkers(running, ctx.now);
                self.announce_poll(ctx.now);
            }
            ToChild::Health(h) => self.report_health(&h),
            ToChild::VrrpState(v) => {
                if let Some(name) = self.ids.instance_name(v.instance).map(str::to_string) {
                    self.vrrp_state(&name, v.state);
                    self.dirty = true;
                }
            }
            _ => {}
        }
    }

    fn dump(&mut self, kind: DumpKind) -> String {
        let table = self.sock.as_mut().map(|s| s.table());
        match kind {
            DumpKind::Data => {
                let mut s = String::from("------< IPVS >------\n");
                match table {
                    None => s.push_str(" IPVS: not available\n"),
                    Some(Err(e)) => s.push_str(&format!(" IPVS: {e}\n")),
                    Some(Ok(t)) => {
                        for (k, ts) in &t.services {
                            s.push_str(&format!(" Service {k:?}: {} destination(s)\n", ts.dests.len()));
                        }
                    }
                }
                s
            }
            DumpKind::Json => String::new(),
            DumpKind::Stats | DumpKind::StatsClear => format!(
                "------< IPVS statistics >------\n Health updates: {}\n Reconcile passes: {}\n Netlink writes: {}\n",
                self.health_updates,
                self.passes,
                self.sock.as_ref().map_or(0, IpvsSocket::writes)
            ),
        }
    }

    fn event(&mut self, token: mio::Token, _ctx: &mut Ctx) {
        if token == MARKS_TOKEN {
            self.read_marks();
        }
    }

    fn timer(&mut self, ctx: &mut Ctx) {
        if std::mem::take(&mut self.marks_pending) {
            self.read_marks();
        }
        if self.next_probe.is_some_and(|t| t <= ctx.now) {
            self.connect(ctx.now);
            self.apply_globals();
            self.reconcile(ctx.now);
        }
        if self.announcer.next_deadline().is_some_and(|t| t <= ctx.now) {
            self.announce_poll(ctx.now);
        }
        if self.scan.is_some() {
            self.scan_slice();
        }
        if self.next_drift.is_some_and(|t| t <= ctx.now) {
            self.start_drift(ctx.now);
        }
        if self.dirty {
            self.dirty = false;
            // Against ipvsd's view (a drift check patched it with what it
            // found; without a view the pass reads the kernel).
            self.pass(ctx.now, false);
        }
        self.flush(ctx);
    }

    fn next_deadline(&self) -> Option<Instant> {
        // Passes every DRIFT_CHECK while IPVS is there, and for ha_suspend
        // (an address may come or go outside VRRP) even when it is not.
        let drift = (self.sock.is_some() || self.plan.uses_ha_suspend())
            .then_some(self.next_drift)
            .flatten();
        // Announcements left by the budget, or a drift check's next slice:
        // at once (after the messages waiting).
        let at_once = (self.marks_pending || self.scan.is_some()).then(Instant::now);
        [
            self.next_probe,
            drift,
            at_once,
            self.announcer.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn shutdown(&mut self, _ctx: &mut Ctx) {
        // The routes go before the services that carry their traffic.
        let acts = self.announcer.shutdown();
        self.announce_shell.run(acts);
        self.teardown();
        // After the services that used its marks (keepalived's order).
        if let Some(m) = self.marks.as_mut() {
            m.stop();
        }
    }
}

impl Ipvsd {
    /// The periodic drift check: the kernel's services read with one dump
    /// and compared with ipvsd's view; the same, their destinations are
    /// then compared a slice per wake-up ([`Ipvsd::scan_slice`]). A service
    /// added, removed or changed behind our back makes the next pass read
    /// the whole table (rare: someone ran ipvsadm). keepalived has no such
    /// check: what is changed behind its back stays changed.
    fn start_drift(&mut self, now: Instant) {
        self.next_drift = Some(now + DRIFT_CHECK);
        // The periodic pass: quorum, ha_suspend, the sync daemons, against
        // the view (without one, it reads the kernel).
        self.pass(now, false);
        if self.scan.is_some() {
            // Longer than the period: it finishes first.
            return;
        }
        let (Some(sock), Some(view)) = (self.sock.as_mut(), self.view.as_ref()) else {
            return;
        };
        let same = match sock.services() {
            Ok(list) => {
                list.len() == view.services.len()
                    && list.iter().all(|e| {
                        view.services
                            .get(&e.service.key)
                            .is_some_and(|ts| ts.service.same_config(&e.service))
                    })
            }
            Err(e) => {
                error!("IPVS: cannot read the kernel's services: {e}");
                false
            }
        };
        if !same {
            info!("IPVS: the kernel's services changed behind our back; reading the whole table");
            self.view = None;
            self.dirty = true;
            return;
        }
        self.scan = Some(Scan {
            keys: view.services.keys().copied().collect(),
            next: 0,
            started: Instant::now(),
            slices: 0,
            longest: Duration::ZERO,
        });
    }

    /// One slice of the drift check: the destinations of the next
    /// [`DRIFT_SLICE`] services compared with the view; one that differs
    /// is put in the view as the kernel has it, for the next pass to
    /// correct.
    fn scan_slice(&mut self) {
        let t0 = Instant::now();
        let (Some(scan), Some(sock), Some(view)) =
            (self.scan.as_mut(), self.sock.as_mut(), self.view.as_mut())
        else {
            self.scan = None;
            return;
        };
        let end = (scan.next + DRIFT_SLICE).min(scan.keys.len());
        let mut changed = 0;
        let mut failed = None;
        for key in &scan.keys[scan.next..end] {
            // Gone from the view: removed by our own ops since.
            let Some(ts) = view.services.get_mut(key) else {
                continue;
            };
            match sock.dests(key) {
                Ok(list) => {
                    let same = list.len() == ts.dests.len()
                        && list.iter().all(|d| {
                            ts.dests
                                .get(&d.dest.key())
                                .is_some_and(|v| v.same_config(&d.dest))
                        });
                    if !same {
                        ts.dests = list.into_iter().map(|d| (d.dest.key(), d.dest)).collect();
                        changed += 1;
                    }
                }
                Err(e) => {
                    failed = Some(format!("{key:?}: {e}"));
                    break;
                }
            }
        }
        if let Some(why) = failed {
            // Deleted meanwhile (by someone else: ours leave the view).
            info!("IPVS: cannot read the destinations of {why}; reading the whole table");
            self.scan = None;
            self.view = None;
            self.dirty = true;
            return;
        }
        scan.next = end;
        scan.slices += 1;
        scan.longest = scan.longest.max(t0.elapsed());
        if changed > 0 {
            info!("IPVS: the destinations of {changed} service(s) changed behind our back");
            self.dirty = true;
        }
        if end == scan.keys.len() {
            debug!(
                "IPVS: drift check: {} service(s) compared in {:?}, {} slice(s), the longest {:?}",
                scan.keys.len(),
                scan.started.elapsed(),
                scan.slices,
                scan.longest
            );
            self.scan = None;
        }
    }

    /// At stop: what we created in the IPVS table goes.
    fn teardown(&mut self) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        if self.plan.flush_on_stop {
            // lvs_flush_on_stop: the whole table, ours or not.
            match sock.flush() {
                Ok(()) => info!("IPVS: flushed the table (lvs_flush_on_stop)"),
                Err(e) => error!("IPVS: cannot flush the table at stop: {e}"),
            }
        }
        // One service dump (not one dest dump per service: 10,000 services
        // took longer than the parent's stop timeout just to read).
        let services = match sock.services() {
            Ok(s) => s,
            Err(e) => {
                error!("IPVS: cannot read the kernel table at stop: {e}");
                return;
            }
        };
        // A table of ours only goes in one flush: one request, not one per
        // service.
        let all_ours = !services.is_empty()
            && services
                .iter()
                .all(|s| self.owned.services.contains(&s.service.key));
        let mut ops = Vec::new();
        let mut flushed = false;
        if all_ours {
            match sock.flush() {
                Ok(()) => {
                    flushed = true;
                    info!(
                        "IPVS: removed the {} service(s) we created (the table held only ours: one flush)",
                        services.len()
                    );
                }
                Err(e) => {
                    error!("IPVS: cannot flush the table at stop: {e}; removing ours one by one")
                }
            }
        }
        if !flushed {
            // Our services go whole; in another's, only our destinations
            // (their dests read for those alone).
            let mut actual = keepalived_ipvs::Table::new();
            let with_dests: BTreeSet<keepalived_ipvs::ServiceKey> =
                self.owned.dests.iter().map(|(k, _)| *k).collect();
            for s in services {
                let key = s.service.key;
                let foreign = !self.owned.services.contains(&key);
                actual.add_service(s.service);
                if foreign && with_dests.contains(&key) {
                    match sock.dests(&key) {
                        Ok(ds) => {
                            for d in ds {
                                actual.add_dest(&key, d.dest);
                            }
                        }
                        Err(e) => error!("IPVS: cannot read the destinations of {key:?}: {e}"),
                    }
                }
            }
            ops = teardown(&actual, &self.owned);
        }
        match sock.daemons() {
            Ok(d) => ops.extend(teardown_daemons(&d, &self.owned)),
            Err(e) => error!("IPVS: cannot read the sync daemons at stop: {e}"),
        }
        if !ops.is_empty() {
            info!("IPVS: removing the {} entr(ies) we created", ops.len());
        }
        for (op, e) in sock.apply(&ops, &mut self.owned) {
            error!("IPVS: {op:?}: {e}");
        }
    }
}

fn state_name(s: DaemonState) -> &'static str {
    match s {
        DaemonState::Master => "master",
        DaemonState::Backup => "backup",
    }
}

/// How the VRRP instance `lvs_sync_daemon` follows (if any) stands.
fn follow(
    instance: Option<&str>,
    vrrp: &BTreeMap<String, VrrpState>,
    was_master: &BTreeSet<String>,
) -> SyncFollow {
    match instance {
        None => SyncFollow::NoInstance,
        // A stopping instance takes its daemon with it (keepalived's VRRP
        // process stops the running one at exit, starting nothing).
        Some(i) => SyncFollow::Instance {
            master: vrrp.get(i) == Some(&VrrpState::Master),
            was_master: was_master.contains(i) && vrrp.get(i) != Some(&VrrpState::Stop),
        },
    }
}

/// The host's local addresses, for `ha_suspend` (keepalived suspends the
/// checkers of a virtual server whose address is not configured here): one
/// address dump, no subscription (a pass runs on every VRRP state change,
/// which is when VIPs move, and every few seconds anyway). A
/// point-to-point address counts by its local end, as in keepalived.
fn local_addresses() -> std::io::Result<BTreeSet<std::net::IpAddr>> {
    let addrs = keepalived_rtnl::rtnl::Rtnl::open()?.addresses()?;
    Ok(addrs.into_iter().map(|a| a.addr).collect())
}

fn main() {
    keepalived_child::run(Ipvsd::default())
}

/// This process's CPU time so far: (user, kernel).
fn own_cpu() -> Option<(Duration, Duration)> {
    // SAFETY: getrusage fills the struct it is given, nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return None;
    }
    let d = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Some((d(u.ru_utime), d(u.ru_stime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan of one service whose real servers have ids `rs`.
    fn plan_of(rs: &[u32]) -> IpvsPlan {
        use keepalived_ipvs::desired::{Health, RealServerInput, VirtualServerInput, VsTarget};
        let vip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        let mut input = VirtualServerInput::new(
            "[10.0.0.1]:tcp:80",
            VsTarget::Single(keepalived_ipvs::ServiceKey::Addr {
                protocol: keepalived_ipvs::Protocol::Tcp,
                addr: vip,
                port: 80,
            }),
            keepalived_ipvs::Scheduler::from_name("rr"),
        );
        for (i, _) in rs.iter().enumerate() {
            let a = std::net::IpAddr::from([10, 0, 1, i as u8 + 1]);
            input
                .real_servers
                .push(RealServerInput::new(a, 80, 1, Health::Unknown));
        }
        IpvsPlan {
            services: vec![keepalived_ipvs::plan::PlannedService {
                id: 1,
                name: "[10.0.0.1]:tcp:80".into(),
                input,
                real_servers: rs.to_vec(),
                vip: Some(vip),
                announce: None,
            }],
            sync_daemon: None,
            ..Default::default()
        }
    }

    fn report(id: u32, up: bool, settled: bool) -> keepalived_ipc::RealServerHealth {
        keepalived_ipc::RealServerHealth {
            virtual_server: keepalived_ipc::VsId(1),
            real_server: keepalived_ipc::RsId(id),
            up,
            weight: None,
            settled,
        }
    }

    /// State is bounded by the plan: a reload forgets the health of the
    /// real servers it removed, and a report naming none of the plan's is
    /// dropped (10,000 reloads churning real servers grew ipvsd by 3 MiB).
    /// Whether a server's first verdicts are in follows its last report.
    #[test]
    fn health_is_kept_for_the_plans_real_servers_only() {
        let mut d = Ipvsd::default();
        let ids = keepalived_ipc::Ids::default();
        d.set_plan(plan_of(&[1, 2]), ids.clone());
        for id in [1, 2, 99] {
            d.report_health(&report(id, true, id != 2));
        }
        assert_eq!(d.health.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(d.settled.iter().copied().collect::<Vec<_>>(), vec![1]);
        d.set_plan(plan_of(&[2, 3]), ids);
        d.report_health(&report(3, false, true));
        assert_eq!(d.health.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(d.settled.iter().copied().collect::<Vec<_>>(), vec![3]);
        d.report_health(&report(3, true, false));
        assert!(
            d.settled.is_empty(),
            "a restarted checkerd's starting state"
        );
        assert_eq!(d.health_updates, 4);
    }

    #[test]
    fn vrrp_state_to_sync_daemons() {
        use keepalived_ipvs::diff::sync_daemon_states;
        let mut d = Ipvsd::default();
        let states = |d: &Ipvsd| sync_daemon_states(follow(Some("VI_1"), &d.vrrp, &d.was_master));
        assert!(states(&d).is_empty(), "nothing before the instance reports");
        d.vrrp_state("VI_1", VrrpState::Backup);
        assert!(states(&d).is_empty(), "BACKUP that never was MASTER: none");
        d.vrrp_state("VI_2", VrrpState::Master);
        assert!(states(&d).is_empty(), "another instance does not count");
        d.vrrp_state("VI_1", VrrpState::Master);
        assert_eq!(states(&d), vec![DaemonState::Master]);
        d.vrrp_state("VI_1", VrrpState::Fault);
        assert_eq!(states(&d), vec![DaemonState::Backup]);
        d.vrrp_state("VI_1", VrrpState::Backup);
        assert_eq!(states(&d), vec![DaemonState::Backup]);
        d.vrrp_state("VI_1", VrrpState::Stop);
        assert!(states(&d).is_empty(), "stopping: none");
        assert_eq!(
            sync_daemon_states(follow(None, &d.vrrp, &d.was_master)),
            vec![DaemonState::Master, DaemonState::Backup]
        );
    }
}
