//! Non-blocking probes: one state machine per checker kind, each driven by
//! readiness of its own mio source. The engine owns timeouts.

pub mod dns;
pub mod http;
pub mod ping;
pub mod smtp;
pub mod stream;
pub mod tcp;
pub mod udp;

use mio::Registry;
use std::io;

/// What one readiness callback achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Waiting; `progress` re-arms the inactivity timeout, as keepalived
    /// re-arms `connect_timeout` on every read or write.
    Pending { progress: bool },
    /// The attempt is over: pass or fail, with why for the log.
    Done { ok: bool, why: String },
}

impl Step {
    pub fn fail(why: impl Into<String>) -> Step {
        Step::Done {
            ok: false,
            why: why.into(),
        }
    }
    pub fn pass() -> Step {
        Step::Done {
            ok: true,
            why: String::new(),
        }
    }
}

/// One attempt in flight.
pub trait Probe {
    /// Readiness on the probe's source (also called once right after start).
    fn ready(&mut self) -> Step;
    /// The inactivity timeout expired: the verdict (UDP_CHECK counts
    /// silence as success).
    fn timed_out(&mut self) -> Step {
        Step::fail("timeout")
    }
    /// Remove the source from the poll before the probe is dropped.
    fn deregister(&mut self, registry: &Registry);
}

pub(crate) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted
}
