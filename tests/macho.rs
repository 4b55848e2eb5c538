//! Mach-O executables for x86_64 and arm64 macOS, linked on Linux with no SDK. macOS programs
//! cannot run here, so each output is checked three ways: LLVM's Mach-O reader reads every
//! load command, the chained fixups, the exports trie and the indirect symbols without
//! complaint; the code signature's page hashes are recomputed; and x86_64 programs that
//! import only a few libSystem functions run in the test process through a small loader of
//! our own (tests/common/macho_loader.rs), which applies their fixups.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::llvm::{dump, llvm_tool, objdump};
use common::macho_loader;
use sha2::{Digest, Sha256};

const X86_64: &str = "x86_64-apple-macos10.12";
const ARM64: &str = "arm64-apple-macos11";

fn clang_object(dir: &Path, target: &str, src: &str) -> PathBuf {
    let out = dir.join(format!("{target}.o"));
    common::run(
        "clang",
        &[
            &format!("--target={target}"),
            "-O1",
            "-c",
            common::testdata(src).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        dir,
    );
    out
}

fn link(dir: &Path, target: &str, inputs: &[&Path], extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("prog-{target}"));
    let mut args: Vec<String> = vec![
        format!("-target={target}"),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    common::rlink_ok(&args);
    out
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().unwrap())
}

/// Finds a load command; returns its offset.
fn load_command(d: &[u8], cmd: u32) -> Option<usize> {
    let mut at = 32;
    for _ in 0..u32_at(d, 16) {
        if u32_at(d, at) == cmd {
            return Some(at);
        }
        at += u32_at(d, at + 4) as usize;
    }
    None
}

/// The ad-hoc signature covers every byte before it, page by page, and sits last in the file.
fn check_signature(path: &Path) {
    let d = std::fs::read(path).unwrap();
    let lc = load_command(&d, 0x1d).expect("LC_CODE_SIGNATURE");
    let (off, size) = (u32_at(&d, lc + 8) as usize, u32_at(&d, lc + 12) as usize);
    assert_eq!(off + size, d.len(), "the signature ends the file");
    assert_eq!(off % 16, 0);
    let sig = &d[off..];
    assert_eq!(be32(sig, 0), 0xfade_0cc0, "SuperBlob magic");
    assert_eq!(be32(sig, 8), 1, "one blob");
    let cd = &sig[be32(sig, 16) as usize..];
    assert_eq!(be32(cd, 0), 0xfade_0c02, "CodeDirectory magic");
    assert_eq!(be32(cd, 8), 0x20400, "version");
    assert_eq!(be32(cd, 12), 0x20002, "adhoc | linker-signed");
    let hash_offset = be32(cd, 16) as usize;
    let slots = be32(cd, 28) as usize;
    let code_limit = be32(cd, 32) as usize;
    assert_eq!(code_limit, off);
    assert_eq!(
        (cd[36], cd[37], cd[39]),
        (32, 2, 12),
        "SHA-256, 4 KiB pages"
    );
    assert_eq!(slots, off.div_ceil(4096));
    for (i, page) in d[..off].chunks(4096).enumerate() {
        let want = Sha256::digest(page);
        assert_eq!(
            &cd[hash_offset + 32 * i..hash_offset + 32 * (i + 1)],
            &want[..],
            "{}: hash of page {i}",
            path.display()
        );
    }
}

/// A C program for both CPUs: every structure reads back; x86_64's runs in the test loader
/// (its write is bound, its data pointer rebased) and exits with what main returned.
#[test]
fn c_program_links_for_both_cpus_and_x86_64_runs_in_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let directives = common::testdata("macho/libsystem_min.directives");
    for target in [X86_64, ARM64] {
        let obj = clang_object(d, target, "macho/hello.c");
        let prog = link(
            d,
            target,
            &[&obj],
            &["-directives", directives.to_str().unwrap()],
        );
        let headers = dump(&prog, &["--private-headers"]);
        for want in [
            "MH_MAGIC_64",
            "NOUNDEFS DYLDLINK TWOLEVEL PIE",
            "segname __PAGEZERO",
            "segname __TEXT",
            "segname __DATA_CONST",
            "flags SG_READ_ONLY",
            "segname __LINKEDIT",
            "cmd LC_DYLD_CHAINED_FIXUPS",
            "cmd LC_DYLD_EXPORTS_TRIE",
            "cmd LC_SYMTAB",
            "cmd LC_DYSYMTAB",
            "name /usr/lib/dyld",
            "cmd LC_UUID",
            "cmd LC_BUILD_VERSION",
            "platform macos",
            "cmd LC_MAIN",
            "name /usr/lib/libSystem.B.dylib",
            "cmd LC_FUNCTION_STARTS",
            "cmd LC_DATA_IN_CODE",
            "cmd LC_CODE_SIGNATURE",
        ] {
            assert!(
                headers.contains(want),
                "{target}: no {want:?} in\n{headers}"
            );
        }
        let fixups = dump(
            &prog,
            &["--dyld-info", "--exports-trie", "--indirect-symbols"],
        );
        assert!(
            fixups.contains("__got")
                && fixups.contains("bind")
                && fixups.contains("libSystem _write"),
            "{target}:\n{fixups}"
        );
        assert!(
            fixups.contains("__data") && fixups.contains("rebase"),
            "{target}:\n{fixups}"
        );
        assert!(
            fixups.contains("__mh_execute_header") && fixups.contains("_main"),
            "{fixups}"
        );
        let code = dump(&prog, &["-d"]);
        assert!(
            code.contains("symbol stub for: _write"),
            "{target}:\n{code}"
        );
        check_signature(&prog);
        if target == X86_64 {
            let ran = macho_loader::run(&std::fs::read(&prog).unwrap());
            assert_eq!(ran.stdout, "hello from a Mach-O program\n");
            assert_eq!(ran.status, 42);
        }
    }
}

