//! The two message enums, one per direction, and the state the parent
//! remembers so it can replay it to a restarted child.

use crate::Subsystem;
pub use keepalived_types::{
    GroupId, Ids, InstanceId, RsId, ScriptArgs, ScriptCall, ScriptId, TrackKind, TrackStatus,
    TrackerId, VrrpState, VsId,
};
use serde::{Deserialize, Serialize};

/// What a child is told to run: its subsystem and its typed plan, compiled
/// by the parent from the configuration. No child ever sees configuration
/// text; each plan holds only what its child needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigSlice {
    pub subsystem: Subsystem,
    /// Increases with every reload; acks name the generation they apply to.
    pub generation: u64,
    /// The id of every object of this configuration: messages name objects
    /// by these.
    pub ids: Ids,
    /// ipvsd's plan.
    pub ipvs: Option<keepalived_ipvs::plan::IpvsPlan>,
    /// vrrpd's plan.
    pub vrrp: Option<keepalived_vrrp::plan::VrrpPlan>,
    /// checkerd's plan (no VRRP passwords, scripts by id only).
    pub check: Option<keepalived_check::plan::CheckPlan>,
    /// How the child runs itself (what the parent cannot set for it).
    #[serde(default)]
    pub process: ProcessSettings,
}

/// The part of keepalived's process keywords (`*_process_name`,
/// `*_no_swap`, `max_auto_priority`) only the process itself can apply:
/// the parent sets its nice value, scheduler, limits and CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSettings {
    /// prctl(PR_SET_NAME) (None: the binary's name).
    pub name: Option<String>,
    /// mlockall (the parent raised RLIMIT_MEMLOCK for it).
    pub no_swap: bool,
    /// Report a wake-up this many microseconds after a deadline with
    /// [`FromChild::Late`] (`max_auto_priority`: the parent raises the
    /// child's realtime priority).
    pub report_late_us: Option<u32>,
}

/// A VRRP instance (or sync group) changed state: vrrpd → parent → checkerd
/// (notify scripts, SMTP alerts) and ipvsd (`lvs_sync_daemon`, `ha_suspend`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpStateChange {
    pub instance: InstanceId,
    pub group: Option<GroupId>,
    pub state: VrrpState,
    pub priority: u8,
}

/// A sync group's state changed (all its members moved together):
/// vrrpd → parent (notify FIFO `GROUP` lines) → checkerd (the group's
/// notify scripts, SMTP alerts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStateChange {
    pub group: GroupId,
    pub state: VrrpState,
}

/// A real server's health: checkerd → parent → ipvsd.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerHealth {
    pub virtual_server: VsId,
    pub real_server: RsId,
    pub up: bool,
    /// A weight set by a dynamic checker (MISC_CHECK `misc_dynamic`).
    pub weight: Option<i32>,
    /// Every checker of it has given its first verdict: the state is
    /// measured, not the starting one (`bgp_announce` waits for this).
    #[serde(default)]
    pub settled: bool,
}

/// How long a real server's last check attempt took: checkerd → parent
/// (status, metrics). Sent at most once a second, for the servers whose
/// figure changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTime {
    pub real_server: RsId,
    pub micros: u64,
}

/// Check times in one message at most (a message has a size limit).
pub const MAX_CHECK_TIMES: usize = 4096;

/// A virtual server gained or lost its quorum: ipvsd → parent (notify
/// FIFO) → checkerd (`quorum_up` / `quorum_down` scripts, SMTP alert).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumChange {
    pub virtual_server: VsId,
    pub up: bool,
    /// Sum of the alive real servers' weights.
    pub weight_sum: u64,
    /// The state at start (or after a reload), not a change.
    pub initial: bool,
}

/// A tracker's verdict: checkerd → parent → vrrpd.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackResult {
    pub tracker: TrackerId,
    pub status: TrackStatus,
}

/// A script that must run as another user than checkerd's (`script_user
/// root`, a `user` on a script): checkerd → parent, naming the script by
/// id with typed arguments; the parent builds the command line from its
/// own allowlist and starts it only as another user than checkerd's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptRequest {
    /// checkerd's name for this run (its end is reported with it).
    pub id: u64,
    pub call: ScriptCall,
}

