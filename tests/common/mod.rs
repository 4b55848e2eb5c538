//! Helpers shared by the integration tests: running the built `rlink`, and building inputs
//! with the real toolchains at test time. A missing tool fails the test loudly: CI installs
//! every tool these tests use (`.ci/run`), so a skip would only hide a broken setup.
#![allow(dead_code)]

pub mod llvm;
pub mod macho_loader;
pub mod programs;
pub mod wine;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn rlink_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rlink")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(rel: &str) -> PathBuf {
    repo().join("testdata").join(rel)
}

/// Runs rlink; returns (exit code, stdout, stderr).
pub fn rlink<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let out = Command::new(rlink_bin())
        .args(args)
        .output()
        .expect("rlink runs");
    decode(out)
}

pub fn decode(out: Output) -> (i32, String, String) {
    let code = out
        .status
        .code()
        .expect("exited, not killed by a signal (a panic abort would show here)");
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs rlink and wants success; returns stdout.
pub fn rlink_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let (code, stdout, stderr) = rlink(args);
    assert_eq!(code, 0, "rlink failed:\nstderr: {stderr}");
    stdout
}

/// Runs rlink and wants the one-line failure every bad input must give: exit status 1,
/// `rlink: error: …` on stderr, no panic.
pub fn rlink_fails<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let (code, _stdout, stderr) = rlink(args);
    assert_eq!(code, 1, "expected exit status 1, stderr: {stderr}");
    assert!(stderr.starts_with("rlink: error: "), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    stderr
}

/// Runs a build tool and wants success.
pub fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is required by this test (.ci/run installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// rustc's link inputs, captured by a stand-in linker that copies the objects away before
/// rustc deletes its temporary directory.
pub const RECORDER: &str = r#"#!/bin/sh
mkdir -p "$RLINK_RECORD"
: > "$RLINK_RECORD/args"
for a in "$@"; do
  case "$a" in
    *.o) cp "$a" "$RLINK_RECORD/"; printf '%s\n' "$RLINK_RECORD/$(basename "$a")" >> "$RLINK_RECORD/args" ;;
    *) printf '%s\n' "$a" >> "$RLINK_RECORD/args" ;;
  esac
done
"#;

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Release,
    Debug,
}

/// Compiles a test program and returns rlink's inputs: objects, rlibs and `-l` flags in
/// rustc's order.
pub fn compile(dir: &Path, program: &str, mode: Mode) -> Vec<String> {
    compile_with(dir, program, mode, &[])
}

/// Builds the runtime-stubs crate as an rlib with rustc alone (without its `entry` feature, so
/// it needs no dependency) and returns the rustc flags that let a program use it.
pub fn runtime_stubs_rlib(dir: &Path) -> Vec<String> {
    let src = repo().join("runtime-stubs/src/lib.rs");
    run(
        "rustc",
        &[
            "--edition=2021",
            "--crate-type=rlib",
            "--crate-name=rlink_runtime_stubs",
            "-Copt-level=2",
            "--out-dir",
            ".",
            src.to_str().unwrap(),
        ],
        dir,
    );
    vec![
        "--extern".to_string(),
        format!(
            "rlink_runtime_stubs={}",
            dir.join("librlink_runtime_stubs.rlib").display()
        ),
    ]
}

/// `compile` with extra rustc arguments.
pub fn compile_with(dir: &Path, program: &str, mode: Mode, extra: &[String]) -> Vec<String> {
    let recorder = dir.join("record.sh");
    std::fs::write(&recorder, RECORDER).unwrap();
    run("chmod", &["+x", recorder.to_str().unwrap()], dir);
    let record = dir.join("record");
    let src = testdata(&format!("programs/{program}.rs"));
    let mut cmd = Command::new("rustc");
    cmd.args([
        "--edition=2021",
        "-C",
        &format!("linker={}", recorder.display()),
    ]);
    match mode {
        Mode::Release => cmd.args(["-C", "opt-level=2"]),
        Mode::Debug => cmd.args(["-C", "opt-level=0", "-C", "debuginfo=2"]),
    };
    let out = cmd
        .args(extra)
        .arg(&src)
        .arg("-o")
        .arg(dir.join("unused"))
        .env("RLINK_RECORD", &record)
        .current_dir(dir)
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "rustc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = std::fs::read_to_string(record.join("args")).unwrap();
    args.lines()
        .filter(|a| a.ends_with(".o") || a.ends_with(".rlib") || a.starts_with("-l"))
        .map(str::to_string)
        .collect()
}

