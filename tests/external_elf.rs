//! External linking: rlink merges the Rust objects into one relocatable object and drives
//! the host C compiler (gcc, clang) with it, the host objects and the `cgo_ldflag` flags. The
//! programs of the internal-link suite must behave the same; the combined object must link on
//! its own; `-tmpdir`, the flag allowlist and auto mode are checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compile, rlink, rlink_ok, run, Mode};

struct Expect {
    program: &'static str,
    stdout: &'static str,
    code: i32,
}

const PROGRAMS: &[Expect] = &[
    Expect { program: "hello", stdout: "hello from rlink\n", code: 0 },
    Expect {
        program: "threads",
        stdout: "thread 0 counted 5050\nthread 1 counted 5050\nthread 2 counted 5050\nthread 3 counted 5050\n\
                 tls destructor 0\ntls destructor 1\ntls destructor 2\ntls destructor 3\nmain counter 0\ntotal 20200\n",
        code: 0,
    },
    Expect {
        program: "panics",
        stdout: "hook saw: boom at the bottom\ndrop innermost\ndrop outer\ndrop outer\ncaught: true\n\
                 hook saw: thread panic\ndrop thread\nthread joined with error: true\nbacktrace names main: true\n",
        code: 3,
    },
    Expect { program: "files_process", stdout: "read 2 lines\nchild stdout: child says hi\nchild status: Some(7)\n", code: 0 },
    Expect { program: "exit_code", stdout: "exiting with 42\n", code: 42 },
    Expect { program: "libm_directive", stdout: "cbrt(27) = 3.0000000000000004\n", code: 0 },
    Expect { program: "dlopen", stdout: "pow(2, 10) = 1024\n", code: 0 },
    Expect { program: "args_env", stdout: "args: [\"one\", \"two words\"]\nRLINK_TEST_VAR=set\ncwd is absolute: true\n", code: 0 },
    Expect {
        program: "dispatch",
        stdout: "square 4.0000\ncircle 7.0686\nadd(6, 7) = 13\nmul(6, 7) = 42\nbig sum 6442352640\nzeroed sum 7\n\
                 i128 -170141183460469231731687303715884105728 -24305883351495604533098186245126300818\n\
                 u128 55555555555555555555555555555555\n\
                 floats 0.30000000000000004 1.2345e3 13407807929942595611008317640802934282464207265959107021466054756094376573581619054852612241927956455650759996398703782412109633178814162067569513603268608.000 0.000000000000000000000000000000000000011754944\n",
        code: 0,
    },
];

fn link_external(dir: &Path, inputs: &[String], extld: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("prog-{extld}"));
    let output = Command::new(common::rlink_bin())
        .args(["-linkmode=external", &format!("-extld={extld}"), "-o"])
        .arg(&out)
        .args(extra)
        .args(inputs)
        .output()
        .expect("rlink runs");
    assert!(
        output.status.success(),
        "rlink -extld={extld} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

fn run_program(prog: &Path, e: &Expect, what: &str) {
    let out = Command::new(prog)
        .args(["one", "two words"])
        .env("RLINK_TEST_VAR", "set")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the linked program starts");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        e.stdout,
        "{what}: stdout; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(e.code), "{what}: exit status");
}

#[test]
fn programs_link_externally_with_gcc_and_clang() {
    for mode in [Mode::Release, Mode::Debug] {
        for e in PROGRAMS {
            let dir = tempfile::tempdir().unwrap();
            let inputs = compile(dir.path(), e.program, mode);
            for extld in ["gcc", "clang"] {
                let prog = link_external(dir.path(), &inputs, extld, &[]);
                run_program(&prog, e, &format!("{} ({mode:?}, {extld})", e.program));
            }
        }
    }
}

#[test]
fn c_host_object_with_thread_locals() {
    let e = Expect {
        program: "c_calls",
        stdout: "C accumulated 30\nother thread accumulated 6\nmain thread counter 30\n",
        code: 0,
    };
    for mode in [Mode::Release, Mode::Debug] {
        let dir = tempfile::tempdir().unwrap();
        let c_object = common::c_calls_object(dir.path());
        let mut inputs = compile(dir.path(), e.program, mode);
        inputs.push(c_object);
        for extld in ["gcc", "clang"] {
            let prog = link_external(dir.path(), &inputs, extld, &[]);
            run_program(&prog, &e, &format!("c_calls ({mode:?}, {extld})"));
        }
    }
}

/// The combined object is an ordinary relocatable object: the host tools link it without rlink.
#[test]
fn combined_object_links_with_cc_and_lld_alone() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile(dir.path(), "hello", Mode::Release);
    let keep = dir.path().join("keep");
    let keep_arg = format!("-tmpdir={}", keep.display());
    link_external(dir.path(), &inputs, "cc", &[&keep_arg]);
    let combined = keep.join("rlink-combined.o");
    assert!(combined.is_file(), "-tmpdir keeps the combined object");
    let libs = [
        "-lgcc_s",
        "-lutil",
        "-lrt",
        "-lpthread",
        "-lm",
        "-ldl",
        "-lc",
    ];
    for linker in [None, Some("-fuse-ld=lld")] {
        let out = dir.path().join("by-host");
        let mut args = vec![combined.to_str().unwrap(), "-o", out.to_str().unwrap()];
        args.extend(linker);
        args.extend(libs);
        run("cc", &args, dir.path());
        run_program(
            &out,
            &PROGRAMS[0],
            &format!("combined object linked by cc {linker:?}"),
        );
    }
    let dump = rlink_ok(&["inspect".as_ref(), combined.as_os_str()]);
    assert!(dump.contains("type: relocatable object\n"), "{dump}");
    assert!(
        !dump.contains(".rlink.directives"),
        "directives never reach the output: {dump}"
    );
}

