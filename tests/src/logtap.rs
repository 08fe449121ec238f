//! A syslog socket the suite under test logs into. Tests block on it for
//! the line they expect (with a generous upper bound), so they follow
//! events instead of sleeping.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct LogTap {
    sock: UnixDatagram,
    pub path: PathBuf,
    /// Every line received so far, in order.
    pub lines: Vec<String>,
    /// Index of the first line not yet consumed by a wait.
    cursor: usize,
}

impl LogTap {
    pub fn bind(path: &Path) -> LogTap {
        let _ = std::fs::remove_file(path);
        // A datagram socket's queue holds `net.unix.max_dgram_qlen` messages
        // (10 by default), counted in the namespace that creates it. Four
        // processes logging at once overflow that while the test is busy
        // elsewhere; their lines then wait in the senders' queues. Create
        // the socket in a private namespace with a deeper queue, so a test
        // never depends on how fast it drains the socket.
        let p = path.to_path_buf();
        let sock = std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("unshare for the log socket");
            std::fs::write("/proc/sys/net/unix/max_dgram_qlen", "4096").expect("max_dgram_qlen");
            UnixDatagram::bind(&p).expect("bind log socket")
        })
        .join()
        .expect("log socket thread");
        LogTap {
            sock,
            path: path.to_path_buf(),
            lines: Vec::new(),
            cursor: 0,
        }
    }

    /// Take one line, waiting until `until` at most. False only once the
    /// deadline has passed: a receive cut short (EINTR: on Linux a socket
    /// with a receive timeout returns it after the process was stopped and
    /// resumed, or frozen and thawed, even without a signal handler) is
    /// retried, so a test never fails before its timeout.
    fn receive(&mut self, until: Instant) -> bool {
        let mut buf = vec![0u8; 65536];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.sock.set_read_timeout(Some(left)).expect("timeout");
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let line = String::from_utf8_lossy(&buf[..n]).to_string();
                    if std::env::var_os("KARS_TEST_VERBOSE").is_some() {
                        eprintln!("log: {line}");
                    }
                    self.lines.push(line);
                    return true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("log socket {}: {e}", self.path.display()),
            }
        }
    }

    /// Wait for the next line (after earlier waits) matching `pred`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let until = start + timeout;
        loop {
            while self.cursor < self.lines.len() {
                let l = &self.lines[self.cursor];
                self.cursor += 1;
                if pred(l) {
                    return l.clone();
                }
            }
            if !self.receive(until) {
                panic!(
                    "timed out after {:?} (of {timeout:?}) waiting for {what}; log so far:\n{}",
                    start.elapsed(),
                    self.lines.join("\n")
                );
            }
        }
    }

    /// Wait until every needle has appeared in some line after earlier
    /// waits, in any order (processes log concurrently).
    pub fn wait_for_all(&mut self, needles: &[&str], timeout: Duration) {
        let until = Instant::now() + timeout;
        let start = self.cursor;
        let missing = |lines: &[String]| -> Vec<String> {
            let seen = |n: &str| lines[start..].iter().any(|l| l.contains(n));
            needles
                .iter()
                .filter(|n| !seen(n))
                .map(|n| n.to_string())
                .collect()
        };
        loop {
            if missing(&self.lines).is_empty() {
                self.cursor = self.lines.len();
                return;
            }
            if !self.receive(until) {
                panic!(
                    "timed out after {timeout:?} waiting for {:?}; log so far:\n{}",
                    missing(&self.lines),
                    self.lines.join("\n")
                );
            }
        }
    }

    /// Wait for a line containing `needle`.
    pub fn wait_for_text(&mut self, needle: &str, timeout: Duration) -> String {
        self.wait_for(needle, timeout, |l| l.contains(needle))
    }

    /// Collect whatever arrives within `window` (for asserting absence).
    pub fn drain_for(&mut self, window: Duration) {
        let until = Instant::now() + window;
        while self.receive(until) {}
    }

    /// Lines received but not yet consumed by a wait.
    pub fn pending_lines(&self) -> &[String] {
        &self.lines[self.cursor..]
    }

    /// Lines (all so far) containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines.iter().filter(|l| l.contains(needle)).count()
    }
}
