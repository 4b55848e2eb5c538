//! Section garbage collection (`--gc-sections`; on for the Go-style door, asked for by rustc): only
//! sections reachable through relocations from the roots are laid out.
//!
//! Roots: the section defining the entry point, exported definitions, and the sections the
//! format's loader marked [`SectionFlags::GC_ROOT`] (ELF: init/fini arrays, notes, sections
//! marked `SHF_GNU_RETAIN`, sections whose names are C identifiers, reachable through the
//! linker's `__start_NAME`/`__stop_NAME`). Non-allocated sections (debug info) are kept but are
//! not roots. `.eh_frame` is not a root: a live function keeps its FDE, and the FDE keeps what
//! it names (the LSDA in `.gcc_except_table`, the personality routine through its CIE).
//!
//! The marking runs in parallel, depth first: each task follows the relocations of the
//! sections on a stack of its own, and a section joins a stack once, by whoever marks it first
//! (an atomic compare-and-exchange). Which sections are live does not depend on the order, so
//! the result is the same at any thread count. Sections are numbered across all objects (an
//! object's first section at its offset in `Sections`), and each object's symbols are resolved
//! to the section they are defined in before marking starts, so following a relocation is two
//! loads.

use std::sync::atomic::{AtomicU8, Ordering};

use rayon::prelude::*;

use crate::diag::Result;
use crate::eh_frame::{split_records, RecordKind};
use crate::object::{SectionFlags, SymPlace, Visibility};
use crate::par::PerItem as _;
use crate::resolve::{Def, Resolution, LOCAL};

/// Per object, per section: kept.
pub type Live = Vec<Vec<bool>>;

/// Every object's sections numbered as one list.
struct Sections {
    /// The number of each object's first section.
    first: Vec<u32>,
}

impl Sections {
    fn new(res: &Resolution<'_>) -> Sections {
        let mut first = Vec::with_capacity(res.objects.len() + 1);
        let mut n = 0u32;
        for o in &res.objects {
            first.push(n);
            n += o.sections.len() as u32;
        }
        first.push(n);
        Sections { first }
    }

    fn count(&self) -> usize {
        *self.first.last().unwrap_or(&0) as usize
    }

    fn number(&self, obj: usize, sec: usize) -> u32 {
        self.first[obj] + sec as u32
    }

    /// The (object, section) a number stands for.
    fn split(&self, n: u32) -> (usize, usize) {
        let obj = self.first.partition_point(|&f| f <= n) - 1;
        (obj, (n - self.first[obj]) as usize)
    }
}

/// No section: a symbol defined nowhere in the objects (absolute, imported, undefined).
const NONE: u32 = u32::MAX;

/// Per object, per symbol: the number of the section that defines it (for a global, where its
/// definition is).
fn defining_sections(res: &Resolution<'_>, sections: &Sections) -> Vec<Vec<u32>> {
    res.objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| {
            let ids = &res.symbol_ids[oi];
            o.symbols
                .iter()
                .enumerate()
                .map(|(si, s)| {
                    let (obj, sym) = match ids.get(si) {
                        Some(&id) if id != LOCAL => match res.globals[id as usize].def {
                            Def::Object { obj, sym, .. } => (
                                obj as usize,
                                &res.objects[obj as usize].symbols[sym as usize],
                            ),
                            _ => return NONE,
                        },
                        _ => (oi, s),
                    };
                    match sym.place {
                        SymPlace::Section(sec) => sections.number(obj, sec as usize),
                        _ => NONE,
                    }
                })
                .collect()
        })
        .collect()
}

/// An FDE of an object's `.eh_frame`: the section holding it, and its relocations and its
/// CIE's (index ranges into that section's relocations).
struct Fde {
    eh_frame: u32,
    relocs: std::ops::Range<u32>,
    cie_relocs: std::ops::Range<u32>,
}

