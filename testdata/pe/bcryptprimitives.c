/* bcryptprimitives.dll's ProcessPrng, which Rust's std imports for its random numbers
 * (HashMap's keys) since Rust 1.78 and wine 8 does not have: advapi32's RtlGenRandom
 * (exported as SystemFunction036) fills the buffer instead. The tests link this DLL with
 * rlink and put it next to the programs they run under wine. */
typedef unsigned char BOOLEAN;
__declspec(dllimport) BOOLEAN __stdcall SystemFunction036(void *buffer, unsigned long length);

__declspec(dllexport) int ProcessPrng(unsigned char *data, unsigned long long length) {
    while (length > 0) {
        unsigned long n = length > 0x10000000 ? 0x10000000 : (unsigned long)length;
        if (!SystemFunction036(data, n))
            return 0;
        data += n;
        length -= n;
    }
    return 1;
}
