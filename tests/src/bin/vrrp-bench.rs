//! VRRP figures (a benchmark, not a test; run as root after building):
//! - failover time from a crash of the master to the VIP on the backup and
//!   to its first gratuitous ARP, against Master_Down_Interval, for VRRPv2
//!   (1 s adverts) and VRRPv3 (0.1 s);
//! - the same on the wire, side by side with Debian's keepalived 2.2.7:
//!   a pair of the same implementation, the master's whole process tree
//!   stopped and killed at once, and the time from its last advert to the
//!   backup's first gratuitous ARP (one tcpdump clock), over
//!   Master_Down_Interval; several rounds, min / median / max;
//! - CPU and RSS of a suite running 255 VRRPv3 instances at 0.1 s adverts,
//!   beside Debian's keepalived 2.2.7 on the same configuration;
//! - the backup's side (`vrrp-bench backup [ADVERT]`): 255 instances whose
//!   master is the other implementation, CPU of the backup and the drops
//!   its raw sockets count (/proc/net/raw{,6}), ours and keepalived's, and
//!   the floor under both: a process that only reads the same adverts;
//! - memory (`vrrp-bench memory`): RSS and PSS of each process of ours and
//!   of keepalived's, for one instance and for 255, and where ours go
//!   (binary, libraries, heap, stack, other anonymous mappings).
//!
//! `cargo run --release -p keepalived-rs-tests --bin vrrp-bench`

use keepalived_rs_tests::lan::{tcpdump, Keepalived, Lan, LineTap};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{proc, Netns, Suite};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn instance(vrid: u32, prio: u8, version: u8, advert: &str) -> String {
    format!(
        "vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_int {advert}\n    version {version}\n    \
         virtual_ipaddress {{\n        10.98.{}.{}/32\n    }}\n}}\n",
        vrid / 250,
        vrid % 250 + 1
    )
}

/// A LAN of a would-be master, a backup and an observer.
fn pair_lan() -> (Lan, Arc<Netns>, Arc<Netns>, Netns) {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    (lan, a, b, obs)
}

/// One instance, VRID 1, at `priority`.
fn one_instance(priority: u8, version: u8, advert: &str) -> String {
    format!(
        "global_defs {{\n    router_id B\n}}\n{}",
        instance(1, priority, version, advert)
    )
}

fn failover(version: u8, advert: &str, adv_secs: f64) {
    let (_lan, a, b, obs) = pair_lan();
    let conf = |p| one_instance(p, version, advert);
    let mut na = Suite::spawn_in(a.clone(), &conf(150), &[]).wait_started();
    let mut nb = Suite::spawn_in(b.clone(), &conf(100), &[]).wait_started();
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let mut arp = tcpdump(&obs, "arp");
    let mut mon = LineTap::spawn(
        Command::new("ip").args(["netns", "exec", &b.name, "ip", "monitor", "address"]),
    );
    std::thread::sleep(Duration::from_millis(300)); // let the watchers settle
    let t0 = Instant::now();
    na.crash();
    mon.wait_for_text("10.98.0.2", PROMPT);
    let vip = t0.elapsed();
    arp.wait_for("GARP", PROMPT, |l| {
        l.contains("who-has 10.98.0.2") && l.contains("tell 10.98.0.2")
    });
    let garp = t0.elapsed();
    // Master_Down_Interval = 3 x interval + skew, skew = (256 - 100)/256 x interval (v3) or s (v2).
    let skew = if version == 3 {
        156.0 / 256.0 * adv_secs
    } else {
        156.0 / 256.0
    };
    let mdi = 3.0 * adv_secs + skew;
    println!(
        "VRRPv{version} advert_int {advert}: Master_Down_Interval {:.1} ms (plus up to one interval since the last advert); \
         crash -> VIP on backup {:.1} ms, -> first gratuitous ARP {:.1} ms",
        mdi * 1000.0,
        vip.as_secs_f64() * 1000.0,
        garp.as_secs_f64() * 1000.0
    );
}

/// Stop, then kill, every process of `ns` at once: none of them sees
/// another die and cleans up (a crash of the whole daemon).
fn crash_ns(ns: &Netns) {
    let pids = ns.pids();
    for sig in [
        nix::sys::signal::Signal::SIGSTOP,
        nix::sys::signal::Signal::SIGKILL,
    ] {
        for &p in &pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
        }
    }
}

