//! checkerd's plan ([`keepalived_check::plan::CheckPlan`]), compiled once
//! per configuration: every real server with its checkers (targets,
//! timings, HTTP urls, DNS and UDP payloads parsed here, with a bad value
//! reported once and that checker left out), the track scripts, the file
//! and process trackers some instance or group uses, every notify script
//! by id (from the same allowlist checkerd's launcher and the parent run
//! scripts from) and the SMTP settings. No VRRP password, no command line.

use keepalived_check::plan::{
    CheckPlan, FifoScript, FileInit, FilePlan, ProcessPlan, ServerPlan, SmtpPlan, StatePlan, VsPlan,
};
use keepalived_check::probe::client_cert::ClientCert;
use keepalived_check::probe::http::BodyRegex;
use keepalived_check::sockets::SocketKey;
use keepalived_check::{
    CheckKind, CheckSpec, DnsSpec, Endpoint, FileSpec, HttpProtocol, HttpSpec, MiscSpec,
    RealServerSpec, ScriptCommand, ScriptSpec, StatusCodes, Timing, TlsSpec, UdpSpec, UrlSpec,
};
use keepalived_config::{Checker, CheckerKind, Config, RealServer, VirtualServer};
use keepalived_ipc::script_allow::{script_owner, Allowlist, Extras};
use keepalived_ipc::Ids;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Looks scripts up in the allowlist of the same configuration.
struct Scripts<'a> {
    config: &'a Config,
    list: &'a Allowlist,
    errors: &'a mut Vec<String>,
    /// The SSL block's client certificate (loaded by the caller).
    ssl: Option<&'a ClientCert>,
}

impl Scripts<'_> {
    /// `what` names the script in an error (formatted only then).
    fn find(
        &mut self,
        what: &dyn std::fmt::Display,
        line: &str,
        own: Option<&str>,
        extras: Extras,
    ) -> Option<ScriptCommand> {
        match self.list.find(line, own, extras) {
            Some(r) => Some(ScriptCommand {
                call: keepalived_check::ScriptCall {
                    script: r.id,
                    args: keepalived_check::ScriptArgs::None,
                },
                by_parent: r.by_parent,
            }),
            None => {
                self.errors.push(format!(
                    "{what}: '{line}' cannot run (empty, or its user does not exist); not run"
                ));
                None
            }
        }
    }

    fn opt(&mut self, what: std::fmt::Arguments, line: &Option<String>) -> Option<ScriptCommand> {
        line.as_deref()
            .and_then(|l| self.find(&what, l, None, Extras::None))
    }
}

fn endpoint(c: &Checker, vs: &VirtualServer, rs: &RealServer) -> Endpoint {
    let ip = c.connect_ip.unwrap_or(rs.ip);
    let port = c.connect_port.or(rs.port).or(vs.port).unwrap_or(0);
    let bind = c
        .bindto
        .map(|b| SocketAddr::new(b, c.bind_port.unwrap_or(0)));
    Endpoint {
        dst: SocketAddr::new(ip, port),
        bind,
        mark: c.fwmark,
        bind_if: c.bind_if.clone(),
    }
}

