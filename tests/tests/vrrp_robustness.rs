//! Hostile or broken traffic changes nothing, and a crashing vrrpd on the
//! master is invisible to the network.

use keepalived_rs_tests::lan::{holds, tcpdump, Lan, LineTap};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use keepalived_vrrp::packet::{encode, wrap_ipv4, Advert, ChecksumVariant};
use keepalived_vrrp::Version;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const VIP: &str = "10.99.0.100/24";

fn conf(prio: u8) -> String {
    format!(
        "global_defs {{\n    router_id N{prio}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass kars\n    }}\n    \
         virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
    )
}

fn start(ns: &Arc<Netns>, prio: u8) -> Suite {
    Suite::spawn_in(ns.clone(), &conf(prio), &[]).wait_started()
}

/// A master (a, 150) and a backup (b, 100) on one LAN, settled, and an
/// observer host.
struct Pair {
    _lan: Lan,
    a: Arc<Netns>,
    b: Arc<Netns>,
    obs: Netns,
    na: Suite,
    nb: Suite,
}

impl Pair {
    fn start(master: &str, backup: &str) -> Pair {
        let mut lan = Lan::new();
        let a = Arc::new(lan.host(1));
        let b = Arc::new(lan.host(2));
        let obs = lan.host(3);
        let mut na = Suite::spawn_in(a.clone(), master, &[]).wait_started();
        let mut nb = Suite::spawn_in(b.clone(), backup, &[]).wait_started();
        na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
        nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
        Pair {
            _lan: lan,
            a,
            b,
            obs,
            na,
            nb,
        }
    }
}

/// Neither node logged a state change since the pair settled.
fn assert_no_state_change(na: &Suite, nb: &Suite) {
    for (n, s) in [("a", na), ("b", nb)] {
        let changes: Vec<&String> = s
            .log
            .pending_lines()
            .iter()
            .filter(|l| l.contains("Entering"))
            .collect();
        assert!(changes.is_empty(), "{n} changed state: {changes:?}");
    }
}

/// A raw IP socket opened inside `ns` (from a thread that entered it).
fn raw_socket_in(ns: &Netns) -> OwnedFd {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::scope(|s| {
        s.spawn(|| {
            let f = std::fs::File::open(&path).expect("netns file");
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            // SAFETY: plain socket(2).
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, 112) };
            assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
            // SAFETY: fresh descriptor.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let one: libc::c_int = 1;
            // SAFETY: valid option pointer and length.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_HDRINCL,
                    (&one as *const i32).cast(),
                    4,
                );
            }
            // No multicast route in a fresh namespace: leave by eth0.
            let dev = b"eth0\0";
            // SAFETY: valid option pointer and length.
            let r = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_BINDTODEVICE,
                    dev.as_ptr().cast(),
                    5,
                )
            };
            assert_eq!(r, 0, "SO_BINDTODEVICE: {}", std::io::Error::last_os_error());
            fd
        })
        .join()
        .expect("thread")
    })
}

fn send(fd: &OwnedFd, pkt: &[u8], dst: Ipv4Addr) {
    // SAFETY: sockaddr_in built field by field.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sin.sin_family = libc::AF_INET as u16;
    sin.sin_addr.s_addr = u32::from(dst).to_be();
    // SAFETY: live buffer and address.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            pkt.as_ptr().cast(),
            pkt.len(),
            0,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    assert!(
        n >= 0,
        "sending a crafted packet: {}",
        std::io::Error::last_os_error()
    );
}

fn advert(prio: u8, pass: &[u8; 8]) -> Advert {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority: prio,
        adver_int: 1,
        auth_type: 1,
        auth_data: *pass,
        addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100))],
    }
}

