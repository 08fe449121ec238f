//! keepalived semantics of the sans-IO reconciler (desired table + diff),
//! checked against a simulated kernel table.

use std::net::IpAddr;

use keepalived_ipvs::desired::*;
use keepalived_ipvs::diff::*;
use keepalived_ipvs::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn vip() -> ServiceKey {
    ServiceKey::tcp(ip("10.0.0.1"), 80)
}
fn rs(a: &str, w: u32, h: Health) -> RealServerInput {
    RealServerInput::new(ip(a), 80, w, h)
}
fn vs(rss: Vec<RealServerInput>) -> VirtualServerInput {
    let mut v = VirtualServerInput::new("vs1", VsTarget::Single(vip()), Scheduler::Wrr);
    v.lvs_method = FwdMethod::Route;
    v.real_servers = rss;
    v
}
fn dk(a: &str) -> DestKey {
    DestKey {
        addr: ip(a),
        port: 80,
    }
}

/// ipvsd in miniature: compute, diff, apply to the fake kernel, claim.
struct Sim {
    kernel: Table,
    owned: Owned,
    state: ReconcileState,
}

impl Sim {
    fn new() -> Self {
        Sim {
            kernel: Table::new(),
            owned: Owned::default(),
            state: ReconcileState::default(),
        }
    }
    fn step(&mut self, input: &[VirtualServerInput]) -> (Vec<Op>, Vec<Event>) {
        let d = compute(input, &self.state);
        let ops = diff(&d.table, &self.kernel, &self.owned);
        for op in &ops {
            apply_to_table(&mut self.kernel, op);
            self.owned.record(op);
        }
        self.owned.claim(&d.table);
        self.state = d.state;
        // Convergence: a second diff is always empty.
        assert_eq!(diff(&d.table, &self.kernel, &self.owned), vec![]);
        (ops, d.events)
    }
    fn weight(&self, k: &ServiceKey, a: &str) -> Option<u32> {
        self.kernel.dest(k, &dk(a)).map(|d| d.weight)
    }
}

#[test]
fn initial_programming_then_noop() {
    let mut sim = Sim::new();
    let input = [vs(vec![
        rs("10.0.1.1", 1, Health::Up),
        rs("10.0.1.2", 2, Health::Up),
    ])];
    let (ops, ev) = sim.step(&input);
    assert_eq!(ops.len(), 3);
    assert!(matches!(&ops[0], Op::AddService(s) if s.key == vip() && s.sched == Scheduler::Wrr));
    assert!(ev.is_empty());
    assert_eq!(
        sim.kernel.dest(&vip(), &dk("10.0.1.2")).unwrap().fwd,
        FwdMethod::Route
    );
    let (ops, _) = sim.step(&input);
    assert!(ops.is_empty(), "no-op reconcile must not write: {ops:?}");
}

#[test]
fn rs_down_removed_or_inhibited_and_back() {
    let mut sim = Sim::new();
    let mut input = vec![vs(vec![
        rs("10.0.1.1", 1, Health::Up),
        rs("10.0.1.2", 5, Health::Up),
    ])];
    input[0].real_servers[1].inhibit_on_failure = true;
    sim.step(&input);

    input[0].real_servers[0].health = Health::Down;
    input[0].real_servers[1].health = Health::Down;
    let (ops, _) = sim.step(&input);
    assert!(ops.contains(&Op::DelDest(vip(), dk("10.0.1.1"))));
    assert!(ops
        .iter()
        .any(|o| matches!(o, Op::EditDest(_, d) if d.key() == dk("10.0.1.2") && d.weight == 0)));
    assert_eq!(ops.len(), 2);
    assert_eq!(sim.weight(&vip(), "10.0.1.1"), None);
    assert_eq!(sim.weight(&vip(), "10.0.1.2"), Some(0));

    input[0].real_servers[0].health = Health::Up;
    input[0].real_servers[1].health = Health::Up;
    let (ops, _) = sim.step(&input);
    assert!(
        matches!(&ops[..], [Op::EditDest(_, a), Op::AddDest(_, b)] | [Op::AddDest(_, b), Op::EditDest(_, a)]
        if a.weight == 5 && b.weight == 1)
    );
}

