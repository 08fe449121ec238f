//! keepalived 2.x line preprocessing: `$NAME=value` definitions, `@id` /
//! `@^id` conditional lines and `~SEQ(...)` line generators.
//!
//! These work on raw text before tokenizing, as keepalived does:
//! - `@id rest` keeps `rest` only when `id` is the config id (`-i`, default
//!   the host name); `@^id rest` keeps it only when it is not.
//! - `$NAME=value` defines a parameter (a trailing `\` continues the value
//!   on the next line, giving a multi-line definition); `$NAME` and
//!   `${NAME}` are then replaced; an undefined name is left as written.
//! - `~SEQ(var, end)`, `~SEQ(var, start, end)`, `~SEQ(var, start, step,
//!   end)` repeat the rest of the line with `$var` set to each value.

use crate::diag::{Diags, Pos};
use std::collections::HashMap;

/// Most lines one `~SEQ` may produce: stops a typo from eating memory.
const MAX_SEQ_LINES: i64 = 100_000;
/// Most nested substitutions in one line (a definition using itself).
const MAX_SUBST_DEPTH: usize = 16;
/// Longest a line may grow by substitution.
const MAX_LINE_LEN: usize = 1 << 16;
/// Most replacements in one line (a definition that uses itself grows
/// without end; keepalived stops at its line length).
const MAX_REPLACEMENTS: usize = 1000;

#[derive(Debug, Default)]
pub(crate) struct Defs {
    vars: HashMap<String, Vec<String>>,
    /// A multi-line definition being read: its name.
    continuing: Option<String>,
    config_id: String,
    /// State of `${_RANDOM}` (keepalived seeds from the time).
    rng: u64,
    /// The last substitution ran away (a definition using itself).
    runaway: bool,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The built-in definitions keepalived 2.2.7 provides (overridable).
const BUILTINS: &[&str] = &["_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"];

/// The text of a line without its comment (`!`/`#` outside double
/// quotes, unless escaped) and without trailing blanks.
fn uncomment(s: &str) -> &str {
    let b = s.as_bytes();
    let mut quote = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => quote = !quote,
            b'\\' => i += 1,
            b'!' | b'#' if !quote => return s[..i].trim_end(),
            _ => {}
        }
        i += 1;
    }
    s.trim_end()
}

