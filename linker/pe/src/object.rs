//! The COFF loader: an x86-64 relocatable COFF object (regular or `/bigobj`) into the linker's
//! own view ([`ObjectView`]), validated once.
//!
//! What the loader absorbs so the pipeline sees the same shape as for ELF:
//! - Section names keep their `$` suffix (`.text$mn`, `.CRT$XCU`, `.tls$`): the layout groups
//!   sections by the part before `$` and orders each group by the whole name, as link.exe does.
//! - Symbol indices count auxiliary records; the view numbers real symbols only (index 0 is a
//!   null entry, as in ELF), and relocations are renumbered to match.
//! - Addends are stored in the place; the view's are explicit, PC-relative ones in ELF's form
//!   (S + A − P, so `REL32` has A = stored − 4 and `REL32_k` A = stored − 4 − k).
//! - COMDAT sections form groups named by their COMDAT symbol; a section associative to a
//!   COMDAT (its `.pdata`, `.xdata`) joins its leader's group, so both are kept or dropped
//!   together, and follows its leader through garbage collection ([`ObjectView::associated`]).
//! - A weak external (`WEAK_EXTERNAL`, what `__attribute__((weak))` and `/ALTERNATENAME` give)
//!   is a weak undefined reference.

use object::pe;
use object::read::coff::{CoffHeader, Symbol as _};
use object::LittleEndian as LE;
use rlink_linker::object::{
    Binding, ComdatSelection, Group, LinkerOption, ObjectView, Reloc, Relocs, Section,
    SectionFlags, SymPlace, Symbol, SymbolKind, Visibility,
};
use rlink_linker::target::Cpu;
use rlink_linker::{bail, Error, Result};

pub const IMAGE_SCN_CNT_CODE: u32 = 0x20;
pub const IMAGE_SCN_CNT_UNINITIALIZED_DATA: u32 = 0x80;
pub const IMAGE_SCN_LNK_INFO: u32 = 0x200;
pub const IMAGE_SCN_LNK_REMOVE: u32 = 0x800;
pub const IMAGE_SCN_LNK_COMDAT: u32 = 0x1000;
pub const IMAGE_SCN_MEM_DISCARDABLE: u32 = 0x0200_0000;
pub const IMAGE_SCN_MEM_EXECUTE: u32 = 0x2000_0000;
pub const IMAGE_SCN_MEM_WRITE: u32 = 0x8000_0000;

const IMAGE_SYM_CLASS_EXTERNAL: u8 = 2;
const IMAGE_SYM_CLASS_STATIC: u8 = 3;
const IMAGE_SYM_CLASS_LABEL: u8 = 6;
const IMAGE_SYM_CLASS_FILE: u8 = 103;
const IMAGE_SYM_CLASS_SECTION: u8 = 104;
const IMAGE_SYM_CLASS_WEAK_EXTERNAL: u8 = 105;
const IMAGE_SYM_DTYPE_FUNCTION: u16 = 0x20;
const IMAGE_SYM_ABSOLUTE: i32 = -1;
const IMAGE_SYM_DEBUG: i32 = -2;

const IMAGE_COMDAT_SELECT_NODUPLICATES: u8 = 1;
const IMAGE_COMDAT_SELECT_ANY: u8 = 2;
const IMAGE_COMDAT_SELECT_SAME_SIZE: u8 = 3;
const IMAGE_COMDAT_SELECT_EXACT_MATCH: u8 = 4;
const IMAGE_COMDAT_SELECT_ASSOCIATIVE: u8 = 5;
const IMAGE_COMDAT_SELECT_LARGEST: u8 = 6;

fn malformed(place: &str, e: object::read::Error) -> Error {
    Error::new(format!("{place}: truncated or malformed COFF object: {e}"))
}

