//! `-format=go` must be what `go tool cgo -dynimport` prints, line for line.
//!
//! With `go` on PATH the reference is Go itself; without it, the golden `*.go.txt` files that
//! Go printed for the committed binaries in testdata/dynimport.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Committed binaries with Go goldens: `FILE.go.txt` (no flags) and `FILE.dynlinker.go.txt`
/// (`-dynlinker -dynpackage foo`).
const GOLDEN_BINARIES: &[&str] = &[
    "hello_elf",
    "pe_imports.exe",
    "pe32_imports.exe",
    "macho_imports",
];

#[test]
fn committed_binaries_match_go_goldens() {
    let dir = testdata();
    for name in GOLDEN_BINARIES {
        let file = dir.join(name);
        let plain = read_text(&dir.join(format!("{name}.go.txt")));
        let flagged = read_text(&dir.join(format!("{name}.dynlinker.go.txt")));
        assert_same_lines(&ours_go(&file, false, None), &plain, name);
        assert_same_lines(&ours_go(&file, true, Some("foo")), &flagged, name);
        if have_go() {
            // The goldens must still be what Go prints.
            assert_same_lines(&go_dynimport(&file, false, None), &plain, name);
            assert_same_lines(&go_dynimport(&file, true, Some("foo")), &flagged, name);
        }
    }
}

#[test]
fn golden_elf_has_versioned_and_unversioned_imports_from_two_libraries() {
    let golden = read_text(&testdata().join("hello_elf.go.txt"));
    assert!(golden.starts_with("package main\n"));
    assert!(golden.contains("//go:cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"\n"));
    assert!(golden.contains("//go:cgo_import_dynamic cbrt cbrt#GLIBC_2.2.5 \"libm.so.6\"\n"));
    assert!(golden.contains("//go:cgo_import_dynamic __gmon_start__ __gmon_start__ \"\"\n"));
    assert!(golden.ends_with(
        "//go:cgo_import_dynamic _ _ \"libm.so.6\"\n//go:cgo_import_dynamic _ _ \"libc.so.6\"\n"
    ));
    let flagged = read_text(&testdata().join("hello_elf.dynlinker.go.txt"));
    assert!(flagged
        .starts_with("package foo\n//go:cgo_dynamic_linker \"/lib64/ld-linux-x86-64.so.2\"\n"));
}

#[test]
fn system_binaries_match_go() {
    if !have_go() {
        eprintln!("go not on PATH: system binaries are covered by the goldens only");
        return;
    }
    for file in ["/bin/ls", "/bin/sh", "/usr/bin/env"] {
        let file = Path::new(file);
        if file.exists() {
            assert_matches_go(file);
        }
    }
    // A shared library: Go lists its imports the same way.
    for file in [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/x86_64-linux-gnu/libc.so.6",
    ] {
        let file = Path::new(file);
        if file.exists() {
            assert_matches_go(file);
        }
    }
}

#[test]
fn rust_hello_world_matches_go() {
    if !have_go() || !have("rustc") {
        eprintln!("go or rustc not on PATH: skipped");
        return;
    }
    let dir = TempDir::new("rust-hello");
    let source = dir.path("hello.rs");
    std::fs::write(&source, "fn main() { println!(\"hello\"); }\n").expect("writing hello.rs");
    let binary = dir.path("hello");
    run(Command::new("rustc")
        .arg("-O")
        .arg(&source)
        .arg("-o")
        .arg(&binary));
    assert_matches_go(&binary);
    let ours = ours_go(&binary, true, None);
    assert!(ours.contains("//go:cgo_dynamic_linker "), "{ours}");
    assert!(
        ours.contains("//go:cgo_import_dynamic _ _ \"libc.so.6\"\n"),
        "{ours}"
    );
}

/// Everything build.sh makes (ELF with gcc, PE with clang + lld-link, Mach-O with clang +
/// ld64.lld) compared with Go, when the tools are here.
#[test]
fn freshly_built_binaries_match_go() {
    if !have_go() {
        eprintln!("go not on PATH: skipped (goldens cover the committed copies)");
        return;
    }
    let dir = TempDir::new("build-go");
    if !build_testdata_into(&dir.0) {
        return;
    }
    let mut compared = 0;
    for name in GOLDEN_BINARIES {
        let file = dir.path(name);
        if file.exists() {
            assert_matches_go(&file);
            compared += 1;
        }
    }
    eprintln!("compared {compared} freshly built binaries with go");
}

/// Go's `%q` on a DT_NEEDED name full of characters that need escaping (and invalid UTF-8).
#[test]
fn odd_library_names_are_quoted_like_go() {
    if !have("gcc") {
        eprintln!("gcc not on PATH: skipped");
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("odd-soname");
    std::fs::write(dir.path("odd.c"), "int odd(void) { return 1; }\n").expect("writing odd.c");
    std::fs::write(
        dir.path("use.c"),
        "int odd(void);\nint main(void) { return odd(); }\n",
    )
    .expect("writing use.c");
    let mut soname_arg = b"-Wl,-soname,lib".to_vec();
    soname_arg.extend_from_slice("é\u{a0}\"\\\t\u{1}\u{7f}\u{2028}\u{10000}\u{e0001}".as_bytes());
    soname_arg.extend_from_slice(b"\xff\xe2\x82.so");
    run(Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.path("libodd.so"))
        .arg(dir.path("odd.c"))
        .arg(std::ffi::OsStr::from_bytes(&soname_arg)));
    let program = dir.path("use");
    run(Command::new("gcc")
        .arg("-o")
        .arg(&program)
        .arg(dir.path("use.c"))
        .arg(dir.path("libodd.so")));
    let ours = ours_go(&program, false, None);
    let expected = "//go:cgo_import_dynamic _ _ \
                    \"libé\\u00a0\\\"\\\\\\t\\x01\\x7f\\u2028𐀀\\U000e0001\\xff\\xe2\\x82.so\"\n";
    assert!(ours.contains(expected), "{ours}");
    if have_go() {
        assert_matches_go(&program);
    }
    // The rlink format has no escapes, so such a name is refused rather than mangled.
    let err = rlink_dynimport::dynimport(&read(&program), &rlink_dynimport::Options::default())
        .expect_err("an unwritable library name");
    assert!(err.to_string().contains("cannot be written"), "{err}");
}

/// A static executable has no .dynsym and no .dynamic: Go prints only the package line.
#[test]
fn static_executable_has_no_imports() {
    if !have("gcc") {
        eprintln!("gcc not on PATH: skipped");
        return;
    }
    let dir = TempDir::new("static");
    std::fs::write(dir.path("s.c"), "int main(void) { return 0; }\n").expect("writing s.c");
    let program = dir.path("s");
    let built = Command::new("gcc")
        .arg("-static")
        .arg("-o")
        .arg(&program)
        .arg(dir.path("s.c"))
        .output()
        .is_ok_and(|out| out.status.success());
    if !built {
        eprintln!("no static libc: skipped");
        return;
    }
    assert_eq!(ours_go(&program, true, None), "package main\n");
    if have_go() {
        assert_matches_go(&program);
    }
}

#[test]
fn generated_isprint_table_is_current() {
    if !have_go() {
        eprintln!("go not on PATH: skipped");
        return;
    }
    let generated = run(Command::new("go")
        .arg("run")
        .arg(testdata().join("gen_isprint.go"))
        .current_dir(std::env::temp_dir()));
    let committed = read_text(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/isprint_table.rs"));
    // The first line names the Go version that generated the table; the table must agree.
    let body = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&generated), body(&committed));
}
