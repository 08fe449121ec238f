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

/// What every child needs: memory, signals, time, its event loop and its
/// IPC socket.
const COMMON: &[i64] = &[
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_close,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_lseek,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_brk,
    libc::SYS_madvise,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_futex,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_pwait,
    // The runtime's deadline timer (created before the filter).
    libc::SYS_timerfd_settime,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
    libc::SYS_fcntl,
    libc::SYS_getrandom,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_restart_syscall,
    libc::SYS_rseq,
    libc::SYS_set_robust_list,
    libc::SYS_eventfd2,
    libc::SYS_pipe2,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_uname,
    libc::SYS_getsockopt,
    libc::SYS_setsockopt,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_shutdown,
    libc::SYS_connect,
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
fn extras(sub: Subsystem) -> &'static [i64] {
    match sub {
        // Raw VRRP, ARP and netlink sockets, interface lookups by ioctl.
        Subsystem::Vrrp => &[libc::SYS_bind, libc::SYS_ioctl],
        Subsystem::Ipvs => &[libc::SYS_bind],
        // Health checks (bind for bindto/bind_port), FILE_CHECK and
        // track_file reads and inotify watches, track_file paths resolved
        // (readlink, for realpath) and vrrp_track_process's /proc scan
        // (getdents64). Scripts run in the launcher process, forked before
        // this filter exists.
        Subsystem::Checker => &[
            libc::SYS_bind,
            libc::SYS_openat,
            libc::SYS_kill,
            libc::SYS_wait4,
            libc::SYS_waitid,
            libc::SYS_inotify_init1,
            libc::SYS_inotify_add_watch,
            libc::SYS_inotify_rm_watch,
            libc::SYS_getdents64,
            libc::SYS_readlink,
        ],
    }
}

/// Netlink protocols each child may open: rtnetlink for vrrpd (addresses,
/// routes, links) and ipvsd (`ha_suspend`'s address dump), generic netlink
/// for ipvsd (IPVS) — nothing else (no netfilter, audit, uevents...).
fn netlink_protocols(sub: Subsystem) -> &'static [i32] {
    match sub {
        Subsystem::Vrrp => &[libc::NETLINK_ROUTE],
        Subsystem::Ipvs => &[libc::NETLINK_ROUTE, libc::NETLINK_GENERIC],
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

/// The filter for `sub`, as a BPF program.
pub fn program(sub: Subsystem, mode: SeccompMode) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for &nr in COMMON.iter().chain(extras(sub)) {
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
/// `netlink-other` (a netlink protocol the child does not speak).
pub const SELFTESTS: &[&str] = &["exec", "unix-stream", "prlimit-other", "netlink-other"];

/// Make the forbidden call `which` (see [`SELFTESTS`]), for the self-test
/// that proves the filter is live.
pub fn violate(sub: Subsystem, which: &str) -> std::io::Result<()> {
    // SAFETY (each arm): plain syscalls with valid or null pointers.
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
                libc::NETLINK_NETFILTER,
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
