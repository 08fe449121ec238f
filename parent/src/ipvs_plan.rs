//! ipvsd's plan, compiled once by the parent from the configuration:
//! every virtual server resolved into the reconciler's inputs
//! (`keepalived_ipvs::plan`), so ipvsd — root, with CAP_NET_ADMIN — never
//! parses configuration text. Only health and the host's addresses are
//! laid over it at run time.

use keepalived_config::{Config, LbKind, Protocol as CfgProto, VirtualServer};
use keepalived_ipc::Ids;
use keepalived_ipvs::desired::{
    GroupEntry, RealServerInput, SorryServerInput, Tunnel, VirtualServerInput, VsTarget,
};
use keepalived_ipvs::diff::SyncDaemonInput;
use keepalived_ipvs::model::Timeouts;
use keepalived_ipvs::plan::{
    AnnouncePlan, IpvsPlan, MarkEntry, MarkTable, PlannedService, PlannedSyncDaemon,
    ServiceAnnounce,
};
use keepalived_ipvs::{
    Family, FwdMethod, Health, Protocol, Scheduler, ServiceFlags, ServiceKey, TunType,
    TUN_FLAG_CSUM, TUN_FLAG_REMCSUM,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn fwd(k: Option<LbKind>) -> Option<FwdMethod> {
    k.map(|k| match k {
        LbKind::Nat => FwdMethod::Masq,
        LbKind::Dr => FwdMethod::Route,
        LbKind::Tun => FwdMethod::Tunnel,
    })
}

fn proto(p: Option<CfgProto>) -> Protocol {
    match p {
        Some(CfgProto::Udp) => Protocol::Udp,
        Some(CfgProto::Sctp) => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

/// The kernel's tunnel settings for the configuration's (read once at
/// load); none written: plain IPIP.
fn tunnel(t: Option<keepalived_config::Tunnel>) -> Tunnel {
    use keepalived_config::{TunnelCsum, TunnelType};
    let Some(t) = t else {
        return Tunnel::default();
    };
    Tunnel {
        tun_type: match t.kind {
            TunnelType::Ipip => TunType::Ipip,
            TunnelType::Gue => TunType::Gue,
            TunnelType::Gre => TunType::Gre,
        },
        port: t.port.unwrap_or(0),
        flags: match t.csum {
            Some(TunnelCsum::Csum) => TUN_FLAG_CSUM,
            Some(TunnelCsum::Remcsum) => TUN_FLAG_REMCSUM,
            _ => 0,
        },
    }
}

/// The service flags and options keepalived's `lbflags_handler`,
/// `pengine_handler` and `ss_forwarding_handler` set: `ops`, `flag-1..3`,
/// `sh-port`/`sh-fallback` (only with `sh`), `mh-port`/`mh-fallback` (only
/// with `mh`), `persistence_engine`, `sorry_server_lvs_method`.
fn options(vs: &VirtualServer, i: &mut VirtualServerInput) {
    let (sh, mh) = (i.sched == Scheduler::Sh, i.sched == Scheduler::Mh);
    for (on, flag) in [
        (vs.ops, ServiceFlags::ONEPACKET),
        (vs.flag_1, ServiceFlags::SCHED_FALLBACK),
        (vs.flag_2, ServiceFlags::SCHED_PORT),
        (vs.flag_3, ServiceFlags::SCHED3),
        (vs.sh_fallback && sh, ServiceFlags::SCHED_FALLBACK),
        (vs.mh_fallback && mh, ServiceFlags::SCHED_FALLBACK),
        (vs.sh_port && sh, ServiceFlags::SCHED_PORT),
        (vs.mh_port && mh, ServiceFlags::SCHED_PORT),
    ] {
        if on {
            i.flags = i.flags | flag;
        }
    }
    i.persistence_engine = vs.persistence_engine.clone();
    if let (Some(m), Some(ss)) = (vs.sorry_server_lvs_method, i.sorry_server.as_mut()) {
        ss.lvs_method = fwd(Some(m));
        i.sorry_server_tunnel = tunnel(vs.sorry_server_tunnel);
    }
}

/// `persistence_granularity`: a dotted IPv4 mask or an IPv6 prefix length.
fn granularity(s: &str) -> Option<u32> {
    if let Ok(IpAddr::V4(m)) = s.parse::<IpAddr>() {
        return Some(u32::from(m));
    }
    s.parse().ok()
}

/// A `virtual_server_group` address as keepalived 2.2.7 reads it: a
/// single address, `10.0.0.1-5` (the last octet, or hextet in hex),
/// `10.0.0.1-10.0.0.9` (two full addresses), or `10.0.0.0/30` (the whole
/// prefix, host bits empty). `Err` says why keepalived skips it.
fn range(s: &str) -> Result<(IpAddr, IpAddr), String> {
    if let Some((net, len)) = s.split_once('/') {
        let net: IpAddr = net.parse().map_err(|_| format!("invalid address {net}"))?;
        let len: u32 = len.parse().map_err(|_| format!("invalid prefix {len}"))?;
        let (bits, n) = match net {
            IpAddr::V4(a) => (32, u128::from(u32::from(a))),
            IpAddr::V6(a) => (128, u128::from(a)),
        };
        if len > bits {
            return Err(format!("prefix /{len} too long"));
        }
        let host: u128 = if len == bits {
            0
        } else {
            (1u128 << (bits - len)) - 1
        };
        if n & host != 0 {
            return Err("Address mask bits not empty".into());
        }
        let last = match net {
            IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from((n | host) as u32)),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(n | host)),
        };
        return checked(net, last);
    }
    let Some((first, end)) = s.split_once('-') else {
        let a: IpAddr = s.parse().map_err(|_| format!("invalid address {s}"))?;
        return Ok((a, a));
    };
    let first: IpAddr = first
        .parse()
        .map_err(|_| format!("invalid address {first}"))?;
    let full = match first {
        IpAddr::V4(_) => end.contains('.'),
        IpAddr::V6(_) => end.contains(':'),
    };
    let last: IpAddr = if full {
        let last: IpAddr = end
            .parse()
            .map_err(|_| format!("Invalid range end {end}"))?;
        if last.is_ipv4() != first.is_ipv4() {
            return Err("Range address families do not match".into());
        }
        last
    } else {
        match first {
            IpAddr::V4(f) => {
                let mut o = f.octets();
                o[3] = end
                    .parse()
                    .map_err(|_| format!("range end {end} too large"))?;
                IpAddr::from(o)
            }
            IpAddr::V6(f) => {
                let mut seg = f.segments();
                seg[7] = u16::from_str_radix(end, 16)
                    .map_err(|_| format!("range end {end} too large"))?;
                IpAddr::from(seg)
            }
        }
    };
    checked(first, last)
}

/// A range ipvsd can expand: in order, and at most `MAX_RANGE` services.
fn checked(first: IpAddr, last: IpAddr) -> Result<(IpAddr, IpAddr), String> {
    if keepalived_ipvs::desired::expand_range(first, last).is_none() {
        return Err(format!(
            "Address range end is less than its start, or over {} addresses",
            keepalived_ipvs::desired::MAX_RANGE
        ));
    }
    Ok((first, last))
}

/// `nftables_ipvs`: the table being compiled, and the marks the previous
/// plan gave (a surviving group keeps its mark).
struct Marking<'a> {
    table: MarkTable,
    previous: Option<&'a BTreeMap<String, u32>>,
}

