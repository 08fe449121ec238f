//! A non-blocking end of a `SOCK_SEQPACKET` socketpair.
//!
//! Sends are queued and flushed as the socket drains, so a slow peer never
//! blocks the event loop; the queue is bounded and an overflow is reported
//! instead of growing without end. File descriptors can ride along with a
//! message (SCM_RIGHTS), the way the parent hands privileged sockets to an
//! unprivileged child.

use crate::frame::{self, FrameError, Reassembler};
use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::collections::VecDeque;
use std::fmt;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Largest datagram we ever receive (header + one fragment).
const RECV_BUF: usize = frame::HEADER_LEN + frame::FRAGMENT_PAYLOAD;
/// Most file descriptors accepted with one datagram.
const MAX_FDS: usize = 16;

#[derive(Debug)]
pub enum RecvError {
    /// The peer closed its end.
    Closed,
    Io(Errno),
    Frame(FrameError),
    Decode(String),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => write!(f, "peer closed the channel"),
            RecvError::Io(e) => write!(f, "receive failed: {e}"),
            RecvError::Frame(e) => write!(f, "bad frame: {e}"),
            RecvError::Decode(e) => write!(f, "undecodable message: {e}"),
        }
    }
}

impl std::error::Error for RecvError {}

/// One whole message and the descriptors that came with it.
pub type Received = (Vec<u8>, Vec<OwnedFd>);

struct Outgoing {
    datagram: Vec<u8>,
    fds: Vec<OwnedFd>,
}

pub struct Channel {
    fd: OwnedFd,
    out: VecDeque<Outgoing>,
    out_bytes: usize,
    max_queued: usize,
    reasm: Reassembler,
    fds_in: Vec<OwnedFd>,
}

impl Channel {
    /// Wrap one end of a socketpair; `max_in` bounds one received message and
    /// `max_queued` the bytes waiting to be sent.
    pub fn new(fd: OwnedFd, max_in: usize, max_queued: usize) -> nix::Result<Self> {
        set_nonblocking(fd.as_fd())?;
        Ok(Channel {
            fd,
            out: VecDeque::new(),
            out_bytes: 0,
            max_queued,
            reasm: Reassembler::new(max_in),
            fds_in: Vec::new(),
        })
    }

