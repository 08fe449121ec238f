//! ipvsd: programs the kernel IPVS table (CAP_NET_ADMIN only).
//!
//! Reconcile, don't replay: the desired table is computed from the
//! configuration and the real servers' health (from checkerd through the
//! parent), the kernel's table is dumped, and only the difference is
//! written. Entries changed behind our back are put back at the next pass;
//! entries we never created are left alone; on stop, what we created goes.
//! On a kernel without IPVS it says so once, keeps running, and retries.

mod inputs;

use inputs::HealthMap;
use keepalived_child::{Ctx, Daemon};
use keepalived_config::Config;
use keepalived_ipc::{ConfigSlice, DumpKind, ReplayState, Subsystem, ToChild};
use keepalived_ipvs::{
    compute, diff, teardown, Event, IpvsError, IpvsSocket, Owned, ReconcileState,
};
use log::{debug, error, info, warn};
use std::time::{Duration, Instant};

/// How often a missing IPVS is looked for again.
const RETRY: Duration = Duration::from_secs(30);
/// How often the kernel table is compared with the desired one, to undo
/// changes made behind our back.
const DRIFT_CHECK: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Ipvsd {
    config: Config,
    health: HealthMap,
    sock: Option<IpvsSocket>,
    owned: Owned,
    state: ReconcileState,
    next_probe: Option<Instant>,
    next_drift: Option<Instant>,
    warned: bool,
    passes: u64,
    health_updates: u64,
    /// Health changed since the last pass: reconcile once per wake-up, not
    /// once per message (a start reports thousands at once).
    dirty: bool,
}

impl Ipvsd {
    fn connect(&mut self, now: Instant) {
        match IpvsSocket::connect() {
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

    /// One pass: desired table, kernel table, difference applied.
    fn reconcile(&mut self, now: Instant) {
        self.next_drift = Some(now + DRIFT_CHECK);
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        let d = compute(&inputs::inputs(&self.config, &self.health), &self.state);
        self.state = d.state;
        for ev in d.events {
            match ev {
                Event::QuorumUp { vs, .. } => info!("Gained quorum for {vs}"),
                Event::QuorumDown { vs, .. } => warn!("Lost quorum for {vs}"),
            }
        }
        let actual = match sock.table() {
            Ok(t) => t,
            Err(e) => {
                error!("IPVS: cannot read the kernel table: {e}");
                return;
            }
        };
        let ops = diff(&d.table, &actual, &self.owned);
        self.passes += 1;
        if !ops.is_empty() {
            info!("IPVS: applying {} change(s)", ops.len());
        }
        for (op, e) in sock.apply(&ops, &mut self.owned) {
            error!("IPVS: {op:?}: {e}");
        }
        self.owned.claim(&d.table);
        let took = now.elapsed();
        if ops.is_empty() {
            debug!(
                "IPVS: reconcile pass: no change, {} service(s) compared in {took:?}",
                actual.services.len()
            );
        } else {
            info!(
                "IPVS: reconcile pass: {} change(s) applied in {took:?}",
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
            slice.config.virtual_servers.len()
        );
        self.config = slice.config;
        self.health = replay
            .health
            .into_iter()
            .map(|h| ((h.virtual_server, h.real_server), (h.up, h.weight)))
            .collect();
        self.connect(ctx.now);
        Ok(())
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reconcile(ctx.now);
    }

    fn reload(&mut self, slice: ConfigSlice, ctx: &mut Ctx) -> Result<(), String> {
        info!("Reloaded configuration {}", slice.generation);
        self.config = slice.config;
        self.reconcile(ctx.now);
        Ok(())
    }

    fn message(&mut self, msg: ToChild, _ctx: &mut Ctx) {
        if let ToChild::Health(h) = msg {
            self.health_updates += 1;
            self.health
                .insert((h.virtual_server, h.real_server), (h.up, h.weight));
            self.dirty = true;
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
            DumpKind::Stats => format!(
                "------< IPVS statistics >------\n Health updates: {}\n Reconcile passes: {}\n Netlink writes: {}\n",
                self.health_updates,
                self.passes,
                self.sock.as_ref().map_or(0, IpvsSocket::writes)
            ),
        }
    }

    fn timer(&mut self, ctx: &mut Ctx) {
        if self.next_probe.is_some_and(|t| t <= ctx.now) {
            self.connect(ctx.now);
            self.reconcile(ctx.now);
        }
        if self.dirty || self.next_drift.is_some_and(|t| t <= ctx.now) {
            self.dirty = false;
            self.reconcile(ctx.now);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [self.next_probe, self.sock.as_ref().and(self.next_drift)]
            .into_iter()
            .flatten()
            .min()
    }

    fn shutdown(&mut self, _ctx: &mut Ctx) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        match sock.table() {
            Ok(actual) => {
                let ops = teardown(&actual, &self.owned);
                info!("IPVS: removing the {} entr(ies) we created", ops.len());
                for (op, e) in sock.apply(&ops, &mut self.owned) {
                    error!("IPVS: {op:?}: {e}");
                }
            }
            Err(e) => error!("IPVS: cannot read the kernel table at stop: {e}"),
        }
    }
}

fn main() {
    keepalived_child::run(Ipvsd::default())
}
