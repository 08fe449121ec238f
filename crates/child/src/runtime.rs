//! The child's event loop and its handshake with the parent.

use crate::ChildArgs;
use clap::Parser;
use keepalived_ipc::{
    decode_to_child, Channel, ConfigSlice, DumpKind, FromChild, ProcessSettings, RecvError,
    ReplayState, SocketRequest, Subsystem, ToChild, MAX_TO_CHILD,
};
use keepalived_log::LogSettings;
use log::{error, info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use std::os::fd::AsFd;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Token of the IPC socket; daemons use tokens from 16 up.
pub const IPC_TOKEN: Token = Token(0);
const SIGNAL_TOKEN: Token = Token(1);
/// The deadline timer: epoll_wait's timeout counts in milliseconds (mio
/// rounds up), a timerfd in nanoseconds, so a down timer or an advert fires
/// at its instant, not up to a millisecond late.
const TIMER_TOKEN: Token = Token(2);

/// How late a timer may fire before it is reported.
const LATE_TIMER: Duration = Duration::from_millis(250);
const LATE_WARN_EVERY: Duration = Duration::from_secs(10);
/// Longest sleep once running, whatever the daemon's deadline: a safety
/// net, not a scheduler. A wake-up through it that finds a timer due which
/// no deadline announced is a bug (a wrong `next_deadline`): it is logged
/// with [`SAFETY_NET_PHRASE`] and counted, and the namespace tests fail on
/// that phrase, so it never fires in normal operation unnoticed.
const SAFETY_NET: Duration = Duration::from_secs(1);
/// How much later than the timerfd the poll's own timeout falls (the
/// timerfd is what wakes us; this only bounds the wait if it did not).
const TIMERFD_SLACK: Duration = Duration::from_millis(5);
/// Logged when the safety net catches an unannounced timer.
pub const SAFETY_NET_PHRASE: &str = "A timer fired that no deadline announced";

/// Bytes a child may have queued towards the parent before it is stuck.
const MAX_QUEUED_UP: usize = 64 << 20;

/// What a daemon callback may do besides its own work.
pub struct Ctx<'a> {
    pub registry: &'a Registry,
    pub now: Instant,
    /// `--launcher-fd` (checkerd): see [`crate::ChildArgs::launcher_fd`].
    pub launcher_fd: Option<i32>,
    /// `--launcher-selftest` (checkerd, tests).
    pub launcher_selftest: Option<&'a std::path::Path>,
    out: &'a mut Vec<FromChild>,
}

impl Ctx<'_> {
    /// Queue a message for the parent.
    pub fn send(&mut self, m: FromChild) {
        self.out.push(m);
    }
}

/// One subsystem, driven by the shared runtime.
pub trait Daemon {
    const SUBSYSTEM: Subsystem;

    /// Apply the first configuration, before the sandbox is installed: open
    /// what needs opening here.
    fn configure(
        &mut self,
        slice: ConfigSlice,
        replay: ReplayState,
        ctx: &mut Ctx,
    ) -> Result<(), String>;

    /// Every child is configured: begin work.
    fn start(&mut self, _ctx: &mut Ctx) {}

    /// A validated new configuration: change only what changed.
    fn reload(&mut self, slice: ConfigSlice, ctx: &mut Ctx) -> Result<(), String>;

    /// A message routed from another child.
    fn message(&mut self, _msg: ToChild, _ctx: &mut Ctx) {}

    /// Sockets the parent made for this child (`fds`, `given` of them as
    /// announced; dropped, i.e. closed, by default).
    fn sockets(
        &mut self,
        _request: SocketRequest,
        _given: u32,
        _fds: Vec<std::os::fd::OwnedFd>,
        _ctx: &mut Ctx,
    ) {
    }

    fn dump(&mut self, kind: DumpKind) -> String;

    /// Readiness on one of the daemon's own registered sources.
    fn event(&mut self, _token: Token, _ctx: &mut Ctx) {}

    /// Called on every wake-up with `ctx.now`: fire what is due.
    fn timer(&mut self, _ctx: &mut Ctx) {}

