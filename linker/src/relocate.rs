//! The one relocation pass every format shares: each placed input section's bytes are copied
//! into the output and its relocations applied through the CPU's [`Arch`], object by object
//! in parallel (input sections never overlap in the output). The format's layout answers where
//! things are ([`OutputLayout`]); the dynamic relocations the pass finds are returned in neutral
//! form for the format to encode.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::diag::Result;
use crate::object::{Reloc, SectionFlags, SymPlace, SymbolKind};
use crate::output::OutBuf;
use crate::par::PerItem as _;
use crate::reloc::{self, Applied, Arch, DynKind, GotUse, PlaceInfo, TargetInfo, Values};
use crate::resolve::{Resolution, SymbolId, LOCAL};
use crate::scan::{
    reloc_error, symbol_display, target, target_info, DynSite, GotEntry, Placement, SymbolRef,
};

/// The address and facts of a relocation target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymValue {
    pub addr: u64,
    pub size: u64,
    /// Defined in the output.
    pub local: bool,
}

/// Where an input section's copied bytes go.
#[derive(Debug, Clone, Copy)]
pub struct CopiedSection {
    pub file_offset: u64,
    pub addr: u64,
    pub place: PlaceInfo,
}

/// What the relocation pass asks of a format's finished layout.
pub trait OutputLayout: Placement {
    /// Where an input section's bytes are copied; `None` for sections that are not in the
    /// output, are zero-fill, or whose strings were merged (written by the format).
    fn copied_section(&self, obj: usize, sec: usize) -> Option<CopiedSection>;
    /// The output address of byte `offset` of an input section (merged strings piece by
    /// piece).
    fn address_in(&self, obj: usize, sec: usize, offset: u64) -> Option<u64>;
    fn is_merged(&self, obj: usize, sec: usize) -> bool;
    /// A merged string section's output address and piece map, for the relocation pass's
    /// lookups (formats that merge strings).
    fn merged_pieces(&self, obj: usize, sec: usize) -> Option<(u64, &crate::merge::PieceMap)> {
        let _ = (obj, sec);
        None
    }
    fn symbol_value(&self, t: SymbolRef) -> SymValue;
    fn got_slot(&self, e: GotEntry) -> Option<u64>;
    /// Every address GOT entry and its slot's address, for the relocation pass to know each
    /// target's slot without a lookup per relocation (formats whose GOT is not listed this way
    /// are asked [`OutputLayout::got_slot`] for each).
    fn address_slots(&self, each: &mut dyn FnMut(SymbolRef, u64)) {
        let _ = each;
    }
    /// `_GLOBAL_OFFSET_TABLE_`, the base of GOT-relative relocations.
    fn got_base(&self) -> u64;
    /// The address the image is linked at, the base of image-relative values (PE's RVAs).
    fn image_base(&self) -> u64 {
        0
    }
    /// Thread-pointer offset of a TLS address.
    fn tpoff(&self, addr: u64) -> i64;
    /// Offset of a TLS address in this module's TLS block.
    fn dtpoff(&self, addr: u64) -> i64;
    fn is_shared(&self) -> bool;
    /// The range-extension thunk a branch at `offset` of an input section jumps to instead of
    /// its far target, if it has one.
    fn thunk(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let _ = (obj, sec, offset);
        None
    }
    /// Whether any branch goes through a thunk (so the pass need not ask for each one).
    fn has_thunks(&self) -> bool {
        false
    }
    /// The relocations of object `obj` that scanning found need a dynamic relocation, in
    /// (section, relocation) order.
    fn dynamic_sites(&self, obj: usize) -> &[DynSite];
}

/// A dynamic relocation the pass found at a place in an input section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynReloc {
    pub offset: u64,
    pub kind: DynKind,
    /// The imported symbol it binds, for [`DynKind::Absolute`] and the GOT's binds.
    pub symbol: Option<SymbolId>,
    pub addend: i64,
}