fn http(
    c: &Checker,
    vs: &VirtualServer,
    rs: &RealServer,
    ssl: Option<&ClientCert>,
) -> Result<HttpSpec, String> {
    let urls = c
        .url
        .iter()
        .map(|u| {
            let status = if u.status_code.is_empty() {
                StatusCodes::parse(&["200-299"])?
            } else {
                StatusCodes::parse(&u.status_code)?
            };
            let digest = match &u.digest {
                Some(d) => Some(
                    keepalived_check::probe::http::parse_digest(d)
                        .ok_or(format!("bad digest {d}"))?,
                ),
                None => None,
            };
            Ok(UrlSpec {
                path: u.path.clone(),
                digest,
                status,
                virtualhost: u.virtualhost.clone(),
                regex: u.regex.as_ref().map(|r| {
                    BodyRegex::new(
                        r,
                        &u.regex_options,
                        u.regex_no_match,
                        u.regex_min_offset.unwrap_or(0),
                        u.regex_max_offset,
                    )
                }),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let protocol = match c.http_protocol.as_deref() {
        Some("1.1") => HttpProtocol::Http11,
        Some("1.0C") | Some("1.0c") => HttpProtocol::Http10Close,
        _ => HttpProtocol::Http10,
    };
    let virtualhost = c
        .virtualhost
        .clone()
        .or(rs.virtualhost.clone())
        .or(vs.virtualhost.clone());
    let tls = (c.kind == CheckerKind::SslGet).then(|| TlsSpec {
        verify_roots: Vec::new(),
        client: ssl.cloned(),
        sni: if c.enable_sni == Some(true) {
            virtualhost.clone()
        } else {
            None
        },
    });
    Ok(HttpSpec {
        urls,
        virtualhost,
        protocol,
        fast_recovery: c.fast_recovery.unwrap_or(false),
        tls,
    })
}

fn kind(
    scripts: &mut Scripts,
    c: &Checker,
    vs: &VirtualServer,
    rs: &RealServer,
) -> Result<Option<CheckKind>, String> {
    let config = scripts.config;
    let ep = endpoint(c, vs, rs);
    Ok(Some(match c.kind {
        CheckerKind::Tcp => CheckKind::Tcp(ep),
        CheckerKind::HttpGet | CheckerKind::SslGet => {
            CheckKind::Http(ep, http(c, vs, rs, scripts.ssl)?)
        }
        CheckerKind::Smtp => CheckKind::Smtp(
            ep,
            c.helo_name.clone().unwrap_or_else(|| "localhost".into()),
        ),
        CheckerKind::Dns => {
            let mut d = DnsSpec::default();
            if let Some(t) = &c.dns_type {
                d.qtype = keepalived_check::probe::dns::qtype(t)
                    .ok_or(format!("unknown DNS type {t}"))?;
            }
            if let Some(n) = &c.name {
                d.name = n.clone();
            }
            CheckKind::Dns(ep, d)
        }
        CheckerKind::Udp => {
            let mut u = UdpSpec {
                max_reply_len: 255,
                ..Default::default()
            };
            if let Some(p) = &c.payload {
                u.payload = keepalived_check::probe::udp::parse_hex(p)
                    .ok_or(format!("bad payload {p}"))?
                    .0;
            }
            if let Some(r) = &c.require_reply {
                u.require_reply = Some(
                    keepalived_check::probe::udp::parse_hex(r)
                        .ok_or(format!("bad require_reply {r}"))?,
                );
            }
            u.min_reply_len = c.min_reply_length.unwrap_or(0) as usize;
            if let Some(m) = c.max_reply_length {
                u.max_reply_len = m as usize;
            }
            CheckKind::Udp(ep, u)
        }
        CheckerKind::Ping => CheckKind::Ping(ep.dst.ip()),
        CheckerKind::Misc => {
            let line = c
                .misc_path
                .as_deref()
                .ok_or("MISC_CHECK without misc_path")?;
            let what = format!("MISC_CHECK of {}", rs.key(vs));
            let Some(command) = scripts.find(&what, line, c.user.as_deref(), Extras::None) else {
                return Ok(None);
            };
            CheckKind::Misc(MiscSpec {
                command,
                timeout: c.misc_timeout.map(secs),
                dynamic: c.misc_dynamic,
            })
        }
        // `track_file NAME` names a track_file block: its file is read
        // (keepalived's check_file.c), not a file called NAME.
        CheckerKind::File => CheckKind::File(FileSpec {
            path: {
                let name = c
                    .track_file
                    .as_deref()
                    .ok_or("FILE_CHECK without track_file")?;
                config
                    .track_files
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| f.file.clone())
                    .ok_or(format!("FILE_CHECK track_file {name} is not defined"))?
                    .into()
            },
            weight: c.weight.unwrap_or(1),
            reverse: c.weight_reverse,
        }),
        // BFD is parsed but has no BFD process here.
        _ => return Ok(None),
    }))
}

/// keepalived's alert body names the first checker's kind.
fn check_label(rs: &RealServer) -> &'static str {
    match rs.checkers.first().map(|c| c.kind) {
        Some(CheckerKind::Tcp) => "TCP ",
        Some(CheckerKind::Misc) => "MISC ",
        Some(CheckerKind::Smtp) => "SMTP ",
        Some(CheckerKind::Dns) => "DNS ",
        Some(CheckerKind::Udp) => "UDP ",
        Some(CheckerKind::Ping) => "PING ",
        Some(CheckerKind::File) => "FILE ",
        _ => "",
    }
}

fn servers(scripts: &mut Scripts, ids: &Ids, out: &mut CheckPlan) {
    let config = scripts.config;
    let g = &config.global_defs;
    let checker_alerts = |own: Option<bool>| {
        own.or(g.smtp_alert_checker)
            .or(g.smtp_alert)
            .unwrap_or(false)
    };
    for vs in &config.virtual_servers {
        let vk = vs.key();
        let Some(vs_id) = ids.virtual_server(&vs.id_key()) else {
            scripts.errors.push(format!("{vk}: no id in the plan"));
            continue;
        };
        out.virtual_servers.push(VsPlan {
            id: vs_id,
            key: vk.clone(),
            quorum_up: scripts.opt(format_args!("quorum_up of {vk}"), &vs.quorum_up),
            quorum_down: scripts.opt(format_args!("quorum_down of {vk}"), &vs.quorum_down),
            alert: checker_alerts(vs.smtp_alert),
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
        });
        for rs in &vs.real_servers {
            let rk = rs.key(vs);
            let Some(rs_id) = ids.real_server(vs_id, &rk) else {
                scripts
                    .errors
                    .push(format!("{rk} of {vk}: no id in the plan"));
                continue;
            };
            let mut checks = Vec::new();
            for c in &rs.checkers {
                match kind(scripts, c, vs, rs) {
                    Ok(Some(kind)) => checks.push(CheckSpec {
                        log_all_failures: c.log_all_failures.unwrap_or(g.checker_log_all_failures),
                        timing: Timing {
                            delay_loop: secs(c.delay_loop),
                            connect_timeout: secs(c.connect_timeout),
                            retry: c.retry,
                            delay_before_retry: secs(c.delay_before_retry),
                            warmup: secs(c.warmup.unwrap_or(c.delay_loop)),
                            bootstrap: Duration::from_secs(1),
                        },
                        alpha: c.alpha.unwrap_or(rs.alpha || vs.alpha),
                        kind,
                    }),
                    Ok(None) => {}
                    Err(e) => scripts
                        .errors
                        .push(format!("{rk} of {vk}: {e}; checker disabled")),
                }
            }
            let spec = RealServerSpec {
                name: rk.clone(),
                weight: rs.weight,
                checks,
                resume_up: None,
                omega: vs.omega,
            };
            out.servers.push(ServerPlan {
                vs: vs_id,
                rs: rs_id,
                notify_up: scripts.opt(format_args!("notify_up of {rk}"), &rs.notify_up),
                notify_down: scripts.opt(format_args!("notify_down of {rk}"), &rs.notify_down),
                alert: checker_alerts(rs.smtp_alert.or(vs.smtp_alert)),
                check_label: check_label(rs).to_string(),
                vk: vk.clone(),
                rk,
                spec,
                // keepalived clears ha_suspend for fwmark services.
                ha_suspend: vs.ha_suspend && vs.ip.is_some(),
            });
        }
    }
}

/// Sockets for the checks that need a privileged option (`fwmark`): two
/// per checker, topped up as used. `bind_if` alone works unprivileged on
/// current kernels; its stock starts only once the kernel says EPERM.
fn sockets(config: &Config) -> Vec<(SocketKey, u32)> {
    let mut targets: BTreeMap<SocketKey, u32> = BTreeMap::new();
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            for c in rs.checkers.iter().filter(|c| c.fwmark.is_some()) {
                let ip = c.connect_ip.unwrap_or(rs.ip);
                let key = SocketKey {
                    v6: ip.is_ipv6(),
                    udp: matches!(c.kind, CheckerKind::Udp | CheckerKind::Dns),
                    mark: c.fwmark,
                    bind_if: c.bind_if.clone(),
                };
                *targets.entry(key).or_default() += 2;
            }
        }
    }
    targets.into_iter().map(|(k, n)| (k, n.min(64))).collect()
}

