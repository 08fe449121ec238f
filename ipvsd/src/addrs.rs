//! The host's local addresses, for `ha_suspend` (keepalived suspends the
//! checkers of a virtual server whose address is not configured here).
//! One RTM_GETADDR dump over NETLINK_ROUTE: no state, no subscription (a
//! pass runs on every VRRP state change, which is when VIPs move, and every
//! few seconds anyway).

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NLMSG_HDRLEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Parse one batch of RTM_NEWADDR messages; `Ok(true)` at NLMSG_DONE.
fn parse(buf: &[u8], seq: u32, out: &mut BTreeSet<IpAddr>) -> io::Result<bool> {
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap());
        let mseq = u32::from_ne_bytes(buf[off + 8..off + 12].try_into().unwrap());
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "short netlink message",
            ));
        }
        if mseq == seq {
            match ty as i32 {
                libc::NLMSG_DONE => return Ok(true),
                libc::NLMSG_ERROR => {
                    let e = buf
                        .get(off + NLMSG_HDRLEN..off + NLMSG_HDRLEN + 4)
                        .map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap()));
                    return Err(io::Error::from_raw_os_error(-e));
                }
                t if t == i32::from(libc::RTM_NEWADDR) => {
                    let msg = &buf[off + NLMSG_HDRLEN..off + len];
                    if msg.len() >= IFADDRMSG_LEN {
                        let family = i32::from(msg[0]);
                        let mut a = IFADDRMSG_LEN;
                        while a + 4 <= msg.len() {
                            let alen = u16::from_ne_bytes([msg[a], msg[a + 1]]) as usize;
                            let aty = u16::from_ne_bytes([msg[a + 2], msg[a + 3]]);
                            if alen < 4 || a + alen > msg.len() {
                                break;
                            }
                            let v = &msg[a + 4..a + alen];
                            if aty == IFA_LOCAL || aty == IFA_ADDRESS {
                                match (family, v.len()) {
                                    (libc::AF_INET, 4) => {
                                        out.insert(IpAddr::V4(Ipv4Addr::new(
                                            v[0], v[1], v[2], v[3],
                                        )));
                                    }
                                    (libc::AF_INET6, 16) => {
                                        let b: [u8; 16] = v.try_into().unwrap();
                                        out.insert(IpAddr::V6(Ipv6Addr::from(b)));
                                    }
                                    _ => {}
                                }
                            }
                            a += align(alen);
                        }
                    }
                }
                _ => {}
            }
        }
        off += align(len);
    }
    Ok(false)
}

/// Every address configured on this host (IPv4 and IPv6).
pub fn local_addresses() -> io::Result<BTreeSet<IpAddr>> {
    // SAFETY: plain socket calls on a descriptor we own and close.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let r = dump(fd);
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    r
}

fn dump(fd: i32) -> io::Result<BTreeSet<IpAddr>> {
    let seq = 1u32;
    let mut req = [0u8; NLMSG_HDRLEN + IFADDRMSG_LEN];
    let len = req.len() as u32;
    req[0..4].copy_from_slice(&len.to_ne_bytes());
    req[4..6].copy_from_slice(&libc::RTM_GETADDR.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    req[6..8].copy_from_slice(&flags.to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    req[NLMSG_HDRLEN] = libc::AF_UNSPEC as u8;
    // SAFETY: req is a valid buffer of its length; the kernel is the
    // default destination of an unbound netlink socket.
    if unsafe { libc::send(fd, req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = BTreeSet::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 || parse(&buf[..n as usize], seq, &mut out)? {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dump_parses() {
        // Whatever this host has (a bare namespace may have nothing up).
        super::local_addresses().expect("RTM_GETADDR dump");
    }
}
