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
    /// `None` for an empty file: mapping zero bytes is an error on Linux.
    map: Option<Mmap>,
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
        let map = if meta.len() == 0 {
            None
        } else {
            // SAFETY: the map is read-only and private. Like every linker that maps its
            // inputs (lld, mold, wild), we accept that another process truncating an input
            // during the link is outside what we can defend against.
            let map = unsafe { Mmap::map(&file) }
                .map_err(|e| Error::new(format!("{}: cannot map: {e}", path.display())))?;
            Some(map)
        };
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn data(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
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
    Unknown,
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

/// The members of an archive in file order, symbol tables and name tables excluded.
pub fn archive_members(data: &[u8]) -> Result<Vec<Member<'_>>> {
    let archive =
        ArchiveFile::parse(data).map_err(|e| Error::new(format!("malformed archive: {e}")))?;
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
}
