//! The PE/COFF side of `rlink inspect`: COFF objects (regular and bigobj), short import
//! objects from import libraries, and PE32/PE32+ images. Reads through `object`'s low-level
//! COFF and PE API so the import and export directories, `.drectve` and base relocations are
//! shown as the file has them.

use object::pe;
use object::read::coff::{
    CoffHeader, ImportFile, ImportName, ImportType, SectionTable, Symbol as _,
};
use object::read::pe::{ExportTarget, ImageNtHeaders, ImageOptionalHeader as _, PeFile};
use object::LittleEndian as LE;
use rlink_linker::inspect::{
    constant_name, display_name, join_flags, name_from_bytes, Import, InspectOptions, Report,
    Section,
};
use rlink_linker::{bail, Error, Result};

/// Object's messages are terse ("Invalid COFF symbol index"); say which kind of file.
fn malformed(e: object::read::Error) -> Error {
    Error::new(format!("truncated or malformed PE/COFF file: {e}"))
}

pub fn inspect(data: &[u8], _opts: &InspectOptions) -> Result<Report> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Coff) => inspect_object::<pe::ImageFileHeader>(data),
        Ok(object::FileKind::CoffBig) => inspect_object::<pe::AnonObjectHeaderBigobj>(data),
        Ok(object::FileKind::CoffImport) => inspect_import_object(data),
        Ok(object::FileKind::Pe32) => inspect_image::<pe::ImageNtHeaders32>(data),
        Ok(object::FileKind::Pe64) => inspect_image::<pe::ImageNtHeaders64>(data),
        _ => bail!("not a PE/COFF file"),
    }
}

/// Where a COFF object's linker options live.
const DRECTVE: &[u8] = b".drectve";

fn inspect_object<Coff: CoffHeader>(data: &[u8]) -> Result<Report> {
    let mut offset = 0;
    let header = Coff::parse(data, &mut offset).map_err(malformed)?;
    let sections = header.sections(data, offset).map_err(malformed)?;
    let symbols = header.symbols(data).map_err(malformed)?;
    let machine = header.machine();
    let mut r = Report::default();

    r.header(
        "format",
        if Coff::is_type_bigobj() {
            "COFF bigobj object"
        } else {
            "COFF object"
        },
    );
    r.header("machine", machine_name(machine));
    r.header("type", "relocatable object");
    let characteristics = header.characteristics();
    if characteristics.0 != 0 {
        r.header(
            "characteristics",
            join_flags(pe::FileFlags::NAMES, characteristics, "IMAGE_FILE_"),
        );
    }

    check_symbol_strings(header, data)?;
    let names = pe::machine_names(machine);
    for s in sections.iter() {
        if let Some((offset, size)) = s.coff_file_range() {
            check_in_file(data, offset, size, "section data")?;
        }
        let name = s.name(symbols.strings()).map_err(malformed)?;
        let flags = s.characteristics.get(LE);
        r.sections.push(Section {
            name: name_from_bytes(name),
            kind: content_kind(flags),
            flags: section_flags(flags),
            address: s.virtual_address.get(LE).into(),
            size: s.size_of_raw_data.get(LE).into(),
            align: s.coff_alignment(),
        });
        for reloc in s.coff_relocations(data).map_err(malformed)? {
            r.count_relocation(&relocation_name(names, reloc.typ.get(LE)));
        }
        if name == DRECTVE {
            let contents = s.coff_data(data).map_err(|()| {
                Error::new("truncated or malformed PE/COFF file: .drectve data out of bounds")
            })?;
            let options = split_directives(contents);
            if !options.is_empty() {
                r.extra
                    .push(("linker directives (.drectve)".to_string(), options));
            }
        }
    }

    for (_, sym) in symbols.iter() {
        let class = sym.storage_class();
        let section = sym.section_number();
        let weak = class == pe::IMAGE_SYM_CLASS_WEAK_EXTERNAL;
        if class != pe::IMAGE_SYM_CLASS_EXTERNAL && !weak {
            continue;
        }
        let name = name_from_bytes(sym.name(symbols.strings()).map_err(malformed)?);
        if section == pe::IMAGE_SYM_UNDEFINED && (sym.value() == 0 || weak) {
            r.imports.push(Import {
                name,
                version: None,
                library: None,
                weak,
            });
        } else if section == pe::IMAGE_SYM_UNDEFINED
            || section.0 > 0
            || section == pe::IMAGE_SYM_ABSOLUTE
        {
            // Undefined with a value is a common symbol: a definition the linker allocates.
            r.exports.push(name);
        }
    }
    Ok(r)
}

