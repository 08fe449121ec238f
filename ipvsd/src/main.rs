//! ipvsd: programs the kernel IPVS table (CAP_NET_ADMIN only).
//!
//! It receives the virtual servers from the parent and real-server health
//! from checkerd through the parent. On a kernel without IPVS it says so
//! once, keeps running, and retries, so the rest of the suite works.

mod probe;

use keepalived_child::{Ctx, Daemon};
use keepalived_ipc::{ConfigSlice, DumpKind, ReplayState, Subsystem, ToChild};
use log::{info, warn};
use std::time::{Duration, Instant};

/// How often a missing IPVS is looked for again.
const RETRY: Duration = Duration::from_secs(30);

struct Ipvsd {
    slice: Option<ConfigSlice>,
    family: Option<u16>,
    next_probe: Option<Instant>,
    warned: bool,
    health_updates: u64,
}

impl Ipvsd {
    fn probe(&mut self, now: Instant) {
        match probe::resolve_ipvs_family() {
            Ok(id) => {
                info!("IPVS: generic netlink family id {id}");
                self.family = Some(id);
                self.next_probe = None;
            }
            Err(e) => {
                if !self.warned {
                    warn!(
                        "{e}; health checks keep running, retrying every {}s",
                        RETRY.as_secs()
                    );
                    self.warned = true;
                }
                self.next_probe = Some(now + RETRY);
            }
        }
    }
}

impl Daemon for Ipvsd {
    const SUBSYSTEM: Subsystem = Subsystem::Ipvs;

    fn configure(
        &mut self,
        slice: ConfigSlice,
        _replay: ReplayState,
        ctx: &mut Ctx,
    ) -> Result<(), String> {
        info!(
            "Configuration {}: {} virtual server(s)",
            slice.generation,
            slice.config.virtual_servers.len()
        );
        self.slice = Some(slice);
        self.probe(ctx.now);
        Ok(())
    }

    fn reload(&mut self, slice: ConfigSlice, _ctx: &mut Ctx) -> Result<(), String> {
        info!("Reloaded configuration {}", slice.generation);
        self.slice = Some(slice);
        Ok(())
    }

    fn message(&mut self, msg: ToChild, _ctx: &mut Ctx) {
        if let ToChild::Health(h) = msg {
            self.health_updates += 1;
            log::debug!(
                "real server {} of {} is {}",
                h.real_server,
                h.virtual_server,
                if h.up { "up" } else { "down" }
            );
        }
    }

    fn dump(&mut self, kind: DumpKind) -> String {
        match kind {
            DumpKind::Data => format!(
                "------< IPVS >------\n IPVS family: {}\n Virtual servers: {}\n",
                self.family
                    .map_or("not available".to_string(), |f| f.to_string()),
                self.slice
                    .as_ref()
                    .map_or(0, |s| s.config.virtual_servers.len())
            ),
            DumpKind::Stats => format!(
                "------< IPVS statistics >------\n Health updates: {}\n",
                self.health_updates
            ),
        }
    }

    fn timer(&mut self, ctx: &mut Ctx) {
        if self.next_probe.is_some_and(|t| t <= ctx.now) {
            self.probe(ctx.now);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.next_probe
    }
}

fn main() {
    keepalived_child::run(Ipvsd {
        slice: None,
        family: None,
        next_probe: None,
        warned: false,
        health_updates: 0,
    })
}
