//! The linker's own view of a relocatable object, whatever its format: what each format's
//! loader produces (one signature for all: mapped bytes in, [`ObjectView`] out) and all the
//! pipeline after loading reads — resolution, garbage collection, string merging, relocation
//! scanning and application never see an ELF, Mach-O or COFF structure.
//!
//! Everything borrows from the mapped file: section bytes and names are slices of it, and ELF
//! relocations are read in place. The loader validates every index and offset once (symbol
//! indices of relocations, relocation offsets inside their sections, section ranges inside the
//! file), so later phases index without checks.

use crate::bail;
use crate::diag::Result;
use crate::target::Cpu;

/// Where a symbol is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymPlace {
    Undefined,
    Absolute,
    /// A tentative definition (`-fcommon`): its value is the alignment, placed by the linker.
    Common,
    Section(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Local,
    Global,
    Weak,
    /// GNU's `STB_GNU_UNIQUE`: global, one definition per process.
    Unique,
}

/// Visibility outside the module, in ELF's order (`st_other & 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Default,
    Internal,
    Hidden,
    Protected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    NoType,
    /// Data (ELF `STT_OBJECT`).
    Data,
    Func,
    Section,
    File,
    /// ELF `STT_COMMON` spelled as a type.
    Common,
    Tls,
    /// An indirect function (`STT_GNU_IFUNC`): its address is what its resolver returns.
    IFunc,
    /// A type this view has no name for, kept as the format numbers it.
    Other(u8),
}

/// One input symbol, decoded once by the loader.
#[derive(Debug, Clone, Copy)]
pub struct Symbol<'a> {
    pub name: &'a [u8],
    pub place: SymPlace,
    pub value: u64,
    pub size: u64,
    pub binding: Binding,
    pub kind: SymbolKind,
    pub visibility: Visibility,
}

impl Symbol<'_> {
    pub fn is_local(&self) -> bool {
        self.binding == Binding::Local
    }

    pub fn is_weak(&self) -> bool {
        self.binding == Binding::Weak
    }

    pub fn is_tls(&self) -> bool {
        self.kind == SymbolKind::Tls
    }
}

/// What a section is, as far as the pipeline cares; the format's own type and flags are kept
/// in `raw_type` and `raw_flags` for its layout and writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SectionFlags(pub u16);

impl SectionFlags {
    /// Loaded into memory (ELF `SHF_ALLOC`); other sections are debug info and notes to tools.
    pub const ALLOC: Self = Self(1);
    pub const WRITE: Self = Self(1 << 1);
    pub const EXEC: Self = Self(1 << 2);
    pub const TLS: Self = Self(1 << 3);
    /// No bytes in the file: zero-filled at load (ELF `SHT_NOBITS`).
    pub const ZERO_FILL: Self = Self(1 << 4);
    /// NUL-terminated strings that may be merged with equal ones (`SHF_MERGE|SHF_STRINGS`,
    /// with a character size of 1, 2 or 4 and no relocations of its own).
    pub const MERGE_STRINGS: Self = Self(1 << 5);
    /// A root of garbage collection, by the format's rules (init arrays, notes, retained
    /// sections, sections reachable by `__start_`/`__stop_` names).
    pub const GC_ROOT: Self = Self(1 << 6);
    /// Call-frame information in `.eh_frame` form: FDEs keep what they describe alive only
    /// while that is alive.
    pub const EH_FRAME: Self = Self(1 << 7);
    /// Meaningful only to the linker reading the object (relocation and symbol tables,
    /// groups, directives, address-significance tables): never copied to an output.
    pub const INPUT_ONLY: Self = Self(1 << 8);
    /// Excluded from outputs (ELF `SHF_EXCLUDE`).
    pub const EXCLUDE: Self = Self(1 << 9);
    /// Its relocations are in offset order (found by [`ObjectView::check`], which reads them
    /// all anyway): the relocation pass may cut the section into pieces by offset.
    pub const RELOCS_SORTED: Self = Self(1 << 10);

    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for SectionFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for SectionFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// One input section.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    pub name: &'a [u8],
    /// The bytes in the file; empty for zero-fill sections, which have only a size.
    pub data: &'a [u8],
    pub size: u64,
    /// The format's own section flags, type and entry size (ELF `sh_flags`, `sh_type`,
    /// `sh_entsize`), for its layout and writer; the pipeline does not read them.
    pub raw_flags: u32,
    pub raw_type: u32,
    pub raw_entsize: u32,
    pub flags: SectionFlags,
    /// log2 of the alignment (see [`Section::align`]).
    pub align_log2: u8,
    /// Character size of a [`SectionFlags::MERGE_STRINGS`] section (1, 2 or 4); 0 otherwise.
    pub merge_entsize: u8,
}