    /// Earliest instant the daemon needs to be woken at.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// Receive moderation: the loop does not look for readiness before
    /// this instant, unless [`Daemon::next_deadline`] comes first (then it
    /// wakes for the deadline and reads what is ready before the timers).
    /// A busy receiver reads its queue once per window instead of being
    /// woken for every few packets; messages from the parent and signals
    /// wait at most as long.
    fn hold_off(&self) -> Option<Instant> {
        None
    }

    /// Stop cleanly before exit.
    fn shutdown(&mut self, _ctx: &mut Ctx) {}
}

#[derive(PartialEq, Eq)]
enum Phase {
    AwaitConfig,
    Configured,
    Running,
}

/// Run `daemon` as a child process; never returns.
pub fn run<D: Daemon>(mut daemon: D) -> ! {
    let args = ChildArgs::parse();
    let sub = D::SUBSYSTEM;
    // Belt and braces: the parent set this before exec, but exec of a
    // privileged binary may clear it.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if nix::unistd::getppid().as_raw() == 1 {
        std::process::exit(1);
    }
    let ident = format!(
        "{}{}",
        sub.syslog_ident(),
        args.syslog_ident_suffix.as_deref().unwrap_or("")
    );
    let mut settings = LogSettings::new(&ident);
    settings.console = args.log_console;
    settings.detail = args.log_detail;
    settings.syslog = !args.no_syslog;
    settings.syslog_socket = args.syslog_socket.clone();
    if let Some(f) = args
        .log_facility
        .and_then(keepalived_log::facility_from_number)
    {
        settings.facility = f;
    }
    // SAFETY: the parent handed this descriptor to us for this purpose.
    settings.file = args
        .log_file_fd
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    keepalived_log::init(settings);

    let code = match event_loop(&mut daemon, &args) {
        Ok(()) => 0,
        Err(e) => {
            error!("{sub}: {e}");
            1
        }
    };
    keepalived_log::flush();
    std::process::exit(code)
}

