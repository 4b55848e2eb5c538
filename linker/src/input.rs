//! Opening inputs: every file is memory-mapped once and parsed in place; archives are
//! walked member by member without copying.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use object::read::archive::ArchiveFile;

use crate::bail;
use crate::diag::{Error, Result};

/// A file mapped read-only for the life of the link.
pub struct MappedFile {
    pub path: PathBuf,
    bytes: Bytes,
}

/// Lets the kernel take back the pages of `bytes` that lie wholly inside it, which must be
/// part of a read-only map of a file ([`MappedFile::is_mapped`]): the process's memory shrinks
/// by them, and a later read finds the same bytes again in the file's cached pages. The
/// relocation pass hands each file back once it has copied everything it needs of the file's
/// objects, so the inputs and the output are not all resident at once.
pub fn release(bytes: &[u8]) {
    const PAGE: usize = 4096;
    let start = (bytes.as_ptr() as usize).next_multiple_of(PAGE);
    let end = (bytes.as_ptr() as usize + bytes.len()) & !(PAGE - 1);
    if end > start {
        // SAFETY: whole pages of a private read-only file mapping: dropping them changes no
        // byte any reader can see (the next access reads the file's page again).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Where an input's bytes live: a read-only map of the file, or memory the caller handed
/// over (in-memory links: the fuzz targets, tests).
enum Bytes {
    /// Mapping zero bytes is an error on Linux, so empty files have no map.
    Empty,
    Map(Mmap),
    Owned(Vec<u8>),
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            bail!("{}: is a directory", path.display());
        }
        let bytes = if meta.len() == 0 {
            Bytes::Empty
        } else {
            // SAFETY: the map is read-only and private. Like every linker that maps its
            // inputs (lld, mold, wild), we accept that another process truncating an input
            // during the link is outside what we can defend against.
            let map = unsafe { Mmap::map(&file) }
                .map_err(|e| Error::new(format!("{}: cannot map: {e}", path.display())))?;
            Bytes::Map(map)
        };
        Ok(MappedFile {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// An input that is already in memory, named `path` in diagnostics.
    pub fn from_bytes(path: impl Into<PathBuf>, data: Vec<u8>) -> Self {
        MappedFile {
            path: path.into(),
            bytes: Bytes::Owned(data),
        }
    }

    /// Whether the bytes are a read-only map of the file (see [`release`]).
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Map(_))
    }

    pub fn data(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Empty => &[],
            Bytes::Map(m) => m,
            Bytes::Owned(v) => v,
        }
    }

    /// The path as diagnostics print it.
    pub fn display_name(&self) -> String {
        self.path.display().to_string()
    }
}

/// What an input file is, decided from its first bytes, never from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Elf,
    MachO,
    /// A universal (fat) Mach-O file holding several architectures.
    MachOFat,
    /// A COFF relocatable object (`.obj`, or `.o` from a Windows target).
    Coff,
    /// A PE image (`.exe`, `.dll`).
    Pe,
    Archive,
    /// Text: a GNU linker script (`libc.so`) or a directives file.
    Text,
    /// A text-based dylib stub (`.tbd`, TAPI v3/v4 YAML or v5 JSON): what a Mach-O dylib
    /// exports, as SDKs ship them.
    Tbd,
    /// rlink's text manifest of a shared library's exports (bundled glibc libraries), starting
    /// with [`EXPORTS_MAGIC`].
    Exports,
    Unknown,
}

/// The first line of an exports manifest.
pub const EXPORTS_MAGIC: &[u8] = b"# rlink exports manifest\n";

/// A TAPI stub: YAML documents tagged `!tapi-tbd` (v3, v4), or JSON with
/// `"tapi_tbd_version"` (v5).
fn is_tbd(data: &[u8]) -> bool {
    // TAPI v5 is JSON, whose writers may put the version key anywhere (llvm-readtapi sorts
    // keys, so it comes last): the whole text is searched.
    data.starts_with(b"--- !tapi-tbd")
        || (data.trim_ascii_start().starts_with(b"{")
            && data.windows(18).any(|w| w == b"\"tapi_tbd_version\""))
}

