//! SMTP alerts end to end: a small SMTP listener inside the node's network
//! namespace receives keepalived's subject and body for a VRRP transition
//! and for a real server going down; a mail server that never answers
//! delays nothing else.

use keepalived_rs_tests::lan::Lan;
use keepalived_rs_tests::shared_dir;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

/// An SMTP listener on 127.0.0.1:`port` inside `ns`; each accepted message
/// (its DATA, dot-terminated) arrives on the channel with its envelope.
fn smtp_listener(ns: &Netns, port: u16) -> Receiver<String> {
    let (ready_tx, ready_rx) = channel();
    let (tx, rx) = channel();
    ns.thread(move || {
        let l = TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP");
        ready_tx.send(()).unwrap();
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let _ = c.write_all(b"220 test ESMTP\r\n");
            let mut envelope = String::new();
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let cmd = line.to_ascii_uppercase();
                if cmd.starts_with("DATA") {
                    let _ = c.write_all(b"354 go ahead\r\n");
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        if r.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                            break;
                        }
                        data.push_str(&l);
                    }
                    let _ = tx.send(format!("{envelope}{data}"));
                    let _ = c.write_all(b"250 queued\r\n");
                } else if cmd.starts_with("QUIT") {
                    let _ = c.write_all(b"221 bye\r\n");
                    break;
                } else {
                    envelope.push_str(&line);
                    let _ = c.write_all(b"250 ok\r\n");
                }
            }
        }
    });
    ready_rx.recv_timeout(PROMPT).expect("SMTP listener ready");
    rx
}

/// The first message containing `needle`.
fn mail_with(rx: &Receiver<String>, needle: &str) -> String {
    let until = std::time::Instant::now() + PROMPT;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        let m = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no mail with '{needle}'"));
        if m.contains(needle) {
            return m;
        }
    }
}

fn conf(smtp: &str, flag: &std::path::Path) -> String {
    format!(
        "global_defs {{\n    router_id N150\n    notification_email {{\n        ops@example.org\n        \
         oncall@example.org\n    }}\n    notification_email_from ka@example.org\n    smtp_server {smtp}\n    \
         smtp_connect_timeout 60\n    smtp_helo_name lb1.example.org\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    \
         advert_int 1\n    smtp_alert\n    virtual_ipaddress {{\n        10.99.0.100/24\n    }}\n}}\n\
         virtual_server 10.99.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n    \
         real_server 10.99.0.50 80 {{\n        smtp_alert\n        MISC_CHECK {{\n            misc_path \"/usr/bin/test -f {}\"\n        }}\n    }}\n}}\n",
        flag.display()
    )
}

#[test]
fn alerts_reach_the_mail_server_with_keepalived_subjects() {
    let dir = shared_dir();
    let flag = dir.path().join("rs-up");
    std::fs::write(&flag, "").unwrap();
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mail = smtp_listener(&a, 2525);
    let mut na = Suite::spawn_in(a.clone(), &conf("127.0.0.1 2525", &flag), &[]).wait_started();
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let m = mail_with(&mail, "Entering MASTER state");
    for part in [
        "HELO lb1.example.org\r\n",
        "MAIL FROM:<ka@example.org>\r\n",
        "RCPT TO:<ops@example.org>\r\n",
        "RCPT TO:<oncall@example.org>\r\n",
        "From: ka@example.org\r\n",
        "Subject: [N150] VRRP Instance VI_1 - Entering MASTER state\r\n",
        "X-Mailer: Keepalived\r\n",
        "To: ops@example.org, oncall@example.org\r\n",
        "\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n",
    ] {
        assert!(m.contains(part), "no {part:?} in:\n{m}");
    }
    assert!(m.contains("Date: "), "{m}");
    // The real server goes down.
    std::fs::remove_file(&flag).unwrap();
    let m = mail_with(&mail, "Realserver");
    assert!(
        m.contains("Subject: [N150] Realserver [10.99.0.50]:tcp:80 of virtual server [10.99.0.100]:tcp:80 - DOWN\r\n"),
        "{m}"
    );
    assert!(m.contains("=> MISC CHECK failed on service <="), "{m}");
    na.log
        .wait_for_text("SMTP alert successfully sent.", PROMPT);
}

#[test]
fn a_mail_server_that_never_answers_delays_nothing() {
    let dir = shared_dir();
    let flag = dir.path().join("rs-up");
    std::fs::write(&flag, "").unwrap();
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    // Nobody has 10.99.0.99: every connection hangs until its 60 s timeout.
    let mut na = Suite::spawn_in(a.clone(), &conf("10.99.0.99", &flag), &[]).wait_started();
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    std::fs::remove_file(&flag).unwrap();
    na.log
        .wait_for_text("Removing service [10.99.0.50]:tcp:80", PROMPT);
    std::fs::write(&flag, "").unwrap();
    na.log
        .wait_for_text("Adding service [10.99.0.50]:tcp:80", PROMPT);
    assert_eq!(na.log.count("SMTP alert successfully sent."), 0);
}
