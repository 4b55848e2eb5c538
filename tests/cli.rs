//! The command line and its failures: every flag the help promises, and bad input giving
//! `rlink: error: FILE(MEMBER): what is wrong` with exit status 1, never a panic, and no
//! output file left behind.

mod common;

use common::{rlink, rlink_fails, rlink_ok, run, testdata};

#[test]
fn help_lists_every_flag_and_subcommand() {
    let help = rlink_ok(&["--help"]);
    for flag in [
        "-o FILE",
        "-linkmode MODE",
        "-buildmode MODE",
        "-extld CMD",
        "-extldflags FLAGS",
        "-tmpdir DIR",
        "-I PATH",
        "-L DIR",
        "-l NAME",
        "-directives FILE",
        "-s ",
        "-w ",
        "-v ",
        "-threads N",
        "-no-fork",
        "-target TRIPLE",
        "-version",
        "-addresses",
        "-dynlinker",
        "-format rlink|go",
        "-dynpackage NAME",
        "-lib ",
    ] {
        assert!(help.contains(flag), "--help lacks {flag:?}:\n{help}");
    }
    assert!(
        help.contains("rlink inspect") && help.contains("rlink dynimport"),
        "{help}"
    );
    assert_eq!(rlink_ok(&["-h"]), help);
    assert_eq!(rlink_ok(&["-help"]), help);
}

#[test]
fn version() {
    assert_eq!(
        rlink_ok(&["--version"]),
        format!("rlink {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        rlink_ok(&["-version"]),
        format!("rlink {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flags_are_named() {
    let e = rlink_fails(&["-frobnicate", "a.o"]);
    assert_eq!(
        e,
        "rlink: error: unknown flag -frobnicate (see 'rlink -help')\n"
    );
    let e = rlink_fails(&["inspect", "--nope", "x"]);
    assert!(e.contains("unknown flag --nope"), "{e}");
    let e = rlink_fails(&["-linkmode=sideways", "a.o"]);
    assert!(
        e.contains("-linkmode: unknown link mode \"sideways\""),
        "{e}"
    );
}

#[test]
fn response_files_are_read_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let rsp = dir.path().join("args");
    std::fs::write(&rsp, "-o\nout\\ file\n--bogus-from-rsp\n").unwrap();
    let e = rlink_fails(&[format!("@{}", rsp.display())]);
    assert!(e.contains("unknown flag --bogus-from-rsp"), "{e}");
    std::fs::write(&rsp, "--version\n").unwrap();
    assert!(rlink_ok(&[format!("@{}", rsp.display())]).starts_with("rlink "));
}

#[test]
fn malformed_inputs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(testdata("dynimport/hello_elf")).unwrap();
    let truncated = dir.path().join("truncated.o");
    for len in [20, 64, 100, 1000, 3000] {
        std::fs::write(&truncated, &real[..len]).unwrap();
        let e = rlink_fails(&["inspect".as_ref(), truncated.as_os_str()]);
        assert!(
            e.starts_with(&format!("rlink: error: {}: ", truncated.display())),
            "{len}: {e}"
        );
        assert!(e.contains("ELF"), "{len}: {e}");
    }
    let garbage = dir.path().join("garbage.o");
    std::fs::write(&garbage, b"\x01\x02\x03 definitely not an object").unwrap();
    let e = rlink_fails(&["inspect".as_ref(), garbage.as_os_str()]);
    assert_eq!(
        e,
        format!(
            "rlink: error: {}: not an ELF, Mach-O or PE/COFF file (it is a file of unknown kind)\n",
            garbage.display()
        )
    );
    let e = rlink_fails(&[
        "-o".as_ref(),
        dir.path().join("out").as_os_str(),
        garbage.as_os_str(),
    ]);
    assert!(
        e.contains("garbage.o: unknown file type: not an object, archive, shared library"),
        "{e}"
    );
    let e = rlink_fails(&["dynimport".as_ref(), garbage.as_os_str()]);
    assert!(
        e.starts_with(&format!("rlink: error: {}: ", garbage.display())),
        "{e}"
    );
    let e = rlink_fails(&["inspect", "/nonexistent/x.o"]);
    assert!(e.starts_with("rlink: error: /nonexistent/x.o: "), "{e}");
}

#[test]
fn bad_directive_lines_name_file_section_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("bad.directives");
    std::fs::write(
        &text,
        "cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"\ncgo_import_static \"quoted\"\n",
    )
    .unwrap();
    let e = rlink_fails(&["-directives".as_ref(), text.as_os_str()]);
    assert_eq!(
        e,
        format!("rlink: error: {}:2: invalid cgo directive: cgo_import_static: usage: cgo_import_static local\n", text.display())
    );

    // The same mistake inside an rlib member, as a crate would ship it.
    let src = dir.path().join("foo.rs");
    std::fs::write(
        &src,
        "#![no_std]\n#[used]\n#[link_section = \".rlink.directives\"]\nstatic D: [u8; 31] = *b\"cgo_import_dynamic a b c d e f\\n\";\n",
    )
    .unwrap();
    run(
        "rustc",
        &["--crate-type=lib", "--emit=obj", "-o", "foo.o", "foo.rs"],
        dir.path(),
    );
    run("ar", &["rc", "libfoo.rlib", "foo.o"], dir.path());
    let out = dir.path().join("a.out");
    let e = rlink_fails(&[
        "-o".as_ref(),
        out.as_os_str(),
        dir.path().join("libfoo.rlib").as_os_str(),
    ]);
    assert_eq!(
        e,
        format!(
            "rlink: error: {}(foo.o): .rlink.directives:1: invalid cgo directive: cgo_import_dynamic: usage: cgo_import_dynamic local [remote [\"library\"]]\n",
            dir.path().join("libfoo.rlib").display()
        )
    );
    assert!(!out.exists(), "no output may be left behind");
}

