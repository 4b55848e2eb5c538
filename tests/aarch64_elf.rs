//! AArch64 Linux, linked on this x86-64 host: the test programs of testdata/programs are
//! compiled for `aarch64-unknown-linux-gnu` against a std built from source (once per
//! machine), linked by rlink with no C toolchain or linker on PATH, and run under
//! `qemu-aarch64` against Debian's arm64 glibc — stdout and exit status compared exactly, in
//! release and debug. C objects come from both cross compilers; the runtime stubs' AArch64
//! stack switch runs; outputs are the same at any thread count.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compile_cross, linked_by_rlink, rlink_bin, run, Mode};

const TRIPLE: &str = "aarch64-unknown-linux-gnu";
/// Debian's arm64 glibc (`libc6-dev-arm64-cross`), also qemu's root for the loader.
const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// Links with rlink alone: PATH holds no cc, gcc, clang, ld or lld.
fn link(dir: &Path, inputs: &[String], extra: &[&str]) -> PathBuf {
    let out = dir.join("prog");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let status = Command::new(rlink_bin())
        .args(["-linkmode=internal", "-o"])
        .arg(&out)
        .args(extra)
        .args(inputs)
        .env("PATH", &empty)
        .output()
        .expect("rlink runs");
    assert!(
        status.status.success(),
        "rlink failed:\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    out
}

/// Runs an AArch64 program under qemu; returns (stdout, stderr, exit status).
fn qemu(prog: &Path, args: &[&str], dir: &Path) -> (String, String, Option<i32>) {
    qemu_with(prog, args, dir, None)
}

/// As `qemu`, with `LD_LIBRARY_PATH` (qemu passes the environment to the program).
fn qemu_with(
    prog: &Path,
    args: &[&str],
    dir: &Path,
    library_path: Option<&Path>,
) -> (String, String, Option<i32>) {
    let mut cmd = Command::new("qemu-aarch64");
    if let Some(p) = library_path {
        cmd.env("LD_LIBRARY_PATH", p);
    }
    let out = cmd
        .args(["-L", SYSROOT])
        .arg(prog)
        .args(args)
        .env("RLINK_TEST_VAR", "set")
        .env("RUST_BACKTRACE", "0")
        .current_dir(dir)
        .output()
        .expect("qemu-aarch64 (package qemu-user, .ci/run installs it) runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

struct Expect {
    program: &'static str,
    args: &'static [&'static str],
    stdout: &'static str,
    code: i32,
}

fn check(e: &Expect, mode: Mode, extra_inputs: &[String], extra_rustc: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = compile_cross(dir.path(), e.program, mode, TRIPLE, extra_rustc);
    inputs.extend_from_slice(extra_inputs);
    let prog = link(dir.path(), &inputs, &[]);
    let (stdout, stderr, code) = qemu(&prog, e.args, dir.path());
    assert_eq!(
        stdout, e.stdout,
        "{} ({mode:?}) stdout; stderr:\n{stderr}",
        e.program
    );
    assert_eq!(
        code,
        Some(e.code),
        "{} ({mode:?}) exit status; stderr:\n{stderr}",
        e.program
    );
}

fn both_modes(e: &Expect) {
    check(e, Mode::Release, &[], &[]);
    check(e, Mode::Debug, &[], &[]);
}

#[test]
fn hello() {
    both_modes(&Expect {
        program: "hello",
        args: &[],
        stdout: "hello from rlink\n",
        code: 0,
    });
}

#[test]
fn args_and_env() {
    both_modes(&Expect {
        program: "args_env",
        args: &["one", "two words"],
        stdout: "args: [\"one\", \"two words\"]\nRLINK_TEST_VAR=set\ncwd is absolute: true\n",
        code: 0,
    });
}

#[test]
fn threads_thread_locals_and_channels() {
    both_modes(&Expect {
        program: "threads",
        args: &[],
        stdout: "thread 0 counted 5050\nthread 1 counted 5050\nthread 2 counted 5050\nthread 3 counted 5050\n\
                 tls destructor 0\ntls destructor 1\ntls destructor 2\ntls destructor 3\nmain counter 0\ntotal 20200\n",
        code: 0,
    });
}

#[test]
fn panics_unwind_and_backtraces_name_main() {
    both_modes(&Expect {
        program: "panics",
        args: &[],
        stdout: "hook saw: boom at the bottom\ndrop innermost\ndrop outer\ndrop outer\ncaught: true\n\
                 hook saw: thread panic\ndrop thread\nthread joined with error: true\nbacktrace names main: true\n",
        code: 3,
    });
}

#[test]
fn files_and_processes() {
    both_modes(&Expect {
        program: "files_process",
        args: &[],
        stdout: "read 2 lines\nchild stdout: child says hi\nchild status: Some(7)\n",
        code: 0,
    });
}

#[test]
fn trait_objects_tables_statics_and_formatting() {
    both_modes(&Expect {
        program: "dispatch",
        args: &[],
        stdout: "square 4.0000\ncircle 7.0686\nadd(6, 7) = 13\nmul(6, 7) = 42\nbig sum 6442352640\nzeroed sum 7\n\
                 i128 -170141183460469231731687303715884105728 -24305883351495604533098186245126300818\n\
                 u128 55555555555555555555555555555555\n\
                 floats 0.30000000000000004 1.2345e3 13407807929942595611008317640802934282464207265959107021466054756094376573581619054852612241927956455650759996398703782412109633178814162067569513603268608.000 0.000000000000000000000000000000000000011754944\n",
        code: 0,
    });
}

#[test]
fn exit_codes() {
    both_modes(&Expect {
        program: "exit_code",
        args: &[],
        stdout: "exiting with 42\n",
        code: 42,
    });
}

#[test]
fn libm_only_through_a_directive() {
    both_modes(&Expect {
        program: "libm_directive",
        args: &[],
        stdout: "cbrt(27) = 3.0000000000000004\n",
        code: 0,
    });
}

#[test]
fn dlopen_and_dlsym() {
    both_modes(&Expect {
        program: "dlopen",
        args: &[],
        stdout: "pow(2, 10) = 1024\n",
        code: 0,
    });
}

/// The C half of c_calls, built by each AArch64 C compiler: C calling into Rust and back, with
/// `__thread` data.
#[test]
fn c_objects_from_gcc_and_clang() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = common::testdata("programs/c_calls.c");
    let src = src.to_str().unwrap();
    run(
        "aarch64-linux-gnu-gcc",
        &["-O2", "-c", "-o", "gcc.o", src],
        d,
    );
    run(
        "clang",
        &[
            "--target=aarch64-linux-gnu",
            "-O2",
            "-c",
            "-o",
            "clang.o",
            src,
        ],
        d,
    );
    let e = Expect {
        program: "c_calls",
        args: &[],
        stdout: "C accumulated 30\nother thread accumulated 6\nmain thread counter 30\n",
        code: 0,
    };
    for object in ["gcc.o", "clang.o"] {
        let object = vec![d.join(object).display().to_string()];
        check(&e, Mode::Release, &object, &[]);
        check(&e, Mode::Debug, &object, &[]);
    }
}

/// The runtime stubs' AArch64 stack switch (`src/arch/aarch64.rs`) executed: a deep C-ABI call
/// from a 16 KiB stack, and a callback panic carried back across it.
#[test]
fn runtime_stubs_switch_stacks_on_aarch64() {
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib_for(dir.path(), TRIPLE);
    let e = Expect {
        program: "system_stack",
        args: &[],
        stdout: common::SYSTEM_STACK_OUTPUT,
        code: 0,
    };
    check(&e, Mode::Release, &[], &extern_flags);
    check(&e, Mode::Debug, &[], &extern_flags);
}

/// The same inputs give the same bytes at any thread count.
#[test]
fn output_is_deterministic_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile_cross(dir.path(), "threads", Mode::Debug, TRIPLE, &[]);
    let mut outputs = Vec::new();
    for threads in ["-threads=1", "-threads=2", "-threads=2"] {
        let out = link(dir.path(), &inputs, &[threads]);
        outputs.push(std::fs::read(out).unwrap());
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "outputs differ between runs"
    );
}

