//! vrrpd's contact with the kernel: VRRP raw sockets, gratuitous ARP and
//! unsolicited neighbour advertisements, rtnetlink, and the nf_tables
//! firewall of instances without accept mode.

pub mod firewall;
pub mod garp;
pub mod nft_msg;
pub mod raw;
pub mod routes;
pub mod rtnl;
pub mod vmac;
