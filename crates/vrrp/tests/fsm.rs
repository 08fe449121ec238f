//! Replay tests: (time, input) sequences against the RFC clauses and
//! keepalived 2.2.7 behaviour, checked to the microsecond.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use keepalived_vrrp::*;

const INIT: State = State::Init;
const BACKUP: State = State::Backup;
const MASTER: State = State::Master;
const FAULT: State = State::Fault;

/// RFC 3768 6.4.1/6.4.2: both start as backup, the higher priority's
/// shorter skew makes it master at 3 s + (256-200)/256 s.
#[test]
fn startup_election_v2() {
    let mut sim = Sim::new(vec![cfg(1, 200), cfg(2, 100)]);
    sim.start_all();
    sim.run_until(10 * SEC);
    assert_eq!(
        sim.transitions(0),
        vec![
            (Duration::ZERO, INIT, BACKUP),
            (us(3_218_750), BACKUP, MASTER)
        ]
    );
    assert_eq!(sim.transitions(1), vec![(Duration::ZERO, INIT, BACKUP)]);
    assert!(sim.has_log(0, "(VI_1) Entering BACKUP STATE (init)"));
    assert!(sim.has_log(0, "(VI_1) Entering MASTER STATE"));
    let times: Vec<_> = sim.adverts(0).iter().map(|a| a.0).collect();
    let expect: Vec<_> = (0..7).map(|k| us(3_218_750) + k * SEC).collect();
    assert_eq!(times, expect);
    assert!(sim.adverts(1).is_empty());
    // VIPs added once, GARPs sent (5 now, 5 after garp_master_delay).
    let acts = sim.actions(0);
    assert!(acts.iter().any(|(t, a)| *t == us(3_218_750)
        && *a
            == Action::AddVips {
                addrs: vec![vip()],
                block_traffic: false
            }));
    let garps: Vec<_> = acts
        .iter()
        .filter(|(_, a)| matches!(a, Action::SendGarp(_)))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        garps,
        [vec![us(3_218_750); 5], vec![us(8_218_750); 5]].concat()
    );
}

/// Invalid packets of every kind are dropped, counted by cause, and change
/// nothing: no state change, and the master's advert rhythm stays exact.
#[test]
fn invalid_packet_stream_changes_nothing() {
    let mut sim = Sim::new(vec![cfg(1, 200), cfg(2, 100)]);
    sim.start_all();
    let attacker = ip(66);
    let good = |prio: u8| advert_from(attacker, Version::V2, prio, 1);
    let mut bad: Vec<(RxPacket, DropCause)> = Vec::new();
    let mut p = good(250);
    p.ttl = 254;
    bad.push((p, DropCause::BadTtl));
    let mut p = good(0);
    p.ttl = 1;
    bad.push((p, DropCause::BadTtl));
    let mut p = good(250);
    p.data[6] ^= 0xff;
    bad.push((p, DropCause::BadChecksum));
    bad.push((
        advert_from(attacker, Version::V3, 250, 100),
        DropCause::BadVersion,
    ));
    let mk = |f: &dyn Fn(&mut Advert)| {
        let mut a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 250,
            adver_int: 1,
            auth_type: 0,
            auth_data: [0; 8],
            addrs: vec![vip()],
        };
        f(&mut a);
        let dst = IpAddr::V4(MCAST_GROUP_V4);
        RxPacket {
            src: attacker,
            dst,
            ttl: 255,
            data: encode(&a, attacker, dst, ChecksumVariant::V2).unwrap(),
        }
    };
    bad.push((mk(&|a| a.vrid = 52), DropCause::WrongVrid));
    bad.push((mk(&|a| a.auth_type = 1), DropCause::AuthTypeMismatch));
    bad.push((mk(&|a| a.auth_type = 7), DropCause::InvalidAuthType));
    bad.push((mk(&|a| a.adver_int = 2), DropCause::IntervalMismatch));
    bad.push((mk(&|a| a.addrs.push(ip(101))), DropCause::AddrCountMismatch));
    bad.push((
        mk(&|a| a.addrs = vec![ip(101)]),
        DropCause::AddrListMismatch,
    ));
    let mut p = good(250);
    p.data.truncate(6);
    bad.push((p, DropCause::TooShort));
    let mut p = good(250);
    p.dst = ip(2);
    bad.push((p, DropCause::WrongDestination));
    // 10 packets/s from 5 s to 25 s, to both routers: far longer than
    // Master_Down_Interval (3.6 s).
    let n = 200;
    for k in 0..n {
        let (p, _) = &bad[k % bad.len()];
        let at = 5 * SEC + k as u32 * 100 * MS;
        sim.inject(at, 0, Input::Packet(p.clone()));
        sim.inject(at, 1, Input::Packet(p.clone()));
    }
    sim.run_until(30 * SEC);
    assert_eq!(
        sim.transitions(0),
        vec![
            (Duration::ZERO, INIT, BACKUP),
            (us(3_218_750), BACKUP, MASTER)
        ]
    );
    assert_eq!(sim.transitions(1), vec![(Duration::ZERO, INIT, BACKUP)]);
    let times: Vec<_> = sim.adverts(0).iter().map(|a| a.0).collect();
    let expect: Vec<_> = (0..27).map(|k| us(3_218_750) + k * SEC).collect();
    assert_eq!(times, expect, "advert rhythm intact");
    for r in 0..2 {
        let c = sim.routers[r].inst.counters();
        assert_eq!(c.total_dropped(), n as u64);
        for cause in DropCause::ALL {
            let expect = (0..n).filter(|k| bad[k % bad.len()].1 == cause).count() as u64;
            assert_eq!(c.dropped(cause), expect, "{}", cause.as_str());
        }
        assert_eq!(c.pri_zero_received, 0);
    }
    assert_eq!(sim.routers[1].inst.counters().adverts_received, 27);
}

/// v3 with 0.1 s adverts: rhythm of 100 ms, and a backup takes over
/// 3 x 100 ms + (156 x 10 cs)/256 = 360.937 ms after the last advert.
#[test]
fn v3_fast_adverts_and_takeover() {
    let mut sim = Sim::new(vec![v3(cfg(1, 200), 100 * MS), v3(cfg(2, 100), 100 * MS)]);
    sim.start_all();
    sim.run_until(2 * SEC);
    // 300 ms + 56*10*625/16 us = 321.875 ms.
    assert_eq!(sim.transitions(0)[1], (us(321_875), BACKUP, MASTER));
    let times: Vec<_> = sim.adverts(0).iter().map(|a| a.0).collect();
    assert_eq!(times.len(), 17);
    assert!(times.windows(2).all(|w| w[1] - w[0] == 100 * MS));
    assert_eq!(*times.last().unwrap(), us(1_921_875));
    sim.routers[0].connected = false;
    sim.run_until(3 * SEC);
    assert_eq!(
        sim.transitions(1),
        vec![
            (Duration::ZERO, INIT, BACKUP),
            (us(2_282_812), BACKUP, MASTER)
        ]
    );
}

