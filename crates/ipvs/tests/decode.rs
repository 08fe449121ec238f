//! Reply decoding: hand-built kernel-style replies (as ip_vs_genl_fill_*
//! writes them), errors, round trips of our own encodings, and a
//! mutation test showing malformed input gives errors, never panics.

use std::net::{IpAddr, Ipv4Addr};

use keepalived_ipvs::consts::*;
use keepalived_ipvs::decode::{self, Message};
use keepalived_ipvs::encode::encode;
use keepalived_ipvs::*;

const FAM: u16 = 0x22;

fn nla(t: u16, p: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((4 + p.len()) as u16).to_ne_bytes());
    v.extend_from_slice(&t.to_ne_bytes());
    v.extend_from_slice(p);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}
fn nest(t: u16, parts: &[Vec<u8>]) -> Vec<u8> {
    nla(t | NLA_F_NESTED, &parts.concat())
}
fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(payload);
    v
}
fn genl(cmd: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![cmd, 1, 0, 0];
    v.extend(attrs.concat());
    v
}

fn addr16(a: [u8; 4]) -> Vec<u8> {
    let mut v = a.to_vec();
    v.resize(16, 0);
    v
}

/// A service dump message the way the kernel fills it (16-byte address,
/// HASHED flag, both stats nests, plus an attribute from the future).
fn kernel_service_msg() -> Vec<u8> {
    let mut flags = IP_VS_SVC_F_HASHED.to_ne_bytes().to_vec();
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    let stats32 = nest(
        IPVS_SVC_ATTR_STATS,
        &[
            nla(IPVS_STATS_ATTR_CONNS, &5u32.to_ne_bytes()),
            nla(IPVS_STATS_ATTR_INBYTES, &9u64.to_ne_bytes()),
        ],
    );
    let stats64 = nest(
        IPVS_SVC_ATTR_STATS64,
        &[
            nla(IPVS_STATS_ATTR_CONNS, &7u64.to_ne_bytes()),
            nla(IPVS_STATS_ATTR_OUTBYTES, &11u64.to_ne_bytes()),
        ],
    );
    let svc = nest(
        IPVS_CMD_ATTR_SERVICE,
        &[
            nla(IPVS_SVC_ATTR_AF, &AF_INET.to_ne_bytes()),
            nla(IPVS_SVC_ATTR_PROTOCOL, &6u16.to_ne_bytes()),
            nla(IPVS_SVC_ATTR_ADDR, &addr16([10, 0, 0, 1])),
            nla(IPVS_SVC_ATTR_PORT, &80u16.to_be_bytes()),
            nla(IPVS_SVC_ATTR_SCHED_NAME, b"wlc\0"),
            nla(IPVS_SVC_ATTR_FLAGS, &flags),
            nla(IPVS_SVC_ATTR_TIMEOUT, &0u32.to_ne_bytes()),
            nla(IPVS_SVC_ATTR_NETMASK, &0xffff_ffffu32.to_be_bytes()),
            stats32,
            stats64,
            nla(99, b"future"),
        ],
    );
    nlmsg(
        FAM,
        2, /* MULTI */
        1,
        &genl(IPVS_CMD_NEW_SERVICE, &[svc]),
    )
}

fn kernel_dest_msg() -> Vec<u8> {
    let d = nest(
        IPVS_CMD_ATTR_DEST,
        &[
            nla(IPVS_DEST_ATTR_ADDR, &addr16([10, 0, 0, 2])),
            nla(IPVS_DEST_ATTR_PORT, &8080u16.to_be_bytes()),
            nla(
                IPVS_DEST_ATTR_FWD_METHOD,
                &IP_VS_CONN_F_DROUTE.to_ne_bytes(),
            ),
            nla(IPVS_DEST_ATTR_WEIGHT, &3u32.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_TUN_TYPE, &[0]),
            nla(IPVS_DEST_ATTR_TUN_PORT, &0u16.to_be_bytes()),
            nla(IPVS_DEST_ATTR_TUN_FLAGS, &0u16.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_U_THRESH, &0u32.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_L_THRESH, &0u32.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_ACTIVE_CONNS, &4u32.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_INACT_CONNS, &2u32.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_PERSIST_CONNS, &1u32.to_ne_bytes()),
            nla(IPVS_DEST_ATTR_ADDR_FAMILY, &AF_INET.to_ne_bytes()),
        ],
    );
    nlmsg(FAM, 2, 1, &genl(IPVS_CMD_NEW_DEST, &[d]))
}

