/* A C shared library: thread-locals (kept dynamic: TLS descriptors), exported data the
 * program reads directly (a copy relocation in a position-dependent program), a constructor. */
#include <stdio.h>
static __thread int calls;
__thread int exported_tls = 40;
int shared_counter = 7;
__attribute__((constructor)) static void init(void) { shared_counter += 1; }
int lib_add(int a, int b) { calls += 1; exported_tls += 1; return a + b + shared_counter; }
int lib_tls(void) { return calls * 100 + exported_tls; }
int lib_counter(void) { return shared_counter; }
