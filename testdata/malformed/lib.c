/* Seed library for the malformed-input test: an archive member and a shared library. */
int lib_data = 5;
static __thread int lib_tls;
int lib_add(int a, int b) {
    lib_tls += a;
    return a + b + lib_data + lib_tls;
}
