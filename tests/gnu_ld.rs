//! rlink as GNU ld: C programs and libraries linked from a GNU ld line (`-flavor gnu`, the line
//! gcc's collect2 passes), run, and their dynamic sections checked with readelf. Each test
//! checks one thing GNU ld does that rlink's other doors do differently or not at all.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{rlink_fails, rlink_ok, run};

const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";
const CRT1: &str = "/usr/lib/x86_64-linux-gnu/Scrt1.o";

fn cc(dir: &Path, name: &str, source: &str, flags: &[&str]) -> String {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let o = dir.join(format!("{name}.o"));
    let mut args = vec![
        "-c",
        "-fPIC",
        "-o",
        o.to_str().unwrap(),
        c.to_str().unwrap(),
    ];
    args.extend(flags);
    run("cc", &args, dir);
    o.display().to_string()
}

/// `ld -flavor gnu ARGS…` linking a PIE program with the C start-up object and libc.
fn ld_exe(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let exe = dir.join(out);
    let mut line: Vec<String> = ["-flavor", "gnu", "-pie", "--dynamic-linker", INTERP, "-o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    line.push(exe.display().to_string());
    line.push(CRT1.to_string());
    line.extend(args.iter().map(|s| s.to_string()));
    line.push("-lc".into());
    rlink_ok(&line);
    exe
}

fn ld_shared(dir: &Path, out: &str, args: &[&str]) -> PathBuf {
    let so = dir.join(out);
    let mut line: Vec<String> = ["-flavor", "gnu", "-shared", "-o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    line.push(so.display().to_string());
    line.extend(args.iter().map(|s| s.to_string()));
    rlink_ok(&line);
    so
}

fn readelf(args: &[&str], file: &Path) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "readelf {args:?} {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn output_of(exe: &Path, dir: &Path) -> String {
    let out = Command::new(exe)
        .env("LD_LIBRARY_PATH", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{} failed: {out:?}", exe.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn named_libraries_are_needed_unless_as_needed_and_sonameless_ones_by_path() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let lib = cc(d, "lib", "int unused_fn(void) { return 1; }\n", &[]);
    // No -soname: DT_NEEDED records the library as the line names it.
    ld_shared(d, "libplain.so", &[&lib]);
    let main = cc(
        d,
        "main",
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
        &[],
    );
    let plain = d.join("libplain.so").display().to_string();
    let exe = ld_exe(d, "needed", &[&main, &plain]);
    let dynamic = readelf(&["-d"], &exe);
    assert!(
        dynamic.contains(&format!("Shared library: [{plain}]")),
        "{dynamic}"
    );
    assert_eq!(output_of(&exe, d), "hi\n");
    // Under --as-needed a library nothing binds is left out.
    let exe = ld_exe(d, "as_needed", &[&main, "--as-needed", &plain]);
    let dynamic = readelf(&["-d"], &exe);
    assert!(!dynamic.contains("libplain.so"), "{dynamic}");
    assert!(dynamic.contains("Shared library: [libc.so.6]"), "{dynamic}");
}

#[test]
fn versioned_exports_and_symver_definitions() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let lib = cc(
        d,
        "v",
        "int api(void) { return 1; }\nint helper(void) { return 2; }\n\
         int old_impl(void) { return 10; }\nint new_impl(void) { return 20; }\n\
         __asm__(\".symver old_impl, compat@VERS_1\");\n\
         __asm__(\".symver new_impl, compat@@VERS_2\");\n",
        &[],
    );
    std::fs::write(
        d.join("v.map"),
        "VERS_1 { global: api; local: *; };\nVERS_2 { global: compat; } VERS_1;\n",
    )
    .unwrap();
    let map = d.join("v.map").display().to_string();
    let so = ld_shared(
        d,
        "libv.so",
        &["-soname", "libv.so", "--version-script", &map, &lib],
    );
    let syms = readelf(&["-W", "--dyn-syms"], &so);
    assert!(syms.contains(" api@@VERS_1"), "{syms}");
    assert!(syms.contains(" compat@VERS_1"), "{syms}");
    assert!(syms.contains(" compat@@VERS_2"), "{syms}");
    assert!(!syms.contains("helper"), "{syms}");
    let defs = readelf(&["-V"], &so);
    assert!(
        defs.contains("Flags: BASE") && defs.contains("Name: libv.so"),
        "{defs}"
    );
    assert!(defs.contains("Parent 1: VERS_1"), "{defs}");
    // A program linked against it binds the default version and runs.
    let main = cc(
        d,
        "usev",
        "#include <stdio.h>\nint api(void); int compat(void);\n\
         int main(void) { printf(\"%d %d\\n\", api(), compat()); return 0; }\n",
        &[],
    );
    let exe = ld_exe(d, "usev", &[&main, &so.display().to_string()]);
    let needs = readelf(&["-V"], &exe);
    assert!(needs.contains("Name: VERS_2"), "{needs}");
    assert_eq!(output_of(&exe, d), "1 20\n");
}

#[test]
fn shared_library_functions_are_preemptible_and_executables_export_what_libraries_use() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // The library calls its own `world` and the program's `callback`: a program defining
    // `world` too wins, as with GNU ld (the call goes through the library's PLT).
    let lib = cc(
        d,
        "p",
        "#include <stdio.h>\nvoid callback(void);\n\
         void world(void) { puts(\"library world\"); }\n\
         void hello(void) { world(); callback(); }\n",
        &[],
    );
    let so = ld_shared(d, "libp.so", &["-soname", "libp.so", &lib]);
    let main = cc(
        d,
        "pm",
        "#include <stdio.h>\nvoid hello(void);\n\
         void world(void) { puts(\"program world\"); }\n\
         void callback(void) { puts(\"callback\"); }\n\
         int main(void) { hello(); return 0; }\n",
        &["-fno-PIC", "-fPIE"],
    );
    let exe = ld_exe(d, "preempt", &[&main, &so.display().to_string()]);
    assert_eq!(output_of(&exe, d), "program world\ncallback\n");
    // -Bsymbolic-functions binds the library's call to its own function.
    let so = ld_shared(
        d,
        "libp.so",
        &["-soname", "libp.so", "-Bsymbolic-functions", &lib],
    );
    let exe = ld_exe(d, "symbolic", &[&main, &so.display().to_string()]);
    assert_eq!(output_of(&exe, d), "library world\ncallback\n");
}

