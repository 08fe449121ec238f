//! Command line the parent passes to a child (never typed by an operator).

use clap::Parser;
use keepalived_sandbox::SeccompMode;
use std::path::PathBuf;

#[derive(Parser, Debug, Clone)]
#[command(about = "keepalived-rs child process (started by keepalived-rs)")]
pub struct ChildArgs {
    /// Descriptor of the IPC socket.
    #[arg(long, default_value_t = keepalived_ipc::CHILD_IPC_FD)]
    pub ipc_fd: i32,
    /// Seccomp policy: kill (default), log or off.
    #[arg(long, default_value = "kill")]
    pub seccomp: SeccompMode,
    /// Also log to standard error.
    #[arg(long)]
    pub log_console: bool,
    /// Detailed (debug) log messages.
    #[arg(long)]
    pub log_detail: bool,
    /// Do not log to syslog.
    #[arg(long)]
    pub no_syslog: bool,
    /// Syslog facility local0..local7 (0-7); daemon when absent.
    #[arg(long)]
    pub log_facility: Option<u8>,
    /// Syslog socket path (tests).
    #[arg(long)]
    pub syslog_socket: Option<PathBuf>,
    /// Appended to the syslog ident (`_NAMESPACE`, as keepalived).
    #[arg(long)]
    pub syslog_ident_suffix: Option<String>,
    /// Descriptor of this child's log file (`-g`).
    #[arg(long)]
    pub log_file_fd: Option<i32>,
    /// checkerd: descriptor of the socket the parent sends its script
    /// launcher the allowlist on (checkerd hands it to the launcher and
    /// closes its own copy before its sandbox is installed).
    #[arg(long)]
    pub launcher_fd: Option<i32>,
    /// After initialising, make a syscall the filter forbids (tests): one
    /// of `keepalived_sandbox::seccomp::SELFTESTS`, `exec` when bare.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "exec")]
    pub seccomp_selftest: Option<String>,
    /// checkerd, tests: once started, ask the script launcher to run each
    /// line of this file (one command, words split on spaces), as a
    /// compromised checkerd could, and log how each request ended.
    #[arg(long, hide = true)]
    pub launcher_selftest: Option<PathBuf>,
}
