//! VRRP between keepalived-rs nodes on one switched segment, in network
//! namespaces: elections, failover, handover, preemption, unicast, VRRPv3,
//! IPv6, interface tracking, sync groups. Each asserts who holds the VIP
//! and that a gratuitous ARP (or unsolicited NA) went out.

use keepalived_rs_tests::lan::{holds, tcpdump, Lan};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use std::sync::Arc;
use std::time::Duration;

const VIP: &str = "10.99.0.100/24";

/// One vrrp_instance VI_1 on eth0 with `extra` lines inside it.
fn conf(prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id N{prio}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass kars\n    }}\n    \
         virtual_ipaddress {{\n        {VIP}\n    }}\n{extra}}}\n"
    )
}

/// `extra` and the unicast lines of an instance at 10.99.0.`me` whose one
/// peer is 10.99.0.`peer` (which may carry `min_ttl`/`max_ttl` after it).
fn unicast(me: u8, peer: &str, extra: &str) -> String {
    format!(
        "    unicast_src_ip 10.99.0.{me}\n{extra}    unicast_peer {{\n        10.99.0.{peer}\n    }}\n"
    )
}

/// An instance text without its authentication block (VRRPv3 has none).
fn without_auth(text: &str) -> String {
    text.replace(
        "    authentication {\n        auth_type PASS\n        auth_pass kars\n    }\n",
        "",
    )
}

fn start(ns: &Arc<Netns>, config: &str) -> Suite {
    Suite::spawn_in(ns.clone(), config, &[]).wait_started()
}

/// a (150) master and b (100) backup on one LAN, settled.
fn settled_pair() -> (Lan, Arc<Netns>, Arc<Netns>, Suite, Suite) {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = start(&a, &conf(150, ""));
    let mut nb = start(&b, &conf(100, ""));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    (lan, a, b, na, nb)
}

fn garp_from(line: &str) -> bool {
    line.contains("Request who-has 10.99.0.100") && line.contains("tell 10.99.0.100")
}

#[test]
fn failover_on_crash_then_preemption_back() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let mut arp = tcpdump(&obs, "arp");
    let mut na = start(&a, &conf(150, ""));
    let mut nb = start(&b, &conf(100, ""));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    arp.wait_for("a's gratuitous ARP", PROMPT, garp_from);

    na.crash();
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP));
    let b_mac = mac_of(&b);
    arp.wait_for("b's gratuitous ARP", PROMPT, |l| {
        garp_from(l) && l.contains(&b_mac)
    });

    // a comes back with its higher priority and takes over again.
    a.ip(&["addr", "del", VIP, "dev", "eth0"]); // what a crashed host leaves behind
    let mut na = start(&a, &conf(150, ""));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    let a_mac = mac_of(&a);
    arp.wait_for("a's gratuitous ARP again", PROMPT, |l| {
        garp_from(l) && l.contains(&a_mac)
    });
}

fn mac_of(ns: &Netns) -> String {
    let out = ns.ip(&["-o", "link", "show", "eth0"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let i = text.find("link/ether ").expect("mac") + 11;
    text[i..i + 17].to_string()
}

#[test]
fn graceful_handover_on_sigterm_with_priority_zero() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let mut vrrp = tcpdump(&obs, "ip proto 112");
    let mut na = start(&a, &conf(150, ""));
    let mut nb = start(&b, &conf(100, ""));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(na.stop().success());
    vrrp.wait_for("a priority-0 advert", PROMPT, |l| {
        l.contains("10.99.0.11 > 224.0.0.18") && l.contains("prio 0")
    });
    nb.log
        .wait_for_text("(VI_1) Backup received priority 0 advertisement", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP));
    assert!(!holds(&a, VIP), "a stopped but kept the VIP");
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut nb = start(&b, &conf(100, ""));
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut na = start(&a, &conf(150, "    nopreempt\n"));
    na.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    // Longer than a's Master_Down_Interval (3 x 1 s + skew): a must stay backup.
    na.log.drain_for(Duration::from_secs(5));
    assert_eq!(
        na.log.count("Entering MASTER STATE"),
        0,
        "{:#?}",
        na.log.lines
    );
    assert!(holds(&b, VIP) && !holds(&a, VIP));
}