fn event_loop<D: Daemon>(daemon: &mut D, args: &ChildArgs) -> Result<(), String> {
    let sub = D::SUBSYSTEM;
    if nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(args.ipc_fd) }).is_err() {
        return Err(format!("no IPC socket on fd {}", args.ipc_fd));
    }
    // SAFETY: fd 3 is our end of the socketpair, handed over by the parent.
    let fd = unsafe { OwnedFd::from_raw_fd(args.ipc_fd) };
    let mut chan =
        Channel::new(fd, MAX_TO_CHILD, MAX_QUEUED_UP).map_err(|e| format!("IPC socket: {e}"))?;

    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        // RLIMIT_RTTIME's soft limit (`*_rlimit_rttime`): said, not fatal.
        Signal::SIGXCPU,
    ] {
        mask.add(s);
    }
    mask.thread_block()
        .map_err(|e| format!("sigprocmask: {e}"))?;
    // SAFETY: ignoring SIGPIPE; sends use MSG_NOSIGNAL, but scripts' pipes may not.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;

    let mut poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
    let raw = chan.raw_fd();
    poll.registry()
        .register(
            &mut SourceFd(&raw),
            IPC_TOKEN,
            Interest::READABLE | Interest::WRITABLE,
        )
        .map_err(|e| e.to_string())?;
    let sraw = sfd.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&sraw), SIGNAL_TOKEN, Interest::READABLE)
        .map_err(|e| e.to_string())?;

    info!(
        "Starting {} child process, pid={}",
        sub.syslog_ident(),
        std::process::id()
    );
    let timer = TimerFd::new(
        ClockId::CLOCK_MONOTONIC,
        TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
    )
    .map_err(|e| format!("timerfd: {e}"))?;
    let traw = timer.as_fd().as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&traw), TIMER_TOKEN, Interest::READABLE)
        .map_err(|e| e.to_string())?;
    let mut events = Events::with_capacity(256);
    let mut phase = Phase::AwaitConfig;
    let mut out: Vec<FromChild> = Vec::new();
    let mut stopping = false;

    let mut late_warned: Option<Instant> = None;
    let mut process = ProcessSettings::default();
    let mut safety_net_fired: u64 = 0;
    // The deadline the timerfd is armed for (until it fires).
    let mut armed_for: Option<Instant> = None;
    let mut loop_stats = LoopStats::default();
    loop {
        let mut now = Instant::now();
        let deadline = if phase == Phase::Running {
            daemon.next_deadline()
        } else {
            None
        };
        if phase == Phase::Running {
            let until = daemon.hold_off().map(|h| deadline.map_or(h, |d| d.min(h)));
            if let Some(wait) = until.and_then(|u| u.checked_duration_since(now)) {
                loop_stats.held_off += 1;
                std::thread::sleep(wait);
                now = Instant::now();
            }
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(now));
        // Never sleep more than a second once running (the safety net, see
        // SAFETY_NET) or while log lines wait to be retried.
        let capped = timeout.is_none_or(|t| t > SAFETY_NET);
        let timeout = match (
            timeout,
            phase == Phase::Running || keepalived_log::queued() > 0,
        ) {
            (t, true) => Some(t.map_or(SAFETY_NET, |t| t.min(SAFETY_NET))),
            (t, false) => t,
        };
        // A deadline inside the poll's timeout is left to the timerfd, to
        // the nanosecond; the poll's own timeout (rounded up to a
        // millisecond) stays as the fallback.
        let timeout = match timeout {
            Some(t) if !t.is_zero() && deadline.is_some() && !capped => {
                // Armed for this very deadline already (a backup woken by
                // adverts, its earliest deadline unchanged): not again, one
                // system call fewer per wake-up.
                if armed_for != deadline {
                    let armed = timer.set(
                        Expiration::OneShot(TimeSpec::from_duration(t)),
                        TimerSetTimeFlags::empty(),
                    );
                    armed_for = armed.is_ok().then_some(deadline).flatten();
                }
                if armed_for.is_some() {
                    Some(t + TIMERFD_SLACK)
                } else {
                    Some(t)
                }
            }
            t => t,
        };
        loop_stats.last_timeout = timeout;
        loop_stats.last_deadline_in = deadline.map(|d| d.saturating_duration_since(now));
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        let now = Instant::now();
        loop_stats.wakeups += 1;
        // keepalived's "A thread timer expired N seconds ago": a process
        // not scheduled in time (overloaded host) delays adverts and can
        // cause false failovers; say so, at most every 10 s.
        if let Some(late) = deadline.and_then(|d| now.checked_duration_since(d)) {
            if late >= LATE_TIMER && late_warned.is_none_or(|t| now >= t + LATE_WARN_EVERY) {
                warn!(
                    "A timer expired {} ms ago: this process was not scheduled in time",
                    late.as_millis()
                );
                late_warned = Some(now);
            }
            // `max_auto_priority`: the parent may raise our priority.
            let by_us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
            if process
                .report_late_us
                .is_some_and(|min| by_us >= u64::from(min))
            {
                out.push(FromChild::Late { by_us });
            }
        }
        let mut ctx = Ctx {
            registry: poll.registry(),
            now,
            launcher_fd: args.launcher_fd,
            launcher_selftest: args.launcher_selftest.as_deref(),
            out: &mut out,
        };
        for ev in events.iter() {
            match ev.token() {
                IPC_TOKEN if ev.is_readable() || ev.is_read_closed() => {
                    stopping |= drain_ipc(
                        daemon,
                        &mut chan,
                        &mut phase,
                        &mut ctx,
                        args,
                        &loop_stats,
                        &mut process,
                    )?;
                }
                IPC_TOKEN => {}
                TIMER_TOKEN => {
                    loop_stats.by_timerfd += 1;
                    let _ = timer.wait();
                    armed_for = None;
                }
                SIGNAL_TOKEN => {
                    while let Ok(Some(si)) = sfd.read_signal() {
                        let signo = si.ssi_signo as i32;
                        if signo == libc::SIGTERM || signo == libc::SIGINT {
                            info!("Stopping on signal {signo}");
                            stopping = true;
                        } else if signo == libc::SIGXCPU {
                            let (who, kw) = match sub {
                                Subsystem::Vrrp => ("VRRP", "vrrp"),
                                _ => ("Checker", "checker"),
                            };
                            warn!("{who} process has used too much CPU time, {kw}_rlimit_rttime may need to be increased");
                        }
                    }
                }
                t if phase == Phase::Running => daemon.event(t, &mut ctx),
                _ => {}
            }
        }
        if phase == Phase::Running && !stopping {
            // Woken by the safety net alone: nothing is due by the deadline
            // the daemon announced, so its timers must change nothing.
            let net_only = capped && events.is_empty() && deadline.is_none_or(|d| d > now);
            loop_stats.by_safety_net += u64::from(net_only);
            let before = daemon.next_deadline();
            daemon.timer(&mut ctx);
            if net_only && daemon.next_deadline() != before {
                safety_net_fired += 1;
                error!(
                    "{SAFETY_NET_PHRASE} (deadline {:?}, then {:?}; {safety_net_fired} so far)",
                    before.map(|d| d.saturating_duration_since(now)),
                    daemon
                        .next_deadline()
                        .map(|d| d.saturating_duration_since(now))
                );
            }
        }
        if stopping {
            daemon.shutdown(&mut ctx);
        }
        // The parent gone (SIGKILLed: its end of the socket closed before
        // the parent-death signal is handled): a send fails with EPIPE or
        // ECONNRESET. That is a stop like any other — priority-0 adverts,
        // VIPs removed — not an error exit that leaves them behind.
        let peer_gone = |e: nix::errno::Errno| {
            matches!(e, nix::errno::Errno::EPIPE | nix::errno::Errno::ECONNRESET)
        };
        let mut gone = false;
        for m in out.drain(..) {
            match chan.send(&m) {
                Ok(()) => {}
                Err(e) if peer_gone(e) => {
                    gone = true;
                    break;
                }
                Err(e) => return Err(format!("cannot queue {} for the parent: {e}", m.kind())),
            }
        }
        if !gone {
            match chan.flush() {
                Ok(_) => {}
                Err(e) if peer_gone(e) => gone = true,
                Err(e) if !stopping => return Err(format!("IPC send failed: {e}")),
                Err(_) => {}
            }
        }
        if gone && !stopping {
            warn!("Parent closed the IPC channel; stopping");
            let mut ctx = Ctx {
                registry: poll.registry(),
                now: Instant::now(),
                launcher_fd: args.launcher_fd,
                launcher_selftest: args.launcher_selftest.as_deref(),
                out: &mut out,
            };
            daemon.shutdown(&mut ctx);
            stopping = true;
        }
        keepalived_log::flush();
        if stopping {
            info!("Stopped");
            return Ok(());
        }
    }
}

