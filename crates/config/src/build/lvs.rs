//! LVS blocks: `virtual_server_group`, `virtual_server`, `real_server` and
//! the health checkers.

use super::Cx;
use crate::diag::Pos;
use crate::keywords as kws;
use crate::model::{
    Announce, Checker, CheckerKind, LbKind, Protocol, RealServer, Scheduler, SorryServer, Tunnel,
    Url, VirtualServer, VirtualServerGroup, VsgAddress,
};
use crate::tree::Node;
use std::net::IpAddr;

pub(crate) fn group(cx: &mut Cx, n: &Node) -> Option<VirtualServerGroup> {
    let Some(name) = n.args.first() else {
        cx.error(n.pos(), "'virtual_server_group' needs a name");
        return None;
    };
    let mut g = VirtualServerGroup {
        name: name.text.clone(),
        ..Default::default()
    };
    for l in cx.block(n) {
        if l.kw.text == "fwmark" {
            if let Some(m) = cx.num(l, 1u32, u32::MAX) {
                g.fwmarks.push(m);
            }
            continue;
        }
        let a = &l.kw.text;
        let base = a.split(['-', '/']).next().unwrap_or("");
        if base.parse::<IpAddr>().is_err() {
            cx.error(
                l.pos(),
                format!(
                    "virtual_server_group {}: invalid address or range '{a}'",
                    g.name
                ),
            );
            continue;
        }
        cx.at_most(l, 1);
        let port = match l.args.first() {
            Some(p) => cx.port_tok("port", p),
            None => None,
        };
        g.addresses.push(VsgAddress {
            address: a.clone(),
            port,
        });
    }
    Some(g)
}

fn lb_algo(cx: &mut Cx, k: &Node) -> Option<Scheduler> {
    let s = cx.one_string(k)?;
    match Scheduler::known(&s) {
        Some(a) => Some(a),
        None => {
            cx.error(&k.args[0].pos, format!("unknown scheduler '{s}' (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)"));
            None
        }
    }
}

fn lb_kind(cx: &mut Cx, k: &Node) -> Option<LbKind> {
    if !cx.need(k, 1) {
        return None;
    }
    match k.args[0].text.to_ascii_uppercase().as_str() {
        "NAT" => Some(LbKind::Nat),
        "DR" => Some(LbKind::Dr),
        // Tunnel options (`TUN type gue port N csum`): see `tunnel`.
        "TUN" => Some(LbKind::Tun),
        other => {
            cx.error(
                &k.args[0].pos,
                format!("unknown forwarding method '{other}' (NAT, DR or TUN)"),
            );
            None
        }
    }
}

/// A forwarding method word (any case), as keepalived reads it.
fn method(word: &str) -> Option<LbKind> {
    match word.to_ascii_uppercase().as_str() {
        "NAT" => Some(LbKind::Nat),
        "DR" => Some(LbKind::Dr),
        "TUN" => Some(LbKind::Tun),
        _ => None,
    }
}

/// The tunnel options of a `lb_kind`/`lvs_method` line that set `kind`:
/// options keepalived accepts replace `before`; options it rejects (the
/// keyword checks say why) leave `before`; another method has none.
fn tunnel(k: &Node, kind: Option<LbKind>, before: Option<Tunnel>) -> Option<Tunnel> {
    if kind != Some(LbKind::Tun) {
        return None;
    }
    let words: Vec<String> = k.args.iter().skip(1).map(|a| a.text.clone()).collect();
    if words.is_empty() {
        return before;
    }
    Tunnel::parse(&words).or(before)
}

