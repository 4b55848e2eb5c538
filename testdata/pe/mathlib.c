/* A DLL for the export tests: `add` is dllexport (a .drectve /EXPORT), `mul` is exported by
 * a /EXPORT option, `scaled` under another name by the .def file, `by_ordinal` at ordinal 5
 * and `hidden` by ordinal only; `counter` is exported data. The C initializer (in
 * .CRT$XCU, which the runtime stubs' _DllMainCRTStartup runs on load) sets `counter` to 40,
 * then the DLL's own DllMain adds 2. */
__declspec(dllexport) int add(int a, int b) { return a + b; }
int mul(int a, int b) { return a * b; }
int scale_impl(int a) { return a * 100; }
int by_ordinal(void) { return 5; }
int hidden(void) { return 9; }
int counter;
static void init(void) { counter = 40; }
__attribute__((used, section(".CRT$XCU"))) static void (*const init_entry)(void) = init;
/* Called by the entry after the initializers, on every attach and detach. */
int __stdcall DllMain(void *instance, unsigned long reason, void *reserved) {
    (void)instance;
    (void)reserved;
    if (reason == 1)
        counter += 2;
    return 1;
}
