//! Which scripts a configuration runs, as which user, with which extra
//! arguments: the allowlist every process that starts scripts resolves a
//! request with. The parent builds it from the configuration
//! ([`Allowlist::of`]), giving each script an id ([`ScriptId`]), and gives
//! it to whoever executes: its own script starter (scripts of other users)
//! and checkerd's launcher (over a socket only the parent writes to).
//! checkerd's plan names scripts by id only, and a request is an id with
//! typed arguments ([`ScriptCall`]): a compromised checkerd can run nothing
//! but configured scripts, with keepalived's arguments, as their user.

use keepalived_config::{script_line, Config};
use keepalived_types::{GroupId, Ids, InstanceId, ScriptArgs, ScriptCall, ScriptId, VrrpState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The arguments keepalived adds to a script line, and so the only ones a
/// request may add.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Allowed {
    pub argv: Vec<String>,
    pub uid: u32,
    pub gid: u32,
    pub extras: Extras,
}

/// Every script of one configuration, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowlist {
    pub scripts: BTreeMap<ScriptId, Allowed>,
    /// Names a `notify` script may be given.
    pub instances: BTreeMap<InstanceId, String>,
    pub groups: BTreeMap<GroupId, String>,
    /// checkerd's own user: its scripts run in its launcher, the others
    /// in the parent.
    pub runner: (u32, u32),
    /// The file-mode mask scripts run under (`umask` / `-u`, resolved by
    /// the parent); the launcher takes the newest list's at each run, so a
    /// reload that changes it reaches checkerd's scripts too.
    pub umask: Option<u32>,
    /// Each script's id by its entry, for [`Allowlist::find`] (the parent
    /// looks every script occurrence of a configuration up: a scan would
    /// make a large configuration's load quadratic). Not sent: executors
    /// look up by id.
    #[serde(skip)]
    by_entry: BTreeMap<Allowed, ScriptId>,
    /// Each script occurrence as the configuration writes it (line, own
    /// user, extras), resolved once by [`Allowlist::of`]: planning looks
    /// occurrences up here instead of resolving users again. Not sent.
    #[serde(skip)]
    by_line: BTreeMap<(String, Option<String>, Extras), ScriptRef>,
}

/// User lookups of one load, each distinct `NAME [GROUP]` resolved once
/// (getpwnam / getgrnam read files, or ask NSS over the network).
#[derive(Default)]
pub struct Users(BTreeMap<UserSpec, Option<(u32, u32)>>);

/// A user name and optional group name, as written.
type UserSpec = (String, Option<String>);

impl Users {
    /// uid:gid of `user` (and optional `group`), as [`resolve`].
    pub fn get(&mut self, user: &str, group: Option<&str>) -> Option<(u32, u32)> {
        *self
            .0
            .entry((user.to_string(), group.map(str::to_string)))
            .or_insert_with(|| resolve(user, group))
    }

    /// `user NAME [GROUP]` as written: Some(None) when given but unknown.
    fn of_spec(&mut self, spec: Option<&str>) -> Option<Option<(u32, u32)>> {
        let spec = spec?;
        let mut w = spec.split_whitespace();
        Some(w.next().and_then(|u| {
            let g = w.next();
            self.get(u, g)
        }))
    }
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

/// Who runs `line`: its own user (`user` on the script, or words after a
/// notify line), else `script_user`, else `runner`. None: a user that
/// does not exist (keepalived does not run the script).
pub fn identity(
    config: &Config,
    line: &str,
    own: Option<&str>,
    runner: (u32, u32),
    users: &mut Users,
) -> Option<(u32, u32)> {
    let g = &config.global_defs;
    let own = users
        .of_spec(own)
        .or_else(|| users.of_spec(config.script_users.get(line).map(String::as_str)));
    match own {
        Some(who) => who,
        None => match g.script_user.as_deref() {
            Some(u) => users.get(u, g.script_group.as_deref()),
            None => Some(runner),
        },
    }
}

/// A script's own `user NAME [GROUP]`, as written on a vrrp_script.
pub fn script_owner(user: Option<&String>, group: Option<&String>) -> Option<String> {
    user.map(|u| match group {
        Some(g) => format!("{u} {g}"),
        None => u.clone(),
    })
}

/// Every script line of a configuration with its user and extras, each
/// occurrence once: `(line, own user, extras)`.
fn lines(config: &Config) -> Vec<(String, Option<String>, Extras)> {
    let mut out = Vec::new();
    let mut add = |l: &str, own: Option<String>, extras: Extras| {
        out.push((l.to_string(), own, extras));
    };
    for s in &config.vrrp_scripts {
        add(
            &s.script,
            script_owner(s.user.as_ref(), s.group.as_ref()),
            Extras::None,
        );
    }
    for i in &config.vrrp_instances {
        for l in [
            &i.notify_master,
            &i.notify_backup,
            &i.notify_fault,
            &i.notify_stop,
            &i.notify_master_rx_lower_pri,
            &i.notify_deleted_script,
        ]
        .into_iter()
        .flatten()
        {
            add(l, None, Extras::None);
        }
        if let Some(l) = &i.notify {
            add(l, None, Extras::Notify);
        }
    }
    for sg in &config.vrrp_sync_groups {
        for l in [
            &sg.notify_master,
            &sg.notify_backup,
            &sg.notify_fault,
            &sg.notify_stop,
        ]
        .into_iter()
        .flatten()
        {
            add(l, None, Extras::None);
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
                    add(p, c.user.clone(), Extras::None);
                }
            }
        }
    }
    for f in config.global_defs.fifo_scripts() {
        if let (Some(line), Some(path)) = (&f.script, f.fifo) {
            add(line, None, Extras::Path(path));
        }
    }
    out
}

