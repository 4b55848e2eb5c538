// Arguments and environment reach main through __libc_start_main and std's init_array hook.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args: {args:?}");
    println!("RLINK_TEST_VAR={}", std::env::var("RLINK_TEST_VAR").unwrap_or_default());
    println!("cwd is absolute: {}", std::env::current_dir().map(|d| d.is_absolute()).unwrap_or(false));
}