#[test]
fn weight_and_scheduler_changes_are_edits_in_place() {
    let mut sim = Sim::new();
    let mut input = vec![vs(vec![rs("10.0.1.1", 1, Health::Up)])];
    sim.step(&input);
    input[0].real_servers[0].weight = 7;
    let (ops, _) = sim.step(&input);
    assert!(matches!(&ops[..], [Op::EditDest(k, d)] if *k == vip() && d.weight == 7));
    // Reload with another scheduler and persistence: SET_SERVICE, no delete.
    input[0].sched = Scheduler::Sh;
    input[0].flags = ServiceFlags::SCHED_FALLBACK;
    input[0].persistence_timeout = Some(300);
    input[0].persistence_granularity = Some(0xffff_ff00);
    let (ops, _) = sim.step(&input);
    assert_eq!(ops.len(), 1);
    let Op::EditService(s) = &ops[0] else {
        panic!("{ops:?}")
    };
    assert_eq!(
        s.flags,
        ServiceFlags::PERSISTENT | ServiceFlags::SCHED_FALLBACK
    );
    assert_eq!((s.timeout, s.netmask), (300, 0xffff_ff00));
    // fwd method change is also an edit.
    input[0].real_servers[0].fwd = Some(FwdMethod::Masq);
    let (ops, _) = sim.step(&input);
    assert!(matches!(&ops[..], [Op::EditDest(_, d)] if d.fwd == FwdMethod::Masq));
}

#[test]
fn drift_on_owned_entries_is_restored() {
    let mut sim = Sim::new();
    let input = [vs(vec![
        rs("10.0.1.1", 3, Health::Up),
        rs("10.0.1.2", 3, Health::Up),
    ])];
    sim.step(&input);
    // ipvsadm -e ... -w 9 ; ipvsadm -d ... ; ipvsadm -E -s rr
    sim.kernel
        .services
        .get_mut(&vip())
        .unwrap()
        .dests
        .get_mut(&dk("10.0.1.1"))
        .unwrap()
        .weight = 9;
    sim.kernel
        .services
        .get_mut(&vip())
        .unwrap()
        .dests
        .remove(&dk("10.0.1.2"));
    sim.kernel.services.get_mut(&vip()).unwrap().service.sched = Scheduler::Rr;
    let (ops, _) = sim.step(&input);
    assert_eq!(ops.len(), 3, "{ops:?}");
    assert!(matches!(&ops[0], Op::EditService(s) if s.sched == Scheduler::Wrr));
    // Whole service deleted behind our back: re-created with its dests.
    sim.kernel.services.remove(&vip());
    let (ops, _) = sim.step(&input);
    assert_eq!(ops.len(), 3);
    assert!(matches!(&ops[0], Op::AddService(_)));
}

#[test]
fn foreign_entries_are_left_alone_and_survive_stop() {
    let mut sim = Sim::new();
    let input = [vs(vec![rs("10.0.1.1", 1, Health::Up)])];
    sim.step(&input);
    let foreign = ServiceKey::udp(ip("10.9.9.9"), 53);
    sim.kernel.add_service(Service::new(foreign, Scheduler::Rr));
    sim.kernel
        .add_dest(&foreign, Dest::new(ip("10.9.9.10"), 53, FwdMethod::Masq, 1));
    sim.kernel
        .add_dest(&vip(), Dest::new(ip("10.0.1.99"), 80, FwdMethod::Masq, 1));
    let (ops, _) = sim.step(&input);
    assert!(ops.is_empty(), "{ops:?}");
    let ops = teardown(&sim.kernel, &sim.owned);
    assert_eq!(ops, vec![Op::DelService(vip())]);
}

#[test]
fn removed_from_config_is_deleted() {
    let mut sim = Sim::new();
    let mut input = vec![vs(vec![
        rs("10.0.1.1", 1, Health::Up),
        rs("10.0.1.2", 1, Health::Up),
    ])];
    let mut other = VirtualServerInput::new(
        "vs2",
        VsTarget::Single(ServiceKey::tcp(ip("10.0.0.2"), 443)),
        Scheduler::Rr,
    );
    other.real_servers = vec![rs("10.0.2.1", 1, Health::Up)];
    input.push(other);
    sim.step(&input);
    input[0].real_servers.pop();
    input.pop();
    let (ops, _) = sim.step(&input);
    assert_eq!(
        ops,
        vec![
            Op::DelService(ServiceKey::tcp(ip("10.0.0.2"), 443)),
            Op::DelDest(vip(), dk("10.0.1.2"))
        ]
    );
}

