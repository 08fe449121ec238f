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

/// Run `f` on a thread inside a fresh network namespace holding the
/// interfaces the fixtures name (eth0, eth1, ens33, mgnt, eno16777736), so
/// that keepalived's and our interface checks see the same machine.
pub fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET): the verdict tests need root");
        let setup = "ip link add eth0 type veth peer name eth1 && \
                     ip link add ens33 type veth peer name mgnt && \
                     ip link add eno16777736 type veth peer name kp0 && ip link set lo up";
        let st = std::process::Command::new("sh")
            .args(["-c", setup])
            .status()
            .expect("run ip(8)");
        assert!(st.success(), "cannot create the test interfaces");
        keepalived_config::set_interface_check(true);
        f()
    })
    .join()
    .expect("netns thread")
}
