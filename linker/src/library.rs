//! What a shared library offers a link, whatever its format (an ELF `.so`, later a Mach-O
//! dylib or `.tbd`, a Windows DLL or import library): the name the output records it by and
//! the symbols other modules may bind to, with their versions.
//!
//! Names borrow the mapped file, and the exports are indexed once by name, because a link asks
//! libc about tens of thousands of names.

use rustc_hash::FxHashMap as HashMap;

use crate::diag::{Error, Result};
use crate::target::Cpu;

/// What a symbol is, as far as binding to it matters (copy relocations for data, PLT entries
/// for functions, TLS relocations for thread-locals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportKind {
    Function,
    Object,
    Tls,
    Other,
}

/// One symbol a shared library defines for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export<'a> {
    pub name: &'a [u8],
    /// Version name (ELF `.gnu.version_d`); `None` for unversioned and base-version symbols.
    pub version: Option<&'a [u8]>,
    /// True for the default version (`name@@VER`) and for unversioned symbols; false for a
    /// non-default `name@VER`, which only versioned references reach.
    pub is_default: bool,
    pub kind: ExportKind,
    pub weak: bool,
    pub size: u64,
    /// The definition's address in the library (0 when unknown): aliases share one address,
    /// and so share one copy when copy-relocated.
    pub value: u64,
}

/// The exports of one shared library, indexed by name.
#[derive(Debug, Clone)]
pub struct SharedLibrary<'a> {
    /// The name recorded in the output (`DT_SONAME`, else the file name).
    pub soname: String,
    /// The CPU the library is for, when the format says (a library of another CPU is skipped
    /// while searching `-l`, as GNU ld skips "incompatible" ones).
    pub cpu: Option<Cpu>,
    /// Every export, in the library's order.
    pub exports: Vec<Export<'a>>,
    /// Name → index in `exports` of the first export of that name; `next_same_name` chains
    /// the rest, so a lookup costs one hash and no allocation.
    by_name: HashMap<&'a [u8], u32>,
    next_same_name: Vec<u32>,
    /// Names left out on purpose, with why (a glibc floor older than the name).
    pub unavailable: Vec<(&'a [u8], String)>,
    /// Names the library references and does not define (its undefined dynamic symbols),
    /// each with whether the reference is weak: the program exports its definitions of them.
    pub references: Vec<Reference<'a>>,
    /// The libraries this one names in DT_NEEDED (only read from ELF libraries).
    pub needed: Vec<&'a [u8]>,
}

/// A name a shared library references and does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    pub name: &'a [u8],
    pub weak: bool,
    /// The version the reference asks for (`foo@VER`, from `.gnu.version_r`).
    pub version: Option<&'a [u8]>,
}

const NO_NEXT: u32 = u32::MAX;

