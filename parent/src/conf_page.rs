//! `keepalived.conf(5)` for keepalived-rs, generated (`--generate-docs`)
//! from the reader's own keyword tables and the not-implemented table
//! (`keepalived_config::support`), so the page lists exactly what the
//! parser reads and cannot drift from it. What each keyword means is
//! keepalived's: the page says where keepalived-rs differs.

use keepalived_config::support::{lookup, UNSUPPORTED_BLOCKS};
use roff::{bold, italic, roman, Roff};
use std::path::Path;

pub fn render() -> String {
    let version = format!("keepalived-rs {}", env!("CARGO_PKG_VERSION"));
    let mut r = Roff::new();
    r.control(
        "TH",
        ["KEEPALIVED.CONF", "5", "", version.as_str(), "File Formats"],
    );
    r.control("SH", ["NAME"]);
    r.text([roman(
        "keepalived.conf - configuration file of keepalived-rs (keepalived 2.2.7's format)",
    )]);
    r.control("SH", ["DESCRIPTION"]);
    r.text([
        roman("keepalived-rs reads keepalived's configuration file, "),
        italic("/etc/keepalived/keepalived.conf"),
        roman(" by default, with keepalived 2.2.7's syntax, includes, "),
        roman(
            "conditional lines and parameters. Every keyword keepalived 2.2.7 documents is read. ",
        ),
        roman("Most are acted on as keepalived acts on them; the ones marked "),
        bold("not implemented"),
        roman(
            " below are accepted, so a file keepalived runs still runs, and each use is reported ",
        ),
        roman("with its file and line at every start and reload. "),
        roman("Where ignoring one changes failover, traffic, health checks or scripts, "),
        bold("keepalived-rs -t"),
        roman(" fails with exit status 3 unless "),
        bold("--allow-unsupported"),
        roman(" is given."),
    ]);
    r.control("PP", []);
    r.text([roman(
        "This page is generated from the parser's keyword tables. For what each keyword does, \
         see keepalived's own keepalived.conf(5) for 2.2.7; differences on purpose are in \
         /usr/share/doc/keepalived-rs/migration.md.",
    )]);
    for (block, kws) in keepalived_config::keywords() {
        section(&mut r, block, &kws);
    }
    for (block, kws) in UNSUPPORTED_BLOCKS {
        r.control("SH", [block.to_uppercase().as_str()]);
        r.text([
            roman("The whole "),
            bold(*block),
            roman(" block is "),
            bold("not implemented"),
            roman(" (accepted and reported). Its keywords: "),
            roman(kws.join(", ")),
            roman("."),
        ]);
    }
    r.control("SH", ["FILES"]);
    r.text([italic("/etc/keepalived/keepalived.conf")]);
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("keepalived-rs"),
        roman("(8), "),
        bold("keepalivedctl"),
        roman("(8), /usr/share/doc/keepalived-rs/keywords.md"),
    ]);
    r.render()
}

fn section(r: &mut Roff, block: &str, kws: &[&str]) {
    r.control("SH", [block.to_uppercase().as_str()]);
    // The tables call the health checkers' common block "checkers", the
    // not-implemented table "checker".
    let support_block = if block == "checkers" {
        "checker"
    } else {
        block
    };
    let mut kws: Vec<&str> = kws.to_vec();
    kws.sort_unstable();
    for kw in kws {
        r.control("TP", []);
        r.text([bold(kw)]);
        match lookup(support_block, kw) {
            Some(u) => {
                let t = if u.effect.blocks_config_test() {
                    ", fails -t"
                } else {
                    ""
                };
                r.text([
                    bold("not implemented"),
                    roman(format!(" (affects {}{t}). ", u.effect.as_str())),
                    roman(format!("In keepalived: {}.", u.keepalived)),
                ]);
            }
            None => {
                r.text([roman("read and acted on as keepalived 2.2.7 does.")]);
            }
        }
    }
}

/// Write `man/keepalived.conf.5.gz` under `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("man"))?;
    crate::docs_gen::write_gz(&dir.join("man/keepalived.conf.5.gz"), render().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_of_the_reader_is_on_the_page_with_its_status() {
        let page = render();
        for (_, kws) in keepalived_config::keywords() {
            for kw in kws {
                let entry = format!(".TP\n\\fB{}\\fR", kw.replace('-', "\\-"));
                assert!(page.contains(&entry), "{kw} missing");
            }
        }
        // A not-implemented one says so, with what keepalived does.
        let i = page.find("\\fBenable_dbus\\fR").expect("enable_dbus");
        assert!(
            page[i..i + 120].contains("not implemented"),
            "{}",
            &page[i..i + 120]
        );
        // An implemented one does not.
        let i = page.find("\\fBvirtual_router_id\\fR").unwrap();
        assert!(
            page[i..i + 120].contains("acted on"),
            "{}",
            &page[i..i + 120]
        );
    }
}
