//! External linking's first half for Windows targets: the Rust objects of the link merged
//! into one COFF object for the host linker (mingw's `ld` through `x86_64-w64-mingw32-gcc`,
//! or clang's), as Go's linker writes `go.o`.
//!
//! - Every kept input section becomes a section under its own name, `$` suffix and all, so
//!   the host linker groups and orders them as it would the inputs. COMDAT groups stay COMDAT
//!   groups (leader and associative `.pdata`/`.xdata`), with their selection, so the host's
//!   `--gc-sections` or `/OPT:REF` still drops unused functions.
//! - Relocations are carried over with their types; COFF keeps addends in the place, which
//!   the writer puts back.
//! - The loader reads a `dllimport` reference to `__imp_NAME` as `NAME` through the IAT; here
//!   it is `__imp_NAME` again: undefined for the host linker's import libraries, or, when the
//!   Rust objects define `NAME` themselves, a local pointer slot holding its address.
//! - Mangled Rust names nothing outside uses become local, as in ELF and Mach-O external mode.

use object::pe;
use object::write::{Comdat, Object, Relocation, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, ComdatKind, Endianness, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};
use rlink_linker::object::{
    is_rust_mangled, ComdatSelection, ObjectView, SectionFlags, SymPlace, SymbolKind as Kind,
};
use rlink_linker::resolve::{Def, Resolution, LOCAL};
use rlink_linker::{Error, Result};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::x86_64::THROUGH_IAT;

/// Alignment bits of a section's characteristics: the writer sets them from the alignment.
const IMAGE_SCN_ALIGN_MASK: u32 = 0x00f0_0000;

fn section_kind(flags: SectionFlags) -> SectionKind {
    if !flags.contains(SectionFlags::ALLOC) {
        SectionKind::Other
    } else if flags.contains(SectionFlags::EXEC) {
        SectionKind::Text
    } else if flags.contains(SectionFlags::ZERO_FILL) {
        SectionKind::UninitializedData
    } else if flags.contains(SectionFlags::WRITE) {
        SectionKind::Data
    } else {
        SectionKind::ReadOnlyData
    }
}

fn comdat_kind(selection: ComdatSelection) -> ComdatKind {
    match selection {
        ComdatSelection::Any | ComdatSelection::Associative(_) => ComdatKind::Any,
        ComdatSelection::NoDuplicates => ComdatKind::NoDuplicates,
        ComdatSelection::SameSize => ComdatKind::SameSize,
        ComdatSelection::ExactMatch => ComdatKind::ExactMatch,
        ComdatSelection::Largest => ComdatKind::Largest,
    }
}