/// Sockets checkerd cannot make itself (`fwmark` needs CAP_NET_ADMIN,
/// `bind_if` may): checkerd → parent, which checks that a checker of the
/// configuration uses that mark / interface and answers with `Sockets`,
/// the descriptors attached (SCM_RIGHTS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketRequest {
    pub v6: bool,
    pub udp: bool,
    pub mark: Option<u32>,
    pub bind_if: Option<String>,
    pub count: u32,
}

/// How a script started by the parent ended: parent → checkerd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptEnd {
    Exited(i32),
    Signaled(i32),
    /// The parent would not (unconfigured) or could not start it.
    Refused,
}

/// Everything the parent replays to a restarted child besides its config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayState {
    pub vrrp: Vec<VrrpStateChange>,
    pub health: Vec<RealServerHealth>,
    /// Last verdict of every tracker (scripts, files, processes).
    pub tracks: Vec<TrackResult>,
    /// `ha_suspend` virtual servers whose address is here, or not.
    #[serde(default)]
    pub ha_suspend: Vec<(VsId, bool)>,
}

/// Largest piece of dump text in one message.
pub const DUMP_CHUNK: usize = 256 << 10;

/// Split dump text into `Dump` messages of at most [`DUMP_CHUNK`] bytes
/// (on character boundaries), the last one marked.
pub fn dump_messages(kind: DumpKind, text: &str) -> Vec<FromChild> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let mut cut = rest.len().min(DUMP_CHUNK);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        out.push(FromChild::Dump {
            kind,
            text: piece.to_string(),
            last: rest.is_empty(),
        });
        if rest.is_empty() {
            return out;
        }
    }
}

/// Which dump a signal asked for (as keepalived: USR1 data, USR2 stats,
/// SIGRTMAX-1 stats then cleared, SIGRTMIN+2 JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DumpKind {
    Data,
    Stats,
    /// The statistics, then every VRRP counter back to zero.
    StatsClear,
    /// vrrpd's instances in keepalived's JSON layout.
    Json,
}

impl DumpKind {
    /// A statistics dump (cleared afterwards or not).
    pub fn is_stats(self) -> bool {
        matches!(self, DumpKind::Stats | DumpKind::StatsClear)
    }
}

/// Parent → child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToChild {
    /// First message after spawn: the slice and the state to resume from.
    Configure {
        slice: Box<ConfigSlice>,
        replay: ReplayState,
    },
    /// Every child acked its configuration: begin work.
    Start,
    /// SIGHUP: a validated new slice; apply only what changed.
    Reload {
        slice: Box<ConfigSlice>,
    },
    VrrpState(VrrpStateChange),
    GroupState(GroupStateChange),
    /// checkerd: run the instance's `notify_master_rx_lower_pri`.
    MasterRxLowerPri(InstanceId),
    Health(RealServerHealth),
    Track(TrackResult),
    Quorum(QuorumChange),
    /// An `ha_suspend` virtual server's checkers run (`active`) or not.
    HaSuspend {
        virtual_server: VsId,
        active: bool,
    },
    ScriptEnded {
        id: u64,
        end: ScriptEnd,
    },
    /// The answer to `WantSockets`: `given` descriptors come with it
    /// (fewer than asked, even none, when the parent refused or failed).
    Sockets {
        request: SocketRequest,
        given: u32,
    },
    Dump(DumpKind),
    /// ipvsd: checkerd died (`false`) or was started again (`true`);
    /// `bgp_announce` withdraws everything when it stays gone.
    Checkers {
        running: bool,
    },
    /// vrrpd: a master re-announces this instance's addresses now
    /// (`keepalivedctl garp`).
    Garp(InstanceId),
    /// Are you alive? Answered with `Pong { seq }` in every phase, from the
    /// child's event loop: a stopped or wedged child does not answer, and
    /// the parent restarts it.
    Ping {
        seq: u64,
    },
    /// Stop cleanly (vrrpd: priority-0 adverts, VIPs removed; ipvsd: remove
    /// what it created) and exit.
    Shutdown,
}

