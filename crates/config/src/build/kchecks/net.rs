//! Addresses, routes and rules (`vrrp/vrrp_ipaddress.c`,
//! `vrrp/vrrp_iproute.c`).

#![allow(clippy::collapsible_match)]

use super::*;

/// One address line (`alloc_ipaddress()`): a VIP/eVIP (`static_addr`
/// false) or a `static_ipaddress` line.
pub(super) fn ip_line(cx: &mut Cx, l: &Node, static_addr: bool, st: &State) {
    let addr = l.kw.text.as_str();
    let (ip, prefix) = match addr.split_once('/') {
        Some((a, p)) => (a, p.parse::<u8>().ok()),
        None => (addr, None),
    };
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return;
    };
    let v6 = ip.is_ipv6();
    let full = if v6 { 128 } else { 32 };
    let prefix = prefix.unwrap_or(full);
    let mut dev_seen = false;
    let mut have_peer = false;
    let mut have_brd = false;
    let mut brd_auto = false;
    let mut scope = false;
    let mut label = false;
    let mut i = 0;
    let args = &l.args;
    while i < args.len() {
        let t = &args[i];
        let val = args.get(i + 1);
        let needs = matches!(
            t.text.as_str(),
            "dev" | "scope" | "broadcast" | "brd" | "label" | "peer" | "preferred_lft"
        ) || (static_addr && t.text == "track_group");
        if needs && val.is_none() {
            cx.warn(
                &t.pos,
                format!("No {} parameter specified for {addr}", t.text),
            );
            return;
        }
        match t.text.as_str() {
            "dev" => {
                let v = &args[i + 1];
                if dev_seen {
                    cx.warn(
                        &t.pos,
                        format!("Cannot specify ipaddress device more than once for {addr}"),
                    );
                    return;
                }
                dev_seen = true;
                if static_addr
                    && crate::host::interfaces().is_some_and(|ifs| !ifs.contains(&v.text))
                {
                    cx.warn(
                        &v.pos,
                        format!(
                            "WARNING - interface {} for ip address {addr} doesn't exist",
                            v.text
                        ),
                    );
                    return;
                }
                i += 1;
            }
            "scope" => {
                let v = &args[i + 1];
                const SCOPES: &[&str] = &["global", "universe", "site", "link", "host", "nowhere"];
                if !rt_names("rt_scopes", SCOPES, &v.text)
                    || v.text.parse::<u32>().is_ok_and(|x| x > 255)
                {
                    cx.warn(
                        &v.pos,
                        format!("Invalid scope '{}' specified for {addr} - ignoring", v.text),
                    );
                } else {
                    scope = true;
                }
                i += 1;
            }
            "broadcast" | "brd" => {
                let v = &args[i + 1];
                if v6 {
                    cx.warn(&t.pos, format!("VRRP is trying to assign a broadcast {} to the IPv6 address {addr} !!?? WTF... skipping VIP...", t.text));
                    return;
                }
                have_brd = true;
                if v.text == "+" || v.text == "-" {
                    brd_auto = true;
                } else if v.text.parse::<std::net::Ipv4Addr>().is_err() {
                    cx.warn(
                        &v.pos,
                        format!(
                            "VRRP is trying to assign invalid broadcast {}. skipping VIP...",
                            v.text
                        ),
                    );
                    return;
                }
                i += 1;
            }
            "label" => {
                let v = &args[i + 1];
                if v.text.len() > IFNAMSIZ_1 {
                    cx.warn(
                        &v.pos,
                        format!(
                            "Address label {} is longer than maximum length 15 - removing address",
                            v.text
                        ),
                    );
                    return;
                }
                label = true;
                i += 1;
            }
            "peer" => {
                let v = &args[i + 1];
                i += 1;
                if have_peer {
                    cx.warn(
                        &v.pos,
                        format!("Peer {} - another peer has already been specified", v.text),
                    );
                } else {
                    // keepalived reads the peer without a prefix
                    // (parse_ipaddress(..., false)): one with /LEN is
                    // invalid and the address has no peer.
                    match v.text.parse::<std::net::IpAddr>() {
                        Err(_) => {
                            cx.warn(
                                &v.pos,
                                format!("VRRP parsed invalid IP {}. skipping IP...", v.text),
                            );
                            cx.warn(&v.pos, format!("Invalid peer address {}", v.text));
                        }
                        Ok(p) if p.is_ipv6() != v6 => cx.warn(
                            &v.pos,
                            format!("Peer address {} does not match address family", v.text),
                        ),
                        Ok(_) => {
                            if prefix != full {
                                cx.warn(&v.pos, "Cannot specify address prefix when specifying peer address - ignoring");
                            }
                            have_peer = true;
                        }
                    }
                }
            }
            "home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" | "no_track" => {}
            "preferred_lft" => {
                let v = &args[i + 1];
                if v.text != "forever" {
                    cx.k_uns(v, 0, U32);
                }
                i += 1;
            }
            "track_group" if static_addr => {
                let v = &args[i + 1];
                if !st.track_groups.contains(&v.text) {
                    cx.warn(&v.pos, format!("track_group {} not found", v.text));
                }
                i += 1;
            }
            "use_vmac" if !static_addr => {}
            other => cx.warn(
                &t.pos,
                format!("Unknown configuration entry '{other}' for ip address - ignoring"),
            ),
        }
        i += 1;
    }
    if have_brd && have_peer {
        cx.warn(
            l.pos(),
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        );
    } else if brd_auto && prefix > 30 {
        cx.warn(
            l.pos(),
            format!("Address prefix length {prefix} too long for broadcast"),
        );
    }
    if v6 && scope {
        cx.warn(
            l.pos(),
            format!("Cannot specify scope for IPv6 addresses ({addr}) - ignoring scope"),
        );
    }
    if v6 && label {
        cx.warn(
            l.pos(),
            format!("Cannot specify label for IPv6 addresses ({addr}) - ignoring label"),
        );
    }
}

