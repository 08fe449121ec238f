//! Harness for the integration tests: throw-away network namespaces, a
//! syslog socket the suite logs into (so tests wait on log lines, never on
//! the clock), and a running suite built from the workspace's binaries.
//!
//! Everything is torn down on drop, so a failing test leaves nothing behind.

pub mod lan;
pub mod logtap;
pub mod netns;
pub mod proc;
pub mod suite;

pub use logtap::LogTap;
pub use netns::Netns;
pub use suite::Suite;

use std::path::PathBuf;

/// Directory holding the workspace's built binaries (target/debug or
/// target/release), found from the test executable's own path.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // Test executables live in target/<profile>/deps, tools in target/<profile>.
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    for b in ["keepalived-rs", "vrrpd", "checkerd", "ipvsd"] {
        assert!(
            dir.join(b).is_file(),
            "{} is missing: build the workspace first (cargo build --workspace --bins)",
            dir.join(b).display()
        );
    }
    dir
}

pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A directory every user may write, with the sticky bit as /tmp has
/// (scripts and checkerd run unprivileged and write or read there).
pub fn shared_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    d
}

/// Whether we can build namespaces (tests run as root; fail loudly if not).
pub fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "integration tests run as root (they build network namespaces)"
    );
}
