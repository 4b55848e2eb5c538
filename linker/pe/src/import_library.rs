//! The members of COFF import libraries, in both forms:
//!
//! - **short imports** (`IMPORT_OBJECT_HEADER`: what lib.exe, llvm-dlltool and rustc's
//!   `raw-dylib` for MSVC write): one member per name, naming the name and the DLL;
//! - **GNU dlltool's long form** (mingw's `lib*.a`, and rustc's `raw-dylib` for windows-gnu,
//!   which std's rlib carries for `ProcessPrng` and `WaitOnAddress`): ordinary objects whose
//!   `.idata$N` sections GNU ld would concatenate into the import tables. A *head* member has
//!   the import descriptor (`.idata$2`, defining `_head_LIB`, pointing at the tail's DLL name);
//!   a *tail* member has the DLL name (`.idata$7`, defining `LIB_iname`) and the null entries
//!   closing the lists; each *name* member has one name's lookup and IAT entries (`.idata$4`,
//!   `.idata$5` defining `__imp_NAME`), its hint and name (`.idata$6`), a `jmp *__imp_NAME`
//!   thunk in `.text` for functions, and a reference to `_head_LIB`.
//!
//! rlink builds its import tables itself, so every one of these becomes an import of a DLL,
//! and the heads and tails are left out: their pieces of a table would never be filled.

use object::pe;
use object::read::coff::CoffFile;
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
use rlink_linker::input::Member;
use rlink_linker::pipeline::{ArchiveMember, ImportMember};
use rlink_linker::{bail, Result};
use rustc_hash::FxHashMap;

/// A short import member, read.
enum Short<'a> {
    Import(ImportMember<'a>),
    /// Name type 0 (`IMPORT_OBJECT_ORDINAL`): the DLL exports it by number only.
    ByOrdinal,
}

/// A short import member: `IMPORT_OBJECT_HEADER` (signatures 0 and 0xFFFF, the machine, the
/// type and name type), then the symbol name and the DLL name.
fn short_import(data: &[u8]) -> Option<Short<'_>> {
    if data.len() < 20 || data[0..4] != [0, 0, 0xff, 0xff] {
        return None;
    }
    let machine = u16::from_le_bytes([data[6], data[7]]);
    if machine != pe::IMAGE_FILE_MACHINE_AMD64.0 {
        return None;
    }
    let flags = u16::from_le_bytes([data[18], data[19]]);
    if (flags >> 2) & 7 == 0 {
        return Some(Short::ByOrdinal);
    }
    let strings = &data[20..];
    let end = strings.iter().position(|&c| c == 0)?;
    let name = &strings[..end];
    let rest = &strings[end + 1..];
    let dll = &rest[..rest.iter().position(|&c| c == 0)?];
    if name.is_empty() || dll.is_empty() {
        return None;
    }
    Some(Short::Import(ImportMember {
        name,
        dll,
        data: flags & 3 == pe::IMPORT_OBJECT_DATA.0,
    }))
}

/// What one dlltool member is.
enum Long<'a> {
    /// The import descriptor that goes with short imports (`__IMPORT_DESCRIPTOR_LIB`).
    Descriptor,
    /// `_head_LIB` → the tail symbol naming the DLL.
    Head { head: &'a [u8], iname: &'a [u8] },
    /// `LIB_iname` → the DLL's name.
    Tail { iname: &'a [u8], dll: &'a [u8] },
    Name {
        name: &'a [u8],
        head: &'a [u8],
        data: bool,
    },
}

/// How each member of an archive is read: an import, a dlltool head or tail to leave out, or
/// an object. `place` names the archive in errors.
pub fn archive_members<'a>(place: &str, members: &[Member<'a>]) -> Result<Vec<ArchiveMember<'a>>> {
    let mut out: Vec<ArchiveMember<'a>> = Vec::with_capacity(members.len());
    let mut long: Vec<(usize, Long<'a>)> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        match short_import(m.data) {
            Some(Short::Import(import)) => {
                out.push(ArchiveMember::Import(import));
                continue;
            }
            Some(Short::ByOrdinal) => bail!(
                "{place}({}): an import by ordinal, which rlink does not support yet",
                m.name
            ),
            None => {}
        }
        out.push(ArchiveMember::Object);
        if let Some(l) = dlltool_member(m.data)
            .map_err(|e| rlink_linker::Error::new(format!("{place}({}): {e}", m.name)))?
        {
            long.push((i, l));
        }
    }
    if long.is_empty() {
        return Ok(out);
    }
    let inames: FxHashMap<&[u8], &[u8]> = long
        .iter()
        .filter_map(|(_, l)| match l {
            Long::Tail { iname, dll } => Some((*iname, *dll)),
            _ => None,
        })
        .collect();
    let heads: FxHashMap<&[u8], &[u8]> = long
        .iter()
        .filter_map(|(_, l)| match l {
            Long::Head { head, iname } => Some((*head, *iname)),
            _ => None,
        })
        .collect();
    for (i, l) in long {
        out[i] = match l {
            Long::Head { .. } | Long::Tail { .. } | Long::Descriptor => ArchiveMember::Skip,
            Long::Name { name, head, data } => {
                let Some(dll) = heads.get(head).and_then(|iname| inames.get(iname)) else {
                    bail!(
                        "{place}({}): an import of {} whose DLL this archive does not name \
                         (no {} head and tail members)",
                        members[i].name,
                        String::from_utf8_lossy(name),
                        String::from_utf8_lossy(head)
                    );
                };
                ArchiveMember::Import(ImportMember { name, dll, data })
            }
        };
    }
    Ok(out)
}

