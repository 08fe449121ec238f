//! Same accept/reject as keepalived 2.2.7's `-t` for every fixture.
//!
//! Each corpus file starts with `! expect: accept|reject`, the verdict
//! Debian's keepalived 2.2.7 gives it (exit status 0 or not). This test
//! checks ours against that header, and when `/usr/sbin/keepalived` is
//! installed re-runs it to check the header is still true. Both run in a
//! fresh network namespace holding the interfaces the fixtures name (eth0,
//! eth1, ens33, mgnt, eno16777736), since both check that named interfaces
//! exist. Without the binary the test fails,
//! unless KARS_SKIP_KEEPALIVED=1.

mod common;

use keepalived_config::{load_file, to_keepalived_conf, LoadOptions};
use std::path::Path;
use std::process::Command;

const KEEPALIVED: &str = "/usr/sbin/keepalived";

fn opts() -> LoadOptions {
    LoadOptions {
        config_id: Some("keepalived-rs-test".into()),
    }
}

/// accept = the daemon would run it and `-t` reports nothing.
fn ours(p: &Path) -> &'static str {
    match load_file(p, &opts()) {
        Ok(l) if l.config_test_passed() => "accept",
        _ => "reject",
    }
}

fn header(p: &Path) -> Option<&'static str> {
    let text = std::fs::read_to_string(p).ok()?;
    let first = text.lines().next()?;
    match first.trim() {
        "! expect: accept" => Some("accept"),
        "! expect: reject" => Some("reject"),
        _ => None,
    }
}

/// keepalived -t (from a thread already in the test namespace).
fn keepalived(p: &Path) -> (&'static str, String) {
    let out = Command::new(KEEPALIVED)
        .args(["-t", "-f"])
        .arg(p)
        .output()
        .expect("run keepalived");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (
        if out.status.success() {
            "accept"
        } else {
            "reject"
        },
        text,
    )
}

fn keepalived_available() -> bool {
    if Path::new(KEEPALIVED).exists() {
        return true;
    }
    if std::env::var("KARS_SKIP_KEEPALIVED").as_deref() == Ok("1") {
        eprintln!("{KEEPALIVED} missing: comparison skipped (KARS_SKIP_KEEPALIVED=1)");
        return false;
    }
    panic!("{KEEPALIVED} (Debian keepalived 2.2.7) is not installed; set KARS_SKIP_KEEPALIVED=1 to skip");
}

#[test]
fn corpus_is_large_and_varied() {
    let c = common::confs("config");
    assert!(c.len() >= 40, "only {} corpus files", c.len());
    let rejects = c.iter().filter(|p| header(p) == Some("reject")).count();
    assert!(rejects >= 10 && c.len() - rejects >= 20);
}

#[test]
fn corpus_verdicts_match_headers() {
    common::in_netns(corpus_verdicts_match_headers_here);
}

fn corpus_verdicts_match_headers_here() {
    let mut bad = Vec::new();
    for p in common::confs("config") {
        let want = header(&p).unwrap_or_else(|| panic!("{}: no '! expect:' header", p.display()));
        let got = ours(&p);
        if got != want {
            let why = match load_file(&p, &opts()) {
                Ok(l) => l
                    .diagnostics
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(e) => e.to_string(),
            };
            bad.push(format!(
                "{}: expected {want}, got {got}\n{why}",
                p.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn verdicts_match_keepalived_2_2_7() {
    if !keepalived_available() {
        return;
    }
    common::in_netns(verdicts_match_keepalived_here);
}

fn verdicts_match_keepalived_here() {
    let mut bad = Vec::new();
    for p in common::all_confs() {
        let (ka, text) = keepalived(&p);
        if let Some(h) = header(&p) {
            if h != ka {
                bad.push(format!(
                    "{}: header says {h}, keepalived says {ka}:\n{text}",
                    p.display()
                ));
            }
        }
        let got = ours(&p);
        if got != ka {
            bad.push(format!(
                "{}: keepalived says {ka}, we say {got}:\n{text}",
                p.display()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// What we print for a configuration keepalived accepts, it accepts too.
#[test]
fn printed_form_is_accepted_by_keepalived_2_2_7() {
    if !keepalived_available() {
        return;
    }
    common::in_netns(printed_form_accepted_here);
}

fn printed_form_accepted_here() {
    let dir = std::env::temp_dir().join(format!("kars-config-print-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bad = Vec::new();
    for p in common::confs("config") {
        if header(&p) != Some("accept") {
            continue;
        }
        let l = load_file(&p, &opts()).unwrap();
        let out = dir.join(p.file_name().unwrap());
        let text = to_keepalived_conf(&l.config);
        std::fs::write(&out, &text).unwrap();
        let (ka, msg) = keepalived(&out);
        if ka != "accept" {
            bad.push(format!(
                "{}: printed form rejected:\n{msg}\n{text}",
                p.display()
            ));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
