//! The Mach-O side of `rlink inspect`: objects, executables, dylibs and bundles, 32- and 64-bit,
//! either byte order (fat files are split by the core). Reads through `object`'s low-level
//! Mach-O API so the load commands, two-level-namespace ordinals and section types survive.

use object::macho;
use object::read::macho::{
    LoadCommandData, LoadCommandVariant, MachHeader, Nlist as _, Section as _, Segment as _,
};
use object::{Endian as _, Endianness};
use rlink_linker::inspect::{
    constant_name, display_name, join_flags, name_from_bytes, perms, Import, InspectOptions,
    Report, Section, Segment,
};
use rlink_linker::{bail, Error, Result};

/// Object's messages are terse ("Invalid Mach-O command size"); say which kind of file.
fn malformed(e: object::read::Error) -> Error {
    Error::new(format!("truncated or malformed Mach-O file: {e}"))
}

pub fn inspect(data: &[u8], _opts: &InspectOptions) -> Result<Report> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::MachO64) => inspect_as::<macho::MachHeader64<Endianness>>(data),
        Ok(object::FileKind::MachO32) => inspect_as::<macho::MachHeader32<Endianness>>(data),
        _ => bail!("not a Mach-O file"),
    }
}

/// A dylib named by a load command. Its position in the list is its two-level-namespace
/// ordinal minus one.
struct Dylib {
    path: String,
    cmd: macho::LoadCommandType,
}

/// One section, with the names the dump uses.
struct SectionInfo {
    /// `__TEXT,__text`, escaped for display.
    full_name: String,
    address: u64,
    size: u64,
}

/// What the load commands say, read in one pass.
struct LoadCommands<'data, Mach: MachHeader> {
    segments: Vec<(&'data Mach::Segment, &'data [Mach::Section])>,
    dylibs: Vec<Dylib>,
    symtab: Option<&'data macho::SymtabCommand<Mach::Endian>>,
    dysymtab: Option<&'data macho::DysymtabCommand<Mach::Endian>>,
    /// `LC_MAIN`'s entry as a file offset.
    main_entry_offset: Option<u64>,
    /// `LC_UNIXTHREAD`'s initial program counter, an address.
    thread_entry: Option<u64>,
    soname: Option<String>,
    interpreter: Option<String>,
    rpaths: Vec<String>,
    /// One line per load command, in file order.
    lines: Vec<String>,
}

