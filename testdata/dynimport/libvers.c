/* A shared library with symbol versions: see libvers.map. */
int vers_new(void) { return 2; }
int vers_old_impl(void) { return 1; }
int vers_new_impl(void) { return 3; }
int plain(void) { return 0; }
__attribute__((visibility("hidden"))) int secret(void) { return 4; }
int local_only(void) { return 5; }

/* vers_both@VERS_1 is the old (hidden) version, vers_both@@VERS_2 the default. */
__asm__(".symver vers_old_impl, vers_both@VERS_1");
__asm__(".symver vers_new_impl, vers_both@@VERS_2");