/// An object's FDEs, each with the number of the section its `pc_begin` names.
fn frames_of(res: &Resolution<'_>, oi: usize, defined_in: &[u32]) -> Result<Vec<(u32, Fde)>> {
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
            let lo = relocs.partition_point(start as u64) as u32;
            let hi = relocs.partition_point((start + len) as u64) as u32;
            lo..hi
        };
        let cies: Vec<(usize, std::ops::Range<u32>)> = records
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
            let Some(first) = relocs.get(fde_relocs.start as usize) else {
                continue;
            };
            if first.offset as usize != r.offset + 8 {
                continue;
            }
            let target = defined_in
                .get(first.symbol as usize)
                .copied()
                .unwrap_or(NONE);
            if target == NONE {
                continue;
            }
            let cie_relocs = cies
                .iter()
                .find(|(off, _)| *off == cie_offset)
                .map(|(_, r)| r.clone())
                .unwrap_or(0..0);
            fdes.push((
                target,
                Fde {
                    eh_frame: si as u32,
                    relocs: fde_relocs,
                    cie_relocs,
                },
            ));
        }
    }
    Ok(fdes)
}

/// For each section number, a list of entries (compressed rows: `start[n]..start[n + 1]` of
/// `entries`), built from (section number, entry) pairs by a counting sort.
struct ByTarget<T> {
    start: Vec<u32>,
    entries: Vec<T>,
}

impl<T: Copy> ByTarget<T> {
    fn new(count: usize, pairs: impl Iterator<Item = (u32, T)> + Clone) -> ByTarget<T> {
        let mut start = vec![0u32; count + 1];
        for (n, _) in pairs.clone() {
            start[n as usize + 1] += 1;
        }
        for n in 0..count {
            start[n + 1] += start[n];
        }
        let mut next = start.clone();
        let mut entries: Vec<Option<T>> = vec![None; start[count] as usize];
        for (n, e) in pairs {
            entries[next[n as usize] as usize] = Some(e);
            next[n as usize] += 1;
        }
        ByTarget {
            start,
            entries: entries.into_iter().flatten().collect(),
        }
    }

    fn of(&self, n: u32) -> &[T] {
        &self.entries[self.start[n as usize] as usize..self.start[n as usize + 1] as usize]
    }
}

