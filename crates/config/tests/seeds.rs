//! The configurations real users published (tests/fixtures/seeds) read to
//! the model they describe.

mod common;

use keepalived_config::*;
use std::net::IpAddr;

fn load(name: &str) -> Loaded {
    let p = common::fixtures().join("seeds").join(name);
    match load_file(&p, &common::opts()) {
        Ok(l) => l,
        Err(e) => panic!("{name} refused:\n{e}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_seed_runs() {
    for p in common::confs("seeds") {
        if let Err(e) = load_file(&p, &common::opts()) {
            panic!("{} refused:\n{e}", p.display());
        }
    }
}

#[test]
fn lvs_http_get_seed() {
    let l = load("000_lvs_http_get.conf");
    let c = &l.config;
    let g = &c.global_defs;
    assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));
    assert_eq!(g.notification_email.len(), 3);
    assert_eq!(g.smtp_server.as_deref(), Some("192.168.200.1"));
    assert_eq!(g.smtp_connect_timeout, 30.0);
    assert!(g.vrrp_strict && g.vrrp_skip_check_adv_addr);
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.name, "VI_1");
    assert_eq!(vi.state, Some(InitialState::Master));
    assert_eq!(vi.interface.as_deref(), Some("eth0"));
    assert_eq!((vi.virtual_router_id, vi.priority), (51, 100));
    assert!(vi.strict_mode, "inherited from vrrp_strict");
    // keepalived clears nopreempt with state MASTER and drops
    // authentication in strict mode; both are reported.
    assert!(!vi.nopreempt);
    assert!(vi.authentication.is_none());
    assert_eq!(vi.virtual_ipaddress[0].address, ip("192.168.200.16"));
    let vs = &c.virtual_servers[0];
    assert_eq!((vs.ip, vs.port), (Some(ip("192.168.200.16")), Some(1358)));
    assert_eq!(vs.delay_loop, 6.0);
    assert_eq!(vs.lb_algo, Some(Scheduler::Rr));
    assert_eq!(vs.lb_kind, Some(LbKind::Nat));
    assert_eq!(vs.persistence_timeout, Some(50));
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert_eq!(
        vs.sorry_server.as_ref().map(|s| (s.ip, s.port)),
        Some((ip("192.168.200.200"), Some(1358)))
    );
    assert_eq!(vs.real_servers.len(), 2);
    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.ip, rs.port, rs.weight),
        (ip("192.168.200.2"), Some(1358), 1)
    );
    let ck = &rs.checkers[0];
    assert_eq!(ck.kind, CheckerKind::HttpGet);
    assert_eq!(ck.url.len(), 3);
    assert_eq!(ck.url[1].path, "/testurl2/test.jsp");
    assert_eq!(
        ck.url[0].digest.as_deref(),
        Some("640205b7b0fc66c1ea91c463fac6334d")
    );
    assert_eq!(
        (ck.connect_timeout, ck.retry, ck.delay_before_retry),
        (3.0, 3, 3.0)
    );
    assert_eq!(
        ck.delay_loop, 6.0,
        "checker inherits the virtual server's delay_loop"
    );
    assert_eq!(vs.real_servers[1].checkers[0].url.len(), 2);
    // nb_get_retry is deprecated: the daemon runs it, -t complains.
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.message.contains("nb_get_retry")));
}

#[test]
fn dr_tcp_check_seed() {
    let l = load("000_lvs_dr_tcp_check.conf");
    let vi = &l.config.vrrp_instances[0];
    assert_eq!((vi.priority, vi.state), (150, Some(InitialState::Backup)));
    assert!(vi.nopreempt);
    assert_eq!(
        vi.authentication
            .as_ref()
            .and_then(|a| a.auth_pass.as_deref()),
        Some("wangqing")
    );
    assert_eq!(vi.virtual_ipaddress[0].dev.as_deref(), Some("ens33"));
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, Some(Scheduler::Rr), "lvs_sched spelling");
    assert_eq!(vs.lb_kind, Some(LbKind::Dr), "lvs_method spelling");
    assert_eq!(vs.real_servers[1].checkers[0].connect_port, Some(8080));
    // DR needs the virtual server's port: keepalived resets it and says so.
    assert_eq!(vs.real_servers[1].port, Some(80));
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.message.contains("differs from the virtual server")));
}

