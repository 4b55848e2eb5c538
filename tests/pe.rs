//! Windows x86-64 executables linked on Linux with no import library: C objects from
//! `clang --target=x86_64-pc-windows-msvc`, imports bound through rlink's bundled DLL
//! manifests, the output run under wine, read back by llvm-readobj and compared with lld-link
//! given import libraries made by llvm-dlltool.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::wine;

const TARGET: &str = "x86_64-pc-windows-msvc";
const GNU_TARGET: &str = "x86_64-pc-windows-gnu";

fn readobj(path: &Path, flags: &[&str]) -> String {
    common::llvm::read("llvm-readobj", path, flags)
}

/// `clang --target=x86_64-pc-windows-msvc -O1 -c SRC -o DIR/OUT` (C or assembly).
fn clang(dir: &Path, src: &Path, out: &str) -> PathBuf {
    let out = dir.join(out);
    common::run(
        "clang",
        &[
            &format!("--target={TARGET}"),
            "-O1",
            "-c",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        dir,
    );
    out
}

fn clang_object(dir: &Path, src: &str) -> PathBuf {
    clang(dir, &common::testdata(src), "hello.o")
}

fn link(dir: &Path, obj: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        format!("-target={TARGET}"),
        "-o".to_string(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(obj.display().to_string());
    args.push("-lkernel32".to_string());
    common::rlink_ok(&args);
    out
}

/// The DLLs an image imports from and the names from each, as llvm-readobj lists them.
fn imports(path: &Path) -> Vec<(String, Vec<String>)> {
    let text = readobj(path, &["--coff-imports"]);
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in text.lines().map(str::trim) {
        if let Some(name) = l.strip_prefix("Name: ") {
            out.push((name.to_string(), Vec::new()));
        } else if let Some(sym) = l.strip_prefix("Symbol: ") {
            let name = sym.split(' ').next().unwrap_or("").to_string();
            if let Some(last) = out.last_mut() {
                last.1.push(name);
            }
        }
    }
    for (_, names) in &mut out {
        names.sort();
    }
    out
}

fn section_names(path: &Path) -> Vec<String> {
    readobj(path, &["--sections"])
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Name: "))
        .map(|n| n.split(' ').next().unwrap_or("").to_string())
        .collect()
}

/// A C program with no C runtime (its own `mainCRTStartup`) that calls kernel32 through
/// `__imp_` slots (dllimport) and through a thunk (a plain call), and reads a table of
/// pointers the loader rebases: it runs under wine, prints, and exits with its status; every
/// header, import and base relocation reads back.
#[test]
fn c_program_runs_under_wine() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let obj = clang_object(d, "pe/hello.c");
    let exe = link(d, &obj, "hello.exe", &[]);
    let headers = readobj(
        &exe,
        &[
            "--file-headers",
            "--sections",
            "--coff-imports",
            "--coff-basereloc",
        ],
    );
    for want in [
        "Magic: 0x20B",
        "IMAGE_FILE_EXECUTABLE_IMAGE",
        "IMAGE_FILE_LARGE_ADDRESS_AWARE",
        "IMAGE_DLL_CHARACTERISTICS_DYNAMIC_BASE",
        "IMAGE_DLL_CHARACTERISTICS_HIGH_ENTROPY_VA",
        "IMAGE_DLL_CHARACTERISTICS_NX_COMPAT",
        "Subsystem: IMAGE_SUBSYSTEM_WINDOWS_CUI",
        "ImageBase: 0x140000000",
        "Name: KERNEL32.dll",
        "Type: DIR64",
        "TimeDateStamp: 1970-01-01 00:00:00 (0x0)",
    ] {
        assert!(headers.contains(want), "no {want:?} in\n{headers}");
    }
    let ran = wine::run(&exe, &[]);
    assert_eq!(
        ran.stdout, "hello from a PE program\n",
        "stderr: {}",
        ran.stderr
    );
    assert_eq!(ran.status, 42);
}

/// lld-link, given the same object and a kernel32 import library made by llvm-dlltool, imports
/// the same names from the same DLL and makes the same sections; both programs run alike.
#[test]
fn imports_and_sections_match_lld_link() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let obj = clang_object(d, "pe/hello.c");
    let exe = link(d, &obj, "hello.exe", &[]);
    std::fs::write(
        d.join("kernel32.def"),
        "LIBRARY KERNEL32.dll\nEXPORTS\nGetStdHandle\nWriteFile\nExitProcess\nSleep\n",
    )
    .unwrap();
    common::run(
        "llvm-dlltool",
        &[
            "-m",
            "i386:x86-64",
            "-d",
            "kernel32.def",
            "-l",
            "kernel32.lib",
        ],
        d,
    );
    let reference = d.join("reference.exe");
    common::run(
        "lld-link",
        &[
            "/nologo",
            "/entry:mainCRTStartup",
            "/subsystem:console",
            &format!("/out:{}", reference.display()),
            obj.to_str().unwrap(),
            "kernel32.lib",
        ],
        d,
    );
    assert_eq!(imports(&exe), imports(&reference));
    assert_eq!(section_names(&exe), section_names(&reference));
    let (ours, theirs) = (wine::run(&exe, &[]), wine::run(&reference, &[]));
    assert_eq!((ours.stdout, ours.status), (theirs.stdout, theirs.status));
}

