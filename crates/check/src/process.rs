//! `vrrp_track_process` without I/O: which processes match a tracker
//! ([`Matcher`], from the words of `/proc/PID/stat` and `cmdline` —
//! [`parse_stat`]) and when a quorum change is reported ([`QuorumWatch`],
//! with keepalived's fork and terminate delays). checkerd's tracker scans
//! `/proc` around them; the fuzz target `proc_parsers` feeds them bytes.

use std::time::{Duration, Instant};

/// The kernel keeps 15 bytes of a process's name (`TASK_COMM_LEN` - 1).
pub const COMM_LEN: usize = 15;

/// How the parameters after the process name are compared (keepalived's
/// `param_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamMatch {
    /// Parameters are not looked at.
    None,
    /// Exactly the given parameters.
    Exact,
    /// The given parameters, then possibly more.
    Partial,
    /// As `Partial`, but the last given parameter need only begin its
    /// argument.
    Initial,
}

/// Which processes count for one tracker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    /// The name (comm) or, with `full_command`, argv[0].
    name: Vec<u8>,
    /// The parameters as the kernel lays out a command line: each one
    /// followed by a NUL.
    params: Option<Vec<u8>>,
    mode: ParamMatch,
    full_command: bool,
}

impl Matcher {
    /// From `process NAME [PARAMS...]`, `param_match` and `full_command`,
    /// as keepalived's parser reads them: parameters or `param_match`
    /// imply matching the full command line, and parameters default to an
    /// exact match. Also returns what to warn about.
    pub fn new(
        process: &str,
        param_match: Option<&str>,
        full_command: bool,
    ) -> (Matcher, Vec<String>) {
        let mut warnings = Vec::new();
        let mut words = process.split_whitespace();
        let name = words.next().unwrap_or("").as_bytes().to_vec();
        let mut params = Vec::new();
        for w in words {
            params.extend_from_slice(w.as_bytes());
            params.push(0);
        }
        let params = (!params.is_empty()).then_some(params);
        let mut full = full_command || params.is_some();
        let mut mode = if params.is_some() {
            ParamMatch::Exact
        } else {
            ParamMatch::None
        };
        match param_match {
            None => {}
            Some("" | "exact") => mode = ParamMatch::Exact,
            Some("partial") => mode = ParamMatch::Partial,
            Some("initial") => mode = ParamMatch::Initial,
            Some(other) => warnings.push(format!("Invalid param_match type {other} - ignoring")),
        }
        if mode != ParamMatch::None {
            full = true;
        }
        if !full && name.len() > COMM_LEN {
            warnings.push(format!(
                "process name {} is longer than the {COMM_LEN} characters the kernel keeps; \
                 only its first {COMM_LEN} are compared (full_command compares the whole path)",
                String::from_utf8_lossy(&name)
            ));
        }
        (
            Matcher {
                name,
                params,
                mode,
                full_command: full,
            },
            warnings,
        )
    }

    /// Whether the command line must be read (else the name is enough).
    pub fn needs_cmdline(&self) -> bool {
        self.full_command
    }

    /// Does a process with this `comm` (name from /proc/PID/stat) and
    /// `cmdline` (/proc/PID/cmdline, NUL-separated) count?
    pub fn matches(&self, comm: &[u8], cmdline: &[u8]) -> bool {
        if !self.full_command {
            let want = &self.name[..self.name.len().min(COMM_LEN)];
            return !want.is_empty() && comm == want;
        }
        let (argv0, rest) = match cmdline.iter().position(|&b| b == 0) {
            Some(i) => (&cmdline[..i], &cmdline[i + 1..]),
            None => (cmdline, &[][..]),
        };
        if argv0.is_empty() || argv0 != self.name.as_slice() {
            return false;
        }
        self.mode == ParamMatch::None || self.params_match(rest)
    }

    /// keepalived's parameter comparison, on the NUL-separated arguments
    /// after argv[0].
    fn params_match(&self, params: &[u8]) -> bool {
        let want = self.params.as_deref();
        let want_len = want.map_or(0, <[u8]>::len);
        if params.len() < want_len {
            return false;
        }
        match (self.mode, want) {
            (ParamMatch::Exact, None) => params.is_empty(),
            (ParamMatch::Exact, Some(w)) => params == w,
            (_, None) => true,
            (ParamMatch::Partial, Some(w)) => params.starts_with(w),
            // The last given parameter without its NUL: a prefix of the
            // process's argument.
            (_, Some(w)) => params.starts_with(&w[..w.len() - 1]),
        }
    }
}

/// The quorum of one tracker and the delays before a change is reported.
///
/// A change is reported only once it has held for its delay (`fork_delay`
/// going up, `terminate_delay` going down); one that reverts within the
/// delay is never reported. The first observation is reported at once, as
/// keepalived reads its initial state synchronously.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumWatch {
    min: u32,
    max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    reported: Option<bool>,
    /// When the opposite of `reported` becomes reportable.
    pending: Option<Instant>,
}

