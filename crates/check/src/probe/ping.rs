//! PING_CHECK over an unprivileged ICMP datagram socket: the kernel fills
//! the identifier and checksum, so checkerd needs no capability. The kernel
//! refuses such sockets to groups outside `net.ipv4.ping_group_range`.

use super::{would_block, Probe, Step};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Open an ICMP (or ICMPv6) datagram socket, explaining a refusal.
pub fn open(dst: SocketAddr) -> Result<Socket, String> {
    open_for_probe(dst).map_err(|step| match step {
        Step::Local { why } | Step::Done { why, .. } => why,
        Step::Pending { .. } => String::new(),
    })
}

/// [`open`] for a probe: out of descriptors is no verdict
/// ([`Step::not_started`]), a refused group a failure that says what to do.
fn open_for_probe(dst: SocketAddr) -> Result<Socket, Step> {
    let (domain, proto) = match dst {
        SocketAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        SocketAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    match Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(proto)) {
        Ok(s) => Ok(s),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
            Err(Step::fail(format!(
                "ICMP datagram socket refused ({e}): gid {} is outside \
                 net.ipv4.ping_group_range ({}); widen it, e.g. \
                 `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`",
                nix::unistd::getegid(),
                std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
                    .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                    .unwrap_or_else(|_| "unreadable".into())
            )))
        }
        Err(e) => Err(Step::not_started("ICMP socket", &e)),
    }
}

/// An echo request: type, code, checksum and id left for the kernel.
pub fn echo_request(v6: bool, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0, 0, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"keepalived-rs");
    p
}

pub struct PingProbe {
    sock: Option<Socket>,
    err: Option<Step>,
    dst: SocketAddr,
    seq: u16,
    sent: bool,
}

impl PingProbe {
    pub fn start(dst: SocketAddr, seq: u16, registry: &Registry, token: Token) -> Self {
        let r = open_for_probe(dst).and_then(|s| {
            // Connected: the kernel hands us only replies from the real
            // server (an unconnected ICMP socket takes an echo reply with
            // our id from anyone).
            let mut to = dst;
            to.set_port(0);
            s.connect(&SockAddr::from(to))
                .map_err(|e| Step::not_started("ICMP connect", &e))?;
            let fd = s.as_raw_fd();
            registry
                .register(
                    &mut SourceFd(&fd),
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| Step::not_started("poll", &e))?;
            Ok(s)
        });
        let (sock, err) = match r {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        PingProbe {
            sock,
            err,
            dst,
            seq,
            sent: false,
        }
    }
}

impl Probe for PingProbe {
    fn ready(&mut self) -> Step {
        let Some(s) = &self.sock else {
            return self.err.clone().unwrap_or_else(|| Step::fail("no socket"));
        };
        let v6 = self.dst.is_ipv6();
        let mut progress = false;
        if !self.sent {
            match s.send(&echo_request(v6, self.seq)) {
                Ok(_) => {
                    self.sent = true;
                    progress = true;
                }
                Err(e) if would_block(&e) => return Step::Pending { progress },
                Err(e) => return Step::fail(format!("send: {e}")),
            }
        }
        let mut buf = [0u8; 2048];
        let (reply, seq) = (if v6 { 129 } else { 0 }, self.seq.to_be_bytes());
        super::read_replies(s.as_raw_fd(), &mut buf, progress, |r| {
            (r.len() >= 8 && r[0] == reply && r[6..8] == seq).then(Step::pass)
        })
    }

    fn deregister(&mut self, registry: &Registry) {
        if let Some(s) = &self.sock {
            let fd = s.as_raw_fd();
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
    }
}
