//! keepalived-rs's own keywords (`bgp_announce`, `announce`): read into
//! the model with their defaults, said to be extensions (a note: `-t`
//! passes, keepalived 2.2.7 would refuse the file), refused where they
//! cannot work, and the settings that break flow affinity across
//! directors pointed out with their location.

mod common;

use keepalived_config::*;
use std::path::Path;

fn load(text: &str) -> Result<Loaded, LoadError> {
    load_str(text, Path::new("/t/k.conf"), &common::opts())
}

fn notes(l: &Loaded) -> Vec<String> {
    l.notes
        .iter()
        .map(|d| {
            format!(
                "{}: {}",
                d.location.as_ref().map_or(0, |l| l.line),
                d.message
            )
        })
        .collect()
}

#[test]
fn the_fixture_reads_with_every_setting() {
    let p = common::fixtures().join("config/extensions/bgp_announce.conf");
    let l = load_file(&p, &common::opts()).expect("valid");
    assert_eq!(l.config_test_exit(), 0, "{:?}", l.diagnostics);
    let b = l.config.bgp_announce.as_ref().expect("the block");
    assert_eq!(b.interface, "kalrs1");
    assert_eq!(b.address_lifetime, 12);
    assert!(!b.withdraw_on_shutdown);
    assert_eq!(b.health_timeout, 2.5);
    let a = l.config.virtual_servers[0].announce.as_ref().unwrap();
    assert_eq!((a.delay_up, a.delay_down), (2.0, 0.5));
    // A bare `announce`: the defaults.
    let a = l.config.virtual_servers[1].announce.as_ref().unwrap();
    assert_eq!((a.delay_up, a.delay_down), (0.0, 0.0));
    let n = notes(&l);
    assert!(
        n.iter()
            .any(|m| m.starts_with("3: 'bgp_announce' is a keepalived-rs extension")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|m| m.starts_with("18: 'announce' is a keepalived-rs extension")),
        "{n:?}"
    );
    // The first service has every affinity setting; the second none.
    assert!(
        !n.iter().any(|m| m.starts_with("18: an announced")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|m| m
                .starts_with("32: an announced virtual server should use 'lb_algo mh' (not rr)")),
        "{n:?}"
    );
    // It prints and converts to TOML and back unchanged.
    let printed = to_keepalived_conf(&l.config);
    let again = load(&printed).expect("printed form loads");
    assert_eq!(
        again.config.bgp_announce, l.config.bgp_announce,
        "{printed}"
    );
    assert_eq!(
        again.config.virtual_servers, l.config.virtual_servers,
        "{printed}"
    );
    let back = from_toml(&to_toml(&l.config)).expect("TOML");
    assert_eq!(back.bgp_announce, l.config.bgp_announce);
    assert_eq!(back.virtual_servers, l.config.virtual_servers);
}

#[test]
fn defaults_and_refusals() {
    let vs = |head: &str, extra: &str| {
        format!("virtual_server {head} {{\n lb_algo mh\n protocol TCP\n{extra}\n announce\n real_server 10.0.1.11 80 {{\n }}\n}}\n")
    };
    // No block: the defaults.
    let l = load(&format!("bgp_announce {{\n}}\n{}", vs("192.0.2.10 80", ""))).unwrap();
    let b = l.config.bgp_announce.clone().unwrap();
    assert_eq!(
        (
            b.interface.as_str(),
            b.address_lifetime,
            b.withdraw_on_shutdown,
            b.health_timeout
        ),
        ("kalrs0", 9, true, 3.0)
    );
    // mh without inhibit_on_failure, then without mh-fallback; persistence.
    let n = notes(&l);
    assert!(
        n.iter()
            .any(|m| m.contains("should set 'inhibit_on_failure'")),
        "{n:?}"
    );
    let l = load(&vs(
        "192.0.2.10 80",
        " inhibit_on_failure\n persistence_timeout 60",
    ))
    .unwrap();
    let n = notes(&l);
    assert!(
        n.iter().any(|m| m.contains("should set 'mh-fallback'")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|m| m.contains("persistence templates are each director's own")),
        "{n:?}"
    );
    // fwmark and group services have no one address: refused, with the line.
    for head in ["fwmark 5", "group G"] {
        let text = format!(
            "virtual_server_group G {{\n 192.0.2.20 80\n}}\n{}",
            vs(head, "")
        );
        let e = load(&text).expect_err(head);
        let d = e
            .diagnostics
            .iter()
            .find(|d| d.message.contains("'announce' needs"))
            .expect(head);
        assert_eq!(d.location.as_ref().unwrap().line, 8, "{head}");
    }
    // Bad values: an interface name the kernel refuses, a lifetime under
    // 3 s, a second block.
    for (bad, what) in [
        (
            "bgp_announce {\n interface a/b\n}",
            "not a valid interface name",
        ),
        (
            "bgp_announce {\n interface abcdefghijklmnop\n}",
            "not a valid interface name",
        ),
        (
            "bgp_announce {\n address_lifetime 2\n}",
            "outside the range [3, 86400]",
        ),
        (
            "bgp_announce {\n}\nbgp_announce {\n}",
            "'bgp_announce' is given twice",
        ),
    ] {
        let e = load(bad).expect_err(bad);
        assert!(
            e.diagnostics.iter().any(|d| d.message.contains(what)),
            "{bad}: {:?}",
            e.diagnostics
        );
    }
}