/// Per object: its relative dynamic relocations, then the others.
pub type ObjectDynRelocs = (Vec<DynReloc>, Vec<DynReloc>);

/// A relocation target resolved once, after layout: what the pass reads for each relocation
/// instead of asking the layout (hash lookups, placements) again. One is made for every
/// symbol of every object, and read at random by the pass, so it is kept to 16 bytes: the
/// symbol's size, which only `R_*_SIZE*` relocations read, is looked up when one does.
#[derive(Debug, Clone, Copy)]
struct Target {
    addr: u64,
    /// For the section symbol of a merged string section, that section (the addend names
    /// the string); [`NOT_MERGED`] otherwise.
    merged: u32,
    /// The [`TargetInfo`] and whether it is defined in the output ([`SymValue::local`]) in
    /// the top byte (`FLAG_*`); below, its address GOT slot's offset from the GOT's base in
    /// words, plus one, when it has a slot the layout listed and the offset fits (0: not
    /// known here, so asked of the layout).
    packed: u32,
}

const _: () = assert!(std::mem::size_of::<Target>() == 16);

const NOT_MERGED: u32 = u32::MAX;

const FLAG_DYNAMIC: u32 = 1 << 24;
const FLAG_DYNAMIC_DATA: u32 = 1 << 25;
const FLAG_TLS: u32 = 1 << 26;
const FLAG_UNDEFINED_WEAK: u32 = 1 << 27;
const FLAG_ABSOLUTE: u32 = 1 << 28;
const FLAG_IFUNC: u32 = 1 << 29;
const FLAG_LOCAL: u32 = 1 << 30;
/// The bits below the flags: a GOT slot's offset plus one.
const GOT_BITS: u32 = (1 << 24) - 1;

impl Target {
    fn of(value: SymValue, info: TargetInfo) -> Target {
        let flag = |on: bool, f: u32| if on { f } else { 0 };
        Target {
            addr: value.addr,
            merged: NOT_MERGED,
            packed: flag(info.dynamic, FLAG_DYNAMIC)
                | flag(info.dynamic_data, FLAG_DYNAMIC_DATA)
                | flag(info.tls, FLAG_TLS)
                | flag(info.undefined_weak, FLAG_UNDEFINED_WEAK)
                | flag(info.absolute, FLAG_ABSOLUTE)
                | flag(info.ifunc, FLAG_IFUNC)
                | flag(value.local, FLAG_LOCAL),
        }
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            dynamic: self.packed & FLAG_DYNAMIC != 0,
            dynamic_data: self.packed & FLAG_DYNAMIC_DATA != 0,
            tls: self.packed & FLAG_TLS != 0,
            undefined_weak: self.packed & FLAG_UNDEFINED_WEAK != 0,
            absolute: self.packed & FLAG_ABSOLUTE != 0,
            ifunc: self.packed & FLAG_IFUNC != 0,
        }
    }

    /// Defined in the output ([`SymValue::local`]).
    fn local(&self) -> bool {
        self.packed & FLAG_LOCAL != 0
    }

    /// Records the address of its GOT slot, `slot`, if it can: as an offset from the GOT's
    /// base `got_base`, in words, that fits below the flags.
    fn set_got(&mut self, slot: u64, got_base: u64) {
        let Some(offset) = slot.checked_sub(got_base) else {
            return;
        };
        if offset % 8 != 0 || offset / 8 >= u64::from(GOT_BITS) {
            return;
        }
        self.packed = (self.packed & !GOT_BITS) | (offset / 8 + 1) as u32;
    }

    /// The address of its GOT slot, if [`Target::set_got`] recorded it.
    fn got(&self, got_base: u64) -> Option<u64> {
        match self.packed & GOT_BITS {
            0 => None,
            n => Some(got_base.wrapping_add(8 * u64::from(n - 1))),
        }
    }
}

