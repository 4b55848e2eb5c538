//! Writes a laid-out PE32+ image: the relocated sections, the import thunks and tables,
//! `.pdata` sorted by function address, the base relocations, and the headers. The timestamp
//! is 0 and nothing else varies, so the same inputs give the same bytes.

use std::path::Path;

use rlink_linker::output::OutBuf;
use rlink_linker::relocate::relocate_sections;
use rlink_linker::{bail, Result};

use crate::layout::{
    import_name, ExportTarget, Kind, Layout, FILE_ALIGNMENT, SECTION_ALIGNMENT, THUNK_SIZE,
};
use crate::x86_64::X86_64;

const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_FILE_EXECUTABLE_IMAGE: u16 = 0x2;
const IMAGE_FILE_LARGE_ADDRESS_AWARE: u16 = 0x20;
const IMAGE_FILE_DLL: u16 = 0x2000;
const IMAGE_FILE_RELOCS_STRIPPED: u16 = 0x1;
const IMAGE_SUBSYSTEM_WINDOWS_GUI: u16 = 2;
const IMAGE_SUBSYSTEM_WINDOWS_CUI: u16 = 3;
const DLLCHARACTERISTICS_HIGH_ENTROPY_VA: u16 = 0x20;
const DLLCHARACTERISTICS_DYNAMIC_BASE: u16 = 0x40;
const DLLCHARACTERISTICS_NX_COMPAT: u16 = 0x100;
const DLLCHARACTERISTICS_TERMINAL_SERVER_AWARE: u16 = 0x8000;
const IMAGE_REL_BASED_DIR64: u16 = 10;

const DIR_EXPORT: usize = 0;
const DIR_IMPORT: usize = 1;
const DIR_EXCEPTION: usize = 3;
const DIR_BASERELOC: usize = 5;
const DIR_TLS: usize = 9;
const DIR_IAT: usize = 12;

pub fn write(l: &Layout<'_, '_>, path: &Path) -> Result<()> {
    rlink_linker::output::write_mapped_atomically(path, l.file_size, 0o755, |buf| fill(l, buf))
}

fn put16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The file offset of an RVA inside a section with bytes.
fn file_at(l: &Layout<'_, '_>, kind: Kind, rva: u64) -> usize {
    let s = l.section(kind);
    (s.file_offset + (rva - s.rva)) as usize
}

