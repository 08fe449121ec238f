//! A whole IPVS table (services with their destinations), the common
//! currency of the kernel dump, the desired state and the diff.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
}
