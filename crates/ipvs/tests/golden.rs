//! Byte-for-byte encoding tests. Expected bytes are written by hand from the
//! kernel's attribute layout (ip_vs.h / ip_vs_ctl.c), independently of neli;
//! the first vector is the golden NEW_SERVICE captured in research/crates.md.
//! Layout reminder: nlmsghdr(len,type,flags,seq,pid) | genl(cmd,ver,0,0) | attrs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_ipvs::encode::{encode, encode_get_family};
use keepalived_ipvs::*;

const FAM: u16 = 0x1234;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn check(req: Request, expected: &str) {
    let got = encode(&req, FAM, 0, 0).unwrap();
    let want = hex(expected);
    assert_eq!(
        got,
        want,
        "\n got {}\nwant {}",
        got.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        want.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
}

#[test]
fn golden_new_service_tcp_v4_wrr() {
    let s = Service::new(ServiceKey::tcp(v4(10, 0, 0, 1), 80), Scheduler::Wrr);
    check(
        Request::NewService(s),
        "5c000000 3412 0500 00000000 00000000  01 01 0000
         4800 0180
           0600 0100 0200 0000
           0600 0200 0600 0000
           0800 0300 0a000001
           0600 0400 0050 0000
           0800 0600 77727200
           0c00 0700 00000000 ffffffff
           0800 0800 00000000
           0800 0900 ffffffff",
    );
}

#[test]
fn set_service_persistent_sh_flags_granularity() {
    let mut s = Service::new(ServiceKey::udp(v4(192, 168, 1, 10), 53), Scheduler::Sh);
    s.flags = ServiceFlags::PERSISTENT | ServiceFlags::SCHED_FALLBACK | ServiceFlags::SCHED_PORT;
    s.timeout = 300;
    s.netmask = 0xffff_ff00;
    check(
        Request::SetService(s),
        "5c000000 3412 0500 00000000 00000000  02 01 0000
         4800 0180
           0600 0100 0200 0000
           0600 0200 1100 0000
           0800 0300 c0a8010a
           0600 0400 0035 0000
           0700 0600 736800 00
           0c00 0700 19000000 ffffffff
           0800 0800 2c010000
           0800 0900 ffffff00",
    );
}

#[test]
fn new_service_fwmark_v6_persistent_prefix_pe() {
    let mut s = Service::new(ServiceKey::fwmark(Family::Inet6, 7), Scheduler::Mh);
    s.flags = ServiceFlags::PERSISTENT | ServiceFlags::ONEPACKET;
    s.timeout = 60;
    s.netmask = 64;
    s.pe_name = Some("sip".into());
    check(
        Request::NewService(s),
        "54000000 3412 0500 00000000 00000000  01 01 0000
         4000 0180
           0600 0100 0a00 0000
           0800 0500 07000000
           0700 0600 6d6800 00
           0800 0b00 73697000
           0c00 0700 05000000 ffffffff
           0800 0800 3c000000
           0800 0900 40000000",
    );
}

#[test]
fn del_service_v6_identity_only() {
    let a = IpAddr::V6("2001:db8::1".parse::<Ipv6Addr>().unwrap());
    check(
        Request::DelService(ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: a,
            port: 443,
        }),
        "44000000 3412 0500 00000000 00000000  03 01 0000
         3000 0180
           0600 0100 0a00 0000
           0600 0200 8400 0000
           1400 0300 20010db8 00000000 00000000 00000001
           0600 0400 01bb 0000",
    );
}

#[test]
fn new_dest_masq_weight_thresholds() {
    let mut d = Dest::new(v4(10, 0, 0, 2), 8080, FwdMethod::Masq, 3);
    d.u_thresh = 100;
    d.l_thresh = 10;
    check(
        Request::NewDest(ServiceKey::tcp(v4(10, 0, 0, 1), 80), d),
        "74000000 3412 0500 00000000 00000000  05 01 0000
         2400 0180
           0600 0100 0200 0000
           0600 0200 0600 0000
           0800 0300 0a000001
           0600 0400 0050 0000
         3c00 0280
           0800 0100 0a000002
           0600 0200 1f90 0000
           0800 0300 00000000
           0800 0400 03000000
           0800 0500 64000000
           0800 0600 0a000000
           0600 0b00 0200 0000",
    );
}

#[test]
fn set_dest_tunnel_gue_on_fwmark() {
    let mut d = Dest::new(v4(10, 0, 0, 3), 0, FwdMethod::Tunnel, 0);
    d.tun_type = TunType::Gue;
    d.tun_port = 6080;
    d.tun_flags = TUN_FLAG_CSUM;
    check(
        Request::SetDest(ServiceKey::fwmark(Family::Inet, 5), d),
        "7c000000 3412 0500 00000000 00000000  06 01 0000
         1400 0180
           0600 0100 0200 0000
           0800 0500 05000000
         5400 0280
           0800 0100 0a000003
           0600 0200 0000 0000
           0800 0300 02000000
           0800 0400 00000000
           0800 0500 00000000
           0800 0600 00000000
           0600 0b00 0200 0000
           0500 0d00 01 000000
           0600 0e00 17c0 0000
           0600 0f00 0100 0000",
    );
}

#[test]
fn new_dest_route_v4() {
    let d = Dest::new(v4(10, 0, 0, 4), 80, FwdMethod::Route, 1);
    let got = encode(
        &Request::NewDest(ServiceKey::tcp(v4(10, 0, 0, 1), 80), d),
        FAM,
        9,
        77,
    )
    .unwrap();
    // seq and pid land in the header; fwd method DROUTE = 3.
    assert_eq!(&got[8..16], &hex("09000000 4d000000")[..]);
    assert!(got.windows(8).any(|w| w == hex("0800 0300 03000000")));
}

