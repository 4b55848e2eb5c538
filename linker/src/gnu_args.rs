//! The other two front doors: the cc-driver line rustc passes to `linker = "rlink"`, and the
//! GNU ld line gcc's collect2 and clang pass when rlink is their `ld`
//! (`../shared/reference/rustc-linker.md`). Both end in the same [`LinkArgs`] the Go-style
//! flags build, so the link after them is the same.
//!
//! A cc line is first translated into ld words (`-Wl,a,b` → `a b`; driver-only options such as
//! `-m64`, `-nodefaultlibs`, `-fuse-ld=…`, `-B…` dropped, since rlink is the linker and its
//! entry stub replaces crt files), then parsed as an ld line. Unknown options get a warning and
//! the link goes on: a new rustc or compiler release must not break builds.

use std::path::PathBuf;

use crate::args::{BuildMode, Command, InputArg, LinkArgs, LinkMode};
use crate::bail;
use crate::diag::Result;

/// Which command-line dialect an invocation speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Go,
    Cc,
    Ld,
}

/// Decides the dialect from the program name and the arguments.
pub fn dialect(program: &str, args: &[String]) -> Dialect {
    let name = std::path::Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if name == "ld" || name.starts_with("ld.") || name.ends_with("-ld") {
        return Dialect::Ld;
    }
    if args.first().map(String::as_str) == Some("-flavor") {
        return Dialect::Ld;
    }
    // Options only an ld line has (a cc line carries them inside `-Wl,`): checked first, since
    // both lines may hold `-pie`.
    let ld_marker = |a: &str| {
        a == "--eh-frame-hdr"
            || a == "-dynamic-linker"
            || a.starts_with("--hash-style")
            || a.starts_with("--build-id")
            || a == "--as-needed"
            || a == "-plugin"
            || a == "--gc-sections"
            || a == "-z"
            || a == "-m"
    };
    if args.iter().any(|a| ld_marker(a)) {
        return Dialect::Ld;
    }
    let cc_marker = |a: &str| {
        a.starts_with("-Wl,")
            || a.starts_with("-fuse-ld=")
            || a.starts_with("--ld-path=")
            || a.starts_with("-B")
            || matches!(
                a,
                "-m64"
                    | "-nodefaultlibs"
                    | "-nostartfiles"
                    | "-no-pie"
                    | "-pie"
                    | "-fno-use-linker-plugin"
                    | "-Xlinker"
            )
    };
    if args.iter().any(|a| cc_marker(a)) {
        Dialect::Cc
    } else {
        Dialect::Go
    }
}

/// Translates a cc-driver line into ld words.
pub fn cc_to_ld(args: &[String], warn: &mut dyn FnMut(String)) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let a = a.as_str();
        if let Some(list) = a.strip_prefix("-Wl,") {
            out.extend(
                list.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        match a {
            "-Xlinker" => out.extend(it.next().cloned()),
            // Options of the driver itself: rlink is the linker, and its entry stub stands in
            // for the crt files these would add or remove.
            "-m64"
            | "-nodefaultlibs"
            | "-nostartfiles"
            | "-nostdlib"
            | "-fno-use-linker-plugin"
            | "-static-libgcc"
            | "-pthread"
            | "-no-canonical-prefixes" => {}
            "-B" => {
                it.next();
            }
            _ if a.starts_with("-fuse-ld=")
                || a.starts_with("--ld-path=")
                || a.starts_with("-B") => {}
            _ if a.starts_with("-march=")
                || a.starts_with("-mtune=")
                || a.starts_with("-O")
                || a.starts_with("-g") => {}
            "-rdynamic" => out.push("--export-dynamic".to_string()),
            "-o" | "-L" | "-l" => {
                out.push(a.to_string());
                out.extend(it.next().cloned());
            }
            "-pie" | "-no-pie" | "-static" | "-shared" | "-static-pie" | "-s" | "-v" => {
                out.push(a.to_string())
            }
            _ if a.starts_with("-l")
                || a.starts_with("-L")
                || a.starts_with("-o")
                || !a.starts_with('-')
                || a == "-" =>
            {
                out.push(a.to_string())
            }
            // rlink's own flags passed through rustc (`-C link-arg=-linkmode=external`).
            _ if a.starts_with("-linkmode=")
                || a.starts_with("-extld=")
                || a.starts_with("-tmpdir=") =>
            {
                out.push(a.to_string())
            }
            _ => warn(format!("ignoring unknown compiler-driver option {a}")),
        }
    }
    out
}

