//! Per-child seccomp allowlists.
//!
//! Each child installs its filter once initialised (its sockets, logger and
//! IPC are open) and keeps it for life. A syscall outside the list kills the
//! process (`--seccomp kill`, the default) or is only logged to the audit log
//! (`--seccomp log`, for finding a missing entry).

use keepalived_ipc::Subsystem;
use seccompiler::{
    apply_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeccompMode {
    Kill,
    Log,
    /// No filter at all: only for debugging on a host where a filter cannot load.
    Off,
}

impl FromStr for SeccompMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kill" => Ok(SeccompMode::Kill),
            "log" => Ok(SeccompMode::Log),
            "off" => Ok(SeccompMode::Off),
            _ => Err(format!("unknown seccomp mode '{s}' (kill, log or off)")),
        }
    }
}

impl fmt::Display for SeccompMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SeccompMode::Kill => "kill",
            SeccompMode::Log => "log",
            SeccompMode::Off => "off",
        })
    }
}

/// A system call by name and number: the filter is built from the
/// numbers, `keepalivedctl audit` and docs/security.md print the names.
type Syscall = (&'static str, i64);

/// What every child needs: memory, signals, time, its event loop and its
/// IPC socket.
const COMMON: &[Syscall] = &[
    ("read", libc::SYS_read),
    ("write", libc::SYS_write),
    ("readv", libc::SYS_readv),
    ("writev", libc::SYS_writev),
    ("close", libc::SYS_close),
    ("fstat", libc::SYS_fstat),
    ("newfstatat", libc::SYS_newfstatat),
    ("statx", libc::SYS_statx),
    ("lseek", libc::SYS_lseek),
    ("mmap", libc::SYS_mmap),
    ("munmap", libc::SYS_munmap),
    ("mremap", libc::SYS_mremap),
    ("mprotect", libc::SYS_mprotect),
    ("brk", libc::SYS_brk),
    ("madvise", libc::SYS_madvise),
    ("rt_sigaction", libc::SYS_rt_sigaction),
    ("rt_sigprocmask", libc::SYS_rt_sigprocmask),
    ("rt_sigreturn", libc::SYS_rt_sigreturn),
    ("sigaltstack", libc::SYS_sigaltstack),
    ("futex", libc::SYS_futex),
    ("getpid", libc::SYS_getpid),
    ("gettid", libc::SYS_gettid),
    ("getppid", libc::SYS_getppid),
    ("getuid", libc::SYS_getuid),
    ("geteuid", libc::SYS_geteuid),
    ("getgid", libc::SYS_getgid),
    ("getegid", libc::SYS_getegid),
    ("clock_gettime", libc::SYS_clock_gettime),
    ("clock_getres", libc::SYS_clock_getres),
    // A process's own CPU time, user and kernel apart (ipvsd says how much
    // of a pass the kernel spent).
    ("getrusage", libc::SYS_getrusage),
    ("gettimeofday", libc::SYS_gettimeofday),
    ("nanosleep", libc::SYS_nanosleep),
    ("clock_nanosleep", libc::SYS_clock_nanosleep),
    ("exit", libc::SYS_exit),
    ("exit_group", libc::SYS_exit_group),
    ("epoll_create1", libc::SYS_epoll_create1),
    ("epoll_ctl", libc::SYS_epoll_ctl),
    ("epoll_wait", libc::SYS_epoll_wait),
    ("epoll_pwait", libc::SYS_epoll_pwait),
    // The runtime's deadline timer (created before the filter).
    ("timerfd_settime", libc::SYS_timerfd_settime),
    ("poll", libc::SYS_poll),
    ("ppoll", libc::SYS_ppoll),
    ("sendmsg", libc::SYS_sendmsg),
    ("recvmsg", libc::SYS_recvmsg),
    ("sendto", libc::SYS_sendto),
    ("recvfrom", libc::SYS_recvfrom),
    ("sendmmsg", libc::SYS_sendmmsg),
    ("recvmmsg", libc::SYS_recvmmsg),
    ("fcntl", libc::SYS_fcntl),
    ("getrandom", libc::SYS_getrandom),
    ("sched_yield", libc::SYS_sched_yield),
    ("sched_getaffinity", libc::SYS_sched_getaffinity),
    ("restart_syscall", libc::SYS_restart_syscall),
    ("rseq", libc::SYS_rseq),
    ("set_robust_list", libc::SYS_set_robust_list),
    ("eventfd2", libc::SYS_eventfd2),
    ("pipe2", libc::SYS_pipe2),
    ("dup", libc::SYS_dup),
    ("dup3", libc::SYS_dup3),
    ("uname", libc::SYS_uname),
    ("getsockopt", libc::SYS_getsockopt),
    ("setsockopt", libc::SYS_setsockopt),
    ("getsockname", libc::SYS_getsockname),
    ("getpeername", libc::SYS_getpeername),
    ("shutdown", libc::SYS_shutdown),
    ("connect", libc::SYS_connect),
    // `*_no_swap` (a reload may turn it on or off).
    ("mlockall", libc::SYS_mlockall),
    ("munlockall", libc::SYS_munlockall),
];

/// Socket families each child may open (syslog reconnects need AF_UNIX,
/// but only datagram sockets: see [`socket_rules`]).
fn families(sub: Subsystem) -> &'static [i32] {
    match sub {
        Subsystem::Vrrp => &[
            libc::AF_UNIX,
            libc::AF_INET,
            libc::AF_INET6,
            libc::AF_PACKET,
            libc::AF_NETLINK,
        ],
        Subsystem::Ipvs => &[libc::AF_UNIX, libc::AF_NETLINK],
        Subsystem::Checker => &[libc::AF_UNIX, libc::AF_INET, libc::AF_INET6],
    }
}

