#include <stdio.h>
#include <stdlib.h>
/* An indirect call to an imported function: in a position-dependent program the pointer is
 * its PLT entry, which must start with a landing pad when BTI is on. */
typedef int (*putser)(const char *);
static int local_helper(int x) { return x * 2; }
int (*volatile indirect)(int) = local_helper;
int main(void) {
    volatile putser p = puts;
    p("indirect call through the PLT");
    printf("local indirect %d\n", indirect(21));
    return 0;
}
