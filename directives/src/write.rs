//! The directive writer: [`DirectiveKind`] → its canonical one-line form.
//!
//! Canonical means the shortest line that parses back to the same value, with the version always
//! spelled `#` (Go's linker form), so tools that compare or deduplicate directives can compare
//! text.

use std::fmt;

use crate::parse::{Directive, DirectiveKind};

impl fmt::Display for DirectiveKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectiveKind::ImportDynamic {
                local,
                remote,
                version,
                library,
            } => {
                write!(f, "cgo_import_dynamic {local}")?;
                // The remote is positional, so a library forces it to be written.
                if remote != local || version.is_some() || library.is_some() {
                    write!(f, " {remote}")?;
                    if let Some(version) = version {
                        write!(f, "#{version}")?;
                    }
                }
                if let Some(library) = library {
                    write!(f, " \"{library}\"")?;
                }
                Ok(())
            }
            DirectiveKind::NeededLibrary { library } => {
                write!(f, "cgo_import_dynamic _ _ \"{library}\"")
            }
            DirectiveKind::ImportStatic { local } => write!(f, "cgo_import_static {local}"),
            DirectiveKind::ExportStatic { local, remote } => {
                write_export(f, "cgo_export_static", local, remote)
            }
            DirectiveKind::ExportDynamic { local, remote } => {
                write_export(f, "cgo_export_dynamic", local, remote)
            }
            DirectiveKind::DynamicLinker { path } => write!(f, "cgo_dynamic_linker \"{path}\""),
            DirectiveKind::LdFlag { arg } => write!(f, "cgo_ldflag \"{arg}\""),
        }
    }
}

fn write_export(f: &mut fmt::Formatter<'_>, verb: &str, local: &str, remote: &str) -> fmt::Result {
    write!(f, "{verb} {local}")?;
    if remote != local {
        write!(f, " {remote}")?;
    }
    Ok(())
}

