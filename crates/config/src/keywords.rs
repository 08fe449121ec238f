//! The keywords keepalived 2.2.7 knows, one table per block.
//!
//! Each block's reader looks a keyword up here first: an unknown one is
//! reported (with the nearest known one), a [`How::Raw`] one is kept as
//! written in the block's `extra`, and only a [`How::Typed`] one reaches
//! the reader's own arm. The flags say how keepalived's handler reads the
//! keyword's word, where that differs from the common case.

use crate::model::CheckerKind;
use std::collections::HashSet;
use std::sync::LazyLock;

/// How the model holds a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum How {
    /// Read into a field of the model by the block's reader.
    Typed,
    /// Known to keepalived, kept as written in the block's `extra`.
    Raw,
    /// Another spelling of this typed keyword.
    Alias(&'static str),
}

/// One keyword of a block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kw {
    pub name: &'static str,
    pub how: How,
    pub flags: u8,
}

/// keepalived's handler checks that its word is there, so a missing one
/// is reported rather than fatal. Keyword-wide: `Cx::need` does not know
/// the block, so every entry of a name carries it alike (tested).
pub(crate) const CHECKS_WORD: u8 = 1;
/// `Cx::flag` reads a true/false word after it (`check_true_false()`).
/// Keyword-wide, like [`CHECKS_WORD`].
pub(crate) const TRUE_FALSE: u8 = 1 << 1;
/// kchecks: keepalived reports a word other than true/false, in this block.
pub(crate) const K_TRUE_FALSE: u8 = 1 << 2;
/// kchecks: read unchecked, so keepalived exits on a missing word.
pub(crate) const K_EXITS_IF_NO_WORD: u8 = 1 << 3;
/// kchecks: keepalived reports "KEYWORD missing" when the word is missing.
pub(crate) const K_REPORTS_NO_WORD: u8 = 1 << 4;

const fn t(name: &'static str) -> Kw {
    Kw {
        name,
        how: How::Typed,
        flags: 0,
    }
}
const fn r(name: &'static str) -> Kw {
    Kw {
        name,
        how: How::Raw,
        flags: 0,
    }
}
const fn alias(name: &'static str, of: &'static str) -> Kw {
    Kw {
        name,
        how: How::Alias(of),
        flags: 0,
    }
}

