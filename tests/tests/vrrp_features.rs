//! VRRP features beyond the election, in network namespaces: `use_vmac`
//! (the virtual MAC on the wire and on a macvlan), `virtual_routes` and
//! `virtual_rules` following mastership, and a non-default multicast group
//! understood by keepalived 2.2.7.

use keepalived_rs_tests::lan::{tcpdump, Keepalived, Lan};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use std::sync::Arc;

const VMAC: &str = "00:00:5e:00:01:33";

fn start(ns: &Arc<Netns>, config: &str) -> Suite {
    Suite::spawn_in(ns.clone(), config, &[]).wait_started()
}

fn instance(prio: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        10.99.0.100/24\n    }}\n{extra}}}\n"
    )
}

/// A veth pair NAME / NAMEp in `ns`, both up (an extra interface).
fn veth(ns: &Netns, name: &str) {
    let peer = format!("{name}p");
    for args in [
        &["link", "add", name, "type", "veth", "peer", "name", &peer][..],
        &["link", "set", name, "up"],
        &["link", "set", &peer, "up"],
    ] {
        assert!(ns.ip(args).status.success(), "{args:?}");
    }
}

fn text(ns: &Netns, args: &[&str]) -> String {
    String::from_utf8_lossy(&ns.exec(args).stdout).to_string()
}

fn ip_text(ns: &Netns, args: &[&str]) -> String {
    String::from_utf8_lossy(&ns.ip(args).stdout).to_string()
}

/// `ip ARGS` in `ns` that may fail (an interface or table not there).
fn ip_soft(ns: &Netns, args: &[&str]) -> std::process::Output {
    std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "ip"])
        .args(args)
        .output()
        .expect("run ip")
}

#[test]
fn use_vmac_carries_the_virtual_mac() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let mut arp = tcpdump(&obs, "arp or ip proto 112");
    let mut na = start(&a, &instance(150, "    use_vmac\n"));
    let mut nb = start(&b, &instance(100, "    use_vmac\n"));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);

    // The macvlan exists on both nodes with the virtual MAC; the VIP is on
    // the master's.
    for ns in [&a, &b] {
        let link = ip_text(ns, &["-o", "-d", "link", "show", "vrrp.51"]);
        assert!(link.contains(&format!("link/ether {VMAC}")), "{link}");
        assert!(link.contains("macvlan mode private"), "{link}");
        assert!(link.contains("@eth0"), "{link}");
        let conf = |k: &str| {
            text(
                ns,
                &["cat", &format!("/proc/sys/net/ipv4/conf/vrrp.51/{k}")],
            )
            .trim()
            .to_string()
        };
        assert_eq!(conf("arp_ignore"), "1");
        assert_eq!(conf("arp_filter"), "1");
        assert_eq!(conf("accept_local"), "1");
        let lower = text(ns, &["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"]);
        assert_eq!(lower.trim(), "1", "eth0 must not answer ARP for the VIP");
    }
    let on_vmac = |ns: &Netns| {
        ip_text(ns, &["-o", "addr", "show", "dev", "vrrp.51"]).contains("inet 10.99.0.100/24")
    };
    assert!(on_vmac(&a) && !on_vmac(&b));
    // Adverts and the gratuitous ARPs carry the virtual MAC as source.
    arp.wait_for("an advert from the virtual MAC", PROMPT, |l| {
        l.starts_with(VMAC) || l.contains(&format!(" {VMAC} > 01:00:5e:00:00:12"))
    });
    arp.wait_for("a gratuitous ARP from the virtual MAC", PROMPT, |l| {
        l.contains(&format!("{VMAC} > ff:ff:ff:ff:ff:ff"))
            && l.contains("Request who-has 10.99.0.100")
            && l.contains("tell 10.99.0.100")
    });

    // Failover: the same MAC now answers from b.
    assert!(na.stop().success());
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(on_vmac(&b));
    // a removed its VMAC and gave eth0 its ARP settings back.
    assert!(
        !ip_soft(&a, &["link", "show", "vrrp.51"]).status.success(),
        "a stopped but left its VMAC"
    );
    let lower = text(&a, &["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"]);
    assert_eq!(lower.trim(), "0", "eth0's arp_ignore was not restored");
    arp.wait_for(
        "b's gratuitous ARP from the same virtual MAC",
        PROMPT,
        |l| {
            l.contains(&format!("{VMAC} > ff:ff:ff:ff:ff:ff"))
                && l.contains("Request who-has 10.99.0.100")
                && l.contains("tell 10.99.0.100")
        },
    );
}

const ROUTES: &str = "    virtual_routes {\n        10.200.0.0/16 via 10.99.0.1 dev eth0\n        \
     blackhole 10.201.0.0/16\n        10.202.0.0/16 dev eth0 table 100 metric 7\n    }\n    \
     virtual_rules {\n        from 10.99.0.100 table 100 priority 1000\n        to 10.203.0.0/16 table 100 priority 1001\n    }\n";

fn has_routes(ns: &Netns) -> (bool, bool, bool, bool) {
    let main = ip_text(ns, &["route", "show"]);
    let t100 = String::from_utf8_lossy(&ip_soft(ns, &["route", "show", "table", "100"]).stdout)
        .to_string();
    let rules = ip_text(ns, &["rule", "show"]);
    (
        main.contains("10.200.0.0/16 via 10.99.0.1 dev eth0"),
        main.contains("blackhole 10.201.0.0/16"),
        t100.contains("10.202.0.0/16 dev eth0") && t100.contains("metric 7"),
        rules.contains("1000:\tfrom 10.99.0.100 lookup 100")
            && rules.contains("1001:\tfrom all to 10.203.0.0/16 lookup 100"),
    )
}

#[test]
fn virtual_routes_and_rules_follow_mastership() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = start(&a, &instance(150, ROUTES));
    let mut nb = start(&b, &instance(100, ROUTES));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert_eq!(has_routes(&a), (true, true, true, true), "master a");
    assert_eq!(has_routes(&b), (false, false, false, false), "backup b");

    assert!(na.stop().success());
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert_eq!(has_routes(&b), (true, true, true, true), "new master b");
    assert_eq!(has_routes(&a), (false, false, false, false), "stopped a");
}

