//! The Go-style command line: `-flag=value` or `-flag value`, one dash or two, as Go's
//! `flag` package and cmd/link accept them, plus the Unix-linker habits rustc and build
//! systems rely on (`-lNAME`, `-LDIR`, `@response-file`).
//!
//! clap is not used here on purpose: it cannot read single-dash long flags (`-linkmode=…`)
//! or glued `-lm`, which are the whole point of a Go-style front door. The flag table below
//! is the single source of truth for both parsing and `--help`.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::diag::{Error, Result};
pub use crate::plan::{default_extld, BuildMode, InputArg, LinkArgs, LinkMode};

/// Whether a flag takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// `-s`, `-s=true`, `-s=false`.
    Bool,
    /// `-o FILE` or `-o=FILE`.
    Value,
}

/// One entry of a command's flag table.
#[derive(Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub arity: Arity,
    /// Shown in `--help` after the flag: `-o FILE`.
    pub value_name: &'static str,
    pub help: &'static str,
}

pub const fn flag(name: &'static str, value_name: &'static str, help: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        arity: Arity::Value,
        value_name,
        help,
    }
}

pub const fn switch(name: &'static str, help: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        arity: Arity::Bool,
        value_name: "",
        help,
    }
}

/// The link command's flags, in the order `--help` lists them.
pub static LINK_FLAGS: &[FlagSpec] = &[
    flag("o", "FILE", "write the output to FILE (default a.out)"),
    flag(
        "linkmode",
        "MODE",
        "internal, external or auto (default auto)",
    ),
    flag("buildmode", "MODE", "exe, pie or c-shared (default pie)"),
    flag(
        "extld",
        "CMD",
        "host linker driver for external linking (default $CC, else cc)",
    ),
    flag(
        "extldflags",
        "FLAGS",
        "extra flags for the host linker, split as a shell would",
    ),
    flag("tmpdir", "DIR", "keep external-link temporary files in DIR"),
    flag(
        "I",
        "PATH",
        "use PATH as the program interpreter (dynamic linker)",
    ),
    flag(
        "L",
        "DIR",
        "add DIR to the library search path (also -LDIR)",
    ),
    flag("l", "NAME", "link with libNAME (also -lNAME)"),
    flag("F", "DIR", "macOS: look for frameworks in DIR"),
    flag(
        "framework",
        "NAME",
        "macOS: link with NAME.framework (its exports from NAME.tbd)",
    ),
    flag(
        "weak_framework",
        "NAME",
        "macOS: -framework NAME, loaded weakly (the program runs without it)",
    ),
    flag(
        "directives",
        "FILE",
        "read cgo-style directives from a text file (repeatable)",
    ),
    flag(
        "r",
        "PATH",
        "set the run-time library search path (DT_RUNPATH), as Go's -r",
    ),
    switch("s", "omit the symbol table and debug information"),
    switch("w", "omit debug information"),
    switch("v", "print the link's decisions and the phases' timings"),
    flag("threads", "N", "use N threads (default: all cores)"),
    switch(
        "no-fork",
        "stay in the foreground until the clean-up is done (by default rlink exits as soon as \
         the output is written and frees its memory in the background, as mold and wild do)",
    ),
    flag(
        "target",
        "TRIPLE",
        "target triple (default: the first object's machine); a Linux one may end in a glibc \
         floor, as aarch64-unknown-linux-gnu.2.17",
    ),
    flag(
        "sysroot",
        "DIR",
        "look for the target's system libraries under DIR (rlink carries glibc's for Linux \
         targets when they are not there)",
    ),
    flag(
        "glibc",
        "X.Y",
        "the oldest glibc the output runs on: bundled glibc manifests bind each name to the \
         newest version X.Y had",
    ),
    switch("h", "print this help"),
    switch("help", "print this help"),
    switch("version", "print rlink's version"),
];

