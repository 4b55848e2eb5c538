// std::process::exit runs no destructors and returns the code to the parent.
fn main() {
    println!("exiting with 42");
    std::process::exit(42);
}
