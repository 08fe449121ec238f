//! Every typed keyword reaches what the processes run, and only where it
//! was written.
//!
//! A reload is a diff of two plans: a keyword the model reads but no plan
//! carries is accepted and ignored at start and at every reload alike
//! (the class of bug keepalived-rs had 26 of). For each typed keyword of
//! each block, a value is searched for among common ones that the loader
//! accepts and that changes some plan (vrrpd's, checkerd's, ipvsd's, the
//! script allowlist, the process settings) against a skeleton without
//! it. Written in the first instance or virtual server, it must leave the
//! second's plan untouched: a reload changing it changes only what it
//! names. The keywords the parent acts on straight from the configuration
//! (FIFOs, alerts...) are listed with the module that does.

use keepalived_config::{load_str, Config, LoadOptions};
use keepalived_ipc::{Ids, Subsystem};
use std::path::Path;

const SKELETON: &str = "\
global_defs {
    router_id R
    notification_email {
        ops@example.com
    }
    smtp_server 127.0.0.1
@global_defs@}
vrrp_script chk {
    script \"/bin/true\"
@vrrp_script@}
track_file tf {
    file \"/tmp/kars-coverage-file\"
@track_file@}
vrrp_track_process tp {
    process foo
@vrrp_track_process@}
vrrp_track_process tp2 {
    process bar
}
track_file tf2 {
    file \"/tmp/kars-coverage-file2\"
}
vrrp_sync_group G {
    group {
        VI_1
    }
@vrrp_sync_group@}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        10.0.0.1
    }
    track_script {
        chk
    }
    track_file {
        tf
    }
    track_process {
        tp
    }
    authentication {
        auth_type PASS
        auth_pass secret
@authentication@    }
@vrrp_instance@}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        10.0.0.2
    }
}
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.1.1 80 {
        @CHECK@ {
@BODY@@checker@        }
@real_server@    }
@virtual_server@}
virtual_server 10.0.0.2 80 {
    protocol TCP
    real_server 10.0.2.1 80 {
        TCP_CHECK {
        }
    }
}
garp_group {
@garp_group@}
@top level@";

/// Values tried for a keyword, in order (blocks last).
const VALUES: &[&str] = &[
    "",
    "2",
    "3",
    "0",
    "1",
    "7",
    "200",
    "-10",
    "0.5",
    "65000",
    "true",
    "false",
    "eth9",
    "10.0.0.99",
    "10.0.0.99/24",
    "2001:db8::99",
    "224.0.0.99",
    "\"/bin/false\"",
    "/tmp/kars-coverage-x",
    "nobody",
    "foo",
    "UDP",
    "sh",
    "DR",
    "BACKUP",
    "inet6",
    "all",
    "10 20",
    "0 1 2",
    "1.1",
    "AH",
    "ff02::99",
    "5 all",
    "tcp 100",
    "{\n VI_1\n VI_2\n }",
    "{\n ops2@example.com\n }",
    "{\n chk\n }",
    "{\n tp2\n }",
    "{\n tf2\n }",
    "{\n 10.0.0.77\n }",
    "{\n eth9\n }",
    "{\n 10.5.0.0/24 dev eth9\n }",
    "{\n from 10.5.0.0/24 table 100 preference 10\n }",
    "{\n path /x\n digest 00112233445566778899aabbccddeeff\n }",
];

