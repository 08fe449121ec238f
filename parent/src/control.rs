//! The parent's control sockets (the I/O half; what each request does is
//! the supervisor's). Protocol and file names: `keepalived_ipc::control`.
//!
//! Callers are hostile like any other boundary: at most [`MAX_CONNS`]
//! connections, a request line of at most `MAX_REQUEST` bytes that must
//! arrive within [`REQUEST_TIMEOUT`], answers written without blocking and
//! dropped after [`ANSWER_TIMEOUT`]. Every request is logged with the
//! caller's uid and pid (SO_PEERCRED); the read-only socket refuses what
//! changes anything, and the control socket answers uid 0 only.

use keepalived_ipc::control::{read_request, Request, Response, CONTROL_SOCKET, STATUS_SOCKET};
use log::{info, warn};
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Connections open at once; more are closed at accept.
pub const MAX_CONNS: usize = 32;
/// Time to send the request line.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time to produce and deliver the answer (a reload waits for the
/// children's barrier, up to their ready timeout).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes an `events` subscriber may leave unread.
pub const MAX_BEHIND: usize = 1 << 20;
/// Connections accepted (or refused) per listener per turn of the loop.
const ACCEPT_BUDGET: usize = 64;

pub const LISTENER_TOKEN_BASE: usize = 60;
pub const CONN_TOKEN_BASE: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// status.sock: read commands, root or the package's group.
    ReadOnly,
    /// control.sock: every command, root only.
    Control,
}

impl Role {
    fn socket(self) -> &'static str {
        match self {
            Role::ReadOnly => STATUS_SOCKET,
            Role::Control => CONTROL_SOCKET,
        }
    }
}

struct Listener {
    sock: UnixListener,
    role: Role,
    path: PathBuf,
    /// Its accept budget ran out with connections maybe left (epoll
    /// reports a listener once, edge-triggered): look again next turn.
    more: bool,
}

struct Conn {
    stream: UnixStream,
    role: Role,
    uid: u32,
    pid: i32,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    sent: usize,
    /// A request was read; the answer may take a while (a reload).
    asked: bool,
    /// None: an `events` subscriber, open for as long as it reads.
    deadline: Option<Instant>,
    /// An `events` subscriber: lines are pushed as they happen and the
    /// connection stays open.
    streaming: bool,
}

/// A request the supervisor must answer with [`ControlServer::answer`].
pub struct Asked {
    pub conn: u64,
    pub request: Request,
}

pub struct ControlServer {
    listeners: Vec<Listener>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
}

impl ControlServer {
    /// Create `dir` (0755, never through a symlink) and bind both sockets:
    /// status.sock 0660 root:`group` (made with `group` as filesystem gid:
    /// no CAP_CHOWN needed), control.sock 0600. A socket another live instance listens on is
    /// left to it; a path that is not a socket is left alone. Problems are
    /// logged and the suite runs without that socket.
    pub fn bind(dir: &Path, group: u32) -> ControlServer {
        let mut server = ControlServer {
            listeners: Vec::new(),
            conns: BTreeMap::new(),
            next_conn: 0,
        };
        if let Err(e) = prepare_dir(dir) {
            warn!("no control socket: {}: {e}", dir.display());
            return server;
        }
        for (role, mode, gid) in [
            (Role::ReadOnly, 0o660, Some(group)),
            (Role::Control, 0o600, None),
        ] {
            let path = dir.join(role.socket());
            match bind_one(&path, mode, gid) {
                Ok(sock) => {
                    info!("Control socket {} ready", path.display());
                    server.listeners.push(Listener {
                        sock,
                        role,
                        path,
                        more: false,
                    });
                }
                Err(e) => warn!("no control socket {}: {e}", path.display()),
            }
        }
        server
    }

    pub fn register(&mut self, registry: &Registry) -> std::io::Result<()> {
        for (i, l) in self.listeners.iter_mut().enumerate() {
            registry.register(
                &mut l.sock,
                Token(LISTENER_TOKEN_BASE + i),
                Interest::READABLE,
            )?;
        }
        Ok(())
    }

