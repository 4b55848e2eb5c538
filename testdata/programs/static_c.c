/* For static links: IFUNCs (string functions), thread-locals, threads, libm. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
static __thread int t = 5;
static void *run(void *a) { t += (int)(long)a; return (void *)(long)t; }
int main(void) {
    char b[32];
    strcpy(b, "static hello");
    pthread_t th;
    void *r;
    pthread_create(&th, 0, run, (void *)2L);
    pthread_join(th, &r);
    printf("%s %zu %d %ld %.3f\n", b, strlen(b), t, (long)r, sqrt(2.0));
    return 0;
}
