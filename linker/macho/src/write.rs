//! Writing a Mach-O executable: the shared relocation pass copies and relocates every input
//! section, the stubs and GOT are filled, every pointer dyld must slide or bind becomes a link
//! of a fixup chain in place, then the header, load commands and `__LINKEDIT` are written,
//! the UUID is taken from the contents, and the code signature hashes everything before it.

use std::path::Path;

use rlink_linker::output::OutBuf;
use rlink_linker::reloc::DynKind;
use rlink_linker::relocate::relocate_sections;
use rlink_linker::resolve::Def;
use rlink_linker::scan::{GotEntry, SymbolRef};
use rlink_linker::{bail, Error, Result};

use crate::layout::{Layout, Seg, SegExtent, Synth};
use crate::linkedit::{
    DYLD_CHAINED_IMPORT, DYLD_CHAINED_PTR_64_OFFSET, DYLD_CHAINED_PTR_START_NONE,
};
use crate::{signature, MachArch};

const MH_MAGIC_64: u32 = 0xfeed_facf;
const MH_EXECUTE: u32 = 2;
const MH_DYLIB: u32 = 6;
const MH_NO_REEXPORTED_DYLIBS: u32 = 0x10_0000;
const LC_ID_DYLIB: u32 = 0xd;
const MH_NOUNDEFS: u32 = 0x1;
const MH_DYLDLINK: u32 = 0x4;
const MH_TWOLEVEL: u32 = 0x80;
const MH_PIE: u32 = 0x20_0000;
const MH_HAS_TLV_DESCRIPTORS: u32 = 0x80_0000;

const LC_SEGMENT_64: u32 = 0x19;
const LC_SYMTAB: u32 = 0x2;
const LC_DYSYMTAB: u32 = 0xb;
const LC_LOAD_DYLIB: u32 = 0xc;
const LC_LOAD_DYLINKER: u32 = 0xe;
const LC_UUID: u32 = 0x1b;
const LC_CODE_SIGNATURE: u32 = 0x1d;
const LC_FUNCTION_STARTS: u32 = 0x26;
const LC_DATA_IN_CODE: u32 = 0x29;
const LC_SOURCE_VERSION: u32 = 0x2a;
const LC_BUILD_VERSION: u32 = 0x32;
const LC_MAIN: u32 = 0x8000_0028;
const LC_RPATH: u32 = 0x8000_001c;
const LC_LOAD_WEAK_DYLIB: u32 = 0x8000_0018;
const LC_DYLD_EXPORTS_TRIE: u32 = 0x8000_0033;
const LC_DYLD_CHAINED_FIXUPS: u32 = 0x8000_0034;
const SG_READ_ONLY: u32 = 0x10;
const PLATFORM_MACOS: u32 = 1;
const TOOL_LD: u32 = 3;
const DYLD: &str = "/usr/lib/dyld";

fn padded(len: usize) -> u32 {
    len.div_ceil(8) as u32 * 8
}

fn dylib_cmd_size(name: &str) -> u32 {
    padded(24 + name.len() + 1)
}

fn rpath_cmd_size(path: &str) -> u32 {
    padded(12 + path.len() + 1)
}

fn dylinker_cmd_size() -> u32 {
    padded(12 + DYLD.len() + 1)
}

/// The mach header and every load command.
pub fn header_size(l: &Layout<'_, '_>) -> u64 {
    let nsects = l.sections.len() as u64;
    // Section segments present: __TEXT always, __DATA_CONST and __DATA when they hold
    // sections; then __LINKEDIT, and an executable's __PAGEZERO.
    let segs = 1 + [Seg::DataConst, Seg::Data]
        .iter()
        .filter(|&&s| l.sections.iter().any(|x| x.segment == s))
        .count() as u64;
    let mut size = 32 + 72 * (segs + 1 + u64::from(!l.dylib)) + 80 * nsects;
    size += 16 + 16 + 24 + 80; // chained fixups, exports trie, symtab, dysymtab
    if l.dylib {
        size += u64::from(dylib_cmd_size(&l.install_name)); // LC_ID_DYLIB
    } else {
        size += u64::from(dylinker_cmd_size()) + 24; // dylinker, main
    }
    size += 24 + 32 + 16; // uuid, build version (one tool), source version
    size += l
        .dylibs
        .iter()
        .map(|d| u64::from(dylib_cmd_size(d)))
        .sum::<u64>();
    size += l
        .rpaths
        .iter()
        .map(|r| u64::from(rpath_cmd_size(r)))
        .sum::<u64>();
    size += 16 + 16 + 16; // function starts, data in code, code signature
    size
}