/// `vrrp_mcast_group4` with VRRPv3: the adverts go to that group and their
/// checksum (whose pseudo-header holds the destination) satisfies
/// keepalived 2.2.7 configured with the same group.
#[test]
fn a_non_default_multicast_group_with_keepalived() {
    let global = "global_defs {\n    vrrp_version 3\n    vrrp_mcast_group4 224.0.0.33\n}\n";
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    let obs = lan.host(3);
    let mut wire = tcpdump(&obs, "ip proto 112");
    let mut na = start(&a, &format!("{global}{}", instance(150, "")));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    wire.wait_for("an advert to 224.0.0.33", PROMPT, |l| {
        l.contains("10.99.0.11 > 224.0.0.33") && l.contains("VRRPv3")
    });
    let mut ka = Keepalived::start(&b, &format!("{global}{}", instance(100, "")));
    ka.out.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    // keepalived stays backup: it hears (and accepts) our adverts for longer
    // than its Master_Down_Interval.
    ka.out.collect_for(std::time::Duration::from_secs(5));
    assert!(
        !ka.out
            .lines
            .iter()
            .any(|l| l.contains("Entering MASTER STATE")),
        "keepalived took over: {:#?}",
        ka.out.lines
    );
    assert!(
        !ka.out.lines.iter().any(|l| l.contains("checksum")),
        "keepalived refused our checksum: {:#?}",
        ka.out.lines
    );
    ka.stop();
}

/// `vmac_xmit_base`: the VIP and its gratuitous ARPs keep the virtual MAC,
/// but adverts leave through the lower device with its own MAC.
#[test]
fn vmac_xmit_base_sends_adverts_from_the_lower_device() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let mut wire = tcpdump(&obs, "arp or ip proto 112");
    let extra = "    use_vmac\n    vmac_xmit_base\n";
    let mut na = start(&a, &instance(150, extra));
    let mut nb = start(&b, &instance(100, extra));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let link = ip_text(&a, &["-o", "link", "show", "eth0"]);
    let i = link.find("link/ether ").expect("mac") + 11;
    let a_mac = link[i..i + 17].to_string();
    wire.wait_for("a's advert from eth0's own MAC", PROMPT, |l| {
        l.starts_with(&a_mac) || l.contains(&format!(" {a_mac} > 01:00:5e:00:00:12"))
    });
    wire.wait_for("a gratuitous ARP from the virtual MAC", PROMPT, |l| {
        l.contains(&format!("{VMAC} > ff:ff:ff:ff:ff:ff")) && l.contains("tell 10.99.0.100")
    });
    assert!(ip_text(&a, &["-o", "addr", "show", "dev", "vrrp.51"]).contains("inet 10.99.0.100/24"));
    // b hears a's adverts (it stays backup past its Master_Down_Interval).
    nb.log.drain_for(std::time::Duration::from_secs(4));
    assert_eq!(
        nb.log.count("Entering MASTER STATE"),
        0,
        "{:#?}",
        nb.log.lines
    );
}

/// A vrrpd killed while its VMAC exists comes back, adopts the VMAC, and at
/// stop still restores the lower device's original ARP settings (the VMAC's
/// alias recorded them).
#[test]
fn a_restarted_vrrpd_restores_the_original_arp_settings() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut na = start(&a, &instance(150, "    use_vmac\n"));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let arp_ignore = || {
        text(&a, &["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"])
            .trim()
            .to_string()
    };
    assert_eq!(arp_ignore(), "1");
    let vrrpd = na.child_pid("vrrpd");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(vrrpd),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    na.log
        .wait_for_text("(VI_1) Resuming in MASTER STATE", PROMPT);
    assert_ne!(na.child_pid("vrrpd"), vrrpd);
    assert!(na.stop().success());
    assert_eq!(
        arp_ignore(),
        "0",
        "eth0's original arp_ignore was not restored"
    );
    assert!(!ip_soft(&a, &["link", "show", "vrrp.51"]).status.success());
}

/// `promote_secondaries`: vrrpd turns it on for the instance's interface
/// (removing a VIP that is its subnet's primary address then keeps the
/// other addresses) and back off at stop, as keepalived does; before, the
/// keyword was accepted and nothing was set.
#[test]
fn promote_secondaries_is_set_and_reset_at_stop() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let knob = "/proc/sys/net/ipv4/conf/eth0/promote_secondaries";
    a.exec(&["sh", "-c", &format!("echo 0 > {knob}")]);
    let read = |ns: &Netns| text(ns, &["cat", knob]).trim().to_string();
    assert_eq!(read(&a), "0");
    let mut na = start(&a, &instance(150, "    promote_secondaries\n"));
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert_eq!(read(&a), "1");
    assert!(na.stop().success());
    assert_eq!(read(&a), "0");
}

