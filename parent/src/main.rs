//! keepalived-rs: the parent process.
//!
//! Parses and validates the configuration, enters the namespace, forks into
//! the background, drops to the capabilities it needs to spawn children, and
//! supervises vrrpd, checkerd and ipvsd. It never opens a network socket.

mod audit;
mod backoff;
mod check_plan;
mod check_sockets;
mod cli;
mod conf_page;
mod control;
mod docs_gen;
mod dumpfile;
mod fifo;
mod file_mode;
mod fs_ids;
mod heartbeat;
mod hook_script;
mod ipvs_plan;
mod lifecycle;
mod local_igmp;
mod logfiles;
mod pidfile;
#[cfg(test)]
mod plan_coverage;
mod script_security;
mod service;
mod signals;
mod slices;
mod spawn;
mod ssl_client;
mod state;
mod supervisor;
mod tuning;
mod user_scripts;
mod vrrp_plan;

use cli::Cli;
use keepalived_config::{LoadOptions, Severity};
use keepalived_ipc::Subsystem;
use keepalived_log::LogSettings;
use log::{error, info, warn};
use pidfile::PidFiles;
use std::process::exit;

/// Status when the configuration cannot run at all.
const EXIT_CONFIG: i32 = 3;
/// `-t`: keepalived would pass the file, but it uses keywords keepalived-rs
/// does not implement that change behaviour (LSB: unimplemented feature).
const EXIT_UNSUPPORTED: i32 = 3;

