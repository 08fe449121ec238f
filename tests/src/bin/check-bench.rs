//! Health-check figures (a benchmark, not a test; run as root):
//! CPU and RSS of checkerd running 10,000 TCP_CHECKs at `delay_loop 1`
//! against local listeners, and the delay from a listener going down to
//! checkerd reporting it.
//!
//! `cargo build --release --workspace --bins && target/release/check-bench`

use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{proc, Netns, Suite};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: u16 = 10_000;
const BASE: u16 = 20_000;

/// Listeners on 127.0.0.1:BASE.. inside `ns`, accepting and closing; a
/// port sent on `close` stops listening.
fn listeners(ns: &Netns, close: Receiver<u16>) {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).expect("netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let _ = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        let mut ls: Vec<Option<TcpListener>> = (0..N)
            .map(|i| {
                let l = TcpListener::bind(("127.0.0.1", BASE + i)).expect("bind");
                l.set_nonblocking(true).expect("nonblocking");
                Some(l)
            })
            .collect();
        let ep =
            nix::sys::epoll::Epoll::new(nix::sys::epoll::EpollCreateFlags::empty()).expect("epoll");
        for (i, l) in ls.iter().enumerate() {
            let l = l.as_ref().expect("listener");
            ep.add(
                l,
                nix::sys::epoll::EpollEvent::new(nix::sys::epoll::EpollFlags::EPOLLIN, i as u64),
            )
            .expect("add");
        }
        let mut evs = vec![nix::sys::epoll::EpollEvent::empty(); 1024];
        loop {
            while let Ok(p) = close.try_recv() {
                ls[(p - BASE) as usize] = None;
            }
            let n = ep.wait(&mut evs, 100u16).unwrap_or(0);
            for e in &evs[..n] {
                if let Some(Some(l)) = ls.get(e.data() as usize) {
                    while l.accept().is_ok() {}
                    let _ = l.as_raw_fd();
                }
            }
        }
    });
}

fn main() {
    keepalived_rs_tests::require_root();
    let _ = nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        1 << 16,
        1 << 16,
    );
    let ns = Arc::new(Netns::new("chk"));
    let (tx, rx) = channel();
    listeners(&ns, rx);
    let mut conf = String::from("global_defs {\n    router_id CHK\n}\nvirtual_server 10.1.0.1 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n");
    for i in 0..N {
        conf.push_str(&format!(
            "    real_server 127.0.0.1 {} {{\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n",
            BASE + i
        ));
    }
    conf.push_str("}\n");
    let mut s = Suite::spawn_in(ns.clone(), &conf, &[]).wait_started();
    let pid = s.child_pid("checkerd");
    // Every check has run at least once after delay_loop + warmup.
    std::thread::sleep(Duration::from_secs(3));
    let (t0, _) = proc::usage(&[pid]);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let (t1, rss) = proc::usage(&[pid]);
    let cpu = (t1 - t0) as f64 / 100.0 / start.elapsed().as_secs_f64() * 100.0;
    println!(
        "checkerd, {N} TCP_CHECKs at delay_loop 1: CPU {cpu:.1} % of one core, RSS {:.1} MiB",
        rss as f64 / 1024.0
    );
    let victim = BASE + 4242;
    let t = Instant::now();
    tx.send(victim).expect("close");
    s.log.wait_for_text(
        &format!("Removing service [127.0.0.1]:tcp:{victim}"),
        PROMPT,
    );
    println!(
        "listener down -> reported down: {:.0} ms (delay_loop 1 s, retry 0: at most one loop plus connect_timeout)",
        t.elapsed().as_secs_f64() * 1000.0
    );
}
