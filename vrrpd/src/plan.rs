//! From vrrpd's typed plan to what the engine runs: each planned instance
//! with its interface, addresses and trackers resolved against the
//! kernel's current links and addresses (the parent compiled everything
//! else).

use crate::net::routes::{Route, Rule};
use crate::net::rtnl::{Addr, AddrSpec, Link};
use keepalived_ipc::TrackKind as Watched;
use keepalived_vrrp::config::InstanceConfig;
use keepalived_vrrp::plan::{InstancePlan, VipPlan, VrrpPlan};
use log::warn;
use std::collections::BTreeMap;
use std::net::IpAddr;

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
    /// `dont_track_primary`: `ifindex` going down is no fault.
    pub dont_track_primary: bool,
    /// Priority changes are reported to the parent (notify FIFOs).
    pub notify_priority_changes: bool,
    /// `unicast_ttl` for adverts to unicast peers.
    pub unicast_ttl: Option<u8>,
    /// `promote_secondaries` on `ifindex`.
    pub promote_secondaries: bool,
    /// `cfg.src_addr` is the configured `mcast_src_ip` / `unicast_src_ip`
    /// (else the interface's address, followed as it changes).
    pub src_configured: bool,
    /// `track_src_ip`: the configured source going away is a fault.
    pub track_src_ip: bool,
    /// Its share of its receive socket's buffer.
    pub rx_buf: keepalived_vrrp::plan::RxBuf,
    /// IPv4 without a configured source, on an interface with no address:
    /// FAULT until one appears (keepalived's "no IPv4 address for
    /// interface"); `cfg.src_addr` is then 0.0.0.0. With `track_src_ip`:
    /// the configured source is not on the interface.
    pub src_missing: bool,
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

fn vip_spec(v: &VipPlan, default_index: u32, links: &[Link]) -> Result<AddrSpec, String> {
    let index = match &v.dev {
        Some(d) => links
            .iter()
            .find(|l| &l.name == d)
            .map(|l| l.index)
            .ok_or_else(|| format!("unknown device {d}"))?,
        None => default_index,
    };
    Ok(AddrSpec {
        index,
        addr: v.addr,
        prefix: v.prefix,
        broadcast: v.broadcast,
        scope: v.scope,
        label: v.label.clone(),
        opts: v.opts.clone(),
    })
}

/// The source address adverts are sent from when none is configured: the
/// interface's first IPv4 address or its IPv6 link-local address, one
/// that is not in `vips` if there is one (keepalived sends from a VIP
/// only when the interface has nothing else).
pub fn source(v6: bool, index: u32, addrs: &[Addr], vips: &[IpAddr]) -> Option<IpAddr> {
    let usable = || {
        addrs.iter().filter(move |a| {
            a.index == index
                && a.addr.is_ipv6() == v6
                && match a.addr {
                    IpAddr::V4(_) => true,
                    IpAddr::V6(x) => x.is_unicast_link_local(),
                }
        })
    };
    usable()
        .find(|a| !vips.contains(&a.addr))
        .or_else(|| usable().next())
        .map(|a| a.addr)
}

/// Resolve every instance; instances that cannot run are reported, not
/// fatal.
pub fn plan(vrrp: &VrrpPlan, links: &[Link], addrs: &[Addr]) -> (Vec<Planned>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for inst in &vrrp.instances {
        match plan_one(inst, links, addrs) {
            Ok(p) => out.push(p),
            Err(e) => errors.push(format!("({}) {e}", inst.cfg.name)),
        }
    }
    (out, errors)
}

