//! Gratuitous ARP and unsolicited neighbour advertisements, sent on a
//! PF_PACKET socket so the source MAC can be the virtual MAC (`use_vmac`) or
//! the interface's own, as keepalived does.

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const ETH_HLEN: usize = 14;
const ARP_LEN: usize = 28;
const IPV6_HLEN: usize = 40;
/// NA (24 bytes) + one target link-layer address option (8 bytes).
const NA_LEN: usize = 32;

/// A gratuitous ARP request for `vip` from `mac`, broadcast.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; ETH_HLEN + ARP_LEN];
    let src = MacAddr::from(mac);
    {
        let mut eth = MutableEthernetPacket::new(&mut buf).expect("buffer fits an Ethernet header");
        eth.set_destination(MacAddr::broadcast());
        eth.set_source(src);
        eth.set_ethertype(EtherTypes::Arp);
    }
    let mut arp = MutableArpPacket::new(&mut buf[ETH_HLEN..]).expect("buffer fits an ARP packet");
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherTypes::Ipv4);
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(ArpOperations::Request);
    arp.set_sender_hw_addr(src);
    arp.set_sender_proto_addr(vip);
    arp.set_target_hw_addr(MacAddr::broadcast());
    arp.set_target_proto_addr(vip);
    buf
}

/// An unsolicited neighbour advertisement for `vip` (Override and Router
/// set, Solicited clear) to all nodes, from link-local `src`.
pub fn na_frame(mac: [u8; 6], src: Ipv6Addr, vip: Ipv6Addr) -> Vec<u8> {
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut buf = vec![0u8; ETH_HLEN + IPV6_HLEN + NA_LEN];
    {
        let mut eth = MutableEthernetPacket::new(&mut buf).expect("buffer fits an Ethernet header");
        eth.set_destination(MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
        eth.set_source(MacAddr::from(mac));
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    {
        let mut ip =
            MutableIpv6Packet::new(&mut buf[ETH_HLEN..]).expect("buffer fits an IPv6 header");
        ip.set_version(6);
        ip.set_payload_length(NA_LEN as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(src);
        ip.set_destination(dst);
    }
    let icmp = &mut buf[ETH_HLEN + IPV6_HLEN..];
    {
        let mut na = MutableNeighborAdvertPacket::new(icmp).expect("buffer fits an NA");
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_flags(NeighborAdvertFlags::Override | NeighborAdvertFlags::Router);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: mac.to_vec(),
        }]);
    }
    let sum = icmpv6::checksum(&Icmpv6Packet::new(icmp).expect("ICMPv6 view"), &src, &dst);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    buf
}

/// A send-only PF_PACKET socket (protocol 0: it receives nothing).
pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    pub fn open() -> io::Result<PacketSocket> {
        // SAFETY: plain socket(2), owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor.
        Ok(PacketSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Send one Ethernet frame out of `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: frame and sll are live for the call.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_layout() {
        let f = garp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        // opcode request, sender IP = target IP = VIP
        assert_eq!(&f[20..22], &[0, 1]);
        assert_eq!(&f[28..32], &[10, 0, 0, 100]);
        assert_eq!(&f[38..42], &[10, 0, 0, 100]);
    }

    #[test]
    fn na_layout_and_checksum() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let vip: Ipv6Addr = "fd00::100".parse().unwrap();
        let f = na_frame([0, 0, 0x5e, 0, 2, 7], src, vip);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14 + 7], 255, "hop limit");
        let icmp = &f[54..];
        assert_eq!(icmp[0], 136);
        assert_eq!(icmp[4] & 0xe0, 0xa0, "Router and Override, not Solicited");
        assert_eq!(&icmp[8..24], &vip.octets());
        assert_eq!(&icmp[24..26], &[2, 1], "target link-layer address option");
        assert_eq!(&icmp[26..32], &[0, 0, 0x5e, 0, 2, 7]);
        // The checksum verifies: recomputing over the packet gives the same.
        let sum = icmpv6::checksum(
            &Icmpv6Packet::new(icmp).unwrap(),
            &src,
            &"ff02::1".parse().unwrap(),
        );
        assert_eq!(u16::from_be_bytes([icmp[2], icmp[3]]), sum);
    }
}
