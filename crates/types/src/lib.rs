//! The vocabulary shared by the parent, the children, the IPC messages and
//! the sans-IO cores, defined once: VRRP states as keepalived reports them,
//! what a tracker watches and its verdict, and the ids the parent gives
//! every object that crosses a socket.

pub mod addr;
pub mod ids;
pub mod route;
pub mod scheduler;
pub mod script;

pub use addr::AddrOptions;
pub use ids::{GroupId, Ids, InstanceId, Keys, RsId, ScriptId, TrackerId, VsId};
pub use scheduler::Scheduler;
pub use script::{ScriptArgs, ScriptCall};

use serde::{Deserialize, Serialize};

/// VRRP instance (and sync group) states as keepalived names them in
/// notify scripts, FIFO lines, alerts and dumps. `Stop` is an instance
/// leaving (shutdown, or removed by a reload).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VrrpState {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
    /// Removed by a reload, as reported with `notify_deleted` (never a
    /// state an instance runs in).
    Deleted,
}

impl VrrpState {
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpState::Init => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Fault => "FAULT",
            VrrpState::Stop => "STOP",
            VrrpState::Deleted => "DELETED",
        }
    }
}

/// keepalived's state numbers in its dumps and JSON (`state`, `wantstate`),
/// by position: INIT 0, BACKUP 1, MASTER 2, FAULT 3. The one table vrrpd
/// writes them from and keepalivedctl reads them with.
pub const DUMP_STATE_NAMES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

/// `state MASTER|BACKUP` of a vrrp_instance: where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InitialState {
    #[serde(rename = "MASTER")]
    Master,
    #[serde(rename = "BACKUP")]
    Backup,
}

/// What a tracked object is. checkerd watches scripts, files and processes
/// (so vrrpd needs no access to either); vrrpd watches interfaces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TrackKind {
    Interface,
    /// `vrrp_script`, after rise/fall.
    Script,
    /// `track_file`: the number the file holds.
    File,
    /// `vrrp_track_process`: whether the quorum of processes runs.
    Process,
    Bfd,
}

impl TrackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Interface => "interface",
            TrackKind::Script => "script",
            TrackKind::File => "file",
            TrackKind::Process => "process",
            TrackKind::Bfd => "bfd",
        }
    }
}

/// A tracked object's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackStatus {
    Up,
    Down,
    /// A `track_file` value (the number read from the file).
    Value(i64),
}
