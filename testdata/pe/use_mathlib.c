/* Calls mathlib.dll through an import library made by llvm-dlltool, and finds its ordinal
 * exports with GetProcAddress; exits with a status that sums what it saw. */
typedef void *HANDLE;
__declspec(dllimport) HANDLE __stdcall GetStdHandle(unsigned long);
__declspec(dllimport) int __stdcall WriteFile(HANDLE, const void *, unsigned long, unsigned long *, void *);
__declspec(dllimport) void __stdcall ExitProcess(unsigned);
__declspec(dllimport) HANDLE __stdcall GetModuleHandleA(const char *);
__declspec(dllimport) void *__stdcall GetProcAddress(HANDLE, const char *);
__declspec(dllimport) int add(int, int);
__declspec(dllimport) int mul(int, int);
__declspec(dllimport) int scaled(int);
__declspec(dllimport) int counter;
__declspec(dllimport) void __stdcall Snooze(unsigned long);

/* Nothing defines optional_hook: /ALTERNATENAME:optional_hook=default_hook binds it. */
int optional_hook(void);
int default_hook(void) { return 0; }

static void say(const char *s) {
  unsigned long n = 0, w;
  while (s[n]) n++;
  WriteFile(GetStdHandle((unsigned long)-12), s, n, &w, 0);
}

void mainCRTStartup(void) {
  HANDLE lib = GetModuleHandleA("mathlib.dll");
  int (*five)(void) = (int (*)(void))GetProcAddress(lib, (const char *)5);
  int (*nine)(void) = (int (*)(void))GetProcAddress(lib, (const char *)9);
  int (*byname)(void) = (int (*)(void))GetProcAddress(lib, "hidden");
  Snooze(0);
  if (byname) say("hidden has a name\n");
  if (!five || !nine) { say("ordinal lookup failed\n"); ExitProcess(1); }
  /* 2+3=5, 2*3=6, 100, 42 from the initializer and DllMain, 5, 9: 167 */
  ExitProcess(add(2, 3) + mul(2, 3) + scaled(1) + counter + five() + nine() + optional_hook());
}
