//! SMTP alerts, as keepalived sends them (`notification_email`,
//! `smtp_server`, `smtp_alert`...): one short non-blocking SMTP session per
//! alert on checkerd's loop. checkerd is the unprivileged process that may
//! talk to the network; a dead or slow mail server costs a socket and a
//! deadline, never a delay to anything else.
//!
//! `Dialogue` is the protocol (sans-IO: replies in, bytes out); `Mailer` is
//! the shell that owns the sockets.

use keepalived_check::plan::SmtpPlan as Settings;
pub use keepalived_check::smtp_alert::Alert;
use keepalived_check::smtp_alert::{rfc5322_now, Dialogue, Step};
use keepalived_ipc::VrrpState;
use log::{info, warn};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

/// Sessions use tokens from here up (far above the engine's).
pub const SMTP_TOKEN_BASE: usize = 1 << 40;
/// Alerts in flight at once; more wait in the queue, beyond that dropped.
const MAX_SESSIONS: usize = 8;
const MAX_QUEUED: usize = 256;

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
        VrrpState::Deleted => ("Deleted", "=> VRRP Deleted at reload <="),
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
        VrrpState::Init | VrrpState::Deleted => return None,
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

/// keepalived's subject and body for a real server going up or down
/// (`kind`: its first checker's, as "TCP ", "MISC "... or empty).
pub fn rs_alert(router_id: &str, vs_key: &str, kind: &str, rs_key: &str, up: bool) -> Alert {
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
    pub fn configure(&mut self, settings: Option<Settings>) {
        self.settings = settings;
    }

    /// Whether an instance or sync group that alerts (`on`) does for
    /// entering `state` (never for FAULT under `no_email_faults`).
    pub fn vrrp_alerts(&self, on: bool, state: VrrpState) -> bool {
        on && !(state == VrrpState::Fault
            && self.settings.as_ref().is_some_and(|s| s.no_email_faults))
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
        let a = rs_alert(
            "lb01",
            "[10.0.0.1]:tcp:80",
            "TCP ",
            "[10.0.1.1]:tcp:80",
            false,
        );
        assert_eq!(
            a.subject,
            "[lb01] Realserver [10.0.1.1]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN"
        );
        assert_eq!(a.body, "=> TCP CHECK failed on service <=");
    }
}