/// Every kind of invalid advert, as (drop counter, IPv4 packet).
fn bad_packets(src: Ipv4Addr) -> Vec<(&'static str, Vec<u8>)> {
    let group = Ipv4Addr::new(224, 0, 0, 18);
    let good_pass = *b"kars\0\0\0\0";
    let v2 = |a: &Advert| {
        encode(a, IpAddr::V4(src), IpAddr::V4(group), ChecksumVariant::V2).expect("encode")
    };
    let pkt = |payload: &[u8]| wrap_ipv4(src, group, payload);
    let mut out = Vec::new();
    // TTL 254.
    let mut p = pkt(&v2(&advert(200, &good_pass)));
    p[8] = 254;
    out.push(("bad-ttl", p));
    // Checksum broken.
    let mut m = v2(&advert(200, &good_pass));
    m[6] ^= 0xff;
    out.push(("bad-checksum", pkt(&m)));
    // Version 4.
    let mut m = v2(&advert(200, &good_pass));
    m[0] = 0x41;
    out.push(("bad-version", pkt(&m)));
    // Wrong password.
    out.push(("auth-failure", pkt(&v2(&advert(200, b"wrong\0\0\0")))));
    // A stranger claiming to be the owner, with the wrong password.
    out.push(("auth-failure", pkt(&v2(&advert(255, b"hacker\0\0")))));
    // Interval 3 s where we run 1 s (VRRPv2 refuses).
    let mut a = advert(200, &good_pass);
    a.adver_int = 3;
    out.push(("interval-mismatch", pkt(&v2(&a))));
    // A VRID nobody here runs.
    let mut a = advert(200, &good_pass);
    a.vrid = 52;
    out.push(("unknown-vrid", pkt(&v2(&a))));
    // Truncated to 6 bytes.
    out.push(("too-short", pkt(&v2(&advert(200, &good_pass))[..6])));
    // Another address list.
    let mut a = advert(200, &good_pass);
    a.addrs = vec![IpAddr::V4(Ipv4Addr::new(10, 99, 0, 222))];
    out.push(("addr-list-mismatch", pkt(&v2(&a))));
    out
}

/// A stream of every invalid advert at 10 per second for longer than the
/// backup's Master_Down_Interval (3 s + skew) changes nobody's state, keeps
/// the master advertising, and is counted by cause.
#[test]
fn invalid_adverts_change_nothing_and_are_counted() {
    let Pair {
        _lan,
        a,
        b,
        obs,
        mut na,
        mut nb,
    } = Pair::start(&conf(150), &conf(100));
    let mut vrrp = tcpdump(&obs, "ip proto 112 and src host 10.99.0.11");
    let fd = raw_socket_in(&obs);
    let bad = bad_packets(Ipv4Addr::new(10, 99, 0, 13));
    let began = Instant::now();
    // 6 s, longer than Master_Down_Interval; 10 bad packets a second in all.
    let mut sent = 0;
    while began.elapsed() < Duration::from_secs(6) {
        let (_, p) = &bad[sent % bad.len()];
        send(&fd, p, Ipv4Addr::new(224, 0, 0, 18));
        sent += 1;
        std::thread::sleep(Duration::from_millis(100)); // the stream's own pace
    }
    vrrp.collect_for(Duration::from_millis(10));
    let adverts = vrrp.lines.iter().filter(|l| l.contains("prio 150")).count();
    assert!(
        adverts >= 5,
        "the master's adverts stopped: {adverts} in 6 s\n{:#?}",
        vrrp.lines
    );
    assert_no_state_change(&na, &nb);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    // Both count every cause.
    for (n, s) in [("a", &mut na), ("b", &mut nb)] {
        s.signal(Signal::SIGUSR2);
        s.log.wait_for_text("Wrote /tmp/keepalived.stats", PROMPT);
        let stats = std::fs::read_to_string("/tmp/keepalived.stats").unwrap();
        for (cause, _) in bad.iter().filter(|(c, _)| *c != "unknown-vrid") {
            assert!(
                stats.contains(&format!("     {cause}: ")),
                "{n}: no {cause} counter in\n{stats}"
            );
        }
        assert!(
            !stats.contains("Packets for unknown VRIDs: 0"),
            "{n}: unknown VRID not counted\n{stats}"
        );
    }
}

