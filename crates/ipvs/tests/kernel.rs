//! Real-kernel tests: program IPVS through the library and compare with
//! what `ipvsadm` reads back. Ignored by default (this project's build
//! hosts have no IPVS); run them in a VM with Debian's kernel:
//!
//!   tests/vm/run-ipvs-tests.sh   # builds this binary, runs it in one VM boot
//!
//! Each test enters its own network namespace, hence its own IPVS table.

use std::net::IpAddr;
use std::process::Command;
use std::time::Instant;

use keepalived_ipvs::desired::*;
use keepalived_ipvs::diff::*;
use keepalived_ipvs::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Fresh network namespace for the calling thread (IPVS is per netns).
fn netns() -> IpvsSocket {
    assert_eq!(
        std::env::var("KARS_IPVS_KERNEL").as_deref(),
        Ok("1"),
        "kernel tests need KARS_IPVS_KERNEL=1 and a kernel with IPVS; use tests/vm/run-ipvs-vm.sh"
    );
    // SAFETY: plain syscall; affects only this test's thread.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET): {}",
        std::io::Error::last_os_error()
    );
    sh("modprobe ip_vs 2>/dev/null; ip link set lo up");
    IpvsSocket::connect().expect("IPVS socket")
}

/// Run a shell command in this thread's namespace.
fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        s.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    s
}

fn ipvsadm_save() -> String {
    let mut lines: Vec<String> = sh("ipvsadm -Sn").lines().map(str::to_string).collect();
    lines.sort();
    lines.join("\n")
}

fn sorted(s: &str) -> String {
    let mut lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn host_without_ipvs_reports_clearly() {
    // Not ignored: on a host without IPVS the error must be the typed one.
    match IpvsSocket::connect() {
        Ok(mut s) => println!(
            "IPVS present: family {} version {:?}",
            s.family_id(),
            s.info().map(|i| i.version_string())
        ),
        Err(e) => {
            assert!(matches!(e, IpvsError::NotAvailable), "{e:?}");
            assert!(e.to_string().contains("is the ip_vs module loaded?"));
        }
    }
}

fn sample_table() -> Vec<(Service, Vec<Dest>)> {
    let mut v = Vec::new();
    let k = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let mut d2 = Dest::new(ip("10.0.1.2"), 8080, FwdMethod::Route, 2);
    d2.u_thresh = 100;
    d2.l_thresh = 10;
    v.push((
        Service::new(k, Scheduler::Wrr),
        vec![Dest::new(ip("10.0.1.1"), 80, FwdMethod::Masq, 1), d2],
    ));
    let mut s = Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), Scheduler::Sh);
    s.flags = ServiceFlags::PERSISTENT | ServiceFlags::SCHED_FALLBACK | ServiceFlags::SCHED_PORT;
    s.timeout = 300;
    s.netmask = 64;
    v.push((
        s,
        vec![Dest::new(ip("2001:db8::10"), 53, FwdMethod::Route, 5)],
    ));
    let mut s = Service::new(ServiceKey::fwmark(Family::Inet, 7), Scheduler::Rr);
    s.flags = ServiceFlags::ONEPACKET | ServiceFlags::PERSISTENT;
    s.timeout = 60;
    s.netmask = 0xffff_ff00;
    let mut gue = Dest::new(ip("10.0.2.1"), 0, FwdMethod::Tunnel, 3);
    gue.tun_type = TunType::Gue;
    gue.tun_port = 6080;
    gue.tun_flags = TUN_FLAG_CSUM;
    let mut gre = Dest::new(ip("10.0.2.2"), 0, FwdMethod::Tunnel, 1);
    gre.tun_type = TunType::Gre;
    v.push((
        s,
        vec![gue, gre, Dest::new(ip("10.0.2.3"), 0, FwdMethod::Tunnel, 0)],
    ));
    let mut s = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: ip("10.0.0.2"),
            port: 9,
        },
        Scheduler::Mh,
    );
    s.flags = ServiceFlags::SCHED_PORT;
    v.push((s, vec![Dest::new(ip("10.0.3.1"), 9, FwdMethod::Masq, 1)]));
    let mut sip = Service::new(ServiceKey::udp(ip("10.0.0.4"), 5060), Scheduler::Rr);
    sip.flags = ServiceFlags::PERSISTENT;
    sip.timeout = 60;
    sip.pe_name = Some("sip".into());
    v.push((sip, vec![]));
    let mut fw6 = Service::new(ServiceKey::fwmark(Family::Inet6, 8), Scheduler::Wlc);
    fw6.flags = ServiceFlags::PERSISTENT;
    fw6.timeout = 30;
    fw6.netmask = 96;
    v.push((
        fw6,
        vec![Dest::new(ip("2001:db8::20"), 0, FwdMethod::Route, 4)],
    ));
    for sched in [
        Scheduler::Rr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
    ] {
        let port = 1000 + v.len() as u16;
        v.push((
            Service::new(ServiceKey::tcp(ip("10.0.0.3"), port), sched),
            vec![],
        ));
    }
    v
}

