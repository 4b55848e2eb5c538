//! `.eh_frame` framing and the `.eh_frame_hdr` search table.
//!
//! Two jobs, both on the record framing of the LSB "Exception Frames" spec (a sequence of CIEs
//! and FDEs, each `length` + `CIE id / CIE pointer` + body):
//!
//! - [`split_records`] cuts an *input* object's `.eh_frame` into records, so the linker can
//!   drop FDEs whose function was discarded (COMDAT duplicates, `--gc-sections`).
//! - [`write_eh_frame_hdr`] builds the `.eh_frame_hdr` of the *output*: libgcc's unwinder
//!   (`_Unwind_Find_FDE` via `dl_iterate_phdr`) finds the PT_GNU_EH_FRAME segment and
//!   binary-searches its table of (initial location, FDE address) pairs. Without it a panic
//!   falls back to a linear scan registered by crtbegin, which static-pie/PIE glibc builds do
//!   not register, so unwinding would stop dead.
//!
//! Only the framing and the pointer encodings needed to find each FDE's `pc_begin` are parsed;
//! the call-frame instructions are never read. The encodings (`DW_EH_PE_*`) come from the LSB
//! spec, section "DWARF Exception Header Encoding".

use crate::diag::Result;
use crate::{bail, ensure};

/// One record of an input `.eh_frame` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Offset of the record's first length byte within the section.
    pub offset: usize,
    /// Whole record size, including the length field (4 bytes, or 12 for a 64-bit length).
    pub len: usize,
    pub kind: RecordKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Cie,
    /// `cie_offset` is the section offset of the CIE this FDE's CIE pointer names.
    Fde {
        cie_offset: usize,
    },
    /// A zero length word: the end of the frame list.
    Terminator,
}

// DW_EH_PE_* value formats (low nibble) and applications (bits 4..6), LSB spec.
const DW_EH_PE_ABSPTR: u8 = 0x00;
const DW_EH_PE_ULEB128: u8 = 0x01;
const DW_EH_PE_UDATA2: u8 = 0x02;
const DW_EH_PE_UDATA4: u8 = 0x03;
const DW_EH_PE_UDATA8: u8 = 0x04;
const DW_EH_PE_SLEB128: u8 = 0x09;
const DW_EH_PE_SDATA2: u8 = 0x0a;
const DW_EH_PE_SDATA4: u8 = 0x0b;
const DW_EH_PE_SDATA8: u8 = 0x0c;
const DW_EH_PE_PCREL: u8 = 0x10;
const DW_EH_PE_DATAREL: u8 = 0x30;
const DW_EH_PE_ALIGNED: u8 = 0x50;
const DW_EH_PE_INDIRECT: u8 = 0x80;
const DW_EH_PE_OMIT: u8 = 0xff;

/// Size of `.eh_frame_hdr`'s fixed part: version, three encoding bytes, `eh_frame_ptr`,
/// `fde_count`.
const HDR_FIXED_SIZE: usize = 4 + 4 + 4;
/// One table entry: `initial_location` and `fde_address`, both datarel sdata4.
const HDR_ENTRY_SIZE: usize = 8;

/// The framing of one record as found in the section, before any validation of what the
/// CIE pointer points at.
#[derive(Debug, Clone, Copy)]
struct RawRecord {
    offset: usize,
    len: usize,
    /// Offset of the CIE id / CIE pointer word; 0 for a terminator.
    id_pos: usize,
    /// The CIE id (0 for a CIE) or CIE pointer (distance back from `id_pos`).
    id: u32,
    terminator: bool,
}

/// Walks the record framing to the end of the section. A zero length word is a 4-byte
/// terminator; the walk goes on after it, since an output's `.eh_frame` holds every input's
/// (inputs may end with one, as crtend.o's does).
fn walk(eh_frame: &[u8], mut visit: impl FnMut(RawRecord) -> Result<()>) -> Result<()> {
    let mut offset = 0;
    while offset < eh_frame.len() {
        let Some(length) = read_u32(eh_frame, offset) else {
            bail!(".eh_frame: record at offset {offset:#x}: truncated length field");
        };
        if length == 0 {
            visit(RawRecord {
                offset,
                len: 4,
                id_pos: 0,
                id: 0,
                terminator: true,
            })?;
            offset += 4;
            continue;
        }
        // A length of 0xffffffff announces a 64-bit length (DWARF 64-bit format); the values
        // just below it are reserved.
        let (header_len, body_len) = if length == 0xffff_ffff {
            let Some(length) = read_u64(eh_frame, offset + 4) else {
                bail!(".eh_frame: record at offset {offset:#x}: truncated 64-bit length field");
            };
            (12, length)
        } else {
            ensure!(
                length < 0xffff_fff0,
                ".eh_frame: record at offset {offset:#x}: reserved length value {length:#x}"
            );
            (4, u64::from(length))
        };
        let id_pos = offset + header_len;
        let end = u64::try_from(id_pos)
            .ok()
            .and_then(|p| p.checked_add(body_len))
            .filter(|&end| end <= eh_frame.len() as u64);
        let Some(end) = end else {
            bail!(
                ".eh_frame: record at offset {offset:#x} (length {body_len:#x}) runs past the \
                 end of the section ({:#x} bytes)",
                eh_frame.len()
            );
        };
        // Even in a 64-bit record the CIE id / pointer of .eh_frame is 4 bytes (LSB), unlike
        // .debug_frame.
        ensure!(
            body_len >= 4,
            ".eh_frame: record at offset {offset:#x} is too short ({body_len} bytes) to hold a \
             CIE id"
        );
        let id = read_u32(eh_frame, id_pos).unwrap_or(0);
        let end = end as usize;
        visit(RawRecord {
            offset,
            len: end - offset,
            id_pos,
            id,
            terminator: false,
        })?;
        offset = end;
    }
    Ok(())
}

/// Counts FDEs (records with a non-zero CIE pointer).
/// CIE pointers are not checked, so this works on output bytes before relocation.
pub fn count_fdes(eh_frame: &[u8]) -> Result<usize> {
    let mut count = 0;
    walk(eh_frame, |r| {
        if !r.terminator && r.id != 0 {
            count += 1;
        }
        Ok(())
    })?;
    Ok(count)
}