impl Kw {
    const fn f(self, flags: u8) -> Kw {
        Kw {
            flags: self.flags | flags,
            ..self
        }
    }
    /// The name the reader's arms match on (an alias's typed keyword).
    pub(crate) fn key(&self) -> &'static str {
        match self.how {
            How::Alias(of) => of,
            _ => self.name,
        }
    }
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// `kw` in `table`.
pub(crate) fn find(table: &'static [Kw], kw: &str) -> Option<&'static Kw> {
    table.iter().find(|k| k.name == kw)
}

pub(crate) fn names(table: &[Kw]) -> impl Iterator<Item = &'static str> + Clone + '_ {
    table.iter().map(|k| k.name)
}

const W: u8 = CHECKS_WORD;
const TF: u8 = TRUE_FALSE;
const KTF: u8 = K_TRUE_FALSE;

pub(crate) const TOP: &[Kw] = &[
    t("global_defs"),
    t("vrrp_script"),
    t("vrrp_track_process"),
    t("track_file"),
    alias("vrrp_track_file", "track_file"),
    t("vrrp_sync_group"),
    t("vrrp_instance"),
    t("static_ipaddress"),
    t("static_routes"),
    t("static_rules"),
    t("virtual_server_group"),
    t("virtual_server"),
    t("net_namespace").f(W),
    r("net_namespace_ipvs"),
    r("namespace_with_ipsets"),
    t("instance").f(W),
    t("use_pid_dir"),
    r("linkbeat_use_polling"),
    r("linkbeat_interfaces"),
    t("interface_up_down_delays"),
    t("track_group"),
    t("garp_group"),
    r("bfd_instance"),
    t("SSL"),
    r("child_wait_time"),
    // keepalived-rs extensions (keepalived 2.2.7 refuses them):
    t("bgp_announce"),
];

/// The top-level `bgp_announce` block (keepalived-rs extension).
pub(crate) const BGP_ANNOUNCE: &[Kw] = &[
    t("interface"),
    t("address_lifetime").f(W),
    t("withdraw_on_shutdown").f(TF),
    t("health_timeout").f(W),
];

/// A virtual server's `announce` block (keepalived-rs extension).
pub(crate) const ANNOUNCE: &[Kw] = &[t("delay_up").f(W), t("delay_down").f(W)];

pub(crate) const GLOBAL: &[Kw] = &[
    t("router_id").f(W),
    t("umask").f(K_EXITS_IF_NO_WORD),
    t("notification_email"),
    t("notification_email_from").f(W),
    t("smtp_server"),
    t("smtp_helo_name").f(W),
    t("smtp_connect_timeout"),
    t("smtp_alert").f(TF | KTF),
    t("smtp_alert_vrrp").f(TF | KTF),
    t("smtp_alert_checker").f(TF | KTF),
    t("script_user").f(W),
    t("enable_script_security"),
    t("default_interface").f(W),
    t("vrrp_mcast_group4"),
    t("vrrp_mcast_group6"),
    t("vrrp_version"),
    t("vrrp_strict"),
    t("vrrp_skip_check_adv_addr"),
    t("vrrp_check_unicast_src"),
    t("vrrp_garp_master_delay"),
    t("vrrp_garp_master_repeat"),
    t("vrrp_garp_master_refresh"),
    t("vrrp_garp_master_refresh_repeat"),
    t("vrrp_garp_lower_prio_delay"),
    t("vrrp_garp_lower_prio_repeat"),
    t("vrrp_garp_interval").f(K_EXITS_IF_NO_WORD),
    t("vrrp_gna_interval").f(K_EXITS_IF_NO_WORD),
    t("vrrp_lower_prio_no_advert").f(TF | KTF),
    t("vrrp_higher_prio_send_advert").f(TF | KTF),
    t("vrrp_min_garp").f(TF | KTF),
    t("lvs_sync_daemon").f(W),
    t("lvs_flush"),
    t("dynamic_interfaces"),
    t("vrrp_iptables"),
    t("nftables").f(W),
    t("no_email_faults"),
    // keepalived-rs mails only real-server state changes, which is what
    // this asks keepalived for (it otherwise mails each checker's failure).
    r("no_checker_emails").f(TF),
    t("checker_log_all_failures").f(TF),
    t("startup_script"),
    t("startup_script_timeout"),
    t("shutdown_script"),
    t("shutdown_script_timeout"),
    t("notify_fifo"),
    t("notify_fifo_script"),
    t("vrrp_notify_fifo"),
    t("vrrp_notify_fifo_script"),
    t("lvs_notify_fifo"),
    t("lvs_notify_fifo_script"),
    t("fifo_write_vrrp_states_on_reload"),
    t("vrrp_notify_priority_changes").f(TF),
    t("vrrp_down_timer_adverts"),
    r("log_unknown_vrids"),
    t("vrrp_startup_delay").f(K_EXITS_IF_NO_WORD),
    t("vrrp_garp_extra_if"),
    t("vrrp_vmac_garp_intvl"),
    t("nftables_priority").f(K_EXITS_IF_NO_WORD),
    t("nftables_counters"),
    t("nftables_ifindex"),
    t("nftables_ipvs"),
    t("nftables_ipvs_priority").f(K_EXITS_IF_NO_WORD),
    t("nftables_ipvs_start_fwmark").f(K_EXITS_IF_NO_WORD),
    t("disable_local_igmp"),
    t("lvs_timeouts").f(W),
    t("lvs_flush_on_stop"),
    t("lvs_flush_onstop"),
    t("lvs_process_name"),
    t("max_auto_priority").f(W),
    t("min_auto_priority_delay").f(W),
    t("vrrp_priority"),
    t("checker_priority"),
    r("bfd_priority"),
    t("vrrp_rt_priority"),
    t("checker_rt_priority"),
    r("bfd_rt_priority"),
    t("vrrp_rlimit_rttime"),
    t("checker_rlimit_rttime"),
    r("bfd_rlimit_rttime"),
    t("vrrp_rlimit_rtime"),
    t("checker_rlimit_rtime"),
    r("bfd_rlimit_rtime"),
    t("vrrp_no_swap"),
    t("checker_no_swap"),
    r("bfd_no_swap"),
    t("vrrp_cpu_affinity"),
    t("checker_cpu_affinity"),
    r("bfd_cpu_affinity"),
    t("vrrp_process_name"),
    t("checker_process_name"),
    r("bfd_process_name"),
    t("process_names"),
    t("process_name"),
    t("vrrp_netlink_cmd_rcv_bufs"),
    t("vrrp_netlink_cmd_rcv_bufs_force").f(TF),
    t("vrrp_netlink_monitor_rcv_bufs"),
    t("vrrp_netlink_monitor_rcv_bufs_force").f(TF),
    r("lvs_netlink_cmd_rcv_bufs"),
    r("lvs_netlink_cmd_rcv_bufs_force").f(TF),
    r("lvs_netlink_monitor_rcv_bufs"),
    r("lvs_netlink_monitor_rcv_bufs_force").f(TF),
    r("process_monitor_rcv_bufs"),
    r("process_monitor_rcv_bufs_force").f(TF),
    t("vrrp_rx_bufs_policy").f(W),
    t("vrrp_rx_bufs_multiplier").f(W | K_REPORTS_NO_WORD),
    r("reload_check_config").f(W | K_REPORTS_NO_WORD),
    r("reload_time_file").f(W | K_REPORTS_NO_WORD),
    r("reload_repeat"),
    r("reload_file").f(W | K_REPORTS_NO_WORD),
    r("config_save_dir"),
    t("data_use_instance").f(TF),
    r("snmp_socket").f(W),
    r("enable_snmp_vrrp"),
    r("enable_snmp_keepalived"),
    r("enable_snmp_checker"),
    r("enable_snmp_rfc"),
    r("enable_snmp_rfcv2"),
    r("enable_snmp_rfcv3"),
    r("enable_traps"),
    r("enable_dbus"),
    r("dbus_service_name").f(W),
    t("vmac_prefix"),
    t("vmac_addr_prefix"),
    r("random_seed").f(K_EXITS_IF_NO_WORD),
    t("rs_init_notifies").f(TF),
    r("tmp_config_directory").f(W),
    r("include_check"),
];

pub(crate) const SCRIPT: &[Kw] = &[
    t("script").f(W),
    t("interval"),
    t("timeout"),
    t("weight"),
    t("rise"),
    t("fall"),
    t("user").f(W),
    t("init_fail"),
];

pub(crate) const PROCESS: &[Kw] = &[
    t("process"),
    t("param_match").f(W),
    t("weight"),
    t("quorum"),
    t("quorum_max"),
    t("fork_delay"),
    t("terminate_delay"),
    t("delay"),
    t("full_command"),
];

pub(crate) const FILE: &[Kw] = &[t("file").f(W), t("weight"), t("init_file")];

pub(crate) const SYNC: &[Kw] = &[
    t("group"),
    t("notify_master"),
    t("notify_backup"),
    t("notify_fault"),
    t("notify_stop"),
    t("notify"),
    t("smtp_alert").f(TF),
    t("global_tracking"),
    t("sync_group_tracking_weight"),
    t("track_interface"),
    t("track_script"),
    t("track_file"),
    t("track_process"),
    r("track_bfd"),
    t("notify_priority_changes").f(TF),
];

pub(crate) const INSTANCE: &[Kw] = &[
    t("state"),
    t("interface"),
    t("virtual_router_id"),
    t("priority"),
    t("advert_int"),
    t("version"),
    t("nopreempt"),
    t("preempt"),
    t("preempt_delay"),
    t("accept"),
    t("no_accept"),
    t("strict_mode").f(TF | KTF),
    t("skip_check_adv_addr").f(TF | KTF),
    t("check_unicast_src"),
    t("lower_prio_no_advert").f(TF | KTF),
    t("higher_prio_send_advert").f(TF | KTF),
    t("mcast_src_ip"),
    t("mcast_dst_ip"),
    t("unicast_src_ip"),
    t("unicast_peer"),
    t("unicast_ttl"),
    t("unicast_fault_no_peer"),
    t("authentication"),
    t("virtual_ipaddress"),
    t("virtual_ipaddress_excluded"),
    t("virtual_routes"),
    t("virtual_rules"),
    t("track_interface"),
    t("track_script"),
    t("track_file"),
    t("track_process"),
    t("track_bfd"),
    t("dont_track_primary"),
    t("notify_master"),
    t("notify_backup"),
    t("notify_fault"),
    t("notify_stop"),
    t("notify"),
    t("notify_master_rx_lower_pri"),
    t("smtp_alert").f(TF),
    t("use_vmac"),
    t("vmac_xmit_base"),
    t("promote_secondaries"),
    t("garp_master_delay"),
    t("garp_master_repeat"),
    t("garp_master_refresh"),
    t("garp_master_refresh_repeat"),
    t("garp_lower_prio_delay"),
    t("garp_lower_prio_repeat"),
    t("notify_deleted"),
    t("use_vmac_addr"),
    t("use_ipvlan"),
    t("track_src_ip"),
    r("vrf").f(K_EXITS_IF_NO_WORD),
    t("old_unicast_checksum").f(W),
    t("down_timer_adverts"),
    t("native_ipv6"),
    t("debug"),
    t("notify_priority_changes").f(TF),
    t("garp_extra_if"),
    t("kernel_rx_buf_size").f(W | K_REPORTS_NO_WORD),
    r("linkbeat_use_polling"),
];

pub(crate) const AUTH: &[Kw] = &[t("auth_type"), t("auth_pass")];

pub(crate) const VS: &[Kw] = &[
    t("delay_loop"),
    t("lb_algo"),
    alias("lvs_sched", "lb_algo"),
    t("lb_kind"),
    alias("lvs_method", "lb_kind"),
    t("persistence_timeout").f(W),
    t("persistence_granularity"),
    t("protocol"),
    t("ha_suspend"),
    t("virtualhost").f(W),
    t("alpha").f(TF),
    t("omega"),
    t("quorum"),
    t("hysteresis"),
    t("quorum_up"),
    t("quorum_down"),
    t("sorry_server"),
    t("sorry_server_inhibit"),
    t("inhibit_on_failure").f(TF),
    t("smtp_alert").f(TF | KTF),
    t("connect_timeout"),
    t("retry"),
    t("delay_before_retry"),
    t("warmup"),
    t("real_server"),
    t("ip_family"),
    t("ops"),
    t("flag-1"),
    t("flag-2"),
    t("flag-3"),
    t("sh-port"),
    t("sh-fallback"),
    t("mh-port"),
    t("mh-fallback"),
    t("persistence_engine"),
    r("snmp_name").f(W),
    t("sorry_server_lvs_method"),
    // keepalived-rs extension (keepalived 2.2.7 refuses it):
    t("announce"),
];

pub(crate) const RS: &[Kw] = &[
    t("weight"),
    // keepalived 2.2.7 knows only the new spelling here.
    t("lvs_method"),
    t("inhibit_on_failure").f(TF | KTF),
    t("notify_up"),
    t("notify_down"),
    t("uthreshold"),
    t("lthreshold"),
    t("smtp_alert").f(TF | KTF),
    t("alpha").f(TF | KTF),
    t("virtualhost").f(W),
    t("delay_loop"),
    t("connect_timeout"),
    t("retry"),
    t("delay_before_retry"),
    t("warmup"),
    t("TCP_CHECK"),
    t("HTTP_GET"),
    t("SSL_GET"),
    t("MISC_CHECK"),
    t("SMTP_CHECK"),
    t("DNS_CHECK"),
    t("UDP_CHECK"),
    t("PING_CHECK"),
    t("FILE_CHECK"),
    t("BFD_CHECK"),
    r("snmp_name").f(W),
];

/// Connection options of the network checkers.
const CONN: &[Kw] = &[
    t("connect_ip"),
    t("connect_port"),
    t("bindto"),
    t("bind_port"),
    t("bind_if"),
    t("fwmark"),
    t("connect_timeout"),
];
/// Scheduling options shared by all but FILE_CHECK and BFD_CHECK.
const SCHED: &[Kw] = &[
    t("retry"),
    t("delay_before_retry"),
    t("delay_loop"),
    t("warmup"),
    t("alpha").f(TF | KTF),
    t("log_all_failures").f(TF | KTF),
];
const HTTP: &[Kw] = &[
    t("nb_get_retry"),
    t("http_protocol").f(W),
    t("url"),
    t("virtualhost").f(W),
    t("enable_sni").f(TF | KTF),
    t("fast_recovery").f(TF | KTF),
];
const SMTP: &[Kw] = &[t("helo_name").f(W), t("host")];
const DNS: &[Kw] = &[t("type"), t("name").f(W)];
const UDP: &[Kw] = &[
    t("payload").f(W),
    t("require_reply").f(W),
    t("min_reply_length"),
    t("max_reply_length"),
];
const MISC: &[Kw] = &[
    t("misc_path"),
    t("misc_timeout"),
    t("misc_dynamic"),
    t("user").f(W),
];
const FILE_CHECK: &[Kw] = &[t("track_file"), t("weight")];
const BFD: &[Kw] = &[t("name").f(W), t("alpha").f(TF | KTF)];

/// The tables making up one kind of checker's keywords (measured against
/// keepalived 2.2.7: e.g. `nb_get_retry` exists only in HTTP_GET/SSL_GET,
/// and MISC_CHECK takes no connection options).
fn checker_parts(kind: CheckerKind) -> [&'static [Kw]; 3] {
    let own: &'static [Kw] = match kind {
        CheckerKind::Tcp | CheckerKind::Ping => &[],
        CheckerKind::HttpGet | CheckerKind::SslGet => HTTP,
        CheckerKind::Smtp => SMTP,
        CheckerKind::Dns => DNS,
        CheckerKind::Udp => UDP,
        CheckerKind::Misc => MISC,
        CheckerKind::File => FILE_CHECK,
        CheckerKind::Bfd => BFD,
    };
    let conn = match kind {
        CheckerKind::Misc | CheckerKind::File | CheckerKind::Bfd => &[],
        _ => CONN,
    };
    let sched = match kind {
        CheckerKind::File | CheckerKind::Bfd => &[],
        _ => SCHED,
    };
    [conn, sched, own]
}

