//! The typed model of a keepalived configuration.
//!
//! Plain data only (no locations), so that parse → print → parse and
//! parse → TOML → parse compare equal with `==`. Conventions:
//! - keepalived's defaults are applied while reading (priority 100,
//!   advert_int 1, delay_loop 60, weight 1, connect_timeout 5, ...), and
//!   values an instance inherits from `global_defs` are resolved into it;
//! - timers are `f64` seconds (keepalived's timers have microsecond
//!   resolution and accept fractions, e.g. VRRPv3 `advert_int 0.05`);
//! - keywords keepalived knows but this model does not type are kept,
//!   in order, as raw statements in the `extra` field of their block, so
//!   nothing the operator wrote is lost by printing or converting.

mod global;
mod lvs;
mod vrrp;

pub use global::*;
pub use lvs::*;
pub use vrrp::*;

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub vrrp_track_processes: Vec<VrrpTrackProcess>,
    /// `track_file` blocks (and the deprecated `vrrp_track_file` spelling).
    pub track_files: Vec<TrackFile>,
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `static_ipaddress { }`: addresses set up at start whatever the state.
    pub static_ipaddress: Vec<VirtualIp>,
    /// `static_routes { }`, one iproute2-style line each.
    pub static_routes: Vec<String>,
    /// `static_rules { }`, one iproute2-style line each.
    pub static_rules: Vec<String>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// `net_namespace NAME` (top level).
    pub net_namespace: Option<String>,
    /// `instance NAME` (top level, the first): syslog idents end in
    /// `_NAME`, pid files are `/run/keepalived/keepalived_NAME.pid`...
    pub instance_name: Option<String>,
    /// `use_pid_dir`: pid files in `/run/keepalived/`.
    pub use_pid_dir: bool,
    /// `interface_up_down_delays { IF DOWN [UP] }`: seconds a link change
    /// must last before the instances using IF act on it (UP unset: 0,
    /// as keepalived 2.2.7's parser makes it, whatever its man page says).
    pub interface_up_down_delays: Vec<UpDownDelay>,
    /// `garp_group { }` blocks with a delay set, in order.
    pub garp_groups: Vec<GarpGroup>,
    /// `track_group NAME { group { INSTANCE... } }` (the first of a name).
    pub track_groups: Vec<TrackGroup>,
    /// `notify*` / `quorum_*` scripts written with a user after the script
    /// (`notify_master SCRIPT [USER [GROUP]]`, as keepalived reads it):
    /// script line → "USER [GROUP]".
    pub script_users: std::collections::BTreeMap<String, String>,
    /// The `SSL { }` block: the client certificate SSL_GET presents.
    pub ssl: Option<SslConfig>,
    /// `bgp_announce { }` (keepalived-rs extension).
    pub bgp_announce: Option<BgpAnnounce>,
    /// Other top-level blocks keepalived knows (`linkbeat_interfaces`,
    /// `bfd_instance`, ...), kept raw.
    pub extra: Vec<Stmt>,
}

/// The top-level `SSL { }` block (keepalived's check_parser.c): files the
/// checker loads at start; a second block replaces the first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SslConfig {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
    /// Where the block starts (file:line), for the messages about it
    /// (not part of what the block says).
    #[serde(skip)]
    pub location: String,
}

impl PartialEq for SslConfig {
    fn eq(&self, o: &Self) -> bool {
        (&self.password, &self.ca, &self.certificate, &self.key)
            == (&o.password, &o.ca, &o.certificate, &o.key)
    }
}

impl Config {
    /// The key of every object that gets an id (see `keepalived_types::ids`).
    pub fn object_keys(&self) -> keepalived_types::ids::Keys {
        use keepalived_types::TrackKind;
        keepalived_types::ids::Keys {
            instances: self.vrrp_instances.iter().map(|i| i.name.clone()).collect(),
            groups: self
                .vrrp_sync_groups
                .iter()
                .map(|g| g.name.clone())
                .collect(),
            virtual_servers: self.virtual_servers.iter().map(|v| v.id_key()).collect(),
            real_servers: self
                .virtual_servers
                .iter()
                .flat_map(|v| v.real_servers.iter().map(move |r| (v.id_key(), r.key(v))))
                .collect(),
            trackers: self
                .vrrp_scripts
                .iter()
                .map(|s| (TrackKind::Script, s.name.clone()))
                .chain(
                    self.track_files
                        .iter()
                        .map(|f| (TrackKind::File, f.name.clone())),
                )
                .chain(
                    self.vrrp_track_processes
                        .iter()
                        .map(|p| (TrackKind::Process, p.name.clone())),
                )
                .collect(),
        }
    }
}

/// A keyword with its arguments and optional body, kept as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stmt {
    pub keyword: String,
    pub args: Vec<String>,
    pub block: Option<Vec<Stmt>>,
}

/// A reference to a tracker (`track_script`, `track_interface`, ...) with
/// the optional weight that overrides the tracker's own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackRef {
    pub name: String,
    pub weight: Option<i32>,
    pub reverse: bool,
}

/// One line of `virtual_ipaddress` / `static_ipaddress`:
/// `ADDR[/PREFIX] [dev IF] [label L] [other iproute2 options...]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VirtualIp {
    pub address: IpAddr,
    pub prefix: Option<u8>,
    pub dev: Option<String>,
    pub label: Option<String>,
    /// Remaining options as written (`brd X`, `scope S`, `no_track`, ...).
    #[serde(default)]
    pub options: Vec<String>,
}

/// A `garp_group` (keepalived's vrrp_parser.c): the gaps between
/// gratuitous ARPs / unsolicited NAs on its interfaces (seconds; an unset
/// one is none). No interface named: the default interface.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GarpGroup {
    pub garp_interval: Option<f64>,
    pub gna_interval: Option<f64>,
    pub interfaces: Vec<String>,
}

/// A `track_group` (keepalived's vrrp_static_track.c): its instances
/// watch the interfaces of the static addresses, routes and rules that
/// name the group (`track_group NAME` on their line), as a
/// `track_interface` without a weight: one going down is a fault.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackGroup {
    pub name: String,
    pub instances: Vec<String>,
}

/// One line of `interface_up_down_delays`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpDownDelay {
    pub interface: String,
    /// Seconds, at most 255.
    pub down: f64,
    pub up: f64,
}
