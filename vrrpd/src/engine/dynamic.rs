//! `dynamic_interfaces` (keepalived 2.2.7): an instance whose interface
//! does not exist is in FAULT until it appears, and one whose interface is
//! deleted is in FAULT until an interface of that name is back (whatever
//! its new index); then it starts again from BACKUP, as keepalived does.
//!
//! Such an instance (with its sync group) is left out of the build and
//! reported FAULT; an interface appearing under a name some instance waits
//! for, or coming back with another index, rebuilds the instances from the
//! running plan, through the same diff as a reload (what did not change
//! keeps running untouched).

use super::*;

impl Engine {
    /// The plan without the instances whose interface is missing (and
    /// their sync groups), when there are any; records them as waiting.
    pub(super) fn waiting_for_interfaces(&mut self, vrrp: &VrrpPlan) -> Option<VrrpPlan> {
        if !vrrp.dynamic_interfaces {
            self.waiting.clear();
            return None;
        }
        let exists = |name: &str| self.links.values().any(|l| l.name == name);
        let mut missing: BTreeMap<String, String> = vrrp
            .instances
            .iter()
            .filter(|i| !exists(&i.interface))
            .map(|i| (i.cfg.name.clone(), i.interface.clone()))
            .collect();
        // A sync group waits whole: one member in FAULT holds the others.
        let groups: Vec<&String> = vrrp
            .instances
            .iter()
            .filter(|i| missing.contains_key(&i.cfg.name))
            .filter_map(|i| i.group.as_ref())
            .collect();
        for i in &vrrp.instances {
            if i.group.as_ref().is_some_and(|g| groups.contains(&g)) {
                missing
                    .entry(i.cfg.name.clone())
                    .or_insert_with(|| i.interface.clone());
            }
        }
        for (name, ifname) in &missing {
            if !self.waiting.contains_key(name) && !exists(ifname) {
                info!(
                    "Configuration specifies interface {ifname} which doesn't currently exist - will use if created"
                );
            }
        }
        // (An instance built again keeps its entry until its first state
        // change, which is then not reported twice when it is FAULT.)
        self.waiting_reported
            .retain(|n| vrrp.instances.iter().any(|i| i.cfg.name == *n));
        self.waiting = missing;
        if self.waiting.is_empty() {
            return None;
        }
        let mut present = vrrp.clone();
        present
            .instances
            .retain(|i| !self.waiting.contains_key(&i.cfg.name));
        Some(present)
    }

    /// Report FAULT once for each instance waiting for its interface.
    pub(super) fn report_waiting(&mut self) {
        let waiting: Vec<(String, String)> = self
            .waiting
            .iter()
            .filter(|(n, _)| !self.waiting_reported.contains(*n))
            .map(|(n, i)| (n.clone(), i.clone()))
            .collect();
        for (name, ifname) in waiting {
            let Some(inst) = self.plan.instances.iter().find(|i| i.cfg.name == name) else {
                continue;
            };
            info!("({name}): entering FAULT state (interface {ifname} down)");
            info!("({name}) entering FAULT state");
            let Some(instance) = self.ids.instance(&name) else {
                continue;
            };
            let group = inst.group.as_deref().and_then(|g| self.ids.group(g));
            self.out.push(FromChild::VrrpState(VrrpStateChange {
                instance,
                group,
                state: VrrpState::Fault,
                priority: inst.cfg.priority,
            }));
            self.waiting_reported.insert(name);
        }
    }

    /// A link appeared or changed: is it up, and one an instance waits
    /// for, or one that came back under another index?
    pub(super) fn note_link(&mut self, l: &Link, new: bool) {
        if !self.plan.dynamic_interfaces {
            return;
        }
        if new && self.waiting.values().any(|i| *i == l.name) {
            info!("Interface {} added", l.name);
        }
        if !(l.up && l.running) {
            return;
        }
        let awaited = self.waiting.values().any(|i| *i == l.name)
            || self
                .plans
                .iter()
                .any(|p| p.ifname == l.name && p.ifindex != l.index);
        if awaited {
            self.relink_pending = true;
        }
    }

    /// A link was deleted: forget it (its name may come back with another
    /// index, which must then be the one found by name).
    pub(super) fn link_gone(&mut self, index: u32) {
        if self.plan.dynamic_interfaces {
            if let Some(l) = self.links.remove(&index) {
                info!("Interface {} deleted", l.name);
            }
        }
    }

    /// Rebuild after [`Engine::note_link`] found an awaited interface.
    pub fn relink(&mut self, registry: &Registry, now: Instant) -> Result<(), String> {
        if !std::mem::take(&mut self.relink_pending) {
            return Ok(());
        }
        let plan = self.plan.clone();
        let ids = self.ids.clone();
        self.reload_with(&plan, ids, registry, now, true)
    }
}
