//! Unwind tables: `__TEXT,__unwind_info`, which macOS's unwinder searches for every frame, and
//! the `__TEXT,__eh_frame` it points into for frames described in DWARF.
//!
//! Compilers give each function a compact unwind entry (`__LD,__compact_unwind`: function,
//! length, a 32-bit encoding, personality, LSDA). An encoding either describes the frame
//! itself or, in the CPU's DWARF mode, says "see the FDE" — the linker puts the FDE's offset
//! in `__eh_frame` into its low 24 bits. `__unwind_info` then holds, sorted by address, one
//! entry per function: a header, the personality functions (as offsets of GOT slots holding
//! their addresses), a first-level index with one entry per second-level page, the LSDA index
//! and the pages ("regular" pages of (function offset, encoding) pairs). Functions without
//! unwind information get encoding 0, so the previous function's entry does not cover them;
//! so do branch islands (`layout`), whose thunks are no function's frame.
//!
//! `__eh_frame` keeps the FDEs of live functions and the CIEs they use, each record copied and
//! its relocations applied here (the core's relocation pass copies whole sections).

use rlink_linker::eh_frame::{split_records, RecordKind};
use rlink_linker::object::{SectionFlags, SymPlace, SymbolKind};
use rlink_linker::reloc::{self, GotUse, Values};
use rlink_linker::resolve::Def;
use rlink_linker::scan::{symbol_display, target, GotEntry, SymbolRef};
use rlink_linker::{bail, Error, Result};

use crate::layout::Layout;
use crate::MachArch;

const UNWIND_HAS_LSDA: u32 = 0x4000_0000;
const UNWIND_PERSONALITY_SHIFT: u32 = 28;
const REGULAR_PAGE_ENTRIES: usize = (4096 - 8) / 8;
const COMPACT_ENTRY: usize = 32;

/// One record of an input `__eh_frame` kept in the output.
#[derive(Debug, Clone)]
pub struct EhRecord {
    pub obj: u32,
    pub sec: u32,
    pub in_offset: usize,
    pub len: usize,
    pub out_offset: u64,
    /// For an FDE: the output offset of its CIE.
    pub cie_out: Option<u64>,
    /// For an FDE: the function it describes (object, section).
    pub function: Option<(u32, u32)>,
    /// For an FDE: its CIE's personality function and its own LSDA, which `__unwind_info`
    /// repeats for the unwinder's fast path.
    pub personality: Option<SymbolRef>,
    pub lsda: Option<(u32, u32, u64)>,
}

/// One function's unwind entry, before addresses.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The function: (object, section, offset in it).
    pub function: (u32, u32, u64),
    pub encoding: u32,
    pub personality: Option<SymbolRef>,
    /// The LSDA: (object, section, offset).
    pub lsda: Option<(u32, u32, u64)>,
    /// Output offset of its FDE, for DWARF-mode encodings.
    pub fde: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Unwind {
    pub eh_records: Vec<EhRecord>,
    pub eh_frame_size: u64,
    pub entries: Vec<Entry>,
    pub personalities: Vec<SymbolRef>,
    pub unwind_info_size: u64,
}

/// The (object, section, offset) a relocation of object `oi` reaches.
fn reach(l: &Layout<'_, '_>, oi: usize, symbol: u32, addend: i64) -> Option<(u32, u32, u64)> {
    let res = l.res;
    let (obj, sym) = match target(res, oi, symbol) {
        SymbolRef::Local { obj, sym } => (obj, sym),
        SymbolRef::Global(id) => match res.globals[id as usize].def {
            Def::Object { obj, sym, .. } => (obj, sym),
            _ => return None,
        },
    };
    let s = &res.objects[obj as usize].symbols[sym as usize];
    let SymPlace::Section(sec) = s.place else {
        return None;
    };
    let offset = (s.value as i64).checked_add(addend)?;
    Some((obj, sec, u64::try_from(offset).ok()?))
}

