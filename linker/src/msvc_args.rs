//! The link.exe front door: the line rustc passes for `*-windows-msvc` targets
//! (`/NOLOGO objects rlibs kernel32.lib … /defaultlib:msvcrt /NXCOMPAT /OUT:x.exe /OPT:REF,ICF
//! /DEBUG`), spoken when rlink runs as `link`, `lld-link` or `rlink-link`, under `-flavor link`,
//! or when the line starts with a link.exe option. Options start with `/` or `-`, their names
//! are case-insensitive, and a value follows a colon. It ends in the same [`LinkArgs`] as the
//! other front doors.
//!
//! A `NAME.lib` that is not a file (in the current directory or on `/LIBPATH`) names a
//! Windows library rlink binds through its bundled DLL manifests, as `-lNAME` does. An option
//! that would change the output and that rlink does not implement is an error; the few that
//! only ask for something rlink cannot write (a PDB) are warnings.

use std::path::{Path, PathBuf};

use crate::args::{BuildMode, Command, InputArg, LinkArgs};
use crate::bail;
use crate::diag::Result;
use crate::target::Target;

/// Whether an invocation speaks link.exe's dialect.
pub fn speaks_link(program: &str, args: &[String]) -> bool {
    let name = Path::new(program)
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(name.as_str(), "link" | "lld-link" | "rlink-link") {
        return true;
    }
    match args {
        [flavor, value, ..] if flavor == "-flavor" => value.eq_ignore_ascii_case("link"),
        [first, ..] => option_name(first).is_some_and(|(name, _)| KNOWN.contains(&name.as_str())),
        [] => false,
    }
}

/// `/NAME[:value]` or `-NAME[:value]`, the name lower-cased; `None` for what is not an option
/// (an input path, even an absolute one).
fn option_name(arg: &str) -> Option<(String, Option<&str>)> {
    let rest = arg.strip_prefix('/').or_else(|| arg.strip_prefix('-'))?;
    let (name, value) = match rest.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (rest, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((name.to_ascii_lowercase(), value))
}

/// The options this front door knows, to recognise a link.exe line by its first word.
const KNOWN: &[&str] = &[
    "nologo",
    "out",
    "libpath",
    "defaultlib",
    "nodefaultlib",
    "entry",
    "subsystem",
    "dll",
    "def",
    "export",
    "opt",
    "debug",
    "pdb",
    "pdbaltpath",
    "machine",
    "dynamicbase",
    "highentropyva",
    "nxcompat",
    "stack",
    "manifest",
    "manifestuac",
    "manifestfile",
    "include",
    "alternatename",
    "merge",
    "wx",
    "ignore",
    "incremental",
    "largeaddressaware",
    "natvis",
    "verbose",
    "version",
    "help",
];

/// `from=to`, both sides non-empty.
fn pair(arg: &str, v: &str) -> Result<(String, String)> {
    match v.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((from.to_string(), to.to_string()))
        }
        _ => bail!("{arg}: wants from=to after the colon"),
    }
}

