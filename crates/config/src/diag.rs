//! Diagnostics: what the reader says about a configuration, with where.
//!
//! Every message carries the file, line and column of the token it is about
//! (when there is one), so an operator can jump straight to the problem.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a token came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: u32,
    pub col: u32,
}

/// How bad a diagnostic is.
///
/// `Warning`: keepalived would report it and carry on (the daemon runs the
/// file); `Error`: the configuration (or an object in it) cannot be used as
/// written, so keepalived-rs refuses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Warning,
    Error,
}

/// Which of keepalived 2.2.7's `-t` exit statuses a diagnostic stands
/// for (its `config_err` levels, `core/main.c config_test_exit()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Class {
    /// Any reported problem: exit 5.
    #[default]
    Config,
    /// Only interface-existence (`BAD_IF`) or `FATAL` reports: exit 4
    /// when nothing of a higher class was reported.
    Fatal,
    /// A keyword lacks the word a handler reads: keepalived exits 2 at once.
    MissingWord,
    /// A SECURITY VIOLATION (scripts run as root without
    /// `enable_script_security`): exit 6 whatever else was reported.
    Security,
    /// A checked include (`includer`/`includem`/.../`include_check`)
    /// failed: keepalived exits 6 right after reading the files.
    IncludeCheck,
}

/// One message about the configuration, with its location when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Option<Location>,
    pub message: String,
    /// The `-t` exit status class (see [`config_test_exit`]).
    #[serde(default)]
    pub class: Class,
}

/// keepalived 2.2.7's `-t` exit status for these diagnostics (notes
/// excluded): 0 none; 2 a missing word; 6 a checked include failure or a
/// security violation; 4 only interface/fatal problems; 5 otherwise.
pub fn config_test_exit(diags: &[Diagnostic]) -> i32 {
    let has = |c: Class| diags.iter().any(|d| d.class == c);
    if diags.is_empty() {
        0
    } else if has(Class::MissingWord) {
        2
    } else if has(Class::IncludeCheck) || has(Class::Security) {
        6
    } else if diags.iter().all(|d| d.class == Class::Fatal) {
        4
    } else {
        5
    }
}

impl Diagnostic {
    /// `file:line:col: LABEL: message` (or `LABEL: message`).
    fn write_as(&self, f: &mut fmt::Formatter<'_>, label: &str) -> fmt::Result {
        match &self.location {
            Some(l) => write!(
                f,
                "{}:{}:{}: {label}: {}",
                l.file.display(),
                l.line,
                l.col,
                self.message
            ),
            None => write!(f, "{label}: {}", self.message),
        }
    }

    /// Printed as a note (what keepalived logs without failing `-t`).
    pub fn as_note(&self) -> impl fmt::Display + '_ {
        struct Note<'a>(&'a Diagnostic);
        impl fmt::Display for Note<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_as(f, "note")
            }
        }
        Note(self)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        self.write_as(f, sev)
    }
}

/// A cheap location used while reading: the file name is shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn to_location(&self) -> Location {
        Location {
            file: (*self.file).clone(),
            line: self.line,
            col: self.col,
        }
    }
}

/// Collects diagnostics while reading.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub list: Vec<Diagnostic>,
    /// Said by keepalived without failing `-t` (a missing include).
    pub notes: Vec<Diagnostic>,
    /// An error was dropped because the list was full.
    dropped_error: bool,
}

/// Most diagnostics kept: a hostile file cannot make the list (and the
/// duplicate check) grow without bound.
const MAX_DIAGNOSTICS: usize = 500;

impl Diags {
    pub fn warn(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.push(Severity::Warning, Some(pos), msg.into());
    }
    /// A warning of a given `-t` class (the daemon still runs the file).
    pub fn warn_class(&mut self, pos: Option<&Pos>, class: Class, msg: impl Into<String>) {
        self.push_class(Severity::Warning, pos, msg.into(), class);
    }
    /// An error of a given `-t` class.
    pub fn error_class(&mut self, pos: Option<&Pos>, class: Class, msg: impl Into<String>) {
        self.push_class(Severity::Error, pos, msg.into(), class);
    }
    pub fn error(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.push(Severity::Error, Some(pos), msg.into());
    }
    /// Something keepalived 2.2.7 logs without counting it as a problem.
    pub fn note(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.notes.push(Diagnostic {
            severity: Severity::Warning,
            location: Some(pos.to_location()),
            message: msg.into(),
            class: Class::Config,
        });
    }
    fn push(&mut self, severity: Severity, pos: Option<&Pos>, message: String) {
        self.push_class(severity, pos, message, Class::Config)
    }
    fn push_class(&mut self, severity: Severity, pos: Option<&Pos>, message: String, class: Class) {
        if self.list.len() >= MAX_DIAGNOSTICS {
            if severity == Severity::Error {
                self.dropped_error = true;
            }
            if self.list.len() == MAX_DIAGNOSTICS {
                self.list.push(Diagnostic {
                    severity,
                    location: pos.map(Pos::to_location),
                    message: format!(
                        "too many problems: only the first {MAX_DIAGNOSTICS} are shown"
                    ),
                    class,
                });
            }
            return;
        }
        let location = pos.map(Pos::to_location);
        // The same line can be read several times (a `~SEQ` expansion), and
        // one problem is worth one message.
        if self
            .list
            .iter()
            .any(|d| d.severity == severity && d.location == location && d.message == message)
        {
            return;
        }
        // One clear message per problem: a line with an error gets no
        // follow-on warnings about the same text.
        let same_line = |d: &Diagnostic| match (&d.location, &location) {
            (Some(a), Some(b)) => a.file == b.file && a.line == b.line,
            _ => false,
        };
        match severity {
            Severity::Warning => {
                if self
                    .list
                    .iter()
                    .any(|d| d.severity == Severity::Error && same_line(d))
                {
                    return;
                }
            }
            Severity::Error => self
                .list
                .retain(|d| !(d.severity == Severity::Warning && same_line(d))),
        }
        self.list.push(Diagnostic {
            severity,
            location,
            message,
            class,
        });
    }
    /// Is there already an error on the line of `pos`?
    pub fn line_has_error(&self, pos: &Pos) -> bool {
        self.list.iter().any(|d| {
            d.severity == Severity::Error
                && d.location
                    .as_ref()
                    .is_some_and(|l| l.line == pos.line && l.file == *pos.file)
        })
    }
    pub fn has_errors(&self) -> bool {
        self.dropped_error || self.list.iter().any(|d| d.severity == Severity::Error)
    }
}
