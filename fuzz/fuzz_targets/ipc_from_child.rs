//! What a compromised child could send the parent: any sequence of
//! datagrams. Reassembly and decoding must never panic, and must stay
//! within the size limit whatever the headers claim.
#![no_main]

use keepalived_ipc::frame::Reassembler;
use keepalived_ipc::{decode_from_child, MAX_FROM_CHILD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new(MAX_FROM_CHILD);
    // Split the input into datagrams: each is prefixed by a one-byte length
    // multiplier, so the fuzzer controls fragment boundaries.
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let len = (n as usize * 7).min(tail.len());
        let (datagram, next) = tail.split_at(len);
        rest = next;
        if let Ok(Some(message)) = r.push(datagram) {
            assert!(message.len() <= MAX_FROM_CHILD);
            let _ = decode_from_child(&message);
        }
    }
    let _ = decode_from_child(data);
});