#[test]
fn quorum_with_hysteresis() {
    // quorum 3, hysteresis 1: lost below 2, regained at 4.
    let mut sim = Sim::new();
    let mut input = vec![vs((1..=4)
        .map(|i| rs(&format!("10.0.1.{i}"), 1, Health::Up))
        .collect())];
    input[0].quorum = 3;
    input[0].hysteresis = 1;
    let (_, ev) = sim.step(&input);
    assert!(ev.is_empty());
    assert!(sim.state.vs["vs1"].quorum_up);
    let mut seen = Vec::new();
    for (down, expect_up) in [
        (1, true),
        (2, true),
        (3, false),
        (2, false),
        (1, false),
        (0, true),
    ] {
        for (i, r) in input[0].real_servers.iter_mut().enumerate() {
            r.health = if i < down { Health::Down } else { Health::Up };
        }
        let (_, ev) = sim.step(&input);
        assert_eq!(sim.state.vs["vs1"].quorum_up, expect_up, "{down} down");
        seen.extend(ev);
    }
    assert_eq!(
        seen,
        vec![
            Event::QuorumDown {
                vs: "vs1".into(),
                weight_sum: 1,
                initial: false
            },
            Event::QuorumUp {
                vs: "vs1".into(),
                weight_sum: 4
            },
        ]
    );
}

#[test]
fn sorry_server_in_and_out() {
    let mut sim = Sim::new();
    let mut input = vec![vs(vec![
        rs("10.0.1.1", 1, Health::Up),
        rs("10.0.1.2", 1, Health::Up),
    ])];
    input[0].quorum = 2;
    input[0].real_servers[1].inhibit_on_failure = true;
    input[0].sorry_server = Some(SorryServerInput {
        addr: ip("10.0.9.9"),
        port: 80,
        weight: 1,
        lvs_method: Some(FwdMethod::Masq),
        inhibit: false,
    });
    sim.step(&input);
    assert_eq!(sim.weight(&vip(), "10.0.9.9"), None);

    // One down: sum 1 < 2 -> quorum lost, alive servers leave, sorry enters.
    input[0].real_servers[0].health = Health::Down;
    let (ops, ev) = sim.step(&input);
    assert_eq!(
        ev,
        vec![Event::QuorumDown {
            vs: "vs1".into(),
            weight_sum: 1,
            initial: false
        }]
    );
    assert_eq!(sim.weight(&vip(), "10.0.1.1"), None);
    assert_eq!(
        sim.weight(&vip(), "10.0.1.2"),
        Some(0),
        "inhibited RS stays at weight 0"
    );
    assert_eq!(
        sim.kernel.dest(&vip(), &dk("10.0.9.9")).unwrap().fwd,
        FwdMethod::Masq
    );
    assert_eq!(ops.len(), 3);

    // Back: sorry leaves, real servers return.
    input[0].real_servers[0].health = Health::Up;
    let (_, ev) = sim.step(&input);
    assert_eq!(
        ev,
        vec![Event::QuorumUp {
            vs: "vs1".into(),
            weight_sum: 2
        }]
    );
    assert_eq!(sim.weight(&vip(), "10.0.9.9"), None);
    assert_eq!(
        (
            sim.weight(&vip(), "10.0.1.1"),
            sim.weight(&vip(), "10.0.1.2")
        ),
        (Some(1), Some(1))
    );

    // sorry_server_inhibit: present at weight 0 while unused.
    input[0].sorry_server.as_mut().unwrap().inhibit = true;
    let (ops, _) = sim.step(&input);
    assert!(matches!(&ops[..], [Op::AddDest(_, d)] if d.weight == 0 && d.addr == ip("10.0.9.9")));
    input[0].real_servers[0].health = Health::Down;
    sim.step(&input);
    assert_eq!(sim.weight(&vip(), "10.0.9.9"), Some(1));
}

#[test]
fn starting_without_quorum_uses_sorry_server() {
    let mut sim = Sim::new();
    let mut input = vec![vs(vec![rs("10.0.1.1", 1, Health::Unknown)])];
    input[0].alpha = true;
    input[0].sorry_server = Some(SorryServerInput {
        addr: ip("10.0.9.9"),
        port: 80,
        weight: 1,
        lvs_method: None,
        inhibit: false,
    });
    let (_, ev) = sim.step(&input);
    assert_eq!(
        ev,
        vec![Event::QuorumDown {
            vs: "vs1".into(),
            weight_sum: 0,
            initial: true
        }]
    );
    assert_eq!(sim.weight(&vip(), "10.0.9.9"), Some(1));
    assert_eq!(
        sim.kernel.dest(&vip(), &dk("10.0.9.9")).unwrap().fwd,
        FwdMethod::Route
    );
}