impl FileKind {
    pub fn identify(data: &[u8]) -> FileKind {
        use object::FileKind as K;
        // object wants more bytes than an empty archive has before it names a kind.
        if data.starts_with(b"!<arch>\n") || data.starts_with(b"!<thin>\n") {
            return FileKind::Archive;
        }
        match K::parse(data) {
            Ok(K::Elf32 | K::Elf64) => FileKind::Elf,
            Ok(K::MachO32 | K::MachO64) => FileKind::MachO,
            Ok(K::MachOFat32 | K::MachOFat64) => FileKind::MachOFat,
            Ok(K::Coff | K::CoffBig | K::CoffImport) => FileKind::Coff,
            Ok(K::Pe32 | K::Pe64) => FileKind::Pe,
            Ok(K::Archive) => FileKind::Archive,
            _ if is_tbd(data) => FileKind::Tbd,
            _ if data.starts_with(EXPORTS_MAGIC) => FileKind::Exports,
            _ if looks_like_text(data) => FileKind::Text,
            _ => FileKind::Unknown,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Elf => "an ELF file",
            FileKind::MachO => "a Mach-O file",
            FileKind::MachOFat => "a universal Mach-O file",
            FileKind::Coff => "a COFF object",
            FileKind::Pe => "a PE image",
            FileKind::Archive => "an archive",
            FileKind::Text => "a text file",
            FileKind::Tbd => "a .tbd dylib stub",
            FileKind::Exports => "an exports manifest",
            FileKind::Unknown => "a file of unknown kind",
        }
    }
}

/// Text files (linker scripts, directive files) are UTF-8 without control characters other
/// than white space in their first block.
fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(4096)];
    let control = |b: &u8| (*b < 0x20 && !b"\t\n\r\x0c".contains(b)) || *b == 0x7f;
    !head.is_empty() && !head.iter().any(control) && utf8_prefix_ok(head)
}

/// A 4 KiB cut can split a multi-byte character: accept a valid prefix that ends early.
fn utf8_prefix_ok(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// One member of an archive, borrowed from the mapped archive.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
}

/// The members of an archive in file order, symbol tables and name tables excluded. The
/// whole archive is checked first — every member header, every size, the symbol table — so a
/// damaged archive is an error naming it, never an archive that silently offers nothing.
pub fn archive_members(data: &[u8]) -> Result<Vec<Member<'_>>> {
    check_archive_framing(data)?;
    let archive =
        ArchiveFile::parse(data).map_err(|e| Error::new(format!("malformed archive: {e}")))?;
    if let Some(symbols) = archive
        .symbols()
        .map_err(|e| Error::new(format!("malformed archive symbol table: {e}")))?
    {
        // Every member the table names must be an object: a damaged one would otherwise be
        // skipped as "not an object" and its symbols reported undefined, with no word about
        // the archive.
        let mut checked = std::collections::HashSet::new();
        // A member's symbols are listed together (in member order, as archivers write
        // them): the last offset seen answers most, before a hash lookup — std's rlib lists
        // tens of thousands of symbols in a handful of members.
        let mut last = None;
        for symbol in symbols {
            let symbol =
                symbol.map_err(|e| Error::new(format!("malformed archive symbol table: {e}")))?;
            let offset = symbol.offset();
            if last == Some(offset.0) {
                continue;
            }
            last = Some(offset.0);
            if !checked.insert(offset.0) {
                continue;
            }
            let name = String::from_utf8_lossy(symbol.name());
            let member = archive.member(offset).map_err(|e| {
                Error::new(format!(
                    "malformed archive symbol table: symbol {name} names offset {:#x}: {e}",
                    offset.0
                ))
            })?;
            let kind = member.data(data).map(FileKind::identify);
            if !matches!(kind, Ok(FileKind::Elf | FileKind::Coff | FileKind::MachO)) {
                bail!(
                    "malformed archive: the symbol table puts {name} in member {} at offset \
                     {:#x}, which is not an object",
                    String::from_utf8_lossy(member.name()),
                    offset.0
                );
            }
        }
    }
    let mut members = Vec::new();
    for member in archive.members() {
        let member = member.map_err(|e| Error::new(format!("malformed archive member: {e}")))?;
        let name = std::str::from_utf8(member.name())
            .map_err(|_| Error::new("archive member name is not valid UTF-8"))?;
        let data = member
            .data(data)
            .map_err(|e| Error::new(format!("{name}: archive member out of bounds: {e}")))?;
        members.push(Member { name, data });
    }
    Ok(members)
}

