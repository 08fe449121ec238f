//! The SIGUSR1 / SIGUSR2 dump parts.

use super::*;

impl Engine {
    pub fn dump(&self, stats: bool) -> String {
        let mut s = String::new();
        for m in 0..self.plans.len() {
            let inst = self.instance(m);
            let p = &self.plans[m];
            let _ = writeln!(s, " VRRP Instance = {}", p.cfg.name);
            let _ = writeln!(s, "   State = {}", inst.state().as_str());
            let _ = writeln!(s, "   Interface = {}", p.ifname);
            let _ = writeln!(s, "   Virtual Router ID = {}", p.cfg.vrid);
            let _ = writeln!(
                s,
                "   Priority = {}, effective {}",
                p.cfg.priority,
                inst.effective_priority()
            );
            if let Some((addr, prio)) = inst.master() {
                let _ = writeln!(s, "   Master = {addr} priority {prio}");
            }
            if stats {
                // Where its timers stand (a timer that never fires shows
                // here: a deadline long past, or none where one is due).
                let now = std::time::Instant::now();
                let _ = match inst.next_deadline() {
                    Some(d) if d >= now => {
                        writeln!(s, "   Next timer in {} ms", (d - now).as_millis())
                    }
                    Some(d) => writeln!(s, "   Next timer {} ms ago", (now - d).as_millis()),
                    None => writeln!(s, "   No timer"),
                };
                let c = inst.counters();
                let _ = writeln!(
                    s,
                    "   Adverts sent {}, received {}",
                    c.adverts_sent, c.adverts_received
                );
                let _ = writeln!(
                    s,
                    "   Became master {}, released master {}",
                    c.become_master, c.release_master
                );
                let _ = writeln!(
                    s,
                    "   Priority 0 sent {}, received {}",
                    c.pri_zero_sent, c.pri_zero_received
                );
                let _ = writeln!(
                    s,
                    "   Lower priority adverts not answered (rate limit) {}",
                    c.lower_prio_unanswered
                );
                let _ = writeln!(s, "   Packets dropped {}", c.total_dropped());
                for cause in DropCause::ALL {
                    if c.dropped(cause) > 0 {
                        let _ = writeln!(s, "     {}: {}", cause.as_str(), c.dropped(cause));
                    }
                }
                for (peer, by) in &c.checksum_by_peer {
                    let seen: Vec<String> = ChecksumVariant::ALL
                        .iter()
                        .filter(|v| by[v.index()] > 0)
                        .map(|v| format!("{} {}", v.as_str(), by[v.index()]))
                        .collect();
                    let _ = writeln!(s, "   Checksums from {peer}: {}", seen.join(", "));
                }
            }
        }
        if stats {
            let _ = writeln!(s, " Packets for unknown VRIDs: {}", self.unknown_vrid);
        }
        s
    }
}
