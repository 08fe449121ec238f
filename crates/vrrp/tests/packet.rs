//! Codec golden bytes (hand-computed, cross-checked with an independent
//! checksum below), round trips and each checksum variant.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_vrrp::*;

/// Independent, deliberately naive RFC 1071 checksum for cross-checks.
fn naive_csum(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.concat();
    let mut total: u64 = 0;
    for i in (0..bytes.len()).step_by(2) {
        let hi = bytes[i] as u64;
        let lo = if i + 1 < bytes.len() {
            bytes[i + 1] as u64
        } else {
            0
        };
        total += hi * 256 + lo;
    }
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    !(total as u16)
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v2_advert() -> Advert {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        adver_int: 1,
        auth_type: 0,
        auth_data: [0; 8],
        addrs: vec![v4(192, 168, 200, 16)],
    }
}

fn v3_advert() -> Advert {
    Advert {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        adver_int: 100,
        auth_type: 0,
        auth_data: [0; 8],
        addrs: vec![v4(192, 168, 200, 16)],
    }
}

const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 1));
const GROUP: IpAddr = IpAddr::V4(MCAST_GROUP_V4);
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 2));

fn meta(dst: IpAddr) -> RxMeta {
    RxMeta {
        src: SRC,
        dst,
        ttl: 255,
    }
}

