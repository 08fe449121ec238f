//! What keepalived 2.2.7's keyword handlers report while reading values
//! they then skip, default or correct.
//!
//! keepalived fails `-t` on any report (even one whose wording says
//! "ignoring" or "setting to"), but the daemon runs without the item. So
//! every rule here is a *warning*: `-t` fails (exit 5) with the file and
//! line, and the daemon still starts, leaving out (or correcting) exactly
//! what keepalived leaves out. The rules are keepalived's, read from its
//! handlers (`core/global_parser.c`, `vrrp/vrrp_parser.c`,
//! `check/*_parser.c`, `bfd/bfd_parser.c`, `lib/parser.c`'s number
//! readers); they run on the block tree, before the model is built, and
//! follow the file order (as keepalived's reader does).

// Each arm reads like the keepalived handler it mirrors (check, then
// report); folding the checks into match guards would hide which ones
// have side effects (number readers report as they read).
#![allow(clippy::collapsible_match)]

use super::Cx;
use crate::diag::Pos;
use crate::lexer::Token;
use crate::tree::Node;
use std::collections::HashSet;

const U32: u64 = u32::MAX as u64;
const I32: i64 = i32::MAX as i64;
/// keepalived's `LVS_MAX_TIMEOUT` (seconds): 31 days.
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;
/// Longest interface name (IFNAMSIZ - 1).
pub(crate) const IFNAMSIZ_1: usize = 15;

mod global;
pub(crate) use global::umask_bits;
mod lvs;
mod net;
mod vrrp;

use global::global;
use lvs::{ssl, virtual_server, vs_group};
use net::{if_missing, ip_line, route_line, value_block_args};
use vrrp::{
    bfd, garp_group, instance, instance_complete, linkbeat, script, sync_group,
    sync_group_complete, track_file, track_group, track_process, up_down,
};

/// The keyword the value `t` belongs to: the word before it when that is
/// a name (`id 300`, `preferred_lft never`), else its line's keyword.
fn keyword_of<'n>(nodes: &'n [Node], t: &Token) -> Option<&'n str> {
    for n in nodes {
        for (i, a) in n.args.iter().enumerate() {
            if a.pos.line == t.pos.line && a.pos.col == t.pos.col && a.pos.file == t.pos.file {
                return Some(match i.checked_sub(1).map(|j| &n.args[j]) {
                    Some(p) if p.text.starts_with(|c: char| c.is_ascii_alphabetic()) => &p.text,
                    _ => &n.kw.text,
                });
            }
        }
        if let Some(kw) = n.block.as_deref().and_then(|b| keyword_of(b, t)) {
            return Some(kw);
        }
    }
    None
}

