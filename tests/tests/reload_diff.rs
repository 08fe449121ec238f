//! A reload is a diff: what did not change is not touched. Five SIGHUPs of
//! an unchanged file on a master of two instances with a track script
//! (fall 3) and a virtual server: no address or route event, no gratuitous
//! ARP, no state change, and the script's rise/fall history intact (one
//! failure after the reloads leaves it up). keepalived 2.2.7 gives no
//! address event either; before this, every reload re-added every VIP.
//! A file that adds an instance changes nothing for the others.

use keepalived_rs_tests::lan::{self, Lan, LineTap};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{shared_dir, Suite};
use nix::sys::signal::Signal;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn instance(name: &str, vrid: u8, vip: &str, track: bool) -> String {
    let track = if track {
        "    track_script {\n        chk\n    }\n"
    } else {
        ""
    };
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority 150\n    advert_int 1\n    garp_master_delay 0\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{track}}}\n"
    )
}

fn conf(dir: &Path, extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id R\n}}\n\
         vrrp_script chk {{\n    script \"{d}/chk.sh\"\n    interval 1\n    fall 3\n    rise 1\n}}\n\
         {}{}{extra}\
         virtual_server 10.99.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 10.99.0.50 80 {{\n        MISC_CHECK {{\n            misc_path /bin/true\n        }}\n    }}\n}}\n",
        instance("VI_1", 51, "10.99.0.100", true),
        instance("VI_2", 52, "10.99.0.101", false),
        d = dir.display()
    )
}

/// Lines `tap` printed up to a sentinel we cause now (so everything the
/// kernel reported before it has been read).
fn until_sentinel(tap: &mut LineTap, cause: impl Fn(), sentinel: &str) -> Vec<String> {
    let start = tap.lines.len();
    cause();
    tap.wait_for_text(sentinel, PROMPT);
    tap.lines[start..]
        .iter()
        .filter(|l| !l.contains(sentinel))
        .cloned()
        .collect()
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let until = Instant::now() + PROMPT;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn unchanged_reloads_touch_nothing_and_a_new_instance_only_itself() {
    let dir = shared_dir();
    let d = dir.path();
    // Fails once each time the test puts a byte in `fail_once` (the
    // script, unprivileged, may empty the file but not remove it).
    std::fs::write(
        d.join("chk.sh"),
        format!(
            "#!/bin/sh\necho run >> {d}/runs\nif [ -s {d}/fail_once ]; then : > {d}/fail_once; exit 1; fi\nexit 0\n",
            d = d.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(d.join("chk.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(d.join("fail_once"), "").unwrap();
    std::fs::set_permissions(d.join("fail_once"), std::fs::Permissions::from_mode(0o666)).unwrap();

    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut s = Suite::spawn_in(a.clone(), &conf(d, ""), &[]).wait_started();
    s.log.wait_for_all(
        &[
            "(VI_1) Entering MASTER STATE",
            "(VI_2) Entering MASTER STATE",
            "VRRP_Script(chk) succeeded",
        ],
        PROMPT,
    );
    let mut mon = LineTap::spawn(Command::new("ip").args([
        "netns", "exec", &a.name, "ip", "monitor", "address", "route", "rule",
    ]));
    lan::monitor_ready(&a, &mut mon);
    let mut arp = lan::tcpdump(&a, "arp");
    let entering = s.log.count("Entering");
    let pids: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| s.child_pid(c))
        .collect();

    for generation in 2..=6 {
        s.signal(Signal::SIGHUP);
        s.log.wait_for_text(
            &format!("Configuration {generation} applied by every child"),
            PROMPT,
        );
    }
    // One failure of the track script after the reloads: fall 3 holds it.
    let before = runs(d);
    std::fs::write(d.join("fail_once"), "x").unwrap();
    wait_until("the failing run", || {
        std::fs::metadata(d.join("fail_once")).is_ok_and(|m| m.len() == 0)
    });
    // The run after it: the failure has been counted by now.
    let failed_at = runs(d);
    assert!(failed_at > before);
    wait_until("the run after the failure", || runs(d) > failed_at);

    let sentinel_addr = || {
        a.ip(&["addr", "add", "127.0.0.77/8", "dev", "lo"]);
    };
    let events: Vec<String> = until_sentinel(&mut mon, sentinel_addr, "127.0.0.77")
        .into_iter()
        .filter(|l| l.contains("10.99.") || l.contains("eth0"))
        .collect();
    assert!(
        events.is_empty(),
        "address/route/rule events during unchanged reloads: {events:#?}"
    );
    // An ARP request of our own (a datagram to an unknown neighbour) marks
    // the end of the capture.
    let ping = || {
        a.exec(&["bash", "-c", "echo > /dev/udp/10.99.0.77/9"]);
    };
    let garps = until_sentinel(&mut arp, ping, "10.99.0.77");
    assert!(
        garps.is_empty(),
        "gratuitous ARPs during unchanged reloads: {garps:#?}"
    );
    s.log.drain_for(Duration::from_millis(200));
    assert_eq!(
        s.log.count("Entering"),
        entering,
        "a state changed on reload"
    );
    assert_eq!(
        s.log.count("VRRP_Script(chk) failed"),
        0,
        "one failure after the reloads took the script down (history lost)"
    );
    assert!(s.log.count("2 instance(s) unchanged, 0 new or changed") >= 5);
    let now: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| s.child_pid(c))
        .collect();
    assert_eq!(pids, now, "a child restarted");

    // One instance more: only its address appears.
    std::fs::write(
        &s.config,
        conf(d, &instance("VI_3", 53, "10.99.0.102", false)),
    )
    .unwrap();
    s.signal(Signal::SIGHUP);
    s.log
        .wait_for_text("Configuration 7 applied by every child", PROMPT);
    s.log.wait_for_text("(VI_3) Entering MASTER STATE", PROMPT);
    mon.wait_for_text("10.99.0.102", PROMPT);
    let sentinel_addr2 = || {
        a.ip(&["addr", "add", "127.0.0.78/8", "dev", "lo"]);
    };
    let events = until_sentinel(&mut mon, sentinel_addr2, "127.0.0.78");
    assert!(
        events
            .iter()
            .all(|l| !l.contains("10.99.0.100") && !l.contains("10.99.0.101")),
        "adding VI_3 touched the other instances' addresses: {events:#?}"
    );
    let ping2 = || {
        a.exec(&["bash", "-c", "echo > /dev/udp/10.99.0.78/9"]);
    };
    let garps = until_sentinel(&mut arp, ping2, "10.99.0.78");
    assert!(
        garps
            .iter()
            .all(|l| !l.contains("10.99.0.100") && !l.contains("10.99.0.101")),
        "adding VI_3 sent gratuitous ARPs for the others: {garps:#?}"
    );
    assert!(
        garps.iter().any(|l| l.contains("10.99.0.102")),
        "VI_3's gratuitous ARP missing: {garps:#?}"
    );
    s.log.drain_for(Duration::from_millis(200));
    let vi3 = s.log.count("(VI_3) Entering");
    assert_eq!(s.log.count("Entering"), entering + vi3);
}
