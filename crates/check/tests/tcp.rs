//! TCP_CHECK against a real listener in a private network namespace:
//! up, down (refused), slow (SYN dropped: beyond connect_timeout) and
//! flapping, with verdict times following retry / delay_before_retry.
//! Verdicts against real servers; when each falls is asserted to the
//! instant in virtual time (timing.rs), here only that none comes early.

mod common;
use common::*;
use keepalived_check::*;
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{SocketAddr, TcpListener, TcpStream};

const ADDR: &str = "127.0.0.2:8080";

fn listen() -> TcpListener {
    TcpListener::bind(ADDR).unwrap()
}

/// A listener whose accept queue is full: further SYNs are dropped, so a
/// connect hangs until the checker's timeout.
fn slow() -> (Socket, TcpStream) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&SockAddr::from(ADDR.parse::<SocketAddr>().unwrap()))
        .unwrap();
    s.listen(0).unwrap();
    let filler = TcpStream::connect(ADDR).unwrap();
    (s, filler)
}

#[test]
fn tcp_up_down_slow_flap() {
    netns();
    let mut h = Harness::new();
    let mut l = Some(listen());
    // delay_loop 300, connect_timeout 150, retry 1, delay_before_retry 100.
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(300, 150, 1, 100),
        alpha: false,
        kind: CheckKind::Tcp(ep(ADDR)),
    }]);
    // Registered up; checks at 0 and 300 pass silently.
    // (Stamped when the loop first turns: 0 ms, or a little more on a
    // loaded machine.)
    h.run_until(450);
    let states: Vec<bool> = h.rs_log().iter().map(|e| e.1).collect();
    assert_eq!(states, vec![true], "{:?}", h.rs_log());

    // Down: the check at 600 is refused, the retry at 700 too: down at 700.
    drop(l.take());
    let t = h.wait_rs(2000, false);
    not_before(t, 700, 25);

    // Back up: the next loop check, 300 ms after the verdict, passes.
    l = Some(listen());
    let t2 = h.wait_rs(3000, true);
    not_before(t2, t + 300, 25);

    // Slow: each attempt times out after 150 ms; attempt at +300 times out
    // at +450, retry 100 ms later times out at +700: down.
    drop(l.take());
    let s = slow();
    let t3 = h.wait_rs(5000, false);
    not_before(t3, t2 + 700, 30);
    drop(s);

    // Flap: up at the next loop, then down again after one retry.
    l = Some(listen());
    let t4 = h.wait_rs(6000, true);
    not_before(t4, t3 + 300, 25);
    drop(l.take());
    let t5 = h.wait_rs(7000, false);
    not_before(t5, t4 + 400, 25);
    eprintln!("tcp timeline (ms, up): {:?}", h.rs_log());
    assert_eq!(h.rs_log().len(), 6);
}

#[test]
fn tcp_alpha_starts_down_and_retry_zero_fails_at_once() {
    netns();
    let mut h = Harness::new();
    let _l = listen();
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(200, 100, 0, 50),
        alpha: true,
        kind: CheckKind::Tcp(ep(ADDR)),
    }]);
    // Registered down (its first event, before any check), up on the
    // first check.
    h.wait_rs(1000, false);
    assert_eq!(
        h.rs_log().first().map(|e| e.1),
        Some(false),
        "{:?}",
        h.rs_log()
    );
    not_before(h.wait_rs(1000, true), 0, 20);
    drop(_l);
    // retry 0: the first refused check (at 200) is the verdict.
    not_before(h.wait_rs(2000, false), 200, 25);
}

#[test]
fn tcp_bindto_and_bind_port() {
    netns();
    let l = listen();
    let mut h = Harness::new();
    let mut e = ep(ADDR);
    e.bind = Some("127.0.0.3:40000".parse().unwrap());
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(200, 100, 0, 50),
        alpha: true,
        kind: CheckKind::Tcp(e),
    }]);
    not_before(h.wait_rs(1000, true), 0, 20);
    // The kernel queued the checker's connection: its source is ours.
    l.set_nonblocking(true).unwrap();
    let (_, peer) = l.accept().unwrap();
    assert_eq!(peer, "127.0.0.3:40000".parse().unwrap());
}

/// `Settled` (what bgp_announce waits for): a server's first verdict,
/// after its retries — not its registration, whose state is the starting
/// one; a server without checks at once, each once.
#[test]
fn settled_at_the_first_verdict_not_at_registration() {
    netns();
    let mut h = Harness::new();
    let bare = h.add(vec![]);
    // delay_loop 300, connect_timeout 150, retry 1, delay_before_retry 100;
    // nothing listens: refused at 0 and at the retry, down at 100.
    let id = h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(300, 150, 1, 100),
        alpha: false,
        kind: CheckKind::Tcp(ep(ADDR)),
    }]);
    let (t, _) = h.wait(2000, |e| matches!(e, Event::Settled { id: i } if *i == id));
    not_before(t, 100, 25);
    h.run_until(t + 700);
    let of = |want: RsId| -> Vec<String> {
        h.log
            .iter()
            .filter(|(_, e)| match e {
                Event::RealServer { id, .. } | Event::Settled { id } => *id == want,
                _ => false,
            })
            .map(|(_, e)| match e {
                Event::RealServer { up, .. } => format!("up {up}"),
                _ => "settled".to_string(),
            })
            .collect()
    };
    assert_eq!(of(bare), vec!["up true", "settled"]);
    assert_eq!(
        of(id),
        vec!["up true", "up false", "settled"],
        "the starting state, then the verdict and its settling, once"
    );
}
