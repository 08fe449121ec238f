//! `auth_type AH`: VRRPv2 inside an IPsec Authentication Header (RFC 2402)
//! as keepalived 2.2.7 builds and checks it (vrrp.c, vrrp_ipsecah.h) —
//! the only implementation anyone interoperates with:
//!
//! - IPv4 protocol 51; AH of 24 bytes: next header 112, payload length 4,
//!   SPI = the sender's address, a sequence number, and a 96-bit ICV;
//! - ICV = HMAC-MD5 keyed with `auth_pass` (zero-padded to 8 bytes), over
//!   the IP header with TOS, fragment offset and checksum zeroed (and the
//!   TTL, for unicast), the AH with its ICV zeroed, and the VRRP message,
//!   truncated to 12 bytes;
//! - the IP id must be set by the sender (the kernel would fill a zero in
//!   after the ICV was computed).
//!
//! Sequence numbers (replay protection) are the instance's business.

use crate::checksum::IPPROTO_VRRP;
use crate::packet::{RxMeta, IPPROTO_AH};
use hmac::{Hmac, Mac};
use md5::Md5;
use std::net::{IpAddr, Ipv4Addr};

/// Length of keepalived's AH (12 bytes of header, 12 of ICV).
pub const AH_LEN: usize = 24;
/// AH payload length field: (AH length in 32-bit words) - 2.
const AH_PLEN: u8 = 4;
const ICV_LEN: usize = 12;

/// The key: `auth_pass`, zero-padded to 8 bytes.
pub type Key = [u8; 8];

/// Why an AH datagram was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AhError {
    /// Shorter than its headers say, or not IPv4.
    Malformed,
    /// Protocol 112 without AH (the instance expects AH).
    NotAh,
    /// An AH for another protocol: ignored (keepalived drops it silently).
    OtherProtocol,
    /// The ICV does not match: a mutated packet or another password.
    BadIcv,
    /// The SPI is not the source address.
    BadSpi(u32, u32),
}

fn icv(key: &Key, ip: &[u8], rest: &[u8], unicast: bool) -> [u8; ICV_LEN] {
    let mut hdr = ip.to_vec();
    hdr[1] = 0; // TOS
    hdr[6] = 0; // flags + fragment offset
    hdr[7] = 0;
    hdr[10] = 0; // checksum
    hdr[11] = 0;
    if unicast {
        hdr[8] = 0; // TTL
    }
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&hdr);
    // The AH with its ICV zeroed, then the VRRP message.
    mac.update(&rest[..AH_LEN - ICV_LEN]);
    mac.update(&[0; ICV_LEN]);
    mac.update(&rest[AH_LEN..]);
    let d = mac.finalize().into_bytes();
    let mut out = [0; ICV_LEN];
    out.copy_from_slice(&d[..ICV_LEN]);
    out
}

/// How one advert is sealed.
#[derive(Clone, Copy, Debug)]
pub struct Seal<'k> {
    pub ttl: u8,
    /// IP id (0 is sent as 1: the kernel would replace a 0).
    pub id: u16,
    pub seq: u32,
    pub key: &'k Key,
    /// Unicast adverts leave the TTL out of the ICV.
    pub unicast: bool,
}

