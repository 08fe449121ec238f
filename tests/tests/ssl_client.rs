//! The `SSL { }` block (keepalived 2.2.7, check_ssl.c): SSL_GET presents
//! its client certificate to a real server that requires one (OpenSSL's
//! `s_server -Verify`), with the key encrypted under `password` and
//! readable by root only (the parent reads it; checkerd never could). A
//! reload whose key cannot be loaded is refused with keepalived's lines
//! and the checks go on; one without the block fails the checks; a start
//! whose files cannot be loaded stops, as keepalived's checker stops.

use keepalived_rs_tests::lan::{Lan, LineTap};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{proc, Netns, Suite};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn data(f: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/check/tests/data")
        .join(f)
}

/// `openssl s_server` on `ns`:443, answering GET with 200 (`-www`), and
/// only to clients with a certificate of the test client CA.
fn mutual_tls_server(ns: &Netns) -> LineTap {
    let mut tap = LineTap::spawn(
        std::process::Command::new("ip")
            .args(["netns", "exec", &ns.name, "openssl", "s_server"])
            .args(["-accept", "443", "-www", "-Verify", "1"])
            .arg("-CAfile")
            .arg(data("client-ca.pem"))
            .arg("-cert")
            .arg(data("server.pem"))
            .arg("-key")
            .arg(data("server.key")),
    );
    tap.wait_for_text("ACCEPT", PROMPT);
    tap
}

fn conf(ssl: &str) -> String {
    format!(
        "{ssl}virtual_server 10.99.0.100 443 {{\n    delay_loop 1\n    lb_algo rr\n    \
         lb_kind NAT\n    protocol TCP\n    real_server 10.99.0.12 443 {{\n        \
         SSL_GET {{\n            alpha\n            url {{\n                path /\n                \
         status_code 200\n            }}\n            connect_timeout 2\n            \
         retry 0\n        }}\n    }}\n}}\n"
    )
}

fn ssl_block(key: &Path) -> String {
    format!(
        "SSL {{\n    password keepalived\n    certificate {}\n    key {}\n    ca {}\n}}\n",
        data("client.pem").display(),
        key.display(),
        data("client-ca.pem").display()
    )
}

#[test]
fn ssl_get_presents_the_client_certificate_of_the_ssl_block() {
    keepalived_rs_tests::require_root();
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    let _server = mutual_tls_server(&b);
    // The encrypted key, readable by root only.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("client.key");
    std::fs::copy(data("client-enc.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let mut s = Suite::spawn_in(a.clone(), &conf(&ssl_block(&key)), &[]).wait_started();
    s.log
        .wait_for_text("Adding service [10.99.0.12]:tcp:443", PROMPT);

    // A key file gone: the reload is refused, the check goes on.
    let reload = |s: &Suite, text: String| {
        std::fs::write(&s.config, text).unwrap();
        s.ctl(&["reload"])
    };
    let missing = dir.path().join("missing.key");
    reload(&s, conf(&ssl_block(&missing)));
    s.log
        .wait_for_text("Reload failed; keeping the running configuration", PROMPT);
    let line = s
        .log
        .wait_for_text("SSL error : Cant load key file...", PROMPT);
    assert!(line.contains("missing.key"), "{line}");

    // Without the block the server refuses the handshake.
    reload(&s, conf(""));
    s.log
        .wait_for_text("Removing service [10.99.0.12]:tcp:443", PROMPT);
    // With it again, the server is back.
    reload(&s, conf(&ssl_block(&key)));
    s.log
        .wait_for_text("Adding service [10.99.0.12]:tcp:443", PROMPT);
    assert!(s.stop().success());

    // A start whose key cannot be loaded stops, naming the file.
    let mut bad = Suite::spawn_in(a.clone(), &conf(&ssl_block(&missing)), &[]);
    let line = bad
        .log
        .wait_for_text("SSL error : Cant load key file...", PROMPT);
    assert!(line.contains("missing.key"), "{line}");
    assert!(proc::wait_gone(bad.parent_pid(), PROMPT), "it went on");
    assert!(!bad.parent.wait().unwrap().success());
}
