//! LVS side: virtual server groups, virtual servers, real servers, checkers.

use super::Stmt;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `virtual_server_group NAME { }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VirtualServerGroup {
    pub name: String,
    /// `ADDR [PORT]` lines; ADDR may be a range `a.b.c.d-e` or `ADDR/len`.
    pub addresses: Vec<VsgAddress>,
    /// `fwmark N` lines.
    pub fwmarks: Vec<u32>,
}

/// One address (or range) line of a `virtual_server_group`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VsgAddress {
    pub address: String,
    pub port: Option<u16>,
}

/// `lb_algo` / `lvs_sched`: the scheduler vocabulary ipvsd and the
/// kernel dumps use too (the configuration only ever holds a known one).
pub use keepalived_types::Scheduler;

/// `lb_kind` / `lvs_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LbKind {
    #[serde(rename = "NAT")]
    Nat,
    #[serde(rename = "DR")]
    Dr,
    #[serde(rename = "TUN")]
    Tun,
}

impl LbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LbKind::Nat => "NAT",
            LbKind::Dr => "DR",
            LbKind::Tun => "TUN",
        }
    }
}

/// `protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// The encapsulation after `TUN` (`type ipip|gue|gre`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// A tunnel's checksum option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelCsum {
    Nocsum,
    Csum,
    Remcsum,
}

/// `TUN type ipip|gue|gre [port N] [nocsum|csum|remcsum]` (keepalived's
/// `svr_forwarding_handler`), read once at load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tunnel {
    #[serde(rename = "type")]
    pub kind: TunnelType,
    pub port: Option<u16>,
    pub csum: Option<TunnelCsum>,
}

impl Tunnel {
    /// The options after `TUN`; `None` for one keepalived rejects (its
    /// message comes from the keyword checks).
    pub fn parse(words: &[String]) -> Option<Tunnel> {
        let mut t = Tunnel::default();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            match w.as_str() {
                "type" => {
                    t.kind = match it.next()?.as_str() {
                        "ipip" => TunnelType::Ipip,
                        "gue" => TunnelType::Gue,
                        "gre" => TunnelType::Gre,
                        _ => return None,
                    }
                }
                "port" => t.port = Some(it.next()?.parse().ok().filter(|p| *p > 0)?),
                "nocsum" => t.csum = Some(TunnelCsum::Nocsum),
                "csum" => t.csum = Some(TunnelCsum::Csum),
                "remcsum" => t.csum = Some(TunnelCsum::Remcsum),
                _ => return None,
            }
        }
        let csum = t.csum.filter(|c| *c != TunnelCsum::Nocsum);
        let ok = (t.kind == TunnelType::Gue) == t.port.is_some()
            && !(t.kind == TunnelType::Ipip && csum.is_some())
            && !(t.kind == TunnelType::Gre && csum == Some(TunnelCsum::Remcsum));
        ok.then_some(t)
    }

    /// The words after `TUN`, as [`Tunnel::parse`] reads them.
    pub fn words(&self) -> String {
        let mut s = format!(
            "type {}",
            match self.kind {
                TunnelType::Ipip => "ipip",
                TunnelType::Gue => "gue",
                TunnelType::Gre => "gre",
            }
        );
        if let Some(p) = self.port {
            s.push_str(&format!(" port {p}"));
        }
        if let Some(c) = self.csum {
            s.push_str(match c {
                TunnelCsum::Nocsum => " nocsum",
                TunnelCsum::Csum => " csum",
                TunnelCsum::Remcsum => " remcsum",
            });
        }
        s
    }
}

/// `sorry_server ADDR [PORT]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SorryServer {
    pub ip: IpAddr,
    #[serde(default)]
    pub port: Option<u16>,
}

