//! Repeated reloads leak nothing (keepalived's users report fd and memory
//! growth on reload): with a VMAC, virtual routes, a track file, a track
//! script and a health check, 20 SIGHUPs that each change a weight leave
//! every child with the descriptors it had, no zombie, one VMAC, and the
//! master still holding its VIP and route.

use keepalived_rs_tests::lan::Lan;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{proc, shared_dir, Suite};
use nix::sys::signal::Signal;
use std::sync::Arc;

fn conf(dir: &std::path::Path, weight: u32) -> String {
    format!(
        "global_defs {{\n    router_id R\n}}\n\
         track_file tf {{\n    file {d}/tf\n    weight 1\n}}\n\
         vrrp_script chk {{\n    script /bin/true\n    interval 1\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    \
         advert_int 1\n    use_vmac\n    virtual_ipaddress {{\n        10.99.0.100/24\n    }}\n    \
         virtual_routes {{\n        10.200.0.0/16 via 10.99.0.1 dev eth0\n    }}\n    \
         track_file {{\n        tf\n    }}\n    track_script {{\n        chk\n    }}\n}}\n\
         virtual_server 10.99.0.100 80 {{\n    delay_loop 1\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n    \
         real_server 10.99.0.50 80 {{\n        weight {weight}\n        MISC_CHECK {{\n            misc_path /bin/true\n        }}\n    }}\n}}\n",
        d = dir.display()
    )
}

#[test]
fn twenty_reloads_leak_nothing() {
    let dir = shared_dir();
    std::fs::write(dir.path().join("tf"), "0\n").unwrap();
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut s = Suite::spawn_in(a.clone(), &conf(dir.path(), 1), &[]).wait_started();
    s.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    let children = ["vrrpd", "checkerd", "ipvsd"];
    let pids: Vec<i32> = children.iter().map(|c| s.child_pid(c)).collect();
    let fds = |pids: &[i32]| pids.iter().map(|&p| proc::fd_count(p)).collect::<Vec<_>>();
    // One reload first: what a reload opens once (and keeps) is not a leak.
    let mut generation = 1;
    let mut reload = |s: &mut Suite, weight: u32| {
        generation += 1;
        std::fs::write(&s.config, conf(dir.path(), weight)).unwrap();
        s.signal(Signal::SIGHUP);
        s.log.wait_for_all(
            &[
                &format!("vrrpd applied configuration {generation}"),
                &format!("checkerd applied configuration {generation}"),
                &format!("ipvsd applied configuration {generation}"),
            ],
            PROMPT,
        );
    };
    reload(&mut s, 2);
    let before = fds(&pids);
    for i in 0..20 {
        reload(&mut s, 3 + i % 2);
    }
    let after = fds(&pids);
    let now: Vec<i32> = children.iter().map(|c| s.child_pid(c)).collect();
    assert_eq!(pids, now, "a reload restarted a child");
    assert_eq!(
        before, after,
        "descriptors of {children:?} grew over 20 reloads"
    );
    for &p in &pids {
        assert!(
            proc::zombies_of(p).is_empty(),
            "zombies under {p}: {:?}",
            proc::zombies_of(p)
        );
    }
    let links = String::from_utf8_lossy(&a.ip(&["-o", "link", "show"]).stdout).to_string();
    assert_eq!(links.matches("vrrp.51@").count(), 1, "{links}");
    let addrs = String::from_utf8_lossy(&a.ip(&["-o", "addr", "show", "dev", "vrrp.51"]).stdout)
        .to_string();
    assert!(addrs.contains("inet 10.99.0.100/24"), "{addrs}");
    let routes = String::from_utf8_lossy(&a.ip(&["route", "show"]).stdout).to_string();
    assert!(routes.contains("10.200.0.0/16 via 10.99.0.1"), "{routes}");
    assert_eq!(
        s.log.count("Entering BACKUP STATE"),
        1,
        "a reload moved the master"
    );
}

/// A keyword keepalived-rs does not implement is reported with its
/// file:line at start and again at every reload: the daemon runs the file
/// (as keepalived would) and never ignores the keyword silently.
#[test]
fn unsupported_keywords_are_logged_at_start_and_reload() {
    // (An unimplemented example: pick another from
    // keepalived_config::support::UNSUPPORTED when it is implemented.)
    let text = "global_defs {\n    router_id R\n}\nnet_namespace_ipvs blue\n\
                vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
                priority 150\n    advert_int 1\n    virtual_ipaddress {\n        10.99.0.100/24\n    }\n}\n";
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut s = Suite::spawn_in(a.clone(), text, &[]).wait_started();
    let line = s.log.lines.join("\n");
    assert!(
        line.contains(
            "keepalived.conf:4:1: warning: 'net_namespace_ipvs' is not implemented by keepalived-rs"
        ),
        "{line}"
    );
    // And in the status output, for people and for tools.
    let o = s.ctl(&["status"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("Not implemented by keepalived-rs")
            && text
                .contains("keepalived.conf:4:1: warning: 'net_namespace_ipvs' is not implemented"),
        "{text}"
    );
    let o = s.ctl(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = v["status"]["unsupported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 1, "{v}");
    assert!(list[0].as_str().unwrap().contains("net_namespace_ipvs"));
    s.signal(Signal::SIGHUP);
    s.log.wait_for_text(
        "'net_namespace_ipvs' is not implemented by keepalived-rs",
        PROMPT,
    );
    s.log.wait_for_text("vrrpd applied configuration 2", PROMPT);
}