/// The target comes from the objects, the interpreter is AArch64's, and the libraries come
/// from the target's directories, never the host's.
#[test]
fn target_interpreter_and_libraries_are_aarch64s() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile_cross(dir.path(), "hello", Mode::Release, TRIPLE, &[]);
    let out = dir.path().join("prog");
    let (code, _, stderr) = common::rlink(
        &[
            &["-v", "-linkmode=internal", "-o", out.to_str().unwrap()][..],
            &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("rlink: target aarch64-unknown-linux-gnu\n"),
        "{stderr}"
    );
    let dump = common::rlink_ok(&["inspect".as_ref(), out.as_os_str()]);
    assert!(dump.contains("\nmachine: AARCH64\n"), "{dump}");
    assert!(
        dump.contains("interpreter: /lib/ld-linux-aarch64.so.1"),
        "{dump}"
    );
    assert!(
        !stderr.contains("x86_64-linux-gnu"),
        "host libraries were read: {stderr}"
    );
}

/// A directory holding `ld` and `ld.rlink`, both rlink, for `gcc -B DIR` and
/// `clang -fuse-ld=rlink` (with DIR first on PATH); returns (DIR, that PATH).
fn rlink_as_ld(dir: &Path) -> (PathBuf, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(rlink_bin(), bin.join("ld")).unwrap();
    std::os::unix::fs::symlink(rlink_bin(), bin.join("ld.rlink")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (bin, path)
}

/// Runs a C driver (or rustc) with `path` as PATH in `dir`; wants success, returns stderr.
fn drive(program: &str, args: &[&str], dir: &Path, path: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap_or_else(|e| panic!("{program} (.ci/run installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{program} {args:?}:\n{stderr}");
    stderr
}

fn src(rel: &str) -> String {
    common::testdata(rel).display().to_string()
}

const GCC: &str = "aarch64-linux-gnu-gcc";
const CLANG_TARGET: &str = "--target=aarch64-linux-gnu";

/// gcc and clang for AArch64 drive rlink as their `ld`: position-independent and
/// position-dependent programs, a C shared library with TLS descriptors kept and a program
/// using its data (copy relocation), functions and thread-local (initial-exec), and fully
/// static programs (IRELATIVE, no interpreter).
#[test]
fn c_drivers_use_rlink_as_their_ld() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bin, path) = rlink_as_ld(d);
    let b = bin.to_str().unwrap();
    let hello = src("programs/hello_c.c");
    let h = hello.as_str();
    let cases: &[(&str, &[&str])] = &[
        (GCC, &["-B", b, h, "-o", "gcc-pie"]),
        (GCC, &["-B", b, "-no-pie", h, "-o", "gcc-exe"]),
        (
            "clang",
            &[CLANG_TARGET, "-fuse-ld=rlink", h, "-o", "clang-pie"],
        ),
        (
            "clang",
            &[
                CLANG_TARGET,
                "-fuse-ld=rlink",
                "-no-pie",
                h,
                "-o",
                "clang-exe",
            ],
        ),
    ];
    for (driver, args) in cases {
        drive(driver, args, d, &path);
        let prog = d.join(args.last().unwrap());
        assert!(linked_by_rlink(&prog), "{}", prog.display());
        let (stdout, stderr, code) = qemu(&prog, &[], d);
        assert_eq!(stdout, "hello from C, t=6\n", "{driver} {args:?}: {stderr}");
        assert_eq!(code, Some(3), "{driver} {args:?}");
    }
    // Imports are bound through `.rela.plt` (JUMP_SLOT), and the PLT has the ABI's layout
    // (a 32-byte header, 16-byte entries): binutils names each entry from that, so the call
    // to printf is labelled printf@plt only if the layout is right.
    let prog = d.join("gcc-pie");
    assert!(relocation_types(&prog).contains("R_AARCH64_JUMP_SLOT"));
    let disassembly = Command::new("aarch64-linux-gnu-objdump")
        .arg("-d")
        .arg(&prog)
        .output()
        .expect("aarch64-linux-gnu-objdump (package binutils-aarch64-linux-gnu) runs");
    let disassembly = String::from_utf8_lossy(&disassembly.stdout);
    assert!(
        disassembly
            .lines()
            .any(|l| l.contains("\tbl\t") && l.ends_with(" <printf@plt>")),
        "{disassembly}"
    );

    let lib = src("programs/c_lib.c");
    let uselib = src("programs/use_c_lib.c");
    drive(
        GCC,
        &[
            "-B",
            b,
            "-shared",
            "-fPIC",
            "-O1",
            "-Wl,-soname,libdemo.so.1",
            &lib,
            "-o",
            "libdemo.so",
        ],
        d,
        &path,
    );
    std::os::unix::fs::symlink(d.join("libdemo.so"), d.join("libdemo.so.1")).unwrap();
    let dump = common::rlink_ok(&["inspect".as_ref(), d.join("libdemo.so").as_os_str()]);
    assert!(
        dump.contains("type: shared library\n") && dump.contains("soname: libdemo.so.1\n"),
        "{dump}"
    );
    assert!(
        dump.contains("  lib_add\n") && dump.contains("  exported_tls\n"),
        "{dump}"
    );
    assert!(
        relocation_types(&d.join("libdemo.so")).contains("R_AARCH64_TLSDESC"),
        "a shared library keeps its TLS descriptors"
    );
    for (flags, out) in [
        (&[][..], "uselib-pie"),
        (&["-fno-pic", "-no-pie"][..], "uselib-exe"),
        (&["-fPIC"][..], "uselib-pic"),
    ] {
        let mut args = vec!["-B", b, "-O1"];
        args.extend(flags);
        args.extend([uselib.as_str(), "-L.", "-ldemo", "-o", out]);
        drive(GCC, &args, d, &path);
        let (stdout, stderr, code) = qemu_with(&d.join(out), &[], d, Some(d));
        assert_eq!(stdout, "11 141 41 108 108\n", "{out}: {stderr}");
        assert_eq!(code, Some(0), "{out}");
    }
    let types = relocation_types(&d.join("uselib-exe"));
    assert!(
        types.contains("R_AARCH64_COPY") && types.contains("R_AARCH64_TLS_TPREL64"),
        "{types}"
    );

    let stat = src("programs/static_c.c");
    for (driver, args) in [
        (
            GCC,
            &["-B", b, "-static", "-O1", &stat, "-o", "static-gcc", "-lm"][..],
        ),
        (
            "clang",
            &[
                CLANG_TARGET,
                "-fuse-ld=rlink",
                "-static",
                "-O1",
                &stat,
                "-o",
                "static-clang",
                "-lm",
            ][..],
        ),
    ] {
        drive(driver, args, d, &path);
        let prog = d.join(args[args.len() - 2]);
        let dump = common::rlink_ok(&["inspect".as_ref(), prog.as_os_str()]);
        assert!(
            dump.contains("type: executable\n") && !dump.contains("interpreter:"),
            "{dump}"
        );
        assert!(
            relocation_types(&prog).contains("R_AARCH64_IRELATIVE"),
            "glibc's string functions are IFUNCs"
        );
        let (stdout, stderr, code) = qemu(&prog, &[], d);
        assert_eq!(stdout, "static hello 12 5 7 1.414\n", "{driver}: {stderr}");
        assert_eq!(code, Some(0));
    }
}

