int puts(const char *);
extern void compress(void) __attribute__((weak_import));
int main(void) { puts("hi"); if (compress) compress(); return 0; }
