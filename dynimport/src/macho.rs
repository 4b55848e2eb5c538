//! Mach-O: imports from the undefined external symbols and the dylib load commands, exports
//! from the defined external symbols and `LC_ID_DYLIB`.

use object::macho::{self as abi, MachHeader32, MachHeader64};
use object::read::macho::{LoadCommandIterator, MachHeader, Nlist, SymbolTable};
use object::{Endianness, FileKind, SymbolIndex};

use crate::{Error, Export, Facts, Import, OutputFormat, Result};

fn malformed(err: impl std::fmt::Display) -> Error {
    Error(format!("truncated or malformed Mach-O file: {err}"))
}

/// Two-level-namespace library ordinals (`n_desc >> 8`) count these commands, in order.
fn is_dylib_load(cmd: abi::LoadCommandType) -> bool {
    cmd == abi::LC_LOAD_DYLIB
        || cmd == abi::LC_LOAD_WEAK_DYLIB
        || cmd == abi::LC_REEXPORT_DYLIB
        || cmd == abi::LC_LAZY_LOAD_DYLIB
        || cmd == abi::LC_LOAD_UPWARD_DYLIB
}

/// What the load commands say.
struct Parsed<'data, Mach: MachHeader> {
    endian: Mach::Endian,
    two_level: bool,
    symbols: Option<SymbolTable<'data, Mach>>,
    /// `iundefsym`, `nundefsym` of `LC_DYSYMTAB`.
    undefined_range: Option<(u32, u32)>,
    /// Every dylib a load command names, with the command.
    dylibs: Vec<(abi::LoadCommandType, &'data [u8])>,
    install_name: Option<&'data [u8]>,
}

fn parse<'data, Mach: MachHeader<Endian = Endianness>>(
    data: &'data [u8],
) -> Result<Parsed<'data, Mach>> {
    let header = Mach::parse(data, 0).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let mut commands: LoadCommandIterator<'data, Endianness> =
        header.load_commands(endian, data, 0).map_err(malformed)?;
    let mut parsed = Parsed {
        endian,
        two_level: header.flags(endian).0 & abi::MH_TWOLEVEL.0 != 0,
        symbols: None,
        undefined_range: None,
        dylibs: Vec::new(),
        install_name: None,
    };
    while let Some(command) = commands.next().map_err(malformed)? {
        let cmd = command.cmd();
        if is_dylib_load(cmd) || cmd == abi::LC_ID_DYLIB {
            let dylib = command
                .data::<abi::DylibCommand<Endianness>>()
                .map_err(malformed)?;
            let name = command
                .string(endian, dylib.dylib.name)
                .map_err(malformed)?;
            if cmd == abi::LC_ID_DYLIB {
                parsed.install_name = Some(name);
            } else {
                parsed.dylibs.push((cmd, name));
            }
        } else if let Some(symtab) = command.symtab().map_err(malformed)? {
            parsed.symbols = Some(symtab.symbols::<Mach, _>(endian, data).map_err(malformed)?);
        } else if let Some(dysymtab) = command.dysymtab().map_err(malformed)? {
            parsed.undefined_range = Some((
                dysymtab.iundefsym.get(endian),
                dysymtab.nundefsym.get(endian),
            ));
        }
    }
    Ok(parsed)
}

pub(crate) fn imports(data: &[u8], format: OutputFormat) -> Result<Facts> {
    match FileKind::parse(data) {
        Ok(FileKind::MachO32) => imports_of::<MachHeader32<Endianness>>(data, format),
        Ok(FileKind::MachO64) => imports_of::<MachHeader64<Endianness>>(data, format),
        _ => Err(malformed("bad header")),
    }
}

pub(crate) fn exports(data: &[u8]) -> Result<(Vec<Export>, Option<Vec<u8>>)> {
    match FileKind::parse(data) {
        Ok(FileKind::MachO32) => exports_of::<MachHeader32<Endianness>>(data),
        Ok(FileKind::MachO64) => exports_of::<MachHeader64<Endianness>>(data),
        _ => Err(malformed("bad header")),
    }
}

/// C names carry a leading `_` in Mach-O; directives use the C name.
fn strip_underscore(name: &[u8]) -> &[u8] {
    name.strip_prefix(b"_").unwrap_or(name)
}

