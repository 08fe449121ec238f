//! Running scripts (MISC_CHECK, vrrp_script) without blocking the loop.
//!
//! The engine talks to a [`ScriptRunner`] so checkerd can later hand runs
//! to a launcher process; [`LocalRunner`] forks here and watches each child
//! through a pidfd on the mio loop (no SIGCHLD handler, no threads).
//! The trait itself knows nothing of mio: the engine names runs by key.

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};

pub use keepalived_types::{ScriptArgs, ScriptCall, ScriptId};

/// Which configured script to run, by id, with keepalived's typed
/// arguments: the command line behind the id is known only to whoever
/// executes it (checkerd's launcher, the parent), from the allowlist the
/// parent gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScriptCommand {
    pub call: ScriptCall,
    /// Another user's script: the parent starts it (checkerd cannot change
    /// identity).
    pub by_parent: bool,
}

impl ScriptCommand {
    /// Script `script` without arguments, run by checkerd's launcher.
    pub fn local(script: ScriptId) -> ScriptCommand {
        ScriptCommand {
            call: ScriptCall {
                script,
                args: ScriptArgs::None,
            },
            by_parent: false,
        }
    }

    /// The same script with `args`.
    pub fn with(mut self, args: ScriptArgs) -> ScriptCommand {
        self.call.args = args;
        self
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
    /// source reports it under `key`; the engine then calls
    /// [`ScriptRunner::try_wait`] on readiness and at every deadline.
    fn spawn(&mut self, cmd: &ScriptCommand, key: usize) -> io::Result<ScriptHandle>;
    /// The exit, once; the runner forgets the run after reporting it.
    fn try_wait(&mut self, h: ScriptHandle) -> Option<ScriptExit>;
    /// Signal the run's process group (timeouts: TERM, then KILL).
    fn signal(&mut self, h: ScriptHandle, sig: Signal);
}

/// Fork/exec in this process; pidfds tell the loop when a child ends.
/// As a [`ScriptRunner`] it runs the scripts of its own table (tests, and
/// tools); checkerd's launcher resolves ids itself and calls
/// [`LocalRunner::spawn_argv`].
#[derive(Default)]
pub struct LocalRunner {
    runs: HashMap<ScriptHandle, (Child, Option<OwnedFd>)>,
    next: ScriptHandle,
    table: HashMap<ScriptId, Vec<String>>,
    /// Where each run's pidfd is registered (its key as the token); none:
    /// runs are only found ended when the owner asks.
    registry: Option<Registry>,
}

impl LocalRunner {
    /// A runner whose ends are found only by asking.
    pub fn new() -> Self {
        Self::default()
    }

    /// A runner that reports each run's end as readiness on `registry`.
    pub fn on(registry: &Registry) -> io::Result<Self> {
        let mut r = Self::default();
        r.registry = Some(registry.try_clone()?);
        Ok(r)
    }

    /// Let script `id` stand for the script line `line` (keepalived's
    /// quoting, see `keepalived_config::script_line`).
    pub fn define(&mut self, id: ScriptId, line: &str) {
        self.table
            .insert(id, keepalived_config::script_line::split(line));
    }

    /// Start `argv` as this process's user, in its own process group.
    pub fn spawn_argv(&mut self, argv: &[String], key: usize) -> io::Result<ScriptHandle> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::other("empty script"))?;
        let mut c = Command::new(prog);
        c.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let child = c.spawn()?;
        // Without a pidfd (old kernel) the engine still polls at deadlines.
        let pidfd = pidfd_open(child.id()).ok();
        if let (Some(fd), Some(registry)) = (&pidfd, &self.registry) {
            registry.register(
                &mut SourceFd(&fd.as_raw_fd()),
                Token(key),
                Interest::READABLE,
            )?;
        }
        self.next += 1;
        self.runs.insert(self.next, (child, pidfd));
        Ok(self.next)
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
    fn spawn(&mut self, cmd: &ScriptCommand, key: usize) -> io::Result<ScriptHandle> {
        if cmd.by_parent || cmd.call.args != ScriptArgs::None {
            return Err(io::Error::other("not a script this runner can start"));
        }
        let argv = self
            .table
            .get(&cmd.call.script)
            .cloned()
            .ok_or_else(|| io::Error::other(format!("{} is not defined", cmd.call.script)))?;
        self.spawn_argv(&argv, key)
    }

    fn try_wait(&mut self, h: ScriptHandle) -> Option<ScriptExit> {
        let (child, _) = self.runs.get_mut(&h)?;
        let st = match child.try_wait() {
            Ok(Some(st)) => st,
            Ok(None) => return None,
            Err(_) => std::process::ExitStatus::from_raw(libc::SIGKILL),
        };
        if let (Some((_, Some(fd))), Some(registry)) = (self.runs.remove(&h), &self.registry) {
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
    fn only_defined_scripts_without_arguments_run_here() {
        let mut r = LocalRunner::new();
        let cmd = ScriptCommand::local(ScriptId(7));
        assert!(r.spawn(&cmd, 1).is_err(), "undefined");
        r.define(ScriptId(7), "/bin/true");
        let other = ScriptArgs::Group {
            id: keepalived_types::GroupId(1),
            state: keepalived_types::VrrpState::Master,
        };
        assert!(r.spawn(&cmd.with(other), 1).is_err());
        let h = r.spawn(&cmd, 1).unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(e) = r.try_wait(h) {
                assert_eq!(e, ScriptExit::Exited(0));
                break;
            }
            assert!(std::time::Instant::now() < until, "/bin/true did not end");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
