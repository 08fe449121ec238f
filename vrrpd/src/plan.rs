//! From the configuration slice to what the engine runs: one
//! `InstanceConfig` per vrrp_instance, with the interface, addresses and
//! trackers resolved against the kernel's current links and addresses.

use crate::net::routes::{Route, Rule};
use crate::net::rtnl::{Addr, AddrSpec, Link};
use crate::net::vmac;
use keepalived_config::route::{parse_route, parse_rule};
use keepalived_config::{Config, VirtualIp, VrrpInstance};
use keepalived_ipc::TrackKind as Watched;
use keepalived_vrrp::config::{Auth, GarpConfig, InstanceConfig};
use keepalived_vrrp::track::{TrackConfig, TrackKind, TrackStatus};
use keepalived_vrrp::Version;
use log::warn;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// One instance ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub cfg: InstanceConfig,
    pub ifname: String,
    pub ifindex: u32,
    /// Source MAC of gratuitous ARPs / NAs.
    pub mac: [u8; 6],
    /// How to add each virtual address (prefix, device, label...).
    pub vips: BTreeMap<IpAddr, AddrSpec>,
    /// `virtual_ipaddress_excluded`: added and removed with the state, not
    /// advertised.
    pub excluded: Vec<AddrSpec>,
    /// Index into `cfg.tracks` of each object checkerd watches for us
    /// (scripts, files, processes), by kind and name.
    pub tracked: Vec<(usize, Watched, String)>,
    /// Index into `cfg.tracks` of each tracked interface, by ifindex.
    pub track_ifaces: Vec<(usize, u32)>,
    /// Sync group, if the instance is in one.
    pub group: Option<String>,
    /// `use_vmac`: the macvlan's name and index (VIPs, GARPs live there).
    pub vmac: Option<(String, u32)>,
    /// Where adverts are received and sent: the VMAC for IPv4 (a frame
    /// whose source is one of our own macvlan MACs reaches only that
    /// macvlan, never the lower device), else `ifname`.
    pub sock_if: (String, u32),
    /// `vmac_xmit_base`: adverts leave through the lower device instead.
    pub xmit: Option<(String, u32)>,
    /// `virtual_routes` / `virtual_rules`, present while MASTER.
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
}