/// The same inputs give the same bytes at any thread count (the timestamp is 0).
#[test]
fn output_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let obj = clang_object(d, "pe/hello.c");
    let a = std::fs::read(link(d, &obj, "a.exe", &["-threads=1"])).unwrap();
    let b = std::fs::read(link(d, &obj, "b.exe", &["-threads=2"])).unwrap();
    assert_eq!(a, b);
}

/// A name that no object defines and no named DLL exports is an error naming who references
/// it, and nothing is written.
#[test]
fn an_import_nothing_exports_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("missing.c"),
        "__declspec(dllimport) void NoSuchFunction(void);\n\
         void mainCRTStartup(void) { NoSuchFunction(); }\n",
    )
    .unwrap();
    common::run(
        "clang",
        &[
            &format!("--target={TARGET}"),
            "-c",
            "missing.c",
            "-o",
            "missing.o",
        ],
        d,
    );
    let out = d.join("missing.exe");
    let err = common::rlink_fails(&[
        format!("-target={TARGET}"),
        "-o".into(),
        out.display().to_string(),
        d.join("missing.o").display().to_string(),
        "-lkernel32".into(),
    ]);
    assert!(
        err.contains("undefined symbol: NoSuchFunction") && err.contains("missing.o"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Builds a test program for `triple` with rlink as rustc's linker (rustc speaks link.exe's
/// dialect to it for the msvc target), returning the executable.
fn rustc_with_rlink(dir: &Path, program: &str, mode: common::Mode, triple: &str) -> PathBuf {
    rustc_with_rlink_and(dir, program, mode, triple, &[])
}

fn rustc_with_rlink_and(
    dir: &Path,
    program: &str,
    mode: common::Mode,
    triple: &str,
    extra: &[String],
) -> PathBuf {
    let sysroot = common::cross_sysroot(triple);
    let exe = dir.join(format!("{program}-{mode:?}.exe"));
    let mut cmd = Command::new(common::CROSS_RUSTC);
    cmd.args(["--edition=2021", "--target", triple, "--sysroot"])
        .arg(&sysroot)
        .arg("-C")
        .arg(format!("linker={}", common::rlink_bin()));
    match mode {
        common::Mode::Release => cmd.args(["-C", "opt-level=2"]),
        common::Mode::Debug => cmd.args(["-C", "opt-level=0", "-C", "debuginfo=2"]),
    };
    let out = cmd
        .args(extra)
        .arg(common::testdata(&format!("programs/{program}.rs")))
        .arg("-o")
        .arg(&exe)
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(dir)
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "rustc {program} for {triple} with rlink: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Links `testdata/pe/bcryptprimitives.c` into `DIR/bcryptprimitives.dll` with rlink (link.exe
/// line): the `ProcessPrng` std imports for its random seeds, which wine 8 lacks.
fn bcryptprimitives_dll(dir: &Path) -> PathBuf {
    let obj = clang(
        dir,
        &common::testdata("pe/bcryptprimitives.c"),
        "bcryptprimitives.o",
    );
    let dll = dir.join("bcryptprimitives.dll");
    common::rlink_ok(&[
        "-flavor",
        "link",
        "/NOLOGO",
        "/DLL",
        &format!("/OUT:{}", dll.display()),
        obj.to_str().unwrap(),
        "advapi32.lib",
    ]);
    dll
}

/// A DLL linked by rlink from the link.exe line: its exports come from a `dllexport`
/// (`.drectve`), `/EXPORT` and a `.def` file (a renamed export, explicit ordinals, an
/// ordinal-only export, data, a forwarder to kernel32), and its C initializer and then its own
/// `DllMain` run on load. A
/// program linked by rlink against an import library made by llvm-dlltool calls it under
/// wine, finds the ordinal exports with `GetProcAddress`, and binds a missing name through
/// `/ALTERNATENAME`; `/STACK` lands in its header.
#[test]
fn dll_with_exports_used_by_a_program_under_wine() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let compile = |src: &str, out: &str| clang(d, &common::testdata(src), out);
    let lib_obj = compile("pe/mathlib.c", "mathlib.o");
    let use_obj = compile("pe/use_mathlib.c", "use.o");
    let dll = d.join("mathlib.dll");
    common::rlink_ok(&[
        "-flavor",
        "link",
        "/NOLOGO",
        "/DLL",
        &format!("/OUT:{}", dll.display()),
        &format!("/DEF:{}", common::testdata("pe/mathlib.def").display()),
        "/EXPORT:mul",
        lib_obj.to_str().unwrap(),
        "kernel32.lib",
    ]);
    let exports = readobj(&dll, &["--file-headers", "--coff-exports"]);
    assert!(exports.contains("IMAGE_FILE_DLL"), "{exports}");
    assert!(exports.contains("ImageBase: 0x180000000"), "{exports}");
    // (ordinal, name) as llvm-readobj lists them: by ordinal, the NONAME one without a name.
    let mut listed = Vec::new();
    let mut ordinal = String::new();
    for l in exports.lines().map(str::trim) {
        if let Some(o) = l.strip_prefix("Ordinal: ") {
            ordinal = o.to_string();
        } else if let Some(n) = l.strip_prefix("Name:") {
            listed.push(format!("{ordinal} {}", n.trim()));
        }
    }
    assert_eq!(
        listed,
        [
            "5 by_ordinal",
            "6 Snooze",
            "7 add",
            "8 counter",
            "9 ",
            "10 mul",
            "11 scaled"
        ],
        "{exports}"
    );
    assert!(exports.contains("ForwardedTo: kernel32.Sleep"), "{exports}");
    // The DLL's golden dump: headers, sections, the export directory with its forwarder.
    let dump = common::rlink_ok(&["inspect".as_ref(), dll.as_os_str()]);
    insta::assert_snapshot!("inspect_pe_dll", dump);

    let def = d.join("imp.def");
    std::fs::write(
        &def,
        "LIBRARY mathlib.dll\nEXPORTS\nadd\nmul\nscaled\ncounter DATA\nSnooze\n",
    )
    .unwrap();
    let implib = d.join("mathlib.lib");
    common::run(
        "llvm-dlltool",
        &[
            "-m",
            "i386:x86-64",
            "-d",
            def.to_str().unwrap(),
            "-l",
            implib.to_str().unwrap(),
        ],
        d,
    );
    let exe = d.join("use.exe");
    common::rlink_ok(&[
        "-flavor",
        "link",
        "/NOLOGO",
        &format!("/OUT:{}", exe.display()),
        "/ENTRY:mainCRTStartup",
        "/SUBSYSTEM:CONSOLE",
        "/STACK:0x200000,0x2000",
        "/ALTERNATENAME:optional_hook=default_hook",
        use_obj.to_str().unwrap(),
        implib.to_str().unwrap(),
        "kernel32.lib",
    ]);
    let headers = readobj(&exe, &["--file-headers", "--coff-imports"]);
    assert!(headers.contains("SizeOfStackReserve: 2097152"), "{headers}");
    assert!(headers.contains("SizeOfStackCommit: 8192"), "{headers}");
    assert!(headers.contains("Name: mathlib.dll"), "{headers}");
    let ran = wine::run(&exe, &[]);
    assert_eq!(ran.stderr.trim(), "", "an ordinal-only export has no name");
    assert_eq!(
        ran.status, 167,
        "2+3, 2*3, 100, the initializer's 40 and DllMain's 2, 5 and 9"
    );

    // A name nothing defines, and /ALTERNATENAME missing: the error names the reference.
    let err = common::rlink_fails(&[
        "-flavor",
        "link",
        "/NOLOGO",
        &format!("/OUT:{}", d.join("bad.exe").display()),
        "/ENTRY:mainCRTStartup",
        use_obj.to_str().unwrap(),
        implib.to_str().unwrap(),
        "kernel32.lib",
    ]);
    assert!(err.contains("optional_hook"), "{err}");
    assert!(!d.join("bad.exe").exists());
    // An export nothing defines is an error naming it.
    let err = common::rlink_fails(&[
        "-flavor",
        "link",
        "/DLL",
        &format!("/OUT:{}", d.join("bad.dll").display()),
        "/EXPORT:nowhere",
        lib_obj.to_str().unwrap(),
    ]);
    assert!(err.contains("nowhere"), "{err}");
}

/// The std test programs for `triple`, release and debug, linked by rlink as rustc's linker
/// and run under wine: output and exit status as on Linux.
fn std_programs_run_under_wine(triple: &str) {
    use common::programs::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bcryptprimitives_dll(d);
    for mode in [common::Mode::Release, common::Mode::Debug] {
        for e in [
            HELLO,
            ARGS_ENV,
            THREADS,
            panics(false),
            FILES_PROCESS,
            EXIT_CODE,
            DISPATCH,
            COLLECTIONS,
        ] {
            let exe = rustc_with_rlink(d, e.program, mode, triple);
            let ran = wine::run_with(
                &exe,
                &["one", "two words"],
                &[("RLINK_TEST_VAR", "set"), ("RUST_BACKTRACE", "0")],
            );
            let what = format!("{triple} {} {mode:?}", e.program);
            assert_eq!(
                ran.stdout, e.stdout,
                "{what}: stdout; stderr:\n{}",
                ran.stderr
            );
            assert_eq!(
                ran.status, e.code,
                "{what}: exit status; stderr:\n{}",
                ran.stderr
            );
            if e.program == "hello" {
                let headers = readobj(&exe, &["--file-headers", "--coff-imports"]);
                assert!(
                    headers.contains("TLSTableRVA: 0x") && !headers.contains("TLSTableRVA: 0x0\n"),
                    "{what}: TLS directory\n{headers}"
                );
                assert!(headers.contains("Name: KERNEL32.dll"), "{what}");
            }
        }
    }
}

/// Rust std programs for `x86_64-pc-windows-msvc`, linked from rustc's link.exe-style line —
/// no MSVC, no import library, no C runtime on the machine (kernel32.lib and
/// /defaultlib:msvcrt come from the bundled manifests, the start-up and TLS directory from the
/// runtime stubs, std's raw-dylib imports from its rlib): panics caught across frames,
/// thread-locals with destructors, a child process, randomly seeded hash maps (their
/// `ProcessPrng` from an rlink-linked bcryptprimitives.dll beside them) and big statics. (A
/// backtrace cannot name `main`: no PDB is written.)
#[test]
fn msvc_std_programs_run_under_wine() {
    std_programs_run_under_wine(TARGET);
}

/// The same programs for `x86_64-pc-windows-gnu`, from rustc's gcc-style line naming mingw's
/// libraries (`-lgcc_eh -lmingwex -lmingw32 …`), none of which is on the machine: the runtime
/// stubs' `__main` and GCC unwinder over SEH carry the panics, std's dlltool import members
/// become imports, msvcrt.dll gives the C functions.
#[test]
fn gnu_std_programs_run_under_wine() {
    std_programs_run_under_wine(GNU_TARGET);
}

/// The runtime stubs' Windows stack switch (`src/arch/windows_x86_64.rs`), for both targets in
/// release and debug under wine: a C-ABI call needing 1 MiB of stack made from a 16 KiB stack
/// through `call_c`, and a callback's panic caught on the system stack (the TEB's stack bounds
/// moved with it, or the exception dispatcher refuses the frames) and resumed in Rust.
#[test]
fn runtime_stubs_switch_stacks_on_windows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for triple in [TARGET, GNU_TARGET] {
        let stubs_dir = d.join(triple);
        std::fs::create_dir_all(&stubs_dir).unwrap();
        let extern_flags = common::runtime_stubs_rlib_for(&stubs_dir, triple);
        // std for windows-gnu is one section per codegen unit: its ProcessPrng import comes
        // along, and wine 8 lacks the DLL.
        bcryptprimitives_dll(&stubs_dir);
        for mode in [common::Mode::Release, common::Mode::Debug] {
            let exe = rustc_with_rlink_and(&stubs_dir, "system_stack", mode, triple, &extern_flags);
            let ran = wine::run(&exe, &[]);
            assert_eq!(
                ran.stdout,
                common::SYSTEM_STACK_OUTPUT,
                "{triple} {mode:?}: exit status {}; stderr:\n{}",
                ran.status,
                ran.stderr
            );
            assert_eq!(ran.status, 0, "{triple} {mode:?}");
            assert!(
                !ran.stderr.contains("Unhandled exception"),
                "{triple} {mode:?}: {}",
                ran.stderr
            );
        }
    }
}

/// The checked-in windows-gnu runtime object is what its source and build script give.
#[test]
fn windows_gnu_runtime_object_is_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::repo().join("runtime-stubs/windows-gnu");
    for f in ["gcc_seh.c", "build.sh"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    common::run(
        "sh",
        &[dir.path().join("build.sh").to_str().unwrap()],
        dir.path(),
    );
    let built = std::fs::read(dir.path().join("gcc_seh.o")).unwrap();
    assert!(
        built == std::fs::read(src.join("gcc_seh.o")).unwrap(),
        "runtime-stubs/windows-gnu/gcc_seh.o is stale: run runtime-stubs/windows-gnu/build.sh"
    );
}

/// A golden `rlink inspect` dump of the C program's image (the same bytes every time: the
/// timestamp is 0), and `rlink dynimport` lists its imports back in the directives grammar.
#[test]
fn golden_dump_and_dynimport_of_a_pe_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let obj = clang_object(d, "pe/hello.c");
    let exe = link(d, &obj, "hello.exe", &[]);
    let dump = common::rlink_ok(&["inspect".as_ref(), exe.as_os_str()]);
    insta::assert_snapshot!("inspect_pe_c_executable", dump);
    let imports = common::rlink_ok(&["dynimport".as_ref(), exe.as_os_str()]);
    for name in ["GetStdHandle", "WriteFile", "ExitProcess", "Sleep"] {
        assert!(
            imports.contains(&format!(
                "cgo_import_dynamic {name} {name} \"KERNEL32.dll\""
            )),
            "{imports}"
        );
    }
}