impl Cx<'_> {
    /// A number reader's message, naming the keyword it is for.
    fn num_warn(&mut self, t: &Token, msg: String) {
        self.reject(t);
        let msg = match keyword_of(self.tree, t) {
            Some(kw) => format!("{kw}: {msg}"),
            None => msg,
        };
        self.warn(&t.pos, msg);
    }

    /// keepalived's unsigned reader (`read_unsigned_func`, base 10).
    pub(crate) fn k_uns(&mut self, t: &Token, min: u64, max: u64) -> Option<u64> {
        let s = t.text.trim_start();
        if s.starts_with('-') {
            self.num_warn(t, format!("negative number '{}'", t.text));
            return None;
        }
        let digits = s.strip_prefix('+').unwrap_or(s);
        // strtoul() of an empty string is a valid 0 for keepalived.
        let digits = if s.is_empty() { "0" } else { digits };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.num_warn(t, format!("invalid number '{}'", t.text));
            return None;
        }
        match digits.parse::<u64>() {
            Ok(v) if v <= U32 => self.k_range(t, v, min, max),
            _ => {
                self.num_warn(
                    t,
                    format!("number '{}' outside unsigned integer range", t.text),
                );
                None
            }
        }
    }

    /// `v` (read from `t`) if within `min..=max`, else keepalived's range
    /// report.
    fn k_range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        t: &Token,
        v: T,
        min: T,
        max: T,
    ) -> Option<T> {
        if v < min || v > max {
            self.num_warn(
                t,
                format!("number '{}' outside range [{min}, {max}]", t.text),
            );
            None
        } else {
            Some(v)
        }
    }

    /// keepalived's signed reader (`read_int_func`, base 10).
    pub(crate) fn k_int(&mut self, t: &Token, min: i64, max: i64) -> Option<i64> {
        let s = t.text.as_str();
        let body = s.strip_prefix(['-', '+']).unwrap_or(s);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            self.num_warn(t, format!("invalid number '{}'", t.text));
            return None;
        }
        match s.parse::<i64>() {
            Ok(v) if (i32::MIN as i64..=I32).contains(&v) => self.k_range(t, v, min, max),
            _ => {
                self.num_warn(t, format!("number '{}' outside integer range", t.text));
                None
            }
        }
    }

    /// keepalived's decimal reader (`read_decimal_unsigned_long_func`):
    /// at most `places` decimals; the value scaled by 10^places must be in
    /// `[min, max]` (both scaled).
    pub(crate) fn k_dec(&mut self, t: &Token, min: u64, max: u64, places: u32) -> Option<u64> {
        let s = t.text.as_str();
        if s.starts_with('-') {
            self.num_warn(t, format!("negative number '{s}'"));
            return None;
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let mut bad = false;
        if frac.len() > places as usize {
            // Reported; keepalived rounds and uses the value.
            self.num_warn(t, format!("number '{s}' has too many decimal places"));
            // keepalived rounds and uses the value.
            self.rejected
                .remove(&((*t.pos.file).clone(), t.pos.line, t.pos.col));
            bad = true;
        }
        let int_ok = int.strip_prefix('+').unwrap_or(int);
        if !int_ok.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (int_ok.is_empty() && frac.is_empty())
        {
            self.num_warn(t, format!("invalid number '{s}'"));
            return None;
        }
        let scale = 10u128.pow(places);
        let mut f = frac.chars().take(places as usize).collect::<String>();
        while f.len() < places as usize {
            f.push('0');
        }
        let v = int_ok.parse::<u128>().unwrap_or(0) * scale + f.parse::<u128>().unwrap_or(0);
        if v < min as u128 || v > max as u128 {
            let p = places as usize;
            let sc = scale as u64;
            self.num_warn(
                t,
                format!(
                    "number '{s}' outside range [{}.{:0p$}, {}.{:0p$}]",
                    min / sc,
                    min % sc,
                    max / sc,
                    max % sc
                ),
            );
            return None;
        }
        if bad {
            return None;
        }
        u64::try_from(v).ok()
    }

    /// keepalived's `check_true_false()` on an optional word.
    pub(crate) fn k_tf(&mut self, n: &Node, what: &str) -> Option<bool> {
        self.k_tf_in(n, "", what)
    }

    /// [`Cx::k_tf`] with keepalived's report prefixed (an instance's or
    /// group's `(NAME) `).
    pub(crate) fn k_tf_in(&mut self, n: &Node, prefix: &str, what: &str) -> Option<bool> {
        let t = n.args.first()?;
        match t.text.as_str() {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => {
                self.warn(
                    &t.pos,
                    format!("{prefix}Invalid value '{}' for {what} specified", t.text),
                );
                None
            }
        }
    }

    /// A keyword given twice where keepalived keeps the first.
    fn k_once(&mut self, seen: &mut HashSet<String>, key: &str, n: &Node, what: &str) -> bool {
        if !seen.insert(key.to_string()) {
            self.warn(n.pos(), format!("{what} already specified - ignoring"));
            return false;
        }
        true
    }

    fn k_first_uns(&mut self, n: &Node, min: u64, max: u64) -> Option<u64> {
        let Some(t) = n.args.first() else {
            self.k_missing(n);
            return None;
        };
        self.k_uns(t, min, max)
    }

    /// A keyword whose handler reads its word unchecked, written without
    /// one: keepalived exits at once (status 2).
    pub(crate) fn k_missing(&mut self, n: &Node) {
        if n.args.is_empty() && !crate::keywords::checks_word(&n.kw.text) {
            self.missing_word(n);
        }
    }
}

