//! Each child's seccomp filter is live: a syscall outside its allowlist
//! kills it (vrrpd and checkerd may not exec, ipvsd may not open an IPv4
//! stream socket); in `--seccomp log` mode the same call is let through.

use keepalived_ipc::{
    decode_from_child, Channel, ConfigSlice, FromChild, ReplayState, Subsystem, ToChild,
    MAX_FROM_CHILD,
};
use keepalived_rs_tests::{bin, require_root};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start `sub`'s binary directly on a socketpair, configure it, and return
/// (child, our end).
fn spawn_child(sub: Subsystem, mode: &str) -> (std::process::Child, Channel) {
    spawn_selftest(sub, mode, "exec")
}

/// `spawn_child` with the forbidden call `which` (see
/// `keepalived_sandbox::seccomp::SELFTESTS`).
fn spawn_selftest(sub: Subsystem, mode: &str, which: &str) -> (std::process::Child, Channel) {
    require_root();
    let (mine, theirs) = Channel::pair().unwrap();
    let raw = theirs.as_raw_fd();
    let mut cmd = Command::new(bin(sub.binary()));
    cmd.args([
        "--ipc-fd",
        "3",
        "--no-syslog",
        "--seccomp",
        mode,
        &format!("--seccomp-selftest={which}"),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    // SAFETY: dup2 only, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(theirs);
    let mut chan = Channel::new(mine, MAX_FROM_CHILD, 1 << 28).unwrap();
    let slice = ConfigSlice {
        subsystem: sub,
        generation: 1,
        ids: Default::default(),
        ipvs: (sub == Subsystem::Ipvs).then(Default::default),
        vrrp: (sub == Subsystem::Vrrp).then(Default::default),
        check: (sub == Subsystem::Checker).then(Default::default),
        process: Default::default(),
    };
    chan.send(&ToChild::Configure {
        slice: Box::new(slice),
        replay: ReplayState::default(),
    })
    .unwrap();
    (child, chan)
}

/// Wait (by poll on the socket) for the child's next message, if any.
fn next_message(chan: &mut Channel, timeout: Duration) -> Option<FromChild> {
    let until = Instant::now() + timeout;
    loop {
        chan.flush().ok();
        match chan.recv_bytes() {
            Ok(Some((b, _))) => return decode_from_child(&b).ok(),
            Ok(None) => {}
            Err(_) => return None,
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let mut pfd = libc::pollfd {
            fd: chan.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
    }
}

#[test]
fn forbidden_syscall_kills_each_child() {
    for sub in Subsystem::ALL {
        let (mut child, mut chan) = spawn_child(sub, "kill");
        // The child dies before it can ack.
        let m = next_message(&mut chan, Duration::from_secs(20));
        assert_eq!(m, None, "{sub} survived its forbidden syscall");
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGSYS), "{sub}: {status:?}");
    }
}

/// The gaps a root child could use against the host are closed: a stream
/// Unix socket (D-Bus, docker.sock and systemd trust uid 0), another
/// process's resource limits, a netlink protocol the child does not speak.
/// Each call kills the child that makes it.
#[test]
fn root_children_cannot_reach_the_host() {
    for sub in [Subsystem::Vrrp, Subsystem::Ipvs] {
        for which in ["unix-stream", "prlimit-other", "netlink-other"] {
            let (mut child, mut chan) = spawn_selftest(sub, "kill", which);
            let m = next_message(&mut chan, Duration::from_secs(20));
            assert_eq!(m, None, "{sub} survived {which}");
            let status = child.wait().unwrap();
            assert_eq!(
                status.signal(),
                Some(libc::SIGSYS),
                "{sub} {which}: {status:?}"
            );
        }
    }
}

#[test]
fn log_mode_lets_the_call_through() {
    for sub in Subsystem::ALL {
        let (mut child, mut chan) = spawn_child(sub, "log");
        let m = next_message(&mut chan, Duration::from_secs(20));
        assert_eq!(
            m,
            Some(FromChild::Ready { generation: 1 }),
            "{sub} in log mode"
        );
        chan.send(&ToChild::Shutdown).unwrap();
        chan.flush().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "{sub}: expected a clean exit, got {status:?}"
        );
    }
}

/// The kernel's system call table: name -> number (x86_64).
fn syscall_table() -> Vec<(String, i64)> {
    let text = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
        .expect("linux-libc-dev's unistd_64.h");
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("#define __NR_")?;
            let (name, nr) = rest.split_once(' ')?;
            Some((name.to_string(), nr.trim().parse().ok()?))
        })
        .collect()
}

