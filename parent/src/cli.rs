//! keepalived's command line, as operators and unit files already use it.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "keepalived-rs",
    version,
    disable_version_flag = true,
    about = "Privilege-separated, memory-safe keepalived: VRRP, IPVS and health checks",
    after_help = "Signals: HUP reloads the configuration, TERM/INT stop, USR1 writes /tmp/keepalived.data, \
                  USR2 writes /tmp/keepalived.stats."
)]
pub struct Cli {
    /// Use the specified configuration file.
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub use_file: PathBuf,
    /// Only run the VRRP subsystem (and the script runner it needs).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,
    /// Only run the health-checker subsystem (and IPVS).
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Accepted for compatibility: there is no BFD process.
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Run every subsystem (the default).
    #[arg(long = "all")]
    pub all: bool,
    /// Log messages to the console too.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility local0..local7.
    #[arg(short = 'S', long = "log-facility", value_name = "0-7", value_parser = clap::value_parser!(u8).range(0..=7))]
    pub log_facility: Option<u8>,
    /// Log to FILE, one file per subsystem (FILE_vrrp, FILE_healthcheckers, FILE_ipvs).
    #[arg(short = 'g', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Accepted for compatibility: log files are written unbuffered.
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,
    /// Do not log via syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// Do not fork into the background.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Dump the parsed configuration.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// With -t: pass a configuration that uses keywords keepalived-rs does
    /// not implement yet, even those that change failover, traffic, health
    /// checks or scripts (they are still listed). Without it -t exits 3.
    #[arg(long = "allow-unsupported", requires = "config_test")]
    pub allow_unsupported: bool,
    /// Parent pid file.
    #[arg(
        short = 'p',
        long = "pid",
        value_name = "FILE",
        default_value = "/run/keepalived.pid"
    )]
    pub pid: PathBuf,
    /// VRRP child pid file.
    #[arg(
        short = 'r',
        long = "vrrp_pid",
        value_name = "FILE",
        default_value = "/run/keepalived_vrrp.pid"
    )]
    pub vrrp_pid: PathBuf,
    /// Health-checker child pid file.
    #[arg(
        short = 'c',
        long = "checkers_pid",
        value_name = "FILE",
        default_value = "/run/keepalived_checkers.pid"
    )]
    pub checkers_pid: PathBuf,
    /// IPVS child pid file.
    #[arg(
        long = "ipvs_pid",
        value_name = "FILE",
        default_value = "/run/keepalived_ipvs.pid"
    )]
    pub ipvs_pid: PathBuf,
    /// Check the configuration and exit (non-zero on any reported problem).
    #[arg(short = 't', long = "config-test", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub config_test: Option<Option<PathBuf>>,
    /// Run the whole suite inside network namespace NAME (/run/netns/NAME).
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Configuration id for `@id` conditional lines (default: the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Do not restart children that exit.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Accepted for compatibility (VIPs are always released on stop).
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// File creation mask of the suite and its scripts, in numeric form
    /// (default 0177, or `umask` in global_defs).
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Print the TOML form of the configuration FILE and exit.
    #[arg(long = "convert", value_name = "FILE")]
    pub convert: Option<PathBuf>,
    /// Print the signal number for STOP, RELOAD, DATA or STATS and exit.
    #[arg(long = "signum", value_name = "NAME")]
    pub signum: Option<String>,
    /// Seccomp policy of the children: kill (default), log (debug) or off.
    #[arg(long = "seccomp", value_name = "MODE", default_value = "kill")]
    pub seccomp: keepalived_sandbox::SeccompMode,
    /// Syslog socket path (default /dev/log).
    #[arg(long = "syslog-socket", value_name = "PATH", hide = true)]
    pub syslog_socket: Option<PathBuf>,
    /// Directory holding vrrpd, checkerd and ipvsd (default: beside this
    /// binary, else /usr/libexec/keepalived-rs).
    #[arg(long = "libexec-dir", value_name = "DIR", hide = true)]
    pub libexec_dir: Option<PathBuf>,
    /// Directory of the control sockets keepalivedctl talks to
    /// (status.sock, read-only, group keepalived-rs; control.sock, root).
    #[arg(long = "control-dir", value_name = "DIR", default_value = keepalived_ipc::control::DEFAULT_DIR)]
    pub control_dir: PathBuf,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Write the man page and shell completions into DIR (packaging).
    #[arg(long = "generate-docs", value_name = "DIR", hide = true)]
    pub generate_docs: Option<PathBuf>,
}

impl Cli {
    /// The file `-t` checks: its own argument, else `-f`.
    pub fn config_test_file(&self) -> Option<PathBuf> {
        self.config_test
            .as_ref()
            .map(|o| o.clone().unwrap_or_else(|| self.use_file.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--allow-unsupported` only means something to `-t`: without it the
    /// option is refused, not silently ignored.
    #[test]
    fn allow_unsupported_needs_the_config_test() {
        assert!(Cli::try_parse_from(["keepalived-rs", "--allow-unsupported"]).is_err());
        let c = Cli::try_parse_from(["keepalived-rs", "-t", "--allow-unsupported"]).unwrap();
        assert!(c.allow_unsupported);
    }
}