/// A higher priority backup preempts: it discards the lower priority
/// adverts and takes over when its down timer runs out.
#[test]
fn preempt() {
    let mut sim = Sim::new(vec![cfg(1, 100), cfg(2, 200)]);
    sim.inject(Duration::ZERO, 0, Input::Startup);
    sim.inject(10 * SEC, 1, Input::Startup);
    sim.run_until(20 * SEC);
    assert_eq!(sim.transitions(0)[1], (us(3_609_375), BACKUP, MASTER));
    assert_eq!(
        sim.transitions(1),
        vec![(10 * SEC, INIT, BACKUP), (us(13_218_750), BACKUP, MASTER)]
    );
    assert_eq!(sim.transitions(0)[2], (us(13_218_750), MASTER, BACKUP));
    assert!(sim.has_log(
        1,
        "(VI_1) received lower priority (100) advert from 192.168.1.1 - discarding"
    ));
    assert!(sim.has_log(
        0,
        "(VI_1) Master received advert from 192.168.1.2 with higher priority 200, ours 100"
    ));
    assert!(sim.has_log(0, "(VI_1) Entering BACKUP STATE"));
    assert!(sim
        .actions(0)
        .iter()
        .any(|(t, a)| *t == us(13_218_750) && *a == Action::RemoveVips { addrs: vec![vip()] }));
}

#[test]
fn nopreempt_stays_backup() {
    let mut b = cfg(2, 200);
    b.preempt = false;
    let mut sim = Sim::new(vec![cfg(1, 100), b]);
    sim.inject(Duration::ZERO, 0, Input::Startup);
    sim.inject(10 * SEC, 1, Input::Startup);
    sim.run_until(60 * SEC);
    assert_eq!(sim.transitions(1), vec![(10 * SEC, INIT, BACKUP)]);
    assert_eq!(sim.state(0), MASTER);
}

/// preempt_delay 5 s: lower priority adverts are accepted until 5 s after
/// the first one, then discarded; takeover at last accepted + MDI.
#[test]
fn preempt_delay() {
    let mut b = cfg(2, 200);
    b.preempt_delay = 5 * SEC;
    let mut sim = Sim::new(vec![cfg(1, 100), b]);
    sim.inject(Duration::ZERO, 0, Input::Startup);
    sim.inject(10 * SEC, 1, Input::Startup);
    sim.run_until(30 * SEC);
    // first lower advert 10.609375 -> delay until 15.609375; 14.609375 is
    // the last accepted; 14.609375 + 3.21875 = 17.828125.
    assert_eq!(sim.transitions(1)[1], (us(17_828_125), BACKUP, MASTER));
    assert_eq!(sim.state(0), BACKUP);
}

/// RFC 6.4.2: on priority 0 the backup waits only Skew_Time.
#[test]
fn priority_zero_handover() {
    let mut sim = Sim::new(vec![cfg(1, 200), cfg(2, 100)]);
    sim.start_all();
    sim.inject(10 * SEC, 0, Input::Shutdown);
    sim.run_until(20 * SEC);
    assert!(sim.adverts(0).contains(&(10 * SEC, 0)));
    assert_eq!(sim.routers[0].inst.counters().pri_zero_sent, 1);
    assert_eq!(
        sim.transitions(0).last().unwrap(),
        &(10 * SEC, MASTER, INIT)
    );
    assert!(sim
        .actions(0)
        .contains(&(10 * SEC, Action::RemoveVips { addrs: vec![vip()] })));
    // skew(100) = 609375 us.
    assert_eq!(sim.transitions(1)[1], (us(10_609_375), BACKUP, MASTER));
}

/// Priority 255 (address owner, state derived MASTER) is master at once.
#[test]
fn owner_is_master_immediately() {
    let mut sim = Sim::new(vec![cfg(1, 255), cfg(2, 100)]);
    sim.start_all();
    sim.run_until(5 * SEC);
    assert_eq!(sim.transitions(0), vec![(Duration::ZERO, INIT, MASTER)]);
    assert_eq!(
        sim.logs(0),
        vec!["(VI_1) Entering MASTER STATE".to_string()]
    );
    assert_eq!(sim.adverts(0)[0], (Duration::ZERO, 255));
    assert_eq!(sim.state(1), BACKUP);
}

/// keepalived 2.2.7: `state MASTER` without being owner starts as BACKUP
/// with a full Master_Down_Interval (vrrp_init_state).
#[test]
fn state_master_non_owner_starts_backup() {
    let mut a = cfg(1, 150);
    a.initial_state = Some(InitialState::Master);
    let mut sim = Sim::new(vec![a]);
    sim.start_all();
    sim.run_until(5 * SEC);
    assert!(sim.has_log(0, "(VI_1) Entering BACKUP STATE (init)"));
    // 3 s + 106/256 s.
    assert_eq!(sim.transitions(0)[1], (us(3_414_062), BACKUP, MASTER));
}

/// RFC 5798 6.4.2: a v3 backup adopts the master's interval (and does not
/// refuse its adverts for the mismatch).
#[test]
fn v3_backup_adopts_advertised_interval() {
    let mut sim = Sim::new(vec![v3(cfg(1, 200), 2 * SEC), v3(cfg(2, 100), SEC)]);
    sim.inject(Duration::ZERO, 0, Input::Startup);
    sim.inject(7 * SEC, 1, Input::Startup);
    sim.run_until(11 * SEC);
    // A: 6 s + 56*200*625/16 us = 6.4375 s; adverts at 8.4375, 10.4375.
    assert_eq!(sim.transitions(0)[1], (us(6_437_500), BACKUP, MASTER));
    assert_eq!(sim.routers[1].inst.master_adver_int(), 2 * SEC);
    assert!(sim.has_log(
        1,
        "(VI_1) advertisement interval updated from 1000ms to 2000ms by master"
    ));
    assert_eq!(sim.routers[1].inst.counters().total_dropped(), 0);
    sim.routers[0].connected = false;
    sim.run_until(30 * SEC);
    // 10.4375 + 3 * 2 s + (156 * 200 cs)/256 = 10.4375 + 6 + 1.21875.
    assert_eq!(sim.transitions(1)[1], (us(17_656_250), BACKUP, MASTER));
    // As master it goes back to its own interval.
    let t: Vec<_> = sim.adverts(1).iter().map(|a| a.0).collect();
    assert_eq!(t[1] - t[0], SEC);
}