/// Names in an iproute2 table file (`/etc/iproute2/rt_tables`, ...).
pub(super) fn rt_names(file: &str, defaults: &[&str], word: &str) -> bool {
    if word.parse::<u32>().is_ok() || defaults.contains(&word) {
        return true;
    }
    let read = |p: String| std::fs::read_to_string(p).unwrap_or_default();
    let mut text = read(format!("/etc/iproute2/{file}"));
    if let Ok(rd) = std::fs::read_dir(format!("/etc/iproute2/{file}.d")) {
        for e in rd.flatten() {
            text.push_str(&read(e.path().display().to_string()));
            text.push('\n');
        }
    }
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .any(|l| l.split_whitespace().nth(1) == Some(word))
}

pub(super) fn if_missing(name: &str) -> bool {
    crate::host::interfaces().is_some_and(|ifs| !ifs.iter().any(|x| x == name))
}

/// An address or prefix (`default`/`any`/`all` too): Some(is_v6), or
/// None when invalid (`None` family for `default`).
pub(super) fn route_addr(s: &str) -> Option<Option<bool>> {
    if matches!(s, "default" | "any" | "all") {
        return Some(None);
    }
    if s == "default6" {
        return Some(Some(true));
    }
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip = a.parse::<std::net::IpAddr>().ok()?;
    if let Some(p) = p {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if !p.parse::<u32>().is_ok_and(|v| v <= max) {
            return None;
        }
    }
    Some(Some(ip.is_ipv6()))
}

