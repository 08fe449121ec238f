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
