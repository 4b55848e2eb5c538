//! External linking's first half: the Rust objects of the link merged into one relocatable
//! object (`ET_REL`) for the host linker, as Go's linker writes `go.o`.
//!
//! Every kept input section becomes a section of the combined object under its own name (so
//! the host linker's `--gc-sections` still works per function); duplicate COMDAT copies are
//! dropped; relocations are carried over against the merged symbol table. Global symbols stay
//! global when the host side may need them: unmangled names (`main`, `#[no_mangle]` items,
//! `rust_eh_personality`), names host objects reference, and exported names. Mangled Rust names
//! nothing outside uses become local, so two Rust programs' internals never clash.

use object::elf;
use object::write::{Object, Relocation, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use rlink_linker::object::{ObjectView, SectionFlags, SymPlace, SymbolKind as Kind, Visibility};
use rlink_linker::resolve::{Def, Resolution, LOCAL};
use rlink_linker::target::Cpu;
use rlink_linker::{Error, Result};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::ElfArch;

/// An empty little-endian relocatable object for the CPU.
fn new_object<A: ElfArch>() -> Object<'static> {
    let architecture = match A::CPU {
        Cpu::X86_64 => Architecture::X86_64,
        Cpu::Aarch64 => Architecture::Aarch64,
    };
    Object::new(BinaryFormat::Elf, architecture, Endianness::Little)
}

fn is_mangled(name: &[u8]) -> bool {
    name.starts_with(b"_ZN") || name.starts_with(b"_R")
}

fn section_kind(flags: u64, sh_type: elf::SectionType) -> SectionKind {
    let alloc = flags & elf::SHF_ALLOC.0 != 0;
    let nobits = sh_type == elf::SHT_NOBITS;
    if flags & elf::SHF_TLS.0 != 0 {
        if nobits {
            SectionKind::UninitializedTls
        } else {
            SectionKind::Tls
        }
    } else if !alloc {
        SectionKind::Other
    } else if flags & elf::SHF_EXECINSTR.0 != 0 {
        SectionKind::Text
    } else if nobits {
        SectionKind::UninitializedData
    } else if flags & elf::SHF_WRITE.0 != 0 {
        SectionKind::Data
    } else {
        SectionKind::ReadOnlyData
    }
}