fn decode_all(buf: &[u8], af: Family) -> keepalived_ipvs::Result<Vec<Reply>> {
    let mut out = Vec::new();
    for m in decode::messages(buf)? {
        match decode::classify(&m, FAM)? {
            Message::Genl { cmd, attrs } => out.push(decode::reply(cmd, attrs, af)?),
            Message::Error(e) => return Err(IpvsError::Kernel { cmd: 0, errno: e }),
            _ => {}
        }
    }
    Ok(out)
}

#[test]
fn service_dump_reply() {
    let mut buf = kernel_service_msg();
    buf.extend(nlmsg(NLMSG_DONE, 2, 1, &0i32.to_ne_bytes()));
    let msgs = decode::messages(&buf).unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(decode::classify(&msgs[1], FAM).unwrap(), Message::Done);
    let r = decode_all(&buf, Family::Inet).unwrap();
    let Reply::Service(s) = &r[0] else {
        panic!("{r:?}")
    };
    assert_eq!(
        s.service.key,
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80)
    );
    assert_eq!(s.service.sched, Scheduler::Wlc);
    assert_eq!(s.service.flags, ServiceFlags::HASHED);
    assert_eq!(s.service.netmask, 0xffff_ffff);
    assert_eq!(s.service.pe_name, None);
    // STATS64 wins over STATS.
    assert_eq!(
        (s.stats.conns, s.stats.outbytes, s.stats.inbytes),
        (7, 11, 0)
    );
    // HASHED is not configuration.
    assert!(s
        .service
        .same_config(&Service::new(s.service.key, Scheduler::Wlc)));
}

#[test]
fn dest_dump_reply() {
    let r = decode_all(&kernel_dest_msg(), Family::Inet).unwrap();
    let Reply::Dest(d) = &r[0] else { panic!() };
    assert_eq!(
        d.dest,
        Dest::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            8080,
            FwdMethod::Route,
            3
        )
    );
    assert_eq!((d.active_conns, d.inact_conns, d.persist_conns), (4, 2, 1));
}

#[test]
fn info_daemon_and_config_replies() {
    let info = nlmsg(
        FAM,
        0,
        1,
        &genl(
            IPVS_CMD_SET_INFO,
            &[
                nla(IPVS_INFO_ATTR_VERSION, &0x010201u32.to_ne_bytes()),
                nla(IPVS_INFO_ATTR_CONN_TAB_SIZE, &4096u32.to_ne_bytes()),
            ],
        ),
    );
    let r = decode_all(&info, Family::Inet).unwrap();
    let Reply::Info(i) = r[0] else { panic!() };
    assert_eq!(
        (i.version_string().as_str(), i.conn_tab_size),
        ("1.2.1", 4096)
    );

    let dm = nlmsg(
        FAM,
        2,
        1,
        &genl(
            IPVS_CMD_NEW_DAEMON,
            &[nest(
                IPVS_CMD_ATTR_DAEMON,
                &[
                    nla(IPVS_DAEMON_ATTR_STATE, &IP_VS_STATE_BACKUP.to_ne_bytes()),
                    nla(IPVS_DAEMON_ATTR_MCAST_IFN, b"eth1\0"),
                    nla(IPVS_DAEMON_ATTR_SYNC_ID, &9u32.to_ne_bytes()),
                    nla(IPVS_DAEMON_ATTR_SYNC_MAXLEN, &1472u16.to_ne_bytes()),
                    nla(IPVS_DAEMON_ATTR_MCAST_GROUP, &[224, 0, 0, 81]),
                    nla(IPVS_DAEMON_ATTR_MCAST_PORT, &8848u16.to_ne_bytes()),
                    nla(IPVS_DAEMON_ATTR_MCAST_TTL, &[1]),
                ],
            )],
        ),
    );
    let r = decode_all(&dm, Family::Inet).unwrap();
    let Reply::Daemon(d) = &r[0] else { panic!() };
    assert_eq!(d.state, DaemonState::Backup);
    assert_eq!(d.mcast_ifn, "eth1");
    assert!(Daemon::new(DaemonState::Backup, "eth1", 9).matches(d));
    assert!(!Daemon::new(DaemonState::Master, "eth1", 9).matches(d));

    let cfg = nlmsg(
        FAM,
        0,
        1,
        &genl(
            IPVS_CMD_SET_CONFIG,
            &[
                nla(IPVS_CMD_ATTR_TIMEOUT_TCP, &900u32.to_ne_bytes()),
                nla(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, &120u32.to_ne_bytes()),
                nla(IPVS_CMD_ATTR_TIMEOUT_UDP, &300u32.to_ne_bytes()),
            ],
        ),
    );
    assert_eq!(
        decode_all(&cfg, Family::Inet).unwrap()[0],
        Reply::Timeouts(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        })
    );
}

