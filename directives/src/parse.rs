//! The directive parser: text → [`Directive`]s.
//!
//! The accepted shapes are those of Go's compiler (`pragcgo` in cmd/compile), which is what
//! decides which `//go:cgo_*` lines reach Go's linker; the tokenizer is stricter than Go's
//! `pragmaFields` because a directive section is hostile input and Go's quietly dropping an
//! unterminated quote would hide mistakes.

use std::fmt;

/// One parsed directive with the 1-based line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub kind: DirectiveKind,
    pub line: usize,
}

/// What a directive says. [`Display`](fmt::Display) writes the canonical line back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectiveKind {
    /// `cgo_import_dynamic local [remote ["library"]]`; `remote` defaults to `local`. `remote`
    /// is split at the first `#` or `@` into name and version (Go's `name#VERSION`, cgo's
    /// `name@VERSION`). `library` is `None` when the fourth field is absent and `Some("")` when
    /// it is given as `""`.
    ImportDynamic {
        local: String,
        remote: String,
        version: Option<String>,
        library: Option<String>,
    },
    /// `cgo_import_dynamic _ _ "library"`: only records the library as needed.
    NeededLibrary { library: String },
    /// `cgo_import_static local`
    ImportStatic { local: String },
    /// `cgo_export_static local [remote]`; `remote` defaults to `local`.
    ExportStatic { local: String, remote: String },
    /// `cgo_export_dynamic local [remote]`; `remote` defaults to `local`.
    ExportDynamic { local: String, remote: String },
    /// `cgo_dynamic_linker "path"`
    DynamicLinker { path: String },
    /// `cgo_ldflag "arg"`
    LdFlag { arg: String },
}

/// A directive that could not be parsed, with the 1-based line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    /// The error prefixed by where the text came from, e.g. `.rlink.directives:3: invalid cgo
    /// directive: …` for origin `.rlink.directives`; the caller adds the file part in front.
    pub fn with_origin(&self, origin: &str) -> String {
        format!("{origin}:{self}")
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: invalid cgo directive: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole directive section or file.
///
/// NUL bytes end a directive without starting a new line number: they are the padding between
/// statics that the compiler aligned and the linker concatenated into one section. Blank lines
/// are ignored and `\r\n` line ends are accepted.
pub fn parse(text: &str) -> Result<Vec<Directive>, ParseError> {
    let mut directives = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        parse_line(line, index + 1, &mut directives)?;
    }
    Ok(directives)
}

/// Like [`parse`], for raw section bytes; invalid UTF-8 is an error on the line it occurs in.
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Directive>, ParseError> {
    let mut directives = Vec::new();
    for (index, raw) in bytes.split(|&byte| byte == b'\n').enumerate() {
        let line = std::str::from_utf8(raw).map_err(|error| ParseError {
            line: index + 1,
            message: format!(
                "invalid UTF-8 at byte {} of the line",
                error.valid_up_to() + 1
            ),
        })?;
        parse_line(line, index + 1, &mut directives)?;
    }
    Ok(directives)
}

fn parse_line(line: &str, number: usize, out: &mut Vec<Directive>) -> Result<(), ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    for piece in line.split('\0') {
        let error = |message| ParseError {
            line: number,
            message,
        };
        let fields = split_fields(piece).map_err(error)?;
        if fields.is_empty() {
            continue;
        }
        let kind = parse_fields(&fields).map_err(error)?;
        out.push(Directive { kind, line: number });
    }
    Ok(())
}

/// One whitespace-separated field; `quoted` says whether it was written in double quotes,
/// because Go's shapes require some fields quoted and forbid quotes on others.
#[derive(Clone, Copy, Debug)]
struct Field<'a> {
    text: &'a str,
    quoted: bool,
}

