//! Writing the executable: a temporary file in the output's directory, mapped and filled in
//! parallel (each object copies and relocates its own sections, which never overlap), then
//! renamed into place. On any error the temporary file is deleted and the output path is
//! untouched.

use std::path::Path;

use object::elf;
use object::read::elf::Rela as _;
use object::LittleEndian as LE;
use rayon::prelude::*;
use rlink_linker::{bail, Error, Result};

use crate::eh_frame;
use crate::layout::{
    got_dynamic_relocs, reloc_error, symbol_display, target, target_info, GotEntry, Layout, Synth,
    Target, BUILD_ID_SIZE,
};
use crate::object::SymPlace;
use crate::resolve::Def;
use crate::shared::ExportKind;
use crate::x86_64::{self, Applied, Need, PlaceInfo, Values};

/// A dynamic relocation to emit.
#[derive(Debug, Clone, Copy)]
struct DynReloc {
    offset: u64,
    r_type: u32,
    sym: u32,
    addend: i64,
}

/// The address and facts of a relocation target.
#[derive(Debug, Clone, Copy)]
struct SymValue {
    addr: u64,
    size: u64,
    /// Defined in the output.
    local: bool,
}

fn value_of_object_symbol(l: &Layout<'_, '_>, obj: u32, sym: u32) -> SymValue {
    let o = &l.res.objects[obj as usize];
    let s = &o.symbols[sym as usize];
    let addr = match s.place {
        SymPlace::Section(sec) => l
            .address_in(obj as usize, sec as usize, s.value)
            .unwrap_or(0),
        SymPlace::Absolute => s.value,
        SymPlace::Common | SymPlace::Undefined => 0,
    };
    SymValue {
        addr,
        size: s.size,
        local: true,
    }
}

fn is_ifunc(l: &Layout<'_, '_>, obj: u32, sym: u32) -> bool {
    l.res.objects[obj as usize].symbols[sym as usize].kind == elf::STT_GNU_IFUNC
}

fn value(l: &Layout<'_, '_>, t: Target) -> SymValue {
    match t {
        Target::Local { obj, sym } => value_of_object_symbol(l, obj, sym),
        Target::Global(id) => match l.res.globals[id as usize].def {
            // An indirect function's address, everywhere it is taken, is its PLT entry.
            Def::Object { obj, sym, .. } if is_ifunc(l, obj, sym) => {
                let plt = l.section(".plt").map(|s| s.addr).unwrap_or(0);
                let index = l.plt.get_index_of(&id).unwrap_or(0) as u64;
                SymValue {
                    addr: plt + x86_64::PLT_ENTRY_SIZE * index,
                    size: 0,
                    local: false,
                }
            }
            Def::Object { obj, sym, .. } => value_of_object_symbol(l, obj, sym),
            Def::Common { obj, sym } => {
                let bss = l
                    .sections
                    .iter()
                    .find(|s| s.name == ".bss" && s.synth.is_none());
                let addr = bss
                    .map(|b| b.addr + l.common.get(&id).copied().unwrap_or(0))
                    .unwrap_or(0);
                SymValue {
                    addr,
                    size: l.res.objects[obj as usize].symbols[sym as usize].size,
                    local: true,
                }
            }
            Def::Dynamic { .. } if l.copies.contains(&id) => {
                let index = l.copies.get_index_of(&id).unwrap_or(0);
                let base = l.section(".dynbss").map(|s| s.addr).unwrap_or(0);
                SymValue {
                    addr: base + l.copy_offsets[index],
                    size: crate::layout::copy_size(l.res, id),
                    local: false,
                }
            }
            Def::Dynamic { .. } => {
                let addr = match (l.plt.get_index_of(&id), l.section(".plt")) {
                    (Some(i), Some(plt)) => plt.addr + x86_64::PLT_ENTRY_SIZE * i as u64,
                    _ => 0,
                };
                SymValue {
                    addr,
                    size: 0,
                    local: false,
                }
            }
            Def::Synthetic => SymValue {
                addr: l.synthetic.get(&id).copied().unwrap_or(0),
                size: 0,
                local: true,
            },
            Def::Undefined | Def::Host => SymValue {
                addr: 0,
                size: 0,
                local: false,
            },
        },
    }
}

