//! Helpers shared by the integration tests: paths, tool detection, and running Go's cgo.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rlink_dynimport::{dynimport, Options, OutputFormat};

/// `testdata/dynimport` of the workspace.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join("dynimport")
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

pub fn read_text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("golden files are UTF-8")
}

/// Whether `tool` runs (`tool --version` or `tool -version` succeeds or at least starts).
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

pub fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A fresh directory for one test's build products, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("rlink-dynimport-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a command, panicking with its output if it fails.
pub fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|err| panic!("running {command:?}: {err}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("command output is UTF-8")
}

/// `go tool cgo [-dynlinker] [-dynpackage P] -dynimport FILE`.
pub fn go_dynimport(file: &Path, dynlinker: bool, package: Option<&str>) -> String {
    let mut command = Command::new("go");
    command.args(["tool", "cgo"]);
    if dynlinker {
        command.arg("-dynlinker");
    }
    if let Some(package) = package {
        command.args(["-dynpackage", package]);
    }
    // cgo writes _obj/ files only when translating Go code; run it in a scratch directory
    // anyway so nothing lands in the source tree.
    command.current_dir(std::env::temp_dir());
    command.arg("-dynimport").arg(file);
    run(&mut command)
}

pub fn go_options(dynlinker: bool, package: Option<&str>) -> Options {
    Options {
        format: OutputFormat::Go,
        dynlinker,
        package: package.unwrap_or("main").to_string(),
    }
}

/// Our Go-format output for `file`.
pub fn ours_go(file: &Path, dynlinker: bool, package: Option<&str>) -> String {
    dynimport(&read(file), &go_options(dynlinker, package))
        .unwrap_or_else(|err| panic!("{}: {err}", file.display()))
}

/// Asserts line-for-line equality, naming the first differing line.
pub fn assert_same_lines(ours: &str, reference: &str, what: &str) {
    let ours_lines: Vec<&str> = ours.lines().collect();
    let reference_lines: Vec<&str> = reference.lines().collect();
    for (index, (a, b)) in ours_lines.iter().zip(&reference_lines).enumerate() {
        assert_eq!(a, b, "{what}: line {} differs", index + 1);
    }
    assert_eq!(
        ours_lines.len(),
        reference_lines.len(),
        "{what}: line counts differ\nours:\n{ours}\nreference:\n{reference}"
    );
    assert_eq!(ours, reference, "{what}: trailing newline differs");
}

/// Compares our Go-format output with Go's for the three flag sets the tests use.
pub fn assert_matches_go(file: &Path) {
    for (dynlinker, package) in [
        (false, None),
        (true, None),
        (false, Some("foo")),
        (true, Some("foo")),
    ] {
        let what = format!(
            "{} (dynlinker={dynlinker}, package={package:?})",
            file.display()
        );
        assert_same_lines(
            &ours_go(file, dynlinker, package),
            &go_dynimport(file, dynlinker, package),
            &what,
        );
    }
}

/// Runs testdata/dynimport/build.sh into `dir`; returns false when `sh` is missing.
pub fn build_testdata_into(dir: &Path) -> bool {
    if Command::new("sh").args(["-c", "true"]).output().is_err() {
        return false;
    }
    run(Command::new("sh").arg(testdata().join("build.sh")).arg(dir));
    true
}
