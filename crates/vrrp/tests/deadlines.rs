//! The down timer can never be lost: whatever sequence of inputs an
//! instance or a sync group sees, a BACKUP has a deadline, and with no
//! adverts arriving it becomes MASTER by Master_Down_Interval after its
//! last input. (Two namespace runs once showed a pair sitting in BACKUP;
//! the cause was the test harness's log reader taking EINTR for a timeout,
//! fixed in 64c3dc2 — this pins the core's side for good.)

mod common;

use std::time::{Duration, Instant};

use common::*;
use keepalived_vrrp::*;

/// xorshift64: reproducible input sequences from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn tracked(mut c: InstanceConfig) -> InstanceConfig {
    // A weight-0 script (down: FAULT) and a weighted one.
    for (name, weight) in [("fatal", 0), ("weighted", -60)] {
        c.tracks.push(TrackConfig {
            kind: TrackKind::Script,
            name: name.into(),
            weight,
            reverse: false,
            initial: TrackStatus::Up,
        });
    }
    c
}

/// One random input, as the shell could deliver it.
fn input(r: &mut Rng) -> Input {
    let status = |r: &mut Rng| {
        if r.below(2) == 0 {
            TrackStatus::Up
        } else {
            TrackStatus::Down
        }
    };
    match r.below(9) {
        0 | 1 => Input::Timer,
        2 => Input::InterfaceDown,
        3 => Input::InterfaceUp,
        4 => Input::Track {
            index: r.below(2) as usize,
            status: status(r),
        },
        5 => Input::Announce,
        // A peer of lower, equal or higher priority, or one leaving.
        _ => {
            let prio = [0u8, 50, 100, 150, 254][r.below(5) as usize];
            Input::Packet(advert_from(ip(9), Version::V2, prio, 1))
        }
    }
}

fn assert_armed(state: State, deadline: Option<Instant>, what: &str) {
    if state == State::Backup {
        assert!(deadline.is_some(), "{what}: BACKUP without a deadline");
    }
}

/// After the last input, nothing but timers: a BACKUP (or anything not
/// held in FAULT) ends up MASTER within Master_Down_Interval.
fn settle(inst: &mut Instance, now: Instant) {
    let limit = now + inst.master_down_interval() + Duration::from_millis(1);
    while inst.state() != State::Master {
        let d = inst.next_deadline().expect("a deadline while not master");
        assert!(d <= limit, "no MASTER by Master_Down_Interval");
        inst.handle(Input::Timer, d);
    }
}

#[test]
fn a_backup_always_has_its_down_timer() {
    for seed in 1..=300u64 {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let prio = [50u8, 100, 200, 255][r.below(4) as usize];
        let mut inst = Instance::new(tracked(cfg(1, prio))).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        inst.handle(Input::Startup, now);
        for step in 0..200 {
            now += Duration::from_micros(r.below(1_500_000));
            let i = input(&mut r);
            inst.handle(i.clone(), now);
            assert_armed(
                inst.state(),
                inst.next_deadline(),
                &format!("seed {seed} step {step} after {i:?}"),
            );
        }
        // Clear what may hold it in FAULT, then let time run.
        inst.handle(Input::InterfaceUp, now);
        for index in 0..2 {
            inst.handle(
                Input::Track {
                    index,
                    status: TrackStatus::Up,
                },
                now,
            );
        }
        settle(&mut inst, now);
    }
}

#[test]
fn a_sync_group_backup_always_has_its_down_timer() {
    for seed in 1..=150u64 {
        let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let members = (0..2)
            .map(|k| {
                let mut c = tracked(cfg(1, [100u8, 200][k]));
                c.name = format!("VI_{k}");
                Instance::new(c).unwrap()
            })
            .collect();
        let mut g = SyncGroup::new("G", members);
        let t0 = Instant::now();
        let mut now = t0;
        g.startup(now);
        for step in 0..200 {
            now += Duration::from_micros(r.below(1_500_000));
            let i = input(&mut r);
            if matches!(i, Input::Timer) {
                g.handle_timer(now);
            } else {
                let m = r.below(2) as usize;
                g.handle(m, i.clone(), now);
            }
            for m in 0..2 {
                let inst = g.member(m);
                assert_armed(
                    inst.state(),
                    g.next_deadline(),
                    &format!("seed {seed} step {step} member {m} after {i:?}"),
                );
            }
        }
        for m in 0..2 {
            g.handle(m, Input::InterfaceUp, now);
            for index in 0..2 {
                let up = Input::Track {
                    index,
                    status: TrackStatus::Up,
                };
                g.handle(m, up, now);
            }
        }
        let limit = now + 2 * g.member(0).master_down_interval();
        while g.state() != State::Master {
            let d = g.next_deadline().expect("a deadline while not master");
            assert!(d <= limit, "seed {seed}: the group is not MASTER in time");
            g.handle_timer(d);
        }
    }
}
