//! Decoding of kernel replies. The walker over netlink messages and
//! attributes is our own, bounds-checked code rather than neli's parser:
//! neli's `Nlmsghdr` decoder computes `nl_len - 16` unchecked, so a
//! malformed reply could panic; here every length is checked and a bad
//! reply becomes `IpvsError::Malformed`. Unknown attributes are skipped.

use serde::{Deserialize, Serialize};

use crate::consts::*;
use crate::error::{IpvsError, Result};
use crate::model::*;

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn bad(s: impl Into<String>) -> IpvsError {
    IpvsError::Malformed(s.into())
}

/// One netlink message as framed in a receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMsg<'a> {
    pub nl_type: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    pub payload: &'a [u8],
}

/// Split a receive buffer into netlink messages.
pub fn messages(buf: &[u8]) -> Result<Vec<RawMsg<'_>>> {
    let mut out = Vec::new();
    let mut off = 0;
    while buf.len() - off >= NLMSG_HDRLEN {
        let h = &buf[off..];
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if len < NLMSG_HDRLEN || len > h.len() {
            return Err(bad(format!(
                "netlink message length {len} with {} bytes left",
                h.len()
            )));
        }
        out.push(RawMsg {
            nl_type: u16::from_ne_bytes([h[4], h[5]]),
            flags: u16::from_ne_bytes([h[6], h[7]]),
            seq: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
            pid: u32::from_ne_bytes([h[12], h[13], h[14], h[15]]),
            payload: &h[NLMSG_HDRLEN..len],
        });
        off += align4(len).min(h.len());
    }
    if off != buf.len() {
        return Err(bad(format!(
            "{} trailing bytes after netlink messages",
            buf.len() - off
        )));
    }
    Ok(out)
}

/// What a netlink message means to a requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// NLMSG_ERROR with 0.
    Ack,
    /// NLMSG_ERROR with a negative errno (stored positive).
    Error(i32),
    /// End of a dump.
    Done,
    /// A generic netlink message: command and its top-level attribute bytes.
    Genl { cmd: u8, attrs: &'a [u8] },
    /// NOOP and other control messages to skip.
    Skip,
}

fn i32_at(b: &[u8]) -> Option<i32> {
    b.get(..4)
        .map(|s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Interpret a message; `family` is the resolved genl id it may carry.
pub fn classify<'a>(m: &RawMsg<'a>, family: u16) -> Result<Message<'a>> {
    match m.nl_type {
        NLMSG_ERROR => {
            let code = i32_at(m.payload).ok_or_else(|| bad("short NLMSG_ERROR"))?;
            Ok(if code == 0 {
                Message::Ack
            } else {
                Message::Error(code.saturating_neg())
            })
        }
        NLMSG_DONE => match i32_at(m.payload) {
            Some(code) if code < 0 => Ok(Message::Error(code.saturating_neg())),
            _ => Ok(Message::Done),
        },
        NLMSG_NOOP => Ok(Message::Skip),
        NLMSG_OVERRUN => Err(bad("netlink overrun")),
        t if t == family => {
            if m.payload.len() < GENL_HDRLEN {
                return Err(bad("short generic netlink header"));
            }
            Ok(Message::Genl {
                cmd: m.payload[0],
                attrs: &m.payload[GENL_HDRLEN..],
            })
        }
        _ => Ok(Message::Skip),
    }
}

/// Attributes of a buffer as (type without NLA_F_* bits, payload).
pub fn attrs(buf: &[u8]) -> Result<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    let mut off = 0;
    while buf.len() - off >= 4 {
        let h = &buf[off..];
        let len = u16::from_ne_bytes([h[0], h[1]]) as usize;
        let ty = u16::from_ne_bytes([h[2], h[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > h.len() {
            return Err(bad(format!(
                "attribute {ty} length {len} with {} bytes left",
                h.len()
            )));
        }
        out.push((ty, &h[4..len]));
        off += align4(len).min(h.len());
    }
    if off != buf.len() {
        return Err(bad("trailing bytes after attributes"));
    }
    Ok(out)
}

fn find<'a>(a: &[(u16, &'a [u8])], t: u16) -> Option<&'a [u8]> {
    a.iter().find(|(ty, _)| *ty == t).map(|(_, p)| *p)
}