#[test]
fn missing_libraries_and_inputs() {
    let e = rlink_fails(&["-lsurely_not_a_library_rlink"]);
    assert!(
        e.contains("cannot find -lsurely_not_a_library_rlink"),
        "{e}"
    );
    let e = rlink_fails::<&str>(&[]);
    assert_eq!(e, "rlink: error: no input files\n");
}

#[test]
fn failed_links_name_undefined_symbols_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("x.o");
    run(
        "rustc",
        &[
            "--crate-type=lib",
            "--emit=obj",
            "-o",
            "x.o",
            testdata("inspect/rust_lib.rs").to_str().unwrap(),
        ],
        dir.path(),
    );
    let out = dir.path().join("prog");
    let (code, _, stderr) = rlink(&[
        "-v".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        obj.as_os_str(),
        "-lm".as_ref(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cgo_import_dynamic my_sqrt sqrt#GLIBC_2.2.5 \"libm.so.6\""),
        "-v shows directives: {stderr}"
    );
    assert!(
        stderr.contains(
            "rlink: error: undefined symbol: main\n>>> referenced by rlink-runtime-stubs(start.o):(_start)\n"
        ),
        "{stderr}"
    );
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "only the input remains: {leftovers:?}");
}

#[test]
fn dynimport_writes_its_output_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imports.txt");
    let hello = testdata("dynimport/hello_elf");
    rlink_ok(&[
        "dynimport".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        hello.as_os_str(),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("cgo_import_dynamic _ _ \"libc.so.6\"\n"),
        "{text}"
    );
    let e = rlink_fails(&["dynimport", "-format=yaml", "x"]);
    assert!(e.contains("unknown format \"yaml\""), "{e}");
}

/// The target comes from the command line in every dialect, else from the first object; an
/// object of another machine is an error naming it.
#[test]
fn the_target_comes_from_flags_or_the_first_object() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = d.join("f.c");
    std::fs::write(&src, "int f(void) { return 1; }\n").unwrap();
    run(
        "clang",
        &[
            "--target=aarch64-linux-gnu",
            "-c",
            "-o",
            "a64.o",
            src.to_str().unwrap(),
        ],
        d,
    );
    run("cc", &["-c", "-o", "x64.o", src.to_str().unwrap()], d);
    let out = d.join("out");
    let (a64, x64, out) = (
        d.join("a64.o").display().to_string(),
        d.join("x64.o").display().to_string(),
        out.display().to_string(),
    );
    // From the first object: aarch64 (whose entry stub then wants main and libc).
    let (code, _, stderr) = rlink(&["-linkmode=internal", "-v", "-o", &out, &a64]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("rlink: target aarch64-unknown-linux-gnu\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("undefined symbol: __libc_start_main"),
        "{stderr}"
    );
    // Another machine than the target's: the object is named.
    for flags in [
        &["-target=x86_64-unknown-linux-gnu"][..],
        &["-flavor", "gnu", "-m", "elf_x86_64"],
        &["-m64", "--target=x86_64-linux-gnu", "-nodefaultlibs"],
    ] {
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(["-o", &out, &x64, &a64]);
        let e = rlink_fails(&args);
        assert!(
            e.contains(&format!(
                "{a64}: object is for aarch64 but the link is for x86_64"
            )),
            "{flags:?}: {e}"
        );
    }
    let e = rlink_fails(&["-target=riscv64-unknown-linux-gnu", "-o", &out, &x64]);
    assert!(e.contains("unknown CPU \"riscv64\""), "{e}");
    let e = rlink_fails(&["-flavor", "gnu", "-m", "elf_i386", "-o", &out, &x64]);
    assert!(e.contains("-m elf_i386: unknown emulation"), "{e}");
}

