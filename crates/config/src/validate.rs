//! Whole-configuration checks, after every block is read: cross
//! references (tracked scripts, sync group members, virtual server
//! groups), uniqueness, and the per-instance rules keepalived applies
//! at the end of parsing.

use crate::build::Cx;
use crate::diag::Pos;
use crate::model::Config;
use crate::spans::{IfUse, Spans};
use crate::suggest::nearest;
use std::collections::HashMap;

fn report_missing(
    cx: &mut Cx,
    pos: Option<&Pos>,
    what: &str,
    name: &str,
    known: &[&str],
    msg_tail: &str,
) {
    let hint = nearest(name, known.iter().copied())
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    let msg = format!("{what} '{name}' is not defined{hint}{msg_tail}");
    match pos {
        Some(p) => cx.warn(p, msg),
        None => cx.diags.list.push(crate::Diagnostic {
            severity: crate::Severity::Warning,
            location: None,
            message: msg,
            class: crate::Class::Config,
        }),
    }
}

/// `spans` holds where each object of `c` was written (same indices).
pub(crate) fn config(cx: &mut Cx, spans: &Spans, c: &mut Config) {
    // Duplicate names.
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for (v, sp) in c.vrrp_instances.iter().zip(&spans.instances) {
        if seen.insert(v.name.as_str(), ()).is_some() {
            cx.error(
                &sp.head,
                format!("vrrp_instance '{}' is defined twice", v.name),
            );
        }
    }

    let scripts: Vec<&str> = c.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    let files: Vec<&str> = c.track_files.iter().map(|s| s.name.as_str()).collect();
    let procs: Vec<&str> = c
        .vrrp_track_processes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let instances: Vec<&str> = c.vrrp_instances.iter().map(|s| s.name.as_str()).collect();

    for (v, sp) in c.vrrp_instances.iter().zip(&spans.instances) {
        let vpos = &sp.head;
        for (list, known, inner, what) in [
            (&v.track_script, &scripts, "track_script", "vrrp_script"),
            (&v.track_file, &files, "track_file", "track_file"),
            (
                &v.track_process,
                &procs,
                "track_process",
                "vrrp_track_process",
            ),
        ] {
            for t in list {
                // keepalived 2.2.7 also lets track_script name a file/process
                // tracker of the same name? No: each list its own kind.
                if !known.contains(&t.name.as_str()) {
                    report_missing(
                        cx,
                        Some(sp.item(inner, &t.name)),
                        what,
                        &t.name,
                        known,
                        " (ignored, as keepalived does)",
                    );
                }
            }
        }
        if v.virtual_router_id == 0 {
            cx.error(
                vpos,
                format!(
                    "vrrp_instance {}: virtual_router_id must be set (1-255)",
                    v.name
                ),
            );
        }
        if v.interface.is_none() && v.unicast_peer.is_empty() {
            cx.warn(
                vpos,
                format!(
                    "vrrp_instance {}: no 'interface' and no default_interface",
                    v.name
                ),
            );
        }
        if v.virtual_ipaddress.is_empty() && v.virtual_ipaddress_excluded.is_empty() {
            cx.warn(
                vpos,
                format!(
                    "vrrp_instance {}: no virtual_ipaddress; at least one is sensible",
                    v.name
                ),
            );
        }
        // native_ipv6: an IPv6 instance, whatever its first address.
        let fam4 = !v.native_ipv6
            && v.virtual_ipaddress
                .first()
                .is_none_or(|a| a.address.is_ipv4());
        if v.virtual_ipaddress
            .iter()
            .any(|a| a.address.is_ipv4() != fam4)
        {
            cx.error(vpos, format!("vrrp_instance {}: virtual_ipaddress mixes IPv4 and IPv6 (use virtual_ipaddress_excluded)", v.name));
        }
    }

    // Same VRID on the same interface and family.
    let mut vrids: HashMap<(Option<&str>, u8, bool), &str> = HashMap::new();
    for (v, sp) in c.vrrp_instances.iter().zip(&spans.instances) {
        if v.virtual_router_id == 0 {
            continue;
        }
        let fam4 = v
            .virtual_ipaddress
            .first()
            .is_none_or(|a| a.address.is_ipv4());
        let key = (v.interface.as_deref(), v.virtual_router_id, fam4);
        if let Some(other) = vrids.insert(key, v.name.as_str()) {
            cx.error(
                &sp.head,
                format!(
                    "vrrp_instance {} uses virtual_router_id {} on the same interface as {other}",
                    v.name, v.virtual_router_id
                ),
            );
        }
    }

    for (g, sp) in c.vrrp_sync_groups.iter().zip(&spans.sync_groups) {
        for m in &g.group {
            if !instances.contains(&m.as_str()) {
                report_missing(
                    cx,
                    Some(sp.item("group", m)),
                    "vrrp_instance",
                    m,
                    &instances,
                    &format!(" (named in vrrp_sync_group {}; ignored)", g.name),
                );
            }
        }
        if g.group.len() < 2 {
            cx.warn(
                &sp.head,
                format!("vrrp_sync_group {} has fewer than 2 members", g.name),
            );
        }
        for t in &g.track_script {
            if !scripts.contains(&t.name.as_str()) {
                let p = sp.item("track_script", &t.name);
                report_missing(cx, Some(p), "vrrp_script", &t.name, &scripts, "");
            }
        }
    }

    lvs_ports(cx, spans, c);
    // keepalived stops its VRRP checks at a missing interface
    // ("Non-existent interface specified in configuration"): the script
    // security check after them is not made.
    let before = cx.diags.list.len();
    check_interfaces(cx, spans, c);
    let missing_if = cx.diags.list.len() > before;
    check_scripts(cx, spans, c, missing_if);
    let groups: Vec<&str> = c
        .virtual_server_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    for (v, sp) in c.virtual_servers.iter().zip(&spans.virtual_servers) {
        let p = &sp.head;
        if let Some(g) = &v.group {
            if !groups.contains(&g.as_str()) {
                // keepalived 2.2.7 says nothing (the virtual server has no
                // addresses): a note.
                cx.diags.note(p, format!("virtual_server_group '{g}' is not defined: this virtual server has no addresses"));
            }
        }
        if let Some(ip) = v.ip {
            for rs in &v.real_servers {
                if rs.ip.is_ipv4() != ip.is_ipv4() && v.lb_kind != Some(crate::model::LbKind::Tun) {
                    cx.error(p, format!("real_server {} is not of the same address family as virtual_server {ip}", rs.ip));
                }
            }
        }
    }
}

