//! rtnetlink through neli's thread-less socket: links, addresses, and the
//! changes vrrpd makes (virtual addresses). Requests are synchronous — the
//! kernel answers in microseconds — and every answer is checked.

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Arphrd, Ifa, IfaF, Iff, Ifla, RtAddrFamily, RtScope, Rtm};
use neli::consts::rtnl::{IflaInfo, RtaType};
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, Rtattr, RtattrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};
use std::fmt::Debug;
use std::io::{self, Cursor};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

/// IFLA_INET_CONF inside IFLA_AF_SPEC / AF_INET.
pub const IFLA_INET_CONF: u16 = 1;

/// An interface as vrrpd needs to know it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub up: bool,
    pub running: bool,
    pub mac: Vec<u8>,
    /// IFLA_LINK: the lower device of a macvlan (or VLAN...).
    pub lower: Option<u32>,
    /// IFLA_INFO_KIND: `macvlan`, `veth`, `bridge`...
    pub kind: Option<String>,
    /// IPv4 devconf values (IFLA_INET_CONF), indexed by IPV4_DEVCONF_* - 1.
    pub inet_conf: Vec<u32>,
    /// IFLA_IFALIAS (`ip link set X alias ...`).
    pub alias: Option<String>,
    pub mtu: u32,
}

/// An address configured on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    pub scope: u8,
}

/// A virtual address to add or remove, as `virtual_ipaddress` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrSpec {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    pub broadcast: Option<Ipv4Addr>,
    /// RT_SCOPE_* value (0 universe, 253 link, 254 host).
    pub scope: u8,
    pub label: Option<String>,
    pub opts: keepalived_types::AddrOptions,
}

pub fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> io::Error + '_ {
    move |e| io::Error::other(format!("{what}: {e}"))
}

pub struct Rtnl {
    sock: NlSocketHandle,
    seq: u32,
}

impl Rtnl {
    pub fn open() -> io::Result<Rtnl> {
        let sock = NlSocketHandle::connect(NlFamily::Route, None, Groups::empty())
            .map_err(err("rtnetlink socket"))?;
        crate::answer_timeout(sock.as_raw_fd());
        Ok(Rtnl { sock, seq: 0 })
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }

    /// The socket's netlink port: announcements of our own changes carry it.
    pub fn portid(&self) -> u32 {
        self.sock.pid()
    }

