//! `rlink inspect` on Mach-O: objects compiled here by clang for x86_64 and arm64, and the
//! linked executable and dylib committed under `testdata/dynimport`.
//!
//! clang is required: CI installs it, and a missing compiler fails these tests rather than
//! skipping them.

use std::path::{Path, PathBuf};
use std::process::Command;

use rlink_linker::format::Format;
use rlink_linker::inspect::InspectOptions;
use rlink_macho::MachO;

const SOURCE: &str = r#"
int puts(const char *);
extern int weak_fn(void) __attribute__((weak_import));
static int counter;
const char *msg = "hello";
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 3; }
int main(void) {
    puts(msg);
    counter++;
    if (weak_fn) weak_fn();
    return hidden_fn() + counter;
}
"#;

fn clang_object(target: &str, source: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let c = dir.path().join("t.c");
    let o = dir.path().join("t.o");
    std::fs::write(&c, source).expect("write source");
    let status = Command::new("clang")
        .args([&format!("--target={target}"), "-O1", "-fno-common", "-c"])
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
    let report = MachO
        .inspect(data, &InspectOptions::default())
        .expect("inspect");
    let text = report.render(&InspectOptions::default());
    // Same bytes, same dump.
    let again = MachO
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
    let text = dump(&clang_object("x86_64-apple-darwin", SOURCE));
    assert_lines(
        &text,
        &[
            "format: Mach-O 64-bit little-endian",
            "machine: X86_64",
            "type: relocatable object",
            "flags: MH_SUBSECTIONS_VIA_SYMBOLS",
            "  _puts",
            "  _weak_fn weak",
            "  _main",
            "  _msg",
            "  LC_SYMTAB",
            "  LC_DYSYMTAB",
        ],
    );
    assert!(
        text.contains("\n  __TEXT,__text S_REGULAR PURE_INSTRUCTIONS|SOME_INSTRUCTIONS size="),
        "{text}"
    );
    assert!(
        text.contains("\n  __TEXT,__cstring S_CSTRING_LITERALS size=6 align=1\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  __DATA,__bss S_ZEROFILL size=4 align=4\n"),
        "{text}"
    );
    assert!(text.contains("\n  X86_64_RELOC_BRANCH "), "{text}");
    assert!(text.contains("\n  X86_64_RELOC_UNSIGNED "), "{text}");
    // Hidden (private external) and static symbols are not exports; objects have no entry.
    assert!(!text.contains("hidden_fn"), "{text}");
    assert!(!text.contains("_counter"), "{text}");
    assert!(!text.contains("entry:"), "{text}");
    assert!(!text.contains(" from "), "objects bind no library: {text}");
}

#[test]
fn arm64_object() {
    let text = dump(&clang_object("arm64-apple-macos11", SOURCE));
    assert_lines(
        &text,
        &[
            "machine: ARM64",
            "  LC_BUILD_VERSION platform=MACOS minos=11.0 sdk=0.0",
            "  _puts",
            "  _weak_fn weak",
        ],
    );
    assert!(text.contains("\n  ARM64_RELOC_PAGE21 "), "{text}");
    assert!(text.contains("\n  ARM64_RELOC_BRANCH26 "), "{text}");
    assert!(text.contains("\n  ARM64_RELOC_GOT_LOAD_PAGE21 "), "{text}");
    // The object's one segment has no name and holds every section.
    assert!(text.contains("\nsegments: 1\n  \"\" rwx align="), "{text}");
    assert!(text.contains("[__TEXT,__text __TEXT,__cstring"), "{text}");
}