/// A command line item in the order it was written: order matters for a linker (`-l` after
/// the objects that need it, `-L` before lookups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Flag { name: &'static str, value: String },
    Positional(String),
}

/// Splits `args` against `specs`. Bool flags get the value `"true"` or `"false"`.
pub fn parse(args: &[String], specs: &'static [FlagSpec]) -> Result<Vec<Arg>> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.extend(iter.by_ref().map(|a| Arg::Positional(a.clone())));
            break;
        }
        let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) else {
            out.push(Arg::Positional(arg.clone()));
            continue;
        };
        let body = body.strip_prefix('-').unwrap_or(body);
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let spec = match specs.iter().find(|s| s.name == name) {
            Some(spec) => spec,
            None => match glued(body, specs) {
                // `-lm`, `-L/usr/lib`: Unix linkers' one-letter flags glued to their value.
                Some((spec, value)) => {
                    out.push(Arg::Flag {
                        name: spec.name,
                        value: value.to_string(),
                    });
                    continue;
                }
                None => bail!("unknown flag {arg} (see 'rlink -help')"),
            },
        };
        let value = match (spec.arity, inline) {
            (Arity::Bool, None) => "true".to_string(),
            (Arity::Bool, Some(v @ ("true" | "false" | "1" | "0"))) => if v == "true" || v == "1" {
                "true"
            } else {
                "false"
            }
            .to_string(),
            (Arity::Bool, Some(v)) => bail!("invalid boolean value {v:?} for flag -{name}"),
            (Arity::Value, Some(v)) => v.to_string(),
            (Arity::Value, None) => match iter.next() {
                Some(v) => v.clone(),
                None => bail!("flag needs an argument: -{name}"),
            },
        };
        out.push(Arg::Flag {
            name: spec.name,
            value,
        });
    }
    Ok(out)
}

/// Recognises `-lNAME` and `-LDIR`, the two flags Unix linkers take glued to their value. A
/// body holding `=` is a misspelt long flag (`-linkmod=internal`), not a library called
/// `inkmod=internal`; other letters are not glued, so `-rdynamic` is an unknown flag rather
/// than `-r dynamic`.
fn glued<'a>(body: &'a str, specs: &'static [FlagSpec]) -> Option<(&'static FlagSpec, &'a str)> {
    if body.contains('=') {
        return None;
    }
    let first = body.get(..1).filter(|f| *f == "l" || *f == "L")?;
    let spec = specs
        .iter()
        .find(|s| s.name == first && s.arity == Arity::Value)?;
    Some((spec, &body[1..]))
}

/// What the top-level command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Link(Box<LinkArgs>),
    Help,
    /// `--help` on a GNU ld line: the GNU ld options rlink reads.
    LdHelp,
    Version,
}

fn split_shell_words(flag: &str, text: &str) -> Result<Vec<String>> {
    match shlex::split(text) {
        Some(words) => Ok(words),
        None => bail!("-{flag}: unbalanced quotes or trailing backslash in {text:?}"),
    }
}

