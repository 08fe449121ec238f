//! What the state machine is told (`Input`) and what it asks for (`Action`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::track::TrackStatus;

/// RFC states; `Init` is also where `Shutdown` leaves an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
}

impl State {
    /// The state as reported (notify scripts, FIFO lines, alerts): an
    /// instance only goes back to Init when it stops (shutdown, or removed
    /// by a reload), which keepalived reports as STOP.
    pub fn reported(self) -> keepalived_types::VrrpState {
        use keepalived_types::VrrpState;
        match self {
            State::Init => VrrpState::Stop,
            State::Backup => VrrpState::Backup,
            State::Master => VrrpState::Master,
            State::Fault => VrrpState::Fault,
        }
    }

    /// keepalived's notify word for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// State recorded by the parent, to restart an instance where it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeState {
    pub state: State,
}

impl ResumeState {
    /// The state to resume in, given what the kernel shows. The kernel is
    /// the witness the parent may have missed: a vrrpd that died just after
    /// becoming master (before the parent heard of it) left all its VIPs in
    /// place, and only a master has them — so a recorded BACKUP holding
    /// every one of its (non-empty) VIPs resumes as MASTER.
    pub fn decide(recorded: State, has_vips: bool, holds_all_vips: bool) -> State {
        if recorded == State::Backup && has_vips && holds_all_vips {
            State::Master
        } else {
            recorded
        }
    }
}

/// A received IP packet carrying (maybe) VRRP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxPacket {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP message (IP payload).
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start from Init (RFC "Startup" event).
    Startup,
    /// Start directly in a recorded state (after a crash of the daemon).
    Resume(ResumeState),
    /// Fire whatever deadlines are due.
    Timer,
    Packet(RxPacket),
    /// A whole IPv4 datagram from a raw socket (parsed here, so that
    /// malformed IP headers are counted like any other drop).
    Ipv4Datagram(Vec<u8>),
    /// Leave: a master sends priority 0 and releases its addresses.
    Shutdown,
    /// The instance's own interface.
    InterfaceUp,
    InterfaceDown,
    /// The address adverts are sent from: a new one (the interface's
    /// address changed), or none (the interface has none, or
    /// `track_src_ip`'s configured one went): FAULT until there is one.
    Source(Option<std::net::IpAddr>),
    /// A tracked object changed; `index` into `InstanceConfig::tracks`.
    Track {
        index: usize,
        status: TrackStatus,
    },
    /// An operator asked (`keepalivedctl garp`): a master sends its
    /// gratuitous ARPs / unsolicited NAs again now, as many as when it
    /// became master; any other state sends nothing.
    Announce,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LogLevel {
    Error,
    Warning,
    Info,
    /// keepalived logs these only with `--log-detail`.
    Debug,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this VRRP message (IP payload) to `dst` with TTL 255; for IPv4
    /// with IP_HDRINCL see [`crate::packet::encode_ipv4_packet`].
    SendAdvert {
        dst: IpAddr,
        priority: u8,
        payload: Vec<u8>,
        /// `auth_type AH`: the sequence number to seal it with
        /// ([`crate::ah::wrap`]).
        ah_seq: Option<u32>,
    },
    /// Add the virtual addresses; `block_traffic` when accept mode is off
    /// (firewall the VIPs, as keepalived's no_accept).
    AddVips {
        addrs: Vec<IpAddr>,
        block_traffic: bool,
    },
    RemoveVips {
        addrs: Vec<IpAddr>,
    },
    /// One gratuitous ARP for this address from the virtual MAC's interface.
    SendGarp(Ipv4Addr),
    /// One unsolicited neighbour advertisement for this address.
    SendNa(Ipv6Addr),
    /// For notify scripts / the parent.
    StateChanged {
        from: State,
        to: State,
    },
    PriorityChanged {
        from: u8,
        to: u8,
    },
    /// A master heard a lower priority (keepalived's
    /// `notify_master_rx_lower_pri`).
    MasterRxLowerPriority {
        from: IpAddr,
        priority: u8,
        /// The master's own (effective) priority.
        ours: u8,
    },
    Log {
        level: LogLevel,
        message: String,
    },
}
