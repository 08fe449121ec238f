//! VRRP figures (a benchmark, not a test; run as root after building):
//! - failover time from a crash of the master to the VIP on the backup and
//!   to its first gratuitous ARP, against Master_Down_Interval, for VRRPv2
//!   (1 s adverts) and VRRPv3 (0.1 s);
//! - CPU and RSS of a suite running 255 VRRPv3 instances at 0.1 s adverts,
//!   beside Debian's keepalived 2.2.7 on the same configuration.
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

fn failover(version: u8, advert: &str, adv_secs: f64) {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let conf = |p| {
        format!(
            "global_defs {{\n    router_id B\n}}\n{}",
            instance(1, p, version, advert)
        )
    };
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

fn measure(what: &str, pids: impl Fn() -> Vec<i32>, window: Duration) {
    let hz = 100.0; // USER_HZ
    let (t0, _) = proc::usage(&pids());
    let start = Instant::now();
    std::thread::sleep(window);
    let (t1, rss) = proc::usage(&pids());
    let cpu = (t1 - t0) as f64 / hz / start.elapsed().as_secs_f64() * 100.0;
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

fn main() {
    keepalived_rs_tests::require_root();
    failover(2, "1", 1.0);
    failover(3, "0.1", 0.1);
    scale();
}
