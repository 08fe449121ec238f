//! Where the builder found the objects validation reports on. Kept beside
//! the model, not in it: `Config` compares, prints and serializes without
//! positions. Each list is pushed with the model's, so index `i` here is
//! object `i` there.

use crate::diag::Pos;
use crate::tree::Node;

#[derive(Default)]
pub(crate) struct Spans {
    /// `Config::vrrp_instances`.
    pub instances: Vec<Block>,
    /// `Config::vrrp_sync_groups`.
    pub sync_groups: Vec<Block>,
    /// `Config::vrrp_scripts`: where each block starts.
    pub scripts: Vec<Pos>,
    /// `Config::virtual_servers`.
    pub virtual_servers: Vec<VirtualServer>,
    /// global_defs' `startup_script` / `shutdown_script` lines, in order:
    /// (position, first word).
    pub global_scripts: Vec<(Pos, String)>,
}

/// A named block.
pub(crate) struct Block {
    pub head: Pos,
    /// The lines of its list blocks: (list keyword, line keyword, position).
    items: Vec<(String, String, Pos)>,
    /// The interfaces an instance names, in file order.
    pub interfaces: Vec<Interface>,
}

/// How an instance names an interface (each is reported in its words).
pub(crate) enum IfUse {
    Interface,
    Tracked,
    Dev,
}

pub(crate) struct Interface {
    pub how: IfUse,
    pub name: String,
    pub pos: Pos,
}

pub(crate) struct VirtualServer {
    pub head: Pos,
    /// Its `VirtualServer::real_servers`' heads.
    pub real_servers: Vec<Pos>,
}

impl Block {
    /// Block `n`, with the lines of its `lists`.
    pub fn new(n: &Node, lists: &[&str]) -> Block {
        let mut items = Vec::new();
        for k in body(n)
            .iter()
            .filter(|k| lists.contains(&k.kw.text.as_str()))
        {
            for l in body(k) {
                items.push((k.kw.text.clone(), l.kw.text.clone(), l.pos().clone()));
            }
        }
        Block {
            head: n.pos().clone(),
            items,
            interfaces: Vec::new(),
        }
    }

    /// A `vrrp_instance`: its tracker lists and the interfaces it names.
    pub fn instance(n: &Node) -> Block {
        let mut b = Block::new(n, &["track_script", "track_file", "track_process"]);
        for k in body(n) {
            match k.kw.text.as_str() {
                "interface" => b.interfaces.extend(k.args.first().map(|a| Interface {
                    how: IfUse::Interface,
                    name: a.text.clone(),
                    pos: a.pos.clone(),
                })),
                "track_interface" => b.interfaces.extend(body(k).iter().map(|l| Interface {
                    how: IfUse::Tracked,
                    name: l.kw.text.clone(),
                    pos: l.pos().clone(),
                })),
                "virtual_ipaddress" | "virtual_ipaddress_excluded" | "virtual_routes" => {
                    for l in body(k) {
                        let mut it = l.args.iter();
                        while let Some(t) = it.next() {
                            if t.text == "dev" {
                                b.interfaces.extend(it.next().map(|d| Interface {
                                    how: IfUse::Dev,
                                    name: d.text.clone(),
                                    pos: d.pos.clone(),
                                }));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        b
    }

    /// Where `item` is written in list `list` (the first), else the head.
    pub fn item(&self, list: &str, item: &str) -> &Pos {
        self.items
            .iter()
            .find(|(l, i, _)| l == list && i == item)
            .map_or(&self.head, |(_, _, p)| p)
    }
}

fn body(n: &Node) -> &[Node] {
    n.block.as_deref().unwrap_or(&[])
}
