//! Link-layer frames for `Action::SendGarp` / `Action::SendNa`, laid out as
//! keepalived sends them, for an AF_PACKET socket. Built with pnet_packet.

use std::net::{Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;

const ETH_HLEN: usize = 14;
const IPV6_HLEN: usize = 40;
/// NA (24 bytes) + one target link-layer address option (8 bytes).
const NA_LEN: usize = 32;

/// Gratuitous ARP: a broadcast ARP *request* for `ip` from `mac` (sender
/// and target protocol address both `ip`), as keepalived's vrrp_arp.c.
pub fn garp(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    let src = MacAddr::from(mac);
    if let Some(mut eth) = MutableEthernetPacket::new(&mut f) {
        eth.set_destination(MacAddr::broadcast());
        eth.set_source(src);
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut f[ETH_HLEN..]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(src);
        arp.set_sender_proto_addr(ip);
        arp.set_target_hw_addr(MacAddr::broadcast());
        arp.set_target_proto_addr(ip);
    }
    f
}

/// Unsolicited neighbour advertisement (RFC 4861 7.2.6) for `ip` to
/// ff02::1 with the Override flag (and Router if `router`), hop limit 255,
/// and a target link-layer address option, as keepalived's vrrp_ndisc.c.
pub fn unsolicited_na(mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; 86] {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut f = [0u8; 86];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut f) {
        eth.set_destination(MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
        eth.set_source(MacAddr::from(mac));
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    if let Some(mut v6) = MutableIpv6Packet::new(&mut f[ETH_HLEN..]) {
        v6.set_version(6);
        v6.set_payload_length(NA_LEN as u16);
        v6.set_next_header(IpNextHeaderProtocols::Icmpv6);
        v6.set_hop_limit(255);
        v6.set_source(ip);
        v6.set_destination(all_nodes);
    }
    let icmp = &mut f[ETH_HLEN + IPV6_HLEN..];
    if let Some(mut na) = MutableNeighborAdvertPacket::new(icmp) {
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        let flags = NeighborAdvertFlags::Override
            | if router {
                NeighborAdvertFlags::Router
            } else {
                0
            };
        na.set_flags(flags);
        na.set_target_addr(ip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: mac.to_vec(),
        }]);
    }
    let sum = Icmpv6Packet::new(icmp)
        .map(|p| icmpv6::checksum(&p, &ip, &all_nodes))
        .unwrap_or(0);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;
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
