//! Each block's keyword table against its reader: every keyword of every
//! block, written with a plausible value in a minimal configuration, is
//! known (no "unknown keyword"), reaches the reader's own arm when typed
//! (not `extra`, no "internal error") and lands in `extra` when kept raw;
//! what was read prints and converts to TOML and back unchanged.
//! The readers look a keyword up in the table before matching, so an arm
//! whose keyword is missing from the table can never run: this test is
//! what finds it (the keyword is then reported unknown).

mod common;

use keepalived_config::model::{Config, Stmt};
use keepalived_config::*;
use std::path::Path;

/// The line(s) written for `kw` in `block`: `kw VALUE`, with a value the
/// reader accepts; "1" unless listed here.
fn line(block: &str, kw: &str) -> String {
    let v = match (block, kw) {
        // Blocks at the top level.
        ("top level", "global_defs") => "{\n router_id x\n}",
        ("top level", "vrrp_script") => "S2 {\n script /bin/true\n}",
        ("top level", "vrrp_track_process") => "P2 {\n process foo\n}",
        ("top level", "track_file" | "vrrp_track_file") => "F2 {\n file /tmp/f\n}",
        ("top level", "vrrp_sync_group") => "G2 {\n group {\n VI_1\n }\n}",
        ("top level", "vrrp_instance") => {
            "VI_2 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n 10.0.0.2\n }\n}"
        }
        ("top level", "static_ipaddress") => "{\n 10.1.0.1/24 dev eth0\n}",
        ("top level", "static_routes") => "{\n 10.2.0.0/16 via 10.0.0.254 dev eth0\n}",
        ("top level", "static_rules") => "{\n from 10.3.0.0/16 table 100 preference 100\n}",
        ("top level", "virtual_server_group") => "VSG {\n 10.0.0.50 80\n}",
        ("top level", "virtual_server") => "10.0.0.60 80 {\n protocol TCP\n}",
        ("top level", "net_namespace") => "ns1",
        ("top level", "instance") => "i1",
        ("top level", "track_group") => "TG {\n group {\n VI_1\n }\n}",
        ("top level", "garp_group") => "{\n interface eth0\n garp_interval 1\n}",
        ("top level", "bfd_instance") => "B1 {\n neighbor_ip 10.0.0.70\n}",
        ("top level", "SSL") => "{\n password x\n}",
        ("garp_group", "interface") => "eth0",
        ("garp_group", "interfaces") => "{\n eth1\n}",
        ("top level", "bgp_announce") => "{\n interface kalrs1\n}",
        ("bgp_announce", "interface") => "kalrs1",
        ("bgp_announce", "withdraw_on_shutdown") => "no",
        ("bgp_announce", "address_lifetime") => "30",
        ("virtual_server", "announce") => "{\n delay_up 1\n}",
        ("top level", "linkbeat_interfaces") => "{\n eth0\n}",
        ("top level", "interface_up_down_delays") => "{\n eth0 1 1\n}",
        ("top level", "net_namespace_ipvs") => "ns2",
        // global_defs
        ("global_defs", "router_id" | "smtp_helo_name" | "default_interface") => "eth0",
        ("global_defs", "notification_email") => "{\n a@example.com\n}",
        ("global_defs", "notification_email_from") => "a@example.com",
        ("global_defs", "smtp_server") => "10.0.0.80",
        ("global_defs", "script_user") => "root",
        ("global_defs", "vrrp_mcast_group4") => "224.0.0.19",
        ("global_defs", "vrrp_mcast_group6") => "ff02::13",
        ("global_defs", "vrrp_version") => "3",
        ("global_defs", "lvs_sync_daemon") => "eth0",
        ("global_defs", "umask") => "022",
        ("global_defs", "vrrp_rx_bufs_policy") => "MTU",
        ("global_defs", "lvs_timeouts") => "tcp 10",
        (
            "global_defs",
            "startup_script"
            | "shutdown_script"
            | "notify_fifo_script"
            | "vrrp_notify_fifo_script"
            | "lvs_notify_fifo_script",
        ) => "/bin/true",
        ("global_defs", "notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo") => {
            "/tmp/fifo root root"
        }
        ("global_defs", "reload_time_file" | "reload_file" | "tmp_config_directory") => "/tmp/r",
        ("global_defs", "config_save_dir") => "/tmp",
        ("global_defs", "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl") => "1",
        ("global_defs", "vmac_prefix" | "vmac_addr_prefix") => "vrrp",
        ("global_defs", "process_names") => "",
        ("global_defs", "snmp_socket") => "tcp:localhost:705",
        ("global_defs", "dbus_service_name") => "org.keepalived",
        ("global_defs", "include_check") => "",
        (_, k)
            if k.ends_with("_process_name")
                || k.ends_with("_cpu_affinity")
                || k == "vrrp_iptables"
                || k == "nftables" =>
        {
            "kp"
        }
        // vrrp_script, vrrp_track_process, track_file
        ("vrrp_script", "script") => "/bin/true",
        ("vrrp_script", "user") => "root",
        ("vrrp_track_process", "process") => "foo",
        ("vrrp_track_process", "param_match") => "initial",
        ("track_file", "file") => "/tmp/f",
        ("track_file", "init_file") => "0",
        // vrrp_sync_group
        ("vrrp_sync_group", "group") => "{\n VI_1\n}",
        (_, "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify")
        | (_, "notify_master_rx_lower_pri" | "notify_deleted" | "notify_up" | "notify_down")
        | ("virtual_server", "quorum_up" | "quorum_down") => "/bin/true",
        (_, "track_interface") => "{\n eth0\n}",
        (_, "track_script") => "{\n S\n}",
        ("vrrp_sync_group" | "vrrp_instance", "track_file") => "{\n F\n}",
        (_, "track_process") => "{\n P\n}",
        (_, "track_bfd") => "{\n B\n}",
        // vrrp_instance
        ("vrrp_instance", "state") => "BACKUP",
        ("vrrp_instance", "interface") => "eth0",
        ("vrrp_instance", "version") => "3",
        ("vrrp_instance", "mcast_src_ip" | "unicast_src_ip") => "10.0.0.90",
        ("vrrp_instance", "mcast_dst_ip") => "224.0.0.18",
        ("vrrp_instance", "unicast_peer") => "{\n 10.0.0.91\n}",
        ("vrrp_instance", "authentication") => "{\n auth_type PASS\n auth_pass x\n}",
        ("vrrp_instance", "virtual_ipaddress" | "virtual_ipaddress_excluded") => "{\n 10.0.0.92\n}",
        ("vrrp_instance", "virtual_routes") => "{\n 10.4.0.0/16 via 10.0.0.254 dev eth0\n}",
        ("vrrp_instance", "virtual_rules") => "{\n from 10.5.0.0/16 table 100 preference 100\n}",
        ("vrrp_instance", "use_vmac") => "vrrp.1",
        ("vrrp_instance", "use_ipvlan") => "ipv1 10.0.0.93/24",
        ("vrrp_instance", "track_src_ip" | "native_ipv6" | "linkbeat_use_polling") => "",
        ("vrrp_instance", "vrf") => "red",
        ("vrrp_instance", "garp_extra_if") => "1",
        // authentication
        ("authentication", "auth_type") => "PASS",
        ("authentication", "auth_pass") => "secret",
        // virtual_server
        ("virtual_server", "lb_algo" | "lvs_sched") => "rr",
        ("virtual_server", "lb_kind" | "lvs_method") => "TUN type gue port 6080 csum",
        ("real_server", "lvs_method") => "TUN type gre",
        ("virtual_server", "persistence_granularity") => "255.255.255.0",
        ("virtual_server", "protocol") => "TCP",
        ("virtual_server", "sorry_server") => "10.0.0.94 80",
        ("virtual_server", "real_server") => "10.0.0.95 80 {\n weight 1\n}",
        ("virtual_server", "ip_family") => "inet",
        ("virtual_server", "persistence_engine") => "sip",
        ("virtual_server", "sorry_server_lvs_method") => "TUN type ipip",
        ("virtual_server", "ops" | "flag-1" | "flag-2" | "flag-3") => "",
        ("virtual_server", "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback") => "",
        (_, "virtualhost" | "snmp_name" | "http_protocol" | "helo_name") => "h",
        // real_server: a checker block is the keyword itself.
        ("real_server", "HTTP_GET" | "SSL_GET") => "{\n url {\n path /\n }\n}",
        ("real_server", "MISC_CHECK") => "{\n misc_path /bin/true\n}",
        ("real_server", "FILE_CHECK") => "{\n track_file F\n}",
        ("real_server", "BFD_CHECK") => "{\n name B\n}",
        ("real_server", k) if k.ends_with("_CHECK") => "{\n}",
        // checkers
        (_, "connect_ip" | "bindto") => "10.0.0.96",
        (_, "bind_if") => "eth0",
        (_, "url") => "{\n path /\n}",
        ("MISC_CHECK", "misc_path" | "user") => "/bin/true",
        ("SMTP_CHECK", "host") => "{\n connect_ip 10.0.0.97\n}",
        ("DNS_CHECK", "type") => "A",
        ("DNS_CHECK" | "BFD_CHECK", "name") => "B",
        ("UDP_CHECK", "payload" | "require_reply") => "00",
        ("FILE_CHECK", "track_file") => "F",
        // url
        ("url", "path") => "/",
        ("url", "digest") => "0123456789abcdef0123456789abcdef",
        ("url", "status_code") => "200",
        ("url", "regex") => "ok",
        ("url", "regex_options") => "caseless",
        _ => "1",
    };
    format!("{kw} {v}")
}

