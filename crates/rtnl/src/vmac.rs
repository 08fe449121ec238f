//! `use_vmac`: a macvlan interface carrying the VRRP virtual MAC
//! (00:00:5e:00:01:VRID, or :02: for IPv6), so the virtual address keeps
//! its MAC address across a failover and switches never relearn.
//!
//! keepalived writes the interface's sysctls under /proc/sys; vrrpd may
//! not open files (its seccomp filter), so the same IPv4 settings go over
//! rtnetlink (IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF).

use crate::rtnl::{attr, err, Rtnl, IFLA_INET_CONF};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Iff, Ifla, IflaInfo, RtAddrFamily, Rtm};
use neli::rtnl::{Ifinfomsg, IfinfomsgBuilder, Rtattr};
use neli::types::{Buffer, RtBuffer};
use std::io;

const IFLA_MACVLAN_MODE: u16 = 1;
/// Private mode: the macvlan never talks to its siblings on the same
/// lower device, as keepalived creates it.
const MACVLAN_MODE_PRIVATE: u32 = 1;

/// IPV4_DEVCONF_* indices (include/uapi/linux/ip.h).
pub const DEVCONF_RP_FILTER: u16 = 8;
pub const DEVCONF_ARPFILTER: u16 = 13;
pub const DEVCONF_ARP_IGNORE: u16 = 19;
pub const DEVCONF_PROMOTE_SECONDARIES: u16 = 20;
pub const DEVCONF_ACCEPT_LOCAL: u16 = 23;

/// The VRRP virtual MAC of RFC 5798 §7.3.
pub fn virtual_mac(vrid: u8, v6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if v6 { 0x02 } else { 0x01 }, vrid]
}

/// Settings on the macvlan: answer ARP only for its own addresses (the
/// VIPs) and only on the interface the route points to; accept packets
/// with a local source (the lower device's own adverts may come back);
/// no reverse-path filter (the subnet's route points at the lower device).
pub const VMAC_CONF: &[(u16, u32)] = &[
    (DEVCONF_ARP_IGNORE, 1),
    (DEVCONF_ARPFILTER, 1),
    (DEVCONF_ACCEPT_LOCAL, 1),
    (DEVCONF_RP_FILTER, 0),
];

/// Settings on the lower device, so it never answers ARP for a VIP with
/// its own MAC; the previous values are restored when the last VMAC on it
/// goes.
pub const LOWER_CONF: &[(u16, u32)] = &[(DEVCONF_ARP_IGNORE, 1), (DEVCONF_ARPFILTER, 1)];

fn nested<T: neli::consts::rtnl::RtaType>(
    ty: T,
    inner: &[Rtattr<u16, Buffer>],
) -> io::Result<Rtattr<T, Buffer>> {
    let mut a = attr(ty, Vec::new())?;
    for i in inner {
        a = a.nest(i).map_err(err("nested attr"))?;
    }
    Ok(a)
}

impl Rtnl {
    /// Create the macvlan `name` on `lower` with `mac`, without IPv6
    /// addresses of its own, up. Returns its index.
    ///
    /// As keepalived: created down, its IPv6 address generation turned
    /// off (RFC 5798 §7.4: no link-local address made from the virtual
    /// MAC, which both routers share; and no DAD, MLD or router
    /// solicitations sent from it by the kernel), then brought up. The
    /// kernel ignores IFLA_AF_SPEC in the creating message, hence three.
    pub fn create_macvlan(&mut self, name: &str, lower: u32, mac: [u8; 6]) -> io::Result<u32> {
        let data = nested(
            IflaInfo::Data,
            &[attr(
                IFLA_MACVLAN_MODE,
                MACVLAN_MODE_PRIVATE.to_ne_bytes().to_vec(),
            )?],
        )?;
        self.new_link(name, Some(lower), Some(mac), b"macvlan\0", Some(data))?;
        let index = self.index_of(name)?;
        if let Err(e) = self.set_addr_gen_none(index) {
            log::warn!("Error setting ADDR_GEN_MODE to NONE on {name}: {e}");
        }
        self.set_up(index)?;
        Ok(index)
    }

    /// Create the L2 ipvlan `name` on `lower` with `flags` (bridge,
    /// private, vepa), up. As keepalived: an IPv4 instance's gets no IPv6
    /// (keepalived writes disable_ipv6; address generation off here: it
    /// would make the lower device's own link-local address again).
    pub fn create_ipvlan(
        &mut self,
        name: &str,
        lower: u32,
        flags: u16,
        v6: bool,
    ) -> io::Result<u32> {
        const IFLA_IPVLAN_MODE: u16 = 1;
        const IFLA_IPVLAN_FLAGS: u16 = 2;
        const IPVLAN_MODE_L2: u16 = 0;
        let data = nested(
            IflaInfo::Data,
            &[
                attr(IFLA_IPVLAN_MODE, IPVLAN_MODE_L2.to_ne_bytes().to_vec())?,
                attr(IFLA_IPVLAN_FLAGS, flags.to_ne_bytes().to_vec())?,
            ],
        )?;
        self.new_link(name, Some(lower), None, b"ipvlan\0", Some(data))?;
        let index = self.index_of(name)?;
        if !v6 {
            if let Err(e) = self.set_addr_gen_none(index) {
                log::warn!("Error setting ADDR_GEN_MODE to NONE on {name}: {e}");
            }
        }
        self.set_up(index)?;
        Ok(index)
    }