    /// Whether `token` is one of ours.
    pub fn owns(&self, token: Token) -> bool {
        (LISTENER_TOKEN_BASE..LISTENER_TOKEN_BASE + self.listeners.len()).contains(&token.0)
            || token.0 >= CONN_TOKEN_BASE
    }

    /// Something happened on `token`: accept, read, or write; returns the
    /// requests now complete (answer each with [`Self::answer`]).
    pub fn ready(&mut self, token: Token, registry: &Registry, now: Instant) -> Vec<Asked> {
        let mut asked = Vec::new();
        if let Some(i) = token
            .0
            .checked_sub(LISTENER_TOKEN_BASE)
            .filter(|i| *i < self.listeners.len())
        {
            self.accept(i, registry, now);
        } else if let Some(id) = token.0.checked_sub(CONN_TOKEN_BASE) {
            let id = id as u64;
            if self.conns.get(&id).is_some_and(|c| c.streaming) {
                self.watch_subscriber(id, registry);
                return asked;
            }
            self.flush(id, registry);
            if let Some(r) = self.read(id, registry) {
                asked.push(Asked {
                    conn: id,
                    request: r,
                });
            }
        }
        asked
    }

    /// Whether a listener has connections left from its budget.
    pub fn busy(&self) -> bool {
        self.listeners.iter().any(|l| l.more)
    }

    /// Accept what a spent budget left waiting.
    pub fn resume(&mut self, registry: &Registry, now: Instant) {
        for i in 0..self.listeners.len() {
            if self.listeners[i].more {
                self.accept(i, registry, now);
            }
        }
    }

