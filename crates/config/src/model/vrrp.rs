//! VRRP side: scripts, trackers, sync groups, instances.

use super::{Stmt, TrackRef, VirtualIp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `vrrp_script NAME { }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpScript {
    pub name: String,
    /// The command line as keepalived runs it.
    pub script: String,
    /// Seconds between runs (1).
    pub interval: f64,
    /// Seconds before a run counts as failed (unset: the interval).
    pub timeout: Option<f64>,
    /// Priority change while the script fails (or succeeds, if > 0); 0.
    pub weight: i32,
    pub weight_reverse: bool,
    /// Successes needed to be OK (1).
    pub rise: u32,
    /// Failures needed to be KO (1).
    pub fall: u32,
    pub user: Option<String>,
    pub group: Option<String>,
    pub init_fail: bool,
    pub extra: Vec<Stmt>,
}

impl Default for VrrpScript {
    fn default() -> Self {
        VrrpScript {
            name: String::new(),
            script: String::new(),
            interval: 1.0,
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            group: None,
            init_fail: false,
            extra: Vec::new(),
        }
    }
}

/// `vrrp_track_process NAME { }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpTrackProcess {
    pub name: String,
    /// Process name, with its parameters if any.
    pub process: String,
    pub param_match: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    /// Processes needed to be up (1).
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    pub fork_delay: Option<f64>,
    pub terminate_delay: Option<f64>,
    pub delay: Option<f64>,
    pub full_command: bool,
    pub extra: Vec<Stmt>,
}

impl Default for VrrpTrackProcess {
    fn default() -> Self {
        VrrpTrackProcess {
            name: String::new(),
            process: String::new(),
            param_match: None,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: None,
            terminate_delay: None,
            delay: None,
            full_command: false,
            extra: Vec::new(),
        }
    }
}

/// `track_file NAME { }` (also the deprecated `vrrp_track_file`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackFile {
    pub name: String,
    pub file: String,
    /// (1)
    pub weight: i32,
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]` as written.
    pub init_file: Option<Vec<String>>,
    pub extra: Vec<Stmt>,
}

impl Default for TrackFile {
    fn default() -> Self {
        TrackFile {
            name: String::new(),
            file: String::new(),
            weight: 1,
            weight_reverse: false,
            init_file: None,
            extra: Vec::new(),
        }
    }
}

/// `vrrp_sync_group NAME { }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpSyncGroup {
    pub name: String,
    /// Member instance names.
    pub group: Vec<String>,
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub notify_stop: Option<String>,
    pub notify: Option<String>,
    pub smtp_alert: Option<bool>,
    pub global_tracking: bool,
    pub sync_group_tracking_weight: bool,
    /// Members without their own `notify_priority_changes` take this.
    pub notify_priority_changes: Option<bool>,
    pub track_interface: Vec<TrackRef>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub track_process: Vec<TrackRef>,
    pub extra: Vec<Stmt>,
}

/// `state`: shared with the VRRP core.
pub use keepalived_types::InitialState;

/// `auth_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "AH")]
    Ah,
}

/// `authentication { }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// At most 8 characters (keepalived truncates, with a warning).
    pub auth_pass: Option<String>,
}

/// One `unicast_peer` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    #[serde(default)]
    pub min_ttl: Option<u8>,
    #[serde(default)]
    pub max_ttl: Option<u8>,
}

