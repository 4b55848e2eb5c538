//! AArch64 Linux, linked on this x86-64 host: the test programs of testdata/programs are
//! compiled for `aarch64-unknown-linux-gnu` against a std built from source (once per
//! machine), linked by rlink with no C toolchain or linker on PATH, and run under
//! `qemu-aarch64` against Debian's arm64 glibc — stdout and exit status compared exactly, in
//! release and debug. C objects come from both cross compilers; the runtime stubs' AArch64
//! stack switch runs; outputs are the same at any thread count.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compile_cross, rlink_bin, run, Mode};

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
    let out = Command::new("qemu-aarch64")
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

/// The runtime stubs' AArch64 stack switch (`src/arch/aarch64.S`) executed: a deep C-ABI call
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
    assert!(
        dump.contains("machine: AArch64")
            || dump.contains("EM_AARCH64")
            || dump.contains("aarch64"),
        "{dump}"
    );
    assert!(
        dump.contains("interpreter: /lib/ld-linux-aarch64.so.1"),
        "{dump}"
    );
    assert!(
        !stderr.contains("x86_64-linux-gnu"),
        "host libraries were read: {stderr}"
    );
}