impl QuorumWatch {
    /// Up while `min <= count <= max`.
    pub fn new(min: u32, max: u32, fork_delay: Duration, terminate_delay: Duration) -> Self {
        QuorumWatch {
            min,
            max,
            fork_delay,
            terminate_delay,
            reported: None,
            pending: None,
        }
    }

    pub fn quorum_up(&self, count: usize) -> bool {
        let n = u32::try_from(count).unwrap_or(u32::MAX);
        n >= self.min && n <= self.max
    }

    /// The current count of matching processes; returns the new verdict
    /// when one is to be reported.
    pub fn observe(&mut self, count: usize, now: Instant) -> Option<bool> {
        let up = self.quorum_up(count);
        match self.reported {
            None => {
                self.reported = Some(up);
                self.pending = None;
                Some(up)
            }
            Some(r) if r == up => {
                // Reverted (or never changed): nothing to report.
                self.pending = None;
                None
            }
            Some(_) => {
                let due = *self.pending.get_or_insert_with(|| {
                    now + if up {
                        self.fork_delay
                    } else {
                        self.terminate_delay
                    }
                });
                if now >= due {
                    self.reported = Some(up);
                    self.pending = None;
                    Some(up)
                } else {
                    None
                }
            }
        }
    }

    /// When a pending change becomes reportable.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
    }

    pub fn reported(&self) -> Option<bool> {
        self.reported
    }
}

