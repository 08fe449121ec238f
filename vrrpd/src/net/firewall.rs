//! keepalived's `no_accept` firewall over nf_tables netlink: while an
//! instance without accept mode is MASTER, its virtual addresses are in
//! the table's sets and traffic to or from them is dropped (RFC 5798
//! §6.4.3: a non-owner master in non-accept mode must not accept packets
//! for its VIPs). `use_vmac` instances' macvlans are in its VMAC map
//! while they exist (their IGMP / MLD reports go out of the lower device). Added before the addresses, removed after them, the
//! tables deleted at stop; rebuilt when someone else deletes any part of
//! them (`nft flush ruleset`), which a change monitor notices.

use super::nft_msg::*;
use log::{info, warn};
use std::collections::BTreeSet;
use std::io;
use std::os::fd::RawFd;

pub struct Firewall {
    layout: Layout,
    conn: Conn,
    monitor: Monitor,
    /// What exists in the kernel (as far as our batches know).
    built: Parts,
    have: BTreeSet<Elem>,
    /// Residue of an earlier run removed (once, before the first build).
    cleared: bool,
}

impl Firewall {
    pub fn open(layout: Layout) -> io::Result<Firewall> {
        let conn = Conn::open()?;
        let monitor = Monitor::open()?;
        Ok(Firewall {
            layout,
            conn,
            monitor,
            built: Parts::default(),
            have: BTreeSet::new(),
            cleared: false,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn monitor_fd(&self) -> RawFd {
        self.monitor.fd()
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
        let built = self.built;
        let seen = self
            .monitor
            .read(self.conn.portid(), &self.layout.table, |f| {
                (f == NFPROTO_IPV4 && built.v4) || (f == NFPROTO_IPV6 && built.v6)
            });
        if seen.deleted && self.built.any() {
            warn!(
                "nftables table {} was changed by someone else - restoring it",
                self.layout.table
            );
            self.rebuild(want);
        }
        seen.more
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

    /// Send one batch built by `fill`, every acknowledgement awaited.
    fn exchange(&mut self, fill: impl FnOnce(&mut Batch) -> io::Result<()>) -> io::Result<()> {
        self.conn.exchange(&self.layout, fill)
    }
}
