//! Text-based dylib stubs (`.tbd`), what SDKs ship instead of dylibs: the install name of a
//! dylib and the names it exports per target. rlink reads them the way ld64 and lld use them:
//! one library is the one linked against, and the libraries inlined after it are the ones it
//! re-exports (libSystem's `/usr/lib/system/*`), whose exports count as its own. Only what a
//! link needs is read — the install name and the exported and re-exported symbols with the
//! targets they apply to. Two encodings:
//!
//! - TAPI v3 and v4: YAML documents tagged `!tapi-tbd`, the first the library and the ones after
//!   it the inlined re-exports; `install-name`, `exports` and `reexports` with their `targets`
//!   (v4) or `archs` (v3), read with a parser for the subset of YAML these files use (flow
//!   lists in brackets, possibly over several lines, items optionally quoted).
//! - TAPI v5: one JSON object, `main_library` plus the inlined `libraries`, each with
//!   `install_names`, `target_info` and `exported_symbols`/`reexported_symbols` sections whose
//!   `targets` default to the library's `target_info`; read with `serde_json`.

use rlink_linker::library::{Export, ExportKind, SharedLibrary};
use rlink_linker::target::Cpu;
use rlink_linker::{bail, Result};
use serde_json::{Map, Value};

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
    if text.trim_start().starts_with('{') {
        return parse_json(text, cpu);
    }
    if !text.starts_with("--- !tapi-tbd") {
        bail!("a .tbd that is neither TAPI v3/v4 YAML (`--- !tapi-tbd`) nor TAPI v5 JSON");
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

/// The symbol lists of a v5 `text` or `data` segment: the key, the names each entry stands
/// for (a prefix to put before it), and how the names are exported — as the v4 path reads the
/// same lists. `text` and `data` give the same kinds, as v4 (which does not tell them apart)
/// does: plain names are `Other` there, and a library read either way binds alike.
const JSON_SYMBOL_LISTS: [(&str, &[&str], ExportKind, bool); 6] = [
    ("global", &[""], ExportKind::Other, false),
    ("weak", &[""], ExportKind::Other, true),
    ("thread_local", &[""], ExportKind::Tls, false),
    (
        "objc_class",
        &["_OBJC_CLASS_$_", "_OBJC_METACLASS_$_"],
        ExportKind::Object,
        false,
    ),
    (
        "objc_eh_type",
        &["_OBJC_EHTYPE_$_"],
        ExportKind::Object,
        false,
    ),
    ("objc_ivar", &["_OBJC_IVAR_$_"], ExportKind::Object, false),
];

/// Reads a TAPI v5 (JSON) `.tbd` for `cpu`. Every key read is checked for its type, in every
/// library and section whether or not it applies to `cpu`, so a malformed file is refused the
/// same way for any target; keys a link does not need (`flags`, `rpaths`, versions, undefined
/// symbols, ...) are not looked at.
///
/// The names are `serde_json`'s owned strings, not slices of `text`, so they are leaked like
/// [`leak`]'s: a link is one short process, and the view's names live as long.
fn parse_json(text: &str, cpu: Cpu) -> Result<SharedLibrary<'static>> {
    let file: Value = match serde_json::from_str(text) {
        Ok(file) => file,
        Err(e) => bail!("a TAPI v5 (JSON) .tbd that is not valid JSON: {e}"),
    };
    let file = json_object(&file, "top level")?;
    match file.get("tapi_tbd_version") {
        Some(Value::Number(n)) if n.as_u64() == Some(5) => {}
        Some(Value::Number(n)) => {
            bail!("a JSON .tbd of TAPI version {n}; rlink reads v5 (JSON) and v3/v4 (YAML)")
        }
        _ => bail!("a JSON .tbd without a numeric `tapi_tbd_version`"),
    }
    let Some(main) = file.get("main_library") else {
        bail!("a TAPI v5 .tbd without a `main_library`");
    };
    let main = json_object(main, "`main_library`")?;
    let mut docs = vec![main];
    for lib in json_list(file, "libraries")? {
        docs.push(json_object(lib, "`libraries` entry")?);
    }
    // Every library needs an install name; the main library's is the one linked against.
    let install_name = json_install_name(main)?;
    for doc in &docs[1..] {
        json_install_name(doc)?;
    }
    let mut exports = Vec::new();
    let mut any_target = false;
    let mut any_export = false;
    for doc in &docs {
        let mut lib_targets = Vec::new();
        for info in json_list(doc, "target_info")? {
            let target = json_object(info, "`target_info` entry")?
                .get("target")
                .and_then(Value::as_str);
            let Some(target) = target else {
                bail!(
                    "{install_name}: a `target_info` entry of the .tbd without a `target` string"
                );
            };
            lib_targets.push(target);
        }
        let lib_applies = lib_targets.iter().any(|t| matches_cpu(t, cpu));
        any_target |= lib_applies;
        for key in ["exported_symbols", "reexported_symbols"] {
            for section in json_list(doc, key)? {
                let section = json_object(section, &format!("`{key}` entry"))?;
                // A section without `targets` is for every target of its library.
                let applies = match section.get("targets") {
                    None => lib_applies,
                    Some(_) => {
                        let applies =
                            json_strings(section, "targets")?.any(|t| matches_cpu(t, cpu));
                        any_target |= applies;
                        applies
                    }
                };
                for segment in ["data", "text"] {
                    let Some(segment) = section.get(segment) else {
                        continue;
                    };
                    let segment = json_object(segment, "`data` or `text` segment")?;
                    for (list, prefixes, kind, weak) in JSON_SYMBOL_LISTS {
                        for name in json_strings(segment, list)? {
                            any_export = true;
                            if !applies {
                                continue;
                            }
                            for prefix in prefixes {
                                exports.push(export(leak(prefix, name), kind, weak));
                            }
                        }
                    }
                }
            }
        }
    }
    if !any_target && any_export {
        bail!(
            "{install_name}: the .tbd lists no exports for {}",
            cpu.name()
        );
    }
    SharedLibrary::new(install_name.to_string(), Some(cpu), exports)
}

