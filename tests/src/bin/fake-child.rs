//! A hostile stand-in for a child process, for the parent's robustness
//! tests. It reads what to do from the file `fake-mode` beside its own
//! executable (the parent clears the environment), does it once on fd 3,
//! then waits to be killed.
//!
//! The mode file is consumed: the next incarnation behaves (`good`) unless
//! the test writes a new one.
//!
//! Modes: `garbage` (random bytes), `oversized` (a frame announcing 2 GiB),
//! `wrong-kind` (a valid frame carrying a message this child may not send),
//! `good` (acks its configuration like a real child), `run-scripts` (acks,
//! then asks the parent to run, as root, each line of the file
//! `fake-scripts` beside it: a compromised checkerd's requests), `flood`
//! (acks, then sends well-formed VRRP state messages naming objects no
//! plan has, as fast as the parent reads them, for ever), `empty` (acks,
//! sends an empty datagram — which reads like a closed channel — and
//! lingers), `flood-valid` (reads its whole plan, acks, then sends state
//! changes of its first real instance, MASTER and BACKUP in turn, as fast
//! as the parent reads them: messages the parent must route to the other
//! children).

use keepalived_ipc::{
    decode_to_child, encode, frame, FromChild, InstanceId, RealServerHealth, ScriptArgs,
    ScriptCall, ScriptId, ScriptRequest, ToChild, VrrpState, VrrpStateChange,
};
use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixDatagram;

fn main() {
    let exe = std::env::current_exe().expect("exe");
    let mode_file = exe.with_file_name("fake-mode");
    let mode = std::fs::read_to_string(&mode_file).unwrap_or_default();
    let _ = std::fs::remove_file(&mode_file);
    // SAFETY: fd 3 is the IPC socket the parent handed over; a SEQPACKET
    // socket supports send/recv like a datagram socket.
    let sock = unsafe { UnixDatagram::from_raw_fd(3) };
    let mut first = vec![0u8; 1 << 17];
    if mode.trim() == "flood-valid" {
        return flood_valid(&sock, &mut first);
    }
    let _ = sock.recv(&mut first); // the Configure message (first fragment is enough)
    match mode.trim() {
        "garbage" => {
            let mut junk = vec![0u8; 512];
            let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut junk));
            let _ = sock.send(&junk);
        }
        "oversized" => {
            let mut d = Vec::new();
            d.extend_from_slice(&frame::MAGIC);
            d.push(keepalived_ipc::PROTOCOL_VERSION);
            d.push(1);
            d.extend_from_slice(&(2u32 << 30).to_le_bytes());
            d.extend_from_slice(&[0u8; 1024]);
            let _ = sock.send(&d);
        }
        "wrong-kind" => {
            let m = FromChild::Health(RealServerHealth {
                virtual_server: keepalived_ipc::VsId(1),
                real_server: keepalived_ipc::RsId(2),
                up: false,
                weight: None,
                settled: false,
            });
            send(&sock, &m);
        }
        "empty" => {
            send(&sock, &FromChild::Ready { generation: 1 });
            let _ = sock.send(&[]);
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        "flood" => {
            send(&sock, &FromChild::Ready { generation: 1 });
            for n in 0u32.. {
                let m = FromChild::VrrpState(VrrpStateChange {
                    instance: InstanceId(1_000_000 + n),
                    group: None,
                    state: VrrpState::Master,
                    priority: 100,
                });
                if !send(&sock, &m) {
                    return;
                }
            }
        }
        "run-scripts" => {
            let lines =
                std::fs::read_to_string(exe.with_file_name("fake-scripts")).unwrap_or_default();
            let mut msgs = vec![FromChild::Ready { generation: 1 }];
            // `ID` or `ID INSTANCE_ID PRIORITY`: a script by id, with
            // notify arguments or none.
            for (i, line) in lines.lines().enumerate() {
                let w: Vec<&str> = line.split_whitespace().collect();
                let Some(Ok(script)) = w.first().map(|s| s.parse()) else {
                    continue;
                };
                let args = match w[1..] {
                    [id, prio] => ScriptArgs::Instance {
                        id: InstanceId(id.parse().unwrap_or(0)),
                        state: VrrpState::Master,
                        priority: prio.parse().unwrap_or(0),
                    },
                    _ => ScriptArgs::None,
                };
                msgs.push(FromChild::RunScript(ScriptRequest {
                    id: i as u64 + 1,
                    call: ScriptCall {
                        script: ScriptId(script),
                        args,
                    },
                }));
            }
            for m in msgs {
                send(&sock, &m);
            }
        }
        _ => {
            send(&sock, &FromChild::Ready { generation: 1 });
        }
    }
    // Wait for the parent to kill us (or to close the socket), answering
    // its heartbeats as a live child does.
    let mut buf = [0u8; 1 << 17];
    let mut parts = frame::Reassembler::new(64 << 20);
    while let Ok(n) = sock.recv(&mut buf) {
        if n == 0 {
            break;
        }
        // The rest of a Configure whose first fragment was read above does
        // not reassemble: start afresh on the next message.
        let Ok(Some(m)) = parts.push(&buf[..n]) else {
            parts = frame::Reassembler::new(64 << 20);
            continue;
        };
        if let Ok(ToChild::Ping { seq }) = decode_to_child(&m) {
            send(&sock, &FromChild::Pong { seq });
        }
    }
}

fn flood_valid(sock: &UnixDatagram, buf: &mut [u8]) {
    let mut parts = frame::Reassembler::new(64 << 20);
    let instance = loop {
        let Ok(n) = sock.recv(buf) else { return };
        if let Ok(Some(m)) = parts.push(&buf[..n]) {
            let Ok(ToChild::Configure { slice, .. }) = decode_to_child(&m) else {
                return;
            };
            let Some(id) = slice
                .vrrp
                .as_ref()
                .and_then(|p| p.instances.first())
                .and_then(|i| slice.ids.instance(&i.cfg.name))
            else {
                return;
            };
            break id;
        }
    };
    send(sock, &FromChild::Ready { generation: 1 });
    for n in 0u64.. {
        let m = FromChild::VrrpState(VrrpStateChange {
            instance,
            group: None,
            state: if n % 2 == 0 {
                VrrpState::Master
            } else {
                VrrpState::Backup
            },
            priority: 100,
        });
        if !send(sock, &m) {
            return;
        }
    }
}

/// Send one message, in fragments as the parent's channel expects; false
/// once the socket refuses (the parent is gone or killed us).
fn send(sock: &UnixDatagram, m: &FromChild) -> bool {
    frame::fragment(&encode(m).expect("encode"))
        .iter()
        .all(|d| sock.send(d).is_ok())
}
