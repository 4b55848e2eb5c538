//! Finding the directive section in objects and archives.
//!
//! `object` does the format work; this module only decides what counts as an object, which
//! section is ours, and how failures are named for diagnostics.

use std::fmt;

use object::read::archive::ArchiveFile;
use object::{CompressionFormat, FileKind, Object, ObjectSection};

use crate::parse::{parse_bytes, Directive};
use crate::{ELF_SECTION, MACHO_SECTION, MACHO_SEGMENT};

/// How diagnostics name the Mach-O section: `segment,section`, as in assembler syntax.
const MACHO_DISPLAY_NAME: &str = "__RLINK,__directives";

/// Why an input could not be searched for directives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectError {
    /// The bytes are not an ELF, Mach-O or COFF object.
    NotAnObject,
    /// The magic says `format`, but `object` could not read the file.
    Malformed {
        format: &'static str,
        reason: String,
    },
    /// A well-formed object whose directive section rlink cannot read as it stands.
    Unsupported {
        format: &'static str,
        reason: String,
    },
    /// [`section_in_object`] found `count` sections named `section`; [`sections_in_object`]
    /// reads them all.
    SeveralSections { section: &'static str, count: usize },
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectError::NotAnObject => f.write_str("not an ELF, Mach-O or COFF object"),
            ObjectError::Malformed { format, reason } => {
                write!(f, "truncated or malformed {format} file: {reason}")
            }
            ObjectError::Unsupported { format, reason } => {
                write!(f, "unsupported {format} file: {reason}")
            }
            ObjectError::SeveralSections { section, count } => write!(
                f,
                "{count} sections named {section}: read them with sections_in_object"
            ),
        }
    }
}

impl std::error::Error for ObjectError {}

/// The directives of one object, or of one archive member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundDirectives {
    /// The archive member they came from; `None` for a plain object.
    pub member: Option<String>,
    /// The section as diagnostics name it (`.rlink.directives` or `__RLINK,__directives`).
    pub section: &'static str,
    pub directives: Vec<Directive>,
}

/// A file, or one of its archive members, whose directives could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The archive member at fault; `None` for a plain object or the archive as a whole.
    pub member: Option<String>,
    /// The complete message after `FILE(MEMBER): `, e.g. `.rlink.directives:3: invalid cgo
    /// directive: …`.
    pub message: String,
}

/// Only the message: the caller knows the file name and adds `file(member): ` in front.
impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FileError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Elf,
    MachO,
    Coff,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Elf => "ELF",
            Format::MachO => "Mach-O",
            Format::Coff => "COFF",
        }
    }
}

/// Recognises an object by its magic alone, so that a truncated object is reported as a broken
/// object rather than as "not an object", and archive members that are something else entirely
/// (rustc metadata, bitcode, import stubs, text) can be told apart and skipped.
fn object_format(data: &[u8]) -> Option<Format> {
    const ELF_MAGIC: &[u8] = b"\x7fELF";
    // MH_MAGIC, MH_CIGAM, MH_MAGIC_64, MH_CIGAM_64 as they appear in the file: the magic is
    // written in the object's own byte order. Fat binaries are deliberately absent: they are
    // containers of objects, not objects, and never occur as linker input members.
    const MACHO_MAGICS: [[u8; 4]; 4] = [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xcf, 0xfa, 0xed, 0xfe],
    ];
    if data.starts_with(ELF_MAGIC) {
        return Some(Format::Elf);
    }
    if MACHO_MAGICS.iter().any(|magic| data.starts_with(magic)) {
        return Some(Format::MachO);
    }
    // COFF has no magic of its own, only a machine number; `object` knows which ones it reads
    // and how to recognise a bigobj header.
    match FileKind::parse(data) {
        Ok(FileKind::Coff | FileKind::CoffBig) => Some(Format::Coff),
        _ => None,
    }
}

/// The diagnostic name shared by an object's directive sections, and their bytes in section
/// order.
pub type NamedSections<'data> = (&'static str, Vec<&'data [u8]>);