const SCRIPT: &str = "vrrp_script S {\n script /bin/true\n}\n";
const PROCESS: &str = "vrrp_track_process P {\n process foo\n}\n";
const FILE: &str = "track_file F {\n file /tmp/f\n}\n";
const INSTANCE_BODY: &str =
    "interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }";

/// A configuration with `l` written in `block`, holding the trackers the
/// samples name.
fn config(block: &str, l: &str) -> String {
    let instance = |body: &str| format!("vrrp_instance VI_1 {{\n {INSTANCE_BODY}\n {body}\n}}\n");
    let checker = |kind: &str, body: &str| {
        let need = match kind {
            "HTTP_GET" | "SSL_GET" => "url {\n path /\n }",
            "MISC_CHECK" => "misc_path /bin/true",
            "FILE_CHECK" => "track_file F",
            "BFD_CHECK" => "name B",
            _ => "",
        };
        format!(
            "virtual_server 10.0.0.60 80 {{\n protocol TCP\n real_server 10.0.0.61 80 {{\n {kind} {{\n {need}\n {body}\n }}\n }}\n}}\n"
        )
    };
    let trackers = format!("{SCRIPT}{PROCESS}{FILE}");
    let body = match block {
        "top level" => format!("{}\n{}", l, instance("")),
        "global_defs" => format!("global_defs {{\n {l}\n}}\n{}", instance("")),
        "vrrp_script" => format!("vrrp_script S {{\n script /bin/true\n {l}\n}}\n"),
        "vrrp_track_process" => format!("vrrp_track_process P {{\n process foo\n {l}\n}}\n"),
        "track_file" => format!("track_file F {{\n file /tmp/f\n {l}\n}}\n"),
        "vrrp_sync_group" => format!(
            "{}vrrp_sync_group G {{\n group {{\n VI_1\n }}\n {l}\n}}\n",
            instance("")
        ),
        "vrrp_instance" => instance(l),
        "authentication" => instance(&format!(
            "authentication {{\n auth_type PASS\n auth_pass x\n {l}\n }}"
        )),
        "virtual_server" => format!(
            "virtual_server 10.0.0.60 80 {{\n protocol TCP\n {l}\n real_server 10.0.0.61 80 {{\n weight 1\n }}\n}}\n"
        ),
        "real_server" => format!(
            "virtual_server 10.0.0.60 80 {{\n protocol TCP\n real_server 10.0.0.61 80 {{\n {l}\n }}\n}}\n"
        ),
        "url" => checker("HTTP_GET", "").replace(" path /\n", &format!(" path /\n {l}\n")),
        "SSL" => format!("SSL {{\n {l}\n}}\n{}", instance("")),
        "garp_group" => format!("garp_group {{\n garp_interval 1\n {l}\n}}\n{}", instance("")),
        "bgp_announce" => format!("bgp_announce {{\n {l}\n}}\n{}", instance("")),
        "announce" => format!(
            "virtual_server 10.0.0.60 80 {{\n protocol TCP\n announce {{\n {l}\n }}\n real_server 10.0.0.61 80 {{\n weight 1\n }}\n}}\n"
        ),
        kind => checker(kind, l),
    };
    // The samples' trackers, unless the line defines its own.
    if block == "top level" {
        format!("{trackers}{body}")
    } else {
        format!("{body}{trackers}")
    }
}