fn fill(l: &Layout<'_, '_>, buf: &mut [u8]) -> Result<()> {
    let res = l.res;
    let per_object = relocate_sections::<X86_64>(res, l, OutBuf::new(buf))?;
    // Every place the pass found an absolute address in is one the layout listed.
    let found: usize = per_object.iter().map(|(r, o)| r.len() + o.len()).sum();
    if found > l.base_relocs.len() {
        bail!(
            "{found} absolute addresses but {} base relocations planned (linker bug)",
            l.base_relocs.len()
        );
    }

    // Thunks: jmp *[rip + slot].
    for (i, &id) in l.slots.iter().enumerate() {
        let rva = l.thunks_rva + THUNK_SIZE * i as u64;
        let Some(slot) = l.slot_rva(id) else {
            bail!("a thunk without an IAT slot (linker bug)");
        };
        let at = file_at(l, Kind::Text, rva);
        let disp = i32::try_from(slot as i64 - (rva as i64 + 6))
            .map_err(|_| rlink_linker::Error::new("an import thunk too far from its slot"))?;
        buf[at] = 0xff;
        buf[at + 1] = 0x25;
        put32(buf, at + 2, disp as u32);
    }

    // Import tables: per DLL a descriptor, a lookup table and the IAT, both listing
    // hint/name RVAs; the loader overwrites the IAT with the addresses.
    let t = &l.imports;
    let base = l.imports_rva;
    let mut slot = 0u64;
    let mut name_index = 0usize;
    for (d, (dll, ids)) in t.dlls.iter().enumerate() {
        let desc = file_at(l, Kind::Rdata, base + t.descriptors + 20 * d as u64);
        let lookup_rva = base + t.lookup + 8 * slot;
        let iat_rva = base + t.iat + 8 * slot;
        put32(buf, desc, lookup_rva as u32);
        put32(buf, desc + 12, (base + t.dll_names[d]) as u32);
        put32(buf, desc + 16, iat_rva as u32);
        let at = file_at(l, Kind::Rdata, base + t.dll_names[d]);
        buf[at..at + dll.len()].copy_from_slice(dll.as_bytes());
        for (k, &id) in ids.iter().enumerate() {
            let hint_rva = base + t.hint_names[name_index];
            name_index += 1;
            let name = import_name(res, id);
            let at = file_at(l, Kind::Rdata, hint_rva);
            buf[at + 2..at + 2 + name.len()].copy_from_slice(name);
            for table in [base + t.lookup, base + t.iat] {
                let at = file_at(l, Kind::Rdata, table + 8 * (slot + k as u64));
                put64(buf, at, hint_rva);
            }
        }
        slot += ids.len() as u64 + 1;
    }

    // The export directory: the header, the address table by ordinal, the name pointers
    // (sorted by name) with their ordinals, then the strings.
    let e = &l.exports;
    if e.size > 0 {
        let at = |off: u64| file_at(l, Kind::Rdata, e.rva + off);
        let nnames = e.list.iter().filter(|x| x.named).count() as u32;
        let d = at(0);
        put32(buf, d + 12, (e.rva + e.dll_name_at) as u32);
        put32(buf, d + 16, u32::from(e.base));
        put32(buf, d + 20, e.count);
        put32(buf, d + 24, nnames);
        put32(buf, d + 28, (e.rva + e.functions) as u32);
        put32(buf, d + 32, (e.rva + e.names) as u32);
        put32(buf, d + 36, (e.rva + e.ordinals) as u32);
        let name = at(e.dll_name_at);
        buf[name..name + e.dll_name.len()].copy_from_slice(&e.dll_name);
        let mut k = 0u64;
        for (i, x) in e.list.iter().enumerate() {
            let index = u64::from(x.ordinal - e.base);
            let rva = match &x.target {
                ExportTarget::Symbol(t) => match l.value(*t).addr {
                    0 => bail!(
                        "{}: exported, but its definition is not in the image",
                        String::from_utf8_lossy(&x.name)
                    ),
                    addr => addr - l.image_base,
                },
                ExportTarget::Forwarder(f) => {
                    let s = at(e.forwarder_at[i]);
                    buf[s..s + f.len()].copy_from_slice(f);
                    e.rva + e.forwarder_at[i]
                }
            };
            put32(buf, at(e.functions + 4 * index), rva as u32);
            if x.named {
                let s = at(e.name_at[i]);
                buf[s..s + x.name.len()].copy_from_slice(&x.name);
                put32(buf, at(e.names + 4 * k), (e.rva + e.name_at[i]) as u32);
                put16(buf, at(e.ordinals + 2 * k), index as u16);
                k += 1;
            }
        }
    }

    // Local `__imp_` slots: the address of what they name.
    for (k, &t) in l.local_slots.iter().enumerate() {
        let at = file_at(l, Kind::Rdata, l.local_slots_rva + 8 * k as u64);
        put64(buf, at, l.value(t).addr);
    }

    // `.pdata`: RUNTIME_FUNCTION entries sorted by their function's address, as the unwinder
    // searches them.
    let pdata = l.section(Kind::Pdata);
    if pdata.input_size > 0 {
        let at = pdata.file_offset as usize;
        let bytes = &mut buf[at..at + pdata.input_size as usize];
        if !bytes.len().is_multiple_of(12) {
            bail!(".pdata is not a whole number of 12-byte entries");
        }
        let mut entries: Vec<[u8; 12]> = bytes
            .chunks_exact(12)
            .map(|c| c.try_into().unwrap_or([0; 12]))
            .collect();
        entries.sort_by_key(|e| u32::from_le_bytes([e[0], e[1], e[2], e[3]]));
        for (k, e) in entries.iter().enumerate() {
            bytes[12 * k..12 * k + 12].copy_from_slice(e);
        }
    }

    // Base relocations.
    if !l.base_relocs.is_empty() {
        let s = l.section(Kind::Reloc);
        let mut at = s.file_offset as usize;
        let mut i = 0;
        let rvas = &l.base_relocs;
        while i < rvas.len() {
            let page = rvas[i] & !0xfff;
            let n = rvas[i..]
                .iter()
                .take_while(|&&r| r & !0xfff == page)
                .count();
            let block = 8 + (2 * n).next_multiple_of(4);
            put32(buf, at, page as u32);
            put32(buf, at + 4, block as u32);
            for (k, &r) in rvas[i..i + n].iter().enumerate() {
                put16(
                    buf,
                    at + 8 + 2 * k,
                    (IMAGE_REL_BASED_DIR64 << 12) | (r & 0xfff) as u16,
                );
            }
            at += block;
            i += n;
        }
    }

    write_headers(l, buf);
    Ok(())
}

