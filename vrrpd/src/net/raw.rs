//! Raw IP protocol 112 sockets, one receive/send pair per (interface,
//! family), as keepalived's socket pool. Multicast groups are joined by
//! interface index: joining with INADDR_ANY fails in a namespace without a
//! multicast route.

use nix::sys::socket::{
    recvmmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, MultiHeaders, RecvMsg,
    SockaddrIn, SockaddrIn6, SockaddrStorage,
};
use std::ffi::OsString;
use std::io;
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, SystemTime};

pub const IPPROTO_VRRP: i32 = 112;
/// IPsec AH, which carries keepalived's `auth_type AH` adverts.
pub const IPPROTO_AH: i32 = 51;

/// A received VRRP packet, with what the checks need from its IP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub payload: Vec<u8>,
    /// When the kernel received it (`SO_TIMESTAMPNS`, wall clock): a
    /// backup that reads its adverts in batches dates the master's last
    /// advert by its arrival, not by when it was read.
    pub stamp: Option<SystemTime>,
}

/// Datagrams read per system call (`recvmmsg`): a backup of 255 instances
/// at 0.02 s receives 12,750 adverts a second.
pub const RX_BATCH: usize = 32;
/// Room for one datagram: the largest VRRP packet is VRRPv3 over IPv6 with
/// 255 addresses (4,088 bytes; over IPv4 with a 60-byte header, 1,148). A
/// longer datagram is not VRRP: the kernel cuts it (MSG_TRUNC) and it is
/// dropped as junk.
pub const RX_SLOT: usize = 4608;

/// The buffers a batch is read into, allocated once per engine.
pub struct RxRing {
    buf: Vec<u8>,
}

impl Default for RxRing {
    fn default() -> Self {
        RxRing {
            buf: vec![0; RX_BATCH * RX_SLOT],
        }
    }
}

/// One datagram read.
pub enum Rx {
    /// A datagram that is not even a usable IP packet: read and dropped
    /// (the next one may be fine, so reading goes on).
    Junk,
    Packet(Received),
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn raw_socket(family: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let fd = check(unsafe {
        libc::socket(
            family,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol,
        )
    })?;
    // SAFETY: fd was just created and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(super) fn setsockopt_raw<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: val points to a live T of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// A raw socket of protocol 112 is handed a copy of every VRRP packet the
/// host receives; one that only sends would hold them until its buffer
/// overflows (on a backup, every advert counted as a drop, and kernel work
/// for nothing). A classic BPF program that returns 0 drops them before
/// they are queued.
fn receive_nothing(fd: &OwnedFd) -> io::Result<()> {
    let mut drop_all = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0,
    }];
    let prog = libc::sock_fprog {
        len: drop_all.len() as u16,
        filter: drop_all.as_mut_ptr(),
    };
    setsockopt_raw(
        fd.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &prog,
    )
}

/// A send-only IPv4 socket (header included) leaving through `ifname`.
fn tx4_socket(ifname: &str, ifindex: u32) -> io::Result<OwnedFd> {
    let tx = raw_socket(libc::AF_INET, IPPROTO_VRRP)?;
    receive_nothing(&tx)?;
    bind_to_device(&tx, ifname)?;
    setsockopt_raw(tx.as_raw_fd(), libc::IPPROTO_IP, libc::IP_HDRINCL, &1i32)?;
    let mreq = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as i32,
    };
    setsockopt_raw(
        tx.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &mreq,
    )?;
    setsockopt(&tx, sockopt::IpMulticastLoop, &false)?;
    Ok(tx)
}

/// Adverts of a `use_vmac` instance leave through its VMAC (so their
/// source MAC is the virtual MAC); they are received on the lower device.
pub struct Tx4 {
    tx: OwnedFd,
}

impl Tx4 {
    pub fn open(ifname: &str, ifindex: u32) -> io::Result<Tx4> {
        Ok(Tx4 {
            tx: tx4_socket(ifname, ifindex)?,
        })
    }

    pub fn send(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        send4(&self.tx, packet, dst)
    }
}

fn send4(tx: &OwnedFd, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
    let addr = SockaddrIn::from(std::net::SocketAddrV4::new(dst, 0));
    nix::sys::socket::sendto(tx.as_raw_fd(), packet, &addr, MsgFlags::MSG_DONTWAIT)?;
    Ok(())
}

fn bind_to_device(fd: &OwnedFd, ifname: &str) -> io::Result<()> {
    setsockopt(fd, sockopt::BindToDevice, &OsString::from(ifname)).map_err(io::Error::from)
}

