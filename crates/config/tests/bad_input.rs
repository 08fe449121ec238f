//! Bad input: each problem gives one clear message with its location.

mod common;

use keepalived_config::*;
use std::path::{Path, PathBuf};

fn load(text: &str) -> (bool, Vec<Diagnostic>) {
    match load_str(
        text,
        Path::new("/etc/keepalived/test.conf"),
        &common::opts(),
    ) {
        Ok(l) => (true, l.diagnostics),
        Err(e) => (false, e.diagnostics),
    }
}

/// The single diagnostic mentioning `needle`, with its line and column.
fn find(d: &[Diagnostic], needle: &str) -> (Severity, u32, u32) {
    let hits: Vec<&Diagnostic> = d.iter().filter(|x| x.message.contains(needle)).collect();
    assert_eq!(
        hits.len(),
        1,
        "want one message with {needle:?}, got {d:#?}"
    );
    let l = hits[0].location.as_ref().expect("location");
    (hits[0].severity, l.line, l.col)
}

const VI: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n";

#[test]
fn unterminated_block() {
    let (ok, d) = load("global_defs {\n    router_id x\n");
    assert!(ok, "keepalived runs it; -t reports it");
    assert_eq!(find(&d, "never closed"), (Severity::Warning, 1, 13));
}

#[test]
fn unknown_keyword_suggests() {
    let (ok, d) = load(&VI.replace("    interface eth0", "    interface eth0\n    priorty 90"));
    assert!(ok);
    assert_eq!(
        find(&d, "did you mean 'priority'"),
        (Severity::Warning, 3, 5)
    );
    let (_, d) = load("global_defs {\n  router_ip x\n}\n");
    find(&d, "did you mean 'router_id'");
    let (_, d) = load("vrrp_instanse VI_1 {\n}\n");
    find(&d, "did you mean 'vrrp_instance'");
}

#[test]
fn bad_addresses() {
    let (ok, d) = load(&VI.replace("10.0.0.1", "10.0.0.300"));
    assert!(!ok);
    assert_eq!(
        find(&d, "invalid IP address '10.0.0.300'"),
        (Severity::Error, 5, 9)
    );
    let (ok, d) =
        load("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.x 80 {\n  }\n}\n");
    assert!(!ok);
    assert_eq!(find(&d, "10.0.0.x"), (Severity::Error, 3, 15));
    let (ok, d) = load(&VI.replace("10.0.0.1", "10.0.0.1/40"));
    assert!(!ok);
    find(&d, "prefix length");
}

#[test]
fn out_of_range_numbers() {
    let (ok, d) = load(&VI.replace("virtual_router_id 51", "virtual_router_id 0"));
    assert!(!ok);
    assert_eq!(
        find(&d, "outside the range [1, 255]"),
        (Severity::Error, 3, 23)
    );
    let (ok, d) = load(&VI.replace("interface eth0", "interface eth0\n    priority 300"));
    assert!(!ok);
    find(&d, "'priority' value 300");
    // keepalived reports a value its number reader rejects and runs with
    // the default: -t fails (a warning), the daemon still starts.
    let text = VI.replace("interface eth0", "interface eth0\n    advert_int x");
    let (ok, d) = load(&text);
    assert!(ok);
    assert_eq!(
        find(&d, "advert_int: invalid number 'x'"),
        (Severity::Warning, 3, 16)
    );
    let l = load_str(&text, Path::new("t.conf"), &common::opts()).unwrap();
    assert_eq!(l.config.vrrp_instances[0].advert_int, 1.0);
    assert_eq!(l.config_test_exit(), 5);
}

#[test]
fn auth_pass_truncated_with_warning() {
    let text = VI.replace(
        "interface eth0",
        "interface eth0\n    authentication {\n        auth_type PASS\n        auth_pass 0123456789\n    }",
    );
    let l = load_str(&text, Path::new("t.conf"), &common::opts()).unwrap();
    assert_eq!(
        l.config.vrrp_instances[0]
            .authentication
            .as_ref()
            .unwrap()
            .auth_pass
            .as_deref(),
        Some("01234567")
    );
    assert!(!l.config_test_passed());
    find(&l.diagnostics, "truncated");
}

