//! What a Windows DLL exports, as link.exe is told: `/EXPORT:` options (on the command line or
//! in an object's `.drectve`) and module-definition (`.def`) files, which rustc writes for every
//! `cdylib` and `dylib` on Windows targets.
//!
//! `/EXPORT:entryname[=internal][,@ordinal[,NONAME]][,DATA][,PRIVATE]`; in a `.def` file, an
//! `EXPORTS` section with one `entryname[=internal] [@ordinal [NONAME]] [DATA] [PRIVATE]` per
//! line. An `internal` name with a dot (`other.func`) makes a forwarder: the loader resolves
//! the export in the other DLL.

use crate::bail;
use crate::diag::Result;

/// One exported name of a DLL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// The name other images import.
    pub name: String,
    /// The symbol that defines it (the same name unless `name=internal`), or `DLL.name` for a
    /// forwarder.
    pub internal: String,
    pub ordinal: Option<u16>,
    /// Exported by ordinal only: no entry in the name table.
    pub noname: bool,
    /// Data (import libraries only reach it through `__imp_`); the export table is the same.
    pub data: bool,
    /// Where the export was asked for (a `.def` file, an object, the command line), for
    /// messages.
    pub origin: String,
}

impl ExportSpec {
    /// Forwarded to another DLL (`internal` is `DLL.name`, or `DLL.#ordinal`).
    pub fn forwarder(&self) -> Option<&str> {
        self.internal
            .contains('.')
            .then_some(self.internal.as_str())
    }
}

/// Parses the value of `/EXPORT:` (`name[=internal][,@ordinal[,NONAME]][,DATA][,PRIVATE]`).
pub fn parse_export_option(value: &str) -> Result<ExportSpec> {
    let mut parts = value.split(',');
    let head = parts.next().unwrap_or("");
    let (name, internal) = match head.split_once('=') {
        Some((n, i)) => (unquote(n), unquote(i)),
        None => (unquote(head), unquote(head)),
    };
    if name.is_empty() || internal.is_empty() {
        bail!("/EXPORT:{value}: no name to export");
    }
    let mut spec = ExportSpec {
        name: name.to_string(),
        internal: internal.to_string(),
        ordinal: None,
        noname: false,
        data: false,
        origin: "the command line".to_string(),
    };
    for p in parts {
        let p = p.trim();
        if let Some(ord) = p.strip_prefix('@') {
            spec.ordinal = Some(parse_ordinal(ord).ok_or_else(|| {
                crate::diag::Error::new(format!("/EXPORT:{value}: bad ordinal @{ord}"))
            })?);
        } else {
            match p.to_ascii_uppercase().as_str() {
                "NONAME" => spec.noname = true,
                "DATA" => spec.data = true,
                // Only keeps the name out of an import library, which rlink does not write.
                "PRIVATE" => {}
                _ => bail!("/EXPORT:{value}: unknown attribute {p}"),
            }
        }
    }
    if spec.noname && spec.ordinal.is_none() {
        bail!("/EXPORT:{value}: NONAME needs an ordinal");
    }
    Ok(spec)
}

fn parse_ordinal(s: &str) -> Option<u16> {
    s.trim().parse::<u16>().ok().filter(|&o| o != 0)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

/// What a module-definition file says: the DLL's name (`LIBRARY`) and its exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefFile {
    pub library: Option<String>,
    pub exports: Vec<ExportSpec>,
    /// `STACKSIZE reserve[,commit]`.
    pub stack: Option<(u64, Option<u64>)>,
}

/// Reads the `.def` file at `path` into `link`: its exports, its DLL name (`soname`) and its
/// stack size.
pub fn read_def_into(link: &mut crate::plan::LinkArgs, path: &str) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::diag::Error::new(format!("{path}: {e}")))?;
    let def = parse_def(&text).map_err(|e| e.at(path))?;
    link.exports.extend(def.exports.into_iter().map(|mut e| {
        e.origin = path.to_string();
        e
    }));
    if def.library.is_some() {
        link.soname = def.library;
    }
    if def.stack.is_some() {
        link.stack = def.stack;
    }
    Ok(())
}