/// Child → parent. Untrusted: the parent checks who may send what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromChild {
    /// The configuration of this generation is applied.
    Ready {
        generation: u64,
    },
    /// The child cannot use this configuration (the parent keeps it running
    /// on the previous one).
    Rejected {
        generation: u64,
        reason: String,
    },
    VrrpState(VrrpStateChange),
    GroupState(GroupStateChange),
    /// A master heard a lower-priority advert (`notify_master_rx_lower_pri`,
    /// the FIFO's `MASTER_RX_LOWER_PRI`); `priority` is the master's own.
    MasterRxLowerPri {
        instance: InstanceId,
        priority: u8,
    },
    /// `notify_priority_changes`: the instance's effective priority is now
    /// `priority`, while MASTER or not (the FIFO's `MASTER_PRIORITY` /
    /// `BACKUP_PRIORITY`).
    PriorityChanged {
        instance: InstanceId,
        priority: u8,
        master: bool,
    },
    Health(RealServerHealth),
    Track(TrackResult),
    Quorum(QuorumChange),
    RunScript(ScriptRequest),
    WantSockets(SocketRequest),
    /// TERM or KILL a script the parent started (its timeout).
    SignalScript {
        id: u64,
        signal: i32,
    },
    /// Text for `/tmp/keepalived.data` or `.stats`, in pieces of at most
    /// [`DUMP_CHUNK`] bytes (a 14,000-real-server dump is over a message's
    /// limit); `last` ends the child's part.
    Dump {
        kind: DumpKind,
        text: String,
        last: bool,
    },
    /// The answer to `Ping { seq }`.
    Pong {
        seq: u64,
    },
    /// checkerd: check durations (at most [`MAX_CHECK_TIMES`]).
    CheckTimes(Vec<CheckTime>),
    /// ipvsd: whether the kernel's IPVS can be programmed (sent when it
    /// first knows, and on every change).
    Ipvs {
        available: bool,
    },
    /// ipvsd: an `ha_suspend` virtual server's address is here (`active`)
    /// or not: its checkers run or are suspended (sent when first known
    /// and on every change).
    HaSuspend {
        virtual_server: VsId,
        active: bool,
    },
    /// A timer fired `by_us` microseconds late, past
    /// `ProcessSettings::report_late_us` (`max_auto_priority`).
    Late {
        by_us: u64,
    },
}

impl FromChild {
    /// Short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            FromChild::Ready { .. } => "Ready",
            FromChild::Rejected { .. } => "Rejected",
            FromChild::VrrpState(_) => "VrrpState",
            FromChild::GroupState(_) => "GroupState",
            FromChild::MasterRxLowerPri { .. } => "MasterRxLowerPri",
            FromChild::PriorityChanged { .. } => "PriorityChanged",
            FromChild::Health(_) => "Health",
            FromChild::Track(_) => "Track",
            FromChild::Quorum(_) => "Quorum",
            FromChild::RunScript(_) => "RunScript",
            FromChild::WantSockets(_) => "WantSockets",
            FromChild::SignalScript { .. } => "SignalScript",
            FromChild::Dump { .. } => "Dump",
            FromChild::Pong { .. } => "Pong",
            FromChild::Ipvs { .. } => "Ipvs",
            FromChild::CheckTimes(_) => "CheckTimes",
            FromChild::HaSuspend { .. } => "HaSuspend",
            FromChild::Late { .. } => "Late",
        }
    }

    /// Whether `from` may send this at all: a health result from vrrpd, say,
    /// means the child is confused or compromised.
    pub fn allowed_from(&self, from: Subsystem) -> bool {
        match self {
            FromChild::Ready { .. }
            | FromChild::Rejected { .. }
            | FromChild::Dump { .. }
            | FromChild::Pong { .. }
            | FromChild::Late { .. } => true,
            FromChild::VrrpState(_)
            | FromChild::GroupState(_)
            | FromChild::MasterRxLowerPri { .. }
            | FromChild::PriorityChanged { .. } => from == Subsystem::Vrrp,
            FromChild::Quorum(_) | FromChild::Ipvs { .. } | FromChild::HaSuspend { .. } => {
                from == Subsystem::Ipvs
            }
            FromChild::Health(_)
            | FromChild::Track(_)
            | FromChild::RunScript(_)
            | FromChild::WantSockets(_)
            | FromChild::SignalScript { .. }
            | FromChild::CheckTimes(_) => from == Subsystem::Checker,
        }
    }
}

