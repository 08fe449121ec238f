//! vrrpd's typed plan, compiled once from the validated configuration:
//! vrrpd gets instances ready to run (timers, authentication, addresses,
//! routes, rules, tracker weights), never configuration text.

use keepalived_config::route::{parse_route, parse_rule, parse_static_route, parse_static_rule};
use keepalived_config::{Config, TrackRef, VirtualIp, VrrpInstance};
use keepalived_types::TrackKind;
use keepalived_vrrp::config::{Auth, GarpConfig, InstanceConfig};
use keepalived_vrrp::plan::{
    AddrOptions, AddrVmac, FirewallPlan, InstancePlan, VipPlan, VrrpPlan, Watched,
};
use keepalived_vrrp::track::{TrackConfig, TrackStatus};
use keepalived_vrrp::Version;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// keepalived's address options after the address (vrrp_ipaddress.c):
/// `brd`, `scope`, `peer`, `preferred_lft`, the IFA_F_* flags and
/// `-nodad` (`no_track` is the tracking's business, `dev`/`label` the
/// model's). Bad values were reported at load.
fn vip(v: &VirtualIp) -> VipPlan {
    let mut broadcast = None;
    let mut scope = 0u8;
    let mut opts = AddrOptions::default();
    let mut prefix = v
        .prefix
        .unwrap_or(if v.address.is_ipv4() { 32 } else { 128 });
    let mut lft_set = false;
    let mut it = v.options.iter();
    while let Some(o) = it.next() {
        match o.as_str() {
            "brd" | "broadcast" => broadcast = it.next().and_then(|b| b.parse().ok()),
            "scope" => {
                scope = it.next().map_or(0, |n| {
                    keepalived_types::route::scope_by_name(n)
                        .unwrap_or_else(|| n.parse().unwrap_or(0))
                })
            }
            // A bare address (keepalived refuses one with /LEN); the
            // address then takes the peer's full-length prefix.
            "peer" => {
                if let Some(Ok(a)) = it.next().map(|p| p.parse::<IpAddr>()) {
                    if a.is_ipv4() == v.address.is_ipv4() && opts.peer.is_none() {
                        opts.peer = Some(a);
                        prefix = if a.is_ipv4() { 32 } else { 128 };
                    }
                }
            }
            "preferred_lft" => {
                if let Some(n) = it.next() {
                    lft_set = true;
                    opts.preferred_lft = match n.as_str() {
                        "forever" => None,
                        n => n.parse().ok().filter(|&l| l != u32::MAX),
                    };
                }
            }
            "home" => opts.flags |= libc::IFA_F_HOMEADDRESS,
            "mngtmpaddr" => opts.flags |= libc::IFA_F_MANAGETEMPADDR,
            "noprefixroute" => opts.flags |= libc::IFA_F_NOPREFIXROUTE,
            "autojoin" => opts.flags |= libc::IFA_F_MCAUTOJOIN,
            "-nodad" => opts.dad = true,
            _ => {}
        }
    }
    // keepalived's old default: a /128 IPv6 VIP is deprecated (never a
    // source address), a wider one preferred forever.
    if v.address.is_ipv6() && !lft_set && prefix == 128 {
        opts.preferred_lft = Some(0);
    }
    VipPlan {
        addr: v.address,
        prefix,
        dev: v.dev.clone(),
        broadcast,
        scope,
        label: v.label.clone(),
        opts,
        no_track: v.options.iter().any(|o| o == "no_track"),
    }
}

/// The gaps between gratuitous ARPs and between unsolicited NAs on
/// `interface` (keepalived 2.2.7's garp_delay): its `garp_group`'s (the
/// first that names it; an interval the group leaves unset is none; a
/// group naming no interface is the default interface's), else the global
/// `vrrp_garp_interval` / `vrrp_gna_interval`. keepalived paces each
/// interface (a group's `interfaces` together); here each instance paces
/// its own gratuitous ARPs by its interface's values.
fn garp_intervals(config: &Config, interface: &str) -> (Duration, Duration) {
    let g = &config.global_defs;
    let default_if = g.default_interface.as_deref().unwrap_or("eth0");
    let group = config.garp_groups.iter().find(|gg| {
        if gg.interfaces.is_empty() {
            interface == default_if
        } else {
            gg.interfaces.iter().any(|i| i == interface)
        }
    });
    match group {
        Some(gg) => (
            gg.garp_interval.map_or(Duration::ZERO, secs),
            gg.gna_interval.map_or(Duration::ZERO, secs),
        ),
        None => (secs(g.vrrp_garp_interval), secs(g.vrrp_gna_interval)),
    }
}

/// The whole plan. An instance without an interface cannot run: it is
/// left out and named in the returned errors (validation already refused
/// such a file, so this only guards a model built some other way).
pub fn compile(config: &Config) -> (VrrpPlan, Vec<String>) {
    let g = &config.global_defs;
    let mut plan = VrrpPlan {
        instances: Vec::new(),
        link_delays: Vec::new(),
        netlink_cmd_buf: g
            .vrrp_netlink_cmd_rcv_bufs
            .map(|n| (n, g.vrrp_netlink_cmd_rcv_bufs_force)),
        netlink_monitor_buf: g
            .vrrp_netlink_monitor_rcv_bufs
            .map(|n| (n, g.vrrp_netlink_monitor_rcv_bufs_force)),
        groups: config
            .vrrp_sync_groups
            .iter()
            .map(|g| g.name.clone())
            .collect(),
        dynamic_interfaces: g.dynamic_interfaces,
        mcast_group4: g.vrrp_mcast_group4,
        mcast_group6: g.vrrp_mcast_group6,
        firewall: None,
        // (A line that does not parse was reported with its file:line.)
        static_addrs: config
            .static_ipaddress
            .iter()
            .map(|v| {
                let mut p = vip(v);
                p.dev = p.dev.or(g.default_interface.clone());
                p
            })
            .collect(),
        static_routes: config
            .static_routes
            .iter()
            .filter_map(|l| parse_static_route(l).ok())
            .collect(),
        static_rules: config
            .static_rules
            .iter()
            .filter_map(|l| parse_static_rule(l).ok())
            .collect(),
    };
    let mut errors = Vec::new();
    for inst in &config.vrrp_instances {
        match instance(config, inst) {
            Ok(p) => plan.instances.push(p),
            Err(e) => errors.push(format!("({}) {e}", inst.name)),
        }
    }
    default_vmac_names(config, &mut plan);
    plan.firewall = firewall(g, &plan);
    extra_if_announcements(config, &mut plan);
    plan.link_delays = link_delays(config, &plan);
    (plan, errors)
}

