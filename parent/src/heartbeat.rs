//! Is a child's event loop still turning? Without I/O, like the lifecycle
//! that holds one per child.
//!
//! A child that is alive but stopped (SIGSTOP, a debugger) or wedged (a
//! loop that never returns to poll) keeps its pid and its socket, so
//! neither SIGCHLD nor the channel says anything: vrrpd stops sending
//! adverts and the peer takes over while this node still holds the VIPs.
//! The parent asks each configured child `Ping { seq }` every
//! [`INTERVAL`]; the child's loop answers `Pong { seq }` whatever it is
//! doing. A question unanswered for [`TIMEOUT`] means the child is dead
//! to us: the lifecycle kills it and the usual restart brings it back with
//! its replay (no failover when it resumes in time).
//!
//! A stall of the parent itself (the machine suspended, the parent
//! stopped) is not the children's fault: when the parent notices that it
//! slept through more than [`INTERVAL`] beyond its own deadline, every
//! outstanding question starts again from now.

use std::time::{Duration, Instant};

/// How often a child is asked.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// How long an answer may take. Long enough for a child applying a large
/// plan between two turns of its loop; short enough that a stopped vrrpd
/// is replaced well within systemd's watchdog.
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Last question asked and when, if unanswered.
    waiting: Option<(u64, Instant)>,
    /// When to ask next.
    next: Instant,
    seq: u64,
}

impl Heartbeat {
    /// A child that has just become able to answer (it acked its plan).
    pub fn new(now: Instant) -> Self {
        Heartbeat {
            waiting: None,
            next: now + INTERVAL,
            seq: 0,
        }
    }

    /// The question to send now, if one is due (one at a time: while a
    /// question is unanswered no other is asked).
    pub fn due(&mut self, now: Instant) -> Option<u64> {
        if self.waiting.is_some() || now < self.next {
            return None;
        }
        self.seq += 1;
        self.waiting = Some((self.seq, now));
        Some(self.seq)
    }

    /// An answer: the right one clears the question; a stale or made-up
    /// sequence number changes nothing.
    pub fn answer(&mut self, seq: u64, now: Instant) -> bool {
        match self.waiting {
            Some((s, _)) if s == seq => {
                self.waiting = None;
                self.next = now + INTERVAL;
                true
            }
            _ => false,
        }
    }

    /// How long the current question has been waiting, when past
    /// [`TIMEOUT`].
    pub fn overdue(&self, now: Instant) -> Option<Duration> {
        let (_, asked) = self.waiting?;
        let waited = now.saturating_duration_since(asked);
        (waited >= TIMEOUT).then_some(waited)
    }

    /// The parent itself was not running: restart the clock of any
    /// question in flight.
    pub fn parent_stalled(&mut self, now: Instant) {
        if let Some((seq, _)) = self.waiting {
            self.waiting = Some((seq, now));
        }
        self.next = self.next.max(now);
    }

    /// When this heartbeat next needs the parent's attention.
    pub fn deadline(&self) -> Instant {
        match self.waiting {
            Some((_, asked)) => asked + TIMEOUT,
            None => self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_every_interval_and_one_question_at_a_time() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(t0);
        assert_eq!(h.due(t0), None);
        assert_eq!(h.deadline(), t0 + INTERVAL);
        assert_eq!(h.due(t0 + INTERVAL), Some(1));
        assert_eq!(h.due(t0 + INTERVAL * 2), None, "the first is unanswered");
        assert!(h.answer(1, t0 + INTERVAL * 2));
        assert_eq!(h.due(t0 + INTERVAL * 3 - Duration::from_millis(1)), None);
        assert_eq!(h.due(t0 + INTERVAL * 3), Some(2));
    }

    #[test]
    fn an_unanswered_question_is_overdue_at_the_timeout_not_before() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(t0);
        let asked = t0 + INTERVAL;
        assert_eq!(h.due(asked), Some(1));
        assert_eq!(h.deadline(), asked + TIMEOUT);
        assert_eq!(h.overdue(asked + TIMEOUT - Duration::from_millis(1)), None);
        assert_eq!(h.overdue(asked + TIMEOUT), Some(TIMEOUT));
    }

    #[test]
    fn wrong_or_stale_answers_clear_nothing() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(t0);
        h.due(t0 + INTERVAL);
        assert!(!h.answer(7, t0 + INTERVAL));
        assert!(!h.answer(0, t0 + INTERVAL));
        assert!(h.overdue(t0 + INTERVAL + TIMEOUT).is_some());
        assert!(h.answer(1, t0 + INTERVAL + TIMEOUT));
        assert!(!h.answer(1, t0 + INTERVAL + TIMEOUT), "answered once only");
        assert_eq!(h.overdue(t0 + INTERVAL * 20), None);
    }

    #[test]
    fn a_stalled_parent_gives_the_child_a_full_timeout_again() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(t0);
        h.due(t0 + INTERVAL);
        let woke = t0 + INTERVAL + TIMEOUT * 3;
        h.parent_stalled(woke);
        assert_eq!(h.overdue(woke), None);
        assert_eq!(h.overdue(woke + TIMEOUT), Some(TIMEOUT));
    }
}