#[test]
fn v2_golden_bytes() {
    let b = encode(&v2_advert(), SRC, GROUP, ChecksumVariant::PseudoHeader).unwrap();
    // 0x2133+0x6401+0x0001+0xc0a8+0xc810 = 0x20ded -> 0x0def -> ~ = 0xf210
    let expect = [
        0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0xf2, 0x10, 192, 168, 200, 16, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(b, expect);
    let mut z = b.clone();
    z[6] = 0;
    z[7] = 0;
    assert_eq!(naive_csum(&[&z]), 0xf210);
    let d = decode(&b, &meta(GROUP)).unwrap();
    assert_eq!(d.advert, v2_advert());
    assert_eq!(d.checksum, ChecksumVariant::V2);
}

#[test]
fn v2_pass_auth_round_trip() {
    let mut a = v2_advert();
    a.auth_type = 1;
    a.auth_data = *b"secret\0\0";
    let b = encode(&a, SRC, GROUP, ChecksumVariant::V2).unwrap();
    assert_eq!(&b[12..], b"secret\0\0");
    assert_eq!(b[4], 1);
    assert_eq!(decode(&b, &meta(GROUP)).unwrap().advert, a);
}

#[test]
fn v3_ipv4_multicast_golden_bytes() {
    let b = encode(&v3_advert(), SRC, GROUP, ChecksumVariant::PseudoHeader).unwrap();
    // msg 0x21e50 + pseudo(192.168.200.1, 224.0.0.18, 112, 12) 0x26937 -> 0x7874
    assert_eq!(
        b,
        [0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x78, 0x74, 192, 168, 200, 16]
    );
    let ph = [192, 168, 200, 1, 224, 0, 0, 18, 0, 112, 0, 12];
    let mut z = b.clone();
    z[6] = 0;
    z[7] = 0;
    assert_eq!(naive_csum(&[&ph, &z]), 0x7874);
    let d = decode(&b, &meta(GROUP)).unwrap();
    assert_eq!(d.advert, v3_advert());
    assert_eq!(d.checksum, ChecksumVariant::PseudoHeader);
    assert_eq!(d.advert.interval(), std::time::Duration::from_secs(1));
}

#[test]
fn v3_ipv4_rfc9568_no_pseudo_header() {
    let b = encode(&v3_advert(), SRC, GROUP, ChecksumVariant::NoPseudoHeader).unwrap();
    assert_eq!(&b[6..8], &[0xe1, 0xad]);
    let d = decode(&b, &meta(GROUP)).unwrap();
    assert_eq!(d.checksum, ChecksumVariant::NoPseudoHeader);
}

#[test]
fn v3_ipv4_unicast_keepalived_and_frr_variants() {
    // keepalived: pseudo-header with the real (unicast) destination.
    let ka = encode(&v3_advert(), SRC, PEER, ChecksumVariant::PseudoHeader).unwrap();
    assert_eq!(&ka[6..8], &[0xcf, 0xdb]);
    assert_eq!(
        decode(&ka, &meta(PEER)).unwrap().checksum,
        ChecksumVariant::PseudoHeader
    );
    // FRR: pseudo-header with 224.0.0.18 even when sent unicast.
    let frr = encode(&v3_advert(), SRC, PEER, ChecksumVariant::GroupPseudoHeader).unwrap();
    assert_eq!(&frr[6..8], &[0x78, 0x74]);
    assert_eq!(
        decode(&frr, &meta(PEER)).unwrap().checksum,
        ChecksumVariant::GroupPseudoHeader
    );
    // RFC 9568.
    let rfc = encode(&v3_advert(), SRC, PEER, ChecksumVariant::NoPseudoHeader).unwrap();
    assert_eq!(
        decode(&rfc, &meta(PEER)).unwrap().checksum,
        ChecksumVariant::NoPseudoHeader
    );
}

#[test]
fn v3_ipv6_golden_checksum() {
    let src: IpAddr = "fe80::1".parse().unwrap();
    let dst = IpAddr::V6(MCAST_GROUP_V6);
    let a = Advert {
        version: Version::V3,
        vrid: 1,
        priority: 100,
        adver_int: 100,
        auth_type: 0,
        auth_data: [0; 8],
        addrs: vec!["fe80::100".parse().unwrap()],
    };
    let b = encode(&a, src, dst, ChecksumVariant::NoPseudoHeader).unwrap();
    assert_eq!(b.len(), 24);
    assert_eq!(&b[6..8], &[0x6c, 0xf9]);
    let m = RxMeta { src, dst, ttl: 255 };
    let d = decode(&b, &m).unwrap();
    assert_eq!(d.advert, a);
    assert_eq!(d.checksum, ChecksumVariant::Ipv6PseudoHeader);
    // No message-only fallback over IPv6.
    let mut bad = b.clone();
    bad[6..8].copy_from_slice(
        &naive_csum(&[&{
            let mut z = b.clone();
            z[6] = 0;
            z[7] = 0;
            z
        }])
        .to_be_bytes(),
    );
    assert_eq!(decode(&bad, &m), Err(DecodeError::BadChecksum));
    let _ = Ipv6Addr::LOCALHOST;
}

#[test]
fn decode_errors() {
    let good = encode(&v3_advert(), SRC, GROUP, ChecksumVariant::PseudoHeader).unwrap();
    let m = meta(GROUP);
    assert_eq!(decode(&good[..7], &m), Err(DecodeError::TooShort));
    assert_eq!(decode(&good[..11], &m), Err(DecodeError::TooShort));
    let mut long = good.clone();
    long.push(0);
    assert_eq!(decode(&long, &m), Err(DecodeError::TooLong));
    let mut ver = good.clone();
    ver[0] = 0x41;
    assert_eq!(decode(&ver, &m), Err(DecodeError::BadVersion));
    let mut ty = good.clone();
    ty[0] = 0x32;
    assert_eq!(decode(&ty, &m), Err(DecodeError::BadType));
    let mut cs = good.clone();
    cs[2] ^= 1;
    assert_eq!(decode(&cs, &m), Err(DecodeError::BadChecksum));
    let mixed = RxMeta {
        src: SRC,
        dst: IpAddr::V6(MCAST_GROUP_V6),
        ttl: 255,
    };
    assert_eq!(decode(&good, &mixed), Err(DecodeError::FamilyMismatch));
}

#[test]
fn v3_reserved_interval_bits_are_ignored() {
    let mut b = encode(&v3_advert(), SRC, GROUP, ChecksumVariant::NoPseudoHeader).unwrap();
    b[4] |= 0xf0;
    b[6] = 0;
    b[7] = 0;
    let c = naive_csum(&[&b]);
    b[6..8].copy_from_slice(&c.to_be_bytes());
    assert_eq!(decode(&b, &meta(GROUP)).unwrap().advert.adver_int, 100);
}

#[test]
fn encode_rejects_bad_input() {
    let mut a = v3_advert();
    a.adver_int = 4096;
    assert_eq!(
        encode(&a, SRC, GROUP, ChecksumVariant::V2),
        Err(EncodeError::IntervalOutOfRange)
    );
    let mut a = v2_advert();
    a.adver_int = 256;
    assert_eq!(
        encode(&a, SRC, GROUP, ChecksumVariant::V2),
        Err(EncodeError::IntervalOutOfRange)
    );
    let mut a = v3_advert();
    a.addrs.push("::1".parse().unwrap());
    assert_eq!(
        encode(&a, SRC, GROUP, ChecksumVariant::V2),
        Err(EncodeError::FamilyMismatch)
    );
    let six: IpAddr = "fe80::1".parse().unwrap();
    let mut a = v2_advert();
    a.addrs = vec![six];
    assert_eq!(
        encode(&a, six, IpAddr::V6(MCAST_GROUP_V6), ChecksumVariant::V2),
        Err(EncodeError::V2OverIpv6)
    );
}

#[test]
fn ipv4_packet_round_trip() {
    let (s, g) = (Ipv4Addr::new(192, 168, 200, 1), MCAST_GROUP_V4);
    let p = encode_ipv4_packet(&v3_advert(), s, g, ChecksumVariant::PseudoHeader).unwrap();
    assert_eq!(p.len(), 32);
    assert_eq!(p[0], 0x45);
    assert_eq!(p[1], 0xc0);
    assert_eq!(p[8], 255);
    assert_eq!(p[9], 112);
    assert_eq!(naive_csum(&[&p[..20]]), 0, "IP header checksum verifies");
    let (m, payload) = parse_ipv4_packet(&p).unwrap();
    assert_eq!(m, meta(GROUP));
    assert_eq!(decode(payload, &m).unwrap().advert, v3_advert());
    let mut ah = p.clone();
    ah[9] = 51;
    assert_eq!(
        parse_ipv4_packet(&ah).unwrap_err(),
        DecodeError::AhUnsupported
    );
    assert_eq!(
        parse_ipv4_packet(&p[..31]).unwrap_err(),
        DecodeError::TooShort
    );
}

#[test]
fn many_addresses_round_trip() {
    let mut a = v3_advert();
    a.addrs = (0..255).map(|i| v4(10, 0, 0, i)).collect();
    let b = encode(&a, SRC, GROUP, ChecksumVariant::PseudoHeader).unwrap();
    assert_eq!(decode(&b, &meta(GROUP)).unwrap().advert, a);
    a.addrs.push(v4(10, 0, 1, 0));
    assert_eq!(
        encode(&a, SRC, GROUP, ChecksumVariant::V2),
        Err(EncodeError::TooManyAddrs)
    );
}
