//! Diff of the desired table against the kernel's, minding ownership:
//! entries we own are forced back to the desired state (drift from ipvsadm
//! is undone), entries we never created are left alone, equal entries cost
//! nothing, and a changed service or destination is edited in place (SET),
//! never deleted and re-added, so established connections survive.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::encode::Request;
use crate::model::*;
use crate::table::Table;

/// One change to the kernel table (or sync daemons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
    StartDaemon(Daemon),
    StopDaemon(DaemonState),
}

impl Op {
    pub fn to_request(&self) -> Request {
        match self {
            Op::AddService(s) => Request::NewService(s.clone()),
            Op::EditService(s) => Request::SetService(s.clone()),
            Op::DelService(k) => Request::DelService(*k),
            Op::AddDest(k, d) => Request::NewDest(*k, d.clone()),
            Op::EditDest(k, d) => Request::SetDest(*k, d.clone()),
            Op::DelDest(k, d) => Request::DelDest(*k, *d),
            Op::StartDaemon(d) => Request::NewDaemon(d.clone()),
            Op::StopDaemon(s) => Request::DelDaemon(*s),
        }
    }
}

/// What ipvsd created or took charge of; only these may be changed back or deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    pub services: BTreeSet<ServiceKey>,
    pub dests: BTreeSet<(ServiceKey, DestKey)>,
    pub daemons: BTreeSet<DaemonState>,
}

impl Owned {
    /// Update after an op succeeded in the kernel.
    pub fn record(&mut self, op: &Op) {
        match op {
            Op::AddService(s) | Op::EditService(s) => {
                self.services.insert(s.key);
            }
            Op::DelService(k) => {
                self.services.remove(k);
                self.dests.retain(|(s, _)| s != k);
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                self.dests.insert((*k, d.key()));
            }
            Op::DelDest(k, d) => {
                self.dests.remove(&(*k, *d));
            }
            Op::StartDaemon(d) => {
                self.daemons.insert(d.state);
            }
            Op::StopDaemon(s) => {
                self.daemons.remove(s);
            }
        }
    }

    /// Everything in the desired table is ours once it has been applied,
    /// including entries that already matched (so a later config removal
    /// deletes them).
    pub fn claim(&mut self, desired: &Table) {
        for (k, ts) in &desired.services {
            self.services.insert(*k);
            for d in ts.dests.keys() {
                self.dests.insert((*k, *d));
            }
        }
    }
}

impl Owned {
    /// The sync daemons we want are ours once applied, even those found
    /// already running (a restarted ipvsd), so that stop removes them.
    pub fn claim_daemons(&mut self, desired: &[Daemon]) {
        self.daemons.extend(desired.iter().map(|d| d.state));
    }
}

/// Operations turning `actual` into `desired`, ordered: removals of
/// services, then per service add/edit, dest deletions, edits, additions.
pub fn diff(desired: &Table, actual: &Table, owned: &Owned) -> Vec<Op> {
    let mut ops = Vec::new();
    for (k, ts) in &actual.services {
        if desired.services.contains_key(k) {
            continue;
        }
        if owned.services.contains(k) {
            ops.push(Op::DelService(*k));
        } else {
            // A foreign service: only take back the destinations we put in it.
            for dk in ts.dests.keys() {
                if owned.dests.contains(&(*k, *dk)) {
                    ops.push(Op::DelDest(*k, *dk));
                }
            }
        }
    }
    for (k, want) in &desired.services {
        match actual.services.get(k) {
            None => {
                ops.push(Op::AddService(want.service.clone()));
                for d in want.dests.values() {
                    ops.push(Op::AddDest(*k, d.clone()));
                }
            }
            Some(have) => {
                if !want.service.same_config(&have.service) {
                    ops.push(Op::EditService(want.service.clone()));
                }
                for (dk, _) in have
                    .dests
                    .iter()
                    .filter(|(dk, _)| !want.dests.contains_key(dk))
                {
                    if owned.dests.contains(&(*k, *dk)) {
                        ops.push(Op::DelDest(*k, *dk));
                    }
                }
                for (dk, d) in &want.dests {
                    match have.dests.get(dk) {
                        Some(h) if h.same_config(d) => {}
                        Some(_) => ops.push(Op::EditDest(*k, d.clone())),
                        None => ops.push(Op::AddDest(*k, d.clone())),
                    }
                }
            }
        }
    }
    ops
}

/// What to remove on stop: our services (their dests go with them) and our
/// destinations inside services we did not create.
pub fn teardown(actual: &Table, owned: &Owned) -> Vec<Op> {
    let mut ops = Vec::new();
    for (k, ts) in &actual.services {
        if owned.services.contains(k) {
            ops.push(Op::DelService(*k));
        } else {
            for dk in ts.dests.keys() {
                if owned.dests.contains(&(*k, *dk)) {
                    ops.push(Op::DelDest(*k, *dk));
                }
            }
        }
    }
    ops
}

