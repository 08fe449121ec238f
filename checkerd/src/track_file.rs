//! `track_file`: the number a file holds moves the priority of the VRRP
//! instances that track it (vrrpd does the arithmetic).
//!
//! As keepalived does, the file's directory is watched with inotify (so a
//! file that is created, replaced by a rename or deleted is followed), the
//! value is read like C's `strtol(buf, NULL, 0)`, and a missing, empty or
//! unreadable file counts as 0. checkerd reads the files itself because it
//! runs unprivileged: vrrpd, which is root, never opens a file named by the
//! configuration.

use keepalived_check::file::strtol;
use keepalived_check::plan::{FileInit, FilePlan};
use log::{info, warn};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Token of the inotify descriptor in checkerd's loop (IPC is 0, signals 1,
/// the launcher 8, the checker engine 16 and up).
pub const TRACK_FILE_TOKEN: Token = Token(9);

/// keepalived's events on the directory: a file written and closed,
/// created, renamed in or out, deleted.
fn watch_flags() -> AddWatchFlags {
    AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE
}

struct Watched {
    name: String,
    path: PathBuf,
    /// The file's name inside its watched directory.
    file_name: OsString,
    wd: Option<WatchDescriptor>,
    value: i64,
    /// Permission was refused at the last read (warned once, not per read).
    denied: bool,
}

/// Every `track_file` in use and the inotify descriptor that follows them.
#[derive(Default)]
pub struct FileTracker {
    inotify: Option<Inotify>,
    files: Vec<Watched>,
}

impl FileTracker {
    /// Initialise (`init_file`) and watch the files of the plan (those
    /// some instance or sync group refers to), and read their values.
    /// `reload`: an existing file is never overwritten then, as keepalived
    /// does.
    pub fn new(plan: &[FilePlan], registry: &Registry, reload: bool) -> FileTracker {
        let mut t = FileTracker::default();
        for f in plan {
            if let Some(init) = f.init {
                init_file(&f.name, Path::new(&f.path), init, reload);
            }
            let path = match resolve(Path::new(&f.path)) {
                Ok(p) => p,
                Err(e) => {
                    warn!("track_file {}: {e} - ignoring", f.name);
                    continue;
                }
            };
            let file_name = path.file_name().map(OsString::from).unwrap_or_default();
            t.files.push(Watched {
                name: f.name.clone(),
                path,
                file_name,
                wd: None,
                value: 0,
                denied: false,
            });
        }
        if !t.files.is_empty() {
            t.watch(registry);
        }
        for f in &mut t.files {
            if let Some(v) = read(f) {
                f.value = v;
            }
        }
        t
    }

    fn watch(&mut self, registry: &Registry) {
        let ino = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(i) => i,
            Err(e) => {
                warn!("Unable to monitor track files: inotify: {e}");
                return;
            }
        };
        if let Err(e) = registry.register(
            &mut SourceFd(&ino.as_fd().as_raw_fd()),
            TRACK_FILE_TOKEN,
            Interest::READABLE,
        ) {
            warn!("Unable to monitor track files: {e}");
            return;
        }
        for f in &mut self.files {
            let dir = f.path.parent().unwrap_or(Path::new("/"));
            match ino.add_watch(dir, watch_flags()) {
                Ok(wd) => f.wd = Some(wd),
                Err(e) => warn!(
                    "track_file {}: cannot watch {}: {e}; its changes will not be seen",
                    f.name,
                    dir.display()
                ),
            }
        }
        self.inotify = Some(ino);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// (name, value) of every file.
    pub fn values(&self) -> impl Iterator<Item = (&str, i64)> {
        self.files.iter().map(|f| (f.name.as_str(), f.value))
    }

