//! SMTP alerts, as keepalived sends them (`notification_email`,
//! `smtp_server`, `smtp_alert`...): one short non-blocking SMTP session per
//! alert on checkerd's loop. checkerd is the unprivileged process that may
//! talk to the network; a dead or slow mail server costs a socket and a
//! deadline, never a delay to anything else.
//!
//! `Dialogue` is the protocol (sans-IO: replies in, bytes out); `Mailer` is
//! the shell that owns the sockets.

pub use keepalived_check::smtp_alert::Alert;
use keepalived_check::smtp_alert::{rfc5322_now, Dialogue, Step};
use keepalived_config::{CheckerKind, Config, RealServer};
use keepalived_ipc::VrrpState;
use log::{info, warn};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Sessions use tokens from here up (far above the engine's).
pub const SMTP_TOKEN_BASE: usize = 1 << 40;
/// Alerts in flight at once; more wait in the queue, beyond that dropped.
const MAX_SESSIONS: usize = 8;
const MAX_QUEUED: usize = 256;

/// Where and how to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub server: SocketAddr,
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
    /// `router_id` (else the host name): the subject's prefix.
    pub router_id: String,
}

impl Settings {
    /// None when alerts cannot be sent (no recipients or no server); a
    /// server that is not an address is reported.
    pub fn from_config(config: &Config) -> Option<Settings> {
        let g = &config.global_defs;
        if g.notification_email.is_empty() {
            return None;
        }
        let server = g.smtp_server.as_deref()?;
        let ip: IpAddr = match server.parse() {
            Ok(ip) => ip,
            Err(_) => {
                warn!("smtp_server {server} is not an address: SMTP alerts disabled");
                return None;
            }
        };
        let router_id = g.router_id.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Some(Settings {
            server: SocketAddr::new(ip, g.smtp_port),
            helo: g
                .smtp_helo_name
                .clone()
                .unwrap_or_else(|| "localhost".into()),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{router_id}")),
            to: g.notification_email.clone(),
            timeout: Duration::from_secs_f64(g.smtp_connect_timeout.max(0.1)),
            router_id,
        })
    }
}

/// Whether a VRRP instance or sync group alerts for entering `state`: its
/// own `smtp_alert`, then `smtp_alert_vrrp`, then `smtp_alert` (off by
/// default, as keepalived), and never for FAULT under `no_email_faults`.
pub fn vrrp_alerts(config: &Config, own: Option<bool>, state: VrrpState) -> bool {
    let g = &config.global_defs;
    let no_faults = || g.extra.iter().any(|s| s.keyword == "no_email_faults");
    own.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
        && !(state == VrrpState::Fault && no_faults())
}

/// Whether a checker-side event alerts: its own setting (real server, else
/// virtual server), then `smtp_alert_checker`, then `smtp_alert`.
pub fn checker_alerts(config: &Config, own: Option<bool>) -> bool {
    let g = &config.global_defs;
    own.or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(false)
}

/// keepalived's subject and body for a VRRP transition.
pub fn vrrp_alert(router_id: &str, instance: &str, state: VrrpState) -> Option<Alert> {
    let (what, body) = match state {
        VrrpState::Master => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        VrrpState::Backup => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        VrrpState::Fault => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        VrrpState::Stop => ("Stopping", "=> VRRP Instance stopping <="),
        VrrpState::Init => return None,
    };
    Some(Alert {
        subject: format!("[{router_id}] VRRP Instance {instance} - {what}"),
        body: body.to_string(),
    })
}

/// keepalived's subject and body for a sync group's transition.
pub fn group_alert(router_id: &str, group: &str, state: VrrpState) -> Option<Alert> {
    let (what, body) = match state {
        VrrpState::Master => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        VrrpState::Backup => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        VrrpState::Fault => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        VrrpState::Stop => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
        VrrpState::Init => return None,
    };
    Some(Alert {
        subject: format!("[{router_id}] VRRP Group {group} - {what}"),
        body: body.to_string(),
    })
}