#[test]
fn defsym_relocatable_output_and_dynamic_section_options() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let a = cc(
        d,
        "a",
        "#include <stdio.h>\nextern char sixteen; int twice(int);\n\
         int main(void) { printf(\"%p %d\\n\", (void *)&sixteen, twice(21)); return 0; }\n",
        &[],
    );
    let b = cc(d, "b", "int twice_impl(int x) { return 2 * x; }\n", &[]);
    // -r merges the two objects into one that links like them.
    let merged = d.join("merged.o");
    rlink_ok(&[
        "-flavor",
        "gnu",
        "-r",
        "-o",
        merged.to_str().unwrap(),
        &a,
        &b,
    ]);
    assert!(readelf(&["-h"], &merged).contains("REL (Relocatable file)"));
    let exe = ld_exe(
        d,
        "defsym",
        &[
            merged.to_str().unwrap(),
            "--defsym=sixteen=16",
            "--defsym",
            "twice=twice_impl",
            "--hash-style=both",
            "--build-id=sha1",
            "-rpath",
            "/opt/a",
            "-rpath=/opt/b:/opt/a",
            "--disable-new-dtags",
            "-z",
            "execstack,stack-size=0x200000,nodelete",
        ],
    );
    // An absolute symbol keeps its value in a PIE.
    assert_eq!(output_of(&exe, d), "0x10 42\n");
    let dynamic = readelf(&["-d"], &exe);
    assert!(
        dynamic.contains("(HASH)") && dynamic.contains("(GNU_HASH)"),
        "{dynamic}"
    );
    assert!(
        dynamic.contains("Library rpath: [/opt/a:/opt/b]"),
        "{dynamic}"
    );
    assert!(dynamic.contains("NODELETE"), "{dynamic}");
    let notes = readelf(&["-n"], &exe);
    assert!(notes.contains("0x00000014\tNT_GNU_BUILD_ID"), "{notes}");
    let segments = readelf(&["-lW"], &exe);
    assert!(
        segments
            .lines()
            .any(|l| l.contains("GNU_STACK") && l.contains("0x200000 RWE")),
        "{segments}"
    );
}

