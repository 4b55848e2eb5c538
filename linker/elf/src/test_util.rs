//! Helpers for this crate's unit tests: a fresh directory per test, and running the real tools
//! (CI installs every one; a missing tool fails the test loudly).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory per test, so parallel tests do not share outputs.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlink-elf-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a tool in `dir` and wants success; returns its stdout.
pub fn run(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let output = match Command::new(program).args(args).current_dir(dir).output() {
        Ok(o) => o,
        Err(e) => panic!("{program} is required by this test (.ci/run installs it): {e}"),
    };
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}