/// Finds the directive section of an ELF, Mach-O or COFF object (including 32-bit Mach-O and
/// COFF bigobj) and returns its diagnostic name and raw bytes; a zero-fill section gives empty
/// bytes. `Ok(None)` means a valid object without directives.
///
/// An object may carry several sections of that name: LLVM gives every `#[used]` static its own
/// ELF section (they are `SHF_GNU_RETAIN`, which is per section), and COFF allows duplicates.
/// One slice cannot describe them, and returning only the first would silently drop
/// directives, so that case is [`ObjectError::SeveralSections`]; use [`sections_in_object`] or
/// [`directives_in_file`], which read them all.
pub fn section_in_object(data: &[u8]) -> Result<Option<(&'static str, &[u8])>, ObjectError> {
    match sections_in_object(data)? {
        None => Ok(None),
        Some((name, sections)) => match sections[..] {
            [bytes] => Ok(Some((name, bytes))),
            _ => Err(ObjectError::SeveralSections {
                section: name,
                count: sections.len(),
            }),
        },
    }
}

/// Every directive section of an object, in section order, with the diagnostic name they share
/// (see [`section_in_object`]); `Ok(None)` for a valid object without directives. Read as one
/// text, they are what a linker concatenating them would produce.
pub fn sections_in_object(data: &[u8]) -> Result<Option<NamedSections<'_>>, ObjectError> {
    let format = object_format(data).ok_or(ObjectError::NotAnObject)?;
    if format == Format::Elf && elf_names_no_directives(data) {
        return Ok(None);
    }
    let malformed = |error: object::Error| ObjectError::Malformed {
        format: format.name(),
        reason: error.to_string(),
    };
    let file = object::File::parse(data).map_err(malformed)?;
    let display_name = match format {
        Format::MachO => MACHO_DISPLAY_NAME,
        Format::Elf | Format::Coff => ELF_SECTION,
    };
    let mut found = Vec::new();
    for section in file.sections() {
        let is_ours = match format {
            Format::MachO => {
                section.name_bytes().map_err(malformed)? == MACHO_SECTION.as_bytes()
                    && section.segment_name_bytes().map_err(malformed)?
                        == Some(MACHO_SEGMENT.as_bytes())
            }
            // COFF_SECTION is the same name; `object` resolves COFF's `/4` string-table names.
            Format::Elf | Format::Coff => {
                section.name_bytes().map_err(malformed)? == ELF_SECTION.as_bytes()
            }
        };
        if !is_ours {
            continue;
        }
        // Compressed bytes would only surface later as a confusing UTF-8 error, and nothing
        // has a reason to compress a few lines of text.
        let compression = section.compressed_file_range().map_err(malformed)?.format;
        if compression != CompressionFormat::None {
            return Err(ObjectError::Unsupported {
                format: format.name(),
                reason: format!("section {display_name} is compressed"),
            });
        }
        found.push(section.data().map_err(malformed)?);
    }
    Ok((!found.is_empty()).then_some((display_name, found)))
}

/// Whether an ELF object certainly has no directive section: its section-name table does not
/// hold the name (a name there may be another's suffix; then the full reading decides).
/// Objects carry thousands of sections, and most none of ours: one search of the names' bytes
/// replaces reading every section header. Anything unusual (not 64-bit little-endian, a
/// damaged header) is left to the full reading, which reports it.
fn elf_names_no_directives(data: &[u8]) -> bool {
    use object::read::elf::{FileHeader as _, SectionHeader as _};
    let endian = object::LittleEndian;
    let Ok(header) = object::elf::FileHeader64::<object::LittleEndian>::parse(data) else {
        return false;
    };
    if !header.is_little_endian() {
        return false;
    }
    let (Ok(headers), Ok(index)) = (
        header.section_headers(endian, data),
        header.shstrndx(endian, data),
    ) else {
        return false;
    };
    let Some(Ok(names)) = headers.get(index as usize).map(|s| s.data(endian, data)) else {
        return false;
    };
    let mut needle = ELF_SECTION.as_bytes().to_vec();
    needle.push(0);
    memchr::memmem::find(names, &needle).is_none()
}

/// Reads the directives of a plain object (at most one entry, `member` `None`) or of an archive
/// (one entry per object member carrying the section, in member order). Archive members that are
/// not objects — rustc metadata, symbol tables, text — are skipped.
pub fn directives_in_file(data: &[u8]) -> Result<Vec<FoundDirectives>, FileError> {
    // `object` wants more bytes than an empty archive (glibc's libpthread.a) has.
    if data.starts_with(b"!<arch>\n") || data.starts_with(b"!<thin>\n") {
        if data.len() == 8 {
            return Ok(Vec::new());
        }
        return directives_in_archive(data);
    }
    if matches!(FileKind::parse(data), Ok(FileKind::Archive)) {
        return directives_in_archive(data);
    }
    let found = directives_in_object(data, None)?;
    Ok(found.into_iter().collect())
}

