//! `global_defs`.

use super::Cx;
use crate::keywords as kws;
use crate::model::{GlobalDefs, LvsSyncDaemon};
use crate::tree::Node;
use std::net::IpAddr;

/// The kernel's longest nftables table name, with its NUL (nf_tables.h).
pub(crate) const NFT_NAME_MAXLEN: usize = 256;

pub(crate) fn global_defs(cx: &mut Cx, n: &Node, g: &mut GlobalDefs) {
    if !n.args.is_empty() {
        cx.at_most(n, 0);
    }
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::GLOBAL, "global_defs") else {
            continue;
        };
        let kw = d.name;
        if kw == "vrrp_iptables" {
            // Debian's 2.2.7 is built without iptables and says so.
            cx.warn(k.pos(), "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option");
        }
        if kw == "vrrp_vmac_garp_intvl" {
            cx.warn(
                k.pos(),
                "'vrrp_vmac_garp_intvl' is deprecated - use 'vrrp_garp_extra_if'",
            );
        }
        match d.key() {
            "router_id" => g.router_id = cx.one_string(k).or(g.router_id.take()),
            "notification_email" => g.notification_email.extend(cx.words(k)),
            "notification_email_from" => g.notification_email_from = cx.one_string(k),
            "smtp_server" => {
                if cx.need(k, 1) {
                    cx.at_most(k, 2);
                    g.smtp_server = Some(k.args[0].text.clone());
                    if let Some(p) = k.args.get(1) {
                        if let Some(p) = cx.port_tok(kw, p) {
                            g.smtp_port = p;
                        }
                    }
                }
            }
            "smtp_helo_name" => g.smtp_helo_name = cx.one_string(k),
            // Warned about by kchecks in keepalived's words; a bad value
            // leaves the umask as it was, as there.
            "umask" => {
                if let Ok(v) = super::kchecks::umask_bits(k) {
                    g.umask = Some(v);
                }
            }
            "smtp_connect_timeout" => {
                if let Some(v) = cx.timer(k, 1e6) {
                    g.smtp_connect_timeout = v;
                }
            }
            "smtp_alert" => g.smtp_alert = Some(cx.flag(k)),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(cx.flag(k)),
            "smtp_alert_checker" => g.smtp_alert_checker = Some(cx.flag(k)),
            "script_user" => {
                if cx.need(k, 1) {
                    cx.at_most(k, 2);
                    g.script_user = Some(k.args[0].text.clone());
                    g.script_group = k.args.get(1).map(|t| t.text.clone());
                }
            }
            "enable_script_security" => g.enable_script_security = cx.flag(k),
            "default_interface" => g.default_interface = cx.one_string(k),
            "vrrp_mcast_group4" => match cx.ip(k) {
                Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                Some(_) => cx.error(
                    k.pos(),
                    "vrrp_mcast_group4 must be an IPv4 multicast address",
                ),
                None => {}
            },
            "vrrp_mcast_group6" => match cx.ip(k) {
                Some(IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                Some(_) => cx.error(
                    k.pos(),
                    "vrrp_mcast_group6 must be an IPv6 multicast address",
                ),
                None => {}
            },
            "vrrp_version" => {
                if let Some(v) = cx.num(k, 2u8, 3) {
                    g.vrrp_version = v;
                }
            }
            "vrrp_strict" => g.vrrp_strict = cx.flag(k),
            "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = cx.flag(k),
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = cx.flag(k),
            "vrrp_garp_master_delay" => set_timer(cx, k, &mut g.vrrp_garp_master_delay),
            "vrrp_garp_master_repeat" => set_u32(cx, k, &mut g.vrrp_garp_master_repeat),
            "vrrp_garp_master_refresh" => set_timer(cx, k, &mut g.vrrp_garp_master_refresh),
            "vrrp_garp_master_refresh_repeat" => {
                set_u32(cx, k, &mut g.vrrp_garp_master_refresh_repeat)
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(v) = cx.timer(k, 1e6) {
                    g.vrrp_garp_lower_prio_delay = Some(v);
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                if let Some(v) = cx.num(k, 0u32, u32::MAX) {
                    g.vrrp_garp_lower_prio_repeat = Some(v);
                }
            }
            "vrrp_garp_interval" => set_interval(cx, k, &mut g.vrrp_garp_interval),
            "vrrp_gna_interval" => set_interval(cx, k, &mut g.vrrp_gna_interval),
            "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = cx.flag(k),
            "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = cx.flag(k),
            "vrrp_min_garp" => g.vrrp_min_garp = cx.flag(k),
            "checker_log_all_failures" => g.checker_log_all_failures = cx.flag(k),
            "vrrp_notify_priority_changes" => g.vrrp_notify_priority_changes = cx.flag(k),
            "vrrp_down_timer_adverts" => {
                if let Some(v) = down_timer_adverts(cx, k) {
                    g.vrrp_down_timer_adverts = Some(v);
                }
            }
            "vrrp_startup_delay" => {
                if let Some(v) = cx.timer(k, f64::from(u32::MAX) / 1e6) {
                    if v >= 60.0 {
                        cx.warn(
                            k.pos(),
                            format!(
                                "The vrrp_startup_delay is very large - {} seconds",
                                k.args[0].text
                            ),
                        );
                    }
                    g.vrrp_startup_delay = Some(v);
                }
            }
            "lvs_sync_daemon" => {
                if cx.need(k, 1) {
                    let mut s = LvsSyncDaemon {
                        interface: k.args[0].text.clone(),
                        ..Default::default()
                    };
                    let mut rest = &k.args[1..];
                    const OPTS: &[&str] = &["id", "maxlen", "port", "ttl", "group"];
                    if let Some(first) = rest.first() {
                        if !OPTS.contains(&first.text.as_str()) {
                            s.vrrp_instance = Some(first.text.clone());
                            rest = &rest[1..];
                        }
                    }
                    s.options = rest.iter().map(|t| t.text.clone()).collect();
                    g.lvs_sync_daemon = Some(s);
                }
            }
            "lvs_flush" => g.lvs_flush = cx.flag(k),
            "disable_local_igmp" => g.disable_local_igmp = true,
            "rs_init_notifies" => g.rs_init_notifies = cx.flag(k),
            "fifo_write_vrrp_states_on_reload" => g.fifo_write_vrrp_states_on_reload = true,
            // The first of each (keepalived reports a second); timeouts
            // in [1, 1000] (kchecks report the rest).
            // (No script: kchecks report keepalived's "startup script missing".)
            "startup_script" if g.startup_script.is_none() && !k.args.is_empty() => {
                g.startup_script = cx.notify_script(k)
            }
            "shutdown_script" if g.shutdown_script.is_none() && !k.args.is_empty() => {
                g.shutdown_script = cx.notify_script(k)
            }
            "startup_script" | "shutdown_script" => {}
            "startup_script_timeout" | "shutdown_script_timeout" => {
                let v = k
                    .args
                    .first()
                    .and_then(|t| t.text.parse::<u32>().ok())
                    .filter(|v| (1..=1000).contains(v));
                if v.is_some() {
                    if kw == "startup_script_timeout" {
                        g.startup_script_timeout = v;
                    } else {
                        g.shutdown_script_timeout = v;
                    }
                }
            }
            // (Bad words are kchecks' to report, with keepalived's phrases.)
            "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                g.lvs_flush_on_stop = k.args.is_empty();
            }
            "lvs_timeouts" => {
                let mut it = k.args.iter();
                while let Some(w) = it.next() {
                    let slot = match w.text.as_str() {
                        "tcp" => &mut g.lvs_timeout_tcp,
                        "tcpfin" => &mut g.lvs_timeout_tcpfin,
                        "udp" => &mut g.lvs_timeout_udp,
                        _ => continue,
                    };
                    if let Some(v) = it.next().and_then(|v| v.text.parse::<u32>().ok()) {
                        if v <= 86400 * 31 {
                            *slot = Some(v);
                        }
                    }
                }
            }
            "dynamic_interfaces" => {
                g.dynamic_interfaces = true;
                match k.args.first().map(|t| t.text.as_str()) {
                    None => {}
                    Some("allow_if_changes") => g.dynamic_interfaces_allow_if_changes = true,
                    Some(_) => cx.warn(
                        &k.args[0].pos,
                        format!("Unknown dynamic_interfaces option '{}'", k.args[0].text),
                    ),
                }
            }
            "vrrp_iptables" => {
                g.vrrp_iptables = Some(k.args.iter().map(|t| t.text.clone()).collect())
            }
            "nftables" => g.nftables = Some(k.args.iter().map(|t| t.text.clone()).collect()),
            // Range and syntax are kchecks' (keepalived's own messages).
            "nftables_priority" => {
                if let Some(v) = k.args.first().and_then(|t| t.text.parse::<i32>().ok()) {
                    g.nftables_priority = Some(v);
                }
            }
            "nftables_counters" => g.nftables_counters = true,
            "nftables_ifindex" => g.nftables_ifindex = true,
            // keepalived's handler: the first one counts (kchecks says so
            // for the others) and resets the priority and first mark.
            "nftables_ipvs" => {
                let name = k
                    .args
                    .first()
                    .map_or("keepalived_ipvs", |t| t.text.as_str());
                if g.nftables_ipvs.is_none() && name.len() < NFT_NAME_MAXLEN {
                    g.nftables_ipvs = Some(name.to_string());
                    g.nftables_ipvs_priority = None;
                    g.nftables_ipvs_start_fwmark = None;
                }
            }
            "nftables_ipvs_priority" => {
                if let Some(v) = k.args.first().and_then(|t| t.text.parse::<i32>().ok()) {
                    g.nftables_ipvs_priority = Some(v);
                }
            }
            "nftables_ipvs_start_fwmark" => {
                if let Some(v) = k.args.first().and_then(|t| t.text.parse::<u32>().ok()) {
                    g.nftables_ipvs_start_fwmark = Some(v).filter(|v| *v >= 1);
                }
            }
            "notify_fifo" => fifo(k, &mut g.notify_fifo),
            "vrrp_notify_fifo" => fifo(k, &mut g.vrrp_notify_fifo),
            "lvs_notify_fifo" => fifo(k, &mut g.lvs_notify_fifo),
            "notify_fifo_script" => first_word(k, &mut g.notify_fifo_script),
            "vrrp_notify_fifo_script" => first_word(k, &mut g.vrrp_notify_fifo_script),
            "lvs_notify_fifo_script" => first_word(k, &mut g.lvs_notify_fifo_script),
            "no_email_faults" => g.no_email_faults = true,
            "data_use_instance" => g.data_use_instance = cx.flag(k),
            "vmac_prefix" if g.vmac_prefix.is_none() => {
                g.vmac_prefix = k.args.first().map(|t| t.text.clone())
            }
            "vmac_prefix" => {}
            "vmac_addr_prefix" if g.vmac_addr_prefix.is_none() => {
                g.vmac_addr_prefix = k.args.first().map(|t| t.text.clone())
            }
            "vmac_addr_prefix" => {}
            // Process tuning: the values keepalived 2.2.7's handlers keep
            // (kchecks report the bad words in its phrases).
            "process_names" => {
                g.vrrp_process.name = Some("keepalived_vrrp".into());
                g.checker_process.name = Some("keepalived_lvs".into());
            }
            "process_name" => process_name(k, &mut g.process_name),
            "vrrp_process_name" => process_name(k, &mut g.vrrp_process.name),
            "checker_process_name" | "lvs_process_name" => {
                process_name(k, &mut g.checker_process.name)
            }
            "vrrp_priority" => g.vrrp_process.nice = nice(k),
            "checker_priority" => g.checker_process.nice = nice(k),
            "vrrp_rt_priority" => rt_priority(k, &mut g.vrrp_process.rt_priority),
            "checker_rt_priority" => rt_priority(k, &mut g.checker_process.rt_priority),
            "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
                g.vrrp_process.rlimit_rttime = rlimit_rttime(k)
            }
            "checker_rlimit_rttime" | "checker_rlimit_rtime" => {
                g.checker_process.rlimit_rttime = rlimit_rttime(k)
            }
            "vrrp_no_swap" => g.vrrp_process.no_swap = true,
            "checker_no_swap" => g.checker_process.no_swap = true,
            "vrrp_cpu_affinity" => g.vrrp_process.cpu_affinity = cpu_affinity(k),
            "checker_cpu_affinity" => g.checker_process.cpu_affinity = cpu_affinity(k),
            // keepalived's reading: each word adds to the policy (a number
            // is read from the first word, whichever word it meets); a
            // size beats MTU and ADVERT, MTU beats ADVERT (kchecks say so).
            "vrrp_rx_bufs_policy" => {
                let (mut mtu, mut advert, mut size) = (false, false, None);
                if let Some(old) = g.vrrp_rx_bufs_policy {
                    match old {
                        crate::model::RxBufsPolicy::Mtu => mtu = true,
                        crate::model::RxBufsPolicy::Advert => advert = true,
                        crate::model::RxBufsPolicy::Size(n) => size = Some(n),
                    }
                }
                for t in &k.args {
                    if t.text.eq_ignore_ascii_case("MTU") {
                        mtu = true;
                    } else if t.text.eq_ignore_ascii_case("ADVERT") {
                        advert = true;
                    } else if let Ok(n) = k.args[0].text.parse::<u32>() {
                        size = Some(n);
                    }
                }
                g.vrrp_rx_bufs_policy = match (size, mtu, advert) {
                    (Some(n), _, _) => Some(crate::model::RxBufsPolicy::Size(n)),
                    (None, true, _) => Some(crate::model::RxBufsPolicy::Mtu),
                    (None, false, true) => Some(crate::model::RxBufsPolicy::Advert),
                    (None, false, false) => g.vrrp_rx_bufs_policy,
                };
            }
            // A value of 0 (or a bad one) leaves it as it was, as there.
            "vrrp_netlink_cmd_rcv_bufs" | "vrrp_netlink_monitor_rcv_bufs" => {
                if let Some(n) = k
                    .args
                    .first()
                    .and_then(|t| t.text.parse::<u32>().ok())
                    .filter(|n| *n > 0)
                {
                    if kw == "vrrp_netlink_cmd_rcv_bufs" {
                        g.vrrp_netlink_cmd_rcv_bufs = Some(n);
                    } else {
                        g.vrrp_netlink_monitor_rcv_bufs = Some(n);
                    }
                }
            }
            "vrrp_netlink_cmd_rcv_bufs_force" => g.vrrp_netlink_cmd_rcv_bufs_force = cx.flag(k),
            "vrrp_netlink_monitor_rcv_bufs_force" => {
                g.vrrp_netlink_monitor_rcv_bufs_force = cx.flag(k)
            }
            "vrrp_rx_bufs_multiplier" => {
                if let [t] = k.args.as_slice() {
                    if let Some(n) = t.text.parse::<u32>().ok().filter(|n| *n >= 1) {
                        g.vrrp_rx_bufs_multiplier = n;
                    }
                }
            }
            "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
                if let Some(d) = super::vrrp::extra_if(k, 1, &mut g.vrrp_garp_extra_if_all) {
                    g.vrrp_garp_extra_if = Some(d);
                }
            }
            "max_auto_priority" => match k.args.first() {
                None => g.max_auto_priority = 99,
                Some(t) => {
                    if let Some(v) = t.text.parse::<i32>().ok().filter(|v| (-1..=99).contains(v)) {
                        g.max_auto_priority = v;
                    }
                }
            },
            "min_auto_priority_delay" => {
                if let Some(v) = k
                    .args
                    .first()
                    .and_then(|t| t.text.parse::<u32>().ok())
                    .filter(|v| (1..=10_000_000).contains(v))
                {
                    g.min_auto_priority_delay = v;
                }
            }
            _ => cx.untyped(d, k, &mut g.extra, "global_defs"),
        }
    }
    // keepalived's vrrp_min_garp: one gratuitous ARP / NA on taking over,
    // no delay, no refresh — for what was left at its default.
    if g.vrrp_min_garp {
        if g.vrrp_garp_master_repeat == 5 {
            g.vrrp_garp_master_repeat = 1;
        }
        if g.vrrp_garp_master_refresh_repeat == 1 {
            g.vrrp_garp_master_refresh_repeat = 0;
        }
        if g.vrrp_garp_master_delay == 5.0 {
            g.vrrp_garp_master_delay = 0.0;
        }
    }
}