/// The cargo project of testdata (regex, serde_json, serde's derive macro, a C helper the cc
/// crate builds with clang and llvm-ar) built for `x86_64-pc-windows-msvc` with rlink as the
/// target's linker (and the host's, for build scripts and the proc-macro); its unit tests and
/// doc-test run under wine through cargo's runner, with the rlink-linked bcryptprimitives.dll
/// on `WINEPATH`, and so does its binary.
#[test]
fn cargo_project_for_windows_msvc() {
    cargo_project_for(TARGET, TARGET);
}

/// The same for `x86_64-pc-windows-gnu`: no mingw gcc, libraries or crt objects are used
/// (clang compiles the C helper for the target).
#[test]
fn cargo_project_for_windows_gnu() {
    cargo_project_for(GNU_TARGET, "x86_64-w64-windows-gnu");
}

fn cargo_project_for(triple: &str, clang_target: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dll_dir = d.join("dlls");
    std::fs::create_dir_all(&dll_dir).unwrap();
    bcryptprimitives_dll(&dll_dir);
    let sysroot = common::cross_sysroot(triple);
    let project = common::project(d, "");
    let sysroot_flag = format!("--sysroot={}", sysroot.display());
    let lower = triple.replace('-', "_");
    let upper = lower.to_uppercase();
    let cargo = |args: &[&str]| {
        let out = Command::new(common::CROSS_CARGO)
            .arg(args[0])
            .args(["--locked", "--target", triple])
            .args(&args[1..])
            .current_dir(&project)
            .env(
                "PATH",
                format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default()),
            )
            .env("RUSTC", common::CROSS_RUSTC)
            .env("RUSTDOC", "/usr/bin/rustdoc")
            .env("RUSTFLAGS", &sysroot_flag)
            .env("RUSTDOCFLAGS", &sysroot_flag)
            .env(format!("CARGO_TARGET_{upper}_LINKER"), common::rlink_bin())
            .env(
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
                common::rlink_bin(),
            )
            .env(format!("CARGO_TARGET_{upper}_RUNNER"), "wine")
            .env(format!("CC_{lower}"), "clang")
            .env(
                format!("CFLAGS_{lower}"),
                format!("--target={clang_target}"),
            )
            .env(format!("AR_{lower}"), "llvm-ar")
            .env("WINEPREFIX", wine::prefix())
            .env("WINEDEBUG", "-all")
            .env("WINEPATH", wine::windows_path(&dll_dir))
            .env("DISPLAY", "")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cargo runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "cargo {args:?}:\n{text}");
        text
    };
    let tests = cargo(&["test"]);
    assert!(tests.contains("test result: ok. 2 passed"), "{tests}");
    assert!(tests.contains("Doc-tests"), "{tests}");
    let run = cargo(&["run", "-q", "--", "n7 m8"]);
    assert!(run.contains("{\"input\":\"n7 m8\",\"sum\":48}"), "{run}");
    let deps = project.join("target").join(triple).join("debug/deps");
    let mut images = 0;
    for e in std::fs::read_dir(&deps).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "exe") {
            images += 1;
            assert!(
                imports(&p)
                    .iter()
                    .any(|(dll, _)| dll == "bcryptprimitives.dll"),
                "{}",
                p.display()
            );
        }
    }
    assert!(
        images >= 2,
        "the binary and the test harnesses in {}",
        deps.display()
    );
}

