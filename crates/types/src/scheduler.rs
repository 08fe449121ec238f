//! The IPVS scheduler vocabulary, shared by the configuration (`lb_algo`),
//! ipvsd's plan and the kernel's dumps.

use serde::{Deserialize, Serialize};

/// An IPVS scheduler. The configuration accepts the names keepalived 2.2.7
/// knows ([`Scheduler::KNOWN`]); a kernel dump may name one it does not,
/// kept in `Other` so the dump round-trips.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
    Other(String),
}

impl Scheduler {
    /// The names keepalived 2.2.7 accepts for `lb_algo` / `lvs_sched`.
    pub const KNOWN: [(&'static str, Scheduler); 14] = [
        ("rr", Scheduler::Rr),
        ("wrr", Scheduler::Wrr),
        ("lc", Scheduler::Lc),
        ("wlc", Scheduler::Wlc),
        ("lblc", Scheduler::Lblc),
        ("lblcr", Scheduler::Lblcr),
        ("dh", Scheduler::Dh),
        ("sh", Scheduler::Sh),
        ("sed", Scheduler::Sed),
        ("nq", Scheduler::Nq),
        ("fo", Scheduler::Fo),
        ("ovf", Scheduler::Ovf),
        ("mh", Scheduler::Mh),
        ("twos", Scheduler::Twos),
    ];

    /// The kernel's name.
    pub fn as_str(&self) -> &str {
        match self {
            Scheduler::Other(s) => s,
            known => Scheduler::KNOWN
                .iter()
                .find(|(_, s)| s == known)
                .map_or("", |(n, _)| n),
        }
    }

    /// A known name, or `Other`.
    pub fn from_name(name: &str) -> Scheduler {
        Scheduler::known(name).unwrap_or_else(|| Scheduler::Other(name.to_string()))
    }

    /// One of the names keepalived accepts.
    pub fn known(name: &str) -> Option<Scheduler> {
        Scheduler::KNOWN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, s) in Scheduler::KNOWN {
            assert_eq!(s.as_str(), name);
            assert_eq!(Scheduler::from_name(name), s);
        }
        assert_eq!(Scheduler::from_name("xyz"), Scheduler::Other("xyz".into()));
        assert_eq!(Scheduler::from_name("xyz").as_str(), "xyz");
        assert_eq!(Scheduler::known("xyz"), None);
    }
}