impl Defs {
    pub fn new(config_id: String) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Defs {
            config_id,
            rng: seed | 1,
            ..Default::default()
        }
    }

    /// Preprocess one raw line; returns the lines to tokenize (none, one, or
    /// several for a `~SEQ`/`~LST` or a multi-line definition).
    pub fn process(&mut self, raw: &str, pos: &Pos, diags: &mut Diags) -> Vec<String> {
        if let Some(name) = self.continuing.clone() {
            let text = uncomment(raw).trim_start();
            let (text, more) = strip_continuation(text);
            if text.is_empty() && !more {
                // A blank line ends a multi-line definition.
                self.continuing = None;
                return Vec::new();
            }
            if let Some(v) = self.vars.get_mut(&name) {
                if !text.trim().is_empty() {
                    v.push(text.trim().to_string());
                }
            }
            if !more {
                self.continuing = None;
            }
            return Vec::new();
        }
        // Most lines: nothing to define, select, repeat or substitute —
        // what `expand` would make of them, without its copies.
        let line = raw.trim_start();
        if !raw.ends_with('\\') && !raw.contains('$') && !line.starts_with(['@', '~']) {
            return vec![padded(raw.len() - line.len(), line)];
        }
        // A line ending in `\`: keepalived drops the blanks (and any
        // comment) before it, so the backslash sticks to the last word
        // (`nopreempt \` reads as the keyword `nopreempt\`).
        let glued;
        let raw = match raw.strip_suffix('\\') {
            Some(body) => {
                glued = format!("{}\\", uncomment(body));
                glued.as_str()
            }
            None => raw,
        };
        let mut out = Vec::new();
        let mut budget = MAX_SEQ_LINES as usize;
        self.expand(raw, pos, diags, &mut out, 0, &mut budget);
        out
    }

    /// One line through keepalived's loop: `@id`, `$NAME=`, `~SEQ`/`~LST`,
    /// then parameter substitution (repeated while the result starts with
    /// `@` or still holds a `$`).
    fn expand(
        &mut self,
        raw: &str,
        pos: &Pos,
        diags: &mut Diags,
        out: &mut Vec<String>,
        depth: usize,
        budget: &mut usize,
    ) {
        if *budget == 0 {
            // Every line read costs one: a self-referencing multi-line
            // definition cannot multiply without end.
            diags.error(
                pos,
                format!("line expands to more than {MAX_SEQ_LINES} lines"),
            );
            return;
        }
        *budget -= 1;
        if depth > MAX_SUBST_DEPTH {
            diags.error(
                pos,
                "parameter substitution nests too deep or grows too long",
            );
            return;
        }
        let mut cur = raw.to_string();
        let mut rounds = 0;
        loop {
            let mut line = cur.trim_start();
            // Keep columns right: what is cut from the front becomes spaces.
            let mut indent = cur.len() - line.len();
            if let Some(rest) = line.strip_prefix('@') {
                let (neg, rest) = match rest.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let Some(end) = rest.find([' ', '\t']) else {
                    // `@id` with nothing after it: dropped.
                    return;
                };
                let id = &rest[..end];
                if (id == self.config_id) == neg {
                    return;
                }
                let kept = rest[end..].trim_start();
                indent += line.len() - kept.len();
                line = kept;
            }
            if self.definition(line) {
                return;
            }
            if line.starts_with("~SEQ") || line.starts_with("~LST") {
                let body_ok = if line.starts_with("~SEQ") {
                    self.seq(line, pos, diags, out, depth, budget)
                } else {
                    self.lst(line, pos, diags, out, depth, budget)
                };
                if !body_ok {
                    let kind = &line[..4];
                    diags.warn(
                        pos,
                        format!("Invalid {kind} specification '{}'", uncomment(line)),
                    );
                }
                return;
            }
            let padded = padded(indent, line);
            if line.starts_with('~') || !line.contains('$') {
                out.push(padded);
                return;
            }
            self.runaway = false;
            let substituted = self.substitute(&padded, pos);
            if self.runaway {
                diags.error(
                    pos,
                    "parameter substitution nests too deep or grows too long",
                );
                return;
            }
            let Some(mut lines) = substituted else {
                out.push(padded);
                return;
            };
            rounds += 1;
            if rounds > MAX_SUBST_DEPTH || lines.iter().any(|l| l.len() > MAX_LINE_LEN) {
                diags.error(
                    pos,
                    "parameter substitution nests too deep or grows too long",
                );
                return;
            }
            let first = lines.remove(0);
            let recheck = first.trim_start().starts_with('@') || first.contains('$');
            if recheck {
                cur = first;
                if lines.is_empty() {
                    continue;
                }
                self.expand(&cur, pos, diags, out, depth + 1, budget);
            } else {
                out.push(first);
            }
            // The other lines of a multi-line definition are read as lines.
            for l in lines {
                self.expand(&l, pos, diags, out, depth + 1, budget);
            }
            return;
        }
    }

    /// `$NAME=value` at the start of a line (no blank before `=`).
    fn definition(&mut self, line: &str) -> bool {
        let Some(def) = line.strip_prefix('$') else {
            return false;
        };
        if !def.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return false;
        }
        let name_len = def.find(|c: char| !is_ident(c)).unwrap_or(def.len());
        let Some(value) = def[name_len..].strip_prefix('=') else {
            return false;
        };
        let name = def[..name_len].to_string();
        let value = uncomment(value).trim_start();
        let (text, more) = strip_continuation(value);
        let first = text.trim_end().to_string();
        self.vars.insert(
            name.clone(),
            if first.is_empty() && more {
                Vec::new()
            } else {
                vec![first]
            },
        );
        if more {
            self.continuing = Some(name);
        }
        true
    }

    fn random(&mut self, min: u64, max: u64) -> String {
        // xorshift64*: only needs to be unpredictable enough for a config.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
        let span = max.saturating_sub(min).saturating_add(1);
        (min + r % span.max(1)).to_string()
    }

    /// The value of a built-in definition.
    fn builtin(&mut self, name: &str, params: &str, pos: &Pos) -> Option<String> {
        Some(match name {
            "_PWD" => {
                let dir = pos.file.parent().unwrap_or(std::path::Path::new("."));
                let dir = if dir.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    dir
                };
                std::fs::canonicalize(dir)
                    .unwrap_or_else(|_| dir.to_path_buf())
                    .display()
                    .to_string()
            }
            "_INSTANCE" => self.config_id.clone(),
            "_RANDOM" => {
                let mut it = params.split_whitespace().map(|w| w.parse::<u64>().ok());
                let min = it.next().flatten().unwrap_or(0);
                let max = match it.next() {
                    Some(v) => v.unwrap_or(32767),
                    None if params.trim().is_empty() => 32767,
                    None => 32767,
                };
                self.random(min, max)
            }
            "_HASH" => "#".into(),
            "_BANG" => "!".into(),
            _ => return None,
        })
    }

    /// keepalived's `replace_param()`: replace each `$NAME` (followed by a
    /// blank, `,`, `)` or the end of the line) and `${NAME}` (anywhere);
    /// a multi-line value only where the reference ends the line, and then
    /// the line becomes several. None when nothing was replaced.
    fn substitute(&mut self, line: &str, pos: &Pos) -> Option<Vec<String>> {
        let mut buf = line.to_string();
        let mut more: Vec<String> = Vec::new();
        let mut found = false;
        let mut i = 0;
        let mut replacements = 0;
        while let Some(off) = buf[i..].find('$') {
            if replacements > MAX_REPLACEMENTS || buf.len() > MAX_LINE_LEN {
                self.runaway = true;
                break;
            }
            let at = i + off;
            let after = &buf[at + 1..];
            if after.is_empty() {
                break;
            }
            let braces = after.starts_with('{');
            let name_part = if braces { &after[1..] } else { after };
            if !name_part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                i = at + 1;
                continue;
            }
            let nlen = name_part
                .find(|c: char| !is_ident(c))
                .unwrap_or(name_part.len());
            let name = name_part[..nlen].to_string();
            let mut tail = &name_part[nlen..];
            let mut params = String::new();
            let consumed;
            if braces {
                let plen = tail
                    .find(|c: char| c != ' ' && !c.is_ascii_digit())
                    .unwrap_or(tail.len());
                params = tail[..plen].to_string();
                if !params.is_empty() && (params.ends_with(' ') || params.trim().is_empty()) {
                    i = at + 1;
                    continue;
                }
                tail = &tail[plen..];
                if !tail.starts_with('}') {
                    i = at + 1;
                    continue;
                }
                tail = &tail[1..];
                consumed = 1 + 1 + nlen + plen + 1;
            } else {
                if !(tail.is_empty() || tail.starts_with([' ', '\t', ',', ')'])) {
                    i = at + 1;
                    continue;
                }
                consumed = 1 + nlen;
            }
            let ends_line = uncomment(tail).trim().is_empty();
            let value: Vec<String> = match self.vars.get(&name) {
                Some(v) => {
                    if !params.is_empty() {
                        i = at + 1;
                        continue;
                    }
                    if v.len() > 1 && !ends_line {
                        i = at + 1;
                        continue;
                    }
                    v.clone()
                }
                None if BUILTINS.contains(&name.as_str()) => {
                    if !params.is_empty() && name != "_RANDOM" {
                        i = at + 1;
                        continue;
                    }
                    vec![self.builtin(&name, &params, pos).unwrap_or_default()]
                }
                None => {
                    i = at + 1;
                    continue;
                }
            };
            found = true;
            replacements += 1;
            let first = value.first().cloned().unwrap_or_default();
            let rest_of_line = buf[at + consumed..].to_string();
            buf.truncate(at);
            buf.push_str(&first);
            buf.push_str(&rest_of_line);
            if value.len() > 1 {
                more = value[1..].to_vec();
            }
            // A value starting with '~' (a `~SEQ` held in a definition)
            // stops the substitution.
            if first.trim_start().starts_with('~') {
                break;
            }
            // The replacement is scanned again from where it starts.
            i = at;
        }
        if !found {
            return None;
        }
        let mut lines = vec![buf];
        lines.extend(more);
        Some(lines)
    }

    /// `~SEQ[x](var, [start, [step,]] end) text`; false when malformed.
    fn seq(
        &mut self,
        line: &str,
        pos: &Pos,
        diags: &mut Diags,
        out: &mut Vec<String>,
        depth: usize,
        budget: &mut usize,
    ) -> bool {
        let line = uncomment(line);
        let mut p = &line[4..];
        let hex = p.starts_with('x');
        if hex {
            p = &p[1..];
        }
        let p = p.trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return false;
        };
        let p = p.trim_start_matches([' ', '\t']);
        let vlen = p.find([' ', '\t', ',', ')']).unwrap_or(p.len());
        let var = p[..vlen].to_string();
        let p = p[vlen..].trim_start_matches([' ', '\t']);
        if var.is_empty() || !p.starts_with(',') {
            return false;
        }
        let p = &p[1..];
        let Some(close) = p.find(')') else {
            return false;
        };
        let mut params = p[..close].to_string();
        if params.contains('$') {
            if let Some(l) = self.substitute(&params, pos) {
                if l.len() > 1 {
                    return false;
                }
                params = l[0].clone();
            }
        }
        let body = p[close + 1..].trim_start_matches([' ', '\t']).to_string();
        let nums: Option<Vec<i64>> = params.split(',').map(|a| strtol0(a.trim())).collect();
        let Some(nums) = nums else {
            return false;
        };
        let (start, step, end) = match nums[..] {
            [e] => (if e < 0 { -1 } else { 1 }, if e < 1 { -1 } else { 1 }, e),
            [s, e] => (s, if s <= e { 1 } else { -1 }, e),
            [s, st, e] => {
                if st == 0 || (s < e && st < 0) || (s > e && st > 0) {
                    diags.warn(pos, format!("Invalid ~SEQ values '{line}'"));
                    return true;
                }
                (s, st, e)
            }
            _ => return false,
        };
        if hex && (start < 0 || end < 0) {
            diags.warn(
                pos,
                format!("~SEQx is only valid for positive numbers '{line}'"),
            );
            return true;
        }
        let count = (end as i128 - start as i128) / step as i128 + 1;
        if count > *budget as i128 {
            diags.error(
                pos,
                format!(
                    "~SEQ would produce {count} lines: one line may expand to at most {MAX_SEQ_LINES}"
                ),
            );
            return true;
        }
        let mut v = start;
        loop {
            let val = if hex {
                format!("{:x}", v)
            } else {
                v.to_string()
            };
            self.vars.insert(var.clone(), vec![val]);
            self.expand(&body, pos, diags, out, depth + 1, budget);
            let Some(n) = v.checked_add(step) else { break };
            v = n;
            if (step > 0 && v > end) || (step < 0 && v < end) {
                break;
            }
        }
        true
    }

    /// `~LST(var, v1, v2, ...) text` or `~LST({a, b}, {v1, v2}, ...) text`.
    fn lst(
        &mut self,
        line: &str,
        pos: &Pos,
        diags: &mut Diags,
        out: &mut Vec<String>,
        depth: usize,
        budget: &mut usize,
    ) -> bool {
        let line = uncomment(line);
        let p = line[4..].trim_start_matches([' ', '\t']);
        let Some(p) = p.strip_prefix('(') else {
            return false;
        };
        let Some(close) = p.find(')') else {
            return false;
        };
        let inner = &p[..close];
        let body = p[close + 1..].trim_start_matches([' ', '\t']).to_string();
        // Split into groups: `{a, b}` or single words, separated by commas.
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('{') {
                let Some(e) = r.find('}') else { return false };
                groups.push(r[..e].split(',').map(|w| w.trim().to_string()).collect());
                rest = r[e + 1..].trim_start();
                match rest.strip_prefix(',') {
                    Some(r) => rest = r.trim_start(),
                    None if rest.is_empty() => {}
                    None => return false,
                }
            } else {
                let e = rest.find(',').unwrap_or(rest.len());
                groups.push(vec![rest[..e].trim().to_string()]);
                rest = rest[e..].strip_prefix(',').unwrap_or("").trim_start();
            }
        }
        if groups.len() < 2 {
            return false;
        }
        let vars = groups.remove(0);
        if vars.iter().any(|v| v.is_empty()) {
            return false;
        }
        // `~LST(var, v1, v2)`: each single word is one value set.
        for set in &groups {
            if set.len() > vars.len() {
                diags.warn(
                    pos,
                    format!("~LST specification has too many values '{line}'"),
                );
                return true;
            }
        }
        if groups.len() > *budget {
            return true;
        }
        for set in groups {
            for (i, v) in vars.iter().enumerate() {
                self.vars
                    .insert(v.clone(), vec![set.get(i).cloned().unwrap_or_default()]);
            }
            self.expand(&body, pos, diags, out, depth + 1, budget);
        }
        true
    }
}

