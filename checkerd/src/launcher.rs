//! The script launcher: a process checkerd forks before it installs its
//! seccomp filter. checkerd's own filter forbids `execve`, and a filter is
//! inherited by everything a process execs, so scripts cannot be started
//! from checkerd itself. The launcher has checkerd's identity (its user, no
//! capabilities, `no_new_privs`) but no filter; it starts scripts on
//! request and reports how they ended, over a SEQPACKET socketpair.
//!
//! It runs only what the configuration runs: the parent sends it the
//! allowlist of every generation (each script's id, command line, user and
//! the kind of arguments keepalived adds, `keepalived_ipc::script_allow`)
//! on a socket checkerd hands over at fork and closes on its side.
//! checkerd asks for a script by id with typed arguments and never learns
//! a command line, so a compromised checkerd gets only configured scripts
//! run, with keepalived's arguments. The launcher is not dumpable:
//! checkerd (same uid) cannot reach that socket through /proc or ptrace
//! either.

use keepalived_check::{LocalRunner, ScriptCommand, ScriptExit, ScriptHandle, ScriptRunner};
use keepalived_ipc::script_allow::Allowlist;
use keepalived_ipc::{Channel, FromChild, ScriptCall, ScriptEnd, ScriptRequest};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::io;
use std::os::fd::FromRawFd;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;

#[derive(Serialize, Deserialize, Debug)]
enum Request {
    Run { id: u64, call: ScriptCall },
    Signal { id: u64, sig: i32 },
}

#[derive(Serialize, Deserialize, Debug)]
enum Reply {
    Exited { id: u64, code: i32 },
    Signaled { id: u64, sig: i32 },
    Failed { id: u64, error: String },
}

const MAX_MSG: usize = 1 << 20;
/// Largest allowlist (from the parent, trusted: a 10,000-real-server
/// configuration with a MISC_CHECK each is about a megabyte).
const MAX_ALLOWLIST: usize = 64 << 20;
/// The allowlist socket's token in the launcher's loop.
const ALLOW_TOKEN: Token = Token(usize::MAX / 2);

