//! Ids for every object that crosses a socket. The parent assigns them
//! ([`Ids::assign`]) and sends the table with each child's plan; messages
//! carry ids, never printed keys, so the parent can check every id a child
//! names against the plan and formats names (FIFO lines, logs) from its own
//! copy. An object keeps its id across reloads as long as its key is the
//! same; ids are never reused, so a stale id cannot name a newer object.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::TrackKind;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u32);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}#{}", stringify!($name), self.0)
            }
        }
    };
}

id!(
    /// A `vrrp_instance`, by name.
    InstanceId
);
id!(
    /// A `vrrp_sync_group`, by name.
    GroupId
);
id!(
    /// A `virtual_server`, by its key (address or fwmark and family, or
    /// group) and its rank among virtual servers with the same key.
    VsId
);
id!(
    /// A `real_server` of one virtual server, by its key there.
    RsId
);
id!(
    /// A tracked script, file or process, by kind and name.
    TrackerId
);
id!(
    /// A script of the configuration: one command line, the user it runs
    /// as and the kind of arguments keepalived adds to it. Given with the
    /// script allowlist (`keepalived_ipc::script_allow`), stable across
    /// reloads for an unchanged line; only the processes that execute
    /// scripts learn the command line behind it.
    ScriptId
);

/// The id of every object of one configuration, with the keys they stand
/// for, looked up both ways. Only the forward maps cross a socket; the
/// reverse ones are rebuilt when a table is decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Wire", into = "Wire")]
pub struct Ids {
    instances: BTreeMap<String, InstanceId>,
    groups: BTreeMap<String, GroupId>,
    virtual_servers: BTreeMap<String, VsId>,
    real_servers: BTreeMap<(VsId, String), RsId>,
    trackers: BTreeMap<(TrackKind, String), TrackerId>,
    rev: Reverse,
}

/// What crosses the socket.
#[derive(Clone, Serialize, Deserialize)]
struct Wire {
    instances: BTreeMap<String, InstanceId>,
    groups: BTreeMap<String, GroupId>,
    virtual_servers: BTreeMap<String, VsId>,
    real_servers: BTreeMap<(VsId, String), RsId>,
    trackers: BTreeMap<(TrackKind, String), TrackerId>,
}

impl From<Wire> for Ids {
    fn from(w: Wire) -> Ids {
        let mut ids = Ids {
            instances: w.instances,
            groups: w.groups,
            virtual_servers: w.virtual_servers,
            real_servers: w.real_servers,
            trackers: w.trackers,
            rev: Reverse::default(),
        };
        ids.index();
        ids
    }
}

