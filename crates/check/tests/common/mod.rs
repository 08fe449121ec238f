//! Test harness: a network namespace per test thread, the engine on a mio
//! loop, and events stamped in milliseconds since the server was added.
#![allow(dead_code)]

pub mod servers;

use keepalived_check::*;
use mio::{Events, Poll};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Move this thread (and the threads and processes it starts) into a new
/// network namespace with `lo` up.
pub fn netns() {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .expect("unshare(CLONE_NEWNET): tests run as root");
    let st = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("ip");
    assert!(st.success());
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fast timing for tests: no bootstrap, no warmup.
pub fn timing(delay_loop: u64, connect_timeout: u64, retry: u32, dbr: u64) -> Timing {
    Timing {
        delay_loop: ms(delay_loop),
        connect_timeout: ms(connect_timeout),
        retry,
        delay_before_retry: ms(dbr),
        warmup: Duration::ZERO,
        bootstrap: Duration::ZERO,
    }
}

pub struct Harness {
    pub poll: Poll,
    pub engine: Engine,
    pub t0: Instant,
    pub log: Vec<(u64, Event)>,
    seen: usize,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_scripts(&[])
    }

    /// Script `ScriptId(i)` runs the `i`th line.
    #[allow(dead_code)]
    pub fn with_scripts(lines: &[&str]) -> Self {
        let poll = Poll::new().unwrap();
        let mut runner = LocalRunner::on(poll.registry()).unwrap();
        for (i, l) in lines.iter().enumerate() {
            runner.define(keepalived_check::ScriptId(i as u32), l);
        }
        let io = SocketIo::new(poll.registry(), 16).unwrap();
        Harness {
            engine: Engine::new(16, Box::new(io), Box::new(runner)),
            poll,
            t0: Instant::now(),
            log: Vec::new(),
            seen: 0,
        }
    }

    pub fn add(&mut self, checks: Vec<CheckSpec>) -> RsId {
        self.add_weighted(checks, 1)
    }

    pub fn add_weighted(&mut self, checks: Vec<CheckSpec>, weight: i32) -> RsId {
        self.t0 = Instant::now();
        let spec = RealServerSpec {
            name: "[127.0.0.1]:tcp:80".into(),
            weight,
            checks,
            ..Default::default()
        };
        self.engine.add_real_server(spec, self.t0).unwrap()
    }

    pub fn now_ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    /// Drive the loop until `until` (ms since t0) or until `pred` holds for
    /// a new event; returns that event's time.
    fn drive(
        &mut self,
        until: Option<u64>,
        pred: &mut dyn FnMut(&Event) -> bool,
    ) -> Option<(u64, Event)> {
        let mut events = Events::with_capacity(64);
        loop {
            while self.seen < self.log.len() {
                let (t, e) = self.log[self.seen].clone();
                self.seen += 1;
                if pred(&e) {
                    return Some((t, e));
                }
            }
            let now = Instant::now();
            if let Some(u) = until {
                if now >= self.t0 + ms(u) {
                    return None;
                }
            }
            let mut timeout = self
                .engine
                .next_deadline()
                .map(|d| d.saturating_duration_since(now));
            if let Some(u) = until {
                let left = (self.t0 + ms(u)).saturating_duration_since(now);
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            // A poll cut short (EINTR after the process was stopped and
            // resumed) just goes round again.
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("poll: {e}"),
            }
            let now = Instant::now();
            for ev in events.iter() {
                self.engine.on_event(ev.token().0, now);
            }
            self.engine.on_timer(now);
            for e in self.engine.drain_events() {
                self.log.push(((now - self.t0).as_millis() as u64, e));
            }
        }
    }

    /// Run the loop until `t` ms after t0, collecting events.
    pub fn run_until(&mut self, t: u64) {
        self.drive(Some(t), &mut |_| false);
    }

    /// Wait (at most `limit` ms after t0) for the next event matching.
    pub fn wait(&mut self, limit: u64, mut pred: impl FnMut(&Event) -> bool) -> (u64, Event) {
        match self.drive(Some(limit), &mut pred) {
            Some(x) => x,
            None => panic!("no matching event by {limit} ms; log: {:?}", self.log),
        }
    }

    /// Wait for a real-server state.
    pub fn wait_rs(&mut self, limit: u64, up: bool) -> u64 {
        self.wait(
            limit,
            |e| matches!(e, Event::RealServer { up: u, .. } if *u == up),
        )
        .0
    }

    /// Events of real servers only, as (ms, up).
    pub fn rs_log(&self) -> Vec<(u64, bool)> {
        self.log
            .iter()
            .filter_map(|(t, e)| match e {
                Event::RealServer { up, .. } => Some((*t, *up)),
                _ => None,
            })
            .collect()
    }
}

/// Assert the event at `got` ms did not come before `want` (less `tol` for
/// the wall clock's granularity). How late it may come is not asserted:
/// these tests run against real servers on a machine that may be loaded or
/// paused; the exact instants are asserted in virtual time (timing.rs).
#[track_caller]
pub fn not_before(got: u64, want: u64, tol: u64) {
    assert!(
        got + tol >= want,
        "event at {got} ms, not expected before {want} ms (- {tol})"
    );
}

pub fn ep(addr: &str) -> Endpoint {
    Endpoint::to(addr.parse::<SocketAddr>().unwrap())
}
