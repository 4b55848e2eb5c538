//! Writing the output: the file is sized by the layout and filled in parallel — the shared
//! relocation pass copies and relocates every input section (`rlink_linker::relocate`), then
//! the linker-made sections, the dynamic relocations in this CPU's numbering, the headers and
//! the build id are written. `rlink_linker::output` puts the file in place atomically (or
//! streams it into a non-regular output).

use std::path::Path;

use object::elf;
use rayon::prelude::*;
use rlink_linker::eh_frame;
use rlink_linker::library::ExportKind;
use rlink_linker::output::{OutBuf, Reuse};
use rlink_linker::par::PerItem as _;
use rlink_linker::reloc::DynKind;
use rlink_linker::relocate::{relocate_sections, DynReloc};
use rlink_linker::resolve::{Def, SymbolId};
use rlink_linker::{bail, Error, Result};

use crate::layout::{got_dynamic_relocs, target_info, GotEntry, Layout, SymbolRef, Synth};
use crate::object::{elf_binding, elf_symbol_type, elf_visibility};
use crate::ElfArch;

pub fn write<A: ElfArch>(l: &Layout<'_, '_>, path: &Path) -> Result<()> {
    // An executable of this machine is overwritten in place when that is safe; a shared
    // library is always replaced (running programs may have it mapped, and nothing stops a
    // write to it), and so is a program for another CPU (an emulator merely maps it).
    let native = rlink_linker::target::Target::host().is_some_and(|h| h.cpu == A::CPU);
    let timer = std::time::Instant::now();
    let in_place = !l.shared && native;
    // What the relocation pass writes whole need not be zeroed first (see `Reuse`).
    let written = match in_place {
        true => written_whole(l),
        false => Vec::new(),
    };
    tracing::debug!(elapsed = ?timer.elapsed(), "write: ranges copied whole listed");
    let reuse = match in_place {
        true => Reuse::Executable { written: &written },
        false => Reuse::Never,
    };
    rlink_linker::output::write_output(
        path,
        l.file_size,
        0o755,
        reuse,
        |buf| fill::<A>(l, buf),
        |buf| match (l.elf.compress_debug, l.elf.gdb_index) {
            (None, false) => Ok(None),
            (compression, gdb_index) => crate::compress::rewrite_tail(buf, compression, gdb_index),
        },
    )
}

/// The imported symbol a GOT entry binds, if it names a global.
fn symbol_of(t: SymbolRef) -> Option<SymbolId> {
    match t {
        SymbolRef::Global(id) => Some(id),
        SymbolRef::Local { .. } => None,
    }
}

/// The dynamic relocations (at most two) that complete a GOT entry.
#[derive(Default, Clone, Copy)]
struct SlotRelocs {
    relocs: [Option<DynReloc>; 2],
}

impl SlotRelocs {
    fn of(list: &[DynReloc]) -> SlotRelocs {
        let mut out = SlotRelocs::default();
        for (slot, r) in out.relocs.iter_mut().zip(list) {
            *slot = Some(*r);
        }
        out
    }
}

/// What a GOT slot holds at link time, and the dynamic relocation that completes it: imports
/// are bound by the loader (GLOB_DAT, TPOFF64); in a PIE the output's own addresses move with
/// the load address (RELATIVE); thread-pointer offsets of the executable's own TLS are fixed.
fn got_slot(l: &Layout<'_, '_>, e: GotEntry, slot: u64) -> ([u64; 2], SlotRelocs) {
    let reloc = |at: u64, kind: DynKind, symbol: Option<SymbolId>, addend: i64| DynReloc {
        offset: at,
        kind,
        symbol,
        addend,
    };
    match e {
        // The slot of an indirect function holds what its resolver returns, at start-up;
        // in an executable that gives the function a PLT entry, the entry, which is its
        // address everywhere else.
        GotEntry::Address(SymbolRef::Global(id))
            if target_info(l.res, SymbolRef::Global(id)).ifunc
                && (l.shared || !l.plt.contains(&id)) =>
        {
            let Def::Object { obj, sym, .. } = l.res.globals[id as usize].def else {
                return ([0, 0], SlotRelocs::default());
            };
            let resolver = l.value_of_object_symbol(obj, sym).addr;
            (
                [0, 0],
                SlotRelocs::of(&[reloc(slot, DynKind::IRelative, None, resolver as i64)]),
            )
        }
        GotEntry::Address(t) if target_info(l.res, t).dynamic => (
            [0, 0],
            SlotRelocs::of(&[reloc(slot, DynKind::GlobDat, symbol_of(t), 0)]),
        ),
        GotEntry::Address(t) => {
            let addr = l.value(t).addr;
            if got_dynamic_relocs(l, e) > 0 {
                (
                    [addr, 0],
                    SlotRelocs::of(&[reloc(slot, DynKind::Relative, None, addr as i64)]),
                )
            } else {
                ([addr, 0], SlotRelocs::default())
            }
        }
        GotEntry::TpOff(t) if target_info(l.res, t).dynamic => (
            [0, 0],
            SlotRelocs::of(&[reloc(slot, DynKind::TpOff, symbol_of(t), 0)]),
        ),
        // A shared library's TLS block is placed at load time: the loader adds it to the
        // offset inside the block.
        GotEntry::TpOff(t) if l.shared => {
            let off = l.dtpoff(l.value(t).addr);
            (
                [0, 0],
                SlotRelocs::of(&[reloc(slot, DynKind::TpOff, None, off)]),
            )
        }
        GotEntry::TpOff(t) => ([l.tpoff(l.value(t).addr) as u64, 0], SlotRelocs::default()),
        GotEntry::TlsGd(t) if target_info(l.res, t).dynamic => {
            let sym = symbol_of(t);
            (
                [0, 0],
                SlotRelocs::of(&[
                    reloc(slot, DynKind::DtpMod, sym, 0),
                    reloc(slot + 8, DynKind::DtpOff, sym, 0),
                ]),
            )
        }
        // Symbol 0 in DTPMOD64 means this module; the offset in its block is known now.
        GotEntry::TlsGd(t) => (
            [0, l.dtpoff(l.value(t).addr) as u64],
            SlotRelocs::of(&[reloc(slot, DynKind::DtpMod, None, 0)]),
        ),
        GotEntry::TlsLd => (
            [0, 0],
            SlotRelocs::of(&[reloc(slot, DynKind::DtpMod, None, 0)]),
        ),
        // The loader fills a descriptor: for an import, of the symbol; for this module's own
        // variable, of the module with the variable's offset in its block as the addend.
        GotEntry::TlsDesc(t) if target_info(l.res, t).dynamic => (
            [0, 0],
            SlotRelocs::of(&[reloc(slot, DynKind::TlsDesc, symbol_of(t), 0)]),
        ),
        GotEntry::TlsDesc(t) => {
            let off = l.dtpoff(l.value(t).addr);
            (
                [0, 0],
                SlotRelocs::of(&[reloc(slot, DynKind::TlsDesc, None, off)]),
            )
        }
    }
}