/// The instance's share of its receive socket's buffer (keepalived 2.2.7
/// vrrp_scheduler.c): `kernel_rx_buf_size`, else the global policy's size,
/// advert count (an advert's length: IPv4 header and AH included, as
/// vrrp_adv_len counts it) or MTU count.
fn rx_buf(config: &Config, inst: &VrrpInstance, v6: bool) -> keepalived_vrrp::plan::RxBuf {
    use keepalived_config::model::RxBufsPolicy;
    use keepalived_vrrp::plan::RxBuf;
    let g = &config.global_defs;
    let mult = g.vrrp_rx_bufs_multiplier;
    if let Some(n) = inst.kernel_rx_buf_size.filter(|n| *n > 0) {
        return RxBuf::Bytes(u64::from(n));
    }
    match g.vrrp_rx_bufs_policy {
        None => RxBuf::None,
        Some(RxBufsPolicy::Size(n)) => RxBuf::Bytes(u64::from(n)),
        Some(RxBufsPolicy::Mtu) => RxBuf::MtuTimes(mult),
        Some(RxBufsPolicy::Advert) => {
            let v2 = inst.version == 2 && !v6;
            let naddr = inst.virtual_ipaddress.len() as u64;
            let mut len = 8 + naddr * if v6 { 16 } else { 4 } + if v2 { 8 } else { 0 };
            if !v6 {
                len += 20;
                let ah = inst.authentication.as_ref().map(|a| a.auth_type)
                    == Some(keepalived_config::model::AuthType::Ah);
                if ah && v2 {
                    len += 24;
                }
            }
            RxBuf::Bytes(u64::from(mult) * len)
        }
    }
}

/// `interface_up_down_delays`, cut as keepalived 2.2.7 cuts them
/// (vrrp_complete_instance, check_debounce_timers): none with an instance
/// on the interface whose `down_timer_adverts` is 1, and each below
/// (down_timer_adverts - 1) advert intervals of every instance on it, or
/// a backup would take over before this one goes to FAULT.
fn link_delays(config: &Config, plan: &VrrpPlan) -> Vec<keepalived_vrrp::plan::LinkDelay> {
    let mut out = Vec::new();
    for d in &config.interface_up_down_delays {
        let mut down = Duration::from_secs_f64(d.down);
        let mut up = Duration::from_secs_f64(d.up);
        for i in plan.instances.iter().filter(|i| i.interface == d.interface) {
            let dta = i.cfg.down_timer_adverts;
            let adv = i.cfg.advert_int;
            if dta == 1 {
                if !down.is_zero() || !up.is_zero() {
                    log::info!(
                        "{}: cannot use debounce timers with down_timer_adverts = 1 - resetting",
                        i.cfg.name
                    );
                }
                down = Duration::ZERO;
                up = Duration::ZERO;
                continue;
            }
            let limit = adv * (dta - 1);
            if down >= limit || up >= limit {
                log::info!(
                    "{}: interface {} debounce timer(s) not less that {} * advert_int - resetting",
                    i.cfg.name,
                    d.interface,
                    dta - 1
                );
                let cut = limit - adv / 256;
                down = down.min(cut);
                up = up.min(cut);
            }
        }
        if !down.is_zero() || !up.is_zero() {
            out.push(keepalived_vrrp::plan::LinkDelay {
                interface: d.interface.clone(),
                down,
                up,
            });
        }
    }
    out
}

/// `garp_extra_if` / `vrrp_garp_extra_if` (keepalived 2.2.7
/// vrrp_complete_instance, vrrp_send_vmac_update): the first VIP on each
/// interface other than the instance's own that is one of our VMACs (any
/// interface with `all`; the own one too with `vmac_xmit_base`, whose
/// adverts leave from the lower device) is announced every interval while
/// master. None such: off, as keepalived turns it off.
fn extra_if_announcements(config: &Config, plan: &mut VrrpPlan) {
    let g = &config.global_defs;
    let ours: Vec<String> = plan
        .instances
        .iter()
        .filter_map(|i| i.vmac.clone())
        .collect();
    for ip in &mut plan.instances {
        let Some(inst) = config.vrrp_instances.iter().find(|i| i.name == ip.cfg.name) else {
            continue;
        };
        let (secs, all) = match inst.garp_extra_if {
            Some(s) => (s, inst.garp_extra_if_all),
            None => (
                g.vrrp_garp_extra_if.unwrap_or(0),
                inst.garp_extra_if_all || g.vrrp_garp_extra_if_all,
            ),
        };
        if secs == 0 {
            continue;
        }
        let home = ip.vmac.clone().unwrap_or_else(|| ip.interface.clone());
        let mut seen: Vec<String> = Vec::new();
        let mut addrs = Vec::new();
        for v in ip.vips.iter().chain(&ip.excluded) {
            let dev = v.dev.clone().unwrap_or_else(|| home.clone());
            if (!all && !ours.contains(&dev))
                || (dev == home && !ip.vmac_xmit_base)
                || seen.contains(&dev)
            {
                continue;
            }
            seen.push(dev);
            addrs.push(v.addr);
        }
        if !addrs.is_empty() {
            ip.cfg.garp.extra_if_interval = std::time::Duration::from_secs(u64::from(secs));
            ip.cfg.garp.extra_if = addrs;
        }
    }
}

/// The interface an address's own VMAC goes on, if it gets one
/// (keepalived 2.2.7, vrrp_complete_instance): with `use_vmac_addr` or
/// the address's `use_vmac`, an address on another interface than the
/// instance's, or of the other family (on the instance's interface). An
/// address of the instance's family on the instance's interface goes on
/// the instance's VMAC, or on the interface itself. keepalived reports
/// the address's `use_vmac` where it has no effect (config checks).
pub fn addr_vmac_base<'a>(
    inst: &'a VrrpInstance,
    interface: &'a str,
    v6: bool,
    v: &'a VirtualIp,
) -> Option<&'a str> {
    let own = v.options.iter().any(|o| o == "use_vmac");
    let on_primary = v.dev.as_deref().is_none_or(|d| d == interface);
    let same_family = v.address.is_ipv6() == v6;
    if on_primary {
        if inst.use_vmac.is_some() && same_family {
            return None;
        }
        (own || (inst.use_vmac_addr && !same_family)).then_some(interface)
    } else {
        (own || inst.use_vmac_addr).then(|| v.dev.as_deref().unwrap_or(interface))
    }
}