/// What some keywords need around them to do anything (in keepalived
/// too): (block, keyword, checker kind, lines written before it, each in
/// its block).
type Context = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);
const OTHER_IF: &[(&str, &str)] = &[(
    "vrrp_instance",
    "virtual_ipaddress_excluded {\n 10.5.5.5/24 dev eth9\n }",
)];
const VMAC: &[(&str, &str)] = &[("vrrp_instance", "use_vmac")];
const NFT: &[(&str, &str)] = &[("global_defs", "nftables"), ("vrrp_instance", "no_accept")];
const VSG: &[(&str, &str)] = &[("global_defs", "nftables_ipvs"), ("top level", "virtual_server_group VG {\n 10.0.3.1 80\n}\nvirtual_server group VG {\n protocol TCP\n real_server 10.0.1.1 80 {\n }\n}")];
const V6_INSTANCE: &[(&str, &str)] = &[("top level", "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 6\n virtual_ipaddress {\n 2001:db8::6\n }\n}")];
const SORRY: &[(&str, &str)] = &[("virtual_server", "sorry_server 10.0.9.9 80")];
const BINDTO: &[(&str, &str)] = &[("checker", "bindto 10.0.0.5")];
const REGEX: &[(&str, &str)] = &[("url", "regex foo")];
const GARP: &[(&str, &str)] = &[("garp_group", "garp_interval 0.3")];
const ANNOUNCE: &[(&str, &str)] = &[("virtual_server", "announce {\n@announce@    }")];
const BGP: &[(&str, &str)] = &[
    ("virtual_server", "announce"),
    ("top level", "bgp_announce {\n@bgp_announce@}"),
];
const CONTEXT: &[Context] = &[
    ("vrrp_instance", "preempt", "", &[("vrrp_instance", "nopreempt")]),
    ("vrrp_instance", "unicast_ttl", "", &[("vrrp_instance", "unicast_peer {\n 10.0.0.50\n }")]),
    ("vrrp_instance", "vmac_xmit_base", "", VMAC),
    ("vrrp_instance", "use_vmac_addr", "", &[("vrrp_instance", "virtual_ipaddress_excluded {\n 2001:db8::5/64\n }")]),
    ("vrrp_instance", "track_src_ip", "", &[("vrrp_instance", "mcast_src_ip 10.0.0.5")]),
    ("vrrp_instance", "garp_extra_if", "", OTHER_IF),
    ("global_defs", "vrrp_garp_extra_if", "", OTHER_IF),
    ("global_defs", "vrrp_vmac_garp_intvl", "", OTHER_IF),
    ("global_defs", "vmac_prefix", "", VMAC),
    ("global_defs", "vmac_addr_prefix", "", &[("vrrp_instance", "use_vmac_addr\n    virtual_ipaddress_excluded {\n 2001:db8::5/64\n }")]),
    ("global_defs", "disable_local_igmp", "", VMAC),
    ("global_defs", "nftables_priority", "", NFT),
    ("global_defs", "nftables_counters", "", NFT),
    ("global_defs", "nftables_ifindex", "", &[("global_defs", "nftables"), ("vrrp_instance", "no_accept\n    virtual_ipaddress_excluded {\n fe80::5/64\n }")]),
    ("global_defs", "nftables_ipvs_priority", "", VSG),
    ("global_defs", "nftables_ipvs_start_fwmark", "", VSG),
    ("global_defs", "vrrp_mcast_group6", "", V6_INSTANCE),
    ("global_defs", "default_interface", "", &[("top level", "static_ipaddress {\n 10.9.9.9/24\n}")]),
    ("global_defs", "vrrp_netlink_cmd_rcv_bufs_force", "", &[("global_defs", "vrrp_netlink_cmd_rcv_bufs 1048576")]),
    ("global_defs", "vrrp_netlink_monitor_rcv_bufs_force", "", &[("global_defs", "vrrp_netlink_monitor_rcv_bufs 1048576")]),
    ("global_defs", "vrrp_rx_bufs_multiplier", "", &[("global_defs", "vrrp_rx_bufs_policy MTU")]),
    ("global_defs", "vrrp_rlimit_rttime", "", &[("global_defs", "vrrp_rt_priority 10")]),
    ("global_defs", "vrrp_rlimit_rtime", "", &[("global_defs", "vrrp_rt_priority 10")]),
    ("global_defs", "checker_rlimit_rttime", "", &[("global_defs", "checker_rt_priority 10")]),
    ("global_defs", "checker_rlimit_rtime", "", &[("global_defs", "checker_rt_priority 10")]),
    ("global_defs", "min_auto_priority_delay", "", &[("global_defs", "max_auto_priority 10")]),
    ("vrrp_sync_group", "global_tracking", "", &[("top level", "vrrp_instance VI_3 {\n interface eth0\n virtual_router_id 3\n track_interface {\n eth9\n }\n virtual_ipaddress {\n 10.0.0.3\n }\n}"), ("vrrp_sync_group", "group {\n VI_1\n VI_3\n }")]),
    ("vrrp_sync_group", "sync_group_tracking_weight", "", &[("vrrp_sync_group", "track_interface {\n eth9\n }")]),
    ("garp_group", "gna_interval", "", V6_INSTANCE),
    ("garp_group", "interface", "", GARP),
    ("garp_group", "interfaces", "", GARP),
    ("announce", "delay_up", "", ANNOUNCE),
    ("announce", "delay_down", "", ANNOUNCE),
    ("bgp_announce", "interface", "", BGP),
    ("bgp_announce", "address_lifetime", "", BGP),
    ("bgp_announce", "withdraw_on_shutdown", "", BGP),
    ("bgp_announce", "health_timeout", "", BGP),
    ("virtual_server", "virtualhost", "HTTP_GET", &[]),
    ("real_server", "virtualhost", "HTTP_GET", &[]),
    ("virtual_server", "sorry_server_inhibit", "", SORRY),
    ("virtual_server", "sorry_server_lvs_method", "", SORRY),
    ("virtual_server", "sh-port", "", &[("virtual_server", "lb_algo sh")]),
    ("virtual_server", "sh-fallback", "", &[("virtual_server", "lb_algo sh")]),
    ("virtual_server", "mh-port", "", &[("virtual_server", "lb_algo mh")]),
    ("virtual_server", "mh-fallback", "", &[("virtual_server", "lb_algo mh")]),
    ("url", "regex_no_match", "HTTP_GET", REGEX),
    ("url", "regex_options", "HTTP_GET", REGEX),
    ("url", "regex_min_offset", "HTTP_GET", REGEX),
    ("url", "regex_max_offset", "HTTP_GET", REGEX),
    ("SSL_GET", "enable_sni", "SSL_GET", &[("checker", "virtualhost example.com")]),
    ("TCP_CHECK", "bind_port", "TCP_CHECK", BINDTO),
    ("HTTP_GET", "bind_port", "HTTP_GET", BINDTO),
    ("SSL_GET", "bind_port", "SSL_GET", BINDTO),
    ("SMTP_CHECK", "bind_port", "SMTP_CHECK", BINDTO),
    ("DNS_CHECK", "bind_port", "DNS_CHECK", BINDTO),
    ("UDP_CHECK", "bind_port", "UDP_CHECK", BINDTO),
];

