//! One setting of glibc's allocator, made before any thread starts.
//!
//! glibc gives allocations over its mmap threshold (128 KiB at first) their own mappings, which
//! go back to the OS when freed; but each such free raises the threshold to that size (up to
//! 32 MiB). The password-hashing workers release argon2's 7 MiB scratch when idle (see
//! `portcullis_web`'s hashing pool); after the first release, the next scratch would come from
//! a thread arena, whose freed memory glibc keeps, and the release would save nothing. A fixed
//! threshold turns that adjustment off: every allocation of 1 MiB or more is its own mapping.

/// Allocations from this size up get their own mapping. Below it, glibc's arenas as usual (the
/// adjustment would have moved them there anyway after the first large free).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Pins glibc's mmap threshold. Call first thing in `main`, while the process has one thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn pin_mmap_threshold() -> bool {
    // SAFETY: mallopt only changes an allocator parameter; no pointer is passed, and no other
    // thread is allocating yet.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 }
}

/// Other C libraries: nothing to pin.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn pin_mmap_threshold() -> bool {
    false
}
