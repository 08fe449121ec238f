//! `global_defs` (`core/global_parser.c`).

#![allow(clippy::collapsible_match)]

use super::*;

pub(super) fn global(cx: &mut Cx, body: &[Node], st: &mut State) {
    let mut seen: HashSet<String> = HashSet::new();
    for k in body {
        values(cx, "global_defs", k);
        let kw = k.kw.text.as_str();
        let a0 = k.args.first();
        match kw {
            "vrrp_strict" => st.strict = true,
            "default_interface" => {
                if let Some(t) = a0 {
                    st.default_interface = t.text.clone();
                }
            }
            "vrrp_version" => st.version = a0.and_then(|t| t.text.parse().ok()),
            "random_seed" => {
                cx.k_first_uns(k, 0, U32);
            }
            "startup_script" | "shutdown_script" => {
                let what = &kw[..kw.len() - 7];
                if a0.is_none() {
                    cx.warn(k.pos(), format!("{what} script missing"));
                } else if !seen.insert(kw.to_string()) {
                    cx.warn(k.pos(), format!("{what} script already specified"));
                }
            }
            "startup_script_timeout" | "shutdown_script_timeout" => match a0 {
                None => cx.warn(k.pos(), format!("{kw} requires value")),
                Some(t) => {
                    cx.k_uns(t, 1, 1000);
                }
            },
            "max_auto_priority" => {
                if let Some(t) = a0 {
                    cx.k_int(t, -1, 99);
                }
            }
            "min_auto_priority_delay" => match a0 {
                None => cx.warn(k.pos(), "min_auto_priority_delay requires delay time"),
                Some(t) => {
                    cx.k_int(t, 1, 10_000_000);
                }
            },
            "lvs_timeouts" => lvs_timeouts(cx, k),
            "lvs_sync_daemon" => lvs_sync_daemon(cx, k, &mut seen),
            "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                if let Some(t) = a0.filter(|t| t.text != "VS") {
                    cx.warn(&t.pos, format!("Unknown lvs_flush_on_stop type {}", t.text));
                }
            }
            "vrrp_rt_priority" | "checker_rt_priority" | "bfd_rt_priority" => {
                let who = kw.split('_').next().unwrap_or("");
                match a0 {
                    None => cx.warn(
                        k.pos(),
                        format!("No {who} process real-time priority specified"),
                    ),
                    Some(t) => {
                        if let Some(v) = cx.k_int(t, i32::MIN as i64, I32) {
                            if v < 1 {
                                cx.warn(&t.pos, format!("{who} process real-time priority {v} less than minimum 1 - setting to minimum"));
                            } else if v > 99 {
                                cx.warn(&t.pos, format!("{who} process real-time priority {v} greater than maximum 99 - setting to maximum"));
                            }
                        }
                    }
                }
            }
            "vrrp_priority" | "checker_priority" | "bfd_priority" => {
                let who = kw.split('_').next().unwrap_or("");
                match a0 {
                    None => cx.warn(k.pos(), format!("No {who} process priority specified")),
                    Some(t) => {
                        cx.k_int(t, -20, 19);
                    }
                }
            }
            "vrrp_cpu_affinity" | "checker_cpu_affinity" | "bfd_cpu_affinity" => {
                let max = num_cpus() - 1;
                for t in &k.args {
                    cx.k_uns(t, 0, max);
                }
            }
            "vrrp_rlimit_rttime"
            | "checker_rlimit_rttime"
            | "bfd_rlimit_rttime"
            | "vrrp_rlimit_rtime"
            | "checker_rlimit_rtime"
            | "bfd_rlimit_rtime" => {
                cx.k_first_uns(k, 1, U32);
            }
            "vrrp_process_name" | "checker_process_name" | "bfd_process_name" => {
                if let Some(t) = a0.filter(|t| t.text.len() > 15) {
                    cx.warn(
                        &t.pos,
                        format!(
                            "Process name {} more than 15 characters, truncating",
                            t.text
                        ),
                    );
                }
            }
            "vrrp_mcast_group6" => {
                if let Some(Ok(std::net::IpAddr::V6(a))) = a0.map(|t| t.text.parse()) {
                    let s = a.segments();
                    if a.is_multicast() && s[0] & 0xff0f != 0xff02 {
                        cx.warn(
                            k.pos(),
                            format!("vrrp_mcast_group6 [{a}] should be link-local multicast."),
                        );
                    }
                }
            }
            "vrrp_garp_master_delay" | "vrrp_garp_lower_prio_delay" => {
                cx.k_first_uns(k, 0, U32 / 1_000_000);
            }
            "vrrp_garp_master_repeat" | "vrrp_garp_master_refresh_repeat" => {
                if cx.k_first_uns(k, 0, U32) == Some(0) {
                    cx.warn(
                        k.pos(),
                        format!("{kw} must be greater than 0, setting to 1"),
                    );
                }
            }
            "vrrp_garp_master_refresh" => {
                cx.k_first_uns(k, 0, U32);
            }
            "vrrp_garp_lower_prio_repeat" => {
                cx.k_first_uns(k, 0, I32 as u64);
            }
            "vrrp_down_timer_adverts" => {
                cx.k_first_uns(k, 1, 100);
            }
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                if let Some(t) = a0 {
                    cx.k_dec(t, 1, U32, 6);
                }
            }
            "vrrp_startup_delay" => {
                if let Some(t) = a0 {
                    cx.k_dec(t, 1000, U32, 6);
                }
            }
            "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => garp_extra_if(cx, k, kw),
            "nftables_priority" | "nftables_ipvs_priority" => {
                if let Some(t) = a0 {
                    cx.k_int(t, i32::MIN as i64, I32);
                }
            }
            "nftables_ipvs_start_fwmark" => {
                cx.k_first_uns(k, 1, U32);
            }
            "nftables" | "nftables_ipvs" => {
                let what = if kw == "nftables" {
                    "nftables"
                } else {
                    "ipvs nftables"
                };
                if cx.k_once(&mut seen, kw, k, what)
                    && a0.is_some_and(|t| t.text.len() >= crate::build::global::NFT_NAME_MAXLEN)
                {
                    cx.warn(k.pos(), format!("{what} table name too long - ignoring"));
                    seen.remove(kw);
                }
            }
            "notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo" => {
                if a0.is_none() {
                    cx.warn(k.pos(), format!("No {kw} name specified"));
                } else if !seen.insert(kw.to_string()) {
                    cx.warn(
                        k.pos(),
                        format!("{kw} already specified - ignoring {}", k.args[0].text),
                    );
                }
            }
            "notify_fifo_script" | "vrrp_notify_fifo_script" | "lvs_notify_fifo_script" => {
                if a0.is_none() {
                    cx.warn(k.pos(), format!("No {kw} specified"));
                }
            }
            "snmp_socket" => {
                if k.args.len() > 1 {
                    cx.warn(
                        k.pos(),
                        "Too many parameters specified for snmp_socket - ignoring",
                    );
                } else if a0.is_some() && !seen.insert(kw.to_string()) {
                    cx.warn(k.pos(), "SNMP socket already set - ignoring");
                }
            }
            "script_user" => {
                if let Some(u) = a0 {
                    let group_ok = k.args.get(1).is_none_or(|g| group_known(&g.text));
                    if !user_known(&u.text) || !group_ok {
                        cx.warn(k.pos(), "Error setting global script uid/gid");
                    }
                }
            }
            "vrrp_rx_bufs_policy" => rx_bufs_policy(cx, k),
            "vrrp_rx_bufs_multiplier" => {
                cx.k_first_uns(k, 1, U32);
            }
            "vrrp_netlink_cmd_rcv_bufs"
            | "vrrp_netlink_monitor_rcv_bufs"
            | "lvs_netlink_cmd_rcv_bufs"
            | "lvs_netlink_monitor_rcv_bufs"
            | "process_monitor_rcv_bufs" => {
                cx.k_first_uns(k, 0, U32);
            }
            "vrrp_netlink_cmd_rcv_bufs_force"
            | "vrrp_netlink_monitor_rcv_bufs_force"
            | "lvs_netlink_cmd_rcv_bufs_force"
            | "lvs_netlink_monitor_rcv_bufs_force"
            | "process_monitor_rcv_bufs_force"
            | "rs_init_notifies"
            | "no_checker_emails"
            | "vrrp_notify_priority_changes"
            | "checker_log_all_failures"
            | "data_use_instance" => {
                cx.k_tf(k, &format!("global {kw}"));
            }
            "umask" => umask(cx, k),
            "vmac_prefix" => {
                cx.k_once(&mut seen, kw, k, "vmac prefix");
            }
            "vmac_addr_prefix" => {
                cx.k_once(&mut seen, kw, k, "vmac_addr prefix");
            }
            "config_save_dir" => {
                if let Some(t) = a0 {
                    let p = std::path::Path::new(&t.text);
                    if p.exists() && !p.is_dir() {
                        cx.warn(
                            &t.pos,
                            format!("config_save_dir {} exists and is not a directory", t.text),
                        );
                    } else if !p.exists() && p.parent().is_some_and(|d| !d.exists()) {
                        cx.warn(
                            &t.pos,
                            format!("Unable to create config_save_dir {}", t.text),
                        );
                    }
                }
            }
            "tmp_config_directory" if a0.is_none() => {
                cx.warn(k.pos(), "tmp_config_directory missing directory name")
            }
            "dbus_service_name" if a0.is_none() => {
                cx.warn(k.pos(), "dbus_service_name missing - ignoring")
            }
            "smtp_connect_timeout" => {
                if cx.k_first_uns(k, 0, U32 / 1_000_000) == Some(0) {
                    cx.warn(
                        k.pos(),
                        "smtp_conect_timeout must be greater than 0, setting to 1",
                    );
                }
            }
            "smtp_server" => {
                // keepalived resolves the name; -t does not use the network,
                // so only names that can never resolve (RFC 6761 `.invalid`)
                // are reported here.
                if let Some(t) = a0 {
                    let host = t.text.trim_end_matches('.').to_ascii_lowercase();
                    if t.text.parse::<std::net::IpAddr>().is_err()
                        && (host == "invalid" || host.ends_with(".invalid"))
                    {
                        let port = k.args.get(1).map(|p| p.text.as_str()).unwrap_or("25");
                        cx.warn(&t.pos, format!("Invalid smtp server {} {port}", t.text));
                    }
                }
            }
            "notification_email" => empty_block(cx, k, "notification_email"),
            _ => {}
        }
    }
}

