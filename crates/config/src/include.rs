//! Reading files into one stream of token lines: preprocessing (see
//! `defs`), tokenizing, and `include` expansion.
//!
//! `include PATTERN` may appear on any line (keepalived expands it while
//! reading lines, even inside a block). A relative pattern is taken
//! relative to the directory of the file that includes it. Loops (a file
//! including itself directly or not) and nesting deeper than
//! [`MAX_INCLUDE_DEPTH`] are refused with the location of the `include`.

use crate::defs::Defs;
use crate::diag::{Class, Diags, Pos};
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
    /// `include_check` bits in force.
    include_check: u8,
}

/// keepalived's include check bits: read problems, a missing file, a
/// wildcard matching nothing, a missing brace alternative.
const INC_R: u8 = 1;
const INC_M: u8 = 2;
const INC_W: u8 = 4;
const INC_B: u8 = 8;

impl<'a> Reader<'a> {
    pub fn new(config_id: String, diags: &'a mut Diags) -> Self {
        Reader {
            defs: Defs::new(config_id),
            diags,
            stack: Vec::new(),
            lines: Vec::new(),
            overflow: false,
            include_check: 0,
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
            // keepalived exits 4 for a missing main file.
            Err(e) => self.diags.error_class(
                None,
                Class::Fatal,
                format!("cannot read configuration file {}: {e}", path.display()),
            ),
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
                if !self.line(&l, &file, &dir, &pos, false, 0) {
                    return;
                }
            }
        }
    }

    /// One preprocessed line. keepalived splits a line after its first
    /// `{` or `}` and reads the rest again as a line of its own (so a
    /// `~SEQ`, `$NAME=`, `@id` or `include` can follow a brace); the rest's
    /// tokens stay on the same token line (`append`), which is how the
    /// block tree knows they shared a line. False when the configuration
    /// is too large to go on.
    fn line(
        &mut self,
        l: &str,
        file: &Arc<PathBuf>,
        dir: &Path,
        pos: &Pos,
        append: bool,
        depth: usize,
    ) -> bool {
        if let Some((toks, kind)) = include_line(l, file, pos.line) {
            self.include(&toks, dir, kind);
            return true;
        }
        let (head, rest) = match split_after_brace(l) {
            Some(i) if depth < MAX_RESIDUE_DEPTH => (&l[..i], Some(&l[i..])),
            _ => (l, None),
        };
        let toks = tokenize(head, file, pos.line, self.diags);
        let mut appended = append;
        if !toks.is_empty() {
            if toks[0].text == "include_check" && !append {
                self.include_check(&toks);
            }
            match self.lines.last_mut().filter(|_| append) {
                Some(last) => last.extend(toks),
                None => {
                    if self.lines.len() >= MAX_TOTAL_LINES {
                        self.overflow = true;
                        self.diags.error(
                            pos,
                            format!("configuration exceeds {MAX_TOTAL_LINES} lines"),
                        );
                        return false;
                    }
                    self.lines.push(toks);
                }
            }
            appended = true;
        }
        if let Some(rest) = rest.filter(|r| !r.trim().is_empty()) {
            // Keep columns: the part before becomes spaces.
            let padded = format!("{}{rest}", " ".repeat(head.chars().count()));
            for (i, r) in self
                .defs
                .process(&padded, pos, self.diags)
                .iter()
                .enumerate()
            {
                if !self.line(r, file, dir, pos, appended && i == 0, depth + 1) {
                    return false;
                }
            }
        }
        true
    }

    /// `include_check [WORD...]` (global_defs): which include problems
    /// fail the configuration from here on (keepalived applies it while
    /// reading, to the includes that follow).
    fn include_check(&mut self, toks: &[Token]) {
        if toks.len() < 2 {
            self.include_check = INC_R | INC_M | INC_W | INC_B;
            return;
        }
        for (i, t) in toks.iter().enumerate().skip(1) {
            let (op, word) = match t.text.as_bytes().first() {
                Some(b'-') => (-1, &t.text[1..]),
                Some(b'+') => (1, &t.text[1..]),
                _ => (0, t.text.as_str()),
            };
            if op == 0 && i > 1 {
                self.diags.warn(
                    &t.pos,
                    format!("Duplicate include_check '{}' specified - ignoring", t.text),
                );
                continue;
            }
            let flag = match word {
                "read" => INC_R,
                "match" => INC_M,
                "wildcard_match" => INC_W,
                "brace_match" => INC_B,
                _ => {
                    self.diags.warn(
                        &t.pos,
                        format!("Unknown include_check type '{word}' - ignoring"),
                    );
                    if op == 0 {
                        self.include_check = 0;
                    }
                    continue;
                }
            };
            match op {
                0 => self.include_check = INC_R | flag,
                1 => self.include_check |= flag,
                _ => self.include_check &= !flag,
            }
        }
    }

    /// An include problem of kind `bit`: fails the configuration (exit 6,
    /// keepalived does not start) when the include type or `include_check`
    /// asks for that check, otherwise only logged.
    fn include_problem(&mut self, kind: u8, bit: u8, pos: &Pos, msg: String) {
        if (kind | self.include_check) & bit != 0 {
            self.diags.error_class(Some(pos), Class::IncludeCheck, msg);
        } else {
            self.diags.note(pos, msg);
        }
    }

    fn include(&mut self, toks: &[Token], dir: &Path, kind: u8) {
        let at = &toks[0].pos;
        let Some(pat) = toks.get(1) else {
            self.diags.error(
                at,
                format!("'{}' needs a file name or pattern", toks[0].text),
            );
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
        let mut missing = false;
        for p in glob::expand_braces(&pat.text) {
            let p = PathBuf::from(p);
            let full = if p.is_absolute() { p } else { dir.join(p) };
            let found = glob::glob(&full);
            if found.is_empty() && glob::is_missing(&full) {
                missing = true;
            }
            files.extend(found);
        }
        let braces = pat.text.contains('{');
        if files.is_empty() {
            if missing {
                let bit = if braces { INC_B } else { INC_M };
                self.include_problem(
                    kind,
                    bit,
                    &pat.pos,
                    format!("Config files missing '{}'.", pat.text),
                );
            } else {
                self.include_problem(
                    kind,
                    INC_W,
                    &pat.pos,
                    format!("No config files matched '{}'.", pat.text),
                );
            }
            return;
        }
        if missing {
            self.include_problem(
                kind,
                INC_B,
                &pat.pos,
                format!("Some config files missing: \"{}\".", pat.text),
            );
            if (kind | self.include_check) & INC_B != 0 {
                return;
            }
        }
        for f in files {
            if f.is_dir() {
                self.include_problem(
                    kind,
                    INC_R,
                    &pat.pos,
                    format!(
                        "Configuration file '{}' is a directory - skipping",
                        f.display()
                    ),
                );
                continue;
            }
            let regular = std::fs::metadata(&f).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 == 0
            });
            if !regular {
                self.include_problem(
                    kind,
                    INC_R,
                    &pat.pos,
                    format!(
                        "Configuration file '{}' is not a regular non-executable file - skipping",
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
                    // keepalived restores include_check at the end of each file.
                    let saved = self.include_check;
                    self.read_text(&text, &f);
                    self.include_check = saved;
                    self.stack.pop();
                }
                Err(e) => self.include_problem(
                    kind,
                    INC_R,
                    &pat.pos,
                    format!("cannot read included file '{}': {e}", f.display()),
                ),
            }
        }
    }
}

