//! Per-instance configuration, with keepalived's defaults and its
//! normalisation rules (which options override which).

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::packet::Version;
use crate::track::TrackConfig;

/// Priority of the address owner.
pub const PRIO_OWNER: u8 = 255;

/// `state` keyword of a vrrp_instance (the shared vocabulary's).
pub use keepalived_types::InitialState;

/// VRRPv2 authentication (v3 has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    None,
    /// `auth_type PASS`: up to 8 bytes, zero padded.
    Pass([u8; 8]),
    /// `auth_type AH`: keepalived's IPsec AH (HMAC-MD5-96), keyed with
    /// `auth_pass` zero-padded to 8 bytes (see [`crate::ah`]).
    Ah([u8; 8]),
}

impl Auth {
    /// Builds a PASS auth from `auth_pass` (keepalived keeps the first 8 bytes).
    pub fn pass(s: &str) -> Auth {
        let mut p = [0u8; 8];
        for (d, s) in p.iter_mut().zip(s.bytes()) {
            *d = s;
        }
        Auth::Pass(p)
    }

    /// Builds an AH auth from `auth_pass` (the same first 8 bytes).
    pub fn ah(s: &str) -> Auth {
        match Auth::pass(s) {
            Auth::Pass(k) => Auth::Ah(k),
            a => a,
        }
    }
}

/// keepalived 2.2.7's unicast VRRPv3/IPv4 checksum modes (built with its
/// OLD_CHKSUM_COMPAT, as Debian's is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnicastChecksum {
    /// The pseudo-header holds the peer's address; an advert that only
    /// checks with the old one (224.0.0.18 whatever the destination)
    /// switches the instance to sending the old one ("Setting unicast
    /// VRRPv3 checksum to old version").
    #[default]
    Auto,
    /// `old_unicast_checksum never`: never switch.
    Never,
    /// `old_unicast_checksum`: always the old one.
    Old,
}

/// Gratuitous ARP / unsolicited NA schedule (keepalived's `vrrp_garp_*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpConfig {
    /// Delay of the second burst after becoming master (`garp_master_delay`, 5 s).
    pub master_delay: Duration,
    /// Messages per address per burst (`garp_master_repeat`, 5).
    pub master_repeat: u32,
    /// Period of refresh bursts while master; zero disables (`garp_master_refresh`).
    pub master_refresh: Duration,
    /// Messages per address per refresh (`garp_master_refresh_repeat`, 1).
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after a lower-priority advert
    /// (`garp_lower_prio_delay`, default `master_delay`; 0 in strict mode).
    pub lower_prio_delay: Duration,
    /// Messages per address on a lower-priority advert
    /// (`garp_lower_prio_repeat`, default `master_repeat`; 0 in strict mode).
    pub lower_prio_repeat: u32,
    /// Minimum gap between two gratuitous ARPs (`vrrp_garp_interval`).
    pub arp_interval: Duration,
    /// Minimum gap between two unsolicited NAs (`vrrp_gna_interval`).
    pub na_interval: Duration,
    /// `garp_extra_if` / `vrrp_garp_extra_if`: while master, one
    /// gratuitous ARP / NA every this long for each of `extra_if` (zero:
    /// off), so switches keep the MACs of interfaces that send no adverts.
    #[serde(default)]
    pub extra_if_interval: Duration,
    /// One VIP per such interface (keepalived sends for the first VIP it
    /// finds on each).
    #[serde(default)]
    pub extra_if: Vec<IpAddr>,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            arp_interval: Duration::ZERO,
            na_interval: Duration::ZERO,
            extra_if_interval: Duration::ZERO,
            extra_if: Vec::new(),
        }
    }
}

