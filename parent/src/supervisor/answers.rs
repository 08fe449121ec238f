//! What the control socket's requests do: status, reload (answered at the
//! barrier), dumps, statistics clearing and Prometheus metrics. The
//! socket handling is `crate::control`'s; this is the supervisor's side.

use super::{DumpTo, Supervisor};
use crate::lifecycle::Phase;
use keepalived_ipc::control::{
    ChildStatus, DumpWhat, RealServerStatus, ReloadOutcome, Request, Response, ScriptStatus, Status,
};
use keepalived_ipc::control::{ProcessAudit, Transition, TransitionKind, VirtualServerStatus};
use keepalived_ipc::{DumpKind, Subsystem, ToChild, TrackKind, TrackStatus, VrrpState};
use serde_json::Value;
use std::fmt::Write;

/// What a control request wants from a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// The dump's text.
    Text,
    /// `status`: the parent's state and vrrpd's JSON.
    Status,
    /// `metrics`: Prometheus text from the same.
    Metrics,
}

/// One line for logs and the data dump.
pub(super) fn reload_line(r: &ReloadOutcome) -> String {
    if r.details.is_empty() {
        format!("configuration {}: {}", r.generation, r.result)
    } else {
        format!(
            "configuration {}: {} ({})",
            r.generation,
            r.result,
            r.details.join("; ")
        )
    }
}

impl Supervisor {
    pub(super) fn control_request(&mut self, conn: u64, request: Request) {
        if self.life.phase() == Phase::Stopping {
            let e = Response::Error("keepalived-rs is stopping".into());
            self.control.answer(conn, &e, self.poll.registry());
            return;
        }
        match request {
            Request::Status => self.begin_dump(DumpKind::Json, DumpTo::Client(conn, Want::Status)),
            Request::Metrics => {
                self.begin_dump(DumpKind::Json, DumpTo::Client(conn, Want::Metrics))
            }
            Request::Dump { what } => {
                let kind = match what {
                    DumpWhat::Data => DumpKind::Data,
                    DumpWhat::Stats => DumpKind::Stats,
                    DumpWhat::Json => DumpKind::Json,
                };
                self.begin_dump(kind, DumpTo::Client(conn, Want::Text))
            }
            Request::StatsClear => {
                self.begin_dump(DumpKind::StatsClear, DumpTo::Client(conn, Want::Text))
            }
            Request::Events { json } => {
                self.control.stream(conn, self.poll.registry());
                self.subscribers.push((conn, json));
            }
            Request::Garp { instance } => {
                let answer = self.garp(&instance);
                self.control.answer(conn, &answer, self.poll.registry());
            }
            Request::Audit => {
                let answer = Response::Audit(self.audit());
                self.control.answer(conn, &answer, self.poll.registry());
            }
            Request::Reload => match self.reload() {
                Some(generation) => self.reload_waiters.push((conn, generation)),
                None => {
                    // Not loaded: reload() has recorded why.
                    let answer = match &self.last_reload {
                        Some(r) if r.result == "not loaded" => Response::Reload(r.clone()),
                        _ => Response::Error("keepalived-rs is stopping".into()),
                    };
                    self.control.answer(conn, &answer, self.poll.registry());
                }
            },
        }
    }

    /// A transition: to the notify FIFOs and to every `events` subscriber
    /// (one that cannot keep up is dropped by the control server).
    pub(super) fn transition(&mut self, t: Transition) {
        self.fifos.transition(&t);
        // `systemctl status` shows the states as they are, not as they
        // were at start.
        let vrrp = matches!(t.kind, TransitionKind::Instance | TransitionKind::Group);
        if vrrp && self.life.phase() != Phase::Stopping {
            self.service.status(&self.status_line());
        }
        if self.subscribers.is_empty() {
            return;
        }
        let line = t.fifo_line();
        let json = serde_json::to_string(&t)
            .map(|j| j + "\n")
            .unwrap_or_default();
        let registry = self.poll.registry();
        let control = &mut self.control;
        self.subscribers.retain(|&(conn, as_json)| {
            let text = if as_json { &json } else { &line };
            control.push(conn, text.as_bytes(), registry)
        });
    }