/// The keywords of one kind of checker, in table order.
pub(crate) fn checker(kind: CheckerKind) -> Vec<&'static Kw> {
    checker_parts(kind).into_iter().flatten().collect()
}

/// [`checker`]'s names.
pub(crate) fn checker_names(kind: CheckerKind) -> Vec<&'static str> {
    checker(kind).into_iter().map(|k| k.name).collect()
}

pub(crate) const URL: &[Kw] = &[
    t("path"),
    t("digest"),
    t("status_code"),
    t("virtualhost").f(W),
    t("regex"),
    t("regex_no_match"),
    t("regex_options"),
    r("regex_stack"),
    t("regex_min_offset"),
    t("regex_max_offset"),
];

/// Every checker table (the "checker" block of kchecks and the tables).
const CHECKER_TABLES: &[&[Kw]] = &[CONN, SCHED, HTTP, SMTP, DNS, UDP, MISC, FILE_CHECK, BFD];

/// Every table but the checkers', with its block name.
const BLOCKS: &[(&str, &[Kw])] = &[
    ("top level", TOP),
    ("global_defs", GLOBAL),
    ("vrrp_script", SCRIPT),
    ("vrrp_track_process", PROCESS),
    ("track_file", FILE),
    ("vrrp_sync_group", SYNC),
    ("vrrp_instance", INSTANCE),
    ("authentication", AUTH),
    ("virtual_server", VS),
    ("real_server", RS),
    ("SSL", SSL),
    ("garp_group", GARP_GROUP),
    ("bgp_announce", BGP_ANNOUNCE),
    ("announce", ANNOUNCE),
    ("url", URL),
];