pub(super) fn lvs_timeouts(cx: &mut Cx, k: &Node) {
    if k.args.len() < 2 {
        cx.warn(k.pos(), "lvs_timeouts requires at least one option");
        return;
    }
    let mut i = 0;
    while i < k.args.len() {
        let t = &k.args[i];
        match t.text.as_str() {
            "tcp" | "tcpfin" | "udp" => match k.args.get(i + 1) {
                None => cx.warn(
                    &t.pos,
                    format!("No value specified for lvs_timeout {} - ignoring", t.text),
                ),
                Some(v) => {
                    cx.k_uns(v, 0, LVS_MAX_TIMEOUT);
                    i += 1;
                }
            },
            _ => cx.warn(
                &t.pos,
                format!("Unknown option {} specified for lvs_timeouts", t.text),
            ),
        }
        i += 1;
    }
}

pub(super) fn lvs_sync_daemon(cx: &mut Cx, k: &Node, seen: &mut HashSet<String>) {
    if !seen.insert("lvs_sync_daemon".into()) {
        cx.warn(
            k.pos(),
            "lvs_sync_daemon has already been specified - ignoring",
        );
        return;
    }
    let Some(ifname) = k.args.first() else {
        cx.warn(k.pos(), "lvs_sync_daemon requires interface");
        return;
    };
    if ifname.text.len() > IFNAMSIZ_1 {
        cx.warn(
            &ifname.pos,
            format!(
                "lvs_sync_daemon interface name '{}' too long - ignoring",
                ifname.text
            ),
        );
        return;
    }
    let mut i = 1;
    while i < k.args.len() {
        let t = &k.args[i];
        let val = k.args.get(i + 1);
        match t.text.as_str() {
            "id" | "maxlen" | "port" | "ttl" | "group" => {
                let Some(v) = val else {
                    cx.warn(
                        &t.pos,
                        format!("lvs_sync_daemon {} requires a value", t.text),
                    );
                    break;
                };
                match t.text.as_str() {
                    "id" => {
                        cx.k_uns(v, 0, 255);
                    }
                    "maxlen" => {
                        cx.k_uns(v, 1, 65535 - 20 - 8);
                    }
                    "port" => {
                        cx.k_uns(v, 1, 65535);
                    }
                    "ttl" => {
                        cx.k_uns(v, 1, 255);
                    }
                    _ => match v.text.parse::<std::net::IpAddr>() {
                        Ok(a) if a.is_multicast() => {}
                        _ => cx.warn(
                            &v.pos,
                            format!(
                                "lvs_sync_daemon group address {} is not multicast - ignoring",
                                v.text
                            ),
                        ),
                    },
                }
                i += 2;
                continue;
            }
            _ if i == 1 => {} // the VRRP instance name
            _ if i == 2 && t.text.bytes().all(|b| b.is_ascii_digit()) => {
                cx.warn(
                    &t.pos,
                    "Please use keyword \"id\" before lvs_sync_daemon SYNCID",
                );
            }
            _ => cx.warn(
                &t.pos,
                format!("Unknown option {} specified for lvs_sync_daemon", t.text),
            ),
        }
        i += 1;
    }
}

