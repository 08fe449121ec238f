//! VRRP blocks: `vrrp_script`, `vrrp_track_process`, `track_file`,
//! `vrrp_sync_group`, `vrrp_instance`.

use super::{join, raw, Cx};
use crate::keywords as kws;
use crate::model::{
    AuthType, Authentication, GlobalDefs, InitialState, TrackFile, UnicastPeer, VrrpInstance,
    VrrpScript, VrrpSyncGroup, VrrpTrackProcess,
};
use crate::tree::Node;
use std::net::IpAddr;

/// Block name (`vrrp_instance NAME {`); an error if missing.
fn name(cx: &mut Cx, n: &Node) -> Option<String> {
    match n.args.first() {
        Some(t) => {
            cx.at_most(n, 1);
            Some(t.text.clone())
        }
        None if n.kw.text == "vrrp_script" => {
            // keepalived reads the missing name and exits (status 2).
            cx.diags.error_class(
                Some(n.pos()),
                crate::Class::MissingWord,
                "'vrrp_script' is missing a parameter after keyword 'vrrp_script' (keepalived exits here)",
            );
            None
        }
        None => {
            cx.error(n.pos(), format!("'{}' needs a name", n.kw.text));
            None
        }
    }
}

/// `weight W [reverse]`.
/// `unchecked`: keepalived's handler reads the weight without checking it
/// is there (vrrp_script's), so a missing one makes keepalived exit; the
/// trackers' handlers check it.
fn weight(cx: &mut Cx, k: &Node, min: i32, max: i32, unchecked: bool) -> Option<(i32, bool)> {
    if !cx.need_class(k, 1, unchecked) {
        return None;
    }
    let w = cx.num_tok("weight", &k.args[0], min, max)?;
    let rev = match k.args.get(1).map(|t| t.text.as_str()) {
        None | Some("noreverse") => false,
        Some("reverse") => true,
        Some(_) => {
            cx.at_most(k, 1);
            false
        }
    };
    cx.at_most(k, 2);
    Some((w, rev))
}

pub(crate) fn script(cx: &mut Cx, n: &Node) -> Option<VrrpScript> {
    let mut s = VrrpScript {
        name: name(cx, n)?,
        ..Default::default()
    };
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::SCRIPT, "vrrp_script") else {
            continue;
        };
        match d.key() {
            "script" => s.script = cx.rest_string(k).unwrap_or_default(),
            "interval" => {
                if let Some(v) = cx.timer(k, 1e6) {
                    if v == 0.0 {
                        cx.error(k.pos(), "'interval' must be more than 0");
                    } else {
                        s.interval = v;
                    }
                }
            }
            "timeout" => s.timeout = cx.timer(k, 1e6),
            "weight" => {
                if let Some((w, r)) = weight(cx, k, -253, 253, true) {
                    s.weight = w;
                    s.weight_reverse = r;
                }
            }
            "rise" => s.rise = cx.num(k, 1u32, u32::MAX).unwrap_or(s.rise),
            "fall" => s.fall = cx.num(k, 1u32, u32::MAX).unwrap_or(s.fall),
            "user" => {
                if cx.need(k, 1) {
                    cx.at_most(k, 2);
                    s.user = Some(k.args[0].text.clone());
                    s.group = k.args.get(1).map(|t| t.text.clone());
                }
            }
            "init_fail" => s.init_fail = cx.flag(k),
            _ => cx.untyped(d, k, &mut s.extra, "vrrp_script"),
        }
    }
    if s.script.is_empty() {
        cx.warn(
            n.pos(),
            format!("vrrp_script {} has no 'script' (ignored)", s.name),
        );
    }
    Some(s)
}