fn u8_of(b: &[u8]) -> Result<u8> {
    b.first().copied().ok_or_else(|| bad("short u8"))
}
fn u16_of(b: &[u8]) -> Result<u16> {
    b.get(..2)
        .map(|s| u16::from_ne_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("short u16"))
}
fn be16_of(b: &[u8]) -> Result<u16> {
    b.get(..2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("short be16"))
}
fn u32_of(b: &[u8]) -> Result<u32> {
    b.get(..4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("short u32"))
}
/// u32 or u64 by length (the 32-bit stats mix both widths).
fn uint_of(b: &[u8]) -> Result<u64> {
    match b.len() {
        8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Ok(u64::from_ne_bytes(a))
        }
        4 => u32_of(b).map(u64::from),
        n => Err(bad(format!("integer of {n} bytes"))),
    }
}
fn string_of(b: &[u8]) -> Result<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8(b[..end].to_vec()).map_err(|_| bad("non-UTF-8 name"))
}
fn req<'a>(a: &[(u16, &'a [u8])], t: u16, what: &str) -> Result<&'a [u8]> {
    find(a, t).ok_or_else(|| bad(format!("missing {what}")))
}

/// Generic netlink family id from a CTRL_CMD_NEWFAMILY reply.
pub fn family_id(top: &[u8]) -> Result<u16> {
    u16_of(req(
        &attrs(top)?,
        CTRL_ATTR_FAMILY_ID,
        "CTRL_ATTR_FAMILY_ID",
    )?)
}

fn stats_of(b: &[u8]) -> Result<Stats> {
    let a = attrs(b)?;
    let g = |t| find(&a, t).map(uint_of).transpose().map(|v| v.unwrap_or(0));
    Ok(Stats {
        conns: g(IPVS_STATS_ATTR_CONNS)?,
        inpkts: g(IPVS_STATS_ATTR_INPKTS)?,
        outpkts: g(IPVS_STATS_ATTR_OUTPKTS)?,
        inbytes: g(IPVS_STATS_ATTR_INBYTES)?,
        outbytes: g(IPVS_STATS_ATTR_OUTBYTES)?,
        cps: g(IPVS_STATS_ATTR_CPS)?,
        inpps: g(IPVS_STATS_ATTR_INPPS)?,
        outpps: g(IPVS_STATS_ATTR_OUTPPS)?,
        inbps: g(IPVS_STATS_ATTR_INBPS)?,
        outbps: g(IPVS_STATS_ATTR_OUTBPS)?,
    })
}

fn stats_pref(a: &[(u16, &[u8])], s64: u16, s32: u16) -> Result<Stats> {
    match (find(a, s64), find(a, s32)) {
        (Some(b), _) | (None, Some(b)) => stats_of(b),
        (None, None) => Ok(Stats::default()),
    }
}