/// RFC 3768 7.1: v2 drops adverts with another interval.
#[test]
fn v2_refuses_interval_mismatch() {
    let mut a = cfg(1, 200);
    a.advert_int = 2 * SEC;
    let mut sim = Sim::new(vec![a, cfg(2, 100)]);
    sim.start_all();
    sim.run_until(10 * SEC);
    assert!(
        sim.routers[1]
            .inst
            .counters()
            .dropped(DropCause::IntervalMismatch)
            > 0
    );
    assert_eq!(sim.state(1), MASTER);
}

/// Peers that read v3 centiseconds as seconds would wait 300 s: we wait
/// 3 x 1 s + skew after a v3 advert carrying 100 cs.
#[test]
fn v3_interval_is_centiseconds() {
    let mut i = Instance::new(v3(cfg(2, 100), SEC)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    i.handle(
        Input::Packet(advert_from(ip(1), Version::V3, 200, 100)),
        t0 + SEC,
    );
    assert_eq!(i.next_deadline(), Some(t0 + SEC + us(3_609_375)));
}

/// Interface down: master goes FAULT (priority 0, VIPs removed), backup
/// takes over after Skew_Time; interface up: BACKUP, then preempts back.
#[test]
fn fault_on_interface_down_and_recovery() {
    let mut sim = Sim::new(vec![cfg(1, 200), cfg(2, 100)]);
    sim.start_all();
    sim.inject(10 * SEC, 0, Input::InterfaceDown);
    sim.inject(20 * SEC, 0, Input::InterfaceUp);
    sim.run_until(30 * SEC);
    assert_eq!(
        sim.transitions(0),
        vec![
            (Duration::ZERO, INIT, BACKUP),
            (us(3_218_750), BACKUP, MASTER),
            (10 * SEC, MASTER, FAULT),
            (20 * SEC, FAULT, BACKUP),
            (us(23_218_750), BACKUP, MASTER),
        ]
    );
    assert!(sim.has_log(0, "(VI_1) Entering FAULT STATE"));
    assert!(sim.adverts(0).contains(&(10 * SEC, 0)));
    assert_eq!(sim.transitions(1)[1], (us(10_609_375), BACKUP, MASTER));
    assert_eq!(sim.transitions(1)[2], (us(23_218_750), MASTER, BACKUP));
    // No adverts while in FAULT.
    assert!(!sim
        .adverts(0)
        .iter()
        .any(|(t, _)| *t > 10 * SEC && *t < 20 * SEC));
}

#[test]
fn startup_with_interface_down_is_fault() {
    let mut i = Instance::new(cfg(1, 100)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::InterfaceDown, t0);
    let out = i.handle(Input::Startup, t0);
    assert_eq!(i.state(), FAULT);
    assert!(out.contains(&Action::Log {
        level: LogLevel::Info,
        message: "(VI_1) Entering FAULT STATE (init)".into()
    }));
    assert_eq!(i.next_deadline(), None);
}

/// No address to send from (keepalived's "no IPv4 address for
/// interface"): FAULT from the start; one appearing brings the instance
/// up and its adverts carry it; losing it again is FAULT.
#[test]
fn no_source_address_is_fault_until_one_appears() {
    let mut i = Instance::new(cfg(1, 100)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Source(None), t0);
    i.handle(Input::Startup, t0);
    assert_eq!(i.state(), FAULT);
    assert_eq!(i.next_deadline(), None);
    let src: std::net::IpAddr = "10.0.0.9".parse().unwrap();
    i.handle(Input::Source(Some(src)), t0 + SEC);
    assert_eq!(i.state(), BACKUP);
    let down = i.next_deadline().expect("a down timer");
    let out = i.handle(Input::Timer, down);
    assert_eq!(i.state(), MASTER);
    let sent = out.iter().find_map(|a| match a {
        Action::SendAdvert { payload, .. } => Some(payload.clone()),
        _ => None,
    });
    assert!(sent.is_some(), "{out:?}");
    assert_eq!(i.config().src_addr, src);
    i.handle(Input::Source(None), down + SEC);
    assert_eq!(i.state(), FAULT);
}

/// `garp_extra_if`: while master, one gratuitous ARP per extra interface
/// address every interval (after the burst on taking over); none once it
/// is no longer master.
#[test]
fn garp_extra_if_announces_every_interval_while_master() {
    let mut c = cfg(1, 100);
    c.garp.master_repeat = 1;
    c.garp.master_delay = Duration::ZERO;
    let extra: std::net::Ipv4Addr = "10.77.0.100".parse().unwrap();
    c.garp.extra_if = vec![IpAddr::V4(extra)];
    c.garp.extra_if_interval = 2 * SEC;
    let mut i = Instance::new(c).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let down = i.next_deadline().unwrap();
    let out = i.handle(Input::Timer, down);
    assert_eq!(i.state(), MASTER);
    assert!(!out.contains(&Action::SendGarp(extra)), "{out:?}");
    let mut sent = Vec::new();
    let mut now = down;
    while now < down + 7 * SEC {
        now = i.next_deadline().unwrap();
        for a in i.handle(Input::Timer, now) {
            if a == Action::SendGarp(extra) {
                sent.push(now - down);
            }
        }
    }
    assert_eq!(sent, vec![2 * SEC, 4 * SEC, 6 * SEC]);
    // Backup again: no more.
    i.handle(Input::Shutdown, now);
    assert!(i.next_deadline().is_none_or(|d| d > now + 10 * SEC));
}

/// Tracking: weights move the effective priority (and a backup's down
/// timer by the Skew_Time change); weight 0 failing means FAULT.
#[test]
fn tracking_weights_and_fault() {
    let mut c = cfg(1, 100);
    c.tracks = vec![
        TrackConfig::new(TrackKind::Script, "chk_nginx", -20, false),
        TrackConfig::new(TrackKind::Interface, "eth1", 0, false),
        TrackConfig {
            initial: TrackStatus::Value(0),
            ..TrackConfig::new(TrackKind::File, "prio", 1, false)
        },
    ];
    let mut i = Instance::new(c).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    assert_eq!(i.next_deadline(), Some(t0 + us(3_609_375)));
    let out = i.handle(
        Input::Track {
            index: 0,
            status: TrackStatus::Down,
        },
        t0 + SEC,
    );
    assert!(out.contains(&Action::Log {
        level: LogLevel::Info,
        message: "(VI_1) Changing effective priority from 100 to 80".into()
    }));
    assert!(out.contains(&Action::PriorityChanged { from: 100, to: 80 }));
    // skew 609375 -> 687500 us.
    assert_eq!(i.next_deadline(), Some(t0 + us(3_687_500)));
    i.handle(
        Input::Track {
            index: 2,
            status: TrackStatus::Value(500),
        },
        t0 + SEC,
    );
    assert_eq!(i.effective_priority(), 254);
    i.handle(Input::Timer, t0 + 5 * SEC);
    assert_eq!(i.state(), MASTER);
    let out = i.handle(
        Input::Track {
            index: 1,
            status: TrackStatus::Down,
        },
        t0 + 6 * SEC,
    );
    assert_eq!(i.state(), FAULT);
    assert!(out
        .iter()
        .any(|a| matches!(a, Action::SendAdvert { priority: 0, .. })));
    assert!(out.contains(&Action::RemoveVips { addrs: vec![vip()] }));
    let out = i.handle(
        Input::Track {
            index: 1,
            status: TrackStatus::Up,
        },
        t0 + 7 * SEC,
    );
    assert_eq!(i.state(), BACKUP);
    assert!(out.contains(&Action::StateChanged {
        from: FAULT,
        to: BACKUP
    }));
}

#[test]
fn owner_priority_never_tracked() {
    let mut c = cfg(1, 255);
    c.tracks = vec![TrackConfig::new(TrackKind::Script, "chk", -50, false)];
    let mut i = Instance::new(c).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let out = i.handle(
        Input::Track {
            index: 0,
            status: TrackStatus::Down,
        },
        t0,
    );
    assert_eq!(i.effective_priority(), 255);
    assert!(!out
        .iter()
        .any(|a| matches!(a, Action::PriorityChanged { .. })));
}

/// Split-brain hygiene: a master hearing a lower priority answers at once
/// and re-sends its GARPs (now and after garp_lower_prio_delay).
#[test]
fn master_answers_lower_priority() {
    let mut sim = Sim::new(vec![cfg(1, 200)]);
    sim.start_all();
    sim.inject(
        10 * SEC,
        0,
        Input::Packet(advert_from(ip(9), Version::V2, 50, 1)),
    );
    sim.run_until(20 * SEC);
    assert!(sim.has_log(
        0,
        "(VI_1) Received advert from 192.168.1.9 with lower priority 50, ours 200, forcing new election"
    ));
    let acts = sim.actions(0);
    assert!(acts.contains(&(
        10 * SEC,
        Action::MasterRxLowerPriority {
            from: ip(9),
            priority: 50,
            ours: 200
        }
    )));
    let at = |t: Duration| {
        acts.iter()
            .filter(|(x, a)| *x == t && matches!(a, Action::SendGarp(_)))
            .count()
    };
    assert_eq!(at(10 * SEC), 5);
    assert_eq!(at(15 * SEC), 5);
    let times: Vec<_> = sim
        .adverts(0)
        .iter()
        .map(|a| a.0)
        .filter(|t| *t >= 9 * SEC)
        .collect();
    assert_eq!(times[..3], [us(9_218_750), 10 * SEC, 11 * SEC]);
}

/// `keepalivedctl garp`: a master sends its burst again at once; a
/// backup sends nothing.
#[test]
fn announce_resends_a_masters_garps_only() {
    let mut sim = Sim::new(vec![cfg(1, 200), cfg(2, 100)]);
    sim.start_all();
    sim.inject(20 * SEC, 0, Input::Announce);
    sim.inject(20 * SEC, 1, Input::Announce);
    sim.run_until(21 * SEC);
    let at = |n: usize, t: Duration| {
        sim.actions(n)
            .iter()
            .filter(|(x, a)| *x == t && matches!(a, Action::SendGarp(_)))
            .count()
    };
    assert_eq!(
        at(0, 20 * SEC),
        5,
        "the master's burst (garp_master_repeat)"
    );
    assert_eq!(at(1, 20 * SEC), 0, "a backup announces nothing");
    assert!(sim.has_log(
        0,
        "(VI_1) Sending gratuitous ARPs / unsolicited NAs on request"
    ));
}

#[test]
fn lower_prio_no_advert_keeps_rhythm() {
    let mut c = cfg(1, 200);
    c.lower_prio_no_advert = Some(true);
    let mut sim = Sim::new(vec![c]);
    sim.start_all();
    sim.inject(
        10 * SEC,
        0,
        Input::Packet(advert_from(ip(9), Version::V2, 50, 1)),
    );
    sim.run_until(12 * SEC);
    assert!(sim.has_log(
        0,
        "(VI_1) Received advert from 192.168.1.9 with lower priority 50, ours 200"
    ));
    let times: Vec<_> = sim
        .adverts(0)
        .iter()
        .map(|a| a.0)
        .filter(|t| *t >= 9 * SEC)
        .collect();
    assert_eq!(times, [us(9_218_750), us(10_218_750), us(11_218_750)]);
}

#[test]
fn equal_priority_tie_break_on_address() {
    let mut sim = Sim::new(vec![cfg(5, 100)]);
    sim.start_all();
    sim.inject(
        5 * SEC,
        0,
        Input::Packet(advert_from(ip(4), Version::V2, 100, 1)),
    );
    sim.inject(
        6 * SEC,
        0,
        Input::Packet(advert_from(ip(9), Version::V2, 100, 1)),
    );
    sim.run_until(7 * SEC);
    assert!(sim.has_log(
        0,
        "(VI_1) Received advert from 192.168.1.4 with lower priority 100, ours 100, forcing new election"
    ));
    assert!(sim.has_log(
        0,
        "(VI_1) Master received advert from 192.168.1.9 with same priority 100 but higher IP address than ours"
    ));
    assert_eq!(sim.state(0), BACKUP);
}

#[test]
fn two_owners_is_a_configuration_error() {
    let mut sim = Sim::new(vec![cfg(1, 255)]);
    sim.start_all();
    sim.inject(
        SEC,
        0,
        Input::Packet(advert_from(ip(9), Version::V2, 255, 1)),
    );
    sim.run_until(2 * SEC);
    assert!(sim.has_log(0, "(VI_1) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority"));
    assert!(sim.has_log(
        0,
        "(VI_1) Master received advert from 192.168.1.9 with higher priority 255, ours 254"
    ));
    assert_eq!(sim.state(0), BACKUP);
}

/// GARP pacing (vrrp_garp_interval) and refresh (garp_master_refresh).
#[test]
fn garp_interval_and_refresh() {
    let mut c = cfg(1, 255);
    c.garp.arp_interval = 10 * MS;
    c.garp.master_repeat = 3;
    c.garp.master_refresh = 60 * SEC;
    c.garp.master_refresh_repeat = 2;
    let mut sim = Sim::new(vec![c]);
    sim.start_all();
    sim.run_until(61 * SEC);
    let garps: Vec<_> = sim
        .actions(0)
        .into_iter()
        .filter(|(_, a)| matches!(a, Action::SendGarp(_)))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        garps,
        vec![
            Duration::ZERO,
            10 * MS,
            20 * MS,
            5 * SEC,
            5 * SEC + 10 * MS,
            5 * SEC + 20 * MS,
            60 * SEC,
            60 * SEC + 10 * MS
        ]
    );
}

