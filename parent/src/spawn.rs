//! fork + exec of a child with its privileges and descriptors.

use keepalived_ipc::{Subsystem, CHILD_IPC_FD};
use keepalived_sandbox::{apply_before_exec, ChildPrivileges, SeccompMode};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The console for a child: a description of our stderr of its own, in
/// append mode. A child that cannot reopen its stderr itself (checkerd's
/// user may not open a root-owned log file) writes through this one, and
/// with O_APPEND its lines land at the end of a shared log file instead of
/// overwriting the other processes' lines from offset 0.
fn console_for_child() -> Stdio {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    match open("/proc/self/fd/2", flags, Mode::empty()) {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::inherit(),
    }
}

pub const LIBEXEC_DIR: &str = "/usr/libexec/keepalived-rs";

/// Where the child binaries live: the override, else beside this binary,
/// else the libexec directory.
pub fn find_binary(sub: Subsystem, override_dir: Option<&Path>) -> PathBuf {
    if let Some(d) = override_dir {
        return d.join(sub.binary());
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(sub.binary())))
    {
        if beside.is_file() {
            return beside;
        }
    }
    Path::new(LIBEXEC_DIR).join(sub.binary())
}

/// How children log and are sandboxed (the same for all three).
#[derive(Clone, Debug)]
pub struct ChildOptions {
    pub seccomp: SeccompMode,
    pub console: bool,
    pub detail: bool,
    pub syslog: bool,
    pub facility: Option<u8>,
    pub syslog_socket: Option<PathBuf>,
    pub libexec_dir: Option<PathBuf>,
    /// `_NAMESPACE` after each syslog ident (keepalived's with a
    /// network namespace).
    pub ident_suffix: Option<String>,
}

/// Start `sub` with `ipc` on fd 3 and, when given, its log file and the
/// launcher's allowlist socket (checkerd) on the next descriptors.
pub fn spawn(
    sub: Subsystem,
    opts: &ChildOptions,
    privs: ChildPrivileges,
    ipc: &OwnedFd,
    log_file: Option<&OwnedFd>,
    launcher: Option<&OwnedFd>,
) -> std::io::Result<u32> {
    let bin = find_binary(sub, opts.libexec_dir.as_deref());
    let mut cmd = Command::new(&bin);
    // Own process group: a Ctrl-C or `timeout` aimed at the parent's group
    // must not bypass the ordered stop.
    cmd.process_group(0);
    cmd.arg0(sub.binary())
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if opts.console {
        cmd.stderr(console_for_child());
    } else {
        cmd.stderr(Stdio::null());
    }
    cmd.arg("--ipc-fd")
        .arg(CHILD_IPC_FD.to_string())
        .arg("--seccomp")
        .arg(opts.seccomp.to_string());
    if opts.console {
        cmd.arg("--log-console");
    }
    if opts.detail {
        cmd.arg("--log-detail");
    }
    if !opts.syslog {
        cmd.arg("--no-syslog");
    }
    if let Some(f) = opts.facility {
        cmd.arg("--log-facility").arg(f.to_string());
    }
    if let Some(p) = &opts.syslog_socket {
        cmd.arg("--syslog-socket").arg(p);
    }
    if let Some(s) = &opts.ident_suffix {
        cmd.arg("--syslog-ident-suffix").arg(s);
    }
    if log_file.is_some() {
        cmd.arg("--log-file-fd")
            .arg(keepalived_ipc::CHILD_LOG_FD.to_string());
    }
    if launcher.is_some() {
        let fd = CHILD_IPC_FD + 1 + i32::from(log_file.is_some());
        cmd.arg("--launcher-fd").arg(fd.to_string());
    }
    let sources = [
        Some(ipc.as_raw_fd()),
        log_file.map(|f| f.as_raw_fd()),
        launcher.map(|f| f.as_raw_fd()),
    ];
    // SAFETY: the closure only issues syscalls (fcntl, dup2, prctl, capset,
    // set*id, close_range); the parent is single-threaded when it forks.
    unsafe {
        cmd.pre_exec(move || {
            let mut next = CHILD_IPC_FD;
            // Move the sources out of the way first so dup2 cannot clobber one.
            let mut high = [-1; 3];
            for (i, s) in sources.iter().enumerate() {
                if let Some(fd) = s {
                    high[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 64);
                    if high[i] < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            for h in high.iter().filter(|h| **h >= 0) {
                if libc::dup2(*h, next) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                next += 1;
            }
            apply_before_exec(&privs, next)
        });
    }
    let child = cmd.spawn()?;
    Ok(child.id())
}
