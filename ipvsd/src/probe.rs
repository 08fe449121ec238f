//! Is there an IPVS in this kernel? Resolves the `IPVS` generic netlink
//! family (the kernel autoloads `ip_vs` on this lookup when it can).

use neli::consts::genl::{CtrlAttr, CtrlCmd};
use neli::consts::nl::{GenlId, NlmF};
use neli::consts::socket::NlFamily;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::GenlBuffer;
use neli::utils::Groups;

/// The family id, or why it cannot be had.
pub fn resolve_ipvs_family() -> Result<u16, String> {
    let sock = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
        .map_err(|e| format!("cannot open a generic netlink socket: {e}"))?;
    let attr = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(CtrlAttr::FamilyName)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .nla_payload("IPVS")
        .build()
        .map_err(|e| e.to_string())?;
    let genl = GenlmsghdrBuilder::default()
        .cmd(CtrlCmd::Getfamily)
        .version(2)
        .attrs(std::iter::once(attr).collect::<GenlBuffer<_, _>>())
        .build()
        .map_err(|e| e.to_string())?;
    let msg = NlmsghdrBuilder::default()
        .nl_type(GenlId::Ctrl)
        .nl_flags(NlmF::REQUEST | NlmF::ACK)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|e| e.to_string())?;
    sock.send(&msg).map_err(|e| e.to_string())?;
    let (replies, _) = sock
        .recv_all::<GenlId, Genlmsghdr<CtrlCmd, CtrlAttr>>()
        .map_err(|e| e.to_string())?;
    for r in replies.iter() {
        let r: &Nlmsghdr<GenlId, Genlmsghdr<CtrlCmd, CtrlAttr>> = r;
        match r.nl_payload() {
            NlPayload::Payload(p) => {
                if let Ok(id) = p
                    .attrs()
                    .get_attr_handle()
                    .get_attr_payload_as::<u16>(CtrlAttr::FamilyId)
                {
                    return Ok(id);
                }
            }
            NlPayload::Err(e) => {
                let errno = -*e.error();
                return Err(if errno == libc::ENOENT {
                    "IPVS is not available in this kernel (generic netlink family IPVS not found; \
                     is CONFIG_IP_VS enabled and the ip_vs module loadable?)"
                        .to_string()
                } else {
                    format!(
                        "IPVS family lookup failed: {}",
                        std::io::Error::from_raw_os_error(errno)
                    )
                });
            }
            _ => {}
        }
    }
    Err("IPVS family lookup: no answer from the kernel".into())
}
