//! The stack switch for AArch64 (AAPCS64, and Apple's arm64 variant of it: the same
//! registers for this routine).
//!
//! A naked function, so the compiler spells the symbol, its section and its type for the
//! target's object format (ELF's `.type`/`.size`, Mach-O's leading underscore) and the body
//! is written once for both.

use std::ffi::c_void;

use crate::stack::CFunction;

/// Calls `f(arg)` with `sp` moved to `stack_top` (rounded down to 16 bytes, as AAPCS64 requires
/// of `sp` at all times) and returns `f`'s result on the caller's stack.
///
/// The frame pointer `x29` keeps the caller's `sp`: it is callee-saved, so `f` returns it
/// intact, and the frame record it points at (saved `x29`, `x30`) chains the system stack's
/// frames to the caller's for unwinders and frame-pointer walkers.
///
/// # Safety
/// `stack_top` must be the top of mapped, writable memory that nothing else uses while `f`
/// runs; `f` must be safe to call with `arg` and must not unwind.
#[unsafe(naked)]
pub unsafe extern "C" fn rlink_stub_switch_call(
    arg: *mut c_void,
    f: CFunction,
    stack_top: *mut u8,
) -> *mut c_void {
    std::arch::naked_asm!(
        ".cfi_startproc",
        "stp x29, x30, [sp, #-16]!",
        ".cfi_def_cfa_offset 16",
        ".cfi_offset x29, -16",
        ".cfi_offset x30, -8",
        "mov x29, sp",
        ".cfi_def_cfa_register x29",
        "and x2, x2, #~15",
        "mov sp, x2",
        "blr x1",
        "mov sp, x29",
        ".cfi_def_cfa sp, 16",
        "ldp x29, x30, [sp], #16",
        ".cfi_def_cfa_offset 0",
        ".cfi_restore x29",
        ".cfi_restore x30",
        "ret",
        ".cfi_endproc",
    )
}
