/* A C helper with thread-local state, linked from an archive the cc crate builds. */
static __thread int calls;

int helper_scale(int x) {
    calls += 1;
    return x * 3 + calls;
}
