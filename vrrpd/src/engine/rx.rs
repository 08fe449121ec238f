//! What the kernel tells vrrpd: VRRP datagrams (read on a budget) and
//! link changes.

use super::*;
use crate::net::raw::{recv_batch, RX_BATCH};
use std::time::{Duration, SystemTime};

/// When a datagram arrived, on the loop's clock: its kernel receive time
/// (`stamp`, wall clock) carried over by the age it had when the batch was
/// read (`clocks`: both clocks read then), never after the wake-up (`now`)
/// nor before the timers last ran (`floor`, which also bounds a wall clock
/// stepped back or forth). Without a stamp, or before the timers first
/// ran: `now`.
pub(super) fn heard(
    stamp: Option<SystemTime>,
    clocks: (Instant, SystemTime),
    floor: Option<Instant>,
    now: Instant,
) -> Instant {
    let (Some(stamp), Some(floor)) = (stamp, floor) else {
        return now;
    };
    let age = clocks.1.duration_since(stamp).unwrap_or(Duration::ZERO);
    let at = clocks.0.checked_sub(age).unwrap_or(floor);
    at.min(now).max(floor.min(now))
}

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

    /// Read at most [`RX_BUDGET`] datagrams from socket `si`, in batches.
    /// A flood must not keep the loop from its timers (a silent master is
    /// a failover): what is left is read after the next timers, at once
    /// ([`Engine::next_deadline`] says so), a budget at a time.
    pub(super) fn drain_socket(&mut self, si: usize, now: Instant) {
        self.rx_pending.remove(&si);
        if self.sockets[si].ah {
            return self.drain_ah_socket(si, now);
        }
        let clocks = (Instant::now(), SystemTime::now());
        let mut read = 0;
        while read < RX_BUDGET {
            let mut batch = std::mem::take(&mut self.rx_batch);
            let asked = (RX_BUDGET - read).min(RX_BATCH);
            let (fd, v6) = (self.sockets[si].sock.rx_fd(), self.sockets[si].v6);
            let got = recv_batch(fd, v6, &mut self.rx_ring, asked, |rx| batch.push(rx));
            for rx in batch.drain(..) {
                if let Rx::Packet(p) = rx {
                    let at = heard(p.stamp, clocks, self.timers_at, now);
                    self.dispatch(si, p, at);
                }
            }
            self.rx_batch = batch;
            let n = match got {
                Ok(n) => n,
                Err(e) => {
                    warn!("VRRP receive: {e}");
                    return;
                }
            };
            read += n;
            if n < asked {
                // Drained.
                self.moderate(read, now);
                return;
            }
        }
        self.moderate(read, now);
        // Budget spent: come back right after the timers.
        self.rx_pending.insert(si);
        self.rx_pending_since.get_or_insert(now);
    }

    /// Receive moderation. A backup of 255 instances at 0.02 s is sent
    /// 12,750 adverts a second; woken for every few of them, vrrpd spent
    /// its time in wake-ups (keepalived, slower per packet, drains a whole
    /// burst per wake-up). When wake-ups that read packets come closer than
    /// [`RX_BUSY_WINDOWS`] windows apart, the loop waits out a window (a
    /// quarter of the shortest advert interval, at most 4 ms, never past a
    /// deadline: see [`Engine::hold_off`]) before it reads again. Each
    /// packet is dated by its kernel receive time, so the down timers are
    /// those of a receiver that read every advert at once; a quiet
    /// receiver (a packet a second) is never held back.
    fn moderate(&mut self, read: usize, now: Instant) {
        if read == 0 {
            return;
        }
        let busy = self
            .rx_last
            .is_some_and(|t| now.saturating_duration_since(t) < self.rx_window * RX_BUSY_WINDOWS);
        self.rx_hold_off = busy.then(|| now + self.rx_window);
        self.rx_last = Some(now);
    }

    /// Until when the loop should leave the receive sockets unread (other
    /// than for a deadline that comes first): see [`Engine::moderate`].
    pub fn hold_off(&self) -> Option<Instant> {
        self.rx_hold_off
    }

    /// Hand one datagram from socket `si` to the instances of its VRID.
    fn dispatch(&mut self, si: usize, pkt: Received, at: Instant) {
        let (ifindex, v6) = (self.sockets[si].ifindex, self.sockets[si].v6);
        let vrid = pkt.payload.get(1).copied();
        // Usually one instance per VRID and interface: the datagram is
        // handed over without a copy (only instances sharing it get
        // copies).
        let targets = vrid.and_then(|v| self.rx_targets.get(&(ifindex, v6, v)));
        let Some(&last) = targets.and_then(|t| t.last()) else {
            self.unknown_vrid += 1;
            return;
        };
        let others: Vec<usize> = targets
            .map(|t| t[..t.len() - 1].to_vec())
            .unwrap_or_default();
        let Received {
            src,
            dst,
            ttl,
            payload,
            ..
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
                at,
            );
        }
        let rx = RxPacket {
            src,
            dst,
            ttl,
            data: payload,
        };
        self.input(last, Input::Packet(rx), at);
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

#[cfg(test)]
mod tests {
    use super::heard;
    use std::time::{Duration, Instant, SystemTime};

    #[test]
    fn a_packet_is_dated_by_its_kernel_stamp_within_bounds() {
        let ms = Duration::from_millis;
        let floor = Instant::now();
        let now = floor + ms(10);
        let read_at = now + ms(1);
        let wall = SystemTime::now();
        // Received 3 ms before the batch was read: 3 ms before read_at.
        let at = heard(Some(wall - ms(3)), (read_at, wall), Some(floor), now);
        assert_eq!(at, read_at - ms(3));
        // Received between the wake-up and the read: the wake-up.
        let at = heard(
            Some(wall - Duration::from_micros(200)),
            (read_at, wall),
            Some(floor),
            now,
        );
        assert_eq!(at, now);
        // A stamp in the future (wall clock stepped back): the wake-up.
        assert_eq!(
            heard(Some(wall + ms(50)), (read_at, wall), Some(floor), now),
            now
        );
        // An hour old (wall clock stepped forward, or a packet left over):
        // never before the timers last ran.
        let old = wall - Duration::from_secs(3600);
        assert_eq!(heard(Some(old), (read_at, wall), Some(floor), now), floor);
        // No stamp, or before the timers first ran: the wake-up.
        assert_eq!(heard(None, (read_at, wall), Some(floor), now), now);
        assert_eq!(heard(Some(wall - ms(3)), (read_at, wall), None, now), now);
    }
}
