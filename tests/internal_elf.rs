//! The internal ELF link, end to end: Rust programs from testdata/programs are compiled by
//! rustc (which hands its objects and rlibs to a recording stand-in linker), linked by
//! `rlink -linkmode=internal` with no C toolchain on PATH, run, and their output and exit
//! status checked — in release and in debug builds.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compile, rlink_bin, run, Mode, RECORDER};

/// Links with rlink alone: PATH holds no cc, gcc, clang, ld or lld.
fn link(dir: &Path, inputs: &[String], extra: &[&str]) -> PathBuf {
    link_with(Path::new(rlink_bin()), dir, inputs, extra)
}

fn link_with(rlink: &Path, dir: &Path, inputs: &[String], extra: &[&str]) -> PathBuf {
    let out = dir.join("prog");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let status = Command::new(rlink)
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

struct Expect {
    program: &'static str,
    args: &'static [&'static str],
    stdout: &'static str,
    code: i32,
}

fn check(e: &Expect, mode: Mode, extra_inputs: &[String], extra_flags: &[&str]) {
    check_with(Path::new(rlink_bin()), e, mode, extra_inputs, extra_flags)
}

fn check_with(rlink: &Path, e: &Expect, mode: Mode, extra_inputs: &[String], extra_flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = compile(dir.path(), e.program, mode);
    inputs.extend_from_slice(extra_inputs);
    let prog = link_with(rlink, dir.path(), &inputs, extra_flags);
    let out = Command::new(&prog)
        .args(e.args)
        .env("RLINK_TEST_VAR", "set")
        .env("RUST_BACKTRACE", "0")
        .current_dir(dir.path())
        .output()
        .expect("the linked program starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        e.stdout,
        "{} ({mode:?}) stdout; stderr:\n{}",
        e.program,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(e.code),
        "{} ({mode:?}) exit status",
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

#[test]
fn c_object_calls_into_rust_with_thread_locals() {
    let dir = tempfile::tempdir().unwrap();
    let c_object = vec![common::c_calls_object(dir.path())];
    let e = Expect {
        program: "c_calls",
        args: &[],
        stdout: "C accumulated 30\nother thread accumulated 6\nmain thread counter 30\n",
        code: 0,
    };
    check(&e, Mode::Release, &c_object, &[]);
    check(&e, Mode::Debug, &c_object, &[]);
}

#[test]
fn position_dependent_and_stripped() {
    let e = Expect {
        program: "hello",
        args: &[],
        stdout: "hello from rlink\n",
        code: 0,
    };
    check(&e, Mode::Release, &[], &["-buildmode=exe"]);
    check(&e, Mode::Release, &[], &["-s"]);
}

/// rlink links itself: cargo builds rlink's objects with a recording stand-in linker, rlink
/// links them, and the resulting rlink links and runs the suite's programs.
#[test]
fn rlink_links_itself() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = dir.path().join("record.sh");
    std::fs::write(&recorder, RECORDER).unwrap();
    run("chmod", &["+x", recorder.to_str().unwrap()], dir.path());
    let record = dir.path().join("record");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args(["rustc", "--locked", "--bin", "rlink", "--target-dir"])
        .arg(common::repo().join("target/self-link"))
        .args(["--", "-C"])
        .arg(format!("linker={}", recorder.display()))
        .env("RLINK_RECORD", &record)
        // Built once per change, not edited: incremental state would only take disk (GBs).
        .env("CARGO_INCREMENTAL", "0")
        .current_dir(common::repo())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo rustc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = std::fs::read_to_string(record.join("args")).expect("the recorder ran");
    let inputs: Vec<String> = args
        .lines()
        .filter(|a| a.ends_with(".o") || a.ends_with(".rlib") || a.starts_with("-l"))
        .map(str::to_string)
        .collect();
    let built = link(dir.path(), &inputs, &[]);
    let rlink_self = dir.path().join("rlink-self");
    std::fs::rename(&built, &rlink_self).unwrap();
    let version = Command::new(&rlink_self).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("rlink {}\n", env!("CARGO_PKG_VERSION"))
    );
    for e in [
        Expect { program: "hello", args: &[], stdout: "hello from rlink\n", code: 0 },
        Expect { program: "exit_code", args: &[], stdout: "exiting with 42\n", code: 42 },
        Expect {
            program: "threads",
            args: &[],
            stdout: "thread 0 counted 5050\nthread 1 counted 5050\nthread 2 counted 5050\nthread 3 counted 5050\n\
                     tls destructor 0\ntls destructor 1\ntls destructor 2\ntls destructor 3\nmain counter 0\ntotal 20200\n",
            code: 0,
        },
        Expect { program: "libm_directive", args: &[], stdout: "cbrt(27) = 3.0000000000000004\n", code: 0 },
    ] {
        check_with(&rlink_self, &e, Mode::Release, &[], &[]);
    }
}

/// The same inputs give the same bytes at any thread count.
#[test]
fn output_is_deterministic_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile(dir.path(), "threads", Mode::Debug);
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

