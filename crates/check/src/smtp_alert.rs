//! The SMTP exchange of an alert, as keepalived speaks it (RFC 5321):
//! sans-IO, replies in and bytes out, so the part that faces a mail server
//! is testable and fuzzable without a socket. checkerd's mailer drives it.

/// A reply longer than this is an error (keepalived: a small buffer too).
const MAX_REPLY: usize = 4096;

/// One message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub body: String,
}

/// Where a session is in the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Greeting,
    Helo,
    Mail,
    Rcpt(usize),
    Data,
    Body,
    Quit,
    /// The exchange failed: nothing more is asked.
    Over,
}

/// What the dialogue wants next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes, then wait for a reply.
    Send(Vec<u8>),
    /// The server accepted the message.
    Sent,
    /// Give up, with the reason.
    Failed(String),
    /// Not a whole reply yet.
    More,
}

/// The SMTP exchange for one alert (RFC 5321, as keepalived speaks it).
pub struct Dialogue {
    stage: Stage,
    buf: Vec<u8>,
    helo: String,
    from: String,
    to: Vec<String>,
    message: Vec<u8>,
}

impl Dialogue {
    /// The exchange sending `alert` from `from` to `to`, greeting as `helo`.
    pub fn new(helo: &str, from: &str, to: &[String], alert: &Alert, date: &str) -> Dialogue {
        let message = format!(
            "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n\r\n.\r\n",
            from,
            alert.subject,
            to.join(", "),
            dot_stuff(&alert.body)
        );
        Dialogue {
            stage: Stage::Greeting,
            buf: Vec::new(),
            helo: helo.to_string(),
            from: from.to_string(),
            to: to.to_vec(),
            message: message.into_bytes(),
        }
    }

    /// Bytes from the server: the next step once a whole reply (its last
    /// line, `NNN text`) has arrived.
    pub fn on_bytes(&mut self, bytes: &[u8]) -> Step {
        let step = self.on_bytes_inner(bytes);
        if matches!(step, Step::Failed(_)) {
            self.stage = Stage::Over;
        }
        step
    }