/// The dynamic relocation types of an output, as llvm-readelf names them.
fn relocation_types(path: &Path) -> String {
    let out = Command::new("llvm-readelf")
        .arg("-r")
        .arg(path)
        .output()
        .expect("llvm-readelf (package llvm) runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every relocation family gcc and clang emit for AArch64 code, each checked by running it:
/// a function per family returns what its relocation computed and C compares it with its own
/// view of the same symbol (testdata/aarch64/relocs.s).
#[test]
fn relocations_compute_what_c_sees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bin, path) = rlink_as_ld(d);
    let b = bin.to_str().unwrap();
    for (driver, flags) in [
        (GCC, &[][..]),
        ("clang", &[CLANG_TARGET, "-fuse-ld=rlink"][..]),
    ] {
        let mut args = flags.to_vec();
        let (relocs, absolute, main) = (
            src("aarch64/relocs.s"),
            src("aarch64/absolute.s"),
            src("aarch64/relocs_main.c"),
        );
        args.extend([
            "-B", b, "-no-pie", "-O1", &main, &relocs, &absolute, "-o", "relocs",
        ]);
        drive(driver, &args, d, &path);
        let (stdout, stderr, code) = qemu(&d.join("relocs"), &[], d);
        assert!(
            !stdout.contains("FAIL") && stdout.lines().count() == 23,
            "{driver}:\n{stdout}{stderr}"
        );
        assert_eq!(code, Some(0), "{driver}:\n{stdout}");
    }
    // In a PIE the absolute MOVW sequence has no dynamic relocation to become.
    run(
        "aarch64-linux-gnu-as",
        &["-o", "relocs.o", &src("aarch64/relocs.s")],
        d,
    );
    let out = Command::new(GCC)
        .args(["-B", b, "-pie", "-O1"])
        .arg(src("aarch64/relocs_main.c"))
        .args(["relocs.o", &src("aarch64/absolute.s"), "-o", "relocs-pie"])
        .current_dir(d)
        .env("PATH", &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("rlink: error: relocs.o: .text+0x6c: ")
            && stderr.contains("relocation R_AARCH64_MOVW_UABS_G3 against data_word: ")
            && stderr.contains("recompile with -fPIC"),
        "{stderr}"
    );
    assert!(!d.join("relocs-pie").exists(), "no output after an error");
}

