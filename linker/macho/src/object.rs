//! The Mach-O loader: a 64-bit little-endian `MH_OBJECT` (x86_64 or arm64) into the linker's
//! own view ([`ObjectView`]), validated once.
//!
//! Mach-O objects differ from ELF ones in ways this loader absorbs, so the pipeline sees one
//! shape:
//! - Sections have two names; the view's name is `SEGMENT,section` (`__TEXT,__text`).
//! - Symbol values and relocation targets are addresses in the object's own address space
//!   (each section has an address); the view's are section offsets.
//! - A relocation either names a symbol (`r_extern`) or a section by ordinal, and its addend
//!   is stored in the place (or, on arm64, in a preceding `ARM64_RELOC_ADDEND`). Section
//!   references become references to a section symbol the loader adds after the real ones;
//!   every addend becomes explicit, in the form the CPU's table expects ([`normalize`]).
//! - A difference `A − B` is a `SUBTRACTOR` (against B) followed by an `UNSIGNED` (against
//!   A). The pair is kept, in order, and the `UNSIGNED` marked [`PAIRED`]: the CPU applies
//!   the first as "write addend − B" and the second as "add A".
//!
//! Index 0 of the view's sections and symbols is a null entry, as in ELF: Mach-O numbers
//! sections from 1, and symbol `i` of the file is symbol `i + 1` of the view.

use object::macho;
use object::read::macho::{
    LoadCommandVariant, MachHeader as _, Nlist as _, Section as _, Segment as _,
};
use object::LittleEndian as LE;
use rlink_linker::object::{
    Binding, ObjectView, Reloc, Relocs, Section, SectionFlags, SymPlace, Symbol, SymbolKind,
    Visibility,
};
use rlink_linker::target::Cpu;
use rlink_linker::{bail, Error, Result};

use crate::MachArch;

/// Mach-O section types (the low byte of `flags`) and attributes this loader reads.
pub const S_ZEROFILL: u32 = 0x1;
pub const S_CSTRING_LITERALS: u32 = 0x2;
pub const S_MOD_INIT_FUNC_POINTERS: u32 = 0x9;
pub const S_MOD_TERM_FUNC_POINTERS: u32 = 0xa;
pub const S_GB_ZEROFILL: u32 = 0xc;
pub const S_THREAD_LOCAL_REGULAR: u32 = 0x11;
pub const S_THREAD_LOCAL_ZEROFILL: u32 = 0x12;
pub const S_THREAD_LOCAL_VARIABLES: u32 = 0x13;
pub const S_ATTR_PURE_INSTRUCTIONS: u32 = 0x8000_0000;
pub const S_ATTR_NO_DEAD_STRIP: u32 = 0x1000_0000;
pub const S_ATTR_DEBUG: u32 = 0x0200_0000;
pub const S_ATTR_SOME_INSTRUCTIONS: u32 = 0x0000_0400;

const N_STAB: u8 = 0xe0;
const N_PEXT: u8 = 0x10;
const N_TYPE: u8 = 0x0e;
const N_EXT: u8 = 0x01;
const N_UNDF: u8 = 0x0;
const N_ABS: u8 = 0x2;
const N_SECT: u8 = 0xe;
const N_WEAK_REF: u16 = 0x40;
const N_WEAK_DEF: u16 = 0x80;

/// `UNSIGNED` is 0 for both CPUs (`X86_64_RELOC_UNSIGNED`, `ARM64_RELOC_UNSIGNED`).
pub const UNSIGNED: u32 = 0;

/// The view's relocation type: the Mach-O type in the low byte, `r_length` (log2 of the
/// width) in bits 8–9, `r_pcrel` in bit 10, and [`PAIRED`] for the `UNSIGNED` half of a
/// difference.
pub const LENGTH_SHIFT: u32 = 8;
pub const PCREL: u32 = 1 << 10;
pub const PAIRED: u32 = 1 << 11;
/// The first half of a difference (whatever the CPU numbers its SUBTRACTOR).
pub const SUBTRACTOR: u32 = 1 << 12;
/// A descriptor's offset of its variable in the thread-local template: an `UNSIGNED` in a
/// `S_THREAD_LOCAL_VARIABLES` section against a thread-local symbol.
pub const TLV_OFFSET: u32 = 1 << 13;

pub fn encode_type(r_type: u32, length: u8, pcrel: bool) -> u32 {
    r_type | (u32::from(length) << LENGTH_SHIFT) | if pcrel { PCREL } else { 0 }
}