/// Every object's relocation targets, indexed by symbol: globals resolved once and copied in,
/// locals resolved per object, all in parallel.
fn resolve_targets(res: &Resolution<'_>, l: &impl OutputLayout) -> Vec<Vec<Target>> {
    let mut globals: Vec<Target> = (0..res.globals.len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|id| {
            let t = SymbolRef::Global(id as SymbolId);
            Target::of(l.symbol_value(t), target_info(res, t))
        })
        .collect();
    // GOT slots: the globals' before they are copied into each object's table, the locals'
    // after.
    let mut local_slots = Vec::new();
    let got_base = l.got_base();
    l.address_slots(&mut |t, slot| match t {
        SymbolRef::Global(id) => {
            if let Some(g) = globals.get_mut(id as usize) {
                g.set_got(slot, got_base);
            }
        }
        SymbolRef::Local { obj, sym } => local_slots.push((obj, sym, slot)),
    });
    let mut targets: Vec<Vec<Target>> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| {
            let ids = &res.symbol_ids[oi];
            o.symbols
                .iter()
                .enumerate()
                .map(|(si, s)| match ids.get(si) {
                    Some(&id) if id != LOCAL => globals[id as usize],
                    _ => {
                        let t = SymbolRef::Local {
                            obj: oi as u32,
                            sym: si as u32,
                        };
                        let mut target = Target::of(l.symbol_value(t), target_info(res, t));
                        if let (SymbolKind::Section, SymPlace::Section(sec)) = (s.kind, s.place) {
                            if l.is_merged(oi, sec as usize) {
                                target.merged = sec;
                            }
                        }
                        target
                    }
                })
                .collect()
        })
        .collect();
    for (obj, sym, slot) in local_slots {
        if let Some(t) = targets
            .get_mut(obj as usize)
            .and_then(|t| t.get_mut(sym as usize))
        {
            t.set_got(slot, got_base);
        }
    }
    targets
}

/// A piece of the pass, run by one thread: an object's loaded sections (whose dynamic
/// relocations stay in object order), or a run of a non-loaded section's relocations (debug
/// information, most of the work, cut into pieces of about [`CHUNK_RELOCS`] so threads stay
/// busy to the end).
#[derive(Debug, Clone, Copy)]
enum Task {
    Loaded {
        obj: u32,
    },
    Chunk {
        obj: u32,
        sec: u32,
        /// Bytes of the section this task copies, and the relocations it applies.
        bytes: (u64, u64),
        relocs: (u32, u32),
    },
}

impl Task {
    fn object(self) -> usize {
        match self {
            Task::Loaded { obj } | Task::Chunk { obj, .. } => obj as usize,
        }
    }
}

/// Output byte ranges [`relocate_sections`] writes whole: the bytes of every copied input
/// section of at least `LISTED_AT_LEAST` bytes (an input section that is zero-fill in a
/// section with contents is not among them). In file order, adjacent ranges joined.
pub fn copied_ranges(res: &Resolution<'_>, l: &impl OutputLayout) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .flat_map_iter(|(oi, o)| {
            o.sections
                .iter()
                .enumerate()
                .filter(|(_, section)| section.data.len() as u64 >= LISTED_AT_LEAST)
                .filter_map(move |(si, section)| {
                    let copied = l.copied_section(oi, si)?;
                    let len = section.data.len() as u64;
                    Some((copied.file_offset, copied.file_offset + len))
                })
        })
        .collect();
    ranges.par_sort_unstable();
    let mut joined: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match joined.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => joined.push((start, end)),
        }
    }
    joined
}

/// Smaller sections are left out of [`copied_ranges`] (their bytes are zeroed before being
/// written, as if not listed): most sections are small (a function each) but most bytes are in
/// large ones, and the list is sorted — on cargo-nextest 80 000 ranges hold 22 MB, the 14 000
/// of 256 bytes or more 19 MB.
const LISTED_AT_LEAST: u64 = 256;

/// Files smaller than this are not handed back: each release is a system call and a TLB
/// flush on every thread (tens of microseconds here), and on debug ripgrep half of them were
/// for files under 1 MiB that together hold 11 MB.
const RELEASE_AT_LEAST: usize = 1 << 20;

