//! `rlink inspect` on PE/COFF: objects compiled here by clang for x86_64, i686 and arm64
//! Windows, a bigobj object, a hand-made short import object, and the linked images committed
//! under `testdata/dynimport`.
//!
//! clang is required: CI installs it, and a missing compiler fails these tests rather than
//! skipping them.

use std::path::{Path, PathBuf};
use std::process::Command;

use rlink_linker::format::Format;
use rlink_linker::inspect::InspectOptions;
use rlink_pe::Pe;

const SOURCE: &str = r#"
#pragma comment(lib, "kernel32")
#pragma comment(linker, "/EXPORT:exported_fn")
#pragma comment(linker, "/INCLUDE:\"spaced name\"")
__declspec(dllimport) void __stdcall ExitProcess(unsigned);
int puts(const char *);
extern int weak_fn(void) __attribute__((weak));
static int zeroed;
__declspec(selectany) int chosen = 5;
int *pointer = &chosen;
int exported_fn(void) { return 1; }
int main(void) {
    puts("hello");
    zeroed++;
    if (weak_fn) weak_fn();
    ExitProcess(zeroed + *pointer);
    return 0;
}
"#;

fn clang_object(target: &str, source: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let c = dir.path().join("t.c");
    let o = dir.path().join("t.obj");
    std::fs::write(&c, source).expect("write source");
    let status = Command::new("clang")
        .args([&format!("--target={target}"), "-O1", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .unwrap_or_else(|e| panic!("clang is required for these tests (CI installs it): {e}"));
    assert!(status.success(), "clang --target={target} failed");
    std::fs::read(&o).expect("read object")
}

fn testdata(name: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/dynimport")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dump(data: &[u8]) -> String {
    let text = Pe
        .inspect(data, &InspectOptions::default())
        .expect("inspect")
        .render(&InspectOptions::default());
    // Same bytes, same dump.
    let again = Pe
        .inspect(data, &InspectOptions::default())
        .expect("inspect")
        .render(&InspectOptions::default());
    assert_eq!(text, again);
    text
}

fn assert_lines(text: &str, lines: &[&str]) {
    for l in lines {
        assert!(
            text.lines().any(|have| have == *l),
            "missing line {l:?} in:\n{text}"
        );
    }
}

#[test]
fn x86_64_object() {
    let text = dump(&clang_object("x86_64-pc-windows-msvc", SOURCE));
    assert_lines(
        &text,
        &[
            "format: COFF object",
            "machine: AMD64",
            "type: relocatable object",
            "  .bss UNINITIALIZED_DATA READ|WRITE size=4 align=4",
            "  __imp_ExitProcess",
            "  puts",
            "  weak_fn weak",
            "  chosen",
            "  exported_fn",
            "  main",
            "  pointer",
            "linker directives (.drectve): 3",
            "  /DEFAULTLIB:kernel32.lib",
            "  /EXPORT:exported_fn",
            "  /INCLUDE:\"spaced name\"",
        ],
    );
    assert!(text.contains("\n  .text CODE EXECUTE|READ size="), "{text}");
    assert!(
        text.contains("\n  .drectve OTHER LNK_INFO|LNK_REMOVE size="),
        "{text}"
    );
    // selectany data and string literals are COMDATs.
    assert!(
        text.contains("\n  .data INITIALIZED_DATA LNK_COMDAT|READ|WRITE size=4 align=4\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  .rdata INITIALIZED_DATA LNK_COMDAT|READ size=6 align=1\n"),
        "{text}"
    );
    assert!(text.contains("\n  IMAGE_REL_AMD64_REL32 "), "{text}");
    assert!(text.contains("\n  IMAGE_REL_AMD64_ADDR64 "), "{text}");
    assert!(text.contains("\n  IMAGE_REL_AMD64_ADDR32NB "), "{text}");
    assert!(
        !text.contains("zeroed"),
        "static symbols are not exports: {text}"
    );
    assert!(!text.contains("entry:"), "{text}");
}

#[test]
fn i386_and_arm64_objects() {
    let text = dump(&clang_object("i686-pc-windows-msvc", SOURCE));
    assert_lines(
        &text,
        &[
            "machine: I386",
            "  __imp__ExitProcess@4",
            "  _puts",
            "  _main",
        ],
    );
    assert!(text.contains("\n  IMAGE_REL_I386_DIR32 "), "{text}");
    assert!(text.contains("\n  IMAGE_REL_I386_REL32 "), "{text}");

    let text = dump(&clang_object("aarch64-pc-windows-msvc", SOURCE));
    assert_lines(&text, &["machine: ARM64", "  __imp_ExitProcess"]);
    assert!(text.contains("\n  IMAGE_REL_ARM64_BRANCH26 "), "{text}");
    assert!(
        text.contains("\n  IMAGE_REL_ARM64_PAGEBASE_REL21 "),
        "{text}"
    );
}

#[test]
fn bigobj_object() {
    // Past 65279 sections LLVM writes the bigobj header on its own.
    let source: String = (0..65300)
        .map(|i| format!("__attribute__((section(\".d${i}\"))) char v{i} = 1;\n"))
        .collect();
    let text = dump(&clang_object("x86_64-pc-windows-msvc", &source));
    assert_lines(
        &text,
        &[
            "format: COFF bigobj object",
            "machine: AMD64",
            "  .d$65299 INITIALIZED_DATA READ|WRITE size=1 align=1",
            "  v65299",
        ],
    );
}

#[test]
fn short_import_object() {
    // IMPORT_OBJECT_HEADER: Sig1 0, Sig2 0xffff, version 0, machine AMD64, timestamp,
    // size of data, hint 7, type CODE with name type NAME; then the symbol and DLL names.
    let names = b"ExitProcess\0KERNEL32.dll\0";
    let mut data = vec![0, 0, 0xff, 0xff, 0, 0, 0x64, 0x86, 0, 0, 0, 0];
    data.extend_from_slice(&(names.len() as u32).to_le_bytes());
    data.extend_from_slice(&[7, 0, 0x04, 0]);
    data.extend_from_slice(names);
    let text = dump(&data);
    assert_lines(
        &text,
        &[
            "format: COFF import object",
            "machine: AMD64",
            "import type: code",
            "imports: ExitProcess from KERNEL32.dll",
            "  ExitProcess from KERNEL32.dll",
        ],
    );
    for len in 0..data.len() {
        assert!(
            Pe.inspect(&data[..len], &InspectOptions::default())
                .is_err(),
            "cut to {len}"
        );
    }
}

#[test]
fn pe32_plus_executable() {
    let data = testdata("pe_imports.exe");
    let text = dump(&data);
    assert_lines(
        &text,
        &[
            "format: PE32+",
            "machine: AMD64",
            "type: executable",
            "characteristics: EXECUTABLE_IMAGE|LARGE_ADDRESS_AWARE",
            "subsystem: WINDOWS_CUI",
            "dll characteristics: HIGH_ENTROPY_VA|DYNAMIC_BASE|NX_COMPAT|TERMINAL_SERVER_AWARE",
            "image base: 0x140000000",
            "entry: .text+0x0",
            "  .text CODE EXECUTE|READ size=38 align=4096",
            "  .rdata INITIALIZED_DATA READ size=248 align=4096",
            "needed: 2",
            "  KERNEL32.dll",
            "  msvcrt.dll",
            "  ExitProcess from KERNEL32.dll",
            "  GetStdHandle from KERNEL32.dll",
            "  puts from msvcrt.dll",
            "data directories: 4",
            "  IMPORT size=60",
            "  EXCEPTION size=12",
            "  IAT size=40",
        ],
    );
    let full = Pe
        .inspect(&data, &InspectOptions { addresses: true })
        .expect("inspect")
        .render(&InspectOptions { addresses: true });
    assert!(full.contains("entry: .text+0x0 (0x140001000)\n"), "{full}");
    assert!(full.contains(" addr=0x140002000\n"), "{full}");
}

#[test]
fn pe32_executable_with_base_relocations() {
    let text = dump(&testdata("pe32_imports.exe"));
    assert_lines(
        &text,
        &[
            "format: PE32",
            "machine: I386",
            "  KERNEL32.DLL",
            "  ExitProcess@4 from KERNEL32.DLL",
            "  Deco@4 from KERNEL32.DLL",
            "  .reloc INITIALIZED_DATA DISCARDABLE|READ size=12 align=4096",
            "relocations: 2",
            "  IMAGE_REL_BASED_HIGHLOW 2",
            "  BASERELOC size=12",
        ],
    );
}

#[test]
fn dll_exports() {
    let text = dump(&testdata("libexp.dll"));
    assert_lines(
        &text,
        &[
            "type: DLL",
            "soname: libexp.dll",
            "exports: 3",
            "  exp_add",
            "  exp_counter",
            "  exp_twice",
            "  EXPORT size=115",
        ],
    );
    assert!(!text.contains("entry:"), "linked with /noentry: {text}");
}

#[test]
fn truncated_files_are_errors() {
    let object = clang_object("x86_64-pc-windows-msvc", SOURCE);
    for data in [
        object,
        testdata("pe_imports.exe"),
        testdata("pe32_imports.exe"),
        testdata("libexp.dll"),
    ] {
        for len in 0..data.len() {
            let result = Pe.inspect(&data[..len], &InspectOptions::default());
            assert!(
                result.is_err(),
                "a file cut to {len} of {} bytes was accepted",
                data.len()
            );
        }
    }
    let data = testdata("pe_imports.exe");
    let err = Pe
        .inspect(&data[..1000], &InspectOptions::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("truncated or malformed PE/COFF file: "),
        "{err}"
    );
}

/// xorshift64*: reproducible noise without a dependency.
fn noise(seed: &mut u64) -> u64 {
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

#[test]
fn random_and_corrupted_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for prefix in [
        &b"MZ"[..],
        &[0x64, 0x86],
        &[0x4c, 0x01],
        &[0, 0, 0xff, 0xff],
    ] {
        for len in [2usize, 20, 64, 200, 1000] {
            let mut data = prefix.to_vec();
            data.extend((data.len()..len).map(|_| noise(&mut seed) as u8));
            // Random bytes may happen to be a tiny valid COFF header; they must not panic.
            let _ = Pe.inspect(&data, &InspectOptions::default());
        }
    }
    let mut data = b"MZ".to_vec();
    data.extend((0..300).map(|_| noise(&mut seed) as u8));
    assert!(Pe.inspect(&data, &InspectOptions::default()).is_err());

    // Flipped bytes in real files may still parse; they must never panic.
    for base in [
        clang_object("x86_64-pc-windows-msvc", SOURCE),
        testdata("pe_imports.exe"),
        testdata("libexp.dll"),
    ] {
        for _ in 0..3000 {
            let mut data = base.clone();
            for _ in 0..1 + noise(&mut seed) % 4 {
                let at = (noise(&mut seed) % data.len() as u64) as usize;
                data[at] = noise(&mut seed) as u8;
            }
            let _ = Pe
                .inspect(&data, &InspectOptions::default())
                .map(|r| r.render(&InspectOptions::default()));
        }
    }
}