/// A service from the nested IPVS_CMD_ATTR_SERVICE payload.
pub fn service(nested: &[u8]) -> Result<ServiceEntry> {
    let a = attrs(nested)?;
    let af_raw = u16_of(req(&a, IPVS_SVC_ATTR_AF, "service AF")?)?;
    let af = Family::from_raw(af_raw).ok_or_else(|| bad(format!("service family {af_raw}")))?;
    let key = if let Some(m) =
        find(&a, IPVS_SVC_ATTR_FWMARK).filter(|m| u32_of(m).is_ok_and(|v| v != 0))
    {
        ServiceKey::Fwmark {
            af,
            mark: u32_of(m)?,
        }
    } else {
        let p = u16_of(req(&a, IPVS_SVC_ATTR_PROTOCOL, "service protocol")?)?;
        let protocol = Protocol::from_raw(p).ok_or_else(|| bad(format!("protocol {p}")))?;
        let addr = parse_addr(af, req(&a, IPVS_SVC_ATTR_ADDR, "service address")?)
            .ok_or_else(|| bad("service address length"))?;
        let port = be16_of(req(&a, IPVS_SVC_ATTR_PORT, "service port")?)?;
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        }
    };
    let sched = Scheduler::from_name(&string_of(req(&a, IPVS_SVC_ATTR_SCHED_NAME, "scheduler")?)?);
    let flags = match find(&a, IPVS_SVC_ATTR_FLAGS) {
        Some(f) => ServiceFlags(u32_of(f)?),
        None => ServiceFlags::default(),
    };
    let timeout = find(&a, IPVS_SVC_ATTR_TIMEOUT)
        .map(u32_of)
        .transpose()?
        .unwrap_or(0);
    let netmask = match find(&a, IPVS_SVC_ATTR_NETMASK) {
        Some(n) => {
            let raw = u32_of(n)?;
            match af {
                Family::Inet => u32::from_be(raw),
                Family::Inet6 => raw,
            }
        }
        None => default_netmask(af),
    };
    let pe_name = find(&a, IPVS_SVC_ATTR_PE_NAME)
        .map(string_of)
        .transpose()?
        .filter(|s| !s.is_empty());
    Ok(ServiceEntry {
        service: Service {
            key,
            sched,
            flags,
            timeout,
            netmask,
            pe_name,
        },
        stats: stats_pref(&a, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_STATS)?,
    })
}

/// A destination from the nested IPVS_CMD_ATTR_DEST payload; `svc_af` is
/// used when the kernel does not report the destination's own family.
pub fn dest(nested: &[u8], svc_af: Family) -> Result<DestEntry> {
    let a = attrs(nested)?;
    let af = match find(&a, IPVS_DEST_ATTR_ADDR_FAMILY) {
        Some(f) => {
            let raw = u16_of(f)?;
            Family::from_raw(raw).ok_or_else(|| bad(format!("destination family {raw}")))?
        }
        None => svc_af,
    };
    let addr = parse_addr(af, req(&a, IPVS_DEST_ATTR_ADDR, "destination address")?)
        .ok_or_else(|| bad("destination address length"))?;
    let port = be16_of(req(&a, IPVS_DEST_ATTR_PORT, "destination port")?)?;
    let fwd_raw = u32_of(req(&a, IPVS_DEST_ATTR_FWD_METHOD, "forwarding method")?)?;
    let fwd =
        FwdMethod::from_raw(fwd_raw).ok_or_else(|| bad(format!("forwarding method {fwd_raw}")))?;
    let u32_or0 = |t| find(&a, t).map(u32_of).transpose().map(|v| v.unwrap_or(0));
    let tun_type = match find(&a, IPVS_DEST_ATTR_TUN_TYPE) {
        Some(t) => {
            let raw = u8_of(t)?;
            TunType::from_raw(raw).ok_or_else(|| bad(format!("tunnel type {raw}")))?
        }
        None => TunType::Ipip,
    };
    Ok(DestEntry {
        dest: Dest {
            addr,
            port,
            fwd,
            weight: u32_or0(IPVS_DEST_ATTR_WEIGHT)?,
            u_thresh: u32_or0(IPVS_DEST_ATTR_U_THRESH)?,
            l_thresh: u32_or0(IPVS_DEST_ATTR_L_THRESH)?,
            tun_type,
            tun_port: find(&a, IPVS_DEST_ATTR_TUN_PORT)
                .map(be16_of)
                .transpose()?
                .unwrap_or(0),
            tun_flags: find(&a, IPVS_DEST_ATTR_TUN_FLAGS)
                .map(u16_of)
                .transpose()?
                .unwrap_or(0),
        },
        active_conns: u32_or0(IPVS_DEST_ATTR_ACTIVE_CONNS)?,
        inact_conns: u32_or0(IPVS_DEST_ATTR_INACT_CONNS)?,
        persist_conns: u32_or0(IPVS_DEST_ATTR_PERSIST_CONNS)?,
        stats: stats_pref(&a, IPVS_DEST_ATTR_STATS64, IPVS_DEST_ATTR_STATS)?,
    })
}

