//! GNU linker scripts as they appear in library directories: `libc.so` is not a library but a
//! few lines of text naming the real ones (`GROUP ( libc.so.6 libc_nonshared.a AS_NEEDED (
//! ld-linux-x86-64.so.2 ) )`), and gcc's `libgcc_s.so` is `GROUP ( libgcc_s.so.1 -lgcc )`.
//!
//! rlink reads only the commands such scripts use. A script that lays out sections (`SECTIONS`,
//! `MEMORY`, symbol assignments) is a different job; it is refused with the line and the command
//! so the user knows why, rather than half-obeyed.

use crate::diag::{Error, Result};

/// One input a script names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptInput {
    /// A path as written: absolute, or relative (the caller searches for it the way GNU ld
    /// does: the current directory, then the library path).
    File { path: String, as_needed: bool },
    /// `-lNAME` inside the script; `name` is what follows `-l` (so `-l:libfoo.a` gives
    /// `:libfoo.a`, searched like the command-line form).
    Library { name: String, as_needed: bool },
}

/// What a library-directory script asks of the link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// `GROUP` and `INPUT` members in order. rlink searches every archive repeatedly anyway, so
    /// the grouping itself carries no extra meaning.
    pub inputs: Vec<ScriptInput>,
    /// `SEARCH_DIR` paths, in order.
    pub search_dirs: Vec<String>,
    /// The default BFD target name of the last `OUTPUT_FORMAT` (`elf64-x86-64`).
    pub output_format: Option<String>,
    /// The bodies of `VERSION { … }` commands: version-script text.
    pub versions: Vec<String>,
    /// Symbol assignments `NAME = VALUE;`, VALUE a number or a name (as `--defsym`).
    pub assignments: Vec<(String, String)>,
}

/// `GROUP ( AS_NEEDED ( … ) )` is as deep as real scripts go; this leaves room to spare.
const MAX_NESTING: usize = 16;

const SUPPORTED: &str =
    "GROUP, INPUT, AS_NEEDED, OUTPUT_FORMAT, OUTPUT_ARCH, SEARCH_DIR, VERSION and NAME = VALUE;";

/// Commands that start a GNU linker script. [`looks_like_script`] recognises all of them, so a
/// full script fails with "unsupported command" instead of "unknown file type".
const SCRIPT_COMMANDS: &[&str] = &[
    "GROUP",
    "INPUT",
    "AS_NEEDED",
    "OUTPUT_FORMAT",
    "OUTPUT_ARCH",
    "SEARCH_DIR",
    "SECTIONS",
    "MEMORY",
    "PHDRS",
    "ENTRY",
    "INCLUDE",
    "OUTPUT",
    "STARTUP",
    "TARGET",
    "VERSION",
    "PROVIDE",
    "PROVIDE_HIDDEN",
    "HIDDEN",
    "ASSERT",
    "EXTERN",
    "FORCE_COMMON_ALLOCATION",
    "INHIBIT_COMMON_ALLOCATION",
    "INSERT",
    "NOCROSSREFS",
    "REGION_ALIAS",
];

/// Parses a library-directory script; see the module comment for what is understood.
pub fn parse_script(text: &str) -> Result<Script> {
    let mut parser = Parser {
        lexer: Lexer::new(text),
        script: Script::default(),
    };
    parser.script()?;
    Ok(parser.script)
}

/// Cheap test whether a text file is a linker script: its first token, after comments, is a
/// linker-script command. Reads only that far.
pub fn looks_like_script(text: &str) -> bool {
    match Lexer::new(text).next_token() {
        Ok(Some(Token {
            kind: TokenKind::Word(word),
            ..
        })) => !word.quoted && SCRIPT_COMMANDS.contains(&word.text),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word<'t> {
    text: &'t str,
    /// `"quoted"` words are always file names, never commands or `-l` options.
    quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind<'t> {
    Word(Word<'t>),
    Open,
    Close,
    /// GNU ld allows a `;` after a top-level command.
    Semicolon,
}

#[derive(Debug, Clone, Copy)]
struct Token<'t> {
    kind: TokenKind<'t>,
    line: usize,
}

#[derive(Clone)]
struct Lexer<'t> {
    text: &'t str,
    pos: usize,
    line: usize,
}