/// Deepest re-reading of what follows a brace on one line.
const MAX_RESIDUE_DEPTH: usize = 64;

/// Where the rest of a line starts after its first brace outside quotes
/// and comments (None when there is no brace or nothing follows it).
fn split_after_brace(l: &str) -> Option<usize> {
    let mut quote = false;
    for (i, c) in l.char_indices() {
        match c {
            '"' => quote = !quote,
            '!' | '#' if !quote => return None,
            '{' | '}' if !quote => {
                let after = i + 1;
                return (!l[after..].trim().is_empty()).then_some(after);
            }
            _ => {}
        }
    }
    None
}

/// `include PATTERN`: the pattern is read raw (up to whitespace, or in
/// quotes), since csh braces `{a,b}` would otherwise split into tokens.
fn include_line(l: &str, file: &Arc<PathBuf>, line: u32) -> Option<(Vec<Token>, u8)> {
    let body = l.trim_start();
    let mut rest = body.strip_prefix("include")?;
    let mut kind = 0;
    let mut word = "include";
    if let Some(c) = rest.chars().next().filter(|c| !c.is_whitespace()) {
        kind = match c {
            'r' => INC_R,
            'm' => INC_R | INC_M,
            'w' => INC_R | INC_M | INC_W,
            'b' => INC_R | INC_B,
            'a' => INC_R | INC_M | INC_W | INC_B,
            _ => return None,
        };
        word = &body[..8];
        rest = &rest[1..];
    }
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
        text: word.into(),
        quoted: false,
        pos: pos(indent),
    }];
    let arg = rest.trim_start();
    let start = l.len() - arg.len();
    if arg.is_empty() || arg.starts_with(['!', '#']) {
        return Some((toks, kind));
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
    Some((toks, kind))
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