/// A short import object (one member of an import library): one symbol from one DLL.
fn inspect_import_object(data: &[u8]) -> Result<Report> {
    let header = pe::ImportObjectHeader::parse(data, &mut 0).map_err(malformed)?;
    let import = ImportFile::parse(data).map_err(malformed)?;
    let mut r = Report::default();
    r.header("format", "COFF import object");
    r.header("machine", machine_name(header.machine.get(LE)));
    r.header("type", "import library member");
    let kind = match import.import_type() {
        ImportType::Code => "code",
        ImportType::Data => "data",
        ImportType::Const => "const",
    };
    r.header("import type", kind);
    let dll = display_name(&name_from_bytes(import.dll()));
    let exported = match import.import() {
        ImportName::Name(name) => display_name(&name_from_bytes(name)),
        ImportName::Ordinal(ordinal) => format!("#{ordinal}"),
    };
    r.header("imports", format!("{exported} from {dll}"));
    r.needed.push(dll.clone());
    r.imports.push(Import {
        name: name_from_bytes(import.symbol()),
        version: None,
        library: Some(dll),
        weak: false,
    });
    Ok(r)
}

fn inspect_image<Pe: ImageNtHeaders>(data: &[u8]) -> Result<Report> {
    let file = PeFile::<Pe>::parse(data).map_err(malformed)?;
    let nt = file.nt_headers();
    let optional = nt.optional_header();
    let file_header = nt.file_header();
    let sections = file.section_table();
    let directories = file.data_directories();
    let machine = file_header.machine.get(LE);
    let image_base = optional.image_base();
    let mut r = Report::default();

    r.header("format", if nt.is_type_64() { "PE32+" } else { "PE32" });
    r.header("machine", machine_name(machine));
    let characteristics = file_header.characteristics.get(LE);
    let is_dll = characteristics.contains(pe::IMAGE_FILE_DLL);
    r.header("type", if is_dll { "DLL" } else { "executable" });
    if characteristics.0 != 0 {
        r.header(
            "characteristics",
            join_flags(pe::FileFlags::NAMES, characteristics, "IMAGE_FILE_"),
        );
    }
    let subsystem = optional.subsystem();
    r.header(
        "subsystem",
        constant_name(subsystem.name(), "IMAGE_SUBSYSTEM_", subsystem.0),
    );
    let dll_flags = optional.dll_characteristics();
    if dll_flags.0 != 0 {
        r.header(
            "dll characteristics",
            join_flags(pe::DllFlags::NAMES, dll_flags, "IMAGE_DLLCHARACTERISTICS_"),
        );
    }
    r.header("image base", format!("{image_base:#x}"));

    // Images align sections once, in the optional header.
    let section_alignment = u64::from(optional.section_alignment());
    let mut section_names = Vec::new();
    for s in sections.iter() {
        // Images have no string table for long section names (those of MinGW point into a
        // COFF symbol table that may be absent), so the raw eight bytes are the name.
        check_in_file(
            data,
            s.pointer_to_raw_data.get(LE),
            s.size_of_raw_data.get(LE),
            "section data",
        )?;
        let name = name_from_bytes(s.raw_name());
        let flags = s.characteristics.get(LE);
        r.sections.push(Section {
            name: name.clone(),
            kind: content_kind(flags),
            flags: section_flags(flags),
            address: image_base.wrapping_add(s.virtual_address.get(LE).into()),
            size: s.virtual_size.get(LE).into(),
            align: section_alignment,
        });
        section_names.push(name);
    }

    let exports = match file.export_table().map_err(malformed)? {
        Some(table) => {
            let name_rva = table.directory().name.get(LE);
            if name_rva != 0 {
                r.soname = Some(display_name(&name_from_bytes(string_at(
                    &sections, data, name_rva,
                )?)));
            }
            let mut exports = Vec::new();
            for export in table.exports().map_err(malformed)? {
                // lld fills the slots below the first ordinal it uses with zero: no export.
                if export.name.is_none() && matches!(export.target, ExportTarget::Address(0)) {
                    continue;
                }
                let name = match export.name {
                    Some(name) => name_from_bytes(name),
                    None => format!("#{}", export.ordinal.0),
                };
                if let ExportTarget::Address(rva) = export.target {
                    exports.push((rva, name.clone()));
                }
                r.exports.push(name);
            }
            exports
        }
        None => Vec::new(),
    };

    let entry_rva = optional.address_of_entry_point();
    if entry_rva != 0 {
        r.entry = Some(image_base.wrapping_add(entry_rva.into()));
        r.entry_place = Some(place_of(entry_rva, &sections, &section_names, &exports));
    }

    if let Some(imports) = file.import_table().map_err(malformed)? {
        let mut descriptors = imports.descriptors().map_err(malformed)?;
        while let Some(descriptor) = descriptors.next().map_err(malformed)? {
            let dll = display_name(&name_from_bytes(
                imports.name(descriptor.name.get(LE)).map_err(malformed)?,
            ));
            r.needed.push(dll.clone());
            // The lookup table survives binding; the IAT is the fallback some linkers leave alone.
            let mut table = descriptor.original_first_thunk.get(LE);
            if table == 0 {
                table = descriptor.first_thunk.get(LE);
            }
            let mut thunks = imports.thunks(table).map_err(malformed)?;
            while let Some(thunk) = thunks.next::<Pe>().map_err(malformed)? {
                let name = import_name(imports.import::<Pe>(thunk).map_err(malformed)?);
                r.imports.push(Import {
                    name,
                    version: None,
                    library: Some(dll.clone()),
                    weak: false,
                });
            }
        }
    }
    if let Some(delayed) = file.delay_load_import_table().map_err(malformed)? {
        let mut descriptors = delayed.descriptors().map_err(malformed)?;
        while let Some(descriptor) = descriptors.next().map_err(malformed)? {
            let dll = display_name(&name_from_bytes(
                delayed
                    .name(descriptor.dll_name_rva.get(LE))
                    .map_err(malformed)?,
            ));
            r.needed.push(format!("{dll} (delay)"));
            let mut thunks = delayed
                .thunks(descriptor.import_name_table_rva.get(LE))
                .map_err(malformed)?;
            while let Some(thunk) = thunks.next::<Pe>().map_err(malformed)? {
                let name = import_name(delayed.import::<Pe>(thunk).map_err(malformed)?);
                r.imports.push(Import {
                    name,
                    version: None,
                    library: Some(dll.clone()),
                    weak: false,
                });
            }
        }
    }

    let names = pe::machine_names(machine);
    if let Some(mut blocks) = directories
        .relocation_blocks(data, &sections)
        .map_err(malformed)?
    {
        while let Some(block) = blocks.next().map_err(malformed)? {
            for reloc in block {
                let name = match names.rel_based.name(reloc.typ) {
                    Some(name) => name.to_string(),
                    None => format!("type {}", reloc.typ.0),
                };
                r.count_relocation(&name);
            }
        }
    }

    let lines: Vec<String> = directories
        .enumerate()
        .filter(|(_, d)| d.virtual_address.get(LE) != 0 || d.size.get(LE) != 0)
        .map(|(index, d)| format!("{} size={}", directory_name(index), d.size.get(LE)))
        .collect();
    if !lines.is_empty() {
        r.extra.push(("data directories".to_string(), lines));
    }
    Ok(r)
}