/// (Mach-O type, log2 width, PC-relative, paired) of a view relocation type.
pub fn decode_type(t: u32) -> (u32, u8, bool, bool) {
    (
        t & 0xff,
        ((t >> LENGTH_SHIFT) & 3) as u8,
        t & PCREL != 0,
        t & PAIRED != 0,
    )
}

fn malformed(place: &str, e: object::read::Error) -> Error {
    Error::new(format!(
        "{place}: truncated or malformed Mach-O object: {e}"
    ))
}

/// The view's name of a section: `SEGMENT,section`, made once per section and kept for the
/// link (the view borrows names; a Mach-O header holds the two halves apart).
fn section_name(segname: &[u8; 16], sectname: &[u8; 16]) -> &'static [u8] {
    let trim = |b: &[u8; 16]| -> Vec<u8> { b.iter().copied().take_while(|&c| c != 0).collect() };
    let mut name = trim(segname);
    name.push(b',');
    name.extend(trim(sectname));
    name.leak()
}

/// The neutral flags of a Mach-O section.
fn section_flags(segname: &[u8], sectname: &[u8], flags: u32) -> SectionFlags {
    let kind = flags & 0xff;
    let mut f = SectionFlags::default();
    let input_only = matches!(segname, b"__LD" | b"__LLVM" | b"__RLINK");
    let debug = segname == b"__DWARF" || flags & S_ATTR_DEBUG != 0;
    if input_only {
        return SectionFlags::INPUT_ONLY;
    }
    if !debug {
        f |= SectionFlags::ALLOC;
    }
    if flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS) != 0 {
        f |= SectionFlags::EXEC;
    }
    if matches!(segname, b"__DATA" | b"__DATA_CONST") {
        f |= SectionFlags::WRITE;
    }
    if matches!(kind, S_ZEROFILL | S_GB_ZEROFILL | S_THREAD_LOCAL_ZEROFILL) {
        f |= SectionFlags::ZERO_FILL;
    }
    if matches!(kind, S_THREAD_LOCAL_REGULAR | S_THREAD_LOCAL_ZEROFILL) {
        f |= SectionFlags::TLS;
    }
    if flags & S_ATTR_NO_DEAD_STRIP != 0
        || matches!(kind, S_MOD_INIT_FUNC_POINTERS | S_MOD_TERM_FUNC_POINTERS)
    {
        f |= SectionFlags::GC_ROOT;
    }
    // Call frames: an FDE lives while its function does (the core's rule for .eh_frame).
    if segname == b"__TEXT" && sectname == b"__eh_frame" {
        f |= SectionFlags::EH_FRAME;
    }
    f
}