impl From<Ids> for Wire {
    fn from(i: Ids) -> Wire {
        Wire {
            instances: i.instances,
            groups: i.groups,
            virtual_servers: i.virtual_servers,
            real_servers: i.real_servers,
            trackers: i.trackers,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Reverse {
    instances: BTreeMap<InstanceId, String>,
    groups: BTreeMap<GroupId, String>,
    virtual_servers: BTreeMap<VsId, String>,
    real_servers: BTreeMap<RsId, (VsId, String)>,
    trackers: BTreeMap<TrackerId, (TrackKind, String)>,
}

/// The keys of one configuration's objects, in any order.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    pub instances: Vec<String>,
    pub groups: Vec<String>,
    /// Each virtual server's key (unique: the caller ranks duplicates).
    pub virtual_servers: Vec<String>,
    /// (virtual server key, real server key).
    pub real_servers: Vec<(String, String)>,
    pub trackers: Vec<(TrackKind, String)>,
}

/// The id `previous` gave `key`, else a fresh one.
fn keep<K: Ord, V: Copy>(previous: &BTreeMap<K, V>, key: &K, fresh: impl FnOnce() -> V) -> V {
    previous.get(key).copied().unwrap_or_else(fresh)
}

fn rev<K: Clone, V: Ord + Copy>(m: &BTreeMap<K, V>) -> BTreeMap<V, K> {
    m.iter().map(|(k, v)| (*v, k.clone())).collect()
}

impl Ids {
    /// Ids for `keys`: the same as in `previous` for a key it had, fresh
    /// ones (above every id `previous` or an earlier table gave, tracked
    /// in `next`) for the others.
    pub fn assign(keys: &Keys, previous: &Ids, next: &mut u32) -> Ids {
        let mut fresh = || {
            *next += 1;
            *next
        };
        let mut ids = Ids::default();
        for n in &keys.instances {
            let id = keep(&previous.instances, n, || InstanceId(fresh()));
            ids.instances.insert(n.clone(), id);
        }
        for n in &keys.groups {
            let id = keep(&previous.groups, n, || GroupId(fresh()));
            ids.groups.insert(n.clone(), id);
        }
        for k in &keys.virtual_servers {
            let id = keep(&previous.virtual_servers, k, || VsId(fresh()));
            ids.virtual_servers.insert(k.clone(), id);
        }
        for (vk, rk) in &keys.real_servers {
            let Some(&vs) = ids.virtual_servers.get(vk) else {
                continue;
            };
            let key = (vs, rk.clone());
            let id = keep(&previous.real_servers, &key, || RsId(fresh()));
            ids.real_servers.insert(key, id);
        }
        for k in &keys.trackers {
            let id = keep(&previous.trackers, k, || TrackerId(fresh()));
            ids.trackers.insert(k.clone(), id);
        }
        ids.index();
        ids
    }

    fn index(&mut self) {
        self.rev = Reverse {
            instances: rev(&self.instances),
            groups: rev(&self.groups),
            virtual_servers: rev(&self.virtual_servers),
            real_servers: rev(&self.real_servers),
            trackers: rev(&self.trackers),
        };
    }

    pub fn instance(&self, name: &str) -> Option<InstanceId> {
        self.instances.get(name).copied()
    }
    pub fn instance_name(&self, id: InstanceId) -> Option<&str> {
        self.rev.instances.get(&id).map(String::as_str)
    }
    pub fn group(&self, name: &str) -> Option<GroupId> {
        self.groups.get(name).copied()
    }
    pub fn group_name(&self, id: GroupId) -> Option<&str> {
        self.rev.groups.get(&id).map(String::as_str)
    }
    pub fn virtual_server(&self, key: &str) -> Option<VsId> {
        self.virtual_servers.get(key).copied()
    }
    pub fn virtual_server_key(&self, id: VsId) -> Option<&str> {
        self.rev.virtual_servers.get(&id).map(String::as_str)
    }
    pub fn real_server(&self, vs: VsId, key: &str) -> Option<RsId> {
        self.real_servers.get(&(vs, key.to_string())).copied()
    }
    /// The virtual server a real server belongs to, and its key there.
    pub fn real_server_key(&self, id: RsId) -> Option<(VsId, &str)> {
        self.rev
            .real_servers
            .get(&id)
            .map(|(vs, k)| (*vs, k.as_str()))
    }
    pub fn tracker(&self, kind: TrackKind, name: &str) -> Option<TrackerId> {
        self.trackers.get(&(kind, name.to_string())).copied()
    }
    pub fn tracker_key(&self, id: TrackerId) -> Option<(TrackKind, &str)> {
        self.rev.trackers.get(&id).map(|(k, n)| (*k, n.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(insts: &[&str], rs: &[(&str, &str)]) -> Keys {
        let mut vs: Vec<String> = rs.iter().map(|(v, _)| v.to_string()).collect();
        vs.dedup();
        Keys {
            instances: insts.iter().map(|s| s.to_string()).collect(),
            virtual_servers: vs,
            real_servers: rs
                .iter()
                .map(|(v, r)| (v.to_string(), r.to_string()))
                .collect(),
            trackers: vec![(TrackKind::Script, "chk".into())],
            ..Default::default()
        }
    }

    #[test]
    fn ids_are_stable_for_unchanged_keys_and_never_reused() {
        let mut next = 0;
        let a = Ids::assign(
            &keys(&["VI_1", "VI_2"], &[("vs1", "rs1"), ("vs1", "rs2")]),
            &Ids::default(),
            &mut next,
        );
        let b = Ids::assign(
            &keys(&["VI_2", "VI_3"], &[("vs1", "rs2"), ("vs2", "rs1")]),
            &a,
            &mut next,
        );
        assert_eq!(a.instance("VI_2"), b.instance("VI_2"));
        assert_eq!(b.instance("VI_1"), None);
        let all_a: Vec<u32> =
            [a.instance("VI_1").unwrap().0, a.instance("VI_2").unwrap().0].to_vec();
        assert!(!all_a.contains(&b.instance("VI_3").unwrap().0), "reused");
        let vs1 = a.virtual_server("vs1").unwrap();
        assert_eq!(b.virtual_server("vs1"), Some(vs1));
        assert_eq!(a.real_server(vs1, "rs2"), b.real_server(vs1, "rs2"));
        let vs2 = b.virtual_server("vs2").unwrap();
        assert_ne!(b.real_server(vs2, "rs1"), a.real_server(vs1, "rs1"));
        assert_eq!(
            b.real_server_key(b.real_server(vs2, "rs1").unwrap()),
            Some((vs2, "rs1"))
        );
        assert_eq!(
            a.tracker(TrackKind::Script, "chk"),
            b.tracker(TrackKind::Script, "chk")
        );
    }

    #[test]
    fn reverse_maps_are_rebuilt_from_the_wire_form() {
        let mut next = 0;
        let a = Ids::assign(
            &keys(&["VI_1"], &[("vs", "rs")]),
            &Ids::default(),
            &mut next,
        );
        let b = Ids::from(Wire::from(a.clone()));
        assert_eq!(a, b);
        assert_eq!(b.instance_name(a.instance("VI_1").unwrap()), Some("VI_1"));
        let vs = b.virtual_server("vs").unwrap();
        assert_eq!(b.virtual_server_key(vs), Some("vs"));
    }
}