/// The value rules shared by many keywords, by block: keepalived's
/// `check_true_false()` words and number ranges.
pub(super) fn values(cx: &mut Cx, block: &str, k: &Node) {
    let kw = k.kw.text.as_str();
    let flags = crate::keywords::flags_in(block, kw);
    if flags & crate::keywords::K_TRUE_FALSE != 0 {
        cx.k_tf(k, kw);
        return;
    }
    if flags & crate::keywords::K_EXITS_IF_NO_WORD != 0 {
        cx.k_missing(k);
    }
    if k.args.is_empty() && flags & crate::keywords::K_REPORTS_NO_WORD != 0 {
        cx.warn(k.pos(), format!("{kw} missing"));
    }
    let Some(t) = k.args.first() else { return };
    match (block, kw) {
        ("vrrp_instance", "unicast_ttl") => {
            cx.k_uns(t, 0, 255);
        }
        ("real_server", "uthreshold" | "lthreshold") => {
            cx.k_uns(t, 0, U32);
        }
        ("virtual_server", "persistence_timeout") => {
            cx.k_uns(t, 1, LVS_MAX_TIMEOUT);
        }
        ("checker", "connect_port" | "bind_port") => {
            cx.k_uns(t, 1, 65535);
        }
        ("checker", "fwmark" | "retry" | "nb_get_retry") => {
            cx.k_uns(t, 0, U32);
        }
        ("checker", "misc_timeout") => {
            cx.k_uns(t, 0, U32 / 1_000_000);
        }
        ("checker" | "real_server" | "virtual_server", "delay_before_retry" | "warmup") => {
            cx.k_dec(t, 0, u64::MAX / 1000, 6);
        }
        _ => {}
    }
}

/// An empty `{ }` block keepalived warns about.
pub(super) fn empty_block(cx: &mut Cx, n: &Node, what: &str) {
    if n.block.as_ref().is_some_and(|b| b.is_empty()) {
        cx.warn(n.pos(), format!("Warning - empty {what} block"));
    }
}

/// Does a user exist here (keepalived resolves script users at parse time)?
pub(crate) fn user_known(name: &str) -> bool {
    if name.parse::<u32>().is_ok() {
        return true;
    }
    std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
}

pub(super) fn group_known(name: &str) -> bool {
    if name.parse::<u32>().is_ok() {
        return true;
    }
    std::fs::read_to_string("/etc/group")
        .is_ok_and(|p| p.lines().any(|l| l.split(':').next() == Some(name)))
}

pub(super) fn num_cpus() -> u64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1)
}