/// The same inputs give the same bytes (UUID and signature included), at any thread count.
#[test]
fn output_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let directives = common::testdata("macho/libsystem_min.directives");
    for target in [X86_64, ARM64] {
        let obj = clang_object(d, target, "macho/hello.c");
        let a = link(
            d,
            target,
            &[&obj],
            &["-directives", directives.to_str().unwrap(), "-threads=1"],
        );
        let a = std::fs::read(a).unwrap();
        let b = link(
            d,
            target,
            &[&obj],
            &["-directives", directives.to_str().unwrap(), "-threads=2"],
        );
        assert_eq!(a, std::fs::read(b).unwrap(), "{target}");
    }
}

const TRIPLES: [&str; 2] = ["x86_64-apple-darwin", "aarch64-apple-darwin"];

/// A `no_std` Rust program whose imports come from a directive in its object: it links with
/// nothing else on the line, and the x86_64 build runs in the loader (a table of string
/// slices it reads through `black_box` is rebased, write and exit are bound).
#[test]
fn rust_no_std_program_from_directives_alone() {
    for triple in TRIPLES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let inputs = common::compile_cross(
            d,
            "macos_nostd",
            common::Mode::Release,
            triple,
            &["-Cpanic=abort".to_string()],
        );
        let objects: Vec<&String> = inputs.iter().filter(|i| i.ends_with(".o")).collect();
        let out = d.join("nostd");
        let mut args = vec!["-o".to_string(), out.display().to_string()];
        args.extend(objects.iter().map(|s| s.to_string()));
        let stdout = common::rlink_ok(&args);
        assert!(stdout.is_empty());
        let headers = dump(&out, &["--private-headers"]);
        assert!(
            headers.contains("name /usr/lib/libSystem.B.dylib"),
            "{triple}"
        );
        let fixups = dump(&out, &["--dyld-info"]);
        assert!(
            fixups.contains("libSystem _write") && fixups.contains("libSystem _exit"),
            "{fixups}"
        );
        assert!(
            fixups.matches("rebase").count() >= 3,
            "{triple}: the table's pointers\n{fixups}"
        );
        check_signature(&out);
        if triple.starts_with("x86_64") {
            let ran = macho_loader::run(&std::fs::read(&out).unwrap());
            assert_eq!(
                ran.stdout,
                "hello from a no_std program on macOS\npointers rebased by dyld\n"
            );
            assert_eq!(ran.status, 7);
        }
    }
}

/// A libSystem `.tbd` (TAPI v4) listing what rlink's bundled manifests list, for ld64.lld.
fn libsystem_tbd(dir: &Path) -> PathBuf {
    let names = |cpu: &str| -> Vec<String> {
        let text = std::fs::read_to_string(
            common::repo().join(format!("linker/macho/manifests/libSystem-{cpu}.directives")),
        )
        .unwrap();
        text.lines()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|n| *n != "_")
            .map(|n| format!("'{n}'"))
            .collect()
    };
    let tbd = dir.join("tbd");
    std::fs::create_dir_all(&tbd).unwrap();
    let text = format!(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos, arm64-macos ]\n\
         install-name: '/usr/lib/libSystem.B.dylib'\ncurrent-version: 1351\nexports:\n\
         \x20 - targets: [ x86_64-macos ]\n    symbols: [ {} ]\n\
         \x20 - targets: [ arm64-macos ]\n    symbols: [ {} ]\n...\n",
        names("x86_64").join(", "),
        names("arm64").join(", ")
    );
    std::fs::write(tbd.join("libSystem.tbd"), text).unwrap();
    tbd
}

