//! The model as TOML: the same types, serialized with serde.
//!
//! A `.toml` file given to `load_file` is read with [`from_toml`]; its
//! fields are the model's (keepalived's keyword names), every field is
//! optional and defaults to keepalived's default.

use crate::diag::{Diagnostic, Location, Severity};
use crate::model::Config;
use std::path::Path;

/// The TOML form of a model.
pub fn to_toml(config: &Config) -> String {
    match toml::to_string(config) {
        Ok(s) => s,
        // Only a non-finite float could make this fail; keep the contract
        // of returning text and say why.
        Err(e) => format!("# cannot represent this configuration as TOML: {e}\n"),
    }
}

/// Read a model from TOML text.
pub fn from_toml(text: &str) -> Result<Config, crate::LoadError> {
    from_toml_at(text, Path::new("<toml>"))
}

pub(crate) fn from_toml_at(text: &str, path: &Path) -> Result<Config, crate::LoadError> {
    toml::from_str::<Config>(text).map_err(|e| {
        let location = e.span().map(|sp| {
            let before = &text[..sp.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Location {
                file: path.to_path_buf(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(col).unwrap_or(u32::MAX),
            }
        });
        crate::LoadError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                location,
                message: e.message().to_string(),
                class: crate::Class::Config,
            }],
            exit: 5,
        }
    })
}