/// The virtual server, with where each of its real servers starts.
pub(crate) fn virtual_server(cx: &mut Cx, n: &Node) -> Option<(VirtualServer, Vec<Pos>)> {
    let mut v = VirtualServer::default();
    match n.args.first().map(|t| t.text.as_str()) {
        Some("fwmark") => {
            let t = n.args.get(1);
            let Some(t) = t else {
                cx.error(n.pos(), "'virtual_server fwmark' needs a mark");
                return None;
            };
            v.fwmark = Some(cx.num_tok("fwmark", t, 1u32, u32::MAX)?);
        }
        Some("group") => {
            let Some(t) = n.args.get(1) else {
                cx.error(n.pos(), "'virtual_server group' needs a group name");
                return None;
            };
            v.group = Some(t.text.clone());
        }
        Some(_) => {
            let t = &n.args[0];
            // keepalived also accepts `ADDR PORT` written `[ADDR]:PORT`? No:
            // it takes exactly an address then a port.
            v.ip = Some(cx.ip_tok("virtual_server", t)?);
            match n.args.get(1) {
                Some(p) => v.port = Some(cx.port_tok("virtual_server port", p)?),
                None => {
                    cx.error(n.pos(), "'virtual_server' needs an address and a port");
                    return None;
                }
            }
        }
        None => {
            cx.error(
                n.pos(),
                "'virtual_server' needs 'ADDRESS PORT', 'fwmark N' or 'group NAME'",
            );
            return None;
        }
    }
    let mut real: Vec<&Node> = Vec::new();
    let mut announce_at = None;
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::VS, "virtual_server") else {
            continue;
        };
        match d.key() {
            "delay_loop" => {
                if let Some(d) = cx.timer(k, 1e6) {
                    v.delay_loop = d;
                }
            }
            "lb_algo" => v.lb_algo = lb_algo(cx, k),
            "lb_kind" => {
                v.lb_kind = lb_kind(cx, k);
                v.tunnel = tunnel(k, v.lb_kind, v.tunnel);
            }
            "persistence_timeout" => {
                v.persistence_timeout = if k.args.is_empty() {
                    Some(360)
                } else {
                    cx.num(k, 1u32, u32::MAX)
                }
            }
            "persistence_granularity" => v.persistence_granularity = cx.one_string(k),
            "protocol" => {
                if let Some(p) = cx.one_string(k) {
                    v.protocol = match p.to_ascii_uppercase().as_str() {
                        "TCP" => Some(Protocol::Tcp),
                        "UDP" => Some(Protocol::Udp),
                        "SCTP" => Some(Protocol::Sctp),
                        _ => {
                            cx.error(
                                &k.args[0].pos,
                                format!("unknown protocol '{p}' (TCP, UDP or SCTP)"),
                            );
                            None
                        }
                    }
                }
            }
            "ha_suspend" => v.ha_suspend = cx.flag(k),
            "virtualhost" => v.virtualhost = cx.one_string(k),
            "alpha" => v.alpha = cx.flag(k),
            "omega" => v.omega = cx.flag(k),
            "quorum" => v.quorum = cx.num(k, 1u32, u32::MAX).unwrap_or(v.quorum),
            "hysteresis" => v.hysteresis = cx.num(k, 0u32, u32::MAX).unwrap_or(v.hysteresis),
            // A script given twice: keepalived keeps the first (and reports it).
            "quorum_up" if v.quorum_up.is_none() => v.quorum_up = cx.notify_script(k),
            "quorum_up" => {}
            "quorum_down" if v.quorum_down.is_none() => v.quorum_down = cx.notify_script(k),
            "quorum_down" => {}
            "sorry_server" => {
                if cx.need(k, 1) {
                    cx.at_most(k, 2);
                    if let Some(ip) = cx.ip_tok("sorry_server", &k.args[0]) {
                        let port = match k.args.get(1) {
                            Some(p) => cx.port_tok("sorry_server port", p),
                            None => None,
                        };
                        v.sorry_server = Some(SorryServer { ip, port });
                    }
                }
            }
            "sorry_server_inhibit" => v.sorry_server_inhibit = cx.flag(k),
            // keepalived's ss_forwarding_handler: an unknown method leaves
            // the one before (the keyword checks report it).
            "sorry_server_lvs_method" => {
                let m = k.args.first().and_then(|a| method(&a.text));
                if m.is_some() {
                    v.sorry_server_lvs_method = m;
                    v.sorry_server_tunnel =
                        (m == Some(LbKind::Tun)).then(|| tunnel(k, m, None).unwrap_or_default());
                }
            }
            // lbflags_handler: the flag is set whatever follows.
            "ops" => v.ops = true,
            "flag-1" => v.flag_1 = true,
            "flag-2" => v.flag_2 = true,
            "flag-3" => v.flag_3 = true,
            "sh-port" => v.sh_port = true,
            "sh-fallback" => v.sh_fallback = true,
            "mh-port" => v.mh_port = true,
            "mh-fallback" => v.mh_fallback = true,
            "persistence_engine" => v.persistence_engine = k.args.first().map(|a| a.text.clone()),
            "inhibit_on_failure" => v.inhibit_on_failure = cx.flag(k),
            "smtp_alert" => v.smtp_alert = Some(cx.flag(k)),
            "connect_timeout" => v.connect_timeout = cx.timer(k, 1e6),
            "retry" => v.retry = cx.num(k, 0u32, u32::MAX),
            "delay_before_retry" => v.delay_before_retry = cx.timer(k, 1e6),
            "warmup" => v.warmup = cx.timer(k, 1e6),
            "ip_family" => v.ip_family = cx.one_string(k),
            "real_server" => real.push(k),
            "announce" => {
                v.announce = Some(announce(cx, k));
                announce_at = Some(k.pos().clone());
            }
            _ => cx.untyped(d, k, &mut v.extra, "virtual_server"),
        }
    }
    if let Some(at) = announce_at {
        announce_checks(cx, &at, &mut v);
    }
    let mut real_pos = Vec::new();
    for k in real {
        if let Some(rs) = real_server(cx, k, &v) {
            real_pos.push(k.pos().clone());
            v.real_servers.push(rs);
        }
    }
    Some((v, real_pos))
}