#[test]
fn cross_references() {
    let (ok, d) = load(&VI.replace(
        "interface eth0",
        "interface eth0\n    track_script {\n        chk_hapoxy\n    }",
    ));
    assert!(ok);
    assert_eq!(
        find(&d, "vrrp_script 'chk_hapoxy' is not defined"),
        (Severity::Warning, 4, 9)
    );
    let text = format!(
        "vrrp_script chk_haproxy {{\n  script /bin/true\n}}\n{}",
        VI.replace(
            "interface eth0",
            "interface eth0\n    track_script {\n        chk_hapoxy\n    }"
        )
    );
    let (_, d) = load(&text);
    find(&d, "did you mean 'chk_haproxy'");
    let (ok, d) = load(&format!(
        "vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n}}\n{VI}"
    ));
    assert!(ok);
    assert_eq!(
        find(&d, "vrrp_instance 'VI_2' is not defined"),
        (Severity::Warning, 4, 5)
    );
}

#[test]
fn nested_block_on_one_line_is_refused() {
    let (ok, d) = load("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 { weight 1 TCP_CHECK { connect_timeout 3 } }\n}\n");
    assert!(!ok);
    let (sev, line, _) = find(&d, "same line");
    assert_eq!((sev, line), (Severity::Error, 2));
}

#[test]
fn one_line_blocks_that_keepalived_reads_are_fine() {
    let l = load_str(
        "global_defs { router_id r }\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress { 10.0.0.9/24 }\n}\n",
        Path::new("t.conf"),
        &common::opts(),
    )
    .unwrap();
    assert!(l.config_test_passed(), "{:?}", l.diagnostics);
    assert_eq!(l.config.global_defs.router_id.as_deref(), Some("r"));
    assert_eq!(
        l.config.vrrp_instances[0].virtual_ipaddress[0].prefix,
        Some(24)
    );
    // Two keywords in one `{ }` line: keepalived would read only the first.
    let (ok, d) = load(&VI.replace(
        "interface eth0",
        "interface eth0\n    authentication { auth_type PASS auth_pass x }",
    ));
    assert!(!ok);
    find(&d, "'auth_pass' is on the same line as 'auth_type'");
}