/// One vrrp_instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// Instance name, as in keepalived's logs: `(VI_1) ...`.
    pub name: String,
    pub vrid: u8,
    pub version: Version,
    /// Configured priority 1..=255 (255 = address owner).
    pub priority: u8,
    /// `advert_int`: whole seconds for v2, centisecond resolution for v3.
    pub advert_int: Duration,
    /// `state`; `None` derives it from the priority as keepalived does.
    pub initial_state: Option<InitialState>,
    /// `false` = `nopreempt`.
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// `accept` / `no_accept`; `None` = keepalived default (on unless strict).
    pub accept: Option<bool>,
    /// `strict_mode`.
    pub strict: bool,
    /// `skip_check_adv_addr`: don't re-check the address list of adverts
    /// from the current master.
    pub skip_check_adv_addr: bool,
    /// Virtual addresses, all of one family (the instance's family).
    pub vips: Vec<IpAddr>,
    /// Our source address (`mcast_src_ip`/`unicast_src_ip` or the
    /// interface's primary address): used in checksums and tie-breaks.
    pub src_addr: IpAddr,
    /// `unicast_peer`; empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// Multicast destination (`mcast_dst_ip`, `vrrp_mcast_group4/6`);
    /// `None` = 224.0.0.18 / ff02::12. Goes into the v3 pseudo-header too.
    pub mcast_group: Option<IpAddr>,
    /// `check_unicast_src`: drop unicast adverts not from a peer.
    pub check_unicast_src: bool,
    pub auth: Auth,
    /// Adverts missed before Master_Down (`down_timer_adverts`, 3).
    pub down_timer_adverts: u32,
    /// `vrrp_startup_delay`: after a start (not a resume), no takeover
    /// before this much time has passed plus the down timer (keepalived
    /// sets a backup's expiry to the delay's end + Master_Down_Interval,
    /// an owner's to the delay's end).
    #[serde(default)]
    pub startup_delay: Duration,
    /// `unicast_fault_no_peer` without any `unicast_peer`: keepalived puts
    /// the instance in FAULT for good rather than falling back to
    /// multicast.
    #[serde(default)]
    pub no_peer_fault: bool,
    /// `unicast_peer { ADDR min_ttl N max_ttl M }`: the TTL (hop limit)
    /// range a peer's adverts must arrive with; peers not listed accept
    /// any (keepalived's 0..255).
    #[serde(default)]
    pub peer_ttl: Vec<(IpAddr, u8, u8)>,
    /// `lower_prio_no_advert`; `None` = keepalived default (on only in strict).
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert`: a master hearing a higher priority sends
    /// one more advert before stepping down.
    pub higher_prio_send_advert: bool,
    /// `v3_checksum_as_v2`: send RFC 9568 checksums (no pseudo-header) for
    /// VRRPv3 over IPv4. Receiving accepts every variant regardless.
    pub v3_checksum_as_v2: bool,
    /// Unicast VRRPv3 over IPv4: which checksum to send (keepalived's
    /// `old_unicast_checksum`).
    pub unicast_checksum: UnicastChecksum,
    pub garp: GarpConfig,
    pub tracks: Vec<TrackConfig>,
}

impl InstanceConfig {
    /// A config with keepalived's defaults for everything but the identity.
    pub fn new(name: &str, vrid: u8, src_addr: IpAddr, vips: Vec<IpAddr>) -> Self {
        InstanceConfig {
            name: name.to_string(),
            vrid,
            version: Version::V2,
            priority: 100,
            advert_int: Duration::from_secs(1),
            initial_state: None,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: None,
            strict: false,
            skip_check_adv_addr: false,
            vips,
            src_addr,
            unicast_peers: Vec::new(),
            mcast_group: None,
            check_unicast_src: false,
            auth: Auth::None,
            down_timer_adverts: 3,
            startup_delay: Duration::ZERO,
            no_peer_fault: false,
            peer_ttl: Vec::new(),
            lower_prio_no_advert: None,
            higher_prio_send_advert: false,
            v3_checksum_as_v2: false,
            unicast_checksum: UnicastChecksum::Auto,
            garp: GarpConfig::default(),
            tracks: Vec::new(),
        }
    }

    pub fn is_owner(&self) -> bool {
        self.priority == PRIO_OWNER
    }

    /// The packet-unit interval: seconds (v2) or centiseconds (v3).
    pub fn adver_int_units(&self) -> u16 {
        match self.version {
            Version::V2 => self.advert_int.as_secs() as u16,
            Version::V3 => (self.advert_int.as_millis() / 10) as u16,
        }
    }

    /// Whether adverts travel in keepalived's IPsec AH (VRRPv2 only; strict
    /// mode and VRRPv3 ignore authentication).
    pub fn uses_ah(&self) -> bool {
        matches!(self.auth, Auth::Ah(_)) && self.version == Version::V2 && !self.strict
    }

    /// Effective accept mode: owners always accept.
    pub fn accept_mode(&self) -> bool {
        self.is_owner() || self.accept.unwrap_or(!self.strict)
    }

    pub fn lower_prio_no_advert(&self) -> bool {
        self.lower_prio_no_advert.unwrap_or(self.strict)
    }

    /// Checks and normalises as keepalived 2.2.7's vrrp_complete_instance:
    /// hard errors are `Err`, silently corrected options are returned as
    /// warnings (log them).
    pub fn normalize(&mut self) -> Result<Vec<String>, ConfigError> {
        let mut w = Vec::new();
        let n = self.name.clone();
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        let v6 = self.src_addr.is_ipv6();
        if self
            .vips
            .iter()
            .chain(&self.unicast_peers)
            .any(|a| a.is_ipv6() != v6)
        {
            return Err(ConfigError::FamilyMismatch);
        }
        if v6 && self.version == Version::V2 {
            w.push(format!(
                "({n}) VRRPv2 does not support IPv6 - using version 3"
            ));
            self.version = Version::V3;
        }
        if self.vips.len() > 255 {
            return Err(ConfigError::TooManyVips);
        }
        if self.no_peer_fault {
            w.push(format!(
                "({n}) Cannot use unicast without any peers - going to fault state"
            ));
        }
        if self.vips.is_empty() && (self.version == Version::V3 || self.strict) {
            return Err(ConfigError::NoVips);
        }
        match self.version {
            Version::V2 => {
                let s = self.advert_int.as_secs_f64().round().clamp(1.0, 255.0) as u64;
                if Duration::from_secs(s) != self.advert_int {
                    w.push(format!(
                        "({n}) VRRPv2 advert_int must be whole seconds 1..255 - using {s}"
                    ));
                    self.advert_int = Duration::from_secs(s);
                }
            }
            Version::V3 => {
                let cs = (self.advert_int.as_secs_f64() * 100.0)
                    .round()
                    .clamp(1.0, 4095.0) as u64;
                if Duration::from_millis(cs * 10) != self.advert_int {
                    w.push(format!(
                        "({n}) VRRPv3 advert_int rounded to {}.{:02} s",
                        cs / 100,
                        cs % 100
                    ));
                    self.advert_int = Duration::from_millis(cs * 10);
                }
            }
        }
        if self.down_timer_adverts == 0 || self.down_timer_adverts > 100 {
            return Err(ConfigError::DownTimerAdverts);
        }
        if self.strict && self.down_timer_adverts != 3 {
            w.push(format!(
                "({n}) down_timer_adverts is incompatible with strict mode - resetting"
            ));
            self.down_timer_adverts = 3;
        }
        if self.auth != Auth::None {
            if self.strict {
                w.push(format!(
                    "({n}) Strict mode does not support authentication. Ignoring."
                ));
                self.auth = Auth::None;
            } else if self.version == Version::V3 {
                w.push(format!(
                    "({n}) VRRP version 3 does not support authentication. Ignoring."
                ));
                self.auth = Auth::None;
            }
        }
        if self.strict
            && self.initial_state.is_some()
            && (self.initial_state == Some(InitialState::Master)) != self.is_owner()
        {
            w.push(format!("({n}) State MASTER must match being address owner"));
            self.initial_state = None;
        }
        if self.is_owner() && !self.preempt {
            w.push(format!(
                "({n}) nopreempt is incompatible with priority 255. resetting nopreempt"
            ));
            self.preempt = true;
        }
        if self.initial_state == Some(InitialState::Master) {
            if !self.preempt {
                w.push(format!(
                    "({n}) Warning - nopreempt will not work with initial state MASTER - clearing"
                ));
                self.preempt = true;
            }
            if !self.preempt_delay.is_zero() {
                w.push(format!("({n}) Warning - preempt delay will not work with initial state MASTER - clearing"));
                self.preempt_delay = Duration::ZERO;
            }
        }
        if !self.preempt_delay.is_zero() && (self.strict || !self.preempt) {
            w.push(format!(
                "({n}) preempt_delay is incompatible with strict or nopreempt mode - resetting"
            ));
            self.preempt_delay = Duration::ZERO;
        }
        if self.strict {
            if self.lower_prio_no_advert == Some(false) {
                w.push(format!(
                    "({n}) strict mode requires lower_prio_no_advert - setting"
                ));
            }
            self.lower_prio_no_advert = Some(true);
            self.higher_prio_send_advert = false;
            self.garp.lower_prio_repeat = 0;
            self.garp.lower_prio_delay = Duration::ZERO;
        }
        if self.strict
            && self.version == Version::V2
            && self.accept == Some(true)
            && !self.is_owner()
        {
            w.push(format!(
                "({n}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
            ));
            self.accept = Some(false);
        }
        Ok(w)
    }

    /// Whether the instance starts straight as master: keepalived 2.2.7
    /// only does so for the address owner in (possibly derived) state
    /// MASTER; `state MASTER` with a lower priority starts as BACKUP and
    /// waits a full Master_Down_Interval like any backup.
    pub fn starts_as_master(&self) -> bool {
        self.is_owner() && self.initial_state != Some(InitialState::Backup)
    }
}

/// A configuration the instance cannot run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    Vrid,
    Priority,
    FamilyMismatch,
    TooManyVips,
    NoVips,
    DownTimerAdverts,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConfigError::Vrid => "virtual_router_id must be 1..255",
            ConfigError::Priority => "priority must be 1..255",
            ConfigError::FamilyMismatch => "addresses of mixed families",
            ConfigError::TooManyVips => "more than 255 virtual addresses",
            ConfigError::NoVips => "no virtual address; at least one is required",
            ConfigError::DownTimerAdverts => "down_timer_adverts must be 1..100",
        })
    }
}

impl std::error::Error for ConfigError {}