fn is_separator(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn split_fields(mut rest: &str) -> Result<Vec<Field<'_>>, String> {
    let mut fields = Vec::new();
    loop {
        rest = rest.trim_start_matches(is_separator);
        if rest.is_empty() {
            return Ok(fields);
        }
        let field = if let Some(after_quote) = rest.strip_prefix('"') {
            let Some(end) = after_quote.find('"') else {
                return Err(format!("unterminated quoted string: {rest}"));
            };
            let text = &after_quote[..end];
            rest = &after_quote[end + 1..];
            // `"a"b` would be one field in a shell and two in Go; refuse to guess.
            if rest.starts_with(|c: char| !is_separator(c)) {
                return Err(format!("missing space after quoted string \"{text}\""));
            }
            Field { text, quoted: true }
        } else {
            let end = rest.find(is_separator).unwrap_or(rest.len());
            let text = &rest[..end];
            rest = &rest[end..];
            Field {
                text,
                quoted: false,
            }
        };
        check_field_characters(field.text)?;
        fields.push(field);
    }
}

/// Names end up in symbol tables, DT_NEEDED strings and host linker command lines, where a quote
/// or a control character is either invalid or a way to smuggle in something else.
fn check_field_characters(text: &str) -> Result<(), String> {
    if let Some(bad) = text.chars().find(|&c| c == '"' || c.is_control()) {
        let what = if bad == '"' {
            "'\"'".to_string()
        } else {
            format!("control character U+{:04X}", u32::from(bad))
        };
        return Err(format!("invalid {what} in name {text:?}"));
    }
    Ok(())
}

/// The directives, named by their canonical verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    ImportDynamic,
    ImportStatic,
    ExportStatic,
    ExportDynamic,
    DynamicLinker,
    LdFlag,
}

impl Verb {
    fn from_name(name: &str) -> Option<Verb> {
        Some(match name {
            "cgo_import_dynamic" => Verb::ImportDynamic,
            "cgo_import_static" => Verb::ImportStatic,
            "cgo_export_static" => Verb::ExportStatic,
            "cgo_export_dynamic" => Verb::ExportDynamic,
            "cgo_dynamic_linker" => Verb::DynamicLinker,
            "cgo_ldflag" => Verb::LdFlag,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Verb::ImportDynamic => "cgo_import_dynamic",
            Verb::ImportStatic => "cgo_import_static",
            Verb::ExportStatic => "cgo_export_static",
            Verb::ExportDynamic => "cgo_export_dynamic",
            Verb::DynamicLinker => "cgo_dynamic_linker",
            Verb::LdFlag => "cgo_ldflag",
        }
    }

    /// The arguments part of Go's usage message for this verb.
    fn usage_arguments(self) -> &'static str {
        match self {
            Verb::ImportDynamic => "local [remote [\"library\"]]",
            Verb::ImportStatic => "local",
            Verb::ExportStatic | Verb::ExportDynamic => "local [remote]",
            Verb::DynamicLinker => "\"path\"",
            Verb::LdFlag => "\"arg\"",
        }
    }

    fn usage(self) -> String {
        let name = self.name();
        format!("{name}: usage: {name} {}", self.usage_arguments())
    }
}

/// Splits the verb (in any of its spellings) from the arguments.
fn split_verb<'f, 'a>(fields: &'f [Field<'a>]) -> Result<(Verb, &'f [Field<'a>]), String> {
    let unknown = |name: &str| format!("unknown directive {name:?}");
    let Some((first, rest)) = fields.split_first() else {
        return Err("empty directive".to_string());
    };
    if first.quoted {
        return Err(unknown(first.text));
    }
    // Go kept `#pragma dynimport`/`dynexport` from its C compiler days for SWIG.
    if first.text == "#pragma" {
        let Some((second, rest)) = rest.split_first() else {
            return Err(unknown(first.text));
        };
        let verb = match (second.quoted, second.text) {
            (false, "dynimport") => Verb::ImportDynamic,
            (false, "dynexport") => Verb::ExportDynamic,
            _ => return Err(unknown(&format!("#pragma {}", second.text))),
        };
        return Ok((verb, rest));
    }
    let name = first.text.strip_prefix("//go:").unwrap_or(first.text);
    match Verb::from_name(name) {
        Some(verb) => Ok((verb, rest)),
        None => Err(unknown(first.text)),
    }
}

