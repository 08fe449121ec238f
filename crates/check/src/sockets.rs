//! Check sockets that need a privileged option: `fwmark` (SO_MARK needs
//! CAP_NET_ADMIN) and `bind_if` where the kernel refuses SO_BINDTODEVICE
//! to an unprivileged process. checkerd holds no capability, so such
//! sockets come ready-made from the parent (SCM_RIGHTS) into a small stock
//! per kind, topped up as checks use them — the way OpenBSD's relayd hands
//! its unprivileged processes their sockets.
//!
//! The stock lives in a thread-local: checkerd is single-threaded, and the
//! probes that open sockets need no new parameter to use it.

use socket2::{Domain, Protocol, Socket, Type};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Most sockets asked for at once (the parent hands out no more per reply).
pub const MAX_REQUEST: u32 = 16;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What kind of socket a check needs.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct SocketKey {
    pub v6: bool,
    pub udp: bool,
    pub mark: Option<u32>,
    pub bind_if: Option<String>,
}

#[derive(Default)]
struct Stock {
    ready: Vec<OwnedFd>,
    /// How many to keep ready.
    target: u32,
    /// Asked for, not yet arrived.
    pending: u32,
    /// After a short supply: wait before asking again, doubling.
    retry_at: Option<Instant>,
    backoff: Duration,
}

thread_local! {
    static STOCK: RefCell<BTreeMap<SocketKey, Stock>> = const { RefCell::new(BTreeMap::new()) };
}

/// Keep `target` sockets of `key` ready (0 forgets the key).
pub fn set_target(key: SocketKey, target: u32) {
    STOCK.with(|s| {
        let mut s = s.borrow_mut();
        if target == 0 {
            s.remove(&key);
        } else {
            s.entry(key).or_default().target = target;
        }
    });
}

/// Forget every stock (a reload sets the targets again).
pub fn clear() {
    STOCK.with(|s| s.borrow_mut().clear());
}

/// Sockets that arrived from the parent for a request of `asked`: fewer
/// than asked (the parent refused, or the kernel did: an interface not
/// there yet) puts the key on a doubling backoff instead of asking again
/// at once.
pub fn supply(key: &SocketKey, asked: u32, fds: Vec<OwnedFd>, now: Instant) {
    STOCK.with(|s| {
        let mut s = s.borrow_mut();
        // Sockets for a key no longer wanted are simply closed.
        if let Some(st) = s.get_mut(key) {
            let got = fds.len() as u32;
            st.pending = st.pending.saturating_sub(asked);
            st.ready.extend(fds);
            if got < asked {
                st.backoff = if st.backoff.is_zero() {
                    FIRST_BACKOFF
                } else {
                    (st.backoff * 2).min(MAX_BACKOFF)
                };
                st.retry_at = Some(now + st.backoff);
            } else {
                st.backoff = Duration::ZERO;
                st.retry_at = None;
            }
        }
    });
}

/// What to ask the parent for now: (key, count) below target, at most
/// [`MAX_REQUEST`] a request, none while a key backs off.
pub fn wants(now: Instant) -> Vec<(SocketKey, u32)> {
    STOCK.with(|s| {
        let mut s = s.borrow_mut();
        let mut out = Vec::new();
        for (k, st) in s.iter_mut() {
            if st.retry_at.is_some_and(|t| t > now) {
                continue;
            }
            let have = st.ready.len() as u32 + st.pending;
            if have < st.target {
                let n = (st.target - have).min(MAX_REQUEST);
                st.pending += n;
                out.push((k.clone(), n));
            }
        }
        out
    })
}

/// When a key backing off may ask again.
pub fn next_retry() -> Option<Instant> {
    STOCK.with(|s| s.borrow().values().filter_map(|st| st.retry_at).min())
}

/// A `bind_if` the kernel refused us: from now on such sockets come from
/// the parent.
fn want_stock(key: &SocketKey) {
    STOCK.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.entry(key.clone()).or_default();
        st.target = st.target.max(2);
    });
}

fn take(key: &SocketKey) -> Option<OwnedFd> {
    STOCK.with(|s| s.borrow_mut().get_mut(key).and_then(|st| st.ready.pop()))
}

/// A non-blocking socket for a check towards `dst`: an ordinary one, or —
/// with `mark` or a `bind_if` the kernel will not let us set — one from
/// the parent's stock.
pub fn open(
    dst: SocketAddr,
    udp: bool,
    mark: Option<u32>,
    bind_if: Option<&str>,
) -> io::Result<Socket> {
    let (ty, proto) = if udp {
        (Type::DGRAM, Protocol::UDP)
    } else {
        (Type::STREAM, Protocol::TCP)
    };
    if mark.is_none() {
        let sock = Socket::new(
            Domain::for_address(dst),
            ty.nonblocking().cloexec(),
            Some(proto),
        )?;
        match bind_if {
            None => return Ok(sock),
            // Unprivileged since Linux 5.7 for an unbound socket.
            Some(i) => match sock.bind_device(Some(i.as_bytes())) {
                Ok(()) => return Ok(sock),
                Err(e) if e.raw_os_error() != Some(libc::EPERM) => return Err(e),
                Err(_) => {}
            },
        }
    }
    let key = SocketKey {
        v6: dst.is_ipv6(),
        udp,
        mark,
        bind_if: bind_if.map(str::to_string),
    };
    if mark.is_none() {
        want_stock(&key);
    }
    let fd = take(&key).ok_or_else(|| {
        io::Error::other(format!(
            "no socket with fwmark {} / bind_if {} from the parent yet",
            mark.map_or("-".into(), |m| m.to_string()),
            bind_if.unwrap_or("-")
        ))
    })?;
    let sock = Socket::from(fd);
    sock.set_nonblocking(true)?;
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SocketKey {
        SocketKey {
            v6: false,
            udp: false,
            mark: Some(7),
            bind_if: None,
        }
    }

    #[test]
    fn stock_is_topped_up_and_used() {
        let t0 = Instant::now();
        set_target(key(), 2);
        assert_eq!(wants(t0), vec![(key(), 2)]);
        // Asked already: nothing more until they arrive or are used.
        assert!(wants(t0).is_empty());
        let dst: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(open(dst, false, Some(7), None).is_err(), "none yet");
        let fds: Vec<OwnedFd> = (0..2)
            .map(|_| {
                Socket::new(Domain::IPV4, Type::STREAM, None)
                    .unwrap()
                    .into()
            })
            .collect();
        supply(&key(), 2, fds, t0);
        assert!(open(dst, false, Some(7), None).is_ok());
        assert_eq!(wants(t0), vec![(key(), 1)]);
        // The parent gives none (say the interface is missing): no asking
        // again before a second, then two seconds.
        supply(&key(), 1, Vec::new(), t0);
        assert!(wants(t0).is_empty());
        assert_eq!(next_retry(), Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(wants(t1), vec![(key(), 1)]);
        supply(&key(), 1, Vec::new(), t1);
        assert_eq!(next_retry(), Some(t1 + Duration::from_secs(2)));
        // Ordinary sockets never touch the stock.
        assert!(open(dst, false, None, None).is_ok());
        clear();
        assert!(wants(t1).is_empty());
    }
}
