//! How keepalived splits a script line into the program and its
//! arguments: whitespace separates, single or double quotes group, a
//! backslash escapes. checkerd runs scripts with this argv, and the parent
//! checks requests to run a script as another user against it.

/// Split a script line into argv.
pub fn split(line: &str) -> Vec<String> {
    let mut argv = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    argv.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        argv.push(cur);
    }
    argv
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            super::split(r#"/bin/sh -c "echo 'a b'" x\ y ''"#),
            vec!["/bin/sh", "-c", "echo 'a b'", "x y", ""]
        );
    }
}
