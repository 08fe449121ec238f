//! nf_tables over netlink, without `nft` or libnftnl: the message builder
//! ([`Batch`], attributes and expressions) and the socket that sends a
//! batch and collects its acknowledgements ([`Conn`]).
//!
//! Two tables are built with it, each in keepalived 2.2.7's layout so
//! `nft list ruleset` reads the same whichever daemon runs: vrrpd's
//! `no_accept` / VMAC table (`keepalived`) and ipvsd's fwmark table for
//! virtual-server groups (`keepalived_ipvs`, `nftables_ipvs`). The rules
//! themselves live with the process that owns them; this crate knows
//! only the wire.

mod conn;
mod msg;

pub use conn::{Conn, Monitor, Seen};
pub use msg::*;
