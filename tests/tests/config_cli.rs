//! The parent's configuration modes: `-t` (config test), `--convert`, and a
//! configuration large enough that its slices must be fragmented.

use keepalived_rs_tests::{bin, Suite};
use std::process::Command;

fn run_t(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, text).unwrap();
    let out = Command::new(bin("keepalived-rs"))
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    let msg = String::from_utf8_lossy(&out.stderr).to_string();
    (
        out.status.code().unwrap_or(-1),
        msg.replace(&conf.to_string_lossy().to_string(), "FILE"),
    )
}

const VALID: &str = "\
global_defs {
    router_id LVS_1
}
virtual_server 10.0.0.1 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.168.1.10 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

#[test]
fn config_test_accepts_a_valid_file() {
    let (code, msg) = run_t(VALID);
    assert_eq!(code, 0, "{msg}");
}

#[test]
fn config_test_rejects_with_file_and_line() {
    for (text, line) in [
        // unknown keyword on line 3
        ("global_defs {\n    router_id x\n    rooter_id y\n}\n", 3),
        // out-of-range VRID on line 4
        ("vrrp_instance VI_1 {\n    interface eth0\n    priority 100\n    virtual_router_id 300\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n", 4),
        // unterminated block opened on line 1
        ("global_defs {\n    router_id x\n", 1),
    ] {
        let (code, msg) = run_t(text);
        assert_ne!(code, 0, "accepted:\n{text}");
        assert!(msg.contains(&format!("FILE:{line}:")), "no FILE:{line}: in\n{msg}");
    }
}

#[test]
fn convert_prints_toml_that_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, VALID).unwrap();
    let out = Command::new(bin("keepalived-rs"))
        .arg("--convert")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml_text = String::from_utf8(out.stdout).unwrap();
    let back = keepalived_config::from_toml(&toml_text).expect("TOML reads back");
    let orig = keepalived_config::load_file(&conf, &Default::default())
        .unwrap()
        .config;
    assert_eq!(back, orig);
    let t = dir.path().join("keepalived.toml");
    std::fs::write(&t, &toml_text).unwrap();
    let (code, msg) = {
        let out = Command::new(bin("keepalived-rs"))
            .arg("-t")
            .arg("-f")
            .arg(&t)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_eq!(code, Some(0), "{msg}");
}

/// 10,000 real servers: every child still gets its slice (in fragments).
#[test]
fn ten_thousand_real_servers_cross_to_the_children() {
    let mut text = String::from("global_defs {\n    router_id BIG\n}\n");
    for vs in 0..100 {
        text.push_str(&format!(
            "virtual_server 10.1.{}.{} 80 {{\n    delay_loop 60\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n",
            vs / 250,
            vs % 250 + 1
        ));
        for rs in 0..100 {
            text.push_str(&format!(
                "    real_server 10.2.{vs}.{} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n",
                rs + 1
            ));
        }
        text.push_str("}\n");
    }
    let mut suite = Suite::start(&text, &[]);
    // checkerd logs its configuration before the parent starts everyone.
    let line = suite
        .log
        .lines
        .iter()
        .find(|l| l.contains("real server(s)"))
        .expect("checkerd's line")
        .clone();
    assert!(
        line.contains("100 virtual server(s), 10000 real server(s)"),
        "{line}"
    );
    assert!(suite.stop().success());
}

#[test]
fn version_and_dump_conf() {
    let out = Command::new(bin("keepalived-rs"))
        .arg("-v")
        .output()
        .unwrap();
    assert!(out.status.success());
    // What version-parsing tools read: keepalived's own answer on stderr,
    // the version as the second word of the first line, JSON support.
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or_default();
    assert_eq!(first.split_whitespace().nth(1), Some("v2.2.7"), "{err}");
    assert!(first.starts_with("Keepalived "), "{err}");
    assert!(err.contains("keepalived-rs v"), "{err}");
    assert!(err.contains("--enable-json"), "{err}");
    // --signum as keepalived 2.2.7 answers it.
    for (name, ok) in [
        ("JSON", true),
        ("STATS_CLEAR", true),
        ("json", false),
        ("TDATA", false),
    ] {
        let out = Command::new(bin("keepalived-rs"))
            .arg(format!("--signum={name}"))
            .output()
            .unwrap();
        assert_eq!(out.status.success(), ok, "{name}");
        if !ok {
            assert_eq!(
                String::from_utf8_lossy(&out.stderr).trim(),
                format!("Unknown sigfunc {name}")
            );
        }
    }
    // -d prints the parsed model (then runs; -t stops it after the check here).
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, VALID).unwrap();
    let out = Command::new(bin("keepalived-rs"))
        .args(["--dump-conf", "--config-test"])
        .arg("-f")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        dump.contains("virtual_servers") && dump.contains("192.168.1.10"),
        "{dump}"
    );
}

