//! Branch islands in arm64 Mach-O output: a `b`/`bl` reaches ±128 MiB, so with 136 MiB of
//! code between `_main` and the function it calls, and `__stubs` after all of it, the call
//! there and the call to the imported `_puts` must each go through a thunk (`adrp x16; add
//! x16; br x16`) placed right after the caller's atom, as ld64 and ld64.lld do. The output is
//! decoded here (the `object` crate for sections, symbols and the indirect symbol table; the
//! branches and thunks by hand), LLVM's Mach-O reader reads its code, unwind table and
//! function starts, and the same link at 1 and 2 threads gives the same bytes. x86_64's
//! calls reach ±2 GiB: the same program has no islands there. A branch no island can serve
//! is an error.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::llvm::dump;
use object::read::macho::{MachOFile64, Section as _};
use object::{LittleEndian as LE, Object, ObjectSection, ObjectSymbol, SymbolIndex};

const ARM64: &str = "arm64-apple-macos11";
const X86_64: &str = "x86_64-apple-macos10.12";
const BASE: u64 = 0x1_0000_0000;

/// `main` calls a near function directly, and `_puts` and `far_away` beyond 128 MiB.
const MAIN_C: &str = "int puts(const char *);\n\
    int far_away(int);\n\
    __attribute__((noinline)) int near_helper(int x) { __asm__ volatile(\"\"); return x + 1; }\n\
    int main(int argc, char **argv) {\n\
    \x20   puts(\"calling far\");\n\
    \x20   return far_away(near_helper(argc)) == 42 ? 0 : 1;\n\
    }\n";

/// 136 MiB of `__text` in an atom of its own (`.subsections_via_symbols`), kept through dead
/// stripping.
const PAD_S: &str = "        .section __TEXT,__text,regular,pure_instructions\n\
    \x20       .no_dead_strip _padding\n\
    _padding:\n\
    \x20       .space 136*1024*1024\n\
    \x20       .subsections_via_symbols\n";

/// After the padding: its call back to `near_helper` is far, its call to `_puts` (the stub
/// follows `__text`) is near.
const FAR_C: &str = "int puts(const char *);\n\
    int near_helper(int);\n\
    int far_away(int x) {\n\
    \x20   puts(\"far\");\n\
    \x20   return near_helper(x) + 39;\n\
    }\n";

/// The three objects for `target`, in link order.
fn objects(d: &Path, target: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (name, src) in [("main.c", MAIN_C), ("pad.s", PAD_S), ("far.c", FAR_C)] {
        let src_path = d.join(name);
        std::fs::write(&src_path, src).unwrap();
        let obj = d.join(format!("{target}-{name}.o"));
        common::run(
            "clang",
            &[
                &format!("--target={target}"),
                "-O1",
                "-c",
                src_path.to_str().unwrap(),
                "-o",
                obj.to_str().unwrap(),
            ],
            d,
        );
        out.push(obj);
    }
    out
}