#[test]
#[ignore = "needs a kernel with IPVS: tests/vm/run-ipvs-vm.sh"]
fn program_and_compare_with_ipvsadm() {
    let mut s = netns();
    let info = s.info().unwrap();
    println!(
        "kernel IPVS {} conn_tab_size {}",
        info.version_string(),
        info.conn_tab_size
    );
    assert!(s.table().unwrap().services.is_empty());
    let table = sample_table();
    for (svc, dests) in &table {
        s.execute(&Request::NewService(svc.clone())).unwrap();
        for d in dests {
            s.execute(&Request::NewDest(svc.key, d.clone())).unwrap();
        }
    }
    println!("ipvsadm -Ln:\n{}", sh("ipvsadm -Ln"));
    println!(
        "ipvsadm -Ln --tun-info:\n{}",
        sh("ipvsadm -Ln --tun-info 2>&1 || true")
    );
    // `-Sn` does not carry thresholds: check them in the list view.
    let thr = sh("ipvsadm -Ln --thresholds -t 10.0.0.1:80");
    println!("ipvsadm -Ln --thresholds -t 10.0.0.1:80:\n{thr}");
    let line = thr.lines().find(|l| l.contains("10.0.1.2:8080")).unwrap();
    let toks: Vec<&str> = line.split_whitespace().collect();
    assert!(toks.contains(&"100") && toks.contains(&"10"), "{line}");
    let save = ipvsadm_save();
    println!("ipvsadm -Sn:\n{save}");
    let expected = sorted(include_str!("kernel_expected_save.txt"));
    assert_eq!(save, expected);

    // Our dump reads back exactly what we wrote.
    let dumped = s.table().unwrap();
    assert_eq!(dumped.services.len(), table.len());
    for (svc, dests) in &table {
        let got = dumped.service(&svc.key).unwrap();
        assert!(got.service.same_config(svc), "{:?}\n{:?}", got.service, svc);
        assert!(got.service.flags.contains(ServiceFlags::HASHED));
        assert_eq!(got.dests.len(), dests.len());
        for d in dests {
            let g = &got.dests[&d.key()];
            assert!(g.same_config(d), "{g:?}\n{d:?}");
        }
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: tests/vm/run-ipvs-vm.sh"]
fn edit_delete_and_kernel_errors() {
    let mut s = netns();
    let k = ServiceKey::tcp(ip("10.0.0.1"), 80);
    s.execute(&Request::NewService(Service::new(k, Scheduler::Wrr)))
        .unwrap();
    let d = Dest::new(ip("10.0.1.1"), 80, FwdMethod::Masq, 1);
    s.execute(&Request::NewDest(k, d.clone())).unwrap();

    let one = s.execute(&Request::GetService(k)).unwrap();
    assert!(
        matches!(&one[..], [Reply::Service(e)] if e.service.key == k && e.service.sched == Scheduler::Wrr)
    );
    let e = s
        .execute(&Request::NewService(Service::new(k, Scheduler::Wrr)))
        .unwrap_err();
    println!("duplicate service: {e}");
    assert_eq!(e.errno(), Some(libc::EEXIST));
    let e = s.execute(&Request::NewDest(k, d.clone())).unwrap_err();
    println!("duplicate dest: {e}");
    assert_eq!(e.errno(), Some(libc::EEXIST));
    let e = s
        .execute(&Request::NewService(Service::new(
            ServiceKey::tcp(ip("10.0.0.9"), 1),
            Scheduler::Other("nosuch".into()),
        )))
        .unwrap_err();
    println!("unknown scheduler: {e}");
    assert_eq!(e.errno(), Some(libc::ENOENT));
    let e = s
        .execute(&Request::DelDest(
            k,
            DestKey {
                addr: ip("10.0.1.9"),
                port: 80,
            },
        ))
        .unwrap_err();
    println!("missing dest: {e}");
    assert_eq!(e.errno(), Some(libc::ENOENT));
    let e = s
        .execute(&Request::DelService(ServiceKey::udp(ip("10.0.0.1"), 80)))
        .unwrap_err();
    println!("missing service: {e}");
    assert_eq!(e.errno(), Some(libc::ESRCH));
    let mixed = Dest::new(ip("2001:db8::1"), 80, FwdMethod::Masq, 1);
    let e = s.execute(&Request::NewDest(k, mixed)).unwrap_err();
    println!("mixed family NAT dest: {e}");

    let mut svc = Service::new(k, Scheduler::Lc);
    svc.flags = ServiceFlags::PERSISTENT;
    svc.timeout = 120;
    s.execute(&Request::SetService(svc.clone())).unwrap();
    let mut d2 = d.clone();
    d2.weight = 9;
    d2.fwd = FwdMethod::Route;
    s.execute(&Request::SetDest(k, d2.clone())).unwrap();
    let t = s.table().unwrap();
    assert!(t.service(&k).unwrap().service.same_config(&svc));
    assert!(t.dest(&k, &d.key()).unwrap().same_config(&d2));
    assert_eq!(
        ipvsadm_save(),
        sorted("-A -t 10.0.0.1:80 -s lc -p 120\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 9")
    );
    s.execute(&Request::DelDest(k, d.key())).unwrap();
    s.execute(&Request::DelService(k)).unwrap();
    assert_eq!(sh("ipvsadm -Sn"), "");

    s.execute(&Request::NewService(Service::new(k, Scheduler::Rr)))
        .unwrap();
    s.execute(&Request::Zero(None)).unwrap();
    s.execute(&Request::SetTimeouts(Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    }))
    .unwrap();
    assert_eq!(
        s.timeouts().unwrap(),
        Timeouts {
            tcp: 901,
            tcp_fin: 121,
            udp: 301
        }
    );
    println!(
        "ipvsadm -L --timeout: {}",
        sh("ipvsadm -L --timeout").trim()
    );
    s.flush().unwrap();
    assert!(s.table().unwrap().services.is_empty());
}

#[test]
#[ignore = "needs a kernel with IPVS: tests/vm/run-ipvs-vm.sh"]
fn reconcile_against_kernel() {
    let mut s = netns();
    let vip = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let mut vs = VirtualServerInput::new("web", VsTarget::Single(vip), Scheduler::Wlc);
    vs.lvs_method = FwdMethod::Route;
    vs.real_servers = vec![
        RealServerInput::new(ip("10.0.1.1"), 80, 1, Health::Up),
        RealServerInput::new(ip("10.0.1.2"), 80, 2, Health::Up),
    ];
    vs.real_servers[1].inhibit_on_failure = true;
    let group = VsTarget::Group {
        name: "G".into(),
        protocol: Protocol::Tcp,
        fwmark_af: Family::Inet,
        entries: vec![
            GroupEntry::Range {
                first: ip("10.0.5.1"),
                last: ip("10.0.5.3"),
                port: 443,
            },
            GroupEntry::Fwmark(9),
        ],
    };
    let mut g = VirtualServerInput::new("grp", group, Scheduler::Rr);
    g.real_servers = vec![RealServerInput::new(ip("10.0.6.1"), 443, 1, Health::Up)];
    let mut input = vec![vs, g];

    let mut owned = Owned::default();
    let mut state = ReconcileState::default();
    let mut reconcile = |s: &mut IpvsSocket, input: &[VirtualServerInput], owned: &mut Owned| {
        let d = compute(input, &state);
        state = d.state.clone();
        let before = s.writes();
        let t0 = Instant::now();
        let actual = s.table().unwrap();
        let ops = diff(&d.table, &actual, owned);
        let failed = s.apply(&ops, owned);
        assert!(failed.is_empty(), "{failed:?}");
        owned.claim(&d.table);
        (ops, s.writes() - before, t0.elapsed())
    };

    let (ops, writes, dt) = reconcile(&mut s, &input, &mut owned);
    println!(
        "initial reconcile: {} ops, {writes} writes, {dt:?}",
        ops.len()
    );
    assert_eq!(writes as usize, ops.len());
    assert_eq!(ops.len(), 1 + 2 + 4 * 2);
    let (ops, writes, dt) = reconcile(&mut s, &input, &mut owned);
    println!(
        "no-op reconcile: {} ops, {writes} writes, {dt:?}",
        ops.len()
    );
    assert_eq!(writes, 0, "a no-op reconcile must not write");

    // ipvsadm behind our back: weight change on ours, a foreign service and a
    // foreign dest inside our service.
    sh("ipvsadm -e -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 7");
    sh("ipvsadm -A -u 10.9.9.9:53 -s rr; ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.99:80 -g -w 1");
    let (ops, writes, _) = reconcile(&mut s, &input, &mut owned);
    println!("drift: {ops:?}");
    assert_eq!(writes, 1);
    assert!(matches!(&ops[..], [Op::EditDest(_, d)] if d.weight == 1));

    // RS down: inhibited one goes to weight 0, the other is removed.
    input[0].real_servers[0].health = Health::Down;
    input[0].real_servers[1].health = Health::Down;
    let (ops, _, _) = reconcile(&mut s, &input, &mut owned);
    println!("rs down: {ops:?}");
    assert_eq!(ops.len(), 2);
    let save = ipvsadm_save();
    assert!(
        save.contains("-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 0"),
        "{save}"
    );
    assert!(!save.contains("10.0.1.1:80"), "{save}");

    // Reload: scheduler change is an edit; the group loses one address.
    input[0].real_servers[0].health = Health::Up;
    input[0].real_servers[1].health = Health::Up;
    input[0].sched = Scheduler::Sed;
    if let VsTarget::Group { entries, .. } = &mut input[1].target {
        entries[0] = GroupEntry::Range {
            first: ip("10.0.5.1"),
            last: ip("10.0.5.2"),
            port: 443,
        };
    }
    let (ops, _, _) = reconcile(&mut s, &input, &mut owned);
    println!("reload: {ops:?}");
    assert!(!ops
        .iter()
        .any(|o| matches!(o, Op::DelService(k) if *k == vip)));
    assert!(ops.contains(&Op::DelService(ServiceKey::tcp(ip("10.0.5.3"), 443))));
    println!("ipvsadm -Ln after reload:\n{}", sh("ipvsadm -Ln"));

    // Stop: remove what we created; foreign entries stay.
    let t = s.table().unwrap();
    let failed = s.apply(&teardown(&t, &owned), &mut owned);
    assert!(failed.is_empty(), "{failed:?}");
    // Our service goes (with the foreign dest inside it, as in keepalived);
    // the foreign service stays.
    assert_eq!(ipvsadm_save(), "-A -u 10.9.9.9:53 -s rr");
}

#[test]
#[ignore = "needs a kernel with IPVS: tests/vm/run-ipvs-vm.sh"]
fn sync_daemon_start_stop() {
    let mut s = netns();
    sh("ip link add kv0 type veth peer name kv1 && ip link set kv0 up && ip link set kv1 up");
    let mut d = Daemon::new(DaemonState::Master, "kv0", 51);
    d.mcast_port = Some(8848);
    d.mcast_ttl = Some(1);
    s.execute(&Request::NewDaemon(d.clone())).unwrap();
    s.execute(&Request::NewDaemon(Daemon::new(
        DaemonState::Backup,
        "kv0",
        51,
    )))
    .unwrap();
    let got = s.daemons().unwrap();
    println!(
        "daemons: {got:?}\nipvsadm -L --daemon:\n{}",
        sh("ipvsadm -L --daemon")
    );
    assert_eq!(got.len(), 2);
    assert!(got.iter().any(|k| d.matches(k)));
    s.execute(&Request::DelDaemon(DaemonState::Master)).unwrap();
    s.execute(&Request::DelDaemon(DaemonState::Backup)).unwrap();
    assert!(s.daemons().unwrap().is_empty());
    let e = s
        .execute(&Request::DelDaemon(DaemonState::Backup))
        .unwrap_err();
    println!("stop non-running daemon: {e}");
}

#[test]
#[ignore = "needs a kernel with IPVS: tests/vm/run-ipvs-vm.sh"]
fn nonblocking_dump_and_bulk_timing() {
    let mut s = netns();
    let n = 1000u16;
    let t0 = Instant::now();
    for i in 0..n {
        let k = ServiceKey::tcp(IpAddr::from([10, 1, (i >> 8) as u8, i as u8]), 80);
        s.execute(&Request::NewService(Service::new(k, Scheduler::Rr)))
            .unwrap();
        for j in 1..=2u8 {
            s.execute(&Request::NewDest(
                k,
                Dest::new(IpAddr::from([10, 2, 0, j]), 80, FwdMethod::Route, 1),
            ))
            .unwrap();
        }
    }
    let add = t0.elapsed();
    let t1 = Instant::now();
    let t = s.table().unwrap();
    let dump = t1.elapsed();
    assert_eq!(
        (t.services.len(), t.len_dests()),
        (n as usize, 2 * n as usize)
    );
    println!(
        "{n} services x 2 dests: program {add:?} ({} writes), full dump {dump:?}",
        s.writes()
    );

    // The same service dump through the non-blocking path, as a mio loop would.
    s.set_nonblocking(true).unwrap();
    s.start(&Request::GetServices).unwrap();
    let mut polls = 0;
    let replies = loop {
        let mut pfd = libc::pollfd {
            fd: std::os::unix::io::AsRawFd::as_raw_fd(&s),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 5000) };
        polls += 1;
        if let Some(r) = s.on_readable().unwrap() {
            break r.unwrap();
        }
    };
    println!(
        "non-blocking dump: {} services in {polls} poll wakeups",
        replies.len()
    );
    assert_eq!(replies.len(), n as usize);
    s.set_nonblocking(false).unwrap();
    let t2 = Instant::now();
    s.flush().unwrap();
    println!("flush {:?}", t2.elapsed());
}

