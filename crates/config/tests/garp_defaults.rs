//! The gratuitous ARPs answering a lower-priority advert follow
//! keepalived 2.2.7 (vrrp.c): unset, they take the global
//! `vrrp_garp_master_delay` / `_repeat` (not a fixed 5), an instance
//! inherits the global values, and strict mode sends none (saying so when
//! the instance asked for some).

mod common;

use keepalived_config::*;
use std::path::Path;

fn instance(global: &str, own: &str) -> (model::VrrpInstance, Vec<String>) {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n \
         priority 100\n virtual_ipaddress {{\n 10.0.0.1\n }}\n{own}\n}}\n"
    );
    let l = load_str(&text, Path::new("/t/k.conf"), &common::opts()).expect("valid");
    let d = l.diagnostics.iter().map(|d| d.message.clone()).collect();
    (l.config.vrrp_instances[0].clone(), d)
}

#[test]
fn lower_priority_garps_follow_the_master_values_when_unset() {
    let (i, _) = instance(" vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3", "");
    assert_eq!(
        (i.garp_lower_prio_delay, i.garp_lower_prio_repeat),
        (2.0, 3)
    );
    let (i, _) = instance("", "");
    assert_eq!(
        (i.garp_lower_prio_delay, i.garp_lower_prio_repeat),
        (5.0, 5)
    );
    // Set globally, or on the instance: that wins.
    let (i, _) = instance(
        " vrrp_garp_master_delay 2\n vrrp_garp_lower_prio_delay 7\n vrrp_garp_lower_prio_repeat 1",
        "",
    );
    assert_eq!(
        (i.garp_lower_prio_delay, i.garp_lower_prio_repeat),
        (7.0, 1)
    );
    let (i, _) = instance(" vrrp_garp_master_delay 2", " garp_lower_prio_delay 4");
    assert_eq!(i.garp_lower_prio_delay, 4.0);
}

#[test]
fn strict_mode_sends_no_lower_priority_garps() {
    let (i, d) = instance(" vrrp_strict", "");
    assert_eq!(
        (i.garp_lower_prio_delay, i.garp_lower_prio_repeat),
        (0.0, 0)
    );
    assert!(
        !d.iter().any(|m| m.contains("Strict mode requires")),
        "{d:?}"
    );
    let (i, d) = instance(
        " vrrp_strict",
        " garp_lower_prio_delay 3\n garp_lower_prio_repeat 2",
    );
    assert_eq!(
        (i.garp_lower_prio_delay, i.garp_lower_prio_repeat),
        (0.0, 0)
    );
    assert!(
        d.iter()
            .any(|m| m == "(VI_1) Strict mode requires no repeat garps. resetting"),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|m| m == "(VI_1) Strict mode requires no repeat garp delay. resetting"),
        "{d:?}"
    );
}

/// Strict mode also answers no lower-priority advert and sends none to a
/// higher priority (vrrp.c), whatever the global settings say.
#[test]
fn strict_mode_answers_no_lower_priority_advert() {
    let (i, _) = instance("", "");
    assert!(!i.lower_prio_no_advert && !i.higher_prio_send_advert);
    let (i, d) = instance(" vrrp_strict\n vrrp_higher_prio_send_advert", "");
    assert!(
        i.lower_prio_no_advert && !i.higher_prio_send_advert,
        "{d:?}"
    );
    let (i, d) = instance(
        " vrrp_strict",
        " lower_prio_no_advert false\n higher_prio_send_advert true",
    );
    assert!(i.lower_prio_no_advert && !i.higher_prio_send_advert);
    for m in [
        "(VI_1) Strict mode requires no lower priority advert. resetting",
        "(VI_1) strict mode requires higher_prio_send_advert to be clear. resetting",
    ] {
        assert!(d.iter().any(|x| x == m), "{m}: {d:?}");
    }
}

/// `vrrp_min_garp` (keepalived 2.2.7's handler): one gratuitous ARP, no
/// delay, no refresh — for what was left at its default only.
#[test]
fn vrrp_min_garp_sets_what_was_left_at_default() {
    let (i, _) = instance(" vrrp_min_garp", "");
    assert_eq!(
        (
            i.garp_master_repeat,
            i.garp_master_delay,
            i.garp_master_refresh_repeat
        ),
        (1, 0.0, 0)
    );
    let (i, _) = instance(" vrrp_garp_master_repeat 3\n vrrp_min_garp", "");
    assert_eq!((i.garp_master_repeat, i.garp_master_delay), (3, 0.0));
}
