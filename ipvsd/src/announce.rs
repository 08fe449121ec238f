//! `bgp_announce` (keepalived-rs extension): the address of each healthy
//! announced virtual server on a dummy interface the suite owns, for a
//! routing daemon (BIRD's `direct` protocol, FRR's `redistribute
//! connected`) to announce. No socket to the routing daemon: the kernel's
//! addresses are the contract.
//!
//! Sans-IO: [`Announcer`] is fed health verdicts, checkerd's liveness and
//! the time, and answers with [`Action`]s the shell ([`Shell`]) carries out
//! over rtnetlink. Every address carries a valid lifetime and is refreshed
//! every third of it, so a dead or wedged suite's addresses are deleted by
//! the kernel itself (a dead-man switch).

use keepalived_ipvs::plan::AnnouncePlan;
use keepalived_rtnl::rtnl::{AddrSpec, Rtnl};
use log::{debug, error, info, warn};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What the shell does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Put `addr` on `interface` with `lifetime` seconds (`refresh`: it is
    /// there already; only its lifetime is renewed).
    Add {
        interface: String,
        addr: IpAddr,
        lifetime: u32,
        refresh: bool,
    },
    Remove {
        interface: String,
        addr: IpAddr,
    },
}

/// One announced virtual server.
#[derive(Clone, Debug)]
struct Service {
    addr: IpAddr,
    delay_up: Duration,
    delay_down: Duration,
    /// The last verdict (`None`: its first health round is not complete).
    healthy: Option<bool>,
    /// When `healthy` last changed.
    since: Instant,
    /// Its address is wanted.
    up: bool,
}

/// The services of an address announce it while any of them is up: an
/// unhealthy port never takes a healthy one's traffic away.
#[derive(Default)]
pub struct Announcer {
    plan: Option<AnnouncePlan>,
    services: BTreeMap<u32, Service>,
    /// On the interface (as far as we know).
    announced: BTreeSet<IpAddr>,
    /// checkerd is gone since then (the parent says so).
    checkers_gone: Option<Instant>,
    next_refresh: Option<Instant>,
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

impl Announcer {
    /// A plan (start or reload): `services` are the announced virtual
    /// servers' ids, addresses and delays. A service that stays keeps its
    /// state; addresses no longer announced, or all of them when the
    /// interface changes, are removed.
    pub fn configure(
        &mut self,
        plan: Option<AnnouncePlan>,
        services: &[(u32, IpAddr, f64, f64)],
        now: Instant,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let moved = match (&self.plan, &plan) {
            (Some(a), Some(b)) => a.interface != b.interface,
            (Some(_), None) => true,
            _ => false,
        };
        if moved {
            out.extend(self.remove_all());
        }
        let mut next = BTreeMap::new();
        for &(id, addr, up, down) in services {
            let s = match self.services.remove(&id) {
                Some(mut s) if s.addr == addr => {
                    s.delay_up = secs(up);
                    s.delay_down = secs(down);
                    s
                }
                _ => Service {
                    addr,
                    delay_up: secs(up),
                    delay_down: secs(down),
                    healthy: None,
                    since: now,
                    up: false,
                },
            };
            next.insert(id, s);
        }
        self.services = next;
        self.plan = plan;
        out.extend(self.settle(now));
        out
    }

