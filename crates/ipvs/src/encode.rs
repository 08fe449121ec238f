//! Requests and their encoding into netlink bytes. Attribute order and
//! widths follow the kernel's `ip_vs_genl_parse_service` /
//! `ip_vs_genl_parse_dest`.
//!
//! The bytes are written straight into the outgoing buffer: a netlink
//! attribute is a length, a type and the payload padded to 4 bytes, and a
//! nest the same around its children. neli's builders (used here before,
//! and still for everything read back) allocate a buffer per attribute and
//! serialize each nest twice: 1.3 µs a request on the host, 0.8 of the 1.8 s
//! that ipvsd's first pass of 30,000 writes took in the emulated guest. The
//! golden tests (tests/golden.rs) hold the bytes, written by hand from the
//! kernel's layout.

use std::net::IpAddr;

use neli::consts::nl::NlmF;
use serde::{Deserialize, Serialize};

use crate::consts::*;
use crate::error::{IpvsError, Result};
use crate::model::*;

/// One IPVS command. `is_write()` requests change the kernel table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    NewService(Service),
    SetService(Service),
    DelService(ServiceKey),
    /// Dump of all services.
    GetServices,
    /// One service by identity.
    GetService(ServiceKey),
    NewDest(ServiceKey, Dest),
    SetDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
    /// Dump of the destinations of one service.
    GetDests(ServiceKey),
    NewDaemon(Daemon),
    DelDaemon(DaemonState),
    GetDaemons,
    SetTimeouts(Timeouts),
    GetTimeouts,
    GetInfo,
    /// Zero counters of one service, or of all with `None`.
    Zero(Option<ServiceKey>),
    /// Remove every service and destination.
    Flush,
}

impl Request {
    pub fn cmd(&self) -> u8 {
        match self {
            Request::NewService(_) => IPVS_CMD_NEW_SERVICE,
            Request::SetService(_) => IPVS_CMD_SET_SERVICE,
            Request::DelService(_) => IPVS_CMD_DEL_SERVICE,
            Request::GetServices | Request::GetService(_) => IPVS_CMD_GET_SERVICE,
            Request::NewDest(..) => IPVS_CMD_NEW_DEST,
            Request::SetDest(..) => IPVS_CMD_SET_DEST,
            Request::DelDest(..) => IPVS_CMD_DEL_DEST,
            Request::GetDests(_) => IPVS_CMD_GET_DEST,
            Request::NewDaemon(_) => IPVS_CMD_NEW_DAEMON,
            Request::DelDaemon(_) => IPVS_CMD_DEL_DAEMON,
            Request::GetDaemons => IPVS_CMD_GET_DAEMON,
            Request::SetTimeouts(_) => IPVS_CMD_SET_CONFIG,
            Request::GetTimeouts => IPVS_CMD_GET_CONFIG,
            Request::GetInfo => IPVS_CMD_GET_INFO,
            Request::Zero(_) => IPVS_CMD_ZERO,
            Request::Flush => IPVS_CMD_FLUSH,
        }
    }

    /// Multi-part replies (NLM_F_DUMP).
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::GetServices | Request::GetDests(_) | Request::GetDaemons
        )
    }

    /// Requests that modify kernel state (counted by `IpvsSocket::writes`).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Request::GetServices
                | Request::GetService(_)
                | Request::GetDests(_)
                | Request::GetDaemons
                | Request::GetTimeouts
                | Request::GetInfo
        )
    }

    /// Netlink flags: writes and single gets ask for an ACK, dumps for DUMP.
    pub fn flags(&self) -> NlmF {
        if self.is_dump() {
            NlmF::REQUEST | NlmF::DUMP
        } else {
            NlmF::REQUEST | NlmF::ACK
        }
    }
}

/// What an attribute carries, in the kernel's (native) byte order; values
/// the kernel reads big-endian are converted by the caller (`to_be`).
trait Payload {
    fn put(&self, out: &mut Vec<u8>);
}

impl Payload for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Payload for u16 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_ne_bytes());
    }
}

impl Payload for u32 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_ne_bytes());
    }
}

