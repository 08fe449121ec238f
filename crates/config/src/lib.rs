//! keepalived.conf reader: grammar, typed model, validation, TOML.
//!
//! Pipeline (one module per concern):
//! 1. `include` reads files line by line, applying `defs` (`$NAME=`,
//!    `@id` / `@^id`, `~SEQ`, `~LST`, built-ins) and expanding `include`
//!    globs (and their checked variants), and `lexer` splits each line
//!    into located tokens;
//! 2. `tree` groups the statements into `{ }` blocks the way
//!    keepalived's line reader does, refusing what it would mangle;
//! 3. `build` reads each block into the typed `model`, applying
//!    keepalived 2.2.7's defaults, ranges and inheritance; its `kchecks`
//!    pass first reports what keepalived's keyword handlers report;
//! 4. `validate` checks cross references and whole-config rules.
//!
//! [`print::to_keepalived_conf`] and [`to_toml`]/[`from_toml`] write the
//! model back; both read back to an equal model.
//!
//! Public API (what the other crates call):
//! - [`load_file`] (keepalived.conf with includes, or a `.toml` file) and
//!   [`load_str`] (text with a virtual path; tests, fuzzing);
//! - [`Loaded`] (`config`, `diagnostics` = warnings, `notes` = things
//!   keepalived logs without failing `-t`) and
//!   [`Loaded::config_test_passed`] for `-t`; [`LoadError`] when refused;
//! - [`to_toml`] / [`from_toml`] (`--convert`, `-d`) and
//!   [`to_keepalived_conf`];
//! - [`keywords()`]: every keyword accepted, by block, and
//!   [`keyword_entries`], which also says how the model holds each;
//! - the model, [`Config`] and its parts in [`model`].
//!
//! Severity policy: a [`Severity::Warning`] is something keepalived
//! reports and runs without (an unknown keyword, a value its number
//! reader rejects, a duplicate, an address or route it skips, a
//! deprecated spelling): the daemon runs the rest, as keepalived does. A
//! [`Severity::Error`] is a file keepalived-rs cannot run as written (a
//! missing word where keepalived itself exits, a failed checked include,
//! an include loop, a value the model cannot hold): [`load_file`] refuses
//! it. keepalived 2.2.7's `-t` fails on either; so does
//! [`Loaded::config_test_passed`]. Each diagnostic also carries the
//! [`Class`] of keepalived's `-t` exit status it stands for, combined by
//! [`config_test_exit`] (`Loaded::config_test_exit`,
//! `LoadError::config_test_exit`). See docs/config-test.md.

mod build;
mod defs;
mod diag;
mod glob;
mod host;
mod include;
mod keywords;
mod lexer;
pub mod model;
mod print;
pub mod regex;
pub mod route;
pub mod script_line;
mod spans;
mod suggest;
pub mod support;
mod toml;
mod tree;
mod validate;

pub use diag::{config_test_exit, Class, Diagnostic, Location, Severity};
pub use host::set_interface_check;
pub use model::*;
pub use print::to_keepalived_conf;
pub use toml::{from_toml, to_toml};

use std::fmt;
use std::path::Path;

/// Options that change how a file is read (keepalived's `-i`).
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The id matched by `@id` lines; `None` = the host name up to its
    /// first dot, as keepalived does.
    pub config_id: Option<String>,
}

/// A configuration that can run, and what was said while reading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    /// Warnings only (errors make a [`LoadError`]).
    pub diagnostics: Vec<Diagnostic>,
    /// Remarks keepalived 2.2.7 logs without failing `-t` (an `include`
    /// that matches no file): worth logging, not problems.
    pub notes: Vec<Diagnostic>,
    /// Keywords of the file keepalived acts on and keepalived-rs does not
    /// (`support`): logged at every start and reload, and `-t` fails over
    /// those that change behaviour unless told to allow them.
    pub unsupported: Vec<support::UnsupportedUse>,
}

