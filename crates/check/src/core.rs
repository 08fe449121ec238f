//! Sans-IO scheduling and verdicts of one checker, after keepalived 2.2.7.
//!
//! keepalived's checkers do not share one retry rule: each family has its own
//! epilogue (check_tcp.c, check_udp.c, check_dns.c, check_misc.c,
//! check_http.c). [`Flavor`] names them so each probe keeps the exact timing
//! keepalived users rely on. Time is injected; nothing here does I/O.

use std::time::{Duration, Instant};

/// keepalived waits this long after start before the first check
/// (`BOOTSTRAP_DELAY`).
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// Resolved timing of one checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    pub delay_loop: Duration,
    /// Inactivity limit of one attempt (connect, each read or write).
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    /// The first check comes at `bootstrap` plus a random part of this.
    pub warmup: Duration,
    pub bootstrap: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            delay_loop: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::from_secs(60),
            bootstrap: BOOTSTRAP_DELAY,
        }
    }
}

/// Which keepalived epilogue decides retries and verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// TCP_CHECK, SMTP_CHECK: a failure is retried whatever the state.
    Tcp,
    /// UDP_CHECK, PING_CHECK: retries only while the checker is up.
    UpOnly,
    /// DNS_CHECK: retries while up or before the first verdict.
    Dns,
    /// MISC_CHECK: as DNS, but the next run counts from the last start.
    Misc,
    /// HTTP_GET, SSL_GET: one url per attempt, a failed url is retried
    /// alone until it passes, then every url is walked again.
    Http { urls: usize, fast_recovery: bool },
}

/// One checker's state.
#[derive(Clone, Debug)]
pub struct CheckerCore {
    timing: Timing,
    flavor: Flavor,
    is_up: bool,
    has_run: bool,
    /// A verdict was reached: an attempt ended with no retry pending (and,
    /// for HTTP, every URL walked), or the state was set by one.
    settled: bool,
    retry_it: u32,
    next: Option<Instant>,
    started: Option<Instant>,
    url_it: usize,
    failed_url: Option<usize>,
}

impl CheckerCore {
    /// `alpha` checkers start down, others up (keepalived's optimism).
    pub fn new(timing: Timing, flavor: Flavor, alpha: bool) -> Self {
        CheckerCore {
            timing,
            flavor,
            is_up: !alpha,
            has_run: false,
            settled: false,
            retry_it: 0,
            next: None,
            started: None,
            url_it: 0,
            failed_url: None,
        }
    }

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    pub fn is_up(&self) -> bool {
        self.is_up
    }

    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// The first verdict is in (after its retries): the state is measured,
    /// not the starting one. (`has_run` is keepalived's flag, set by the
    /// first attempt even when a retry follows.)
    pub fn settled(&self) -> bool {
        self.settled
    }

    /// The state is known without an attempt (FILE_CHECK reads its file
    /// at once).
    pub fn mark_settled(&mut self) {
        self.settled = true;
    }

    /// Remaining state a restarted checkerd resumes from.
    pub fn set_up(&mut self, up: bool) {
        self.is_up = up;
    }

    /// Schedule the first attempt; `jitter` in [0, 1] picks the warmup part.
    pub fn start(&mut self, now: Instant, jitter: f64) {
        let w = self.timing.warmup.mul_f64(jitter.clamp(0.0, 1.0));
        self.next = Some(now + self.timing.bootstrap + w);
    }

    /// When the next attempt is due; `None` while one is running.
    pub fn next_attempt(&self) -> Option<Instant> {
        self.next
    }

    /// Begin the attempt if it is due; returns the url index to fetch
    /// (always 0 but for HTTP).
    pub fn begin(&mut self, now: Instant) -> Option<usize> {
        match self.next {
            Some(t) if t <= now => {
                self.next = None;
                self.started = Some(now);
                Some(self.url_it)
            }
            _ => None,
        }
    }

    /// The attempt ended without a verdict (it could not begin): the next
    /// one comes after `delay_loop`, the retry count and state unchanged.
    pub fn reschedule(&mut self, now: Instant) {
        self.next = Some(now + self.timing.delay_loop);
        self.started = None;
    }