/// Bincode configuration: varint, bounded so a hostile length prefix
/// cannot make the receiver allocate more than a message may hold.
fn config<const LIMIT: usize>() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(msg, bincode::config::standard()).map_err(|e| e.to_string())
}

/// Decode a message from a child (bounded by [`crate::MAX_FROM_CHILD`]).
pub fn decode_from_child(bytes: &[u8]) -> Result<FromChild, String> {
    decode_exact(
        bincode::serde::decode_from_slice(bytes, config::<{ crate::MAX_FROM_CHILD }>()),
        bytes.len(),
    )
}

/// Decode a message from the parent (bounded by [`crate::MAX_TO_CHILD`]).
pub fn decode_to_child(bytes: &[u8]) -> Result<ToChild, String> {
    decode_exact(
        bincode::serde::decode_from_slice(bytes, config::<{ crate::MAX_TO_CHILD }>()),
        bytes.len(),
    )
}

fn decode_exact<T>(
    r: Result<(T, usize), bincode::error::DecodeError>,
    len: usize,
) -> Result<T, String> {
    match r {
        Ok((v, used)) if used == len => Ok(v),
        Ok((_, used)) => Err(format!("{} trailing bytes after the message", len - used)),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_both_directions() {
        let up = FromChild::Health(RealServerHealth {
            virtual_server: VsId(1),
            real_server: RsId(2),
            up: false,
            weight: Some(3),
            settled: true,
        });
        assert_eq!(decode_from_child(&encode(&up).unwrap()).unwrap(), up);
        let down = ToChild::Configure {
            slice: Box::new(ConfigSlice {
                subsystem: Subsystem::Ipvs,
                generation: 7,
                ids: Ids::default(),
                ipvs: None,
                vrrp: None,
                check: Some(Default::default()),
                process: Default::default(),
            }),
            replay: ReplayState::default(),
        };
        assert_eq!(decode_to_child(&encode(&down).unwrap()).unwrap(), down);
    }

    #[test]
    fn garbage_and_trailing_bytes_are_errors() {
        assert!(decode_from_child(&[0xff; 32]).is_err());
        let mut b = encode(&FromChild::Ready { generation: 1 }).unwrap();
        b.push(0);
        assert!(decode_from_child(&b).unwrap_err().contains("trailing"));
    }

    #[test]
    fn hostile_length_prefix_is_bounded() {
        // Dump { text } with a string length claiming 2^40 bytes.
        let mut b = encode(&FromChild::Dump {
            kind: DumpKind::Data,
            text: String::new(),
            last: true,
        })
        .unwrap();
        b.pop();
        b.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert!(decode_from_child(&b).is_err());
    }

    #[test]
    fn dumps_cross_in_pieces_under_the_limit() {
        let text = "é".repeat(DUMP_CHUNK); // 2 bytes each: cut mid-way
        let msgs = dump_messages(DumpKind::Data, &text);
        assert_eq!(msgs.len(), 2);
        let mut back = String::new();
        for (i, m) in msgs.iter().enumerate() {
            let b = encode(m).unwrap();
            assert!(b.len() < crate::MAX_FROM_CHILD);
            let FromChild::Dump { text, last, .. } = decode_from_child(&b).unwrap() else {
                panic!("not a dump");
            };
            assert_eq!(last, i == 1);
            back.push_str(&text);
        }
        assert_eq!(back, text);
        assert_eq!(dump_messages(DumpKind::Stats, "").len(), 1);
    }

    #[test]
    fn who_may_send_what() {
        let h = FromChild::Track(TrackResult {
            tracker: TrackerId(3),
            status: TrackStatus::Up,
        });
        assert!(h.allowed_from(Subsystem::Checker));
        assert!(!h.allowed_from(Subsystem::Vrrp));
        assert!(!h.allowed_from(Subsystem::Ipvs));
    }
}
