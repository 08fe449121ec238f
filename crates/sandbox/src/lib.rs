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

/// Give back what loading a configuration left behind; called once a
/// configuration is loaded and applied (start-up, each reload), so the
/// resident size is what the process uses, not the load's peak:
/// - the heap's free pages (glibc keeps what the parse and compilation
///   freed, up to their peak, for reuse: the parent of 10,000 virtual
///   services would keep megabytes for nothing between reloads);
/// - the mappings of this program's own code and read-only data (see
///   [`unmap_own_code`]).
pub fn release_unused_memory() {
    // SAFETY: malloc_trim only hands free memory back; no pointer of ours
    // is involved.
    unsafe {
        libc::malloc_trim(0);
    }
    unmap_own_code();
}

/// Drop this program's read-only segments (its code, its constants) from
/// the process's page tables. Start-up maps most of a binary: the parse,
/// the compilation and the configuration code run once, and the kernel
/// maps 64 KiB around every page it faults in (fault-around), so after
/// start-up several megabytes of text are mapped that the running process
/// never touches again. The pages stay in the page cache; whatever runs
/// next faults its page back in from there (a minor fault: no I/O), so
/// what stays mapped is the code in use. Only whole pages inside a
/// segment that is not writable are dropped (a page shared with relocated
/// data would lose its relocations). Under `*_no_swap` (mlockall) the
/// kernel refuses: the pages stay, as the option asks.
pub fn unmap_own_code() {
    unsafe extern "C" fn program(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        _data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the loader hands a valid entry and its program headers.
        let info = unsafe { &*info };
        let page = 4096usize;
        for i in 0..usize::from(info.dlpi_phnum) {
            // SAFETY: `dlpi_phnum` headers follow `dlpi_phdr`.
            let ph = unsafe { &*info.dlpi_phdr.add(i) };
            if ph.p_type != libc::PT_LOAD || ph.p_flags & libc::PF_W != 0 {
                continue;
            }
            let start = (info.dlpi_addr as usize).wrapping_add(ph.p_vaddr as usize);
            let end = start.saturating_add(ph.p_memsz as usize);
            let (from, to) = (start.next_multiple_of(page), end / page * page);
            if to > from {
                // SAFETY: clean pages of a read-only file mapping of our
                // own program: dropping them loses nothing, they are read
                // again from the page cache on their next use.
                unsafe {
                    libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED);
                }
            }
        }
        // The first object is the program itself: stop there (shared
        // libraries are shared with other processes anyway).
        1
    }
    // SAFETY: dl_iterate_phdr calls `program` with valid entries only.
    unsafe {
        libc::dl_iterate_phdr(Some(program), std::ptr::null_mut());
    }
}
