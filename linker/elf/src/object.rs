//! The ELF loader: a relocatable object (`ET_REL`, 64-bit little-endian) read in place into
//! the linker's own view ([`ObjectView`]). Section bytes, names and RELA relocations are
//! borrowed from the mapped file; symbols are decoded once. ELF's rules that the pipeline
//! needs as neutral facts are applied here: which sections are garbage-collection roots,
//! which are input-only, which hold mergeable strings.

use object::elf::{self, FileHeader64, SectionHeader64};
use object::read::elf::{FileHeader as _, SectionHeader as _, Sym as _};
use object::read::SymbolIndex;
use object::LittleEndian as LE;
use rlink_linker::object::{
    Binding, ComdatSelection, Group, ObjectView, RawRela64, Relocs, Section, SectionFlags,
    SymPlace, Symbol, SymbolKind, Visibility,
};
use rlink_linker::target::Cpu;
use rlink_linker::{bail, Error, Result};

/// Sections that only mean something to the linker reading the object (groups, relocations,
/// symbol tables, address-significance tables, rlink's directives, the stack note): no output
/// keeps them as they are.
pub fn is_input_only(name: &[u8], sh_type: elf::SectionType) -> bool {
    matches!(
        sh_type,
        elf::SHT_NULL
            | elf::SHT_GROUP
            | elf::SHT_RELA
            | elf::SHT_REL
            | elf::SHT_SYMTAB
            | elf::SHT_STRTAB
            | elf::SHT_SYMTAB_SHNDX
    ) || name == rlink_directives::ELF_SECTION.as_bytes()
        || name.starts_with(b".llvm_addrsig")
        || name == b".note.GNU-stack"
        || name == b".comment"
}

/// Larger alignments are refused, as lld refuses them: they would only make an output of
/// gigabytes of padding.
pub const MAX_ALIGNMENT: u64 = 1 << 32;

