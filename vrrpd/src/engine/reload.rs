//! A reload as a diff: what is planned as before keeps running untouched.

use super::*;

impl Engine {
    /// Take the running units apart with what each was planned from (for
    /// a reload to keep those planned the same).
    pub(super) fn take_units(&mut self) -> Vec<Option<Running>> {
        let units = std::mem::take(&mut self.units);
        units
            .into_iter()
            .enumerate()
            .map(|(u, unit)| {
                let mut members: Vec<(Option<usize>, usize)> = (0..self.plans.len())
                    .filter(|&m| self.places[m].unit == u)
                    .map(|m| (self.places[m].slot, m))
                    .collect();
                members.sort_unstable();
                let group = match &unit {
                    Unit::Group(_) => members
                        .first()
                        .and_then(|&(_, m)| self.plans[m].group.clone()),
                    Unit::Single(_) => None,
                };
                Some(Running {
                    plans: members
                        .into_iter()
                        .map(|(_, m)| self.plans[m].clone())
                        .collect(),
                    group,
                    unit,
                })
            })
            .collect()
    }

    /// Apply a new configuration. An instance (or sync group) planned
    /// exactly as before is not touched: same state, timers, counters and
    /// addresses, no advert or gratuitous ARP out of turn. A changed one is
    /// rebuilt and resumes its state (a master keeps the addresses it still
    /// has and gains or loses only the difference); removed ones stop, new
    /// ones start.
    pub fn reload(
        &mut self,
        vrrp: &VrrpPlan,
        ids: Ids,
        registry: &Registry,
        now: Instant,
    ) -> Result<(), String> {
        self.reload_with(vrrp, ids, registry, now, false)
    }

    /// [`Engine::reload`]; `relink`: a `dynamic_interfaces` rebuild, where
    /// an instance rebuilt on its interface's new index starts again
    /// instead of resuming its FAULT (keepalived goes to BACKUP).
    pub(super) fn reload_with(
        &mut self,
        vrrp: &VrrpPlan,
        ids: Ids,
        registry: &Registry,
        now: Instant,
        relink: bool,
    ) -> Result<(), String> {
        self.plan = vrrp.clone();
        self.ids = ids;
        let before = self.states();
        let old_names: Vec<String> = self.plans.iter().map(|p| p.cfg.name.clone()).collect();
        let new_names: Vec<String> = vrrp.instances.iter().map(|i| i.cfg.name.clone()).collect();
        for (m, name) in old_names.iter().enumerate() {
            if !new_names.contains(name) {
                info!("({name}) removed from the configuration; stopping it");
                self.input(m, Input::Shutdown, now);
            }
        }
        let old_plans: BTreeMap<String, Planned> = self
            .plans
            .iter()
            .map(|p| (p.cfg.name.clone(), p.clone()))
            .collect();
        let addrs = self.rtnl.addresses().map_err(|e| e.to_string())?;
        if relink {
            // Rebuilt on its interface's new index, an instance starts
            // again; a FAULT it reports on the way is the one it is in.
            for (n, _) in before.iter().filter(|(_, s)| **s == State::Fault) {
                self.waiting_reported.insert(n.clone());
            }
        }
        let keep: BTreeMap<String, State> = before
            .into_iter()
            .filter(|(n, s)| new_names.contains(n) && *s != State::Init)
            .filter(|(_, s)| !(relink && *s == State::Fault))
            .collect();
        self.set_firewall(vrrp, registry);
        self.set_statics(vrrp, false);
        let reuse = self.take_units();
        let fresh = self.build(vrrp, &addrs, registry, &keep, reuse)?;
        let kept = fresh.iter().filter(|f| !**f).count();
        // (Tracker verdicts: the engine's own record, kept across reloads.)
        self.start_fresh(now, &keep, &[], &fresh);
        info!(
            "Reload: {kept} instance(s) unchanged, {} new or changed",
            fresh.len() - kept
        );
        // A changed master keeps its addresses across the reload: remove
        // what the new plan dropped, add only what it added.
        for m in (0..self.plans.len()).filter(|&m| fresh[m]) {
            let name = self.plans[m].cfg.name.clone();
            if keep.get(&name) != Some(&State::Master) {
                continue;
            }
            let Some(old) = old_plans.get(&name) else {
                continue;
            };
            let new = &self.plans[m];
            let old_vips: Vec<&AddrSpec> = old.vips.values().chain(&old.excluded).collect();
            let new_vips: Vec<AddrSpec> = new.vips.values().chain(&new.excluded).cloned().collect();
            let gone: Vec<AddrSpec> = old_vips
                .iter()
                .filter(|o| !new_vips.contains(o))
                .map(|o| (*o).clone())
                .collect();
            let added: Vec<AddrSpec> = new_vips
                .iter()
                .filter(|n| !old_vips.contains(n))
                .cloned()
                .collect();
            let (old_rules, old_routes) = (old.rules.clone(), old.routes.clone());
            for r in old_rules
                .iter()
                .filter(|r| !self.plans[m].rules.contains(r))
            {
                let _ = self.rtnl.del_rule(r);
            }
            for r in old_routes
                .iter()
                .filter(|r| !self.plans[m].routes.contains(r))
            {
                let _ = self.rtnl.del_route(r);
            }
            for spec in &gone {
                let _ = self.rtnl.del_address(spec);
            }
            for spec in &added {
                let _ = self.rtnl.add_address(spec);
            }
            let new_routes = self.plans[m].routes.iter().any(|r| !old_routes.contains(r))
                || self.plans[m].rules.iter().any(|r| !old_rules.contains(r));
            if new_routes {
                self.set_routes(m, true);
            }
        }
        // Accept mode, addresses or the table's layout may have changed.
        self.sync_firewall();
        self.report_waiting();
        Ok(())
    }
}
