//! `use_vmac`: the macvlan interfaces the instances live on.

use super::*;

impl Engine {
    /// Create (or adopt) the VMAC of every `use_vmac` instance, delete the
    /// ones no longer configured, and re-read the links.
    pub(super) fn ensure_vmacs(&mut self, vrrp: &VrrpPlan) {
        let mut wanted = BTreeMap::new();
        for inst in &vrrp.instances {
            let Some(name) = inst.vmac.clone() else {
                continue;
            };
            let Some(base) = self
                .links
                .values()
                .find(|l| l.name == inst.interface)
                .cloned()
            else {
                continue;
            };
            let v6 = inst.v6;
            let mac = inst
                .vmac_mac
                .unwrap_or_else(|| vmac::virtual_mac(inst.cfg.vrid, v6));
            match self.links.values().find(|l| l.name == name).cloned() {
                Some(l) if l.lower == Some(base.index) && l.mac == mac => {
                    if !l.up {
                        let _ = self.rtnl.set_up(l.index);
                    }
                }
                Some(_) => {
                    error!(
                        "({}) interface {name} exists and is not a VMAC of {} with {}",
                        inst.cfg.name,
                        base.name,
                        mac.map(|b| format!("{b:02x}")).join(":")
                    );
                    continue;
                }
                None => {
                    if let Err(e) = self.rtnl.create_macvlan(&name, base.index, mac) {
                        error!(
                            "({}) cannot create VMAC interface {name}: {e}",
                            inst.cfg.name
                        );
                        continue;
                    }
                    info!(
                        "({}) Created VMAC interface {name} on {}",
                        inst.cfg.name, base.name
                    );
                }
            }
            wanted.insert(name, (base, v6));
        }
        self.refresh_links();
        // Forget (and delete) VMACs a reload dropped.
        let gone: Vec<(String, u32)> = self
            .vmacs
            .iter()
            .filter(|(n, _)| !wanted.contains_key(*n))
            .map(|(n, i)| (n.clone(), *i))
            .collect();
        for (name, index) in gone {
            self.vmacs.remove(&name);
            self.vmac_tx.remove(&index);
            let _ = self.rtnl.delete_link(index);
            info!("Removed VMAC interface {name}");
        }
        for (name, (base, v6)) in wanted {
            let Some(l) = self.links.values().find(|l| l.name == name).cloned() else {
                continue;
            };
            self.vmacs.insert(name.clone(), l.index);
            if v6 {
                continue;
            }
            if let Err(e) = self.rtnl.set_inet_conf(l.index, vmac::VMAC_CONF) {
                warn!("cannot set ARP settings of {name}: {e}");
            }
            if let std::collections::btree_map::Entry::Vacant(slot) =
                self.lower_saved.entry(base.index)
            {
                // A VMAC left by a vrrpd that crashed recorded the lower
                // device's settings from before they were changed.
                let before = l
                    .alias
                    .as_deref()
                    .and_then(vmac::parse_saved_alias)
                    .unwrap_or_else(|| {
                        vmac::LOWER_CONF
                            .iter()
                            .filter_map(|&(k, _)| {
                                base.inet_conf.get(usize::from(k) - 1).map(|&v| (k, v))
                            })
                            .collect()
                    });
                slot.insert(before);
                if let Err(e) = self.rtnl.set_inet_conf(base.index, vmac::LOWER_CONF) {
                    warn!("cannot set ARP settings of {}: {e}", base.name);
                }
            }
            if let Some(saved) = self.lower_saved.get(&base.index) {
                let alias = vmac::saved_alias(saved);
                if l.alias.as_deref() != Some(alias.as_str()) {
                    if let Err(e) = self.rtnl.set_alias(l.index, &alias) {
                        warn!("cannot record {}'s ARP settings on {name}: {e}", base.name);
                    }
                }
            }
        }
    }
}
