//! What any local caller of the control sockets can send the parent: any
//! bytes, in any pieces. The reader must never panic, must decide within
//! MAX_REQUEST bytes (plus the last read), and once it has decided, more
//! bytes must not change its mind.
#![no_main]

use keepalived_ipc::control::{read_request, MAX_REQUEST};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Fed as the parent reads: 1 KiB at a time.
    let mut held = Vec::new();
    for piece in data.chunks(1024) {
        held.extend_from_slice(piece);
        if let Some(first) = read_request(&held) {
            assert!(held.len() <= MAX_REQUEST + 1024 || first.is_err() || held.contains(&b'\n'));
            let again = read_request(data).expect("a decision stays made");
            assert_eq!(first.is_ok(), again.is_ok());
            return;
        }
    }
    assert!(held.len() <= MAX_REQUEST && !held.contains(&b'\n'));
});
