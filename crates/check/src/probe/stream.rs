//! A non-blocking TCP connection, optionally wrapped in TLS, shared by the
//! stream probes (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK).

use super::would_block;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::ClientConnection;
use socket2::SockAddr;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

/// Where to connect and from where.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub dst: SocketAddr,
    /// `bindto` / `bind_port`.
    pub bind: Option<SocketAddr>,
    /// `fwmark`: SO_MARK on the check's socket.
    pub mark: Option<u32>,
    /// `bind_if`: the interface the check's socket is bound to.
    pub bind_if: Option<String>,
}

impl Endpoint {
    /// A plain endpoint: no source address, mark or interface.
    pub fn to(dst: SocketAddr) -> Endpoint {
        Endpoint {
            dst,
            bind: None,
            mark: None,
            bind_if: None,
        }
    }
}

/// Start a non-blocking connect and register it for read and write.
pub fn connect(ep: &Endpoint, registry: &Registry, token: Token) -> io::Result<TcpStream> {
    let sock = crate::sockets::open(ep.dst, false, ep.mark, ep.bind_if.as_deref())?;
    if let Some(b) = ep.bind {
        if b.port() != 0 {
            sock.set_reuse_address(true)?;
        }
        sock.bind(&SockAddr::from(b))?;
    }
    match sock.connect(&SockAddr::from(ep.dst)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let mut s = TcpStream::from_std(sock.into());
    registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
    Ok(s)
}

/// Has the connect finished? `Ok(false)` while in progress.
/// (A peer address means connected: one system call for a check that
/// passes, at 10,000 checks a second. Without one, the socket's pending
/// error says whether the connect failed or is still under way.)
pub fn connected(s: &TcpStream) -> io::Result<bool> {
    let e = match s.peer_addr() {
        Ok(_) => return Ok(true),
        Err(e) => e,
    };
    if let Some(err) = s.take_error()? {
        return Err(err);
    }
    match e {
        e if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        e if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        e => Err(e),
    }
}

/// Result of pumping a connection.
#[derive(Debug, Default)]
pub struct Pumped {
    pub progress: bool,
    pub eof: bool,
}

/// A connected stream: plain or TLS.
pub struct Conn {
    pub tcp: TcpStream,
    pub tls: Option<Box<ClientConnection>>,
    out: Vec<u8>,
    out_pos: usize,
}

impl Conn {
    pub fn new(tcp: TcpStream, tls: Option<ClientConnection>) -> Self {
        Conn {
            tcp,
            tls: tls.map(Box::new),
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Queue application bytes to send.
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.tls {
            Some(t) => t.writer().write_all(data),
            None => {
                self.out.extend_from_slice(data);
                Ok(())
            }
        }
    }

    pub fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// Move bytes both ways until the socket would block; application
    /// bytes read are appended to `inbuf`.
    pub fn pump(&mut self, inbuf: &mut Vec<u8>) -> io::Result<Pumped> {
        let mut p = Pumped::default();
        match self.tls.as_deref_mut() {
            None => {
                while self.out_pos < self.out.len() {
                    match self.tcp.write(&self.out[self.out_pos..]) {
                        Ok(n) => {
                            self.out_pos += n;
                            p.progress = true;
                        }
                        Err(e) if would_block(&e) => break,
                        Err(e) => return Err(e),
                    }
                }
                read_plain(&mut self.tcp, inbuf, &mut p)?;
            }
            Some(tls) => {
                loop {
                    let mut moved = false;
                    while tls.wants_write() {
                        match tls.write_tls(&mut self.tcp) {
                            Ok(n) => {
                                moved |= n > 0;
                            }
                            Err(e) if would_block(&e) => break,
                            Err(e) => return Err(e),
                        }
                    }
                    if tls.wants_read() && !p.eof {
                        match tls.read_tls(&mut self.tcp) {
                            Ok(0) => p.eof = true,
                            Ok(_) => {
                                moved = true;
                                tls.process_new_packets()
                                    .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
                            }
                            Err(e) if would_block(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    let mut buf = [0u8; 4096];
                    loop {
                        match tls.reader().read(&mut buf) {
                            Ok(0) => {
                                p.eof = true;
                                break;
                            }
                            Ok(n) => {
                                inbuf.extend_from_slice(&buf[..n]);
                                moved = true;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            // Peer closed without close_notify: as keepalived,
                            // the data read so far counts.
                            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                                p.eof = true;
                                break;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    p.progress |= moved;
                    if !moved || p.eof {
                        break;
                    }
                }
                if p.eof && tls.is_handshaking() {
                    return Err(io::Error::other("connection closed during TLS handshake"));
                }
            }
        }
        Ok(p)
    }

    pub fn all_sent(&self) -> bool {
        match &self.tls {
            Some(t) => !t.is_handshaking() && !t.wants_write(),
            None => self.out_pos >= self.out.len(),
        }
    }
}

fn read_plain(tcp: &mut TcpStream, inbuf: &mut Vec<u8>, p: &mut Pumped) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => {
                p.eof = true;
                return Ok(());
            }
            Ok(n) => {
                inbuf.extend_from_slice(&buf[..n]);
                p.progress = true;
            }
            Err(e) if would_block(&e) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