fn write_headers(l: &Layout<'_, '_>, buf: &mut [u8]) {
    // DOS header: the magic and where the PE header is.
    buf[0..2].copy_from_slice(b"MZ");
    put32(buf, 0x3c, 0x40);
    let pe = 0x40;
    buf[pe..pe + 4].copy_from_slice(b"PE\0\0");
    let present: Vec<(Kind, &crate::layout::OutSection)> = l
        .sections
        .iter()
        .filter(|(k, s)| s.size > 0 || (*k == Kind::Reloc && !l.base_relocs.is_empty()))
        .map(|(k, s)| (*k, s))
        .collect();
    let coff = pe + 4;
    put16(buf, coff, IMAGE_FILE_MACHINE_AMD64);
    put16(buf, coff + 2, present.len() as u16);
    put32(buf, coff + 4, 0); // timestamp: deterministic
    put16(buf, coff + 16, 240);
    let mut characteristics = IMAGE_FILE_EXECUTABLE_IMAGE | IMAGE_FILE_LARGE_ADDRESS_AWARE;
    if l.dll {
        characteristics |= IMAGE_FILE_DLL;
    }
    if l.base_relocs.is_empty() {
        characteristics |= IMAGE_FILE_RELOCS_STRIPPED;
    }
    put16(buf, coff + 18, characteristics);

    let opt = coff + 20;
    let size_of = |kinds: &[Kind]| -> u32 {
        present
            .iter()
            .filter(|(k, _)| kinds.contains(k))
            .map(|(_, s)| s.raw_size.max(s.size.next_multiple_of(FILE_ALIGNMENT)) as u32)
            .sum()
    };
    put16(buf, opt, 0x20b);
    buf[opt + 2] = 14; // linker version, as link.exe 14
    put32(buf, opt + 4, size_of(&[Kind::Text]));
    put32(
        buf,
        opt + 8,
        size_of(&[Kind::Rdata, Kind::Data, Kind::Pdata, Kind::Tls, Kind::Reloc]),
    );
    put32(buf, opt + 12, size_of(&[Kind::Bss]));
    put32(buf, opt + 16, l.entry as u32);
    put32(buf, opt + 20, l.section(Kind::Text).rva as u32);
    put64(buf, opt + 24, l.image_base);
    put32(buf, opt + 32, SECTION_ALIGNMENT as u32);
    put32(buf, opt + 36, FILE_ALIGNMENT as u32);
    put16(buf, opt + 40, 6); // operating system version 6.0 (Vista), as lld-link writes
    put16(buf, opt + 48, 6); // subsystem version 6.0
    put32(buf, opt + 56, l.image_size as u32);
    put32(buf, opt + 60, l.headers_size as u32);
    let subsystem = if l.options.windows_gui {
        IMAGE_SUBSYSTEM_WINDOWS_GUI
    } else {
        IMAGE_SUBSYSTEM_WINDOWS_CUI
    };
    put16(buf, opt + 68, subsystem);
    let mut dll_characteristics = DLLCHARACTERISTICS_NX_COMPAT;
    if !l.base_relocs.is_empty() {
        dll_characteristics |= DLLCHARACTERISTICS_DYNAMIC_BASE | DLLCHARACTERISTICS_HIGH_ENTROPY_VA;
    }
    if !l.dll {
        dll_characteristics |= DLLCHARACTERISTICS_TERMINAL_SERVER_AWARE;
    }
    put16(buf, opt + 70, dll_characteristics);
    // The main thread's stack: 1 MiB reserved and one page committed unless told.
    let (reserve, commit) = l.options.stack.unwrap_or((0x10_0000, None));
    put64(buf, opt + 72, reserve);
    put64(buf, opt + 80, commit.unwrap_or(0x1000).min(reserve));
    put64(buf, opt + 88, 0x10_0000); // heap reserve
    put64(buf, opt + 96, 0x1000);
    put32(buf, opt + 108, 16);
    let dir = |buf: &mut [u8], index: usize, rva: u64, size: u64| {
        put32(buf, opt + 112 + 8 * index, rva as u32);
        put32(buf, opt + 116 + 8 * index, size as u32);
    };
    if l.exports.size > 0 {
        dir(buf, DIR_EXPORT, l.exports.rva, l.exports.size);
    }
    let t = &l.imports;
    if !t.dlls.is_empty() {
        dir(
            buf,
            DIR_IMPORT,
            l.imports_rva + t.descriptors,
            20 * (t.dlls.len() as u64 + 1),
        );
        dir(buf, DIR_IAT, l.imports_rva + t.iat, t.iat_size);
    }
    let pdata = l.section(Kind::Pdata);
    if pdata.size > 0 {
        dir(buf, DIR_EXCEPTION, pdata.rva, pdata.size);
    }
    if !l.base_relocs.is_empty() {
        let r = l.section(Kind::Reloc);
        dir(buf, DIR_BASERELOC, r.rva, r.size);
    }
    if l.tls_directory != 0 {
        dir(buf, DIR_TLS, l.tls_directory, 40);
    }

    let mut at = opt + 240;
    for (kind, s) in present {
        buf[at..at + 8].fill(0);
        let name = kind.name();
        buf[at..at + name.len()].copy_from_slice(name);
        put32(buf, at + 8, s.size as u32);
        put32(buf, at + 12, s.rva as u32);
        put32(buf, at + 16, s.raw_size as u32);
        put32(buf, at + 20, s.file_offset as u32);
        put32(buf, at + 36, kind.characteristics());
        at += 40;
    }
}
