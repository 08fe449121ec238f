//! keepalived's `no_accept` firewall over nf_tables netlink: while an
//! instance without accept mode is MASTER, its virtual addresses are in
//! the table's sets and traffic to or from them is dropped (RFC 5798
//! §6.4.3: a non-owner master in non-accept mode must not accept packets
//! for its VIPs). `use_vmac` instances' macvlans are in its VMAC map
//! while they exist (their IGMP / MLD reports go out of the lower device). Added before the addresses, removed after them, the
//! tables deleted at stop; rebuilt when someone else deletes any part of
//! them (`nft flush ruleset`), which a change monitor notices.

use super::nft_msg::*;
use super::rtnl::err;
use log::{info, warn};
use neli::consts::socket::{Msg, NlFamily};
use neli::nl::{NlPayload, Nlmsghdr};
use neli::socket::NlSocket;
use neli::types::{Buffer, NlBuffer};
use neli::utils::Groups;
use neli::FromBytesWithInput;
use std::collections::BTreeSet;
use std::io::{self, Cursor};
use std::os::fd::{AsRawFd, RawFd};

/// Announcements read per wake-up (a storm of other people's ruleset
/// changes must not keep vrrpd from its timers).
const MONITOR_BUDGET: usize = 64;
/// Datagrams read while waiting for one batch's acknowledgements.
const ACK_READS: usize = 4096;

pub struct Firewall {
    layout: Layout,
    sock: NlSocket,
    portid: u32,
    monitor: NlSocket,
    seq: u32,
    /// What exists in the kernel (as far as our batches know).
    built: Parts,
    have: BTreeSet<Elem>,
    /// Residue of an earlier run removed (once, before the first build).
    cleared: bool,
    buf: Vec<u8>,
}

impl Firewall {
    pub fn open(layout: Layout) -> io::Result<Firewall> {
        let sock = NlSocket::connect(NlFamily::Netfilter, None, Groups::empty())?;
        sock.block()?;
        super::answer_timeout(sock.as_raw_fd());
        let portid = sock.pid()?;
        let monitor = NlSocket::connect(
            NlFamily::Netfilter,
            None,
            Groups::new_groups(&[NFNLGRP_NFTABLES]),
        )?;
        monitor.nonblock()?;
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() as u32);
        Ok(Firewall {
            layout,
            sock,
            portid,
            monitor,
            seq,
            built: Parts::default(),
            have: BTreeSet::new(),
            cleared: false,
            buf: vec![0; 65536],
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn monitor_fd(&self) -> RawFd {
        self.monitor.as_raw_fd()
    }

    /// Make the sets hold exactly `want`, building what they need first.
    pub fn sync(&mut self, want: &BTreeSet<Elem>) {
        if *want == self.have {
            return;
        }
        let need = Parts::needed(want);
        let new = need.minus(self.built);
        let clear = !self.cleared && new.any();
        let gone: Vec<Elem> = self.have.difference(want).cloned().collect();
        let added: Vec<Elem> = want.difference(&self.have).cloned().collect();
        let r = self.exchange(|b| {
            if clear {
                b.clear_table(NFPROTO_IPV4)?;
                b.clear_table(NFPROTO_IPV6)?;
            }
            b.setup(new)?;
            b.elems(NFT_MSG_DELSETELEM, &gone)?;
            b.elems(NFT_MSG_NEWSETELEM, &added)
        });
        match r {
            Ok(()) => {
                if clear {
                    self.cleared = true;
                }
                self.built = self.built.union(new);
                self.have = want.clone();
            }
            Err(e) => warn!("cannot update nftables table {}: {e}", self.layout.table),
        }
    }

    /// Build everything again from nothing, holding `want`.
    fn rebuild(&mut self, want: &BTreeSet<Elem>) {
        let parts = self.built.union(Parts::needed(want));
        let r = self.exchange(|b| {
            b.clear_table(NFPROTO_IPV4)?;
            b.clear_table(NFPROTO_IPV6)?;
            b.setup(parts)?;
            b.elems(NFT_MSG_NEWSETELEM, want)
        });
        match r {
            Ok(()) => {
                self.cleared = true;
                self.built = parts;
                self.have = want.clone();
            }
            Err(e) => warn!("cannot restore nftables table {}: {e}", self.layout.table),
        }
    }

    /// Read what changed in nf_tables; if anyone but us deleted a part of
    /// our tables, put them back whole. Returns whether announcements
    /// are left (the budget ran out).
    pub fn on_monitor(&mut self, want: &BTreeSet<Elem>) -> bool {
        let mut touched = false;
        let mut more = true;
        for _ in 0..MONITOR_BUDGET {
            match self.monitor.recv(&mut self.buf[..], Msg::empty()) {
                Ok((0, _)) => {
                    more = false;
                    break;
                }
                Ok((n, _)) => touched |= self.foreign_deletion(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    more = false;
                    break;
                }
                // ENOBUFS: announcements were lost; one of them may have
                // been a deletion.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => touched = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    warn!("nftables monitor: {e}");
                    more = false;
                    break;
                }
            }
        }
        if touched && self.built.any() {
            warn!(
                "nftables table {} was changed by someone else - restoring it",
                self.layout.table
            );
            self.rebuild(want);
        }
        more
    }

    /// Whether the first `n` bytes of the buffer announce that another
    /// process deleted part of our tables.
    fn foreign_deletion(&self, n: usize) -> bool {
        let Ok(msgs) =
            NlBuffer::<u16, Buffer>::from_bytes_with_input(&mut Cursor::new(&self.buf[..n]), n)
        else {
            return false;
        };
        msgs.iter().any(|m| {
            if *m.nl_pid() == self.portid {
                return false;
            }
            let NlPayload::Payload(p) = m.nl_payload() else {
                return false;
            };
            let Some((kind, family)) = announced(*m.nl_type(), p.as_ref(), &self.layout.table)
            else {
                return false;
            };
            let ours = (family == NFPROTO_IPV4 && self.built.v4)
                || (family == NFPROTO_IPV6 && self.built.v6);
            ours && matches!(
                kind,
                NFT_MSG_DELTABLE
                    | NFT_MSG_DELCHAIN
                    | NFT_MSG_DELRULE
                    | NFT_MSG_DELSET
                    | NFT_MSG_DELSETELEM
            )
        })
    }

    /// Delete our tables (at stop, or when the layout changes).
    pub fn stop(&mut self) {
        if !self.built.any() {
            return;
        }
        let built = self.built;
        let r = self.exchange(|b| {
            if built.v4 {
                b.delete_table(NFPROTO_IPV4)?;
            }
            if built.v6 {
                b.delete_table(NFPROTO_IPV6)?;
            }
            Ok(())
        });
        match r {
            Ok(()) => info!("Removed nftables table {}", self.layout.table),
            Err(e) => warn!("cannot remove nftables table {}: {e}", self.layout.table),
        }
        self.built = Parts::default();
        self.have.clear();
    }

    /// Build a batch with `fill`, send it, and wait for every
    /// acknowledgement; the first error the kernel reports fails it
    /// (the kernel then applied none of it).
    fn exchange(&mut self, fill: impl FnOnce(&mut Batch) -> io::Result<()>) -> io::Result<()> {
        let layout = self.layout.clone();
        let mut b = Batch::new(&layout, self.seq)?;
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
                    .map_err(err("nftables answer"))?;
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
