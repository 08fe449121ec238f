//! Hostile real servers against checkerd: a slowloris HTTP server, a 4 MiB
//! body trickled in small pieces, an endless SMTP `220-` banner and a DNS
//! server answering every query with a flood of replies that are not the
//! answer, all at once, beside one honest server. checkerd's memory stays
//! small and its CPU modest, every hostile check fails (none holds its
//! attempt for ever), and the honest server's check keeps its timing: when
//! it goes away it is removed as fast as with nobody hostile around.

use keepalived_rs_tests::lan::Lan;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{proc, Suite};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stops the servers' threads when the test ends, even by a panic (they
/// would spin on for the other tests of this binary).
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Serve each connection on `port` with `f` on its own thread.
fn tcp_server(
    ns: &keepalived_rs_tests::Netns,
    port: u16,
    stop: &Arc<AtomicBool>,
    f: fn(TcpStream, &AtomicBool),
) {
    let (tx, rx) = channel();
    let stop = stop.clone();
    ns.thread(move || {
        let l = TcpListener::bind(("0.0.0.0", port)).expect("bind");
        tx.send(()).unwrap();
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            let stop = stop.clone();
            std::thread::spawn(move || f(c, &stop));
        }
    });
    rx.recv_timeout(PROMPT).expect("listener ready");
}

/// Headers, then a byte every 50 ms for ever.
fn slowloris(mut c: TcpStream, stop: &AtomicBool) {
    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
    while !stop.load(Ordering::Relaxed) && c.write_all(b"x").is_ok() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A 4 MiB body in 1 KiB pieces, one every millisecond.
fn trickled_body(mut c: TcpStream, stop: &AtomicBool) {
    let mut req = [0u8; 1024];
    let _ = c.read(&mut req);
    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n");
    let piece = [b'y'; 1024];
    for _ in 0..4096 {
        if stop.load(Ordering::Relaxed) || c.write_all(&piece).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `220-` continuation lines as fast as the socket takes them.
fn endless_banner(mut c: TcpStream, stop: &AtomicBool) {
    let line = b"220-still greeting you, still greeting you, still greeting you\r\n".repeat(64);
    while !stop.load(Ordering::Relaxed) && c.write_all(&line).is_ok() {}
}

fn honest(c: TcpStream, _: &AtomicBool) {
    drop(c);
}

/// Each query answered by 5,000 replies with another id, then silence.
fn dns_flood(ns: &keepalived_rs_tests::Netns, stop: &Arc<AtomicBool>) {
    let (tx, rx) = channel();
    let stop = stop.clone();
    ns.thread(move || {
        let s = UdpSocket::bind("0.0.0.0:53").expect("bind 53");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        tx.send(()).unwrap();
        let mut q = [0u8; 512];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = s.recv_from(&mut q) else {
                continue;
            };
            let mut junk = q[..n].to_vec();
            if junk.len() < 12 {
                continue;
            }
            junk[2] |= 0x80;
            junk[0] ^= 0xff;
            for _ in 0..5000 {
                if s.send_to(&junk, from).is_err() {
                    break;
                }
            }
        }
    });
    rx.recv_timeout(PROMPT).expect("dns server ready");
}

#[test]
fn hostile_real_servers_cost_little_and_hold_nothing() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = Stop(stop.clone());
    tcp_server(&b, 80, &stop, slowloris);
    tcp_server(&b, 81, &stop, trickled_body);
    tcp_server(&b, 25, &stop, endless_banner);
    tcp_server(&b, 8080, &stop, honest);
    dns_flood(&b, &stop);
    let timers = "            connect_timeout 2\n            retry 0\n";
    let conf = format!(
        "virtual_server 10.99.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server 10.99.0.12 80 {{\n        HTTP_GET {{\n            url {{\n                path /\n                status_code 200\n            }}\n{timers}        }}\n    }}\n\
         \x20   real_server 10.99.0.12 81 {{\n        HTTP_GET {{\n            url {{\n                path /\n                digest 00000000000000000000000000000000\n            }}\n{timers}        }}\n    }}\n\
         \x20   real_server 10.99.0.12 25 {{\n        SMTP_CHECK {{\n{timers}        }}\n    }}\n\
         \x20   real_server 10.99.0.12 53 {{\n        DNS_CHECK {{\n            type A\n            name a.example.\n{timers}        }}\n    }}\n\
         \x20   real_server 10.99.0.12 8080 {{\n        TCP_CHECK {{\n            alpha\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n"
    );
    let mut na = Suite::spawn_in(a.clone(), &conf, &[]).wait_started();
    let checkerd = na.child_pid("checkerd");
    let (ticks0, _) = proc::usage(&[checkerd]);
    let t0 = Instant::now();
    // The honest server comes up and every hostile check ends in a
    // failure: none holds its attempt. (One wait: the lines come in any
    // order — the SMTP banner can be refused before the honest server is
    // up.)
    na.log.wait_for_all(
        &[
            "Adding service [10.99.0.12]:tcp:8080",
            "Removing service [10.99.0.12]:tcp:80",
            "Removing service [10.99.0.12]:tcp:81",
            "Removing service [10.99.0.12]:tcp:25",
            "Removing service [10.99.0.12]:tcp:53",
        ],
        PROMPT,
    );
    let (ticks1, rss_kib) = proc::usage(&[checkerd]);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let cpu = (ticks1 - ticks0) as f64 / hz / t0.elapsed().as_secs_f64();
    eprintln!(
        "checkerd under four hostile servers: RSS {rss_kib} KiB, CPU {:.1} % of a core over {:.1} s",
        cpu * 100.0,
        t0.elapsed().as_secs_f64()
    );
    assert!(rss_kib < 32 << 10, "checkerd grew to {rss_kib} KiB");
    assert!(cpu < 0.5, "checkerd used {:.0} % of a core", cpu * 100.0);
    // The honest server's check kept its schedule: gone, it is removed
    // within delay_loop + connect_timeout (+ slack), not behind the others.
    let gone = Instant::now();
    a.ip(&["route", "add", "blackhole", "10.99.0.12/32"]);
    na.log
        .wait_for_text("Removing service [10.99.0.12]:tcp:8080", PROMPT);
    let took = gone.elapsed();
    eprintln!("honest server removed {took:?} after it went away");
    assert!(took < Duration::from_secs(4), "removal took {took:?}");
    assert_eq!(na.child_pid("checkerd"), checkerd);
    assert!(na.stop().success());
}