/// keepalived's subject and body for a virtual server's quorum change.
pub fn quorum_alert(
    router_id: &str,
    vs_key: &str,
    q: &keepalived_ipc::QuorumChange,
    quorum: u32,
    hysteresis: u32,
) -> Alert {
    let what = match (q.up, q.initial) {
        (true, false) => "Gained quorum",
        (true, true) => "Starting with quorum up",
        (false, false) => "Lost quorum",
        (false, true) => "Starting with quorum down",
    };
    // The threshold just crossed: up from below needs quorum + hysteresis,
    // down from above quorum - hysteresis.
    let threshold = if q.up {
        i64::from(quorum) + i64::from(hysteresis)
    } else {
        i64::from(quorum) - i64::from(hysteresis)
    };
    Alert {
        subject: format!(
            "[{router_id}] Virtualserver {vs_key} - {}",
            if q.up { "UP" } else { "DOWN" }
        ),
        body: format!(
            "=> {what} {quorum}+{hysteresis}={threshold} <= {} <=",
            q.weight_sum
        ),
    }
}

/// keepalived's subject and body for a real server going up or down.
pub fn rs_alert(router_id: &str, vs_key: &str, rs: &RealServer, rs_key: &str, up: bool) -> Alert {
    let kind = match rs.checkers.first().map(|c| c.kind) {
        Some(CheckerKind::Tcp) => "TCP ",
        Some(CheckerKind::Misc) => "MISC ",
        Some(CheckerKind::Smtp) => "SMTP ",
        Some(CheckerKind::Dns) => "DNS ",
        Some(CheckerKind::Udp) => "UDP ",
        Some(CheckerKind::Ping) => "PING ",
        Some(CheckerKind::File) => "FILE ",
        _ => "",
    };
    Alert {
        subject: format!(
            "[{router_id}] Realserver {rs_key} of virtual server {vs_key} - {}",
            if up { "UP" } else { "DOWN" }
        ),
        body: format!(
            "=> {kind}CHECK {} on service <=",
            if up { "succeed" } else { "failed" }
        ),
    }
}

struct Session {
    id: usize,
    /// A session may take at most a few timeouts in all, however slowly
    /// the server trickles its replies.
    give_up: Instant,
    stream: TcpStream,
    dialogue: Dialogue,
    out: Vec<u8>,
    deadline: Instant,
    subject: String,
    sent: bool,
}

/// The sessions in flight and the alerts waiting for a slot.
#[derive(Default)]
pub struct Mailer {
    settings: Option<Settings>,
    sessions: Vec<Session>,
    queue: std::collections::VecDeque<Alert>,
    next_id: usize,
    pub sent: u64,
    pub failed: u64,
}

impl Mailer {
    pub fn configure(&mut self, config: &Config) {
        self.settings = Settings::from_config(config);
    }

    pub fn router_id(&self) -> Option<&str> {
        self.settings.as_ref().map(|s| s.router_id.as_str())
    }

    /// Queue an alert; it starts at once if a slot is free.
    pub fn send(&mut self, alert: Alert, registry: &Registry, now: Instant) {
        if self.settings.is_none() {
            return;
        }
        if self.queue.len() >= MAX_QUEUED {
            warn!("SMTP alert queue full: dropping '{}'", alert.subject);
            self.failed += 1;
            return;
        }
        self.queue.push_back(alert);
        self.start_queued(registry, now);
    }

