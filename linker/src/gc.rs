//! Section garbage collection (`--gc-sections`; on for the Go-style door, asked for by rustc): only
//! sections reachable through relocations from the roots are laid out.
//!
//! Roots: the section defining the entry point, exported definitions, and the sections the
//! format's loader marked [`SectionFlags::GC_ROOT`] (ELF: init/fini arrays, notes, sections
//! marked `SHF_GNU_RETAIN`, sections whose names are C identifiers, reachable through the
//! linker's `__start_NAME`/`__stop_NAME`). Non-allocated sections (debug info) are kept but are
//! not roots. `.eh_frame` is not a root: a live function keeps its FDE, and the FDE keeps what
//! it names (the LSDA in `.gcc_except_table`, the personality routine through its CIE).

use crate::diag::Result;
use crate::eh_frame::{split_records, RecordKind};
use crate::object::{SectionFlags, SymPlace, Visibility};
use crate::resolve::{Def, Resolution, LOCAL};

/// Per object, per section: kept.
pub type Live = Vec<Vec<bool>>;

/// For each `.eh_frame` section of an object: per FDE, the section its `pc_begin` names and
/// the relocations (by index range) inside the FDE; plus the CIE relocations per CIE offset.
struct Frames {
    fdes: Vec<Fde>,
}

struct Fde {
    /// The `.eh_frame` section holding it.
    eh_frame: usize,
    /// The (object, section) its `pc_begin` names.
    target: (usize, usize),
    /// Its relocations and its CIE's, as index ranges into the section's relocations.
    relocs: std::ops::Range<usize>,
    cie_relocs: std::ops::Range<usize>,
}

fn frames_of(res: &Resolution<'_>, oi: usize) -> Result<Frames> {
    let o = &res.objects[oi];
    let mut fdes = Vec::new();
    for (si, section) in o.sections.iter().enumerate() {
        if !section.has(SectionFlags::EH_FRAME) || res.discarded[oi][si] {
            continue;
        }
        let relocs = &o.relocations[si];
        let records = split_records(section.data).map_err(|e| e.at(&o.place))?;
        // Relocations are sorted by offset in practice; find each record's range by search.
        let range_of = |start: usize, len: usize| {
            let lo = relocs.partition_point(start as u64);
            let hi = relocs.partition_point((start + len) as u64);
            lo..hi
        };
        let cie_ranges: Vec<(usize, std::ops::Range<usize>)> = records
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::Cie))
            .map(|r| (r.offset, range_of(r.offset, r.len)))
            .collect();
        for r in &records {
            let RecordKind::Fde { cie_offset } = r.kind else {
                continue;
            };
            let fde_relocs = range_of(r.offset, r.len);
            // pc_begin sits right after the length and CIE pointer.
            let Some(first) = relocs.get(fde_relocs.start) else {
                continue;
            };
            if first.offset as usize != r.offset + 8 {
                continue;
            }
            let Some(target) = section_of(res, oi, first.symbol) else {
                continue;
            };
            let cie_relocs = cie_ranges
                .iter()
                .find(|(off, _)| *off == cie_offset)
                .map(|(_, r)| r.clone())
                .unwrap_or(0..0);
            fdes.push(Fde {
                eh_frame: si,
                target,
                relocs: fde_relocs,
                cie_relocs,
            });
        }
    }
    Ok(Frames { fdes })
}

/// The (object, section) a relocation's symbol is defined in, if it is defined in an object.
fn section_of(res: &Resolution<'_>, oi: usize, sym: u32) -> Option<(usize, usize)> {
    let id = *res.symbol_ids[oi].get(sym as usize)?;
    let (obj, sym) = if id == LOCAL {
        (oi, sym as usize)
    } else {
        match res.globals[id as usize].def {
            Def::Object { obj, sym, .. } => (obj as usize, sym as usize),
            _ => return None,
        }
    };
    match res.objects[obj].symbols.get(sym)?.place {
        SymPlace::Section(s) => Some((obj, s as usize)),
        _ => None,
    }
}

