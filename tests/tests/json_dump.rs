//! The JSON dump (`--signum=JSON`) and STATS_CLEAR, side by side with
//! Debian's keepalived 2.2.7: the same configuration, the same state, the
//! same keys with the same JSON types, the same address strings — what
//! the Prometheus exporters and checkmk plugins parse.

use keepalived_rs_tests::lan::{Keepalived, Lan};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{require_root, Suite};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONF: &str = "global_defs {\n    router_id JSON\n}\n\
    vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    \
    priority 150\n    advert_int 1\n    \
    authentication {\n        auth_type PASS\n        auth_pass kars\n    }\n    \
    virtual_ipaddress {\n        10.99.0.100/24\n    }\n    \
    virtual_ipaddress_excluded {\n        10.99.1.100/24\n    }\n}\n";

/// keepalived's keys we leave out on purpose: the command lines of
/// scripts (vrrpd never holds one).
const OMITTED: &[&str] = &[
    "script_backup",
    "script_master",
    "script_fault",
    "script_stop",
    "script_deleted",
    "script",
    "script_master_rx_lower_pri",
    "track_script",
];

/// Wait (bounded) for `path` to hold a whole JSON document.
fn read_json(path: &Path) -> Value {
    let until = Instant::now() + PROMPT;
    loop {
        if let Some(v) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            return v;
        }
        assert!(Instant::now() < until, "no JSON at {}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `theirs` and `ours` have the same keys (but the omitted ones) with the
/// same JSON types, recursively.
fn same_shape(at: &str, theirs: &Value, ours: &Value) {
    assert_eq!(kind(theirs), kind(ours), "{at}: {theirs} vs {ours}");
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            for (k, v) in t {
                if OMITTED.contains(&k.as_str()) {
                    continue;
                }
                let Some(w) = o.get(k) else {
                    panic!("{at}.{k} missing from ours: {ours}");
                };
                same_shape(&format!("{at}.{k}"), v, w);
            }
            for k in o.keys() {
                assert!(t.contains_key(k), "{at}.{k} is ours only");
            }
        }
        (Value::Array(t), Value::Array(o)) => {
            assert_eq!(t.len(), o.len(), "{at}: {theirs} vs {ours}");
            for (i, (a, b)) in t.iter().zip(o).enumerate() {
                same_shape(&format!("{at}[{i}]"), a, b);
            }
        }
        _ => {}
    }
}

#[test]
fn json_dump_matches_keepalived_and_stats_clear_zeroes_the_counters() {
    require_root();
    // keepalived alone on its LAN, we alone on ours: both become master.
    let mut lan_k = Lan::new();
    let k = lan_k.host(1);
    let mut lan_o = Lan::new();
    let o = Arc::new(lan_o.host(1));
    let ka = Keepalived::start(&k, CONF);
    let mut ka = ka;
    ka.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_string_lossy().to_string();
    let mut us = Suite::spawn_in_env(o, CONF, &[], &[("TMPDIR", &dir)]).wait_started();
    us.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);

    // keepalived writes to $TMPDIR too; it runs with the test's (unset).
    let theirs_path = Path::new("/tmp/keepalived.json");
    let _ = std::fs::remove_file(theirs_path);
    let signum = |name: &str| -> i32 {
        let out = std::process::Command::new(keepalived_rs_tests::bin("keepalived-rs"))
            .arg(format!("--signum={name}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let json = signum("JSON");
    // SAFETY: kill with a pid we started and a valid signal number.
    unsafe { libc::kill(ka.out.pid(), json) };
    let theirs = read_json(theirs_path);
    unsafe { libc::kill(us.parent_pid(), json) };
    let ours_path = tmp.path().join("keepalived.json");
    let ours = read_json(&ours_path);
    same_shape("$", &theirs, &ours);
    let d = &ours[0]["data"];
    assert_eq!(d["iname"], "VI_1");
    assert_eq!(d["state"], 2, "MASTER is 2");
    // The same values where the run cannot differ (an integer stays an
    // integer: exporters decode `garp_delay` as one).
    for key in [
        "vips",
        "evips",
        "auth_type",
        "auth_data",
        "vrid",
        "base_priority",
        "garp_delay",
        "adver_int",
        "master_adver_int",
        "accept",
        "version",
    ] {
        assert_eq!(d[key], theirs[0]["data"][key], "{key}");
    }
    assert!(ours[0]["stats"]["become_master"].as_u64() == Some(1));

    // STATS_CLEAR: the stats file, then every counter back to zero.
    unsafe { libc::kill(us.parent_pid(), signum("STATS_CLEAR")) };
    us.log.wait_for_text(
        &format!("Wrote {}", tmp.path().join("keepalived.stats").display()),
        PROMPT,
    );
    std::fs::remove_file(&ours_path).unwrap();
    unsafe { libc::kill(us.parent_pid(), json) };
    let after = read_json(&ours_path);
    assert_eq!(after[0]["stats"]["become_master"], 0, "{after}");
    assert_eq!(after[0]["data"]["state"], 2, "state untouched: {after}");
    us.stop();
    ka.stop();
}
