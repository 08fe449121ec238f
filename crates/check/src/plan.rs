//! checkerd's typed plan, compiled once by the parent from the
//! configuration: the real servers to check (with their checkers, timings
//! and targets resolved), the track scripts, the file and process
//! trackers, what to run or mail when a VRRP instance, sync group, virtual
//! or real server changes, and the SMTP settings. Scripts appear by id
//! only ([`ScriptCommand`]): their command lines reach only the processes
//! that execute them. No VRRP password, no configuration text.

use crate::sockets::SocketKey;
use crate::{RealServerSpec, ScriptCommand, ScriptSpec};
use keepalived_types::{GroupId, InstanceId, RsId, VrrpState, VsId};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckPlan {
    pub servers: Vec<ServerPlan>,
    pub virtual_servers: Vec<VsPlan>,
    /// `vrrp_script`s some instance or sync group tracks.
    pub scripts: Vec<ScriptSpec>,
    pub instances: Vec<StatePlan<InstanceId>>,
    pub groups: Vec<StatePlan<GroupId>>,
    /// `*_notify_fifo_script`s: started once, fed by the parent's FIFOs.
    pub fifo_scripts: Vec<FifoScript>,
    pub files: Vec<FilePlan>,
    /// Track files only FILE_CHECKs read (the engine watches those): their
    /// `init_file` still runs, as keepalived's checker process runs it.
    pub file_inits: Vec<FilePlan>,
    pub processes: Vec<ProcessPlan>,
    /// None: no alerts are sent (no recipients, or no usable server).
    pub smtp: Option<SmtpPlan>,
    /// Sockets to keep in stock from the parent (fwmark checkers), and how
    /// many of each.
    pub sockets: Vec<(SocketKey, u32)>,
    /// `rs_init_notifies`: a real server's first (up) state runs its
    /// `notify_up` (keepalived notifies only changes otherwise).
    #[serde(default)]
    pub rs_init_notifies: bool,
}

/// A real server to check: its ids, the keys keepalived names it by (in
/// logs, scripts and alerts), its checkers, and what a change runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerPlan {
    pub vs: VsId,
    pub rs: RsId,
    pub vk: String,
    pub rk: String,
    pub spec: RealServerSpec,
    pub notify_up: Option<ScriptCommand>,
    pub notify_down: Option<ScriptCommand>,
    /// SMTP alerts on a change (its own, its virtual server's or the
    /// global setting).
    pub alert: bool,
    /// The kind of its first checker as keepalived's alert body names it
    /// ("TCP ", "MISC ", ... or empty).
    pub check_label: String,
    /// Its virtual server has `ha_suspend` (on an address): its checks run
    /// only while the address is here (ipvsd says which).
    #[serde(default)]
    pub ha_suspend: bool,
}

impl ServerPlan {
    /// What decides whether a reload may keep the running checks: the
    /// server and its checkers (a changed notify script or alert setting
    /// does not restart them).
    pub fn same_checks(&self, o: &ServerPlan) -> bool {
        (self.vs, self.rs, &self.vk, &self.rk, &self.spec) == (o.vs, o.rs, &o.vk, &o.rk, &o.spec)
    }
}

/// A virtual server's quorum scripts and alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VsPlan {
    pub id: VsId,
    pub key: String,
    pub quorum_up: Option<ScriptCommand>,
    pub quorum_down: Option<ScriptCommand>,
    pub alert: bool,
    pub quorum: u32,
    pub hysteresis: u32,
}

/// The notify scripts and alerts of a VRRP instance or sync group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatePlan<I> {
    pub id: I,
    pub name: String,
    pub master: Option<ScriptCommand>,
    pub backup: Option<ScriptCommand>,
    pub fault: Option<ScriptCommand>,
    pub stop: Option<ScriptCommand>,
    /// `notify`: given keepalived's arguments when run.
    pub notify: Option<ScriptCommand>,
    /// `notify_master_rx_lower_pri` (instances only), run without
    /// arguments.
    #[serde(default)]
    pub rx_lower_pri: Option<ScriptCommand>,
    /// `notify_deleted SCRIPT` (instances only).
    #[serde(default)]
    pub deleted: Option<ScriptCommand>,
    /// SMTP alerts on a transition.
    pub alert: bool,
}

impl<I> StatePlan<I> {
    /// The state's own script.
    pub fn for_state(&self, s: VrrpState) -> Option<ScriptCommand> {
        match s {
            VrrpState::Master => self.master,
            VrrpState::Backup => self.backup,
            VrrpState::Fault => self.fault,
            VrrpState::Stop => self.stop,
            VrrpState::Deleted => self.deleted,
            VrrpState::Init => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FifoScript {
    /// `notify_fifo_script`, `vrrp_notify_fifo_script`...
    pub keyword: String,
    /// The FIFO (its path is also the script's last argument).
    pub path: String,
    pub script: ScriptCommand,
}

/// A `track_file` some instance or sync group refers to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilePlan {
    pub name: String,
    pub path: String,
    /// `init_file [VALUE] [overwrite]`.
    pub init: Option<FileInit>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInit {
    pub value: i64,
    pub overwrite: bool,
}

/// A `vrrp_track_process` some instance or sync group refers to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessPlan {
    pub name: String,
    /// The process name, with its parameters if any.
    pub process: String,
    pub param_match: Option<String>,
    pub full_command: bool,
    /// Up while `min..=max` processes run.
    pub min: u32,
    pub max: u32,
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
}

/// Where and how SMTP alerts go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmtpPlan {
    pub server: SocketAddr,
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
    /// `router_id` (else the host name): the subject's prefix.
    pub router_id: String,
    /// `no_email_faults`: no alert for entering FAULT.
    pub no_email_faults: bool,
}
