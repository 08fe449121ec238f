//! Scripts that must run as another user than checkerd's (`script_user
//! root`, `user` on a vrrp_script or MISC_CHECK): only the parent can change
//! identity, so checkerd asks it. A request is untrusted input: the parent
//! starts only a script line the configuration has for exactly that user,
//! with at most keepalived's extra arguments (notify: type, name, state,
//! priority), and never more than a handful at once.

use keepalived_config::{script_line, Config};
use keepalived_ipc::{ScriptEnd, ScriptRequest};
use log::{debug, error};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, User};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Scripts of other users running at once.
const MAX_RUNNING: usize = 64;

/// The arguments keepalived adds to a script line, and so the only ones
/// checkerd may add.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Extras {
    /// Track scripts, MISC_CHECK, notify_master and the like: none.
    None,
    /// `notify`: `INSTANCE|GROUP name state priority`, with a configured
    /// instance or group name.
    Notify,
    /// A FIFO script: the configured FIFO's path.
    Path(String),
}

/// A script line allowed to run as uid:gid.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Allowed {
    argv: Vec<String>,
    uid: u32,
    gid: u32,
    extras: Extras,
}

#[derive(Default)]
pub struct UserScripts {
    allowed: Vec<Allowed>,
    /// Running scripts: pid → checkerd's id.
    running: HashMap<i32, u64>,
    pub started: u64,
    pub refused: u64,
}

/// uid:gid of a user name (and optional group name).
pub fn resolve(user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    let u = User::from_name(user).ok().flatten()?;
    let gid = match group {
        Some(g) => nix::unistd::Group::from_name(g).ok().flatten()?.gid,
        None => u.gid,
    };
    Some((u.uid.as_raw(), gid.as_raw()))
}

/// `user NAME [GROUP]` as written: Some(None) when given but unknown.
fn user_of(spec: Option<&str>) -> Option<Option<(u32, u32)>> {
    let spec = spec?;
    let mut w = spec.split_whitespace();
    Some(w.next().and_then(|u| resolve(u, w.next())))
}

/// Every script line of `config` with the user it runs as, when that is
/// not `runner` (checkerd's own user): what checkerd may ask for.
fn allowed(config: &Config, runner: (u32, u32)) -> Vec<Allowed> {
    let g = &config.global_defs;
    let default = g
        .script_user
        .as_deref()
        .and_then(|u| resolve(u, g.script_group.as_deref()));
    let mut out = Vec::new();
    // `who`: None = the default user; Some(None) = a user that does not
    // exist, so never run (keepalived ignores such a script). A notify
    // script may name its user after it (`Config::script_users`).
    let mut add = |line: &str, who: Option<Option<(u32, u32)>>, extras: Extras| {
        let who = who.or_else(|| user_of(config.script_users.get(line).map(String::as_str)));
        let id = match who {
            Some(Some(id)) => id,
            Some(None) => return,
            None => match default {
                Some(id) => id,
                None => return,
            },
        };
        if id != runner {
            out.push(Allowed {
                argv: script_line::split(line),
                uid: id.0,
                gid: id.1,
                extras,
            });
        }
    };
    for s in &config.vrrp_scripts {
        let who = s.user.as_ref().map(|u| match &s.group {
            Some(gr) => format!("{u} {gr}"),
            None => u.clone(),
        });
        add(&s.script, user_of(who.as_deref()), Extras::None);
    }
    let states = |n: [&Option<String>; 5]| n.into_iter().flatten().cloned().collect::<Vec<_>>();
    for i in &config.vrrp_instances {
        for l in states([
            &i.notify_master,
            &i.notify_backup,
            &i.notify_fault,
            &i.notify_stop,
            &i.notify_master_rx_lower_pri,
        ]) {
            add(&l, None, Extras::None);
        }
        if let Some(l) = &i.notify {
            add(l, None, Extras::Notify);
        }
    }
    for sg in &config.vrrp_sync_groups {
        for l in states([
            &sg.notify_master,
            &sg.notify_backup,
            &sg.notify_fault,
            &sg.notify_stop,
            &None,
        ]) {
            add(&l, None, Extras::None);
        }
        if let Some(l) = &sg.notify {
            add(l, None, Extras::Notify);
        }
    }
    for vs in &config.virtual_servers {
        for l in [&vs.quorum_up, &vs.quorum_down].into_iter().flatten() {
            add(l, None, Extras::None);
        }
        for rs in &vs.real_servers {
            for l in [&rs.notify_up, &rs.notify_down].into_iter().flatten() {
                add(l, None, Extras::None);
            }
            for c in &rs.checkers {
                if let Some(p) = &c.misc_path {
                    add(p, user_of(c.user.as_deref()), Extras::None);
                }
            }
        }
    }
    for f in g.fifo_scripts() {
        if let (Some(line), Some(path)) = (&f.script, f.fifo) {
            add(line, None, Extras::Path(path));
        }
    }
    out
}

