//! Thread-less IPVS client over neli's low-level `NlSocket` (no `NlRouter`:
//! that spawns a helper thread, which our seccomp/capability model forbids).
//!
//! Usable blocking (`execute`, `table`, …) or from a mio loop: set
//! non-blocking, `start` a request, and call `on_readable` when the fd is
//! readable until it returns `Some`.

use std::io;
use std::os::unix::io::{AsRawFd, RawFd};

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;

use crate::consts::*;
use crate::decode::{self, Message, Reply};
use crate::diff::{Op, Owned};
use crate::encode::{self, Request};
use crate::error::{IpvsError, Result};
use crate::model::*;
use crate::table::Table;

/// Receive buffer: larger than the kernel's 32 KiB dump skb.
const RECV_BUF: usize = 64 * 1024;

/// Most writes sent in one `sendmsg` by [`IpvsSocket::apply`]: the kernel
/// runs a datagram's messages one after the other, so a batch costs one
/// system call and one answer instead of one round trip per rule.
const BATCH: usize = 64;

struct Pending {
    seq: u32,
    cmd: u8,
    svc_af: Family,
    dump: bool,
    replies: Vec<Reply>,
}

pub struct IpvsSocket {
    sock: NlSocket,
    family: u16,
    pid: u32,
    seq: u32,
    writes: u64,
    pending: Option<Pending>,
    buf: Vec<u8>,
}