/// `lvs_sync_daemon` settings and the role of the VRRP instance it follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDaemonInput {
    pub interface: String,
    pub sync_id: u32,
    pub maxlen: Option<u16>,
    pub mcast_group: Option<std::net::IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    /// True while the followed VRRP instance is MASTER.
    pub vrrp_master: bool,
}

/// keepalived runs the sync daemon as master while its VRRP instance is
/// MASTER and as backup otherwise (`ipvs_syncd_master`/`ipvs_syncd_backup`).
pub fn desired_daemon(cfg: &SyncDaemonInput) -> Daemon {
    let state = if cfg.vrrp_master {
        DaemonState::Master
    } else {
        DaemonState::Backup
    };
    Daemon {
        state,
        mcast_ifn: cfg.interface.clone(),
        sync_id: cfg.sync_id,
        sync_maxlen: cfg.maxlen,
        mcast_group: cfg.mcast_group,
        mcast_port: cfg.port,
        mcast_ttl: cfg.ttl,
    }
}

/// Daemon ops: stop what we own and no longer want (or that has drifted,
/// the kernel has no "edit daemon"), then start what is missing. Daemons
/// we never started are left alone unless they occupy the wanted role.
pub fn diff_daemons(desired: Option<&Daemon>, actual: &[Daemon], owned: &Owned) -> Vec<Op> {
    diff_daemon_set(
        desired.map(std::slice::from_ref).unwrap_or(&[]),
        actual,
        owned,
    )
}

/// [`diff_daemons`] for any number of wanted daemons (at most one per
/// state: keepalived runs both a master and a backup when `lvs_sync_daemon`
/// follows no VRRP instance).
pub fn diff_daemon_set(desired: &[Daemon], actual: &[Daemon], owned: &Owned) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut running_ok = BTreeSet::new();
    for a in actual {
        match desired.iter().find(|d| d.state == a.state) {
            Some(d) if d.matches(a) => {
                running_ok.insert(a.state);
            }
            Some(_) => ops.push(Op::StopDaemon(a.state)),
            None => {
                if owned.daemons.contains(&a.state) {
                    ops.push(Op::StopDaemon(a.state));
                }
            }
        }
    }
    for d in desired {
        if !running_ok.contains(&d.state) {
            ops.push(Op::StartDaemon(d.clone()));
        }
    }
    ops
}

/// What the VRRP instance followed by `lvs_sync_daemon` says about the
/// sync daemons, per keepalived 2.2.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncFollow {
    /// `lvs_sync_daemon IF` with no VRRP instance: the checker process
    /// runs a master and a backup daemon for as long as it runs.
    NoInstance,
    /// Following a VRRP instance: the VRRP process starts the master
    /// daemon (stopping the backup) when the instance becomes MASTER
    /// (`vrrp_state_become_master`), and the backup daemon (stopping the
    /// master) when it leaves MASTER (`vrrp_state_leave_master`). Before
    /// the instance has ever been MASTER, no daemon runs.
    Instance { master: bool, was_master: bool },
}

/// The daemon states keepalived would run: see [`SyncFollow`].
pub fn sync_daemon_states(follow: SyncFollow) -> Vec<DaemonState> {
    match follow {
        SyncFollow::NoInstance => vec![DaemonState::Master, DaemonState::Backup],
        SyncFollow::Instance { master: true, .. } => vec![DaemonState::Master],
        SyncFollow::Instance {
            master: false,
            was_master: true,
        } => vec![DaemonState::Backup],
        SyncFollow::Instance { .. } => Vec::new(),
    }
}

/// The daemons to run for `cfg` (its `vrrp_master` is ignored) given the
/// followed instance's role.
pub fn desired_daemons(cfg: &SyncDaemonInput, follow: SyncFollow) -> Vec<Daemon> {
    sync_daemon_states(follow)
        .into_iter()
        .map(|state| {
            let mut d = desired_daemon(cfg);
            d.state = state;
            d
        })
        .collect()
}

/// Apply an op to an in-memory table the way the kernel would: ipvsd's
/// view of the kernel table follows the ops it applied, and tests check
/// that a diff converges.
pub fn apply_to_table(t: &mut Table, op: &Op) {
    match op {
        Op::AddService(s) | Op::EditService(s) => t.add_service(s.clone()),
        Op::DelService(k) => {
            t.services.remove(k);
        }
        Op::AddDest(k, d) | Op::EditDest(k, d) => {
            t.add_dest(k, d.clone());
        }
        Op::DelDest(k, d) => {
            if let Some(s) = t.services.get_mut(k) {
                s.dests.remove(d);
            }
        }
        Op::StartDaemon(_) | Op::StopDaemon(_) => {}
    }
}

/// On stop: stop the sync daemons we started.
pub fn teardown_daemons(actual: &[Daemon], owned: &Owned) -> Vec<Op> {
    actual
        .iter()
        .filter(|d| owned.daemons.contains(&d.state))
        .map(|d| Op::StopDaemon(d.state))
        .collect()
}