/// Golden dump of the combined object of a small no_std program.
#[test]
fn combined_object_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    common::compile_no_std_object(dir.path());
    let keep = dir.path().join("keep");
    let keep_arg = format!("-tmpdir={}", keep.display());
    let prog = link_external(
        dir.path(),
        &[
            dir.path().join("nsd.o").display().to_string(),
            "-lc".to_string(),
        ],
        "cc",
        &[&keep_arg],
    );
    let out = Command::new(&prog).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from a no_std program\n"
    );
    insta::assert_snapshot!(
        "combined_object_no_std",
        rlink_ok(&[
            "inspect".as_ref(),
            keep.join("rlink-combined.o").as_os_str()
        ])
    );
}

#[test]
fn tmpdir_keeps_files_and_nothing_is_left_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let c_object = common::c_calls_object(dir.path());
    let mut inputs = compile(dir.path(), "c_calls", Mode::Release);
    inputs.push(c_object);

    let keep = dir.path().join("keep");
    let keep_arg = format!("-tmpdir={}", keep.display());
    link_external(dir.path(), &inputs, "cc", &[&keep_arg]);
    let kept: Vec<String> = std::fs::read_dir(&keep)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(kept.contains(&"rlink-combined.o".to_string()), "{kept:?}");
    assert!(
        kept.iter().any(|k| k.ends_with("-c_calls.o")),
        "a copy of the host object: {kept:?}"
    );

    // Without -tmpdir: a private directory under TMPDIR, removed after success and failure.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = dir.path().join("out");
    for extra in [&[][..], &["-extldflags=-Wl,--no-such-linker-flag"][..]] {
        let status = Command::new(common::rlink_bin())
            .args(["-linkmode=external", "-extld=cc", "-o"])
            .arg(&out)
            .args(extra)
            .args(&inputs)
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert_eq!(
            status.status.success(),
            extra.is_empty(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        if !extra.is_empty() {
            let stderr = String::from_utf8_lossy(&status.stderr);
            assert!(
                stderr.contains("rlink: error: host linker failed with exit status 1: cc "),
                "{stderr}"
            );
        }
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "temporary files left behind: {left:?}");
    }
}

/// An object whose directives section carries the given flags, built with cc.
fn object_with_ldflags(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let text: String = flags
        .iter()
        .map(|f| format!("cgo_ldflag \\\"{f}\\\"\\n"))
        .collect();
    let src = format!(
        "__attribute__((used, section(\".rlink.directives\"))) static const char d[] = \"{text}\";\nint {name}_marker;\n"
    );
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    run(
        "cc",
        &["-c", "-o", &format!("{name}.o"), c.to_str().unwrap()],
        dir,
    );
    dir.join(format!("{name}.o"))
}

