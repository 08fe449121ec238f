//! Whole-configuration checks, after every block is read: cross
//! references (tracked scripts, sync group members, virtual server
//! groups), uniqueness, and the per-instance rules keepalived applies
//! at the end of parsing.

use crate::build::Cx;
use crate::diag::Pos;
use crate::model::{Config, VrrpState};
use crate::suggest::nearest;
use crate::tree::Node;
use std::collections::HashMap;

/// Where each top-level block named NAME of kind KW starts.
fn block_pos<'a>(nodes: &'a [Node], kw: &str, name: &str) -> Option<&'a Pos> {
    nodes
        .iter()
        .find(|n| n.kw.text == kw && n.args.first().is_some_and(|a| a.text == name))
        .map(Node::pos)
}

/// Where `inner_kw` ... `item` is written inside the named block.
fn item_pos<'a>(
    nodes: &'a [Node],
    kw: &str,
    name: &str,
    inner_kw: &str,
    item: &str,
) -> Option<&'a Pos> {
    let n = nodes
        .iter()
        .find(|n| n.kw.text == kw && n.args.first().is_some_and(|a| a.text == name))?;
    for k in n.block.as_deref().unwrap_or(&[]) {
        if k.kw.text == inner_kw {
            for l in k.block.as_deref().unwrap_or(&[]) {
                if l.kw.text == item {
                    return Some(l.pos());
                }
            }
        }
    }
    Some(n.pos())
}

fn report_missing(
    cx: &mut Cx,
    pos: Option<&Pos>,
    what: &str,
    name: &str,
    known: &[&str],
    msg_tail: &str,
) {
    let hint = nearest(name, known)
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    let msg = format!("{what} '{name}' is not defined{hint}{msg_tail}");
    match pos {
        Some(p) => cx.warn(p, msg),
        None => cx.diags.list.push(crate::Diagnostic {
            severity: crate::Severity::Warning,
            location: None,
            message: msg,
        }),
    }
}

pub(crate) fn config(cx: &mut Cx, nodes: &[Node], c: &mut Config) {
    // Duplicate names.
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for v in &c.vrrp_instances {
        if seen.insert(v.name.as_str(), ()).is_some() {
            if let Some(p) = nodes
                .iter()
                .filter(|n| {
                    n.kw.text == "vrrp_instance" && n.args.first().is_some_and(|a| a.text == v.name)
                })
                .nth(1)
                .map(Node::pos)
            {
                cx.error(p, format!("vrrp_instance '{}' is defined twice", v.name));
            }
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

    for v in &c.vrrp_instances {
        let vpos = block_pos(nodes, "vrrp_instance", &v.name).cloned();
        let Some(vpos) = vpos else { continue };
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
                    let p = item_pos(nodes, "vrrp_instance", &v.name, inner, &t.name).cloned();
                    report_missing(
                        cx,
                        p.as_ref(),
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
                &vpos,
                format!(
                    "vrrp_instance {}: virtual_router_id must be set (1-255)",
                    v.name
                ),
            );
        }
        if v.interface.is_none() && v.unicast_peer.is_empty() {
            cx.warn(
                &vpos,
                format!(
                    "vrrp_instance {}: no 'interface' and no default_interface",
                    v.name
                ),
            );
        }
        if v.virtual_ipaddress.is_empty() && v.virtual_ipaddress_excluded.is_empty() {
            cx.warn(
                &vpos,
                format!(
                    "vrrp_instance {}: no virtual_ipaddress; at least one is sensible",
                    v.name
                ),
            );
        }
        if v.nopreempt && v.state == Some(VrrpState::Master) {
            cx.warn(&vpos, format!("vrrp_instance {}: nopreempt needs initial state BACKUP; it is ignored with MASTER", v.name));
        }
        if v.priority == 255 && v.state == Some(VrrpState::Backup) {
            cx.warn(
                &vpos,
                format!(
                    "vrrp_instance {}: priority 255 (address owner) starts as MASTER, not BACKUP",
                    v.name
                ),
            );
        }
        let fam4 = v
            .virtual_ipaddress
            .first()
            .is_none_or(|a| a.address.is_ipv4());
        if v.virtual_ipaddress
            .iter()
            .any(|a| a.address.is_ipv4() != fam4)
        {
            cx.error(&vpos, format!("vrrp_instance {}: virtual_ipaddress mixes IPv4 and IPv6 (use virtual_ipaddress_excluded)", v.name));
        }
    }

    // Same VRID on the same interface and family.
    let mut vrids: HashMap<(Option<&str>, u8, bool), &str> = HashMap::new();
    for v in &c.vrrp_instances {
        if v.virtual_router_id == 0 {
            continue;
        }
        let fam4 = v
            .virtual_ipaddress
            .first()
            .is_none_or(|a| a.address.is_ipv4());
        let key = (v.interface.as_deref(), v.virtual_router_id, fam4);
        if let Some(other) = vrids.insert(key, v.name.as_str()) {
            if let Some(p) = block_pos(nodes, "vrrp_instance", &v.name).cloned() {
                cx.error(
                    &p,
                    format!(
                        "vrrp_instance {} uses virtual_router_id {} on the same interface as {other}",
                        v.name, v.virtual_router_id
                    ),
                );
            }
        }
    }

    for g in &c.vrrp_sync_groups {
        for m in &g.group {
            if !instances.contains(&m.as_str()) {
                let p = item_pos(nodes, "vrrp_sync_group", &g.name, "group", m).cloned();
                report_missing(
                    cx,
                    p.as_ref(),
                    "vrrp_instance",
                    m,
                    &instances,
                    &format!(" (named in vrrp_sync_group {}; ignored)", g.name),
                );
            }
        }
        if g.group.len() < 2 {
            if let Some(p) = block_pos(nodes, "vrrp_sync_group", &g.name).cloned() {
                cx.warn(
                    &p,
                    format!("vrrp_sync_group {} has fewer than 2 members", g.name),
                );
            }
        }
        for t in &g.track_script {
            if !scripts.contains(&t.name.as_str()) {
                let p =
                    item_pos(nodes, "vrrp_sync_group", &g.name, "track_script", &t.name).cloned();
                report_missing(cx, p.as_ref(), "vrrp_script", &t.name, &scripts, "");
            }
        }
    }

    let groups: Vec<&str> = c
        .virtual_server_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    for (i, v) in c.virtual_servers.iter().enumerate() {
        let vpos = nodes
            .iter()
            .filter(|n| n.kw.text == "virtual_server")
            .nth(i)
            .map(|n| n.pos().clone());
        if let Some(g) = &v.group {
            if !groups.contains(&g.as_str()) {
                report_missing(cx, vpos.as_ref(), "virtual_server_group", g, &groups, "");
            }
        }
        if let (Some(ip), Some(p)) = (v.ip, &vpos) {
            for rs in &v.real_servers {
                if rs.ip.is_ipv4() != ip.is_ipv4() && v.lb_kind != Some(crate::model::LbKind::Tun) {
                    cx.error(p, format!("real_server {} is not of the same address family as virtual_server {ip}", rs.ip));
                }
            }
        }
    }
}
