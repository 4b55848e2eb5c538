// A no_std program for macOS whose imports come from a directive alone (no libSystem
// manifest, no SDK): it writes through libSystem's write, reads pointers that dyld must
// rebase (a table of string slices), and exits through exit with a status of its own.
#![no_std]
#![no_main]

#[used]
#[link_section = "__RLINK,__directives"]
static DIRECTIVES: [u8; 122] = *b"cgo_import_dynamic _write _write \"/usr/lib/libSystem.B.dylib\"\n\
cgo_import_dynamic _exit _exit \"/usr/lib/libSystem.B.dylib\"\n";

extern "C" {
    fn write(fd: i32, buf: *const u8, len: usize) -> isize;
    fn exit(code: i32) -> !;
}

static GREETING: &str = "hello from a no_std program on macOS\n";
static WORDS: [&str; 3] = ["pointers ", "rebased ", "by dyld\n"];

#[no_mangle]
pub extern "C" fn main(argc: i32, _argv: *const *const u8) -> i32 {
    unsafe {
        write(1, GREETING.as_ptr(), GREETING.len());
        // Through black_box the table is read at run time: its pointers must have been rebased.
        for w in core::hint::black_box(&WORDS).iter() {
            write(1, w.as_ptr(), w.len());
        }
        exit(argc + 6)
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
