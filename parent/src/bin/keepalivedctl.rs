//! keepalivedctl: ask a running keepalived-rs what it is doing, reload it
//! and wait for the outcome, read its dumps and metrics, check a
//! configuration file.
//!
//! Read commands use the read-only socket (root or the keepalived-rs
//! group); `reload` and `stats --clear` the control socket (root).
//! Exit status: 0 done, 1 the suite answered that it failed (a reload
//! refused or not loaded, an error), 2 no answer (not running, refused).

use clap::{Parser, Subcommand, ValueEnum};
use keepalived_ipc::control::{
    DumpWhat, Request, Response, Status, CONTROL_SOCKET, DEFAULT_DIR, STATUS_SOCKET,
};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::exit;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "keepalivedctl",
    version,
    about = "Control and inspect a running keepalived-rs"
)]
struct Cli {
    /// Directory of keepalived-rs's control sockets (its --control-dir).
    #[arg(long = "control-dir", value_name = "DIR", default_value = DEFAULT_DIR, global = true)]
    control_dir: PathBuf,
    /// Talk to this socket instead of the one the command needs.
    #[arg(long = "socket", value_name = "PATH", global = true)]
    socket: Option<PathBuf>,
    /// Print keepalived-rs's JSON answer as it is.
    #[arg(long = "json", global = true)]
    json: bool,
    /// Write the man page and shell completions into DIR (packaging).
    #[arg(long = "generate-docs", value_name = "DIR", hide = true)]
    generate_docs: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Instances, real servers, scripts, children, configuration and last
    /// reload.
    Status,
    /// Reload the configuration file; wait until every child applied or
    /// refused it (exit 1 when it failed or did not load).
    Reload,
    /// A dump's text (what SIGUSR1, SIGUSR2 or the JSON signal write).
    Dump {
        #[arg(value_enum)]
        what: What,
    },
    /// The statistics dump; `--clear` resets the VRRP counters after it.
    Stats {
        #[arg(long)]
        clear: bool,
    },
    /// Prometheus text (for node_exporter's textfile collector).
    Metrics,
    /// Each process's ids, capabilities, no_new_privs, seccomp mode and
    /// allowlist, as the kernel reports them.
    Audit,
    /// A master instance sends its gratuitous ARPs / unsolicited NAs again
    /// now (after a switch was replaced, say).
    Garp {
        /// The vrrp_instance's name.
        instance: String,
    },
    /// Every transition as it happens, one line each, until interrupted:
    /// notify-FIFO lines (`INSTANCE "VI_1" MASTER 150`), JSON with --json.
    Events,
    /// Check a configuration file as `keepalived-rs -t` does.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigAction {
    /// keepalived's `-t`: exit status and messages are keepalived-rs -t's.
    Check {
        #[arg(
            short = 'f',
            long = "use-file",
            default_value = "/etc/keepalived/keepalived.conf"
        )]
        file: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum What {
    Data,
    Stats,
    Json,
}

#[path = "../docs_gen.rs"]
mod docs_gen;

