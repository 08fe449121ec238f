//! Link-layer frames for `Action::SendGarp` / `Action::SendNa`, laid out as
//! keepalived sends them, for an AF_PACKET socket. Std only.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const ND_NA_FLAG_ROUTER: u8 = 0x80;
const ND_NA_FLAG_OVERRIDE: u8 = 0x20;
const ND_OPT_TARGET_LINKADDR: u8 = 2;

/// Gratuitous ARP: a broadcast ARP *request* for `ip` from `mac` (sender
/// and target protocol address both `ip`), as keepalived's vrrp_arp.c.
pub fn garp(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    // htype Ethernet, ptype IPv4, hlen 6, plen 4, op request.
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]);
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// Unsolicited neighbour advertisement (RFC 4861 7.2.6) for `ip` to
/// ff02::1 with the Override flag (and Router if `router`), hop limit 255,
/// and a target link-layer address option, as keepalived's vrrp_ndisc.c.
pub fn unsolicited_na(mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; 86] {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut f = [0u8; 86];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    // IPv6 header: version 6, payload 32, next header ICMPv6, hop limit 255.
    f[14] = 0x60;
    f[18..20].copy_from_slice(&32u16.to_be_bytes());
    f[20] = IPPROTO_ICMPV6;
    f[21] = 255;
    f[22..38].copy_from_slice(&ip.octets());
    f[38..54].copy_from_slice(&all_nodes.octets());
    let icmp = &mut f[54..86];
    icmp[0] = ND_NEIGHBOR_ADVERT;
    icmp[4] = ND_NA_FLAG_OVERRIDE | if router { ND_NA_FLAG_ROUTER } else { 0 };
    icmp[8..24].copy_from_slice(&ip.octets());
    icmp[24] = ND_OPT_TARGET_LINKADDR;
    icmp[25] = 1;
    icmp[26..32].copy_from_slice(&mac);
    let acc = checksum::pseudo_v6_proto(ip, all_nodes, 32, IPPROTO_ICMPV6);
    let c = checksum::finish(checksum::sum(icmp, acc));
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::virtual_mac;

    #[test]
    fn garp_layout() {
        let f = garp(virtual_mac(false, 51), Ipv4Addr::new(192, 168, 1, 100));
        let expect: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x5e, 0, 1, 51, 0x08, 0x06, //
            0, 1, 0x08, 0, 6, 4, 0, 1, //
            0, 0, 0x5e, 0, 1, 51, 192, 168, 1, 100, //
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 168, 1, 100,
        ];
        assert_eq!(f, expect);
    }

    #[test]
    fn na_layout_and_checksum() {
        let ip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = unsolicited_na(virtual_mac(true, 7), ip, false);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[21], 255);
        assert_eq!(f[54], 136);
        assert_eq!(f[58], 0x20);
        assert_eq!(&f[80..86], &virtual_mac(true, 7));
        // Cross-checked with an independent RFC 1071 sum: 0x9926.
        assert_eq!(&f[56..58], &[0x99, 0x26]);
        let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
        let acc = checksum::pseudo_v6_proto(ip, all_nodes, 32, 58);
        assert_eq!(checksum::finish(checksum::sum(&f[54..], acc)), 0);
        assert_eq!(unsolicited_na(virtual_mac(true, 7), ip, true)[58], 0xa0);
    }
}