/// Messages another child's events produce, routed by the parent.
fn routed(m: &ToChild) -> bool {
    matches!(
        m,
        ToChild::VrrpState(_)
            | ToChild::Garp(_)
            | ToChild::GroupState(_)
            | ToChild::MasterRxLowerPri(_)
            | ToChild::Health(_)
            | ToChild::Track(_)
            | ToChild::Quorum(_)
            | ToChild::HaSuspend { .. }
            | ToChild::ScriptEnded { .. }
            | ToChild::Checkers { .. }
    )
}

/// Read every whole message waiting on the IPC socket. Returns true when the
/// child must stop.
/// How the event loop has been waking (shown in the stats dump: a timer
/// that does not fire shows up here first).
#[derive(Default)]
struct LoopStats {
    wakeups: u64,
    by_timerfd: u64,
    /// Waits out of the poll for receive moderation ([`Daemon::hold_off`]).
    held_off: u64,
    by_safety_net: u64,
    last_timeout: Option<Duration>,
    last_deadline_in: Option<Duration>,
}

/// What the process applies to itself from its slice: its name and
/// whether it is locked in memory (the parent set its scheduling).
fn apply_process<D: Daemon>(want: &ProcessSettings, now: &mut ProcessSettings) {
    if want.name != now.name {
        let name = want.name.as_deref().unwrap_or(D::SUBSYSTEM.binary());
        if let Ok(c) = std::ffi::CString::new(name) {
            // SAFETY: PR_SET_NAME reads a NUL-terminated string.
            if unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) } != 0
            {
                info!("Failed to set process name '{name}'");
            }
        }
    }
    if want.no_swap != now.no_swap {
        // SAFETY: mlockall/munlockall take flags only.
        let r = unsafe {
            if want.no_swap {
                libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT)
            } else {
                libc::munlockall()
            }
        };
        if r != 0 {
            info!(
                "Unable to lock process in memory - {}",
                std::io::Error::last_os_error()
            );
        }
    }
    *now = want.clone();
}

