//! The last known state of every subsystem, kept by the parent so a
//! restarted child resumes instead of starting over. Keyed by the ids of
//! the plan, and only for ids the plan has (the parent checks every id a
//! child names before recording it), so it cannot grow without bound.

use keepalived_ipc::{
    GroupId, Ids, InstanceId, RealServerHealth, ReplayState, RsId, Subsystem, TrackResult,
    TrackerId, VrrpState, VrrpStateChange, VsId,
};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Default, Debug)]
pub struct KnownState {
    vrrp: BTreeMap<InstanceId, VrrpStateChange>,
    health: BTreeMap<RsId, RealServerHealth>,
    tracks: BTreeMap<TrackerId, TrackResult>,
    /// Only for status and metrics (nothing replays them).
    check_times: BTreeMap<RsId, Duration>,
    quorum: BTreeMap<VsId, bool>,
    /// Sync groups' states (`fifo_write_vrrp_states_on_reload`).
    groups: BTreeMap<GroupId, VrrpState>,
    /// `ha_suspend` virtual servers: address here (checks run) or not.
    ha_active: BTreeMap<VsId, bool>,
}

impl KnownState {
    pub fn record_vrrp(&mut self, s: &VrrpStateChange) {
        self.vrrp.insert(s.instance, s.clone());
    }

    /// Record a real server's health; whether it was up before (`None`:
    /// its first report).
    pub fn record_health(&mut self, h: &RealServerHealth) -> Option<bool> {
        self.health
            .insert(h.real_server, h.clone())
            .map(|before| before.up)
    }

    /// ipvsd's last word on an `ha_suspend` virtual server's address.
    pub fn record_ha(&mut self, vs: VsId, active: bool) {
        self.ha_active.insert(vs, active);
    }

    /// A sync group's last state.
    pub fn record_group(&mut self, g: GroupId, state: VrrpState) {
        self.groups.insert(g, state);
    }

    pub fn group_state(&self, g: GroupId) -> Option<VrrpState> {
        self.groups.get(&g).copied()
    }

    /// How long a real server's last check attempt took (checkerd).
    pub fn record_check_time(&mut self, id: RsId, took: Duration) {
        self.check_times.insert(id, took);
    }

    /// A virtual server's quorum as ipvsd last reported it.
    pub fn record_quorum(&mut self, id: VsId, up: bool) {
        self.quorum.insert(id, up);
    }

    pub fn record_track(&mut self, t: &TrackResult) {
        self.tracks.insert(t.tracker, t.clone());
    }

    /// What `sub` needs to resume: vrrpd its own instance states and the
    /// script verdicts; ipvsd the health of real servers and the VRRP states
    /// (sync daemon, ha_suspend); checkerd the health it had reported (so it
    /// does not notify again) and the VRRP states.
    pub fn replay_for(&self, sub: Subsystem) -> ReplayState {
        let vrrp = self.vrrp.values().cloned().collect();
        let health = self.health.values().cloned().collect();
        let tracks = self.tracks.values().cloned().collect();
        match sub {
            Subsystem::Vrrp => ReplayState {
                vrrp,
                tracks,
                ..Default::default()
            },
            Subsystem::Ipvs => ReplayState {
                vrrp,
                health,
                ..Default::default()
            },
            Subsystem::Checker => ReplayState {
                vrrp,
                health,
                tracks,
                ha_suspend: self.ha_active.iter().map(|(k, v)| (*k, *v)).collect(),
            },
        }
    }

    /// The last state change vrrpd reported for an instance.
    pub fn vrrp_change(&self, id: InstanceId) -> Option<&VrrpStateChange> {
        self.vrrp.get(&id)
    }

    /// The last state vrrpd reported for an instance.
    pub fn vrrp_state(&self, id: InstanceId) -> Option<VrrpState> {
        self.vrrp.get(&id).map(|s| s.state)
    }

    /// The last health reported for a real server.
    pub fn health_of(&self, id: RsId) -> Option<&RealServerHealth> {
        self.health.get(&id)
    }

    pub fn check_time(&self, id: RsId) -> Option<Duration> {
        self.check_times.get(&id).copied()
    }

    pub fn quorum(&self, id: VsId) -> Option<bool> {
        self.quorum.get(&id).copied()
    }

    /// The last verdict of every tracker reported.
    pub fn tracks(&self) -> impl Iterator<Item = &TrackResult> {
        self.tracks.values()
    }

    /// How many instances are in each VRRP state (for `systemctl status`).
    pub fn vrrp_counts(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for s in self.vrrp.values() {
            *counts.entry(s.state.as_str().to_string()).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    /// Forget what the new plan no longer has (ids are never reused, so
    /// what it still has is the same object).
    pub fn retain(&mut self, ids: &Ids) {
        self.vrrp.retain(|k, _| ids.instance_name(*k).is_some());
        self.health.retain(|k, _| ids.real_server_key(*k).is_some());
        self.check_times
            .retain(|k, _| ids.real_server_key(*k).is_some());
        self.quorum
            .retain(|k, _| ids.virtual_server_key(*k).is_some());
        self.tracks.retain(|k, _| ids.tracker_key(*k).is_some());
        self.groups.retain(|k, _| ids.group_name(*k).is_some());
        self.ha_active
            .retain(|k, _| ids.virtual_server_key(*k).is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use keepalived_types::Keys;

    #[test]
    fn latest_state_wins_and_is_replayed_until_the_plan_drops_it() {
        let mut next = 0;
        let keys = Keys {
            instances: vec!["VI_1".into()],
            ..Default::default()
        };
        let ids = Ids::assign(&keys, &Ids::default(), &mut next);
        let vi = ids.instance("VI_1").unwrap();
        let mut k = KnownState::default();
        for st in [VrrpState::Backup, VrrpState::Master] {
            k.record_vrrp(&VrrpStateChange {
                instance: vi,
                group: None,
                state: st,
                priority: 100,
            });
        }
        let r = k.replay_for(Subsystem::Vrrp);
        assert_eq!(r.vrrp.len(), 1);
        assert_eq!(r.vrrp[0].state, VrrpState::Master);
        assert!(r.health.is_empty());
        k.retain(&ids);
        assert_eq!(k.replay_for(Subsystem::Vrrp).vrrp.len(), 1);
        let gone = Ids::assign(&Keys::default(), &ids, &mut next);
        k.retain(&gone);
        assert!(k.replay_for(Subsystem::Vrrp).vrrp.is_empty());
    }
}
