//! A switched segment: a bridge in its own namespace and hosts attached to
//! it by veth pairs (this kernel has no dummy interfaces), each host with
//! `eth0` at 10.99.0.(10+n)/24 and fd99::(10+n)/64.

use crate::Netns;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

pub struct Lan {
    pub sw: Netns,
}

/// Interface names must be unique across the tests running in parallel.
static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Lan {
    pub fn new() -> Lan {
        let sw = Netns::new("sw");
        sw.ip(&["link", "add", "br0", "type", "bridge"]);
        // Forward at once: no STP listening delay on new ports.
        sw.ip(&[
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
            "stp_state",
            "0",
            // Flood multicast: VRRP must not depend on the bridge having
            // learnt group members from IGMP/MLD reports.
            "mcast_snooping",
            "0",
        ]);
        sw.ip(&["link", "set", "br0", "up"]);
        Lan { sw }
    }

    /// A new host on the segment; `n` picks its addresses.
    pub fn host(&mut self, n: u8) -> Netns {
        let ns = Netns::new(&format!("h{n}"));
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = format!("p{n}x{seq}");
        let tmp = format!("t{}x{seq}", std::process::id() % 10000);
        let out = Command::new("ip")
            .args([
                "link",
                "add",
                &tmp,
                "netns",
                &ns.name,
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                &self.sw.name,
            ])
            .output()
            .expect("ip link add");
        assert!(
            out.status.success(),
            "veth: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ns.ip(&["link", "set", &tmp, "name", "eth0"]);
        ns.ip(&[
            "addr",
            "add",
            &format!("10.99.0.{}/24", 10 + n),
            "dev",
            "eth0",
        ]);
        ns.ip(&[
            "addr",
            "add",
            &format!("fd99::{}/64", 10 + n),
            "dev",
            "eth0",
            "nodad",
        ]);
        ns.exec(&["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        self.sw.ip(&["link", "set", &port, "master", "br0", "up"]);
        ns
    }
}

impl Default for Lan {
    fn default() -> Self {
        Lan::new()
    }
}

/// Lines a child process prints, collected by a thread so tests can wait
/// for one with a deadline.
pub struct LineTap {
    rx: Receiver<String>,
    pub lines: Vec<String>,
    cursor: usize,
    child: Child,
}

impl LineTap {
    /// Run `cmd` with stdout and stderr merged into the tap.
    pub fn spawn(cmd: &mut Command) -> LineTap {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, rx) = channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if std::env::var_os("KARS_TEST_VERBOSE").is_some() {
                        eprintln!("tap: {line}");
                    }
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        LineTap {
            rx,
            lines: Vec::new(),
            cursor: 0,
            child,
        }
    }

    fn pull(&mut self, until: Instant) -> bool {
        let left = until.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(l) => {
                self.lines.push(l);
                true
            }
            Err(_) => false,
        }
    }

    /// Wait for the next line (after earlier waits) matching `pred`.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let until = Instant::now() + timeout;
        loop {
            while self.cursor < self.lines.len() {
                let l = &self.lines[self.cursor];
                self.cursor += 1;
                if pred(l) {
                    return l.clone();
                }
            }
            if !self.pull(until) {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; output:\n{}",
                    self.lines.join("\n")
                );
            }
        }
    }

    pub fn wait_for_text(&mut self, needle: &str, timeout: Duration) -> String {
        self.wait_for(needle, timeout, |l| l.contains(needle))
    }

    /// Collect everything printed within `window` (to assert absences).
    pub fn collect_for(&mut self, window: Duration) {
        let until = Instant::now() + window;
        while self.pull(until) {}
    }

    /// Lines since the last wait (not consuming them).
    pub fn pending(&self) -> &[String] {
        &self.lines[self.cursor..]
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for LineTap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tcpdump on `ns`'s eth0, line-buffered, with link-level headers.
pub fn tcpdump(ns: &Netns, filter: &str) -> LineTap {
    let mut tap = LineTap::spawn(
        Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "tcpdump", "-l", "-n", "-e", "-i", "eth0",
            ])
            .arg(filter),
    );
    tap.wait_for_text("listening on", Duration::from_secs(20));
    tap
}

/// Debian's keepalived in `ns`, VRRP only, logging to the console.
pub struct Keepalived {
    pub out: LineTap,
    _dir: tempfile::TempDir,
}

impl Keepalived {
    pub fn start(ns: &Netns, config: &str) -> Keepalived {
        Keepalived::start_with(ns, config, &["-P"])
    }

    /// With the checker process too (`--all`: even without virtual
    /// servers).
    pub fn start_all(ns: &Netns, config: &str) -> Keepalived {
        Keepalived::start_with(ns, config, &["--all"])
    }

    fn start_with(ns: &Netns, config: &str, mode: &[&str]) -> Keepalived {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, config).expect("write config");
        let p = |n: &str| dir.path().join(n).to_string_lossy().to_string();
        let out = LineTap::spawn(
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.name,
                    "keepalived",
                    "-n",
                    "-l",
                    "-D",
                    "-G",
                    "-f",
                ])
                .arg(&conf)
                .args(mode)
                .args(["-p", &p("k.pid"), "-r", &p("kv.pid"), "-c", &p("kc.pid")]),
        );
        Keepalived { out, _dir: dir }
    }

    /// Its configuration file (rewrite it, then SIGHUP, to reload).
    pub fn config_path(&self) -> std::path::PathBuf {
        self._dir.path().join("keepalived.conf")
    }

    /// The pid in one of its pid files (`k.pid`, `kv.pid`, `kc.pid`).
    pub fn pid(&self, file: &str) -> Option<i32> {
        crate::proc::read_pid(&self._dir.path().join(file))
    }

    /// SIGTERM (a graceful stop: priority 0) and wait.
    pub fn stop(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.out.pid()),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.out.child.wait();
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // A failing test shows what keepalived said.
        if std::thread::panicking() {
            self.out.collect_for(Duration::from_millis(100));
            eprintln!("keepalived output:\n{}", self.out.lines.join("\n"));
        }
    }
}

/// Whether `ns` holds `addr` (as `ip addr` prints it, e.g. "10.99.0.100/24").
pub fn holds(ns: &Netns, addr: &str) -> bool {
    let out = ns.ip(&["addr", "show", "dev", "eth0"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!("inet {addr} "))
        || String::from_utf8_lossy(&out.stdout).contains(&format!("inet6 {addr} "))
}

/// Wait until an `ip monitor address` tap running in `ns` is subscribed:
/// add (and remove) a probe address until the monitor reports it.
pub fn monitor_ready(ns: &Netns, mon: &mut LineTap) {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        ns.ip(&["addr", "add", "127.0.0.9/8", "dev", "lo"]);
        mon.collect_for(Duration::from_millis(200));
        ns.ip(&["addr", "del", "127.0.0.9/8", "dev", "lo"]);
        if mon.lines.iter().any(|l| l.contains("127.0.0.9")) {
            mon.cursor = mon.lines.len();
            return;
        }
        assert!(Instant::now() < until, "ip monitor never started listening");
    }
}
