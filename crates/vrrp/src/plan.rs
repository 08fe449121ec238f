//! vrrpd's typed plan: every instance compiled by the parent from the
//! validated configuration (timers, authentication, addresses, routes,
//! rules, trackers with their weights), so vrrpd never sees configuration
//! text. What only the host can tell — interface indexes, the MAC, the
//! source address when none is configured — vrrpd resolves against the
//! kernel when it runs the plan.

use crate::config::InstanceConfig;
use keepalived_types::route::{RouteSpec, RuleSpec};
use keepalived_types::TrackKind;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How to add one virtual address, short of the device's index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipPlan {
    pub addr: IpAddr,
    pub prefix: u8,
    /// `dev X`: the interface it goes on (else the instance's, or its VMAC).
    pub dev: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    /// RT_SCOPE_* value (0 universe, 253 link, 254 host).
    pub scope: u8,
    pub label: Option<String>,
    /// The options after them (`home`, `-nodad`, `peer`, `preferred_lft`...).
    pub opts: AddrOptions,
    /// `no_track`: a deletion is not acted on (a static address is not
    /// put back). vrrpd reads it for static addresses only: it does not
    /// act on a virtual address's deletion at all yet (migration.md §5).
    #[serde(default)]
    pub no_track: bool,
}

/// keepalived 2.2.7's address options: shared with the rtnetlink crate
/// that writes them.
pub use keepalived_types::AddrOptions;

/// A tracker checkerd watches for this instance: its index in
/// `cfg.tracks`, its kind and name (the parent's tracker id follows from
/// these).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    pub track: usize,
    pub kind: TrackKind,
    pub name: String,
}

/// A VMAC made for addresses on `base` (keepalived 2.2.7's
/// vrrp_complete_instance): the family's virtual MAC (or the instance's
/// `use_vmac` MAC), IPv6 ones with the lower device's link-local address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrVmac {
    pub name: String,
    pub base: String,
    pub mac: [u8; 6],
    pub v6: bool,
}

/// `use_ipvlan` (keepalived 2.2.7, netlink_link_add_ipvlan): an L2
/// ipvlan on the instance's interface with these `IFLA_IPVLAN_FLAGS`
/// (bridge 0, private, vepa), holding `addr` (the instance's source
/// address unless one is configured). It shares the lower device's MAC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvlanPlan {
    pub flags: u16,
    pub addr: Option<(IpAddr, u8)>,
}

/// One `vrrp_instance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancePlan {
    /// What the core runs. `cfg.src_addr` is the configured source
    /// (`unicast_src_ip` / `mcast_src_ip`) when `src_configured`, else the
    /// unspecified address of the family, to be taken from the interface.
    pub cfg: InstanceConfig,
    pub src_configured: bool,
    /// The interface (`interface`, else `default_interface`).
    pub interface: String,
    /// The address family (that of the first virtual address).
    pub v6: bool,
    pub vips: Vec<VipPlan>,
    /// `virtual_ipaddress_excluded`.
    pub excluded: Vec<VipPlan>,
    /// Trackers checkerd watches (scripts, files, processes).
    pub watched: Vec<Watched>,
    /// Tracked interfaces: index in `cfg.tracks` and interface name.
    pub track_interfaces: Vec<(usize, String)>,
    /// The sync group it belongs to.
    pub group: Option<String>,
    /// `use_vmac`: the macvlan's name.
    pub vmac: Option<String>,
    /// `use_vmac ... MAC`: the macvlan's address, when not the RFC's
    /// 00:00:5e:00:01:VRID (:02: for IPv6).
    #[serde(default)]
    pub vmac_mac: Option<[u8; 6]>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `debug`: shown in the data dump.
    #[serde(default)]
    pub debug: u8,
    /// `use_ipvlan`: `vmac` names an L2 ipvlan, not a macvlan.
    #[serde(default)]
    pub ipvlan: Option<IpvlanPlan>,
    /// VMACs made for addresses (`use_vmac_addr`, an address's own
    /// `use_vmac`): the addresses' `dev` names them.
    #[serde(default)]
    pub addr_vmacs: Vec<AddrVmac>,
    /// `dont_track_primary`: its own interface going down or up is not a
    /// fault (keepalived does not track it).
    #[serde(default)]
    pub dont_track_primary: bool,
    /// `notify_priority_changes` (the instance's, else its sync group's,
    /// else `vrrp_notify_priority_changes`): priority changes go to the
    /// notify FIFOs.
    #[serde(default)]
    pub notify_priority_changes: bool,
    /// `unicast_ttl`: the TTL (hop limit) of adverts to unicast peers
    /// (unset: 255; keepalived resets it without peers).
    #[serde(default)]
    pub unicast_ttl: Option<u8>,
    /// `promote_secondaries` (not with a VMAC: keepalived ignores it there,
    /// the VMAC has it set).
    #[serde(default)]
    pub promote_secondaries: bool,
    /// `track_src_ip`: the configured source address going away is a
    /// fault (keepalived clears it without a configured one).
    #[serde(default)]
    pub track_src_ip: bool,
    /// What the instance adds to its receive socket's buffer
    /// (`kernel_rx_buf_size`, `vrrp_rx_bufs_policy`).
    #[serde(default)]
    pub rx_buf: RxBuf,
    /// `virtual_routes` / `virtual_rules`, each parsed once by the parent
    /// (a line that did not parse was reported with its file:line there
    /// and is not in the plan).
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
}

