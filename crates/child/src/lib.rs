//! The runtime every keepalived-rs child shares.
//!
//! A child is exec'd by the parent with its end of the IPC socketpair on
//! fd 3. It opens its logger, waits for its configuration, lets the
//! subsystem initialise, installs its seccomp filter, reports `Ready`, and
//! from then on runs one mio loop: IPC messages in, subsystem events and
//! timers, IPC messages out. The subsystem itself implements [`Daemon`].

mod args;
mod runtime;

pub use args::ChildArgs;
pub use runtime::{run, Ctx, Daemon, IPC_TOKEN, SAFETY_NET_PHRASE};