/// The top-level `garp_group` block (vrrp_parser.c).
const GARP_GROUP: &[Kw] = &[
    t("garp_interval"),
    t("gna_interval"),
    t("interface"),
    t("interfaces"),
];

/// The top-level `SSL` block (check_parser.c).
const SSL: &[Kw] = &[t("password"), t("ca"), t("certificate"), t("key")];

/// The tables holding `block`'s keywords ("checker": any checker's).
fn tables_of(block: &str) -> Vec<&'static [Kw]> {
    if block == "checker" {
        return CHECKER_TABLES.to_vec();
    }
    BLOCKS
        .iter()
        .filter(|(b, _)| *b == block)
        .map(|(_, t)| *t)
        .collect()
}

/// The flags of `kw` in `block` (none if it is not known there).
pub(crate) fn flags_in(block: &str, kw: &str) -> u8 {
    tables_of(block)
        .into_iter()
        .flatten()
        .filter(|k| k.name == kw)
        .fold(0, |a, k| a | k.flags)
}

fn all() -> impl Iterator<Item = &'static Kw> {
    BLOCKS
        .iter()
        .flat_map(|(_, t)| t.iter())
        .chain(CHECKER_TABLES.iter().flat_map(|t| t.iter()))
}

fn with_flag(flag: u8) -> HashSet<&'static str> {
    all().filter(|k| k.has(flag)).map(|k| k.name).collect()
}

