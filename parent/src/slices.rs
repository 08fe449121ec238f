//! What part of the configuration each child receives.
//!
//! Children never read the configuration file; each gets only the blocks it
//! acts on, so a compromised child learns as little as possible.

use keepalived_config::Config;
use keepalived_ipc::{ConfigSlice, Ids, Subsystem};

pub fn slice(config: &Config, ids: &Ids, sub: Subsystem, generation: u64) -> ConfigSlice {
    let (config, ipvs, vrrp) = match sub {
        // VRRP gets its typed plan only (an instance that cannot be
        // planned is left out: vrrpd logs nothing about a block it never
        // sees, so the parent does).
        Subsystem::Vrrp => {
            let (plan, errors) = crate::vrrp_plan::compile(config);
            for e in errors {
                log::error!("{e}; instance disabled");
            }
            (Config::default(), None, Some(plan))
        }
        // The checker runs health checks and every script, including the
        // VRRP notify and track scripts: it keeps both sides, but never
        // the VRRP passwords (a compromised checker must not learn them).
        Subsystem::Checker => {
            let mut c = config.clone();
            for i in &mut c.vrrp_instances {
                i.authentication = None;
            }
            (c, None, None)
        }
        // IPVS gets its typed plan only: no configuration text at all.
        Subsystem::Ipvs => (
            Config::default(),
            Some(crate::ipvs_plan::compile(config, ids)),
            None,
        ),
    };
    ConfigSlice {
        subsystem: sub,
        generation,
        config,
        ids: ids.clone(),
        ipvs,
        vrrp,
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
        assert_eq!(v.config, Config::default(), "vrrpd got configuration text");
        let plan = v.vrrp.expect("a plan");
        assert_eq!(plan.instances.len(), 1);
        assert!(v.ipvs.is_none());
        let k = slice(&c, &ids, Subsystem::Checker, 1);
        assert!(
            k.vrrp.is_none(),
            "checkerd got the VRRP plan (and its passwords)"
        );
        assert!(
            k.config.vrrp_instances[0].authentication.is_none(),
            "a password reached checkerd"
        );
        let i = slice(&c, &ids, Subsystem::Ipvs, 1);
        assert_eq!(i.config, Config::default(), "ipvsd got configuration text");
        assert!(
            i.vrrp.is_none(),
            "ipvsd got the VRRP plan (and its passwords)"
        );
        assert_eq!(i.ipvs.expect("a plan").services.len(), 1);
    }
}