/// Reads a relocatable COFF object in place; `width` is how many bytes each relocation type
/// of the CPU writes (its table knows).
pub fn load<'a>(
    place: String,
    data: &'a [u8],
    width: &dyn Fn(u32) -> u64,
) -> Result<ObjectView<'a>> {
    let bigobj = data.len() >= 32
        && data[0..2] == [0, 0]
        && data[2..4] == [0xff, 0xff]
        && data[12..28] == pe::ANON_OBJECT_HEADER_BIGOBJ_CLASS_ID.0;
    if bigobj {
        load_with::<pe::AnonObjectHeaderBigobj>(place, data, width)
    } else {
        load_with::<pe::ImageFileHeader>(place, data, width)
    }
}

fn load_with<'a, H: CoffHeader>(
    place: String,
    data: &'a [u8],
    width: &dyn Fn(u32) -> u64,
) -> Result<ObjectView<'a>> {
    let mut offset = 0;
    let header = H::parse(data, &mut offset).map_err(|e| malformed(&place, e))?;
    if header.machine() != pe::IMAGE_FILE_MACHINE_AMD64 {
        bail!(
            "{place}: COFF machine {:#x} is not x86-64 (AMD64)",
            header.machine()
        );
    }
    let table = header
        .sections(data, offset)
        .map_err(|e| malformed(&place, e))?;
    let symtab = header.symbols(data).map_err(|e| malformed(&place, e))?;
    let strings = symtab.strings();
    let nsect = table.len();

    let mut sections = vec![Section {
        name: b"",
        data: &[],
        size: 0,
        raw_flags: 0,
        raw_type: 0,
        raw_entsize: 0,
        flags: SectionFlags::default(),
        align_log2: 0,
        merge_entsize: 0,
    }];
    let mut raw_relocs: Vec<&[pe::ImageRelocation]> = vec![&[]];
    for (i, s) in table.iter().enumerate() {
        let name = s.name(strings).map_err(|e| malformed(&place, e))?;
        let characteristics = s.characteristics.get(LE).0;
        let zero_fill = characteristics & IMAGE_SCN_CNT_UNINITIALIZED_DATA != 0;
        let bytes = if zero_fill {
            &[][..]
        } else {
            s.coff_data(data).map_err(|()| {
                Error::new(format!(
                    "{place}: section {} ({}) lies outside the file",
                    i + 1,
                    String::from_utf8_lossy(name)
                ))
            })?
        };
        let size = u64::from(s.size_of_raw_data.get(LE));
        let relocs = s.coff_relocations(data).map_err(|e| malformed(&place, e))?;
        let align = s.coff_alignment();
        sections.push(Section {
            name,
            data: bytes,
            size,
            raw_flags: characteristics,
            raw_type: 0,
            raw_entsize: 0,
            flags: section_flags(name, characteristics),
            align_log2: align.trailing_zeros() as u8,
            merge_entsize: 0,
        });
        raw_relocs.push(relocs);
    }

    // Symbols: raw index → view index (auxiliary records map to none).
    let nraw = symtab.len();
    let mut view_of = vec![u32::MAX; nraw];
    let mut symbols = vec![Symbol {
        name: b"",
        place: SymPlace::Undefined,
        value: 0,
        size: 0,
        binding: Binding::Local,
        kind: SymbolKind::NoType,
        visibility: Visibility::Default,
    }];
    // Per section: its COMDAT selection and associated section, from the section symbol's
    // auxiliary record; and the first symbol after it (the COMDAT symbol).
    let mut comdat: Vec<Option<(u8, u32)>> = vec![None; nsect + 1];
    // (name, external) of each COMDAT section's symbol.
    let mut comdat_symbol: Vec<Option<(&'a [u8], bool)>> = vec![None; nsect + 1];
    let mut iat_symbols: Vec<u32> = Vec::new();
    // Weak externals and the raw index of their default (LLVM's weak definitions are a weak
    // external whose default is the definition).
    let mut weak_tags: Vec<(usize, usize)> = Vec::new();
    let mut i = 0usize;
    while i < nraw {
        let sym = symtab
            .symbol(object::SymbolIndex(i))
            .map_err(|e| malformed(&place, e))?;
        let naux = usize::from(sym.number_of_aux_symbols());
        if i + naux >= nraw {
            bail!("{place}: symbol {i} has auxiliary records past the symbol table");
        }
        let name = sym.name(strings).map_err(|e| malformed(&place, e))?;
        let class = sym.storage_class().0;
        let section_number = sym.section_number().0;
        let value = u64::from(sym.value());
        let sect = match section_number {
            0 | IMAGE_SYM_ABSOLUTE | IMAGE_SYM_DEBUG => None,
            n if n >= 1 && (n as usize) <= nsect => Some(n as u32),
            n => bail!("{place}: symbol {i} names section {n} of {nsect}"),
        };
        let is_section_symbol = class == IMAGE_SYM_CLASS_STATIC
            && naux > 0
            && value == 0
            && sect.is_some_and(|s| sections[s as usize].name == name);
        if is_section_symbol {
            let s = sect.unwrap_or(0);
            let aux = symtab
                .aux_section(object::SymbolIndex(i))
                .map_err(|e| malformed(&place, e))?;
            if sections[s as usize].raw_flags & IMAGE_SCN_LNK_COMDAT != 0 {
                let mut number = u32::from(aux.number.get(LE));
                if H::is_type_bigobj() {
                    number |= u32::from(aux.high_number.get(LE)) << 16;
                }
                comdat[s as usize] = Some((aux.selection.0, number));
            }
        } else if let Some(s) = sect {
            if comdat[s as usize].is_some() && comdat_symbol[s as usize].is_none() {
                let external = matches!(
                    class,
                    IMAGE_SYM_CLASS_EXTERNAL | IMAGE_SYM_CLASS_WEAK_EXTERNAL
                );
                comdat_symbol[s as usize] = Some((name, external));
            }
        }
        let kind = if is_section_symbol {
            SymbolKind::Section
        } else if class == IMAGE_SYM_CLASS_FILE {
            SymbolKind::File
        } else if sect.is_some_and(|s| sections[s as usize].has(SectionFlags::TLS)) {
            // Thread-locals are told by their section (`.tls$`).
            SymbolKind::Tls
        } else if sym.typ().0 & 0xf0 == IMAGE_SYM_DTYPE_FUNCTION {
            SymbolKind::Func
        } else if sect.is_some() {
            SymbolKind::Data
        } else {
            SymbolKind::NoType
        };
        let (binding, place_of) = match class {
            IMAGE_SYM_CLASS_EXTERNAL => match (sect, section_number) {
                (Some(s), _) => (Binding::Global, SymPlace::Section(s)),
                (None, IMAGE_SYM_ABSOLUTE) => (Binding::Global, SymPlace::Absolute),
                // A tentative definition: the size is in the value.
                (None, _) if value > 0 => (Binding::Global, SymPlace::Common),
                (None, _) => (Binding::Global, SymPlace::Undefined),
            },
            IMAGE_SYM_CLASS_WEAK_EXTERNAL => (Binding::Weak, SymPlace::Undefined),
            IMAGE_SYM_CLASS_STATIC | IMAGE_SYM_CLASS_LABEL | IMAGE_SYM_CLASS_SECTION => {
                match (sect, section_number) {
                    (Some(s), _) => (Binding::Local, SymPlace::Section(s)),
                    (None, IMAGE_SYM_ABSOLUTE) => (Binding::Local, SymPlace::Absolute),
                    _ => (Binding::Local, SymPlace::Undefined),
                }
            }
            _ => (Binding::Local, SymPlace::Undefined),
        };
        if let SymPlace::Section(s) = place_of {
            let size = sections[s as usize].size;
            if value > size {
                bail!(
                    "{place}: symbol {} lies past the end of its section",
                    String::from_utf8_lossy(name)
                );
            }
        }
        // `__imp_NAME` (a `dllimport` reference) is `NAME`'s import slot: the view names
        // `NAME`, and its relocations are marked to read the slot.
        let (name, through_iat) = match name.strip_prefix(b"__imp_") {
            Some(rest) if place_of == SymPlace::Undefined && !rest.is_empty() => (rest, true),
            _ => (name, false),
        };
        if through_iat {
            iat_symbols.push(symbols.len() as u32);
        }
        if class == IMAGE_SYM_CLASS_WEAK_EXTERNAL && naux > 0 {
            let aux = symtab
                .aux_weak_external(object::SymbolIndex(i))
                .map_err(|e| malformed(&place, e))?;
            weak_tags.push((symbols.len(), aux.weak_default_sym_index.get(LE) as usize));
        }
        view_of[i] = symbols.len() as u32;
        symbols.push(Symbol {
            name,
            place: place_of,
            value: if place_of == SymPlace::Common {
                0
            } else {
                value
            },
            size: if place_of == SymPlace::Common {
                value
            } else {
                0
            },
            binding,
            kind,
            visibility: Visibility::Default,
        });
        i += 1 + naux;
    }

    // A weak external whose default is defined here is a weak definition of its name.
    for (weak, tag) in weak_tags {
        let Some(&t) = view_of.get(tag).filter(|&&t| t != u32::MAX) else {
            bail!("{place}: a weak external's default is symbol {tag}, not a symbol of the object");
        };
        let default = symbols[t as usize];
        // (A default of absolute 0 is a weak reference: it stays undefined.)
        if matches!(default.place, SymPlace::Section(_)) {
            let w = &mut symbols[weak];
            w.place = default.place;
            w.value = default.value;
            w.kind = default.kind;
        }
    }

    // COMDAT groups: each leader with the sections associative to it (transitively).
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut associated = Vec::new();
    let leader_of = |mut s: u32| -> Option<u32> {
        for _ in 0..=nsect {
            match comdat[s as usize] {
                Some((IMAGE_COMDAT_SELECT_ASSOCIATIVE, n)) if n >= 1 && n as usize <= nsect => {
                    s = n
                }
                Some((IMAGE_COMDAT_SELECT_ASSOCIATIVE, _)) => return None,
                Some(_) => return Some(s),
                None => return Some(s),
            }
        }
        None
    };
    let mut group_of_leader: Vec<Option<usize>> = vec![None; nsect + 1];
    for s in 1..=nsect as u32 {
        let Some((selection, number)) = comdat[s as usize] else {
            continue;
        };
        if selection == IMAGE_COMDAT_SELECT_ASSOCIATIVE {
            if number == 0 || number as usize > nsect {
                bail!("{place}: section {s} is associative to section {number} of {nsect}");
            }
            associated.push((s, number));
            continue;
        }
        let selection = match selection {
            IMAGE_COMDAT_SELECT_NODUPLICATES => ComdatSelection::NoDuplicates,
            IMAGE_COMDAT_SELECT_ANY => ComdatSelection::Any,
            IMAGE_COMDAT_SELECT_SAME_SIZE => ComdatSelection::SameSize,
            IMAGE_COMDAT_SELECT_EXACT_MATCH => ComdatSelection::ExactMatch,
            IMAGE_COMDAT_SELECT_LARGEST => ComdatSelection::Largest,
            other => bail!("{place}: section {s} has COMDAT selection {other}"),
        };
        // No COMDAT symbol (mingw's `.xdata$f` and the like): the section's name is the key,
        // as GNU ld's link-once sections are. A static COMDAT symbol (LLVM's function
        // sections of internal functions) is the object's own: nothing to fold it with.
        let signature = match comdat_symbol[s as usize] {
            Some((name, true)) => name,
            Some((_, false)) => continue,
            None => sections[s as usize].name,
        };
        group_of_leader[s as usize] = Some(groups.len());
        groups.push(Group {
            signature,
            members: vec![s],
            selection,
        });
    }
    // mingw's objects key `.pdata$f` and `.xdata$f` by name instead of making them
    // associative: they go with `.text$f` of the same object, as lld-link takes them.
    for s in 1..=nsect {
        let name = sections[s].name;
        let Some(rest) = name
            .strip_prefix(b".pdata$")
            .or_else(|| name.strip_prefix(b".xdata$"))
        else {
            continue;
        };
        if associated.iter().any(|&(a, _)| a as usize == s) {
            continue;
        }
        let text: Vec<u8> = [&b".text$"[..], rest].concat();
        if let Some(t) = (1..=nsect).find(|&t| sections[t].name == text.as_slice()) {
            associated.push((s as u32, t as u32));
            if let Some(g) = groups.iter().position(|g| g.members.contains(&(s as u32))) {
                groups[g].members.retain(|&m| m != s as u32);
                if groups[g].members.is_empty() {
                    groups.remove(g);
                    group_of_leader.iter_mut().for_each(|x| {
                        if let Some(v) = x {
                            if *v > g {
                                *v -= 1;
                            } else if *v == g {
                                *x = None;
                            }
                        }
                    });
                }
            }
        }
    }
    for &(s, to) in &associated {
        let Some(leader) = leader_of(to) else {
            bail!("{place}: section {s}: a cycle of associative COMDAT sections");
        };
        if let Some(g) = group_of_leader[leader as usize] {
            groups[g].members.push(s);
        }
    }

    // /OPT:REF drops only COMDAT sections nothing reaches: every other loaded section is a
    // root (link.exe's rule).
    for (si, section) in sections.iter_mut().enumerate().skip(1) {
        let in_comdat = comdat[si].is_some() || associated.iter().any(|&(a, _)| a as usize == si);
        if section.is_alloc() && !in_comdat {
            section.flags |= SectionFlags::GC_ROOT;
        }
    }

    // Relocations, with explicit addends.
    let mut relocations: Vec<Relocs<'a>> = vec![Relocs::leak(Vec::new())];
    for si in 1..sections.len() {
        let s = sections[si];
        let mut out = Vec::with_capacity(raw_relocs[si].len());
        for (k, r) in raw_relocs[si].iter().enumerate() {
            let offset = u64::from(r.virtual_address.get(LE));
            let raw_symbol = r.symbol_table_index.get(LE) as usize;
            let r_type = u32::from(r.typ.get(LE).0);
            let symbol = view_of.get(raw_symbol).copied().unwrap_or(u32::MAX);
            if symbol == u32::MAX {
                bail!(
                    "{place}: {}+{offset:#x}: relocation {k} names symbol {raw_symbol}, which is \
                     not a symbol of the object",
                    String::from_utf8_lossy(s.name)
                );
            }
            let w = width(r_type);
            if s.is_zero_fill() || offset.checked_add(w).is_none_or(|end| end > s.size) {
                bail!(
                    "{place}: {}+{offset:#x}: relocation {k} writes past the section's {:#x} bytes",
                    String::from_utf8_lossy(s.name),
                    s.size
                );
            }
            let stored = read_stored(s.data, offset as usize, w);
            let marked = if iat_symbols.binary_search(&symbol).is_ok() {
                r_type | crate::x86_64::THROUGH_IAT
            } else {
                r_type
            };
            out.push(Reloc {
                offset,
                symbol,
                r_type: marked,
                addend: stored.wrapping_sub(crate::x86_64::pcrel_bias(r_type)),
            });
        }
        out.sort_by_key(|r| r.offset);
        relocations.push(Relocs::leak(out));
    }

    let mut linker_options = Vec::new();
    for sec in sections.iter().filter(|s| s.name == b".drectve") {
        linker_options.extend(drectve_options(&place, sec.data)?);
    }

    // COFF has no producer note: rustc's objects are the ones defining Rust-mangled names.
    let rustc_comment = symbols.iter().any(|s| {
        !s.is_local()
            && matches!(s.place, SymPlace::Section(_))
            && rlink_linker::object::is_rust_mangled(s.name)
    });
    let mut view = ObjectView {
        place,
        cpu: Cpu::X86_64,
        data,
        sections,
        symbols,
        relocations,
        groups,
        associated,
        rustc_comment,
        linker_options,
        name_hashes: Vec::new(),
        defines_versioned: false,
    };
    view.hash_names();
    view.check(width)?;
    Ok(view)
}

