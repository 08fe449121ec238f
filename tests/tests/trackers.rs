//! File and process trackers end to end: checkerd (unprivileged, under its
//! seccomp filter) reads a `track_file` and scans for a
//! `vrrp_track_process`, and the verdicts move a VRRP instance's priority
//! by their weights (checkerd -> parent -> vrrpd), handing mastership over
//! and back.

use keepalived_rs_tests::lan::{holds, Lan};
use keepalived_rs_tests::shared_dir;
use keepalived_rs_tests::suite::PROMPT;
use keepalived_rs_tests::Suite;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const VIP: &str = "10.99.0.100/24";

fn conf(prio: u8, extra_global: &str, extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id N{prio}\n}}\n{extra_global}\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}\n    }}\n{extra}}}\n"
    )
}

/// Wait until `path` holds exactly `text`.
fn wait_content(path: &Path, text: &str) {
    keepalived_rs_tests::wait_file(path, text, |t| t == text);
}

#[test]
fn a_track_file_value_hands_mastership_over_by_its_weight() {
    let dir = shared_dir();
    let file = dir.path().join("prio");
    // No file yet: checkerd creates it with 0 (init_file), as its own user.
    let trackers = format!(
        "track_file tf {{\n    file {}\n    weight -10\n    init_file\n}}\n\
         track_file tf_unused {{\n    file {}\n}}\n",
        file.display(),
        dir.path().join("unused").display()
    );
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = Suite::spawn_in(
        a.clone(),
        &conf(150, &trackers, "    track_file {\n        tf\n    }\n"),
        &[],
    )
    .wait_started();
    let mut nb = Suite::spawn_in(b.clone(), &conf(100, "", ""), &[]).wait_started();
    na.log.wait_for_all(
        &["Track file tf value is 0", "(VI_1) Entering MASTER STATE"],
        PROMPT,
    );
    // Logged while configuring, before the suite reported it started.
    assert_eq!(
        na.log.count("Warning - track_file tf_unused is not used"),
        1,
        "{}",
        na.log.lines.join("\n")
    );
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    wait_content(&file, "0\n");
    assert_ne!(
        std::fs::metadata(&file).unwrap().uid(),
        0,
        "the track file was not created by checkerd's unprivileged user"
    );
    let checkerd = na.child_pid("checkerd");

    // 6 x -10: 150 - 60 = 90 < 100, b takes over.
    std::fs::write(&file, "6\n").unwrap();
    na.log
        .wait_for_text("Track file tf value changed from 0 to 6", PROMPT);
    na.log
        .wait_for_text("(VI_1) Changing effective priority from 150 to 90", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    na.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&b, VIP) && !holds(&a, VIP));

    // A reload rebuilds the watch under the seccomp filter and changes
    // nothing by itself.
    na.signal(nix::sys::signal::Signal::SIGHUP);
    na.log.wait_for_all(
        &[
            "checkerd applied configuration 2",
            "vrrpd applied configuration 2",
        ],
        PROMPT,
    );

    // Back to 0: a preempts back.
    std::fs::write(&file, "0\n").unwrap();
    na.log
        .wait_for_text("Track file tf value changed from 6 to 0", PROMPT);
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&a, VIP));
    assert_eq!(
        na.log.count("Track file tf value changed"),
        2,
        "a reload re-sent an unchanged value:\n{}",
        na.log.lines.join("\n")
    );
    assert_eq!(
        na.child_pid("checkerd"),
        checkerd,
        "checkerd was restarted (killed by its seccomp filter?)"
    );
}

/// A process the test runs under a name no other process has: `sleep`
/// through a symlink of that name, killed on drop.
struct Tracked {
    exe: std::path::PathBuf,
    child: Option<Child>,
}

impl Tracked {
    fn new(dir: &Path) -> Tracked {
        // At most 15 characters: the kernel's process name.
        let name = format!("kars-t{}", std::process::id());
        let exe = dir.join(&name);
        let sleep = ["/bin/sleep", "/usr/bin/sleep"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sleep");
        // A symlink, not a copy: the kernel names the process after the
        // path it executed, and a freshly written copy can fail with
        // ETXTBSY while a parallel test's fork still holds it open.
        std::os::unix::fs::symlink(sleep, &exe).unwrap();
        Tracked { exe, child: None }
    }

    fn name(&self) -> String {
        self.exe.file_name().unwrap().to_string_lossy().into()
    }

    fn start(&mut self) {
        let c = Command::new(&self.exe)
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(c);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_dead_tracked_process_hands_mastership_over_by_its_weight() {
    let dir = shared_dir();
    let mut proc = Tracked::new(dir.path());
    proc.start();
    // A short delay: the change is reported once it has held that long.
    let trackers = format!(
        "vrrp_track_process ptrk {{\n    process {}\n    weight -60\n    delay 0.3\n}}\n",
        proc.name()
    );
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let b = Arc::new(lan.host(2));
    let mut na = Suite::spawn_in(
        a.clone(),
        &conf(150, &trackers, "    track_process {\n        ptrk\n    }\n"),
        &[],
    )
    .wait_started();
    let mut nb = Suite::spawn_in(b.clone(), &conf(100, "", ""), &[]).wait_started();
    na.log.wait_for_all(
        &[
            "Quorum gained for tracked process ptrk",
            "(VI_1) Entering MASTER STATE",
        ],
        PROMPT,
    );
    nb.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert_eq!(
        na.log.count("Quorum lost"),
        0,
        "{}",
        na.log.lines.join("\n")
    );

    // The process dies: 150 - 60 = 90 < 100, b takes over.
    proc.kill();
    na.log
        .wait_for_text("Quorum lost for tracked process ptrk", PROMPT);
    na.log
        .wait_for_text("(VI_1) Changing effective priority from 150 to 90", PROMPT);
    nb.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    na.log.wait_for_text("(VI_1) Entering BACKUP STATE", PROMPT);
    assert!(holds(&b, VIP) && !holds(&a, VIP));

    // It runs again: a preempts back.
    proc.start();
    na.log
        .wait_for_text("Quorum gained for tracked process ptrk", PROMPT);
    na.log.wait_for_text("(VI_1) Entering MASTER STATE", PROMPT);
    assert!(holds(&a, VIP));
}

/// A track_file only a FILE_CHECK reads still gets its `init_file` (as
/// keepalived's checker process runs it), and is not "unused": the check
/// reads the value it wrote, with its weight.
#[test]
fn a_track_file_only_a_file_check_reads_is_initialised() {
    let dir = shared_dir();
    let file = dir.path().join("weight");
    let text = format!(
        "track_file tf {{\n    file {}\n    init_file 3\n}}\n\
         virtual_server 10.99.0.50 80 {{\n    protocol TCP\n    real_server 10.99.0.51 80 {{\n        \
         weight 2\n        FILE_CHECK {{\n            track_file tf\n            weight 4\n        }}\n    }}\n}}\n",
        file.display()
    );
    let mut lan = Lan::new();
    let a = Arc::new(lan.host(1));
    let mut na = Suite::spawn_in(a, &conf(150, &text, ""), &[]).wait_started();
    wait_content(&file, "3\n");
    na.log.drain_for(std::time::Duration::ZERO);
    assert_eq!(na.log.count("track_file tf is not used"), 0);
    assert!(na.stop().success());
}
