//! keepalived.conf reader: grammar, typed model, validation, TOML.
//!
//! Pipeline (one module per concern):
//! 1. [`include`] reads files line by line, applying [`defs`] (`$NAME=`,
//!    `@id` / `@^id`, `~SEQ`) and expanding `include` globs, and
//!    [`lexer`] splits each line into located tokens;
//! 2. [`tree`] groups the statements into `{ }` blocks the way
//!    keepalived's line reader does, refusing what it would mangle;
//! 3. `build` reads each block into the typed [`model`], applying
//!    keepalived 2.2.7's defaults, ranges and inheritance;
//! 4. `validate` checks cross references and whole-config rules.
//!
//! [`print::to_keepalived_conf`] and [`to_toml`]/[`from_toml`] write the
//! model back; both read back to an equal model.
//!
//! Severity policy: a [`Severity::Warning`] is something keepalived
//! reports and runs with (unknown keyword, deprecated spelling, truncated
//! `auth_pass`, a tracked script that does not exist); a
//! [`Severity::Error`] is a value keepalived-rs cannot use as written (an
//! out-of-range number, a bad address, an include loop, a nested block on
//! one line that keepalived would silently mangle): [`load_file`] refuses
//! the configuration. keepalived 2.2.7's `-t` fails on either; so does
//! [`Loaded::config_test_passed`].

mod build;
mod defs;
mod diag;
mod glob;
mod include;
mod lexer;
pub mod model;
mod print;
mod suggest;
mod toml;
mod tree;
mod validate;

pub use diag::{Diagnostic, Location, Severity};
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
}

impl Loaded {
    /// `-t` semantics of keepalived 2.2.7: any reported problem, even a
    /// warning the daemon would run with, fails the test.
    pub fn config_test_passed(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// A configuration that cannot run: at least one diagnostic is an error.
#[derive(Clone, Debug)]
pub struct LoadError {
    /// Every diagnostic (errors and warnings), in reading order.
    pub diagnostics: Vec<Diagnostic>,
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

/// The default config id: the host name up to its first dot.
fn default_config_id() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    raw.trim().split('.').next().unwrap_or("").to_string()
}

fn finish(config: Config, diags: diag::Diags) -> Result<Loaded, LoadError> {
    if diags.has_errors() {
        Err(LoadError {
            diagnostics: diags.list,
        })
    } else {
        Ok(Loaded {
            config,
            diagnostics: diags.list,
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
            }],
        })?;
        let config = toml::from_toml_at(&text, path)?;
        return Ok(Loaded {
            config,
            diagnostics: Vec::new(),
        });
    }
    let mut diags = diag::Diags::default();
    let id = opts.config_id.clone().unwrap_or_else(default_config_id);
    let mut r = include::Reader::new(id, &mut diags);
    r.read_main(path);
    let lines = std::mem::take(&mut r.lines);
    let nodes = tree::build(lines, &mut diags);
    let config = build::config(&nodes, &mut diags);
    finish(config, diags)
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
    finish(config, diags)
}
