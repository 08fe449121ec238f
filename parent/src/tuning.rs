//! keepalived's process keywords: `vrrp_*` / `checker_*` `priority`,
//! `rt_priority`, `rlimit_rttime`, `no_swap`, `cpu_affinity`,
//! `process_name`, and `max_auto_priority`.
//!
//! keepalived's children set these on themselves, as root. Ours hold no
//! CAP_SYS_NICE or CAP_SYS_RESOURCE (checkerd holds nothing at all), so the
//! parent, which is root, sets them on the child's pid: right after the
//! spawn, at a reload that changes them, and when a child reports that its
//! timers ran late (`max_auto_priority`). What only the process can do to
//! itself (its name, mlockall) travels in its slice
//! ([`keepalived_ipc::ProcessSettings`]); for mlockall a root child is
//! spawned with CAP_IPC_LOCK, and checkerd's RLIMIT_MEMLOCK is raised
//! (which needs CAP_SYS_RESOURCE). A reload that turns `*_no_swap` on for
//! a running vrrpd or ipvsd locks it only within its limit (it was
//! spawned without CAP_IPC_LOCK): its next start locks it whole.
//!
//! keepalived's checker process is checkerd and ipvsd here: the `checker_*`
//! keywords apply to both.
//!
//! Only pids of our own unreaped children are touched (the lifecycle's), so
//! a pid cannot have been reused.

use keepalived_config::model::{GlobalDefs, ProcessTuning};
use keepalived_ipc::{ProcessSettings, Subsystem};
use log::{info, warn};
use std::collections::BTreeMap;

/// The keywords that apply to `sub`.
pub fn tuning_of(g: &GlobalDefs, sub: Subsystem) -> &ProcessTuning {
    match sub {
        Subsystem::Vrrp => &g.vrrp_process,
        Subsystem::Checker | Subsystem::Ipvs => &g.checker_process,
    }
}

/// What `sub` applies to itself.
pub fn settings(g: &GlobalDefs, sub: Subsystem) -> ProcessSettings {
    let t = tuning_of(g, sub);
    ProcessSettings {
        name: t.name.clone(),
        no_swap: t.no_swap,
        report_late_us: (g.max_auto_priority > 0).then_some(g.min_auto_priority_delay),
    }
}

/// Whether the parent must keep [`keepalived_sandbox::TUNING_CAPS`]: the
/// configuration it starts with sets something only they allow. (A
/// reload that adds such a keyword later is refused by the kernel, and
/// logged: the capabilities are gone by then.)
pub fn needs_caps(g: &GlobalDefs) -> bool {
    let uses = |t: &ProcessTuning| {
        t.nice.is_some() || t.rt_priority.is_some() || t.no_swap || !t.cpu_affinity.is_empty()
    };
    uses(&g.vrrp_process) || uses(&g.checker_process) || g.max_auto_priority > 0
}

/// Said once at start when the configuration sets process keywords the
/// parent was not given the capabilities for (the packaged unit's
/// bounding set holds neither: a drop-in grants them).
pub fn warn_missing_caps(missing: &[String]) {
    if missing.is_empty() {
        return;
    }
    let caps: Vec<String> = missing.iter().map(|c| c.to_uppercase()).collect();
    warn!(
        "The configuration sets process scheduling keywords (vrrp_rt_priority, checker_priority, \
         *_cpu_affinity, *_no_swap, max_auto_priority), but this process was started without {}: \
         the kernel will refuse them. Under keepalived.service, a drop-in with \
         'CapabilityBoundingSet={}' and 'RestrictRealtime=no' grants them (docs/migration.md)",
        caps.join(" and "),
        caps.join(" ")
    );
}

/// What the parent set on one child.
#[derive(Clone, Debug, Default)]
struct Applied {
    tuning: ProcessTuning,
    /// `max_auto_priority`: the realtime priority late timers earned.
    auto_rt: Option<u8>,
}

impl Applied {
    fn rt(&self) -> Option<u8> {
        self.tuning.rt_priority.max(self.auto_rt)
    }
}

/// The scheduling state the parent gave each child.
#[derive(Default)]
pub struct Tuner {
    children: BTreeMap<Subsystem, Applied>,
}

impl Tuner {
    /// A child was just spawned as `pid`: it runs as the parent does until
    /// told otherwise.
    pub fn spawned(&mut self, sub: Subsystem, pid: u32, g: &GlobalDefs) {
        let fresh = Applied::default();
        let mut want = fresh.clone();
        want.tuning = tuning_of(g, sub).clone();
        apply(sub, pid, &fresh, &want);
        self.children.insert(sub, want);
    }

