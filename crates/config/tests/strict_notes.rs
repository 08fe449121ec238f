//! What strict mode says at load, as keepalived 2.2.7 (vrrp.c
//! vrrp_complete_instance) and beyond it: a multicast IPv6 instance whose
//! first VIP is not link-local is a reported error in strict mode (exit 5,
//! as keepalived's `-t`) and only logged otherwise; and the implied
//! no_accept is pointed out (a note: `-t` still passes, as keepalived's).

mod common;

use keepalived_config::*;
use std::path::Path;

fn load(global: &str, own: &str, vips: &str) -> (i32, Vec<String>, Vec<String>) {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n \
         priority 100\n virtual_ipaddress {{\n{vips}\n }}\n{own}\n}}\n"
    );
    let l = load_str(&text, Path::new("/t/k.conf"), &common::opts()).expect("valid");
    let msgs = |v: &[Diagnostic]| v.iter().map(|d| d.message.clone()).collect();
    (l.config_test_exit(), msgs(&l.diagnostics), msgs(&l.notes))
}

#[test]
fn strict_ipv6_needs_a_link_local_first_vip() {
    let (exit, warns, _) = load(" vrrp_strict", "", " fd00::1/64\n fe80::1/64");
    assert_eq!(exit, 5);
    assert!(warns
        .iter()
        .any(|w| w == "(VI_1) the first IPv6 VIP address must be link local"));
    let (exit, warns, _) = load(" vrrp_strict", "", " fe80::1/64\n fd00::1/64");
    assert_eq!(exit, 0, "{warns:?}");
    // Without strict mode: logged, not an error.
    let (exit, _, notes) = load("", "", " fd00::1/64");
    assert_eq!(exit, 0);
    assert!(notes
        .iter()
        .any(|n| n == "(VI_1) the first IPv6 VIP address should be link local"));
    // Unicast instances are exempt.
    let (exit, _, _) = load(
        " vrrp_strict",
        " unicast_peer {\n fd00::2\n }",
        " fd00::1/64",
    );
    assert_eq!(exit, 0);
}

#[test]
fn strict_mode_points_out_its_implied_no_accept() {
    let (exit, _, notes) = load(" vrrp_strict", "", " 10.0.0.1");
    assert_eq!(exit, 0);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("strict mode implies no_accept")),
        "{notes:?}"
    );
    // Not when accept is set, or for the address owner.
    for own in [" accept", " priority 255"] {
        let (_, _, notes) = load(" vrrp_strict", own, " 10.0.0.1");
        assert!(
            !notes.iter().any(|n| n.contains("implies no_accept")),
            "{own}: {notes:?}"
        );
    }
}

/// `use_vmac [NAME] [MAC]` as keepalived 2.2.7's vrrp_vmac_handler reads
/// it: either order, five octets completed with the VRID, refused MACs
/// (multicast, RFC 5798's own, any in strict mode) not used.
#[test]
fn use_vmac_name_and_mac() {
    let inst = |global: &str, words: &str| {
        let text = format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n \
             priority 100\n use_vmac {words}\n virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
        );
        let l = load_str(&text, Path::new("/t/k.conf"), &common::opts()).expect("valid");
        (
            l.config.vrrp_instances[0].vmac_parts(),
            l.config_test_exit(),
        )
    };
    let m = |b: [u8; 6]| Some(b);
    assert_eq!(
        inst("", "vm1 02:11:22:33:44"),
        ((Some("vm1".into()), m([2, 0x11, 0x22, 0x33, 0x44, 51])), 0)
    );
    assert_eq!(
        inst("", "02:11:22:33:44: vm1"),
        ((Some("vm1".into()), m([2, 0x11, 0x22, 0x33, 0x44, 51])), 0)
    );
    assert_eq!(
        inst("", "02:11:22:33:44:55").0,
        (None, m([2, 0x11, 0x22, 0x33, 0x44, 0x55]))
    );
    // Refused, and reported.
    for bad in ["03:11:22:33:44:55", "00:00:5e:00:01:07", "02:11:22"] {
        let ((name, mac), exit) = inst("", &format!("vm1 {bad}"));
        assert_eq!(
            (name.as_deref(), mac, exit),
            (Some("vm1"), None, 5),
            "{bad}"
        );
    }
    assert_eq!(inst(" vrrp_strict", "vm1 02:11:22:33:44:55").0 .1, None);
    assert_eq!(inst("", "").0, (None, None));
}