/// COMDAT selection as link.exe applies it, with two objects defining the COMDAT `value`
/// (4 bytes, then 8): `discard` (any) keeps the first, `largest` the bigger (the program exits
/// with what it reads), and `same_size`, `same_contents` and `one_only` are errors naming
/// both objects.
#[test]
fn comdat_selection() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let asm = |name: &str, selection: &str, data: &str| {
        let src = d.join(format!("{name}.s"));
        std::fs::write(
            &src,
            format!(
                ".section .data$value,\"dw\",{selection},value\n.globl value\n.p2align 2\n\
                 value:\n.long {data}\n"
            ),
        )
        .unwrap();
        clang(d, &src, &format!("{name}.o"))
    };
    let main = d.join("main.c");
    std::fs::write(
        &main,
        "__declspec(dllimport) void __stdcall ExitProcess(unsigned);\n\
         extern int value[];\n\
         void mainCRTStartup(void) { ExitProcess(value[0] == 2 ? value[0] + value[1] : value[0]); }\n",
    )
    .unwrap();
    let main_obj = clang(d, &main, "main.o");
    for (selection, outcome) in [
        ("discard", Ok(1)),
        ("largest", Ok(42)),
        ("same_size", Err("the copies' sizes differ")),
        ("same_contents", Err("the copies' contents differ")),
        ("one_only", Err("its selection allows one copy")),
    ] {
        let a = asm(&format!("a_{selection}"), selection, "1");
        let b = asm(&format!("b_{selection}"), selection, "2, 40");
        let exe = d.join(format!("{selection}.exe"));
        let args = [
            format!("-target={TARGET}"),
            "-o".into(),
            exe.display().to_string(),
            main_obj.display().to_string(),
            a.display().to_string(),
            b.display().to_string(),
            "-lkernel32".into(),
        ];
        match outcome {
            Ok(status) => {
                common::rlink_ok(&args);
                assert_eq!(wine::run(&exe, &[]).status, status, "{selection}");
            }
            Err(why) => {
                let err = common::rlink_fails(&args);
                assert!(
                    err.contains(&format!("duplicate COMDAT value: {why}"))
                        && err.contains(&format!("a_{selection}.o"))
                        && err.contains(&format!("b_{selection}.o")),
                    "{selection}: {err}"
                );
                assert!(!exe.exists());
            }
        }
    }
}