/// A section's marking state.
const UNMARKED: u8 = 0;
const MARKED: u8 = 1;
/// Never live: section 0 and COMDAT copies dropped in favour of another.
const EXCLUDED: u8 = 2;
/// Live, but what it mentions is not kept for it: debug information names every function,
/// dead or alive.
const KEPT: u8 = 3;

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
    let sections = Sections::new(res);
    let count = sections.count();
    let defined_in = defining_sections(res, &sections);
    let frames: Vec<Vec<(u32, Fde)>> = (0..res.objects.len())
        .into_par_iter()
        .per_item()
        .map(|oi| frames_of(res, oi, &defined_in[oi]))
        .collect::<Result<_>>()?;
    let sections = &sections;
    // The two indexes below are built in one pass each, on one thread: beside them, the
    // other threads set every section's first state.
    let (indexes, state) = rayon::join(
        || {
            // FDEs by the section they describe, so marking a function finds its FDEs at
            // once.
            let fdes = ByTarget::new(
                count,
                frames.iter().enumerate().flat_map(|(oi, f)| {
                    f.iter()
                        .enumerate()
                        .map(move |(k, (target, _))| (*target, (oi as u32, k as u32)))
                }),
            );
            // COFF's associative sections, by their leader: marking a leader marks them.
            let followers = ByTarget::new(
                count,
                res.objects.iter().enumerate().flat_map(|(oi, o)| {
                    o.associated.iter().map(move |&(s, leader)| {
                        (
                            sections.number(oi, leader as usize),
                            sections.number(oi, s as usize),
                        )
                    })
                }),
            );
            (fdes, followers)
        },
        || -> Vec<AtomicU8> {
            res.objects
                .par_iter()
                .per_item()
                .enumerate()
                .flat_map_iter(|(oi, o)| {
                    o.sections.iter().enumerate().map(move |(si, s)| {
                        AtomicU8::new(if si == 0 || res.discarded[oi][si] {
                            EXCLUDED
                        } else if !s.is_alloc() && !s.has(SectionFlags::EH_FRAME) {
                            KEPT
                        } else {
                            UNMARKED
                        })
                    })
                })
                .collect()
        },
    );
    let (fdes, followers) = indexes;
    let is_live = |n: u32| matches!(state[n as usize].load(Ordering::Relaxed), MARKED | KEPT);
    // Whether this call marked the section (it was unmarked and may be live). Most references
    // are to sections already marked: a plain load sees that, where a compare-and-exchange
    // would take the cache line from the other threads every time.
    let mark = |n: u32| {
        n != NONE && {
            let s = &state[n as usize];
            s.load(Ordering::Relaxed) == UNMARKED
                && s.compare_exchange(UNMARKED, MARKED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
        }
    };

    // The roots.
    let mut roots: Vec<u32> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .flat_map_iter(|(oi, o)| {
            o.sections
                .iter()
                .enumerate()
                .skip(1)
                .filter(move |(_, s)| {
                    s.is_alloc()
                        && !s.has(SectionFlags::EH_FRAME)
                        && (!gc_sections || s.has(SectionFlags::GC_ROOT))
                })
                .map(move |(si, _)| sections.number(oi, si))
        })
        .filter(|&n| mark(n))
        .collect();
    let mut named_roots: Vec<u32> = Vec::new();
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
                    named_roots.push(sections.number(obj as usize, sec as usize));
                }
            }
        }
    }
    for name in std::iter::once(entry).chain(named.iter().copied()) {
        let Some(g) = res.global(name) else { continue };
        if let Def::Object { obj, sym, .. } = g.def {
            if let SymPlace::Section(s) = res.objects[obj as usize].symbols[sym as usize].place {
                named_roots.push(sections.number(obj as usize, s as usize));
            }
        }
    }
    roots.extend(named_roots.into_iter().filter(|&n| mark(n)));

    // What a marked section keeps alive: what its relocations name, its associated sections,
    // and for a function what its FDEs name besides the function (the LSDA, and through the
    // CIE the personality routine).
    let successors = |n: u32, next: &mut Vec<u32>| {
        let (oi, si) = sections.split(n);
        let o = &res.objects[oi];
        next.extend(o.relocations[si].0.iter().filter_map(|raw| {
            let symbol = (u64::from_le_bytes(raw.info) >> 32) as usize;
            let target = defined_in[oi].get(symbol).copied().unwrap_or(NONE);
            mark(target).then_some(target)
        }));
        next.extend(followers.of(n).iter().copied().filter(|&f| mark(f)));
        for &(fo, k) in fdes.of(n) {
            let fde = &frames[fo as usize][k as usize].1;
            let relocs = &res.objects[fo as usize].relocations[fde.eh_frame as usize];
            // Skip pc_begin itself: it names the function that is already live.
            let named = (fde.relocs.start + 1..fde.relocs.end).chain(fde.cie_relocs.clone());
            for index in named {
                let Some(reloc) = relocs.get(index as usize) else {
                    continue;
                };
                let target = defined_in[fo as usize]
                    .get(reloc.symbol as usize)
                    .copied()
                    .unwrap_or(NONE);
                if mark(target) {
                    next.push(target);
                }
            }
        }
    };
    // Depth first from the roots, each task on a stack of its own that hands its top `SHARE`
    // sections to a new task when it grows, so no thread waits for a level of the graph to
    // end (a debug link's graph is some 50 levels deep).
    fn walk<'s>(
        scope: &rayon::Scope<'s>,
        mut stack: Vec<u32>,
        successors: &'s (impl Fn(u32, &mut Vec<u32>) + Sync),
    ) {
        while let Some(n) = stack.pop() {
            successors(n, &mut stack);
            if stack.len() >= 2 * SHARE {
                let half = stack.split_off(stack.len() - SHARE);
                scope.spawn(move |scope| walk(scope, half, successors));
            }
        }
    }
    /// Sections a task hands on at once.
    const SHARE: usize = 64;
    let successors = &successors;
    rayon::scope(|scope| {
        for roots in roots.chunks(SHARE) {
            let roots = roots.to_vec();
            scope.spawn(move |scope| walk(scope, roots, successors));
        }
    });

    // Non-allocated sections (debug information) are kept whatever mentions them; an
    // .eh_frame section is kept when any of its FDEs describes live code. (Its FDEs for dead
    // code stay in it, pointing at address 0, where no lookup lands.)
    let live: Live = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| {
            let mut live: Vec<bool> = (0..o.sections.len())
                .map(|si| is_live(sections.number(oi, si)))
                .collect();
            for (target, fde) in &frames[oi] {
                if is_live(*target) {
                    live[fde.eh_frame as usize] = true;
                }
            }
            live
        })
        .collect();
    Ok(live)
}
