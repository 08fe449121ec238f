//! VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798/9568),
//! over IPv4 and IPv6.
//!
//! `decode` checks only what the bytes and the IP header can tell (length,
//! version, type, checksum); whether the advert is *ours* (VRID, auth,
//! interval, addresses, TTL) is the instance's business, so that every
//! drop is counted by cause in one place.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::checksum::{self, IPPROTO_VRRP};

/// IPv4 multicast group of VRRP (RFC 3768 5.2.2).
pub const MCAST_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (RFC 5798 5.1.2.2).
pub const MCAST_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every multicast advert is sent and must be received with.
pub const VRRP_TTL: u8 = 255;
/// Fixed header length (both versions).
pub const HEADER_LEN: usize = 8;
/// VRRPv2 trailing authentication data length.
pub const AUTH_LEN: usize = 8;
/// The only packet type defined.
pub const TYPE_ADVERT: u8 = 1;
/// VRRPv2 auth types (RFC 2338 5.3.6; RFC 3768 keeps the field).
pub const AUTH_NONE: u8 = 0;
pub const AUTH_PASS: u8 = 1;
pub const AUTH_AH: u8 = 2;
/// IP protocol number of IPsec AH, which keepalived's `auth_type AH` uses.
pub const IPPROTO_AH: u8 = 51;

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// One decoded (or to-be-encoded) advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in the packet's own unit: whole seconds for
    /// v2 (8 bits), centiseconds for v3 (12 bits, RFC 5798 5.2.7).
    pub adver_int: u16,
    /// v2 only (zero for v3): auth type and the 8 bytes of auth data.
    pub auth_type: u8,
    pub auth_data: [u8; AUTH_LEN],
    /// Virtual addresses, all of the family of the carrying IP packet.
    pub addrs: Vec<IpAddr>,
}

impl Advert {
    /// The interval as a duration, whatever the version's unit.
    pub fn interval(&self) -> std::time::Duration {
        match self.version {
            Version::V2 => std::time::Duration::from_secs(u64::from(self.adver_int)),
            Version::V3 => std::time::Duration::from_millis(u64::from(self.adver_int) * 10),
        }
    }
}

/// Which checksum computation an advert carries. VRRPv3 over IPv4 has
/// three in the field, and a receiver must accept all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChecksumVariant {
    /// VRRPv2: over the VRRP message (with auth data), no pseudo-header.
    V2,
    /// VRRPv3/IPv4 with a pseudo-header holding the actual destination
    /// (keepalived's default; identical to the group one for multicast).
    PseudoHeader,
    /// VRRPv3/IPv4 with a pseudo-header holding 224.0.0.18 whatever the
    /// destination (FRR, and keepalived's old unicast behaviour).
    GroupPseudoHeader,
    /// VRRPv3/IPv4 over the message only (RFC 9568; `v3_checksum_as_v2`).
    NoPseudoHeader,
    /// VRRPv3/IPv6 with the RFC 8200 pseudo-header (the only valid one).
    Ipv6PseudoHeader,
}

impl ChecksumVariant {
    pub const COUNT: usize = 5;
    pub const ALL: [ChecksumVariant; Self::COUNT] = [
        ChecksumVariant::V2,
        ChecksumVariant::PseudoHeader,
        ChecksumVariant::GroupPseudoHeader,
        ChecksumVariant::NoPseudoHeader,
        ChecksumVariant::Ipv6PseudoHeader,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumVariant::V2 => "v2",
            ChecksumVariant::PseudoHeader => "v3-pseudo-header",
            ChecksumVariant::GroupPseudoHeader => "v3-group-pseudo-header",
            ChecksumVariant::NoPseudoHeader => "v3-no-pseudo-header",
            ChecksumVariant::Ipv6PseudoHeader => "v3-ipv6",
        }
    }
}

/// What the IP layer tells about a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

/// A successfully decoded advert and the checksum variant it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub advert: Advert,
    pub checksum: ChecksumVariant,
}

/// Why bytes are not a well-formed advertisement. `as_str`/`index` are
/// stable: counters and logs use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// Fewer bytes than the header, or than the header announces.
    TooShort,
    /// More bytes than the header announces.
    TooLong,
    /// Version field neither 2 nor 3.
    BadVersion,
    /// Type field not ADVERTISEMENT (1).
    BadType,
    /// No accepted checksum variant matches.
    BadChecksum,
    /// Source and destination addresses of different families.
    FamilyMismatch,
    /// IP header unusable (not IPv4, bad IHL) or not protocol VRRP.
    NotVrrp,
    /// Carried in IPsec AH, which is not supported.
    AhUnsupported,
}

