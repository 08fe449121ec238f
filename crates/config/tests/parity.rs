//! `-t` parity with keepalived 2.2.7 on the parity corpus
//! (`tests/fixtures/config/parity/`, see its README.md).
//!
//! Every case carries the verdict Debian's keepalived 2.2.7 gives it
//! (`! expect: accept|reject`) and its exit status (`! exit: N`). Ours
//! must give the same verdict and, for the statuses keepalived itself
//! chooses (0, 2, 4, 5, 6), the same status from
//! `Loaded::config_test_exit` / `LoadError::config_test_exit`. Cases
//! where keepalived crashes or kills itself are keepalived bugs, listed in
//! [`KEEPALIVED_BUGS`] and not counted.
//!
//! When `/usr/sbin/keepalived` exists, a second test re-runs it on every
//! case and checks the recorded headers, so a wrong header fails CI.
//! Both run in a fresh network namespace holding the interfaces the cases
//! name (as `verdicts.rs`).

mod common;

use keepalived_config::{load_file, LoadOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Cases where keepalived 2.2.7's own verdict is a bug, with why: not
/// counted (we report them as configuration errors).
const KEEPALIVED_BUGS: &[(&str, &str)] = &[
    (
        "535_v_notify_user.conf",
        "a notify script run as a non-root user makes -t SIGTERM itself (lib/notify.c)",
    ),
    (
        "568_s_unterminated_quote_script.conf",
        "an unterminated quote in a vrrp_script script line crashes keepalived (SIGSEGV)",
    ),
    (
        "580_s_user_nobody.conf",
        "a vrrp_script run as a non-root user makes -t SIGTERM itself (lib/notify.c)",
    ),
    (
        "916_c_http_no_url.conf",
        "HTTP_GET without url crashes keepalived (SIGSEGV)",
    ),
    (
        "917_c_http_url_no_path.conf",
        "HTTP_GET url without path crashes keepalived (SIGSEGV)",
    ),
];

struct Header {
    accept: bool,
    exit: i32,
}

fn parity_dir() -> PathBuf {
    common::fixtures().join("config/parity")
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(parity_dir())
        .expect("parity corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    v
}

fn header(p: &Path) -> Header {
    let text = std::fs::read_to_string(p).unwrap();
    let mut accept = None;
    let mut exit = None;
    for l in text.lines().take_while(|l| l.starts_with('!')) {
        if let Some(v) = l.strip_prefix("! expect: ") {
            accept = Some(v.trim() == "accept");
        } else if let Some(v) = l.strip_prefix("! exit: ") {
            exit = v.trim().parse().ok();
        }
    }
    Header {
        accept: accept.unwrap_or_else(|| panic!("{}: no '! expect:'", p.display())),
        exit: exit.unwrap_or_else(|| panic!("{}: no '! exit:'", p.display())),
    }
}

fn is_bug(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    KEEPALIVED_BUGS.iter().any(|(n, _)| *n == name)
}

/// Our verdict and exit status, with what we said.
fn ours(p: &Path) -> (bool, i32, String) {
    let opts = LoadOptions {
        config_id: Some("keepalived-rs-test".into()),
    };
    match load_file(p, &opts) {
        Ok(l) => {
            let text = l
                .diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n    ");
            (l.config_test_passed(), l.config_test_exit(), text)
        }
        Err(e) => (
            false,
            e.config_test_exit(),
            e.diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n    "),
        ),
    }
}

#[test]
fn corpus_is_complete() {
    let c = cases();
    assert!(c.len() >= 1000, "only {} parity cases", c.len());
    for p in &c {
        header(p);
    }
    // The allowlist names real cases where keepalived crashed (139) or
    // killed itself (143), and only those.
    for (name, why) in KEEPALIVED_BUGS {
        let h = header(&parity_dir().join(name));
        assert!(
            !h.accept && (h.exit == 139 || h.exit == 143),
            "{name} ({why}) is not a keepalived crash: exit {}",
            h.exit
        );
    }
    for p in &c {
        let h = header(p);
        assert!(
            !(h.exit == 139 || h.exit == 143) || is_bug(p),
            "{}: keepalived crashed (exit {}) but the case is not in KEEPALIVED_BUGS",
            p.display(),
            h.exit
        );
    }
}

#[test]
fn parity_with_keepalived_2_2_7() {
    common::in_netns(parity_here);
}

fn parity_here() {
    let mut counted = 0;
    let mut agree = 0;
    let mut exit_agree = 0;
    let mut bad = Vec::new();
    let mut bad_exit = Vec::new();
    for p in cases() {
        if is_bug(&p) {
            continue;
        }
        let h = header(&p);
        let (acc, exit, text) = ours(&p);
        counted += 1;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if acc == h.accept {
            agree += 1;
        } else {
            bad.push(format!(
                "{name}: keepalived {}, ours {}\n    {text}",
                if h.accept { "accepts" } else { "rejects" },
                if acc { "accepts" } else { "rejects" },
            ));
        }
        if exit == h.exit {
            exit_agree += 1;
        } else if acc == h.accept {
            bad_exit.push(format!("{name}: keepalived exit {}, ours {exit}", h.exit));
        }
    }
    let pct = |n: usize| n as f64 * 100.0 / counted.max(1) as f64;
    // Written past the test harness's capture: the figure shows on every run.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "parity: {counted} cases counted ({} keepalived bugs skipped), verdict agrees on {agree} ({:.1} %), exit status on {exit_agree} ({:.1} %)",
        KEEPALIVED_BUGS.len(),
        pct(agree),
        pct(exit_agree)
    );
    assert!(
        bad.is_empty(),
        "{} verdicts differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(
        bad_exit.is_empty(),
        "same verdict, other exit status:\n{}",
        bad_exit.join("\n")
    );
}

/// keepalived -t's exit status (128 + signal when killed; 124 on timeout).
fn keepalived_exit(p: &Path) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(KEEPALIVED)
        .args(["-t", "-f"])
        .arg(p)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run keepalived");
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait keepalived") {
            return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return 124;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn headers_match_keepalived_2_2_7() {
    if !Path::new(KEEPALIVED).exists() {
        eprintln!("{KEEPALIVED} missing: header check skipped");
        return;
    }
    common::in_netns(headers_here);
}

fn headers_here() {
    let start = Instant::now();
    let all = cases();
    let mut bad = Vec::new();
    for p in &all {
        let h = header(p);
        let got = keepalived_exit(p);
        if got != h.exit || (got == 0) != h.accept {
            bad.push(format!(
                "{}: header says exit {} ({}), keepalived exits {got}",
                p.display(),
                h.exit,
                if h.accept { "accept" } else { "reject" }
            ));
        }
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "parity headers: {} keepalived runs in {:.1} s, {} differ",
        all.len(),
        start.elapsed().as_secs_f64(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