/// Which `__eh_frame` records stay, which compact unwind entries apply, and the sizes of both
/// output sections. Personality functions get GOT slots (added to `got`).
pub fn plan<A: MachArch>(l: &Layout<'_, '_>) -> Result<Unwind> {
    let res = l.res;
    let mut u = Unwind::default();
    let placed = |obj: u32, sec: u32| l.placements[obj as usize][sec as usize].is_some();

    // Compact unwind entries of live functions, first: they say which FDEs are needed.
    let mut covered: rustc_hash::FxHashMap<(u32, u32), usize> = Default::default();
    for (oi, o) in res.objects.iter().enumerate() {
        for (si, s) in o.sections.iter().enumerate() {
            if s.name != b"__LD,__compact_unwind" {
                continue;
            }
            if s.size % COMPACT_ENTRY as u64 != 0 {
                bail!(
                    "{}: __compact_unwind is not a whole number of 32-byte entries",
                    o.place
                );
            }
            let relocs = &o.relocations[si];
            let field = |entry: usize, at: usize| {
                let off = (entry * COMPACT_ENTRY + at) as u64;
                let k = relocs.partition_point(off);
                relocs.get(k).filter(|r| r.offset == off)
            };
            for e in 0..s.size as usize / COMPACT_ENTRY {
                let Some(f) = field(e, 0) else { continue };
                let Some(function) = reach(l, oi, f.symbol, f.addend) else {
                    continue;
                };
                if !placed(function.0, function.1)
                    || covered.contains_key(&(function.0, function.1))
                {
                    continue;
                }
                let at = e * COMPACT_ENTRY;
                let encoding = u32::from_le_bytes(s.data[at + 12..at + 16].try_into().unwrap());
                let personality = field(e, 16).map(|r| target(res, oi, r.symbol));
                let lsda = match field(e, 24) {
                    Some(r) => Some(reach(l, oi, r.symbol, r.addend).ok_or_else(|| {
                        Error::new(format!(
                            "{}: __compact_unwind entry {e}: its LSDA is not in the link",
                            o.place
                        ))
                    })?),
                    None => None,
                };
                covered.insert((function.0, function.1), u.entries.len());
                u.entries.push(Entry {
                    function,
                    encoding,
                    personality,
                    lsda,
                    fde: None,
                });
            }
        }
    }

    // The FDEs still needed: those of live functions that compact unwind does not describe
    // (no entry, or an entry in DWARF mode), as ld64 keeps them; and the CIEs they use.
    let needs_fde = |u: &Unwind, key: &(u32, u32)| match covered.get(key) {
        Some(&i) => u.entries[i].encoding & A::UNWIND_MODE_MASK == A::UNWIND_MODE_DWARF,
        None => true,
    };
    let mut fde_of: rustc_hash::FxHashMap<(u32, u32), usize> = Default::default();
    let mut out = 0u64;
    for &(oi, si) in &l.eh_frames {
        let o = &res.objects[oi as usize];
        let data = o.section_data(si as usize);
        let records = split_records(data).map_err(|e| e.at(&o.place))?;
        let relocs = &o.relocations[si as usize];
        // CIE output offsets of this section, made on first use.
        let mut cie_out: Vec<(usize, u64)> = Vec::new();
        for r in &records {
            let RecordKind::Fde { cie_offset } = r.kind else {
                continue;
            };
            // pc_begin follows the length and the CIE pointer.
            let at = relocs.partition_point((r.offset + 8) as u64);
            let Some(first) = relocs.get(at).filter(|x| x.offset as usize == r.offset + 8) else {
                continue;
            };
            let Some((fo, fs, _)) = reach(l, oi as usize, first.symbol, first.addend.max(0)) else {
                continue;
            };
            if !placed(fo, fs) || fde_of.contains_key(&(fo, fs)) || !needs_fde(&u, &(fo, fs)) {
                continue;
            }
            let cie = match cie_out.iter().find(|c| c.0 == cie_offset) {
                Some(c) => c.1,
                None => {
                    let Some(rec) = records.iter().find(|c| c.offset == cie_offset) else {
                        bail!("{}: __eh_frame: an FDE names no CIE", o.place);
                    };
                    u.eh_records.push(EhRecord {
                        obj: oi,
                        sec: si,
                        in_offset: rec.offset,
                        len: rec.len,
                        out_offset: out,
                        cie_out: None,
                        function: None,
                        personality: None,
                        lsda: None,
                    });
                    cie_out.push((cie_offset, out));
                    out += rec.len as u64;
                    out - rec.len as u64
                }
            };
            // The CIE's one relocation is its personality pointer; an FDE's relocations after
            // pc_begin and pc_range (8 bytes each) are its LSDA pointer.
            let within = |from: usize, to: usize| {
                let lo = relocs.partition_point(from as u64);
                let hi = relocs.partition_point(to as u64);
                (lo..hi).filter_map(|k| relocs.get(k))
            };
            let cie_len = records
                .iter()
                .find(|c| c.offset == cie_offset)
                .map(|c| c.len)
                .unwrap_or(0);
            let personality = within(cie_offset, cie_offset + cie_len)
                .next()
                .map(|x| target(res, oi as usize, x.symbol));
            let lsda = within(r.offset + 24, r.offset + r.len)
                .next()
                .and_then(|x| reach(l, oi as usize, x.symbol, x.addend));
            fde_of.insert((fo, fs), u.eh_records.len());
            u.eh_records.push(EhRecord {
                obj: oi,
                sec: si,
                in_offset: r.offset,
                len: r.len,
                out_offset: out,
                cie_out: Some(cie),
                function: Some((fo, fs)),
                personality,
                lsda,
            });
            out += r.len as u64;
        }
    }
    u.eh_frame_size = out;
    for e in u.entries.iter_mut() {
        if let Some(&i) = fde_of.get(&(e.function.0, e.function.1)) {
            let r = &u.eh_records[i];
            e.fde = Some(r.out_offset);
            e.personality = e.personality.or(r.personality);
            e.lsda = e.lsda.or(r.lsda);
        }
    }
    let mut covered: rustc_hash::FxHashSet<(u32, u32)> = covered.into_keys().collect();

    // Functions with an FDE and no compact entry: DWARF mode. Every other live function in
    // executable code gets encoding 0.
    for (&(fo, fs), &i) in &fde_of {
        if covered.insert((fo, fs)) {
            let r = &u.eh_records[i];
            u.entries.push(Entry {
                function: (fo, fs, 0),
                encoding: A::UNWIND_MODE_DWARF,
                personality: r.personality,
                lsda: r.lsda,
                fde: Some(r.out_offset),
            });
        }
    }
    for (oi, o) in res.objects.iter().enumerate() {
        // The sections that hold a function, found in one pass over the symbols.
        let mut has_function = vec![false; o.sections.len()];
        for y in &o.symbols {
            if let (SymPlace::Section(si), SymbolKind::Func) = (y.place, y.kind) {
                has_function[si as usize] = true;
            }
        }
        for (si, s) in o.sections.iter().enumerate() {
            if !has_function[si]
                || !s.has(SectionFlags::EXEC)
                || !placed(oi as u32, si as u32)
                || s.size == 0
            {
                continue;
            }
            if covered.insert((oi as u32, si as u32)) {
                u.entries.push(Entry {
                    function: (oi as u32, si as u32, 0),
                    encoding: 0,
                    personality: None,
                    lsda: None,
                    fde: None,
                });
            }
        }
    }
    for e in &u.entries {
        if let Some(p) = e.personality {
            if !u.personalities.contains(&p) {
                u.personalities.push(p);
            }
        }
    }
    if u.personalities.len() > 3 {
        bail!(
            "{} personality functions; __unwind_info holds at most 3",
            u.personalities.len()
        );
    }
    // Size: header (28), personalities, the first-level index (pages + 1 sentinel), LSDA
    // index, regular pages. No common encodings: every page carries its own. Each branch
    // island is a row too (encoding 0: its thunks are no function's frame).
    let islands = if u.entries.is_empty() {
        0
    } else {
        l.islands.len()
    };
    let n = u.entries.len() + islands;
    let pages = n.div_ceil(REGULAR_PAGE_ENTRIES).max(1);
    let lsdas = u.entries.iter().filter(|e| e.lsda.is_some()).count();
    u.unwind_info_size = (28
        + 4 * u.personalities.len()
        + 12 * (pages + 1)
        + 8 * lsdas
        + (8 + 8 * REGULAR_PAGE_ENTRIES) * pages) as u64;
    // Pages other than the last are full; the last holds the rest.
    let last = n - (pages - 1) * REGULAR_PAGE_ENTRIES;
    u.unwind_info_size -= (8 * (REGULAR_PAGE_ENTRIES - last.min(REGULAR_PAGE_ENTRIES))) as u64;
    Ok(u)
}