/// The names an image binds (either linker's way of saying so) and the names it exports.
fn binds_and_exports(path: &Path) -> (Vec<String>, Vec<String>) {
    let text = dump(
        path,
        &["--bind", "--lazy-bind", "--weak-bind", "--dyld-info"],
    );
    let mut binds: Vec<String> = text
        .lines()
        .filter(|l| {
            l.contains("bind") || l.contains(" libSystem ") || l.contains(" flat-namespace ")
        })
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .filter(|n| n.starts_with('_') && n != "dyld_stub_binder")
        .collect();
    binds.sort();
    binds.dedup();
    let trie = dump(path, &["--exports-trie"]);
    let mut exports: Vec<String> = trie
        .lines()
        .filter(|l| l.starts_with("0x"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    exports.sort();
    (binds, exports)
}

/// The unwind encoding `__unwind_info` gives each named function: its mode and frame (an FDE's
/// offset left out: the two linkers lay `__eh_frame` out differently), whether it has a
/// personality and an LSDA.
fn unwind_by_function(path: &Path) -> std::collections::BTreeMap<String, u32> {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let info = dump(path, &["--unwind-info"]);
    // llvm-objdump prints each entry's encoding resolved (`encoding[i]=0x...` for a table's).
    let mut entries: Vec<(u64, u32)> = info
        .lines()
        .filter_map(|l| {
            let f = l.split("function offset=").nth(1)?.split(',').next()?;
            let value = l.split(", encoding").nth(1)?.split('=').nth(1)?.trim();
            Some((0x1_0000_0000 + hex(f), hex(value) as u32))
        })
        .collect();
    entries.sort();
    let nm = Command::new(llvm_tool("llvm-nm"))
        .args(["--defined-only", "--numeric-sort"])
        .arg(path)
        .output()
        .unwrap();
    let mut out = std::collections::BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for l in String::from_utf8_lossy(&nm.stdout).lines() {
        let parts: Vec<&str> = l.split(' ').collect();
        if parts.len() != 3 || !matches!(parts[1], "t" | "T") || parts[2].starts_with("ltmp") {
            continue;
        }
        let addr = hex(parts[0]);
        let k = entries.partition_point(|e| e.0 <= addr);
        let Some(&(_, e)) = k.checked_sub(1).and_then(|k| entries.get(k)) else {
            continue;
        };
        let mode = e & 0x0f00_0000;
        let dwarf = matches!(mode, 0x0300_0000 | 0x0400_0000) && e & 0x00ff_ffff != 0;
        let frame = if dwarf { mode } else { e & 0x0fff_ffff };
        let masked = frame | (e & 0x4000_0000) | u32::from(e & 0x3000_0000 != 0) << 28;
        // Names defined twice (local functions of two objects) are left out.
        if !seen.insert(parts[2].to_string()) {
            out.remove(parts[2]);
            continue;
        }
        out.insert(parts[2].to_string(), masked);
    }
    out
}

/// An image's segments, and its sections as (segment, section) with ld64.lld's merged
/// literal pools (`__literal4/8/16` in one `__literals`) counted as one.
fn segments_and_sections(
    path: &Path,
) -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<(String, String)>,
) {
    let headers = dump(path, &["--private-headers"]);
    let mut segments = std::collections::BTreeSet::new();
    let mut sections = std::collections::BTreeSet::new();
    let mut section: Option<String> = None;
    for l in headers.lines().map(str::trim) {
        if let Some(name) = l.strip_prefix("sectname ") {
            section = Some(name.to_string());
        } else if let Some(seg) = l.strip_prefix("segname ") {
            match section.take() {
                Some(sect) => {
                    let sect = if sect.starts_with("__literal") {
                        "__literals".to_string()
                    } else {
                        sect
                    };
                    sections.insert((seg.to_string(), sect));
                }
                None => {
                    segments.insert(seg.to_string());
                }
            }
        }
    }
    (segments, sections)
}

/// Every function both images name gets the same unwind encoding in each (more than 50
/// compared). Linker-made branch thunks (zig's `_write__thunk`) are left out: their entries
/// are whatever precedes them.
fn assert_same_unwind(what: &str, reference: &Path, ours: &Path) {
    let theirs = unwind_by_function(reference);
    let ours = unwind_by_function(ours);
    let differ: Vec<String> = theirs
        .iter()
        .filter(|(name, _)| !name.ends_with("__thunk"))
        .filter(|(name, e)| ours.get(*name).is_some_and(|o| o != *e))
        .map(|(name, e)| format!("{name}: reference {e:#x}, ours {:#x}", ours[name]))
        .collect();
    let compared = theirs.keys().filter(|n| ours.contains_key(*n)).count();
    assert!(compared > 50, "{what}: {compared} functions compared");
    assert!(
        differ.is_empty(),
        "{what}: unwind encodings\n{}",
        differ.join("\n")
    );
}

/// Rust std programs for both Apple targets, in release and debug: rlink links them from
/// rustc's cc-style line (libSystem from the bundled manifest), every structure reads back,
/// thread-locals have their descriptors, and ld64.lld given the same objects and a libSystem
/// `.tbd` binds exactly the same names, exports the same ones and has the same segments and
/// sections (with chained fixups, as rlink writes them). `system_stack` uses the
/// runtime stubs' crate built for the target (its naked stack switch and `rlink_crosscall`).
#[test]
fn std_programs_bind_what_ld64_lld_binds() {
    let dir = tempfile::tempdir().unwrap();
    let tbd = libsystem_tbd(dir.path());
    for triple in TRIPLES {
        // The runtime stubs' crate, built for the target, for the program that uses it.
        let stubs_dir = dir.path().join(triple);
        std::fs::create_dir_all(&stubs_dir).unwrap();
        let stubs = common::runtime_stubs_rlib_for(&stubs_dir, triple);
        for (program, mode) in [
            ("system_stack", common::Mode::Release),
            ("hello", common::Mode::Release),
            ("hello", common::Mode::Debug),
            ("threads", common::Mode::Release),
            ("panics", common::Mode::Release),
            ("files_process", common::Mode::Release),
            ("args_env", common::Mode::Release),
            ("exit_code", common::Mode::Debug),
            ("dispatch", common::Mode::Release),
        ] {
            let sub = tempfile::tempdir().unwrap();
            let d = sub.path();
            let extern_flags: &[String] = if program == "system_stack" {
                &stubs
            } else {
                &[]
            };
            let inputs = common::compile_cross(d, program, mode, triple, extern_flags);
            let ours = d.join("ours");
            let mut args = vec!["-o".to_string(), ours.display().to_string()];
            args.extend(inputs.iter().cloned());
            common::rlink_ok(&args);
            let headers = dump(&ours, &["--private-headers"]);
            // rustc's -mmacosx-version-min, read from its cc-style line.
            let minos = if triple.starts_with("x86_64") {
                "minos 10.12"
            } else {
                "minos 11.0"
            };
            assert!(headers.contains(minos), "{triple}: {minos}\n{headers}");
            if program == "threads" {
                assert!(
                    headers.contains("sectname __thread_vars")
                        && headers.contains("HAS_TLV_DESCRIPTORS"),
                    "{triple} {program}: thread-local variables\n{headers}"
                );
            }
            check_signature(&ours);
            if program == "system_stack" {
                // The stack switch (a naked function) and the C entry are linked in, and the
                // switch's frame is described for unwinders.
                let nm = Command::new(llvm_tool("llvm-nm"))
                    .arg(&ours)
                    .output()
                    .unwrap();
                let nm = String::from_utf8_lossy(&nm.stdout);
                assert!(
                    nm.contains("rlink_stub_switch_call") && nm.contains(" T _rlink_crosscall"),
                    "{triple}: runtime stubs\n{nm}"
                );
                let unwind = unwind_by_function(&ours);
                let switch = unwind
                    .iter()
                    .find(|(n, _)| n.contains("rlink_stub_switch_call"))
                    .map(|(_, e)| *e);
                assert!(switch.is_some(), "{triple}: no unwind entry for the switch");
            }

            let arch = if triple.starts_with("x86_64") {
                "x86_64"
            } else {
                "arm64"
            };
            let min = if arch == "x86_64" { "10.12" } else { "11.0" };
            let reference = d.join("reference");
            let lld_inputs: Vec<&String> = inputs
                .iter()
                .filter(|a| !a.starts_with("-l") || a.as_str() == "-lSystem")
                .collect();
            let out = Command::new("ld64.lld-16")
                .args([
                    "-arch",
                    arch,
                    "-platform_version",
                    "macos",
                    min,
                    min,
                    "-dead_strip",
                    // Chained fixups and no lazy binding, as rlink writes them.
                    "-fixup_chains",
                    "-o",
                ])
                .arg(&reference)
                .args(&lld_inputs)
                .arg("-L")
                .arg(&tbd)
                .arg("-lSystem")
                .output()
                .expect("ld64.lld-16 (package lld-16; .ci/run installs it) runs");
            assert!(
                out.status.success(),
                "ld64.lld: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // ld64.lld moves data that is read-only after fixups to __DATA_CONST only from
            // macOS 10.15 on; rlink always does: below that, its __DATA_CONST counts as __DATA.
            let (ref_segments, ref_sections) = segments_and_sections(&reference);
            let (mut segments, mut sections) = segments_and_sections(&ours);
            if !ref_segments.contains("__DATA_CONST") {
                segments.remove("__DATA_CONST");
                sections = sections
                    .into_iter()
                    .map(|(seg, sect)| match seg.as_str() {
                        "__DATA_CONST" => ("__DATA".to_string(), sect),
                        _ => (seg, sect),
                    })
                    .collect();
            }
            assert_eq!(
                (segments, sections),
                (ref_segments, ref_sections),
                "{triple} {program} {mode:?}: segments and sections"
            );
            let (our_binds, our_exports) = binds_and_exports(&ours);
            let (ref_binds, ref_exports) = binds_and_exports(&reference);
            assert!(our_binds.iter().any(|b| b == "_write"), "{our_binds:?}");
            assert_eq!(our_binds, ref_binds, "{triple} {program} {mode:?}: imports");
            assert_eq!(
                our_exports, ref_exports,
                "{triple} {program} {mode:?}: exports"
            );
            let lsdas = |p: &Path| {
                dump(p, &["--unwind-info"])
                    .lines()
                    .filter(|l| l.contains("LSDA offset=") && !l.contains("2nd level"))
                    .count()
            };
            assert_eq!(
                lsdas(&ours),
                lsdas(&reference),
                "{triple} {program}: LSDA descriptors"
            );
            assert_same_unwind(&format!("{triple} {program} {mode:?}"), &reference, &ours);
        }
    }
}

/// `__unwind_info` sends every function described in DWARF to its own FDE in `__eh_frame`,
/// and every CIE's personality pointer reaches a GOT slot rebased to `rust_eh_personality`.
#[test]
fn unwind_info_points_every_function_at_its_frame() {
    for triple in TRIPLES {
        let d = tempfile::tempdir().unwrap();
        let inputs = common::compile_cross(d.path(), "panics", common::Mode::Release, triple, &[]);
        let out = d.path().join("panics");
        let mut args = vec!["-o".to_string(), out.display().to_string()];
        args.extend(inputs.iter().cloned());
        common::rlink_ok(&args);
        let info = dump(&out, &["--unwind-info"]);
        let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        let entries: Vec<(u64, u32)> = info
            .lines()
            .filter_map(|l| {
                let f = l.split("function offset=").nth(1)?.split(',').next()?;
                let e = l.split("encoding=").nth(1)?;
                Some((hex(f), hex(e.trim()) as u32))
            })
            .collect();
        assert!(entries.len() > 100, "{triple}:\n{info}");
        let frames = Command::new(llvm_tool("llvm-dwarfdump"))
            .arg("--eh-frame")
            .arg(&out)
            .output()
            .unwrap();
        let frames = String::from_utf8_lossy(&frames.stdout);
        let mut fde_pc = std::collections::HashMap::new();
        for l in frames.lines().filter(|l| l.contains(" FDE ")) {
            let offset = hex(l.split(' ').next().unwrap());
            let pc = l.split("pc=").nth(1).unwrap().split("...").next().unwrap();
            fde_pc.insert(offset, hex(pc));
        }
        let dwarf_mode = if triple.starts_with("x86_64") {
            0x0400_0000
        } else {
            0x0300_0000
        };
        let mut dwarf = 0;
        for &(function, encoding) in &entries {
            if encoding & 0x0f00_0000 != dwarf_mode {
                continue;
            }
            dwarf += 1;
            let fde = u64::from(encoding & 0xff_ffff);
            assert_eq!(
                fde_pc.get(&fde),
                Some(&(0x1_0000_0000 + function)),
                "{triple}: function {function:#x} names the FDE at {fde:#x}"
            );
        }
        assert!(
            dwarf > 0 && dwarf == fde_pc.len(),
            "{triple}: {dwarf} DWARF entries, {} FDEs",
            fde_pc.len()
        );
        // Personality pointers: one GOT slot, rebased to rust_eh_personality.
        let slots: std::collections::BTreeSet<u64> = frames
            .lines()
            .filter_map(|l| l.split("Personality Address: ").nth(1))
            .map(hex)
            .collect();
        assert_eq!(slots.len(), 1, "{triple}: {slots:?}");
        let slot = *slots.iter().next().unwrap();
        let nm = Command::new(llvm_tool("llvm-nm"))
            .arg(&out)
            .output()
            .unwrap();
        let nm = String::from_utf8_lossy(&nm.stdout);
        let personality = nm
            .lines()
            .find(|l| l.ends_with(" _rust_eh_personality"))
            .map(|l| hex(l.split(' ').next().unwrap()))
            .expect("rust_eh_personality");
        let fixups = dump(&out, &["--dyld-info"]);
        let line = fixups
            .lines()
            .find(|l| l.contains(&format!("{slot:#x} ")))
            .unwrap_or_else(|| panic!("{triple}: no fixup at {slot:#x}\n{fixups}"));
        assert!(
            line.contains("rebase") && line.to_lowercase().contains(&format!("{personality:#x}")),
            "{triple}: {line}"
        );
    }
}

/// The cargo project of testdata (regex, serde_json, serde's derive macro, a C helper the cc
/// crate builds with clang) builds for both Apple targets with rlink as the target's linker and
/// no SDK anywhere; the binary and the test harness read back and are signed.
#[test]
fn cargo_project_for_apple_targets() {
    for triple in TRIPLES {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = common::cross_sysroot(triple);
        let project = common::project(dir.path(), "");
        let upper = triple.to_uppercase().replace('-', "_");
        let lower = triple.replace('-', "_");
        for args in [
            &["build", "--locked"][..],
            &["test", "--locked", "--no-run"][..],
        ] {
            let out = Command::new(common::CROSS_CARGO)
                .args(args)
                .args(["--target", triple])
                .current_dir(&project)
                .env(
                    "PATH",
                    format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default()),
                )
                .env("RUSTC", common::CROSS_RUSTC)
                .env("RUSTFLAGS", format!("--sysroot={}", sysroot.display()))
                .env(format!("CARGO_TARGET_{upper}_LINKER"), common::rlink_bin())
                .env(
                    "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
                    common::rlink_bin(),
                )
                .env(format!("CC_{lower}"), "clang")
                .env(format!("CFLAGS_{lower}"), format!("--target={triple}"))
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .output()
                .expect("cargo runs");
            assert!(
                out.status.success(),
                "{triple}: cargo {args:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let deps = project.join("target").join(triple).join("debug/deps");
        let mut images = 0;
        for e in std::fs::read_dir(&deps).unwrap() {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            if data.get(..4) != Some(&[0xcf, 0xfa, 0xed, 0xfe][..]) || u32_at(&data, 12) != 2 {
                continue;
            }
            images += 1;
            let headers = dump(&p, &["--private-headers"]);
            assert!(headers.contains("cmd LC_CODE_SIGNATURE"), "{}", p.display());
            check_signature(&p);
            let fixups = dump(&p, &["--dyld-info"]);
            assert!(
                fixups
                    .lines()
                    .any(|l| l.contains(" bind ") && l.contains(" libSystem ")),
                "{}",
                p.display()
            );
        }
        assert!(
            images >= 2,
            "{triple}: the binary and the test harness, in {}",
            deps.display()
        );
    }
}

/// Golden `rlink inspect` dumps of the C program for both CPUs (addresses left out, as the
/// dumps do by default), and `rlink dynimport` lists the imports back.
#[test]
fn golden_dumps_of_macho_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let directives = common::testdata("macho/libsystem_min.directives");
    for (target, name) in [(X86_64, "x86_64"), (ARM64, "arm64")] {
        let obj = clang_object(d, target, "macho/hello.c");
        let prog = link(
            d,
            target,
            &[&obj],
            &["-directives", directives.to_str().unwrap()],
        );
        let dump = common::rlink_ok(&["inspect".as_ref(), prog.as_os_str()]);
        insta::assert_snapshot!(format!("inspect_macho_{name}_c_executable"), dump);
        let imports = common::rlink_ok(&["dynimport".as_ref(), prog.as_os_str()]);
        assert!(
            imports.contains("cgo_import_dynamic write write \"/usr/lib/libSystem.B.dylib\"")
                && imports.contains("cgo_import_dynamic _ _ \"/usr/lib/libSystem.B.dylib\""),
            "{target}:\n{imports}"
        );
    }
}

/// `.tbd` stubs are read as ld64 reads them: frameworks found through `-F` bind their names to
/// their install names (dylibs numbered in command-line order) from a TAPI v4 (YAML) stub and
/// a v5 (JSON) one (`-weak_framework`: loaded weakly, its names weak imports), a libSystem `.tbd` found through `-L` stands in for the bundled manifest, and a
/// framework with no stub is an error saying what to give.
#[test]
fn tbd_stubs_for_frameworks_and_libsystem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("use_foo.c"),
        "extern long write(int, const void *, unsigned long);\n\
         extern int foo_value(void);\n\
         extern int bar_value(void);\n\
         int main(void) { write(1, \"x\", 1); return foo_value() + bar_value(); }\n",
    )
    .unwrap();
    let fw = d.join("fw/Foo.framework");
    std::fs::create_dir_all(&fw).unwrap();
    std::fs::write(
        fw.join("Foo.tbd"),
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos, arm64-macos ]\n\
         install-name: '/System/Library/Frameworks/Foo.framework/Versions/A/Foo'\n\
         exports:\n  - targets: [ x86_64-macos, arm64-macos ]\n    symbols: [ _foo_value ]\n...\n",
    )
    .unwrap();
    // A TAPI v5 (JSON) stub, keys sorted as llvm-readtapi writes them (the version last).
    let bar = d.join("fw/Bar.framework");
    std::fs::create_dir_all(&bar).unwrap();
    std::fs::write(
        bar.join("Bar.tbd"),
        r#"{
  "main_library": {
    "exported_symbols": [ { "text": { "global": [ "_bar_value" ] } } ],
    "install_names": [ { "name": "/System/Library/Frameworks/Bar.framework/Versions/A/Bar" } ],
    "target_info": [ { "min_deployment": "10.12", "target": "x86_64-macos" },
                     { "min_deployment": "11", "target": "arm64-macos" } ]
  },
  "tapi_tbd_version": 5
}
"#,
    )
    .unwrap();
    let tbd = libsystem_tbd(d);
    for target in [X86_64, ARM64] {
        common::run(
            "clang",
            &[
                &format!("--target={target}"),
                "-O1",
                "-c",
                "use_foo.c",
                "-o",
                "use_foo.o",
            ],
            d,
        );
        let obj = d.join("use_foo.o");
        let fwdir = d.join("fw").display().to_string();
        let tbd_dir = tbd.display().to_string();
        let prog = link(
            d,
            target,
            &[&obj],
            &[
                "-F",
                &fwdir,
                "-framework",
                "Foo",
                "-weak_framework",
                "Bar",
                "-L",
                &tbd_dir,
                "-lSystem",
            ],
        );
        let headers = dump(&prog, &["--private-headers"]);
        assert!(
            headers.contains("name /usr/lib/libSystem.B.dylib")
                && headers.contains("name /System/Library/Frameworks/Foo.framework/Versions/A/Foo"),
            "{target}:\n{headers}"
        );
        let fixups = dump(&prog, &["--chained-fixups"]);
        let foo = fixups
            .split("dyld chained import")
            .find(|i| i.contains("_foo_value"))
            .unwrap_or_else(|| panic!("{target}: _foo_value not imported\n{fixups}"));
        // Command-line order, as ld64 numbers them: Foo, Bar, then libSystem.
        assert!(foo.contains("lib_ordinal = 1"), "{target}: {foo}");
        let bar = fixups
            .split("dyld chained import")
            .find(|i| i.contains("_bar_value"))
            .unwrap_or_else(|| panic!("{target}: _bar_value not imported\n{fixups}"));
        assert!(bar.contains("lib_ordinal = 2"), "{target}: {bar}");
        // -weak_framework: loaded weakly, and its names are weak imports (dyld leaves them 0
        // when the framework is missing); Foo's are not.
        assert!(bar.contains("weak_import = 1"), "{target}: {bar}");
        assert!(foo.contains("weak_import = 0"), "{target}: {foo}");
        let weak_load = headers
            .split("Load command")
            .find(|c| c.contains("Bar.framework"))
            .unwrap();
        assert!(
            weak_load.contains("cmd LC_LOAD_WEAK_DYLIB"),
            "{target}: {weak_load}"
        );
        assert!(
            headers.contains("name /System/Library/Frameworks/Bar.framework/Versions/A/Bar"),
            "{target}:\n{headers}"
        );
        let missing = common::rlink_fails(&[
            format!("-target={target}"),
            "-o".into(),
            d.join("never").display().to_string(),
            obj.display().to_string(),
            "-framework".into(),
            "Missing".into(),
        ]);
        assert!(
            missing.contains("-framework Missing") && missing.contains("Missing.tbd"),
            "{missing}"
        );
        assert!(!d.join("never").exists());
    }
}