/// Names of the file and process trackers some instance or sync group
/// refers to: keepalived watches only those.
fn referenced(config: &Config) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let mut files = BTreeSet::new();
    let mut procs = BTreeSet::new();
    let refs = config
        .vrrp_instances
        .iter()
        .map(|i| (&i.track_file, &i.track_process))
        .chain(
            config
                .vrrp_sync_groups
                .iter()
                .map(|g| (&g.track_file, &g.track_process)),
        );
    for (f, p) in refs {
        files.extend(f.iter().map(|t| t.name.as_str()));
        procs.extend(p.iter().map(|t| t.name.as_str()));
    }
    (files, procs)
}

/// `init_file [VALUE] [overwrite]`.
fn file_init(name: &str, words: &[String], notes: &mut Vec<String>) -> FileInit {
    let mut init = FileInit {
        value: 0,
        overwrite: false,
    };
    for w in words {
        if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            init.value = w.parse::<i32>().map(i64::from).unwrap_or_else(|_| {
                notes.push(format!("Track file {name} init value {w} is invalid"));
                0
            });
        } else if w == "overwrite" {
            init.overwrite = true;
        } else {
            notes.push(format!("Unknown track file init option {w}"));
        }
    }
    init
}

fn trackers(config: &Config, out: &mut CheckPlan, notes: &mut Vec<String>) {
    let (files, procs) = referenced(config);
    let checked: BTreeSet<&str> = config
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.checkers)
        .filter(|c| c.kind == CheckerKind::File)
        .filter_map(|c| c.track_file.as_deref())
        .collect();
    for f in &config.track_files {
        let plan = || FilePlan {
            name: f.name.clone(),
            path: f.file.clone(),
            init: None,
        };
        if files.contains(f.name.as_str()) {
            out.files.push(FilePlan {
                init: f.init_file.as_ref().map(|w| file_init(&f.name, w, notes)),
                ..plan()
            });
        } else if checked.contains(f.name.as_str()) {
            out.file_inits.push(FilePlan {
                init: f.init_file.as_ref().map(|w| file_init(&f.name, w, notes)),
                ..plan()
            });
        } else {
            notes.push(format!("Warning - track_file {} is not used", f.name));
        }
    }
    for p in &config.vrrp_track_processes {
        if !procs.contains(p.name.as_str()) {
            notes.push(format!(
                "Warning - vrrp_track_process {} is not used",
                p.name
            ));
            continue;
        }
        let (min, max) = quorum_bounds(p.quorum, p.quorum_max).unwrap_or_else(|e| {
            notes.push(format!("vrrp_track_process {}: {e}", p.name));
            (p.quorum.max(1), u32::MAX)
        });
        let delay = |d: Option<f64>| secs(d.or(p.delay).unwrap_or(0.0));
        out.processes.push(ProcessPlan {
            name: p.name.clone(),
            process: p.process.clone(),
            param_match: p.param_match.clone(),
            full_command: p.full_command,
            min,
            max,
            fork_delay: delay(p.fork_delay),
            terminate_delay: delay(p.terminate_delay),
        });
    }
}

