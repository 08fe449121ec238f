//! `startup_script` / `shutdown_script` (global_defs): the parent runs the
//! first before any child starts and the second after the last one
//! stopped, and waits for each (keepalived 2.2.7, core/main.c): at most
//! its timeout (10 s unless `*_script_timeout` says otherwise), then
//! SIGTERM to its process group, SIGKILL 2 s later, and the suite goes on
//! 2 s after that whatever happened. The script runs as its own user, else
//! `script_user`, else checkerd's unprivileged user, as every other script.

use keepalived_config::{script_line, Config};
use keepalived_ipc::script_allow::{identity, Users};
use log::{error, info, warn};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// keepalived's grace after each signal.
const GRACE: Duration = Duration::from_secs(2);

pub struct HookScript {
    /// "startup" or "shutdown".
    pub kind: &'static str,
    pid: Pid,
    deadline: Instant,
    /// Signals sent so far (0: none, 1: TERM, 2: KILL, 3: given up).
    stage: u8,
}

impl HookScript {
    /// Start `kind`'s script of `config`, if it has one (and it can run).
    pub fn start(
        config: &Config,
        kind: &'static str,
        runner: (u32, u32),
        now: Instant,
    ) -> Option<HookScript> {
        let g = &config.global_defs;
        let (line, timeout) = match kind {
            "startup" => (g.startup_script.as_deref()?, g.startup_script_timeout),
            _ => (g.shutdown_script.as_deref()?, g.shutdown_script_timeout),
        };
        let argv = script_line::split(line);
        if argv.is_empty() {
            return None;
        }
        let Some((uid, gid)) = identity(config, line, None, runner, &mut Users::default()) else {
            warn!("Call of {kind} script {} failed: no such user", argv[0]);
            return None;
        };
        info!("Running {kind} script {}", argv[0]);
        let spawned = crate::user_scripts::command(&argv, uid, gid).spawn();
        match spawned {
            // The supervisor's waitpid reaps it.
            Ok(child) => Some(HookScript {
                kind,
                pid: Pid::from_raw(child.id() as i32),
                deadline: now + Duration::from_secs(u64::from(timeout.unwrap_or(10))),
                stage: 0,
            }),
            Err(e) => {
                error!("Call of {kind} script {} failed: {e}", argv[0]);
                None
            }
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The deadline passed: escalate. `true` when waiting is over (the
    /// script would not die: the suite goes on without it).
    pub fn expired(&mut self, now: Instant) -> bool {
        let kind = self.kind;
        match self.stage {
            0 => {
                info!("{kind} script timed out");
                let _ = killpg(self.pid, Signal::SIGTERM);
            }
            1 => {
                let _ = killpg(self.pid, Signal::SIGKILL);
            }
            _ => {
                warn!(
                    "{kind} script (PID {}) failed to terminate after kill",
                    self.pid
                );
                return true;
            }
        }
        self.stage += 1;
        self.deadline = now + GRACE;
        false
    }

    /// Whether `status` is this script's end (logged as keepalived does).
    pub fn reaped(&self, status: &WaitStatus) -> bool {
        if status.pid() != Some(self.pid) {
            return false;
        }
        let kind = self.kind;
        match *status {
            WaitStatus::Exited(_, 0) => info!("{kind} script succeeded"),
            WaitStatus::Exited(_, c) => info!("{kind} script script failed, status {c}"),
            WaitStatus::Signaled(_, s, _) => {
                info!("{kind} script script failed, signal {s}");
                // Whatever it started goes too.
                let _ = killpg(self.pid, Signal::SIGKILL);
            }
            _ => {}
        }
        true
    }

    /// Stop waiting now (the suite is stopping before the startup script
    /// finished): its process group is killed.
    pub fn abandon(self) {
        let _ = killpg(self.pid, Signal::SIGKILL);
    }
}
