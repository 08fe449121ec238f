//! Attempt timing to the instant: the engine driven in virtual time through
//! a fake [`Io`] whose servers answer by a timeline. The socket tests
//! (tcp.rs, http.rs, others.rs) prove the verdicts against real servers;
//! these prove *when* each attempt starts and each verdict falls, with no
//! wall clock, so a loaded or paused machine cannot move them.

mod common;
use common::{ms, timing};
use keepalived_check::probe::Step;
use keepalived_check::*;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::Instant;

/// How the simulated server answers an attempt.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// At once (a local server): pass or fail.
    Pass,
    Fail,
    /// Never: the attempt runs into its timeout.
    Silent,
    /// A byte every so many ms, for ever (slowloris).
    Trickle(u64),
    /// No socket to be had here (EMFILE): no verdict.
    NoSocket,
}

/// The server's behaviour over time: `(from ms, answer)`, sorted.
type Timeline = Vec<(u64, Answer)>;

struct World {
    t0: Instant,
    now: Instant,
    timeline: Timeline,
    /// What silence means at the timeout (UDP_CHECK without
    /// require_reply: success).
    silence_ok: bool,
    running: HashMap<usize, Answer>,
    /// Readiness to deliver: (instant, key).
    queue: BTreeSet<(Instant, usize)>,
    /// Each attempt: (ms since t0, url).
    attempts: Vec<(u64, usize)>,
}

impl World {
    fn at(&self, t: u64) -> Answer {
        self.timeline
            .iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .map_or(Answer::Fail, |(_, a)| *a)
    }
    fn ms(&self) -> u64 {
        (self.now - self.t0).as_millis() as u64
    }
}

struct FakeIo(Rc<RefCell<World>>);

impl Io for FakeIo {
    fn start(&mut self, key: usize, a: Attempt<'_>) {
        let mut w = self.0.borrow_mut();
        let t = w.ms();
        w.attempts.push((t, a.url));
        let answer = w.at(t);
        w.running.insert(key, answer);
        if let Answer::Trickle(every) = answer {
            let at = w.now + ms(every);
            w.queue.insert((at, key));
        }
    }
    fn ready(&mut self, key: usize) -> Step {
        let mut w = self.0.borrow_mut();
        match w.running.get(&key).copied() {
            Some(Answer::Pass) => Step::pass(),
            Some(Answer::Fail) => Step::fail("refused"),
            Some(Answer::Trickle(every)) => {
                let at = w.now + ms(every);
                w.queue.insert((at, key));
                Step::Pending { progress: true }
            }
            Some(Answer::NoSocket) => Step::Local {
                why: "connect: Too many open files (os error 24)".into(),
            },
            Some(Answer::Silent) | None => Step::Pending { progress: false },
        }
    }
    fn timed_out(&mut self, _: usize) -> Step {
        if self.0.borrow().silence_ok {
            Step::pass()
        } else {
            Step::fail("timeout")
        }
    }
    fn stop(&mut self, key: usize) {
        let mut w = self.0.borrow_mut();
        w.running.remove(&key);
        w.queue.retain(|(_, k)| *k != key);
    }
    fn watch(&mut self, _: &std::path::Path) -> Result<(), String> {
        Err("no files here".into())
    }
    fn drain_watch(&mut self) {}
}

/// No scripts in these tests.
struct NoScripts;

impl ScriptRunner for NoScripts {
    fn spawn(&mut self, _: &ScriptCommand, _: usize) -> std::io::Result<ScriptHandle> {
        Err(std::io::Error::other("no scripts"))
    }
    fn try_wait(&mut self, _: ScriptHandle) -> Option<ScriptExit> {
        None
    }
    fn signal(&mut self, _: ScriptHandle, _: nix::sys::signal::Signal) {}
}

struct Sim {
    world: Rc<RefCell<World>>,
    engine: Engine,
    /// Real-server verdicts: (ms since t0, up).
    log: Vec<(u64, bool)>,
}

impl Sim {
    fn new(timeline: Timeline, silence_ok: bool, check: CheckSpec) -> Sim {
        let t0 = Instant::now();
        let world = Rc::new(RefCell::new(World {
            t0,
            now: t0,
            timeline,
            silence_ok,
            running: HashMap::new(),
            queue: BTreeSet::new(),
            attempts: Vec::new(),
        }));
        let mut engine = Engine::new(16, Box::new(FakeIo(world.clone())), Box::new(NoScripts));
        let spec = RealServerSpec {
            name: "[10.0.0.2]:tcp:80".into(),
            weight: 1,
            checks: vec![check],
            ..Default::default()
        };
        engine.add_real_server(spec, t0).unwrap();
        let mut sim = Sim {
            world,
            engine,
            log: Vec::new(),
        };
        sim.collect(0);
        sim
    }