#[test]
fn unterminated_quote() {
    let (ok, d) = load("vrrp_script s {\n  script \"/bin/true\n}\n");
    assert!(!ok);
    assert_eq!(
        find(&d, "unterminated quoted string"),
        (Severity::Error, 2, 10)
    );
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kars-config-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn include_loop() {
    let d = tmpdir("loop");
    std::fs::write(d.join("a.conf"), "include b.conf\n").unwrap();
    std::fs::write(
        d.join("b.conf"),
        "global_defs {\n  router_id b\n}\ninclude a.conf\n",
    )
    .unwrap();
    let e = load_file(&d.join("a.conf"), &common::opts()).unwrap_err();
    let (sev, line, col) = find(&e.diagnostics, "include loop");
    assert_eq!((sev, line, col), (Severity::Error, 4, 9));
    assert!(e.diagnostics[0]
        .location
        .as_ref()
        .unwrap()
        .file
        .ends_with("b.conf"));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn includes_glob_relative_and_braces() {
    let d = tmpdir("glob");
    std::fs::create_dir_all(d.join("conf.d")).unwrap();
    std::fs::write(
        d.join("main.conf"),
        "include conf.d/*.conf\ninclude conf.d/{x,y}.inc\n",
    )
    .unwrap();
    std::fs::write(d.join("conf.d/1.conf"), VI).unwrap();
    std::fs::write(
        d.join("conf.d/2.conf"),
        VI.replace("VI_1", "VI_2").replace("51", "52"),
    )
    .unwrap();
    std::fs::write(
        d.join("conf.d/x.inc"),
        VI.replace("VI_1", "VI_3").replace("51", "53"),
    )
    .unwrap();
    let l = load_file(&d.join("main.conf"), &common::opts()).unwrap();
    let names: Vec<&str> = l
        .config
        .vrrp_instances
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["VI_1", "VI_2", "VI_3"]);
    // y.inc is missing: keepalived logs it without failing -t.
    assert!(l.config_test_passed(), "{:?}", l.diagnostics);
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn unreadable_include_and_missing_file() {
    let d = tmpdir("unreadable");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    // keepalived 2.2.7 skips a directory named by a plain include and
    // says so without failing -t ...
    std::fs::write(d.join("main.conf"), "global_defs {\n}\ninclude sub\n").unwrap();
    let l = load_file(&d.join("main.conf"), &common::opts()).unwrap();
    assert!(l.config_test_passed(), "{:?}", l.diagnostics);
    assert!(l.notes.iter().any(|n| n.message.contains("is a directory")));
    // ... but `includer` (checked reads) refuses it, exit status 6.
    std::fs::write(d.join("main.conf"), "global_defs {\n}\nincluder sub\n").unwrap();
    let e = load_file(&d.join("main.conf"), &common::opts()).unwrap_err();
    assert_eq!(
        find(&e.diagnostics, "is a directory"),
        (Severity::Error, 3, 10)
    );
    assert_eq!(e.config_test_exit(), 6);
    let e = load_file(&d.join("absent.conf"), &common::opts()).unwrap_err();
    assert!(e.diagnostics[0].message.contains("absent.conf"));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn definitions_sequences_and_conditions() {
    let p = common::fixtures().join("config/30_defs_seq.conf");
    let l = load_file(&p, &common::opts()).unwrap();
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.ip, Some("10.0.0.100".parse().unwrap()));
    let rs: Vec<String> = vs.real_servers.iter().map(|r| r.ip.to_string()).collect();
    assert_eq!(rs, ["192.168.1.11", "192.168.1.12", "192.168.1.13"]);
    let p = common::fixtures().join("config/31_conditional.conf");
    assert_eq!(
        load_file(&p, &common::opts())
            .unwrap()
            .config
            .vrrp_instances[0]
            .priority,
        150
    );
    let o = LoadOptions {
        config_id: Some("no-such-host-id".into()),
    };
    assert_eq!(
        load_file(&p, &o).unwrap().config.vrrp_instances[0].priority,
        50
    );
}

#[test]
fn diagnostics_display_like_compilers() {
    let (_, d) = load(&VI.replace("10.0.0.1", "10.0.0.300"));
    assert_eq!(
        d[0].to_string(),
        "/etc/keepalived/test.conf:5:9: error: invalid IP address '10.0.0.300'"
    );
}

/// Validation reports on the block each object was read from, not the
/// first block of that name or the n-th block of that kind (keepalived
/// 2.2.7 names the same lines).
#[test]
fn reports_point_at_the_block_they_are_about() {
    let (_, d) = load(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
         vrrp_instance V {\n interface eth0\n virtual_router_id 2\n track_script {\n nope\n }\n}\n\
         vrrp_instance V {\n interface eth0\n virtual_router_id 3\n}\n",
    );
    let twice: Vec<u32> = d
        .iter()
        .filter(|x| x.message.contains("is defined twice"))
        .map(|x| x.location.as_ref().unwrap().line)
        .collect();
    assert_eq!(twice, [8, 15]);
    assert_eq!(
        find(&d, "vrrp_script 'nope' is not defined"),
        (Severity::Warning, 12, 2)
    );
    // A virtual server or real server skipped for a bad address does not
    // shift the others' positions.
    let (_, d) = load(
        "virtual_server 10.0.0.999 80 {\n protocol TCP\n}\n\
         virtual_server 10.0.0.5 80 {\n lb_kind DR\n real_server 10.0.0.300 81 {\n }\n real_server 10.0.0.7 81 {\n }\n}\n",
    );
    assert_eq!(find(&d, "no 'lb_algo'"), (Severity::Warning, 4, 1));
    assert_eq!(
        find(&d, "port 81 differs from the virtual server's 80"),
        (Severity::Warning, 8, 2)
    );
}