/// A library's install name: the first of its `install_names`, as ld64 and lld take it.
fn json_install_name(doc: &Map<String, Value>) -> Result<&str> {
    let name = json_list(doc, "install_names")?
        .first()
        .map(|entry| json_object(entry, "`install_names` entry"))
        .transpose()?
        .and_then(|entry| entry.get("name"))
        .and_then(Value::as_str);
    let Some(name) = name else {
        bail!(
            "a .tbd without an install name: each library of a TAPI v5 .tbd needs \
             `install_names: [{{\"name\": ...}}]`"
        );
    };
    Ok(name)
}

fn json_object<'v>(value: &'v Value, what: &str) -> Result<&'v Map<String, Value>> {
    match value {
        Value::Object(object) => Ok(object),
        _ => bail!("a TAPI v5 .tbd with a non-object {what}"),
    }
}

/// `key`'s list in `object`; empty when the key is absent.
fn json_list<'v>(object: &'v Map<String, Value>, key: &str) -> Result<&'v [Value]> {
    match object.get(key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => bail!("a TAPI v5 .tbd whose `{key}` is not a list"),
    }
}

/// `key`'s list of strings in `object`; empty when the key is absent.
fn json_strings<'v>(
    object: &'v Map<String, Value>,
    key: &str,
) -> Result<impl Iterator<Item = &'v str>> {
    let items = json_list(object, key)?;
    if items.iter().any(|item| !item.is_string()) {
        bail!("a TAPI v5 .tbd whose `{key}` is not a list of strings");
    }
    Ok(items.iter().filter_map(Value::as_str))
}

fn export(name: &[u8], kind: ExportKind, weak: bool) -> Export<'_> {
    Export {
        name,
        version: None,
        is_default: true,
        kind,
        weak,
        size: 0,
        value: 0,
    }
}

