//! DNS_CHECK: one query over UDP; an answer with our id, QR set and
//! rcode 0 is a pass (check_dns.c).

use super::{would_block, Probe, Step};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

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
    err: Option<String>,
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
            Err(e) => (None, Some(format!("socket: {e}"))),
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
            return Step::fail(self.err.clone().unwrap_or_default());
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
        loop {
            match s.recv(&mut buf) {
                Ok(n) => {
                    if let Some(step) = judge(&buf[..n], self.id) {
                        return step;
                    }
                }
                Err(e) if would_block(&e) => return Step::Pending { progress },
                Err(e) => return Step::fail(format!("recv: {e}")),
            }
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