/// Read up to `max` (at most [`RX_BATCH`]) datagrams with one `recvmmsg`,
/// handing each (its bytes, its header) to `each`; returns how many were
/// read (0: nothing queued). `cmsg`: room for one datagram's control
/// messages (`cmsg_space!`). The headers are prepared for each call: the
/// kernel rewrites their lengths, and stale ones would cut the next
/// datagram's control messages short.
fn read_batch(
    fd: RawFd,
    ring: &mut RxRing,
    max: usize,
    cmsg: Vec<u8>,
    mut each: impl FnMut(&[u8], &RecvMsg<'_, '_, SockaddrStorage>),
) -> io::Result<usize> {
    let n = max.clamp(1, RX_BATCH);
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(n, Some(cmsg));
    let mut iovs: Vec<[IoSliceMut; 1]> = ring
        .buf
        .chunks_exact_mut(RX_SLOT)
        .take(n)
        .map(|slot| [IoSliceMut::new(slot)])
        .collect();
    let msgs = match recvmmsg(
        fd,
        &mut headers,
        iovs.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    ) {
        Ok(m) => m,
        Err(nix::errno::Errno::EAGAIN) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut count = 0;
    for msg in msgs {
        count += 1;
        let data = msg.iovs().next().unwrap_or(&[]);
        each(data, &msg);
    }
    Ok(count)
}

/// How one datagram of a batch becomes an [`Rx`].
type ParseFn = fn(&[u8], &RecvMsg<'_, '_, SockaddrStorage>) -> Rx;

/// Read up to `max` datagrams at once from a receive socket (`v6`: a
/// [`Vrrp6`]'s, else a [`Vrrp4`]'s; see [`read_batch`]), each handed to
/// `each` as a packet or junk; how many were read (0: nothing queued).
pub fn recv_batch(
    fd: RawFd,
    v6: bool,
    ring: &mut RxRing,
    max: usize,
    mut each: impl FnMut(Rx),
) -> io::Result<usize> {
    let (cmsg, parse): (Vec<u8>, ParseFn) = if v6 {
        (
            nix::cmsg_space!(libc::c_int, libc::in6_pktinfo, nix::sys::time::TimeSpec),
            datagram6,
        )
    } else {
        (nix::cmsg_space!(nix::sys::time::TimeSpec), datagram4)
    };
    read_batch(fd, ring, max, cmsg, |data, msg| {
        // Longer than any VRRP packet: cut by the kernel, junk.
        each(if msg.flags.contains(MsgFlags::MSG_TRUNC) {
            Rx::Junk
        } else {
            parse(data, msg)
        })
    })
}

/// An IPv4 datagram (header included) and its receive time.
fn datagram4(data: &[u8], msg: &RecvMsg<'_, '_, SockaddrStorage>) -> Rx {
    let stamp = msg
        .cmsgs()
        .ok()
        .and_then(|mut cs| cs.find_map(|c| stamp_of(&c)));
    parse_ipv4(data).map_or(Rx::Junk, |mut p| {
        p.stamp = stamp;
        Rx::Packet(p)
    })
}

/// An IPv6 VRRP payload: source from the address, hop limit, destination
/// and receive time from the control messages.
fn datagram6(data: &[u8], msg: &RecvMsg<'_, '_, SockaddrStorage>) -> Rx {
    let src = msg
        .address
        .and_then(|a| a.as_sockaddr_in6().map(|s| s.ip()));
    let (mut ttl, mut dst, mut stamp) = (0u8, None, None);
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv6HopLimit(h) => ttl = h.clamp(0, 255) as u8,
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr))
                }
                c => stamp = stamp.or(stamp_of(&c)),
            }
        }
    }
    match (src, dst) {
        (Some(src), Some(dst)) => Rx::Packet(Received {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl,
            payload: data.to_vec(),
            stamp,
        }),
        _ => Rx::Junk,
    }
}

/// The kernel's receive time of a datagram, if it came with one.
fn stamp_of(c: &ControlMessageOwned) -> Option<SystemTime> {
    match c {
        ControlMessageOwned::ScmTimestampns(ts) => {
            let (s, ns) = (u64::try_from(ts.tv_sec()).ok()?, ts.tv_nsec());
            let ns = u32::try_from(ns).ok()?;
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(s, ns))
        }
        _ => None,
    }
}

/// IPv4: receives with the IP header (TTL and destination come from it) and
/// sends whole packets built by the caller (`IP_HDRINCL`), so the source
/// address and TTL 255 are exactly what the checksum was computed over.
pub struct Vrrp4 {
    rx: OwnedFd,
    tx: OwnedFd,
}