/// The `extra` of the block the line was written in.
fn extra<'c>(c: &'c Config, block: &str) -> &'c [Stmt] {
    let vs = || {
        c.virtual_servers
            .iter()
            .find(|v| v.port == Some(80) && v.ip.is_some_and(|a| a.to_string() == "10.0.0.60"))
    };
    let rs = || &vs().expect("virtual server").real_servers[0];
    match block {
        "top level" => &c.extra,
        "global_defs" => &c.global_defs.extra,
        "vrrp_script" => &c.vrrp_scripts[0].extra,
        "vrrp_track_process" => &c.vrrp_track_processes[0].extra,
        "track_file" => &c.track_files[0].extra,
        "vrrp_sync_group" => &c.vrrp_sync_groups[0].extra,
        "vrrp_instance" => &c.vrrp_instances[0].extra,
        "authentication" | "SSL" | "garp_group" | "bgp_announce" | "announce" => &[],
        "virtual_server" => &vs().expect("virtual server").extra,
        "real_server" => &rs().extra,
        "url" => &rs().checkers[0].url[0].extra,
        _ => &rs().checkers[0].extra,
    }
}

fn load(text: &str) -> Result<Loaded, LoadError> {
    load_str(
        text,
        Path::new("/etc/keepalived/test.conf"),
        &common::opts(),
    )
}