/// `wait` for each of instances 1..=n entering `state` (its log line).
fn each(n: u32, state: &str, mut wait: impl FnMut(&str)) {
    for v in 1..=n {
        wait(&format!("(VI_{v}) Entering {state} STATE"));
    }
}

/// Now, in the epoch seconds tcpdump -tt stamps lines with.
fn wall_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// The epoch seconds tcpdump -tt starts a line with.
fn stamp(line: &str) -> Option<f64> {
    line.split_whitespace().next()?.parse().ok()
}

/// One failover on the wire: ms from the master's last advert to the
/// backup's first gratuitous ARP, minus Master_Down_Interval; with
/// `clean`, the master is sent SIGTERM instead of crashing, and the figure
/// is from its priority-0 advert to the backup's first gratuitous ARP,
/// minus Skew_Time (RFC 3768/5798: a backup hearing priority 0 takes over
/// after Skew_Time).
fn wire_failover(ours: bool, version: u8, advert: &str, adv_secs: f64, clean: bool) -> f64 {
    let (_lan, a, b, obs) = pair_lan();
    let conf = |p| one_instance(p, version, advert);
    let mut tap = LineTap::spawn(Command::new("ip").args([
        "netns",
        "exec",
        &obs.name,
        "tcpdump",
        "-l",
        "-n",
        "-tt",
        "-i",
        "eth0",
        "vrrp or arp",
    ]));
    tap.wait_for_text("listening on", PROMPT);
    // Both of one implementation; B waits as BACKUP.
    let (mut sa, mut sb, mut ka, mut kb) = (None, None, None, None);
    if ours {
        let na = Suite::spawn_in(a.clone(), &conf(150), &[]).wait_started();
        let mut nb = Suite::spawn_in(b.clone(), &conf(100), &[]).wait_started();
        nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
        (sa, sb) = (Some(na), Some(nb));
    } else {
        ka = Some(Keepalived::start(&a, &conf(150)));
        let mut k = Keepalived::start(&b, &conf(100));
        k.out.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
        kb = Some(k);
    }
    let master = "10.99.0.11";
    // Adverts from the master are flowing; let a few pass.
    tap.wait_for("an advert", PROMPT, |l| {
        l.contains(&format!("{master} > 224.0.0.18"))
    });
    std::thread::sleep(Duration::from_secs_f64(adv_secs * 3.0 + 0.2));
    let t_crash = wall_secs();
    match (sa.as_mut(), clean) {
        (Some(suite), true) => suite.signal(nix::sys::signal::Signal::SIGTERM),
        (None, true) => {
            let parent = ka.as_ref().expect("keepalived").out.pid();
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(parent),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        // The suite's own crash: vrrpd killed outright, the parent stopped
        // first so it restarts nothing.
        (Some(suite), false) => suite.crash(),
        (None, false) => crash_ns(&a),
    }
    // (The master's own gratuitous ARPs at its start come before.)
    let garp = tap.wait_for(
        "the backup's gratuitous ARP",
        Duration::from_secs(15),
        |l| {
            l.contains("who-has 10.98.0.2")
                && l.contains("tell 10.98.0.2")
                && stamp(l).is_some_and(|t| t > t_crash)
        },
    );
    let t_garp = stamp(&garp).expect("tcpdump stamp");
    let adverts = || {
        tap.lines
            .iter()
            .filter(|l| l.contains(&format!("{master} > 224.0.0.18")))
    };
    let skew = if version == 3 {
        156.0 / 256.0 * adv_secs
    } else {
        156.0 / 256.0
    };
    let figure = if clean {
        // The master's first priority-0 advert (it sends more than one).
        let t_zero = adverts()
            .filter(|l| l.contains("prio 0,"))
            .filter_map(|l| stamp(l))
            .find(|t| *t > t_crash)
            .expect("the master's priority-0 advert");
        // (The master's own part: the signal sent -> its priority-0
        // advert on the wire, both on this host's clock.)
        TERM_TO_ZERO.with(|v| v.borrow_mut().push((t_zero - t_crash) * 1000.0));
        (t_garp - t_zero) - skew
    } else {
        // A priority-0 advert is a clean stop, not a crash: the backup then
        // waits Skew_Time only, which is not what is measured.
        assert!(
            !adverts().any(|l| l.contains("prio 0,")),
            "the master stopped cleanly instead of crashing"
        );
        let t_last = adverts()
            .filter_map(|l| stamp(l))
            .filter(|t| *t < t_garp)
            .fold(f64::MIN, f64::max);
        (t_garp - t_last) - (3.0 * adv_secs + skew)
    };
    drop((sa.take(), sb.take(), ka.take(), kb.take()));
    figure * 1000.0
}

thread_local! {
    /// SIGTERM sent -> the master's priority-0 advert, ms, per clean round.
    static TERM_TO_ZERO: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn spread(v: &mut [f64]) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "min {:+.2} median {:+.2} max {:+.2} ms",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

fn wire_failovers(rounds: usize) {
    for (version, advert, adv) in [(2u8, "1", 1.0), (3, "0.1", 0.1), (3, "0.05", 0.05)] {
        for ours in [true, false] {
            let mut v: Vec<f64> = (0..rounds)
                .map(|_| wire_failover(ours, version, advert, adv, false))
                .collect();
            println!(
                "wire, VRRPv{version} advert_int {advert}: last advert -> backup's first GARP, over Master_Down_Interval, {rounds} rounds: {}: {}",
                if ours { "keepalived-rs" } else { "keepalived 2.2.7" },
                spread(&mut v)
            );
        }
    }
    for (version, advert, adv) in [(2u8, "1", 1.0), (3, "0.1", 0.1)] {
        for ours in [true, false] {
            let mut v: Vec<f64> = (0..rounds)
                .map(|_| wire_failover(ours, version, advert, adv, true))
                .collect();
            let mut term = TERM_TO_ZERO.with(|t| std::mem::take(&mut *t.borrow_mut()));
            println!(
                "wire, VRRPv{version} advert_int {advert}: SIGTERM on the master, its priority-0 advert -> backup's first GARP, over Skew_Time, {rounds} rounds: {}: {}; SIGTERM -> the priority-0 advert: {}",
                if ours { "keepalived-rs" } else { "keepalived 2.2.7" },
                spread(&mut v),
                spread(&mut term).replace('+', "")
            );
        }
    }
}

/// The backup's takeover of all `n` instances after the master's crash,
/// on the backup's own interface (one tcpdump clock): for each instance,
/// from the master's last advert for it to the backup's first gratuitous
/// ARP for its VIP, minus Master_Down_Interval (backup priority 100).
/// A busy backup reads its adverts in batches: this is where dating them
/// by their arrival shows (read late and dated late, each takeover would
/// be late by as much).
fn takeover_all(a: &Netns, b: &Netns, n: u32, adv: f64) -> String {
    let mut tap = LineTap::spawn(Command::new("ip").args([
        "netns",
        "exec",
        &b.name,
        "tcpdump",
        "-l",
        "-n",
        "-tt",
        "-B",
        "32768",
        "-i",
        "eth0",
        "vrrp or arp",
    ]));
    tap.wait_for_text("listening on", PROMPT);
    tap.wait_for("an advert", PROMPT, |l| {
        l.contains("10.99.0.11 > 224.0.0.18")
    });
    let t_crash = wall_secs();
    crash_ns(a);
    let garp = |l: &str| l.contains("who-has 10.98.") && stamp(l).is_some_and(|t| t > t_crash);
    tap.wait_for(
        "the backup's gratuitous ARPs",
        Duration::from_secs(15),
        garp,
    );
    tap.collect_for(Duration::from_secs(1));
    let mut last = std::collections::HashMap::new();
    let mut first_garp = std::collections::HashMap::new();
    for l in &tap.lines {
        let Some(t) = stamp(l) else { continue };
        if l.contains("10.99.0.11 > 224.0.0.18") {
            let vrid = l
                .split("vrid ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .and_then(|v| v.parse::<u32>().ok());
            if let Some(v) = vrid {
                last.insert(v, t);
            }
        } else if garp(l) {
            let vip: Vec<u32> = l
                .split("who-has ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(|a| a.split('.').filter_map(|o| o.parse().ok()).collect())
                .unwrap_or_default();
            if let [10, 98, hi, lo] = vip[..] {
                first_garp.entry(hi * 250 + lo - 1).or_insert(t);
            }
        }
    }
    let mdi = 3.0 * adv + 156.0 / 256.0 * adv;
    let mut v: Vec<f64> = (1..=n)
        .filter_map(|vrid| Some((first_garp.get(&vrid)? - last.get(&vrid)? - mdi) * 1000.0))
        .collect();
    if v.is_empty() {
        return "no takeover seen".into();
    }
    let seen = v.len();
    format!("{} ({seen} of {n} instances)", spread(&mut v))
}

/// Packets the raw sockets of `ns` dropped (the last column of
/// /proc/net/raw and raw6).
fn raw_drops(ns: &Netns) -> u64 {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "cat",
            "/proc/net/raw",
            "/proc/net/raw6",
        ])
        .output()
        .expect("cat /proc/net/raw");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim_start().starts_with("sl"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// 255 VRRPv3 instances at `advert` whose master is the other
/// implementation: the backup's CPU and raw-socket drops over 20 s, ours
/// then keepalived's.
fn backup_side(advert: &str) {
    let n = 255;
    let conf = |p| {
        let mut c = String::from("global_defs {\n    router_id S\n}\n");
        for v in 1..=n {
            c.push_str(&instance(v, p, 3, advert));
        }
        c
    };
    let window = Duration::from_secs(20);
    for ours_backup in [true, false] {
        let mut lan = Lan::new();
        let a = Arc::new(lan.host(1));
        let b = Arc::new(lan.host(2));
        let (master_ka, master_rs, backup_ka, backup_rs);
        if ours_backup {
            master_ka = Some(Keepalived::start(&a, &conf(150)));
            master_rs = None;
            let mut s = Suite::spawn_in(b.clone(), &conf(100), &[]).wait_started();
            each(n, "BACKUP", |l| {
                s.log.wait_for_text(l, Duration::from_secs(60));
            });
            backup_rs = Some(s);
            backup_ka = None;
        } else {
            let mut s = Suite::spawn_in(a.clone(), &conf(150), &[]).wait_started();
            each(n, "MASTER", |l| {
                s.log.wait_for_text(l, Duration::from_secs(60));
            });
            master_rs = Some(s);
            master_ka = None;
            let mut k = Keepalived::start(&b, &conf(100));
            each(n, "BACKUP", |l| {
                k.out.wait_for_text(l, Duration::from_secs(60));
            });
            backup_ka = Some(k);
            backup_rs = None;
        }
        std::thread::sleep(Duration::from_secs(2));
        let d0 = raw_drops(&b);
        let rx = || {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &b.name,
                    "cat",
                    "/sys/class/net/eth0/statistics/rx_packets",
                ])
                .output()
                .expect("rx_packets");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
        };
        let rx0 = rx();
        // Every process of the backup's namespace: the whole daemon.
        let pids = || b.pids();
        let who = if ours_backup {
            "keepalived-rs"
        } else {
            "keepalived 2.2.7"
        };
        // Per process, over the same window as the total below.
        let ticks = |p: i32| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let f: Vec<u64> = s
                        .rsplit(')')
                        .next()?
                        .split_whitespace()
                        .skip(11)
                        .take(2)
                        .filter_map(|v| v.parse().ok())
                        .collect();
                    Some(f.iter().sum::<u64>())
                })
                .unwrap_or(0)
        };
        let before: Vec<(i32, u64)> = pids().into_iter().map(|p| (p, ticks(p))).collect();
        measure(
            &format!("{who}, backup of {n} VRRPv3 instances at {advert} s"),
            pids,
            window,
        );
        for (p, t0) in before {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            println!(
                "    {}: {:.1} %",
                comm.trim(),
                (ticks(p) - t0) as f64 / window.as_secs_f64()
            );
        }
        let drops = raw_drops(&b) - d0;
        let rate = (rx() - rx0) as f64 / window.as_secs_f64();
        let took_over = match (&backup_rs, &backup_ka) {
            (Some(s), _) => s
                .log
                .lines
                .iter()
                .filter(|l| l.contains("Entering MASTER"))
                .count(),
            (_, Some(k)) => k
                .out
                .lines
                .iter()
                .filter(|l| l.contains("Entering MASTER"))
                .count(),
            _ => 0,
        };
        println!(
            "{who}, backup: {rate:.0} packets/s received; raw-socket receive drops in {window:?}: {drops}; took over {took_over} time(s)"
        );
        let adv: f64 = advert.parse().unwrap_or(0.02);
        println!(
            "{who}, backup of {n}: the master crashed -> each instance's first GARP, over Master_Down_Interval: {}",
            takeover_all(&a, &b, n, adv)
        );
        drop((master_ka, master_rs, backup_ka, backup_rs));
    }
    // The floor: keepalived as the master again, and on the backup's side
    // only a reader of the same adverts (`read_floor`), for the same window.
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut k = Keepalived::start(&a, &conf(150));
    each(n, "MASTER", |l| {
        k.out.wait_for_text(l, Duration::from_secs(60));
    });
    let me = std::env::current_exe().expect("own path");
    let mut reader = Command::new("ip")
        .args(["netns", "exec", &b.name])
        .arg(me)
        .args(["read-floor", "eth0"])
        .spawn()
        .expect("start the floor reader");
    std::thread::sleep(Duration::from_secs(2));
    let d0 = raw_drops(&b);
    measure(
        &format!("floor (receive only, vrrpd's batching and hold-off), {n} VRRPv3 instances at {advert} s"),
        || b.pids(),
        window,
    );
    println!(
        "floor: raw-socket receive drops in {window:?}: {}",
        raw_drops(&b) - d0
    );
    let _ = reader.kill();
    let _ = reader.wait();
    k.stop();
}

