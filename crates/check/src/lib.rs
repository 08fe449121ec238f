//! checkerd's health-checking engine: a sans-IO checker core ([`core`]),
//! non-blocking probes ([`probe`]) and the [`Engine`] that runs them on the
//! owner's mio loop, with scripts started through a [`ScriptRunner`].

pub mod core;
pub mod engine;
pub mod file;
pub mod genhash;
pub mod plan;
pub mod probe;
pub mod script;
pub mod smtp_alert;
pub mod sockets;

pub use crate::core::{CheckerCore, Flavor, ScriptTracker, Timing};
pub use engine::{
    CheckKind, CheckSpec, Engine, Event, FileSpec, MiscSpec, RealServerSpec, RsId, ScriptSpec,
};
pub use genhash::genhash;
pub use probe::dns::DnsSpec;
pub use probe::http::{HttpProtocol, HttpSpec, StatusCodes, TlsSpec, UrlSpec};
pub use probe::stream::Endpoint;
pub use probe::udp::UdpSpec;
pub use script::{
    LocalRunner, ScriptArgs, ScriptCall, ScriptCommand, ScriptExit, ScriptHandle, ScriptId,
    ScriptRunner,
};
