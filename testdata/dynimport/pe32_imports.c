__declspec(dllimport) void __stdcall ExitProcess(unsigned int);
__declspec(dllimport) int __stdcall Deco(int);
void mainCRTStartup(void) { Deco(1); ExitProcess(0); }
