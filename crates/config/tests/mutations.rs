//! No input panics: deterministic mutations (byte flips, truncations,
//! brace deletions, duplicated lines, spliced keywords) of every fixture go
//! through `load_str` inside `catch_unwind`, and every error it reports
//! carries a location.

mod common;

use keepalived_config::{load_str, Severity};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// xorshift64: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SPLICE: &[&str] = &[
    "{",
    "}",
    "\"",
    "include ",
    "include /",
    "$X=",
    "$X",
    "${",
    "@",
    "@^",
    "~SEQ(i,1,3)",
    "~SEQ(i,",
    "!",
    "#",
    "\\",
    "999999999999999999999",
    "-1",
    "0",
    "256",
    "::",
    "1.2.3.4/33",
    "vrrp_instance",
    "virtual_server",
    "real_server",
    "HTTP_GET",
    "url",
    "\0",
    "é",
    "\u{202e}",
];

fn mutants(text: &str, seed: u64) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut rng = Rng(seed | 1);
    // Truncations.
    for k in 1..8 {
        out.push(String::from_utf8_lossy(&bytes[..bytes.len() * k / 8]).into_owned());
    }
    // Byte flips.
    for _ in 0..12 {
        let mut b = bytes.to_vec();
        for _ in 0..=rng.below(4) {
            let i = rng.below(b.len());
            if let Some(x) = b.get_mut(i) {
                *x ^= 1 << rng.below(8);
            }
        }
        out.push(String::from_utf8_lossy(&b).into_owned());
    }
    // Brace deletions (each of the first few, and all of one kind).
    let braces: Vec<usize> = text.match_indices(['{', '}']).map(|(i, _)| i).collect();
    for &i in braces.iter().take(6) {
        let mut s = text.to_string();
        s.remove(i);
        out.push(s);
    }
    out.push(text.replace('}', ""));
    out.push(text.replace('{', ""));
    // Duplicated and dropped lines.
    let lines: Vec<&str> = text.lines().collect();
    for _ in 0..6 {
        let i = rng.below(lines.len());
        let mut l = lines.clone();
        if rng.below(2) == 0 {
            l.insert(i, lines[i]);
        } else {
            l.remove(i.min(l.len().saturating_sub(1)));
        }
        out.push(l.join("\n"));
    }
    // Spliced tokens.
    for _ in 0..12 {
        let mut s = text.to_string();
        let mut i = rng.below(s.len());
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.insert_str(i, SPLICE[rng.below(SPLICE.len())]);
        out.push(s);
    }
    // Everything on one line, as web pages do.
    out.push(lines.join(" "));
    out
}

#[test]
fn mutated_fixtures_never_panic_and_errors_have_locations() {
    let opts = common::opts();
    let mut n = 0;
    for (fi, p) in common::all_confs().iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        for (mi, m) in mutants(&text, 0x9e37_79b9_7f4a_7c15 ^ fi as u64)
            .into_iter()
            .enumerate()
        {
            n += 1;
            let r = catch_unwind(AssertUnwindSafe(|| load_str(&m, p, &opts)));
            let r = match r {
                Ok(r) => r,
                Err(_) => panic!("{} mutant {mi} panicked; input:\n{m}", p.display()),
            };
            let diags = match &r {
                Ok(l) => &l.diagnostics,
                Err(e) => &e.diagnostics,
            };
            for d in diags.iter().filter(|d| d.severity == Severity::Error) {
                assert!(
                    d.location.is_some(),
                    "{} mutant {mi}: error without location: {d}",
                    p.display()
                );
            }
        }
    }
    assert!(n > 2000, "only {n} mutants");
}

#[test]
fn hostile_inputs() {
    let opts = common::opts();
    let p = Path::new("/nonexistent/hostile.conf");
    let deep = "a {\n".repeat(10_000);
    let wide = "x ".repeat(200_000);
    let seq = "~SEQ(i,1,1000000000) x\n".to_string();
    let selfref = "$A=$A$A\n$A\n".to_string();
    let exp = "$A=xxxxxxxxxxxxxxxx\n$B=$A$A$A$A$A$A$A$A\n$C=$B$B$B$B$B$B$B$B\n$D=$C$C$C$C$C$C$C$C\n$D$D$D$D\n".to_string();
    for t in [
        deep,
        wide,
        seq,
        selfref,
        exp,
        "\"".into(),
        "{{{{}}}}".into(),
        "}".into(),
        "".into(),
    ] {
        let r = catch_unwind(AssertUnwindSafe(|| load_str(&t, p, &opts)));
        assert!(r.is_ok(), "panicked on {:?}", &t[..t.len().min(80)]);
    }
}
