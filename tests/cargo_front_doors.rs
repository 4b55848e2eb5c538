//! rlink under cargo, the three ways users put it there (the README's "Under cargo and C compilers"),
//! and under C compiler drivers: a real project with registry crates (regex, serde_json, a C
//! helper built by the cc crate) builds, its tests pass, and every binary was linked by rlink.

mod common;

use std::path::Path;
use std::process::Command;

use common::{linked_by_rlink, project, rlink_bin, rlink_ok};

use common::elf_executables as executables;

fn cargo(project: &Path, args: &[&str]) -> String {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .arg("--locked")
        .current_dir(project)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "cargo {args:?} failed:\n{text}");
    text
}

fn build_test_and_check(project: &Path) {
    cargo(project, &["build"]);
    let test_output = cargo(project, &["test"]);
    assert!(
        test_output.contains("test result: ok. 2 passed"),
        "{test_output}"
    );
    let out = Command::new(project.join("target/debug/rlink-cargo-fixture"))
        .arg("n7 m8")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"input\":\"n7 m8\",\"sum\":48}\n"
    );
    let exes = executables(&project.join("target/debug"));
    assert!(
        exes.len() >= 3,
        "binary, test harness and build scripts: {exes:?}"
    );
    for exe in &exes {
        assert!(
            linked_by_rlink(exe),
            "{} was not linked by rlink",
            exe.display()
        );
    }
}

/// `linker = "rlink"`: rustc's cc-style line, linked internally.
#[test]
fn cargo_with_rlink_as_the_linker() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[target.x86_64-unknown-linux-gnu]\nlinker = \"{}\"\n",
        rlink_bin()
    );
    build_test_and_check(&project(dir.path(), &config));
}

/// `linker = "clang"` with `--ld-path`: clang drives, rlink gets GNU ld's line with crt files.
#[test]
fn cargo_with_clang_and_rlink_as_ld_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[target.x86_64-unknown-linux-gnu]\nlinker = \"clang\"\nrustflags = [\"-C\", \"link-arg=--ld-path={}\"]\n",
        rlink_bin()
    );
    build_test_and_check(&project(dir.path(), &config));
}

