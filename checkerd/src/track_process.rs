//! `vrrp_track_process`: whether enough processes of a name run.
//!
//! keepalived follows forks and exits with the netlink process connector,
//! which needs CAP_NET_ADMIN; checkerd holds no capability, so it scans
//! `/proc` instead, every [`SCAN_INTERVAL`] while at least one tracker is
//! in use. Matching (`Matcher`) and the quorum with its fork/terminate
//! delays (`QuorumWatch`) are pure, in `keepalived_check::process` (tested
//! without processes or a clock, and fuzzed); [`ProcessTracker`] is the
//! thin scanning shell around them.

use keepalived_check::plan::ProcessPlan;
use keepalived_check::process::{parse_stat, Matcher, QuorumWatch};
use log::warn;
use std::io::Read;
use std::time::{Duration, Instant};

/// How often `/proc` is scanned: well under the one-second advert interval,
/// so a dead process moves mastership about as fast as keepalived's
/// event-driven tracking does, and cheap enough on a busy host.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(200);

/// One tracker in use: its matcher, its quorum watch and the last count.
struct Tracked {
    name: String,
    matcher: Matcher,
    watch: QuorumWatch,
    count: usize,
}

/// Every tracker in use, and the `/proc` scan that feeds them.
#[derive(Default)]
pub struct ProcessTracker {
    tracked: Vec<Tracked>,
    next_scan: Option<Instant>,
    scans: u64,
    /// Reused buffers: a scan reads one or two small files per process.
    stat: Vec<u8>,
    cmdline: Vec<u8>,
}

impl ProcessTracker {
    /// The trackers of the plan (those some instance or sync group refers
    /// to), each starting unreported.
    pub fn new(plan: &[ProcessPlan]) -> ProcessTracker {
        let mut tracked = Vec::new();
        for p in plan {
            let (matcher, warnings) =
                Matcher::new(&p.process, p.param_match.as_deref(), p.full_command);
            for w in warnings {
                warn!("vrrp_track_process {}: {w}", p.name);
            }
            tracked.push(Tracked {
                name: p.name.clone(),
                matcher,
                watch: QuorumWatch::new(p.min, p.max, p.fork_delay, p.terminate_delay),
                count: 0,
            });
        }
        ProcessTracker {
            tracked,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.tracked.len()
    }

    pub fn scans(&self) -> u64 {
        self.scans
    }

    /// Scan if a scan or a delay is due; returns the verdicts to report
    /// (tracker name, quorum up).
    pub fn poll(&mut self, now: Instant) -> Vec<(String, bool)> {
        let due = self.next_scan.is_none_or(|s| s <= now)
            || self
                .tracked
                .iter()
                .any(|t| t.watch.next_deadline().is_some_and(|d| d <= now));
        if self.tracked.is_empty() || !due {
            return Vec::new();
        }
        self.scan();
        self.next_scan = Some(now + SCAN_INTERVAL);
        self.tracked
            .iter_mut()
            .filter_map(|t| t.watch.observe(t.count, now).map(|up| (t.name.clone(), up)))
            .collect()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        if self.tracked.is_empty() {
            return None;
        }
        // Never scanned: due now.
        let scan = self.next_scan.unwrap_or_else(Instant::now);
        self.tracked
            .iter()
            .filter_map(|t| t.watch.next_deadline())
            .chain([scan])
            .min()
    }

    /// (name, matching processes, reported verdict) of each tracker.
    pub fn states(&self) -> impl Iterator<Item = (&str, usize, Option<bool>)> {
        self.tracked
            .iter()
            .map(|t| (t.name.as_str(), t.count, t.watch.reported()))
    }

    /// Count the matching processes of every tracker. Processes that end
    /// while being read simply do not count.
    fn scan(&mut self) {
        self.scans += 1;
        for t in &mut self.tracked {
            t.count = 0;
        }
        let need_comm = self.tracked.iter().any(|t| !t.matcher.needs_cmdline());
        let need_cmdline = self.tracked.iter().any(|t| t.matcher.needs_cmdline());
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in dir.flatten() {
            let pid = e.file_name();
            let pid = pid.as_encoded_bytes();
            if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
                continue;
            }
            let pid = String::from_utf8_lossy(pid);
            let mut comm: &[u8] = &[];
            if need_comm {
                if !read_small(&format!("/proc/{pid}/stat"), &mut self.stat, 512) {
                    continue;
                }
                match parse_stat(&self.stat) {
                    Some(c) => comm = c,
                    // A zombie (or unreadable): not running.
                    None => continue,
                }
            }
            let mut cmdline: &[u8] = &[];
            if need_cmdline && read_small(&format!("/proc/{pid}/cmdline"), &mut self.cmdline, 4096)
            {
                cmdline = &self.cmdline;
            }
            for t in &mut self.tracked {
                if t.matcher.matches(comm, cmdline) {
                    t.count += 1;
                }
            }
        }
    }
}

/// Read at most `max` bytes of a /proc file into `buf`.
fn read_small(path: &str, buf: &mut Vec<u8>, max: u64) -> bool {
    buf.clear();
    std::fs::File::open(path)
        .and_then(|f| f.take(max).read_to_end(buf))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_counts_this_very_process() {
        // The test binary itself: its comm is its file name, truncated.
        let argv0 = std::env::args().next().unwrap();
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        let plan =
            |name: &str, process: String, full_command, param_match: Option<&str>| ProcessPlan {
                name: name.into(),
                process,
                param_match: param_match.map(String::from),
                full_command,
                min: 1,
                max: u32::MAX,
                fork_delay: Duration::ZERO,
                terminate_delay: Duration::ZERO,
            };
        let mut t = ProcessTracker::new(&[
            plan("me", comm.trim().into(), false, None),
            plan("me_full", argv0, true, Some("partial")),
        ]);
        let now = Instant::now();
        let got = t.poll(now);
        assert!(got.contains(&("me".to_string(), true)), "{got:?}");
        assert!(got.contains(&("me_full".to_string(), true)), "{got:?}");
        assert_eq!(t.scans(), 1);
        assert_eq!(t.next_deadline(), Some(now + SCAN_INTERVAL));
        assert!(t.poll(now).is_empty(), "not due yet");
        assert_eq!(t.scans(), 1);
    }
}