    /// The attempt ended at `now`; returns the new state when it changed.
    pub fn on_result(&mut self, ok: bool, now: Instant) -> Option<bool> {
        let was = self.is_up;
        let delay = match self.flavor {
            Flavor::Tcp => self.tcp(ok),
            Flavor::UpOnly => self.up_only(ok),
            Flavor::Dns => self.dns(ok),
            Flavor::Misc => self.misc(ok),
            Flavor::Http {
                urls,
                fast_recovery,
            } => self.http(ok, urls, fast_recovery),
        };
        let base = match self.flavor {
            Flavor::Misc => self.started.unwrap_or(now),
            _ => now,
        };
        let mut next = base + delay;
        if next <= now && delay > Duration::ZERO {
            // keepalived's "at least 1 µs from now".
            next = now + Duration::from_micros(1);
        }
        self.next = Some(next.max(now));
        self.started = None;
        if self.has_run && self.retry_it == 0 && self.url_it == 0 {
            self.settled = true;
        }
        (was != self.is_up).then_some(self.is_up)
    }

    /// keepalived's update_svr_checker_state: the first verdict always
    /// counts as run, whether or not it changed anything.
    fn verdict(&mut self, up: bool) {
        self.has_run = true;
        self.settled = true;
        self.is_up = up;
    }

    fn tcp(&mut self, ok: bool) -> Duration {
        let t = self.timing;
        let delay = if ok || self.retry_it >= t.retry {
            self.retry_it = 0;
            if ok && (!self.is_up || !self.has_run) {
                self.verdict(true);
            } else if !ok && (self.is_up || !self.has_run) {
                self.verdict(false);
            }
            t.delay_loop
        } else {
            self.retry_it += 1;
            t.delay_before_retry
        };
        self.has_run = true;
        delay
    }

    fn up_only(&mut self, ok: bool) -> Duration {
        let t = self.timing;
        let mut delay = t.delay_loop;
        if ok || ((self.is_up || !self.has_run) && self.retry_it >= t.retry) {
            self.retry_it = 0;
            if ok && (!self.is_up || !self.has_run) {
                self.verdict(true);
            } else if !ok && (self.is_up || !self.has_run) {
                self.verdict(false);
            }
        } else if self.is_up {
            delay = t.delay_before_retry;
            self.retry_it += 1;
        }
        self.has_run = true;
        delay
    }

    fn dns(&mut self, ok: bool) -> Duration {
        let t = self.timing;
        if !ok {
            if self.is_up || !self.has_run {
                if self.retry_it < t.retry {
                    self.retry_it += 1;
                    self.has_run = true;
                    return t.delay_before_retry;
                }
                self.verdict(false);
            }
        } else if !self.is_up || !self.has_run {
            self.verdict(true);
        }
        self.retry_it = 0;
        t.delay_loop
    }

    fn misc(&mut self, ok: bool) -> Duration {
        let t = self.timing;
        if ok {
            if !self.is_up || !self.has_run {
                self.verdict(true);
            }
            self.retry_it = 0;
        } else if self.is_up || !self.has_run {
            if self.retry_it < t.retry {
                self.retry_it += 1;
            } else {
                self.retry_it = 0;
                self.verdict(false);
            }
        }
        self.has_run = true;
        if self.retry_it > 0 {
            t.delay_before_retry
        } else {
            t.delay_loop
        }
    }

    fn http(&mut self, ok: bool, urls: usize, fast_recovery: bool) -> Duration {
        let t = self.timing;
        #[derive(PartialEq)]
        enum M {
            New,
            Retry,
            Failed,
        }
        // timeout_epilog: a failure is retried while up or not yet run.
        let m = if ok {
            M::New
        } else if self.is_up || !self.has_run {
            self.has_run = true;
            M::Retry
        } else {
            M::Failed
        };
        let mut walked_all = false;
        match m {
            M::New => {
                self.url_it += 1;
                walked_all = self.url_it >= urls.max(1);
                self.retry_it = 0;
            }
            M::Retry => self.retry_it += 1,
            M::Failed => {}
        }
        if m == M::New && walked_all && self.failed_url.is_none() {
            if !self.is_up || !self.has_run {
                self.verdict(true);
            }
            self.url_it = 0;
            self.retry_it = 0;
        } else if m == M::Retry && self.retry_it > t.retry {
            if self.is_up || !self.has_run {
                self.verdict(false);
            }
            self.failed_url = Some(self.url_it);
        } else if m == M::New && self.failed_url.is_some() {
            self.failed_url = None;
            self.url_it = 0;
            self.retry_it = 0;
        }
        let delay = if m == M::New {
            if !self.has_run {
                self.retry_it = t.retry;
            }
            t.delay_loop
        } else if self.failed_url.is_some() {
            t.delay_before_retry.max(t.delay_loop)
        } else {
            t.delay_before_retry
        };
        if fast_recovery && (!self.has_run || (!self.is_up && self.failed_url.is_none())) {
            Duration::ZERO
        } else {
            delay
        }
    }
}