/// Links `inputs` to `d/sub/prog` (the code signature names the file: one name for all).
fn link(d: &Path, target: &str, inputs: &[PathBuf], extra: &[&str], sub: &str) -> PathBuf {
    std::fs::create_dir_all(d.join(sub)).unwrap();
    let out = d.join(sub).join("prog");
    let mut args: Vec<String> = vec![
        format!("-target={target}"),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    // libSystem from the bundled manifest.
    args.push("-lSystem".into());
    common::rlink_ok(&args);
    out
}

/// What the checks read of an arm64 image.
struct Image {
    /// `__text`: address and bytes.
    text_addr: u64,
    text: Vec<u8>,
    /// Defined symbols in `__text` by name (thunks' left out), and their sorted addresses.
    symbols: BTreeMap<String, u64>,
    starts: Vec<u64>,
    /// `__stubs` entries by the name of the import each jumps to.
    stubs: BTreeMap<String, u64>,
}

fn read_image(path: &Path) -> Image {
    let data = std::fs::read(path).unwrap();
    let file = MachOFile64::<LE>::parse(&*data).expect("a 64-bit Mach-O");
    let text = file.section_by_name("__text").expect("__text");
    let text_addr = text.address();
    let text_data = text.data().unwrap().to_vec();
    let mut symbols = BTreeMap::new();
    for s in file.symbols() {
        let name = s.name().unwrap();
        // ld64.lld names its thunks (`_puts.thunk.0`); they are islands, not functions.
        if s.is_definition() && s.section_index() == Some(text.index()) && !name.contains(".thunk.")
        {
            symbols.insert(name.to_string(), s.address());
        }
    }
    let mut starts: Vec<u64> = symbols.values().copied().collect();
    starts.sort_unstable();
    // Stubs: `reserved1` is the section's first entry in the indirect symbol table,
    // `reserved2` the stub size.
    let mut indirect = Vec::new();
    for cmd in file.macho_load_commands().unwrap() {
        if let Some(dysymtab) = cmd.unwrap().dysymtab().unwrap() {
            indirect = dysymtab
                .indirect_symbols(LE, &*data)
                .unwrap()
                .iter()
                .map(|i| i.get(LE))
                .collect();
        }
    }
    let mut stubs = BTreeMap::new();
    let stubs_section = file
        .sections()
        .find(|s| s.name() == Ok("__stubs"))
        .expect("__stubs");
    let header = stubs_section.macho_section();
    let (first, size) = (header.reserved1(LE) as usize, header.reserved2(LE) as u64);
    assert!(size > 0, "__stubs' stub size");
    for k in 0..stubs_section.size() / size {
        let sym = indirect[first + k as usize]
            .index()
            .expect("a stub's indirect symbol names a symbol");
        let name = file
            .symbol_by_index(SymbolIndex(sym as usize))
            .unwrap()
            .name()
            .unwrap()
            .to_string();
        stubs.insert(name, stubs_section.address() + k * size);
    }
    Image {
        text_addr,
        text: text_data,
        symbols,
        starts,
        stubs,
    }
}

impl Image {
    fn word(&self, addr: u64) -> Option<u32> {
        let at = usize::try_from(addr.checked_sub(self.text_addr)?).ok()?;
        let b = self.text.get(at..at + 4)?;
        Some(u32::from_le_bytes(b.try_into().unwrap()))
    }

    fn symbol(&self, name: &str) -> u64 {
        *self
            .symbols
            .get(name)
            .unwrap_or_else(|| panic!("{name} in {:?}", self.symbols))
    }

    /// The next symbol after `addr` (or the end of `__text`).
    fn next_symbol(&self, addr: u64) -> u64 {
        let k = self.starts.partition_point(|&s| s <= addr);
        self.starts
            .get(k)
            .copied()
            .unwrap_or(self.text_addr + self.text.len() as u64)
    }

    /// A function's `b`/`bl`s, from its symbol to its (only) `ret`: (place, target).
    fn branches(&self, function: &str) -> (Vec<(u64, u64)>, u64) {
        let mut at = self.symbol(function);
        let mut out = Vec::new();
        loop {
            let w = self
                .word(at)
                .unwrap_or_else(|| panic!("{function} runs off __text"));
            if w == 0xd65f_03c0 {
                return (out, at + 4);
            }
            if w & 0x7c00_0000 == 0x1400_0000 {
                let imm = i64::from(((w & 0x03ff_ffff) << 6) as i32 >> 6) * 4;
                out.push((at, at.wrapping_add(imm as u64)));
            }
            at += 4;
        }
    }

    /// Where a thunk at `addr` jumps: `adrp x16, P; add x16, x16, #lo; br x16` computes
    /// page(addr) + P + lo. `None` if `addr` holds no such thunk.
    fn thunk_target(&self, addr: u64) -> Option<u64> {
        let (adrp, add, br) = (self.word(addr)?, self.word(addr + 4)?, self.word(addr + 8)?);
        if adrp & 0x9f00_001f != 0x9000_0010
            || add & 0xffc0_03ff != 0x9100_0210
            || br != 0xd61f_0200
        {
            return None;
        }
        let immlo = u64::from((adrp >> 29) & 3);
        let immhi = u64::from((adrp >> 5) & 0x7ffff);
        let pages = (((immhi << 2 | immlo) << 43) as i64) >> 43;
        let lo = u64::from((add >> 10) & 0xfff);
        Some(
            (addr & !0xfff)
                .wrapping_add((pages << 12) as u64)
                .wrapping_add(lo),
        )
    }
}

/// How a call reaches its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Direct,
    /// Through the thunk at this address.
    Island(u64),
}

/// The calls of `function`, each as (final target, how), and the end of its code.
fn calls(img: &Image, function: &str) -> (Vec<(u64, Call)>, u64) {
    let (branches, end) = img.branches(function);
    let calls = branches
        .into_iter()
        .map(|(place, to)| match img.thunk_target(to) {
            Some(target) => {
                // An island, not a function: after this function's code, before the next
                // symbol, in reach of the branch.
                assert!(
                    to >= end && to + 12 <= img.next_symbol(place),
                    "{function}: the thunk at {to:#x} for {place:#x} is not in the island \
                     after its atom (code ends {end:#x})"
                );
                (target, Call::Island(to))
            }
            None => (to, Call::Direct),
        })
        .collect();
    (calls, end)
}

