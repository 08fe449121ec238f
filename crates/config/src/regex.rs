//! HTTP_GET / SSL_GET `regex`: keepalived 2.2.7 matches the body with
//! PCRE2; keepalived-rs with the `regex` crate's linear-time engine, so a
//! hostile or slow real server cannot make a check backtrack for ever.
//! keepalived's `regex_options` map onto the engine's flags; a pattern
//! that needs what a linear-time engine cannot do (look-around,
//! back-references) does not compile, and is refused out loud at load —
//! the check then fails rather than pass without matching.

/// PCRE2 options keepalived reads, and how each applies here: as a flag,
/// or as nothing to do (they only tune PCRE2 itself).
fn option(builder: &mut regex::bytes::RegexBuilder, name: &str) -> Result<(), String> {
    match name {
        "caseless" => builder.case_insensitive(true),
        "multiline" => builder.multi_line(true),
        "dotall" => builder.dot_matches_new_line(true),
        "extended" => builder.ignore_whitespace(true),
        "ungreedy" => builder.swap_greed(true),
        "utf" | "ucp" => builder.unicode(true),
        // Options of PCRE2's own compiler and optimiser: no meaning for
        // this engine, and no effect on what matches.
        "allow_empty_class"
        | "alt_bsux"
        | "auto_callout"
        | "dollar_endonly"
        | "dupnames"
        | "firstline"
        | "match_unset_backref"
        | "never_ucp"
        | "never_utf"
        | "no_auto_capture"
        | "no_auto_possess"
        | "no_dotstar_anchor"
        | "no_start_optimize"
        | "never_backslash_c"
        | "alt_circumflex"
        | "alt_verbnames"
        | "use_offset_limit" => builder,
        other => return Err(format!("unknown regex option '{other}'")),
    };
    Ok(())
}

/// Compile `pattern` as keepalived would with `options`. PCRE2 matches
/// bytes unless told `utf`: so does this, by default.
pub fn compile(pattern: &str, options: &[String]) -> Result<regex::bytes::Regex, String> {
    let mut b = regex::bytes::RegexBuilder::new(pattern);
    b.unicode(false);
    for o in options {
        option(&mut b, o)?;
    }
    // A pattern of a kilobyte cannot make a huge automaton.
    b.size_limit(1 << 20);
    b.build().map_err(|e| {
        let first = e.to_string();
        let first = first.lines().last().unwrap_or("").trim().to_string();
        format!("regex '{pattern}' cannot be used by keepalived-rs's linear-time engine ({first}); the check will fail until it is rewritten")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply() {
        let re = compile("^ok$", &["caseless".into(), "multiline".into()]).unwrap();
        assert!(re.is_match(b"status\nOK\n"));
        assert!(!compile("^ok$", &[]).unwrap().is_match(b"status\nOK\n"));
        assert!(compile("a", &["bogus".into()]).is_err());
    }

    #[test]
    fn what_only_backtracking_can_do_is_refused() {
        let e = compile("(?<=x)y", &[]).unwrap_err();
        assert!(e.contains("linear-time"), "{e}");
        assert!(compile(r"(a)\1", &[]).is_err());
    }

    #[test]
    fn bodies_are_bytes() {
        // Not UTF-8: matched all the same.
        assert!(compile("ok", &[]).unwrap().is_match(b"\xff\xfe ok"));
    }
}
