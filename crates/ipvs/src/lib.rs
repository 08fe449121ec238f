//! IPVS over generic netlink, on neli, without threads or async: the
//! typed model, byte-exact encoding and checked decoding of every IPVS
//! command, a blocking/non-blocking client, and a sans-IO reconciler
//! (desired table from configuration + health, diff against the kernel).
//!
//! One reconcile pass of ipvsd:
//!
//! ```no_run
//! use keepalived_ipvs::{compute, desired::VirtualServerInput, diff, IpvsSocket, Owned, ReconcileState};
//! # fn inputs() -> Vec<VirtualServerInput> { Vec::new() }
//! let mut sock = IpvsSocket::connect()?; // IpvsError::NotAvailable without ip_vs
//! let (mut owned, mut state) = (Owned::default(), ReconcileState::default());
//! let desired = compute(&inputs(), &state); // pure: config + health + previous quorum state
//! let ops = diff(&desired.table, &sock.table()?, &owned); // empty when nothing changed
//! for (op, err) in sock.apply(&ops, &mut owned) {
//!     eprintln!("{op:?}: {err}");
//! }
//! owned.claim(&desired.table);
//! state = desired.state; // desired.events: quorum up/down notifications to run
//! # let _ = state;
//! # Ok::<(), keepalived_ipvs::IpvsError>(())
//! ```

pub mod consts;
pub mod decode;
pub mod desired;
pub mod diff;
pub mod encode;
pub mod error;
pub mod model;
pub mod plan;
pub mod socket;
pub mod table;

pub use decode::Reply;
pub use desired::{compute, Desired, Event, Health, ReconcileState};
pub use diff::{diff, teardown, Op, Owned, SyncFollow};
pub use encode::Request;
pub use error::{IpvsError, Result};
pub use model::*;
pub use socket::IpvsSocket;
pub use table::{Table, TableService};
