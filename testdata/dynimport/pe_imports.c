__declspec(dllimport) void __stdcall ExitProcess(unsigned int);
__declspec(dllimport) void * __stdcall GetStdHandle(unsigned int);
__declspec(dllimport) int puts(const char *);
void mainCRTStartup(void) { puts("hi"); GetStdHandle(0); ExitProcess(0); }