/// `vrrp-bench read-floor IFACE` (run inside a namespace by `backup_side`):
/// the least any VRRP backup must do — every advert read off a raw socket
/// of protocol 112 joined to 224.0.0.18 on IFACE, nothing done with it —
/// woken and batched the way vrrpd is (`recvmmsg` of 32, at most 64 a
/// wake-up, then a 4 ms hold-off while packets keep coming). Its CPU is the
/// floor under the busy backup's figure: the receive path of the kernel
/// and the wake-ups, without a VRRP implementation.
fn read_floor(ifname: &str) -> ! {
    use std::ffi::CString;
    let name = CString::new(ifname).expect("interface name");
    // SAFETY: plain socket calls on buffers owned here for the process's life.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, 112);
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        let ifindex = libc::if_nametoindex(name.as_ptr());
        assert!(ifindex > 0, "no interface {ifname}");
        let r = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr().cast(),
            name.as_bytes_with_nul().len() as libc::socklen_t,
        );
        assert_eq!(r, 0, "SO_BINDTODEVICE: {}", std::io::Error::last_os_error());
        let mreq = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from_ne_bytes([224, 0, 0, 18]),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifindex as i32,
        };
        let r = libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_ADD_MEMBERSHIP,
            (&mreq as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        );
        assert_eq!(
            r,
            0,
            "IP_ADD_MEMBERSHIP: {}",
            std::io::Error::last_os_error()
        );
        const BATCH: usize = 32;
        let mut bufs = vec![[0u8; 2048]; BATCH];
        let mut iov: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = iov
            .iter_mut()
            .map(|v| {
                let mut m: libc::mmsghdr = std::mem::zeroed();
                m.msg_hdr.msg_iov = v;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            libc::poll(&mut pfd, 1, -1);
            let mut got = 0;
            while got < 2 * BATCH {
                let n = libc::recvmmsg(
                    fd,
                    msgs.as_mut_ptr(),
                    BATCH as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                );
                if n <= 0 {
                    break;
                }
                got += n as usize;
            }
            if got > 0 {
                std::thread::sleep(Duration::from_millis(4));
            }
        }
    }
}

