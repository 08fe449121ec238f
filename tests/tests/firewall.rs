//! `no_accept` / `vrrp_strict` as Debian's keepalived 2.2.7 makes them
//! work: a master without accept mode drops traffic to its virtual
//! addresses with nftables rules, in the same tables, sets and chains as
//! keepalived's (`nft list ruleset` compared line by line, on the master
//! and after it became backup); with `accept` the addresses answer and no
//! table exists; the tables go at stop; and a flushed ruleset comes back.

use keepalived_rs_tests::lan::{holds, Keepalived, Lan};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

const VIP4: &str = "10.99.0.100/24";
const VIP6: &str = "fd99::100/64";
const PORT: u16 = 7007;

fn conf(prio: u8, accept: bool) -> String {
    let accept = if accept { "    accept\n" } else { "" };
    let inst = |name: &str, vrid: u8, vips: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {vrid}\n    priority {prio}\n    advert_int 0.1\n{accept}    \
             virtual_ipaddress {{\n{vips}    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n    vrrp_strict\n    vrrp_version 3\n}}\n{}{}",
        inst(
            "VI_4",
            51,
            &format!("        {VIP4}\n        10.99.0.101/24\n")
        ),
        inst(
            "VI_6",
            52,
            &format!("        fe80::100/64\n        {VIP6}\n")
        ),
    )
}

