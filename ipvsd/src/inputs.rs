//! From the configuration slice and the real servers' health to the
//! reconciler's inputs (`keepalived_ipvs::desired`).

use keepalived_config::{Config, LbKind, Protocol as CfgProto, VirtualServer};
use keepalived_ipvs::desired::{
    GroupEntry, RealServerInput, SorryServerInput, VirtualServerInput, VsTarget,
};
use keepalived_ipvs::{Family, FwdMethod, Health, Protocol, Scheduler, ServiceKey};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Health by (virtual server key, real server key), as checkerd names them.
pub type HealthMap = BTreeMap<(String, String), (bool, Option<i32>)>;

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

/// `persistence_granularity`: a dotted IPv4 mask or an IPv6 prefix length.
fn granularity(s: &str) -> Option<u32> {
    if let Ok(IpAddr::V4(m)) = s.parse::<IpAddr>() {
        return Some(u32::from(m));
    }
    s.parse().ok()
}

/// `10.0.0.1-5` (last octet or hextet range) or a single address.
fn range(s: &str) -> Option<(IpAddr, IpAddr)> {
    match s.rsplit_once('-') {
        Some((first, last)) => {
            let first: IpAddr = first.parse().ok()?;
            let last = match first {
                IpAddr::V4(f) => {
                    let mut o = f.octets();
                    o[3] = last.parse().ok()?;
                    IpAddr::from(o)
                }
                IpAddr::V6(f) => {
                    let mut seg = f.segments();
                    seg[7] = u16::from_str_radix(last, 16).ok()?;
                    IpAddr::from(seg)
                }
            };
            Some((first, last))
        }
        None => {
            let a: IpAddr = s.parse().ok()?;
            Some((a, a))
        }
    }
}

fn target(config: &Config, vs: &VirtualServer) -> Option<VsTarget> {
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
        let (first, last) = range(&a.address)?;
        entries.push(GroupEntry::Range {
            first,
            last,
            port: a.port.unwrap_or(0),
        });
    }
    entries.extend(g.fwmarks.iter().map(|m| GroupEntry::Fwmark(*m)));
    Some(VsTarget::Group {
        name: name.clone(),
        protocol: p,
        fwmark_af: af,
        entries,
    })
}

/// The reconciler's view of every virtual server.
pub fn inputs(config: &Config, health: &HealthMap) -> Vec<VirtualServerInput> {
    let mut out = Vec::new();
    for vs in &config.virtual_servers {
        let Some(t) = target(config, vs) else {
            log::error!(
                "virtual server {}: cannot resolve its address, fwmark or group",
                vs.key()
            );
            continue;
        };
        let sched = Scheduler::from_name(vs.lb_algo.map_or("wlc", |a| a.as_str()));
        let mut i = VirtualServerInput::new(&vs.key(), t, sched);
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
        for rs in &vs.real_servers {
            let (h, dynamic) = match health.get(&(vs.key(), rs.key(vs))) {
                Some((true, w)) => (Health::Up, *w),
                Some((false, w)) => (Health::Down, *w),
                None => (Health::Unknown, None),
            };
            let weight = dynamic.unwrap_or(rs.weight).max(0) as u32;
            let mut r = RealServerInput::new(rs.ip, rs.port.or(vs.port).unwrap_or(0), weight, h);
            r.fwd = fwd(rs.lb_kind);
            r.inhibit_on_failure = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
            r.u_thresh = rs.uthreshold.unwrap_or(0);
            r.l_thresh = rs.lthreshold.unwrap_or(0);
            i.real_servers.push(r);
        }
        out.push(i);
    }
    out
}