impl Loaded {
    /// `-t` semantics of keepalived 2.2.7: any reported problem, even a
    /// warning the daemon would run with, fails the test.
    pub fn config_test_passed(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// keepalived 2.2.7's `-t` exit status for this file (0 when passed).
    pub fn config_test_exit(&self) -> i32 {
        config_test_exit(&self.diagnostics)
    }

    /// The uses of unsupported keywords that change failover, traffic,
    /// health verdicts or scripts.
    pub fn unsupported_blocking(&self) -> impl Iterator<Item = &support::UnsupportedUse> {
        self.unsupported
            .iter()
            .filter(|u| u.effect.blocks_config_test())
    }

    /// Each use of an unsupported keyword as logged (and listed by the
    /// status output).
    pub fn unsupported_lines(&self) -> Vec<String> {
        self.unsupported
            .iter()
            .map(|u| u.diagnostic().to_string())
            .collect()
    }
}

/// A configuration that cannot run: at least one diagnostic is an error.
#[derive(Clone, Debug)]
pub struct LoadError {
    /// Every diagnostic (errors and warnings), in reading order, then the notes.
    pub diagnostics: Vec<Diagnostic>,
    /// keepalived 2.2.7's `-t` exit status (notes excluded).
    pub(crate) exit: i32,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// keepalived 2.2.7's `-t` exit status for this file (never 0).
    pub fn config_test_exit(&self) -> i32 {
        self.exit.max(2)
    }
}

/// A umask in keepalived's numeric form (strtol base 0: `0177`, `0x7f`,
/// `127`), at most 0777: `umask` in global_defs and `-u` on the command
/// line read it alike.
pub fn umask_number(text: &str) -> Option<u32> {
    let v = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u32::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse::<u32>().ok()
    };
    v.filter(|v| *v <= 0o777)
}

/// Every keyword the reader accepts, grouped by the block it belongs to
/// (`"top level"`, `"global_defs"`, `"vrrp_instance"`, `"checkers"`, ...).
/// Anything else is reported as unknown, with the nearest of these.
pub fn keywords() -> Vec<(&'static str, Vec<&'static str>)> {
    keywords::tables()
}

/// One keyword of a block, as [`keyword_entries`] lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeywordEntry {
    /// The block it is read in; a health checker's under its kind
    /// (`TCP_CHECK`, `HTTP_GET`, ...).
    pub block: &'static str,
    pub name: &'static str,
    /// Read into a field of the model; otherwise kept as written in the
    /// block's `extra`.
    pub typed: bool,
}

/// Every keyword of every block with how the model holds it: what
/// [`keywords()`] lists, with the checkers split by kind.
pub fn keyword_entries() -> Vec<KeywordEntry> {
    keywords::entries()
}

/// The default config id: the host name up to its first dot.
fn default_config_id() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    raw.trim().split('.').next().unwrap_or("").to_string()
}

fn finish(
    config: Config,
    diags: diag::Diags,
    unsupported: Vec<support::UnsupportedUse>,
) -> Result<Loaded, LoadError> {
    if diags.has_errors() {
        let exit = config_test_exit(&diags.list);
        let mut diagnostics = diags.list;
        diagnostics.extend(diags.notes);
        Err(LoadError { diagnostics, exit })
    } else {
        Ok(Loaded {
            config,
            diagnostics: diags.list,
            notes: diags.notes,
            unsupported,
        })
    }
}

/// Read a keepalived.conf (or a `.toml` file) with its includes.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    if path.extension().is_some_and(|e| e == "toml") {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                location: None,
                message: format!("cannot read configuration file {}: {e}", path.display()),
                class: Class::Fatal,
            }],
            exit: 4,
        })?;
        let config = toml::from_toml_at(&text, path)?;
        // Validate exactly as a keepalived.conf: through its printed form.
        // Locations then refer to that form (`keepalived-rs --convert`'s
        // inverse), named FILE.toml.conf.
        let mut shown = path.as_os_str().to_owned();
        shown.push(".conf");
        let printed = print::to_keepalived_conf(&config);
        return load_str(&printed, Path::new(&shown), opts);
    }
    let mut diags = diag::Diags::default();
    let id = opts.config_id.clone().unwrap_or_else(default_config_id);
    let mut r = include::Reader::new(id, &mut diags);
    r.read_main(path);
    let lines = std::mem::take(&mut r.lines);
    let nodes = tree::build(lines, &mut diags);
    let config = build::config(&nodes, &mut diags);
    let unsupported = support::scan(&nodes);
    finish(config, diags, unsupported)
}

/// Read keepalived.conf text as if it were the file `virtual_path`
/// (relative includes are resolved from its directory). For tests and
/// fuzzing; never panics.
pub fn load_str(text: &str, virtual_path: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut diags = diag::Diags::default();
    let id = opts.config_id.clone().unwrap_or_else(default_config_id);
    let mut r = include::Reader::new(id, &mut diags);
    r.read_text(text, virtual_path);
    let lines = std::mem::take(&mut r.lines);
    let nodes = tree::build(lines, &mut diags);
    let config = build::config(&nodes, &mut diags);
    let unsupported = support::scan(&nodes);
    finish(config, diags, unsupported)
}
