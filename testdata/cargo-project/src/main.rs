fn main() {
    let text = std::env::args().nth(1).unwrap_or_else(|| "x5 y10".to_string());
    println!("{}", rlink_cargo_fixture::to_json(&text));
}
