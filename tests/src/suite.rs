//! A running keepalived-rs suite inside its own network namespace.

use crate::{bin, proc, LogTap, Netns};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Upper bound for anything the suite should do promptly; generous because
/// CI machines are slow, never a timing assertion.
pub const PROMPT: Duration = Duration::from_secs(20);

pub struct Suite {
    pub ns: Arc<Netns>,
    pub dir: tempfile::TempDir,
    pub log: LogTap,
    pub parent: Child,
    pub config: PathBuf,
}

impl Suite {
    /// Start the suite on `config_text` with extra command-line `args`,
    /// and wait until every child is configured and started.
    pub fn start(config_text: &str, args: &[&str]) -> Suite {
        let s = Suite::spawn(config_text, args);
        s.wait_started()
    }

    /// Start without waiting.
    pub fn spawn(config_text: &str, args: &[&str]) -> Suite {
        let ns = Netns::new("suite");
        Suite::spawn_in(Arc::new(ns), config_text, args)
    }

    pub fn spawn_in(ns: Arc<Netns>, config_text: &str, args: &[&str]) -> Suite {
        Suite::spawn_in_env(ns, config_text, args, &[])
    }

    /// As `spawn_in`, with environment variables set for the suite.
    pub fn spawn_in_env(
        ns: Arc<Netns>,
        config_text: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Suite {
        let dir = tempfile::Builder::new()
            .prefix("kars-test")
            .tempdir()
            .expect("tempdir");
        let config = dir.path().join("keepalived.conf");
        std::fs::write(&config, config_text).expect("write config");
        // checkerd runs unprivileged: it must reach the socket, as /dev/log.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        let (log, parent) = Suite::launch(&ns, &dir, args, env);
        Suite {
            ns,
            dir,
            log,
            parent,
            config,
        }
    }

    /// Start again in the same directory (configuration, pid files, control
    /// sockets: whatever the last run left there), once it is gone.
    pub fn restart(&mut self, args: &[&str]) {
        let _ = self.parent.wait();
        self.log.drain_for(Duration::ZERO);
        assert_eq!(self.log.count(keepalived_child::SAFETY_NET_PHRASE), 0);
        let (log, parent) = Suite::launch(&self.ns, &self.dir, args, &[]);
        self.log = log;
        self.parent = parent;
    }

    fn launch(
        ns: &Netns,
        dir: &tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (LogTap, Child) {
        use std::os::unix::fs::PermissionsExt;
        let config = dir.path().join("keepalived.conf");
        let log = LogTap::bind(&dir.path().join("log.sock"));
        std::fs::set_permissions(&log.path, std::fs::Permissions::from_mode(0o666))
            .expect("chmod socket");
        let stderr = std::fs::File::create(dir.path().join("stderr")).expect("stderr file");
        let p = |n: &str| dir.path().join(n).to_string_lossy().to_string();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name])
            .arg(bin("keepalived-rs"))
            .args(["-n", "-f"])
            .arg(&config)
            .args(["--syslog-socket", &p("log.sock")])
            .args([
                "-p",
                &p("parent.pid"),
                "-r",
                &p("vrrp.pid"),
                "-c",
                &p("checker.pid"),
            ])
            .args(["--ipvs_pid", &p("ipvs.pid")])
            // Never the machine's /run/keepalived-rs.
            .args(["--control-dir", &p("ctl")])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let parent = cmd.spawn().expect("start keepalived-rs");
        (log, parent)
    }

    pub fn wait_started(mut self) -> Suite {
        self.log
            .wait_for_text("All children configured; starting", PROMPT);
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn parent_pid(&self) -> i32 {
        self.parent.id() as i32
    }

    /// Current pid of a child, from its pid file.
    pub fn child_pid(&self, binary: &str) -> i32 {
        let f = match binary {
            "vrrpd" => "vrrp.pid",
            "checkerd" => "checker.pid",
            "ipvsd" => "ipvs.pid",
            other => panic!("no such child {other}"),
        };
        proc::read_pid(&self.path(f)).unwrap_or_else(|| panic!("no pid file for {binary}"))
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.parent_pid()), sig)
            .expect("signal parent");
    }

    /// SIGTERM and wait for the parent to exit; returns its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(
            proc::wait_gone(self.parent_pid(), PROMPT),
            "parent did not stop"
        );
        self.parent.wait().expect("wait parent")
    }

    /// SIGKILL every process of the suite at once (a crashed host). The
    /// parent is frozen first so it cannot restart the children, and the
    /// children die before it so none gets its parent-death SIGTERM.
    pub fn crash(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let parent = Pid::from_raw(self.parent_pid());
        if std::env::var_os("KARS_TEST_TRACE_KILLS").is_some() {
            eprintln!(
                "TRACE crash of suite {} (parent {parent})",
                self.dir.path().display()
            );
        }
        let _ = kill(parent, Signal::SIGSTOP);
        for f in ["vrrp.pid", "checker.pid", "ipvs.pid"] {
            if let Some(p) = proc::read_pid(&self.path(f)) {
                if std::env::var_os("KARS_TEST_TRACE_KILLS").is_some() {
                    eprintln!("TRACE crash kills {f} {p}");
                }
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        let _ = kill(parent, Signal::SIGKILL);
        let _ = self.parent.wait();
    }

    /// Run keepalivedctl against this suite's control sockets.
    pub fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin("keepalivedctl"))
            .arg("--control-dir")
            .arg(self.path("ctl"))
            .args(args)
            .output()
            .expect("run keepalivedctl")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.path("stderr")).unwrap_or_default()
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // Every test doubles as a check of the children's timers: the
            // once-a-second safety net never catches an unannounced timer.
            self.log.drain_for(Duration::ZERO);
            let caught = self.log.count(keepalived_child::SAFETY_NET_PHRASE);
            assert_eq!(
                caught,
                0,
                "a child's safety net caught a timer no deadline announced:\n{}",
                self.log.lines.join("\n")
            );
        }
        if std::thread::panicking() {
            let status = self.parent.try_wait();
            eprintln!(
                "suite parent (pid {}): {status:?}; stderr:\n{}",
                self.parent.id(),
                self.stderr()
            );
            if matches!(status, Ok(None)) {
                if std::env::var_os("KARS_TEST_GDB").is_some() {
                    if let Some(v) = proc::read_pid(&self.path("vrrp.pid")) {
                        let out = std::process::Command::new("gdb")
                            .args(["-p", &v.to_string(), "-batch", "-ex", "bt"])
                            .output();
                        if let Ok(o) = out {
                            eprintln!("vrrpd {v} stack:\n{}", String::from_utf8_lossy(&o.stdout));
                        }
                        let sc = std::fs::read_to_string(format!("/proc/{v}/syscall"))
                            .unwrap_or_default();
                        eprintln!("vrrpd {v} syscall: {sc}");
                    }
                }
                self.signal(nix::sys::signal::Signal::SIGUSR2);
                let until = std::time::Instant::now() + Duration::from_secs(3);
                while std::time::Instant::now() < until {
                    if self
                        .log
                        .lines
                        .iter()
                        .any(|l| l.contains("Wrote /tmp/keepalived.stats"))
                    {
                        break;
                    }
                    self.log.drain_for(Duration::from_millis(100));
                }
                eprintln!(
                    "stats:\n{}",
                    std::fs::read_to_string("/tmp/keepalived.stats").unwrap_or_default()
                );
            }
        }
        if matches!(self.parent.try_wait(), Ok(None)) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.parent.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = self.parent.wait();
        }
        // Netns drop kills whatever is left inside.
    }
}