/// The state's log line comes before the addresses: wait for them (the
/// kernel's view, polled, up to the usual prompt).
fn wait_holds(ns: &Netns, addrs: &[&str]) {
    let until = std::time::Instant::now() + PROMPT;
    while !addrs.iter().all(|a| holds(ns, a)) {
        assert!(std::time::Instant::now() < until, "{addrs:?} never came");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `nft list ruleset` in `ns`.
fn ruleset(ns: &Netns) -> String {
    String::from_utf8_lossy(&ns.exec(&["nft", "list", "ruleset"]).stdout).into_owned()
}

/// A TCP listener on every address of `ns` until the flag drops.
fn listen(ns: &Netns) -> Arc<AtomicBool> {
    let on = Arc::new(AtomicBool::new(true));
    let flag = on.clone();
    let (tx, rx) = channel();
    ns.thread(move || {
        let l = TcpListener::bind(("::", PORT)).expect("listen");
        l.set_nonblocking(true).unwrap();
        tx.send(()).unwrap();
        while flag.load(Ordering::Relaxed) {
            if l.accept().is_err() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    rx.recv().unwrap();
    on
}

/// Whether a TCP connection from `ns` to `addr` is answered within 1 s.
fn answers(ns: &Netns, addr: &str) -> bool {
    let ip: std::net::IpAddr = addr.split('/').next().unwrap().parse().unwrap();
    let (tx, rx) = channel();
    ns.thread(move || {
        let r = TcpStream::connect_timeout(&SocketAddr::new(ip, PORT), Duration::from_secs(1));
        tx.send(r.is_ok()).unwrap();
    })
    .join()
    .unwrap();
    rx.recv().unwrap()
}

/// What a run shows: the ruleset on the master, whether the VIPs and the
/// host's own address answer, the ruleset once a higher priority took
/// over, and after the daemon stopped.
#[derive(Debug, PartialEq)]
struct Seen {
    master_rules: String,
    vip4_answers: bool,
    vip6_answers: bool,
    own_answers: bool,
    backup_rules: String,
    stopped_rules: String,
}

/// Both instances reached `state`, in whatever order they logged it.
fn both(wait: impl FnMut(&dyn Fn(&str) -> bool) -> String, state: &str) {
    all(
        wait,
        vec![
            format!("(VI_4) Entering {state}"),
            format!("(VI_6) Entering {state}"),
        ],
    )
}

/// Every line of `left` was logged, in whatever order.
fn all(mut wait: impl FnMut(&dyn Fn(&str) -> bool) -> String, mut left: Vec<String>) {
    while !left.is_empty() {
        let line = wait(&|l: &str| left.iter().any(|w| l.contains(w.as_str())));
        left.retain(|w| !line.contains(w.as_str()));
    }
}

trait Daemon {
    fn wait_state(&mut self, state: &str);
    fn wait_lines(&mut self, lines: Vec<String>);
    fn stop(self);
}

impl Daemon for Suite {
    fn wait_state(&mut self, state: &str) {
        both(|p| self.log.wait_for(state, PROMPT, p), state);
    }
    fn wait_lines(&mut self, lines: Vec<String>) {
        all(|p| self.log.wait_for("lines", PROMPT, p), lines);
    }
    fn stop(mut self) {
        assert!(Suite::stop(&mut self).success());
    }
}

impl Daemon for Keepalived {
    fn wait_state(&mut self, state: &str) {
        both(|p| self.out.wait_for(state, PROMPT, p), state);
    }
    fn wait_lines(&mut self, lines: Vec<String>) {
        all(|p| self.out.wait_for("lines", PROMPT, p), lines);
    }
    fn stop(self) {
        Keepalived::stop(self)
    }
}

fn run<D: Daemon>(accept: bool, start: impl FnOnce(&Arc<Netns>, &str) -> D) -> Seen {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let client = lan.host(2);
    let peer = lan.host(3);
    let on = listen(&a);
    let mut d = start(&a, &conf(200, accept));
    d.wait_state("MASTER STATE");
    wait_holds(&a, &[VIP4, VIP6]);
    let master_rules = ruleset(&a);
    let seen_answers = (
        answers(&client, VIP4),
        answers(&client, VIP6),
        answers(&client, "10.99.0.11"),
    );
    // A higher priority takes over: the addresses leave the sets.
    let mut k = Keepalived::start(&peer, &conf(250, true));
    d.wait_state("BACKUP STATE");
    let backup_rules = ruleset(&a);
    k.out.wait_for_text("(VI_4) Entering MASTER STATE", PROMPT);
    d.stop();
    let stopped_rules = ruleset(&a);
    k.stop();
    on.store(false, Ordering::Relaxed);
    Seen {
        master_rules,
        vip4_answers: seen_answers.0,
        vip6_answers: seen_answers.1,
        own_answers: seen_answers.2,
        backup_rules,
        stopped_rules,
    }
}

fn ours(ns: &Arc<Netns>, conf: &str) -> Suite {
    Suite::spawn_in(ns.clone(), conf, &[]).wait_started()
}

fn theirs(ns: &Arc<Netns>, conf: &str) -> Keepalived {
    Keepalived::start(ns, conf)
}

#[test]
fn no_accept_master_drops_vip_traffic_with_keepalived_rules() {
    keepalived_rs_tests::require_root();
    let us = run(false, ours);
    let them = run(false, theirs);
    assert!(!us.vip4_answers && !us.vip6_answers, "{us:#?}");
    assert!(us.own_answers, "{us:#?}");
    assert!(us.master_rules.contains("ip daddr @vips drop"), "{us:#?}");
    assert!(
        us.master_rules.contains("10.99.0.100, 10.99.0.101"),
        "{us:#?}"
    );
    assert!(!us.backup_rules.contains("10.99.0.100"), "{us:#?}");
    assert!(us.backup_rules.contains("set vips {"), "{us:#?}");
    assert_eq!(us.stopped_rules, "");
    assert_eq!(
        us, them,
        "ours (left) and keepalived 2.2.7's (right) differ"
    );
}

#[test]
fn accept_master_answers_and_sets_no_rules_like_keepalived() {
    keepalived_rs_tests::require_root();
    let us = run(true, ours);
    let them = run(true, theirs);
    assert!(
        us.vip4_answers && us.vip6_answers && us.own_answers,
        "{us:#?}"
    );
    assert_eq!(us.master_rules, "");
    assert_eq!(
        us, them,
        "ours (left) and keepalived 2.2.7's (right) differ"
    );
}

/// Our no_accept master on host 1 (a listener there), a client on host 2.
fn no_accept_master() -> (Lan, Arc<Netns>, Netns, Arc<AtomicBool>, Suite) {
    keepalived_rs_tests::require_root();
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let client = lan.host(2);
    let on = listen(&a);
    let mut us = ours(&a, &conf(200, false));
    us.wait_state("MASTER STATE");
    wait_holds(&a, &[VIP4, VIP6]);
    (lan, a, client, on, us)
}

#[test]
fn a_flushed_ruleset_is_put_back() {
    let (_lan, a, client, on, mut us) = no_accept_master();
    let before = ruleset(&a);
    assert!(before.contains("10.99.0.100"), "{before}");
    // A firewall reload elsewhere on the host flushes everything.
    a.exec(&["nft", "flush", "ruleset"]);
    us.log.wait_for_text(
        "nftables table keepalived was changed by someone else",
        PROMPT,
    );
    assert_eq!(ruleset(&a), before);
    assert!(!answers(&client, VIP4));
    // Removing one rule is noticed too.
    a.exec(&["nft", "flush", "chain", "ip", "keepalived", "in"]);
    us.log.wait_for_text(
        "nftables table keepalived was changed by someone else",
        PROMPT,
    );
    assert_eq!(ruleset(&a), before);
    assert!(!answers(&client, VIP4));
    Daemon::stop(us);
    assert_eq!(ruleset(&a), "");
    on.store(false, Ordering::Relaxed);
}

/// A reload that gives the master `accept` empties the drop sets (the VIPs
/// answer at once, the instance keeps its state and addresses); one that
/// takes it away fills them again.
#[test]
fn a_reload_toggling_accept_applies_it() {
    let (_lan, a, client, on, us) = no_accept_master();
    assert!(!answers(&client, VIP4));
    let reload = |us: &Suite, text: String| {
        std::fs::write(&us.config, text).unwrap();
        let r = us.ctl(&["reload"]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stdout));
    };
    reload(&us, conf(200, true));
    assert!(!ruleset(&a).contains("10.99.0.100"), "{}", ruleset(&a));
    assert!(answers(&client, VIP4));
    reload(&us, conf(200, false));
    assert!(ruleset(&a).contains("10.99.0.100"), "{}", ruleset(&a));
    assert!(!answers(&client, VIP4));
    assert_eq!(
        us.log.count("Entering BACKUP STATE"),
        2,
        "the reloads moved the instances"
    );
    on.store(false, Ordering::Relaxed);
}

/// Three instances on VMACs or not: VI_4 (IPv4, `use_vmac`), VI_5 (IPv4,
/// no VMAC, `no_accept`: the vips part comes after the VMAC part), VI_6
/// (IPv6, `use_vmac`).
fn vmac_conf() -> String {
    "global_defs {\n    vrrp_version 3\n}\n\
     vrrp_instance VI_4 {\n    interface eth0\n    virtual_router_id 51\n    \
     priority 200\n    advert_int 0.1\n    use_vmac\n    \
     virtual_ipaddress {\n        10.99.0.100/24\n    }\n}\n\
     vrrp_instance VI_5 {\n    interface eth0\n    virtual_router_id 53\n    \
     priority 200\n    advert_int 0.1\n    no_accept\n    \
     virtual_ipaddress {\n        10.99.0.110/24\n    }\n}\n\
     vrrp_instance VI_6 {\n    interface eth0\n    virtual_router_id 52\n    \
     priority 200\n    advert_int 0.1\n    use_vmac\n    \
     virtual_ipaddress {\n        fe80::100/64\n        fd99::100/64\n    }\n}\n"
        .to_string()
}

/// What one daemon does with the VMAC instances: the ruleset while
/// they are masters, and the source MACs of the IGMP / MLD reports that
/// joining a group on each VMAC sends (the kernel sends every report a
/// few times; all are kept).
#[derive(Debug, PartialEq)]
struct VmacSeen {
    rules: String,
    /// IPv6 addresses on the IPv4 VMAC (none: no link-local address is
    /// made from the virtual MAC, which both routers share), and the
    /// link-local ones on the IPv6 VMAC besides the VIP (only the lower
    /// device's, which adverts are sent from).
    v6_on_vmac4: Vec<String>,
    link_local_on_vmac6: usize,
    report_macs: Vec<String>,
    stopped_rules: String,
}

fn vmac_run<D: Daemon>(start: impl FnOnce(&Arc<Netns>, &str) -> D) -> VmacSeen {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let obs = lan.host(2);
    let mut d = start(&a, &vmac_conf());
    d.wait_lines(
        ["VI_4", "VI_5", "VI_6"]
            .iter()
            .map(|n| format!("({n}) Entering MASTER STATE"))
            .collect(),
    );
    wait_holds(&a, &["10.99.0.110/24"]);
    let rules = ruleset(&a);
    let v6_of = |dev: &str| -> Vec<String> {
        let o = a.ip(&["-6", "-o", "addr", "show", "dev", dev]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
            .collect()
    };
    let v6_on_vmac4 = v6_of("vrrp.51");
    let link_local_on_vmac6 = v6_of("vrrp.52")
        .iter()
        .filter(|a| a.starts_with("fe80:") && *a != "fe80::100/64")
        .count();
    let mut cap = keepalived_rs_tests::lan::LineTap::spawn(
        std::process::Command::new("ip")
            .args([
                "netns", "exec", &obs.name, "tcpdump", "-l", "-n", "-e", "-v",
            ])
            .args(["-i", "eth0", "igmp or ip6 dst ff02::16"]),
    );
    cap.wait_for_text("listening on", PROMPT);
    // `autojoin`: the kernel joins the group on the VMAC and reports it.
    let join = |args: &[&str]| assert!(a.ip(args).status.success(), "{args:?}");
    join(&["addr", "add", "239.1.2.3/32", "dev", "vrrp.51", "autojoin"]);
    join(&[
        "-6",
        "addr",
        "add",
        "ff15::4242/128",
        "dev",
        "vrrp.52",
        "autojoin",
    ]);
    let mut left = vec!["gaddr 239.1.2.3", "gaddr ff15::4242"];
    while !left.is_empty() {
        let l = cap.wait_for("both reports", PROMPT, |l| {
            left.iter().any(|w| l.contains(w))
        });
        left.retain(|w| !l.contains(w));
    }
    d.stop();
    let stopped_rules = ruleset(&a);
    // (The observer's own reports, seen leaving it, are not host 1's.)
    let own = text_mac(&obs, "eth0");
    let mut report_macs: Vec<String> = cap
        .lines
        .iter()
        .filter(|l| l.contains("> 01:00:5e:00:00:16") || l.contains("> 33:33:00:00:00:16"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .filter(|m| *m != own)
        .collect();
    report_macs.sort();
    report_macs.dedup();
    // The base's MAC reads differently in each run: name it.
    let eth0 = text_mac(&a, "eth0");
    for m in &mut report_macs {
        if *m == eth0 {
            *m = "eth0".into();
        }
    }
    VmacSeen {
        rules,
        v6_on_vmac4,
        link_local_on_vmac6,
        report_macs,
        stopped_rules,
    }
}

fn text_mac(ns: &Netns, dev: &str) -> String {
    let o = ns.exec(&["cat", &format!("/sys/class/net/{dev}/address")]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `use_vmac` as keepalived 2.2.7 makes it (vrrp_vmac.c, vrrp_nftables.c):
/// even without `nftables` or `vrrp_strict`, the VMACs are put in a
/// `vmac_map`, and the kernel's IGMP / MLD reports from them leave from
/// the lower device with its MAC (a backup's switch would otherwise learn
/// the virtual MAC there); the ruleset reads the same under both daemons.
/// The VMACs get no IPv6 address made from the virtual MAC.
#[test]
fn vmac_reports_leave_from_the_lower_device_as_keepalived_makes_them() {
    keepalived_rs_tests::require_root();
    let us = vmac_run(ours);
    let them = vmac_run(theirs);
    assert!(
        us.rules
            .contains("dup to ip daddr device oif map @vmac_map drop"),
        "{us:#?}"
    );
    assert!(us.rules.contains("\"vrrp.52\" : \"eth0\""), "{us:#?}");
    assert!(us.rules.contains("ip saddr @vips drop"), "{us:#?}");
    assert_eq!(us.report_macs, ["eth0"], "{us:#?}");
    assert!(us.v6_on_vmac4.is_empty(), "{us:#?}");
    assert_eq!(us.link_local_on_vmac6, 1, "{us:#?}");
    assert_eq!(us.stopped_rules, "");
    assert_eq!(
        us, them,
        "ours (left) and keepalived 2.2.7's (right) differ"
    );
}