fn main() {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Which pid files were left at their defaults (a namespace moves those).
    let default_pids: Vec<&str> = NAMESPACED_PID_FILES
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::DefaultValue))
        .collect();
    if cli.version {
        eprint!("{}", version_text());
        return;
    }
    if let Some(dir) = &cli.generate_docs {
        use clap::CommandFactory;
        // The daemon's page, its completions, and keepalived.conf(5).
        if let Err(e) = docs_gen::generate(Cli::command(), dir).and_then(|_| conf_page::write(dir))
        {
            eprintln!("cannot write {}: {e}", dir.display());
            exit(1);
        }
        return;
    }
    if let Some(name) = &cli.signum {
        exit(print_signum(name));
    }
    let load = LoadOptions {
        config_id: cli.config_id.clone(),
    };
    if let Some(path) = &cli.convert {
        match keepalived_config::load_file(path, &load) {
            Ok(l) => {
                for d in &l.diagnostics {
                    eprintln!("{d}");
                }
                print!("{}", keepalived_config::to_toml(&l.config));
                exit(0);
            }
            Err(e) => {
                eprint!("{e}");
                exit(EXIT_CONFIG);
            }
        }
    }
    if let Some(path) = cli.config_test_file() {
        exit(config_test(
            &path,
            &load,
            cli.dump_conf,
            cli.allow_unsupported,
        ));
    }

    // keepalived's file creation mask before anything is created; the
    // configuration's `umask` replaces it once read, unless -u gave one.
    let umask_cmdline = cli
        .umask
        .as_deref()
        .and_then(|a| file_mode::parse_cli(a).map_err(|e| eprintln!("{e}")).ok());
    file_mode::apply(file_mode::effective(umask_cmdline, None));
    let mut ident_suffix: Option<String> = None;
    let mut pid_dir: Option<std::path::PathBuf> = None;
    init_logging(&cli, None);
    info!("Starting keepalived-rs v{}", env!("CARGO_PKG_VERSION"));
    let unsupported: Vec<String>;
    let config = match keepalived_config::load_file(&cli.use_file, &load) {
        Ok(l) => {
            for d in &l.diagnostics {
                warn!("{d}");
            }
            for n in &l.notes {
                info!("{n}");
            }
            unsupported = l.unsupported_lines();
            for u in &unsupported {
                warn!("{u}");
            }
            let mut config = l.config;
            file_mode::apply(file_mode::effective(
                umask_cmdline,
                config.global_defs.umask,
            ));
            script_security::apply(
                &mut config,
                keepalived_sandbox::privileges::unprivileged_user(),
            );
            config
        }
        Err(e) => {
            for d in &e.diagnostics {
                error!("{d}");
                if !cli.log_console {
                    eprintln!("{d}");
                }
            }
            error!(
                "Configuration {} cannot run; exiting",
                cli.use_file.display()
            );
            keepalived_log::flush();
            exit(EXIT_CONFIG);
        }
    };
    if cli.dump_conf {
        println!("{config:#?}");
    }
    // `net_namespace` (keepalived 2.2.7): the configuration's namespace,
    // unless -s names one.
    let namespace = match (&cli.namespace, &config.net_namespace) {
        (Some(c), Some(f)) if c != f => {
            info!("Overriding config net_namespace '{f}' with command line namespace '{c}'");
            Some(c.clone())
        }
        (c, f) => c.clone().or(f.clone()),
    };
    // `instance NAME` (the start's: a reload cannot change it, as in
    // keepalived): syslog idents end in _NAMESPACE_NAME; with it, a
    // namespace or `use_pid_dir`, the pid files not given on the command
    // line live in /run/keepalived/[NAMESPACE/] (keepalived[_NAME].pid...).
    let instance = config.instance_name.clone();
    if namespace.is_some() || instance.is_some() {
        let suffix: String = [&namespace, &instance]
            .into_iter()
            .flatten()
            .map(|s| format!("_{s}"))
            .collect();
        init_logging(&cli, Some(&suffix));
        info!("Changing syslog ident to Keepalived{suffix}");
        ident_suffix = Some(suffix);
    }
    if namespace.is_some() || instance.is_some() || config.use_pid_dir {
        pid_dir = pid_dir_files(
            &mut cli,
            namespace.as_deref(),
            instance.as_deref(),
            &default_pids,
        );
    }
    if let Some(ns) = &namespace {
        if let Err(e) = enter_namespace(ns) {
            let hint = if e == nix::errno::Errno::EPERM {
                " (under the packaged unit's RestrictNamespaces=yes: add a drop-in with RestrictNamespaces=net)"
            } else {
                ""
            };
            error!("cannot enter network namespace {ns}: {e}{hint}");
            exit(1);
        }
        info!("Running in network namespace {ns}");
    }
    // The main pid file is the single-instance guard, taken before forking
    // as keepalived checks: a second instance stops here, untouched.
    let mut pid_files = PidFiles::default();
    if let Err(e) = pid_files.claim(&cli.pid, std::process::id()) {
        info!("daemon is already running ({e})");
        if !cli.log_console {
            eprintln!("{e}");
        }
        keepalived_log::flush();
        exit(0);
    }
    if !cli.dont_fork {
        if let Err(e) = nix::unistd::daemon(false, false) {
            error!("cannot fork into the background: {e}");
            exit(1);
        }
        // The pid changed: syslog lines must carry the new one.
        init_logging(&cli, ident_suffix.as_deref());
    }
    raise_fd_limit();
    // The daemon's pid (the lock came through the fork).
    pid_files.update_main(std::process::id());
    // FIFOs and status.sock are created as their future owner (fs_ids):
    // no CAP_CHOWN, here or under the unit.
    let fifos =
        fifo::NotifyFifos::open(&config, keepalived_sandbox::privileges::unprivileged_user());
    let control = control::ControlServer::bind(
        &cli.control_dir,
        keepalived_sandbox::privileges::unprivileged_user().1,
    );
    let tuning = tuning::needs_caps(&config.global_defs);
    if let Err(e) = keepalived_sandbox::drop_parent_privileges(tuning) {
        error!("cannot drop capabilities: {e}");
        pid_files.remove_all();
        exit(1);
    }
    if tuning {
        tuning::warn_missing_caps(&keepalived_sandbox::missing_tuning_caps());
    }
    let settings = supervisor::Settings {
        config_path: cli.use_file.clone(),
        load,
        enabled: enabled_subsystems(&cli),
        child: spawn::ChildOptions {
            seccomp: cli.seccomp,
            console: cli.log_console,
            detail: cli.log_detail,
            syslog: !cli.no_syslog,
            facility: cli.log_facility,
            syslog_socket: cli.syslog_socket.clone(),
            libexec_dir: cli.libexec_dir.clone(),
            ident_suffix: ident_suffix.clone(),
        },
        namespace: namespace.clone(),
        namespace_from_cli: cli.namespace.is_some(),
        pid_dir,
        log_file: cli.log_file.clone(),
        pid_files: vec![
            (Subsystem::Vrrp, cli.vrrp_pid.clone()),
            (Subsystem::Checker, cli.checkers_pid.clone()),
            (Subsystem::Ipvs, cli.ipvs_pid.clone()),
        ],
        respawn: !cli.dont_respawn,
        umask_cmdline,
    };
    match supervisor::Supervisor::new(settings, config, unsupported, pid_files, fifos, control) {
        Ok(s) => exit(s.run()),
        Err(e) => {
            error!("cannot start the supervisor: {e}");
            exit(1);
        }
    }
}

