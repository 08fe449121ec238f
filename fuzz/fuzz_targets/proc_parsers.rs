//! Fuzzes what `/proc` hands checkerd's process tracker: any bytes as
//! `/proc/PID/stat` (the name between the first '(' and the last ')', a
//! state after it) and as a command line matched against trackers of every
//! kind. The process table is hostile in part: any user names its
//! processes and their arguments. Nothing may panic; a name found lies
//! inside the stat text.
#![no_main]

use keepalived_check::process::{parse_stat, Matcher};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // stat text, then the command line after the first 0xff.
    let (stat, cmdline) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let comm = parse_stat(stat).unwrap_or(b"");
    assert!(comm.len() <= stat.len());
    for (process, param_match, full) in [
        ("nginx", None, false),
        ("/usr/sbin/nginx -g x", Some("partial"), true),
        ("sleep 1 2", Some("initial"), false),
        ("a-very-long-daemon-name", Some("exact"), true),
        ("", None, true),
    ] {
        let (m, _) = Matcher::new(process, param_match, full);
        let _ = m.matches(comm, cmdline);
    }
});