/// A dynamic relocation in ELF's form: the CPU's type number and a `.dynsym` index.
#[derive(Debug, Clone, Copy)]
struct RelaEntry {
    offset: u64,
    r_type: u32,
    sym: u32,
    addend: i64,
}

impl RelaEntry {
    fn encode<A: ElfArch>(l: &Layout<'_, '_>, r: &DynReloc) -> RelaEntry {
        RelaEntry {
            offset: r.offset,
            r_type: A::dynamic_type(r.kind),
            sym: r
                .symbol
                .and_then(|id| l.dynsym_index.get(&id).copied())
                .unwrap_or(0),
            addend: r.addend,
        }
    }
}

fn fill<A: ElfArch>(l: &Layout<'_, '_>, buf: &mut [u8]) -> Result<()> {
    let timer = std::time::Instant::now();
    let out = OutBuf::new(buf);

    // Merged strings first: they are slices of the inputs, which the relocation pass hands
    // back to the kernel as it finishes with each file.
    for (section, merged) in &l.merged.contents {
        let os = &l.sections[*section as usize];
        // SAFETY: a merged section's bytes are written here only.
        let dst = unsafe { out.range(os.offset, os.size)? };
        merged.write(dst);
    }
    // Copy and relocate every object's sections in parallel; beside them, what reads only
    // the layout — the GOT and the linker-made sections but `.eh_frame_hdr`, which indexes
    // the relocated `.eh_frame` — so that these fill the threads the relocation pass leaves
    // idle at its end. Every range is written by one of the two sides only.
    tracing::debug!(elapsed = ?timer.elapsed(), "write: merged strings written");
    let want_relative: usize = l.dyn_relocs_per_object.iter().map(|&(r, _)| r).sum();
    let (relocated, beside) = rayon::join(
        || -> Result<_> {
            let per_object = relocate_sections::<A>(l.res, l, out)?;
            write_thunks::<A>(l, out)?;
            Ok(per_object)
        },
        || -> Result<_> {
            let (got_relative, got_other) = write_got(l, out)?;
            // `DT_RELACOUNT`: the objects' RELATIVE relocations (scanning counted them; the
            // pass's are checked against the count below) and the GOT's.
            write_synthetics::<A>(l, out, want_relative + got_relative.len())?;
            Ok((got_relative, got_other))
        },
    );
    let per_object = relocated?;
    let (got_relative, got_other) = beside?;
    tracing::debug!(elapsed = ?timer.elapsed(), "write: sections copied and relocated, GOT and linker-made sections written");
    for ((rel, oth), &(want_rel, want_oth)) in per_object.iter().zip(&l.dyn_relocs_per_object) {
        if rel.len() != want_rel || oth.len() != want_oth {
            bail!("dynamic relocation count changed between scan and write (linker bug)");
        }
    }

    // What is left to write — `.got.plt`, the dynamic relocations, `.eh_frame_hdr` and the
    // headers — is a few ranges, written by one thread. Beside it, the other threads hash the
    // build id's chunks none of those ranges touch, which are final already; the chunks they
    // do touch are hashed after.
    let late = late_ranges(l);
    let (tail, early) = rayon::join(
        || write_late::<A>(l, out, &per_object, &got_relative, got_other),
        || build_id_chunks(l, out, |chunk| !touches(&late, chunk)),
    );
    tail?;
    tracing::debug!(elapsed = ?timer.elapsed(), "write: relocations, .eh_frame_hdr, headers written");
    // The build id hashes the whole file with the id still zero, so equal inputs give equal
    // ids: the chosen hash of fixed 1 MiB chunks, in parallel, then of their digests. The
    // chunking is fixed, so the id does not depend on the thread count.
    if let Some(note) = l.section(".note.gnu.build-id") {
        let mut digests = early?;
        let rest = build_id_chunks(l, out, |chunk| touches(&late, chunk))?;
        for (digest, after) in digests.iter_mut().zip(rest) {
            *digest = digest.take().or(after);
        }
        let id = build_id_of(&l.elf.build_id, digests)?;
        if cfg!(debug_assertions) && hashed(&l.elf.build_id) {
            // SAFETY: every range is written by now; this only reads.
            let whole = build_id(&l.elf.build_id, unsafe { out.range(0, l.file_size)? })?;
            assert_eq!(id, whole, "build id hashed in two rounds (linker bug)");
        }
        let dst = unsafe { out.range(note.offset + 16, id.len() as u64)? };
        dst.copy_from_slice(&id);
    }
    tracing::debug!(elapsed = ?timer.elapsed(), "write: headers and build id written");
    Ok(())
}