fn plan_one(inst: &InstancePlan, links: &[Link], addrs: &[Addr]) -> Result<Planned, String> {
    let ifname = inst.interface.clone();
    let link = links
        .iter()
        .find(|l| l.name == ifname)
        .ok_or_else(|| format!("unknown interface {ifname}"))?;
    let v6 = inst.v6;
    let own: Vec<IpAddr> = inst
        .vips
        .iter()
        .chain(&inst.excluded)
        .map(|v| v.addr)
        .collect();
    let (src, src_missing) = if inst.src_configured {
        // `track_src_ip`: a configured source that is not there is a
        // fault until it is.
        let there = addrs
            .iter()
            .any(|a| a.index == link.index && a.addr == inst.cfg.src_addr);
        (inst.cfg.src_addr, inst.track_src_ip && !there)
    } else {
        match source(v6, link.index, addrs, &own) {
            Some(a) => (a, false),
            // keepalived starts it in FAULT and brings it up when the
            // interface gets an address.
            None if !v6 => (IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), true),
            None => {
                return Err(format!(
                    "interface {ifname} has no link-local IPv6 address to send from"
                ))
            }
        }
    };
    let vmac_link = match &inst.vmac {
        Some(name) => Some(
            links
                .iter()
                .find(|l| &l.name == name)
                .ok_or_else(|| format!("VMAC interface {name} is missing"))?,
        ),
        None => None,
    };
    // Addresses live on the VMAC when there is one. Not on a `use_ipvlan`
    // ipvlan: keepalived 2.2.7 moves them only for a macvlan (they stay
    // on the interface, which has the same MAC in L2 mode).
    let home = match vmac_link {
        Some(l) if inst.ipvlan.is_none() => l.index,
        _ => link.index,
    };
    let mut vips = BTreeMap::new();
    for v in &inst.vips {
        vips.insert(v.addr, vip_spec(v, home, links)?);
    }
    let excluded = inst
        .excluded
        .iter()
        .map(|v| vip_spec(v, home, links))
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = InstanceConfig {
        src_addr: src,
        ..inst.cfg.clone()
    };
    let mut track_ifaces = Vec::new();
    for (i, name) in &inst.track_interfaces {
        let l = links
            .iter()
            .find(|l| &l.name == name)
            .ok_or_else(|| format!("unknown tracked interface {name}"))?;
        track_ifaces.push((*i, l.index));
    }
    let tracked = inst
        .watched
        .iter()
        .map(|w| (w.track, w.kind, w.name.clone()))
        .collect();
    let mut mac = [0u8; 6];
    let mac_link = vmac_link.unwrap_or(link);
    if mac_link.mac.len() == 6 {
        mac.copy_from_slice(&mac_link.mac);
    }
    let vmac = vmac_link.map(|l| (l.name.clone(), l.index));
    // IPv6 too, unless vmac_xmit_base: adverts must leave with the
    // virtual MAC (RFC 5798 7.2), as keepalived sends them.
    let sock_if = vmac
        .clone()
        .filter(|_| !(v6 && inst.vmac_xmit_base))
        .unwrap_or((ifname.clone(), link.index));
    let xmit = (vmac.is_some() && !v6 && inst.vmac_xmit_base).then(|| (ifname.clone(), link.index));
    let routes = routes(inst, links);
    Ok(Planned {
        cfg,
        ifname,
        ifindex: link.index,
        mac,
        vips,
        excluded,
        tracked,
        track_ifaces,
        group: inst.group.clone(),
        vmac,
        sock_if,
        xmit,
        routes,
        rules: inst.rules.clone(),
        dont_track_primary: inst.dont_track_primary,
        notify_priority_changes: inst.notify_priority_changes,
        unicast_ttl: inst.unicast_ttl,
        promote_secondaries: inst.promote_secondaries,
        src_configured: inst.src_configured,
        track_src_ip: inst.track_src_ip,
        rx_buf: inst.rx_buf,
        src_missing,
    })
}

/// Routes whose devices exist; the others are logged and left out, as
/// keepalived does.
/// What `static_ipaddress` / `static_routes` / `static_rules` set up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statics {
    pub addrs: Vec<AddrSpec>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
}

/// The static entries resolved against the links (one naming a missing
/// interface is left out, logged).
pub fn statics(vrrp: &VrrpPlan, links: &[Link]) -> Statics {
    let mut addrs = Vec::new();
    for v in &vrrp.static_addrs {
        if v.dev.is_none() {
            warn!(
                "static_ipaddress {}: no interface (dev, or default_interface); ignored",
                v.addr
            );
            continue;
        }
        match vip_spec(v, 0, links) {
            Ok(a) => addrs.push(a),
            Err(e) => warn!("static_ipaddress {}: {e}; ignored", v.addr),
        }
    }
    Statics {
        addrs,
        routes: resolve_routes("static_routes", &vrrp.static_routes, links),
        rules: vrrp.static_rules.clone(),
    }
}

fn routes(inst: &InstancePlan, links: &[Link]) -> Vec<Route> {
    resolve_routes(
        &format!("({}) virtual_routes", inst.cfg.name),
        &inst.routes,
        links,
    )
}