impl Payload for [u8] {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

/// A name: its bytes and the terminating NUL the kernel's `nla_strscpy`
/// policy expects.
struct Name<'a>(&'a str);

impl Payload for Name<'_> {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_bytes());
        out.push(0);
    }
}

const NLA_F_NESTED: u16 = 0x8000;
const NLA_HDRLEN: usize = 4;
const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

/// Netlink attributes written in place into one message.
struct Attrs<'a> {
    out: &'a mut Vec<u8>,
}

impl Attrs<'_> {
    /// Reserve an attribute header; `finish` writes it once the payload is in.
    fn open(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; NLA_HDRLEN]);
        at
    }

    fn finish(&mut self, at: usize, t: u16) -> Result<()> {
        let len = u16::try_from(self.out.len() - at)
            .map_err(|_| IpvsError::Invalid("a netlink attribute over 64 KiB".into()))?;
        self.out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        self.out[at + 2..at + 4].copy_from_slice(&t.to_ne_bytes());
        // The next attribute starts 4-byte aligned (the padding is not
        // part of this one's length).
        self.out
            .resize(self.out.len().next_multiple_of(NLA_HDRLEN), 0);
        Ok(())
    }

    fn attr<P: Payload + ?Sized>(&mut self, t: u16, p: &P) -> Result<()> {
        let at = self.open();
        p.put(self.out);
        self.finish(at, t)
    }

    fn addr(&mut self, t: u16, a: &IpAddr) -> Result<()> {
        match a {
            IpAddr::V4(v) => self.attr(t, &v.octets()[..]),
            IpAddr::V6(v) => self.attr(t, &v.octets()[..]),
        }
    }

    /// A nest (NLA_F_NESTED set, even when it ends up empty) around what
    /// `children` writes.
    fn nest(&mut self, t: u16, children: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let at = self.open();
        children(self)?;
        self.finish(at, t | NLA_F_NESTED)
    }
}

fn name_str<'a>(what: &str, s: &'a str, max: usize) -> Result<Name<'a>> {
    if s.is_empty() || s.len() >= max || s.contains('\0') {
        return Err(IpvsError::Invalid(format!(
            "{what} {s:?} must be 1..{} bytes without NUL",
            max - 1
        )));
    }
    Ok(Name(s))
}

/// Identity attributes of a service: AF and either protocol/addr/port or fwmark.
fn service_ident(a: &mut Attrs, key: &ServiceKey) -> Result<()> {
    a.attr(IPVS_SVC_ATTR_AF, &key.af().to_raw())?;
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            a.attr(IPVS_SVC_ATTR_PROTOCOL, &protocol.to_raw())?;
            a.addr(IPVS_SVC_ATTR_ADDR, addr)?;
            a.attr(IPVS_SVC_ATTR_PORT, &port.to_be())
        }
        ServiceKey::Fwmark { mark, .. } => a.attr(IPVS_SVC_ATTR_FWMARK, mark),
    }
}

/// Wire form of the netmask: a big-endian mask for IPv4, a native prefix
/// length for IPv6 (the kernel reads the same `__be32` both ways).
pub(crate) fn netmask_wire(af: Family, netmask: u32) -> u32 {
    match af {
        Family::Inet => netmask.to_be(),
        Family::Inet6 => netmask,
    }
}

fn service_full(a: &mut Attrs, s: &Service) -> Result<()> {
    // Checked before anything is written (an error leaves no half message
    // behind in a batch: the caller drops the buffer's tail anyway).
    let sched = name_str("scheduler", s.sched.as_str(), IP_VS_SCHEDNAME_MAXLEN)?;
    let pe = match &s.pe_name {
        Some(pe) => Some(name_str("persistence engine", pe, IP_VS_PENAME_MAXLEN)?),
        None => None,
    };
    if s.key.af() == Family::Inet6 && !(1..=128).contains(&s.netmask) {
        return Err(IpvsError::Invalid(format!(
            "IPv6 prefix length {} not in 1..=128",
            s.netmask
        )));
    }
    service_ident(a, &s.key)?;
    a.attr(IPVS_SVC_ATTR_SCHED_NAME, &sched)?;
    if let Some(pe) = &pe {
        a.attr(IPVS_SVC_ATTR_PE_NAME, pe)?;
    }
    // struct ip_vs_flags { flags, mask }: the mask makes the kernel take every bit.
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.flags.config().0.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    a.attr(IPVS_SVC_ATTR_FLAGS, &flags[..])?;
    a.attr(IPVS_SVC_ATTR_TIMEOUT, &s.timeout)?;
    a.attr(IPVS_SVC_ATTR_NETMASK, &netmask_wire(s.key.af(), s.netmask))
}