/// Cuts an input `.eh_frame` into records. Every FDE's CIE pointer must name the start of a CIE
/// earlier in the same section. Terminators are returned as records.
pub fn split_records(eh_frame: &[u8]) -> Result<Vec<Record>> {
    let mut records: Vec<Record> = Vec::new();
    walk(eh_frame, |r| {
        let kind = if r.terminator {
            RecordKind::Terminator
        } else if r.id == 0 {
            RecordKind::Cie
        } else {
            RecordKind::Fde {
                cie_offset: cie_offset_of(&r)?,
            }
        };
        records.push(Record {
            offset: r.offset,
            len: r.len,
            kind,
        });
        Ok(())
    })?;
    for r in &records {
        if let RecordKind::Fde { cie_offset } = r.kind {
            let names_cie = records
                .binary_search_by_key(&cie_offset, |c| c.offset)
                .is_ok_and(|i| records[i].kind == RecordKind::Cie);
            ensure!(
                names_cie,
                ".eh_frame: FDE at offset {:#x} points at offset {cie_offset:#x}, which is not \
                 a CIE",
                r.offset
            );
        }
    }
    Ok(records)
}

/// Checks an input `.eh_frame` the way the output's `.eh_frame_hdr` will read it: the record
/// framing, every FDE's CIE, each CIE's version and augmentation, and each FDE's `pc_begin`.
/// After a terminator only terminators may follow (zero padding): anything else would be read
/// as records by the unwinder's walk of the output, where this input is not the last.
/// `relocated` lists the (offset, width) of the bytes the object's relocations write: none may
/// touch a record's length or CIE id/pointer, or the framing checked here would not be the
/// output's.
pub fn check_input(eh_frame: &[u8], relocated: impl Iterator<Item = (u64, u64)>) -> Result<()> {
    let records = split_records(eh_frame)?;
    if let Some(first) = records
        .iter()
        .position(|r| r.kind == RecordKind::Terminator)
    {
        if let Some(r) = records[first..]
            .iter()
            .find(|r| r.kind != RecordKind::Terminator)
        {
            bail!(
                ".eh_frame: record at offset {:#x} follows the terminator",
                r.offset
            );
        }
    }
    let mut encodings: Vec<(usize, u8)> = Vec::new();
    let mut headers: Vec<(u64, u64)> = Vec::with_capacity(records.len());
    for r in &records {
        // The length (4 or 12 bytes) and the CIE id/pointer (4 bytes).
        let wide = read_u32(eh_frame, r.offset) == Some(0xffff_ffff);
        let header = if wide { 12 } else { 4 };
        let id_end = if r.kind == RecordKind::Terminator {
            4
        } else {
            header + 4
        };
        headers.push((r.offset as u64, (r.offset + id_end) as u64));
        let body_at = r.offset + header + 4;
        let body = eh_frame.get(body_at..r.offset + r.len).unwrap_or_default();
        match r.kind {
            RecordKind::Cie => {
                let encoding = fde_pointer_encoding(body, body_at as u64)
                    .map_err(|e| e.at(format_args!(".eh_frame: CIE at offset {:#x}", r.offset)))?;
                encodings.push((r.offset, encoding));
            }
            RecordKind::Fde { cie_offset } => {
                let encoding = encodings
                    .iter()
                    .find(|(at, _)| *at == cie_offset)
                    .map(|(_, e)| *e)
                    .unwrap_or(DW_EH_PE_ABSPTR);
                Reader::new(body, body_at as u64)
                    .encoded_pointer(encoding)
                    .map_err(|e| {
                        e.at(format_args!(
                            ".eh_frame: FDE at offset {:#x}: pc_begin",
                            r.offset
                        ))
                    })?;
            }
            RecordKind::Terminator => {}
        }
    }
    for (at, width) in relocated {
        let end = at.saturating_add(width);
        let i = headers.partition_point(|&(_, header_end)| header_end <= at);
        if let Some(&(start, _)) = headers.get(i).filter(|&&(start, _)| start < end) {
            bail!(
                ".eh_frame: a relocation at offset {at:#x} overwrites the header of the \
                 record at offset {start:#x}"
            );
        }
    }
    Ok(())
}

/// The CIE pointer is subtracted from its own position (LSB), so the CIE always comes first.
fn cie_offset_of(r: &RawRecord) -> Result<usize> {
    match r.id_pos.checked_sub(r.id as usize) {
        Some(cie_offset) => Ok(cie_offset),
        None => bail!(
            ".eh_frame: FDE at offset {:#x} has CIE pointer {:#x} reaching before the section",
            r.offset,
            r.id
        ),
    }
}

/// Size of `.eh_frame_hdr` holding a search table of `fde_count` entries.
pub fn eh_frame_hdr_size(fde_count: usize) -> usize {
    HDR_FIXED_SIZE + HDR_ENTRY_SIZE * fde_count
}

/// Writes `.eh_frame_hdr` into `out` (exactly [`eh_frame_hdr_size`] bytes) from the final,
/// relocated `.eh_frame` and both sections' addresses. The table is sorted by initial location,
/// stably, so duplicate and zero-length FDEs keep their section order. Assumes a 64-bit target
/// for `DW_EH_PE_absptr`.
pub fn write_eh_frame_hdr(
    eh_frame: &[u8],
    eh_frame_addr: u64,
    hdr_addr: u64,
    out: &mut [u8],
) -> Result<()> {
    write_eh_frame_hdr_in_parts(eh_frame, &[], eh_frame_addr, hdr_addr, out, &|_| None)
}