    fn accept(&mut self, i: usize, registry: &Registry, now: Instant) {
        self.listeners[i].more = true;
        let mut refused = 0;
        for _ in 0..ACCEPT_BUDGET {
            let (mut stream, _) = match self.listeners[i].sock.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.listeners[i].more = false;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("control socket: accept failed: {e}");
                    self.listeners[i].more = false;
                    break;
                }
            };
            if self.conns.len() >= MAX_CONNS {
                refused += 1;
                continue;
            }
            let (uid, pid) = match nix::sys::socket::getsockopt(
                &stream,
                nix::sys::socket::sockopt::PeerCredentials,
            ) {
                Ok(c) => (c.uid(), c.pid()),
                Err(e) => {
                    warn!("control socket: no peer credentials ({e}); closing");
                    continue;
                }
            };
            let role = self.listeners[i].role;
            if role == Role::Control && uid != 0 {
                warn!(
                    "control socket: refused uid {uid} pid {pid} on {} (root only)",
                    self.listeners[i].path.display()
                );
                continue;
            }
            let id = self.next_conn;
            self.next_conn += 1;
            if registry
                .register(&mut stream, conn_token(id), Interest::READABLE)
                .is_err()
            {
                continue;
            }
            self.conns.insert(
                id,
                Conn {
                    stream,
                    role,
                    uid,
                    pid,
                    inbuf: Vec::new(),
                    out: Vec::new(),
                    sent: 0,
                    asked: false,
                    deadline: Some(now + REQUEST_TIMEOUT),
                    streaming: false,
                },
            );
        }
        if refused > 0 {
            warn!(
                "control socket: {MAX_CONNS} connections open; refused {refused} more on {}",
                self.listeners[i].path.display()
            );
        }
    }

    /// Read what the caller sent; the request once its line is whole.
    fn read(&mut self, id: u64, registry: &Registry) -> Option<Request> {
        let c = self.conns.get_mut(&id)?;
        if c.asked {
            return None;
        }
        let mut buf = [0u8; 1024];
        // Reads until a whole line, too much, EOF or EAGAIN: at most
        // MAX_REQUEST + 1 KiB is ever held.
        let decoded = loop {
            match c.stream.read(&mut buf) {
                Ok(0) => match read_request(&c.inbuf) {
                    Some(r) => break r,
                    None => {
                        // Closed before a whole line: nothing to answer.
                        self.close(id, registry);
                        return None;
                    }
                },
                Ok(n) => {
                    c.inbuf.extend_from_slice(&buf[..n]);
                    if let Some(r) = read_request(&c.inbuf) {
                        break r;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(id, registry);
                    return None;
                }
            }
        };
        let request = match decoded {
            Ok(r) => r,
            Err(why) => {
                self.refuse(id, registry, why);
                return None;
            }
        };
        let c = self.conns.get_mut(&id)?;
        let socket = c.role.socket();
        // Who changed the running suite, or subscribed to its events, is
        // worth a line each time; who looked (an exporter scraping every
        // few seconds) is not.
        let level = if request.read_only() && !matches!(request, Request::Events { .. }) {
            log::Level::Debug
        } else {
            log::Level::Info
        };
        log::log!(
            level,
            "control: '{}' from uid {} pid {} on {socket}",
            request.name(),
            c.uid,
            c.pid
        );
        if c.role == Role::ReadOnly && !request.read_only() {
            let why = format!(
                "'{}' changes the running suite: it is refused on the read-only {STATUS_SOCKET}; use {CONTROL_SOCKET} (root)",
                request.name()
            );
            warn!("control: {why} (uid {} pid {})", c.uid, c.pid);
            self.refuse(id, registry, why);
            return None;
        }
        c.asked = true;
        c.deadline = Some(Instant::now() + ANSWER_TIMEOUT);
        Some(request)
    }

    fn refuse(&mut self, id: u64, registry: &Registry, why: String) {
        self.answer(id, &Response::Error(why), registry);
    }

    /// Send the answer to request `id` (a connection gone by now is
    /// skipped) and close once it is written.
    pub fn answer(&mut self, id: u64, response: &Response, registry: &Registry) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let mut text = serde_json::to_vec(response).unwrap_or_else(|e| {
            serde_json::to_vec(&Response::Error(format!("cannot encode the answer: {e}")))
                .unwrap_or_default()
        });
        text.push(b'\n');
        c.out = text;
        c.sent = 0;
        c.asked = true;
        let _ = registry.reregister(&mut c.stream, conn_token(id), Interest::WRITABLE);
        self.flush(id, registry);
    }

    /// Make request `id` an `events` subscription: no deadline, no
    /// answer; lines come with [`Self::push`].
    pub fn stream(&mut self, id: u64, registry: &Registry) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.streaming = true;
            c.deadline = None;
            let _ = registry.reregister(&mut c.stream, conn_token(id), Interest::READABLE);
        }
    }

    /// Send `line` to subscriber `id`; false when it is gone or has more
    /// than [`MAX_BEHIND`] unread (it is closed: a slow reader cannot make
    /// the parent hold an unbounded backlog).
    pub fn push(&mut self, id: u64, line: &[u8], registry: &Registry) -> bool {
        let Some(c) = self.conns.get_mut(&id) else {
            return false;
        };
        c.out.drain(..c.sent);
        c.sent = 0;
        if c.out.len() + line.len() > MAX_BEHIND {
            warn!(
                "control: events subscriber uid {} pid {} is {} bytes behind; closing it",
                c.uid,
                c.pid,
                c.out.len()
            );
            self.close(id, registry);
            return false;
        }
        c.out.extend_from_slice(line);
        self.flush(id, registry);
        self.conns.contains_key(&id)
    }

    /// A subscriber's socket is readable or writable: write what is
    /// pending; a subscriber that hung up (or sends anything) is closed.
    fn watch_subscriber(&mut self, id: u64, registry: &Registry) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let mut buf = [0u8; 64];
        match c.stream.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.flush(id, registry),
            _ => self.close(id, registry),
        }
    }

    fn flush(&mut self, id: u64, registry: &Registry) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.out.is_empty() {
            return;
        }
        while c.sent < c.out.len() {
            match c.stream.write(&c.out[c.sent..]) {
                Ok(0) => break,
                Ok(n) => c.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let interest = if c.streaming {
                        Interest::READABLE | Interest::WRITABLE
                    } else {
                        Interest::WRITABLE
                    };
                    let _ = registry.reregister(&mut c.stream, conn_token(id), interest);
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        if c.streaming && c.sent == c.out.len() {
            c.out.clear();
            c.sent = 0;
            let _ = registry.reregister(&mut c.stream, conn_token(id), Interest::READABLE);
            return;
        }
        self.close(id, registry);
    }

    fn close(&mut self, id: u64, registry: &Registry) {
        if let Some(mut c) = self.conns.remove(&id) {
            let _ = registry.deregister(&mut c.stream);
        }
    }

    /// Drop the connections past their deadline.
    pub fn expire(&mut self, now: Instant, registry: &Registry) {
        let late: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            if let Some(c) = self.conns.get(&id) {
                warn!(
                    "control: connection from uid {} pid {} timed out; closing it",
                    c.uid, c.pid
                );
            }
            self.close(id, registry);
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.conns.values().filter_map(|c| c.deadline).min()
    }

    /// Remove the socket files (at stop).
    pub fn remove(&mut self) {
        for l in self.listeners.drain(..) {
            let _ = std::fs::remove_file(&l.path);
        }
    }
}

