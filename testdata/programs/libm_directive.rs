// The only way to libm is a cgo_import_dynamic directive: the local name `rlink_cube_root`
// is bound to libm's versioned `cbrt` (internal linking reads no libm at all), and
// `cgo_ldflag "-lm"` tells the host linker where `cbrt` is (external linking renames the
// reference to `cbrt`).
// glibc's oldest version node differs per CPU: GLIBC_2.2.5 on x86-64, GLIBC_2.17 on AArch64.
#[cfg(target_arch = "x86_64")]
#[used]
#[link_section = ".rlink.directives"]
static IMPORT: [u8; 64] = *b"cgo_import_dynamic rlink_cube_root cbrt#GLIBC_2.2.5 \"libm.so.6\"\n";

#[cfg(target_arch = "aarch64")]
#[used]
#[link_section = ".rlink.directives"]
static IMPORT: [u8; 63] = *b"cgo_import_dynamic rlink_cube_root cbrt#GLIBC_2.17 \"libm.so.6\"\n";

#[used]
#[link_section = ".rlink.directives"]
static LDFLAG: [u8; 17] = *b"cgo_ldflag \"-lm\"\n";

extern "C" {
    fn rlink_cube_root(x: f64) -> f64;
}

fn main() {
    let r = unsafe { rlink_cube_root(27.0) };
    println!("cbrt(27) = {r}");
}
