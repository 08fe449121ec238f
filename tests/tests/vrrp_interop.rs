//! On the wire with Debian's keepalived 2.2.7: elections, failover and
//! preemption behave as between two keepalived nodes, both ways round, for
//! VRRPv2 with PASS and with AH authentication (keepalived's IPsec AH:
//! ICVs, SPIs and sequence numbers each side accepts) and for VRRPv3.

use keepalived_rs_tests::lan::{holds, Keepalived, Lan};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{Netns, Suite};
use std::sync::Arc;

const VIP: &str = "10.99.0.100/24";

/// VRRP version 2 with PASS, 2 with AH (written 1 here), or 3.
fn conf(prio: u8, version: u8) -> String {
    let auth = match version {
        2 => "    authentication {\n        auth_type PASS\n        auth_pass kars\n    }\n",
        1 => "    authentication {\n        auth_type AH\n        auth_pass kars-ah1\n    }\n",
        _ => "",
    };
    let version = version.max(2);
    format!(
        "global_defs {{\n    router_id N{prio}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    version {version}\n{auth}    \
         virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
    )
}

fn ours(ns: &Arc<Netns>, prio: u8, version: u8) -> Suite {
    Suite::spawn_in(ns.clone(), &conf(prio, version), &[]).wait_started()
}

fn ours_master_keepalived_backup(version: u8) {
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = lan.host(2);
    let mut us = ours(&a, 150, version);
    let mut ka = Keepalived::start(&b, &conf(100, version));
    us.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    ka.out.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    // Our master crashes: keepalived takes over.
    us.crash();
    ka.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP));
    // We come back with the higher priority and preempt it.
    a.ip(&["addr", "del", VIP, "dev", "eth0"]);
    let mut us = ours(&a, 150, version);
    us.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    ka.out.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    let log = us.log.lines.join("\n");
    assert!(
        !log.contains("discarding packet") && !log.contains("IPSEC"),
        "we dropped keepalived's adverts:\n{log}"
    );
}

fn keepalived_master_ours_backup(version: u8) {
    let mut lan = Lan::new();
    let a = lan.host(1);
    let b = Arc::new(lan.host(2));
    let mut ka = Keepalived::start(&a, &conf(150, version));
    ka.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut us = ours(&b, 100, version);
    us.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    // keepalived stops gracefully (priority 0): we take over at once.
    ka.stop();
    us.log
        .wait_for_text("(VI_1) Backup received priority 0 advertisement", PROMPT);
    us.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&b, VIP));
    // keepalived returns with the higher priority and preempts us.
    let mut ka = Keepalived::start(&a, &conf(150, version));
    ka.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    us.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&a, VIP) && !holds(&b, VIP));
    let out = ka.out.lines.join("\n");
    assert!(
        !out.contains("bad checksum") && !out.contains("invalid") && !out.contains("IPSEC"),
        "keepalived refused our adverts:\n{out}"
    );
}

#[test]
fn v2_pass_ours_master_keepalived_backup() {
    ours_master_keepalived_backup(2);
}

#[test]
fn v2_pass_keepalived_master_ours_backup() {
    keepalived_master_ours_backup(2);
}

#[test]
fn v3_ours_master_keepalived_backup() {
    ours_master_keepalived_backup(3);
}

#[test]
fn v3_keepalived_master_ours_backup() {
    keepalived_master_ours_backup(3);
}

#[test]
fn v2_ah_ours_master_keepalived_backup() {
    ours_master_keepalived_backup(1);
}

#[test]
fn v2_ah_keepalived_master_ours_backup() {
    keepalived_master_ours_backup(1);
}

/// Unicast VRRPv3 with a keepalived that sends the old checksum
/// (`old_unicast_checksum`: 224.0.0.18 in the pseudo-header whatever the
/// peer): we switch to it as keepalived 2.2.7 does ("Setting unicast VRRPv3
/// checksum to old version"), so keepalived, which then checks only the old
/// one, accepts our adverts when we are master.
#[test]
fn v3_unicast_old_checksum_with_keepalived() {
    let unicast = |prio: u8, me: u8, peer: u8, extra: &str| {
        conf(prio, 3).replace(
            "    virtual_ipaddress",
            &format!(
                "{extra}    unicast_src_ip 10.99.0.{me}\n    unicast_peer {{\n        10.99.0.{peer}\n    }}\n    virtual_ipaddress"
            ),
        )
    };
    let mut lan = Lan::new();
    let a = lan.host(1);
    let b = Arc::new(lan.host(2));
    let old = "    old_unicast_checksum\n";
    let mut ka = Keepalived::start(&a, &unicast(150, 11, 12, old));
    ka.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut us = Suite::spawn_in(b.clone(), &unicast(100, 12, 11, ""), &[]).wait_started();
    // (Its BACKUP (init) line comes first.)
    us.log.wait_for_text(
        "(VI_1) Setting unicast VRRPv3 checksum to old version",
        PROMPT,
    );
    assert_eq!(us.log.count("Entering MASTER STATE"), 0);
    // keepalived leaves: we take over; it comes back higher and must hear
    // us (else it would not see a master, and both would hold the VIP).
    ka.stop();
    us.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let mut ka = Keepalived::start(&a, &unicast(150, 11, 12, old));
    ka.out.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    us.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    let out = ka.out.lines.join("\n");
    assert!(
        !out.contains("checksum"),
        "keepalived refused our adverts:\n{out}"
    );
    assert!(holds(&a, VIP) && !holds(&b, VIP));
}
