//! Helpers shared by the integration tests: running the built `rlink`, and building inputs
//! with the real toolchains at test time. A missing tool fails the test loudly: CI installs
//! every tool these tests use (`.ci/run`), so a skip would only hide a broken setup.
#![allow(dead_code)]

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
