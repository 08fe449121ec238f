//! Typed model of the IPVS table: what is sent to and read from the kernel.
//! Plain data with serde so ipvsd can carry tables across IPC.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::consts::*;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
    pub fn to_raw(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }
    pub fn from_raw(v: u16) -> Option<Self> {
        match v {
            AF_INET => Some(Family::Inet),
            AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of a non-fwmark virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn to_raw(self) -> u16 {
        (match self {
            Protocol::Tcp => libc::IPPROTO_TCP,
            Protocol::Udp => libc::IPPROTO_UDP,
            Protocol::Sctp => libc::IPPROTO_SCTP,
        }) as u16
    }
    pub fn from_raw(v: u16) -> Option<Self> {
        match i32::from(v) {
            libc::IPPROTO_TCP => Some(Protocol::Tcp),
            libc::IPPROTO_UDP => Some(Protocol::Udp),
            libc::IPPROTO_SCTP => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServiceKey {
    /// protocol + address + port (the address carries the family).
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// Firewall-mark service; the family still matters (fwmark v4 and v6 are distinct).
    Fwmark { af: Family, mark: u32 },
}

impl ServiceKey {
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    pub fn fwmark(af: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { af, mark }
    }
    pub fn af(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// Same notation as `ipvsadm -Ln` (`TCP 10.0.0.1:80`, `FWM 7 IPv6`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let p = match protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                    Protocol::Sctp => "SCTP",
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{p} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{p} [{a}]:{port}"),
                }
            }
            ServiceKey::Fwmark {
                af: Family::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                af: Family::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// IPVS scheduler (the one vocabulary, with the configuration's
/// `lb_algo`); unknown names survive a dump round trip in `Other`.
pub use keepalived_types::Scheduler;

/// Service flags as the kernel stores them (`IP_VS_SVC_F_*`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    pub const PERSISTENT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_PERSISTENT);
    pub const HASHED: ServiceFlags = ServiceFlags(IP_VS_SVC_F_HASHED);
    pub const ONEPACKET: ServiceFlags = ServiceFlags(IP_VS_SVC_F_ONEPACKET);
    /// sh-fallback / mh-fallback.
    pub const SCHED_FALLBACK: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    /// sh-port / mh-port.
    pub const SCHED_PORT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);
    pub const SCHED3: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED3);

    pub fn contains(self, o: ServiceFlags) -> bool {
        self.0 & o.0 == o.0
    }
    /// Flags that are configuration (HASHED is kernel-internal state, set on every dump).
    pub fn config(self) -> ServiceFlags {
        ServiceFlags(self.0 & !IP_VS_SVC_F_HASHED)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, o: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | o.0)
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub key: ServiceKey,
    pub sched: Scheduler,
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity: for IPv4 a netmask in host order
    /// (`0xffff_ff00` = /24), for IPv6 a prefix length (1..=128),
    /// mirroring the kernel's two meanings of `IPVS_SVC_ATTR_NETMASK`.
    pub netmask: u32,
    /// Persistence engine (e.g. "sip").
    pub pe_name: Option<String>,
}

impl Service {
    /// A non-persistent service with the kernel's default netmask for its family.
    pub fn new(key: ServiceKey, sched: Scheduler) -> Self {
        Service {
            key,
            sched,
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: default_netmask(key.af()),
            pe_name: None,
        }
    }
    /// Whether two services have the same configuration (ignores kernel-set HASHED).
    pub fn same_config(&self, o: &Service) -> bool {
        self.key == o.key
            && self.sched == o.sched
            && self.flags.config() == o.flags.config()
            && self.timeout == o.timeout
            && self.netmask == o.netmask
            && self.pe_name == o.pe_name
    }
}

/// Netmask the kernel expects when no persistence granularity is set.
pub fn default_netmask(af: Family) -> u32 {
    match af {
        Family::Inet => 0xffff_ffff,
        Family::Inet6 => 128,
    }
}

/// Packet forwarding method of a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FwdMethod {
    /// NAT.
    Masq,
    Local,
    Tunnel,
    /// Direct routing.
    Route,
    Bypass,
}

impl FwdMethod {
    pub fn to_raw(self) -> u32 {
        match self {
            FwdMethod::Masq => IP_VS_CONN_F_MASQ,
            FwdMethod::Local => IP_VS_CONN_F_LOCALNODE,
            FwdMethod::Tunnel => IP_VS_CONN_F_TUNNEL,
            FwdMethod::Route => IP_VS_CONN_F_DROUTE,
            FwdMethod::Bypass => IP_VS_CONN_F_BYPASS,
        }
    }
    pub fn from_raw(v: u32) -> Option<Self> {
        match v & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => Some(FwdMethod::Masq),
            IP_VS_CONN_F_LOCALNODE => Some(FwdMethod::Local),
            IP_VS_CONN_F_TUNNEL => Some(FwdMethod::Tunnel),
            IP_VS_CONN_F_DROUTE => Some(FwdMethod::Route),
            IP_VS_CONN_F_BYPASS => Some(FwdMethod::Bypass),
            _ => None,
        }
    }
}

