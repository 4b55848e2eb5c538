//! The C library's heap, tuned for a short process that builds a few hundred megabytes of
//! tables and exits (glibc on Linux; elsewhere these do nothing).
//!
//! A link touches tens of megabytes of fresh memory, and with the C library's defaults every
//! 4 KiB page of it costs a page fault: on debug ripgrep some 12 000 of the link's 22 000
//! faults, and a quarter of its system time. Backed by transparent huge pages, the same memory costs one fault per
//! 2 MiB. The kernel only gives huge pages to memory that asks for them (the usual
//! `transparent_hugepage=madvise` setting) and only where a whole aligned 2 MiB is mapped
//! writable, so:
//!
//! - [`tune`] (the `rlink` binary, before any thread starts) makes the heap grow in large steps
//!   and never give memory back mid-link (`M_TOP_PAD`, `M_TRIM_THRESHOLD`), and keeps large
//!   blocks in the heap rather than in maps of their own that are unmapped on free
//!   (`M_MMAP_THRESHOLD`);
//! - [`thread_started`] (each worker of the link's pool) asks for huge pages on the heap that
//!   serves the thread.
//!
//! This is what `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` does, which a program cannot set for
//! itself once running. Memory stays the process's until it exits, as it would anyway: the
//! link's tables live to the end, and the background child frees nothing that matters.

/// Whether [`tune`] ran: library callers (tests, the fuzz targets) keep the defaults, so their
/// worker threads leave the heap alone too.
static TUNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::sync::atomic::Ordering;

    /// glibc gives each thread's arena heaps of this size, aligned to it (64-bit targets: twice
    /// the largest mmap threshold of 32 MiB), so the heap a block came from starts at the block's
    /// address rounded down to it.
    const THREAD_HEAP: usize = 64 << 20;
    const HUGE_PAGE: usize = 2 << 20;

    pub fn tune() {
        // SAFETY: mallopt only changes the allocator's parameters.
        unsafe {
            libc::mallopt(libc::M_TOP_PAD, THREAD_HEAP as i32);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            libc::mallopt(libc::M_MMAP_THRESHOLD, (THREAD_HEAP / 2) as i32);
        }
        super::TUNED.store(true, Ordering::Relaxed);
        // The main thread's heap (the program break): grown now by the pad, then marked.
        // SAFETY: a block is allocated and freed; sbrk(0) only reads the break.
        unsafe {
            let p = libc::malloc(64);
            let end = libc::sbrk(0) as usize;
            let start = (p as usize).next_multiple_of(HUGE_PAGE);
            if !p.is_null() && end > start && (p as usize) < end {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
            libc::free(p);
        }
    }

    pub fn thread_started() {
        if !super::TUNED.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: a block is allocated and freed; madvise(MADV_HUGEPAGE) is a hint that
        // changes no byte, and the range is the thread heap holding the block, which glibc
        // maps whole (writable as far as it has grown, inaccessible beyond).
        unsafe {
            let brk = libc::sbrk(0) as usize;
            let p = libc::malloc(64);
            if p.is_null() {
                return;
            }
            let at = p as usize;
            // A block above the program break is from a thread arena's heap.
            if at > brk {
                let base = at & !(THREAD_HEAP - 1);
                libc::madvise(base as *mut libc::c_void, THREAD_HEAP, libc::MADV_HUGEPAGE);
            }
            libc::free(p);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn tune() {}
    pub fn thread_started() {}
}

pub use imp::{thread_started, tune};