/// `-P` runs VRRP and the checker process (which runs its scripts), `-C`
/// the checker and IPVS; neither or both: all three.
fn enabled_subsystems(cli: &Cli) -> Vec<Subsystem> {
    match (cli.vrrp, cli.check) {
        (true, false) => vec![Subsystem::Vrrp, Subsystem::Checker],
        (false, true) => vec![Subsystem::Checker, Subsystem::Ipvs],
        _ => Subsystem::ALL.to_vec(),
    }
}

/// The pid file arguments and their names in /run/keepalived/[NAMESPACE/].
const NAMESPACED_PID_FILES: [(&str, &str); 4] = [
    ("pid", "keepalived"),
    ("vrrp_pid", "vrrp"),
    ("checkers_pid", "checkers"),
    ("ipvs_pid", "ipvs"),
];

/// keepalived 2.2.7 with a network namespace, an `instance` name or
/// `use_pid_dir`: pid files not given on the command line go to
/// /run/keepalived/ (/run/keepalived/NAMESPACE/ with a namespace), named
/// keepalived.pid, vrrp.pid, checkers.pid (ours adds ipvs.pid), with
/// `_NAME` before `.pid` for an instance name; the directory made 0755
/// (returned: removed at stop when empty).
fn pid_dir_files(
    cli: &mut Cli,
    ns: Option<&str>,
    instance: Option<&str>,
    defaults: &[&str],
) -> Option<std::path::PathBuf> {
    let mut dir = std::path::PathBuf::from("/run/keepalived");
    if let Some(ns) = ns {
        dir.push(ns);
    }
    if defaults.is_empty() {
        return None;
    }
    // Each directory made 0755 whatever the umask (keepalived's 0177 would
    // make /run/keepalived 0600: no way through it for the parent, which
    // runs without CAP_DAC_OVERRIDE once its children are started).
    use std::os::unix::fs::PermissionsExt;
    let mut made = std::path::PathBuf::new();
    for part in dir.components() {
        made.push(part);
        if made.is_dir() {
            continue;
        }
        match std::fs::create_dir(&made) {
            Ok(()) => {
                let _ = std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o755));
            }
            // Made meanwhile by someone else (create_dir_all's rule too).
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && made.is_dir() => {}
            Err(e) => {
                info!("Unable to create directory {} ({e})", dir.display());
                return None;
            }
        }
    }
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
    for (id, file) in NAMESPACED_PID_FILES
        .iter()
        .filter(|(id, _)| defaults.contains(id))
    {
        let slot = match *id {
            "pid" => &mut cli.pid,
            "vrrp_pid" => &mut cli.vrrp_pid,
            "checkers_pid" => &mut cli.checkers_pid,
            "ipvs_pid" => &mut cli.ipvs_pid,
            _ => continue,
        };
        let name = match instance {
            Some(i) => format!("{file}_{i}.pid"),
            None => format!("{file}.pid"),
        };
        *slot = dir.join(name);
    }
    Some(dir)
}

fn init_logging(cli: &Cli, ident_suffix: Option<&str>) {
    let mut s = LogSettings::new(&format!("Keepalived{}", ident_suffix.unwrap_or("")));
    s.console = cli.log_console;
    s.detail = cli.log_detail;
    s.syslog = !cli.no_syslog;
    s.syslog_socket = cli.syslog_socket.clone();
    if let Some(f) = cli
        .log_facility
        .and_then(keepalived_log::facility_from_number)
    {
        s.facility = f;
    }
    if let Some(path) = &cli.log_file {
        match logfiles::open_log(path) {
            Ok(fd) => s.file = Some(fd),
            Err(e) => eprintln!("cannot open log file {}: {e}", path.display()),
        }
    }
    keepalived_log::init(s);
}