/// One pointer dyld fixes.
#[derive(Debug, Clone, Copy)]
enum Fixup {
    /// The target's offset from the image base.
    Rebase(u64),
    /// Import-table index and addend.
    Bind(u32, i64),
}

pub fn write<A: MachArch>(l: &Layout<'_, '_>, path: &Path) -> Result<()> {
    let identifier = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "a.out".to_string());
    let code_limit = l.plan.signature_off;
    let sig_size = signature::size(code_limit, &identifier);
    let file_size = code_limit + sig_size;
    rlink_linker::output::write_mapped_atomically(path, file_size, 0o755, |buf| {
        fill::<A>(l, buf, &identifier, sig_size)
    })
}

fn fill<A: MachArch>(
    l: &Layout<'_, '_>,
    buf: &mut [u8],
    identifier: &str,
    sig_size: u64,
) -> Result<()> {
    let res = l.res;
    let out = OutBuf::new(buf);
    let per_object = relocate_sections::<A>(res, l, out)?;
    write_thunks::<A>(l, buf)?;
    let mut fixups: Vec<(u64, Fixup)> = Vec::new();
    for (relative, other) in &per_object {
        for r in relative {
            fixups.push((
                r.offset,
                Fixup::Rebase((r.addend as u64).wrapping_sub(l.base)),
            ));
        }
        for r in other {
            let Some(id) = r.symbol else {
                bail!("a bind without a symbol (linker bug)");
            };
            if r.kind != DynKind::Absolute {
                bail!("Mach-O has no dynamic relocation {:?} (linker bug)", r.kind);
            }
            let Some(index) = l.imports.get_index_of(&id) else {
                bail!(
                    "{} is bound but not imported (linker bug)",
                    String::from_utf8_lossy(res.globals[id as usize].name)
                );
            };
            fixups.push((r.offset, Fixup::Bind(index as u32, r.addend)));
        }
    }
    // Stubs and GOT slots.
    if let Some(s) = l.section_of(Synth::Stubs) {
        for (i, &id) in l.stubs.iter().enumerate() {
            let at = s.addr + i as u64 * A::STUB_SIZE;
            let slot = l
                .got_addr(&GotEntry::Address(SymbolRef::Global(id)))
                .ok_or_else(|| Error::new("stub without a GOT slot (linker bug)"))?;
            let off = (s.offset + i as u64 * A::STUB_SIZE) as usize;
            A::write_stub(&mut buf[off..off + A::STUB_SIZE as usize], at, slot)
                .map_err(Error::new)?;
        }
    }
    if let Some(s) = l.section_of(Synth::Got) {
        for (i, e) in l.got.iter().enumerate() {
            let at = s.addr + 8 * i as u64;
            let GotEntry::Address(t) = *e else {
                bail!("Mach-O GOT entry {e:?} (linker bug)");
            };
            let bound = matches!(t, SymbolRef::Global(id) if matches!(res.globals[id as usize].def, Def::Dynamic { .. }));
            if bound {
                let SymbolRef::Global(id) = t else {
                    unreachable!()
                };
                let index = l
                    .imports
                    .get_index_of(&id)
                    .ok_or_else(|| Error::new("GOT import missing (linker bug)"))?;
                fixups.push((at, Fixup::Bind(index as u32, 0)));
            } else {
                let v = l.value(t).addr;
                if v == 0 {
                    // An undefined weak symbol: the slot stays null.
                    continue;
                }
                fixups.push((at, Fixup::Rebase(v - l.base)));
            }
        }
    }
    // Unwind tables.
    if let Some(s) = l.section_of(Synth::EhFrame) {
        let (off, size, addr) = (s.offset as usize, s.size as usize, s.addr);
        crate::unwind::write_eh_frame::<A>(l, &mut buf[off..off + size], addr)?;
    }
    if let Some(s) = l.section_of(Synth::UnwindInfo) {
        let (off, size) = (s.offset as usize, s.size as usize);
        crate::unwind::write_unwind_info::<A>(l, &mut buf[off..off + size])?;
    }
    fixups.sort_by_key(|f| f.0);
    let page_starts = encode_chains(l, buf, &fixups)?;
    write_fixups_blob(l, buf, &page_starts)?;
    let uuid_at = write_header(l, buf, sig_size)?;
    let p = &l.plan;
    let put = |buf: &mut [u8], off: u64, bytes: &[u8]| {
        buf[off as usize..off as usize + bytes.len()].copy_from_slice(bytes);
    };
    put(buf, p.exports_off, &p.exports);
    put(buf, p.function_starts_off, &p.function_starts);
    let mut syms = Vec::with_capacity(16 * p.symbols.len());
    for s in &p.symbols {
        syms.extend_from_slice(&s.strx.to_le_bytes());
        syms.push(s.n_type);
        syms.push(s.n_sect);
        syms.extend_from_slice(&s.n_desc.to_le_bytes());
        syms.extend_from_slice(&s.value.to_le_bytes());
    }
    put(buf, p.symtab_off, &syms);
    let indirect: Vec<u8> = p.indirect.iter().flat_map(|i| i.to_le_bytes()).collect();
    put(buf, p.indirect_off, &indirect);
    put(buf, p.strtab_off, &p.strtab);

    // The UUID: a hash of everything before the signature, with the UUID itself still zero.
    let code_limit = p.signature_off;
    let uuid = signature::uuid(&buf[..code_limit as usize]);
    buf[uuid_at..uuid_at + 16].copy_from_slice(&uuid);
    let text = l.segments[0].1;
    let (head, tail) = buf.split_at_mut(code_limit as usize);
    signature::write(
        head,
        code_limit,
        identifier,
        (text.fileoff, text.filesize),
        !l.dylib,
        &mut tail[..sig_size as usize],
    );
    Ok(())
}

