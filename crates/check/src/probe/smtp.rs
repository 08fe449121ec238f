//! SMTP_CHECK: banner 220, `HELO name` answered 250, `QUIT` answered.

use super::stream::{connect, connected, Conn, Endpoint};
use super::{Probe, Step};
use mio::net::TcpStream;
use mio::{Registry, Token};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Banner,
    Helo,
    Quit,
}

enum State {
    /// The connection could not be opened (see [`Step::not_started`]).
    NotStarted(Step),
    Connecting(TcpStream),
    Talking(Conn, Phase),
    Gone,
}

pub struct SmtpProbe {
    state: State,
    helo: String,
    inbuf: Vec<u8>,
}

/// Longest reply (all its lines) an SMTP server may send.
const MAX_REPLY: usize = 64 << 10;

/// The status of the last line of a (possibly multi-line) reply, once a
/// whole reply is in `buf`; the reply is removed. (Public for the fuzz
/// target.)
pub fn take_reply(buf: &mut Vec<u8>) -> Option<Option<u16>> {
    let mut start = 0;
    while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + nl];
        start += nl + 1;
        // "250-" continues a multi-line reply.
        if line.len() >= 4 && line[3] == b'-' {
            continue;
        }
        let code = std::str::from_utf8(line.get(..3).unwrap_or(b""))
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|_| matches!(line.get(3), None | Some(b' ') | Some(b'\r')));
        buf.drain(..start);
        return Some(code);
    }
    None
}

impl SmtpProbe {
    pub fn start(ep: &Endpoint, helo: &str, registry: &Registry, token: Token) -> Self {
        let state = match connect(ep, registry, token) {
            Ok(s) => State::Connecting(s),
            Err(e) => State::NotStarted(Step::not_started("connect", &e)),
        };
        SmtpProbe {
            state,
            helo: helo.to_string(),
            inbuf: Vec::new(),
        }
    }
}

impl Probe for SmtpProbe {
    fn ready(&mut self) -> Step {
        if let State::Connecting(s) = &self.state {
            match connected(s) {
                Ok(true) => {}
                Ok(false) => return Step::Pending { progress: false },
                Err(e) => return Step::fail(format!("connect: {e}")),
            }
            let State::Connecting(s) = std::mem::replace(&mut self.state, State::Gone) else {
                unreachable!()
            };
            self.state = State::Talking(Conn::new(s, None), Phase::Banner);
        }
        let State::Talking(conn, phase) = &mut self.state else {
            if let State::NotStarted(step) = &self.state {
                return step.clone();
            }
            return Step::fail("internal state");
        };
        let mut progress = false;
        loop {
            let p = match conn.pump(&mut self.inbuf) {
                Ok(p) => p,
                Err(e) => return Step::fail(format!("{e}")),
            };
            progress |= p.progress;
            match take_reply(&mut self.inbuf) {
                // An endless reply (a `220-` banner that never ends) must
                // not grow without bound.
                None if self.inbuf.len() > MAX_REPLY => return Step::fail("reply too long"),
                None if p.eof => return Step::fail("connection closed"),
                None => return Step::Pending { progress },
                Some(code) => match (*phase, code) {
                    (Phase::Banner, Some(220)) => {
                        let _ = conn.send(format!("HELO {}\r\n", self.helo).as_bytes());
                        *phase = Phase::Helo;
                    }
                    (Phase::Banner, _) => return Step::fail("bad greeting banner"),
                    (Phase::Helo, Some(250)) => {
                        let _ = conn.send(b"QUIT\r\n");
                        *phase = Phase::Quit;
                    }
                    (Phase::Helo, _) => return Step::fail("bad HELO response"),
                    (Phase::Quit, _) => return Step::pass(),
                },
            }
        }
    }

    fn deregister(&mut self, registry: &Registry) {
        match &mut self.state {
            State::Connecting(s) => {
                let _ = registry.deregister(s);
            }
            State::Talking(c, _) => {
                let _ = registry.deregister(&mut c.tcp);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let mut b = b"220-hi\r\n220 there\r\n250".to_vec();
        assert_eq!(take_reply(&mut b), Some(Some(220)));
        assert_eq!(take_reply(&mut b), None);
        b.extend_from_slice(b" ok\r\n");
        assert_eq!(take_reply(&mut b), Some(Some(250)));
        let mut b = b"2200 x\n".to_vec();
        assert_eq!(take_reply(&mut b), Some(None));
    }
}
