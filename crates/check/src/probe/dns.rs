//! DNS_CHECK: one query over UDP; an answer with our id, QR set and
//! rcode 0 is a pass (check_dns.c).

use super::{would_block, Probe, Step};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use std::os::fd::AsRawFd;

/// Query type names keepalived accepts, with their codes.
pub const TYPES: [(&str, u16); 10] = [
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("RRSIG", 46),
    ("DNSKEY", 48),
    ("ANY", 255),
];

/// DNS_CHECK options.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DnsSpec {
    /// `type` (SOA).
    pub qtype: u16,
    /// `name` (".").
    pub name: String,
}

impl Default for DnsSpec {
    fn default() -> Self {
        DnsSpec {
            qtype: 6,
            name: ".".into(),
        }
    }
}

pub fn qtype(name: &str) -> Option<u16> {
    TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|t| t.1)
}

/// A recursion-desired query for `spec` with `id`.
pub fn query(spec: &DnsSpec, id: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(32 + spec.name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in spec.name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        q.push(l.len() as u8);
        q.extend_from_slice(l);
    }
    q.push(0);
    q.extend_from_slice(&spec.qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Judge one datagram: `None` to keep waiting (not ours, or a query).
pub fn judge(resp: &[u8], id: u16) -> Option<Step> {
    if resp.len() < 12 || resp[..2] != id.to_be_bytes() {
        return None;
    }
    let flags = u16::from_be_bytes([resp[2], resp[3]]);
    if flags & 0x8000 == 0 {
        return None;
    }
    match flags & 0xf {
        0 => Some(Step::pass()),
        rc => Some(Step::fail(format!("rcode {rc}"))),
    }
}

pub struct DnsProbe {
    sock: Option<UdpSocket>,
    err: Option<Step>,
    id: u16,
    query: Vec<u8>,
    sent: bool,
}

impl DnsProbe {
    pub fn start(
        ep: &super::stream::Endpoint,
        spec: &DnsSpec,
        id: u16,
        registry: &Registry,
        token: Token,
    ) -> Self {
        let r = super::udp::open(ep).and_then(|mut s| {
            registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(s)
        });
        let (sock, err) = match r {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(Step::not_started("socket", &e))),
        };
        DnsProbe {
            sock,
            err,
            id,
            query: query(spec, id),
            sent: false,
        }
    }
}

impl Probe for DnsProbe {
    fn ready(&mut self) -> Step {
        let Some(s) = &self.sock else {
            return self.err.clone().unwrap_or_else(|| Step::fail("no socket"));
        };
        let mut progress = false;
        if !self.sent {
            match s.send(&self.query) {
                Ok(_) => {
                    self.sent = true;
                    progress = true;
                }
                Err(e) if would_block(&e) => return Step::Pending { progress },
                Err(e) => return Step::fail(format!("send: {e}")),
            }
        }
        let mut buf = [0u8; 1024];
        let id = self.id;
        super::read_replies(s.as_raw_fd(), &mut buf, progress, |r| judge(r, id))
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

    /// A server answering with a flood of replies that are not the answer
    /// (another id): one readiness reads a budget's worth and yields
    /// (before: the whole socket, for as long as the flood kept up), the
    /// junk re-arms no deadline, and the answer behind it still counts.
    #[test]
    fn a_reply_flood_is_read_a_budget_at_a_time() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let poll = mio::Poll::new().unwrap();
        let ep = super::super::stream::Endpoint::to(server.local_addr().unwrap());
        let mut p = DnsProbe::start(&ep, &DnsSpec::default(), 0x4242, poll.registry(), Token(1));
        assert_eq!(p.ready(), Step::Pending { progress: true });
        let mut q = [0u8; 512];
        let (n, from) = server.recv_from(&mut q).unwrap();
        let mut answer = q[..n].to_vec();
        answer[2] |= 0x80;
        let mut junk = answer.clone();
        junk[0] ^= 0xff;
        for _ in 0..super::super::READ_BUDGET + 10 {
            server.send_to(&junk, from).unwrap();
        }
        server.send_to(&answer, from).unwrap();
        assert_eq!(p.ready(), Step::Pending { progress: false });
        assert_eq!(p.ready(), Step::pass());
    }

    #[test]
    fn query_and_answer() {
        let q = query(
            &DnsSpec {
                qtype: 1,
                name: "a.example.".into(),
            },
            0x1234,
        );
        assert_eq!(
            q,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x07example\x00\x00\x01\x00\x01"
        );
        let root = query(&DnsSpec::default(), 1);
        assert_eq!(&root[12..], b"\x00\x00\x06\x00\x01");
        let mut a = q.clone();
        a[2] |= 0x80;
        assert_eq!(judge(&a, 0x1234), Some(Step::pass()));
        assert_eq!(judge(&q, 0x1234), None);
        assert_eq!(judge(&a, 0x1235), None);
        a[3] |= 3;
        assert!(matches!(
            judge(&a, 0x1234),
            Some(Step::Done { ok: false, .. })
        ));
    }
}
