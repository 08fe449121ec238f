//! Fuzzes the VRRP decoder: no input may panic, whatever decodes must
//! re-encode to something that decodes to the same advert, and a packet
//! an instance drops must not move any of its timers.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use keepalived_vrrp::{
    decode, encode, parse_ipv4_packet, Input, Instance, InstanceConfig, RxMeta, RxPacket, Version,
    MCAST_GROUP_V4, MCAST_GROUP_V6,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    // Whole IPv4 datagram, as read from a raw socket.
    if let Ok((meta, payload)) = parse_ipv4_packet(rest) {
        check(payload, &meta, sel);
    }
    // keepalived's AH: the ICV check, then an AH instance fed the datagram
    // (random bytes stop at the ICV; a panic anywhere before is a bug).
    let _ = keepalived_vrrp::ah::open(rest, b"kars-ah1", sel & 8 != 0);
    let mut ah_cfg = InstanceConfig::new(
        "VI_A",
        51,
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 99)),
        vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))],
    );
    ah_cfg.auth = keepalived_vrrp::config::Auth::Ah(*b"kars-ah1");
    if let Ok(mut inst) = Instance::new(ah_cfg) {
        let t0 = Instant::now();
        inst.handle(Input::Startup, t0);
        inst.handle(Input::Ipv4Datagram(rest.to_vec()), t0 + Duration::from_millis(10));
    }
    // Bare payload with a chosen family and destination.
    let (src, dst) = match sel & 3 {
        0 => (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(MCAST_GROUP_V4),
        ),
        1 => (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        ),
        2 => (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(MCAST_GROUP_V6),
        ),
        _ => (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V6(MCAST_GROUP_V6),
        ),
    };
    check(
        rest,
        &RxMeta {
            src,
            dst,
            ttl: sel | 0x80,
        },
        sel,
    );
});

fn check(payload: &[u8], meta: &RxMeta, sel: u8) {
    if let Ok(d) = decode(payload, meta) {
        let again =
            encode(&d.advert, meta.src, meta.dst, d.checksum).expect("decoded advert encodes");
        let d2 = decode(&again, meta).expect("re-encoded advert decodes");
        assert_eq!(d.advert, d2.advert);
        assert_eq!(d.checksum, d2.checksum);
    }
    // Feed it to a backup (sel bit 2: v3) and check drops change nothing.
    let v6 = meta.src.is_ipv6();
    let own: IpAddr = if v6 {
        "fe80::99".parse().unwrap()
    } else {
        "10.0.0.99".parse().unwrap()
    };
    let vip: IpAddr = if v6 {
        "2001:db8::1".parse().unwrap()
    } else {
        "10.0.0.100".parse().unwrap()
    };
    let mut cfg = InstanceConfig::new("VI_F", 51, own, vec![vip]);
    if sel & 4 != 0 {
        cfg.version = Version::V3;
    }
    let Ok(mut inst) = Instance::new(cfg) else {
        return;
    };
    let t0 = Instant::now();
    inst.handle(Input::Startup, t0);
    let before = inst.next_deadline();
    let dropped = inst.counters().total_dropped();
    let p = RxPacket {
        src: meta.src,
        dst: meta.dst,
        ttl: meta.ttl,
        data: payload.to_vec(),
    };
    inst.handle(Input::Packet(p), t0 + Duration::from_millis(10));
    if inst.counters().total_dropped() > dropped {
        assert_eq!(inst.next_deadline(), before);
    }
}
