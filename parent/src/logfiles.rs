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

/// Open a log file for appending, for the parent itself or to hand to a child.
pub fn open_log(path: &Path) -> std::io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    Ok(f.into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
