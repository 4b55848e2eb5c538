//! Benchmark (not a test): the cost of one `call_c` round trip — switch to the system stack,
//! call, switch back — against a direct call of the same C-ABI function.
//!
//!     cargo run --release -p rlink-runtime-stubs --example round_trip

use std::ffi::c_void;
use std::hint::black_box;
use std::time::Instant;

#[inline(never)]
unsafe extern "C" fn noop(arg: *mut c_void) -> *mut c_void {
    black_box(arg)
}

fn per_call(iterations: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn main() {
    const N: u32 = 20_000_000;
    let f: rlink_runtime_stubs::CFunction = black_box(noop);
    // Warm up: the first call maps the thread's system stack.
    unsafe { rlink_runtime_stubs::call_c(f, std::ptr::null_mut()) };
    let mut runs: Vec<(f64, f64)> = (0..5)
        .map(|_| {
            let direct = per_call(N, || unsafe {
                black_box(f(black_box(std::ptr::null_mut())));
            });
            let stub = per_call(N, || unsafe {
                black_box(rlink_runtime_stubs::call_c(
                    f,
                    black_box(std::ptr::null_mut()),
                ));
            });
            (direct, stub)
        })
        .collect();
    runs.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (direct, stub) = runs[runs.len() / 2];
    println!("direct call:        {direct:6.2} ns");
    println!("call_c round trip:  {stub:6.2} ns");
    println!(
        "overhead:           {:6.2} ns ({:.1}x)",
        stub - direct,
        stub / direct
    );
}