/// A derived name (an Objective-C class's symbols) or a name `serde_json` owns, kept for the
/// link like the view's names.
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

    /// A v5 file: two targets, a section for one of them, sections for both (by default and
    /// spelled out), re-exported symbols, and an inlined library whose exports count.
    const V5: &str = r#"{
      "tapi_tbd_version": 5,
      "main_library": {
        "target_info": [
          { "target": "arm64-macos", "min_deployment": "11.0" },
          { "target": "x86_64-macos", "min_deployment": "10.13" }
        ],
        "flags": [ { "attributes": [ "not_app_extension_safe" ] } ],
        "install_names": [ { "name": "/usr/lib/libFoo.dylib" } ],
        "current_versions": [ { "version": "1.2.3" } ],
        "reexported_libraries": [ { "names": [ "/usr/lib/system/libinner.dylib" ] } ],
        "exported_symbols": [
          { "targets": [ "x86_64-macos" ], "text": { "global": [ "_only_x86" ] } },
          {
            "text": { "global": [ "_f", "_f$INODE64" ], "weak": [ "_wf" ] },
            "data": {
              "global": [ "_g" ], "weak": [ "_w" ], "thread_local": [ "_t" ],
              "objc_class": [ "Cls" ], "objc_eh_type": [ "E" ], "objc_ivar": [ "Cls.iv" ]
            }
          },
          { "targets": [ "arm64-macos", "x86_64-macos" ], "data": { "global": [ "_both" ] } }
        ],
        "reexported_symbols": [
          { "targets": [ "arm64-macos" ], "text": { "global": [ "_re_arm" ] } }
        ],
        "undefined_symbols": [ { "data": { "global": [ "_not_exported" ] } } ]
      },
      "libraries": [
        {
          "target_info": [ { "target": "arm64-macos" }, { "target": "x86_64-macos" } ],
          "install_names": [ { "name": "/usr/lib/system/libinner.dylib" } ],
          "parent_umbrellas": [ { "umbrella": "System" } ],
          "exported_symbols": [ { "text": { "global": [ "_inner" ] } } ]
        },
        {
          "target_info": [ { "target": "x86_64-macos" } ],
          "install_names": [ { "name": "/usr/lib/system/libx86only.dylib" } ],
          "exported_symbols": [ { "text": { "global": [ "_inner_x86" ] } } ]
        }
      ]
    }"#;

    #[test]
    fn v5_exports_for_one_cpu() {
        let lib = parse(V5.as_bytes(), Cpu::Aarch64).unwrap();
        assert_eq!(lib.soname, "/usr/lib/libFoo.dylib");
        let get = |name: &[u8]| {
            let e = lib.lookup(name);
            assert!(e.is_some(), "{} missing", String::from_utf8_lossy(name));
            e.map(|e| (e.kind, e.weak))
        };
        for plain in [
            &b"_f"[..],
            b"_f$INODE64",
            b"_g",
            b"_both",
            b"_re_arm",
            b"_inner",
        ] {
            assert_eq!(get(plain), Some((ExportKind::Other, false)));
        }
        assert_eq!(get(b"_wf"), Some((ExportKind::Other, true)));
        assert_eq!(get(b"_w"), Some((ExportKind::Other, true)));
        assert_eq!(get(b"_t"), Some((ExportKind::Tls, false)));
        for objc in [
            &b"_OBJC_CLASS_$_Cls"[..],
            b"_OBJC_METACLASS_$_Cls",
            b"_OBJC_EHTYPE_$_E",
            b"_OBJC_IVAR_$_Cls.iv",
        ] {
            assert_eq!(get(objc), Some((ExportKind::Object, false)));
        }
        for absent in [&b"_only_x86"[..], b"_inner_x86", b"_not_exported", b"Cls"] {
            assert!(lib.lookup(absent).is_none());
        }
        assert_eq!(lib.exports.len(), 13);

        let x86 = parse(V5.as_bytes(), Cpu::X86_64).unwrap();
        for name in [&b"_only_x86"[..], b"_inner_x86", b"_f", b"_both", b"_inner"] {
            assert!(x86.lookup(name).is_some());
        }
        assert!(x86.lookup(b"_re_arm").is_none());
        // Leading whitespace before the object is still JSON.
        assert!(parse(format!("\n  {V5}").as_bytes(), Cpu::Aarch64).is_ok());
    }

    #[test]
    fn v5_without_the_cpu() {
        let only_x86 = r#"{"tapi_tbd_version": 5, "main_library": {
            "target_info": [{"target": "x86_64-macos"}, {"target": "arm64-ios"}],
            "install_names": [{"name": "/usr/lib/libX.dylib"}],
            "exported_symbols": [{"text": {"global": ["_x"]}},
                                 {"targets": ["arm64-ios"], "text": {"global": ["_ios"]}}]}}"#;
        let err = parse(only_x86.as_bytes(), Cpu::Aarch64)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/usr/lib/libX.dylib") && err.contains("no exports"),
            "{err}"
        );
        assert!(parse(only_x86.as_bytes(), Cpu::X86_64).is_ok());
        // No exports at all is a library with nothing to bind, not an error.
        let empty = r#"{"tapi_tbd_version": 5, "main_library": {
            "target_info": [{"target": "x86_64-macos"}],
            "install_names": [{"name": "/usr/lib/libE.dylib"}]}}"#;
        assert!(parse(empty.as_bytes(), Cpu::Aarch64)
            .unwrap()
            .exports
            .is_empty());
    }

    #[test]
    fn json_and_garbage_errors() {
        let err = |text: &str| match parse(text.as_bytes(), Cpu::Aarch64) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        };
        // A file whose main library has `body`, with `rest` after the main library.
        let file = |body: &str, rest: &str| {
            format!(
                r#"{{"tapi_tbd_version": 5, "main_library": {{
                "target_info": [{{"target": "arm64-macos"}}], {body}}}{rest}}}"#
            )
        };
        let lib = |body: &str| file(body, "");
        const NAME: &str = r#""install_names": [{"name": "/usr/lib/libF.dylib"}]"#;
        assert!(err(r#"{"tapi_tbd_version": 5, "main_library": {"#).contains("not valid JSON"));
        assert!(err(r#"{"tapi_tbd_version": 5} trailing"#).contains("not valid JSON"));
        assert!(err(&"{\"a\":".repeat(100_000)).contains("not valid JSON"));
        assert!(err(r#"{"tapi_tbd_version": 4}"#).contains("version 4"));
        assert!(err(r#"{"tapi_tbd_version": "5"}"#).contains("tapi_tbd_version"));
        assert!(err(r#"{"tapi_tbd_version": 5}"#).contains("main_library"));
        assert!(err(r#"{"tapi_tbd_version": 5, "main_library": []}"#).contains("main_library"));
        // The install name: missing, empty, not a string, or missing in an inlined library.
        assert!(err(&lib(r#""exported_symbols": []"#)).contains("install name"));
        assert!(err(&lib(r#""install_names": []"#)).contains("install name"));
        assert!(err(&lib(r#""install_names": [{"name": 1}]"#)).contains("install name"));
        assert!(err(&lib(r#""install_names": {"name": "/x"}"#)).contains("install_names"));
        let inlined = file(NAME, r#", "libraries": [{"target_info": []}]"#);
        assert!(err(&inlined).contains("install name"), "{inlined}");
        assert!(err(&file(NAME, r#", "libraries": {}"#)).contains("libraries"));
        assert!(err(&file(NAME, r#", "libraries": [[]]"#)).contains("libraries"));
        // Wrong types anywhere a key is read, for this CPU's sections and others'.
        for (body, key) in [
            (r#""exported_symbols": {}"#, "exported_symbols"),
            (r#""exported_symbols": [1]"#, "exported_symbols"),
            (
                r#""exported_symbols": [{"targets": "arm64-macos"}]"#,
                "targets",
            ),
            (r#""exported_symbols": [{"text": []}]"#, "segment"),
            (
                r#""exported_symbols": [{"text": {"global": "_f"}}]"#,
                "global",
            ),
            (r#""exported_symbols": [{"data": {"weak": [1]}}]"#, "weak"),
            (
                r#""reexported_symbols": [{"targets": ["x86_64-macos"], "text": {"objc_class": [null]}}]"#,
                "objc_class",
            ),
            (r#""target_info": [{"target": 5}]"#, "target_info"),
        ] {
            let text = lib(&format!("{NAME}, {body}"));
            let e = err(&text);
            assert!(e.contains(key), "{e} for {text}");
        }
        assert!(parse(lib(NAME).as_bytes(), Cpu::Aarch64).is_ok());
        // Neither encoding, and broken YAML.
        assert!(err("garbage").contains("neither"));
        assert!(err("--- !tapi-tbd\nexports: [").contains("install-name"));
    }

    /// The v4 `TBD` above, converted to v5 by LLVM's own writer, reads the same. Skipped
    /// without `llvm-readtapi` (LLVM 17 and later).
    #[test]
    fn v5_from_llvm_readtapi_matches_v4() {
        let tool = std::iter::once("llvm-readtapi".to_string())
            .chain((17..=30).rev().map(|v| format!("llvm-readtapi-{v}")))
            .find(|tool| {
                std::process::Command::new(tool)
                    .arg("--version")
                    .output()
                    .is_ok_and(|out| out.status.success())
            });
        let Some(tool) = tool else {
            eprintln!("skipped: no llvm-readtapi");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let (v4, v5) = (dir.path().join("v4.tbd"), dir.path().join("v5.tbd"));
        std::fs::write(&v4, TBD).unwrap();
        let status = std::process::Command::new(&tool)
            .arg("--filetype=tbd-v5")
            .arg(&v4)
            .arg("-o")
            .arg(&v5)
            .status()
            .unwrap();
        assert!(status.success(), "{tool} failed");
        let json = std::fs::read(&v5).unwrap();
        assert_eq!(json.trim_ascii_start().first(), Some(&b'{'));
        for cpu in [Cpu::Aarch64, Cpu::X86_64] {
            let set = |lib: SharedLibrary| -> std::collections::HashSet<_> {
                lib.exports
                    .iter()
                    .map(|e| (e.name.to_vec(), e.kind, e.weak))
                    .collect()
            };
            let from_v4 = set(parse(TBD.as_bytes(), cpu).unwrap());
            let from_v5 = set(parse(&json, cpu).unwrap());
            assert!(!from_v4.is_empty());
            assert_eq!(from_v4, from_v5);
        }
    }
}
