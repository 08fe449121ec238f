//! The last known state of every subsystem, kept by the parent so a
//! restarted child resumes instead of starting over.

use keepalived_ipc::{
    RealServerHealth, ReplayState, Subsystem, TrackKind, TrackResult, VrrpStateChange,
};
use std::collections::BTreeMap;

#[derive(Default, Debug)]
pub struct KnownState {
    vrrp: BTreeMap<String, VrrpStateChange>,
    health: BTreeMap<(String, String), RealServerHealth>,
    tracks: BTreeMap<(TrackKind, String), TrackResult>,
}

impl KnownState {
    pub fn record_vrrp(&mut self, s: &VrrpStateChange) {
        self.vrrp.insert(s.instance.clone(), s.clone());
    }

    pub fn record_health(&mut self, h: &RealServerHealth) {
        self.health
            .insert((h.virtual_server.clone(), h.real_server.clone()), h.clone());
    }

    pub fn record_track(&mut self, t: &TrackResult) {
        self.tracks.insert((t.kind, t.name.clone()), t.clone());
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
                health: vec![],
                tracks,
            },
            Subsystem::Ipvs => ReplayState {
                vrrp,
                health,
                tracks: vec![],
            },
            Subsystem::Checker => ReplayState {
                vrrp,
                health,
                tracks,
            },
        }
    }

    /// Forget entries the new configuration no longer has.
    pub fn retain_instances(&mut self, names: &[String]) {
        self.vrrp.retain(|k, _| names.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_ipc::VrrpState;

    #[test]
    fn latest_state_wins_and_is_replayed() {
        let mut k = KnownState::default();
        for st in [VrrpState::Backup, VrrpState::Master] {
            k.record_vrrp(&VrrpStateChange {
                instance: "VI_1".into(),
                group: None,
                state: st,
                priority: 100,
            });
        }
        let r = k.replay_for(Subsystem::Vrrp);
        assert_eq!(r.vrrp.len(), 1);
        assert_eq!(r.vrrp[0].state, VrrpState::Master);
        assert!(r.health.is_empty());
    }
}
