//! Running scripts (MISC_CHECK, vrrp_script) without blocking the loop.
//!
//! The engine talks to a [`ScriptRunner`] so checkerd can later hand runs
//! to a launcher process; [`LocalRunner`] forks here and watches each child
//! through a pidfd on the mio loop (no SIGCHLD handler, no threads).

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};

/// What to run and as whom.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptCommand {
    pub argv: Vec<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl ScriptCommand {
    /// Split a keepalived script line into words (see
    /// `keepalived_config::script_line`).
    pub fn parse(line: &str) -> Self {
        let argv = keepalived_config::script_line::split(line);
        ScriptCommand {
            argv,
            uid: None,
            gid: None,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptExit {
    Exited(i32),
    Signaled(i32),
}

/// A run in progress, as the runner names it.
pub type ScriptHandle = u64;

/// Starts scripts and reports their end.
pub trait ScriptRunner {
    /// Start `cmd` in its own process group. A runner with a pollable
    /// source registers it under `token`; the engine then calls
    /// [`ScriptRunner::try_wait`] on readiness and at every deadline.
    fn spawn(
        &mut self,
        cmd: &ScriptCommand,
        registry: &Registry,
        token: Token,
    ) -> io::Result<ScriptHandle>;
    /// The exit, once; the runner forgets the run after reporting it.
    fn try_wait(&mut self, h: ScriptHandle, registry: &Registry) -> Option<ScriptExit>;
    /// Signal the run's process group (timeouts: TERM, then KILL).
    fn signal(&mut self, h: ScriptHandle, sig: Signal);
}

/// Fork/exec in this process; pidfds tell the loop when a child ends.
#[derive(Default)]
pub struct LocalRunner {
    runs: HashMap<ScriptHandle, (Child, Option<OwnedFd>)>,
    next: ScriptHandle,
}

impl LocalRunner {
    pub fn new() -> Self {
        Self::default()
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; a non-negative result is a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl ScriptRunner for LocalRunner {
    fn spawn(
        &mut self,
        cmd: &ScriptCommand,
        registry: &Registry,
        token: Token,
    ) -> io::Result<ScriptHandle> {
        let (prog, args) = cmd
            .argv
            .split_first()
            .ok_or_else(|| io::Error::other("empty script"))?;
        let mut c = Command::new(prog);
        c.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if let Some(g) = cmd.gid {
            c.gid(g);
        }
        if let Some(u) = cmd.uid {
            c.uid(u);
        }
        let child = c.spawn()?;
        // Without a pidfd (old kernel) the engine still polls at deadlines.
        let pidfd = pidfd_open(child.id()).ok();
        if let Some(fd) = &pidfd {
            registry.register(&mut SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)?;
        }
        self.next += 1;
        self.runs.insert(self.next, (child, pidfd));
        Ok(self.next)
    }

    fn try_wait(&mut self, h: ScriptHandle, registry: &Registry) -> Option<ScriptExit> {
        let (child, _) = self.runs.get_mut(&h)?;
        let st = match child.try_wait() {
            Ok(Some(st)) => st,
            Ok(None) => return None,
            Err(_) => std::process::ExitStatus::from_raw(libc::SIGKILL),
        };
        if let Some((_, Some(fd))) = self.runs.remove(&h) {
            let _ = registry.deregister(&mut SourceFd(&fd.as_raw_fd()));
        }
        Some(match (st.code(), st.signal()) {
            (Some(c), _) => ScriptExit::Exited(c),
            (None, Some(s)) => ScriptExit::Signaled(s),
            _ => ScriptExit::Signaled(0),
        })
    }

    fn signal(&mut self, h: ScriptHandle, sig: Signal) {
        if let Some((child, _)) = self.runs.get(&h) {
            let pg = nix::unistd::Pid::from_raw(child.id() as i32);
            if nix::sys::signal::killpg(pg, sig).is_err() {
                let _ = nix::sys::signal::kill(pg, sig);
            }
        }
    }
}

impl Drop for LocalRunner {
    fn drop(&mut self) {
        for (child, _) in self.runs.values_mut() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(child.id() as i32),
                Signal::SIGKILL,
            );
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(
            ScriptCommand::parse(r#"/bin/sh -c 'exit 3' "a b" c\ d"#).argv,
            vec!["/bin/sh", "-c", "exit 3", "a b", "c d"]
        );
        assert_eq!(ScriptCommand::parse("  x  ").argv, vec!["x"]);
    }
}
