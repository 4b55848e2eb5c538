// A backtrace taken in a Rust callback that C called, on the system stack `call_c` switched
// to, names the callback, the C function and the Rust function below the stack switch; with
// `panic`, the callback panics and the panic's backtrace (RUST_BACKTRACE=1) names them too.
use std::ffi::c_void;

use rlink_runtime_stubs::call_c;

extern "C" {
    fn c_trampoline(arg: *mut c_void) -> *mut c_void;
}

#[no_mangle]
pub extern "C-unwind" fn trace_callback(frame: *mut c_void) {
    if !frame.is_null() {
        panic!("callback panic across C");
    }
    let bt = std::backtrace::Backtrace::force_capture().to_string();
    println!("names the callback: {}", bt.contains("trace_callback"));
    println!("names the C function: {}", bt.contains("c_trampoline"));
    println!("names the Rust caller: {}", bt.contains("traced_main"));
}

#[inline(never)]
fn traced_main(panic: bool) {
    let arg = if panic { 1 as *mut c_void } else { std::ptr::null_mut() };
    unsafe { call_c(c_trampoline, arg) };
    std::hint::black_box(());
}

fn main() {
    let panic = std::env::args().nth(1).as_deref() == Some("panic");
    let r = std::panic::catch_unwind(|| traced_main(panic));
    println!("caught: {}", r.is_err());
}
