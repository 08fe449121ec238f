//! LVS: virtual servers, real servers, checkers, groups, SSL
//! (`check/check_parser.c`, `check/check_*.c`, `check/check_data.c`).

#![allow(clippy::collapsible_match)]

use super::*;

pub(super) fn ssl(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    if st.ssl_seen {
        cx.warn(n.pos(), "SSL context already specified - replacing");
    }
    st.ssl_seen = true;
    let mut seen: HashSet<String> = HashSet::new();
    for k in body {
        let what = match k.kw.text.as_str() {
            "certificate" => "certfile",
            "key" => "keyfile",
            "ca" => "cafile",
            "password" => "password",
            _ => continue,
        };
        if k.args.is_empty() {
            cx.warn(k.pos(), format!("SSL {what} missing"));
        } else if !seen.insert(what.into()) {
            cx.warn(k.pos(), format!("SSL {what} already specified - replacing"));
        }
    }
}

/// A `HOST PORT` / `fwmark N` / `group NAME` service address.
pub(super) fn vs_family(n: &Node) -> Option<bool> {
    let a = n.args.first()?;
    if a.text == "fwmark" || a.text == "group" {
        return None;
    }
    a.text.parse::<std::net::IpAddr>().ok().map(|a| a.is_ipv4())
}

pub(super) fn is_hex(s: &str) -> bool {
    s.len() % 2 == 0 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn virtual_server(cx: &mut Cx, n: &Node, body: &[Node], st: &State) {
    let a0 = n.args.first().map(|t| t.text.as_str()).unwrap_or("");
    let fwmark = a0 == "fwmark";
    let v4 = vs_family(n);
    let port_zero = !fwmark && a0 != "group" && n.args.get(1).is_some_and(|p| p.text == "0");
    let name = n
        .args
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut seen: HashSet<String> = HashSet::new();
    let mut lb_algo = None;
    let mut protocol = None;
    let mut persistence = false;
    let mut quorum: u64 = 1;
    let mut hysteresis: u64 = 0;
    let mut total_weight: u64 = 0;
    let mut rs_count = 0;
    let mut rs_keys: HashSet<String> = HashSet::new();
    let mut rs_inhibit: Vec<(String, bool)> = Vec::new();
    let mut sorry: Option<(String, Pos)> = None;
    let mut sorry_inhibit = false;
    for k in body {
        values(cx, "virtual_server", k);
        let kw = k.kw.text.as_str();
        let a = k.args.first();
        match kw {
            "lb_algo" | "lvs_sched" => lb_algo = a.map(|t| t.text.clone()),
            "protocol" => {
                protocol = a.map(|t| t.text.clone());
                if fwmark {
                    cx.warn(
                        k.pos(),
                        format!("Warning: Virtual server {name}: protocol specified for fwmark - protocol will be ignored"),
                    );
                }
            }
            "persistence_timeout" => persistence = true,
            "ha_suspend" if fwmark => cx.warn(
                k.pos(),
                format!("Virtual server {name}: cannot use ha_suspend with fwmarks - clearing ha_suspend"),
            ),
            "lb_kind" | "lvs_method" => {
                if let Some(t) = a {
                    lb_kind(cx, k, t);
                }
            }
            "persistence_engine" => {
                if let Some(t) = a.filter(|t| t.text.len() > 15) {
                    cx.warn(
                        &t.pos,
                        format!("persistence_name too long, truncating - {}", t.text),
                    );
                }
            }
            "ip_family" => {
                if let Some(t) = a {
                    match t.text.as_str() {
                        "inet" | "inet6" => {
                            if v4.is_some_and(|v4| v4 != (t.text == "inet")) {
                                cx.warn(&t.pos, format!("Virtual server specified family {} conflicts with server family", t.text));
                            }
                        }
                        other => cx.warn(&t.pos, format!("unknown address family {other}")),
                    }
                }
            }
            "snmp_name" if k.args.len() != 1 => {
                cx.warn(k.pos(), "virtual server snmp_name missing or extra parameters")
            }
            "quorum_up" | "quorum_down" => {
                if !seen.insert(kw.into()) {
                    cx.warn(k.pos(), format!("{kw} script already specified - ignoring"));
                }
            }
            "quorum" => {
                if let Some(v) = cx.k_first_uns(k, 1, U32) {
                    quorum = v;
                }
            }
            "hysteresis" => {
                if let Some(v) = cx.k_first_uns(k, 0, U32) {
                    hysteresis = v;
                }
            }
            "delay_loop" | "delay_before_retry" | "warmup" => {
                if let Some(t) = a {
                    cx.k_dec(t, if kw == "delay_loop" { 1 } else { 0 }, u64::MAX / 1000, 6);
                }
            }
            "connect_timeout" => {
                if let Some(t) = a {
                    cx.k_dec(t, 1, U32, 6);
                }
            }
            "retry" => {
                cx.k_first_uns(k, 1, U32);
            }
            "sorry_server" => {
                if let Some(t) = a {
                    if let (Some(vf), Ok(sa)) = (v4, t.text.parse::<std::net::IpAddr>()) {
                        if vf != sa.is_ipv4() {
                            cx.warn(&t.pos, format!("Address family of virtual server and sorry server {} don't match - skipping sorry server.", t.text));
                            continue;
                        }
                    }
                    let port = k.args.get(1).map(|p| p.text.as_str()).unwrap_or("0");
                    sorry = Some((format!("{} {port}", t.text), k.pos().clone()));
                }
            }
            "sorry_server_inhibit" => {
                if sorry.is_none() {
                    cx.warn(k.pos(), "Ignoring sorry_server inhibit used before or without sorry_server");
                } else {
                    sorry_inhibit = true;
                }
            }
            "sorry_server_lvs_method" if sorry.is_none() => {
                cx.warn(k.pos(), "sorry_server forwarding used without sorry_server")
            }
            "real_server" => {
                rs_count += 1;
                let key = k.args.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ");
                if !rs_keys.insert(key.clone()) {
                    cx.warn(
                        k.pos(),
                        format!("VS {name}: real server {key} is duplicated - removing second rs"),
                    );
                    continue;
                }
                let (w, inhibit) = real_server(cx, k, st);
                total_weight += w;
                rs_inhibit.push((key, inhibit));
            }
            _ => {}
        }
    }
    if let Some(algo) = &lb_algo {
        for k in body {
            if matches!(k.kw.text.as_str(), "sh-port" | "sh-fallback") && algo != "sh" {
                cx.warn(
                    k.pos(),
                    format!("{} only applies to sh scheduler - ignoring", k.kw.text),
                );
            }
            if k.kw.text == "ops" && protocol.as_deref() != Some("UDP") {
                cx.warn(
                    k.pos(),
                    format!(
                        "Virtual server {name}: one packet scheduling requires UDP - resetting"
                    ),
                );
            }
        }
    } else {
        for k in body.iter().filter(|k| k.kw.text == "ops") {
            if protocol.as_deref() != Some("UDP") {
                cx.warn(
                    k.pos(),
                    format!(
                        "Virtual server {name}: one packet scheduling requires UDP - resetting"
                    ),
                );
            }
        }
    }
    if port_zero && !persistence {
        cx.warn(
            n.pos(),
            format!(
                "Virtual server {name}: zero port only valid for persistent services - setting"
            ),
        );
    }
    if rs_count == 0 {
        cx.warn(
            n.pos(),
            format!("Virtual server {name} has no real servers - ignoring"),
        );
        return;
    }
    if quorum > total_weight {
        cx.warn(
            n.pos(),
            format!("Warning - quorum {quorum} for {name} exceeds total weight of real servers {total_weight}, reducing quorum to {total_weight}"),
        );
        quorum = total_weight;
    }
    if hysteresis > 0 && hysteresis >= quorum {
        cx.warn(
            n.pos(),
            format!("Virtual server {name}: hysteresis {hysteresis} >= quorum {quorum}; setting hysteresis to 0"),
        );
    }
    if let Some((key, p)) = &sorry {
        if let Some((_, inh)) = rs_inhibit.iter().find(|(k, _)| k == key) {
            if *inh != sorry_inhibit {
                cx.warn(p, format!("Virtual server {name}: real server {key} matches sorry server, but inhibit setting differs, clearing on sorry server"));
            }
        }
    }
}

/// `lb_kind NAT|DR|TUN [type ipip|gue|gre] [port N] [csum|nocsum|remcsum]`.
pub(super) fn lb_kind(cx: &mut Cx, k: &Node, t: &Token) {
    match t.text.as_str() {
        "NAT" | "DR" => {}
        "TUN" => {
            let mut ttype: Option<&str> = None;
            let mut port = false;
            let mut i = 1;
            while i < k.args.len() {
                let w = &k.args[i];
                match w.text.as_str() {
                    "type" => match k.args.get(i + 1) {
                        None => {
                            cx.warn(&w.pos, "Missing tunnel type for virtual server.");
                            return;
                        }
                        Some(v) if matches!(v.text.as_str(), "ipip" | "gue" | "gre") => {
                            ttype = Some(v.text.as_str());
                            i += 1;
                        }
                        Some(v) => {
                            cx.warn(
                                &v.pos,
                                format!("Unknown tunnel type {} for virtual server.", v.text),
                            );
                            return;
                        }
                    },
                    "port" => {
                        port = true;
                        if let Some(v) = k.args.get(i + 1) {
                            cx.k_uns(v, 1, 65535);
                        }
                        i += 1;
                    }
                    "nocsum" => {}
                    "csum" if ttype == Some("ipip") => {
                        cx.warn(&w.pos, "ipip tunnels do not support checksum option.")
                    }
                    "remcsum" if ttype == Some("ipip") => {
                        cx.warn(&w.pos, "ipip tunnels do not support checksum option.")
                    }
                    "remcsum" if ttype == Some("gre") => {
                        cx.warn(&w.pos, "gre tunnels do not support remote checksum option.")
                    }
                    "csum" | "remcsum" => {}
                    other => {
                        cx.warn(
                            &w.pos,
                            format!("Invalid tunnel option {other} for virtual server."),
                        );
                        return;
                    }
                }
                i += 1;
            }
            if (ttype == Some("gue")) != port {
                cx.warn(
                    k.pos(),
                    "gue tunnels require port, otherwise cannot have port.",
                );
            }
        }
        other => cx.warn(
            &t.pos,
            format!("PARSER : unknown [{other}] routing method for virtual server."),
        ),
    }
}

/// A real server: its checks, and (weight, inhibit_on_failure).
pub(super) fn real_server(cx: &mut Cx, n: &Node, st: &State) -> (u64, bool) {
    let mut weight = 1;
    let mut inhibit = false;
    let mut seen: HashSet<String> = HashSet::new();
    let mut bfds: HashSet<String> = HashSet::new();
    for k in n.block.as_deref().unwrap_or(&[]) {
        values(cx, "real_server", k);
        let kw = k.kw.text.as_str();
        let a = k.args.first();
        match kw {
            "weight" => {
                if let Some(t) = a {
                    if let Some(v) = cx.k_uns(t, 0, I32 as u64) {
                        weight = v;
                    }
                }
            }
            "inhibit_on_failure" => {
                inhibit = !matches!(a.map(|t| t.text.as_str()), Some("false" | "off" | "no"))
            }
            "notify_up" | "notify_down" => {
                if !seen.insert(kw.into()) {
                    cx.warn(k.pos(), format!("{kw} script already specified - ignoring"));
                }
            }
            "snmp_name" if k.args.len() != 1 => {
                cx.warn(k.pos(), "real server snmp_name missing or extra parameters")
            }
            "delay_loop" => {
                if let Some(t) = a {
                    cx.k_dec(t, 1, u64::MAX / 1000, 6);
                }
            }
            "connect_timeout" => {
                if let Some(t) = a {
                    cx.k_dec(t, 1, U32, 6);
                }
            }
            "retry" => {
                cx.k_first_uns(k, 1, U32);
            }
            _ if crate::build::lvs::is_checker(kw) => checker(cx, k, st, &mut bfds),
            _ => {}
        }
    }
    (weight, inhibit)
}

pub(super) fn checker(cx: &mut Cx, n: &Node, st: &State, bfds: &mut HashSet<String>) {
    let kind = n.kw.text.as_str();
    let body = n.block.as_deref().unwrap_or(&[]);
    let mut bindto: Option<std::net::IpAddr> = None;
    let mut connect_ip: Option<(std::net::IpAddr, Pos)> = None;
    let mut bind_if = false;
    let mut min_len = None;
    let mut max_len = None;
    let mut name_seen = false;
    let mut bfd_name = None;
    for k in body {
        values(cx, "checker", k);
        let a = k.args.first();
        match k.kw.text.as_str() {
            "bindto" => bindto = a.and_then(|t| t.text.parse().ok()),
            "connect_ip" => {
                if let Some(t) = a {
                    if let Ok(ip) = t.text.parse::<std::net::IpAddr>() {
                        if bindto.is_some_and(|b| b.is_ipv4() != ip.is_ipv4()) {
                            cx.warn(&t.pos, format!("connect_ip address {} does not match address family of bindto - skipping", t.text));
                        } else {
                            connect_ip = Some((ip, t.pos.clone()));
                        }
                    }
                }
            }
            "bind_if" => {
                if let Some(t) = a {
                    if t.text.len() > IFNAMSIZ_1 {
                        cx.warn(
                            &t.pos,
                            format!("Interface name {} is too long - ignoring", t.text),
                        );
                    } else {
                        bind_if = true;
                    }
                }
            }
            "connect_timeout" => {
                if let Some(t) = a {
                    cx.k_dec(t, 1, U32, 6);
                }
            }
            "delay_loop" => {
                if let Some(t) = a {
                    cx.k_dec(t, 1, u64::MAX / 1000, 6);
                }
            }
            "http_protocol" => {
                if let Some(t) = a {
                    if !matches!(t.text.as_str(), "1.0" | "1.1" | "1.0C" | "1.0c") {
                        cx.warn(&t.pos, format!("Invalid http_protocol version {}", t.text));
                    }
                }
            }
            "url" => {
                let mut digests: HashSet<String> = HashSet::new();
                for l in k.block.as_deref().unwrap_or(&[]) {
                    if l.kw.text != "digest" {
                        continue;
                    }
                    if let Some(d) = l.args.first() {
                        if d.text.len() != 32 {
                            cx.warn(
                                &d.pos,
                                format!(
                                    "digest '{}' character length should be 32 rather than {}",
                                    d.text,
                                    d.text.len()
                                ),
                            );
                        } else if !d.text.bytes().all(|b| b.is_ascii_hexdigit()) {
                            cx.warn(
                                &d.pos,
                                format!("Unable to interpret hex digit in '{}'", d.text),
                            );
                        } else if !digests.insert(d.text.to_ascii_lowercase()) {
                            cx.warn(&d.pos, format!("Digest '{}' is a duplicate", d.text));
                        }
                    }
                }
            }
            "type" if kind == "DNS_CHECK" => {
                if let Some(t) = a {
                    const TYPES: &[&str] = &[
                        "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY",
                    ];
                    if !TYPES.iter().any(|x| x.eq_ignore_ascii_case(&t.text)) {
                        cx.warn(
                            &t.pos,
                            format!("Unknown DNS check type {} - ignoring", t.text),
                        );
                    }
                }
            }
            "name" if kind == "DNS_CHECK" => {
                if name_seen {
                    cx.warn(k.pos(), "DNS_CHECK name already specified - ignoring");
                }
                name_seen = true;
                if let Some(t) = a {
                    let body = t.text.strip_suffix('.').unwrap_or(&t.text);
                    if body.split('.').any(|l| l.is_empty()) && t.text != "." {
                        cx.warn(
                            &t.pos,
                            format!("DNS_CHECK name '{}' has empty label - ignoring", t.text),
                        );
                    }
                }
            }
            "name" if kind == "BFD_CHECK" => {
                if k.args.len() != 1 {
                    cx.warn(
                        k.pos(),
                        "BFD_CHECK - No or too many names specified - skipping checker",
                    );
                } else {
                    bfd_name = Some(k.args[0].clone());
                }
            }
            "payload" | "require_reply" if kind == "UDP_CHECK" => {
                if let Some(t) = a {
                    if !is_hex(&t.text) {
                        let what = if k.kw.text == "payload" {
                            "payload"
                        } else {
                            "reply"
                        };
                        cx.warn(&t.pos, format!("Invalid hex string for UDP_CHECK {what}"));
                    }
                }
            }
            "min_reply_length" => min_len = cx.k_first_uns(k, 0, 65535),
            "max_reply_length" => max_len = cx.k_first_uns(k, 0, 65535),
            "user" if kind == "MISC_CHECK" => {
                if let Some(u) = a {
                    let group_ok = k.args.get(1).is_none_or(|g| group_known(&g.text));
                    if !user_known(&u.text) || !group_ok {
                        cx.warn(
                            k.pos(),
                            "Failed to set uid/gid for misc checker script - removing",
                        );
                    }
                }
            }
            "track_file" if kind == "FILE_CHECK" => {
                if let Some(t) = a.filter(|t| !st.files.contains(&t.text)) {
                    cx.warn(&t.pos, format!("track_file {} not found", t.text));
                }
            }
            "weight" if kind == "FILE_CHECK" => {
                if let Some(t) = k.args.get(1).filter(|t| t.text != "reverse") {
                    cx.warn(
                        &t.pos,
                        format!("unknown track file weight option {} - ignoring", t.text),
                    );
                }
            }
            "host" if kind == "SMTP_CHECK" => {
                for l in k.block.as_deref().unwrap_or(&[]) {
                    if l.kw.text == "connect_ip" {
                        if let Some(t) = l
                            .args
                            .first()
                            .filter(|t| t.text.parse::<std::net::IpAddr>().is_err())
                        {
                            cx.warn(
                                &t.pos,
                                format!("Invalid connect_ip address {} - ignoring", t.text),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((ip, p)) = &connect_ip {
        if let std::net::IpAddr::V6(v6) = ip {
            if v6.is_unicast_link_local() && !bind_if {
                cx.warn(
                    p,
                    format!("Checker link local address {ip} requires a bind_if"),
                );
            }
        }
    }
    if let (Some(mn), Some(mx)) = (min_len, max_len) {
        if mn > mx {
            cx.warn(
                n.pos(),
                format!(
                    "UDP_CHECK min_reply length {mn} > max_reply_length {mx} - will always fail"
                ),
            );
        }
    }
    if kind == "BFD_CHECK" {
        let has_name = body.iter().any(|k| k.kw.text == "name");
        match bfd_name {
            None if !has_name => cx.warn(
                n.pos(),
                "No name has been specified for BFD_CHECKER - skipping",
            ),
            None => {}
            Some(t) => {
                if !st.bfds.contains(&t.text) {
                    cx.warn(&t.pos, format!("BFD_CHECK - BFD {} not configured", t.text));
                } else if !bfds.insert(t.text.clone()) {
                    cx.warn(
                        &t.pos,
                        format!("BFD_CHECK - RS already monitoring {}", t.text),
                    );
                }
            }
        }
    }
}

pub(super) fn vs_group(cx: &mut Cx, n: &Node, body: &[Node], st: &mut State) {
    let name = n.args.first().map(|t| t.text.as_str()).unwrap_or("");
    let (mut v4, mut v6, mut fw) = (false, false, false);
    let mut count = 0;
    for l in body {
        let e = l.kw.text.as_str();
        if e == "fwmark" {
            if let Some(f) = l
                .args
                .get(1)
                .filter(|f| !matches!(f.text.as_str(), "inet" | "inet6"))
            {
                cx.warn(
                    &f.pos,
                    format!(
                        "({name}): fwmark '{}' family {} unknown - ignoring",
                        l.args[0].text, f.text
                    ),
                );
                continue;
            }
            fw = true;
            count += 1;
            continue;
        }
        let no_port = l.args.is_empty();
        if let Some((a, mask)) = e.split_once('/') {
            match (a.parse::<std::net::IpAddr>(), mask.parse::<u32>()) {
                (Ok(ip), Ok(m)) if m <= if ip.is_ipv4() { 32 } else { 128 } => {
                    let host_bits = match ip {
                        std::net::IpAddr::V4(x) => m < 32 && u32::from(x) & (u32::MAX >> m) != 0,
                        std::net::IpAddr::V6(x) => m < 128 && u128::from(x) & (u128::MAX >> m) != 0,
                    };
                    if host_bits {
                        cx.warn(
                            l.pos(),
                            format!("Address mask bits not empty - {e} - skipping"),
                        );
                        continue;
                    }
                    if ip.is_ipv4() {
                        v4 = true
                    } else {
                        v6 = true
                    }
                }
                _ => {
                    cx.warn(l.pos(), format!("Invalid netmask - {e} - skipping"));
                    continue;
                }
            }
        } else if let Some((a, end)) = e.split_once('-') {
            let Ok(ip) = a.parse::<std::net::IpAddr>() else {
                continue;
            };
            let digits: String = end.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            if digits.len() < end.len() {
                cx.warn(
                    l.pos(),
                    format!(
                        "Virtual server group range '{e}' has extra characters at end '{}'",
                        &end[digits.len()..]
                    ),
                );
                continue;
            }
            let last = match ip {
                std::net::IpAddr::V4(x) => {
                    let Ok(v) = end.parse::<u32>() else { continue };
                    if v > 255 {
                        cx.warn(
                            l.pos(),
                            format!("Virtual server group range '{e}' end '{end}' too large"),
                        );
                        continue;
                    }
                    (v, u32::from(x.octets()[3]))
                }
                std::net::IpAddr::V6(x) => {
                    let Ok(v) = u32::from_str_radix(end, 16) else {
                        continue;
                    };
                    if v > 0xffff {
                        cx.warn(
                            l.pos(),
                            format!("Virtual server group range '{e}' end '{end}' too large"),
                        );
                        continue;
                    }
                    (v, u32::from(x.segments()[7]))
                }
            };
            if last.0 <= last.1 {
                cx.warn(l.pos(), format!("Address range end is not greater than address range start - {e} - skipping"));
                continue;
            }
            if ip.is_ipv4() {
                v4 = true
            } else {
                v6 = true
            }
        } else if let Ok(ip) = e.parse::<std::net::IpAddr>() {
            if ip.is_ipv4() {
                v4 = true
            } else {
                v6 = true
            }
        } else {
            continue;
        }
        count += 1;
        if no_port {
            st.zero_port_groups.insert(name.to_string());
        }
    }
    if count == 0 {
        cx.warn(
            n.pos(),
            format!("virtual server group {name} has no entries - removing"),
        );
    } else if v4 && v6 && fw {
        cx.warn(n.pos(), format!("virtual server group {name} cannot have IPv4, IPv6 and fwmark without family - removing"));
    }
}