/// `vrrp_instance NAME { }`. Values inherited from `global_defs`
/// (version, GARP timers, strict mode, ...) are already resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpInstance {
    pub name: String,
    /// Initial state as written (unset = BACKUP).
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    /// 1..=255 (0 only in a model that failed validation).
    pub virtual_router_id: u8,
    /// 1..=255; 100 by default, 255 for `state MASTER` with no priority
    /// (as keepalived 2.2.7 does).
    pub priority: u8,
    /// Seconds (1); VRRPv3 has centisecond resolution.
    pub advert_int: f64,
    /// 2 or 3 (global `vrrp_version`, 2).
    pub version: u8,
    pub nopreempt: bool,
    /// Seconds (0).
    pub preempt_delay: f64,
    /// `accept` / `no_accept` (unset: accept, except in strict mode).
    pub accept: Option<bool>,
    pub strict_mode: bool,
    pub skip_check_adv_addr: bool,
    pub check_unicast_src: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub unicast_fault_no_peer: bool,
    /// `old_unicast_checksum [never]`: the word after it ("" for none).
    pub old_unicast_checksum: Option<String>,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddress: Vec<VirtualIp>,
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    pub virtual_routes: Vec<String>,
    pub virtual_rules: Vec<String>,
    pub track_interface: Vec<TrackRef>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub track_process: Vec<TrackRef>,
    pub track_bfd: Vec<TrackRef>,
    pub dont_track_primary: bool,
    /// `native_ipv6` (before any IPv4 address): the instance is IPv6 and
    /// VRRPv3 whatever its addresses (keepalived then refuses IPv4 ones).
    pub native_ipv6: bool,
    /// Unset: `vrrp_down_timer_adverts`, else 3.
    pub down_timer_adverts: Option<u32>,
    /// Unset: the sync group's, else `vrrp_notify_priority_changes`.
    pub notify_priority_changes: Option<bool>,
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub notify_stop: Option<String>,
    pub notify: Option<String>,
    pub notify_master_rx_lower_pri: Option<String>,
    /// `notify_deleted [SCRIPT]`: an instance a reload removes reports
    /// DELETED (and runs SCRIPT), not keepalived's default FAULT.
    pub notify_deleted: bool,
    pub notify_deleted_script: Option<String>,
    pub smtp_alert: Option<bool>,
    /// `use_vmac [NAME]`: `Some("")` for the default name.
    pub use_vmac: Option<String>,
    /// `use_vmac_addr`: addresses on another interface, or of the other
    /// family, get a VMAC of their own.
    pub use_vmac_addr: bool,
    /// `use_ipvlan [NAME] [ADDRESS[/LEN]] [bridge|private|vepa]`, its words
    /// as written (see [`VrrpInstance::ipvlan_parts`]).
    pub use_ipvlan: Option<String>,
    /// `debug 0..4`: shown in the data dump ("Debug level"), as keepalived
    /// 2.2.7 shows it (it changes nothing else there either).
    pub debug: u8,
    pub vmac_xmit_base: bool,
    pub promote_secondaries: bool,
    /// `track_src_ip`: the configured source address going away is a
    /// fault.
    pub track_src_ip: bool,
    /// `garp_extra_if [all] SECS` (0: off; unset: the global one): while
    /// master, a gratuitous ARP / NA every SECS on each other interface a
    /// VIP lives on (VMACs only, unless `all`).
    pub garp_extra_if: Option<u32>,
    pub garp_extra_if_all: bool,
    /// `kernel_rx_buf_size N`: bytes this instance adds to its receive
    /// socket's buffer (beats `vrrp_rx_bufs_policy`).
    pub kernel_rx_buf_size: Option<u32>,
    pub garp_master_delay: f64,
    pub garp_master_repeat: u32,
    pub garp_master_refresh: f64,
    pub garp_master_refresh_repeat: u32,
    pub garp_lower_prio_delay: f64,
    pub garp_lower_prio_repeat: u32,
    /// Other known instance keywords, kept raw.
    pub extra: Vec<Stmt>,
}

impl Default for VrrpInstance {
    fn default() -> Self {
        VrrpInstance {
            name: String::new(),
            state: None,
            interface: None,
            virtual_router_id: 0,
            priority: 100,
            advert_int: 1.0,
            version: 2,
            nopreempt: false,
            preempt_delay: 0.0,
            accept: None,
            strict_mode: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            mcast_src_ip: None,
            mcast_dst_ip: None,
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            unicast_ttl: None,
            unicast_fault_no_peer: false,
            old_unicast_checksum: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
            dont_track_primary: false,
            native_ipv6: false,
            down_timer_adverts: None,
            notify_priority_changes: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            notify_master_rx_lower_pri: None,
            notify_deleted: false,
            notify_deleted_script: None,
            smtp_alert: None,
            use_vmac: None,
            use_vmac_addr: false,
            use_ipvlan: None,
            debug: 0,
            vmac_xmit_base: false,
            promote_secondaries: false,
            track_src_ip: false,
            garp_extra_if: None,
            garp_extra_if_all: false,
            kernel_rx_buf_size: None,
            garp_master_delay: 5.0,
            garp_master_repeat: 5,
            garp_master_refresh: 0.0,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay: 5.0,
            garp_lower_prio_repeat: 5,
            extra: Vec::new(),
        }
    }
}