#[test]
fn ldflags_from_objects_pass_the_allowlist() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile(dir.path(), "hello", Mode::Release);
    let out = dir.path().join("out");
    for (i, bad) in [
        "-fplugin=x.so",
        "-Wl,-plugin,x.so",
        "-fuse-ld=gold",
        "-B/tmp",
        "@/tmp/args",
        "-Wl,-T,script.ld",
        "-Wl,--dynamic-linker,/tmp/x",
    ]
    .iter()
    .enumerate()
    {
        let obj = object_with_ldflags(dir.path(), &format!("bad{i}"), &[bad]);
        let mut args = vec![
            "-linkmode=external".to_string(),
            "-o".into(),
            out.display().to_string(),
            obj.display().to_string(),
        ];
        args.extend(inputs.iter().cloned());
        let (code, _, stderr) = rlink(&args);
        assert_eq!(code, 1, "{bad}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "rlink: error: {}: invalid flag in cgo_ldflag: {bad}",
                obj.display()
            )),
            "{bad}: {stderr}"
        );
        assert!(!out.exists());
    }
    let good = object_with_ldflags(
        dir.path(),
        "good",
        &["-lm", "-L/usr/lib", "-pthread", "-Wl,--as-needed"],
    );
    let mut args = vec![
        "-linkmode=external".to_string(),
        "-v".into(),
        "-o".into(),
        out.display().to_string(),
        good.display().to_string(),
    ];
    args.extend(inputs.iter().cloned());
    let (code, _, stderr) = rlink(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(" -lm -L/usr/lib -pthread -Wl,--as-needed"),
        "flags reach the host line in order: {stderr}"
    );
    run_program(&out, &PROGRAMS[0], "with allowed flags");

    // The override variables widen and narrow the set.
    let extra = object_with_ldflags(dir.path(), "extra", &["-Wl,--gc-sections"]);
    let mut args = vec![
        "-linkmode=external".to_string(),
        "-o".into(),
        out.display().to_string(),
        extra.display().to_string(),
    ];
    args.extend(inputs.iter().cloned());
    let refused = Command::new(common::rlink_bin())
        .args(&args)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let allowed = Command::new(common::rlink_bin())
        .args(&args)
        .env("RLINK_LDFLAGS_ALLOW", "-Wl,--gc-sections")
        .output()
        .unwrap();
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let mut args = vec![
        "-linkmode=external".to_string(),
        "-o".into(),
        out.display().to_string(),
        good.display().to_string(),
    ];
    args.extend(inputs.iter().cloned());
    let narrowed = Command::new(common::rlink_bin())
        .args(&args)
        .env("RLINK_LDFLAGS_DISALLOW", "-l.*")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&narrowed.stderr);
    assert!(
        stderr.contains("invalid flag in cgo_ldflag: -lm"),
        "{stderr}"
    );
}

#[test]
fn auto_mode_picks_internal_unless_an_input_needs_the_host_linker() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = compile(dir.path(), "hello", Mode::Release);
    let out = dir.path().join("out");
    let mut args = vec!["-v".to_string(), "-o".into(), out.display().to_string()];
    args.extend(inputs.iter().cloned());
    let (code, _, stderr) = rlink(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("rlink: linking internally: nothing requires the host linker"),
        "{stderr}"
    );
    run_program(&out, &PROGRAMS[0], "auto, internal");
    let dump = rlink_ok(&["inspect".as_ref(), out.as_os_str()]);
    assert!(
        !dump.contains("GNU ld") && dump.contains("interpreter"),
        "{dump}"
    );

    // An archive carrying rlink's marker member asks for the host linker.
    std::fs::write(
        dir.path().join("rlink.external"),
        "this library needs the host linker\n",
    )
    .unwrap();
    run("ar", &["rcs", "libmarker.a", "rlink.external"], dir.path());
    let marker = dir.path().join("libmarker.a").display().to_string();
    let mut with_marker = args.clone();
    with_marker.push(marker.clone());
    let (code, _, stderr) = rlink(&with_marker);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "rlink: linking externally: {marker}(rlink.external) asks for external linking"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("rlink: host link: cc "), "{stderr}");
    run_program(&out, &PROGRAMS[0], "auto, external");

    let mut forced = vec!["-linkmode=internal".to_string()];
    forced.extend(with_marker.iter().cloned());
    let (code, _, stderr) = rlink(&forced);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "rlink: error: internal linking requested but external linking required: {marker}(rlink.external) asks for external linking"
        )),
        "{stderr}"
    );
}

/// The runtime stubs in a program linked through the host driver.
#[test]
fn runtime_stubs_in_an_externally_linked_program() {
    let dir = tempfile::tempdir().unwrap();
    let extern_flags = common::runtime_stubs_rlib(dir.path());
    let inputs = common::compile_with(dir.path(), "system_stack", Mode::Release, &extern_flags);
    for extld in ["gcc", "clang"] {
        let prog = link_external(dir.path(), &inputs, extld, &[]);
        let e = Expect {
            program: "system_stack",
            stdout: common::SYSTEM_STACK_OUTPUT,
            code: 0,
        };
        run_program(&prog, &e, extld);
    }
}
