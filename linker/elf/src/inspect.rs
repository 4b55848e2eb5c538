//! The ELF side of `rlink inspect`: objects, executables and shared libraries, 32- and 64-bit,
//! either byte order. Reads through `object`'s low-level ELF API so nothing is lost to the
//! format-neutral abstraction (versions, dynamic tags, program headers).

use object::elf;
use object::read::elf::{
    Dyn as _, FileHeader, ProgramHeader as _, Rel as _, Rela as _, SectionHeader as _,
    SectionTable, Sym as _,
};
use object::read::SymbolIndex;
use rlink_linker::inspect::{
    constant_name, name_from_bytes, perms, Import, InspectOptions, Report, Section, Segment,
};
use rlink_linker::{bail, Error, Result};

/// Object's messages are terse ("Invalid ELF section header offset"); say which kind of file.
fn malformed(e: object::read::Error) -> Error {
    Error::new(format!("truncated or malformed ELF file: {e}"))
}

pub fn inspect(data: &[u8], _opts: &InspectOptions) -> Result<Report> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf64) => inspect_as::<elf::FileHeader64<object::Endianness>>(data),
        Ok(object::FileKind::Elf32) => inspect_as::<elf::FileHeader32<object::Endianness>>(data),
        _ => bail!("not an ELF file"),
    }
}

