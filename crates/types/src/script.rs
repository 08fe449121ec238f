//! A request to run a script, as it crosses a socket: which configured
//! script (by id) and the typed arguments keepalived adds to it. Whoever
//! executes it (checkerd's launcher, the parent) turns it into a command
//! line from its own allowlist, so no process that asks can name a
//! command, a user or a free-form argument.

use crate::{GroupId, InstanceId, ScriptId, VrrpState};
use serde::{Deserialize, Serialize};

/// The arguments keepalived adds to a script line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptArgs {
    /// Track scripts, MISC_CHECK, `notify_master` and the like, and FIFO
    /// scripts (their FIFO's path is part of their allowlist entry).
    #[default]
    None,
    /// `notify` of an instance: `INSTANCE name state priority`.
    Instance {
        id: InstanceId,
        state: VrrpState,
        priority: u8,
    },
    /// `notify` of a sync group: `GROUP name state 0`.
    Group { id: GroupId, state: VrrpState },
}

/// Run script `script` with `args`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptCall {
    pub script: ScriptId,
    pub args: ScriptArgs,
}
