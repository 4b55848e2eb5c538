// The runtime stubs in a program rlink links: a C-ABI function needing 1 MiB of stack, called
// from a 16 KiB coroutine-like stack through the system-stack stub, and a callback panic that
// resumes in Rust after the "C" frame returned.
use std::ffi::c_void;
use std::hint::black_box;

use rlink_runtime_stubs::{call_c, call_on_stack, rlink_crosscall};

#[cfg(not(windows))]
extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
}

#[cfg(windows)]
#[link(name = "kernel32")]
extern "system" {
    fn VirtualAlloc(addr: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
}

/// 16 KiB of fresh read-write memory.
fn small_stack() -> *mut u8 {
    #[cfg(not(windows))]
    let p = unsafe { mmap(std::ptr::null_mut(), 16 << 10, 3, 0x22, -1, 0) };
    #[cfg(windows)]
    let p = unsafe { VirtualAlloc(std::ptr::null_mut(), 16 << 10, 0x3000, 0x04) };
    p as *mut u8
}

unsafe extern "C" fn deep(arg: *mut c_void) -> *mut c_void {
    let mut buf = [0u8; 1 << 20];
    black_box(&mut buf)[12345] = 1;
    (arg as usize + black_box(&buf)[12345] as usize) as *mut c_void
}

unsafe extern "C" fn on_small_stack(arg: *mut c_void) -> *mut c_void {
    unsafe { call_c(deep, arg) }
}

unsafe extern "C-unwind" fn panicking_callback(_: *mut c_void) {
    panic!("callback panic");
}

/// Stands in for a C function that calls back into Rust and then cleans up.
unsafe extern "C" fn c_like(cleanup: *mut c_void) -> *mut c_void {
    unsafe {
        rlink_crosscall(panicking_callback, std::ptr::null_mut());
        *(cleanup as *mut u32) += 1;
    }
    std::ptr::null_mut()
}

fn main() {
    let stack = small_stack();
    let top = unsafe { stack.add(16 << 10) };
    let r = unsafe { call_on_stack(on_small_stack, 1 as *mut c_void, top) } as usize;
    println!("deep call from a 16 KiB stack returned {r}");
    let mut cleanup = 0u32;
    let cleanup_ptr = &mut cleanup as *mut u32;
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| unsafe { call_c(c_like, cleanup_ptr.cast()) });
    let message = caught.err().and_then(|p| p.downcast_ref::<&str>().map(|s| s.to_string()));
    println!("panic resumed in Rust: {message:?}, cleanup ran {cleanup} time(s)");
}
