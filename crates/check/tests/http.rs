//! HTTP_GET and SSL_GET against real servers in a private namespace.
//! Verdicts against real servers; when each falls is asserted to the
//! instant in virtual time (timing.rs), here only that none comes early.

mod common;
use common::servers::*;
use common::*;
use keepalived_check::probe::http::BodyRegex;
use keepalived_check::*;
use md5::{Digest, Md5};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

fn body_digest() -> Option<[u8; 16]> {
    Some(Md5::digest(BODY.as_bytes()).into())
}

fn urls() -> Vec<UrlSpec> {
    vec![
        UrlSpec {
            path: "/".into(),
            digest: body_digest(),
            ..Default::default()
        },
        UrlSpec {
            path: "/other".into(),
            status: StatusCodes::parse(&["200-204"]).unwrap(),
            ..Default::default()
        },
    ]
}

#[test]
fn http_get_status_digest_slow_and_down() {
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.2:80", mode.clone(), |mut s, m| {
        http_reply(&mut s, m)
    });
    let mut h = Harness::new();
    // delay_loop 300, connect_timeout 200, retry 1, delay_before_retry 100;
    // alpha: down until both urls pass (one url per loop).
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(300, 200, 1, 100),
        alpha: true,
        kind: CheckKind::Http(
            ep("127.0.0.2:80"),
            HttpSpec {
                urls: urls(),
                ..Default::default()
            },
        ),
    }]);
    assert_eq!(h.wait_rs(100, false), 0);
    // url 1 at 0, url 2 at 300: up.
    let up = h.wait_rs(2000, true);
    not_before(up, 300, 30);
    // HTTP 500: the next check (url 1 at up+300) fails, retried after
    // 100 ms: down at up+400.
    mode.set(BAD);
    let down = h.wait_rs(3000, false);
    not_before(down, up + 400, 30);
    // Recovery: the failed url is retried every max(dbr, delay_loop); once
    // it passes (down+300) every url is walked again from the first, one
    // per loop (down+600, down+900): up.
    mode.set(UP);
    let up2 = h.wait_rs(5000, true);
    not_before(up2, down + 900, 40);
    // Slow (400 ms > connect_timeout 200): each try times out.
    mode.set(SLOW);
    let down2 = h.wait_rs(7000, false);
    not_before(down2, up2 + 300 + 200 + 100 + 200, 60);
    mode.set(DOWN);
    h.run_until(down2 + 700);
    eprintln!("http timeline (ms, up): {:?}", h.rs_log());
    assert_eq!(h.rs_log().len(), 5, "{:?}", h.rs_log());
}

#[test]
fn http_wrong_digest_and_status_fail() {
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.2:80", mode, |mut s, m| http_reply(&mut s, m));
    let mut h = Harness::new();
    let mut bad = urls();
    bad[0].digest = Some([0; 16]);
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(300, 200, 0, 100),
        alpha: false,
        kind: CheckKind::Http(
            ep("127.0.0.2:80"),
            HttpSpec {
                urls: bad,
                ..Default::default()
            },
        ),
    }]);
    not_before(h.wait_rs(2000, false), 0, 30);
    let mut h = Harness::new();
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(300, 200, 0, 100),
        alpha: false,
        kind: CheckKind::Http(
            ep("127.0.0.2:80"),
            HttpSpec {
                urls: vec![UrlSpec {
                    path: "/missing".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ),
    }]);
    not_before(h.wait_rs(2000, false), 0, 30);
}

