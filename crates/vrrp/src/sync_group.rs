//! vrrp_sync_group: members move together (keepalived semantics).
//!
//! - a member going to MASTER pulls every other member to MASTER;
//! - a member's down timer only makes it MASTER once every other member
//!   wants MASTER too (prefer BACKUP to thrashing);
//! - a MASTER member going to BACKUP pushes the others to BACKUP;
//! - a member's fault puts every member in FAULT, and the group leaves
//!   FAULT (to BACKUP) only when no member has a fault of its own.

use std::time::Instant;

use crate::action::{Action, Input, LogLevel, State};
use crate::instance::{Instance, SyncGate};
use keepalived_types::VrrpState;

#[derive(Debug)]
pub struct SyncGroup {
    name: String,
    members: Vec<Instance>,
    state: State,
    /// The group state last reported (notify scripts, FIFO lines, alerts).
    reported: Option<VrrpState>,
}

impl SyncGroup {
    /// The group starts MASTER only if every member is an address owner
    /// starting as master (keepalived's vrrp_sync_set_group).
    pub fn new(name: &str, members: Vec<Instance>) -> SyncGroup {
        let all_owners =
            !members.is_empty() && members.iter().all(|m| m.config().starts_as_master());
        SyncGroup {
            name: name.to_string(),
            members,
            state: if all_owners {
                State::Master
            } else {
                State::Backup
            },
            reported: None,
        }
    }

    /// keepalived reports a sync group's state once every member is in it
    /// (a member back in Init is stopping: STOP). Returns the group's new
    /// state when that changed since the last call; a group that never
    /// started has no STOP to report.
    pub fn state_change(&mut self) -> Option<VrrpState> {
        let of = |m: &Instance| m.state().reported();
        let first = of(self.members.first()?);
        if self.members.iter().any(|m| of(m) != first) {
            return None;
        }
        if first == VrrpState::Stop && self.reported.is_none() {
            return None;
        }
        if self.reported == Some(first) {
            return None;
        }
        self.reported = Some(first);
        Some(first)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn members(&self) -> &[Instance] {
        &self.members
    }
    pub fn member(&self, i: usize) -> &Instance {
        &self.members[i]
    }

    /// `--signum=STATS_CLEAR`: every member's counters back to zero.
    pub fn clear_counters(&mut self) {
        self.members.iter_mut().for_each(Instance::clear_counters);
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.members
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// Starts every member.
    pub fn startup(&mut self, now: Instant) -> Vec<(usize, Action)> {
        let mut out = Vec::new();
        for i in 0..self.members.len() {
            out.extend(self.handle(i, Input::Startup, now));
        }
        out
    }

    /// Fires the due timers of every member.
    pub fn handle_timer(&mut self, now: Instant) -> Vec<(usize, Action)> {
        let mut out = Vec::new();
        for i in 0..self.members.len() {
            if self.members[i].next_deadline().is_some_and(|d| d <= now) {
                out.extend(self.handle(i, Input::Timer, now));
            }
        }
        out
    }

    /// Feeds `input` to member `i`; actions are tagged with their member.
    pub fn handle(&mut self, i: usize, input: Input, now: Instant) -> Vec<(usize, Action)> {
        let mut out = Vec::new();
        if i >= self.members.len() {
            return out;
        }
        self.members[i].gate = self.gate_for(i);
        let prev = self.members[i].state();
        let mut acts = Vec::new();
        self.members[i].handle_into(input, now, &mut acts);
        self.members[i].gate = SyncGate::STANDALONE;
        let lower_prio = acts
            .iter()
            .any(|a| matches!(a, Action::MasterRxLowerPriority { .. }));
        out.extend(acts.into_iter().map(|a| (i, a)));
        if lower_prio {
            // keepalived re-announces every member's addresses.
            self.each_other(i, &mut out, |m, o| m.lower_prio_garps(now, o));
        }
        let new = self.members[i].state();
        if prev == new {
            return out;
        }
        match new {
            State::Fault => {
                self.sync_log(i, "FAULT", &mut out);
                self.each_other(i, &mut out, |m, o| m.sync_to_fault(o));
                self.state = State::Fault;
            }
            State::Master => {
                self.sync_log(i, "MASTER", &mut out);
                self.each_other(i, &mut out, |m, o| m.sync_to_master(now, o));
                self.state = State::Master;
            }
            State::Backup if prev != State::Init => {
                self.sync_log(i, "BACKUP", &mut out);
                self.each_other(i, &mut out, |m, o| m.sync_to_backup(now, o));
                self.state = State::Backup;
            }
            _ => {}
        }
        out
    }

    fn gate_for(&self, i: usize) -> SyncGate {
        let others = || {
            self.members
                .iter()
                .enumerate()
                .filter(move |(j, _)| *j != i)
                .map(|(_, m)| m)
        };
        SyncGate {
            can_go_master: self.state == State::Master || others().all(Instance::wants_master),
            others_faulted: others().any(|m| m.started() && m.own_fault()),
        }
    }

    fn each_other(
        &mut self,
        i: usize,
        out: &mut Vec<(usize, Action)>,
        mut f: impl FnMut(&mut Instance, &mut Vec<Action>),
    ) {
        for (j, m) in self.members.iter_mut().enumerate() {
            if j == i {
                continue;
            }
            let mut acts = Vec::new();
            f(m, &mut acts);
            out.extend(acts.into_iter().map(|a| (j, a)));
        }
    }

    fn sync_log(&self, i: usize, to: &str, out: &mut Vec<(usize, Action)>) {
        out.push((
            i,
            Action::Log {
                level: LogLevel::Info,
                message: format!(
                    "VRRP_Group({}) Syncing instances to {} state",
                    self.name, to
                ),
            },
        ));
    }
}