/// Parses the link command's arguments (after `@file` expansion).
pub fn parse_link_command(args: &[String]) -> Result<Command> {
    let mut link = LinkArgs::new();
    for arg in parse(args, LINK_FLAGS)? {
        let (name, value) = match arg {
            Arg::Positional(p) => {
                link.inputs.push(InputArg::Path(PathBuf::from(p)));
                continue;
            }
            Arg::Flag { name, value } => (name, value),
        };
        let on = value == "true";
        match name {
            "h" | "help" if on => return Ok(Command::Help),
            "version" if on => return Ok(Command::Version),
            "h" | "help" | "version" => {}
            "o" => link.output = PathBuf::from(value),
            "linkmode" => {
                link.link_mode = match value.as_str() {
                    "internal" => LinkMode::Internal,
                    "external" => LinkMode::External,
                    "auto" => LinkMode::Auto,
                    other => bail!(
                        "-linkmode: unknown link mode {other:?} (want internal, external or auto)"
                    ),
                }
            }
            "buildmode" => {
                link.build_mode = match value.as_str() {
                    "exe" => BuildMode::Exe,
                    "pie" => BuildMode::Pie,
                    "c-shared" => BuildMode::CShared,
                    other => bail!(
                        "-buildmode: unknown build mode {other:?} (want exe, pie or c-shared)"
                    ),
                }
            }
            "extld" => {
                link.extld = split_shell_words(name, &value)?;
                if link.extld.is_empty() {
                    bail!("-extld: empty command");
                }
            }
            "extldflags" => link.extldflags.extend(split_shell_words(name, &value)?),
            "tmpdir" => link.tmpdir = Some(PathBuf::from(value)),
            "I" => link.interpreter = Some(value),
            "L" => link.library_dirs.push(PathBuf::from(value)),
            "l" => {
                if value.is_empty() {
                    bail!("-l: empty library name");
                }
                link.inputs.push(InputArg::Library(value))
            }
            "F" => link.framework_dirs.push(PathBuf::from(value)),
            "framework" | "weak_framework" => link.inputs.push(InputArg::Framework {
                name: value,
                weak: name == "weak_framework",
            }),
            "directives" => link.directive_files.push(PathBuf::from(value)),
            "r" => link.runpath = Some(value),
            "s" => link.strip_symbols = on,
            "w" => link.strip_debug = on,
            "v" => link.verbose = if on { link.verbose + 1 } else { 0 },
            "threads" => link.threads = Some(parse_threads(&value)?),
            "no-fork" => link.no_fork = on,
            "target" => {
                link.target = Some(crate::target::Target::from_triple(&value)?);
                if let Some(floor) = crate::target::Target::glibc_floor_of(&value)? {
                    link.glibc_floor = Some(floor);
                }
            }
            "sysroot" => link.sysroot = Some(PathBuf::from(value)),
            "glibc" => {
                link.glibc_floor =
                    Some(crate::target::parse_glibc_version(&value).ok_or_else(|| {
                        crate::diag::Error::new(format!(
                            "-glibc={value}: want a release such as 2.17"
                        ))
                    })?)
            }
            _ => unreachable!("flag -{name} is in LINK_FLAGS but not handled"),
        }
    }
    Ok(Command::Link(Box::new(link)))
}

/// More threads than any machine rlink runs on has cores only cost memory and start-up time
/// (100,000 threads take minutes to start); more than this is refused.
pub const MAX_THREADS: usize = 1024;

/// `-threads N` / `--threads=N`: a whole number from 1 to [`MAX_THREADS`].
pub fn parse_threads(value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => bail!("-threads: want a whole number from 1 to {MAX_THREADS}, got {value:?}"),
    }
}

/// Formats a flag table for `--help`.
pub fn flag_help(specs: &[FlagSpec]) -> String {
    let mut out = String::new();
    let rows: Vec<(String, &str)> = specs
        .iter()
        .map(|s| {
            let left = match s.arity {
                Arity::Bool => format!("-{}", s.name),
                Arity::Value => format!("-{} {}", s.name, s.value_name),
            };
            (left, s.help)
        })
        .collect();
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (left, help) in rows {
        out.push_str(&format!("  {left:width$}  {help}\n"));
    }
    out
}

/// Expands `@file` arguments anywhere on the command line, recursively, the way GNU tools and
/// rustc's long command lines need: arguments are separated by white space; `\` escapes the
/// next character; single and double quotes group. rustc writes one argument per line with
/// spaces and backslashes escaped, which is a special case of this.
pub fn expand_response_files(args: &[String]) -> Result<Vec<String>> {
    expand_response_files_with(args, split_response_text)
}

/// How a response file's text splits into arguments.
pub type Splitter = fn(&str) -> std::result::Result<Vec<String>, String>;