/// `-P` runs VRRP (with the checker process for its scripts), `-C` the
/// checkers with IPVS.
#[test]
fn dash_p_and_dash_c_run_their_subsystems_only() {
    for (flag, running, absent) in [
        ("-P", ["vrrpd", "checkerd"], "ipvsd"),
        ("-C", ["checkerd", "ipvsd"], "vrrpd"),
    ] {
        let mut s = keepalived_rs_tests::Suite::start(VALID, &[flag]);
        for c in running {
            assert!(
                keepalived_rs_tests::proc::alive(s.child_pid(c)),
                "{flag}: {c} not running"
            );
        }
        let f = match absent {
            "ipvsd" => "ipvs.pid",
            _ => "vrrp.pid",
        };
        assert!(!s.path(f).exists(), "{flag}: {absent} was started");
        assert!(s.stop().success());
    }
}

/// A keyword keepalived acts on and keepalived-rs does not is never
/// silent: `-t` names it at its file:line with what keepalived would do;
/// where ignoring it changes behaviour (here IPVS traffic), `-t` fails
/// with its own status 3 unless `--allow-unsupported`; a tuning keyword
/// is listed and passes.
#[test]
fn unsupported_keywords_are_named_and_fail_the_config_test() {
    let with = |extra: &str| {
        VALID.replace(
            "    router_id LVS_1\n",
            &format!("    router_id LVS_1\n{extra}"),
        )
    };
    // A top-level keyword, after global_defs (line 4).
    let top =
        |extra: &str| VALID.replace("}\nvirtual_server", &format!("}}\n{extra}virtual_server"));
    // The examples must still be unimplemented: when one is implemented,
    // take another from keepalived_config::support::UNSUPPORTED.
    for (block, kw) in [
        ("top level", "net_namespace_ipvs"),
        ("global_defs", "lvs_netlink_cmd_rcv_bufs"),
    ] {
        assert!(
            keepalived_config::support::UNSUPPORTED
                .iter()
                .any(|u| u.block == block && u.keyword == kw),
            "{kw} is implemented now: pick another example from the support table"
        );
    }
    let (code, msg) = run_t(&top("net_namespace_ipvs blue\n"));
    assert_eq!(code, 3, "{msg}");
    assert!(
        msg.contains("FILE:4:1: warning: 'net_namespace_ipvs' is not implemented by keepalived-rs"),
        "{msg}"
    );
    assert!(msg.contains("affects traffic"), "{msg}");
    assert!(msg.contains("--allow-unsupported"), "{msg}");
    // Allowed: keepalived's verdict, the keyword still listed.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, top("net_namespace_ipvs blue\n")).unwrap();
    let out = Command::new(bin("keepalived-rs"))
        .args(["-t", "--allow-unsupported", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let msg = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{msg}");
    assert!(
        msg.contains("'net_namespace_ipvs' is not implemented"),
        "{msg}"
    );
    // Tuning only: listed, and the test passes.
    let (code, msg) = run_t(&with("    lvs_netlink_cmd_rcv_bufs 1048576\n"));
    assert_eq!(code, 0, "{msg}");
    assert!(
        msg.contains("'lvs_netlink_cmd_rcv_bufs' is not implemented"),
        "{msg}"
    );
    // keepalived's own failure keeps its status.
    let (code, msg) = run_t(&with("    bogus_keyword\n").replace(
        "}\nvirtual_server",
        "}\nnet_namespace_ipvs blue\nvirtual_server",
    ));
    assert_eq!(code, 5, "{msg}");
}

/// `keepalivedctl config check` is `keepalived-rs -t` (same exit status);
/// the socket options it cannot honour are refused, not ignored.
#[test]
fn keepalivedctl_config_check_is_dash_t() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    let ctl = |args: &[&str]| {
        Command::new(bin("keepalivedctl"))
            .args(args)
            .arg("-f")
            .arg(&conf)
            .output()
            .unwrap()
    };
    std::fs::write(&conf, VALID).unwrap();
    assert_eq!(ctl(&["config", "check"]).status.code(), Some(0));
    std::fs::write(&conf, "vrrp_instance {\n").unwrap();
    let (status, _) = run_t("vrrp_instance {\n");
    assert_ne!(status, 0);
    assert_eq!(ctl(&["config", "check"]).status.code(), Some(status));
    for opt in [&["--json"][..], &["--socket", "/nonexistent"][..]] {
        let mut args = opt.to_vec();
        args.extend(["config", "check"]);
        let o = ctl(&args);
        assert_eq!(o.status.code(), Some(2), "{opt:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("do not apply"));
    }
}