impl Marking<'_> {
    /// The mark of `group` for `protocol` (keepalived's set_vs_fwmark: one
    /// per group and protocol, counted up from nftables_ipvs_start_fwmark),
    /// its ranges added to the table the first time.
    fn mark(&mut self, group: &str, protocol: Protocol, entries: &[GroupEntry]) -> u32 {
        let key = format!("{group}:{}", protocol.to_raw());
        if let Some(m) = self.table.marks.get(&key) {
            return *m;
        }
        let mark = match self.previous.and_then(|p| p.get(&key)) {
            Some(m) => *m,
            None => {
                let m = self.table.next_mark;
                self.table.next_mark = m.wrapping_add(1).max(1);
                m
            }
        };
        self.table.marks.insert(key, mark);
        for e in entries {
            if let GroupEntry::Range { first, last, port } = e {
                self.table.entries.push(MarkEntry {
                    protocol,
                    first: *first,
                    last: *last,
                    port: *port,
                    mark,
                });
            }
        }
        mark
    }
}

fn target(config: &Config, vs: &VirtualServer, marking: &mut Option<Marking>) -> Option<VsTarget> {
    let p = proto(vs.protocol);
    let v6 = vs.ip_family.as_deref() == Some("inet6");
    let af = if v6 { Family::Inet6 } else { Family::Inet };
    if let Some(ip) = vs.ip {
        return Some(VsTarget::Single(ServiceKey::Addr {
            protocol: p,
            addr: ip,
            port: vs.port.unwrap_or(0),
        }));
    }
    if let Some(mark) = vs.fwmark {
        return Some(VsTarget::Single(ServiceKey::Fwmark { af, mark }));
    }
    let name = vs.group.as_ref()?;
    let g = config
        .virtual_server_groups
        .iter()
        .find(|g| &g.name == name)?;
    let mut entries = Vec::new();
    for a in &g.addresses {
        // As keepalived: a bad entry is skipped (-t reports it), not the
        // whole virtual server.
        match range(&a.address) {
            Ok((first, last)) => entries.push(GroupEntry::Range {
                first,
                last,
                port: a.port.unwrap_or(0),
            }),
            Err(e) => log::error!(
                "virtual_server_group {name}: {} - {e}; skipping it",
                a.address
            ),
        }
    }
    entries.extend(g.fwmarks.iter().map(|m| GroupEntry::Fwmark(*m)));
    // nftables_ipvs: a group of addresses only is served by fwmark
    // services, one per family it has, its traffic marked by nftables.
    if let Some(m) = marking
        .as_mut()
        .filter(|_| g.fwmarks.is_empty() && !entries.is_empty())
    {
        let mark = m.mark(name, p, &entries);
        let has = |v4: bool| {
            entries
                .iter()
                .any(|e| matches!(e, GroupEntry::Range { first, .. } if first.is_ipv4() == v4))
        };
        entries = [(true, Family::Inet), (false, Family::Inet6)]
            .into_iter()
            .filter(|(v4, _)| has(*v4))
            .map(|(_, af)| GroupEntry::Marked { af, mark })
            .collect();
    }
    Some(VsTarget::Group {
        name: name.clone(),
        protocol: p,
        fwmark_af: af,
        entries,
    })
}

