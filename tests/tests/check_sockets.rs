//! Check sockets in namespaces. A TCP_CHECK with `fwmark`: checkerd holds
//! no capability, so its socket comes from the parent with SO_MARK set. The
//! node routes the real server only for marked packets (policy routing; the
//! main table blackholes it), so the check succeeds only if the mark is
//! really on its socket. Then checkerd out of descriptors, and
//! `log_all_failures`.

use keepalived_rs_tests::lan::Lan;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use std::net::TcpListener;
use std::sync::mpsc::channel;
use std::sync::Arc;

/// Accept (and drop) connections on `ports` inside `ns`, until the test ends.
fn listen_in(ns: &Netns, ports: &[u16]) {
    for &port in ports {
        let (tx, rx) = channel();
        ns.thread(move || {
            let l = TcpListener::bind(("0.0.0.0", port)).expect("bind");
            tx.send(()).unwrap();
            for c in l.incoming() {
                drop(c);
            }
        });
        rx.recv_timeout(PROMPT).expect("listener ready");
    }
}

#[test]
fn an_fwmark_check_gets_a_marked_socket_from_the_parent() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    listen_in(&b, &[80, 81]);
    // Only packets marked 7 may reach 10.99.0.12.
    a.ip(&["route", "add", "blackhole", "10.99.0.12/32"]);
    a.ip(&[
        "route",
        "add",
        "10.99.0.12/32",
        "dev",
        "eth0",
        "table",
        "77",
    ]);
    a.ip(&[
        "rule", "add", "fwmark", "7", "lookup", "77", "priority", "100",
    ]);
    let conf = "virtual_server 10.99.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 10.99.0.12 80 {\n        TCP_CHECK {\n            fwmark 7\n            alpha\n            connect_timeout 1\n        }\n    }\n    \
         real_server 10.99.0.12 81 {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n}\n";
    let mut na = Suite::spawn_in(a.clone(), conf, &[]).wait_started();
    // The marked check starts down (alpha) and comes up: its connection
    // went through table 77. The same server without the mark is
    // blackholed. (The two checks run concurrently: either line first.)
    na.log.wait_for_all(
        &[
            "Adding service [10.99.0.12]:tcp:80",
            "Removing service [10.99.0.12]:tcp:81",
        ],
        PROMPT,
    );
    assert_eq!(
        na.log.count("Removing service [10.99.0.12]:tcp:80"),
        0,
        "{:#?}",
        na.log.lines
    );
    assert_eq!(na.log.count("refused"), 0, "{:#?}", na.log.lines);
}

/// The lowest descriptor number `pid` does not hold: with its soft
/// RLIMIT_NOFILE set there, it can open nothing more.
fn lowest_free_fd(pid: i32) -> u64 {
    let held: std::collections::BTreeSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !held.contains(n)).unwrap()
}

/// Set `pid`'s soft RLIMIT_NOFILE with util-linux's `prlimit`, run (by
/// `setpriv`, from `ns` where `pid` runs) as the process's own user: tests
/// may lack CAP_SYS_RESOURCE, and a process may change the limits of
/// another of its own uid without it.
fn set_nofile_soft(ns: &Netns, pid: i32, soft: u64) {
    let st = keepalived_rs_tests::proc::status(pid);
    let id = |k: &str| -> u32 { st[k].split_whitespace().next().unwrap().parse().unwrap() };
    ns.exec(&[
        "setpriv",
        &format!("--reuid={}", id("Uid")),
        &format!("--regid={}", id("Gid")),
        "--clear-groups",
        "prlimit",
        "--pid",
        &pid.to_string(),
        &format!("--nofile={soft}:"),
    ]);
}

/// A host running a suite whose one real server, 10.99.0.12:80, is a
/// listener on another host, checked by a TCP_CHECK (`alpha`,
/// connect_timeout 1, and `check` lines), with `global` before it; returned
/// once the server was added.
fn checked_listener(global: &str, check: &str) -> (Lan, Arc<Netns>, Netns, Suite) {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    listen_in(&b, &[80]);
    let conf = format!(
        "{global}virtual_server 10.99.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 10.99.0.12 80 {{\n        TCP_CHECK {{\n            alpha\n            connect_timeout 1\n{check}        }}\n    }}\n}}\n"
    );
    let mut na = Suite::spawn_in(a.clone(), &conf, &[]).wait_started();
    na.log
        .wait_for_text("Adding service [10.99.0.12]:tcp:80", PROMPT);
    (lan, a, b, na)
}

/// checkerd out of descriptors (EMFILE: its soft RLIMIT_NOFILE lowered to
/// what it holds): an attempt that cannot open its socket says nothing
/// about the real server, as keepalived ("TCP connect fail to create
/// socket. Rescheduling."). Before, with `retry 0`, the first such attempt
/// removed the server ("connect: Too many open files"): a full descriptor
/// table emptied every pool. With descriptors back, the check runs on and
/// still sees a real failure.
#[test]
fn a_check_without_descriptors_gives_no_verdict() {
    let (_lan, a, _b, mut na) = checked_listener("", "            retry 0\n");
    let checkerd = na.child_pid("checkerd");
    set_nofile_soft(&a, checkerd, lowest_free_fd(checkerd));
    let line = na.log.wait_for_text(
        "Check on [10.99.0.12]:tcp:80 could not begin (connect: Too many open files",
        PROMPT,
    );
    assert!(line.contains("rescheduled without a verdict"), "{line}");
    assert_eq!(
        na.log.count("Removing service [10.99.0.12]:tcp:80"),
        0,
        "{:#?}",
        na.log.lines
    );
    set_nofile_soft(&a, checkerd, 1024);
    // The check is still scheduled: a real failure is seen.
    a.ip(&["route", "add", "blackhole", "10.99.0.12/32"]);
    na.log
        .wait_for_text("Removing service [10.99.0.12]:tcp:80", PROMPT);
    assert_eq!(na.child_pid("checkerd"), checkerd);
    assert!(na.stop().success());
}

/// `checker_log_all_failures`: a failure that leaves a retry (the server
/// still up) is logged at info with keepalived's TCP_CHECK phrase; before,
/// only the state change was (the retries at debug).
#[test]
fn log_all_failures_logs_each_failed_attempt() {
    let (_lan, a, _b, mut na) = checked_listener(
        "global_defs {\n    checker_log_all_failures\n}\n",
        "            retry 2\n            delay_before_retry 1\n",
    );
    a.ip(&["route", "add", "blackhole", "10.99.0.12/32"]);
    // Two failures with a retry left, then the removal.
    for _ in 0..2 {
        na.log
            .wait_for_text("TCP connection to [10.99.0.12]:tcp:80 failed.", PROMPT);
    }
    na.log
        .wait_for_text("Removing service [10.99.0.12]:tcp:80", PROMPT);
    assert!(na.stop().success());
}