/// keepalived 2.2.7's names for VMACs `use_vmac` does not name
/// (vrrp.c create_vmac_name), in configuration order: `PREFIX.VRID`
/// (`vmac_prefix`, else `vrrp`), and when another instance already uses
/// that, `PREFIX6.VRID` first for IPv6, then `PREFIX1.VRID`, `PREFIX2...`;
/// at most 15 characters (the prefix is cut).
///
/// Then each instance's addresses that get a VMAC of their own
/// ([`addr_vmac_base`]): one already made for the same interface and MAC
/// is shared, else one is named the same way with `vmac_addr_prefix`
/// (else `vmac_prefix`, else `vrrp`); the addresses move onto it and the
/// instance tracks it (unless `no_track`).
fn default_vmac_names(config: &Config, plan: &mut VrrpPlan) {
    let g = &config.global_defs;
    let prefix = g.vmac_prefix.clone().unwrap_or_else(|| "vrrp".into());
    let addr_prefix = g.vmac_addr_prefix.clone().unwrap_or_else(|| prefix.clone());
    let named = |i: &VrrpInstance| match i.ipvlan_parts() {
        Some(p) => p.name,
        None => i.vmac_parts().0,
    };
    let mut used: Vec<String> = config.vrrp_instances.iter().filter_map(named).collect();
    let pick = |used: &mut Vec<String>, prefix: &str, vrid: u8, v6: bool| {
        let name = |num: Option<u32>| {
            let tail = format!("{}.{vrid}", num.map(|n| n.to_string()).unwrap_or_default());
            let keep = 15usize.saturating_sub(tail.len());
            format!("{}{tail}", prefix.chars().take(keep).collect::<String>())
        };
        let mut order: Vec<Option<u32>> = vec![None];
        if v6 {
            order.push(Some(6));
        }
        order.extend((1..100).filter(|n| !(v6 && *n == 6)).map(Some));
        let n = order.into_iter().map(name).find(|n| !used.contains(n))?;
        used.push(n.clone());
        Some(n)
    };
    // Every VMAC so far: name, lower device, MAC.
    let mut made: Vec<AddrVmac> = Vec::new();
    for p in &mut plan.instances {
        let Some(inst) = config.vrrp_instances.iter().find(|i| i.name == p.cfg.name) else {
            continue;
        };
        let vrid = inst.virtual_router_id;
        if p.vmac.is_some() && named(inst).is_none() {
            p.vmac = pick(&mut used, &prefix, vrid, p.v6);
        }
        // (An ipvlan has no MAC of its own to share.)
        if let Some(name) = p.vmac.as_ref().filter(|_| p.ipvlan.is_none()) {
            made.push(AddrVmac {
                name: name.clone(),
                base: p.interface.clone(),
                mac: p.vmac_mac.unwrap_or(virtual_mac(vrid, p.v6)),
                v6: p.v6,
            });
        }
        let configured = inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded);
        let mut moved: Vec<(IpAddr, String, bool)> = Vec::new();
        for v in configured {
            let Some(base) = addr_vmac_base(inst, &p.interface, p.v6, v) else {
                continue;
            };
            let v6 = v.address.is_ipv6();
            let mac = p.vmac_mac.unwrap_or(virtual_mac(vrid, v6));
            let name = match made.iter().find(|m| m.base == base && m.mac == mac) {
                Some(m) => m.name.clone(),
                None => {
                    let Some(name) = pick(&mut used, &addr_prefix, vrid, v6) else {
                        continue;
                    };
                    made.push(AddrVmac {
                        name: name.clone(),
                        base: base.to_string(),
                        mac,
                        v6,
                    });
                    name
                }
            };
            if !p.addr_vmacs.iter().any(|m| m.name == name) {
                if let Some(m) = made.iter().find(|m| m.name == name) {
                    p.addr_vmacs.push(m.clone());
                }
            }
            let track = !v.options.iter().any(|o| o == "no_track");
            moved.push((v.address, name, track));
        }
        for (addr, name, track) in moved {
            for vp in p.vips.iter_mut().chain(p.excluded.iter_mut()) {
                if vp.addr == addr {
                    vp.dev = Some(name.clone());
                }
            }
            if track && !p.track_interfaces.iter().any(|(_, n)| *n == name) {
                p.track_interfaces.push((p.cfg.tracks.len(), name.clone()));
                p.cfg
                    .tracks
                    .push(TrackConfig::new(TrackKind::Interface, &name, 0, false));
            }
        }
    }
}

/// The RFC 5798 §7.3 virtual MAC.
fn virtual_mac(vrid: u8, v6: bool) -> [u8; 6] {
    [0, 0, 0x5e, 0, if v6 { 2 } else { 1 }, vrid]
}

/// keepalived's nftables table: configured (`nftables`, or `vrrp_iptables`,
/// which keepalived 2.2.7 built without iptables turns into nftables), or
/// implied by an instance without accept mode or with `use_vmac` (keepalived
/// logs "use_vmac or no_accept/strict specified, but no firewall
/// configured - using nftables").
fn firewall(g: &keepalived_config::model::GlobalDefs, plan: &VrrpPlan) -> Option<FirewallPlan> {
    let implied = plan
        .instances
        .iter()
        .any(|i| !i.cfg.accept_mode() || (i.vmac.is_some() && i.ipvlan.is_none()));
    if g.nftables.is_none() && g.vrrp_iptables.is_none() && !implied {
        return None;
    }
    let d = FirewallPlan::default();
    Some(FirewallPlan {
        table: g
            .nftables
            .as_ref()
            .and_then(|a| a.first().cloned())
            .unwrap_or(d.table),
        priority: g.nftables_priority.unwrap_or(d.priority),
        counters: g.nftables_counters,
        ifindex: g.nftables_ifindex,
        disable_local_igmp: g.disable_local_igmp,
    })
}

/// keepalived 2.2.7's static_track_group_init: an instance in a
/// `track_group` watches the interface of each static address (`dev`, else
/// the default interface), route (`dev`) and rule (`iif`) naming the
/// group, unless it says `no_track` (keepalived logs "has both
/// track_group and no_track set - not tracking").
fn track_group_devs(config: &Config, instance: &str) -> Vec<String> {
    let in_group = |g: &str| {
        config
            .track_groups
            .iter()
            .any(|t| t.name == g && t.instances.iter().any(|i| i == instance))
    };
    let mut devs = Vec::new();
    for v in &config.static_ipaddress {
        let group = v
            .options
            .iter()
            .position(|o| o == "track_group")
            .and_then(|i| v.options.get(i + 1));
        if group.is_some_and(|g| in_group(g)) && !v.options.iter().any(|o| o == "no_track") {
            devs.extend(
                v.dev
                    .clone()
                    .or(config.global_defs.default_interface.clone()),
            );
        }
    }
    for r in config
        .static_routes
        .iter()
        .filter_map(|l| parse_static_route(l).ok())
    {
        if r.track_group.as_deref().is_some_and(in_group) && !r.no_track {
            devs.extend(r.dev);
        }
    }
    for r in config
        .static_rules
        .iter()
        .filter_map(|l| parse_static_rule(l).ok())
    {
        if r.track_group.as_deref().is_some_and(in_group) && !r.no_track {
            devs.extend(r.iif);
        }
    }
    devs
}

