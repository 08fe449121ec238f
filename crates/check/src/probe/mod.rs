//! Non-blocking probes: one state machine per checker kind, each driven by
//! readiness of its own mio source, and [`SocketIo`], the engine's [`Io`]
//! on a mio loop. The engine owns timeouts.

pub mod client_cert;
pub mod dns;
pub mod http;
pub mod ping;
pub mod smtp;
pub mod stream;
pub mod tcp;
pub mod udp;

use crate::engine::CheckKind;
use crate::io::{Attempt, Io};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

/// What one readiness callback achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Waiting; `progress` re-arms the inactivity timeout, as keepalived
    /// re-arms `connect_timeout` on every read or write.
    Pending { progress: bool },
    /// The attempt could not begin for a reason of this host's (no
    /// descriptor or buffer for a socket): no verdict, the check is tried
    /// again after `delay_loop`, as keepalived's "fail to create socket.
    /// Rescheduling." (a full descriptor table must not take every real
    /// server out of its pools).
    Local { why: String },
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
    /// An attempt that could not begin: [`Step::Local`] when the cause is
    /// this host's resources, else a failure.
    pub fn not_started(what: &str, e: &std::io::Error) -> Step {
        let why = format!("{what}: {e}");
        if is_local(e) {
            Step::Local { why }
        } else {
            Step::fail(why)
        }
    }
    pub fn pass() -> Step {
        Step::Done {
            ok: true,
            why: String::new(),
        }
    }
}

/// Errors that say nothing about the real server: this process (or host)
/// is out of descriptors or memory for a socket.
pub fn is_local(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
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

/// The engine's [`Io`] on a mio loop: each key is the mio token of its
/// attempt's socket; the inotify descriptor of FILE_CHECK sits under
/// `watch_key`.
pub struct SocketIo {
    registry: Registry,
    watch_key: usize,
    probes: HashMap<usize, Box<dyn Probe>>,
    inotify: Option<Inotify>,
    /// ICMP echo sequence numbers.
    seq: u16,
}

impl SocketIo {
    /// `watch_key` must be the engine's own (`Engine::new`'s `key_base`).
    pub fn new(registry: &Registry, watch_key: usize) -> io::Result<SocketIo> {
        Ok(SocketIo {
            registry: registry.try_clone()?,
            watch_key,
            probes: HashMap::new(),
            inotify: None,
            seq: 0,
        })
    }
}

/// Two unpredictable bytes from the kernel (`getrandom`, never blocking).
fn random_u16() -> Option<u16> {
    let mut b = [0u8; 2];
    // SAFETY: writes at most 2 bytes into `b`.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 2, libc::GRND_NONBLOCK) };
    (n == 2).then(|| u16::from_ne_bytes(b))
}

impl Io for SocketIo {
    fn start(&mut self, key: usize, a: Attempt<'_>) {
        let (registry, token) = (&self.registry, Token(key));
        self.seq = self.seq.wrapping_add(1);
        let probe: Box<dyn Probe> = match a.kind {
            CheckKind::Tcp(ep) => Box::new(tcp::TcpProbe::start(ep, registry, token)),
            CheckKind::Http(ep, h) => {
                Box::new(http::HttpProbe::start(ep, h, a.url, a.tls, registry, token))
            }
            CheckKind::Smtp(ep, helo) => {
                Box::new(smtp::SmtpProbe::start(ep, helo, registry, token))
            }
            CheckKind::Dns(ep, d) => {
                // A query id an off-path attacker must not predict.
                let id = random_u16().unwrap_or(self.seq.rotate_left(7) ^ 0x5a5a);
                Box::new(dns::DnsProbe::start(ep, d, id, registry, token))
            }
            CheckKind::Udp(ep, u) => Box::new(udp::UdpProbe::start(ep, u, registry, token)),
            CheckKind::Ping(ip) => Box::new(ping::PingProbe::start(
                SocketAddr::new(*ip, 0),
                self.seq,
                registry,
                token,
            )),
            // Scripts go through the engine's runner, files through watch.
            CheckKind::Misc(_) | CheckKind::File(_) => return,
        };
        if let Some(mut old) = self.probes.insert(key, probe) {
            old.deregister(&self.registry);
        }
    }

    fn ready(&mut self, key: usize) -> Step {
        match self.probes.get_mut(&key) {
            Some(p) => p.ready(),
            None => Step::fail("no attempt"),
        }
    }

    fn timed_out(&mut self, key: usize) -> Step {
        match self.probes.get_mut(&key) {
            Some(p) => p.timed_out(),
            None => Step::fail("timeout"),
        }
    }

    fn stop(&mut self, key: usize) {
        if let Some(mut p) = self.probes.remove(&key) {
            p.deregister(&self.registry);
        }
    }

    fn watch(&mut self, path: &Path) -> Result<(), String> {
        if self.inotify.is_none() {
            let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                .map_err(|e| format!("inotify: {e}"))?;
            self.registry
                .register(
                    &mut SourceFd(&ino.as_fd().as_raw_fd()),
                    Token(self.watch_key),
                    Interest::READABLE,
                )
                .map_err(|e| format!("inotify: {e}"))?;
            self.inotify = Some(ino);
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let ino = self.inotify.as_ref().expect("inotify");
        ino.add_watch(
            dir,
            AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_DELETE,
        )
        .map_err(|e| format!("inotify watch {}: {e}", dir.display()))?;
        Ok(())
    }

    fn drain_watch(&mut self) {
        if let Some(ino) = &self.inotify {
            while let Ok(evs) = ino.read_events() {
                if evs.is_empty() {
                    break;
                }
            }
        }
    }
}

impl Drop for SocketIo {
    fn drop(&mut self) {
        for (_, mut p) in self.probes.drain() {
            p.deregister(&self.registry);
        }
    }
}

/// Datagrams read per readiness event: a server flooding replies that are
/// not the answer cannot hold checkerd's loop. What is left is read on the
/// next event (a flood brings them); the attempt's deadline ends it.
pub const READ_BUDGET: usize = 64;

/// Read datagrams from `fd` until `judge` decides, the socket is empty or
/// [`READ_BUDGET`] is spent. `progress`: whether this readiness achieved
/// something before (a reply that decides nothing is not progress: it must
/// not re-arm the deadline).
pub(crate) fn read_replies(
    fd: std::os::fd::RawFd,
    buf: &mut [u8],
    progress: bool,
    mut judge: impl FnMut(&[u8]) -> Option<Step>,
) -> Step {
    for _ in 0..READ_BUDGET {
        // SAFETY: recv writes at most buf.len() bytes into buf.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if would_block(&e) {
                return Step::Pending { progress };
            }
            return Step::fail(format!("recv: {e}"));
        }
        if let Some(step) = judge(&buf[..n as usize]) {
            return step;
        }
    }
    Step::Pending { progress }
}

pub(crate) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted
}
