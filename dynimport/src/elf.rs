//! ELF: imports from `.dynsym` + `.gnu.version`/`.gnu.version_r` + `DT_NEEDED`, exports from
//! `.dynsym` + `.gnu.version_d` + `DT_SONAME`.
//!
//! Like Go's `debug/elf`, everything is found through section headers (first section of each
//! type), not program headers.

use object::elf::{self as abi, FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, SectionHeader, SectionTable, Sym, VersionTable};
use object::{Endianness, FileKind, SymbolIndex};

use crate::{Error, Export, Facts, Import, Options, OutputFormat, Result};

fn malformed(err: impl std::fmt::Display) -> Error {
    Error(format!("truncated or malformed ELF file: {err}"))
}

/// The parts of an ELF file both directions need.
struct Parsed<'data, Elf: FileHeader> {
    endian: Elf::Endian,
    sections: SectionTable<'data, Elf>,
    /// `.dynsym` (empty when there is none, as in a static executable).
    dynsym: object::read::elf::SymbolTable<'data, Elf>,
    versions: Option<VersionTable<'data, Elf>>,
}

fn parse<'data, Elf: FileHeader<Endian = Endianness>>(
    data: &'data [u8],
) -> Result<Parsed<'data, Elf>> {
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let sections = header.sections(endian, data).map_err(malformed)?;
    let dynsym = sections
        .symbols(endian, data, abi::SHT_DYNSYM)
        .map_err(malformed)?;
    let versions = sections.versions(endian, data).map_err(malformed)?;
    Ok(Parsed {
        endian,
        sections,
        dynsym,
        versions,
    })
}

pub(crate) fn imports(data: &[u8], opts: &Options) -> Result<Facts> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf32) => imports_of::<FileHeader32<Endianness>>(data, opts),
        Ok(FileKind::Elf64) => imports_of::<FileHeader64<Endianness>>(data, opts),
        _ => Err(malformed("bad header")),
    }
}

pub(crate) fn exports(data: &[u8]) -> Result<(Vec<Export>, Option<Vec<u8>>)> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf32) => exports_of::<FileHeader32<Endianness>>(data),
        Ok(FileKind::Elf64) => exports_of::<FileHeader64<Endianness>>(data),
        _ => Err(malformed("bad header")),
    }
}

fn imports_of<Elf: FileHeader<Endian = Endianness>>(data: &[u8], opts: &Options) -> Result<Facts> {
    let go = opts.format == OutputFormat::Go;
    let file: Parsed<'_, Elf> = parse(data)?;
    let endian = file.endian;
    let mut facts = Facts::default();

    if opts.dynlinker {
        if let Some((_, interp)) = file.sections.section_by_name(endian, b".interp") {
            let bytes = interp.data(endian, data).map_err(malformed)?;
            facts.dynamic_linker = if go {
                // cgo drops the last byte (the NUL), whatever it is, if more than one is left.
                (bytes.len() > 1).then(|| bytes[..bytes.len() - 1].to_vec())
            } else {
                let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
                (!path.is_empty()).then(|| path.to_vec())
            };
        }
    }

    // cgo's elfImportedSymbols: undefined dynamic symbols bound GLOBAL or WEAK, in table
    // order, entry 0 skipped.
    for (index, sym) in file.dynsym.enumerate().skip(1) {
        let bind = sym.st_bind();
        if !(bind == abi::STB_GLOBAL || bind == abi::STB_WEAK)
            || sym.st_shndx(endian) != abi::SHN_UNDEF
        {
            continue;
        }
        let name = file.dynsym.symbol_name(endian, sym).map_err(malformed)?;
        if name.is_empty() && !go {
            continue;
        }
        let (library, version) = match &file.versions {
            Some(versions) => required_version(versions, endian, index, go)?,
            None => (&b""[..], &b""[..]),
        };
        let mut remote = name.to_vec();
        if !version.is_empty() {
            remote.push(b'#');
            remote.extend_from_slice(version);
        }
        facts.imports.push(Import {
            local: name.to_vec(),
            remote,
            library: library.to_vec(),
        });
    }

    facts.libraries = dynamic_strings(&file, data, abi::DT_NEEDED, go)?;
    Ok(facts)
}

