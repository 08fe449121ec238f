//! Replay harness: routers on one simulated LAN, an injected clock, and a
//! trace of every action with its time offset (microsecond exact).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use keepalived_vrrp::*;

pub const MS: Duration = Duration::from_millis(1);
pub const SEC: Duration = Duration::from_secs(1);

pub fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, last))
}

pub fn vip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, 100))
}

/// A v2 config: name VI_1, VRID 51, 1 s adverts, one VIP.
pub fn cfg(src_last: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, ip(src_last), vec![vip()]);
    c.priority = priority;
    c
}

pub fn v3(mut c: InstanceConfig, advert_int: Duration) -> InstanceConfig {
    c.version = Version::V3;
    c.advert_int = advert_int;
    c
}

pub struct Router {
    pub inst: Instance,
    /// Disconnected routers neither send nor receive.
    pub connected: bool,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub at: Duration,
    pub router: usize,
    pub action: Action,
}

pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub routers: Vec<Router>,
    queue: Vec<(Instant, u64, usize, Input)>,
    seq: u64,
    pub trace: Vec<Event>,
}

impl Sim {
    pub fn new(cfgs: Vec<InstanceConfig>) -> Sim {
        let t0 = Instant::now();
        let routers = cfgs
            .into_iter()
            .map(|c| Router {
                inst: Instance::new(c).expect("valid config"),
                connected: true,
            })
            .collect();
        Sim {
            t0,
            now: t0,
            routers,
            queue: Vec::new(),
            seq: 0,
            trace: Vec::new(),
        }
    }

    pub fn at(&self, d: Duration) -> Instant {
        self.t0 + d
    }

    pub fn start_all(&mut self) {
        for r in 0..self.routers.len() {
            self.inject(Duration::ZERO, r, Input::Startup);
        }
    }

    pub fn inject(&mut self, at: Duration, router: usize, input: Input) {
        self.seq += 1;
        self.queue.push((self.t0 + at, self.seq, router, input));
    }

    /// Runs every event up to and including `until` (offset from t0).
    pub fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        loop {
            let q = self
                .queue
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| (e.0, e.1))
                .map(|(i, e)| (i, e.0));
            let timer = self
                .routers
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.inst.next_deadline().map(|d| (d, i)))
                .min();
            let (when, pick_queue) = match (q, timer) {
                (Some((_, qt)), Some((tt, _))) => (qt.min(tt), qt <= tt),
                (Some((_, qt)), None) => (qt, true),
                (None, Some((tt, _))) => (tt, false),
                (None, None) => break,
            };
            if when > end {
                break;
            }
            assert!(when >= self.now, "time never goes back");
            self.now = when;
            let (r, input) = if pick_queue {
                let (i, _) = q.unwrap();
                let (_, _, r, input) = self.queue.remove(i);
                (r, input)
            } else {
                (timer.unwrap().1, Input::Timer)
            };
            let acts = self.routers[r].inst.handle(input, when);
            self.dispatch(r, acts);
        }
        self.now = self.now.max(end);
    }

    fn dispatch(&mut self, from: usize, acts: Vec<Action>) {
        for a in acts {
            if let Action::SendAdvert { dst, payload, .. } = &a {
                if self.routers[from].connected {
                    let src = self.routers[from].inst.config().src_addr;
                    for to in 0..self.routers.len() {
                        if to != from && self.routers[to].connected {
                            let p = RxPacket {
                                src,
                                dst: *dst,
                                ttl: 255,
                                data: payload.clone(),
                            };
                            self.seq += 1;
                            self.queue.push((self.now, self.seq, to, Input::Packet(p)));
                        }
                    }
                }
            }
            self.trace.push(Event {
                at: self.now - self.t0,
                router: from,
                action: a,
            });
        }
    }

    pub fn state(&self, r: usize) -> State {
        self.routers[r].inst.state()
    }

    /// Times at which router `r` sent adverts, with their priority.
    pub fn adverts(&self, r: usize) -> Vec<(Duration, u8)> {
        self.trace
            .iter()
            .filter(|e| e.router == r)
            .filter_map(|e| match e.action {
                Action::SendAdvert { priority, .. } => Some((e.at, priority)),
                _ => None,
            })
            .collect()
    }

    pub fn transitions(&self, r: usize) -> Vec<(Duration, State, State)> {
        self.trace
            .iter()
            .filter(|e| e.router == r)
            .filter_map(|e| match e.action {
                Action::StateChanged { from, to } => Some((e.at, from, to)),
                _ => None,
            })
            .collect()
    }

    pub fn logs(&self, r: usize) -> Vec<String> {
        self.trace
            .iter()
            .filter(|e| e.router == r)
            .filter_map(|e| match &e.action {
                Action::Log { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn has_log(&self, r: usize, msg: &str) -> bool {
        self.logs(r).iter().any(|m| m == msg)
    }

    pub fn actions(&self, r: usize) -> Vec<(Duration, Action)> {
        self.trace
            .iter()
            .filter(|e| e.router == r)
            .map(|e| (e.at, e.action.clone()))
            .collect()
    }
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// A valid advert from `src` for the sim's default VRID 51 / VIP.
pub fn advert_from(src: IpAddr, version: Version, priority: u8, adver_int: u16) -> RxPacket {
    let a = Advert {
        version,
        vrid: 51,
        priority,
        adver_int,
        auth_type: 0,
        auth_data: [0; 8],
        addrs: vec![vip()],
    };
    let dst = IpAddr::V4(MCAST_GROUP_V4);
    let data = encode(&a, src, dst, ChecksumVariant::PseudoHeader).unwrap();
    RxPacket {
        src,
        dst,
        ttl: 255,
        data,
    }
}