pub(crate) fn track_process(cx: &mut Cx, n: &Node) -> Option<VrrpTrackProcess> {
    let mut s = VrrpTrackProcess {
        name: name(cx, n)?,
        ..Default::default()
    };
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::PROCESS, "vrrp_track_process") else {
            continue;
        };
        match d.key() {
            "process" => s.process = cx.rest_string(k).unwrap_or_default(),
            "param_match" => s.param_match = cx.one_string(k),
            "weight" => {
                if let Some((w, r)) = weight(cx, k, -254, 254, false) {
                    s.weight = w;
                    s.weight_reverse = r;
                }
            }
            "quorum" => s.quorum = cx.num(k, 0u32, 65535).unwrap_or(s.quorum),
            "quorum_max" => s.quorum_max = cx.num(k, 0u32, 65535),
            "fork_delay" => s.fork_delay = cx.timer(k, 1e6),
            "terminate_delay" => s.terminate_delay = cx.timer(k, 1e6),
            "delay" => s.delay = cx.timer(k, 1e6),
            "full_command" => s.full_command = cx.flag(k),
            _ => cx.untyped(d, k, &mut s.extra, "vrrp_track_process"),
        }
    }
    if s.process.is_empty() {
        cx.error(
            n.pos(),
            format!("vrrp_track_process {} has no 'process'", s.name),
        );
    }
    Some(s)
}

pub(crate) fn track_file(cx: &mut Cx, n: &Node) -> Option<TrackFile> {
    let mut s = TrackFile {
        name: name(cx, n)?,
        ..Default::default()
    };
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::FILE, "track_file") else {
            continue;
        };
        match d.key() {
            "file" => s.file = cx.one_string(k).unwrap_or_default(),
            "weight" => {
                if let Some((w, r)) = weight(cx, k, -254, 254, false) {
                    s.weight = w;
                    s.weight_reverse = r;
                }
            }
            "init_file" => s.init_file = Some(k.args.iter().map(|t| t.text.clone()).collect()),
            _ => cx.untyped(d, k, &mut s.extra, "track_file"),
        }
    }
    if s.file.is_empty() {
        cx.error(n.pos(), format!("track_file {} has no 'file'", s.name));
    }
    Some(s)
}

pub(crate) fn sync_group(cx: &mut Cx, n: &Node) -> Option<VrrpSyncGroup> {
    let mut s = VrrpSyncGroup {
        name: name(cx, n)?,
        ..Default::default()
    };
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::SYNC, "vrrp_sync_group") else {
            continue;
        };
        match d.key() {
            "group" => {
                // Every word of every line is a member; a second list is
                // ignored (keepalived reports it).
                let mut names = Vec::new();
                for l in cx.block(k) {
                    names.extend(
                        std::iter::once(&l.kw)
                            .chain(&l.args)
                            .map(|t| t.text.clone()),
                    );
                }
                if s.group.is_empty() {
                    s.group = names;
                }
            }
            // A script given twice: keepalived keeps the first (and reports it).
            "notify_master" if s.notify_master.is_none() => s.notify_master = cx.notify_script(k),
            "notify_master" => {}
            "notify_backup" if s.notify_backup.is_none() => s.notify_backup = cx.notify_script(k),
            "notify_backup" => {}
            "notify_fault" if s.notify_fault.is_none() => s.notify_fault = cx.notify_script(k),
            "notify_fault" => {}
            "notify_stop" if s.notify_stop.is_none() => s.notify_stop = cx.notify_script(k),
            "notify_stop" => {}
            "notify" if s.notify.is_none() => s.notify = cx.notify_script(k),
            "notify" => {}
            "smtp_alert" => s.smtp_alert = Some(cx.flag(k)),
            "notify_priority_changes" => s.notify_priority_changes = Some(cx.flag(k)),
            "global_tracking" => {
                cx.warn(k.pos(), "'global_tracking' is deprecated - use track scripts with weight 0 or 'sync_group_tracking_weight'");
                s.global_tracking = cx.flag(k)
            }
            "sync_group_tracking_weight" => s.sync_group_tracking_weight = cx.flag(k),
            "track_interface" => s.track_interface.extend(cx.track_refs(k, -253, 253)),
            "track_script" => s.track_script.extend(cx.track_refs(k, -253, 253)),
            "track_file" => s.track_file.extend(cx.track_refs(k, -254, 254)),
            "track_process" => s.track_process.extend(cx.track_refs(k, -254, 254)),
            _ => cx.untyped(d, k, &mut s.extra, "vrrp_sync_group"),
        }
    }
    Some(s)
}

