//! `notify_fifo`, `vrrp_notify_fifo` and `lvs_notify_fifo`: one line per
//! VRRP state change (`INSTANCE "VI_1" MASTER 100`) and per real-server
//! change (`RS [192.168.1.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN`), as keepalived
//! writes them.
//!
//! The parent writes them: every state change passes through it anyway,
//! and it is the process allowed to create a FIFO owned by the script user
//! (the `*_fifo_script` reading it runs unprivileged, in checkerd). Writes
//! never block: the FIFO is opened read-write and non-blocking, so a
//! missing reader cannot stall the parent; a full FIFO drops the line and
//! counts it.

use keepalived_config::{Config, NotifyFifo};
use keepalived_ipc::control::{Transition, TransitionKind};
use keepalived_ipc::VrrpState;
use log::{info, warn};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid, User};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// What a FIFO carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Carries {
    Both,
    Vrrp,
    Lvs,
}

struct Fifo {
    path: String,
    carries: Carries,
    file: File,
}

#[derive(Default)]
pub struct NotifyFifos {
    fifos: Vec<Fifo>,
    /// Lines written / dropped (FIFO full or gone).
    pub written: u64,
    pub dropped: u64,
}

/// The configured FIFOs and what each carries.
fn configured(config: &Config) -> Vec<(Carries, &NotifyFifo)> {
    let g = &config.global_defs;
    [
        (Carries::Both, &g.notify_fifo),
        (Carries::Vrrp, &g.vrrp_notify_fifo),
        (Carries::Lvs, &g.lvs_notify_fifo),
    ]
    .into_iter()
    .filter_map(|(c, f)| f.as_ref().map(|f| (c, f)))
    .collect()
}

/// Who reads the FIFO at `path`: whoever runs its `*_fifo_script` (the
/// allowlist's own rule: the line's user, else `script_user`), else
/// checkerd's unprivileged user. A root reader gets a root FIFO (a root
/// script holds no CAP_DAC_OVERRIDE under the unit to open another user's).
fn reader(config: &Config, path: &str, unprivileged: (u32, u32)) -> (u32, u32) {
    config
        .global_defs
        .fifo_scripts()
        .into_iter()
        .find(|f| f.fifo.as_deref() == Some(path))
        .and_then(|f| f.script)
        .and_then(|line| {
            let mut users = keepalived_ipc::script_allow::Users::default();
            keepalived_ipc::script_allow::identity(config, &line, None, unprivileged, &mut users)
        })
        .unwrap_or(unprivileged)
}

/// Owner of a FIFO we create: the user named after the path, else the
/// unprivileged user the fifo script runs as.
fn owner(f: &NotifyFifo, default: (u32, u32)) -> (Uid, Gid) {
    let user = f
        .user
        .as_ref()
        .and_then(|u| User::from_name(u).ok().flatten());
    let group = f
        .group
        .as_ref()
        .and_then(|g| nix::unistd::Group::from_name(g).ok().flatten());
    let uid = user.as_ref().map_or(Uid::from_raw(default.0), |u| u.uid);
    let gid = group
        .map(|g| g.gid)
        .unwrap_or_else(|| user.as_ref().map_or(Gid::from_raw(default.1), |u| u.gid));
    (uid, gid)
}

/// How `open_fifo` came by the FIFO.
enum Made {
    /// It was there.
    Found,
    /// Created as its reader (mode 0600).
    ByReader,
    /// Created as root with the reader's group: the reader may not create
    /// files in its directory (mode 0640, set once opened).
    ForReadersGroup,
}

fn open_fifo(path: &str, owner: (Uid, Gid)) -> Result<File, String> {
    let p = Path::new(path);
    let root = (Uid::from_raw(0), Gid::from_raw(0));
    // Made and opened as whoever is to own it (filesystem ids, no
    // CAP_CHOWN): the reader when its directory lets it create the FIFO,
    // else root with the reader's group able to read.
    let (ids, created) = match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_fifo() => {
            use std::os::unix::fs::MetadataExt;
            // Opening the reader's own mode-0600 FIFO takes its uid (the
            // parent has no CAP_DAC_OVERRIDE).
            let ids = if m.uid() == owner.0.as_raw() {
                owner
            } else {
                root
            };
            (ids, Made::Found)
        }
        Ok(_) => return Err(format!("{path} exists and is not a FIFO")),
        Err(_) => {
            let make = |ids: (Uid, Gid)| {
                crate::fs_ids::with_fs_ids(ids.0, ids.1, || {
                    nix::unistd::mkfifo(p, Mode::from_bits_truncate(0o600))
                })
            };
            match make(owner)? {
                Ok(()) => (owner, Made::ByReader),
                Err(nix::errno::Errno::EACCES) if !owner.0.is_root() => {
                    make((root.0, owner.1))?
                        .map_err(|e| format!("cannot create FIFO {path}: {e}"))?;
                    ((root.0, owner.1), Made::ForReadersGroup)
                }
                Err(e) => return Err(format!("cannot create FIFO {path}: {e}")),
            }
        }
    };
    // Never through a symlink swapped in meanwhile (it could name a device
    // that reacts to being opened); what was opened is checked on the
    // descriptor.
    let fd = crate::fs_ids::with_fs_ids(ids.0, ids.1, || {
        open(
            p,
            OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::empty(),
        )
    })?
    .map_err(|e| format!("cannot open FIFO {path}: {e}"))?;
    let file = File::from(fd);
    let st = nix::sys::stat::fstat(&file).map_err(|e| format!("{path}: {e}"))?;
    if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFIFO {
        return Err(format!("{path} is not a FIFO"));
    }
    match created {
        Made::ForReadersGroup => {
            // Its owner (root) sets the mode the umask took away; only
            // root writes, the reader's group reads.
            nix::sys::stat::fchmod(&file, Mode::from_bits_truncate(0o640))
                .map_err(|e| format!("{path}: {e}"))?;
            info!(
                "Created notify FIFO {path} (owned by root, readable by group {}: uid {} cannot create files in its directory)",
                owner.1, owner.0
            );
        }
        Made::ByReader => info!("Created notify FIFO {path}"),
        // Someone else's FIFO: its owner could read what we write or feed
        // the script; keepalived's FIFO is ours or the reader's.
        Made::Found if st.st_uid != 0 && st.st_uid != owner.0.as_raw() => {
            return Err(format!(
                "{path} belongs to uid {}, neither root nor its reader",
                st.st_uid
            ));
        }
        Made::Found => {}
    }
    Ok(file)
}