#[test]
fn alpha_decides_unknown_health() {
    let mut input = vec![vs(vec![rs("10.0.1.1", 1, Health::Unknown)])];
    let d = compute(&input, &ReconcileState::default());
    assert!(
        d.table.dest(&vip(), &dk("10.0.1.1")).is_some(),
        "without alpha: up"
    );
    input[0].alpha = true;
    let d = compute(&input, &ReconcileState::default());
    assert!(
        d.table.dest(&vip(), &dk("10.0.1.1")).is_none(),
        "alpha: down until checked"
    );
}

#[test]
fn ha_suspend_freezes_health_without_vip() {
    let mut sim = Sim::new();
    let mut input = vec![vs(vec![rs("10.0.1.1", 1, Health::Up)])];
    input[0].ha_suspend = true;
    sim.step(&input);
    input[0].vip_present = false;
    input[0].real_servers[0].health = Health::Down;
    let (ops, _) = sim.step(&input);
    assert!(
        ops.is_empty(),
        "checks suspended while the VIP is elsewhere"
    );
    input[0].vip_present = true;
    let (ops, _) = sim.step(&input);
    assert_eq!(ops, vec![Op::DelDest(vip(), dk("10.0.1.1"))]);
}

#[test]
fn ha_suspend_from_the_start_keeps_the_starting_verdict() {
    // keepalived 2.2.7 never runs the checkers of a virtual server whose
    // address is not local: its real servers keep their starting state,
    // up (or down with alpha), whatever a check would say.
    let mut input = vec![vs(vec![
        rs("10.0.1.1", 3, Health::Up),
        rs("10.0.1.2", 1, Health::Down),
    ])];
    input[0].ha_suspend = true;
    input[0].vip_present = false;
    let d = compute(&input, &ReconcileState::default());
    assert_eq!(d.table.len_dests(), 2, "both in: {:?}", d.table);
    input[0].alpha = true;
    let d = compute(&input, &ReconcileState::default());
    assert_eq!(d.table.len_dests(), 0, "alpha: both down");
    // The VIP arrives: health counts again.
    input[0].alpha = false;
    let d1 = compute(&input, &ReconcileState::default());
    input[0].vip_present = true;
    let d2 = compute(&input, &d1.state);
    assert!(d2.table.dest(&vip(), &dk("10.0.1.1")).is_some());
    assert!(d2.table.dest(&vip(), &dk("10.0.1.2")).is_none());
}

#[test]
fn virtual_server_group_expansion() {
    let target = VsTarget::Group {
        name: "G".into(),
        protocol: Protocol::Tcp,
        fwmark_af: Family::Inet,
        entries: vec![
            GroupEntry::Range {
                first: ip("10.0.0.1"),
                last: ip("10.0.0.3"),
                port: 80,
            },
            GroupEntry::Range {
                first: ip("2001:db8::a"),
                last: ip("2001:db8::b"),
                port: 443,
            },
            GroupEntry::Fwmark(7),
        ],
    };
    let mut v = VirtualServerInput::new("g", target, Scheduler::Rr);
    v.real_servers = vec![
        rs("10.0.1.1", 1, Health::Up),
        rs("10.0.1.2", 1, Health::Down),
    ];
    let d = compute(&[v], &ReconcileState::default());
    assert_eq!(d.table.services.len(), 6);
    assert_eq!(d.table.len_dests(), 6);
    assert!(d
        .table
        .service(&ServiceKey::tcp(ip("10.0.0.2"), 80))
        .is_some());
    assert!(d
        .table
        .service(&ServiceKey::tcp(ip("2001:db8::b"), 443))
        .is_some());
    assert!(d
        .table
        .service(&ServiceKey::fwmark(Family::Inet, 7))
        .is_some());
    // Across octets (keepalived's `a.b.c.d-e.f.g.h` and `/len` forms).
    let r = expand_range(ip("10.0.0.254"), ip("10.0.1.1")).unwrap();
    assert_eq!(
        r,
        ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"]
            .map(ip)
            .to_vec()
    );
    assert_eq!(expand_range(ip("10.0.0.5"), ip("10.0.0.4")), None);
    assert_eq!(expand_range(ip("10.0.0.5"), ip("2001:db8::1")), None);
    assert_eq!(
        expand_range(ip("10.0.0.0"), ip("10.1.0.0")),
        None,
        "too many"
    );
    assert_eq!(
        expand_range(ip("2001:db8::fffe"), ip("2001:db8::1:1")).map(|v| v.len()),
        Some(4)
    );
}

