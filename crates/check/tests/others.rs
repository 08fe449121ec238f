//! SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, MISC_CHECK, FILE_CHECK and
//! vrrp_script against real responders and processes.
//! Verdicts against real servers; when each falls is asserted to the
//! instant in virtual time (timing.rs), here only that none comes early.

mod common;
use common::servers::*;
use common::*;
use keepalived_check::*;
use std::path::PathBuf;
use std::time::Duration;

fn check(kind: CheckKind, alpha: bool) -> CheckSpec {
    CheckSpec {
        log_all_failures: false,
        // delay_loop 300, connect_timeout 150, retry 1, delay_before_retry 100
        timing: timing(300, 150, 1, 100),
        alpha,
        kind,
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kcheck-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn smtp_check() {
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.2:25", mode.clone(), smtp_reply);
    let mut h = Harness::new();
    h.add(vec![check(
        CheckKind::Smtp(ep("127.0.0.2:25"), "checker.test".into()),
        true,
    )]);
    not_before(h.wait_rs(1000, true), 0, 30);
    // Bad banner: the check at 300 and its retry at 400 fail.
    mode.set(BAD);
    not_before(h.wait_rs(2000, false), 400, 30);
    mode.set(UP);
    not_before(h.wait_rs(3000, true), 700, 30);
    // Slow banner (400 ms > 150): 1000 +150, retry at 1250 +150: down.
    mode.set(SLOW);
    not_before(h.wait_rs(4000, false), 1400, 40);
}

/// An SMTP server whose greeting never ends (`220-` lines for ever): the
/// reply is cut off at 64 KiB and the check fails at once, long before the
/// attempt's limit (4 x connect_timeout = 8 s here), with memory bounded.
#[test]
fn an_endless_smtp_banner_is_cut_off() {
    use std::io::Write;
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.3:25", mode.clone(), |mut s, _| {
        while s
            .write_all(b"220-still greeting you, please wait\r\n")
            .is_ok()
        {}
    });
    let mut h = Harness::new();
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(10_000, 2_000, 0, 100),
        alpha: false,
        kind: CheckKind::Smtp(ep("127.0.0.3:25"), "checker.test".into()),
    }]);
    let down = h.wait_rs(8_000, false);
    assert!(
        down < 1_000,
        "the endless banner held the check for {down} ms"
    );
}

#[test]
fn dns_check() {
    netns();
    let mode = Mode::new();
    udp_server("127.0.0.2:53", mode.clone(), dns_answer);
    let mut h = Harness::new();
    h.add(vec![check(
        CheckKind::Dns(
            ep("127.0.0.2:53"),
            DnsSpec {
                qtype: 1,
                name: "www.example.test".into(),
            },
        ),
        true,
    )]);
    not_before(h.wait_rs(1000, true), 0, 30);
    mode.set(BAD); // SERVFAIL
    not_before(h.wait_rs(2000, false), 400, 30);
    mode.set(UP);
    not_before(h.wait_rs(3000, true), 700, 30);
    mode.set(SLOW); // silence: timeouts at 1150 and 1400
    not_before(h.wait_rs(4000, false), 1400, 40);
}

#[test]
fn udp_check() {
    netns();
    let mode = Mode::new();
    udp_server("127.0.0.2:7", mode.clone(), |q, _| q.to_vec());
    let mut h = Harness::new();
    h.add(vec![check(
        CheckKind::Udp(
            ep("127.0.0.2:7"),
            UdpSpec {
                payload: b"ping".to_vec(),
                ..Default::default()
            },
        ),
        false,
    )]);
    // Silence is success without require_reply.
    mode.set(SLOW);
    h.run_until(350);
    assert_eq!(h.rs_log(), vec![(0, true)]);
    // Port closed: ICMP unreachable. Check at 450 (300 + 150 of silence)
    // and its retry 100 ms later fail.
    mode.set(DOWN);
    not_before(h.wait_rs(2000, false), 550, 40);
    mode.set(UP);
    not_before(h.wait_rs(3000, true), 850, 40);

    // require_reply: an echo of the payload matches, silence fails.
    let mut h = Harness::new();
    let (d, m) = keepalived_check::probe::udp::parse_hex("70696e67").unwrap();
    h.add(vec![check(
        CheckKind::Udp(
            ep("127.0.0.2:7"),
            UdpSpec {
                payload: b"ping".to_vec(),
                require_reply: Some((d, m)),
                min_reply_len: 4,
                max_reply_len: 255,
            },
        ),
        true,
    )]);
    not_before(h.wait_rs(1000, true), 0, 30);
    mode.set(SLOW);
    not_before(h.wait_rs(2000, false), 300 + 150 + 100 + 150, 40);
}

#[test]
fn ping_check_and_ping_group_range() {
    netns();
    std::fs::write("/proc/sys/net/ipv4/ping_group_range", "1 0").unwrap();
    let err = keepalived_check::probe::ping::open("127.0.0.1:0".parse().unwrap()).unwrap_err();
    assert!(err.contains("ping_group_range"), "{err}");
    // With the range widened the unprivileged socket works.
    std::fs::write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647").unwrap();
    let mut h = Harness::new();
    h.add(vec![check(
        CheckKind::Ping("127.0.0.1".parse().unwrap()),
        true,
    )]);
    not_before(h.wait_rs(1000, true), 0, 30);
    // An address nothing answers: unreachable, down after the retry.
    let mut h = Harness::new();
    h.add(vec![check(
        CheckKind::Ping("10.9.9.9".parse().unwrap()),
        false,
    )]);
    not_before(h.wait_rs(1000, false), 100, 30);
}

