//! Restart after a daemon crash: resume in the recorded state.

mod common;

use std::time::Instant;

use common::*;
use keepalived_vrrp::*;

fn has(out: &[Action], f: impl Fn(&Action) -> bool) -> bool {
    out.iter().any(f)
}

/// A master keeps its VIPs (no remove / re-add, no notify) and advertises
/// at once, then every advert_int.
#[test]
fn resume_as_master_keeps_vips_and_advertises() {
    let t0 = Instant::now();
    let (mut i, out) = Instance::resume(
        cfg(1, 200),
        ResumeState {
            state: State::Master,
        },
        t0,
    )
    .unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(i.vips_set());
    assert!(has(&out, |a| matches!(
        a,
        Action::SendAdvert { priority: 200, .. }
    )));
    assert!(!has(&out, |a| matches!(
        a,
        Action::AddVips { .. } | Action::RemoveVips { .. }
    )));
    assert!(!has(&out, |a| matches!(a, Action::StateChanged { .. })));
    assert_eq!(i.next_deadline(), Some(t0 + SEC));
    let out = i.handle(Input::Timer, t0 + SEC);
    assert!(has(&out, |a| matches!(a, Action::SendAdvert { .. })));
    assert_eq!(i.next_deadline(), Some(t0 + 2 * SEC));
    // Stepping down later removes the VIPs it kept.
    let out = i.handle(
        Input::Packet(advert_from(ip(9), Version::V2, 250, 1)),
        t0 + 2 * SEC,
    );
    assert!(out.contains(&Action::RemoveVips { addrs: vec![vip()] }));
}

/// A backup restarts its Master_Down timer and removes nothing.
#[test]
fn resume_as_backup_restarts_down_timer() {
    let t0 = Instant::now();
    let (i, out) = Instance::resume(
        cfg(2, 100),
        ResumeState {
            state: State::Backup,
        },
        t0,
    )
    .unwrap();
    assert_eq!(i.state(), State::Backup);
    assert!(!has(&out, |a| matches!(
        a,
        Action::RemoveVips { .. } | Action::SendAdvert { .. }
    )));
    assert_eq!(i.next_deadline(), Some(t0 + us(3_609_375)));
}

/// Statuses reported before resuming are honoured: a master whose
/// interface went down while the daemon was away goes to FAULT.
#[test]
fn resume_as_master_with_interface_down_goes_fault() {
    let t0 = Instant::now();
    let mut i = Instance::new(cfg(1, 200)).unwrap();
    i.handle(Input::InterfaceDown, t0);
    let out = i.handle(
        Input::Resume(ResumeState {
            state: State::Master,
        }),
        t0,
    );
    assert_eq!(i.state(), State::Fault);
    assert!(out.contains(&Action::RemoveVips { addrs: vec![vip()] }));
    assert!(has(&out, |a| matches!(
        a,
        Action::SendAdvert { priority: 0, .. }
    )));
    assert!(out.contains(&Action::StateChanged {
        from: State::Master,
        to: State::Fault
    }));
}

#[test]
fn resume_as_fault_recovers_when_nothing_is_wrong() {
    let t0 = Instant::now();
    let (i, out) = Instance::resume(
        cfg(2, 100),
        ResumeState {
            state: State::Fault,
        },
        t0,
    )
    .unwrap();
    assert_eq!(i.state(), State::Backup);
    assert!(out.contains(&Action::StateChanged {
        from: State::Fault,
        to: State::Backup
    }));
}

/// Resuming twice (or after Startup) is ignored.
#[test]
fn resume_is_idempotent() {
    let t0 = Instant::now();
    let (mut i, _) = Instance::resume(
        cfg(1, 200),
        ResumeState {
            state: State::Master,
        },
        t0,
    )
    .unwrap();
    let out = i.handle(
        Input::Resume(ResumeState {
            state: State::Backup,
        }),
        t0,
    );
    assert!(out.is_empty());
    assert!(i.handle(Input::Startup, t0).is_empty());
    assert_eq!(i.state(), State::Master);
}

/// The status snapshot round-trips through the parent's record.
#[test]
fn status_snapshot_gives_resume_state() {
    let t0 = Instant::now();
    let mut i = Instance::new(cfg(1, 255)).unwrap();
    i.handle(Input::Startup, t0);
    let st = i.status();
    assert_eq!(st.state, State::Master);
    assert_eq!(st.counters.become_master, 1);
    let (j, out) = Instance::resume(cfg(1, 255), st.resume_state(), t0 + SEC).unwrap();
    assert_eq!(j.state(), State::Master);
    assert!(!out.iter().any(|a| matches!(a, Action::AddVips { .. })));
}

/// A recorded Init (never started) is a normal start.
#[test]
fn resume_from_init_is_startup() {
    let t0 = Instant::now();
    let (i, out) = Instance::resume(cfg(2, 100), ResumeState { state: State::Init }, t0).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert!(out.contains(&Action::Log {
        level: LogLevel::Info,
        message: "(VI_1) Entering BACKUP STATE (init)".into()
    }));
}
