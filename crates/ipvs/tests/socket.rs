//! The client's request/reply state machine on this host, without IPVS:
//! `IpvsSocket` runs over one end of an AF_UNIX datagram socketpair and the
//! test plays the kernel on the other end (datagram boundaries = netlink
//! recv boundaries).

use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};

use keepalived_ipvs::consts::*;
use keepalived_ipvs::decode;
use keepalived_ipvs::*;
use neli::socket::NlSocket;

const FAM: u16 = 0x21;

fn pair() -> (IpvsSocket, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: valid out-array of two fds.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0);
    // SAFETY: fds[0] is a fresh fd owned from here on by the NlSocket.
    let sock = unsafe { NlSocket::from_raw_fd(fds[0]) };
    (IpvsSocket::from_socket(sock, FAM).unwrap(), fds[1])
}

fn nla(t: u16, p: &[u8]) -> Vec<u8> {
    let mut v = ((4 + p.len()) as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&t.to_ne_bytes());
    v.extend_from_slice(p);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}
fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(payload);
    v
}
fn service_msg(seq: u32, port: u16) -> Vec<u8> {
    let mut flags = 2u32.to_ne_bytes().to_vec();
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    let inner = [
        nla(IPVS_SVC_ATTR_AF, &AF_INET.to_ne_bytes()),
        nla(IPVS_SVC_ATTR_PROTOCOL, &6u16.to_ne_bytes()),
        nla(
            IPVS_SVC_ATTR_ADDR,
            &[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        nla(IPVS_SVC_ATTR_PORT, &port.to_be_bytes()),
        nla(IPVS_SVC_ATTR_SCHED_NAME, b"rr\0"),
        nla(IPVS_SVC_ATTR_FLAGS, &flags),
        nla(IPVS_SVC_ATTR_TIMEOUT, &0u32.to_ne_bytes()),
        nla(IPVS_SVC_ATTR_NETMASK, &u32::MAX.to_ne_bytes()),
    ]
    .concat();
    let mut p = vec![IPVS_CMD_NEW_SERVICE, 1, 0, 0];
    p.extend(nla(IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, &inner));
    nlmsg(FAM, 2, seq, &p)
}
fn send(fd: RawFd, b: &[u8]) {
    // SAFETY: valid buffer.
    let n = unsafe { libc::send(fd, b.as_ptr().cast(), b.len(), 0) };
    assert_eq!(n as usize, b.len());
}
fn recv_req(fd: RawFd) -> Vec<u8> {
    let mut b = vec![0u8; 65536];
    // SAFETY: valid buffer.
    let n = unsafe { libc::recv(fd, b.as_mut_ptr().cast(), b.len(), 0) };
    b.truncate(n as usize);
    b
}

#[test]
fn dump_across_several_datagrams_ignoring_stale_seq() {
    let (mut s, peer) = pair();
    s.set_nonblocking(true).unwrap();
    s.start(&Request::GetServices).unwrap();
    let req = recv_req(peer);
    let m = decode::messages(&req).unwrap();
    assert_eq!((m[0].nl_type, m[0].payload[0]), (FAM, IPVS_CMD_GET_SERVICE));
    let seq = s.last_seq();
    assert!(
        s.on_readable().unwrap().is_none(),
        "nothing yet: would block"
    );
    // A stale reply of an earlier request, then the dump in two datagrams.
    send(peer, &service_msg(seq.wrapping_sub(1), 1));
    send(peer, &[service_msg(seq, 80), service_msg(seq, 81)].concat());
    assert!(s.on_readable().unwrap().is_none(), "dump not finished");
    send(
        peer,
        &[
            service_msg(seq, 82),
            nlmsg(NLMSG_DONE, 2, seq, &0i32.to_ne_bytes()),
        ]
        .concat(),
    );
    let r = s.on_readable().unwrap().unwrap().unwrap();
    let ports: Vec<u16> = r
        .iter()
        .map(|r| match r {
            Reply::Service(e) => match e.service.key {
                ServiceKey::Addr { port, .. } => port,
                _ => 0,
            },
            _ => 0,
        })
        .collect();
    assert_eq!(ports, vec![80, 81, 82]);
    assert_eq!(s.writes(), 0);
    assert!(!s.in_flight());
    // SAFETY: closing our end of the pair.
    unsafe { libc::close(peer) };
}

#[test]
fn write_ack_error_and_counter() {
    let (mut s, peer) = pair();
    s.set_nonblocking(true).unwrap();
    let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    s.start(&Request::NewService(Service::new(k, Scheduler::Rr)))
        .unwrap();
    assert!(s.start(&Request::Flush).is_err(), "one request in flight");
    let req = recv_req(peer);
    assert_eq!(req[16], IPVS_CMD_NEW_SERVICE);
    let mut err = (-libc::EEXIST).to_ne_bytes().to_vec();
    err.extend_from_slice(&req[..16]);
    send(peer, &nlmsg(NLMSG_ERROR, 0, s.last_seq(), &err));
    let e = s.on_readable().unwrap().unwrap().unwrap_err();
    assert_eq!(e.errno(), Some(libc::EEXIST));
    assert!(e.to_string().contains("service already exists"));

    s.start(&Request::DelService(k)).unwrap();
    let _ = recv_req(peer);
    let mut ack = 0i32.to_ne_bytes().to_vec();
    ack.extend_from_slice(&[0u8; 16]);
    send(peer, &nlmsg(NLMSG_ERROR, 0, s.last_seq(), &ack));
    assert_eq!(s.on_readable().unwrap().unwrap().unwrap(), vec![]);
    assert_eq!(s.writes(), 2, "failed writes were still sent");

    // Garbage from the "kernel": an error, no panic, and the socket is free again.
    s.start(&Request::GetInfo).unwrap();
    let _ = recv_req(peer);
    send(peer, &[0xff; 20]);
    assert!(matches!(
        s.on_readable().unwrap(),
        Some(Err(IpvsError::Malformed(_)))
    ));
    assert!(!s.in_flight());
    assert!(s.as_raw_fd() >= 0);
    // SAFETY: closing our end of the pair.
    unsafe { libc::close(peer) };
}

/// `apply` sends its writes in one datagram, only the last asking for an
/// ACK; an error the kernel reports for one of them fails that op alone
/// (the others are recorded as ours), and the last one's ACK ends it.
#[test]
fn writes_are_batched_and_an_error_fails_its_op_only() {
    let (mut s, peer) = pair();
    let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let dest = |last: u8| {
        Dest::new(
            std::net::IpAddr::from([10, 0, 1, last]),
            80,
            FwdMethod::Masq,
            1,
        )
    };
    let ops = vec![
        Op::AddService(Service::new(k, Scheduler::Rr)),
        Op::AddDest(k, dest(1)),
        Op::AddDest(k, dest(2)),
    ];
    let kernel = std::thread::spawn(move || {
        let req = recv_req(peer);
        let m = decode::messages(&req).unwrap();
        let flags: Vec<u16> = m.iter().map(|m| m.flags).collect();
        // The second is refused, then the last acknowledged.
        let mut err = (-libc::EEXIST).to_ne_bytes().to_vec();
        err.extend_from_slice(&req[..16]);
        send(peer, &nlmsg(NLMSG_ERROR, 0, m[1].seq, &err));
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend_from_slice(&[0u8; 16]);
        send(peer, &nlmsg(NLMSG_ERROR, 0, m[2].seq, &ack));
        // SAFETY: closing our end of the pair.
        unsafe { libc::close(peer) };
        (m.len(), flags)
    });
    let mut owned = Owned::default();
    let failed = s.apply(&ops, &mut owned);
    let (count, flags) = kernel.join().unwrap();
    assert_eq!(count, 3, "one datagram");
    let ack = libc::NLM_F_ACK as u16;
    assert_eq!(
        flags.iter().map(|f| f & ack != 0).collect::<Vec<_>>(),
        vec![false, false, true]
    );
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, ops[1]);
    assert_eq!(failed[0].1.errno(), Some(libc::EEXIST));
    assert!(owned.services.contains(&k));
    assert_eq!(owned.dests.len(), 1, "the refused destination is not ours");
    assert_eq!(s.writes(), 3);
}