/// A raw view of the output that lets threads write disjoint ranges at once.
#[derive(Clone, Copy)]
struct Out {
    ptr: *mut u8,
    len: usize,
}
// SAFETY: every thread writes only the byte ranges of the sections it owns; layout gives each
// input section its own range, so no two threads touch the same byte.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// # Safety
    /// The caller must be the only writer of this range for the slice's lifetime.
    unsafe fn range<'o>(self, offset: u64, len: u64) -> Result<&'o mut [u8]> {
        let (start, end) = (offset as usize, (offset + len) as usize);
        if end > self.len || start > end {
            bail!("write past the end of the output (linker bug)");
        }
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), end - start) })
    }
}

pub fn write(l: &Layout<'_, '_>, path: &Path) -> Result<()> {
    rlink_linker::output::write_mapped_atomically(path, l.file_size, 0o755, |buf| fill(l, buf))
}

/// A relocation against the section symbol of a merged string section names a string by
/// its addend, which no longer is an offset from one base. The addend of a PC-relative
/// reference also carries the -4 that reaches from the field to the next instruction; the
/// string is at addend + 4 then. Returns the string's address and the bias to keep.
fn merged_section_target(
    l: &Layout<'_, '_>,
    t: Target,
    r_type: u32,
    addend: i64,
) -> Option<(u64, i64)> {
    let Target::Local { obj, sym } = t else {
        return None;
    };
    let s = &l.res.objects[obj as usize].symbols[sym as usize];
    let SymPlace::Section(sec) = s.place else {
        return None;
    };
    if s.kind != elf::STT_SECTION || !l.is_merged(obj as usize, sec as usize) {
        return None;
    }
    let bias = match elf::RelocationType(r_type) {
        elf::R_X86_64_PC32
        | elf::R_X86_64_PLT32
        | elf::R_X86_64_GOTPCREL
        | elf::R_X86_64_GOTPCRELX
        | elf::R_X86_64_REX_GOTPCRELX => -4,
        _ => 0,
    };
    let offset = u64::try_from(addend - bias).ok()?;
    Some((l.address_in(obj as usize, sec as usize, offset)?, bias))
}

