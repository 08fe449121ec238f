//! Reading files into one stream of token lines: preprocessing (see
//! `defs`), tokenizing, and `include` expansion.
//!
//! `include PATTERN` may appear on any line (keepalived expands it while
//! reading lines, even inside a block). A relative pattern is taken
//! relative to the directory of the file that includes it. Loops (a file
//! including itself directly or not) and nesting deeper than
//! [`MAX_INCLUDE_DEPTH`] are refused with the location of the `include`.

use crate::defs::Defs;
use crate::diag::{Diags, Pos};
use crate::glob;
use crate::lexer::{tokenize, Token};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Deepest chain of includes accepted.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 32;
/// Most lines the whole configuration may have after expansion.
const MAX_TOTAL_LINES: usize = 2_000_000;

pub(crate) struct Reader<'a> {
    defs: Defs,
    diags: &'a mut Diags,
    /// Canonical paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
    pub lines: Vec<Vec<Token>>,
    overflow: bool,
}

impl<'a> Reader<'a> {
    pub fn new(config_id: String, diags: &'a mut Diags) -> Self {
        Reader {
            defs: Defs::new(config_id),
            diags,
            stack: Vec::new(),
            lines: Vec::new(),
            overflow: false,
        }
    }

    /// Read the main file; an unreadable main file is an error without a line.
    pub fn read_main(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                self.stack.push(canonical(path));
                self.read_text(&text, path);
                self.stack.pop();
            }
            Err(e) => self.diags.error_noloc(format!(
                "cannot read configuration file {}: {e}",
                path.display()
            )),
        }
    }

    /// Read `text` as if it were the file `path` (includes are relative to it).
    pub fn read_text(&mut self, text: &str, path: &Path) {
        let file = Arc::new(path.to_path_buf());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (n, raw) in text.lines().enumerate() {
            if self.overflow {
                return;
            }
            let pos = Pos {
                file: file.clone(),
                line: u32::try_from(n + 1).unwrap_or(u32::MAX),
                col: 1,
            };
            for l in self.defs.process(raw, &pos, self.diags) {
                if let Some(toks) = include_line(&l, &file, pos.line) {
                    self.include(&toks, &dir);
                    continue;
                }
                let toks = tokenize(&l, &file, pos.line, self.diags);
                if toks.is_empty() {
                    continue;
                }
                if self.lines.len() >= MAX_TOTAL_LINES {
                    self.overflow = true;
                    self.diags.error(
                        &pos,
                        format!("configuration exceeds {MAX_TOTAL_LINES} lines"),
                    );
                    return;
                }
                self.lines.push(toks);
            }
        }
    }

    fn include(&mut self, toks: &[Token], dir: &Path) {
        let at = &toks[0].pos;
        let Some(pat) = toks.get(1) else {
            self.diags
                .error(at, "'include' needs a file name or pattern");
            return;
        };
        if let Some(extra) = toks.get(2) {
            self.diags.warn(
                &extra.pos,
                format!("ignoring extra argument '{}' after include", extra.text),
            );
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.error(
                &pat.pos,
                format!(
                    "includes nested deeper than {MAX_INCLUDE_DEPTH}: not reading '{}'",
                    pat.text
                ),
            );
            return;
        }
        let mut files = Vec::new();
        for p in glob::expand_braces(&pat.text) {
            let p = PathBuf::from(p);
            let full = if p.is_absolute() { p } else { dir.join(p) };
            files.extend(glob::glob(&full));
        }
        if files.is_empty() {
            // keepalived 2.2.7 logs "Config files missing" but neither
            // fails `-t` nor stops: a note, not a warning.
            self.diags
                .note(&pat.pos, format!("include: no file matches '{}'", pat.text));
            return;
        }
        for f in files {
            if f.is_dir() {
                self.diags.error(
                    &pat.pos,
                    format!(
                        "cannot read included file '{}': it is a directory",
                        f.display()
                    ),
                );
                continue;
            }
            let c = canonical(&f);
            if self.stack.contains(&c) {
                self.diags.error(
                    &pat.pos,
                    format!("include loop: '{}' is already being read", f.display()),
                );
                continue;
            }
            match std::fs::read(&f) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    self.stack.push(c);
                    self.read_text(&text, &f);
                    self.stack.pop();
                }
                Err(e) => self.diags.error(
                    &pat.pos,
                    format!("cannot read included file '{}': {e}", f.display()),
                ),
            }
        }
    }
}

/// `include PATTERN`: the pattern is read raw (up to whitespace, or in
/// quotes), since csh braces `{a,b}` would otherwise split into tokens.
fn include_line(l: &str, file: &Arc<PathBuf>, line: u32) -> Option<Vec<Token>> {
    let body = l.trim_start();
    let rest = body.strip_prefix("include")?;
    if !rest.starts_with(char::is_whitespace) && !rest.is_empty() {
        return None;
    }
    let indent = l.len() - body.len();
    let col = |byte: usize| u32::try_from(l[..byte].chars().count() + 1).unwrap_or(u32::MAX);
    let pos = |byte: usize| Pos {
        file: file.clone(),
        line,
        col: col(byte),
    };
    let mut toks = vec![Token {
        text: "include".into(),
        quoted: false,
        pos: pos(indent),
    }];
    let arg = rest.trim_start();
    let start = l.len() - arg.len();
    if arg.is_empty() || arg.starts_with(['!', '#']) {
        return Some(toks);
    }
    let (text, quoted, end) = if let Some(q) = arg.strip_prefix('"') {
        let e = q.find('"').unwrap_or(q.len());
        (q[..e].to_string(), true, 1 + (e + 1).min(q.len()))
    } else {
        let e = arg.find(char::is_whitespace).unwrap_or(arg.len());
        (arg[..e].to_string(), false, e)
    };
    toks.push(Token {
        text,
        quoted,
        pos: pos(start),
    });
    let tail = arg[end.min(arg.len())..].trim_start();
    if !tail.is_empty() && !tail.starts_with(['!', '#']) {
        toks.push(Token {
            text: tail.split_whitespace().next().unwrap_or("").to_string(),
            quoted: false,
            pos: pos(l.len() - tail.len()),
        });
    }
    Some(toks)
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
