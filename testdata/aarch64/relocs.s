// One function per relocation family; relocs_main.c calls each and compares what it returns
// with what C computes for the same symbol. Targets live in other sections (or are global),
// so the assembler leaves every reference to the linker.

        .text
        .balign 4
        .globl  adrp_add, adr_lo21, ldst_widths, branches, movw_uabs, movw_uabs_checked
        .globl  movw_sabs_small, movw_sabs_mid, movw_sabs_big, movw_prel_forward, movw_prel_backward
        .globl  got_page, got_page_lo15, got_prel19, got_of_import
        .globl  tlsle_add, tlsle_ldst, tlsle_movw, tlsie_page, tlsie_prel19, literal_prel19

// ADR_PREL_PG_HI21 + ADD_ABS_LO12_NC
adrp_add:
        adrp    x0, data_word
        add     x0, x0, :lo12:data_word
        ret

// ADR_PREL_LO21
adr_lo21:
        adr     x0, near_data
        ret

// LDST8/16/32/64/128_ABS_LO12_NC: each load's offset is scaled by its access size.
ldst_widths:
        adrp    x1, d8
        ldrb    w2, [x1, :lo12:d8]
        adrp    x1, d16
        ldrh    w3, [x1, :lo12:d16]
        adrp    x1, d32
        ldr     w4, [x1, :lo12:d32]
        adrp    x1, d64
        ldr     x5, [x1, :lo12:d64]
        adrp    x1, d128
        ldr     q0, [x1, :lo12:d128]
        fmov    x6, d0
        mov     x7, v0.d[1]
        add     x0, x2, x3
        add     x0, x0, x4
        add     x0, x0, x5
        add     x0, x0, x6
        add     x0, x0, x7
        ret

// CONDBR19 and TSTBR14 into another section.
branches:
        cbz     x0, cond_target
        tbnz    w0, #2, test_target
        mov     x0, #7
        ret

// MOVW_UABS_G3, G2_NC, G1_NC, G0_NC: the full 64-bit address.
movw_uabs:
        movz    x0, #:abs_g3:data_word
        movk    x0, #:abs_g2_nc:data_word
        movk    x0, #:abs_g1_nc:data_word
        movk    x0, #:abs_g0_nc:data_word
        ret

// The checked forms G2, G1, G0 (a non-PIE address below 2^48; G0 of a 16-bit absolute).
movw_uabs_checked:
        movz    x0, #:abs_g2:data_word
        movk    x0, #:abs_g1_nc:data_word
        movk    x0, #:abs_g0_nc:data_word
        movz    x1, #:abs_g1:data_word
        movk    x1, #:abs_g0_nc:data_word
        cmp     x0, x1
        b.ne    1f
        movz    x1, #:abs_g0:small_abs
        add     x0, x0, x1
1:      ret

// MOVW_SABS_G0 of a negative absolute: MOVZ becomes MOVN.
movw_sabs_small:
        movz    x0, #:abs_g0_s:negative_small
        ret

// MOVW_SABS_G1 of a negative 33-bit value, G0_NC below it.
movw_sabs_mid:
        movz    x0, #:abs_g1_s:negative_mid
        movk    x0, #:abs_g0_nc:negative_mid
        ret

// MOVW_SABS_G2 with a negative value, G1_NC and G0_NC below it.
movw_sabs_big:
        movz    x0, #:abs_g2_s:negative_big
        movk    x0, #:abs_g1_nc:negative_big
        movk    x0, #:abs_g0_nc:negative_big
        ret

// MOVW_PREL_G1 + G0_NC, forward (positive) and backward (negative, MOVN): each instruction's
// own address is P, so the second carries +4 to mean the same base.
movw_prel_forward:
1:      movz    x0, #:prel_g1:data_word
        movk    x0, #:prel_g0_nc:data_word+4
        adr     x1, 1b
        add     x0, x0, x1
        ret