fn inspect_as<Mach: MachHeader<Endian = Endianness>>(data: &[u8]) -> Result<Report> {
    let header = Mach::parse(data, 0).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let cputype = header.cputype(endian);
    let filetype = header.filetype(endian);
    let flags = header.flags(endian);
    let mut r = Report::default();

    let bits = if header.is_type_64() {
        "64-bit"
    } else {
        "32-bit"
    };
    let order = if header.is_little_endian() {
        "little-endian"
    } else {
        "big-endian"
    };
    r.header("format", format!("Mach-O {bits} {order}"));
    r.header(
        "machine",
        constant_name(cputype.name(), "CPU_TYPE_", cputype.0),
    );
    r.header("type", describe_type(filetype));
    if flags.0 != 0 {
        r.header("flags", join_flags(macho::FileFlags::NAMES, flags, ""));
    }

    let lc = read_load_commands::<Mach>(header, endian, data)?;
    let mut sections = Vec::new();
    for (segment, segment_sections) in &lc.segments {
        let mut contained: Vec<(u64, String)> = Vec::new();
        let mut max_align = 0u64;
        for s in segment_sections.iter() {
            let info = SectionInfo {
                full_name: format!(
                    "{},{}",
                    name_from_bytes(s.segment_name()),
                    name_from_bytes(s.name())
                ),
                address: s.addr(endian).into(),
                size: s.size(endian).into(),
            };
            let align = alignment(s.align(endian));
            max_align = max_align.max(align);
            let section_flags = s.flags(endian);
            r.sections.push(Section {
                name: info.full_name.clone(),
                kind: section_type_name(section_flags.typ()),
                flags: section_attributes(section_flags),
                address: info.address,
                size: info.size,
                align,
            });
            contained.push((info.address, display_name(&info.full_name)));
            sections.push(info);
        }
        // Address order, as the model promises; a stable sort keeps file order for ties.
        contained.sort_by_key(|(address, _)| *address);
        let (file_offset, file_size) = segment.file_range(endian);
        check_in_file(data, file_offset, file_size, "segment contents")?;
        let prot = segment.initprot(endian);
        r.segments.push(Segment {
            kind: display_name(&name_from_bytes(segment.name())),
            perms: perms(
                prot.contains(macho::VM_PROT_READ),
                prot.contains(macho::VM_PROT_WRITE),
                prot.contains(macho::VM_PROT_EXECUTE),
            ),
            address: segment.vmaddr(endian).into(),
            file_offset: segment.fileoff(endian).into(),
            file_size: segment.filesize(endian).into(),
            memory_size: segment.vmsize(endian).into(),
            align: max_align,
            sections: contained.into_iter().map(|(_, name)| name).collect(),
        });
    }

    let symbols = match lc.symtab {
        Some(symtab) => {
            // `object` reads names lazily; a string table cut short is a truncated file even
            // when no name happens to reach the missing part.
            let (offset, size) = (symtab.stroff.get(endian), symtab.strsize.get(endian));
            check_in_file(data, offset.into(), size.into(), "string table")?;
            Some(symtab.symbols::<Mach, _>(endian, data).map_err(malformed)?)
        }
        None => None,
    };
    // Two-level namespace ordinals mean something only in linked images that use them;
    // objects leave them zero.
    let two_level = flags.contains(macho::MH_TWOLEVEL) && filetype != macho::MH_OBJECT;
    let mut entry_symbols: Vec<(u64, String)> = Vec::new();
    if let Some(symbols) = &symbols {
        for sym in symbols.iter() {
            let n_type = sym.n_type();
            if n_type.is_stab() || !n_type.is_ext() {
                continue;
            }
            let name = name_from_bytes(sym.name(endian, symbols.strings()).map_err(malformed)?);
            let desc = sym.n_desc(endian);
            let value: u64 = sym.n_value(endian).into();
            match n_type.typ() {
                // An undefined symbol with a value is a common (tentative) definition.
                macho::N_UNDF if value != 0 => r.exports.push(name),
                macho::N_UNDF | macho::N_PBUD => {
                    let library = if two_level {
                        Some(library_name(desc.library(), &lc.dylibs))
                    } else {
                        None
                    };
                    let weak = desc.0 & macho::N_WEAK_REF.0 != 0;
                    r.imports.push(Import {
                        name,
                        version: None,
                        library,
                        weak,
                    });
                }
                _ if n_type.is_pext() => {}
                typ => {
                    if typ == macho::N_SECT {
                        entry_symbols.push((value, name.clone()));
                    }
                    r.exports.push(name);
                }
            }
        }
    }

    let entry = match (lc.main_entry_offset, lc.thread_entry) {
        (Some(offset), _) => address_of_file_offset::<Mach>(offset, &lc.segments, endian),
        (None, thread) => thread,
    };
    if let Some(addr) = entry {
        r.entry = Some(addr);
        r.entry_place = Some(place_of(addr, &sections, &entry_symbols));
    }

    let mut count = |relocs: &[macho::Relocation<Endianness>]| {
        for reloc in relocs {
            let r_type = if reloc.r_scattered(endian, cputype) {
                reloc.scattered_info(endian).r_type
            } else {
                reloc.info(endian).r_type
            };
            r.count_relocation(&relocation_name(cputype, r_type));
        }
    };
    for (_, segment_sections) in &lc.segments {
        for s in segment_sections.iter() {
            count(s.relocations(endian, data).map_err(malformed)?);
        }
    }
    // Classic (pre-fixup) images keep their dynamic relocations in the dynamic symbol table.
    if let Some(dysymtab) = lc.dysymtab {
        for (offset, number) in [
            (dysymtab.extreloff.get(endian), dysymtab.nextrel.get(endian)),
            (dysymtab.locreloff.get(endian), dysymtab.nlocrel.get(endian)),
        ] {
            if number != 0 {
                count(read_relocations(data, offset, number)?);
            }
        }
    }

    r.needed = lc.dylibs.iter().map(describe_dylib).collect();
    r.soname = lc.soname;
    r.interpreter = lc.interpreter;
    r.rpaths = lc.rpaths;
    if !lc.lines.is_empty() {
        r.extra.push(("load commands".to_string(), lc.lines));
    }
    Ok(r)
}