impl<'t> Lexer<'t> {
    fn new(text: &'t str) -> Self {
        Lexer {
            text,
            pos: 0,
            line: 1,
        }
    }

    fn rest(&self) -> &'t [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    /// Moves past `n` bytes, counting the newlines among them.
    fn advance(&mut self, n: usize) {
        let skipped = self.rest().get(..n).unwrap_or_default();
        self.line += skipped.iter().filter(|&&b| b == b'\n').count();
        self.pos += skipped.len();
    }

    fn next_token(&mut self) -> Result<Option<Token<'t>>> {
        loop {
            let rest = self.rest();
            let Some(&first) = rest.first() else {
                return Ok(None);
            };
            if first.is_ascii_whitespace() || first == b',' {
                self.advance(1);
            } else if rest.starts_with(b"/*") {
                let start_line = self.line;
                let Some(end) = find(rest, b"*/", 2) else {
                    return Err(Error::new(format!(
                        "line {start_line}: unclosed comment (/* without */)"
                    )));
                };
                self.advance(end + 2);
            } else {
                break;
            }
        }
        let line = self.line;
        let rest = self.rest();
        let single = |lexer: &mut Self, kind| {
            lexer.advance(1);
            Ok(Some(Token { kind, line }))
        };
        match rest.first() {
            None => Ok(None),
            Some(b'(') => single(self, TokenKind::Open),
            Some(b')') => single(self, TokenKind::Close),
            Some(b';') => single(self, TokenKind::Semicolon),
            Some(b'"') => {
                let Some(len) = rest.iter().skip(1).position(|&b| b == b'"') else {
                    return Err(Error::new(format!(
                        "line {line}: unterminated quoted name (\" without closing \")"
                    )));
                };
                let start = self.pos + 1;
                let text = self.text.get(start..start + len).unwrap_or_default();
                self.advance(len + 2);
                let word = Word { text, quoted: true };
                Ok(Some(Token {
                    kind: TokenKind::Word(word),
                    line,
                }))
            }
            Some(_) => {
                let len = word_length(rest);
                let text = self.text.get(self.pos..self.pos + len).unwrap_or_default();
                self.advance(len);
                let word = Word {
                    text,
                    quoted: false,
                };
                Ok(Some(Token {
                    kind: TokenKind::Word(word),
                    line,
                }))
            }
        }
    }
}

/// An unquoted word runs to the next separator, parenthesis, quote, `;` or comment. Only ASCII
/// bytes end it, so the slice always falls on character boundaries.
fn word_length(rest: &[u8]) -> usize {
    let mut len = 0;
    while let Some(&b) = rest.get(len) {
        let ends = b.is_ascii_whitespace()
            || matches!(b, b',' | b'(' | b')' | b'"' | b';')
            || (b == b'/' && rest.get(len + 1) == Some(&b'*'));
        if ends && len > 0 {
            break;
        }
        len += 1;
    }
    len
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

struct Parser<'t> {
    lexer: Lexer<'t>,
    script: Script,
}