/// Each far call of the image at `path` goes through an island whose thunk computes exactly
/// its target; each near one is direct. Returns the islands' thunk addresses.
fn check_calls(path: &Path, who: &str) -> Vec<u64> {
    let img = read_image(path);
    let main = img.symbol("_main");
    let near = img.symbol("_near_helper");
    let far = img.symbol("_far_away");
    let puts = *img.stubs.get("_puts").expect("a stub for _puts");
    assert!(far - main > 128 << 20, "{who}: {main:#x} → {far:#x}");
    assert!(puts - main > 128 << 20, "{who}: {main:#x} → stub {puts:#x}");
    assert!(puts - far < 1 << 20, "{who}: far_away → stub {puts:#x}");

    let (main_calls, _) = calls(&img, "_main");
    let (far_calls, _) = calls(&img, "_far_away");
    let via = |list: &[(u64, Call)], target: u64| -> Call {
        let mut found: Vec<Call> = list
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{who}: one call to {target:#x} in {list:x?}"
        );
        found.remove(0)
    };
    assert_eq!(main_calls.len(), 3, "{who}: main's calls {main_calls:x?}");
    assert_eq!(
        via(&main_calls, near),
        Call::Direct,
        "{who}: main → near_helper"
    );
    let Call::Island(to_far) = via(&main_calls, far) else {
        panic!("{who}: main → far_away is direct")
    };
    let Call::Island(to_puts) = via(&main_calls, puts) else {
        panic!("{who}: main → _puts' stub is direct")
    };
    assert_ne!(to_far, to_puts, "{who}: one thunk per target");
    assert_eq!(far_calls.len(), 2, "{who}: far_away's calls {far_calls:x?}");
    assert_eq!(
        via(&far_calls, puts),
        Call::Direct,
        "{who}: far_away → _puts' stub"
    );
    let Call::Island(back) = via(&far_calls, near) else {
        panic!("{who}: far_away → near_helper is direct")
    };
    vec![to_far, to_puts, back]
}

#[test]
fn far_calls_and_far_stubs_go_through_branch_islands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inputs = objects(d, ARM64);
    let started = std::time::Instant::now();
    let prog = link(d, ARM64, &inputs, &["-threads=1"], "one");
    eprintln!(
        "linked {} MiB in {:?}",
        std::fs::metadata(&prog).unwrap().len() >> 20,
        started.elapsed()
    );
    let thunks = check_calls(&prog, "rlink");

    // LLVM reads the code (function by function: all of `__text` would take a minute to
    // print), the unwind table and the function starts.
    let code = dump(&prog, &["-d", "--dis-symname", "_main"]);
    assert!(
        code.contains("literal pool symbol address: _puts"),
        "main's island\n{code}"
    );
    let code = dump(&prog, &["-d", "--dis-symname", "_far_away"]);
    assert!(code.contains("symbol stub for: _puts"), "{code}");
    let info = dump(&prog, &["--unwind-info", "--function-starts"]);
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    // Function starts: the functions, not the islands.
    let starts: Vec<u64> = info
        .lines()
        .filter(|l| l.len() == 16 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .map(hex)
        .collect();
    let img = read_image(&prog);
    for f in ["_main", "_near_helper", "_far_away"] {
        assert!(starts.contains(&img.symbol(f)), "{f} in {starts:x?}");
    }
    // Unwind rows: each island starts one of encoding 0, so the function before it does
    // not claim its thunks; the functions keep their compact encodings.
    let rows: BTreeMap<u64, u64> = info
        .lines()
        .filter_map(|l| {
            let f = l.split("function offset=").nth(1)?.split(',').next()?;
            let e = l.split(", encoding=").nth(1)?.trim();
            Some((BASE + hex(f), hex(e)))
        })
        .collect();
    let islands: std::collections::BTreeSet<u64> = thunks
        .iter()
        .map(|&t| {
            // An island's first thunk: thunks are 12 bytes, back to back.
            let mut at = t;
            while at >= 12 && img.thunk_target(at - 12).is_some() {
                at -= 12;
            }
            at
        })
        .collect();
    assert_eq!(islands.len(), 2, "an island after main, one after far_away");
    for island in &islands {
        assert!(
            !starts.contains(island),
            "island {island:#x} in the function starts"
        );
        assert_eq!(rows.get(island), Some(&0), "island {island:#x}: {rows:x?}");
    }
    for f in ["_main", "_far_away"] {
        let e = rows.get(&img.symbol(f)).copied().unwrap_or(0);
        assert_eq!(
            e & 0x0f00_0000,
            0x0400_0000,
            "{f}: a frame-based encoding {e:#x}"
        );
    }
    let top_end = info
        .lines()
        .filter_map(|l| l.trim().strip_prefix('['))
        .filter(|l| l.contains("2nd level page offset=0x00000000"))
        .filter_map(|l| l.split("function offset=").nth(1)?.split(',').next())
        .map(hex)
        .next_back()
        .expect("the index's sentinel");
    assert!(
        BASE + top_end >= img.text_addr + img.text.len() as u64,
        "the sentinel {top_end:#x} ends __text, islands included"
    );

    // Deterministic at any thread count.
    let two = link(d, ARM64, &inputs, &["-threads=2"], "two");
    assert!(
        std::fs::read(&prog).unwrap() == std::fs::read(&two).unwrap(),
        "-threads=1 and -threads=2 give different bytes"
    );
    // The outputs are 137 MiB each: one at a time on disk.
    std::fs::remove_file(&two).unwrap();

    // ld64.lld 16 (.ci/run installs it) makes thunks for the same calls (a check of the
    // checks).
    {
        let tbd = d.join("tbd");
        std::fs::create_dir_all(&tbd).unwrap();
        std::fs::write(
            tbd.join("libSystem.tbd"),
            "--- !tapi-tbd\ntbd-version: 4\ntargets: [ arm64-macos ]\n\
             install-name: '/usr/lib/libSystem.B.dylib'\ncurrent-version: 1351\nexports:\n\
             \x20 - targets: [ arm64-macos ]\n    symbols: [ _puts, dyld_stub_binder ]\n...\n",
        )
        .unwrap();
        let reference = d.join("reference");
        let out = Command::new("ld64.lld-16")
            .args([
                "-arch",
                "arm64",
                "-platform_version",
                "macos",
                "11.0",
                "11.0",
            ])
            .args(["-dead_strip", "-o"])
            .arg(&reference)
            .args(&inputs)
            .arg("-L")
            .arg(&tbd)
            .arg("-lSystem")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ld64.lld: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        check_calls(&reference, "ld64.lld");
    }
}