fn main() {
    let cli = Cli::parse();
    if let Some(dir) = &cli.generate_docs {
        use clap::CommandFactory;
        if let Err(e) = docs_gen::generate(Cli::command(), dir) {
            eprintln!("keepalivedctl: cannot write {}: {e}", dir.display());
            exit(1);
        }
        return;
    }
    let Some(command) = &cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        exit(2);
    };
    let request = match command {
        Command::Status => Request::Status,
        Command::Reload => Request::Reload,
        Command::Dump { what } => Request::Dump {
            what: match what {
                What::Data => DumpWhat::Data,
                What::Stats => DumpWhat::Stats,
                What::Json => DumpWhat::Json,
            },
        },
        Command::Stats { clear: true } => Request::StatsClear,
        Command::Stats { clear: false } => Request::Dump {
            what: DumpWhat::Stats,
        },
        Command::Metrics => Request::Metrics,
        Command::Audit => Request::Audit,
        Command::Garp { instance } => Request::Garp {
            instance: instance.clone(),
        },
        Command::Events => Request::Events { json: cli.json },
        Command::Config {
            action: ConfigAction::Check { file },
        } => {
            // It runs `keepalived-rs -t`, which talks to no socket and
            // prints no JSON: say so rather than ignore the option.
            if cli.json || cli.socket.is_some() {
                eprintln!(
                    "keepalivedctl: config check reads the file itself: --json and --socket do not apply"
                );
                exit(2);
            }
            exit(config_check(file))
        }
    };
    let socket = cli.socket.clone().unwrap_or_else(|| {
        cli.control_dir.join(if request.read_only() {
            STATUS_SOCKET
        } else {
            CONTROL_SOCKET
        })
    });
    if let Request::Events { .. } = request {
        exit(follow(&socket, &request));
    }
    // A reload waits for the children's barrier: the answer may take a
    // while, never for ever.
    let (answer, response) =
        match keepalived_ipc::control::ask(&socket, &request, Duration::from_secs(150)) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("keepalivedctl: {}: {e}", socket.display());
                exit(2);
            }
        };
    if cli.json {
        println!("{answer}");
    }
    exit(match response {
        Response::Error(why) => {
            eprintln!("keepalivedctl: {why}");
            1
        }
        Response::Reload(r) => {
            if !cli.json {
                print!("{}", reload_text(&r));
            }
            i32::from(!r.ok())
        }
        Response::Text(t) => {
            if !cli.json {
                print!("{t}");
            }
            0
        }
        Response::Audit(procs) => {
            if !cli.json {
                print!("{}", audit_text(&procs));
            }
            0
        }
        Response::Status(s) => {
            if !cli.json {
                print!("{}", status_text(&s));
            }
            0
        }
    });
}

/// `events`: print each line as it comes, until the suite goes away.
fn follow(socket: &std::path::Path, request: &Request) -> i32 {
    let run = || -> std::io::Result<()> {
        let answers = keepalived_ipc::control::send(socket, request, None)?;
        let mut out = std::io::stdout().lock();
        for l in answers.lines() {
            writeln!(out, "{}", l?)?;
            out.flush()?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("keepalivedctl: {}: {e}", socket.display());
            2
        }
    }
}

fn config_check(file: &std::path::Path) -> i32 {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("keepalived-rs")))
        .filter(|p| p.exists());
    let bin = beside.unwrap_or_else(|| PathBuf::from("/usr/sbin/keepalived-rs"));
    match std::process::Command::new(&bin)
        .arg(format!("--config-test={}", file.display()))
        .status()
    {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("keepalivedctl: cannot run {}: {e}", bin.display());
            2
        }
    }
}