/// Marks every section reachable from the roots.
/// `export_all`: a shared library keeps every global definition (its exports) as a root.
/// `named` lists further exported names (`cgo_export_dynamic`), kept like the entry.
/// Without `gc_sections` every allocated section is a root, as in a GNU ld link that does not
/// ask for `--gc-sections`.
pub fn collect(
    res: &Resolution<'_>,
    gc_sections: bool,
    entry: &[u8],
    export_all: bool,
    named: &[&[u8]],
    version_script: Option<&crate::version_script::VersionScript>,
) -> Result<Live> {
    let mut live: Live = res
        .objects
        .iter()
        .map(|o| vec![false; o.sections.len()])
        .collect();
    let frames: Vec<Frames> = (0..res.objects.len())
        .map(|oi| frames_of(res, oi))
        .collect::<Result<_>>()?;
    // FDEs by the section they describe, so marking a function finds its FDEs at once.
    let mut fdes_of: rustc_hash::FxHashMap<(usize, usize), Vec<(usize, usize)>> =
        Default::default();
    for (oi, f) in frames.iter().enumerate() {
        for (k, fde) in f.fdes.iter().enumerate() {
            fdes_of.entry(fde.target).or_default().push((oi, k));
        }
    }
    // COFF's associative sections, by their leader: marking a leader marks them.
    let mut followers: rustc_hash::FxHashMap<(usize, usize), Vec<usize>> = Default::default();
    for (oi, o) in res.objects.iter().enumerate() {
        for &(s, leader) in &o.associated {
            followers
                .entry((oi, leader as usize))
                .or_default()
                .push(s as usize);
        }
    }
    let mut work: Vec<(usize, usize)> = Vec::new();
    let mark = |live: &mut Live, work: &mut Vec<(usize, usize)>, oi: usize, si: usize| {
        if si != 0 && !res.discarded[oi][si] && !live[oi][si] {
            live[oi][si] = true;
            work.push((oi, si));
        }
    };
    for (oi, o) in res.objects.iter().enumerate() {
        for (si, section) in o.sections.iter().enumerate().skip(1) {
            if section.has(SectionFlags::EH_FRAME) {
                continue;
            }
            // Debug sections are kept, but what they mention is not kept for them: they name
            // every function, dead or alive.
            if !section.is_alloc() {
                live[oi][si] = !res.discarded[oi][si];
            } else if !gc_sections || section.has(SectionFlags::GC_ROOT) {
                mark(&mut live, &mut work, oi, si);
            }
        }
    }
    if export_all {
        for g in &res.globals {
            let listed = version_script.is_none_or(|v| v.exports(&String::from_utf8_lossy(g.name)));
            if !listed {
                continue;
            }
            if let Def::Object { obj, sym, .. } = g.def {
                let s = &res.objects[obj as usize].symbols[sym as usize];
                let visible = matches!(s.visibility, Visibility::Default | Visibility::Protected);
                if let (true, SymPlace::Section(sec)) = (visible, s.place) {
                    mark(&mut live, &mut work, obj as usize, sec as usize);
                }
            }
        }
    }
    for name in std::iter::once(entry).chain(named.iter().copied()) {
        let Some(g) = res.global(name) else { continue };
        if let Def::Object { obj, sym, .. } = g.def {
            if let SymPlace::Section(s) = res.objects[obj as usize].symbols[sym as usize].place {
                mark(&mut live, &mut work, obj as usize, s as usize);
            }
        }
    }
    while let Some((oi, si)) = work.pop() {
        if let Some(list) = followers.get(&(oi, si)) {
            for &f in list {
                mark(&mut live, &mut work, oi, f);
            }
        }
        let o = &res.objects[oi];
        for reloc in o.relocations[si].iter() {
            if let Some((to, ts)) = section_of(res, oi, reloc.symbol) {
                mark(&mut live, &mut work, to, ts);
            }
        }
        if let Some(fdes) = fdes_of.get(&(oi, si)) {
            for &(fo, k) in fdes {
                let fde = &frames[fo].fdes[k];
                let relocs = &res.objects[fo].relocations[fde.eh_frame];
                // Skip pc_begin itself: it names the function that is already live.
                let named = (fde.relocs.start + 1..fde.relocs.end).chain(fde.cie_relocs.clone());
                for index in named {
                    let Some(reloc) = relocs.get(index) else {
                        continue;
                    };
                    if let Some((to, ts)) = section_of(res, fo, reloc.symbol) {
                        mark(&mut live, &mut work, to, ts);
                    }
                }
            }
        }
    }
    // An .eh_frame section is kept when any of its FDEs describes live code. (Its FDEs for
    // dead code stay in it, pointing at address 0, where no lookup lands.)
    for (oi, f) in frames.iter().enumerate() {
        for fde in &f.fdes {
            if live[fde.target.0][fde.target.1] {
                live[oi][fde.eh_frame] = true;
            }
        }
    }
    Ok(live)
}
