//! Loading ELF relocatable objects (`ET_REL`) in place: section headers, symbols and
//! relocations are borrowed from the mapped file; only the per-symbol summary the resolver
//! needs is copied, once per object.

use object::elf::{self, FileHeader64, Rela64, SectionHeader64};
use object::read::elf::{FileHeader as _, Rela as _, SectionHeader as _, Sym as _};
use object::read::SymbolIndex;
use object::LittleEndian as LE;
use rlink_linker::{bail, Error, Result};

/// Where an input symbol lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymPlace {
    Undefined,
    Absolute,
    /// A tentative definition (`-fcommon`): size and alignment, placed in .bss by the linker.
    Common,
    Section(u32),
}

/// The facts about one input symbol the link needs, decoded once.
#[derive(Debug, Clone, Copy)]
pub struct InSym<'a> {
    pub name: &'a [u8],
    pub place: SymPlace,
    pub value: u64,
    pub size: u64,
    pub bind: elf::SymbolBind,
    pub kind: elf::SymbolType,
    pub visibility: elf::SymbolVisibility,
}

impl InSym<'_> {
    pub fn is_local(&self) -> bool {
        self.bind == elf::STB_LOCAL
    }

    pub fn is_weak(&self) -> bool {
        self.bind == elf::STB_WEAK
    }
}

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

/// One loaded relocatable object.
pub struct InputObject<'a> {
    /// `file` or `file(member)`, as diagnostics print it.
    pub place: String,
    pub data: &'a [u8],
    pub sections: &'a [SectionHeader64<LE>],
    pub section_names: Vec<&'a [u8]>,
    pub symbols: Vec<InSym<'a>>,
    /// Relocations that apply to each section, indexed by the target section.
    pub relocations: Vec<&'a [Rela64<LE>]>,
    /// COMDAT groups: signature and member sections.
    pub groups: Vec<(&'a [u8], Vec<u32>)>,
}

/// Larger alignments are refused, as lld refuses them: they would only make an output of
/// gigabytes of padding.
pub const MAX_ALIGNMENT: u64 = 1 << 32;

/// A section's own header is sane: its bytes lie inside the file and its alignment is a
/// power of two that a loader can honour.
fn check_section(
    place: &str,
    index: usize,
    name: &[u8],
    s: &SectionHeader64<LE>,
    file_len: usize,
) -> Result<()> {
    let name = String::from_utf8_lossy(name);
    let align = s.sh_addralign(LE);
    if align > 1 && !align.is_power_of_two() {
        bail!("{place}: section {index} ({name}) has alignment {align}, not a power of two");
    }
    if align > MAX_ALIGNMENT {
        bail!("{place}: section {index} ({name}) has alignment {align:#x}, more than the {MAX_ALIGNMENT:#x} rlink accepts");
    }
    let flags = s.sh_flags(LE).0;
    if flags & elf::SHF_TLS.0 != 0 && flags & elf::SHF_ALLOC.0 == 0 {
        bail!("{place}: section {index} ({name}) is thread-local (SHF_TLS) but not allocated (no SHF_ALLOC)");
    }
    let sh_type = s.sh_type(LE);
    if sh_type != elf::SHT_NOBITS && sh_type != elf::SHT_NULL {
        let (offset, size) = (s.sh_offset(LE), s.sh_size(LE));
        if offset
            .checked_add(size)
            .is_none_or(|end| end > file_len as u64)
        {
            bail!(
                "{place}: section {index} ({name}) runs past the end of the file (offset {offset:#x}, size {size:#x}, file {file_len:#x} bytes)"
            );
        }
    }
    Ok(())
}

fn malformed(place: &str, e: impl std::fmt::Display) -> Error {
    Error::new(format!("{place}: truncated or malformed ELF object: {e}"))
}

impl<'a> InputObject<'a> {
    pub fn parse(place: String, data: &'a [u8]) -> Result<InputObject<'a>> {
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
        if header.e_machine(endian) != elf::EM_X86_64 {
            bail!(
                "{place}: object is for machine {} but rlink links x86-64 ELF only",
                header.e_machine(endian).0
            );
        }
        let table = header
            .sections(endian, data)
            .map_err(|e| malformed(&place, e))?;
        let sections = table.iter().as_slice();
        let section_names = sections
            .iter()
            .map(|s| table.section_name(endian, s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| malformed(&place, e))?;
        for (index, s) in sections.iter().enumerate().skip(1) {
            check_section(&place, index, section_names[index], s, data.len())?;
        }

        let symtab = table
            .symbols(endian, data, elf::SHT_SYMTAB)
            .map_err(|e| malformed(&place, e))?;
        let mut symbols = Vec::with_capacity(symtab.len());
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
                    Some(s) if s.0 < sections.len() => SymPlace::Section(s.0 as u32),
                    Some(s) => bail!(
                        "{place}: symbol {index} refers to section {} of {}",
                        s.0,
                        sections.len()
                    ),
                    None => SymPlace::Undefined,
                }
            };
            symbols.push(InSym {
                name,
                place: place_of,
                value: sym.st_value(endian),
                size: sym.st_size(endian),
                bind: sym.st_bind(),
                kind: sym.st_type(),
                visibility: sym.st_visibility(),
            });
        }

