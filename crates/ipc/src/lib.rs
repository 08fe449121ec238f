//! The wire between the keepalived-rs parent and its three children.
//!
//! One `SOCK_SEQPACKET` socketpair per child carries [`ToChild`] messages down
//! and [`FromChild`] messages up. Each message is bincode (serde) inside a
//! small versioned frame; messages larger than one datagram are split into
//! fragments ([`frame`]) so a 10,000-real-server configuration still crosses.
//! Everything a child sends is untrusted by the parent: decoding is bounded
//! and every failure is a typed [`RecvError`].

pub mod channel;
pub mod control;
pub mod frame;
pub mod message;
pub mod script_allow;
pub mod subsystem;

pub use channel::{Channel, RecvError};
pub use message::*;
pub use subsystem::Subsystem;

/// Version of the message schema; a peer speaking another one is refused.
pub const PROTOCOL_VERSION: u8 = 1;

/// Upper bound on one message a child may send to the parent.
pub const MAX_FROM_CHILD: usize = 1 << 20;

/// Upper bound on one message the parent may send to a child (a config slice).
pub const MAX_TO_CHILD: usize = 256 << 20;

/// The fd number a child finds its end of the socketpair on.
pub const CHILD_IPC_FD: i32 = 3;

/// The fd number a child finds its log file on, when `-g` is in use.
pub const CHILD_LOG_FD: i32 = 4;