pub(super) fn garp_extra_if(cx: &mut Cx, k: &Node, kw: &str) {
    let mut delay = 0;
    for t in &k.args {
        if t.text == "all" {
            continue;
        }
        match cx.k_uns(t, 1, 86400) {
            Some(v) => delay = v,
            None => return,
        }
    }
    if delay == 0 {
        cx.warn(k.pos(), format!("{kw} specified without time - ignoring"));
    }
}

pub(super) fn rx_bufs_policy(cx: &mut Cx, k: &Node) {
    if k.args.is_empty() {
        cx.warn(k.pos(), "vrrp_rx_bufs_policy missing");
        return;
    }
    let (mut mtu, mut advert, mut size) = (false, false, false);
    for t in &k.args {
        if t.text.eq_ignore_ascii_case("MTU") {
            mtu = true;
        } else if t.text.eq_ignore_ascii_case("ADVERT") {
            advert = true;
        } else if cx.k_uns(&k.args[0], 0, U32).is_some() {
            size = true;
        }
    }
    if size && (mtu || advert) {
        cx.warn(
            k.pos(),
            "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy",
        );
    } else if mtu && advert {
        cx.warn(
            k.pos(),
            "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT",
        );
    }
}

pub(super) fn umask(cx: &mut Cx, k: &Node) {
    if k.args.is_empty() {
        return; // keepalived 2.2.7 says nothing
    }
    if let Err((at, why)) = umask_bits(k) {
        let pos = at.map_or(k.pos(), |i| &k.args[i].pos);
        cx.warn(pos, why);
    }
}

