//! Capability sets as the 64-bit masks the kernel shows in `/proc/<pid>/status`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapMask(pub u64);

impl CapMask {
    pub const EMPTY: CapMask = CapMask(0);

    pub const fn of(caps: &[u32]) -> CapMask {
        let mut m = 0u64;
        let mut i = 0;
        while i < caps.len() {
            m |= 1 << caps[i];
            i += 1;
        }
        CapMask(m)
    }

    pub fn contains(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    pub fn low(self) -> u32 {
        self.0 as u32
    }

    pub fn high(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The `caps` crate's view, for the parent (which may allocate).
    pub fn to_capset(self) -> caps::CapsHashSet {
        caps::all()
            .into_iter()
            .filter(|c| self.contains(c.index() as u32))
            .collect()
    }
}

impl fmt::Display for CapMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Highest capability number this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}