/// External mode for `x86_64-pc-windows-gnu`: rlink merges the Rust objects into one COFF
/// object (COMDATs kept, `__imp_` references restored) and drives mingw's gcc, and clang with
/// lld 16, with it, the libraries rustc named and the rlib holding std's raw-dylib imports; the
/// programs run under wine as the internal links do, and the combined object reads back as a
/// relocatable x86-64 COFF object.
#[test]
fn external_mode_with_mingw_gcc_and_clang() {
    use common::programs::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bcryptprimitives_dll(d);
    let libgcc = Command::new("x86_64-w64-mingw32-gcc")
        .arg("-print-libgcc-file-name")
        .output()
        .expect("x86_64-w64-mingw32-gcc (package gcc-mingw-w64-x86-64) runs");
    let libgcc = PathBuf::from(String::from_utf8_lossy(&libgcc.stdout).trim());
    let gcc_dir = libgcc.parent().unwrap().display().to_string();
    let drivers = [
        (
            "mingw-gcc",
            "x86_64-w64-mingw32-gcc".to_string(),
            String::new(),
        ),
        (
            "clang-lld",
            format!("clang --target={GNU_TARGET} -fuse-ld=lld --ld-path=/usr/bin/ld.lld-16"),
            format!("-L{gcc_dir}"),
        ),
    ];
    for (e, mode) in [
        (panics(true), common::Mode::Release),
        (THREADS, common::Mode::Release),
        (HELLO, common::Mode::Debug),
    ] {
        let sub = d.join(format!("{}-{mode:?}", e.program));
        std::fs::create_dir_all(&sub).unwrap();
        let inputs = common::compile_cross(&sub, e.program, mode, GNU_TARGET, &[]);
        for (name, extld, flags) in &drivers {
            let what = format!("{} {mode:?} with {name}", e.program);
            let exe = d.join(format!("{}-{mode:?}-{name}.exe", e.program));
            let work = sub.join(format!("work-{name}"));
            let mut args = vec![
                "-linkmode=external".to_string(),
                format!("-target={GNU_TARGET}"),
                format!("-extld={extld}"),
                format!("-extldflags={flags}"),
                format!("-tmpdir={}", work.display()),
                "-o".to_string(),
                exe.display().to_string(),
            ];
            args.extend(inputs.iter().cloned());
            common::rlink_ok(&args);
            let ran = wine::run(&exe, &[]);
            assert_eq!(ran.stdout, e.stdout, "{what}; stderr:\n{}", ran.stderr);
            assert_eq!(ran.status, e.code, "{what}");
            let combined = readobj(&work.join("rlink-combined.o"), &["--file-headers"]);
            assert!(
                combined.contains("Machine: IMAGE_FILE_MACHINE_AMD64")
                    && !combined.contains("ImageOptionalHeader"),
                "{what}: {combined}"
            );
        }
    }
}