/// Tunnel encapsulation for `FwdMethod::Tunnel`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TunType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

impl TunType {
    pub fn to_raw(self) -> u8 {
        match self {
            TunType::Ipip => 0,
            TunType::Gue => 1,
            TunType::Gre => 2,
        }
    }
    pub fn from_raw(v: u8) -> Option<Self> {
        match v {
            0 => Some(TunType::Ipip),
            1 => Some(TunType::Gue),
            2 => Some(TunType::Gre),
            _ => None,
        }
    }
}

/// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
pub const TUN_FLAG_CSUM: u16 = 1;
pub const TUN_FLAG_REMCSUM: u16 = 2;

/// Identity of a destination inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// A real server of a virtual service. Its family is that of `addr`
/// (mixed-family destinations are only accepted by the kernel for tunnels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    pub fwd: FwdMethod,
    pub weight: u32,
    /// Upper connection threshold, 0 = none.
    pub u_thresh: u32,
    /// Lower connection threshold, 0 = none.
    pub l_thresh: u32,
    pub tun_type: TunType,
    /// GUE destination port.
    pub tun_port: u16,
    pub tun_flags: u16,
}

impl Dest {
    pub fn new(addr: IpAddr, port: u16, fwd: FwdMethod, weight: u32) -> Self {
        Dest {
            addr,
            port,
            fwd,
            weight,
            u_thresh: 0,
            l_thresh: 0,
            tun_type: TunType::Ipip,
            tun_port: 0,
            tun_flags: 0,
        }
    }
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }
    pub fn addr_family(&self) -> Family {
        Family::of(&self.addr)
    }
    /// Configuration equality; tunnel parameters only count for tunnels
    /// (kernels before 5.3 do not report them).
    pub fn same_config(&self, o: &Dest) -> bool {
        self.key() == o.key()
            && self.fwd == o.fwd
            && self.weight == o.weight
            && self.u_thresh == o.u_thresh
            && self.l_thresh == o.l_thresh
            && (self.fwd != FwdMethod::Tunnel
                || (self.tun_type == o.tun_type
                    && self.tun_port == o.tun_port
                    && self.tun_flags == o.tun_flags))
    }
}

/// Traffic counters of a service or destination (STATS64 preferred, else STATS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A service as dumped from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub service: Service,
    pub stats: Stats,
}

/// A destination as dumped from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestEntry {
    pub dest: Dest,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
}

/// Role of a connection synchronisation daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => IP_VS_STATE_MASTER,
            DaemonState::Backup => IP_VS_STATE_BACKUP,
        }
    }
    pub fn from_raw(v: u32) -> Option<Self> {
        match v {
            IP_VS_STATE_MASTER => Some(DaemonState::Master),
            IP_VS_STATE_BACKUP => Some(DaemonState::Backup),
            _ => None,
        }
    }
}

/// Connection synchronisation daemon (keepalived's `lvs_sync_daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daemon {
    pub state: DaemonState,
    pub mcast_ifn: String,
    pub sync_id: u32,
    /// Optional settings (kernel ≥ 4.3); `None` leaves the kernel default.
    pub sync_maxlen: Option<u16>,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

impl Daemon {
    pub fn new(state: DaemonState, mcast_ifn: &str, sync_id: u32) -> Self {
        Daemon {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            sync_id,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
    /// Equality of what was configured: a `None` option matches any kernel value
    /// (the kernel reports its defaults).
    pub fn matches(&self, kernel: &Daemon) -> bool {
        fn opt<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
            want.is_none() || want == have
        }
        self.state == kernel.state
            && self.mcast_ifn == kernel.mcast_ifn
            && self.sync_id == kernel.sync_id
            && opt(&self.sync_maxlen, &kernel.sync_maxlen)
            && opt(&self.mcast_group, &kernel.mcast_group)
            && opt(&self.mcast_port, &kernel.mcast_port)
            && opt(&self.mcast_ttl, &kernel.mcast_ttl)
    }
}

/// General IPVS information (`ipvsadm` header line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Version code, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// Connection timeouts in seconds (`ipvsadm --set`); 0 leaves a value unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Parse a kernel address (`union nf_inet_addr`, 16 bytes, or exactly 4/16).
pub(crate) fn parse_addr(af: Family, b: &[u8]) -> Option<IpAddr> {
    match af {
        Family::Inet if b.len() >= 4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        Family::Inet6 if b.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[..16]);
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}