/// `announce [{ delay_up S  delay_down S }]` (keepalived-rs extension).
fn announce(cx: &mut Cx, n: &Node) -> Announce {
    cx.diags.note(
        n.pos(),
        "'announce' is a keepalived-rs extension (bgp_announce): keepalived 2.2.7 refuses this configuration",
    );
    cx.at_most(n, 0);
    let mut a = Announce::default();
    for k in n.block.as_deref().unwrap_or(&[]) {
        let Some(d) = cx.lookup(k, kws::ANNOUNCE, "announce") else {
            continue;
        };
        match d.key() {
            "delay_up" => a.delay_up = cx.timer(k, 3600.0).unwrap_or(a.delay_up),
            "delay_down" => a.delay_down = cx.timer(k, 3600.0).unwrap_or(a.delay_down),
            _ => cx.no_arm(k, "announce"),
        }
    }
    a
}

/// An announced virtual server needs one address; and the settings that
/// keep a flow on its real server whichever director the routers send it
/// to are said where they are missing (the announcement itself works
/// without them).
fn announce_checks(cx: &mut Cx, at: &Pos, v: &mut VirtualServer) {
    if v.ip.is_none() {
        cx.error(
            at,
            "'announce' needs a 'virtual_server ADDRESS PORT': a fwmark or group service has no one address to announce",
        );
        v.announce = None;
        return;
    }
    let mh = v.lb_algo.as_ref() == Some(&Scheduler::Mh);
    let advice = if !mh {
        Some(format!(
            "an announced virtual server should use 'lb_algo mh' (not {}): other schedulers send a flow the routers move to another director to another real server",
            v.lb_algo.as_ref().map_or("wlc, keepalived's default".to_string(), |s| s.as_str().to_string())
        ))
    } else if !v.inhibit_on_failure {
        Some("an announced 'mh' virtual server should set 'inhibit_on_failure': a failed real server deleted and added back reorders the Maglev table differently on each director".to_string())
    } else if !v.mh_fallback {
        Some("an announced 'mh' virtual server with 'inhibit_on_failure' should set 'mh-fallback': a flow hashed to a failed (weight 0) real server is dropped without it".to_string())
    } else {
        None
    };
    if let Some(a) = advice {
        cx.diags.note(at, a);
    }
    if v.persistence_timeout.is_some() {
        cx.diags.note(at, "an announced virtual server with 'persistence_timeout': persistence templates are each director's own, so a client moved to another director may reach another real server");
    }
}