/// Out-of-range and misaligned relocations are errors naming the file, section, offset,
/// relocation and symbol; no output is left.
#[test]
fn relocation_overflow_and_misalignment_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "tbz w0, #0, far_code",
            "v.o: .text+0x0: relocation R_AARCH64_TSTBR14 against far_code: value 0x9c4c does not fit in 16 bits (overflow)",
        ),
        (
            "adr x0, far_code",
            "v.o: .text+0x0: relocation R_AARCH64_ADR_PREL_LO21 against far_code: value 0x",
        ),
        (
            "ldr x1, [x0, :lo12:odd_word]",
            "v.o: .text+0x0: relocation R_AARCH64_LDST64_ABS_LO12_NC against odd_word: value 0x",
        ),
    ];
    for (i, (insn, want)) in cases.iter().enumerate() {
        let far = if i == 1 { "2*1024*1024" } else { "40000" };
        std::fs::write(
            d.join("v.s"),
            format!(
                "        .text\n        .globl _start\n_start:\n        {insn}\n        mov x8, #93\n        svc #0\n\
                 \x20       .section .text.far,\"ax\",@progbits\n        .space {far}\n        .globl far_code\nfar_code:\n        ret\n\
                 \x20       .data\n        .word 1\n        .globl odd_word\nodd_word:\n        .quad 2\n"
            ),
        )
        .unwrap();
        run("aarch64-linux-gnu-as", &["-o", "v.o", "v.s"], d);
        let out = d.join("v");
        let stderr = common::rlink_fails(&[
            "-linkmode=internal".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            d.join("v.o").as_os_str(),
        ]);
        assert!(stderr.contains(want), "{insn}: {stderr}");
        if i == 2 {
            assert!(stderr.contains("(misaligned)"), "{stderr}");
        } else {
            assert!(stderr.contains("(overflow)"), "{stderr}");
        }
        assert!(!out.exists(), "no output after an error");
    }
}

