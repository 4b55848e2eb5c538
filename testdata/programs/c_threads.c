/* Threads C starts itself, each calling back into Rust through the runtime stubs'
 * rlink_crosscall 1,000 times. */
#include <pthread.h>
#include <stdint.h>

void rlink_crosscall(void (*callback)(void *), void *frame);
void rust_callback(void *frame);

static void *worker(void *arg) {
    for (int i = 0; i < 1000; i++)
        rlink_crosscall(rust_callback, arg);
    return 0;
}

int run_c_threads(int n, intptr_t first_id) {
    pthread_t threads[16];
    intptr_t ids[16];
    if (n > 16)
        return -1;
    for (int i = 0; i < n; i++) {
        ids[i] = first_id + i;
        if (pthread_create(&threads[i], 0, worker, &ids[i]) != 0)
            return -1;
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], 0);
    return 0;
}
