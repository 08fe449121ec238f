//! Fuzzes the `virtual_routes` / `virtual_rules` line parsers: any text
//! gives a spec or an error, never a panic, and a parsed route is
//! self-consistent (gateway and source of the destination's family).
#![no_main]

use keepalived_config::route::{parse_route, parse_rule};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = parse_route(text) {
        for a in [r.via, r.src].into_iter().flatten() {
            assert_eq!(a.is_ipv4(), r.dst.addr.is_ipv4());
        }
        assert!(r.dst.len <= if r.dst.addr.is_ipv4() { 32 } else { 128 });
    }
    let _ = parse_rule(text);
});