/// A `use_vmac` MAC word as keepalived 2.2.7 reads it (vrrp_parser.c):
/// six hex octets, or five (with or without a trailing ':'), the sixth
/// being the VRID (`true`). `None` when malformed.
pub fn parse_vmac_mac(s: &str) -> Option<([u8; 6], bool)> {
    if !s.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
        return None;
    }
    let parts: Vec<&str> = s.strip_suffix(':').unwrap_or(s).split(':').collect();
    if !(parts.len() == 5 || parts.len() == 6) || (parts.len() == 6 && s.ends_with(':')) {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some((m, parts.len() == 5))
}

impl VrrpInstance {
    /// `use_vmac [NAME] [MAC]` as keepalived applies it: the interface name
    /// (`None`: its default, `vrrp.VRID`) and the MAC set on it (`None`:
    /// 00:00:5e:00:01:VRID, or :02: for IPv6). A MAC keepalived refuses
    /// (multicast, an RFC 5798 one, or any in strict mode) is not used;
    /// `-t` reports each.
    pub fn ipvlan_parts(&self) -> Option<IpvlanParts> {
        let words = self.use_ipvlan.as_ref()?;
        let v6 = self.virtual_ipaddress.first().map(|a| a.address.is_ipv6());
        let mut p = IpvlanParts::default();
        let mut typed = false;
        for w in words.split_whitespace() {
            let flags = match w {
                "bridge" => Some(0),
                "private" => Some(IPVLAN_F_PRIVATE),
                "vepa" => Some(IPVLAN_F_VEPA),
                _ => None,
            };
            if let Some(f) = flags {
                if !typed {
                    p.flags = f;
                    typed = true;
                }
                continue;
            }
            let (a, len) = w.split_once('/').unwrap_or((w, ""));
            if let Ok(addr) = a.parse::<IpAddr>() {
                let full = if addr.is_ipv4() { 32 } else { 128 };
                let prefix = if len.is_empty() {
                    Some(full)
                } else {
                    len.parse::<u8>().ok().filter(|l| *l <= full)
                };
                // Another family than the instance's is skipped (-t says so).
                if let (None, Some(prefix)) = (p.addr, prefix) {
                    if v6.is_none_or(|v6| v6 == addr.is_ipv6()) {
                        p.addr = Some((addr, prefix));
                    }
                }
                continue;
            }
            if p.name.is_none() && w.len() < 16 {
                p.name = Some(w.to_string());
            }
        }
        Some(p)
    }

    pub fn vmac_parts(&self) -> (Option<String>, Option<[u8; 6]>) {
        let Some(words) = &self.use_vmac else {
            return (None, None);
        };
        let mut name = None;
        let mut mac = None;
        for w in words.split_whitespace().take(2) {
            if w.contains(':') {
                if mac.is_some() {
                    continue;
                }
                if let Some((mut m, use_vrid)) = parse_vmac_mac(w) {
                    if use_vrid {
                        m[5] = self.virtual_router_id;
                    }
                    let rfc = m[..4] == [0, 0, 0x5e, 0] && (m[4] == 1 || m[4] == 2);
                    if m[0] & 1 == 0 && !rfc && !self.strict_mode {
                        mac = Some(m);
                    }
                }
            } else if name.is_none() {
                name = Some(w.to_string());
            }
        }
        (name, mac)
    }
}

/// `IFLA_IPVLAN_FLAGS` of `use_ipvlan ... private` and `... vepa`.
pub const IPVLAN_F_PRIVATE: u16 = 0x01;
pub const IPVLAN_F_VEPA: u16 = 0x02;

/// `use_ipvlan` as keepalived 2.2.7 reads it (vrrp_parser.c): the
/// interface name (else the default VMAC name), the address it gets and
/// sends from (an IPv4 instance needs one), and its mode's flags (bridge
/// by default); a second type or address is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpvlanParts {
    pub name: Option<String>,
    pub addr: Option<(IpAddr, u8)>,
    pub flags: u16,
}
