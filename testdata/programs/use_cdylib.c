#include <stdio.h>
#include <stdint.h>
int64_t rl_sum(int64_t, int64_t); size_t rl_greet(const char *); uint32_t rl_count(void);
int rl_caught_panic(void);
int main(void) {
    size_t n = rl_greet("C");
    rl_count(); rl_count();
    printf("sum %lld len %zu count %u caught %d\n", (long long)rl_sum(40, 2), n, rl_count(), rl_caught_panic());
    fflush(stdout);
    return 0;
}