/// A name a child sent, fit for a FIFO line (no line breaks or quotes).
fn clean(name: &str) -> bool {
    !name.is_empty() && !name.contains(['\n', '\r', '"'])
}

impl NotifyFifos {
    /// Open every configured FIFO, creating it (mode 0600, owned by its
    /// reader) when missing. Problems are logged; the rest still work.
    pub fn open(config: &Config, reader: (u32, u32)) -> NotifyFifos {
        let mut f = NotifyFifos::default();
        f.adopt(config, reader);
        f
    }

    /// The FIFOs of a reloaded configuration: those already open stay open
    /// (what is written into them is not lost); new ones are created.
    pub fn reopen(&mut self, config: &Config, reader: (u32, u32)) {
        self.adopt(config, reader);
    }

    /// Keep the configured FIFOs already open, open the others.
    fn adopt(&mut self, config: &Config, unprivileged: (u32, u32)) {
        let mut old = std::mem::take(&mut self.fifos);
        for (carries, s) in configured(config) {
            let path = &s.path;
            if let Some(i) = old.iter().position(|f| &f.path == path) {
                let mut f = old.swap_remove(i);
                f.carries = carries;
                self.fifos.push(f);
                continue;
            }
            match open_fifo(path, owner(s, reader(config, path, unprivileged))) {
                Ok(file) => self.fifos.push(Fifo {
                    path: path.clone(),
                    carries,
                    file,
                }),
                Err(e) => warn!(
                    "{}: {e}; not writing it",
                    match carries {
                        Carries::Both => "notify_fifo",
                        Carries::Vrrp => "vrrp_notify_fifo",
                        Carries::Lvs => "lvs_notify_fifo",
                    }
                ),
            }
        }
    }

    #[cfg(test)]
    fn paths(&self) -> Vec<&str> {
        self.fifos.iter().map(|f| f.path.as_str()).collect()
    }

    fn write(&mut self, line: &str, vrrp: bool) {
        for f in &mut self.fifos {
            let wanted = match f.carries {
                Carries::Both => true,
                Carries::Vrrp => vrrp,
                Carries::Lvs => !vrrp,
            };
            if !wanted {
                continue;
            }
            // One write of a short line into a pipe is atomic.
            match f.file.write(line.as_bytes()) {
                Ok(n) if n == line.len() => self.written += 1,
                _ => self.dropped += 1,
            }
        }
    }

    /// A transition's line (`Transition::fifo_line`, keepalived's
    /// format) to the FIFOs that take its kind: instances and groups to
    /// the VRRP FIFO, real servers and quorum to the LVS one, all to the
    /// global one. Names with characters that would break the line are
    /// not written.
    pub fn transition(&mut self, t: &Transition) {
        let names_clean = clean(&t.name) && t.virtual_server.as_deref().is_none_or(clean);
        if names_clean {
            let vrrp = matches!(t.kind, TransitionKind::Instance | TransitionKind::Group);
            self.write(&t.fifo_line(), vrrp);
        }
    }
}

/// The transition of an instance, group, real server or virtual server,
/// stamped now.
pub fn transition(
    kind: TransitionKind,
    name: &str,
    virtual_server: Option<&str>,
    state: &str,
    priority: Option<u8>,
) -> Transition {
    Transition {
        kind,
        name: name.to_string(),
        virtual_server: virtual_server.map(str::to_string),
        state: state.to_string(),
        priority,
        at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    }
}

/// `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150`: a master heard a lower
/// priority (keepalived's event line, with the master's own priority).
pub fn rx_lower_pri(name: &str, priority: u8) -> Transition {
    transition(
        TransitionKind::Instance,
        name,
        None,
        "MASTER_RX_LOWER_PRI",
        Some(priority),
    )
}

