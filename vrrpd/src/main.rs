//! vrrpd: VRRP v2/v3 for IPv4 and IPv6 (CAP_NET_RAW, CAP_NET_ADMIN only).
//!
//! A thin mio shell: the configuration and the parent's recorded state come
//! in over IPC, `engine` runs the sans-IO instances against the kernel, and
//! instance states go back to the parent (which routes them to checkerd for
//! notify scripts and to ipvsd). Tracker verdicts (scripts, files, processes) come from checkerd
//! through the parent.

mod engine;
mod net;
mod plan;

use engine::Engine;
use keepalived_child::{Ctx, Daemon};
use keepalived_ipc::{ConfigSlice, DumpKind, ReplayState, Subsystem, ToChild};
use keepalived_vrrp::plan::VrrpPlan;
use log::info;
use mio::Token;
use std::time::Instant;

#[derive(Default)]
struct Vrrpd {
    engine: Option<Engine>,
    replay: ReplayState,
    /// The plan's ids (the replay names instances by them).
    ids: keepalived_ipc::Ids,
}

impl Vrrpd {
    fn forward(&mut self, ctx: &mut Ctx) {
        if let Some(e) = self.engine.as_mut() {
            for m in e.take_messages() {
                ctx.send(m);
            }
        }
    }
}

/// vrrpd's typed plan from the parent (it never gets configuration text).
fn plan_of(slice: &ConfigSlice) -> Result<VrrpPlan, String> {
    slice
        .vrrp
        .clone()
        .ok_or_else(|| format!("configuration {} carries no VRRP plan", slice.generation))
}

impl Daemon for Vrrpd {
    const SUBSYSTEM: Subsystem = Subsystem::Vrrp;

    fn configure(
        &mut self,
        slice: ConfigSlice,
        replay: ReplayState,
        ctx: &mut Ctx,
    ) -> Result<(), String> {
        let vrrp = plan_of(&slice)?;
        info!(
            "Configuration {}: {} VRRP instance(s)",
            slice.generation,
            vrrp.instances.len()
        );
        self.ids = slice.ids.clone();
        self.engine = Some(Engine::new(&vrrp, slice.ids, ctx.registry)?);
        self.replay = replay;
        Ok(())
    }

    fn start(&mut self, ctx: &mut Ctx) {
        let resume = engine::recorded(&self.replay.vrrp, &self.ids);
        // keepalived's phrase; instances resumed after a crash are not
        // delayed (only a start is).
        let delay = self.engine.as_ref().and_then(Engine::startup_delay);
        if let Some(d) = delay.filter(|_| resume.is_empty()) {
            info!("Delaying startup for {} seconds", d.as_secs_f64());
        }
        if let Some(e) = self.engine.as_mut() {
            e.start(ctx.now, &resume, &self.replay.tracks);
        }
        self.forward(ctx);
    }

    fn reload(&mut self, slice: ConfigSlice, ctx: &mut Ctx) -> Result<(), String> {
        info!("Reloading configuration {}", slice.generation);
        if let Some(e) = self.engine.as_mut() {
            e.reload(&plan_of(&slice)?, slice.ids, ctx.registry, ctx.now)?;
        }
        self.forward(ctx);
        Ok(())
    }

    fn message(&mut self, msg: ToChild, ctx: &mut Ctx) {
        match (msg, self.engine.as_mut()) {
            (ToChild::Track(t), Some(e)) => e.on_track(&t, ctx.now),
            (ToChild::Garp(id), Some(e)) => e.announce(id, ctx.now),
            _ => {}
        }
        self.forward(ctx);
    }

    fn dump(&mut self, kind: DumpKind) -> String {
        let Some(e) = self.engine.as_mut() else {
            return String::new();
        };
        match kind {
            DumpKind::Data => format!("------< VRRP Topology >------\n{}", e.dump(false)),
            DumpKind::Stats => format!("------< VRRP statistics >------\n{}", e.dump(true)),
            DumpKind::StatsClear => {
                let text = format!("------< VRRP statistics >------\n{}", e.dump(true));
                e.clear_stats();
                text
            }
            DumpKind::Json => e.json(),
        }
    }

    fn event(&mut self, token: Token, ctx: &mut Ctx) {
        if let Some(e) = self.engine.as_mut() {
            if token == engine::MONITOR_TOKEN {
                e.on_monitor(ctx.now);
                if let Err(e) = e.relink(ctx.registry, ctx.now) {
                    log::error!("cannot rebuild the instances on a new interface: {e}");
                }
            } else if token == engine::FIREWALL_TOKEN {
                e.on_firewall(ctx.now);
            } else {
                e.on_socket(token, ctx.now);
            }
        }
        self.forward(ctx);
    }

    fn timer(&mut self, ctx: &mut Ctx) {
        if let Some(e) = self.engine.as_mut() {
            e.on_timer(ctx.now);
        }
        self.forward(ctx);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.engine.as_ref().and_then(Engine::next_deadline)
    }

    fn hold_off(&self) -> Option<Instant> {
        self.engine.as_ref().and_then(Engine::hold_off)
    }

    fn shutdown(&mut self, ctx: &mut Ctx) {
        if let Some(e) = self.engine.as_mut() {
            e.shutdown(ctx.now);
        }
        self.forward(ctx);
    }
}

fn main() {
    keepalived_child::run(Vrrpd::default())
}
