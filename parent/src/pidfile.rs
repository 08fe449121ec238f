//! Pid files, written on start and removed on exit.

use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct PidFiles {
    written: Vec<PathBuf>,
}

impl PidFiles {
    pub fn write(&mut self, path: &Path, pid: u32) {
        match std::fs::write(path, format!("{pid}\n")) {
            Ok(()) => {
                if !self.written.iter().any(|p| p == path) {
                    self.written.push(path.to_path_buf());
                }
            }
            Err(e) => log::warn!("cannot write pid file {}: {e}", path.display()),
        }
    }

    pub fn remove(&mut self, path: &Path) {
        let _ = std::fs::remove_file(path);
        self.written.retain(|p| p != path);
    }

    pub fn remove_all(&mut self) {
        for p in self.written.drain(..) {
            let _ = std::fs::remove_file(p);
        }
    }
}