/// What is written after the relocation pass: `.got.plt`, the dynamic relocations (the
/// objects' and the GOT's, `per_object` and `got_relative`/`got_other`, with the PLT's and the
/// copies'), `.eh_frame_hdr` and the headers: the ranges [`late_ranges`] lists.
fn write_late<A: ElfArch>(
    l: &Layout<'_, '_>,
    out: OutBuf,
    per_object: &[(Vec<DynReloc>, Vec<DynReloc>)],
    got_relative: &[DynReloc],
    mut got_other: Vec<DynReloc>,
) -> Result<()> {
    // .got.plt: `_DYNAMIC`, two words for a lazy binder, then one slot per PLT entry,
    // bound by JUMP_SLOT (imports) or IRELATIVE (indirect functions) before the
    // program runs.
    let mut plt_relocs = Vec::new();
    let mut plt_irelative = Vec::new();
    if let Some(got_plt) = l.section(".got.plt") {
        // SAFETY: .got.plt is written by this thread only.
        let dst = unsafe { out.range(got_plt.offset, got_plt.size)? };
        let dynamic = l.section(".dynamic").map(|s| s.addr).unwrap_or(0);
        dst[..8].copy_from_slice(&dynamic.to_le_bytes());
        for (i, &id) in l.plt.iter().enumerate() {
            let slot = l
                .plt_slot(i)
                .ok_or_else(|| Error::new("PLT slot outside .got.plt (linker bug)"))?;
            let t = SymbolRef::Global(id);
            let info = target_info(l.res, t);
            if info.ifunc {
                let Def::Object { obj, sym, .. } = l.res.globals[id as usize].def else {
                    bail!("indirect function without a definition (linker bug)");
                };
                let resolver = l.value_of_object_symbol(obj, sym).addr;
                plt_irelative.push(DynReloc {
                    offset: slot,
                    kind: DynKind::IRelative,
                    symbol: None,
                    addend: resolver as i64,
                });
            } else if info.dynamic {
                plt_relocs.push(DynReloc {
                    offset: slot,
                    kind: DynKind::JumpSlot,
                    symbol: Some(id),
                    addend: 0,
                });
            } else {
                bail!(
                    "PLT entry for {}, which is neither imported nor indirect (linker bug)",
                    rlink_linker::scan::symbol_display(l.res, t)
                );
            }
        }
    }
    // IRELATIVE last: a resolver may call through the PLT, whose imports are bound by
    // then.
    plt_relocs.append(&mut plt_irelative);

    // One COPY per copied object: aliases sharing a copy are filled once.
    for &id in &l.copy_relocs {
        let addr = l.value(SymbolRef::Global(id)).addr;
        got_other.push(DynReloc {
            offset: addr,
            kind: DynKind::Copy,
            symbol: Some(id),
            addend: 0,
        });
    }

    // .rela.dyn: RELATIVE first (DT_RELACOUNT lets the loader process them in a tight
    // loop).
    let relatives: Vec<&DynReloc> = per_object
        .iter()
        .flat_map(|(r, _)| r)
        .chain(got_relative)
        .collect();
    let others: Vec<&DynReloc> = per_object
        .iter()
        .flat_map(|(_, o)| o)
        .chain(&got_other)
        .collect();
    // `.rela.plt` holds the PLT slots' relocations; a static executable has none, and
    // its IRELATIVEs end `.rela.iplt` (its `.rela.dyn`).
    let rela_plt = l.sections.iter().find(|s| s.synth == Some(Synth::RelaPlt));
    let (for_dyn, for_plt): (&[DynReloc], &[DynReloc]) = match rela_plt {
        Some(_) => (&[], &plt_relocs),
        None => (&plt_relocs, &[]),
    };
    if let Some(rela) = l.sections.iter().find(|s| s.synth == Some(Synth::RelaDyn)) {
        let all = relatives.into_iter().chain(others).chain(for_dyn);
        write_rela::<A>(l, out, rela, all)?;
    }
    if let Some(rela) = rela_plt {
        write_rela::<A>(l, out, rela, for_plt.iter())?;
    }

    write_eh_frame_hdr(l, out)?;
    write_headers::<A>(l, out)
}

