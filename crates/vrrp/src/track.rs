//! Tracked objects (track_interface / track_script / track_file /
//! track_process / track_bfd) and how they move the effective priority.

use serde::{Deserialize, Serialize};

/// What is tracked (only used in logs: the arithmetic is the same) and
/// its verdict: the shared vocabulary's.
pub use keepalived_types::{TrackKind, TrackStatus};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackConfig {
    pub kind: TrackKind,
    pub name: String,
    /// 0 = the object failing puts the instance in FAULT.
    pub weight: i32,
    /// Reverse the direction of the adjustment.
    pub reverse: bool,
    /// Status assumed until the daemon reports one.
    pub initial: TrackStatus,
}

impl TrackConfig {
    pub fn new(kind: TrackKind, name: &str, weight: i32, reverse: bool) -> Self {
        TrackConfig {
            kind,
            name: name.to_string(),
            weight,
            reverse,
            initial: TrackStatus::Up,
        }
    }
}

/// An object's effect on its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Fault,
    Delta(i64),
}

/// keepalived semantics: a positive weight is added while the object is
/// up, a negative one while it is down; `reverse` swaps up and down. For
/// files the value times the weight is added (negated by `reverse`),
/// clamped to ±253, and -254 or less means FAULT; with weight 0 a
/// non-zero value (zero when reversed) means FAULT.
pub fn effect(cfg: &TrackConfig, status: TrackStatus) -> Effect {
    match status {
        TrackStatus::Up | TrackStatus::Down => {
            let ok = (status == TrackStatus::Up) != cfg.reverse;
            let w = i64::from(cfg.weight);
            match (cfg.weight, ok) {
                (0, false) => Effect::Fault,
                (0, true) => Effect::Delta(0),
                (_, true) => Effect::Delta(w.max(0)),
                (_, false) => Effect::Delta(w.min(0)),
            }
        }
        TrackStatus::Value(v) => {
            if cfg.weight == 0 {
                if (v != 0) != cfg.reverse {
                    Effect::Fault
                } else {
                    Effect::Delta(0)
                }
            } else {
                let sign = if cfg.reverse { -1 } else { 1 };
                let d = v.saturating_mul(i64::from(cfg.weight)).saturating_mul(sign);
                if d <= -254 {
                    Effect::Fault
                } else {
                    Effect::Delta(d.min(253))
                }
            }
        }
    }
}

/// Effective priority: base + deltas clamped to 1..=254; owners never move.
pub fn effective_priority(base: u8, deltas: i64) -> u8 {
    if base == crate::config::PRIO_OWNER {
        return base;
    }
    (i64::from(base) + deltas).clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(weight: i32, reverse: bool) -> TrackConfig {
        TrackConfig::new(TrackKind::Script, "chk", weight, reverse)
    }

    #[test]
    fn positive_weight_added_while_up() {
        assert_eq!(effect(&t(10, false), TrackStatus::Up), Effect::Delta(10));
        assert_eq!(effect(&t(10, false), TrackStatus::Down), Effect::Delta(0));
    }

    #[test]
    fn negative_weight_subtracted_while_down() {
        assert_eq!(effect(&t(-10, false), TrackStatus::Up), Effect::Delta(0));
        assert_eq!(
            effect(&t(-10, false), TrackStatus::Down),
            Effect::Delta(-10)
        );
    }

    #[test]
    fn reverse_swaps_up_and_down() {
        assert_eq!(effect(&t(-10, true), TrackStatus::Up), Effect::Delta(-10));
        assert_eq!(effect(&t(10, true), TrackStatus::Down), Effect::Delta(10));
        assert_eq!(effect(&t(0, true), TrackStatus::Up), Effect::Fault);
        assert_eq!(effect(&t(0, true), TrackStatus::Down), Effect::Delta(0));
    }

    #[test]
    fn weight_zero_failure_is_fault() {
        assert_eq!(effect(&t(0, false), TrackStatus::Down), Effect::Fault);
    }

    #[test]
    fn file_values() {
        assert_eq!(
            effect(&t(2, false), TrackStatus::Value(5)),
            Effect::Delta(10)
        );
        assert_eq!(
            effect(&t(2, true), TrackStatus::Value(5)),
            Effect::Delta(-10)
        );
        assert_eq!(
            effect(&t(1, false), TrackStatus::Value(1000)),
            Effect::Delta(253)
        );
        assert_eq!(
            effect(&t(1, false), TrackStatus::Value(-254)),
            Effect::Fault
        );
        assert_eq!(effect(&t(0, false), TrackStatus::Value(3)), Effect::Fault);
        assert_eq!(
            effect(&t(0, false), TrackStatus::Value(0)),
            Effect::Delta(0)
        );
    }

    #[test]
    fn clamping_and_owner() {
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(255, -50), 255);
    }
}