    fn collect(&mut self, at: u64) {
        for e in self.engine.drain_events() {
            if let Event::RealServer { up, .. } = e {
                self.log.push((at, up));
            }
        }
    }

    /// Jump from event to event (readiness first at equal instants, as a
    /// poll reports it before the timer runs) until `until` ms.
    fn run(&mut self, until: u64) {
        loop {
            let (t0, io) = {
                let w = self.world.borrow();
                (w.t0, w.queue.first().copied())
            };
            let timer = self.engine.next_deadline();
            let next = match (io, timer) {
                (Some((a, _)), Some(b)) => a.min(b),
                (Some((a, _)), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > t0 + ms(until) {
                break;
            }
            self.world.borrow_mut().now = next;
            match io {
                Some((a, key)) if a == next => {
                    self.world.borrow_mut().queue.remove(&(a, key));
                    self.engine.on_event(key, next);
                }
                _ => self.engine.on_timer(next),
            }
            self.collect((next - t0).as_millis() as u64);
        }
    }

    fn attempts(&self) -> Vec<u64> {
        self.world.borrow().attempts.iter().map(|a| a.0).collect()
    }
}

fn tcp(t: Timing, alpha: bool) -> CheckSpec {
    CheckSpec {
        log_all_failures: false,
        timing: t,
        alpha,
        kind: CheckKind::Tcp(Endpoint::to("10.0.0.2:80".parse().unwrap())),
    }
}

/// tcp.rs's up/down/slow/flap scenario: a failure is retried after
/// delay_before_retry whatever the state; a verdict waits delay_loop; a
/// silent server costs connect_timeout per attempt.
#[test]
fn tcp_verdicts_fall_at_keepalived_instants() {
    use Answer::*;
    let timeline = vec![
        (0, Pass),
        (450, Fail),
        (701, Pass),
        (1001, Silent),
        (1701, Pass),
        (2001, Fail),
    ];
    let mut s = Sim::new(timeline, false, tcp(timing(300, 150, 1, 100), false));
    s.run(2500);
    assert_eq!(
        s.log,
        vec![
            (0, true),
            (700, false),
            (1000, true),
            (1700, false),
            (2000, true),
            (2400, false)
        ]
    );
    // Timeouts at 1450 and 1700; each retry 100 ms after the failure.
    assert_eq!(
        s.attempts(),
        vec![0, 300, 600, 700, 1000, 1300, 1550, 2000, 2300, 2400]
    );
}

/// An attempt that cannot open its socket (EMFILE) says nothing about the
/// real server: keepalived reschedules it after delay_loop ("fail to create
/// socket. Rescheduling."), counting no retry. With retry 0 a counted
/// failure would take the server down at 200.
#[test]
fn no_socket_is_no_verdict() {
    use Answer::*;
    let timeline = vec![(0, Pass), (100, NoSocket), (700, Pass), (900, Fail)];
    let mut s = Sim::new(timeline, false, tcp(timing(200, 100, 0, 50), false));
    s.run(1000);
    assert_eq!(s.log, vec![(0, true), (1000, false)]);
    assert_eq!(s.attempts(), vec![0, 200, 400, 600, 800, 1000]);
}

#[test]
fn alpha_starts_down_and_retry_zero_fails_at_once() {
    use Answer::*;
    let mut s = Sim::new(
        vec![(0, Pass), (1, Fail)],
        false,
        tcp(timing(200, 100, 0, 50), true),
    );
    s.run(450);
    assert_eq!(s.log, vec![(0, false), (0, true), (200, false)]);
    assert_eq!(s.attempts(), vec![0, 200, 400]);
}

/// http.rs's scenario: one url per attempt; a failed url is retried alone
/// (delay_before_retry while up, then every delay_loop) until it passes,
/// then every url is walked again before the server is up.
#[test]
fn http_walks_urls_and_retries_the_failed_one() {
    use Answer::*;
    let timeline = vec![(0, Pass), (500, Fail), (750, Pass), (1650, Silent)];
    let mut s = Sim::new(
        timeline,
        false,
        CheckSpec {
            log_all_failures: false,
            timing: timing(300, 200, 1, 100),
            alpha: true,
            kind: CheckKind::Http(
                Endpoint::to("10.0.0.2:80".parse().unwrap()),
                HttpSpec {
                    urls: vec![UrlSpec::default(), UrlSpec::default()],
                    ..Default::default()
                },
            ),
        },
    );
    s.run(2500);
    assert_eq!(
        s.log,
        vec![
            (0, false),
            (300, true),
            (700, false),
            (1600, true),
            (2400, false)
        ]
    );
    assert_eq!(
        s.world.borrow().attempts,
        vec![
            (0, 0),
            (300, 1),
            (600, 0),
            (700, 0),
            (1000, 0),
            (1300, 0),
            (1600, 1),
            (1900, 0),
            (2200, 0)
        ]
    );
}

/// SMTP_CHECK keeps TCP's epilogue and DNS_CHECK its own; on this timeline
/// both fall at the instants others.rs used to assert within ±30 ms.
#[test]
fn smtp_and_dns_verdicts() {
    use Answer::*;
    let timeline = vec![(0, Pass), (150, Fail), (450, Pass), (750, Silent)];
    let ep = Endpoint::to("10.0.0.2:25".parse().unwrap());
    for kind in [
        CheckKind::Smtp(ep.clone(), "checker.test".into()),
        CheckKind::Dns(
            ep.clone(),
            DnsSpec {
                qtype: 1,
                name: "www.example.test".into(),
            },
        ),
    ] {
        let check = CheckSpec {
            log_all_failures: false,
            timing: timing(300, 150, 1, 100),
            alpha: true,
            kind,
        };
        let mut s = Sim::new(timeline.clone(), false, check);
        s.run(1500);
        assert_eq!(
            s.log,
            vec![
                (0, false),
                (0, true),
                (400, false),
                (700, true),
                (1400, false)
            ]
        );
        // The slow attempt at 1000 times out at 1150, its retry at 1250
        // at 1400.
        assert_eq!(s.attempts(), vec![0, 300, 400, 700, 1000, 1250]);
    }
}

/// UDP_CHECK: silence is success without require_reply and failure with
/// it; a failure is retried only while the checker is up.
#[test]
fn udp_verdicts_with_and_without_require_reply() {
    use Answer::*;
    let ep = Endpoint::to("10.0.0.2:7".parse().unwrap());
    let udp = |require: bool| CheckSpec {
        log_all_failures: false,
        timing: timing(300, 150, 1, 100),
        alpha: require,
        kind: CheckKind::Udp(
            ep.clone(),
            UdpSpec {
                payload: b"ping".to_vec(),
                ..Default::default()
            },
        ),
    };
    let mut s = Sim::new(
        vec![(0, Silent), (400, Fail), (600, Pass)],
        true,
        udp(false),
    );
    s.run(900);
    assert_eq!(s.log, vec![(0, true), (550, false), (850, true)]);
    assert_eq!(s.attempts(), vec![0, 450, 550, 850]);

    let mut s = Sim::new(vec![(0, Pass), (1, Silent)], false, udp(true));
    s.run(800);
    assert_eq!(s.log, vec![(0, false), (0, true), (700, false)]);
    assert_eq!(s.attempts(), vec![0, 300, 550]);
}

/// PING_CHECK to an unreachable address: refused at once, down after the
/// retry.
#[test]
fn ping_unreachable_is_down_after_the_retry() {
    let check = CheckSpec {
        log_all_failures: false,
        timing: timing(300, 150, 1, 100),
        alpha: false,
        kind: CheckKind::Ping("10.9.9.9".parse().unwrap()),
    };
    let mut s = Sim::new(vec![(0, Answer::Fail)], false, check);
    s.run(150);
    assert_eq!(s.log, vec![(0, true), (100, false)]);
}

/// A trickling server makes progress with every byte, which re-arms the
/// inactivity timeout, yet the attempt ends at 4 x connect_timeout.
#[test]
fn a_trickle_ends_at_four_connect_timeouts() {
    let check = CheckSpec {
        log_all_failures: false,
        timing: timing(10_000, 200, 0, 100),
        alpha: false,
        kind: CheckKind::Http(
            Endpoint::to("10.0.0.3:80".parse().unwrap()),
            HttpSpec::default(),
        ),
    };
    let mut s = Sim::new(vec![(0, Answer::Trickle(20))], false, check);
    s.run(2000);
    assert_eq!(s.log, vec![(0, true), (800, false)]);
    assert!(s.world.borrow().queue.is_empty(), "the attempt was stopped");
}