#[test]
fn ipv6_sends_unsolicited_na() {
    let src: IpAddr = "fe80::1".parse().unwrap();
    let v: IpAddr = "2001:db8::100".parse().unwrap();
    let mut c = InstanceConfig::new("VI_6", 7, src, vec![v]);
    c.priority = 255;
    let mut i = Instance::new(c).unwrap();
    let out = i.handle(Input::Startup, std::time::Instant::now());
    assert_eq!(i.config().version, Version::V3, "IPv6 forces VRRPv3");
    assert_eq!(
        out.iter()
            .filter(|a| matches!(a, Action::SendNa(_)))
            .count(),
        5
    );
    assert!(out.iter().any(
        |a| matches!(a, Action::SendAdvert { dst, .. } if *dst == IpAddr::V6(MCAST_GROUP_V6))
    ));
}

/// Receiving accepts every v3/IPv4 checksum variant and counts which
/// each peer sends; sending uses keepalived's unless v3_checksum_as_v2.
#[test]
fn checksum_variants_counted_per_peer() {
    let mut i = Instance::new(v3(cfg(2, 100), SEC)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let dst = IpAddr::V4(MCAST_GROUP_V4);
    for (src, variant) in [
        (ip(1), ChecksumVariant::PseudoHeader),
        (ip(3), ChecksumVariant::NoPseudoHeader),
    ] {
        let a = Advert {
            version: Version::V3,
            vrid: 51,
            priority: 200,
            adver_int: 100,
            auth_type: 0,
            auth_data: [0; 8],
            addrs: vec![vip()],
        };
        let data = encode(&a, src, dst, variant).unwrap();
        i.handle(
            Input::Packet(RxPacket {
                src,
                dst,
                ttl: 255,
                data,
            }),
            t0,
        );
    }
    let c = i.counters();
    assert_eq!(c.total_dropped(), 0);
    assert_eq!(
        c.checksum_by_peer[&ip(1)][ChecksumVariant::PseudoHeader.index()],
        1
    );
    assert_eq!(
        c.checksum_by_peer[&ip(3)][ChecksumVariant::NoPseudoHeader.index()],
        1
    );

    let mut c = v3(cfg(1, 255), SEC);
    c.v3_checksum_as_v2 = true;
    let mut m = Instance::new(c).unwrap();
    let out = m.handle(Input::Startup, t0);
    let Some(Action::SendAdvert { payload, .. }) =
        out.iter().find(|a| matches!(a, Action::SendAdvert { .. }))
    else {
        panic!("no advert");
    };
    let d = decode(
        payload,
        &RxMeta {
            src: ip(1),
            dst,
            ttl: 255,
        },
    )
    .unwrap();
    assert_eq!(d.checksum, ChecksumVariant::NoPseudoHeader);
}

#[test]
fn auth_pass() {
    let mut a = cfg(1, 200);
    a.auth = Auth::pass("secret");
    let mut b = cfg(2, 100);
    b.auth = Auth::pass("secret");
    let mut c = cfg(3, 50);
    c.auth = Auth::pass("other");
    let mut sim = Sim::new(vec![a, b, c]);
    sim.start_all();
    sim.run_until(10 * SEC);
    assert_eq!(sim.state(0), MASTER);
    assert_eq!(sim.state(1), BACKUP);
    // B drops only C's adverts (wrong password), C drops A's and B's.
    let b = sim.routers[1].inst.counters();
    assert_eq!(b.total_dropped(), b.dropped(DropCause::AuthFailure));
    assert!(b.adverts_received > 0);
    assert!(
        sim.routers[2]
            .inst
            .counters()
            .dropped(DropCause::AuthFailure)
            > 0
    );
    assert_eq!(
        sim.state(2),
        MASTER,
        "auth mismatch means it hears no master"
    );
}

#[test]
fn unicast_peers_and_source_check() {
    let mut a = cfg(1, 255);
    a.unicast_peers = vec![ip(2), ip(3)];
    let mut i = Instance::new(a).unwrap();
    let t0 = std::time::Instant::now();
    let out = i.handle(Input::Startup, t0);
    let dsts: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { dst, .. } => Some(*dst),
            _ => None,
        })
        .collect();
    assert_eq!(dsts, vec![ip(2), ip(3)]);

    let mut b = cfg(2, 100);
    b.unicast_peers = vec![ip(1)];
    b.check_unicast_src = true;
    let mut i = Instance::new(b).unwrap();
    i.handle(Input::Startup, t0);
    let uni = |src: IpAddr, ttl: u8| {
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 200,
            adver_int: 1,
            auth_type: 0,
            auth_data: [0; 8],
            addrs: vec![vip()],
        };
        RxPacket {
            src,
            dst: ip(2),
            ttl,
            data: encode(&a, src, ip(2), ChecksumVariant::V2).unwrap(),
        }
    };
    i.handle(Input::Packet(uni(ip(7), 255)), t0);
    assert_eq!(i.counters().dropped(DropCause::NotUnicastPeer), 1);
    // Routed unicast: TTL is not checked (keepalived).
    i.handle(Input::Packet(uni(ip(1), 62)), t0 + SEC);
    assert_eq!(i.counters().adverts_received, 1);
    assert_eq!(i.next_deadline(), Some(t0 + SEC + us(3_609_375)));

    // `unicast_peer { ADDR min_ttl 250 max_ttl 255 }`: a routed advert
    // (TTL 62) from that peer is dropped with keepalived's message, one
    // sent on the link (255) is taken.
    let mut c = cfg(2, 100);
    c.unicast_peers = vec![ip(1)];
    c.check_unicast_src = true;
    c.peer_ttl = vec![(ip(1), 250, 255)];
    let mut i = Instance::new(c).unwrap();
    i.handle(Input::Startup, t0);
    let out = i.handle(Input::Packet(uni(ip(1), 62)), t0 + SEC);
    assert_eq!(i.counters().dropped(DropCause::BadTtl), 1);
    assert_eq!(i.counters().adverts_received, 0);
    assert!(
        out.iter().any(|a| matches!(a, Action::Log { message, .. }
            if message.contains("TTL/HL 62 not in range 250 - 255"))),
        "{out:?}"
    );
    i.handle(Input::Packet(uni(ip(1), 255)), t0 + 2 * SEC);
    assert_eq!(i.counters().adverts_received, 1);
}

