//! Virtual router MAC addresses (RFC 5798 7.3).

/// 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
pub fn virtual_mac(ipv6: bool, vrid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_values() {
        assert_eq!(super::virtual_mac(false, 51), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(super::virtual_mac(true, 0xff), [0, 0, 0x5e, 0, 2, 0xff]);
    }
}