    fn start_queued(&mut self, registry: &Registry, now: Instant) {
        let Some(s) = self.settings.clone() else {
            return;
        };
        while self.sessions.len() < MAX_SESSIONS {
            let Some(alert) = self.queue.pop_front() else {
                return;
            };
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1) % (1 << 20);
            let mut stream = match TcpStream::connect(s.server) {
                Ok(st) => st,
                Err(e) => {
                    info!("SMTP connection ERROR to {}: {e}", s.server);
                    self.failed += 1;
                    continue;
                }
            };
            if let Err(e) = registry.register(
                &mut stream,
                Token(SMTP_TOKEN_BASE + id),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                warn!("SMTP alert: {e}");
                self.failed += 1;
                continue;
            }
            self.sessions.push(Session {
                id,
                stream,
                dialogue: Dialogue::new(&s.helo, &s.from, &s.to, &alert, &rfc5322_now()),
                out: Vec::new(),
                deadline: now + s.timeout,
                give_up: now + s.timeout * 4,
                subject: alert.subject,
                sent: false,
            });
        }
    }

    pub fn owns(token: Token) -> bool {
        token.0 >= SMTP_TOKEN_BASE
    }

    /// Readiness on a session's socket.
    pub fn on_event(&mut self, token: Token, registry: &Registry, now: Instant) {
        let Some(i) = self
            .sessions
            .iter()
            .position(|x| SMTP_TOKEN_BASE + x.id == token.0)
        else {
            return;
        };
        let timeout = self
            .settings
            .as_ref()
            .map_or(Duration::from_secs(30), |s| s.timeout);
        let done = match drive(&mut self.sessions[i]) {
            Ok(false) => {
                let give_up = self.sessions[i].give_up;
                self.sessions[i].deadline = (now + timeout).min(give_up);
                None
            }
            Ok(true) => Some(None),
            Err(e) => Some(Some(e)),
        };
        if let Some(err) = done {
            self.finish(i, err, registry);
            self.start_queued(registry, now);
        }
    }

    fn finish(&mut self, i: usize, err: Option<String>, registry: &Registry) {
        let mut s = self.sessions.swap_remove(i);
        let _ = registry.deregister(&mut s.stream);
        let server = self.settings.as_ref().map(|x| x.server);
        match (s.sent, err) {
            (true, _) => {
                info!("SMTP alert successfully sent.");
                self.sent += 1;
            }
            (false, Some(e)) => {
                info!(
                    "Error sending SMTP alert '{}' to {}: {e}",
                    s.subject,
                    server.map(|a| a.to_string()).unwrap_or_default()
                );
                self.failed += 1;
            }
            (false, None) => self.failed += 1,
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.sessions.iter().map(|s| s.deadline).min()
    }

    /// Sessions past their deadline are abandoned.
    pub fn on_timer(&mut self, registry: &Registry, now: Instant) {
        while let Some(i) = self.sessions.iter().position(|s| s.deadline <= now) {
            let e = if self.sessions[i].sent {
                None
            } else {
                Some("timeout".to_string())
            };
            self.finish(i, e, registry);
        }
        self.start_queued(registry, now);
    }

    pub fn in_flight(&self) -> usize {
        self.sessions.len() + self.queue.len()
    }
}

/// Move one session as far as its socket allows. Ok(true): finished.
fn drive(s: &mut Session) -> Result<bool, String> {
    loop {
        // Flush what is pending first.
        while !s.out.is_empty() {
            match s.stream.write(&s.out) {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => {
                    s.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(false),
                Err(e) => return Err(e.to_string()),
            }
        }
        let mut buf = [0u8; 1024];
        let n = match s.stream.read(&mut buf) {
            Ok(0) => {
                return if s.sent {
                    Ok(true)
                } else {
                    Err("the server closed the connection".into())
                }
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(false),
            Err(e) => return Err(e.to_string()),
        };
        match s.dialogue.on_bytes(&buf[..n]) {
            Step::Send(b) => s.out = b,
            Step::Sent => {
                s.sent = true;
                s.out = b"QUIT\r\n".to_vec();
            }
            Step::More => {}
            Step::Failed(e) => return Err(e),
        }
        if s.sent && s.out.is_empty() {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_bodies() {
        let a = vrrp_alert("lb01", "VI_1", VrrpState::Backup).unwrap();
        assert_eq!(
            a.subject,
            "[lb01] VRRP Instance VI_1 - Entering BACKUP state"
        );
        assert_eq!(a.body, "=> VRRP Instance is no longer owning VRRP VIPs <=");
        let mut rs = RealServer::default();
        rs.checkers.push(keepalived_config::Checker {
            kind: CheckerKind::Tcp,
            ..Default::default()
        });
        let a = rs_alert("lb01", "[10.0.0.1]:tcp:80", &rs, "[10.0.1.1]:tcp:80", false);
        assert_eq!(
            a.subject,
            "[lb01] Realserver [10.0.1.1]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN"
        );
        assert_eq!(a.body, "=> TCP CHECK failed on service <=");
    }
}