impl Section<'_> {
    /// The alignment, a power of two (at least 1).
    #[inline]
    pub fn align(&self) -> u64 {
        1 << self.align_log2
    }

    pub fn has(&self, flags: SectionFlags) -> bool {
        self.flags.contains(flags)
    }

    pub fn is_alloc(&self) -> bool {
        self.has(SectionFlags::ALLOC)
    }

    pub fn is_zero_fill(&self) -> bool {
        self.has(SectionFlags::ZERO_FILL)
    }

    pub fn name_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.name)
    }
}

/// One relocation: where (offset in its section), against which symbol (index into the
/// object's symbols), of what raw type (the CPU's numbering in this format), with what
/// addend (explicit, or read from the place by the loader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloc {
    pub offset: u64,
    pub symbol: u32,
    pub r_type: u32,
    pub addend: i64,
}

/// An ELF `Elf64_Rela` as it lies in the file (little-endian): read in place, never copied.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct RawRela64 {
    pub offset: [u8; 8],
    pub info: [u8; 8],
    pub addend: [u8; 8],
}

// SAFETY: three byte arrays: no padding, alignment 1, every bit pattern valid.
unsafe impl object::pod::Pod for RawRela64 {}

impl RawRela64 {
    pub fn encode(r: &Reloc) -> RawRela64 {
        RawRela64 {
            offset: r.offset.to_le_bytes(),
            info: ((u64::from(r.symbol) << 32) | u64::from(r.r_type)).to_le_bytes(),
            addend: r.addend.to_le_bytes(),
        }
    }

    #[inline]
    pub fn decode(&self) -> Reloc {
        let info = u64::from_le_bytes(self.info);
        Reloc {
            offset: u64::from_le_bytes(self.offset),
            symbol: (info >> 32) as u32,
            r_type: info as u32,
            addend: i64::from_le_bytes(self.addend),
        }
    }
}

/// The relocations that apply to one section, in ELF's `Elf64_Rela` layout: borrowed from the
/// file for ELF (read in place, never copied); formats that store relocations differently
/// (Mach-O, COFF) encode theirs in this layout once, at load, into memory that lives as long as
/// the link (leaked, as lld's and mold's arenas are, so the view stays one borrowed slice).
#[derive(Debug, Clone, Copy, Default)]
pub struct Relocs<'a>(pub &'a [RawRela64]);

impl<'a> Relocs<'a> {
    /// Relocations decoded by a loader, kept for the rest of the process.
    pub fn leak(relocs: Vec<Reloc>) -> Relocs<'static> {
        let raw: Vec<RawRela64> = relocs.iter().map(RawRela64::encode).collect();
        Relocs(raw.leak())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Relocation `i`, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Reloc> {
        self.0.get(i).map(RawRela64::decode)
    }

    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = Reloc> + 'a {
        self.0.iter().map(RawRela64::decode)
    }

    /// The index of the first relocation at or after `offset` (relocations are sorted by
    /// offset in every object a compiler writes; callers only rely on this for `.eh_frame`).
    pub fn partition_point(&self, offset: u64) -> usize {
        self.0
            .partition_point(|r| u64::from_le_bytes(r.offset) < offset)
    }
}

/// How a COMDAT group's copies are chosen when several objects bring one (COFF spells out the
/// rule; ELF's groups are always "any").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComdatSelection {
    Any,
    NoDuplicates,
    SameSize,
    ExactMatch,
    Largest,
    /// Kept exactly when the group of this section index is kept.
    Associative(u32),
}

