//! The privilege table of the suite and the syscalls that impose it.
//!
//! | process  | uid                           | capabilities (eff = prm = bnd) |
//! |----------|-------------------------------|--------------------------------|
//! | vrrpd    | root                          | NET_RAW, NET_ADMIN             |
//! | ipvsd    | root                          | NET_ADMIN                      |
//! | checkerd | `keepalived-rs`, else nobody  | none                           |
//! | parent   | root                          | [`PARENT_CAPS`]                |
//!
//! vrrpd and ipvsd stay uid 0 but lose every other capability, including
//! the bounding set, so nothing they exec can regain one; all children get
//! `no_new_privs` and a parent-death signal.

use crate::caps_mask::{last_cap, CapMask};
use keepalived_ipc::Subsystem;
use libc::{c_int, c_ulong};
use nix::unistd::{Uid, User};
use std::io;

const CAP_KILL: u32 = 5;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SETPCAP: u32 = 8;
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// What the parent keeps after start-up: enough to spawn children again
/// with their own sets (SETPCAP to shape bounding sets, SETUID/SETGID for
/// checkerd and script users, the network capabilities it hands down) and to
/// signal children that run under another uid (KILL). No SYS_ADMIN, no
/// DAC_OVERRIDE.
pub const PARENT_CAPS: CapMask = CapMask::of(&[
    CAP_KILL,
    CAP_SETGID,
    CAP_SETUID,
    CAP_SETPCAP,
    CAP_NET_ADMIN,
    CAP_NET_RAW,
]);

const CAP_IPC_LOCK: u32 = 14;
const CAP_SYS_NICE: u32 = 23;
const CAP_SYS_RESOURCE: u32 = 24;

/// Kept besides [`PARENT_CAPS`] only when the configuration the suite
/// starts with sets keepalived's process keywords (`vrrp_rt_priority`,
/// `checker_priority`, `*_cpu_affinity`, `*_no_swap`, `max_auto_priority`):
/// the parent sets its children's scheduling, CPUs and limits on their
/// pids, which needs SYS_NICE (checkerd is another user; realtime,
/// negative nice) and SYS_RESOURCE (another user's limits); IPC_LOCK is
/// handed to a root child whose `*_no_swap` is set (see
/// [`with_memory_lock`]), as keepalived's root children lock themselves
/// whatever RLIMIT_MEMLOCK says.
pub const TUNING_CAPS: CapMask = CapMask::of(&[CAP_IPC_LOCK, CAP_SYS_NICE, CAP_SYS_RESOURCE]);

/// `*_no_swap` for a root child (vrrpd, ipvsd): it may mlockall beyond
/// RLIMIT_MEMLOCK (CAP_IPC_LOCK), if this process holds the capability to
/// give. checkerd runs as another user and gets no capability: it locks
/// what its limit allows.
pub fn with_memory_lock(mut p: ChildPrivileges) -> ChildPrivileges {
    let held = caps::has_cap(
        None,
        caps::CapSet::Permitted,
        caps::Capability::CAP_IPC_LOCK,
    )
    .unwrap_or(false);
    if p.uid == 0 && held {
        p.caps = CapMask(p.caps.0 | CapMask::of(&[CAP_IPC_LOCK]).0);
    }
    p
}

/// The unprivileged account checkerd (and its scripts) run as.
pub const CHECKER_USER: &str = "keepalived-rs";
pub const FALLBACK_USER: &str = "nobody";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildPrivileges {
    pub uid: u32,
    pub gid: u32,
    pub caps: CapMask,
    /// Highest capability number, read before fork.
    pub last_cap: u32,
    /// Parent pid, to detect a parent that died before PR_SET_PDEATHSIG.
    pub parent_pid: i32,
}

/// Resolve the table row for `sub` (reads the user database: call before fork).
pub fn privileges_for(sub: Subsystem) -> ChildPrivileges {
    let (uid, gid, caps) = match sub {
        Subsystem::Vrrp => (0, 0, CapMask::of(&[CAP_NET_RAW, CAP_NET_ADMIN])),
        Subsystem::Ipvs => (0, 0, CapMask::of(&[CAP_NET_ADMIN])),
        Subsystem::Checker => {
            let (u, g) = unprivileged_user();
            (u, g, CapMask::EMPTY)
        }
    };
    ChildPrivileges {
        uid,
        gid,
        caps,
        last_cap: last_cap(),
        parent_pid: std::process::id() as i32,
    }
}