/// `strtol(s, &end, 0)` that must consume the whole word: decimal, `0x`
/// hex or `0` octal, with an optional sign.
fn strtol0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn strip_continuation(s: &str) -> (&str, bool) {
    let t = s.trim_end();
    match t.strip_suffix('\\') {
        Some(x) => (x.trim_end(), true),
        None => (t, false),
    }
}

/// `line` with the `indent` characters cut from its front as spaces (the
/// columns of what follows stay right).
fn padded(indent: usize, line: &str) -> String {
    let mut s = String::with_capacity(indent + line.len());
    s.extend(std::iter::repeat_n(' ', indent));
    s.push_str(line);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn run(id: &str, lines: &[&str]) -> Vec<String> {
        let mut d = Defs::new(id.into());
        let mut g = Diags::default();
        let p = Pos {
            file: Arc::new(PathBuf::from("t")),
            line: 1,
            col: 1,
        };
        lines
            .iter()
            .flat_map(|l| d.process(l, &p, &mut g))
            .map(|s| s.trim().to_string())
            .collect()
    }

    #[test]
    fn matches_keepalived_2_2_7() {
        assert_eq!(run("x", &["~SEQ(i,3) a_$i"]), ["a_1", "a_2", "a_3"]);
        assert_eq!(
            run("x", &["~SEQ(i,2,6) b$i"]),
            ["b2", "b3", "b4", "b5", "b6"]
        );
        assert_eq!(run("x", &["~SEQ(i,6,-2,1) d_$i"]), ["d_6", "d_4", "d_2"]);
        assert_eq!(
            run("x", &["$X=hello", "$Y=${X}_w", "$Y ${X}x"]),
            ["hello_w hellox"]
        );
        assert_eq!(run("x", &["$Z=a \\", "b", "q$Z"]), ["qa", "b"]);
        assert_eq!(run("x", &["$UNDEF"]), ["$UNDEF"]);
        assert_eq!(
            run("bar", &["@bar g", "@^bar h", " @^ka f", "@ka e"]),
            ["g", "f"]
        );
    }
}
