//! keepalived's signal names (`--signum`) and the real-time signals it
//! uses beside the classic ones. SIGRTMIN/SIGRTMAX are the C library's
//! values at run time (glibc keeps the first real-time signals for
//! itself), so they are asked for, not hard-coded.

use nix::sys::signal::SigSet;

/// `JSON`: SIGRTMIN+2 (36 with glibc).
pub fn json() -> i32 {
    libc::SIGRTMIN() + 2
}

/// `STATS_CLEAR`: SIGRTMAX-1 (63 with glibc).
pub fn stats_clear() -> i32 {
    libc::SIGRTMAX() - 1
}

/// The number keepalived 2.2.7 (built with JSON, as Debian's) gives each
/// name `--signum` accepts; names are matched exactly, as there.
pub fn number(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => stats_clear(),
        "JSON" => json(),
        _ => return None,
    })
}

/// `mask` with the real-time signals the parent handles added (nix's
/// `Signal` has no real-time values).
pub fn with_realtime(mask: SigSet) -> SigSet {
    let mut raw: libc::sigset_t = *mask.as_ref();
    // SAFETY: sigaddset on a valid, initialised set with valid numbers.
    unsafe {
        libc::sigaddset(&mut raw, json());
        libc::sigaddset(&mut raw, stats_clear());
        SigSet::from_sigset_t_unchecked(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers Debian's keepalived 2.2.7 prints on this platform.
    #[test]
    fn keepalived_numbers() {
        let names = ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"];
        let got: Vec<i32> = names.iter().filter_map(|n| number(n)).collect();
        assert_eq!(got, [15, 1, 10, 12, 63, 36]);
        for bad in ["json", "TDATA", "TDUMP", "SIGHUP", ""] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }

    #[test]
    fn realtime_signals_join_the_mask() {
        let m = with_realtime(SigSet::empty());
        // SAFETY: sigismember on a valid set.
        let has = |s| unsafe { libc::sigismember(m.as_ref(), s) } == 1;
        assert!(has(json()) && has(stats_clear()) && !has(libc::SIGUSR1));
    }
}