    pub fn send<P: Size + ToBytes + Debug>(
        &mut self,
        ty: Rtm,
        flags: NlmF,
        payload: P,
    ) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let msg = NlmsghdrBuilder::default()
            .nl_type(ty)
            .nl_flags(flags | NlmF::REQUEST)
            .nl_seq(self.seq)
            .nl_payload(NlPayload::Payload(payload))
            .build()
            .map_err(err("netlink message"))?;
        self.sock.send(&msg).map_err(err("netlink send"))?;
        Ok(self.seq)
    }

    /// One batch of the kernel's answer. A receive cut short by a signal
    /// (EINTR: a socket with a receive timeout returns it after the process
    /// was stopped and resumed, or frozen and thawed) is retried, a bounded
    /// number of times, so a host's pause does not fail a VIP change.
    fn recv_answer<'a, P>(
        &'a self,
    ) -> io::Result<impl Iterator<Item = Result<Nlmsghdr<Rtm, P>, SocketError>> + 'a>
    where
        P: 'a + Size + FromBytesWithInput<Input = usize> + Debug,
    {
        let mut tries = 0;
        loop {
            match self.sock.recv::<Rtm, P>() {
                Ok((msgs, _)) => return Ok(msgs),
                Err(SocketError::Io(e)) if e.kind() == io::ErrorKind::Interrupted && tries < 8 => {
                    tries += 1;
                }
                Err(e) => return Err(err("netlink receive")(e)),
            }
        }
    }

    /// Read the answers to request `seq` (others' are skipped), handing
    /// each to `done` until it says the request is over; the kernel's
    /// errno on an error message.
    fn answers<P>(
        &mut self,
        seq: u32,
        mut done: impl FnMut(&NlPayload<Rtm, P>) -> bool,
    ) -> io::Result<()>
    where
        P: Size + FromBytesWithInput<Input = usize> + Debug,
    {
        loop {
            let msgs = self.recv_answer::<P>()?;
            for m in msgs {
                let m: Nlmsghdr<Rtm, P> = m.map_err(err("netlink decode"))?;
                if *m.nl_seq() != seq {
                    continue;
                }
                if let NlPayload::Err(e) = m.nl_payload() {
                    return Err(io::Error::from_raw_os_error(-*e.error()));
                }
                if done(m.nl_payload()) {
                    return Ok(());
                }
            }
        }
    }

    /// Collect a dump's payloads (mapped by `f`) until NLMSG_DONE.
    fn dump<P, R>(&mut self, seq: u32, f: impl Fn(&P) -> Option<R>) -> io::Result<Vec<R>>
    where
        P: Size + FromBytesWithInput<Input = usize> + Debug,
    {
        let mut out = Vec::new();
        self.answers::<P>(seq, |p| match p {
            NlPayload::Empty | NlPayload::DumpExtAck(_) => true,
            NlPayload::Payload(p) => {
                out.extend(f(p));
                false
            }
            _ => false,
        })?;
        Ok(out)
    }

    /// Wait for the ACK of request `seq`; the kernel's errno on failure.
    pub fn ack<P>(&mut self, seq: u32) -> io::Result<()>
    where
        P: Size + FromBytesWithInput<Input = usize> + Debug,
    {
        self.answers::<P>(seq, |p| matches!(p, NlPayload::Ack(_)))
    }

    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let req = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_type(Arphrd::Netrom)
            .build()
            .map_err(err("ifinfomsg"))?;
        let seq = self.send(Rtm::Getlink, NlmF::DUMP, req)?;
        self.dump(seq, |m: &Ifinfomsg| Some(link_from(m)))
    }

    #[cfg(test)]
    pub fn link(&mut self, name: &str) -> io::Result<Option<Link>> {
        Ok(self.links()?.into_iter().find(|l| l.name == name))
    }

    pub fn addresses(&mut self) -> io::Result<Vec<Addr>> {
        let req = IfaddrmsgBuilder::default()
            .ifa_family(RtAddrFamily::Unspecified)
            .ifa_prefixlen(0)
            .ifa_scope(RtScope::Universe)
            .ifa_index(0)
            .build()
            .map_err(err("ifaddrmsg"))?;
        let seq = self.send(Rtm::Getaddr, NlmF::DUMP, req)?;
        self.dump(seq, addr_from)
    }

    /// Add a virtual address; one already present is fine.
    pub fn add_address(&mut self, a: &AddrSpec) -> io::Result<()> {
        let msg = addr_msg(a)?;
        let seq = self.send(Rtm::Newaddr, NlmF::ACK | NlmF::CREATE | NlmF::REPLACE, msg)?;
        self.ack::<Ifaddrmsg>(seq)
    }

    /// Remove a virtual address; one already gone is fine.
    pub fn del_address(&mut self, a: &AddrSpec) -> io::Result<()> {
        let msg = addr_msg(a)?;
        let seq = self.send(Rtm::Deladdr, NlmF::ACK, msg)?;
        match self.ack::<Ifaddrmsg>(seq) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
            r => r,
        }
    }
}

/// One attribute with a raw payload.
pub fn attr<T: RtaType>(ty: T, payload: Vec<u8>) -> io::Result<Rtattr<T, Buffer>> {
    RtattrBuilder::default()
        .rta_type(ty)
        .rta_payload(payload)
        .build()
        .map_err(err("attr"))
}