    /// The addresses found on the interface when ipvsd starts: those of
    /// planned services are kept as announced (a restarted ipvsd, or a
    /// suite stopped with `withdraw_on_shutdown no`, must not withdraw
    /// and announce again), until their health says otherwise; any other
    /// goes (the interface is the suite's).
    pub fn adopt(&mut self, present: &[IpAddr]) -> Vec<Action> {
        let Some(interface) = self.plan.as_ref().map(|p| p.interface.clone()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &addr in present {
            let mut ours = false;
            for s in self.services.values_mut().filter(|s| s.addr == addr) {
                s.up = true;
                ours = true;
            }
            if ours {
                self.announced.insert(addr);
            } else {
                out.push(Action::Remove {
                    interface: interface.clone(),
                    addr,
                });
            }
        }
        // Their lifetimes are renewed at once.
        self.next_refresh = None;
        out
    }

    /// A service's verdict: `Some(up)` once its first health round is
    /// complete.
    pub fn health(&mut self, id: u32, healthy: Option<bool>, now: Instant) {
        if let Some(s) = self.services.get_mut(&id) {
            if s.healthy != healthy {
                s.healthy = healthy;
                s.since = now;
            }
        }
    }

    /// checkerd died (`false`) or was started again (`true`).
    pub fn checkers(&mut self, running: bool, now: Instant) {
        self.checkers_gone = match (running, self.checkers_gone) {
            (true, _) => None,
            (false, Some(t)) => Some(t),
            (false, None) => Some(now),
        };
    }

    fn checkers_timed_out(&self, now: Instant) -> bool {
        match (self.checkers_gone, &self.plan) {
            (Some(t), Some(p)) => now >= t + secs(p.health_timeout),
            _ => false,
        }
    }

    /// Decide each service, then add and remove addresses, and renew the
    /// lifetimes when due.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        self.settle(now)
    }

    fn settle(&mut self, now: Instant) -> Vec<Action> {
        let Some(plan) = self.plan.clone() else {
            return self.remove_all();
        };
        let blind = self.checkers_timed_out(now);
        for s in self.services.values_mut() {
            s.up = match s.healthy {
                _ if blind => false,
                Some(true) if !s.up => now >= s.since + s.delay_up,
                Some(false) if s.up => now < s.since + s.delay_down,
                _ => s.up,
            };
        }
        let want: BTreeSet<IpAddr> = self
            .services
            .values()
            .filter(|s| s.up)
            .map(|s| s.addr)
            .collect();
        let mut out = Vec::new();
        for &addr in self.announced.difference(&want) {
            info!("Withdrawing {addr} from {}", plan.interface);
            out.push(Action::Remove {
                interface: plan.interface.clone(),
                addr,
            });
        }
        // Renewed every third of the lifetime, counted from the first
        // address added.
        let due = !self.announced.is_empty() && self.next_refresh.is_none_or(|t| now >= t);
        for &addr in &want {
            let new = !self.announced.contains(&addr);
            if new {
                info!("Announcing {addr} on {}", plan.interface);
            }
            if new || due {
                out.push(Action::Add {
                    interface: plan.interface.clone(),
                    addr,
                    lifetime: plan.lifetime,
                    refresh: !new,
                });
            }
        }
        if due || self.announced.is_empty() {
            self.next_refresh = Some(now + Duration::from_secs(u64::from(plan.lifetime)) / 3);
        }
        self.announced = want;
        out
    }

    fn remove_all(&mut self) -> Vec<Action> {
        let Some(p) = &self.plan else {
            self.announced.clear();
            return Vec::new();
        };
        let out = std::mem::take(&mut self.announced)
            .into_iter()
            .map(|addr| {
                info!("Withdrawing {addr} from {}", p.interface);
                Action::Remove {
                    interface: p.interface.clone(),
                    addr,
                }
            })
            .collect();
        for s in self.services.values_mut() {
            s.up = false;
        }
        out
    }

    /// When to poll next: a delay running out, checkerd's grace running
    /// out, or a refresh.
    pub fn next_deadline(&self) -> Option<Instant> {
        let plan = self.plan.as_ref()?;
        let mut at: Vec<Instant> = Vec::new();
        if !self.announced.is_empty() {
            at.extend(self.next_refresh);
        }
        if let Some(t) = self.checkers_gone {
            if !self.announced.is_empty() {
                at.push(t + secs(plan.health_timeout));
            }
        }
        for s in self.services.values() {
            match s.healthy {
                Some(true) if !s.up => at.push(s.since + s.delay_up),
                Some(false) if s.up => at.push(s.since + s.delay_down),
                _ => {}
            }
        }
        at.into_iter().min()
    }