/// `object` reads the string table lazily; one cut short is a truncated file even when no name
/// happens to reach the missing part.
fn check_symbol_strings<Coff: CoffHeader>(header: &Coff, data: &[u8]) -> Result<()> {
    let start = u64::from(header.pointer_to_symbol_table());
    if start == 0 {
        return Ok(());
    }
    let symbols_size =
        u64::from(header.number_of_symbols()) * std::mem::size_of::<Coff::Symbol>() as u64;
    let strings = start.saturating_add(symbols_size);
    let length = usize::try_from(strings)
        .ok()
        .and_then(|at| data.get(at..))
        .and_then(|rest| rest.get(..4))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| {
            Error::new("truncated or malformed PE/COFF file: missing COFF string table")
        })?;
    check_in_file_u64(data, strings, length.into(), "string table")
}

fn check_in_file(data: &[u8], offset: u32, size: u32, what: &str) -> Result<()> {
    if size == 0 {
        return Ok(());
    }
    check_in_file_u64(data, offset.into(), size.into(), what)
}

/// Refuses a file range that runs past the end of the file, so a truncated file is reported as
/// one instead of dumped as if whole.
fn check_in_file_u64(data: &[u8], offset: u64, size: u64, what: &str) -> Result<()> {
    match offset.checked_add(size) {
        Some(end) if end <= data.len() as u64 => Ok(()),
        _ => bail!("truncated or malformed PE/COFF file: {what} at {offset:#x} (size {size:#x}) runs past the end of the file"),
    }
}