/// x86_64's calls reach ±2 GiB: the same program has no islands, `main` calls `far_away`
/// and `_puts`' stub directly.
#[test]
fn x86_64_needs_no_islands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inputs = objects(d, X86_64);
    let prog = link(d, X86_64, &inputs, &[], "x86_64");
    let main = dump(&prog, &["-d", "--dis-symname", "_main"]);
    assert!(
        main.contains("callq\t_far_away") || main.contains("call\t_far_away"),
        "{main}"
    );
    assert!(main.contains("symbol stub for: _puts"), "{main}");
    let data = std::fs::read(&prog).unwrap();
    let file = MachOFile64::<LE>::parse(&*data).unwrap();
    let text = file.section_by_name("__text").unwrap();
    let sizes: u64 = inputs
        .iter()
        .map(|o| {
            let data = std::fs::read(o).unwrap();
            let f = object::File::parse(&*data).unwrap();
            f.section_by_name("__text").map_or(0, |s| s.size())
        })
        .sum();
    // Nothing but the inputs' code (and alignment) in __text.
    assert!(text.size() < sizes + 64, "{} vs {sizes}", text.size());
}

/// A branch at the start of an atom larger than a branch's reach cannot reach the island after
/// that atom either: a clear error naming the place, no output, no panic.
#[test]
fn a_branch_no_island_can_serve_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("big.s"),
        "        .section __TEXT,__text,regular,pure_instructions\n\
         \x20       .globl _main\n\
         \x20       .p2align 2\n\
         _main:\n\
         \x20       bl _far\n\
         \x20       .space 136*1024*1024\n\
         \x20       ret\n\
         \x20       .globl _far\n\
         _far:\n\
         \x20       ret\n\
         \x20       .subsections_via_symbols\n",
    )
    .unwrap();
    common::run(
        "clang",
        &[&format!("--target={ARM64}"), "-c", "big.s", "-o", "big.o"],
        d,
    );
    let out = d.join("never");
    let stderr = common::rlink_fails(&[
        format!("-target={ARM64}"),
        "-o".into(),
        out.display().to_string(),
        d.join("big.o").display().to_string(),
        "-lSystem".into(),
    ]);
    assert!(
        stderr.contains("big.o: __TEXT,__text+0x0")
            && stderr.contains("ARM64_RELOC_BRANCH26 against _far")
            && stderr.contains("branch island"),
        "{stderr}"
    );
    assert!(!out.exists(), "no output after an error");
}
