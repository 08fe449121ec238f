//! Sans-IO VRRP (RFC 3768 / RFC 5798 / RFC 9568) for keepalived-rs.
//!
//! No sockets, threads or clocks here: the daemon feeds [`Input`]s with the
//! current [`std::time::Instant`] and performs the returned [`Action`]s, then
//! sleeps until [`Instance::next_deadline`]. That makes every timer exact
//! and every behaviour testable by replay.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::Instant;
//! use keepalived_vrrp::{Action, Input, Instance, InstanceConfig};
//!
//! let src = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1));
//! let vip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 100));
//! let mut cfg = InstanceConfig::new("VI_1", 51, src, vec![vip]);
//! cfg.priority = 255; // address owner: master at once
//! let mut vrrp = Instance::new(cfg).unwrap();
//! let now = Instant::now();
//! for action in vrrp.handle(Input::Startup, now) {
//!     match action {
//!         Action::SendAdvert { dst, payload, .. } => { /* sendto(dst) with TTL 255 */ }
//!         Action::AddVips { addrs, .. } => { /* netlink */ }
//!         Action::SendGarp(ip) => { /* ARP frame from the VMAC */ }
//!         Action::Log { level, message } => { /* "(VI_1) Entering MASTER STATE" */ }
//!         _ => {}
//!     }
//! }
//! // Poll until the earliest deadline, then feed Input::Timer (or a packet).
//! let wake = vrrp.next_deadline().unwrap();
//! assert_eq!(wake, now + std::time::Duration::from_secs(1));
//! vrrp.handle(Input::Timer, wake);
//! ```
//!
//! Deliberate differences from keepalived 2.2.7 (everything else, including
//! log phrases, follows it):
//! - a dropped packet changes nothing but counters: keepalived re-armed the
//!   master's advert timer on *any* received packet, so junk at a higher
//!   rate than advert_int silenced the master;
//! - drops are logged once per cause at Info, then at Debug;
//! - a master's lower-priority GARP burst is not repeated while the
//!   previous burst's delayed repeat is pending (no GARP storm);
//! - GARP/NA pacing (`vrrp_garp_interval`) is per instance, not per
//!   interface;
//! - `Input::Resume` restarts an instance in a recorded state (a master
//!   keeps its VIPs and advertises at once);
//! - every VRRPv3/IPv4 checksum variant is accepted and counted per peer.
#![forbid(unsafe_code)]

pub mod action;
pub mod ah;
pub mod checksum;
pub mod config;
pub mod counters;
pub mod frames;
mod garp;
pub mod instance;
pub mod mac;
pub mod packet;
pub mod plan;
pub mod sync_group;
pub mod timers;
pub mod track;

pub use action::{Action, Input, LogLevel, ResumeState, RxPacket, State};
pub use config::{Auth, ConfigError, GarpConfig, InitialState, InstanceConfig, PRIO_OWNER};
pub use counters::{Counters, DropCause};
pub use instance::{Instance, Status};
pub use mac::virtual_mac;
pub use packet::{
    decode, encode, encode_ipv4_packet, parse_ipv4_packet, wrap_ipv4, Advert, ChecksumVariant,
    DecodeError, Decoded, EncodeError, RxMeta, Version, MCAST_GROUP_V4, MCAST_GROUP_V6,
};
pub use sync_group::SyncGroup;
pub use track::{TrackConfig, TrackKind, TrackStatus};
