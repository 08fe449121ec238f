//! Errors, with kernel errnos turned into the texts an operator needs
//! (in the spirit of ipvsadm's `ipvs_strerror`).

use std::fmt;
use std::io;

use crate::consts::*;

#[derive(Debug)]
pub enum IpvsError {
    /// The generic netlink family "IPVS" does not exist: no ip_vs in this kernel.
    NotAvailable,
    /// The kernel rejected a request with `-errno`.
    Kernel { cmd: u8, errno: i32 },
    /// Socket-level failure (including `WouldBlock` on a non-blocking socket).
    Io(io::Error),
    /// A reply that does not parse; never a panic.
    Malformed(String),
    /// A request that cannot be encoded (e.g. scheduler name too long).
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, IpvsError>;

impl IpvsError {
    /// Errno of a kernel error, if that is what this is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// Name of an IPVS command for messages.
pub fn cmd_name(cmd: u8) -> &'static str {
    match cmd {
        IPVS_CMD_NEW_SERVICE => "add service",
        IPVS_CMD_SET_SERVICE => "edit service",
        IPVS_CMD_DEL_SERVICE => "delete service",
        IPVS_CMD_GET_SERVICE => "get services",
        IPVS_CMD_NEW_DEST => "add destination",
        IPVS_CMD_SET_DEST => "edit destination",
        IPVS_CMD_DEL_DEST => "delete destination",
        IPVS_CMD_GET_DEST => "get destinations",
        IPVS_CMD_NEW_DAEMON => "start sync daemon",
        IPVS_CMD_DEL_DAEMON => "stop sync daemon",
        IPVS_CMD_GET_DAEMON => "get sync daemons",
        IPVS_CMD_SET_CONFIG => "set timeouts",
        IPVS_CMD_GET_CONFIG => "get timeouts",
        IPVS_CMD_GET_INFO => "get info",
        IPVS_CMD_ZERO => "zero counters",
        IPVS_CMD_FLUSH => "flush",
        _ => "request",
    }
}

/// What an errno means for a given IPVS command.
pub fn kernel_error_text(cmd: u8, errno: i32) -> String {
    let specific = match (cmd, errno) {
        (_, libc::EPERM) => Some("permission denied (CAP_NET_ADMIN is required)"),
        (IPVS_CMD_NEW_SERVICE, libc::EEXIST) => Some("service already exists"),
        (IPVS_CMD_NEW_SERVICE | IPVS_CMD_SET_SERVICE, libc::ENOENT) => {
            Some("scheduler or persistence engine not found")
        }
        (IPVS_CMD_SET_SERVICE | IPVS_CMD_DEL_SERVICE, libc::ESRCH) => Some("no such service"),
        (IPVS_CMD_NEW_DEST | IPVS_CMD_SET_DEST | IPVS_CMD_DEL_DEST, libc::ESRCH) => {
            Some("service not defined")
        }
        (IPVS_CMD_NEW_DEST, libc::EEXIST) => Some("destination already exists"),
        (IPVS_CMD_SET_DEST | IPVS_CMD_DEL_DEST, libc::ENOENT) => Some("no such destination"),
        (IPVS_CMD_NEW_DEST | IPVS_CMD_SET_DEST, libc::EINVAL) => {
            Some("invalid destination (mixed address families need tunnel forwarding)")
        }
        (IPVS_CMD_NEW_DAEMON, libc::EEXIST) => Some("sync daemon already running"),
        (IPVS_CMD_NEW_DAEMON, libc::ENODEV) => Some("no such multicast interface"),
        (IPVS_CMD_DEL_DAEMON, libc::ESRCH) => Some("sync daemon not running"),
        (_, libc::EINVAL) => Some("invalid argument"),
        _ => None,
    };
    let os = io::Error::from_raw_os_error(errno);
    match specific {
        Some(s) => format!("{s} ({os})"),
        None => os.to_string(),
    }
}

impl fmt::Display for IpvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsError::NotAvailable => f.write_str(
                "IPVS is not available in this kernel (generic netlink family IPVS not found); \
                 is the ip_vs module loaded?",
            ),
            IpvsError::Kernel { cmd, errno } => write!(
                f,
                "IPVS {} failed: {}",
                cmd_name(*cmd),
                kernel_error_text(*cmd, *errno)
            ),
            IpvsError::Io(e) => write!(f, "IPVS netlink socket: {e}"),
            IpvsError::Malformed(s) => write!(f, "malformed IPVS netlink reply: {s}"),
            IpvsError::Invalid(s) => write!(f, "invalid IPVS request: {s}"),
        }
    }
}

impl std::error::Error for IpvsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IpvsError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for IpvsError {
    fn from(e: io::Error) -> Self {
        IpvsError::Io(e)
    }
}