#[test]
fn preempt_delay_postpones_the_takeover() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut nb = start(&b, &conf(100, ""));
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut na = start(&a, &conf(150, "    preempt_delay 2\n"));
    na.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let started = std::time::Instant::now();
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    // Not a timing test (the library tests the exact instant): only that
    // the delay was not skipped.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "preempted after {:?}",
        started.elapsed()
    );
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP));
}

#[test]
fn unicast_peers_elect_without_multicast() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    // The switch does not flood unicast: watch on the peer itself.
    let mut vrrp = tcpdump(&b, "ip proto 112");
    let mut na = start(&a, &conf(150, &unicast(11, "12", "")));
    let mut nb = start(&b, &conf(100, &unicast(12, "11", "")));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    vrrp.wait_for("a unicast advert", PROMPT, |l| {
        l.contains("10.99.0.11 > 10.99.0.12")
    });
    assert!(
        vrrp.pending()
            .iter()
            .chain(vrrp.lines.iter())
            .all(|l| !l.contains("224.0.0.18")),
        "multicast seen"
    );
    na.crash();
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP));
}

/// `unicast_ttl 64`: adverts to the unicast peer leave with TTL 64 (the
/// filter matches only those); before, always 255.
#[test]
fn unicast_ttl_sets_the_adverts_ttl() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut ttl64 = tcpdump(&b, "ip proto 112 and ip[8] = 64");
    let ttl = "    unicast_ttl 64\n";
    let mut na = start(&a, &conf(150, &unicast(11, "12", ttl)));
    let mut nb = start(&b, &conf(100, &unicast(12, "11", ttl)));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    ttl64.wait_for("a unicast advert with TTL 64", PROMPT, |l| {
        l.contains("10.99.0.11 > 10.99.0.12")
    });
    drop((na, nb));
    // IPv6 (VRRPv3): the hop limit, set per packet.
    let mut hops64 = tcpdump(&b, "ip6 proto 112 and ip6[7] = 64");
    let v6 = |p: u8, me: u8, peer: &str| {
        without_auth(&conf(
            p,
            &unicast(me, peer, ttl).replace("10.99.0.", "fd99::"),
        ))
        .replace("    state BACKUP\n", "    state BACKUP\n    version 3\n")
        .replace(VIP, "fd99::100/64")
    };
    let mut na = start(&a, &v6(150, 11, "12"));
    let mut nb = start(&b, &v6(100, 12, "11"));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    hops64.wait_for("a unicast advert with hop limit 64", PROMPT, |l| {
        l.contains("fd99::11 > fd99::12")
    });
}

/// `unicast_peer { ADDR min_ttl 250 }`: the master's adverts arriving with
/// TTL 64 (its `unicast_ttl`) are dropped with keepalived's message, so the
/// backup takes over; before, the range was read and never applied.
#[test]
fn a_unicast_peers_ttl_range_is_enforced() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = start(&a, &conf(150, &unicast(11, "12", "    unicast_ttl 64\n")));
    let mut nb = start(&b, &conf(100, &unicast(12, "11 min_ttl 250", "")));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log
        .wait_for_text("(VI_1) TTL/HL 64 not in range 250 - 255", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
}

#[test]
fn vrrpv3_with_centisecond_adverts() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let mut vrrp = tcpdump(&obs, "ip proto 112");
    let v3 = "    version 3\n";
    let c = |p: u8| without_auth(&conf(p, v3).replace("advert_int 1", "advert_int 0.1"));
    let mut na = start(&a, &c(150));
    let mut nb = start(&b, &c(100));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    vrrp.wait_for("a VRRPv3 advert every 0.1 s", PROMPT, |l| {
        l.contains("VRRPv3") && l.contains("intvl 10cs")
    });
    na.crash();
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP));
}