/// Take every allowlist the parent sent, keeping the newest two.
fn read_allowlists(chan: Option<&mut Channel>, lists: &mut VecDeque<Allowlist>) {
    let Some(chan) = chan else { return };
    while let Ok(Some((b, _))) = chan.recv_bytes() {
        let list = bincode::serde::decode_from_slice::<Allowlist, _>(
            &b,
            bincode::config::standard().with_limit::<MAX_ALLOWLIST>(),
        );
        if let Ok((list, _)) = list {
            lists.push_back(list);
            while lists.len() > 2 {
                lists.pop_front();
            }
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(b: &[u8]) -> Option<T> {
    bincode::serde::decode_from_slice(b, bincode::config::standard().with_limit::<MAX_MSG>())
        .ok()
        .map(|(v, _)| v)
}

struct Shared {
    chan: Channel,
    next: u64,
    /// Engine token of each run still going.
    tokens: HashMap<u64, Token>,
    exits: HashMap<u64, ScriptExit>,
    /// Runs of another user, started by the parent (ids in `by_parent`),
    /// and the requests for it not yet sent.
    by_parent: std::collections::HashSet<u64>,
    to_parent: Vec<FromChild>,
}

/// checkerd's side: a `ScriptRunner` for the engine, backed by the launcher.
#[derive(Clone)]
pub struct Launcher {
    shared: Rc<RefCell<Shared>>,
    pid: i32,
}

/// Token the launcher's socket is registered under in checkerd's loop.
pub const LAUNCHER_TOKEN: Token = Token(8);

impl Launcher {
    /// Fork the launcher, handing it `allow_fd` (the parent's allowlist
    /// socket), which checkerd then closes. Call while checkerd is
    /// single-threaded and before its seccomp filter exists.
    pub fn start(registry: &Registry, allow_fd: Option<i32>) -> io::Result<Launcher> {
        // SAFETY: the parent passed this descriptor for this purpose; it is
        // owned from here on (and closed in checkerd below).
        let allow = allow_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
        let (mine, theirs) = Channel::pair()?;
        // SAFETY: checkerd is single-threaded here; the child only runs
        // `launcher_main` and exits.
        match unsafe { nix::unistd::fork() }? {
            nix::unistd::ForkResult::Child => {
                drop(mine);
                let code = launcher_main(theirs, allow);
                std::process::exit(code)
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(theirs);
                drop(allow);
                let chan = Channel::new(mine, MAX_MSG, 64 << 20)?;
                let fd = chan.raw_fd();
                registry.register(&mut SourceFd(&fd), LAUNCHER_TOKEN, Interest::READABLE)?;
                let shared = Shared {
                    chan,
                    next: 0,
                    tokens: HashMap::new(),
                    exits: HashMap::new(),
                    by_parent: Default::default(),
                    to_parent: Vec::new(),
                };
                Ok(Launcher {
                    shared: Rc::new(RefCell::new(shared)),
                    pid: child.as_raw(),
                })
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Read the launcher's reports; returns the engine tokens of the runs
    /// that ended, or an error if the launcher is gone.
    pub fn drain(&self) -> io::Result<Vec<Token>> {
        let mut s = self.shared.borrow_mut();
        let mut done = Vec::new();
        loop {
            match s.chan.recv_bytes() {
                Ok(Some((b, _))) => {
                    let (id, exit) = match decode::<Reply>(&b) {
                        Some(Reply::Exited { id, code }) => (id, ScriptExit::Exited(code)),
                        Some(Reply::Signaled { id, sig }) => (id, ScriptExit::Signaled(sig)),
                        Some(Reply::Failed { id, error }) => {
                            log::error!("cannot run script: {error}");
                            (id, ScriptExit::Exited(127))
                        }
                        None => continue,
                    };
                    s.exits.insert(id, exit);
                    if let Some(t) = s.tokens.remove(&id) {
                        done.push(t);
                    }
                }
                Ok(None) => return Ok(done),
                Err(e) => return Err(io::Error::other(format!("script launcher: {e}"))),
            }
        }
    }

    fn send(&self, r: &Request) -> io::Result<()> {
        let bytes = keepalived_ipc::encode(r).map_err(io::Error::other)?;
        match self.shared.borrow_mut().chan.send_bytes(&bytes, Vec::new()) {
            Err(nix::errno::Errno::EPIPE | nix::errno::Errno::ECONNRESET) => {
                // No script can run any more: let the parent restart checkerd
                // (and with it a new launcher).
                log::error!("the script launcher (pid {}) is gone; exiting", self.pid);
                keepalived_log::flush();
                std::process::exit(1);
            }
            r => r.map_err(io::Error::from),
        }
    }

    /// Start a script whose end nobody waits for (notify scripts); its exit
    /// is logged when it comes.
    pub fn fire(&self, cmd: &ScriptCommand) -> io::Result<u64> {
        let id = {
            let mut s = self.shared.borrow_mut();
            s.next += 1;
            s.next
        };
        // Another user's script: only the parent can start it.
        if cmd.by_parent {
            let mut s = self.shared.borrow_mut();
            s.by_parent.insert(id);
            s.to_parent
                .push(FromChild::RunScript(ScriptRequest { id, call: cmd.call }));
            return Ok(id);
        }
        self.send(&Request::Run { id, call: cmd.call })?;
        Ok(id)
    }

    /// Requests for the parent (scripts of other users) since the last call.
    pub fn take_parent_requests(&self) -> Vec<FromChild> {
        std::mem::take(&mut self.shared.borrow_mut().to_parent)
    }

    /// The parent reports how one of its runs ended; the engine token to
    /// wake, if the engine is waiting for it.
    pub fn parent_ended(&self, id: u64, end: ScriptEnd) -> Option<Token> {
        let mut s = self.shared.borrow_mut();
        if !s.by_parent.remove(&id) {
            return None;
        }
        let exit = match end {
            ScriptEnd::Exited(c) => ScriptExit::Exited(c),
            ScriptEnd::Signaled(sig) => ScriptExit::Signaled(sig),
            ScriptEnd::Refused => ScriptExit::Exited(127),
        };
        s.exits.insert(id, exit);
        s.tokens.remove(&id)
    }

    /// Take the exit of a fired script, if it has ended.
    pub fn take_exit(&self, id: u64) -> Option<ScriptExit> {
        self.shared.borrow_mut().exits.remove(&id)
    }
}

impl ScriptRunner for Launcher {
    fn spawn(&mut self, cmd: &ScriptCommand, key: usize) -> io::Result<ScriptHandle> {
        let id = self.fire(cmd)?;
        self.shared.borrow_mut().tokens.insert(id, Token(key));
        Ok(id)
    }

    fn try_wait(&mut self, h: ScriptHandle) -> Option<ScriptExit> {
        self.take_exit(h)
    }

    fn signal(&mut self, h: ScriptHandle, sig: Signal) {
        {
            let mut s = self.shared.borrow_mut();
            if s.by_parent.contains(&h) {
                s.to_parent.push(FromChild::SignalScript {
                    id: h,
                    signal: sig as i32,
                });
                return;
            }
        }
        let _ = self.send(&Request::Signal {
            id: h,
            sig: sig as i32,
        });
    }
}

/// The command line of `call` in the newest allowlist that has its script
/// and knows its arguments' instance or group, if it runs as `me`. (A
/// reload's notify for an instance it removed names the instance only the
/// older list has, with a script both may have.)
fn resolve(
    lists: &VecDeque<Allowlist>,
    call: &ScriptCall,
    me: (u32, u32),
) -> Result<Vec<String>, String> {
    let mut refused = Err("not a script of the configuration".to_string());
    for list in lists
        .iter()
        .rev()
        .filter(|l| l.scripts.contains_key(&call.script))
    {
        match list.command(call) {
            Ok((argv, uid, gid)) if (uid, gid) == me => return Ok(argv),
            Ok((_, uid, gid)) => {
                return Err(format!("runs as {uid}:{gid}, not as the launcher's user"))
            }
            Err(e) => refused = Err(e),
        }
    }
    refused
}

/// The launcher process: run requested scripts with a `LocalRunner`,
/// report each exit, and stop (killing running scripts) when checkerd goes.
fn launcher_main(sock: OwnedFd, allow: Option<OwnedFd>) -> i32 {
    // No parent-death signal: a launcher killed with checkerd would leave
    // its running scripts behind (each in its own process group). It sees
    // checkerd go as the end of its socket instead, and kills them first
    // (LocalRunner's drop).
    // SAFETY: prctl with integer arguments; then restore what scripts expect
    // (no blocked signals, default SIGPIPE) and drop checkerd's descriptors.
    unsafe {
        // checkerd runs as the same user: without this it could open our
        // allowlist socket through /proc/<pid>/fd or trace us.
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let keep = [
        Some(sock.as_raw_fd()),
        allow.as_ref().map(|a| a.as_raw_fd()),
    ];
    // List first, close after: the listing holds a descriptor of its own.
    let inherited: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|fd| *fd > 2 && !keep.contains(&Some(*fd)))
        .collect();
    for fd in inherited {
        // SAFETY: descriptors inherited from checkerd that this process never
        // uses (the listing's own, already closed, fails harmlessly).
        unsafe { libc::close(fd) };
    }
    let Ok(mut chan) = Channel::new(sock, MAX_MSG, 64 << 20) else {
        return 1;
    };
    let Ok(mut poll) = Poll::new() else { return 1 };
    let raw = chan.raw_fd();
    if poll
        .registry()
        .register(&mut SourceFd(&raw), Token(0), Interest::READABLE)
        .is_err()
    {
        return 1;
    }
    // The allowlists of the newest two generations (a reload's requests
    // may come from either side of it).
    let mut allow = allow.and_then(|fd| Channel::new(fd, MAX_ALLOWLIST, 1 << 16).ok());
    if let Some(a) = &allow {
        let raw = a.raw_fd();
        let _ = poll
            .registry()
            .register(&mut SourceFd(&raw), ALLOW_TOKEN, Interest::READABLE);
    }
    let mut lists: VecDeque<Allowlist> = VecDeque::new();
    // SAFETY: trivial getters.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let Ok(mut runner) = LocalRunner::on(poll.registry()) else {
        return 1;
    };
    let mut runs: HashMap<Token, (u64, ScriptHandle)> = HashMap::new();
    let mut ids: HashMap<u64, ScriptHandle> = HashMap::new();
    let mut next_token = 1usize;
    let mut events = Events::with_capacity(64);
    loop {
        if poll
            .poll(&mut events, Some(std::time::Duration::from_secs(1)))
            .is_err()
        {
            continue;
        }
        let mut replies = Vec::new();
        for ev in events.iter() {
            if ev.token() == ALLOW_TOKEN {
                read_allowlists(allow.as_mut(), &mut lists);
            }
            if ev.token() == Token(0) {
                loop {
                    match chan.recv_bytes() {
                        Ok(Some((b, _))) => match decode::<Request>(&b) {
                            Some(Request::Run { id, call }) => {
                                read_allowlists(allow.as_mut(), &mut lists);
                                // Configured scripts of its own user only
                                // (the parent runs the others), newest
                                // generation first.
                                let argv = resolve(&lists, &call, (uid, gid));
                                let argv = match argv {
                                    Ok(a) => a,
                                    Err(e) => {
                                        let mut what = format!("{call:?}: {e}");
                                        what.truncate(300);
                                        replies.push(Reply::Failed {
                                            id,
                                            error: format!("{what}: refused"),
                                        });
                                        continue;
                                    }
                                };
                                let token = Token(next_token);
                                next_token += 1;
                                // The current configuration's umask (a
                                // reload may have changed it).
                                if let Some(m) = lists.back().and_then(|l| l.umask) {
                                    // SAFETY: umask(2) cannot fail.
                                    unsafe { libc::umask(m as libc::mode_t) };
                                }
                                match runner.spawn_argv(&argv, token.0) {
                                    Ok(h) => {
                                        runs.insert(token, (id, h));
                                        ids.insert(id, h);
                                    }
                                    Err(e) => replies.push(Reply::Failed {
                                        id,
                                        error: format!("{argv:?}: {e}"),
                                    }),
                                }
                            }
                            Some(Request::Signal { id, sig }) => {
                                if let (Some(h), Ok(sig)) = (ids.get(&id), Signal::try_from(sig)) {
                                    runner.signal(*h, sig);
                                }
                            }
                            None => {}
                        },
                        Ok(None) => break,
                        Err(_) => return 0, // checkerd is gone
                    }
                }
            }
        }
        // Any run may have ended (pidfd readiness, or the periodic sweep).
        let tokens: Vec<Token> = runs.keys().copied().collect();
        for t in tokens {
            let (id, h) = runs[&t];
            if let Some(exit) = runner.try_wait(h) {
                runs.remove(&t);
                ids.remove(&id);
                replies.push(match exit {
                    ScriptExit::Exited(code) => Reply::Exited { id, code },
                    ScriptExit::Signaled(sig) => Reply::Signaled { id, sig },
                });
            }
        }
        for r in replies {
            if let Ok(b) = keepalived_ipc::encode(&r) {
                let _ = chan.send_bytes(&b, Vec::new());
            }
        }
        let _ = chan.flush();
    }
}