/// The distinct mapped files the objects are in, and per object the index of its file.
fn mapped_files<'a>(res: &Resolution<'a>) -> (Vec<&'a [u8]>, Vec<Option<u32>>) {
    let mut files: Vec<&'a [u8]> = Vec::new();
    let mut index: HashMap<usize, u32> = HashMap::new();
    let file_of = res
        .mapped
        .iter()
        .map(|m| {
            let file = (*m)?;
            Some(*index.entry(file.as_ptr() as usize).or_insert_with(|| {
                files.push(file);
                files.len() as u32 - 1
            }))
        })
        .collect();
    (files, file_of)
}

/// Relocations per piece of a debug section: large enough that a piece's fixed cost is
/// nothing, small enough that a few hundred pieces balance any thread count.
const CHUNK_RELOCS: usize = 4096;

/// The pieces of the pass. A non-loaded section is cut between two relocations only when its
/// relocations are in offset order and the earlier one's field ends before the cut, so no two
/// pieces touch one byte.
fn tasks<A: Arch>(res: &Resolution<'_>, l: &impl OutputLayout) -> Vec<Task> {
    let per_object: Vec<Vec<Task>> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| {
            let mut out = vec![Task::Loaded { obj: oi as u32 }];
            for (si, section) in o.sections.iter().enumerate() {
                let Some(copied) = l.copied_section(oi, si) else {
                    continue;
                };
                if copied.place.alloc {
                    continue;
                }
                let relocs = o.relocations[si];
                let size = section.data.len() as u64;
                let mut cut = |from: (u64, usize), to: (u64, usize)| {
                    out.push(Task::Chunk {
                        obj: oi as u32,
                        sec: si as u32,
                        bytes: (from.0, to.0),
                        relocs: (from.1 as u32, to.1 as u32),
                    })
                };
                let sorted = section.has(SectionFlags::RELOCS_SORTED);
                let mut from = (0u64, 0usize);
                if sorted && relocs.len() > CHUNK_RELOCS {
                    let mut next = CHUNK_RELOCS;
                    while next < relocs.len() {
                        let (Some(prev), Some(here)) = (relocs.get(next - 1), relocs.get(next))
                        else {
                            break;
                        };
                        let width = A::reloc_info(prev.r_type, l.is_shared())
                            .map_or(8, |i| i.field.width());
                        if prev.offset + width <= here.offset && here.offset < size {
                            cut(from, (here.offset, next));
                            from = (here.offset, next);
                            next += CHUNK_RELOCS;
                        } else {
                            next += 1;
                        }
                    }
                }
                cut(from, (size, relocs.len()));
            }
            out
        })
        .collect();
    per_object.into_iter().flatten().collect()
}