/// `ExitProcess`, or `#12` for an import by ordinal.
fn import_name(import: object::read::pe::Import<'_>) -> String {
    match import {
        object::read::pe::Import::Name(_hint, name) => name_from_bytes(name),
        object::read::pe::Import::Ordinal(ordinal) => format!("#{ordinal}"),
    }
}

/// A NUL-terminated string at an RVA, bounded by its section.
fn string_at<'data>(
    sections: &SectionTable<'data>,
    data: &'data [u8],
    rva: u32,
) -> Result<&'data [u8]> {
    let bytes = sections.pe_data_at(data, rva).ok_or_else(|| {
        Error::new(format!(
            "truncated or malformed PE/COFF file: no section holds RVA {rva:#x}"
        ))
    })?;
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => Ok(&bytes[..end]),
        None => bail!("truncated or malformed PE/COFF file: unterminated string at RVA {rva:#x}"),
    }
}

/// Where an RVA falls, without the address: `.text+0x10`, or `name (.text+0x10)` when an export
/// starts there.
fn place_of(
    rva: u32,
    sections: &SectionTable<'_>,
    names: &[String],
    exports: &[(u32, String)],
) -> String {
    let section_place = sections.iter().zip(names).find_map(|(s, name)| {
        let start = s.virtual_address.get(LE);
        let size = s.virtual_size.get(LE).max(s.size_of_raw_data.get(LE));
        let delta = rva.checked_sub(start)?;
        (delta < size).then(|| format!("{}+{delta:#x}", display_name(name)))
    });
    let symbol = exports
        .iter()
        .filter(|(at, _)| *at == rva)
        .map(|(_, name)| name)
        .min();
    match (symbol, section_place) {
        (Some(sym), Some(place)) => format!("{} ({place})", display_name(sym)),
        (Some(sym), None) => display_name(sym),
        (None, Some(place)) => place,
        (None, None) => "outside every section".to_string(),
    }
}