/// A script as a plan names it: its id, and whether the parent starts it
/// (another user than checkerd's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptRef {
    pub id: ScriptId,
    pub by_parent: bool,
}

impl Allowlist {
    /// Every script of `config`, run by `runner` (checkerd's user) unless
    /// it names another. A line naming a user that does not exist is left
    /// out (keepalived does not run it). A script allowed in `previous`
    /// with the same line, user and extras keeps its id; the others get
    /// fresh ones above `next` (never reused).
    pub fn of(
        config: &Config,
        ids: &Ids,
        runner: (u32, u32),
        previous: &Allowlist,
        next: &mut u32,
    ) -> Allowlist {
        let mut known: BTreeMap<&Allowed, ScriptId> =
            previous.scripts.iter().map(|(id, a)| (a, *id)).collect();
        let mut list = Allowlist {
            runner,
            ..Default::default()
        };
        let mut users = Users::default();
        for (line, own, extras) in lines(config) {
            let occurrence = (line, own, extras);
            if list.by_line.contains_key(&occurrence) {
                continue;
            }
            let (line, own, extras) = &occurrence;
            let Some((uid, gid)) = identity(config, line, own.as_deref(), runner, &mut users)
            else {
                continue;
            };
            let argv = script_line::split(line);
            if argv.is_empty() {
                continue;
            }
            let a = Allowed {
                argv,
                uid,
                gid,
                extras: extras.clone(),
            };
            let id = match list.by_entry.get(&a) {
                Some(id) => *id,
                None => {
                    let id = known.remove(&a).unwrap_or_else(|| {
                        *next += 1;
                        ScriptId(*next)
                    });
                    list.by_entry.insert(a.clone(), id);
                    list.scripts.insert(id, a);
                    id
                }
            };
            let by_parent = (uid, gid) != runner;
            list.by_line.insert(occurrence, ScriptRef { id, by_parent });
        }
        for i in &config.vrrp_instances {
            if let Some(id) = ids.instance(&i.name) {
                list.instances.insert(id, i.name.clone());
            }
        }
        for g in &config.vrrp_sync_groups {
            if let Some(id) = ids.group(&g.name) {
                list.groups.insert(id, g.name.clone());
            }
        }
        list
    }

    /// The id of `line` as the configuration runs it (with its own user
    /// `own`, if the script names one, and `extras`); None when it is not
    /// allowed (an unknown user, an empty line). Only on a list
    /// [`Allowlist::of`] made (the index does not cross a socket), which
    /// resolved every occurrence once.
    pub fn find(&self, line: &str, own: Option<&str>, extras: Extras) -> Option<ScriptRef> {
        self.by_line
            .get(&(line.to_string(), own.map(str::to_string), extras))
            .copied()
    }