#[test]
fn every_keyword_of_every_table_is_read_as_its_table_says() {
    let entries = keyword_entries();
    assert!(entries.len() > 350, "only {} keywords", entries.len());
    let mut bad = Vec::new();
    for e in &entries {
        let l = line(e.block, e.name);
        let text = config(e.block, &l);
        let why = |what: &str, d: &[Diagnostic]| {
            let d: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            format!(
                "{} '{}' ({}): {what}\n  {}\n--- config:\n{text}",
                e.block,
                e.name,
                if e.typed { "typed" } else { "raw" },
                d.join("\n  ")
            )
        };
        let loaded = match load(&text) {
            Ok(l) => l,
            Err(err) => {
                bad.push(why("refused", &err.diagnostics));
                continue;
            }
        };
        let d: Vec<Diagnostic> = loaded
            .diagnostics
            .iter()
            .chain(&loaded.notes)
            .cloned()
            .collect();
        if d.iter().any(|d| d.message.contains("unknown keyword")) {
            bad.push(why("reported unknown", &d));
            continue;
        }
        if d.iter().any(|d| d.message.contains("internal error")) {
            bad.push(why("has no reader", &d));
            continue;
        }
        let in_extra = extra(&loaded.config, e.block)
            .iter()
            .any(|s| s.keyword == e.name);
        if e.typed && in_extra {
            bad.push(why("typed, but kept in extra", &d));
        } else if !e.typed && !in_extra {
            bad.push(why("raw, but not kept in extra", &d));
        }
        // The printer and TOML keep what the reader read: a typed field the
        // printer forgot reads back different.
        let printed = to_keepalived_conf(&loaded.config);
        match load(&printed) {
            Ok(again) if again.config == loaded.config => {}
            Ok(_) => bad.push(why(&format!("printed differently:\n{printed}"), &d)),
            Err(err) => bad.push(why(
                &format!("printed form refused:\n{printed}"),
                &err.diagnostics,
            )),
        }
        if from_toml(&to_toml(&loaded.config)).ok().as_ref() != Some(&loaded.config) {
            bad.push(why("TOML differs", &d));
        }
    }
    assert!(
        bad.is_empty(),
        "{} keywords misread:\n{}",
        bad.len(),
        bad.join("\n\n")
    );
}