static CHECKS_WORD_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| with_flag(CHECKS_WORD));
static TRUE_FALSE_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| with_flag(TRUE_FALSE));

/// Does keepalived's handler for `kw` check that its word is there?
pub(crate) fn checks_word(kw: &str) -> bool {
    CHECKS_WORD_SET.contains(kw)
}

/// Does `kw` read a true/false word after it?
pub(crate) fn true_false(kw: &str) -> bool {
    TRUE_FALSE_SET.contains(kw)
}

/// Every keyword by block, as [`crate::keywords()`] gives them; the
/// checkers' (all kinds, first seen first) come as "checkers".
pub(crate) fn tables() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut checks: Vec<&'static str> = Vec::new();
    for (_, k) in CheckerKind::ALL {
        for w in checker(k) {
            if !checks.contains(&w.name) {
                checks.push(w.name);
            }
        }
    }
    let mut out: Vec<(&'static str, Vec<&'static str>)> = BLOCKS
        .iter()
        .map(|(b, t)| (*b, names(t).collect()))
        .collect();
    // "checkers" sits before "url", as it always has.
    let url = out.pop().expect("url table");
    out.push(("checkers", checks));
    out.push(url);
    out
}

/// Every (block, keyword) with whether it is typed, a checker's keywords
/// under its kind (`TCP_CHECK`...): for [`crate::keyword_entries`].
pub(crate) fn entries() -> Vec<crate::KeywordEntry> {
    let entry = |block: &'static str, k: &Kw| crate::KeywordEntry {
        block,
        name: k.name,
        typed: k.how != How::Raw,
    };
    let mut out: Vec<crate::KeywordEntry> = BLOCKS
        .iter()
        .flat_map(|(b, t)| t.iter().map(move |k| entry(b, k)))
        .collect();
    for (name, kind) in CheckerKind::ALL {
        out.extend(checker(kind).into_iter().map(|k| entry(name, k)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_keyword_twice_in_a_table() {
        for t in BLOCKS
            .iter()
            .map(|(_, t)| *t)
            .chain(CHECKER_TABLES.iter().copied())
        {
            let mut seen = HashSet::new();
            for k in t {
                assert!(seen.insert(k.name), "{} twice", k.name);
            }
        }
    }

    #[test]
    fn an_alias_names_a_typed_keyword_of_its_table() {
        for (b, t) in BLOCKS {
            for k in *t {
                if let How::Alias(of) = k.how {
                    assert!(
                        find(t, of).is_some_and(|d| d.how == How::Typed),
                        "{b}: {} is an alias of {of}, not a typed keyword there",
                        k.name
                    );
                }
            }
        }
    }

    /// Keyword-wide flags are read by name alone: every entry of a name
    /// must agree, or one block's entry would decide for another's.
    #[test]
    fn keyword_wide_flags_agree_across_blocks() {
        for flag in [CHECKS_WORD, TRUE_FALSE] {
            let set = with_flag(flag);
            for k in all() {
                assert_eq!(
                    k.has(flag),
                    set.contains(k.name),
                    "{}: flag {flag} set on some entries of this name, not all",
                    k.name
                );
            }
        }
    }
}
