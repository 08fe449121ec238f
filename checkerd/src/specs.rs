//! From the configuration slice to the checker engine's specs: one
//! `RealServerSpec` per real server (with its checkers, timings resolved by
//! the configuration library), one `ScriptSpec` per `vrrp_script`.

use keepalived_check::probe::http::BodyRegex;
use keepalived_check::{
    CheckKind, CheckSpec, DnsSpec, Endpoint, FileSpec, HttpProtocol, HttpSpec, MiscSpec,
    RealServerSpec, ScriptCommand, ScriptSpec, StatusCodes, Timing, TlsSpec, UdpSpec, UrlSpec,
};
use keepalived_config::{Checker, CheckerKind, Config, RealServer, VirtualServer};
use keepalived_ipc::{Ids, RsId, VsId};
use std::net::SocketAddr;
use std::time::Duration;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
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

fn http(c: &Checker, vs: &VirtualServer, rs: &RealServer) -> Result<HttpSpec, String> {
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
    config: &Config,
    c: &Checker,
    vs: &VirtualServer,
    rs: &RealServer,
) -> Result<Option<CheckKind>, String> {
    let ep = endpoint(c, vs, rs);
    Ok(Some(match c.kind {
        CheckerKind::Tcp => CheckKind::Tcp(ep),
        CheckerKind::HttpGet | CheckerKind::SslGet => CheckKind::Http(ep, http(c, vs, rs)?),
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
        CheckerKind::Misc => CheckKind::Misc(MiscSpec {
            command: ScriptCommand::parse(
                c.misc_path
                    .as_deref()
                    .ok_or("MISC_CHECK without misc_path")?,
            ),
            timeout: c.misc_timeout.map(secs),
            dynamic: c.misc_dynamic,
        }),
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

/// A real server to check: its ids, the keys keepalived names it by (in
/// logs, scripts and alerts) and its checkers.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedServer {
    pub vs: VsId,
    pub rs: RsId,
    pub vk: String,
    pub rk: String,
    pub spec: RealServerSpec,
}

/// Every real server to check.
pub fn real_servers(config: &Config, ids: &Ids) -> (Vec<PlannedServer>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for vs in &config.virtual_servers {
        let vk = vs.key();
        let vs_id = ids.virtual_server(&vs.id_key());
        for rs in &vs.real_servers {
            let rk = rs.key(vs);
            let Some((vs_id, rs_id)) = vs_id.and_then(|v| Some((v, ids.real_server(v, &rk)?)))
            else {
                errors.push(format!("{rk} of {vk}: no id in the plan"));
                continue;
            };
            let mut checks = Vec::new();
            for c in &rs.checkers {
                match kind(config, c, vs, rs) {
                    Ok(Some(mut kind)) => checks.push(CheckSpec {
                        timing: Timing {
                            delay_loop: secs(c.delay_loop),
                            connect_timeout: secs(c.connect_timeout),
                            retry: c.retry,
                            delay_before_retry: secs(c.delay_before_retry),
                            warmup: secs(c.warmup.unwrap_or(c.delay_loop)),
                            bootstrap: Duration::from_secs(1),
                        },
                        alpha: c.alpha.unwrap_or(rs.alpha || vs.alpha),
                        kind: {
                            if let CheckKind::Misc(m) = &mut kind {
                                run_as(config, c.user.as_deref(), &mut m.command);
                            }
                            kind
                        },
                    }),
                    Ok(None) => {}
                    Err(e) => errors.push(format!("{rk} of {vk}: {e}")),
                }
            }
            let spec = RealServerSpec {
                name: rk.clone(),
                weight: rs.weight,
                checks,
                resume_up: None,
                omega: vs.omega,
            };
            out.push(PlannedServer {
                vs: vs_id,
                rs: rs_id,
                vk: vk.clone(),
                rk,
                spec,
            });
        }
    }
    (out, errors)
}

/// Give `cmd` the identity it must run as when that is not checkerd's own:
/// `user NAME [GROUP]` on the script, else `script_user`. Such a command
/// is started by the parent (see the launcher).
pub fn run_as(config: &Config, user: Option<&str>, cmd: &mut ScriptCommand) {
    let g = &config.global_defs;
    let spec = match (user, g.script_user.as_deref()) {
        (Some(u), _) => u.to_string(),
        (None, Some(u)) => match g.script_group.as_deref() {
            Some(gr) => format!("{u} {gr}"),
            None => u.to_string(),
        },
        (None, None) => return,
    };
    let mut w = spec.split_whitespace();
    let Some(Ok(Some(u))) = w.next().map(nix::unistd::User::from_name) else {
        log::warn!(
            "script user '{spec}' does not exist: running '{}' as checkerd's user",
            cmd.argv.join(" ")
        );
        return;
    };
    let gid = match w.next().map(nix::unistd::Group::from_name) {
        Some(Ok(Some(gr))) => gr.gid,
        _ => u.gid,
    };
    if (u.uid, gid) != (nix::unistd::getuid(), nix::unistd::getgid()) {
        cmd.uid = Some(u.uid.as_raw());
        cmd.gid = Some(gid.as_raw());
    }
}

pub fn scripts(config: &Config) -> Vec<ScriptSpec> {
    config
        .vrrp_scripts
        .iter()
        .map(|s| ScriptSpec {
            name: s.name.clone(),
            command: {
                let mut cmd = ScriptCommand::parse(&s.script);
                let who = s.user.as_ref().map(|u| match &s.group {
                    Some(g) => format!("{u} {g}"),
                    None => u.clone(),
                });
                run_as(config, who.as_deref(), &mut cmd);
                cmd
            },
            interval: secs(s.interval),
            timeout: s.timeout.map(secs),
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::{load_str, LoadOptions};
    use std::path::Path;

    /// FILE_CHECK reads the file of the track_file block it names
    /// (keepalived 2.2.7, check_file.c); it used to open the block's name.
    #[test]
    fn file_check_reads_the_named_track_file() {
        let text = "track_file tf1 {\n file /run/weights/app\n}\n\
             virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n \
             FILE_CHECK {\n track_file tf1\n }\n }\n}\n";
        let c = load_str(text, Path::new("/t/k.conf"), &LoadOptions::default())
            .expect("valid")
            .config;
        let mut next = 0;
        let ids = Ids::assign(&c.object_keys(), &Ids::default(), &mut next);
        let (servers, errors) = real_servers(&c, &ids);
        assert!(errors.is_empty(), "{errors:?}");
        match &servers[0].spec.checks[0].kind {
            CheckKind::File(f) => assert_eq!(f.path, Path::new("/run/weights/app")),
            other => panic!("{other:?}"),
        }
    }
}