/// Parses a link.exe line (after `@file` handling).
pub fn parse_link(args: &[String], warn: &mut dyn FnMut(String)) -> Result<Command> {
    let args = match args {
        [flavor, value, rest @ ..] if flavor == "-flavor" && value.eq_ignore_ascii_case("link") => {
            rest
        }
        _ => args,
    };
    let mut link = LinkArgs::new();
    link.target = Some(Target::from_triple("x86_64-pc-windows-msvc")?);
    let mut libraries: Vec<String> = Vec::new();
    let mut default_libs: Vec<String> = Vec::new();
    let mut no_default_libs: Option<Vec<String>> = None;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut warned_debug = false;
    for arg in args {
        let Some((name, value)) = option_name(arg) else {
            // An input: a file, or a Windows library named by its .lib.
            let lower = arg.to_ascii_lowercase();
            if lower.ends_with(".lib") && !Path::new(arg).is_file() {
                libraries.push(arg[..arg.len() - 4].to_string());
            } else {
                paths.push(PathBuf::from(arg));
                link.inputs.push(InputArg::Path(PathBuf::from(arg)));
            }
            continue;
        };
        let need = |what: &str| -> Result<&str> {
            match value {
                Some(v) if !v.is_empty() => Ok(v),
                _ => bail!("{arg}: wants {what} after a colon"),
            }
        };
        match name.as_str() {
            "out" => link.output = PathBuf::from(need("a file name")?),
            "libpath" => link.library_dirs.push(PathBuf::from(need("a directory")?)),
            "defaultlib" => {
                let lib = need("a library")?;
                default_libs.push(lib.trim_end_matches(".lib").trim_end_matches(".LIB").into());
            }
            "nodefaultlib" => match value {
                None | Some("") => no_default_libs = Some(Vec::new()),
                Some(lib) => {
                    let lib = lib.trim_end_matches(".lib").trim_end_matches(".LIB");
                    if let Some(list) = no_default_libs.as_mut() {
                        if !list.is_empty() {
                            list.push(lib.to_string());
                        }
                    } else {
                        no_default_libs = Some(vec![lib.to_string()]);
                    }
                }
            },
            "entry" => link.entry = Some(need("a symbol")?.to_string()),
            "subsystem" => {
                let v = need("a subsystem")?;
                let kind = v.split(',').next().unwrap_or("").to_ascii_lowercase();
                match kind.as_str() {
                    "console" => link.windows_gui = false,
                    "windows" => link.windows_gui = true,
                    _ => bail!("{arg}: rlink writes console and windows (GUI) programs only"),
                }
            }
            "dll" => link.build_mode = BuildMode::CShared,
            "machine" => {
                let m = need("a machine")?.to_ascii_lowercase();
                if m != "x64" && m != "amd64" {
                    bail!("{arg}: rlink links x64 Windows images only");
                }
            }
            "opt" => {
                for o in need("options")?.split(',') {
                    match o.to_ascii_lowercase().as_str() {
                        // rlink always drops unreferenced COMDATs; folding identical ones
                        // (ICF) and branch relaxation (LBR) would only shrink the image.
                        "ref" | "noref" | "icf" | "noicf" | "lbr" | "nolbr" => {}
                        other if other.starts_with("icf=") => {}
                        other => bail!("{arg}: unknown /OPT option {other}"),
                    }
                }
            }
            "debug" | "pdb" | "pdbaltpath" | "natvis" => {
                if !warned_debug && name == "debug" {
                    warn(format!(
                        "{arg}: rlink writes no PDB; the image carries no debug information"
                    ));
                    warned_debug = true;
                }
            }
            "dynamicbase" | "highentropyva" | "nxcompat" => {
                if value.is_some_and(|v| v.eq_ignore_ascii_case("no")) {
                    bail!("{arg}: rlink always writes relocatable, NX-compatible images");
                }
            }
            "nologo" | "wx" | "ignore" | "incremental" | "largeaddressaware" | "manifest"
            | "manifestuac" | "manifestfile" | "verbose" => {}
            "version" => return Ok(Command::Version),
            "help" => return Ok(Command::Help),
            "export" => link
                .exports
                .push(crate::exports::parse_export_option(need("an export")?)?),
            "def" => crate::exports::read_def_into(&mut link, need("a .def file")?)?,
            "stack" => {
                let v = need("a size")?;
                link.stack = Some(
                    crate::exports::parse_sizes(v)
                        .ok_or_else(|| crate::diag::Error::new(format!("{arg}: bad size")))?,
                );
            }
            "include" => link.include_symbols.push(need("a symbol")?.to_string()),
            "merge" => link.section_merges.push(pair(arg, need("from=to")?)?),
            "alternatename" => link.alternate_names.push(pair(arg, need("from=to")?)?),
            _ => bail!("unsupported option: {arg}"),
        }
    }
    // Default libraries come after every input, minus the ones /NODEFAULTLIB removes.
    let removed = |lib: &str| match &no_default_libs {
        Some(list) if list.is_empty() => true,
        Some(list) => list.iter().any(|l| l.eq_ignore_ascii_case(lib)),
        None => false,
    };
    for lib in libraries
        .into_iter()
        .chain(default_libs.into_iter().filter(|l| !removed(l)))
    {
        if !link
            .inputs
            .iter()
            .any(|i| matches!(i, InputArg::Library(l) if l.eq_ignore_ascii_case(&lib)))
        {
            link.inputs.push(InputArg::Library(lib));
        }
    }
    if link.output == Path::new("a.out") {
        // link.exe names the output after the first input.
        if let Some(first) = paths.first() {
            let ext = if link.build_mode == BuildMode::CShared {
                "dll"
            } else {
                "exe"
            };
            link.output = first.with_extension(ext);
        }
    }
    Ok(Command::Link(Box::new(link)))
}