/// What a section holds, from its `IMAGE_SCN_CNT_*` bits: `CODE`, `INITIALIZED_DATA`,
/// `UNINITIALIZED_DATA`, joined when several are set, or `OTHER`.
fn content_kind(flags: pe::SectionFlags) -> String {
    let kinds: Vec<&str> = [
        (pe::IMAGE_SCN_CNT_CODE, "CODE"),
        (pe::IMAGE_SCN_CNT_INITIALIZED_DATA, "INITIALIZED_DATA"),
        (pe::IMAGE_SCN_CNT_UNINITIALIZED_DATA, "UNINITIALIZED_DATA"),
    ]
    .into_iter()
    .filter(|(bit, _)| flags.contains(*bit))
    .map(|(_, name)| name)
    .collect();
    if kinds.is_empty() {
        "OTHER".to_string()
    } else {
        kinds.join("|")
    }
}

/// A section's flags other than its contents (the kind) and alignment (shown apart):
/// `EXECUTE|READ`, `LNK_INFO|LNK_REMOVE`.
fn section_flags(flags: pe::SectionFlags) -> String {
    let shown = flags.0
        & !(pe::IMAGE_SCN_CNT_CODE.0
            | pe::IMAGE_SCN_CNT_INITIALIZED_DATA.0
            | pe::IMAGE_SCN_CNT_UNINITIALIZED_DATA.0
            | pe::IMAGE_SCN_ALIGN_MASK);
    join_flags(
        pe::SectionFlags::NAMES,
        pe::SectionFlags(shown),
        "IMAGE_SCN_",
    )
    .split('|')
    .map(|f| f.strip_prefix("MEM_").unwrap_or(f))
    .collect::<Vec<_>>()
    .join("|")
}