#[test]
fn ipv6_with_vrrpv3_sends_neighbour_advertisements() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let mut icmp6 = tcpdump(&obs, "icmp6 or ip6 proto 112");
    let c = |p: u8| without_auth(&conf(p, "    version 3\n")).replace(VIP, "fd99::100/64");
    let mut na = start(&a, &c(150));
    let mut nb = start(&b, &c(100));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, "fd99::100/64"));
    icmp6.wait_for("an unsolicited NA for the VIP", PROMPT, |l| {
        l.contains("neighbor advertisement") && l.contains("fd99::100")
    });
    na.crash();
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, "fd99::100/64"));
}

/// A veth pair eth1/eth1p on `a`, and a suite there at priority 150 whose
/// VI_1 tracks eth1 (taking eth1p down takes eth1's carrier).
fn tracking_eth1(a: &Arc<Netns>) -> Suite {
    a.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ]);
    a.ip(&["link", "set", "eth1", "up"]);
    a.ip(&["link", "set", "eth1p", "up"]);
    start(
        a,
        &conf(150, "    track_interface {\n        eth1\n    }\n"),
    )
}

#[test]
fn tracked_interface_down_means_fault() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = tracking_eth1(&a);
    let mut nb = start(&b, &conf(100, ""));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    a.ip(&["link", "set", "eth1p", "down"]);
    na.log.wait_for_text("(VI_1) Entering FAULT STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP) && !holds(&a, VIP));
    a.ip(&["link", "set", "eth1p", "up"]);
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&a, VIP));
}

/// keepalived 2.2.7 watches the interface of a VIP with `dev` (unless
/// `no_track`): its carrier going is a fault, as for `track_interface`.
#[test]
fn a_vip_interface_down_means_fault_unless_no_track() {
    for no_track in [false, true] {
        let mut lan = Lan::new();
        let a = Arc::new(lan.host(1));
        a.ip(&[
            "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ]);
        a.ip(&["link", "set", "eth1", "up"]);
        a.ip(&["link", "set", "eth1p", "up"]);
        let opt = if no_track { " no_track" } else { "" };
        let mut text = conf(150, "").replace(
            &format!("        {VIP}\n"),
            &format!("        {VIP}\n        10.98.0.1/24 dev eth1{opt}\n"),
        );
        // A witness that tracks eth1: once it is in FAULT, vrrpd has seen
        // the carrier go.
        text.push_str(
            "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    \
             priority 150\n    advert_int 1\n    track_interface {\n        eth1\n    }\n    \
             virtual_ipaddress {\n        10.99.0.102/24\n    }\n}\n",
        );
        let mut na = start(&a, &text);
        na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
        a.ip(&["link", "set", "eth1p", "down"]);
        if no_track {
            na.log.wait_for_text("(VI_2) Entering FAULT STATE", PROMPT);
            assert_eq!(na.log.count("(VI_1) Entering FAULT STATE"), 0);
        } else {
            na.log.wait_for_all(
                &["(VI_1) Entering FAULT STATE", "(VI_2) Entering FAULT STATE"],
                PROMPT,
            );
            a.ip(&["link", "set", "eth1p", "up"]);
            na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
        }
    }
}

/// The link monitor overruns: vrrpd is stopped while 3,000 address changes
/// fill its netlink socket, then the tracked interface goes down behind
/// them (the kernel drops that announcement: the socket is full). Woken,
/// vrrpd reads ENOBUFS, drops the stale queue, re-reads the links and
/// finds the interface down; without the resync it would stay MASTER on a
/// dead link.
#[test]
fn a_monitor_overrun_is_resynced() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut na = tracking_eth1(&a);
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let vrrpd = Pid::from_raw(na.child_pid("vrrpd"));
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch");
    let mut cmds: String = (0..3000)
        .map(|i| format!("addr add 10.98.{}.{}/32 dev eth1p\n", i / 250, i % 250 + 1))
        .collect();
    cmds.push_str("link set eth1p down\n");
    std::fs::write(&batch, cmds).unwrap();
    kill(vrrpd, Signal::SIGSTOP).unwrap();
    a.ip(&["-batch", &batch.to_string_lossy()]);
    kill(vrrpd, Signal::SIGCONT).unwrap();
    na.log
        .wait_for_text("rtnetlink monitor: announcements lost (ENOBUFS)", PROMPT);
    na.log.wait_for_text("(VI_1) Entering FAULT STATE", PROMPT);
    assert!(!holds(&a, VIP));
}

/// `vrrp_startup_delay 2` and `down_timer_adverts 4` (advert_int 1,
/// priority 150, alone): the first takeover comes at 2 + 4 + 106/256 s
/// after the start (keepalived counts the down timer from the delay's
/// end); 3.41 s with neither, 4.41 s with only the adverts, 5.41 s with
/// only the delay.
#[test]
fn startup_delay_and_down_timer_adverts_hold_the_first_takeover() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let text = conf(150, "    down_timer_adverts 4\n").replace(
        "router_id N150\n",
        "router_id N150\n    vrrp_startup_delay 2\n",
    );
    let mut na = start(&a, &text);
    na.log
        .wait_for_text("Delaying startup for 2 seconds", PROMPT);
    let began = std::time::Instant::now();
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let took = began.elapsed();
    // The delay line comes at vrrpd's start, a few ms after the timers'.
    assert!(
        took >= Duration::from_millis(6200),
        "MASTER {took:?} after the delay began"
    );
}

