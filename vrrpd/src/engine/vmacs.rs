//! `use_vmac`: the macvlan interfaces the instances live on.

use super::*;

impl Engine {
    /// Create (or adopt) the VMAC of every `use_vmac` instance and every
    /// address VMAC, delete the ones no longer configured, and re-read
    /// the links.
    pub(super) fn ensure_vmacs(&mut self, vrrp: &VrrpPlan) {
        let mut wanted = BTreeMap::new();
        self.addr_vmacs = vrrp
            .instances
            .iter()
            .flat_map(|i| &i.addr_vmacs)
            .map(|a| (a.name.clone(), a.v6))
            .collect();
        // (instance, name, lower device, MAC, IPv6, configured source)
        let mut specs = Vec::new();
        for inst in &vrrp.instances {
            if let Some(name) = inst.vmac.clone() {
                let mac = inst
                    .vmac_mac
                    .unwrap_or_else(|| vmac::virtual_mac(inst.cfg.vrid, inst.v6));
                let src = inst.src_configured.then_some(inst.cfg.src_addr);
                specs.push((inst, name, inst.interface.clone(), mac, inst.v6, src));
            }
            // An address VMAC sends nothing: an IPv6 one gets the lower
            // device's link-local address, as keepalived gives it.
            for a in &inst.addr_vmacs {
                specs.push((inst, a.name.clone(), a.base.clone(), a.mac, a.v6, None));
            }
        }
        for (inst, name, base, mac, v6, src) in specs {
            if wanted.contains_key(&name) {
                continue;
            }
            let Some(base) = self.links.values().find(|l| l.name == base).cloned() else {
                continue;
            };
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
            // IPv6 adverts leave from the VMAC (their source MAC must be
            // the virtual one, RFC 5798 7.2) and from the instance's
            // link-local address, which the VMAC gets too (keepalived's
            // set_link_local_address).
            wanted.insert(name, (base, v6.then_some(src)));
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
        // Read once, for the IPv6 VMACs' link-local addresses.
        let mut addrs: Option<Vec<crate::net::rtnl::Addr>> = None;
        for (name, (base, v6)) in wanted {
            let Some(l) = self.links.values().find(|l| l.name == name).cloned() else {
                continue;
            };
            self.vmacs.insert(name.clone(), l.index);
            if let Some(src) = v6 {
                let addrs = addrs.get_or_insert_with(|| self.rtnl.addresses().unwrap_or_default());
                self.vmac_link_local(&name, l.index, base.index, src, addrs);
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

    /// The link-local address an IPv6 VMAC sends from: the configured
    /// source, else the lower device's own link-local address, added
    /// without duplicate address detection (the lower device holds it
    /// too; a private macvlan never talks to it).
    fn vmac_link_local(
        &mut self,
        name: &str,
        index: u32,
        lower: u32,
        src: Option<IpAddr>,
        addrs: &[crate::net::rtnl::Addr],
    ) {
        // (The instances' own source choice: the first link-local one.)
        let addr = src.or_else(|| crate::plan::source(true, lower, addrs, &[]));
        let Some(addr) = addr else {
            warn!("VMAC {name}: its lower device has no IPv6 link-local address to send from");
            return;
        };
        if addrs.iter().any(|a| a.index == index && a.addr == addr) {
            return;
        }
        let spec = crate::net::rtnl::AddrSpec {
            index,
            addr,
            prefix: 64,
            broadcast: None,
            scope: 253,
            label: None,
            opts: Default::default(),
        };
        if let Err(e) = self.rtnl.add_address(&spec) {
            warn!("VMAC {name}: cannot add {addr}: {e}");
        }
    }
}