#[test]
fn unsupported_options_are_errors_and_help_lists_the_rest() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let a = cc(d, "u", "int main(void) { return 0; }\n", &[]);
    let out = d.join("never");
    for option in [
        "--emit-relocs",
        "-Map=x.map",
        "--icf=all",
        "-z pack-relative-relocs",
    ] {
        let mut line = vec!["-flavor", "gnu", "-o", out.to_str().unwrap(), &a];
        line.extend(option.split(' '));
        let e = rlink_fails(&line);
        assert!(
            e.contains(&format!(
                "unsupported option: {}",
                option.split('=').next().unwrap()
            )),
            "{option}: {e}"
        );
        assert!(!out.exists(), "{option} left an output");
    }
    let help = rlink_ok(&["-flavor", "gnu", "--help"]);
    for listed in [
        "--as-needed",
        "--version-script",
        "--defsym",
        "--build-id",
        "--wrap",
        "--gdb-index",
        "--compress-debug-sections",
        "-z KEYWORD",
    ] {
        assert!(help.contains(listed), "{listed}: {help}");
    }
}

/// Position-dependent code: an imported function's address taken as a constant is its PLT
/// entry, the same one the library sees (a canonical PLT); aliases of copied data the program
/// names share one copy.
#[test]
fn non_pic_programs_see_one_address_for_imported_functions_and_aliased_data() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let lib = cc(
        d,
        "lib",
        "int value = 42;\nextern int alias __attribute__((alias(\"value\")));\n\
         void hello(void) {}\nvoid *hello_from_lib(void) { return (void *)hello; }\n\
         int *alias_from_lib(void) { return &alias; }\n",
        &[],
    );
    let so = ld_shared(d, "libaddr.so", &["-soname", "libaddr.so", &lib]);
    let main = cc(
        d,
        "main",
        "#include <stdio.h>\nvoid hello(void); void *hello_from_lib(void);\n\
         extern int value, alias; int *alias_from_lib(void);\n\
         int main(void) { printf(\"%d %d %d\\n\", (void *)hello == hello_from_lib(),\n\
         &value == alias_from_lib() && &alias == &value, value); return 0; }\n",
        &["-fno-PIC"],
    );
    let exe = d.join("addr");
    let crt1 = "/usr/lib/x86_64-linux-gnu/crt1.o";
    let mut line: Vec<String> = [
        "-flavor",
        "gnu",
        "-no-pie",
        "--dynamic-linker",
        INTERP,
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    line.extend([exe.display().to_string(), crt1.to_string(), main]);
    line.extend([so.display().to_string(), "-lc".to_string()]);
    rlink_ok(&line);
    assert_eq!(output_of(&exe, d), "1 1 42\n");
    let syms = readelf(&["-W", "--dyn-syms"], &exe);
    // `hello` is undefined with its PLT entry as value; `value` and `alias` are defined here.
    let hello = syms.lines().find(|l| l.ends_with(" hello")).unwrap();
    assert!(
        hello.contains(" UND ") && !hello.contains(" 0000000000000000 "),
        "{hello}"
    );
    let relocs = readelf(&["-W", "-r"], &exe);
    assert_eq!(relocs.matches("R_X86_64_COPY").count(), 1, "{relocs}");
}