#[test]
fn a_made_up_keyword_is_unknown_in_every_block() {
    let mut blocks: Vec<&str> = keyword_entries().iter().map(|e| e.block).collect();
    blocks.dedup();
    for b in blocks {
        let text = config(b, "no_such_keyword_here 1");
        let d = match load(&text) {
            Ok(l) => l.diagnostics,
            Err(e) => e.diagnostics,
        };
        assert!(
            d.iter()
                .any(|d| d.message.contains("unknown keyword 'no_such_keyword_here'")),
            "{b}: not reported unknown: {d:#?}"
        );
    }
}

/// The keyword literals of each reader's `match d.key()` arms, with the
/// block its lookup names ("checker" for any kind of checker): read from
/// the source, since an arm the table lacks never runs.
fn reader_arms() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/build");
    let mut out = Vec::new();
    for f in ["mod.rs", "global.rs", "vrrp.rs", "lvs.rs"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !l.trim_end().ends_with("match d.key() {") {
                continue;
            }
            let block = lines[..i]
                .iter()
                .rev()
                .find_map(|p| {
                    if p.contains("allowed.iter().find(") {
                        return Some("checker".to_string());
                    }
                    let rest = p.split_once("cx.lookup(")?.1;
                    Some(rest.split('"').nth(1)?.to_string())
                })
                .unwrap_or_else(|| panic!("{f}:{}: no lookup before the match", i + 1));
            let indent = l.len() - l.trim_start().len();
            for a in &lines[i + 1..] {
                let ind = a.len() - a.trim_start().len();
                if ind <= indent {
                    break;
                }
                let a = a.trim_start();
                if ind != indent + 4 || !(a.starts_with('"') || a.starts_with("| \"")) {
                    continue;
                }
                let pat = a.split("=>").next().unwrap().split(" if ").next().unwrap();
                for kw in pat.split('|').map(|p| p.trim().trim_matches('"')) {
                    if !kw.is_empty() {
                        out.push((block.clone(), kw.to_string()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_reader_arm_is_a_keyword_of_its_table() {
    let entries = keyword_entries();
    let arms = reader_arms();
    assert!(arms.len() > 200, "only {} arms found", arms.len());
    let checker = |b: &str| b.ends_with("_CHECK") || b.ends_with("_GET");
    let missing: Vec<String> = arms
        .iter()
        .filter(|(b, kw)| {
            !entries
                .iter()
                .any(|e| e.name == kw && (e.block == b || (b == "checker" && checker(e.block))))
        })
        .map(|(b, kw)| format!("{b}: {kw}"))
        .collect();
    assert!(
        missing.is_empty(),
        "arms whose keyword is not in the block's table (it would be reported unknown):\n{}",
        missing.join("\n")
    );
}