fn addr_of(l: &Layout<'_, '_>, (obj, sec, off): (u32, u32, u64)) -> u64 {
    l.placements[obj as usize][sec as usize]
        .map(|p| l.sections[p.section as usize].addr + p.offset + off)
        .unwrap_or(0)
}

/// Copies the kept `__eh_frame` records into `out` (the output section's bytes, at `base`)
/// and applies their relocations.
pub fn write_eh_frame<A: MachArch>(l: &Layout<'_, '_>, out: &mut [u8], base: u64) -> Result<()> {
    let res = l.res;
    for r in &l.unwind.eh_records {
        let o = &res.objects[r.obj as usize];
        let data = o.section_data(r.sec as usize);
        let dst = &mut out[r.out_offset as usize..r.out_offset as usize + r.len];
        dst.copy_from_slice(&data[r.in_offset..r.in_offset + r.len]);
        if let Some(cie) = r.cie_out {
            // The CIE pointer: the distance back from the pointer field to the CIE.
            let ptr = (r.out_offset + 4 - cie) as u32;
            dst[4..8].copy_from_slice(&ptr.to_le_bytes());
        }
        let relocs = &o.relocations[r.sec as usize];
        let lo = relocs.partition_point(r.in_offset as u64);
        let hi = relocs.partition_point((r.in_offset + r.len) as u64);
        for k in lo..hi {
            let Some(x) = relocs.get(k) else { continue };
            let t = target(res, r.obj as usize, x.symbol);
            let at = (x.offset as usize) - r.in_offset;
            let got_slot = A::got_use(x.r_type, false).and_then(|u| match u {
                GotUse::Address => l.got_addr(&GotEntry::Address(t)),
                _ => None,
            });
            let v = Values {
                p: base + r.out_offset + at as u64,
                s: l.value(t).addr,
                a: x.addend,
                size: 0,
                got_slot,
                got_base: 0,
                image_base: 0,
                tpoff: 0,
                local: true,
                shared: false,
                dtpoff: 0,
            };
            reloc::apply::<A>(x.r_type, dst, at, &v).map_err(|why| {
                Error::new(format!(
                    "{}: __eh_frame+{:#x}: relocation {} against {}: {why}",
                    o.place,
                    x.offset,
                    A::type_name(x.r_type),
                    symbol_display(res, t)
                ))
            })?;
        }
    }
    Ok(())
}

