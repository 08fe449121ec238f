//! Raw IP protocol 112 sockets, one receive/send pair per (interface,
//! family), as keepalived's socket pool. Multicast groups are joined by
//! interface index: joining with INADDR_ANY fails in a namespace without a
//! multicast route.

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6,
    SockaddrStorage,
};
use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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
}

/// One receive attempt.
pub enum Rx {
    /// Nothing queued (EAGAIN).
    Empty,
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

    /// Next packet, or `None` when drained.
    /// Read one datagram into `buf` (reused: no per-packet zeroing).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Rx> {
        Ok(match self.recv_datagram(buf)? {
            None => Rx::Empty,
            Some(n) => parse_ipv4(&buf[..n]).map_or(Rx::Junk, Rx::Packet),
        })
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

    /// Read one datagram into `buf` (reused: no per-packet zeroing).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Rx> {
        let mut cmsg = nix::cmsg_space!(libc::c_int, libc::in6_pktinfo);
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let msg = match recvmsg::<SockaddrStorage>(
            self.rx.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN) => return Ok(Rx::Empty),
            Err(e) => return Err(e.into()),
        };
        let n = msg.bytes;
        let src = msg
            .address
            .and_then(|a| a.as_sockaddr_in6().map(|s| s.ip()));
        let mut ttl = 0u8;
        let mut dst = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                match c {
                    ControlMessageOwned::Ipv6HopLimit(h) => ttl = h.clamp(0, 255) as u8,
                    ControlMessageOwned::Ipv6PacketInfo(pi) => {
                        dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr))
                    }
                    _ => {}
                }
            }
        }
        let (Some(src), Some(dst)) = (src, dst) else {
            return Ok(Rx::Junk);
        };
        Ok(Rx::Packet(Received {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl,
            payload: buf[..n].to_vec(),
        }))
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