/// `unicast_fault_no_peer` without any peer: FAULT for good, with
/// keepalived's message, where the instance would otherwise fall back to
/// multicast and become MASTER.
#[test]
fn unicast_fault_no_peer_without_peers_is_fault() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut na = start(&a, &conf(150, "    unicast_fault_no_peer\n"));
    na.log.wait_for_all(
        &[
            "(VI_1) Cannot use unicast without any peers - going to fault state",
            "(VI_1) Entering FAULT STATE",
        ],
        PROMPT,
    );
    assert_eq!(na.log.count("Entering MASTER STATE"), 0);
    assert!(!holds(&a, VIP));
}

/// `dont_track_primary`: the instance's own interface going down is not a
/// fault (keepalived does not track it); before, it entered FAULT.
#[test]
fn dont_track_primary_ignores_the_interface() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut na = start(&a, &conf(150, "    dont_track_primary\n"));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    a.ip(&["link", "set", "eth0", "down"]);
    na.log.wait_for_text("Netlink reports eth0 down", PROMPT);
    a.ip(&["link", "set", "eth0", "up"]);
    na.log.wait_for_text("Netlink reports eth0 up", PROMPT);
    assert_eq!(
        na.log.count("Entering FAULT STATE"),
        0,
        "{:#?}",
        na.log.lines
    );
}

#[test]
fn a_sync_group_moves_together() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    a.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ]);
    a.ip(&["link", "set", "eth1", "up"]);
    a.ip(&["link", "set", "eth1p", "up"]);
    let two = |prio: u8, track: &str| {
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n{}\
             vrrp_instance VI_2 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    priority {prio}\n    \
             advert_int 1\n{track}    virtual_ipaddress {{\n        10.99.0.200/24\n    }}\n}}\n",
            conf(prio, "")
        )
    };
    let mut na = start(
        &a,
        &two(150, "    track_interface {\n        eth1\n    }\n"),
    );
    let mut nb = start(&b, &two(100, ""));
    na.log.wait_for_all(
        &[
            "(VI_1) Entering MASTER STATE",
            "(VI_2) Entering MASTER STATE",
        ],
        PROMPT,
    );
    assert!(holds(&a, VIP) && holds(&a, "10.99.0.200/24"));
    // Only VI_2 tracks eth1, but VI_1 follows it.
    a.ip(&["link", "set", "eth1p", "down"]);
    nb.log.wait_for_all(
        &[
            "(VI_1) Entering MASTER STATE",
            "(VI_2) Entering MASTER STATE",
        ],
        PROMPT,
    );
    assert!(holds(&b, VIP) && holds(&b, "10.99.0.200/24"));
    assert!(!holds(&a, VIP) && !holds(&a, "10.99.0.200/24"));
}

