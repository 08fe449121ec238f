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
        // VRRP notify and track scripts: it keeps both sides, but never
        // the VRRP passwords (a compromised checker must not learn them).
        Subsystem::Checker => {
            for i in &mut c.vrrp_instances {
                i.authentication = None;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    #[test]
    fn each_child_gets_only_what_it_runs() {
        let text = "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n \
             authentication {\n auth_type PASS\n auth_pass secret\n }\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
             virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n }\n}\n";
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .unwrap()
            .config;
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        let v = slice(&c, &ids, Subsystem::Vrrp, 1);
        assert!(v.config.virtual_servers.is_empty());
        assert!(v.config.vrrp_instances[0].authentication.is_some());
        let k = slice(&c, &ids, Subsystem::Checker, 1);
        assert!(
            k.config.vrrp_instances[0].authentication.is_none(),
            "a password reached checkerd"
        );
        let i = slice(&c, &ids, Subsystem::Ipvs, 1);
        assert_eq!(i.config, Config::default(), "ipvsd got configuration text");
        assert_eq!(i.ipvs.expect("a plan").services.len(), 1);
    }
}
