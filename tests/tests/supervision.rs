//! Supervision: killed children come back (and only they), without zombies
//! or descriptor leaks; misbehaving children are restarted; the parent's
//! death takes the children with it.

use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{bin, proc, LogTap, Netns, Suite};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

const MINIMAL: &str = "global_defs {\n    router_id test\n}\n";
const CHILDREN: [&str; 3] = ["vrrpd", "checkerd", "ipvsd"];

fn ready_line(name: &str) -> impl Fn(&str) -> bool + '_ {
    move |l: &str| l.contains(&format!("{name} (pid ")) && l.contains(") ready (configuration")
}

fn pid_in(line: &str) -> i32 {
    let start = line.find("(pid ").expect("pid") + 5;
    line[start..].split(')').next().unwrap().parse().unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn sigkilled_children_come_back_alone_without_leaks() {
    let mut suite = Suite::start(MINIMAL, &[]);
    let parent = suite.parent_pid();
    let fds_before = proc::fd_count(parent);
    let mut report = Vec::new();
    for name in CHILDREN {
        let mut times = Vec::new();
        for round in 0..20 {
            let others: Vec<(&str, i32)> = CHILDREN
                .iter()
                .filter(|c| **c != name)
                .map(|c| (*c, suite.child_pid(c)))
                .collect();
            let victim = suite.child_pid(name);
            let t0 = Instant::now();
            kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
            let line = suite
                .log
                .wait_for(&format!("{name} ready again"), PROMPT, ready_line(name));
            times.push(t0.elapsed());
            let new_pid = pid_in(&line);
            assert_ne!(new_pid, victim, "{name} round {round}: same pid");
            assert!(proc::alive(new_pid));
            for (o, pid) in &others {
                assert_eq!(
                    suite.child_pid(o),
                    *pid,
                    "{o} restarted when {name} was killed"
                );
                assert!(proc::alive(*pid), "{o} died when {name} was killed");
            }
            assert!(
                proc::zombies_of(parent).is_empty(),
                "zombie after killing {name}"
            );
        }
        let m = median(times.clone());
        report.push(format!(
            "{name}: median kill-to-ready {:.1} ms (max {:.1} ms)",
            ms(m),
            ms(*times.iter().max().unwrap())
        ));
    }
    // Keep going round-robin to 1000 restarts in all.
    for n in 60..1000 {
        let name = CHILDREN[n % 3];
        let victim = suite.child_pid(name);
        kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
        let line = suite
            .log
            .wait_for(&format!("{name} ready again"), PROMPT, ready_line(name));
        assert_ne!(pid_in(&line), victim);
    }
    let fds_after = proc::fd_count(parent);
    assert_eq!(
        fds_after, fds_before,
        "the parent leaked descriptors across 1000 restarts"
    );
    assert!(proc::zombies_of(parent).is_empty());
    for r in &report {
        println!("{r}");
        eprintln!("{r}");
    }
    assert!(suite.stop().success());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn hostile_child_is_restarted_and_the_parent_survives() {
    // A libexec directory whose ipvsd is the fake child.
    let dir = tempfile::tempdir().unwrap();
    for b in ["vrrpd", "checkerd"] {
        std::os::unix::fs::symlink(bin(b), dir.path().join(b)).unwrap();
    }
    std::fs::copy(bin("fake-child"), dir.path().join("ipvsd")).unwrap();
    let mode = dir.path().join("fake-mode");
    let libexec = dir.path().to_string_lossy().to_string();
    let mut suite = Suite::start(MINIMAL, &["--libexec-dir", &libexec]);
    let parent = suite.parent_pid();
    let vrrpd = suite.child_pid("vrrpd");
    let checkerd = suite.child_pid("checkerd");
    for (m, complaint) in [
        ("garbage", "bad frame"),
        ("oversized", "exceeds the limit"),
        ("wrong-kind", "sent a Health message, which it may not send"),
        ("empty", "closed its channel but did not exit"),
    ] {
        // The next incarnation of the fake ipvsd misbehaves once.
        std::fs::write(&mode, m).unwrap();
        let old = suite.child_pid("ipvsd");
        kill(Pid::from_raw(old), Signal::SIGKILL).unwrap();
        let line = suite.log.wait_for(complaint, PROMPT, |l| {
            l.contains("ipvsd (pid") && l.contains(complaint)
        });
        assert!(line.contains("restarting it"), "{line}");
        // The one after behaves and is started like any child.
        suite
            .log
            .wait_for("a good ipvsd", PROMPT, ready_line("ipvsd"));
        assert!(proc::alive(parent), "parent died on {m}");
        assert_eq!(suite.child_pid("vrrpd"), vrrpd);
        assert_eq!(suite.child_pid("checkerd"), checkerd);
    }
    assert!(suite.stop().success());
}

/// A libexec directory whose vrrpd is the fake child in `mode` (the
/// directory lives as long as the returned guard).
fn fake_vrrpd(mode: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for b in ["checkerd", "ipvsd"] {
        std::os::unix::fs::symlink(bin(b), dir.path().join(b)).unwrap();
    }
    std::fs::copy(bin("fake-child"), dir.path().join("vrrpd")).unwrap();
    std::fs::write(dir.path().join("fake-mode"), mode).unwrap();
    let libexec = dir.path().to_string_lossy().to_string();
    (dir, libexec)
}

/// A dump needs every real child to answer through the parent: it is
/// written, and checkerd and ipvsd are the same processes as before.
fn dump_answered_by(suite: &mut Suite, checkerd: i32, ipvsd: i32) {
    suite.signal(Signal::SIGUSR1);
    suite
        .log
        .wait_for_text("Wrote /tmp/keepalived.data", PROMPT);
    assert_eq!(suite.child_pid("checkerd"), checkerd);
    assert_eq!(suite.child_pid("ipvsd"), ipvsd);
}

/// A compromised vrrpd sending valid messages as fast as the parent reads
/// them (naming objects no plan has): the parent drops them, keeps serving
/// the other children, and still stops on SIGTERM.
#[test]
fn a_flooding_child_cannot_hold_the_parent() {
    let (_dir, libexec) = fake_vrrpd("flood");
    let mut suite = Suite::start(MINIMAL, &["--libexec-dir", &libexec]);
    let checkerd = suite.child_pid("checkerd");
    let ipvsd = suite.child_pid("ipvsd");
    // Other work still gets done while the flood goes on.
    dump_answered_by(&mut suite, checkerd, ipvsd);
    let began = std::time::Instant::now();
    assert!(suite.stop().success(), "the parent did not stop cleanly");
    assert!(
        began.elapsed() < PROMPT,
        "stopping took {:?} under the flood",
        began.elapsed()
    );
}

/// A compromised vrrpd flooding valid state changes (which the parent
/// routes to checkerd and ipvsd) while checkerd is stopped: the parent
/// stops reading the sender instead of queueing without end and killing
/// the reader for messages it never asked for (before: 512 MiB queued in
/// the parent, then checkerd killed as "not reading its messages"). The
/// reader resumes where it was; the parent's memory stays small.
#[test]
fn a_flood_of_routed_messages_is_paid_by_its_sender() {
    let (_dir, libexec) = fake_vrrpd("flood-valid");
    let conf = "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    \
                priority 100\n    virtual_ipaddress {\n        192.0.2.1/32\n    }\n}\n";
    let mut suite = Suite::start(conf, &["--libexec-dir", &libexec]);
    let parent = suite.parent_pid();
    let checkerd = suite.child_pid("checkerd");
    let ipvsd = suite.child_pid("ipvsd");
    kill(Pid::from_raw(checkerd), Signal::SIGSTOP).unwrap();
    let line = suite
        .log
        .wait_for_text("Reading from vrrpd paused: checkerd has", PROMPT);
    assert!(line.contains("the reader is not killed"), "{line}");
    let rss_kib = |pid: i32| proc::usage(&[pid]).1;
    // Far under the 512 MiB a reader may have queued before it is killed.
    let rss = rss_kib(parent);
    assert!(
        rss < 64 << 10,
        "the parent grew to {rss} KiB under the flood"
    );
    kill(Pid::from_raw(checkerd), Signal::SIGCONT).unwrap();
    // Both readers keep up with the parent again.
    dump_answered_by(&mut suite, checkerd, ipvsd);
    assert_eq!(
        suite.log.count("is not reading its messages"),
        0,
        "a reader was killed for the sender's flood"
    );
    let rss = rss_kib(parent);
    assert!(
        rss < 64 << 10,
        "the parent grew to {rss} KiB under the flood"
    );
    assert!(suite.stop().success(), "the parent did not stop cleanly");
}

#[test]
fn children_die_with_the_parent() {
    let suite = Suite::start(MINIMAL, &[]);
    let pids: Vec<i32> = CHILDREN.iter().map(|c| suite.child_pid(c)).collect();
    kill(Pid::from_raw(suite.parent_pid()), Signal::SIGKILL).unwrap();
    for (c, pid) in CHILDREN.iter().zip(pids) {
        assert!(proc::wait_gone(pid, PROMPT), "{c} outlived its parent");
    }
}

#[test]
fn sigterm_stops_children_in_order_and_removes_pid_files() {
    let mut suite = Suite::start(MINIMAL, &[]);
    assert!(suite.stop().success());
    suite.log.wait_for_text("Stopped keepalived-rs", PROMPT);
    let order: Vec<usize> = [
        "Keepalived_vrrp (pid",
        "Keepalived_healthcheckers (pid",
        "Keepalived_ipvs (pid",
    ]
    .iter()
    .map(|n| {
        suite
            .log
            .lines
            .iter()
            .position(|l| l.contains(n) && l.contains("exited with status 0"))
            .unwrap_or_else(|| panic!("no clean exit of {n}: {:#?}", suite.log.lines))
    })
    .collect();
    assert!(
        order[0] < order[1] && order[1] < order[2],
        "stop order {order:?}"
    );
    for f in ["parent.pid", "vrrp.pid", "checker.pid", "ipvs.pid"] {
        assert!(!suite.path(f).exists(), "{f} left behind");
    }
}

#[test]
fn runs_inside_the_namespace_given_with_dash_s() {
    let target = Netns::new("target");
    let launcher = Netns::new("launcher");
    let s = Suite::spawn_in(
        std::sync::Arc::new(launcher),
        MINIMAL,
        &["-s", &target.name],
    )
    .wait_started();
    let want = std::fs::metadata(format!("/run/netns/{}", target.name)).unwrap();
    use std::os::unix::fs::MetadataExt;
    for c in CHILDREN {
        let ns = std::fs::metadata(format!("/proc/{}/ns/net", s.child_pid(c))).unwrap();
        assert_eq!(ns.ino(), want.ino(), "{c} is not in {}", target.name);
    }
    drop(s);
}

#[test]
fn without_dash_n_it_daemonizes_and_cleans_its_pid_files() {
    use std::os::unix::fs::PermissionsExt;
    let ns = Netns::new("daemon");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut log = LogTap::bind(&dir.path().join("log.sock"));
    std::fs::set_permissions(&log.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let conf = dir.path().join("k.conf");
    std::fs::write(&conf, MINIMAL).unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().to_string();
    // The foreground process returns once the daemon has forked off.
    let status = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(bin("keepalived-rs"))
        .args(["-f", &p("k.conf"), "--syslog-socket", &p("log.sock")])
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
        .status()
        .unwrap();
    assert!(status.success());
    log.wait_for_text("All children configured; starting", PROMPT);
    let pidfile = dir.path().join("p");
    let daemon = proc::read_pid(&pidfile).expect("pid file");
    assert_ne!(daemon as u32, std::process::id());
    let st = proc::status(daemon);
    // Detached: re-parented away from the process that started it.
    assert_ne!(st["PPid"], std::process::id().to_string());
    assert_eq!(st["Name"], "keepalived-rs");
    kill(Pid::from_raw(daemon), Signal::SIGTERM).unwrap();
    assert!(proc::wait_gone(daemon, PROMPT), "daemon did not stop");
    for f in ["p", "r", "c", "i"] {
        assert!(!dir.path().join(f).exists(), "pid file {f} left behind");
    }
}

/// A data dump larger than one child message (15,000 real servers: about
/// 1.3 MB from checkerd) crosses in pieces: checkerd is not killed for it
/// and the file holds every real server.
#[test]
fn a_dump_larger_than_a_message_crosses_in_pieces() {
    let mut text = String::from("virtual_server 10.99.0.100 80 {\n    protocol TCP\n");
    for n in 0..15_000u32 {
        text.push_str(&format!(
            "    real_server 10.{}.{}.{} 8080 {{\n    }}\n",
            100 + n / 65_536,
            (n / 256) % 256,
            n % 256
        ));
    }
    text.push_str("}\n");
    let mut suite = Suite::start(&text, &[]);
    let checkerd = suite.child_pid("checkerd");
    // checkerd is busy reporting 15,000 first verdicts at start: ask again
    // until its part comes within the dump's deadline.
    let until = std::time::Instant::now() + PROMPT;
    let data = loop {
        suite.signal(Signal::SIGUSR1);
        suite
            .log
            .wait_for_text("Wrote /tmp/keepalived.data", PROMPT);
        let data = std::fs::read_to_string("/tmp/keepalived.data").unwrap();
        if !data.contains("(no answer)") || std::time::Instant::now() > until {
            break data;
        }
    };
    let servers = data
        .lines()
        .filter(|l| l.contains(", real server "))
        .count();
    assert_eq!(servers, 15_000, "the dump lost real servers");
    assert!(
        data.len() > 1 << 20,
        "the dump is not larger than a message"
    );
    assert_eq!(suite.child_pid("checkerd"), checkerd, "checkerd was killed");
    assert!(suite.stop().success());
}

/// A second keepalived-rs on the same pid file refuses to start (as
/// keepalived: "daemon is already running", status 0), before it forks or
/// spawns anything, and the running one keeps its children and pid files.
#[test]
fn a_second_instance_refuses_and_leaves_the_first_alone() {
    let mut suite = Suite::start(MINIMAL, &[]);
    let children: Vec<i32> = CHILDREN.iter().map(|c| suite.child_pid(c)).collect();
    let p = |n: &str| suite.path(n).to_string_lossy().to_string();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &suite.ns.name])
        .arg(bin("keepalived-rs"))
        .args(["-n", "-l", "-f"])
        .arg(&suite.config)
        .args(["-p", &p("parent.pid"), "-r", &p("vrrp2.pid")])
        .args(["-c", &p("checker2.pid"), "--ipvs_pid", &p("ipvs2.pid")])
        .output()
        .expect("run a second keepalived-rs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}: {err}", out.status);
    assert!(err.contains("already running"), "{err}");
    assert!(
        !suite.path("vrrp2.pid").exists(),
        "the second one spawned children"
    );
    let now: Vec<i32> = CHILDREN.iter().map(|c| suite.child_pid(c)).collect();
    assert_eq!(children, now);
    for f in ["parent.pid", "vrrp.pid", "checker.pid", "ipvs.pid"] {
        assert!(suite.path(f).exists(), "{f} was removed");
    }
    assert!(suite.stop().success());
}
