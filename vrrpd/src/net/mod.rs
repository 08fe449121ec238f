//! vrrpd's contact with the kernel: VRRP raw sockets, gratuitous ARP and
//! unsolicited neighbour advertisements, and rtnetlink.

pub mod garp;
pub mod raw;
pub mod rtnl;