/// The options of a `.drectve` section, through the allowlist: what rlink does with an
/// option an object may carry, or an error naming the object for any other. Options are
/// separated by spaces (a quoted run is one) and start with `/` or, as mingw writes them, `-`.
fn drectve_options<'a>(place: &str, data: &'a [u8]) -> Result<Vec<LinkerOption<'a>>> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i].is_ascii_whitespace() || data[i] == 0 {
            i += 1;
            continue;
        }
        let start = i;
        let mut quoted = false;
        while i < data.len() && (quoted || !(data[i].is_ascii_whitespace() || data[i] == 0)) {
            if data[i] == b'"' {
                quoted = !quoted;
            }
            i += 1;
        }
        let word = &data[start..i];
        let text = std::str::from_utf8(word).map_err(|_| {
            Error::new(format!(
                "{place}: .drectve holds an option that is not UTF-8 text"
            ))
        })?;
        let bad = |why: &str| Error::new(format!("{place}: .drectve option {text}: {why}"));
        let Some(body) = text.strip_prefix('/').or_else(|| text.strip_prefix('-')) else {
            return Err(bad("not an option"));
        };
        let (name, value) = body.split_once(':').unwrap_or((body, ""));
        // The value as a slice of the section, quotes removed.
        let value_at = start + 1 + name.len() + 1;
        let value_bytes: &'a [u8] = if value.is_empty() {
            &[]
        } else {
            let v = &data[value_at..i];
            v.strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(v)
        };
        let need = || -> Result<&'a [u8]> {
            if value_bytes.is_empty() {
                Err(bad("wants a value after a colon"))
            } else {
                Ok(value_bytes)
            }
        };
        match name.to_ascii_lowercase().as_str() {
            "defaultlib" => {
                let v = std::str::from_utf8(need()?).map_err(|_| bad("not UTF-8"))?;
                out.push(LinkerOption::DefaultLib(v));
            }
            "export" => {
                let v = std::str::from_utf8(need()?).map_err(|_| bad("not UTF-8"))?;
                let mut spec = rlink_linker::exports::parse_export_option(v)
                    .map_err(|e| Error::new(format!("{place}: .drectve: {}", e.message())))?;
                spec.origin = place.to_string();
                out.push(LinkerOption::Export(spec));
            }
            "include" => out.push(LinkerOption::Include(need()?)),
            "alternatename" => {
                let v = need()?;
                match v.iter().position(|&c| c == b'=') {
                    Some(eq) if eq > 0 && eq + 1 < v.len() => {
                        out.push(LinkerOption::AlternateName(&v[..eq], &v[eq + 1..]))
                    }
                    _ => return Err(bad("wants from=to")),
                }
            }
            // Checks and requests that do not change the image rlink writes: link.exe's
            // mismatch detection (MSVC's C++ objects carry it), the side-by-side manifest
            // (rlink writes none), guard and exception-model markers.
            "failifmismatch" | "manifestdependency" | "guardsym" | "throwingnew"
            | "editandcontinue" | "nodefaultlib" | "disallowlib" => {}
            // mingw: keep a name out of a DLL's automatic exports, which rlink never makes
            // (a DLL exports only what it is told to).
            "exclude-symbols" => {}
            "merge" => {
                let v = need()?;
                match v.iter().position(|&c| c == b'=') {
                    Some(eq) if eq > 0 && eq + 1 < v.len() => {
                        out.push(LinkerOption::Merge(&v[..eq], &v[eq + 1..]))
                    }
                    _ => return Err(bad("wants from=to")),
                }
            }
            "section" => return Err(bad("re-flagging output sections is not supported yet")),
            _ => return Err(bad("not an option rlink accepts from an object")),
        }
    }
    Ok(out)
}

