//! VRRP: instances, scripts, trackers, sync groups, BFD, garp groups
//! (`vrrp/vrrp_parser.c`, `vrrp/vrrp.c`, `vrrp/vrrp_sync.c`, `bfd/bfd_parser.c`).

#![allow(clippy::collapsible_match)]

use super::*;

/// `vrrp_sync_set_group()` checks, once every instance is known.
pub(super) fn sync_group_complete(cx: &mut Cx, n: &Node, st: &State) {
    let name = n.args.first().map(|a| a.text.as_str()).unwrap_or("");
    let body = n.block.as_deref().unwrap_or(&[]);
    let members: Vec<&Token> = body
        .iter()
        .filter(|k| k.kw.text == "group")
        .take(1)
        .flat_map(|k| k.block.as_deref().unwrap_or(&[]))
        .flat_map(|l| std::iter::once(&l.kw).chain(&l.args))
        .collect();
    let prios: Vec<u64> = members
        .iter()
        .filter_map(|m| st.instances.get(&m.text).map(|i| i.0))
        .collect();
    let owners = prios.iter().filter(|p| **p == 255).count();
    // vrrp_complete_instance(): a member of a group without
    // sync_group_tracking_weight cannot use weights on its own trackers.
    if !body
        .iter()
        .any(|k| k.kw.text == "sync_group_tracking_weight")
    {
        for m in &members {
            for (kw, what, weight, pos) in st.weighted_trackers.get(&m.text).into_iter().flatten() {
                let msg = match kw.as_str() {
                    "track_interface" => format!(
                        "({}) ignoring {what} tracked interface weight due to SYNC group",
                        m.text
                    ),
                    "track_script" => format!(
                        "({}) ignoring tracked script {what} with weights due to SYNC group",
                        m.text
                    ),
                    _ if *weight == 1 => format!(
                        "({}) ignoring weight from tracked file {what} due to SYNC group. specify weight 0",
                        m.text
                    ),
                    _ => format!(
                        "({}) ignoring tracked file {what} with weight {weight} due to SYNC group",
                        m.text
                    ),
                };
                cx.warn(pos, msg);
            }
        }
    }
    if owners > 0 && owners < prios.len() {
        cx.warn(n.pos(), format!("Sync group {name} has some member(s) as address owner and some not as address owner. This won't work."));
    }
    for k in body.iter().filter(|k| k.kw.text == "track_interface") {
        for l in k.block.as_deref().unwrap_or(&[]) {
            for m in &members {
                if st
                    .instances
                    .get(&m.text)
                    .is_some_and(|i| i.1.contains(&l.kw.text))
                {
                    cx.warn(l.pos(), format!("({}) track_interface {} is configured on VRRP instance and sync group. Remove vrrp instance or sync group config", m.text, l.kw.text));
                }
            }
            let weighted = l
                .args
                .windows(2)
                .any(|w| w[0].text == "weight" && w[1].text != "0");
            if weighted && owners > 0 {
                cx.warn(l.pos(), format!("({name}) Cannot have weighted track interface '{}' with member having priority 255 - clearing weight", l.kw.text));
            }
        }
    }
}

/// Is `s` a MAC address (six hex pairs separated by ':')?
pub(super) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    crate::model::parse_vmac_mac(s).map(|(m, _)| m)
}

