//! `docs/security.md` is generated from the tables the filters and the
//! privilege drops are built from, so the document cannot drift from what
//! runs. Stale: this test fails; `KARS_BLESS=1` rewrites it.

use keepalived_ipc::Subsystem;
use keepalived_sandbox::privileges_for;
use keepalived_sandbox::seccomp::{allowlist, socket_policy};
use std::path::Path;

fn render() -> String {
    let mut d = String::from(
        "# What each process may do\n\n\
         Generated from `crates/sandbox` (the tables the seccomp filters and the\n\
         privilege drops are built from) by `crates/sandbox/tests/security_doc.rs`;\n\
         do not edit. `keepalivedctl audit` prints the same for the running\n\
         processes, next to what the kernel reports in `/proc/PID/status`.\n\n\
         | process | user | capabilities | no_new_privs | seccomp |\n\
         |---|---|---|---|---|\n",
    );
    let mut parent: Vec<String> = keepalived_sandbox::PARENT_CAPS
        .to_capset()
        .iter()
        .map(|c| c.to_string())
        .collect();
    parent.sort();
    d.push_str(&format!(
        "| keepalived-rs (parent) | root | {} (kept after start-up: to spawn children with theirs, run other users' scripts, signal checkerd), and CAP_SYS_NICE CAP_SYS_RESOURCE CAP_IPC_LOCK only when the configuration sets process tuning keywords (the children's scheduling, CPUs and limits; IPC_LOCK goes to vrrpd or ipvsd with `*_no_swap`) | not by itself (the unit sets NoNewPrivileges=yes) | none: it starts scripts of other users |\n",
        parent.join(" ")
    ));
    for sub in [Subsystem::Vrrp, Subsystem::Checker, Subsystem::Ipvs] {
        let p = privileges_for(sub);
        let caps: Vec<String> = p.caps.to_capset().iter().map(|c| c.to_string()).collect();
        let mut caps = caps;
        caps.sort();
        let user = if p.uid == 0 {
            "root".to_string()
        } else {
            "keepalived-rs (else nobody)".to_string()
        };
        d.push_str(&format!(
            "| {sub} | {user} | {} | yes | filter, kill on anything else |\n",
            if caps.is_empty() {
                "none".to_string()
            } else {
                caps.join(" ")
            }
        ));
    }
    d.push_str(
        "| checkerd's script launcher | checkerd's | none | yes | none: it executes the configured scripts, and only them |\n",
    );
    for sub in [Subsystem::Vrrp, Subsystem::Checker, Subsystem::Ipvs] {
        let (families, netlink) = socket_policy(sub);
        let calls = allowlist(sub);
        d.push_str(&format!(
            "\n## {sub}\n\nSockets: {}. Netlink: {}.\n\nSystem calls ({}):\n\n",
            families.join(", "),
            if netlink.is_empty() {
                "none".to_string()
            } else {
                netlink.join(", ")
            },
            calls.len()
        ));
        for c in calls {
            d.push_str(&format!("- `{c}`\n"));
        }
    }
    d
}

#[test]
fn security_doc_is_generated_from_the_tables() {
    let doc = render();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md");
    if std::env::var_os("KARS_BLESS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/security.md is out of date: run this test with KARS_BLESS=1"
    );
}
