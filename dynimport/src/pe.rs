//! PE: imports from the import directory (and, for rlink, the delay-load directory), exports
//! from the export directory.

use object::pe::{self as abi, ImageNtHeaders32, ImageNtHeaders64};
use object::read::pe::{ImageNtHeaders, Import as PeImport, PeFile};
use object::{FileKind, LittleEndian as LE};

use crate::{quote, Error, Export, Facts, Import, OutputFormat, Result};

fn malformed(err: impl std::fmt::Display) -> Error {
    Error(format!("truncated or malformed PE file: {err}"))
}

pub(crate) fn imports(data: &[u8], format: OutputFormat) -> Result<Facts> {
    match FileKind::parse(data) {
        Ok(FileKind::Pe32) => imports_of::<ImageNtHeaders32>(data, format),
        Ok(FileKind::Pe64) => imports_of::<ImageNtHeaders64>(data, format),
        _ => Err(malformed("bad header")),
    }
}

pub(crate) fn exports(data: &[u8]) -> Result<(Vec<Export>, Option<Vec<u8>>)> {
    match FileKind::parse(data) {
        Ok(FileKind::Pe32) => exports_of::<ImageNtHeaders32>(data),
        Ok(FileKind::Pe64) => exports_of::<ImageNtHeaders64>(data),
        _ => Err(malformed("bad header")),
    }
}

fn imports_of<Pe: ImageNtHeaders>(data: &[u8], format: OutputFormat) -> Result<Facts> {
    let file = PeFile::<Pe>::parse(data).map_err(malformed)?;
    match format {
        OutputFormat::Go => go_imports(&file, data),
        OutputFormat::Rlink => rlink_imports(&file),
    }
}

/// Reads a little-endian integer of `N` bytes at `offset`, if it is all there.
fn read_le<const N: usize>(bytes: &[u8], offset: usize) -> Option<u64> {
    let field: [u8; N] = bytes.get(offset..offset.checked_add(N)?)?.try_into().ok()?;
    Some(
        field
            .iter()
            .rev()
            .fold(0, |value, &b| value << 8 | u64::from(b)),
    )
}

/// Go's `getString`: the NUL-terminated string at `offset`, or `""` if there is none.
fn go_get_string(bytes: &[u8], offset: usize) -> &[u8] {
    bytes
        .get(offset..)
        .and_then(|rest| rest.iter().position(|&b| b == 0).map(|end| &rest[..end]))
        .unwrap_or_default()
}

/// Go's `debug/pe` `ImportedSymbols`, as cgo turns it into directives.
///
/// Go reads everything (descriptors, names, thunks) from the one section holding the import
/// directory, subtracting RVAs in 32-bit wrapping arithmetic; descriptors end at the first
/// with a zero `OriginalFirstThunk`; imports by ordinal are skipped; no library lines.
fn go_imports<Pe: ImageNtHeaders>(file: &PeFile<'_, Pe>, data: &[u8]) -> Result<Facts> {
    let mut facts = Facts::default();
    let Some(directory) = file.data_directory(abi::IMAGE_DIRECTORY_ENTRY_IMPORT) else {
        return Ok(facts);
    };
    let import_rva = directory.virtual_address.get(LE);
    let sections = file.section_table();
    let Some(section) = sections.iter().find(|section| {
        let start = u64::from(section.virtual_address.get(LE));
        let end = start + u64::from(section.virtual_size.get(LE));
        start <= u64::from(import_rva) && u64::from(import_rva) < end
    }) else {
        return Ok(facts);
    };
    let section_rva = section.virtual_address.get(LE);
    let bytes = data
        .get(section.pointer_to_raw_data.get(LE) as usize..)
        .and_then(|rest| rest.get(..section.size_of_raw_data.get(LE) as usize))
        .ok_or_else(|| malformed("import section data is outside the file"))?;
    let offset_of = |rva: u32| rva.wrapping_sub(section_rva) as usize;

    let descriptors = bytes
        .get(offset_of(import_rva)..)
        .ok_or_else(|| malformed("import directory is outside its section's data"))?;
    let is_64 = file.nt_headers().is_type_64();
    let thunk_size = if is_64 { 8 } else { 4 };
    for descriptor in descriptors.chunks_exact(20) {
        let field = |at: usize| read_le::<4>(descriptor, at).unwrap_or_default() as u32;
        let original_first_thunk = field(0);
        if original_first_thunk == 0 {
            break;
        }
        let dll = go_get_string(bytes, offset_of(field(12)));
        let thunks = bytes
            .get(offset_of(original_first_thunk)..)
            .ok_or_else(|| malformed("import lookup table is outside its section's data"))?;
        for thunk in thunks.chunks_exact(thunk_size) {
            let (value, by_ordinal) = if is_64 {
                let value = read_le::<8>(thunk, 0).unwrap_or_default();
                (value, value & (1 << 63) != 0)
            } else {
                let value = read_le::<4>(thunk, 0).unwrap_or_default();
                (value, value & (1 << 31) != 0)
            };
            if value == 0 {
                break;
            }
            if by_ordinal {
                continue;
            }
            let hint_name = (value as u32).wrapping_sub(section_rva).wrapping_add(2);
            let name = go_get_string(bytes, hint_name as usize);
            facts.imports.push(go_import(name, dll));
        }
    }
    Ok(facts)
}