/// A whole IPv4 datagram (for an `IP_HDRINCL` socket) carrying `vrrp` in
/// keepalived's AH.
pub fn wrap(src: Ipv4Addr, dst: Ipv4Addr, vrrp: &[u8], seal: &Seal) -> Vec<u8> {
    let Seal {
        ttl,
        id,
        seq,
        key,
        unicast,
    } = *seal;
    let total = (20 + AH_LEN + vrrp.len()) as u16;
    let mut p = Vec::with_capacity(usize::from(total));
    p.extend_from_slice(&[0x45, 0xc0]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.max(1).to_be_bytes());
    p.extend_from_slice(&[0, 0, ttl, IPPROTO_AH, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&[IPPROTO_VRRP, AH_PLEN, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0; ICV_LEN]);
    p.extend_from_slice(vrrp);
    let mac = icv(key, &p[..20], &p[20..], unicast);
    p[32..44].copy_from_slice(&mac);
    let c = crate::checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// Check an IPv4 datagram's AH: its metadata, the VRRP message it
/// carries, and its sequence number.
pub fn open<'a>(
    dgram: &'a [u8],
    key: &Key,
    unicast: bool,
) -> Result<(RxMeta, &'a [u8], u32), AhError> {
    if dgram.len() < 20 || dgram[0] >> 4 != 4 {
        return Err(AhError::Malformed);
    }
    let ihl = usize::from(dgram[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([dgram[2], dgram[3]]));
    if ihl < 20 || total < ihl || dgram.len() < total {
        return Err(AhError::Malformed);
    }
    match dgram[9] {
        IPPROTO_AH => {}
        IPPROTO_VRRP => return Err(AhError::NotAh),
        _ => return Err(AhError::Malformed),
    }
    if total < ihl + AH_LEN {
        return Err(AhError::Malformed);
    }
    let ah = &dgram[ihl..total];
    if ah[0] != IPPROTO_VRRP {
        return Err(AhError::OtherProtocol);
    }
    if ah[1] != AH_PLEN {
        return Err(AhError::Malformed);
    }
    let want = icv(key, &dgram[..ihl], ah, unicast);
    // Constant time: no early exit on the first differing byte.
    if ah[12..AH_LEN]
        .iter()
        .zip(want)
        .fold(0, |d, (a, b)| d | (a ^ b))
        != 0
    {
        return Err(AhError::BadIcv);
    }
    let spi = u32::from_be_bytes([ah[4], ah[5], ah[6], ah[7]]);
    let src = u32::from_be_bytes([dgram[12], dgram[13], dgram[14], dgram[15]]);
    if spi != src {
        return Err(AhError::BadSpi(src, spi));
    }
    let seq = u32::from_be_bytes([ah[8], ah[9], ah[10], ah[11]]);
    let meta = RxMeta {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        dst: IpAddr::V4(Ipv4Addr::new(dgram[16], dgram[17], dgram[18], dgram[19])),
        ttl: dgram[8],
    };
    Ok((meta, &ah[AH_LEN..], seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An advert keepalived 2.2.7 sent (tcpdump on the wire): 10.8.0.1 to
    /// 224.0.0.18, VRID 51, priority 150, `auth_pass secret1`, sequence 1.
    const KEEPALIVED: [u8; 64] = [
        0x45, 0xc0, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0xff, 0x33, 0xd0, 0xae, 0x0a, 0x08, 0x00,
        0x01, 0xe0, 0x00, 0x00, 0x12, 0x70, 0x04, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x01, 0x7d, 0x66, 0x84, 0x70, 0x00, 0xf7, 0x90, 0xdc, 0xde, 0xd1, 0xac, 0xb0, 0x21,
        0x33, 0x96, 0x01, 0x02, 0x01, 0x3c, 0x5e, 0x0a, 0x08, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];
    const KEY: Key = *b"secret1\0";

    #[test]
    fn keepalived_s_packet_is_accepted_and_rebuilt_byte_for_byte() {
        let (meta, vrrp, seq) = open(&KEEPALIVED, &KEY, false).unwrap();
        assert_eq!(seq, 1);
        assert_eq!(meta.src, IpAddr::V4(Ipv4Addr::new(10, 8, 0, 1)));
        assert_eq!(vrrp, &KEEPALIVED[44..]);
        let ours = wrap(
            Ipv4Addr::new(10, 8, 0, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            vrrp,
            &Seal {
                ttl: 255,
                id: 1,
                seq: 1,
                key: &KEY,
                unicast: false,
            },
        );
        assert_eq!(ours, KEEPALIVED.to_vec());
    }

    #[test]
    fn a_wrong_password_or_mutated_field_is_refused() {
        assert_eq!(
            open(&KEEPALIVED, b"secret2\0", false).unwrap_err(),
            AhError::BadIcv
        );
        let mut p = KEEPALIVED;
        p[55] ^= 1; // the VIP
        assert_eq!(open(&p, &KEY, false).unwrap_err(), AhError::BadIcv);
        // TOS, TTL (multicast) and checksum are mutable: TOS/checksum are
        // not covered; the TTL is, unless unicast.
        let mut p = KEEPALIVED;
        p[1] = 0;
        p[10] = 0;
        assert!(open(&p, &KEY, false).is_ok());
        let mut p = KEEPALIVED;
        p[8] = 64;
        assert_eq!(open(&p, &KEY, false).unwrap_err(), AhError::BadIcv);
    }

    #[test]
    fn spi_other_protocols_and_truncation() {
        // Re-sign with another SPI: the ICV holds, the SPI does not.
        let mut p = KEEPALIVED.to_vec();
        p[24..28].copy_from_slice(&[10, 8, 0, 9]);
        let mac = icv(&KEY, &p[..20], &p[20..], false);
        p[32..44].copy_from_slice(&mac);
        assert!(matches!(open(&p, &KEY, false), Err(AhError::BadSpi(..))));
        let mut p = KEEPALIVED;
        p[20] = 6;
        assert_eq!(open(&p, &KEY, false).unwrap_err(), AhError::OtherProtocol);
        let mut p = KEEPALIVED;
        p[9] = 112;
        assert_eq!(open(&p, &KEY, false).unwrap_err(), AhError::NotAh);
        for n in [0, 19, 43, 63] {
            assert!(open(&KEEPALIVED[..n], &KEY, false).is_err());
        }
    }

    #[test]
    fn unicast_leaves_the_ttl_out() {
        let p = wrap(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            &KEEPALIVED[44..],
            &Seal {
                ttl: 64,
                id: 7,
                seq: 9,
                key: &KEY,
                unicast: true,
            },
        );
        let mut q = p.clone();
        q[8] = 60; // a router on the way
        let c = crate::checksum::checksum(&{
            let mut h = q[..20].to_vec();
            h[10] = 0;
            h[11] = 0;
            h
        });
        q[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(open(&q, &KEY, true).unwrap().2, 9);
        assert_eq!(open(&q, &KEY, false).unwrap_err(), AhError::BadIcv);
    }
}
