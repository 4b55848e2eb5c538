/* Calls each function of relocs.s and compares its result with C's view of the same thing;
 * prints one line per family and exits with the number of mismatches. */
#include <stdint.h>
#include <stdio.h>

extern long data_word, near_data;
extern unsigned char d8;
extern __thread long tls_first, tls_second;
extern struct { uint64_t a64; uint32_t a32; uint16_t a16, pad; } abs_table;
extern struct { int64_t p64; int32_t p32; int16_t p16, pad; } prel_table;

long *adrp_add(void), *adr_lo21(void), *movw_uabs(void), *movw_prel_forward(void);
void *movw_prel_backward(void);
long ldst_widths(void), branches(long), movw_uabs_checked(void), movw_sabs_small(void);
long movw_sabs_mid(void), movw_sabs_big(void), literal_prel19(void);
long *got_page(void), *got_page_lo15(void), *got_prel19(void);
void *got_of_import(void);
long tlsle_add(void), tlsle_ldst(void), tlsle_movw(void), tlsie_page(void), tlsie_prel19(void);

static int failures;
static void check(const char *what, int ok) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

int main(void) {
    check("ADR_PREL_PG_HI21 + ADD_ABS_LO12_NC", adrp_add() == &data_word);
    check("ADR_PREL_LO21", adr_lo21() == &near_data);
    check("LDST8/16/32/64/128_ABS_LO12_NC",
          ldst_widths() == 0x1 + 0x200 + 0x30000 + 0x400000000 + 0x5000000000 + 0x600000000000);
    check("CONDBR19 + TSTBR14", branches(0) == 100 && branches(4) == 200 && branches(1) == 7);
    check("MOVW_UABS_G3/G2_NC/G1_NC/G0_NC", movw_uabs() == &data_word);
    check("MOVW_UABS_G2/G1/G0", movw_uabs_checked() == (long)&data_word + 0x1234);
    check("MOVW_SABS_G0", movw_sabs_small() == -5);
    check("MOVW_SABS_G1", movw_sabs_mid() == -0x12345);
    check("MOVW_SABS_G2", movw_sabs_big() == -0x123456789);
    check("MOVW_PREL_G1/G0_NC forward", movw_prel_forward() == &data_word);
    check("MOVW_PREL_G1/G0_NC backward", movw_prel_backward() == (void *)adrp_add);
    check("ADR_GOT_PAGE + LD64_GOT_LO12_NC", got_page() == &data_word);
    check("LD64_GOTPAGE_LO15", got_page_lo15() == &data_word);
    check("GOT_LD_PREL19", got_prel19() == &data_word);
    check("GOT entry of an imported function", got_of_import() == (void *)puts);
    check("LD_PREL_LO19", literal_prel19() == 0x0123456789abcdef);
    tls_second += 1;
    check("TLSLE_ADD_TPREL_HI12/LO12_NC", tlsle_add() == 0x2223);
    check("TLSLE_LDST64_TPREL_LO12_NC", tlsle_ldst() == 0x2223);
    check("TLSLE_MOVW_TPREL_G1/G0_NC", tlsle_movw() == 0x2223);
    check("TLSIE_ADR_GOTTPREL_PAGE21 + LD64_GOTTPREL_LO12_NC", tlsie_page() == 0x2223);
    check("TLSIE_LD_GOTTPREL_PREL19", tlsie_prel19() == 0x2223 && tls_first == 0x1111);
    check("ABS64 + ABS32 + ABS16", abs_table.a64 == (uint64_t)&data_word &&
          abs_table.a32 == (uint32_t)(uintptr_t)&data_word && abs_table.a16 == 0x1234);
    check("PREL64 + PREL32 + PREL16",
          (char *)&prel_table.p64 + prel_table.p64 == (char *)&data_word &&
          (char *)&prel_table.p32 + prel_table.p32 == (char *)&data_word &&
          (char *)&prel_table.p16 + prel_table.p16 == (char *)&near_data);
    return failures;
}