/// Whether `extra` is what keepalived adds for `kind` of line.
fn extras_fit(kind: &Extras, extra: &[String], config: &Config) -> bool {
    match kind {
        Extras::None => extra.is_empty(),
        Extras::Path(p) => extra.len() == 1 && &extra[0] == p,
        Extras::Notify => {
            let [what, name, state, prio] = extra else {
                return false;
            };
            let named = match what.as_str() {
                "INSTANCE" => config.vrrp_instances.iter().any(|i| &i.name == name),
                "GROUP" => config.vrrp_sync_groups.iter().any(|g| &g.name == name),
                _ => false,
            };
            named
                && matches!(state.as_str(), "MASTER" | "BACKUP" | "FAULT" | "STOP")
                && prio.parse::<u8>().is_ok()
        }
    }
}

impl UserScripts {
    pub fn new(config: &Config, runner: (u32, u32)) -> UserScripts {
        UserScripts {
            allowed: allowed(config, runner),
            ..Default::default()
        }
    }

    /// A reloaded configuration: running scripts keep running.
    pub fn reconfigure(&mut self, config: &Config, runner: (u32, u32)) {
        self.allowed = allowed(config, runner);
    }

    /// `config`: the running one (instance and group names for notify).
    fn permitted(&self, r: &ScriptRequest, config: &Config) -> Result<(), String> {
        if self.running.len() >= MAX_RUNNING {
            return Err(format!("{MAX_RUNNING} scripts already running"));
        }
        if self.running.values().any(|&id| id == r.id) {
            return Err(format!("script id {} is already running", r.id));
        }
        let fits = |a: &Allowed| {
            a.uid == r.uid
                && a.gid == r.gid
                && !a.argv.is_empty()
                && r.argv.len() >= a.argv.len()
                && r.argv[..a.argv.len()] == a.argv[..]
                && extras_fit(&a.extras, &r.argv[a.argv.len()..], config)
        };
        if self.allowed.iter().any(fits) {
            Ok(())
        } else {
            Err("not a script the configuration runs as that user".into())
        }
    }

    /// Start a requested script, or say why not (the caller tells checkerd
    /// it ended as `Refused`).
    pub fn start(&mut self, r: &ScriptRequest, config: &Config) -> Result<(), String> {
        if let Err(e) = self.permitted(r, config) {
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
        let s = UserScripts::new(&c, (65534, 65534));
        assert_eq!(s.permitted(&req(&["/bin/true", "--x"], 0), &c), Ok(()));
        // keepalived's notify arguments may follow.
        assert_eq!(
            s.permitted(
                &req(
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
                ),
                &c
            ),
            Ok(())
        );
        // Anything else is refused: another program, another user, too
        // many arguments, a changed argument.
        assert!(s.permitted(&req(&["/bin/sh", "-c", "id"], 0), &c).is_err());
        assert!(s.permitted(&req(&["/bin/true", "--x"], 1000), &c).is_err());
        assert!(s
            .permitted(&req(&["/bin/true", "--x", "1", "2", "3", "4", "5"], 0), &c)
            .is_err());
        assert!(s.permitted(&req(&["/bin/true", "--y"], 0), &c).is_err());
        // A track script takes no argument at all, and notify takes exactly
        // keepalived's four, naming a configured instance.
        assert!(s
            .permitted(&req(&["/bin/true", "--x", "-o", "/etc/cron.d/x"], 0), &c)
            .is_err());
        for bad in [
            ["INSTANCE", "VI_9", "MASTER", "100"],
            ["INSTANCE", "VI_1", "PWNED", "100"],
            ["INSTANCE", "VI_1", "MASTER", "-f"],
            ["-f", "/etc/shadow", "MASTER", "100"],
        ] {
            let mut argv = vec!["/usr/bin/logger", "-t", "ka"];
            argv.extend(bad);
            assert!(s.permitted(&req(&argv, 0), &c).is_err(), "{bad:?}");
        }
        assert!(s.permitted(&req(&[], 0), &c).is_err());
    }

    #[test]
    fn scripts_of_checkerds_own_user_are_not_the_parents() {
        let c = config("vrrp_script chk {\n script /bin/true\n user nobody\n}\n");
        let nobody = resolve("nobody", None).unwrap();
        let s = UserScripts::new(&c, nobody);
        assert!(s.permitted(&req(&["/bin/true"], nobody.0), &c).is_err());
    }
}