/// Builds the combined object from the resolution's Rust objects (`host[i]` marks objects
/// the host linker reads itself). `exported` names must stay global.
pub fn combine<A: ElfArch>(
    res: &Resolution<'_>,
    host: &[bool],
    exported: &FxHashSet<Vec<u8>>,
    aliases: &[(Vec<u8>, Vec<u8>)],
) -> Result<Vec<u8>> {
    let mut out = new_object::<A>();
    let mut sections: Vec<Vec<Option<object::write::SectionId>>> = res
        .objects
        .iter()
        .map(|o| vec![None; o.sections.len()])
        .collect();

    // Names the host objects reference must stay visible to them.
    let host_refs = res.host_references();

    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        for (si, header) in o.sections.iter().enumerate().skip(1) {
            let name = header.name;
            let sh_type = elf::SectionType(header.raw_type);
            if res.discarded[oi][si] || header.has(SectionFlags::INPUT_ONLY) {
                continue;
            }
            let mut flags = u64::from(header.raw_flags) & !(elf::SHF_GROUP.0);
            // object writes an entry size of 1 for string sections only; wider merged strings
            // lose the merge flags and are kept whole (correct, just not deduplicated).
            let merge_strings = elf::SHF_MERGE.0 | elf::SHF_STRINGS.0;
            let mut kind = section_kind(flags, sh_type);
            if flags & merge_strings == merge_strings && header.raw_entsize == 1 {
                kind = if flags & elf::SHF_ALLOC.0 != 0 {
                    SectionKind::ReadOnlyString
                } else {
                    SectionKind::OtherString
                };
            } else {
                flags &= !(elf::SHF_MERGE.0 | elf::SHF_STRINGS.0);
            }
            let id = out.add_section(Vec::new(), name.to_vec(), kind);
            let align = header.align();
            if sh_type == elf::SHT_NOBITS {
                out.append_section_bss(id, header.size, align);
            } else {
                out.set_section_data(id, header.data, align);
            }
            out.section_mut(id).flags = object::SectionFlags::Elf {
                sh_type,
                sh_flags: elf::SectionFlags(flags),
            };
            sections[oi][si] = Some(id);
        }
    }

    // References into dropped sections (debug info describing a discarded COMDAT copy) point
    // at one absolute zero symbol, as GNU ld's tombstone.
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

    // Names the Rust objects reference: only those undefined globals go into the object.
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
        let defined_here = matches!(g.def, Def::Object { obj, .. } | Def::Common { obj, .. } if !host[obj as usize]);
        if !defined_here && !rust_refs.contains(g.name) {
            continue;
        }
        let symbol = match g.def {
            Def::Object { obj, sym, weak } if !host[obj as usize] => {
                let s = &res.objects[obj as usize].symbols[sym as usize];
                let section = match s.place {
                    SymPlace::Section(sec) => match sections[obj as usize][sec as usize] {
                        Some(id) => SymbolSection::Section(id),
                        None => continue,
                    },
                    SymPlace::Absolute => SymbolSection::Absolute,
                    _ => continue,
                };
                let visible =
                    !is_mangled(g.name) || host_refs.contains(g.name) || exported.contains(g.name);
                let hidden = matches!(s.visibility, Visibility::Hidden | Visibility::Internal);
                let scope = if visible && !hidden {
                    SymbolScope::Dynamic
                } else {
                    SymbolScope::Compilation
                };
                Symbol {
                    name: g.name.to_vec(),
                    value: s.value,
                    size: s.size,
                    kind: symbol_kind(s.kind),
                    scope,
                    weak: weak && scope != SymbolScope::Compilation,
                    section,
                    flags: SymbolFlags::None,
                }
            }
            Def::Common { obj, sym } if !host[obj as usize] => {
                let s = &res.objects[obj as usize].symbols[sym as usize];
                Symbol {
                    name: g.name.to_vec(),
                    value: s.value,
                    size: s.size,
                    kind: SymbolKind::Data,
                    scope: SymbolScope::Dynamic,
                    weak: false,
                    section: SymbolSection::Common,
                    flags: SymbolFlags::None,
                }
            }
            _ => {
                // Undefined here: a host object, a library or the host linker provides it.
                // A `cgo_import_dynamic local remote` renames the reference to `remote`.
                let name = match g.def {
                    Def::Dynamic { import } => res.imports[import as usize].remote.clone(),
                    _ => g.name.to_vec(),
                };
                Symbol {
                    name,
                    value: 0,
                    size: 0,
                    kind: SymbolKind::Unknown,
                    scope: SymbolScope::Dynamic,
                    weak: !g.strong_ref,
                    section: SymbolSection::Undefined,
                    flags: SymbolFlags::None,
                }
            }
        };
        globals.insert(id as u32, out.add_symbol(symbol));
    }

    // Local symbols and relocations, object by object.
    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        let mut locals: FxHashMap<u32, SymbolId> = FxHashMap::default();
        // Named local functions and data keep their names for debuggers and backtraces.
        for (index, sym) in o.symbols.iter().enumerate().skip(1) {
            let named = !sym.name.is_empty() && !sym.name.starts_with(b".L");
            let kind_ok = matches!(sym.kind, Kind::Func | Kind::Data | Kind::Tls);
            if sym.is_local() && named && kind_ok && matches!(sym.place, SymPlace::Section(_)) {
                let s = local_symbol(&mut out, o, index as u32, &sections[oi], tombstone)?;
                locals.insert(index as u32, s);
            }
        }
        for (si, relas) in o.relocations.iter().enumerate() {
            let Some(target_section) = sections[oi][si] else {
                continue;
            };
            for rela in relas.iter() {
                let r_sym = rela.symbol;
                let symbol = match res.symbol_ids[oi].get(r_sym as usize) {
                    Some(&id) if id != LOCAL => match globals.get(&id) {
                        Some(&s) => s,
                        None => tombstone,
                    },
                    _ => match locals.get(&r_sym) {
                        Some(&s) => s,
                        None => {
                            let s = local_symbol(&mut out, o, r_sym, &sections[oi], tombstone)?;
                            locals.insert(r_sym, s);
                            s
                        }
                    },
                };
                let relocation = Relocation {
                    offset: rela.offset,
                    symbol,
                    addend: rela.addend,
                    flags: object::RelocationFlags::Elf {
                        r_type: elf::RelocationType(rela.r_type),
                    },
                };
                out.add_relocation(target_section, relocation)
                    .map_err(|e| Error::new(format!("{}: {}: {e}", o.place, o.section_name(si))))?;
            }
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
            size: target.size,
            kind: target.kind,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: target.section,
            flags: SymbolFlags::None,
        };
        out.add_symbol(alias);
    }

    // No executable stack: the host linker would otherwise assume one.
    let stack = out.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Other);
    out.section_mut(stack).flags = object::SectionFlags::Elf {
        sh_type: elf::SHT_PROGBITS,
        sh_flags: elf::SectionFlags(0),
    };
    out.write()
        .map_err(|e| Error::new(format!("writing the combined object: {e}")))
}

fn symbol_kind(kind: Kind) -> SymbolKind {
    match kind {
        Kind::Func => SymbolKind::Text,
        Kind::Data | Kind::Common => SymbolKind::Data,
        Kind::Tls => SymbolKind::Tls,
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
                size: s.size,
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
        size: s.size,
        kind: symbol_kind(s.kind),
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    }))
}

/// A relocatable object whose only contents are global absolute symbols (`--defsym`).
pub fn absolute_symbols<A: ElfArch>(symbols: &[(&str, u64)]) -> Result<Vec<u8>> {
    let mut out = new_object::<A>();
    for &(name, value) in symbols {
        out.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 0,
            kind: SymbolKind::Label,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Absolute,
            flags: SymbolFlags::None,
        });
    }
    out.write()
        .map_err(|e| Error::new(format!("writing the --defsym object: {e}")))
}
