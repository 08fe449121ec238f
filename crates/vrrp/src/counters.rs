//! Per-instance statistics, in particular drops by cause and which VRRPv3
//! checksum variant each peer sends (to follow a migration).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::packet::{ChecksumVariant, DecodeError};

/// Why a received packet was dropped. Indices and names are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropCause {
    TooShort,
    TooLong,
    BadVersion,
    BadType,
    BadChecksum,
    FamilyMismatch,
    NotVrrp,
    AhUnsupported,
    BadTtl,
    WrongVrid,
    InvalidAuthType,
    AuthTypeMismatch,
    AuthFailure,
    IntervalMismatch,
    InvalidInterval,
    AddrCountMismatch,
    AddrListMismatch,
    NotUnicastPeer,
    WrongDestination,
    OwnAddress,
}

impl DropCause {
    pub const COUNT: usize = 20;
    pub const ALL: [DropCause; Self::COUNT] = [
        DropCause::TooShort,
        DropCause::TooLong,
        DropCause::BadVersion,
        DropCause::BadType,
        DropCause::BadChecksum,
        DropCause::FamilyMismatch,
        DropCause::NotVrrp,
        DropCause::AhUnsupported,
        DropCause::BadTtl,
        DropCause::WrongVrid,
        DropCause::InvalidAuthType,
        DropCause::AuthTypeMismatch,
        DropCause::AuthFailure,
        DropCause::IntervalMismatch,
        DropCause::InvalidInterval,
        DropCause::AddrCountMismatch,
        DropCause::AddrListMismatch,
        DropCause::NotUnicastPeer,
        DropCause::WrongDestination,
        DropCause::OwnAddress,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DropCause::TooShort => "too-short",
            DropCause::TooLong => "too-long",
            DropCause::BadVersion => "bad-version",
            DropCause::BadType => "bad-type",
            DropCause::BadChecksum => "bad-checksum",
            DropCause::FamilyMismatch => "family-mismatch",
            DropCause::NotVrrp => "not-vrrp",
            DropCause::AhUnsupported => "ah-unsupported",
            DropCause::BadTtl => "bad-ttl",
            DropCause::WrongVrid => "wrong-vrid",
            DropCause::InvalidAuthType => "invalid-auth-type",
            DropCause::AuthTypeMismatch => "auth-type-mismatch",
            DropCause::AuthFailure => "auth-failure",
            DropCause::IntervalMismatch => "interval-mismatch",
            DropCause::InvalidInterval => "invalid-interval",
            DropCause::AddrCountMismatch => "addr-count-mismatch",
            DropCause::AddrListMismatch => "addr-list-mismatch",
            DropCause::NotUnicastPeer => "not-unicast-peer",
            DropCause::WrongDestination => "wrong-destination",
            DropCause::OwnAddress => "own-address",
        }
    }
}

impl From<DecodeError> for DropCause {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TooShort => DropCause::TooShort,
            DecodeError::TooLong => DropCause::TooLong,
            DecodeError::BadVersion => DropCause::BadVersion,
            DecodeError::BadType => DropCause::BadType,
            DecodeError::BadChecksum => DropCause::BadChecksum,
            DecodeError::FamilyMismatch => DropCause::FamilyMismatch,
            DecodeError::NotVrrp => DropCause::NotVrrp,
            DecodeError::AhUnsupported => DropCause::AhUnsupported,
        }
    }
}

/// Peers tracked for checksum variants; more are not recorded, so spoofed
/// sources cannot grow memory without bound.
pub const MAX_CHECKSUM_PEERS: usize = 64;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub packets_received: u64,
    /// Valid adverts (passed every check).
    pub adverts_received: u64,
    pub adverts_sent: u64,
    pub pri_zero_received: u64,
    pub pri_zero_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    /// Lower priority adverts not answered (one answer per advert interval).
    pub lower_prio_unanswered: u64,
    /// Indexed by `DropCause::index`.
    pub drops: [u64; DropCause::COUNT],
    /// Valid adverts per source, indexed by `ChecksumVariant::index`.
    pub checksum_by_peer: BTreeMap<IpAddr, [u64; ChecksumVariant::COUNT]>,
}

impl Counters {
    pub fn dropped(&self, cause: DropCause) -> u64 {
        self.drops[cause.index()]
    }

    pub fn total_dropped(&self) -> u64 {
        self.drops.iter().sum()
    }

    pub(crate) fn record_checksum(&mut self, peer: IpAddr, v: ChecksumVariant) {
        // (One lookup for a known peer: this runs for every advert.)
        if let Some(by) = self.checksum_by_peer.get_mut(&peer) {
            by[v.index()] += 1;
        } else if self.checksum_by_peer.len() < MAX_CHECKSUM_PEERS {
            self.checksum_by_peer.entry(peer).or_default()[v.index()] += 1;
        }
    }
}
