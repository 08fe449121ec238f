//! `static_ipaddress`, `static_routes`, `static_rules` (keepalived 2.2.7,
//! vrrp_daemon.c): set up when vrrpd starts (what an earlier run left is
//! removed first), changed by a reload only where the configuration
//! changed, removed at stop — whatever the instances' states.

use super::*;
use crate::plan::{statics, Statics};

impl Engine {
    /// Bring the static entries to what `vrrp` plans (`first`: vrrpd is
    /// starting, not reloading).
    pub(super) fn set_statics(&mut self, vrrp: &VrrpPlan, first: bool) {
        let links: Vec<Link> = self.links.values().cloned().collect();
        let want = statics(vrrp, &links);
        let old = std::mem::take(&mut self.statics);
        // At start: a leftover of a run that died goes first (keepalived
        // deletes them all, then adds them).
        let gone = if first {
            want.clone()
        } else {
            Statics {
                addrs: old
                    .addrs
                    .iter()
                    .filter(|a| !want.addrs.contains(a))
                    .cloned()
                    .collect(),
                routes: old
                    .routes
                    .iter()
                    .filter(|r| !want.routes.contains(r))
                    .cloned()
                    .collect(),
                rules: old
                    .rules
                    .iter()
                    .filter(|r| !want.rules.contains(r))
                    .cloned()
                    .collect(),
            }
        };
        self.remove_statics(&gone);
        for a in want
            .addrs
            .iter()
            .filter(|a| first || !old.addrs.contains(a))
        {
            if let Err(e) = self.rtnl.add_address(a) {
                error!("static_ipaddress {}/{}: {e}", a.addr, a.prefix);
            }
        }
        for r in want
            .routes
            .iter()
            .filter(|r| first || !old.routes.contains(r))
        {
            if let Err(e) = self.rtnl.add_route(r) {
                error!("static_routes {}: {e}", r.spec.dst);
            }
        }
        for r in want
            .rules
            .iter()
            .filter(|r| first || !old.rules.contains(r))
        {
            if let Err(e) = self.rtnl.add_rule(r) {
                error!("static_rules {r:?}: {e}");
            }
        }
        self.statics = want;
    }

    /// Remove static entries (rules, routes, then addresses, as keepalived);
    /// one already gone is fine.
    pub(super) fn remove_statics(&mut self, s: &Statics) {
        for r in &s.rules {
            let _ = self.rtnl.del_rule(r);
        }
        for r in &s.routes {
            let _ = self.rtnl.del_route(r);
        }
        for a in &s.addrs {
            let _ = self.rtnl.del_address(a);
        }
    }
}
