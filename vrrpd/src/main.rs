//! vrrpd: VRRP v2/v3 (CAP_NET_RAW, CAP_NET_ADMIN only).
//!
//! The process shell: configuration from the parent, routed track-script
//! results in, instance states out.

#[allow(dead_code)]
mod net;

use keepalived_child::{Ctx, Daemon};
use keepalived_ipc::{ConfigSlice, DumpKind, ReplayState, Subsystem, ToChild};
use log::info;

struct Vrrpd {
    slice: Option<ConfigSlice>,
    replay: ReplayState,
}

impl Daemon for Vrrpd {
    const SUBSYSTEM: Subsystem = Subsystem::Vrrp;

    fn configure(
        &mut self,
        slice: ConfigSlice,
        replay: ReplayState,
        _ctx: &mut Ctx,
    ) -> Result<(), String> {
        info!(
            "Configuration {}: {} VRRP instance(s)",
            slice.generation,
            slice.config.vrrp_instances.len()
        );
        if !replay.vrrp.is_empty() {
            info!(
                "Resuming {} instance state(s) recorded by the parent",
                replay.vrrp.len()
            );
        }
        self.slice = Some(slice);
        self.replay = replay;
        Ok(())
    }

    fn reload(&mut self, slice: ConfigSlice, _ctx: &mut Ctx) -> Result<(), String> {
        info!("Reloaded configuration {}", slice.generation);
        self.slice = Some(slice);
        Ok(())
    }

    fn message(&mut self, msg: ToChild, _ctx: &mut Ctx) {
        if let ToChild::TrackScript(t) = msg {
            log::debug!(
                "track script {} is {}",
                t.script,
                if t.ok { "OK" } else { "KO" }
            );
        }
    }

    fn dump(&mut self, kind: DumpKind) -> String {
        let n = self
            .slice
            .as_ref()
            .map_or(0, |s| s.config.vrrp_instances.len());
        match kind {
            DumpKind::Data => format!("------< VRRP Topology >------\n VRRP instances: {n}\n"),
            DumpKind::Stats => format!("------< VRRP statistics >------\n VRRP instances: {n}\n"),
        }
    }
}

fn main() {
    keepalived_child::run(Vrrpd {
        slice: None,
        replay: ReplayState::default(),
    })
}