/// Copies and relocates every object's sections into `out`; returns each object's dynamic
/// relocations, in object order.
pub fn relocate_sections<A: Arch>(
    res: &Resolution<'_>,
    l: &impl OutputLayout,
    out: OutBuf,
) -> Result<Vec<ObjectDynRelocs>> {
    let timer = std::time::Instant::now();
    let targets = resolve_targets(res, l);
    tracing::debug!(elapsed = ?timer.elapsed(), "relocate: targets resolved");
    let tasks = tasks::<A>(res, l);
    tracing::debug!(elapsed = ?timer.elapsed(), "relocate: tasks planned");
    let pass = Pass {
        res,
        l,
        targets: &targets,
        got_base: l.got_base(),
        image_base: l.image_base(),
        shared: l.is_shared(),
        thunks: l.has_thunks(),
    };
    // Each mapped file's tasks still to finish (over all its objects): the last one to finish
    // hands the whole file's pages back (`input::release`), so the inputs do not all stay
    // resident beside the output. One release per file, not per object: each costs a system
    // call and every thread a TLB flush, and an archive has hundreds of members.
    let (files, file_of) = mapped_files(res);
    let remaining: Vec<AtomicU32> = files.iter().map(|_| AtomicU32::new(0)).collect();
    for task in &tasks {
        if let Some(f) = file_of[task.object()] {
            remaining[f as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
    let done: Vec<Option<ObjectDynRelocs>> = tasks
        .par_iter()
        .per_item()
        .map(|&task| {
            let result = match task {
                Task::Loaded { obj } => pass.loaded_sections::<A>(obj as usize, out).map(Some),
                Task::Chunk {
                    obj,
                    sec,
                    bytes,
                    relocs,
                } => pass
                    .chunk::<A>(obj as usize, sec as usize, bytes, relocs, out)
                    .map(|()| None),
            };
            if let Some(f) = file_of[task.object()] {
                if remaining[f as usize].fetch_sub(1, Ordering::AcqRel) == 1
                    && files[f as usize].len() >= RELEASE_AT_LEAST
                {
                    crate::input::release(files[f as usize]);
                }
            }
            result
        })
        .collect::<Result<_>>()?;
    let per_object: Vec<ObjectDynRelocs> = done.into_iter().flatten().collect();
    Ok(per_object)
}

/// An object's dynamic relocations as the pass finds them: the places scanning recorded, in
/// (section, relocation) order, and the relocations made at them so far.
struct Dynamic<'s> {
    sites: &'s [DynSite],
    next: usize,
    relative: Vec<DynReloc>,
    other: Vec<DynReloc>,
}

impl Dynamic<'_> {
    /// Whether relocation `ri` of section `si` is the next recorded place.
    #[inline]
    fn at(&self, si: usize, ri: usize) -> bool {
        self.sites
            .get(self.next)
            .is_some_and(|s| s.section as usize == si && s.reloc as usize == ri)
    }

    /// The dynamic relocation at the next recorded place, `p`, naming S + A.
    fn add(&mut self, res: &Resolution<'_>, oi: usize, r: &Reloc, p: u64, s: u64, a: i64) {
        let site = self.sites[self.next];
        self.next += 1;
        if site.absolute {
            let symbol = match target(res, oi, r.symbol) {
                SymbolRef::Global(id) => Some(id),
                SymbolRef::Local { .. } => None,
            };
            self.other.push(DynReloc {
                offset: p,
                kind: DynKind::Absolute,
                symbol,
                addend: a,
            });
        } else {
            self.relative.push(DynReloc {
                offset: p,
                kind: DynKind::Relative,
                symbol: None,
                addend: (s as i64).wrapping_add(a),
            });
        }
    }
}

/// The merged string section the last lookup was in, with its address and piece map.
struct MergedLookup<'s> {
    section: u32,
    base: u64,
    map: &'s crate::merge::PieceMap,
}

/// What every task of the pass reads.
struct Pass<'p, 'r, L> {
    res: &'p Resolution<'r>,
    l: &'p L,
    targets: &'p [Vec<Target>],
    got_base: u64,
    image_base: u64,
    shared: bool,
    thunks: bool,
}

impl<L: OutputLayout> Pass<'_, '_, L> {
    /// An object's loaded sections: copied, relocated, and their dynamic relocations (the
    /// places scanning found) gathered in order.
    fn loaded_sections<A: Arch>(&self, oi: usize, out: OutBuf) -> Result<ObjectDynRelocs> {
        let o = &self.res.objects[oi];
        let mut dynamic = Dynamic {
            sites: self.l.dynamic_sites(oi),
            next: 0,
            relative: Vec::new(),
            other: Vec::new(),
        };
        for (si, section) in o.sections.iter().enumerate() {
            let Some(copied) = self.l.copied_section(oi, si) else {
                continue;
            };
            if !copied.place.alloc {
                continue;
            }
            let data = section.data;
            // SAFETY: this input section's range belongs to this object alone.
            let dst = unsafe { out.range(copied.file_offset, data.len() as u64)? };
            dst.copy_from_slice(data);
            self.apply_loaded::<A>(oi, si, copied, dst, &mut dynamic)?;
        }
        if dynamic.next != dynamic.sites.len() {
            crate::bail!(
                "{}: dynamic relocations changed between scan and write (linker bug)",
                o.place
            );
        }
        Ok((dynamic.relative, dynamic.other))
    }

