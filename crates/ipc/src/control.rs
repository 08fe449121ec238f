//! The control protocol between `keepalivedctl` (or any operator tool) and
//! the parent: one JSON request line on a Unix stream socket, one JSON
//! answer, then the parent closes the connection.
//!
//! Two sockets, both owned by the parent: `status.sock` (mode 0660, group
//! of the package's user) answers the read commands; `control.sock` (mode
//! 0600, root) answers every command. The parent checks and logs the
//! caller's credentials on both.

use serde::{Deserialize, Serialize};

/// The read-only socket's file name in the control directory.
pub const STATUS_SOCKET: &str = "status.sock";
/// The control socket's file name in the control directory.
pub const CONTROL_SOCKET: &str = "control.sock";
/// Where the sockets are unless `--control-dir` says otherwise.
pub const DEFAULT_DIR: &str = "/run/keepalived-rs";
/// Longest request line the parent reads (a request is a few words).
pub const MAX_REQUEST: usize = 4096;

/// What the parent has read from a caller so far, as a request: `None`
/// while no whole line has come (and the caller may send more), else the
/// first line decoded. Anything a caller sends is untrusted: more than
/// [`MAX_REQUEST`] bytes without a line end, or a line that is not a
/// request, ends in an error for the caller; what follows the line is
/// not read.
pub fn read_request(received: &[u8]) -> Option<Result<Request, String>> {
    let Some(end) = received.iter().position(|b| *b == b'\n') else {
        return (received.len() > MAX_REQUEST).then(|| Err("request too long".to_string()));
    };
    if end > MAX_REQUEST {
        return Some(Err("request too long".into()));
    }
    Some(
        serde_json::from_slice::<Request>(&received[..end])
            .map_err(|e| format!("cannot read the request: {e}")),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DumpWhat {
    /// `/tmp/keepalived.data`'s text.
    Data,
    /// `/tmp/keepalived.stats`'s text.
    Stats,
    /// `/tmp/keepalived.json`'s text (keepalived's json_version 1).
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    /// The suite's state: configuration, children, instances, real
    /// servers.
    Status,
    /// Reload the configuration file and answer when every child has
    /// applied or refused it (control socket only).
    Reload,
    /// A dump's text, as the signal would write it (nothing is written).
    Dump { what: DumpWhat },
    /// The statistics dump, then every VRRP counter back to zero (control
    /// socket only).
    StatsClear,
    /// Prometheus text exposition.
    Metrics,
    /// Each process's identity, capabilities, no_new_privs, seccomp mode
    /// and allowlist.
    Audit,
    /// Stay connected and receive every transition as it happens, one
    /// line each: notify-FIFO lines, or [`Transition`] JSON with `json`.
    Events {
        #[serde(default)]
        json: bool,
    },
    /// A master instance sends its gratuitous ARPs / NAs again now
    /// (control socket only).
    Garp { instance: String },
}

impl Request {
    /// Whether the read-only socket may answer it.
    pub fn read_only(&self) -> bool {
        !matches!(
            self,
            Request::Reload | Request::StatsClear | Request::Garp { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Reload => "reload",
            Request::Dump { .. } => "dump",
            Request::StatsClear => "stats-clear",
            Request::Metrics => "metrics",
            Request::Audit => "audit",
            Request::Events { .. } => "events",
            Request::Garp { .. } => "garp",
        }
    }
}

/// What changed state, as the notify FIFOs name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    /// A VRRP instance.
    Instance,
    /// A sync group.
    Group,
    /// A real server's health.
    Rs,
    /// A virtual server's quorum.
    Vs,
}

/// One transition of `events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub kind: TransitionKind,
    /// The instance or group name, the real server's or the virtual
    /// server's `[ip]:proto:port`.
    pub name: String,
    /// A real server's virtual server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_server: Option<String>,
    /// MASTER, BACKUP, FAULT, STOP (instances and groups); UP, DOWN.
    pub state: String,
    /// An instance's priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// When the parent heard of it (seconds since the epoch).
    pub at: f64,
}

impl Transition {
    /// The line keepalived writes to its notify FIFOs for it:
    /// `INSTANCE "VI_1" MASTER 150`, `GROUP "G" MASTER 0`,
    /// `RS [rs]:tcp:80 [vs]:tcp:80 DOWN`, `VS [vs]:tcp:80 UP`.
    pub fn fifo_line(&self) -> String {
        match self.kind {
            TransitionKind::Instance => format!(
                "INSTANCE \"{}\" {} {}\n",
                self.name,
                self.state,
                self.priority.unwrap_or(0)
            ),
            TransitionKind::Group => format!("GROUP \"{}\" {} 0\n", self.name, self.state),
            TransitionKind::Rs => format!(
                "RS {} {} {}\n",
                self.name,
                self.virtual_server.as_deref().unwrap_or(""),
                self.state
            ),
            TransitionKind::Vs => format!("VS {} {}\n", self.name, self.state),
        }
    }
}

/// How the last reload ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    pub generation: u64,
    /// "applied", "failed" (a child refused it or died applying it) or
    /// "not loaded" (the file has errors; nothing changed).
    pub result: String,
    /// What failed, with each refusing child's reason or the file's
    /// diagnostics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl ReloadOutcome {
    pub fn ok(&self) -> bool {
        self.result == "applied"
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildStatus {
    /// vrrpd, checkerd, ipvsd.
    pub name: String,
    pub pid: Option<u32>,
    pub restarts: u64,
    /// The configuration generation it last accepted.
    pub configuration: Option<u64>,
    /// "running", "starting" or "down".
    pub state: String,
}

/// A virtual server as configured, with its real servers' health summed
/// and its quorum as ipvsd last reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// keepalived's `[ip]:proto:port` (or `FWM n`) form.
    pub virtual_server: String,
    pub lb_algo: Option<String>,
    pub lb_kind: Option<String>,
    pub real_servers: usize,
    /// Real servers whose health the checkers have reported up.
    pub real_servers_up: usize,
    /// Weight the up real servers must sum to (`quorum`, 1 by default).
    pub quorum: u32,
    /// Whether the quorum holds, once ipvsd has said.
    pub quorum_up: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// keepalived's `[ip]:proto:port` form of the virtual server (or
    /// `FWM n`).
    pub virtual_server: String,
    pub real_server: String,
    pub up: bool,
    /// A weight the checker set (MISC_CHECK dynamic), if any.
    pub weight: Option<i32>,
    /// `weight` in the configuration.
    #[serde(default)]
    pub configured_weight: Option<i32>,
    /// Its health checkers (`TCP_CHECK`, `HTTP_GET`...); none: always up.
    #[serde(default)]
    pub checks: Vec<String>,
    /// How long its last check attempt took, once one has finished.
    #[serde(default)]
    pub check_seconds: Option<f64>,
}

impl RealServerStatus {
    /// The weight it has: its checker's (MISC_CHECK dynamic), else the
    /// configured one.
    pub fn effective_weight(&self) -> Option<i32> {
        self.weight.or(self.configured_weight)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// keepalived-rs's version.
    pub version: String,
    pub pid: u32,
    /// The configuration generation the parent holds (1 at start).
    pub configuration: u64,
    pub last_reload: Option<ReloadOutcome>,
    pub children: Vec<ChildStatus>,
    /// vrrpd's instances in keepalived's JSON dump layout (the same keys as
    /// `/tmp/keepalived.json`).
    pub vrrp: serde_json::Value,
    pub real_servers: Vec<RealServerStatus>,
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServerStatus>,
    /// Whether ipvsd can program the kernel's IPVS (None: not known yet,
    /// or no ipvsd).
    #[serde(default)]
    pub ipvs: Option<bool>,
    /// The `vrrp_script`s' verdicts.
    pub scripts: Vec<ScriptStatus>,
    pub log_lines_dropped: u64,
    /// The running configuration's keywords keepalived-rs does not act on,
    /// as logged (`FILE:LINE:COL: warning: 'KW' is not implemented...`).
    #[serde(default)]
    pub unsupported: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptStatus {
    pub name: String,
    /// GOOD (true) or BAD, after rise/fall.
    pub good: bool,
}

/// One process of the suite as the kernel sees it (`/proc/PID/status`),
/// with the allowlist its seccomp filter was built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessAudit {
    /// keepalived-rs, vrrpd, checkerd, ipvsd, or "checkerd launcher".
    pub process: String,
    pub pid: u32,
    /// Real, effective, saved and filesystem ids.
    pub uid: Vec<u32>,
    pub gid: Vec<u32>,
    pub groups: Vec<u32>,
    /// inheritable, permitted, effective, bounding, ambient: names.
    pub capabilities: std::collections::BTreeMap<String, Vec<String>>,
    pub no_new_privs: bool,
    /// "disabled", "strict" or "filter".
    pub seccomp: String,
    /// The system calls its filter allows (empty: no filter of ours).
    pub allowed_syscalls: Vec<String>,
    pub socket_families: Vec<String>,
    pub netlink_protocols: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    Audit(Vec<ProcessAudit>),
    Status(Box<Status>),
    Reload(ReloadOutcome),
    /// A dump's or the metrics' text.
    Text(String),
    /// Refused or failed; why.
    Error(String),
}

/// Longest answer line a client reads (a status of thousands of real
/// servers is megabytes; a runaway peer is not read without end).
pub const MAX_ANSWER: u64 = 64 << 20;

/// The client side: connect to `socket` and send `request`'s line, with
/// `timeout` on every read (None: wait as long as the suite keeps the
/// connection, as `events` does) and at most 10 s on the write. The
/// answer is read from the returned reader.
pub fn send(
    socket: &std::path::Path,
    request: &Request,
    timeout: Option<std::time::Duration>,
) -> std::io::Result<std::io::BufReader<std::os::unix::net::UnixStream>> {
    use std::io::Write;
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.set_read_timeout(timeout)?;
    let write_limit = std::time::Duration::from_secs(10);
    s.set_write_timeout(Some(timeout.map_or(write_limit, |t| t.min(write_limit))))?;
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    s.write_all(&line)?;
    Ok(std::io::BufReader::new(s))
}

/// One request, one answer line (at most [`MAX_ANSWER`] bytes), decoded.
pub fn ask(
    socket: &std::path::Path,
    request: &Request,
    timeout: std::time::Duration,
) -> std::io::Result<(String, Response)> {
    use std::io::{BufRead, Read};
    let mut answer = String::new();
    send(socket, request, Some(timeout))?
        .take(MAX_ANSWER)
        .read_line(&mut answer)?;
    if answer.is_empty() {
        return Err(std::io::Error::other("closed without an answer"));
    }
    let answer = answer.trim_end().to_string();
    let response = serde_json::from_str(&answer)
        .map_err(|e| std::io::Error::other(format!("unreadable answer: {e}")))?;
    Ok((answer, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_read_once_whole_and_bounded() {
        assert_eq!(read_request(b""), None);
        assert_eq!(read_request(b"{\"command\":\"sta"), None, "not whole yet");
        assert_eq!(
            read_request(b"{\"command\":\"status\"}\n"),
            Some(Ok(Request::Status))
        );
        // What follows the line is not read.
        assert_eq!(
            read_request(b"{\"command\":\"reload\"}\ngarbage"),
            Some(Ok(Request::Reload))
        );
        let junk = read_request(b"{\"command\":\"rm -rf\"}\n")
            .unwrap()
            .unwrap_err();
        assert!(junk.starts_with("cannot read the request"), "{junk}");
        // No line end within MAX_REQUEST: refused, not held for ever.
        assert_eq!(read_request(&[b' '; MAX_REQUEST]), None);
        assert_eq!(
            read_request(&[b' '; MAX_REQUEST + 1]),
            Some(Err("request too long".into()))
        );
        let mut long = vec![b' '; MAX_REQUEST + 1];
        long.push(b'\n');
        assert_eq!(read_request(&long), Some(Err("request too long".into())));
    }
}