impl DecodeError {
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeError::TooShort => "too-short",
            DecodeError::TooLong => "too-long",
            DecodeError::BadVersion => "bad-version",
            DecodeError::BadType => "bad-type",
            DecodeError::BadChecksum => "bad-checksum",
            DecodeError::FamilyMismatch => "family-mismatch",
            DecodeError::NotVrrp => "not-vrrp",
            DecodeError::AhUnsupported => "ah-unsupported",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for DecodeError {}

/// Why an advert cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// An address, src or dst is not of the same family as the others.
    FamilyMismatch,
    /// More than 255 addresses.
    TooManyAddrs,
    /// v2 interval over 255 s, or v3 over 4095 cs.
    IntervalOutOfRange,
    /// VRRPv2 over IPv6 does not exist.
    V2OverIpv6,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::FamilyMismatch => "address family mismatch",
            EncodeError::TooManyAddrs => "more than 255 addresses",
            EncodeError::IntervalOutOfRange => "advert interval out of range",
            EncodeError::V2OverIpv6 => "VRRPv2 cannot be sent over IPv6",
        })
    }
}

impl std::error::Error for EncodeError {}

fn addr_len(v6: bool) -> usize {
    if v6 {
        16
    } else {
        4
    }
}

/// Encodes the VRRP message (no IP header) from `src` to `dst`.
///
/// `variant` picks the VRRPv3-over-IPv4 checksum; for v2 and for IPv6 only
/// one computation is valid and it is used whatever `variant` says.
pub fn encode(
    advert: &Advert,
    src: IpAddr,
    dst: IpAddr,
    variant: ChecksumVariant,
) -> Result<Vec<u8>, EncodeError> {
    let v6 = src.is_ipv6();
    if dst.is_ipv6() != v6 || advert.addrs.iter().any(|a| a.is_ipv6() != v6) {
        return Err(EncodeError::FamilyMismatch);
    }
    let naddr = u8::try_from(advert.addrs.len()).map_err(|_| EncodeError::TooManyAddrs)?;
    let mut buf = Vec::with_capacity(HEADER_LEN + advert.addrs.len() * 16 + AUTH_LEN);
    buf.push((advert.version.number() << 4) | TYPE_ADVERT);
    buf.push(advert.vrid);
    buf.push(advert.priority);
    buf.push(naddr);
    match advert.version {
        Version::V2 => {
            if v6 {
                return Err(EncodeError::V2OverIpv6);
            }
            let int =
                u8::try_from(advert.adver_int).map_err(|_| EncodeError::IntervalOutOfRange)?;
            buf.push(advert.auth_type);
            buf.push(int);
        }
        Version::V3 => {
            if advert.adver_int > 0x0fff {
                return Err(EncodeError::IntervalOutOfRange);
            }
            // The 4 high bits are reserved and sent as zero.
            buf.extend_from_slice(&advert.adver_int.to_be_bytes());
        }
    }
    buf.extend_from_slice(&[0, 0]);
    for a in &advert.addrs {
        match a {
            IpAddr::V4(a) => buf.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => buf.extend_from_slice(&a.octets()),
        }
    }
    if advert.version == Version::V2 {
        buf.extend_from_slice(&advert.auth_data);
    }
    let acc = match (advert.version, src, dst) {
        (Version::V2, _, _) => 0,
        (Version::V3, IpAddr::V6(s), IpAddr::V6(d)) => checksum::pseudo_v6(s, d, buf.len() as u32),
        (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => match variant {
            ChecksumVariant::NoPseudoHeader => 0,
            ChecksumVariant::GroupPseudoHeader => {
                checksum::pseudo_v4(s, MCAST_GROUP_V4, buf.len() as u16)
            }
            _ => checksum::pseudo_v4(s, d, buf.len() as u16),
        },
        _ => return Err(EncodeError::FamilyMismatch),
    };
    let c = checksum::finish(checksum::sum(&buf, acc));
    buf[6..8].copy_from_slice(&c.to_be_bytes());
    Ok(buf)
}

/// Encodes a whole IPv4 datagram (for an `IP_HDRINCL` raw socket).
pub fn encode_ipv4_packet(
    advert: &Advert,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    variant: ChecksumVariant,
) -> Result<Vec<u8>, EncodeError> {
    let payload = encode(advert, IpAddr::V4(src), IpAddr::V4(dst), variant)?;
    Ok(wrap_ipv4(src, dst, &payload))
}

/// Prepends the IPv4 header keepalived sends: TOS 0xc0 (network control),
/// TTL 255, protocol 112, no options, DF clear, header checksum set.
/// `payload` is an encoded VRRP message (at most 1028 + 8 bytes).
pub fn wrap_ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    wrap_ipv4_ttl(src, dst, payload, VRRP_TTL)
}