/// Builds the combined object from the resolution's Rust objects (`res.host[i]` marks the
/// objects the host linker reads itself). `exported` names must stay global;
/// `aliases` (`cgo_export_static local remote`) add a second name for a definition.
pub fn combine(
    res: &Resolution<'_>,
    exported: &FxHashSet<Vec<u8>>,
    aliases: &[(Vec<u8>, Vec<u8>)],
) -> Result<Vec<u8>> {
    let host = &res.host;
    let mut out = Object::new(BinaryFormat::Coff, Architecture::X86_64, Endianness::Little);
    let mut sections: Vec<Vec<Option<object::write::SectionId>>> = res
        .objects
        .iter()
        .map(|o| vec![None; o.sections.len()])
        .collect();
    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        for (si, header) in o.sections.iter().enumerate().skip(1) {
            if res.discarded[oi][si] || header.has(SectionFlags::INPUT_ONLY) {
                continue;
            }
            let id = out.add_section(Vec::new(), header.name.to_vec(), section_kind(header.flags));
            if header.is_zero_fill() {
                out.append_section_bss(id, header.size, header.align());
            } else {
                out.set_section_data(id, header.data, header.align());
            }
            let characteristics =
                header.raw_flags & !(IMAGE_SCN_ALIGN_MASK | crate::object::IMAGE_SCN_LNK_COMDAT);
            out.section_mut(id).flags = object::SectionFlags::Coff {
                characteristics: pe::SectionFlags(characteristics),
            };
            sections[oi][si] = Some(id);
        }
    }

    // COFF records a COMDAT's selection on its sections' section symbols, and readers (lld)
    // take the first symbol after the leader's section symbol for the COMDAT's name: the
    // section symbols go first.
    for (oi, o) in res.objects.iter().enumerate() {
        for g in &o.groups {
            for &m in &g.members {
                if let Some(id) = sections[oi][m as usize] {
                    out.section_symbol(id);
                }
            }
        }
    }

    // References into dropped sections (debug info of a discarded COMDAT copy) point at one
    // absolute zero symbol.
    let tombstone = out.add_symbol(Symbol {
        name: b".rlink.discarded".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Label,
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Absolute,
        flags: SymbolFlags::None,
    });

    let host_refs = res.host_references();
    let mut rust_refs: FxHashSet<&[u8]> = FxHashSet::default();
    for (oi, o) in res.objects.iter().enumerate() {
        if !host[oi] {
            for s in &o.symbols {
                if !s.is_local() && s.place == SymPlace::Undefined {
                    rust_refs.insert(s.name);
                }
            }
        }
    }

    // Global names, once each.
    let mut globals: FxHashMap<u32, SymbolId> = FxHashMap::default();
    for (id, g) in res.globals.iter().enumerate() {
        let defined_here = matches!(g.def, Def::Object { obj, .. } if !host[obj as usize]);
        if !defined_here && !rust_refs.contains(g.name) {
            continue;
        }
        let symbol = match g.def {
            Def::Object { obj, sym, .. } if !host[obj as usize] => {
                let s = &res.objects[obj as usize].symbols[sym as usize];
                let section = match s.place {
                    SymPlace::Section(sec) => match sections[obj as usize][sec as usize] {
                        Some(id) => SymbolSection::Section(id),
                        None => continue,
                    },
                    SymPlace::Absolute => SymbolSection::Absolute,
                    _ => continue,
                };
                let visible = !is_rust_mangled(g.name)
                    || host_refs.contains(g.name)
                    || exported.contains(g.name);
                Symbol {
                    name: g.name.to_vec(),
                    value: s.value,
                    size: 0,
                    kind: symbol_kind(s.kind),
                    scope: if visible {
                        SymbolScope::Linkage
                    } else {
                        SymbolScope::Compilation
                    },
                    weak: false,
                    section,
                    flags: SymbolFlags::None,
                }
            }
            _ => {
                // Undefined here: a host object, an import library or the host's runtime has it.
                let name = match g.def {
                    Def::Dynamic { import } => res.imports[import as usize].remote.clone(),
                    _ => g.name.to_vec(),
                };
                Symbol {
                    name,
                    value: 0,
                    size: 0,
                    kind: SymbolKind::Unknown,
                    scope: SymbolScope::Linkage,
                    weak: false,
                    section: SymbolSection::Undefined,
                    flags: SymbolFlags::None,
                }
            }
        };
        globals.insert(id as u32, out.add_symbol(symbol));
    }

    // `__imp_NAME` for the relocations that read an import slot, made on first use.
    let mut imp: FxHashMap<u32, SymbolId> = FxHashMap::default();
    let mut slots: Option<object::write::SectionId> = None;

    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        let mut locals: FxHashMap<u32, SymbolId> = FxHashMap::default();
        for (si, relocs) in o.relocations.iter().enumerate() {
            let Some(target_section) = sections[oi][si] else {
                continue;
            };
            for r in relocs.iter() {
                let global = res
                    .symbol_ids
                    .get(oi)
                    .and_then(|ids| ids.get(r.symbol as usize))
                    .copied()
                    .filter(|&id| id != LOCAL);
                let symbol = match global {
                    Some(id) if r.r_type & THROUGH_IAT != 0 => {
                        import_slot(&mut out, res, id, &globals, &mut imp, &mut slots)?
                    }
                    Some(id) => globals.get(&id).copied().unwrap_or(tombstone),
                    None => match locals.get(&r.symbol) {
                        Some(&s) => s,
                        None => {
                            let s = local_symbol(&mut out, o, r.symbol, &sections[oi], tombstone)?;
                            locals.insert(r.symbol, s);
                            s
                        }
                    },
                };
                out.add_relocation(
                    target_section,
                    Relocation {
                        offset: r.offset,
                        symbol,
                        addend: r.addend,
                        flags: object::RelocationFlags::Coff {
                            typ: pe::RelocationType((r.r_type & 0xffff) as u16),
                        },
                    },
                )
                .map_err(|e| Error::new(format!("{}: {}: {e}", o.place, o.section_name(si))))?;
            }
        }
        // COMDAT groups, their leader named by the group's symbol.
        for (gi, g) in o.groups.iter().enumerate() {
            let members: Vec<_> = g
                .members
                .iter()
                .filter_map(|&m| sections[oi][m as usize])
                .collect();
            let Some(&leader) = g.members.first() else {
                continue;
            };
            if members.len() != g.members.len() || sections[oi][leader as usize].is_none() {
                continue;
            }
            let Some(index) = o
                .symbols
                .iter()
                .position(|s| s.name == g.signature && s.place == SymPlace::Section(leader))
            else {
                return Err(Error::new(format!(
                    "{}: COMDAT group {gi} has no symbol {} in its section",
                    o.place,
                    String::from_utf8_lossy(g.signature)
                )));
            };
            let symbol = match res.symbol_ids[oi].get(index).copied() {
                Some(id) if id != LOCAL => globals.get(&id).copied(),
                _ => None,
            };
            let symbol = match symbol {
                Some(s) => s,
                None => match locals.get(&(index as u32)) {
                    Some(&s) => s,
                    None => local_symbol(&mut out, o, index as u32, &sections[oi], tombstone)?,
                },
            };
            out.add_comdat(Comdat {
                kind: comdat_kind(g.selection),
                symbol,
                sections: members,
            });
        }
    }

    // `cgo_export_static local remote`: host objects call `local` by the name `remote`.
    for (local, remote) in aliases {
        let Some(&id) = res.names.get(local.as_slice()) else {
            continue;
        };
        let Some(&sym) = globals.get(&id) else {
            continue;
        };
        let target = out.symbol(sym);
        if target.section == SymbolSection::Undefined {
            continue;
        }
        let alias = Symbol {
            name: remote.clone(),
            value: target.value,
            size: 0,
            kind: target.kind,
            scope: SymbolScope::Linkage,
            weak: false,
            section: target.section,
            flags: SymbolFlags::None,
        };
        out.add_symbol(alias);
    }
    out.write()
        .map_err(|e| Error::new(format!("writing the combined object: {e}")))
}