fn read_load_commands<'data, Mach: MachHeader<Endian = Endianness>>(
    header: &'data Mach,
    endian: Endianness,
    data: &'data [u8],
) -> Result<LoadCommands<'data, Mach>> {
    let mut lc = LoadCommands {
        segments: Vec::new(),
        dylibs: Vec::new(),
        symtab: None,
        dysymtab: None,
        main_entry_offset: None,
        thread_entry: None,
        soname: None,
        interpreter: None,
        rpaths: Vec::new(),
        lines: Vec::new(),
    };
    let cputype = header.cputype(endian);
    let mut commands = header.load_commands(endian, data, 0).map_err(malformed)?;
    while let Some(command) = commands.next().map_err(malformed)? {
        let cmd = command.cmd();
        let name = constant_name(cmd.name(), "", cmd.0);
        let string = |s: macho::LcStr<Endianness>| -> Result<String> {
            Ok(display_name(&name_from_bytes(
                command.string(endian, s).map_err(malformed)?,
            )))
        };
        let detail = match command.variant().map_err(malformed)? {
            LoadCommandVariant::Segment32(..) | LoadCommandVariant::Segment64(..) => {
                // A 64-bit file may carry a 32-bit segment command (or the reverse); `object`
                // reads only the file's own kind, and the line still names it.
                if let Some((segment, section_data)) =
                    Mach::Segment::from_command(command).map_err(malformed)?
                {
                    let segment_sections =
                        segment.sections(endian, section_data).map_err(malformed)?;
                    lc.segments.push((segment, segment_sections));
                    Some(display_name(&name_from_bytes(segment.name())))
                } else {
                    None
                }
            }
            LoadCommandVariant::Symtab(symtab) => {
                lc.symtab = Some(symtab);
                None
            }
            LoadCommandVariant::Dysymtab(dysymtab) => {
                lc.dysymtab = Some(dysymtab);
                None
            }
            LoadCommandVariant::Dylib(dylib) => {
                let path = string(dylib.dylib.name)?;
                lc.dylibs.push(Dylib {
                    path: path.clone(),
                    cmd,
                });
                Some(path)
            }
            LoadCommandVariant::IdDylib(dylib) => {
                let path = string(dylib.dylib.name)?;
                lc.soname = Some(path.clone());
                Some(path)
            }
            LoadCommandVariant::LoadDylinker(dylinker) => {
                let path = string(dylinker.name)?;
                lc.interpreter = Some(path.clone());
                Some(path)
            }
            LoadCommandVariant::IdDylinker(dylinker)
            | LoadCommandVariant::DyldEnvironment(dylinker) => Some(string(dylinker.name)?),
            LoadCommandVariant::Rpath(rpath) => {
                let path = string(rpath.path)?;
                lc.rpaths.push(path.clone());
                Some(path)
            }
            LoadCommandVariant::SubFramework(sub) => Some(string(sub.umbrella)?),
            LoadCommandVariant::SubUmbrella(sub) => Some(string(sub.sub_umbrella)?),
            LoadCommandVariant::SubClient(sub) => Some(string(sub.client)?),
            LoadCommandVariant::SubLibrary(sub) => Some(string(sub.sub_library)?),
            LoadCommandVariant::TargetTriple(triple) => Some(string(triple.triple)?),
            LoadCommandVariant::EntryPoint(main) => {
                lc.main_entry_offset = Some(main.entryoff.get(endian));
                None
            }
            LoadCommandVariant::Thread(_, state) if cmd == macho::LC_UNIXTHREAD => {
                lc.thread_entry = thread_pc(cputype, state, endian);
                None
            }
            LoadCommandVariant::BuildVersion(build, _) => {
                let platform = build.platform.get(endian);
                Some(format!(
                    "platform={} minos={} sdk={}",
                    constant_name(platform.name(), "PLATFORM_", platform.0),
                    version(build.minos.get(endian)),
                    version(build.sdk.get(endian)),
                ))
            }
            LoadCommandVariant::VersionMin(min) => Some(format!(
                "version={} sdk={}",
                version(min.version.get(endian)),
                version(min.sdk.get(endian))
            )),
            LoadCommandVariant::LinkerOption(option) => {
                linker_options(&command, option.count.get(endian))
            }
            // LC_UUID churns with every build; offsets and sizes churn with layout.
            _ => None,
        };
        lc.lines.push(match detail {
            Some(detail) if !detail.is_empty() => format!("{name} {detail}"),
            _ => name,
        });
    }
    Ok(lc)
}

