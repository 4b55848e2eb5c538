// A small no_std Rust library compiled to an ELF object at test time (`rustc --emit=obj`) for
// the `rlink inspect` golden tests: functions, statics, a thread-local-free data layout and a
// directives section written by hand (the macros have their own tests in directives/).
#![no_std]

#[used]
#[link_section = ".rlink.directives"]
static IMPORT_SQRT: [u8; 56] = *b"cgo_import_dynamic my_sqrt sqrt#GLIBC_2.2.5 \"libm.so.6\"\n";

#[used]
#[link_section = ".rlink.directives"]
static LDFLAG: [u8; 18] = *b"cgo_ldflag \"-lm\"\n\0";

extern "C" {
    fn my_sqrt(x: f64) -> f64;
}

pub static TABLE: [fn(u64) -> u64; 2] = [double, square];

#[no_mangle]
pub static mut COUNTER: u64 = 0;

fn double(x: u64) -> u64 {
    x * 2
}

fn square(x: u64) -> u64 {
    x * x
}

#[no_mangle]
pub extern "C" fn rlink_apply(i: usize, x: u64) -> u64 {
    match TABLE.get(i) {
        Some(f) => f(x),
        None => 0,
    }
}

#[no_mangle]
pub extern "C" fn rlink_hypot(a: f64, b: f64) -> f64 {
    unsafe { my_sqrt(a * a + b * b) }
}
