//! Hostile inputs, thousands of them: valid objects built at test time (rustc, gcc, gcc
//! -fPIC, an archive, a shared library, linker scripts, response files, directive files,
//! clang Mach-O and COFF objects) are cut short, have bytes flipped and have the fields a
//! linker trusts corrupted one at a time (headers, section headers, symbols, relocations,
//! groups, `.eh_frame`, merged strings, TLS). Every variant is linked (or inspected) by rlink
//! with a deadline, and each run must end one of two ways:
//!
//! - a link (the corruption did not matter, e.g. a flipped byte of code): exit status 0;
//! - a diagnostic: exit status 1, a first line `rlink: error: PLACE: …` naming the file, only
//!   `>>> ` detail lines after it, no output file and no temporary file left behind.
//!
//! Never a panic, a signal, a hang or a stray file. The variants come from a fixed seed, so a
//! failure reproduces; the failing variant is kept for the report.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{compile_no_std_object, rlink_bin, run, testdata};

/// A deterministic generator (xorshift64*): the same variants on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// How a variant is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Linked (with the seed's other inputs); the variant takes the named input's place.
    Link,
    /// `rlink inspect` (formats rlink reads but does not link yet).
    Inspect,
}

/// One seed: the files of a working link, and which of them is mutated.
struct Seed {
    name: &'static str,
    /// Argument template; `{in}` is replaced by the mutated file, `{out}` by the output.
    args: Vec<String>,
    /// The file that is mutated.
    victim: PathBuf,
    role: Role,
    /// Text inputs get line-level mutations instead of binary ones.
    text: bool,
}

struct Variant {
    seed: usize,
    what: String,
    bytes: Vec<u8>,
}