fn inspect_as<Elf: FileHeader<Endian = object::Endianness>>(data: &[u8]) -> Result<Report> {
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let sections = header.sections(endian, data).map_err(malformed)?;
    let segments = header.program_headers(endian, data).map_err(malformed)?;
    let machine = header.e_machine(endian);
    let names = elf::machine_names(machine);
    let mut r = Report::default();

    let class = if header.is_class_64() {
        "ELF64"
    } else {
        "ELF32"
    };
    let order = if header.is_little_endian() {
        "little-endian"
    } else {
        "big-endian"
    };
    r.header("format", format!("{class} {order}"));
    r.header("machine", constant_name(machine.name(), "EM_", machine.0));
    let e_type = header.e_type(endian);
    let dynamic = Dynamic::read(&sections, names, endian, data)?;
    let has_interp = segments.iter().any(|p| p.p_type(endian) == elf::PT_INTERP);
    r.header("type", describe_type(e_type, has_interp, dynamic.flags_1));
    if header.e_flags(endian).0 != 0 {
        r.header("flags", format!("{:#x}", header.e_flags(endian).0));
    }

    for p in segments {
        if let Some(interp) = p.interpreter(endian, data).map_err(malformed)? {
            r.interpreter = Some(name_from_bytes(interp));
        }
    }

    let section_names: Vec<String> = sections
        .iter()
        .map(|s| sections.section_name(endian, s).map(name_from_bytes))
        .collect::<Result<_, _>>()
        .map_err(malformed)?;

    for (s, name) in sections.iter().zip(&section_names).skip(1) {
        let kind = s.sh_type(endian);
        r.sections.push(Section {
            name: name.clone(),
            kind: constant_name(names.sht.name(kind), "SHT_", kind.0),
            flags: section_flag_letters(s.sh_flags(endian).0),
            address: s.sh_addr(endian).into(),
            size: s.sh_size(endian).into(),
            align: s.sh_addralign(endian).into(),
        });
    }

    for p in segments {
        let p_type = p.p_type(endian);
        let flags = p.p_flags(endian);
        let (vaddr, memsz): (u64, u64) = (p.p_vaddr(endian).into(), p.p_memsz(endian).into());
        let is_tls = p_type == elf::PT_TLS;
        let contained = sections
            .iter()
            .zip(&section_names)
            .filter(|(s, _)| {
                let flags: u64 = s.sh_flags(endian).0;
                let (addr, size): (u64, u64) = (s.sh_addr(endian).into(), s.sh_size(endian).into());
                let tls = flags & elf::SHF_TLS.0 != 0;
                let nobits = s.sh_type(endian) == elf::SHT_NOBITS;
                // `.tbss` occupies no address space outside PT_TLS, as readelf shows it.
                flags & elf::SHF_ALLOC.0 != 0
                    && !(tls && nobits && !is_tls)
                    && addr >= vaddr
                    && addr.saturating_add(size) <= vaddr.saturating_add(memsz)
                    && (size > 0 || addr < vaddr.saturating_add(memsz))
            })
            .map(|(_, n)| n.clone())
            .collect();
        r.segments.push(Segment {
            kind: constant_name(names.pt.name(p_type), "PT_", p_type.0),
            perms: perms(
                flags.0 & elf::PF_R.0 != 0,
                flags.0 & elf::PF_W.0 != 0,
                flags.0 & elf::PF_X.0 != 0,
            ),
            address: vaddr,
            file_offset: p.p_offset(endian).into(),
            file_size: p.p_filesz(endian).into(),
            memory_size: memsz,
            align: p.p_align(endian).into(),
            sections: contained,
        });
    }

    let is_object = e_type == elf::ET_REL;
    let symtab_kind = if is_object {
        elf::SHT_SYMTAB
    } else {
        elf::SHT_DYNSYM
    };
    let symbols = sections
        .symbols(endian, data, symtab_kind)
        .map_err(malformed)?;
    let versions = if is_object {
        None
    } else {
        sections.versions(endian, data).map_err(malformed)?
    };
    for (index, sym) in symbols.symbols().iter().enumerate().skip(1) {
        let bind = sym.st_bind();
        if bind != elf::STB_GLOBAL && bind != elf::STB_WEAK && bind != elf::STB_GNU_UNIQUE {
            continue;
        }
        let name = name_from_bytes(sym.name(endian, symbols.strings()).map_err(malformed)?);
        if sym.is_undefined(endian) {
            let (mut version, mut library) = (None, None);
            if let Some(v) = &versions {
                let index = v.version_index(endian, SymbolIndex(index));
                if let Some(ver) = v.version(index.index()).map_err(malformed)? {
                    version = Some(name_from_bytes(ver.name()));
                    library = ver.file().map(name_from_bytes);
                }
            }
            r.imports.push(Import {
                name,
                version,
                library,
                weak: bind == elf::STB_WEAK,
            });
        } else if sym.st_visibility() == elf::STV_DEFAULT
            || sym.st_visibility() == elf::STV_PROTECTED
            || is_object
        {
            let hidden_version = versions
                .as_ref()
                .is_some_and(|v| v.version_index(endian, SymbolIndex(index)).is_hidden());
            if !hidden_version {
                r.exports.push(name);
            }
        }
    }

    let entry: u64 = header.e_entry(endian).into();
    if !is_object && entry != 0 {
        r.entry = Some(entry);
        r.entry_place = Some(place_of(entry, &sections, &section_names, endian, data)?);
    }

    for s in sections.iter() {
        let mut count = |types: &mut dyn Iterator<Item = elf::RelocationType>| {
            for t in types {
                let name = names
                    .r
                    .name(t)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("type {}", t.0));
                r.count_relocation(&name);
            }
        };
        if let Some((rels, _)) = s.rel(endian, data).map_err(malformed)? {
            count(&mut rels.iter().map(|rel| rel.r_type(endian)));
        }
        if let Some((relas, _)) = s.rela(endian, data).map_err(malformed)? {
            let mips = header.is_mips64el(endian);
            count(&mut relas.iter().map(|rela| rela.r_type(endian, mips)));
        }
    }

    r.needed = dynamic.needed;
    r.soname = dynamic.soname;
    r.rpaths = dynamic.rpaths;
    if !dynamic.tags.is_empty() {
        r.extra.push(("dynamic".to_string(), dynamic.tags));
    }
    let properties = gnu_properties(&sections, &section_names, machine, endian, data)?;
    if !properties.is_empty() {
        r.extra.push(("properties".to_string(), properties));
    }
    Ok(r)
}