/// `-t`: print every problem with its location, then a summary line; the
/// exit status is keepalived 2.2.7's (0 passed, 2 a keyword lacks its
/// word, 4 only missing interfaces, 5 any other problem, 6 a security
/// violation or a checked include failure). Reads files only: nothing
/// touches the network or the system.
fn config_test(
    path: &std::path::Path,
    load: &LoadOptions,
    dump: bool,
    allow_unsupported: bool,
) -> i32 {
    let (diags, notes, status, runs, unsupported, blocking) =
        match keepalived_config::load_file(path, load) {
            Ok(l) => {
                if dump {
                    println!("{:#?}", l.config);
                }
                let status = l.config_test_exit();
                let blocking = l.unsupported_blocking().count();
                (
                    l.diagnostics,
                    l.notes,
                    status,
                    true,
                    l.unsupported,
                    blocking,
                )
            }
            Err(e) => {
                let status = e.config_test_exit();
                (e.diagnostics, Vec::new(), status, false, Vec::new(), 0)
            }
        };
    // Notes (what keepalived logs without failing -t) first, as notes.
    for n in &notes {
        eprintln!("{}", n.as_note());
    }
    for d in &diags {
        eprintln!("{d}");
    }
    // What keepalived would act on and keepalived-rs does not: never
    // silent. It fails the test (exit 3, LSB's "unimplemented feature")
    // where it changes behaviour, unless --allow-unsupported; keepalived's
    // own verdict comes first when the file fails it anyway.
    for u in &unsupported {
        eprintln!("{}", u.diagnostic());
    }
    if status == 0 && blocking > 0 && !allow_unsupported {
        eprintln!(
            "{}: {blocking} keyword(s) keepalived acts on are not implemented by keepalived-rs              and change failover, traffic, health checks or scripts (listed above);              keepalived-rs would run it without them (--allow-unsupported accepts this)",
            path.display()
        );
        return EXIT_UNSUPPORTED;
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    if status == 0 {
        eprintln!("{}: configuration OK", path.display());
    } else {
        eprintln!(
            "{}: {errors} error(s), {warnings} warning(s){}",
            path.display(),
            if runs {
                " (keepalived-rs would run it, skipping what is reported)"
            } else {
                "; keepalived-rs would not run this configuration"
            }
        );
    }
    status
}

/// Thousands of real servers mean thousands of sockets in checkerd, which
/// inherits this limit: raise it while the parent may (CAP_SYS_RESOURCE is
/// dropped right after).
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    const WANT: u64 = 1 << 20;
    if setrlimit(Resource::RLIMIT_NOFILE, WANT, WANT).is_err() {
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn enter_namespace(name: &str) -> nix::Result<()> {
    use nix::fcntl::{open, OFlag};
    use nix::sched::{setns, CloneFlags};
    use nix::sys::stat::Mode;
    let fd = open(
        format!("/run/netns/{name}").as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    setns(fd, CloneFlags::CLONE_NEWNET)
}

/// `-v`, on stderr as keepalived prints it: version-parsing tools (the
/// Prometheus exporters) read the second word of the first line and look
/// for `--enable-json` among the configure options, so the first line is
/// the keepalived version this suite is compatible with, and
/// keepalived-rs's own version follows.
fn version_text() -> String {
    format!(
        "Keepalived v2.2.7 (keepalived-rs {v} compatibility version)\n\n\
         keepalived-rs v{v}: a privilege-separated reimplementation of keepalived in Rust\n\n\
         configure options: --enable-json --enable-regex --enable-vrrp-auth --enable-vmac\n\n\
         Config options: LVS VRRP VRRP_AUTH VRRP_VMAC JSON REGEX TRACK_PROCESS\n",
        v = env!("CARGO_PKG_VERSION")
    )
}

/// `--signum NAME`: the signal keepalived uses for that action, printed
/// on stdout; an unknown name as keepalived 2.2.7 reports it (exit 1).
fn print_signum(name: &str) -> i32 {
    match signals::number(name) {
        Some(n) => {
            println!("{n}");
            0
        }
        None => {
            eprintln!("Unknown sigfunc {name}");
            1
        }
    }
}