    /// A reload: the children whose keywords changed get the new values
    /// (an earned realtime priority is kept, as keepalived keeps it).
    pub fn reloaded(&mut self, g: &GlobalDefs, pid: impl Fn(Subsystem) -> Option<u32>) {
        for (sub, now) in self.children.iter_mut() {
            let t = tuning_of(g, *sub);
            if *t == now.tuning {
                continue;
            }
            let mut want = now.clone();
            want.tuning = t.clone();
            if let Some(pid) = pid(*sub) {
                apply(*sub, pid, now, &want);
            }
            *now = want;
        }
    }

    /// `sub` (as `pid`) says a timer fired `by_us` microseconds late: one
    /// realtime step up, to `max_auto_priority` at most (a child cannot
    /// earn more than the configuration allows, whatever it claims).
    pub fn late(&mut self, sub: Subsystem, pid: u32, by_us: u64, g: &GlobalDefs) {
        let Ok(max) = u8::try_from(g.max_auto_priority) else {
            return;
        };
        if max == 0 || by_us < u64::from(g.min_auto_priority_delay) {
            return;
        }
        let Some(now) = self.children.get_mut(&sub) else {
            return;
        };
        let next = match now.rt() {
            None => 1,
            Some(p) if p >= max => return,
            Some(p) => p + 1,
        };
        info!(
            "{sub}: a timer expired {}.{:06} seconds late; setting its realtime priority to {next}",
            by_us / 1_000_000,
            by_us % 1_000_000
        );
        let mut want = now.clone();
        want.auto_rt = Some(next);
        apply(sub, pid, now, &want);
        *now = want;
    }
}

/// Move `pid` from `from` to `to`, logging (in keepalived's words where it
/// has them) what the kernel refuses.
fn apply(sub: Subsystem, pid: u32, from: &Applied, to: &Applied) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    let (old, new) = (&from.tuning, &to.tuning);
    match to.rt() {
        Some(prio) if from.rt() != Some(prio) || old.rlimit_rttime != new.rlimit_rttime => {
            // Scripts it forks run with normal scheduling.
            let policy = libc::SCHED_RR | libc::SCHED_RESET_ON_FORK;
            let param = libc::sched_param {
                sched_priority: i32::from(prio),
            };
            // SAFETY: plain syscall on our own child's pid.
            if unsafe { libc::sched_setscheduler(pid, policy, &param) } != 0 {
                warn!(
                    "{sub}: cannot raise priority: {}",
                    std::io::Error::last_os_error()
                );
            } else if new.rlimit_rttime > 0 {
                // The soft limit at half: SIGXCPU (logged by the child)
                // before the hard limit's SIGKILL.
                let us = u64::from(new.rlimit_rttime);
                set_limit(sub, pid, libc::RLIMIT_RTTIME, us / 2, us);
            } else {
                set_limit(
                    sub,
                    pid,
                    libc::RLIMIT_RTTIME,
                    libc::RLIM_INFINITY,
                    libc::RLIM_INFINITY,
                );
            }
        }
        Some(_) => {}
        None if from.rt().is_some() => {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: plain syscall on our own child's pid.
            if unsafe { libc::sched_setscheduler(pid, libc::SCHED_OTHER, &param) } != 0 {
                warn!(
                    "{sub}: cannot reset realtime scheduling: {}",
                    std::io::Error::last_os_error()
                );
            }
            // Raising the hard limit again needs CAP_SYS_RESOURCE; without
            // it the limit stays, harmless: it counts realtime CPU only.
            let _ = prlimit(
                pid,
                libc::RLIMIT_RTTIME,
                libc::RLIM_INFINITY,
                libc::RLIM_INFINITY,
            );
        }
        None => {}
    }
    // keepalived sets the nice value only without realtime scheduling.
    let nice_of = |a: &Applied| {
        if a.rt().is_some() {
            None
        } else {
            a.tuning.nice
        }
    };
    if nice_of(from) != nice_of(to) {
        // Back to the parent's own value when the keyword goes.
        let value = nice_of(to).map_or_else(own_nice, i32::from);
        // SAFETY: plain syscall on our own child's pid.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, value) } != 0 {
            warn!(
                "{sub}: Unable to set process priority to {value} - {}",
                std::io::Error::last_os_error()
            );
        }
    }
    if old.cpu_affinity != new.cpu_affinity {
        set_affinity(sub, pid, &new.cpu_affinity);
    }
    if new.no_swap && !old.no_swap && sub == Subsystem::Checker {
        // mlockall by an unprivileged process needs the room (vrrpd and
        // ipvsd hold CAP_IPC_LOCK instead: see with_memory_lock).
        set_limit(
            sub,
            pid,
            libc::RLIMIT_MEMLOCK,
            libc::RLIM_INFINITY,
            libc::RLIM_INFINITY,
        );
    }
}

