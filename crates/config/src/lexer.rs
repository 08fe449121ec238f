//! Splitting one line into tokens, the way keepalived's line reader does.
//!
//! Rules: whitespace separates tokens; `!` or `#` anywhere outside quotes
//! comments out the rest of the line (`x#y` reads as `x`, as in 2.2.7); `"..."` is one token
//! that may hold spaces (`\"` and `\\` escape inside it); `{` and `}` are
//! tokens of their own even when glued to a word (`VI_1{`).

use crate::diag::{Diags, Pos};
use std::path::PathBuf;
use std::sync::Arc;

/// One token with the place it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub text: String,
    /// Written in quotes: never a brace or a comment, even if it looks like one.
    pub quoted: bool,
    pub pos: Pos,
}

impl Token {
    pub fn is_open(&self) -> bool {
        !self.quoted && self.text == "{"
    }
    pub fn is_close(&self) -> bool {
        !self.quoted && self.text == "}"
    }
}

/// Tokenize `text` (one logical line) found at `file:line`.
///
/// One pass over the characters, each unquoted token copied once from the
/// line (it runs for every line of a 100,000-line file: no per-line
/// character vector, no token grown a character at a time).
pub(crate) fn tokenize(
    text: &str,
    file: &Arc<PathBuf>,
    line: u32,
    diags: &mut Diags,
) -> Vec<Token> {
    let mut out = Vec::with_capacity(4);
    // (byte offset, character column from 0, character)
    let mut chars = text
        .char_indices()
        .enumerate()
        .map(|(col, (at, c))| (at, col, c))
        .peekable();
    let pos = |col: usize| Pos {
        file: file.clone(),
        line,
        col: u32::try_from(col + 1).unwrap_or(u32::MAX),
    };
    while let Some((at, col, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '!' || c == '#' {
            break;
        }
        if c == '{' || c == '}' {
            out.push(Token {
                text: if c == '{' { "{" } else { "}" }.to_string(),
                quoted: false,
                pos: pos(col),
            });
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            let mut closed = false;
            while let Some((_, _, ch)) = chars.next() {
                match ch {
                    '\\' if matches!(chars.peek(), Some((_, _, '"' | '\\'))) => {
                        if let Some((_, _, escaped)) = chars.next() {
                            s.push(escaped);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    ch => s.push(ch),
                }
            }
            if !closed {
                diags.error(&pos(col), "unterminated quoted string");
            }
            out.push(Token {
                text: s,
                quoted: true,
                pos: pos(col),
            });
            continue;
        }
        let mut end = at + c.len_utf8();
        while let Some(&(next_at, _, ch)) = chars.peek() {
            if ch.is_whitespace() || matches!(ch, '{' | '}' | '!' | '#') {
                break;
            }
            end = next_at + ch.len_utf8();
            chars.next();
        }
        out.push(Token {
            text: text[at..end].to_string(),
            quoted: false,
            pos: pos(col),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let mut d = Diags::default();
        let f = Arc::new(PathBuf::from("t"));
        tokenize(s, &f, 1, &mut d)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn splits_braces_comments_quotes() {
        assert_eq!(
            toks("vrrp_instance VI_1{ # c"),
            ["vrrp_instance", "VI_1", "{"]
        );
        assert_eq!(toks("script \"a b\" ! x"), ["script", "a b"]);
        assert_eq!(
            toks("  virtual_ipaddress { 10.0.0.1 }"),
            ["virtual_ipaddress", "{", "10.0.0.1", "}"]
        );
        assert_eq!(toks("a \"q\\\"x\""), ["a", "q\"x"]);
        assert_eq!(toks("x#y"), ["x"]);
    }

    #[test]
    fn columns_count_characters_and_escapes_end_where_they_should() {
        let mut d = Diags::default();
        let f = Arc::new(PathBuf::from("t"));
        let t = tokenize("é \"a\\\\b\" x\"y{", &f, 4, &mut d);
        let got: Vec<(&str, bool, u32)> = t
            .iter()
            .map(|t| (t.text.as_str(), t.quoted, t.pos.col))
            .collect();
        assert_eq!(
            got,
            [
                ("é", false, 1),
                ("a\\b", true, 3),
                ("x\"y", false, 10),
                ("{", false, 13)
            ]
        );
        assert!(!d.has_errors());
        let t = tokenize("a \"open", &f, 5, &mut d);
        assert_eq!(t[1].text, "open");
        assert!(d.has_errors());
    }
}