movw_prel_backward:
1:      movz    x0, #:prel_g1:adrp_add
        movk    x0, #:prel_g0_nc:adrp_add+4
        adr     x1, 1b
        add     x0, x0, x1
        ret

// ADR_GOT_PAGE + LD64_GOT_LO12_NC
got_page:
        adrp    x0, :got:data_word
        ldr     x0, [x0, :got_lo12:data_word]
        ret

// LD64_GOTPAGE_LO15: the GOT entry's offset from the GOT's page.
got_page_lo15:
        adrp    x1, _GLOBAL_OFFSET_TABLE_
        ldr     x0, [x1, #:gotpage_lo15:data_word]
        ret

// GOT_LD_PREL19
got_prel19:
        ldr     x0, :got:data_word
        ret

// A GOT entry for a function of a shared library (the canonical PLT address in a non-PIE).
got_of_import:
        adrp    x0, :got:puts
        ldr     x0, [x0, :got_lo12:puts]
        ret

// LD_PREL_LO19: a literal in another section.
literal_prel19:
        ldr     x0, literal
        ret

// TLSLE_ADD_TPREL_HI12 + ADD_TPREL_LO12_NC
tlsle_add:
        mrs     x1, tpidr_el0
        add     x1, x1, #:tprel_hi12:tls_second, lsl #12
        add     x1, x1, #:tprel_lo12_nc:tls_second
        ldr     x0, [x1]
        ret

// TLSLE_LDST64_TPREL_LO12_NC
tlsle_ldst:
        mrs     x1, tpidr_el0
        add     x1, x1, #:tprel_hi12:tls_second, lsl #12
        ldr     x0, [x1, #:tprel_lo12_nc:tls_second]
        ret

// TLSLE_MOVW_TPREL_G1 + G0_NC
tlsle_movw:
        mrs     x1, tpidr_el0
        movz    x2, #:tprel_g1:tls_second
        movk    x2, #:tprel_g0_nc:tls_second
        ldr     x0, [x1, x2]
        ret

// TLSIE_ADR_GOTTPREL_PAGE21 + LD64_GOTTPREL_LO12_NC
tlsie_page:
        mrs     x1, tpidr_el0
        adrp    x0, :gottprel:tls_second
        ldr     x0, [x0, #:gottprel_lo12:tls_second]
        ldr     x0, [x1, x0]
        ret

// TLSIE_LD_GOTTPREL_PREL19
tlsie_prel19:
        mrs     x1, tpidr_el0
        ldr     x0, :gottprel:tls_second
        ldr     x0, [x1, x0]
        ret

        .section .text.targets,"ax",@progbits
        .globl  cond_target, test_target
cond_target:
        mov     x0, #100
        ret
test_target:
        mov     x0, #200
        ret

        .section .rodata.literal,"a",@progbits
        .balign 8
literal:
        .quad   0x0123456789abcdef

        .data
        .globl  data_word, near_data, d8, d16, d32, d64, d128, abs_table, prel_table
        .balign 16
        .space  40
data_word:
        .quad   0x1122334455667788
near_data:
        .quad   0x99
        .space  3
d8:     .byte   0x01
        .balign 2
        .space  6
d16:    .hword  0x200
        .balign 4
        .space  12
d32:    .word   0x30000
        .balign 8
        .space  24
d64:    .quad   0x400000000
        .balign 16
        .space  48
d128:   .quad   0x5000000000, 0x600000000000

// ABS64, ABS32 (a non-PIE address), ABS16 (a 16-bit absolute)
abs_table:
        .quad   data_word
        .word   data_word
        .hword  small_abs
        .hword  0
// PREL64, PREL32, PREL16: each relative to its own place (in a section of its own, so the
// assembler cannot fold the differences).
        .section .data.prel,"aw",@progbits
        .balign 8
prel_table:
        .quad   data_word - .
        .word   data_word - .
        .hword  near_data - .
        .hword  0

        .section .tdata,"awT",@progbits
        .globl  tls_first, tls_second
        .balign 8
tls_first:
        .quad   0x1111
tls_second:
        .quad   0x2222