fn instance(config: &Config, inst: &VrrpInstance) -> Result<InstancePlan, String> {
    let g = &config.global_defs;
    let interface = inst
        .interface
        .clone()
        .or_else(|| g.default_interface.clone())
        .ok_or("no interface")?;
    let v6 = inst.native_ipv6
        || inst
            .virtual_ipaddress
            .first()
            .is_some_and(|v| v.address.is_ipv6());
    // keepalived sends from the `use_ipvlan` address when no source is
    // configured (it counts as configured).
    let ipvlan = inst.ipvlan_parts();
    let configured = inst
        .unicast_src_ip
        .or(inst.mcast_src_ip)
        .or(ipvlan.as_ref().and_then(|p| p.addr).map(|a| a.0));
    let unspecified = if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let vips: Vec<VipPlan> = inst.virtual_ipaddress.iter().map(vip).collect();
    let excluded = inst.virtual_ipaddress_excluded.iter().map(vip).collect();
    let mut cfg = InstanceConfig::new(
        &inst.name,
        inst.virtual_router_id,
        configured.unwrap_or(unspecified),
        // One entry per address, as keepalived advertises them.
        {
            let mut seen = Vec::new();
            for v in &vips {
                if !seen.contains(&v.addr) {
                    seen.push(v.addr);
                }
            }
            seen.sort();
            seen
        },
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
    cfg.unicast_checksum = match inst.old_unicast_checksum.as_deref() {
        Some("") => keepalived_vrrp::config::UnicastChecksum::Old,
        Some("never") => keepalived_vrrp::config::UnicastChecksum::Never,
        _ => keepalived_vrrp::config::UnicastChecksum::Auto,
    };
    cfg.strict = inst.strict_mode;
    cfg.skip_check_adv_addr = inst.skip_check_adv_addr;
    cfg.unicast_peers = inst.unicast_peer.iter().map(|p| p.address).collect();
    cfg.peer_ttl = inst
        .unicast_peer
        .iter()
        .filter(|p| p.min_ttl.is_some() || p.max_ttl.is_some())
        .map(|p| (p.address, p.min_ttl.unwrap_or(0), p.max_ttl.unwrap_or(255)))
        .collect();
    cfg.mcast_group = Some(match (inst.mcast_dst_ip, v6) {
        (Some(d), _) if d.is_ipv6() == v6 => d,
        (_, true) => IpAddr::V6(g.vrrp_mcast_group6),
        (_, false) => IpAddr::V4(g.vrrp_mcast_group4),
    });
    // Unicast adverts may be routed (keepalived waives the TTL check for
    // them), so anyone who can route a packet here could force a failover
    // with priority 255 or a split brain with 0. keepalived accepts them
    // from anywhere unless `check_unicast_src`; we only from the configured
    // peers whenever there are peers (a deliberate difference, documented).
    cfg.check_unicast_src = inst.check_unicast_src || !inst.unicast_peer.is_empty();
    cfg.auth = match &inst.authentication {
        Some(a) if a.auth_type == keepalived_config::AuthType::Ah => {
            Auth::ah(a.auth_pass.as_deref().unwrap_or(""))
        }
        Some(a) => Auth::pass(a.auth_pass.as_deref().unwrap_or("")),
        None => Auth::None,
    };
    cfg.lower_prio_no_advert = Some(inst.lower_prio_no_advert);
    cfg.higher_prio_send_advert = inst.higher_prio_send_advert;
    // The instance's own beats the global one (keepalived copies the
    // global into each instance before reading its block).
    cfg.down_timer_adverts = inst
        .down_timer_adverts
        .or(g.vrrp_down_timer_adverts)
        .unwrap_or(3);
    cfg.startup_delay = g.vrrp_startup_delay.map_or(Duration::ZERO, secs);
    cfg.no_peer_fault = inst.unicast_fault_no_peer && inst.unicast_peer.is_empty();
    let (arp_interval, na_interval) = garp_intervals(config, &interface);
    cfg.garp = GarpConfig {
        master_delay: secs(inst.garp_master_delay),
        master_repeat: inst.garp_master_repeat,
        master_refresh: secs(inst.garp_master_refresh),
        master_refresh_repeat: inst.garp_master_refresh_repeat,
        lower_prio_delay: secs(inst.garp_lower_prio_delay),
        lower_prio_repeat: inst.garp_lower_prio_repeat,
        arp_interval,
        na_interval,
        // (Set by extra_if_announcements once every VMAC has its name.)
        extra_if_interval: Duration::ZERO,
        extra_if: Vec::new(),
    };
    let mut watched = Vec::new();
    let mut track_interfaces = Vec::new();
    let sync = config
        .vrrp_sync_groups
        .iter()
        .find(|g| g.group.contains(&inst.name));
    // keepalived's rules for weights a member cannot use: in a sync group
    // without `sync_group_tracking_weight` its own trackers only fail it
    // (weights are zeroed, or the tracker dropped), and an address owner's
    // priority never moves (`-t` reports each of these).
    // (`global_tracking`, deprecated, sets it too in keepalived 2.2.7.)
    let unweighted = sync.is_some_and(|g| !(g.sync_group_tracking_weight || g.global_tracking));
    let owner = inst.priority == keepalived_vrrp::PRIO_OWNER;
    let mut trackers = Vec::new();
    for t in &inst.track_interface {
        let weight = t.weight.unwrap_or(0);
        let weight = match (weight, unweighted, owner) {
            (0, _, _) | (_, false, false) => weight,
            (_, true, _) => 0,
            (_, false, true) => continue,
        };
        trackers.push(TrackConfig::new(
            TrackKind::Interface,
            &t.name,
            weight,
            t.reverse,
        ));
    }
    for t in &inst.track_script {
        let tc = script_tracker(config, t);
        if tc.weight != 0 && (unweighted || owner) {
            continue;
        }
        trackers.push(tc);
    }
    for t in &inst.track_file {
        // An undefined one is ignored, as keepalived does (reported at
        // load: "track file X not found, ignoring...").
        let Some(mut tc) = file_tracker(config, t) else {
            continue;
        };
        if unweighted || owner {
            // 1 is the default weight: keepalived takes it as unweighted.
            match tc.weight {
                0 => {}
                1 => tc.weight = 0,
                _ => continue,
            }
        }
        trackers.push(tc);
    }
    trackers.extend(
        inst.track_process
            .iter()
            .filter_map(|t| process_tracker(config, t)),
    );
    // The group's trackers move every member, with their weights (none
    // when a member is the address owner).
    if let Some(g) = sync {
        let has_owner = config
            .vrrp_instances
            .iter()
            .any(|i| g.group.contains(&i.name) && i.priority == keepalived_vrrp::PRIO_OWNER);
        let mut group = Vec::new();
        for t in &g.track_interface {
            group.push(TrackConfig::new(
                TrackKind::Interface,
                &t.name,
                t.weight.unwrap_or(0),
                t.reverse,
            ));
        }
        group.extend(g.track_script.iter().map(|t| script_tracker(config, t)));
        group.extend(g.track_file.iter().filter_map(|t| file_tracker(config, t)));
        group.extend(
            g.track_process
                .iter()
                .filter_map(|t| process_tracker(config, t)),
        );
        for mut tc in group {
            if has_owner {
                tc.weight = 0;
            }
            trackers.push(tc);
        }
    }
    // keepalived 2.2.7 (vrrp_complete_instance): an instance also watches
    // the interfaces its addresses (`dev`), virtual routes (`dev`) and
    // rules (`iif`/`oif`) use, unless `no_track`: one going down is a
    // fault, as for `track_interface` without a weight.
    let routes: Vec<keepalived_types::route::RouteSpec> = inst
        .virtual_routes
        .iter()
        .filter_map(|l| parse_route(l).ok())
        .collect();
    let rules: Vec<keepalived_types::route::RuleSpec> = inst
        .virtual_rules
        .iter()
        .filter_map(|l| parse_rule(l).ok())
        .collect();
    let static_devs = track_group_devs(config, &inst.name);
    // (An address on a VMAC of its own tracks that VMAC: default_vmac_names.)
    let vip_devs = inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .filter(|v| !v.options.iter().any(|o| o == "no_track"))
        .filter(|v| addr_vmac_base(inst, &interface, v6, v).is_none())
        .filter_map(|v| v.dev.as_deref())
        // The primary is tracked already, or on purpose not at all.
        .filter(|d| *d != interface);
    let route_devs = routes
        .iter()
        .filter(|r| !r.no_track)
        .filter_map(|r| r.dev.as_deref());
    let rule_devs = rules
        .iter()
        .filter(|r| !r.no_track)
        .flat_map(|r| [r.iif.as_deref(), r.oif.as_deref()])
        .flatten();
    for d in vip_devs
        .chain(route_devs)
        .chain(rule_devs)
        .chain(static_devs.iter().map(String::as_str))
    {
        if d == interface && !inst.dont_track_primary {
            continue;
        }
        if !trackers
            .iter()
            .any(|t| t.kind == TrackKind::Interface && t.name == d)
        {
            trackers.push(TrackConfig::new(TrackKind::Interface, d, 0, false));
        }
    }
    for tc in trackers {
        if tc.kind == TrackKind::Interface {
            track_interfaces.push((cfg.tracks.len(), tc.name.clone()));
        } else {
            watched.push(Watched {
                track: cfg.tracks.len(),
                kind: tc.kind,
                name: tc.name.clone(),
            });
        }
        cfg.tracks.push(tc);
    }
    let group = sync.map(|g| g.name.clone());
    // An unnamed VMAC is named by default_vmac_names, which sees every
    // instance (names must not collide).
    let (vmac_name, vmac_mac) = inst.vmac_parts();
    let vmac = match &ipvlan {
        // (With both, keepalived creates the ipvlan.)
        Some(p) => Some(p.name.clone().unwrap_or_default()),
        None => inst
            .use_vmac
            .as_ref()
            .map(|_| vmac_name.unwrap_or_default()),
    };
    let vmac_mac = vmac_mac.filter(|_| ipvlan.is_none());
    let ipvlan = ipvlan.map(|p| keepalived_vrrp::plan::IpvlanPlan {
        flags: p.flags,
        addr: p.addr,
    });
    // (A route or rule line that does not parse was reported with its
    // file:line at load; keepalived skips it too.)
    Ok(InstancePlan {
        cfg,
        src_configured: configured.is_some(),
        interface,
        v6,
        vips,
        excluded,
        watched,
        track_interfaces,
        group,
        vmac_xmit_base: ipvlan.is_none() && inst.use_vmac.is_some() && inst.vmac_xmit_base,
        // Named by default_vmac_names, with the instances' VMACs.
        addr_vmacs: Vec::new(),
        dont_track_primary: inst.dont_track_primary,
        unicast_ttl: inst.unicast_ttl.filter(|_| !inst.unicast_peer.is_empty()),
        promote_secondaries: inst.promote_secondaries && vmac.is_none(),
        track_src_ip: inst.track_src_ip && configured.is_some(),
        rx_buf: rx_buf(config, inst, v6),
        notify_priority_changes: inst
            .notify_priority_changes
            .or(sync.and_then(|s| s.notify_priority_changes))
            .unwrap_or(config.global_defs.vrrp_notify_priority_changes),
        vmac,
        vmac_mac,
        ipvlan,
        debug: inst.debug,
        routes,
        rules,
    })
}

/// A `track_script` reference: its weight, else the script's.
fn script_tracker(config: &Config, t: &TrackRef) -> TrackConfig {
    let script = config.vrrp_scripts.iter().find(|s| s.name == t.name);
    let weight = t.weight.or(script.map(|s| s.weight)).unwrap_or(0);
    let reverse = t.reverse || script.is_some_and(|s| s.weight_reverse);
    let mut tc = TrackConfig::new(TrackKind::Script, &t.name, weight, reverse);
    if script.is_some_and(|s| s.init_fail) {
        tc.initial = TrackStatus::Down;
    }
    tc
}

/// A `track_file` reference: its weight, else the file's.
fn file_tracker(config: &Config, t: &TrackRef) -> Option<TrackConfig> {
    let file = config.track_files.iter().find(|f| f.name == t.name)?;
    let weight = t.weight.unwrap_or(file.weight);
    let reverse = t.reverse || file.weight_reverse;
    let mut tc = TrackConfig::new(TrackKind::File, &t.name, weight, reverse);
    // Until checkerd has read the file, assume the value that changes
    // nothing (keepalived reads it synchronously at start).
    tc.initial = TrackStatus::Value(0);
    Some(tc)
}

/// A `track_process` reference: its weight, else the process's.
fn process_tracker(config: &Config, t: &TrackRef) -> Option<TrackConfig> {
    let proc = config
        .vrrp_track_processes
        .iter()
        .find(|p| p.name == t.name)?;
    let weight = t.weight.unwrap_or(proc.weight);
    let reverse = t.reverse || proc.weight_reverse;
    Some(TrackConfig::new(
        TrackKind::Process,
        &t.name,
        weight,
        reverse,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    fn planned(extra: &str) -> InstancePlan {
        let text = format!(
            "vrrp_instance VI_1 {{\n interface eth9\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {{\n 10.0.0.100\n }}\n{extra}}}\n"
        );
        let c = load_str(&text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let (mut p, errors) = compile(&c);
        assert!(errors.is_empty(), "{errors:?}");
        p.instances.remove(0)
    }

    /// The global `vrrp_down_timer_adverts` and `vrrp_startup_delay` reach
    /// every instance; an instance's own `down_timer_adverts` beats the
    /// global one; `dont_track_primary` reaches vrrpd.
    #[test]
    fn down_timer_adverts_startup_delay_and_dont_track_primary() {
        let text = "global_defs {\n vrrp_down_timer_adverts 7\n vrrp_startup_delay 2.5\n}\n\
                    vrrp_instance A {\n interface eth9\n virtual_router_id 1\n priority 100\n \
                    virtual_ipaddress {\n 10.0.0.100\n }\n}\n\
                    vrrp_instance B {\n interface eth9\n virtual_router_id 2\n priority 100\n \
                    down_timer_adverts 4\n dont_track_primary\n virtual_ipaddress {\n 10.0.0.101\n }\n}\n";
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let (p, errors) = compile(&c);
        assert!(errors.is_empty(), "{errors:?}");
        let (a, b) = (&p.instances[0], &p.instances[1]);
        assert_eq!((a.cfg.down_timer_adverts, b.cfg.down_timer_adverts), (7, 4));
        assert_eq!(a.cfg.startup_delay, Duration::from_millis(2500));
        assert_eq!(b.cfg.startup_delay, Duration::from_millis(2500));
        assert!(!a.dont_track_primary && b.dont_track_primary);
        let plain = planned("");
        assert_eq!(plain.cfg.down_timer_adverts, 3);
        assert!(plain.cfg.startup_delay.is_zero());
    }

    /// `notify_priority_changes`: the instance's own, else its sync
    /// group's, else the global `vrrp_notify_priority_changes`.
    #[test]
    fn notify_priority_changes_precedence() {
        let inst = |name: &str, vrid: u8, extra: &str| {
            format!(
                "vrrp_instance {name} {{\n interface eth9\n virtual_router_id {vrid}\n priority 100\n \
                 virtual_ipaddress {{\n 10.0.0.{vrid}\n }}\n{extra}}}\n"
            )
        };
        let text = format!(
            "global_defs {{\n vrrp_notify_priority_changes\n}}\n\
             vrrp_sync_group G {{\n group {{\n B\n C\n }}\n notify_priority_changes false\n}}\n{}{}{}",
            inst("A", 1, ""),
            inst("B", 2, ""),
            inst("C", 3, " notify_priority_changes true\n"),
        );
        let c = load_str(&text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let (p, errors) = compile(&c);
        assert!(errors.is_empty(), "{errors:?}");
        let flags: Vec<bool> = p
            .instances
            .iter()
            .map(|i| i.notify_priority_changes)
            .collect();
        assert_eq!(flags, vec![true, false, true]);
        assert!(!planned("").notify_priority_changes);
    }

    #[test]
    fn unicast_adverts_only_from_the_peers() {
        assert!(
            !planned("").cfg.check_unicast_src,
            "multicast: no peers to check"
        );
        let p = planned(" unicast_src_ip 10.0.0.1\n unicast_peer {\n 10.0.0.2\n }\n");
        assert!(p.cfg.check_unicast_src, "peers configured: only they count");
        assert!(p.cfg.peer_ttl.is_empty(), "no range given: any TTL");
        let p = planned(
            " unicast_src_ip 10.0.0.1\n unicast_peer {\n 10.0.0.2 min_ttl 250\n 10.0.0.3\n }\n",
        );
        assert_eq!(
            p.cfg.peer_ttl,
            vec![("10.0.0.2".parse::<IpAddr>().unwrap(), 250, 255)]
        );
        assert!(p.src_configured);
        assert_eq!(p.cfg.src_addr, "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn addresses_routes_and_rules_are_parsed_once_here() {
        let p = planned(
            " virtual_ipaddress_excluded {\n 10.0.1.1/24 brd 10.0.1.255 dev eth8 scope link label eth8:1\n }\n \
             virtual_routes {\n 10.1.0.0/16 via 10.0.0.254\n not a route\n }\n \
             virtual_rules {\n from 10.0.0.0/8 table 100\n }\n",
        );
        assert!(!p.src_configured, "the source comes from the interface");
        assert_eq!(p.interface, "eth9");
        assert_eq!(p.vips[0].prefix, 32);
        let x = &p.excluded[0];
        assert_eq!(
            (x.prefix, x.dev.as_deref(), x.scope, x.label.as_deref()),
            (24, Some("eth8"), 253, Some("eth8:1"))
        );
        assert_eq!(x.broadcast, Some("10.0.1.255".parse().unwrap()));
        assert_eq!(p.routes.len(), 1, "the bad line is left out");
        assert_eq!(p.rules.len(), 1);
    }

    fn compiled(text: &str) -> VrrpPlan {
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let (p, errors) = compile(&c);
        assert!(errors.is_empty(), "{errors:?}");
        p
    }

    /// `native_ipv6` after `version 2`: an IPv6 VRRPv3 instance, as
    /// keepalived's handler makes it.
    #[test]
    fn native_ipv6_makes_an_ipv6_vrrpv3_instance() {
        let p = compiled(
            "vrrp_instance VI_1 {\n interface eth0\n version 2\n native_ipv6\n \
             virtual_router_id 1\n priority 100\n advert_int 0.5\n \
             virtual_ipaddress {\n 2001:db8::1/64\n }\n}\n",
        );
        assert!(p.instances[0].v6);
        assert_eq!(p.instances[0].cfg.version, Version::V3);
    }

    /// A tracked process or file that is not defined is ignored, as
    /// keepalived ignores it ("track process X not found, ignoring..."):
    /// the instance still runs (it was left out of the plan).
    #[test]
    fn an_undefined_tracked_process_or_file_is_ignored() {
        let p = compiled(
            "vrrp_sync_group G {\n group {\n VI_1\n }\n track_process {\n nosuch\n }\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n \
             track_process {\n nosuch\n }\n track_file {\n nofile\n }\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
        );
        assert_eq!(p.instances.len(), 1);
        assert!(p.instances[0].cfg.tracks.is_empty());
    }

    /// track_group: an instance of the group watches the interfaces of the
    /// static address (dev), route (dev) and rule (iif) naming it, not
    /// those of `no_track` ones or of another group's.
    #[test]
    fn track_group_instances_watch_the_statics_interfaces() {
        let p = compiled(
            "track_group TG {\n group {\n VI_1\n }\n}\n\
             track_group OTHER {\n group {\n VI_2\n }\n}\n\
             static_ipaddress {\n 10.9.1.5/24 dev eth1 track_group TG\n \
             10.9.2.5/24 dev eth5 track_group TG no_track\n 10.9.3.5/24 dev eth6 track_group OTHER\n}\n\
             static_routes {\n 10.8.0.0/24 via 10.9.1.1 dev eth2 track_group TG\n}\n\
             static_rules {\n from 10.9.0.0/24 table 100 iif eth3 preference 10 track_group TG\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
             vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n priority 100\n \
             virtual_ipaddress {\n 10.0.0.2\n }\n}\n",
        );
        let tracked = |i: usize| -> Vec<String> {
            p.instances[i]
                .track_interfaces
                .iter()
                .map(|(_, n)| n.clone())
                .collect()
        };
        assert_eq!(tracked(0), ["eth1", "eth2", "eth3"]);
        assert_eq!(tracked(1), ["eth6"]);
        let t = &p.instances[0].cfg.tracks[p.instances[0].track_interfaces[0].0];
        assert_eq!(t.weight, 0, "a fault, not a priority change");
        assert!(p.static_addrs[1].no_track);
        assert_eq!(p.static_routes[0].track_group.as_deref(), Some("TG"));
    }

    /// keepalived 2.2.7's default VMAC names (create_vmac_name): one
    /// name for both families, then vrrp6 for IPv6 and vrrpN, and
    /// `vmac_prefix`.
    #[test]
    fn default_vmac_names_follow_keepalived() {
        // (One VRID per interface and family: VI_3 is on eth1.)
        let inst = |n: u8, vip: &str, extra: &str| {
            let ifname = if n == 3 { "eth1" } else { "eth0" };
            format!(
                "vrrp_instance VI_{n} {{\n interface {ifname}\n virtual_router_id 51\n priority 100\n \
                 use_vmac{extra}\n virtual_ipaddress {{\n {vip}\n }}\n}}\n"
            )
        };
        let names = |text: &str| -> Vec<Option<String>> {
            compiled(text)
                .instances
                .iter()
                .map(|i| i.vmac.clone())
                .collect()
        };
        let s = |x: &str| Some(x.to_string());
        assert_eq!(names(&inst(1, "fe80::1/64", "")), vec![s("vrrp.51")]);
        let three = inst(1, "10.0.0.1", "") + &inst(2, "fe80::1/64", "") + &inst(3, "10.0.0.3", "");
        assert_eq!(
            names(&three),
            vec![s("vrrp.51"), s("vrrp6.51"), s("vrrp1.51")]
        );
        // A name given to another instance is taken.
        let named = inst(1, "10.0.0.1", "") + &inst(3, "10.0.0.2", " vrrp.51");
        assert_eq!(names(&named), vec![s("vrrp1.51"), s("vrrp.51")]);
        let prefixed = "global_defs {\n vmac_prefix averyveryverylongname\n}\n".to_string()
            + &inst(1, "10.0.0.1", "");
        assert_eq!(names(&prefixed), vec![s("averyveryver.51")]);
    }

    /// keepalived 2.2.7's address VMACs: `use_vmac_addr` gives an address
    /// on another interface, and one of the other family, a VMAC of its
    /// own (named as instance VMACs, with `vmac_addr_prefix`); an
    /// address's `use_vmac` does it for that address; the instance tracks
    /// the VMAC, not the interface, unless `no_track`; a second address
    /// for the same interface and family shares it.
    #[test]
    fn address_vmacs_follow_keepalived() {
        let text = "global_defs {\n vmac_addr_prefix va\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 51\n priority 100\n \
             use_vmac_addr\n virtual_ipaddress {\n 10.0.0.1/24\n 10.1.0.1/24 dev eth1\n \
             10.1.0.2/24 dev eth1\n }\n virtual_ipaddress_excluded {\n fd00::1/64\n \
             10.2.0.1/24 dev eth2 no_track\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 52\n priority 100\n \
             use_vmac\n virtual_ipaddress {\n 10.0.0.2/24\n 10.3.0.1/24 dev eth3 use_vmac\n \
             10.4.0.1/24 dev eth4\n }\n}\n";
        let p = compiled(text);
        let (a, b) = (&p.instances[0], &p.instances[1]);
        let vmacs = |i: &InstancePlan| -> Vec<(String, String, [u8; 6])> {
            i.addr_vmacs
                .iter()
                .map(|m| (m.name.clone(), m.base.clone(), m.mac))
                .collect()
        };
        let v4 = |vrid| [0, 0, 0x5e, 0, 1, vrid];
        assert_eq!(
            vmacs(a),
            vec![
                ("va.51".into(), "eth1".into(), v4(51)),
                ("va6.51".into(), "eth0".into(), [0, 0, 0x5e, 0, 2, 51]),
                ("va1.51".into(), "eth2".into(), v4(51)),
            ]
        );
        let devs =
            |l: &[VipPlan]| -> Vec<Option<String>> { l.iter().map(|v| v.dev.clone()).collect() };
        let s = |x: &str| Some(x.to_string());
        assert_eq!(devs(&a.vips), vec![None, s("va.51"), s("va.51")]);
        assert_eq!(devs(&a.excluded), vec![s("va6.51"), s("va1.51")]);
        let tracked: Vec<&str> = a.track_interfaces.iter().map(|(_, n)| n.as_str()).collect();
        assert!(
            tracked.contains(&"va.51") && tracked.contains(&"va6.51"),
            "{tracked:?}"
        );
        assert!(
            !tracked.contains(&"eth1") && !tracked.contains(&"va1.51"),
            "{tracked:?}"
        );
        // B: its own VMAC, and one for the address that asks.
        assert_eq!(b.vmac.as_deref(), Some("vrrp.52"));
        assert_eq!(vmacs(b), vec![("va.52".into(), "eth3".into(), v4(52))]);
        assert_eq!(devs(&b.vips), vec![None, s("va.52"), s("eth4")]);
    }

    /// `use_ipvlan` as keepalived 2.2.7 reads it: words in any order, the
    /// first type and address count, an address of the other family is
    /// skipped; the address is the source when none is configured; the
    /// default name is a VMAC's; no virtual MAC, no vmac_xmit_base.
    #[test]
    fn use_ipvlan_plans_as_keepalived_reads_it() {
        let inst = |args: &str, extra: &str| {
            format!(
                "vrrp_instance A {{\n interface eth0\n virtual_router_id 7\n priority 100\n \
                 use_ipvlan {args}\n{extra} virtual_ipaddress {{\n 10.0.0.100/24\n }}\n}}\n"
            )
        };
        let p = compiled(&inst("10.0.0.50/24 vepa ipv1 private fd00::1", ""));
        let a = &p.instances[0];
        assert_eq!(a.vmac.as_deref(), Some("ipv1"));
        let ip = a.ipvlan.as_ref().expect("an ipvlan");
        assert_eq!(ip.flags, 2, "vepa, the first type");
        assert_eq!(ip.addr, Some(("10.0.0.50".parse().unwrap(), 24)));
        assert!(a.src_configured);
        assert_eq!(a.cfg.src_addr, "10.0.0.50".parse::<IpAddr>().unwrap());
        assert_eq!(a.vmac_mac, None);
        let p = compiled(&inst("", " vmac_xmit_base\n mcast_src_ip 10.0.0.9\n"));
        let a = &p.instances[0];
        assert_eq!(a.vmac.as_deref(), Some("vrrp.7"));
        assert_eq!(
            a.ipvlan.as_ref().map(|i| (i.flags, i.addr)),
            Some((0, None))
        );
        assert_eq!(a.cfg.src_addr, "10.0.0.9".parse::<IpAddr>().unwrap());
        assert!(!a.vmac_xmit_base);
        // No firewall for an ipvlan (keepalived's is for macvlans).
        assert!(p.firewall.is_none());
    }

    /// `garp_group`: its interfaces' instances pace by its intervals (one
    /// it leaves unset is none); the others by the global ones; a group
    /// naming no interface is the default interface's.
    #[test]
    fn garp_groups_set_the_pacing_of_their_interfaces() {
        let inst = |n: u8, ifname: &str| {
            format!(
                "vrrp_instance VI_{n} {{\n interface {ifname}\n virtual_router_id {n}\n priority 100\n \
                 virtual_ipaddress {{\n 10.0.{n}.1/24\n }}\n}}\n"
            )
        };
        let text = format!(
            "global_defs {{\n vrrp_garp_interval 0.1\n vrrp_gna_interval 0.2\n default_interface eth2\n}}\n\
             garp_group {{\n garp_interval 0.3\n interface eth1\n}}\n\
             garp_group {{\n gna_interval 0.4\n}}\n{}{}{}",
            inst(1, "eth0"),
            inst(2, "eth1"),
            inst(3, "eth2")
        );
        let p = compiled(&text);
        let gaps: Vec<(u128, u128)> = p
            .instances
            .iter()
            .map(|i| {
                (
                    i.cfg.garp.arp_interval.as_millis(),
                    i.cfg.garp.na_interval.as_millis(),
                )
            })
            .collect();
        assert_eq!(gaps, [(100, 200), (300, 0), (0, 400)]);
    }

    fn tracks(i: &InstancePlan) -> Vec<(TrackKind, String, i32)> {
        i.cfg
            .tracks
            .iter()
            .map(|t| (t.kind, t.name.clone(), t.weight))
            .collect()
    }

    const GROUP: &str = "vrrp_script chk {\n script /bin/true\n weight -20\n init_fail\n}\n\
         vrrp_script grp {\n script /bin/true\n weight -10\n}\n\
         vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_script {\n grp\n }\n \
         track_interface {\n eth7 weight -5\n }\nEXTRA}\n\
         vrrp_instance VI_1 {\n interface eth9\n virtual_router_id 1\n priority 100\n use_vmac\n \
         track_interface {\n eth8 weight 5\n }\n track_script {\n chk\n }\n \
         virtual_ipaddress {\n 10.0.0.100\n }\n}\n\
         vrrp_instance VI_2 {\n interface eth9\n virtual_router_id 2\n priority 100\n \
         virtual_ipaddress {\n 10.0.0.101\n }\n}\n";

    /// keepalived 2.2.7 (vrrp.c, vrrp_complete_instance and
    /// sync_group_tracking_init): a member's own weighted trackers only
    /// fail it unless the group sets sync_group_tracking_weight; the
    /// group's trackers move every member with their weights.
    #[test]
    fn sync_group_trackers_move_every_member() {
        let p = compiled(&GROUP.replace("EXTRA", ""));
        assert_eq!(p.groups, vec!["G".to_string()]);
        let (a, b) = (&p.instances[0], &p.instances[1]);
        assert_eq!(a.group.as_deref(), Some("G"));
        assert_eq!(a.vmac.as_deref(), Some("vrrp.1"));
        let grp = |n: &str, w| (TrackKind::Script, n.to_string(), w);
        let ifc = |n: &str, w| (TrackKind::Interface, n.to_string(), w);
        // eth8's weight zeroed, the weighted chk dropped; the group's two.
        assert_eq!(
            tracks(a),
            vec![ifc("eth8", 0), ifc("eth7", -5), grp("grp", -10)]
        );
        assert_eq!(tracks(b), vec![ifc("eth7", -5), grp("grp", -10)]);
        assert_eq!(
            b.track_interfaces,
            vec![(0, "eth7".to_string())],
            "the group's interface is tracked by vrrpd"
        );
        assert_eq!(b.watched.len(), 1, "the group's script is watched");
        // With sync_group_tracking_weight the member keeps its weights.
        let p = compiled(&GROUP.replace("EXTRA", " sync_group_tracking_weight\n"));
        let a = &p.instances[0];
        assert_eq!(
            tracks(a),
            vec![
                ifc("eth8", 5),
                grp("chk", -20),
                ifc("eth7", -5),
                grp("grp", -10)
            ]
        );
        let chk = &a.cfg.tracks[1];
        assert_eq!(chk.initial, TrackStatus::Down, "init_fail");
        // keepalived 2.2.7's deprecated global_tracking sets the same flag.
        let p = compiled(&GROUP.replace("EXTRA", " global_tracking\n"));
        assert_eq!(tracks(&p.instances[0]), tracks(a));
    }

    #[test]
    fn an_address_owner_never_moves_its_priority() {
        let p = compiled(&GROUP.replace("priority 100\n use_vmac", "priority 255\n use_vmac"));
        // Its own weighted trackers go (the group rule comes first: eth8
        // is zeroed, as keepalived does), and the group's weights are 0
        // for every member.
        assert_eq!(
            tracks(&p.instances[0]),
            vec![
                (TrackKind::Interface, "eth8".into(), 0),
                (TrackKind::Interface, "eth7".into(), 0),
                (TrackKind::Script, "grp".into(), 0)
            ]
        );
        assert!(tracks(&p.instances[1]).iter().all(|t| t.2 == 0));
    }
}