#[test]
fn misc_check_exit_codes_dynamic_weight_and_timeout() {
    let d = tmp("misc");
    let f = d.join("rc");
    std::fs::write(&f, "0").unwrap();
    let line = format!("/bin/sh -c 'exit $(cat {})'", f.display());
    let cmd = ScriptCommand::local(ScriptId(0));
    let mut h = Harness::with_scripts(&[&line]);
    h.add_weighted(
        vec![CheckSpec {
            log_all_failures: false,
            timing: timing(300, 150, 0, 100),
            alpha: true,
            kind: CheckKind::Misc(MiscSpec {
                command: cmd,
                timeout: None,
                dynamic: true,
            }),
        }],
        10,
    );
    let (t, e) = h.wait(1000, |e| matches!(e, Event::RealServer { up: true, .. }));
    not_before(t, 0, 60);
    assert!(
        matches!(
            e,
            Event::RealServer {
                weight: Some(10),
                ..
            }
        ),
        "{e:?}"
    );
    // misc_dynamic: exit 7 is up with weight 5.
    std::fs::write(&f, "7").unwrap();
    let (t, e) = h.wait(2000, |e| matches!(e, Event::RealServer { .. }));
    not_before(t, 300, 60);
    assert_eq!(
        e,
        Event::RealServer {
            id: RsId(0),
            up: true,
            weight: Some(5)
        }
    );
    // Exit 1 fails (retry 0: at once), the weight returns to the base.
    std::fs::write(&f, "1").unwrap();
    let (t, e) = h.wait(3000, |e| matches!(e, Event::RealServer { up: false, .. }));
    not_before(t, 600, 60);
    assert!(
        matches!(
            e,
            Event::RealServer {
                weight: Some(10),
                ..
            }
        ),
        "{e:?}"
    );

    // misc_timeout: a script that hangs is terminated and counts as failed.
    let mut h = Harness::with_scripts(&["/bin/sleep 10"]);
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(300, 150, 0, 100),
        alpha: false,
        kind: CheckKind::Misc(MiscSpec {
            command: ScriptCommand::local(ScriptId(0)),
            timeout: Some(Duration::from_millis(200)),
            dynamic: false,
        }),
    }]);
    not_before(h.wait_rs(2000, false), 200, 60);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn file_check_weights_and_fault() {
    let d = tmp("file");
    let f = d.join("state");
    std::fs::write(&f, "0").unwrap();
    let mut h = Harness::new();
    h.add_weighted(
        vec![CheckSpec {
            log_all_failures: false,
            timing: timing(300, 150, 0, 100),
            alpha: false,
            kind: CheckKind::File(FileSpec {
                path: f.clone(),
                weight: 10,
                reverse: false,
            }),
        }],
        5,
    );
    let (_, e) = h.wait(500, |e| matches!(e, Event::RealServer { .. }));
    assert!(
        matches!(
            e,
            Event::RealServer {
                up: true,
                weight: Some(5),
                ..
            }
        ),
        "{e:?}"
    );
    std::fs::write(&f, "3").unwrap();
    let (_, e) = h.wait(1000, |e| matches!(e, Event::RealServer { .. }));
    assert!(
        matches!(
            e,
            Event::RealServer {
                up: true,
                weight: Some(35),
                ..
            }
        ),
        "{e:?}"
    );
    // A value whose product reaches i32::MIN is a fault: down.
    std::fs::write(&f, "-300000000").unwrap();
    let (_, e) = h.wait(1500, |e| matches!(e, Event::RealServer { .. }));
    assert!(matches!(e, Event::RealServer { up: false, .. }), "{e:?}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn vrrp_script_rise_fall() {
    let d = tmp("script");
    let f = d.join("rc");
    std::fs::write(&f, "0").unwrap();
    let line = format!("/bin/sh -c 'exit $(cat {})'", f.display());
    let mut h = Harness::with_scripts(&[&line]);
    let t0 = h.t0;
    h.engine.add_script(
        ScriptSpec {
            name: "chk".into(),
            command: ScriptCommand::local(ScriptId(0)),
            interval: Duration::from_millis(100),
            timeout: None,
            rise: 2,
            fall: 3,
            init_fail: false,
        },
        t0,
    );
    let ok = |want: bool| move |e: &Event| matches!(e, Event::Script { ok, .. } if *ok == want);
    // At init one success is enough: run at 0.
    not_before(h.wait(1000, ok(true)).0, 0, 60);
    std::fs::write(&f, "1").unwrap();
    let t1 = h.now_ms();
    // fall 3: three failed runs, 100 ms apart.
    let t = h.wait(3000, ok(false)).0;
    assert!(t >= t1 + 200, "KO at {t}, failures from {t1}");
    std::fs::write(&f, "0").unwrap();
    let t2 = h.now_ms();
    let t = h.wait(4000, ok(true)).0;
    assert!(t >= t2 + 100, "OK at {t}, successes from {t2}");
    let _ = std::fs::remove_dir_all(d);
}