#[test]
fn nlmsgerr_gives_errno_and_clear_text() {
    // NLMSG_ERROR: -EEXIST followed by the offending request header.
    let mut p = (-libc::EEXIST).to_ne_bytes().to_vec();
    p.extend_from_slice(&[0u8; 16]);
    let buf = nlmsg(NLMSG_ERROR, 0, 1, &p);
    let m = decode::messages(&buf).unwrap();
    assert_eq!(
        decode::classify(&m[0], FAM).unwrap(),
        Message::Error(libc::EEXIST)
    );
    let e = IpvsError::Kernel {
        cmd: IPVS_CMD_NEW_SERVICE,
        errno: libc::EEXIST,
    };
    assert_eq!(
        e.to_string(),
        "IPVS add service failed: service already exists (File exists (os error 17))"
    );
    let e = IpvsError::Kernel {
        cmd: IPVS_CMD_DEL_DEST,
        errno: libc::ENOENT,
    };
    assert!(e.to_string().contains("no such destination"));
    let e = IpvsError::Kernel {
        cmd: IPVS_CMD_NEW_SERVICE,
        errno: libc::EPERM,
    };
    assert!(e.to_string().contains("CAP_NET_ADMIN"));
    assert_eq!(
        IpvsError::NotAvailable.to_string(),
        "IPVS is not available in this kernel (generic netlink family IPVS not found); is the ip_vs module loaded?"
    );
    // ACK is error 0.
    let ack = nlmsg(NLMSG_ERROR, 0, 1, &[0u8; 20]);
    assert_eq!(
        decode::classify(&decode::messages(&ack).unwrap()[0], FAM).unwrap(),
        Message::Ack
    );
}

/// Our request encodings carry the same nested layout as kernel replies,
/// so decoding them back must give the original values.
#[test]
fn encode_decode_round_trip() {
    let v6: IpAddr = "2001:db8::5".parse().unwrap();
    let mut services = vec![
        Service::new(
            ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 443),
            Scheduler::Rr,
        ),
        Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Sctp,
                addr: v6,
                port: 9,
            },
            Scheduler::Fo,
        ),
        Service::new(
            ServiceKey::fwmark(Family::Inet, 42),
            Scheduler::Other("unheard".into()),
        ),
    ];
    services[0].flags = ServiceFlags::PERSISTENT;
    services[0].timeout = 360;
    services[0].netmask = 0xffff_0000;
    services[1].netmask = 48;
    services[2].pe_name = Some("sip".into());
    for s in services {
        let buf = encode(&Request::NewService(s.clone()), FAM, 0, 0).unwrap();
        let r = decode_all(&buf, Family::Inet).unwrap();
        let Reply::Service(got) = &r[0] else { panic!() };
        assert_eq!(got.service, s);
    }
    let mut d = Dest::new(v6, 8443, FwdMethod::Tunnel, 7);
    d.tun_type = TunType::Gre;
    d.tun_flags = TUN_FLAG_REMCSUM;
    let key = ServiceKey::fwmark(Family::Inet, 1);
    let buf = encode(&Request::NewDest(key, d.clone()), FAM, 0, 0).unwrap();
    let r = decode_all(&buf, Family::Inet).unwrap();
    // The request carries the service nest first; NEW_DEST decodes the dest.
    let Reply::Dest(got) = &r[0] else {
        panic!("{r:?}")
    };
    assert_eq!(got.dest, d);
}

/// Truncations and byte flips of valid replies: errors allowed, panics not.
#[test]
fn malformed_replies_never_panic() {
    let mut seeds = vec![kernel_service_msg(), kernel_dest_msg()];
    seeds.push([kernel_service_msg(), nlmsg(NLMSG_DONE, 2, 1, &[0; 4])].concat());
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut errors = 0;
    for seed in &seeds {
        for cut in 0..seed.len() {
            if decode_all(&seed[..cut], Family::Inet).is_err() {
                errors += 1;
            }
        }
        for _ in 0..3000 {
            let mut b = seed.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            let _ = decode_all(&b, Family::Inet);
            let _ = decode_all(&b, Family::Inet6);
        }
    }
    assert!(errors > 0);
    assert!(decode::messages(&[0xff; 3]).is_err());
    assert!(decode::attrs(&[2, 0, 1, 0]).is_err());
}