/// The library and version an undefined symbol was bound to at link time (`.gnu.version_r`),
/// or empty strings.
fn required_version<'data, Elf: FileHeader>(
    versions: &VersionTable<'data, Elf>,
    endian: Elf::Endian,
    index: SymbolIndex,
    go: bool,
) -> Result<(&'data [u8], &'data [u8])> {
    const NONE: (&[u8], &[u8]) = (b"", b"");
    let versym = versions.version_index(endian, index);
    // Go compares the raw .gnu.version entry with the vna_other values, so an entry with the
    // hidden bit never matches; rlink ignores the bit, as the dynamic loader does for
    // references.
    if go && versym.is_hidden() {
        return Ok(NONE);
    }
    match versions.version(versym.index()) {
        Ok(Some(version)) => Ok(match version.file() {
            Some(file) => (file, version.name()),
            // A version definition: never the target of an undefined symbol.
            None => NONE,
        }),
        Ok(None) => Ok(NONE),
        // An index with no definition or requirement: Go finds nothing and prints no version.
        Err(_) if go => Ok(NONE),
        Err(err) => Err(malformed(err)),
    }
}

/// The string values of every `tag` entry in the first `SHT_DYNAMIC` section.
///
/// Go reads the whole section, past `DT_NULL`; rlink stops at `DT_NULL` as the loader does.
fn dynamic_strings<Elf: FileHeader<Endian = Endianness>>(
    file: &Parsed<'_, Elf>,
    data: &[u8],
    tag: abi::DynamicTag,
    read_past_null: bool,
) -> Result<Vec<Vec<u8>>> {
    let endian = file.endian;
    let Some((entries, link)) = file.sections.dynamic(endian, data).map_err(malformed)? else {
        return Ok(Vec::new());
    };
    let strings = file
        .sections
        .strings(endian, data, link)
        .map_err(malformed)?;
    let mut values = Vec::new();
    for entry in entries {
        let entry_tag = entry.tag(endian);
        if entry_tag == abi::DT_NULL && !read_past_null {
            break;
        }
        if entry_tag == tag {
            let offset = u32::try_from(entry.val(endian))
                .map_err(|_| malformed("dynamic string offset out of range"))?;
            let value = strings
                .get(offset)
                .map_err(|()| malformed("dynamic string offset out of range"))?;
            values.push(value.to_vec());
        }
    }
    Ok(values)
}

fn exports_of<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
) -> Result<(Vec<Export>, Option<Vec<u8>>)> {
    let file: Parsed<'_, Elf> = parse(data)?;
    let endian = file.endian;
    let mut exports = Vec::new();
    for (index, sym) in file.dynsym.enumerate().skip(1) {
        let bind = sym.st_bind();
        let visibility = sym.st_visibility();
        if sym.st_shndx(endian) == abi::SHN_UNDEF
            || !(bind == abi::STB_GLOBAL || bind == abi::STB_WEAK || bind == abi::STB_GNU_UNIQUE)
            // Protected symbols are exported too; only their binding inside the library differs.
            || !(visibility == abi::STV_DEFAULT || visibility == abi::STV_PROTECTED)
        {
            continue;
        }
        let name = file.dynsym.symbol_name(endian, sym).map_err(malformed)?;
        if name.is_empty() {
            continue;
        }
        let mut versioned_name = name.to_vec();
        if let Some(versions) = &file.versions {
            let versym = versions.version_index(endian, index);
            // `name@VER` (hidden) versions exist only for binaries linked long ago; new links
            // must bind to the default `name@@VER`.
            if versym.is_hidden() {
                continue;
            }
            if let Some(version) = versions.version(versym.index()).map_err(malformed)? {
                // The linker defines an absolute symbol named after each version it defines.
                if sym.st_shndx(endian) == abi::SHN_ABS && version.name() == name {
                    continue;
                }
                if version.file().is_none() {
                    versioned_name.push(b'#');
                    versioned_name.extend_from_slice(version.name());
                }
            }
        }
        exports.push(Export {
            name: name.to_vec(),
            versioned_name,
        });
    }
    let soname = dynamic_strings(&file, data, abi::DT_SONAME, false)?
        .into_iter()
        .next();
    Ok((exports, soname))
}