/// By default rlink finishes in the background (the parent exits once the output is in place,
/// a child frees the link's memory): that changes nothing but timing. The output's bytes and a
/// failure's message, exit status and lack of output are the same as with `-no-fork`.
#[test]
fn background_finish_changes_nothing_but_timing() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile(dir.path(), "hello", Mode::Release);
    let forked = std::fs::read(link(dir.path(), &inputs, &[])).unwrap();
    let unforked = std::fs::read(link(dir.path(), &inputs, &["-no-fork"])).unwrap();
    assert!(forked == unforked, "-no-fork changed the output");
    // The output just written is complete when rlink exits: it runs at once.
    let prog = link(dir.path(), &inputs, &[]);
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from rlink\n");
    // A link that fails: the same message and status either way, and no output.
    let failing = compile(dir.path(), "undefined_call", Mode::Release);
    for flags in [&[][..], &["-no-fork"][..]] {
        let out_path = dir.path().join("failed");
        let out = Command::new(rlink_bin())
            .args(["-linkmode=internal", "-o"])
            .arg(&out_path)
            .args(flags)
            .args(&failing)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(
            stderr.starts_with("rlink: error: undefined symbol: missing_fn"),
            "{flags:?}: {stderr}"
        );
        assert!(
            !out_path.exists(),
            "{flags:?}: a failed link left an output"
        );
    }
}

/// A no_std program that names no library at all: every import, and the library, come from
/// directives in the object, with glibc symbol versions.
#[test]
fn no_std_program_linked_from_directives_alone() {
    let dir = tempfile::tempdir().unwrap();
    common::compile_no_std_object(dir.path());
    let prog = link(
        dir.path(),
        &[dir.path().join("nsd.o").display().to_string()],
        &[],
    );
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from a no_std program\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

/// Two strong definitions of one name: an error naming both objects, and no output.
#[test]
fn duplicate_definitions_name_both_objects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.c"), "int twice(void) { return 1; }\n").unwrap();
    std::fs::write(dir.path().join("b.c"), "int twice(void) { return 2; }\n").unwrap();
    run("cc", &["-c", "a.c", "b.c"], dir.path());
    let out = dir.path().join("prog");
    let a = dir.path().join("a.o");
    let b = dir.path().join("b.o");
    let (code, _, stderr) =
        common::rlink(&["-o".as_ref(), out.as_os_str(), a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "rlink: error: duplicate symbol: twice\n>>> defined in {}\n>>> defined in {}\n",
            a.display(),
            b.display()
        )
    );
    assert!(!out.exists());
}

/// A C program with the C library's own start files (Scrt1.o defines _start, so the bundled
/// stub stays out), and a run-time library path.
#[test]
fn explicit_crt_objects_and_runpath() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello from C\"); return 5; }\n",
    )
    .unwrap();
    run("cc", &["-O1", "-c", "hello.c"], dir.path());
    let crt = |name: &str| {
        let out = Command::new("cc")
            .arg(format!("-print-file-name={name}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let inputs: Vec<String> = vec![
        crt("Scrt1.o"),
        crt("crti.o"),
        crt("crtbeginS.o"),
        dir.path().join("hello.o").display().to_string(),
        "-lc".to_string(),
        crt("crtendS.o"),
        crt("crtn.o"),
    ];
    let prog = link(dir.path(), &inputs, &["-r", "/opt/rlink-test/lib"]);
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from C\n");
    assert_eq!(out.status.code(), Some(5));
    let dump = common::rlink_ok(&["inspect".as_ref(), prog.as_os_str()]);
    assert!(dump.contains("rpath: 1\n  /opt/rlink-test/lib\n"), "{dump}");
    assert!(!dump.contains("rlink-runtime-stubs"), "{dump}");
}

/// The runtime stubs (system-stack calls, callbacks from C) in a program rlink links itself.
#[test]
fn runtime_stubs_in_a_program_rlink_links() {
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib(dir.path());
    for mode in [Mode::Release, Mode::Debug] {
        let inputs = common::compile_with(dir.path(), "system_stack", mode, &extern_flags);
        let prog = link(dir.path(), &inputs, &[]);
        let out = Command::new(&prog).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            common::SYSTEM_STACK_OUTPUT,
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0));
    }
}

/// `cgo_export_dynamic` puts a definition into the executable's dynamic symbol table under its
/// remote name; `-rdynamic` (through a C driver) exports every global definition.
#[test]
fn dynamic_exports_from_executables() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c_object = common::c_calls_object(d);
    let mut inputs = compile(d, "c_calls", Mode::Release);
    inputs.push(c_object);
    let directives = d.join("exports.directives");
    std::fs::write(
        &directives,
        "cgo_export_dynamic rust_double rlink_exported_double\n",
    )
    .unwrap();
    let directives_arg = format!("-directives={}", directives.display());
    let prog = link(d, &inputs, &[&directives_arg]);
    let dump = common::rlink_ok(&["inspect".as_ref(), prog.as_os_str()]);
    assert!(
        dump.contains("exports: 1\n  rlink_exported_double\n"),
        "{dump}"
    );
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "C accumulated 30\nother thread accumulated 6\nmain thread counter 30\n"
    );
}