/// Run every handler rule over the top level, in file order.
pub(crate) fn check(cx: &mut Cx, nodes: &[Node]) {
    let mut st = State {
        default_interface: "eth0".into(),
        ..State::default()
    };
    let mut groups: Vec<&Node> = Vec::new();
    for n in nodes {
        let body = n.block.as_deref().unwrap_or(&[]);
        match n.kw.text.as_str() {
            "global_defs" => global(cx, body, &mut st),
            "vrrp_instance" => {
                instance(cx, n, body, &mut st);
                instance_complete(cx, n, body, &mut st);
            }
            "vrrp_script" => {
                if let Some(a) = n.args.first() {
                    st.scripts.insert(a.text.clone());
                    st.script_weights
                        .insert(a.text.clone(), block_weight(body).unwrap_or(0));
                }
                script(cx, body);
            }
            "vrrp_track_process" => {
                if let Some(a) = n.args.first() {
                    st.processes.insert(a.text.clone());
                }
                track_process(cx, body);
            }
            "track_file" | "vrrp_track_file" => {
                if let Some(a) = n.args.first() {
                    st.files.insert(a.text.clone());
                    st.file_weights
                        .insert(a.text.clone(), block_weight(body).unwrap_or(1));
                }
                track_file(cx, body);
            }
            "bfd_instance" => {
                if let Some(a) = n.args.first() {
                    if !st.bfds.insert(a.text.clone()) {
                        cx.warn(n.pos(), format!("BFD {} already specified", a.text));
                    }
                    if a.text.len() > 31 {
                        cx.warn(n.pos(), format!("BFD name {} too long", a.text));
                    }
                }
                bfd(cx, n, body, &mut st);
            }
            "vrrp_sync_group" => {
                sync_group(cx, n, body, &mut st);
                groups.push(n);
            }
            "track_group" => track_group(cx, n, body, &mut st),
            "instance" => match n.args.first() {
                None => cx.warn(n.pos(), "instance name missing - ignoring"),
                Some(a) => {
                    if st.instance_set {
                        cx.warn(
                            n.pos(),
                            format!("Duplicate instance definition {} - ignoring", a.text),
                        );
                    }
                    st.instance_set = true;
                }
            },
            "child_wait_time" => {
                cx.k_first_uns(n, 0, U32);
            }
            "net_namespace" if n.args.is_empty() => {
                cx.warn(n.pos(), "net_namespace name missing - ignoring")
            }
            "net_namespace" if st.net_namespace_set => cx.warn(
                n.pos(),
                format!(
                    "Duplicate net_namespace definition {} - ignoring",
                    n.args[0].text
                ),
            ),
            "net_namespace" => st.net_namespace_set = true,
            "garp_group" => garp_group(cx, body, &mut st),
            "static_routes" => {
                for l in body {
                    route_line(cx, l, true, &st);
                }
            }
            "static_ipaddress" => {
                for l in body {
                    ip_line(cx, l, true, &st);
                }
            }
            "linkbeat_interfaces" => linkbeat(cx, n, body),
            "interface_up_down_delays" => up_down(cx, n, body),
            "virtual_server" => {
                if n.args.first().is_some_and(|a| a.text == "group")
                    && n.args
                        .get(1)
                        .is_some_and(|g| st.zero_port_groups.contains(&g.text))
                    && !body.iter().any(|k| k.kw.text == "persistence_timeout")
                {
                    let g = &n.args[1].text;
                    cx.warn(
                        n.pos(),
                        format!("Virtual server [{g}]:0: zero port only valid for persistent services - setting"),
                    );
                }
                virtual_server(cx, n, body, &st)
            }
            "virtual_server_group" => vs_group(cx, n, body, &mut st),
            "SSL" => ssl(cx, n, body, &mut st),
            _ => {}
        }
    }
    for g in groups {
        sync_group_complete(cx, g, &st);
    }
}

/// The `weight` a vrrp_script or track_file block sets, if it sets one.
fn block_weight(body: &[Node]) -> Option<i64> {
    body.iter()
        .find(|k| k.kw.text == "weight")
        .and_then(|k| k.args.first())
        .and_then(|t| t.text.parse().ok())
}

#[derive(Default)]
pub(super) struct State {
    scripts: HashSet<String>,
    processes: HashSet<String>,
    files: HashSet<String>,
    bfds: HashSet<String>,
    bfd_neighbors: HashSet<String>,
    instance_set: bool,
    net_namespace_set: bool,
    sync_members: HashSet<String>,
    track_groups: HashSet<String>,
    ssl_seen: bool,
    vmac_names: HashSet<String>,
    zero_port_groups: HashSet<String>,
    /// global_defs: vrrp_strict, vrrp_version.
    strict: bool,
    version: Option<i64>,
    /// vrrp_script name -> its weight.
    script_weights: std::collections::HashMap<String, i64>,
    /// track_file name -> its weight (1 when unset).
    file_weights: std::collections::HashMap<String, i64>,
    /// vrrp_instance name -> its weighted trackers (keyword, name, weight,
    /// position), for the sync-group rule checked once groups are known.
    weighted_trackers: std::collections::HashMap<String, Vec<(String, String, i64, Pos)>>,
    /// vrrp_instance name -> (priority, tracked interfaces).
    instances: std::collections::HashMap<String, (u64, Vec<String>)>,
    /// Interfaces that have a garp_group, and the default interface.
    garp_ifs: HashSet<String>,
    default_interface: String,
}