/// The branch islands' thunks, in the gaps layout left for them after their atoms.
fn write_thunks<A: MachArch>(l: &Layout<'_, '_>, buf: &mut [u8]) -> Result<()> {
    let size = A::THUNK_SIZE;
    for island in &l.islands {
        let Some((s, addr)) = l.island_place(island) else {
            bail!("a branch island after an atom not in the output (linker bug)");
        };
        for (k, &(t, addend)) in island.targets.iter().enumerate() {
            let at = addr + size * k as u64;
            let off = s.offset + island.offset + size * k as u64;
            let Some(dst) = usize::try_from(off)
                .ok()
                .and_then(|o| buf.get_mut(o..o.checked_add(size as usize)?))
            else {
                bail!("a branch island outside the file (linker bug)");
            };
            let target = l.value(t).addr.wrapping_add(addend as u64);
            A::write_thunk(dst, at, target).map_err(|why| {
                Error::new(format!(
                    "branch island for {}: {why}",
                    rlink_linker::scan::symbol_display(l.res, t)
                ))
            })?;
        }
    }
    Ok(())
}

/// Writes each pointer of `fixups` as a link of its page's chain; returns, per data segment,
/// the offset of the first fixup in each page.
fn encode_chains(
    l: &Layout<'_, '_>,
    buf: &mut [u8],
    fixups: &[(u64, Fixup)],
) -> Result<Vec<Vec<u16>>> {
    let p = &l.plan;
    let mut starts: Vec<Vec<u16>> = p
        .starts
        .iter()
        .map(|s| vec![DYLD_CHAINED_PTR_START_NONE; s.page_count as usize])
        .collect();
    for (k, &(addr, fixup)) in fixups.iter().enumerate() {
        let off = addr - l.base;
        if !off.is_multiple_of(4) {
            bail!("a pointer at {addr:#x} dyld must fix is not 4-byte aligned");
        }
        let Some(seg) = p.starts.iter().position(|s| {
            off >= s.vm_offset && off < s.vm_offset + u64::from(s.page_count) * l.page
        }) else {
            bail!("a pointer at {addr:#x} dyld must fix lies outside the data segments");
        };
        let in_seg = off - p.starts[seg].vm_offset;
        let page = (in_seg / l.page) as usize;
        let in_page = in_seg % l.page;
        if starts[seg][page] == DYLD_CHAINED_PTR_START_NONE {
            starts[seg][page] = in_page as u16;
        }
        // The next fixup in the same page (segments start on pages), in 4-byte strides.
        let next = match fixups.get(k + 1) {
            Some(&(n, _)) if (n - l.base) / l.page == off / l.page => (n - addr) / 4,
            _ => 0,
        };
        if next >= 1 << 12 {
            bail!("fixups at {addr:#x} too far apart for a chain (linker bug)");
        }
        let word: u64 = match fixup {
            Fixup::Rebase(target) => {
                if target >= 1 << 36 {
                    bail!("rebase target {target:#x} does not fit a chained pointer");
                }
                target | (next << 51)
            }
            Fixup::Bind(ordinal, addend) => {
                if !(0..256).contains(&addend) {
                    bail!("a bind at {addr:#x} has addend {addend}, which a 64-bit chained bind cannot hold");
                }
                u64::from(ordinal) | ((addend as u64) << 24) | (next << 51) | (1 << 63)
            }
        };
        let at = off as usize;
        buf[at..at + 8].copy_from_slice(&word.to_le_bytes());
    }
    Ok(starts)
}