/// Compiles testdata/programs/nostd_directives.rs to `dir/nsd.o`: a no_std program whose every
/// import comes from directives in the object.
pub fn compile_no_std_object(dir: &Path) -> PathBuf {
    let src = testdata("programs/nostd_directives.rs");
    run(
        "rustc",
        &[
            "--edition=2021",
            "-Cpanic=abort",
            "-Copt-level=2",
            "--emit=obj",
            "--crate-type=bin",
            "-o",
            "nsd.o",
            src.to_str().unwrap(),
        ],
        dir,
    );
    dir.join("nsd.o")
}

/// What testdata/programs/c_trace.rs prints without arguments.
pub const C_TRACE_OUTPUT: &str =
    "names the callback: true\nnames the C function: true\nnames the Rust caller: true\ncaught: false\n";

/// What testdata/programs/signals.rs prints.
pub const SIGNALS_OUTPUT: &str = "SIGINT: handled true, on the system stack true\n\
    SIGTERM: handled true, on the system stack true\nSIGUSR1: handled true, on the system stack true\n";

/// What testdata/programs/system_stack.rs prints.
pub const SYSTEM_STACK_OUTPUT: &str =
    "deep call from a 16 KiB stack returned 2\npanic resumed in Rust: Some(\"callback panic\"), cleanup ran 1 time(s)\n";

/// Builds testdata/programs/c_calls.c with cc into `dir/c_calls.o` (the C half of the c_calls
/// program) and returns its path as a link input.
pub fn c_calls_object(dir: &Path) -> String {
    c_object(dir, "cc", "c_calls")
}

/// Builds testdata/programs/PROGRAM.c with the C compiler `cc` (`-O2 -pthread`) into
/// `dir/PROGRAM.o`, the C half of a test program, and returns its path as a link input.
pub fn c_object(dir: &Path, cc: &str, program: &str) -> String {
    let src = testdata(&format!("programs/{program}.c"));
    let out = format!("{program}.o");
    run(
        cc,
        &["-O2", "-pthread", "-c", "-o", &out, src.to_str().unwrap()],
        dir,
    );
    dir.join(out).display().to_string()
}

/// The rustc and cargo that build for other targets: Debian's `rustc-web` and `cargo-web`, whose
/// standard library source (`rust-web-src`) builds std for any target (`-Zbuild-std`). rustup's
/// toolchain cannot add targets here.
pub const CROSS_RUSTC: &str = "/usr/bin/rustc";
pub const CROSS_CARGO: &str = "/usr/bin/cargo";