/// `umask` in `global_defs` as keepalived reads it: one number (strtol
/// base 0: `0177`, `0x7f`, `127`) or `IRUSR|IWGRP...` bits, possibly
/// spread over several words. The error names the word it is about
/// (`None`: the statement) and says what keepalived says.
pub(crate) fn umask_bits(k: &Node) -> Result<u32, (Option<usize>, String)> {
    let Some(m) = k.args.first() else {
        return Err((None, "umask missing bit value".into()));
    };
    if m.text.starts_with(|c: char| c.is_ascii_digit()) {
        if k.args.len() != 1 {
            return Err((None, "Extra parameter(s) to umask option".into()));
        }
        return crate::umask_number(&m.text)
            .ok_or_else(|| (Some(0), format!("invalid umask value {}", m.text)));
    }
    const BITS: &[(&str, u32)] = &[
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
    ];
    let mut bits = 0;
    let mut need_or = false;
    for (i, t) in k.args.iter().enumerate() {
        let mut p = t.text.as_str();
        while !p.is_empty() {
            if need_or {
                if let Some(r) = p.strip_prefix('|') {
                    need_or = false;
                    p = r;
                    continue;
                }
                return Err((Some(i), format!("Invalid umask syntax {}", t.text)));
            }
            match BITS.iter().find(|(b, _)| p.starts_with(b)) {
                Some((_, v)) => {
                    bits |= v;
                    p = &p[5..];
                    need_or = true;
                }
                None => return Err((Some(i), format!("Unknown umask bit {p}"))),
            }
        }
    }
    if !need_or {
        return Err((None, "umask missing bit value".into()));
    }
    Ok(bits)
}