fn is_c_identifier(name: &[u8]) -> bool {
    !name.is_empty()
        && !name[0].is_ascii_digit()
        && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// ELF's garbage-collection roots: sections marked `SHF_GNU_RETAIN`, init/fini arrays and
/// notes (by type or by name), `.init`/`.fini`, and sections whose names are C identifiers,
/// which code reaches through the linker's `__start_NAME`/`__stop_NAME`.
fn is_gc_root(name: &[u8], sh_type: elf::SectionType, flags: u64) -> bool {
    flags & elf::SHF_GNU_RETAIN.0 != 0
        || matches!(
            sh_type,
            elf::SHT_INIT_ARRAY | elf::SHT_FINI_ARRAY | elf::SHT_PREINIT_ARRAY | elf::SHT_NOTE
        )
        || [
            &b".init_array"[..],
            b".fini_array",
            b".preinit_array",
            b".ctors",
            b".dtors",
            b".init",
            b".fini",
        ]
        .iter()
        .any(|p| name == *p || (name.starts_with(p) && name.get(p.len()) == Some(&b'.')))
        || is_c_identifier(name)
}

/// A section's own header is sane: its bytes lie inside the file and its alignment is a
/// power of two that a loader can honour.
fn check_section(
    place: &str,
    index: usize,
    name: &[u8],
    s: &SectionHeader64<LE>,
    file_len: usize,
) -> Result<()> {
    // The name is decoded for messages only: most objects' thousands of sections pass.
    let raw_name = name;
    let name = || String::from_utf8_lossy(raw_name);
    let align = s.sh_addralign(LE);
    if align > 1 && !align.is_power_of_two() {
        bail!(
            "{place}: section {index} ({}) has alignment {align}, not a power of two",
            name()
        );
    }
    if align > MAX_ALIGNMENT {
        bail!(
            "{place}: section {index} ({}) has alignment {align:#x}, more than the \
             {MAX_ALIGNMENT:#x} rlink accepts",
            name()
        );
    }
    let flags = s.sh_flags(LE).0;
    if flags & elf::SHF_TLS.0 != 0 && flags & elf::SHF_ALLOC.0 == 0 {
        bail!(
            "{place}: section {index} ({}) is thread-local (SHF_TLS) but not allocated (no \
             SHF_ALLOC)",
            name()
        );
    }
    // Unwind tables are loaded data: the output's `.eh_frame_hdr` indexes them, and the
    // unwinder finds them through it.
    if raw_name == b".eh_frame" && flags & elf::SHF_ALLOC.0 == 0 {
        bail!("{place}: section {index} (.eh_frame) is not allocated (no SHF_ALLOC)");
    }
    let sh_type = s.sh_type(LE);
    if sh_type != elf::SHT_NOBITS && sh_type != elf::SHT_NULL {
        let (offset, size) = (s.sh_offset(LE), s.sh_size(LE));
        if offset
            .checked_add(size)
            .is_none_or(|end| end > file_len as u64)
        {
            bail!(
                "{place}: section {index} ({}) runs past the end of the file (offset \
                 {offset:#x}, size {size:#x}, file {file_len:#x} bytes)",
                name()
            );
        }
    }
    Ok(())
}

fn malformed(place: &str, e: impl std::fmt::Display) -> Error {
    Error::new(format!("{place}: truncated or malformed ELF object: {e}"))
}

/// The CPU of an `e_machine`.
pub fn cpu_of(machine: elf::Machine) -> Option<Cpu> {
    match machine {
        elf::EM_X86_64 => Some(Cpu::X86_64),
        elf::EM_AARCH64 => Some(Cpu::Aarch64),
        _ => None,
    }
}

fn binding(b: elf::SymbolBind) -> Binding {
    match b {
        elf::STB_LOCAL => Binding::Local,
        elf::STB_WEAK => Binding::Weak,
        elf::STB_GNU_UNIQUE => Binding::Unique,
        _ => Binding::Global,
    }
}

fn symbol_kind(t: elf::SymbolType) -> SymbolKind {
    match t {
        elf::STT_NOTYPE => SymbolKind::NoType,
        elf::STT_OBJECT => SymbolKind::Data,
        elf::STT_FUNC => SymbolKind::Func,
        elf::STT_SECTION => SymbolKind::Section,
        elf::STT_FILE => SymbolKind::File,
        elf::STT_COMMON => SymbolKind::Common,
        elf::STT_TLS => SymbolKind::Tls,
        elf::STT_GNU_IFUNC => SymbolKind::IFunc,
        other => SymbolKind::Other(other.0),
    }
}

/// The ELF numbers of the neutral kinds, for the symbol tables rlink writes.
pub fn elf_symbol_type(k: SymbolKind) -> u8 {
    match k {
        SymbolKind::NoType => elf::STT_NOTYPE.0,
        SymbolKind::Data => elf::STT_OBJECT.0,
        SymbolKind::Func => elf::STT_FUNC.0,
        SymbolKind::Section => elf::STT_SECTION.0,
        SymbolKind::File => elf::STT_FILE.0,
        SymbolKind::Common => elf::STT_COMMON.0,
        SymbolKind::Tls => elf::STT_TLS.0,
        SymbolKind::IFunc => elf::STT_GNU_IFUNC.0,
        SymbolKind::Other(t) => t,
    }
}

pub fn elf_binding(b: Binding) -> u8 {
    match b {
        Binding::Local => elf::STB_LOCAL.0,
        Binding::Global => elf::STB_GLOBAL.0,
        Binding::Weak => elf::STB_WEAK.0,
        Binding::Unique => elf::STB_GNU_UNIQUE.0,
    }
}

pub fn elf_visibility(v: Visibility) -> u8 {
    match v {
        Visibility::Default => elf::STV_DEFAULT.0,
        Visibility::Internal => elf::STV_INTERNAL.0,
        Visibility::Hidden => elf::STV_HIDDEN.0,
        Visibility::Protected => elf::STV_PROTECTED.0,
    }
}

/// How many bytes a relocation type writes, from the CPU's table; 8 (the most any writes) for
/// types the table does not know, which the link refuses later anyway.
fn relocation_width(cpu: Cpu, r_type: u32) -> u64 {
    use rlink_linker::reloc::Arch;
    let info = match cpu {
        Cpu::X86_64 => crate::x86_64::X86_64::reloc_info(r_type, false),
        Cpu::Aarch64 => None,
    };
    info.map(|i| i.field.width()).unwrap_or(8)
}

/// Reads one ELF relocatable object into the linker's view.
/// The bytes of a compressed section (`Elf64_Chdr`, then a zlib or zstd stream) and the
/// uncompressed section's alignment. The bytes live as long as the link: they are leaked, as
/// the mapped inputs themselves are kept until the process ends.
fn decompress(section: &[u8]) -> std::result::Result<(&'static [u8], u64), String> {
    let header = section
        .get(..24)
        .ok_or("compressed section shorter than its header")?;
    let word = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or_default());
    let ch_type = u32::from_le_bytes(header[..4].try_into().unwrap_or_default());
    let size = word(8);
    let align = word(16).max(1);
    if !align.is_power_of_two() || align > 1 << 32 {
        return Err(format!(
            "compressed section alignment {align:#x} is not a power of two"
        ));
    }
    // A hostile size is refused before anything is allocated for it.
    let capacity = usize::try_from(size)
        .ok()
        .filter(|&s| s <= (section.len().saturating_mul(1032)).max(1 << 20))
        .ok_or_else(|| format!("compressed section claims {size:#x} bytes uncompressed"))?;
    let stream = &section[24..];
    let mut out = Vec::with_capacity(capacity);
    use std::io::Read as _;
    let read = match ch_type {
        t if t == elf::ELFCOMPRESS_ZLIB.0 => flate2::read::ZlibDecoder::new(stream)
            .take(size)
            .read_to_end(&mut out)
            .map_err(|e| format!("zlib: {e}")),
        t if t == elf::ELFCOMPRESS_ZSTD.0 => ruzstd::decoding::StreamingDecoder::new(stream)
            .map_err(|e| format!("zstd: {e}"))?
            .take(size)
            .read_to_end(&mut out)
            .map_err(|e| format!("zstd: {e}")),
        t => return Err(format!("unknown compression type {t}")),
    };
    read?;
    if out.len() as u64 != size {
        return Err(format!(
            "compressed section holds {:#x} bytes, its header says {size:#x}",
            out.len()
        ));
    }
    Ok((Box::leak(out.into_boxed_slice()), align))
}