/// The GOT's slots, and the dynamic relocations that fill them: (RELATIVE, others).
fn write_got(l: &Layout<'_, '_>, out: OutBuf) -> Result<(Vec<DynReloc>, Vec<DynReloc>)> {
    let mut got_relative = Vec::new();
    let mut got_other = Vec::new();
    if let Some(got) = l.section(".got") {
        // SAFETY: .got is written by this thread only.
        let dst = unsafe { out.range(got.offset, got.size)? };
        // Each entry's value and relocations in parallel (a lookup each of its symbol's
        // definition and address), then written in order.
        let slots: Vec<([u64; 2], SlotRelocs)> = l
            .got
            .par_iter()
            .zip(&l.got_offsets)
            .with_min_len(512)
            .map(|(&e, &offset)| got_slot(l, e, got.addr + 8 * offset))
            .collect();
        for ((i, e), (words, relocs)) in l.got.iter().enumerate().zip(slots) {
            let first = l.got_offsets[i] as usize;
            for (k, word) in words.iter().take(e.slots() as usize).enumerate() {
                dst[8 * (first + k)..8 * (first + k + 1)].copy_from_slice(&word.to_le_bytes());
            }
            for r in relocs.relocs.into_iter().flatten() {
                if r.kind == DynKind::Relative {
                    got_relative.push(r)
                } else {
                    got_other.push(r)
                }
            }
        }
    }
    Ok((got_relative, got_other))
}

/// The build id's chunk size: the id depends on it, not on the thread count.
const BUILD_ID_CHUNK: u64 = 1 << 20;

/// Whether the build id style hashes the file (others are random or given).
fn hashed(style: &rlink_linker::plan::BuildId) -> bool {
    use rlink_linker::plan::BuildId;
    matches!(
        style,
        BuildId::Fast | BuildId::Md5 | BuildId::Sha1 | BuildId::Sha256
    )
}

/// One chunk's digest, in the build id's hash.
fn chunk_digest(style: &rlink_linker::plan::BuildId, chunk: &[u8]) -> Vec<u8> {
    use rlink_linker::plan::BuildId;
    use sha2::Digest as _;
    match style {
        BuildId::Md5 => md5::Md5::digest(chunk).to_vec(),
        BuildId::Sha1 => sha1::Sha1::digest(chunk).to_vec(),
        BuildId::Sha256 => sha2::Sha256::digest(chunk).to_vec(),
        _ => xxhash_rust::xxh3::xxh3_128(chunk).to_le_bytes().to_vec(),
    }
}

/// The digests of the output's build id chunks that `want` picks (by their byte range), in
/// parallel; `None` for the others. Empty when the output has no hashed build id.
fn build_id_chunks(
    l: &Layout<'_, '_>,
    out: OutBuf,
    want: impl Fn((u64, u64)) -> bool + Sync,
) -> Result<Vec<Option<Vec<u8>>>> {
    let style = &l.elf.build_id;
    if !hashed(style) || l.section(".note.gnu.build-id").is_none() {
        return Ok(Vec::new());
    }
    (0..l.file_size.div_ceil(BUILD_ID_CHUNK) as usize)
        .into_par_iter()
        .per_item()
        .map(|i| {
            let start = i as u64 * BUILD_ID_CHUNK;
            let end = (start + BUILD_ID_CHUNK).min(l.file_size);
            if !want((start, end)) {
                return Ok(None);
            }
            // SAFETY: the caller picks chunks no one writes while they are hashed.
            let bytes: &[u8] = unsafe { out.range(start, end - start)? };
            Ok(Some(chunk_digest(style, bytes)))
        })
        .collect()
}

/// The output ranges written after the relocation pass (start, end): the headers, the
/// section headers, `.got.plt`, the dynamic relocations and `.eh_frame_hdr`.
fn late_ranges(l: &Layout<'_, '_>) -> Vec<(u64, u64)> {
    let mut late: Vec<(u64, u64)> = header_ranges(l)
        .iter()
        .map(|&(offset, len)| (offset, offset.saturating_add(len)))
        .collect();
    for s in &l.sections {
        let written_late = matches!(s.name.as_str(), ".got.plt" | ".eh_frame_hdr")
            || matches!(s.synth, Some(Synth::RelaDyn) | Some(Synth::RelaPlt));
        if written_late {
            late.push((s.offset, s.offset.saturating_add(s.size)));
        }
    }
    late
}

/// Whether byte range `chunk` overlaps any of `ranges`.
fn touches(ranges: &[(u64, u64)], chunk: (u64, u64)) -> bool {
    ranges
        .iter()
        .any(|&(start, end)| start < chunk.1 && chunk.0 < end)
}