/// One `static_routes` / `virtual_routes` line (`alloc_route()`).
pub(super) fn route_line(cx: &mut Cx, l: &Node, static_route: bool, st: &State) {
    let words: Vec<&Token> = std::iter::once(&l.kw).chain(&l.args).collect();
    let mut fam: Option<bool> = None;
    let mut dst: Option<String> = None;
    let mut oif = false;
    let mut proto_other = false;
    let mut no_track = false;
    let mut track_group = false;
    let mut i = 0;
    macro_rules! mix {
        ($v6:expr, $t:expr) => {
            match fam {
                None => fam = Some($v6),
                Some(f) if f != $v6 => {
                    cx.warn(&$t.pos, "Cannot mix IPv4 and IPv6 addresses for route");
                    return;
                }
                _ => {}
            }
        };
    }
    let mut nexthops = None;
    while i < words.len() {
        let t = words[i];
        let next = words.get(i + 1).copied();
        let w = t.text.as_str();
        const TIMES: &[&str] = &["rtt", "rttvar", "rto_min"];
        const U32S: &[&str] = &[
            "mtu",
            "advmss",
            "reordering",
            "window",
            "cwnd",
            "ssthresh",
            "initcwnd",
            "initrwnd",
            "metric",
            "priority",
            "preference",
            "expires",
            "hoplimit",
            "quickack",
            "fastopen_no_cookie",
        ];
        let takes_value = matches!(
            w,
            "src"
                | "via"
                | "gw"
                | "from"
                | "tos"
                | "dsfield"
                | "table"
                | "protocol"
                | "scope"
                | "dev"
                | "oif"
                | "encap"
                | "realms"
                | "features"
                | "congctl"
                | "pref"
                | "ttl-propagate"
                | "or"
                | "track_group"
                | "vrf"
                | "as"
        ) || TIMES.contains(&w)
            || U32S.contains(&w);
        if takes_value && next.is_none() {
            if w == "encap" {
                cx.warn(&t.pos, "Missing encap type");
            } else {
                cx.warn(&t.pos, format!("Route {w} is missing its value"));
            }
            return;
        }
        match w {
            "inet" | "inet6" => mix!(w == "inet6", t),
            "src" | "from" => {
                let v = next.unwrap();
                i += 1;
                match route_addr(&v.text) {
                    None => cx.warn(&v.pos, format!("invalid route {w} address {}", v.text)),
                    Some(f) => {
                        if w == "from" && f == Some(false) {
                            cx.warn(
                                &v.pos,
                                format!("route from address only supported with IPv6 ({})", v.text),
                            );
                        } else if let Some(f) = f {
                            mix!(f, v);
                        }
                    }
                }
            }
            "as" => {
                i += 1;
                if next.is_some_and(|n| n.text == "to") {
                    i += 1;
                }
            }
            "via" | "gw" => {
                if w == "gw" {
                    cx.warn(
                        &t.pos,
                        "\"gw\" for routes is deprecated. Please use \"via\"",
                    );
                }
                let mut v = next.unwrap();
                i += 1;
                if matches!(v.text.as_str(), "inet" | "inet6") {
                    if let Some(n) = words.get(i + 1) {
                        v = n;
                        i += 1;
                    }
                }
                match v.text.parse::<std::net::IpAddr>() {
                    Err(_) => cx.warn(
                        &v.pos,
                        format!("VRRP parsed invalid IP {}. skipping IP...", v.text),
                    ),
                    Ok(a) => mix!(a.is_ipv6(), v),
                }
            }
            "tos" | "dsfield" => {
                let v = next.unwrap();
                i += 1;
                let ok = u32::from_str_radix(v.text.trim_start_matches("0x"), 16)
                    .is_ok_and(|x| x <= 255)
                    || (v.text.parse::<u32>().is_err() && rt_names("rt_dsfield", &[], &v.text));
                if !ok {
                    cx.warn(&v.pos, format!("TOS value {} is invalid", v.text));
                }
            }
            "table" => {
                let v = next.unwrap();
                i += 1;
                if !rt_names("rt_tables", &["default", "main", "local"], &v.text) {
                    cx.warn(
                        &v.pos,
                        format!("Routing table {} not found for route", v.text),
                    );
                }
            }
            "protocol" => {
                let v = next.unwrap();
                i += 1;
                const PROTOS: &[&str] = &[
                    "none",
                    "redirect",
                    "kernel",
                    "boot",
                    "static",
                    "gated",
                    "ra",
                    "mrt",
                    "zebra",
                    "bird",
                    "babel",
                    "dnrouted",
                    "xorp",
                    "ntk",
                    "dhcp",
                    "keepalived",
                ];
                if !rt_names("rt_protos", PROTOS, &v.text)
                    || v.text.parse::<u32>().is_ok_and(|x| x > 255)
                {
                    cx.warn(
                        &v.pos,
                        format!("Protocol {} not found or invalid for route", v.text),
                    );
                } else if v.text != "keepalived" && v.text != "18" {
                    proto_other = true;
                }
            }
            "scope" => {
                let v = next.unwrap();
                i += 1;
                if !rt_names(
                    "rt_scopes",
                    &["global", "nowhere", "host", "link", "site"],
                    &v.text,
                ) {
                    cx.warn(
                        &v.pos,
                        format!("Scope {} not found or invalid for route", v.text),
                    );
                }
            }
            "dev" | "oif" => {
                let v = next.unwrap();
                i += 1;
                if if_missing(&v.text) {
                    cx.warn(
                        &v.pos,
                        format!(
                            "WARNING - interface {} for VROUTE nexthop doesn't exist",
                            v.text
                        ),
                    );
                } else {
                    oif = true;
                }
            }
            "onlink" | "add" | "prepend" | "append" => {}
            "encap" => {
                i += 1;
                let consumed = encap(cx, &words[i..], fam);
                if consumed == 0 {
                    return;
                }
                i += consumed - 1;
            }
            "realms" => {
                let v = next.unwrap();
                i += 1;
                if fam == Some(true) {
                    cx.warn(&v.pos, "realms are only valid for IPv4");
                }
            }
            "features" => {
                let v = next.unwrap();
                i += 1;
                if v.text != "ecn" {
                    cx.warn(&v.pos, format!("feature {} not supported", v.text));
                }
            }
            "congctl" => {
                i += 1;
                if next.is_some_and(|n| n.text == "lock") {
                    i += 1;
                }
            }
            "pref" => {
                let v = next.unwrap();
                i += 1;
                if fam != Some(true) {
                    cx.warn(&v.pos, "pref is only valid for IPv6");
                } else if !matches!(v.text.as_str(), "low" | "medium" | "high")
                    && v.text.parse::<u8>().is_err()
                {
                    cx.warn(
                        &v.pos,
                        format!("Invalid pref value {} specified for route", v.text),
                    );
                }
            }
            "ttl-propagate" => {
                let v = next.unwrap();
                i += 1;
                if !matches!(v.text.as_str(), "enabled" | "disabled") {
                    cx.warn(
                        &v.pos,
                        format!("ttl-propagate value {} not recognised", v.text),
                    );
                }
            }
            "or" => {
                cx.warn(
                    &t.pos,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                );
                i += 1;
            }
            "nexthop" => {
                nexthops = Some(i);
                break;
            }
            "no_track" => no_track = true,
            "track_group" if static_route => {
                let v = next.unwrap();
                i += 1;
                if !st.track_groups.contains(&v.text) {
                    cx.warn(&v.pos, format!("track_group {} not found", v.text));
                } else {
                    track_group = true;
                }
            }
            "vrf" => {
                let v = next.unwrap();
                i += 1;
                if crate::host::interfaces().is_some_and(|ifs| !ifs.contains(&v.text)) {
                    cx.warn(&v.pos, format!("VRF {} not found for route", v.text));
                } else if crate::host::interfaces().is_some() {
                    let uevent =
                        std::fs::read_to_string(format!("/sys/class/net/{}/uevent", v.text))
                            .unwrap_or_default();
                    if !uevent.contains("DEVTYPE=vrf") {
                        cx.warn(
                            &v.pos,
                            format!("Route specified VRF {} is not a VRF", v.text),
                        );
                    }
                }
            }
            _ if TIMES.contains(&w) || U32S.contains(&w) => {
                let mut v = next.unwrap();
                i += 1;
                if v.text == "lock" {
                    if let Some(n) = words.get(i + 1) {
                        v = n;
                        i += 1;
                    }
                }
                if w == "expires" && fam != Some(true) {
                    cx.warn(&v.pos, "expires is only valid for IPv6");
                }
                let ok = if TIMES.contains(&w) {
                    let d = v.text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                    !d.is_empty() && d.parse::<f64>().is_ok()
                } else {
                    v.text.parse::<u32>().is_ok()
                };
                if !ok {
                    cx.warn(&v.pos, format!("invalid number '{}'", v.text));
                }
            }
            _ => {
                let mut d = t;
                if w == "to" {
                    match next {
                        Some(n) => {
                            d = n;
                            i += 1;
                        }
                        None => break,
                    }
                }
                const TYPES: &[&str] = &[
                    "local",
                    "nat",
                    "broadcast",
                    "brd",
                    "anycast",
                    "multicast",
                    "prohibit",
                    "unreachable",
                    "blackhole",
                    "xresolve",
                    "unicast",
                    "throw",
                ];
                if TYPES.contains(&d.text.as_str()) {
                    match words.get(i + 1) {
                        Some(n) => {
                            d = n;
                            i += 1;
                        }
                        None => break,
                    }
                }
                match route_addr(&d.text) {
                    None => {
                        cx.warn(
                            &d.pos,
                            format!("VRRP parsed invalid IP {}. skipping IP...", d.text),
                        );
                        return;
                    }
                    Some(f) => {
                        if let Some(f) = f {
                            mix!(f, d);
                        }
                        dst = Some(d.text.clone());
                    }
                }
            }
        }
        i += 1;
    }
    let multipath = nexthops.is_some();
    if let Some(start) = nexthops {
        let mut j = start;
        let mut hops = 0;
        while j < words.len() {
            let t = words[j];
            let next = words.get(j + 1).copied();
            match t.text.as_str() {
                "nexthop" => hops += 1,
                "via" | "dev" | "weight" | "realms" | "encap" if next.is_none() => {
                    cx.warn(
                        &t.pos,
                        format!("Route nexthop {} is missing its value", t.text),
                    );
                    return;
                }
                "via" => {
                    let v = next.unwrap();
                    j += 1;
                    match v.text.parse::<std::net::IpAddr>() {
                        Err(_) => cx.warn(
                            &v.pos,
                            format!("VRRP parsed invalid IP {}. skipping IP...", v.text),
                        ),
                        Ok(a) => {
                            if fam.is_some_and(|f| f != a.is_ipv6()) {
                                cx.warn(&v.pos, "Address family mismatch for next hop");
                            }
                        }
                    }
                }
                "dev" => {
                    let v = next.unwrap();
                    j += 1;
                    if if_missing(&v.text) {
                        cx.warn(
                            &v.pos,
                            format!(
                                "WARNING - interface {} for VROUTE nexthop doesn't exist",
                                v.text
                            ),
                        );
                    }
                }
                "weight" => {
                    let v = next.unwrap();
                    j += 1;
                    if !v.text.parse::<u32>().is_ok_and(|w| (1..=256).contains(&w)) {
                        cx.warn(
                            &v.pos,
                            format!("Invalid weight {} specified for route", v.text),
                        );
                    }
                }
                "realms" => j += 1,
                "onlink" => {}
                "encap" => {
                    let c = encap(cx, &words[j + 1..], fam);
                    if c == 0 {
                        return;
                    }
                    j += c;
                }
                other => {
                    cx.warn(
                        &t.pos,
                        format!("Route has trailing nonsense after nexthops - {other}"),
                    );
                    return;
                }
            }
            j += 1;
        }
        let _ = hops;
    }
    let Some(dst) = dst else {
        cx.warn(l.pos(), "Route must have a destination");
        return;
    };
    if !no_track {
        if proto_other {
            cx.warn(l.pos(), "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol");
        }
        if !oif || multipath {
            cx.warn(
                l.pos(),
                format!(
                    "Warning - cannot track route {dst} with no interface specified, not tracking"
                ),
            );
        }
    }
    if track_group && !oif {
        cx.warn(
            l.pos(),
            "Static route cannot have track group if no oif specified",
        );
    }
}

