//! `-g FILE`: one log file per process, named as keepalived names them.

use keepalived_ipc::Subsystem;
use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `FILE_vrrp` for `FILE`, `name_vrrp.log` for `name.log`.
pub fn child_log_path(base: &Path, sub: Subsystem) -> PathBuf {
    let suffix = sub.log_suffix();
    match (base.file_stem(), base.extension()) {
        (Some(stem), Some(ext)) => {
            let mut name = stem.to_os_string();
            name.push(suffix);
            name.push(".");
            name.push(ext);
            base.with_file_name(name)
        }
        _ => {
            let mut s = base.as_os_str().to_os_string();
            s.push(suffix);
            PathBuf::from(s)
        }
    }
}

/// Open a log file for appending, for the parent itself or to hand to a
/// child. The parent is root and log directories are not always root's:
/// a symlink at the path is refused (not followed), and so is anything but
/// a regular file (a FIFO would block every writer).
pub fn open_log(path: &Path) -> std::io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(f.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_symlinks_and_fifos_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("shadow");
        std::fs::write(&victim, "precious\n").unwrap();
        let link = d.path().join("k.log");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(open_log(&link).is_err(), "a symlink was followed");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let fifo = d.path().join("f.log");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(open_log(&fifo).is_err(), "a FIFO was accepted");
        assert!(open_log(&d.path().join("ok.log")).is_ok());
    }

    #[test]
    fn names_follow_keepalived() {
        assert_eq!(
            child_log_path(Path::new("/var/log/ka"), Subsystem::Vrrp),
            Path::new("/var/log/ka_vrrp")
        );
        assert_eq!(
            child_log_path(Path::new("/var/log/keepalived.log"), Subsystem::Checker),
            Path::new("/var/log/keepalived_healthcheckers.log")
        );
    }
}