/// `vrrp_script` rise/fall with keepalived's `result` counter
/// (vrrp_scheduler.c): the script is good when `result >= rise`.
#[derive(Clone, Debug)]
pub struct ScriptTracker {
    rise: u32,
    fall: u32,
    result: u32,
    /// No run has finished yet and `init_fail` is unset: the first failure
    /// is reported even though the script never counted as good.
    init: bool,
}

impl ScriptTracker {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        ScriptTracker {
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            init: !init_fail,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.result >= self.rise
    }

    /// A run ended; returns the verdict to report, if any.
    pub fn on_exit(&mut self, success: bool) -> Option<bool> {
        let mut report = None;
        if success {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else if self.result != self.rise + self.fall - 1 {
                if self.result < self.rise {
                    report = Some(true);
                }
                self.result = self.rise + self.fall - 1;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            if self.result == self.rise || self.init {
                report = Some(false);
            }
            self.result = 0;
        }
        self.init = false;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timing(retry: u32) -> Timing {
        Timing {
            delay_loop: ms(1000),
            connect_timeout: ms(300),
            retry,
            delay_before_retry: ms(200),
            warmup: ms(500),
            bootstrap: BOOTSTRAP_DELAY,
        }
    }

    /// Feed results, each taking `took` ms; return (offset of each attempt
    /// start in ms, state changes).
    fn run(
        c: &mut CheckerCore,
        t0: Instant,
        results: &[bool],
        took: u64,
    ) -> Vec<(u64, Option<bool>)> {
        let mut out = Vec::new();
        for &ok in results {
            let at = c.next_attempt().unwrap();
            assert!(c.begin(at - ms(1)).is_none(), "began early");
            c.begin(at).unwrap();
            let ch = c.on_result(ok, at + ms(took));
            out.push(((at - t0).as_millis() as u64, ch));
        }
        out
    }

    #[test]
    fn first_check_after_bootstrap_and_warmup() {
        let t0 = Instant::now();
        let mut c = CheckerCore::new(timing(1), Flavor::Tcp, false);
        c.start(t0, 0.5);
        assert_eq!(c.next_attempt(), Some(t0 + ms(1250)));
        c.start(t0, 0.0);
        assert_eq!(c.next_attempt(), Some(t0 + ms(1000)));
    }

    #[test]
    fn tcp_fails_after_retries_each_after_delay_before_retry() {
        let t0 = Instant::now();
        let mut c = CheckerCore::new(timing(2), Flavor::Tcp, false);
        c.start(t0, 0.0);
        let r = run(&mut c, t0, &[true, false, false, false, false, true], 10);
        // up at 1000 (first verdict repeats the state: no change), then
        // fail at 2010, retry at 2220, 2430: down; next loop at 3440.
        assert_eq!(
            r,
            vec![
                (1000, None),
                (2010, None),
                (2220, None),
                (2430, Some(false)),
                (3440, None),
                (3650, Some(true)),
            ]
        );
        // While down a TCP failure is still retried (keepalived's tcp_epilog).
        let r = run(&mut c, t0, &[false, false, false, false], 0);
        assert_eq!(
            r.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![4660, 4860, 5060, 6060]
        );
        assert_eq!(r[2].1, Some(false));
    }

    #[test]
    fn alpha_starts_down_and_one_success_brings_it_up() {
        let t0 = Instant::now();
        let mut c = CheckerCore::new(timing(1), Flavor::Tcp, true);
        assert!(!c.is_up());
        c.start(t0, 0.0);
        assert_eq!(run(&mut c, t0, &[true], 5), vec![(1000, Some(true))]);
    }

    #[test]
    fn udp_does_not_retry_while_down() {
        let t0 = Instant::now();
        let mut c = CheckerCore::new(timing(1), Flavor::UpOnly, false);
        c.start(t0, 0.0);
        let r = run(&mut c, t0, &[false, false, false, false], 0);
        assert_eq!(
            r,
            vec![
                (1000, None),
                (1200, Some(false)),
                (2200, None),
                (3200, None)
            ]
        );
    }

    #[test]
    fn misc_counts_from_start_of_the_run() {
        let t0 = Instant::now();
        let mut c = CheckerCore::new(timing(0), Flavor::Misc, false);
        c.start(t0, 0.0);
        // A script taking 300 ms does not push the loop.
        let r = run(&mut c, t0, &[true, false, true], 300);
        assert_eq!(
            r,
            vec![(1000, None), (2000, Some(false)), (3000, Some(true))]
        );
    }

    #[test]
    fn dns_retries_before_first_verdict_even_with_alpha() {
        let t0 = Instant::now();
        let mut c = CheckerCore::new(timing(1), Flavor::Dns, true);
        c.start(t0, 0.0);
        let r = run(&mut c, t0, &[false, false, false], 0);
        assert_eq!(r, vec![(1000, None), (1200, None), (2200, None)]);
        let mut c = CheckerCore::new(timing(1), Flavor::UpOnly, true);
        c.start(t0, 0.0);
        let r = run(&mut c, t0, &[false, false], 0);
        assert_eq!(r, vec![(1000, None), (2000, None)]);
    }

    #[test]
    fn http_walks_urls_one_per_loop_and_retries_the_failed_one() {
        let t0 = Instant::now();
        let f = Flavor::Http {
            urls: 2,
            fast_recovery: false,
        };
        let mut c = CheckerCore::new(timing(1), f, false);
        c.start(t0, 0.0);
        let mut urls = Vec::new();
        let mut out = Vec::new();
        for ok in [true, true, true, false, false, false, true, true, true] {
            let at = c.next_attempt().unwrap();
            urls.push(c.begin(at).unwrap());
            out.push(((at - t0).as_millis(), c.on_result(ok, at)));
        }
        assert_eq!(urls, vec![0, 1, 0, 1, 1, 1, 1, 0, 1]);
        assert_eq!(
            out,
            vec![
                (1000, None),
                (2000, None),
                (3000, None),
                (4000, None),
                (4200, Some(false)),
                // failed url: max(delay_before_retry, delay_loop)
                (5200, None),
                // it passes: every url is walked again before going up.
                (6200, None),
                (7200, None),
                (8200, Some(true)),
            ]
        );
    }

    #[test]
    fn http_first_pass_fails_without_retries_after_a_good_url() {
        let t0 = Instant::now();
        let f = Flavor::Http {
            urls: 2,
            fast_recovery: false,
        };
        let mut c = CheckerCore::new(timing(3), f, false);
        c.start(t0, 0.0);
        let r = run(&mut c, t0, &[true, false], 0);
        assert_eq!(r, vec![(1000, None), (2000, Some(false))]);
    }

    #[test]
    fn script_rise_fall_and_init() {
        let mut s = ScriptTracker::new(2, 3, false);
        // Not yet good: one success is enough at init.
        assert!(!s.is_ok());
        assert_eq!(s.on_exit(true), Some(true));
        assert_eq!(s.on_exit(false), None);
        assert_eq!(s.on_exit(false), None);
        assert_eq!(s.on_exit(false), Some(false));
        assert_eq!(s.on_exit(true), None);
        assert_eq!(s.on_exit(true), Some(true));
        // First failure at init reports KO at once.
        let mut s = ScriptTracker::new(2, 2, false);
        assert_eq!(s.on_exit(false), Some(false));
        assert_eq!(s.on_exit(false), None);
        // init_fail: failed from the start, silent until rise successes.
        let mut s = ScriptTracker::new(2, 2, true);
        assert_eq!(s.on_exit(false), None);
        assert_eq!(s.on_exit(true), None);
        assert_eq!(s.on_exit(true), Some(true));
    }
}