/// The GNU properties of `.note.gnu.property` (BTI, PAC, x86 ISA levels), one line each:
/// `AARCH64_FEATURE_1_AND BTI PAC`.
fn gnu_properties<Elf: FileHeader>(
    sections: &SectionTable<'_, Elf>,
    section_names: &[String],
    machine: elf::Machine,
    endian: Elf::Endian,
    data: &[u8],
) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for (s, name) in sections.iter().zip(section_names) {
        if name != ".note.gnu.property" {
            continue;
        }
        let Some(mut notes) = s.notes(endian, data).map_err(malformed)? else {
            continue;
        };
        while let Some(note) = notes.next().map_err(malformed)? {
            let Some(mut properties) = note.gnu_properties(endian) else {
                continue;
            };
            while let Some(p) = properties.next().map_err(malformed)? {
                let kind = p.pr_type();
                let mut line = constant_name(
                    elf::GnuPropertyType::type_names(machine).name(kind),
                    "GNU_PROPERTY_",
                    kind.0,
                );
                match (kind.u32_value_names(machine), p.data_u32(endian)) {
                    (Some(flags), Ok(value)) => {
                        let rest = flags.names(value, |_, n| {
                            line.push(' ');
                            line.push_str(n.rsplit('_').next().unwrap_or(n));
                        });
                        if rest != 0 {
                            line.push_str(&format!(" {rest:#x}"));
                        }
                    }
                    _ => {
                        for b in p.pr_data() {
                            line.push_str(&format!(" {b:02x}"));
                        }
                    }
                }
                lines.push(line);
            }
        }
    }
    Ok(lines)
}

/// What the dynamic section says, read once.
#[derive(Default)]
struct Dynamic {
    needed: Vec<String>,
    soname: Option<String>,
    rpaths: Vec<String>,
    flags_1: u64,
    /// Tag names, with values only where they do not depend on layout.
    tags: Vec<String>,
}

impl Dynamic {
    fn read<Elf: FileHeader>(
        sections: &SectionTable<'_, Elf>,
        names: &elf::Names,
        endian: Elf::Endian,
        data: &[u8],
    ) -> Result<Dynamic> {
        let mut d = Dynamic::default();
        let table = sections.dynamic_table(endian, data).map_err(malformed)?;
        let strings = table.strings();
        for entry in table.dynamics() {
            let tag = entry.tag(endian);
            if tag == elf::DT_NULL {
                break;
            }
            let val = entry.val(endian);
            let string = || -> Result<String> {
                let offset = u32::try_from(val).map_err(|_| {
                    Error::new(
                        "truncated or malformed ELF file: dynamic string offset out of range",
                    )
                })?;
                strings.get(offset).map(name_from_bytes).map_err(|_| {
                    Error::new("truncated or malformed ELF file: dynamic string out of bounds")
                })
            };
            // The machine's table also names processor-specific tags (AARCH64_BTI_PLT).
            let name = constant_name(names.dt.name(tag), "", tag.0 as u64);
            let line = match tag {
                elf::DT_NEEDED => {
                    d.needed.push(string()?);
                    format!("{name} {}", string()?)
                }
                elf::DT_SONAME => {
                    d.soname = Some(string()?);
                    format!("{name} {}", string()?)
                }
                elf::DT_RPATH | elf::DT_RUNPATH => {
                    d.rpaths.push(string()?);
                    format!("{name} {}", string()?)
                }
                elf::DT_FLAGS_1 => {
                    d.flags_1 = val;
                    format!("{name} {val:#x}")
                }
                elf::DT_FLAGS
                | elf::DT_BIND_NOW
                | elf::DT_PLTREL
                | elf::DT_RELAENT
                | elf::DT_RELENT
                | elf::DT_SYMENT => {
                    format!("{name} {val:#x}")
                }
                _ => name,
            };
            d.tags.push(line);
        }
        Ok(d)
    }
}