    /// A run of a non-loaded section: its bytes copied, its relocations applied (no dynamic
    /// relocation is ever needed here).
    fn chunk<A: Arch>(
        &self,
        oi: usize,
        si: usize,
        (from, to): (u64, u64),
        (first, end): (u32, u32),
        out: OutBuf,
    ) -> Result<()> {
        let o = &self.res.objects[oi];
        let Some(copied) = self.l.copied_section(oi, si) else {
            return Ok(());
        };
        let data = &o.sections[si].data[from as usize..to as usize];
        // SAFETY: this piece of the section belongs to this task alone.
        let dst = unsafe { out.range(copied.file_offset + from, data.len() as u64)? };
        dst.copy_from_slice(data);
        self.apply_unloaded::<A>(oi, si, first as usize..end as usize, copied, from, dst)
    }

    /// Relocation `r` of section `si` of object `oi` cannot be applied, for `why`.
    fn reloc_error<A: Arch>(
        &self,
        oi: usize,
        si: usize,
        r: &Reloc,
        why: &str,
    ) -> crate::diag::Error {
        reloc_error(
            &self.res.objects[oi],
            si,
            r.offset,
            &A::type_name(r.r_type),
            &symbol_display(self.res, target(self.res, oi, r.symbol)),
            why,
        )
    }

    /// The size of the symbol relocation `r` of object `oi` names, for the relocations that
    /// read it (`R_*_SIZE*`); 0 for the rest, which do not.
    fn size_for<A: Arch>(&self, oi: usize, r: &Reloc) -> u64 {
        match A::reloc_info(r.r_type, self.shared) {
            Some(info) if info.kind == reloc::RelocKind::Size => {
                self.l.symbol_value(target(self.res, oi, r.symbol)).size
            }
            _ => 0,
        }
    }

