/* rlink runtime stubs, AArch64 (AAPCS64).
 *
 * rlink_stub_switch_call(arg: x0, fn: x1, stack_top: x2) -> x0
 *   Calls fn(arg) with sp moved to stack_top (rounded down to 16 bytes, as AAPCS64 requires sp
 *   to be at all times), and returns fn's result on the caller's stack. The frame pointer x29
 *   keeps the caller's sp: it is callee-saved, so fn returns it intact.
 */
    .text
    .globl rlink_stub_switch_call
    .type rlink_stub_switch_call, %function
    .p2align 2
rlink_stub_switch_call:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov x29, sp
    .cfi_def_cfa_register x29
    and x2, x2, #~15
    mov sp, x2
    blr x1
    mov sp, x29
    .cfi_def_cfa sp, 16
    ldp x29, x30, [sp], #16
    .cfi_def_cfa_offset 0
    .cfi_restore x29
    .cfi_restore x30
    ret
    .cfi_endproc
    .size rlink_stub_switch_call, .-rlink_stub_switch_call
