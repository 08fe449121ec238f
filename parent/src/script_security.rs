//! keepalived's script checks, made once by the parent at load (it can
//! stat every path; checkerd may not): a script that cannot be found or
//! executed by the user it runs as is disabled, and one that a user other
//! than root could alter is reported — and disabled under
//! `enable_script_security`.
//!
//! keepalived applies the permission rule to scripts run as root; here
//! scripts run unprivileged by default, so the rule also covers every
//! script when `enable_script_security` is set: such a configuration
//! already keeps its scripts root-owned for keepalived.

use keepalived_config::Config;
use log::warn;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const SEARCH_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a script cannot run.
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    NotFound(String),
    NotExecutable(String),
    /// The path component a non-root user could alter.
    Unsafe(String),
}

/// The executable a script line starts with (quotes removed).
fn program(line: &str) -> Option<String> {
    // As checkerd will split it (quotes, backslashes).
    keepalived_config::script_line::split(line)
        .into_iter()
        .next()
        .filter(|p| !p.is_empty())
}

/// Whether a `user NAME [GROUP]` (as written) is uid 0.
fn is_root(spec: &str) -> bool {
    let mut w = spec.split_whitespace();
    w.next()
        .and_then(|u| crate::user_scripts::resolve(u, w.next()))
        .is_some_and(|(uid, _)| uid == 0)
}

fn resolve(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(PathBuf::from(prog));
    }
    SEARCH_PATH
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

