//! Scripts that must run as another user than checkerd's (`script_user
//! root`, `user` on a vrrp_script or MISC_CHECK): only the parent can change
//! identity, so checkerd asks it. A request is untrusted input: the parent
//! starts only a script line the configuration has for exactly that user,
//! with at most keepalived's extra arguments (notify: type, name, state,
//! priority), and never more than a handful at once.

use keepalived_ipc::script_allow::Allowlist;
use keepalived_ipc::{ScriptEnd, ScriptRequest};
use log::{debug, error};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Scripts of other users running at once.
const MAX_RUNNING: usize = 64;

#[derive(Default)]
pub struct UserScripts {
    /// checkerd's own user (its scripts run in its launcher, not here).
    runner: (u32, u32),
    /// Running scripts: pid → checkerd's id.
    running: HashMap<i32, u64>,
    pub started: u64,
    pub refused: u64,
}

pub use keepalived_ipc::script_allow::resolve;

impl UserScripts {
    pub fn new(runner: (u32, u32)) -> UserScripts {
        UserScripts {
            runner,
            ..Default::default()
        }
    }

    /// `allowed`: the scripts of the configuration checkerd runs.
    fn permitted(&self, r: &ScriptRequest, allowed: &Allowlist) -> Result<(), String> {
        if self.running.len() >= MAX_RUNNING {
            return Err(format!("{MAX_RUNNING} scripts already running"));
        }
        if self.running.values().any(|&id| id == r.id) {
            return Err(format!("script id {} is already running", r.id));
        }
        // checkerd's own user's scripts run in its launcher, not here.
        if (r.uid, r.gid) != self.runner && allowed.permits(&r.argv, r.uid, r.gid) {
            Ok(())
        } else {
            Err("not a script the configuration runs as that user".into())
        }
    }

    /// Start a requested script, or say why not (the caller tells checkerd
    /// it ended as `Refused`).
    pub fn start(&mut self, r: &ScriptRequest, allowed: &Allowlist) -> Result<(), String> {
        if let Err(e) = self.permitted(r, allowed) {
            self.refused += 1;
            let mut what = format!("{:?}", r.argv);
            what.truncate(200);
            error!(
                "checkerd asked to run {what} as uid {}:{}: refused ({e})",
                r.uid, r.gid
            );
            return Err(e);
        }
        let mut cmd = Command::new(&r.argv[0]);
        cmd.args(&r.argv[1..])
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .process_group(0)
            .uid(r.uid)
            .gid(r.gid);
        match cmd.spawn() {
            Ok(child) => {
                // The supervisor's waitpid reaps it; the handle is not kept.
                self.running.insert(child.id() as i32, r.id);
                self.started += 1;
                debug!(
                    "Started script {:?} as uid {}:{} (pid {})",
                    r.argv,
                    r.uid,
                    r.gid,
                    child.id()
                );
                Ok(())
            }
            Err(e) => {
                error!("cannot run script {:?} as uid {}: {e}", r.argv, r.uid);
                Err(e.to_string())
            }
        }
    }

    /// TERM or KILL one of our scripts' process group (its timeout).
    pub fn signal(&self, id: u64, sig: i32) {
        let Ok(sig @ (Signal::SIGTERM | Signal::SIGKILL)) = Signal::try_from(sig) else {
            return;
        };
        if let Some((&pid, _)) = self.running.iter().find(|(_, &i)| i == id) {
            let _ = killpg(Pid::from_raw(pid), sig);
        }
    }

    /// A reaped process: checkerd's id and how it ended, if it was ours.
    pub fn reaped(&mut self, status: WaitStatus) -> Option<(u64, ScriptEnd)> {
        let (pid, end) = match status {
            WaitStatus::Exited(p, c) => (p, ScriptEnd::Exited(c)),
            WaitStatus::Signaled(p, s, _) => (p, ScriptEnd::Signaled(s as i32)),
            _ => return None,
        };
        self.running.remove(&pid.as_raw()).map(|id| (id, end))
    }

    /// checkerd died: nobody owns these runs any more (its successor counts
    /// ids from 1 again), so they are killed and forgotten.
    pub fn checker_gone(&mut self) {
        for &pid in self.running.keys() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        self.running.clear();
    }

    /// Stop: our scripts get TERM.
    pub fn terminate_all(&self) {
        for &pid in self.running.keys() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::Config;

    /// The parent's starter with the allowlist of `config`.
    struct With(UserScripts, Allowlist);

    impl With {
        fn new(config: &Config, runner: (u32, u32)) -> With {
            With(UserScripts::new(runner), Allowlist::of(config, runner))
        }
        fn permitted(&self, r: &ScriptRequest) -> Result<(), String> {
            self.0.permitted(r, &self.1)
        }
    }

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        std::fs::write(&p, text).unwrap();
        keepalived_config::load_file(&p, &Default::default())
            .unwrap()
            .config
    }

    fn req(argv: &[&str], uid: u32) -> ScriptRequest {
        ScriptRequest {
            id: 1,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            uid,
            gid: 0,
        }
    }

    #[test]
    fn only_configured_lines_for_their_user() {
        let c = config(
            "global_defs {\n script_user root\n}\n\
             vrrp_script chk {\n script \"/bin/true --x\"\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n notify \"/usr/bin/logger -t ka\"\n}\n",
        );
        let s = With::new(&c, (65534, 65534));
        assert_eq!(s.permitted(&req(&["/bin/true", "--x"], 0)), Ok(()));
        // keepalived's notify arguments may follow.
        assert_eq!(
            s.permitted(&req(
                &[
                    "/usr/bin/logger",
                    "-t",
                    "ka",
                    "INSTANCE",
                    "VI_1",
                    "MASTER",
                    "100"
                ],
                0
            ),),
            Ok(())
        );
        // Anything else is refused: another program, another user, too
        // many arguments, a changed argument.
        assert!(s.permitted(&req(&["/bin/sh", "-c", "id"], 0)).is_err());
        assert!(s.permitted(&req(&["/bin/true", "--x"], 1000)).is_err());
        assert!(s
            .permitted(&req(&["/bin/true", "--x", "1", "2", "3", "4", "5"], 0))
            .is_err());
        assert!(s.permitted(&req(&["/bin/true", "--y"], 0)).is_err());
        // A track script takes no argument at all, and notify takes exactly
        // keepalived's four, naming a configured instance.
        assert!(s
            .permitted(&req(&["/bin/true", "--x", "-o", "/etc/cron.d/x"], 0))
            .is_err());
        for bad in [
            ["INSTANCE", "VI_9", "MASTER", "100"],
            ["INSTANCE", "VI_1", "PWNED", "100"],
            ["INSTANCE", "VI_1", "MASTER", "-f"],
            ["-f", "/etc/shadow", "MASTER", "100"],
        ] {
            let mut argv = vec!["/usr/bin/logger", "-t", "ka"];
            argv.extend(bad);
            assert!(s.permitted(&req(&argv, 0)).is_err(), "{bad:?}");
        }
        assert!(s.permitted(&req(&[], 0)).is_err());
    }

    #[test]
    fn scripts_of_checkerds_own_user_are_not_the_parents() {
        let c = config("vrrp_script chk {\n script /bin/true\n user nobody\n}\n");
        let nobody = resolve("nobody", None).unwrap();
        let s = With::new(&c, nobody);
        assert!(s.permitted(&req(&["/bin/true"], nobody.0)).is_err());
    }
}
