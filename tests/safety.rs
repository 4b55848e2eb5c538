//! rlink must never harm the machine it runs on, nor leave half a file behind:
//!
//! - an existing output that is not a regular file (`/dev/null`, a FIFO) is written in place
//!   through every front door, never renamed over — checked in a private mount namespace
//!   where `/dev/null` is a bind mount, so a rename over it would fail with EBUSY instead of
//!   replacing the real one;
//! - an existing executable is overwritten in place only when nothing else can see the change:
//!   a running copy, another name for the file and a symbolic link all keep the old bytes;
//! - lld's `--reproduce` archives (two-word options, `--chroot`) link as they are;
//! - limits (file size, threads) and damaged inputs end in one clear error, with nothing left.

mod common;

use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;
use std::process::Command;

use common::{compile_no_std_object, rlink_bin, rlink_fails, rlink_ok, run, testdata};

/// Runs a shell script in a private mount namespace with `/dev/null` bind-mounted onto
/// itself; returns its stdout.
fn in_private_namespace(script: &str, dir: &Path) -> String {
    let out = Command::new("unshare")
        .args(["-m", "sh", "-ec"])
        .arg(format!(
            "mount --make-rprivate / 2>/dev/null || true\nmount --bind /dev/null /dev/null\n{script}"
        ))
        .current_dir(dir)
        .output()
        .expect("unshare (util-linux) runs; the tests run as root on CI");
    assert!(
        out.status.success(),
        "namespace script failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dev_null_is_written_in_place_through_every_door() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nsd = compile_no_std_object(d);
    let c = d.join("hello.c");
    std::fs::write(
        &c,
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    run("gcc", &["-c", "-o", "hello.o", c.to_str().unwrap()], d);
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(rlink_bin(), bin.join("ld")).unwrap();
    let rlink = rlink_bin();
    let nsd = nsd.display();
    // Each door links into /dev/null; after each, /dev/null must still be the device.
    let script = format!(
        r#"check() {{ if [ -c /dev/null ]; then echo "$1 ok"; else echo "$1 BROKE /dev/null"; exit 1; fi; }}
{rlink} -o /dev/null {nsd}; check go-style
{rlink} -m64 -nodefaultlibs {nsd} -o /dev/null; check cc-style
{rlink} -flavor gnu -pie -o /dev/null {nsd}; check gnu-ld
gcc -B {bin} -o /dev/null hello.o; check gcc-ld
{rlink} -linkmode=external -o /dev/null {nsd}; check external
{rlink} dynimport -o /dev/null {rlink}; check dynimport
ls -a | grep -c '^\.rlink-' || true
"#,
        bin = bin.display()
    );
    let out = in_private_namespace(&script, d);
    for door in [
        "go-style ok",
        "cc-style ok",
        "gnu-ld ok",
        "gcc-ld ok",
        "external ok",
        "dynimport ok",
    ] {
        assert!(out.contains(door), "{door} missing:\n{out}");
    }
    assert!(out.ends_with("0\n"), "temporary files left:\n{out}");
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn a_fifo_output_receives_the_executable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nsd = compile_no_std_object(d);
    let nsd = nsd.to_str().unwrap();
    rlink_ok(&["-o", d.join("regular").to_str().unwrap(), nsd]);
    let fifo = d.join("fifo");
    run("mkfifo", &[fifo.to_str().unwrap()], d);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    rlink_ok(&["-o", fifo.to_str().unwrap(), nsd]);
    let through_fifo = reader.join().unwrap();
    assert_eq!(through_fifo, std::fs::read(d.join("regular")).unwrap());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rlink-"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// lld's `--reproduce` archive of a Rust program: its `response.txt` says `--chroot .`,
/// `--hash-style both`, `-m elf_x86_64`, `-dynamic-linker PATH`, `-l c` and `-z now` in two
/// words each. rlink links it from inside the extracted archive, as lld itself would.
#[test]
fn links_an_lld_reproduce_archive() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = testdata("programs/hello.rs");
    run(
        "rustc",
        &[
            "--edition=2021",
            "-Clinker=clang",
            "-Clink-arg=-fuse-ld=lld",
            "-Clink-arg=-Wl,--reproduce=repro.tar",
            "-o",
            "hello-lld",
            src.to_str().unwrap(),
        ],
        d,
    );
    run("tar", &["xf", "repro.tar"], d);
    let root = d.join("repro");
    let response = std::fs::read_to_string(root.join("response.txt")).unwrap();
    for two_words in [
        "--chroot .",
        "--hash-style ",
        "-m elf_x86_64",
        "-l c",
        "-z now",
    ] {
        assert!(
            response.lines().any(|l| l.starts_with(two_words)),
            "{two_words:?} not in:\n{response}"
        );
    }
    let out = Command::new(rlink_bin())
        .arg("@response.txt")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output_name = response
        .lines()
        .find_map(|l| l.strip_prefix("-o "))
        .expect("an -o line");
    let ran = Command::new(root.join(output_name)).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "hello from rlink\n");
    assert!(ran.status.success());
}

/// Links `obj` as a C program (GNU ld's line, the C start-up object, libc) to `out`.
fn link_c_program(dir: &Path, obj: &Path, out: &str) {
    rlink_ok(&[
        "-flavor",
        "gnu",
        "-pie",
        "--dynamic-linker",
        "/lib64/ld-linux-x86-64.so.2",
        "-o",
        dir.join(out).to_str().unwrap(),
        "/usr/lib/x86_64-linux-gnu/Scrt1.o",
        obj.to_str().unwrap(),
        "-lc",
    ]);
}

fn output_of(program: &Path) -> String {
    let out = Command::new(program).output().unwrap();
    assert!(out.status.success(), "{}", program.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An executable that exists is overwritten in place (its blocks and cached pages reused, as
/// wild does) only when nothing else can see the change. A plain file of ours is: same inode,
/// new bytes. A running copy keeps running (the kernel refuses to open it for writing, so
/// rlink replaces it instead), another name for the file (a hard link) keeps the old bytes,
/// and a symbolic link is replaced, not written through.
#[test]
fn existing_outputs_are_overwritten_only_when_nothing_else_sees_it() {
    use std::io::Write as _;
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `first` reads its input to the end before it prints, so it can be kept running.
    std::fs::write(
        d.join("first.c"),
        "#include <stdio.h>\nint main(void) { char b[64]; while (fread(b, 1, sizeof b, stdin) > 0) {}\n\
         puts(\"first\"); return 0; }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("second.c"),
        "#include <stdio.h>\nint main(void) { puts(\"second and longer, so the file changes size\"); return 0; }\n",
    )
    .unwrap();
    run("cc", &["-c", "-fPIC", "first.c", "second.c"], d);
    let (first, second) = (d.join("first.o"), d.join("second.o"));
    let prog = d.join("prog");
    let inode = |p: &Path| std::fs::symlink_metadata(p).unwrap().ino();

    // A plain file of ours: overwritten in place.
    link_c_program(d, &first, "prog");
    let before = inode(&prog);
    link_c_program(d, &second, "prog");
    assert_eq!(
        inode(&prog),
        before,
        "a plain output was not overwritten in place"
    );
    assert_eq!(
        output_of(&prog),
        "second and longer, so the file changes size\n"
    );
    link_c_program(d, &first, "prog");
    assert_eq!(inode(&prog), before);

    // Running: the running copy is left alone and finishes as it began.
    let mut running = Command::new(&prog)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    running.stdin.as_mut().unwrap().write_all(b"input").unwrap();
    link_c_program(d, &second, "prog");
    assert_ne!(
        inode(&prog),
        before,
        "a running program's file was written to"
    );
    drop(running.stdin.take());
    let out = running.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\n");
    assert_eq!(
        output_of(&prog),
        "second and longer, so the file changes size\n"
    );

    // Another name for the file keeps the old bytes.
    link_c_program(d, &first, "a");
    std::fs::hard_link(d.join("a"), d.join("b")).unwrap();
    link_c_program(d, &second, "a");
    assert_eq!(output_of(&d.join("b")), "first\n");
    assert_eq!(
        output_of(&d.join("a")),
        "second and longer, so the file changes size\n"
    );

    // A symbolic link is replaced by the output; what it pointed at keeps its bytes.
    link_c_program(d, &first, "target");
    std::os::unix::fs::symlink(d.join("target"), d.join("link")).unwrap();
    link_c_program(d, &second, "link");
    assert!(std::fs::symlink_metadata(d.join("link")).unwrap().is_file());
    assert_eq!(output_of(&d.join("target")), "first\n");
    assert_eq!(
        output_of(&d.join("link")),
        "second and longer, so the file changes size\n"
    );

    // Written in place over old bytes: the same bytes as a new file gets (only what the
    // link leaves unwritten is zeroed first, so nothing of the old file may show through).
    link_c_program(d, &second, "fresh");
    let size = std::fs::metadata(d.join("fresh")).unwrap().len() as usize;
    std::fs::write(d.join("junk"), vec![0xa5u8; size + 4096]).unwrap();
    let junk = inode(&d.join("junk"));
    link_c_program(d, &second, "junk");
    assert_eq!(inode(&d.join("junk")), junk, "not written in place");
    assert_eq!(
        std::fs::read(d.join("junk")).unwrap(),
        std::fs::read(d.join("fresh")).unwrap(),
        "an output written in place differs from a new one"
    );
}

#[test]
fn a_file_size_limit_ends_in_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nsd = compile_no_std_object(d);
    // 4 KiB blocks of 512 bytes: far below the executable's size.
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -f 8; exec \"$@\"",
            "sh",
            rlink_bin(),
            "-o",
            "prog",
        ])
        .arg(&nsd)
        .current_dir(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("rlink: error: prog: "), "{stderr}");
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rlink-") || n == "prog")
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn unknown_inputs_are_read_as_scripts_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nsd = compile_no_std_object(d);
    let nsd = nsd.to_str().unwrap();
    let out = d.join("out");
    for (text, want) in [
        (")))", "unbalanced parentheses"),
        ("/* never closed", "unclosed comment"),
        ("GROUP ( , , , )", "GROUP( ) names no files"),
        (
            "!<ar",
            "not an object, archive, shared library, directives file or linker script",
        ),
    ] {
        let junk = d.join("junk.txt");
        std::fs::write(&junk, text).unwrap();
        let e = rlink_fails(&["-o", out.to_str().unwrap(), nsd, junk.to_str().unwrap()]);
        assert!(
            e.contains(&format!("{}: ", junk.display())) && e.contains(want),
            "{text}: {e}"
        );
        assert!(!out.exists());
    }
    let deep = format!(
        "GROUP ( {} x {} )",
        "AS_NEEDED ( ".repeat(30_000),
        ") ".repeat(30_000)
    );
    std::fs::write(d.join("deep.ld"), deep).unwrap();
    let e = rlink_fails(&[
        "-o",
        out.to_str().unwrap(),
        nsd,
        d.join("deep.ld").to_str().unwrap(),
    ]);
    assert!(e.contains("nested more than 16 deep"), "{e}");
}

#[test]
fn thread_counts_are_bounded() {
    let e = rlink_fails(&["-threads", "100000", "x.o"]);
    assert!(e.contains("from 1 to 1024"), "{e}");
    let e = rlink_fails(&["-flavor", "gnu", "--threads=0", "x.o"]);
    assert!(e.contains("from 1 to 1024"), "{e}");
}

#[test]
fn response_file_errors_name_the_file_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let rsp = dir.path().join("args.rsp");
    std::fs::write(&rsp, "a.o\nb.o\\\n").unwrap();
    let e = rlink_fails(&[format!("@{}", rsp.display())]);
    assert_eq!(
        e,
        format!(
            "rlink: error: {}: line 2: backslash at the end of a line\n",
            rsp.display()
        )
    );
}
