//! Deterministic stand-in for the cargo-fuzz target (fuzz/fuzz_targets/
//! vrrp_decode.rs, same checks): mutated valid adverts and random bytes
//! must never panic, must round-trip when they decode, and a dropped
//! packet must not move an instance's timers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use keepalived_vrrp::*;

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn check(payload: &[u8], meta: &RxMeta, sel: u8) {
    if let Ok(d) = decode(payload, meta) {
        let again =
            encode(&d.advert, meta.src, meta.dst, d.checksum).expect("decoded advert encodes");
        let d2 = decode(&again, meta).expect("re-encoded advert decodes");
        assert_eq!(d.advert, d2.advert);
        assert_eq!(d.checksum, d2.checksum);
    }
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

#[test]
fn mutated_and_random_inputs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let src4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let src6 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    let seeds: Vec<(Vec<u8>, RxMeta)> = [Version::V2, Version::V3]
        .into_iter()
        .flat_map(|v| {
            let a = Advert {
                version: v,
                vrid: 51,
                priority: 150,
                adver_int: if v == Version::V2 { 1 } else { 100 },
                auth_type: 0,
                auth_data: [0; 8],
                addrs: vec!["10.0.0.100".parse().unwrap()],
            };
            let g = IpAddr::V4(MCAST_GROUP_V4);
            let mut out = vec![(
                encode(&a, src4, g, ChecksumVariant::PseudoHeader).unwrap(),
                RxMeta {
                    src: src4,
                    dst: g,
                    ttl: 255,
                },
            )];
            if v == Version::V3 {
                let a6 = Advert {
                    addrs: vec!["2001:db8::1".parse().unwrap()],
                    ..a
                };
                let g6 = IpAddr::V6(MCAST_GROUP_V6);
                out.push((
                    encode(&a6, src6, g6, ChecksumVariant::V2).unwrap(),
                    RxMeta {
                        src: src6,
                        dst: g6,
                        ttl: 255,
                    },
                ));
            }
            out
        })
        .collect();
    for round in 0..20_000u32 {
        let r = rng.next();
        let (seed, meta) = &seeds[(r % seeds.len() as u64) as usize];
        let mut bytes = seed.clone();
        match (r >> 8) % 4 {
            0 => {
                let i = (rng.next() as usize) % bytes.len();
                bytes[i] ^= 1 << (rng.next() % 8);
            }
            1 => bytes.truncate((rng.next() as usize) % (bytes.len() + 1)),
            2 => bytes.extend((0..rng.next() % 40).map(|_| rng.next() as u8)),
            _ => bytes = (0..rng.next() % 64).map(|_| rng.next() as u8).collect(),
        }
        let sel = (round % 256) as u8;
        check(&bytes, meta, sel);
        if let Ok((m, payload)) = parse_ipv4_packet(&bytes) {
            check(payload, &m, sel);
        }
        // Valid seeds themselves must be accepted by a matching instance.
        let _ = decode(seed, meta).expect("seed decodes");
    }
}