/// Real server ports keepalived 2.2.7 rewrites (and reports): a DR or TUN
/// real server must use the virtual server's port; a fwmark service
/// (directly or through a group with fwmark entries) has no port.
fn lvs_ports(cx: &mut Cx, spans: &Spans, c: &mut Config) {
    use crate::model::{LbKind, Protocol, Scheduler};
    let fwmark_groups: Vec<String> = c
        .virtual_server_groups
        .iter()
        .filter(|g| !g.fwmarks.is_empty())
        .map(|g| g.name.clone())
        .collect();
    for (v, sp) in c.virtual_servers.iter_mut().zip(&spans.virtual_servers) {
        let p = &sp.head;
        let fwmark_group = v.group.as_ref().is_some_and(|g| fwmark_groups.contains(g));
        if v.protocol.is_none() && v.fwmark.is_none() && fwmark_group {
            // A group of fwmarks needs no protocol: keepalived is silent.
            v.protocol = Some(Protocol::Udp);
        }
        if v.protocol.is_none() && v.fwmark.is_none() {
            cx.warn(
                p,
                "virtual_server has no 'protocol': keepalived 2.2.7 defaults to UDP",
            );
            v.protocol = Some(Protocol::Udp);
        }
        if v.lb_algo.is_none() {
            cx.warn(p, "virtual_server has no 'lb_algo': keepalived uses wlc");
            v.lb_algo = Some(Scheduler::Wlc);
        }
        if v.lb_kind.is_none() {
            cx.warn(p, "virtual_server has no 'lb_kind': keepalived uses NAT");
            v.lb_kind = Some(LbKind::Nat);
        }
        let fwmark =
            v.fwmark.is_some() || v.group.as_ref().is_some_and(|g| fwmark_groups.contains(g));
        for (rs, pos) in v.real_servers.iter_mut().zip(&sp.real_servers) {
            let kind = rs.lb_kind.or(v.lb_kind);
            if fwmark {
                // NAT keeps the real server's port; other methods cannot
                // use one with a fwmark service (keepalived reports it and
                // clears it).
                if rs.port.is_some() && !matches!(kind, None | Some(LbKind::Nat)) {
                    cx.warn(pos, format!("real_server {}: a fwmark virtual server takes no real server port with DR/TUN - ignored, as keepalived does", rs.ip));
                    rs.port = None;
                }
            } else if let (Some(vp), Some(rp)) = (v.port, rs.port) {
                if vp != rp && matches!(kind, Some(LbKind::Dr | LbKind::Tun)) {
                    cx.warn(pos, format!("real_server {}: port {rp} differs from the virtual server's {vp}, which DR/TUN needs - reset, as keepalived does", rs.ip));
                    rs.port = Some(vp);
                }
            }
        }
    }
}

