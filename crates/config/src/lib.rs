//! keepalived.conf reader: grammar, typed model, validation, TOML.
//!
//! STUB: the public contract the rest of the workspace relies on. The real
//! implementation replaces the internals but keeps these names.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a token came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: u32,
    pub col: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Warning,
    Error,
}

/// One message about the configuration, with its location when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Option<Location>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match &self.location {
            Some(l) => write!(f, "{}:{}:{}: {sev}: {}", l.file.display(), l.line, l.col, self.message),
            None => write!(f, "{sev}: {}", self.message),
        }
    }
}

/// Options that change how a file is read (keepalived's `-i`).
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub config_id: Option<String>,
}

/// A configuration that can run, and what was said while reading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

/// A configuration that cannot run: at least one diagnostic is an error.
#[derive(Clone, Debug)]
pub struct LoadError {
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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
}
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpScript {
    pub name: String,
}
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpSyncGroup {
    pub name: String,
}
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    pub name: String,
}
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    pub name: String,
}
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub real_servers: Vec<RealServer>,
}
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    pub weight: i32,
}

/// Read a keepalived.conf (or a `.toml` file) with its includes.
pub fn load_file(path: &Path, _opts: &LoadOptions) -> Result<Loaded, LoadError> {
    match std::fs::read_to_string(path) {
        Ok(_) => Ok(Loaded { config: Config::default(), diagnostics: vec![] }),
        Err(e) => Err(LoadError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                location: None,
                message: format!("{}: {e}", path.display()),
            }],
        }),
    }
}

/// The TOML form of a model.
pub fn to_toml(config: &Config) -> String {
    toml::to_string(config).unwrap_or_default()
}