    /// A close-on-exec SEQPACKET socketpair.
    pub fn pair() -> nix::Result<(OwnedFd, OwnedFd)> {
        socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Queue an already-encoded message and try to send it.
    pub fn send_bytes(&mut self, message: &[u8], fds: Vec<OwnedFd>) -> Result<(), Errno> {
        let frags = frame::fragment(message);
        let size: usize = frags.iter().map(Vec::len).sum();
        if self.out_bytes + size > self.max_queued {
            return Err(Errno::ENOBUFS);
        }
        let n = frags.len();
        let mut fds = Some(fds);
        for (i, datagram) in frags.into_iter().enumerate() {
            // Descriptors travel with the last fragment, once the message is whole.
            let fds = if i + 1 == n {
                fds.take().unwrap_or_default()
            } else {
                Vec::new()
            };
            self.out_bytes += datagram.len();
            self.out.push_back(Outgoing { datagram, fds });
        }
        self.flush().map(|_| ())
    }

    /// Encode and queue a message.
    pub fn send<T: serde::Serialize>(&mut self, msg: &T) -> Result<(), Errno> {
        let bytes = crate::message::encode(msg).map_err(|_| Errno::EINVAL)?;
        self.send_bytes(&bytes, Vec::new())
    }

    /// Send what the socket will take now; `Ok(true)` when nothing is left.
    pub fn flush(&mut self) -> Result<bool, Errno> {
        while let Some(o) = self.out.front() {
            let iov = [IoSlice::new(&o.datagram)];
            let raw: Vec<RawFd> = o.fds.iter().map(|f| f.as_raw_fd()).collect();
            let cmsg = [ControlMessage::ScmRights(&raw)];
            let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &cmsg };
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => {
                    self.out_bytes -= o.datagram.len();
                    self.out.pop_front();
                }
                Err(Errno::EAGAIN) => return Ok(false),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Bytes queued and not yet taken by the socket.
    pub fn queued_bytes(&self) -> usize {
        self.out_bytes
    }

    /// Whether sends are waiting for the socket to drain.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Receive the next whole message, if one has fully arrived.
    /// `Ok(None)` means "nothing more for now".
    pub fn recv_bytes(&mut self) -> Result<Option<Received>, RecvError> {
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let mut cspace = nix::cmsg_space!([RawFd; MAX_FDS]);
            let (len, truncated, fds) = {
                let mut iov = [IoSliceMut::new(&mut buf)];
                let msg = match recvmsg::<()>(
                    self.fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cspace),
                    MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Ok(m) => m,
                    Err(Errno::EAGAIN) => return Ok(None),
                    Err(Errno::EINTR) => continue,
                    // A peer that died with our messages unread resets the
                    // connection: it is gone all the same (a child whose
                    // parent was SIGKILLed must stop as on a stop, not
                    // fail and leave its VIPs behind).
                    Err(Errno::ECONNRESET) => return Err(RecvError::Closed),
                    Err(e) => return Err(RecvError::Io(e)),
                };
                let mut fds = Vec::new();
                if let Ok(cmsgs) = msg.cmsgs() {
                    for c in cmsgs {
                        if let ControlMessageOwned::ScmRights(raw) = c {
                            // SAFETY: the kernel just installed these descriptors in
                            // our table for us; nothing else owns them.
                            fds.extend(raw.into_iter().map(|r| unsafe { OwnedFd::from_raw_fd(r) }));
                        }
                    }
                }
                let truncated = msg
                    .flags
                    .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
                (msg.bytes, truncated, fds)
            };
            if len == 0 {
                return Err(RecvError::Closed);
            }
            if truncated {
                return Err(RecvError::Frame(FrameError::TooLarge {
                    total: len,
                    limit: RECV_BUF,
                }));
            }
            self.fds_in.extend(fds);
            match self.reasm.push(&buf[..len]) {
                Ok(Some(message)) => return Ok(Some((message, std::mem::take(&mut self.fds_in)))),
                Ok(None) => continue,
                Err(e) => {
                    self.fds_in.clear();
                    return Err(RecvError::Frame(e));
                }
            }
        }
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{decode_from_child, FromChild};

    fn pair() -> (Channel, Channel) {
        let (a, b) = Channel::pair().unwrap();
        (
            Channel::new(a, 1 << 24, 1 << 26).unwrap(),
            Channel::new(b, 1 << 24, 1 << 26).unwrap(),
        )
    }

    #[test]
    fn large_message_crosses_in_fragments() {
        let (mut a, mut b) = pair();
        let text = "x".repeat(900_000);
        a.send(&FromChild::Dump {
            kind: crate::DumpKind::Data,
            text: text.clone(),
            last: true,
        })
        .unwrap();
        let mut got = None;
        // Interleave draining and flushing as an event loop would.
        for _ in 0..10_000 {
            a.flush().unwrap();
            if let Some((m, _)) = b.recv_bytes().unwrap() {
                got = Some(m);
                break;
            }
        }
        let m = decode_from_child(&got.expect("message arrived")).unwrap();
        assert_eq!(
            m,
            FromChild::Dump {
                kind: crate::DumpKind::Data,
                text,
                last: true
            }
        );
    }

    #[test]
    fn queue_is_bounded() {
        let (a, _b) = Channel::pair().unwrap();
        let mut a = Channel::new(a, 1024, 1024).unwrap();
        assert_eq!(a.send_bytes(&[0u8; 4096], vec![]), Err(Errno::ENOBUFS));
    }

    #[test]
    fn closed_peer_is_reported() {
        let (a, b) = pair();
        drop(a);
        let mut b = b;
        assert!(matches!(b.recv_bytes(), Err(RecvError::Closed)));
    }

    /// The peer died with messages from us unread: the kernel reports a
    /// reset, which is a close all the same.
    #[test]
    fn a_peer_gone_with_our_messages_unread_is_closed() {
        let (mut a, b) = pair();
        a.send_bytes(b"unread", vec![]).unwrap();
        drop(b);
        assert!(matches!(a.recv_bytes(), Err(RecvError::Closed)));
    }

    #[test]
    fn descriptors_travel_with_messages() {
        let (mut a, mut b) = pair();
        let (x, _y) = Channel::pair().unwrap();
        a.send_bytes(b"hi", vec![x]).unwrap();
        let (m, fds) = b.recv_bytes().unwrap().unwrap();
        assert_eq!(m, b"hi");
        assert_eq!(fds.len(), 1);
    }
}
