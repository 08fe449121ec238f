//! Which script command lines a configuration runs, as which user, with
//! which extra arguments: the allowlist every process that starts scripts
//! checks a request against. The parent builds it from the configuration
//! ([`Allowlist::of`]) and gives it to whoever executes: its own script
//! starter (scripts of other users) and checkerd's launcher (over a socket
//! only the parent writes to), so a compromised checkerd can run nothing
//! but configured scripts, with keepalived's arguments, as their user.

use keepalived_config::{script_line, Config};
use serde::{Deserialize, Serialize};

/// The arguments keepalived adds to a script line, and so the only ones a
/// request may add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Extras {
    /// Track scripts, MISC_CHECK, notify_master and the like: none.
    None,
    /// `notify`: `INSTANCE|GROUP name state priority`, with a configured
    /// instance or group name.
    Notify,
    /// A FIFO script: the configured FIFO's path.
    Path(String),
}

/// A script line allowed to run as uid:gid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowed {
    pub argv: Vec<String>,
    pub uid: u32,
    pub gid: u32,
    pub extras: Extras,
}

/// Every script of one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowlist {
    pub scripts: Vec<Allowed>,
    /// Names a `notify` script may be given.
    pub instances: Vec<String>,
    pub groups: Vec<String>,
}

/// uid:gid of a user name (and optional group name).
pub fn resolve(user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    let u = nix::unistd::User::from_name(user).ok().flatten()?;
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

impl Allowlist {
    /// Every script line of `config` with the user it runs as: its own
    /// (`user` on the script, or words after a notify line), else
    /// `script_user`, else `runner` (checkerd's user). A line naming a user
    /// that does not exist is left out (keepalived does not run it).
    pub fn of(config: &Config, runner: (u32, u32)) -> Allowlist {
        let g = &config.global_defs;
        let default = match g.script_user.as_deref() {
            Some(u) => resolve(u, g.script_group.as_deref()),
            None => Some(runner),
        };
        let mut scripts = Vec::new();
        let mut add = |line: &str, who: Option<Option<(u32, u32)>>, extras: Extras| {
            let who = who.or_else(|| user_of(config.script_users.get(line).map(String::as_str)));
            let Some((uid, gid)) = who.unwrap_or(default) else {
                return;
            };
            let argv = script_line::split(line);
            if !argv.is_empty() {
                scripts.push(Allowed {
                    argv,
                    uid,
                    gid,
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
        Allowlist {
            scripts,
            instances: config
                .vrrp_instances
                .iter()
                .map(|i| i.name.clone())
                .collect(),
            groups: config
                .vrrp_sync_groups
                .iter()
                .map(|g| g.name.clone())
                .collect(),
        }
    }

    /// Whether `argv` is a configured line for exactly uid:gid, followed by
    /// exactly what keepalived adds to that kind of line.
    pub fn permits(&self, argv: &[String], uid: u32, gid: u32) -> bool {
        self.scripts.iter().any(|a| {
            a.uid == uid
                && a.gid == gid
                && argv.len() >= a.argv.len()
                && argv[..a.argv.len()] == a.argv[..]
                && self.extras_fit(&a.extras, &argv[a.argv.len()..])
        })
    }

    fn extras_fit(&self, kind: &Extras, extra: &[String]) -> bool {
        match kind {
            Extras::None => extra.is_empty(),
            Extras::Path(p) => extra.len() == 1 && &extra[0] == p,
            Extras::Notify => {
                let [what, name, state, prio] = extra else {
                    return false;
                };
                let named = match what.as_str() {
                    "INSTANCE" => self.instances.contains(name),
                    "GROUP" => self.groups.contains(name),
                    _ => false,
                };
                named
                    && matches!(state.as_str(), "MASTER" | "BACKUP" | "FAULT" | "STOP")
                    && prio.parse::<u8>().is_ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn only_configured_lines_with_keepalived_arguments_as_their_user() {
        let text = "vrrp_script chk {\n script \"/bin/check --deep\"\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n notify /bin/notify\n notify_master \"/bin/up now\"\n \
             track_script {\n chk\n }\n}\n";
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .unwrap()
            .config;
        let me = (4242, 4243);
        let a = Allowlist::of(&c, me);
        assert!(a.permits(&words("/bin/check --deep"), 4242, 4243));
        assert!(!a.permits(&words("/bin/check --deep"), 0, 0), "not as root");
        assert!(!a.permits(&words("/bin/check"), 4242, 4243), "a prefix");
        assert!(
            !a.permits(&words("/bin/check --deep x"), 4242, 4243),
            "extra word"
        );
        assert!(!a.permits(&words("/bin/sh -c id"), 4242, 4243));
        assert!(a.permits(&words("/bin/up now"), 4242, 4243));
        assert!(a.permits(&words("/bin/notify INSTANCE VI_1 MASTER 100"), 4242, 4243));
        assert!(!a.permits(&words("/bin/notify INSTANCE VI_9 MASTER 100"), 4242, 4243));
        assert!(!a.permits(&words("/bin/notify INSTANCE VI_1 ROOT 100"), 4242, 4243));
        assert!(!a.permits(&words("/bin/notify INSTANCE VI_1 MASTER 1000"), 4242, 4243));
        assert!(!a.permits(&[], 4242, 4243));
    }
}
