//! The C library's heap, tuned for a short process that builds and drops large tables (glibc
//! on Linux; elsewhere this does nothing).
//!
//! With glibc's defaults each worker thread's heap grows 128 KiB at a time (a system call
//! each), is trimmed back whenever its top is freed, and blocks of 128 KiB or more get maps of
//! their own, unmapped on free and faulted in afresh when allocated again. A link allocates
//! and frees such blocks throughout, so on cargo-nextest `mprotect` alone was some 10 ms of CPU
//! per link. Growing in 64 MiB steps (untouched memory costs nothing), never trimming, and
//! keeping blocks up to 32 MiB in the heap, where freed memory is reused, trims 2 to 4% from
//! each benchmark link for about 1 MB more peak memory.

/// Sets the heap's parameters; the `rlink` binary calls it before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's parameters.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        // The largest glibc accepts (half its 64 MiB per-thread heap).
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}
