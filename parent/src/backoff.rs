//! When to restart a child that died.
//!
//! A child that was healthy and got killed from outside (an operator's
//! SIGKILL) is restarted at once. A child that fails on its own — dies
//! before it is ready, crashes or exits soon after, is killed by the parent
//! for a protocol violation, or is killed by the kernel's OOM killer (it
//! would be again: restarting it every 10 ms is a loop) — backs off
//! exponentially to a cap so a crash loop costs nothing and is logged
//! loudly.

use std::time::{Duration, Instant};

/// First restart delay.
pub const BASE: Duration = Duration::from_millis(10);
/// Longest delay between restarts.
pub const CAP: Duration = Duration::from_secs(30);
/// A child ready this long is considered healthy again.
pub const STABLE: Duration = Duration::from_secs(10);
/// From this many failures in a row the parent logs at error level.
pub const LOUD_AFTER: u32 = 5;

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Death {
    /// Killed by a signal someone else sent (SIGKILL, SIGTERM, SIGINT).
    External,
    /// Exited, or a crash signal (SEGV, ABRT, SYS...).
    OnItsOwn,
    /// The parent killed it for misbehaving.
    Misbehaved,
    /// SIGKILL while the kernel's OOM-kill count rose: out of memory.
    OutOfMemory,
}

#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Record a death at `now` of a child ready since `ready_at`; returns the
    /// restart delay.
    pub fn on_death(&mut self, now: Instant, ready_at: Option<Instant>, how: Death) -> Duration {
        let stable = ready_at.is_some_and(|r| now.duration_since(r) >= STABLE);
        let failed = match how {
            Death::Misbehaved | Death::OutOfMemory => true,
            _ if ready_at.is_none() => true,
            Death::OnItsOwn => !stable,
            Death::External => false,
        };
        if stable && how == Death::OnItsOwn {
            self.failures = 0;
        }
        if failed {
            self.failures = self.failures.saturating_add(1);
        } else if how == Death::External {
            self.failures = 0;
        }
        self.delay()
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn delay(&self) -> Duration {
        let shift = self.failures.min(20);
        BASE.saturating_mul(1u32 << shift).min(CAP)
    }
}

/// The kernel's count of OOM kills since boot (`oom_kill` in
/// /proc/vmstat, Linux 4.13 and later); `None` where it cannot be read.
pub fn oom_kills() -> Option<u64> {
    oom_kills_in(&std::fs::read_to_string("/proc/vmstat").ok()?)
}

fn oom_kills_in(vmstat: &str) -> Option<u64> {
    vmstat
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

/// How a child killed by SIGKILL died: by the OOM killer when the count
/// rose since it was spawned (another process's OOM kill at the same moment
/// is taken for its own: the cost is one backed-off restart), else from
/// outside.
pub fn sigkill_cause(at_spawn: Option<u64>, now: Option<u64>) -> Death {
    match (at_spawn, now) {
        (Some(a), Some(b)) if b > a => Death::OutOfMemory,
        _ => Death::External,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_kill_of_a_ready_child_restarts_at_once() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        for i in 0..20 {
            let now = t0 + Duration::from_millis(100 * i);
            assert_eq!(b.on_death(now, Some(now), Death::External), BASE);
        }
    }

    #[test]
    fn crash_loop_backs_off_to_the_cap() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..20)
            .map(|i| b.on_death(t0 + Duration::from_secs(i), None, Death::OnItsOwn))
            .collect();
        assert_eq!(delays[0], Duration::from_millis(20));
        assert_eq!(delays[1], Duration::from_millis(40));
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), CAP);
        assert!(b.failures() >= LOUD_AFTER);
    }

    #[test]
    fn a_stable_child_starts_afresh() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        for i in 0..6 {
            b.on_death(t0 + Duration::from_secs(i), None, Death::OnItsOwn);
        }
        let ready = t0 + Duration::from_secs(100);
        let d = b.on_death(ready + STABLE, Some(ready), Death::OnItsOwn);
        assert_eq!(d, BASE);
    }

    #[test]
    fn the_oom_kill_count_is_read_from_vmstat() {
        let vmstat = "pgfault 12\noom_kill 3\noom_kill_other 9\n";
        assert_eq!(oom_kills_in(vmstat), Some(3));
        assert_eq!(oom_kills_in("pgfault 1\n"), None);
        assert_eq!(sigkill_cause(Some(3), Some(4)), Death::OutOfMemory);
        assert_eq!(sigkill_cause(Some(3), Some(3)), Death::External);
        assert_eq!(sigkill_cause(None, Some(4)), Death::External);
        // This kernel has the counter.
        assert!(oom_kills().is_some());
    }

    /// An OOM kill is not an operator's SIGKILL: a child the kernel keeps
    /// killing for memory backs off however long it was ready.
    #[test]
    fn oom_kills_back_off_even_when_ready() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..8)
            .map(|i| {
                let now = t0 + Duration::from_secs(20 * i);
                b.on_death(now, Some(now - STABLE), Death::OutOfMemory)
            })
            .collect();
        assert_eq!(delays[0], Duration::from_millis(20));
        assert!(delays.windows(2).all(|w| w[1] > w[0]), "{delays:?}");
        assert!(b.failures() >= LOUD_AFTER);
        // An operator's kill afterwards restarts at once again.
        assert_eq!(b.on_death(t0, Some(t0), Death::External), BASE);
    }

    #[test]
    fn misbehaving_always_backs_off() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert!(b.on_death(t0, Some(t0), Death::Misbehaved) > BASE);
    }
}