/// More than 128 MiB of code between caller and callee: both calls go through range-extension
/// thunks, and the program runs.
#[test]
fn branches_beyond_128_mib_go_through_thunks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bin, path) = rlink_as_ld(d);
    drive(
        GCC,
        &[
            "-B",
            bin.to_str().unwrap(),
            "-O1",
            &src("aarch64/far_call_main.c"),
            &src("aarch64/far_call.s"),
            "-o",
            "far",
        ],
        d,
        &path,
    );
    let prog = d.join("far");
    assert!(std::fs::metadata(&prog).unwrap().len() > 128 << 20);
    let (stdout, stderr, code) = qemu(&prog, &[], d);
    assert_eq!(stdout, "far call returned 42\n", "{stderr}");
    assert_eq!(code, Some(0));
    // Each thunk sits within reach of its caller: the callee's call back to near_helper
    // cannot be a direct BL either.
    let syms = Command::new("llvm-nm").arg(&prog).output().unwrap();
    let syms = String::from_utf8_lossy(&syms.stdout);
    let addr = |name: &str| {
        syms.lines()
            .find(|l| l.ends_with(&format!(" {name}")))
            .and_then(|l| u64::from_str_radix(l.split(' ').next().unwrap(), 16).ok())
            .unwrap_or_else(|| panic!("{name} in\n{syms}"))
    };
    assert!(addr("far_callee") - addr("far_caller") > 128 << 20);
}

/// A Rust cdylib for AArch64 with rlink as rustc's linker (a cc-style line), used by a C
/// program: only its `#[no_mangle]` functions are exported; std, a thread-local and a panic
/// caught inside the library work.
#[test]
fn rust_cdylib_for_c() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sysroot = common::cross_sysroot(TRIPLE);
    let (bin, path) = rlink_as_ld(d);
    for (mode, opt) in [(Mode::Release, "opt-level=2"), (Mode::Debug, "debuginfo=2")] {
        let out = Command::new(common::CROSS_RUSTC)
            .args(["--edition=2021", "--crate-type=cdylib", "--target", TRIPLE])
            .arg("--sysroot")
            .arg(&sysroot)
            .args(["-C", opt, "-C"])
            .arg(format!("linker={}", rlink_bin()))
            .arg(common::testdata("programs/cdylib.rs"))
            .args(["-o", "librlcd.so"])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(d)
            .output()
            .expect("rustc runs");
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(linked_by_rlink(&d.join("librlcd.so")));
        let dump = common::rlink_ok(&["inspect".as_ref(), d.join("librlcd.so").as_os_str()]);
        assert!(
            dump.contains("exports: 4\n  rl_caught_panic\n  rl_count\n  rl_greet\n  rl_sum\n"),
            "{mode:?}: only the C-ABI functions are exported: {dump}"
        );
        drive(
            GCC,
            &[
                "-B",
                bin.to_str().unwrap(),
                &src("programs/use_cdylib.c"),
                "-L.",
                "-lrlcd",
                "-o",
                "use",
            ],
            d,
            &path,
        );
        let (stdout, stderr, code) = qemu_with(&d.join("use"), &[], d, Some(d));
        assert_eq!(
            stdout, "hello, C, from a Rust cdylib\nsum 42 len 28 count 3 caught 1\n",
            "{mode:?}: {stderr}"
        );
        assert_eq!(code, Some(0));
    }
}

/// External mode: rlink combines the Rust objects and hands them to the AArch64 gcc, or to
/// clang for AArch64 with lld.
#[test]
fn external_mode_with_gcc_and_clang_for_aarch64() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inputs = compile_cross(d, "threads", Mode::Release, TRIPLE, &[]);
    for extld in [
        "aarch64-linux-gnu-gcc",
        "clang --target=aarch64-linux-gnu -fuse-ld=lld",
    ] {
        let out = d.join("prog-ext");
        let status = Command::new(rlink_bin())
            .args(["-linkmode=external", &format!("-extld={extld}"), "-o"])
            .arg(&out)
            .args(&inputs)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{extld}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let (stdout, stderr, code) = qemu(&out, &[], d);
        assert!(
            stdout.starts_with("thread 0 counted 5050\n") && stdout.ends_with("total 20200\n"),
            "{extld}: {stdout}{stderr}"
        );
        assert_eq!(code, Some(0), "{extld}");
    }
}