/// Unconditional extras per child.
fn extras(sub: Subsystem) -> &'static [Syscall] {
    match sub {
        // Raw VRRP, ARP and netlink sockets, interface lookups by ioctl.
        Subsystem::Vrrp => &[("bind", libc::SYS_bind), ("ioctl", libc::SYS_ioctl)],
        Subsystem::Ipvs => &[("bind", libc::SYS_bind)],
        // Health checks (bind for bindto/bind_port), FILE_CHECK and
        // track_file reads and inotify watches, track_file paths resolved
        // (readlink, for realpath) and vrrp_track_process's /proc scan
        // (getdents64). Scripts run in the launcher process, forked before
        // this filter exists.
        Subsystem::Checker => &[
            ("bind", libc::SYS_bind),
            ("openat", libc::SYS_openat),
            ("kill", libc::SYS_kill),
            ("wait4", libc::SYS_wait4),
            ("waitid", libc::SYS_waitid),
            ("inotify_init1", libc::SYS_inotify_init1),
            ("inotify_add_watch", libc::SYS_inotify_add_watch),
            ("inotify_rm_watch", libc::SYS_inotify_rm_watch),
            ("getdents64", libc::SYS_getdents64),
            ("readlink", libc::SYS_readlink),
        ],
    }
}

/// Netlink protocols each child may open: rtnetlink for vrrpd (addresses,
/// routes, links) and ipvsd (`ha_suspend`'s address dump), nf_tables for
/// vrrpd (the no_accept firewall) and ipvsd (`nftables_ipvs`'s marks),
/// generic netlink for ipvsd (IPVS) — nothing else (no audit, uevents,
/// xfrm...).
fn netlink_protocols(sub: Subsystem) -> &'static [i32] {
    match sub {
        Subsystem::Vrrp => &[libc::NETLINK_ROUTE, libc::NETLINK_NETFILTER],
        Subsystem::Ipvs => &[
            libc::NETLINK_ROUTE,
            libc::NETLINK_GENERIC,
            libc::NETLINK_NETFILTER,
        ],
        Subsystem::Checker => &[],
    }
}

fn eq(arg: u8, val: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, val)
        .expect("valid condition")
}

/// `socket(2)` as `sub` may call it. AF_UNIX only as a datagram socket:
/// the syslog socket needs nothing else, and vrrpd and ipvsd run as uid 0,
/// which D-Bus, docker.sock and systemd's private socket (all stream
/// sockets) trust. AF_NETLINK only for the protocols the child speaks.
fn socket_rules(sub: Subsystem) -> Result<Vec<SeccompRule>, String> {
    let mut rules = Vec::new();
    for &f in families(sub) {
        let family = eq(0, f as u64);
        let rule = match f {
            libc::AF_UNIX => {
                let dgram = SeccompCondition::new(
                    1,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(0xf),
                    libc::SOCK_DGRAM as u64,
                )
                .map_err(|e| e.to_string())?;
                vec![SeccompRule::new(vec![family, dgram])]
            }
            libc::AF_NETLINK => netlink_protocols(sub)
                .iter()
                .map(|&p| SeccompRule::new(vec![eq(0, f as u64), eq(2, p as u64)]))
                .collect(),
            _ => vec![SeccompRule::new(vec![family])],
        };
        for r in rule {
            rules.push(r.map_err(|e| e.to_string())?);
        }
    }
    Ok(rules)
}

/// The system calls `sub`'s filter allows, by name, sorted; those allowed
/// only with some arguments say which (the same tables [`program`] is
/// built from).
pub fn allowlist(sub: Subsystem) -> Vec<String> {
    let mut names: Vec<String> = COMMON
        .iter()
        .chain(extras(sub))
        .map(|(n, _)| n.to_string())
        .collect();
    names.push("socket (families and protocols below)".into());
    names.push("tgkill (itself only)".into());
    names.push("prlimit64 (itself only)".into());
    names.push("prctl (PR_SET_NAME only)".into());
    names.sort();
    names
}