/// `LC_LINKER_OPTION`'s strings (`-lSystem`, `-framework Foundation`), space separated.
fn linker_options(command: &LoadCommandData<'_, Endianness>, count: u32) -> Option<String> {
    let body = command
        .raw_data()
        .get(std::mem::size_of::<macho::LinkerOptionCommand<Endianness>>()..)?;
    let options: Vec<String> = body
        .split(|&b| b == 0)
        .take(count.try_into().unwrap_or(usize::MAX))
        .map(|s| display_name(&name_from_bytes(s)))
        .collect();
    Some(options.join(" "))
}

/// The initial program counter of an `LC_UNIXTHREAD` (old executables, static ones), for the
/// CPUs whose thread state layout is worth knowing.
fn thread_pc(cputype: macho::CpuType, state: &[u8], endian: Endianness) -> Option<u64> {
    let word = |offset: usize| -> Option<u64> {
        let bytes: [u8; 8] = state.get(offset..offset.checked_add(8)?)?.try_into().ok()?;
        Some(endian.read_u64(bytes))
    };
    let flavor = endian.read_u32(state.get(0..4)?.try_into().ok()?);
    // Each state is {flavor, count} followed by the registers.
    match (cputype, flavor) {
        // x86_THREAD_STATE64: rax…r15, then rip.
        (macho::CPU_TYPE_X86_64, 4) => word(8 + 16 * 8),
        // ARM_THREAD_STATE64: x0…x28, fp, lr, sp, then pc.
        (macho::CPU_TYPE_ARM64, 6) => word(8 + 32 * 8),
        _ => None,
    }
}

/// Where `LC_MAIN`'s file offset lands in memory.
fn address_of_file_offset<Mach: MachHeader<Endian = Endianness>>(
    offset: u64,
    segments: &[(&Mach::Segment, &[Mach::Section])],
    endian: Endianness,
) -> Option<u64> {
    segments.iter().find_map(|(segment, _)| {
        let (start, size) = segment.file_range(endian);
        let delta = offset.checked_sub(start)?;
        (delta < size).then(|| Into::<u64>::into(segment.vmaddr(endian)).wrapping_add(delta))
    })
}

/// Where an address falls, without the address: `__TEXT,__text+0x10`, or `_main (…)` when a
/// defined external symbol starts there.
fn place_of(addr: u64, sections: &[SectionInfo], symbols: &[(u64, String)]) -> String {
    let section_place = sections
        .iter()
        .find(|s| addr >= s.address && addr - s.address < s.size)
        .map(|s| format!("{}+{:#x}", s.full_name, addr - s.address));
    // The first in name order when several share the address, so the dump does not depend on
    // symbol table order.
    let symbol = symbols
        .iter()
        .filter(|(value, _)| *value == addr)
        .map(|(_, name)| name)
        .min();
    match (symbol, section_place) {
        (Some(sym), Some(place)) => format!("{} ({})", display_name(sym), display_name(&place)),
        (Some(sym), None) => display_name(sym),
        (None, Some(place)) => display_name(&place),
        (None, None) => "outside every section".to_string(),
    }
}

