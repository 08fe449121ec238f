//! What part of the configuration each child receives.
//!
//! Children never read the configuration file; each gets only the blocks it
//! acts on, so a compromised child learns as little as possible.

use keepalived_check::plan::CheckPlan;
use keepalived_config::Config;
use keepalived_ipc::{ConfigSlice, Ids, Subsystem};
use keepalived_ipvs::plan::IpvsPlan;

/// `check`: checkerd's plan, compiled once per configuration (its script
/// ids must match the allowlist the launcher got); `ipvs`: ipvsd's.
pub fn slice(
    config: &Config,
    ids: &Ids,
    check: &CheckPlan,
    ipvs: &IpvsPlan,
    sub: Subsystem,
    generation: u64,
) -> ConfigSlice {
    let (ipvs, vrrp, check) = match sub {
        // VRRP gets its typed plan only (an instance that cannot be
        // planned is left out: vrrpd logs nothing about a block it never
        // sees, so the parent does).
        Subsystem::Vrrp => {
            let (plan, errors) = crate::vrrp_plan::compile(config);
            for e in errors {
                log::error!("{e}; instance disabled");
            }
            (None, Some(plan), None)
        }
        // The checker runs health checks and every script (by id), but
        // never learns the VRRP passwords or a command line.
        Subsystem::Checker => (None, None, Some(check.clone())),
        Subsystem::Ipvs => (Some(ipvs.clone()), None, None),
    };
    ConfigSlice {
        subsystem: sub,
        generation,
        ids: ids.clone(),
        ipvs,
        vrrp,
        check,
        process: crate::tuning::settings(&config.global_defs, sub),
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
        let list = keepalived_ipc::script_allow::Allowlist::of(
            &c,
            &ids,
            (1, 1),
            &Default::default(),
            &mut next,
        );
        let (check, ..) = crate::check_plan::compile(&c, &ids, &list, None);
        let ipvs = crate::ipvs_plan::compile(&c, &ids, None);
        let v = slice(&c, &ids, &check, &ipvs, Subsystem::Vrrp, 1);
        let plan = v.vrrp.expect("a plan");
        assert_eq!(plan.instances.len(), 1);
        assert!(v.ipvs.is_none() && v.check.is_none());
        let k = slice(&c, &ids, &check, &ipvs, Subsystem::Checker, 1);
        assert!(
            k.vrrp.is_none() && k.ipvs.is_none(),
            "checkerd got the VRRP plan (and its passwords)"
        );
        let wire = format!("{k:?}");
        assert!(!wire.contains("secret"), "a password reached checkerd");
        assert_eq!(k.check.expect("a plan").servers.len(), 1);
        let i = slice(&c, &ids, &check, &ipvs, Subsystem::Ipvs, 1);
        assert!(
            i.vrrp.is_none() && i.check.is_none(),
            "ipvsd got the VRRP plan (and its passwords)"
        );
        assert_eq!(i.ipvs.expect("a plan").services.len(), 1);
    }
}
