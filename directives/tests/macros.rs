//! The emitting macros, checked by reading the directives back out of real binaries: this test's
//! own executable, and objects compiled at test time from small crates that use the macros.

mod common;

use std::path::PathBuf;

use common::{path_str, run, rustc, Scratch};
use rlink_directives::{directives_in_file, section_in_object, sections_in_object};

rlink_directives::cgo_import_dynamic!(my_sqrt, "sqrt#GLIBC_2.2.5", "libm.so.6");
rlink_directives::cgo_import_dynamic!(puts);
rlink_directives::cgo_import_dynamic!(putchar, "putchar");
rlink_directives::cgo_import_dynamic!(my_cos, "cos@GLIBC_2.2.5");
rlink_directives::cgo_import_dynamic!("fopen$UNIX2003", "fopen", "");
rlink_directives::cgo_needed_library!("libm.so.6");
rlink_directives::cgo_import_static!(my_c_helper);
rlink_directives::cgo_export_static!(rust_fn);
rlink_directives::cgo_export_static!(rust_fn, "c_name");
rlink_directives::cgo_export_dynamic!(rust_fn);
rlink_directives::cgo_export_dynamic!(rust_fn, "rust_fn");
rlink_directives::cgo_export_dynamic!(other_fn, "c_other");
rlink_directives::cgo_dynamic_linker!("/lib64/ld-linux-x86-64.so.2");
rlink_directives::cgo_ldflag!("-lm");

/// The same macro twice in one module must not clash.
mod twice {
    rlink_directives::cgo_import_static!(first_helper);
    rlink_directives::cgo_import_static!(second_helper);
    rlink_directives::cgo_ldflag!("-lfirst");
    rlink_directives::cgo_ldflag!("-lsecond");
}

/// The canonical lines the invocations above must produce, in invocation order.
const EXPECTED: &[&str] = &[
    "cgo_import_dynamic my_sqrt sqrt#GLIBC_2.2.5 \"libm.so.6\"",
    "cgo_import_dynamic puts",
    "cgo_import_dynamic putchar",
    "cgo_import_dynamic my_cos cos#GLIBC_2.2.5",
    "cgo_import_dynamic fopen$UNIX2003 fopen \"\"",
    "cgo_import_dynamic _ _ \"libm.so.6\"",
    "cgo_import_static my_c_helper",
    "cgo_export_static rust_fn",
    "cgo_export_static rust_fn c_name",
    "cgo_export_dynamic rust_fn",
    "cgo_export_dynamic rust_fn",
    "cgo_export_dynamic other_fn c_other",
    "cgo_dynamic_linker \"/lib64/ld-linux-x86-64.so.2\"",
    "cgo_ldflag \"-lm\"",
    "cgo_import_static first_helper",
    "cgo_import_static second_helper",
    "cgo_ldflag \"-lfirst\"",
    "cgo_ldflag \"-lsecond\"",
];

/// The invocations above as source for a separately compiled crate.
fn invocations_source() -> String {
    let source = include_str!("macros.rs");
    let start = source
        .find("rlink_directives::cgo_import_dynamic!(my_sqrt")
        .unwrap();
    let end = source.find("/// The canonical lines").unwrap();
    source[start..end].to_string()
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

fn expected_sorted() -> Vec<String> {
    sorted(EXPECTED.iter().map(ToString::to_string).collect())
}

#[test]
fn own_executable_carries_the_directives() {
    let exe = std::env::current_exe().expect("current_exe");
    let bytes = std::fs::read(&exe).expect("read own executable");
    // The system linker keeps `#[used]` sections of objects it links directly. Several codegen
    // units may each hold some of the statics, in no fixed order, so compare as multisets.
    let Some((section, raw)) = section_in_object(&bytes).expect("own executable is readable")
    else {
        panic!("{}: no directive section", exe.display());
    };
    assert!(raw.ends_with(b"\n"));
    let found = directives_in_file(&bytes).expect("own directives parse");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].section, section);
    let lines = found[0]
        .directives
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(sorted(lines), expected_sorted());
}