/// SIGKILL vrrpd on the master 20 times: it comes back as master within
/// milliseconds, the backup never takes over and the VIP is never removed.
#[test]
fn killing_vrrpd_on_the_master_is_invisible() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = start(&a, 150);
    let mut nb = start(&b, 100);
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let mut mon = LineTap::spawn(
        Command::new("ip").args(["netns", "exec", &a.name, "ip", "monitor", "address"]),
    );
    keepalived_rs_tests::lan::monitor_ready(&a, &mut mon);
    // The master's addresses are in place before the first kill.
    let until = Instant::now() + PROMPT;
    while !holds(&a, VIP) {
        assert!(Instant::now() < until, "the master never added its VIP");
        std::thread::yield_now();
    }
    for round in 0..20 {
        let victim = na.child_pid("vrrpd");
        kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
        na.log
            .wait_for(&format!("vrrpd back, round {round}"), PROMPT, |l| {
                l.contains("vrrpd (pid ")
                    && l.contains(") ready")
                    && !l.contains(&format!("pid {victim})"))
            });
        na.log
            .wait_for_text("(VI_1) resuming in MASTER state", PROMPT);
    }
    // One more Master_Down_Interval for the backup to (wrongly) react.
    nb.log.drain_for(Duration::from_secs(4));
    mon.collect_for(Duration::from_millis(10));
    assert_eq!(
        nb.log.count("Entering MASTER STATE"),
        0,
        "the backup took over"
    );
    assert!(
        mon.lines
            .iter()
            .all(|l| !(l.starts_with("Deleted") && l.contains("10.99.0.100"))),
        "VIP removed: {:#?}",
        mon.lines
    );
    assert!(holds(&a, VIP));
}

/// Floods at a master for longer than the backup's Master_Down_Interval,
/// as fast as one sender thread goes: junk VRIDs, the right VRID with a
/// broken checksum, and well-formed lower priority adverts. The master
/// keeps its rhythm (its receive loop has a budget, timers come first), the
/// backup never takes over, and the lower priority adverts get at most one
/// answer per advert interval (before: one per packet, an amplifier).
#[test]
fn floods_neither_silence_nor_amplify_the_master() {
    let Pair {
        _lan,
        a,
        b,
        obs,
        na,
        nb,
    } = Pair::start(&conf(150), &conf(100));
    let mut vrrp = tcpdump(&obs, "ip proto 112 and src host 10.99.0.11");
    let fd = raw_socket_in(&obs);
    let src = Ipv4Addr::new(10, 99, 0, 13);
    let group = Ipv4Addr::new(224, 0, 0, 18);
    let pass = *b"kars\0\0\0\0";
    let v2 = |a: &Advert| {
        encode(a, IpAddr::V4(src), IpAddr::V4(group), ChecksumVariant::V2).expect("encode")
    };
    let mut junk_vrid = advert(200, &pass);
    junk_vrid.vrid = 77;
    let mut bad_sum = v2(&advert(200, &pass));
    bad_sum[6] ^= 0xff;
    let flood = [
        wrap_ipv4(src, group, &v2(&junk_vrid)),
        wrap_ipv4(src, group, &bad_sum),
        wrap_ipv4(src, group, &v2(&advert(50, &pass))),
    ];
    // Receive moderation: a quiet receiver (an advert a second) is never
    // held back; a flooded one reads its queue once per window.
    assert_eq!(hold_offs(&na), 0, "a quiet master held its receive back");
    let began = Instant::now();
    let mut sent = 0u64;
    while began.elapsed() < Duration::from_secs(5) {
        for p in &flood {
            send(&fd, p, group);
        }
        sent += 3;
    }
    vrrp.collect_for(Duration::from_millis(10));
    let times = advert_times(&vrrp.lines, "prio 150");
    let ours = times.len();
    let gap = longest_silence(&times);
    eprintln!(
        "flood: {sent} packets in 5 s; the master sent {ours} adverts, \
         longest silence between two {gap:.1} ms (advert_int 1000 ms)"
    );
    assert!(gap < 1_500.0, "the master fell silent for {gap:.0} ms");
    assert!(ours >= 4, "the master went quiet: {ours} adverts in 5 s");
    // 5 regular adverts and at most 5 answers, whatever the flood.
    assert!(
        ours <= 12,
        "the master answered the flood: {ours} adverts in 5 s for {sent} packets"
    );
    assert_no_state_change(&na, &nb);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    let held = hold_offs(&na);
    assert!(held > 0, "a flooded master never moderated its receive");
    eprintln!("flood: the master's vrrpd waited out {held} receive windows");
}