/// Parses a GNU ld line (after `-flavor gnu` and `@file` handling).
pub fn parse_ld(args: &[String], warn: &mut dyn FnMut(String)) -> Result<Command> {
    let mut link = LinkArgs::new();
    link.build_mode = BuildMode::Exe;
    let mut static_libs = false;
    let mut states: Vec<bool> = Vec::new();
    let mut runpaths: Vec<String> = Vec::new();
    let mut args = args;
    if args.first().map(String::as_str) == Some("-flavor") {
        args = args.get(2..).unwrap_or(&[]);
    }
    let mut it = args.iter();
    let mut saw_input = false;
    let mut version_only = false;
    while let Some(a) = it.next() {
        let a = a.as_str();
        // `--opt=value` and `-opt value` both exist for most options.
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with('-') => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = |what: &str| -> Result<String> {
            match inline.clone().or_else(|| it.next().cloned()) {
                Some(v) => Ok(v),
                None => bail!("{what}: missing argument"),
            }
        };
        match name {
            "-o" | "--output" => link.output = PathBuf::from(value(name)?),
            "-L" | "--library-path" => link.library_dirs.push(PathBuf::from(value(name)?)),
            "-l" | "--library" => {
                saw_input = true;
                let lib = value(name)?;
                link.inputs.push(library(lib, static_libs));
            }
            "-Bstatic" | "-static" | "-dn" | "-non_shared" => {
                // Before any input, -static asks for a fully static executable; later it only
                // means -Bstatic, as in GNU ld.
                if name == "-static" && !saw_input {
                    link.static_exe = true;
                }
                static_libs = true
            }
            "-Bdynamic" | "-dy" | "-call_shared" => static_libs = false,
            "--push-state" => states.push(static_libs),
            "--pop-state" => static_libs = states.pop().unwrap_or(false),
            "--as-needed" | "--no-as-needed" | "--start-group" | "--end-group" | "-(" | "-)" => {}
            "--eh-frame-hdr"
            | "--gc-sections"
            | "--no-undefined"
            | "--fatal-warnings"
            | "--color-diagnostics"
            | "-nostdlib"
            | "--enable-new-dtags"
            | "--disable-new-dtags"
            | "--allow-multiple-definition" => {}
            "--build-id"
            | "--hash-style"
            | "-O"
            | "--threads"
            | "--sysroot"
            | "--compress-debug-sections" => {
                let _ = inline;
            }
            "-plugin" | "-plugin-opt" | "--plugin" | "--plugin-opt" => {
                if inline.is_none() {
                    it.next();
                }
            }
            "-m" => {
                let emulation = value(name)?;
                if emulation != "elf_x86_64" {
                    bail!("-m {emulation}: rlink links elf_x86_64 only");
                }
            }
            "-z" => z_keyword(&value(name)?, warn),
            "-dynamic-linker" | "--dynamic-linker" | "-I" => link.interpreter = Some(value(name)?),
            "-pie" | "--pic-executable" => link.build_mode = BuildMode::Pie,
            "-no-pie" | "--no-pic-executable" => link.build_mode = BuildMode::Exe,
            "-shared" | "-Bshareable" => link.build_mode = BuildMode::CShared,
            "-soname" | "-h" | "--soname" => link.soname = Some(value(name)?),
            "-static-pie" => bail!("-static-pie: static executables are not implemented yet"),
            "-rpath" | "-R" => runpaths.push(value(name)?),
            "-s" | "--strip-all" => link.strip_symbols = true,
            "-S" | "--strip-debug" => link.strip_debug = true,
            "-e" | "--entry" => link.entry = Some(value(name)?),
            "--export-dynamic" | "-export-dynamic" | "-E" => link.export_dynamic = true,
            "--version-script" => link.version_script = Some(PathBuf::from(value(name)?)),
            "--defsym" | "--dynamic-list" => {
                if matches!(name, "--defsym" | "--dynamic-list") && inline.is_none() {
                    it.next();
                }
                warn(format!("{name} is not supported yet; ignoring"));
            }
            "-v" | "--version" | "-V" => version_only = true,
            "--help" => return Ok(Command::Help),
            "-linkmode" => {
                link.link_mode = match inline.as_deref() {
                    Some("external") => LinkMode::External,
                    Some("internal") => LinkMode::Internal,
                    _ => LinkMode::Auto,
                }
            }
            "-extld" => link.extld = shlex::split(&value(name)?).unwrap_or_default(),
            "-tmpdir" => link.tmpdir = Some(PathBuf::from(value(name)?)),
            _ if a.starts_with("-O") => {}
            _ if a.starts_with("-l") && a.len() > 2 => {
                saw_input = true;
                link.inputs.push(library(a[2..].to_string(), static_libs));
            }
            _ if a.starts_with("-L") && a.len() > 2 => {
                link.library_dirs.push(PathBuf::from(&a[2..]))
            }
            _ if a.starts_with("-z") && a.len() > 2 => z_keyword(&a[2..], warn),
            _ if a.starts_with("-o") && a.len() > 2 => link.output = PathBuf::from(&a[2..]),
            _ if a.starts_with("-m") && a.len() > 2 => {
                if &a[2..] != "elf_x86_64" {
                    bail!("{a}: rlink links elf_x86_64 only");
                }
            }
            _ if !a.starts_with('-') => {
                saw_input = true;
                link.inputs.push(InputArg::Path(PathBuf::from(a)));
            }
            _ => warn(format!("ignoring unknown linker option {a}")),
        }
    }
    if !runpaths.is_empty() {
        link.runpath = Some(runpaths.join(":"));
    }
    if version_only && link.inputs.is_empty() {
        return Ok(Command::Version);
    }
    if let Ok(mode) = std::env::var("RLINK_LINKMODE") {
        link.link_mode = match mode.as_str() {
            "external" => LinkMode::External,
            "internal" => LinkMode::Internal,
            _ => LinkMode::Auto,
        };
    }
    Ok(Command::Link(Box::new(link)))
}

