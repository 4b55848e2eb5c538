/* A C function between Rust frames: called on the system stack by call_c, it calls back into
 * Rust through rlink_crosscall. Built with unwind tables, as C compilers build by default. */
void rlink_crosscall(void (*callback)(void *), void *frame);
void trace_callback(void *frame);

__attribute__((noinline)) void *c_trampoline(void *arg) {
    rlink_crosscall(trace_callback, arg);
    __asm__ volatile("" ::: "memory"); /* not a tail call: the frame stays */
    return arg;
}