fn drain_ipc<D: Daemon>(
    daemon: &mut D,
    chan: &mut Channel,
    phase: &mut Phase,
    ctx: &mut Ctx,
    args: &ChildArgs,
    stats: &LoopStats,
    process: &mut ProcessSettings,
) -> Result<bool, String> {
    let sub = D::SUBSYSTEM;
    loop {
        let (bytes, fds) = match chan.recv_bytes() {
            Ok(Some((b, fds))) => (b, fds),
            Ok(None) => return Ok(false),
            Err(RecvError::Closed) => {
                warn!("Parent closed the IPC channel; stopping");
                return Ok(true);
            }
            Err(e) => return Err(format!("IPC from parent: {e}")),
        };
        let msg = decode_to_child(&bytes).map_err(|e| format!("IPC from parent: {e}"))?;
        match (msg, &*phase) {
            (ToChild::Configure { slice, replay }, Phase::AwaitConfig) => {
                if slice.subsystem != sub {
                    return Err(format!(
                        "configuration for {} sent to {sub}",
                        slice.subsystem
                    ));
                }
                let generation = slice.generation;
                apply_process::<D>(&slice.process, process);
                daemon.configure(*slice, replay, ctx)?;
                keepalived_sandbox::seccomp::install(sub, args.seccomp)
                    .map_err(|e| format!("cannot install seccomp filter: {e}"))?;
                if let Some(which) = &args.seccomp_selftest {
                    let r = keepalived_sandbox::seccomp::violate(sub, which);
                    error!(
                        "seccomp self-test: the forbidden syscall returned {r:?} (filter mode {})",
                        args.seccomp
                    );
                }
                ctx.send(FromChild::Ready { generation });
                *phase = Phase::Configured;
                keepalived_sandbox::release_unused_memory();
            }
            (ToChild::Start, Phase::Configured) => {
                *phase = Phase::Running;
                daemon.start(ctx);
            }
            (ToChild::Reload { slice }, Phase::Configured | Phase::Running) => {
                let generation = slice.generation;
                let want = slice.process.clone();
                match daemon.reload(*slice, ctx) {
                    Ok(()) => {
                        apply_process::<D>(&want, process);
                        ctx.send(FromChild::Ready { generation });
                        keepalived_sandbox::release_unused_memory();
                    }
                    Err(reason) => {
                        error!("Reload of configuration {generation} refused: {reason}");
                        ctx.send(FromChild::Rejected { generation, reason });
                    }
                }
            }
            (ToChild::Dump(kind), _) => {
                let mut text = daemon.dump(kind);
                if kind.is_stats() {
                    text.push_str(&format!(
                        " Loop: {} wake-ups, {} by the deadline timer, {} by the safety net, \
                         {} receive hold-offs; last poll timeout {:?}, deadline then in {:?}\n",
                        stats.wakeups,
                        stats.by_timerfd,
                        stats.by_safety_net,
                        stats.held_off,
                        stats.last_timeout,
                        stats.last_deadline_in
                    ));
                }
                for m in keepalived_ipc::dump_messages(kind, &text) {
                    ctx.send(m);
                }
            }
            (ToChild::Ping { seq }, _) => ctx.send(FromChild::Pong { seq }),
            (ToChild::Shutdown, _) => return Ok(true),
            (ToChild::Sockets { request, given }, Phase::Configured | Phase::Running) => {
                daemon.sockets(request, given, fds, ctx);
            }
            (m, Phase::Running) if routed(&m) => daemon.message(m, ctx),
            (m, _) if routed(&m) => {
                // Before Start: state arrives in the replay instead.
                log::debug!("ignoring early routed message {m:?}");
            }
            (m, _) => return Err(format!("unexpected message from parent: {m:?}")),
        }
    }
}
