// Builds the C helper with the cc crate: a host object from an .a archive, as -sys crates do.
fn main() {
    cc::Build::new().file("csrc/helper.c").compile("helper");
    println!("cargo:rerun-if-changed=csrc/helper.c");
}