#[test]
fn script_and_notify_seeds() {
    let l = load("000_httpd_script_master.conf");
    let c = &l.config;
    assert_eq!(c.vrrp_scripts[0].name, "httpd_check");
    assert_eq!(c.vrrp_scripts[0].script, "/scripts/check_httpd.sh");
    assert_eq!(
        (c.vrrp_scripts[0].interval, c.vrrp_scripts[0].weight),
        (1.0, -20)
    );
    let vi = &c.vrrp_instances[0];
    assert_eq!(
        vi.notify_master.as_deref(),
        Some("/scripts/notify.sh master 192.168.32.250")
    );
    // The script does not exist on this host: keepalived disables it.
    assert!(vi.track_script.is_empty());

    let l = load("001_script_master.conf");
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.virtual_router_id, 52);
    assert_eq!(
        vi.authentication
            .as_ref()
            .and_then(|a| a.auth_pass.as_deref()),
        Some("lll")
    );
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.real_servers[0].ip, ip("192.168.216.179"));
    assert_eq!(vs.real_servers[0].checkers[0].kind, CheckerKind::Tcp);
}

#[test]
fn master_backup_pairs() {
    for (f, prio) in [
        ("000_httpd_master.conf", 100),
        ("000_httpd_backup.conf", 80),
        ("001_master.conf", 100),
        ("001_backup.conf", 90),
        ("004_master.conf", 210),
        ("004_backup.conf", 200),
    ] {
        let l = load(f);
        assert_eq!(l.config.vrrp_instances[0].priority, prio, "{f}");
    }
    let b = load("001_backup.conf");
    assert_eq!(
        b.config.vrrp_instances[0].interface.as_deref(),
        Some("eth0")
    );
    assert_eq!(
        load("004_backup.conf").config.vrrp_instances[0].virtual_ipaddress[0].address,
        ip("192.168.137.200")
    );
}

#[test]
fn global_garp_seeds() {
    let g = load("002_global_garp_short.conf").config.global_defs;
    assert_eq!(g.vrrp_garp_master_delay, 10.0);
    assert_eq!(g.vrrp_garp_master_repeat, 1);
    assert_eq!(g.vrrp_garp_master_refresh, 60.0);
    assert_eq!(g.vrrp_garp_master_refresh_repeat, 2);
    assert_eq!(g.vrrp_garp_interval, 0.001);
    assert_eq!(g.vrrp_gna_interval, 0.000001);
    // `vrrp_garp_interval 0` is reported by 2.2.7 (range starts at 1 µs).
    let l = load("002_global_garp.conf");
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.message.contains("vrrp_garp_interval")));
}

#[test]
fn unicast_seed() {
    let l = load("002_unicast_grafana.conf");
    let vi = &l.config.vrrp_instances[0];
    assert_eq!(vi.name, "grafana_internal");
    assert_eq!(vi.virtual_router_id, 241);
    assert_eq!(vi.unicast_src_ip, Some(ip("192.168.1.31")));
    let peers: Vec<IpAddr> = vi.unicast_peer.iter().map(|p| p.address).collect();
    assert_eq!(peers, [ip("192.168.1.32"), ip("192.168.1.33")]);
    assert!(vi.nopreempt);
}

#[test]
fn one_line_page_seeds() {
    let l = load("003_lvs_http_get.conf");
    let c = &l.config;
    assert_eq!(c.global_defs.vrrp_mcast_group4.to_string(), "224.0.101.11");
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.virtual_ipaddress[0].prefix, Some(32));
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.delay_loop, 3.0);
    assert_eq!(vs.real_servers[0].checkers[0].url[0].status_code, ["200"]);
    let l = load("003_two_instances.conf");
    let names: Vec<&str> = l
        .config
        .vrrp_instances
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["VI_1", "VI_2"]);
    assert!(l.config_test_passed(), "{:?}", l.diagnostics);
    let l = load("003_track_script.conf");
    let s: Vec<(&str, &str)> = l
        .config
        .vrrp_scripts
        .iter()
        .map(|t| (t.name.as_str(), t.script.as_str()))
        .collect();
    assert_eq!(
        s,
        [
            ("chk_httpd", "killall -0 httpd"),
            ("chk_nginx", "killall -0 nginx")
        ]
    );
}