/// [`write_eh_frame_hdr`], with errors about one record naming where its bytes came from
/// (`origin(offset)` names the input that contributed the output's `.eh_frame` at
/// `offset`). The records are read from each of `starts` independently, in parallel:
/// ascending offsets where a record begins and no later FDE points back before (where each
/// input's `.eh_frame` begins). Should a part fail on its own (an FDE pointing at a CIE of
/// another part), the whole is read in one walk.
pub fn write_eh_frame_hdr_in_parts(
    eh_frame: &[u8],
    starts: &[usize],
    eh_frame_addr: u64,
    hdr_addr: u64,
    out: &mut [u8],
    origin: &dyn Fn(usize) -> Option<String>,
) -> Result<()> {
    use rayon::prelude::*;
    let blame = |e: crate::diag::Error, offset: usize| match origin(offset) {
        Some(place) => e.at(place),
        None => e,
    };
    let whole = || fde_entries(eh_frame, 0, eh_frame_addr).map_err(|(e, at)| blame(e, at));
    let mut bounds: Vec<usize> = std::iter::once(0)
        .chain(
            starts
                .iter()
                .copied()
                .filter(|&s| s > 0 && s < eh_frame.len()),
        )
        .collect();
    bounds.dedup();
    let mut entries = if bounds.len() < 2 || !bounds.is_sorted() {
        whole()?
    } else {
        bounds.push(eh_frame.len());
        let parts: std::result::Result<Vec<Vec<(u64, u64)>>, _> = bounds
            .par_windows(2)
            .map(|w| fde_entries(&eh_frame[w[0]..w[1]], w[0], eh_frame_addr))
            .collect();
        match parts {
            Ok(parts) => parts.concat(),
            Err(_) => whole()?,
        }
    };
    // Stable: equal initial locations stay in .eh_frame order.
    entries.par_sort_by_key(|&(pc, _)| pc);
    write_hdr_table(&entries, eh_frame_addr, hdr_addr, out, &blame)
}

/// (initial location, FDE address) of each FDE of `part`, the bytes at `base` of an
/// `.eh_frame` at `eh_frame_addr`, in section order; or the error and the offset (in the
/// whole section) of the record it is about.
fn fde_entries(
    part: &[u8],
    base: usize,
    eh_frame_addr: u64,
) -> std::result::Result<Vec<(u64, u64)>, (crate::diag::Error, usize)> {
    let part_addr = eh_frame_addr.wrapping_add(base as u64);
    let mut entries: Vec<(u64, u64)> = Vec::new();
    // Pointer encoding of each CIE's FDEs, by CIE offset; FDEs only point backwards, so the
    // CIE is always parsed first.
    let mut cie_encodings: Vec<(usize, u8)> = Vec::new();
    let mut current = 0;
    walk(part, |r| {
        current = r.offset;
        if r.terminator {
            return Ok(());
        }
        let record = &part[r.id_pos + 4..r.offset + r.len];
        let record_addr = part_addr.wrapping_add((r.id_pos + 4) as u64);
        if r.id == 0 {
            let encoding = fde_pointer_encoding(record, record_addr).map_err(|e| {
                e.at(format_args!(
                    ".eh_frame: CIE at offset {:#x}",
                    base + r.offset
                ))
            })?;
            cie_encodings.push((r.offset, encoding));
            return Ok(());
        }
        let cie_offset = cie_offset_of(&r)?;
        let Ok(i) = cie_encodings.binary_search_by_key(&cie_offset, |&(o, _)| o) else {
            bail!(
                ".eh_frame: FDE at offset {:#x} points at offset {:#x}, which is not a CIE",
                base + r.offset,
                base + cie_offset
            );
        };
        let encoding = cie_encodings[i].1;
        let mut reader = Reader::new(record, record_addr);
        let pc_begin = reader.encoded_pointer(encoding).map_err(|e| {
            e.at(format_args!(
                ".eh_frame: FDE at offset {:#x}: pc_begin",
                base + r.offset
            ))
        })?;
        entries.push((pc_begin, part_addr.wrapping_add(r.offset as u64)));
        Ok(())
    })
    .map_err(|e| (e, base + current))?;
    Ok(entries)
}

/// The header and its table of sorted (initial location, FDE address) entries.
fn write_hdr_table(
    entries: &[(u64, u64)],
    eh_frame_addr: u64,
    hdr_addr: u64,
    out: &mut [u8],
    blame: &dyn Fn(crate::diag::Error, usize) -> crate::diag::Error,
) -> Result<()> {
    let size = eh_frame_hdr_size(entries.len());
    ensure!(
        out.len() == size,
        ".eh_frame_hdr: {} FDEs need {size} bytes but the section has {}",
        entries.len(),
        out.len()
    );

    // Exact arithmetic: a delta that only fits after wrapping around the address space is
    // still out of range.
    let delta = |what: &str, addr: u64, base: u64| -> Result<[u8; 4]> {
        match i32::try_from(i128::from(addr) - i128::from(base)) {
            Ok(d) => Ok(d.to_le_bytes()),
            Err(_) => bail!(
                ".eh_frame_hdr: {what} {addr:#x} is too far from {base:#x} for a 32-bit offset"
            ),
        }
    };
    let Ok(fde_count) = u32::try_from(entries.len()) else {
        bail!(".eh_frame_hdr: too many FDEs ({})", entries.len());
    };
    out[0] = 1; // version
    out[1] = DW_EH_PE_PCREL | DW_EH_PE_SDATA4; // eh_frame_ptr_enc
    out[2] = DW_EH_PE_UDATA4; // fde_count_enc
    out[3] = DW_EH_PE_DATAREL | DW_EH_PE_SDATA4; // table_enc; datarel = relative to the hdr
    out[4..8].copy_from_slice(&delta(
        ".eh_frame",
        eh_frame_addr,
        hdr_addr.wrapping_add(4),
    )?);
    out[8..12].copy_from_slice(&fde_count.to_le_bytes());
    for (slot, &(pc, fde)) in out[HDR_FIXED_SIZE..]
        .chunks_exact_mut(HDR_ENTRY_SIZE)
        .zip(entries)
    {
        let at = fde.wrapping_sub(eh_frame_addr) as usize;
        slot[..4].copy_from_slice(
            &delta("FDE initial location", pc, hdr_addr).map_err(|e| blame(e, at))?,
        );
        slot[4..].copy_from_slice(&delta("FDE address", fde, hdr_addr).map_err(|e| blame(e, at))?);
    }
    Ok(())
}

