// Trait objects, function-pointer tables, large statics, i128 and float formatting.
trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> &'static str;
}
struct Square(f64);
struct Circle(f64);
impl Shape for Square {
    fn area(&self) -> f64 { self.0 * self.0 }
    fn name(&self) -> &'static str { "square" }
}
impl Shape for Circle {
    fn area(&self) -> f64 { std::f64::consts::PI * self.0 * self.0 }
    fn name(&self) -> &'static str { "circle" }
}

fn add(a: i64, b: i64) -> i64 { a + b }
fn mul(a: i64, b: i64) -> i64 { a * b }
static OPS: [(&str, fn(i64, i64) -> i64); 2] = [("add", add), ("mul", mul)];

static BIG: [u64; 1 << 16] = {
    let mut a = [0u64; 1 << 16];
    let mut i = 0;
    while i < a.len() {
        a[i] = i as u64 * 3;
        i += 1;
    }
    a
};
static mut ZEROED: [u8; 1 << 20] = [0; 1 << 20];

fn main() {
    let shapes: Vec<Box<dyn Shape>> = vec![Box::new(Square(2.0)), Box::new(Circle(1.5))];
    for s in &shapes {
        println!("{} {:.4}", s.name(), s.area());
    }
    for (name, op) in OPS.iter() {
        println!("{name}(6, 7) = {}", op(6, 7));
    }
    let sum: u64 = BIG.iter().sum();
    println!("big sum {sum}");
    #[allow(static_mut_refs)]
    unsafe {
        ZEROED[12345] = 7;
        println!("zeroed sum {}", ZEROED.iter().map(|&b| b as u32).sum::<u32>());
    }
    let x: i128 = -170141183460469231731687303715884105728;
    println!("i128 {x} {}", (x + 1) / 7);
    let u: u128 = u128::MAX / 3;
    println!("u128 {u:x}");
    println!("floats {} {:e} {:.3} {}", 0.1 + 0.2, 1234.5f32, f64::MAX.sqrt(), f32::MIN_POSITIVE);
}
