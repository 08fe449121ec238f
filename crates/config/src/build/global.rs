//! `global_defs`.

use super::{raw, Cx};
use crate::model::{GlobalDefs, LvsSyncDaemon};
use crate::tree::Node;
use std::net::IpAddr;

/// Every keyword keepalived 2.2.7 accepts in `global_defs`.
pub(crate) const GLOBAL_KEYWORDS: &[&str] = &[
    // typed
    "router_id",
    "umask",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "script_user",
    "enable_script_security",
    "default_interface",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_version",
    "vrrp_strict",
    "vrrp_skip_check_adv_addr",
    "vrrp_check_unicast_src",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_min_garp",
    "lvs_sync_daemon",
    "lvs_flush",
    "dynamic_interfaces",
    "vrrp_iptables",
    "nftables",
    // known, kept raw
    "no_email_faults",
    // keepalived-rs mails only real-server state changes, which is what
    // this asks keepalived for (it otherwise mails each checker's failure).
    "no_checker_emails",
    "checker_log_all_failures",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "fifo_write_vrrp_states_on_reload",
    "vrrp_notify_priority_changes",
    "vrrp_down_timer_adverts",
    "log_unknown_vrids",
    "vrrp_startup_delay",
    "vrrp_garp_extra_if",
    "vrrp_vmac_garp_intvl",
    "nftables_priority",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "disable_local_igmp",
    "lvs_timeouts",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_process_name",
    "max_auto_priority",
    "min_auto_priority_delay",
    "vrrp_priority",
    "checker_priority",
    "bfd_priority",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "bfd_rt_priority",
    "vrrp_rlimit_rttime",
    "checker_rlimit_rttime",
    "bfd_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "checker_rlimit_rtime",
    "bfd_rlimit_rtime",
    "vrrp_no_swap",
    "checker_no_swap",
    "bfd_no_swap",
    "vrrp_cpu_affinity",
    "checker_cpu_affinity",
    "bfd_cpu_affinity",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "process_names",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "config_save_dir",
    "data_use_instance",
    "snmp_socket",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "enable_dbus",
    "dbus_service_name",
    "vmac_prefix",
    "vmac_addr_prefix",
    "random_seed",
    "rs_init_notifies",
    "tmp_config_directory",
    "include_check",
];

/// Keywords keepalived 2.2.7 accepts silently but keepalived-rs does not
/// implement: logged as notes (the daemon runs without them, and `-t`
/// keeps keepalived's verdict).
const UNSUPPORTED: &[&str] = &[
    "nftables",
    "nftables_priority",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "enable_dbus",
    "dbus_service_name",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "snmp_socket",
];

pub(crate) fn global_defs(cx: &mut Cx, n: &Node, g: &mut GlobalDefs) {
    if !n.args.is_empty() {
        cx.at_most(n, 0);
    }
    for k in cx.block(n) {
        cx.check_inline(k, GLOBAL_KEYWORDS);
        let kw = k.kw.text.as_str();
        if UNSUPPORTED.contains(&kw) {
            cx.diags.note(
                k.pos(),
                format!("'{kw}' is accepted but not implemented by keepalived-rs (no nftables, SNMP or D-Bus integration)"),
            );
        }
        if kw == "vrrp_iptables" {
            // Debian's 2.2.7 is built without iptables and says so.
            cx.warn(k.pos(), "iptables is not supported (keepalived 2.2.7 uses nftables instead; keepalived-rs implements neither)");
        }
        if kw == "vrrp_vmac_garp_intvl" {
            cx.warn(
                k.pos(),
                "'vrrp_vmac_garp_intvl' is deprecated - use 'vrrp_garp_extra_if'",
            );
        }
        match kw {
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
            "vrrp_garp_lower_prio_delay" => set_timer(cx, k, &mut g.vrrp_garp_lower_prio_delay),
            "vrrp_garp_lower_prio_repeat" => set_u32(cx, k, &mut g.vrrp_garp_lower_prio_repeat),
            "vrrp_garp_interval" => set_interval(cx, k, &mut g.vrrp_garp_interval),
            "vrrp_gna_interval" => set_interval(cx, k, &mut g.vrrp_gna_interval),
            "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = cx.flag(k),
            "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = cx.flag(k),
            "vrrp_min_garp" => g.vrrp_min_garp = cx.flag(k),
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
            _ if GLOBAL_KEYWORDS.contains(&kw) => g.extra.push(raw(k)),
            _ => cx.unknown(k, GLOBAL_KEYWORDS, "global_defs"),
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
