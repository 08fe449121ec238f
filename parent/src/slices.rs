//! What part of the configuration each child receives.
//!
//! Children never read the configuration file; each gets only the blocks it
//! acts on, so a compromised child learns as little as possible.

use keepalived_config::Config;
use keepalived_ipc::{ConfigSlice, Ids, Subsystem};

pub fn slice(config: &Config, ids: &Ids, sub: Subsystem, generation: u64) -> ConfigSlice {
    let mut c = config.clone();
    match sub {
        // VRRP needs no load-balancer blocks.
        Subsystem::Vrrp => {
            c.virtual_servers.clear();
            c.virtual_server_groups.clear();
        }
        // The checker runs health checks and every script, including the
        // VRRP notify and track scripts: it keeps both sides.
        Subsystem::Checker => {}
        // IPVS gets its typed plan only: no configuration text at all.
        Subsystem::Ipvs => {
            return ConfigSlice {
                subsystem: sub,
                generation,
                config: Config::default(),
                ids: ids.clone(),
                ipvs: Some(crate::ipvs_plan::compile(config, ids)),
            };
        }
    }
    ConfigSlice {
        subsystem: sub,
        generation,
        config: c,
        ids: ids.clone(),
        ipvs: None,
    }
}