/// ipvsd's plan for `config`, its objects named by `ids`; `previous`:
/// the plan it replaces (its `nftables_ipvs` marks are kept).
pub fn compile(config: &Config, ids: &Ids, previous: Option<&IpvsPlan>) -> IpvsPlan {
    let g = &config.global_defs;
    let before = previous.and_then(|p| p.mark_table.as_ref());
    let mut marking = g.nftables_ipvs.as_ref().map(|table| Marking {
        table: MarkTable {
            table: table.clone(),
            priority: g.nftables_ipvs_priority.unwrap_or(-1),
            counters: g.nftables_counters,
            entries: Vec::new(),
            marks: BTreeMap::new(),
            // keepalived's counter starts at the first mark given and is
            // never reset while it runs.
            next_mark: before
                .filter(|b| !b.marks.is_empty())
                .map_or(g.nftables_ipvs_start_fwmark.unwrap_or(1000), |b| {
                    b.next_mark
                }),
        },
        previous: before.map(|b| &b.marks),
    });
    let mut services = Vec::new();
    for vs in &config.virtual_servers {
        let Some(t) = target(config, vs, &mut marking) else {
            log::error!(
                "virtual server {}: cannot resolve its address, fwmark or group; left out",
                vs.key()
            );
            continue;
        };
        let Some(vs_id) = ids.virtual_server(&vs.id_key()) else {
            continue;
        };
        let sched = vs.lb_algo.clone().unwrap_or(Scheduler::Wlc);
        // The reconciler keys its quorum state by this: the id key, so two
        // fwmark services of different families stay apart.
        let mut i = VirtualServerInput::new(&vs.id_key(), t, sched);
        i.persistence_timeout = vs.persistence_timeout;
        i.persistence_granularity = vs.persistence_granularity.as_deref().and_then(granularity);
        i.lvs_method = fwd(vs.lb_kind).unwrap_or(FwdMethod::Masq);
        i.quorum = vs.quorum;
        i.hysteresis = vs.hysteresis;
        i.alpha = vs.alpha;
        i.omega = vs.omega;
        i.ha_suspend = vs.ha_suspend;
        i.sorry_server = vs.sorry_server.as_ref().map(|s| SorryServerInput {
            addr: s.ip,
            port: s.port.or(vs.port).unwrap_or(0),
            weight: 1,
            lvs_method: None,
            inhibit: vs.sorry_server_inhibit,
        });
        // Real servers and the sorry server start from the virtual
        // server's tunnel settings (keepalived's alloc_rs/alloc_ssvr).
        let vs_tunnel = tunnel(vs.tunnel);
        i.sorry_server_tunnel = vs_tunnel;
        options(vs, &mut i);
        let mut rs_ids = Vec::new();
        let mut checked = Vec::new();
        for rs in &vs.real_servers {
            let Some(rs_id) = ids.real_server(vs_id, &rs.key(vs)) else {
                continue;
            };
            let weight = rs.weight.max(0) as u32;
            let mut r = RealServerInput::new(
                rs.ip,
                rs.port.or(vs.port).unwrap_or(0),
                weight,
                Health::Unknown,
            );
            r.fwd = fwd(rs.lb_kind);
            let t = if rs.lb_kind.is_some() {
                tunnel(rs.tunnel)
            } else {
                vs_tunnel
            };
            (r.tun_type, r.tun_port, r.tun_flags) = (t.tun_type, t.port, t.flags);
            r.inhibit_on_failure = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
            r.u_thresh = rs.uthreshold.unwrap_or(0);
            r.l_thresh = rs.lthreshold.unwrap_or(0);
            i.real_servers.push(r);
            rs_ids.push(rs_id.0);
            if !rs.checkers.is_empty() {
                checked.push(rs_id.0);
            }
        }
        services.push(PlannedService {
            id: vs_id.0,
            name: vs.key(),
            input: i,
            real_servers: rs_ids,
            // keepalived clears ha_suspend for fwmark services; groups: not tracked.
            vip: vs.ip,
            announce: vs.announce.as_ref().map(|a| ServiceAnnounce {
                delay_up: a.delay_up,
                delay_down: a.delay_down,
                checked,
            }),
        });
    }
    let sync_daemon = sync_daemon(config).map(|(daemon, instance)| PlannedSyncDaemon {
        daemon,
        instance: instance.and_then(|n| ids.instance(&n)).map(|i| i.0),
    });
    let timeouts = [g.lvs_timeout_tcp, g.lvs_timeout_tcpfin, g.lvs_timeout_udp];
    // The block's settings, or its defaults when only `announce` is
    // written.
    let announce = services.iter().any(|s| s.announce.is_some()).then(|| {
        let b = config.bgp_announce.clone().unwrap_or_default();
        AnnouncePlan {
            interface: b.interface,
            lifetime: b.address_lifetime,
            withdraw_on_shutdown: b.withdraw_on_shutdown,
            health_timeout: b.health_timeout,
        }
    });
    IpvsPlan {
        services,
        sync_daemon,
        flush_at_start: g.lvs_flush,
        flush_on_stop: g.lvs_flush_on_stop,
        timeouts: timeouts.iter().any(Option::is_some).then(|| Timeouts {
            tcp: timeouts[0].unwrap_or(0),
            tcp_fin: timeouts[1].unwrap_or(0),
            udp: timeouts[2].unwrap_or(0),
        }),
        mark_table: marking.map(|m| m.table),
        announce,
    }
}