    /// The resolved path of a tracked file, for logs.
    pub fn path(&self, name: &str) -> Option<&Path> {
        self.files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.path.as_path())
    }

    /// The inotify descriptor is readable: re-read the files the events
    /// name. Returns (name, new value) of each file whose value changed.
    pub fn on_event(&mut self) -> Vec<(String, i64)> {
        self.update(false)
    }

    /// Re-read every file (they may have changed between configuration
    /// and start, when events are not handled).
    pub fn reread(&mut self) -> Vec<(String, i64)> {
        self.update(true)
    }

    fn update(&mut self, mut all: bool) -> Vec<(String, i64)> {
        let mut touched: Vec<(WatchDescriptor, OsString)> = Vec::new();
        while let Some(Ok(evs)) = self.inotify.as_ref().map(Inotify::read_events) {
            if evs.is_empty() {
                break;
            }
            for e in evs {
                if e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    all = true;
                } else if let Some(n) = e.name {
                    if !e.mask.contains(AddWatchFlags::IN_ISDIR) {
                        touched.push((e.wd, n));
                    }
                }
            }
        }
        let mut changed = Vec::new();
        for f in &mut self.files {
            let hit = all
                || touched
                    .iter()
                    .any(|(wd, n)| Some(*wd) == f.wd && *n == f.file_name);
            if !hit {
                continue;
            }
            if let Some(v) = read(f) {
                if v != f.value {
                    f.value = v;
                    changed.push((f.name.clone(), v));
                }
            }
        }
        changed
    }

    pub fn shutdown(&mut self, registry: &Registry) {
        if let Some(ino) = self.inotify.take() {
            let _ = registry.deregister(&mut SourceFd(&ino.as_fd().as_raw_fd()));
        }
    }
}

/// The file's absolute path with its links resolved (the watch must be on
/// the directory that really holds it); a missing file needs an existing
/// directory, which may be created later only by recreating the watch.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = path
                .file_name()
                .ok_or_else(|| format!("{} names no file", path.display()))?;
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match std::fs::canonicalize(dir) {
                Ok(d) if d.is_dir() => Ok(d.join(name)),
                _ => Err(format!("directory {} does not exist", dir.display())),
            }
        }
        Err(e) => Err(format!("{} is not accessible: {e}", path.display())),
    }
}

/// The value the file holds now, or `None` to keep the last one (a number
/// keepalived refuses as out of range).
fn read(f: &mut Watched) -> Option<i64> {
    let mut buf = [0u8; 127];
    // Non-blocking: a FIFO must not stall the loop.
    let n = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&f.path)
        .and_then(|mut file| file.read(&mut buf))
    {
        Ok(n) => {
            f.denied = false;
            n
        }
        Err(e) => {
            if e.kind() == std::io::ErrorKind::PermissionDenied && !f.denied {
                warn!(
                    "track_file {}: cannot read {}: {e} (checkerd runs unprivileged); counting 0",
                    f.name,
                    f.path.display()
                );
            }
            f.denied = e.kind() == std::io::ErrorKind::PermissionDenied;
            0
        }
    };
    let v = strtol(&String::from_utf8_lossy(&buf[..n]));
    if v < i64::from(i32::MIN) || v > i64::from(i32::MAX) + 1 {
        info!(
            "Invalid number {v} read from {} - ignoring",
            f.path.display()
        );
        return None;
    }
    Some(v)
}

