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

/// Wait (at most [`suite::PROMPT`]) until the text of `path` satisfies
/// `done`, following its directory with inotify; returns the text.
pub fn wait_file(path: &std::path::Path, what: &str, done: impl Fn(&str) -> bool) -> String {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    // Non-blocking: the poll waits; a read with nothing pending would hang
    // the test instead of letting it fail at its deadline.
    let ino = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).expect("inotify");
    ino.add_watch(
        path.parent().expect("a file in a directory"),
        AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_TO,
    )
    .expect("inotify watch");
    let until = std::time::Instant::now() + suite::PROMPT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < until,
            "{} never held {what}; it holds {text:?}",
            path.display()
        );
        let fd = std::os::fd::AsFd::as_fd(&ino);
        let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        let _ = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(1000u16));
        let _ = ino.read_events();
    }
}
