//! keepalived's process keywords (`*_process_name`, `*_rt_priority`,
//! `*_rlimit_rttime`, `*_no_swap`, `*_cpu_affinity`, `*_priority`,
//! `process_name`), read back from `/proc` of the running processes: the
//! same configuration under keepalived 2.2.7 and under keepalived-rs gives
//! the same scheduling, CPUs, limits, memory locking and names; a reload
//! that drops them puts every process back.

use keepalived_rs_tests::lan::{Keepalived, Lan};
use keepalived_rs_tests::{Netns, Suite};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What /proc says about how a process runs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sched {
    name: String,
    nice: i32,
    rt_priority: u32,
    /// 0 SCHED_OTHER, 2 SCHED_RR.
    policy: u32,
    cpus: String,
    locked: bool,
    /// "Max realtime timeout": soft, hard.
    rttime: (String, String),
}

fn sched(pid: i32) -> Option<Sched> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    // Fields after the name, numbered from 3 (state).
    let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<i64>().ok());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let rt = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))?
        .split_whitespace()
        .skip(3)
        .take(2)
        .map(String::from)
        .collect::<Vec<_>>();
    Some(Sched {
        name,
        nice: field(19)? as i32,
        rt_priority: field(40)? as u32,
        policy: field(41)? as u32,
        cpus: value("Cpus_allowed_list:"),
        locked: value("VmLck:").trim_end_matches(" kB").trim() != "0",
        rttime: (rt.first()?.clone(), rt.get(1)?.clone()),
    })
}

/// Wait until `pid` (looked up again each time) runs as `want`
/// (`rttime` compared only when `want` has one).
fn wait_for(what: &str, pid: impl Fn() -> Option<i32>, want: &Sched) {
    let until = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while Instant::now() < until {
        last = pid().and_then(sched).map(|mut s| {
            if want.rttime == Default::default() {
                s.rttime = Default::default();
            }
            s
        });
        if last.as_ref() == Some(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: wanted {want:?}, /proc says {last:?}");
}

fn last_cpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
}

fn tuned_config() -> String {
    format!(
        "global_defs {{\n  process_name kal_parent\n  vrrp_process_name kal_vrrp\n  \
         checker_process_name kal_chk\n  vrrp_rt_priority 7\n  vrrp_rlimit_rttime 60000\n  \
         vrrp_no_swap\n  vrrp_cpu_affinity 0\n  checker_priority 5\n  \
         checker_cpu_affinity {}\n}}\n{}",
        last_cpu(),
        INSTANCE
    )
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  \
     virtual_router_id 51\n  priority 100\n  advert_int 1\n  \
     virtual_ipaddress {\n    10.99.0.100/24\n  }\n}\n";

/// The nice value processes inherit (the test may itself run under
/// `nice`): what a process whose nice value is not set runs with.
fn inherited_nice() -> i32 {
    sched(std::process::id() as i32).expect("own /proc").nice
}

fn tuned_vrrp() -> Sched {
    Sched {
        name: "kal_vrrp".into(),
        // Realtime: the nice value is left alone.
        nice: inherited_nice(),
        rt_priority: 7,
        policy: 2,
        cpus: "0".into(),
        locked: true,
        rttime: ("30000".into(), "60000".into()),
    }
}

fn tuned_checker() -> Sched {
    Sched {
        name: "kal_chk".into(),
        nice: 5,
        rt_priority: 0,
        policy: 0,
        cpus: last_cpu().to_string(),
        locked: false,
        rttime: ("unlimited".into(), "unlimited".into()),
    }
}

#[test]
fn process_keywords_run_the_processes_as_keepalived_runs_them() {
    let mut lan = Lan::new();
    let a: Arc<Netns> = Arc::new(lan.host(1));

    // keepalived 2.2.7 first: what it does with the keywords is the
    // expectation (the checker process runs with --all, no IPVS needed).
    let ka = Keepalived::start_all(&a, &tuned_config());
    wait_for(
        "keepalived's VRRP process",
        || ka.pid("kv.pid"),
        &tuned_vrrp(),
    );
    wait_for(
        "keepalived's checker process",
        || ka.pid("kc.pid"),
        &tuned_checker(),
    );
    let parent = ka
        .pid("k.pid")
        .and_then(sched)
        .expect("keepalived's parent");
    assert_eq!(parent.name, "kal_parent");
    ka.stop();

    // The same file under keepalived-rs: vrrpd as keepalived's VRRP
    // process; checkerd and ipvsd as its checker process.
    let mut s = Suite::spawn_in(a.clone(), &tuned_config(), &[]).wait_started();
    wait_for("vrrpd", || Some(s.child_pid("vrrpd")), &tuned_vrrp());
    for child in ["checkerd", "ipvsd"] {
        wait_for(child, || Some(s.child_pid(child)), &tuned_checker());
    }
    assert_eq!(sched(s.parent_pid()).unwrap().name, "kal_parent");

    // A reload without the keywords: every process runs as the parent
    // does again, under its own name. (RLIMIT_RTTIME counts realtime CPU
    // only; raising its hard limit again needs CAP_SYS_RESOURCE, which the
    // host may not grant: it is not compared.)
    std::fs::write(&s.config, INSTANCE).unwrap();
    let r = s.ctl(&["reload"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stdout));
    let all = sched(s.parent_pid()).unwrap().cpus;
    for child in ["vrrpd", "checkerd", "ipvsd"] {
        let plain = Sched {
            name: child.into(),
            nice: inherited_nice(),
            rt_priority: 0,
            policy: 0,
            cpus: all.clone(),
            locked: false,
            rttime: Default::default(),
        };
        wait_for(child, || Some(s.child_pid(child)), &plain);
    }
    assert_eq!(sched(s.parent_pid()).unwrap().name, "keepalived-rs");
    assert!(s.stop().success());
}
