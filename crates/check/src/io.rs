//! What the check engine asks of the world, as a trait: the engine decides
//! *when* (schedules, deadlines, retries, verdicts) and an [`Io`] does the
//! *how* (sockets, file watches). checkerd plugs in the socket
//! implementation ([`crate::probe::SocketIo`]); tests plug in a fake and
//! drive the engine in virtual time, so attempt timing is asserted to the
//! instant instead of within wall-clock tolerances.

use crate::engine::CheckKind;
use crate::probe::Step;
use rustls::ClientConfig;
use std::path::Path;
use std::sync::Arc;

/// One attempt the engine starts.
pub struct Attempt<'a> {
    pub kind: &'a CheckKind,
    /// The HTTP url to fetch (0 for the others).
    pub url: usize,
    /// SSL_GET's client configuration, built once per checker.
    pub tls: Option<&'a Arc<ClientConfig>>,
}

/// Attempts and file watches, each named by the key the engine reports its
/// readiness under ([`crate::Engine::on_event`]).
pub trait Io {
    /// Start an attempt under `key` (a key names one attempt at a time).
    fn start(&mut self, key: usize, attempt: Attempt<'_>);
    /// Readiness under `key`, and once right after [`Io::start`].
    fn ready(&mut self, key: usize) -> Step;
    /// The attempt's inactivity deadline passed: its verdict (UDP_CHECK
    /// counts silence as success).
    fn timed_out(&mut self, key: usize) -> Step;
    /// Forget the attempt (done, timed out, or its checker removed).
    fn stop(&mut self, key: usize);
    /// Report changes in `path`'s directory under the engine's watch key.
    fn watch(&mut self, path: &Path) -> Result<(), String>;
    /// Consume pending watch notifications (the engine re-reads every
    /// watched file after this).
    fn drain_watch(&mut self);
}