/// The receive hold-offs the suite's children counted (the stats dump's
/// loop lines; only vrrpd moderates).
fn hold_offs(s: &Suite) -> u64 {
    let out = s.ctl(&["stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<u64> = text
        .lines()
        .filter(|l| l.contains(" Loop: "))
        .filter_map(|l| {
            let before = l.split(" receive hold-offs").next()?;
            before.rsplit(' ').next()?.parse().ok()
        })
        .collect();
    assert!(
        !counts.is_empty(),
        "no loop lines in the stats dump:\n{text}"
    );
    counts.iter().sum()
}

/// tcpdump's time stamps (seconds of the day) of the lines with `what`.
fn advert_times(lines: &[String], what: &str) -> Vec<f64> {
    lines
        .iter()
        .filter(|l| l.contains(what))
        .filter_map(|l| {
            let mut p = l.split_whitespace().next()?.split(':');
            let (h, m, s) = (p.next()?, p.next()?, p.next()?);
            Some(
                h.parse::<f64>().ok()? * 3600.0
                    + m.parse::<f64>().ok()? * 60.0
                    + s.parse::<f64>().ok()?,
            )
        })
        .collect()
}

/// The longest silence between two adverts, in ms (answers to lower
/// priority adverts re-arm the advert timer, so the rhythm is measured as
/// this, not as deviations from a fixed grid).
fn longest_silence(times: &[f64]) -> f64 {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]) * 1000.0)
        .fold(0.0, f64::max)
}

/// A raw IPv6 protocol-112 socket opened inside `ns`, sending to ff02::12
/// on eth0 with hop limit 255; with `kernel_sum` the kernel computes the
/// VRRP checksum (at offset 6) over the real pseudo-header.
fn raw6_socket_in(ns: &Netns, kernel_sum: bool) -> (OwnedFd, u32) {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::scope(|s| {
        s.spawn(|| {
            let f = std::fs::File::open(&path).expect("netns file");
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            // SAFETY: plain socket(2) and setsockopt(2) with valid pointers.
            unsafe {
                let fd = libc::socket(libc::AF_INET6, libc::SOCK_RAW, 112);
                assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
                let fd = OwnedFd::from_raw_fd(fd);
                let ifindex = libc::if_nametoindex(c"eth0".as_ptr());
                let set = |level, opt, v: libc::c_int| {
                    libc::setsockopt(fd.as_raw_fd(), level, opt, (&v as *const i32).cast(), 4)
                };
                set(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, ifindex as i32);
                set(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 255);
                if kernel_sum {
                    set(libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6);
                }
                (fd, ifindex)
            }
        })
        .join()
        .expect("thread")
    })
}

fn send6(fd: &OwnedFd, ifindex: u32, payload: &[u8]) {
    // SAFETY: sockaddr_in6 built field by field; live buffer.
    unsafe {
        let mut sin: libc::sockaddr_in6 = std::mem::zeroed();
        sin.sin6_family = libc::AF_INET6 as u16;
        sin.sin6_addr.s6_addr = keepalived_vrrp::packet::MCAST_GROUP_V6.octets();
        sin.sin6_scope_id = ifindex;
        libc::sendto(
            fd.as_raw_fd(),
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&sin as *const libc::sockaddr_in6).cast(),
            std::mem::size_of::<libc::sockaddr_in6>() as u32,
        );
    }
}

