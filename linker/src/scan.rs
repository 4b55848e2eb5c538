//! Relocation scanning: what each relocation of each placed section names and needs (GOT
//! slots, PLT entries, copies, dynamic relocations), decided before addresses exist, for every
//! format and CPU alike — the CPU's [`Arch::scan`] decides one relocation, this module gathers
//! the decisions.

use rayon::prelude::*;

use crate::diag::{demangle, Error, Result};
use crate::library::ExportKind;
use crate::object::{ObjectView, SymPlace, SymbolKind, Visibility};
use crate::par::PerItem as _;
use crate::reloc::{Arch, Need, PlaceInfo, TargetInfo};
use crate::resolve::{Def, Resolution, SymbolId, LOCAL};

/// An insertion-ordered set with FxHash: numbering GOT slots and PLT entries in a fixed order.
pub type IndexSet<T> = indexmap::IndexSet<T, rustc_hash::FxBuildHasher>;

/// What a relocation's symbol refers to: a global name, or a local symbol of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolRef {
    Global(SymbolId),
    Local { obj: u32, sym: u32 },
}

/// One entry of the GOT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GotEntry {
    Address(SymbolRef),
    TpOff(SymbolRef),
    /// General-dynamic TLS in a shared library: (module id, offset), two slots.
    TlsGd(SymbolRef),
    /// Local-dynamic TLS in a shared library: (this module's id, 0), two slots.
    TlsLd,
    /// A TLS descriptor in a shared library: (resolver, argument), two slots.
    TlsDesc(SymbolRef),
}

impl GotEntry {
    pub fn slots(self) -> u64 {
        match self {
            GotEntry::TlsGd(_) | GotEntry::TlsLd | GotEntry::TlsDesc(_) => 2,
            _ => 1,
        }
    }
}

/// What the relocations of the link need, in a deterministic order.
#[derive(Debug, Default)]
pub struct Needs {
    pub got: IndexSet<GotEntry>,
    /// Slot index of each GOT entry (TLS pairs take two).
    pub got_offsets: Vec<u64>,
    pub plt: IndexSet<SymbolId>,
    /// Imported symbols that live code references: only they reach the dynamic symbol table.
    pub used_imports: IndexSet<SymbolId>,
    /// Imported data copied into the executable.
    pub copies: IndexSet<SymbolId>,
    /// Imported functions whose PLT entry is their address (see [`Need::CanonicalPlt`]).
    pub canonical_plt: IndexSet<SymbolId>,
    /// Some dynamic relocation patches a read-only section (DT_TEXTREL).
    pub text_relocations: bool,
    /// Dynamic relocations the input sections produce, per object: (relative, others).
    pub dyn_relocs_per_object: Vec<(usize, usize)>,
    /// Per object, the relocations that produce them, so the relocation pass need not
    /// decide again.
    pub dyn_sites: Vec<Vec<DynSite>>,
}

/// A relocation that needs a dynamic relocation at its place: a load-address-relative one, or
/// (`absolute`) one that binds an imported symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynSite {
    pub section: u32,
    pub reloc: u32,
    pub absolute: bool,
}

/// Whether an input section reaches the output, and the facts about its place.
pub trait Placement: Sync {
    /// `None` for sections that are not in the output (dead, discarded, dropped).
    fn place_info(&self, obj: usize, sec: usize) -> Option<PlaceInfo>;
}

/// The symbol a relocation in object `obj` names.
#[inline]
pub fn target(res: &Resolution<'_>, obj: usize, sym: u32) -> SymbolRef {
    match res.symbol_ids[obj].get(sym as usize) {
        Some(&id) if id != LOCAL => SymbolRef::Global(id),
        _ => SymbolRef::Local {
            obj: obj as u32,
            sym,
        },
    }
}

pub fn target_info(res: &Resolution<'_>, t: SymbolRef) -> TargetInfo {
    if let SymbolRef::Global(id) = t {
        if let Some(&info) = res.infos.get(id as usize) {
            return info;
        }
    }
    computed_target_info(res, t)
}

