/* Linked with the system C compiler at test time: the ELF executable of the golden tests. */
#include <stdio.h>

int main(void) {
    puts("hello");
    return 0;
}