/// `INSTANCE "VI_1" MASTER_PRIORITY 90` (or `BACKUP_PRIORITY`): the
/// effective priority changed (`notify_priority_changes`).
pub fn priority(name: &str, priority: u8, master: bool) -> Transition {
    let state = if master {
        "MASTER_PRIORITY"
    } else {
        "BACKUP_PRIORITY"
    };
    transition(TransitionKind::Instance, name, None, state, Some(priority))
}

/// `INSTANCE "VI_1" MASTER 150`.
pub fn instance(name: &str, state: VrrpState, priority: u8) -> Transition {
    transition(
        TransitionKind::Instance,
        name,
        None,
        state.as_str(),
        Some(priority),
    )
}

/// `GROUP "G" MASTER 0`: a sync group's line has priority 0.
pub fn group(name: &str, state: VrrpState) -> Transition {
    transition(TransitionKind::Group, name, None, state.as_str(), None)
}

/// `RS [192.168.1.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN`.
pub fn real_server(vs: &str, rs: &str, up: bool) -> Transition {
    let state = if up { "UP" } else { "DOWN" };
    transition(TransitionKind::Rs, rs, Some(vs), state, None)
}

/// `VS [10.0.0.1]:tcp:80 UP|DOWN`, as keepalived writes a quorum change.
pub fn quorum(vs: &str, up: bool) -> Transition {
    let state = if up { "UP" } else { "DOWN" };
    transition(TransitionKind::Vs, vs, None, state, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn lines_as_keepalived_writes_them() {
        assert_eq!(
            instance("VI_1", VrrpState::Master, 150).fifo_line(),
            "INSTANCE \"VI_1\" MASTER 150\n"
        );
        assert_eq!(
            real_server("[10.0.0.1]:tcp:80", "[192.168.1.2]:tcp:80", false).fifo_line(),
            "RS [192.168.1.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n"
        );
        assert_eq!(
            priority("VI_1", 90, true).fifo_line(),
            "INSTANCE \"VI_1\" MASTER_PRIORITY 90\n"
        );
        assert_eq!(
            priority("VI_1", 90, false).fifo_line(),
            "INSTANCE \"VI_1\" BACKUP_PRIORITY 90\n"
        );
        assert_eq!(
            rx_lower_pri("VI_1", 150).fifo_line(),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n"
        );
        assert_eq!(
            group("G", VrrpState::Fault).fifo_line(),
            "GROUP \"G\" FAULT 0\n"
        );
        assert_eq!(
            quorum("[10.0.0.1]:tcp:80", true).fifo_line(),
            "VS [10.0.0.1]:tcp:80 UP\n"
        );
    }

    #[test]
    fn a_fifo_is_created_written_and_never_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vrrp.fifo");
        let text = format!(
            "global_defs {{\n vrrp_notify_fifo {}\n lvs_notify_fifo {}/plain\n}}\n",
            path.display(),
            dir.path().display()
        );
        std::fs::write(dir.path().join("plain"), "not a fifo").unwrap();
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, text).unwrap();
        let config = keepalived_config::load_file(&conf, &Default::default())
            .unwrap()
            .config;
        let me = (Uid::current().as_raw(), Gid::current().as_raw());
        let mut f = NotifyFifos::open(&config, me);
        assert_eq!(
            f.paths(),
            vec![path.to_str().unwrap()],
            "the plain file is refused"
        );
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        f.transition(&instance("VI_1", VrrpState::Backup, 100));
        let mut got = String::new();
        let _ = reader.read_to_string(&mut got);
        assert_eq!(got, "INSTANCE \"VI_1\" BACKUP 100\n");
        // Nobody reads: the pipe fills, lines are dropped, nothing blocks.
        for _ in 0..10_000 {
            f.transition(&instance("VI_1", VrrpState::Backup, 100));
        }
        assert!(f.dropped > 0 && f.written > 1);
    }

    /// The reader's FIFO is made as the reader (no CAP_CHOWN); where the
    /// reader may not create files, root's, readable by its group.
    #[test]
    fn a_fifo_belongs_to_its_reader_without_chown() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if !Uid::effective().is_root() {
            return; // setfsuid needs CAP_SETUID; the suite's tests run as root
        }
        let reader = (Uid::from_raw(65534), Gid::from_raw(65533));
        let open_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(open_dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let p = open_dir.path().join("a.fifo");
        open_fifo(p.to_str().unwrap(), reader).unwrap();
        let m = std::fs::symlink_metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (65534, 65533, 0o600));
        // Its own 0600 FIFO opens again (as the reader: no DAC override).
        open_fifo(p.to_str().unwrap(), reader).unwrap();

        let closed_dir = tempfile::tempdir().unwrap(); // root's, 0700
        let q = closed_dir.path().join("b.fifo");
        open_fifo(q.to_str().unwrap(), reader).unwrap();
        let m = std::fs::symlink_metadata(&q).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (0, 65533, 0o640));
    }
}
