//! What the kernel tells vrrpd: VRRP datagrams (read on a budget) and
//! link changes.

use super::*;

impl Engine {
    /// A receive socket is readable.
    pub fn on_socket(&mut self, token: Token, now: Instant) {
        let Some(si) = token
            .0
            .checked_sub(SOCKET_TOKEN_BASE)
            .filter(|i| *i < self.sockets.len())
        else {
            return;
        };
        self.drain_socket(si, now);
    }

    /// Read at most [`RX_BUDGET`] datagrams from socket `si`. A flood must
    /// not keep the loop from its timers (a silent master is a failover):
    /// what is left is read after the next timers, at once
    /// ([`Engine::next_deadline`] says so), a budget at a time.
    pub(super) fn drain_socket(&mut self, si: usize, now: Instant) {
        self.rx_pending.remove(&si);
        if self.sockets[si].ah {
            return self.drain_ah_socket(si, now);
        }
        for _ in 0..RX_BUDGET {
            let r = match &self.sockets[si].sock {
                Sock::V4(s) => s.recv(&mut self.rx_buf),
                Sock::V6(s) => s.recv(&mut self.rx_buf),
            };
            let pkt: Received = match r {
                Ok(Rx::Packet(p)) => p,
                Ok(Rx::Junk) => continue,
                Ok(Rx::Empty) => return,
                Err(e) => {
                    warn!("VRRP receive: {e}");
                    return;
                }
            };
            let (ifindex, v6) = (self.sockets[si].ifindex, self.sockets[si].v6);
            let vrid = pkt.payload.get(1).copied();
            // Usually one instance per VRID and interface: the datagram is
            // handed over without a copy (only instances sharing it get
            // copies).
            let targets = vrid.and_then(|v| self.rx_targets.get(&(ifindex, v6, v)));
            let Some(&last) = targets.and_then(|t| t.last()) else {
                self.unknown_vrid += 1;
                continue;
            };
            let others: Vec<usize> = targets
                .map(|t| t[..t.len() - 1].to_vec())
                .unwrap_or_default();
            let Received {
                src,
                dst,
                ttl,
                payload,
            } = pkt;
            // (Without a heap copy of the list when, as usual, it is one.)
            for m in others {
                let data = payload.clone();
                self.input(
                    m,
                    Input::Packet(RxPacket {
                        src,
                        dst,
                        ttl,
                        data,
                    }),
                    now,
                );
            }
            let rx = RxPacket {
                src,
                dst,
                ttl,
                data: payload,
            };
            self.input(last, Input::Packet(rx), now);
        }
        // Budget spent: come back right after the timers.
        self.rx_pending.insert(si);
        self.rx_pending_since.get_or_insert(now);
    }

    /// [`Engine::drain_socket`] for an AH socket: whole datagrams (the AH
    /// check covers the IP header), to the AH instances of their VRID.
    fn drain_ah_socket(&mut self, si: usize, now: Instant) {
        let ifindex = self.sockets[si].ifindex;
        for _ in 0..RX_BUDGET {
            let Sock::V4(s) = &self.sockets[si].sock else {
                return;
            };
            let n = match s.recv_datagram(&mut self.rx_buf) {
                Ok(Some(n)) => n,
                Ok(None) => return,
                Err(e) => {
                    warn!("VRRP receive: {e}");
                    return;
                }
            };
            let dgram = &self.rx_buf[..n];
            // The VRID is the VRRP header's second byte, after the IP
            // header and keepalived's 24-byte AH.
            let ihl = usize::from(dgram.first().map_or(0, |b| b & 0x0f)) * 4;
            let vrid = dgram.get(ihl + keepalived_vrrp::ah::AH_LEN + 1).copied();
            let targets: Vec<usize> = (0..self.plans.len())
                .filter(|&m| {
                    let p = &self.plans[m];
                    p.sock_if.1 == ifindex && p.cfg.uses_ah() && Some(p.cfg.vrid) == vrid
                })
                .collect();
            if targets.is_empty() {
                self.unknown_vrid += 1;
                continue;
            }
            let dgram = dgram.to_vec();
            for m in targets {
                self.input(m, Input::Ipv4Datagram(dgram.clone()), now);
            }
        }
        self.rx_pending.insert(si);
        self.rx_pending_since.get_or_insert(now);
    }

