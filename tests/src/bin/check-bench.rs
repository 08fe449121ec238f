//! Health-check figures (a benchmark, not a test; run as root):
//! CPU and RSS of checkerd running 10,000 TCP_CHECKs at `delay_loop 1`
//! against local listeners, and the delay from a listener going down to
//! checkerd reporting it; then the floor under it (`connect-floor`: the
//! same connects and closes, nothing else).
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

/// `check-bench connect-floor N BASE` (run by tests/vm/check-bench.sh and
/// by `main` below): the least a TCP_CHECK can cost — each of N ports on
/// 127.0.0.1 from BASE connected to once a second, without blocking
/// (socket, connect, wait for writable, peer address, close: the system
/// calls of checkerd's TCP_CHECK), nothing else: no scheduling, no
/// verdicts, no reports. Its CPU is the floor under a checker's figure.
fn connect_floor(n: u16, base: u16) -> ! {
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    use nix::sys::socket::{
        connect, getpeername, socket, AddressFamily, SockFlag, SockType, SockaddrIn,
    };
    let ep = Epoll::new(EpollCreateFlags::empty()).expect("epoll");
    let mut open: std::collections::HashMap<u64, std::os::fd::OwnedFd> = Default::default();
    let mut events = vec![EpollEvent::empty(); 256];
    let start = Instant::now();
    let mut round = 0u64;
    loop {
        // A tenth of the ports every 100 ms: each once a second, spread.
        let slice = round % 10;
        for i in (0..n).filter(|i| u64::from(*i) % 10 == slice) {
            let Ok(fd) = socket(
                AddressFamily::Inet,
                SockType::Stream,
                SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                None,
            ) else {
                continue;
            };
            let to = SockaddrIn::new(127, 0, 0, 1, base + i);
            match connect(fd.as_raw_fd(), &to) {
                Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {
                    let key = fd.as_raw_fd() as u64;
                    if ep
                        .add(&fd, EpollEvent::new(EpollFlags::EPOLLOUT, key))
                        .is_ok()
                    {
                        open.insert(key, fd);
                    }
                }
                Err(_) => {}
            }
        }
        round += 1;
        let next = start + Duration::from_millis(100) * round as u32;
        while let Some(left) = next.checked_duration_since(Instant::now()) {
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(100);
            let got = ep.wait(&mut events, EpollTimeout::from(ms)).unwrap_or(0);
            for e in &events[..got] {
                if let Some(fd) = open.remove(&e.data()) {
                    let _ = getpeername::<SockaddrIn>(fd.as_raw_fd());
                    drop(fd);
                }
            }
        }
    }
}

fn main() {
    let _ = nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        1 << 16,
        1 << 16,
    );
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("connect-floor") {
        let arg = |i: usize, d: u16| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
        connect_floor(arg(2, N), arg(3, BASE));
    }
    keepalived_rs_tests::require_root();
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
    let (cpu, rss) = proc::cpu_over(|| vec![pid], Duration::from_secs(10));
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
    drop(s);
    // The floor, against the same listeners once the suite is gone.
    let me = std::env::current_exe().expect("own path");
    let mut floor = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(me)
        .args(["connect-floor", &N.to_string(), &BASE.to_string()])
        .spawn()
        .expect("start the floor");
    std::thread::sleep(Duration::from_secs(2));
    let pids: Vec<i32> = ns
        .pids()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "check-bench")
        })
        .collect();
    let (cpu, _) = proc::cpu_over(|| pids.clone(), Duration::from_secs(10));
    println!(
        "floor (connect, wait, peer address, close; nothing else), {N} ports once a second: CPU {cpu:.1} % of one core"
    );
    let _ = floor.kill();
    let _ = floor.wait();
}
