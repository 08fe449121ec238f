//! Only configured scripts run, whoever asks. checkerd names scripts by id
//! with typed arguments; its launcher gets the configuration's scripts from
//! the parent (on a socket checkerd does not keep), so a compromised
//! checkerd asking it for an unconfigured id, or for a configured script
//! with arguments that script does not take, gets nothing run; the parent
//! refuses the same requests for scripts of another user.

use keepalived_config::{load_str, Config, LoadOptions};
use keepalived_ipc::script_allow::{Allowlist, Extras};
use keepalived_ipc::Ids;
use keepalived_ipc::{
    decode_from_child, encode, Channel, ConfigSlice, FromChild, ReplayState, Subsystem, ToChild,
    MAX_FROM_CHILD,
};
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::{bin, require_root, shared_dir, Suite};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + PROMPT;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn config(dir: &Path) -> Config {
    let text = format!(
        "vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 1\n priority 100\n \
         virtual_ipaddress {{\n 10.0.0.1\n }}\n notify_master \"/bin/touch {d}/ok\"\n}}\n",
        d = dir.display()
    );
    load_str(&text, &dir.join("k.conf"), &LoadOptions::default())
        .expect("valid")
        .config
}

/// The allowlist of a fresh start of `config` (checkerd's user `runner`)
/// and the id of its script `line`.
fn allowlist(config: &Config, runner: (u32, u32), line: &str) -> (Allowlist, u32) {
    let mut next = 0;
    let ids = Ids::assign(&config.object_keys(), &Ids::default(), &mut next);
    let mut next_script = 0;
    let list = Allowlist::of(
        config,
        &ids,
        runner,
        &Allowlist::default(),
        &mut next_script,
    );
    let id = list.find(line, None, Extras::None).expect("configured").id;
    (list, id.0)
}

#[test]
fn the_launcher_runs_only_configured_scripts() {
    require_root();
    let dir = shared_dir();
    let d = dir.path();
    let config = config(d);
    let (list, ok) = allowlist(&config, (0, 0), &format!("/bin/touch {}/ok", d.display()));
    // What a compromised checkerd asks for: the configured script, an id
    // the configuration does not have, and the configured script with
    // notify arguments it does not take.
    std::fs::write(
        d.join("requests"),
        format!("{ok}\n999999\n{ok} 1 MASTER 100\n"),
    )
    .unwrap();
    let (mine, theirs) = Channel::pair().unwrap();
    let (allow_mine, allow_theirs) = Channel::pair().unwrap();
    let (raw, allow_raw) = (theirs.as_raw_fd(), allow_theirs.as_raw_fd());
    let log = std::fs::File::create(d.join("stderr")).unwrap();
    let mut cmd = Command::new(bin("checkerd"));
    cmd.args(["--ipc-fd", "3", "--no-syslog", "--log-console"])
        .args(["--launcher-fd", "4", "--launcher-selftest"])
        .arg(d.join("requests"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: dup2 only, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let hi = libc::fcntl(raw, libc::F_DUPFD, 64);
            let allow_hi = libc::fcntl(allow_raw, libc::F_DUPFD, 64);
            if hi < 0 || allow_hi < 0 || libc::dup2(hi, 3) < 0 || libc::dup2(allow_hi, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop((theirs, allow_theirs));
    // The parent's part: the allowlist first, then the plan.
    let mut allow = Channel::new(allow_mine, 1 << 16, 1 << 20).unwrap();
    allow
        .send_bytes(&encode(&list).unwrap(), Vec::new())
        .unwrap();
    allow.flush().unwrap();
    let mut chan = Channel::new(mine, MAX_FROM_CHILD, 1 << 28).unwrap();
    chan.send(&ToChild::Configure {
        slice: Box::new(ConfigSlice {
            subsystem: Subsystem::Checker,
            generation: 1,
            ids: Default::default(),
            ipvs: None,
            vrrp: None,
            check: Some(Default::default()),
            process: Default::default(),
        }),
        replay: ReplayState::default(),
    })
    .unwrap();
    chan.flush().unwrap();
    wait_until("checkerd's Ready", || {
        matches!(
            chan.recv_bytes()
                .ok()
                .flatten()
                .map(|(b, _)| decode_from_child(&b)),
            Some(Ok(FromChild::Ready { generation: 1 }))
        )
    });
    chan.send(&ToChild::Start).unwrap();
    chan.flush().unwrap();

    let stderr = || std::fs::read_to_string(d.join("stderr")).unwrap_or_default();
    wait_until("the configured line to run", || d.join("ok").exists());
    wait_until("two refusals", || stderr().matches("refused").count() >= 2);
    let log = stderr();
    assert!(log.contains("not a script of the configuration"), "{log}");
    assert!(log.contains("takes None arguments"), "{log}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_parent_refuses_forged_requests_for_another_user() {
    // A fake checkerd (the parent finds it as the checkerd binary) asks the
    // parent to run root scripts: one configured line as configured, one
    // unconfigured command, and the configured line with an extra argument.
    let dir = shared_dir();
    let d = dir.path();
    let libexec = tempfile::tempdir().unwrap();
    for b in ["vrrpd", "ipvsd"] {
        std::fs::copy(bin(b), libexec.path().join(b)).unwrap();
    }
    std::fs::copy(bin("fake-child"), libexec.path().join("checkerd")).unwrap();
    std::fs::write(libexec.path().join("fake-mode"), "run-scripts").unwrap();
    let conf = format!(
        "global_defs {{\n script_user root\n}}\n\
         vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 100\n \
         virtual_ipaddress {{\n 10.99.0.100/24\n }}\n notify_master \"/bin/touch {d}/ok\"\n}}\n",
        d = d.display()
    );
    // The ids the parent gives a fresh configuration's scripts.
    let c = load_str(&conf, &d.join("k.conf"), &LoadOptions::default())
        .expect("valid")
        .config;
    let (_, ok) = allowlist(
        &c,
        (65534, 65534),
        &format!("/bin/touch {}/ok", d.display()),
    );
    // The configured script, an unconfigured id, the configured script
    // with notify arguments it does not take.
    let requests = format!("{ok}\n999999\n{ok} 1 100\n");
    std::fs::write(libexec.path().join("fake-scripts"), requests).unwrap();
    let lib = libexec.path().to_string_lossy().to_string();
    let mut s = Suite::spawn(&conf, &["--libexec-dir", &lib]);
    wait_until("the configured line to run as root", || {
        d.join("ok").exists()
    });
    s.log.wait_for_text("checkerd asked to run", PROMPT);
    s.log.wait_for_text("checkerd asked to run", PROMPT);
    s.stop();
}