fn addr_msg(a: &AddrSpec) -> io::Result<Ifaddrmsg> {
    let mut attrs = RtBuffer::new();
    let octets = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    // IFA_LOCAL is ours; IFA_ADDRESS the other end of a `peer` address.
    attrs.push(attr(Ifa::Local, octets(a.addr))?);
    attrs.push(attr(Ifa::Address, octets(a.opts.peer.unwrap_or(a.addr)))?);
    // IPv6: keepalived's lifetime (a deprecated /128 is never picked as a
    // source address) and flags (no DAD unless `-nodad`).
    let v6 = a.addr.is_ipv6();
    let mut flags = a.opts.flags;
    if v6 && !a.opts.dad {
        flags |= libc::IFA_F_NODAD;
    }
    let valid = a.opts.valid_lft;
    let preferred = a.opts.preferred_lft.filter(|_| v6 || valid.is_some());
    if preferred.is_some() || valid.is_some() {
        // struct ifa_cacheinfo: preferred, valid (unset: forever), two
        // stamps.
        let mut ci = Vec::with_capacity(16);
        ci.extend_from_slice(&preferred.or(valid).unwrap_or(u32::MAX).to_ne_bytes());
        ci.extend_from_slice(&valid.unwrap_or(u32::MAX).to_ne_bytes());
        ci.extend_from_slice(&[0; 8]);
        attrs.push(attr(Ifa::Cacheinfo, ci)?);
    }
    if flags != 0 {
        attrs.push(attr(Ifa::Flags, flags.to_ne_bytes().to_vec())?);
    }
    if let Some(b) = a.broadcast {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifa::Broadcast)
                .rta_payload(b.octets().to_vec())
                .build()
                .map_err(err("attr"))?,
        );
    }
    if let Some(l) = &a.label {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifa::Label)
                .rta_payload(l.as_str())
                .build()
                .map_err(err("attr"))?,
        );
    }
    let family = if v6 {
        RtAddrFamily::Inet6
    } else {
        RtAddrFamily::Inet
    };
    IfaddrmsgBuilder::default()
        .ifa_family(family)
        .ifa_prefixlen(a.prefix)
        // (The low 8 bits again, for kernels that read only these.)
        .ifa_flags(IfaF::from_bits_truncate(flags as u8))
        .ifa_scope(RtScope::from(a.scope))
        .ifa_index(a.index)
        .rtattrs(attrs)
        .build()
        .map_err(err("ifaddrmsg"))
}

fn link_from(m: &Ifinfomsg) -> Link {
    let h = m.rtattrs().get_attr_handle();
    let name = h
        .get_attr_payload_as_with_len::<String>(Ifla::Ifname)
        .unwrap_or_default()
        .trim_end_matches('\0')
        .to_string();
    let mac = h
        .get_attribute(Ifla::Address)
        .map(|a| a.rta_payload().as_ref().to_vec())
        .unwrap_or_default();
    let lower = h
        .get_attr_payload_as::<u32>(Ifla::Link)
        .ok()
        .filter(|&l| l != *m.ifi_index() as u32);
    let kind = h
        .get_nested_attributes::<IflaInfo>(Ifla::Linkinfo)
        .ok()
        .and_then(|n| {
            n.get_attr_payload_as_with_len::<String>(IflaInfo::Kind)
                .ok()
        })
        .map(|k| k.trim_end_matches('\0').to_string());
    let inet_conf = h
        .get_nested_attributes::<u16>(Ifla::AfSpec)
        .ok()
        .and_then(|af| {
            af.get_nested_attributes::<u16>(libc::AF_INET as u16)
                .ok()?
                .get_attribute(IFLA_INET_CONF)
                .map(|c| {
                    c.rta_payload()
                        .as_ref()
                        .chunks_exact(4)
                        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .collect()
                })
        })
        .unwrap_or_default();
    let alias = h
        .get_attr_payload_as_with_len::<String>(Ifla::Ifalias)
        .ok()
        .map(|a| a.trim_end_matches('\0').to_string())
        .filter(|a| !a.is_empty());
    Link {
        index: *m.ifi_index() as u32,
        mtu: h.get_attr_payload_as::<u32>(Ifla::Mtu).unwrap_or(0),
        name,
        lower,
        kind,
        inet_conf,
        alias,
        up: m.ifi_flags().contains(Iff::UP),
        running: m.ifi_flags().contains(Iff::RUNNING),
        mac,
    }
}