/// Reads a member as a dlltool import piece, if it is one (it has `.idata$` sections).
fn dlltool_member(data: &[u8]) -> std::result::Result<Option<Long<'_>>, String> {
    let Ok(file) = CoffFile::<_, pe::ImageFileHeader>::parse(data) else {
        return Ok(None);
    };
    let idata = file
        .sections()
        .any(|s| s.name().is_ok_and(|n| n.starts_with(".idata$")));
    if !idata {
        return Ok(None);
    }
    let named = |name: &str| file.sections().find(|s| s.name() == Ok(name));
    classify(
        &file,
        named(".idata$2"),
        named(".idata$6"),
        named(".idata$7"),
    )
}

type Section<'d, 'f> = object::read::coff::CoffSection<'d, 'f, &'d [u8], pe::ImageFileHeader>;

fn classify<'d>(
    file: &CoffFile<'d, &'d [u8], pe::ImageFileHeader>,
    s2: Option<Section<'d, '_>>,
    s6: Option<Section<'d, '_>>,
    s7: Option<Section<'d, '_>>,
) -> std::result::Result<Option<Long<'d>>, String> {
    let bad = |what: &str| Err(format!("malformed dlltool import member: {what}"));
    let global_in = |section: object::SectionIndex| {
        file.symbols()
            .filter(|s| s.is_global() && s.section_index() == Some(section))
            .filter_map(|s| s.name_bytes().ok())
            .collect::<Vec<&'d [u8]>>()
    };
    if let Some(s2) = s2 {
        // The head: `_head_LIB` in `.idata$2`, whose name field (offset 12) points at the tail.
        let defined = global_in(s2.index());
        let Some(head) = defined.iter().copied().find(|n| n.starts_with(b"_head_")) else {
            // lib.exe's and llvm-dlltool's descriptor member, beside short imports.
            if defined
                .iter()
                .any(|n| n.starts_with(b"__IMPORT_DESCRIPTOR_"))
            {
                return Ok(Some(Long::Descriptor));
            }
            return bad("an import descriptor without a _head_ symbol");
        };
        let Some(iname) = s2.relocations().find_map(|(offset, r)| {
            let object::RelocationTarget::Symbol(sym) = r.target() else {
                return None;
            };
            (offset == 12)
                .then(|| file.symbol_by_index(sym).ok()?.name_bytes().ok())
                .flatten()
        }) else {
            return bad("an import descriptor that names no DLL");
        };
        return Ok(Some(Long::Head { head, iname }));
    }
    if s6.is_some() {
        // A name: `__imp_NAME` in `.idata$5`, a reference to the head.
        let s5 = file
            .sections()
            .find(|s| s.name() == Ok(".idata$5"))
            .map(|s| s.index());
        let Some(s5) = s5 else {
            return bad("a hint/name entry without an IAT entry");
        };
        let Some(imp) = global_in(s5).into_iter().find(|n| n.starts_with(b"__imp_")) else {
            return bad("an IAT entry without an __imp_ symbol");
        };
        let name = &imp[b"__imp_".len()..];
        let Some(head) = file
            .symbols()
            .filter(|s| s.is_undefined())
            .filter_map(|s| s.name_bytes().ok())
            .find(|n| n.starts_with(b"_head_"))
        else {
            return bad("an import that refers to no _head_ symbol");
        };
        // A function has its `jmp *__imp_NAME` thunk defined in `.text`; data has none.
        let thunk = file.symbols().any(|s| {
            s.is_global()
                && s.name_bytes() == Ok(name)
                && s.section_index().is_some_and(|i| i != s5)
        });
        return Ok(Some(Long::Name {
            name,
            head,
            data: !thunk,
        }));
    }
    if let Some(s7) = s7 {
        // The tail: `LIB_iname` in `.idata$7`, the DLL's name.
        let Some(iname) = global_in(s7.index()).into_iter().next() else {
            return bad("a DLL name without its _iname symbol");
        };
        let bytes = s7.data().map_err(|e| e.to_string())?;
        let dll = &bytes[..bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len())];
        if dll.is_empty() {
            return bad("an empty DLL name");
        }
        return Ok(Some(Long::Tail { iname, dll }));
    }
    // `.idata$4`/`$5` alone: not dlltool's.
    Ok(None)
}