/// The address options keepalived 2.2.7 applies (vrrp_ipaddress.c): the
/// kernel shows the same addresses, flags and lifetimes whichever daemon
/// added them — a deprecated /128 (its default preferred_lft 0), a
/// preferred_lft, `noprefixroute`, `home`, `-nodad`, a `peer` address.
#[test]
fn vip_options_match_keepalived() {
    const VIPS: &str = "        10.99.0.100/24\n        10.99.0.200 peer 10.99.0.201\n        \
        10.99.0.210/24 noprefixroute\n    }\n    virtual_ipaddress_excluded {\n        \
        fd99::100/128\n        fd99::101/64 preferred_lft 3000 home mngtmpaddr\n        \
        fd99::102/64 -nodad\n        fd99::103/128 preferred_lft forever\n";
    let conf = instance(150, "").replace("        10.99.0.100/24\n", VIPS);
    let shown = |ns: &Netns| -> Vec<String> {
        let out = ip_text(ns, &["-o", "addr", "show", "dev", "eth0"]);
        let mut v: Vec<String> = out
            .lines()
            .filter(|l| l.contains("10.99.0.1") || l.contains("10.99.0.2") || l.contains("fd99::1"))
            .filter(|l| !l.contains("10.99.0.11/") && !l.contains("fd99::11/"))
            .map(|l| {
                // Lifetimes count down: keep only whether they are forever,
                // zero or finite.
                l.split_whitespace()
                    .skip(3)
                    .map(|w| match w {
                        w if w.ends_with("sec") && w != "0sec" => "Nsec",
                        w => w,
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        v.sort();
        v
    };
    let run = |ours: bool| -> Vec<String> {
        let mut lan = Lan::new();
        let a = Arc::new(lan.host(1));
        if ours {
            let mut s = start(&a, &conf);
            s.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
            wait_addrs(&a, 7);
            let v = shown(&a);
            s.stop();
            v
        } else {
            let mut k = Keepalived::start(&a, &conf);
            k.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
            wait_addrs(&a, 7);
            let v = shown(&a);
            k.stop();
            v
        }
    };
    let ours = run(true);
    let theirs = run(false);
    assert_eq!(ours.len(), 7, "{ours:#?}");
    assert!(
        ours.iter()
            .any(|l| l.contains("fd99::100/128") && l.contains("deprecated")),
        "{ours:#?}"
    );
    assert!(
        ours.iter()
            .any(|l| l.contains("10.99.0.200 peer 10.99.0.201/32")),
        "{ours:#?}"
    );
    assert!(
        ours.iter().any(|l| l.contains("noprefixroute")),
        "{ours:#?}"
    );
    assert_eq!(
        ours, theirs,
        "ours (left) and keepalived 2.2.7's (right) differ"
    );
}

/// Wait until `n` VIPs are on eth0 (the state's log line comes first).
fn wait_addrs(ns: &Netns, n: usize) {
    let until = std::time::Instant::now() + PROMPT;
    loop {
        let out = ip_text(ns, &["-o", "addr", "show", "dev", "eth0"]);
        let have = out
            .lines()
            .filter(|l| l.contains("10.99.0.1") || l.contains("10.99.0.2") || l.contains("fd99::1"))
            .filter(|l| {
                !l.contains("10.99.0.11/") && !l.contains("fd99::11/") && !l.contains("tentative")
            })
            .count();
        if have >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "{n} addresses never came:\n{out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `use_vmac NAME MAC` as keepalived 2.2.7 reads it: the name, and a MAC
/// of five octets completed with the VRID (before, the two words were
/// joined into one interface name). The same link either way.
#[test]
fn use_vmac_name_and_mac_match_keepalived() {
    let conf = instance(150, "    use_vmac vmx51 02:11:22:33:44\n");
    let link = |ns: &Netns| ip_text(ns, &["-o", "-d", "link", "show", "vmx51"]);
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut s = start(&a, &conf);
    s.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let ours = link(&a);
    assert!(ours.contains("link/ether 02:11:22:33:44:33"), "{ours}");
    assert!(ours.contains("macvlan mode private"), "{ours}");
    assert!(s.stop().success());
    let mut k = Keepalived::start(&a, &conf);
    k.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let theirs = link(&a);
    k.stop();
    let mac = |l: &str| l.split("link/ether ").nth(1).map(|r| r[..17].to_string());
    assert_eq!(mac(&ours), mac(&theirs), "{ours}\n{theirs}");
}

/// `static_ipaddress`, `static_routes`, `static_rules` (keepalived 2.2.7,
/// vrrp_daemon.c): set up at start whatever the state (a backup has them
/// too), changed by a reload only where changed, removed at stop.
#[test]
fn static_addresses_routes_and_rules() {
    let statics = |addr: &str| {
        format!(
            "static_ipaddress {{\n    {addr} dev eth0\n}}\nstatic_routes {{\n    10.210.0.0/16 via 10.99.0.1 dev eth0\n}}\n\
             static_rules {{\n    from 10.99.0.211 table 100 priority 2000\n}}\n"
        )
    };
    // A higher priority elsewhere keeps this one BACKUP: statics anyway.
    let conf = |addr: &str| statics(addr) + &instance(100, "");
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut nb = start(&b, &instance(150, ""));
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut na = start(&a, &conf("10.99.0.210/24"));
    na.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let addrs = |ns: &Netns| ip_text(ns, &["-o", "addr", "show", "dev", "eth0"]);
    let routes = |ns: &Netns| ip_text(ns, &["route", "show"]);
    let rules = |ns: &Netns| ip_text(ns, &["rule", "show"]);
    assert!(addrs(&a).contains("inet 10.99.0.210/24"), "{}", addrs(&a));
    assert!(
        routes(&a).contains("10.210.0.0/16 via 10.99.0.1"),
        "{}",
        routes(&a)
    );
    assert!(
        rules(&a).contains("2000:\tfrom 10.99.0.211 lookup 100"),
        "{}",
        rules(&a)
    );
    // A reload that changes the address: the old one goes, the new comes.
    std::fs::write(&na.config, conf("10.99.0.212/24")).unwrap();
    let r = na.ctl(&["reload"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stdout));
    assert!(
        addrs(&a).contains("inet 10.99.0.212/24") && !addrs(&a).contains("10.99.0.210"),
        "{}",
        addrs(&a)
    );
    assert!(
        routes(&a).contains("10.210.0.0/16 via 10.99.0.1"),
        "{}",
        routes(&a)
    );
    assert!(na.stop().success());
    assert!(!addrs(&a).contains("10.99.0.212"), "{}", addrs(&a));
    assert!(!routes(&a).contains("10.210.0.0/16"), "{}", routes(&a));
    assert!(!rules(&a).contains("10.99.0.211"), "{}", rules(&a));
}

/// `disable_local_igmp` (keepalived 2.2.7): the namespace's
/// net.ipv4.igmp_link_local_mcast_reports is 0 while the suite runs, put
/// back at stop.
#[test]
fn disable_local_igmp_while_running() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let sysctl = |ns: &Netns| {
        text(
            ns,
            &["cat", "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"],
        )
    };
    assert_eq!(sysctl(&a).trim(), "1");
    let conf = format!(
        "global_defs {{\n    disable_local_igmp\n}}\n{}",
        instance(150, "")
    );
    let mut s = start(&a, &conf);
    assert_eq!(sysctl(&a).trim(), "0");
    assert!(s.stop().success());
    assert_eq!(sysctl(&a).trim(), "1");
}

/// `garp_extra_if all SECS` (keepalived 2.2.7): while master, a
/// gratuitous ARP every SECS for the VIP that lives on another interface
/// (`dev eth1`), from that interface's MAC — so the switch behind it keeps
/// the MAC — as keepalived sends it; without the keyword only the burst
/// on taking over. Both daemons in turn on the same host.
#[test]
fn garp_extra_if_announces_vips_on_other_interfaces_periodically() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    veth(&a, "eth1");
    let mac = text(&a, &["cat", "/sys/class/net/eth1/address"])
        .trim()
        .to_string();
    let conf = "global_defs {\n    vrrp_garp_master_delay 0\n    vrrp_garp_master_repeat 1\n}\n\
                vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
                priority 150\n    advert_int 1\n    garp_extra_if all 1\n    virtual_ipaddress {\n        \
                10.99.0.100/24\n        10.77.0.100/24 dev eth1\n    }\n}\n";
    // Gratuitous ARPs for the eth1 VIP seen on the wire: (time, source MAC).
    let garps = |keepalived: bool| -> Vec<(f64, String)> {
        let mut cap = keepalived_rs_tests::lan::LineTap::spawn(
            std::process::Command::new("ip")
                .args(["netns", "exec", &a.name, "tcpdump", "-l", "-n", "-e", "-tt"])
                .args(["-i", "eth1p", "arp and host 10.77.0.100"]),
        );
        cap.wait_for_text("listening on", std::time::Duration::from_secs(20));
        let k = keepalived.then(|| Keepalived::start(&a, conf));
        let mut s = (!keepalived).then(|| start(&a, conf));
        let mut seen = Vec::new();
        while seen.len() < 4 {
            let l = cap.wait_for(
                "a gratuitous ARP",
                std::time::Duration::from_secs(30),
                |l| l.contains("10.77.0.100"),
            );
            let t: f64 = l.split_whitespace().next().unwrap().parse().unwrap();
            let src = l.split_whitespace().nth(1).unwrap().to_string();
            seen.push((t, src));
        }
        if let Some(k) = k {
            k.stop();
        }
        if let Some(s) = s.as_mut() {
            assert!(s.stop().success());
        }
        seen
    };
    for keepalived in [true, false] {
        let who = if keepalived {
            "keepalived 2.2.7"
        } else {
            "keepalived-rs"
        };
        let seen = garps(keepalived);
        eprintln!("{who}: {seen:?}");
        assert!(
            seen.iter().all(|(_, m)| *m == mac),
            "{who}: {seen:?} (eth1 is {mac})"
        );
        // After the one on taking over, one a second (keepalived checks on
        // each advert: within an advert interval of the period).
        for w in seen[1..].windows(2) {
            let gap = w[1].0 - w[0].0;
            assert!((0.5..=2.5).contains(&gap), "{who}: gap {gap} s in {seen:?}");
        }
    }
}

/// `net_namespace NAME` (keepalived 2.2.7): started in another namespace,
/// the suite runs in NAME (the VIP appears there, not where it was
/// started), its syslog idents end in `_NAME`, and the pid files it was
/// not given live in /run/keepalived/NAME/ — where keepalived 2.2.7 puts
/// its own, checked side by side.
#[test]
fn net_namespace_runs_the_suite_in_the_named_namespace() {
    use keepalived_rs_tests::lan::holds;
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let outer = Arc::new(Netns::new("outer"));
    let conf = format!("net_namespace {}\n{}", a.name, instance(150, ""));
    let vip = "10.99.0.100/24";
    let wait_vip = |who: &str| {
        let until = std::time::Instant::now() + PROMPT;
        while !holds(&a, vip) {
            assert!(
                std::time::Instant::now() < until,
                "{who}: no VIP in {}",
                a.name
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let there = String::from_utf8_lossy(&outer.ip(&["-o", "addr"]).stdout).to_string();
        assert!(
            !there.contains("10.99.0.100"),
            "{who}: the VIP went to the starting namespace: {there}"
        );
    };
    let piddir = std::path::Path::new("/run/keepalived").join(&a.name);
    let wait_pids = |who: &str, files: &[&str]| {
        let until = std::time::Instant::now() + PROMPT;
        for f in files {
            let p = piddir.join(f);
            while keepalived_rs_tests::proc::read_pid(&p)
                .is_none_or(|pid| !keepalived_rs_tests::proc::alive(pid))
            {
                assert!(
                    std::time::Instant::now() < until,
                    "{who}: no live pid in {}",
                    p.display()
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };

    // keepalived 2.2.7, its own pid files left at their defaults.
    let kdir = keepalived_rs_tests::shared_dir();
    let kconf = kdir.path().join("keepalived.conf");
    std::fs::write(&kconf, &conf).unwrap();
    let mut k = keepalived_rs_tests::lan::LineTap::spawn(
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &outer.name,
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-P",
                "-f",
            ])
            .arg(&kconf),
    );
    wait_vip("keepalived 2.2.7");
    wait_pids("keepalived 2.2.7", &["keepalived.pid", "vrrp.pid"]);
    let kpid = keepalived_rs_tests::proc::read_pid(&piddir.join("keepalived.pid")).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(kpid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(keepalived_rs_tests::proc::wait_gone(kpid, PROMPT));
    k.collect_for(std::time::Duration::from_millis(100));
    assert!(!holds(&a, vip));

    // keepalived-rs: the harness's pid files (given), then one without.
    let mut s = Suite::spawn_in(outer.clone(), &conf, &[]).wait_started();
    wait_vip("keepalived-rs");
    s.log
        .wait_for_text(&format!("Keepalived_vrrp_{}[", a.name), PROMPT);
    assert!(s.stop().success());
    assert!(!holds(&a, vip));
    let dir = keepalived_rs_tests::shared_dir();
    let cpath = dir.path().join("k.conf");
    std::fs::write(&cpath, &conf).unwrap();
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &outer.name])
        .arg(keepalived_rs_tests::bin("keepalived-rs"))
        .args(["-n", "-G", "-f"])
        .arg(&cpath)
        .arg("--control-dir")
        .arg(dir.path().join("ctl"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_vip("keepalived-rs");
    wait_pids(
        "keepalived-rs",
        &["keepalived.pid", "vrrp.pid", "checkers.pid", "ipvs.pid"],
    );
    let ppid = keepalived_rs_tests::proc::read_pid(&piddir.join("keepalived.pid")).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ppid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        !piddir.exists(),
        "the pid files and their directory are removed at stop"
    );
}

/// `use_vmac` on an IPv6 instance: adverts leave from the VMAC, so their
/// source MAC is the virtual router MAC 00:00:5e:00:02:VRID (RFC 5798
/// 7.2), from the lower device's link-local address, which the VMAC
/// holds too — as keepalived 2.2.7 sends them (seen from a third host);
/// and keepalived as the backup hears our adverts.
#[test]
fn ipv6_vmac_adverts_carry_the_virtual_mac_as_keepalived_sends_them() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let obs = lan.host(3);
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
             priority {prio}\n    advert_int 1\n    use_vmac\n    virtual_ipaddress {{\n        \
             fd00:99::100/64\n    }}\n}}\n"
        )
    };
    const VMAC6: &str = "00:00:5e:00:02:33";
    // The lower device's link-local address (DAD done).
    let link_local = |ns: &Netns| -> String {
        let until = std::time::Instant::now() + PROMPT;
        loop {
            let t = ip_text(
                ns,
                &["-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"],
            );
            if !t.is_empty() && !t.contains("tentative") {
                let w: Vec<&str> = t.split_whitespace().collect();
                let i = w.iter().position(|x| *x == "inet6").unwrap();
                return w[i + 1].to_string();
            }
            assert!(
                std::time::Instant::now() < until,
                "no link-local address: {t}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let ll = link_local(&a);
    link_local(&b);
    let advert_from = |who: &str| {
        let mut cap = tcpdump(&obs, "ip6 proto 112");
        let l = cap.wait_for(&format!("{who}'s advert"), PROMPT, |l| l.contains("VRRP"));
        eprintln!("{who}: {l}");
        assert!(
            l.contains(&format!(" {VMAC6} > 33:33:00:00:00:12")),
            "{who}: advert not from the virtual MAC: {l}"
        );
        let src = ll.split('/').next().unwrap();
        assert!(l.contains(&format!("{src} > ff02::12")), "{who}: {l}");
    };
    {
        let k = Keepalived::start(&a, &conf(150));
        advert_from("keepalived 2.2.7");
        k.stop();
    }
    let mut s = start(&a, &conf(150));
    s.log.wait_for_text("(VI_6) Entering MASTER STATE", PROMPT);
    advert_from("keepalived-rs");
    let vmac = ip_text(&a, &["-o", "-6", "addr", "show", "dev", "vrrp.51"]);
    assert!(
        vmac.contains(&ll),
        "the VMAC sends from eth0's link-local address: {vmac}"
    );
    // keepalived hears us through its own VMAC: it stays backup.
    let mut k = Keepalived::start(&b, &conf(100));
    k.out.wait_for_text("(VI_6) Entering BACKUP STATE", PROMPT);
    k.out.collect_for(std::time::Duration::from_secs(5));
    assert!(
        !k.out
            .lines
            .iter()
            .any(|l| l.contains("Entering MASTER STATE")),
        "keepalived took over: {:?}",
        k.out.lines
    );
    k.stop();
    assert!(s.stop().success());
}

/// `interface_up_down_delays` (keepalived 2.2.7): a tracked interface that
/// goes down and comes back within its delay changes nothing; one that
/// stays down takes the instance to FAULT only once the delay is over.
/// Both daemons in turn on the same host.
#[test]
fn interface_up_down_delays_absorb_a_flap() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    veth(&a, "eth1");
    let conf = "interface_up_down_delays {\n    eth1 3\n}\n\
                vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
                priority 150\n    advert_int 2\n    track_interface {\n        eth1\n    }\n    \
                virtual_ipaddress {\n        10.99.0.100/24\n    }\n}\n";
    // `wait(needle)` waits for a line; `wait("")` only collects 5 s of
    // lines (longer than the delay, and than a veth's carrier coming
    // back); both return every line so far.
    let flap = |wait: &mut dyn FnMut(&str) -> Vec<String>| {
        wait("(VI_1) Entering MASTER STATE");
        // Down and straight back up: absorbed.
        ip_text(&a, &["link", "set", "eth1", "down"]);
        ip_text(&a, &["link", "set", "eth1", "up"]);
        let seen = wait("");
        assert!(
            !seen.iter().any(|l| l.contains("Entering FAULT STATE")),
            "{seen:?}"
        );
        // Down for good: FAULT once the delay is over.
        let t = std::time::Instant::now();
        ip_text(&a, &["link", "set", "eth1", "down"]);
        wait("(VI_1) Entering FAULT STATE");
        let after = t.elapsed();
        ip_text(&a, &["link", "set", "eth1", "up"]);
        after
    };
    let window = std::time::Duration::from_secs(5);
    let mut k = Keepalived::start(&a, conf);
    let theirs = flap(&mut |needle| {
        if needle.is_empty() {
            k.out.collect_for(window);
        } else {
            k.out.wait_for_text(needle, PROMPT);
        }
        k.out.lines.clone()
    });
    k.stop();
    let mut s = start(&a, conf);
    let ours = flap(&mut |needle| {
        if needle.is_empty() {
            s.log.drain_for(window);
        } else {
            s.log.wait_for_text(needle, PROMPT);
        }
        s.log.lines.clone()
    });
    assert!(s.stop().success());
    eprintln!("down -> FAULT: keepalived 2.2.7 {theirs:?}, keepalived-rs {ours:?}");
    for (who, d) in [("keepalived 2.2.7", theirs), ("keepalived-rs", ours)] {
        assert!(
            d >= std::time::Duration::from_millis(2500),
            "{who}: FAULT {d:?} after the link went down (delay 3 s)"
        );
    }
}

/// Run `f` on a copy of each descriptor process `pid` holds (borrowed
/// with pidfd_getfd; ss shows no raw socket memory without raw_diag).
fn each_fd_of(pid: i32, mut f: impl FnMut(i32)) {
    // SAFETY: plain syscalls; every descriptor obtained is closed.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if pidfd < 0 {
            return;
        }
        for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(n) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd, n, 0) as i32;
            if fd >= 0 {
                f(fd);
                libc::close(fd);
            }
        }
        libc::close(pidfd);
    }
}

