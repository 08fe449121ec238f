//! A TCP_CHECK with `fwmark`: checkerd holds no capability, so its socket
//! comes from the parent with SO_MARK set. The node routes the real server
//! only for marked packets (policy routing; the main table blackholes it),
//! so the check succeeds only if the mark is really on its socket.

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
