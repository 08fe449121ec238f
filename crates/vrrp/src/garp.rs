//! Gratuitous ARP / unsolicited NA pacing. Bursts are queued and released
//! no faster than `vrrp_garp_interval` / `vrrp_gna_interval`, as
//! keepalived's per-interface pacing does (here per instance).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::action::Action;

#[derive(Debug)]
struct Lane<A> {
    interval: Duration,
    queue: VecDeque<A>,
    /// Earliest time the next message may leave.
    ready_at: Option<Instant>,
}

impl<A: Copy> Lane<A> {
    fn new(interval: Duration) -> Self {
        Lane {
            interval,
            queue: VecDeque::new(),
            ready_at: None,
        }
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<Action>, mk: fn(A) -> Action) {
        while let Some(&a) = self.queue.front() {
            if self.ready_at.is_some_and(|t| t > now) {
                return;
            }
            self.queue.pop_front();
            out.push(mk(a));
            if !self.interval.is_zero() {
                self.ready_at = Some(now + self.interval);
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            None
        } else {
            self.ready_at
        }
    }
}

#[derive(Debug)]
pub(crate) struct Garp {
    v4: Lane<Ipv4Addr>,
    v6: Lane<Ipv6Addr>,
}

impl Garp {
    pub fn new(arp_interval: Duration, na_interval: Duration) -> Self {
        Garp {
            v4: Lane::new(arp_interval),
            v6: Lane::new(na_interval),
        }
    }

    /// Queues `repeat` rounds over `addrs` and sends what may go now.
    pub fn burst(&mut self, addrs: &[IpAddr], repeat: u32, now: Instant, out: &mut Vec<Action>) {
        for _ in 0..repeat {
            for a in addrs {
                match a {
                    IpAddr::V4(a) => self.v4.queue.push_back(*a),
                    IpAddr::V6(a) => self.v6.queue.push_back(*a),
                }
            }
        }
        self.poll(now, out);
    }

    pub fn poll(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.v4.poll(now, out, Action::SendGarp);
        self.v6.poll(now, out, Action::SendNa);
    }

    /// Drops what is queued (leaving master); pacing is kept.
    pub fn clear(&mut self) {
        self.v4.queue.clear();
        self.v6.queue.clear();
    }

    pub fn deadline(&self) -> Option<Instant> {
        match (self.v4.deadline(), self.v6.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
