//! `--generate-docs DIR` (hidden, for packaging): the binary's man page
//! (section 8, gzip'ed as Debian installs man pages) and its bash, zsh and
//! fish completions, generated from its clap definition so they cannot
//! drift from the flags it takes.

use clap_complete::Shell;
use std::path::Path;

pub fn generate(mut cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    let name = cmd.get_name().to_string();
    std::fs::create_dir_all(dir.join("man"))?;
    std::fs::create_dir_all(dir.join("completions"))?;
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .section("8")
        .render(&mut page)?;
    write_gz(&dir.join("man").join(format!("{name}.8.gz")), &page)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, &name, dir.join("completions"))?;
    }
    Ok(())
}

/// `bytes` gzip'ed into `path`, with no name or time in the header (the
/// package's bytes depend on its sources only).
pub fn write_gz(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path)?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, flate2::Compression::best());
    gz.write_all(bytes)?;
    gz.finish()?.sync_all()
}
