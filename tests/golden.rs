//! Golden-file tests: canonical `rlink inspect` and `rlink dynimport` output for objects and
//! executables built at test time by rustc, gcc and clang, and for the small binaries
//! committed under testdata/. Review changes with `cargo insta review` or accept them with
//! `INSTA_UPDATE=always cargo test --test golden` and read the diff under tests/snapshots/.

mod common;

use std::path::{Path, PathBuf};

use common::{rlink_ok, run, testdata};

/// Builds every artifact once into a fresh directory.
fn artifacts() -> (tempfile::TempDir, Vec<(&'static str, PathBuf)>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = |name: &str| testdata(&format!("inspect/{name}")).display().to_string();
    run(
        "rustc",
        &[
            "--crate-type=lib",
            "--edition=2021",
            "--emit=obj",
            "-Copt-level=2",
            "-Cpanic=abort",
            "-o",
            "rust_lib.o",
            &src("rust_lib.rs"),
        ],
        d,
    );
    run("gcc", &["-O1", "-o", "hello", &src("hello.c")], d);
    run(
        "clang",
        &[
            "--target=x86_64-apple-macos11",
            "-O1",
            "-c",
            "-o",
            "c_x86_64.macho.o",
            &src("c_object.c"),
        ],
        d,
    );
    run(
        "clang",
        &[
            "--target=arm64-apple-macos11",
            "-O1",
            "-c",
            "-o",
            "c_arm64.macho.o",
            &src("c_object.c"),
        ],
        d,
    );
    run(
        "clang",
        &[
            "--target=x86_64-pc-windows-msvc",
            "-O1",
            "-c",
            "-o",
            "c_x86_64.obj",
            &src("c_object.c"),
        ],
        d,
    );
    run(
        "clang",
        &[
            "--target=x86_64-linux-gnu",
            "-O1",
            "-c",
            "-o",
            "c_x86_64.elf.o",
            &src("c_object.c"),
        ],
        d,
    );
    std::fs::write(d.join("lib.rmeta"), b"not an object").unwrap();
    // A program rlink links itself, from directives alone.
    common::compile_no_std_object(d);
    common::rlink_ok(&[
        "-o".as_ref(),
        d.join("nsd").as_os_str(),
        d.join("nsd.o").as_os_str(),
    ]);
    // A C program linked by rlink with the C library's start files, position-dependent.
    run(
        "gcc",
        &["-O1", "-c", "-fno-pie", "-o", "hello_c.o", &src("hello.c")],
        d,
    );
    let crt = |name: &str| {
        let out = std::process::Command::new("gcc")
            .arg(format!("-print-file-name={name}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let hello_c = d.join("hello_c").display().to_string();
    let hello_o = d.join("hello_c.o").display().to_string();
    common::rlink_ok(&[
        "-buildmode=exe",
        "-o",
        &hello_c,
        &crt("crt1.o"),
        &crt("crti.o"),
        &crt("crtbegin.o"),
        &hello_o,
        "-lc",
        &crt("crtend.o"),
        &crt("crtn.o"),
    ]);
    run(
        "ar",
        &[
            "rcD",
            "libmixed.a",
            "rust_lib.o",
            "c_x86_64.elf.o",
            "lib.rmeta",
        ],
        d,
    );
    let list = vec![
        ("rust_object_elf", d.join("rust_lib.o")),
        ("c_object_elf", d.join("c_x86_64.elf.o")),
        ("c_executable_elf", d.join("hello")),
        ("c_object_macho_x86_64", d.join("c_x86_64.macho.o")),
        ("c_object_macho_arm64", d.join("c_arm64.macho.o")),
        ("c_object_coff", d.join("c_x86_64.obj")),
        ("archive_mixed", d.join("libmixed.a")),
        ("rlink_linked_no_std_executable", d.join("nsd")),
        ("rlink_linked_c_executable_non_pie", d.join("hello_c")),
        ("committed_elf_executable", testdata("dynimport/hello_elf")),
        (
            "committed_elf_shared_library",
            testdata("dynimport/libvers.so"),
        ),
        (
            "committed_macho_executable",
            testdata("dynimport/macho_imports"),
        ),
        (
            "committed_pe_executable",
            testdata("dynimport/pe_imports.exe"),
        ),
        ("committed_pe_dll", testdata("dynimport/libexp.dll")),
    ];
    (dir, list)
}

fn inspect(path: &Path) -> String {
    rlink_ok(&["inspect".as_ref(), path.as_os_str()])
}

#[test]
fn inspect_snapshots() {
    let (_dir, list) = artifacts();
    for (name, path) in &list {
        insta::assert_snapshot!(format!("inspect_{name}"), inspect(path));
    }
}

#[test]
fn inspect_is_deterministic() {
    let (_dir, list) = artifacts();
    for (name, path) in &list {
        assert_eq!(inspect(path), inspect(path), "{name}");
        let with_addresses =
            |p: &Path| rlink_ok(&["inspect".as_ref(), "-addresses".as_ref(), p.as_os_str()]);
        assert_eq!(with_addresses(path), with_addresses(path), "{name}");
    }
}

#[test]
fn inspect_shows_what_the_issue_asks_for() {
    let (_dir, list) = artifacts();
    let get = |n: &str| inspect(&list.iter().find(|(name, _)| *name == n).unwrap().1);
    let object = get("rust_object_elf");
    assert!(object.contains("type: relocatable object\n"), "{object}");
    assert!(object.contains("directives: 2 in .rlink.directives\n  cgo_import_dynamic my_sqrt sqrt#GLIBC_2.2.5 \"libm.so.6\"\n  cgo_ldflag \"-lm\"\n"), "{object}");
    assert!(
        object.contains("  my_sqrt\n"),
        "undefined my_sqrt listed as an import: {object}"
    );
    assert!(
        object.contains("  rlink_apply\n"),
        "rlink_apply exported: {object}"
    );
    let exe = get("c_executable_elf");
    assert!(
        exe.contains("interpreter: /lib64/ld-linux-x86-64.so.2\n"),
        "{exe}"
    );
    assert!(exe.contains("  puts#GLIBC_2.2.5 from libc.so.6\n"), "{exe}");
    assert!(exe.contains("needed: 1\n  libc.so.6\n"), "{exe}");
    assert!(exe.contains("R_X86_64_JUMP_SLOT"), "{exe}");
    let coff = get("c_object_coff");
    assert!(
        coff.contains("directives: 1 in .rlink.directives\n"),
        "{coff}"
    );
    let macho = get("c_object_macho_arm64");
    assert!(
        macho.contains("directives: 1 in __RLINK,__directives\n"),
        "{macho}"
    );
}

#[test]
fn dynimport_snapshots() {
    let hello = testdata("dynimport/hello_elf");
    let hello = hello.to_str().unwrap();
    insta::assert_snapshot!(
        "dynimport_go_hello_elf",
        rlink_ok(&["dynimport", "-format=go", hello])
    );
    insta::assert_snapshot!(
        "dynimport_go_dynlinker_hello_elf",
        rlink_ok(&[
            "dynimport",
            "-format=go",
            "-dynlinker",
            "-dynpackage",
            "foo",
            hello
        ])
    );
    insta::assert_snapshot!("dynimport_rlink_hello_elf", rlink_ok(&["dynimport", hello]));
    let libvers = testdata("dynimport/libvers.so");
    insta::assert_snapshot!(
        "dynimport_lib_libvers",
        rlink_ok(&["dynimport", "-lib", libvers.to_str().unwrap()])
    );
    let pe = testdata("dynimport/pe_imports.exe");
    insta::assert_snapshot!(
        "dynimport_rlink_pe",
        rlink_ok(&["dynimport", pe.to_str().unwrap()])
    );
    let macho = testdata("dynimport/macho_imports");
    insta::assert_snapshot!(
        "dynimport_rlink_macho",
        rlink_ok(&["dynimport", macho.to_str().unwrap()])
    );
}