    /// At stop: the addresses go, unless `withdraw_on_shutdown no` leaves
    /// them to expire.
    pub fn shutdown(&mut self) -> Vec<Action> {
        match &self.plan {
            Some(p) if !p.withdraw_on_shutdown => {
                info!(
                    "Leaving {} address(es) on {} to expire (withdraw_on_shutdown no)",
                    self.announced.len(),
                    p.interface
                );
                Vec::new()
            }
            _ => self.remove_all(),
        }
    }

    /// The interface of the plan, if any.
    pub fn interface(&self) -> Option<&str> {
        self.plan.as_ref().map(|p| p.interface.as_str())
    }
}

/// Carries out the actions over rtnetlink.
#[derive(Default)]
pub struct Shell {
    rtnl: Option<Rtnl>,
    /// The dummy interface's index, once made sure of.
    index: Option<(String, u32)>,
    /// The last failure was logged (not every refresh's).
    failing: bool,
}

impl Shell {
    fn rtnl(&mut self) -> std::io::Result<&mut Rtnl> {
        if self.rtnl.is_none() {
            self.rtnl = Some(Rtnl::open()?);
        }
        Ok(self.rtnl.as_mut().expect("opened"))
    }

    /// The dummy interface's index, created and brought up when missing.
    fn index(&mut self, interface: &str) -> std::io::Result<u32> {
        if let Some((name, i)) = &self.index {
            if name == interface {
                return Ok(*i);
            }
        }
        let i = self.rtnl()?.ensure_dummy(interface)?;
        self.index = Some((interface.to_string(), i));
        Ok(i)
    }

    /// The addresses on `interface` now (none when it does not exist).
    pub fn present(&mut self, interface: &str) -> Vec<IpAddr> {
        let r = self.rtnl().and_then(|r| {
            let Some(l) = r.links()?.into_iter().find(|l| l.name == interface) else {
                return Ok(Vec::new());
            };
            Ok(r.addresses()?
                .into_iter()
                .filter(|a| a.index == l.index)
                .map(|a| a.addr)
                // (The kernel's own IPv6 link-local address is not ours.)
                .filter(|a| !matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local()))
                .collect())
        });
        r.unwrap_or_else(|e| {
            error!("bgp_announce: cannot list the addresses of {interface}: {e}");
            Vec::new()
        })
    }

    pub fn run(&mut self, actions: Vec<Action>) {
        for a in actions {
            let r = match &a {
                Action::Add {
                    interface,
                    addr,
                    lifetime,
                    ..
                } => self.add(interface, *addr, *lifetime),
                Action::Remove { interface, addr } => self.remove(interface, *addr),
            };
            match r {
                Ok(()) if self.failing => {
                    self.failing = false;
                    info!("bgp_announce: {a:?} done");
                }
                Ok(()) => debug!("bgp_announce: {a:?}"),
                Err(e) if !self.failing => {
                    self.failing = true;
                    error!("bgp_announce: {a:?}: {e}");
                }
                Err(e) => debug!("bgp_announce: {a:?}: {e}"),
            }
        }
    }

    fn spec(index: u32, addr: IpAddr, lifetime: Option<u32>) -> AddrSpec {
        let mut s = AddrSpec {
            index,
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            scope: 0,
            label: None,
            opts: Default::default(),
        };
        // (IPv6: no duplicate address detection; `dad` is off.)
        s.opts.valid_lft = lifetime;
        s.opts.preferred_lft = lifetime;
        s
    }