/// `virtual_server ADDR PORT | fwmark N | group NAME { }`: exactly one of
/// (`ip` with `port`), `fwmark`, `group` is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VirtualServer {
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    pub fwmark: Option<u32>,
    pub group: Option<String>,
    /// `ip_family inet|inet6` (fwmark and group services).
    pub ip_family: Option<String>,
    /// Seconds between checks (60).
    pub delay_loop: f64,
    pub lb_algo: Option<Scheduler>,
    pub lb_kind: Option<LbKind>,
    /// `lb_kind TUN type ...`: the tunnel options (none: plain IPIP).
    pub tunnel: Option<Tunnel>,
    /// Seconds; `persistence_timeout` without a value is 360.
    pub persistence_timeout: Option<u32>,
    pub persistence_granularity: Option<String>,
    pub protocol: Option<Protocol>,
    pub ha_suspend: bool,
    pub virtualhost: Option<String>,
    pub alpha: bool,
    pub omega: bool,
    /// (1)
    pub quorum: u32,
    /// (0)
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub sorry_server: Option<SorryServer>,
    pub sorry_server_inhibit: bool,
    /// `sorry_server_lvs_method NAT|DR|TUN [tunnel options]`.
    pub sorry_server_lvs_method: Option<LbKind>,
    /// Its tunnel options; set whenever `sorry_server_lvs_method` is
    /// written (it replaces the virtual server's own).
    pub sorry_server_tunnel: Option<Tunnel>,
    pub inhibit_on_failure: bool,
    pub smtp_alert: Option<bool>,
    /// IPVS service flags (`ops`: one-packet scheduling; `flag-1..3`;
    /// `sh-`/`mh-port` and `-fallback`, which count only with their
    /// scheduler).
    pub ops: bool,
    #[serde(rename = "flag-1")]
    pub flag_1: bool,
    #[serde(rename = "flag-2")]
    pub flag_2: bool,
    #[serde(rename = "flag-3")]
    pub flag_3: bool,
    #[serde(rename = "sh-port")]
    pub sh_port: bool,
    #[serde(rename = "sh-fallback")]
    pub sh_fallback: bool,
    #[serde(rename = "mh-port")]
    pub mh_port: bool,
    #[serde(rename = "mh-fallback")]
    pub mh_fallback: bool,
    /// `persistence_engine NAME` (e.g. `sip`).
    pub persistence_engine: Option<String>,
    /// Checker defaults for every real server, as written.
    pub connect_timeout: Option<f64>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    /// `announce [{ }]` (keepalived-rs extension): the address goes on
    /// `bgp_announce`'s interface while the service is healthy.
    pub announce: Option<Announce>,
    pub real_servers: Vec<RealServer>,
    pub extra: Vec<Stmt>,
}

/// `announce { delay_up S  delay_down S }` in a virtual server
/// (keepalived-rs extension; keepalived 2.2.7 refuses the keyword).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Announce {
    /// Seconds quorum must have been up before the address is added (0).
    pub delay_up: f64,
    /// Seconds quorum must have been down before it goes (0).
    pub delay_down: f64,
}

/// The top-level `bgp_announce { }` block (keepalived-rs extension): the
/// dummy interface on which ipvsd puts the addresses of healthy announced
/// virtual servers, for a routing daemon to export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BgpAnnounce {
    /// The dummy interface the suite creates and owns (`kalrs0`).
    pub interface: String,
    /// Valid and preferred lifetime of each address, in seconds (9):
    /// refreshed every third of it, so a dead suite's addresses expire.
    pub address_lifetime: u32,
    /// Remove the addresses at stop (yes); `no` leaves them to expire.
    pub withdraw_on_shutdown: bool,
    /// Seconds the health checker may be gone before every address is
    /// withdrawn (3).
    pub health_timeout: f64,
}

impl Default for BgpAnnounce {
    fn default() -> Self {
        BgpAnnounce {
            interface: "kalrs0".into(),
            address_lifetime: 9,
            withdraw_on_shutdown: true,
            health_timeout: 3.0,
        }
    }
}

