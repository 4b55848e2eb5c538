//! `rlink inspect`: one canonical text dump for ELF, Mach-O and PE/COFF files.
//!
//! Each format back end fills the same [`Report`]; this module alone decides how it prints,
//! so every format reads alike and golden files diff line by line. Addresses and file offsets
//! churn with every layout change, so they are printed only when asked (`-addresses`); what a
//! reviewer cares about (names, kinds, permissions, sizes, imports) is always there.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the dump shows beyond the stable core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InspectOptions {
    /// Print virtual addresses and file offsets.
    pub addresses: bool,
}

/// A segment (ELF program header, Mach-O segment command).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// `LOAD`, `DYNAMIC`, `__TEXT`…
    pub kind: String,
    /// Permissions as `rwx` with `-` for absent ones.
    pub perms: String,
    pub address: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub memory_size: u64,
    pub align: u64,
    /// Sections it contains, in address order.
    pub sections: Vec<String>,
}

/// A section as the file describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The format's own type name (`PROGBITS`, `S_REGULAR`, …).
    pub kind: String,
    /// Flags in the format's own spelling (`AX`, `CODE|EXECUTE|READ`, …).
    pub flags: String,
    pub address: u64,
    pub size: u64,
    pub align: u64,
}

/// A symbol the file takes from elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    pub name: String,
    pub version: Option<String>,
    pub library: Option<String>,
    pub weak: bool,
}

/// The format-neutral dump a back end produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Header essentials as `key: value` lines, in the back end's order.
    pub header: Vec<(String, String)>,
    /// The entry point, as an address.
    pub entry: Option<u64>,
    /// The entry point described without addresses (`.text+0x10`, `_start`).
    pub entry_place: Option<String>,
    pub interpreter: Option<String>,
    pub soname: Option<String>,
    pub rpaths: Vec<String>,
    pub segments: Vec<Segment>,
    pub sections: Vec<Section>,
    pub needed: Vec<String>,
    pub imports: Vec<Import>,
    /// Defined symbols visible outside the file (dynamic exports of an image; global
    /// definitions of an object).
    pub exports: Vec<String>,
    /// Relocation counts by type name, over the whole file.
    pub relocations: BTreeMap<String, u64>,
    /// Where the directives were found (`.rlink.directives`) and their canonical lines.
    pub directives: Option<(String, Vec<String>)>,
    /// Format-specific blocks (load commands, data directories, dynamic tags), each a title
    /// and its lines.
    pub extra: Vec<(String, Vec<String>)>,
}

impl Report {
    pub fn header(&mut self, key: &str, value: impl Into<String>) {
        self.header.push((key.to_string(), value.into()));
    }

    pub fn count_relocation(&mut self, type_name: &str) {
        *self.relocations.entry(type_name.to_string()).or_insert(0) += 1;
    }

    /// Renders the report. Same report, same bytes: every list is printed in a fixed order.
    pub fn render(&self, opts: &InspectOptions) -> String {
        let mut out = String::new();
        for (key, value) in &self.header {
            line(&mut out, format_args!("{key}: {value}"));
        }
        match (&self.entry_place, self.entry) {
            (Some(place), Some(addr)) if opts.addresses => {
                line(&mut out, format_args!("entry: {place} ({addr:#x})"))
            }
            (Some(place), _) => line(&mut out, format_args!("entry: {place}")),
            (None, Some(addr)) if opts.addresses => {
                line(&mut out, format_args!("entry: {addr:#x}"))
            }
            _ => {}
        }
        if let Some(interp) = &self.interpreter {
            line(&mut out, format_args!("interpreter: {interp}"));
        }
        if let Some(soname) = &self.soname {
            line(&mut out, format_args!("soname: {soname}"));
        }
        list(&mut out, "rpath", &self.rpaths);

        if !self.segments.is_empty() {
            line(&mut out, format_args!("segments: {}", self.segments.len()));
            for s in &self.segments {
                let mut l = format!("  {} {} align={}", s.kind, s.perms, s.align);
                if opts.addresses {
                    let _ = write!(l, " addr={:#x} off={:#x}", s.address, s.file_offset);
                }
                let _ = write!(l, " filesz={} memsz={}", s.file_size, s.memory_size);
                if !s.sections.is_empty() {
                    let _ = write!(l, " [{}]", s.sections.join(" "));
                }
                line(&mut out, format_args!("{l}"));
            }
        }
        if !self.sections.is_empty() {
            line(&mut out, format_args!("sections: {}", self.sections.len()));
            for s in &self.sections {
                let mut l = format!("  {} {}", display_name(&s.name), s.kind);
                if !s.flags.is_empty() {
                    let _ = write!(l, " {}", s.flags);
                }
                let _ = write!(l, " size={} align={}", s.size, s.align);
                if opts.addresses {
                    let _ = write!(l, " addr={:#x}", s.address);
                }
                line(&mut out, format_args!("{l}"));
            }
        }
        list(&mut out, "needed", &self.needed);

        let mut imports = self.imports.clone();
        imports.sort();
        imports.dedup();
        if !imports.is_empty() {
            line(&mut out, format_args!("imports: {}", imports.len()));
            for i in &imports {
                let mut l = format!("  {}", display_name(&i.name));
                if let Some(v) = &i.version {
                    let _ = write!(l, "#{v}");
                }
                if let Some(lib) = &i.library {
                    let _ = write!(l, " from {lib}");
                }
                if i.weak {
                    l.push_str(" weak");
                }
                line(&mut out, format_args!("{l}"));
            }
        }
        let mut exports = self.exports.clone();
        exports.sort();
        exports.dedup();
        let exports: Vec<String> = exports.iter().map(|e| display_name(e)).collect();
        list(&mut out, "exports", &exports);

        if !self.relocations.is_empty() {
            let total: u64 = self.relocations.values().sum();
            line(&mut out, format_args!("relocations: {total}"));
            for (kind, n) in &self.relocations {
                line(&mut out, format_args!("  {kind} {n}"));
            }
        }
        if let Some((section, lines)) = &self.directives {
            line(
                &mut out,
                format_args!("directives: {} in {section}", lines.len()),
            );
            for l in lines {
                line(&mut out, format_args!("  {l}"));
            }
        }
        for (title, lines) in &self.extra {
            list(&mut out, title, lines);
        }
        out
    }
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
    out.push('\n');
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    line(out, format_args!("{title}: {}", items.len()));
    for item in items {
        line(out, format_args!("  {item}"));
    }
}

