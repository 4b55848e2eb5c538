//! The stack switch for x86-64 (System V: Linux and macOS alike).
//!
//! A naked function, so the compiler spells the symbol, its section and its type for the
//! target's object format (ELF's `.type`/`.size`, Mach-O's leading underscore) and the body
//! is written once for both.

use std::ffi::c_void;

use crate::stack::CFunction;

/// Calls `f(arg)` with `%rsp` moved to `stack_top` (rounded down to 16 bytes) and returns
/// `f`'s result on the caller's stack.
///
/// `%rbp` keeps the caller's stack pointer across the call: it is callee-saved, so `f`
/// returns it intact, and the CFI lets debuggers and unwinders walk from the system stack back
/// to the caller. `f` sees the stack aligned as the ABI requires at a call (16-byte aligned
/// before the call pushes the return address).
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
        "pushq %rbp",
        ".cfi_def_cfa_offset 16",
        ".cfi_offset %rbp, -16",
        "movq %rsp, %rbp",
        ".cfi_def_cfa_register %rbp",
        "movq %rdx, %rsp",
        "andq $-16, %rsp",
        "callq *%rsi",
        "movq %rbp, %rsp",
        ".cfi_def_cfa_register %rsp",
        "popq %rbp",
        ".cfi_def_cfa_offset 8",
        "retq",
        ".cfi_endproc",
        options(att_syntax)
    )
}
