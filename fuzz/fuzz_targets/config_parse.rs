//! Fuzz the keepalived.conf reader: any bytes must give a model or
//! located diagnostics, never a panic; `-t`'s exit status must be one of
//! keepalived's (0 exactly when nothing was reported); what loads must
//! print and convert to TOML and read back to an equal model.
//!
//! The first byte picks a preamble of preprocessor constructs (`$NAME=`
//! definitions, multi-line ones, `~SEQ`/`~SEQx`/`~LST`, `@id` lines,
//! built-ins) that the rest of the input can use, so the fuzzer reaches
//! the preprocessor's expansion paths without having to invent them.
#![no_main]

use keepalived_config::{
    from_toml, load_str, set_interface_check, to_keepalived_conf, to_toml, LoadOptions,
};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const PREAMBLES: &[&str] = &[
    "",
    "$IF=eth0\n$VIP=10.0.0.1\n",
    "$INST=vrrp_instance VI_${i} { \\\n interface $IF \\\n virtual_router_id ${i} \\\n}\n$IF=eth0\n",
    "~SEQ(i, 3) $X$i\n~SEQ(i, 5, 1) ${i}\n~SEQx(i, 10, 2, 16) a$i\n",
    "~LST(v, a, b, c) w$v\n~LST({p, q}, {1, 2}, {3}) ${p}/${q}\n",
    "@fuzz $HIT=1\n@^fuzz $MISS=1\n$C=@fuzz\n",
    "$H=${_HASH}\n$B=${_BANG}\n$R=${_RANDOM 1 9}\n$P=${_PWD}\n$I=${_INSTANCE}\n",
    "$S=~SEQ(j, 2)\n$S x$j\n",
];

fuzz_target!(|data: &[u8]| {
    // Verdicts must not depend on the fuzzing machine's interfaces.
    set_interface_check(false);
    let (pre, rest) = match data.split_first() {
        Some((b, rest)) => (PREAMBLES[*b as usize % PREAMBLES.len()], rest),
        None => ("", data),
    };
    let text = format!("{pre}{}", String::from_utf8_lossy(rest));
    let opts = LoadOptions {
        config_id: Some("fuzz".into()),
    };
    // A path whose directory does not exist: relative includes find nothing.
    let path = Path::new("/nonexistent/keepalived-fuzz/keepalived.conf");
    match load_str(&text, path, &opts) {
        Ok(l) => {
            let exit = l.config_test_exit();
            assert!([0, 2, 4, 5, 6].contains(&exit), "exit {exit}");
            assert_eq!(exit == 0, l.config_test_passed());
            let printed = to_keepalived_conf(&l.config);
            if let Ok(again) = load_str(&printed, path, &opts) {
                assert_eq!(again.config, l.config, "print round trip");
            }
            if let Ok(c) = from_toml(&to_toml(&l.config)) {
                assert_eq!(c, l.config, "TOML round trip");
            }
        }
        Err(e) => {
            let exit = e.config_test_exit();
            assert!([2, 4, 5, 6].contains(&exit), "exit {exit}");
            assert!(!e.diagnostics.is_empty());
        }
    }
});
