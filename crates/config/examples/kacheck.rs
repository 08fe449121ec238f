//! Development aid: `cargo run -p keepalived-config --example kacheck -- FILE [toml|conf]`
//! prints the diagnostics and, on request, the TOML or keepalived.conf form.

use keepalived_config::{load_file, to_keepalived_conf, to_toml, LoadOptions};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: kacheck FILE [toml|conf]");
        std::process::exit(2);
    };
    let what = args.next();
    match load_file(&path, &LoadOptions::default()) {
        Ok(l) => {
            for d in &l.diagnostics {
                println!("{d}");
            }
            match what.as_deref() {
                Some("toml") => print!("{}", to_toml(&l.config)),
                Some("conf") => print!("{}", to_keepalived_conf(&l.config)),
                _ => {}
            }
            println!(
                "verdict: {}",
                if l.diagnostics.is_empty() {
                    "accept"
                } else {
                    "warn"
                }
            );
        }
        Err(e) => {
            print!("{e}");
            println!("verdict: reject");
        }
    }
}
