//! Creating files that belong to someone else without CAP_CHOWN: the
//! parent holds CAP_SETUID/CAP_SETGID anyway (to start its children and
//! other users' scripts), so it creates such a file with its filesystem
//! uid/gid (setfsuid/setfsgid, this thread only) set to the future owner
//! instead of creating it as root and giving it away. The hardened unit
//! then needs no CAP_CHOWN in its bounding set.

use nix::unistd::{setfsgid, setfsuid, Gid, Uid};

/// Run `f` with this thread's filesystem ids set to `uid`/`gid`, then put
/// back what they were. Fails, without running `f`, if the kernel did not
/// take them (no CAP_SETUID/CAP_SETGID).
pub fn with_fs_ids<T>(uid: Uid, gid: Gid, f: impl FnOnce() -> T) -> Result<T, String> {
    let old_gid = setfsgid(gid);
    let old_uid = setfsuid(uid);
    // setfs[ug]id answer the previous value whether or not they changed
    // it: asking again tells what is in force.
    let now_uid = setfsuid(uid);
    let now_gid = setfsgid(gid);
    let r = (now_uid == uid && now_gid == gid).then(f);
    setfsuid(old_uid);
    setfsgid(old_gid);
    r.ok_or_else(|| format!("cannot act as uid {uid} gid {gid} (no CAP_SETUID/CAP_SETGID)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_file_made_under_other_ids_is_theirs_and_the_ids_come_back() {
        if !nix::unistd::geteuid().is_root() {
            return; // needs CAP_SETUID; the suite's tests run as root
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let made = with_fs_ids(Uid::from_raw(0), Gid::from_raw(4242), || {
            std::fs::write(&p, "x")
        })
        .unwrap();
        made.unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (0, 4242));
        // Back to root's ids: a new file is root's group again.
        let q = d.path().join("g");
        std::fs::write(&q, "y").unwrap();
        assert_eq!(std::fs::metadata(&q).unwrap().gid(), 0);
    }
}