fn executable_by(m: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = m.mode();
    if uid == 0 {
        return mode & 0o111 != 0;
    }
    if m.uid() == uid {
        mode & 0o100 != 0
    } else if m.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// keepalived's rule for each component of `path`: owned by root, and
/// (for a file, or a directory without the sticky bit) not writable by a
/// non-root group or by others.
fn unsafe_component(path: &Path) -> Option<PathBuf> {
    let mut cur = PathBuf::new();
    for c in path.components() {
        cur.push(c);
        let Ok(m) = std::fs::symlink_metadata(&cur) else {
            return Some(cur);
        };
        let ft = m.file_type();
        let mode = m.mode();
        let guarded = (ft.is_dir() && mode & 0o1000 == 0) || ft.is_file();
        let writable = (m.gid() != 0 && mode & 0o020 != 0) || mode & 0o002 != 0;
        if m.uid() != 0 || (guarded && writable) {
            return Some(cur);
        }
    }
    None
}

/// Check one script line run as `uid:gid`; `protect` applies the
/// permission rule.
pub fn check(line: &str, uid: u32, gid: u32, protect: bool) -> Result<(), Problem> {
    let Some(prog) = program(line) else {
        return Err(Problem::NotFound(line.to_string()));
    };
    // keepalived: "</path" only tests that a file can be opened.
    if prog.starts_with('<') {
        return Ok(());
    }
    let path = resolve(&prog).ok_or_else(|| Problem::NotFound(prog.clone()))?;
    let real = std::fs::canonicalize(&path).map_err(|_| Problem::NotFound(prog.clone()))?;
    let m = std::fs::metadata(&real).map_err(|_| Problem::NotFound(prog.clone()))?;
    if !m.is_file() || !executable_by(&m, uid, gid) {
        return Err(Problem::NotExecutable(prog));
    }
    if protect {
        let absolute = if path.is_absolute() {
            path.clone()
        } else {
            std::env::current_dir().unwrap_or_default().join(&path)
        };
        for p in [absolute, real] {
            if let Some(bad) = unsafe_component(&p) {
                return Err(Problem::Unsafe(bad.display().to_string()));
            }
        }
    }
    Ok(())
}

/// Check every script of `config`; disable (remove) those that cannot run,
/// logging keepalived's phrases. `runner` is the uid:gid scripts run as.
pub fn apply(config: &mut Config, runner: (u32, u32)) {
    let security = config.global_defs.enable_script_security;
    let root_default = config
        .global_defs
        .script_user
        .as_deref()
        .is_some_and(is_root);
    let verdict = |what: &str, line: &str, root: bool| -> bool {
        let (uid, gid) = if root { (0, 0) } else { runner };
        match check(line, uid, gid, security || root) {
            Ok(()) => true,
            Err(Problem::NotFound(p)) => {
                warn!("{what}: cannot find script {p} - disabling");
                false
            }
            Err(Problem::NotExecutable(p)) => {
                warn!("{what}: WARNING - script '{p}' is not executable for uid:gid {uid}:{gid} - disabling.");
                false
            }
            Err(Problem::Unsafe(p)) => {
                if security {
                    warn!("{what}: Unsafe permissions found for script '{p}' - disabling.");
                    false
                } else {
                    warn!("{what}: Unsafe permissions found for script '{p}'.");
                    true
                }
            }
        }
    };
    // A notify script may name its user after it (`script_users`): one that
    // does not exist disables it, as keepalived does.
    let users = config.script_users.clone();
    // The name is only formatted for a script that is there (a file of
    // 10,000 virtual servers has 40,000 empty slots).
    let slot = |what: &dyn Fn() -> String, s: &mut Option<String>, root: bool| {
        if let Some(line) = s.as_deref() {
            let what = what();
            let root = match users.get(line) {
                None => root,
                Some(who) => {
                    let mut w = who.split_whitespace();
                    match w
                        .next()
                        .and_then(|u| crate::user_scripts::resolve(u, w.next()))
                    {
                        Some((uid, _)) => uid == 0,
                        None => {
                            warn!(
                                "{what}: Invalid user/group '{who}' for script {line} - ignoring"
                            );
                            *s = None;
                            return;
                        }
                    }
                }
            };
            if !verdict(&what, line, root) {
                *s = None;
            }
        }
    };
    slot(
        &|| "startup script".into(),
        &mut config.global_defs.startup_script,
        root_default,
    );
    slot(
        &|| "shutdown script".into(),
        &mut config.global_defs.shutdown_script,
        root_default,
    );
    let g = &mut config.global_defs;
    for (kw, s) in [
        ("notify_fifo_script", &mut g.notify_fifo_script),
        ("vrrp_notify_fifo_script", &mut g.vrrp_notify_fifo_script),
        ("lvs_notify_fifo_script", &mut g.lvs_notify_fifo_script),
    ] {
        if s.as_deref()
            .is_some_and(|line| !verdict(kw, line, root_default))
        {
            *s = None;
        }
    }
    config.vrrp_scripts.retain(|s| {
        let root = s.user.as_deref().map_or(root_default, is_root);
        verdict(&format!("vrrp_script {}", s.name), &s.script, root)
    });
    for i in &mut config.vrrp_instances {
        let n = i.name.clone();
        for (k, s) in [
            ("notify_master", &mut i.notify_master),
            ("notify_backup", &mut i.notify_backup),
            ("notify_fault", &mut i.notify_fault),
            ("notify_stop", &mut i.notify_stop),
            ("notify", &mut i.notify),
            (
                "notify_master_rx_lower_pri",
                &mut i.notify_master_rx_lower_pri,
            ),
            ("notify_deleted", &mut i.notify_deleted_script),
        ] {
            slot(&|| format!("({n}) {k}"), s, root_default);
        }
    }
    for g in &mut config.vrrp_sync_groups {
        let n = g.name.clone();
        for (k, s) in [
            ("notify_master", &mut g.notify_master),
            ("notify_backup", &mut g.notify_backup),
            ("notify_fault", &mut g.notify_fault),
            ("notify_stop", &mut g.notify_stop),
            ("notify", &mut g.notify),
        ] {
            slot(&|| format!("vrrp_sync_group {n} {k}"), s, root_default);
        }
    }
    for vs in &mut config.virtual_servers {
        if vs.quorum_up.is_some() || vs.quorum_down.is_some() {
            let vk = vs.key();
            for (k, s) in [
                ("quorum_up", &mut vs.quorum_up),
                ("quorum_down", &mut vs.quorum_down),
            ] {
                slot(&|| format!("{vk} {k}"), s, root_default);
            }
        }
        // Taken out while they are checked: their keys need the virtual
        // server (its port and protocol), which is not copied for it.
        let mut real_servers = std::mem::take(&mut vs.real_servers);
        for rs in &mut real_servers {
            let scripts = rs.notify_up.is_some()
                || rs.notify_down.is_some()
                || rs.checkers.iter().any(|c| c.misc_path.is_some());
            if !scripts {
                continue;
            }
            let rk = rs.key(vs);
            for (k, s) in [
                ("notify_up", &mut rs.notify_up),
                ("notify_down", &mut rs.notify_down),
            ] {
                slot(&|| format!("{rk} {k}"), s, root_default);
            }
            for c in &mut rs.checkers {
                let root = c.user.as_deref().map_or(root_default, is_root);
                slot(&|| format!("MISC_CHECK of {rk}"), &mut c.misc_path, root);
            }
        }
        vs.real_servers = real_servers;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, mode: u32) -> String {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.display().to_string()
    }

    #[test]
    fn keepalived_rules() {
        // Tests run as root: the files below belong to root.
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let good = script(dir.path(), "good.sh", 0o755);
        let world = script(dir.path(), "world.sh", 0o777);
        let noexec = script(dir.path(), "noexec.sh", 0o700);
        assert_eq!(check(&format!("{good} arg"), 65534, 65534, true), Ok(()));
        assert_eq!(
            check(&world, 65534, 65534, true),
            Err(Problem::Unsafe(world.clone()))
        );
        assert_eq!(check(&world, 65534, 65534, false), Ok(()));
        assert_eq!(
            check(&noexec, 65534, 65534, false),
            Err(Problem::NotExecutable(noexec.clone()))
        );
        assert_eq!(check(&noexec, 0, 0, true), Ok(()));
        assert!(matches!(
            check("/nonexistent/x", 0, 0, true),
            Err(Problem::NotFound(_))
        ));
        // A bare name is searched for; quotes are removed.
        assert_eq!(check("\"true\" x", 65534, 65534, true), Ok(()));
        // A directory anyone may write (without the sticky bit) is unsafe.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            matches!(check(&good, 65534, 65534, true), Err(Problem::Unsafe(p)) if !p.ends_with("good.sh"))
        );
        // With the sticky bit it is fine, as /tmp.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(check(&good, 65534, 65534, true), Ok(()));
    }
}
