//! vrrpd's contact with the kernel: VRRP raw sockets, gratuitous ARP and
//! unsolicited neighbour advertisements, rtnetlink, and the nf_tables
//! firewall of instances without accept mode.

pub mod firewall;
pub mod garp;
pub mod nft_msg;
pub mod raw;
pub use keepalived_rtnl::{routes, rtnl, vmac};

/// SO_RCVBUF of a receive socket (the kernel doubles it, within
/// net.core.rmem_max).
pub(crate) fn set_rcvbuf(fd: std::os::fd::RawFd, bytes: i32) -> std::io::Result<()> {
    raw::setsockopt_raw(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &bytes)
}

/// `vrrp_netlink_*_rcv_bufs[_force]` on a netlink socket: SO_RCVBUFFORCE
/// (past net.core.rmem_max; vrrpd holds CAP_NET_ADMIN) when forced, in
/// keepalived's words when refused.
pub(crate) fn set_netlink_rcvbuf(fd: std::os::fd::RawFd, (bytes, force): (u32, bool)) {
    let val = i32::try_from(bytes).unwrap_or(i32::MAX);
    if force {
        if let Err(e) = raw::setsockopt_raw(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &val) {
            log::info!(
                "cant set SO_RCVBUFFORCE IP option. errno={} ({e})",
                e.raw_os_error().unwrap_or(0)
            );
        }
    } else if let Err(e) = set_rcvbuf(fd, val) {
        log::info!(
            "Cannot set SO_RCVBUF IP option. errno={} ({e})",
            e.raw_os_error().unwrap_or(0)
        );
    }
}
