/* A C program for macOS with no SDK: it imports write from libSystem (through a directive
 * given on the link line), and holds a pointer in its data, which dyld must rebase. */
extern long write(int, const void *, unsigned long);
static const char msg[] = "hello from a Mach-O program\n";
int counter = 41;
int *ptr = &counter;
int main(void) {
    write(1, msg, sizeof msg - 1);
    return *ptr + 1;
}
