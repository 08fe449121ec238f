//! Carrying out what the instances ask for: adverts, addresses, routes
//! and rules, gratuitous ARPs and NAs, state reports.

use super::*;

impl Engine {
    pub(super) fn perform_group(&mut self, unit: usize, acts: Vec<(usize, Action)>) {
        for (slot, a) in acts {
            if let Some(m) = self
                .places
                .iter()
                .position(|p| p.unit == unit && p.slot == Some(slot))
            {
                self.perform(m, a);
            }
        }
    }

    /// Tell the parent about instance `m`, named by its id (every planned
    /// instance has one; one without is a bug, logged).
    fn report(&mut self, m: usize, message: impl FnOnce(InstanceId) -> FromChild) {
        match self.ids.instance(&self.plans[m].cfg.name) {
            Some(id) => self.out.push(message(id)),
            None => error!("({}) has no id in the plan", self.plans[m].cfg.name),
        }
    }

    pub(super) fn perform(&mut self, m: usize, a: Action) {
        let p = &self.plans[m];
        match a {
            Action::SendAdvert {
                dst,
                payload,
                ah_seq,
                ..
            } => {
                let Some(s) = self.sockets.iter().find(|s| {
                    s.ifindex == p.sock_if.1 && s.v6 == dst.is_ipv6() && s.ah == p.cfg.uses_ah()
                }) else {
                    return;
                };
                let vmac_tx = p.xmit.as_ref().and_then(|(_, i)| self.vmac_tx.get(i));
                // `unicast_ttl` applies to the adverts sent to the peers.
                let ttl = p.unicast_ttl.filter(|_| p.cfg.unicast_peers.contains(&dst));
                let r = match (&s.sock, p.cfg.src_addr, dst) {
                    (Sock::V4(s4), IpAddr::V4(src), IpAddr::V4(d)) => {
                        let ttl = ttl.unwrap_or(packet::VRRP_TTL);
                        let frame = match (&p.cfg.auth, ah_seq) {
                            (keepalived_vrrp::config::Auth::Ah(key), Some(seq)) => {
                                keepalived_vrrp::ah::wrap(
                                    src,
                                    d,
                                    &payload,
                                    &keepalived_vrrp::ah::Seal {
                                        ttl,
                                        // One IP id per advert, never 0.
                                        id: seq as u16,
                                        seq,
                                        key,
                                        unicast: !p.cfg.unicast_peers.is_empty(),
                                    },
                                )
                            }
                            _ => packet::wrap_ipv4_ttl(src, d, &payload, ttl),
                        };
                        match vmac_tx {
                            Some(t) => t.send(&frame, d),
                            None => s4.send(&frame, d),
                        }
                    }
                    (Sock::V6(s6), _, IpAddr::V6(d)) => s6.send(&payload, d, ttl),
                    _ => Ok(()),
                };
                if let Err(e) = r {
                    warn!("({}) cannot send advert to {dst}: {e}", p.cfg.name);
                }
            }
            Action::AddVips { addrs, .. } => {
                // The drop rules go in before the addresses (keepalived's
                // order), so no packet reaches a VIP unfiltered.
                self.sync_firewall();
                let specs = self.plans[m].specs(&addrs);
                for spec in specs {
                    if let Err(e) = self.rtnl.add_address(&spec) {
                        error!(
                            "({}) cannot add {}/{}: {e}",
                            self.plans[m].cfg.name, spec.addr, spec.prefix
                        );
                    }
                }
                self.set_routes(m, true);
            }
            Action::RemoveVips { addrs } => {
                self.set_routes(m, false);
                let specs = self.plans[m].specs(&addrs);
                for spec in specs {
                    if let Err(e) = self.rtnl.del_address(&spec) {
                        error!(
                            "({}) cannot remove {}/{}: {e}",
                            self.plans[m].cfg.name, spec.addr, spec.prefix
                        );
                    }
                }
                self.sync_firewall();
            }
            Action::SendGarp(ip) => {
                let (ifindex, mac) = self.announce_from(m, IpAddr::V4(ip));
                let p = &self.plans[m];
                if let Err(e) = self.packet.send(ifindex, &frames::garp(mac, ip)) {
                    debug!("({}) gratuitous ARP for {ip}: {e}", p.cfg.name);
                }
            }
            Action::SendNa(ip) => {
                let (ifindex, mac) = self.announce_from(m, IpAddr::V6(ip));
                let p = &self.plans[m];
                if let Err(e) = self
                    .packet
                    .send(ifindex, &frames::unsolicited_na(mac, ip, false))
                {
                    debug!("({}) unsolicited NA for {ip}: {e}", p.cfg.name);
                }
            }
            Action::StateChanged { to, .. } => {
                self.groups_dirty = true;
                self.transitions
                    .insert(self.plans[m].cfg.name.clone(), std::time::SystemTime::now());
                let priority = self.instance(m).effective_priority();
                let state = to.reported();
                // Reported FAULT while it waited for its interface: the
                // same FAULT again is no change.
                let name = &self.plans[m].cfg.name;
                if self.waiting_reported.remove(name) && state == VrrpState::Fault {
                    return;
                }
                let group = self.plans[m]
                    .group
                    .as_deref()
                    .and_then(|g| self.ids.group(g));
                self.report(m, |instance| {
                    FromChild::VrrpState(VrrpStateChange {
                        instance,
                        group,
                        state,
                        priority,
                    })
                });
            }
            // At most one per advert interval: the core answers a flood of
            // lower-priority adverts once per interval, and only answered
            // ones are reported (keepalived runs the script per packet).
            Action::MasterRxLowerPriority { ours, .. } => {
                self.report(m, |instance| FromChild::MasterRxLowerPri {
                    instance,
                    priority: ours,
                });
            }
            Action::PriorityChanged { to, .. } if self.plans[m].notify_priority_changes => {
                let master = self.instance(m).state() == keepalived_vrrp::State::Master;
                self.report(m, |instance| FromChild::PriorityChanged {
                    instance,
                    priority: to,
                    master,
                });
            }
            Action::PriorityChanged { .. } => {}
            Action::Log { level, message } => match level {
                LogLevel::Error => error!("{message}"),
                LogLevel::Warning => warn!("{message}"),
                LogLevel::Info => info!("{message}"),
                LogLevel::Debug => debug!("{message}"),
            },
        }
    }

