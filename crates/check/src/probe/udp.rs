//! UDP_CHECK: send the payload on a connected socket. An ICMP error
//! (ECONNREFUSED) fails; silence until the timeout passes unless a reply
//! is required (check_udp.c).

use super::stream::Endpoint;
use super::{would_block, Probe, Step};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use socket2::SockAddr;
use std::io;

/// UDP_CHECK options.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UdpSpec {
    pub payload: Vec<u8>,
    /// `require_reply`: bytes and a mask of bits to ignore.
    pub require_reply: Option<(Vec<u8>, Vec<u8>)>,
    pub min_reply_len: usize,
    /// (255)
    pub max_reply_len: usize,
}

/// Parse keepalived's hex strings; `?` nibbles go to the mask.
pub fn parse_hex(s: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let s: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() || s.len() % 2 != 0 {
        return None;
    }
    let mut data = Vec::new();
    let mut mask = Vec::new();
    for p in s.chunks(2) {
        let mut d = 0u8;
        let mut m = 0u8;
        for &c in p {
            d <<= 4;
            m <<= 4;
            if c == '?' {
                m |= 0xf;
            } else {
                d |= c.to_digit(16)? as u8;
            }
        }
        data.push(d);
        mask.push(m);
    }
    Some((data, mask))
}

/// check_udp_reply: length bounds, then the common prefix under the mask.
pub fn reply_ok(spec: &UdpSpec, got: &[u8]) -> bool {
    let max = if spec.max_reply_len == 0 {
        255
    } else {
        spec.max_reply_len
    };
    if got.len() < spec.min_reply_len || got.len() > max {
        return false;
    }
    match &spec.require_reply {
        None => true,
        Some((d, m)) => d
            .iter()
            .zip(m)
            .zip(got)
            .all(|((d, m), g)| (d ^ g) & !m == 0),
    }
}

pub(crate) fn open(ep: &Endpoint) -> io::Result<UdpSocket> {
    let sock = crate::sockets::open(ep.dst, true, ep.mark, ep.bind_if.as_deref())?;
    if let Some(b) = ep.bind {
        sock.bind(&SockAddr::from(b))?;
    }
    sock.connect(&SockAddr::from(ep.dst))?;
    Ok(UdpSocket::from_std(sock.into()))
}

pub struct UdpProbe {
    sock: Option<UdpSocket>,
    err: Option<Step>,
    spec: UdpSpec,
    sent: bool,
}

impl UdpProbe {
    pub fn start(ep: &Endpoint, spec: &UdpSpec, registry: &Registry, token: Token) -> Self {
        let r = open(ep).and_then(|mut s| {
            registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(s)
        });
        let (sock, err) = match r {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(Step::not_started("socket", &e))),
        };
        UdpProbe {
            sock,
            err,
            spec: spec.clone(),
            sent: false,
        }
    }
}

impl Probe for UdpProbe {
    fn ready(&mut self) -> Step {
        let Some(s) = &self.sock else {
            return self.err.clone().unwrap_or_else(|| Step::fail("no socket"));
        };
        let mut progress = false;
        if !self.sent {
            match s.send(&self.spec.payload) {
                Ok(_) => {
                    self.sent = true;
                    progress = true;
                }
                Err(e) if would_block(&e) => return Step::Pending { progress },
                Err(e) => return Step::fail(format!("send: {e}")),
            }
        }
        let mut buf = [0u8; 65536];
        match s.recv(&mut buf) {
            Ok(_) if self.spec.require_reply.is_none() => Step::pass(),
            Ok(n) if reply_ok(&self.spec, &buf[..n]) => Step::pass(),
            Ok(_) => Step::fail("reply data mismatch"),
            Err(e) if would_block(&e) => Step::Pending { progress },
            Err(e) => Step::fail(format!("{e}")),
        }
    }

    fn timed_out(&mut self) -> Step {
        if self.sent && self.spec.require_reply.is_none() {
            Step::pass()
        } else {
            Step::fail("no reply")
        }
    }

    fn deregister(&mut self, registry: &Registry) {
        if let Some(s) = &mut self.sock {
            let _ = registry.deregister(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_mask() {
        let (d, m) = parse_hex("0a?b").unwrap();
        assert_eq!((d.clone(), m.clone()), (vec![0x0a, 0x0b], vec![0, 0xf0]));
        let spec = UdpSpec {
            require_reply: Some((d, m)),
            max_reply_len: 255,
            ..Default::default()
        };
        assert!(reply_ok(&spec, &[0x0a, 0x7b, 1]));
        assert!(!reply_ok(&spec, &[0x0a, 0x7c]));
        assert!(parse_hex("abc").is_none());
    }
}