/// Values an instance takes from `global_defs` unless it sets its own.
fn inherit(g: &GlobalDefs) -> VrrpInstance {
    VrrpInstance {
        version: g.vrrp_version,
        strict_mode: g.vrrp_strict,
        skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
        check_unicast_src: g.vrrp_check_unicast_src,
        lower_prio_no_advert: g.vrrp_lower_prio_no_advert,
        higher_prio_send_advert: g.vrrp_higher_prio_send_advert,
        smtp_alert: g.smtp_alert_vrrp.or(g.smtp_alert),
        garp_master_delay: g.vrrp_garp_master_delay,
        garp_master_repeat: g.vrrp_garp_master_repeat,
        garp_master_refresh: g.vrrp_garp_master_refresh,
        garp_master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
        garp_lower_prio_delay: g.garp_lower_prio_delay(),
        garp_lower_prio_repeat: g.garp_lower_prio_repeat(),
        interface: g.default_interface.clone(),
        ..Default::default()
    }
}

pub(crate) fn instance(cx: &mut Cx, n: &Node, g: &GlobalDefs) -> Option<VrrpInstance> {
    let mut v = inherit(g);
    v.name = name(cx, n)?;
    let mut priority_set = false;
    // Whether the instance sets these itself (strict mode treats the two
    // cases differently).
    let (mut lower_delay_set, mut lower_repeat_set) = (false, false);
    let mut no_advert_set = false;
    // A unicast keyword written in this instance (not inherited).
    let mut unicast_kw: Option<crate::diag::Pos> = None;
    let mut advert_tok = None;
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::INSTANCE, "vrrp_instance") else {
            continue;
        };
        match d.key() {
            "state" => {
                if cx.need(k, 1) {
                    cx.at_most(k, 1);
                    match k.args[0].text.as_str() {
                        "MASTER" => v.state = Some(InitialState::Master),
                        "BACKUP" => v.state = Some(InitialState::Backup),
                        other => cx.error(
                            &k.args[0].pos,
                            format!("unknown state '{other}': expected MASTER or BACKUP"),
                        ),
                    }
                }
            }
            "interface" => v.interface = cx.one_string(k),
            "virtual_router_id" => {
                if let Some(id) = cx.num(k, 1u8, 255) {
                    v.virtual_router_id = id;
                }
            }
            "priority" => {
                if let Some(p) = cx.num(k, 1u8, 255) {
                    v.priority = p;
                    priority_set = true;
                }
            }
            "advert_int" => {
                if let Some(a) = cx.timer(k, 255.0) {
                    if a < 0.01 {
                        cx.error(
                            &k.args[0].pos,
                            format!(
                                "'advert_int' value {} is outside the range [0.01, 255] seconds",
                                k.args[0].text
                            ),
                        );
                    } else {
                        v.advert_int = a;
                        advert_tok = Some(k.args[0].clone());
                    }
                }
            }
            "version" => v.version = cx.num(k, 2u8, 3).unwrap_or(v.version),
            "nopreempt" => v.nopreempt = cx.flag(k),
            "preempt" => v.nopreempt = !cx.flag(k),
            "preempt_delay" => v.preempt_delay = cx.timer(k, 1000.0).unwrap_or(v.preempt_delay),
            "accept" => v.accept = Some(cx.flag(k)),
            "no_accept" => v.accept = Some(!cx.flag(k)),
            "strict_mode" => v.strict_mode = cx.flag(k),
            "skip_check_adv_addr" => v.skip_check_adv_addr = cx.flag(k),
            "check_unicast_src" => {
                unicast_kw = Some(k.pos().clone());
                v.check_unicast_src = cx.flag(k)
            }
            "lower_prio_no_advert" => {
                v.lower_prio_no_advert = cx.flag(k);
                no_advert_set = true;
            }
            "higher_prio_send_advert" => v.higher_prio_send_advert = cx.flag(k),
            "mcast_src_ip" => v.mcast_src_ip = cx.ip(k),
            "mcast_dst_ip" => v.mcast_dst_ip = cx.ip(k),
            "unicast_src_ip" => {
                unicast_kw = Some(k.pos().clone());
                v.unicast_src_ip = cx.ip(k)
            }
            "unicast_peer" => {
                for l in cx.block(k) {
                    let Some(address) = cx.ip_tok("unicast_peer", &l.kw) else {
                        continue;
                    };
                    let mut p = UnicastPeer {
                        address,
                        min_ttl: None,
                        max_ttl: None,
                    };
                    let mut i = 0;
                    while i < l.args.len() {
                        let t = &l.args[i];
                        match (t.text.as_str(), l.args.get(i + 1)) {
                            ("min_ttl", Some(x)) => p.min_ttl = cx.num_tok("min_ttl", x, 0u8, 255),
                            ("max_ttl", Some(x)) => p.max_ttl = cx.num_tok("max_ttl", x, 0u8, 255),
                            _ => cx.error(
                                &t.pos,
                                format!("unexpected '{}' after unicast peer", t.text),
                            ),
                        }
                        i += 2;
                    }
                    v.unicast_peer.push(p);
                }
            }
            "unicast_ttl" => v.unicast_ttl = cx.num(k, 0u8, 255),
            "unicast_fault_no_peer" => v.unicast_fault_no_peer = cx.flag(k),
            "authentication" => v.authentication = authentication(cx, k),
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                let excluded = k.kw.text == "virtual_ipaddress_excluded";
                for l in cx.block(k) {
                    if let Some(ip) = cx.vip(l) {
                        if excluded {
                            v.virtual_ipaddress_excluded.push(ip);
                        } else {
                            v.virtual_ipaddress.push(ip);
                        }
                    }
                }
            }
            "virtual_routes" => v.virtual_routes.extend(cx.lines(k)),
            "virtual_rules" => v.virtual_rules.extend(cx.lines(k)),
            "track_interface" => v.track_interface.extend(cx.track_refs(k, -253, 253)),
            "track_script" => v.track_script.extend(cx.track_refs(k, -253, 253)),
            "track_file" => v.track_file.extend(cx.track_refs(k, -254, 254)),
            "track_process" => v.track_process.extend(cx.track_refs(k, -254, 254)),
            "track_bfd" => v.track_bfd.extend(cx.track_refs(k, -253, 253)),
            "dont_track_primary" => v.dont_track_primary = cx.flag(k),
            // After an IPv4 address keepalived refuses it (kchecks says so).
            "native_ipv6" => {
                if v.virtual_ipaddress
                    .first()
                    .is_none_or(|a| a.address.is_ipv6())
                {
                    v.native_ipv6 = true;
                    v.version = 3;
                }
            }
            "notify_priority_changes" => v.notify_priority_changes = Some(cx.flag(k)),
            "down_timer_adverts" => {
                if let Some(n) = super::global::down_timer_adverts(cx, k) {
                    v.down_timer_adverts = Some(n);
                }
            }
            // A script given twice: keepalived keeps the first (and reports it).
            "notify_master" if v.notify_master.is_none() => v.notify_master = cx.notify_script(k),
            "notify_master" => {}
            "notify_backup" if v.notify_backup.is_none() => v.notify_backup = cx.notify_script(k),
            "notify_backup" => {}
            "notify_fault" if v.notify_fault.is_none() => v.notify_fault = cx.notify_script(k),
            "notify_fault" => {}
            "notify_stop" if v.notify_stop.is_none() => v.notify_stop = cx.notify_script(k),
            "notify_stop" => {}
            "notify" if v.notify.is_none() => v.notify = cx.notify_script(k),
            "notify" => {}
            "notify_master_rx_lower_pri" if v.notify_master_rx_lower_pri.is_none() => {
                v.notify_master_rx_lower_pri = cx.notify_script(k)
            }
            // The first counts (kchecks report another); its script is
            // optional.
            "notify_deleted" if !v.notify_deleted => {
                v.notify_deleted = true;
                if !k.args.is_empty() {
                    v.notify_deleted_script = cx.notify_script(k);
                }
            }
            "notify_deleted" => {}
            "notify_master_rx_lower_pri" => {}
            "smtp_alert" => v.smtp_alert = Some(cx.flag(k)),
            "use_vmac" => v.use_vmac = Some(join(&k.args)),
            // (A second use_ipvlan is reported by the config checks and
            // ignored, as keepalived ignores it.)
            "use_ipvlan" if v.use_ipvlan.is_none() => v.use_ipvlan = Some(join(&k.args)),
            "use_ipvlan" => {}
            // (A bad value is kchecks' to report; keepalived keeps the last
            // good one.)
            "debug" => {
                if let Some(d) = k
                    .args
                    .first()
                    .and_then(|t| t.text.parse::<u8>().ok())
                    .filter(|d| *d <= 4)
                {
                    v.debug = d;
                }
            }
            "vmac_xmit_base" => v.vmac_xmit_base = cx.flag(k),
            "use_vmac_addr" => v.use_vmac_addr = cx.flag(k),
            "promote_secondaries" => v.promote_secondaries = cx.flag(k),
            "track_src_ip" => v.track_src_ip = true,
            // (A bad word is kchecks' to report; keepalived keeps none.)
            "kernel_rx_buf_size" => {
                if let [t] = k.args.as_slice() {
                    if let Ok(n) = t.text.parse::<u32>() {
                        v.kernel_rx_buf_size = Some(n);
                    }
                }
            }
            "garp_extra_if" => {
                if let Some(d) = extra_if(k, 0, &mut v.garp_extra_if_all) {
                    v.garp_extra_if = Some(d);
                }
            }
            "garp_master_delay" => {
                v.garp_master_delay = cx.timer(k, 1e6).unwrap_or(v.garp_master_delay)
            }
            "garp_master_repeat" => {
                v.garp_master_repeat = cx.num(k, 0u32, u32::MAX).unwrap_or(v.garp_master_repeat)
            }
            "garp_master_refresh" => {
                v.garp_master_refresh = cx.timer(k, 1e6).unwrap_or(v.garp_master_refresh)
            }
            "garp_master_refresh_repeat" => {
                v.garp_master_refresh_repeat = cx
                    .num(k, 0u32, u32::MAX)
                    .unwrap_or(v.garp_master_refresh_repeat)
            }
            "garp_lower_prio_delay" => {
                if let Some(d) = cx.timer(k, 1e6) {
                    v.garp_lower_prio_delay = d;
                    lower_delay_set = true;
                }
            }
            "garp_lower_prio_repeat" => {
                if let Some(r) = cx.num(k, 0u32, u32::MAX) {
                    v.garp_lower_prio_repeat = r;
                    lower_repeat_set = true;
                }
            }
            "linkbeat_use_polling" => {
                cx.warn(k.pos(), "'linkbeat_use_polling' in vrrp_instance is deprecated - use a linkbeat_interfaces block");
                v.extra.push(raw(k));
            }
            "old_unicast_checksum" => {
                unicast_kw = Some(k.pos().clone());
                v.old_unicast_checksum =
                    Some(k.args.first().map(|t| t.text.clone()).unwrap_or_default());
            }
            _ => cx.untyped(d, k, &mut v.extra, "vrrp_instance"),
        }
    }
    if let Some(vrf) = v.extra.iter().find(|s| s.keyword == "vrf") {
        if v.interface.is_some() {
            let p = n
                .block
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .find(|k| k.kw.text == "vrf")
                .map_or(n.pos(), |k| k.pos())
                .clone();
            cx.warn(&p, format!("vrrp_instance {}: 'vrf {}' and 'interface' together - vrf ignored, as keepalived does", v.name, vrf.args.join(" ")));
        }
    }
    if let Some(ipv) = v.ipvlan_parts() {
        if ipv.addr.is_none()
            && v.virtual_ipaddress
                .first()
                .is_some_and(|a| a.address.is_ipv4())
        {
            cx.warn(n.pos(), format!("vrrp_instance {}: IPv4 use_ipvlan needs a source address ('use_ipvlan IF ADDR'); keepalived puts the instance in FAULT", v.name));
        }
    }
    if v.unicast_peer.is_empty() {
        // With unicast_fault_no_peer keepalived goes to FAULT instead.
        if let Some(p) = unicast_kw.filter(|_| !v.unicast_fault_no_peer) {
            cx.warn(&p, format!("vrrp_instance {}: a unicast keyword without any unicast_peer: keepalived uses multicast (deprecated usage)", v.name));
        }
        if v.unicast_ttl.is_some() {
            cx.warn(n.pos(), format!("vrrp_instance {}: unicast_ttl without unicast peers - reset, as keepalived does", v.name));
            v.unicast_ttl = None;
        }
    }
    if v.nopreempt && v.state == Some(InitialState::Master) {
        cx.warn(n.pos(), format!("vrrp_instance {}: nopreempt does not work with initial state MASTER - cleared, as keepalived does", v.name));
        v.nopreempt = false;
    }
    if v.nopreempt && v.preempt_delay != 0.0 {
        cx.warn(n.pos(), format!("vrrp_instance {}: preempt_delay is incompatible with nopreempt - reset to 0, as keepalived does", v.name));
        v.preempt_delay = 0.0;
    }
    // keepalived 2.2.7 (vrrp.c, vrrp_complete_instance): in strict mode no
    // gratuitous ARPs answer a lower-priority advert; set anyway, it says
    // so and resets them.
    if v.strict_mode {
        if lower_repeat_set && v.garp_lower_prio_repeat != 0 {
            cx.warn(
                n.pos(),
                format!(
                    "({}) Strict mode requires no repeat garps. resetting",
                    v.name
                ),
            );
        }
        if lower_delay_set && v.garp_lower_prio_delay != 0.0 {
            cx.warn(
                n.pos(),
                format!(
                    "({}) Strict mode requires no repeat garp delay. resetting",
                    v.name
                ),
            );
        }
        v.garp_lower_prio_repeat = 0;
        v.garp_lower_prio_delay = 0.0;
        // Nor does it answer a lower priority, or a higher one.
        if no_advert_set && !v.lower_prio_no_advert {
            cx.warn(
                n.pos(),
                format!(
                    "({}) Strict mode requires no lower priority advert. resetting",
                    v.name
                ),
            );
        }
        // (The keyword checks report a set higher_prio_send_advert.)
        v.lower_prio_no_advert = true;
        v.higher_prio_send_advert = false;
    }
    // keepalived 2.2.7 (vrrp.c vrrp_complete_instance): a multicast IPv6
    // instance's first VIP should be link-local (RFC 5798 §5.2.9); in
    // strict mode that is a configuration error it reports.
    if let Some(IpAddr::V6(first)) = v.virtual_ipaddress.first().map(|x| x.address) {
        if v.unicast_peer.is_empty() && !first.is_unicast_link_local() {
            if v.strict_mode {
                cx.warn(
                    n.pos(),
                    format!("({}) the first IPv6 VIP address must be link local", v.name),
                );
            } else {
                cx.diags.note(
                    n.pos(),
                    format!(
                        "({}) the first IPv6 VIP address should be link local",
                        v.name
                    ),
                );
            }
        }
    }
    // keepalived 2.2.7 (vrrp_complete_instance): an address's `use_vmac`
    // where the instance's VMAC or `use_vmac_addr` already decides.
    let v6 = v
        .virtual_ipaddress
        .first()
        .is_some_and(|x| x.address.is_ipv6());
    let primary = v.interface.clone().or_else(|| g.default_interface.clone());
    for x in v
        .virtual_ipaddress
        .iter()
        .chain(&v.virtual_ipaddress_excluded)
        .filter(|x| x.options.iter().any(|o| o == "use_vmac"))
    {
        let on_primary = x.dev.is_none() || x.dev == primary;
        let same_family = x.address.is_ipv6() == v6;
        let text = match (x.address, x.prefix) {
            (IpAddr::V4(a), Some(p)) if p != 32 => format!("{a}/{p}"),
            (IpAddr::V6(a), Some(p)) if p != 128 => format!("{a}/{p}"),
            (a, _) => a.to_string(),
        };
        if on_primary && v.use_vmac.is_some() && same_family {
            cx.warn(
                n.pos(),
                format!(
                    "({}) use_vmac specified for VIP/eVIP {text} and vrrp instance",
                    v.name
                ),
            );
        } else if (!on_primary || !same_family) && v.use_vmac_addr {
            cx.warn(
                n.pos(),
                format!(
                    "({}) use_vmac_addr specified and use_vmac specified for VIP/eVIP {text}",
                    v.name
                ),
            );
        }
    }
    // The classic trap (keepalived says nothing): strict mode implies
    // no_accept, so a master drops traffic to its own VIPs.
    if v.strict_mode && v.accept.is_none() && v.priority != 255 {
        cx.diags.note(
            n.pos(),
            format!(
                "vrrp_instance {}: strict mode implies no_accept - while MASTER it drops traffic to its virtual addresses (nftables table keepalived); add 'accept' for them to answer",
                v.name
            ),
        );
    }
    if v.strict_mode && v.authentication.is_some() {
        cx.warn(n.pos(), format!("vrrp_instance {}: strict mode does not support authentication - ignored, as keepalived does", v.name));
        v.authentication = None;
    }
    if v.strict_mode && v.state == Some(InitialState::Master) && priority_set && v.priority != 255 {
        cx.warn(n.pos(), format!("vrrp_instance {}: in strict mode, state MASTER needs priority 255 (the address owner)", v.name));
    }
    for k in n.block.as_deref().unwrap_or(&[]) {
        match k.kw.text.as_str() {
            "virtual_routes" => {
                for l in k.block.as_deref().unwrap_or(&[]) {
                    let has = |w: &str| l.kw.text == w || l.args.iter().any(|a| a.text == w);
                    if !has("dev") && !has("no_track") {
                        cx.warn(l.pos(), "route with no 'dev': keepalived cannot track it (add 'dev IF' or 'no_track')");
                    }
                    if let Err(e) = crate::route::parse_route(&super::line_text(l)) {
                        cx.warn(
                            l.pos(),
                            format!("virtual_routes: {e}; the route is ignored"),
                        );
                    }
                }
            }
            "virtual_rules" => super::check_rules(cx, k, false),
            _ => {}
        }
    }
    if !priority_set && v.state == Some(InitialState::Master) {
        // keepalived 2.2.7: an initial MASTER with no priority is the owner.
        v.priority = 255;
    }
    if let Some(t) = advert_tok {
        if v.version == 2 && (v.advert_int < 1.0 || v.advert_int.fract() != 0.0) {
            cx.warn(
                &t.pos,
                format!("advert_int {} is not a whole number of seconds >= 1, which VRRPv2 needs; rounded", t.text),
            );
            v.advert_int = v.advert_int.round().max(1.0);
        } else if v.version == 3 && v.advert_int > 40.95 {
            cx.warn(&t.pos, format!("advert_int {} is above VRRPv3's maximum 40.95 seconds; set to 40.95, as keepalived does", t.text));
            v.advert_int = 40.95;
        } else if v.version == 3 {
            // VRRPv3 counts in centiseconds.
            v.advert_int = (v.advert_int * 100.0).round() / 100.0;
        }
    }
    Some(v)
}

