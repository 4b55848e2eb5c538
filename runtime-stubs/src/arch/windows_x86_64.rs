//! The stack switch for x86-64 Windows (the Microsoft x64 calling convention, both the msvc
//! and gnu targets).
//!
//! Besides `rsp`, Windows keeps the running stack's bounds in the thread's TEB: `StackBase`
//! (`gs:[0x08]`) and `StackLimit` (`gs:[0x10]`). The exception dispatcher and `RtlUnwindEx`
//! refuse frames outside them, and `__chkstk` compares against the limit, so while `f` runs
//! the TEB describes the system stack, and the caller's bounds are restored when it returns.
//!
//! The TIB's `ExceptionList` (`gs:[0]`) is emptied (-1, its end marker) for the call as well:
//! x64 Windows does not use it, but wine keeps its own handler frames there and, walking an
//! exception's frames, calls every one whose address lies below the current frame's — which,
//! on a stack mapped above the thread's own, would be all of them, each taking the exception for
//! unhandled before the program's own handlers are asked.

use std::ffi::c_void;

use crate::stack::CFunction;

/// Calls `f(arg)` with `rsp` at `stack_top` (rounded down to 16 bytes, the 32-byte shadow space
/// the callee owns below it) and the TEB's stack bounds set to `stack_low`..`stack_top`;
/// returns `f`'s result on the caller's stack, the caller's bounds restored.
///
/// The caller's `rbx`, `rsi`, `rdi` (callee-saved) hold the saved TEB fields and `rbp` the
/// caller's stack pointer across the call; the SEH unwind codes describe the frame, so
/// unwinders walk from the system stack back to the caller.
///
/// # Safety
/// `stack_low`..`stack_top` must be committed, writable memory that nothing else uses while
/// `f` runs; `f` must be safe to call with `arg` and must not unwind.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rlink_stub_switch_call(
    arg: *mut c_void,
    f: CFunction,
    stack_top: *mut u8,
    stack_low: *mut u8,
) -> *mut c_void {
    std::arch::naked_asm!(
        ".seh_proc rlink_stub_switch_call",
        "push rbp",
        ".seh_pushreg rbp",
        "push rbx",
        ".seh_pushreg rbx",
        "push rsi",
        ".seh_pushreg rsi",
        "push rdi",
        ".seh_pushreg rdi",
        "mov rbp, rsp",
        ".seh_setframe rbp, 0",
        ".seh_endprologue",
        "mov rbx, qword ptr gs:[0x8]",
        "mov rsi, qword ptr gs:[0x10]",
        "mov rdi, qword ptr gs:[0x0]",
        "mov qword ptr gs:[0x8], r8",
        "mov qword ptr gs:[0x10], r9",
        "mov qword ptr gs:[0x0], -1",
        "mov rsp, r8",
        "and rsp, -16",
        "sub rsp, 32",
        "call rdx",
        "mov qword ptr gs:[0x8], rbx",
        "mov qword ptr gs:[0x10], rsi",
        "mov qword ptr gs:[0x0], rdi",
        "mov rsp, rbp",
        "pop rdi",
        "pop rsi",
        "pop rbx",
        "pop rbp",
        "ret",
        ".seh_endproc",
    )
}