/// The socket families `sub` may open, by name (AF_UNIX as datagram
/// sockets only), and its netlink protocols.
pub fn socket_policy(sub: Subsystem) -> (Vec<&'static str>, Vec<&'static str>) {
    let families = families(sub)
        .iter()
        .map(|&f| match f {
            libc::AF_UNIX => "AF_UNIX (datagram only)",
            libc::AF_INET => "AF_INET",
            libc::AF_INET6 => "AF_INET6",
            libc::AF_PACKET => "AF_PACKET",
            libc::AF_NETLINK => "AF_NETLINK",
            _ => "other",
        })
        .collect();
    let netlink = netlink_protocols(sub)
        .iter()
        .map(|&p| match p {
            libc::NETLINK_ROUTE => "NETLINK_ROUTE",
            libc::NETLINK_GENERIC => "NETLINK_GENERIC",
            libc::NETLINK_NETFILTER => "NETLINK_NETFILTER",
            _ => "other",
        })
        .collect();
    (families, netlink)
}

/// The filter for `sub`, as a BPF program.
pub fn program(sub: Subsystem, mode: SeccompMode) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for &(_, nr) in COMMON.iter().chain(extras(sub)) {
        rules.insert(nr, vec![]);
    }
    rules.insert(libc::SYS_socket, socket_rules(sub)?);
    // Signals only to itself (abort, panics): a root child must not signal
    // other root processes.
    let me = std::process::id() as u64;
    rules.insert(
        libc::SYS_tgkill,
        vec![SeccompRule::new(vec![eq(0, me)]).map_err(|e| e.to_string())?],
    );
    // Resource limits of itself only (pid 0 or its own): a root child must
    // not change another process's.
    rules.insert(
        libc::SYS_prlimit64,
        vec![
            SeccompRule::new(vec![eq(0, 0)]).map_err(|e| e.to_string())?,
            SeccompRule::new(vec![eq(0, me)]).map_err(|e| e.to_string())?,
        ],
    );
    // `*_process_name` at a reload: its own name, nothing else prctl does.
    rules.insert(
        libc::SYS_prctl,
        vec![SeccompRule::new(vec![eq(0, libc::PR_SET_NAME as u64)]).map_err(|e| e.to_string())?],
    );
    let mismatch = match mode {
        SeccompMode::Kill => SeccompAction::KillProcess,
        SeccompMode::Log => SeccompAction::Log,
        SeccompMode::Off => return Err("seccomp is off".into()),
    };
    let arch = if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        TargetArch::x86_64
    };
    let filter = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, arch)
        .map_err(|e| e.to_string())?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())
}

/// Install the filter for `sub` on the calling thread (children are
/// single-threaded). Sets `no_new_privs` too.
pub fn install(sub: Subsystem, mode: SeccompMode) -> Result<(), String> {
    if mode == SeccompMode::Off {
        return Ok(());
    }
    let prog = program(sub, mode)?;
    apply_filter(&prog).map_err(|e| e.to_string())
}

/// The calls the self-test can make (`--seccomp-selftest=NAME`), each one
/// a filter forbids: `exec` (the default: vrrpd and checkerd may not exec,
/// ipvsd may not open an IPv4 stream socket), `unix-stream` (a stream Unix
/// socket: D-Bus, docker.sock), `prlimit-other` (another process's limits),
/// `netlink-other` (a netlink protocol the child does not speak). Also
/// `nr:N`: system call number N with all-zero arguments, so a test can
/// probe the filter with any call the printed allowlist leaves out.
pub const SELFTESTS: &[&str] = &["exec", "unix-stream", "prlimit-other", "netlink-other"];

/// Make the forbidden call `which` (see [`SELFTESTS`]), for the self-test
/// that proves the filter is live.
pub fn violate(sub: Subsystem, which: &str) -> std::io::Result<()> {
    // SAFETY (each arm): plain syscalls with valid or null pointers.
    if let Some(n) = which.strip_prefix("nr:") {
        let n: libc::c_long = n
            .parse()
            .map_err(|_| std::io::Error::other(format!("bad self-test {which}")))?;
        // SAFETY: a raw system call with null/zero arguments; the filter
        // decides before the kernel looks at them.
        let r = unsafe { libc::syscall(n, 0, 0, 0, 0, 0, 0) };
        return if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        };
    }
    let r = match which {
        "unix-stream" => unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) },
        "prlimit-other" => {
            let mut old: libc::rlimit = unsafe { std::mem::zeroed() };
            unsafe { libc::prlimit(1, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) }
        }
        "netlink-other" => unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_AUDIT,
            )
        },
        _ => return violate_default(sub),
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn violate_default(sub: Subsystem) -> std::io::Result<()> {
    let r = match sub {
        Subsystem::Vrrp | Subsystem::Checker => {
            // A path that does not exist: under `log` the call fails
            // harmlessly instead of replacing the process.
            let path = c"/nonexistent/keepalived-rs-selftest";
            let argv = [path.as_ptr(), std::ptr::null()];
            let envp = [std::ptr::null()];
            // SAFETY: valid NUL-terminated argv/envp arrays.
            unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) }
        }
        // SAFETY: plain socket(2).
        Subsystem::Ipvs => unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) },
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_compiles() {
        for sub in Subsystem::ALL {
            for mode in [SeccompMode::Kill, SeccompMode::Log] {
                assert!(!program(sub, mode).unwrap().is_empty());
            }
        }
        assert!("bogus".parse::<SeccompMode>().is_err());
    }
}
