/* C side of the runtime-stubs tests, built into a shared library at test time. */
#include <stddef.h>
#include <string.h>

/* Needs about 1 MiB of stack: far more than a coroutine's 16 KiB. */
void *deep_stack(void *arg) {
    volatile char buf[1 << 20];
    memset((char *)buf, 1, sizeof buf);
    return (void *)(size_t)(buf[12345] + (size_t)arg);
}

/* Where this call's frame is. */
void *stack_address(void *arg) {
    (void)arg;
    return __builtin_frame_address(0);
}

struct callback_args {
    void (*crosscall)(void (*)(void *), void *);
    int (*panic_pending)(void);
    void (*callback)(void *);
    void *frame;
    int rounds;
    int cleanup_done;
};

/* Calls back into Rust `rounds` times, stopping early once a callback panicked; the cleanup
 * at the end always runs, because rlink_crosscall returns normally. */
void *call_back(void *p) {
    struct callback_args *a = p;
    for (int i = 0; i < a->rounds; i++) {
        a->crosscall(a->callback, a->frame);
        if (a->panic_pending()) {
            break;
        }
    }
    a->cleanup_done += 1;
    return NULL;
}
