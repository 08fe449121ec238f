//! `virtual_routes` and `virtual_rules` lines, parsed into typed specs.
//!
//! keepalived reads these with `ip route` / `ip rule` words. The parser is
//! here, beside the rest of the grammar, so the parent reports a bad line
//! with its file:line at load time; vrrpd then only resolves device names.

pub use keepalived_types::route::{Prefix, RouteSpec, RouteType, RuleAction, RuleSpec};
use std::net::IpAddr;

fn route_type(w: &str) -> Option<RouteType> {
    Some(match w {
        "unicast" => RouteType::Unicast,
        "local" => RouteType::Local,
        "broadcast" => RouteType::Broadcast,
        "blackhole" => RouteType::Blackhole,
        "unreachable" => RouteType::Unreachable,
        "prohibit" => RouteType::Prohibit,
        "throw" => RouteType::Throw,
        _ => return None,
    })
}

fn number(w: &str, what: &str) -> Result<u32, String> {
    let r = match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => w.parse(),
    };
    r.map_err(|_| format!("{what} '{w}' is not a number"))
}

fn table(w: &str) -> Result<u32, String> {
    match w {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        _ => number(w, "table"),
    }
}

fn scope(w: &str) -> Result<u8, String> {
    match keepalived_types::route::scope_by_name(w) {
        Some(v) => Ok(v),
        None => {
            number(w, "scope").and_then(|n| u8::try_from(n).map_err(|_| format!("scope '{w}'")))
        }
    }
}

fn protocol(w: &str) -> Result<u8, String> {
    match w {
        "redirect" => Ok(1),
        "kernel" => Ok(2),
        "boot" => Ok(3),
        "static" => Ok(4),
        "keepalived" => Ok(18),
        _ => number(w, "proto").and_then(|n| u8::try_from(n).map_err(|_| format!("proto '{w}'"))),
    }
}

/// Words of a line, and the next one after a keyword that needs a value.
struct Words<'a> {
    it: std::str::SplitWhitespace<'a>,
}

impl<'a> Words<'a> {
    fn value(&mut self, kw: &str) -> Result<&'a str, String> {
        self.it
            .next()
            .ok_or_else(|| format!("'{kw}' needs a value"))
    }
}

fn same_family(a: IpAddr, b: IpAddr, what: &str) -> Result<(), String> {
    if a.is_ipv4() == b.is_ipv4() {
        Ok(())
    } else {
        Err(format!("{what} {b} is not of the destination's family"))
    }
}

/// Parse one `virtual_routes` line.
pub fn parse_route(line: &str) -> Result<RouteSpec, String> {
    route(line, false)
}

/// Parse one `static_routes` line (`track_group NAME` allowed).
pub fn parse_static_route(line: &str) -> Result<RouteSpec, String> {
    route(line, true)
}

/// keepalived's alloc_route: `track_group` only on a static route
/// ("unknown route keyword" on a virtual one).
fn route(line: &str, statics: bool) -> Result<RouteSpec, String> {
    let mut w = Words {
        it: line.split_whitespace(),
    };
    let mut r = RouteSpec {
        kind: RouteType::Unicast,
        dst: Prefix::any(false),
        src: None,
        via: None,
        dev: None,
        scope: None,
        table: None,
        metric: None,
        protocol: None,
        onlink: false,
        no_track: false,
        track_group: None,
    };
    let mut dst = None;
    while let Some(word) = w.it.next() {
        match word {
            "src" => r.src = Some(w.value(word)?.parse().map_err(|_| "bad 'src' address")?),
            "to" => dst = Some(Prefix::parse(w.value(word)?)?),
            "via" | "gw" => {
                let v = w.value(word)?;
                r.via = Some(
                    v.parse()
                        .map_err(|_| format!("bad '{word}' address '{v}'"))?,
                );
            }
            "dev" | "oif" => r.dev = Some(w.value(word)?.to_string()),
            "scope" => r.scope = Some(scope(w.value(word)?)?),
            "table" => r.table = Some(table(w.value(word)?)?),
            "metric" | "preference" | "priority" => r.metric = Some(number(w.value(word)?, word)?),
            "proto" | "protocol" => r.protocol = Some(protocol(w.value(word)?)?),
            "onlink" => r.onlink = true,
            "no_track" => r.no_track = true,
            "track_group" if statics => r.track_group = Some(w.value(word)?.to_string()),
            "default" if dst.is_none() => dst = Some(Prefix::any(false)),
            other => {
                if let (Some(t), None) = (route_type(other), dst) {
                    r.kind = t;
                } else if dst.is_none() {
                    dst = Some(Prefix::parse(other)?);
                } else {
                    return Err(format!("unknown word '{other}' in route"));
                }
            }
        }
    }
    let mut dst = dst.ok_or("route without a destination")?;
    // `default` takes the family of the gateway or source.
    if dst.len == 0 && dst.addr.is_unspecified() {
        if let Some(f) = r.via.or(r.src) {
            dst = Prefix::any(f.is_ipv6());
        }
    }
    r.dst = dst;
    for (a, what) in [(r.via, "via"), (r.src, "src")] {
        if let Some(a) = a {
            same_family(dst.addr, a, what)?;
        }
    }
    if r.kind == RouteType::Unicast && r.via.is_none() && r.dev.is_none() {
        return Err("a unicast route needs 'via' or 'dev'".into());
    }
    Ok(r)
}

/// Parse one `virtual_rules` line.
pub fn parse_rule(line: &str) -> Result<RuleSpec, String> {
    rule(line, false)
}

