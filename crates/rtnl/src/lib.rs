//! rtnetlink through neli's thread-less socket, shared by the processes
//! that hold CAP_NET_ADMIN: vrrpd (links, virtual addresses, routes,
//! rules, VMACs, and the monitor of link and address changes) and ipvsd
//! (the dummy interface and addresses of `bgp_announce`).

pub mod dummy;
pub mod routes;
pub mod rtnl;
pub mod vmac;

/// A netlink request socket's receives give up after a second: the kernel
/// answers in microseconds, and a lost answer must not stall the event
/// loop.
pub(crate) fn answer_timeout(fd: std::os::fd::RawFd) {
    let tv = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: setsockopt on a descriptor the caller owns, with a value of
    // the option's type and size. A socket without it still works, only
    // less guarded.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
}
