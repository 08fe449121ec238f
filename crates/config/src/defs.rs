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
const MAX_LINE_LEN: usize = 1 << 20;

#[derive(Debug, Default)]
pub(crate) struct Defs {
    vars: HashMap<String, Vec<String>>,
    /// A multi-line definition being read: its name.
    continuing: Option<String>,
    config_id: String,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Defs {
    pub fn new(config_id: String) -> Self {
        Defs {
            config_id,
            ..Default::default()
        }
    }

    /// Preprocess one raw line; returns the lines to tokenize (none, one, or
    /// several for a `~SEQ` or a multi-line definition).
    pub fn process(&mut self, raw: &str, pos: &Pos, diags: &mut Diags) -> Vec<String> {
        if let Some(name) = self.continuing.clone() {
            let (text, more) = strip_continuation(raw);
            if let Some(v) = self.vars.get_mut(&name) {
                v.push(text.trim().to_string());
            }
            if !more {
                self.continuing = None;
            }
            return Vec::new();
        }
        let mut line = raw.trim_start();
        // Keep columns right: what is cut from the front becomes spaces.
        let mut indent = raw.len() - line.len();
        if let Some(rest) = line.strip_prefix('@') {
            let (neg, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let id = &rest[..end];
            let matches = id == self.config_id;
            if matches == neg {
                return Vec::new();
            }
            let kept = rest[end..].trim_start();
            indent += line.len() - kept.len();
            line = kept;
        }
        if let Some(def) = line.strip_prefix('$') {
            let name_len = def.find(|c: char| !is_ident(c)).unwrap_or(def.len());
            let after = &def[name_len..];
            if name_len > 0 && after.trim_start().starts_with('=') {
                let name = def[..name_len].to_string();
                let value = after.trim_start()[1..].to_string();
                let (text, more) = strip_continuation(&value);
                self.vars
                    .insert(name.clone(), vec![text.trim().to_string()]);
                if more {
                    self.continuing = Some(name);
                }
                return Vec::new();
            }
        }
        let padded = format!("{}{line}", " ".repeat(indent));
        let lines = match self.substitute(&padded, 0) {
            Some(l) => l,
            None => {
                diags.error(
                    pos,
                    "parameter substitution nests too deep or grows too long",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for l in lines {
            let t = l.trim_start();
            if let Some(rest) = t.strip_prefix("~SEQ(") {
                self.expand_seq(rest, pos, diags, &mut out);
            } else {
                out.push(l);
            }
        }
        out
    }

    /// Replace `$NAME` / `${NAME}`; a multi-line value splits the line.
    fn substitute(&self, line: &str, depth: usize) -> Option<Vec<String>> {
        if !line.contains('$') {
            return Some(vec![line.to_string()]);
        }
        if depth > MAX_SUBST_DEPTH || line.len() > MAX_LINE_LEN {
            return None;
        }
        let mut lines: Vec<String> = vec![String::new()];
        let mut changed = false;
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            let cur = lines.last_mut()?;
            cur.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, consumed) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(e) => (&b[..e], e + 2),
                    None => ("", 0),
                }
            } else {
                let n = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
                (&after[..n], n)
            };
            match self.vars.get(name).filter(|_| !name.is_empty()) {
                Some(value) => {
                    changed = true;
                    let mut first = true;
                    for v in value {
                        if !first {
                            lines.push(String::new());
                        }
                        first = false;
                        lines.last_mut()?.push_str(v);
                    }
                    rest = &after[consumed..];
                }
                None => {
                    lines.last_mut()?.push('$');
                    rest = after;
                }
            }
        }
        lines.last_mut()?.push_str(rest);
        if !changed {
            return Some(lines);
        }
        let mut out = Vec::new();
        for l in lines {
            out.extend(self.substitute(&l, depth + 1)?);
        }
        Some(out)
    }

    fn expand_seq(&self, rest: &str, pos: &Pos, diags: &mut Diags, out: &mut Vec<String>) {
        let Some(close) = rest.find(')') else {
            diags.error(pos, "~SEQ without closing ')'");
            return;
        };
        let args: Vec<&str> = rest[..close].split(',').map(str::trim).collect();
        let body = &rest[close + 1..];
        let nums: Option<Vec<i64>> = args.iter().skip(1).map(|a| a.parse().ok()).collect();
        let var = args.first().copied().unwrap_or("");
        let (start, step, end) = match nums.as_deref() {
            Some([e]) => (1, 1, *e),
            Some([s, e]) => (*s, 1, *e),
            Some([s, st, e]) => (*s, *st, *e),
            _ => {
                diags.error(
                    pos,
                    "~SEQ needs (var, [start, [step,]] end) with integer bounds",
                );
                return;
            }
        };
        if var.is_empty() || !var.chars().all(is_ident) || step == 0 {
            diags.error(pos, "~SEQ needs a variable name and a non-zero step");
            return;
        }
        let count = (end - start) / step + 1;
        if count > MAX_SEQ_LINES {
            diags.error(
                pos,
                format!("~SEQ would produce {count} lines (limit {MAX_SEQ_LINES})"),
            );
            return;
        }
        let mut v = start;
        while (step > 0 && v <= end) || (step < 0 && v >= end) {
            let mut d = Defs {
                vars: self.vars.clone(),
                ..Default::default()
            };
            d.vars.insert(var.to_string(), vec![v.to_string()]);
            match d.substitute(body, 0) {
                Some(ls) => out.extend(ls),
                None => {
                    diags.error(
                        pos,
                        "parameter substitution nests too deep or grows too long",
                    );
                    return;
                }
            }
            v = match v.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
    }
}

fn strip_continuation(s: &str) -> (&str, bool) {
    let t = s.trim_end();
    match t.strip_suffix('\\') {
        Some(x) => (x, true),
        None => (t, false),
    }
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