/// As [`expand_response_files`], with another dialect's quoting rules.
pub fn expand_response_files_with(args: &[String], split: Splitter) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    expand_into(args, &mut out, 0, split)?;
    Ok(out)
}

/// Deep enough for any real build, shallow enough that a file naming itself ends quickly.
const MAX_RESPONSE_DEPTH: usize = 16;

fn expand_into(
    args: &[String],
    out: &mut Vec<String>,
    depth: usize,
    split: Splitter,
) -> Result<()> {
    for arg in args {
        let Some(path) = arg.strip_prefix('@').filter(|p| !p.is_empty()) else {
            out.push(arg.clone());
            continue;
        };
        if depth >= MAX_RESPONSE_DEPTH {
            bail!("{path}: response files nested more than {MAX_RESPONSE_DEPTH} deep");
        }
        let text = read_response_file(Path::new(path))?;
        let words = split(&text).map_err(|e| Error::new(format!("{path}: {e}")))?;
        expand_into(&words, out, depth + 1, split)?;
    }
    Ok(())
}

fn read_response_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(format!(
            "{}: cannot read response file: {e}",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(format!(
            "{}: response file is not valid UTF-8",
            path.display()
        ))
    })
}

/// Splits response-file text into arguments (see [`expand_response_files`]).
pub fn split_response_text(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    let mut line = 1;
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        match (quote, c) {
            (_, '\\') => match chars.next() {
                // No argument holds a newline; a backslash there is a broken file (one cut
                // short, or a line continuation no tool writes).
                Some('\n') | None => {
                    return Err(format!("line {line}: backslash at the end of a line"))
                }
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
            },
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".to_string());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn link(args: &[&str]) -> LinkArgs {
        match parse_link_command(&strings(args)).expect("parses") {
            Command::Link(l) => *l,
            other => panic!("expected a link, got {other:?}"),
        }
    }

    #[test]
    fn both_value_spellings_and_dash_counts() {
        let a = link(&[
            "-o",
            "x",
            "--linkmode=internal",
            "-buildmode",
            "exe",
            "--tmpdir",
            "/t",
        ]);
        assert_eq!(a.output, PathBuf::from("x"));
        assert_eq!(a.link_mode, LinkMode::Internal);
        assert_eq!(a.build_mode, BuildMode::Exe);
        assert_eq!(a.tmpdir, Some(PathBuf::from("/t")));
        let b = link(&["-o=y", "-linkmode", "external"]);
        assert_eq!(b.output, PathBuf::from("y"));
        assert_eq!(b.link_mode, LinkMode::External);
    }

    #[test]
    fn defaults() {
        let a = link(&["main.o"]);
        assert_eq!(a.output, PathBuf::from("a.out"));
        assert_eq!(a.link_mode, LinkMode::Auto);
        assert_eq!(a.build_mode, BuildMode::Pie);
        assert_eq!(a.inputs, vec![InputArg::Path("main.o".into())]);
    }

    #[test]
    fn libraries_keep_their_place_among_inputs() {
        let a = link(&["a.o", "-lm", "-L/opt/lib", "-l", "c", "b.rlib", "-L", "/x"]);
        assert_eq!(
            a.inputs,
            vec![
                InputArg::Path("a.o".into()),
                InputArg::Library("m".into()),
                InputArg::Library("c".into()),
                InputArg::Path("b.rlib".into()),
            ]
        );
        assert_eq!(
            a.library_dirs,
            vec![PathBuf::from("/opt/lib"), PathBuf::from("/x")]
        );
    }

    #[test]
    fn extld_and_extldflags_split_like_a_shell() {
        let a = link(&["-extld=ccache clang", "-extldflags", "-Wl,-z,now '-DA B'"]);
        assert_eq!(a.extld, strings(&["ccache", "clang"]));
        assert_eq!(a.extldflags, strings(&["-Wl,-z,now", "-DA B"]));
        let e = parse_link_command(&strings(&["-extldflags='oops"])).unwrap_err();
        assert!(e.message().contains("unbalanced quotes"), "{e}");
    }

    #[test]
    fn bool_flags_and_counts() {
        let a = link(&[
            "-s",
            "-w=false",
            "-v",
            "-v",
            "-threads=3",
            "-I",
            "/lib/ld.so",
        ]);
        assert!(a.strip_symbols);
        assert!(!a.strip_debug);
        assert_eq!(a.verbose, 2);
        assert_eq!(a.threads, Some(3));
        assert_eq!(a.interpreter.as_deref(), Some("/lib/ld.so"));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(
            parse_link_command(&strings(&["-h"])).unwrap(),
            Command::Help
        );
        assert_eq!(
            parse_link_command(&strings(&["--help"])).unwrap(),
            Command::Help
        );
        assert_eq!(
            parse_link_command(&strings(&["--version"])).unwrap(),
            Command::Version
        );
    }

    #[test]
    fn errors_name_the_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["-frobnicate"], "unknown flag -frobnicate"),
            (&["--linkmod=internal"], "unknown flag --linkmod=internal"),
            (&["-linkmode=sideways"], "unknown link mode \"sideways\""),
            (&["-buildmode=shared"], "unknown build mode \"shared\""),
            (&["-o"], "flag needs an argument: -o"),
            (&["-threads=0"], "-threads"),
            (&["-threads=100000"], "from 1 to 1024"),
            (&["-s=maybe"], "invalid boolean value"),
            (&["-rdynamic"], "unknown flag -rdynamic"),
        ];
        for (args, want) in cases {
            let e = parse_link_command(&strings(args)).unwrap_err();
            assert!(e.message().contains(want), "{args:?}: {e}");
        }
    }

    #[test]
    fn double_dash_ends_flags() {
        let a = link(&["--", "-weird.o"]);
        assert_eq!(a.inputs, vec![InputArg::Path("-weird.o".into())]);
    }

    #[test]
    fn response_text_as_rustc_writes_it() {
        let text = "-m64\n/tmp/my\\ dir/a.o\nC:\\\\x\n\"quoted arg\"\n'single'\n\n";
        assert_eq!(
            split_response_text(text).unwrap(),
            strings(&["-m64", "/tmp/my dir/a.o", "C:\\x", "quoted arg", "single"])
        );
        assert!(split_response_text("\"open").is_err());
        assert_eq!(
            split_response_text("end\\").unwrap_err(),
            "line 1: backslash at the end of a line"
        );
        assert_eq!(
            split_response_text("a.o\nx.o\\\n").unwrap_err(),
            "line 2: backslash at the end of a line"
        );
        assert_eq!(split_response_text("''").unwrap(), strings(&[""]));
    }

    #[test]
    fn response_files_expand_anywhere_and_recursively() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::write(&inner, "-lm\n").unwrap();
        let outer = dir.path().join("outer");
        std::fs::write(&outer, format!("a.o\n@{}\n", inner.display())).unwrap();
        let args = strings(&["-o", "x", &format!("@{}", outer.display()), "b.o"]);
        assert_eq!(
            expand_response_files(&args).unwrap(),
            strings(&["-o", "x", "a.o", "-lm", "b.o"])
        );

        let selfref = dir.path().join("self");
        std::fs::write(&selfref, format!("@{}\n", selfref.display())).unwrap();
        let e = expand_response_files(&[format!("@{}", selfref.display())]).unwrap_err();
        assert!(e.message().contains("nested more than"), "{e}");
        let e = expand_response_files(&strings(&["@/nonexistent/rsp"])).unwrap_err();
        assert!(e.message().contains("cannot read response file"), "{e}");
    }

    #[test]
    fn help_lists_every_flag() {
        let help = flag_help(LINK_FLAGS);
        for spec in LINK_FLAGS {
            assert!(help.contains(&format!("-{}", spec.name)), "{}", spec.name);
        }
    }
}