/// The names of an archive's members, without the checks of [`archive_members`]: for a
/// question about names only. A malformed archive ends the names where it goes wrong (loading
/// reports it).
pub fn archive_member_names(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    ArchiveFile::parse(data)
        .ok()
        .into_iter()
        .flat_map(|archive| archive.members().map_while(|m| m.ok()).map(|m| m.name()))
}

/// A thin archive keeps only its members' names; their bytes are files of their own.
pub fn is_thin_archive(data: &[u8]) -> bool {
    data.starts_with(b"!<thin>\n")
}

/// A thin archive's members: each name, and the path of its file (relative names are beside
/// the archive).
pub fn thin_archive_members(archive: &MappedFile) -> Result<Vec<(String, PathBuf)>> {
    let name = archive.display_name();
    let parsed = ArchiveFile::parse(archive.data())
        .map_err(|e| Error::new(format!("{name}: malformed archive: {e}")))?;
    let dir = archive.path.parent().unwrap_or(Path::new(""));
    let mut members = Vec::new();
    for member in parsed.members() {
        let member =
            member.map_err(|e| Error::new(format!("{name}: malformed archive member: {e}")))?;
        let member_name = std::str::from_utf8(member.name())
            .map_err(|_| Error::new(format!("{name}: archive member name is not valid UTF-8")))?;
        members.push((member_name.to_string(), dir.join(member_name)));
    }
    Ok(members)
}