#[test]
fn persistence_options() {
    let mut v = vs(vec![]);
    v.target = VsTarget::Single(ServiceKey::fwmark(Family::Inet6, 3));
    v.persistence_timeout = Some(60);
    v.persistence_granularity = Some(64);
    v.persistence_engine = Some("sip".into());
    v.flags = ServiceFlags::ONEPACKET;
    let d = compute(&[v], &ReconcileState::default());
    let s = &d
        .table
        .service(&ServiceKey::fwmark(Family::Inet6, 3))
        .unwrap()
        .service;
    assert_eq!(s.flags, ServiceFlags::PERSISTENT | ServiceFlags::ONEPACKET);
    assert_eq!(
        (s.timeout, s.netmask, s.pe_name.as_deref()),
        (60, 64, Some("sip"))
    );
}

#[test]
fn teardown_removes_only_ours() {
    let mut sim = Sim::new();
    let foreign = ServiceKey::tcp(ip("10.0.0.50"), 80);
    sim.kernel.add_service(Service::new(foreign, Scheduler::Rr));
    sim.kernel
        .add_dest(&foreign, Dest::new(ip("10.0.5.1"), 80, FwdMethod::Masq, 1));
    // Our config also names the foreign service: we adopt it and add a dest.
    let mut a = vs(vec![rs("10.0.1.1", 1, Health::Up)]);
    let mut b = VirtualServerInput::new("b", VsTarget::Single(foreign), Scheduler::Rr);
    b.real_servers = vec![rs("10.0.5.2", 1, Health::Up)];
    a.id = "a".into();
    let (ops, _) = sim.step(&[a.clone(), b]);
    assert_eq!(ops.len(), 3, "{ops:?}"); // add vip service+dest, add dest to existing service
                                         // Un-adopt: pretend we only own the dest we added there.
    sim.owned.services.remove(&foreign);
    sim.owned.dests.remove(&(
        foreign,
        DestKey {
            addr: ip("10.0.5.1"),
            port: 80,
        },
    ));
    let ops = teardown(&sim.kernel, &sim.owned);
    assert_eq!(
        ops,
        vec![
            Op::DelService(vip()),
            Op::DelDest(
                foreign,
                DestKey {
                    addr: ip("10.0.5.2"),
                    port: 80
                }
            )
        ]
    );
    assert_eq!(stop_events(&[a.clone()]), vec![]);
    a.omega = true;
    assert_eq!(
        stop_events(&[a]),
        vec![Event::QuorumDown {
            vs: "a".into(),
            weight_sum: 0,
            initial: false
        }]
    );
}

#[test]
fn sync_daemon_follows_vrrp_role() {
    let mut cfg = SyncDaemonInput {
        interface: "eth0".into(),
        sync_id: 51,
        maxlen: None,
        mcast_group: None,
        port: None,
        ttl: None,
        vrrp_master: false,
    };
    let mut owned = Owned::default();
    let want = desired_daemon(&cfg);
    let ops = diff_daemons(Some(&want), &[], &owned);
    assert_eq!(
        ops,
        vec![Op::StartDaemon(Daemon::new(
            DaemonState::Backup,
            "eth0",
            51
        ))]
    );
    ops.iter().for_each(|o| owned.record(o));
    let mut running = vec![Daemon::new(DaemonState::Backup, "eth0", 51)];
    running[0].sync_maxlen = Some(1472); // kernel default reported back
    assert!(diff_daemons(Some(&want), &running, &owned).is_empty());

    cfg.vrrp_master = true;
    let want = desired_daemon(&cfg);
    let ops = diff_daemons(Some(&want), &running, &owned);
    assert_eq!(
        ops,
        vec![
            Op::StopDaemon(DaemonState::Backup),
            Op::StartDaemon(want.clone())
        ]
    );
    // A master daemon with another sync id (drift) is restarted.
    let wrong = vec![Daemon::new(DaemonState::Master, "eth0", 9)];
    assert_eq!(
        diff_daemons(Some(&want), &wrong, &owned),
        vec![Op::StopDaemon(DaemonState::Master), Op::StartDaemon(want)]
    );
    owned.record(&Op::StartDaemon(Daemon::new(
        DaemonState::Master,
        "eth0",
        51,
    )));
    assert_eq!(
        teardown_daemons(&[Daemon::new(DaemonState::Master, "eth0", 51)], &owned),
        vec![Op::StopDaemon(DaemonState::Master)]
    );
    // Not configured: a daemon we never started stays.
    assert!(diff_daemons(
        None,
        &[Daemon::new(DaemonState::Master, "eth1", 1)],
        &Owned::default()
    )
    .is_empty());
}