fn write_fixups_blob(l: &Layout<'_, '_>, buf: &mut [u8], page_starts: &[Vec<u16>]) -> Result<()> {
    let p = &l.plan;
    let mut b = vec![0u8; p.fixups_size as usize];
    let w32 = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let w16 = |b: &mut [u8], at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    // dyld_chained_fixups_header
    w32(&mut b, 0, 0); // fixups_version
    w32(&mut b, 4, 32); // starts_offset
    w32(&mut b, 8, p.imports_offset);
    w32(&mut b, 12, p.symbols_offset);
    w32(&mut b, 16, p.import_entries.len() as u32);
    w32(&mut b, 20, DYLD_CHAINED_IMPORT);
    w32(&mut b, 24, 0); // symbols_format: uncompressed
                        // dyld_chained_starts_in_image
    w32(&mut b, 32, p.segment_count);
    for (s, starts) in p.starts.iter().zip(page_starts) {
        w32(
            &mut b,
            36 + 4 * s.segment_index as usize,
            s.starts_offset - 32,
        );
        let at = s.starts_offset as usize;
        w32(&mut b, at, 22 + 2 * u32::from(s.page_count));
        w16(&mut b, at + 4, l.page as u16);
        w16(&mut b, at + 6, DYLD_CHAINED_PTR_64_OFFSET);
        b[at + 8..at + 16].copy_from_slice(&s.vm_offset.to_le_bytes());
        w32(&mut b, at + 16, 0); // max_valid_pointer
        w16(&mut b, at + 20, s.page_count);
        for (i, &st) in starts.iter().enumerate() {
            w16(&mut b, at + 22 + 2 * i, st);
        }
    }
    for (i, &e) in p.import_entries.iter().enumerate() {
        w32(&mut b, p.imports_offset as usize + 4 * i, e);
    }
    let at = p.symbols_offset as usize;
    b[at..at + p.import_names.len()].copy_from_slice(&p.import_names);
    let off = p.fixups_off as usize;
    buf[off..off + b.len()].copy_from_slice(&b);
    Ok(())
}

/// Builds the load commands into a byte vector.
struct Commands {
    bytes: Vec<u8>,
    count: u32,
}