/// Walks the member headers of a System V / GNU / BSD archive from the magic to the last
/// byte: each header is 60 bytes ending in `` `\n ``, its size is decimal and its data (padded
/// to an even length) lies inside the file. A thin archive keeps only its symbol and name
/// tables inline; other members' sizes describe files elsewhere.
fn check_archive_framing(data: &[u8]) -> Result<()> {
    let thin = is_thin_archive(data);
    if !thin && !data.starts_with(b"!<arch>\n") {
        bail!("malformed archive: no archive magic");
    }
    let mut at = 8usize;
    let mut index = 0;
    while at < data.len() {
        // Some archivers pad the file with one newline after an odd-sized last member.
        if data.len() - at == 1 && data[at] == b'\n' {
            break;
        }
        let Some(header) = data.get(at..at + 60) else {
            bail!("malformed archive: member {index} at offset {at:#x}: truncated header");
        };
        if &header[58..60] != b"`\n" {
            bail!("malformed archive: member {index} at offset {at:#x}: bad header terminator");
        }
        let size = std::str::from_utf8(&header[48..58])
            .ok()
            .map(str::trim_end)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<usize>().ok());
        let Some(size) = size else {
            bail!(
                "malformed archive: member {index} at offset {at:#x}: size {:?} is not a number",
                String::from_utf8_lossy(&header[48..58])
            );
        };
        let name = &header[..16];
        let inline = !thin
            || name.starts_with(b"/ ")
            || name.starts_with(b"// ")
            || name.starts_with(b"/SYM64/");
        let body = at + 60;
        let next = if inline {
            match body.checked_add(size) {
                Some(end) if end <= data.len() => end + (size & 1),
                _ => bail!(
                    "malformed archive: member {index} at offset {at:#x}: its {size} bytes run \
                     past the end of the archive ({} bytes)",
                    data.len()
                ),
            }
        } else {
            body
        };
        // A BSD long name (`#1/LEN`) is stored at the start of the member's data.
        if let Some(len) = name.strip_prefix(b"#1/") {
            let len = std::str::from_utf8(len)
                .ok()
                .and_then(|l| l.trim_end().parse::<usize>().ok());
            if len.is_none_or(|len| len > size) {
                bail!("malformed archive: member {index} at offset {at:#x}: bad BSD name length");
            }
        }
        at = next;
        index += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_magic_not_names() {
        assert_eq!(FileKind::identify(b"!<arch>\n"), FileKind::Archive);
        assert_eq!(FileKind::identify(b"GROUP ( libc.so.6 )\n"), FileKind::Text);
        assert_eq!(FileKind::identify(b"\0\0\0\0garbage"), FileKind::Unknown);
        assert_eq!(FileKind::identify(b"\x01\x02 binary"), FileKind::Unknown);
        assert_eq!(FileKind::identify(b""), FileKind::Unknown);
    }

    #[test]
    fn empty_files_map_to_no_bytes() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let m = MappedFile::open(f.path()).unwrap();
        assert!(m.data().is_empty());
    }

    #[test]
    fn missing_files_and_directories_are_clear_errors() {
        let e = MappedFile::open(Path::new("/nonexistent/x.o"))
            .err()
            .unwrap();
        assert!(e.message().starts_with("/nonexistent/x.o: "), "{e}");
        let e = MappedFile::open(Path::new("/")).err().unwrap();
        assert_eq!(e.message(), "/: is a directory");
    }

    #[test]
    fn truncated_archives_are_errors() {
        let mut ar = b"!<arch>\n".to_vec();
        ar.extend_from_slice(b"a.o/            0           0     0     644     100       `\n");
        ar.extend_from_slice(b"short");
        assert!(archive_members(&ar).is_err());
    }

    /// A damaged symbol table is an error, not an archive with no members.
    #[test]
    fn damaged_symbol_tables_are_errors() {
        let member = |name: &str, data: &[u8]| {
            let mut m = format!(
                "{name:<16}0           0     0     644     {:<10}`\n",
                data.len()
            )
            .into_bytes();
            m.extend_from_slice(data);
            if data.len() % 2 == 1 {
                m.push(b'\n');
            }
            m
        };
        // One symbol `f` in the member (0x4e: right after the 10-byte symbol table).
        let symtab = [&[0, 0, 0, 1][..], &[0, 0, 0, 0x4e], b"f\0"].concat();
        let mut object = b"\x7fELF\x02\x01\x01".to_vec();
        object.resize(64, 0);
        let good = [
            &b"!<arch>\n"[..],
            &member("/", &symtab),
            &member("a.o/", &object),
        ]
        .concat();
        assert_eq!(archive_members(&good).unwrap().len(), 1);
        let mut bad_size = good.clone();
        bad_size[8 + 48..8 + 58].copy_from_slice(b"99999     ");
        let e = archive_members(&bad_size).unwrap_err();
        assert!(
            e.message().contains("member 0") && e.message().contains("run past"),
            "{e}"
        );
        let truncated = &good[..8 + 60 + 3];
        assert!(archive_members(truncated)
            .unwrap_err()
            .message()
            .contains("run past"));
        let mut bsd = good.clone();
        let second = 8 + 60 + symtab.len();
        bsd[second..second + 16].copy_from_slice(b"#1/99           ");
        assert!(archive_members(&bsd)
            .unwrap_err()
            .message()
            .contains("BSD name"));
        let mut count = good.clone();
        count[8 + 60..8 + 64].copy_from_slice(&[0, 0, 1, 0]);
        assert!(archive_members(&count)
            .unwrap_err()
            .message()
            .contains("symbol table"));
    }
}
