//! SMTP_CHECK's deprecated `host` blocks, as keepalived 2.2.7 reads them
//! (check_smtp.c): one checker per host, a host's connection keywords its
//! own, the rest shared; the checker's own connection stays only if it set
//! one.

use keepalived_config::{load_str, LoadOptions};

fn checkers(smtp: &str) -> Vec<keepalived_config::model::Checker> {
    let text = format!(
        "virtual_server 10.0.0.1 25 {{\n delay_loop 6\n protocol TCP\n \
         real_server 10.0.0.2 25 {{\n  SMTP_CHECK {{\n{smtp}  }}\n }}\n}}\n"
    );
    let l = load_str(
        &text,
        std::path::Path::new("t.conf"),
        &LoadOptions::default(),
    )
    .expect("loads");
    assert!(
        l.notes.iter().any(|n| n
            .to_string()
            .contains("The SMTP_CHECK host block is deprecated")),
        "{:?}",
        l.notes
    );
    l.config.virtual_servers[0].real_servers[0].checkers.clone()
}

#[test]
fn each_host_is_a_checker_of_its_own() {
    let c = checkers(
        "   helo_name mx.test\n   retry 2\n   host {\n    connect_ip 10.0.0.5\n    connect_port 2525\n   }\n   \
         host {\n    connect_port 26\n    connect_timeout 3\n    delay_before_retry 7\n   }\n",
    );
    assert_eq!(c.len(), 2, "{c:?}");
    let ip: std::net::IpAddr = "10.0.0.5".parse().unwrap();
    assert_eq!((c[0].connect_ip, c[0].connect_port), (Some(ip), Some(2525)));
    assert_eq!((c[1].connect_ip, c[1].connect_port), (None, Some(26)));
    assert_eq!((c[0].connect_timeout, c[1].connect_timeout), (5.0, 3.0));
    for x in &c {
        // Shared: set at the checker's level or inside a host.
        assert_eq!(x.retry, 2);
        assert_eq!(x.delay_before_retry, 7.0);
        assert_eq!(x.helo_name.as_deref(), Some("mx.test"));
    }
    // The checker's own connection keeps its checker.
    let c = checkers("   connect_port 587\n   host {\n    connect_port 26\n   }\n");
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(
        (c[0].connect_port, c[1].connect_port),
        (Some(587), Some(26))
    );
}