fn addr_from(m: &Ifaddrmsg) -> Option<Addr> {
    let h = m.rtattrs().get_attr_handle();
    let raw = h
        .get_attribute(Ifa::Local)
        .or_else(|| h.get_attribute(Ifa::Address))?
        .rta_payload()
        .as_ref()
        .to_vec();
    let addr = match raw.len() {
        4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw.as_slice()).ok()?)),
        _ => return None,
    };
    Some(Addr {
        index: *m.ifa_index(),
        addr,
        prefix: *m.ifa_prefixlen(),
        scope: u8::from(*m.ifa_scope()),
    })
}

/// A change the kernel announced on the link and address groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    Link(Link),
    LinkGone(u32),
    AddrAdded(Addr),
    /// `ours`: removed by a request of vrrpd's own (announcements carry
    /// the requester's port).
    AddrRemoved {
        addr: Addr,
        ours: bool,
    },
}

/// A non-blocking rtnetlink socket subscribed to link and address changes,
/// polled by the event loop (track_interface, FAULT on link down, source
/// addresses coming and going, static addresses put back).
pub struct Monitor {
    sock: NlSocketHandle,
    /// An ENOBUFS was read: the queue is being dropped up to its end.
    overrun: bool,
}

impl Monitor {
    pub fn open() -> io::Result<Monitor> {
        let groups = Groups::new_groups(&[
            libc::RTNLGRP_LINK,
            libc::RTNLGRP_IPV4_IFADDR,
            libc::RTNLGRP_IPV6_IFADDR,
        ]);
        let sock = NlSocketHandle::connect(NlFamily::Route, None, groups)
            .map_err(err("rtnetlink monitor"))?;
        let fd = sock.as_raw_fd();
        // SAFETY: fcntl on our own descriptor.
        unsafe {
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            )
        };
        Ok(Monitor {
            sock,
            overrun: false,
        })
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }

    /// What was announced since the last call, at most [`MONITOR_BUDGET`]
    /// reads of it (a storm of link or address changes must not keep
    /// vrrpd from its timers; `more` says some is left). After an overrun
    /// (ENOBUFS: the kernel dropped announcements) what is still queued is
    /// older than anything a fresh dump would say: it is read and dropped
    /// up to the end of the queue, then `resync` tells the caller to
    /// re-read the whole state (so a stale event is never applied after
    /// the dump).
    pub fn drain(&mut self, own: u32) -> io::Result<Drained> {
        let mut d = Drained::default();
        for _ in 0..MONITOR_BUDGET {
            let msgs = match self.sock.recv::<Rtm, Buffer>() {
                Ok((msgs, _)) => msgs,
                Err(SocketError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    d.resync = std::mem::take(&mut self.overrun);
                    return Ok(d);
                }
                Err(SocketError::Io(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.overrun = true;
                    d.events.clear();
                    continue;
                }
                Err(SocketError::Io(e)) => return Err(io::Error::new(e.kind(), e.to_string())),
                Err(e) => return Err(io::Error::other(format!("netlink receive: {e}"))),
            };
            if self.overrun {
                continue;
            }
            let out = &mut d.events;
            for m in msgs {
                let Ok(m) = m else { continue };
                let Some(body) = m.get_payload() else {
                    continue;
                };
                let bytes = body.as_ref();
                match *m.nl_type() {
                    Rtm::Newlink | Rtm::Dellink => {
                        let Ok(info) =
                            Ifinfomsg::from_bytes_with_input(&mut Cursor::new(bytes), bytes.len())
                        else {
                            continue;
                        };
                        let link = link_from(&info);
                        out.push(if *m.nl_type() == Rtm::Dellink {
                            NetEvent::LinkGone(link.index)
                        } else {
                            NetEvent::Link(link)
                        });
                    }
                    Rtm::Newaddr | Rtm::Deladdr => {
                        let Ok(a) =
                            Ifaddrmsg::from_bytes_with_input(&mut Cursor::new(bytes), bytes.len())
                        else {
                            continue;
                        };
                        if let Some(addr) = addr_from(&a) {
                            out.push(if *m.nl_type() == Rtm::Newaddr {
                                NetEvent::AddrAdded(addr)
                            } else {
                                NetEvent::AddrRemoved {
                                    addr,
                                    ours: *m.nl_pid() == own,
                                }
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        d.more = true;
        Ok(d)
    }
}

/// Reads of the monitor socket per wake-up.
pub const MONITOR_BUDGET: usize = 64;

/// One [`Monitor::drain`].
#[derive(Debug, Default)]
pub struct Drained {
    pub events: Vec<NetEvent>,
    /// The budget ran out with announcements left.
    pub more: bool,
    /// Announcements were lost: re-read the state.
    pub resync: bool,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// Move this test thread into a fresh network namespace (root only).
    pub(crate) fn fresh_netns() {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET): run tests as root");
        for args in [
            &["link", "set", "lo", "up"][..],
            &["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        ] {
            assert!(Command::new("ip").args(args).status().unwrap().success());
        }
        assert!(Command::new("ip")
            .args(["link", "set", "v0", "up"])
            .status()
            .unwrap()
            .success());
    }

    #[test]
    fn links_and_virtual_addresses() {
        fresh_netns();
        let mut r = Rtnl::open().unwrap();
        let v0 = r.link("v0").unwrap().expect("v0 exists");
        assert!(v0.up);
        assert_eq!(v0.mac.len(), 6);
        assert!(r.link("nope").unwrap().is_none());
        let vip = AddrSpec {
            index: v0.index,
            addr: "10.9.0.100".parse().unwrap(),
            prefix: 24,
            broadcast: Some("10.9.0.255".parse().unwrap()),
            scope: 0,
            label: Some("v0:vip".into()),
            opts: Default::default(),
        };
        let vip6 = AddrSpec {
            index: v0.index,
            addr: "fd00::100".parse().unwrap(),
            prefix: 64,
            broadcast: None,
            scope: 0,
            label: None,
            opts: Default::default(),
        };
        for a in [&vip, &vip6] {
            r.add_address(a).unwrap();
            r.add_address(a).unwrap(); // idempotent
        }
        // A point-to-point address: the local end is ours, not the peer
        // (keepalived takes IFA_LOCAL before IFA_ADDRESS too).
        assert!(Command::new("ip")
            .args([
                "addr",
                "add",
                "10.9.1.1",
                "peer",
                "10.9.1.2/32",
                "dev",
                "v0"
            ])
            .status()
            .unwrap()
            .success());
        let have = r.addresses().unwrap();
        for a in [&vip, &vip6] {
            assert!(
                have.iter()
                    .any(|h| h.index == v0.index && h.addr == a.addr && h.prefix == a.prefix),
                "{a:?}"
            );
        }
        let ip = |a: &str| a.parse::<IpAddr>().unwrap();
        assert!(have.iter().any(|h| h.addr == ip("10.9.1.1")), "{have:?}");
        assert!(!have.iter().any(|h| h.addr == ip("10.9.1.2")), "{have:?}");
        let show = Command::new("ip")
            .args(["-4", "addr", "show", "dev", "v0"])
            .output()
            .unwrap();
        let show = String::from_utf8_lossy(&show.stdout);
        assert!(
            show.contains("10.9.0.100/24 brd 10.9.0.255 scope global v0:vip"),
            "{show}"
        );
        for a in [&vip, &vip6] {
            r.del_address(a).unwrap();
            r.del_address(a).unwrap(); // already gone is fine
        }
        let have = r.addresses().unwrap();
        assert!(!have
            .iter()
            .any(|h| h.addr == vip.addr || h.addr == vip6.addr));
        // A bad index is an error with the kernel's reason.
        let bad = AddrSpec { index: 9999, ..vip };
        assert!(r.add_address(&bad).is_err());
    }

    #[test]
    fn monitor_reports_link_down_and_address_changes() {
        fresh_netns();
        let mut m = Monitor::open().unwrap();
        assert!(m.drain(0).unwrap().events.is_empty(), "nothing yet");
        assert!(Command::new("ip")
            .args(["link", "set", "v0", "down"])
            .status()
            .unwrap()
            .success());
        assert!(Command::new("ip")
            .args(["addr", "add", "10.7.0.1/24", "dev", "v1"])
            .status()
            .unwrap()
            .success());
        // The kernel has queued the events by the time `ip` returns.
        let ev = m.drain(0).unwrap().events;
        assert!(
            ev.iter()
                .any(|e| matches!(e, NetEvent::Link(l) if l.name == "v0" && !l.up)),
            "{ev:?}"
        );
        let a1: IpAddr = "10.7.0.1".parse().unwrap();
        assert!(
            ev.iter()
                .any(|e| matches!(e, NetEvent::AddrAdded(a) if a.addr == a1)),
            "{ev:?}"
        );
        // A deletion is ours when our request socket made it.
        let mut r = Rtnl::open().unwrap();
        let index = r
            .links()
            .unwrap()
            .iter()
            .find(|l| l.name == "v1")
            .unwrap()
            .index;
        let spec = AddrSpec {
            index,
            addr: "10.7.0.2".parse().unwrap(),
            prefix: 32,
            broadcast: None,
            scope: 0,
            label: None,
            opts: Default::default(),
        };
        r.add_address(&spec).unwrap();
        r.del_address(&spec).unwrap();
        assert!(Command::new("ip")
            .args(["addr", "del", "10.7.0.1/24", "dev", "v1"])
            .status()
            .unwrap()
            .success());
        let ev = m.drain(r.portid()).unwrap().events;
        let removed: Vec<(IpAddr, bool)> = ev
            .iter()
            .filter_map(|e| match e {
                NetEvent::AddrRemoved { addr, ours } => Some((addr.addr, *ours)),
                _ => None,
            })
            .collect();
        assert_eq!(removed, vec![(spec.addr, true), (a1, false)], "{ev:?}");
    }

    /// A burst the socket cannot hold (ENOBUFS): what is still queued is
    /// dropped, not applied, and the caller is told once to re-read the
    /// state; a storm bigger than the budget is read over several calls.
    #[test]
    fn an_overrun_drops_the_stale_queue_and_asks_for_a_resync() {
        fresh_netns();
        let mut m = Monitor::open().unwrap();
        let small: libc::c_int = 1;
        // SAFETY: setsockopt on our own socket with a valid int.
        let r = unsafe {
            libc::setsockopt(
                m.fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&small as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0);
        let batch: String = (0..300)
            .map(|i| format!("addr add 10.8.{}.{}/32 dev v1\n", i / 200, i % 200 + 1))
            .collect();
        let mut ip = Command::new("ip")
            .args(["-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        ip.stdin
            .take()
            .unwrap()
            .write_all(batch.as_bytes())
            .unwrap();
        assert!(ip.wait().unwrap().success());
        let mut resyncs = 0;
        let mut calls = 0;
        loop {
            let d = m.drain(0).unwrap();
            calls += 1;
            assert!(d.events.is_empty(), "stale events applied: {:?}", d.events);
            resyncs += usize::from(d.resync);
            if !d.more {
                break;
            }
        }
        assert_eq!(resyncs, 1, "after {calls} call(s)");
        let d = m.drain(0).unwrap();
        assert!(!d.resync && d.events.is_empty() && !d.more, "{d:?}");
    }
}