/// The cargo door for AArch64: the fixture project (regex, serde_json, serde's derive macro, a
/// C helper from the cc crate) built for aarch64-unknown-linux-gnu with
/// `CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=rlink` and no arm64 library in rlink's
/// reach (an empty sysroot: the bundled glibc manifests serve, under a 2.17 floor), its tests
/// run under qemu through cargo's runner, and its binary run; the host's build scripts and
/// proc-macro are rlink's too.
#[test]
fn cargo_project_for_aarch64() {
    let dir = tempfile::tempdir().unwrap();
    let sysroot = common::cross_sysroot(TRIPLE);
    let project = common::project(dir.path(), "");
    // rlink is kept from Debian's arm64 libraries (an empty sysroot): -lc, -lgcc_s… are its
    // bundled glibc manifests, under a glibc 2.17 floor.
    let no_libraries = dir.path().join("empty-sysroot");
    std::fs::create_dir_all(&no_libraries).unwrap();
    let sysroot_flag = format!(
        "--sysroot={} -C link-arg=--sysroot={} -C link-arg=--glibc=2.17",
        sysroot.display(),
        no_libraries.display()
    );
    let cargo = |args: &[&str]| {
        let out = Command::new(common::CROSS_CARGO)
            .arg(args[0])
            .args(["--locked", "--target", TRIPLE])
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
            .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", rlink_bin())
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER", rlink_bin())
            .env(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER",
                format!("qemu-aarch64 -L {SYSROOT}"),
            )
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
    let run = cargo(&["run", "-q", "--", "n7 m8"]);
    assert!(run.contains("{\"input\":\"n7 m8\",\"sum\":48}\n"), "{run}");
    let exes = common::elf_executables(&project.join("target").join(TRIPLE).join("debug"));
    assert!(exes.len() >= 2, "binary and test harness: {exes:?}");
    for exe in &exes {
        assert!(linked_by_rlink(exe), "{}", exe.display());
        let dump = common::rlink_ok(&["inspect".as_ref(), exe.as_os_str()]);
        assert!(dump.contains("\nmachine: AARCH64\n"), "{}", exe.display());
        let versions = common::needed_versions(exe);
        assert!(
            versions
                .iter()
                .all(|v| v == "GLIBC_2.17" || v.starts_with("GCC_")),
            "{}: {versions:?}",
            exe.display()
        );
    }
    let host = common::elf_executables(&project.join("target/debug/build"));
    assert!(!host.is_empty());
    assert!(host.iter().all(|e| linked_by_rlink(e)), "{host:?}");
}

/// Compiles testdata/programs/nostd_directives.rs for AArch64 to `dir/nsd.o`.
fn no_std_object(dir: &Path) -> PathBuf {
    let sysroot = common::cross_sysroot(TRIPLE);
    let out = Command::new(common::CROSS_RUSTC)
        .args([
            "--edition=2021",
            "-Cpanic=abort",
            "-Copt-level=2",
            "--emit=obj",
            "--crate-type=bin",
            "--target",
            TRIPLE,
            "--sysroot",
        ])
        .arg(&sysroot)
        .arg("-o")
        .arg(dir.join("nsd.o"))
        .arg(common::testdata("programs/nostd_directives.rs"))
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("nsd.o")
}

/// A no_std program whose imports come from its directives alone: rlink opens no library
/// (glibc's versioned names are taken from the directives), and the program runs.
#[test]
fn no_std_program_linked_from_directives_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let object = no_std_object(d).display().to_string();
    let out = d.join("prog");
    let (code, _, stderr) = common::rlink(&[
        "-v",
        "-linkmode=internal",
        "-o",
        out.to_str().unwrap(),
        &object,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(", 0 shared libraries,"), "{stderr}");
    let (stdout, stderr, code) = qemu(&out, &[], d);
    assert_eq!(stdout, "hello from a no_std program\n", "{stderr}");
    assert_eq!(code, Some(0));
}

/// Golden `rlink inspect` dumps of AArch64 outputs rlink wrote: the no_std program (internal
/// link, its own entry stub), a position-dependent C program with the C library's start files,
/// and a C shared library. Accept changes with `INSTA_UPDATE=always` and review the diff.
#[test]
fn golden_dumps_of_aarch64_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nsd = no_std_object(d);
    let nsd_exe = d.join("nsd");
    common::rlink_ok(&[
        "-linkmode=internal".as_ref(),
        "-o".as_ref(),
        nsd_exe.as_os_str(),
        nsd.as_os_str(),
    ]);
    run(
        GCC,
        &[
            "-O1",
            "-c",
            "-fno-pie",
            "-o",
            "hello.o",
            &src("inspect/hello.c"),
        ],
        d,
    );
    let crt = |name: &str| {
        let out = Command::new(GCC)
            .arg(format!("-print-file-name={name}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let hello = d.join("hello").display().to_string();
    let hello_o = d.join("hello.o").display().to_string();
    common::rlink_ok(&[
        "-buildmode=exe",
        "-o",
        &hello,
        &crt("crt1.o"),
        &crt("crti.o"),
        &crt("crtbegin.o"),
        &hello_o,
        "-lc",
        &crt("crtend.o"),
        &crt("crtn.o"),
    ]);
    let (stdout, stderr, code) = qemu(Path::new(&hello), &[], d);
    assert_eq!((stdout.as_str(), code), ("hello\n", Some(0)), "{stderr}");
    run(
        GCC,
        &[
            "-O1",
            "-c",
            "-fPIC",
            "-o",
            "lib.o",
            &src("programs/c_lib.c"),
        ],
        d,
    );
    let lib = d.join("libdemo.so");
    common::rlink_ok(&[
        "-buildmode=c-shared".as_ref(),
        "-o".as_ref(),
        lib.as_os_str(),
        d.join("lib.o").as_os_str(),
        "-lc".as_ref(),
    ]);
    for (name, path) in [
        ("no_std_executable", nsd_exe.as_path()),
        ("c_executable_non_pie", Path::new(&hello)),
        ("c_shared_library", lib.as_path()),
    ] {
        let dump = common::rlink_ok(&["inspect".as_ref(), path.as_os_str()]);
        insta::assert_snapshot!(format!("inspect_aarch64_{name}"), dump);
    }
}

/// Branch Target Identification: objects compiled with `-mbranch-protection=standard` carry a
/// `.note.gnu.property` with BTI and PAC; the output keeps the bits only when every input has
/// them, and then its PLT entries start with a landing pad (the program calls `puts` through a
/// pointer, which in a position-dependent program is its PLT entry). qemu's `-cpu max`
/// enforces BTI on the output's pages, so a PLT without `bti c` dies with SIGILL.
#[test]
fn bti_and_pac_properties_kept_only_when_every_input_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let compile = |out: &str, flags: &[&str]| {
        let mut args = vec!["-c", "-O1", "-fno-pie", "-o", out];
        args.extend_from_slice(flags);
        run(GCC, &args, d);
    };
    compile(
        "bti.o",
        &["-mbranch-protection=standard", &src("aarch64/bti_main.c")],
    );
    std::fs::write(
        d.join("plain.c"),
        "int plain_helper(int x) { return x + 1; }\n",
    )
    .unwrap();
    compile("plain.o", &["plain.c"]);
    let expected = "indirect call through the PLT\nlocal indirect 42\n";
    let inspect = |prog: &Path| {
        let out = Command::new(rlink_bin())
            .arg("inspect")
            .arg(prog)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let run_bti = |prog: &Path| {
        let out = Command::new("qemu-aarch64")
            .args(["-cpu", "max", "-L", SYSROOT])
            .arg(prog)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status.code(),
        )
    };

    // Every input (and rlink's own entry stub) has BTI and PAC: the output has them too.
    let bti = d.join("bti.o").display().to_string();
    let prog = link(d, &[bti, "-lc".into()], &["-buildmode=exe"]);
    let dump = inspect(&prog);
    assert!(
        dump.contains("properties: 1\n  AARCH64_FEATURE_1_AND BTI PAC\n"),
        "{dump}"
    );
    assert!(dump.contains("  DT_AARCH64_BTI_PLT\n"), "{dump}");
    assert!(dump.contains("  GNU_PROPERTY r-- align=8"), "{dump}");
    assert_eq!(run_bti(&prog), (expected.to_string(), Some(0)));
    // The PLT entries are the ones objdump names, each starting with the landing pad.
    let plt = Command::new("aarch64-linux-gnu-objdump")
        .args(["-d", "-j", ".plt"])
        .arg(&prog)
        .output()
        .unwrap();
    let plt = String::from_utf8_lossy(&plt.stdout);
    let puts = plt
        .split("<puts@plt>:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{plt}"));
    assert!(puts.lines().next().unwrap().contains("bti\tc"), "{plt}");

    // One input without the note: no property, no BTI PLT, and the program still runs.
    let mixed = d.join("mixed");
    let out = Command::new(rlink_bin())
        .args(["-linkmode=internal", "-buildmode=exe", "-o"])
        .arg(&mixed)
        .args(["bti.o", "plain.o", "-lc"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = inspect(&mixed);
    assert!(
        !dump.contains("properties:") && !dump.contains("BTI_PLT"),
        "{dump}"
    );
    assert!(!dump.contains("GNU_PROPERTY"), "{dump}");
    assert_eq!(run_bti(&mixed), (expected.to_string(), Some(0)));

    // gcc's driver adds Debian's start files, which carry no note: BTI is off, as with GNU ld.
    let (bin, path) = rlink_as_ld(d);
    drive(
        GCC,
        &[
            "-B",
            bin.to_str().unwrap(),
            "-no-pie",
            "bti.o",
            "-o",
            "with-crt",
        ],
        d,
        &path,
    );
    let dump = inspect(&d.join("with-crt"));
    assert!(!dump.contains("properties:"), "{dump}");
    assert_eq!(
        run_bti(&d.join("with-crt")),
        (expected.to_string(), Some(0))
    );
}

/// Linux programs link with no target library on the machine: with an empty sysroot, `-lc`,
/// `-lgcc_s`, `-lpthread`… are rlink's bundled glibc manifests, and the runtime stubs give the
/// start-up. A glibc floor (`-glibc=2.17`, or the triple's `.2.17`) binds every name to the
/// newest version glibc 2.17 had — the stat family through the runtime stubs' stand-ins for
/// `libc_nonshared.a` — so `.gnu.version_r` names no node newer than GLIBC_2.17, and the
/// programs still run under qemu with Debian's glibc 2.36; without a floor they bind today's
/// default versions. A name younger than the floor is an error saying when it came.
#[test]
fn bundled_glibc_and_floors() {
    use common::programs::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let no_libraries = d.join("empty-sysroot");
    std::fs::create_dir_all(&no_libraries).unwrap();
    let sysroot = format!("-sysroot={}", no_libraries.display());
    for e in [HELLO, THREADS, FILES_PROCESS, ARGS_ENV] {
        let sub = d.join(e.program);
        std::fs::create_dir_all(&sub).unwrap();
        let inputs = compile_cross(&sub, e.program, Mode::Release, TRIPLE, &[]);
        for floor in [
            None,
            Some("-glibc=2.17"),
            Some("-target=aarch64-unknown-linux-gnu.2.17"),
        ] {
            let mut extra = vec![sysroot.as_str()];
            extra.extend(floor);
            let prog = link(&sub, &inputs, &extra);
            let versions = common::needed_versions(&prog);
            let what = format!("{} with {floor:?}", e.program);
            match floor {
                Some(_) => assert!(
                    versions
                        .iter()
                        .all(|v| v == "GLIBC_2.17" || v.starts_with("GCC_")),
                    "{what}: {versions:?}"
                ),
                None => {
                    assert!(
                        versions
                            .iter()
                            .any(|v| v != "GLIBC_2.17" && v.starts_with("GLIBC_")),
                        "{what}: {versions:?}"
                    );
                    // Without an old floor libc's own stat family is bound, not the stubs'
                    // stand-ins over `__fxstat64`.
                    let dynsym = Command::new("llvm-readelf")
                        .args(["--dyn-syms", "-W"])
                        .arg(&prog)
                        .output()
                        .unwrap();
                    let dynsym = String::from_utf8_lossy(&dynsym.stdout);
                    assert!(!dynsym.contains("__fxstat64"), "{what}:\n{dynsym}");
                }
            }
            let (stdout, stderr, code) = qemu(&prog, &["one", "two words"], &sub);
            assert_eq!(stdout, e.stdout, "{what}; stderr:\n{stderr}");
            assert_eq!(code, Some(e.code), "{what}");
        }
    }

    // A C function glibc 2.25 added, under a 2.17 floor.
    let src = d.join("getrandom.c");
    std::fs::write(
        &src,
        "long getrandom(void *, unsigned long, unsigned);\n\
         int main(void) { char b[4]; return getrandom(b, 4, 0) == 4 ? 0 : 1; }\n",
    )
    .unwrap();
    let obj = d.join("getrandom.o");
    run(
        "aarch64-linux-gnu-gcc",
        &["-c", src.to_str().unwrap(), "-o", obj.to_str().unwrap()],
        d,
    );
    let out = Command::new(rlink_bin())
        .args([
            "-linkmode=internal",
            &sysroot,
            "-glibc=2.17",
            &format!("-target={TRIPLE}"),
            "-o",
        ])
        .arg(d.join("getrandom"))
        .arg(&obj)
        .arg("-lc")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("undefined symbol: getrandom")
            && stderr.contains("getrandom is in libc.so.6 only from GLIBC_2.25 on, newer than the glibc floor 2.17"),
        "{stderr}"
    );
    assert!(!d.join("getrandom").exists());
}

/// The system stack's guard-page report on AArch64 (under qemu): the one line and SIGSEGV; a
/// fault elsewhere reaches the program's own handler.
#[test]
fn runtime_stubs_report_system_stack_overflow_on_aarch64() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib_for(dir.path(), TRIPLE);
    let inputs = compile_cross(
        dir.path(),
        "stack_fault",
        Mode::Release,
        TRIPLE,
        &extern_flags,
    );
    let prog = link(dir.path(), &inputs, &[]);
    let run = |arg: &str| {
        Command::new("qemu-aarch64")
            .args(["-L", SYSROOT])
            .arg(&prog)
            .arg(arg)
            .output()
            .unwrap()
    };
    let out = run("overflow");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(11), "{stderr}");
    assert!(
        stderr.contains("rlink runtime: C code overflowed the 8 MiB system stack of thread 'main'"),
        "{stderr}"
    );
    let out = run("elsewhere");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "the program's handler saw the fault\n"
    );
    assert_eq!(out.status.code(), Some(7));
}