/// A Rust cdylib for both Apple targets with rlink as rustc's linker (`-dynamiclib` and an
/// `-exported_symbols_list` through `-Wl,`): an `MH_DYLIB` with `LC_ID_DYLIB`, no `__PAGEZERO`,
/// entry or interpreter, exporting exactly the crate's `#[no_mangle]` functions.
#[test]
fn rust_cdylib_for_apple_targets() {
    for triple in TRIPLES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sysroot = common::cross_sysroot(triple);
        let out = d.join("libcd.dylib");
        let status = Command::new(common::CROSS_RUSTC)
            .args([
                "--edition=2021",
                "--crate-type=cdylib",
                "-O",
                "--target",
                triple,
            ])
            .arg("--sysroot")
            .arg(&sysroot)
            .arg(format!("-Clinker={}", common::rlink_bin()))
            .arg(common::testdata("programs/cdylib.rs"))
            .arg("-o")
            .arg(&out)
            .env("RUSTC_BOOTSTRAP", "1")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let headers = dump(&out, &["--private-headers"]);
        assert!(
            headers.contains(" DYLIB ") && headers.contains("cmd LC_ID_DYLIB"),
            "{headers}"
        );
        for absent in ["__PAGEZERO", "LC_MAIN", "LC_LOAD_DYLINKER"] {
            assert!(!headers.contains(absent), "{triple}: {absent}\n{headers}");
        }
        let (_, exports) = binds_and_exports(&out);
        assert_eq!(
            exports,
            ["_rl_caught_panic", "_rl_count", "_rl_greet", "_rl_sum"],
            "{triple}"
        );
        let fixups = dump(&out, &["--dyld-info"]);
        assert!(fixups.contains("libSystem"), "{triple}");
        check_signature(&out);
    }
}