fn measure(what: &str, pids: impl Fn() -> Vec<i32>, window: Duration) {
    let (cpu, rss) = proc::cpu_over(pids, window);
    println!(
        "{what}: CPU {cpu:.1} % of one core, RSS {:.1} MiB",
        rss as f64 / 1024.0
    );
}

fn scale() {
    let n = 255;
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    let conf = |p| {
        let mut c = String::from("global_defs {\n    router_id S\n}\n");
        for v in 1..=n {
            c.push_str(&instance(v, p, 3, "0.1"));
        }
        c
    };
    // The backup is keepalived itself; our suite is the master of all 255.
    let mut ka = Keepalived::start(&b, &conf(100));
    let mut na = Suite::spawn_in(a.clone(), &conf(150), &[]).wait_started();
    for v in 1..=n {
        na.log.wait_for_text(
            &format!("(VI_{v}) Entering MASTER STATE"),
            Duration::from_secs(60),
        );
    }
    let suite_pids = || {
        let mut p = vec![na.parent_pid()];
        for c in ["vrrpd", "checkerd", "ipvsd"] {
            p.push(na.child_pid(c));
        }
        p
    };
    std::thread::sleep(Duration::from_secs(2));
    measure(
        &format!("keepalived-rs, master of {n} VRRPv3 instances at 0.1 s"),
        suite_pids,
        Duration::from_secs(10),
    );
    let ka_pids = || {
        let out = Command::new("pgrep")
            .args(["-x", "keepalived"])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect::<Vec<i32>>()
    };
    measure(
        &format!("keepalived 2.2.7, backup of the same {n} instances"),
        ka_pids,
        Duration::from_secs(10),
    );
    let drops = ka
        .out
        .lines
        .iter()
        .filter(|l| l.contains("Entering MASTER"))
        .count();
    println!("keepalived backup took over {drops} time(s) while we were master");
    drop(na);
    // Now keepalived is the master of all 255 and we watch its cost.
    let c = Netns::new("idle");
    drop(c);
    ka.out.collect_for(Duration::from_secs(6));
    measure(
        &format!("keepalived 2.2.7, master of {n} VRRPv3 instances at 0.1 s"),
        ka_pids,
        Duration::from_secs(10),
    );
    ka.stop();
}