/// `regex` (keepalived's HTTP_GET body match): a body that matches passes,
/// one that does not fails the check ("Regex match failed"), and
/// `regex_no_match` turns that round. Without the regex the same server
/// passes every case, so each verdict below comes from the match.
#[test]
fn http_regex_decides_on_the_body() {
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.2:80", mode, |mut s, m| http_reply(&mut s, m));
    let verdict = |pattern: &str, options: &[&str], no_match: bool, min: u64, max: Option<u64>| {
        let mut h = Harness::new();
        let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        h.add(vec![CheckSpec {
            log_all_failures: false,
            timing: timing(300, 200, 0, 100),
            alpha: true,
            kind: CheckKind::Http(
                ep("127.0.0.2:80"),
                HttpSpec {
                    urls: vec![UrlSpec {
                        path: "/".into(),
                        regex: Some(BodyRegex::new(pattern, &options, no_match, min, max)),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ),
        }]);
        // alpha: down until the first check says otherwise.
        h.run_until(700);
        h.rs_log().last().map(|e| e.1).unwrap_or(false)
    };
    // BODY is "hello keepalived\n".
    assert!(verdict("keep.*ved", &[], false, 0, None));
    assert!(!verdict("haproxy", &[], false, 0, None));
    assert!(!verdict("KEEPALIVED", &[], false, 0, None));
    assert!(verdict("KEEPALIVED", &["caseless"], false, 0, None));
    assert!(!verdict("keepalived", &[], true, 0, None), "regex_no_match");
    assert!(verdict("haproxy", &[], true, 0, None), "regex_no_match");
    // A match must start within [min, max]: "keepalived" starts at 6.
    assert!(verdict("keepalived", &[], false, 6, Some(6)));
    assert!(!verdict("keepalived", &[], false, 7, None));
    assert!(!verdict("keepalived", &[], false, 0, Some(5)));
    // What the linear-time engine cannot run fails the check, never
    // passes it unmatched.
    assert!(!verdict("(?<=hello )keepalived", &[], false, 0, None));
}

fn tls_server(addr: &'static str, mode: Mode) {
    tls_server_asking(addr, mode, false)
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// A TLS server; `client_cert`: it requires a client certificate signed by
/// the test client CA (as a server behind mutual TLS does).
fn tls_server_asking(addr: &'static str, mode: Mode, client_cert: bool) {
    let dir = DATA;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/server.pem"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_cert {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(format!("{dir}/client-ca.pem")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let cfg = Arc::new(builder.with_single_cert(certs, key).unwrap());
    tcp_server(addr, mode, move |s, m| {
        let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, s);
        http_reply(&mut tls, m);
        tls.conn.send_close_notify();
        let _ = tls.conn.complete_io(&mut tls.sock);
    });
}

fn ssl_check(tls: TlsSpec, alpha: bool) -> CheckSpec {
    CheckSpec {
        log_all_failures: false,
        timing: timing(300, 300, 1, 100),
        alpha,
        kind: CheckKind::Http(
            ep("127.0.0.2:443"),
            HttpSpec {
                urls: urls(),
                tls: Some(tls),
                ..Default::default()
            },
        ),
    }
}

#[test]
fn ssl_get_unverified_by_default_verified_on_request() {
    netns();
    let mode = Mode::new();
    tls_server("127.0.0.2:443", mode.clone());
    // keepalived's default: the certificate is not checked.
    let mut h = Harness::new();
    h.add(vec![ssl_check(TlsSpec::default(), true)]);
    not_before(h.wait_rs(2000, true), 300, 40);
    mode.set(BAD);
    let down = h.wait_rs(3000, false);
    mode.set(UP);

    // Verification against the test CA, with SNI "localhost".
    let ca: Vec<Vec<u8>> =
        CertificateDer::pem_file_iter(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ca.pem"))
            .unwrap()
            .map(|c| c.unwrap().to_vec())
            .collect();
    let mut h2 = Harness::new();
    h2.add(vec![ssl_check(
        TlsSpec {
            verify_roots: ca.clone(),
            client: None,
            sni: Some("localhost".into()),
        },
        true,
    )]);
    not_before(h2.wait_rs(2000, true), 300, 40);

    // A name the certificate does not carry fails verification.
    let mut h3 = Harness::new();
    h3.add(vec![ssl_check(
        TlsSpec {
            verify_roots: ca,
            client: None,
            sni: Some("other.example".into()),
        },
        false,
    )]);
    // retry 1 with delay_before_retry 100: down at 100.
    not_before(h3.wait_rs(2000, false), 100, 40);
    let _ = down;
}

fn data(f: &str) -> String {
    format!("{DATA}/{f}")
}

/// The SSL block (keepalived's check_ssl.c): SSL_GET presents its client
/// certificate to a server that requires one, with the key as written or
/// encrypted (PKCS#8) under `password`; without it the check fails.
#[test]
fn ssl_get_presents_the_ssl_block_client_certificate() {
    use keepalived_check::probe::client_cert::{load, SslFiles};
    netns();
    let mode = Mode::new();
    tls_server_asking("127.0.0.3:443", mode.clone(), true);
    let check = |client, alpha| {
        let mut c = ssl_check(
            TlsSpec {
                client,
                ..Default::default()
            },
            alpha,
        );
        if let CheckKind::Http(e, _) = &mut c.kind {
            *e = ep("127.0.0.3:443");
        }
        c
    };
    let (cert, key, enc) = (
        data("client.pem"),
        data("client.key"),
        data("client-enc.key"),
    );
    let plain = load(&SslFiles {
        certificate: Some(&cert),
        key: Some(&key),
        ..Default::default()
    })
    .unwrap();
    let encrypted = load(&SslFiles {
        certificate: Some(&cert),
        key: Some(&enc),
        password: Some("keepalived"),
        ca: Some(&data("client-ca.pem")),
    })
    .unwrap();
    assert!(plain.is_some() && plain == encrypted);
    for client in [plain, encrypted] {
        let mut h = Harness::new();
        h.add(vec![check(client, false)]);
        h.wait_rs(2000, true);
    }
    // No certificate: the server ends every handshake.
    let mut h = Harness::new();
    h.add(vec![check(None, true)]);
    h.wait_rs(2000, false);
}

/// What keepalived cannot load stops its checker; here each failure names
/// the file and why, after keepalived's phrase.
#[test]
fn ssl_block_files_that_cannot_be_used_are_named() {
    use keepalived_check::probe::client_cert::{load, SslFiles};
    let (cert, key) = (data("client.pem"), data("client.key"));
    let err = |f: SslFiles| load(&f).unwrap_err().to_string();
    let e = err(SslFiles {
        certificate: Some("/nonexistent/c.pem"),
        key: Some(&key),
        ..Default::default()
    });
    assert!(
        e.starts_with("SSL error : Cant load certificate file..."),
        "{e}"
    );
    assert!(e.contains("/nonexistent/c.pem"), "{e}");
    let enc = data("client-enc.key");
    let wrong = SslFiles {
        certificate: Some(&cert),
        key: Some(&enc),
        password: Some("nope"),
        ..Default::default()
    };
    assert!(err(wrong).starts_with("SSL error : Cant load key file..."));
    let none = SslFiles {
        password: None,
        ..wrong
    };
    assert!(err(none).contains("no password"));
    let legacy = data("client-legacy.key");
    let e = err(SslFiles {
        certificate: Some(&cert),
        key: Some(&legacy),
        password: Some("keepalived"),
        ..Default::default()
    });
    assert!(e.contains("openssl pkcs8 -topk8"), "{e}");
    // The server's key with the client's certificate.
    let other = data("server.key");
    let e = err(SslFiles {
        certificate: Some(&cert),
        key: Some(&other),
        ..Default::default()
    });
    assert!(e.contains("does not go with"), "{e}");
    let e = err(SslFiles {
        ca: Some(&key),
        ..Default::default()
    });
    assert!(e.starts_with("SSL error : Cant load CA file..."), "{e}");
    // Only one of the pair: nothing to present, nothing wrong.
    assert_eq!(
        load(&SslFiles {
            certificate: Some(&cert),
            ..Default::default()
        }),
        Ok(None)
    );
    // The key never shows in a log or dump.
    let c = load(&SslFiles {
        certificate: Some(&cert),
        key: Some(&key),
        ..Default::default()
    })
    .unwrap()
    .unwrap();
    assert!(format!("{c:?}").contains("<redacted>"));
}

#[test]
fn genhash_matches_what_http_get_compares() {
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.2:80", mode.clone(), |mut s, m| {
        http_reply(&mut s, m)
    });
    tls_server("127.0.0.2:443", mode);
    let spec = HttpSpec {
        urls: urls(),
        ..Default::default()
    };
    let t = std::time::Duration::from_secs(2);
    assert_eq!(genhash(&ep("127.0.0.2:80"), &spec, t).ok(), body_digest());
    let tls = HttpSpec {
        tls: Some(TlsSpec::default()),
        ..spec
    };
    assert_eq!(genhash(&ep("127.0.0.2:443"), &tls, t).ok(), body_digest());
    assert!(genhash(&ep("127.0.0.2:81"), &tls, t).is_err());
}

/// A server that trickles its answer a byte at a time (slowloris): each
/// byte is progress, yet the attempt ends at 4 × connect_timeout (here
/// 800 ms), not when the server chooses to stop (4 s).
#[test]
fn a_trickling_server_cannot_hold_a_check() {
    use std::io::Write;
    netns();
    let mode = Mode::new();
    tcp_server("127.0.0.3:80", mode.clone(), |mut s, _| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        for _ in 0..200 {
            if s.write_all(b"X").is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let mut h = Harness::new();
    h.add(vec![CheckSpec {
        log_all_failures: false,
        timing: timing(10_000, 200, 0, 100),
        alpha: false,
        kind: CheckKind::Http(
            ep("127.0.0.3:80"),
            HttpSpec {
                urls: urls(),
                ..Default::default()
            },
        ),
    }]);
    let down = h.wait_rs(5000, false);
    assert!(down <= 1000, "the trickle held the check for {down} ms");
}
