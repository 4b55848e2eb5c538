/* Uses c_lib.c's library: its functions, its data and its thread-local, directly. */
#include <stdio.h>
int lib_add(int, int);
int lib_tls(void);
int lib_counter(void);
extern int shared_counter;
extern __thread int exported_tls;
int main(void) {
    int s = lib_add(1, 2);
    shared_counter += 100;
    printf("%d %d %d %d %d\n", s, lib_tls(), exported_tls, shared_counter, lib_counter());
    return 0;
}