/// Parity with Debian's keepalived: the same virtual servers and the same
/// real-server health must give the same kernel table, and on stop both
/// remove everything they created. Health comes from MISC_CHECKs running
/// /bin/true or /bin/false.
#[test]
#[ignore = "needs a kernel with IPVS and keepalived: tests/vm/run-ipvs-vm.sh"]
fn keepalived_parity() {
    let mut s = netns();
    if sh("command -v keepalived").trim().is_empty() {
        println!("keepalived not installed: skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kars-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    let head_a = r#"
global_defs {
    router_id kars-parity
    script_user root
}
virtual_server 10.0.0.1 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol TCP
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    quorum 2
    sorry_server 10.0.9.9 80
    sorry_server_lvs_method NAT
    real_server 10.0.1.1 80 {
        weight 1
        MISC_CHECK { misc_path /bin/true }
    }
    real_server 10.0.1.2 80 {
        weight 3
        inhibit_on_failure
        MISC_CHECK { misc_path /bin/false }
    }
}
"#;
    let vs_b1 = r#"virtual_server 10.0.0.2 443 {
    delay_loop 1
    lb_algo sh
    lb_kind NAT
    protocol TCP
    real_server 10.0.2.1 8443 {
        weight 2
        MISC_CHECK { misc_path /bin/true }
    }
    real_server 10.0.2.2 8443 {
        weight 5
        inhibit_on_failure
        MISC_CHECK { misc_path /bin/false }
    }
    real_server 10.0.2.3 8443 {
        weight 1
        MISC_CHECK { misc_path /bin/false }
    }
}
"#;
    let vs_b2 = r#"virtual_server 10.0.0.2 443 {
    delay_loop 1
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server 10.0.2.1 8443 {
        weight 7
        MISC_CHECK { misc_path /bin/true }
    }
    real_server 10.0.2.4 8443 {
        weight 1
        MISC_CHECK { misc_path /bin/true }
    }
    real_server 10.0.2.3 8443 {
        weight 1
        MISC_CHECK { misc_path /bin/false }
    }
}
"#;
    let vs_g = r#"virtual_server_group G {
    10.0.5.1-3 80
    fwmark 9
}
virtual_server group G {
    delay_loop 1
    lb_algo lc
    lb_kind NAT
    protocol TCP
    alpha
    real_server 10.0.6.1 80 {
        weight 1
        MISC_CHECK { misc_path /bin/true }
    }
    real_server 10.0.6.2 80 {
        weight 1
        MISC_CHECK { misc_path /bin/false }
    }
}
"#;
    let vs_c = r#"virtual_server fwmark 7 {
    delay_loop 1
    lb_algo rr
    lb_kind TUN
    sorry_server 10.0.9.8 0
    sorry_server_inhibit
    real_server 10.0.3.1 0 {
        weight 4
        MISC_CHECK { misc_path /bin/true }
    }
}
"#;
    std::fs::write(&conf, format!("{head_a}{vs_b1}{vs_g}{vs_c}")).unwrap();
    let d = dir.display();
    let ka = Command::new("keepalived")
        .args(["--check", "--dont-fork", "--log-console", "--use-file"])
        .arg(&conf)
        .args([
            "--pid",
            &format!("{d}/k.pid"),
            "--checkers_pid",
            &format!("{d}/c.pid"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("keepalived");
    // Let the failing checks fail (TCG is slow: poll up to 30 s).
    let settled = "-a -t 10.0.0.1:80 -r 10.0.9.9:80 -m -w 1";
    let mut theirs = String::new();
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        theirs = ipvsadm_save();
        if theirs.contains(settled)
            && !theirs.contains("10.0.2.3")
            && theirs.contains("10.0.2.2:8443 -m -w 0")
            && theirs.matches("10.0.6.1:80").count() == 4
        {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            theirs = ipvsadm_save();
            break;
        }
    }
    println!("keepalived 2.2.7 programmed:\n{theirs}");
    // Reload: scheduler and weight changes, one RS replaced, one VS removed.
    std::fs::write(&conf, format!("{head_a}{vs_b2}{vs_g}")).unwrap();
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(ka.id() as i32, libc::SIGHUP) };
    let mut theirs2 = String::new();
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        theirs2 = ipvsadm_save();
        if theirs2.contains("-A -t 10.0.0.2:443 -s wlc")
            && theirs2.contains("10.0.2.4:8443")
            && theirs2.contains("10.0.2.1:8443 -m -w 7")
            && !theirs2.contains("-f 7")
            && !theirs2.contains("10.0.2.2")
        {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            theirs2 = ipvsadm_save();
            break;
        }
    }
    println!("keepalived 2.2.7 after reload:\n{theirs2}");
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(ka.id() as i32, libc::SIGTERM) };
    let out = ka.wait_with_output().unwrap();
    assert!(
        out.status.success() || out.status.code().is_none(),
        "{out:?}"
    );
    let after = ipvsadm_save();
    println!("after keepalived stopped: {after:?}");
    assert_eq!(after, "", "keepalived removes what it created");

    // The same through our reconciler.
    let mut a = VirtualServerInput::new(
        "a",
        VsTarget::Single(ServiceKey::tcp(ip("10.0.0.1"), 80)),
        Scheduler::Wrr,
    );
    a.lvs_method = FwdMethod::Route;
    a.persistence_timeout = Some(300);
    a.persistence_granularity = Some(0xffff_ff00);
    a.quorum = 2;
    a.sorry_server = Some(SorryServerInput {
        addr: ip("10.0.9.9"),
        port: 80,
        weight: 1,
        lvs_method: Some(FwdMethod::Masq),
        inhibit: false,
    });
    a.real_servers = vec![
        RealServerInput::new(ip("10.0.1.1"), 80, 1, Health::Up),
        RealServerInput::new(ip("10.0.1.2"), 80, 3, Health::Down),
    ];
    a.real_servers[1].inhibit_on_failure = true;
    let mut b = VirtualServerInput::new(
        "b",
        VsTarget::Single(ServiceKey::tcp(ip("10.0.0.2"), 443)),
        Scheduler::Sh,
    );
    b.real_servers = vec![
        RealServerInput::new(ip("10.0.2.1"), 8443, 2, Health::Up),
        RealServerInput::new(ip("10.0.2.2"), 8443, 5, Health::Down),
        RealServerInput::new(ip("10.0.2.3"), 8443, 1, Health::Down),
    ];
    b.real_servers[1].inhibit_on_failure = true;
    let mut c = VirtualServerInput::new(
        "c",
        VsTarget::Single(ServiceKey::fwmark(Family::Inet, 7)),
        Scheduler::Rr,
    );
    c.lvs_method = FwdMethod::Tunnel;
    c.sorry_server = Some(SorryServerInput {
        addr: ip("10.0.9.8"),
        port: 0,
        weight: 1,
        lvs_method: None,
        inhibit: true,
    });
    c.real_servers = vec![RealServerInput::new(ip("10.0.3.1"), 0, 4, Health::Up)];
    let group = VsTarget::Group {
        name: "G".into(),
        protocol: Protocol::Tcp,
        fwmark_af: Family::Inet,
        entries: vec![
            GroupEntry::Range {
                first: ip("10.0.5.1"),
                last: ip("10.0.5.3"),
                port: 80,
            },
            GroupEntry::Fwmark(9),
        ],
    };
    let mut g = VirtualServerInput::new("g", group, Scheduler::Lc);
    g.alpha = true;
    g.real_servers = vec![
        RealServerInput::new(ip("10.0.6.1"), 80, 1, Health::Up),
        RealServerInput::new(ip("10.0.6.2"), 80, 1, Health::Unknown),
    ];
    let desired = compute(
        &[a.clone(), b.clone(), c, g.clone()],
        &ReconcileState::default(),
    );
    let mut owned = Owned::default();
    let ops = diff(&desired.table, &s.table().unwrap(), &owned);
    assert!(s.apply(&ops, &mut owned).is_empty());
    owned.claim(&desired.table);
    let ours = ipvsadm_save();
    println!("keepalived-ipvs programmed:\n{ours}");
    assert_eq!(ours, theirs, "same table as keepalived");

    // The same reload.
    b.sched = Scheduler::Wlc;
    b.real_servers[0].weight = 7;
    b.real_servers[1] = RealServerInput::new(ip("10.0.2.4"), 8443, 1, Health::Up);
    let desired2 = compute(&[a, b, g], &desired.state);
    let ops = diff(&desired2.table, &s.table().unwrap(), &owned);
    println!("reload ops: {ops:?}");
    assert_eq!(ops.len(), 5, "{ops:?}");
    assert!(s.apply(&ops, &mut owned).is_empty());
    owned.claim(&desired2.table);
    let ours2 = ipvsadm_save();
    assert_eq!(ours2, theirs2, "same table as keepalived after reload");
    let t = s.table().unwrap();
    assert!(s.apply(&teardown(&t, &owned), &mut owned).is_empty());
    assert_eq!(ipvsadm_save(), "");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reload that only changes scheduler/weight edits in place: the