/// A sysroot holding std (and `test`, for cargo's test harnesses) for `triple`, built from
/// source once per machine (in
/// `target/cross-sysroot/TRIPLE`, a minute or three per target) and shared by every test and
/// every later run: rustc compiles the test programs against it, and cargo projects use it
/// through `--sysroot`.
pub fn cross_sysroot(triple: &str) -> PathBuf {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let root = repo().join("target/cross-sysroot").join(triple);
    // The marker names what was built: a sysroot from before `test` was added is rebuilt.
    let done = root.join("complete-std-panic_abort-test");
    if done.exists() {
        return root;
    }
    let builder = repo().join("target/cross-std/builder");
    std::fs::create_dir_all(builder.join("src")).unwrap();
    std::fs::write(
        builder.join("Cargo.toml"),
        "[package]\nname = \"std-builder\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(builder.join("src/lib.rs"), "").unwrap();
    let target_dir = repo().join("target/cross-std/target").join(triple);
    // A partial or older build may hold rlibs under other hashes: rustc would see two
    // candidates for a crate. Start both places clean.
    let _ = std::fs::remove_dir_all(&target_dir);
    let _ = std::fs::remove_dir_all(&root);
    let path = format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default());
    let out = Command::new(CROSS_CARGO)
        .args([
            "build",
            "--release",
            "-Zbuild-std=std,panic_abort,test",
            "--target",
            triple,
            "--target-dir",
        ])
        .arg(&target_dir)
        .current_dir(&builder)
        .env("PATH", path)
        .env("RUSTC", CROSS_RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap_or_else(|e| {
            panic!("{CROSS_CARGO} (package cargo-web, .ci/run installs it) is required: {e}")
        });
    assert!(
        out.status.success(),
        "building std for {triple} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = root.join("lib/rustlib").join(triple).join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let deps = target_dir.join(triple).join("release/deps");
    for e in std::fs::read_dir(&deps).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rlib") {
            std::fs::copy(&p, lib.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(&done, "").unwrap();
    root
}

/// Compiles a test program for `triple` against its built std and returns rlink's inputs
/// (objects, rlibs, `-l` flags in rustc's order), as `compile` does for the host.
pub fn compile_cross(
    dir: &Path,
    program: &str,
    mode: Mode,
    triple: &str,
    extra: &[String],
) -> Vec<String> {
    let sysroot = cross_sysroot(triple);
    let recorder = dir.join("record.sh");
    std::fs::write(&recorder, RECORDER).unwrap();
    run("chmod", &["+x", recorder.to_str().unwrap()], dir);
    let record = dir.join("record");
    let src = testdata(&format!("programs/{program}.rs"));
    let mut cmd = Command::new(CROSS_RUSTC);
    cmd.args(["--edition=2021", "--target", triple, "--sysroot"])
        .arg(&sysroot)
        .arg("-C")
        .arg(format!("linker={}", recorder.display()));
    match mode {
        Mode::Release => cmd.args(["-C", "opt-level=2"]),
        Mode::Debug => cmd.args(["-C", "opt-level=0", "-C", "debuginfo=2"]),
    };
    let out = cmd
        .args(extra)
        .arg(&src)
        .arg("-o")
        .arg(dir.join("unused"))
        .env("RLINK_RECORD", &record)
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(dir)
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "rustc --target {triple} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = std::fs::read_to_string(record.join("args")).unwrap();
    args.lines()
        .filter(|a| a.ends_with(".o") || a.ends_with(".rlib") || a.starts_with("-l"))
        .map(str::to_string)
        .collect()
}

/// Builds the runtime-stubs crate as an rlib for `triple` and returns the rustc flags that let
/// a program use it.
pub fn runtime_stubs_rlib_for(dir: &Path, triple: &str) -> Vec<String> {
    let sysroot = cross_sysroot(triple);
    let src = repo().join("runtime-stubs/src/lib.rs");
    let out = Command::new(CROSS_RUSTC)
        .args([
            "--edition=2021",
            "--crate-type=rlib",
            "--crate-name=rlink_runtime_stubs",
            "-Copt-level=2",
            "--target",
            triple,
            "--sysroot",
        ])
        .arg(&sysroot)
        .arg("--out-dir")
        .arg(dir)
        .arg(&src)
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "rustc runtime-stubs for {triple}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    vec![
        "--extern".to_string(),
        format!(
            "rlink_runtime_stubs={}",
            dir.join("librlink_runtime_stubs.rlib").display()
        ),
    ]
}

/// Copies the fixture project into `dir` with a `.cargo/config.toml` saying `config`.
pub fn project(dir: &Path, config: &str) -> PathBuf {
    let src = repo().join("testdata/cargo-project");
    let dst = dir.join("project");
    for rel in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "csrc/helper.c",
        "src/lib.rs",
        "src/main.rs",
    ] {
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), &to).unwrap();
    }
    std::fs::create_dir_all(dst.join(".cargo")).unwrap();
    std::fs::write(dst.join(".cargo/config.toml"), config).unwrap();
    dst
}

/// Every ELF executable cargo produced (the binary, test harnesses, build scripts).
pub fn elf_executables(target: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![target.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            use std::os::unix::fs::PermissionsExt as _;
            let executable = path.metadata().unwrap().permissions().mode() & 0o111 != 0;
            let bytes = std::fs::read(&path).unwrap_or_default();
            let is_exe =
                bytes.len() > 18 && &bytes[..4] == b"\x7fELF" && (bytes[16] == 3 || bytes[16] == 2);
            let shared_lib = path.extension().is_some_and(|e| e == "so");
            if executable && is_exe && !shared_lib {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// rlink writes `rlink VERSION` first in `.comment`.
pub fn linked_by_rlink(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    let mark = format!("rlink {}\0", env!("CARGO_PKG_VERSION"));
    bytes.windows(mark.len()).any(|w| w == mark.as_bytes())
}

/// The glibc version nodes an output needs (`.gnu.version_r`), as llvm-readelf lists them.
pub fn needed_versions(prog: &Path) -> Vec<String> {
    let out = Command::new("llvm-readelf")
        .arg("-V")
        .arg(prog)
        .output()
        .expect("llvm-readelf (package llvm) runs");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("Name: ").nth(1))
        .filter_map(|n| n.split_whitespace().next())
        .filter(|n| n.starts_with("GLIBC_") || n.starts_with("GCC_"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}