/// Builds `__unwind_info` (exactly `l.unwind.unwind_info_size` bytes).
pub fn write_unwind_info<A: MachArch>(l: &Layout<'_, '_>, out: &mut [u8]) -> Result<()> {
    let u = &l.unwind;
    // (function offset, encoding, lsda offset)
    let mut rows: Vec<(u32, u32, Option<u32>)> = Vec::with_capacity(u.entries.len());
    for e in &u.entries {
        let f = addr_of(l, e.function) - l.base;
        let mut encoding = e.encoding;
        let dwarf = encoding & A::UNWIND_MODE_MASK == A::UNWIND_MODE_DWARF;
        if dwarf {
            let Some(fde) = e.fde else {
                bail!("a function's unwind encoding names DWARF, but it has no FDE in the link");
            };
            if fde >= 1 << 24 {
                bail!("__eh_frame is too large for __unwind_info to reach an FDE");
            }
            encoding = (encoding & !0x00ff_ffff) | fde as u32;
        }
        if let Some(p) = e.personality {
            let i = u.personalities.iter().position(|x| *x == p).unwrap_or(0) as u32;
            encoding |= (i + 1) << UNWIND_PERSONALITY_SHIFT;
        }
        let lsda = e.lsda.map(|x| (addr_of(l, x) - l.base) as u32);
        // A DWARF-mode frame's LSDA is its FDE's (the unwinder reads it there); the LSDA index
        // lists it for the fast path, but only compact frames carry the flag, as lld writes.
        if lsda.is_some() && !dwarf {
            encoding |= UNWIND_HAS_LSDA;
        }
        rows.push((
            u32::try_from(f).map_err(|_| Error::new("text beyond 4 GiB"))?,
            encoding,
            lsda,
        ));
    }
    // Branch islands: the function before one must not cover its thunks.
    let mut end_of_islands = 0;
    for island in &l.islands {
        let Some((_, at)) = l.island_place(island) else {
            continue;
        };
        let f = u32::try_from(at - l.base).map_err(|_| Error::new("text beyond 4 GiB"))?;
        rows.push((f, 0, None));
        end_of_islands =
            end_of_islands.max(at - l.base + l.thunk_size * island.targets.len() as u64);
    }
    rows.sort_by_key(|r| r.0);
    let end_of_text = u
        .entries
        .iter()
        .map(|e| {
            let size = l.res.objects[e.function.0 as usize].sections[e.function.1 as usize].size;
            addr_of(l, e.function) - l.base + size
        })
        .max()
        .unwrap_or(0)
        .max(end_of_islands) as u32;

    let w32 = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let npers = u.personalities.len();
    let pages = rows.len().div_ceil(REGULAR_PAGE_ENTRIES).max(1);
    let personality_off = 28;
    let index_off = personality_off + 4 * npers;
    let lsda_off = index_off + 12 * (pages + 1);
    let lsdas: Vec<(u32, u32)> = rows.iter().filter_map(|r| r.2.map(|x| (r.0, x))).collect();
    let pages_off = lsda_off + 8 * lsdas.len();
    w32(out, 0, 1); // version
    w32(out, 4, 28); // common encodings: none
    w32(out, 8, 0);
    w32(out, 12, personality_off as u32);
    w32(out, 16, npers as u32);
    w32(out, 20, index_off as u32);
    w32(out, 24, pages as u32 + 1);
    for (i, p) in u.personalities.iter().enumerate() {
        let slot = l
            .got_addr(&GotEntry::Address(*p))
            .ok_or_else(|| Error::new("a personality function without a GOT slot (linker bug)"))?;
        w32(out, personality_off + 4 * i, (slot - l.base) as u32);
    }
    let mut page_at = pages_off;
    let mut lsda_index = 0usize;
    for (k, chunk) in rows.chunks(REGULAR_PAGE_ENTRIES).enumerate() {
        let at = index_off + 12 * k;
        w32(out, at, chunk[0].0);
        w32(out, at + 4, page_at as u32);
        w32(out, at + 8, (lsda_off + 8 * lsda_index) as u32);
        lsda_index += chunk.iter().filter(|r| r.2.is_some()).count();
        // A regular second-level page.
        w32(out, page_at, 2);
        out[page_at + 4..page_at + 6].copy_from_slice(&8u16.to_le_bytes());
        out[page_at + 6..page_at + 8].copy_from_slice(&(chunk.len() as u16).to_le_bytes());
        for (i, r) in chunk.iter().enumerate() {
            w32(out, page_at + 8 + 8 * i, r.0);
            w32(out, page_at + 12 + 8 * i, r.1);
        }
        page_at += 8 + 8 * chunk.len();
    }
    // The sentinel: the end of the text, no page.
    let at = index_off + 12 * pages;
    w32(out, at, end_of_text);
    w32(out, at + 4, 0);
    w32(out, at + 8, (lsda_off + 8 * lsdas.len()) as u32);
    for (i, (f, x)) in lsdas.iter().enumerate() {
        w32(out, lsda_off + 8 * i, *f);
        w32(out, lsda_off + 8 * i + 4, *x);
    }
    if page_at.max(lsda_off + 8 * lsdas.len()) as u64 > l.unwind.unwind_info_size {
        bail!("__unwind_info outgrew its plan (linker bug)");
    }
    Ok(())
}