/// The `__imp_` symbol of global `id`: undefined for the host linker when the Rust objects
/// do not define the name, else a local pointer to the definition (what link.exe makes for a
/// `dllimport` reference to a name the image defines).
fn import_slot(
    out: &mut Object<'_>,
    res: &Resolution<'_>,
    id: u32,
    globals: &FxHashMap<u32, SymbolId>,
    imp: &mut FxHashMap<u32, SymbolId>,
    slots: &mut Option<object::write::SectionId>,
) -> Result<SymbolId> {
    if let Some(&s) = imp.get(&id) {
        return Ok(s);
    }
    let g = &res.globals[id as usize];
    let target = globals.get(&id).copied();
    let defined = target.is_some_and(|t| out.symbol(t).section != SymbolSection::Undefined);
    let name = match g.def {
        Def::Dynamic { import } => res.imports[import as usize].remote.clone(),
        _ => g.name.to_vec(),
    };
    let mut imp_name = b"__imp_".to_vec();
    imp_name.extend_from_slice(&name);
    let symbol = match (defined, target) {
        (true, Some(target)) => {
            let section = *slots.get_or_insert_with(|| {
                let s = out.add_section(
                    Vec::new(),
                    b".rdata$rlinkimp".to_vec(),
                    SectionKind::ReadOnlyData,
                );
                out.section_mut(s).flags = object::SectionFlags::Coff {
                    characteristics: pe::SectionFlags(
                        pe::IMAGE_SCN_CNT_INITIALIZED_DATA.0 | pe::IMAGE_SCN_MEM_READ.0,
                    ),
                };
                s
            });
            let offset = out.append_section_data(section, &[0; 8], 8);
            out.add_relocation(
                section,
                Relocation {
                    offset,
                    symbol: target,
                    addend: 0,
                    flags: object::RelocationFlags::Coff {
                        typ: pe::RelocationType(crate::x86_64::ABSOLUTE64),
                    },
                },
            )
            .map_err(|e| Error::new(format!("writing the combined object: {e}")))?;
            out.add_symbol(Symbol {
                name: imp_name,
                value: offset,
                size: 0,
                kind: SymbolKind::Data,
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            })
        }
        _ => out.add_symbol(Symbol {
            name: imp_name,
            value: 0,
            size: 0,
            kind: SymbolKind::Unknown,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        }),
    };
    imp.insert(id, symbol);
    Ok(symbol)
}

fn symbol_kind(kind: Kind) -> SymbolKind {
    match kind {
        Kind::Func => SymbolKind::Text,
        Kind::Data | Kind::Common | Kind::Tls => SymbolKind::Data,
        Kind::Section => SymbolKind::Section,
        _ => SymbolKind::Label,
    }
}

/// The combined object's symbol for a local symbol of an input object.
fn local_symbol(
    out: &mut Object<'_>,
    o: &ObjectView<'_>,
    index: u32,
    sections: &[Option<object::write::SectionId>],
    tombstone: SymbolId,
) -> Result<SymbolId> {
    let Some(s) = o.symbols.get(index as usize) else {
        return Err(Error::new(format!(
            "{}: relocation names missing symbol {index}",
            o.place
        )));
    };
    let section = match s.place {
        SymPlace::Section(sec) => match sections.get(sec as usize).copied().flatten() {
            Some(id) => id,
            None => return Ok(tombstone),
        },
        SymPlace::Absolute => {
            return Ok(out.add_symbol(Symbol {
                name: s.name.to_vec(),
                value: s.value,
                size: 0,
                kind: symbol_kind(s.kind),
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Absolute,
                flags: SymbolFlags::None,
            }))
        }
        _ => return Ok(tombstone),
    };
    if s.kind == Kind::Section {
        return Ok(out.section_symbol(section));
    }
    Ok(out.add_symbol(Symbol {
        name: s.name.to_vec(),
        value: s.value,
        size: 0,
        kind: symbol_kind(s.kind),
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    }))
}