/// Kilobytes of each kind in /proc/PID/smaps: the sum of `field` (Rss,
/// Pss...) over the mappings of each class.
fn smaps(pid: i32, field: &str) -> std::collections::BTreeMap<&'static str, u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let mut by = std::collections::BTreeMap::new();
    let mut class = "anon";
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) {
            // A mapping's header: range perms offset dev inode [path].
            let path = f.nth(4).unwrap_or("");
            class = if path.is_empty() {
                "anon"
            } else if path == "[heap]" {
                "heap"
            } else if path == "[stack]" {
                "stack"
            } else if std::path::Path::new(path) == exe {
                "binary"
            } else if path.starts_with('[') {
                "kernel"
            } else {
                "libraries"
            };
        } else if first == format!("{field}:") {
            let kb: u64 = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            *by.entry(class).or_insert(0) += kb;
        }
    }
    by
}

/// Memory of one implementation's processes in `ns`, after it settled.
fn memory_of(who: &str, what: &str, ns: &Netns) {
    let mut total = (0, 0);
    let mut lines = Vec::new();
    for p in ns.pids() {
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        let (rss, pss) = (smaps(p, "Rss"), smaps(p, "Pss"));
        let (r, s): (u64, u64) = (rss.values().sum(), pss.values().sum());
        total = (total.0 + r, total.1 + s);
        let parts: Vec<String> = pss.iter().map(|(k, v)| format!("{k} {v}")).collect();
        lines.push(format!(
            "    {:<12} RSS {r:>6} kB  PSS {s:>6} kB  (PSS: {})",
            comm.trim(),
            parts.join(", ")
        ));
    }
    println!(
        "memory, {what}: {who}: RSS {:.1} MiB, PSS {:.1} MiB",
        total.0 as f64 / 1024.0,
        total.1 as f64 / 1024.0
    );
    for l in lines {
        println!("{l}");
    }
}