fn real_server(cx: &mut Cx, n: &Node, vs: &VirtualServer) -> Option<RealServer> {
    let Some(a) = n.args.first() else {
        cx.error(n.pos(), "'real_server' needs an address");
        return None;
    };
    let mut r = RealServer {
        ip: cx.ip_tok("real_server", a)?,
        ..Default::default()
    };
    cx.at_most(n, 2);
    if let Some(p) = n.args.get(1) {
        r.port = Some(cx.port_tok("real_server port", p)?);
    }
    let mut checks: Vec<&Node> = Vec::new();
    for k in cx.block(n) {
        let Some(d) = cx.lookup(k, kws::RS, "real_server") else {
            continue;
        };
        match d.key() {
            "weight" => r.weight = cx.num(k, 0i32, i32::MAX).unwrap_or(r.weight),
            "lvs_method" => {
                r.lb_kind = lb_kind(cx, k);
                r.tunnel = tunnel(k, r.lb_kind, r.tunnel);
            }
            "inhibit_on_failure" => r.inhibit_on_failure = Some(cx.flag(k)),
            // A script given twice: keepalived keeps the first (and reports it).
            "notify_up" if r.notify_up.is_none() => r.notify_up = cx.notify_script(k),
            "notify_up" => {}
            "notify_down" if r.notify_down.is_none() => r.notify_down = cx.notify_script(k),
            "notify_down" => {}
            "uthreshold" => r.uthreshold = cx.num(k, 0u32, u32::MAX),
            "lthreshold" => r.lthreshold = cx.num(k, 0u32, u32::MAX),
            "smtp_alert" => r.smtp_alert = Some(cx.flag(k)),
            "alpha" => r.alpha = cx.flag(k),
            "virtualhost" => r.virtualhost = cx.one_string(k),
            "delay_loop" => r.delay_loop = cx.timer(k, 1e6),
            "connect_timeout" => r.connect_timeout = cx.timer(k, 1e6),
            "retry" => r.retry = cx.num(k, 0u32, u32::MAX),
            "delay_before_retry" => r.delay_before_retry = cx.timer(k, 1e6),
            "warmup" => r.warmup = cx.timer(k, 1e6),
            kw if is_checker(kw) => checks.push(k),
            _ => cx.untyped(d, k, &mut r.extra, "real_server"),
        }
    }
    for k in checks {
        let cs = checker(cx, k, vs, &r);
        r.checkers.extend(cs);
    }
    Some(r)
}

/// The connection keywords an SMTP_CHECK `host` block sets for its host.
const CONN: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
];

/// A connection keyword into `c` (`connect_timeout` into `timeout`).
fn conn_opt(cx: &mut Cx, k: &Node, c: &mut Checker, timeout: &mut Option<f64>) {
    match k.kw.text.as_str() {
        "connect_ip" => c.connect_ip = cx.ip(k),
        "connect_port" => c.connect_port = cx.num(k, 0u16, 65535),
        "bindto" => c.bindto = cx.ip(k),
        "bind_port" => c.bind_port = cx.num(k, 0u16, 65535),
        "bind_if" => c.bind_if = cx.one_string(k),
        "fwmark" => c.fwmark = cx.num(k, 0u32, u32::MAX),
        "connect_timeout" => *timeout = cx.timer(k, 1e6),
        _ => {}
    }
}