/// The host C drivers external mode is tested with, per Apple triple: clang with ld64.lld 16
/// (clang 14 passes `-platform_version` only for a new enough `-mlinker-version`), and zig cc.
fn host_drivers(triple: &str) -> [(&'static str, String); 2] {
    let (clang_target, zig_target) = if triple.starts_with("x86_64") {
        ("x86_64-apple-macos10.12", "x86_64-macos")
    } else {
        ("arm64-apple-macos11", "aarch64-macos")
    };
    [
        (
            "clang + ld64.lld",
            format!(
                "clang --target={clang_target} -mlinker-version=705 --ld-path=/usr/bin/ld64.lld-16"
            ),
        ),
        (
            "zig cc",
            format!("python3 -m ziglang cc -target {zig_target}"),
        ),
    ]
}

/// `rlink -linkmode=external` for an Apple target; returns the output and the kept work
/// directory (with the combined object).
fn link_external(
    dir: &Path,
    triple: &str,
    extld: &str,
    extldflags: &str,
    inputs: &[String],
) -> (PathBuf, PathBuf) {
    let out = dir.join(format!("ext-{}", extld.split(' ').next().unwrap()));
    let work = dir.join(format!("work-{}", extld.len()));
    let mut args = vec![
        "-linkmode=external".to_string(),
        format!("-target={triple}"),
        format!("-extld={extld}"),
        format!("-extldflags={extldflags}"),
        format!("-tmpdir={}", work.display()),
        "-o".to_string(),
        out.display().to_string(),
    ];
    args.extend(inputs.iter().cloned());
    let (code, _, stderr) = common::rlink(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{triple}: rlink -extld={extld}:\n{stderr}");
    (out, work)
}

/// External mode for both Apple targets: rlink merges the Rust objects into one `MH_OBJECT`
/// (subsections via symbols, so the host still dead-strips per function) and drives clang with
/// ld64.lld given a libSystem `.tbd`, and zig cc with its own. Each output binds exactly what
/// the same driver binds when given the Rust objects themselves, exports the same unmangled
/// names, and gives every function the same unwind encoding; the combined object reads back as
/// a relocatable object.
#[test]
fn external_mode_with_clang_lld_and_zig() {
    let dir = tempfile::tempdir().unwrap();
    let tbd = libsystem_tbd(dir.path());
    for triple in TRIPLES {
        for (program, mode) in [
            ("panics", common::Mode::Release),
            ("threads", common::Mode::Release),
            ("hello", common::Mode::Debug),
        ] {
            let sub = tempfile::tempdir().unwrap();
            let d = sub.path();
            let inputs = common::compile_cross(d, program, mode, triple, &[]);
            for (driver, extld) in host_drivers(triple) {
                let what = format!("{triple} {program} {mode:?} with {driver}");
                let flags = if driver.starts_with("clang") {
                    format!("-L{}", tbd.display())
                } else {
                    String::new()
                };
                // The reference: the same driver given rustc's objects and rlibs.
                let reference = d.join(format!("reference-{}", extld.len()));
                let words: Vec<&str> = extld.split(' ').chain(flags.split_whitespace()).collect();
                let out = Command::new(words[0])
                    .args(&words[1..])
                    .args(["-Wl,-dead_strip", "-o"])
                    .arg(&reference)
                    .args(inputs.iter().filter(|a| !a.starts_with("-l")))
                    .output()
                    .expect("the host driver runs");
                assert!(
                    out.status.success(),
                    "{what}: reference link: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let (ref_binds, ref_exports) = binds_and_exports(&reference);

                let (prog, work) = link_external(d, triple, &extld, &flags, &inputs);
                let combined = work.join("rlink-combined.o");
                let headers = dump(&combined, &["--private-headers"]);
                assert!(
                    headers.contains(" OBJECT ") && headers.contains("SUBSECTIONS_VIA_SYMBOLS"),
                    "{what}: combined object\n{headers}"
                );
                // Every relocation and symbol of the combined object reads back.
                let relocs = Command::new(objdump())
                    .args(["--macho", "-r", "--syms"])
                    .arg(&combined)
                    .output()
                    .unwrap();
                assert!(
                    relocs.status.success() && relocs.stderr.is_empty(),
                    "{what}: {}",
                    String::from_utf8_lossy(&relocs.stderr)
                );
                let (binds, exports) = binds_and_exports(&prog);
                assert!(binds.iter().any(|b| b == "_write"), "{what}: {binds:?}");
                // zig, given the rlibs, takes the C memory functions from its own runtime
                // library; rlink bound them to libSystem first, as ld64.lld does.
                let zig_own = [
                    "_memcpy", "_memmove", "_memset", "_memcmp", "_bcmp", "_strlen",
                ];
                let extra: Vec<&String> = binds
                    .iter()
                    .filter(|b| !ref_binds.contains(b))
                    .filter(|b| !(driver == "zig cc" && zig_own.contains(&b.as_str())))
                    .collect();
                let missing: Vec<&String> =
                    ref_binds.iter().filter(|b| !binds.contains(b)).collect();
                assert!(
                    extra.is_empty() && missing.is_empty(),
                    "{what}: imports: {extra:?} more, {missing:?} fewer"
                );
                // Mangled Rust names become local in the combined object (as in ELF external
                // linking): the output exports exactly the reference's unmangled names.
                let unmangled: Vec<String> = ref_exports
                    .iter()
                    .filter(|n| !n.starts_with("__R") && !n.starts_with("__ZN"))
                    .cloned()
                    .collect();
                assert_eq!(exports, unmangled, "{what}: exports");
                assert_same_unwind(&what, &reference, &prog);
            }
        }
    }
}

/// The x86_64 `no_std` program linked externally (clang with ld64.lld, chained fixups asked
/// for) runs in the tests' loader: the combined object's relocations came through whole.
#[test]
fn externally_linked_no_std_program_runs_in_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tbd = libsystem_tbd(d);
    let triple = "x86_64-apple-darwin";
    let inputs = common::compile_cross(
        d,
        "macos_nostd",
        common::Mode::Release,
        triple,
        &["-Cpanic=abort".to_string()],
    );
    // The program's own objects (rustc's symbols.o only names what the compiler built in,
    // which nothing here uses; external mode reports undefined names before any GC).
    let objects: Vec<String> = inputs
        .into_iter()
        .filter(|i| i.ends_with(".o") && !i.ends_with("/symbols.o"))
        .collect();
    let [(_, clang), _] = host_drivers(triple);
    let (prog, _) = link_external(
        d,
        triple,
        &clang,
        &format!("-L{} -nostartfiles -Wl,-fixup_chains", tbd.display()),
        &objects,
    );
    let ran = macho_loader::run(&std::fs::read(&prog).unwrap());
    assert_eq!(
        ran.stdout,
        "hello from a no_std program on macOS\npointers rebased by dyld\n"
    );
    assert_eq!(ran.status, 7);
}

/// ld64's `-undefined dynamic_lookup` (how Python extension modules link) and `-rpath`, from
/// rustc's cc-style line: the name nothing defines is bound to the flat lookup, the dylib is
/// not marked `MH_NOUNDEFS`, and `LC_RPATH` carries each directory, as ld64.lld writes them;
/// without the option the name is an undefined-symbol error and nothing is written.
#[test]
fn undefined_dynamic_lookup_and_rpath() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("ext.c"),
        "extern int py_thing(int);\nint module_init(void) { return py_thing(3); }\n",
    )
    .unwrap();
    let tbd = libsystem_tbd(d);
    for (target, arch, min) in [(X86_64, "x86_64", "10.12"), (ARM64, "arm64", "11.0")] {
        common::run(
            "clang",
            &[
                &format!("--target={target}"),
                "-O1",
                "-c",
                "ext.c",
                "-o",
                "ext.o",
            ],
            d,
        );
        let out = d.join(format!("ext-{arch}.dylib"));
        let line = |lookup: bool| -> Vec<String> {
            let mut a: Vec<String> = [
                "-arch",
                arch,
                &format!("-mmacosx-version-min={min}.0"),
                "-Wl,-dead_strip",
                "-nodefaultlibs",
                "-dynamiclib",
                "-Wl,-rpath,@loader_path/../lib",
                "-Wl,-rpath,/opt/py/lib",
                "-o",
                out.to_str().unwrap(),
                d.join("ext.o").to_str().unwrap(),
                "-lSystem",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if lookup {
                a.push("-Wl,-undefined,dynamic_lookup".into());
            }
            a
        };
        let err = common::rlink_fails(&line(false));
        assert!(err.contains("undefined symbol: _py_thing"), "{err}");
        assert!(!out.exists());
        common::rlink_ok(&line(true));
        let headers = dump(&out, &["--private-headers"]);
        assert!(!headers.contains("NOUNDEFS"), "{arch}:\n{headers}");
        for path in ["path @loader_path/../lib", "path /opt/py/lib"] {
            assert!(headers.contains(path), "{arch}: {path}\n{headers}");
        }
        let fixups = dump(&out, &["--chained-fixups"]);
        let import = fixups
            .split("dyld chained import")
            .find(|i| i.contains("_py_thing"))
            .unwrap_or_else(|| panic!("{arch}: _py_thing not imported\n{fixups}"));
        assert!(import.contains("lib_ordinal = -2"), "{arch}: {import}");
        check_signature(&out);

        let reference = d.join(format!("ref-{arch}.dylib"));
        let lld = Command::new("ld64.lld-16")
            .args([
                "-arch",
                arch,
                "-platform_version",
                "macos",
                min,
                min,
                "-dylib",
            ])
            .args([
                "-undefined",
                "dynamic_lookup",
                "-rpath",
                "@loader_path/../lib",
            ])
            .args(["-rpath", "/opt/py/lib", "-o"])
            .arg(&reference)
            .arg(d.join("ext.o"))
            .arg("-L")
            .arg(&tbd)
            .arg("-lSystem")
            .output()
            .unwrap();
        assert!(
            lld.status.success(),
            "{}",
            String::from_utf8_lossy(&lld.stderr)
        );
        assert_eq!(
            binds_and_exports(&out),
            binds_and_exports(&reference),
            "{arch}"
        );
        let rpaths = |h: &str| -> Vec<String> {
            h.lines()
                .filter(|l| l.trim_start().starts_with("path "))
                .map(|l| l.trim().to_string())
                .collect()
        };
        assert_eq!(
            rpaths(&headers),
            rpaths(&dump(&reference, &["--private-headers"])),
            "{arch}"
        );
    }
}