/// Refuses a file range that runs past the end of the file, so a truncated file is reported as
/// one instead of dumped as if whole.
fn check_in_file(data: &[u8], offset: u64, size: u64, what: &str) -> Result<()> {
    match offset.checked_add(size) {
        Some(end) if end <= data.len() as u64 => Ok(()),
        _ => bail!("truncated or malformed Mach-O file: {what} at {offset:#x} (size {size:#x}) runs past the end of the file"),
    }
}

fn read_relocations(
    data: &[u8],
    offset: u32,
    number: u32,
) -> Result<&[macho::Relocation<Endianness>]> {
    use object::ReadRef as _;
    data.read_slice_at(offset.into(), number as usize)
        .map_err(|()| Error::new("truncated or malformed Mach-O file: Invalid Mach-O dynamic relocations offset or number"))
}

/// The library an undefined symbol binds to, from its two-level-namespace ordinal.
fn library_name(ordinal: macho::SymbolLibrary, dylibs: &[Dylib]) -> String {
    match ordinal {
        macho::SELF_LIBRARY_ORDINAL => "(self)".to_string(),
        macho::DYNAMIC_LOOKUP_ORDINAL => "(dynamic lookup)".to_string(),
        macho::EXECUTABLE_ORDINAL => "(main executable)".to_string(),
        _ => match usize::from(ordinal.0)
            .checked_sub(1)
            .and_then(|index| dylibs.get(index))
        {
            Some(dylib) => dylib.path.clone(),
            None => format!("(ordinal {} out of range)", ordinal.0),
        },
    }
}

/// A needed dylib, marked when it is not an ordinary `LC_LOAD_DYLIB`.
fn describe_dylib(dylib: &Dylib) -> String {
    let mark = match dylib.cmd {
        macho::LC_LOAD_WEAK_DYLIB => " (weak)",
        macho::LC_REEXPORT_DYLIB => " (reexport)",
        macho::LC_LAZY_LOAD_DYLIB => " (lazy)",
        macho::LC_LOAD_UPWARD_DYLIB => " (upward)",
        _ => "",
    };
    format!("{}{mark}", dylib.path)
}

fn describe_type(filetype: macho::FileType) -> String {
    match filetype {
        macho::MH_OBJECT => "relocatable object".to_string(),
        macho::MH_EXECUTE => "executable".to_string(),
        macho::MH_DYLIB => "dylib".to_string(),
        macho::MH_BUNDLE => "bundle".to_string(),
        macho::MH_DYLINKER => "dynamic linker".to_string(),
        macho::MH_CORE => "core file".to_string(),
        macho::MH_DSYM => "debug symbols (dSYM)".to_string(),
        other => match other.name() {
            Some(name) => name.trim_start_matches("MH_").to_ascii_lowercase(),
            None => format!("type {:#x}", other.0),
        },
    }
}

/// `S_REGULAR`, `S_ZEROFILL`…: the type byte of a section's flags.
fn section_type_name(typ: macho::SectionType) -> String {
    constant_name(typ.name(), "", typ.0)
}

/// The attribute bits of a section's flags, without their `S_ATTR_` prefix.
fn section_attributes(flags: macho::SectionFlags) -> String {
    let attributes = macho::SectionFlags(flags.0 & !macho::SECTION_TYPE);
    join_flags(macho::SectionFlags::NAMES, attributes, "S_ATTR_")
}

fn relocation_name(cputype: macho::CpuType, r_type: macho::RelocationType) -> String {
    match macho::machine_names(cputype).reloc.name(r_type) {
        Some(name) => name.to_string(),
        None => format!("type {}", r_type.0),
    }
}

/// `2^align`, or 0 when the exponent does not fit (a hostile file, shown rather than refused).
fn alignment(exponent: u32) -> u64 {
    1u64.checked_shl(exponent).unwrap_or(0)
}

