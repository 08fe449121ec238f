//! A whole IPVS table (services with their destinations), the common
//! currency of the kernel dump, the desired state and the diff.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diff::Op;
use crate::model::{Dest, DestKey, Service, ServiceKey};

/// One virtual service and its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableService {
    pub service: Service,
    pub dests: BTreeMap<DestKey, Dest>,
}

/// Services keyed by identity; BTreeMap keeps diffs and logs deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub services: BTreeMap<ServiceKey, TableService>,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }
    /// Insert or replace a service, keeping existing destinations.
    pub fn add_service(&mut self, s: Service) {
        match self.services.get_mut(&s.key) {
            Some(ts) => ts.service = s,
            None => {
                self.services.insert(
                    s.key,
                    TableService {
                        service: s,
                        dests: BTreeMap::new(),
                    },
                );
            }
        }
    }
    /// Insert or replace a destination; false if the service is absent.
    pub fn add_dest(&mut self, key: &ServiceKey, d: Dest) -> bool {
        match self.services.get_mut(key) {
            Some(ts) => {
                ts.dests.insert(d.key(), d);
                true
            }
            None => false,
        }
    }
    pub fn service(&self, key: &ServiceKey) -> Option<&TableService> {
        self.services.get(key)
    }
    pub fn dest(&self, key: &ServiceKey, d: &DestKey) -> Option<&Dest> {
        self.services.get(key).and_then(|s| s.dests.get(d))
    }
    pub fn len_dests(&self) -> usize {
        self.services.values().map(|s| s.dests.len()).sum()
    }
    /// What the kernel holds after `op` succeeded (sync daemon ops change
    /// no table).
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::AddService(s) | Op::EditService(s) => self.add_service(s.clone()),
            Op::DelService(k) => {
                self.services.remove(k);
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                self.add_dest(k, d.clone());
            }
            Op::DelDest(k, d) => {
                if let Some(s) = self.services.get_mut(k) {
                    s.dests.remove(d);
                }
            }
            Op::StartDaemon(_) | Op::StopDaemon(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FwdMethod, Protocol, Scheduler};

    /// Applying a diff's ops to the table it was made against gives the
    /// desired table: what ipvsd's view of the kernel relies on.
    #[test]
    fn applying_the_diff_gives_the_desired_table() {
        let key = |n: u8| ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: std::net::IpAddr::from([10, 0, 0, n]),
            port: 80,
        };
        let dest = |n: u8, w: u32| {
            Dest::new(
                std::net::IpAddr::from([10, 0, 1, n]),
                80,
                FwdMethod::Masq,
                w,
            )
        };
        let mut have = Table::new();
        for n in [1, 2] {
            have.add_service(Service::new(key(n), Scheduler::from_name("rr")));
            have.add_dest(&key(n), dest(1, 1));
            have.add_dest(&key(n), dest(2, 1));
        }
        let mut want = Table::new();
        want.add_service(Service::new(key(1), Scheduler::from_name("wrr")));
        want.add_dest(&key(1), dest(1, 5));
        want.add_service(Service::new(key(3), Scheduler::from_name("rr")));
        want.add_dest(&key(3), dest(3, 1));
        let mut owned = crate::diff::Owned::default();
        owned.claim(&have);
        let ops = crate::diff::diff(&want, &have, &owned);
        assert!(!ops.is_empty());
        for op in &ops {
            have.apply(op);
        }
        assert_eq!(have, want);
        assert!(crate::diff::diff(&want, &have, &owned).is_empty());
    }
}