/// What a GOT slot holds at link time, and the dynamic relocation that completes it: imports
/// are bound by the loader (GLOB_DAT, TPOFF64); in a PIE the output's own addresses move with
/// the load address (RELATIVE); thread-pointer offsets of the executable's own TLS are fixed.
fn got_slot(l: &Layout<'_, '_>, e: GotEntry, slot: u64) -> ([u64; 2], Vec<DynReloc>) {
    let reloc = |at: u64, r_type: elf::RelocationType, sym: u32, addend: i64| DynReloc {
        offset: at,
        r_type: r_type.0,
        sym,
        addend,
    };
    match e {
        // The slot of an indirect function holds what its resolver returns, at start-up.
        GotEntry::Address(Target::Global(id)) if target_info(l.res, Target::Global(id)).ifunc => {
            let Def::Object { obj, sym, .. } = l.res.globals[id as usize].def else {
                return ([0, 0], Vec::new());
            };
            let resolver = value_of_object_symbol(l, obj, sym).addr;
            (
                [0, 0],
                vec![reloc(slot, elf::R_X86_64_IRELATIVE, 0, resolver as i64)],
            )
        }
        GotEntry::Address(t) if target_info(l.res, t).dynamic => (
            [0, 0],
            vec![reloc(slot, elf::R_X86_64_GLOB_DAT, dynsym_of(l, t), 0)],
        ),
        GotEntry::Address(t) => {
            let addr = value(l, t).addr;
            if got_dynamic_relocs(l, e) > 0 {
                (
                    [addr, 0],
                    vec![reloc(slot, elf::R_X86_64_RELATIVE, 0, addr as i64)],
                )
            } else {
                ([addr, 0], Vec::new())
            }
        }
        GotEntry::TpOff(t) if target_info(l.res, t).dynamic => (
            [0, 0],
            vec![reloc(slot, elf::R_X86_64_TPOFF64, dynsym_of(l, t), 0)],
        ),
        // A shared library's TLS block is placed at load time: the loader adds it to the
        // offset inside the block.
        GotEntry::TpOff(t) if l.shared => {
            let off = l.dtpoff(value(l, t).addr);
            ([0, 0], vec![reloc(slot, elf::R_X86_64_TPOFF64, 0, off)])
        }
        GotEntry::TpOff(t) => ([l.tpoff(value(l, t).addr) as u64, 0], Vec::new()),
        GotEntry::TlsGd(t) if target_info(l.res, t).dynamic => {
            let sym = dynsym_of(l, t);
            (
                [0, 0],
                vec![
                    reloc(slot, elf::R_X86_64_DTPMOD64, sym, 0),
                    reloc(slot + 8, elf::R_X86_64_DTPOFF64, sym, 0),
                ],
            )
        }
        // Symbol 0 in DTPMOD64 means this module; the offset in its block is known now.
        GotEntry::TlsGd(t) => (
            [0, l.dtpoff(value(l, t).addr) as u64],
            vec![reloc(slot, elf::R_X86_64_DTPMOD64, 0, 0)],
        ),
        GotEntry::TlsLd => ([0, 0], vec![reloc(slot, elf::R_X86_64_DTPMOD64, 0, 0)]),
    }
}

/// The `.dynsym` index of an imported target (0 for anything else).
fn dynsym_of(l: &Layout<'_, '_>, t: Target) -> u32 {
    match t {
        Target::Global(id) => l.dynsym_index.get(&id).copied().unwrap_or(0),
        Target::Local { .. } => 0,
    }
}