/// Parses a CIE body (after the CIE id) far enough to learn the encoding of its FDEs'
/// `pc_begin`: the 'R' augmentation, or `DW_EH_PE_absptr` without one.
fn fde_pointer_encoding(body: &[u8], body_addr: u64) -> Result<u8> {
    let mut r = Reader::new(body, body_addr);
    let version = r.u8()?;
    ensure!(
        matches!(version, 1 | 3 | 4),
        "unsupported CIE version {version}"
    );
    let augmentation = r.cstr()?;
    // Pre-"z" GCC wrote an "eh" augmentation followed by a pointer-sized value.
    if augmentation.starts_with(b"eh") {
        r.skip(8)?;
    }
    if version == 4 {
        r.skip(2)?; // address_size, segment_selector_size
    }
    r.uleb128()?; // code alignment factor
    r.sleb128()?; // data alignment factor
    if version == 1 {
        r.u8()?; // return address register
    } else {
        r.uleb128()?;
    }
    let Some(rest) = augmentation.strip_prefix(b"z") else {
        // Without 'z' nothing says how long unknown augmentation data is.
        ensure!(
            augmentation.is_empty() || augmentation == b"eh",
            "unknown augmentation {:?} without 'z'",
            String::from_utf8_lossy(augmentation)
        );
        return Ok(DW_EH_PE_ABSPTR);
    };
    let data_len = r.uleb128()?;
    let Some(data) = usize::try_from(data_len)
        .ok()
        .and_then(|n| r.data.get(r.pos..r.pos.checked_add(n)?))
    else {
        bail!("augmentation data length {data_len:#x} runs past the end of the CIE");
    };
    let mut aug = Reader::new(data, r.addr_at(r.pos));
    for &c in rest {
        match c {
            b'R' => return aug.u8(),
            b'L' => {
                aug.u8()?; // LSDA encoding; the LSDA pointer itself lives in each FDE
            }
            b'P' => {
                let encoding = aug.u8()?;
                aug.encoded_pointer_raw(encoding)?;
            }
            // Signal frame, AArch64 B-key, MTE-tagged frame: flags without data.
            b'S' | b'B' | b'G' => {}
            _ => bail!(
                "unknown augmentation character {:?} in {:?} before 'R'",
                c as char,
                String::from_utf8_lossy(augmentation)
            ),
        }
    }
    Ok(DW_EH_PE_ABSPTR)
}