/// Parses a `.def` file. Statements that would change the image in ways rlink does not
/// implement (`SECTIONS`, `HEAPSIZE`, `VERSION`, `STUB`) are errors, not silently dropped.
pub fn parse_def(text: &str) -> Result<DefFile> {
    let mut def = DefFile::default();
    let mut in_exports = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split(';').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |msg: String| crate::diag::Error::new(format!("line {}: {msg}", n + 1));
        let mut words = tokens(line);
        let first = words.first().cloned().unwrap_or_default();
        match first.to_ascii_uppercase().as_str() {
            "LIBRARY" | "NAME" => {
                in_exports = false;
                if first.eq_ignore_ascii_case("NAME") {
                    return Err(at(
                        "NAME makes an executable; rlink reads .def files for DLLs".into(),
                    ));
                }
                if let Some(name) = words.get(1) {
                    if !name.eq_ignore_ascii_case("BASE") {
                        def.library = Some(name.clone());
                    }
                }
                if words
                    .iter()
                    .any(|w| w.to_ascii_uppercase().starts_with("BASE"))
                {
                    return Err(at(
                        "LIBRARY … BASE= is not supported (the base is 0x180000000)".into(),
                    ));
                }
                continue;
            }
            "EXPORTS" => {
                in_exports = true;
                words.remove(0);
                if words.is_empty() {
                    continue;
                }
            }
            "STACKSIZE" => {
                in_exports = false;
                let v = words
                    .get(1)
                    .ok_or_else(|| at("STACKSIZE wants a size".into()))?;
                def.stack = Some(parse_sizes(v).ok_or_else(|| at(format!("bad size {v}")))?);
                continue;
            }
            "DESCRIPTION" => {
                in_exports = false;
                continue;
            }
            "HEAPSIZE" | "SECTIONS" | "VERSION" | "STUB" | "IMPORTS" => {
                return Err(at(format!("{first} is not supported")));
            }
            _ if !in_exports => return Err(at(format!("unknown statement {first}"))),
            _ => {}
        }
        def.exports
            .push(export_line(&words).map_err(|e| at(e.message().to_string()))?);
    }
    Ok(def)
}

/// One `EXPORTS` line, split into words.
fn export_line(words: &[String]) -> Result<ExportSpec> {
    let Some(head) = words.first() else {
        bail!("empty export");
    };
    // `name = internal` may be written with spaces around the `=`.
    let (mut spec, rest) = if words.get(1).map(String::as_str) == Some("=") {
        let Some(internal) = words.get(2) else {
            bail!("{head} = what?");
        };
        (
            parse_export_option(&format!("{head}={internal}"))?,
            &words[3..],
        )
    } else {
        (parse_export_option(head)?, &words[1..])
    };
    let mut i = 0;
    while i < rest.len() {
        let w = &rest[i];
        if let Some(ord) = w.strip_prefix('@') {
            let ord = if ord.is_empty() {
                i += 1;
                rest.get(i).map(String::as_str).unwrap_or("")
            } else {
                ord
            };
            spec.ordinal = Some(
                parse_ordinal(ord)
                    .ok_or_else(|| crate::diag::Error::new(format!("bad ordinal @{ord}")))?,
            );
        } else {
            match w.to_ascii_uppercase().as_str() {
                "NONAME" => spec.noname = true,
                "DATA" | "CONSTANT" => spec.data = true,
                "PRIVATE" => {}
                _ => bail!("unknown export attribute {w}"),
            }
        }
        i += 1;
    }
    if spec.noname && spec.ordinal.is_none() {
        bail!("{}: NONAME needs an ordinal", spec.name);
    }
    Ok(spec)
}

/// Words of a `.def` line: runs of non-space, a quoted run kept whole, `=` on its own.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            '=' if !quoted && cur.is_empty() => out.push("=".into()),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `reserve[,commit]`, decimal or `0x` hex, as `/STACK:` and `STACKSIZE` take them.
pub fn parse_sizes(v: &str) -> Option<(u64, Option<u64>)> {
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    };
    let mut it = v.split(',');
    let reserve = num(it.next()?)?;
    let commit = match it.next() {
        Some(c) => Some(num(c)?),
        None => None,
    };
    if it.next().is_some() || reserve == 0 {
        return None;
    }
    Some((reserve, commit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_options() {
        let e = parse_export_option("foo").unwrap();
        assert_eq!((e.name.as_str(), e.internal.as_str()), ("foo", "foo"));
        let e = parse_export_option("pub=impl,@7,NONAME,DATA").unwrap();
        assert_eq!(e.internal, "impl");
        assert_eq!(e.ordinal, Some(7));
        assert!(e.noname && e.data);
        assert!(parse_export_option("x,NONAME").is_err());
        assert!(parse_export_option("x,BOGUS").is_err());
        let f = parse_export_option("Beep=kernel32.Beep").unwrap();
        assert_eq!(f.forwarder(), Some("kernel32.Beep"));
    }

    #[test]
    fn def_files() {
        // What rustc writes for a cdylib.
        let def = parse_def("LIBRARY\nEXPORTS\n    ProcessPrng\n    other @3\n").unwrap();
        assert_eq!(def.library, None);
        assert_eq!(def.exports.len(), 2);
        assert_eq!(def.exports[1].ordinal, Some(3));
        let def = parse_def(
            "; comment\nLIBRARY \"my lib.dll\"\nSTACKSIZE 0x200000\nEXPORTS a = b @ 2 NONAME ; c\n  d DATA\n",
        )
        .unwrap();
        assert_eq!(def.library.as_deref(), Some("my lib.dll"));
        assert_eq!(def.stack, Some((0x200000, None)));
        assert_eq!(def.exports[0].internal, "b");
        assert_eq!(def.exports[0].ordinal, Some(2));
        assert!(def.exports[0].noname);
        assert!(def.exports[1].data);
        assert!(parse_def("SECTIONS\n .x READ\n").is_err());
        assert!(parse_def("frob\n").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_sizes("0x800000,4096"), Some((0x800000, Some(4096))));
        assert_eq!(parse_sizes("1048576"), Some((1048576, None)));
        assert_eq!(parse_sizes("x"), None);
    }
}