#[test]
fn skip_check_adv_addr_only_for_current_master() {
    let other_list = |src: IpAddr| {
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 200,
            adver_int: 1,
            auth_type: 0,
            auth_data: [0; 8],
            addrs: vec![ip(150)],
        };
        let dst = IpAddr::V4(MCAST_GROUP_V4);
        RxPacket {
            src,
            dst,
            ttl: 255,
            data: encode(&a, src, dst, ChecksumVariant::V2).unwrap(),
        }
    };
    let t0 = std::time::Instant::now();
    for skip in [false, true] {
        let mut c = cfg(2, 100);
        c.skip_check_adv_addr = skip;
        let mut i = Instance::new(c).unwrap();
        i.handle(Input::Startup, t0);
        i.handle(Input::Packet(advert_from(ip(1), Version::V2, 200, 1)), t0);
        i.handle(Input::Packet(other_list(ip(1))), t0);
        i.handle(Input::Packet(other_list(ip(9))), t0);
        let c = i.counters();
        assert_eq!(
            c.dropped(DropCause::AddrListMismatch),
            if skip { 1 } else { 2 }
        );
    }
}

#[test]
fn no_ttl_check_bug_is_absent() {
    let mut i = Instance::new(cfg(2, 100)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let mut p = advert_from(ip(1), Version::V2, 200, 1);
    p.ttl = 64;
    i.handle(Input::Packet(p), t0 + SEC);
    assert_eq!(i.counters().dropped(DropCause::BadTtl), 1);
    assert_eq!(
        i.next_deadline(),
        Some(t0 + us(3_609_375)),
        "timer untouched"
    );
}

#[test]
fn own_looped_back_advert_is_dropped() {
    let mut i = Instance::new(cfg(1, 255)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    i.handle(Input::Packet(advert_from(ip(1), Version::V2, 255, 1)), t0);
    assert_eq!(i.counters().dropped(DropCause::OwnAddress), 1);
    assert_eq!(i.state(), MASTER);
}

#[test]
fn strict_mode_blocks_vip_traffic() {
    let mut c = cfg(1, 200);
    c.strict = true;
    let mut i = Instance::new(c).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let out = i.handle(Input::Timer, t0 + 4 * SEC);
    assert!(out.contains(&Action::AddVips {
        addrs: vec![vip()],
        block_traffic: true
    }));
    assert!(i.config().lower_prio_no_advert());
}

#[test]
fn config_normalisation_warnings() {
    let mut c = cfg(1, 100);
    c.initial_state = Some(InitialState::Master);
    c.preempt = false;
    c.advert_int = 1500 * MS;
    let mut i = Instance::new(c).unwrap();
    assert!(i.config().preempt, "nopreempt cleared with state MASTER");
    assert_eq!(i.config().advert_int, 2 * SEC);
    let out = i.handle(Input::Startup, std::time::Instant::now());
    assert!(out.iter().any(|a| matches!(a, Action::Log { level: LogLevel::Warning, message }
        if message == "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing")));
}

/// Drops are logged with keepalived's phrases: the first of each cause at
/// Info, later ones at Debug so a flood cannot flood syslog.
#[test]
fn drop_log_phrases_and_levels() {
    let mut i = Instance::new(cfg(2, 100)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let mut p = advert_from(ip(1), Version::V2, 200, 1);
    p.ttl = 64;
    let first = i.handle(Input::Packet(p.clone()), t0);
    let second = i.handle(Input::Packet(p), t0);
    let msg = "(VI_1) invalid TTL/HL. Received 64 and expect 255".to_string();
    assert_eq!(
        first,
        vec![Action::Log {
            level: LogLevel::Info,
            message: msg.clone()
        }]
    );
    assert_eq!(
        second,
        vec![Action::Log {
            level: LogLevel::Debug,
            message: msg
        }]
    );
    let mut p = advert_from(ip(1), Version::V2, 200, 1);
    p.data[7] ^= 1;
    let out = i.handle(Input::Packet(p), t0);
    assert_eq!(
        out,
        vec![Action::Log {
            level: LogLevel::Info,
            message: "(VI_1) Invalid VRRPv2 checksum".into()
        }]
    );
    let out = i.handle(Input::Packet(advert_from(ip(1), Version::V3, 200, 100)), t0);
    assert_eq!(
        out,
        vec![Action::Log {
            level: LogLevel::Info,
            message: "(VI_1) wrong version. Received 3 and expect 2".into()
        }]
    );
}

/// Raw IPv4 datagrams are parsed inside, so IP-level junk is counted too.
#[test]
fn ipv4_datagram_input() {
    let mut i = Instance::new(cfg(2, 100)).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let p = advert_from(ip(1), Version::V2, 200, 1);
    let (IpAddr::V4(s), IpAddr::V4(d)) = (p.src, p.dst) else {
        unreachable!()
    };
    let dgram = wrap_ipv4(s, d, &p.data);
    i.handle(Input::Ipv4Datagram(dgram.clone()), t0 + SEC);
    assert_eq!(i.counters().adverts_received, 1);
    assert_eq!(i.next_deadline(), Some(t0 + SEC + us(3_609_375)));
    let mut tcp = dgram.clone();
    tcp[9] = 6;
    i.handle(Input::Ipv4Datagram(tcp), t0 + SEC);
    let mut ah = dgram;
    ah[9] = 51;
    i.handle(Input::Ipv4Datagram(ah), t0 + SEC);
    i.handle(Input::Ipv4Datagram(vec![0x45; 10]), t0 + SEC);
    let c = i.counters();
    assert_eq!(c.dropped(DropCause::NotVrrp), 1);
    assert_eq!(c.dropped(DropCause::AhUnsupported), 1);
    assert_eq!(c.dropped(DropCause::TooShort), 1);
    assert_eq!(c.packets_received, 4);
}

#[test]
fn drop_cause_names_are_stable_and_unique() {
    let names: Vec<_> = DropCause::ALL.iter().map(|c| c.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), DropCause::COUNT);
    for (i, c) in DropCause::ALL.iter().enumerate() {
        assert_eq!(c.index(), i);
    }
    assert_eq!(DropCause::BadTtl.as_str(), "bad-ttl");
    assert_eq!(
        DropCause::from(DecodeError::BadChecksum),
        DropCause::BadChecksum
    );
}

#[test]
fn virtual_macs() {
    assert_eq!(virtual_mac(false, 51), [0x00, 0x00, 0x5e, 0x00, 0x01, 51]);
    assert_eq!(virtual_mac(true, 51), [0x00, 0x00, 0x5e, 0x00, 0x02, 51]);
}

/// A stream of lower priority adverts (a stranger's flood) gets at most one
/// answer per advert interval, not one per packet, and GARP bursts only
/// once per garp_lower_prio_delay: the master does not amplify it.
#[test]
fn lower_priority_stream_is_answered_once_per_interval() {
    let mut sim = Sim::new(vec![cfg(1, 200)]);
    sim.start_all();
    for k in 0..20u32 {
        sim.inject(
            10 * SEC + k * 100 * MS,
            0,
            Input::Packet(advert_from(ip(9), Version::V2, 50, 1)),
        );
    }
    sim.run_until(16 * SEC);
    let acts = sim.actions(0);
    let garps = |from: Duration, to: Duration| {
        acts.iter()
            .filter(|(t, a)| *t >= from && *t < to && matches!(a, Action::SendGarp(_)))
            .count()
    };
    assert_eq!(garps(10 * SEC, 12 * SEC), 5);
    assert_eq!(garps(15 * SEC, 16 * SEC), 5);
    let adverts: Vec<Duration> = sim
        .adverts(0)
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t >= 10 * SEC && *t < 13 * SEC)
        .collect();
    // An answer at 10 s re-arms the advert timer; the packets of the next
    // second are not answered; at 11 s the interval has passed (the
    // timer's advert and the answer are one send); then the rhythm goes on.
    assert_eq!(adverts, [10 * SEC, 11 * SEC, 12 * SEC]);
    let answered = acts
        .iter()
        .filter(|(_, a)| matches!(a, Action::MasterRxLowerPriority { .. }))
        .count();
    assert_eq!(answered, 2, "20 lower priority adverts, 2 answers");
}

/// higher_prio_send_advert: one last advert before stepping down.
#[test]
fn higher_prio_send_advert() {
    let t0 = std::time::Instant::now();
    for send in [false, true] {
        let mut c = cfg(1, 255);
        c.priority = 200;
        c.initial_state = None;
        c.higher_prio_send_advert = send;
        let mut i = Instance::new(c).unwrap();
        i.handle(Input::Startup, t0);
        i.handle(Input::Timer, t0 + 4 * SEC);
        let out = i.handle(
            Input::Packet(advert_from(ip(9), Version::V2, 250, 1)),
            t0 + 5 * SEC,
        );
        assert_eq!(
            out.iter()
                .any(|a| matches!(a, Action::SendAdvert { priority: 200, .. })),
            send
        );
        assert_eq!(i.state(), BACKUP);
    }
}

/// VRRPv3 over IPv6 end to end: election, adverts to ff02::12, checksum
/// with the IPv6 pseudo-header, hop limit checked.
#[test]
fn ipv6_election() {
    let vip6: IpAddr = "2001:db8::100".parse().unwrap();
    let mk = |src: &str, prio: u8| {
        let mut c = InstanceConfig::new("VI_6", 7, src.parse().unwrap(), vec![vip6]);
        c.version = Version::V3;
        c.priority = prio;
        c
    };
    let mut sim = Sim::new(vec![mk("fe80::1", 200), mk("fe80::2", 100)]);
    sim.start_all();
    sim.run_until(10 * SEC);
    assert_eq!(sim.transitions(0)[1], (us(3_218_750), BACKUP, MASTER));
    assert_eq!(sim.state(1), BACKUP);
    let c = sim.routers[1].inst.counters();
    assert_eq!(c.total_dropped(), 0);
    let peer: IpAddr = "fe80::1".parse().unwrap();
    assert_eq!(
        c.checksum_by_peer[&peer][ChecksumVariant::Ipv6PseudoHeader.index()],
        7
    );
}

/// The transitions of one instance alone on its link, over `secs`.
fn alone(c: InstanceConfig, secs: u32) -> Vec<(Duration, State, State)> {
    let mut sim = Sim::new(vec![c]);
    sim.start_all();
    sim.run_until(secs * SEC);
    sim.transitions(0)
}

/// `down_timer_adverts 5`: the backup takes over after 5 missed adverts
/// plus its skew (keepalived's VRRP_MS_DOWN_TIMER), not 3: alone from the
/// start, at 5 s + (256 - 100) / 256 s (3.609375 with 3).
#[test]
fn down_timer_adverts_lengthens_master_down() {
    let mut c = cfg(2, 100);
    c.down_timer_adverts = 5;
    assert_eq!(
        alone(c, 10),
        vec![
            (Duration::ZERO, INIT, BACKUP),
            (us(5_609_375), BACKUP, MASTER)
        ]
    );
}

/// `vrrp_startup_delay 4`: a starting backup's down timer counts from the
/// delay's end (keepalived's vrrp_init_instance_sands), and an owner, who
/// would be master at once, waits for the delay's end in BACKUP.
#[test]
fn startup_delay_postpones_the_first_takeover() {
    let mut b = cfg(2, 100);
    b.startup_delay = 4 * SEC;
    assert_eq!(
        alone(b, 20),
        vec![
            (Duration::ZERO, INIT, BACKUP),
            (us(7_609_375), BACKUP, MASTER)
        ]
    );
    let mut owner = cfg(1, 255);
    owner.startup_delay = 4 * SEC;
    assert_eq!(
        alone(owner, 20),
        vec![(Duration::ZERO, INIT, BACKUP), (4 * SEC, BACKUP, MASTER)]
    );
}

/// `unicast_fault_no_peer` with no peer: FAULT from the start, for good,
/// with keepalived's message.
#[test]
fn unicast_fault_no_peer_stays_in_fault() {
    let mut a = cfg(1, 200);
    a.no_peer_fault = true;
    let mut sim = Sim::new(vec![a]);
    sim.start_all();
    sim.run_until(20 * SEC);
    assert_eq!(sim.transitions(0), vec![(Duration::ZERO, INIT, FAULT)]);
    assert!(sim.has_log(
        0,
        "(VI_1) Cannot use unicast without any peers - going to fault state"
    ));
    assert!(sim.adverts(0).is_empty());
}

/// `auth_type AH` as keepalived 2.2.7 runs it: a sealed advert is taken,
/// the same sequence number again is a replay, a wrong password fails the
/// ICV, and a backup that takes over continues the master's sequence.
#[test]
fn ah_sequence_numbers_and_icv() {
    const KEY: [u8; 8] = *b"kars-ah1";
    let mut c = cfg(2, 100);
    c.auth = Auth::Ah(KEY);
    let mut i = Instance::new(c).unwrap();
    let t0 = std::time::Instant::now();
    i.handle(Input::Startup, t0);
    let sealed = |seq: u32, key: &[u8; 8]| {
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 200,
            adver_int: 1,
            auth_type: packet::AUTH_AH,
            auth_data: [0; 8],
            addrs: vec![vip()],
        };
        let (IpAddr::V4(s), d) = (ip(1), MCAST_GROUP_V4) else {
            unreachable!()
        };
        let data = encode(&a, ip(1), IpAddr::V4(d), ChecksumVariant::PseudoHeader).unwrap();
        let seal = ah::Seal {
            ttl: 255,
            id: seq as u16,
            seq,
            key,
            unicast: false,
        };
        ah::wrap(s, d, &data, &seal)
    };
    i.handle(Input::Ipv4Datagram(sealed(5, &KEY)), t0 + SEC);
    assert_eq!(i.counters().adverts_received, 1);
    let out = i.handle(Input::Ipv4Datagram(sealed(5, &KEY)), t0 + 2 * SEC);
    assert!(out.iter().any(|a| matches!(a, Action::Log { message, .. }
        if message == "(VI_1) IPSEC-AH : sequence number 5 already processed. Packet dropped. Local(5)")), "{out:?}");
    let out = i.handle(Input::Ipv4Datagram(sealed(6, b"other\0\0\0")), t0 + 2 * SEC);
    assert!(
        out.iter().any(|a| matches!(a, Action::Log { message, .. }
        if message.contains("invalid IPSEC HMAC-MD5 value"))),
        "{out:?}"
    );
    assert_eq!(i.counters().dropped(DropCause::AuthFailure), 2);
    // A plain advert (protocol 112) is not AH.
    let p = advert_from(ip(1), Version::V2, 200, 1);
    let (IpAddr::V4(s), IpAddr::V4(d)) = (p.src, p.dst) else {
        unreachable!()
    };
    i.handle(Input::Ipv4Datagram(wrap_ipv4(s, d, &p.data)), t0 + 2 * SEC);
    assert_eq!(i.counters().dropped(DropCause::AuthTypeMismatch), 1);
    // The master goes silent: we take over and go on from its number.
    let out = i.handle(Input::Timer, t0 + 5 * SEC);
    assert_eq!(i.state(), State::Master);
    let seqs: Vec<Option<u32>> = out
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { ah_seq, .. } => Some(*ah_seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, vec![Some(6)]);
}

