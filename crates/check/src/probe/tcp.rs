//! TCP_CHECK: a connect that completes is a pass.

use super::stream::{connect, connected, Endpoint};
use super::{Probe, Step};
use mio::net::TcpStream;
use mio::{Registry, Token};

pub struct TcpProbe {
    s: Option<TcpStream>,
    err: Option<Step>,
}

impl TcpProbe {
    pub fn start(ep: &Endpoint, registry: &Registry, token: Token) -> Self {
        match connect(ep, registry, token) {
            Ok(s) => TcpProbe {
                s: Some(s),
                err: None,
            },
            Err(e) => TcpProbe {
                s: None,
                err: Some(Step::not_started("connect", &e)),
            },
        }
    }
}

impl Probe for TcpProbe {
    fn ready(&mut self) -> Step {
        let Some(s) = &self.s else {
            return self.err.clone().unwrap_or_else(|| Step::fail("no socket"));
        };
        match connected(s) {
            Ok(true) => Step::pass(),
            Ok(false) => Step::Pending { progress: false },
            Err(e) => Step::fail(format!("connect: {e}")),
        }
    }

    /// Nothing to do: the socket is closed when the probe is dropped, and
    /// closing a descriptor no other process holds (checkerd does not fork:
    /// scripts run in the launcher) takes it out of the epoll set, one
    /// system call fewer per check than an explicit deregistration. (An
    /// event that still came for the key would find its next probe, which
    /// asks its own socket whether it is connected.)
    fn deregister(&mut self, _registry: &Registry) {}
}