#[test]
fn linked_executable() {
    let data = testdata("macho_imports");
    let text = dump(&data);
    assert_lines(
        &text,
        &[
            "type: executable",
            "flags: MH_NOUNDEFS|MH_DYLDLINK|MH_TWOLEVEL|MH_PIE",
            "entry: _main (__TEXT,__text+0x0)",
            "interpreter: /usr/lib/dyld",
            "needed: 2",
            "  /usr/lib/libSystem.B.dylib",
            "  /usr/lib/libz.1.dylib (weak)",
            "  _puts from /usr/lib/libSystem.B.dylib",
            "  _compress from /usr/lib/libz.1.dylib weak",
            "  __TEXT,__stubs S_SYMBOL_STUBS PURE_INSTRUCTIONS|SOME_INSTRUCTIONS size=12 align=4",
            "  __DATA_CONST,__got S_NON_LAZY_SYMBOL_POINTERS size=16 align=8",
            "  LC_MAIN",
            "  LC_UUID",
            "  LC_LOAD_DYLINKER /usr/lib/dyld",
            "  LC_LOAD_WEAK_DYLIB /usr/lib/libz.1.dylib",
            "  LC_BUILD_VERSION platform=MACOS minos=11.0 sdk=11.0",
        ],
    );
    assert!(
        text.contains("\n  __PAGEZERO --- align=0 filesz=0 memsz=4294967296\n"),
        "{text}"
    );
    assert!(text.contains("\n  __TEXT r-x align="), "{text}");
    assert!(text.contains("\n  __LINKEDIT r-- "), "{text}");
    assert!(
        !text.contains("0x100000"),
        "addresses only with -addresses: {text}"
    );

    let with_addresses = MachO
        .inspect(&data, &InspectOptions { addresses: true })
        .expect("inspect")
        .render(&InspectOptions { addresses: true });
    assert!(
        with_addresses.contains("entry: _main (__TEXT,__text+0x0) (0x100000608)\n"),
        "{with_addresses}"
    );
}

#[test]
fn linked_dylib() {
    let text = dump(&testdata("libexp.dylib"));
    assert_lines(
        &text,
        &[
            "type: dylib",
            "soname: /usr/local/lib/libexp.1.dylib",
            "exports: 3",
            "  _exp_add",
            "  _exp_counter",
            "  _exp_twice",
            "  LC_ID_DYLIB /usr/local/lib/libexp.1.dylib",
            "  dyld_stub_binder from /usr/lib/libSystem.B.dylib",
        ],
    );
    assert!(!text.contains("_hidden_fn"), "{text}");
    assert!(!text.contains("entry:"), "{text}");
}

#[test]
fn truncated_files_are_errors() {
    let object = clang_object("arm64-apple-macos11", SOURCE);
    let linked = testdata("macho_imports");
    for data in [&object, &linked] {
        let step = if data.len() > 4096 { 7 } else { 1 };
        for len in (0..data.len()).step_by(step) {
            let result = MachO.inspect(&data[..len], &InspectOptions::default());
            assert!(
                result.is_err(),
                "a file cut to {len} of {} bytes was accepted",
                data.len()
            );
        }
    }
    let err = MachO
        .inspect(&linked[..100], &InspectOptions::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("truncated or malformed Mach-O file: "),
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
    for magic in [
        [0xcf, 0xfa, 0xed, 0xfe],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xfe, 0xed, 0xfa, 0xce],
    ] {
        for len in [4usize, 16, 28, 32, 64, 200, 1000] {
            let mut data = magic.to_vec();
            data.extend((4..len).map(|_| noise(&mut seed) as u8));
            assert!(
                MachO.inspect(&data, &InspectOptions::default()).is_err(),
                "random bytes accepted"
            );
        }
    }
    // Flipped bytes in real files may still parse; they must never panic.
    for base in [
        clang_object("x86_64-apple-darwin", SOURCE),
        testdata("libexp.dylib"),
    ] {
        for _ in 0..3000 {
            let mut data = base.clone();
            for _ in 0..1 + noise(&mut seed) % 4 {
                let at = (noise(&mut seed) % data.len() as u64) as usize;
                data[at] = noise(&mut seed) as u8;
            }
            let _ = MachO
                .inspect(&data, &InspectOptions::default())
                .map(|r| r.render(&InspectOptions::default()));
        }
    }
}