/// The build id from its chunks' digests (every one present, for a hashed style).
fn build_id_of(
    style: &rlink_linker::plan::BuildId,
    digests: Vec<Option<Vec<u8>>>,
) -> Result<Vec<u8>> {
    use rlink_linker::plan::BuildId;
    use sha2::Digest as _;
    let all = || -> Result<Vec<u8>> {
        let parts: Option<Vec<Vec<u8>>> = digests.into_iter().collect();
        parts
            .map(|p| p.concat())
            .ok_or_else(|| Error::new("build id chunk not hashed (linker bug)"))
    };
    Ok(match style {
        BuildId::None => Vec::new(),
        BuildId::Fast => xxhash_rust::xxh3::xxh3_128(&all()?).to_le_bytes().to_vec(),
        BuildId::Md5 => md5::Md5::digest(all()?).to_vec(),
        BuildId::Sha1 => sha1::Sha1::digest(all()?).to_vec(),
        BuildId::Sha256 => sha2::Sha256::digest(all()?).to_vec(),
        BuildId::Uuid => {
            let mut id = [0u8; 16];
            std::io::Read::read_exact(
                &mut std::fs::File::open("/dev/urandom")
                    .map_err(|e| Error::new(format!("--build-id=uuid: /dev/urandom: {e}")))?,
                &mut id,
            )
            .map_err(|e| Error::new(format!("--build-id=uuid: /dev/urandom: {e}")))?;
            // RFC 4122: version 4 (random), variant 1.
            id[6] = (id[6] & 0x0f) | 0x40;
            id[8] = (id[8] & 0x3f) | 0x80;
            id.to_vec()
        }
        BuildId::Hex(bytes) => bytes.clone(),
    })
}