fn conn_token(id: u64) -> Token {
    Token(CONN_TOKEN_BASE + id as usize)
}

/// The directory exists, is a real directory (not a symlink) owned by us,
/// and nobody else may write to it.
fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        // 0755 whatever the umask (keepalived's 0177 would close it to
        // the group that reads status.sock).
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let m = std::fs::symlink_metadata(dir)?;
    if !m.file_type().is_dir() {
        return Err(std::io::Error::other(
            "not a directory (a symlink is not followed)",
        ));
    }
    if m.uid() != nix::unistd::geteuid().as_raw() || m.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(
            "owned by another user or writable by others; refusing to put sockets there",
        ));
    }
    Ok(())
}

fn bind_one(path: &Path, mode: u32, gid: Option<u32>) -> std::io::Result<UnixListener> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            return Err(std::io::Error::other(
                "exists and is not a socket; leaving it",
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::other(
                "another running instance listens on it (use --control-dir)",
            ));
        }
        std::fs::remove_file(path)?;
    }
    // Bound with no permission for anyone, then opened up: no window where
    // the umask decides.
    // The group's socket is made with the group as filesystem gid: it is
    // born with that group and no CAP_CHOWN is needed.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o777));
    let bound = match gid {
        Some(g) => crate::fs_ids::with_fs_ids(
            nix::unistd::geteuid(),
            nix::unistd::Gid::from_raw(g),
            || UnixListener::bind(path),
        )
        .map_err(std::io::Error::other)
        .and_then(|r| r),
        None => UnixListener::bind(path),
    };
    nix::sys::stat::umask(old);
    let sock = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// An `events` subscriber that never reads is closed once MAX_BEHIND
    /// bytes wait for it: the parent's memory for it stays bounded.
    #[test]
    fn an_events_subscriber_that_does_not_read_is_dropped_past_one_mib() {
        if !nix::unistd::geteuid().is_root() {
            return; // control.sock answers root only; the tests run as root
        }
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("ctl");
        let mut server = ControlServer::bind(&ctl, nix::unistd::getegid().as_raw());
        let mut poll = mio::Poll::new().unwrap();
        server.register(poll.registry()).unwrap();
        let request = Request::Events { json: false };
        let mut client = keepalived_ipc::control::send(
            &ctl.join(CONTROL_SOCKET),
            &request,
            Some(Duration::from_secs(10)),
        )
        .unwrap();
        let mut events = mio::Events::with_capacity(8);
        let mut asked = None;
        for _ in 0..50 {
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            for ev in events.iter() {
                asked = asked.or(server
                    .ready(ev.token(), poll.registry(), Instant::now())
                    .pop());
            }
            if asked.is_some() {
                break;
            }
        }
        let asked = asked.expect("the subscription was read");
        assert_eq!(asked.request, request);
        server.stream(asked.conn, poll.registry());
        let line = [b"x".repeat(999).as_slice(), b"\n"].concat();
        let mut pushed = 0usize;
        while server.push(asked.conn, &line, poll.registry()) {
            pushed += line.len();
            assert!(pushed < 64 << 20, "never dropped");
        }
        // The kernel's socket buffer took some; the rest waited in the
        // parent up to the cap.
        assert!(pushed >= MAX_BEHIND, "dropped after {pushed} bytes");
        // The caller reads what was delivered, then the end.
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert!(got.len() <= pushed, "{}", got.len());
    }
}
