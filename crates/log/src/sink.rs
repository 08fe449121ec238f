//! The three non-blocking sinks.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use syslog::{Facility, Formatter3164, LogFormat, Severity};

const RECONNECT_EVERY: Duration = Duration::from_secs(1);
static RECONNECT_NOW: AtomicBool = AtomicBool::new(false);

/// Test hook: let the next flush reconnect without waiting.
#[cfg(test)]
pub(crate) fn force_reconnect_now() {
    RECONNECT_NOW.store(true, Ordering::Relaxed);
}

/// A datagram syslog socket that is (re)connected lazily and never blocks.
pub(crate) struct Syslog {
    fmt: Formatter3164,
    path: PathBuf,
    sock: Option<UnixDatagram>,
    last_attempt: Option<Instant>,
    queue: VecDeque<Vec<u8>>,
}

impl Syslog {
    pub(crate) fn new(ident: &str, facility: Facility, pid: u32, path: Option<PathBuf>) -> Self {
        let mut s = Syslog {
            fmt: Formatter3164 {
                facility,
                hostname: None,
                process: ident.to_string(),
                pid,
            },
            path: path.unwrap_or_else(|| PathBuf::from("/dev/log")),
            sock: None,
            last_attempt: None,
            queue: VecDeque::new(),
        };
        s.connect();
        s
    }

    fn connect(&mut self) {
        self.last_attempt = Some(Instant::now());
        // Non-blocking from creation (no FIONBIO ioctl: sandboxed children
        // reconnect under a seccomp filter that does not allow ioctl).
        use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let Ok(fd) = socket(AddressFamily::Unix, SockType::Datagram, flags, None) else {
            return;
        };
        let Ok(addr) = UnixAddr::new(&self.path) else {
            return;
        };
        if connect(fd.as_raw_fd(), &addr).is_ok() {
            self.sock = Some(UnixDatagram::from(fd));
        }
    }

    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn send(&mut self, sev: Severity, msg: &str) {
        let mut line = Vec::with_capacity(msg.len() + 64);
        if self.fmt.format(&mut line, sev, msg).is_err() {
            return;
        }
        self.flush();
        if !self.queue.is_empty() || !self.try_send(&line) {
            self.enqueue(line);
        }
    }

    fn enqueue(&mut self, line: Vec<u8>) {
        if self.queue.len() >= crate::SYSLOG_QUEUE {
            crate::count_drop();
        } else {
            self.queue.push_back(line);
        }
    }

    /// Send one datagram; false if it must wait.
    fn try_send(&mut self, line: &[u8]) -> bool {
        let Some(sock) = self.sock.as_ref() else {
            return false;
        };
        match sock.send(line) {
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                // Too long for the socket: it never will fit.
                crate::count_drop();
                true
            }
            Err(_) => {
                // The daemon went away (ECONNREFUSED, ENOTCONN): reconnect later.
                self.sock = None;
                false
            }
        }
    }

    pub(crate) fn flush(&mut self) {
        if self.sock.is_none() {
            let due = RECONNECT_NOW.swap(false, Ordering::Relaxed)
                || self
                    .last_attempt
                    .is_none_or(|t| t.elapsed() >= RECONNECT_EVERY);
            if !due {
                return;
            }
            self.connect();
        }
        while let Some(line) = self.queue.pop_front() {
            if !self.try_send(&line) {
                self.queue.push_front(line);
                break;
            }
        }
    }
}

/// Standard error, reopened with its own non-blocking file description so a
/// full pipe drops lines instead of stalling (and the shared description of
/// fd 2 keeps its flags).
pub(crate) struct Console {
    fd: OwnedFd,
}

impl Console {
    pub(crate) fn stderr() -> Option<Self> {
        use nix::fcntl::{open, OFlag};
        use nix::sys::stat::Mode;
        let flags = OFlag::O_WRONLY
            | OFlag::O_NONBLOCK
            | OFlag::O_APPEND
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY;
        match open("/proc/self/fd/2", flags, Mode::empty()) {
            Ok(fd) => Some(Console { fd }),
            // No /proc: fall back to a duplicate of fd 2 (blocking semantics of
            // whatever it is, but never /dev/console).
            Err(_) => nix::unistd::dup(std::io::stderr())
                .ok()
                .map(|fd| Console { fd }),
        }
    }

    pub(crate) fn write(&mut self, line: &[u8]) {
        write_or_count(&self.fd, line);
    }
}

/// A log file handed over already open.
pub(crate) struct FileSink {
    fd: OwnedFd,
}

impl FileSink {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        FileSink { fd }
    }

    pub(crate) fn write(&mut self, line: &[u8]) {
        write_or_count(&self.fd, line);
    }
}

fn write_or_count(fd: &OwnedFd, line: &[u8]) {
    // SAFETY: plain write(2) on a descriptor we own, from a live buffer.
    let n = unsafe { libc::write(fd.as_raw_fd(), line.as_ptr().cast(), line.len()) };
    if n < 0 || (n as usize) < line.len() {
        crate::count_drop();
    }
}