/// An int socket option of `fd`.
fn sockopt(fd: i32, opt: i32) -> Option<i32> {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: getsockopt into a live int.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut i32).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// SO_RCVBUF of each raw socket of protocol 112 process `pid` holds.
fn vrrp_receive_buffers(pid: i32) -> Vec<i64> {
    let mut out = Vec::new();
    each_fd_of(pid, |fd| {
        if sockopt(fd, libc::SO_TYPE) == Some(libc::SOCK_RAW)
            && sockopt(fd, libc::SO_PROTOCOL) == Some(112)
        {
            out.extend(sockopt(fd, libc::SO_RCVBUF).map(i64::from));
        }
    });
    out
}

/// The pid of keepalived's VRRP process, once its pid file has it.
fn vrrp_pid(k: &Keepalived) -> i32 {
    let until = std::time::Instant::now() + PROMPT;
    loop {
        if let Some(p) = k.pid("kv.pid") {
            return p;
        }
        assert!(std::time::Instant::now() < until, "no VRRP process pid");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `vrrp_rx_bufs_policy`, `vrrp_rx_bufs_multiplier`, `kernel_rx_buf_size`
/// (keepalived 2.2.7): the VRRP receive socket's buffer is the sum of its
/// instances' shares (100 adverts of VI_1, 50,000 bytes for VI_2), the
/// same under both daemons as `ss` reads it (the kernel doubles it).
#[test]
fn receive_buffers_are_sized_as_keepalived_sizes_them() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let conf = format!(
        "global_defs {{\n    vrrp_rx_bufs_policy ADVERT\n    vrrp_rx_bufs_multiplier 100\n}}\n{}\
         vrrp_instance VI_2 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    \
         priority 100\n    advert_int 1\n    kernel_rx_buf_size 50000\n    virtual_ipaddress {{\n        \
         10.99.0.102/24\n    }}\n}}\n",
        instance(100, "")
    );
    // SO_RCVBUF of every raw VRRP socket of process `pid` (its
    // descriptors borrowed with pidfd_getfd: ss cannot read raw sockets'
    // memory without the raw_diag module).
    let buffers = |pid: i32| -> Vec<i64> {
        let until = std::time::Instant::now() + PROMPT;
        loop {
            let mut rb = vrrp_receive_buffers(pid);
            rb.sort_unstable();
            if rb.contains(&108_000) || std::time::Instant::now() > until {
                return rb;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let k = Keepalived::start(&a, &conf);
    let kv = vrrp_pid(&k);
    let theirs = buffers(kv);
    k.stop();
    let mut s = start(&a, &conf);
    s.log.wait_for_text("(VI_2) Entering BACKUP STATE", PROMPT);
    let ours = buffers(s.child_pid("vrrpd"));
    assert!(s.stop().success());
    eprintln!("receive buffers: keepalived 2.2.7 {theirs:?}, keepalived-rs {ours:?}");
    // 100 x 40 bytes (a VRRPv2 advert with one address and its IPv4
    // header) + 50,000, doubled by the kernel.
    assert!(theirs.contains(&108_000), "keepalived 2.2.7: {theirs:?}");
    assert!(ours.contains(&108_000), "keepalived-rs: {ours:?}");
}

/// SO_RCVBUF of each rtnetlink socket process `pid` holds, by whether it
/// listens to groups (the monitor) or not (requests).
fn rtnetlink_buffers(pid: i32) -> (Vec<i64>, Vec<i64>) {
    let (mut monitor, mut requests) = (Vec::new(), Vec::new());
    each_fd_of(pid, |fd| {
        // SAFETY: getsockname into a live sockaddr_nl.
        let sa = unsafe {
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            let r = libc::getsockname(fd, (&mut sa as *mut libc::sockaddr_nl).cast(), &mut len);
            (r == 0 && sa.nl_family == libc::AF_NETLINK as u16).then_some(sa)
        };
        let Some(sa) = sa else {
            return;
        };
        if sockopt(fd, libc::SO_PROTOCOL) != Some(libc::NETLINK_ROUTE) {
            return;
        }
        let Some(v) = sockopt(fd, libc::SO_RCVBUF).map(i64::from) else {
            return;
        };
        if sa.nl_groups != 0 {
            monitor.push(v);
        } else {
            requests.push(v);
        }
    });
    (monitor, requests)
}

/// `vrrp_netlink_monitor_rcv_bufs` with `_force`, `vrrp_netlink_cmd_rcv_bufs`
/// (keepalived 2.2.7): the rtnetlink monitor's buffer past rmem_max, the
/// request socket's within it — the same under both daemons.
#[test]
fn netlink_buffers_are_sized_as_keepalived_sizes_them() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let conf = format!(
        "global_defs {{\n    vrrp_netlink_monitor_rcv_bufs 1048576\n    \
         vrrp_netlink_monitor_rcv_bufs_force\n    vrrp_netlink_cmd_rcv_bufs 65536\n}}\n{}",
        instance(100, "")
    );
    let wanted = |b: &(Vec<i64>, Vec<i64>)| b.0.contains(&2_097_152) && b.1.contains(&131_072);
    let read = |pid: i32| {
        let until = std::time::Instant::now() + PROMPT;
        loop {
            let b = rtnetlink_buffers(pid);
            if wanted(&b) || std::time::Instant::now() > until {
                return b;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let k = Keepalived::start(&a, &conf);
    let kv = vrrp_pid(&k);
    let theirs = read(kv);
    k.stop();
    let mut s = start(&a, &conf);
    s.log.wait_for_text("(VI_1) Entering", PROMPT);
    let ours = read(s.child_pid("vrrpd"));
    assert!(s.stop().success());
    eprintln!("rtnetlink buffers (monitor, requests): keepalived 2.2.7 {theirs:?}, keepalived-rs {ours:?}");
    assert!(wanted(&theirs), "keepalived 2.2.7: {theirs:?}");
    assert!(wanted(&ours), "keepalived-rs: {ours:?}");
}

/// What one daemon made of `use_vmac_addr` and an address's `use_vmac`
/// while master: its macvlans (name, lower device, MAC, mode, up), the
/// addresses on each (IPv6 link-local ones counted: the lower device's
/// is the only one), the source MACs of gratuitous ARPs for the eth1
/// address, the nftables ruleset; and the macvlans left after stop.
#[derive(Debug, PartialEq)]
struct AddrVmacs {
    links: Vec<String>,
    addrs: Vec<String>,
    garp_macs: Vec<String>,
    rules: String,
    left: String,
}

fn addr_vmacs_of(a: &Arc<Netns>, keepalived: bool) -> AddrVmacs {
    let conf = "global_defs {\n    nftables\n    vrrp_garp_master_delay 0\n}\n\
        vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    \
        priority 200\n    advert_int 1\n    use_vmac_addr\n    virtual_ipaddress {\n        \
        10.99.0.100/24\n        10.77.0.100/24 dev eth1\n    }\n    \
        virtual_ipaddress_excluded {\n        fd99::100/64\n    }\n}\n\
        vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    \
        priority 200\n    advert_int 1\n    virtual_ipaddress {\n        \
        10.99.0.101/24\n        10.66.0.100/24 dev eth2 use_vmac\n    }\n}\n";
    let mut cap = keepalived_rs_tests::lan::LineTap::spawn(
        std::process::Command::new("ip")
            .args(["netns", "exec", &a.name, "tcpdump", "-l", "-n", "-e"])
            .args(["-i", "eth1p", "arp and host 10.77.0.100"]),
    );
    cap.wait_for_text("listening on", PROMPT);
    let k = keepalived.then(|| Keepalived::start(a, conf));
    let mut s = (!keepalived).then(|| start(a, conf));
    let l = cap.wait_for("a gratuitous ARP", PROMPT, |l| l.contains("10.77.0.100"));
    let garp_macs = vec![l.split_whitespace().nth(1).unwrap_or("").to_string()];
    // The state's line comes before the addresses: wait for the last one.
    let until = std::time::Instant::now() + PROMPT;
    let present = |x: &str| text(a, &["ip", "-o", "addr", "show"]).contains(&format!(" {x} "));
    while !present("10.66.0.100/24") || !present("fd99::100/64") {
        assert!(std::time::Instant::now() < until, "the VIPs never came");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let macvlans = || text(a, &["ip", "-d", "-o", "link", "show", "type", "macvlan"]);
    let mut links: Vec<String> = macvlans()
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let at = |k: &str| {
                w.iter()
                    .position(|x| *x == k)
                    .and_then(|i| w.get(i + 1))
                    .copied()
                    .unwrap_or("")
            };
            let mode = w
                .windows(3)
                .find(|x| x[0] == "macvlan" && x[1] == "mode")
                .map_or("", |x| x[2]);
            format!(
                "{} {} mode {mode} {}",
                w[1].trim_end_matches(':'),
                at("link/ether"),
                if w[2].contains(",UP") { "up" } else { "down" }
            )
        })
        .collect();
    links.sort();
    let mut addrs: Vec<String> = text(a, &["ip", "-o", "addr", "show", "type", "macvlan"])
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let addr = if w[3].starts_with("fe80:") {
                "link-local"
            } else {
                w[3]
            };
            format!("{} {addr}", w[1])
        })
        .collect();
    addrs.sort();
    let rules = text(a, &["nft", "list", "ruleset"]);
    if let Some(k) = k {
        k.stop();
    }
    if let Some(s) = s.as_mut() {
        assert!(s.stop().success());
    }
    AddrVmacs {
        links,
        addrs,
        garp_macs,
        rules,
        left: macvlans(),
    }
}

/// `use_vmac_addr` and an address's `use_vmac` (keepalived 2.2.7,
/// vrrp_complete_instance): an address on another interface, or of the
/// other family, gets a VMAC of its own with the family's virtual MAC
/// (`vrrp.51` on eth1, `vrrp6.51` on eth0, `vrrp.52` on eth2), its
/// gratuitous ARPs carry that MAC, the VMACs are in the nftables map, and
/// they go at stop — the same under both daemons, on the same host.
#[test]
fn address_vmacs_are_made_as_keepalived_makes_them() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    veth(&a, "eth1");
    veth(&a, "eth2");
    let theirs = addr_vmacs_of(&a, true);
    let ours = addr_vmacs_of(&a, false);
    eprintln!("keepalived 2.2.7: {theirs:#?}");
    assert!(
        ours.links
            .contains(&"vrrp.51@eth1 00:00:5e:00:01:33 mode private up".to_string()),
        "{ours:#?}"
    );
    assert_eq!(ours.garp_macs, ["00:00:5e:00:01:33"], "{ours:#?}");
    assert_eq!(ours.left, "", "{ours:#?}");
    assert_eq!(
        ours, theirs,
        "ours (left) and keepalived 2.2.7's (right) differ"
    );
}

/// `garp_group` (keepalived 2.2.7): the gratuitous ARPs on its interface
/// leave at least its `garp_interval` apart (0.3 s) on taking over, under
/// both daemons in turn. Ours sends all six (two VIPs, `garp_master_repeat
/// 3`); keepalived 2.2.7 loses some of its queue with a garp_group (three
/// of six seen on a veth pair; documented in migration.md).
#[test]
fn garp_group_paces_gratuitous_arps_as_keepalived_does() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let obs = lan.host(2);
    let conf = "garp_group {\n    garp_interval 0.3\n    interface eth0\n}\n\
                vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
                priority 150\n    advert_int 1\n    garp_master_delay 0\n    garp_master_repeat 3\n    \
                virtual_ipaddress {\n        10.99.0.100/24\n        10.99.0.101/24\n    }\n}\n";
    let garps = |keepalived: bool| -> Vec<f64> {
        let mut cap = keepalived_rs_tests::lan::LineTap::spawn(
            std::process::Command::new("ip")
                .args(["netns", "exec", &obs.name, "tcpdump", "-l", "-n", "-tt"])
                .args(["-i", "eth0", "arp"]),
        );
        cap.wait_for_text("listening on", PROMPT);
        let k = keepalived.then(|| Keepalived::start(&a, conf));
        let mut s = (!keepalived).then(|| start(&a, conf));
        let garp = |l: &str| {
            l.contains("ARP") && (l.contains("tell 10.99.0.100") || l.contains("tell 10.99.0.101"))
        };
        cap.wait_for("a gratuitous ARP", PROMPT, garp);
        // Six at 0.3 s take 1.5 s.
        cap.collect_for(std::time::Duration::from_millis(2500));
        if let Some(k) = k {
            k.stop();
        }
        if let Some(s) = s.as_mut() {
            assert!(s.stop().success());
        }
        cap.lines
            .iter()
            .filter(|l| garp(l))
            .map(|l| l.split_whitespace().next().unwrap().parse::<f64>().unwrap())
            .collect()
    };
    for keepalived in [true, false] {
        let who = if keepalived {
            "keepalived 2.2.7"
        } else {
            "keepalived-rs"
        };
        let t = garps(keepalived);
        let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        eprintln!("{who}: {} gratuitous ARPs, gaps {gaps:?}", t.len());
        assert!(gaps.iter().all(|d| *d >= 0.28), "{who}: {gaps:?}");
        if !keepalived {
            assert_eq!(t.len(), 6, "{who}: {gaps:?}");
        }
    }
}