/// `vrrp_complete_instance()`: checks that need the whole instance.
pub(super) fn instance_complete(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    let name = n.args.first().map(|a| a.text.clone()).unwrap_or_default();
    let find = |kw: &str| body.iter().find(|k| k.kw.text == kw);
    let has = |kw: &str| body.iter().any(|k| k.kw.text == kw);
    let arg0 = |kw: &str| {
        find(kw)
            .and_then(|k| k.args.first())
            .map(|t| t.text.clone())
    };
    let state = arg0("state");
    let master = state.as_deref() == Some("MASTER");
    let priority: u64 = arg0("priority").and_then(|p| p.parse().ok()).unwrap_or(100);
    let owner = priority == 255;
    let strict = st.strict || has("strict_mode");
    let vips: Vec<&Node> = body
        .iter()
        .filter(|k| k.kw.text == "virtual_ipaddress")
        .flat_map(|k| k.block.as_deref().unwrap_or(&[]))
        .collect();
    let evips = body
        .iter()
        .filter(|k| k.kw.text == "virtual_ipaddress_excluded")
        .flat_map(|k| k.block.as_deref().unwrap_or(&[]))
        .count();
    let vip_v6: Vec<bool> = vips
        .iter()
        .filter_map(|l| {
            l.kw.text
                .split('/')
                .next()
                .and_then(|a| a.parse::<std::net::IpAddr>().ok())
        })
        .map(|a| a.is_ipv6())
        .collect();
    let family_v6 = vip_v6.first().copied();
    let explicit_version: Option<i64> = arg0("version").and_then(|v| v.parse().ok());
    let version = explicit_version
        .or(if family_v6 == Some(true) {
            Some(3)
        } else {
            None
        })
        .or(st.version)
        .unwrap_or(2);
    // native_ipv6 after `version 2` makes the instance VRRPv3 (keepalived's
    // handler sets the version).
    let v3_after = body
        .iter()
        .rposition(|k| k.kw.text == "native_ipv6")
        .is_some_and(|n| {
            body.iter()
                .rposition(|k| k.kw.text == "version")
                .is_none_or(|v| v < n)
        });
    if family_v6 == Some(true) && explicit_version == Some(2) && !v3_after {
        if let Some(k) = find("version") {
            cx.warn(k.pos(), format!("({name}) vrrp_version 2 conflicts with configured or deduced version 0; ignoring."));
        }
    }
    if version == 3 {
        if let Some(t) = find("advert_int").and_then(|k| k.args.first()) {
            if let Ok(v) = t.text.parse::<f64>() {
                let cs = v * 100.0;
                if (cs - cs.round()).abs() > 1e-6 {
                    cx.warn(&t.pos, format!("({name}) VRRPv3 advertisement interval {v:.6}s must be in units of 10ms - rounding"));
                }
            }
        }
    }
    if vips.is_empty() && evips > 0 {
        cx.warn(
            n.pos(),
            format!("({name}) No VIP specified; at least one is sensible"),
        );
    }
    let peers: Vec<&Node> = body
        .iter()
        .filter(|k| k.kw.text == "unicast_peer")
        .flat_map(|k| k.block.as_deref().unwrap_or(&[]))
        .collect();
    let unicast = !peers.is_empty();
    if unicast && !has("interface") {
        cx.warn(n.pos(), format!("({name}) Unknown interface!"));
    }
    let fam = family_v6.unwrap_or(false);
    if let Some(t) = find("mcast_src_ip").and_then(|k| k.args.first()) {
        if t.text
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_ipv6() != fam)
        {
            cx.warn(&t.pos, format!("Configuration error: VRRP instance[{name}] and src address[{}] MUST be of the same family !!! Skipping...", t.text));
        }
    }
    if let Some(t) = find("mcast_dst_ip").and_then(|k| k.args.first()) {
        if unicast {
            cx.warn(
                &t.pos,
                format!("({name}) multicast destination specified with unicast - ignoring"),
            );
        } else if t
            .text
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| !a.is_multicast())
        {
            cx.warn(
                &t.pos,
                format!(
                    "({name}) mcast_dst_ip {} not multicast. Skipping...",
                    t.text
                ),
            );
        }
    }
    let mut peer_fam = None;
    for p in &peers {
        if let Ok(a) = p.kw.text.parse::<std::net::IpAddr>() {
            let want = family_v6.or(peer_fam).unwrap_or(a.is_ipv6());
            if a.is_ipv6() != want {
                cx.warn(p.pos(), format!("Configuration error: VRRP instance[{name}] and unicast peer address[{}] MUST be of the same family !!! Skipping...", p.kw.text));
            } else {
                peer_fam = Some(a.is_ipv6());
            }
        }
        let get = |w: &str| {
            p.args
                .windows(2)
                .find(|x| x[0].text == w)
                .and_then(|x| x[1].text.parse::<u64>().ok())
        };
        if let (Some(mn), Some(mx)) = (get("min_ttl"), get("max_ttl")) {
            if mn > mx {
                cx.warn(
                    p.pos(),
                    format!("({name}) min_ttl {mn} > max_ttl {mx} - all packets will be discarded"),
                );
            }
        }
    }
    if let Some(t) = find("old_unicast_checksum").and_then(|k| k.args.first()) {
        if t.text != "never" {
            cx.warn(
                &t.pos,
                format!(
                    "({name}) Unknown old_unicast_chksum mode {} - ignoring",
                    t.text
                ),
            );
        }
    }
    if has("native_ipv6") && family_v6 == Some(false) {
        cx.warn(
            n.pos(),
            format!("({name}) Cannot specify native_ipv6 with IPv4 addresses"),
        );
    }
    if strict {
        for (kw, msg) in [
            (
                "preempt_delay",
                "preempt_delay is incompatible with strict mode - resetting",
            ),
            (
                "down_timer_adverts",
                "down_timer_adverts is incompatible with strict mode - resetting",
            ),
            (
                "higher_prio_send_advert",
                "strict mode requires higher_prio_send_advert to be clear. resetting",
            ),
        ] {
            if let Some(k) = find(kw) {
                cx.warn(k.pos(), format!("({name}) {msg}"));
            }
        }
        if version == 2 {
            if let Some(k) = find("accept") {
                cx.warn(k.pos(), format!("({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"));
            }
        }
        if let Some(k) = find("use_vmac") {
            if k.args.iter().any(|t| parse_mac(&t.text).is_some()) {
                cx.warn(
                    k.pos(),
                    format!("({name}): cannot specify MAC address with strict mode - clearing"),
                );
            }
        }
    }
    let auth = body
        .iter()
        .find(|k| k.kw.text == "authentication")
        .map(|k| {
            k.block
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .find(|l| l.kw.text == "auth_type")
                .and_then(|l| l.args.first())
                .map(|t| t.text.clone())
                .unwrap_or_default()
        });
    if let Some(a) = &auth {
        if version == 3 {
            cx.warn(
                n.pos(),
                format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
            );
        } else if a == "AH" && master {
            cx.warn(n.pos(), format!("({name}) Initial state master is incompatible with AH authentication - clearing"));
        }
    }
    if owner {
        if let Some(k) = find("nopreempt") {
            cx.warn(
                k.pos(),
                format!(
                    "({name}) nopreempt is incompatible with priority 255. resetting nopreempt"
                ),
            );
        }
    }
    if master {
        if let Some(k) = find("preempt_delay") {
            cx.warn(k.pos(), format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"));
        }
    }
    if let Some(t) = find("vrf").and_then(|k| k.args.first()) {
        if if_missing(&t.text) {
            cx.warn(
                &t.pos,
                format!("({name}) WARNING - VRF interface {} doesn't exist", t.text),
            );
        }
    }
    let vmac = find("use_vmac");
    if let Some(k) = vmac {
        let mut name_seen = false;
        for t in &k.args {
            if t.text.contains(':') {
                match parse_mac(&t.text) {
                    None => cx.warn(&t.pos, format!("VMAC invalid MAC address {}", t.text)),
                    Some(m) if m[0] & 1 == 1 => cx.warn(
                        &t.pos,
                        format!("VMAC MAC address is multicast {} - ignoring", t.text),
                    ),
                    Some(m) if m[..5] == [0, 0, 0x5e, 0, 1] || m[..5] == [0, 0, 0x5e, 0, 2] => cx
                        .warn(
                            &t.pos,
                            format!(
                            "VMAC MAC address not allowed to be RFC5798 address ({}) - ignoring",
                            t.text
                        ),
                        ),
                    Some(_) => {}
                }
            } else if name_seen {
                cx.warn(&t.pos, "VMAC interface name already specified");
            } else {
                name_seen = true;
                if crate::host::interfaces().is_some_and(|ifs| ifs.contains(&t.text)) {
                    cx.warn(&t.pos, format!("({name}) interface {} already exists and is not a private macvlan; ignoring vmac if_name", t.text));
                }
            }
        }
        if let Some(p) = find("promote_secondaries") {
            cx.warn(
                p.pos(),
                format!("({name}) promote_secondaries is automatically set for vmacs - ignoring"),
            );
        }
        if unicast && !has("vmac_xmit_base") {
            cx.warn(
                k.pos(),
                format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
            );
        }
    } else if let Some(k) = find("vmac_xmit_base") {
        cx.warn(
            k.pos(),
            format!("({name}) vmac_xmit_base is only valid with a vmac"),
        );
    }
    if let Some(k) = find("use_ipvlan") {
        let mut ty = false;
        for t in &k.args {
            if matches!(t.text.as_str(), "bridge" | "private" | "vepa") {
                if ty {
                    cx.warn(
                        &t.pos,
                        format!(
                            "({name}) ipvlan type already specified - ignoring '{}'",
                            t.text
                        ),
                    );
                }
                ty = true;
            } else if let Some(Ok(a)) = t
                .text
                .split('/')
                .next()
                .map(|a| a.parse::<std::net::IpAddr>())
            {
                if a.is_ipv6() != fam {
                    cx.warn(&t.pos, format!("({name}) ipvlan address[{}] MUST match vrrp instance family !!! Skipping...", t.text));
                }
            }
        }
    }
    let own_if = arg0("interface");
    let mut tracked_ifs = Vec::new();
    for k in body {
        let kw = k.kw.text.as_str();
        if !kw.starts_with("track_") {
            continue;
        }
        for l in k.block.as_deref().unwrap_or(&[]) {
            let w = l
                .args
                .windows(2)
                .find(|x| x[0].text == "weight")
                .and_then(|x| x[1].text.parse::<i64>().ok());
            let weight = match kw {
                "track_script" => w.or_else(|| st.script_weights.get(&l.kw.text).copied()),
                "track_file" => {
                    w.or_else(|| Some(st.file_weights.get(&l.kw.text).copied().unwrap_or(1)))
                }
                _ => w,
            }
            .unwrap_or(0);
            if weight != 0 && matches!(kw, "track_interface" | "track_script" | "track_file") {
                st.weighted_trackers.entry(name.clone()).or_default().push((
                    kw.to_string(),
                    l.kw.text.clone(),
                    weight,
                    l.pos().clone(),
                ));
            }
            if kw == "track_interface" {
                if own_if.as_deref() == Some(l.kw.text.as_str()) {
                    cx.warn(
                        l.pos(),
                        format!(
                            "({name}) Ignoring track_interface {} since own interface",
                            l.kw.text
                        ),
                    );
                    continue;
                }
                tracked_ifs.push(l.kw.text.clone());
            }
            if owner && weight != 0 {
                let what = match kw {
                    "track_script" => "tracked script",
                    "track_interface" => "tracked interface",
                    "track_file" => "tracked file",
                    "track_process" => "tracked process",
                    "track_bfd" => "tracked bfd",
                    _ => continue,
                };
                cx.warn(
                    l.pos(),
                    format!(
                        "({name}) ignoring {what} {} with weight {weight} due to address_owner",
                        l.kw.text
                    ),
                );
            }
        }
    }
    st.instances.insert(name, (priority, tracked_ifs));
}