fn le16(b: &[u8], at: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as u64)
}
fn le32(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
fn put(b: &mut [u8], at: usize, width: usize, v: u64) {
    if let Some(dst) = b.get_mut(at..at + width) {
        dst.copy_from_slice(&v.to_le_bytes()[..width]);
    }
}

/// A field of an ELF64 file worth corrupting: where it is, how wide, and a name.
struct Field {
    at: usize,
    width: usize,
    what: String,
    /// Values that break the field's meaning in interesting ways.
    values: Vec<u64>,
}

/// The ELF64 little-endian section headers: (index, header offset, type, name).
fn elf_sections(b: &[u8]) -> Vec<(usize, usize, u64, String)> {
    let (Some(shoff), Some(shnum), Some(shstrndx)) = (le64(b, 0x28), le16(b, 0x3c), le16(b, 0x3e))
    else {
        return Vec::new();
    };
    let sh = |i: usize| shoff as usize + 64 * i;
    let strtab_off = le64(b, sh(shstrndx as usize) + 24).unwrap_or(0) as usize;
    (0..shnum as usize)
        .filter(|&i| sh(i) + 64 <= b.len())
        .map(|i| {
            let name_off = le32(b, sh(i)).unwrap_or(0) as usize;
            let name = b
                .get(strtab_off + name_off..)
                .and_then(|r| r.split(|&c| c == 0).next())
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default();
            (i, sh(i), le32(b, sh(i) + 4).unwrap_or(0), name)
        })
        .collect()
}

/// Every structurally meaningful field of an ELF64 object or shared library.
fn elf_fields(b: &[u8]) -> Vec<Field> {
    let big = [0, 1, 0xffff_ffff, 1 << 40, u64::MAX, u64::MAX / 2 + 1];
    let mut fields = vec![
        Field {
            at: 0x10,
            width: 2,
            what: "e_type".into(),
            values: vec![0, 2, 4, 0xffff],
        },
        Field {
            at: 0x12,
            width: 2,
            what: "e_machine".into(),
            values: vec![0, 183, 3],
        },
        Field {
            at: 0x28,
            width: 8,
            what: "e_shoff".into(),
            values: big.to_vec(),
        },
        Field {
            at: 0x3a,
            width: 2,
            what: "e_shentsize".into(),
            values: vec![0, 32, 65],
        },
        Field {
            at: 0x3c,
            width: 2,
            what: "e_shnum".into(),
            values: vec![0, 1, 2, 0xffff],
        },
        Field {
            at: 0x3e,
            width: 2,
            what: "e_shstrndx".into(),
            values: vec![0, 0xfff0, 0xffff],
        },
    ];
    let sections = elf_sections(b);
    let nsec = sections.len() as u64;
    for (i, sh, sh_type, name) in &sections {
        let (i, sh) = (*i, *sh);
        if i == 0 {
            continue;
        }
        let f = |off: usize, width: usize, what: &str, values: Vec<u64>| Field {
            at: sh + off,
            width,
            what: format!("section {i} ({name}) {what}"),
            values,
        };
        fields.push(f(4, 4, "sh_type", vec![0, 8, 9, 0x70000001]));
        fields.push(f(8, 8, "sh_flags", vec![0, 0x400, 0x20 | 0x10, 0x7ff]));
        fields.push(f(24, 8, "sh_offset", big.to_vec()));
        fields.push(f(
            32,
            8,
            "sh_size",
            vec![0, 1, 3, 0xffff_ffff, 1 << 40, u64::MAX],
        ));
        fields.push(f(40, 4, "sh_link", vec![0, nsec, 0xffff_ffff]));
        fields.push(f(44, 4, "sh_info", vec![0, nsec, 0xffff_ffff]));
        fields.push(f(
            48,
            8,
            "sh_addralign",
            vec![0, 3, 6, 1 << 40, 1 << 63, u64::MAX],
        ));
        fields.push(f(56, 8, "sh_entsize", vec![0, 3, 1 << 40]));
        let (Some(off), Some(size)) = (le64(b, sh + 24), le64(b, sh + 32)) else {
            continue;
        };
        let (off, size) = (off as usize, size as usize);
        if off.checked_add(size).is_none_or(|end| end > b.len()) {
            continue;
        }
        match *sh_type {
            // Symbols: the section, value and size of a few of them.
            2 | 11 => {
                let count = size / 24;
                for k in [1, count / 2, count.saturating_sub(1)] {
                    if k == 0 || k >= count {
                        continue;
                    }
                    let at = off + 24 * k;
                    let g = |o: usize, w: usize, what: &str, values: Vec<u64>| Field {
                        at: at + o,
                        width: w,
                        what: format!("{name} symbol {k} {what}"),
                        values,
                    };
                    fields.push(g(0, 4, "st_name", vec![0xffff_ff00, size as u64 * 100]));
                    fields.push(g(4, 1, "st_info", vec![0x16, 0x1a, 0xff]));
                    fields.push(g(
                        6,
                        2,
                        "st_shndx",
                        vec![nsec, 0xfff1, 0xfff2, 0xfeff, 0xffff],
                    ));
                    fields.push(g(8, 8, "st_value", vec![u64::MAX, 1 << 40]));
                    fields.push(g(16, 8, "st_size", vec![u64::MAX, 1 << 40]));
                }
            }
            // Relocations: offset, symbol index, type and addend of the first and last.
            4 => {
                let count = size / 24;
                let nsyms = sections
                    .iter()
                    .find(|s| s.2 == 2)
                    .and_then(|s| le64(b, s.1 + 32))
                    .map(|s| s / 24)
                    .unwrap_or(0);
                for k in [0, count.saturating_sub(1)] {
                    if k >= count {
                        continue;
                    }
                    let at = off + 24 * k;
                    let info = le64(b, at + 8).unwrap_or(0);
                    let ty = info & 0xffff_ffff;
                    let g = |o: usize, w: usize, what: &str, values: Vec<u64>| Field {
                        at: at + o,
                        width: w,
                        what: format!("{name} entry {k} {what}"),
                        values,
                    };
                    fields.push(g(0, 8, "r_offset", vec![u64::MAX, 0xffff_fff0, 1 << 40, 0]));
                    fields.push(g(
                        8,
                        8,
                        "r_info",
                        vec![
                            (nsyms << 32) | ty,
                            (0xffff_ffff << 32) | ty,
                            (info & !0xffff_ffff) | 0xfff,
                            (info & !0xffff_ffff) | 22, // GOTTPOFF
                            (info & !0xffff_ffff) | 19, // TLSGD
                            (info & !0xffff_ffff) | 20, // TLSLD
                            (info & !0xffff_ffff) | 42, // REX_GOTPCRELX
                        ],
                    ));
                    fields.push(g(16, 8, "r_addend", vec![i64::MIN as u64, i64::MAX as u64]));
                }
            }
            // COMDAT groups: the flag word and the member list.
            17 => {
                fields.push(Field {
                    at: off,
                    width: 4,
                    what: format!("{name} flags"),
                    values: vec![0, 0xffff_ffff],
                });
                for k in 1..(size / 4).min(3) {
                    fields.push(Field {
                        at: off + 4 * k,
                        width: 4,
                        what: format!("{name} member {k}"),
                        values: vec![0, nsec, 0xffff_ffff],
                    });
                }
            }
            _ => {}
        }
        if name == ".eh_frame" && size >= 16 {
            // The first record (a CIE): length, id, version; then the next record's length.
            fields.push(Field {
                at: off,
                width: 4,
                what: "CIE length".into(),
                values: vec![0, 1, 0xffff_fff0, 0xffff_ffff, size as u64 * 2],
            });
            fields.push(Field {
                at: off + 4,
                width: 4,
                what: "CIE id".into(),
                values: vec![1, 0xffff_ffff],
            });
            fields.push(Field {
                at: off + 8,
                width: 1,
                what: "CIE version".into(),
                values: vec![0, 2, 4, 0xff],
            });
            fields.push(Field {
                at: off + 9,
                width: 1,
                what: "CIE augmentation".into(),
                values: vec![0x7a, 0x58, 0],
            });
            let cie_len = le32(b, off).unwrap_or(0) as usize;
            let fde = off + 4 + cie_len;
            if fde + 12 <= off + size {
                fields.push(Field {
                    at: fde,
                    width: 4,
                    what: "FDE length".into(),
                    values: vec![0, 4, 0xffff_ffff, size as u64],
                });
                fields.push(Field {
                    at: fde + 4,
                    width: 4,
                    what: "FDE CIE pointer".into(),
                    values: vec![0, 3, 0xffff_fff0, fde as u64],
                });
                fields.push(Field {
                    at: fde + 8,
                    width: 4,
                    what: "FDE pc_begin".into(),
                    values: vec![0xffff_ffff],
                });
            }
        }
        if name.starts_with(".rodata.str") {
            // Strings without their terminator.
            fields.push(Field {
                at: off + size - 1,
                width: 1,
                what: format!("{name} last NUL"),
                values: vec![b'x' as u64],
            });
        }
    }
    fields
}

/// The member headers of an archive: names, sizes and terminators worth corrupting, as text.
fn archive_variants(b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 8;
    let mut index = 0;
    while at + 60 <= b.len() {
        let size: usize = String::from_utf8_lossy(&b[at + 48..at + 58])
            .trim()
            .parse()
            .unwrap_or(0);
        let mut field = |off: usize, len: usize, what: &str, value: &[u8]| {
            let mut v = b.to_vec();
            let mut text = value.to_vec();
            text.resize(len, b' ');
            v[at + off..at + off + len].copy_from_slice(&text);
            out.push((
                format!(
                    "archive member {index} {what} = {:?}",
                    String::from_utf8_lossy(value)
                ),
                v,
            ));
        };
        for size in [&b"99999"[..], b"abc", b"-1", b"0", b"1"] {
            field(48, 10, "size", size);
        }
        for name in [&b"#1/20"[..], b"#1/99999", b"/99999", b"//", b"/SYM64/"] {
            field(0, 16, "name", name);
        }
        field(58, 2, "terminator", b"xx");
        // Cut inside this member's data.
        out.push((
            format!("archive cut inside member {index}"),
            b[..(at + 60 + size / 2).min(b.len())].to_vec(),
        ));
        at += 60 + size + (size & 1);
        index += 1;
    }
    out
}

/// Binary variants of one file: truncations, flipped bytes, and every corrupted field.
fn binary_variants(b: &[u8], rng: &mut Rng, flips: usize, cuts: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for k in 0..cuts {
        let len = if k < 8 { k * 3 } else { rng.below(b.len()) };
        out.push((
            format!("truncated to {len} bytes"),
            b[..len.min(b.len())].to_vec(),
        ));
    }
    for _ in 0..flips {
        let mut v = b.to_vec();
        let n = 1 + rng.below(4);
        let mut at = Vec::new();
        for _ in 0..n {
            let i = rng.below(v.len());
            v[i] ^= 1 << rng.below(8);
            at.push(i);
        }
        out.push((format!("bits flipped at {at:?}"), v));
    }
    if b.starts_with(b"!<arch>\n") {
        out.extend(archive_variants(b));
    }
    if b.starts_with(b"\x7fELF\x02\x01") {
        for f in elf_fields(b) {
            for &value in &f.values {
                let mut v = b.to_vec();
                put(&mut v, f.at, f.width, value);
                if v != b {
                    out.push((format!("{} = {value:#x}", f.what), v));
                }
            }
        }
    }
    out
}

/// Text variants: truncations, deleted and duplicated lines, unbalanced punctuation.
fn text_variants(t: &[u8], rng: &mut Rng, n: usize) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(t).into_owned();
    let mut out = Vec::new();
    for k in 0..text.len().min(n) {
        out.push((format!("truncated to {k} bytes"), t[..k].to_vec()));
    }
    let pieces = [
        "(",
        ")",
        "\"",
        "\\",
        "/*",
        "AS_NEEDED(",
        "\0",
        "\n",
        "#",
        "@",
        "=",
        "é",
        "\x01",
    ];
    for _ in 0..n {
        let mut v = text.clone().into_bytes();
        let at = rng.below(v.len() + 1);
        let piece = pieces[rng.below(pieces.len())];
        v.splice(at..at, piece.bytes());
        out.push((format!("{piece:?} inserted at {at}"), v));
    }
    out
}

