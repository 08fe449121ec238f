//! Logging that never blocks an event loop.
//!
//! Every keepalived-rs process logs to syslog under its own ident
//! (`Keepalived`, `Keepalived_vrrp`, ...), optionally to the console (`-l`)
//! and to its own file (`-g`). keepalived falls back to a blocking write on
//! `/dev/console` when no syslog daemon listens; at scale that stalls its VRRP
//! process. Here every sink is non-blocking: syslog lines wait in a bounded
//! queue while the socket is absent or full, the console is written with
//! `O_NONBLOCK`, and whatever does not fit is dropped and counted.

mod sink;

use log::{Level, LevelFilter, Log, Metadata, Record};
use sink::{Console, FileSink, Syslog};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub use syslog::Facility;

/// Lines queued for syslog while it cannot take them.
pub const SYSLOG_QUEUE: usize = 4096;

static DROPPED: AtomicU64 = AtomicU64::new(0);
static LOGGER: Mutex<Option<Sinks>> = Mutex::new(None);

/// How one process logs.
pub struct LogSettings {
    /// Syslog ident and console prefix, e.g. `Keepalived_vrrp`.
    pub ident: String,
    pub facility: Facility,
    /// Log to syslog (keepalived's `-G` turns this off).
    pub syslog: bool,
    /// Syslog socket; `/dev/log` unless a test points it elsewhere.
    pub syslog_socket: Option<PathBuf>,
    /// Also write to standard error (`-l`).
    pub console: bool,
    /// An already-open log file (`-g`); children get theirs from the parent.
    pub file: Option<OwnedFd>,
    /// `-D`: detailed (debug) messages too.
    pub detail: bool,
}

impl LogSettings {
    pub fn new(ident: &str) -> Self {
        LogSettings {
            ident: ident.to_string(),
            facility: Facility::LOG_DAEMON,
            syslog: true,
            syslog_socket: None,
            console: false,
            file: None,
            detail: false,
        }
    }
}

/// keepalived's `-S 0-7` means `local0`..`local7`.
pub fn facility_from_number(n: u8) -> Option<Facility> {
    use Facility::*;
    [
        LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6,
        LOG_LOCAL7,
    ]
    .get(n as usize)
    .copied()
}

struct Sinks {
    syslog: Option<Syslog>,
    console: Option<Console>,
    file: Option<FileSink>,
    ident: String,
    pid: u32,
}

struct Logger {
    level: LevelFilter,
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Ok(mut guard) = LOGGER.lock() else { return };
        let Some(s) = guard.as_mut() else { return };
        let msg = record.args().to_string();
        if let Some(sl) = s.syslog.as_mut() {
            sl.send(severity(record.level()), &msg);
        }
        if s.console.is_some() || s.file.is_some() {
            let line = format!("{}: {}[{}]: {}\n", timestamp(), s.ident, s.pid, msg);
            if let Some(c) = s.console.as_mut() {
                c.write(line.as_bytes());
            }
            if let Some(f) = s.file.as_mut() {
                f.write(line.as_bytes());
            }
        }
    }

    fn flush(&self) {
        flush();
    }
}

fn severity(l: Level) -> syslog::Severity {
    match l {
        Level::Error => syslog::Severity::LOG_ERR,
        Level::Warn => syslog::Severity::LOG_WARNING,
        Level::Info => syslog::Severity::LOG_INFO,
        Level::Debug | Level::Trace => syslog::Severity::LOG_DEBUG,
    }
}

/// keepalived's console time stamp, e.g. `Mon Nov 23 13:30:01 2026`.
fn timestamp() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

/// Count a line that no sink could take.
pub(crate) fn count_drop() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Install the process-wide logger. Call once, before any sandboxing: it
/// opens the syslog socket and reopens the console non-blocking.
pub fn init(settings: LogSettings) {
    let pid = std::process::id();
    let sinks = Sinks {
        syslog: settings.syslog.then(|| {
            Syslog::new(
                &settings.ident,
                settings.facility,
                pid,
                settings.syslog_socket.clone(),
            )
        }),
        console: if settings.console {
            Console::stderr()
        } else {
            None
        },
        file: settings.file.map(FileSink::new),
        ident: settings.ident.clone(),
        pid,
    };
    if let Ok(mut g) = LOGGER.lock() {
        *g = Some(sinks);
    }
    let level = if settings.detail {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    // A second init (tests, re-exec) keeps the first logger but the new sinks.
    let _ = log::set_boxed_logger(Box::new(Logger { level }));
    log::set_max_level(level);
}

/// Retry lines waiting for syslog. Event loops call this once per wake-up;
/// it never blocks.
pub fn flush() {
    if let Ok(mut g) = LOGGER.lock() {
        if let Some(sl) = g.as_mut().and_then(|s| s.syslog.as_mut()) {
            sl.flush();
        }
    }
}

/// Lines dropped so far because a sink was full or absent.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Lines waiting for syslog.
pub fn queued() -> usize {
    LOGGER
        .lock()
        .ok()
        .and_then(|g| {
            g.as_ref()
                .and_then(|s| s.syslog.as_ref().map(Syslog::queued))
        })
        .unwrap_or(0)
}

/// The file descriptors the logger holds (a child's sandbox keeps them).
pub fn facility_name(f: Facility) -> &'static str {
    use Facility::*;
    match f {
        LOG_DAEMON => "daemon",
        LOG_USER => "user",
        LOG_LOCAL0 => "local0",
        LOG_LOCAL1 => "local1",
        LOG_LOCAL2 => "local2",
        LOG_LOCAL3 => "local3",
        LOG_LOCAL4 => "local4",
        LOG_LOCAL5 => "local5",
        LOG_LOCAL6 => "local6",
        LOG_LOCAL7 => "local7",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn lines_reach_a_test_socket_and_overflow_is_counted() {
        let dir = std::env::temp_dir().join(format!("kars-log-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        // No listener yet: lines queue, then overflow is dropped and counted.
        let mut s = LogSettings::new("Keepalived_test");
        s.syslog_socket = Some(path.clone());
        s.facility = facility_from_number(3).unwrap();
        init(s);
        let before = dropped();
        for i in 0..(SYSLOG_QUEUE + 10) {
            log::info!("line {i}");
        }
        assert_eq!(queued(), SYSLOG_QUEUE);
        assert_eq!(dropped() - before, 10);

        // A listener appears: the queue drains on flush (after the reconnect delay).
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        sink::force_reconnect_now();
        flush();
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]).to_string();
        // local3 (19) * 8 + info (6) = 158
        assert!(line.starts_with("<158>"), "{line}");
        assert!(line.contains("Keepalived_test["), "{line}");
        assert!(line.ends_with("line 0"), "{line}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
