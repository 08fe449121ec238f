//! What the reader learns from the machine it runs on, as keepalived's
//! `-t` does: which network interfaces exist (in the caller's network
//! namespace).
//!
//! keepalived 2.2.7 reports an interface named in the configuration that
//! does not exist ("Non-existent interface specified in configuration")
//! and then runs anyway; so do we (a warning), unless `dynamic_interfaces`
//! is set. Tools that read a configuration meant for another machine
//! (conversion, tests) can turn the check off with [`set_interface_check`].

use std::sync::atomic::{AtomicBool, Ordering};

static INTERFACE_CHECK: AtomicBool = AtomicBool::new(true);

/// Turn the check that named interfaces exist on or off (on by default),
/// for the whole process.
pub fn set_interface_check(enabled: bool) {
    INTERFACE_CHECK.store(enabled, Ordering::Relaxed);
}

/// The interfaces of the calling thread's network namespace, or `None`
/// when the check is off or cannot be made.
pub(crate) fn interfaces() -> Option<Vec<String>> {
    if !INTERFACE_CHECK.load(Ordering::Relaxed) {
        return None;
    }
    // thread-self: a thread that entered another namespace sees its own.
    let text = std::fs::read_to_string("/proc/thread-self/net/dev")
        .or_else(|_| std::fs::read_to_string("/proc/self/net/dev"))
        .ok()?;
    Some(
        text.lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
    )
}
