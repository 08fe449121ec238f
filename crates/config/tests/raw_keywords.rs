//! Nothing accepted is ignored in silence: every keyword the model keeps
//! raw (read, never acted on) is either in the support table, which
//! reports each use with its file:line, or in the short list below of
//! keywords something else acts on, each with the reason. A keyword
//! read raw and in neither is how `instance` and `use_pid_dir` once hid.

use keepalived_config::support::UNSUPPORTED;

/// Raw keywords acted on elsewhere, and why they need no report.
const ACTED_ON: &[(&str, &str, &str)] = &[
    (
        "global_defs",
        "include_check",
        "the include reader (include.rs) applies it to the includes after it",
    ),
    (
        "global_defs",
        "reload_check_config",
        "every reload is validated before it is applied, with or without it \
         (its LOG_FILE is not written: docs/migration.md)",
    ),
    (
        "global_defs",
        "tmp_config_directory",
        "where keepalived keeps a copy of the file for a checked reload; \
         keepalived-rs validates in memory and writes none",
    ),
    (
        "url",
        "regex_stack",
        "PCRE2's JIT stack size: the regex engine here is linear-time, \
         without a JIT stack to size",
    ),
];

#[test]
fn every_raw_keyword_is_reported_or_acted_on() {
    let mut silent = Vec::new();
    for e in keepalived_config::keyword_entries() {
        if e.typed {
            continue;
        }
        let reported = UNSUPPORTED.iter().any(|u| {
            u.keyword == e.name
                && (u.block == e.block || (u.block == "checker" && e.block.ends_with("_CHECK")))
        });
        let acted = ACTED_ON
            .iter()
            .any(|(b, k, _)| *b == e.block && *k == e.name);
        if !reported && !acted {
            silent.push(format!("{} {}", e.block, e.name));
        }
    }
    assert!(
        silent.is_empty(),
        "read raw, neither reported (support.rs) nor acted on: {silent:#?}"
    );
}
