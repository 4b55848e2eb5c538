//! Hostile input: truncated, corrupted and random files give `Err` or some output, never a
//! panic.

mod common;

use std::path::PathBuf;

use common::*;
use rlink_dynimport::{dynimport, library_exports, Options, OutputFormat};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn all_options() -> Vec<Options> {
    let mut all = Vec::new();
    for format in [OutputFormat::Rlink, OutputFormat::Go] {
        for dynlinker in [false, true] {
            all.push(Options {
                format,
                dynlinker,
                package: "main".to_string(),
            });
        }
    }
    all
}

/// Runs every entry point on `data`; returns how many calls failed.
fn exercise(data: &[u8]) -> usize {
    let mut errors = 0;
    for opts in all_options() {
        errors += usize::from(dynimport(data, &opts).is_err());
        errors += usize::from(library_exports(data, Some("fallback.so"), &opts).is_err());
    }
    errors
}

fn committed_samples() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = testdata();
    [
        "hello_elf",
        "libvers.so",
        "pe_imports.exe",
        "pe32_imports.exe",
        "libexp.dll",
        "macho_imports",
        "libexp.dylib",
    ]
    .into_iter()
    .map(|name| {
        let path = dir.join(name);
        let data = read(&path);
        (path, data)
    })
    .collect()
}

/// Truncation lengths: every length up to 512, then a spread to the end.
fn truncation_lengths(len: usize) -> Vec<usize> {
    let mut lengths: Vec<usize> = (0..len.min(512)).collect();
    let step = (len / 300).max(1);
    lengths.extend((512..len).step_by(step));
    lengths.extend(len.saturating_sub(64)..len);
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

#[test]
fn truncated_files_never_panic() {
    for (path, data) in committed_samples() {
        for len in truncation_lengths(data.len()) {
            let truncated = &data[..len];
            let errors = exercise(truncated);
            if len < 64 {
                assert_eq!(
                    errors,
                    8,
                    "{} cut to {len} bytes was accepted",
                    path.display()
                );
            }
        }
    }
}

/// ELF section headers sit at the end of the file, so any cut loses them: always an error.
#[test]
fn truncated_elf_is_an_error() {
    let mut samples = vec![read(&testdata().join("hello_elf"))];
    if let Ok(ls) = std::fs::read("/bin/ls") {
        samples.push(ls);
    }
    for data in samples {
        for len in truncation_lengths(data.len()) {
            let err = dynimport(&data[..len], &Options::default()).expect_err("truncated ELF");
            let message = err.to_string();
            assert!(
                message.starts_with("truncated or malformed ELF file")
                    || message == "not an ELF, Mach-O or PE file",
                "cut to {len}: {message}"
            );
        }
    }
}

#[test]
fn truncated_macho_and_pe_mostly_fail() {
    for (path, data) in committed_samples() {
        let lengths = truncation_lengths(data.len());
        let failed = lengths
            .iter()
            .filter(|&&len| dynimport(&data[..len], &Options::default()).is_err())
            .count();
        // Some cuts only drop data no directive depends on; most must be noticed.
        assert!(
            failed * 2 > lengths.len(),
            "{}: only {failed} of {} truncations failed",
            path.display(),
            lengths.len()
        );
    }
}

#[test]
fn bad_magic_and_random_bytes_are_errors() {
    assert_eq!(
        dynimport(b"", &Options::default())
            .expect_err("empty")
            .to_string(),
        "not an ELF, Mach-O or PE file"
    );
    assert!(dynimport(b"#!/bin/sh\necho hi\n", &Options::default()).is_err());
    assert!(dynimport(b"\x7fELF", &Options::default()).is_err());
    assert!(dynimport(b"MZ", &Options::default()).is_err());
    assert!(dynimport(b"\xcf\xfa\xed\xfe", &Options::default()).is_err());
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..2000 {
        let len = rng.below(4096);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Also random bodies behind each real magic number.
        match round % 5 {
            1 if len >= 4 => data[..4].copy_from_slice(b"\x7fELF"),
            2 if len >= 4 => data[..4].copy_from_slice(b"\xcf\xfa\xed\xfe"),
            3 if len >= 4 => data[..4].copy_from_slice(b"\xce\xfa\xed\xfe"),
            4 if len >= 2 => data[..2].copy_from_slice(b"MZ"),
            _ => {}
        }
        let errors = exercise(&data);
        if round % 5 == 0 {
            assert_eq!(errors, 8, "random bytes accepted (round {round})");
        }
    }
}

/// Real files with bytes overwritten at random: anything may come out but a panic.
#[test]
fn corrupted_files_never_panic() {
    let mut rng = Rng(0x0dd_ba11_c0ff_ee00);
    for (_, data) in committed_samples() {
        for _ in 0..400 {
            let mut corrupted = data.clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(corrupted.len());
                corrupted[at] = match rng.below(4) {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next() as u8,
                };
            }
            exercise(&corrupted);
        }
        // Corruption aimed at the headers, where offsets and counts live.
        for _ in 0..400 {
            let mut corrupted = data.clone();
            let at = rng.below(corrupted.len().min(1024));
            corrupted[at] = rng.next() as u8;
            exercise(&corrupted);
        }
    }
}