#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub signature: &'a [u8],
    pub members: Vec<u32>,
    pub selection: ComdatSelection,
}

/// An option an object passes to the linker (COFF's `.drectve`), checked by the loader
/// against what rlink accepts from objects.
#[derive(Debug, Clone)]
pub enum LinkerOption<'a> {
    /// A library the object wants linked (`/DEFAULTLIB:`).
    DefaultLib(&'a str),
    /// A DLL export (`/EXPORT:`, what `__declspec(dllexport)` gives).
    Export(crate::exports::ExportSpec),
    /// A name to define and keep, as if referenced (`/INCLUDE:`, what `#[used]` gives).
    Include(&'a [u8]),
    /// `/ALTERNATENAME:from=to`: `from`, when nothing defines it, is `to`.
    AlternateName(&'a [u8], &'a [u8]),
    /// `/MERGE:from=to`: sections named `from` (before any `$`) go into output section `to`.
    Merge(&'a [u8], &'a [u8]),
}

/// A Rust symbol name, as ELF and COFF spell it: v0 (`_R` and an upper-case tag or a version
/// digit) or legacy (`_ZN…17h` + 16 hex digits + `E`, which sets it apart from C++'s Itanium
/// names). Mach-O adds one leading underscore.
pub fn is_rust_mangled(name: &[u8]) -> bool {
    if let Some(rest) = name.strip_prefix(b"_R") {
        return rest
            .first()
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    }
    let n = name.len();
    name.starts_with(b"_ZN")
        && n >= 23
        && name.ends_with(b"E")
        && &name[n - 20..n - 17] == b"17h"
        && name[n - 17..n - 1].iter().all(u8::is_ascii_hexdigit)
}

/// One loaded relocatable object.
pub struct ObjectView<'a> {
    /// `file` or `file(member)`, as diagnostics print it.
    pub place: String,
    pub cpu: Cpu,
    pub data: &'a [u8],
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol<'a>>,
    /// Relocations per target section, indexed like `sections`.
    pub relocations: Vec<Relocs<'a>>,
    pub groups: Vec<Group<'a>>,
    /// COFF's associative COMDAT sections as (section, leader): a section kept exactly when
    /// its leader is (a function's `.pdata` and `.xdata`), through garbage collection too.
    pub associated: Vec<(u32, u32)>,
    /// The producer is rustc: a `.comment` (the producer's identification) names it, or,
    /// in formats without one (Mach-O), the object defines Rust-mangled names.
    pub rustc_comment: bool,
    /// Options the object passes to the linker (COFF `.drectve`).
    pub linker_options: Vec<LinkerOption<'a>>,
    /// Per symbol, [`name_hash`]'s hash: taken by the loader (while it reads the names, or
    /// with [`ObjectView::hash_names`]) so resolution finds them ready.
    pub name_hashes: Vec<u64>,
    /// Some global it defines has an `@` in its name (a `.symver` version).
    pub defines_versioned: bool,
}

/// The hash resolution looks a symbol's name up by ([`crate::names::hash`]; 0 for a local,
/// which is never looked up), and whether it defines a versioned name (`foo@@V`).
#[inline]
pub fn name_hash(s: &Symbol<'_>) -> (u64, bool) {
    if s.is_local() {
        return (0, false);
    }
    let versioned = s.place != SymPlace::Undefined && memchr::memchr(b'@', s.name).is_some();
    (crate::names::hash(s.name), versioned)
}

impl<'a> ObjectView<'a> {
    /// Fills `name_hashes` and `defines_versioned` from the symbols, for loaders that do not
    /// take them as they read each name.
    pub fn hash_names(&mut self) {
        let (hashes, versioned): (Vec<u64>, Vec<bool>) = self.symbols.iter().map(name_hash).unzip();
        self.name_hashes = hashes;
        self.defines_versioned = versioned.contains(&true);
    }