/// A tracked process is up while `min..=max` run: `quorum` is at least 1
/// (keepalived's minimum), `quorum_max 0` means up only while none runs,
/// and a `quorum_max` below `quorum` is ignored.
fn quorum_bounds(quorum: u32, quorum_max: Option<u32>) -> Result<(u32, u32), String> {
    let min = quorum.max(1);
    match quorum_max {
        Some(0) => Ok((0, 0)),
        Some(max) if max < min => Err(format!(
            "quorum_max {max} is less than quorum {min} - ignoring quorum_max"
        )),
        Some(max) => Ok((min, max)),
        None => Ok((min, u32::MAX)),
    }
}

/// keepalived's local name: the canonical name of this host's node name
/// (`getaddrinfo` with `AI_CANONNAME`, as its `get_local_name`); `None`
/// when the lookup fails.
fn local_name() -> Option<String> {
    let node = nix::sys::utsname::uname().ok()?;
    let node = std::ffi::CString::new(node.nodename().as_encoded_bytes()).ok()?;
    // SAFETY: zeroed hints with only ai_flags set, as getaddrinfo(3)
    // expects; `res` is freed below and its canonical name copied first.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(node.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 {
            return None;
        }
        let name = (!res.is_null() && !(*res).ai_canonname.is_null()).then(|| {
            std::ffi::CStr::from_ptr((*res).ai_canonname)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(res);
        name.filter(|n| !n.is_empty())
    }
}