/// `init_file [VALUE] [overwrite]`: write VALUE (0) to the file if it is
/// missing, or always with `overwrite` (but not over an existing file on a
/// reload). checkerd may not be allowed to: warn and go on.
pub fn init_file(name: &str, path: &Path, init: FileInit, reload: bool) {
    let FileInit { value, overwrite } = init;
    if let Ok(m) = std::fs::metadata(path) {
        if !overwrite || reload {
            return;
        }
        if !m.is_file() {
            warn!(
                "Cannot initialise track file {name} ({}) - it is not a regular file",
                path.display()
            );
            return;
        }
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, format!("{value}\n").as_bytes()));
    if let Err(e) = written {
        warn!(
            "Unable to initialise track file {name}: cannot write {}: {e} (checkerd runs unprivileged)",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory, removed at drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("checkerd-tf-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tracked(dir: &Path, name: &str) -> FilePlan {
        FilePlan {
            name: name.into(),
            path: dir.join(name).to_string_lossy().into(),
            init: None,
        }
    }

    /// The events of a change are queued by the time the writing call
    /// returns; wait (by poll, bounded) until inotify is readable and
    /// handle them all.
    fn next(t: &mut FileTracker) -> Vec<(String, i64)> {
        let fd = t.inotify.as_ref().unwrap().as_fd();
        let mut p = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        let n = nix::poll::poll(&mut p, nix::poll::PollTimeout::from(5000u16)).unwrap();
        assert_eq!(n, 1, "no inotify event");
        t.on_event()
    }

    fn changed(name: &str, v: i64) -> Vec<(String, i64)> {
        vec![(name.to_string(), v)]
    }

    #[test]
    fn values_follow_writes_renames_and_deletion() {
        let d = Dir::new();
        std::fs::write(d.path().join("a"), "0x10\n").unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut t = FileTracker::new(&[tracked(d.path(), "a")], poll.registry(), false);
        assert_eq!(t.len(), 1);
        assert_eq!(t.values().collect::<Vec<_>>(), [("a", 16)]);

        std::fs::write(d.path().join("a"), "-7 trailing").unwrap();
        assert_eq!(next(&mut t), changed("a", -7));

        // An unrelated file in the same directory changes nothing.
        std::fs::write(d.path().join("other"), "5").unwrap();
        assert!(next(&mut t).is_empty());

        // Replaced by a rename, as careful writers do.
        std::fs::write(d.path().join("a.tmp"), "3").unwrap();
        std::fs::rename(d.path().join("a.tmp"), d.path().join("a")).unwrap();
        assert_eq!(next(&mut t), changed("a", 3));

        std::fs::remove_file(d.path().join("a")).unwrap();
        assert_eq!(next(&mut t), changed("a", 0));

        // Out of keepalived's range: ignored, the last value stays.
        std::fs::write(d.path().join("a"), "99999999999").unwrap();
        assert!(next(&mut t).is_empty());
        assert_eq!(t.values().collect::<Vec<_>>(), [("a", 0)]);
        std::fs::write(d.path().join("a"), "2").unwrap();
        assert_eq!(next(&mut t), changed("a", 2));
        t.shutdown(poll.registry());
    }

    #[test]
    fn a_missing_file_reads_zero_and_a_missing_directory_is_ignored() {
        let d = Dir::new();
        let plan = [
            tracked(d.path(), "absent"),
            FilePlan {
                name: "nodir".into(),
                path: d.path().join("no/such/dir/f").to_string_lossy().into(),
                init: None,
            },
        ];
        let poll = mio::Poll::new().unwrap();
        let mut t = FileTracker::new(&plan, poll.registry(), false);
        assert_eq!(t.values().collect::<Vec<_>>(), [("absent", 0)]);
        std::fs::write(d.path().join("absent"), "12").unwrap();
        assert_eq!(next(&mut t), changed("absent", 12));
    }

    #[test]
    fn init_file_creates_or_overwrites() {
        let d = Dir::new();
        let at = |name: &str| d.path().join(name);
        let init = |value, overwrite| FileInit { value, overwrite };
        let read = |name: &str| std::fs::read_to_string(d.path().join(name)).unwrap();
        init_file("new", &at("new"), init(0, false), false);
        assert_eq!(read("new"), "0\n");
        std::fs::write(d.path().join("kept"), "9\n").unwrap();
        init_file("kept", &at("kept"), init(5, false), false);
        assert_eq!(read("kept"), "9\n");
        init_file("kept", &at("kept"), init(-5, true), true);
        assert_eq!(read("kept"), "9\n", "a reload never overwrites");
        init_file("kept", &at("kept"), init(-5, true), false);
        assert_eq!(read("kept"), "-5\n");
        // Not allowed to write: a warning, no panic.
        init_file("x", Path::new("/proc/version/x"), init(0, false), false);
    }
}
