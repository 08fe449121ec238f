//! Notify scripts: VRRP state changes (as keepalived: `notify_master`,
//! `notify_backup`, `notify_fault`, `notify_stop`, and `notify` with
//! `INSTANCE|GROUP name state priority`) and real servers going up or down
//! (`notify_up` / `notify_down`). They run through the launcher; their end
//! is logged, nobody waits for it.

use crate::launcher::Launcher;
use keepalived_check::{ScriptCommand, ScriptExit};
use keepalived_config::Config;
use keepalived_ipc::VrrpState;
use log::{info, warn};

/// The notify scripts of an instance or a sync group.
struct StateScripts<'a> {
    master: &'a Option<String>,
    backup: &'a Option<String>,
    fault: &'a Option<String>,
    stop: &'a Option<String>,
    notify: &'a Option<String>,
}

/// Notify scripts running at once; more wait, in order, in a queue.
const MAX_RUNNING: usize = 32;
/// Notify scripts waiting to start; beyond, they are dropped and counted
/// (a flapping link must not become a fork storm, nor a memory one).
const MAX_QUEUED: usize = 1024;

#[derive(Default)]
pub struct Notifier {
    /// Notify scripts running (FIFO scripts, which run for ever, are not
    /// counted against the limit).
    pending: Vec<(u64, String)>,
    queued: std::collections::VecDeque<ScriptCommand>,
    started: u64,
    pub dropped: u64,
}

impl Notifier {
    fn command(config: &Config, line: &str, extra: &[String]) -> ScriptCommand {
        let mut cmd = ScriptCommand::parse(line);
        let who = config.script_users.get(line).map(String::as_str);
        crate::specs::run_as(config, who, &mut cmd);
        cmd.argv.extend(extra.iter().cloned());
        cmd
    }