/// The names an alert carries, as keepalived 2.2.7 defaults them
/// (global_data.c): the router id is the local name; with a local name,
/// the HELO name is it and the sender is `USER@local name` (the user
/// keepalived runs as); without one, HELO says "localhost".
fn smtp_names(
    g: &keepalived_config::GlobalDefs,
    local: Option<&str>,
    user: &str,
) -> (String, String, String) {
    let router_id = g
        .router_id
        .clone()
        .unwrap_or_else(|| local.unwrap_or("[unknown]").to_string());
    let helo = g
        .smtp_helo_name
        .clone()
        .or(local.map(String::from))
        .unwrap_or_else(|| "localhost".into());
    let from = g
        .notification_email_from
        .clone()
        .or(local.map(|l| format!("{user}@{l}")))
        .unwrap_or_else(|| format!("{user}@localhost"));
    (router_id, helo, from)
}

/// None when alerts cannot be sent (no recipients or no server); a server
/// that is not an address is reported.
fn smtp(config: &Config, notes: &mut Vec<String>) -> Option<SmtpPlan> {
    let g = &config.global_defs;
    if g.notification_email.is_empty() {
        return None;
    }
    let server = g.smtp_server.as_deref()?;
    let ip: IpAddr = match server.parse() {
        Ok(ip) => ip,
        Err(_) => {
            notes.push(format!(
                "smtp_server {server} is not an address: SMTP alerts disabled"
            ));
            return None;
        }
    };
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map_or_else(|| "root".to_string(), |u| u.name);
    let (router_id, helo, from) = smtp_names(g, local_name().as_deref(), &user);
    Some(SmtpPlan {
        server: SocketAddr::new(ip, g.smtp_port),
        helo,
        from,
        to: g.notification_email.clone(),
        timeout: Duration::from_secs_f64(g.smtp_connect_timeout.max(0.1)),
        router_id,
        no_email_faults: g.no_email_faults,
    })
}

/// The notify scripts of an instance or sync group: `notify_master`,
/// `_backup`, `_fault`, `_stop` (in that order in `lines`) and `notify`.
fn state_plan<I>(
    scripts: &mut Scripts,
    id: I,
    what: &str,
    name: &str,
    lines: [&Option<String>; 4],
    notify: &Option<String>,
) -> StatePlan<I> {
    let [master, backup, fault, stop] = ["master", "backup", "fault", "stop"]
        .into_iter()
        .zip(lines)
        .map(|(state, line)| scripts.opt(format_args!("{what} notify_{state}"), line))
        .collect::<Vec<_>>()
        .try_into()
        .expect("four states");
    let notify = notify
        .as_deref()
        .and_then(|l| scripts.find(&format!("{what} notify"), l, None, Extras::Notify));
    StatePlan {
        id,
        name: name.to_string(),
        master,
        backup,
        fault,
        stop,
        notify,
        rx_lower_pri: None,
        deleted: None,
        alert: false,
    }
}

