//! The model crosses the parent→child channel with bincode (serde, not
//! self-describing): every fixture's model must survive it unchanged.

mod common;

use keepalived_config::{load_file, Config};

#[test]
fn bincode_round_trip_over_the_corpus() {
    let cfg = bincode::config::standard();
    for p in common::all_confs() {
        let Ok(l) = load_file(&p, &common::opts()) else {
            continue;
        };
        let bytes = bincode::serde::encode_to_vec(&l.config, cfg).unwrap();
        let (back, _): (Config, usize) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, l.config, "{}", p.display());
    }
}
