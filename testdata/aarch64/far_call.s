// More than 128 MiB of code between a caller and its callee: a BL reaches ±128 MiB, so the
// linker must route both calls (there and back) through range-extension thunks.
        .section .text.caller,"ax",@progbits
        .globl  far_caller, near_helper
        .type   far_caller, %function
far_caller:
        stp     x29, x30, [sp, #-16]!
        bl      far_callee
        ldp     x29, x30, [sp], #16
        ret
        .type   near_helper, %function
near_helper:
        add     w0, w0, #1
        ret

        // "R" (SHF_GNU_RETAIN) keeps the filler through --gc-sections.
        .section .text.gap,"axR",@progbits
        .space  136*1024*1024

        .section .text.callee,"ax",@progbits
        .globl  far_callee
        .type   far_callee, %function
far_callee:
        stp     x29, x30, [sp, #-16]!
        mov     w0, #41
        bl      near_helper
        ldp     x29, x30, [sp], #16
        ret