/// destination keeps its connection entries (a delete + add would start a
/// new destination with zero connections).
#[test]
#[ignore = "needs a kernel with IPVS: tests/vm/run-ipvs-vm.sh"]
fn edits_keep_connections() {
    let mut s = netns();
    sh(
        "ip addr add 10.0.0.1/32 dev lo; ip link add kv0 type veth peer name kv1; \
        ip addr add 10.0.1.254/24 dev kv0; ip link set kv0 up; ip link set kv1 up",
    );
    let vip = ServiceKey::udp(ip("10.0.0.1"), 5000);
    let mut vs = VirtualServerInput::new("u", VsTarget::Single(vip), Scheduler::Rr);
    vs.real_servers = vec![RealServerInput::new(ip("10.0.1.1"), 5000, 1, Health::Up)];
    let mut owned = Owned::default();
    let mut state = ReconcileState::default();
    let mut run = |s: &mut IpvsSocket, input: &[VirtualServerInput]| {
        let d = compute(input, &state);
        state = d.state.clone();
        let ops = diff(&d.table, &s.table().unwrap(), &owned);
        assert!(s.apply(&ops, &mut owned).is_empty());
        owned.claim(&d.table);
        ops
    };
    run(&mut s, std::slice::from_ref(&vs));
    // A local UDP client: IPVS schedules it in LOCAL_OUT and creates a connection.
    sh("for i in 1 2 3; do bash -c \"exec 3<>/dev/udp/10.0.0.1/5000; echo x >&3\" ; done");
    let conns = |s: &mut IpvsSocket| {
        let d = s.dests(&vip).unwrap();
        d[0].active_conns + d[0].inact_conns
    };
    let before = conns(&mut s);
    println!("ipvsadm -Lnc:\n{}", sh("ipvsadm -Lnc"));
    assert!(before >= 1, "no IPVS connection created");
    vs.sched = Scheduler::Wrr;
    vs.real_servers[0].weight = 5;
    vs.persistence_timeout = Some(600);
    let ops = run(&mut s, std::slice::from_ref(&vs));
    println!("reload ops: {ops:?}");
    assert!(ops
        .iter()
        .all(|o| matches!(o, Op::EditService(_) | Op::EditDest(..))));
    assert_eq!(conns(&mut s), before, "connections kept across the edit");
    println!("ipvsadm -Ln after edit:\n{}", sh("ipvsadm -Ln"));
}