/// `vrrp-bench memory`: one instance, then 255, each implementation alone
/// in its namespace as the master.
fn memory() {
    for n in [1u32, 255] {
        let mut conf = String::from("global_defs {\n    router_id M\n}\n");
        for v in 1..=n {
            conf.push_str(&instance(v, 150, 3, "1"));
        }
        let what = format!("{n} instance(s)");
        {
            let mut lan = Lan::new();
            let a = Arc::new(lan.host(1));
            let mut s = Suite::spawn_in(a.clone(), &conf, &[]).wait_started();
            each(n, "MASTER", |l| {
                s.log.wait_for_text(l, Duration::from_secs(60));
            });
            std::thread::sleep(Duration::from_secs(3));
            memory_of("keepalived-rs", &what, &a);
        }
        {
            let mut lan = Lan::new();
            let b = lan.host(2);
            let mut k = Keepalived::start(&b, &conf);
            each(n, "MASTER", |l| {
                k.out.wait_for_text(l, Duration::from_secs(60));
            });
            std::thread::sleep(Duration::from_secs(3));
            memory_of("keepalived 2.2.7", &what, &b);
            k.stop();
        }
    }
}

fn main() {
    keepalived_rs_tests::require_root();
    if std::env::args().nth(1).as_deref() == Some("memory") {
        memory();
        return;
    }
    // `vrrp-bench wire [ROUNDS]`: the side-by-side failover on the wire only.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("read-floor") {
        read_floor(args.get(2).map_or("eth0", String::as_str));
    }
    if args.get(1).map(String::as_str) == Some("backup") {
        backup_side(args.get(2).map_or("0.02", String::as_str));
        return;
    }
    if args.get(1).map(String::as_str) == Some("scale") {
        scale();
        return;
    }
    if args.get(1).map(String::as_str) == Some("wire") {
        wire_failovers(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5));
        return;
    }
    wire_failovers(3);
    failover(2, "1", 1.0);
    failover(3, "0.1", 0.1);
    scale();
}
