//! From the block tree to the typed model: one module per part of the
//! configuration, sharing the value readers of [`Cx`].
//!
//! Each block's reader looks a keyword up in its table in
//! `crate::keywords` first. A keyword this model types is read into its
//! field; one keepalived knows but the model does not type is kept raw in
//! `extra`; anything else is reported as unknown (a warning, like
//! keepalived) with the nearest known keyword as a suggestion.

mod global;
mod kchecks;
mod lvs;
mod vrrp;

use crate::diag::{Diags, Pos};
use crate::keywords::{self as kws, How, Kw};
use crate::lexer::Token;
use crate::model::{Config, Stmt, TrackRef, VirtualIp};
use crate::spans::{self, Spans};
use crate::suggest::nearest;
use crate::tree::Node;
use std::net::IpAddr;
use std::str::FromStr;

/// Reading context: where diagnostics go.
pub(crate) struct Cx<'a> {
    pub diags: &'a mut Diags,
    /// The whole tree: the keyword a rejected value belongs to is looked
    /// up in it when a message names it (rare), not indexed for every
    /// value of every file up front (a quarter of a 10,000-service
    /// file's build went to that index).
    pub tree: &'a [Node],
    /// Users written after notify scripts, for `Config::script_users`.
    pub script_users: Vec<(String, String)>,
    /// Values keepalived's number readers reject (reported by `kchecks`):
    /// the model keeps its default for them, as keepalived does.
    pub rejected: std::collections::HashSet<(std::path::PathBuf, u32, u32)>,
}

impl Cx<'_> {
    /// Was the value at `t` rejected by keepalived's reader rules?
    pub(crate) fn is_rejected(&self, t: &Token) -> bool {
        // (Asked for every value: no key built while nothing was rejected.)
        !self.rejected.is_empty()
            && self
                .rejected
                .contains(&((*t.pos.file).clone(), t.pos.line, t.pos.col))
    }
    pub(crate) fn reject(&mut self, t: &Token) {
        self.rejected
            .insert(((*t.pos.file).clone(), t.pos.line, t.pos.col));
    }
}