/// The directory of this test's dependencies and the `rlink_directives` rlib in it. Any of
/// several builds (features differ) will do: the macros do not depend on features.
fn dependency_rlib() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps directory").to_path_buf();
    let newest = std::fs::read_dir(&deps)
        .expect("read deps directory")
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("librlink_directives-") && name.ends_with(".rlib")
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .expect("librlink_directives rlib next to the test executable");
    (deps, newest.path())
}

/// Compiles `source` as an object for the host with the macros available; returns the object
/// or rustc's stderr.
fn compile_with_macros(scratch: &Scratch, name: &str, source: &str) -> Result<Vec<u8>, String> {
    let (deps, rlib) = dependency_rlib();
    let source_path = scratch.write(&format!("{name}.rs"), source);
    let object = scratch.path.join(format!("{name}.o"));
    let output = run(rustc()
        .args([
            "--edition=2024",
            "--crate-type=lib",
            "--emit=obj",
            "-Ccodegen-units=1",
        ])
        .args(["--crate-name", name])
        .arg(format!("-Ldependency={}", path_str(&deps)))
        .arg(format!("--extern=rlink_directives={}", path_str(&rlib)))
        .arg("-o")
        .arg(&object)
        .arg(&source_path));
    if output.status.success() {
        Ok(std::fs::read(&object).expect("read object"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn no_std_edition_2024_object() {
    // A no_std crate in edition 2024, where `link_section` must be spelled `unsafe(...)`, with
    // a single codegen unit, so the bytes can be checked exactly.
    let scratch = Scratch::new("macro-object");
    // Warnings are errors: the expansion must be clean even where unsafe code is denied.
    let source = format!(
        "#![no_std]\n#![deny(warnings, unsafe_code)]\n{}",
        invocations_source()
    );
    let object =
        compile_with_macros(&scratch, "uses_macros", &source).unwrap_or_else(|e| panic!("{e}"));
    // One ELF section per static (see `section_in_object`), so gather them all.
    let (section, sections) = sections_in_object(&object).unwrap().unwrap();
    assert_eq!(section, ".rlink.directives");
    let raw = sections.concat();
    // Exactly the lines, each ending in a newline, and nothing else.
    let expected_bytes: Vec<String> = EXPECTED.iter().map(|line| format!("{line}\n")).collect();
    let mut raw_lines: Vec<String> = String::from_utf8(raw.to_vec())
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect();
    raw_lines.sort();
    let mut expected_bytes = expected_bytes;
    expected_bytes.sort();
    assert_eq!(raw_lines, expected_bytes);
    let found = directives_in_file(&object).unwrap();
    let lines = found[0]
        .directives
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(sorted(lines), expected_sorted());
}

#[test]
fn invalid_names_fail_to_compile() {
    let scratch = Scratch::new("macro-errors");
    let cases = [
        (
            "rlink_directives::cgo_import_static!(\"a b\");",
            "must not contain whitespace",
        ),
        (
            "rlink_directives::cgo_import_static!(\"\");",
            "must not be empty",
        ),
        (
            "rlink_directives::cgo_export_dynamic!(f, \"c\\\"name\");",
            "must not contain",
        ),
        (
            "rlink_directives::cgo_import_dynamic!(f, \"sqrt#\");",
            "empty symbol version",
        ),
        (
            "rlink_directives::cgo_import_dynamic!(f, \"@V\");",
            "empty symbol name",
        ),
        (
            "rlink_directives::cgo_import_dynamic!(\"_\", \"_\", \"libm.so.6\");",
            "use cgo_needed_library!",
        ),
        (
            "rlink_directives::cgo_import_dynamic!(f, \"f\", \"lib\\u{1}\");",
            "control characters",
        ),
        (
            "rlink_directives::cgo_needed_library!(\"\");",
            "must not be empty",
        ),
        (
            "rlink_directives::cgo_ldflag!(\"-l\\tm\");",
            "control characters",
        ),
        (
            "rlink_directives::cgo_dynamic_linker!(\"\");",
            "must not be empty",
        ),
    ];
    for (index, (invocation, message)) in cases.into_iter().enumerate() {
        let source = format!("#![no_std]\n{invocation}\n");
        match compile_with_macros(&scratch, &format!("bad{index}"), &source) {
            Ok(_) => panic!("{invocation} compiled"),
            Err(stderr) => assert!(stderr.contains(message), "{invocation}:\n{stderr}"),
        }
    }
}