/// An instance's share of its receive socket's buffer; the socket gets
/// the sum over its instances (none: the kernel's default), as keepalived
/// 2.2.7 sizes it (vrrp_scheduler.c).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RxBuf {
    #[default]
    None,
    Bytes(u64),
    /// Times the interface's MTU (known to vrrpd only).
    MtuTimes(u32),
}

/// `interface_up_down_delays`: how long a link change of `interface` must
/// last before instances act on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDelay {
    pub interface: String,
    pub down: std::time::Duration,
    pub up: std::time::Duration,
}

/// What vrrpd runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VrrpPlan {
    pub instances: Vec<InstancePlan>,
    /// `interface_up_down_delays`, already cut to what the instances on
    /// each interface allow.
    #[serde(default)]
    pub link_delays: Vec<LinkDelay>,
    /// `vrrp_netlink_cmd_rcv_bufs[_force]`: the rtnetlink request
    /// socket's receive buffer (bytes, forced past rmem_max).
    #[serde(default)]
    pub netlink_cmd_buf: Option<(u32, bool)>,
    /// `vrrp_netlink_monitor_rcv_bufs[_force]`: the monitor socket's.
    #[serde(default)]
    pub netlink_monitor_buf: Option<(u32, bool)>,
    /// Sync groups by name, in configuration order (members name their
    /// group in `InstancePlan::group`).
    pub groups: Vec<String>,
    /// `dynamic_interfaces`: an instance whose interface does not exist
    /// (yet, or any more) waits for it in FAULT, and runs when it appears.
    #[serde(default)]
    pub dynamic_interfaces: bool,
    /// `vrrp_mcast_group4` / `vrrp_mcast_group6`: the groups the receive
    /// sockets join when an instance names none.
    pub mcast_group4: Ipv4Addr,
    pub mcast_group6: Ipv6Addr,
    /// keepalived's nftables table for instances without accept mode
    /// (`nftables`, or implied by `no_accept` / `vrrp_strict`).
    pub firewall: Option<FirewallPlan>,
    /// `static_ipaddress` (each with its device: its own `dev`, else
    /// `default_interface`), `static_routes`, `static_rules`: set up while
    /// vrrpd runs, whatever the instances' states.
    #[serde(default)]
    pub static_addrs: Vec<VipPlan>,
    #[serde(default)]
    pub static_routes: Vec<RouteSpec>,
    #[serde(default)]
    pub static_rules: Vec<RuleSpec>,
}

/// global_defs `nftables [NAME]`, `nftables_priority`,
/// `nftables_counters`, `nftables_ifindex`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallPlan {
    pub table: String,
    pub priority: i32,
    pub counters: bool,
    /// Link-local addresses are always matched by interface index (else
    /// by name for instances that do not track their interface).
    pub ifindex: bool,
    /// `disable_local_igmp`: IPv4 VMACs stay out of the VMAC map.
    pub disable_local_igmp: bool,
}

impl Default for FirewallPlan {
    fn default() -> Self {
        FirewallPlan {
            table: "keepalived".into(),
            priority: -1,
            counters: false,
            ifindex: false,
            disable_local_igmp: false,
        }
    }
}

impl Default for VrrpPlan {
    fn default() -> Self {
        VrrpPlan {
            instances: Vec::new(),
            link_delays: Vec::new(),
            netlink_cmd_buf: None,
            netlink_monitor_buf: None,
            groups: Vec::new(),
            dynamic_interfaces: false,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            firewall: None,
            static_addrs: Vec::new(),
            static_routes: Vec::new(),
            static_rules: Vec::new(),
        }
    }
}