/// The value stored at a place of `w` bytes, sign-extended (4- and 8-byte fields; 2-byte
/// `SECTION` indices are unsigned).
fn read_stored(data: &[u8], at: usize, w: u64) -> i64 {
    match w {
        8 => i64::from_le_bytes(data[at..at + 8].try_into().unwrap_or([0; 8])),
        4 => i64::from(i32::from_le_bytes(
            data[at..at + 4].try_into().unwrap_or([0; 4]),
        )),
        2 => i64::from(u16::from_le_bytes(
            data[at..at + 2].try_into().unwrap_or([0; 2]),
        )),
        _ => 0,
    }
}

/// The neutral flags of a COFF section.
fn section_flags(name: &[u8], characteristics: u32) -> SectionFlags {
    let base = name.split(|&c| c == b'$').next().unwrap_or(name);
    // Linker directives, address-significance tables and the like; and rlink's directives.
    if characteristics & (IMAGE_SCN_LNK_INFO | IMAGE_SCN_LNK_REMOVE) != 0
        || base == b".rlink.directives"
        || base == b".llvm_addrsig"
    {
        return SectionFlags::INPUT_ONLY;
    }
    let mut f = SectionFlags::default();
    // Debug sections (CodeView's `.debug$S`/`$T`, DWARF's `.debug_*`) are not loaded.
    if characteristics & IMAGE_SCN_MEM_DISCARDABLE == 0 && !base.starts_with(b".debug") {
        f |= SectionFlags::ALLOC;
    }
    if characteristics & (IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_EXECUTE) != 0 {
        f |= SectionFlags::EXEC;
    }
    if characteristics & IMAGE_SCN_MEM_WRITE != 0 {
        f |= SectionFlags::WRITE;
    }
    if characteristics & IMAGE_SCN_CNT_UNINITIALIZED_DATA != 0 {
        f |= SectionFlags::ZERO_FILL;
    }
    if base == b".tls" {
        f |= SectionFlags::TLS;
    }
    // C/C++ initializers and TLS callbacks are reached through the `$`-ordered arrays only.
    if base == b".CRT" || base == b".tls" {
        f |= SectionFlags::GC_ROOT;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drectve_allowlist() {
        let text = b" /DEFAULTLIB:\"uuid.lib\" -export:ProcessPrng,DATA /INCLUDE:keep \
                     /ALTERNATENAME:a=b /FAILIFMISMATCH:_MSC_VER=1900\0\0";
        let options = drectve_options("x.obj", text).unwrap();
        assert_eq!(options.len(), 4);
        assert!(matches!(options[0], LinkerOption::DefaultLib("uuid.lib")));
        match &options[1] {
            LinkerOption::Export(e) => assert!(e.name == "ProcessPrng" && e.data),
            other => panic!("{other:?}"),
        }
        assert!(matches!(options[2], LinkerOption::Include(b"keep")));
        assert!(matches!(
            options[3],
            LinkerOption::AlternateName(b"a", b"b")
        ));
        let e = drectve_options("x.obj", b"/OPT:NOREF").unwrap_err();
        assert!(
            e.to_string().contains("x.obj: .drectve option /OPT:NOREF"),
            "{e}"
        );
        assert!(matches!(
            drectve_options("x.obj", b"/MERGE:.a=.b").unwrap()[..],
            [LinkerOption::Merge(b".a", b".b")]
        ));
        assert!(drectve_options("x.obj", b"/SECTION:.a,R").is_err());
        assert!(drectve_options("x.obj", b"stray").is_err());
    }
}
