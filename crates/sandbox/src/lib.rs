//! Who each keepalived-rs process runs as, and what it may do.
//!
//! The parent computes a [`ChildPrivileges`] before forking and applies it
//! in the forked child with [`apply_before_exec`] (raw syscalls only: no
//! allocation between fork and exec). Each child installs its own seccomp
//! allowlist with [`seccomp::install`] once it is initialised.

pub mod caps_mask;
pub mod privileges;
pub mod seccomp;

pub use caps_mask::CapMask;
pub use privileges::{
    apply_before_exec, drop_parent_privileges, privileges_for, ChildPrivileges, PARENT_CAPS,
    TUNING_CAPS,
};
pub use privileges::{missing_tuning_caps, with_memory_lock};
pub use seccomp::SeccompMode;

/// Give the heap's free pages back to the kernel. glibc keeps what a
/// configuration's parse and compilation freed, up to their peak, for
/// reuse; called once a configuration is loaded and applied, so the
/// resident size is what the process holds, not the load's peak (the
/// parent of 10,000 virtual services would keep megabytes for nothing
/// between reloads).
pub fn release_free_heap() {
    // SAFETY: malloc_trim only hands free memory back; no pointer of ours
    // is involved.
    unsafe {
        libc::malloc_trim(0);
    }
}