/// `rlink targets` lists every target with what it needs on the machine (nothing) and what
/// rlink bundles, and `-config` prints exactly the cargo configuration naming this rlink.
#[test]
fn targets_lists_what_each_target_needs() {
    let text = common::rlink_ok(&["targets"]);
    for triple in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
        "x86_64-pc-windows-gnu",
    ] {
        let row = text
            .lines()
            .find(|l| l.starts_with(triple))
            .unwrap_or_else(|| panic!("no row for {triple}:\n{text}"));
        assert!(row.contains(" nothing "), "{row}");
        assert!(text.contains(&format!("[target.{triple}]\n")), "{text}");
    }
    let config = common::rlink_ok(&["targets", "-config"]);
    let lines: Vec<&str> = config.lines().collect();
    assert_eq!(lines.len(), 12, "{config}");
    let linker = format!("linker = \"{}\"", common::rlink_bin());
    assert!(
        lines.iter().skip(1).step_by(2).all(|l| *l == linker),
        "{config}"
    );
    let err = common::rlink_fails(&["targets", "-bogus"]);
    assert!(err.contains("unknown argument -bogus"), "{err}");
}

/// An undefined symbol's report names the function each reference is in, demangled, after the
/// object, as lld does.
#[test]
fn undefined_symbols_name_the_referencing_function() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = common::compile(dir.path(), "undefined_call", common::Mode::Release);
    let out = dir.path().join("prog");
    let mut args = vec!["-o".to_string(), out.display().to_string()];
    args.extend(inputs);
    let err = common::rlink_fails(&args);
    assert!(
        err.contains("undefined symbol: missing_fn\n>>> referenced by "),
        "{err}"
    );
    assert!(err.contains(".rcgu.o:(undefined_call::helper)"), "{err}");
    assert!(!out.exists());
}

/// GNU ld's `-u SYMBOL` (also through a C driver) pulls the archive member that defines the
/// name and keeps it through `--gc-sections`; `--require-defined` does the same and is an
/// error when nothing defines the name.
#[test]
fn undefined_and_require_defined_pull_archive_members() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("m.c"),
        "#include <stdio.h>\nint main(void) { puts(\"main\"); return 0; }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("p.c"),
        "#include <stdio.h>\n__attribute__((constructor)) static void hello(void) { puts(\"pulled\"); }\n\
         int pulled(void) { return 1; }\n",
    )
    .unwrap();
    run("cc", &["-c", "m.c", "p.c"], d);
    run("ar", &["rcs", "libp.a", "p.o"], d);
    let ld = |extra: &[&str], out: &str| {
        let mut args: Vec<String> = vec!["-flavor".into(), "gnu".into(), "--gc-sections".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(
            ["-pie", "--dynamic-linker=/lib64/ld-linux-x86-64.so.2", "-o"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.push(d.join(out).display().to_string());
        // An ld line names the C start-up object itself, as gcc passes it.
        args.push("/usr/lib/x86_64-linux-gnu/Scrt1.o".into());
        args.push(d.join("m.o").display().to_string());
        args.push(d.join("libp.a").display().to_string());
        args.push("-lc".into());
        args
    };
    let output = |name: &str| {
        let out = std::process::Command::new(d.join(name)).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    rlink_ok(&ld(&[], "plain"));
    assert_eq!(output("plain"), "main\n");
    for (flag, out) in [
        (&["-u", "pulled"][..], "u"),
        (&["--undefined=pulled"][..], "undefined"),
        (&["--require-defined=pulled"][..], "required"),
    ] {
        rlink_ok(&ld(flag, out));
        assert_eq!(output(out), "pulled\nmain\n", "{flag:?}");
    }
    let err = rlink_fails(&ld(&["--require-defined=nowhere"], "bad"));
    assert!(
        err.contains("undefined symbol: nowhere\n>>> required by --require-defined"),
        "{err}"
    );
    assert!(!d.join("bad").exists());
}