    pub(crate) fn index_of(&mut self, name: &str) -> io::Result<u32> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| io::Error::other("created, then not found"))
    }

    /// `IFLA_INET6_ADDR_GEN_MODE` none on one link.
    pub fn set_addr_gen_none(&mut self, index: u32) -> io::Result<()> {
        const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
        const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
        let inet6 = nested(
            libc::AF_INET6 as u16,
            &[attr(
                IFLA_INET6_ADDR_GEN_MODE,
                vec![IN6_ADDR_GEN_MODE_NONE],
            )?],
        )?;
        let af = attr(Ifla::AfSpec, Vec::new())?
            .nest(&inet6)
            .map_err(err("af_spec"))?;
        let mut attrs = RtBuffer::new();
        attrs.push(af);
        self.link_request(Rtm::Setlink, index, false, attrs)
    }

    /// A new link of `kind` (on `lower`, for a stacked one), down.
    pub(crate) fn new_link(
        &mut self,
        name: &str,
        lower: Option<u32>,
        mac: Option<[u8; 6]>,
        kind: &[u8],
        data: Option<Rtattr<IflaInfo, Buffer>>,
    ) -> io::Result<()> {
        let mut linkinfo = attr(Ifla::Linkinfo, Vec::new())?
            .nest(&attr(IflaInfo::Kind, kind.to_vec())?)
            .map_err(err("linkinfo"))?;
        if let Some(data) = data {
            linkinfo = linkinfo.nest(&data).map_err(err("linkinfo"))?;
        }
        let mut ifname = name.as_bytes().to_vec();
        ifname.push(0);
        let mut attrs = RtBuffer::new();
        attrs.push(attr(Ifla::Ifname, ifname)?);
        if let Some(lower) = lower {
            attrs.push(attr(Ifla::Link, lower.to_ne_bytes().to_vec())?);
        }
        if let Some(mac) = mac {
            attrs.push(attr(Ifla::Address, mac.to_vec())?);
        }
        attrs.push(linkinfo);
        let msg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_flags(Iff::empty())
            .ifi_change(Iff::empty())
            .rtattrs(attrs)
            .build()
            .map_err(err("ifinfomsg"))?;
        let seq = self.send(Rtm::Newlink, NlmF::ACK | NlmF::CREATE | NlmF::EXCL, msg)?;
        self.ack::<Ifinfomsg>(seq)
    }

    /// One request about an existing link: `attrs`, and `up` to set IFF_UP.
    fn link_request(
        &mut self,
        ty: Rtm,
        index: u32,
        up: bool,
        attrs: RtBuffer<Ifla, Buffer>,
    ) -> io::Result<()> {
        let flags = if up { Iff::UP } else { Iff::empty() };
        let msg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(index as libc::c_int)
            .ifi_flags(flags)
            .ifi_change(flags)
            .rtattrs(attrs)
            .build()
            .map_err(err("ifinfomsg"))?;
        let seq = self.send(ty, NlmF::ACK, msg)?;
        self.ack::<Ifinfomsg>(seq)
    }

    /// Bring a link up (a VMAC left down by someone else).
    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        self.link_request(Rtm::Newlink, index, true, RtBuffer::new())
    }

    /// Set a link's alias (where a VMAC keeps its lower device's original
    /// ARP settings, so a vrrpd restarted after a crash restores those).
    pub fn set_alias(&mut self, index: u32, alias: &str) -> io::Result<()> {
        let mut text = alias.as_bytes().to_vec();
        text.push(0);
        let mut attrs = RtBuffer::new();
        attrs.push(attr(Ifla::Ifalias, text)?);
        self.link_request(Rtm::Setlink, index, false, attrs)
    }

    /// Delete a link; one already gone is fine.
    pub fn delete_link(&mut self, index: u32) -> io::Result<()> {
        match self.link_request(Rtm::Dellink, index, false, RtBuffer::new()) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            r => r,
        }
    }

    /// Set IPv4 devconf values (the equivalent of
    /// `/proc/sys/net/ipv4/conf/IF/...`) on one link.
    pub fn set_inet_conf(&mut self, index: u32, values: &[(u16, u32)]) -> io::Result<()> {
        let conf = values
            .iter()
            .map(|&(k, v)| attr(k, v.to_ne_bytes().to_vec()))
            .collect::<io::Result<Vec<_>>>()?;
        let inet = nested(libc::AF_INET as u16, &[nested(IFLA_INET_CONF, &conf)?])?;
        let mut af = attr(Ifla::AfSpec, Vec::new())?;
        af = af.nest(&inet).map_err(err("af_spec"))?;
        let mut attrs = RtBuffer::new();
        attrs.push(af);
        self.link_request(Rtm::Setlink, index, false, attrs)
    }
}

const ALIAS_PREFIX: &str = "keepalived-rs lower";

/// The alias recording the lower device's original settings.
pub fn saved_alias(values: &[(u16, u32)]) -> String {
    let mut s = String::from(ALIAS_PREFIX);
    for (k, v) in values {
        s.push_str(&format!(" {k}={v}"));
    }
    s
}

/// The settings an alias recorded, if it is ours and well formed.
pub fn parse_saved_alias(alias: &str) -> Option<Vec<(u16, u32)>> {
    let rest = alias.strip_prefix(ALIAS_PREFIX)?;
    rest.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.parse().ok()?, v.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_settings_round_trip_through_the_alias() {
        let v = vec![(DEVCONF_ARP_IGNORE, 0), (DEVCONF_ARPFILTER, 2)];
        assert_eq!(parse_saved_alias(&saved_alias(&v)), Some(v));
        assert_eq!(parse_saved_alias("somebody's alias"), None);
        assert_eq!(parse_saved_alias("keepalived-rs lower 19=x"), None);
    }

    #[test]
    fn virtual_macs() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(7, true), [0, 0, 0x5e, 0, 2, 7]);
    }
}