/// [`wrap_ipv4`] with another TTL (`unicast_ttl`).
pub fn wrap_ipv4_ttl(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8], ttl: u8) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut pkt = Vec::with_capacity(usize::from(total));
    pkt.extend_from_slice(&[0x45, 0xc0]);
    pkt.extend_from_slice(&total.to_be_bytes());
    pkt.extend_from_slice(&[0, 0, 0, 0, ttl, IPPROTO_VRRP, 0, 0]);
    pkt.extend_from_slice(&src.octets());
    pkt.extend_from_slice(&dst.octets());
    let c = checksum::checksum(&pkt);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    pkt.extend_from_slice(payload);
    pkt
}

/// Splits an IPv4 datagram as read from a raw socket into its metadata and
/// VRRP payload. The IP header checksum is the kernel's job.
pub fn parse_ipv4_packet(pkt: &[u8]) -> Result<(RxMeta, &[u8]), DecodeError> {
    if pkt.len() < 20 {
        return Err(DecodeError::TooShort);
    }
    if pkt[0] >> 4 != 4 {
        return Err(DecodeError::NotVrrp);
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(DecodeError::NotVrrp);
    }
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    if total < ihl || pkt.len() < total {
        return Err(DecodeError::TooShort);
    }
    if pkt.len() > total {
        return Err(DecodeError::TooLong);
    }
    match pkt[9] {
        IPPROTO_VRRP => {}
        IPPROTO_AH => return Err(DecodeError::AhUnsupported),
        _ => return Err(DecodeError::NotVrrp),
    }
    let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
    let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
    let meta = RxMeta {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl: pkt[8],
    };
    Ok((meta, &pkt[ihl..total]))
}

/// Decodes and checks a VRRP message (the IP payload).
pub fn decode(bytes: &[u8], meta: &RxMeta) -> Result<Decoded, DecodeError> {
    let v6 = meta.src.is_ipv6();
    if meta.dst.is_ipv6() != v6 {
        return Err(DecodeError::FamilyMismatch);
    }
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::TooShort);
    }
    let version = match bytes[0] >> 4 {
        2 if !v6 => Version::V2,
        3 => Version::V3,
        _ => return Err(DecodeError::BadVersion),
    };
    if bytes[0] & 0x0f != TYPE_ADVERT {
        return Err(DecodeError::BadType);
    }
    let naddr = usize::from(bytes[3]);
    let alen = addr_len(v6);
    let expected = HEADER_LEN + naddr * alen + if version == Version::V2 { AUTH_LEN } else { 0 };
    if bytes.len() < expected {
        return Err(DecodeError::TooShort);
    }
    if bytes.len() > expected {
        return Err(DecodeError::TooLong);
    }
    let variant = verify_checksum(bytes, version, meta)?;
    let (adver_int, auth_type) = match version {
        Version::V2 => (u16::from(bytes[5]), bytes[4]),
        Version::V3 => (u16::from_be_bytes([bytes[4], bytes[5]]) & 0x0fff, 0),
    };
    let addrs = bytes[HEADER_LEN..HEADER_LEN + naddr * alen]
        .chunks_exact(alen)
        .map(|c| match <[u8; 16]>::try_from(c) {
            Ok(o) => IpAddr::V6(Ipv6Addr::from(o)),
            Err(_) => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
        })
        .collect();
    let mut auth_data = [0u8; AUTH_LEN];
    if version == Version::V2 {
        auth_data.copy_from_slice(&bytes[expected - AUTH_LEN..]);
    }
    Ok(Decoded {
        advert: Advert {
            version,
            vrid: bytes[1],
            priority: bytes[2],
            adver_int,
            auth_type,
            auth_data,
            addrs,
        },
        checksum: variant,
    })
}

/// Tries each checksum computation the field uses, most common first.
fn verify_checksum(
    bytes: &[u8],
    version: Version,
    meta: &RxMeta,
) -> Result<ChecksumVariant, DecodeError> {
    let ok = |acc: u32| checksum::finish(checksum::sum(bytes, acc)) == 0;
    match (version, meta.src, meta.dst) {
        (Version::V2, _, _) => ok(0).then_some(ChecksumVariant::V2),
        (Version::V3, IpAddr::V6(s), IpAddr::V6(d)) => {
            ok(checksum::pseudo_v6(s, d, bytes.len() as u32))
                .then_some(ChecksumVariant::Ipv6PseudoHeader)
        }
        (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => {
            let len = bytes.len() as u16;
            if ok(checksum::pseudo_v4(s, d, len)) {
                Some(ChecksumVariant::PseudoHeader)
            } else if d != MCAST_GROUP_V4 && ok(checksum::pseudo_v4(s, MCAST_GROUP_V4, len)) {
                Some(ChecksumVariant::GroupPseudoHeader)
            } else if ok(0) {
                Some(ChecksumVariant::NoPseudoHeader)
            } else {
                None
            }
        }
        _ => None,
    }
    .ok_or(DecodeError::BadChecksum)
}
