//! Notify scripts: VRRP state changes (as keepalived: `notify_master`,
//! `notify_backup`, `notify_fault`, `notify_stop`, and `notify` with
//! `INSTANCE|GROUP name state priority`) and real servers going up or down
//! (`notify_up` / `notify_down`). They run through the launcher; their end
//! is logged, nobody waits for it.

use crate::launcher::Launcher;
use keepalived_check::plan::{CheckPlan, ServerPlan, StatePlan, VsPlan};
use keepalived_check::{ScriptArgs, ScriptCommand, ScriptExit};
use keepalived_ipc::{GroupId, InstanceId, VrrpState};
use log::{info, warn};

/// Notify scripts running at once; more wait, in order, in a queue.
const MAX_RUNNING: usize = 32;
/// Notify scripts waiting to start; beyond, they are dropped and counted
/// (a flapping link must not become a fork storm, nor a memory one).
const MAX_QUEUED: usize = 1024;

#[derive(Default)]
pub struct Notifier {
    /// Notify scripts running, with what they are for the log (FIFO
    /// scripts, which run for ever, are not counted against the limit).
    pending: Vec<(u64, String)>,
    queued: std::collections::VecDeque<(ScriptCommand, String)>,
    started: u64,
    pub dropped: u64,
}

impl Notifier {
    fn run(&mut self, cmd: ScriptCommand, what: String, launcher: Option<&Launcher>) {
        let Some(l) = launcher else { return };
        if self.pending.len() >= MAX_RUNNING || !self.queued.is_empty() {
            if self.queued.len() >= MAX_QUEUED {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    warn!(
                        "{} notify scripts dropped: {MAX_RUNNING} running and {MAX_QUEUED} waiting",
                        self.dropped
                    );
                }
            } else {
                self.queued.push_back((cmd, what));
            }
            return;
        }
        self.fire(cmd, what, l);
    }

    fn fire(&mut self, cmd: ScriptCommand, what: String, l: &Launcher) {
        match l.fire(&cmd) {
            Ok(id) => {
                self.started += 1;
                self.pending.push((id, what));
            }
            Err(e) => warn!("cannot start {what}: {e}"),
        }
    }

    pub fn vrrp(
        &mut self,
        plan: &CheckPlan,
        id: InstanceId,
        state: VrrpState,
        priority: u8,
        launcher: Option<&Launcher>,
    ) {
        let Some(inst) = plan.instances.iter().find(|i| i.id == id) else {
            return;
        };
        let args = ScriptArgs::Instance {
            id,
            state,
            priority,
        };
        self.state_scripts(inst, state, args, launcher);
    }

    /// A master heard a lower priority: `notify_master_rx_lower_pri`, run
    /// as configured (keepalived gives it no arguments).
    pub fn rx_lower_pri(&mut self, plan: &CheckPlan, id: InstanceId, launcher: Option<&Launcher>) {
        let inst = plan.instances.iter().find(|i| i.id == id);
        if let Some((cmd, name)) = inst.and_then(|i| i.rx_lower_pri.map(|c| (c, &i.name))) {
            self.run(
                cmd,
                format!("({name}) notify_master_rx_lower_pri"),
                launcher,
            );
        }
    }

    /// A sync group's notify scripts (`notify` gets `GROUP name state 0`).
    pub fn group(
        &mut self,
        plan: &CheckPlan,
        id: GroupId,
        state: VrrpState,
        launcher: Option<&Launcher>,
    ) {
        let Some(sg) = plan.groups.iter().find(|g| g.id == id) else {
            return;
        };
        self.state_scripts(sg, state, ScriptArgs::Group { id, state }, launcher);
    }

    /// The state's own script, then `notify` with keepalived's four
    /// arguments (`INSTANCE|GROUP name state priority`).
    fn state_scripts<I>(
        &mut self,
        p: &StatePlan<I>,
        state: VrrpState,
        args: ScriptArgs,
        launcher: Option<&Launcher>,
    ) {
        if let Some(cmd) = p.for_state(state) {
            let what = format!("({}) notify_{}", p.name, state.as_str().to_lowercase());
            self.run(cmd, what, launcher);
        }
        if let (
            Some(cmd),
            VrrpState::Master
            | VrrpState::Backup
            | VrrpState::Fault
            | VrrpState::Stop
            | VrrpState::Deleted,
        ) = (p.notify, state)
        {
            self.run(cmd.with(args), format!("({}) notify", p.name), launcher);
        }
    }

    pub fn real_server(&mut self, s: &ServerPlan, up: bool, launcher: Option<&Launcher>) {
        let (cmd, kw) = if up {
            (s.notify_up, "notify_up")
        } else {
            (s.notify_down, "notify_down")
        };
        if let Some(cmd) = cmd {
            self.run(cmd, format!("{kw} of {} of {}", s.rk, s.vk), launcher);
        }
    }

    /// Start the `*_notify_fifo_script`s, each with its FIFO's path as last
    /// argument (the parent writes the FIFOs). They run until checkerd
    /// stops, when the launcher ends them.
    pub fn fifo_scripts(&mut self, plan: &CheckPlan, launcher: Option<&Launcher>) {
        for f in &plan.fifo_scripts {
            info!("Starting {} for {}", f.keyword, f.path);
            // Runs for ever: not one of the MAX_RUNNING.
            if let Some(l) = launcher {
                if let Err(e) = l.fire(&f.script) {
                    warn!("cannot start {}: {e}", f.keyword);
                }
                self.started += 1;
            }
        }
    }

    /// `quorum_up` / `quorum_down` of a virtual server.
    pub fn quorum(&mut self, vs: &VsPlan, up: bool, launcher: Option<&Launcher>) {
        let (cmd, kw) = if up {
            (vs.quorum_up, "quorum_up")
        } else {
            (vs.quorum_down, "quorum_down")
        };
        if let Some(cmd) = cmd {
            self.run(cmd, format!("{kw} of {}", vs.key), launcher);
        }
    }

    /// Log the ends of notify scripts.
    pub fn reap(&mut self, launcher: &Launcher) {
        self.pending
            .retain(|(id, what)| match launcher.take_exit(*id) {
                Some(ScriptExit::Exited(0)) => false,
                Some(ScriptExit::Exited(c)) => {
                    info!("Script {what} exited with status {c}");
                    false
                }
                Some(ScriptExit::Signaled(s)) => {
                    warn!("Script {what} was killed by signal {s}");
                    false
                }
                None => true,
            });
        while self.pending.len() < MAX_RUNNING {
            let Some((cmd, what)) = self.queued.pop_front() else {
                break;
            };
            self.fire(cmd, what, launcher);
        }
    }

    pub fn started(&self) -> u64 {
        self.started
    }
}