    /// The command line and identity of `call`: its script's line followed
    /// by exactly the arguments keepalived adds to that kind of line.
    pub fn command(&self, call: &ScriptCall) -> Result<(Vec<String>, u32, u32), String> {
        let a = self
            .scripts
            .get(&call.script)
            .ok_or_else(|| format!("{} is not a script of the configuration", call.script))?;
        let mut argv = a.argv.clone();
        let state = |s: VrrpState| match s {
            VrrpState::Master
            | VrrpState::Backup
            | VrrpState::Fault
            | VrrpState::Stop
            | VrrpState::Deleted => Ok(s.as_str().to_string()),
            VrrpState::Init => Err("a notify script is never given INIT".to_string()),
        };
        match (&a.extras, call.args) {
            (Extras::None, ScriptArgs::None) => {}
            (Extras::Path(p), ScriptArgs::None) => argv.push(p.clone()),
            (
                Extras::Notify,
                ScriptArgs::Instance {
                    id,
                    state: s,
                    priority,
                },
            ) => {
                let name = self
                    .instances
                    .get(&id)
                    .ok_or(format!("{id} is not configured"))?;
                argv.extend([
                    "INSTANCE".into(),
                    name.clone(),
                    state(s)?,
                    priority.to_string(),
                ]);
            }
            (Extras::Notify, ScriptArgs::Group { id, state: s }) => {
                let name = self
                    .groups
                    .get(&id)
                    .ok_or(format!("{id} is not configured"))?;
                argv.extend(["GROUP".into(), name.clone(), state(s)?, "0".into()]);
            }
            (e, args) => {
                return Err(format!(
                    "{} takes {e:?} arguments, not {args:?}",
                    call.script
                ))
            }
        }
        Ok((argv, a.uid, a.gid))
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

    const TEXT: &str = "vrrp_script chk {\n script \"/bin/check --deep\"\n}\n\
         vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n \
         virtual_ipaddress {\n 10.0.0.1\n }\n notify /bin/notify\n notify_master \"/bin/up now\"\n \
         track_script {\n chk\n }\n}\n";

    fn load(text: &str) -> (Config, Ids) {
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .unwrap()
            .config;
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        (c, ids)
    }

    /// One load resolves each distinct user once, however many script
    /// lines name it; an unknown one is remembered as unknown.
    #[test]
    fn users_are_resolved_once_per_load() {
        let mut u = Users::default();
        assert_eq!(u.get("root", None), Some((0, 0)));
        assert_eq!(u.get("root", None), Some((0, 0)));
        assert_eq!(u.get("no-such-user-kars", None), None);
        assert_eq!(u.get("no-such-user-kars", None), None);
        assert_eq!(u.0.len(), 2, "{:?}", u.0);
    }

    #[test]
    fn only_configured_scripts_with_keepalived_arguments_as_their_user() {
        let (c, ids) = load(TEXT);
        let me = (4242, 4243);
        let mut next = 0;
        let a = Allowlist::of(&c, &ids, me, &Allowlist::default(), &mut next);
        let chk = a.find("/bin/check --deep", None, Extras::None).unwrap();
        assert!(!chk.by_parent, "checkerd's own user runs it");
        let call = |script, args| ScriptCall { script, args };
        assert_eq!(
            a.command(&call(chk.id, ScriptArgs::None)).unwrap(),
            (words("/bin/check --deep"), 4242, 4243)
        );
        let vi = ids.instance("VI_1").unwrap();
        let up = ScriptArgs::Instance {
            id: vi,
            state: VrrpState::Master,
            priority: 100,
        };
        assert!(a.command(&call(chk.id, up)).is_err(), "extra arguments");
        assert!(a.command(&call(ScriptId(999), ScriptArgs::None)).is_err());
        let n = a.find("/bin/notify", None, Extras::Notify).unwrap();
        assert_eq!(
            a.command(&call(n.id, up)).unwrap().0,
            words("/bin/notify INSTANCE VI_1 MASTER 100")
        );
        assert!(
            a.command(&call(n.id, ScriptArgs::None)).is_err(),
            "missing arguments"
        );
        let other = ScriptArgs::Instance {
            id: InstanceId(vi.0 + 100),
            state: VrrpState::Master,
            priority: 100,
        };
        assert!(a.command(&call(n.id, other)).is_err(), "unknown instance");
        let init = ScriptArgs::Instance {
            id: vi,
            state: VrrpState::Init,
            priority: 100,
        };
        assert!(a.command(&call(n.id, init)).is_err());
        assert!(a.find("/bin/up now", None, Extras::None).is_some());
        assert!(a.find("/bin/sh -c id", None, Extras::None).is_none());
        assert!(a.find("/bin/up", None, Extras::None).is_none(), "a prefix");
    }

    #[test]
    fn another_users_scripts_are_the_parents_and_ids_survive_a_reload() {
        let text = format!("global_defs {{\n script_user root\n}}\n{TEXT}");
        let (c, ids) = load(&text);
        let mut next = 0;
        let a = Allowlist::of(&c, &ids, (4242, 4243), &Allowlist::default(), &mut next);
        let chk = a.find("/bin/check --deep", None, Extras::None).unwrap();
        assert!(chk.by_parent);
        assert_eq!(
            a.command(&ScriptCall {
                script: chk.id,
                args: ScriptArgs::None
            })
            .unwrap()
            .1,
            0
        );
        // The same file again: the same ids; a changed line: a new one.
        let b = Allowlist::of(&c, &ids, (4242, 4243), &a, &mut next);
        assert_eq!(a.scripts, b.scripts);
        let changed = text.replace("/bin/check --deep", "/bin/check --shallow");
        let (c2, ids2) = load(&changed);
        let d = Allowlist::of(&c2, &ids2, (4242, 4243), &b, &mut next);
        let new = d.find("/bin/check --shallow", None, Extras::None).unwrap();
        assert!(!a.scripts.contains_key(&new.id), "an id was reused");
        let up = a.find("/bin/up now", None, Extras::None).unwrap();
        assert_eq!(d.find("/bin/up now", None, Extras::None), Some(up));
    }
}