fn dest_ident(a: &mut Attrs, d: &DestKey) -> Result<()> {
    a.addr(IPVS_DEST_ATTR_ADDR, &d.addr)?;
    a.attr(IPVS_DEST_ATTR_PORT, &d.port.to_be())?;
    a.attr(IPVS_DEST_ATTR_ADDR_FAMILY, &Family::of(&d.addr).to_raw())
}

fn dest_full(a: &mut Attrs, d: &Dest) -> Result<()> {
    if i32::try_from(d.weight).is_err() {
        return Err(IpvsError::Invalid(format!(
            "weight {} exceeds i32",
            d.weight
        )));
    }
    a.addr(IPVS_DEST_ATTR_ADDR, &d.addr)?;
    a.attr(IPVS_DEST_ATTR_PORT, &d.port.to_be())?;
    a.attr(IPVS_DEST_ATTR_FWD_METHOD, &d.fwd.to_raw())?;
    a.attr(IPVS_DEST_ATTR_WEIGHT, &d.weight)?;
    a.attr(IPVS_DEST_ATTR_U_THRESH, &d.u_thresh)?;
    a.attr(IPVS_DEST_ATTR_L_THRESH, &d.l_thresh)?;
    a.attr(IPVS_DEST_ATTR_ADDR_FAMILY, &d.addr_family().to_raw())?;
    if d.fwd == FwdMethod::Tunnel {
        a.attr(IPVS_DEST_ATTR_TUN_TYPE, &d.tun_type.to_raw())?;
        a.attr(IPVS_DEST_ATTR_TUN_PORT, &d.tun_port.to_be())?;
        a.attr(IPVS_DEST_ATTR_TUN_FLAGS, &d.tun_flags)?;
    }
    Ok(())
}

fn daemon_attrs(a: &mut Attrs, d: &Daemon) -> Result<()> {
    let ifn = name_str("interface", &d.mcast_ifn, IP_VS_IFNAME_MAXLEN)?;
    a.attr(IPVS_DAEMON_ATTR_STATE, &d.state.to_raw())?;
    a.attr(IPVS_DAEMON_ATTR_MCAST_IFN, &ifn)?;
    a.attr(IPVS_DAEMON_ATTR_SYNC_ID, &d.sync_id)?;
    if let Some(m) = d.sync_maxlen {
        a.attr(IPVS_DAEMON_ATTR_SYNC_MAXLEN, &m)?;
    }
    match &d.mcast_group {
        Some(g @ IpAddr::V4(_)) => a.addr(IPVS_DAEMON_ATTR_MCAST_GROUP, g)?,
        Some(g @ IpAddr::V6(_)) => a.addr(IPVS_DAEMON_ATTR_MCAST_GROUP6, g)?,
        None => {}
    }
    if let Some(p) = d.mcast_port {
        a.attr(IPVS_DAEMON_ATTR_MCAST_PORT, &p)?;
    }
    if let Some(t) = d.mcast_ttl {
        a.attr(IPVS_DAEMON_ATTR_MCAST_TTL, &t)?;
    }
    Ok(())
}

