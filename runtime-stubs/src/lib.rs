//! rlink's bundled runtime stubs.
//!
//! - [`call_c`]: run a C-ABI function on this thread's **system stack** — a large stack with a
//!   guard page, allocated on first use — wherever the caller is running. Rust code on small
//!   stacks (coroutines, green threads) calls C through it the way Go's `cgocall` moves to the
//!   thread's `g0` stack, because C code assumes megabytes of stack.
//! - [`rlink_crosscall`]: the C-callable entry (Go's `crosscall2`) through which C calls back
//!   into Rust. A panic in the callback never unwinds through C frames: it is caught at the
//!   boundary, the C function returns normally (its cleanup runs), and the panic resumes in the
//!   Rust caller when [`call_c`] returns.
//! - Faults in a system stack's guard page (C code that overflowed it) end the process with one
//!   line naming the thread and the stack's size, and the usual SIGSEGV status (Linux, macOS);
//!   every other fault goes to the handler installed before (`src/guard.rs`).
//! - [`entry_object`] (feature `entry`, default): the `_start` object rlink links into programs
//!   when no crt file provides one.
//!
//! # Go's runtime/cgo, part by part
//!
//! | runtime/cgo | what it does for Go | here |
//! |---|---|---|
//! | context (`cgocall`, `asmcgocall`) | moves a goroutine's C call to the thread's `g0` stack | [`call_c`] and the per-thread system stack; on Windows the TEB's stack bounds move too |
//! | `crosscall2`, `cgocallback` | C calling Go, on a Go stack | [`rlink_crosscall`]: Rust runs on whatever stack C is on, so no switch back is needed; a panic is caught there and resumed after [`call_c`] |
//! | signal handling | Go owns every signal and forwards the ones C wants | Rust has no signal runtime (std only handles stack overflow), so signals reach the program's handlers on any stack; the stubs add only the guard-page report, chained to the handler before |
//! | traceback (`SetCgoTraceback`) | Go cannot read C frames without help | Rust unwinds through C with the DWARF CFI C compilers emit; the switch carries CFI (`src/arch`), so backtraces and panics cross it |
//! | thread start (`x_cgo_thread_start`, `needm`) | a C thread calling Go needs an `m` and a `g` made for it | Rust needs no per-thread set-up: `thread_local!` values are made on first use and destroyed at thread exit; a panic on such a thread has no Rust frame to resume in and aborts with a message |
//! | system calls | Go reaches libc through cgo | Rust calls libc directly: nothing to do |
//!
//! The stack switch is one small naked function per CPU (`src/arch/x86_64.rs`,
//! `src/arch/aarch64.rs`), the same for ELF and Mach-O targets (Linux and macOS), and one for
//! x86-64 Windows (`src/arch/windows_x86_64.rs`), which also moves the thread's stack bounds in
//! its TEB; everything else is portable Rust.
//!
//! ```
//! use std::ffi::c_void;
//!
//! // A C-ABI function (in real use, one from a C library).
//! extern "C" fn add_one(arg: *mut c_void) -> *mut c_void {
//!     (arg as usize + 1) as *mut c_void
//! }
//!
//! let r = unsafe { rlink_runtime_stubs::call_c(add_one, 41 as *mut c_void) };
//! assert_eq!(r as usize, 42);
//! ```

mod arch {
    #[cfg(target_arch = "aarch64")]
    pub mod aarch64;
    #[cfg(all(target_arch = "x86_64", windows))]
    pub mod windows_x86_64;
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    pub mod x86_64;
}
#[cfg(feature = "entry")]
mod entry;
#[cfg(not(windows))]
mod guard;
mod stack;

#[cfg(feature = "entry")]
pub use entry::{
    aarch64_entry_object, entry_object, glibc_compat_object, windows_entry_object,
    windows_gnu_runtime_object, ENTRY_OBJECT_NAME, GLIBC_COMPAT_OBJECT_NAME,
    WINDOWS_ENTRY_OBJECT_NAME, WINDOWS_GNU_RUNTIME_OBJECT_NAME,
};
pub use stack::{
    call_c, call_on_stack, rlink_crosscall, rlink_panic_pending, set_system_stack_size,
    system_stack_range, CFunction, DEFAULT_SYSTEM_STACK_SIZE,
};
