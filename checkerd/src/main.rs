//! checkerd: health checks and scripts, unprivileged and without capabilities.

use keepalived_child::{Ctx, Daemon};
use keepalived_ipc::{ConfigSlice, DumpKind, ReplayState, Subsystem, ToChild};
use log::info;

struct Checkerd {
    slice: Option<ConfigSlice>,
}

impl Daemon for Checkerd {
    const SUBSYSTEM: Subsystem = Subsystem::Checker;

    fn configure(
        &mut self,
        slice: ConfigSlice,
        _replay: ReplayState,
        _ctx: &mut Ctx,
    ) -> Result<(), String> {
        let rs: usize = slice
            .config
            .virtual_servers
            .iter()
            .map(|v| v.real_servers.len())
            .sum();
        info!(
            "Configuration {}: {} virtual server(s), {rs} real server(s), {} script(s)",
            slice.generation,
            slice.config.virtual_servers.len(),
            slice.config.vrrp_scripts.len()
        );
        self.slice = Some(slice);
        Ok(())
    }

    fn reload(&mut self, slice: ConfigSlice, _ctx: &mut Ctx) -> Result<(), String> {
        info!("Reloaded configuration {}", slice.generation);
        self.slice = Some(slice);
        Ok(())
    }

    fn message(&mut self, msg: ToChild, _ctx: &mut Ctx) {
        if let ToChild::VrrpState(s) = msg {
            log::debug!("({}) is now {}", s.instance, s.state.as_str());
        }
    }

    fn dump(&mut self, kind: DumpKind) -> String {
        let n = self
            .slice
            .as_ref()
            .map_or(0, |s| s.config.virtual_servers.len());
        match kind {
            DumpKind::Data => format!("------< Health checkers >------\n Virtual servers: {n}\n"),
            DumpKind::Stats => {
                format!("------< Health checker statistics >------\n Virtual servers: {n}\n")
            }
        }
    }
}

fn main() {
    keepalived_child::run(Checkerd { slice: None })
}
