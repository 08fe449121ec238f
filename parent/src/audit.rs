//! `keepalivedctl audit`: what the kernel says each process of the suite
//! holds (`/proc/PID/status`), next to the allowlist its seccomp filter
//! was built from (`keepalived_sandbox::seccomp`'s tables).

use keepalived_ipc::control::ProcessAudit;
use keepalived_ipc::Subsystem;
use std::collections::BTreeMap;

/// `/proc/PID/status` of `pid`, read into an audit entry; `sub` names the
/// child whose filter tables apply (None: the parent or the launcher,
/// which install no filter of ours).
pub fn process(name: &str, pid: u32, sub: Option<Subsystem>) -> Option<ProcessAudit> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut a = from_status(name, pid, &status);
    if let Some(sub) = sub {
        a.allowed_syscalls = keepalived_sandbox::seccomp::allowlist(sub);
        let (families, netlink) = keepalived_sandbox::seccomp::socket_policy(sub);
        a.socket_families = families.into_iter().map(String::from).collect();
        a.netlink_protocols = netlink.into_iter().map(String::from).collect();
    }
    Some(a)
}

/// The children of `pid` (checkerd's one child is its script launcher).
pub fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

pub fn from_status(name: &str, pid: u32, status: &str) -> ProcessAudit {
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')))
            .map(str::trim)
            .unwrap_or_default()
    };
    let numbers = |k: &str| -> Vec<u32> {
        field(k)
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    let mut capabilities = BTreeMap::new();
    for (key, set) in [
        ("CapInh", "inheritable"),
        ("CapPrm", "permitted"),
        ("CapEff", "effective"),
        ("CapBnd", "bounding"),
        ("CapAmb", "ambient"),
    ] {
        let mask = u64::from_str_radix(field(key), 16).unwrap_or(0);
        capabilities.insert(set.to_string(), cap_names(mask));
    }
    ProcessAudit {
        process: name.to_string(),
        pid,
        uid: numbers("Uid"),
        gid: numbers("Gid"),
        groups: numbers("Groups"),
        capabilities,
        no_new_privs: field("NoNewPrivs") == "1",
        seccomp: match field("Seccomp") {
            "0" => "disabled",
            "1" => "strict",
            "2" => "filter",
            _ => "unknown",
        }
        .into(),
        allowed_syscalls: Vec::new(),
        socket_families: Vec::new(),
        netlink_protocols: Vec::new(),
    }
}

/// A capability mask as names (CAP_NET_ADMIN...), unknown bits as cap_N.
pub fn cap_names(mask: u64) -> Vec<String> {
    let known: BTreeMap<u8, String> = caps::all()
        .into_iter()
        .map(|c| (c.index(), c.to_string()))
        .collect();
    (0..64u8)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| known.get(&b).cloned().unwrap_or_else(|| format!("cap_{b}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_capabilities_and_seccomp_from_proc_status() {
        let status = "Name:\tvrrpd\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n\
                      CapInh:\t0000000000000000\nCapPrm:\t0000000000003000\n\
                      CapEff:\t0000000000003000\nCapBnd:\t0000000000003000\n\
                      CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n";
        let a = from_status("vrrpd", 7, status);
        assert_eq!(a.uid, vec![0, 0, 0, 0]);
        assert!(a.groups.is_empty());
        assert_eq!(
            a.capabilities["effective"],
            ["CAP_NET_ADMIN", "CAP_NET_RAW"]
        );
        assert!(a.capabilities["ambient"].is_empty());
        assert!(a.no_new_privs);
        assert_eq!(a.seccomp, "filter");
        assert_eq!(cap_names(1 << 63), ["cap_63"]);
    }

    #[test]
    fn this_process_reads_as_itself() {
        let me = std::process::id();
        let a = process("test", me, Some(Subsystem::Checker)).unwrap();
        assert_eq!(a.uid[0], nix::unistd::getuid().as_raw());
        assert!(a.allowed_syscalls.contains(&"epoll_wait".to_string()));
        assert!(!a.allowed_syscalls.iter().any(|s| s == "execve"));
        assert!(a.socket_families.iter().all(|f| f != "AF_PACKET"));
    }
}