/// `IMAGE_REL_AMD64_REL32`, or `type N` for a type `object` does not name.
fn relocation_name(names: &pe::Names, typ: pe::RelocationType) -> String {
    let mut parts = Vec::new();
    let rest = names.rel.names(typ, |_, name| parts.push(name.to_string()));
    if parts.is_empty() {
        return format!("type {}", typ.0);
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// `IMPORT`, `IAT`, `BASERELOC`…: a data directory by its index.
fn directory_name(index: usize) -> String {
    match pe::NAMES_DIRECTORY_ENTRY.name(index) {
        Some(name) => name
            .trim_start_matches("IMAGE_DIRECTORY_ENTRY_")
            .to_string(),
        None => format!("entry {index}"),
    }
}

fn machine_name(machine: pe::Machine) -> String {
    constant_name(machine.name(), "IMAGE_FILE_MACHINE_", machine.0)
}

/// `.drectve`'s options, split on spaces as link.exe does; a quoted run (`/EXPORT:"a b"`) stays
/// one option, quotes and all. An option holding control characters is escaped to keep the dump
/// one option per line.
fn split_directives(contents: &[u8]) -> Vec<String> {
    // A UTF-8 byte order mark announces UTF-8 text; anything else is read as ASCII.
    let contents = contents.strip_prefix(b"\xef\xbb\xbf").unwrap_or(contents);
    let text = name_from_bytes(contents);
    let mut options = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            // Compilers pad the section with NULs.
            c if (c.is_whitespace() || c == '\0') && !quoted => {
                if !current.is_empty() {
                    options.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        options.push(current);
    }
    options
        .into_iter()
        .map(|o| {
            if o.chars().any(char::is_control) {
                format!("{o:?}")
            } else {
                o
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_kinds_and_flags() {
        let text = pe::IMAGE_SCN_CNT_CODE
            | pe::IMAGE_SCN_ALIGN_16BYTES
            | pe::IMAGE_SCN_MEM_EXECUTE
            | pe::IMAGE_SCN_MEM_READ;
        assert_eq!(content_kind(text), "CODE");
        assert_eq!(section_flags(text), "EXECUTE|READ");
        let drectve =
            pe::IMAGE_SCN_LNK_INFO | pe::IMAGE_SCN_LNK_REMOVE | pe::IMAGE_SCN_ALIGN_1BYTES;
        assert_eq!(content_kind(drectve), "OTHER");
        assert_eq!(section_flags(drectve), "LNK_INFO|LNK_REMOVE");
        let comdat = pe::IMAGE_SCN_CNT_INITIALIZED_DATA
            | pe::IMAGE_SCN_LNK_COMDAT
            | pe::IMAGE_SCN_MEM_READ
            | pe::IMAGE_SCN_MEM_WRITE
            | pe::IMAGE_SCN_MEM_DISCARDABLE
            | pe::IMAGE_SCN_MEM_SHARED;
        assert_eq!(
            section_flags(comdat),
            "LNK_COMDAT|DISCARDABLE|SHARED|READ|WRITE"
        );
        assert_eq!(section_flags(pe::SectionFlags(0x2000)), "0x2000");
        assert_eq!(
            content_kind(pe::IMAGE_SCN_CNT_CODE | pe::IMAGE_SCN_CNT_INITIALIZED_DATA),
            "CODE|INITIALIZED_DATA"
        );
    }

    #[test]
    fn header_names() {
        assert_eq!(machine_name(pe::IMAGE_FILE_MACHINE_AMD64), "AMD64");
        assert_eq!(machine_name(pe::IMAGE_FILE_MACHINE_I386), "I386");
        assert_eq!(machine_name(pe::Machine(0x1234)), "0x1234");
        let exe = pe::IMAGE_FILE_EXECUTABLE_IMAGE | pe::IMAGE_FILE_LARGE_ADDRESS_AWARE;
        assert_eq!(
            join_flags(pe::FileFlags::NAMES, exe, "IMAGE_FILE_"),
            "EXECUTABLE_IMAGE|LARGE_ADDRESS_AWARE"
        );
        let dll = pe::IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA
            | pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT
            | pe::DllFlags(0x1);
        assert_eq!(
            join_flags(pe::DllFlags::NAMES, dll, "IMAGE_DLLCHARACTERISTICS_"),
            "HIGH_ENTROPY_VA|NX_COMPAT|0x1"
        );
        assert_eq!(directory_name(1), "IMPORT");
        assert_eq!(directory_name(12), "IAT");
        assert_eq!(directory_name(15), "entry 15");
    }

    #[test]
    fn relocation_names() {
        let amd64 = pe::machine_names(pe::IMAGE_FILE_MACHINE_AMD64);
        assert_eq!(
            relocation_name(amd64, pe::IMAGE_REL_AMD64_REL32),
            "IMAGE_REL_AMD64_REL32"
        );
        assert_eq!(
            relocation_name(amd64, pe::IMAGE_REL_AMD64_ADDR64),
            "IMAGE_REL_AMD64_ADDR64"
        );
        assert_eq!(
            relocation_name(amd64, pe::RelocationType(0x7777)),
            "type 30583"
        );
        let i386 = pe::machine_names(pe::IMAGE_FILE_MACHINE_I386);
        assert_eq!(
            relocation_name(i386, pe::IMAGE_REL_I386_DIR32),
            "IMAGE_REL_I386_DIR32"
        );
    }

    #[test]
    fn directives_split_on_spaces_outside_quotes() {
        let got =
            split_directives(b"\xef\xbb\xbf /DEFAULTLIB:\"libcmt\"  /EXPORT:\"a b\" -export:x\0\0");
        assert_eq!(
            got,
            ["/DEFAULTLIB:\"libcmt\"", "/EXPORT:\"a b\"", "-export:x"]
        );
        assert_eq!(split_directives(b"/x:\x01"), ["\"/x:\\u{1}\""]);
        assert!(split_directives(b"   ").is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut data = b"MZ".to_vec();
        data.resize(256, 0xff);
        assert!(inspect(&data, &InspectOptions::default()).is_err());
        assert!(inspect(b"nope", &InspectOptions::default()).is_err());
    }
}