fn imports_of<Mach: MachHeader<Endian = Endianness>>(
    data: &[u8],
    format: OutputFormat,
) -> Result<Facts> {
    let file: Parsed<'_, Mach> = parse(data)?;
    match format {
        OutputFormat::Go => go_imports(&file),
        OutputFormat::Rlink => rlink_imports(&file),
    }
}

/// Go's `debug/macho`: the `LC_DYSYMTAB` undefined range (nothing without both symbol
/// commands), no libraries named per symbol, and only plain `LC_LOAD_DYLIB` commands.
fn go_imports<Mach: MachHeader<Endian = Endianness>>(file: &Parsed<'_, Mach>) -> Result<Facts> {
    let mut facts = Facts::default();
    if let (Some(symbols), Some((first, count))) = (&file.symbols, file.undefined_range) {
        let end = first
            .checked_add(count)
            .filter(|&end| end as usize <= symbols.len())
            .ok_or_else(|| malformed("undefined symbol range is outside the symbol table"))?;
        let strings = symbols.strings();
        for index in first..end {
            let nlist = symbols
                .symbol(SymbolIndex(index as usize))
                .map_err(malformed)?;
            let mut name = nlist.name(file.endian, strings).map_err(malformed)?;
            // debug/macho strips a `_` from names containing a dot (Go's own symbols, issue
            // 33808), then cgo strips one more.
            if name.starts_with(b"_") && name.contains(&b'.') {
                name = &name[1..];
            }
            facts
                .imports
                .push(Import::same_name(strip_underscore(name), b""));
        }
    }
    facts.libraries = file
        .dylibs
        .iter()
        .filter(|(cmd, _)| *cmd == abi::LC_LOAD_DYLIB)
        .map(|(_, name)| name.to_vec())
        .collect();
    Ok(facts)
}

/// Every undefined external symbol, with the dylib its two-level-namespace ordinal names, and
/// every dylib, weak and lazy ones included.
fn rlink_imports<Mach: MachHeader<Endian = Endianness>>(file: &Parsed<'_, Mach>) -> Result<Facts> {
    let mut facts = Facts::default();
    if let Some(symbols) = &file.symbols {
        let strings = symbols.strings();
        for nlist in symbols.iter() {
            let flags = nlist.n_type();
            // Common symbols are undefined too, but carry their size in n_value.
            if flags.is_stab()
                || !flags.is_ext()
                || flags.typ() != abi::N_UNDF
                || nlist.n_value(file.endian).into() != 0
            {
                continue;
            }
            let name = nlist.name(file.endian, strings).map_err(malformed)?;
            let name = strip_underscore(name);
            if name.is_empty() {
                continue;
            }
            let ordinal = usize::from(nlist.n_desc(file.endian).0 >> 8);
            let library: &[u8] = match file.two_level {
                // 0 is the image itself, 0xfe dynamic lookup, 0xff the main executable.
                true if (1..=file.dylibs.len()).contains(&ordinal) => file.dylibs[ordinal - 1].1,
                _ => b"",
            };
            facts.imports.push(Import::same_name(name, library));
        }
    }
    facts.libraries = file.dylibs.iter().map(|(_, name)| name.to_vec()).collect();
    Ok(facts)
}

fn exports_of<Mach: MachHeader<Endian = Endianness>>(
    data: &[u8],
) -> Result<(Vec<Export>, Option<Vec<u8>>)> {
    let file: Parsed<'_, Mach> = parse(data)?;
    let mut exports = Vec::new();
    if let Some(symbols) = &file.symbols {
        let strings = symbols.strings();
        for nlist in symbols.iter() {
            let flags = nlist.n_type();
            let typ = flags.typ();
            if flags.is_stab()
                || !flags.is_ext()
                || flags.is_pext()
                || !(typ == abi::N_SECT || typ == abi::N_ABS || typ == abi::N_INDR)
            {
                continue;
            }
            let name = strip_underscore(nlist.name(file.endian, strings).map_err(malformed)?);
            if name.is_empty() {
                continue;
            }
            exports.push(Export {
                name: name.to_vec(),
                versioned_name: name.to_vec(),
            });
        }
    }
    Ok((exports, file.install_name.map(<[u8]>::to_vec)))
}