fn authentication(cx: &mut Cx, n: &Node) -> Option<Authentication> {
    let mut ty = None;
    let mut pass: Option<String> = None;
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::AUTH, "authentication") else {
            continue;
        };
        match d.key() {
            "auth_type" => {
                if cx.need(k, 1) {
                    cx.at_most(k, 1);
                    match k.args[0].text.as_str() {
                        "PASS" => ty = Some(AuthType::Pass),
                        "AH" => ty = Some(AuthType::Ah),
                        other => cx.error(
                            &k.args[0].pos,
                            format!("unknown auth_type '{other}': expected PASS or AH"),
                        ),
                    }
                }
            }
            "auth_pass" => {
                if cx.need(k, 1) {
                    // keepalived takes the rest of the line as the password.
                    let mut p = join(&k.args);
                    if p.chars().count() > 8 {
                        cx.warn(k.pos(), "auth_pass is longer than 8 characters: truncated to 8, as keepalived does");
                        p = p.chars().take(8).collect();
                    }
                    pass = Some(p);
                }
            }
            _ => cx.no_arm(k, "authentication"),
        }
    }
    let auth_type = ty?;
    if pass.is_none() {
        cx.warn(
            n.pos(),
            "authentication has no auth_pass: ignored, as keepalived does",
        );
        return None;
    }
    Some(Authentication {
        auth_type,
        auth_pass: pass,
    })
}

/// `garp_extra_if` / `vrrp_garp_extra_if [all] SECS` as keepalived reads
/// them: each `all` sets the flag as it is met, the last number in
/// [`min`, 86400] is the interval; a bad word ignores the rest (kchecks
/// report it), no number leaves the interval unset.
pub(crate) fn extra_if(k: &Node, min: u32, all: &mut bool) -> Option<u32> {
    let mut delay = None;
    for t in &k.args {
        if t.text == "all" {
            *all = true;
            continue;
        }
        match t.text.parse::<u32>() {
            Ok(v) if (min..=86400).contains(&v) => delay = Some(v),
            _ => return None,
        }
    }
    delay
}
