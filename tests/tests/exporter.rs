//! keepalived-rs-exporter scraped by a real Prometheus (Debian's
//! prometheus package): keepalived-exporter's metric names are there, and
//! a query sees a failover. The exporter runs as an unprivileged user of
//! the status socket's group, as its unit does.

use keepalived_rs_tests::lan::Lan;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{bin, Netns, Suite};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONF: &str = "global_defs {\n    router_id EXP\n}\n\
    vrrp_script chk_ok {\n    script \"/bin/true\"\n    interval 1\n}\n\
    vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
    priority 100\n    advert_int 1\n    \
    virtual_ipaddress {\n        10.99.0.100/24\n    }\n    \
    track_script {\n        chk_ok\n    }\n}\n";

/// Names keepalived-exporter serves (its dashboards and alerts use them).
const EXPORTER_NAMES: &[&str] = &[
    "keepalived_up",
    "keepalived_vrrp_state",
    "keepalived_advertisements_received_total",
    "keepalived_advertisements_sent_total",
    "keepalived_become_master_total",
    "keepalived_release_master_total",
    "keepalived_packet_length_errors_total",
    "keepalived_advertisements_interval_errors_total",
    "keepalived_ip_ttl_errors_total",
    "keepalived_invalid_type_received_total",
    "keepalived_address_list_errors_total",
    "keepalived_authentication_invalid_total",
    "keepalived_authentication_mismatch_total",
    "keepalived_authentication_failure_total",
    "keepalived_priority_zero_received_total",
    "keepalived_priority_zero_sent_total",
    "keepalived_script_status",
];

/// Killed (and reaped) on drop, even when the test fails.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET `path` from `port` on the namespace's loopback; None until
/// something answers.
fn get(ns: &Netns, port: u16, path: &str) -> Option<String> {
    let path = path.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    ns.thread(move || {
        let r = (|| -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )?;
            let mut a = String::new();
            s.read_to_string(&mut a)?;
            Ok(a)
        })();
        let _ = tx.send(r.ok());
    })
    .join()
    .unwrap();
    rx.recv().unwrap()
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Wait (bounded) until `f` returns Some.
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The value of a Prometheus instant query's only sample.
fn query(ns: &Netns, q: &str) -> Option<f64> {
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let a = get(ns, 9090, &format!("/api/v1/query?query={q}"))?;
    let v: Value = serde_json::from_str(body(&a)).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_the_exporter_and_sees_a_failover() {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut master = Suite::spawn_in(
        a,
        &CONF
            .replace("state BACKUP", "state MASTER")
            .replace("priority 100", "priority 150"),
        &[],
    )
    .wait_started();
    master
        .log
        .wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut backup = Suite::spawn_in(b.clone(), CONF, &[]).wait_started();
    backup
        .log
        .wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);

    // The exporter as an unprivileged member of the socket's group.
    use std::os::unix::fs::MetadataExt;
    let group = std::fs::metadata(backup.path("ctl").join("status.sock"))
        .unwrap()
        .gid();
    let _exporter = Proc(
        Command::new("ip")
            .args(["netns", "exec", &b.name, "setpriv"])
            .args([
                "--reuid=54321",
                &format!("--regid={group}"),
                "--clear-groups",
            ])
            .arg(bin("keepalived-rs-exporter"))
            .args(["--listen", "127.0.0.1:9165", "--control-dir"])
            .arg(backup.path("ctl"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the exporter"),
    );
    let scrape = until("the exporter", || {
        get(&b, 9165, "/metrics").filter(|a| a.starts_with("HTTP/1.1 200"))
    });
    let metrics = body(&scrape);
    for name in EXPORTER_NAMES {
        assert!(
            metrics.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{metrics}"
        );
    }
    assert!(get(&b, 9165, "/nothing").is_some_and(|a| a.starts_with("HTTP/1.1 404")));

    // A real Prometheus scraping it every second.
    let tsdb = tempfile::tempdir().unwrap();
    let config = tsdb.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: keepalived\n    static_configs:\n      - targets: ['127.0.0.1:9165']\n",
    )
    .unwrap();
    let _prometheus = Proc(
        Command::new("ip")
            .args(["netns", "exec", &b.name, "prometheus"])
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tsdb.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:9090")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian's prometheus package; run-all.sh installs it)"),
    );
    let state = "keepalived_vrrp_instance_state{iname=\"VI_1\"}";
    let seen = until("Prometheus to see VI_1 in BACKUP", || {
        query(&b, state).filter(|v| *v == 1.0)
    });
    assert_eq!(seen, 1.0);
    assert_eq!(until("keepalived_up", || query(&b, "keepalived_up")), 1.0);

    // The master goes away: the query sees the takeover.
    assert!(master.stop().success());
    backup
        .log
        .wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let seen = until("Prometheus to see VI_1 in MASTER", || {
        query(&b, state).filter(|v| *v == 2.0)
    });
    assert_eq!(seen, 2.0);
    let became = until("become_master in Prometheus", || {
        query(&b, "keepalived_become_master_total{iname=\"VI_1\"}").filter(|v| *v >= 1.0)
    });
    assert_eq!(became, 1.0);
    assert!(backup.stop().success());
}