/// Keywords the parent acts on from the configuration itself, keepalived
/// itself ignores where they are, or that open a block swept on its own.
const ELSEWHERE: &[(&str, &str, &str)] = &[
    ("top level", "net_namespace", "the parent enters it before anything starts (main.rs)"),
    ("top level", "instance", "idents and pid file names, set by the parent at start (main.rs)"),
    ("top level", "use_pid_dir", "pid file names, set by the parent at start (main.rs)"),
    ("global_defs", "umask", "the scripts' umask, set on the allowlist by the supervisor's Plan::new"),
    ("global_defs", "enable_script_security", "script_security.rs refuses insecure scripts at load"),
    ("global_defs", "startup_script", "hook_script.rs"),
    ("global_defs", "startup_script_timeout", "hook_script.rs"),
    ("global_defs", "shutdown_script", "hook_script.rs"),
    ("global_defs", "shutdown_script_timeout", "hook_script.rs"),
    ("global_defs", "notify_fifo", "the parent writes the FIFOs (fifo.rs)"),
    ("global_defs", "notify_fifo_script", "fifo.rs"),
    ("global_defs", "vrrp_notify_fifo", "fifo.rs"),
    ("global_defs", "vrrp_notify_fifo_script", "fifo.rs"),
    ("global_defs", "lvs_notify_fifo", "fifo.rs"),
    ("global_defs", "lvs_notify_fifo_script", "fifo.rs"),
    ("global_defs", "fifo_write_vrrp_states_on_reload", "the supervisor's reload (supervisor.rs)"),
    ("global_defs", "process_name", "the parent's own name (tuning.rs name_self)"),
    ("global_defs", "data_use_instance", "the data dump's file name (dumpfile.rs)"),
    ("vrrp_instance", "native_ipv6", "taken only before any IPv4 address (the skeleton's instance has one); it makes the family and version (vrrp_plan.rs; parity cases 1016-1019)"),
    ("virtual_server", "ip_family", "only a fwmark virtual server has a family to set; keepalived ignores it on an address (ipvs_plan.rs target)"),
    ("HTTP_GET", "enable_sni", "keepalived reads it for SSL_GET only (check_ssl.c)"),
    ("PING_CHECK", "connect_port", "ICMP has no port; keepalived's check_ping.c ignores it"),
    ("PING_CHECK", "bind_port", "ICMP has no port; keepalived's check_ping.c ignores it"),
    ("PING_CHECK", "bindto", "keepalived's check_ping.c never binds its ICMP socket"),
    ("PING_CHECK", "bind_if", "keepalived's check_ping.c never binds its ICMP socket"),
    ("SSL", "password", "the parent loads the SSL block's files into the check plan (ssl_client.rs; tests/tests/ssl_client.rs)"),
    ("SSL", "ca", "ssl_client.rs"),
    ("SSL", "certificate", "ssl_client.rs"),
    ("SSL", "key", "ssl_client.rs"),
];

