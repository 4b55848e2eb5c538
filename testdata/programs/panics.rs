// Unwinding: catch_unwind, a panic in a thread, drop order during unwinding, and a captured
// backtrace that names main (needs .eh_frame_hdr and a symbol table or debug info).
use std::panic;

struct Guard(&'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        println!("drop {}", self.0);
    }
}

#[inline(never)]
fn deep(n: u32) -> u32 {
    let _g = Guard(if n == 0 { "innermost" } else { "outer" });
    if n == 0 {
        panic!("boom at the bottom");
    }
    deep(n - 1) + 1
}

fn main() {
    panic::set_hook(Box::new(|info| {
        let msg = info.payload().downcast_ref::<&str>().copied().unwrap_or("?");
        println!("hook saw: {msg}");
    }));
    let r = panic::catch_unwind(|| deep(2));
    println!("caught: {}", r.is_err());
    let t = std::thread::spawn(|| {
        let _g = Guard("thread");
        panic!("thread panic");
    });
    println!("thread joined with error: {}", t.join().is_err());
    let bt = std::backtrace::Backtrace::force_capture().to_string();
    println!("backtrace names main: {}", bt.contains("panics::main"));
    std::process::exit(3);
}
