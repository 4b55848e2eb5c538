/* The C half of c_calls.rs: calls back into Rust and counts in thread-local storage. */
static __thread int counter;

int c_accumulate(int (*callback)(int), int rounds) {
    for (int i = 1; i <= rounds; i++) {
        counter += callback(i);
    }
    return counter;
}

int c_thread_counter(void) {
    return counter;
}
