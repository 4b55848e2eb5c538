typedef void *HANDLE;
__declspec(dllimport) HANDLE __stdcall GetStdHandle(unsigned long);
__declspec(dllimport) int __stdcall WriteFile(HANDLE, const void *, unsigned long, unsigned long *, void *);
__declspec(dllimport) void __stdcall ExitProcess(unsigned);
void __stdcall Sleep(unsigned long);
static const char *const messages[] = { "hello ", "from a PE program\n" };
static int length(const char *s) { int n = 0; while (s[n]) n++; return n; }
void mainCRTStartup(void) {
  HANDLE out = GetStdHandle((unsigned long)-11);
  Sleep(0);
  for (int i = 0; i < 2; i++) { unsigned long w; WriteFile(out, messages[i], length(messages[i]), &w, 0); }
  ExitProcess(42);
}
