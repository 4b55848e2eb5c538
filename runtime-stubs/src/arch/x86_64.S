/* rlink runtime stubs, x86-64 System V.
 *
 * rlink_stub_switch_call(arg: rdi, fn: rsi, stack_top: rdx) -> rax
 *   Calls fn(arg) with %rsp moved to stack_top (rounded down to 16 bytes), and returns fn's
 *   result on the caller's stack. %rbp keeps the caller's stack pointer across the call: it is
 *   callee-saved, so fn returns it intact, and the CFI below lets debuggers and unwinders walk
 *   from the system stack back to the caller. fn sees the stack aligned as the ABI requires
 *   at a call (16-byte aligned before the call pushes the return address).
 */
    .text
    .globl rlink_stub_switch_call
    .type rlink_stub_switch_call, @function
    .p2align 4
rlink_stub_switch_call:
    .cfi_startproc
    pushq %rbp
    .cfi_def_cfa_offset 16
    .cfi_offset %rbp, -16
    movq %rsp, %rbp
    .cfi_def_cfa_register %rbp
    movq %rdx, %rsp
    andq $-16, %rsp
    callq *%rsi
    movq %rbp, %rsp
    .cfi_def_cfa_register %rsp
    popq %rbp
    .cfi_def_cfa_offset 8
    retq
    .cfi_endproc
    .size rlink_stub_switch_call, .-rlink_stub_switch_call
