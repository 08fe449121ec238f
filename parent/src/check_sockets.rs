//! Sockets for checks that need a privileged option (`fwmark` → SO_MARK,
//! `bind_if` → SO_BINDTODEVICE where the kernel wants CAP_NET_RAW): the
//! parent makes them — never connects, sends or receives on them — and
//! hands them to checkerd over the socketpair, as OpenBSD's relayd hands
//! sockets to its unprivileged processes. A request is untrusted input:
//! only a mark / interface some checker of the configuration uses, and a
//! bounded number at a time.

use keepalived_config::Config;
use keepalived_ipc::SocketRequest;
use log::warn;
use nix::sys::socket::{setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType};
use std::ffi::OsString;
use std::os::fd::OwnedFd;

/// Sockets per request, at most.
const MAX_PER_REQUEST: u32 = 16;

/// Sockets handed to checkerd per 10 s, at most: a checkerd that asks for
/// more (compromised, or looping) gets none until the window ends, so it
/// cannot make the parent run out of descriptors or socket memory.
const BUDGET: u32 = 512;
const WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Default)]
pub struct Budget {
    window: Option<std::time::Instant>,
    given: u32,
    warned: bool,
}

impl Budget {
    /// Whether `count` more sockets may be given now (counted if so).
    pub fn grant(&mut self, count: u32, now: std::time::Instant) -> bool {
        if self.window.is_none_or(|w| now >= w + WINDOW) {
            self.window = Some(now);
            self.given = 0;
            self.warned = false;
        }
        let count = count.min(MAX_PER_REQUEST);
        if self.given + count > BUDGET {
            if !self.warned {
                warn!("checkerd asked for more than {BUDGET} check sockets in {WINDOW:?}: refused until the window ends");
                self.warned = true;
            }
            return false;
        }
        self.given += count;
        true
    }
}

/// Whether a checker of `config` uses this mark and interface.
pub fn configured(config: &Config, r: &SocketRequest) -> bool {
    (r.mark.is_some() || r.bind_if.is_some())
        && config.virtual_servers.iter().any(|vs| {
            vs.real_servers.iter().any(|rs| {
                rs.checkers
                    .iter()
                    .any(|c| c.fwmark == r.mark && c.bind_if == r.bind_if)
            })
        })
}

fn one(r: &SocketRequest) -> nix::Result<OwnedFd> {
    let family = if r.v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let ty = if r.udp {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let fd = socket(
        family,
        ty,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    if let Some(m) = r.mark {
        setsockopt(&fd, sockopt::Mark, &m)?;
    }
    if let Some(i) = &r.bind_if {
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(i))?;
    }
    Ok(fd)
}

/// Make the sockets `r` asks for (fewer, or none, when it is not allowed
/// or the kernel refuses).
pub fn make(config: &Config, r: &SocketRequest) -> Vec<OwnedFd> {
    if !configured(config, r) {
        warn!(
            "checkerd asked for sockets with fwmark {:?} / bind_if {:?}, which no checker uses: refused",
            r.mark, r.bind_if
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for _ in 0..r.count.min(MAX_PER_REQUEST) {
        match one(r) {
            Ok(fd) => out.push(fd),
            Err(e) => {
                warn!(
                    "cannot make a check socket with fwmark {:?} / bind_if {:?}: {e}",
                    r.mark, r.bind_if
                );
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_per_window() {
        let t0 = std::time::Instant::now();
        let mut b = Budget::default();
        let granted = (0..100).filter(|_| b.grant(16, t0)).count();
        assert_eq!(granted, (BUDGET / MAX_PER_REQUEST) as usize);
        assert!(b.grant(16, t0 + WINDOW), "a new window");
    }

    #[test]
    fn only_what_a_checker_uses() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        std::fs::write(
            &p,
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n \
             TCP_CHECK {\n fwmark 7\n }\n }\n}\n",
        )
        .unwrap();
        let c = keepalived_config::load_file(&p, &Default::default())
            .unwrap()
            .config;
        let r = |mark| SocketRequest {
            v6: false,
            udp: false,
            mark,
            bind_if: None,
            count: 100,
        };
        assert!(configured(&c, &r(Some(7))));
        assert!(!configured(&c, &r(Some(8))));
        assert!(!configured(&c, &r(None)));
        // Tests run as root: the kernel sets the mark; the count is capped.
        let fds = make(&c, &r(Some(7)));
        assert_eq!(fds.len(), MAX_PER_REQUEST as usize);
        assert_eq!(
            nix::sys::socket::getsockopt(&fds[0], sockopt::Mark).unwrap(),
            7
        );
        assert!(make(&c, &r(Some(8))).is_empty());
    }
}