#[test]
fn del_dest_identity_only() {
    check(
        Request::DelDest(
            ServiceKey::tcp(v4(10, 0, 0, 1), 80),
            DestKey {
                addr: v4(10, 0, 0, 2),
                port: 8080,
            },
        ),
        "54000000 3412 0500 00000000 00000000  07 01 0000
         2400 0180
           0600 0100 0200 0000
           0600 0200 0600 0000
           0800 0300 0a000001
           0600 0400 0050 0000
         1c00 0280
           0800 0100 0a000002
           0600 0200 1f90 0000
           0600 0b00 0200 0000",
    );
}

#[test]
fn dump_requests() {
    check(
        Request::GetServices,
        "14000000 3412 0103 00000000 00000000  04 01 0000",
    );
    check(
        Request::GetDests(ServiceKey::tcp(v4(10, 0, 0, 1), 80)),
        "38000000 3412 0103 00000000 00000000  08 01 0000
         2400 0180
           0600 0100 0200 0000
           0600 0200 0600 0000
           0800 0300 0a000001
           0600 0400 0050 0000",
    );
    check(
        Request::GetDaemons,
        "14000000 3412 0103 00000000 00000000  0b 01 0000",
    );
    check(
        Request::GetInfo,
        "14000000 3412 0500 00000000 00000000  0f 01 0000",
    );
    check(
        Request::GetTimeouts,
        "14000000 3412 0500 00000000 00000000  0d 01 0000",
    );
    check(
        Request::Flush,
        "14000000 3412 0500 00000000 00000000  11 01 0000",
    );
    check(
        Request::Zero(None),
        "14000000 3412 0500 00000000 00000000  10 01 0000",
    );
}

#[test]
fn daemon_commands() {
    let mut d = Daemon::new(DaemonState::Master, "eth0", 51);
    d.sync_maxlen = Some(1472);
    d.mcast_group = Some(v4(224, 0, 0, 81));
    d.mcast_port = Some(8848);
    d.mcast_ttl = Some(1);
    check(
        Request::NewDaemon(d),
        "54000000 3412 0500 00000000 00000000  09 01 0000
         4000 0380
           0800 0100 01000000
           0900 0200 65746830 00 000000
           0800 0300 33000000
           0600 0400 c005 0000
           0800 0500 e0000051
           0600 0700 9022 0000
           0500 0800 01 000000",
    );
    check(
        Request::DelDaemon(DaemonState::Backup),
        "20000000 3412 0500 00000000 00000000  0a 01 0000
         0c00 0380
           0800 0100 02000000",
    );
}

#[test]
fn set_timeouts_skips_zero() {
    check(
        Request::SetTimeouts(Timeouts {
            tcp: 900,
            tcp_fin: 0,
            udp: 300,
        }),
        "24000000 3412 0500 00000000 00000000  0c 01 0000
         0800 0400 84030000
         0800 0600 2c010000",
    );
}

#[test]
fn get_family_request() {
    let got = encode_get_family(1, 0).unwrap();
    assert_eq!(
        got,
        hex("20000000 1000 0500 01000000 00000000  03 02 0000
             0900 0200 49505653 00 000000")
    );
}

#[test]
fn invalid_requests_are_errors_not_panics() {
    let s = Service::new(
        ServiceKey::tcp(v4(10, 0, 0, 1), 80),
        Scheduler::Other("a-very-long-scheduler".into()),
    );
    assert!(matches!(
        encode(&Request::NewService(s), FAM, 0, 0),
        Err(IpvsError::Invalid(_))
    ));
    let mut s = Service::new(ServiceKey::fwmark(Family::Inet6, 1), Scheduler::Rr);
    s.netmask = 129;
    assert!(encode(&Request::NewService(s), FAM, 0, 0).is_err());
    let d = Daemon::new(DaemonState::Master, "an-interface-name-too-long", 1);
    assert!(encode(&Request::NewDaemon(d), FAM, 0, 0).is_err());
}

/// A batch's datagram: messages appended one after the other (each as
/// `encode` makes it alone), and a refused one leaves nothing behind.
#[test]
fn a_batch_is_the_messages_end_to_end_and_a_refused_one_adds_nothing() {
    use keepalived_ipvs::encode::encode_into;
    let k = ServiceKey::tcp(v4(10, 0, 0, 1), 80);
    let reqs = [
        Request::NewService(Service::new(k, Scheduler::Wrr)),
        Request::NewDest(k, Dest::new(v4(10, 0, 1, 1), 80, FwdMethod::Masq, 3)),
        Request::DelDest(
            k,
            DestKey {
                addr: v4(10, 0, 1, 2),
                port: 8080,
            },
        ),
    ];
    let mut batch = Vec::new();
    let mut alone = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let seq = 7 + i as u32;
        encode_into(&mut batch, r, FAM, seq, 99, r.flags()).unwrap();
        alone.extend(encode(r, FAM, seq, 99).unwrap());
        assert_eq!(batch.len() % 4, 0);
    }
    assert_eq!(batch, alone);
    let bad = Service::new(k, Scheduler::Other("a-very-long-scheduler".into()));
    let before = batch.clone();
    assert!(encode_into(
        &mut batch,
        &Request::NewService(bad),
        FAM,
        10,
        99,
        reqs[0].flags()
    )
    .is_err());
    assert_eq!(batch, before);
}