fn fill(l: &Layout<'_, '_>, buf: &mut [u8]) -> Result<()> {
    let timer = std::time::Instant::now();
    let out = Out {
        ptr: buf.as_mut_ptr(),
        len: buf.len(),
    };
    let got_addr = l.section(".got").map(|s| s.addr).unwrap_or(0);

    // Copy and relocate every object's sections in parallel.
    let per_object: Vec<(Vec<DynReloc>, Vec<DynReloc>)> = l
        .res
        .objects
        .par_iter()
        .enumerate()
        .map(|(oi, o)| -> Result<(Vec<DynReloc>, Vec<DynReloc>)> {
            let mut relative = Vec::new();
            let mut other = Vec::new();
            for (si, p) in l.placements[oi].iter().enumerate() {
                let Some(p) = p else { continue };
                let os = &l.sections[p.section as usize];
                if os.is_nobits() || l.is_merged(oi, si) {
                    continue;
                }
                let data = o.section_data(si)?;
                // SAFETY: this input section's range belongs to this object alone.
                let dst = unsafe { out.range(os.offset + p.offset, data.len() as u64)? };
                dst.copy_from_slice(data);
                let section_addr = os.addr + p.offset;
                let place = PlaceInfo {
                    alloc: os.flags & elf::SHF_ALLOC.0 != 0,
                    writable: os.flags & elf::SHF_WRITE.0 != 0,
                    pie: l.pie,
                    shared: l.shared,
                };
                let relas = o.relocations[si];
                let mut skip = false;
                for rela in relas.iter() {
                    if std::mem::take(&mut skip) {
                        continue;
                    }
                    let r_type = rela.r_type(LE, false).0;
                    let r_offset = rela.r_offset(LE);
                    let t = target(l.res, oi, rela.r_sym(LE, false));
                    let err = |why: &str| {
                        reloc_error(o, si, r_offset, r_type, &symbol_display(l.res, t), why)
                    };
                    let sv = value(l, t);
                    let info = target_info(l.res, t);
                    let got_slot = match elf::RelocationType(r_type) {
                        elf::R_X86_64_TLSGD if l.shared => l.got_slot(GotEntry::TlsGd(t)),
                        elf::R_X86_64_TLSLD if l.shared => l.got_slot(GotEntry::TlsLd),
                        elf::R_X86_64_GOTTPOFF | elf::R_X86_64_TLSGD => {
                            l.got_slot(GotEntry::TpOff(t))
                        }
                        elf::R_X86_64_GOTPCREL
                        | elf::R_X86_64_GOTPCRELX
                        | elf::R_X86_64_REX_GOTPCRELX
                        | elf::R_X86_64_GOTPCREL64
                        | elf::R_X86_64_GOT64 => l.got_slot(GotEntry::Address(t)),
                        // Only the GOT-relative types above use a slot: no lookup for the rest
                        // (most relocations, and every debug one).
                        _ => None,
                    };
                    let tls_addr = sv.addr;
                    let (s_addr, addend) = merged_section_target(l, t, r_type, rela.r_addend(LE))
                        .unwrap_or((sv.addr, rela.r_addend(LE)));
                    let v = Values {
                        p: section_addr + r_offset,
                        s: s_addr,
                        a: addend,
                        size: sv.size,
                        got_slot,
                        got_base: got_addr,
                        tpoff: if info.tls { l.tpoff(tls_addr) } else { 0 },
                        local: sv.local && !info.dynamic,
                        shared: l.shared,
                        dtpoff: if info.tls { l.dtpoff(tls_addr) } else { 0 },
                    };
                    let at = usize::try_from(r_offset).map_err(|_| err("offset out of range"))?;
                    // Debug sections never need the loader: skip the second look.
                    if place.alloc
                        && x86_64::scan(r_type, info, place).map_err(|w| err(&w))?
                            == Need::DynamicAbsolute
                    {
                        let offset = v.p;
                        if info.dynamic {
                            let sym = dynsym_of(l, t);
                            other.push(DynReloc {
                                offset,
                                r_type: elf::R_X86_64_64.0,
                                sym,
                                addend: v.a,
                            });
                        } else {
                            relative.push(DynReloc {
                                offset,
                                r_type: elf::R_X86_64_RELATIVE.0,
                                sym: 0,
                                addend: (v.s as i64).wrapping_add(v.a),
                            });
                        }
                    }
                    if x86_64::apply(r_type, dst, at, &v).map_err(|w| err(&w))? == Applied::SkipNext
                    {
                        skip = true;
                    }
                }
            }
            Ok((relative, other))
        })
        .collect::<Result<_>>()?;

    tracing::debug!(elapsed = ?timer.elapsed(), "write: sections copied and relocated");
    for ((rel, oth), &(want_rel, want_oth)) in per_object.iter().zip(&l.dyn_relocs_per_object) {
        if rel.len() != want_rel || oth.len() != want_oth {
            bail!("dynamic relocation count changed between scan and write (linker bug)");
        }
    }

    // GOT slots and the relocations that fill them.
    let mut got_relative = Vec::new();
    let mut got_other = Vec::new();
    if let Some(got) = l.section(".got") {
        // SAFETY: .got is written by this thread only.
        let dst = unsafe { out.range(got.offset, got.size)? };
        for (i, e) in l.got.iter().enumerate() {
            let first = l.got_offsets[i] as usize;
            let slot = got.addr + 8 * first as u64;
            let (words, relocs) = got_slot(l, *e, slot);
            for (k, word) in words.iter().take(e.slots() as usize).enumerate() {
                dst[8 * (first + k)..8 * (first + k + 1)].copy_from_slice(&word.to_le_bytes());
            }
            for r in relocs {
                if r.r_type == elf::R_X86_64_RELATIVE.0 {
                    got_relative.push(r)
                } else {
                    got_other.push(r)
                }
            }
        }
    }

    for &id in &l.copies {
        let addr = value(l, Target::Global(id)).addr;
        got_other.push(DynReloc {
            offset: addr,
            r_type: elf::R_X86_64_COPY.0,
            sym: dynsym_of(l, Target::Global(id)),
            addend: 0,
        });
    }

    // .rela.dyn: RELATIVE first (DT_RELACOUNT lets the loader process them in a tight loop).
    let relatives: Vec<&DynReloc> = per_object
        .iter()
        .flat_map(|(r, _)| r)
        .chain(&got_relative)
        .collect();
    let others: Vec<&DynReloc> = per_object
        .iter()
        .flat_map(|(_, o)| o)
        .chain(&got_other)
        .collect();
    let relative_count = relatives.len();
    // `.rela.dyn`, or `.rela.iplt` in a static executable.
    if let Some(rela) = l.sections.iter().find(|s| s.synth == Some(Synth::RelaDyn)) {
        let dst = unsafe { out.range(rela.offset, rela.size)? };
        let all: Vec<&DynReloc> = relatives.into_iter().chain(others).collect();
        if all.len() as u64 * 24 != rela.size {
            bail!(
                ".rela.dyn size mismatch: {} relocations for {} bytes (linker bug)",
                all.len(),
                rela.size
            );
        }
        for (i, r) in all.iter().enumerate() {
            let e = &mut dst[24 * i..24 * i + 24];
            e[..8].copy_from_slice(&r.offset.to_le_bytes());
            e[8..16]
                .copy_from_slice(&((u64::from(r.sym) << 32) | u64::from(r.r_type)).to_le_bytes());
            e[16..].copy_from_slice(&r.addend.to_le_bytes());
        }
    }

    for (section, merged) in &l.merged.contents {
        let os = &l.sections[*section as usize];
        // SAFETY: a merged section's bytes are written here only.
        let dst = unsafe { out.range(os.offset, os.size)? };
        let mut at = 0;
        for s in &merged.strings {
            dst[at..at + s.len()].copy_from_slice(s);
            at += s.len();
        }
    }
    write_synthetics(l, out, relative_count)?;
    tracing::debug!(elapsed = ?timer.elapsed(), "write: linker-made sections written");
    write_headers(l, out)?;

    // The build id hashes the whole file with the id still zero, so equal inputs give equal
    // ids: XXH3-128 of fixed 1 MiB chunks, in parallel, then of their digests. The chunking
    // is fixed, so the id does not depend on the thread count.
    if let Some(note) = l.section(".note.gnu.build-id") {
        let whole: &[u8] = unsafe { out.range(0, l.file_size)? };
        let digests: Vec<u8> = whole
            .par_chunks(1 << 20)
            .map(|c| xxhash_rust::xxh3::xxh3_128(c).to_le_bytes())
            .collect::<Vec<_>>()
            .concat();
        let id = xxhash_rust::xxh3::xxh3_128(&digests).to_le_bytes();
        let dst = unsafe { out.range(note.offset + 16, BUILD_ID_SIZE as u64)? };
        dst.copy_from_slice(&id[..BUILD_ID_SIZE]);
    }
    Ok(())
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn write_synthetics(l: &Layout<'_, '_>, out: Out, relative_count: usize) -> Result<()> {
    for s in &l.sections {
        let Some(kind) = s.synth else { continue };
        if s.is_nobits() {
            continue;
        }
        // SAFETY: each synthetic section is written once, here, by this thread.
        let dst = unsafe { out.range(s.offset, s.size)? };
        match kind {
            Synth::Interp => {
                dst[..l.interp.len()].copy_from_slice(l.interp.as_bytes());
            }
            Synth::BuildId => {
                put32(dst, 0, 4);
                put32(dst, 4, BUILD_ID_SIZE as u32);
                put32(dst, 8, elf::NT_GNU_BUILD_ID.0);
                dst[12..16].copy_from_slice(b"GNU\0");
            }
            Synth::DynSym => {
                for (i, imp) in l.dyn_imports.iter().enumerate() {
                    let e = &mut dst[24 * (i + 1)..24 * (i + 2)];
                    put32(e, 0, imp.name_offset);
                    let bind = if imp.weak {
                        elf::STB_WEAK.0
                    } else {
                        elf::STB_GLOBAL.0
                    };
                    let kind = match imp.kind {
                        ExportKind::Function => elf::STT_FUNC.0,
                        ExportKind::Object => elf::STT_OBJECT.0,
                        ExportKind::Tls => elf::STT_TLS.0,
                        ExportKind::Other => elf::STT_NOTYPE.0,
                    };
                    e[4] = (bind << 4) | kind;
                }
                let first_export = l.dyn_imports.len() + 1;
                for (i, exp) in l.dyn_exports.iter().enumerate() {
                    let e = &mut dst[24 * (first_export + i)..24 * (first_export + i + 1)];
                    // A copied import is defined here, in .dynbss: the libraries' own
                    // references bind to this copy.
                    if l.copies.contains(&exp.global) {
                        let v = value(l, Target::Global(exp.global));
                        let shndx = crate::symtab::section_index_of(l, v.addr, false).unwrap_or(0);
                        put32(e, 0, exp.name_offset);
                        e[4] = (elf::STB_GLOBAL.0 << 4) | elf::STT_OBJECT.0;
                        put16(e, 6, shndx);
                        put64(e, 8, v.addr);
                        put64(e, 16, v.size);
                        continue;
                    }
                    let Def::Object { obj, sym, .. } = l.res.globals[exp.global as usize].def
                    else {
                        continue;
                    };
                    let s = &l.res.objects[obj as usize].symbols[sym as usize];
                    let sv = value(l, Target::Global(exp.global));
                    let tls = s.kind == elf::STT_TLS;
                    let shndx =
                        crate::symtab::section_index_of(l, sv.addr, tls).unwrap_or(elf::SHN_ABS.0);
                    // A TLS symbol's value is its offset in the module's TLS block.
                    let v = if tls {
                        l.dtpoff(sv.addr) as u64
                    } else {
                        sv.addr
                    };
                    put32(e, 0, exp.name_offset);
                    e[4] = (s.bind.0 << 4) | s.kind.0;
                    e[5] = s.visibility.0;
                    put16(e, 6, shndx);
                    put64(e, 8, v);
                    put64(e, 16, s.size);
                }
            }
            Synth::DynStr => dst.copy_from_slice(&l.dynstr),
            Synth::GnuHash => l.gnu_hash.write(dst),
            Synth::GnuVersion => {
                put16(dst, 0, 0);
                for (i, imp) in l.dyn_imports.iter().enumerate() {
                    put16(dst, 2 * (i + 1), imp.version_index);
                }
                let first_export = l.dyn_imports.len() + 1;
                for (i, exp) in l.dyn_exports.iter().enumerate() {
                    put16(dst, 2 * (first_export + i), exp.version_index);
                }
            }
            Synth::GnuVersionR => {
                let mut at = 0usize;
                for (n, need) in l.version_needs.iter().enumerate() {
                    let last = n + 1 == l.version_needs.len();
                    put16(dst, at, 1);
                    put16(dst, at + 2, need.versions.len() as u16);
                    put32(dst, at + 4, need.file_offset);
                    put32(dst, at + 8, 16);
                    let size = 16 + 16 * need.versions.len() as u32;
                    put32(dst, at + 12, if last { 0 } else { size });
                    for (k, &(name, hash, index)) in need.versions.iter().enumerate() {
                        let a = at + 16 + 16 * k;
                        put32(dst, a, hash);
                        put16(dst, a + 4, 0);
                        put16(dst, a + 6, index);
                        put32(dst, a + 8, name);
                        put32(
                            dst,
                            a + 12,
                            if k + 1 == need.versions.len() { 0 } else { 16 },
                        );
                    }
                    at += size as usize;
                }
            }
            Synth::Plt => {
                for (i, &id) in l.plt.iter().enumerate() {
                    let slot = l
                        .got_slot(GotEntry::Address(Target::Global(id)))
                        .ok_or_else(|| Error::new("PLT entry without GOT slot (linker bug)"))?;
                    let entry = s.addr + x86_64::PLT_ENTRY_SIZE * i as u64;
                    let at = (x86_64::PLT_ENTRY_SIZE * i as u64) as usize;
                    x86_64::write_plt_entry(&mut dst[at..at + 8], entry, slot)
                        .map_err(Error::new)?;
                }
            }
            Synth::Dynamic => write_dynamic(l, dst, relative_count)?,
            Synth::Comment => dst.copy_from_slice(&l.comment),
            Synth::Got | Synth::RelaDyn | Synth::EhFrameHdr | Synth::DynBss => {}
            Synth::SymTab => {
                if let Some(t) = &l.symtab {
                    crate::symtab::write(l, t, dst, |target| {
                        let v = value(l, target);
                        v.local.then_some(v.addr)
                    });
                }
            }
            Synth::StrTab => {
                if let Some(t) = &l.symtab {
                    dst.copy_from_slice(&t.strtab);
                }
            }
            Synth::ShStrTab => dst.copy_from_slice(&l.shstrtab),
        }
    }
    // .eh_frame_hdr reads the relocated .eh_frame.
    if let (Some(hdr), Some(ehf)) = (l.section(".eh_frame_hdr"), l.section(".eh_frame")) {
        let frames = unsafe { out.range(ehf.offset, ehf.size)? }.to_vec();
        let dst = unsafe { out.range(hdr.offset, hdr.size)? };
        // Every input .eh_frame was checked when loaded, so a failure here is about the
        // output as a whole (an address too far for the table's 32-bit offsets).
        eh_frame::write_eh_frame_hdr(&frames, ehf.addr, hdr.addr, dst)?;
    }
    Ok(())
}

fn write_dynamic(l: &Layout<'_, '_>, dst: &mut [u8], relative_count: usize) -> Result<()> {
    let mut tags: Vec<(elf::DynamicTag, u64)> = Vec::new();
    for &n in &l.needed {
        tags.push((elf::DT_NEEDED, u64::from(n)));
    }
    if let Some(n) = l.soname {
        tags.push((elf::DT_SONAME, u64::from(n)));
    }
    if let Some(r) = l.runpath {
        tags.push((elf::DT_RUNPATH, u64::from(r)));
    }
    let addr = |name: &str| l.section(name).map(|s| (s.addr, s.size)).unwrap_or((0, 0));
    tags.push((elf::DT_GNU_HASH, addr(".gnu.hash").0));
    tags.push((elf::DT_STRTAB, addr(".dynstr").0));
    tags.push((elf::DT_SYMTAB, addr(".dynsym").0));
    tags.push((elf::DT_STRSZ, addr(".dynstr").1));
    tags.push((elf::DT_SYMENT, 24));
    tags.push((elf::DT_RELA, addr(".rela.dyn").0));
    tags.push((elf::DT_RELASZ, addr(".rela.dyn").1));
    tags.push((elf::DT_RELAENT, 24));
    tags.push((elf::DT_RELACOUNT, relative_count as u64));
    tags.push((elf::DT_VERSYM, addr(".gnu.version").0));
    if !l.version_needs.is_empty() {
        tags.push((elf::DT_VERNEED, addr(".gnu.version_r").0));
        tags.push((elf::DT_VERNEEDNUM, l.version_needs.len() as u64));
    }
    for (name, start, size) in [
        (
            ".preinit_array",
            elf::DT_PREINIT_ARRAY,
            elf::DT_PREINIT_ARRAYSZ,
        ),
        (".init_array", elf::DT_INIT_ARRAY, elf::DT_INIT_ARRAYSZ),
        (".fini_array", elf::DT_FINI_ARRAY, elf::DT_FINI_ARRAYSZ),
    ] {
        if let Some(s) = l.section(name) {
            tags.push((start, s.addr));
            tags.push((size, s.size));
        }
    }
    // crti.o's `_init`/`_fini` run through DT_INIT/DT_FINI, as GNU ld points them.
    for (name, tag) in [(&b"_init"[..], elf::DT_INIT), (b"_fini", elf::DT_FINI)] {
        if crate::dynamic::defines(l.res, name) {
            if let Some(&id) = l.res.names.get(name) {
                tags.push((tag, value(l, Target::Global(id)).addr));
            }
        }
    }
    if !l.shared {
        tags.push((elf::DT_DEBUG, 0));
    }
    tags.push((elf::DT_FLAGS, elf::DF_BIND_NOW.0));
    let mut flags_1 = elf::DF_1_NOW.0;
    if l.pie && !l.shared {
        flags_1 |= elf::DF_1_PIE.0;
    }
    tags.push((elf::DT_FLAGS_1, flags_1));
    tags.push((elf::DT_NULL, 0));
    if tags.len() != l.dynamic_tags {
        bail!(
            ".dynamic has {} tags but {} were reserved (linker bug)",
            tags.len(),
            l.dynamic_tags
        );
    }
    for (i, (tag, val)) in tags.iter().enumerate() {
        put64(dst, 16 * i, tag.0 as u64);
        put64(dst, 16 * i + 8, *val);
    }
    Ok(())
}

fn write_headers(l: &Layout<'_, '_>, out: Out) -> Result<()> {
    let header = unsafe { out.range(0, 64 + 56 * l.segments.len() as u64)? };
    header[..16].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    put16(
        header,
        16,
        if l.pie { elf::ET_DYN.0 } else { elf::ET_EXEC.0 },
    );
    put16(header, 18, elf::EM_X86_64.0);
    put32(header, 20, 1);
    put64(header, 24, l.entry);
    put64(header, 32, 64);
    put64(header, 40, l.section_header_offset);
    put32(header, 48, 0);
    put16(header, 52, 64);
    put16(header, 54, 56);
    put16(header, 56, l.segments.len() as u16);
    put16(header, 58, 64);
    let shnum = l.sections.len() + 1;
    put16(header, 60, shnum as u16);
    put16(header, 62, l.sections.len() as u16); // .shstrtab is last
    for (i, p) in l.segments.iter().enumerate() {
        let e = &mut header[64 + 56 * i..64 + 56 * (i + 1)];
        put32(e, 0, p.p_type);
        put32(e, 4, p.flags);
        put64(e, 8, p.offset);
        put64(e, 16, p.addr);
        put64(e, 24, p.addr);
        put64(e, 32, p.filesz);
        put64(e, 40, p.memsz);
        put64(e, 48, p.align);
    }
    let shdrs = unsafe { out.range(l.section_header_offset, 64 * shnum as u64)? };
    for (i, s) in l.sections.iter().enumerate() {
        let e = &mut shdrs[64 * (i + 1)..64 * (i + 2)];
        put32(e, 0, l.section_name_offsets[i]);
        put32(e, 4, s.sh_type);
        put64(e, 8, s.flags);
        put64(e, 16, s.addr);
        put64(e, 24, s.offset);
        put64(e, 32, s.size);
        put32(e, 40, s.link);
        put32(e, 44, s.info);
        put64(e, 48, s.align);
        put64(e, 56, s.entsize);
    }
    Ok(())
}