/// Reads a relocatable Mach-O object in place.
pub fn load<'a, A: MachArch>(place: String, data: &'a [u8]) -> Result<ObjectView<'a>> {
    let header = macho::MachHeader64::<LE>::parse(data, 0).map_err(|e| malformed(&place, e))?;
    let e = LE;
    if header.filetype(e) != macho::MH_OBJECT {
        bail!(
            "{place}: not a Mach-O relocatable object (file type {})",
            header.filetype(e)
        );
    }
    // MH_SUBSECTIONS_VIA_SYMBOLS: every symbol starts an atom the linker may drop alone.
    let subsections = header.flags(e).0 & 0x2000 != 0;
    let cpu = match header.cputype(e) {
        macho::CPU_TYPE_X86_64 => Cpu::X86_64,
        macho::CPU_TYPE_ARM64 => Cpu::Aarch64,
        other => bail!("{place}: Mach-O CPU type {other:#x} is not x86_64 or arm64"),
    };
    if cpu != A::CPU {
        bail!(
            "{place}: an object for {}, in a link for {}",
            cpu.name(),
            A::CPU.name()
        );
    }

    // Sections in ordinal order (1-based), with their addresses in the object.
    let mut sections = vec![Section {
        name: b"",
        data: &[],
        size: 0,
        raw_flags: 0,
        raw_type: 0,
        raw_entsize: 0,
        flags: SectionFlags::default(),
        align_log2: 0,
        merge_entsize: 0,
    }];
    let mut addrs: Vec<u64> = vec![0];
    let mut raw_relocs: Vec<&'a [macho::Relocation<LE>]> = vec![&[]];
    let mut symtab = None;
    let mut commands = header
        .load_commands(e, data, 0)
        .map_err(|er| malformed(&place, er))?;
    while let Some(cmd) = commands.next().map_err(|er| malformed(&place, er))? {
        match cmd.variant().map_err(|er| malformed(&place, er))? {
            LoadCommandVariant::Segment64(seg, section_data) => {
                for s in seg
                    .sections(e, section_data)
                    .map_err(|er| malformed(&place, er))?
                {
                    let flags = s.flags(e).0;
                    let kind = flags & 0xff;
                    let zero_fill =
                        matches!(kind, S_ZEROFILL | S_GB_ZEROFILL | S_THREAD_LOCAL_ZEROFILL);
                    let size = s.size(e);
                    let bytes = if zero_fill {
                        &[][..]
                    } else {
                        s.data(e, data, u64::from(s.offset(e))).map_err(|_| {
                            Error::new(format!(
                                "{place}: section {} lies outside the file",
                                String::from_utf8_lossy(section_name(s.segname(), s.sectname()))
                            ))
                        })?
                    };
                    let align = s.align(e);
                    if align > 32 {
                        bail!("{place}: section alignment 2^{align} is too large");
                    }
                    let segname = s.segment_name();
                    let relocs = s.relocations(e, data).map_err(|er| malformed(&place, er))?;
                    sections.push(Section {
                        name: section_name(s.segname(), s.sectname()),
                        data: bytes,
                        size,
                        raw_flags: flags & !0xff,
                        raw_type: kind,
                        raw_entsize: s.reserved2(e),
                        flags: section_flags(segname, s.name(), flags),
                        align_log2: align as u8,
                        merge_entsize: 0,
                    });
                    addrs.push(s.addr(e));
                    raw_relocs.push(relocs);
                }
            }
            LoadCommandVariant::Symtab(st) => symtab = Some(st),
            _ => {}
        }
    }
    let nsect = sections.len() - 1;

    // Symbols: null, the file's, then one per section for section-relative relocations.
    let mut symbols = vec![Symbol {
        name: b"",
        place: SymPlace::Undefined,
        value: 0,
        size: 0,
        binding: Binding::Local,
        kind: SymbolKind::NoType,
        visibility: Visibility::Default,
    }];
    // n_desc of each file symbol (index i + 1), for the atom split.
    let mut descs: Vec<u16> = vec![0];
    if let Some(st) = symtab {
        let table = st
            .symbols::<macho::MachHeader64<LE>, _>(e, data)
            .map_err(|er| malformed(&place, er))?;
        for (i, n) in table.iter().enumerate() {
            let name = n.name(e, table.strings()).map_err(|_| {
                Error::new(format!(
                    "{place}: symbol {i} has a name outside the string table"
                ))
            })?;
            let n_type = n.n_type().0;
            let desc = n.n_desc(e).0;
            descs.push(desc);
            let value = n.n_value(e);
            if n_type & N_STAB != 0 {
                symbols.push(Symbol {
                    name,
                    place: SymPlace::Absolute,
                    value,
                    size: 0,
                    binding: Binding::Local,
                    kind: SymbolKind::Other(n_type),
                    visibility: Visibility::Default,
                });
                continue;
            }
            let external = n_type & N_EXT != 0;
            let (place_of, value, kind) = match n_type & N_TYPE {
                N_UNDF if external && value != 0 => (SymPlace::Common, value, SymbolKind::Common),
                N_UNDF => (SymPlace::Undefined, 0, SymbolKind::NoType),
                N_ABS => (SymPlace::Absolute, value, SymbolKind::NoType),
                N_SECT => {
                    let sect = usize::from(n.n_sect());
                    if sect == 0 || sect > nsect {
                        bail!("{place}: symbol {} refers to section {sect} of {nsect}", lossy(name));
                    }
                    let s = &sections[sect];
                    let offset = value.checked_sub(addrs[sect]).filter(|&o| o <= s.size);
                    let Some(offset) = offset else {
                        bail!(
                            "{place}: symbol {} at {value:#x} lies outside its section {}",
                            lossy(name),
                            lossy(s.name)
                        );
                    };
                    let kind = if s.has(SectionFlags::TLS) {
                        SymbolKind::Tls
                    } else if s.has(SectionFlags::EXEC) {
                        SymbolKind::Func
                    } else {
                        SymbolKind::Data
                    };
                    (SymPlace::Section(sect as u32), offset, kind)
                }
                other => bail!(
                    "{place}: symbol {} has type {other:#x} (indirect and prebound symbols are not supported)",
                    lossy(name)
                ),
            };
            let binding = if !external {
                Binding::Local
            } else if (place_of == SymPlace::Undefined && desc & N_WEAK_REF != 0)
                || (place_of != SymPlace::Undefined && desc & N_WEAK_DEF != 0)
            {
                Binding::Weak
            } else {
                Binding::Global
            };
            let visibility = if n_type & N_PEXT != 0 {
                Visibility::Hidden
            } else {
                Visibility::Default
            };
            symbols.push(Symbol {
                name,
                place: place_of,
                value,
                size: 0,
                binding,
                kind,
                visibility,
            });
        }
    }
    let first_section_symbol = symbols.len() as u32;
    for (i, s) in sections.iter().enumerate().skip(1) {
        symbols.push(Symbol {
            name: s.name,
            place: SymPlace::Section(i as u32),
            value: 0,
            size: 0,
            binding: Binding::Local,
            kind: SymbolKind::Section,
            visibility: Visibility::Default,
        });
    }
    let nsyms = first_section_symbol as usize - 1;
    debug_assert_eq!(descs.len(), nsyms + 1);

    // Per file section: the decoded relocations, and for each the distance from its addend to
    // the offset of its target (for references to a section, which atoms refine).
    let mut file_relocs: Vec<Vec<(Reloc, i64)>> = vec![Vec::new()];
    for si in 1..sections.len() {
        let raw = raw_relocs[si];
        if raw.is_empty() {
            file_relocs.push(Vec::new());
            continue;
        }
        let s = sections[si];
        let mut out = Vec::with_capacity(raw.len());
        let mut pending_addend: Option<i64> = None;
        let mut after_subtractor = false;
        // A difference whose subtrahend lies in this (unsplit) section is a PC-relative word:
        // `__eh_frame` writes pc_begin and LSDA pointers as `target − label + c`.
        let is_eh_frame = s.name.ends_with(b",__eh_frame");
        let mut pcrel_pair: Option<i64> = None;
        for (k, r) in raw.iter().enumerate() {
            if r.r_scattered(e, header.cputype(e)) {
                bail!(
                    "{place}: {}: relocation {k} is scattered (not used by x86_64 or arm64)",
                    lossy(s.name)
                );
            }
            let info = r.info(e);
            let r_type = u32::from(info.r_type.0);
            let err = |why: String| -> Error {
                Error::new(format!(
                    "{place}: {}+{:#x}: relocation {k}: {why}",
                    lossy(s.name),
                    info.r_address
                ))
            };
            if A::is_addend_prefix(r_type) {
                // The addend of the next relocation, a signed 24-bit number in r_symbolnum.
                let v = i64::from(((info.r_symbolnum << 8) as i32) >> 8);
                pending_addend = Some(v);
                continue;
            }
            let width = 1u64 << info.r_length;
            let offset = u64::from(info.r_address);
            if offset.checked_add(width).is_none_or(|end| end > s.size) || s.is_zero_fill() {
                return Err(err(format!(
                    "a {width}-byte place past the section's {:#x} bytes",
                    s.size
                )));
            }
            let stored = read_signed(s.data, offset as usize, info.r_length);
            let subtractor = A::is_subtractor(r_type);
            if after_subtractor && r_type != UNSIGNED {
                return Err(err("a SUBTRACTOR must be followed by an UNSIGNED".into()));
            }
            let (symbol, section_addr) = if info.r_extern {
                let sym = info.r_symbolnum as usize;
                if sym >= nsyms {
                    return Err(err(format!(
                        "names symbol {sym}, but the object has {nsyms}"
                    )));
                }
                (sym as u32 + 1, None)
            } else {
                let sect = info.r_symbolnum as usize;
                if sect == 0 || sect > nsect {
                    return Err(err(format!("names section {sect} of {nsect}")));
                }
                (first_section_symbol + sect as u32 - 1, Some(addrs[sect]))
            };
            if subtractor && is_eh_frame && info.r_extern {
                let b = &symbols[symbol as usize];
                if b.place == SymPlace::Section(si as u32) {
                    pcrel_pair = Some(
                        stored
                            .wrapping_add(offset as i64)
                            .wrapping_sub(b.value as i64),
                    );
                    after_subtractor = true;
                    continue;
                }
            }
            if let Some(k) = pcrel_pair.take() {
                if !info.r_extern {
                    return Err(err(
                        "a difference in __eh_frame against a section (unsupported)".into(),
                    ));
                }
                out.push((
                    Reloc {
                        offset,
                        symbol,
                        r_type: encode_type(UNSIGNED, info.r_length, true),
                        addend: k,
                    },
                    0,
                ));
                after_subtractor = false;
                continue;
            }
            let mut view_type = encode_type(r_type, info.r_length, info.r_pcrel);
            if after_subtractor {
                view_type |= PAIRED;
            }
            if subtractor {
                view_type |= SUBTRACTOR;
            }
            let target_tls = if info.r_extern {
                symbols[symbol as usize].kind == SymbolKind::Tls
            } else {
                sections[info.r_symbolnum as usize].has(SectionFlags::TLS)
            };
            if r_type == UNSIGNED && s.raw_type == S_THREAD_LOCAL_VARIABLES && target_tls {
                view_type |= TLV_OFFSET;
            }
            let addend = normalize::<A>(
                r_type,
                info.r_pcrel,
                stored,
                pending_addend.take(),
                subtractor,
                after_subtractor,
                section_addr,
                addrs[si] + offset,
            )
            .map_err(err)?;
            // A PC-relative addend of a section reference ends where the CPU measures from.
            let bias = if info.r_pcrel && section_addr.is_some() {
                A::pcrel_end(r_type)
            } else {
                0
            };
            if after_subtractor && section_addr.is_some() && subsections {
                return Err(err(
                    "the minuend of a difference names a section, not a symbol (unsupported)"
                        .into(),
                ));
            }
            out.push((
                Reloc {
                    offset,
                    symbol,
                    r_type: view_type,
                    addend,
                },
                bias,
            ));
            after_subtractor = subtractor;
        }
        if after_subtractor {
            bail!(
                "{place}: {}: a SUBTRACTOR ends the relocations",
                lossy(s.name)
            );
        }
        if pending_addend.is_some() {
            bail!(
                "{place}: {}: an ARM64_RELOC_ADDEND ends the relocations",
                lossy(s.name)
            );
        }
        // Mach-O lists relocations last-to-first; the pipeline wants offset order. A stable
        // sort keeps each SUBTRACTOR before its UNSIGNED.
        out.sort_by_key(|r| r.0.offset);
        file_relocs.push(out);
    }

    // x86_64's assembler leaves an FDE's pointers into the same object without relocations
    // (ld64 reads them as PC-relative addresses in the object): make them relocations.
    for si in 1..sections.len() {
        if sections[si].name.ends_with(b",__eh_frame") {
            let found = implicit_frame_pointers(&sections, &addrs, si, &file_relocs[si])
                .map_err(|e| e.at(&place))?;
            for (offset, length, target_section, target_offset) in found {
                file_relocs[si].push((
                    Reloc {
                        offset,
                        symbol: first_section_symbol + target_section as u32 - 1,
                        r_type: encode_type(UNSIGNED, length, true),
                        addend: target_offset,
                    },
                    0,
                ));
            }
            file_relocs[si].sort_by_key(|r| r.0.offset);
        }
    }

    let (sections, symbols, relocations) = if subsections {
        split_into_atoms(
            &place,
            sections,
            symbols,
            file_relocs,
            first_section_symbol,
            &descs,
        )?
    } else {
        let relocations = file_relocs
            .into_iter()
            .map(|v| Relocs::leak(v.into_iter().map(|(r, _)| r).collect()))
            .collect();
        (sections, symbols, relocations)
    };

    // Mach-O objects carry no producer note: rustc's are the ones defining Rust names.
    let rustc_comment = symbols.iter().any(|s| {
        !s.is_local() && matches!(s.place, SymPlace::Section(_)) && is_rust_mangled(s.name)
    });
    let mut view = ObjectView {
        place,
        cpu,
        data,
        sections,
        symbols,
        relocations,
        groups: Vec::new(),
        associated: Vec::new(),
        rustc_comment,
        linker_options: Vec::new(),
        name_hashes: Vec::new(),
        defines_versioned: false,
    };
    view.hash_names();
    view.check(&|t| 1u64 << decode_type(t).1)?;
    Ok(view)
}

