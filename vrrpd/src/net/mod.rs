//! vrrpd's contact with the kernel: VRRP raw sockets, gratuitous ARP and
//! unsolicited neighbour advertisements, and rtnetlink.

pub mod garp;
pub mod raw;
pub mod routes;
pub mod rtnl;
pub mod vmac;