fn parse_fields(fields: &[Field<'_>]) -> Result<DirectiveKind, String> {
    let (verb, args) = split_verb(fields)?;
    let usage = || verb.usage();
    let owned = |field: &Field<'_>| field.text.to_string();
    Ok(match verb {
        Verb::ExportStatic | Verb::ExportDynamic => {
            let (local, remote) = match args {
                [local] if !local.quoted => (local, local),
                [local, remote] if !local.quoted && !remote.quoted => (local, remote),
                _ => return Err(usage()),
            };
            let (local, remote) = (owned(local), owned(remote));
            if verb == Verb::ExportStatic {
                DirectiveKind::ExportStatic { local, remote }
            } else {
                DirectiveKind::ExportDynamic { local, remote }
            }
        }
        Verb::ImportDynamic => {
            let (local, remote, library) = match args {
                [local] if !local.quoted => (local, local, None),
                [local, remote] if !local.quoted && !remote.quoted => (local, remote, None),
                [local, remote, library] if !local.quoted && !remote.quoted && library.quoted => {
                    (local, remote, Some(library))
                }
                _ => return Err(usage()),
            };
            import_dynamic(local.text, remote.text, library.map(|field| field.text))?
        }
        Verb::ImportStatic => match args {
            [local] if !local.quoted => DirectiveKind::ImportStatic {
                local: owned(local),
            },
            _ => return Err(usage()),
        },
        Verb::DynamicLinker => match args {
            [path] if path.quoted => DirectiveKind::DynamicLinker { path: owned(path) },
            _ => return Err(usage()),
        },
        Verb::LdFlag => match args {
            [arg] if arg.quoted => DirectiveKind::LdFlag { arg: owned(arg) },
            _ => return Err(usage()),
        },
    })
}

fn import_dynamic(
    local: &str,
    remote: &str,
    library: Option<&str>,
) -> Result<DirectiveKind, String> {
    const VERB: &str = "cgo_import_dynamic";
    // `_` is not a symbol: Go's linker reads `_ _ "lib"` as "link lib", and any other use of
    // `_` as the local name would bind a symbol nobody can reference.
    if local == "_" {
        return match (remote, library) {
            ("_", Some("")) => Err(format!("{VERB}: empty library name")),
            ("_", Some(library)) => Ok(DirectiveKind::NeededLibrary {
                library: library.to_string(),
            }),
            _ => Err(format!("{VERB}: usage: {VERB} _ _ \"library\"")),
        };
    }
    let (name, version) = match remote.find(['#', '@']) {
        Some(at) => (&remote[..at], Some(&remote[at + 1..])),
        None => (remote, None),
    };
    if name.is_empty() {
        return Err(format!("{VERB}: empty symbol name in {remote:?}"));
    }
    if version == Some("") {
        return Err(format!("{VERB}: empty symbol version in {remote:?}"));
    }
    Ok(DirectiveKind::ImportDynamic {
        local: local.to_string(),
        remote: name.to_string(),
        version: version.map(str::to_string),
        library: library.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> DirectiveKind {
        let mut directives = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(directives.len(), 1, "{text:?}");
        directives.remove(0).kind
    }

    fn import(
        local: &str,
        remote: &str,
        version: Option<&str>,
        library: Option<&str>,
    ) -> DirectiveKind {
        DirectiveKind::ImportDynamic {
            local: local.into(),
            remote: remote.into(),
            version: version.map(Into::into),
            library: library.map(Into::into),
        }
    }

    /// The error for `text` placed on line 3 of a multi-line input, so line counting is checked
    /// along with the message.
    fn error_on_line_3(text: &str) -> String {
        let input = format!("cgo_import_static a\n\n{text}\ncgo_import_static b\n");
        let error = parse(&input).expect_err(text);
        assert_eq!(error.line, 3, "{text:?}: {error}");
        error.message
    }

    #[test]
    fn import_dynamic_shapes() {
        assert_eq!(
            one("cgo_import_dynamic puts"),
            import("puts", "puts", None, None)
        );
        assert_eq!(one("cgo_import_dynamic a b"), import("a", "b", None, None));
        assert_eq!(
            one("cgo_import_dynamic a b \"libc.so.6\""),
            import("a", "b", None, Some("libc.so.6"))
        );
        assert_eq!(
            one("cgo_import_dynamic a b \"\""),
            import("a", "b", None, Some(""))
        );
        assert_eq!(
            one("cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\""),
            import("puts", "puts", Some("GLIBC_2.2.5"), Some("libc.so.6"))
        );
        assert_eq!(
            one("cgo_import_dynamic s sqrt@GLIBC_2.2.5"),
            import("s", "sqrt", Some("GLIBC_2.2.5"), None)
        );
        // Only the first separator splits; the rest belongs to the version.
        assert_eq!(
            one("cgo_import_dynamic s sqrt@@V#2"),
            import("s", "sqrt", Some("@V#2"), None)
        );
        assert_eq!(
            one("cgo_import_dynamic a b \"C:/Program Files/x.dll\""),
            import("a", "b", None, Some("C:/Program Files/x.dll"))
        );
        assert_eq!(
            one("cgo_import_dynamic _ _ \"libm.so.6\""),
            DirectiveKind::NeededLibrary {
                library: "libm.so.6".into()
            }
        );
        // `_` as the remote name alone is odd but names a symbol; Go accepts it too.
        assert_eq!(one("cgo_import_dynamic a _"), import("a", "_", None, None));
    }

    #[test]
    fn other_shapes() {
        assert_eq!(
            one("cgo_import_static foo"),
            DirectiveKind::ImportStatic {
                local: "foo".into()
            }
        );
        assert_eq!(
            one("cgo_export_static foo"),
            DirectiveKind::ExportStatic {
                local: "foo".into(),
                remote: "foo".into()
            }
        );
        assert_eq!(
            one("cgo_export_static foo bar"),
            DirectiveKind::ExportStatic {
                local: "foo".into(),
                remote: "bar".into()
            }
        );
        assert_eq!(
            one("cgo_export_dynamic foo"),
            DirectiveKind::ExportDynamic {
                local: "foo".into(),
                remote: "foo".into()
            }
        );
        assert_eq!(
            one("cgo_export_dynamic foo bar"),
            DirectiveKind::ExportDynamic {
                local: "foo".into(),
                remote: "bar".into()
            }
        );
        assert_eq!(
            one("cgo_dynamic_linker \"/lib64/ld-linux-x86-64.so.2\""),
            DirectiveKind::DynamicLinker {
                path: "/lib64/ld-linux-x86-64.so.2".into()
            }
        );
        assert_eq!(
            one("cgo_ldflag \"-lm\""),
            DirectiveKind::LdFlag { arg: "-lm".into() }
        );
        assert_eq!(
            one("cgo_ldflag \"-Wl,--as-needed -lm\""),
            DirectiveKind::LdFlag {
                arg: "-Wl,--as-needed -lm".into()
            }
        );
    }

    #[test]
    fn go_spellings() {
        assert_eq!(
            one("//go:cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\""),
            import("puts", "puts", Some("GLIBC_2.2.5"), Some("libc.so.6"))
        );
        assert_eq!(
            one("//go:cgo_ldflag \"-lm\""),
            DirectiveKind::LdFlag { arg: "-lm".into() }
        );
        assert_eq!(
            one("#pragma dynimport a b \"liba.so\""),
            import("a", "b", None, Some("liba.so"))
        );
        assert_eq!(
            one("#pragma dynimport _ _ \"liba.so\""),
            DirectiveKind::NeededLibrary {
                library: "liba.so".into()
            }
        );
        assert_eq!(
            one("#pragma\tdynexport  f g"),
            DirectiveKind::ExportDynamic {
                local: "f".into(),
                remote: "g".into()
            }
        );
    }

    #[test]
    fn separators_and_line_ends() {
        assert_eq!(
            one("\t cgo_import_dynamic\ta \t b\t\"lib c.so\"  \t"),
            import("a", "b", None, Some("lib c.so"))
        );
        let text = "cgo_import_static a\r\n\r\n  \t\ncgo_import_static b\r\n";
        let directives = parse(text).unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0].line, 1);
        assert_eq!(directives[1].line, 4);
    }

    #[test]
    fn nul_padding_between_directives() {
        let text = "cgo_import_static a\n\0\0\0cgo_ldflag \"-lm\"\n\0\0cgo_import_static b\0\0\0\0";
        let directives = parse(text).unwrap();
        let lines: Vec<_> = directives.iter().map(|d| (d.line, d.to_string())).collect();
        assert_eq!(
            lines,
            [
                (1, "cgo_import_static a".to_string()),
                (2, "cgo_ldflag \"-lm\"".to_string()),
                (3, "cgo_import_static b".to_string()),
            ]
        );
        // A static without a trailing newline followed by padding still ends its directive.
        let directives = parse("cgo_import_static a\0\0cgo_import_static b").unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[1].line, 1);
        assert!(parse("\0\0\0\n\0").unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn usage_errors() {
        let import_usage =
            "cgo_import_dynamic: usage: cgo_import_dynamic local [remote [\"library\"]]";
        for text in [
            "cgo_import_dynamic",
            "cgo_import_dynamic \"a\"",
            "cgo_import_dynamic a \"b\"",
            "cgo_import_dynamic a b c",
            "cgo_import_dynamic a b \"c\" d",
            "cgo_import_dynamic \"a\" b \"c\"",
            "#pragma dynimport",
        ] {
            assert_eq!(error_on_line_3(text), import_usage, "{text:?}");
        }
        let static_usage = "cgo_import_static: usage: cgo_import_static local";
        for text in [
            "cgo_import_static",
            "cgo_import_static a b",
            "cgo_import_static \"a\"",
        ] {
            assert_eq!(error_on_line_3(text), static_usage, "{text:?}");
        }
        for verb in ["cgo_export_static", "cgo_export_dynamic"] {
            let usage = format!("{verb}: usage: {verb} local [remote]");
            for args in ["", " \"a\"", " a \"b\"", " a b c"] {
                assert_eq!(error_on_line_3(&format!("{verb}{args}")), usage);
            }
        }
        assert_eq!(
            error_on_line_3("#pragma dynexport a b c"),
            "cgo_export_dynamic: usage: cgo_export_dynamic local [remote]"
        );
        let linker_usage = "cgo_dynamic_linker: usage: cgo_dynamic_linker \"path\"";
        for text in [
            "cgo_dynamic_linker",
            "cgo_dynamic_linker /lib/ld.so",
            "cgo_dynamic_linker \"a\" \"b\"",
        ] {
            assert_eq!(error_on_line_3(text), linker_usage, "{text:?}");
        }
        let ldflag_usage = "cgo_ldflag: usage: cgo_ldflag \"arg\"";
        for text in ["cgo_ldflag", "cgo_ldflag -lm", "cgo_ldflag \"-lm\" \"-lc\""] {
            assert_eq!(error_on_line_3(text), ldflag_usage, "{text:?}");
        }
    }

    #[test]
    fn underscore_misuse() {
        let usage = "cgo_import_dynamic: usage: cgo_import_dynamic _ _ \"library\"";
        for text in [
            "cgo_import_dynamic _",
            "cgo_import_dynamic _ _",
            "cgo_import_dynamic _ puts",
            "cgo_import_dynamic _ puts \"libc.so.6\"",
        ] {
            assert_eq!(error_on_line_3(text), usage, "{text:?}");
        }
        assert_eq!(
            error_on_line_3("cgo_import_dynamic _ _ \"\""),
            "cgo_import_dynamic: empty library name"
        );
    }

    #[test]
    fn token_errors() {
        assert_eq!(
            error_on_line_3("cgo_ldflag \"-lm"),
            "unterminated quoted string: \"-lm"
        );
        assert_eq!(
            error_on_line_3("cgo_import_dynamic a b \"lib"),
            "unterminated quoted string: \"lib"
        );
        assert_eq!(
            error_on_line_3("cgo_import_static a\"b\""),
            "invalid '\"' in name \"a\\\"b\\\"\""
        );
        assert_eq!(
            error_on_line_3("cgo_ldflag \"-lm\"x"),
            "missing space after quoted string \"-lm\""
        );
        assert_eq!(
            error_on_line_3("cgo_import_static a\u{1}b"),
            "invalid control character U+0001 in name \"a\\u{1}b\""
        );
        assert_eq!(
            error_on_line_3("cgo_ldflag \"-l\u{7f}m\""),
            "invalid control character U+007F in name \"-l\\u{7f}m\""
        );
        // A carriage return is only a line end right before the newline.
        assert_eq!(
            error_on_line_3("cgo_import_static a\rb"),
            "invalid control character U+000D in name \"a\\rb\""
        );
        // Tabs separate unquoted fields but are control characters inside quotes.
        assert_eq!(
            error_on_line_3("cgo_ldflag \"-l\tm\""),
            "invalid control character U+0009 in name \"-l\\tm\""
        );
    }

    #[test]
    fn version_errors() {
        assert_eq!(
            error_on_line_3("cgo_import_dynamic puts puts# \"libc.so.6\""),
            "cgo_import_dynamic: empty symbol version in \"puts#\""
        );
        assert_eq!(
            error_on_line_3("cgo_import_dynamic puts puts@"),
            "cgo_import_dynamic: empty symbol version in \"puts@\""
        );
        assert_eq!(
            error_on_line_3("cgo_import_dynamic puts #GLIBC_2.2.5"),
            "cgo_import_dynamic: empty symbol name in \"#GLIBC_2.2.5\""
        );
    }

    #[test]
    fn unknown_verbs() {
        assert_eq!(error_on_line_3("foo bar"), "unknown directive \"foo\"");
        assert_eq!(
            error_on_line_3("//go:cgo_unknown x"),
            "unknown directive \"//go:cgo_unknown\""
        );
        assert_eq!(
            error_on_line_3("go:cgo_ldflag \"-lm\""),
            "unknown directive \"go:cgo_ldflag\""
        );
        assert_eq!(
            error_on_line_3("\"cgo_ldflag\" \"-lm\""),
            "unknown directive \"cgo_ldflag\""
        );
        assert_eq!(
            error_on_line_3("#pragma dynfoo a"),
            "unknown directive \"#pragma dynfoo\""
        );
        assert_eq!(error_on_line_3("#pragma"), "unknown directive \"#pragma\"");
        assert_eq!(
            error_on_line_3("package main"),
            "unknown directive \"package\""
        );
    }

    #[test]
    fn invalid_utf8_reports_its_line() {
        let error = parse_bytes(b"cgo_import_static a\r\n\ncgo_import_static \xff\n").unwrap_err();
        assert_eq!(error.line, 3);
        assert_eq!(error.message, "invalid UTF-8 at byte 19 of the line");
        // Bytes and text parsers agree on valid input.
        let text = "cgo_import_static a\0\0\n#pragma dynimport x y \"z\"\r\n";
        assert_eq!(parse_bytes(text.as_bytes()).unwrap(), parse(text).unwrap());
    }

    #[test]
    fn error_display_and_origin() {
        let error = parse("\n\ncgo_import_dynamic \"a\"\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "3: invalid cgo directive: cgo_import_dynamic: usage: cgo_import_dynamic local [remote [\"library\"]]"
        );
        assert_eq!(
            error.with_origin(".rlink.directives"),
            ".rlink.directives:3: invalid cgo directive: cgo_import_dynamic: usage: cgo_import_dynamic local [remote [\"library\"]]"
        );
        let _: &dyn std::error::Error = &error;
    }
}
