// A no_std program whose every import comes from directives: rlink reads no shared library
// (no -lc on the command line), yet the program binds to glibc's versioned symbols.
#![no_std]
#![no_main]

// glibc's oldest version node differs per CPU: GLIBC_2.2.5 on x86-64, GLIBC_2.17 on AArch64.
#[cfg(target_arch = "x86_64")]
#[used]
#[link_section = ".rlink.directives"]
static DIRECTIVES: [u8; 134] = *b"cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"\n\
cgo_import_dynamic __libc_start_main __libc_start_main#GLIBC_2.34 \"libc.so.6\"\n\0\0\0";

#[cfg(target_arch = "aarch64")]
#[used]
#[link_section = ".rlink.directives"]
static DIRECTIVES: [u8; 133] = *b"cgo_import_dynamic puts puts#GLIBC_2.17 \"libc.so.6\"\n\
cgo_import_dynamic __libc_start_main __libc_start_main#GLIBC_2.34 \"libc.so.6\"\n\0\0\0";

extern "C" {
    fn puts(s: *const u8) -> i32;
}

#[no_mangle]
pub extern "C" fn main() -> i32 {
    unsafe { puts(b"hello from a no_std program\0".as_ptr()) };
    0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