/// Top-level attributes of a request.
fn request_attrs(a: &mut Attrs, req: &Request) -> Result<()> {
    match req {
        Request::NewService(s) | Request::SetService(s) => {
            a.nest(IPVS_CMD_ATTR_SERVICE, |a| service_full(a, s))
        }
        Request::DelService(k)
        | Request::GetService(k)
        | Request::GetDests(k)
        | Request::Zero(Some(k)) => a.nest(IPVS_CMD_ATTR_SERVICE, |a| service_ident(a, k)),
        Request::NewDest(k, d) | Request::SetDest(k, d) => {
            a.nest(IPVS_CMD_ATTR_SERVICE, |a| service_ident(a, k))?;
            a.nest(IPVS_CMD_ATTR_DEST, |a| dest_full(a, d))
        }
        Request::DelDest(k, d) => {
            a.nest(IPVS_CMD_ATTR_SERVICE, |a| service_ident(a, k))?;
            a.nest(IPVS_CMD_ATTR_DEST, |a| dest_ident(a, d))
        }
        Request::NewDaemon(d) => a.nest(IPVS_CMD_ATTR_DAEMON, |a| daemon_attrs(a, d)),
        Request::DelDaemon(st) => a.nest(IPVS_CMD_ATTR_DAEMON, |a| {
            a.attr(IPVS_DAEMON_ATTR_STATE, &st.to_raw())
        }),
        Request::SetTimeouts(t) => {
            for (at, val) in [
                (IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp),
                (IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin),
                (IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp),
            ] {
                if val != 0 {
                    a.attr(at, &val)?;
                }
            }
            Ok(())
        }
        Request::GetServices
        | Request::GetDaemons
        | Request::GetTimeouts
        | Request::GetInfo
        | Request::Zero(None)
        | Request::Flush => Ok(()),
    }
}

/// One message appended to `out`: the netlink and generic netlink headers,
/// then what `attrs` writes. On an error `out` is left as it was.
fn serialize_into(
    out: &mut Vec<u8>,
    header: (u16, NlmF, u32, u32),
    cmd: u8,
    version: u8,
    attrs: impl FnOnce(&mut Attrs) -> Result<()>,
) -> Result<()> {
    let (nl_type, flags, seq, pid) = header;
    // Messages of a datagram start 4-byte aligned.
    out.resize(out.len().next_multiple_of(4), 0);
    let at = out.len();
    out.extend_from_slice(&[0; NLMSG_HDRLEN]);
    out[at + 4..at + 6].copy_from_slice(&nl_type.to_ne_bytes());
    out[at + 6..at + 8].copy_from_slice(&flags.bits().to_ne_bytes());
    out[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
    out[at + 12..at + 16].copy_from_slice(&pid.to_ne_bytes());
    out.extend_from_slice(&[cmd, version, 0, 0]);
    debug_assert_eq!(out.len() - at, NLMSG_HDRLEN + GENL_HDRLEN);
    if let Err(e) = attrs(&mut Attrs { out }) {
        out.truncate(at);
        return Err(e);
    }
    let len = u32::try_from(out.len() - at)
        .map_err(|_| IpvsError::Invalid("a netlink message over 4 GiB".into()))?;
    out[at..at + 4].copy_from_slice(&len.to_ne_bytes());
    Ok(())
}

/// Encode an IPVS request for the resolved family id.
pub fn encode(req: &Request, family: u16, seq: u32, pid: u32) -> Result<Vec<u8>> {
    encode_flags(req, family, seq, pid, req.flags())
}

/// [`encode`] with the netlink flags given: a batch of writes asks an ACK
/// of its last message only (the kernel reports an error of any).
pub fn encode_flags(
    req: &Request,
    family: u16,
    seq: u32,
    pid: u32,
    flags: NlmF,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    encode_into(&mut out, req, family, seq, pid, flags)?;
    Ok(out)
}

/// [`encode_flags`] appended to `out` (a batch's datagram), 4-byte aligned.
pub fn encode_into(
    out: &mut Vec<u8>,
    req: &Request,
    family: u16,
    seq: u32,
    pid: u32,
    flags: NlmF,
) -> Result<()> {
    serialize_into(
        out,
        (family, flags, seq, pid),
        req.cmd(),
        IPVS_GENL_VERSION,
        |a| request_attrs(a, req),
    )
}

/// Encode CTRL_CMD_GETFAMILY for "IPVS".
pub fn encode_get_family(seq: u32, pid: u32) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    serialize_into(
        &mut out,
        (GENL_ID_CTRL, NlmF::REQUEST | NlmF::ACK, seq, pid),
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
        |a| a.attr(CTRL_ATTR_FAMILY_NAME, &Name(IPVS_GENL_NAME)),
    )?;
    Ok(out)
}