fn set_timer(cx: &mut Cx, k: &Node, f: &mut f64) {
    if let Some(v) = cx.timer(k, 1e6) {
        *f = v;
    }
}

/// `vrrp_garp_interval` / `vrrp_gna_interval`: keepalived 2.2.7 takes
/// (0.000001, 4294.967295] seconds and reports anything else, keeping 0.
fn set_interval(cx: &mut Cx, k: &Node, f: &mut f64) {
    if let Some(v) = cx.timer(k, 4294.967295) {
        if v < 0.000001 {
            cx.warn(
                &k.args[0].pos,
                format!("'{}' must be at least 0.000001 seconds (keepalived 2.2.7 reports 0 as invalid); left at its default", k.kw.text),
            );
        } else {
            *f = v;
        }
    }
}

fn set_u32(cx: &mut Cx, k: &Node, f: &mut u32) {
    if let Some(v) = cx.num(k, 0u32, u32::MAX) {
        *f = v;
    }
}

/// `notify_fifo PATH [USER [GROUP]]`: the first counts (keepalived ignores
/// the others; the keyword checks say so).
fn fifo(k: &Node, slot: &mut Option<crate::model::NotifyFifo>) {
    if slot.is_some() {
        return;
    }
    let word = |i: usize| k.args.get(i).map(|t| t.text.clone());
    if let Some(path) = word(0) {
        *slot = Some(crate::model::NotifyFifo {
            path,
            user: word(1),
            group: word(2),
        });
    }
}