    fn add(&mut self, interface: &str, addr: IpAddr, lifetime: u32) -> std::io::Result<()> {
        let index = self.index(interface)?;
        let r = self
            .rtnl()?
            .add_address(&Self::spec(index, addr, Some(lifetime)));
        match r {
            // Someone deleted the interface: make it again, once.
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                warn!("bgp_announce: {interface} is gone; creating it again");
                self.index = None;
                let index = self.index(interface)?;
                self.rtnl()?
                    .add_address(&Self::spec(index, addr, Some(lifetime)))
            }
            r => r,
        }
    }

    fn remove(&mut self, interface: &str, addr: IpAddr) -> std::io::Result<()> {
        let index = match &self.index {
            Some((name, i)) if name == interface => *i,
            _ => {
                let r = self.rtnl()?;
                match r.links()?.into_iter().find(|l| l.name == interface) {
                    Some(l) => l.index,
                    None => return Ok(()),
                }
            }
        };
        match self.rtnl()?.del_address(&Self::spec(index, addr, None)) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "192.0.2.10";
    const B: &str = "2001:db8::10";

    fn plan() -> AnnouncePlan {
        AnnouncePlan {
            interface: "kalrs0".into(),
            lifetime: 9,
            withdraw_on_shutdown: true,
            health_timeout: 3.0,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn adds(a: &[Action]) -> Vec<(IpAddr, bool)> {
        a.iter()
            .filter_map(|a| match a {
                Action::Add { addr, refresh, .. } => Some((*addr, *refresh)),
                _ => None,
            })
            .collect()
    }

    fn removes(a: &[Action]) -> Vec<IpAddr> {
        a.iter()
            .filter_map(|a| match a {
                Action::Remove { addr, .. } => Some(*addr),
                _ => None,
            })
            .collect()
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// An announcer of services 1 and 2 on `addrs` (no delays), both
    /// healthy at `t0`.
    fn two_healthy(t0: Instant, addrs: [&str; 2]) -> Announcer {
        let mut a = Announcer::default();
        a.configure(
            Some(plan()),
            &[(1, ip(addrs[0]), 0.0, 0.0), (2, ip(addrs[1]), 0.0, 0.0)],
            t0,
        );
        a.health(1, Some(true), t0);
        a.health(2, Some(true), t0);
        a
    }

    /// Nothing before the first full round; then after delay_up; a loss
    /// after delay_down, and a loss shorter than it changes nothing.
    #[test]
    fn delays_and_the_first_round() {
        let t0 = Instant::now();
        let mut a = Announcer::default();
        assert!(a
            .configure(Some(plan()), &[(1, ip(A), 2.0, 1.0)], t0)
            .is_empty());
        assert_eq!(a.next_deadline(), None, "nothing to wait for");
        a.health(1, None, t0);
        assert!(a.poll(at(t0, 5000)).is_empty(), "round incomplete");
        a.health(1, Some(true), at(t0, 5000));
        assert!(a.poll(at(t0, 6999)).is_empty(), "delay_up not over");
        assert_eq!(a.next_deadline(), Some(at(t0, 7000)));
        assert_eq!(adds(&a.poll(at(t0, 7000))), vec![(ip(A), false)]);
        // A blip shorter than delay_down.
        a.health(1, Some(false), at(t0, 8000));
        assert!(a.poll(at(t0, 8500)).is_empty());
        a.health(1, Some(true), at(t0, 8900));
        assert!(a.poll(at(t0, 9500)).is_empty(), "still announced");
        a.health(1, Some(false), at(t0, 9600));
        assert_eq!(removes(&a.poll(at(t0, 10600))), vec![ip(A)]);
        assert!(a.poll(at(t0, 20000)).is_empty(), "gone stays gone");
    }

    /// Announced addresses are renewed every third of their lifetime, and
    /// only those.
    #[test]
    fn lifetimes_are_renewed() {
        let t0 = Instant::now();
        let mut a = Announcer::default();
        a.configure(
            Some(plan()),
            &[(1, ip(A), 0.0, 0.0), (2, ip(B), 0.0, 0.0)],
            t0,
        );
        a.health(1, Some(true), t0);
        a.health(2, Some(false), t0);
        assert_eq!(adds(&a.poll(t0)), vec![(ip(A), false)]);
        assert_eq!(a.next_deadline(), Some(at(t0, 3000)));
        assert!(a.poll(at(t0, 2999)).is_empty());
        assert_eq!(adds(&a.poll(at(t0, 3000))), vec![(ip(A), true)]);
        assert_eq!(a.next_deadline(), Some(at(t0, 6000)));
    }

    /// An address shared by two services stays while either is healthy.
    #[test]
    fn an_address_stays_while_any_of_its_services_is_healthy() {
        let t0 = Instant::now();
        let mut a = two_healthy(t0, [A, A]);
        assert_eq!(adds(&a.poll(t0)).len(), 1);
        a.health(1, Some(false), at(t0, 1));
        assert!(removes(&a.poll(at(t0, 1))).is_empty());
        a.health(2, Some(false), at(t0, 2));
        assert_eq!(removes(&a.poll(at(t0, 2))), vec![ip(A)]);
    }

    /// checkerd gone: everything goes after health_timeout, not before;
    /// back with healthy verdicts: announced again after delay_up.
    #[test]
    fn checkerd_gone_for_too_long_withdraws_everything() {
        let t0 = Instant::now();
        let mut a = Announcer::default();
        a.configure(Some(plan()), &[(1, ip(A), 1.0, 0.0)], t0);
        a.health(1, Some(true), t0);
        assert_eq!(adds(&a.poll(at(t0, 1000))).len(), 1);
        a.checkers(false, at(t0, 2000));
        a.checkers(false, at(t0, 2500));
        assert_eq!(adds(&a.poll(at(t0, 4999))), vec![(ip(A), true)], "renewed");
        assert_eq!(a.next_deadline(), Some(at(t0, 5000)), "the grace's end");
        assert_eq!(removes(&a.poll(at(t0, 5000))), vec![ip(A)]);
        a.checkers(true, at(t0, 6000));
        a.health(1, Some(false), at(t0, 6000));
        a.health(1, Some(true), at(t0, 6100));
        assert!(a.poll(at(t0, 6500)).is_empty());
        assert_eq!(adds(&a.poll(at(t0, 7100))), vec![(ip(A), false)]);
    }

    /// A restarted ipvsd keeps what it finds of its own (renewed at once)
    /// and removes the rest; its health then decides.
    #[test]
    fn adopted_addresses() {
        let t0 = Instant::now();
        let mut a = Announcer::default();
        a.configure(Some(plan()), &[(1, ip(A), 5.0, 0.0)], t0);
        let other = ip("198.51.100.1");
        assert_eq!(removes(&a.adopt(&[ip(A), other])), vec![other]);
        assert_eq!(a.poll(t0).len(), 1, "renewed, not re-added after delay_up");
        assert_eq!(adds(&a.poll(t0)), vec![], "once");
        a.health(1, Some(false), at(t0, 10));
        assert_eq!(removes(&a.poll(at(t0, 10))), vec![ip(A)]);
    }

    /// A reload keeps a surviving service's state, withdraws a removed
    /// one's address, and moves everything when the interface changes;
    /// the stop withdraws unless told not to.
    #[test]
    fn reload_and_stop() {
        let t0 = Instant::now();
        let mut a = two_healthy(t0, [A, B]);
        assert_eq!(adds(&a.poll(t0)).len(), 2);
        let r = a.configure(Some(plan()), &[(1, ip(A), 0.0, 0.0)], at(t0, 100));
        assert_eq!(removes(&r), vec![ip(B)]);
        assert!(adds(&r).is_empty(), "the survivor is not re-added");
        let mut p = plan();
        p.interface = "kalrs1".into();
        let r = a.configure(Some(p.clone()), &[(1, ip(A), 0.0, 0.0)], at(t0, 200));
        assert_eq!(
            r,
            vec![
                Action::Remove {
                    interface: "kalrs0".into(),
                    addr: ip(A)
                },
                Action::Add {
                    interface: "kalrs1".into(),
                    addr: ip(A),
                    lifetime: 9,
                    refresh: false
                }
            ]
        );
        p.withdraw_on_shutdown = false;
        a.configure(Some(p), &[(1, ip(A), 0.0, 0.0)], at(t0, 300));
        assert!(a.shutdown().is_empty(), "left to expire");
        let r = a.configure(None, &[], at(t0, 400));
        assert_eq!(removes(&r), vec![ip(A)], "announce dropped by a reload");
    }
}