    fn run(&mut self, config: &Config, line: &str, extra: &[String], launcher: Option<&Launcher>) {
        let Some(l) = launcher else { return };
        let cmd = Self::command(config, line, extra);
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
                self.queued.push_back(cmd);
            }
            return;
        }
        self.fire(cmd, l);
    }

    fn fire(&mut self, cmd: ScriptCommand, l: &Launcher) {
        match l.fire(&cmd) {
            Ok(id) => {
                self.started += 1;
                self.pending.push((id, cmd.argv.join(" ")));
            }
            Err(e) => warn!("cannot start notify script {}: {e}", cmd.argv.join(" ")),
        }
    }

    pub fn vrrp(
        &mut self,
        config: &Config,
        instance: &str,
        state: VrrpState,
        priority: u8,
        launcher: Option<&Launcher>,
    ) {
        let Some(inst) = config.vrrp_instances.iter().find(|i| i.name == instance) else {
            return;
        };
        let scripts = StateScripts {
            master: &inst.notify_master,
            backup: &inst.notify_backup,
            fault: &inst.notify_fault,
            stop: &inst.notify_stop,
            notify: &inst.notify,
        };
        self.state_scripts(
            config, &scripts, "INSTANCE", instance, state, priority, launcher,
        );
    }

    /// The state's own script, then `notify` with keepalived's four
    /// arguments (`INSTANCE|GROUP name state priority`).
    #[allow(clippy::too_many_arguments)]
    fn state_scripts(
        &mut self,
        config: &Config,
        scripts: &StateScripts,
        kind: &str,
        name: &str,
        state: VrrpState,
        priority: u8,
        launcher: Option<&Launcher>,
    ) {
        let specific = match state {
            VrrpState::Master => scripts.master,
            VrrpState::Backup => scripts.backup,
            VrrpState::Fault => scripts.fault,
            VrrpState::Stop => scripts.stop,
            VrrpState::Init => &None,
        };
        if let Some(line) = specific.clone() {
            self.run(config, &line, &[], launcher);
        }
        if let Some(line) = scripts.notify.clone() {
            let args = [
                kind.to_string(),
                name.to_string(),
                state.as_str().to_string(),
                priority.to_string(),
            ];
            self.run(config, &line, &args, launcher);
        }
    }

    pub fn real_server(
        &mut self,
        config: &Config,
        vs: &str,
        rs: &str,
        up: bool,
        launcher: Option<&Launcher>,
    ) {
        // Called for every report: look at keys only where a script is
        // configured (10,000 real servers, none with a script, must cost
        // nothing).
        fn wanted(r: &keepalived_config::RealServer, up: bool) -> Option<&String> {
            if up {
                r.notify_up.as_ref()
            } else {
                r.notify_down.as_ref()
            }
        }
        for v in &config.virtual_servers {
            if !v.real_servers.iter().any(|r| wanted(r, up).is_some()) || v.key() != vs {
                continue;
            }
            for r in &v.real_servers {
                if let Some(line) = wanted(r, up) {
                    if r.key(v) == rs {
                        let line = line.clone();
                        self.run(config, &line, &[], launcher);
                    }
                }
            }
        }
    }

    /// Start the `*_notify_fifo_script`s, each with its FIFO's path as last
    /// argument (the parent writes the FIFOs). They run until checkerd
    /// stops, when the launcher ends them.
    pub fn fifo_scripts(&mut self, config: &Config, launcher: Option<&Launcher>) {
        for f in config.global_defs.fifo_scripts() {
            match (&f.script, &f.fifo) {
                (Some(line), Some(path)) => {
                    info!("Starting {} {line} for {path}", f.keyword);
                    // Runs for ever: not one of the MAX_RUNNING.
                    if let Some(l) = launcher {
                        let cmd = Self::command(config, line, std::slice::from_ref(path));
                        if let Err(e) = l.fire(&cmd) {
                            warn!("cannot start {} {line}: {e}", f.keyword);
                        }
                        self.started += 1;
                    }
                }
                (Some(_), None) => warn!("{} without its FIFO: not started", f.keyword),
                _ => {}
            }
        }
    }

    /// A sync group's notify scripts (`notify` gets `GROUP name state 0`).
    pub fn group(
        &mut self,
        config: &Config,
        group: &str,
        state: VrrpState,
        launcher: Option<&Launcher>,
    ) {
        let Some(sg) = config.vrrp_sync_groups.iter().find(|s| s.name == group) else {
            return;
        };
        let scripts = StateScripts {
            master: &sg.notify_master,
            backup: &sg.notify_backup,
            fault: &sg.notify_fault,
            stop: &sg.notify_stop,
            notify: &sg.notify,
        };
        self.state_scripts(config, &scripts, "GROUP", group, state, 0, launcher);
    }

    /// `quorum_up` / `quorum_down` of a virtual server.
    pub fn quorum(&mut self, config: &Config, vs: &str, up: bool, launcher: Option<&Launcher>) {
        for v in config.virtual_servers.iter().filter(|v| v.key() == vs) {
            let line = if up { &v.quorum_up } else { &v.quorum_down };
            if let Some(line) = line.clone() {
                self.run(config, &line, &[], launcher);
            }
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
            let Some(cmd) = self.queued.pop_front() else {
                break;
            };
            self.fire(cmd, launcher);
        }
    }

    pub fn started(&self) -> u64 {
        self.started
    }
}

/// keepalived runs scripts as root when no `script_user` is set; here they
/// run as checkerd's unprivileged user. Say so for each, once, at load.
pub fn warn_root_scripts(config: &Config) {
    if config.global_defs.script_user.is_some() {
        return;
    }
    let mut lines: Vec<(String, String)> = Vec::new();
    for s in &config.vrrp_scripts {
        if s.user.is_none() {
            lines.push((format!("vrrp_script {}", s.name), s.script.clone()));
        }
    }
    for i in &config.vrrp_instances {
        for (k, v) in [
            ("notify_master", &i.notify_master),
            ("notify_backup", &i.notify_backup),
            ("notify_fault", &i.notify_fault),
            ("notify_stop", &i.notify_stop),
            ("notify", &i.notify),
        ] {
            if let Some(v) = v {
                lines.push((format!("({}) {k}", i.name), v.clone()));
            }
        }
    }
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if let (Some(p), None) = (&c.misc_path, &c.user) {
                    lines.push((format!("MISC_CHECK of {}", rs.key(vs)), p.clone()));
                }
            }
        }
    }
    let me = keepalived_ipc::Subsystem::Checker;
    for (what, script) in lines {
        warn!(
            "{what}: keepalived would run '{script}' as root; keepalived-rs runs it as {me}'s unprivileged user \
             without capabilities. If it really needs root, 'script_user root' in global_defs is the escape \
             hatch (scripts of another user are started by the parent, which checks them against the configuration); \
             to track a process, 'vrrp_track_process' needs no script at all"
        );
    }
}