/// `*_process_name NAME`: at most 15 bytes (the kernel's comm), cut as
/// keepalived cuts it.
fn process_name(k: &Node, slot: &mut Option<String>) {
    if let Some(t) = k.args.first() {
        let mut end = t.text.len().min(15);
        while !t.text.is_char_boundary(end) {
            end -= 1;
        }
        *slot = Some(t.text[..end].to_string());
    }
}

/// `*_priority N`: a nice value in -20..19; anything else is keepalived's
/// 0 (left alone).
fn nice(k: &Node) -> Option<i8> {
    k.args
        .first()
        .and_then(|t| t.text.parse::<i8>().ok())
        .filter(|v| (-20..=19).contains(v) && *v != 0)
}

/// `*_rt_priority N`: clamped to SCHED_RR's 1..99; a word that is not a
/// number leaves it as it was.
fn rt_priority(k: &Node, slot: &mut Option<u8>) {
    if let Some(v) = k.args.first().and_then(|t| t.text.parse::<i64>().ok()) {
        *slot = Some(v.clamp(1, 99) as u8);
    }
}

/// `*_rlimit_rttime N`: microseconds, at least 2 (1 is taken as 2: the
/// soft limit is half); invalid is 0, no limit.
fn rlimit_rttime(k: &Node) -> u32 {
    match k.args.first().and_then(|t| t.text.parse::<u32>().ok()) {
        Some(0) | None => 0,
        Some(1) => 2,
        Some(v) => v,
    }
}

/// `*_cpu_affinity CPU...`: any CPU out of range empties the set, as
/// keepalived does.
fn cpu_affinity(k: &Node) -> Vec<u16> {
    let max = super::kchecks::num_cpus().saturating_sub(1);
    let mut cpus = Vec::new();
    for t in &k.args {
        match t.text.parse::<u16>() {
            Ok(c) if u64::from(c) <= max => cpus.push(c),
            _ => return Vec::new(),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

/// A `*_notify_fifo_script` line: the first given counts.
fn first_word(k: &Node, slot: &mut Option<String>) {
    if slot.is_none() {
        *slot = k.args.first().map(|t| t.text.clone());
    }
}

/// `down_timer_adverts` / `vrrp_down_timer_adverts`: 1..100 adverts
/// (keepalived's range).
pub(crate) fn down_timer_adverts(cx: &mut Cx, k: &Node) -> Option<u32> {
    cx.num(k, 1u32, 100)
}