/// keepalived runs scripts as root when no `script_user` is set; here they
/// run as checkerd's unprivileged user. Say so for each.
fn root_script_notes(config: &Config, notes: &mut Vec<String>) {
    if config.global_defs.script_user.is_some() {
        return;
    }
    let mut lines: Vec<(String, String)> = Vec::new();
    for s in config.vrrp_scripts.iter().filter(|s| s.user.is_none()) {
        lines.push((format!("vrrp_script {}", s.name), s.script.clone()));
    }
    for i in &config.vrrp_instances {
        for (k, v) in [
            ("notify_master", &i.notify_master),
            ("notify_backup", &i.notify_backup),
            ("notify_fault", &i.notify_fault),
            ("notify_stop", &i.notify_stop),
            ("notify_master_rx_lower_pri", &i.notify_master_rx_lower_pri),
            ("notify_deleted", &i.notify_deleted_script),
            ("notify", &i.notify),
        ] {
            if let Some(v) = v {
                lines.push((format!("({}) {k}", i.name), v.clone()));
            }
        }
    }
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if let (Some(p), None) = (&c.misc_path, &c.user) {
                    lines.push((format!("MISC_CHECK of {}", rs.key(vs)), p.clone()));
                }
            }
        }
    }
    for (what, script) in lines {
        notes.push(format!(
            "{what}: keepalived would run '{script}' as root; keepalived-rs runs it as checkerd's unprivileged user \
             without capabilities. If it really needs root, 'script_user root' in global_defs is the escape \
             hatch (scripts of another user are started by the parent, which checks them against the configuration); \
             to track a process, 'vrrp_track_process' needs no script at all"
        ));
    }
}