/// `11.0`, `10.14.6`: Mach-O's nibble-packed versions, without a zero patch level.
fn version(v: macho::Version) -> String {
    if v.update() == 0 {
        format!("{}.{}", v.major(), v.minor())
    } else {
        format!("{}.{}.{}", v.major(), v.minor(), v.update())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_types_and_attributes() {
        assert_eq!(section_type_name(macho::S_REGULAR), "S_REGULAR");
        assert_eq!(
            section_type_name(macho::S_CSTRING_LITERALS),
            "S_CSTRING_LITERALS"
        );
        assert_eq!(section_type_name(macho::SectionType(0x7f)), "0x7f");
        let text =
            macho::S_REGULAR | (macho::S_ATTR_PURE_INSTRUCTIONS | macho::S_ATTR_SOME_INSTRUCTIONS);
        assert_eq!(
            section_attributes(text),
            "PURE_INSTRUCTIONS|SOME_INSTRUCTIONS"
        );
        assert_eq!(section_attributes(macho::SectionFlags(0x1)), "");
        assert_eq!(
            section_attributes(macho::SectionFlags(0x0001_0002)),
            "0x10000"
        );
    }

    #[test]
    fn header_flags_keep_their_names() {
        let flags = macho::MH_NOUNDEFS | macho::MH_DYLDLINK | macho::MH_TWOLEVEL | macho::MH_PIE;
        assert_eq!(
            join_flags(macho::FileFlags::NAMES, flags, ""),
            "MH_NOUNDEFS|MH_DYLDLINK|MH_TWOLEVEL|MH_PIE"
        );
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(
            constant_name(macho::CPU_TYPE_ARM64.name(), "CPU_TYPE_", 0u32),
            "ARM64"
        );
        assert_eq!(
            relocation_name(macho::CPU_TYPE_X86_64, macho::X86_64_RELOC_BRANCH),
            "X86_64_RELOC_BRANCH"
        );
        assert_eq!(
            relocation_name(macho::CPU_TYPE_ARM64, macho::ARM64_RELOC_PAGE21),
            "ARM64_RELOC_PAGE21"
        );
        assert_eq!(
            relocation_name(macho::CPU_TYPE_X86_64, macho::RelocationType(15)),
            "type 15"
        );
        assert_eq!(version(macho::Version::new(11, 0, 0)), "11.0");
        assert_eq!(version(macho::Version::new(10, 14, 6)), "10.14.6");
        assert_eq!(alignment(4), 16);
        assert_eq!(alignment(200), 0);
        assert_eq!(describe_type(macho::MH_EXECUTE), "executable");
        assert_eq!(describe_type(macho::MH_KEXT_BUNDLE), "kext_bundle");
    }

    #[test]
    fn ordinals_name_libraries() {
        let dylibs = [Dylib {
            path: "/usr/lib/libSystem.B.dylib".into(),
            cmd: macho::LC_LOAD_DYLIB,
        }];
        assert_eq!(
            library_name(macho::SymbolLibrary(1), &dylibs),
            "/usr/lib/libSystem.B.dylib"
        );
        assert_eq!(
            library_name(macho::SymbolLibrary(2), &dylibs),
            "(ordinal 2 out of range)"
        );
        assert_eq!(
            library_name(macho::DYNAMIC_LOOKUP_ORDINAL, &dylibs),
            "(dynamic lookup)"
        );
        let weak = Dylib {
            path: "/usr/lib/libz.1.dylib".into(),
            cmd: macho::LC_LOAD_WEAK_DYLIB,
        };
        assert_eq!(describe_dylib(&weak), "/usr/lib/libz.1.dylib (weak)");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut data = vec![0xcf, 0xfa, 0xed, 0xfe];
        data.resize(64, 0xff);
        assert!(inspect(&data, &InspectOptions::default()).is_err());
        assert!(inspect(b"nope", &InspectOptions::default()).is_err());
    }
}
