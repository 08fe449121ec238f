//! Small real servers on threads (they inherit the test's namespace), each
//! switchable between up, down (socket closed), slow and wrong answers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const UP: u8 = 0;
pub const DOWN: u8 = 1;
pub const SLOW: u8 = 2;
pub const BAD: u8 = 3;

#[derive(Clone)]
pub struct Mode(pub Arc<AtomicU8>);

impl Mode {
    pub fn new() -> Self {
        Mode(Arc::new(AtomicU8::new(UP)))
    }
    pub fn set(&self, m: u8) {
        self.0.store(m, Ordering::SeqCst)
    }
    pub fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Serve TCP connections with `handle` while the mode is not DOWN; the
/// listener is closed while DOWN so connects are refused.
pub fn tcp_server(addr: &'static str, mode: Mode, handle: impl Fn(TcpStream, u8) + Send + 'static) {
    // Bound before returning: the first check must find it.
    let first = TcpListener::bind(addr).unwrap();
    first.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut l: Option<TcpListener> = Some(first);
        loop {
            let m = mode.get();
            if m == DOWN {
                l = None;
            } else if l.is_none() {
                let nl = TcpListener::bind(addr).unwrap();
                nl.set_nonblocking(true).unwrap();
                l = Some(nl);
            }
            if let Some(lst) = &l {
                if let Ok((s, _)) = lst.accept() {
                    s.set_nonblocking(false).unwrap();
                    handle(s, m);
                    continue;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
}

/// Read an HTTP request head.
pub fn read_head(s: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The body served on `/` and `/other`.
pub const BODY: &str = "hello keepalived\n";

pub fn http_reply(s: &mut (impl Read + Write), m: u8) {
    let head = read_head(s);
    if m == SLOW {
        std::thread::sleep(Duration::from_millis(400));
    }
    let (code, body) = if m == BAD { (500, "oops") } else { (200, BODY) };
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let code = if path == "/missing" { 404 } else { code };
    let _ = write!(
        s,
        "HTTP/1.0 {code} X\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}

pub fn smtp_reply(mut s: TcpStream, m: u8) {
    let mut r = std::io::BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if m == SLOW {
        std::thread::sleep(Duration::from_millis(400));
    }
    let _ = s.write_all(if m == BAD {
        b"554 go away\r\n"
    } else {
        b"220-smtp.test\r\n220 ready\r\n"
    });
    use std::io::BufRead;
    let _ = r.read_line(&mut line);
    let _ = s.write_all(b"250 hello\r\n");
    line.clear();
    let _ = r.read_line(&mut line);
    let _ = s.write_all(b"221 bye\r\n");
}

/// A UDP responder: `reply` builds the answer; DOWN closes the socket
/// (ICMP port unreachable), SLOW stays silent.
pub fn udp_server(
    addr: &'static str,
    mode: Mode,
    reply: impl Fn(&[u8], u8) -> Vec<u8> + Send + 'static,
) {
    let first = UdpSocket::bind(addr).unwrap();
    first
        .set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    std::thread::spawn(move || {
        let mut sock: Option<UdpSocket> = Some(first);
        let mut buf = [0u8; 2048];
        loop {
            let m = mode.get();
            if m == DOWN {
                sock = None;
            } else if sock.is_none() {
                let s = UdpSocket::bind(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
                sock = Some(s);
            }
            match &sock {
                Some(s) => {
                    if let Ok((n, from)) = s.recv_from(&mut buf) {
                        if m != SLOW {
                            let _ = s.send_to(&reply(&buf[..n], m), from);
                        }
                    }
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
}

/// A DNS answer to `q`: QR set, rcode 0 (SERVFAIL when BAD).
pub fn dns_answer(q: &[u8], m: u8) -> Vec<u8> {
    let mut a = q.to_vec();
    if a.len() >= 4 {
        a[2] |= 0x80;
        a[3] = (a[3] & 0xf0) | if m == BAD { 2 } else { 0 };
    }
    a
}