fn library(name: String, static_only: bool) -> InputArg {
    if static_only {
        InputArg::StaticLibrary(name)
    } else {
        InputArg::Library(name)
    }
}

/// `-z KEYWORD`: rlink's defaults already are relro, now, noexecstack, separate code.
fn z_keyword(keyword: &str, warn: &mut dyn FnMut(String)) {
    match keyword {
        "relro"
        | "now"
        | "noexecstack"
        | "separate-code"
        | "noseparate-code"
        | "lazy"
        | "norelro"
        | "text"
        | "defs"
        | "nodelete"
        | "origin"
        | "notext"
        | "pack-relative-relocs"
        | "nopack-relative-relocs" => {}
        "relro,now" => {}
        _ if keyword.contains(',') => {
            for k in keyword.split(',') {
                z_keyword(k, warn);
            }
        }
        _ => warn(format!("ignoring -z {keyword}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn dialects() {
        assert_eq!(
            dialect("/usr/bin/rlink", &s(&["-o", "x", "a.o"])),
            Dialect::Go
        );
        assert_eq!(
            dialect("rlink", &s(&["-m64", "a.o", "-Wl,--as-needed"])),
            Dialect::Cc
        );
        assert_eq!(dialect("/tmp/b/ld", &s(&["-o", "x"])), Dialect::Ld);
        assert_eq!(dialect("ld.rlink", &s(&[])), Dialect::Ld);
        assert_eq!(dialect("x86_64-linux-gnu-ld", &s(&[])), Dialect::Ld);
        assert_eq!(
            dialect("rlink", &s(&["-flavor", "gnu", "a.o"])),
            Dialect::Ld
        );
        assert_eq!(
            dialect("rlink", &s(&["--eh-frame-hdr", "-m", "elf_x86_64", "a.o"])),
            Dialect::Ld
        );
        // clang --ld-path=rlink: an ld line that also holds -pie.
        assert_eq!(
            dialect(
                "rlink",
                &s(&["-pie", "--eh-frame-hdr", "-o", "x", "Scrt1.o"])
            ),
            Dialect::Ld
        );
    }

    #[test]
    fn rustc_cc_line() {
        let line = s(&[
            "-m64",
            "/tmp/r/symbols.o",
            "a.rcgu.o",
            "-Wl,--as-needed",
            "-Wl,-Bstatic",
            "libstd.rlib",
            "-Wl,-Bdynamic",
            "-lgcc_s",
            "-lc",
            "-L",
            "/tmp/r/raw-dylibs",
            "-B/sysroot/gcc-ld",
            "-fuse-ld=lld",
            "-Wl,--eh-frame-hdr",
            "-Wl,-z,noexecstack",
            "-L",
            "/sysroot/lib",
            "-o",
            "out",
            "-Wl,--gc-sections",
            "-pie",
            "-Wl,-z,relro,-z,now",
            "-nodefaultlibs",
            "-fnew-thing",
        ]);
        let mut warnings = Vec::new();
        let ld = cc_to_ld(&line, &mut |w| warnings.push(w));
        assert_eq!(
            warnings,
            vec!["ignoring unknown compiler-driver option -fnew-thing".to_string()]
        );
        let Command::Link(link) = parse_ld(&ld, &mut |w| warnings.push(w)).unwrap() else {
            panic!()
        };
        assert_eq!(link.output, PathBuf::from("out"));
        assert_eq!(link.build_mode, BuildMode::Pie);
        assert_eq!(
            link.inputs,
            vec![
                InputArg::Path("/tmp/r/symbols.o".into()),
                InputArg::Path("a.rcgu.o".into()),
                InputArg::Path("libstd.rlib".into()),
                InputArg::Library("gcc_s".into()),
                InputArg::Library("c".into()),
            ]
        );
        assert_eq!(
            link.library_dirs,
            vec![
                PathBuf::from("/tmp/r/raw-dylibs"),
                PathBuf::from("/sysroot/lib")
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn collect2_line() {
        let line = s(&[
            "-plugin",
            "/usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so",
            "-plugin-opt=-pass-through=-lgcc",
            "--build-id",
            "--eh-frame-hdr",
            "-m",
            "elf_x86_64",
            "--hash-style=gnu",
            "--as-needed",
            "-dynamic-linker",
            "/lib64/ld-linux-x86-64.so.2",
            "-pie",
            "-o",
            "prog",
            "Scrt1.o",
            "crti.o",
            "-L/usr/lib",
            "main.o",
            "--push-state",
            "-Bstatic",
            "-lfoo",
            "--pop-state",
            "-lgcc_s",
            "-l:libbar.so.1",
            "-z",
            "noexecstack",
            "-rpath",
            "/opt/a",
            "-rpath=/opt/b",
            "-e",
            "my_entry",
            "crtn.o",
        ]);
        let mut warnings = Vec::new();
        let Command::Link(link) = parse_ld(&line, &mut |w| warnings.push(w)).unwrap() else {
            panic!()
        };
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            link.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(link.build_mode, BuildMode::Pie);
        assert_eq!(link.runpath.as_deref(), Some("/opt/a:/opt/b"));
        assert_eq!(link.entry.as_deref(), Some("my_entry"));
        assert_eq!(
            link.inputs,
            vec![
                InputArg::Path("Scrt1.o".into()),
                InputArg::Path("crti.o".into()),
                InputArg::Path("main.o".into()),
                InputArg::StaticLibrary("foo".into()),
                InputArg::Library("gcc_s".into()),
                InputArg::Library(":libbar.so.1".into()),
                InputArg::Path("crtn.o".into()),
            ]
        );
    }

    #[test]
    fn version_probe_and_flavor() {
        assert_eq!(
            parse_ld(&s(&["--version"]), &mut |_| {}).unwrap(),
            Command::Version
        );
        assert_eq!(
            parse_ld(&s(&["-flavor", "gnu", "-v"]), &mut |_| {}).unwrap(),
            Command::Version
        );
        let Command::Link(l) =
            parse_ld(&s(&["-shared", "-soname", "libx.so.1", "a.o"]), &mut |_| {}).unwrap()
        else {
            panic!("a link")
        };
        assert_eq!(
            (l.build_mode, l.soname.as_deref()),
            (BuildMode::CShared, Some("libx.so.1"))
        );
        let e = parse_ld(&s(&["-m", "elf_i386"]), &mut |_| {}).unwrap_err();
        assert!(e.message().contains("elf_x86_64 only"), "{e}");
    }
}