/// checkerd's plan for `config`, whose scripts `list` allows (made from
/// the same configuration), with the errors (a checker or script left
/// out) and the notes to log, once per configuration. `ssl`: the SSL
/// block's client certificate, which SSL_GET presents.
pub fn compile(
    config: &Config,
    ids: &Ids,
    list: &Allowlist,
    ssl: Option<&ClientCert>,
) -> (CheckPlan, Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut plan = CheckPlan::default();
    let g = &config.global_defs;
    plan.rs_init_notifies = g.rs_init_notifies;
    let vrrp_alerts =
        |own: Option<bool>| own.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false);
    {
        let mut scripts = Scripts {
            config,
            list,
            errors: &mut errors,
            ssl,
        };
        servers(&mut scripts, ids, &mut plan);
        for s in &config.vrrp_scripts {
            let own = script_owner(s.user.as_ref(), s.group.as_ref());
            let what = format!("vrrp_script {}", s.name);
            let Some(command) = scripts.find(&what, &s.script, own.as_deref(), Extras::None) else {
                continue;
            };
            plan.scripts.push(ScriptSpec {
                name: s.name.clone(),
                command,
                interval: secs(s.interval),
                timeout: s.timeout.map(secs),
                rise: s.rise,
                fall: s.fall,
                init_fail: s.init_fail,
            });
        }
        for i in &config.vrrp_instances {
            if let Some(id) = ids.instance(&i.name) {
                let lines = [
                    &i.notify_master,
                    &i.notify_backup,
                    &i.notify_fault,
                    &i.notify_stop,
                ];
                let p = state_plan(
                    &mut scripts,
                    id,
                    &format!("({})", i.name),
                    &i.name,
                    lines,
                    &i.notify,
                );
                let rx_lower_pri = scripts.opt(
                    format_args!("({}) notify_master_rx_lower_pri", i.name),
                    &i.notify_master_rx_lower_pri,
                );
                let deleted = scripts.opt(
                    format_args!("({}) notify_deleted", i.name),
                    &i.notify_deleted_script,
                );
                plan.instances.push(StatePlan {
                    alert: vrrp_alerts(i.smtp_alert),
                    rx_lower_pri,
                    deleted,
                    ..p
                });
            }
        }
        for sg in &config.vrrp_sync_groups {
            if let Some(id) = ids.group(&sg.name) {
                let lines = [
                    &sg.notify_master,
                    &sg.notify_backup,
                    &sg.notify_fault,
                    &sg.notify_stop,
                ];
                let what = format!("sync group {}", sg.name);
                let p = state_plan(&mut scripts, id, &what, &sg.name, lines, &sg.notify);
                plan.groups.push(StatePlan {
                    alert: vrrp_alerts(sg.smtp_alert),
                    ..p
                });
            }
        }
        for f in g.fifo_scripts() {
            match (&f.script, f.fifo) {
                (Some(line), Some(path)) => {
                    if let Some(script) =
                        scripts.find(&f.keyword, line, None, Extras::Path(path.clone()))
                    {
                        plan.fifo_scripts.push(FifoScript {
                            keyword: f.keyword.to_string(),
                            path,
                            script,
                        });
                    }
                }
                (Some(_), None) => scripts
                    .errors
                    .push(format!("{} without its FIFO: not started", f.keyword)),
                _ => {}
            }
        }
    }
    trackers(config, &mut plan, &mut notes);
    plan.smtp = smtp(config, &mut notes);
    plan.sockets = sockets(config);
    root_script_notes(config, &mut notes);
    (plan, errors, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    fn plan(text: &str) -> (CheckPlan, Allowlist, Ids, Vec<String>, Vec<String>) {
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        let mut n = 0;
        let list = Allowlist::of(&c, &ids, (4242, 4243), &Allowlist::default(), &mut n);
        let (p, errors, notes) = compile(&c, &ids, &list, None);
        (p, list, ids, errors, notes)
    }

    /// FILE_CHECK reads the file of the track_file block it names
    /// (keepalived 2.2.7, check_file.c); it used to open the block's name.
    #[test]
    fn file_check_reads_the_named_track_file() {
        let (p, ..) = plan(
            "track_file tf1 {\n file /run/weights/app\n}\n\
             virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n \
             FILE_CHECK {\n track_file tf1\n }\n }\n}\n",
        );
        match &p.servers[0].spec.checks[0].kind {
            CheckKind::File(f) => assert_eq!(f.path, Path::new("/run/weights/app")),
            other => panic!("{other:?}"),
        }
    }

    /// keepalived's defaults: the local name for the router id, the HELO
    /// name and the sender's domain (not "localhost", not the router id).
    #[test]
    fn smtp_names_default_to_the_local_name() {
        let mut g = keepalived_config::GlobalDefs::default();
        let names = |g: &keepalived_config::GlobalDefs, l| smtp_names(g, l, "root");
        assert_eq!(
            names(&g, Some("lb1.example.net")),
            (
                "lb1.example.net".to_string(),
                "lb1.example.net".to_string(),
                "root@lb1.example.net".to_string()
            )
        );
        g.router_id = Some("LB_A".into());
        let (rid, helo, from) = names(&g, Some("lb1.example.net"));
        assert_eq!((rid.as_str(), helo.as_str()), ("LB_A", "lb1.example.net"));
        assert_eq!(from, "root@lb1.example.net", "not the router id");
        let (_, helo, _) = names(&g, None);
        assert_eq!(helo, "localhost");
        g.smtp_helo_name = Some("mx".into());
        g.notification_email_from = Some("ops@example.net".into());
        let (_, helo, from) = names(&g, Some("lb1.example.net"));
        assert_eq!((helo.as_str(), from.as_str()), ("mx", "ops@example.net"));
    }

    /// The parent checks a url's regex once, at load (with file:line); the
    /// plan carries its source, compiled only where it is matched
    /// (checkerd, once, at its first match).
    #[test]
    fn a_planned_regex_is_not_compiled_again() {
        let (p, ..) = plan(
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n HTTP_GET {\n \
             url {\n path /\n regex \"ok.*\"\n }\n }\n }\n}\n",
        );
        let CheckKind::Http(_, h) = &p.servers[0].spec.checks[0].kind else {
            panic!("not HTTP_GET");
        };
        let re = h.urls[0].regex.as_ref().expect("regex planned");
        assert!(!re.compiled(), "the plan compiled it");
        // Over the socket it stays source; matching compiles it once.
        let msg = keepalived_ipc::ToChild::Reload {
            slice: Box::new(keepalived_ipc::ConfigSlice {
                subsystem: keepalived_ipc::Subsystem::Checker,
                generation: 1,
                ids: Ids::default(),
                ipvs: None,
                vrrp: None,
                check: Some(p),
                process: Default::default(),
            }),
        };
        let got = keepalived_ipc::decode_to_child(&keepalived_ipc::encode(&msg).unwrap());
        let Ok(keepalived_ipc::ToChild::Reload { slice }) = got else {
            panic!("{got:?}");
        };
        let sent = slice.check.expect("plan");
        let CheckKind::Http(_, h) = &sent.servers[0].spec.checks[0].kind else {
            panic!("not HTTP_GET");
        };
        let re = h.urls[0].regex.as_ref().unwrap();
        assert!(!re.compiled());
        assert_eq!(re.passes(b"all ok here"), Ok(true));
        assert!(re.compiled());
    }

    /// Every script is named by an id the allowlist resolves to its line;
    /// the plan itself holds no command line.
    #[test]
    fn scripts_by_id_only() {
        let (p, list, ids, errors, _) = plan(
            "global_defs {\n notification_email {\n ops@example.com\n }\n smtp_server 192.0.2.25\n smtp_alert true\n}\n\
             vrrp_script chk {\n script \"/usr/bin/chk --deep\"\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n notify /usr/bin/notify-all\n \
             notify_master \"/usr/bin/up now\"\n track_script {\n chk\n }\n}\n\
             virtual_server 10.0.0.1 80 {\n quorum_up /usr/bin/q-up\n real_server 10.0.1.1 80 {\n \
             notify_down /usr/bin/rs-down\n MISC_CHECK {\n misc_path \"/usr/bin/misc 1\"\n }\n }\n}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let line = |c: &ScriptCommand| list.command(&c.call).unwrap().0.join(" ");
        assert_eq!(line(&p.scripts[0].command), "/usr/bin/chk --deep");
        let i = &p.instances[0];
        assert_eq!(i.id, ids.instance("VI_1").unwrap());
        assert_eq!(line(&i.master.unwrap()), "/usr/bin/up now");
        assert!(i.alert);
        assert_eq!(
            p.virtual_servers[0].quorum_up.map(|c| line(&c)).as_deref(),
            Some("/usr/bin/q-up")
        );
        let s = &p.servers[0];
        assert_eq!(line(&s.notify_down.unwrap()), "/usr/bin/rs-down");
        match &s.spec.checks[0].kind {
            CheckKind::Misc(m) => assert_eq!(line(&m.command), "/usr/bin/misc 1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.check_label, "MISC ");
        assert!(p.smtp.is_some());
        // No command line anywhere in what checkerd gets.
        let wire = format!("{p:?}");
        assert!(
            !wire.contains("/usr/bin"),
            "a command line in the plan: {wire}"
        );
    }

    #[test]
    fn quorum_bounds_as_keepalived() {
        assert_eq!(quorum_bounds(1, None), Ok((1, u32::MAX)));
        assert_eq!(quorum_bounds(0, None), Ok((1, u32::MAX)), "at least one");
        assert_eq!(quorum_bounds(2, Some(3)), Ok((2, 3)));
        assert_eq!(quorum_bounds(1, Some(0)), Ok((0, 0)));
        assert!(quorum_bounds(3, Some(2)).is_err());
    }

    #[test]
    fn only_used_trackers_with_their_settings() {
        let (p, .., notes) = plan(
            "track_file used {\n file /tmp/a\n init_file 5 overwrite\n}\n\
             track_file unused {\n file /tmp/b\n}\n\
             vrrp_track_process proc {\n process sshd\n quorum 2\n quorum_max 1\n delay 1.5\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {\n 10.0.0.1\n }\n track_file {\n used\n }\n track_process {\n proc\n }\n}\n",
        );
        assert_eq!(p.files.len(), 1);
        assert_eq!(
            p.files[0].init,
            Some(FileInit {
                value: 5,
                overwrite: true
            })
        );
        assert!(notes
            .iter()
            .any(|n| n.contains("track_file unused is not used")));
        let pr = &p.processes[0];
        assert_eq!(
            (pr.min, pr.max),
            (2, u32::MAX),
            "quorum_max below quorum is ignored"
        );
        assert_eq!(pr.fork_delay, Duration::from_millis(1500));
        assert!(notes.iter().any(|n| n.contains("ignoring quorum_max")));
    }
}