impl<'a> SharedLibrary<'a> {
    /// The library as a program built for an older glibc sees it (`floor`, such as (2, 17)):
    /// each name keeps only its versions from glibc releases up to the floor, the newest of
    /// them becoming the default that new references bind to; a name glibc added later is
    /// dropped and remembered, so a reference to it is an error saying when it came. Version
    /// nodes that are not glibc's (libgcc_s's `GCC_3.0`) and unversioned names stay.
    pub fn with_glibc_floor(self, floor: (u32, u32)) -> Result<Self> {
        fn glibc(node: &[u8]) -> Option<(u32, u32)> {
            let v = std::str::from_utf8(node.strip_prefix(b"GLIBC_")?).ok()?;
            let mut parts = v.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().unwrap_or("0").parse().ok()?;
            Some((major, minor))
        }
        let too_new = |e: &Export<'_>| e.version.and_then(glibc).is_some_and(|v| v > floor);
        // Per name, in one pass: the newest glibc version that survives (its new default),
        // whether any version survives, and the oldest version (for the message when none).
        #[derive(Default)]
        struct Name<'v> {
            newest_kept: Option<(u32, u32)>,
            kept: bool,
            oldest: Option<((u32, u32), &'v [u8])>,
            reported: bool,
        }
        let mut names: HashMap<&'a [u8], Name<'a>> = HashMap::default();
        for e in &self.exports {
            let n = names.entry(e.name).or_default();
            let version = e.version.and_then(|v| glibc(v).map(|key| (key, v)));
            if let Some((key, v)) = version {
                if n.oldest.is_none_or(|(old, _)| key < old) {
                    n.oldest = Some((key, v));
                }
            }
            if !too_new(e) {
                n.kept = true;
                if let Some((key, _)) = version {
                    n.newest_kept = n.newest_kept.max(Some(key));
                }
            }
        }
        let mut kept: Vec<Export<'a>> = Vec::with_capacity(self.exports.len());
        let mut unavailable = self.unavailable;
        for e in &self.exports {
            if !too_new(e) {
                let mut e = *e;
                if let Some(key) = e.version.and_then(glibc) {
                    e.is_default = names.get(e.name).and_then(|n| n.newest_kept) == Some(key);
                }
                kept.push(e);
                continue;
            }
            // Dropped: a name none of whose versions survives is remembered once.
            let Some(n) = names.get_mut(e.name).filter(|n| !n.kept && !n.reported) else {
                continue;
            };
            n.reported = true;
            unavailable.push((
                e.name,
                format!(
                    "{} is in {} only from {} on, newer than the glibc floor {}.{}",
                    String::from_utf8_lossy(e.name),
                    self.soname,
                    String::from_utf8_lossy(n.oldest.map_or(&b""[..], |(_, v)| v)),
                    floor.0,
                    floor.1
                ),
            ));
        }
        let mut library = SharedLibrary::new(self.soname, self.cpu, kept)?;
        library.unavailable = unavailable;
        library.references = self.references;
        library.needed = self.needed;
        Ok(library)
    }

    pub fn new(soname: String, cpu: Option<Cpu>, exports: Vec<Export<'a>>) -> Result<Self> {
        let mut by_name: HashMap<&'a [u8], u32> =
            HashMap::with_capacity_and_hasher(exports.len(), Default::default());
        let mut next_same_name = vec![NO_NEXT; exports.len()];
        // Walking backwards and pushing onto the front of each chain leaves chains in the
        // library's order, so the first definition of a name wins, as in GNU ld.
        for (index, export) in exports.iter().enumerate().rev() {
            let index = u32::try_from(index)
                .ok()
                .filter(|&i| i != NO_NEXT)
                .ok_or_else(|| Error::new("shared library has too many dynamic symbols"))?;
            if let Some(previous_head) = by_name.insert(export.name, index) {
                if let Some(slot) = next_same_name.get_mut(index as usize) {
                    *slot = previous_head;
                }
            }
        }
        Ok(SharedLibrary {
            soname,
            cpu,
            exports,
            by_name,
            next_same_name,
            unavailable: Vec::new(),
            references: Vec::new(),
            needed: Vec::new(),
        })
    }

    /// The export a plain (unversioned) reference binds to: the default version, or the
    /// unversioned symbol.
    pub fn lookup(&self, name: &[u8]) -> Option<&Export<'a>> {
        self.same_name(name).find(|e| e.is_default)
    }

    /// The export of a specific version (`puts@GLIBC_2.2.5`), default or not.
    pub fn lookup_version(&self, name: &[u8], version: &[u8]) -> Option<&Export<'a>> {
        self.same_name(name).find(|e| e.version == Some(version))
    }

    /// All exports called `name`, in the library's order.
    pub fn same_name<'s>(&'s self, name: &[u8]) -> impl Iterator<Item = &'s Export<'a>> + 's {
        let mut next = self.by_name.get(name).copied().unwrap_or(NO_NEXT);
        std::iter::from_fn(move || {
            let index = usize::try_from(next).ok()?;
            let export = self.exports.get(index)?;
            next = self.next_same_name.get(index).copied().unwrap_or(NO_NEXT);
            Some(export)
        })
    }
}