impl<'t> Parser<'t> {
    fn script(&mut self) -> Result<()> {
        while let Some(token) = self.lexer.next_token()? {
            let line = token.line;
            let command = match token.kind {
                TokenKind::Semicolon => continue,
                TokenKind::Word(word) if !word.quoted => word.text,
                TokenKind::Word(word) => {
                    return Err(Error::new(format!(
                        "line {line}: expected a linker script command, found \"{}\"",
                        word.text
                    )))
                }
                TokenKind::Open => {
                    return Err(Error::new(format!(
                        "line {line}: unexpected '(' where a command should start"
                    )))
                }
                TokenKind::Close => {
                    return Err(Error::new(format!(
                        "line {line}: unbalanced parentheses: ')' without '('"
                    )))
                }
            };
            match command {
                "GROUP" | "INPUT" => {
                    self.open(command, line)?;
                    self.inputs(command, line, false, 0)?;
                }
                // GNU ld accepts AS_NEEDED outside GROUP/INPUT too, meaning the same as inside.
                "AS_NEEDED" => {
                    self.open(command, line)?;
                    self.inputs(command, line, true, 0)?;
                }
                "OUTPUT_FORMAT" => {
                    let args = self.arguments(command, line)?;
                    // With three names (default, big-endian, little-endian) the first applies,
                    // as no -EB/-EL reaches a script.
                    match args.as_slice() {
                        [default] | [default, _, _] => {
                            self.script.output_format = Some(default.to_string());
                        }
                        _ => {
                            return Err(Error::new(format!(
                                "line {line}: OUTPUT_FORMAT takes one or three names, found {}",
                                args.len()
                            )))
                        }
                    }
                }
                "OUTPUT_ARCH" => {
                    let args = self.arguments(command, line)?;
                    if args.len() != 1 {
                        return Err(Error::new(format!(
                            "line {line}: OUTPUT_ARCH takes one name, found {}",
                            args.len()
                        )));
                    }
                }
                "SEARCH_DIR" => {
                    let args = self.arguments(command, line)?;
                    let [dir] = args.as_slice() else {
                        return Err(Error::new(format!(
                            "line {line}: SEARCH_DIR takes one path, found {}",
                            args.len()
                        )));
                    };
                    self.script.search_dirs.push(dir.to_string());
                }
                "VERSION" => {
                    let body = self.braced(line)?;
                    self.script.versions.push(body.to_string());
                }
                other => {
                    // `NAME = VALUE;` (spaced or not).
                    if let Some((name, value)) = other.split_once('=') {
                        let value = match value {
                            "" => self.word_after(line)?,
                            v => v.to_string(),
                        };
                        self.assign(name.to_string(), value, line)?;
                        continue;
                    }
                    let mut ahead = self.lexer.clone();
                    if let Some(Token {
                        kind:
                            TokenKind::Word(Word {
                                text,
                                quoted: false,
                            }),
                        ..
                    }) = ahead.next_token()?
                    {
                        if let Some(value) = text.strip_prefix('=') {
                            self.lexer = ahead;
                            let value = match value {
                                "" => self.word_after(line)?,
                                v => v.to_string(),
                            };
                            self.assign(other.to_string(), value, line)?;
                            continue;
                        }
                    }
                    return Err(Error::new(format!(
                        "line {line}: unsupported linker script command {other} (rlink reads \
                         {SUPPORTED})"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The word after `=` in an assignment.
    fn word_after(&mut self, line: usize) -> Result<String> {
        match self.lexer.next_token()? {
            Some(Token {
                kind: TokenKind::Word(w),
                ..
            }) => Ok(w.text.to_string()),
            _ => Err(Error::new(format!(
                "line {line}: expected a value after '=' in a symbol assignment"
            ))),
        }
    }

    /// Records `NAME = VALUE`, which must end with `;` (it may be glued to the value).
    fn assign(&mut self, name: String, value: String, line: usize) -> Result<()> {
        let name = name.trim().to_string();
        let (value, glued) = match value.strip_suffix(';') {
            Some(v) => (v.to_string(), true),
            None => (value, false),
        };
        if !glued {
            match self.lexer.next_token()? {
                Some(Token {
                    kind: TokenKind::Semicolon,
                    ..
                }) => {}
                _ => {
                    return Err(Error::new(format!(
                        "line {line}: expected ';' after the assignment to {name}"
                    )))
                }
            }
        }
        if name.is_empty() || value.is_empty() {
            return Err(Error::new(format!(
                "line {line}: a symbol assignment needs a name and a value"
            )));
        }
        self.script.assignments.push((name, value));
        Ok(())
    }

    /// The text between the braces after a command (`VERSION { … }`), nested braces
    /// included; the lexer moves past the closing brace.
    fn braced(&mut self, line: usize) -> Result<&'t str> {
        let rest = self.lexer.rest();
        let Some(open) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Err(Error::new(format!(
                "line {line}: expected '{{' after VERSION"
            )));
        };
        if rest[open] != b'{' {
            return Err(Error::new(format!(
                "line {line}: expected '{{' after VERSION"
            )));
        }
        let mut depth = 0usize;
        let mut i = open;
        while let Some(&b) = rest.get(i) {
            match b {
                b'/' if rest.get(i + 1) == Some(&b'*') => {
                    let Some(end) = find(rest, b"*/", i + 2) else {
                        return Err(Error::new(format!(
                            "line {line}: unclosed comment (/* without */)"
                        )));
                    };
                    i = end + 2;
                    continue;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let start = self.lexer.pos + open + 1;
                        let body = self.lexer.text.get(start..self.lexer.pos + i).unwrap_or("");
                        self.lexer.advance(i + 1);
                        return Ok(body);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(Error::new(format!(
            "line {line}: VERSION {{ without its closing '}}'"
        )))
    }

    fn open(&mut self, command: &str, line: usize) -> Result<()> {
        match self.lexer.next_token()? {
            Some(Token {
                kind: TokenKind::Open,
                ..
            }) => Ok(()),
            Some(token) => Err(Error::new(format!(
                "line {}: expected '(' after {command}",
                token.line
            ))),
            None => Err(Error::new(format!(
                "line {line}: expected '(' after {command}, found end of script"
            ))),
        }
    }

    /// The members of `GROUP(...)`, `INPUT(...)` or `AS_NEEDED(...)`, after the '('; nested
    /// `AS_NEEDED` marks its members. A list names at least one file (GNU ld's grammar), and
    /// nesting is bounded so a hostile script cannot exhaust the stack.
    fn inputs(&mut self, command: &str, line: usize, as_needed: bool, depth: usize) -> Result<()> {
        if depth >= MAX_NESTING {
            return Err(Error::new(format!(
                "line {line}: {command} nested more than {MAX_NESTING} deep"
            )));
        }
        let mut named = false;
        loop {
            let token = self
                .lexer
                .next_token()?
                .ok_or_else(|| unclosed(command, line))?;
            let word = match token.kind {
                TokenKind::Close if named => return Ok(()),
                TokenKind::Close => {
                    return Err(Error::new(format!(
                        "line {}: {command}( ) names no files",
                        token.line
                    )))
                }
                TokenKind::Word(word) => word,
                TokenKind::Open => {
                    return Err(Error::new(format!(
                        "line {}: unexpected '(' inside {command}",
                        token.line
                    )))
                }
                TokenKind::Semicolon => {
                    return Err(Error::new(format!(
                        "line {}: unexpected ';' inside {command}",
                        token.line
                    )))
                }
            };
            named = true;
            if !word.quoted && word.text == "AS_NEEDED" {
                self.open("AS_NEEDED", token.line)?;
                self.inputs("AS_NEEDED", token.line, true, depth + 1)?;
                continue;
            }
            let input = match word.text.strip_prefix("-l") {
                Some(name) if !word.quoted => {
                    if name.is_empty() {
                        return Err(Error::new(format!(
                            "line {}: -l without a library name inside {command}",
                            token.line
                        )));
                    }
                    ScriptInput::Library {
                        name: name.to_string(),
                        as_needed,
                    }
                }
                _ => ScriptInput::File {
                    path: word.text.to_string(),
                    as_needed,
                },
            };
            self.script.inputs.push(input);
        }
    }

    /// The plain arguments of a command such as `OUTPUT_FORMAT(a, b, c)`.
    fn arguments(&mut self, command: &str, line: usize) -> Result<Vec<&'t str>> {
        self.open(command, line)?;
        let mut args = Vec::new();
        loop {
            let token = self
                .lexer
                .next_token()?
                .ok_or_else(|| unclosed(command, line))?;
            match token.kind {
                TokenKind::Close => return Ok(args),
                TokenKind::Word(word) => args.push(word.text),
                TokenKind::Open | TokenKind::Semicolon => {
                    return Err(Error::new(format!(
                        "line {}: unexpected {} inside {command}",
                        token.line,
                        if token.kind == TokenKind::Open {
                            "'('"
                        } else {
                            "';'"
                        }
                    )))
                }
            }
        }
    }
}

fn unclosed(command: &str, line: usize) -> Error {
    Error::new(format!(
        "line {line}: unbalanced parentheses: {command}( is never closed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, as_needed: bool) -> ScriptInput {
        ScriptInput::File {
            path: path.to_string(),
            as_needed,
        }
    }

    fn library(name: &str, as_needed: bool) -> ScriptInput {
        ScriptInput::Library {
            name: name.to_string(),
            as_needed,
        }
    }

    fn error(text: &str) -> String {
        match parse_script(text) {
            Ok(s) => panic!("expected an error for {text:?}, got {s:?}"),
            Err(e) => e.message().to_string(),
        }
    }

    const LIBC_SO: &str = "/* GNU ld script\n   Use the shared library, but some functions are \
        only in\n   the static library, so try that secondarily.  */\n\
        OUTPUT_FORMAT(elf64-x86-64)\n\
        GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a  \
        AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )\n";

    #[test]
    fn glibc_libc_so() {
        assert!(looks_like_script(LIBC_SO));
        let s = parse_script(LIBC_SO).unwrap();
        assert_eq!(s.output_format.as_deref(), Some("elf64-x86-64"));
        assert_eq!(
            s.inputs,
            vec![
                file("/lib/x86_64-linux-gnu/libc.so.6", false),
                file("/usr/lib/x86_64-linux-gnu/libc_nonshared.a", false),
                file("/lib64/ld-linux-x86-64.so.2", true),
            ]
        );
        assert!(s.search_dirs.is_empty());
    }

    #[test]
    fn version_commands_and_assignments() {
        let s = parse_script(
            "VERSION { v1 { global: foo; /* } */ local: *; }; }\nbar = foo;\nbaz=0x10;\nq =r ;",
        )
        .unwrap();
        assert_eq!(
            s.versions,
            vec![" v1 { global: foo; /* } */ local: *; }; ".to_string()]
        );
        assert_eq!(
            s.assignments,
            vec![
                ("bar".to_string(), "foo".to_string()),
                ("baz".to_string(), "0x10".to_string()),
                ("q".to_string(), "r".to_string()),
            ]
        );
        for (bad, want) in [
            ("bar = foo", "expected ';'"),
            ("VERSION { v1 {", "without its closing"),
            ("VERSION { /*", "unclosed comment"),
            ("= foo;", "needs a name"),
        ] {
            let e = parse_script(bad).unwrap_err();
            assert!(e.message().contains(want), "{bad}: {}", e.message());
        }
    }

    #[test]
    fn gcc_libgcc_s_so() {
        let text = "/* GNU ld script\n   Use the shared library, but some functions are only \
                    in\n   the static library.  */\nGROUP ( libgcc_s.so.1 -lgcc )\n";
        assert!(looks_like_script(text));
        let s = parse_script(text).unwrap();
        assert_eq!(
            s.inputs,
            vec![file("libgcc_s.so.1", false), library("gcc", false)]
        );
        assert_eq!(s.output_format, None);
    }

    #[test]
    fn installed_scripts_parse() {
        for path in [
            "/usr/lib/x86_64-linux-gnu/libc.so",
            "/usr/lib/x86_64-linux-gnu/libm.so",
            "/usr/lib/gcc/x86_64-linux-gnu/12/libgcc_s.so",
        ] {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            if !looks_like_script(&text) {
                continue;
            }
            let s = parse_script(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(!s.inputs.is_empty(), "{path}");
        }
    }

    #[test]
    fn input_with_commas_and_semicolon() {
        let s = parse_script("INPUT(a.o, b.o,c.o ,-lfoo);\nINPUT(-l:libbar.a)").unwrap();
        assert_eq!(
            s.inputs,
            vec![
                file("a.o", false),
                file("b.o", false),
                file("c.o", false),
                library("foo", false),
                library(":libbar.a", false),
            ]
        );
    }

    #[test]
    fn nested_as_needed() {
        let s = parse_script("GROUP(a AS_NEEDED(b AS_NEEDED(-lc) d) e)\nAS_NEEDED(f)").unwrap();
        assert_eq!(
            s.inputs,
            vec![
                file("a", false),
                file("b", true),
                library("c", true),
                file("d", true),
                file("e", false),
                file("f", true),
            ]
        );
    }

    #[test]
    fn quoted_names_are_files() {
        let s = parse_script("INPUT(\"dir with space/lib(x).a\" \"-lnot\")").unwrap();
        assert_eq!(
            s.inputs,
            vec![file("dir with space/lib(x).a", false), file("-lnot", false)]
        );
    }

    #[test]
    fn format_arch_and_search_dir() {
        let s = parse_script(
            "OUTPUT_FORMAT(\"elf64-x86-64\", \"elf64-x86-64\", \"elf64-x86-64\")\n\
             OUTPUT_ARCH(i386:x86-64)\nSEARCH_DIR(\"=/usr/local/lib\"); SEARCH_DIR(/opt/lib)\n\
             INPUT(x/*comment*/y)",
        )
        .unwrap();
        assert_eq!(s.output_format.as_deref(), Some("elf64-x86-64"));
        assert_eq!(s.search_dirs, vec!["=/usr/local/lib", "/opt/lib"]);
        assert_eq!(s.inputs, vec![file("x", false), file("y", false)]);
    }

    #[test]
    fn unsupported_commands_name_line_and_command() {
        assert_eq!(
            error("/* x */\nOUTPUT_FORMAT(elf64-x86-64)\nSECTIONS { .text : { *(.text) } }"),
            "line 3: unsupported linker script command SECTIONS (rlink reads GROUP, INPUT, \
             AS_NEEDED, OUTPUT_FORMAT, OUTPUT_ARCH, SEARCH_DIR, VERSION and NAME = VALUE;)"
        );
        assert!(error("\n\nfoo + 1;").starts_with("line 3: unsupported linker script command foo"));
        assert!(error("ENTRY(_start)").contains("command ENTRY"));
    }

    #[test]
    fn malformed_scripts_report_lines() {
        assert_eq!(
            error("GROUP ( a\n b\n"),
            "line 1: unbalanced parentheses: GROUP( is never closed"
        );
        assert_eq!(
            error("INPUT(a)\n)"),
            "line 2: unbalanced parentheses: ')' without '('"
        );
        assert_eq!(
            error("INPUT(a)\n\n/* never ends"),
            "line 3: unclosed comment (/* without */)"
        );
        assert_eq!(
            error("\nINPUT(\"a b)"),
            "line 2: unterminated quoted name (\" without closing \")"
        );
        assert!(error("GROUP a").starts_with("line 1: expected '(' after GROUP"));
        assert!(error("GROUP").contains("found end of script"));
        assert!(error("OUTPUT_FORMAT(a, b)").contains("one or three"));
        assert!(error("INPUT(a (b))").contains("unexpected '('"));
        assert!(error("INPUT(-l)").contains("-l without"));
        assert_eq!(error("GROUP ( , , , )"), "line 1: GROUP( ) names no files");
        assert!(error("GROUP(a AS_NEEDED())").contains("AS_NEEDED( ) names no files"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let depth = 30_000;
        let text = format!(
            "GROUP ( {} x {} )",
            "AS_NEEDED ( ".repeat(depth),
            ") ".repeat(depth)
        );
        assert!(
            error(&text).contains("nested more than 16 deep"),
            "{}",
            error(&text)
        );
        let ok = format!(
            "GROUP ( {} x {} )",
            "AS_NEEDED ( ".repeat(15),
            ") ".repeat(15)
        );
        assert_eq!(parse_script(&ok).unwrap().inputs.len(), 1);
    }

    #[test]
    fn recognises_scripts_only() {
        assert!(looks_like_script("  /* c */ INPUT(x)"));
        assert!(looks_like_script("SECTIONS\n{\n}"));
        assert!(!looks_like_script(
            "cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\""
        ));
        assert!(!looks_like_script("\"GROUP\"(x)"));
        assert!(!looks_like_script(""));
        assert!(!looks_like_script("/* unterminated"));
        assert!(!looks_like_script("GROUPS(x)"));
    }

    #[test]
    fn hostile_text_never_panics() {
        let samples = [
            LIBC_SO,
            "INPUT(\"é\" ü/*x*/ö)",
            "((((",
            "))))",
            "\"",
            "/*",
            "/",
        ];
        for sample in samples {
            for end in 0..=sample.len() {
                if let Some(prefix) = sample.get(..end) {
                    let _ = parse_script(prefix);
                    let _ = looks_like_script(prefix);
                }
            }
        }
        assert_eq!(
            parse_script("INPUT(\"é\" ü/*x*/ö)").unwrap().inputs,
            vec![file("é", false), file("ü", false), file("ö", false)]
        );
    }
}