    /// Links went up or down.
    pub fn on_monitor(&mut self, now: Instant) {
        self.monitor_pending = false;
        let resync = |e: &dyn std::fmt::Display, rtnl: &mut Rtnl| {
            warn!("rtnetlink monitor: {e}; re-reading links");
            rtnl.links()
                .map(|ls| ls.into_iter().map(NetEvent::Link).collect())
                .unwrap_or_default()
        };
        let own = self.rtnl.portid();
        let events = match self.monitor.drain(own) {
            Ok(d) if d.resync => resync(&"announcements lost (ENOBUFS)", &mut self.rtnl),
            Ok(d) => {
                if d.more {
                    // A storm: the rest right after the timers.
                    self.monitor_pending = true;
                    self.rx_pending_since.get_or_insert(now);
                }
                d.events
            }
            Err(e) => resync(&e, &mut self.rtnl),
        };
        for ev in events {
            let l = match ev {
                NetEvent::Link(l) => l,
                NetEvent::AddrAdded(a) => {
                    self.address_added(&a, now);
                    continue;
                }
                NetEvent::AddrRemoved { addr, ours } => {
                    self.address_removed(&addr, now);
                    if !ours {
                        self.static_address_removed(&addr);
                    }
                    continue;
                }
                // A VMAC deleted behind our back leaves the firewall's
                // VMAC map (keepalived's vrrp_if.c does the same).
                NetEvent::LinkGone(index) => {
                    self.link_gone(index);
                    if self.vmacs.values().any(|&i| i == index) {
                        self.links.remove(&index);
                        self.sync_firewall();
                    }
                    continue;
                }
            };
            let was = self.links.get(&l.index).map(|o| o.up && o.running);
            let is = l.up && l.running;
            self.links.insert(l.index, l.clone());
            self.note_link(&l, was.is_none());
            // `interface_up_down_delays`: a change that is undone before
            // its delay is over never reaches the instances.
            if let Some(&(_, pending)) = self.link_pending.get(&l.index) {
                // (Back to what the instances see: keepalived drops the
                // pending change without a word.)
                if pending != is {
                    self.link_pending.remove(&l.index);
                    debug!(
                        "{}: back {} before its delay",
                        l.name,
                        if is { "up" } else { "down" }
                    );
                }
                continue;
            }
            if was == Some(is) {
                continue;
            }
            info!(
                "Netlink reports {} {}",
                l.name,
                if is { "up" } else { "down" }
            );
            let delay =
                self.link_delays
                    .get(&l.name)
                    .map_or(
                        std::time::Duration::ZERO,
                        |&(down, up)| {
                            if is {
                                up
                            } else {
                                down
                            }
                        },
                    );
            if !delay.is_zero() && was.is_some() {
                info!(
                    "{}: Adding flags change from {} to {} delay by {}",
                    l.name,
                    if is { "down" } else { "up" },
                    if is { "up" } else { "down" },
                    delay.as_micros()
                );
                self.link_pending.insert(l.index, (now + delay, is));
                continue;
            }
            self.link_changed(l.index, is, now);
        }
    }

    /// The instances using or tracking interface `index` act on its
    /// going up or down.
    pub(super) fn link_changed(&mut self, index: u32, is: bool, now: Instant) {
        if is {
            self.reinstate_statics(index);
        }
        for m in 0..self.plans.len() {
            if self.plans[m].ifindex == index && !self.plans[m].dont_track_primary {
                self.input(
                    m,
                    if is {
                        Input::InterfaceUp
                    } else {
                        Input::InterfaceDown
                    },
                    now,
                );
            }
            for (idx, ifindex) in self.plans[m].track_ifaces.clone() {
                if ifindex == index {
                    let status = if is {
                        TrackStatus::Up
                    } else {
                        TrackStatus::Down
                    };
                    self.input(m, Input::Track { index: idx, status }, now);
                }
            }
        }
    }
}
