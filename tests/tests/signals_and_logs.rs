//! Signals (HUP reload, USR1/USR2 dumps) and logging (per-subsystem files,
//! syslog idents and facility, a syslog that does not read).

use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{bin, Netns, Suite};
use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::mpsc;

const MINIMAL: &str = "global_defs {\n    router_id test\n}\n";

#[test]
fn syslog_lines_carry_each_process_ident_and_the_facility() {
    let suite = Suite::start(MINIMAL, &["-S", "2"]);
    // Every child logs its configuration before the parent starts them all.
    for ident in [
        "Keepalived[",
        "Keepalived_vrrp[",
        "Keepalived_healthcheckers[",
        "Keepalived_ipvs[",
    ] {
        let line = suite
            .log
            .lines
            .iter()
            .find(|l| l.contains(ident))
            .unwrap_or_else(|| panic!("no {ident} line"));
        // local2 (18) * 8 + info (6) = 150
        assert!(line.starts_with("<150>"), "{line}");
    }
}

#[test]
fn sighup_applies_a_good_config_and_keeps_children() {
    let mut suite = Suite::start(MINIMAL, &[]);
    let pids: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| suite.child_pid(c))
        .collect();
    std::fs::write(&suite.config, "global_defs {\n    router_id changed\n}\n").unwrap();
    suite.signal(Signal::SIGHUP);
    suite.log.wait_for_all(
        &[
            "vrrpd applied configuration 2",
            "checkerd applied configuration 2",
            "ipvsd applied configuration 2",
        ],
        PROMPT,
    );
    let now: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| suite.child_pid(c))
        .collect();
    assert_eq!(pids, now, "a reload must not restart children");
}

#[test]
fn sighup_with_an_unreadable_config_keeps_the_running_one() {
    let mut suite = Suite::start(MINIMAL, &[]);
    let pids: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| suite.child_pid(c))
        .collect();
    std::fs::remove_file(&suite.config).unwrap();
    suite.signal(Signal::SIGHUP);
    suite
        .log
        .wait_for_text("Reload failed; keeping the running configuration", PROMPT);
    let line = suite.log.wait_for_text("keepalived.conf", PROMPT);
    assert!(line.contains("error"), "{line}");
    // Still alive and answering: a dump round-trips through every child.
    suite.signal(Signal::SIGUSR1);
    suite
        .log
        .wait_for_text("Wrote /tmp/keepalived.data", PROMPT);
    let now: Vec<i32> = ["vrrpd", "checkerd", "ipvsd"]
        .iter()
        .map(|c| suite.child_pid(c))
        .collect();
    assert_eq!(pids, now);
}

#[test]
fn usr1_and_usr2_write_dumps_with_every_subsystem() {
    let mut suite = Suite::start(MINIMAL, &[]);
    suite.signal(Signal::SIGUSR1);
    suite
        .log
        .wait_for_text("Wrote /tmp/keepalived.data", PROMPT);
    let data = std::fs::read_to_string("/tmp/keepalived.data").unwrap();
    for part in [
        "------< Parent >------",
        "VRRP Topology",
        "Health checkers",
        "------< IPVS >------",
    ] {
        assert!(data.contains(part), "{part} missing from\n{data}");
    }
    suite.signal(Signal::SIGUSR2);
    suite
        .log
        .wait_for_text("Wrote /tmp/keepalived.stats", PROMPT);
    let stats = std::fs::read_to_string("/tmp/keepalived.stats").unwrap();
    assert!(stats.contains("Log lines dropped:"), "{stats}");
    assert!(stats.contains("VRRP statistics"), "{stats}");
}

#[test]
fn log_file_is_split_per_subsystem() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("ka.log");
    let mut suite = Suite::start(MINIMAL, &["-g", &base.to_string_lossy()]);
    assert!(suite.stop().success());
    for (file, ident) in [
        ("ka.log", "Keepalived["),
        ("ka_vrrp.log", "Keepalived_vrrp["),
        ("ka_healthcheckers.log", "Keepalived_healthcheckers["),
        ("ka_ipvs.log", "Keepalived_ipvs["),
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        assert!(text.lines().count() >= 2, "{file}: {text}");
        assert!(
            text.lines().all(|l| l.contains(ident)),
            "{file} has lines of another process:\n{text}"
        );
    }
}

/// A syslog socket that exists but is never read (a hung syslog daemon):
/// every process keeps running and answering, logging to the console.
#[test]
fn a_syslog_that_never_reads_blocks_nobody() {
    let ns = Netns::new("hungsyslog");
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("hung.sock");
    let hung = UnixDatagram::bind(&sock_path).unwrap();
    nix::sys::socket::setsockopt(&hung, nix::sys::socket::sockopt::RcvBuf, &1024).unwrap();
    let conf = dir.path().join("k.conf");
    std::fs::write(&conf, MINIMAL).unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().to_string();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(bin("keepalived-rs"))
        .args([
            "-n",
            "-l",
            "-D",
            "-f",
            &p("k.conf"),
            "--syslog-socket",
            &p("hung.sock"),
        ])
        .args([
            "-p",
            &p("p"),
            "-r",
            &p("r"),
            "-c",
            &p("c"),
            "--ipvs_pid",
            &p("i"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait = |needle: &str| loop {
        let l = rx
            .recv_timeout(PROMPT)
            .unwrap_or_else(|_| panic!("no '{needle}' on the console"));
        if l.contains(needle) {
            return l;
        }
    };
    wait("All children configured; starting");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    for _ in 0..20 {
        nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
        wait("applied configuration");
    }
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    wait("Stopped keepalived-rs");
    assert!(child.wait().unwrap().success());
    drop(hung);
}

/// `-l` with stderr redirected to a plain file (`> log`, no O_APPEND):
/// every process's lines land whole, none overwrites another's. checkerd
/// cannot reopen a root-owned file as its own user, so it writes through
/// an append-mode description the parent opened for it.
#[test]
fn console_lines_of_every_process_share_a_redirected_file() {
    let conf = "virtual_server 10.0.0.1 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 10.0.1.1 80 {\n        MISC_CHECK {\n            misc_path /bin/false\n        }\n    }\n}\n";
    let mut s = Suite::start(conf, &["-l"]);
    s.log
        .wait_for_text("Removing service [10.0.1.1]:tcp:80", PROMPT);
    assert!(s.stop().success());
    let text = s.stderr();
    for ident in [
        "Keepalived[",
        "Keepalived_vrrp[",
        "Keepalived_healthcheckers[",
        "Keepalived_ipvs[",
    ] {
        assert!(text.contains(ident), "no {ident} line:\n{text}");
    }
    for l in text.lines() {
        let ok = l.len() > 26 && l.as_bytes()[3] == b' ' && l[..26].ends_with(": ");
        assert!(ok, "a broken console line {l:?} in:\n{text}");
    }
    assert!(text.contains("Starting keepalived-rs"), "{text}");
}