/// Names come from the file and may hold anything; the dump stays one item per line and
/// printable, so control characters and non-UTF-8 are escaped.
pub fn display_name(name: &str) -> String {
    if name.is_empty() {
        return "\"\"".to_string();
    }
    if name.chars().all(|c| !c.is_control() && c != ' ') {
        return name.to_string();
    }
    format!("{name:?}")
}

/// Bytes from a file as a name: UTF-8 as is, anything else escaped.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.escape_ascii().to_string(),
    }
}

/// Permissions as `rwx`.
pub fn perms(read: bool, write: bool, exec: bool) -> String {
    let mut s = String::with_capacity(3);
    s.push(if read { 'r' } else { '-' });
    s.push(if write { 'w' } else { '-' });
    s.push(if exec { 'x' } else { '-' });
    s
}

/// The named bits joined by `|` (prefix removed), then any unnamed rest in hex.
pub fn join_flags<T>(names: &object::FlagNames<T>, value: T, prefix: &str) -> String
where
    T: object::Wrap,
    T::Inner: Copy
        + Default
        + PartialEq
        + std::fmt::LowerHex
        + std::ops::BitAnd<Output = T::Inner>
        + std::ops::Not<Output = T::Inner>,
{
    let mut parts: Vec<String> = Vec::new();
    let rest = names.bit_names(value, |_, name| {
        parts.push(name.strip_prefix(prefix).unwrap_or(name).to_string())
    });
    if rest != T::Inner::default() {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// A constant's name without its prefix (`SHT_PROGBITS` → `PROGBITS`), or its value in hex.
pub fn constant_name(name: Option<&str>, prefix: &str, value: impl std::fmt::LowerHex) -> String {
    match name {
        Some(n) => n.strip_prefix(prefix).unwrap_or(n).to_string(),
        None => format!("{value:#x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::default();
        r.header("format", "ELF64 little-endian");
        r.entry = Some(0x1040);
        r.entry_place = Some(".text+0x0".into());
        r.sections.push(Section {
            name: ".text".into(),
            kind: "PROGBITS".into(),
            flags: "AX".into(),
            address: 0x1040,
            size: 10,
            align: 16,
        });
        r.imports.push(Import {
            name: "puts".into(),
            version: Some("GLIBC_2.2.5".into()),
            library: Some("libc.so.6".into()),
            weak: false,
        });
        r.imports.push(Import {
            name: "__gmon_start__".into(),
            weak: true,
            ..Default::default()
        });
        r.count_relocation("R_X86_64_PLT32");
        r.count_relocation("R_X86_64_PLT32");
        r.count_relocation("R_X86_64_64");
        r
    }

    #[test]
    fn addresses_only_when_asked() {
        let r = sample();
        let plain = r.render(&InspectOptions::default());
        assert!(!plain.contains("0x1040"), "{plain}");
        assert!(plain.contains("entry: .text+0x0\n"), "{plain}");
        let full = r.render(&InspectOptions { addresses: true });
        assert!(full.contains("entry: .text+0x0 (0x1040)\n"), "{full}");
        assert!(full.contains("addr=0x1040"), "{full}");
    }

    #[test]
    fn lists_are_sorted_and_counted() {
        let text = sample().render(&InspectOptions::default());
        let want = "imports: 2\n  __gmon_start__ weak\n  puts#GLIBC_2.2.5 from libc.so.6\n";
        assert!(text.contains(want), "{text}");
        assert!(
            text.contains("relocations: 3\n  R_X86_64_64 1\n  R_X86_64_PLT32 2\n"),
            "{text}"
        );
    }

    #[test]
    fn hostile_names_stay_on_one_line() {
        assert_eq!(display_name("a\nb"), "\"a\\nb\"");
        assert_eq!(display_name(""), "\"\"");
        assert_eq!(name_from_bytes(b"ok"), "ok");
        assert_eq!(name_from_bytes(b"\xff"), "\\xff");
    }
}
