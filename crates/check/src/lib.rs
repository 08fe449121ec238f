//! checkerd's health-checking engine: a sans-IO checker core ([`core`]),
//! the [`Engine`] that schedules checkers and scripts with an injected
//! clock and no I/O of its own, the [`Io`] it asks for attempts (the socket
//! probes of [`probe`] on a mio loop: [`SocketIo`]) and the
//! [`ScriptRunner`] it asks for scripts.

pub mod core;
pub mod engine;
pub mod file;
pub mod genhash;
pub mod io;
pub mod plan;
pub mod probe;
pub mod process;
pub mod script;
pub mod smtp_alert;
pub mod sockets;

pub use crate::core::{CheckerCore, Flavor, ScriptTracker, Timing};
pub use engine::{
    CheckKind, CheckSpec, Engine, Event, FileSpec, MiscSpec, RealServerSpec, RsId, ScriptSpec,
};
pub use genhash::genhash;
pub use io::{Attempt, Io};
pub use probe::dns::DnsSpec;
pub use probe::http::{HttpProtocol, HttpSpec, StatusCodes, TlsSpec, UrlSpec};
pub use probe::stream::Endpoint;
pub use probe::udp::UdpSpec;
pub use probe::SocketIo;
pub use script::{
    LocalRunner, ScriptArgs, ScriptCall, ScriptCommand, ScriptExit, ScriptHandle, ScriptId,
    ScriptRunner,
};