/// The build id of the whole file `whole`, hashed in one round (what the two rounds of
/// `fill` must agree with).
fn build_id(style: &rlink_linker::plan::BuildId, whole: &[u8]) -> Result<Vec<u8>> {
    let digests = match hashed(style) {
        true => whole
            .par_chunks(BUILD_ID_CHUNK as usize)
            .per_item()
            .map(|c| Some(chunk_digest(style, c)))
            .collect(),
        false => Vec::new(),
    };
    build_id_of(style, digests)
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

/// The range-extension thunks, in the gaps layout left for them after their input sections.
fn write_thunks<A: ElfArch>(l: &Layout<'_, '_>, out: OutBuf) -> Result<()> {
    for island in &l.islands {
        let os = &l.sections[island.section as usize];
        let size = A::THUNK_SIZE * island.targets.len() as u64;
        // SAFETY: an island's bytes lie between input sections and are written here only.
        let dst = unsafe { out.range(os.offset + island.offset, size)? };
        for (k, &(t, addend)) in island.targets.iter().enumerate() {
            let at = os.addr + island.offset + A::THUNK_SIZE * k as u64;
            let target = l.value(t).addr.wrapping_add(addend as u64);
            let start = (A::THUNK_SIZE * k as u64) as usize;
            A::write_thunk(&mut dst[start..], at, target).map_err(Error::new)?;
        }
    }
    Ok(())
}

fn write_synthetics<A: ElfArch>(
    l: &Layout<'_, '_>,
    out: OutBuf,
    relative_count: usize,
) -> Result<()> {
    // Every result kept, so a failure reported is the first in section order.
    let results: Vec<Result<()>> = l
        .sections
        .par_iter()
        .per_item()
        .map(|s| write_synthetic::<A>(l, out, relative_count, s))
        .collect();
    results.into_iter().collect::<Result<()>>()
}

/// One linker-made section, written by whichever thread takes it: they are disjoint ranges
/// and read only the layout.
fn write_synthetic<A: ElfArch>(
    l: &Layout<'_, '_>,
    out: OutBuf,
    relative_count: usize,
    s: &crate::layout::OutputSection,
) -> Result<()> {
    let Some(kind) = s.synth else {
        return Ok(());
    };
    if s.is_nobits() {
        return Ok(());
    }
    // SAFETY: each synthetic section is written once, here, by this thread.
    let dst = unsafe { out.range(s.offset, s.size)? };
    match kind {
        Synth::Interp => {
            dst[..l.interp.len()].copy_from_slice(l.interp.as_bytes());
        }
        Synth::GnuProperty => {
            put32(dst, 0, 4);
            put32(dst, 4, 16 * l.property_count() as u32);
            put32(dst, 8, elf::NT_GNU_PROPERTY_TYPE_0.0);
            dst[12..16].copy_from_slice(b"GNU\0");
            let features = A::FEATURE_1_AND
                .filter(|_| l.gnu_features != 0)
                .map(|t| (t, l.gnu_features));
            let properties = features.into_iter().chain(l.gnu_properties.iter().copied());
            for (i, (pr_type, value)) in properties.enumerate() {
                put32(dst, 16 + 16 * i, pr_type);
                put32(dst, 20 + 16 * i, 4);
                put32(dst, 24 + 16 * i, value);
            }
        }
        Synth::BuildId => {
            put32(dst, 0, 4);
            put32(dst, 4, l.elf.build_id.len() as u32);
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
                    let v = l.value(SymbolRef::Global(exp.global));
                    let shndx = crate::symtab::section_index_of(l, v.addr, false).unwrap_or(0);
                    put32(e, 0, exp.name_offset);
                    e[4] = (elf::STB_GLOBAL.0 << 4) | elf::STT_OBJECT.0;
                    put16(e, 6, shndx);
                    put64(e, 8, v.addr);
                    put64(e, 16, v.size);
                    continue;
                }
                // An imported function whose PLT entry is its address: undefined, with the
                // entry as the value the libraries' references bind to.
                if l.canonical_plt.contains(&exp.global) {
                    put32(e, 0, exp.name_offset);
                    e[4] = (elf::STB_GLOBAL.0 << 4) | elf::STT_FUNC.0;
                    put64(e, 8, l.value(SymbolRef::Global(exp.global)).addr);
                    continue;
                }
                let Def::Object { obj, sym, .. } = l.res.globals[exp.global as usize].def else {
                    continue;
                };
                let s = &l.res.objects[obj as usize].symbols[sym as usize];
                // A shared library exports an indirect function as such: the loader
                // calls the resolver for whoever binds it. An executable's PLT entry is
                // the function's address, exported as a plain function.
                let ifunc = s.kind == rlink_linker::object::SymbolKind::IFunc;
                let sv = if ifunc && l.shared {
                    l.value_of_object_symbol(obj, sym)
                } else {
                    l.value(SymbolRef::Global(exp.global))
                };
                let kind = if ifunc && !l.shared {
                    elf::STT_FUNC.0
                } else {
                    elf_symbol_type(s.kind)
                };
                let tls = s.is_tls();
                let shndx =
                    crate::symtab::section_index_of(l, sv.addr, tls).unwrap_or(elf::SHN_ABS.0);
                // A TLS symbol's value is its offset in the module's TLS block.
                let v = if tls {
                    l.dtpoff(sv.addr) as u64
                } else {
                    sv.addr
                };
                put32(e, 0, exp.name_offset);
                e[4] = (elf_binding(s.binding) << 4) | kind;
                e[5] = elf_visibility(s.visibility);
                put16(e, 6, shndx);
                put64(e, 8, v);
                put64(e, 16, s.size);
            }
        }
        Synth::DynStr => dst.copy_from_slice(&l.dynstr),
        Synth::GnuHash => l.gnu_hash.write(dst),
        Synth::SysvHash => write_sysv_hash(l, dst),
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
        Synth::GnuVersionD => {
            let mut at = 0usize;
            for (n, def) in l.version_defs.iter().enumerate() {
                let last = n + 1 == l.version_defs.len();
                let count = 1 + def.parents.len();
                put16(dst, at, 1);
                put16(dst, at + 2, if def.base { elf::VER_FLG_BASE.0 } else { 0 });
                put16(dst, at + 4, def.index);
                put16(dst, at + 6, count as u16);
                put32(dst, at + 8, def.hash);
                put32(dst, at + 12, 20);
                put32(dst, at + 16, if last { 0 } else { def.size() as u32 });
                for (k, name) in std::iter::once(def.name_offset)
                    .chain(def.parents.iter().copied())
                    .enumerate()
                {
                    let a = at + 20 + 8 * k;
                    put32(dst, a, name);
                    put32(dst, a + 4, if k + 1 == count { 0 } else { 8 });
                }
                at += def.size() as usize;
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
            let got_plt = l.section(".got.plt").map(|g| g.addr).unwrap_or(0);
            A::write_plt_header(dst, s.addr, got_plt, l.plt_features).map_err(Error::new)?;
            for i in 0..l.plt.len() {
                let slot = l
                    .plt_slot(i)
                    .ok_or_else(|| Error::new("PLT entry without a slot (linker bug)"))?;
                let entry = l
                    .plt_entry(i)
                    .ok_or_else(|| Error::new("PLT entry outside .plt (linker bug)"))?;
                let at = (entry - s.addr) as usize;
                A::write_plt_entry(&mut dst[at..], entry, slot, l.plt_features)
                    .map_err(Error::new)?;
            }
        }
        Synth::Dynamic => write_dynamic(l, dst, relative_count)?,
        Synth::Comment => dst.copy_from_slice(&l.comment),
        Synth::Got
        | Synth::GotPlt
        | Synth::RelaDyn
        | Synth::RelaPlt
        | Synth::EhFrameHdr
        | Synth::DynBss => {}
        Synth::SymTab => {
            if let Some(t) = &l.symtab {
                crate::symtab::write(l, t, dst, |target| {
                    let v = l.value(target);
                    v.local.then_some(v.addr)
                });
            }
        }
        Synth::StrTab => {
            if let Some(t) = &l.symtab {
                t.write_strtab(l, dst);
            }
        }
        Synth::ShStrTab => dst.copy_from_slice(&l.shstrtab),
    }
    Ok(())
}