/// [`target_info`] worked out from the symbol's definition.
fn computed_target_info(res: &Resolution<'_>, t: SymbolRef) -> TargetInfo {
    const PLAIN: TargetInfo = TargetInfo {
        dynamic: false,
        dynamic_data: false,
        tls: false,
        undefined_weak: false,
        absolute: false,
        ifunc: false,
    };
    match t {
        SymbolRef::Local { obj, sym } => {
            let s = &res.objects[obj as usize].symbols[sym as usize];
            TargetInfo {
                tls: s.is_tls(),
                ..PLAIN
            }
        }
        SymbolRef::Global(id) => {
            let g = &res.globals[id as usize];
            match g.def {
                Def::Dynamic { import } => {
                    let kind = res.imports[import as usize].kind;
                    TargetInfo {
                        dynamic: true,
                        dynamic_data: kind == ExportKind::Object,
                        tls: kind == ExportKind::Tls,
                        ..PLAIN
                    }
                }
                Def::Object { obj, sym, weak } => {
                    let s = &res.objects[obj as usize].symbols[sym as usize];
                    // A shared library's exported data can be preempted by the program's copy
                    // (copy relocations), and its exported functions by a definition loaded
                    // before it (GNU ld's default), so the library reaches them through the
                    // GOT and the PLT too.
                    // This runs for every relocation: the cheap tests go first, and the version
                    // script (a string match) is consulted only for shared-library data.
                    let kind_preemptible = s.kind == SymbolKind::Data
                        || (s.kind == SymbolKind::Func
                            && !res.symbolic_functions
                            && (weak || !res.symbolic_non_weak_functions));
                    let preemptible = res.shared_output
                        && res.interposable
                        && kind_preemptible
                        && s.visibility == Visibility::Default
                        && res
                            .version_script
                            .as_ref()
                            .is_none_or(|v| v.exports(&String::from_utf8_lossy(g.name)))
                        && (!(res.symbolic || (res.symbolic_non_weak && !weak))
                            || res
                                .preemptible
                                .as_ref()
                                .is_some_and(|v| v.lists(&String::from_utf8_lossy(g.name))));
                    TargetInfo {
                        dynamic: preemptible,
                        dynamic_data: preemptible && s.kind == SymbolKind::Data,
                        tls: s.is_tls(),
                        ifunc: s.kind == SymbolKind::IFunc,
                        absolute: s.place == SymPlace::Absolute,
                        ..PLAIN
                    }
                }
                Def::Undefined | Def::Host => TargetInfo {
                    undefined_weak: true,
                    ..PLAIN
                },
                // `_TLS_MODULE_BASE_`, the start of the module's TLS block, is the one
                // thread-local name a linker defines (the base of TLS-descriptor
                // local-dynamic sequences).
                Def::Synthetic if g.name == b"_TLS_MODULE_BASE_" => {
                    TargetInfo { tls: true, ..PLAIN }
                }
                Def::Common { .. } | Def::Synthetic => PLAIN,
            }
        }
    }
}

pub fn symbol_display(res: &Resolution<'_>, t: SymbolRef) -> String {
    let name = match t {
        SymbolRef::Global(id) => res.globals[id as usize].name,
        SymbolRef::Local { obj, sym } => {
            let o = &res.objects[obj as usize];
            let s = &o.symbols[sym as usize];
            if s.kind == SymbolKind::Section {
                if let SymPlace::Section(sec) = s.place {
                    return format!("section {}", o.section_name(sec as usize));
                }
            }
            s.name
        }
    };
    demangle(&String::from_utf8_lossy(name))
}

