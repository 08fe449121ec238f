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
pub(crate) fn tokenize(
    text: &str,
    file: &Arc<PathBuf>,
    line: u32,
    diags: &mut Diags,
) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let pos = |i: usize| Pos {
        file: file.clone(),
        line,
        col: u32::try_from(i + 1).unwrap_or(u32::MAX),
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '!' || c == '#' {
            break;
        }
        if c == '{' || c == '}' {
            out.push(Token {
                text: c.to_string(),
                quoted: false,
                pos: pos(i),
            });
            i += 1;
            continue;
        }
        let start = i;
        if c == '"' {
            i += 1;
            let mut s = String::new();
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() && matches!(chars[i + 1], '"' | '\\') => {
                        s.push(chars[i + 1]);
                        i += 2;
                    }
                    '"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    ch => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            if !closed {
                diags.error(&pos(start), "unterminated quoted string");
            }
            out.push(Token {
                text: s,
                quoted: true,
                pos: pos(start),
            });
            continue;
        }
        let mut s = String::new();
        while i < chars.len()
            && !chars[i].is_whitespace()
            && !matches!(chars[i], '{' | '}' | '!' | '#')
        {
            s.push(chars[i]);
            i += 1;
        }
        out.push(Token {
            text: s,
            quoted: false,
            pos: pos(start),
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
}