fn own_nice() -> i32 {
    // SAFETY: getpriority on ourselves; -1 is a valid value, so errno is
    // not consulted (the parent's own value cannot fail to read).
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

fn prlimit(
    pid: libc::pid_t,
    res: libc::__rlimit_resource_t,
    cur: u64,
    max: u64,
) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: cur,
        rlim_max: max,
    };
    // SAFETY: prlimit with a valid rlimit and no old-value pointer.
    if unsafe { libc::prlimit(pid, res, &lim, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// [`prlimit`], saying what the kernel refused.
fn set_limit(sub: Subsystem, pid: libc::pid_t, res: libc::__rlimit_resource_t, cur: u64, max: u64) {
    if let Err(e) = prlimit(pid, res, cur, max) {
        warn!("{sub}: cannot set resource limit {res}: {e}");
    }
}

/// `cpus` (empty: every CPU the parent may use).
fn set_affinity(sub: Subsystem, pid: libc::pid_t, cpus: &[u16]) {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let set = if cpus.is_empty() {
        match sched_getaffinity(Pid::from_raw(0)) {
            Ok(s) => s,
            Err(_) => return,
        }
    } else {
        let mut s = CpuSet::new();
        for &c in cpus {
            if s.set(usize::from(c)).is_err() {
                return;
            }
        }
        s
    };
    if let Err(e) = sched_setaffinity(Pid::from_raw(pid), &set) {
        warn!(
            "unable to set cpu affinity to {} process ({e})",
            match sub {
                Subsystem::Vrrp => "vrrp",
                _ => "checker",
            }
        );
    }
}

/// `process_name`: the parent's own name (the binary's when unset).
pub fn name_self(name: Option<&str>) {
    let name = name.unwrap_or("keepalived-rs");
    if let Ok(c) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string (the kernel
        // takes at most 15 bytes of it).
        if unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) } != 0 {
            info!("Failed to set process name '{name}'");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_keywords_drive_checkerd_and_ipvsd() {
        let mut g = GlobalDefs::default();
        g.vrrp_process.name = Some("kv".into());
        g.checker_process.name = Some("kc".into());
        g.checker_process.no_swap = true;
        assert_eq!(settings(&g, Subsystem::Vrrp).name.as_deref(), Some("kv"));
        for sub in [Subsystem::Checker, Subsystem::Ipvs] {
            let s = settings(&g, sub);
            assert_eq!(s.name.as_deref(), Some("kc"));
            assert!(s.no_swap);
        }
        assert_eq!(settings(&g, Subsystem::Vrrp).report_late_us, None);
        g.max_auto_priority = 3;
        g.min_auto_priority_delay = 5000;
        assert_eq!(settings(&g, Subsystem::Vrrp).report_late_us, Some(5000));
    }

    #[test]
    fn late_timers_climb_one_step_to_the_maximum_only() {
        let mut g = GlobalDefs {
            max_auto_priority: 2,
            min_auto_priority_delay: 1000,
            ..Default::default()
        };
        let mut t = Tuner::default();
        t.children.insert(Subsystem::Vrrp, Applied::default());
        // Not late enough, and a child we never spawned: nothing.
        t.late(Subsystem::Vrrp, u32::MAX, 999, &g);
        t.late(Subsystem::Ipvs, u32::MAX, 5000, &g);
        assert_eq!(t.children[&Subsystem::Vrrp].auto_rt, None);
        assert!(!t.children.contains_key(&Subsystem::Ipvs));
        // (u32::MAX is no pid: the syscalls fail, the bookkeeping is ours.)
        for want in [1, 2, 2, 2] {
            t.late(Subsystem::Vrrp, u32::MAX, 5000, &g);
            assert_eq!(t.children[&Subsystem::Vrrp].auto_rt, Some(want));
        }
        // Disabled: no climb.
        g.max_auto_priority = 0;
        t.children.insert(Subsystem::Checker, Applied::default());
        t.late(Subsystem::Checker, u32::MAX, 5_000_000, &g);
        assert_eq!(t.children[&Subsystem::Checker].auto_rt, None);
    }
}
