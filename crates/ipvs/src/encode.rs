//! Requests and their encoding into netlink bytes, built with neli's
//! `Nlmsghdr` / `Genlmsghdr` / `Nlattr` types. Attribute order and widths
//! follow the kernel's `ip_vs_genl_parse_service` / `ip_vs_genl_parse_dest`.

use std::io::Cursor;
use std::net::IpAddr;

use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{Size, ToBytes};
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

type Attr = Nlattr<u16, Buffer>;

fn attr<P: Size + ToBytes>(t: u16, p: P) -> Result<Attr> {
    NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(t)
                .build()
                .map_err(|e| IpvsError::Invalid(e.to_string()))?,
        )
        .nla_payload(p)
        .build()
        .map_err(|e| IpvsError::Invalid(e.to_string()))
}

fn nest(t: u16, children: &[Attr]) -> Result<Attr> {
    let mut a = attr(t, Buffer::from(Vec::new()))?;
    for c in children {
        a = a.nest(c).map_err(|e| IpvsError::Invalid(e.to_string()))?;
    }
    // A nest without children must still carry NLA_F_NESTED.
    if children.is_empty() {
        a = NlattrBuilder::default()
            .nla_type(
                AttrTypeBuilder::default()
                    .nla_type(t)
                    .nla_nested(true)
                    .build()
                    .map_err(|e| IpvsError::Invalid(e.to_string()))?,
            )
            .nla_payload(Buffer::from(Vec::new()))
            .build()
            .map_err(|e| IpvsError::Invalid(e.to_string()))?;
    }
    Ok(a)
}

fn name_str(what: &str, s: &str, max: usize) -> Result<String> {
    if s.is_empty() || s.len() >= max || s.contains('\0') {
        return Err(IpvsError::Invalid(format!(
            "{what} {s:?} must be 1..{} bytes without NUL",
            max - 1
        )));
    }
    Ok(s.to_string())
}

fn addr_attr(t: u16, a: &IpAddr) -> Result<Attr> {
    attr(t, Buffer::from(addr_octets(a)))
}

/// Identity attributes of a service: AF and either protocol/addr/port or fwmark.
fn service_ident(key: &ServiceKey) -> Result<Vec<Attr>> {
    let mut v = vec![attr(IPVS_SVC_ATTR_AF, key.af().to_raw())?];
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            v.push(attr(IPVS_SVC_ATTR_PROTOCOL, protocol.to_raw())?);
            v.push(addr_attr(IPVS_SVC_ATTR_ADDR, addr)?);
            v.push(attr(IPVS_SVC_ATTR_PORT, port.to_be())?);
        }
        ServiceKey::Fwmark { mark, .. } => {
            v.push(attr(IPVS_SVC_ATTR_FWMARK, *mark)?);
        }
    }
    Ok(v)
}

/// Wire form of the netmask: a big-endian mask for IPv4, a native prefix
/// length for IPv6 (the kernel reads the same `__be32` both ways).
pub(crate) fn netmask_wire(af: Family, netmask: u32) -> u32 {
    match af {
        Family::Inet => netmask.to_be(),
        Family::Inet6 => netmask,
    }
}

fn service_full(s: &Service) -> Result<Vec<Attr>> {
    let mut v = service_ident(&s.key)?;
    v.push(attr(
        IPVS_SVC_ATTR_SCHED_NAME,
        name_str("scheduler", s.sched.as_str(), IP_VS_SCHEDNAME_MAXLEN)?,
    )?);
    if let Some(pe) = &s.pe_name {
        v.push(attr(
            IPVS_SVC_ATTR_PE_NAME,
            name_str("persistence engine", pe, IP_VS_PENAME_MAXLEN)?,
        )?);
    }
    // struct ip_vs_flags { flags, mask }: the mask makes the kernel take every bit.
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.flags.config().0.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    v.push(attr(IPVS_SVC_ATTR_FLAGS, flags)?);
    v.push(attr(IPVS_SVC_ATTR_TIMEOUT, s.timeout)?);
    if s.key.af() == Family::Inet6 && !(1..=128).contains(&s.netmask) {
        return Err(IpvsError::Invalid(format!(
            "IPv6 prefix length {} not in 1..=128",
            s.netmask
        )));
    }
    v.push(attr(
        IPVS_SVC_ATTR_NETMASK,
        netmask_wire(s.key.af(), s.netmask),
    )?);
    Ok(v)
}

fn dest_ident(d: &DestKey) -> Result<Vec<Attr>> {
    Ok(vec![
        addr_attr(IPVS_DEST_ATTR_ADDR, &d.addr)?,
        attr(IPVS_DEST_ATTR_PORT, d.port.to_be())?,
        attr(IPVS_DEST_ATTR_ADDR_FAMILY, Family::of(&d.addr).to_raw())?,
    ])
}

