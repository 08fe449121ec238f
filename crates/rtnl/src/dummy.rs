//! A dummy interface: where ipvsd puts the addresses of announced virtual
//! servers (`bgp_announce`), for a routing daemon to export.

use crate::rtnl::Rtnl;
use std::io;

impl Rtnl {
    /// The dummy interface `name`, up: created when missing (a link of
    /// that name and another kind is refused, never taken over). Returns
    /// its index.
    pub fn ensure_dummy(&mut self, name: &str) -> io::Result<u32> {
        let found = self.links()?.into_iter().find(|l| l.name == name);
        let index = match found {
            Some(l) if l.kind.as_deref() != Some("dummy") => {
                return Err(io::Error::other(format!(
                    "{name} exists and is not a dummy interface ({})",
                    l.kind.as_deref().unwrap_or("no kind")
                )));
            }
            Some(l) if l.up => return Ok(l.index),
            Some(l) => l.index,
            None => {
                self.new_link(name, None, None, b"dummy\0", None)?;
                self.index_of(name)?
            }
        };
        self.set_up(index)?;
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use crate::rtnl::{AddrSpec, Rtnl};
    use std::process::Command;

    fn ip(args: &[&str]) -> String {
        let o = Command::new("ip").args(args).output().unwrap();
        assert!(o.status.success(), "ip {args:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// An address added with a valid lifetime carries it (IPv4 and IPv6:
    /// the kernel deletes it when it runs out), and a link of another kind
    /// under the dummy's name is refused, never taken over. (Creating the
    /// dummy needs the kernel's `dummy` driver, which this host's kernel
    /// lacks: the VM test tests/vm/bgp-announce.sh runs it.)
    #[test]
    fn addresses_that_expire_and_a_name_taken_by_another_kind() {
        crate::rtnl::tests::fresh_netns();
        let mut r = Rtnl::open().unwrap();
        let index = r.link("v0").unwrap().unwrap().index;
        for (addr, prefix) in [("192.0.2.10", 32), ("2001:db8::10", 128)] {
            let mut a = AddrSpec {
                index,
                addr: addr.parse().unwrap(),
                prefix,
                broadcast: None,
                scope: 0,
                label: None,
                opts: Default::default(),
            };
            a.opts.valid_lft = Some(30);
            a.opts.preferred_lft = Some(30);
            r.add_address(&a).unwrap();
        }
        let shown = ip(&["addr", "show", "dev", "v0"]);
        assert_eq!(shown.matches("valid_lft 30sec").count(), 2, "{shown}");
        assert!(shown.contains("192.0.2.10/32") && shown.contains("2001:db8::10/128"));
        let e = r.ensure_dummy("v0").unwrap_err();
        assert!(
            e.to_string().contains("not a dummy interface (veth)"),
            "{e}"
        );
    }
}
