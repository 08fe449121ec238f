//! The small part of glob(7) that keepalived's `include` uses: `*`, `?`,
//! `[...]` (with `!`/`^` negation and ranges) within one path component,
//! and csh-style `{a,b}` alternatives anywhere in the pattern.

use std::path::{Path, PathBuf};

/// Most alternatives a brace pattern may expand to.
const MAX_BRACE_EXPANSIONS: usize = 256;

/// Expand `{a,b}` alternatives (nested braces allowed).
pub(crate) fn expand_braces(pat: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pat, &mut out);
    out
}

fn expand_into(pat: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_BRACE_EXPANSIONS {
        return;
    }
    let Some(open) = pat.find('{') else {
        out.push(pat.to_string());
        return;
    };
    let bytes = pat.as_bytes();
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(pat.to_string());
        return;
    };
    let (pre, post) = (&pat[..open], &pat[close + 1..]);
    let mut start = open + 1;
    for end in commas.into_iter().chain(std::iter::once(close)) {
        let alt = &pat[start..end];
        expand_into(&format!("{pre}{alt}{post}"), out);
        start = end + 1;
    }
}

/// Does `name` match the one-component pattern `pat`?
pub(crate) fn match_component(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Hidden files match only an explicit leading dot, as in glob(3).
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    // Iterative matcher with single-star backtracking: linear-ish, no recursion.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Match a `[...]` class at the start of `p`; returns (matched, pattern length).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some('!' | '^'));
    if neg {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((found != neg, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                found = true;
            }
            i += 1;
        }
    }
    None
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A pattern that matched nothing because a literal part of it is
/// missing (glob(3)'s "missing files/directories"), rather than a
/// wildcard matching no name.
pub(crate) fn is_missing(pattern: &Path) -> bool {
    let mut prefix = PathBuf::new();
    let comps: Vec<_> = pattern.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        let s = comp.as_os_str().to_string_lossy();
        if has_magic(&s) {
            // A literal last component after a wildcard directory.
            return !prefix.as_os_str().is_empty() && !prefix.exists()
                || (i + 1 < comps.len()
                    && !has_magic(&comps[comps.len() - 1].as_os_str().to_string_lossy()));
        }
        prefix.push(comp.as_os_str());
    }
    true
}

/// Files matching `pattern` (already brace-expanded), sorted like glob(3).
pub(crate) fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let s = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &current {
            if has_magic(&s) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| match_component(&s, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                next.push(base.join(comp.as_os_str()));
            }
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current.retain(|p| !p.as_os_str().is_empty() && p.exists());
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_braces() {
        assert!(match_component("*.conf", "a.conf"));
        assert!(!match_component("*.conf", ".a.conf"));
        assert!(match_component("vi_[0-9]?.c*", "vi_12.conf"));
        assert!(!match_component("[!a]*", "abc"));
        assert_eq!(expand_braces("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
    }
}