/// Splits a link.exe response file the way Windows splits a command line: words are separated
/// by white space; `"` starts and ends a quoted run; backslashes are literal except before a
/// `"`, where each pair is one backslash and an odd one makes the quote literal.
pub fn split_response_text(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let start = i;
                while i < chars.len() && chars[i] == '\\' {
                    i += 1;
                }
                let n = i - start;
                in_word = true;
                if chars.get(i) == Some(&'"') {
                    word.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        word.push('"');
                        i += 1;
                    }
                } else {
                    word.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            '"' => {
                // `""` inside a quoted run is a literal quote, as the C runtime reads it.
                if quoted && chars.get(i + 1) == Some(&'"') {
                    word.push('"');
                    i += 1;
                } else {
                    quoted = !quoted;
                }
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    if quoted {
        return Err("a quoted argument does not end".to_string());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rustc_msvc_line() {
        let line = s(&[
            "/NOLOGO",
            "symbols.o",
            "main.o",
            "kernel32.lib",
            "kernel32.lib",
            "ntdll.lib",
            "/defaultlib:msvcrt",
            "/NXCOMPAT",
            "/OUT:hello.exe",
            "/OPT:REF,ICF",
            "/DEBUG",
            "/PDBALTPATH:%_PDB%",
        ]);
        assert!(speaks_link("rlink", &line));
        let mut warnings = Vec::new();
        let Command::Link(l) = parse_link(&line, &mut |w| warnings.push(w)).unwrap() else {
            panic!()
        };
        assert_eq!(l.output, PathBuf::from("hello.exe"));
        let libs: Vec<&str> = l
            .inputs
            .iter()
            .filter_map(|i| match i {
                InputArg::Library(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(libs, ["kernel32", "ntdll", "msvcrt"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(l.target.unwrap().to_string(), "x86_64-pc-windows-msvc");
    }

    #[test]
    fn response_file_quoting() {
        let words = split_response_text(
            "/NOLOGO \"C:\\dir with space\\a.obj\" C:\\x\\b.obj\r\n\"/OUT:q\\\"uote.exe\" \"a\"\"b\" \\\\\"c d\"",
        )
        .unwrap();
        assert_eq!(
            words,
            [
                "/NOLOGO",
                "C:\\dir with space\\a.obj",
                "C:\\x\\b.obj",
                "/OUT:q\"uote.exe",
                "a\"b",
                "\\c d"
            ]
        );
        assert!(split_response_text("\"open").is_err());
    }

    #[test]
    fn dialect_and_errors() {
        assert!(speaks_link("lld-link", &s(&["a.obj"])));
        assert!(speaks_link("rlink", &s(&["-flavor", "link", "a.obj"])));
        assert!(!speaks_link("rlink", &s(&["/tmp/a.o", "-o", "x"])));
        assert!(!speaks_link("rlink", &s(&["-o", "x", "a.o"])));
        let e = parse_link(&s(&["/OUT:x.exe", "/STACK:lots", "a.obj"]), &mut |_| {});
        assert!(e.is_err());
        let e = parse_link(
            &s(&["/OUT:x.exe", "/ALTERNATENAME:a", "a.obj"]),
            &mut |_| {},
        );
        assert!(e.is_err());
        let e = parse_link(&s(&["/FROBNICATE", "a.obj"]), &mut |_| {}).unwrap_err();
        assert!(
            e.to_string().contains("unsupported option: /FROBNICATE"),
            "{e}"
        );
        let Command::Link(l) = parse_link(
            &s(&["-out:x.exe", "/NODEFAULTLIB", "/defaultlib:msvcrt", "a.obj"]),
            &mut |_| {},
        )
        .unwrap() else {
            panic!()
        };
        assert!(!l.inputs.iter().any(|i| matches!(i, InputArg::Library(_))));
    }
}