pub(super) fn instance(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    let name = n.args.first().map(|a| a.text.clone()).unwrap_or_default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut state: Option<&str> = None;
    for k in body {
        values(cx, "vrrp_instance", k);
        let kw = k.kw.text.as_str();
        let a0 = k.args.first();
        match kw {
            "state" => {
                if let Some(t) = a0 {
                    if let Some(prev) = state.filter(|p| *p != t.text) {
                        cx.warn(
                            &t.pos,
                            format!(
                                "({name}) state previously set as {prev} - ignoring {}",
                                t.text
                            ),
                        );
                    } else {
                        state = Some(t.text.as_str());
                    }
                }
            }
            "interface" => {
                if let Some(t) = a0.filter(|t| t.text == "lo") {
                    cx.warn(
                        &t.pos,
                        format!(
                            "({name}) cannot use a loopback interface (lo) for vrrp - ignoring"
                        ),
                    );
                }
            }
            "advert_int" => {
                if let Some(t) = a0 {
                    cx.k_dec(t, 10_000, 255_000_000, 6);
                }
            }
            "preempt_delay" => {
                if let Some(t) = a0 {
                    cx.k_dec(t, 0, 1_000_000_000, 6);
                }
            }
            "version" => {
                if let Some(t) = a0 {
                    cx.k_int(t, 2, 3);
                }
            }
            "debug" => {
                cx.k_first_uns(k, 0, 4);
            }
            "garp_master_repeat" | "garp_master_refresh_repeat" => {
                if cx.k_first_uns(k, 0, U32) == Some(0) {
                    cx.warn(
                        k.pos(),
                        format!("({name}): {kw} must be greater than 0, setting to 1"),
                    );
                }
            }
            "garp_master_delay" | "garp_lower_prio_delay" => {
                cx.k_first_uns(k, 0, U32 / 1_000_000);
            }
            "garp_master_refresh" => {
                cx.k_first_uns(k, 0, U32);
            }
            "garp_lower_prio_repeat" => {
                cx.k_first_uns(k, 0, I32 as u64);
            }
            "down_timer_adverts" => {
                cx.k_first_uns(k, 1, 100);
            }
            "garp_extra_if" => {
                // An instance may say 0 (off); a bad word stops the line.
                let mut delay = None;
                let mut ok = true;
                for t in &k.args {
                    if t.text == "all" {
                        continue;
                    }
                    match cx.k_uns(t, 0, 86400) {
                        Some(v) => delay = Some(v),
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok && delay.is_none() {
                    cx.warn(
                        k.pos(),
                        format!("({name}): garp_extra_if specified without time - ignoring"),
                    );
                }
            }
            "kernel_rx_buf_size" => {
                cx.k_first_uns(k, 0, U32);
            }
            "notify_priority_changes" => {
                cx.k_tf_in(k, &format!("({name}) "), "notify_priority_changes");
            }
            "notify_deleted" => {
                if !seen.insert(kw.to_string()) {
                    cx.warn(
                        k.pos(),
                        format!("({name}) notify_deleted already specified - ignoring"),
                    );
                }
            }
            "notify"
            | "notify_master"
            | "notify_backup"
            | "notify_fault"
            | "notify_stop"
            | "notify_master_rx_lower_pri" => {
                if a0.is_some() && !seen.insert(kw.to_string()) {
                    cx.warn(
                        k.pos(),
                        format!(
                            "({name}) {kw} script already specified - ignoring {}",
                            k.args[0].text
                        ),
                    );
                }
            }
            "use_ipvlan" => {
                if !seen.insert(kw.to_string()) {
                    cx.warn(k.pos(), format!("({name}) use_ipvlan already specified"));
                }
            }
            "use_vmac" => {
                if !seen.insert(kw.to_string()) {
                    cx.warn(k.pos(), "VMAC interface name already specified");
                } else if let Some(t) = k.args.iter().take(2).find(|t| !t.text.contains(':')) {
                    // (A word with ':' is the MAC, in either place.)
                    if t.text.len() > IFNAMSIZ_1
                        || t.text.contains('/')
                        || t.text.chars().any(char::is_whitespace)
                    {
                        cx.warn(
                            &t.pos,
                            format!(
                                "VMAC interface name '{}' too long or invalid characters - ignoring",
                                t.text
                            ),
                        );
                    } else if !st.vmac_names.insert(t.text.clone()) {
                        cx.warn(
                            &t.pos,
                            format!(
                                "({name}) VMAC name {} is already in use - ignoring name",
                                t.text
                            ),
                        );
                    }
                }
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                value_block_args(cx, k);
                for l in k.block.as_deref().unwrap_or(&[]) {
                    ip_line(cx, l, false, st);
                }
            }
            "virtual_routes" => {
                value_block_args(cx, k);
                for l in k.block.as_deref().unwrap_or(&[]) {
                    route_line(cx, l, false, st);
                }
            }
            "virtual_rules" => value_block_args(cx, k),
            "track_script" | "track_interface" | "track_file" | "track_process" | "track_bfd" => {
                track_block(cx, k, &name, st);
            }
            _ => {}
        }
    }
}

/// `track_*` blocks: duplicates, and (for the named objects) the name
/// must be defined *before* the instance (keepalived resolves it while
/// reading the block).
pub(super) fn track_block(cx: &mut Cx, k: &Node, name: &str, st: &State) {
    let kw = k.kw.text.as_str();
    let what = &kw[6..];
    let mut names: HashSet<&str> = HashSet::new();
    for l in k.block.as_deref().unwrap_or(&[]) {
        let item = l.kw.text.as_str();
        if !names.insert(item) {
            cx.warn(
                l.pos(),
                format!("({name}) duplicate {kw} {item} - ignoring"),
            );
            continue;
        }
        let known = match what {
            "script" => Some(&st.scripts),
            "file" => Some(&st.files),
            "process" => Some(&st.processes),
            "bfd" => Some(&st.bfds),
            _ => None,
        };
        if let Some(set) = known {
            if !set.contains(item) {
                cx.warn(
                    l.pos(),
                    format!("({name}) track {what} {item} not found, ignoring..."),
                );
            }
        }
    }
}

pub(super) fn script(cx: &mut Cx, body: &[Node]) {
    for k in body {
        match k.kw.text.as_str() {
            "interval" => {
                cx.k_first_uns(k, 0, U32 / 1_000_000);
            }
            "timeout" => {
                if cx.k_first_uns(k, 0, U32 / 1_000_000) == Some(0) {
                    cx.warn(
                        k.pos(),
                        "vrrp script timeout must be greater than 0, setting to 1",
                    );
                }
            }
            "weight" => {
                if let Some(t) = k.args.first() {
                    cx.k_int(t, -253, 253);
                }
                weight_option(cx, k, "vrrp_script");
            }
            "rise" | "fall" => {
                cx.k_first_uns(k, 1, I32 as u64);
            }
            "user" => {
                if let Some(u) = k.args.first() {
                    let group_ok = k.args.get(1).is_none_or(|g| group_known(&g.text));
                    if !user_known(&u.text) || !group_ok {
                        cx.warn(k.pos(), "Unable to set uid/gid for script");
                    }
                }
            }
            _ => {}
        }
    }
}

pub(super) fn track_process(cx: &mut Cx, body: &[Node]) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut quorum = None;
    let mut quorum_max = None;
    for k in body {
        let kw = k.kw.text.as_str();
        match kw {
            "process" => {
                if !seen.insert(kw.into()) {
                    cx.warn(k.pos(), "Process already set for track process - ignoring");
                }
            }
            "weight" => {
                if !seen.insert(kw.into()) {
                    cx.warn(k.pos(), "Weight already set for track process - ignoring");
                } else if let Some(t) = k.args.first() {
                    cx.k_int(t, -254, 254);
                    weight_option(cx, k, "vrrp_track_process");
                }
            }
            "param_match" => {
                if let Some(t) = k.args.first() {
                    if !matches!(t.text.as_str(), "initial" | "partial") {
                        cx.warn(
                            &t.pos,
                            format!("Invalid param_match type {} - ignoring", t.text),
                        );
                    }
                }
            }
            "quorum" => {
                if let Some(v) = cx.k_first_uns(k, 1, 65535) {
                    if quorum_max.is_some_and(|m| v > m) {
                        cx.warn(k.pos(), "Quorum is greater than quorum_max - ignoring");
                    } else {
                        quorum = Some(v);
                    }
                }
            }
            "quorum_max" => {
                if let Some(v) = cx.k_first_uns(k, 0, 65535) {
                    if quorum.is_some_and(|q| v < q) {
                        cx.warn(k.pos(), "quorum_max is less than quorum - ignoring");
                    } else {
                        quorum_max = Some(v);
                    }
                }
            }
            "delay" | "terminate_delay" | "fork_delay" => {
                if let Some(t) = k.args.first() {
                    cx.k_dec(t, 1, 3_600_000_000, 6);
                }
            }
            _ => {}
        }
    }
}

pub(super) fn track_file(cx: &mut Cx, body: &[Node]) {
    let mut seen: HashSet<String> = HashSet::new();
    for k in body {
        match k.kw.text.as_str() {
            "file" => {
                if !seen.insert("file".into()) {
                    cx.warn(k.pos(), "File already set for track file - ignoring");
                }
            }
            "weight" => {
                if let Some(t) = k.args.first() {
                    cx.k_int(t, -254, 254);
                }
                if let Some(t) = k.args.get(1).filter(|t| t.text != "reverse") {
                    cx.warn(
                        &t.pos,
                        format!("unknown track file weight option {} - ignoring", t.text),
                    );
                }
            }
            "init_file" => {
                let mut i = 0;
                while i < k.args.len() {
                    let t = &k.args[i];
                    match t.text.as_str() {
                        "overwrite" => {}
                        w if i == 0 && w.parse::<i64>().is_ok() => {}
                        _ => {
                            cx.warn(&t.pos, format!("Unknown track file init option {}", t.text));
                        }
                    }
                    i += 1;
                }
            }
            _ => {}
        }
    }
}

pub(super) fn sync_group(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    let name = n.args.first().map(|a| a.text.as_str()).unwrap_or("");
    let mut group_seen = false;
    for k in body {
        match k.kw.text.as_str() {
            "group" => {
                if group_seen {
                    cx.warn(
                        k.pos(),
                        format!("Group list already specified for sync group {name}"),
                    );
                    continue;
                }
                group_seen = true;
                for l in k.block.as_deref().unwrap_or(&[]) {
                    for t in std::iter::once(&l.kw).chain(&l.args) {
                        if !st.sync_members.insert(t.text.clone()) {
                            cx.warn(
                                &t.pos,
                                format!(
                                    "Virtual router {} cannot exist in more than one sync group; ignoring {name}",
                                    t.text
                                ),
                            );
                        }
                    }
                }
            }
            "notify_priority_changes" => {
                cx.k_tf_in(
                    k,
                    &format!("({name}) "),
                    "sync group notify_priority_changes",
                );
            }
            _ => {}
        }
    }
}

pub(super) fn track_group(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    let Some(name) = n.args.first().map(|a| a.text.clone()) else {
        cx.warn(n.pos(), "track_group must have a name - skipping");
        return;
    };
    if !st.track_groups.insert(name.clone()) {
        cx.warn(n.pos(), format!("track_group {name} already defined"));
    }
    let mut group_seen = false;
    for k in body {
        if k.kw.text == "group" {
            if group_seen {
                cx.warn(
                    k.pos(),
                    format!("Group list already specified for sync group {name}"),
                );
            }
            group_seen = true;
            if k.block.as_ref().is_some_and(|b| b.is_empty()) {
                cx.warn(
                    k.pos(),
                    format!("Warning - track group {name} has empty group block"),
                );
            }
        }
    }
}

pub(super) fn bfd(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    let name = n.args.first().map(|a| a.text.as_str()).unwrap_or("");
    let mut neighbor: Option<std::net::IpAddr> = None;
    let mut source: Option<std::net::IpAddr> = None;
    let mut ttl = None;
    let mut max_hops = None;
    for k in body {
        if let Some(p) = &k.open {
            cx.warn(p, "Unexpected '{' - ignoring");
        }
        let a0 = k.args.first();
        match k.kw.text.as_str() {
            "neighbor_ip" | "neighbour_ip" => {
                if let Some(t) = a0 {
                    match t.text.parse() {
                        Ok(a) => {
                            if !st.bfd_neighbors.insert(t.text.clone()) {
                                cx.warn(&t.pos, format!("Configuration error: BFD instance {name} has duplicate neighbor address {}, ignoring instance", t.text));
                            }
                            neighbor = Some(a);
                        }
                        Err(_) => cx.warn(&t.pos, format!("Configuration error: BFD instance {name} has malformed neighbor address {}, ignoring instance", t.text)),
                    }
                }
            }
            "source_ip" => {
                if let Some(t) = a0 {
                    match t.text.parse() {
                        Ok(a) => source = Some(a),
                        Err(_) => cx.warn(&t.pos, format!("Configuration error: BFD instance {name} has malformed source address {}, ignoring", t.text)),
                    }
                }
            }
            "min_rx" | "min_tx" | "idle_tx" => {
                if let Some(t) = a0 {
                    cx.k_dec(t, 1000, 4_294_967_000, 3);
                }
            }
            "multiplier" => {
                cx.k_first_uns(k, 1, 255);
            }
            "ttl" | "hoplimit" => {
                ttl = cx.k_first_uns(k, 1, 255);
            }
            "max_hops" => {
                if let Some(t) = a0 {
                    max_hops = cx.k_int(t, -1, 255);
                }
            }
            "weight" => {
                if let Some(t) = a0 {
                    cx.k_int(t, -253, 253);
                }
            }
            _ => {}
        }
    }
    match (neighbor, source) {
        (None, _) => cx.warn(
            n.pos(),
            format!("Configuration error: BFD instance {name} has no neighbor address set, disabling instance"),
        ),
        (Some(nb), Some(s)) if nb.is_ipv4() != s.is_ipv4() => cx.warn(
            n.pos(),
            format!("Configuration error: BFD instance {name} source address {s} and neighbor address {nb} are not of the same family, disabling instance"),
        ),
        _ => {}
    }
    if let (Some(t), Some(m)) = (ttl, max_hops) {
        if m > t as i64 {
            cx.warn(
                n.pos(),
                format!(
                    "BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"
                ),
            );
        }
    }
}

pub(super) fn garp_group(cx: &mut Cx, body: &[Node], st: &mut State) {
    let mut delay_set = false;
    let mut ifs: Vec<&Token> = Vec::new();
    for k in body {
        match k.kw.text.as_str() {
            "garp_interval" | "gna_interval" => {
                if let Some(t) = k.args.first() {
                    if cx.k_dec(t, 0, I32 as u64, 6).is_some() {
                        delay_set = true;
                    }
                }
            }
            "interface" => ifs.extend(k.args.first()),
            "interfaces" => {
                empty_block(cx, k, "garp_group interfaces");
                for l in k.block.as_deref().unwrap_or(&[]) {
                    ifs.push(&l.kw);
                }
            }
            _ => {}
        }
    }
    if !delay_set {
        if let Some(k) = body.first() {
            cx.warn(k.pos(), "garp group does not have any delay set - removing");
        }
        return;
    }
    let mut names: Vec<(String, Option<&Pos>)> =
        ifs.iter().map(|t| (t.text.clone(), Some(&t.pos))).collect();
    if names.is_empty() {
        names.push((st.default_interface.clone(), None));
    }
    for (name, pos) in names {
        let at = pos.or(body.first().map(|k| k.pos()));
        if if_missing(&name) {
            if let Some(p) = at {
                cx.warn(
                    p,
                    format!("WARNING - interface {name} specified for garp_group doesn't exist"),
                );
            }
        } else if !st.garp_ifs.insert(name.clone()) {
            if let Some(p) = at {
                cx.warn(
                    p,
                    format!("garp_group already specified for {name} - ignoring"),
                );
            }
        }
    }
}

/// A line of a per-interface block naming an interface this host lacks:
/// keepalived reports it (a BAD_IF report) and skips the line.
fn unknown_interface(cx: &mut Cx, l: &Node, what: &str) -> bool {
    let missing = if_missing(&l.kw.text);
    if missing {
        cx.diags.warn_class(
            Some(l.pos()),
            crate::Class::Fatal,
            format!("unknown interface {} specified for {what}", l.kw.text),
        );
    }
    missing
}

pub(super) fn linkbeat(cx: &mut Cx, _n: &Node, body: &[Node]) {
    for l in body {
        if unknown_interface(cx, l, "linkbeat interface") {
            continue;
        }
        if let Some(t) = l.args.first() {
            if !matches!(t.text.as_str(), "MII" | "ETHTOOL" | "IOCTL") || l.args.len() > 1 {
                let bad = if l.args.len() > 1 { &l.args[1] } else { t };
                cx.warn(
                    &bad.pos,
                    format!("extra characters {} in linkbeat interface", bad.text),
                );
            }
        }
    }
}

pub(super) fn up_down(cx: &mut Cx, _n: &Node, body: &[Node]) {
    for l in body {
        if unknown_interface(cx, l, "up/down delay") {
            continue;
        }
        for t in l.args.iter().take(2) {
            cx.k_dec(t, 0, 255_000_000, 6);
        }
    }
}

/// `weight W [reverse]`: any other word after the weight is reported.
fn weight_option(cx: &mut Cx, k: &Node, what: &str) {
    if let Some(t) = k.args.get(1).filter(|t| t.text != "reverse") {
        cx.warn(&t.pos, format!("{what} unknown weight option {}", t.text));
    }
}