/// A bounds-checked little-endian cursor that knows the address of its first byte, for
/// pc-relative and aligned encodings.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    addr: u64,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], addr: u64) -> Self {
        Reader { data, pos: 0, addr }
    }

    fn addr_at(&self, pos: usize) -> u64 {
        self.addr.wrapping_add(pos as u64)
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        let Some(b) = self
            .pos
            .checked_add(N)
            .and_then(|end| self.data.get(self.pos..end))
        else {
            bail!("truncated: need {N} bytes at offset {:#x}", self.pos);
        };
        self.pos += N;
        // The slice has length N by construction.
        let mut out = [0; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        match self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
        {
            Some(end) => {
                self.pos = end;
                Ok(())
            }
            None => bail!("truncated: need {n} bytes at offset {:#x}", self.pos),
        }
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes::<1>()?[0])
    }

    fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            bail!("unterminated augmentation string");
        };
        self.pos += nul + 1;
        Ok(&rest[..nul])
    }

    fn uleb128(&mut self) -> Result<u64> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.u8()?;
            ensure!(
                shift < 64 && (shift == 0 || u64::from(byte & 0x7f) >> (64 - shift) == 0),
                "LEB128 value overflows 64 bits"
            );
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
    }

    fn sleb128(&mut self) -> Result<i64> {
        let mut value = 0i64;
        let mut shift = 0;
        loop {
            let byte = self.u8()?;
            ensure!(shift < 64, "LEB128 value overflows 64 bits");
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    /// Reads the value of an encoded pointer as stored, sign-extended for the signed formats,
    /// without applying the base. Handles `DW_EH_PE_aligned` (used by some personality
    /// pointers) by aligning the position to 8 bytes of address.
    fn encoded_pointer_raw(&mut self, encoding: u8) -> Result<u64> {
        if encoding == DW_EH_PE_OMIT {
            return Ok(0);
        }
        if encoding & 0x70 == DW_EH_PE_ALIGNED {
            let misalign = (self.addr_at(self.pos) % 8) as usize;
            self.skip((8 - misalign) % 8)?;
            return Ok(u64::from_le_bytes(self.bytes()?));
        }
        Ok(match encoding & 0x0f {
            DW_EH_PE_ABSPTR | DW_EH_PE_UDATA8 | DW_EH_PE_SDATA8 => {
                u64::from_le_bytes(self.bytes()?)
            }
            DW_EH_PE_ULEB128 => self.uleb128()?,
            DW_EH_PE_UDATA2 => u64::from(u16::from_le_bytes(self.bytes()?)),
            DW_EH_PE_UDATA4 => u64::from(u32::from_le_bytes(self.bytes()?)),
            DW_EH_PE_SLEB128 => self.sleb128()? as u64,
            DW_EH_PE_SDATA2 => i64::from(i16::from_le_bytes(self.bytes()?)) as u64,
            DW_EH_PE_SDATA4 => i64::from(i32::from_le_bytes(self.bytes()?)) as u64,
            format => bail!("unknown pointer format {format:#x} in encoding {encoding:#04x}"),
        })
    }

    /// Reads a code address: the stored value, made absolute for `DW_EH_PE_pcrel`. Other
    /// applications (text-, data-, function-relative, indirect) have no meaning for an FDE's
    /// `pc_begin` in an ELF executable and are rejected.
    fn encoded_pointer(&mut self, encoding: u8) -> Result<u64> {
        let field_addr = self.addr_at(self.pos);
        ensure!(
            encoding != DW_EH_PE_OMIT && encoding & DW_EH_PE_INDIRECT == 0,
            "unsupported pointer encoding {encoding:#04x}"
        );
        let application = encoding & 0x70;
        ensure!(
            application == 0 || application == DW_EH_PE_PCREL,
            "unsupported pointer encoding {encoding:#04x}"
        );
        let value = self.encoded_pointer_raw(encoding)?;
        Ok(if application == DW_EH_PE_PCREL {
            field_addr.wrapping_add(value)
        } else {
            value
        })
    }
}

fn read_u32(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn read_u64(data: &[u8], pos: usize) -> Option<u64> {
    let b = data.get(pos..pos.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use object::{Object, ObjectSection};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    // ---- Synthetic records ------------------------------------------------------------------

    /// A CIE with version 1, code alignment 1, data alignment -8, return address r16, the
    /// given augmentation string and (for 'z') augmentation data, padded with DW_CFA_nop.
    fn cie(augmentation: &[u8], aug_data: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0, 1];
        body.extend_from_slice(augmentation);
        body.extend_from_slice(&[0, 1, 0x78, 16]);
        if augmentation.starts_with(b"z") {
            body.push(aug_data.len() as u8);
            body.extend_from_slice(aug_data);
        }
        record(body)
    }

    /// An FDE at section offset `at` whose CIE is at `cie_at`, with the given encoded
    /// pc_begin followed by a 4-byte pc_range and an empty augmentation.
    fn fde(at: usize, cie_at: usize, pc_begin: &[u8]) -> Vec<u8> {
        let mut body = ((at + 4 - cie_at) as u32).to_le_bytes().to_vec();
        body.extend_from_slice(pc_begin);
        body.extend_from_slice(&[0x10, 0, 0, 0]);
        record(body)
    }

    fn record(mut body: Vec<u8>) -> Vec<u8> {
        while !(body.len() + 4).is_multiple_of(4) {
            body.push(0); // DW_CFA_nop
        }
        let mut out = (body.len() as u32).to_le_bytes().to_vec();
        out.extend(body);
        out
    }

    /// Concatenates a CIE and FDEs, each FDE built by `f(fde_offset, cie_offset=0)`.
    fn section(cie: Vec<u8>, fdes: &[&dyn Fn(usize) -> Vec<u8>]) -> Vec<u8> {
        let mut out = cie;
        for f in fdes {
            let r = f(out.len());
            out.extend(r);
        }
        out
    }

    /// Decodes a header written by `write_eh_frame_hdr` back into absolute addresses.
    fn decode_hdr(hdr: &[u8], hdr_addr: u64) -> (u64, Vec<(u64, u64)>) {
        let i32_at = |p: usize| i32::from_le_bytes(hdr[p..p + 4].try_into().unwrap()) as i64;
        assert_eq!(&hdr[..4], &[1, 0x1b, 0x03, 0x3b]);
        let eh_frame = (hdr_addr + 4).wrapping_add(i32_at(4) as u64);
        let count = u32::from_le_bytes(hdr[8..12].try_into().unwrap()) as usize;
        assert_eq!(hdr.len(), eh_frame_hdr_size(count));
        let table = (0..count)
            .map(|i| {
                let p = 12 + 8 * i;
                (
                    hdr_addr.wrapping_add(i32_at(p) as u64),
                    hdr_addr.wrapping_add(i32_at(p + 4) as u64),
                )
            })
            .collect();
        (eh_frame, table)
    }

    fn hdr_for(eh_frame: &[u8], eh_frame_addr: u64, hdr_addr: u64) -> Result<Vec<u8>> {
        let mut out = vec![0; eh_frame_hdr_size(count_fdes(eh_frame)?)];
        write_eh_frame_hdr(eh_frame, eh_frame_addr, hdr_addr, &mut out)?;
        Ok(out)
    }

    #[test]
    fn splits_cie_fdes_and_stops_at_terminator() {
        let mut data = section(
            cie(b"zR", &[0x1b]),
            &[&|at| fde(at, 0, &[0; 4]), &|at| fde(at, 0, &[0; 4])],
        );
        let second_cie = data.len();
        data.extend(cie(b"zR", &[0x1b]));
        let at = data.len();
        data.extend(fde(at, second_cie, &[0; 4]));
        data.extend([0, 0, 0, 0]);
        let records = split_records(&data).unwrap();
        let kinds: Vec<RecordKind> = records.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RecordKind::Cie,
                RecordKind::Fde { cie_offset: 0 },
                RecordKind::Fde { cie_offset: 0 },
                RecordKind::Cie,
                RecordKind::Fde {
                    cie_offset: second_cie
                },
                RecordKind::Terminator,
            ]
        );
        // Records tile the section up to the terminator.
        let mut next = 0;
        for r in &records {
            assert_eq!(r.offset, next);
            next += r.len;
        }
        assert_eq!(records.last().unwrap().len, 4);
        assert_eq!(count_fdes(&data).unwrap(), 3);
        check_input(&data, std::iter::empty()).unwrap();
        // Zero padding after the terminator is more terminators; anything else is an error.
        let mut padded = data.clone();
        padded.extend([0; 8]);
        check_input(&padded, std::iter::empty()).unwrap();
        let mut trailing = data.clone();
        trailing.extend(cie(b"zR", &[0x1b]));
        let e = check_input(&trailing, std::iter::empty()).unwrap_err();
        assert!(e.message().contains("follows the terminator"), "{e}");
        // A relocation may write pc_begin (offset 8 of the first FDE), not a length field.
        let first_fde = records[1].offset as u64;
        check_input(&data, [(first_fde + 8, 4)].into_iter()).unwrap();
        let e = check_input(&data, [(first_fde + 2, 4)].into_iter()).unwrap_err();
        assert!(e.message().contains("overwrites the header"), "{e}");
    }

    #[test]
    fn splits_64_bit_length_records() {
        let cie32 = cie(b"zR", &[0x1b]);
        let body = &cie32[4..];
        let mut data = vec![0xff; 4];
        data.extend((body.len() as u64).to_le_bytes());
        data.extend_from_slice(body);
        // A 64-bit FDE: its CIE pointer is still 4 bytes, counted from its own position.
        let fde_at = data.len();
        let mut fde_body = ((fde_at + 12) as u32).to_le_bytes().to_vec();
        fde_body.extend([0; 8]);
        data.extend([0xff; 4]);
        data.extend((fde_body.len() as u64).to_le_bytes());
        data.extend(fde_body);
        let records = split_records(&data).unwrap();
        assert_eq!(
            records,
            [
                Record {
                    offset: 0,
                    len: 12 + body.len(),
                    kind: RecordKind::Cie
                },
                Record {
                    offset: fde_at,
                    len: 12 + 12,
                    kind: RecordKind::Fde { cie_offset: 0 }
                },
            ]
        );
        let hdr = hdr_for(&data, 0x1000, 0x800).unwrap();
        let (_, table) = decode_hdr(&hdr, 0x800);
        // pcrel sdata4 of 0 at the pc_begin field: the field's own address.
        assert_eq!(
            table,
            [(0x1000 + fde_at as u64 + 16, 0x1000 + fde_at as u64)]
        );
    }

    #[test]
    fn empty_section_has_no_records() {
        assert_eq!(split_records(&[]).unwrap(), []);
        assert_eq!(count_fdes(&[]).unwrap(), 0);
        let hdr = hdr_for(&[], 0x2000, 0x1000).unwrap();
        assert_eq!(hdr, [1, 0x1b, 3, 0x3b, 0xfc, 0x0f, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn decodes_each_pointer_encoding() {
        let eh_addr = 0x40_0000u64;
        let hdr_addr = 0x3f_0000u64;
        let target = 0x40_2345u64;
        // (augmentation, augmentation data, pc_begin bytes given the field address)
        type Case = (&'static [u8], Vec<u8>, fn(u64, u64) -> Vec<u8>);
        let cases: Vec<Case> = vec![
            // No augmentation: absptr, 8 bytes.
            (b"", vec![], |t, _| t.to_le_bytes().to_vec()),
            (b"zR", vec![0x03], |t, _| (t as u32).to_le_bytes().to_vec()),
            (b"zR", vec![0x04], |t, _| t.to_le_bytes().to_vec()),
            (b"zR", vec![0x0c], |t, _| t.to_le_bytes().to_vec()),
            (b"zR", vec![0x0b], |t, _| (t as i32).to_le_bytes().to_vec()),
            (b"zR", vec![0x1b], |t, f| {
                ((t.wrapping_sub(f)) as i32).to_le_bytes().to_vec()
            }),
            (b"zR", vec![0x1c], |t, f| {
                t.wrapping_sub(f).to_le_bytes().to_vec()
            }),
            (b"zR", vec![0x13], |t, f| {
                (t.wrapping_sub(f) as u32).to_le_bytes().to_vec()
            }),
            (b"zR", vec![0x1a], |t, f| {
                (t.wrapping_sub(f) as i16).to_le_bytes().to_vec()
            }),
            (b"zR", vec![0x01], |t, _| uleb(t)),
            // GCC/Rust's usual CIE: indirect pcrel personality, pcrel LSDA and FDE pointers.
            (b"zPLR", vec![0x9b, 1, 2, 3, 4, 0x1b, 0x1b], |t, f| {
                ((t.wrapping_sub(f)) as i32).to_le_bytes().to_vec()
            }),
            // Flags without data around 'R', 8-byte absolute personality.
            (
                b"zSPBLR",
                vec![0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x1b, 0x1b],
                |t, f| ((t.wrapping_sub(f)) as i32).to_le_bytes().to_vec(),
            ),
            // Personality via uleb128, then R.
            (b"zPR", vec![0x01, 0x80, 0x80, 0x01, 0x1b], |t, f| {
                ((t.wrapping_sub(f)) as i32).to_le_bytes().to_vec()
            }),
            // Unknown augmentation characters after 'R' are fine: 'z' gives the length.
            (b"zRX", vec![0x1b, 9, 9], |t, f| {
                ((t.wrapping_sub(f)) as i32).to_le_bytes().to_vec()
            }),
        ];
        for (aug, aug_data, encode) in cases {
            let cie = cie(aug, &aug_data);
            let fde_at = cie.len();
            let field = eh_addr + fde_at as u64 + 8;
            let data = section(cie, &[&|at| fde(at, 0, &encode(target, field))]);
            let what = String::from_utf8_lossy(aug).into_owned() + &format!(" {aug_data:x?}");
            let hdr = hdr_for(&data, eh_addr, hdr_addr).expect(&what);
            let (eh, table) = decode_hdr(&hdr, hdr_addr);
            assert_eq!(eh, eh_addr, "{what}");
            assert_eq!(table, [(target, eh_addr + fde_at as u64)], "{what}");
        }
    }

    fn uleb(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    #[test]
    fn aligned_personality_is_skipped_by_address() {
        // 'P' with DW_EH_PE_aligned: the pointer starts at the next 8-byte address. The
        // augmentation data begins at CIE offset 4+4+1+4+3+1 = 17 (section address 0x1000),
        // so after the encoding byte (at 17) the pointer is aligned to 24.
        let mut aug_data = vec![0x50];
        aug_data.extend([0; 6]); // padding from 18 to 24
        aug_data.extend(0xdead_beefu64.to_le_bytes());
        aug_data.push(0x1b);
        let cie = cie(b"zPR", &aug_data);
        let fde_at = cie.len();
        let data = section(cie, &[&|at| fde(at, 0, &0x100i32.to_le_bytes())]);
        let hdr = hdr_for(&data, 0x1000, 0x1000).unwrap();
        let (_, table) = decode_hdr(&hdr, 0x1000);
        assert_eq!(
            table,
            [(0x1000 + fde_at as u64 + 8 + 0x100, 0x1000 + fde_at as u64)]
        );
    }

    #[test]
    fn table_is_sorted_stably() {
        // Absolute udata4 pc_begin: 0x300, 0x100, 0x300 (duplicate), 0x200.
        let pcs = [0x300u32, 0x100, 0x300, 0x200];
        let mut data = cie(b"zR", &[0x03]);
        let mut offsets = Vec::new();
        for pc in pcs {
            let at = data.len();
            offsets.push(at as u64);
            data.extend(fde(at, 0, &pc.to_le_bytes()));
        }
        let hdr = hdr_for(&data, 0x1000, 0x100).unwrap();
        let (_, table) = decode_hdr(&hdr, 0x100);
        let fde = |i: usize| 0x1000 + offsets[i];
        assert_eq!(
            table,
            [
                (0x100, fde(1)),
                (0x200, fde(3)),
                (0x300, fde(0)),
                (0x300, fde(2))
            ]
        );
    }

    #[test]
    fn table_read_in_parts_is_the_table_read_whole() {
        // Three inputs' .eh_frame back to back, each a CIE (one with pc-relative pointers)
        // and FDEs with equal and out-of-order initial locations across inputs.
        let mut data = Vec::new();
        let mut starts = Vec::new();
        for (input, pcs) in [[0x300u32, 0x100], [0x300, 0x200], [0x50, 0x400]]
            .iter()
            .enumerate()
        {
            let base = data.len();
            starts.push(base);
            let encoding = if input == 1 { 0x1b } else { 0x03 };
            data.extend(cie(b"zR", &[encoding]));
            for &pc in pcs {
                let at = data.len();
                data.extend(fde(at - base, 0, &pc.to_le_bytes()));
            }
        }
        let whole = hdr_for(&data, 0x1000, 0x100).unwrap();
        let in_parts = |starts: &[usize]| {
            let mut out = vec![0; whole.len()];
            write_eh_frame_hdr_in_parts(&data, starts, 0x1000, 0x100, &mut out, &|_| None).unwrap();
            out
        };
        assert_eq!(in_parts(&starts), whole);
        // A part starting at an FDE whose CIE is before it cannot be read alone: the whole
        // is read instead.
        let first_fde = starts[1] + cie(b"zR", &[0x1b]).len();
        assert_eq!(in_parts(&[0, first_fde]), whole);
        assert_eq!(in_parts(&[]), whole);
    }

    #[test]
    fn malformed_sections_are_errors() {
        let good = section(cie(b"zR", &[0x1b]), &[&|at| fde(at, 0, &[0; 4])]);
        let cie_len = cie(b"zR", &[0x1b]).len();
        // Every truncation (except at a record boundary) is an error for all entry points.
        for cut in 1..good.len() {
            if cut == cie_len {
                continue;
            }
            let data = &good[..cut];
            assert!(split_records(data).is_err(), "cut {cut}");
            assert!(count_fdes(data).is_err(), "cut {cut}");
            let mut out = [0u8; 20];
            assert!(
                write_eh_frame_hdr(data, 0, 0, &mut out).is_err(),
                "cut {cut}"
            );
        }
        let bad = |data: &[u8]| {
            assert!(split_records(data).is_err(), "{data:x?}");
            assert!(hdr_for(data, 0, 0).is_err(), "{data:x?}");
        };
        bad(&[0x10, 0, 0, 0, 0, 0]); // length past end
        bad(&[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ]);
        bad(&[0xff, 0xff, 0xff, 0xff, 0x10, 0]); // truncated 64-bit length
        bad(&[0xf0, 0xff, 0xff, 0xff]); // reserved length
        bad(&[2, 0, 0, 0, 0, 0]); // too short for a CIE id
                                  // CIE pointer reaching before the section.
        bad(&[8, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0]);
        // FDE pointing into the middle of a CIE, and at another FDE.
        let mut data = good.clone();
        data[cie_len + 4] += 4;
        bad(&data);
        let mut data = good.clone();
        let at = data.len();
        data.extend(fde(at, cie_len, &[0; 4]));
        bad(&data);
        // The rest is inside a CIE, which only the header writer reads.
        let bad_cie = |data: &[u8]| {
            assert!(split_records(data).is_ok(), "{data:x?}");
            assert!(hdr_for(data, 0, 0).is_err(), "{data:x?}");
        };
        // Unknown augmentation without 'z'; unknown character before 'R'.
        bad_cie(&section(cie(b"xy", &[]), &[&|at| fde(at, 0, &[0; 8])]));
        bad_cie(&section(cie(b"zXR", &[0x1b]), &[&|at| fde(at, 0, &[0; 4])]));
        // Augmentation data length past the CIE.
        let mut data = good.clone();
        data[4 + 4 + 1 + 3 + 3] = 0x70;
        bad_cie(&data);
        // Unsupported pc_begin encodings: datarel, indirect, omit, unknown format.
        for enc in [0x3b, 0x9b, 0xff, 0x0f, 0x05] {
            bad_cie(&section(cie(b"zR", &[enc]), &[&|at| fde(at, 0, &[0; 4])]));
        }
        // Unsupported CIE version.
        let mut data = good.clone();
        data[8] = 2;
        bad_cie(&data);
    }

    #[test]
    fn hdr_rejects_far_addresses_and_wrong_sizes() {
        let data = section(cie(b"zR", &[0x1b]), &[&|at| fde(at, 0, &[0; 4])]);
        let mut out = vec![0; eh_frame_hdr_size(1)];
        // .eh_frame 4 GiB after the header: eh_frame_ptr overflows.
        assert!(write_eh_frame_hdr(&data, 0x1_0000_1000, 0x1000, &mut out).is_err());
        // Absolute pc_begin far from the header: the table entry overflows.
        let far = section(
            cie(b"zR", &[0x04]),
            &[&|at| fde(at, 0, &u64::MAX.to_le_bytes())],
        );
        assert!(write_eh_frame_hdr(&far, 0x1000, 0x1000, &mut out).is_err());
        // Negative deltas are fine.
        assert!(write_eh_frame_hdr(&data, 0x1000, 0x8000_0000, &mut out).is_ok());
        let mut short = vec![0; eh_frame_hdr_size(1) - 1];
        assert!(write_eh_frame_hdr(&data, 0x1000, 0x2000, &mut short).is_err());
    }

    // ---- Real toolchain output --------------------------------------------------------------

    /// A fresh scratch directory for one test.
    pub(crate) fn scratch_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rlink-elf-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs a tool; `None` (and the test is skipped) when it is not installed.
    pub(crate) fn run(program: &str, args: &[&str], dir: &Path) -> Option<String> {
        let output = match Command::new(program).args(args).current_dir(dir).output() {
            Ok(o) => o,
            Err(e) => panic!("{program} is required by this test (.ci/run installs it): {e}"),
        };
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn section_of(file: &object::File, name: &str) -> Option<(u64, Vec<u8>)> {
        let s = file.section_by_name(name)?;
        Some((s.address(), s.data().ok()?.to_vec()))
    }

    const C_SOURCE: &str = r#"
        #include <stdio.h>
        int g(int);
        int f(int x) { return g(x) + 1; }
        int h(int x) { return g(x) * 3; }
        static int k(int x) { return g(x) ^ 7; }
        int (*p)(int) = k;
        int g(int x) { return x ? printf("%d\n", x) : 0; }
        int main(int argc, char **argv) { (void)argv; return f(argc) + h(argc) + p(argc); }
    "#;

    const RUST_SOURCE: &str = r#"
        #[inline(never)]
        pub fn may_panic(x: u32) -> u32 { if x > 100 { panic!("big") } x * 2 }
        pub fn catches(x: u32) -> bool { std::panic::catch_unwind(|| may_panic(x)).is_ok() }
        fn main() { println!("{}", catches(std::env::args().count() as u32 * 200)); }
    "#;

    /// Parses `readelf --debug-dump=frames` for the .eh_frame records (offset, kind).
    fn readelf_records(path: &Path, dir: &Path) -> Option<Vec<(usize, RecordKind)>> {
        let text = run("readelf", &["--debug-dump=frames", path.to_str()?], dir)?;
        let hex = |s: &str| usize::from_str_radix(s, 16).unwrap();
        let mut out = Vec::new();
        let mut in_eh_frame = false;
        for line in text.lines() {
            if line.starts_with("Contents of") {
                in_eh_frame = line.contains(".eh_frame section");
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if !in_eh_frame || line.starts_with(' ') || words.len() < 2 {
                continue;
            }
            let kind = match words.get(3) {
                Some(&"CIE") => RecordKind::Cie,
                Some(&"FDE") => RecordKind::Fde {
                    cie_offset: hex(words[4].strip_prefix("cie=").unwrap()),
                },
                _ if words[1] == "ZERO" => RecordKind::Terminator,
                _ => continue,
            };
            out.push((hex(words[0]), kind));
        }
        Some(out)
    }

    /// Splits the .eh_frame of an object and checks it against readelf's view.
    fn check_split(obj: &Path, dir: &Path) -> Option<Vec<Record>> {
        let data = std::fs::read(obj).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let (_, eh_frame) = section_of(&file, ".eh_frame").unwrap();
        let records = split_records(&eh_frame).unwrap();
        let expected = readelf_records(obj, dir)?;
        let got: Vec<(usize, RecordKind)> = records.iter().map(|r| (r.offset, r.kind)).collect();
        assert_eq!(got, expected, "{}", obj.display());
        let fdes = got
            .iter()
            .filter(|(_, k)| matches!(k, RecordKind::Fde { .. }));
        assert_eq!(count_fdes(&eh_frame).unwrap(), fdes.count());
        Some(records)
    }

    #[test]
    fn splits_gcc_object() {
        let dir = scratch_dir("split-c");
        std::fs::write(dir.join("a.c"), C_SOURCE).unwrap();
        if run("gcc", &["-c", "-O1", "a.c"], &dir).is_none() {
            return;
        }
        let Some(records) = check_split(&dir.join("a.o"), &dir) else {
            return;
        };
        // One CIE, then an FDE per function: f, h, k, g, main.
        assert_eq!(records[0].kind, RecordKind::Cie);
        assert_eq!(records.len(), 6);
        assert!(records[1..]
            .iter()
            .all(|r| r.kind == RecordKind::Fde { cie_offset: 0 }));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn splits_rustc_object() {
        let dir = scratch_dir("split-rs");
        std::fs::write(dir.join("m.rs"), RUST_SOURCE).unwrap();
        let args = [
            "--emit=obj",
            "-O",
            "-Cpanic=unwind",
            "--crate-type=lib",
            "m.rs",
        ];
        if run("rustc", &args, &dir).is_none() {
            return;
        }
        let Some(records) = check_split(&dir.join("m.o"), &dir) else {
            return;
        };
        assert!(records.iter().filter(|r| r.kind == RecordKind::Cie).count() >= 1);
        assert!(records.len() >= 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Regenerates the .eh_frame_hdr of a GNU ld-linked executable and compares bytes.
    fn check_hdr_matches_ld(exe: &Path) {
        let data = std::fs::read(exe).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let (eh_addr, eh_frame) = section_of(&file, ".eh_frame").unwrap();
        let (hdr_addr, ld_hdr) = section_of(&file, ".eh_frame_hdr").unwrap();
        let count = count_fdes(&eh_frame).unwrap();
        assert!(count > 0);
        assert_eq!(eh_frame_hdr_size(count), ld_hdr.len(), "{}", exe.display());
        let mut ours = vec![0; ld_hdr.len()];
        write_eh_frame_hdr(&eh_frame, eh_addr, hdr_addr, &mut ours).unwrap();
        assert_eq!(ours, ld_hdr, "{}", exe.display());
    }

    #[test]
    fn regenerates_gcc_executable_hdr() {
        let dir = scratch_dir("hdr-c");
        std::fs::write(dir.join("a.c"), C_SOURCE).unwrap();
        // gcc passes --eh-frame-hdr only for dynamic links; ask for it in the static one,
        // whose .eh_frame holds all of libc's FDEs.
        let links: [(&str, &[&str]); 3] = [
            ("pie", &["-pie"]),
            ("nopie", &["-no-pie"]),
            ("static", &["-static", "-Wl,--eh-frame-hdr"]),
        ];
        for (out, extra) in links {
            let mut args = vec!["-O1", "-fuse-ld=bfd", "-o", out, "a.c"];
            args.extend_from_slice(extra);
            if run("gcc", &args, &dir).is_none() {
                return;
            }
            check_hdr_matches_ld(&dir.join(out));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn regenerates_rustc_executable_hdr() {
        let dir = scratch_dir("hdr-rs");
        std::fs::write(dir.join("m.rs"), RUST_SOURCE).unwrap();
        let args = ["-O", "-Clink-arg=-fuse-ld=bfd", "-o", "m", "m.rs"];
        if run("rustc", &args, &dir).is_none() {
            return;
        }
        check_hdr_matches_ld(&dir.join("m"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
