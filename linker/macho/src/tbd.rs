//! Text-based dylib stubs (`.tbd`), what SDKs ship instead of dylibs: the install name of a
//! dylib and the names it exports per target. rlink reads TAPI v3 and v4 (YAML documents
//! tagged `!tapi-tbd`) the way ld64 and lld use them: the first document is the library; the
//! documents after it are the libraries it re-exports (libSystem's `/usr/lib/system/*`), whose
//! exports count as its own. Only the keys a link needs are read — `install-name`, `exports`
//! and `reexports` with their `targets` (v4) or `archs` (v3) and symbol lists — with a parser
//! for the subset of YAML these files use (flow lists in brackets, possibly over several lines,
//! items optionally quoted). TAPI v5 (JSON) is reported as not supported yet.

use rlink_linker::library::{Export, ExportKind, SharedLibrary};
use rlink_linker::target::Cpu;
use rlink_linker::{bail, Result};

/// The spellings of a CPU in a `.tbd`'s targets (v4: `arm64-macos`) or archs (v3: `arm64`).
fn matches_cpu(target: &str, cpu: Cpu) -> bool {
    let arch = target.split('-').next().unwrap_or("");
    let platform_ok =
        !target.contains('-') || target.ends_with("-macos") || target.ends_with("-macosx");
    platform_ok
        && match cpu {
            Cpu::X86_64 => matches!(arch, "x86_64" | "x86_64h"),
            Cpu::Aarch64 => matches!(arch, "arm64" | "arm64e"),
        }
}

/// `key: [ a, 'b', c ]` lists of one document, in order, with the brackets spanning lines.
fn flow_lists(doc: &str) -> Vec<(&str, Vec<&str>)> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find('[') {
        let before = &rest[..open];
        let key = before
            .rsplit(['\n', '{', ','])
            .next()
            .unwrap_or("")
            .trim()
            .trim_start_matches("- ")
            .trim_end_matches(':')
            .trim();
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        let body = &rest[open + 1..open + close];
        let items = body
            .split(',')
            .map(|i| i.trim().trim_matches('\'').trim_matches('"'))
            .filter(|i| !i.is_empty())
            .collect();
        out.push((key, items));
        rest = &rest[open + close + 1..];
    }
    out
}

fn scalar<'a>(doc: &'a str, key: &str) -> Option<&'a str> {
    doc.lines().find_map(|l| {
        let l = l.trim_start();
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        Some(v.trim().trim_matches('\'').trim_matches('"'))
    })
}