/// A sync daemon from the nested IPVS_CMD_ATTR_DAEMON payload.
pub fn daemon(nested: &[u8]) -> Result<Daemon> {
    let a = attrs(nested)?;
    let st = u32_of(req(&a, IPVS_DAEMON_ATTR_STATE, "daemon state")?)?;
    let mcast_group = match (
        find(&a, IPVS_DAEMON_ATTR_MCAST_GROUP),
        find(&a, IPVS_DAEMON_ATTR_MCAST_GROUP6),
    ) {
        (Some(g), _) => parse_addr(Family::Inet, g),
        (None, Some(g)) => parse_addr(Family::Inet6, g),
        _ => None,
    };
    Ok(Daemon {
        state: DaemonState::from_raw(st).ok_or_else(|| bad(format!("daemon state {st}")))?,
        mcast_ifn: string_of(req(&a, IPVS_DAEMON_ATTR_MCAST_IFN, "daemon interface")?)?,
        sync_id: u32_of(req(&a, IPVS_DAEMON_ATTR_SYNC_ID, "daemon sync id")?)?,
        sync_maxlen: find(&a, IPVS_DAEMON_ATTR_SYNC_MAXLEN)
            .map(u16_of)
            .transpose()?,
        mcast_group,
        mcast_port: find(&a, IPVS_DAEMON_ATTR_MCAST_PORT)
            .map(u16_of)
            .transpose()?,
        mcast_ttl: find(&a, IPVS_DAEMON_ATTR_MCAST_TTL)
            .map(u8_of)
            .transpose()?,
    })
}

/// Info from the top-level attributes of an IPVS_CMD_SET_INFO reply.
pub fn info(top: &[u8]) -> Result<Info> {
    let a = attrs(top)?;
    Ok(Info {
        version: u32_of(req(&a, IPVS_INFO_ATTR_VERSION, "IPVS version")?)?,
        conn_tab_size: u32_of(req(
            &a,
            IPVS_INFO_ATTR_CONN_TAB_SIZE,
            "connection table size",
        )?)?,
    })
}

/// Timeouts from the top-level attributes of an IPVS_CMD_SET_CONFIG reply.
pub fn timeouts(top: &[u8]) -> Result<Timeouts> {
    let a = attrs(top)?;
    let g = |t| find(&a, t).map(u32_of).transpose().map(|v| v.unwrap_or(0));
    Ok(Timeouts {
        tcp: g(IPVS_CMD_ATTR_TIMEOUT_TCP)?,
        tcp_fin: g(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)?,
        udp: g(IPVS_CMD_ATTR_TIMEOUT_UDP)?,
    })
}

/// A decoded IPVS reply message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Service(ServiceEntry),
    Dest(DestEntry),
    Daemon(Daemon),
    Info(Info),
    Timeouts(Timeouts),
    /// A command this library does not interpret.
    Other(u8),
}

/// Decode the payload of one IPVS genl message.
pub fn reply(cmd: u8, top: &[u8], svc_af: Family) -> Result<Reply> {
    let nested = |t| -> Result<&[u8]> {
        let a = attrs(top)?;
        find(&a, t).ok_or_else(|| bad(format!("reply command {cmd} without attribute {t}")))
    };
    Ok(match cmd {
        IPVS_CMD_NEW_SERVICE => Reply::Service(service(nested(IPVS_CMD_ATTR_SERVICE)?)?),
        IPVS_CMD_NEW_DEST => Reply::Dest(dest(nested(IPVS_CMD_ATTR_DEST)?, svc_af)?),
        IPVS_CMD_NEW_DAEMON => Reply::Daemon(daemon(nested(IPVS_CMD_ATTR_DAEMON)?)?),
        IPVS_CMD_SET_INFO => Reply::Info(info(top)?),
        IPVS_CMD_SET_CONFIG => Reply::Timeouts(timeouts(top)?),
        c => Reply::Other(c),
    })
}
