//! Reading `/proc` and waiting for processes to end, by event.

use std::collections::BTreeMap;
use std::time::Duration;

/// `/proc/<pid>/status` as key → value.
pub fn status(pid: i32) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

pub fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

pub fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Children of `ppid` that are zombies.
pub fn zombies_of(ppid: i32) -> Vec<i32> {
    let mut z = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let st = status(pid);
        if st.get("PPid").map(String::as_str) == Some(&ppid.to_string())
            && st.get("State").is_some_and(|s| s.starts_with('Z'))
        {
            z.push(pid);
        }
    }
    z
}

/// Block until `pid` has exited (pidfd + poll), up to `timeout`.
pub fn wait_gone(pid: i32, timeout: Duration) -> bool {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return !alive(pid);
    }
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    r == 1
}

/// Read a pid file.
pub fn read_pid(path: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// CPU time (clock ticks, user + system) and RSS (kB) summed over `pids`.
pub fn usage(pids: &[i32]) -> (u64, u64) {
    let mut ticks = 0;
    let mut rss = 0;
    for p in pids {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
            // Fields after the command name, which may itself hold spaces.
            let f: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            ticks += f.get(11).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            ticks += f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        }
        rss += status(*p)
            .get("VmRSS")
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
    }
    (ticks, rss)
}

/// CPU time of `pids` over `window`, in percent of one core, and their RSS
/// (kB) at its end. `pids` is asked again at the end (the benchmarks pass
/// "every process of a namespace").
pub fn cpu_over(pids: impl Fn() -> Vec<i32>, window: Duration) -> (f64, u64) {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let (t0, _) = usage(&pids());
    let start = std::time::Instant::now();
    std::thread::sleep(window);
    let (t1, rss) = usage(&pids());
    let cpu = t1.saturating_sub(t0) as f64 / hz / start.elapsed().as_secs_f64() * 100.0;
    (cpu, rss)
}