/// cgo joins `name:dll`, splits at `:`, and takes the local name up to the first `@`.
fn go_import(name: &[u8], dll: &[u8]) -> Import {
    let mut joined = name.to_vec();
    joined.push(b':');
    joined.extend_from_slice(dll);
    let mut fields = joined.split(|&b| b == b':');
    let remote = fields.next().unwrap_or_default();
    let library = fields.next().unwrap_or_default();
    let local = remote.split(|&b| b == b'@').next().unwrap_or_default();
    Import {
        local: local.to_vec(),
        remote: remote.to_vec(),
        library: quote::go_to_lower(library),
    }
}

/// The C name of a 32-bit `__stdcall` import: `Name@12` is `Name`.
fn undecorated(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b'@') {
        Some(at)
            if at > 0 && at + 1 < name.len() && name[at + 1..].iter().all(u8::is_ascii_digit) =>
        {
            &name[..at]
        }
        _ => name,
    }
}

fn named_import(import: PeImport<'_>, dll: &[u8]) -> Option<Import> {
    match import {
        PeImport::Name(_, name) if !name.is_empty() => Some(Import {
            local: undecorated(name).to_vec(),
            remote: name.to_vec(),
            library: dll.to_vec(),
        }),
        // Directives cannot name an import by ordinal.
        _ => None,
    }
}

/// Every named import and every DLL, delay-loaded ones included, DLL names as written.
fn rlink_imports<Pe: ImageNtHeaders>(file: &PeFile<'_, Pe>) -> Result<Facts> {
    let mut facts = Facts::default();
    if let Some(table) = file.import_table().map_err(malformed)? {
        let mut descriptors = table.descriptors().map_err(malformed)?;
        while let Some(descriptor) = descriptors.next().map_err(malformed)? {
            let dll = table.name(descriptor.name.get(LE)).map_err(malformed)?;
            let lookup = match descriptor.original_first_thunk.get(LE) {
                0 => descriptor.first_thunk.get(LE),
                rva => rva,
            };
            let mut thunks = table.thunks(lookup).map_err(malformed)?;
            while let Some(thunk) = thunks.next::<Pe>().map_err(malformed)? {
                let import = table.import::<Pe>(thunk).map_err(malformed)?;
                facts.imports.extend(named_import(import, dll));
            }
            facts.libraries.push(dll.to_vec());
        }
    }
    if let Some(table) = file.delay_load_import_table().map_err(malformed)? {
        let mut descriptors = table.descriptors().map_err(malformed)?;
        while let Some(descriptor) = descriptors.next().map_err(malformed)? {
            let dll = table
                .name(descriptor.dll_name_rva.get(LE))
                .map_err(malformed)?;
            let mut thunks = table
                .thunks(descriptor.import_name_table_rva.get(LE))
                .map_err(malformed)?;
            while let Some(thunk) = thunks.next::<Pe>().map_err(malformed)? {
                let import = table.import::<Pe>(thunk).map_err(malformed)?;
                facts.imports.extend(named_import(import, dll));
            }
            facts.libraries.push(dll.to_vec());
        }
    }
    Ok(facts)
}

fn exports_of<Pe: ImageNtHeaders>(data: &[u8]) -> Result<(Vec<Export>, Option<Vec<u8>>)> {
    let file = PeFile::<Pe>::parse(data).map_err(malformed)?;
    let Some(table) = file.export_table().map_err(malformed)? else {
        return Ok((Vec::new(), None));
    };
    let exports = table
        .exports()
        .map_err(malformed)?
        .into_iter()
        .filter_map(|export| export.name)
        .filter(|name| !name.is_empty())
        .map(|name| Export {
            name: undecorated(name).to_vec(),
            versioned_name: name.to_vec(),
        })
        .collect();
    let dll = match table.directory().name.get(LE) {
        0 => None,
        rva => Some(table.name_from_pointer(rva).map_err(malformed)?.to_vec()),
    };
    Ok((exports, dll))
}
