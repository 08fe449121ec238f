//! Writing a dump (`/tmp/keepalived.data`, `.stats`) where anyone may have
//! planted something first. keepalived fixed this class in 2.0.9
//! (CVE-2018-19044..19046): the parent is root, and /tmp is everyone's.
//!
//! The text goes to a fresh file next to the target — created with
//! `O_CREAT|O_EXCL|O_NOFOLLOW|O_NONBLOCK`, mode 0600, checked with `fstat`
//! to be the regular file we just made — and is renamed over the target.
//! `rename` replaces a directory entry and follows nothing: a symlink
//! planted at the target is replaced, not written through; a FIFO is
//! replaced, never opened (so it cannot block the supervisor); a file
//! another user owns in a sticky directory stays (the rename fails: the
//! parent holds no CAP_FOWNER) and the dump is reported as not written.

use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where dumps go: `TMPDIR` when it is an absolute path, else `/tmp`, as
/// keepalived decides (its exporters read them there). Whatever it names,
/// the file is written by [`write`], which follows nothing planted there.
pub fn dump_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// A name beside `path` nobody can guess in advance.
fn temp_name(path: &Path) -> PathBuf {
    let mut buf = [0u8; 8];
    // getrandom never blocks once the pool is initialised; a failure only
    // makes the name guessable, and O_EXCL still refuses a planted one.
    // SAFETY: writes at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), libc::GRND_NONBLOCK) };
    if n != buf.len() as isize {
        buf = (std::process::id() as u64 ^ 0x6b61_6c72).to_le_bytes();
    }
    let tag: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    let name = path
        .file_name()
        .map_or_else(|| "dump".to_string(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{tag}"))
}

/// Write `text` to `path` without following, truncating or blocking on
/// anything planted there; mode 0600.
pub fn write(path: &Path, text: &[u8]) -> std::io::Result<()> {
    write_mode(path, text, 0o600)
}

/// [`write`] with the file's mode set to `mode` whatever the umask.
pub fn write_mode(path: &Path, text: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = temp_name(path);
    let fd = open(
        &tmp,
        OFlag::O_WRONLY
            | OFlag::O_CREAT
            | OFlag::O_EXCL
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    let result = (|| {
        let st = fstat(&fd)?;
        let regular = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
        if !regular || st.st_nlink != 1 || st.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(std::io::Error::other("not the file just created"));
        }
        nix::sys::stat::fchmod(&fd, Mode::from_bits_truncate(mode as libc::mode_t))?;
        let mut f = std::fs::File::from(fd);
        f.write_all(text)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_a_private_file_atomically() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keepalived.data");
        write(&p, b"one\n").unwrap();
        write(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("shadow");
        std::fs::write(&victim, "precious\n").unwrap();
        let p = d.path().join("keepalived.data");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write(&p, b"dump\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(!std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "dump\n");
    }

    #[test]
    fn a_planted_fifo_never_blocks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keepalived.stats");
        nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o666)).unwrap();
        // Nobody reads the FIFO: opening it for writing would block for ever.
        write(&p, b"stats\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "stats\n");
    }
}