/// The name from /proc/PID/stat (`PID (NAME) STATE ...`; the name may
/// itself hold parentheses), or `None` for a zombie or dead process.
pub fn parse_stat(stat: &[u8]) -> Option<&[u8]> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?;
    match stat.get(close + 2) {
        Some(b'Z' | b'X' | b'x') | None => None,
        Some(_) => Some(comm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command line as /proc/PID/cmdline holds it: NUL after each word.
    fn cl(args: &[&str]) -> Vec<u8> {
        args.iter().flat_map(|a| a.bytes().chain([0])).collect()
    }

    fn m(process: &str, param_match: Option<&str>, full: bool) -> Matcher {
        Matcher::new(process, param_match, full).0
    }

    #[test]
    fn name_matches_comm_truncated_to_fifteen_bytes() {
        let t = m("nginx", None, false);
        assert!(t.matches(b"nginx", b""));
        assert!(!t.matches(b"nginx2", &cl(&["nginx"])));
        assert!(!t.matches(b"ngin", b""));
        assert!(!t.needs_cmdline());
        // The kernel keeps 15 bytes: a longer name matches its truncation.
        let (t, w) = Matcher::new("a-very-long-daemon-name", None, false);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(t.matches(b"a-very-long-dae", b""));
        assert!(!t.matches(b"a-very-long-da", b""));
    }

    #[test]
    fn full_command_matches_argv0_exactly() {
        let t = m("/usr/sbin/nginx", None, true);
        assert!(t.needs_cmdline());
        assert!(t.matches(b"nginx", &cl(&["/usr/sbin/nginx", "-g", "daemon off;"])));
        assert!(t.matches(b"", &cl(&["/usr/sbin/nginx"])));
        assert!(!t.matches(b"nginx", &cl(&["nginx"])));
        assert!(!t.matches(b"nginx", &cl(&["/usr/sbin/nginx2"])));
        // Kernel threads have an empty command line.
        assert!(!m("", None, true).matches(b"", b""));
    }

    #[test]
    fn parameters_default_to_an_exact_match() {
        let t = m("/bin/sleep 1000", None, false);
        assert!(t.needs_cmdline(), "parameters imply full_command");
        assert!(t.matches(b"sleep", &cl(&["/bin/sleep", "1000"])));
        assert!(!t.matches(b"sleep", &cl(&["/bin/sleep", "100"])));
        assert!(!t.matches(b"sleep", &cl(&["/bin/sleep", "10000"])));
        assert!(!t.matches(b"sleep", &cl(&["/bin/sleep", "1000", "x"])));
        assert!(!t.matches(b"sleep", &cl(&["/bin/sleep"])));
    }

    #[test]
    fn exact_without_parameters_means_no_arguments() {
        let t = m("/bin/sleep", Some("exact"), false);
        assert!(t.matches(b"", &cl(&["/bin/sleep"])));
        assert!(t.matches(b"", b"/bin/sleep"));
        assert!(!t.matches(b"", &cl(&["/bin/sleep", "1"])));
        // `param_match` with no word is exact too.
        assert!(!m("/bin/sleep", Some(""), false).matches(b"", &cl(&["/bin/sleep", "1"])));
    }

    #[test]
    fn partial_needs_the_given_parameters_first() {
        let t = m("/usr/bin/python3 -m http.server", Some("partial"), false);
        assert!(t.matches(b"", &cl(&["/usr/bin/python3", "-m", "http.server"])));
        assert!(t.matches(b"", &cl(&["/usr/bin/python3", "-m", "http.server", "8080"])));
        assert!(!t.matches(b"", &cl(&["/usr/bin/python3", "-m", "http.serverx"])));
        assert!(!t.matches(b"", &cl(&["/usr/bin/python3", "-m"])));
        assert!(!t.matches(b"", &cl(&["/usr/bin/python3", "-c", "http.server"])));
        // Without parameters anything goes.
        assert!(m("/bin/sleep", Some("partial"), false).matches(b"", &cl(&["/bin/sleep", "5"])));
    }

    #[test]
    fn initial_lets_the_last_parameter_be_a_prefix() {
        let t = m("/bin/app --conf=/etc/a", Some("initial"), false);
        assert!(t.matches(b"", &cl(&["/bin/app", "--conf=/etc/a"])));
        assert!(t.matches(b"", &cl(&["/bin/app", "--conf=/etc/abc", "-v"])));
        assert!(!t.matches(b"", &cl(&["/bin/app", "--conf=/etc/b"])));
        assert!(!t.matches(b"", &cl(&["/bin/app", "--conf"])));
        // Only the last one: earlier parameters must be whole.
        let t = m("/bin/app -x y", Some("initial"), false);
        assert!(t.matches(b"", &cl(&["/bin/app", "-x", "yz"])));
        assert!(!t.matches(b"", &cl(&["/bin/app", "-xx", "y"])));
    }

    #[test]
    fn an_unknown_param_match_is_ignored_with_a_warning() {
        let (t, w) = Matcher::new("sleep", Some("fuzzy"), false);
        assert_eq!(
            w,
            vec!["Invalid param_match type fuzzy - ignoring".to_string()]
        );
        assert!(t.matches(b"sleep", b""));
    }

    #[test]
    fn stat_names_with_parentheses_and_zombies() {
        assert_eq!(parse_stat(b"12 (sleep) S 1 2 3"), Some(&b"sleep"[..]));
        assert_eq!(parse_stat(b"12 (a) b) R 1 2 3"), Some(&b"a) b"[..]));
        assert_eq!(parse_stat(b"12 (sleep) Z 1 2 3"), None);
        assert_eq!(parse_stat(b"12 sleep"), None);
    }

    /// The parent's plan gives each tracker its bounds (see its
    /// `quorum_bounds`).
    #[test]
    fn quorum_and_quorum_max() {
        let w = |min, max| QuorumWatch::new(min, max, Duration::ZERO, Duration::ZERO);
        let one = w(1, u32::MAX);
        assert!(!one.quorum_up(0) && one.quorum_up(1) && one.quorum_up(1000));
        let two_to_three = w(2, 3);
        let up: Vec<bool> = (0..5).map(|n| two_to_three.quorum_up(n)).collect();
        assert_eq!(up, [false, false, true, true, false]);
        // quorum_max 0: up only while none runs.
        let none = w(0, 0);
        assert!(none.quorum_up(0) && !none.quorum_up(1));
    }

    #[test]
    fn the_first_observation_is_reported_at_once() {
        let t0 = Instant::now();
        let mut w = QuorumWatch::new(1, u32::MAX, Duration::from_secs(5), Duration::from_secs(5));
        assert_eq!(w.observe(0, t0), Some(false));
        assert_eq!(w.observe(0, t0), None);
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn changes_wait_for_their_own_delay() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut w = QuorumWatch::new(1, u32::MAX, s(2), s(5));
        assert_eq!(w.observe(1, t0), Some(true));
        // Down waits terminate_delay (5 s).
        assert_eq!(w.observe(0, t0 + s(1)), None);
        assert_eq!(w.next_deadline(), Some(t0 + s(6)));
        assert_eq!(w.observe(0, t0 + s(5)), None);
        assert_eq!(w.observe(0, t0 + s(6)), Some(false));
        assert_eq!(w.next_deadline(), None);
        // Up waits fork_delay (2 s).
        assert_eq!(w.observe(3, t0 + s(10)), None);
        assert_eq!(w.next_deadline(), Some(t0 + s(12)));
        assert_eq!(w.observe(3, t0 + s(12)), Some(true));
        assert_eq!(w.reported(), Some(true));
    }

    #[test]
    fn a_change_that_reverts_within_its_delay_is_not_reported() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut w = QuorumWatch::new(1, u32::MAX, s(2), s(2));
        assert_eq!(w.observe(1, t0), Some(true));
        assert_eq!(w.observe(0, t0 + s(1)), None);
        assert_eq!(w.observe(2, t0 + s(2)), None);
        assert_eq!(w.next_deadline(), None);
        // A new loss starts its delay afresh.
        assert_eq!(w.observe(0, t0 + s(3)), None);
        assert_eq!(w.observe(0, t0 + s(4)), None);
        assert_eq!(w.observe(0, t0 + s(5)), Some(false));
    }

    #[test]
    fn without_delays_changes_are_reported_at_once() {
        let t0 = Instant::now();
        let mut w = QuorumWatch::new(2, 3, Duration::ZERO, Duration::ZERO);
        assert_eq!(w.observe(0, t0), Some(false));
        assert_eq!(w.observe(2, t0), Some(true));
        assert_eq!(w.observe(3, t0), None);
        assert_eq!(w.observe(4, t0), Some(false));
    }
}