/// `--wrap`, `--compress-debug-sections`, `--gdb-index`, a compressed input, a thin archive
/// and a linker script's `VERSION` and assignment, in one program and one library.
#[test]
fn wrap_compression_thin_archives_and_script_commands() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let main = cc(
        d,
        "main",
        "#include <stdio.h>\nint twice(int); int thrice(int);\n\
         int main(void) { printf(\"%d %d\\n\", twice(5), thrice(2)); return 0; }\n",
        &["-g", "-ggnu-pubnames"],
    );
    let wrap = cc(
        d,
        "wrap",
        "int __real_twice(int); int __wrap_twice(int x) { return __real_twice(x) + 1; }\n",
        &[],
    );
    let twice = cc(d, "twice", "int twice(int x) { return 2 * x; }\n", &[]);
    // Compressed input debug sections (`-gz`) are read uncompressed.
    let thrice = cc(
        d,
        "thrice",
        "int thrice(int x) { return 3 * x; }\n",
        &["-g", "-gz"],
    );
    // A thin archive names its members' files.
    run("ar", &["rcsT", "libthin.a", &twice, &thrice], d);
    for (how, ch_type) in [("zlib", "ZLIB"), ("zstd", "ZSTD")] {
        let exe = ld_exe(
            d,
            &format!("wrapped-{how}"),
            &[
                &main,
                &wrap,
                "--wrap=twice",
                "--gdb-index",
                &format!("--compress-debug-sections={how}"),
                d.join("libthin.a").to_str().unwrap(),
            ],
        );
        assert_eq!(output_of(&exe, d), "11 6\n");
        let sections = readelf(&["-W", "-S"], &exe);
        let info = sections
            .lines()
            .find(|l| l.contains(" .debug_info "))
            .unwrap();
        assert!(info.contains(" C "), "{info}");
        // The compressed sections decompress to DWARF readelf reads.
        let dump = readelf(&["-W", "-t", "--debug-dump=info"], &exe);
        assert!(dump.contains(ch_type), "{how}");
        assert!(dump.contains("DW_TAG_compile_unit"), "{how}");
        // `.gdb_index`, built from the relocated DWARF before it was compressed.
        let index = readelf(&["-W", "--debug-dump=gdb_index"], &exe);
        assert!(
            index.contains("main: ") && index.contains("[global, function]"),
            "{index}"
        );
        assert!(index.contains("Version 7"), "{index}");
    }
    // VERSION { … } and NAME = VALUE; in a script given as an input.
    let lib = cc(d, "vlib", "int base(void) { return 7; }\n", &[]);
    std::fs::write(
        d.join("lib.script"),
        "VERSION { V1 { global: base; alias; local: *; }; }\nalias = base;\n",
    )
    .unwrap();
    let so = ld_shared(
        d,
        "libv.so",
        &[
            "-soname",
            "libv.so",
            &lib,
            d.join("lib.script").to_str().unwrap(),
        ],
    );
    let syms = readelf(&["-W", "--dyn-syms"], &so);
    assert!(syms.contains(" base@@V1"), "{syms}");
    assert!(syms.contains(" alias@@V1"), "{syms}");
    let e = rlink_fails(&[
        "-flavor",
        "gnu",
        "-o",
        d.join("x").to_str().unwrap(),
        "--compress-debug-sections=zstd:0",
        &lib,
    ]);
    assert!(e.contains("zstd level must be between 1 and 22"), "{e}");
}

/// With debug information, undefined-symbol and duplicate-symbol reports give the source line
/// (from the object's line table), then the object and function, as lld does.
#[test]
fn reports_name_source_lines_from_debug_information() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let out = d.join("never");
    for dwarf in ["-gdwarf-4", "-gdwarf-5"] {
        let u = cc(
            d,
            "u",
            "void missing(void);\nint helper(int x) { return x + 1; }\n\n\
             int main(void) {\n  missing();\n  return helper(2);\n}\n",
            &[dwarf, "-ffunction-sections"],
        );
        let e = rlink_fails(&["-flavor", "gnu", "-o", out.to_str().unwrap(), &u]);
        let want = format!(
            "undefined symbol: missing\n>>> referenced by u.c:5\n>>>               {u}:(main)"
        );
        assert!(e.contains(&want), "{dwarf}: {e}");
        let a = cc(d, "a", "int twice(void) {\n  return 1;\n}\n", &[dwarf]);
        let b = cc(d, "b", "\nint twice(void) { return 2; }\n", &[dwarf]);
        let e = rlink_fails(&["-flavor", "gnu", "-o", out.to_str().unwrap(), &a, &b]);
        let want = format!(
            "duplicate symbol: twice\n>>> defined at a.c:1\n>>>            {a}\n\
             >>> defined at b.c:2\n>>>            {b}"
        );
        assert!(e.contains(&want), "{dwarf}: {e}");
        assert!(!out.exists());
    }
}
