//! `Type=notify` without systemd: the test binds the notification socket
//! itself and reads what the parent tells the service manager — READY=1
//! after the start barrier, RELOADING=1 (with MONOTONIC_USEC) then READY=1
//! around each reload with its outcome in STATUS, STOPPING=1, WATCHDOG=1
//! — and what happens when a child stops answering its heartbeat.

use keepalived_rs_tests::lan::{holds, Lan};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{proc, LogTap, Suite};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::sync::Arc;
use std::time::Duration;

const CONF: &str = "global_defs {\n    router_id NOTIFY\n}\n\
    vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    \
    priority 150\n    advert_int 1\n    \
    virtual_ipaddress {\n        10.99.0.100/24\n    }\n}\n";

/// The service manager's end: every datagram the suite sends, kept by a
/// LogTap (one entry per datagram, the same bounded, EINTR-proof waits).
struct Manager {
    tap: LogTap,
    _dir: tempfile::TempDir,
    path: String,
}

impl Manager {
    fn bind() -> Manager {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        Manager {
            tap: LogTap::bind(&path),
            path: path.to_string_lossy().to_string(),
            _dir: dir,
        }
    }

    /// The next message with `field` (e.g. "READY=1"), waiting at most
    /// PROMPT.
    fn wait_for(&mut self, field: &str) -> String {
        self.tap
            .wait_for(field, PROMPT, |m| m.lines().any(|l| l == field))
    }
}

fn field<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

#[test]
fn the_service_manager_hears_ready_reloading_stopping_and_the_watchdog() {
    let mut lan = Lan::new();
    let host = Arc::new(lan.host(1));
    let mut manager = Manager::bind();
    let mut suite = Suite::spawn_in_env(
        host,
        CONF,
        &[],
        &[
            ("NOTIFY_SOCKET", manager.path.as_str()),
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    let ready = manager.wait_for("READY=1");
    assert!(
        field(&ready, "STATUS").is_some_and(|s| s.starts_with("Configuration 1")),
        "{ready}"
    );
    suite
        .log
        .wait_for_text("All children configured; starting", PROMPT);
    assert!(
        manager.tap.lines.iter().all(|m| !m.contains("RELOADING=1")),
        "{:?}",
        manager.tap.lines
    );
    // The watchdog is fed (every second for WATCHDOG_USEC=2 s).
    manager.wait_for("WATCHDOG=1");
    manager.wait_for("WATCHDOG=1");
    suite
        .log
        .wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    // STATUS follows the transition (systemctl status shows the state now).
    let now = manager.tap.wait_for("STATUS with 1 MASTER", PROMPT, |m| {
        field(m, "STATUS").is_some_and(|s| s.contains("VRRP: 1 MASTER"))
    });
    assert!(!now.contains("READY=1"), "{now}");

    // A good reload: RELOADING=1 with the monotonic time, then READY=1 and
    // the outcome.
    std::fs::write(&suite.config, CONF.replace("priority 150", "priority 140")).unwrap();
    suite.signal(Signal::SIGHUP);
    let reloading = manager.wait_for("RELOADING=1");
    let usec: u64 = field(&reloading, "MONOTONIC_USEC")
        .expect("MONOTONIC_USEC with RELOADING=1")
        .parse()
        .unwrap();
    assert!(usec > 0);
    let done = manager.wait_for("READY=1");
    let status = field(&done, "STATUS").unwrap_or_default();
    assert!(
        status.contains("configuration 2: applied") && status.contains("1 MASTER"),
        "{done}"
    );

    // A file that does not load: the reload ends at once, failed, and
    // the running configuration stays.
    std::fs::write(&suite.config, "vrrp_instance {\n").unwrap();
    suite.signal(Signal::SIGHUP);
    manager.wait_for("RELOADING=1");
    let done = manager.wait_for("READY=1");
    assert!(
        field(&done, "STATUS").is_some_and(|s| s.contains("configuration 3: not loaded")),
        "{done}"
    );
    assert!(holds(&suite.ns, "10.99.0.100/24"));

    assert!(suite.stop().success());
    manager.wait_for("STOPPING=1");
}

#[test]
fn a_stopped_child_is_killed_and_restarted_and_resumes_as_master() {
    let mut lan = Lan::new();
    let host = Arc::new(lan.host(1));
    let mut suite = Suite::spawn_in(host, CONF, &[]).wait_started();
    suite
        .log
        .wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let left_master = |suite: &Suite| {
        suite.log.count("Entering BACKUP STATE") + suite.log.count("Entering FAULT STATE")
    };
    let before = left_master(&suite);
    // Every child: a stopped one answers no heartbeat, whatever it runs.
    for child in ["checkerd", "ipvsd", "vrrpd"] {
        let old = suite.child_pid(child);
        kill(Pid::from_raw(old), Signal::SIGSTOP).unwrap();
        let line = suite.log.wait_for_text(
            &format!("{child} (pid {old}) has not answered its heartbeat"),
            Duration::from_secs(40),
        );
        assert!(line.contains("restarting it"), "{line}");
        assert!(
            proc::wait_gone(old, PROMPT),
            "the stopped {child} was not killed"
        );
        suite.log.wait_for(&format!("a new {child}"), PROMPT, |l| {
            l.contains(&format!("{child} (pid ")) && l.contains(") ready (configuration 1)")
        });
        assert_ne!(suite.child_pid(child), old);
    }
    // vrrpd came back from the replay: still master, the address held.
    // (An absence: give it the time of two adverts to show.)
    suite.log.drain_for(Duration::from_secs(2));
    assert_eq!(
        left_master(&suite),
        before,
        "no transition away from MASTER"
    );
    assert!(holds(&suite.ns, "10.99.0.100/24"));
    assert!(suite.stop().success());
}