/// Parse one `static_rules` line (`track_group NAME` allowed).
pub fn parse_static_rule(line: &str) -> Result<RuleSpec, String> {
    rule(line, true)
}

/// keepalived's alloc_rule: `track_group` only on a static rule.
fn rule(line: &str, statics: bool) -> Result<RuleSpec, String> {
    let mut w = Words {
        it: line.split_whitespace(),
    };
    let mut r = RuleSpec {
        v6: false,
        from: None,
        to: None,
        action: RuleAction::Table(254),
        priority: None,
        fwmark: None,
        iif: None,
        oif: None,
        tos: None,
        no_track: false,
        track_group: None,
    };
    let mut action = None;
    let prefix = |v: &str| -> Result<Option<Prefix>, String> {
        if v == "all" {
            Ok(None)
        } else {
            Prefix::parse(v).map(Some)
        }
    };
    while let Some(word) = w.it.next() {
        match word {
            "from" => r.from = prefix(w.value(word)?)?,
            "to" => r.to = prefix(w.value(word)?)?,
            "table" | "lookup" => action = Some(RuleAction::Table(table(w.value(word)?)?)),
            "priority" | "preference" | "pref" => r.priority = Some(number(w.value(word)?, word)?),
            "fwmark" => {
                let v = w.value(word)?;
                r.fwmark = Some(match v.split_once('/') {
                    Some((m, k)) => (number(m, "fwmark")?, Some(number(k, "fwmark mask")?)),
                    None => (number(v, "fwmark")?, None),
                });
            }
            "iif" | "dev" => r.iif = Some(w.value(word)?.to_string()),
            "oif" => r.oif = Some(w.value(word)?.to_string()),
            "tos" | "dsfield" => {
                let v = number(w.value(word)?, word)?;
                r.tos = Some(u8::try_from(v).map_err(|_| format!("{word} {v} is too large"))?);
            }
            "blackhole" => action = Some(RuleAction::Blackhole),
            "unreachable" => action = Some(RuleAction::Unreachable),
            "prohibit" => action = Some(RuleAction::Prohibit),
            "no_track" => r.no_track = true,
            "track_group" if statics => r.track_group = Some(w.value(word)?.to_string()),
            "inet6" => r.v6 = true,
            other => return Err(format!("unknown word '{other}' in rule")),
        }
    }
    r.action = action.ok_or("a rule needs 'table N' (or blackhole, unreachable, prohibit)")?;
    let fams: Vec<bool> = [r.from, r.to]
        .iter()
        .flatten()
        .map(|p| p.addr.is_ipv6())
        .collect();
    if fams.windows(2).any(|w| w[0] != w[1]) {
        return Err("'from' and 'to' are of different families".into());
    }
    r.v6 = r.v6 || fams.first().copied().unwrap_or(false);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_as_keepalived_writes_them() {
        let r = parse_route("src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1")
            .unwrap();
        assert_eq!(r.dst.to_string(), "192.168.109.0/24");
        assert_eq!(r.src, Some("192.168.100.1".parse().unwrap()));
        assert_eq!(r.via, Some("192.168.200.254".parse().unwrap()));
        assert_eq!(r.dev.as_deref(), Some("eth1"));
        let r = parse_route("192.168.111.0/24 dev eth2 table 100 metric 5 scope link").unwrap();
        assert_eq!(
            (r.table, r.metric, r.scope),
            (Some(100), Some(5), Some(253))
        );
        let r = parse_route("blackhole 10.9.0.0/16").unwrap();
        assert_eq!(r.kind, RouteType::Blackhole);
        let r = parse_route("default via 2001:db8::1 dev eth0").unwrap();
        assert!(r.dst.addr.is_ipv6() && r.dst.len == 0);
        let r = parse_route("10.1.2.3 via 10.0.0.1").unwrap();
        assert_eq!(r.dst.len, 32);
    }

    #[test]
    fn bad_routes_say_why() {
        assert!(parse_route("").unwrap_err().contains("destination"));
        assert!(parse_route("10.0.0.0/8").unwrap_err().contains("via"));
        assert!(parse_route("10.0.0.0/33 dev x")
            .unwrap_err()
            .contains("prefix"));
        assert!(parse_route("10.0.0.0/8 via 2001:db8::1")
            .unwrap_err()
            .contains("family"));
        assert!(parse_route("10.0.0.0/8 dev x frobnicate")
            .unwrap_err()
            .contains("frobnicate"));
        assert!(parse_route("10.0.0.0/8 dev")
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse_route("10.0.0.0/8 dev x table main2").is_err());
    }

    #[test]
    fn rules() {
        let r = parse_rule("from 192.168.2.0/24 table 1").unwrap();
        assert_eq!(r.action, RuleAction::Table(1));
        assert_eq!(r.from.unwrap().to_string(), "192.168.2.0/24");
        let r = parse_rule("from all fwmark 0x10/0xff lookup 3 priority 100").unwrap();
        assert_eq!((r.fwmark, r.priority), (Some((16, Some(255))), Some(100)));
        assert!(r.from.is_none());
        let r = parse_rule("to 2001:db8::/32 iif eth1 table 5").unwrap();
        assert!(r.v6);
        assert!(parse_rule("from 10.0.0.0/8").unwrap_err().contains("table"));
        assert!(parse_rule("from 10.0.0.0/8 to 2001:db8::/32 table 2").is_err());
        assert!(parse_rule("from 10.0.0.0/8 table x").is_err());
    }
}
