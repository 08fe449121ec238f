//! `static_ipaddress`, `static_routes`, `static_rules` (keepalived 2.2.7,
//! vrrp_daemon.c): set up when vrrpd starts (what an earlier run left is
//! removed first), changed by a reload only where the configuration
//! changed, removed at stop — whatever the instances' states. As there,
//! a static address someone else deletes is put back at once, and the
//! static addresses and routes on an interface that comes up are put back
//! (the kernel drops the routes of a link that goes down); `no_track`
//! ones are left alone. (keepalived 2.2.7 does not put back a static
//! route deleted while its interface stays up, and neither do we.)

use super::*;
use crate::net::routes::Route;
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

    /// Whether a static address is watched (not `no_track`).
    fn tracked(&self, a: &AddrSpec) -> bool {
        !self
            .plan
            .static_addrs
            .iter()
            .any(|v| v.addr == a.addr && v.prefix == a.prefix && v.no_track)
    }

    /// keepalived's reinstate_static_address: an address of ours that
    /// someone else deleted.
    pub(super) fn static_address_removed(&mut self, a: &Addr) {
        let Some(s) = self
            .statics
            .addrs
            .iter()
            .find(|s| s.index == a.index && s.addr == a.addr && s.prefix == a.prefix)
            .cloned()
        else {
            return;
        };
        if self.tracked(&s) {
            self.restore_address(&s);
        }
    }

    fn restore_address(&mut self, s: &AddrSpec) {
        match self.rtnl.add_address(s) {
            Ok(()) => info!(
                "Restoring deleted static address {}/{} dev {}",
                s.addr,
                s.prefix,
                self.link_name(s.index)
            ),
            Err(e) => warn!("cannot restore static address {}/{}: {e}", s.addr, s.prefix),
        }
    }

    /// keepalived's interface_up: the static addresses and routes on a
    /// link that came up go back.
    pub(super) fn reinstate_statics(&mut self, index: u32) {
        let addrs: Vec<AddrSpec> = self
            .statics
            .addrs
            .iter()
            .filter(|a| a.index == index && self.tracked(a))
            .cloned()
            .collect();
        for a in &addrs {
            self.restore_address(a);
        }
        let routes: Vec<Route> = self
            .statics
            .routes
            .iter()
            .filter(|r| r.oif == Some(index) && !r.spec.no_track)
            .cloned()
            .collect();
        for r in &routes {
            match self.rtnl.add_route(r) {
                Ok(()) => info!(
                    "Restoring deleted static route {} dev {}",
                    r.spec.dst,
                    self.link_name(index)
                ),
                Err(e) => warn!("cannot restore static route {}: {e}", r.spec.dst),
            }
        }
    }

    fn link_name(&self, index: u32) -> String {
        self.links
            .get(&index)
            .map_or_else(|| format!("#{index}"), |l| l.name.clone())
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