/// Backtraces across C and the AArch64 stack switch (under qemu): the callback, the C function
/// and the Rust caller below the switch, in a captured backtrace and in a panic's.
#[test]
fn backtraces_cross_c_and_the_stack_switch_on_aarch64() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extern_flags = common::runtime_stubs_rlib_for(d, TRIPLE);
    let mut inputs = compile_cross(d, "c_trace", Mode::Release, TRIPLE, &extern_flags);
    inputs.push(common::c_object(d, "aarch64-linux-gnu-gcc", "c_trace"));
    let prog = link(d, &inputs, &[]);
    let (stdout, stderr, code) = qemu(&prog, &[], d);
    assert_eq!(stdout, common::C_TRACE_OUTPUT, "{stderr}");
    assert_eq!(code, Some(0));
    let out = Command::new("qemu-aarch64")
        .args(["-L", SYSROOT])
        .arg(&prog)
        .arg("panic")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for frame in ["trace_callback", "c_trampoline", "c_trace::traced_main"] {
        assert!(stderr.contains(frame), "no {frame} in\n{stderr}");
    }
    assert_eq!(String::from_utf8_lossy(&out.stdout), "caught: true\n");
}

/// Signals sent while the main thread runs on the system stack reach the program's handlers
/// (AArch64, under qemu).
#[test]
fn signals_reach_handlers_on_the_system_stack_on_aarch64() {
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib_for(dir.path(), TRIPLE);
    let inputs = compile_cross(dir.path(), "signals", Mode::Release, TRIPLE, &extern_flags);
    let prog = link(dir.path(), &inputs, &[]);
    let (stdout, stderr, code) = qemu(&prog, &[], dir.path());
    assert_eq!(stdout, common::SIGNALS_OUTPUT, "{stderr}");
    assert_eq!(code, Some(0));
}