/// x86-64 Linux programs link from rlink's bundled glibc manifests alone (an empty sysroot)
/// and, under a glibc 2.17 floor, need no version node newer than GLIBC_2.17; they run here
/// against glibc 2.36.
#[test]
fn bundled_glibc_with_a_floor_on_x86_64() {
    use common::programs::*;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-sysroot");
    std::fs::create_dir_all(&empty).unwrap();
    let sysroot = format!("-sysroot={}", empty.display());
    for e in [HELLO, THREADS, FILES_PROCESS] {
        let sub = dir.path().join(e.program);
        std::fs::create_dir_all(&sub).unwrap();
        let inputs = common::compile(&sub, e.program, Mode::Release);
        let prog = link(&sub, &inputs, &[&sysroot, "-glibc=2.17"]);
        for node in common::needed_versions(&prog) {
            let Some(v) = node.strip_prefix("GLIBC_") else {
                continue;
            };
            let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
            let minor: u32 = minor.split('.').next().unwrap_or("0").parse().unwrap();
            assert!(major == "2" && minor <= 17, "{}: GLIBC_{v}", e.program);
        }
        let out = Command::new(&prog)
            .args(["one", "two words"])
            .current_dir(&sub)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            e.stdout,
            "{}",
            e.program
        );
        assert_eq!(out.status.code(), Some(e.code), "{}", e.program);
    }
}

/// C code that overflows the runtime stubs' system stack ends the process with one line
/// naming the thread and the stack's size, and the usual SIGSEGV status; a fault elsewhere
/// still reaches the handler the program installed before the stubs installed theirs.
#[test]
fn runtime_stubs_report_system_stack_overflow() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib(dir.path());
    for mode in [Mode::Release, Mode::Debug] {
        let inputs = common::compile_with(dir.path(), "stack_fault", mode, &extern_flags);
        let prog = link(dir.path(), &inputs, &[]);
        let out = Command::new(&prog).arg("overflow").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), Some(11), "{mode:?}: {stderr}");
        assert!(
            stderr.contains(
                "rlink runtime: C code overflowed the 8 MiB system stack of thread 'main' \
                 (set_system_stack_size)\n"
            ),
            "{mode:?}: {stderr}"
        );
        let out = Command::new(&prog).arg("elsewhere").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "the program's handler saw the fault\n",
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(7), "{mode:?}");
    }
}

/// Threads C starts call back into Rust through the runtime stubs' `rlink_crosscall`: 8
/// threads × 1,000 callbacks, each thread's `thread_local!` made and destroyed once, std's
/// formatting and allocation working there; a panic on such a thread, with no Rust frame to
/// resume in, is reported with the thread and aborts.
#[test]
fn callbacks_from_threads_c_starts() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extern_flags = common::runtime_stubs_rlib(d);
    let mut inputs = common::compile_with(d, "c_threads", Mode::Release, &extern_flags);
    inputs.push(common::c_object(d, "cc", "c_threads"));
    let prog = link(d, &inputs, &[]);
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "status 0, callbacks 8000, thread-locals made 8, destroyed 8, formatted true\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    let want: Vec<String> = (0..8)
        .map(|i| format!("C thread {i}: 1000 callbacks"))
        .collect();
    assert_eq!(lines, want);
    let out = Command::new(&prog).arg("panic").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(6), "{stderr}");
    assert!(
        stderr.contains("callback panic on a C thread")
            && stderr.contains("a Rust callback panicked on thread <unnamed> (ThreadId(")
            && stderr.contains("with no Rust caller to resume in; aborting"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not reached"));
}

/// A backtrace taken in a Rust callback that C called on the system stack names the callback,
/// the C function and the Rust caller below the stack switch (its CFI carries the unwinder
/// across); a panic there, with RUST_BACKTRACE=1, prints the same frames and resumes in Rust.
#[test]
fn backtraces_cross_c_and_the_stack_switch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extern_flags = common::runtime_stubs_rlib(d);
    let c_half = common::c_object(d, "cc", "c_trace");
    for mode in [Mode::Release, Mode::Debug] {
        let mut inputs = common::compile_with(d, "c_trace", mode, &extern_flags);
        inputs.push(c_half.clone());
        let prog = link(d, &inputs, &[]);
        let out = Command::new(&prog).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            common::C_TRACE_OUTPUT,
            "{mode:?}"
        );
        let out = Command::new(&prog)
            .arg("panic")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        for frame in ["trace_callback", "c_trampoline", "c_trace::traced_main"] {
            assert!(stderr.contains(frame), "{mode:?}: no {frame} in\n{stderr}");
        }
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "caught: true\n",
            "{mode:?}"
        );
    }
}

/// SIGINT, SIGTERM and SIGUSR1, sent by another thread while the main thread runs C code on
/// the system stack, reach the program's handlers there.
#[test]
fn signals_reach_handlers_on_the_system_stack() {
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib(dir.path());
    let inputs = common::compile_with(dir.path(), "signals", Mode::Release, &extern_flags);
    let prog = link(dir.path(), &inputs, &[]);
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), common::SIGNALS_OUTPUT);
    assert_eq!(out.status.code(), Some(0));
}