impl Planned {
    /// How to add or remove `addrs`, plus the excluded addresses that
    /// follow the state without being advertised.
    pub fn specs(&self, addrs: &[IpAddr]) -> Vec<AddrSpec> {
        addrs
            .iter()
            .filter_map(|a| self.vips.get(a).cloned())
            .chain(self.excluded.iter().cloned())
            .collect()
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn vip_spec(v: &VirtualIp, default_index: u32, links: &[Link]) -> Result<AddrSpec, String> {
    let index = match &v.dev {
        Some(d) => links
            .iter()
            .find(|l| &l.name == d)
            .map(|l| l.index)
            .ok_or_else(|| format!("unknown device {d}"))?,
        None => default_index,
    };
    let mut broadcast = None;
    let mut scope = 0u8;
    let mut it = v.options.iter();
    while let Some(o) = it.next() {
        match o.as_str() {
            "brd" | "broadcast" => broadcast = it.next().and_then(|b| b.parse().ok()),
            "scope" => {
                scope = match it.next().map(String::as_str) {
                    Some("host") => 254,
                    Some("link") => 253,
                    Some("site") => 200,
                    Some("nowhere") => 255,
                    Some(n) => n.parse().unwrap_or(0),
                    None => 0,
                }
            }
            _ => {}
        }
    }
    let prefix = v
        .prefix
        .unwrap_or(if v.address.is_ipv4() { 32 } else { 128 });
    Ok(AddrSpec {
        index,
        addr: v.address,
        prefix,
        broadcast,
        scope,
        label: v.label.clone(),
    })
}

/// The source address adverts are sent from: `unicast_src_ip` /
/// `mcast_src_ip`, else the interface's first global IPv4 address or its
/// IPv6 link-local address.
fn source(inst: &VrrpInstance, v6: bool, index: u32, addrs: &[Addr]) -> Option<IpAddr> {
    if let Some(s) = inst.unicast_src_ip.or(inst.mcast_src_ip) {
        return Some(s);
    }
    addrs
        .iter()
        .filter(|a| a.index == index && a.addr.is_ipv6() == v6)
        .find(|a| match a.addr {
            IpAddr::V4(_) => true,
            IpAddr::V6(x) => x.segments()[0] & 0xffc0 == 0xfe80,
        })
        .map(|a| a.addr)
}

/// Plan every instance; instances that cannot run are reported, not fatal.
pub fn plan(config: &Config, links: &[Link], addrs: &[Addr]) -> (Vec<Planned>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for inst in &config.vrrp_instances {
        match plan_one(config, inst, links, addrs) {
            Ok(p) => out.push(p),
            Err(e) => errors.push(format!("({}) {e}", inst.name)),
        }
    }
    (out, errors)
}

fn plan_one(
    config: &Config,
    inst: &VrrpInstance,
    links: &[Link],
    addrs: &[Addr],
) -> Result<Planned, String> {
    let ifname = inst
        .interface
        .clone()
        .or_else(|| config.global_defs.default_interface.clone())
        .ok_or("no interface")?;
    let link = links
        .iter()
        .find(|l| l.name == ifname)
        .ok_or_else(|| format!("unknown interface {ifname}"))?;
    let v6 = inst
        .virtual_ipaddress
        .first()
        .map(|v| v.address.is_ipv6())
        .unwrap_or(false);
    let src = source(inst, v6, link.index, addrs).ok_or_else(|| {
        format!(
            "interface {ifname} has no {} address to send from",
            if v6 { "link-local IPv6" } else { "IPv4" }
        )
    })?;
    let vmac_link = match vmac_name(inst) {
        Some(name) => Some(
            links
                .iter()
                .find(|l| l.name == name)
                .ok_or_else(|| format!("VMAC interface {name} is missing"))?,
        ),
        None => None,
    };
    // Addresses live on the VMAC when there is one.
    let home = vmac_link.map_or(link.index, |l| l.index);
    let mut vips = BTreeMap::new();
    for v in &inst.virtual_ipaddress {
        vips.insert(v.address, vip_spec(v, home, links)?);
    }
    let excluded = inst
        .virtual_ipaddress_excluded
        .iter()
        .map(|v| vip_spec(v, home, links))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cfg = InstanceConfig::new(
        &inst.name,
        inst.virtual_router_id,
        src,
        vips.keys().copied().collect(),
    );
    cfg.version = if inst.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    cfg.priority = inst.priority;
    cfg.advert_int = secs(inst.advert_int);
    cfg.initial_state = inst.state;
    cfg.preempt = !inst.nopreempt;
    cfg.preempt_delay = secs(inst.preempt_delay);
    cfg.accept = inst.accept;
    cfg.strict = inst.strict_mode;
    cfg.skip_check_adv_addr = inst.skip_check_adv_addr;
    cfg.unicast_peers = inst.unicast_peer.iter().map(|p| p.address).collect();
    cfg.mcast_group = Some(match (inst.mcast_dst_ip, v6) {
        (Some(d), _) if d.is_ipv6() == v6 => d,
        (_, true) => IpAddr::V6(config.global_defs.vrrp_mcast_group6),
        (_, false) => IpAddr::V4(config.global_defs.vrrp_mcast_group4),
    });
    // Unicast adverts may be routed (keepalived waives the TTL check for
    // them), so anyone who can route a packet here could force a failover
    // with priority 255 or a split brain with 0. keepalived accepts them
    // from anywhere unless `check_unicast_src`; we only from the configured
    // peers whenever there are peers (a deliberate difference, documented).
    cfg.check_unicast_src = inst.check_unicast_src || !inst.unicast_peer.is_empty();
    cfg.auth = match &inst.authentication {
        Some(a) if a.auth_type == keepalived_config::AuthType::Ah => Auth::Ah,
        Some(a) => Auth::pass(a.auth_pass.as_deref().unwrap_or("")),
        None => Auth::None,
    };
    cfg.lower_prio_no_advert = Some(inst.lower_prio_no_advert);
    cfg.higher_prio_send_advert = inst.higher_prio_send_advert;
    let g = &config.global_defs;
    cfg.garp = GarpConfig {
        master_delay: secs(inst.garp_master_delay),
        master_repeat: inst.garp_master_repeat,
        master_refresh: secs(inst.garp_master_refresh),
        master_refresh_repeat: inst.garp_master_refresh_repeat,
        lower_prio_delay: secs(inst.garp_lower_prio_delay),
        lower_prio_repeat: inst.garp_lower_prio_repeat,
        arp_interval: secs(g.vrrp_garp_interval),
        na_interval: secs(g.vrrp_gna_interval),
    };
    let mut tracked = Vec::new();
    let mut track_ifaces = Vec::new();
    for t in &inst.track_interface {
        let l = links
            .iter()
            .find(|l| l.name == t.name)
            .ok_or_else(|| format!("unknown tracked interface {}", t.name))?;
        track_ifaces.push((cfg.tracks.len(), l.index));
        cfg.tracks.push(TrackConfig::new(
            TrackKind::Interface,
            &t.name,
            t.weight.unwrap_or(0),
            t.reverse,
        ));
    }
    for t in &inst.track_script {
        let script = config.vrrp_scripts.iter().find(|s| s.name == t.name);
        let weight = t.weight.or(script.map(|s| s.weight)).unwrap_or(0);
        let reverse = t.reverse || script.is_some_and(|s| s.weight_reverse);
        let mut tc = TrackConfig::new(TrackKind::Script, &t.name, weight, reverse);
        if script.is_some_and(|s| s.init_fail) {
            tc.initial = TrackStatus::Down;
        }
        tracked.push((cfg.tracks.len(), Watched::Script, t.name.clone()));
        cfg.tracks.push(tc);
    }
    for t in &inst.track_file {
        let file = config
            .track_files
            .iter()
            .find(|f| f.name == t.name)
            .ok_or_else(|| format!("unknown track_file {}", t.name))?;
        let weight = t.weight.unwrap_or(file.weight);
        let reverse = t.reverse || file.weight_reverse;
        let mut tc = TrackConfig::new(TrackKind::File, &t.name, weight, reverse);
        // Until checkerd has read the file, assume the value that changes
        // nothing (keepalived reads it synchronously at start).
        tc.initial = TrackStatus::Value(0);
        tracked.push((cfg.tracks.len(), Watched::File, t.name.clone()));
        cfg.tracks.push(tc);
    }
    for t in &inst.track_process {
        let proc = config
            .vrrp_track_processes
            .iter()
            .find(|p| p.name == t.name)
            .ok_or_else(|| format!("unknown vrrp_track_process {}", t.name))?;
        let weight = t.weight.unwrap_or(proc.weight);
        let reverse = t.reverse || proc.weight_reverse;
        let tc = TrackConfig::new(TrackKind::Process, &t.name, weight, reverse);
        tracked.push((cfg.tracks.len(), Watched::Process, t.name.clone()));
        cfg.tracks.push(tc);
    }
    let group = config
        .vrrp_sync_groups
        .iter()
        .find(|g| g.group.contains(&inst.name))
        .map(|g| g.name.clone());
    let mut mac = [0u8; 6];
    let mac_link = vmac_link.unwrap_or(link);
    if mac_link.mac.len() == 6 {
        mac.copy_from_slice(&mac_link.mac);
    }
    let vmac = vmac_link.map(|l| (l.name.clone(), l.index));
    let sock_if = vmac
        .clone()
        .filter(|_| !v6)
        .unwrap_or((ifname.clone(), link.index));
    let xmit = (vmac.is_some() && !v6 && inst.vmac_xmit_base).then(|| (ifname.clone(), link.index));
    let (routes, rules) = routes_and_rules(inst, links);
    Ok(Planned {
        cfg,
        ifname,
        ifindex: link.index,
        mac,
        vips,
        excluded,
        tracked,
        track_ifaces,
        group,
        vmac,
        sock_if,
        xmit,
        routes,
        rules,
    })
}

/// The VMAC interface name of an instance with `use_vmac`.
pub fn vmac_name(inst: &VrrpInstance) -> Option<String> {
    let v6 = inst
        .virtual_ipaddress
        .first()
        .is_some_and(|v| v.address.is_ipv6());
    match inst.use_vmac.as_deref() {
        None => None,
        Some("") => Some(vmac::default_name(inst.virtual_router_id, v6)),
        Some(n) => Some(n.to_string()),
    }
}

/// Routes and rules that parse and whose devices exist; the others are
/// logged and left out, as keepalived does (the parent already warned
/// with the line number).
fn routes_and_rules(inst: &VrrpInstance, links: &[Link]) -> (Vec<Route>, Vec<Rule>) {
    let mut routes = Vec::new();
    for line in &inst.virtual_routes {
        let spec = match parse_route(line) {
            Ok(s) => s,
            Err(e) => {
                warn!("({}) virtual_routes '{line}': {e}; ignored", inst.name);
                continue;
            }
        };
        let oif = match &spec.dev {
            None => None,
            Some(d) => match links.iter().find(|l| &l.name == d) {
                Some(l) => Some(l.index),
                None => {
                    warn!(
                        "({}) virtual_routes '{line}': no interface {d}; ignored",
                        inst.name
                    );
                    continue;
                }
            },
        };
        routes.push(Route { spec, oif });
    }
    let mut rules = Vec::new();
    for line in &inst.virtual_rules {
        match parse_rule(line) {
            Ok(r) => rules.push(r),
            Err(e) => warn!("({}) virtual_rules '{line}': {e}; ignored", inst.name),
        }
    }
    (routes, rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    fn planned(extra: &str) -> Planned {
        let text = format!(
            "vrrp_instance VI_1 {{\n interface eth9\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {{\n 10.0.0.100\n }}\n{extra}}}\n"
        );
        let c = load_str(&text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let link = Link {
            index: 9,
            name: "eth9".into(),
            up: true,
            running: true,
            mac: vec![2, 0, 0, 0, 0, 9],
            ..Default::default()
        };
        let addr = Addr {
            index: 9,
            addr: "10.0.0.1".parse().unwrap(),
            prefix: 24,
            scope: 0,
        };
        let (mut p, errors) = plan(&c, &[link], &[addr]);
        assert!(errors.is_empty(), "{errors:?}");
        p.remove(0)
    }

    #[test]
    fn unicast_adverts_only_from_the_peers() {
        assert!(
            !planned("").cfg.check_unicast_src,
            "multicast: no peers to check"
        );
        let p = planned(" unicast_src_ip 10.0.0.1\n unicast_peer {\n 10.0.0.2\n }\n");
        assert!(p.cfg.check_unicast_src, "peers configured: only they count");
    }
}
