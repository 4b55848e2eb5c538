//! Helpers shared by the integration tests: scratch directories and compiling test inputs with
//! the tools on the machine (rustc always; clang and ar when present).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory removed when dropped. Unique per process and call, so parallel tests
/// never share files.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "rlink-directives-{}-{label}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create scratch directory");
        Scratch { path }
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    output
}

pub fn run_ok(command: &mut Command) {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn tool_exists(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false)
}

pub fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

/// Compiles `source` (a library crate) to an object file and returns its bytes.
pub fn rustc_object(scratch: &Scratch, name: &str, source: &str, args: &[&str]) -> Vec<u8> {
    let source_path = scratch.write(&format!("{name}.rs"), source);
    let object_path = scratch.path.join(format!("{name}.o"));
    run_ok(
        rustc()
            .args([
                "--crate-type=lib",
                "--emit=obj",
                "-Ccodegen-units=1",
                "--crate-name",
            ])
            .arg(name)
            .args(args)
            .arg("-o")
            .arg(&object_path)
            .arg(&source_path),
    );
    std::fs::read(&object_path).expect("read object")
}

/// `bytes` as a Rust byte-string literal.
pub fn byte_string(bytes: &[u8]) -> String {
    let escaped: String = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!("b\"{escaped}\"")
}

/// A `#![no_std]` library for the host with one `#[used]` static per entry of `lines` in
/// `section`. Statics whose `align` is above 1 are wrapped in an aligned struct so the compiler
/// pads between them with NULs, as it does for real directive statics of other sizes.
pub fn host_directives_source(section: &str, lines: &[(&[u8], usize)]) -> String {
    let mut source = String::from("#![no_std]\n");
    for (index, (bytes, align)) in lines.iter().enumerate() {
        let len = bytes.len();
        source.push_str(&format!(
            "#[repr(C, align({align}))]\npub struct Wrapper{index}([u8; {len}]);\n\
             #[used]\n#[unsafe(link_section = \"{section}\")]\n\
             static DIRECTIVE_{index}: Wrapper{index} = Wrapper{index}(*{});\n",
            byte_string(bytes)
        ));
    }
    source
}

/// The same for any target, without `core`: a `no_core` crate defining the few language items
/// a static of a byte array needs, so objects for targets without an installed standard library
/// (Mach-O, COFF, big-endian ELF) can be built by the stable compiler with `RUSTC_BOOTSTRAP=1`.
pub fn no_core_directives_source(section: &str, lines: &[(&[u8], usize)]) -> String {
    let mut source = String::from(
        "#![feature(no_core, lang_items, freeze_impls)]\n#![allow(internal_features)]\n#![no_core]\n\
         #[lang = \"pointee_sized\"] pub trait PointeeSized {}\n\
         #[lang = \"meta_sized\"] pub trait MetaSized: PointeeSized {}\n\
         #[lang = \"sized\"] pub trait Sized: MetaSized {}\n\
         #[lang = \"copy\"] pub trait Copy {}\n\
         #[lang = \"sync\"] pub unsafe trait Sync {}\n\
         #[lang = \"freeze\"] pub unsafe trait Freeze {}\n\
         #[lang = \"drop_in_place\"] pub unsafe fn drop_in_place<T: PointeeSized>(_: *mut T) {}\n",
    );
    for (index, (bytes, align)) in lines.iter().enumerate() {
        let len = bytes.len();
        let elements: Vec<String> = bytes.iter().map(u8::to_string).collect();
        source.push_str(&format!(
            "#[repr(C, align({align}))]\npub struct Wrapper{index}([u8; {len}]);\n\
             unsafe impl Sync for Wrapper{index} {{}}\n\
             unsafe impl Freeze for Wrapper{index} {{}}\n\
             #[used]\n#[unsafe(link_section = \"{section}\")]\n\
             static DIRECTIVE_{index}: Wrapper{index} = Wrapper{index}([{}]);\n",
            elements.join(", ")
        ));
    }
    source
}

/// Compiles a [`no_core_directives_source`] crate for `target`.
pub fn cross_object(
    scratch: &Scratch,
    name: &str,
    target: &str,
    section: &str,
    lines: &[(&[u8], usize)],
) -> Vec<u8> {
    let source = no_core_directives_source(section, lines);
    let source_path = scratch.write(&format!("{name}.rs"), source);
    let object_path = scratch.path.join(format!("{name}.o"));
    run_ok(
        rustc()
            .env("RUSTC_BOOTSTRAP", "1")
            .args([
                "--edition=2021",
                "--crate-type=lib",
                "--emit=obj",
                "-Ccodegen-units=1",
            ])
            .args(["--crate-name", name, "--target", target, "-o"])
            .arg(&object_path)
            .arg(&source_path),
    );
    std::fs::read(&object_path).expect("read object")
}

/// Assembles `source` with clang for `target`; `None` when clang is not installed.
pub fn clang_object(scratch: &Scratch, name: &str, target: &str, source: &str) -> Option<Vec<u8>> {
    assert!(
        tool_exists("clang"),
        "clang is required by this test ({name}); .ci/run installs it"
    );
    let source_path = scratch.write(&format!("{name}.s"), source);
    let object_path = scratch.path.join(format!("{name}.o"));
    run_ok(
        Command::new("clang")
            .arg(format!("--target={target}"))
            .arg("-c")
            .arg("-o")
            .arg(&object_path)
            .arg(&source_path),
    );
    Some(std::fs::read(&object_path).expect("read object"))
}

/// Builds an archive of `members` (name, bytes) with `tool` (`ar` or `llvm-ar`) and extra
/// flags, in member order; `None` when the tool is missing.
pub fn archive(
    scratch: &Scratch,
    tool: &str,
    flags: &[&str],
    members: &[(&str, &[u8])],
) -> Option<Vec<u8>> {
    assert!(
        tool_exists(tool),
        "{tool} is required by this test; .ci/run installs it"
    );
    let dir = Scratch::new("archive");
    let archive_path = scratch.path.join(format!("lib{}.a", members.len()));
    let _ = std::fs::remove_file(&archive_path);
    let mut command = Command::new(tool);
    command.args(flags).arg("rcs").arg(&archive_path);
    for (name, bytes) in members {
        command.arg(dir.write(name, bytes));
    }
    run_ok(&mut command);
    Some(std::fs::read(&archive_path).expect("read archive"))
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}