/// Is the program of command line `cmd` present and executable here?
/// (keepalived checks the same when it reads the configuration.)
fn program_found(cmd: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // The program as keepalived reads it (quotes group, backslashes
    // escape); a quoted whole command line (`'/bin/echo hello'`) names
    // its first word.
    let argv = crate::script_line::split(cmd);
    let Some(first) = argv.first() else {
        return false;
    };
    let prog = match first.split_whitespace().next() {
        Some(w) if first.contains(char::is_whitespace) => w,
        _ => first.as_str(),
    };
    let ok = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.contains('/') {
        return ok(std::path::Path::new(prog));
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .any(|d| ok(&std::path::Path::new(d).join(prog)))
}

fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
}

/// keepalived 2.2.7's checks of the scripts it will run: a `vrrp_script`
/// whose program is missing is disabled (reported); running any script
/// as root without `enable_script_security` is a "SECURITY VIOLATION"
/// (reported, scripts still run); `enable_script_security` with no
/// `script_user` needs a `keepalived_script` user.
fn check_scripts(cx: &mut Cx, spans: &Spans, c: &mut Config, missing_if: bool) {
    let g = &c.global_defs;
    let mut first_run: Option<Pos> = None;
    let mut disabled = Vec::new();
    for (s, p) in c.vrrp_scripts.iter().zip(&spans.scripts) {
        if s.script.is_empty() {
            continue;
        }
        let p = p.clone();
        if program_found(&s.script) {
            first_run.get_or_insert(p);
        } else {
            cx.warn(&p, format!("vrrp_script {}: program of '{}' not found or not executable - script disabled, as keepalived does", s.name, s.script));
            disabled.push(s.name.clone());
        }
    }
    let mut others: Vec<(Pos, &String)> = Vec::new();
    for (v, sp) in c.vrrp_instances.iter().zip(&spans.instances) {
        let p = &sp.head;
        for s in [
            &v.notify_master,
            &v.notify_backup,
            &v.notify_fault,
            &v.notify_stop,
            &v.notify,
            &v.notify_master_rx_lower_pri,
            &v.notify_deleted_script,
        ]
        .into_iter()
        .flatten()
        {
            others.push((p.clone(), s));
        }
    }
    for (sg, sp) in c.vrrp_sync_groups.iter().zip(&spans.sync_groups) {
        let p = &sp.head;
        for s in [
            &sg.notify_master,
            &sg.notify_backup,
            &sg.notify_fault,
            &sg.notify_stop,
            &sg.notify,
        ]
        .into_iter()
        .flatten()
        {
            others.push((p.clone(), s));
        }
    }
    for (v, sp) in c.virtual_servers.iter().zip(&spans.virtual_servers) {
        let p = &sp.head;
        for s in [&v.quorum_up, &v.quorum_down].into_iter().flatten() {
            others.push((p.clone(), s));
        }
        for r in &v.real_servers {
            for s in [&r.notify_up, &r.notify_down].into_iter().flatten() {
                others.push((p.clone(), s));
            }
            for ch in &r.checkers {
                if let Some(s) = &ch.misc_path {
                    others.push((p.clone(), s));
                }
            }
        }
    }
    for (p, s) in &spans.global_scripts {
        if program_found(s) {
            first_run.get_or_insert(p.clone());
        }
    }
    for (p, s) in others {
        if program_found(s) {
            first_run.get_or_insert(p);
        }
    }
    if let Some(p) = first_run.filter(|_| !missing_if) {
        if !g.enable_script_security {
            cx.diags.warn_class(
                Some(&p),
                crate::Class::Security,
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
            );
        } else if g.script_user.is_none() && !user_exists("keepalived_script") {
            cx.warn(&p, "enable_script_security is set without script_user, and there is no 'keepalived_script' user to run scripts as");
        }
    }
    // Disabled scripts are no longer tracked.
    for v in &mut c.vrrp_instances {
        v.track_script.retain(|t| !disabled.contains(&t.name));
    }
}

/// Interfaces named by instances that do not exist here: keepalived
/// 2.2.7 reports each ("Non-existent interface specified in
/// configuration") and runs anyway.
fn check_interfaces(cx: &mut Cx, spans: &Spans, c: &Config) {
    if c.global_defs.dynamic_interfaces {
        return;
    }
    let Some(present) = crate::host::interfaces() else {
        return;
    };
    let missing = |n: &str| !present.iter().any(|p| p == n);
    for (v, sp) in c.vrrp_instances.iter().zip(&spans.instances) {
        for i in sp.interfaces.iter().filter(|i| missing(&i.name)) {
            let msg = match i.how {
                IfUse::Interface => format!(
                    "interface '{}' of vrrp_instance {} does not exist here",
                    i.name, v.name
                ),
                IfUse::Tracked => format!("tracked interface '{}' does not exist here", i.name),
                IfUse::Dev => format!("interface '{}' does not exist here", i.name),
            };
            cx.warn(&i.pos, msg);
        }
    }
}