/// Reads what every relocation of every placed section needs. Objects are scanned in
/// parallel; their needs merge in object order so slot numbering is the same at any thread
/// count.
pub fn scan_relocations<A: Arch>(res: &Resolution<'_>, placement: &dyn Placement) -> Result<Needs> {
    /// What one object's relocations need.
    #[derive(Default)]
    struct ObjectNeeds {
        got: Vec<GotEntry>,
        plt: Vec<SymbolId>,
        imports: Vec<SymbolId>,
        relative: usize,
        other: usize,
        copies: Vec<SymbolId>,
        canonical: Vec<SymbolId>,
        text_relocations: bool,
        sites: Vec<DynSite>,
    }
    let timer = std::time::Instant::now();
    let per_object: Vec<ObjectNeeds> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| -> Result<ObjectNeeds> {
            let mut n = ObjectNeeds::default();
            for (si, relocs) in o.relocations.iter().enumerate() {
                if relocs.is_empty() {
                    continue;
                }
                let Some(place) = placement.place_info(oi, si) else {
                    continue;
                };
                // What is not loaded (debug information) never needs the loader, a GOT slot
                // or a PLT entry: its relocations get link-time values.
                if !place.alloc {
                    continue;
                }
                for (ri, r) in relocs.iter().enumerate() {
                    let t = target(res, oi, r.symbol);
                    let info = target_info(res, t);
                    let need = A::scan(r.r_type, info, place).map_err(|why| {
                        reloc_error(
                            o,
                            si,
                            r.offset,
                            &A::type_name(r.r_type),
                            &symbol_display(res, t),
                            &why,
                        )
                    })?;
                    if let (true, SymbolRef::Global(id)) = (info.dynamic, t) {
                        n.imports.push(id);
                    }
                    match need {
                        Need::Nothing => {}
                        Need::Got => n.got.push(GotEntry::Address(t)),
                        Need::GotTpOff => n.got.push(GotEntry::TpOff(t)),
                        Need::TlsGd => n.got.push(GotEntry::TlsGd(t)),
                        Need::TlsLd => n.got.push(GotEntry::TlsLd),
                        Need::TlsDesc => n.got.push(GotEntry::TlsDesc(t)),
                        Need::Copy => {
                            if let SymbolRef::Global(id) = t {
                                n.copies.push(id);
                            }
                        }
                        Need::Plt => {
                            if let SymbolRef::Global(id) = t {
                                n.plt.push(id);
                            }
                        }
                        Need::CanonicalPlt => {
                            if let SymbolRef::Global(id) = t {
                                n.plt.push(id);
                                n.canonical.push(id);
                            }
                        }
                        Need::DynamicAbsolute => {
                            if info.dynamic {
                                n.other += 1;
                            } else {
                                n.relative += 1;
                            }
                            n.sites.push(DynSite {
                                section: si as u32,
                                reloc: ri as u32,
                                absolute: info.dynamic,
                            });
                        }
                    }
                    if need == Need::DynamicAbsolute && !place.writable {
                        n.text_relocations = true;
                    }
                }
            }
            // Each object's needs without repeats (its first mention of each kept), so that
            // gathering them in object order, which is serial, sees each once per object.
            first_mentions(&mut n.got);
            first_mentions(&mut n.plt);
            first_mentions(&mut n.imports);
            first_mentions(&mut n.copies);
            first_mentions(&mut n.canonical);
            Ok(n)
        })
        .collect::<Result<_>>()?;
    tracing::debug!(elapsed = ?timer.elapsed(), "scan: objects scanned");
    let mut needs = Needs::default();
    for n in per_object {
        needs.got.extend(n.got);
        needs.plt.extend(n.plt);
        needs.used_imports.extend(n.imports);
        needs.copies.extend(n.copies);
        needs.canonical_plt.extend(n.canonical);
        needs.text_relocations |= n.text_relocations;
        needs.dyn_relocs_per_object.push((n.relative, n.other));
        needs.dyn_sites.push(n.sites);
    }
    let mut next = 0;
    needs.got_offsets = needs
        .got
        .iter()
        .map(|e| {
            let at = next;
            next += e.slots();
            at
        })
        .collect();
    tracing::debug!(elapsed = ?timer.elapsed(), "scan: needs gathered");
    Ok(needs)
}

/// Drops every repeat from `list`, keeping the first of each in order.
fn first_mentions<T: std::hash::Hash + Eq + Copy>(list: &mut Vec<T>) {
    if list.len() < 2 {
        return;
    }
    let mut seen = rustc_hash::FxHashSet::with_capacity_and_hasher(list.len(), Default::default());
    list.retain(|x| seen.insert(*x));
}

/// `file: section+offset: relocation TYPE against SYMBOL: why`, as every relocation error
/// reads.
pub fn reloc_error(
    o: &ObjectView<'_>,
    section: usize,
    offset: u64,
    type_name: &str,
    symbol: &str,
    why: &str,
) -> Error {
    Error::new(format!(
        "{}: {}+{offset:#x}: relocation {type_name} against {symbol}: {why}",
        o.place,
        o.section_name(section),
    ))
}
