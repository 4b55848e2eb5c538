// Absolute symbols in their own object, so the assembler of relocs.s cannot fold them.
        .globl  small_abs, negative_small, negative_mid, negative_big
        .set    small_abs, 0x1234
        .set    negative_small, -5
        .set    negative_mid, -0x12345
        .set    negative_big, -0x123456789