/// Keywords that open a block whose own keywords are swept (or a list).
const BLOCKS: &[&str] = &[
    "global_defs",
    "vrrp_script",
    "vrrp_track_process",
    "track_file",
    "vrrp_track_file",
    "vrrp_sync_group",
    "vrrp_instance",
    "virtual_server_group",
    "virtual_server",
    "real_server",
    "interface_up_down_delays",
    "track_group",
    "garp_group",
    "SSL",
    // Its keywords are swept; the block alone, written with nothing in
    // it, is its defaults (which a bare `announce` already gives).
    "bgp_announce",
    "HTTP_GET",
    "SSL_GET",
    "TCP_CHECK",
    "SMTP_CHECK",
    "DNS_CHECK",
    "UDP_CHECK",
    "MISC_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
    "host",
    "group",
];

/// Everything the processes run for `c`, as text.
fn fingerprint(c: &Config) -> Fingerprint {
    let mut next = 0;
    let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
    let list = keepalived_ipc::script_allow::Allowlist::of(
        c,
        &ids,
        (1, 1),
        &Default::default(),
        &mut next,
    );
    let (check, ..) = crate::check_plan::compile(c, &ids, &list, None);
    let (vrrp, _) = crate::vrrp_plan::compile(c);
    let ipvs = crate::ipvs_plan::compile(c, &ids, None);
    let settings: Vec<String> = [Subsystem::Vrrp, Subsystem::Checker, Subsystem::Ipvs]
        .iter()
        .map(|s| {
            format!(
                "{:?} {:?}",
                crate::tuning::settings(&c.global_defs, *s),
                // What the parent's tuner applies to the child.
                crate::tuning::tuning_of(&c.global_defs, *s)
            )
        })
        .collect();
    Fingerprint {
        second_instance: vrrp.instances.get(1).map(|i| format!("{i:?}")),
        second_service: ipvs.services.get(1).map(|s| format!("{:?}", s.input)),
        all: format!("{vrrp:?}\n{check:?}\n{ipvs:?}\n{list:?}\n{settings:?}"),
    }
}

struct Fingerprint {
    second_instance: Option<String>,
    second_service: Option<String>,
    all: String,
}

/// The skeleton with `line` in `block` (a checker's keyword in a checker
/// of `kind`).
fn config_with(block: &str, kind: &str, line: &str, context: &[(&str, &str)]) -> String {
    // What each kind needs to be a checker at all.
    let body = match kind {
        "HTTP_GET" | "SSL_GET" => "            url {\n                path /\n@url@            }\n",
        "MISC_CHECK" => "            misc_path \"/bin/true\"\n",
        "FILE_CHECK" => "            track_file tf\n",
        "DNS_CHECK" => "            name example.com\n",
        _ => "",
    };
    let mut text = SKELETON.replace("@CHECK@", kind).replace("@BODY@", body);
    for b in [
        "global_defs",
        "vrrp_script",
        "track_file",
        "vrrp_track_process",
        "vrrp_sync_group",
        "authentication",
        "vrrp_instance",
        "url",
        "garp_group",
        "checker",
        "real_server",
        "virtual_server",
        "announce",
        "top level",
        "bgp_announce",
    ] {
        let mut with = String::new();
        for (cb, cl) in context {
            if *cb == b {
                with.push_str(&format!("    {cl}\n"));
            }
        }
        if b == block && !line.is_empty() {
            with.push_str(&format!("    {line}\n"));
        }
        text = text.replace(&format!("@{b}@"), &with);
    }
    text
}