/// `lvs_sync_daemon INTERFACE [VRRP_INSTANCE | inst NAME] [id N] [maxlen N]
/// [port N] [ttl N] [group IP]` resolved against the configuration:
/// the settings, and the VRRP instance it follows. `None` when absent, or
/// when the named instance does not exist (keepalived then clears the
/// setting). The sync id defaults to the instance's virtual_router_id, 0
/// without an instance.
fn sync_daemon(config: &Config) -> Option<(SyncDaemonInput, Option<String>)> {
    let s = config.global_defs.lvs_sync_daemon.as_ref()?;
    let mut instance = s.vrrp_instance.clone();
    let mut opts: Vec<&str> = s.options.iter().map(String::as_str).collect();
    if instance.as_deref() == Some("inst") && !opts.is_empty() {
        instance = Some(opts.remove(0).to_string());
    }
    let mut d = SyncDaemonInput {
        interface: s.interface.clone(),
        sync_id: 0,
        maxlen: None,
        mcast_group: None,
        port: None,
        ttl: None,
        vrrp_master: false,
    };
    let mut id = None;
    let mut i = 0;
    while i < opts.len() {
        let (k, v) = (opts[i], opts.get(i + 1).copied());
        i += 2;
        match (k, v) {
            ("inst", Some(v)) if instance.is_none() => instance = Some(v.to_string()),
            ("id", Some(v)) => id = v.parse::<u8>().ok().map(u32::from),
            ("maxlen", Some(v)) => d.maxlen = v.parse().ok().filter(|n| (1..=65507).contains(n)),
            ("port", Some(v)) => d.port = v.parse().ok().filter(|n| *n >= 1),
            ("ttl", Some(v)) => d.ttl = v.parse().ok().filter(|n| *n >= 1),
            ("group", Some(v)) => {
                d.mcast_group = v.parse::<IpAddr>().ok().filter(IpAddr::is_multicast)
            }
            _ => {
                i -= 1;
                match k.parse::<u8>() {
                    // The old form `IF INSTANCE SYNCID`.
                    Ok(n) if i == 1 && instance.is_some() => id = Some(u32::from(n)),
                    _ => log::warn!("lvs_sync_daemon: ignoring option {k}"),
                }
            }
        }
    }
    if let Some(name) = &instance {
        let Some(vi) = config.vrrp_instances.iter().find(|v| &v.name == name) else {
            log::error!("No VRRP instance {name} for lvs_syncd - clearing lvs_syncd config");
            return None;
        };
        d.sync_id = id.unwrap_or(u32::from(vi.virtual_router_id));
    } else {
        d.sync_id = id.unwrap_or(0);
    }
    Some((d, instance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    fn load(text: &str) -> Config {
        load_str(
            text,
            Path::new("/t/keepalived.conf"),
            &LoadOptions::default(),
        )
        .expect("valid")
        .config
    }

    const VI: &str = "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n 10.9.0.1\n }\n}\n";

    #[test]
    fn sync_daemon_options_and_default_id() {
        let c = load(&format!(
            "global_defs {{\n lvs_sync_daemon lo VI_1 maxlen 1400 port 8849 ttl 2 group 224.0.0.99\n}}\n{VI}"
        ));
        let (d, inst) = sync_daemon(&c).expect("configured");
        assert_eq!(inst.as_deref(), Some("VI_1"));
        assert_eq!(d.interface, "lo");
        assert_eq!(
            d.sync_id, 51,
            "defaults to the instance's virtual_router_id"
        );
        assert_eq!(d.maxlen, Some(1400));
        assert_eq!(d.port, Some(8849));
        assert_eq!(d.ttl, Some(2));
        assert_eq!(d.mcast_group, Some("224.0.0.99".parse().unwrap()));

        let c = load(&format!(
            "global_defs {{\n lvs_sync_daemon lo VI_1 id 9\n}}\n{VI}"
        ));
        assert_eq!(sync_daemon(&c).unwrap().0.sync_id, 9);
        // The old positional sync id.
        let c = load(&format!(
            "global_defs {{\n lvs_sync_daemon lo VI_1 12\n}}\n{VI}"
        ));
        assert_eq!(sync_daemon(&c).unwrap().0.sync_id, 12);
        // No instance: id 0, followed by nobody.
        let c = load("global_defs {\n lvs_sync_daemon lo\n}\n");
        let (d, inst) = sync_daemon(&c).unwrap();
        assert_eq!((d.sync_id, inst), (0, None));
        // Unknown instance: cleared, as keepalived does.
        let c = load(&format!(
            "global_defs {{\n lvs_sync_daemon lo VI_9\n}}\n{VI}"
        ));
        assert!(sync_daemon(&c).is_none());
        assert!(sync_daemon(&load(VI)).is_none());
    }

    #[test]
    fn group_ranges_in_every_form_keepalived_reads() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let r = |s: &str| range(s).map(|(a, b)| (a.to_string(), b.to_string()));
        assert_eq!(r("10.0.0.1"), Ok(("10.0.0.1".into(), "10.0.0.1".into())));
        assert_eq!(r("10.0.0.1-5"), Ok(("10.0.0.1".into(), "10.0.0.5".into())));
        assert_eq!(
            r("10.0.0.250-10.0.1.3"),
            Ok(("10.0.0.250".into(), "10.0.1.3".into()))
        );
        assert_eq!(r("10.0.0.0/30"), Ok(("10.0.0.0".into(), "10.0.0.3".into())));
        assert_eq!(r("10.0.0.7/32"), Ok(("10.0.0.7".into(), "10.0.0.7".into())));
        assert_eq!(
            r("2001:db8::/126"),
            Ok(("2001:db8::".into(), "2001:db8::3".into()))
        );
        assert_eq!(
            r("2001:db8::1-a"),
            Ok(("2001:db8::1".into(), "2001:db8::a".into()))
        );
        assert!(r("10.0.0.1/30").is_err(), "host bits set");
        assert!(r("10.0.0.5-3").is_err(), "reversed");
        assert!(r("10.0.0.5-10.0.0.1").is_err(), "reversed");
        assert!(r("10.0.0.1-2001:db8::1").is_err(), "families differ");
        assert!(r("10.0.0.0/8").is_err(), "too many services");
        assert!(r("10.0.0.1-300").is_err());
        // A bad entry is skipped, the group's others stay.
        let c = load(
            "virtual_server_group G {\n 10.0.0.1-3 80\n 10.0.0.9/30 80\n 10.0.1.0/31 80\n}\n\
             virtual_server group G {\n protocol TCP\n real_server 10.0.2.1 80 {\n }\n}\n",
        );
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        let plan = compile(&c, &ids, None);
        let keys = keepalived_ipvs::desired::service_keys(&plan.services[0].input.target);
        assert_eq!(keys.len(), 5, "{keys:?}");
        assert!(keys.iter().any(|k| matches!(k,
            keepalived_ipvs::ServiceKey::Addr { addr, .. } if *addr == ip("10.0.1.1"))));
    }

    /// `announce`: the plan carries the interface settings (the block's,
    /// or its defaults) and, per announced service, its delays and the
    /// real servers whose first report completes its first health round.
    #[test]
    fn announced_services_and_their_checked_real_servers() {
        let plan_of = |t: &str| {
            let c = load(t);
            let mut next = 0;
            let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
            (compile(&c, &ids, None), ids)
        };
        let vs = "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_algo mh\n announce {\n delay_up 2\n }\n\
                  real_server 10.0.1.1 80 {\n TCP_CHECK {\n }\n }\n real_server 10.0.1.2 80 {\n }\n}\n\
                  virtual_server 192.0.2.11 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n }\n}\n";
        let (p, ids) = plan_of(vs);
        let a = p.announce.as_ref().expect("defaults without the block");
        assert_eq!(
            (a.interface.as_str(), a.lifetime, a.withdraw_on_shutdown),
            ("kalrs0", 9, true)
        );
        let s = p.services[0].announce.as_ref().expect("announced");
        assert_eq!((s.delay_up, s.delay_down), (2.0, 0.0));
        let vs_id = ids
            .virtual_server(&load(vs).virtual_servers[0].id_key())
            .unwrap();
        let checked = ids
            .real_server(
                vs_id,
                &load(vs).virtual_servers[0].real_servers[0].key(&load(vs).virtual_servers[0]),
            )
            .unwrap();
        assert_eq!(
            s.checked,
            vec![checked.0],
            "only the real server with a checker"
        );
        assert!(p.services[1].announce.is_none());
        let (p, _) = plan_of(&format!("bgp_announce {{\n interface lb0\n address_lifetime 30\n withdraw_on_shutdown no\n}}\n{vs}"));
        let a = p.announce.unwrap();
        assert_eq!(
            (a.interface.as_str(), a.lifetime, a.withdraw_on_shutdown),
            ("lb0", 30, false)
        );
        // The block without an announced service: nothing to do.
        let (p, _) = plan_of("bgp_announce {\n}\nvirtual_server 192.0.2.11 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n }\n}\n");
        assert!(p.announce.is_none());
    }

    #[test]
    fn nftables_ipvs_marks_groups_as_keepalived_numbers_them() {
        use keepalived_ipvs::ServiceKey;
        let text = |extra: &str| {
            format!(
                "global_defs {{\n nftables_ipvs_priority 5\n nftables_ipvs\n nftables_ipvs_start_fwmark 50\n}}\n\
                 virtual_server_group A {{\n 10.0.0.1-3 80\n 2001:db8::1 80\n}}\n\
                 virtual_server_group F {{\n fwmark 7\n}}\n{extra}\
                 virtual_server group A {{\n protocol UDP\n real_server 10.0.2.1 80 {{\n }}\n}}\n\
                 virtual_server group A {{\n protocol TCP\n real_server 10.0.2.1 80 {{\n }}\n}}\n\
                 virtual_server group F {{\n real_server 10.0.2.1 80 {{\n }}\n}}\n"
            )
        };
        let plan_of = |t: &str, prev: Option<&IpvsPlan>| {
            let c = load(t);
            let mut next = 0;
            let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
            compile(&c, &ids, prev)
        };
        let p = plan_of(&text(""), None);
        let t = p.mark_table.as_ref().expect("a mark table");
        assert_eq!(t.table, "keepalived_ipvs");
        // nftables_ipvs puts the priority back to its default, as there.
        assert_eq!((t.priority, t.counters), (-1, false));
        let marks: Vec<(Protocol, u32, String)> = t
            .entries
            .iter()
            .map(|e| (e.protocol, e.mark, format!("{}-{}", e.first, e.last)))
            .collect();
        assert_eq!(
            marks,
            vec![
                (Protocol::Udp, 50, "10.0.0.1-10.0.0.3".into()),
                (Protocol::Udp, 50, "2001:db8::1-2001:db8::1".into()),
                (Protocol::Tcp, 51, "10.0.0.1-10.0.0.3".into()),
                (Protocol::Tcp, 51, "2001:db8::1-2001:db8::1".into()),
            ]
        );
        // One fwmark service per family; a group of fwmarks is as before.
        let keys = |i: usize| keepalived_ipvs::desired::service_keys(&p.services[i].input.target);
        assert_eq!(
            keys(0),
            vec![
                ServiceKey::Fwmark {
                    af: Family::Inet,
                    mark: 50
                },
                ServiceKey::Fwmark {
                    af: Family::Inet6,
                    mark: 50
                },
            ]
        );
        assert_eq!(
            keys(2),
            vec![ServiceKey::Fwmark {
                af: Family::Inet,
                mark: 7
            }]
        );
        // A reload keeps the surviving groups' marks; a new one gets the
        // next, even when listed first.
        let extra = "virtual_server_group B {\n 10.0.9.1 443\n}\n\
                     virtual_server group B {\n real_server 10.0.2.1 443 {\n }\n}\n";
        let q = plan_of(&text(extra), Some(&p));
        let qt = q.mark_table.as_ref().unwrap();
        assert_eq!(qt.marks.get("A:17"), Some(&50));
        assert_eq!(qt.marks.get("A:6"), Some(&51));
        // (No protocol: UDP, as keepalived 2.2.7 defaults.)
        assert_eq!(qt.marks.get("B:17"), Some(&52), "{:?}", qt.marks);
        // Without nftables_ipvs, groups are expanded per address.
        let r = plan_of(&text("").replace(" nftables_ipvs\n", ""), None);
        assert!(r.mark_table.is_none());
        assert_eq!(
            keepalived_ipvs::desired::service_keys(&r.services[0].input.target).len(),
            4
        );
    }

    #[test]
    fn tunnel_options() {
        let t = |s: &str| {
            let words: Vec<String> = s.split_whitespace().map(String::from).collect();
            keepalived_config::Tunnel::parse(&words).map(|t| tunnel(Some(t)))
        };
        assert_eq!(t(""), Some(Tunnel::default()));
        assert_eq!(
            t("type gue port 6080 csum"),
            Some(Tunnel {
                tun_type: TunType::Gue,
                port: 6080,
                flags: TUN_FLAG_CSUM
            })
        );
        assert_eq!(t("type gre").map(|t| t.tun_type), Some(TunType::Gre));
        assert_eq!(t("type gue"), None, "gue needs a port");
        assert_eq!(t("type ipip port 5"), None, "only gue has a port");
        assert_eq!(t("type ipip csum"), None);
        assert_eq!(t("type gre remcsum"), None);
        assert_eq!(t("type gre nocsum").map(|t| t.flags), Some(0));
    }

    /// The tunnel options are read once at load into the model; the real
    /// servers inherit the virtual server's, or use their own.
    #[test]
    fn tunnels_reach_the_real_servers() {
        let c = load(
            "virtual_server 10.0.0.1 80 {\n lb_kind TUN type gue port 6080 csum\n \
             real_server 10.0.1.1 80 {\n }\n real_server 10.0.1.2 80 {\n lvs_method TUN type gre\n }\n \
             real_server 10.0.1.3 80 {\n lvs_method DR\n }\n}\n",
        );
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        let plan = compile(&c, &ids, None);
        let rs = &plan.services[0].input.real_servers;
        assert_eq!(
            (rs[0].tun_type, rs[0].tun_port, rs[0].tun_flags),
            (TunType::Gue, 6080, TUN_FLAG_CSUM)
        );
        assert_eq!((rs[1].tun_type, rs[1].tun_port), (TunType::Gre, 0));
        assert_eq!(rs[2].fwd, Some(FwdMethod::Route));
        assert!(
            c.virtual_servers[0].extra.is_empty(),
            "kept raw: {:?}",
            c.virtual_servers[0].extra
        );
    }

    #[test]
    fn virtual_server_options() {
        let c = load(
            "virtual_server 10.0.0.1 53 {\n lb_algo sh\n sh-port\n sh-fallback\n mh-port\n ops\n protocol UDP\n \
             persistence_timeout 30\n persistence_engine sip\n sorry_server 10.0.9.9 53\n sorry_server_lvs_method DR\n \
             real_server 10.0.1.1 53 {\n }\n}\n",
        );
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        let plan = compile(&c, &ids, None);
        let vs = &plan.services[0].input;
        assert_eq!(
            vs.flags,
            ServiceFlags::ONEPACKET | ServiceFlags::SCHED_PORT | ServiceFlags::SCHED_FALLBACK
        );
        assert_eq!(vs.persistence_engine.as_deref(), Some("sip"));
        assert_eq!(
            vs.sorry_server.as_ref().unwrap().lvs_method,
            Some(FwdMethod::Route)
        );
        // Typed at load: nothing of these is kept raw.
        assert!(
            c.virtual_servers[0].extra.is_empty(),
            "{:?}",
            c.virtual_servers[0].extra
        );
    }
}