/// The same over IPv6 with VRRPv3: junk VRIDs, the right VRID with a broken
/// checksum, and lower priority adverts, flooded at the master. No
/// failover, no amplification, and the master's advert rhythm (its jitter
/// is printed) holds.
#[test]
fn ipv6_floods_neither_silence_nor_amplify_the_master() {
    let c = |p: u8| {
        conf(p)
            .replace("    advert_int 1\n", "    advert_int 1\n    version 3\n")
            .replace(VIP, "fd99::100/64")
            .replace(
                "    authentication {\n        auth_type PASS\n        auth_pass kars\n    }\n",
                "",
            )
    };
    let Pair {
        _lan,
        a,
        b,
        obs,
        na,
        nb,
    } = Pair::start(&c(150), &c(100));
    // Only what arrives: the flood leaves this host at 140,000 packets a
    // second, and capturing it too made the capture drop adverts (CI on
    // 69f1de1 saw a 2 s "silence" that was one lost capture).
    let mut vrrp = tcpdump(&obs, "ip6 proto 112 and inbound");
    let (good, ifindex) = raw6_socket_in(&obs, true);
    let (bad, _) = raw6_socket_in(&obs, false);
    let v3 = |vrid: u8, prio: u8| {
        let a = Advert {
            version: Version::V3,
            vrid,
            priority: prio,
            adver_int: 100,
            auth_type: 0,
            auth_data: [0; 8],
            addrs: vec![IpAddr::V6("fd99::100".parse().unwrap())],
        };
        // Checksummed over a made-up pseudo-header: the kernel recomputes it
        // for `good`; for `bad` it stays wrong.
        encode(
            &a,
            IpAddr::V6("fe80::1".parse().unwrap()),
            IpAddr::V6(keepalived_vrrp::packet::MCAST_GROUP_V6),
            ChecksumVariant::Ipv6PseudoHeader,
        )
        .expect("encode")
    };
    let (junk, lower, wrong_sum) = (v3(77, 200), v3(51, 50), v3(51, 200));
    // Receive moderation: a quiet receiver (an advert a second) is never
    // held back; a flooded one reads its queue once per window.
    assert_eq!(hold_offs(&na), 0, "a quiet master held its receive back");
    let began = Instant::now();
    let mut sent = 0u64;
    while began.elapsed() < Duration::from_secs(5) {
        send6(&good, ifindex, &junk);
        send6(&good, ifindex, &lower);
        send6(&bad, ifindex, &wrong_sum);
        sent += 3;
    }
    // (What tcpdump still has to print of the flood's last second.)
    vrrp.collect_for(Duration::from_millis(300));
    let times = advert_times(&vrrp.lines, "prio 150");
    let ours = times.len();
    let gap = longest_silence(&times);
    eprintln!(
        "IPv6 flood: {sent} packets in 5 s; the master sent {ours} adverts, \
         longest silence between two {gap:.1} ms (advert_int 1000 ms)"
    );
    assert!(gap < 1_500.0, "the master fell silent for {gap:.0} ms");
    assert!(ours >= 4, "the master went quiet: {ours} adverts in 5 s");
    assert!(ours <= 12, "the master answered the flood: {ours} adverts");
    assert_no_state_change(&na, &nb);
    assert!(holds(&a, "fd99::100/64") && !holds(&b, "fd99::100/64"));
}

