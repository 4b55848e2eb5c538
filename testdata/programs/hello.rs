// The smallest real program: std's runtime start-up, stdout, a clean exit.
fn main() {
    println!("hello from rlink");
}
