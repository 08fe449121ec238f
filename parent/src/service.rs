//! What the service manager hears (`Type=notify`): READY=1 once the
//! start-up barrier is over, RELOADING=1 then READY=1 around every reload,
//! STOPPING=1, STATUS= lines an operator sees in `systemctl status`, and
//! WATCHDOG=1 while the parent's loop turns and every child answers its
//! heartbeat.
//!
//! Without `NOTIFY_SOCKET` (not started by systemd) every call does
//! nothing. The children and scripts never inherit the variable: they are
//! spawned with a cleared environment.

use log::debug;
use sd_notify::NotifyState;
use std::time::{Duration, Instant};

pub struct Service {
    /// Feed the watchdog this often (half of WatchdogSec), when enabled.
    watchdog: Option<Duration>,
    next_watchdog: Option<Instant>,
    /// READY=1 was sent: later READY=1 only end reloads.
    ready: bool,
}

impl Service {
    pub fn from_env(now: Instant) -> Self {
        let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
        if let Some(d) = watchdog {
            debug!("systemd watchdog: fed every {} ms", d.as_millis());
        }
        Service {
            watchdog,
            next_watchdog: watchdog.map(|_| now),
            ready: false,
        }
    }

    fn send(&self, states: &[NotifyState]) {
        if let Err(e) = sd_notify::notify(states) {
            debug!("cannot notify the service manager: {e}");
        }
    }

    /// The start-up barrier is over.
    pub fn started(&mut self, status: &str) {
        self.ready = true;
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A reload begins (SIGHUP or the control socket).
    pub fn reloading(&self) {
        let mut states = vec![NotifyState::Reloading];
        if let Ok(m) = NotifyState::monotonic_usec_now() {
            states.push(m);
        }
        states.push(NotifyState::Status("Reloading the configuration"));
        self.send(&states);
    }

    /// A reload is over (applied, refused, or the file did not load):
    /// READY=1 again, the outcome in STATUS. Before the start barrier it
    /// only updates the status (READY=1 must wait for the barrier).
    pub fn reloaded(&self, status: &str) {
        if self.ready {
            self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
        } else {
            self.status(status);
        }
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("Stopping")]);
    }

    /// Feed the watchdog if due and `healthy`.
    pub fn tick(&mut self, now: Instant, healthy: bool) {
        let (Some(every), Some(next)) = (self.watchdog, self.next_watchdog) else {
            return;
        };
        if now < next {
            return;
        }
        if healthy {
            self.send(&[NotifyState::Watchdog]);
            self.next_watchdog = Some(now + every);
        } else {
            // Look again soon: the child may be replaced by then.
            self.next_watchdog = Some(now + every.min(Duration::from_secs(1)));
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.next_watchdog
    }
}
