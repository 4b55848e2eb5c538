/* Compiled at test time with `clang --target=… -c` into Mach-O and COFF objects for the
 * `rlink inspect` golden tests. */
#ifdef __APPLE__
#define DIRECTIVES __attribute__((used, section("__RLINK,__directives")))
#else
#define DIRECTIVES __attribute__((used, section(".rlink.directives")))
#endif

DIRECTIVES static const char import_puts[] = "cgo_import_dynamic puts puts \"libc.so.6\"\n";

int puts(const char *);
extern int counter;
int table[4] = {1, 2, 3, 4};
static const char *greeting = "hello from C";

int c_entry(int x) {
    counter += x;
    puts(greeting);
    return table[x & 3];
}
