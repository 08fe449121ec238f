//! Pid files, written on start and removed on exit.
//!
//! The main pid file is also the single-instance guard: it is held locked
//! (`flock`) for the parent's whole life, so a second keepalived-rs on the
//! same pid file refuses to start instead of running a whole second stack
//! and then removing the first one's pid files and IPVS state. Nothing is
//! written through a symlink planted at a pid file's path.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct PidFiles {
    written: Vec<PathBuf>,
    /// The main pid file, open and locked while we run.
    lock: Option<File>,
}

impl PidFiles {
    /// Take the main pid file: lock it and write `pid` into it. Fails when
    /// another instance holds it (its pid, if readable, in the message).
    pub fn claim(&mut self, path: &Path, pid: u32) -> Result<(), String> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| format!("cannot open pid file {}: {e}", path.display()))?;
        if !f.metadata().map(|m| m.is_file()).unwrap_or(false) {
            return Err(format!("pid file {} is not a regular file", path.display()));
        }
        // rw-r--r-- whatever the umask (0177 by default), as keepalived
        // writes its pid files for the tools that read them.
        let _ = f.set_permissions(std::fs::Permissions::from_mode(0o644));
        // SAFETY: flock on a descriptor we own.
        if unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&f),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } != 0
        {
            let mut other = String::new();
            let _ = f.read_to_string(&mut other);
            return Err(format!(
                "daemon is already running (pid {}, pid file {} locked)",
                other.trim(),
                path.display()
            ));
        }
        f.set_len(0)
            .and_then(|_| f.rewind())
            .and_then(|_| f.write_all(format!("{pid}\n").as_bytes()))
            .map_err(|e| format!("cannot write pid file {}: {e}", path.display()))?;
        self.lock = Some(f);
        if !self.written.iter().any(|p| p == path) {
            self.written.push(path.to_path_buf());
        }
        Ok(())
    }

    /// Write `pid` into the claimed main pid file (after forking).
    pub fn update_main(&mut self, pid: u32) {
        let Some(f) = self.lock.as_mut() else { return };
        let r = f
            .set_len(0)
            .and_then(|_| f.rewind())
            .and_then(|_| f.write_all(format!("{pid}\n").as_bytes()));
        if let Err(e) = r {
            log::warn!("cannot write the pid file: {e}");
        }
    }

    pub fn write(&mut self, path: &Path, pid: u32) {
        // rw-r--r--, as keepalived writes its children's pid files.
        match crate::dumpfile::write_mode(path, format!("{pid}\n").as_bytes(), 0o644) {
            Ok(()) => {
                if !self.written.iter().any(|p| p == path) {
                    self.written.push(path.to_path_buf());
                }
            }
            Err(e) => log::warn!("cannot write pid file {}: {e}", path.display()),
        }
    }

    pub fn remove(&mut self, path: &Path) {
        let _ = std::fs::remove_file(path);
        self.written.retain(|p| p != path);
    }

    pub fn remove_all(&mut self) {
        for p in self.written.drain(..) {
            let _ = std::fs::remove_file(p);
        }
        self.lock = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keepalived.pid");
        let mut first = PidFiles::default();
        first.claim(&p, 4242).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "4242\n");
        let mut second = PidFiles::default();
        let e = second.claim(&p, 4343).unwrap_err();
        assert!(e.contains("already running (pid 4242"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "4242\n",
            "overwritten"
        );
        // The first one's exit frees it.
        first.remove_all();
        second.claim(&p, 4343).unwrap();
    }

    #[test]
    fn pid_files_do_not_follow_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("shadow");
        std::fs::write(&victim, "precious\n").unwrap();
        let p = d.path().join("keepalived.pid");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        assert!(PidFiles::default().claim(&p, 1).is_err());
        let v = d.path().join("vrrp.pid");
        std::os::unix::fs::symlink(&victim, &v).unwrap();
        PidFiles::default().write(&v, 7);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
}
