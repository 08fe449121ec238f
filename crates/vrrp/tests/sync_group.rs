//! vrrp_sync_group: members move together.

mod common;

use std::time::{Duration, Instant};

use common::*;
use keepalived_vrrp::*;

fn member(name: &str, vrid: u8, prio: u8) -> Instance {
    let mut c = cfg(1, prio);
    c.name = name.to_string();
    c.vrid = vrid;
    Instance::new(c).unwrap()
}

fn transitions(out: &[(usize, Action)]) -> Vec<(usize, State, State)> {
    out.iter()
        .filter_map(|(i, a)| match a {
            Action::StateChanged { from, to } => Some((*i, *from, *to)),
            _ => None,
        })
        .collect()
}

fn run_timers(g: &mut SyncGroup, until: Instant) -> Vec<(Instant, usize, Action)> {
    let mut all = Vec::new();
    while let Some(d) = g.next_deadline().filter(|d| *d <= until) {
        for (i, a) in g.handle_timer(d) {
            all.push((d, i, a));
        }
    }
    all
}

/// The first member to time out waits for the other (prefer BACKUP to
/// thrashing); when the last one times out, both become MASTER together.
#[test]
fn members_become_master_together() {
    let t0 = Instant::now();
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    let out = g.startup(t0);
    assert_eq!(
        transitions(&out),
        vec![
            (0, State::Init, State::Backup),
            (1, State::Init, State::Backup)
        ]
    );
    let ev = run_timers(&mut g, t0 + 4 * SEC);
    // VI_1 timed out at 3.21875 s but was held; VI_2 at 3.609375 s pulls it.
    let tr: Vec<_> = ev
        .iter()
        .filter_map(|(t, i, a)| match a {
            Action::StateChanged { from, to } => Some((*t - t0, *i, *from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        tr,
        vec![
            (us(3_609_375), 1, State::Backup, State::Master),
            (us(3_609_375), 0, State::Backup, State::Master),
        ]
    );
    assert!(ev.iter().any(|(_, _, a)| *a
        == Action::Log {
            level: LogLevel::Info,
            message: "VRRP_Group(G1) Syncing instances to MASTER state".into()
        }));
    assert_eq!(g.state(), State::Master);
}

/// One member's fault puts the group in FAULT; recovery brings both back
/// to BACKUP, and they become MASTER together again.
#[test]
fn fault_moves_the_group() {
    let t0 = Instant::now();
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    g.startup(t0);
    run_timers(&mut g, t0 + 5 * SEC);
    let out = g.handle(1, Input::InterfaceDown, t0 + 10 * SEC);
    assert_eq!(
        transitions(&out),
        vec![
            (1, State::Master, State::Fault),
            (0, State::Master, State::Fault)
        ]
    );
    assert_eq!(g.state(), State::Fault);
    // The healthy member sent priority 0 too, so its backups take over fast.
    assert!(out
        .iter()
        .any(|(i, a)| *i == 0 && matches!(a, Action::SendAdvert { priority: 0, .. })));
    assert_eq!(g.next_deadline(), None);
    let out = g.handle(1, Input::InterfaceUp, t0 + 20 * SEC);
    assert_eq!(
        transitions(&out),
        vec![
            (1, State::Fault, State::Backup),
            (0, State::Fault, State::Backup)
        ]
    );
    let ev = run_timers(&mut g, t0 + 25 * SEC);
    assert!(ev
        .iter()
        .any(|(t, i, a)| *t - t0 == 20 * SEC + us(3_609_375)
            && *i == 0
            && matches!(
                a,
                Action::StateChanged {
                    to: State::Master,
                    ..
                }
            )));
}

/// While one member has its own fault, the other's recovery keeps it in
/// FAULT.
#[test]
fn group_leaves_fault_only_when_all_healthy() {
    let t0 = Instant::now();
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    g.startup(t0);
    g.handle(0, Input::InterfaceDown, t0 + SEC);
    g.handle(1, Input::InterfaceDown, t0 + SEC);
    let out = g.handle(0, Input::InterfaceUp, t0 + 2 * SEC);
    assert!(transitions(&out).is_empty());
    assert_eq!(g.member(0).state(), State::Fault);
    let out = g.handle(1, Input::InterfaceUp, t0 + 3 * SEC);
    assert_eq!(
        transitions(&out),
        vec![
            (1, State::Fault, State::Backup),
            (0, State::Fault, State::Backup)
        ]
    );
}

/// A master member hearing a higher priority pushes the group to BACKUP.
#[test]
fn master_to_backup_moves_the_group() {
    let t0 = Instant::now();
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    g.startup(t0);
    run_timers(&mut g, t0 + 5 * SEC);
    let mut p = advert_from(ip(9), Version::V2, 250, 1);
    p.data = {
        let a = Advert {
            version: Version::V2,
            vrid: 52,
            priority: 250,
            adver_int: 1,
            auth_type: 0,
            auth_data: [0; 8],
            addrs: vec![vip()],
        };
        encode(&a, ip(9), p.dst, ChecksumVariant::V2).unwrap()
    };
    let out = g.handle(1, Input::Packet(p), t0 + 6 * SEC);
    assert_eq!(
        transitions(&out),
        vec![
            (1, State::Master, State::Backup),
            (0, State::Master, State::Backup)
        ]
    );
    assert!(out
        .iter()
        .any(|(i, a)| *i == 0 && *a == Action::RemoveVips { addrs: vec![vip()] }));
    assert_eq!(g.state(), State::Backup);
    let _ = Duration::ZERO;
}

/// A member starting with its interface down holds the whole group in FAULT.
#[test]
fn startup_with_a_faulty_member() {
    let t0 = Instant::now();
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    g.handle(1, Input::InterfaceDown, t0);
    let out = g.startup(t0);
    assert_eq!(g.member(0).state(), State::Fault);
    assert_eq!(g.member(1).state(), State::Fault);
    assert!(!transitions(&out).iter().any(|t| t.2 == State::Master));
}

/// keepalived re-announces every member's VIPs when one master member
/// hears a lower priority.
#[test]
fn lower_priority_advert_regarps_every_member() {
    let t0 = Instant::now();
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    g.startup(t0);
    run_timers(&mut g, t0 + 10 * SEC);
    let out = g.handle(
        0,
        Input::Packet(advert_from(ip(9), Version::V2, 50, 1)),
        t0 + 11 * SEC,
    );
    let garps = |m: usize| {
        out.iter()
            .filter(|(i, a)| *i == m && matches!(a, Action::SendGarp(_)))
            .count()
    };
    assert_eq!(garps(0), 5);
    assert_eq!(garps(1), 5);
}

/// The group's own state (keepalived's GROUP notifies, FIFO lines and
/// alerts) is reported once all members are in it, once per change; a
/// group that never started reports no STOP.
#[test]
fn the_group_state_is_reported_once_all_members_moved() {
    use keepalived_types::VrrpState;
    let t0 = Instant::now();
    let mut idle = SyncGroup::new("G0", vec![member("VI_8", 58, 100)]);
    assert_eq!(
        idle.state_change(),
        None,
        "never started: nothing to report"
    );
    let mut g = SyncGroup::new("G1", vec![member("VI_1", 51, 200), member("VI_2", 52, 100)]);
    g.startup(t0);
    assert_eq!(g.state_change(), Some(VrrpState::Backup));
    assert_eq!(g.state_change(), None, "reported once");
    // VI_1 times out first but is held until VI_2 wants MASTER too.
    run_timers(&mut g, t0 + 3_300 * MS);
    assert_eq!(g.state_change(), None);
    run_timers(&mut g, t0 + 4 * SEC);
    assert_eq!(g.state_change(), Some(VrrpState::Master));
    g.handle(0, Input::Shutdown, t0 + 5 * SEC);
    assert_eq!(g.state_change(), None, "one member still master");
    g.handle(1, Input::Shutdown, t0 + 5 * SEC);
    assert_eq!(g.state_change(), Some(VrrpState::Stop));
}

/// A restarted vrrpd resumes where the parent recorded it, unless the
/// kernel shows it was master after all (it holds every VIP).
#[test]
fn resume_trusts_the_kernel_over_a_stale_backup() {
    assert_eq!(
        ResumeState::decide(State::Backup, true, true),
        State::Master
    );
    assert_eq!(
        ResumeState::decide(State::Backup, true, false),
        State::Backup
    );
    assert_eq!(
        ResumeState::decide(State::Backup, false, true),
        State::Backup,
        "no VIPs: nothing to witness"
    );
    assert_eq!(ResumeState::decide(State::Fault, true, true), State::Fault);
}