#[test]
fn ops_map_to_requests() {
    let op = Op::EditDest(vip(), Dest::new(ip("10.0.1.1"), 80, FwdMethod::Masq, 2));
    assert!(matches!(op.to_request(), Request::SetDest(..)));
    assert!(op.to_request().is_write());
    assert!(!Request::GetServices.is_write());
}

#[test]
fn sync_daemon_states_follow_keepalived() {
    use keepalived_ipvs::diff::sync_daemon_states;
    // No VRRP instance: the checker runs both, all the time.
    assert_eq!(
        sync_daemon_states(SyncFollow::NoInstance),
        vec![DaemonState::Master, DaemonState::Backup]
    );
    // Never MASTER yet (INIT, BACKUP, FAULT at start): nothing runs.
    assert!(sync_daemon_states(SyncFollow::Instance {
        master: false,
        was_master: false
    })
    .is_empty());
    // MASTER: master only.
    for was_master in [false, true] {
        assert_eq!(
            sync_daemon_states(SyncFollow::Instance {
                master: true,
                was_master
            }),
            vec![DaemonState::Master]
        );
    }
    // Left MASTER: backup only.
    assert_eq!(
        sync_daemon_states(SyncFollow::Instance {
            master: false,
            was_master: true
        }),
        vec![DaemonState::Backup]
    );
}

#[test]
fn sync_daemon_set_transitions() {
    use keepalived_ipvs::diff::{desired_daemons, diff_daemon_set};
    let cfg = SyncDaemonInput {
        interface: "veth0".into(),
        sync_id: 7,
        maxlen: Some(1400),
        mcast_group: None,
        port: None,
        ttl: None,
        vrrp_master: false,
    };
    let mut owned = Owned::default();
    let mut kernel: Vec<Daemon> = Vec::new();
    let step = |follow: SyncFollow, owned: &mut Owned, kernel: &mut Vec<Daemon>| {
        let want = desired_daemons(&cfg, follow);
        let ops = diff_daemon_set(&want, kernel, owned);
        for op in &ops {
            owned.record(op);
            match op {
                Op::StartDaemon(d) => kernel.push(d.clone()),
                Op::StopDaemon(s) => kernel.retain(|d| d.state != *s),
                _ => unreachable!(),
            }
        }
        owned.claim_daemons(&want);
        // Converged: a second pass is a no-op.
        assert!(diff_daemon_set(&want, kernel, owned).is_empty());
        ops
    };
    let init = SyncFollow::Instance {
        master: false,
        was_master: false,
    };
    assert!(step(init, &mut owned, &mut kernel).is_empty());
    let master = SyncFollow::Instance {
        master: true,
        was_master: true,
    };
    let mut m = Daemon::new(DaemonState::Master, "veth0", 7);
    m.sync_maxlen = Some(1400);
    assert_eq!(
        step(master, &mut owned, &mut kernel),
        vec![Op::StartDaemon(m.clone())]
    );
    let backup = SyncFollow::Instance {
        master: false,
        was_master: true,
    };
    let mut b = m.clone();
    b.state = DaemonState::Backup;
    assert_eq!(
        step(backup, &mut owned, &mut kernel),
        vec![
            Op::StopDaemon(DaemonState::Master),
            Op::StartDaemon(b.clone())
        ]
    );
    // Configuration removed: what we started goes.
    assert_eq!(
        diff_daemon_set(&[], &kernel, &owned),
        vec![Op::StopDaemon(DaemonState::Backup)]
    );
    // Both at once without an instance.
    let ops = diff_daemon_set(
        &desired_daemons(&cfg, SyncFollow::NoInstance),
        &[],
        &Owned::default(),
    );
    assert_eq!(ops, vec![Op::StartDaemon(m), Op::StartDaemon(b)]);
}