/// The PC-relative pointers of an `__eh_frame` (FDE `pc_begin`, LSDA) that carry no
/// relocation: (offset, log2 width, target section, offset in it). Only the framing and the
/// augmentation are read (LSB "Exception Frames").
#[allow(clippy::type_complexity)]
fn implicit_frame_pointers(
    sections: &[Section<'_>],
    addrs: &[u64],
    si: usize,
    relocs: &[(Reloc, i64)],
) -> Result<Vec<(u64, u8, usize, i64)>> {
    let data = sections[si].data;
    // The relocations are sorted by offset.
    let has_reloc = |off: usize| {
        relocs
            .binary_search_by_key(&(off as u64), |r| r.0.offset)
            .is_ok()
    };
    let uleb = |d: &[u8], at: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *d.get(*at)?;
            *at += 1;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
    };
    let width = |enc: u8| -> Option<u8> {
        match enc & 0x0f {
            0x00 | 0x04 | 0x0c => Some(3),
            0x03 | 0x0b => Some(2),
            _ => None,
        }
    };
    // Per CIE offset: (FDE pointer encoding, LSDA encoding, has augmentation data).
    let mut cies: Vec<(usize, u8, Option<u8>, bool)> = Vec::new();
    let mut found = Vec::new();
    let bad = || {
        Error::new(format!(
            "{}: unreadable CIE or FDE",
            lossy(sections[si].name)
        ))
    };
    for r in rlink_linker::eh_frame::split_records(data)? {
        let rec = &data[r.offset..r.offset + r.len];
        match r.kind {
            rlink_linker::eh_frame::RecordKind::Cie => {
                let mut at = 9;
                let aug_end = rec[at..].iter().position(|&b| b == 0).ok_or_else(bad)? + at;
                let aug = &rec[at..aug_end];
                at = aug_end + 1;
                uleb(rec, &mut at).ok_or_else(bad)?; // code alignment
                uleb(rec, &mut at).ok_or_else(bad)?; // data alignment (SLEB: same length)
                if rec[8] == 1 {
                    at += 1;
                } else {
                    uleb(rec, &mut at).ok_or_else(bad)?;
                }
                let (mut fde_enc, mut lsda_enc) = (0u8, None);
                let z = aug.first() == Some(&b'z');
                if z {
                    uleb(rec, &mut at).ok_or_else(bad)?;
                    for &c in &aug[1..] {
                        match c {
                            b'R' => {
                                fde_enc = *rec.get(at).ok_or_else(bad)?;
                                at += 1;
                            }
                            b'L' => {
                                lsda_enc = Some(*rec.get(at).ok_or_else(bad)?);
                                at += 1;
                            }
                            b'P' => {
                                let enc = *rec.get(at).ok_or_else(bad)?;
                                at += 1 + (1usize << width(enc).ok_or_else(bad)?);
                            }
                            _ => break,
                        }
                    }
                }
                cies.push((r.offset, fde_enc, lsda_enc, z));
            }
            rlink_linker::eh_frame::RecordKind::Fde { cie_offset } => {
                let Some(&(_, fde_enc, lsda_enc, z)) = cies.iter().find(|c| c.0 == cie_offset)
                else {
                    continue;
                };
                let mut pointers = Vec::new();
                let w = width(fde_enc).ok_or_else(bad)?;
                let pc_begin = 8usize;
                pointers.push((pc_begin, fde_enc, w));
                if let (true, Some(le)) = (z, lsda_enc) {
                    let mut at = pc_begin + 2 * (1usize << w);
                    uleb(rec, &mut at).ok_or_else(bad)?;
                    if le != 0xff {
                        pointers.push((at, le, width(le).ok_or_else(bad)?));
                    }
                }
                for (at, enc, w) in pointers {
                    let off = r.offset + at;
                    if enc & 0x70 != 0x10 || has_reloc(off) || off + (1 << w) > data.len() {
                        continue;
                    }
                    let value = read_signed(data, off, w);
                    let target = (addrs[si] + off as u64).wrapping_add(value as u64);
                    // The section holding the target (or ending at it).
                    let Some(ts) = (1..sections.len()).find(|&k| {
                        target >= addrs[k] && target < addrs[k] + sections[k].size.max(1)
                    }) else {
                        continue;
                    };
                    found.push((off as u64, w, ts, (target - addrs[ts]) as i64));
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

const N_NO_DEAD_STRIP: u16 = 0x20;
const N_ALT_ENTRY: u16 = 0x200;
const S_4BYTE_LITERALS: u32 = 0x3;
const S_8BYTE_LITERALS: u32 = 0x4;
const S_16BYTE_LITERALS: u32 = 0xe;

/// Splits each section of an object built with `MH_SUBSECTIONS_VIA_SYMBOLS` at its symbols,
/// as ld64 reads such objects: each piece (an atom: a function, a variable) becomes a section
/// of the view, so garbage collection drops what nothing reaches one function at a time
/// (`-dead_strip`). Symbols, relocations and references to sections move to their atom.
/// Literal pools, unwind tables and sections that must stay whole are not split.
#[allow(clippy::type_complexity)]
fn split_into_atoms<'a>(
    place: &str,
    sections: Vec<Section<'a>>,
    symbols: Vec<Symbol<'a>>,
    file_relocs: Vec<Vec<(Reloc, i64)>>,
    first_section_symbol: u32,
    descs: &[u16],
) -> Result<(Vec<Section<'a>>, Vec<Symbol<'a>>, Vec<Relocs<'a>>)> {
    let nfile = first_section_symbol as usize;
    // Atom starts of each file section.
    let mut starts: Vec<Vec<u64>> = vec![vec![0]; sections.len()];
    let mut roots: Vec<Vec<u64>> = vec![Vec::new(); sections.len()];
    for (i, sym) in symbols.iter().enumerate().take(nfile).skip(1) {
        let SymPlace::Section(sec) = sym.place else {
            continue;
        };
        if matches!(sym.kind, SymbolKind::Other(_)) {
            continue;
        }
        let desc = descs.get(i).copied().unwrap_or(0);
        if desc & N_NO_DEAD_STRIP != 0 {
            roots[sec as usize].push(sym.value);
        }
        let s = &sections[sec as usize];
        let splittable = s.is_alloc()
            && !matches!(
                s.raw_type,
                S_CSTRING_LITERALS
                    | S_4BYTE_LITERALS
                    | S_8BYTE_LITERALS
                    | S_16BYTE_LITERALS
                    | S_MOD_INIT_FUNC_POINTERS
                    | S_MOD_TERM_FUNC_POINTERS
            )
            && !s.name.ends_with(b",__eh_frame")
            && s.raw_flags & S_ATTR_NO_DEAD_STRIP == 0;
        if splittable && desc & N_ALT_ENTRY == 0 && sym.value < s.size {
            starts[sec as usize].push(sym.value);
        }
    }
    let mut out_sections = vec![sections[0]];
    // Per file section: (start, view index) of each atom.
    let mut atoms: Vec<Vec<(u64, u32)>> = vec![Vec::new(); sections.len()];
    for (si, s) in sections.iter().enumerate().skip(1) {
        let st = &mut starts[si];
        st.sort_unstable();
        st.dedup();
        for (k, &start) in st.iter().enumerate() {
            let end = st.get(k + 1).copied().unwrap_or(s.size);
            let mut a = *s;
            a.size = end - start;
            if !s.is_zero_fill() {
                a.data = &s.data[start as usize..end as usize];
            }
            if start != 0 {
                a.align_log2 = s.align_log2.min(start.trailing_zeros() as u8);
            }
            if roots[si]
                .iter()
                .any(|&r| r >= start && r < end.max(start + 1))
            {
                a.flags |= SectionFlags::GC_ROOT;
            }
            atoms[si].push((start, out_sections.len() as u32));
            out_sections.push(a);
        }
    }
    let find = |si: usize, off: u64| -> (u64, u32) {
        let list = &atoms[si];
        let k = list.partition_point(|&(start, _)| start <= off).max(1) - 1;
        list[k]
    };
    let mut out_symbols: Vec<Symbol<'a>> = symbols[..nfile].to_vec();
    for sym in out_symbols.iter_mut().skip(1) {
        if let SymPlace::Section(sec) = sym.place {
            let (start, view) = find(sec as usize, sym.value);
            sym.place = SymPlace::Section(view);
            sym.value -= start;
        }
    }
    let new_first = out_symbols.len() as u32;
    for (i, s) in out_sections.iter().enumerate().skip(1) {
        out_symbols.push(Symbol {
            name: s.name,
            place: SymPlace::Section(i as u32),
            value: 0,
            size: 0,
            binding: Binding::Local,
            kind: SymbolKind::Section,
            visibility: Visibility::Default,
        });
    }
    let mut per_atom: Vec<Vec<Reloc>> = vec![Vec::new(); out_sections.len()];
    for (si, relocs) in file_relocs.into_iter().enumerate() {
        for (mut r, bias) in relocs {
            let (start, view) = find(si, r.offset);
            let width = 1u64 << decode_type(r.r_type).1;
            let end = start + out_sections[view as usize].size;
            if r.offset + width > end {
                bail!(
                    "{place}: {}+{:#x}: a relocation spans two atoms",
                    lossy(sections[si].name),
                    r.offset
                );
            }
            r.offset -= start;
            if r.symbol >= first_section_symbol {
                let target_section = (r.symbol - first_section_symbol + 1) as usize;
                let target_offset = r.addend.wrapping_add(bias).max(0) as u64;
                let (t_start, t_view) = find(target_section, target_offset);
                r.symbol = new_first + t_view - 1;
                r.addend -= t_start as i64;
            }
            per_atom[view as usize].push(r);
        }
    }
    let relocations = per_atom.into_iter().map(Relocs::leak).collect();
    Ok((out_sections, out_symbols, relocations))
}

/// A Rust symbol name as Mach-O spells it: ELF's spelling with one more leading underscore.
pub fn is_rust_mangled(name: &[u8]) -> bool {
    name.strip_prefix(b"_")
        .is_some_and(rlink_linker::object::is_rust_mangled)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The value stored at a place, sign-extended.
fn read_signed(data: &[u8], at: usize, length: u8) -> i64 {
    let b = |n: usize| -> [u8; 8] {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&data[at..at + n]);
        w
    };
    match length {
        0 => i64::from(data[at] as i8),
        1 => i64::from(i16::from_le_bytes([data[at], data[at + 1]])),
        2 => i64::from(i32::from_le_bytes(b(4)[..4].try_into().unwrap())),
        _ => i64::from_le_bytes(b(8)),
    }
}

/// The explicit addend of a relocation, in the form its CPU's table computes with (S + A − P
/// for PC-relative ones, as ELF's). `place_addr` is the place's address in the object.
///
/// - x86_64 stores addends in the place. A PC-relative field is relative to the end of its
///   instruction: 4 bytes after the field, plus 1, 2 or 4 immediate bytes for `SIGNED_1/2/4`,
///   whose stored value is the true addend minus those bytes. So the true displacement is
///   S + stored − (P + 4), and the view's addend is `stored − 4`, as ELF's `R_X86_64_PC32`.
/// - arm64 instructions carry no addend: it comes from a preceding `ARM64_RELOC_ADDEND`. Data
///   words store theirs.
/// - A section-relative relocation stores the target's address in the object (PC-relative:
///   its distance from the place); the view's addend is relative to the section's start.
/// - A SUBTRACTOR keeps the stored value (the pair's constant); its UNSIGNED adds only A.
#[allow(clippy::too_many_arguments)]
fn normalize<A: MachArch>(
    r_type: u32,
    pcrel: bool,
    stored: i64,
    explicit: Option<i64>,
    subtractor: bool,
    paired: bool,
    section_addr: Option<u64>,
    place_addr: u64,
) -> Result<i64, String> {
    let section_base = section_addr.map(|a| a as i64).unwrap_or(0);
    if paired {
        // A − B: the stored value was taken by the SUBTRACTOR; a section-relative A is the
        // section's new address minus its old one.
        return Ok(-section_base);
    }
    if subtractor {
        // B section-relative: subtracting the section's new address must undo its old one.
        return Ok(stored.wrapping_add(section_base));
    }
    if !A::addend_in_place(r_type, pcrel) {
        return Ok(explicit.unwrap_or(0));
    }
    if explicit.is_some() {
        return Err("an addend prefix before a relocation that stores its own".into());
    }
    if !pcrel {
        return Ok(stored.wrapping_sub(section_base));
    }
    let end = A::pcrel_end(r_type);
    let embedded = stored.wrapping_add(A::stored_bias(r_type));
    match section_addr {
        // The target's address in the object: the end of the field plus what is stored.
        Some(base) => {
            let target = (place_addr as i64).wrapping_add(end).wrapping_add(stored);
            Ok(target.wrapping_sub(base as i64).wrapping_sub(end))
        }
        None => Ok(embedded.wrapping_sub(end)),
    }
}

#[cfg(test)]
mod tests {
    use super::is_rust_mangled;

    #[test]
    fn rust_names_are_told_from_c_and_cxx_ones() {
        assert!(is_rust_mangled(
            b"__RNvCsfgHYwM92fyn_7___rustc12___rust_alloc"
        ));
        assert!(is_rust_mangled(
            b"__ZN3std2rt10lang_start17h0123456789abcdefE"
        ));
        assert!(!is_rust_mangled(b"__ZN3foo3barEv"));
        assert!(!is_rust_mangled(b"_main"));
        assert!(!is_rust_mangled(b"__Rx"));
    }
}