fn load(text: &str) -> Result<Config, keepalived_config::LoadError> {
    load_str(
        text,
        Path::new("/t/keepalived.conf"),
        &LoadOptions::default(),
    )
    .map(|l| l.config)
}

#[test]
fn every_typed_keyword_reaches_a_plan_and_only_its_own_object() {
    let checkers = [
        "TCP_CHECK",
        "HTTP_GET",
        "SSL_GET",
        "SMTP_CHECK",
        "DNS_CHECK",
        "UDP_CHECK",
        "MISC_CHECK",
        "PING_CHECK",
        "FILE_CHECK",
    ];
    let mut no_effect = Vec::new();
    let mut spills = Vec::new();
    for e in keepalived_config::keyword_entries() {
        // Raw ones are reported (raw_keywords.rs), unsupported ones too.
        let refused = keepalived_config::support::UNSUPPORTED
            .iter()
            .any(|u| u.keyword == e.name && (u.block == e.block || u.block == "checker"));
        if !e.typed
            || refused
            || e.block == "BFD_CHECK"
            || BLOCKS.contains(&e.name)
            || ELSEWHERE
                .iter()
                .any(|(b, k, _)| *b == e.block && *k == e.name)
        {
            continue;
        }
        let ctx = CONTEXT
            .iter()
            .find(|(b, k, ..)| *b == e.block && *k == e.name);
        let (block, mut kind) = if checkers.contains(&e.block) {
            ("checker", e.block)
        } else if e.block == "url" {
            ("url", "HTTP_GET")
        } else {
            (e.block, "TCP_CHECK")
        };
        let context: &[(&str, &str)] = match ctx {
            Some((_, _, k, c)) => {
                if !k.is_empty() {
                    kind = k;
                }
                c
            }
            None => &[],
        };
        let text = config_with(block, kind, "", context);
        let base = match load(&text) {
            Ok(c) => fingerprint(&c),
            Err(err) => panic!(
                "{} {}: the skeleton does not load: {:?}",
                e.block, e.name, err.diagnostics
            ),
        };
        let mut found = None;
        for v in VALUES {
            let Ok(c) = load(&config_with(
                block,
                kind,
                &format!("{} {v}", e.name),
                context,
            )) else {
                continue;
            };
            let f = fingerprint(&c);
            if f.all != base.all {
                found = Some((v, f));
                break;
            }
        }
        match found {
            None => no_effect.push(format!("{} {}", e.block, e.name)),
            Some((v, f)) => {
                let own = matches!(block, "vrrp_instance" | "authentication")
                    .then_some((&f.second_instance, &base.second_instance))
                    .or(
                        matches!(block, "virtual_server" | "real_server" | "checker" | "url")
                            .then_some((&f.second_service, &base.second_service)),
                    );
                if let Some((now, before)) = own {
                    if now != before {
                        let (b, n) = (format!("{before:?}"), format!("{now:?}"));
                        let at = b.chars().zip(n.chars()).take_while(|(x, y)| x == y).count();
                        let cut = |t: &str| {
                            t.chars()
                                .skip(at.saturating_sub(80))
                                .take(200)
                                .collect::<String>()
                        };
                        spills.push(format!(
                            "{} {} {v}: {} / {}",
                            e.block,
                            e.name,
                            cut(&b),
                            cut(&n)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        no_effect.is_empty() && spills.is_empty(),
        "typed keywords no plan carries (fix, or list in ELSEWHERE with where they act): {no_effect:#?}\n\
         keywords that changed another instance's or virtual server's plan: {spills:#?}"
    );
}
