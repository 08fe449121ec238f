//! `use_vmac`: the macvlan interfaces the instances live on (and
//! `use_ipvlan`'s L2 ipvlans, made and removed the same way).

use super::*;
use keepalived_vrrp::plan::IpvlanPlan;

/// One interface to create or adopt.
struct Spec<'p> {
    instance: &'p str,
    name: String,
    base: String,
    /// The macvlan's MAC (an ipvlan has its lower device's).
    mac: Option<[u8; 6]>,
    v6: bool,
    /// The configured source of the instance sending from it.
    src: Option<IpAddr>,
    ipvlan: Option<&'p IpvlanPlan>,
}

impl Engine {
    /// Create (or adopt) the VMAC of every `use_vmac` instance and every
    /// address VMAC, delete the ones no longer configured, and re-read
    /// the links.
    pub(super) fn ensure_vmacs(&mut self, vrrp: &VrrpPlan) {
        let mut wanted = BTreeMap::new();
        let mut specs = Vec::new();
        for inst in &vrrp.instances {
            if let Some(name) = inst.vmac.clone() {
                let mac = inst
                    .vmac_mac
                    .unwrap_or_else(|| vmac::virtual_mac(inst.cfg.vrid, inst.v6));
                specs.push(Spec {
                    instance: &inst.cfg.name,
                    name,
                    base: inst.interface.clone(),
                    mac: inst.ipvlan.is_none().then_some(mac),
                    v6: inst.v6,
                    src: inst.src_configured.then_some(inst.cfg.src_addr),
                    ipvlan: inst.ipvlan.as_ref(),
                });
            }
            // An address VMAC sends nothing: an IPv6 one gets the lower
            // device's link-local address, as keepalived gives it.
            for a in &inst.addr_vmacs {
                specs.push(Spec {
                    instance: &inst.cfg.name,
                    name: a.name.clone(),
                    base: a.base.clone(),
                    mac: Some(a.mac),
                    v6: a.v6,
                    src: None,
                    ipvlan: None,
                });
            }
        }
        for spec in specs {
            if wanted.contains_key(&spec.name) {
                continue;
            }
            let Some(base) = self.links.values().find(|l| l.name == spec.base).cloned() else {
                continue;
            };
            let (name, inst) = (spec.name.clone(), spec.instance);
            let kind = if spec.ipvlan.is_some() {
                "ipvlan"
            } else {
                "VMAC"
            };
            let mac = spec.mac.unwrap_or_else(|| {
                let mut m = [0u8; 6];
                if base.mac.len() == 6 {
                    m.copy_from_slice(&base.mac);
                }
                m
            });
            match self.links.values().find(|l| l.name == name).cloned() {
                Some(l) if l.lower == Some(base.index) && l.mac == mac => {
                    if !l.up {
                        let _ = self.rtnl.set_up(l.index);
                    }
                }
                Some(_) => {
                    error!(
                        "({inst}) interface {name} exists and is not an {kind} of {} with {}",
                        base.name,
                        mac.map(|b| format!("{b:02x}")).join(":")
                    );
                    continue;
                }
                None => {
                    let made = match spec.ipvlan {
                        Some(p) => self.rtnl.create_ipvlan(&name, base.index, p.flags, spec.v6),
                        None => self.rtnl.create_macvlan(&name, base.index, mac),
                    };
                    if let Err(e) = made {
                        error!("({inst}) cannot create {kind} interface {name}: {e}");
                        continue;
                    }
                    info!("({inst}) Created {kind} interface {name} on {}", base.name);
                }
            }
            // IPv6 adverts leave from the VMAC (their source MAC must be
            // the virtual one, RFC 5798 7.2) and from the instance's
            // link-local address, which the VMAC gets too (keepalived's
            // set_link_local_address). An ipvlan gets its address instead.
            wanted.insert(name, (base, spec.v6.then_some(spec.src), spec.ipvlan));
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
        for (name, (base, v6, ipvlan)) in wanted {
            let Some(l) = self.links.values().find(|l| l.name == name).cloned() else {
                continue;
            };
            self.vmacs.insert(name.clone(), l.index);
            if let Some(p) = ipvlan {
                self.ipvlan_address(&name, l.index, p);
                continue;
            }
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

    /// The address of a `use_ipvlan` interface (keepalived's "Failed to
    /// add interface address" when it cannot).
    fn ipvlan_address(&mut self, name: &str, index: u32, p: &IpvlanPlan) {
        let Some((addr, prefix)) = p.addr else {
            return;
        };
        let spec = crate::net::rtnl::AddrSpec {
            index,
            addr,
            prefix,
            broadcast: None,
            scope: 0,
            label: None,
            opts: Default::default(),
        };
        match self.rtnl.add_address(&spec) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => warn!("Failed to add interface address to {name}: {e}"),
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