/// Same text as the directive's kind: the line number is where it was, not what it says.
impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::{parse, Directive, DirectiveKind};

    fn s(text: &str) -> String {
        text.to_string()
    }

    #[test]
    fn canonical_lines() {
        let cases = [
            (
                DirectiveKind::ImportDynamic {
                    local: s("puts"),
                    remote: s("puts"),
                    version: Some(s("GLIBC_2.2.5")),
                    library: Some(s("libc.so.6")),
                },
                "cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"",
            ),
            (
                DirectiveKind::ImportDynamic {
                    local: s("puts"),
                    remote: s("puts"),
                    version: None,
                    library: None,
                },
                "cgo_import_dynamic puts",
            ),
            (
                DirectiveKind::ImportDynamic {
                    local: s("puts"),
                    remote: s("puts"),
                    version: None,
                    library: Some(s("")),
                },
                "cgo_import_dynamic puts puts \"\"",
            ),
            (
                DirectiveKind::ImportDynamic {
                    local: s("a"),
                    remote: s("b"),
                    version: None,
                    library: None,
                },
                "cgo_import_dynamic a b",
            ),
            (
                DirectiveKind::NeededLibrary {
                    library: s("libm.so.6"),
                },
                "cgo_import_dynamic _ _ \"libm.so.6\"",
            ),
            (
                DirectiveKind::ImportStatic { local: s("foo") },
                "cgo_import_static foo",
            ),
            (
                DirectiveKind::ExportStatic {
                    local: s("foo"),
                    remote: s("foo"),
                },
                "cgo_export_static foo",
            ),
            (
                DirectiveKind::ExportDynamic {
                    local: s("foo"),
                    remote: s("bar"),
                },
                "cgo_export_dynamic foo bar",
            ),
            (
                DirectiveKind::DynamicLinker {
                    path: s("/lib64/ld-linux-x86-64.so.2"),
                },
                "cgo_dynamic_linker \"/lib64/ld-linux-x86-64.so.2\"",
            ),
            (
                DirectiveKind::LdFlag { arg: s("-lm") },
                "cgo_ldflag \"-lm\"",
            ),
        ];
        for (kind, line) in cases {
            assert_eq!(kind.to_string(), line);
            let directive = Directive { kind, line: 7 };
            assert_eq!(directive.to_string(), line);
        }
    }

    #[test]
    fn cgo_version_spelling_is_rewritten_with_hash() {
        let parsed = parse("cgo_import_dynamic s sqrt@GLIBC_2.2.5 \"libm.so.6\"").unwrap();
        assert_eq!(
            parsed[0].to_string(),
            "cgo_import_dynamic s sqrt#GLIBC_2.2.5 \"libm.so.6\""
        );
    }

    /// A small deterministic generator (xorshift) so the round trip covers many shapes without
    /// a property-testing dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
            choices[self.below(choices.len())]
        }

        fn maybe(&mut self) -> bool {
            self.next() & 1 == 0
        }

        /// A string of 1..=8 characters from `alphabet`.
        fn word(&mut self, alphabet: &[char]) -> String {
            let len = 1 + self.below(8);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    /// Characters valid in unquoted names, including the non-ASCII and punctuation a mangled or
    /// versioned name may carry; `#`/`@` only where they cannot be read as a version separator.
    const NAME: &[char] = &['a', 'Z', '_', '$', '.', '0', '9', 'é', '名', '-', '?', '%'];
    /// Quoted fields may also hold spaces, `#`, `@` and `_`.
    const QUOTED: &[char] = &['a', ' ', '/', '.', '-', '#', '@', '_', ',', '=', 'ü'];

    fn random_kind(rng: &mut Rng) -> DirectiveKind {
        let name = |rng: &mut Rng| {
            let mut word = rng.word(NAME);
            // `_` alone is reserved for the needed-library form.
            if word == "_" {
                word.push('x');
            }
            word
        };
        match rng.below(7) {
            0 => {
                let local = name(rng);
                let remote = if rng.maybe() {
                    local.clone()
                } else {
                    name(rng)
                };
                let version = rng.maybe().then(|| {
                    let mut version = rng.word(NAME);
                    // The version may itself contain the separators; only the first splits.
                    if rng.maybe() {
                        version.push_str(rng.pick(&["#", "@", "@@x"]));
                    }
                    version
                });
                let library = match rng.below(3) {
                    0 => None,
                    1 => Some(String::new()),
                    _ => Some(rng.word(QUOTED)),
                };
                DirectiveKind::ImportDynamic {
                    local,
                    remote,
                    version,
                    library,
                }
            }
            1 => DirectiveKind::NeededLibrary {
                library: rng.word(QUOTED),
            },
            2 => DirectiveKind::ImportStatic { local: name(rng) },
            3 | 4 => {
                let local = name(rng);
                let remote = if rng.maybe() {
                    local.clone()
                } else {
                    name(rng)
                };
                if rng.maybe() {
                    DirectiveKind::ExportStatic { local, remote }
                } else {
                    DirectiveKind::ExportDynamic { local, remote }
                }
            }
            5 => DirectiveKind::DynamicLinker {
                path: rng.word(QUOTED),
            },
            _ => DirectiveKind::LdFlag {
                arg: if rng.maybe() {
                    String::new()
                } else {
                    rng.word(QUOTED)
                },
            },
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut all = Vec::new();
        for _ in 0..5000 {
            let kind = random_kind(&mut rng);
            let line = kind.to_string();
            let parsed = parse(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert_eq!(
                parsed,
                [Directive {
                    kind: kind.clone(),
                    line: 1
                }],
                "{line:?}"
            );
            all.push(kind);
        }
        // The same values written as one section, with the padding a linker would leave.
        let section: String = all.iter().map(|kind| format!("{kind}\n\0\0")).collect();
        let parsed = parse(&section).unwrap();
        let kinds: Vec<_> = parsed.into_iter().map(|d| d.kind).collect();
        assert_eq!(kinds, all);
    }
}