/// Build the model from the tree.
pub(crate) fn config<'a>(nodes: &'a [Node], diags: &'a mut Diags) -> Config {
    let mut cx = Cx {
        diags,
        tree: nodes,
        script_users: Vec::new(),
        rejected: Default::default(),
    };
    let mut c = Config::default();
    let mut spans = Spans::default();
    kchecks::check(&mut cx, nodes);
    let mut global_nodes: Vec<&Node> = Vec::new();
    // global_defs first: instances inherit from it wherever it is written.
    for n in nodes.iter().filter(|n| n.kw.text == "global_defs") {
        global_nodes.push(n);
        global::global_defs(&mut cx, n, &mut c.global_defs);
        for k in n.block.as_deref().unwrap_or(&[]) {
            if matches!(k.kw.text.as_str(), "startup_script" | "shutdown_script") {
                if let Some(a) = k.args.first() {
                    spans.global_scripts.push((k.pos().clone(), a.text.clone()));
                }
            }
        }
    }
    for n in nodes {
        let Some(d) = cx.lookup(n, kws::TOP, "top level") else {
            continue;
        };
        match d.key() {
            "global_defs" => {}
            "vrrp_script" => {
                if let Some(s) = vrrp::script(&mut cx, n) {
                    spans.scripts.push(n.pos().clone());
                    c.vrrp_scripts.push(s);
                }
            }
            "vrrp_track_process" => {
                if let Some(s) = vrrp::track_process(&mut cx, n) {
                    c.vrrp_track_processes.push(s);
                }
            }
            "track_file" => {
                if let Some(s) = vrrp::track_file(&mut cx, n) {
                    c.track_files.push(s);
                }
            }
            "vrrp_sync_group" => {
                if let Some(s) = vrrp::sync_group(&mut cx, n) {
                    spans
                        .sync_groups
                        .push(spans::Block::new(n, &["group", "track_script"]));
                    c.vrrp_sync_groups.push(s);
                }
            }
            "vrrp_instance" => {
                if let Some(s) = vrrp::instance(&mut cx, n, &c.global_defs) {
                    spans.instances.push(spans::Block::instance(n));
                    c.vrrp_instances.push(s);
                }
            }
            "static_ipaddress" => {
                for l in cx.block(n) {
                    if let Some(v) = cx.vip(l) {
                        c.static_ipaddress.push(v);
                    }
                }
            }
            "static_routes" => {
                // Words keepalived rejects are kchecks' to report (in its
                // words, failing -t); a route keepalived would install and
                // keepalived-rs cannot (`from`, `encap`...) is said here.
                for l in n.block.as_deref().unwrap_or(&[]) {
                    if let Err(e) = crate::route::parse_static_route(&line_text(l)) {
                        cx.diags.note(
                            l.pos(),
                            format!("static_routes: {e}: keepalived-rs cannot install this route; it is left out"),
                        );
                    }
                }
                c.static_routes.extend(cx.lines(n));
            }
            "static_rules" => {
                check_rules(&mut cx, n, true);
                c.static_rules.extend(cx.lines(n));
            }
            "virtual_server_group" => {
                if let Some(g) = lvs::group(&mut cx, n) {
                    c.virtual_server_groups.push(g);
                }
            }
            "virtual_server" => {
                if let Some((v, real_servers)) = lvs::virtual_server(&mut cx, n) {
                    spans.virtual_servers.push(spans::VirtualServer {
                        head: n.pos().clone(),
                        real_servers,
                    });
                    c.virtual_servers.push(v);
                }
            }
            // A second block replaces the first; a repeated keyword the
            // earlier value (keepalived's words are the config checks').
            "SSL" => {
                let mut s = crate::model::SslConfig {
                    location: format!("{}:{}", n.pos().file.display(), n.pos().line),
                    ..Default::default()
                };
                for k in n.block.as_deref().unwrap_or(&[]) {
                    let value = (!k.args.is_empty()).then(|| {
                        k.args
                            .iter()
                            .map(|t| t.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                    let slot = match k.kw.text.as_str() {
                        "password" => &mut s.password,
                        "ca" => &mut s.ca,
                        "certificate" => &mut s.certificate,
                        "key" => &mut s.key,
                        _ => {
                            cx.unknown(k, ["password", "ca", "certificate", "key"], "SSL");
                            continue;
                        }
                    };
                    if value.is_some() {
                        *slot = value;
                    }
                }
                c.ssl = Some(s);
            }
            // keepalived-rs extension; a second block is refused.
            "bgp_announce" if c.bgp_announce.is_some() => {
                cx.error(n.pos(), "'bgp_announce' is given twice");
            }
            "bgp_announce" => c.bgp_announce = Some(bgp_announce(&mut cx, n)),
            // The first counts (keepalived reports another).
            "net_namespace" if c.net_namespace.is_none() => c.net_namespace = cx.one_string(n),
            // The first counts (kchecks report another, and a missing name).
            "instance" if c.instance_name.is_none() => {
                c.instance_name = n.args.first().map(|t| t.text.clone())
            }
            "instance" => {}
            "use_pid_dir" => c.use_pid_dir = true,
            "net_namespace" => {}
            // Bad lines are kchecks' to report (keepalived's words); a
            // later line for an interface replaces its values, as there.
            // Bad values and unknown interfaces are kchecks' to report
            // (keepalived's words); a group without a delay is dropped.
            "garp_group" => {
                let mut g = crate::model::GarpGroup::default();
                for k in n.block.as_deref().unwrap_or(&[]) {
                    let secs = || {
                        k.args
                            .first()
                            .and_then(|t| t.text.parse::<f64>().ok())
                            .filter(|v| *v >= 0.0 && *v <= f64::from(i32::MAX) / 1e6)
                    };
                    match k.kw.text.as_str() {
                        "garp_interval" => g.garp_interval = secs().or(g.garp_interval),
                        "gna_interval" => g.gna_interval = secs().or(g.gna_interval),
                        "interface" => g.interfaces.extend(k.args.first().map(|t| t.text.clone())),
                        "interfaces" => g.interfaces.extend(
                            k.block
                                .as_deref()
                                .unwrap_or(&[])
                                .iter()
                                .map(|l| l.kw.text.clone()),
                        ),
                        _ => cx.unknown(
                            k,
                            ["garp_interval", "gna_interval", "interface", "interfaces"],
                            "garp_group",
                        ),
                    }
                }
                if g.garp_interval.is_some() || g.gna_interval.is_some() {
                    c.garp_groups.push(g);
                }
            }
            // Messages are kchecks' (keepalived's words); the first group
            // of a name and its first `group` list count.
            "track_group" => {
                let Some(name) = n.args.first().map(|t| t.text.clone()) else {
                    continue;
                };
                if c.track_groups.iter().any(|g| g.name == name) {
                    continue;
                }
                let instances = n
                    .block
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .find(|k| k.kw.text == "group")
                    .map(|k| {
                        k.block
                            .as_deref()
                            .unwrap_or(&[])
                            .iter()
                            .flat_map(|l| std::iter::once(&l.kw).chain(&l.args))
                            .map(|t| t.text.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                c.track_groups
                    .push(crate::model::TrackGroup { name, instances });
            }
            "interface_up_down_delays" => {
                for l in n.block.as_deref().unwrap_or(&[]) {
                    let secs = |i: usize| {
                        l.args
                            .get(i)
                            .and_then(|t| t.text.parse::<f64>().ok())
                            .filter(|v| (0.0..=255.0).contains(v))
                    };
                    let Some(down) = secs(0) else {
                        continue;
                    };
                    let up = match l.args.len() {
                        1 => 0.0,
                        _ => match secs(1) {
                            Some(u) => u,
                            None => continue,
                        },
                    };
                    c.interface_up_down_delays
                        .retain(|d| d.interface != l.kw.text);
                    c.interface_up_down_delays.push(crate::model::UpDownDelay {
                        interface: l.kw.text.clone(),
                        down,
                        up,
                    });
                }
            }
            _ => cx.untyped(d, n, &mut c.extra, "top level"),
        }
    }
    crate::validate::config(&mut cx, &spans, &mut c);
    c.script_users = std::mem::take(&mut cx.script_users).into_iter().collect();
    c
}

/// keepalived 2.2.7 reports a rule with no explicit preference (it picks
/// one counting down from 16384, which is rarely what was meant).
/// `virtual_rules` (`statics` false) or `static_rules` lines.
pub(crate) fn check_rules(cx: &mut Cx, n: &Node, statics: bool) {
    for l in n.block.as_deref().unwrap_or(&[]) {
        let has_pref = std::iter::once(&l.kw)
            .chain(&l.args)
            .any(|t| matches!(t.text.as_str(), "preference" | "priority" | "order"));
        if !has_pref {
            cx.warn(l.pos(), "rule has no preference: keepalived picks one counting down from 16384 (add 'preference N')");
        }
        let words: Vec<&Token> = std::iter::once(&l.kw).chain(&l.args).collect();
        let actions = words
            .iter()
            .filter(|t| {
                matches!(
                    t.text.as_str(),
                    "table"
                        | "lookup"
                        | "nop"
                        | "goto"
                        | "blackhole"
                        | "prohibit"
                        | "unreachable"
                        | "l3mdev"
                )
            })
            .count();
        if actions > 1 {
            cx.warn(l.pos(), "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule");
        }
        let num_after = |w: &str| {
            words
                .windows(2)
                .find(|x| x[0].text == w)
                .and_then(|x| x[1].text.parse::<u64>().ok())
        };
        let pref = num_after("preference")
            .or(num_after("priority"))
            .or(num_after("pref"))
            .or(num_after("order"));
        if let (Some(p), Some(g)) = (pref, num_after("goto")) {
            if p >= g {
                cx.warn(
                    l.pos(),
                    format!("Invalid rule - preference {p} >= goto target {g}"),
                );
            }
        }
        for w in words.windows(2) {
            if matches!(w[0].text.as_str(), "table" | "lookup") && w[1].text == "0" {
                cx.warn(&w[1].pos, "Table 0 is not valid");
            }
            if matches!(w[0].text.as_str(), "iif" | "oif" | "dev")
                && crate::host::interfaces().is_some_and(|ifs| !ifs.iter().any(|i| *i == w[1].text))
            {
                cx.warn(
                    &w[1].pos,
                    format!("WARNING - interface {} for rule doesn't exist", w[1].text),
                );
            }
        }
        let parsed = if statics {
            crate::route::parse_static_rule(&line_text(l))
        } else {
            crate::route::parse_rule(&line_text(l))
        };
        if let Err(e) = parsed {
            if words
                .iter()
                .any(|t| matches!(t.text.as_str(), "goto" | "nop"))
            {
                // Valid for keepalived; keepalived-rs cannot install it.
                cx.diags.note(
                    l.pos(),
                    "rule actions goto/nop are not supported by keepalived-rs: the rule is not installed",
                );
            } else {
                let block = if statics {
                    "static_rules"
                } else {
                    "virtual_rules"
                };
                cx.warn(l.pos(), format!("{block}: {e}; the rule is ignored"));
            }
        }
    }
}

/// A block line's words, as the model keeps them.
pub(crate) fn line_text(l: &Node) -> String {
    std::iter::once(&l.kw)
        .chain(&l.args)
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The top-level `bgp_announce { }` block (keepalived-rs extension).
fn bgp_announce(cx: &mut Cx, n: &Node) -> crate::model::BgpAnnounce {
    cx.diags.note(
        n.pos(),
        "'bgp_announce' is a keepalived-rs extension: keepalived 2.2.7 refuses this configuration",
    );
    cx.at_most(n, 0);
    let mut b = crate::model::BgpAnnounce::default();
    for k in n.block.as_deref().unwrap_or(&[]) {
        let Some(d) = cx.lookup(k, kws::BGP_ANNOUNCE, "bgp_announce") else {
            continue;
        };
        match d.key() {
            "interface" => {
                if let Some(name) = cx.one_string(k) {
                    // An interface name as the kernel takes it.
                    if name.is_empty()
                        || name.len() > kchecks::IFNAMSIZ_1
                        || name.contains(['/', ':'])
                        || name.chars().any(char::is_whitespace)
                    {
                        cx.error(&k.args[0].pos, format!("'interface' {name}: not a valid interface name (1 to 15 characters, no '/', ':' or spaces)"));
                    } else {
                        b.interface = name;
                    }
                }
            }
            "address_lifetime" => {
                b.address_lifetime = cx.num(k, 3u32, 86_400).unwrap_or(b.address_lifetime)
            }
            "withdraw_on_shutdown" => b.withdraw_on_shutdown = cx.flag(k),
            "health_timeout" => b.health_timeout = cx.timer(k, 3600.0).unwrap_or(b.health_timeout),
            _ => cx.no_arm(k, "bgp_announce"),
        }
    }
    b
}

/// A node as a raw statement.
pub(crate) fn raw(n: &Node) -> Stmt {
    Stmt {
        keyword: n.kw.text.clone(),
        args: n.args.iter().map(|t| t.text.clone()).collect(),
        block: n.block.as_ref().map(|b| b.iter().map(raw).collect()),
    }
}

impl Cx<'_> {
    pub fn warn(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.diags.warn(pos, msg);
    }
    pub fn error(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.diags.error(pos, msg);
    }

    /// `n`'s entry in `table` (a block's keywords); an unknown keyword is
    /// reported here.
    pub fn lookup(&mut self, n: &Node, table: &'static [Kw], block: &str) -> Option<&'static Kw> {
        self.check_inline(n, kws::names(table));
        let d = kws::find(table, &n.kw.text);
        if d.is_none() {
            self.unknown(n, kws::names(table), block);
        }
        d
    }

    /// The last arm of a block's reader: a raw keyword is kept as written.
    pub fn untyped(&mut self, d: &Kw, n: &Node, extra: &mut Vec<Stmt>, block: &str) {
        if d.how != How::Raw {
            self.no_arm(n, block);
        }
        extra.push(raw(n));
    }

    /// A typed keyword its block's reader has no arm for: a bug, which
    /// tests/keyword_table.rs keeps from shipping; said rather than lost.
    pub fn no_arm(&mut self, n: &Node, block: &str) {
        self.warn(
            n.pos(),
            format!(
                "internal error: keepalived-rs has no reader for '{}' in {block} (kept as written)",
                n.kw.text
            ),
        );
    }

    /// An unknown keyword: warn (keepalived ignores it) and suggest.
    pub fn unknown<'k>(&mut self, n: &Node, known: impl IntoIterator<Item = &'k str>, block: &str) {
        let hint = nearest(&n.kw.text, known)
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default();
        self.warn(
            n.pos(),
            format!("unknown keyword '{}' in {block}{hint}", n.kw.text),
        );
    }

    /// A statement that shared a line with `{` and swallowed the next
    /// keyword as an argument: keepalived reads only the first keyword.
    pub fn check_inline<'k>(&mut self, n: &Node, known: impl IntoIterator<Item = &'k str> + Clone) {
        if !n.inline || self.diags.line_has_error(n.pos()) {
            return;
        }
        if let Some(t) = n
            .args
            .iter()
            .find(|t| !t.quoted && known.clone().into_iter().any(|k| k == t.text))
        {
            self.error(
                &t.pos,
                format!(
                    "'{}' is on the same line as '{}' inside '{{ }}': keepalived reads one \
                     keyword per line there and takes '{}' as an argument of '{}'; \
                     put it on its own line",
                    t.text, n.kw.text, t.text, n.kw.text
                ),
            );
        }
    }

    /// The body of a block keyword (an error if it has none).
    pub fn block<'n>(&mut self, n: &'n Node) -> &'n [Node] {
        match &n.block {
            Some(b) => b,
            None => {
                self.error(
                    n.pos(),
                    format!("'{}' needs a '{{ ... }}' block", n.kw.text),
                );
                &[]
            }
        }
    }

    /// A keyword that takes no block: report a stray one.
    fn no_block(&mut self, n: &Node) {
        if let Some(p) = &n.open {
            self.warn(
                p,
                format!("'{}' takes no '{{ }}' block (ignored)", n.kw.text),
            );
        }
    }

    /// Require at least `min` arguments.
    pub fn need(&mut self, n: &Node, min: usize) -> bool {
        // `weight` depends on the block: a tracker's weight handler checks
        // its word (the real server's reads it unchecked, through `num`).
        let kw = n.kw.text.as_str();
        self.need_class(n, min, !(kws::checks_word(kw) || kw == "weight"))
    }

    /// keepalived reads a missing word and exits at once (status 2). One
    /// message, wherever it is found, so one problem gives one line.
    pub(crate) fn missing_word(&mut self, n: &Node) {
        self.diags.error_class(
            Some(n.pos()),
            crate::Class::MissingWord,
            format!(
                "'{}' is missing a parameter after keyword '{}' (keepalived exits here)",
                n.kw.text, n.kw.text
            ),
        );
    }

    /// [`Cx::need`]; `exits`: keepalived's handler reads the word without
    /// checking it is there, so a missing one makes it exit (status 2).
    pub fn need_class(&mut self, n: &Node, min: usize, exits: bool) -> bool {
        self.no_block(n);
        if n.args.is_empty() && min > 0 && exits {
            self.missing_word(n);
            return false;
        }
        if n.args.len() < min {
            self.error(
                n.pos(),
                format!(
                    "'{}' needs {min} argument{}",
                    n.kw.text,
                    if min == 1 { "" } else { "s" }
                ),
            );
            return false;
        }
        true
    }

    /// Warn about arguments beyond `max`.
    /// keepalived reads the words a handler needs and ignores the rest
    /// without a report: a note, which does not fail `-t`.
    pub fn at_most(&mut self, n: &Node, max: usize) {
        if let Some(t) = n.args.get(max) {
            self.diags.note(
                &t.pos,
                format!(
                    "'{}' takes at most {max} argument(s): '{}' and what follows are ignored",
                    n.kw.text, t.text
                ),
            );
        }
    }

    /// The single argument as a string.
    pub fn one_string(&mut self, n: &Node) -> Option<String> {
        if !self.need(n, 1) {
            return None;
        }
        // keepalived reads the first word and ignores the rest.
        Some(n.args[0].text.clone())
    }

    /// All arguments joined by spaces (script command lines).
    /// A notify script: `SCRIPT [USER [GROUP]]` as keepalived reads it —
    /// words after the script name its user, not its arguments (quote a
    /// script that takes arguments).
    pub fn notify_script(&mut self, n: &Node) -> Option<String> {
        // keepalived reads the script word unchecked: none makes it exit.
        if !self.need_class(n, 1, true) {
            return None;
        }
        self.at_most(n, 3);
        let script = n.args[0].text.clone();
        if n.args.len() > 1 {
            let who = n.args[1..n.args.len().min(3)]
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.script_users.push((script.clone(), who));
        }
        Some(script)
    }

    pub fn rest_string(&mut self, n: &Node) -> Option<String> {
        if !self.need(n, 1) {
            return None;
        }
        Some(join(&n.args))
    }

    /// A flag keyword, optionally followed by a boolean word.
    pub fn flag(&mut self, n: &Node) -> bool {
        self.no_block(n);
        let kw = n.kw.text.as_str();
        match n.args.first() {
            None => true,
            // keepalived reads a true/false word after these (exactly:
            // `true`/`on`/`yes`, `false`/`off`/`no`) and reports others,
            // leaving the setting alone.
            Some(t) if kws::true_false(kw) => match t.text.as_str() {
                "true" | "on" | "yes" => true,
                "false" | "off" | "no" => false,
                _ => {
                    self.warn(
                        &t.pos,
                        format!("Invalid value '{}' for {kw} specified", t.text),
                    );
                    false
                }
            },
            // The others ignore what follows: the flag is set.
            Some(t) => {
                self.diags.note(
                    &t.pos,
                    format!(
                        "'{kw}' takes no value: keepalived ignores '{}' and sets it",
                        t.text
                    ),
                );
                true
            }
        }
    }

    /// A number in `[min, max]` from token `t`.
    pub fn num_tok<T>(&mut self, kw: &str, t: &Token, min: T, max: T) -> Option<T>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        if self.is_rejected(t) {
            return None;
        }
        match t.text.parse::<T>() {
            Ok(v) if v >= min && v <= max => Some(v),
            Ok(_) => {
                self.error(
                    &t.pos,
                    format!(
                        "'{kw}' value {} is outside the range [{min}, {max}]",
                        t.text
                    ),
                );
                None
            }
            Err(_) if t.text.parse::<i128>().is_ok() => {
                self.error(
                    &t.pos,
                    format!(
                        "'{kw}' value {} is outside the range [{min}, {max}]",
                        t.text
                    ),
                );
                None
            }
            Err(_) => {
                self.error(&t.pos, format!("'{kw}' expects a number, not '{}'", t.text));
                None
            }
        }
    }

    /// The single argument as a number in `[min, max]`.
    pub fn num<T>(&mut self, n: &Node, min: T, max: T) -> Option<T>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        if !self.need_class(n, 1, !kws::checks_word(&n.kw.text)) {
            return None;
        }
        self.at_most(n, 1);
        self.num_tok(&n.kw.text, &n.args[0], min, max)
    }

    /// The single argument as a timer in seconds (fractions allowed).
    pub fn timer(&mut self, n: &Node, max: f64) -> Option<f64> {
        if !self.need_class(n, 1, !kws::checks_word(&n.kw.text)) {
            return None;
        }
        self.at_most(n, 1);
        self.timer_tok(&n.kw.text, &n.args[0], max)
    }

    pub fn timer_tok(&mut self, kw: &str, t: &Token, max: f64) -> Option<f64> {
        if self.is_rejected(t) {
            return None;
        }
        match t.text.parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=max).contains(&v) => {
                // keepalived keeps microseconds.
                Some((v * 1e6).round() / 1e6)
            }
            Ok(_) => {
                self.error(
                    &t.pos,
                    format!(
                        "'{kw}' value {} is outside the range [0, {max}] seconds",
                        t.text
                    ),
                );
                None
            }
            Err(_) => {
                self.error(
                    &t.pos,
                    format!("'{kw}' expects a time in seconds, not '{}'", t.text),
                );
                None
            }
        }
    }

    /// An IP address from token `t`.
    pub fn ip_tok(&mut self, kw: &str, t: &Token) -> Option<IpAddr> {
        match t.text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(&t.pos, format!("'{kw}': invalid IP address '{}'", t.text));
                None
            }
        }
    }

    /// The single argument as an IP address.
    pub fn ip(&mut self, n: &Node) -> Option<IpAddr> {
        if !self.need(n, 1) {
            return None;
        }
        self.at_most(n, 1);
        self.ip_tok(&n.kw.text, &n.args[0])
    }

    /// A port number from token `t`.
    pub fn port_tok(&mut self, kw: &str, t: &Token) -> Option<u16> {
        self.num_tok(kw, t, 0u16, 65535)
    }

    /// Each line of a block joined into a string (routes, rules).
    pub fn lines(&mut self, n: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for l in self.block(n) {
            let mut s = l.kw.text.clone();
            for a in &l.args {
                s.push(' ');
                s.push_str(&a.text);
            }
            out.push(s);
        }
        out
    }

    /// Each line of a block as a single word (names, e-mail addresses).
    pub fn words(&mut self, n: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for l in self.block(n) {
            self.at_most(l, 0);
            out.push(l.kw.text.clone());
        }
        out
    }

    /// A `track_*` block: `NAME [weight W [reverse|noreverse]]` lines.
    pub fn track_refs(&mut self, n: &Node, wmin: i32, wmax: i32) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for l in self.block(n) {
            let mut r = TrackRef {
                name: l.kw.text.clone(),
                weight: None,
                reverse: false,
            };
            let mut i = 0;
            while i < l.args.len() {
                let t = &l.args[i];
                match t.text.as_str() {
                    "weight" => match l.args.get(i + 1) {
                        Some(w) => {
                            r.weight = self.num_tok("weight", w, wmin, wmax);
                            i += 1;
                        }
                        None => self.error(&t.pos, "'weight' needs a value"),
                    },
                    "reverse" => r.reverse = true,
                    "noreverse" => r.reverse = false,
                    _ => self.warn(
                        &t.pos,
                        format!("unexpected '{}' after tracked name '{}'", t.text, r.name),
                    ),
                }
                i += 1;
            }
            out.push(r);
        }
        out
    }

    /// One `virtual_ipaddress` line.
    pub fn vip(&mut self, l: &Node) -> Option<VirtualIp> {
        let (addr, prefix) = match l.kw.text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (l.kw.text.as_str(), None),
        };
        let address = match addr.parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) => {
                self.error(l.pos(), format!("invalid IP address '{}'", l.kw.text));
                return None;
            }
        };
        let prefix = match prefix {
            None => None,
            Some(p) => {
                let max = if address.is_ipv4() { 32 } else { 128 };
                // keepalived's number reader takes an empty string as 0.
                let p = if p.is_empty() { "0" } else { p };
                match p.parse::<u8>() {
                    Ok(v) if v <= max => Some(v),
                    _ => {
                        self.error(
                            l.pos(),
                            format!("invalid prefix length '/{p}' in '{}'", l.kw.text),
                        );
                        return None;
                    }
                }
            }
        };
        let mut v = VirtualIp {
            address,
            prefix,
            dev: None,
            label: None,
            options: Vec::new(),
        };
        let mut i = 0;
        while i < l.args.len() {
            let t = &l.args[i];
            match t.text.as_str() {
                "dev" | "label" => match l.args.get(i + 1) {
                    Some(x) => {
                        if t.text == "dev" {
                            v.dev = Some(x.text.clone());
                        } else {
                            v.label = Some(x.text.clone());
                        }
                        i += 1;
                    }
                    None => self.error(&t.pos, format!("'{}' needs a value", t.text)),
                },
                "brd" | "broadcast" | "scope" | "peer" | "preferred_lft" | "track_group" => {
                    v.options.push(t.text.clone());
                    if let Some(x) = l.args.get(i + 1) {
                        v.options.push(x.text.clone());
                        i += 1;
                    }
                }
                "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin"
                | "no_track" | "use_vmac" => v.options.push(t.text.clone()),
                _ => self.error(
                    &t.pos,
                    format!("unknown option '{}' for address {}", t.text, l.kw.text),
                ),
            }
            i += 1;
        }
        Some(v)
    }
}

pub(crate) fn join(toks: &[Token]) -> String {
    toks.iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