    /// The checks every loader ends with, so the phases after loading index without checks:
    /// each relocation names a symbol of this object and a place inside a section that has
    /// bytes, each symbol's and group member's section exists, and every `.eh_frame` reads as
    /// the output's unwind table will read it. `width` is the number of bytes a relocation type
    /// writes (the CPU's table knows).
    pub fn check(&mut self, width: &dyn Fn(u32) -> u64) -> Result<()> {
        let nsecs = self.sections.len();
        for (index, s) in self.symbols.iter().enumerate() {
            if let SymPlace::Section(sec) = s.place {
                if sec as usize >= nsecs {
                    bail!(
                        "{}: symbol {index} refers to section {sec} of {nsecs}",
                        self.place
                    );
                }
            }
        }
        let nsecs_u32 = nsecs as u32;
        if let Some(&(s, leader)) = self
            .associated
            .iter()
            .find(|&&(s, l)| s == 0 || l == 0 || s >= nsecs_u32 || l >= nsecs_u32)
        {
            bail!(
                "{}: section {s} is associated with section {leader} of {nsecs}",
                self.place
            );
        }
        for (g, group) in self.groups.iter().enumerate() {
            if group.members.iter().any(|&m| m as usize >= nsecs) {
                bail!("{}: COMDAT group {g} lists a missing section", self.place);
            }
        }
        let nsyms = self.symbols.len() as u64;
        for (si, relocs) in self.relocations.iter().enumerate() {
            if relocs.is_empty() {
                continue;
            }
            let target = &self.sections[si];
            if target.is_zero_fill() || si == 0 {
                bail!(
                    "{}: relocations apply to section {si} ({}), which holds no bytes",
                    self.place,
                    self.section_name(si)
                );
            }
            // One branch-free pass over the raw entries, which also finds whether they are in
            // offset order; the offender is looked for only when there is one.
            let (bad, sorted, _) =
                relocs
                    .0
                    .iter()
                    .fold((false, true, 0u64), |(bad, sorted, previous), raw| {
                        let symbol = u64::from_le_bytes(raw.info) >> 32;
                        let offset = u64::from_le_bytes(raw.offset);
                        (
                            bad | (symbol >= nsyms) | (offset >= target.size),
                            sorted & (offset >= previous),
                            offset,
                        )
                    });
            if !bad {
                if sorted {
                    self.sections[si].flags |= SectionFlags::RELOCS_SORTED;
                }
                continue;
            }
            for (k, r) in relocs.iter().enumerate() {
                let sym = u64::from(r.symbol);
                if sym >= nsyms || r.offset >= target.size {
                    let what = if sym >= nsyms {
                        format!("names symbol {sym}, but the object has {nsyms}")
                    } else {
                        format!(
                            "is at offset {:#x}, past the section's {:#x} bytes",
                            r.offset, target.size
                        )
                    };
                    bail!(
                        "{}: relocation {k} of section {si} ({}) {what}",
                        self.place,
                        self.section_name(si)
                    );
                }
            }
        }
        for (si, s) in self.sections.iter().enumerate() {
            if s.has(SectionFlags::EH_FRAME) {
                let relocated = self.relocations[si]
                    .iter()
                    .map(|r| (r.offset, width(r.r_type)));
                crate::eh_frame::check_input(s.data, relocated).map_err(|e| e.at(&self.place))?;
            }
        }
        Ok(())
    }

    /// The bytes of a section (empty for zero-fill ones).
    pub fn section_data(&self, index: usize) -> &'a [u8] {
        self.sections.get(index).map(|s| s.data).unwrap_or_default()
    }

    pub fn section_name(&self, index: usize) -> String {
        self.sections
            .get(index)
            .map(|s| s.name_lossy().into_owned())
            .unwrap_or_else(|| "?".to_string())
    }

    /// Whether rustc wrote this object: LLVM records the producer in `.comment`. rustc's
    /// `symbols.o` has no `.comment` but defines nothing (it only references the symbols a
    /// crate exports, to keep them), so it belongs with the Rust objects too.
    pub fn is_from_rustc(&self) -> bool {
        let defines_nothing = self
            .symbols
            .iter()
            .skip(1)
            .all(|s| s.is_local() || s.place == SymPlace::Undefined);
        self.rustc_comment || defines_nothing
    }
}