    /// The string a reference into merged strings names: the addend is no longer an offset
    /// from one base, so the string is looked up by it. The addend of a PC-relative
    /// reference also carries the reach from the field to the next instruction: the string is
    /// at addend minus that bias, which the reference keeps. `last` remembers the section of
    /// the previous lookup, most often the next one's too.
    #[inline]
    fn merged_target<'s, A: Arch>(
        &'s self,
        oi: usize,
        sec: u32,
        r: &Reloc,
        last: &mut Option<MergedLookup<'s>>,
    ) -> Option<(u64, i64)> {
        let bias = A::merged_string_bias(r.r_type);
        // An addend within the bias of the i64 range (hostile input) names no string: the
        // caller then takes it as an offset from the section, which the field cannot hold.
        let offset = u64::try_from(r.addend.checked_sub(bias)?).ok()?;
        let hit = match last {
            Some(m) if m.section == sec => m,
            _ => {
                let Some((base, map)) = self.l.merged_pieces(oi, sec as usize) else {
                    return Some((self.l.address_in(oi, sec as usize, offset)?, bias));
                };
                last.insert(MergedLookup {
                    section: sec,
                    base,
                    map,
                })
            }
        };
        let at = hit.map.map(offset)?;
        Some((hit.base.wrapping_add(at), bias))
    }

    /// Relocations `range` of a non-loaded section (debug information), whose bytes from
    /// `base` on are `dst`: link-time values only — no GOT, PLT, thunk or dynamic relocation
    /// — so each is a table lookup, an addition and a store.
    fn apply_unloaded<A: Arch>(
        &self,
        oi: usize,
        si: usize,
        range: std::ops::Range<usize>,
        copied: CopiedSection,
        base: u64,
        dst: &mut [u8],
    ) -> Result<()> {
        let o = &self.res.objects[oi];
        let targets = &self.targets[oi];
        let relocs = o.relocations[si];
        let mut skip = false;
        let mut last = None;
        for ri in range {
            let Some(r) = relocs.get(ri) else { break };
            if std::mem::take(&mut skip) {
                continue;
            }
            let err = |why: &str| self.reloc_error::<A>(oi, si, &r, why);
            // In range: the loader checked every relocation's symbol index.
            let t = &targets[r.symbol as usize];
            let (s, a) = match t.merged {
                NOT_MERGED => None,
                sec => self.merged_target::<A>(oi, sec, &r, &mut last),
            }
            .unwrap_or((t.addr, r.addend));
            let at = (r.offset - base) as usize;
            // Most debug relocations are plain addresses and offsets: S + A into a word.
            if !A::RELAXES_UNLOADED {
                let p = copied.addr.wrapping_add(r.offset);
                match reloc::apply_simple::<A>(r.r_type, dst, at, s, a, p, self.shared) {
                    Some(Ok(())) => continue,
                    Some(Err(why)) => return Err(err(&why)),
                    None => {}
                }
            }
            let info = t.info();
            let tls = info.tls;
            let v = Values {
                p: copied.addr.wrapping_add(r.offset),
                s,
                a,
                size: self.size_for::<A>(oi, &r),
                got_slot: None,
                got_base: self.got_base,
                image_base: self.image_base,
                tpoff: if tls { self.l.tpoff(t.addr) } else { 0 },
                local: t.local() && !info.dynamic && !info.absolute,
                shared: self.shared,
                dtpoff: if tls { self.l.dtpoff(t.addr) } else { 0 },
            };
            let applied = if A::got_use(r.r_type, self.shared).is_some() {
                // As in lld: only the loaded image has a GOT.
                Err(
                    "a GOT-relative relocation in a section that is not loaded (no SHF_ALLOC)"
                        .to_string(),
                )
            } else if A::RELAXES_UNLOADED {
                reloc::apply::<A>(r.r_type, dst, at, &v)
            } else {
                reloc::apply_table::<A>(r.r_type, dst, at, &v)
            };
            match applied {
                Ok(Applied::Done) => {}
                Ok(Applied::SkipNext) => skip = true,
                Err(why) => return Err(err(&why)),
            }
        }
        Ok(())
    }

    /// The relocations of loaded section `si`, whose bytes are `dst`: relaxations, GOT
    /// slots, thunks, and the dynamic relocations scanning found at places of it.
    fn apply_loaded<A: Arch>(
        &self,
        oi: usize,
        si: usize,
        copied: CopiedSection,
        dst: &mut [u8],
        dynamic: &mut Dynamic<'_>,
    ) -> Result<()> {
        let o = &self.res.objects[oi];
        let targets = &self.targets[oi];
        let l = self.l;
        let mut skip = false;
        let mut last = None;
        for (ri, r) in o.relocations[si].iter().enumerate() {
            if std::mem::take(&mut skip) {
                continue;
            }
            let err = |why: &str| self.reloc_error::<A>(oi, si, &r, why);
            // In range: the loader checked every relocation's symbol index.
            let t = &targets[r.symbol as usize];
            let info = t.info();
            let (mut s_addr, mut addend) = match t.merged {
                NOT_MERGED => None,
                sec => self.merged_target::<A>(oi, sec, &r, &mut last),
            }
            .unwrap_or((t.addr, r.addend));
            // A far branch goes to its thunk, which goes on to the target and addend.
            if self.thunks && A::branch_range(r.r_type).is_some() {
                if let Some(thunk) = l.thunk(oi, si, r.offset) {
                    (s_addr, addend) = (thunk, 0);
                }
            }
            let p = copied.addr.wrapping_add(r.offset);
            let at = usize::try_from(r.offset).map_err(|_| err("offset out of range"))?;
            if dynamic.at(si, ri) {
                dynamic.add(self.res, oi, &r, p, s_addr, addend);
            } else if A::got_use(r.r_type, self.shared).is_none() && !A::may_relax(r.r_type) {
                // Most code and data relocations: a branch or an address, S + A (− P).
                if let Some(done) =
                    reloc::apply_simple::<A>(r.r_type, dst, at, s_addr, addend, p, self.shared)
                {
                    done.map_err(|w| err(&w))?;
                    continue;
                }
            }
            // Only the GOT-relative types use a slot: no lookup for the rest.
            let got_slot = A::got_use(r.r_type, self.shared).and_then(|u| {
                if u == GotUse::Address {
                    if let Some(slot) = t.got(self.got_base) {
                        return Some(slot);
                    }
                }
                let t = target(self.res, oi, r.symbol);
                l.got_slot(match u {
                    GotUse::Address => GotEntry::Address(t),
                    GotUse::TpOff => GotEntry::TpOff(t),
                    GotUse::TlsGd => GotEntry::TlsGd(t),
                    GotUse::TlsLd => GotEntry::TlsLd,
                    GotUse::TlsDesc => GotEntry::TlsDesc(t),
                })
            });
            let v = Values {
                p,
                s: s_addr,
                a: addend,
                size: self.size_for::<A>(oi, &r),
                got_slot,
                got_base: self.got_base,
                image_base: self.image_base,
                tpoff: if info.tls { l.tpoff(t.addr) } else { 0 },
                local: t.local() && !info.dynamic && !info.absolute,
                shared: self.shared,
                dtpoff: if info.tls { l.dtpoff(t.addr) } else { 0 },
            };
            if reloc::apply::<A>(r.r_type, dst, at, &v).map_err(|w| err(&w))? == Applied::SkipNext {
                skip = true;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(tls: bool, absolute: bool) -> TargetInfo {
        TargetInfo {
            dynamic: false,
            dynamic_data: true,
            tls,
            undefined_weak: false,
            absolute,
            ifunc: true,
        }
    }

    #[test]
    fn packed_targets_keep_their_facts() {
        let value = SymValue {
            addr: 0x1234,
            size: 99,
            local: true,
        };
        let t = Target::of(value, info(true, false));
        assert_eq!(t.addr, 0x1234);
        assert_eq!(t.merged, NOT_MERGED);
        assert!(t.local());
        let i = t.info();
        assert!(i.tls && i.dynamic_data && i.ifunc);
        assert!(!i.dynamic && !i.absolute && !i.undefined_weak);
        assert_eq!(t.got(0x4000), None);
        let u = Target::of(
            SymValue {
                local: false,
                ..value
            },
            info(false, true),
        );
        assert!(!u.local() && u.info().absolute && !u.info().tls);
    }

    #[test]
    fn got_slots_are_kept_when_they_fit_and_asked_for_otherwise() {
        let value = SymValue {
            addr: 0,
            size: 0,
            local: true,
        };
        let base = 0x20_0000;
        let mut t = Target::of(value, info(true, true));
        t.set_got(base, base);
        assert_eq!(t.got(base), Some(base));
        t.set_got(base + 8 * 1000, base);
        assert_eq!(t.got(base), Some(base + 8000));
        // The flags are untouched by the slot.
        assert!(t.local() && t.info().tls && t.info().absolute);
        // Below the base, not a word apart, or too far: not recorded (the layout is asked).
        for slot in [base - 8, base + 4, base + 8 * u64::from(GOT_BITS)] {
            let mut t = Target::of(value, info(false, false));
            t.set_got(slot, base);
            assert_eq!(t.got(base), None, "{slot:#x}");
        }
        // The largest offset that fits.
        let mut t = Target::of(value, info(false, false));
        t.set_got(base + 8 * (u64::from(GOT_BITS) - 1), base);
        assert_eq!(t.got(base), Some(base + 8 * (u64::from(GOT_BITS) - 1)));
        assert!(t.local() && !t.info().tls);
    }
}
