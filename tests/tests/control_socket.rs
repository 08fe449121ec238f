//! The control sockets and keepalivedctl: status (text and JSON, during a
//! failover), reload that waits for the barrier and says how it ended,
//! dumps, statistics clearing, Prometheus metrics (checked by promtool),
//! and who may do what.

use keepalived_rs_tests::lan::Lan;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{bin, Suite};
use serde_json::Value;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Instant;

const CONF: &str = "global_defs {\n    router_id CTL\n}\n\
    vrrp_script chk_ok {\n    script \"/bin/true\"\n    interval 1\n}\n\
    vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    \
    priority 150\n    advert_int 1\n    \
    virtual_ipaddress {\n        10.99.0.100/24\n    }\n    \
    track_script {\n        chk_ok\n    }\n}\n\
    virtual_server 10.99.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    \
    protocol TCP\n    real_server 10.99.0.2 80 {\n        weight 3\n        \
    MISC_CHECK {\n            misc_path \"/bin/false\"\n        }\n    }\n}\n";

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// keepalivedctl as another user: `uid`/`gid`, no supplementary groups.
fn ctl_as(suite: &Suite, uid: u32, gid: u32, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--clear-groups",
        ])
        .arg(bin("keepalivedctl"))
        .arg("--control-dir")
        .arg(suite.path("ctl"))
        .args(args)
        .output()
        .expect("run setpriv")
}

