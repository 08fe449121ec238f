//! `unmap_own_code`: the program's read-only segments leave its page
//! tables, and the program runs on (what it uses next is faulted back in).

/// Resident kB of this program's own read-only mappings (code, constants).
fn own_readonly_rss() -> u64 {
    let exe = std::fs::read_link("/proc/self/exe").expect("own path");
    let exe = exe.to_string_lossy().into_owned();
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    let mut total = 0;
    let mut ours = false;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            // A mapping's header: ADDR PERMS OFFSET DEV INODE PATH
            Some(first) if first.contains('-') && !first.ends_with(':') => {
                let perms = f.next().unwrap_or("");
                let path = f.nth(3).unwrap_or("");
                ours = path == exe && !perms.contains('w');
            }
            Some("Rss:") if ours => {
                total += f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
            _ => {}
        }
    }
    total
}

#[test]
fn the_programs_own_pages_are_dropped_and_it_runs_on() {
    let before = own_readonly_rss();
    assert!(
        before > 0,
        "no resident read-only mapping of the test binary"
    );
    keepalived_sandbox::release_unused_memory();
    let after = own_readonly_rss();
    // What this test runs between the two reads comes back (fault-around
    // maps 64 KiB a fault), the rest of the binary does not.
    assert!(
        after < before,
        "resident read-only pages of the program: {before} kB before, {after} kB after"
    );
    // It runs on: code and constants it had not used since are read back.
    let text = format!(
        "{:?}",
        std::collections::BTreeMap::from([(1, "a"), (2, "b")])
    );
    assert_eq!(text, r#"{1: "a", 2: "b"}"#);
}