fn describe_type(e_type: elf::FileType, has_interp: bool, flags_1: u64) -> String {
    match e_type {
        elf::ET_REL => "relocatable object".to_string(),
        elf::ET_EXEC => "executable".to_string(),
        elf::ET_DYN if flags_1 & elf::DF_1_PIE.0 != 0 || has_interp => "PIE executable".to_string(),
        elf::ET_DYN => "shared library".to_string(),
        elf::ET_CORE => "core file".to_string(),
        other => format!("type {}", other.0),
    }
}

/// Where an address falls, without the address: `.text+0x10`, or `_start` when a symbol
/// starts there.
fn place_of<Elf: FileHeader>(
    addr: u64,
    sections: &SectionTable<'_, Elf>,
    names: &[String],
    endian: Elf::Endian,
    data: &[u8],
) -> Result<String> {
    let symtab = sections
        .symbols(endian, data, elf::SHT_SYMTAB)
        .map_err(malformed)?;
    let symbol = symtab.symbols().iter().find(|s| {
        let value: u64 = s.st_value(endian).into();
        value == addr && s.st_type() == elf::STT_FUNC && !s.is_undefined(endian)
    });
    let section = sections.iter().zip(names).find(|(s, _)| {
        let flags: u64 = s.sh_flags(endian).0;
        let (start, size): (u64, u64) = (s.sh_addr(endian).into(), s.sh_size(endian).into());
        flags & elf::SHF_ALLOC.0 != 0 && addr >= start && addr - start < size
    });
    let section_place = section.map(|(s, n)| {
        let start: u64 = s.sh_addr(endian).into();
        format!("{n}+{:#x}", addr - start)
    });
    let sym_name = match symbol {
        Some(s) => Some(name_from_bytes(
            s.name(endian, symtab.strings()).map_err(malformed)?,
        )),
        None => None,
    };
    Ok(match (sym_name, section_place) {
        (Some(sym), Some(place)) => format!("{sym} ({place})"),
        (Some(sym), None) => sym,
        (None, Some(place)) => place,
        (None, None) => "outside every section".to_string(),
    })
}

/// Section flags as readelf's letters, so the dump reads like `readelf -S` to those who know it.
fn section_flag_letters(flags: u64) -> String {
    const LETTERS: &[(u64, char)] = &[
        (elf::SHF_WRITE.0, 'W'),
        (elf::SHF_ALLOC.0, 'A'),
        (elf::SHF_EXECINSTR.0, 'X'),
        (elf::SHF_MERGE.0, 'M'),
        (elf::SHF_STRINGS.0, 'S'),
        (elf::SHF_INFO_LINK.0, 'I'),
        (elf::SHF_LINK_ORDER.0, 'L'),
        (elf::SHF_OS_NONCONFORMING.0, 'O'),
        (elf::SHF_GROUP.0, 'G'),
        (elf::SHF_TLS.0, 'T'),
        (elf::SHF_COMPRESSED.0, 'C'),
        (elf::SHF_GNU_RETAIN.0, 'R'),
        (elf::SHF_EXCLUDE.0, 'E'),
    ];
    let mut s: String = LETTERS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, c)| *c)
        .collect();
    let known = LETTERS.iter().fold(0, |acc, (bit, _)| acc | bit);
    if flags & !known != 0 {
        s.push_str(&format!("+{:#x}", flags & !known));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_letters_match_readelf() {
        assert_eq!(section_flag_letters(0x6), "AX");
        assert_eq!(section_flag_letters(0x32), "AMS");
        assert_eq!(section_flag_letters(0x403), "WAT");
        assert_eq!(section_flag_letters(0x1000_0000), "+0x10000000");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut data = b"\x7fELF\x02\x01\x01".to_vec();
        data.resize(80, 0xff);
        assert!(inspect(&data, &InspectOptions::default()).is_err());
        assert!(inspect(b"nope", &InspectOptions::default()).is_err());
    }
}