pub fn load(place: String, data: &[u8]) -> Result<ObjectView<'_>> {
    let header = FileHeader64::<LE>::parse(data).map_err(|e| malformed(&place, e))?;
    let endian = LE;
    if !header.is_little_endian() || !header.is_class_64() {
        bail!("{place}: not a 64-bit little-endian ELF object");
    }
    if header.e_type(endian) != elf::ET_REL {
        bail!(
            "{place}: not a relocatable object (ELF type {})",
            header.e_type(endian).0
        );
    }
    let machine = header.e_machine(endian);
    let Some(cpu) = cpu_of(machine) else {
        bail!("{place}: object is for machine {}, which rlink does not link (x86-64 and AArch64 only)", machine.0);
    };
    let table = header
        .sections(endian, data)
        .map_err(|e| malformed(&place, e))?;
    let headers = table.iter().as_slice();
    let names = headers
        .iter()
        .map(|s| table.section_name(endian, s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(&place, e))?;
    for (index, s) in headers.iter().enumerate().skip(1) {
        check_section(&place, index, names[index], s, data.len())?;
    }

    let symtab = table
        .symbols(endian, data, elf::SHT_SYMTAB)
        .map_err(|e| malformed(&place, e))?;
    let mut symbols = Vec::with_capacity(symtab.len());
    // Globals' names are hashed here, while they are in cache, for resolution.
    let mut name_hashes = Vec::with_capacity(symtab.len());
    let mut defines_versioned = false;
    for (index, sym) in symtab.symbols().iter().enumerate() {
        let name = symtab
            .symbol_name(endian, sym)
            .map_err(|e| malformed(&place, e))?;
        let shndx = sym.st_shndx(endian);
        let place_of = if shndx == elf::SHN_ABS {
            SymPlace::Absolute
        } else if shndx == elf::SHN_COMMON {
            SymPlace::Common
        } else {
            match symtab
                .symbol_section(endian, sym, SymbolIndex(index))
                .map_err(|e| malformed(&place, e))?
            {
                Some(s) => SymPlace::Section(s.0 as u32),
                None => SymPlace::Undefined,
            }
        };
        let symbol = Symbol {
            name,
            place: place_of,
            value: sym.st_value(endian),
            size: sym.st_size(endian),
            binding: binding(sym.st_bind()),
            kind: symbol_kind(sym.st_type()),
            visibility: match sym.st_visibility() {
                elf::STV_INTERNAL => Visibility::Internal,
                elf::STV_HIDDEN => Visibility::Hidden,
                elf::STV_PROTECTED => Visibility::Protected,
                _ => Visibility::Default,
            },
        };
        let (hash, versioned) = rlink_linker::object::name_hash(&symbol);
        name_hashes.push(hash);
        defines_versioned |= versioned;
        symbols.push(symbol);
    }

    let mut relocations: Vec<Relocs<'_>> = vec![Relocs::default(); headers.len()];
    let mut groups = Vec::new();
    for (index, s) in headers.iter().enumerate() {
        let sh_type = s.sh_type(endian);
        if sh_type == elf::SHT_REL {
            bail!("{place}: section {index}: SHT_REL relocations are not used by rlink's targets; rlink reads SHT_RELA");
        }
        if sh_type == elf::SHT_RELA {
            let bytes = s
                .data(endian, data)
                .map_err(|_| malformed(&place, "relocation section out of bounds"))?;
            let relas = object::pod::slice_from_all_bytes::<RawRela64>(bytes).map_err(|_| {
                malformed(
                    &place,
                    format!("relocation section {index} is not a whole number of entries"),
                )
            })?;
            let target = s.sh_info(endian) as usize;
            match relocations.get_mut(target) {
                Some(slot) => *slot = Relocs(relas),
                None => {
                    bail!("{place}: relocation section {index} targets missing section {target}")
                }
            }
        }
        if sh_type == elf::SHT_GROUP {
            let words: &[object::U32<LE>] = s
                .data_as_array(endian, data)
                .map_err(|_| malformed(&place, "group section out of bounds"))?;
            let Some((flag, members)) = words.split_first() else {
                continue;
            };
            if flag.get(endian) & elf::GRP_COMDAT.0 != 0 {
                let sig = s.sh_info(endian) as usize;
                let Some(sig_sym) = symbols.get(sig) else {
                    bail!("{place}: COMDAT group {index} names missing symbol {sig}");
                };
                // The signature is the symbol's name, or for a section symbol the section's.
                let signature = match (sig_sym.kind, sig_sym.place) {
                    (SymbolKind::Section, SymPlace::Section(s)) => {
                        names.get(s as usize).copied().unwrap_or(sig_sym.name)
                    }
                    _ => sig_sym.name,
                };
                groups.push(Group {
                    signature,
                    members: members.iter().map(|m| m.get(endian)).collect(),
                    selection: ComdatSelection::Any,
                });
            }
        }
    }

    // Before COMDAT groups, GNU toolchains named discardable copies `.gnu.linkonce.*`: the
    // first section of each name is kept, as a one-member group with the name as signature.
    for (index, &name) in names.iter().enumerate().skip(1) {
        if name.starts_with(b".gnu.linkonce.") {
            groups.push(Group {
                signature: name,
                members: vec![index as u32],
                selection: ComdatSelection::Any,
            });
        }
    }

    let mut rustc_comment = false;
    let mut sections = Vec::with_capacity(headers.len());
    for (index, s) in headers.iter().enumerate() {
        let name = names[index];
        let sh_type = s.sh_type(endian);
        let mut raw_flags = s.sh_flags(endian).0;
        let nobits = sh_type == elf::SHT_NOBITS;
        let mut bytes = if nobits || sh_type == elf::SHT_NULL {
            &[][..]
        } else {
            // In range: checked above.
            s.data(endian, data)
                .map_err(|_| malformed(&place, format!("section {index} out of bounds")))?
        };
        let mut size = s.sh_size(endian);
        let mut align = s.sh_addralign(endian).max(1);
        // A compressed section (`gcc -gz`) is read as its uncompressed bytes.
        if raw_flags & elf::SHF_COMPRESSED.0 != 0 && !nobits {
            let what = |w: String| {
                malformed(
                    &place,
                    format!("section {index} ({}): {w}", String::from_utf8_lossy(name)),
                )
            };
            let (plain, plain_align) = decompress(bytes).map_err(what)?;
            bytes = plain;
            size = plain.len() as u64;
            align = plain_align;
            raw_flags &= !elf::SHF_COMPRESSED.0;
        }
        if name == b".comment" && bytes.windows(6).any(|w| w == b"rustc ") {
            rustc_comment = true;
        }
        let mut flags = SectionFlags::default();
        for (bit, flag) in [
            (elf::SHF_ALLOC, SectionFlags::ALLOC),
            (elf::SHF_WRITE, SectionFlags::WRITE),
            (elf::SHF_EXECINSTR, SectionFlags::EXEC),
            (elf::SHF_TLS, SectionFlags::TLS),
            (elf::SHF_EXCLUDE, SectionFlags::EXCLUDE),
        ] {
            if raw_flags & bit.0 != 0 {
                flags |= flag;
            }
        }
        if nobits {
            flags |= SectionFlags::ZERO_FILL;
        }
        let entsize = s.sh_entsize(endian);
        let strings = elf::SHF_MERGE.0 | elf::SHF_STRINGS.0;
        // Sections with relocations of their own are left whole.
        let merge_entsize = if raw_flags & strings == strings
            && matches!(entsize, 1 | 2 | 4)
            && relocations[index].is_empty()
        {
            flags |= SectionFlags::MERGE_STRINGS;
            entsize as u8
        } else {
            0
        };
        if name == b".eh_frame" {
            flags |= SectionFlags::EH_FRAME;
        }
        if is_input_only(name, sh_type) {
            flags |= SectionFlags::INPUT_ONLY;
        }
        if is_gc_root(name, sh_type, raw_flags) {
            flags |= SectionFlags::GC_ROOT;
        }
        sections.push(Section {
            name,
            data: bytes,
            size,
            // A power of two up to 2^32 (checked above; a compressed one's, in decompress).
            align_log2: align.trailing_zeros() as u8,
            flags,
            merge_entsize,
            raw_type: sh_type.0,
            // ELF's section flags all lie in the low 32 bits (SHF_MASKPROC is 0xf0000000).
            raw_flags: raw_flags as u32,
            raw_entsize: u32::try_from(entsize).unwrap_or(u32::MAX),
        });
    }
    let mut object = ObjectView {
        place,
        cpu,
        data,
        sections,
        symbols,
        relocations,
        groups,
        associated: Vec::new(),
        rustc_comment,
        linker_options: Vec::new(),
        name_hashes,
        defines_versioned,
    };
    object.check(&|r_type| relocation_width(cpu, r_type))?;
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object, Relocation, Symbol, SymbolSection};
    use object::{RelocationEncoding, RelocationFlags, RelocationKind, SectionKind};
    use rlink_linker::object::SectionFlags;

    /// An object with two debug sections of 64 bytes, each with two 32-bit relocations at
    /// these offsets, in this order.
    fn two_sections(in_order: [u64; 2], out_of_order: [u64; 2]) -> Vec<u8> {
        let mut obj = Object::new(
            object::BinaryFormat::Elf,
            object::Architecture::X86_64,
            object::Endianness::Little,
        );
        let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        obj.append_section_data(text, &[0xc3], 1);
        let sym = obj.add_symbol(Symbol {
            name: b"f".to_vec(),
            value: 0,
            size: 1,
            kind: object::SymbolKind::Text,
            scope: object::SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: object::SymbolFlags::None,
        });
        for (name, offsets) in [(".debug_a", in_order), (".debug_b", out_of_order)] {
            let s = obj.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::Debug);
            obj.append_section_data(s, &[0; 64], 1);
            for offset in offsets {
                obj.add_relocation(
                    s,
                    Relocation {
                        offset,
                        symbol: sym,
                        addend: 0,
                        flags: RelocationFlags::Generic {
                            kind: RelocationKind::Absolute,
                            encoding: RelocationEncoding::Generic,
                            size: 32,
                        },
                    },
                )
                .unwrap();
            }
        }
        obj.write().unwrap()
    }

    #[test]
    fn loading_marks_sections_whose_relocations_are_in_offset_order() {
        let data = two_sections([8, 16], [16, 8]);
        let view = load("t.o".to_string(), &data).unwrap();
        let sorted = |name: &[u8]| {
            let s = view.sections.iter().find(|s| s.name == name).unwrap();
            s.has(SectionFlags::RELOCS_SORTED)
        };
        assert!(sorted(b".debug_a"));
        assert!(!sorted(b".debug_b"));
    }
}
