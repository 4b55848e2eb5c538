//! The shape of the code, checked: the core crate (`linker/src`) never reaches into an object
//! format (no format crate, no `object::elf`/`macho`/`pe` types), and a CPU's relocation
//! constants appear only in that CPU's file of its format's crate. A change that breaks the
//! seams fails here, not in review.

mod common;

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file: comments and string literals blanked, so prose may name anything.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                return None;
            }
            let mut code = String::new();
            let mut in_string = false;
            let mut prev = ' ';
            for c in line.chars() {
                if c == '"' && prev != '\\' {
                    in_string = !in_string;
                    code.push('"');
                } else if !in_string {
                    code.push(c);
                }
                prev = c;
            }
            let code = match code.find("//") {
                Some(at) => code[..at].to_string(),
                None => code,
            };
            Some((i + 1, code))
        })
        .collect()
}

/// Whether `word` occurs in `code` with no identifier character before it.
fn names(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        code[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

#[test]
fn the_core_never_uses_a_format() {
    let core = common::repo().join("linker/src");
    let forbidden = [
        "rlink_elf",
        "rlink_macho",
        "rlink_pe",
        "object::elf",
        "object::macho",
        "object::pe",
        "elf::",
        "macho::",
        "pe::",
    ];
    let mut found = Vec::new();
    for file in rust_files(&core) {
        for (line, code) in code_lines(&file) {
            for word in forbidden {
                if names(&code, word) {
                    found.push(format!("{}:{line}: {word}", file.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core names a format:\n{}",
        found.join("\n")
    );
}

#[test]
fn cpu_relocation_constants_stay_in_their_cpu_file() {
    // (constant prefix, the one file of each format crate allowed to name it)
    let cpus = [
        ("R_X86_64_", "x86_64.rs"),
        ("SHT_X86_64_", "x86_64.rs"),
        ("R_AARCH64_", "aarch64.rs"),
        ("X86_64_RELOC_", "x86_64.rs"),
        ("ARM64_RELOC_", "aarch64.rs"),
        ("IMAGE_REL_AMD64_", "x86_64.rs"),
    ];
    let linker = common::repo().join("linker");
    let mut found = Vec::new();
    for file in rust_files(&linker) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // Inspecting files names every relocation by design; its test data too.
        if name == "inspect.rs" || file.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        for (line, code) in code_lines(&file) {
            for (prefix, home) in cpus {
                if name != home && names(&code, prefix) {
                    found.push(format!("{}:{line}: {prefix}", file.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "CPU relocation constants outside their CPU's file:\n{}",
        found.join("\n")
    );
}

/// The checks themselves: a forbidden name in code is found, in prose it is not.
#[test]
fn the_checks_see_code_not_prose() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.rs");
    std::fs::write(
        &f,
        "// elf::R_X86_64_PC32 in a comment\nlet s = \"R_X86_64_64\";\nlet t = elf::R_X86_64_PLT32; // elf::\nlet self_ = Self::new();\n",
    )
    .unwrap();
    let lines = code_lines(&f);
    let hits: Vec<usize> = lines
        .iter()
        .filter(|(_, c)| names(c, "R_X86_64_") || names(c, "elf::"))
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(hits, vec![3]);
}