/// `debug N` in an instance: keepalived 2.2.7 shows it in the data dump
/// ("   Debug level = N") and does nothing else with it; so do we.
#[test]
fn instance_debug_level_shows_in_the_data_dump_as_keepalived_shows_it() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let conf = instance(150, "    debug 2\n");
    let data = std::path::Path::new("/tmp/keepalived.data");
    let dumped =
        |want: &str| -> String { keepalived_rs_tests::wait_file(data, want, |t| t.contains(want)) };
    let _ = std::fs::remove_file(data);
    let k = Keepalived::start(&a, &conf);
    let until = std::time::Instant::now() + PROMPT;
    let pid = loop {
        if let Some(p) = k
            .pid("k.pid")
            .filter(|p| keepalived_rs_tests::proc::alive(*p))
        {
            break p;
        }
        assert!(std::time::Instant::now() < until, "keepalived's pid");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    let theirs = dumped(" VRRP Instance = VI_1");
    k.stop();
    assert!(theirs.contains("\n   Debug level = 2\n"), "{theirs}");
    let _ = std::fs::remove_file(data);
    let mut s = start(&a, &conf);
    s.signal(nix::sys::signal::Signal::SIGUSR1);
    s.log.wait_for_text("Wrote /tmp/keepalived.data", PROMPT);
    let ours = dumped(" VRRP Instance = VI_1");
    assert!(ours.contains("\n   Debug level = 2\n"), "{ours}");
    assert!(s.stop().success());
}

