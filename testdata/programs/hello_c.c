/* A C program with a thread-local and a constructor. */
#include <stdio.h>
static __thread int t = 5;
__attribute__((constructor)) static void init(void) { t += 1; }
int main(void) { printf("hello from C, t=%d\n", t); return 3; }