impl Default for VirtualServer {
    fn default() -> Self {
        VirtualServer {
            ip: None,
            port: None,
            fwmark: None,
            group: None,
            ip_family: None,
            delay_loop: 60.0,
            lb_algo: None,
            lb_kind: None,
            tunnel: None,
            persistence_timeout: None,
            persistence_granularity: None,
            protocol: None,
            ha_suspend: false,
            virtualhost: None,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            sorry_server_lvs_method: None,
            sorry_server_tunnel: None,
            inhibit_on_failure: false,
            smtp_alert: None,
            ops: false,
            flag_1: false,
            flag_2: false,
            flag_3: false,
            sh_port: false,
            sh_fallback: false,
            mh_port: false,
            mh_fallback: false,
            persistence_engine: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            announce: None,
            real_servers: Vec::new(),
            extra: Vec::new(),
        }
    }
}

/// `real_server ADDR [PORT] { }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RealServer {
    pub ip: IpAddr,
    pub port: Option<u16>,
    /// (1)
    pub weight: i32,
    pub lb_kind: Option<LbKind>,
    /// `lvs_method TUN type ...`: the tunnel options.
    pub tunnel: Option<Tunnel>,
    pub inhibit_on_failure: Option<bool>,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    pub smtp_alert: Option<bool>,
    pub alpha: bool,
    pub virtualhost: Option<String>,
    /// Checker defaults for this server, as written.
    pub delay_loop: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub checkers: Vec<Checker>,
    pub extra: Vec<Stmt>,
}

impl Default for RealServer {
    fn default() -> Self {
        RealServer {
            ip: IpAddr::from([0, 0, 0, 0]),
            port: None,
            weight: 1,
            lb_kind: None,
            tunnel: None,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            uthreshold: None,
            lthreshold: None,
            smtp_alert: None,
            alpha: false,
            virtualhost: None,
            delay_loop: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            checkers: Vec::new(),
            extra: Vec::new(),
        }
    }
}

/// Which health check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckerKind {
    #[default]
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "HTTP_GET")]
    HttpGet,
    #[serde(rename = "SSL_GET")]
    SslGet,
    #[serde(rename = "MISC_CHECK")]
    Misc,
    #[serde(rename = "SMTP_CHECK")]
    Smtp,
    #[serde(rename = "DNS_CHECK")]
    Dns,
    #[serde(rename = "UDP_CHECK")]
    Udp,
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "FILE_CHECK")]
    File,
    #[serde(rename = "BFD_CHECK")]
    Bfd,
}

impl CheckerKind {
    pub const ALL: [(&'static str, CheckerKind); 10] = [
        ("TCP_CHECK", CheckerKind::Tcp),
        ("HTTP_GET", CheckerKind::HttpGet),
        ("SSL_GET", CheckerKind::SslGet),
        ("MISC_CHECK", CheckerKind::Misc),
        ("SMTP_CHECK", CheckerKind::Smtp),
        ("DNS_CHECK", CheckerKind::Dns),
        ("UDP_CHECK", CheckerKind::Udp),
        ("PING_CHECK", CheckerKind::Ping),
        ("FILE_CHECK", CheckerKind::File),
        ("BFD_CHECK", CheckerKind::Bfd),
    ];
    pub fn as_str(self) -> &'static str {
        CheckerKind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("TCP_CHECK", |(s, _)| s)
    }
}

/// One `url { }` of HTTP_GET / SSL_GET.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Url {
    pub path: String,
    /// MD5 of the body (from genhash).
    pub digest: Option<String>,
    /// Accepted codes or ranges as written (`200`, `200-299`); unset = 2xx.
    pub status_code: Vec<String>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
    /// keepalived's PCRE2 option names (`caseless`, `multiline`...).
    pub regex_options: Vec<String>,
    /// Where a match may start in the body: from `regex_min_offset` to
    /// `regex_max_offset` (inclusive).
    pub regex_min_offset: Option<u64>,
    pub regex_max_offset: Option<u64>,
    pub extra: Vec<Stmt>,
}