/// keepalived 2.2.7's unicast VRRPv3 checksums (OLD_CHKSUM_COMPAT, as
/// Debian builds it): by default a peer's advert that checks only with the
/// old pseudo-header (224.0.0.18 whatever the destination) switches us to
/// sending the old one; `old_unicast_checksum` sends it from the start;
/// `old_unicast_checksum never` never switches.
#[test]
fn unicast_old_checksum_modes() {
    use keepalived_vrrp::config::UnicastChecksum;
    let t0 = std::time::Instant::now();
    let advert = |prio: u8| Advert {
        version: Version::V3,
        vrid: 51,
        priority: prio,
        adver_int: 100,
        auth_type: 0,
        auth_data: [0; 8],
        addrs: vec![vip()],
    };
    let from_peer = |variant: ChecksumVariant| RxPacket {
        src: ip(1),
        dst: ip(2),
        ttl: 255,
        data: encode(&advert(200), ip(1), ip(2), variant).unwrap(),
    };
    let sent_variant = |out: &[Action]| {
        out.iter().find_map(|a| match a {
            Action::SendAdvert { payload, dst, .. } => {
                let meta = RxMeta {
                    src: ip(2),
                    dst: *dst,
                    ttl: 255,
                };
                decode(payload, &meta).ok().map(|d| d.checksum)
            }
            _ => None,
        })
    };
    let mk = |mode: UnicastChecksum| {
        let mut c = v3(cfg(2, 100), Duration::from_secs(1));
        c.unicast_peers = vec![ip(1)];
        c.unicast_checksum = mode;
        let mut i = Instance::new(c).unwrap();
        i.handle(Input::Startup, t0);
        i
    };
    // Auto: the old one heard, the old one sent from then on.
    let mut i = mk(UnicastChecksum::Auto);
    let out = i.handle(
        Input::Packet(from_peer(ChecksumVariant::GroupPseudoHeader)),
        t0,
    );
    assert!(
        out.iter().any(|a| matches!(a, Action::Log { message, .. }
        if message == "(VI_1) Setting unicast VRRPv3 checksum to old version")),
        "{out:?}"
    );
    let out = i.handle(Input::Timer, t0 + Duration::from_secs(10));
    assert_eq!(i.state(), State::Master);
    assert_eq!(sent_variant(&out), Some(ChecksumVariant::GroupPseudoHeader));
    // Auto with a peer on the new one: stays new.
    let mut i = mk(UnicastChecksum::Auto);
    i.handle(Input::Packet(from_peer(ChecksumVariant::PseudoHeader)), t0);
    let out = i.handle(Input::Timer, t0 + Duration::from_secs(10));
    assert_eq!(sent_variant(&out), Some(ChecksumVariant::PseudoHeader));
    // never: no switch.
    let mut i = mk(UnicastChecksum::Never);
    let out = i.handle(
        Input::Packet(from_peer(ChecksumVariant::GroupPseudoHeader)),
        t0,
    );
    assert!(!out
        .iter()
        .any(|a| matches!(a, Action::Log { message, .. } if message.contains("old version"))));
    let out = i.handle(Input::Timer, t0 + Duration::from_secs(10));
    assert_eq!(sent_variant(&out), Some(ChecksumVariant::PseudoHeader));
    // Configured: old from the start.
    let mut i = mk(UnicastChecksum::Old);
    let out = i.handle(Input::Timer, t0 + Duration::from_secs(10));
    assert_eq!(sent_variant(&out), Some(ChecksumVariant::GroupPseudoHeader));
}