/// A check's duration for people: milliseconds below 10 s.
fn human_ms(secs: f64) -> String {
    if secs < 10.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// `status` for people.
fn status_text(s: &Status) -> String {
    let mut t = format!(
        "keepalived-rs {} (pid {}), configuration {}\n",
        s.version, s.pid, s.configuration
    );
    if let Some(r) = &s.last_reload {
        t.push_str(&format!("Last reload: {}", reload_text(r)));
    }
    t.push_str("Children:\n");
    for c in &s.children {
        t.push_str(&format!(
            "  {:<9} {:<8} pid {:<7} restarts {:<3} configuration {}\n",
            c.name,
            c.state,
            c.pid.map_or("-".into(), |p| p.to_string()),
            c.restarts,
            c.configuration.map_or("-".into(), |g| g.to_string())
        ));
    }
    let instances = s.vrrp.as_array().cloned().unwrap_or_default();
    if !instances.is_empty() {
        t.push_str("VRRP instances:\n");
    }
    for i in &instances {
        let d = &i["data"];
        let state = d["state"]
            .as_u64()
            .and_then(|n| keepalived_types::DUMP_STATE_NAMES.get(n as usize).copied())
            .unwrap_or("?");
        let since = d["last_transition"].as_f64().map_or(String::new(), |at| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            format!(", for {}", human((now - at).max(0.0)))
        });
        t.push_str(&format!(
            "  {:<12} {:<7} {} vrid {} priority {} (base {}){since}\n",
            d["iname"].as_str().unwrap_or("?"),
            state,
            d["ifp_ifname"].as_str().unwrap_or("?"),
            d["vrid"],
            d["effective_priority"],
            d["base_priority"]
        ));
        for v in d["vips"].as_array().into_iter().flatten() {
            t.push_str(&format!("      {}\n", v.as_str().unwrap_or_default()));
        }
    }
    if !s.scripts.is_empty() {
        t.push_str("Scripts:\n");
        for sc in &s.scripts {
            let v = if sc.good { "GOOD" } else { "BAD" };
            t.push_str(&format!("  {:<20} {v}\n", sc.name));
        }
    }
    match s.ipvs {
        Some(true) => t.push_str("IPVS: available\n"),
        Some(false) => t.push_str("IPVS: not available (the kernel has no IPVS, or it refused)\n"),
        None => {}
    }
    if !s.virtual_servers.is_empty() {
        t.push_str("Virtual servers:\n");
        for v in &s.virtual_servers {
            let quorum = match v.quorum_up {
                Some(true) => "quorum up",
                Some(false) => "quorum DOWN",
                None => "quorum not reported yet",
            };
            t.push_str(&format!(
                "  {} {} {}: {}/{} real servers up, {quorum} (needs {})\n",
                v.virtual_server,
                v.lb_algo.as_deref().unwrap_or("-"),
                v.lb_kind.as_deref().unwrap_or("-"),
                v.real_servers_up,
                v.real_servers,
                v.quorum
            ));
        }
    }
    if !s.real_servers.is_empty() {
        t.push_str("Real servers:\n");
        for r in &s.real_servers {
            let checks = if r.checks.is_empty() {
                "no check".to_string()
            } else {
                r.checks.join(", ")
            };
            let took = r.check_seconds.map_or(String::new(), |s| {
                format!(", last check took {}", human_ms(s))
            });
            t.push_str(&format!(
                "  {} -> {} {}{} ({checks}){took}\n",
                r.virtual_server,
                r.real_server,
                if r.up { "UP" } else { "DOWN" },
                r.effective_weight()
                    .map_or(String::new(), |w| format!(" weight {w}"))
            ));
        }
    }
    if s.log_lines_dropped > 0 {
        t.push_str(&format!("Log lines dropped: {}\n", s.log_lines_dropped));
    }
    if !s.unsupported.is_empty() {
        t.push_str("Not implemented by keepalived-rs (keepalived would act on them):\n");
        for u in &s.unsupported {
            t.push_str(&format!("  {u}\n"));
        }
    }
    t
}

/// `audit` for people.
fn audit_text(procs: &[keepalived_ipc::control::ProcessAudit]) -> String {
    let mut t = String::new();
    for p in procs {
        t.push_str(&format!("{} (pid {})\n", p.process, p.pid));
        let ids = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
        t.push_str(&format!(
            "  uid {}  gid {}  groups [{}]\n",
            ids(&p.uid),
            ids(&p.gid),
            ids(&p.groups)
        ));
        for (set, names) in &p.capabilities {
            let names = if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(" ")
            };
            t.push_str(&format!("  {set:<12} {names}\n"));
        }
        t.push_str(&format!(
            "  no_new_privs {}  seccomp {}\n",
            p.no_new_privs, p.seccomp
        ));
        if !p.allowed_syscalls.is_empty() {
            t.push_str(&format!(
                "  sockets: {}; netlink: {}\n  syscalls ({}): {}\n",
                p.socket_families.join(", "),
                if p.netlink_protocols.is_empty() {
                    "none".to_string()
                } else {
                    p.netlink_protocols.join(", ")
                },
                p.allowed_syscalls.len(),
                p.allowed_syscalls.join(" ")
            ));
        }
    }
    t
}

/// `configuration N: RESULT`, then each detail indented.
fn reload_text(r: &keepalived_ipc::control::ReloadOutcome) -> String {
    let mut t = format!("configuration {}: {}\n", r.generation, r.result);
    for d in &r.details {
        t.push_str(&format!("  {d}\n"));
    }
    t
}

fn human(secs: f64) -> String {
    let s = secs as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}