/// A checker block: one checker, or for an SMTP_CHECK with (deprecated)
/// `host` blocks one per host, as keepalived 2.2.7 makes them
/// (check_smtp.c): a host's connection keywords are its own, the others
/// (retry, delay_loop, warmup...) are the checker's, shared by all; the
/// checker's own connection keeps its place unless it sets none, when the
/// first host takes it.
fn checker(cx: &mut Cx, n: &Node, vs: &VirtualServer, rs: &RealServer) -> Vec<Checker> {
    let Some(kind) = CheckerKind::ALL
        .iter()
        .find(|(s, _)| *s == n.kw.text)
        .map(|(_, k)| *k)
    else {
        return Vec::new();
    };
    let mut c = Checker {
        kind,
        ..Default::default()
    };
    let mut timeout = None;
    let mut retry = None;
    let mut dbr = None;
    let mut delay_loop = None;
    let body: &[Node] = n.block.as_deref().unwrap_or(&[]);
    // SMTP_CHECK's host blocks: their connection lines per host, the
    // rest read as the checker's own.
    let mut hosts: Vec<Vec<&Node>> = Vec::new();
    let mut lines: Vec<&Node> = Vec::new();
    for k in body {
        if kind == CheckerKind::Smtp && k.kw.text == "host" {
            let inner = k.block.as_deref().unwrap_or(&[]);
            hosts.push(
                inner
                    .iter()
                    .filter(|l| CONN.contains(&l.kw.text.as_str()))
                    .collect(),
            );
            lines.extend(inner.iter().filter(|l| !CONN.contains(&l.kw.text.as_str())));
        } else {
            lines.push(k);
        }
    }
    let allowed = kws::checker(kind);
    let names = || allowed.iter().map(|k| k.name);
    for k in lines {
        cx.check_inline(k, names());
        let Some(d) = allowed.iter().find(|d| d.name == k.kw.text) else {
            if k.kw.text == "nb_get_retry" {
                cx.warn(k.pos(), format!("unknown keyword 'nb_get_retry' in {}: keepalived 2.2.7 knows it only in HTTP_GET/SSL_GET and ignores it here (use 'retry')", n.kw.text));
            } else {
                cx.unknown(k, names(), n.kw.text.as_str());
            }
            continue;
        };
        match d.key() {
            kw if CONN.contains(&kw) => conn_opt(cx, k, &mut c, &mut timeout),
            "retry" => retry = cx.num(k, 0u32, u32::MAX),
            "nb_get_retry" => {
                cx.warn(k.pos(), "'nb_get_retry' is deprecated - use 'retry'");
                retry = cx.num(k, 0u32, u32::MAX);
            }
            "delay_before_retry" => dbr = cx.timer(k, 1e6),
            "delay_loop" => delay_loop = cx.timer(k, 1e6),
            "warmup" => c.warmup = cx.timer(k, 1e6),
            "alpha" => c.alpha = Some(cx.flag(k)),
            "log_all_failures" => c.log_all_failures = Some(cx.flag(k)),
            "http_protocol" => c.http_protocol = cx.one_string(k),
            "url" => {
                let mut u = Url::default();
                for l in cx.block(k) {
                    let Some(d) = cx.lookup(l, kws::URL, "url") else {
                        continue;
                    };
                    match d.key() {
                        "path" => u.path = cx.rest_string(l).unwrap_or_default(),
                        "digest" => u.digest = cx.one_string(l),
                        "status_code" => {
                            for t in &l.args {
                                let ok = t.text.split('-').all(|p| {
                                    p.parse::<u16>().is_ok_and(|c| (100..600).contains(&c))
                                });
                                if !ok {
                                    cx.error(&t.pos, format!("invalid status_code '{}'", t.text));
                                }
                                u.status_code.push(t.text.clone());
                            }
                        }
                        "virtualhost" => u.virtualhost = cx.one_string(l),
                        "regex" => u.regex = cx.rest_string(l),
                        "regex_no_match" => u.regex_no_match = cx.flag(l),
                        "regex_options" => u
                            .regex_options
                            .extend(l.args.iter().map(|t| t.text.clone())),
                        "regex_min_offset" | "regex_max_offset" => {
                            // keepalived logs a bad value and takes 0.
                            let v = match l.args.as_slice() {
                                [t] => t.text.parse::<u64>().ok(),
                                _ => None,
                            };
                            if v.is_none() {
                                cx.diags.note(
                                    l.pos(),
                                    format!("invalid or missing {} - taken as 0", l.kw.text),
                                );
                            }
                            let v = Some(v.unwrap_or(0));
                            if l.kw.text == "regex_min_offset" {
                                u.regex_min_offset = v;
                            } else {
                                u.regex_max_offset = v;
                            }
                        }
                        _ => cx.untyped(d, l, &mut u.extra, "url"),
                    }
                }
                if u.path.is_empty() {
                    cx.error(k.pos(), "url has no 'path'");
                }
                // keepalived logs these (its -t passes); the check then
                // fails rather than pass without matching.
                if let Some(re) = &u.regex {
                    if let Err(e) = crate::regex::compile(re, &u.regex_options) {
                        cx.diags.note(k.pos(), e);
                    }
                }
                c.url.push(u);
            }
            "virtualhost" => c.virtualhost = cx.one_string(k),
            "enable_sni" => c.enable_sni = Some(cx.flag(k)),
            "fast_recovery" => c.fast_recovery = Some(cx.flag(k)),
            "misc_path" => c.misc_path = cx.rest_string(k),
            "misc_timeout" => c.misc_timeout = cx.timer(k, 1e6),
            "misc_dynamic" => c.misc_dynamic = cx.flag(k),
            "user" => c.user = cx.rest_string(k),
            "helo_name" => c.helo_name = cx.one_string(k),
            "type" => c.dns_type = cx.one_string(k),
            "name" => c.name = cx.one_string(k),
            "payload" => c.payload = cx.one_string(k),
            "require_reply" => c.require_reply = cx.rest_string(k),
            "min_reply_length" => c.min_reply_length = cx.num(k, 0u32, u32::MAX),
            "max_reply_length" => c.max_reply_length = cx.num(k, 0u32, u32::MAX),
            "track_file" => c.track_file = cx.one_string(k),
            "weight" => {
                if cx.need(k, 1) {
                    c.weight = cx.num_tok("weight", &k.args[0], -i32::MAX, i32::MAX);
                    c.weight_reverse = k.args.get(1).is_some_and(|t| t.text == "reverse");
                }
            }
            _ => cx.untyped(d, k, &mut c.extra, n.kw.text.as_str()),
        }
    }
    // Resolve: checker, then real server, then virtual server, then default.
    c.connect_timeout = timeout
        .or(rs.connect_timeout)
        .or(vs.connect_timeout)
        .unwrap_or(5.0);
    c.delay_loop = delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop);
    c.retry = retry.or(rs.retry).or(vs.retry).unwrap_or(match kind {
        CheckerKind::Misc => 0,
        CheckerKind::Dns => 3,
        _ => 1,
    });
    c.delay_before_retry = dbr
        .or(rs.delay_before_retry)
        .or(vs.delay_before_retry)
        .unwrap_or(match kind {
            CheckerKind::HttpGet | CheckerKind::SslGet => 3.0,
            CheckerKind::Dns => c.delay_loop,
            _ => 1.0,
        });
    if c.warmup.is_none() {
        c.warmup = rs.warmup.or(vs.warmup);
    }
    match kind {
        CheckerKind::HttpGet | CheckerKind::SslGet if c.url.is_empty() => {
            cx.error(
                n.pos(),
                format!(
                    "{} has no 'url' block (keepalived ignores such a checker)",
                    n.kw.text
                ),
            );
        }
        CheckerKind::Misc if c.misc_path.is_none() => {
            cx.error(n.pos(), "MISC_CHECK has no 'misc_path'");
        }
        CheckerKind::File if c.track_file.is_none() => {
            cx.error(n.pos(), "FILE_CHECK has no 'track_file'");
        }
        _ => {}
    }
    if hosts.is_empty() {
        return vec![c];
    }
    cx.diags.note(
        n.pos(),
        "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
    );
    let own = c.connect_ip.is_some()
        || c.connect_port.is_some()
        || c.bindto.is_some()
        || c.bind_port.is_some()
        || c.bind_if.is_some()
        || c.fwmark.is_some()
        || timeout.is_some();
    let default_timeout = rs.connect_timeout.or(vs.connect_timeout).unwrap_or(5.0);
    let mut out = Vec::new();
    if own {
        out.push(c.clone());
    }
    for h in hosts {
        // A host connects to the real server unless it says otherwise.
        let mut hc = Checker {
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            ..c.clone()
        };
        let mut t = None;
        for k in h {
            conn_opt(cx, k, &mut hc, &mut t);
        }
        hc.connect_timeout = t.unwrap_or(default_timeout);
        out.push(hc);
    }
    out
}

/// Is `kw` a checker block keyword (`TCP_CHECK`, `HTTP_GET`, ...)?
pub(crate) fn is_checker(kw: &str) -> bool {
    CheckerKind::ALL.iter().any(|(s, _)| *s == kw)
}
