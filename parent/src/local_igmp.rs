//! `disable_local_igmp` (keepalived 2.2.7, vrrp_daemon.c): while the suite
//! runs, the namespace's `net.ipv4.igmp_link_local_mcast_reports` is 0, so
//! the kernel sends no IGMP reports for link-local groups (224.0.0.18);
//! the value found is put back at stop. A sysctl file, so the parent (the
//! children may not open files) does it.

use log::info;
use std::io::{Read, Seek, SeekFrom, Write};

const SYSCTL: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// The setting was on and we turned it off: turned on again at drop.
pub struct LocalIgmp(bool);

impl LocalIgmp {
    pub fn disable() -> LocalIgmp {
        let r = (|| -> std::io::Result<bool> {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(SYSCTL)?;
            let mut b = [0u8; 1];
            f.read_exact(&mut b)?;
            if b[0] != b'1' {
                return Ok(false);
            }
            f.seek(SeekFrom::Start(0))?;
            f.write_all(b"0")?;
            Ok(true)
        })();
        match r {
            Ok(changed) => LocalIgmp(changed),
            Err(e) => {
                info!("Unable to set {SYSCTL} - {e}");
                LocalIgmp(false)
            }
        }
    }
}

impl Drop for LocalIgmp {
    fn drop(&mut self) {
        if self.0 {
            if let Err(e) = std::fs::write(SYSCTL, "1") {
                info!("Unable to write {SYSCTL} - {e}");
            }
        }
    }
}
