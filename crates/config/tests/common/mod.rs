//! Shared helpers for the integration tests: where the fixtures are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Every `.conf` file directly in `tests/fixtures/<sub>`, sorted.
pub fn confs(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join(sub))
        .expect("fixture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    v
}

/// Every fixture: the corpus and the seed extractions.
pub fn all_confs() -> Vec<PathBuf> {
    let mut v = confs("config");
    v.extend(confs("seeds"));
    v
}

/// Options for tests that read configurations written for other hosts:
/// the interface check is off (see `verdicts.rs` for where it is on).
pub fn opts() -> keepalived_config::LoadOptions {
    keepalived_config::set_interface_check(false);
    keepalived_config::LoadOptions {
        config_id: Some("keepalived-rs-test".into()),
    }
}
