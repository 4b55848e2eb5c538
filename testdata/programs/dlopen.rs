// dlopen/dlsym from libc: the dynamic loader still works for code loaded at run time.
use std::ffi::{c_char, c_void, CStr};

extern "C" {
    fn dlopen(name: *const c_char, flags: i32) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}

const RTLD_NOW: i32 = 2;

fn main() {
    unsafe {
        let h = dlopen(c"libm.so.6".as_ptr(), RTLD_NOW);
        if h.is_null() {
            println!("dlopen failed: {:?}", CStr::from_ptr(dlerror()));
            std::process::exit(1);
        }
        let f = dlsym(h, c"pow".as_ptr());
        let pow: extern "C" fn(f64, f64) -> f64 = std::mem::transmute(f);
        println!("pow(2, 10) = {}", pow(2.0, 10.0));
    }
}
