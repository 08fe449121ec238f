//! The address adverts are sent from, followed as the kernel changes it,
//! as keepalived 2.2.7's netlink address handling follows it: an instance
//! without a configured source sends from an address of its interface
//! (one that is not a VIP while there is one), takes another when that
//! goes, and is in FAULT while the interface has none — VIPs count, as
//! there: a master whose interface keeps only its VIPs sends from one.
//! With `track_src_ip`, the configured source missing (at start too) or
//! going is a fault until that address is back, as keepalived.conf(5)
//! says; keepalived 2.2.7 itself never acts on it (its netlink handler
//! compares the socket address structure, not the address: see
//! docs/migration.md).

use super::Engine;
use crate::net::rtnl::Addr;
use keepalived_vrrp::action::Input;
use log::info;
use std::net::IpAddr;
use std::time::Instant;

impl Engine {
    /// Every address an instance adds (VIPs and excluded ones).
    fn own_addresses(&self) -> Vec<IpAddr> {
        self.plans
            .iter()
            .flat_map(|p| {
                p.vips
                    .keys()
                    .copied()
                    .chain(p.excluded.iter().map(|e| e.addr))
            })
            .collect()
    }

    /// `a` appeared: an instance waiting for an address takes it.
    pub(super) fn address_added(&mut self, a: &Addr, now: Instant) {
        for m in 0..self.plans.len() {
            let p = &self.plans[m];
            if !p.src_missing
                || p.ifindex != a.index
                || p.cfg.src_addr.is_ipv6() != a.addr.is_ipv6()
            {
                continue;
            }
            // A configured source waits for itself; IPv6 sends through a
            // socket bound to its address: only that one coming back will
            // do.
            if (p.src_configured || a.addr.is_ipv6()) && p.cfg.src_addr != a.addr {
                continue;
            }
            info!(
                "({}) {} is on {}: sending from it",
                p.cfg.name, a.addr, p.ifname
            );
            self.plans[m].src_missing = false;
            self.plans[m].cfg.src_addr = a.addr;
            self.input(m, Input::Source(Some(a.addr)), now);
        }
    }

    /// `a` went: an instance sending from it takes another address of its
    /// interface, or goes to FAULT until one appears.
    pub(super) fn address_removed(&mut self, a: &Addr, now: Instant) {
        let mut left: Option<Vec<Addr>> = None;
        let own = self.own_addresses();
        for m in 0..self.plans.len() {
            let p = &self.plans[m];
            if p.src_missing || p.ifindex != a.index || p.cfg.src_addr != a.addr {
                continue;
            }
            if p.src_configured && !p.track_src_ip {
                continue;
            }
            let v6 = a.addr.is_ipv6();
            let next = if p.src_configured || v6 {
                None
            } else {
                let addrs = left.get_or_insert_with(|| {
                    let mut l = self.rtnl.addresses().unwrap_or_default();
                    l.retain(|x| x.addr != a.addr);
                    l
                });
                crate::plan::source(false, a.index, addrs, &own)
            };
            let name = p.cfg.name.clone();
            match next {
                Some(n) => {
                    info!("({name}) {} removed: sending from {n}", a.addr);
                    self.plans[m].cfg.src_addr = n;
                }
                None => {
                    info!(
                        "({name}) entering FAULT state (source address {} removed)",
                        a.addr
                    );
                    self.plans[m].src_missing = true;
                }
            }
            self.input(m, Input::Source(next), now);
        }
    }
}
