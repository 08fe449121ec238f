//! keepalived-rs-exporter: Prometheus's `/metrics` over HTTP, from the
//! suite's read-only status socket.
//!
//! The parent never opens a network socket, so this small process does:
//! it runs as the package's unprivileged user (whose group may read
//! status.sock), holds no capability, and serves only `GET /metrics` (and a
//! link on `/`) on 127.0.0.1:9165 by default — keepalived-exporter's port,
//! so existing scrape configurations work. When the suite does not answer,
//! it serves `keepalived_up 0`, as keepalived-exporter does.
//!
//! Callers are hostile: at most [`MAX_CONNS`] connections, a request head
//! of at most [`MAX_HEAD`] bytes within [`HEAD_TIMEOUT`], answers written
//! without blocking, every connection gone after [`CONN_TIMEOUT`].

use clap::Parser;
use keepalived_ipc::control::{Request, Response, DEFAULT_DIR, STATUS_SOCKET};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MAX_CONNS: usize = 64;
const MAX_HEAD: usize = 8192;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
const CONN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the suite may take to answer one scrape.
const SUITE_TIMEOUT: Duration = Duration::from_secs(5);
const LISTENER: Token = Token(0);

#[derive(Parser, Debug)]
#[command(
    name = "keepalived-rs-exporter",
    version,
    about = "Serve keepalived-rs's metrics to Prometheus"
)]
struct Cli {
    /// Address and port to listen on.
    #[arg(
        long = "listen",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:9165"
    )]
    listen: SocketAddr,
    /// keepalived-rs's control directory (its --control-dir).
    #[arg(long = "control-dir", value_name = "DIR", default_value = DEFAULT_DIR)]
    control_dir: PathBuf,
    /// Write the man page and shell completions into DIR (packaging).
    #[arg(long = "generate-docs", value_name = "DIR", hide = true)]
    generate_docs: Option<PathBuf>,
}

#[path = "../docs_gen.rs"]
mod docs_gen;

struct Conn {
    stream: TcpStream,
    head: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    since: Instant,
}

impl Conn {
    /// The head must arrive within HEAD_TIMEOUT; once answered, the whole
    /// connection is gone after CONN_TIMEOUT.
    fn deadline(&self) -> Instant {
        let limit = if self.out.is_empty() {
            HEAD_TIMEOUT
        } else {
            CONN_TIMEOUT
        };
        self.since + limit
    }
}

fn main() {
    let cli = Cli::parse();
    if let Some(dir) = &cli.generate_docs {
        use clap::CommandFactory;
        if let Err(e) = docs_gen::generate(Cli::command(), dir) {
            eprintln!(
                "keepalived-rs-exporter: cannot write {}: {e}",
                dir.display()
            );
            std::process::exit(1);
        }
        return;
    }
    let socket = cli.control_dir.join(STATUS_SOCKET);
    let mut listener = match TcpListener::bind(cli.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "keepalived-rs-exporter: cannot listen on {}: {e}",
                cli.listen
            );
            std::process::exit(1);
        }
    };
    let mut poll = Poll::new().expect("epoll");
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .expect("register the listener");
    eprintln!(
        "keepalived-rs-exporter: serving /metrics on http://{}/metrics from {}",
        cli.listen,
        socket.display()
    );
    let mut conns: BTreeMap<usize, Conn> = BTreeMap::new();
    let mut next = 1usize;
    let mut events = Events::with_capacity(128);
    loop {
        let timeout = conns
            .values()
            .map(|c| c.deadline().saturating_duration_since(Instant::now()))
            .min();
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != ErrorKind::Interrupted {
                eprintln!("keepalived-rs-exporter: poll: {e}");
                std::process::exit(1);
            }
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                // Accept until none is left (epoll said so once); past the
                // cap they are closed at once.
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            if conns.len() >= MAX_CONNS {
                                continue;
                            }
                            let t = Token(next);
                            next = next.wrapping_add(1).max(1);
                            if poll
                                .registry()
                                .register(&mut stream, t, Interest::READABLE)
                                .is_ok()
                            {
                                conns.insert(
                                    t.0,
                                    Conn {
                                        stream,
                                        head: Vec::new(),
                                        out: Vec::new(),
                                        sent: 0,
                                        since: Instant::now(),
                                    },
                                );
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                continue;
            }
            let id = ev.token().0;
            let done = match conns.get_mut(&id) {
                Some(c) => serve(c, &socket, poll.registry(), ev.token()),
                None => false,
            };
            if done {
                if let Some(mut c) = conns.remove(&id) {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
            }
        }
        let now = Instant::now();
        let late: Vec<usize> = conns
            .iter()
            .filter(|(_, c)| now >= c.deadline())
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            if let Some(mut c) = conns.remove(&id) {
                let _ = poll.registry().deregister(&mut c.stream);
            }
        }
    }
}

/// Read the request head, answer it, write the answer; true when the
/// connection is finished.
fn serve(c: &mut Conn, socket: &std::path::Path, registry: &mio::Registry, t: Token) -> bool {
    if c.out.is_empty() {
        let mut buf = [0u8; 2048];
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => {
                    c.head.extend_from_slice(&buf[..n]);
                    if c.head.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                    if c.head.len() > MAX_HEAD {
                        c.out = reply(431, "text/plain", "request head too large\n");
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        if c.out.is_empty() {
            c.out = answer(&c.head, socket);
        }
        let _ = registry.reregister(&mut c.stream, t, Interest::WRITABLE);
    }
    while c.sent < c.out.len() {
        match c.stream.write(&c.out[c.sent..]) {
            Ok(0) => return true,
            Ok(n) => c.sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    true
}

fn answer(head: &[u8], socket: &std::path::Path) -> Vec<u8> {
    let first = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let mut words = first.split(' ');
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return reply(405, "text/plain", "only GET\n");
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => {
            let body = match metrics(socket) {
                Ok(m) => m,
                Err(e) => format!(
                    "# keepalived-rs does not answer on {}: {e}\n\
                     # HELP keepalived_up Whether keepalived is up.\n\
                     # TYPE keepalived_up gauge\nkeepalived_up 0\n",
                    socket.display()
                ),
            };
            reply(200, "text/plain; version=0.0.4; charset=utf-8", &body)
        }
        "/" => reply(
            200,
            "text/html",
            "<html><body><a href=\"/metrics\">keepalived-rs metrics</a></body></html>\n",
        ),
        _ => reply(404, "text/plain", "not found; try /metrics\n"),
    }
}

/// One `metrics` request to the status socket.
fn metrics(socket: &std::path::Path) -> std::io::Result<String> {
    match keepalived_ipc::control::ask(socket, &Request::Metrics, SUITE_TIMEOUT)?.1 {
        Response::Text(t) => Ok(t),
        Response::Error(e) => Err(std::io::Error::other(e)),
        _ => Err(std::io::Error::other("unexpected answer")),
    }
}

fn reply(code: u16, kind: &str, body: &str) -> Vec<u8> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Request Header Fields Too Large",
    };
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
