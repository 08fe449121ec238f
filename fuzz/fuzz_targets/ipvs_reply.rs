//! Fuzzes what ipvsd reads from the kernel: a buffer of netlink messages,
//! each classified and, when it is an IPVS reply, decoded for both address
//! families. Nothing may panic; malformed input is an error.
#![no_main]

use keepalived_ipvs::decode::{classify, messages, reply, Message};
use keepalived_ipvs::model::Family;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&family, rest)) = data.split_first() else {
        return;
    };
    let Ok(msgs) = messages(rest) else {
        return;
    };
    for m in msgs {
        if let Ok(Message::Genl { cmd, attrs }) = classify(&m, u16::from(family) | 0x10) {
            let _ = reply(cmd, attrs, Family::Inet);
            let _ = reply(cmd, attrs, Family::Inet6);
        }
    }
});
