//! genhash: fetch one url and return the MD5 digest HTTP_GET / SSL_GET
//! compare with `digest` (the body, limited to Content-Length).

use crate::probe::http::{parse_response, HttpProbe, HttpSpec};
use crate::probe::stream::Endpoint;
use crate::probe::{Probe, Step};
use mio::{Events, Poll, Token};
use std::time::{Duration, Instant};

/// Fetch `spec.urls[0]` from `ep` (over TLS when `spec.tls` is set),
/// blocking the caller up to `timeout` of inactivity.
pub fn genhash(ep: &Endpoint, spec: &HttpSpec, timeout: Duration) -> Result<[u8; 16], String> {
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let tls = match &spec.tls {
        Some(t) => Some(t.client_config()?),
        None => None,
    };
    let mut probe = HttpProbe::start(ep, spec, 0, tls.as_ref(), poll.registry(), Token(0));
    let mut events = Events::with_capacity(8);
    let mut deadline = Instant::now() + timeout;
    let step = loop {
        match probe.ready() {
            Step::Pending { progress } => {
                if progress {
                    deadline = Instant::now() + timeout;
                }
            }
            done => break done,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Step::fail("timeout");
        }
        poll.poll(&mut events, Some(left))
            .map_err(|e| e.to_string())?;
    };
    probe.deregister(poll.registry());
    match parse_response(probe.received()) {
        Some((r, _, _)) => Ok(r.digest),
        None => match step {
            Step::Done { why, .. } if !why.is_empty() => Err(why),
            _ => Err("no data received from remote webserver".into()),
        },
    }
}
