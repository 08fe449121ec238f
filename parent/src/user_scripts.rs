//! Scripts that must run as another user than checkerd's (`script_user
//! root`, `user` on a vrrp_script or MISC_CHECK): only the parent can change
//! identity, so checkerd asks it. A request is untrusted input naming a
//! script by id with typed arguments: the parent builds the command line
//! from its own allowlist (keepalived's extra arguments for that kind of
//! line only: notify's type, name, state, priority), runs it as the user
//! the configuration says, never as checkerd's, and never more than a
//! handful at once.

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

/// How the parent starts a script: `argv` as `uid:gid`, in its own process
/// group (killed whole at a timeout), with a bare environment, no standard
/// streams, from `/`.
pub fn command(argv: &[String], uid: u32, gid: u32) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
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
        .uid(uid)
        .gid(gid);
    cmd
}

/// A request made into a command line by the allowlist.
struct Resolved {
    id: u64,
    argv: Vec<String>,
    uid: u32,
    gid: u32,
}

impl UserScripts {
    pub fn new(runner: (u32, u32)) -> UserScripts {
        UserScripts {
            runner,
            ..Default::default()
        }
    }

    /// The command line and identity of request `r`, if the parent may run
    /// it: `allowed` holds the scripts of the configuration checkerd runs.
    /// `allowed`: the lists to look in, newest first (a reload's notify for
    /// an instance it removed names the instance only the older has).
    fn permitted(
        &self,
        r: &ScriptRequest,
        allowed: &[&Allowlist],
    ) -> Result<(Vec<String>, u32, u32), String> {
        if self.running.len() >= MAX_RUNNING {
            return Err(format!("{MAX_RUNNING} scripts already running"));
        }
        if self.running.values().any(|&id| id == r.id) {
            return Err(format!("script id {} is already running", r.id));
        }
        let mut found = Err("no allowlist".to_string());
        for list in allowed {
            found = list.command(&r.call);
            if found.is_ok() {
                break;
            }
        }
        let (argv, uid, gid) = found?;
        // checkerd's own user's scripts run in its launcher, not here.
        if (uid, gid) == self.runner {
            return Err("checkerd runs that script itself".into());
        }
        Ok((argv, uid, gid))
    }

    /// Start a requested script, or say why not (the caller tells checkerd
    /// it ended as `Refused`).
    pub fn start(&mut self, r: &ScriptRequest, allowed: &[&Allowlist]) -> Result<(), String> {
        let (argv, uid, gid) = match self.permitted(r, allowed) {
            Ok(x) => x,
            Err(e) => {
                self.refused += 1;
                let mut what = format!("{:?}", r.call);
                what.truncate(200);
                error!("checkerd asked to run {what}: refused ({e})");
                return Err(e);
            }
        };
        let r = Resolved {
            id: r.id,
            argv,
            uid,
            gid,
        };
        match command(&r.argv, r.uid, r.gid).spawn() {
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
    use keepalived_ipc::script_allow::Extras;
    use keepalived_ipc::{Ids, ScriptArgs, ScriptCall, ScriptId, VrrpState};

    /// The parent's starter with the allowlist of `config`.
    struct With(UserScripts, Allowlist, Ids);

    impl With {
        fn new(config: Config, runner: (u32, u32)) -> With {
            let mut next = 0;
            let ids = Ids::assign(&config.object_keys(), &Ids::default(), &mut next);
            let list = Allowlist::of(&config, &ids, runner, &Allowlist::default(), &mut next);
            With(UserScripts::new(runner), list, ids)
        }
        fn permitted(&self, script: ScriptId, args: ScriptArgs) -> Result<Vec<String>, String> {
            let r = ScriptRequest {
                id: 1,
                call: ScriptCall { script, args },
            };
            self.0.permitted(&r, &[&self.1]).map(|(argv, ..)| argv)
        }
        fn id(&self, line: &str, extras: Extras) -> ScriptId {
            self.1.find(line, None, extras).unwrap().id
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

    #[test]
    fn only_configured_scripts_with_keepalived_arguments() {
        let c = config(
            "global_defs {\n script_user root\n}\n\
             vrrp_script chk {\n script \"/bin/true --x\"\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n notify \"/usr/bin/logger -t ka\"\n}\n",
        );
        let s = With::new(c, (65534, 65534));
        let chk = s.id("/bin/true --x", Extras::None);
        assert_eq!(
            s.permitted(chk, ScriptArgs::None),
            Ok(vec!["/bin/true".to_string(), "--x".into()])
        );
        let notify = s.id("/usr/bin/logger -t ka", Extras::Notify);
        let vi = s.2.instance("VI_1").unwrap();
        let master = ScriptArgs::Instance {
            id: vi,
            state: VrrpState::Master,
            priority: 100,
        };
        assert_eq!(
            s.permitted(notify, master).unwrap().join(" "),
            "/usr/bin/logger -t ka INSTANCE VI_1 MASTER 100"
        );
        // Anything else is refused: an unknown id, arguments a line does
        // not take, a missing one, an unknown instance.
        assert!(s.permitted(ScriptId(9999), ScriptArgs::None).is_err());
        assert!(s.permitted(chk, master).is_err());
        assert!(s.permitted(notify, ScriptArgs::None).is_err());
        let unknown = ScriptArgs::Instance {
            id: keepalived_ipc::InstanceId(vi.0 + 50),
            state: VrrpState::Master,
            priority: 100,
        };
        assert!(s.permitted(notify, unknown).is_err());
    }

    #[test]
    fn scripts_of_checkerds_own_user_are_not_the_parents() {
        let c = config("vrrp_script chk {\n script /bin/true\n user nobody\n}\n");
        let nobody = resolve("nobody", None).unwrap();
        let s = With::new(c, nobody);
        // Looked up as the configuration writes it: with its own user.
        let chk =
            s.1.find("/bin/true", Some("nobody"), Extras::None)
                .unwrap()
                .id;
        assert!(s.permitted(chk, ScriptArgs::None).is_err());
    }
}
