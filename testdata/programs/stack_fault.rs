// Faults and the runtime stubs (Linux): `overflow` runs a C-ABI function that recurses until
// it overflows the system stack `call_c` put it on; `elsewhere` installs a SIGSEGV handler of
// its own, then, once `call_c` has installed rlink's, faults at a wild address: the program's
// handler must still see it.
use std::ffi::c_void;
use std::hint::black_box;

use rlink_runtime_stubs::call_c;

extern "C" {
    fn signal(sig: i32, handler: usize) -> usize;
    fn write(fd: i32, buf: *const c_void, n: usize) -> isize;
    fn _exit(code: i32) -> !;
}

fn deep(n: usize) -> usize {
    let mut frame = [0u8; 4096];
    black_box(&mut frame)[0] = n as u8;
    if black_box(true) {
        deep(n + 1) + usize::from(black_box(&frame)[0])
    } else {
        0
    }
}

unsafe extern "C" fn overflow(_: *mut c_void) -> *mut c_void {
    deep(0) as *mut c_void
}

unsafe extern "C" fn nothing(arg: *mut c_void) -> *mut c_void {
    arg
}

extern "C" fn on_segv(_: i32) {
    let msg = b"the program's handler saw the fault\n";
    unsafe {
        write(1, msg.as_ptr().cast(), msg.len());
        _exit(7);
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("overflow") => {
            unsafe { call_c(overflow, std::ptr::null_mut()) };
        }
        Some("elsewhere") => unsafe {
            signal(11, on_segv as *const () as usize);
            call_c(nothing, std::ptr::null_mut());
            std::ptr::write_volatile(black_box(16usize) as *mut u64, 1);
        },
        _ => eprintln!("usage: stack_fault overflow|elsewhere"),
    }
}