/// `encap TYPE ...` after the word `encap`: how many words it used (0
/// when the rest of the route is unusable).
pub(super) fn encap(cx: &mut Cx, w: &[&Token], fam: Option<bool>) -> usize {
    let Some(ty) = w.first() else {
        return 0;
    };
    match ty.text.as_str() {
        "mpls" => {
            let Some(l) = w.get(1) else {
                cx.warn(&ty.pos, "Missing mpls label for encapsulation");
                return 0;
            };
            if !l
                .text
                .split('/')
                .all(|x| x.parse::<u32>().is_ok_and(|v| v < (1 << 20)))
            {
                cx.warn(
                    &l.pos,
                    format!("invalid mpls address {} for encapsulation", l.text),
                );
                return 0;
            }
            2
        }
        "ip" | "ip6" => {
            let mut n = 1;
            while let (Some(k), Some(v)) = (w.get(n), w.get(n + 1)) {
                match k.text.as_str() {
                    "id" | "tos" | "ttl" | "flags" | "tc" | "hoplimit" => {}
                    "dst" | "src" => {
                        if ty.text == "ip" && v.text.parse::<std::net::Ipv4Addr>().is_err() {
                            if v.text.parse::<std::net::Ipv6Addr>().is_ok() {
                                cx.warn(
                                    &v.pos,
                                    format!(
                                        "IPv6 address {} not valid for ip encapsulation",
                                        v.text
                                    ),
                                );
                            } else {
                                cx.warn(&v.pos, format!("Invalid encap address {}", v.text));
                            }
                        } else if ty.text == "ip6" && v.text.parse::<std::net::Ipv6Addr>().is_err()
                        {
                            cx.warn(&v.pos, format!("Invalid encap address {}", v.text));
                        }
                    }
                    _ => break,
                }
                n += 2;
            }
            let _ = fam;
            n
        }
        "ila" => 2,
        other => {
            cx.warn(&ty.pos, format!("Unknown encap type - {other}"));
            0
        }
    }
}

/// A value block written with words before its `{`.
pub(super) fn value_block_args(cx: &mut Cx, k: &Node) {
    if let Some(t) = k.args.first() {
        if k.block.is_some() {
            cx.warn(
                &t.pos,
                format!("Block {} has extra parameters {} ...", k.kw.text, t.text),
            );
        }
    }
}