/// `instance NAME` with `data_use_instance` (keepalived 2.2.7, main.c and
/// open_dump_file): pid files left at their defaults are
/// /run/keepalived/keepalived_NAME.pid, vrrp_NAME.pid (checkers_NAME.pid,
/// and our ipvs_NAME.pid), the data dump is /tmp/keepalived.NAME.data,
/// and the syslog idents end in _NAME — under both daemons in turn.
#[test]
fn instance_name_places_pid_files_and_the_data_dump_as_keepalived_does() {
    use keepalived_rs_tests::proc::{alive, read_pid, wait_gone};
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let name = format!("kars{}", std::process::id());
    let conf = format!(
        "instance {name}\nglobal_defs {{\n    data_use_instance\n}}\n{}",
        instance(150, "")
    );
    let dir = keepalived_rs_tests::shared_dir();
    let cpath = dir.path().join("k.conf");
    std::fs::write(&cpath, &conf).unwrap();
    let piddir = std::path::Path::new("/run/keepalived");
    let data = std::path::PathBuf::from(format!("/tmp/keepalived.{name}.data"));
    let live = |who: &str, files: &[&str]| -> i32 {
        let until = std::time::Instant::now() + PROMPT;
        for f in files {
            let p = piddir.join(format!("{f}_{name}.pid"));
            while read_pid(&p).is_none_or(|pid| !alive(pid)) {
                assert!(
                    std::time::Instant::now() < until,
                    "{who}: no live pid in {}",
                    p.display()
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        read_pid(&piddir.join(format!("keepalived_{name}.pid"))).unwrap()
    };
    let dumped = |who: &str, main: i32| {
        let _ = std::fs::remove_file(&data);
        kill(Pid::from_raw(main), Signal::SIGUSR1).unwrap();
        let want = " VRRP Instance = VI_1";
        keepalived_rs_tests::wait_file(&data, &format!("{who}'s data dump"), |t| t.contains(want));
        let _ = std::fs::remove_file(&data);
    };
    for keepalived in [true, false] {
        let who = if keepalived {
            "keepalived 2.2.7"
        } else {
            "keepalived-rs"
        };
        let mut cmd = std::process::Command::new("ip");
        cmd.args(["netns", "exec", &a.name]);
        if keepalived {
            cmd.args(["keepalived", "-n", "-l", "-D", "-P", "-f"])
                .arg(&cpath);
        } else {
            cmd.arg(keepalived_rs_tests::bin("keepalived-rs"))
                .args(["-n", "-l", "-f"])
                .arg(&cpath)
                .arg("--control-dir")
                .arg(dir.path().join("ctl"));
        }
        let mut out = keepalived_rs_tests::lan::LineTap::spawn(&mut cmd);
        let files: &[&str] = if keepalived {
            &["keepalived", "vrrp"]
        } else {
            &["keepalived", "vrrp", "checkers", "ipvs"]
        };
        let main = live(who, files);
        if !keepalived {
            out.wait_for_text(&format!("Keepalived_vrrp_{name}["), PROMPT);
        }
        dumped(who, main);
        kill(Pid::from_raw(main), Signal::SIGTERM).unwrap();
        assert!(wait_gone(main, PROMPT), "{who} did not stop");
        for f in files {
            let p = piddir.join(format!("{f}_{name}.pid"));
            assert!(!p.exists(), "{who}: {} left", p.display());
        }
    }
}