impl Commands {
    fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn name16(&mut self, s: &str) {
        let mut n = [0u8; 16];
        n[..s.len().min(16)].copy_from_slice(&s.as_bytes()[..s.len().min(16)]);
        self.bytes.extend_from_slice(&n);
    }
    /// A command's trailing string, NUL-terminated and padded so the command (which began at
    /// `cmd_start`) is a multiple of 8 bytes.
    fn string_padded(&mut self, cmd_start: usize, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        let len = padded(self.bytes.len() - cmd_start) as usize;
        self.bytes.resize(cmd_start + len, 0);
    }
    fn linkedit_data(&mut self, cmd: u32, off: u64, size: u64) {
        self.count += 1;
        self.u32(cmd);
        self.u32(16);
        self.u32(off as u32);
        self.u32(size as u32);
    }
}

/// `X.Y.Z` as Mach-O packs versions: X in the high 16 bits, then Y and Z a byte each.
fn packed_version(v: (u32, u32, u32)) -> u32 {
    (v.0 << 16) | ((v.1 & 0xff) << 8) | (v.2 & 0xff)
}

/// Writes the header and load commands; returns the file offset of the UUID.
fn write_header(l: &Layout<'_, '_>, buf: &mut [u8], sig_size: u64) -> Result<usize> {
    let p = &l.plan;
    let mut c = Commands {
        bytes: Vec::with_capacity(l.header_size as usize),
        count: 0,
    };
    let linkedit_filesize = p.signature_off + sig_size - l.linkedit.fileoff;
    let linkedit = SegExtent {
        filesize: linkedit_filesize,
        vmsize: crate::layout::align_to(linkedit_filesize, l.page),
        ..l.linkedit
    };
    let segment =
        |c: &mut Commands, name: &str, e: SegExtent, prot: u32, flags: u32, seg: Option<Seg>| {
            let sections: Vec<&crate::layout::OutSection> = match seg {
                Some(s) => l.sections.iter().filter(|x| x.segment == s).collect(),
                None => Vec::new(),
            };
            c.count += 1;
            c.u32(LC_SEGMENT_64);
            c.u32(72 + 80 * sections.len() as u32);
            c.name16(name);
            c.u64(e.addr);
            c.u64(e.vmsize);
            c.u64(e.fileoff);
            c.u64(e.filesize);
            c.u32(prot);
            c.u32(prot);
            c.u32(sections.len() as u32);
            c.u32(flags);
            for s in sections {
                c.name16(&s.name);
                c.name16(name);
                c.u64(s.addr);
                c.u64(s.size);
                c.u32(s.offset as u32);
                c.u32(u32::from(s.align_log2));
                c.u32(0);
                c.u32(0);
                c.u32(s.flags);
                c.u32(s.reserved1);
                c.u32(s.reserved2);
                c.u32(0);
            }
        };
    if !l.dylib {
        segment(
            &mut c,
            "__PAGEZERO",
            SegExtent {
                addr: 0,
                vmsize: l.base,
                fileoff: 0,
                filesize: 0,
            },
            0,
            0,
            None,
        );
    }
    for &(seg, e) in &l.segments {
        let (prot, flags) = match seg {
            Seg::Text => (5, 0),
            Seg::DataConst => (3, SG_READ_ONLY),
            Seg::Data => (3, 0),
        };
        segment(&mut c, seg.name(), e, prot, flags, Some(seg));
    }
    segment(&mut c, "__LINKEDIT", linkedit, 1, 0, None);
    c.linkedit_data(LC_DYLD_CHAINED_FIXUPS, p.fixups_off, p.fixups_size);
    c.linkedit_data(LC_DYLD_EXPORTS_TRIE, p.exports_off, p.exports.len() as u64);
    c.count += 1;
    c.u32(LC_SYMTAB);
    c.u32(24);
    c.u32(p.symtab_off as u32);
    c.u32(p.symbols.len() as u32);
    c.u32(p.strtab_off as u32);
    c.u32(p.strtab.len() as u32);
    c.count += 1;
    c.u32(LC_DYSYMTAB);
    c.u32(80);
    c.u32(0);
    c.u32(p.nlocal);
    c.u32(p.nlocal);
    c.u32(p.nextdef);
    c.u32(p.nlocal + p.nextdef);
    c.u32(p.nundef);
    for _ in 0..6 {
        c.u32(0); // tocoff, ntoc, modtaboff, nmodtab, extrefsymoff, nextrefsyms
    }
    c.u32(p.indirect_off as u32);
    c.u32(p.indirect.len() as u32);
    for _ in 0..4 {
        c.u32(0); // extreloff, nextrel, locreloff, nlocrel
    }
    c.count += 1;
    let start = c.bytes.len();
    if l.dylib {
        c.u32(LC_ID_DYLIB);
        c.u32(dylib_cmd_size(&l.install_name));
        c.u32(24);
        c.u32(2); // timestamp
        c.u32(packed_version((1, 0, 0)));
        c.u32(packed_version((1, 0, 0)));
        c.string_padded(start, &l.install_name);
    } else {
        c.u32(LC_LOAD_DYLINKER);
        c.u32(dylinker_cmd_size());
        c.u32(12);
        c.string_padded(start, DYLD);
    }
    c.count += 1;
    c.u32(LC_UUID);
    c.u32(24);
    let uuid_at = 32 + c.bytes.len();
    c.bytes.extend_from_slice(&[0u8; 16]);
    let (minos, sdk) = l.min_os;
    c.count += 1;
    c.u32(LC_BUILD_VERSION);
    c.u32(32);
    c.u32(PLATFORM_MACOS);
    c.u32(packed_version(minos));
    c.u32(packed_version(sdk));
    c.u32(1);
    c.u32(TOOL_LD);
    c.u32(packed_version((1, 0, 0)));
    c.count += 1;
    c.u32(LC_SOURCE_VERSION);
    c.u32(16);
    c.u64(0);
    if !l.dylib {
        c.count += 1;
        c.u32(LC_MAIN);
        c.u32(24);
        c.u64(l.entry - l.base);
        c.u64(0);
    }
    for (d, &weak) in l.dylibs.iter().zip(&l.dylib_weak) {
        c.count += 1;
        let start = c.bytes.len();
        c.u32(if weak {
            LC_LOAD_WEAK_DYLIB
        } else {
            LC_LOAD_DYLIB
        });
        c.u32(dylib_cmd_size(d));
        c.u32(24);
        c.u32(2); // timestamp
        c.u32(packed_version((1, 0, 0))); // current version
        c.u32(packed_version((1, 0, 0))); // compatibility version
        c.string_padded(start, d);
    }
    for r in &l.rpaths {
        c.count += 1;
        let start = c.bytes.len();
        c.u32(LC_RPATH);
        c.u32(rpath_cmd_size(r));
        c.u32(12);
        c.string_padded(start, r);
    }
    c.linkedit_data(
        LC_FUNCTION_STARTS,
        p.function_starts_off,
        p.function_starts.len() as u64,
    );
    c.linkedit_data(LC_DATA_IN_CODE, p.data_in_code_off, 0);
    c.linkedit_data(LC_CODE_SIGNATURE, p.signature_off, sig_size);
    if c.bytes.len() as u64 + 32 != l.header_size {
        bail!(
            "load commands take {} bytes, {} were planned (linker bug)",
            c.bytes.len() + 32,
            l.header_size
        );
    }
    let (filetype, mut flags) = if l.dylib {
        (
            MH_DYLIB,
            MH_NOUNDEFS | MH_DYLDLINK | MH_TWOLEVEL | MH_NO_REEXPORTED_DYLIBS,
        )
    } else {
        (MH_EXECUTE, MH_NOUNDEFS | MH_DYLDLINK | MH_TWOLEVEL | MH_PIE)
    };
    if l.has_tlv {
        flags |= MH_HAS_TLV_DESCRIPTORS;
    }
    // Names left to -undefined dynamic_lookup are undefined until dyld finds them.
    if l.has_flat_lookups() {
        flags &= !MH_NOUNDEFS;
    }
    let mut h = Vec::with_capacity(32);
    for v in [
        MH_MAGIC_64,
        l.cputype,
        l.cpusubtype,
        filetype,
        c.count,
        c.bytes.len() as u32,
        flags,
        0,
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    buf[..32].copy_from_slice(&h);
    buf[32..32 + c.bytes.len()].copy_from_slice(&c.bytes);
    Ok(uuid_at)
}