#[test]
fn reload_keeps_the_master_and_its_addresses() {
    use keepalived_rs_tests::lan::LineTap;
    let (_lan, a, _b, mut na, mut nb) = settled_pair();
    let mut mon = LineTap::spawn(
        std::process::Command::new("ip")
            .args(["netns", "exec", &a.name, "ip", "monitor", "address"]),
    );
    keepalived_rs_tests::lan::monitor_ready(&a, &mut mon);
    // Same file, then one more VIP on both nodes (a VIP list that differs
    // between nodes makes adverts invalid, as in keepalived): the master
    // stays master, 10.99.0.100 is never removed, the new address appears.
    na.signal(nix::sys::signal::Signal::SIGHUP);
    na.log
        .wait_for_text("vrrpd applied configuration 2", PROMPT);
    let two = |p: u8| {
        conf(p, "").replace(
            "        10.99.0.100/24\n",
            "        10.99.0.100/24\n        10.99.0.101/24\n",
        )
    };
    std::fs::write(&nb.config, two(100)).unwrap();
    std::fs::write(&na.config, two(150)).unwrap();
    nb.signal(nix::sys::signal::Signal::SIGHUP);
    na.signal(nix::sys::signal::Signal::SIGHUP);
    na.log
        .wait_for_text("vrrpd applied configuration 3", PROMPT);
    nb.log
        .wait_for_text("vrrpd applied configuration 2", PROMPT);
    mon.wait_for_text("10.99.0.101", PROMPT);
    nb.log.drain_for(Duration::from_secs(4));
    assert!(holds(&a, VIP) && holds(&a, "10.99.0.101/24"));
    assert_eq!(
        nb.log.count("Entering MASTER STATE"),
        0,
        "the backup took over during a reload:\n{}\n---\n{}",
        na.log.lines.join("\n"),
        nb.log.lines.join("\n")
    );
    let changes: Vec<&String> = na
        .log
        .pending_lines()
        .iter()
        .filter(|l| l.contains("Entering"))
        .collect();
    assert!(changes.is_empty(), "state changes on reload: {changes:?}");
    mon.collect_for(Duration::from_millis(10));
    assert!(
        mon.lines
            .iter()
            .all(|l| !(l.starts_with("Deleted") && l.contains("10.99.0.100"))),
        "VIP removed during reload: {:#?}",
        mon.lines
    );
}

/// The parent SIGKILLed on a master: its children see it go (parent-death
/// SIGTERM) and leave as on a stop — vrrpd gives mastership away with
/// priority 0 and removes the VIP, so the backup takes over at once.
/// What is left behind is the parent's pid file and control socket; a
/// restart in the same place is not taken for a running daemon, cleans
/// them up, and takes mastership back.
#[test]
fn a_sigkilled_parent_leaves_nothing_a_restart_trips_on() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let (_lan, a, b, mut na, mut nb) = settled_pair();
    let children: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| na.child_pid(c))
        .collect();
    let started = std::time::Instant::now();
    kill(Pid::from_raw(na.parent_pid()), Signal::SIGKILL).unwrap();
    for pid in children {
        assert!(
            keepalived_rs_tests::proc::wait_gone(pid, PROMPT),
            "a child outlived its parent"
        );
    }
    // vrrpd left as on a stop: priority 0, so the backup does not wait
    // for Master_Down_Interval (3.6 s).
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the backup waited {:?}: no priority 0",
        started.elapsed()
    );
    assert!(!holds(&a, VIP), "the VIP was left on the killed master");
    assert!(holds(&b, VIP));
    let left: Vec<String> = std::fs::read_dir(na.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".pid"))
        .collect();
    eprintln!("left behind by a SIGKILLed parent: {left:?}");

    na.restart(&[]);
    na.log
        .wait_for_text("All children configured; starting", PROMPT);
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    assert!(na.stop().success());
    for f in ["parent.pid", "vrrp.pid", "checker.pid", "ipvs.pid"] {
        assert!(!na.path(f).exists(), "{f} left behind after a stop");
    }
}