/// C programs through `gcc -B DIR` (DIR/ld is rlink) and `clang -fuse-ld=rlink` (ld.rlink on
/// PATH): thread-locals and constructors, PIE and not.
#[test]
fn c_compilers_drive_rlink_as_their_ld() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(rlink_bin(), bin.join("ld")).unwrap();
    std::os::unix::fs::symlink(rlink_bin(), bin.join("ld.rlink")).unwrap();
    // The C sources the AArch64 tests build too.
    for (from, to) in [
        ("programs/hello_c.c", "hello.c"),
        ("programs/c_lib.c", "lib.c"),
        ("programs/use_c_lib.c", "uselib.c"),
        ("programs/static_c.c", "static.c"),
    ] {
        std::fs::copy(common::testdata(from), d.join(to)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cases: &[(&str, &[&str])] = &[
        (
            "gcc",
            &["-B", bin.to_str().unwrap(), "hello.c", "-o", "gcc-pie"],
        ),
        (
            "gcc",
            &[
                "-B",
                bin.to_str().unwrap(),
                "-no-pie",
                "hello.c",
                "-o",
                "gcc-exe",
            ],
        ),
        ("clang", &["-fuse-ld=rlink", "hello.c", "-o", "clang-pie"]),
        (
            "clang",
            &["-fuse-ld=rlink", "-no-pie", "hello.c", "-o", "clang-exe"],
        ),
    ];
    for (driver, args) in cases {
        let out = Command::new(driver)
            .args(*args)
            .current_dir(d)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{driver} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let prog = d.join(args.last().unwrap());
        assert!(
            linked_by_rlink(&prog),
            "{} was not linked by rlink",
            prog.display()
        );
        let run = Command::new(&prog).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            "hello from C, t=6\n",
            "{driver} {args:?}"
        );
        assert_eq!(run.status.code(), Some(3));
    }
    // A shared library linked by rlink (-shared through gcc -B), with thread-locals (which stay
    // general/local-dynamic), exported data and a constructor; then a program linked against
    // it, run with LD_LIBRARY_PATH. The position-dependent program reads the library's data
    // and thread-local directly, so rlink copies the data into the program (R_X86_64_COPY)
    // and the library's constructor must update the copy through its GOT.
    let b = bin.to_str().unwrap();
    for (args, output) in [
        (
            &[
                "-B",
                b,
                "-shared",
                "-fPIC",
                "-Wl,-soname,libdemo.so.1",
                "lib.c",
                "-o",
                "libdemo.so",
            ][..],
            "libdemo.so",
        ),
        (
            &[
                "-B", b, "-fno-pic", "-no-pie", "uselib.c", "-L.", "-ldemo", "-o", "uselib",
            ][..],
            "uselib",
        ),
    ] {
        let out = Command::new("gcc")
            .args(args)
            .current_dir(d)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gcc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            linked_by_rlink(&d.join(output)),
            "{output} was not linked by rlink"
        );
    }
    let dump = rlink_ok(&["inspect".as_ref(), d.join("libdemo.so").as_os_str()]);
    assert!(
        dump.contains("type: shared library\n") && dump.contains("soname: libdemo.so.1\n"),
        "{dump}"
    );
    assert!(
        dump.contains("  lib_add\n") && dump.contains("  shared_counter\n"),
        "exports: {dump}"
    );
    // The program needs the library by its soname, as an installed library is found.
    std::os::unix::fs::symlink(d.join("libdemo.so"), d.join("libdemo.so.1")).unwrap();
    let used = Command::new(d.join("uselib"))
        .env("LD_LIBRARY_PATH", d)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&used.stdout),
        "11 141 41 108 108\n",
        "{}",
        String::from_utf8_lossy(&used.stderr)
    );

    // Fully static executables (glibc's libc.a is installed with gcc): IFUNCs through
    // IRELATIVE in .rela.iplt, thread-locals, threads, libm.
    for (driver, args) in [
        (
            "gcc",
            &[
                "-B",
                b,
                "-static",
                "-O1",
                "static.c",
                "-o",
                "static-gcc",
                "-lm",
            ][..],
        ),
        (
            "clang",
            &[
                "-fuse-ld=rlink",
                "-static",
                "-O1",
                "static.c",
                "-o",
                "static-clang",
                "-lm",
            ][..],
        ),
    ] {
        let out = Command::new(driver)
            .args(args)
            .current_dir(d)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{driver} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let prog = d.join(args[args.len() - 2]);
        assert!(
            linked_by_rlink(&prog),
            "{} was not linked by rlink",
            prog.display()
        );
        let dump = rlink_ok(&["inspect".as_ref(), prog.as_os_str()]);
        assert!(
            !dump.contains("interpreter:") && dump.contains("R_X86_64_IRELATIVE"),
            "{dump}"
        );
        let run = Command::new(&prog).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            "static hello 12 5 7 1.414\n",
            "{driver}"
        );
    }

    // -rdynamic exports the program's global definitions.
    std::fs::write(d.join("rd.c"), "int exported_from_exe(void) { return 42; }\nint main(void) { return exported_from_exe() - 42; }\n").unwrap();
    let out = Command::new("gcc")
        .args(["-B", b, "-rdynamic", "rd.c", "-o", "rd"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = rlink_ok(&["inspect".as_ref(), d.join("rd").as_os_str()]);
    assert!(dump.contains("  exported_from_exe\n"), "{dump}");
    assert_eq!(Command::new(d.join("rd")).status().unwrap().code(), Some(0));

    // Build systems probe the linker's version.
    let v = Command::new(bin.join("ld"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("rlink "));
}