    fn on_bytes_inner(&mut self, bytes: &[u8]) -> Step {
        if matches!(self.stage, Stage::Quit | Stage::Over) {
            return Step::More;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > MAX_REPLY {
            return Step::Failed("reply too long".into());
        }
        // A reply is complete at a line whose 4th byte is not '-'.
        let mut code = None;
        let mut start = 0;
        while let Some(end) = find_crlf(&self.buf[start..]) {
            let line = &self.buf[start..start + end];
            start += end + 2;
            if line.len() >= 3 && line.get(3) != Some(&b'-') {
                code = std::str::from_utf8(&line[..3])
                    .ok()
                    .and_then(|c| c.parse::<u16>().ok());
                if code.is_none() {
                    return Step::Failed("malformed reply".into());
                }
                break;
            }
        }
        let Some(code) = code else {
            return Step::More;
        };
        self.buf.drain(..start);
        self.advance(code)
    }

    fn advance(&mut self, code: u16) -> Step {
        let expect = |want: u16, what: &str| {
            if code == want {
                Ok(())
            } else {
                Err(Step::Failed(format!("{what}: status code {code}")))
            }
        };
        let r = match self.stage {
            Stage::Greeting => expect(220, "connecting").map(|_| {
                self.stage = Stage::Helo;
                Step::Send(format!("HELO {}\r\n", self.helo).into_bytes())
            }),
            Stage::Helo => expect(250, "HELO").map(|_| {
                self.stage = Stage::Mail;
                Step::Send(format!("MAIL FROM:<{}>\r\n", self.from).into_bytes())
            }),
            Stage::Mail => expect(250, "MAIL").map(|_| self.rcpt(0)),
            Stage::Rcpt(i) => expect(250, "RCPT").map(|_| self.rcpt(i + 1)),
            Stage::Data => expect(354, "DATA").map(|_| {
                self.stage = Stage::Body;
                Step::Send(std::mem::take(&mut self.message))
            }),
            Stage::Body => expect(250, "message").map(|_| {
                self.stage = Stage::Quit;
                Step::Sent
            }),
            Stage::Quit | Stage::Over => Ok(Step::More),
        };
        r.unwrap_or_else(|e| e)
    }

    fn rcpt(&mut self, i: usize) -> Step {
        match self.to.get(i) {
            Some(to) => {
                self.stage = Stage::Rcpt(i);
                Step::Send(format!("RCPT TO:<{to}>\r\n").into_bytes())
            }
            None => {
                self.stage = Stage::Data;
                Step::Send(b"DATA\r\n".to_vec())
            }
        }
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// A body line starting with '.' gets another one (RFC 5321 4.5.2).
fn dot_stuff(body: &str) -> String {
    body.split("\r\n")
        .map(|l| {
            if l.starts_with('.') {
                format!(".{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// RFC 5322 date, in UTC (checkerd cannot read the time zone database
/// once sandboxed, and UTC is as valid).
pub fn rfc5322_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = now.div_euclid(86_400);
    let secs = now.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to() -> Vec<String> {
        vec!["a@example.org".into(), "b@example.org".into()]
    }

    fn send(step: Step) -> String {
        match step {
            Step::Send(b) => String::from_utf8(b).unwrap(),
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    #[test]
    fn the_exchange_as_keepalived_speaks_it() {
        let alert = Alert {
            subject: "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state".into(),
            body: "=> VRRP Instance is now owning VRRP VIPs <=".into(),
        };
        let mut d = Dialogue::new(
            "lb1",
            "ka@example.org",
            &to(),
            &alert,
            "Sat, 28 Nov 2026 16:00:00 +0000",
        );
        // A greeting split across reads, with a continuation line.
        assert_eq!(d.on_bytes(b"220-mx ESMTP\r\n220 re"), Step::More);
        assert_eq!(send(d.on_bytes(b"ady\r\n")), "HELO lb1\r\n");
        assert_eq!(
            send(d.on_bytes(b"250 ok\r\n")),
            "MAIL FROM:<ka@example.org>\r\n"
        );
        assert_eq!(
            send(d.on_bytes(b"250 ok\r\n")),
            "RCPT TO:<a@example.org>\r\n"
        );
        assert_eq!(
            send(d.on_bytes(b"250 ok\r\n")),
            "RCPT TO:<b@example.org>\r\n"
        );
        assert_eq!(send(d.on_bytes(b"250 ok\r\n")), "DATA\r\n");
        let msg = send(d.on_bytes(b"354 go\r\n"));
        assert_eq!(
            msg,
            "Date: Sat, 28 Nov 2026 16:00:00 +0000\r\nFrom: ka@example.org\r\n\
             Subject: [LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state\r\n\
             X-Mailer: Keepalived\r\nTo: a@example.org, b@example.org\r\n\r\n\
             => VRRP Instance is now owning VRRP VIPs <=\r\n\r\n.\r\n"
        );
        assert_eq!(d.on_bytes(b"250 queued\r\n"), Step::Sent);
    }

    #[test]
    fn refusals_and_garbage_end_the_session() {
        let a = Alert {
            subject: "s".into(),
            body: ".b".into(),
        };
        let mut d = Dialogue::new("lb1", "ka@example.org", &to(), &a, "x");
        assert!(matches!(d.on_bytes(b"554 go away\r\n"), Step::Failed(m) if m.contains("554")));
        // Over is over: a later good reply asks for nothing (found by fuzzing).
        assert_eq!(d.on_bytes(b"220 hello\r\n"), Step::More);
        let mut d = Dialogue::new("lb1", "ka@example.org", &to(), &a, "x");
        assert!(matches!(d.on_bytes(b"xyz\r\n"), Step::Failed(_)));
        let mut d = Dialogue::new("lb1", "ka@example.org", &to(), &a, "x");
        assert!(matches!(d.on_bytes(&[b'2'; 5000]), Step::Failed(_)));
        assert_eq!(dot_stuff(".b\r\nc"), "..b\r\nc");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert!(rfc5322_now().ends_with(" +0000"));
    }
}
