// Calls a C function nothing defines, from a named Rust function: the link fails, and the
// error names the function the reference is in.
extern "C" {
    fn missing_fn() -> i32;
}

#[inline(never)]
fn helper() -> i32 {
    unsafe { missing_fn() }
}

fn main() {
    println!("{}", helper());
}
