//! Fuzz the keepalived.conf reader: any bytes must give a model or
//! located diagnostics, never a panic; what loads must print and convert
//! to TOML and read back to an equal model.
#![no_main]

use keepalived_config::{
    from_toml, load_str, set_interface_check, to_keepalived_conf, to_toml, LoadOptions,
};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Verdicts must not depend on the fuzzing machine's interfaces.
    set_interface_check(false);
    let text = String::from_utf8_lossy(data);
    let opts = LoadOptions {
        config_id: Some("fuzz".into()),
    };
    // A path whose directory does not exist: relative includes find nothing.
    let path = Path::new("/nonexistent/keepalived-fuzz/keepalived.conf");
    if let Ok(l) = load_str(&text, path, &opts) {
        let printed = to_keepalived_conf(&l.config);
        if let Ok(again) = load_str(&printed, path, &opts) {
            assert_eq!(again.config, l.config, "print round trip");
        }
        if let Ok(c) = from_toml(&to_toml(&l.config)) {
            assert_eq!(c, l.config, "TOML round trip");
        }
    }
});
