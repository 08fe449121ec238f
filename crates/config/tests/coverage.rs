//! The corpus together uses every keyword the reader knows.

mod common;

fn corpus_text() -> String {
    let mut text = String::new();
    let mut dirs = vec![common::fixtures().join("config")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                text.push('\n');
            }
        }
    }
    text
}

#[test]
fn every_known_keyword_is_in_the_corpus() {
    let text = corpus_text();
    let used = |kw: &str| {
        text.lines().any(|l| {
            let l = l.trim_start();
            l.strip_prefix(kw)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '{']))
        })
    };
    let mut missing = Vec::new();
    for (block, kws) in keepalived_config::keywords() {
        for kw in kws {
            if !used(kw) {
                missing.push(format!("{block}: {kw}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keywords no corpus file uses:\n{}",
        missing.join("\n")
    );
}