/// The VRRP sockets of one namespace in `/proc/net/raw{,6}`: (bytes queued
/// for reading, packets dropped) of each.
fn vrrp_sockets(ns: &Netns) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for table in ["/proc/net/raw", "/proc/net/raw6"] {
        let text = String::from_utf8_lossy(&ns.exec(&["cat", table]).stdout).to_string();
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local_address is ADDR:PROTO, 0070 for protocol 112;
            // tx_queue:rx_queue in hex, drops last.
            if f.len() < 13 || !f[1].ends_with(":0070") {
                continue;
            }
            let rx = f[4]
                .split(':')
                .nth(1)
                .map_or(0, |q| u64::from_str_radix(q, 16).expect("rx_queue"));
            out.push((rx, f[f.len() - 1].parse().expect("drops")));
        }
    }
    out
}

/// A backup's send-only VRRP sockets are handed a copy of every advert by
/// the kernel; nobody reads them, so they used to fill and then drop each
/// one (536,304 drops in 40 s at 255 instances x 0.02 s). They refuse
/// every packet now (a drop-all socket filter): after several adverts,
/// nothing is queued beyond the one the receive socket may be reading and
/// nothing was dropped.
#[test]
fn send_only_vrrp_sockets_hold_no_adverts() {
    let p = Pair::start(&conf(150), &conf(100));
    let mut vrrp = tcpdump(&p.obs, "ip proto 112 and src host 10.99.0.11");
    for _ in 0..5 {
        vrrp.wait_for_text("VRRPv2", PROMPT);
    }
    let socks = vrrp_sockets(&p.b);
    assert!(socks.len() >= 2, "receive and send sockets: {socks:?}");
    let queued: u64 = socks.iter().map(|s| s.0).sum();
    let dropped: u64 = socks.iter().map(|s| s.1).sum();
    // One small packet's buffer is well under 1.5 KiB; five adverts queued
    // on a send socket are several times that.
    assert!(queued < 1500, "adverts held unread: {socks:?}");
    assert_eq!(dropped, 0, "{socks:?}");
    assert_no_state_change(&p.na, &p.nb);
}

/// A master that hears a lower priority runs `notify_master_rx_lower_pri`
/// without arguments, as keepalived (cloud failover scripts take their
/// secondary addresses back with it) — once per advert interval however
/// many such adverts come (keepalived: once per packet, a fork storm under
/// a flood). Before, the script was accepted and never run.
#[test]
fn a_master_hearing_a_lower_priority_runs_its_script() {
    use std::os::unix::fs::PermissionsExt;
    let dir = keepalived_rs_tests::shared_dir();
    let out = dir.path().join("rx.out");
    let script = dir.path().join("rx.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"ran with $# arguments\" >> {}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let obs = lan.host(3);
    let text = conf(150).replace(
        "    virtual_ipaddress {",
        &format!(
            "    notify_master_rx_lower_pri {}\n    virtual_ipaddress {{",
            script.display()
        ),
    );
    let mut na = Suite::spawn_in(a.clone(), &text, &[]).wait_started();
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let fd = raw_socket_in(&obs);
    let src = Ipv4Addr::new(10, 99, 0, 13);
    let group = Ipv4Addr::new(224, 0, 0, 18);
    let pass = *b"kars\0\0\0\0";
    let v2 = encode(
        &advert(50, &pass),
        IpAddr::V4(src),
        IpAddr::V4(group),
        ChecksumVariant::V2,
    )
    .expect("encode");
    let pkt = wrap_ipv4(src, group, &v2);
    for _ in 0..100 {
        send(&fd, &pkt, group);
    }
    na.log.wait_for_text(
        "Received advert from 10.99.0.13 with lower priority 50",
        PROMPT,
    );
    let ran = keepalived_rs_tests::wait_file(&out, "the script's output", |t| {
        t.contains("ran with 0 arguments")
    });
    // The 100 adverts came within one advert interval: one run.
    na.signal(Signal::SIGUSR1);
    na.log.wait_for_text("Wrote /tmp/keepalived.data", PROMPT);
    let ran_later = std::fs::read_to_string(&out).unwrap();
    assert_eq!(ran_later.lines().count(), 1, "{ran}{ran_later}");
}