fn dest_full(d: &Dest) -> Result<Vec<Attr>> {
    let mut v = vec![
        addr_attr(IPVS_DEST_ATTR_ADDR, &d.addr)?,
        attr(IPVS_DEST_ATTR_PORT, d.port.to_be())?,
        attr(IPVS_DEST_ATTR_FWD_METHOD, d.fwd.to_raw())?,
        attr(IPVS_DEST_ATTR_WEIGHT, d.weight)?,
        attr(IPVS_DEST_ATTR_U_THRESH, d.u_thresh)?,
        attr(IPVS_DEST_ATTR_L_THRESH, d.l_thresh)?,
        attr(IPVS_DEST_ATTR_ADDR_FAMILY, d.addr_family().to_raw())?,
    ];
    if i32::try_from(d.weight).is_err() {
        return Err(IpvsError::Invalid(format!(
            "weight {} exceeds i32",
            d.weight
        )));
    }
    if d.fwd == FwdMethod::Tunnel {
        v.push(attr(IPVS_DEST_ATTR_TUN_TYPE, d.tun_type.to_raw())?);
        v.push(attr(IPVS_DEST_ATTR_TUN_PORT, d.tun_port.to_be())?);
        v.push(attr(IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags)?);
    }
    Ok(v)
}

fn daemon_attrs(d: &Daemon) -> Result<Vec<Attr>> {
    let mut v = vec![
        attr(IPVS_DAEMON_ATTR_STATE, d.state.to_raw())?,
        attr(
            IPVS_DAEMON_ATTR_MCAST_IFN,
            name_str("interface", &d.mcast_ifn, IP_VS_IFNAME_MAXLEN)?,
        )?,
        attr(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id)?,
    ];
    if let Some(m) = d.sync_maxlen {
        v.push(attr(IPVS_DAEMON_ATTR_SYNC_MAXLEN, m)?);
    }
    match d.mcast_group {
        Some(a @ IpAddr::V4(_)) => v.push(addr_attr(IPVS_DAEMON_ATTR_MCAST_GROUP, &a)?),
        Some(a @ IpAddr::V6(_)) => v.push(addr_attr(IPVS_DAEMON_ATTR_MCAST_GROUP6, &a)?),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        v.push(attr(IPVS_DAEMON_ATTR_MCAST_PORT, p)?);
    }
    if let Some(t) = d.mcast_ttl {
        v.push(attr(IPVS_DAEMON_ATTR_MCAST_TTL, t)?);
    }
    Ok(v)
}

/// Top-level attributes of a request.
fn request_attrs(req: &Request) -> Result<Vec<Attr>> {
    Ok(match req {
        Request::NewService(s) | Request::SetService(s) => {
            vec![nest(IPVS_CMD_ATTR_SERVICE, &service_full(s)?)?]
        }
        Request::DelService(k) | Request::GetService(k) | Request::GetDests(k) => {
            vec![nest(IPVS_CMD_ATTR_SERVICE, &service_ident(k)?)?]
        }
        Request::Zero(Some(k)) => vec![nest(IPVS_CMD_ATTR_SERVICE, &service_ident(k)?)?],
        Request::NewDest(k, d) | Request::SetDest(k, d) => vec![
            nest(IPVS_CMD_ATTR_SERVICE, &service_ident(k)?)?,
            nest(IPVS_CMD_ATTR_DEST, &dest_full(d)?)?,
        ],
        Request::DelDest(k, d) => vec![
            nest(IPVS_CMD_ATTR_SERVICE, &service_ident(k)?)?,
            nest(IPVS_CMD_ATTR_DEST, &dest_ident(d)?)?,
        ],
        Request::NewDaemon(d) => vec![nest(IPVS_CMD_ATTR_DAEMON, &daemon_attrs(d)?)?],
        Request::DelDaemon(st) => vec![nest(
            IPVS_CMD_ATTR_DAEMON,
            &[attr(IPVS_DAEMON_ATTR_STATE, st.to_raw())?],
        )?],
        Request::SetTimeouts(t) => {
            let mut v = Vec::new();
            for (a, val) in [
                (IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp),
                (IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin),
                (IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp),
            ] {
                if val != 0 {
                    v.push(attr(a, val)?);
                }
            }
            v
        }
        Request::GetServices
        | Request::GetDaemons
        | Request::GetTimeouts
        | Request::GetInfo
        | Request::Zero(None)
        | Request::Flush => Vec::new(),
    })
}

fn serialize(
    nl_type: u16,
    flags: NlmF,
    seq: u32,
    pid: u32,
    cmd: u8,
    version: u8,
    attrs: Vec<Attr>,
) -> Result<Vec<u8>> {
    let genl: Genlmsghdr<u8, u16> = GenlmsghdrBuilder::default()
        .cmd(cmd)
        .version(version)
        .attrs(attrs.into_iter().collect::<GenlBuffer<u16, Buffer>>())
        .build()
        .map_err(|e| IpvsError::Invalid(e.to_string()))?;
    let msg: Nlmsghdr<u16, Genlmsghdr<u8, u16>> = NlmsghdrBuilder::default()
        .nl_type(nl_type)
        .nl_flags(flags)
        .nl_seq(seq)
        .nl_pid(pid)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|e| IpvsError::Invalid(e.to_string()))?;
    let mut buf = Cursor::new(vec![0u8; msg.padded_size()]);
    msg.to_bytes(&mut buf)
        .map_err(|e| IpvsError::Invalid(e.to_string()))?;
    Ok(buf.into_inner())
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
    serialize(
        family,
        flags,
        seq,
        pid,
        req.cmd(),
        IPVS_GENL_VERSION,
        request_attrs(req)?,
    )
}

/// Encode CTRL_CMD_GETFAMILY for "IPVS".
pub fn encode_get_family(seq: u32, pid: u32) -> Result<Vec<u8>> {
    serialize(
        GENL_ID_CTRL,
        NlmF::REQUEST | NlmF::ACK,
        seq,
        pid,
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
        vec![attr(CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME)?],
    )
}
