//! Relocation scanning: what each relocation of each placed section names and needs (GOT
//! slots, PLT entries, dynamic relocations), decided before addresses exist.

use object::elf;
use object::read::elf::Rela as _;
use object::LittleEndian as LE;
use rayon::prelude::*;
use rlink_linker::diag::demangle;
use rlink_linker::{Error, Result};

use crate::layout::{GotEntry, Layout, Target};
use crate::object::{InputObject, SymPlace};
use crate::resolve::{Def, Resolution, SymbolId, LOCAL};
use crate::shared::ExportKind;
use crate::x86_64::{self, Need, PlaceInfo, TargetInfo};

/// The symbol a relocation in object `obj` names.
pub fn target(res: &Resolution<'_>, obj: usize, sym: u32) -> Target {
    match res.symbol_ids[obj].get(sym as usize) {
        Some(&id) if id != LOCAL => Target::Global(id),
        _ => Target::Local {
            obj: obj as u32,
            sym,
        },
    }
}

pub fn target_info(res: &Resolution<'_>, t: Target) -> TargetInfo {
    match t {
        Target::Local { obj, sym } => {
            let s = &res.objects[obj as usize].symbols[sym as usize];
            TargetInfo {
                dynamic: false,
                dynamic_data: false,
                tls: s.kind == elf::STT_TLS,
                undefined_weak: false,
                ifunc: false,
            }
        }
        Target::Global(id) => {
            let g = &res.globals[id as usize];
            match g.def {
                Def::Dynamic { import } => {
                    let kind = res.imports[import as usize].kind;
                    TargetInfo {
                        dynamic: true,
                        dynamic_data: kind == ExportKind::Object,
                        tls: kind == ExportKind::Tls,
                        undefined_weak: false,
                        ifunc: false,
                    }
                }
                Def::Object { obj, sym, .. } => {
                    let s = &res.objects[obj as usize].symbols[sym as usize];
                    // A shared library's exported data can be preempted by the program's copy
                    // (copy relocations), so the library must reach it through the GOT too.
                    // This runs for every relocation: the cheap tests go first, and the version
                    // script (a string match) is consulted only for shared-library data.
                    let preemptible = res.shared_output
                        && s.kind == elf::STT_OBJECT
                        && s.visibility == elf::STV_DEFAULT
                        && res
                            .version_script
                            .as_ref()
                            .is_none_or(|v| v.exports(&String::from_utf8_lossy(g.name)));
                    TargetInfo {
                        dynamic: preemptible,
                        dynamic_data: preemptible,
                        tls: s.kind == elf::STT_TLS,
                        undefined_weak: false,
                        ifunc: s.kind == elf::STT_GNU_IFUNC,
                    }
                }
                Def::Undefined | Def::Host => TargetInfo {
                    dynamic: false,
                    dynamic_data: false,
                    tls: false,
                    undefined_weak: true,
                    ifunc: false,
                },
                Def::Common { .. } | Def::Synthetic => TargetInfo {
                    dynamic: false,
                    dynamic_data: false,
                    tls: false,
                    undefined_weak: false,
                    ifunc: false,
                },
            }
        }
    }
}

pub fn symbol_display(res: &Resolution<'_>, t: Target) -> String {
    let name = match t {
        Target::Global(id) => res.globals[id as usize].name,
        Target::Local { obj, sym } => {
            let o = &res.objects[obj as usize];
            let s = &o.symbols[sym as usize];
            if s.kind == elf::STT_SECTION {
                if let SymPlace::Section(sec) = s.place {
                    return format!("section {}", o.section_name(sec as usize));
                }
            }
            s.name
        }
    };
    demangle(&String::from_utf8_lossy(name))
}

/// Reads what every relocation of every placed section needs: GOT slots, PLT entries and the
/// number of dynamic relocations. Objects are scanned in parallel; their needs merge in object
/// order so slot numbering is the same at any thread count.
pub(crate) fn scan_relocations(l: &mut Layout<'_, '_>) -> Result<()> {
    let res = l.res;
    let pie = l.pie;
    let shared = l.shared;
    let sections = &l.sections;
    let placements = &l.placements;
    /// What one object's relocations need.
    #[derive(Default)]
    struct Needs {
        got: Vec<GotEntry>,
        plt: Vec<SymbolId>,
        /// Imported symbols referenced from live sections.
        imports: Vec<SymbolId>,
        relative: usize,
        other: usize,
        copies: Vec<SymbolId>,
    }
    let per_object: Vec<Needs> = res
        .objects
        .par_iter()
        .enumerate()
        .map(|(oi, o)| -> Result<Needs> {
            let mut n = Needs::default();
            for (si, relas) in o.relocations.iter().enumerate() {
                let Some(p) = placements[oi][si] else {
                    continue;
                };
                let out = &sections[p.section as usize];
                let place = PlaceInfo {
                    alloc: out.flags & elf::SHF_ALLOC.0 != 0,
                    writable: out.flags & elf::SHF_WRITE.0 != 0,
                    pie,
                    shared,
                };
                for rela in relas.iter() {
                    let r_type = rela.r_type(LE, false).0;
                    let t = target(res, oi, rela.r_sym(LE, false));
                    let info = target_info(res, t);
                    let need = x86_64::scan(r_type, info, place).map_err(|why| {
                        reloc_error(
                            o,
                            si,
                            rela.r_offset(LE),
                            r_type,
                            &symbol_display(res, t),
                            &why,
                        )
                    })?;
                    if let (true, Target::Global(id)) = (info.dynamic, t) {
                        n.imports.push(id);
                    }
                    match need {
                        Need::Nothing => {}
                        Need::Got => n.got.push(GotEntry::Address(t)),
                        Need::GotTpOff => n.got.push(GotEntry::TpOff(t)),
                        Need::TlsGd => n.got.push(GotEntry::TlsGd(t)),
                        Need::TlsLd => n.got.push(GotEntry::TlsLd),
                        Need::Copy => {
                            if let Target::Global(id) = t {
                                n.copies.push(id);
                            }
                        }
                        Need::Plt => {
                            if let Target::Global(id) = t {
                                n.plt.push(id);
                            }
                        }
                        Need::DynamicAbsolute if info.dynamic => n.other += 1,
                        Need::DynamicAbsolute => n.relative += 1,
                    }
                }
            }
            Ok(n)
        })
        .collect::<Result<_>>()?;
    for n in per_object {
        l.got.extend(n.got);
        l.plt.extend(n.plt);
        l.used_imports.extend(n.imports);
        l.copies.extend(n.copies);
        l.dyn_relocs_per_object.push((n.relative, n.other));
    }
    // Every PLT entry jumps through a GOT slot holding the function's address.
    for &id in l.plt.iter() {
        l.got.insert(GotEntry::Address(Target::Global(id)));
    }
    let mut next = 0;
    l.got_offsets = l
        .got
        .iter()
        .map(|e| {
            let at = next;
            next += e.slots();
            at
        })
        .collect();
    Ok(())
}

pub fn reloc_error(
    o: &InputObject<'_>,
    section: usize,
    offset: u64,
    r_type: u32,
    symbol: &str,
    why: &str,
) -> Error {
    Error::new(format!(
        "{}: {}+{offset:#x}: relocation {} against {symbol}: {why}",
        o.place,
        o.section_name(section),
        x86_64::type_name(r_type)
    ))
}