/// `.eh_frame_hdr`, from the relocated `.eh_frame`.
fn write_eh_frame_hdr(l: &Layout<'_, '_>, out: OutBuf) -> Result<()> {
    if let (Some(hdr), Some(ehf)) = (l.section(".eh_frame_hdr"), l.section(".eh_frame")) {
        // SAFETY: the relocation pass is done: nothing writes `.eh_frame` any more, and
        // `.eh_frame_hdr` is another range, written here only.
        let frames: &[u8] = unsafe { out.range(ehf.offset, ehf.size)? };
        let dst = unsafe { out.range(hdr.offset, hdr.size)? };
        // Every input .eh_frame was checked when loaded, so a failure here is about the
        // output's addresses (too far for the table's 32-bit offsets): it names the input
        // whose record it is.
        let index = l.sections.iter().position(|s| std::ptr::eq(s, ehf));
        let origin = |offset: usize| -> Option<String> {
            let index = index? as u32;
            let offset = offset as u64;
            for (oi, o) in l.res.objects.iter().enumerate() {
                for (si, p) in l.placements[oi].iter().enumerate() {
                    let Some(p) = p.filter(|p| p.section == index) else {
                        continue;
                    };
                    let size = o.sections[si].size;
                    if (p.offset..p.offset + size).contains(&offset) {
                        return Some(format!(
                            "{}: {}+{:#x}",
                            o.place,
                            o.section_name(si),
                            offset - p.offset
                        ));
                    }
                }
            }
            None
        };
        // Where each input's records begin: the table is read from each in parallel.
        let mut starts: Vec<usize> = match index {
            Some(index) => l
                .placements
                .par_iter()
                .per_item()
                .flat_map_iter(|p| {
                    p.iter()
                        .flatten()
                        .filter(move |p| p.section == index as u32)
                        .map(|p| p.offset as usize)
                })
                .collect(),
            None => Vec::new(),
        };
        starts.par_sort_unstable();
        eh_frame::write_eh_frame_hdr_in_parts(frames, &starts, ehf.addr, hdr.addr, dst, &origin)?;
    }
    Ok(())
}

/// The output ranges `fill` writes every byte of, in order: the input sections the relocation
/// pass copies, merged strings, `.symtab` and `.strtab` — which together are most of a
/// program's bytes (`.debug_str` alone is a quarter of debug ripgrep).
fn written_whole(l: &Layout<'_, '_>) -> Vec<(u64, u64)> {
    let mut written = rlink_linker::relocate::copied_ranges(l.res, l);
    for (section, merged) in &l.merged.contents {
        let os = &l.sections[*section as usize];
        if merged.size == os.size && !os.is_nobits() {
            written.push((os.offset, os.offset + os.size));
        }
    }
    if l.symtab.is_some() {
        for s in &l.sections {
            if matches!(s.synth, Some(Synth::SymTab | Synth::StrTab)) && !s.is_nobits() {
                written.push((s.offset, s.offset + s.size));
            }
        }
    }
    written.sort_unstable();
    written
}

/// Writes a relocation table's entries; the count must be what layout sized it for.
fn write_rela<'d, A: ElfArch>(
    l: &Layout<'_, '_>,
    out: OutBuf,
    rela: &crate::layout::OutputSection,
    relocs: impl Iterator<Item = &'d DynReloc>,
) -> Result<()> {
    // SAFETY: each relocation table is written by this thread only.
    let dst = unsafe { out.range(rela.offset, rela.size)? };
    let mut n = 0u64;
    for r in relocs {
        let r = RelaEntry::encode::<A>(l, r);
        let at = 24 * n as usize;
        let e = dst.get_mut(at..at + 24).ok_or_else(|| {
            Error::new(format!(
                "{} is too small for its relocations (linker bug)",
                rela.name
            ))
        })?;
        e[..8].copy_from_slice(&r.offset.to_le_bytes());
        e[8..16].copy_from_slice(&((u64::from(r.sym) << 32) | u64::from(r.r_type)).to_le_bytes());
        e[16..].copy_from_slice(&r.addend.to_le_bytes());
        n += 1;
    }
    if 24 * n != rela.size {
        bail!(
            "{} size mismatch: {n} relocations for {} bytes (linker bug)",
            rela.name,
            rela.size
        );
    }
    Ok(())
}

