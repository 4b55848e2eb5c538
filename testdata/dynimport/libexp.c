/* A library exporting two functions and a variable; `hidden_fn` and `static_fn` must not
   be listed. Built as a Mach-O dylib and as a PE DLL. */
#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif
EXPORT int exp_counter = 1;
EXPORT int exp_add(int a, int b) { return a + b + exp_counter; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 2; }
static int static_fn(void) { return 3; }
EXPORT int exp_twice(int a) { return 2 * a + static_fn() + hidden_fn(); }
#ifdef _WIN32
int _DllMainCRTStartup(void *h, unsigned r, void *p) { (void)h; (void)r; (void)p; return 1; }
#endif
