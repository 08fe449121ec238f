//! The privilege table of the suite, read from `/proc/<pid>/status` of a
//! suite started from the built binaries in a fresh network namespace.

use keepalived_rs_tests::{proc, Suite};

const MINIMAL: &str = "global_defs {\n    router_id test\n}\n";

/// uid/gid of the checker: `keepalived-rs` if that user exists, else nobody.
fn checker_ids() -> (String, String) {
    for name in ["keepalived-rs", "nobody"] {
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            return (u.uid.to_string(), u.gid.to_string());
        }
    }
    ("65534".into(), "65534".into())
}

fn ids(v: &str) -> String {
    // "Uid: real effective saved fs" → all four must be equal.
    let parts: Vec<&str> = v.split_whitespace().collect();
    assert_eq!(parts.len(), 4, "{v}");
    assert!(parts.iter().all(|p| *p == parts[0]), "ids differ: {v}");
    parts[0].to_string()
}

#[test]
fn each_process_holds_exactly_its_privileges() {
    let suite = Suite::start(MINIMAL, &[]);
    let (cu, cg) = checker_ids();
    let table = [
        ("vrrpd", "0", "0", "0000000000003000"),
        ("ipvsd", "0", "0", "0000000000001000"),
        ("checkerd", cu.as_str(), cg.as_str(), "0000000000000000"),
    ];
    for (name, uid, gid, caps) in table {
        let pid = suite.child_pid(name);
        let st = proc::status(pid);
        assert_eq!(st["Name"], name);
        assert_eq!(ids(&st["Uid"]), uid, "{name} uid");
        assert_eq!(ids(&st["Gid"]), gid, "{name} gid");
        assert_eq!(st["CapEff"], caps, "{name} CapEff");
        assert_eq!(st["CapPrm"], caps, "{name} CapPrm");
        assert_eq!(st["CapBnd"], caps, "{name} CapBnd");
        assert_eq!(st["CapInh"], "0000000000000000", "{name} CapInh");
        assert_eq!(st["CapAmb"], "0000000000000000", "{name} CapAmb");
        assert_eq!(st["NoNewPrivs"], "1", "{name} NoNewPrivs");
        assert_eq!(st["Seccomp"], "2", "{name} Seccomp");
        if name == "checkerd" {
            assert_eq!(st["Groups"], "", "checkerd keeps no supplementary groups");
        }
    }
    let st = proc::status(suite.parent_pid());
    assert_eq!(ids(&st["Uid"]), "0");
    let eff = u64::from_str_radix(&st["CapEff"], 16).unwrap();
    let bnd = u64::from_str_radix(&st["CapBnd"], 16).unwrap();
    // KILL, SETGID, SETUID, SETPCAP, NET_ADMIN, NET_RAW and nothing else.
    assert_eq!(eff, 0x31e0, "parent CapEff {eff:x}");
    assert_eq!(bnd, 0x31e0, "parent CapBnd {bnd:x}");
    for (cap, name) in [
        (21, "SYS_ADMIN"),
        (1, "DAC_OVERRIDE"),
        (0, "CHOWN"),
        (16, "SYS_MODULE"),
        (19, "SYS_PTRACE"),
    ] {
        assert_eq!(eff & (1 << cap), 0, "parent must not hold CAP_{name}");
    }
}

#[test]
fn children_hold_only_their_ipc_and_loop_descriptors() {
    let suite = Suite::start(MINIMAL, &[]);
    for name in ["vrrpd", "checkerd", "ipvsd"] {
        let pid = suite.child_pid(name);
        // stdin/out/err on /dev/null, then only sockets (IPC, syslog, and
        // vrrpd's rtnetlink and packet sockets) and the event loop's epoll
        // signalfd and deadline timerfd: no file, pipe or other descriptor
        // from the parent.
        let n = proc::fd_count(pid);
        assert!(n <= 11, "{name} has {n} descriptors open");
        for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
        {
            let fd: i32 = e.file_name().to_string_lossy().parse().unwrap();
            let t = std::fs::read_link(e.path())
                .unwrap()
                .to_string_lossy()
                .to_string();
            let ok = if fd <= 2 {
                t == "/dev/null"
            } else {
                t.starts_with("socket:")
                    || t == "anon_inode:[eventpoll]"
                    || t == "anon_inode:[signalfd]"
                    || t == "anon_inode:[timerfd]"
            };
            assert!(ok, "{name} fd {fd} -> {t}");
        }
        let target = std::fs::read_link(format!("/proc/{pid}/fd/3")).unwrap();
        assert!(
            target.to_string_lossy().starts_with("socket:"),
            "{name} fd 3 is {target:?}"
        );
    }
}