/// `/MERGE:from=to` (on the command line, and in an object's `.drectve`) moves sections into
/// another output section: a program's only writable data, in `.mydata`, lands in `.rdata`, so
/// the image has no `.data`; a target rlink does not write is an error.
#[test]
fn merge_moves_sections() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = d.join("merge.c");
    std::fs::write(
        &src,
        "__declspec(dllimport) void __stdcall ExitProcess(unsigned);\n\
         __attribute__((section(\".mydata\"))) int table[4] = {1, 2, 3, 36};\n\
         void mainCRTStartup(void) { ExitProcess(table[0] + table[1] + table[2] + table[3]); }\n",
    )
    .unwrap();
    let obj = clang(d, &src, "merge.o");
    let link_with = |name: &str, extra: &[&str]| {
        let exe = d.join(name);
        let mut args = vec![
            "-flavor".to_string(),
            "link".into(),
            format!("/OUT:{}", exe.display()),
            "/ENTRY:mainCRTStartup".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(obj.display().to_string());
        args.push("kernel32.lib".into());
        (exe, args)
    };
    let (plain, args) = link_with("plain.exe", &[]);
    common::rlink_ok(&args);
    assert!(section_names(&plain).contains(&".data".to_string()));
    let (merged, args) = link_with("merged.exe", &["/MERGE:.mydata=.rdata"]);
    common::rlink_ok(&args);
    let names = section_names(&merged);
    assert!(!names.contains(&".data".to_string()), "{names:?}");
    assert_eq!(wine::run(&merged, &[]).status, 42);
    let (_, args) = link_with("bad.exe", &["/MERGE:.mydata=.weird"]);
    let err = common::rlink_fails(&args);
    assert!(err.contains("/MERGE:.mydata=.weird"), "{err}");
}

/// A link.exe line given as a response file is read with Windows' quoting (a quoted output
/// name with a space, a `/LIBPATH` ending in a backslash, CRLF line ends), as rustc writes one
/// when a line is too long.
#[test]
fn link_exe_response_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let obj = clang_object(d, "pe/hello.c");
    let out = d.join("with space.exe");
    let rsp = d.join("link.rsp");
    std::fs::write(
        &rsp,
        format!(
            "/NOLOGO \"/OUT:{}\" /ENTRY:mainCRTStartup\r\n\"{}\" kernel32.lib\r\n/LIBPATH:C:\\nowhere\\\r\n",
            out.display(),
            obj.display()
        ),
    )
    .unwrap();
    common::rlink_ok(&[format!("@{}", rsp.display())]);
    let ran = wine::run(&out, &[]);
    assert_eq!(ran.stdout, "hello from a PE program\n");
    assert_eq!(ran.status, 42);
}
