/* Seed for the malformed-input test: a small C program with what a linker must read —
 * strings to merge, thread-locals (.tdata and .tbss), a constructor, a COMDAT group, weak and
 * common symbols, calls into a library and unwind tables. Its imports come from directives. */
#include <stdio.h>

static __thread int tls_counter = 3;
static __thread char tls_zeroed[64];
int common_value;
__attribute__((weak)) int weak_hook(void) { return 1; }
extern int lib_add(int, int);

__asm__(".section .text.grouped,\"axG\",@progbits,grouped_fn,comdat\n"
        ".globl grouped_fn\n"
        "grouped_fn:\n"
        "  mov $7, %eax\n"
        "  ret\n"
        ".text\n");
extern int grouped_fn(void);

__attribute__((constructor)) static void start_up(void) { tls_counter += 1; }

int main(void) {
    tls_zeroed[3] = (char)tls_counter;
    common_value = lib_add(grouped_fn(), weak_hook());
    printf("malformed-input seed: %d %d\n", common_value, tls_zeroed[3]);
    puts("a second string for the merged section");
    return 0;
}