    /// A reload ended (every child answered, or the file did not load):
    /// tell the service manager and every caller waiting for it or for an
    /// older generation it superseded.
    pub(super) fn reload_over(&mut self, outcome: ReloadOutcome) {
        self.last_reload = Some(outcome.clone());
        if self.life.phase() != Phase::Stopping {
            self.service.reloaded(&self.status_line());
        }
        let waiting = std::mem::take(&mut self.reload_waiters);
        for (conn, g) in waiting {
            if g <= outcome.generation {
                let mut o = outcome.clone();
                if g < outcome.generation {
                    o.details.insert(
                        0,
                        format!("configuration {g} was superseded by {}", o.generation),
                    );
                }
                self.control
                    .answer(conn, &Response::Reload(o), self.poll.registry());
            } else {
                self.reload_waiters.push((conn, g));
            }
        }
    }

    pub(super) fn answer_from_dump(&self, want: Want, text: Option<&str>) -> Response {
        match want {
            Want::Text => Response::Text(text.unwrap_or("[]\n").to_string()),
            Want::Status => Response::Status(Box::new(self.status(text))),
            Want::Metrics => Response::Text(metrics(&self.status(text))),
        }
    }

    /// Ask vrrpd to re-announce `instance`'s addresses, if the parent
    /// knows it as master (vrrpd checks again).
    fn garp(&mut self, instance: &str) -> Response {
        let ids = &self.plans[&self.life.current()].ids;
        let Some(id) = ids.instance(instance) else {
            return Response::Error(format!("no VRRP instance '{instance}'"));
        };
        match self.known.vrrp_state(id) {
            Some(VrrpState::Master) => {}
            Some(s) => {
                return Response::Error(format!(
                    "({instance}) is {}: only a master announces its addresses",
                    s.as_str()
                ))
            }
            None => return Response::Error(format!("({instance}) has no state yet")),
        }
        if !self.life.started(Subsystem::Vrrp) {
            return Response::Error("vrrpd is not running".into());
        }
        let i = self.slot_of(Subsystem::Vrrp);
        self.send(i, &ToChild::Garp(id));
        Response::Text(format!(
            "({instance}) sending its gratuitous ARPs / unsolicited NAs\n"
        ))
    }

    /// The parent, each running child, and checkerd's script launcher.
    fn audit(&self) -> Vec<ProcessAudit> {
        let mut out = Vec::new();
        out.extend(crate::audit::process(
            "keepalived-rs",
            std::process::id(),
            None,
        ));
        for s in &self.slots {
            let Some(pid) = self.life.pid(s.sub) else {
                continue;
            };
            out.extend(crate::audit::process(&s.sub.to_string(), pid, Some(s.sub)));
            if s.sub == Subsystem::Checker {
                for child in crate::audit::children_of(pid) {
                    out.extend(crate::audit::process("checkerd launcher", child, None));
                }
            }
        }
        out
    }

    fn status(&self, vrrp_json: Option<&str>) -> Status {
        let vrrp = vrrp_json
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Array(Vec::new()));
        let plan = &self.plans[&self.life.current()];
        let ids = &plan.ids;
        // One walk of the configuration, ids looked up by key: linear in
        // the number of servers (a status or a scrape of 10,000 services
        // must not compare every pair).
        let mut real_servers = Vec::new();
        let mut virtual_servers = Vec::new();
        for vs in &plan.config.virtual_servers {
            let key = vs.id_key();
            let vs_id = ids.virtual_server(&key);
            let mut up = 0;
            for rs in &vs.real_servers {
                let rs_key = rs.key(vs);
                let rs_id = vs_id.and_then(|v| ids.real_server(v, &rs_key));
                // Listed once the checkers have reported it.
                let Some(h) = rs_id.and_then(|id| self.known.health_of(id)) else {
                    continue;
                };
                up += usize::from(h.up);
                real_servers.push(RealServerStatus {
                    virtual_server: key.clone(),
                    real_server: rs_key,
                    up: h.up,
                    weight: h.weight,
                    configured_weight: Some(rs.weight),
                    checks: rs
                        .checkers
                        .iter()
                        .map(|c| c.kind.as_str().to_string())
                        .collect(),
                    check_seconds: self
                        .known
                        .check_time(h.real_server)
                        .map(|d| d.as_secs_f64()),
                });
            }
            virtual_servers.push(VirtualServerStatus {
                lb_algo: vs.lb_algo.as_ref().map(|a| a.as_str().to_string()),
                lb_kind: vs.lb_kind.map(|k| k.as_str().to_string()),
                real_servers: vs.real_servers.len(),
                real_servers_up: up,
                quorum: vs.quorum,
                quorum_up: vs_id.and_then(|v| self.known.quorum(v)),
                virtual_server: key,
            });
        }
        let children = self
            .slots
            .iter()
            .map(|s| ChildStatus {
                name: s.sub.to_string(),
                pid: self.life.pid(s.sub),
                restarts: self.life.restarts(s.sub),
                configuration: self.life.accepted(s.sub),
                state: if self.life.started(s.sub) {
                    "running"
                } else if self.life.starting(s.sub) {
                    "starting"
                } else {
                    "down"
                }
                .into(),
            })
            .collect();
        let scripts = self
            .known
            .tracks()
            .filter_map(|t| match ids.tracker_key(t.tracker)? {
                (TrackKind::Script, name) => Some(ScriptStatus {
                    name: name.to_string(),
                    good: t.status == TrackStatus::Up,
                }),
                _ => None,
            })
            .collect();
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            configuration: self.life.current(),
            last_reload: self.last_reload.clone(),
            children,
            vrrp,
            real_servers,
            virtual_servers,
            ipvs: self.ipvs_available,
            scripts,
            log_lines_dropped: keepalived_log::dropped(),
            unsupported: plan.unsupported.clone(),
        }
    }
}