/// The allowlist the running suite prints (`keepalivedctl audit --json`)
/// is the one its filters enforce: calls it leaves out kill the child
/// (a spread of them, and every call that would reach the host), and
/// what it lists is let through.
#[test]
fn the_printed_allowlists_are_the_installed_filters() {
    let mut suite =
        keepalived_rs_tests::Suite::start("global_defs {\n    router_id SECCOMP\n}\n", &[]);
    let out = suite.ctl(&["audit", "--json"]);
    assert!(out.status.success());
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(suite.stop().success());
    let table = syscall_table();
    assert!(table.len() > 300, "{} system calls", table.len());
    // The ones a compromised child would reach the host with.
    const DANGEROUS: &[&str] = &[
        "mount",
        "ptrace",
        "bpf",
        "init_module",
        "kexec_load",
        "setns",
        "unshare",
        "keyctl",
        "perf_event_open",
        "process_vm_writev",
        "open_by_handle_at",
        "userfaultfd",
        "chroot",
        "pivot_root",
        "reboot",
        "swapon",
        "acct",
        "settimeofday",
        "io_uring_setup",
        "execveat",
    ];
    for sub in Subsystem::ALL {
        let printed: Vec<String> = audit["audit"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["process"] == sub.binary())
            .unwrap_or_else(|| panic!("{sub} not audited"))["allowed_syscalls"]
            .as_array()
            .unwrap()
            .iter()
            // "socket (families and protocols below)" -> "socket"
            .map(|v| v.as_str().unwrap().split(' ').next().unwrap().to_string())
            .collect();
        let left_out: Vec<&(String, i64)> =
            table.iter().filter(|(n, _)| !printed.contains(n)).collect();
        for d in DANGEROUS {
            assert!(
                !printed.iter().any(|p| p == d),
                "{sub} prints {d} as allowed"
            );
        }
        // Every dangerous call, and every 25th of the rest left out.
        let probes = left_out
            .iter()
            .enumerate()
            .filter(|(i, (n, _))| DANGEROUS.contains(&n.as_str()) || i % 25 == 0)
            .map(|(_, p)| *p)
            .collect::<Vec<_>>();
        assert!(
            probes.len() >= DANGEROUS.len() + 5,
            "{sub}: {} probes",
            probes.len()
        );
        for (name, nr) in probes {
            let (mut child, mut chan) = spawn_selftest(sub, "kill", &format!("nr:{nr}"));
            let m = next_message(&mut chan, Duration::from_secs(20));
            assert_eq!(
                m, None,
                "{sub} survived {name} ({nr}), which it does not print"
            );
            let status = child.wait().unwrap();
            assert_eq!(
                status.signal(),
                Some(libc::SIGSYS),
                "{sub} {name}: {status:?}"
            );
        }
        // Listed calls harmless with zero arguments go through.
        for name in ["getpid", "gettid", "getuid", "sched_yield"] {
            if !printed.iter().any(|p| p == name) {
                continue;
            }
            let nr = table.iter().find(|(n, _)| n == name).unwrap().1;
            let (mut child, mut chan) = spawn_selftest(sub, "kill", &format!("nr:{nr}"));
            let m = next_message(&mut chan, Duration::from_secs(20));
            assert_eq!(m, Some(FromChild::Ready { generation: 1 }), "{sub} {name}");
            chan.send(&ToChild::Shutdown).unwrap();
            chan.flush().unwrap();
            assert_eq!(child.wait().unwrap().code(), Some(0), "{sub} {name}");
        }
    }
}
