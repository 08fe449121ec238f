//! The engine's side of the no_accept firewall: which addresses must be
//! blocked (every VIP of a MASTER without accept mode), kept in step with
//! the addresses themselves, and the table's change monitor.

use super::*;
use crate::net::firewall::Firewall;
use crate::net::nft_msg::{Elem, Layout};
use std::collections::BTreeSet;

impl Engine {
    /// Open (or re-open, when the plan's layout changed) the firewall.
    pub(super) fn set_firewall(&mut self, vrrp: &VrrpPlan, registry: &Registry) {
        let layout = vrrp.firewall.as_ref().map(|f| Layout {
            table: f.table.clone(),
            priority: f.priority,
            counters: f.counters,
        });
        self.firewall_ifindex = vrrp.firewall.as_ref().is_some_and(|f| f.ifindex);
        self.firewall_local_igmp = vrrp
            .firewall
            .as_ref()
            .is_some_and(|f| !f.disable_local_igmp);
        if self.firewall.as_ref().map(Firewall::layout) == layout.as_ref() {
            return;
        }
        if let Some(mut old) = self.firewall.take() {
            old.stop();
            let fd = old.monitor_fd();
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
        let Some(layout) = layout else { return };
        match Firewall::open(layout) {
            Ok(f) => {
                let fd = f.monitor_fd();
                if let Err(e) =
                    registry.register(&mut SourceFd(&fd), FIREWALL_TOKEN, Interest::READABLE)
                {
                    warn!("nftables monitor: {e}");
                }
                self.firewall = Some(f);
            }
            Err(e) => {
                error!("cannot open nftables netlink socket: {e} - no_accept rules will not be set")
            }
        }
    }

    /// Every address that must be blocked now, and every VMAC whose
    /// reports must leave from its lower device.
    fn firewall_wanted(&self) -> BTreeSet<Elem> {
        let mut want = BTreeSet::new();
        // keepalived (vrrp_vmac.c): a VMAC from its creation to its
        // removal, in its family's map; an IPv4 one only while the host's
        // link-local IGMP reports are on (`disable_local_igmp` turns them
        // off instead); an instance's in the other family's too when it
        // has excluded addresses of that family; an address VMAC as an
        // instance of its family's (keepalived adds it through a stand-in
        // instance). Not a `use_ipvlan` ipvlan.
        for inst in &self.plan.instances {
            let own = inst
                .vmac
                .as_ref()
                .filter(|_| inst.ipvlan.is_none())
                .map(|n| {
                    let other = inst.excluded.iter().any(|a| a.addr.is_ipv6() != inst.v6);
                    (n, inst.v6, other)
                });
            let addrs = inst.addr_vmacs.iter().map(|a| (&a.name, a.v6, false));
            for (name, v6, other) in own.into_iter().chain(addrs) {
                let Some(l) = self.vmacs.get(name).and_then(|i| self.links.get(i)) else {
                    continue;
                };
                let Some(base) = l.lower.filter(|_| v6 || self.firewall_local_igmp) else {
                    continue;
                };
                for v6 in [v6, !v6].into_iter().take(if other { 2 } else { 1 }) {
                    want.insert(Elem::Vmac {
                        v6,
                        vmac: l.index,
                        base,
                    });
                    if v6 {
                        want.insert(Elem::VmacSolicit(l.index));
                    }
                }
            }
        }
        for (m, p) in self.plans.iter().enumerate() {
            let i = self.instance(m);
            if !i.vips_set() || i.config().accept_mode() {
                continue;
            }
            for spec in p.vips.values().chain(&p.excluded) {
                want.insert(match spec.addr {
                    IpAddr::V4(a) => Elem::V4(a),
                    IpAddr::V6(a) if !a.is_unicast_link_local() => Elem::V6(a),
                    // keepalived matches a link-local VIP by interface
                    // name when the instance does not track its own
                    // interface (it may be re-created), else by index.
                    IpAddr::V6(a) => match self.links.get(&spec.index) {
                        Some(l)
                            if !self.firewall_ifindex
                                && p.dont_track_primary
                                && spec.index == p.ifindex =>
                        {
                            Elem::LinkLocalName(a, l.name.clone())
                        }
                        _ => Elem::LinkLocal(a, spec.index),
                    },
                });
            }
        }
        want
    }

    /// Bring the table in step with the instances' states and VMACs.
    pub(super) fn sync_firewall(&mut self) {
        if self.firewall.is_none() {
            return;
        }
        let want = self.firewall_wanted();
        if let Some(f) = self.firewall.as_mut() {
            f.sync(&want);
        }
    }

    /// The table changed: restore it if someone else removed part of it.
    pub fn on_firewall(&mut self, now: Instant) {
        self.firewall_pending = false;
        if self.firewall.is_none() {
            return;
        }
        let want = self.firewall_wanted();
        if let Some(f) = self.firewall.as_mut() {
            if f.on_monitor(&want) {
                self.firewall_pending = true;
                self.rx_pending_since.get_or_insert(now);
            }
        }
    }
}
