//! RFC 1071 internet checksum, and the pseudo-headers VRRPv3 puts in it.

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;

/// Adds `data` to a running one's-complement sum (not yet folded).
///
/// Chaining is only exact when every slice but the last has even length,
/// which holds for the pseudo-headers (12 and 40 bytes).
pub fn sum(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds a running sum and complements it: the value to put in a header.
pub fn finish(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Checksum of `data` alone.
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data, 0))
}

/// Running sum of the IPv4 pseudo-header (src, dst, zero, proto, length).
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> u32 {
    let mut ph = [0u8; 12];
    ph[0..4].copy_from_slice(&src.octets());
    ph[4..8].copy_from_slice(&dst.octets());
    ph[9] = IPPROTO_VRRP;
    ph[10..12].copy_from_slice(&len.to_be_bytes());
    sum(&ph, 0)
}

/// Running sum of the IPv6 pseudo-header (RFC 8200 section 8.1) for VRRP.
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, len: u32) -> u32 {
    pseudo_v6_proto(src, dst, len, IPPROTO_VRRP)
}

/// Same, for another upper-layer protocol (ICMPv6 = 58).
pub fn pseudo_v6_proto(src: Ipv6Addr, dst: Ipv6Addr, len: u32, proto: u8) -> u32 {
    let mut ph = [0u8; 40];
    ph[0..16].copy_from_slice(&src.octets());
    ph[16..32].copy_from_slice(&dst.octets());
    ph[32..36].copy_from_slice(&len.to_be_bytes());
    ph[39] = proto;
    sum(&ph, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: sum of 0001 f203 f4f5 f6f7 is ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(&data, 0)), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0xab]), checksum(&[0xab, 0x00]));
    }

    #[test]
    fn verifying_a_checksummed_buffer_gives_zero() {
        let mut data = vec![0x45, 0x00, 0x12, 0x34, 0x00, 0x00, 0xde, 0xad];
        let c = checksum(&data);
        data[4..6].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }
}