/// `keepalived-rs` if that system user exists, else `nobody` (65534).
pub fn unprivileged_user() -> (u32, u32) {
    for name in [CHECKER_USER, FALLBACK_USER] {
        if let Ok(Some(u)) = User::from_name(name) {
            return (u.uid.as_raw(), u.gid.as_raw());
        }
    }
    (65534, 65534)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn check(r: c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn prctl(op: c_int, a: c_ulong) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(op, a, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) })
}

/// Impose `p` on the current (freshly forked) process, then mark every fd
/// above `keep_fds` close-on-exec.
///
/// # Safety
/// Meant for the window between fork and exec: it only issues syscalls and
/// touches no allocator or lock.
pub unsafe fn apply_before_exec(p: &ChildPrivileges, keep_fds: c_int) -> io::Result<()> {
    // Bounding set first: it needs CAP_SETPCAP, which a uid change drops.
    for cap in 0..=p.last_cap {
        if !p.caps.contains(cap) {
            match prctl(libc::PR_CAPBSET_DROP, cap as c_ulong) {
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {} // unknown to this kernel
                r => r?,
            }
        }
    }
    check(libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong,
        0,
        0,
        0,
    ))?;
    if p.uid != 0 {
        check(libc::setgroups(0, std::ptr::null()))?;
        check(libc::setresgid(p.gid, p.gid, p.gid))?;
        // Without keepcaps this empties the permitted and effective sets.
        check(libc::setresuid(p.uid, p.uid, p.uid))?;
    }
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: p.caps.low(),
            permitted: p.caps.low(),
            inheritable: 0,
        },
        CapData {
            effective: p.caps.high(),
            permitted: p.caps.high(),
            inheritable: 0,
        },
    ];
    check(libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) as c_int)?;
    // After the uid change: a credential change resets the death signal.
    prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as c_ulong)?;
    if libc::getppid() != p.parent_pid {
        return Err(io::Error::other("parent died during spawn"));
    }
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)?;
    // Everything above the handed-over fds closes at exec.
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    check(libc::syscall(
        libc::SYS_close_range,
        keep_fds as u32,
        u32::MAX,
        CLOSE_RANGE_CLOEXEC,
    ) as c_int)?;
    Ok(())
}

/// Reduce the parent to [`PARENT_CAPS`] (plus [`TUNING_CAPS`] when
/// `tuning`; bounding, permitted, effective; inheritable and ambient
/// emptied). Called once, after anything that needs more (entering a
/// namespace, pid files).
pub fn drop_parent_privileges(tuning: bool) -> Result<(), caps::errors::CapsError> {
    use caps::CapSet;
    if !Uid::effective().is_root() {
        // Started unprivileged (tests of -t, --convert): nothing to drop.
        return Ok(());
    }
    let mut keep = if tuning {
        CapMask(PARENT_CAPS.0 | TUNING_CAPS.0)
    } else {
        PARENT_CAPS
    }
    .to_capset();
    // What we were not given (a unit's bounding set) cannot be kept: the
    // caller says so (see [`missing_tuning_caps`]).
    let have = caps::read(None, CapSet::Permitted)?;
    keep.retain(|c| have.contains(c));
    for c in caps::all() {
        if !keep.contains(&c) {
            caps::drop(None, CapSet::Bounding, c)?;
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    caps::set(None, CapSet::Effective, &keep)?;
    caps::set(None, CapSet::Permitted, &keep)?;
    Ok(())
}

/// The [`TUNING_CAPS`] this process does not hold (after
/// [`drop_parent_privileges`] with `tuning`: the ones it was never given).
pub fn missing_tuning_caps() -> Vec<String> {
    let have = caps::read(None, caps::CapSet::Effective).unwrap_or_default();
    let mut missing: Vec<String> = TUNING_CAPS
        .to_capset()
        .into_iter()
        .filter(|c| !have.contains(c))
        .map(|c| c.to_string())
        .collect();
    missing.sort();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        let v = privileges_for(Subsystem::Vrrp);
        assert_eq!((v.uid, v.caps.0), (0, 0x3000));
        let i = privileges_for(Subsystem::Ipvs);
        assert_eq!((i.uid, i.caps.0), (0, 0x1000));
        let c = privileges_for(Subsystem::Checker);
        assert_ne!(c.uid, 0);
        assert_eq!(c.caps, CapMask::EMPTY);
        assert!(!PARENT_CAPS.contains(21), "no CAP_SYS_ADMIN");
        assert!(!PARENT_CAPS.contains(1), "no CAP_DAC_OVERRIDE");
    }
}