fn directives_in_archive(data: &[u8]) -> Result<Vec<FoundDirectives>, FileError> {
    let mut found = Vec::new();
    for (name, bytes) in archive_objects(data)? {
        found.extend(directives_in_member(bytes, name)?);
    }
    Ok(found)
}

/// An archive's object members, named, in member order, for a caller that reads their
/// directives with [`directives_in_member`] (in parallel, say): [`directives_in_file`] on
/// the archive is the two in turn. Not for thin archives, whose members are files of their own.
pub fn archive_objects(data: &[u8]) -> Result<Vec<(String, &[u8])>, FileError> {
    // `object` wants more bytes than an empty archive (glibc's libpthread.a) has.
    if data.len() == 8 {
        return Ok(Vec::new());
    }
    let archive_error = |error: object::Error| FileError {
        member: None,
        message: format!("truncated or malformed archive: {error}"),
    };
    let archive = ArchiveFile::parse(data).map_err(archive_error)?;
    let mut objects = Vec::new();
    for member in archive.members() {
        let member = member.map_err(archive_error)?;
        let name = String::from_utf8_lossy(member.name()).into_owned();
        // A thin archive's members live in their own files, which the caller must open;
        // silently finding no directives there would drop imports on the floor.
        if member.is_thin() {
            return Err(FileError {
                member: Some(name),
                message: "member of a thin archive: read the member file itself".to_string(),
            });
        }
        let bytes = member.data(data).map_err(|error| FileError {
            member: Some(name.clone()),
            message: format!("truncated or malformed archive member: {error}"),
        })?;
        if object_format(bytes).is_some() {
            objects.push((name, bytes));
        }
    }
    Ok(objects)
}

/// The directives of one archive member (from [`archive_objects`]), if it carries any.
pub fn directives_in_member(
    data: &[u8],
    member: String,
) -> Result<Option<FoundDirectives>, FileError> {
    directives_in_object(data, Some(member))
}

fn directives_in_object(
    data: &[u8],
    member: Option<String>,
) -> Result<Option<FoundDirectives>, FileError> {
    let (section, sections) = match sections_in_object(data) {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(None),
        Err(error) => {
            return Err(FileError {
                member,
                message: error.to_string(),
            })
        }
    };
    // Number lines as in the sections' concatenation, so that in an object with one section
    // per static an error still points at a distinct line.
    let mut lines_before = 0;
    let mut directives = Vec::new();
    for bytes in sections {
        match parse_bytes(bytes) {
            Ok(parsed) => directives.extend(parsed.into_iter().map(|mut directive| {
                directive.line += lines_before;
                directive
            })),
            Err(mut error) => {
                error.line += lines_before;
                return Err(FileError {
                    member,
                    message: error.with_origin(section),
                });
            }
        }
        lines_before += bytes.iter().filter(|&&byte| byte == b'\n').count();
    }
    Ok(Some(FoundDirectives {
        member,
        section,
        directives,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_macros() {
        // The macros spell the section names as literals; keep them in step with the constants.
        assert_eq!(
            MACHO_DISPLAY_NAME,
            format!("{MACHO_SEGMENT},{MACHO_SECTION}")
        );
        assert_eq!(crate::COFF_SECTION, ELF_SECTION);
        let source = include_str!("macros.rs");
        assert!(source.contains(&format!("link_section = \"{MACHO_DISPLAY_NAME}\"")));
        assert!(source.contains(&format!("link_section = \"{ELF_SECTION}\"")));
    }

    #[test]
    fn not_objects() {
        for data in [&b""[..], b"hello world, this is text\n", b"\x7fEL", b"MZ"] {
            assert_eq!(section_in_object(data), Err(ObjectError::NotAnObject));
        }
        assert_eq!(
            ObjectError::NotAnObject.to_string(),
            "not an ELF, Mach-O or COFF object"
        );
    }

    #[test]
    fn truncated_magic_is_malformed() {
        let error = section_in_object(b"\x7fELF\x02\x01").unwrap_err();
        assert!(
            matches!(error, ObjectError::Malformed { format: "ELF", .. }),
            "{error:?}"
        );
        assert!(error
            .to_string()
            .starts_with("truncated or malformed ELF file: "));
        let error = section_in_object(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0]).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("truncated or malformed Mach-O file: "));
    }

    #[test]
    fn garbage_archive() {
        let error = directives_in_file(b"!<arch>\nthis is not a member header at all").unwrap_err();
        assert_eq!(error.member, None);
        assert!(
            error
                .message
                .starts_with("truncated or malformed archive: "),
            "{error}"
        );
    }
}