/// Routes with their output interface's index (one naming a missing
/// interface is left out, logged).
fn resolve_routes(
    what: &str,
    specs: &[keepalived_types::route::RouteSpec],
    links: &[Link],
) -> Vec<Route> {
    let mut out = Vec::new();
    for spec in specs {
        let oif = match &spec.dev {
            None => None,
            Some(d) => match links.iter().find(|l| &l.name == d) {
                Some(l) => Some(l.index),
                None => {
                    warn!("{what} to {}: no interface {d}; ignored", spec.dst);
                    continue;
                }
            },
        };
        out.push(Route {
            spec: spec.clone(),
            oif,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_vrrp::plan::InstancePlan;

    fn link() -> Link {
        Link {
            index: 9,
            name: "eth9".into(),
            up: true,
            running: true,
            mac: vec![2, 0, 0, 0, 0, 9],
            ..Default::default()
        }
    }

    fn instance(src: Option<IpAddr>) -> InstancePlan {
        let unspec: IpAddr = "0.0.0.0".parse().unwrap();
        let vip = VipPlan {
            addr: "10.0.0.100".parse().unwrap(),
            prefix: 32,
            dev: None,
            broadcast: None,
            scope: 0,
            label: None,
            opts: Default::default(),
            no_track: false,
        };
        InstancePlan {
            cfg: InstanceConfig::new("VI_1", 1, src.unwrap_or(unspec), vec![vip.addr]),
            src_configured: src.is_some(),
            interface: "eth9".into(),
            v6: false,
            vips: vec![vip],
            excluded: Vec::new(),
            watched: Vec::new(),
            track_interfaces: vec![(0, "eth9".into())],
            group: None,
            vmac: None,
            vmac_mac: None,
            vmac_xmit_base: false,
            ipvlan: None,
            debug: 0,
            addr_vmacs: Vec::new(),
            dont_track_primary: false,
            notify_priority_changes: false,
            unicast_ttl: None,
            promote_secondaries: false,
            track_src_ip: false,
            rx_buf: Default::default(),
            routes: Vec::new(),
            rules: Vec::new(),
        }
    }

    #[test]
    fn the_host_supplies_indexes_mac_and_source() {
        let addr = Addr {
            index: 9,
            addr: "10.0.0.1".parse().unwrap(),
            prefix: 24,
            scope: 0,
        };
        let p = plan_one(&instance(None), &[link()], std::slice::from_ref(&addr)).unwrap();
        assert_eq!(p.cfg.src_addr, addr.addr);
        assert_eq!((p.ifindex, p.mac), (9, [2, 0, 0, 0, 0, 9]));
        assert_eq!(p.vips[&"10.0.0.100".parse::<IpAddr>().unwrap()].index, 9);
        assert_eq!(p.track_ifaces, vec![(0, 9)]);
        let given: IpAddr = "10.0.0.7".parse().unwrap();
        let p = plan_one(&instance(Some(given)), &[link()], &[addr]).unwrap();
        assert_eq!(p.cfg.src_addr, given, "a configured source is kept");
    }

    #[test]
    fn an_instance_on_a_missing_interface_is_refused_one_without_an_address_waits() {
        // keepalived: FAULT until the interface has an address.
        let p = plan_one(&instance(None), &[link()], &[]).unwrap();
        assert!(p.src_missing);
        assert!(p.cfg.src_addr.is_unspecified());
        // A VIP only when there is nothing else (keepalived's choice).
        let vip = Addr {
            index: 9,
            addr: "10.0.0.100".parse().unwrap(),
            prefix: 32,
            scope: 0,
        };
        let own = Addr {
            addr: "10.0.0.1".parse().unwrap(),
            prefix: 24,
            ..vip.clone()
        };
        let p = plan_one(&instance(None), &[link()], &[vip.clone(), own.clone()]).unwrap();
        assert_eq!(p.cfg.src_addr, own.addr);
        let p = plan_one(&instance(None), &[link()], std::slice::from_ref(&vip)).unwrap();
        assert_eq!((p.cfg.src_addr, p.src_missing), (vip.addr, false));
        let mut i = instance(None);
        i.interface = "eth7".into();
        assert!(plan_one(&i, &[link()], &[]).unwrap_err().contains("eth7"));
    }
}