/// `.hash`: bucket count, chain count, then per bucket its first symbol and per symbol the
/// next one with the same hash modulo the bucket count (0 ends a chain).
fn write_sysv_hash(l: &Layout<'_, '_>, dst: &mut [u8]) {
    let name_at = |offset: u32| -> &[u8] {
        let rest = l.dynstr.get(offset as usize..).unwrap_or(&[]);
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    };
    let names: Vec<&[u8]> = l
        .dyn_imports
        .iter()
        .map(|i| name_at(i.name_offset))
        .chain(l.dyn_exports.iter().map(|e| name_at(e.name_offset)))
        .collect();
    let count = names.len() + 1;
    let buckets = crate::layout::sysv_buckets(count as u64) as usize;
    put32(dst, 0, buckets as u32);
    put32(dst, 4, count as u32);
    let mut heads = vec![0u32; buckets];
    let mut chains = vec![0u32; count];
    // Pushing each symbol onto its bucket's front: the last one of a bucket is found first.
    for (i, name) in names.iter().enumerate() {
        let index = i as u32 + 1;
        let b = elf::hash(name) as usize % buckets;
        chains[index as usize] = heads[b];
        heads[b] = index;
    }
    for (k, &h) in heads.iter().chain(chains.iter()).enumerate() {
        put32(dst, 8 + 4 * k, h);
    }
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
        let tag = if l.elf.new_dtags {
            elf::DT_RUNPATH
        } else {
            elf::DT_RPATH
        };
        tags.push((tag, u64::from(r)));
    }
    if let Some(a) = l.audit {
        tags.push((elf::DT_AUDIT, u64::from(a)));
    }
    if let Some(a) = l.depaudit {
        tags.push((elf::DT_DEPAUDIT, u64::from(a)));
    }
    for &(auxiliary, name) in &l.filters {
        let tag = if auxiliary {
            elf::DT_AUXILIARY
        } else {
            elf::DT_FILTER
        };
        tags.push((tag, u64::from(name)));
    }
    let addr = |name: &str| l.section(name).map(|s| (s.addr, s.size)).unwrap_or((0, 0));
    if l.elf.sysv_hash {
        tags.push((elf::DT_HASH, addr(".hash").0));
    }
    if l.elf.gnu_hash {
        tags.push((elf::DT_GNU_HASH, addr(".gnu.hash").0));
    }
    tags.push((elf::DT_STRTAB, addr(".dynstr").0));
    tags.push((elf::DT_SYMTAB, addr(".dynsym").0));
    tags.push((elf::DT_STRSZ, addr(".dynstr").1));
    tags.push((elf::DT_SYMENT, 24));
    tags.push((elf::DT_RELA, addr(".rela.dyn").0));
    tags.push((elf::DT_RELASZ, addr(".rela.dyn").1));
    tags.push((elf::DT_RELAENT, 24));
    tags.push((elf::DT_RELACOUNT, relative_count as u64));
    if !l.version_needs.is_empty() || !l.version_defs.is_empty() {
        tags.push((elf::DT_VERSYM, addr(".gnu.version").0));
    }
    if !l.version_defs.is_empty() {
        tags.push((elf::DT_VERDEF, addr(".gnu.version_d").0));
        tags.push((elf::DT_VERDEFNUM, l.version_defs.len() as u64));
    }
    if !l.version_needs.is_empty() {
        tags.push((elf::DT_VERNEED, addr(".gnu.version_r").0));
        tags.push((elf::DT_VERNEEDNUM, l.version_needs.len() as u64));
    }
    if !l.plt.is_empty() {
        tags.push((elf::DT_PLTGOT, addr(".got.plt").0));
        tags.push((elf::DT_PLTRELSZ, addr(".rela.plt").1));
        tags.push((elf::DT_PLTREL, u64::from(elf::DT_RELA.0 as u32)));
        tags.push((elf::DT_JMPREL, addr(".rela.plt").0));
        tags.extend(l.plt_tags.iter().map(|&t| (t, 0)));
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
    // crti.o's `_init`/`_fini` (or what `-init`/`-fini` name) run through DT_INIT/DT_FINI,
    // as GNU ld points them.
    for (name, tag) in [(&l.elf.init, elf::DT_INIT), (&l.elf.fini, elf::DT_FINI)] {
        let name = name.as_bytes();
        if crate::dynamic::defines(l.res, name) {
            if let Some(&id) = l.res.names.get(name) {
                tags.push((tag, l.value(SymbolRef::Global(id)).addr));
            }
        }
    }
    // DT_DEBUG is where the loader writes: a read-only `.dynamic` has none.
    if !l.shared && !l.elf.rodynamic {
        tags.push((elf::DT_DEBUG, 0));
    }
    let (mut flags, mut flags_1) = (elf::DF_BIND_NOW.0, elf::DF_1_NOW.0);
    // The loader makes the patched read-only pages writable while it relocates them.
    if l.text_relocations {
        tags.push((elf::DT_TEXTREL, 0));
        flags |= elf::DF_TEXTREL.0;
    }
    for flag in &l.elf.loader_flags {
        use rlink_linker::plan::LoaderFlag;
        match flag {
            LoaderFlag::Origin => {
                flags |= elf::DF_ORIGIN.0;
                flags_1 |= elf::DF_1_ORIGIN.0;
            }
            LoaderFlag::NoDelete => flags_1 |= elf::DF_1_NODELETE.0,
            LoaderFlag::InitFirst => flags_1 |= elf::DF_1_INITFIRST.0,
            LoaderFlag::Interpose => flags_1 |= elf::DF_1_INTERPOSE.0,
            LoaderFlag::NoDefaultLib => flags_1 |= elf::DF_1_NODEFLIB.0,
            LoaderFlag::NoDump => flags_1 |= elf::DF_1_NODUMP.0,
            LoaderFlag::NoOpen => flags_1 |= elf::DF_1_NOOPEN.0,
        }
    }
    tags.push((elf::DT_FLAGS, flags));
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

/// Where the headers go: the ELF header with the program headers, then the section headers
/// (offset, length each).
fn header_ranges(l: &Layout<'_, '_>) -> [(u64, u64); 2] {
    [
        (0, 64 + 56 * l.segments.len() as u64),
        (l.section_header_offset, 64 * (l.sections.len() as u64 + 1)),
    ]
}

fn write_headers<A: ElfArch>(l: &Layout<'_, '_>, out: OutBuf) -> Result<()> {
    let [(_, header_len), (shoff, shdrs_len)] = header_ranges(l);
    let header = unsafe { out.range(0, header_len)? };
    header[..16].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    put16(
        header,
        16,
        if l.pie { elf::ET_DYN.0 } else { elf::ET_EXEC.0 },
    );
    put16(header, 18, A::MACHINE.0);
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
    if !l.elf.section_headers {
        // `-z nosectionheader`: the header names no section table (the loader needs none).
        put64(header, 40, 0);
        put16(header, 58, 0);
        put16(header, 60, 0);
        put16(header, 62, 0);
    }
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
    let shdrs = unsafe { out.range(shoff, shdrs_len)? };
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
