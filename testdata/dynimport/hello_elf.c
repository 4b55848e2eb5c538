/* Imports puts (libc, versioned), cbrt (libm, versioned) and the weak, unversioned
   __gmon_start__ that gcc's startup files reference. */
#include <math.h>
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argv;
    printf("%g\n", cbrt((double)argc));
    puts("hello");
    return 0;
}