    /// Add (`on`) or remove an instance's virtual routes and rules.
    pub(super) fn set_routes(&mut self, m: usize, on: bool) {
        let name = self.plans[m].cfg.name.clone();
        let routes = self.plans[m].routes.clone();
        let rules = self.plans[m].rules.clone();
        if on {
            for r in &routes {
                if let Err(e) = self.rtnl.add_route(r) {
                    error!("({name}) cannot add route {}: {e}", r.spec.dst);
                }
            }
            for r in &rules {
                if let Err(e) = self.rtnl.add_rule(r) {
                    error!("({name}) cannot add rule {r:?}: {e}");
                }
            }
        } else {
            for r in &rules {
                if let Err(e) = self.rtnl.del_rule(r) {
                    warn!("({name}) cannot remove rule {r:?}: {e}");
                }
            }
            for r in &routes {
                if let Err(e) = self.rtnl.del_route(r) {
                    warn!("({name}) cannot remove route {}: {e}", r.spec.dst);
                }
            }
        }
    }
}

impl Engine {
    /// Where a gratuitous ARP / NA for `addr` leaves, and with which MAC:
    /// the interface the address lives on (a `dev` VIP's own), with that
    /// interface's MAC (keepalived's IF_HWADDR of the address's
    /// interface); on the instance's interface or VMAC, the instance's.
    fn announce_from(&self, m: usize, addr: IpAddr) -> (u32, [u8; 6]) {
        let p = &self.plans[m];
        let home = p.vmac.as_ref().map_or(p.ifindex, |v| v.1);
        let index = p
            .vips
            .get(&addr)
            .or_else(|| p.excluded.iter().find(|e| e.addr == addr))
            .map_or(home, |s| s.index);
        if index == home {
            return (index, p.mac);
        }
        let mac = self
            .links
            .get(&index)
            .and_then(|l| <[u8; 6]>::try_from(l.mac.as_slice()).ok())
            .unwrap_or(p.mac);
        (index, mac)
    }
}