        let mut relocations: Vec<&'a [Rela64<LE>]> = vec![&[]; sections.len()];
        let mut groups = Vec::new();
        for (index, s) in sections.iter().enumerate() {
            if s.sh_type(endian) == elf::SHT_REL {
                bail!("{place}: section {}: SHT_REL relocations are not used on x86-64; rlink reads SHT_RELA", index);
            }
            if let Some((relas, _link)) = s.rela(endian, data).map_err(|e| malformed(&place, e))? {
                let target = s.sh_info(endian) as usize;
                match relocations.get_mut(target) {
                    Some(slot) => *slot = relas,
                    None => bail!(
                        "{place}: relocation section {index} targets missing section {target}"
                    ),
                }
            }
            if s.sh_type(endian) == elf::SHT_GROUP {
                let words: &[object::U32<LE>] = s
                    .data_as_array(endian, data)
                    .map_err(|_| malformed(&place, "group section out of bounds"))?;
                let Some((flag, members)) = words.split_first() else {
                    continue;
                };
                if flag.get(endian) & elf::GRP_COMDAT.0 == 0 {
                    continue;
                }
                let sig = s.sh_info(endian) as usize;
                let Some(sig_sym) = symbols.get(sig) else {
                    bail!("{place}: COMDAT group {index} names missing symbol {sig}");
                };
                // The signature is the symbol's name, or for a section symbol the section's.
                let signature = if sig_sym.kind == elf::STT_SECTION {
                    match sig_sym.place {
                        SymPlace::Section(s) => section_names[s as usize],
                        _ => sig_sym.name,
                    }
                } else {
                    sig_sym.name
                };
                let members: Vec<u32> = members.iter().map(|m| m.get(endian)).collect();
                if members.iter().any(|&m| m as usize >= sections.len()) {
                    bail!("{place}: COMDAT group {index} lists a missing section");
                }
                groups.push((signature, members));
            }
        }
        let object = InputObject {
            place,
            data,
            sections,
            section_names,
            symbols,
            relocations,
            groups,
        };
        object.check_relocations()?;
        object.check_eh_frames()?;
        Ok(object)
    }

    /// Every relocation names a symbol of this object and a place inside its section, and
    /// applies to a section that has bytes: checked once here, so the phases after loading
    /// index without checks and never see a place outside its section.
    fn check_relocations(&self) -> Result<()> {
        let nsyms = self.symbols.len() as u64;
        for (si, relas) in self.relocations.iter().enumerate() {
            if relas.is_empty() {
                continue;
            }
            let target = &self.sections[si];
            if target.sh_type(LE) == elf::SHT_NOBITS || si == 0 {
                bail!(
                    "{}: relocations apply to section {si} ({}), which holds no bytes",
                    self.place,
                    self.section_name(si)
                );
            }
            let size = target.sh_size(LE);
            for (k, rela) in relas.iter().enumerate() {
                let sym = u64::from(rela.r_sym(LE, false));
                let offset = rela.r_offset(LE);
                if sym >= nsyms || offset >= size {
                    let what = if sym >= nsyms {
                        format!("names symbol {sym}, but the object has {nsyms}")
                    } else {
                        format!("is at offset {offset:#x}, past the section's {size:#x} bytes")
                    };
                    bail!(
                        "{}: relocation {k} of section {si} ({}) {what}",
                        self.place,
                        self.section_name(si)
                    );
                }
            }
        }
        Ok(())
    }

    /// `.eh_frame` sections are split into records and their CIEs read now, so a damaged one
    /// is reported against its object rather than found while writing the output.
    fn check_eh_frames(&self) -> Result<()> {
        for (si, name) in self.section_names.iter().enumerate() {
            if *name == b".eh_frame" {
                let data = self.section_data(si)?;
                crate::eh_frame::check_input(data).map_err(|e| e.at(&self.place))?;
            }
        }
        Ok(())
    }

    /// Whether rustc wrote this object: LLVM records the producer in `.comment`. rustc's
    /// `symbols.o` has no `.comment` but defines nothing (it only references the symbols a
    /// crate exports, to keep them), so it belongs with the Rust objects too.
    pub fn is_from_rustc(&self) -> bool {
        let from_llvm_for_rustc = self.section_names.iter().enumerate().any(|(i, name)| {
            *name == b".comment"
                && self
                    .section_data(i)
                    .is_ok_and(|d| d.windows(6).any(|w| w == b"rustc "))
        });
        let defines_nothing = self
            .symbols
            .iter()
            .skip(1)
            .all(|s| s.is_local() || s.place == SymPlace::Undefined);
        from_llvm_for_rustc || defines_nothing
    }

    /// The bytes of a section (empty for SHT_NOBITS).
    pub fn section_data(&self, index: usize) -> Result<&'a [u8]> {
        let s = &self.sections[index];
        if s.sh_type(LE) == elf::SHT_NOBITS {
            return Ok(&[]);
        }
        s.data(LE, self.data)
            .map_err(|_| malformed(&self.place, format!("section {index} out of bounds")))
    }

    pub fn section_name(&self, index: usize) -> String {
        String::from_utf8_lossy(self.section_names.get(index).copied().unwrap_or(b"?")).into_owned()
    }
}