/// A health check of a real server. Common options are resolved: a value
/// not set in the checker comes from the real server, then the virtual
/// server, then keepalived's default for this kind of check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checker {
    pub kind: CheckerKind,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    /// Seconds (5).
    pub connect_timeout: f64,
    /// Retries before failure (1; MISC_CHECK 0; DNS_CHECK 3).
    pub retry: u32,
    /// Seconds (1; HTTP_GET/SSL_GET 3).
    pub delay_before_retry: f64,
    /// Seconds between checks (the virtual server's delay_loop).
    pub delay_loop: f64,
    pub warmup: Option<f64>,
    pub alpha: Option<bool>,
    pub log_all_failures: Option<bool>,
    // HTTP_GET / SSL_GET
    pub http_protocol: Option<String>,
    pub url: Vec<Url>,
    pub virtualhost: Option<String>,
    pub enable_sni: Option<bool>,
    pub fast_recovery: Option<bool>,
    // MISC_CHECK
    pub misc_path: Option<String>,
    pub misc_timeout: Option<f64>,
    pub misc_dynamic: bool,
    pub user: Option<String>,
    // SMTP_CHECK
    pub helo_name: Option<String>,
    // DNS_CHECK (`type`, `name`); BFD_CHECK (`name`)
    pub dns_type: Option<String>,
    pub name: Option<String>,
    // UDP_CHECK
    pub payload: Option<String>,
    pub require_reply: Option<String>,
    pub min_reply_length: Option<u32>,
    pub max_reply_length: Option<u32>,
    // FILE_CHECK
    pub track_file: Option<String>,
    pub weight: Option<i32>,
    pub weight_reverse: bool,
    pub extra: Vec<Stmt>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker {
            kind: CheckerKind::Tcp,
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: 5.0,
            retry: 1,
            delay_before_retry: 1.0,
            delay_loop: 60.0,
            warmup: None,
            alpha: None,
            log_all_failures: None,
            http_protocol: None,
            url: Vec::new(),
            virtualhost: None,
            enable_sni: None,
            fast_recovery: None,
            misc_path: None,
            misc_timeout: None,
            misc_dynamic: false,
            user: None,
            helo_name: None,
            dns_type: None,
            name: None,
            payload: None,
            require_reply: None,
            min_reply_length: None,
            max_reply_length: None,
            track_file: None,
            weight: None,
            weight_reverse: false,
            extra: Vec::new(),
        }
    }
}

impl VirtualServer {
    /// `tcp`, `udp` or `sctp`, as keepalived writes it in names.
    fn protocol_name(&self) -> &'static str {
        match self.protocol {
            Some(Protocol::Udp) => "udp",
            Some(Protocol::Sctp) => "sctp",
            _ => "tcp",
        }
    }

    /// keepalived's name for it in logs and between processes:
    /// `[10.0.0.1]:tcp:80`, `FWM 5`, `group NAME`.
    pub fn key(&self) -> String {
        let proto = self.protocol_name();
        match (self.ip, self.fwmark, &self.group) {
            (Some(ip), _, _) => format!("[{ip}]:{proto}:{}", self.port.unwrap_or(0)),
            (None, Some(m), _) => format!("FWM {m}"),
            (None, None, Some(g)) => format!("group {g}"),
            _ => "?".to_string(),
        }
    }
}

impl VirtualServer {
    /// What its id is given for: its key, with the family for fwmark and
    /// group services (`FWM 5` may exist once per family).
    pub fn id_key(&self) -> String {
        match self.ip {
            Some(_) => self.key(),
            None => format!(
                "{} {}",
                self.key(),
                self.ip_family.as_deref().unwrap_or("inet")
            ),
        }
    }
}

impl RealServer {
    /// keepalived's name for a real server of `vs`: `[192.168.1.10]:tcp:80`.
    pub fn key(&self, vs: &VirtualServer) -> String {
        let proto = vs.protocol_name();
        format!(
            "[{}]:{proto}:{}",
            self.ip,
            self.port.or(vs.port).unwrap_or(0)
        )
    }
}