/// Runs rlink on one variant; returns a failure description, or None if it behaved.
fn check(seed: &Seed, v: &Variant, work: &Path) -> Option<String> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    let ext = seed
        .victim
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let input = work.join(if ext.is_empty() {
        "input".to_string()
    } else {
        format!("input.{ext}")
    });
    std::fs::write(&input, &v.bytes).unwrap();
    let out = work.join("out");
    let args: Vec<String> = seed
        .args
        .iter()
        .map(|a| {
            a.replace("{in}", &input.display().to_string())
                .replace("{out}", &out.display().to_string())
        })
        .collect();
    let mut child = Command::new(rlink_bin())
        .args(&args)
        .current_dir(work)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Some("hung: no exit after 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let brief: String = stderr.lines().take(3).collect::<Vec<_>>().join(" | ");
    // RLINK_MALFORMED_LOG=FILE records every diagnostic, for reviewing their wording.
    if let Ok(log) = std::env::var("RLINK_MALFORMED_LOG") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(
                f,
                "[{}] {}: {}",
                seed.name,
                v.what,
                stderr.lines().next().unwrap_or("(linked)")
            );
        }
    }
    let leftovers: Vec<String> = std::fs::read_dir(work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rlink-"))
        .collect();
    if !leftovers.is_empty() {
        return Some(format!(
            "left temporary files {leftovers:?}; stderr: {brief}"
        ));
    }
    match status.code() {
        Some(0) => None,
        Some(1) => {
            let mut lines = stderr.lines();
            let first = lines.next().unwrap_or("");
            if !first.starts_with("rlink: error: ") || first.len() <= "rlink: error: ".len() {
                return Some(format!("exit 1 without a diagnostic line: {brief}"));
            }
            if stderr.contains("panicked") || stderr.contains("linker bug") {
                return Some(format!("bug reported: {brief}"));
            }
            // A damaged file is named in the first line, unless the damage surfaced as a
            // symbol that is missing or twice defined (reported by name, with the files that
            // reference or define it on the lines after), or changed what is linked for.
            // (A damaged member can also surface in another input: a relocation there that no
            // longer fits. It names that input.)
            let victim = input.file_name().unwrap().to_string_lossy().into_owned();
            let names_an_input = std::iter::once(victim.clone())
                .chain(seed.args.iter().filter_map(|a| {
                    Path::new(a)
                        .file_name()
                        .filter(|_| a.contains('/'))
                        .map(|n| n.to_string_lossy().into_owned())
                }))
                .any(|name| first.contains(&name));
            let file_less = [
                "undefined symbol: ",
                "duplicate symbol: ",
                "no entry point: ",
            ];
            if !seed.text
                && !names_an_input
                && !file_less
                    .iter()
                    .any(|k| first.starts_with(&format!("rlink: error: {k}")))
                && !first.contains("linking of aarch64")
            {
                return Some(format!("diagnostic does not name {victim}: {brief}"));
            }
            if let Some(extra) = lines.find(|l| {
                !l.starts_with(">>> ")
                    && !l.starts_with("undefined symbol: ")
                    && !l.starts_with("...")
            }) {
                return Some(format!(
                    "diagnostic of more than one line ({extra:?}): {brief}"
                ));
            }
            if seed.role == Role::Link && out.exists() {
                return Some(format!("failed but left an output: {brief}"));
            }
            None
        }
        Some(c) => Some(format!("exit status {c}: {brief}")),
        None => Some(format!("killed by a signal ({status}): {brief}")),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn malformed_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = testdata("malformed");
    let p = |n: &str| d.join(n).display().to_string();
    let main_c = src.join("main.c").display().to_string();
    let lib_c = src.join("lib.c").display().to_string();
    let imports = src.join("imports.txt").display().to_string();
    run(
        "gcc",
        &["-O1", "-fcommon", "-c", &main_c, "-o", "main.o"],
        d,
    );
    run(
        "gcc",
        &[
            "-O1",
            "-fno-pie",
            "-fcommon",
            "-c",
            &main_c,
            "-o",
            "main-nopie.o",
        ],
        d,
    );
    run("gcc", &["-O1", "-c", &lib_c, "-o", "lib.o"], d);
    run("gcc", &["-O1", "-fPIC", "-c", &lib_c, "-o", "lib-pic.o"], d);
    run("ar", &["rcs", "libseed.a", "lib.o"], d);
    run("gcc", &["-shared", "-o", "libseed.so", "lib-pic.o"], d);
    run(
        "clang",
        &[
            "--target=x86_64-apple-macos10.12",
            "-c",
            &lib_c,
            "-o",
            "lib.macho.o",
        ],
        d,
    );
    run(
        "clang",
        &[
            "--target=arm64-apple-macos11",
            "-c",
            &lib_c,
            "-o",
            "lib.arm64.o",
        ],
        d,
    );
    run(
        "clang",
        &[
            "--target=x86_64-pc-windows-msvc",
            "-c",
            &lib_c,
            "-o",
            "lib.obj",
        ],
        d,
    );
    // A DLL's object (with a .drectve /EXPORT) and its .def file, for PE links.
    run(
        "clang",
        &[
            "--target=x86_64-pc-windows-msvc",
            "-O1",
            "-c",
            testdata("pe/mathlib.c").to_str().unwrap(),
            "-o",
            "mathlib.obj",
        ],
        d,
    );
    std::fs::copy(testdata("pe/mathlib.def"), d.join("mathlib.def")).unwrap();
    let nsd = compile_no_std_object(d).display().to_string();
    std::fs::write(
        d.join("group.ld"),
        format!(
            "GROUP ( {} AS_NEEDED ( {} ) )\n",
            p("libseed.a"),
            p("libseed.so")
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("args.rsp"),
        format!(
            "-o\nout\n{}\n{}\n{}\n",
            p("main.o"),
            p("libseed.a"),
            imports
        ),
    )
    .unwrap();

    let link = |name, args: &[&str], victim: String, text| Seed {
        name,
        args: args.iter().map(|a| a.replace("{victim}", "{in}")).collect(),
        victim: PathBuf::from(victim),
        role: Role::Link,
        text,
    };
    let seeds = vec![
        link(
            "rustc no_std object",
            &["-o", "{out}", "{victim}"],
            nsd.clone(),
            false,
        ),
        link(
            "gcc object",
            &["-o", "{out}", "{victim}", &p("libseed.a"), &imports],
            p("main.o"),
            false,
        ),
        link(
            "gcc non-PIE object",
            &[
                "-buildmode=exe",
                "-o",
                "{out}",
                "{victim}",
                &p("libseed.a"),
                &imports,
            ],
            p("main-nopie.o"),
            false,
        ),
        link(
            "gcc -fPIC object, shared",
            &["-buildmode=c-shared", "-o", "{out}", "{victim}"],
            p("lib-pic.o"),
            false,
        ),
        link(
            "archive",
            &["-o", "{out}", &p("main.o"), "{victim}", &imports],
            p("libseed.a"),
            false,
        ),
        link(
            "shared library",
            &["-o", "{out}", &p("main.o"), "{victim}", &imports],
            p("libseed.so"),
            false,
        ),
        link(
            "linker script",
            &["-o", "{out}", &p("main.o"), "{victim}", &imports],
            p("group.ld"),
            true,
        ),
        link(
            "directives file",
            &["-o", "{out}", &p("main.o"), &p("libseed.a"), "{victim}"],
            imports.clone(),
            true,
        ),
        Seed {
            name: "response file",
            args: s(&["@{in}"]),
            victim: d.join("args.rsp"),
            role: Role::Link,
            text: true,
        },
        Seed {
            name: "GNU ld line",
            // An ld line links no start-up object of rlink's: it names its entry.
            args: s(&[
                "-flavor",
                "gnu",
                "-o",
                "{out}",
                "-pie",
                "-e",
                "main",
                &p("main.o"),
                "{in}",
                &imports,
            ]),
            victim: d.join("libseed.a"),
            role: Role::Link,
            text: false,
        },
        Seed {
            name: "Mach-O x86-64 object",
            args: s(&["inspect", "{in}"]),
            victim: d.join("lib.macho.o"),
            role: Role::Inspect,
            text: false,
        },
        Seed {
            name: "Mach-O arm64 object",
            args: s(&["inspect", "{in}"]),
            victim: d.join("lib.arm64.o"),
            role: Role::Inspect,
            text: false,
        },
        Seed {
            name: "COFF object",
            args: s(&["inspect", "{in}"]),
            victim: d.join("lib.obj"),
            role: Role::Inspect,
            text: false,
        },
        Seed {
            name: "COFF object, linked into a DLL",
            args: s(&[
                "-flavor",
                "link",
                "/DLL",
                "/OUT:{out}",
                &format!("/DEF:{}", p("mathlib.def")),
                "{in}",
                "kernel32.lib",
            ]),
            victim: d.join("mathlib.obj"),
            role: Role::Link,
            text: false,
        },
        Seed {
            name: "module-definition file",
            args: s(&[
                "-flavor",
                "link",
                "/DLL",
                "/OUT:{out}",
                "/DEF:{in}",
                &p("mathlib.obj"),
                "kernel32.lib",
            ]),
            victim: d.join("mathlib.def"),
            role: Role::Link,
            text: true,
        },
        Seed {
            name: "ELF object, inspected",
            args: s(&["inspect", "{in}"]),
            victim: d.join("main.o"),
            role: Role::Inspect,
            text: false,
        },
    ];
    // (The response file names the output itself: `out`, in the run's directory.)
    let mut variants = Vec::new();
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    for (i, seed) in seeds.iter().enumerate() {
        let bytes = std::fs::read(&seed.victim).unwrap();
        let list = if seed.text {
            text_variants(&bytes, &mut rng, 40)
        } else {
            binary_variants(&bytes, &mut rng, 60, 24)
        };
        for (what, bytes) in list {
            variants.push(Variant {
                seed: i,
                what,
                bytes,
            });
        }
    }
    // Every seed links (or is read) as it is: the variants start from working inputs.
    for (i, seed) in seeds.iter().enumerate() {
        let bytes = std::fs::read(&seed.victim).unwrap();
        let v = Variant {
            seed: i,
            what: "unchanged".into(),
            bytes,
        };
        let work = d.join("baseline");
        let problem = check(seed, &v, &work);
        assert!(
            problem.is_none(),
            "seed {} fails unchanged: {problem:?}",
            seed.name
        );
        if seed.role == Role::Link {
            assert!(work.join("out").exists(), "seed {} links", seed.name);
        }
    }
    assert!(variants.len() >= 2000, "only {} variants", variants.len());

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let linked = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8);
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (next, failures, variants, seeds, linked) =
                (&next, &failures, &variants, &seeds, &linked);
            let work = d.join(format!("work{w}"));
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(v) = variants.get(i) else { break };
                let seed = &seeds[v.seed];
                match check(seed, v, &work) {
                    Some(problem) => {
                        let keep = d.join(format!("failure-{i}"));
                        let _ = std::fs::write(&keep, &v.bytes);
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("[{}] {}: {problem}", seed.name, v.what));
                    }
                    None => {
                        if work.join("out").exists() {
                            linked.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "{} variants: {} failed as they should or linked ({} linked), {} misbehaved",
        variants.len(),
        variants.len() - failures.len(),
        linked.load(Ordering::Relaxed),
        failures.len()
    );
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(60).collect();
        panic!(
            "{} of {} variants misbehaved:\n{}",
            failures.len(),
            variants.len(),
            shown
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A PC-relative reference to merged strings through the section's symbol keeps the
/// instruction's bias in its addend, which is taken off before the string is looked up: an
/// addend at the top of the i64 range must give the usual overflow diagnostic, not an
/// arithmetic panic.
#[test]
fn merged_string_reference_with_an_extreme_addend_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("m.c"),
        "extern int puts(const char *);\nint main(void) { puts(\"merged\"); return 0; }\n",
    )
    .unwrap();
    run("gcc", &["-O1", "-c", "m.c", "-o", "m.o"], d);
    let mut b = std::fs::read(d.join("m.o")).unwrap();
    let sections = elf_sections(&b);
    let symtab = sections
        .iter()
        .find(|s| s.2 == 2)
        .expect("a symbol table")
        .1;
    let symtab_at = le64(&b, symtab + 24).unwrap() as usize;
    // The first R_X86_64_PC32 of .rela.text names the string's local label (.LC0, in
    // .rodata.str1.1): make that symbol the section's own and the addend extreme.
    let rela = sections
        .iter()
        .find(|s| s.2 == 4 && s.3 == ".rela.text")
        .expect(".rela.text")
        .1;
    let (off, size) = (
        le64(&b, rela + 24).unwrap() as usize,
        le64(&b, rela + 32).unwrap() as usize,
    );
    let at = (off..off + size)
        .step_by(24)
        .find(|&at| le32(&b, at + 8) == Some(2))
        .expect("an R_X86_64_PC32");
    let symbol = le32(&b, at + 12).unwrap() as usize;
    let sym = symtab_at + 24 * symbol;
    b[sym + 4] = 3; // STB_LOCAL, STT_SECTION
    put(&mut b, sym + 8, 8, 0);
    put(&mut b, at + 16, 8, (i64::MAX - 1) as u64);
    std::fs::write(d.join("bad.o"), &b).unwrap();
    let out = d.join("bad").display().to_string();
    let bad = d.join("bad.o").display().to_string();
    let stderr = common::rlink_fails(&["-o", &out, &bad, "-lc"]);
    assert!(stderr.contains("bad.o"), "names the object: {stderr}");
    assert!(!d.join("bad").exists(), "no output left");
}
