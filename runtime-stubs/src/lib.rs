//! rlink's bundled runtime stubs.
//!
//! This crate will hold the code rlink links into programs when no C toolchain provides it:
//! the process entry (`_start` calling `__libc_start_main` on glibc, with the stack aligned as
//! the x86-64 System V ABI requires) used by internal linking when no startup object defines
//! an entry, and the transition stubs for calling C on a per-thread system stack and for
//! callbacks from C (the analogs of Go's `cgocall` and `crosscall2`).
//!
//! Nothing is provided yet: the entry stub lands with the internal ELF link, the transition
//! stubs after it. The crate exists now so the workspace has its final shape.
#![no_std]
