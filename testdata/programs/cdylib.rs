//! A C-ABI library in Rust: std, formatting, a thread-local and a caught panic behind
//! functions a C program calls.
use std::cell::Cell;
use std::ffi::{c_char, CStr};

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

#[no_mangle]
pub extern "C" fn rl_sum(a: i64, b: i64) -> i64 {
    a + b
}

/// Prints a greeting and returns its length.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_greet(name: *const c_char) -> usize {
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    let msg = format!("hello, {name}, from a Rust cdylib");
    println!("{msg}");
    msg.len()
}

#[no_mangle]
pub extern "C" fn rl_count() -> u32 {
    CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

/// 1 when a panic inside the library was caught inside it.
#[no_mangle]
pub extern "C" fn rl_caught_panic() -> i32 {
    std::panic::set_hook(Box::new(|_| {}));
    std::panic::catch_unwind(|| panic!("inside the cdylib")).is_err() as i32
}
