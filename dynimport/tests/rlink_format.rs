//! The rlink format (the default) and `library_exports`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use rlink_dynimport::{dynimport, library_exports, Options, OutputFormat};

fn rlink(data: &[u8]) -> String {
    dynimport(data, &Options::default()).expect("dynimport")
}

fn exports(data: &[u8], fallback: Option<&str>) -> String {
    library_exports(data, fallback, &Options::default()).expect("library_exports")
}

/// Committed binaries and their `FILE.rlink.txt` / `FILE.lib.rlink.txt` goldens.
#[test]
fn committed_binaries_match_rlink_goldens() {
    let dir = testdata();
    for name in [
        "hello_elf",
        "pe_imports.exe",
        "pe32_imports.exe",
        "macho_imports",
    ] {
        let golden = read_text(&dir.join(format!("{name}.rlink.txt")));
        assert_same_lines(&rlink(&read(&dir.join(name))), &golden, name);
    }
    for name in ["libvers.so", "libexp.dll", "libexp.dylib"] {
        let golden = read_text(&dir.join(format!("{name}.lib.rlink.txt")));
        assert_same_lines(&exports(&read(&dir.join(name)), None), &golden, name);
    }
}

#[test]
fn elf_imports_in_rlink_format() {
    let out = rlink(&read(&testdata().join("hello_elf")));
    assert!(!out.contains("package"));
    assert!(out.contains("cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"\n"));
    assert!(out.contains("cgo_import_dynamic cbrt cbrt#GLIBC_2.2.5 \"libm.so.6\"\n"));
    // Weak undefined symbols are imports too.
    assert!(out.contains("cgo_import_dynamic __gmon_start__ __gmon_start__ \"\"\n"));
    assert!(out
        .ends_with("cgo_import_dynamic _ _ \"libm.so.6\"\ncgo_import_dynamic _ _ \"libc.so.6\"\n"));

    let with_linker = dynimport(
        &read(&testdata().join("hello_elf")),
        &Options {
            dynlinker: true,
            ..Options::default()
        },
    )
    .expect("dynimport");
    assert!(with_linker
        .starts_with("cgo_dynamic_linker \"/lib64/ld-linux-x86-64.so.2\"\ncgo_import_dynamic "));
}

fn check_macho_imports(out: &str) {
    assert!(
        out.contains("cgo_import_dynamic puts puts \"/usr/lib/libSystem.B.dylib\"\n"),
        "{out}"
    );
    // compress is weak-imported from a weakly loaded dylib, which Go leaves out.
    assert!(
        out.contains("cgo_import_dynamic compress compress \"/usr/lib/libz.1.dylib\"\n"),
        "{out}"
    );
    assert!(
        out.contains("cgo_import_dynamic _ _ \"/usr/lib/libSystem.B.dylib\"\n"),
        "{out}"
    );
    assert!(
        out.contains("cgo_import_dynamic _ _ \"/usr/lib/libz.1.dylib\"\n"),
        "{out}"
    );
}

fn check_pe_imports(out: &str) {
    assert!(
        out.contains("cgo_import_dynamic ExitProcess ExitProcess \"KERNEL32.dll\"\n"),
        "{out}"
    );
    assert!(
        out.contains("cgo_import_dynamic puts puts \"msvcrt.dll\"\n"),
        "{out}"
    );
    assert!(
        out.contains("cgo_import_dynamic _ _ \"KERNEL32.dll\"\n"),
        "{out}"
    );
}

fn check_pe32_imports(out: &str) {
    // The stdcall decoration stays on the remote name only.
    assert!(
        out.contains("cgo_import_dynamic ExitProcess ExitProcess@4 \"KERNEL32.DLL\"\n"),
        "{out}"
    );
}

fn check_exports_dylib(out: &str) {
    let lib = "\"/usr/local/lib/libexp.1.dylib\"";
    assert!(
        out.contains(&format!("cgo_import_dynamic exp_add exp_add {lib}\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "cgo_import_dynamic exp_counter exp_counter {lib}\n"
        )),
        "{out}"
    );
    assert!(
        out.ends_with(&format!("cgo_import_dynamic _ _ {lib}\n")),
        "{out}"
    );
    assert!(
        !out.contains("hidden_fn") && !out.contains("static_fn"),
        "{out}"
    );
}

fn check_exports_dll(out: &str) {
    assert!(
        out.contains("cgo_import_dynamic exp_add exp_add \"libexp.dll\"\n"),
        "{out}"
    );
    assert!(
        out.contains("cgo_import_dynamic exp_twice exp_twice \"libexp.dll\"\n"),
        "{out}"
    );
    assert!(
        out.ends_with("cgo_import_dynamic _ _ \"libexp.dll\"\n"),
        "{out}"
    );
    assert!(
        !out.contains("hidden_fn") && !out.contains("static_fn"),
        "{out}"
    );
}

fn check_exports_libvers(out: &str) {
    let lib = "\"libvers.so.1\"";
    // The default (@@) version of each symbol; the hidden vers_both@VERS_1 is not offered.
    assert!(
        out.contains(&format!(
            "cgo_import_dynamic vers_both vers_both#VERS_2 {lib}\n"
        )),
        "{out}"
    );
    assert!(!out.contains("vers_both#VERS_1"), "{out}");
    assert!(
        out.contains(&format!(
            "cgo_import_dynamic vers_new vers_new#VERS_2 {lib}\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("cgo_import_dynamic plain plain#VERS_1 {lib}\n")),
        "{out}"
    );
    // Local, hidden and version-name symbols are not exports.
    for absent in [
        "secret",
        "local_only",
        "vers_old_impl",
        "vers_new_impl",
        " VERS_1 ",
        " VERS_2 ",
    ] {
        assert!(!out.contains(absent), "{absent} in {out}");
    }
    assert!(
        out.ends_with(&format!("cgo_import_dynamic _ _ {lib}\n")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 4, "{out}");
}

#[test]
fn committed_binaries_have_the_expected_facts() {
    let dir = testdata();
    check_macho_imports(&rlink(&read(&dir.join("macho_imports"))));
    check_pe_imports(&rlink(&read(&dir.join("pe_imports.exe"))));
    check_pe32_imports(&rlink(&read(&dir.join("pe32_imports.exe"))));
    check_exports_dylib(&exports(&read(&dir.join("libexp.dylib")), None));
    check_exports_dll(&exports(&read(&dir.join("libexp.dll")), None));
    check_exports_libvers(&exports(&read(&dir.join("libvers.so")), None));
}

/// Asserts facts about one file's output.
type Check = fn(&str);

/// The same checks on binaries built now, when gcc / clang + lld are here.
#[test]
fn freshly_built_binaries_have_the_expected_facts() {
    let dir = TempDir::new("build-rlink");
    if !build_testdata_into(&dir.0) {
        return;
    }
    let checks: &[(&str, Check, bool)] = &[
        ("macho_imports", check_macho_imports, false),
        ("pe_imports.exe", check_pe_imports, false),
        ("pe32_imports.exe", check_pe32_imports, false),
        ("libexp.dylib", check_exports_dylib, true),
        ("libexp.dll", check_exports_dll, true),
        ("libvers.so", check_exports_libvers, true),
    ];
    for (name, check, is_library) in checks {
        let file = dir.path(name);
        if !file.exists() {
            eprintln!("{name} not built (tools missing): skipped");
            continue;
        }
        let data = read(&file);
        check(&if *is_library {
            exports(&data, None)
        } else {
            rlink(&data)
        });
    }
}

#[test]
fn go_format_of_library_exports() {
    let opts = Options {
        format: OutputFormat::Go,
        package: "pkg".to_string(),
        ..Options::default()
    };
    let out = library_exports(&read(&testdata().join("libvers.so")), None, &opts).expect("exports");
    assert!(
        out.starts_with("package pkg\n//go:cgo_import_dynamic "),
        "{out}"
    );
    assert!(out.contains("//go:cgo_import_dynamic vers_both vers_both#VERS_2 \"libvers.so.1\"\n"));
    assert!(out.ends_with("//go:cgo_import_dynamic _ _ \"libvers.so.1\"\n"));
}

#[test]
fn system_libm_exports_sqrt_with_a_glibc_version() {
    let Some(libm) = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .into_iter()
    .map(Path::new)
    .find(|path| path.exists()) else {
        eprintln!("no libm.so.6: skipped");
        return;
    };
    let out = exports(&read(libm), None);
    let sqrt = out
        .lines()
        .find(|line| line.starts_with("cgo_import_dynamic sqrt "))
        .unwrap_or_else(|| panic!("no sqrt in {out}"));
    assert!(
        sqrt.starts_with("cgo_import_dynamic sqrt sqrt#GLIBC_"),
        "{sqrt}"
    );
    assert!(sqrt.ends_with(" \"libm.so.6\""), "{sqrt}");
    assert!(out.ends_with("cgo_import_dynamic _ _ \"libm.so.6\"\n"));
    // GLIBC_2.2.5 etc. are version names, not symbols.
    assert!(
        !out.contains("cgo_import_dynamic GLIBC_"),
        "version-name symbols listed"
    );
}

/// Without DT_SONAME the caller's name is used, and without either it is an error.
#[test]
fn library_without_soname_needs_a_fallback() {
    if !have("gcc") {
        eprintln!("gcc not on PATH: skipped");
        return;
    }
    let dir = TempDir::new("no-soname");
    std::fs::write(
        dir.path("x.c"),
        "int x_fn(void) { return 1; }\nint x_var = 2;\n",
    )
    .expect("writing x.c");
    let lib = dir.path("libx.so");
    run(Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(dir.path("x.c")));
    let data = read(&lib);
    assert!(library_exports(&data, None, &Options::default()).is_err());
    let out = exports(&data, Some("libx.so"));
    // No versions at all: plain names.
    assert!(
        out.contains("cgo_import_dynamic x_fn x_fn \"libx.so\"\n"),
        "{out}"
    );
    assert!(
        out.contains("cgo_import_dynamic x_var x_var \"libx.so\"\n"),
        "{out}"
    );
    assert!(
        out.ends_with("cgo_import_dynamic _ _ \"libx.so\"\n"),
        "{out}"
    );
}

/// A library built at test time with a version script: a default `@@` version and an older,
/// hidden one.
#[test]
fn versioned_library_built_now() {
    if !have("gcc") {
        eprintln!("gcc not on PATH: skipped");
        return;
    }
    let dir = TempDir::new("libvers");
    let lib = dir.path("libvers.so");
    run(Command::new("gcc")
        .args(["-shared", "-fPIC", "-O2"])
        .arg(format!(
            "-Wl,--version-script={}",
            testdata().join("libvers.map").display()
        ))
        .arg("-Wl,-soname,libvers.so.1")
        .arg("-o")
        .arg(&lib)
        .arg(testdata().join("libvers.c")));
    check_exports_libvers(&exports(&read(&lib), Some("ignored.so")));
}