impl Vrrp4 {
    /// `ah`: receive IP protocol 51 (keepalived's `auth_type AH`) instead
    /// of 112.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        group: Option<Ipv4Addr>,
        ah: bool,
    ) -> io::Result<Vrrp4> {
        let proto = if ah { IPPROTO_AH } else { IPPROTO_VRRP };
        let rx = raw_socket(libc::AF_INET, proto)?;
        bind_to_device(&rx, ifname)?;
        // (AH datagrams are read whole with recv, without their stamps.)
        if !ah {
            setsockopt(&rx, sockopt::ReceiveTimestampns, &true)?;
        }
        if let Some(g) = group {
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from(g).to_be(),
                },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as i32,
            };
            setsockopt_raw(
                rx.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_ADD_MEMBERSHIP,
                &mreq,
            )?;
        }
        let tx = tx4_socket(ifname, ifindex)?;
        Ok(Vrrp4 { rx, tx })
    }

    /// Send a full IPv4 packet (header included) to `dst`.
    pub fn send(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        send4(&self.tx, packet, dst)
    }

    /// Read one whole datagram (header included) into `buf`: its length,
    /// or `None` when drained. AH uses it whole (its check covers the IP
    /// header).
    pub fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: recv into a live buffer of the given length.
        let n = unsafe {
            libc::recv(
                self.rx.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock {
                Ok(None)
            } else {
                Err(e)
            };
        }
        Ok(Some(n as usize))
    }

    pub fn rx_fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }
}

/// Split an IPv4 packet into what the VRRP checks need; `None` if it is not
/// even a well-formed IPv4 header.
pub fn parse_ipv4(p: &[u8]) -> Option<Received> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return None;
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let total = u16::from_be_bytes([p[2], p[3]]) as usize;
    if ihl < 20 || p.len() < ihl {
        return None;
    }
    let end = if total >= ihl && total <= p.len() {
        total
    } else {
        p.len()
    };
    Some(Received {
        src: IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15])),
        dst: IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19])),
        ttl: p[8],
        payload: p[ihl..end].to_vec(),
        stamp: None,
    })
}

/// IPv6: the kernel delivers the payload only; hop limit and destination
/// come as control messages. Sent from the interface's link-local address
/// (bound), hop limit 255.
pub struct Vrrp6 {
    rx: OwnedFd,
    tx: OwnedFd,
    pub ifindex: u32,
}

impl Vrrp6 {
    pub fn open(
        ifname: &str,
        ifindex: u32,
        group: Option<Ipv6Addr>,
        src: Ipv6Addr,
    ) -> io::Result<Vrrp6> {
        let rx = raw_socket(libc::AF_INET6, IPPROTO_VRRP)?;
        bind_to_device(&rx, ifname)?;
        setsockopt(&rx, sockopt::Ipv6RecvHopLimit, &true)?;
        setsockopt(&rx, sockopt::Ipv6RecvPacketInfo, &true)?;
        setsockopt(&rx, sockopt::ReceiveTimestampns, &true)?;
        if let Some(g) = group {
            let mreq = libc::ipv6_mreq {
                ipv6mr_multiaddr: libc::in6_addr {
                    s6_addr: g.octets(),
                },
                ipv6mr_interface: ifindex,
            };
            setsockopt_raw(
                rx.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_ADD_MEMBERSHIP,
                &mreq,
            )?;
        }
        let tx = raw_socket(libc::AF_INET6, IPPROTO_VRRP)?;
        receive_nothing(&tx)?;
        bind_to_device(&tx, ifname)?;
        setsockopt_raw(
            tx.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_IF,
            &(ifindex as i32),
        )?;
        setsockopt_raw(
            tx.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_HOPS,
            &255i32,
        )?;
        setsockopt_raw(
            tx.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            &255i32,
        )?;
        setsockopt_raw(
            tx.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_LOOP,
            &0i32,
        )?;
        let local = SockaddrIn6::from(std::net::SocketAddrV6::new(src, 0, 0, ifindex));
        nix::sys::socket::bind(tx.as_raw_fd(), &local)?;
        Ok(Vrrp6 { rx, tx, ifindex })
    }

    /// Send a VRRP message (its checksum already computed) to `dst`;
    /// `hops`: a hop limit for this one (`unicast_ttl`), else the socket's
    /// 255.
    pub fn send(&self, payload: &[u8], dst: Ipv6Addr, hops: Option<u8>) -> io::Result<()> {
        let addr = SockaddrIn6::from(std::net::SocketAddrV6::new(dst, 0, 0, self.ifindex));
        let iov = [std::io::IoSlice::new(payload)];
        let limit = hops.map(i32::from);
        let cmsg = limit
            .as_ref()
            .map(nix::sys::socket::ControlMessage::Ipv6HopLimit);
        nix::sys::socket::sendmsg(
            self.tx.as_raw_fd(),
            &iov,
            cmsg.as_slice(),
            MsgFlags::MSG_DONTWAIT,
            Some(&addr),
        )?;
        Ok(())
    }

    pub fn rx_fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_is_split() {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18,
        ];
        p.extend_from_slice(&[0x21, 1, 100, 0, 0, 1, 0, 0]);
        let r = parse_ipv4(&p).unwrap();
        assert_eq!(r.ttl, 255);
        assert_eq!(r.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(r.dst, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)));
        assert_eq!(r.payload.len(), 8);
        assert!(parse_ipv4(&p[..19]).is_none());
        let mut bad = p.clone();
        bad[0] = 0x65;
        assert!(parse_ipv4(&bad).is_none());
    }
}