impl IpvsSocket {
    /// Open a generic netlink socket and resolve the IPVS family (blocking).
    /// A kernel without IPVS gives `IpvsError::NotAvailable`.
    pub fn connect() -> Result<Self> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())?;
        sock.block()?;
        let pid = sock.pid()?;
        let mut s = IpvsSocket {
            sock,
            family: 0,
            pid,
            seq: 0,
            writes: 0,
            pending: None,
            buf: vec![0u8; RECV_BUF],
        };
        s.family = s.resolve_family()?;
        Ok(s)
    }

    /// Wrap an already connected socket whose IPVS family id is known
    /// (e.g. resolved by a privileged parent); also lets tests drive the
    /// client over a socketpair.
    pub fn from_socket(sock: NlSocket, family: u16) -> Result<Self> {
        Ok(IpvsSocket {
            pid: 0, // the kernel does not check the sender port of requests
            sock,
            family,
            seq: 0,
            writes: 0,
            pending: None,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// Sequence number of the last request sent.
    pub fn last_seq(&self) -> u32 {
        self.seq
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16> {
        let seq = self.next_seq();
        let msg = encode::encode_get_family(seq, self.pid)?;
        self.sock.send(&msg, Msg::empty())?;
        let mut id = None;
        loop {
            let n = self.sock.recv(&mut self.buf[..], Msg::empty())?.0;
            for m in decode::messages(&self.buf[..n])? {
                if m.seq != seq {
                    continue;
                }
                match decode::classify(&m, GENL_ID_CTRL)? {
                    Message::Genl { attrs, .. } => id = Some(decode::family_id(attrs)?),
                    Message::Error(libc::ENOENT) => return Err(IpvsError::NotAvailable),
                    Message::Error(errno) => {
                        return Err(IpvsError::Io(io::Error::from_raw_os_error(errno)))
                    }
                    Message::Ack | Message::Done => {
                        return id
                            .ok_or_else(|| IpvsError::Malformed("family reply without id".into()))
                    }
                    Message::Skip => {}
                }
            }
        }
    }

    /// The resolved generic netlink id of IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Number of modifying requests sent so far (a no-op reconcile adds 0).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Switch the socket between blocking and non-blocking mode.
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        if nonblocking {
            self.sock.nonblock()?;
        } else {
            self.sock.block()?;
        }
        Ok(())
    }

    /// Send a request; its replies are collected by `on_readable`.
    /// One request is in flight at a time.
    pub fn start(&mut self, req: &Request) -> Result<()> {
        if self.pending.is_some() {
            return Err(IpvsError::Invalid("a request is already in flight".into()));
        }
        let seq = self.next_seq();
        let msg = encode::encode(req, self.family, seq, self.pid)?;
        self.sock.send(&msg, Msg::empty())?;
        if req.is_write() {
            self.writes += 1;
        }
        let svc_af = match req {
            Request::GetDests(k) => k.af(),
            _ => Family::Inet,
        };
        self.pending = Some(Pending {
            seq,
            cmd: req.cmd(),
            svc_af,
            dump: req.is_dump(),
            replies: Vec::new(),
        });
        Ok(())
    }

    /// Whether a request awaits its replies.
    pub fn in_flight(&self) -> bool {
        self.pending.is_some()
    }

    /// Read what is available. `Ok(None)`: not complete yet (non-blocking
    /// socket would block); `Ok(Some(r))`: the request finished with `r`.
    pub fn on_readable(&mut self) -> Result<Option<Result<Vec<Reply>>>> {
        loop {
            if self.pending.is_none() {
                return Ok(None);
            }
            let n = match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((n, _)) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pending = None;
                    return Err(e.into());
                }
            };
            if let Some(done) = self.feed(n) {
                return Ok(Some(done));
            }
        }
    }

    fn feed(&mut self, n: usize) -> Option<Result<Vec<Reply>>> {
        let family = self.family;
        let msgs = match decode::messages(&self.buf[..n]) {
            Ok(m) => m,
            Err(e) => {
                self.pending = None;
                return Some(Err(e));
            }
        };
        let p = self.pending.as_mut()?;
        for m in msgs {
            if m.seq != p.seq {
                continue; // stale reply of an abandoned request
            }
            let r = match decode::classify(&m, family) {
                Ok(Message::Genl { cmd, attrs }) => {
                    match decode::reply(cmd, attrs, p.svc_af) {
                        Ok(r) => {
                            p.replies.push(r);
                            // A non-dump GET answers with one message then an ACK.
                            continue;
                        }
                        Err(e) => Err(e),
                    }
                }
                Ok(Message::Ack) if !p.dump => Ok(()),
                Ok(Message::Done) if p.dump => Ok(()),
                Ok(Message::Error(errno)) => Err(IpvsError::Kernel { cmd: p.cmd, errno }),
                Ok(_) => continue,
                Err(e) => Err(e),
            };
            let p = self.pending.take()?;
            return Some(r.map(|()| p.replies));
        }
        None
    }

    /// Blocking round trip. On a non-blocking socket this spins until done.
    pub fn execute(&mut self, req: &Request) -> Result<Vec<Reply>> {
        self.start(req)?;
        loop {
            if let Some(r) = self.on_readable()? {
                return r;
            }
        }
    }

    pub fn services(&mut self) -> Result<Vec<ServiceEntry>> {
        Ok(self
            .execute(&Request::GetServices)?
            .into_iter()
            .filter_map(|r| match r {
                Reply::Service(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DestEntry>> {
        Ok(self
            .execute(&Request::GetDests(*key))?
            .into_iter()
            .filter_map(|r| match r {
                Reply::Dest(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// Dump the whole kernel table (one service dump + one dest dump each).
    pub fn table(&mut self) -> Result<Table> {
        let mut t = Table::new();
        for s in self.services()? {
            let key = s.service.key;
            t.add_service(s.service);
            for d in self.dests(&key)? {
                t.add_dest(&key, d.dest);
            }
        }
        Ok(t)
    }

    pub fn daemons(&mut self) -> Result<Vec<Daemon>> {
        Ok(self
            .execute(&Request::GetDaemons)?
            .into_iter()
            .filter_map(|r| match r {
                Reply::Daemon(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    pub fn info(&mut self) -> Result<Info> {
        self.execute(&Request::GetInfo)?
            .into_iter()
            .find_map(|r| match r {
                Reply::Info(i) => Some(i),
                _ => None,
            })
            .ok_or_else(|| IpvsError::Malformed("GET_INFO without info".into()))
    }

    pub fn timeouts(&mut self) -> Result<Timeouts> {
        self.execute(&Request::GetTimeouts)?
            .into_iter()
            .find_map(|r| match r {
                Reply::Timeouts(t) => Some(t),
                _ => None,
            })
            .ok_or_else(|| IpvsError::Malformed("GET_CONFIG without timeouts".into()))
    }

    /// Apply ops in order, recording successes in `owned`. Like keepalived,
    /// a failed op is reported and the rest still applied.
    ///
    /// Batched: up to [`BATCH`] requests per datagram, only the last asking
    /// for an ACK. The kernel handles a datagram's messages in order within
    /// the `sendmsg`, acknowledging (or reporting the error of) each in
    /// order, so the last one's answer means every earlier one is done and
    /// its error, if any, already read.
    pub fn apply(&mut self, ops: &[Op], owned: &mut Owned) -> Vec<(Op, IpvsError)> {
        let mut failed = Vec::new();
        for chunk in ops.chunks(BATCH) {
            match self.apply_batch(chunk) {
                Ok(errors) => {
                    let mut by_op: Vec<Option<IpvsError>> = chunk.iter().map(|_| None).collect();
                    for (i, e) in errors {
                        by_op[i] = Some(e);
                    }
                    for (op, e) in chunk.iter().zip(by_op) {
                        match e {
                            Some(e) => failed.push((op.clone(), e)),
                            None => owned.record(op),
                        }
                    }
                }
                // The socket failed: nothing of the batch is known done.
                Err(e) => {
                    let why = e.to_string();
                    failed.extend(
                        chunk
                            .iter()
                            .map(|op| (op.clone(), IpvsError::Invalid(why.clone()))),
                    );
                }
            }
        }
        failed
    }

    /// One batch: the index and error of each op the kernel refused.
    fn apply_batch(&mut self, ops: &[Op]) -> Result<Vec<(usize, IpvsError)>> {
        if self.pending.is_some() {
            return Err(IpvsError::Invalid("a request is already in flight".into()));
        }
        // A destination's message is 112 bytes, a service's 92.
        let mut buf = Vec::with_capacity(ops.len() * 112);
        let mut seqs = Vec::with_capacity(ops.len());
        let mut cmds = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let req = op.to_request();
            let seq = self.next_seq();
            let flags = if i + 1 == ops.len() {
                neli::consts::nl::NlmF::REQUEST | neli::consts::nl::NlmF::ACK
            } else {
                neli::consts::nl::NlmF::REQUEST
            };
            encode::encode_into(&mut buf, &req, self.family, seq, self.pid, flags)?;
            seqs.push(seq);
            cmds.push(req.cmd());
            if req.is_write() {
                self.writes += 1;
            }
        }
        self.sock.send(&buf, Msg::empty())?;
        let last = *seqs.last().expect("a batch is not empty");
        let mut errors = Vec::new();
        loop {
            let n = match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((n, _)) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e.into()),
            };
            for m in decode::messages(&self.buf[..n])? {
                // Answers of an abandoned request, or not ours.
                let Some(i) = seqs.iter().position(|s| *s == m.seq) else {
                    continue;
                };
                match decode::classify(&m, self.family)? {
                    Message::Error(errno) => errors.push((
                        i,
                        IpvsError::Kernel {
                            cmd: cmds[i],
                            errno,
                        },
                    )),
                    Message::Ack => {}
                    // A write answers with an ACK or an error only.
                    _ => continue,
                }
                if m.seq == last {
                    return Ok(errors);
                }
            }
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        self.execute(&Request::Flush).map(|_| ())
    }
}

impl AsRawFd for IpvsSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
