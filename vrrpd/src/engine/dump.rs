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
            // keepalived shows a set `debug` level, and does nothing else
            // with it.
            let debug = self
                .plan
                .instances
                .iter()
                .find(|i| i.cfg.name == p.cfg.name)
                .map_or(0, |i| i.debug);
            if debug != 0 {
                let _ = writeln!(s, "   Debug level = {debug}");
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

/// keepalived's state numbers in its JSON dump.
fn state_number(s: State) -> u8 {
    keepalived_types::DUMP_STATE_NAMES
        .iter()
        .position(|n| *n == s.as_str())
        .unwrap_or(0) as u8
}

impl Engine {
    /// `--signum=STATS_CLEAR`: every instance's counters back to zero.
    pub fn clear_stats(&mut self) {
        for u in &mut self.units {
            match u {
                Unit::Single(i) => i.clear_counters(),
                Unit::Group(g) => g.clear_counters(),
            }
        }
        self.unknown_vrid = 0;
    }

    /// An address as keepalived's JSON and data dumps print it:
    /// `ADDR[/PLEN] [brd B] dev IF scope S [label L] [set]`.
    fn format_address(&self, a: &AddrSpec, set: bool) -> String {
        let full = if a.addr.is_ipv4() { 32 } else { 128 };
        let mut s = a.addr.to_string();
        if a.prefix != full {
            let _ = write!(s, "/{}", a.prefix);
        }
        if let Some(b) = a.broadcast {
            let _ = write!(s, " brd {b}");
        }
        match self.links.get(&a.index) {
            Some(l) => {
                let _ = write!(s, " dev {}", l.name);
            }
            None => s.push_str(" dev @NOWHERE"),
        }
        let _ = write!(s, " scope {}", keepalived_types::route::scope_name(a.scope));
        if let Some(l) = &a.label {
            let _ = write!(s, " label {l}");
        }
        if a.addr.is_ipv6() {
            s.push_str(" preferred_lft forever");
        }
        if set {
            s.push_str(" set");
        }
        s
    }

    /// The JSON dump (`--signum=JSON`), keepalived 2.2.7's layout
    /// (`json_version 1`): one `{"data":{...},"stats":{...}}` per
    /// instance, keepalived's key names, types and state numbers. The
    /// script keys (`script_master`... `track_script`) are left out on
    /// purpose: vrrpd never holds a command line.
    pub fn json(&self) -> String {
        use serde_json::json;
        // keepalived prints these with %g: a whole number of seconds is an
        // integer (`5`, not `5.0`), which exporters decode as one.
        let secs = |d: std::time::Duration| {
            if d.subsec_nanos() == 0 {
                json!(d.as_secs())
            } else {
                json!(d.as_secs_f64())
            }
        };
        let mut out = Vec::new();
        for m in 0..self.plans.len() {
            let inst = self.instance(m);
            let p = &self.plans[m];
            let c = &p.cfg;
            let set = inst.vips_set();
            let mut data = serde_json::Map::new();
            let mut put = |k: &str, v: serde_json::Value| {
                data.insert(k.to_string(), v);
            };
            put("iname", json!(c.name));
            put("dont_track_primary", json!(0));
            put(
                "skip_check_adv_addr",
                json!(u8::from(c.skip_check_adv_addr)),
            );
            put("strict_mode", json!(u8::from(c.strict)));
            put(
                "vmac_ifname",
                json!(p.vmac.as_ref().map_or("", |(n, _)| n.as_str())),
            );
            put("ifp_ifname", json!(p.sock_if.0));
            put(
                "master_priority",
                json!(inst.master().map_or(0, |(_, pr)| pr)),
            );
            let since = self
                .transitions
                .get(&c.name)
                .copied()
                .unwrap_or(self.started_at);
            let epoch = since
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            put("last_transition", json!(epoch.as_secs_f64()));
            let g = &c.garp;
            put("garp_delay", json!(secs(g.master_delay)));
            put("garp_refresh", json!(g.master_refresh.as_secs()));
            put("garp_rep", json!(g.master_repeat));
            put("garp_refresh_rep", json!(g.master_refresh_repeat));
            put("garp_lower_prio_delay", json!(g.lower_prio_delay.as_secs()));
            put("garp_lower_prio_rep", json!(g.lower_prio_repeat));
            put(
                "lower_prio_no_advert",
                json!(u8::from(c.lower_prio_no_advert())),
            );
            put(
                "higher_prio_send_advert",
                json!(u8::from(c.higher_prio_send_advert)),
            );
            put("vrid", json!(c.vrid));
            put("base_priority", json!(c.priority));
            put("effective_priority", json!(inst.effective_priority()));
            put("vipset", json!(set));
            put("promote_secondaries", json!(false));
            put("adver_int", json!(secs(c.advert_int)));
            put("master_adver_int", json!(secs(inst.master_adver_int())));
            put("accept", json!(u8::from(c.accept_mode())));
            put("nopreempt", json!(!c.preempt));
            put("preempt_delay", json!(c.preempt_delay.as_secs()));
            let state = state_number(inst.state());
            put("state", json!(state));
            put("wantstate", json!(state));
            put(
                "version",
                json!(match c.version {
                    keepalived_vrrp::packet::Version::V2 => 2,
                    keepalived_vrrp::packet::Version::V3 => 3,
                }),
            );
            put("smtp_alert", json!(false));
            put("notify_deleted", json!(false));
            let vips: Vec<String> = c
                .vips
                .iter()
                .filter_map(|a| p.vips.get(a))
                .map(|a| self.format_address(a, set))
                .collect();
            if !vips.is_empty() {
                put("vips", json!(vips));
            }
            let evips: Vec<String> = p
                .excluded
                .iter()
                .map(|a| self.format_address(a, set))
                .collect();
            if !evips.is_empty() {
                put("evips", json!(evips));
            }
            let track_ifp: Vec<&str> = p
                .track_ifaces
                .iter()
                .filter_map(|(_, ix)| self.links.get(ix).map(|l| l.name.as_str()))
                .collect();
            if !track_ifp.is_empty() {
                put("track_ifp", json!(track_ifp));
            }
            let (auth_type, auth_data) = match &c.auth {
                keepalived_vrrp::config::Auth::None => (0, None),
                keepalived_vrrp::config::Auth::Pass(b) | keepalived_vrrp::config::Auth::Ah(b) => {
                    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
                    let kind = if matches!(c.auth, keepalived_vrrp::config::Auth::Ah(_)) {
                        2
                    } else {
                        1
                    };
                    (kind, Some(String::from_utf8_lossy(&b[..end]).into_owned()))
                }
            };
            put("auth_type", json!(auth_type));
            if let Some(d) = auth_data {
                put("auth_data", json!(d));
            }
            let k = inst.counters();
            let stats = json!({
                "advert_rcvd": k.adverts_received,
                "advert_sent": k.adverts_sent,
                "become_master": k.become_master,
                "release_master": k.release_master,
                "packet_len_err": k.dropped(DropCause::TooShort) + k.dropped(DropCause::TooLong),
                "advert_interval_err": 0,
                "ip_ttl_err": k.dropped(DropCause::BadTtl),
                "invalid_type_rcvd": k.dropped(DropCause::BadType),
                "addr_list_err": k.dropped(DropCause::AddrCountMismatch)
                    + k.dropped(DropCause::AddrListMismatch),
                "invalid_authtype": k.dropped(DropCause::InvalidAuthType),
                "authtype_mismatch": k.dropped(DropCause::AuthTypeMismatch),
                "auth_failure": k.dropped(DropCause::AuthFailure),
                "pri_zero_rcvd": k.pri_zero_received,
                "pri_zero_sent": k.pri_zero_sent,
            });
            out.push(json!({ "data": serde_json::Value::Object(data), "stats": stats }));
        }
        let mut s = serde_json::to_string(&out).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        s
    }
}