/// Reads a `.tbd` for `cpu`.
pub fn parse<'a>(data: &'a [u8], cpu: Cpu) -> Result<SharedLibrary<'a>> {
    let Ok(text) = std::str::from_utf8(data) else {
        bail!("a .tbd that is not UTF-8 text");
    };
    if !text.starts_with("--- !tapi-tbd") {
        bail!("TAPI v5 (JSON) .tbd files are not supported yet; give a v4 (YAML) one");
    }
    let docs: Vec<&str> = text
        .split("--- !tapi-tbd")
        .filter(|d| !d.trim().is_empty())
        .collect();
    let Some(install_name) = docs.first().and_then(|d| scalar(d, "install-name")) else {
        bail!("a .tbd without an install-name");
    };
    let mut exports = Vec::new();
    let mut any_target = false;
    for doc in &docs {
        // Only the symbol lists under exports/reexports count (not undefineds, allowable
        // clients, re-exported library lists).
        for section in ["exports:", "reexports:"] {
            let Some(start) = doc.find(section) else {
                continue;
            };
            let body = &doc[start + section.len()..];
            // The section ends at the next top-level key.
            let end = body
                .lines()
                .skip(1)
                .scan(0usize, |at, l| {
                    let here = *at;
                    *at += l.len() + 1;
                    Some((here, l))
                })
                .find(|(_, l)| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('-'))
                .map(|(at, _)| at + body.lines().next().map(|l| l.len() + 1).unwrap_or(0))
                .unwrap_or(body.len());
            let mut applies = false;
            for (key, items) in flow_lists(&body[..end]) {
                match key {
                    "targets" | "archs" => {
                        applies = items.iter().any(|t| matches_cpu(t, cpu));
                        any_target |= applies;
                    }
                    _ if !applies => {}
                    "symbols" | "weak-symbols" | "weak-def-symbols" => {
                        for name in items {
                            exports.push(export(
                                name.as_bytes(),
                                ExportKind::Other,
                                key != "symbols",
                            ));
                        }
                    }
                    "thread-local-symbols" => {
                        for name in items {
                            exports.push(export(name.as_bytes(), ExportKind::Tls, false));
                        }
                    }
                    "objc-classes" => {
                        for name in items {
                            for prefix in ["_OBJC_CLASS_$_", "_OBJC_METACLASS_$_"] {
                                exports.push(export(leak(prefix, name), ExportKind::Object, false));
                            }
                        }
                    }
                    "objc-eh-types" => {
                        for name in items {
                            exports.push(export(
                                leak("_OBJC_EHTYPE_$_", name),
                                ExportKind::Object,
                                false,
                            ));
                        }
                    }
                    "objc-ivars" => {
                        for name in items {
                            exports.push(export(
                                leak("_OBJC_IVAR_$_", name),
                                ExportKind::Object,
                                false,
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if !any_target && !exports.is_empty() {
        bail!(
            "{install_name}: the .tbd lists no exports for {}",
            cpu.name()
        );
    }
    SharedLibrary::new(install_name.to_string(), Some(cpu), exports)
}

fn export(name: &[u8], kind: ExportKind, weak: bool) -> Export<'_> {
    Export {
        name,
        version: None,
        is_default: true,
        kind,
        weak,
        size: 0,
    }
}

/// A derived name (an Objective-C class's symbols), kept for the link like the view's names.
fn leak(prefix: &str, name: &str) -> &'static [u8] {
    format!("{prefix}{name}").into_bytes().leak()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TBD: &str = concat!(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos, arm64-macos ]\n",
        "install-name: '/System/Library/Frameworks/Foo.framework/Versions/A/Foo'\n",
        "exports:\n",
        "  - targets: [ x86_64-macos ]\n",
        "    symbols: [ _only_x86 ]\n",
        "  - targets: [ x86_64-macos, arm64-macos ]\n",
        "    symbols: [ _foo_init, '_foo$bar',\n",
        "               _foo_done ]\n",
        "    objc-classes: [ FooThing ]\n",
        "    weak-symbols: [ _foo_weak ]\n",
        "undefineds:\n",
        "  - targets: [ arm64-macos ]\n",
        "    symbols: [ _not_exported ]\n",
        "...\n"
    );

    #[test]
    fn exports_for_one_cpu() {
        let lib = parse(TBD.as_bytes(), Cpu::Aarch64).unwrap();
        assert_eq!(
            lib.soname,
            "/System/Library/Frameworks/Foo.framework/Versions/A/Foo"
        );
        let names: Vec<&[u8]> = lib.exports.iter().map(|e| e.name).collect();
        assert!(names.contains(&&b"_foo$bar"[..]) && names.contains(&&b"_foo_done"[..]));
        assert!(names.contains(&&b"_OBJC_CLASS_$_FooThing"[..]));
        assert!(lib.lookup(b"_foo_weak").unwrap().weak);
        assert!(lib.lookup(b"_only_x86").is_none());
        assert!(lib.lookup(b"_not_exported").is_none());
        let x86 = parse(TBD.as_bytes(), Cpu::X86_64).unwrap();
        assert!(x86.lookup(b"_only_x86").is_some());
    }

    #[test]
    fn json_and_garbage_are_errors() {
        assert!(parse(b"{\"tapi_tbd_version\": 5}", Cpu::Aarch64).is_err());
        assert!(parse(b"--- !tapi-tbd\nexports: [", Cpu::Aarch64).is_err());
    }
}
