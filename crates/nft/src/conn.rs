//! The request socket: one batch out, every acknowledgement read back
//! within a budget and a receive timeout (a kernel that never answers
//! cannot hold the daemon).

use crate::msg::{Batch, Finished, Layout};
use neli::consts::socket::{Msg, NlFamily};
use neli::nl::{NlPayload, Nlmsghdr};
use neli::socket::NlSocket;
use neli::types::{Buffer, NlBuffer};
use neli::utils::Groups;
use neli::FromBytesWithInput;
use std::collections::BTreeSet;
use std::io::{self, Cursor};
use std::os::fd::AsRawFd;

/// Datagrams read while waiting for one batch's acknowledgements.
const ACK_READS: usize = 4096;

pub struct Conn {
    sock: NlSocket,
    portid: u32,
    seq: u32,
    buf: Vec<u8>,
}

fn err(what: &'static str) -> impl Fn(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl Conn {
    pub fn open() -> io::Result<Conn> {
        let sock = NlSocket::connect(NlFamily::Netfilter, None, Groups::empty())?;
        sock.block()?;
        // Every answer within a second, or the exchange fails.
        let tv = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        // SAFETY: a valid option value of its own size on our socket.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        let portid = sock.pid()?;
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() as u32);
        Ok(Conn {
            sock,
            portid,
            seq,
            buf: vec![0; 65536],
        })
    }

    /// Our netlink port: announcements carrying it are our own changes.
    pub fn portid(&self) -> u32 {
        self.portid
    }

    /// Build a batch with `fill`, send it, and wait for every
    /// acknowledgement; the first error the kernel reports fails it
    /// (the kernel then applied none of it).
    pub fn exchange(
        &mut self,
        layout: &Layout,
        fill: impl FnOnce(&mut Batch) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut b = Batch::new(layout, self.seq)?;
        fill(&mut b)?;
        let begin = self.seq;
        let Some(Finished {
            bytes,
            acks,
            next_seq,
        }) = b.finish()?
        else {
            return Ok(());
        };
        self.seq = next_seq;
        self.sock
            .send(&bytes, Msg::empty())
            .map_err(err("nftables send"))?;
        let mut pending: BTreeSet<u32> = acks.into_iter().collect();
        let mut first_error = None;
        for _ in 0..ACK_READS {
            if pending.is_empty() {
                break;
            }
            let n = match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((n, _)) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err("nftables receive")(e)),
            };
            let msgs =
                NlBuffer::<u16, Buffer>::from_bytes_with_input(&mut Cursor::new(&self.buf[..n]), n)
                    .map_err(|e| io::Error::other(format!("nftables answer: {e}")))?;
            for m in msgs.iter() {
                let m: &Nlmsghdr<u16, Buffer> = m;
                let seq = *m.nl_seq();
                let code = match m.nl_payload() {
                    NlPayload::Ack(_) => 0,
                    NlPayload::Err(e) => *e.error(),
                    _ => continue,
                };
                // An error naming the batch itself (out of memory) ends it.
                if seq == begin && code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
                if pending.remove(&seq) && code != 0 && first_error.is_none() {
                    first_error = Some(io::Error::from_raw_os_error(-code));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None if pending.is_empty() => Ok(()),
            None => Err(io::Error::other("nftables: acknowledgements missing")),
        }
    }
}

/// Announcements read per wake-up (a storm of other people's ruleset
/// changes must not keep a daemon from its timers).
const MONITOR_BUDGET: usize = 64;

/// nf_tables change announcements: how a daemon learns that someone else
/// (`nft flush ruleset`) deleted part of its table, to put it back.
pub struct Monitor {
    sock: NlSocket,
    buf: Vec<u8>,
}

/// What one read of the announcements found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Part of the table, in a family it has, was deleted by another
    /// process (or announcements were lost and one may have been).
    pub deleted: bool,
    /// The budget ran out with announcements left.
    pub more: bool,
}

impl Monitor {
    pub fn open() -> io::Result<Monitor> {
        let sock = NlSocket::connect(
            NlFamily::Netfilter,
            None,
            Groups::new_groups(&[crate::msg::NFNLGRP_NFTABLES]),
        )?;
        sock.nonblock()?;
        Ok(Monitor {
            sock,
            buf: vec![0; 65536],
        })
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }

    /// Read what is waiting: did anyone but `own` (our request socket's
    /// port) delete part of `table` in a family `has` says we built?
    pub fn read(&mut self, own: u32, table: &str, has: impl Fn(u8) -> bool) -> Seen {
        let mut seen = Seen {
            deleted: false,
            more: true,
        };
        for _ in 0..MONITOR_BUDGET {
            match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((0, _)) => {
                    seen.more = false;
                    break;
                }
                Ok((n, _)) => seen.deleted |= foreign_deletion(&self.buf[..n], own, table, &has),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    seen.more = false;
                    break;
                }
                // ENOBUFS: announcements were lost; one of them may have
                // been a deletion.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => seen.deleted = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    seen.more = false;
                    break;
                }
            }
        }
        seen
    }
}

/// Whether `buf` announces that another process deleted part of `table`.
fn foreign_deletion(buf: &[u8], own: u32, table: &str, has: &impl Fn(u8) -> bool) -> bool {
    let n = buf.len();
    let Ok(msgs) = NlBuffer::<u16, Buffer>::from_bytes_with_input(&mut Cursor::new(buf), n) else {
        return false;
    };
    msgs.iter().any(|m| {
        if *m.nl_pid() == own {
            return false;
        }
        let NlPayload::Payload(p) = m.nl_payload() else {
            return false;
        };
        let Some((kind, family)) = crate::msg::announced(*m.nl_type(), p.as_ref(), table) else {
            return false;
        };
        has(family)
            && matches!(
                kind,
                crate::msg::NFT_MSG_DELTABLE
                    | crate::msg::NFT_MSG_DELCHAIN
                    | crate::msg::NFT_MSG_DELRULE
                    | crate::msg::NFT_MSG_DELSET
                    | crate::msg::NFT_MSG_DELSETELEM
            )
    })
}