/// Prometheus text exposition: keepalived-exporter's names and labels
/// (so its dashboards and alerts work unchanged), then what it lacks.
pub(crate) fn metrics(s: &Status) -> String {
    let mut m = Metrics::default();
    m.family(
        "keepalived_up",
        "gauge",
        "Whether keepalived is up (always 1 when answering).",
    );
    m.sample("keepalived_up", &[], 1.0);
    let instances: Vec<&Value> = s
        .vrrp
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    for (name, key, help) in [
        ("keepalived_vrrp_state", "vips", "State of the VRRP instance, per virtual address (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)."),
        ("keepalived_vrrp_excluded_state", "evips", "State of the VRRP instance, per excluded virtual address."),
    ] {
        m.family(name, "gauge", help);
        for i in &instances {
            let d = &i["data"];
            let state = d["state"].as_f64().unwrap_or_default();
            let addrs: Vec<String> = d[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .map(|v| v.split_whitespace().next().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            // As keepalived-exporter: one series with an empty address when
            // there is none (the excluded ones only when there are some).
            let addrs = if addrs.is_empty() && key == "vips" {
                vec![String::new()]
            } else {
                addrs
            };
            for a in addrs {
                let mut l = labels(d);
                l.push(("ip_address", a));
                m.sample(name, &l, state);
            }
        }
    }
    for (name, key, help) in [
        (
            "keepalived_advertisements_received_total",
            "advert_rcvd",
            "Advertisements received.",
        ),
        (
            "keepalived_advertisements_sent_total",
            "advert_sent",
            "Advertisements sent.",
        ),
        (
            "keepalived_become_master_total",
            "become_master",
            "Transitions to MASTER.",
        ),
        (
            "keepalived_release_master_total",
            "release_master",
            "Transitions away from MASTER.",
        ),
        (
            "keepalived_packet_length_errors_total",
            "packet_len_err",
            "Packets with a bad length.",
        ),
        (
            "keepalived_advertisements_interval_errors_total",
            "advert_interval_err",
            "Advertisements with another interval.",
        ),
        (
            "keepalived_ip_ttl_errors_total",
            "ip_ttl_err",
            "Packets with a TTL other than 255.",
        ),
        (
            "keepalived_invalid_type_received_total",
            "invalid_type_rcvd",
            "Packets of an invalid type.",
        ),
        (
            "keepalived_address_list_errors_total",
            "addr_list_err",
            "Advertisements whose address list differs.",
        ),
        (
            "keepalived_authentication_invalid_total",
            "invalid_authtype",
            "Packets with an invalid authentication type.",
        ),
        (
            "keepalived_authentication_mismatch_total",
            "authtype_mismatch",
            "Packets with another authentication type.",
        ),
        (
            "keepalived_authentication_failure_total",
            "auth_failure",
            "Packets failing authentication.",
        ),
        (
            "keepalived_priority_zero_received_total",
            "pri_zero_rcvd",
            "Priority-0 advertisements received.",
        ),
        (
            "keepalived_priority_zero_sent_total",
            "pri_zero_sent",
            "Priority-0 advertisements sent.",
        ),
    ] {
        per_instance(&mut m, &instances, "counter", "stats", name, key, help);
    }
    m.family(
        "keepalived_script_status",
        "gauge",
        "Verdict of each vrrp_script (0 BAD, 1 GOOD).",
    );
    for sc in &s.scripts {
        let good = f64::from(u8::from(sc.good));
        m.sample(
            "keepalived_script_status",
            &[("name", sc.name.clone())],
            good,
        );
    }
    // Beyond keepalived-exporter: one series per instance, priorities.
    for (name, key, help) in [
        (
            "keepalived_vrrp_instance_state",
            "state",
            "State of the VRRP instance (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT), once per instance.",
        ),
        (
            "keepalived_vrrp_effective_priority",
            "effective_priority",
            "Priority in use, after trackers.",
        ),
        (
            "keepalived_vrrp_base_priority",
            "base_priority",
            "Configured priority.",
        ),
    ] {
        per_instance(&mut m, &instances, "gauge", "data", name, key, help);
    }
    per_real_server(
        &mut m,
        &s.real_servers,
        "keepalived_real_server_up",
        "Whether the health checks pass (1) or fail (0).",
        |r| Some(f64::from(u8::from(r.up))),
    );
    per_real_server(
        &mut m,
        &s.real_servers,
        "keepalived_real_server_check_duration_seconds",
        "How long the real server's last health check attempt took.",
        |r| r.check_seconds,
    );
    per_real_server(
        &mut m,
        &s.real_servers,
        "keepalived_real_server_weight",
        "The weight a real server has: its checker's (MISC_CHECK dynamic), else the configured one.",
        |r| r.effective_weight().map(f64::from),
    );
    m.family(
        "keepalived_child_restarts_total",
        "counter",
        "Restarts of each child process.",
    );
    for c in &s.children {
        let l = [("child", c.name.clone())];
        m.sample("keepalived_child_restarts_total", &l, c.restarts as f64);
    }
    m.family(
        "keepalived_child_up",
        "gauge",
        "Whether each child process runs.",
    );
    for c in &s.children {
        let l = [("child", c.name.clone())];
        m.sample(
            "keepalived_child_up",
            &l,
            f64::from(u8::from(c.state == "running")),
        );
    }
    m.family(
        "keepalived_configuration_generation",
        "gauge",
        "Configuration generation held (1 at start, one more per reload that loaded).",
    );
    m.sample(
        "keepalived_configuration_generation",
        &[],
        s.configuration as f64,
    );
    m.family("keepalived_last_reload_success", "gauge", "Whether the last reload was applied by every child (1; 0 failed or not loaded; absent before any reload).");
    if let Some(r) = &s.last_reload {
        m.sample(
            "keepalived_last_reload_success",
            &[],
            f64::from(u8::from(r.ok())),
        );
    }
    if let Some(up) = s.ipvs {
        m.family(
            "keepalived_ipvs_available",
            "gauge",
            "Whether ipvsd can program the kernel's IPVS (1) or not (0).",
        );
        m.sample("keepalived_ipvs_available", &[], f64::from(u8::from(up)));
    }
    m.family(
        "keepalived_log_lines_dropped_total",
        "counter",
        "Log lines dropped because syslog did not take them.",
    );
    m.sample(
        "keepalived_log_lines_dropped_total",
        &[],
        s.log_lines_dropped as f64,
    );
    m.text
}

/// A gauge family with one sample per real server that has a value.
fn per_real_server(
    m: &mut Metrics,
    servers: &[RealServerStatus],
    name: &str,
    help: &str,
    value: impl Fn(&RealServerStatus) -> Option<f64>,
) {
    m.family(name, "gauge", help);
    for r in servers {
        if let Some(v) = value(r) {
            let l = [
                ("virtual_server", r.virtual_server.clone()),
                ("real_server", r.real_server.clone()),
            ];
            m.sample(name, &l, v);
        }
    }
}

/// keepalived-exporter's labels of an instance: `{iname,intf,vrid}`.
fn labels(d: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("iname", d["iname"].as_str().unwrap_or_default().to_string()),
        (
            "intf",
            d["ifp_ifname"].as_str().unwrap_or_default().to_string(),
        ),
        ("vrid", d["vrid"].as_u64().unwrap_or_default().to_string()),
    ]
}

/// One family with a sample per instance: the number under `key` of the
/// instance's `section` ("data" or "stats") of vrrpd's JSON (0 if absent).
fn per_instance(
    m: &mut Metrics,
    instances: &[&Value],
    kind: &str,
    section: &str,
    name: &str,
    key: &str,
    help: &str,
) {
    m.family(name, kind, help);
    for i in instances {
        let v = i[section][key].as_f64().unwrap_or_default();
        m.sample(name, &labels(&i["data"]), v);
    }
}

/// Prometheus text format 0.0.4: a family's HELP and TYPE once, before
/// its samples; label values escaped.
#[derive(Default)]
struct Metrics {
    text: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.text, "{k}=\"{v}\"");
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(vrrp: Value) -> Status {
        Status {
            version: "0".into(),
            pid: 1,
            configuration: 2,
            last_reload: Some(ReloadOutcome {
                generation: 2,
                result: "failed".into(),
                details: vec!["vrrpd: no".into()],
            }),
            children: vec![ChildStatus {
                name: "vrrpd".into(),
                pid: Some(7),
                restarts: 3,
                configuration: Some(1),
                state: "running".into(),
            }],
            vrrp,
            real_servers: vec![RealServerStatus {
                virtual_server: "[10.0.0.1]:tcp:80".into(),
                real_server: "[10.0.1.1]:tcp:80".into(),
                up: false,
                weight: None,
                configured_weight: Some(2),
                checks: vec!["TCP_CHECK".into()],
                check_seconds: Some(0.25),
            }],
            virtual_servers: Vec::new(),
            ipvs: Some(true),
            scripts: vec![ScriptStatus {
                name: "chk \"x\"".into(),
                good: true,
            }],
            log_lines_dropped: 0,
            unsupported: Vec::new(),
        }
    }

    #[test]
    fn keepalived_exporter_names_labels_and_values() {
        let vrrp = serde_json::json!([{
            "data": {"iname": "VI_1", "ifp_ifname": "eth0", "vrid": 51, "state": 2,
                     "effective_priority": 140, "base_priority": 150,
                     "vips": ["10.99.0.100/24 dev eth0 scope global", "10.99.0.101 dev eth0 scope global"],
                     "evips": []},
            "stats": {"advert_sent": 12, "become_master": 1}
        }]);
        let t = metrics(&status(vrrp));
        for line in [
            "keepalived_up 1",
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"10.99.0.100/24\"} 2",
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"10.99.0.101\"} 2",
            "keepalived_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 12",
            "keepalived_become_master_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1",
            "keepalived_advertisements_received_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 0",
            "keepalived_vrrp_instance_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 2",
            "keepalived_vrrp_effective_priority{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 140",
            "keepalived_script_status{name=\"chk \\\"x\\\"\"} 1",
            "keepalived_real_server_up{virtual_server=\"[10.0.0.1]:tcp:80\",real_server=\"[10.0.1.1]:tcp:80\"} 0",
            "keepalived_child_restarts_total{child=\"vrrpd\"} 3",
            "keepalived_child_up{child=\"vrrpd\"} 1",
            "keepalived_last_reload_success 0",
            "keepalived_ipvs_available 1",
            "keepalived_real_server_check_duration_seconds{virtual_server=\"[10.0.0.1]:tcp:80\",real_server=\"[10.0.1.1]:tcp:80\"} 0.25",
            "keepalived_real_server_weight{virtual_server=\"[10.0.0.1]:tcp:80\",real_server=\"[10.0.1.1]:tcp:80\"} 2",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line}:\n{t}");
        }
        assert!(
            !t.contains("keepalived_vrrp_excluded_state{"),
            "no evips, no series"
        );
        // Every sample's family was declared before it, once.
        let mut declared = Vec::new();
        for l in t.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!declared.contains(&name.to_string()), "{name} twice");
                declared.push(name.to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{l}");
            }
        }
    }

    #[test]
    fn an_instance_without_addresses_has_one_empty_series() {
        let vrrp = serde_json::json!([{
            "data": {"iname": "VI_2", "ifp_ifname": "eth1", "vrid": 7, "state": 1, "vips": []},
            "stats": {}
        }]);
        let t = metrics(&status(vrrp));
        assert!(t.contains(
            "keepalived_vrrp_state{iname=\"VI_2\",intf=\"eth1\",vrid=\"7\",ip_address=\"\"} 1"
        ));
    }
}