#[test]
fn keepalivedctl_reads_reloads_and_respects_the_sockets_permissions() {
    let mut lan = Lan::new();
    let host = Arc::new(lan.host(1));
    let mut suite = Suite::spawn_in(host, CONF, &[]).wait_started();
    suite.log.wait_for_all(
        &[
            "(VI_1) Entering MASTER STATE",
            "VRRP_Script(chk_ok) succeeded",
        ],
        PROMPT,
    );
    // status --json: keepalived's JSON for the instance, our children.
    let until = Instant::now() + PROMPT;
    let s = loop {
        let s = json(&suite.ctl(&["status", "--json"]))["status"].clone();
        // The verdict logged may still be on its way to the parent.
        let known = |k: &str| s[k].as_array().is_some_and(|a| !a.is_empty());
        let timed = s["real_servers"][0]["check_seconds"].is_number();
        if known("scripts") && timed || Instant::now() > until {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(s["configuration"], 1);
    let d = &s["vrrp"][0]["data"];
    assert_eq!(d["iname"], "VI_1");
    assert_eq!(d["state"], 2, "MASTER");
    assert_eq!(
        d["vips"][0]
            .as_str()
            .map(|v| v.starts_with("10.99.0.100/24")),
        Some(true)
    );
    let children = s["children"].as_array().unwrap();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|c| c["state"] == "running"), "{s}");
    assert_eq!(s["scripts"][0]["name"], "chk_ok", "{s}");
    // Real servers with their health, configured weight and checkers.
    let rs = &s["real_servers"][0];
    assert_eq!(rs["real_server"], "[10.99.0.2]:tcp:80", "{s}");
    assert_eq!(rs["up"], false, "{s}");
    assert_eq!(rs["configured_weight"], 3, "{s}");
    assert_eq!(rs["checks"], serde_json::json!(["MISC_CHECK"]), "{s}");
    // How long /bin/false took: a real figure, well under its timeout.
    let took = rs["check_seconds"].as_f64().expect("a check duration");
    assert!(took > 0.0 && took < 5.0, "{s}");
    let vs = &s["virtual_servers"][0];
    assert_eq!(vs["virtual_server"], "[10.99.0.100]:tcp:80", "{s}");
    assert_eq!(vs["lb_algo"], "rr", "{s}");
    assert_eq!(vs["real_servers"], 1, "{s}");
    assert_eq!(vs["real_servers_up"], 0, "{s}");
    // ipvsd said whether this kernel has IPVS.
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    assert_eq!(s["ipvs"], has_ipvs, "{s}");
    assert_eq!(s["scripts"][0]["good"], true);

    // For people.
    let o = suite.ctl(&["status"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("VI_1") && t.contains("MASTER") && t.contains("10.99.0.100/24"),
        "{t}"
    );
    assert!(
        t.contains("-> [10.99.0.2]:tcp:80 DOWN weight 3 (MISC_CHECK)"),
        "{t}"
    );

    // Metrics, with keepalived-exporter's names, valid for promtool.
    let o = suite.ctl(&["metrics"]);
    assert!(o.status.success(), "{}", text(&o));
    let m = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        m.contains("keepalived_real_server_check_duration_seconds{virtual_server=\"[10.99.0.100]:tcp:80\",real_server=\"[10.99.0.2]:tcp:80\"} "),
        "{m}"
    );
    for line in [
        "keepalived_up 1",
        "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"10.99.0.100/24\"} 2",
        "keepalived_script_status{name=\"chk_ok\"} 1",
        "keepalived_child_up{child=\"vrrpd\"} 1",
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line}:\n{m}");
    }
    assert!(
        m.lines()
            .any(|l| l.starts_with("keepalived_advertisements_sent_total{iname=\"VI_1\"")),
        "{m}"
    );
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; run-all.sh installs it)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(m.as_bytes())
        .unwrap();
    let p = promtool.wait_with_output().unwrap();
    assert!(p.status.success(), "promtool: {}\n{m}", text(&p));

    // Dumps: the JSON one is keepalived's array; clearing works.
    let o = suite.ctl(&["dump", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout).expect("a JSON dump");
    assert_eq!(j[0]["data"]["iname"], "VI_1");
    let o = suite.ctl(&["stats", "--clear"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("VRRP statistics"));
    // A change is logged with who asked for it (a mere look is not).
    suite
        .log
        .wait_for_text("control: 'stats-clear' from uid 0 pid", PROMPT);

    // A good reload: waits for the barrier, exit 0.
    std::fs::write(&suite.config, CONF.replace("priority 150", "priority 140")).unwrap();
    let o = suite.ctl(&["reload"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().next(),
        Some("configuration 2: applied")
    );
    let s = json(&suite.ctl(&["status", "--json"]))["status"].clone();
    assert_eq!(s["vrrp"][0]["data"]["base_priority"], 140, "applied");

    // A file that does not load: exit 1, with the diagnostics.
    std::fs::write(&suite.config, "vrrp_instance {\n").unwrap();
    let o = suite.ctl(&["reload"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("configuration 3: not loaded"), "{out}");
    assert!(out.contains("keepalived.conf:"), "the location: {out}");
    let s = json(&suite.ctl(&["status", "--json"]))["status"].clone();
    assert_eq!(s["last_reload"]["result"], "not loaded");
    assert_eq!(s["configuration"], 2, "the running one stays");

    // Root on the read-only socket cannot reload.
    let ro = suite.path("ctl").join("status.sock");
    let o = suite.ctl(&["--socket", ro.to_str().unwrap(), "reload"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("refused on the read-only status.sock"),
        "{}",
        text(&o)
    );

    // The package's group may read, not control; anybody else nothing.
    use std::os::unix::fs::MetadataExt;
    let group = std::fs::metadata(&ro).unwrap().gid();
    assert_eq!(std::fs::metadata(&ro).unwrap().mode() & 0o777, 0o660);
    let cs = suite.path("ctl").join("control.sock");
    assert_eq!(std::fs::metadata(&cs).unwrap().mode() & 0o777, 0o600);
    let o = ctl_as(&suite, 54321, group, &["status", "--json"]);
    assert!(o.status.success(), "the group reads: {}", text(&o));
    let o = ctl_as(&suite, 54321, group, &["reload"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Permission denied"), "{}", text(&o));
    let outsider = if group == 54321 { 54322 } else { 54321 };
    for args in [["status"], ["reload"]] {
        let o = ctl_as(&suite, 54321, outsider, &args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("Permission denied"), "{}", text(&o));
    }

    assert!(suite.stop().success());
    assert!(!ro.exists() && !cs.exists(), "sockets removed at stop");
}

/// `keepalivedctl ARGS` left running; its stdout lines on a channel.
fn follow(
    suite: &Suite,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = Command::new(bin("keepalivedctl"))
        .arg("--control-dir")
        .arg(suite.path("ctl"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run keepalivedctl");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

#[test]
fn status_and_events_show_a_failover() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut master = Suite::spawn_in(a, CONF, &[]).wait_started();
    master
        .log
        .wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let backup_conf = CONF
        .replace("state MASTER", "state BACKUP")
        .replace("priority 150", "priority 100");
    let mut backup = Suite::spawn_in(b, &backup_conf, &[]).wait_started();
    backup
        .log
        .wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let state = |s: &Suite| {
        json(&s.ctl(&["status", "--json"]))["status"]["vrrp"][0]["data"]["state"].clone()
    };
    assert_eq!(state(&backup), 1, "BACKUP");
    // Only a master re-announces; an unknown name is an error.
    let o = backup.ctl(&["garp", "VI_1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("(VI_1) is BACKUP"), "{}", text(&o));
    let o = backup.ctl(&["garp", "VI_9"]);
    assert!(text(&o).contains("no VRRP instance 'VI_9'"), "{}", text(&o));
    // Two subscribers: FIFO lines and JSON.
    let (mut lines, lines_rx) = follow(&backup, &["events"]);
    let (mut jsons, jsons_rx) = follow(&backup, &["events", "--json"]);
    // Both subscribed before the failover.
    for _ in 0..2 {
        backup
            .log
            .wait_for_text("control: 'events' from uid 0", PROMPT);
    }
    assert!(master.stop().success());
    backup
        .log
        .wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert_eq!(state(&backup), 2, "MASTER after the failover");
    let line = lines_rx.recv_timeout(PROMPT).expect("an event line");
    assert_eq!(line, "INSTANCE \"VI_1\" MASTER 100");
    let j: Value =
        serde_json::from_str(&jsons_rx.recv_timeout(PROMPT).expect("a JSON event")).expect("JSON");
    assert_eq!(j["kind"], "instance");
    assert_eq!(j["name"], "VI_1");
    assert_eq!(j["state"], "MASTER");
    assert_eq!(j["priority"], 100);
    // The new master re-announces on request.
    let o = backup.ctl(&["garp", "VI_1"]);
    assert!(o.status.success(), "{}", text(&o));
    backup.log.wait_for_text(
        "(VI_1) Sending gratuitous ARPs / unsolicited NAs on request",
        PROMPT,
    );
    let _ = lines.kill();
    let _ = jsons.kill();
    let _ = lines.wait();
    let _ = jsons.wait();
    let o = backup.ctl(&["metrics"]);
    let m = String::from_utf8_lossy(&o.stdout);
    assert!(
        m.lines()
            .any(|l| l
                == "keepalived_become_master_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1"),
        "{m}"
    );
    assert!(backup.stop().success());
}

/// Hostile callers: an endless line, garbage, a silent connection, more
/// connections than allowed. Each gets an error or is closed; the parent
/// keeps answering.
#[test]
fn hostile_control_clients_get_errors_and_the_parent_keeps_answering() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let mut suite = Suite::start("global_defs {\n    router_id HOSTILE\n}\n", &[]);
    let sock = suite.path("ctl").join("control.sock");
    let answer = |s: &mut UnixStream| {
        s.set_read_timeout(Some(PROMPT)).unwrap();
        let mut a = String::new();
        s.read_to_string(&mut a).unwrap();
        a
    };
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(&[b'x'; 5000]).unwrap();
    let a = answer(&mut s);
    assert!(a.contains("request too long"), "{a}");

    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(b"{\"command\": \"rm -rf /\"}\n").unwrap();
    let a = answer(&mut s);
    assert!(a.contains("cannot read the request"), "{a}");

    // Silent: closed after the request timeout (EOF, no answer).
    let mut s = UnixStream::connect(&sock).unwrap();
    assert_eq!(answer(&mut s), "");
    suite.log.wait_for_text("timed out; closing it", PROMPT);

    // 40 idle connections: past 32 they are closed at once, and a
    // request still gets through once the idle ones time out.
    let idle: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    suite
        .log
        .wait_for_text("32 connections open; refused", PROMPT);
    let o = suite.ctl(&["status", "--json"]);
    let s = if o.status.success() {
        json(&o)
    } else {
        // All slots taken: the idle ones go at their timeout.
        suite.log.wait_for_text("timed out; closing it", PROMPT);
        json(&suite.ctl(&["status", "--json"]))
    };
    assert_eq!(s["status"]["configuration"], 1);
    drop(idle);
    assert!(suite.stop().success());
}

/// `keepalivedctl audit --json` says what /proc says, for every process of
/// the suite, with the allowlists of the filters.
#[test]
fn audit_matches_proc_for_every_process() {
    let mut suite = Suite::start("global_defs {\n    router_id AUDIT\n}\n", &[]);
    let a = json(&suite.ctl(&["audit", "--json"]));
    let procs = a["audit"].as_array().expect("a list");
    let names: Vec<&str> = procs
        .iter()
        .map(|p| p["process"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "keepalived-rs",
            "vrrpd",
            "checkerd",
            "checkerd launcher",
            "ipvsd"
        ]
    );
    for p in procs {
        let pid = p["pid"].as_i64().unwrap() as i32;
        let st = keepalived_rs_tests::proc::status(pid);
        let nums = |k: &str| -> Vec<u64> {
            st[k]
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect()
        };
        let name = p["process"].as_str().unwrap();
        let ours = |k: &str| -> Vec<u64> {
            p[k].as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect()
        };
        assert_eq!(ours("uid"), nums("Uid"), "{name}");
        assert_eq!(ours("gid"), nums("Gid"), "{name}");
        for (set, key) in [
            ("effective", "CapEff"),
            ("permitted", "CapPrm"),
            ("bounding", "CapBnd"),
            ("inheritable", "CapInh"),
            ("ambient", "CapAmb"),
        ] {
            let mask = u64::from_str_radix(st[key].trim(), 16).unwrap();
            let listed = p["capabilities"][set].as_array().unwrap().len() as u32;
            assert_eq!(listed, mask.count_ones(), "{name} {set}");
        }
        assert_eq!(p["no_new_privs"], st["NoNewPrivs"].trim() == "1", "{name}");
        let mode = match st["Seccomp"].trim() {
            "0" => "disabled",
            "2" => "filter",
            m => m,
        };
        assert_eq!(p["seccomp"], mode, "{name}");
    }
    let by = |n: &str| procs.iter().find(|p| p["process"] == n).unwrap();
    let eff = |n: &str| by(n)["capabilities"]["effective"].clone();
    assert_eq!(
        eff("vrrpd"),
        serde_json::json!(["CAP_NET_ADMIN", "CAP_NET_RAW"])
    );
    assert_eq!(eff("ipvsd"), serde_json::json!(["CAP_NET_ADMIN"]));
    assert_eq!(eff("checkerd"), serde_json::json!([]));
    assert_ne!(by("checkerd")["uid"][0], 0, "checkerd is unprivileged");
    for child in ["vrrpd", "checkerd", "ipvsd"] {
        let p = by(child);
        assert_eq!(p["seccomp"], "filter", "{child}");
        assert_eq!(p["no_new_privs"], true, "{child}");
        let calls: Vec<&str> = p["allowed_syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(calls.contains(&"epoll_wait"), "{child}: {calls:?}");
        assert!(!calls.contains(&"execve"), "{child}: {calls:?}");
    }
    assert_eq!(
        by("ipvsd")["socket_families"],
        serde_json::json!(["AF_UNIX (datagram only)", "AF_NETLINK"])
    );
    assert_eq!(
        by("ipvsd")["netlink_protocols"],
        serde_json::json!(["NETLINK_ROUTE", "NETLINK_GENERIC", "NETLINK_NETFILTER"])
    );
    // For people too.
    let o = suite.ctl(&["audit"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("vrrpd (pid"));
    assert!(suite.stop().success());
}
