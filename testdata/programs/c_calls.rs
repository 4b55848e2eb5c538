// A C object (built with cc by the test) calls into Rust and back, and keeps C `__thread`
// data: C-to-Rust symbol binding and local-exec TLS from a C compiler.
extern "C" {
    fn c_accumulate(callback: extern "C" fn(i32) -> i32, rounds: i32) -> i32;
    fn c_thread_counter() -> i32;
}

#[no_mangle]
pub extern "C" fn rust_double(x: i32) -> i32 {
    x * 2
}

fn main() {
    let total = unsafe { c_accumulate(rust_double, 5) };
    println!("C accumulated {total}");
    let other = std::thread::spawn(|| unsafe { c_accumulate(rust_double, 2) }).join().unwrap();
    println!("other thread accumulated {other}");
    println!("main thread counter {}", unsafe { c_thread_counter() });
}
