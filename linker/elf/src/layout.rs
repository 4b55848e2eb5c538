//! Layout: which input sections go where, what the relocations need (GOT slots, PLT entries,
//! dynamic relocations), the linker-made sections, and every address and file offset.
//!
//! The output has four loadable segments, each starting on a fresh page:
//! `R` (headers, dynamic-linking tables, read-only data, unwind tables), `RX` (code),
//! `RW` under RELRO (TLS initialisers, init/fini arrays, `.data.rel.ro`, `.dynamic`, `.got`)
//! and `RW` (data, bss). Bind-now is the default: the PLT's slots (`.got.plt`, filled through
//! `.rela.plt`'s JUMP_SLOT relocations, as GNU ld and lld lay them out) are bound before the
//! program runs, so they sit under RELRO with the GOT and no PLT needs a lazy-binding header.

use rustc_hash::FxHashMap as HashMap;

use object::elf;
use rayon::prelude::*;
use rlink_linker::args::BuildMode;
use rlink_linker::eh_frame;
use rlink_linker::gc::Live;
use rlink_linker::library::ExportKind;
use rlink_linker::merge::{self, Merged, PieceMap};
use rlink_linker::object::{SectionFlags, SymPlace, SymbolKind};
use rlink_linker::par::PerItem as _;
use rlink_linker::pipeline::OutputOptions;
use rlink_linker::reloc::PlaceInfo;
use rlink_linker::relocate::{CopiedSection, OutputLayout, SymValue};
use rlink_linker::resolve::{Def, Resolution, SymbolId};
use rlink_linker::scan::Placement as PlacementInfo;
pub use rlink_linker::scan::{target_info, GotEntry, IndexSet, Needs, SymbolRef};
use rlink_linker::{bail, Error, Result};

use crate::dynamic::{build_dynamic_tables, dynamic_tag_count};
use crate::gnu_hash::GnuHash;
use crate::symtab::{self, Symtab};
use crate::ElfArch;

pub const PAGE: u64 = 0x1000;
/// Where the lower half of the x86-64 (and AArch64) address space ends: an output whose
/// sections would reach past it cannot be loaded, and refusing it here keeps every address
/// computation after layout free of overflow.
pub const ADDRESS_LIMIT: u64 = 1 << 47;
const EXE_BASE: u64 = 0x40_0000;

/// Segment classes, in address order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    ReadOnly,
    Code,
    Relro,
    Data,
    NonAlloc,
}

/// Sections rlink writes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synth {
    Interp,
    /// `.note.gnu.property`: the CPU features every input has (AArch64's BTI and PAC).
    GnuProperty,
    BuildId,
    DynSym,
    DynStr,
    GnuHash,
    /// `.hash`, the SysV hash table (`--hash-style=sysv|both`).
    SysvHash,
    GnuVersion,
    GnuVersionR,
    GnuVersionD,
    RelaDyn,
    /// The PLT slots' relocations (DT_JMPREL): JUMP_SLOT, then IRELATIVE.
    RelaPlt,
    EhFrameHdr,
    Plt,
    Dynamic,
    Got,
    /// The PLT's slots, after three reserved words (the first holds `_DYNAMIC`).
    GotPlt,
    Comment,
    SymTab,
    StrTab,
    ShStrTab,
    /// Copies of imported data (R_X86_64_COPY targets).
    DynBss,
}

#[derive(Debug, Clone)]
pub struct OutputSection {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub size: u64,
    pub addr: u64,
    pub offset: u64,
    pub class: Class,
    pub synth: Option<Synth>,
    pub entsize: u64,
    pub link: u32,
    pub info: u32,
}

impl OutputSection {
    fn new(
        name: &str,
        sh_type: elf::SectionType,
        flags: u64,
        class: Class,
        synth: Option<Synth>,
    ) -> Self {
        OutputSection {
            name: name.to_string(),
            sh_type: sh_type.0,
            flags,
            align: 1,
            size: 0,
            addr: 0,
            offset: 0,
            class,
            synth,
            entsize: 0,
            link: 0,
            info: 0,
        }
    }

    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS.0
    }

    pub fn is_tls(&self) -> bool {
        self.flags & elf::SHF_TLS.0 != 0
    }
}

/// Where an input section landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub section: u32,
    pub offset: u64,
    /// Index of the piece map for a merged string section, `NOT_MERGED` otherwise.
    pub merged: u32,
}

pub const NOT_MERGED: u32 = u32::MAX;

/// A program header to write.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub addr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// One imported symbol in `.dynsym`.
#[derive(Debug, Clone)]
pub struct DynImport {
    pub global: SymbolId,
    pub name_offset: u32,
    pub version_index: u16,
    pub kind: ExportKind,
    pub weak: bool,
}

/// One symbol a shared library exports in `.dynsym`.
#[derive(Debug, Clone)]
pub struct DynExport {
    pub global: SymbolId,
    pub name_offset: u32,
    /// 1 (global) for a library's own exports; the needed version for a copied import.
    pub version_index: u16,
}

/// `.gnu.version_r` contents: per library, its name and the versions needed from it.
#[derive(Debug, Clone)]
pub struct VersionNeed {
    pub file_offset: u32,
    pub versions: Vec<NeededVersion>,
}

/// One version the output defines (`.gnu.version_d`): the base version (the output's own
/// name) or a version script's node.
#[derive(Debug, Clone)]
pub struct VersionDef {
    pub name_offset: u32,
    pub hash: u32,
    pub index: u16,
    pub base: bool,
    /// The `.dynstr` offsets of the versions it follows.
    pub parents: Vec<u32>,
}

impl VersionDef {
    /// Its `Elf64_Verdef` and the `Elf64_Verdaux` entries for its name and parents.
    pub fn size(&self) -> u64 {
        20 + 8 * (1 + self.parents.len() as u64)
    }
}

/// One version needed from a library: name offset in `.dynstr`, ELF hash, version index.
pub type NeededVersion = (u32, u32, u16);

pub struct Layout<'r, 'a> {
    pub res: &'r Resolution<'a>,
    pub pie: bool,
    pub base: u64,
    pub sections: Vec<OutputSection>,
    pub placements: Vec<Vec<Option<Placement>>>,
    pub segments: Vec<Segment>,
    pub got: IndexSet<GotEntry>,
    /// Slot index of each GOT entry (TLS pairs take two).
    pub got_offsets: Vec<u64>,
    /// The output is a shared library.
    pub shared: bool,
    pub plt: IndexSet<SymbolId>,
    /// Imported symbols that live code references: only they reach `.dynsym`.
    pub used_imports: IndexSet<SymbolId>,
    /// Imported data copied into `.dynbss`, with each copy's offset there.
    pub copies: IndexSet<SymbolId>,
    /// Imported functions whose address is their PLT entry (taken as a constant by
    /// position-dependent code): their dynamic symbols carry that address.
    pub canonical_plt: IndexSet<SymbolId>,
    /// Dynamic relocations patch read-only sections: DT_TEXTREL, DF_TEXTREL.
    pub text_relocations: bool,
    pub copy_offsets: Vec<u64>,
    /// The copies each filled by one COPY relocation: a library's aliases share one copy, and
    /// only the first of them is copied into it.
    pub copy_relocs: Vec<SymbolId>,
    pub dyn_imports: Vec<DynImport>,
    /// Exports of a shared library, in `.gnu.hash` order, after the imports in `.dynsym`.
    pub dyn_exports: Vec<DynExport>,
    /// DT_SONAME's `.dynstr` offset.
    pub soname: Option<u32>,
    /// Export every global definition (`--export-dynamic`).
    pub export_all: bool,
    /// `cgo_export_dynamic` names: (local, remote).
    pub named_exports: Vec<(Vec<u8>, Vec<u8>)>,
    pub version_script: Option<rlink_linker::version_script::VersionScript>,
    /// Carried from placement to layout: the runpath and soname strings, the entry symbol,
    /// and whether a symbol table is written.
    pub runpath_text: Option<String>,
    pub soname_text: Option<String>,
    pub entry_name: Vec<u8>,
    pub strip_symbols: bool,
    /// The CPU's PLT entry and header sizes (they depend on `gnu_features`).
    pub plt_entry_size: u64,
    pub plt_header_size: u64,
    /// The `FEATURE_1_AND` bits every input has (0: no `.note.gnu.property`).
    pub gnu_features: u32,
    /// The `.note.gnu.property` properties besides FEATURE_1_AND (`gnu_features`), as
    /// (`pr_type`, value) in type order: FEATURE_1_AND's type is the lowest, written first.
    pub gnu_properties: Vec<(u32, u32)>,
    /// The features the PLT is written for: `gnu_features`, with landing pads under
    /// `-z ibtplt`.
    pub plt_features: u32,
    /// The CPU's dynamic tags describing the PLT (value 0).
    pub plt_tags: Vec<elf::DynamicTag>,
    /// The CPU's TLS ABI (`ElfArch::TLS_TCB_SIZE`).
    pub tls_tcb_size: Option<u64>,
    /// Executable output sections and their input sections in placement order, for the
    /// range-extension thunks that may go between them.
    pub code_members: Vec<(u32, Vec<(u32, u32)>)>,
    /// Thunk islands: runs of thunks after an input section, each jumping to a far target.
    pub islands: Vec<Island>,
    /// (object, section, offset of the branch) → (island, slot).
    pub thunk_sites: HashMap<(u32, u32, u64), (u32, u32)>,
    pub thunk_size: u64,
    /// Global id → its `.dynsym` index.
    pub dynsym_index: HashMap<SymbolId, u32>,
    pub dynstr: Vec<u8>,
    pub needed: Vec<u32>,
    pub version_needs: Vec<VersionNeed>,
    pub version_defs: Vec<VersionDef>,
    /// The output's path as given (the base version's name when there is no soname).
    pub output_name: String,
    pub gnu_hash: GnuHash,
    pub interp: String,
    pub runpath: Option<u32>,
    /// DT_AUDIT's and DT_DEPAUDIT's `.dynstr` offsets (`--audit`, `--depaudit`).
    pub audit: Option<u32>,
    pub depaudit: Option<u32>,
    /// DT_FILTER and DT_AUXILIARY names' `.dynstr` offsets, each with whether it is auxiliary.
    pub filters: Vec<(bool, u32)>,
    /// Dynamic relocations the input sections produce, per object (RELATIVE, others).
    pub dyn_relocs_per_object: Vec<(usize, usize)>,
    /// Per object, the relocations that need those dynamic relocations (from scanning).
    pub dyn_sites: Vec<Vec<rlink_linker::scan::DynSite>>,
    pub common: HashMap<SymbolId, u64>,
    pub synthetic: HashMap<SymbolId, u64>,
    /// PT_TLS: start address, memory size, alignment.
    pub tls: Option<(u64, u64, u64)>,
    pub entry: u64,
    pub file_size: u64,
    pub section_header_offset: u64,
    pub shstrtab: Vec<u8>,
    pub section_name_offsets: Vec<u32>,
    pub comment: Vec<u8>,
    pub fde_count: usize,
    pub dynamic_tags: usize,
    pub strip_debug: bool,
    pub symtab: Option<Symtab>,
    pub merged: MergedSections<'a>,
    /// GNU ld's options for the output (stack, RELRO, dynamic flags, DT_INIT/DT_FINI).
    pub elf: rlink_linker::plan::ElfOptions,
}

/// Range-extension thunks placed together after one input section of an executable output
/// section: each slot jumps to a (target, addend) a branch cannot reach.
#[derive(Debug, Clone)]
pub struct Island {
    /// Output section (renumbered with the others by `assign_addresses`).
    pub section: u32,
    /// Offset of the first thunk in the output section.
    pub offset: u64,
    pub targets: Vec<(SymbolRef, i64)>,
    /// The input section the island follows.
    after: (u32, u32),
}

/// Merged string sections: their contents by output section (index before sorting, fixed up
/// by `assign_addresses`), and each merged input's piece map.
#[derive(Default)]
pub struct MergedSections<'a> {
    pub contents: Vec<(u32, Merged<'a>)>,
    pub maps: Vec<PieceMap>,
}

/// One output section's merged strings: its contents, each input's piece map (in the
/// members' order) and the alignment.
struct MergedStrings<'a> {
    contents: Merged<'a>,
    maps: Vec<PieceMap>,
    align: u64,
}

/// Merges the strings of one output section's inputs.
fn merge_strings<'a>(res: &Resolution<'a>, list: &[(u64, u32, u32)]) -> Result<MergedStrings<'a>> {
    let mut datas = Vec::with_capacity(list.len());
    let mut align = 1;
    let mut entsize = 1;
    for &(_, obj, sec) in list {
        let s = &res.objects[obj as usize].sections[sec as usize];
        datas.push(s.data);
        align = s.align().max(align);
        entsize = u64::from(s.raw_entsize);
    }
    let (contents, maps) = merge::merge_prepared(&datas, entsize as usize, &res.prepared_strings)?;
    Ok(MergedStrings {
        contents,
        maps,
        align,
    })
}

/// An output section of input sections laid end to end: its size, alignment and each
/// member's offset (in the members' order).
struct Sized {
    size: u64,
    align: u64,
    offsets: Vec<u64>,
}

/// Lays an output section's members out one after another, each at its alignment.
/// `.eh_frame` is a sequence of length-prefixed records: padding between two inputs would
/// read as a terminator and hide every later FDE from the unwinder, so its inputs are
/// `packed` back to back (records are 4-byte multiples; x86-64 reads them unaligned).
fn size_members(res: &Resolution<'_>, list: &[(u64, u32, u32)], packed: bool) -> Result<Sized> {
    let mut size = 0u64;
    let mut align = 1u64;
    let mut offsets = Vec::with_capacity(list.len());
    for &(_, obj, sec) in list {
        let s = &res.objects[obj as usize].sections[sec as usize];
        let input_align = s.align();
        let a = if packed { 1 } else { input_align };
        if !a.is_power_of_two() {
            bail!(
                "{}: section {} has alignment {a}, not a power of two",
                res.objects[obj as usize].place,
                sec
            );
        }
        let placed = size
            .checked_next_multiple_of(a)
            .and_then(|at| Some((at, at.checked_add(s.size)?)))
            .filter(|&(_, end)| end <= ADDRESS_LIMIT);
        let Some((at, end)) = placed else {
            bail!(
                "{}: section {sec} ({}) of {:#x} bytes does not fit in the address space",
                res.objects[obj as usize].place,
                res.objects[obj as usize].section_name(sec as usize),
                s.size
            );
        };
        offsets.push(at);
        size = end;
        align = align.max(input_align);
    }
    Ok(Sized {
        size,
        align,
        offsets,
    })
}

/// Where input sections with these names go; the rest keep their own name.
fn output_name(name: &[u8]) -> &[u8] {
    const MERGED: &[&[u8]] = &[
        b".text",
        b".rodata",
        b".data.rel.ro",
        b".data",
        b".bss",
        b".tdata",
        b".tbss",
        b".gcc_except_table",
        b".init_array",
        b".fini_array",
        b".preinit_array",
        b".ldata",
        b".lrodata",
        b".lbss",
    ];
    // Every name here starts with a dot: a name's second byte rules out all but one to three
    // of them, so most of a debug link's hundred thousand sections are compared with none.
    let second = name.get(1);
    for m in MERGED {
        if m.get(1) != second {
            continue;
        }
        if let Some(rest) = name.strip_prefix(*m) {
            if rest.is_empty() || rest.starts_with(b".") {
                return m;
            }
        }
    }
    name
}

/// Sections that never reach the output: input-only ones, excluded ones, the GNU property
/// notes (the output gets one of its own, the AND of the inputs'; x86-64's CET bits are not
/// promised), and debug info under `-w`/`-s`. Other non-allocated
/// sections are kept, as GNU ld keeps them: rustc reads a dylib's metadata from `.rustc`.
fn dropped(name: &[u8], flags: SectionFlags, strip_debug: bool) -> bool {
    flags.contains(SectionFlags::INPUT_ONLY)
        || flags.contains(SectionFlags::EXCLUDE)
        || name == b".note.gnu.property"
        || (!flags.contains(SectionFlags::ALLOC) && strip_debug && name.starts_with(b".debug_"))
}

fn class_of(name: &[u8], sh_type: elf::SectionType, flags: u64) -> Class {
    if flags & elf::SHF_ALLOC.0 == 0 {
        Class::NonAlloc
    } else if flags & elf::SHF_TLS.0 != 0 {
        Class::Relro
    } else if flags & elf::SHF_EXECINSTR.0 != 0 {
        Class::Code
    } else if flags & elf::SHF_WRITE.0 != 0 {
        let relro = matches!(
            name,
            b".data.rel.ro" | b".init_array" | b".fini_array" | b".preinit_array"
        ) || sh_type == elf::SHT_INIT_ARRAY
            || sh_type == elf::SHT_FINI_ARRAY
            || sh_type == elf::SHT_PREINIT_ARRAY;
        if relro {
            Class::Relro
        } else {
            Class::Data
        }
    } else {
        Class::ReadOnly
    }
}

/// A note the program loads (an allocated SHT_NOTE section).
fn is_loaded_note(s: &OutputSection) -> bool {
    s.sh_type == elf::SHT_NOTE.0 && s.flags & elf::SHF_ALLOC.0 != 0 && s.size > 0
}

/// The runs of consecutive loaded notes of one alignment, as index ranges of `sections`.
fn note_runs(sections: &[OutputSection]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        if !is_loaded_note(s) {
            continue;
        }
        match runs.last_mut() {
            Some(r) if r.end == i && sections[r.start].align == s.align => r.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// Order inside a class: well-known sections first, in the order GNU ld and lld use, then
/// the rest in first-seen order. NOBITS sections end their segment.
fn rank(name: &str, sh_type: u32, flags: u64) -> u32 {
    const ORDER: &[&str] = &[
        ".interp",
        ".note.gnu.property",
        ".note.gnu.build-id",
        ".dynsym",
        ".dynstr",
        ".hash",
        ".gnu.hash",
        ".gnu.version",
        ".gnu.version_d",
        ".gnu.version_r",
        ".rela.dyn",
        ".rela.plt",
        ".rodata",
        ".gcc_except_table",
        ".eh_frame_hdr",
        ".eh_frame",
        ".text",
        ".plt",
        ".tdata",
        ".tbss",
        ".preinit_array",
        ".init_array",
        ".fini_array",
        ".data.rel.ro",
        ".dynamic",
        ".got",
        ".got.plt",
        ".data",
        ".bss",
    ];
    let nobits = sh_type == elf::SHT_NOBITS.0 && flags & elf::SHF_TLS.0 == 0;
    // Every loaded note sits with the build id's, after `.interp`.
    let note = sh_type == elf::SHT_NOTE.0 && flags & elf::SHF_ALLOC.0 != 0;
    let base = ORDER
        .iter()
        .position(|n| *n == name)
        .or_else(|| {
            note.then(|| ORDER.iter().position(|n| *n == ".note.gnu.build-id"))
                .flatten()
        })
        .map(|p| p as u32)
        .unwrap_or(100);
    // TLS sections lead their segment, initialised data before zeroed, whatever their
    // names: PT_TLS covers one contiguous run of them.
    let tls = flags & elf::SHF_TLS.0 != 0;
    if tls {
        if sh_type == elf::SHT_NOBITS.0 {
            1
        } else {
            0
        }
    } else if nobits {
        1000 + base
    } else {
        base + 2
    }
}

/// Key that decides which output section an input section joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct OutKey<'a> {
    name: &'a [u8],
    sh_type: u32,
    flags: u64,
    /// Character size of merged string sections; 0 for everything else.
    merge_entsize: u64,
}

/// Where one live input section goes, decided for each object in parallel: its output
/// section's key and its init/fini priority.
struct Destination {
    section: u32,
    /// Its output section's key, by its place among the object's [`Destinations::keys`].
    key: u32,
    priority: u64,
}

/// An object's [`Destination`]s, and the distinct keys they go to, in the order the
/// object first names them, each with the class of the first section naming it. The list is
/// grouped by key, each group in section order: key `k`'s are `list[bounds[k]..bounds[k + 1]]`.
#[derive(Default)]
struct Destinations<'a> {
    list: Vec<Destination>,
    keys: Vec<(OutKey<'a>, Class)>,
    bounds: Vec<u32>,
}

/// An object's live sections that reach the output, and where each goes.
fn destinations<'a, A: ElfArch>(
    o: &rlink_linker::object::ObjectView<'a>,
    live: &[bool],
    strip_debug: bool,
) -> Destinations<'a> {
    let mut out = Destinations::default();
    let mut last: Option<(OutKey<'a>, u32)> = None;
    for (si, s) in o.sections.iter().enumerate() {
        let name = s.name;
        if si == 0 || !live[si] || dropped(name, s.flags, strip_debug) {
            continue;
        }
        let sh_type = elf::SectionType(s.raw_type);
        let out_name = output_name(name);
        // Every input's unwind records join one `.eh_frame`, which `.eh_frame_hdr` indexes
        // as a whole, whatever other flags an input's section carries.
        let flags = if out_name == b".eh_frame" {
            elf::SHF_ALLOC.0
        } else {
            u64::from(s.raw_flags)
        };
        let class = class_of(out_name, sh_type, flags);
        let entsize = u64::from(s.merge_entsize);
        // Group and retain flags are input concerns; merge/string flags stay on merged
        // string sections only.
        let mut out_flags = flags
            & !(elf::SHF_GROUP.0
                | elf::SHF_GNU_RETAIN.0
                | elf::SHF_MERGE.0
                | elf::SHF_STRINGS.0
                | elf::SHF_INFO_LINK.0
                | elf::SHF_LINK_ORDER.0);
        if entsize != 0 {
            out_flags |= elf::SHF_MERGE.0 | elf::SHF_STRINGS.0;
        }
        // GCC writes .eh_frame as PROGBITS, LLVM as the CPU's unwind type: one output
        // section, of the CPU's type.
        let sh_type = if out_name == b".eh_frame" {
            A::EH_FRAME_TYPE
        } else {
            sh_type
        };
        let key = OutKey {
            name: out_name,
            sh_type: sh_type.0,
            flags: out_flags,
            merge_entsize: entsize,
        };
        // Consecutive sections of an object mostly go to the same place; an object names a
        // few dozen places at most.
        let local = match last {
            Some((k, local)) if k == key => local,
            _ => {
                let local = match out.keys.iter().position(|(k, _)| *k == key) {
                    Some(local) => local as u32,
                    None => {
                        out.keys.push((key, class));
                        out.keys.len() as u32 - 1
                    }
                };
                last = Some((key, local));
                local
            }
        };
        out.list.push(Destination {
            section: si as u32,
            key: local,
            priority: init_priority(name),
        });
    }
    // Grouped by key, each group in section order, so that each output section's members
    // can be gathered from every object at once. (Consecutive sections mostly share a key:
    // the sort finds long runs.)
    out.list.sort_by_key(|d| d.key);
    let mut bounds = vec![0u32; out.keys.len() + 1];
    for d in &out.list {
        bounds[d.key as usize + 1] += 1;
    }
    for k in 0..out.keys.len() {
        bounds[k + 1] += bounds[k];
    }
    out.bounds = bounds;
    out
}

/// Placement: which input sections go to which output sections (strings merged, init
/// arrays in priority order, commons at the end of `.bss`). Addresses come later, in
/// [`lay_out`], once the relocations' needs are known.
pub fn place<'r, 'a, A: ElfArch>(
    res: &'r Resolution<'a>,
    live: &Live,
    opts: OutputOptions,
) -> Result<Layout<'r, 'a>> {
    let OutputOptions {
        build_mode,
        interpreter: interp,
        strip_debug,
        strip_symbols,
        runpath,
        soname,
        export_all,
        named_exports,
        version_script,
        static_exe,
        entry,
        macos_version_min: _,
        macos_sdk_version: _,
        exported_symbols: _,
        output_name: output_path,
        // Windows-only: only the link.exe front door and `.def` files set them.
        exports: _,
        stack: _,
        windows_gui: _,
        section_merges: _,
        elf: elf_options,
    } = opts;
    let timer = std::time::Instant::now();
    let strip_debug = strip_debug || strip_symbols;
    let mut elf_options = elf_options;
    // `-z execstack-if-needed`: an input whose `.note.GNU-stack` is executable asks for it.
    if elf_options.execstack_if_needed
        && res.objects.iter().any(|o| {
            o.sections.iter().any(|s| {
                s.name == b".note.GNU-stack" && u64::from(s.raw_flags) & elf::SHF_EXECINSTR.0 != 0
            })
        })
    {
        elf_options.execstack = true;
    }
    // A shared library is position-independent like a PIE.
    let pie = build_mode != BuildMode::Exe;
    let mut sections: Vec<OutputSection> = Vec::new();
    // init/fini arrays must be ordered by priority (the `.init_array.NNNNN` suffix) across all
    // inputs, so those input sections are collected first and placed sorted.
    let mut members: Vec<Vec<(u64, u32, u32)>> = Vec::new(); // per output section: (priority, obj, sec)

    let synth = |name: &str,
                 t: elf::SectionType,
                 flags: u64,
                 class: Class,
                 s: Synth,
                 align: u64,
                 entsize: u64| {
        let mut o = OutputSection::new(name, t, flags, class, Some(s));
        o.align = align;
        o.entsize = entsize;
        o
    };
    let a = elf::SHF_ALLOC.0;
    let w = elf::SHF_WRITE.0;
    let x = elf::SHF_EXECINSTR.0;
    let mut gnu_properties = gnu_properties::<A>(res, &elf_options)?;
    let gnu_features = A::FEATURE_1_AND
        .and_then(|t| gnu_properties.iter().find(|(p, _)| *p == t))
        .map_or(0, |&(_, v)| v);
    gnu_properties.retain(|&(p, _)| Some(p) != A::FEATURE_1_AND);
    let synthetics = vec![
        synth(
            ".interp",
            elf::SHT_PROGBITS,
            a,
            Class::ReadOnly,
            Synth::Interp,
            1,
            0,
        ),
        synth(
            ".note.gnu.property",
            elf::SHT_NOTE,
            a,
            Class::ReadOnly,
            Synth::GnuProperty,
            8,
            0,
        ),
        synth(
            ".note.gnu.build-id",
            elf::SHT_NOTE,
            a,
            Class::ReadOnly,
            Synth::BuildId,
            4,
            0,
        ),
        synth(
            ".dynsym",
            elf::SHT_DYNSYM,
            a,
            Class::ReadOnly,
            Synth::DynSym,
            8,
            24,
        ),
        synth(
            ".dynstr",
            elf::SHT_STRTAB,
            a,
            Class::ReadOnly,
            Synth::DynStr,
            1,
            0,
        ),
        synth(
            ".hash",
            elf::SHT_HASH,
            a,
            Class::ReadOnly,
            Synth::SysvHash,
            8,
            4,
        ),
        synth(
            ".gnu.hash",
            elf::SHT_GNU_HASH,
            a,
            Class::ReadOnly,
            Synth::GnuHash,
            8,
            0,
        ),
        synth(
            ".gnu.version",
            elf::SHT_GNU_VERSYM,
            a,
            Class::ReadOnly,
            Synth::GnuVersion,
            2,
            2,
        ),
        synth(
            ".gnu.version_d",
            elf::SHT_GNU_VERDEF,
            a,
            Class::ReadOnly,
            Synth::GnuVersionD,
            8,
            0,
        ),
        synth(
            ".gnu.version_r",
            elf::SHT_GNU_VERNEED,
            a,
            Class::ReadOnly,
            Synth::GnuVersionR,
            8,
            0,
        ),
        synth(
            ".rela.dyn",
            elf::SHT_RELA,
            a,
            Class::ReadOnly,
            Synth::RelaDyn,
            8,
            24,
        ),
        synth(
            ".rela.plt",
            elf::SHT_RELA,
            a | elf::SHF_INFO_LINK.0,
            Class::ReadOnly,
            Synth::RelaPlt,
            8,
            24,
        ),
        synth(
            ".eh_frame_hdr",
            elf::SHT_PROGBITS,
            a,
            Class::ReadOnly,
            Synth::EhFrameHdr,
            4,
            0,
        ),
        synth(
            ".plt",
            elf::SHT_PROGBITS,
            a | x,
            Class::Code,
            Synth::Plt,
            16,
            0,
        ),
        synth(
            ".dynbss",
            elf::SHT_NOBITS,
            a | w,
            Class::Data,
            Synth::DynBss,
            16,
            0,
        ),
        synth(
            ".dynamic",
            elf::SHT_DYNAMIC,
            a | w,
            Class::Relro,
            Synth::Dynamic,
            8,
            16,
        ),
        synth(
            ".got",
            elf::SHT_PROGBITS,
            a | w,
            Class::Relro,
            Synth::Got,
            8,
            8,
        ),
        synth(
            ".got.plt",
            elf::SHT_PROGBITS,
            a | w,
            Class::Relro,
            Synth::GotPlt,
            8,
            8,
        ),
        synth(
            ".comment",
            elf::SHT_PROGBITS,
            elf::SHF_MERGE.0 | elf::SHF_STRINGS.0,
            Class::NonAlloc,
            Synth::Comment,
            1,
            1,
        ),
    ];
    let mut synthetics = synthetics;
    if !elf_options.eh_frame_hdr {
        synthetics.retain(|s| s.synth != Some(Synth::EhFrameHdr));
    }
    if elf_options.rodynamic {
        // `-z rodynamic`: the loader does not write `.dynamic` (there is no DT_DEBUG).
        for s in synthetics
            .iter_mut()
            .filter(|s| s.synth == Some(Synth::Dynamic))
        {
            s.flags &= !w;
            s.class = Class::ReadOnly;
        }
    }
    if build_mode == BuildMode::CShared {
        // Shared libraries are loaded by the dynamic loader, not run by it.
        synthetics.retain(|s| s.synth != Some(Synth::Interp));
    }
    if static_exe {
        // No dynamic loader runs a static executable: only the IRELATIVE relocations stay,
        // under the name the C library's start-up code finds them by (__rela_iplt_start/end).
        synthetics.retain(|s| {
            !matches!(
                s.synth,
                Some(
                    Synth::Interp
                        | Synth::DynSym
                        | Synth::DynStr
                        | Synth::GnuHash
                        | Synth::SysvHash
                        | Synth::GnuVersion
                        | Synth::GnuVersionR
                        | Synth::GnuVersionD
                        | Synth::Dynamic
                        | Synth::RelaPlt
                )
            )
        });
        for s in synthetics
            .iter_mut()
            .filter(|s| s.synth == Some(Synth::RelaDyn))
        {
            s.name = ".rela.iplt".to_string();
        }
    }
    if !strip_symbols {
        synthetics.push(synth(
            ".symtab",
            elf::SHT_SYMTAB,
            0,
            Class::NonAlloc,
            Synth::SymTab,
            8,
            24,
        ));
        synthetics.push(synth(
            ".strtab",
            elf::SHT_STRTAB,
            0,
            Class::NonAlloc,
            Synth::StrTab,
            1,
            0,
        ));
    }
    for s in synthetics {
        members.push(Vec::new());
        sections.push(s);
    }

    let mut placements: Vec<Vec<Option<Placement>>> = res
        .objects
        .iter()
        .map(|o| vec![None; o.sections.len()])
        .collect();
    // Where each live section goes, per object in parallel; then output sections are
    // numbered in the order their first input section appears.
    let destinations: Vec<Destinations<'a>> = res
        .objects
        .par_iter()
        .per_item()
        .zip(live)
        .map(|(o, live)| destinations::<A>(o, live, strip_debug))
        .collect();
    tracing::debug!(elapsed = ?timer.elapsed(), "place: destinations");
    let mut keys: HashMap<OutKey<'a>, u32> = HashMap::default();
    let indices: Vec<Vec<u32>> = destinations
        .iter()
        .map(|d| {
            d.keys
                .iter()
                .map(|&(key, class)| {
                    *keys.entry(key).or_insert_with(|| {
                        let name = String::from_utf8_lossy(key.name);
                        let mut os = OutputSection::new(
                            &name,
                            elf::SectionType(key.sh_type),
                            key.flags,
                            class,
                            None,
                        );
                        os.entsize = key.merge_entsize;
                        sections.push(os);
                        members.push(Vec::new());
                        (sections.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    // Each output section's members, in object order and each object's in section order:
    // which (object, key) pairs feed it is known from the numbering, and the lists are
    // gathered in parallel.
    let mut feeds: Vec<Vec<(u32, u32)>> = vec![Vec::new(); members.len()];
    for (oi, indices) in indices.iter().enumerate() {
        for (local, &index) in indices.iter().enumerate() {
            feeds[index as usize].push((oi as u32, local as u32));
        }
    }
    members
        .par_iter_mut()
        .zip(feeds)
        .per_item()
        .for_each(|(list, feeds)| {
            for (oi, local) in feeds {
                let d = &destinations[oi as usize];
                let group =
                    d.bounds[local as usize] as usize..d.bounds[local as usize + 1] as usize;
                list.extend(
                    d.list[group]
                        .iter()
                        .map(|dest| (dest.priority, oi, dest.section)),
                );
            }
        });
    // Freed now, not late: the heap reuses the pages for what the next phases build.
    drop(destinations);
    tracing::debug!(elapsed = ?timer.elapsed(), "place: numbered");

    // Sizes of input-fed sections. The merged-string sections are merged one after another
    // (each merge is parallel inside); beside them the others' members are placed, section
    // by section in parallel, each a serial walk over its members (`.text` and the debug
    // sections have tens of thousands). The offsets are written into `placements` after, in
    // section order, and the first section in that order with an error reports it.
    for (index, list) in members.iter_mut().enumerate() {
        if matches!(
            sections[index].name.as_str(),
            ".init_array" | ".fini_array" | ".preinit_array"
        ) {
            // Sorted by priority; without a suffix a section runs last (65535 + 1).
            list.sort_by_key(|&(p, obj, sec)| (p, obj, sec));
        }
    }
    let merges_strings =
        |index: usize| sections[index].synth.is_none() && sections[index].entsize != 0;
    let packed_at = |index: usize| sections[index].name == ".eh_frame";
    // Per section, in section order: its merged strings or its members' offsets (neither
    // for a linker-made section).
    let (merges, sized) = rayon::join(
        || -> Vec<Option<Result<MergedStrings<'a>>>> {
            members
                .iter()
                .enumerate()
                .map(|(index, list)| merges_strings(index).then(|| merge_strings(res, list)))
                .collect()
        },
        || -> Vec<Option<Result<Sized>>> {
            members
                .par_iter()
                .per_item()
                .enumerate()
                .map(|(index, list)| {
                    (sections[index].synth.is_none() && !merges_strings(index))
                        .then(|| size_members(res, list, packed_at(index)))
                })
                .collect()
        },
    );
    let mut merged: MergedSections<'a> = MergedSections::default();
    for (index, (strings, sized)) in merges.into_iter().zip(sized).enumerate() {
        let members = members[index]
            .iter()
            .map(|&(_, obj, sec)| (obj as usize, sec as usize));
        let mut place = |(obj, sec): (usize, usize), offset, merged| {
            placements[obj][sec] = Some(Placement {
                section: index as u32,
                offset,
                merged,
            })
        };
        if let Some(sized) = sized {
            let sized = sized?;
            for (member, offset) in members.zip(sized.offsets) {
                place(member, offset, NOT_MERGED);
            }
            sections[index].size = sized.size;
            sections[index].align = sized.align;
        } else if let Some(strings) = strings {
            let strings = strings?;
            for (member, map) in members.zip(strings.maps) {
                place(member, 0, merged.maps.len() as u32);
                merged.maps.push(map);
            }
            sections[index].size = strings.contents.size;
            sections[index].align = strings.align;
            merged.contents.push((index as u32, strings.contents));
        }
    }

    tracing::debug!(elapsed = ?timer.elapsed(), "place: sized and merged");
    // Executable sections keep their member order: range-extension thunks may go between
    // their input sections once the relocations' needs are known.
    let code_members: Vec<(u32, Vec<(u32, u32)>)> = members
        .iter()
        .enumerate()
        .filter(|(index, list)| {
            let s = &sections[*index];
            s.synth.is_none() && s.class == Class::Code && !list.is_empty()
        })
        .map(|(index, list)| {
            (
                index as u32,
                list.iter().map(|&(_, obj, sec)| (obj, sec)).collect(),
            )
        })
        .collect();
    let mut layout = Layout {
        res,
        pie,
        base: elf_options
            .image_base
            .unwrap_or(if pie { 0 } else { EXE_BASE }),
        sections,
        placements,
        segments: Vec::new(),
        got: IndexSet::default(),
        got_offsets: Vec::new(),
        shared: build_mode == BuildMode::CShared,
        plt: IndexSet::default(),
        used_imports: IndexSet::default(),
        copies: IndexSet::default(),
        canonical_plt: IndexSet::default(),
        text_relocations: false,
        copy_offsets: Vec::new(),
        copy_relocs: Vec::new(),
        dyn_imports: Vec::new(),
        dyn_exports: Vec::new(),
        soname: None,
        export_all,
        named_exports,
        version_script,
        runpath_text: runpath,
        soname_text: soname,
        entry_name: entry,
        strip_symbols,
        plt_entry_size: 0,
        plt_header_size: 0,
        gnu_features,
        gnu_properties,
        plt_features: gnu_features,
        plt_tags: Vec::new(),
        tls_tcb_size: A::TLS_TCB_SIZE,
        code_members,
        islands: Vec::new(),
        thunk_sites: HashMap::default(),
        thunk_size: A::THUNK_SIZE,
        dynsym_index: HashMap::default(),
        dynstr: vec![0],
        needed: Vec::new(),
        version_needs: Vec::new(),
        version_defs: Vec::new(),
        output_name: output_path,
        gnu_hash: GnuHash::new(&[], 1),
        interp,
        runpath: None,
        audit: None,
        depaudit: None,
        filters: Vec::new(),
        dyn_relocs_per_object: Vec::new(),
        dyn_sites: Vec::new(),
        common: HashMap::default(),
        synthetic: HashMap::default(),
        tls: None,
        entry: 0,
        file_size: 0,
        section_header_offset: 0,
        shstrtab: Vec::new(),
        section_name_offsets: Vec::new(),
        comment: Vec::new(),
        fde_count: 0,
        dynamic_tags: 0,
        strip_debug,
        symtab: None,
        merged,
        elf: elf_options,
    };
    place_commons(&mut layout)?;
    Ok(layout)
}

/// With the relocations' needs known: copies of imported data, the dynamic-linking tables,
/// the symbol table, every linker-made section's size, every address, and the entry.
pub fn lay_out<A: ElfArch>(l: &mut Layout<'_, '_>, needs: Needs) -> Result<()> {
    let timer = std::time::Instant::now();
    let step = |what: &str| tracing::debug!(elapsed = ?timer.elapsed(), "layout: {what}");
    l.got = needs.got;
    l.got_offsets = needs.got_offsets;
    l.plt = needs.plt;
    l.used_imports = needs.used_imports;
    l.copies = needs.copies;
    l.canonical_plt = needs.canonical_plt;
    l.text_relocations = needs.text_relocations;
    l.dyn_relocs_per_object = needs.dyn_relocs_per_object;
    l.dyn_sites = needs.dyn_sites;
    place_copies(l)?;
    step("copies placed");
    // `-z ibtplt`: PLT entries start with landing pads though the output is not marked.
    let forced_pads = if l.elf.ibtplt {
        A::FEATURE_LANDING_PADS
    } else {
        0
    };
    l.plt_features = l.gnu_features | forced_pads;
    (l.plt_header_size, l.plt_entry_size) = A::plt_sizes(l.plt_features);
    plan_thunks::<A>(l)?;
    keep_landing_pads::<A>(l);
    // Without BTI the PLT may shrink: the thunks planned for the larger one still reach.
    l.plt_features = l.gnu_features | forced_pads;
    (l.plt_header_size, l.plt_entry_size) = A::plt_sizes(l.plt_features);
    if !l.plt.is_empty() {
        l.plt_tags = A::plt_dynamic_tags(l.plt_features);
    }
    build_dynamic_tables(l, l.runpath_text.clone(), l.soname_text.clone())?;
    step("dynamic tables built");
    if !l.strip_symbols {
        l.symtab = Some(symtab::build(l)?);
    }
    step("symbol tables built");
    count_fdes(l)?;
    step("FDEs counted");
    size_synthetics(l);
    step("linker-made sections sized");
    assign_addresses(l)?;
    step("addresses assigned");
    define_synthetic_symbols(l);
    l.entry = entry_address(l)?;
    Ok(())
}

/// Range-extension thunks (veneers): a branch whose target lies beyond the instruction's reach
/// (±128 MiB for AArch64's `b`/`bl`) goes to a thunk placed right after its own input section
/// (code never runs from one input section into the next, except in `.init`/`.fini`), which
/// reaches anywhere. Distances are measured inside the output section, where they are
/// known before addresses are; a target elsewhere (a PLT entry, another code section) is taken
/// to be as far as all code is long. Islands move the sections after them, which can put more
/// branches out of reach: repeated until nothing changes, as lld does.
fn plan_thunks<A: ElfArch>(l: &mut Layout<'_, '_>) -> Result<()> {
    if A::THUNK_SIZE == 0 || l.code_members.is_empty() {
        return Ok(());
    }
    let res = l.res;
    for _round in 0..16 {
        let code_size: u64 = l
            .sections
            .iter()
            .filter(|s| s.class == Class::Code)
            .map(|s| s.size)
            .sum::<u64>()
            + l.plt_header_size
            + l.plt_entry_size * l.plt.len() as u64
            + (1 << 20);
        let mut added = false;
        for (out, members) in &l.code_members {
            for &(obj, sec) in members {
                let o = &res.objects[obj as usize];
                let Some(p) = l.placements[obj as usize][sec as usize] else {
                    continue;
                };
                for r in o.relocations[sec as usize].iter() {
                    let Some((lo, hi)) = A::branch_range(r.r_type) else {
                        continue;
                    };
                    if l.thunk_sites.contains_key(&(obj, sec, r.offset)) {
                        continue;
                    }
                    let place = p.offset as i64 + r.offset as i64;
                    let t = rlink_linker::scan::target(res, obj as usize, r.symbol);
                    let distance = match thunk_target_offset(l, t, *out) {
                        Some(at) => at.wrapping_add(r.addend).wrapping_sub(place),
                        None => code_size as i64,
                    };
                    // A margin for the thunks this round adds before the target.
                    let margin = 1 << 20;
                    if distance >= lo + margin && distance < hi - margin {
                        continue;
                    }
                    // `.init` and `.fini` are one function assembled from pieces (crti's
                    // prologue, crtn's epilogue) that run into each other: their thunks go
                    // after the last piece, never between two.
                    let name = l.sections[*out as usize].name.as_str();
                    let after = match members.last() {
                        Some(&last) if name == ".init" || name == ".fini" => last,
                        _ => (obj, sec),
                    };
                    let island = match l.islands.iter().position(|i| i.after == after) {
                        Some(i) => i,
                        None => {
                            l.islands.push(Island {
                                section: *out,
                                offset: 0,
                                targets: Vec::new(),
                                after,
                            });
                            l.islands.len() - 1
                        }
                    };
                    let key = (t, r.addend);
                    let targets = &mut l.islands[island].targets;
                    let slot = match targets.iter().position(|&k| k == key) {
                        Some(k) => k,
                        None => {
                            targets.push(key);
                            targets.len() - 1
                        }
                    };
                    l.thunk_sites
                        .insert((obj, sec, r.offset), (island as u32, slot as u32));
                    added = true;
                }
            }
        }
        if !added {
            return Ok(());
        }
        relayout_code_sections(l)?;
    }
    bail!("range-extension thunks did not settle after 16 rounds (linker bug)")
}

/// Where a branch target lies in output section `out`, if it is there (an input section's
/// symbol); `None` when it is elsewhere.
fn thunk_target_offset(l: &Layout<'_, '_>, t: SymbolRef, out: u32) -> Option<i64> {
    let res = l.res;
    let (obj, sym) = match t {
        SymbolRef::Local { obj, sym } => (obj, sym),
        SymbolRef::Global(id) => match res.globals[id as usize].def {
            Def::Object { obj, sym, .. } => (obj, sym),
            _ => return None,
        },
    };
    let s = &res.objects[obj as usize].symbols[sym as usize];
    let SymPlace::Section(sec) = s.place else {
        return None;
    };
    if s.kind == SymbolKind::IFunc {
        return None;
    }
    let p = l.placements[obj as usize][sec as usize]?;
    (p.section == out).then(|| p.offset.wrapping_add(s.value) as i64)
}

/// Lays the executable output sections out again with their islands: each island right after
/// its input section, the sections after it moved along.
fn relayout_code_sections(l: &mut Layout<'_, '_>) -> Result<()> {
    let res = l.res;
    for (out, members) in &l.code_members {
        let mut size = 0u64;
        for &(obj, sec) in members {
            let s = &res.objects[obj as usize].sections[sec as usize];
            let Some(p) = l.placements[obj as usize][sec as usize].as_mut() else {
                continue;
            };
            let at = size
                .checked_next_multiple_of(s.align())
                .ok_or_else(|| Error::new("code section too large for the address space"))?;
            p.offset = at;
            size = at + s.size;
            for island in l.islands.iter_mut().filter(|i| i.after == (obj, sec)) {
                island.offset = size.next_multiple_of(4);
                size = island.offset + l.thunk_size * island.targets.len() as u64;
            }
        }
        if size > ADDRESS_LIMIT {
            bail!("code section too large for the address space");
        }
        let section = &mut l.sections[*out as usize];
        section.size = size;
        section.align = section.align.max(4);
    }
    Ok(())
}

/// The entry point: the entry symbol's address (0 for a shared library without one).
fn entry_address(l: &Layout<'_, '_>) -> Result<u64> {
    let res = l.res;
    Ok(match res.global(&l.entry_name).map(|g| g.def) {
        Some(Def::Object { obj, sym, .. }) => {
            let s = &res.objects[obj as usize].symbols[sym as usize];
            match s.place {
                SymPlace::Section(sec) => l
                    .input_section_addr(obj as usize, sec as usize)
                    .unwrap_or(0)
                    .wrapping_add(s.value),
                _ => s.value,
            }
        }
        _ if l.shared => 0,
        // GNU ld's line: no start-up object is linked for it, and a missing entry is a
        // warning, the program starting at its code, as GNU ld does.
        _ if !l.elf.entry_required => {
            let start = l
                .sections
                .iter()
                .find(|s| s.name == ".text")
                .map(|s| s.addr)
                .unwrap_or(0);
            eprintln!(
                "rlink: warning: cannot find entry symbol {}; defaulting to {start:#x}",
                String::from_utf8_lossy(&l.entry_name)
            );
            start
        }
        _ => bail!(
            "no entry point: {} is not defined",
            String::from_utf8_lossy(&l.entry_name)
        ),
    })
}

/// The size of imported data to copy.
pub fn copy_size(res: &Resolution<'_>, id: SymbolId) -> u64 {
    match res.globals[id as usize].def {
        Def::Dynamic { import } => res.imports[import as usize].size,
        _ => 0,
    }
}

/// Places the copies of imported data in `.dynbss`, each aligned as its size suggests (a
/// library's data is aligned at most to 16 bytes on x86-64). Aliases — names one library
/// defines at one address — share one copy, so that the program and the library agree on the
/// object whichever name each uses.
fn place_copies(l: &mut Layout<'_, '_>) -> Result<()> {
    let mut at = 0u64;
    let mut placed: HashMap<(u32, u64), u64> = HashMap::default();
    for &id in &l.copies {
        let size = copy_size(l.res, id);
        let alias_key = match l.res.globals[id as usize].def {
            Def::Dynamic { import } => {
                let imp = &l.res.imports[import as usize];
                (imp.value != 0).then_some((imp.library, imp.value))
            }
            _ => None,
        };
        if let Some(&offset) = alias_key.as_ref().and_then(|k| placed.get(k)) {
            l.copy_offsets.push(offset);
            continue;
        }
        if size == 0 {
            bail!(
                "cannot copy imported data {}: its size is unknown (no shared library defines it here); recompile with -fPIC",
                String::from_utf8_lossy(l.res.globals[id as usize].name)
            );
        }
        let align = size.checked_next_power_of_two().unwrap_or(16).min(16);
        at = at
            .checked_next_multiple_of(align)
            .and_then(|a| Some((a, a.checked_add(size)?)))
            .filter(|&(_, end)| end <= ADDRESS_LIMIT)
            .map(|(a, end)| {
                l.copy_offsets.push(a);
                l.copy_relocs.push(id);
                if let Some(k) = alias_key {
                    placed.insert(k, a);
                }
                end
            })
            .ok_or_else(|| {
                Error::new(format!(
                    "imported data {} of {size:#x} bytes does not fit in the address space",
                    String::from_utf8_lossy(l.res.globals[id as usize].name)
                ))
            })?;
    }
    Ok(())
}

/// `.init_array.00099` → 99; no suffix → after every prioritised one.
fn init_priority(name: &[u8]) -> u64 {
    if !matches!(name.get(1), Some(b'i' | b'f' | b'p')) {
        return 65536;
    }
    for prefix in [&b".init_array."[..], b".fini_array.", b".preinit_array."] {
        if let Some(n) = name.strip_prefix(prefix) {
            return std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(65536);
        }
    }
    65536
}

/// Tentative definitions go at the end of `.bss`.
fn place_commons(l: &mut Layout<'_, '_>) -> Result<()> {
    let commons: Vec<(SymbolId, u64, u64)> = l
        .res
        .globals
        .iter()
        .enumerate()
        .filter_map(|(id, g)| match g.def {
            Def::Common { obj, sym } => {
                let s = &l.res.objects[obj as usize].symbols[sym as usize];
                // For commons st_value holds the alignment.
                Some((id as SymbolId, s.size, s.value.max(1)))
            }
            _ => None,
        })
        .collect();
    if commons.is_empty() {
        return Ok(());
    }
    let index = match l
        .sections
        .iter()
        .position(|s| s.name == ".bss" && s.synth.is_none())
    {
        Some(i) => i,
        None => {
            l.sections.push(OutputSection::new(
                ".bss",
                elf::SHT_NOBITS,
                elf::SHF_ALLOC.0 | elf::SHF_WRITE.0,
                Class::Data,
                None,
            ));
            l.sections.len() - 1
        }
    };
    let s = &mut l.sections[index];
    for (id, size, align) in commons {
        if !align.is_power_of_two() {
            bail!(
                "common symbol {} has alignment {align}",
                String::from_utf8_lossy(l.res.globals[id as usize].name)
            );
        }
        let placed = s
            .size
            .checked_next_multiple_of(align)
            .and_then(|at| Some((at, at.checked_add(size)?)))
            .filter(|&(_, end)| end <= ADDRESS_LIMIT && align <= crate::object::MAX_ALIGNMENT);
        let Some((at, end)) = placed else {
            bail!(
                "common symbol {} ({size:#x} bytes, alignment {align:#x}) does not fit in the address space",
                String::from_utf8_lossy(l.res.globals[id as usize].name)
            );
        };
        l.common.insert(id, at);
        s.size = end;
        s.align = s.align.max(align);
    }
    Ok(())
}

pub(crate) fn add_string(table: &mut Vec<u8>, s: &[u8]) -> u32 {
    let offset = table.len() as u32;
    table.extend_from_slice(s);
    table.push(0);
    offset
}

/// FDEs in the input `.eh_frame` sections, for the size of `.eh_frame_hdr`.
fn count_fdes(l: &mut Layout<'_, '_>) -> Result<()> {
    let res = l.res;
    let counts: Vec<usize> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| -> Result<usize> {
            let mut n = 0;
            for (si, p) in l.placements[oi].iter().enumerate() {
                let Some(p) = p else { continue };
                if l.sections[p.section as usize].name != ".eh_frame" {
                    continue;
                }
                n += eh_frame::count_fdes(o.section_data(si)).map_err(|e| e.at(&o.place))?;
            }
            Ok(n)
        })
        .collect::<Result<_>>()?;
    l.fde_count = counts.iter().sum();
    Ok(())
}

fn size_synthetics(l: &mut Layout<'_, '_>) {
    let copies_size = l
        .copies
        .iter()
        .zip(&l.copy_offsets)
        .map(|(&id, off)| off + copy_size(l.res, id))
        .max()
        .unwrap_or(0);
    let dynsym_count = l.dyn_imports.len() as u64 + l.dyn_exports.len() as u64 + 1;
    let relocs: u64 = l
        .dyn_relocs_per_object
        .iter()
        .map(|(a, b)| (a + b) as u64)
        .sum::<u64>()
        // Thousands of GOT entries, each a look at its target: in parallel.
        + l.got
            .par_iter()
            .with_min_len(1024)
            .map(|e| got_dynamic_relocs(l, *e))
            .sum::<u64>()
        + l.copy_relocs.len() as u64;
    // The PLT slots' relocations have their own table, but a static executable has no
    // DT_JMPREL: there its IRELATIVEs join the others in `.rela.iplt`.
    let static_exe = !l.sections.iter().any(|s| s.synth == Some(Synth::RelaPlt));
    let plt_relocs = l.plt.len() as u64;
    let relocs = relocs + if static_exe { plt_relocs } else { 0 };
    l.dynamic_tags = dynamic_tag_count(l);
    let mut comment = format!("rlink {}\0", env!("CARGO_PKG_VERSION")).into_bytes();
    // Each object's `.comment` strings in parallel (finding them means a look at every
    // section's name), then the distinct ones in the order first met.
    let per_object: Vec<Vec<&[u8]>> = l
        .res
        .objects
        .par_iter()
        .per_item()
        .map(|o| {
            let mut mine: Vec<&[u8]> = Vec::new();
            for section in o.sections.iter().filter(|s| s.name == b".comment") {
                for s in section.data.split(|&b| b == 0).filter(|s| !s.is_empty()) {
                    if !mine.contains(&s) {
                        mine.push(s);
                    }
                }
            }
            mine
        })
        .collect();
    let mut seen: Vec<&[u8]> = Vec::new();
    for s in per_object.into_iter().flatten() {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    for s in seen {
        comment.extend_from_slice(s);
        comment.push(0);
    }
    l.comment = comment;
    let properties = l.property_count();
    for s in l.sections.iter_mut() {
        let Some(kind) = s.synth else { continue };
        s.size = match kind {
            Synth::Interp => l.interp.len() as u64 + 1,
            // The note's header and name, then 16 bytes per property (type, size, value,
            // padding to 8).
            Synth::GnuProperty if properties == 0 => 0,
            Synth::GnuProperty => 16 + 16 * properties as u64,
            Synth::BuildId if l.elf.build_id.is_empty() => 0,
            Synth::BuildId => 16 + l.elf.build_id.len() as u64,
            Synth::DynSym => 24 * dynsym_count,
            Synth::DynStr => l.dynstr.len() as u64,
            // `--hash-style=sysv` leaves `.gnu.hash` out; its order of the exports stays.
            Synth::GnuHash if !l.elf.gnu_hash => 0,
            Synth::GnuHash => l.gnu_hash.size() as u64,
            Synth::SysvHash if l.elf.sysv_hash => {
                4 * (2 + sysv_buckets(dynsym_count) + dynsym_count)
            }
            Synth::SysvHash => 0,
            // Without versions needed or defined there is no `.gnu.version`: glibc's loader
            // reads DT_VERSYM as a promise of them.
            Synth::GnuVersion if l.version_needs.is_empty() && l.version_defs.is_empty() => 0,
            Synth::GnuVersion => 2 * dynsym_count,
            Synth::GnuVersionD => l.version_defs.iter().map(VersionDef::size).sum(),
            Synth::GnuVersionR => l
                .version_needs
                .iter()
                .map(|v| 16 + 16 * v.versions.len() as u64)
                .sum(),
            Synth::RelaDyn => 24 * relocs,
            Synth::RelaPlt => 24 * plt_relocs,
            Synth::EhFrameHdr => eh_frame::eh_frame_hdr_size(l.fde_count) as u64,
            Synth::Plt if l.plt.is_empty() => 0,
            Synth::Plt => l.plt_header_size + l.plt_entry_size * l.plt.len() as u64,
            Synth::Dynamic => 16 * l.dynamic_tags as u64,
            Synth::Got => 8 * l.got.iter().map(|e| e.slots()).sum::<u64>(),
            Synth::GotPlt if plt_relocs == 0 => 0,
            Synth::GotPlt => 8 * (GOT_PLT_RESERVED + plt_relocs),
            Synth::DynBss => copies_size,
            Synth::Comment => l.comment.len() as u64,
            Synth::SymTab => l
                .symtab
                .as_ref()
                .map(|t| 24 * (t.len() as u64 + 1))
                .unwrap_or(0),
            Synth::StrTab => l
                .symtab
                .as_ref()
                .map(|t| t.strtab_len() as u64)
                .unwrap_or(0),
            Synth::ShStrTab => 0,
        };
    }
}

/// The output's GNU properties, (`pr_type`, value) in type order, merged from the inputs'
/// `.note.gnu.property` notes as the CPU says ([`ElfArch::property_merge`]: an AND property
/// an input lacks clears it, as GNU ld computes them), with what the command line adds.
/// Each note is checked as hostile input.
fn gnu_properties<A: ElfArch>(
    res: &Resolution<'_>,
    options: &rlink_linker::plan::ElfOptions,
) -> Result<Vec<(u32, u32)>> {
    use crate::PropertyMerge;
    // Per type: the merged value and how many objects had it.
    let mut merged: std::collections::BTreeMap<u32, (u32, usize)> = Default::default();
    // Each object's properties in parallel (finding the notes means a look at every
    // section's name); merged in object order, so the first malformed note reported is the
    // first on the command line.
    let per_object: Vec<Result<std::collections::BTreeMap<u32, u32>>> = res
        .objects
        .par_iter()
        .per_item()
        .map(|o| {
            let mut mine: std::collections::BTreeMap<u32, u32> = Default::default();
            for s in o
                .sections
                .iter()
                .filter(|s| s.name == b".note.gnu.property")
            {
                let malformed =
                    |what: &str| Error::new(format!("{}: .note.gnu.property: {what}", o.place));
                let mut notes = object::read::elf::NoteIterator::<
                    object::elf::FileHeader64<object::LittleEndian>,
                >::new(object::LittleEndian, 8, s.data)
                .map_err(|e| malformed(&e.to_string()))?;
                while let Some(note) = notes.next().map_err(|e| malformed(&e.to_string()))? {
                    // `None` for notes other than GNU's NT_GNU_PROPERTY_TYPE_0.
                    let Some(mut props) = note.gnu_properties(object::LittleEndian) else {
                        continue;
                    };
                    while let Some(p) = props.next().map_err(|e| malformed(&e.to_string()))? {
                        let pr_type = p.pr_type().0;
                        if A::property_merge(pr_type) == PropertyMerge::Drop {
                            continue;
                        }
                        let value = p
                            .data_u32(object::LittleEndian)
                            .map_err(|e| malformed(&e.to_string()))?;
                        *mine.entry(pr_type).or_default() |= value;
                    }
                }
            }
            Ok(mine)
        })
        .collect();
    for mine in per_object {
        let mine = mine?;
        for (pr_type, value) in mine {
            let e = merged.entry(pr_type).or_insert((
                match A::property_merge(pr_type) {
                    PropertyMerge::And => u32::MAX,
                    _ => 0,
                },
                0,
            ));
            match A::property_merge(pr_type) {
                PropertyMerge::And => e.0 &= value,
                _ => e.0 |= value,
            }
            e.1 += 1;
        }
    }
    let objects = res.objects.len();
    let mut out: Vec<(u32, u32)> = merged
        .into_iter()
        .filter(|&(pr_type, (_, seen))| match A::property_merge(pr_type) {
            PropertyMerge::And | PropertyMerge::OrAnd => seen == objects,
            _ => true,
        })
        .map(|(pr_type, (value, _))| (pr_type, value))
        .collect();
    for (pr_type, bits) in A::forced_properties(options) {
        match out.iter_mut().find(|(t, _)| *t == pr_type) {
            Some((_, v)) => *v |= bits,
            None => out.push((pr_type, bits)),
        }
    }
    out.retain(|&(_, v)| v != 0);
    out.sort_unstable();
    Ok(out)
}

/// With BTI, a thunk's `br x16` must land on a landing pad. A target that does not start with
/// one (a function the compiler knew was only called directly) would fault, so the output
/// then does without BTI, as a warning-free fallback GNU ld also takes for unmarked inputs.
fn keep_landing_pads<A: ElfArch>(l: &mut Layout<'_, '_>) {
    if l.gnu_features & A::FEATURE_LANDING_PADS == 0 || l.islands.is_empty() {
        return;
    }
    let res = l.res;
    let lands = |t: SymbolRef, addend: i64| -> bool {
        let (obj, sym) = match t {
            SymbolRef::Local { obj, sym } => (obj, sym),
            SymbolRef::Global(id) => match res.globals[id as usize].def {
                Def::Object { obj, sym, .. } => (obj, sym),
                // Imports are reached through PLT entries, which start with `bti c`.
                _ => return true,
            },
        };
        let o = &res.objects[obj as usize];
        let s = &o.symbols[sym as usize];
        if s.kind == SymbolKind::IFunc {
            return true;
        }
        let SymPlace::Section(sec) = s.place else {
            return false;
        };
        let at = s.value.wrapping_add(addend as u64) as usize;
        o.sections[sec as usize]
            .data
            .get(at..at.wrapping_add(4))
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .is_some_and(A::is_landing_pad)
    };
    if !l
        .islands
        .iter()
        .flat_map(|i| &i.targets)
        .all(|&(t, a)| lands(t, a))
    {
        tracing::info!("a range-extension thunk targets code without a BTI landing pad: the output is not marked BTI");
        l.gnu_features &= !A::FEATURE_LANDING_PADS;
    }
}

/// Words at the start of `.got.plt` before the first PLT slot: `_DYNAMIC`'s address, then two
/// the loader fills for lazy binding (its link map and resolver).
pub const GOT_PLT_RESERVED: u64 = 3;

/// How many dynamic relocations a GOT entry needs: imported symbols always; in a PIE or a
/// shared library, addresses of the output's own symbols (RELATIVE). TP offsets of an
/// executable's own TLS are fixed; a shared library's are not (its TLS block is placed at
/// load time), nor is its module id.
pub fn got_dynamic_relocs(l: &Layout<'_, '_>, e: GotEntry) -> u64 {
    match e {
        GotEntry::Address(t) => {
            let info = target_info(l.res, t);
            let canonical_ifunc = info.ifunc
                && !l.shared
                && matches!(t, SymbolRef::Global(id) if l.plt.contains(&id));
            if canonical_ifunc {
                return l.pie as u64;
            }
            (info.ifunc || info.dynamic || (l.pie && !info.is_absolute())) as u64
        }
        GotEntry::TpOff(t) => (target_info(l.res, t).dynamic || l.shared) as u64,
        GotEntry::TlsGd(t) => 1 + target_info(l.res, t).dynamic as u64,
        GotEntry::TlsLd | GotEntry::TlsDesc(_) => 1,
    }
}

/// Orders the output sections, assigns addresses and offsets page by page, and builds the
/// program headers.
fn assign_addresses(l: &mut Layout<'_, '_>) -> Result<()> {
    // Linker-made sections that would be empty are left out (a .plt without imports), except
    // the dynamic-linking ones the loader always wants. Input-fed sections are always kept, so
    // placements only need renumbering.
    let keep = |s: &OutputSection| {
        s.synth.is_none()
            || s.size > 0
            || matches!(
                s.synth,
                Some(Synth::DynSym | Synth::DynStr | Synth::Dynamic | Synth::RelaDyn)
            )
    };
    let mut order: Vec<usize> = (0..l.sections.len())
        .filter(|&i| keep(&l.sections[i]))
        .collect();
    // Notes follow `.interp`, the most aligned first, so that each run of one alignment is
    // one PT_NOTE without padding inside.
    let note_order = |s: &OutputSection| match is_loaded_note(s) {
        true => u64::MAX - s.align,
        false => 0,
    };
    order.sort_by_key(|&i| {
        (
            l.sections[i].class,
            rank(
                &l.sections[i].name,
                l.sections[i].sh_type,
                l.sections[i].flags,
            ),
            note_order(&l.sections[i]),
            i,
        )
    });
    let mut renumber = vec![u32::MAX; l.sections.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new as u32;
    }
    let mut sorted: Vec<OutputSection> = order.iter().map(|&i| l.sections[i].clone()).collect();
    for per_obj in l.placements.iter_mut() {
        for p in per_obj.iter_mut().flatten() {
            p.section = renumber[p.section as usize];
        }
    }
    for (section, _) in l.merged.contents.iter_mut() {
        *section = renumber[*section as usize];
    }
    for island in l.islands.iter_mut() {
        island.section = renumber[island.section as usize];
    }

    // PHDR and GNU_STACK always; INTERP, DYNAMIC, GNU_EH_FRAME and NOTE with their sections;
    // a LOAD per class present (the first, holding the headers, always), GNU_RELRO with the
    // RELRO one, TLS with TLS sections. Exactly as many as are written: no PT_NULL padding.
    let has = |name: &str| sorted.iter().any(|s| s.name == name);
    let has_class = |c: Class| sorted.iter().any(|s| s.class == c);
    let n_phdrs = 2
        + has(".note.gnu.property") as usize
        + note_runs(&sorted).len()
        + [".interp", ".dynamic", ".eh_frame_hdr"]
            .iter()
            .filter(|n| has(n))
            .count()
        + 1
        + [Class::Code, Class::Relro, Class::Data]
            .iter()
            .filter(|c| has_class(**c))
            .count()
        + (has_class(Class::Relro) && l.elf.relro) as usize
        + sorted.iter().any(|s| s.is_tls()) as usize;
    let headers = 64 + 56 * n_phdrs as u64;
    let max_page = l.elf.max_page_size.unwrap_or(PAGE);
    let mut addr = l.base + headers;
    let mut offset = headers;
    let mut class = Class::ReadOnly;
    let mut segments: Vec<(Class, u64, u64, u64, u64)> = Vec::new(); // class, offset, addr, filesz, memsz
    segments.push((Class::ReadOnly, 0, l.base, headers, headers));
    // Hostile sizes and alignments end here, with the section named, before any byte of the
    // output exists: every address must stay below the address space's end and every file
    // offset must fit.
    let too_big = |s: &OutputSection| {
        Error::new(format!(
            "output section {} ({:#x} bytes, alignment {:#x}) does not fit in the address space",
            s.name, s.size, s.align
        ))
    };
    let align_up = |v: u64, a: u64| v.checked_next_multiple_of(a.max(1));
    for s in sorted.iter_mut() {
        if s.class == Class::NonAlloc {
            continue;
        }
        if s.class != class {
            class = s.class;
            // Each segment starts on a page of the file (code never shares one with data);
            // its address is on a new page of the largest size the output may be loaded
            // with (`-z max-page-size`), at the same position within it as the offset.
            offset = align_up(offset, PAGE).ok_or_else(|| too_big(s))?;
            addr = align_up(addr, max_page).ok_or_else(|| too_big(s))?;
            addr += offset % max_page;
            segments.push((class, offset, addr, 0, 0));
        }
        addr = align_up(addr, s.align).ok_or_else(|| too_big(s))?;
        if !s.is_nobits() {
            offset = align_up(offset, s.align).ok_or_else(|| too_big(s))?;
            // Offsets must keep the address's position in the page.
            let want = addr % max_page;
            if offset % max_page != want {
                offset = offset
                    .checked_add((want + max_page - offset % max_page) % max_page)
                    .ok_or_else(|| too_big(s))?;
            }
        }
        let end = addr
            .checked_add(s.size)
            .filter(|&end| end <= ADDRESS_LIMIT)
            .ok_or_else(|| too_big(s))?;
        s.addr = addr;
        s.offset = offset;
        let seg = segments
            .last_mut()
            .ok_or_else(|| Error::new("no segment (linker bug)"))?;
        let tbss = s.is_nobits() && s.is_tls();
        if !tbss {
            addr = end;
        }
        if !s.is_nobits() {
            offset = offset.checked_add(s.size).ok_or_else(|| too_big(s))?;
            seg.3 = offset - seg.1;
        }
        seg.4 = seg.4.max(if tbss { s.addr } else { end } - seg.2);
    }
    // Non-allocated sections follow, then the section headers.
    for s in sorted.iter_mut().filter(|s| s.class == Class::NonAlloc) {
        offset = align_up(offset, s.align).ok_or_else(|| too_big(s))?;
        s.offset = offset;
        s.addr = 0;
        offset = offset.checked_add(s.size).ok_or_else(|| too_big(s))?;
    }

    // TLS block.
    let tls_sections: Vec<&OutputSection> = sorted.iter().filter(|s| s.is_tls()).collect();
    if let (Some(first), Some(last)) = (tls_sections.first(), tls_sections.last()) {
        let align = tls_sections.iter().map(|s| s.align).max().unwrap_or(1);
        l.tls = Some((first.addr, last.addr + last.size - first.addr, align));
    }

    // Program headers.
    let mut phdrs = Vec::new();
    let find = |name: &str| sorted.iter().find(|s| s.name == name);
    // A program header that covers exactly one section.
    let covering = |p_type: elf::ProgramType, flags: u32, align: u64, s: &OutputSection| Segment {
        p_type: p_type.0,
        flags,
        offset: s.offset,
        addr: s.addr,
        filesz: s.size,
        memsz: s.size,
        align,
    };
    let perms = |c: Class| match c {
        Class::ReadOnly => elf::PF_R.0,
        Class::Code => elf::PF_R.0 | elf::PF_X.0,
        _ => elf::PF_R.0 | elf::PF_W.0,
    };
    phdrs.push(Segment {
        p_type: elf::PT_PHDR.0,
        flags: elf::PF_R.0,
        offset: 64,
        addr: l.base + 64,
        filesz: 56 * n_phdrs as u64,
        memsz: 56 * n_phdrs as u64,
        align: 8,
    });
    if let Some(i) = find(".interp") {
        phdrs.push(covering(elf::PT_INTERP, elf::PF_R.0, 1, i));
    }
    for &(c, off, a, filesz, memsz) in &segments {
        phdrs.push(Segment {
            p_type: elf::PT_LOAD.0,
            flags: perms(c),
            offset: off,
            addr: a,
            filesz,
            memsz,
            align: l.elf.max_page_size.unwrap_or(PAGE),
        });
    }
    if let Some(d) = find(".dynamic") {
        phdrs.push(covering(elf::PT_DYNAMIC, elf::PF_R.0 | elf::PF_W.0, 8, d));
    }
    if let Some((start, memsz, align)) = l.tls {
        let first = tls_sections[0];
        let filesz: u64 = tls_sections
            .iter()
            .filter(|s| !s.is_nobits())
            .map(|s| s.addr + s.size - first.addr)
            .max()
            .unwrap_or(0);
        phdrs.push(Segment {
            p_type: elf::PT_TLS.0,
            flags: elf::PF_R.0,
            offset: first.offset,
            addr: start,
            filesz,
            memsz,
            align,
        });
    }
    if let Some(h) = find(".eh_frame_hdr") {
        phdrs.push(covering(elf::PT_GNU_EH_FRAME, elf::PF_R.0, 4, h));
    }
    phdrs.push(Segment {
        p_type: elf::PT_GNU_STACK.0,
        flags: elf::PF_R.0 | elf::PF_W.0 | if l.elf.execstack { elf::PF_X.0 } else { 0 },
        offset: 0,
        addr: 0,
        filesz: 0,
        // The loader sizes the main thread's stack from it (`-z stack-size`).
        memsz: l.elf.stack_size,
        align: 16,
    });
    let relro = segments
        .iter()
        .find(|s| s.0 == Class::Relro)
        .filter(|_| l.elf.relro);
    if let Some(&(_, off, a, filesz, _)) = relro {
        phdrs.push(Segment {
            p_type: elf::PT_GNU_RELRO.0,
            flags: elf::PF_R.0,
            offset: off,
            addr: a,
            filesz,
            memsz: filesz,
            align: 1,
        });
    }
    // One PT_NOTE per run of loaded notes of one alignment, as GNU ld and lld write them.
    for run in note_runs(&sorted) {
        let (first, last) = (&sorted[run.start], &sorted[run.end - 1]);
        let end = last.offset + last.size;
        phdrs.push(Segment {
            p_type: elf::PT_NOTE.0,
            flags: elf::PF_R.0,
            offset: first.offset,
            addr: first.addr,
            filesz: end - first.offset,
            memsz: end - first.offset,
            align: first.align.max(1),
        });
    }
    // The kernel (for the executable and its interpreter) and the loader (for libraries)
    // read the features from PT_GNU_PROPERTY; older tools look in the PT_NOTEs.
    if let Some(n) = find(".note.gnu.property") {
        phdrs.push(covering(elf::PT_GNU_PROPERTY, elf::PF_R.0, 8, n));
    }
    if phdrs.len() != n_phdrs {
        bail!(
            "program header count {} differs from the reserved {n_phdrs} (linker bug)",
            phdrs.len()
        );
    }

    // Section header string table and section headers at the end.
    let mut shstrtab = vec![0u8];
    let mut name_offsets = Vec::with_capacity(sorted.len());
    for s in &sorted {
        name_offsets.push(add_string(&mut shstrtab, s.name.as_bytes()));
    }
    let shstrtab_name = add_string(&mut shstrtab, b".shstrtab");
    name_offsets.push(shstrtab_name);
    let mut shstr = OutputSection::new(
        ".shstrtab",
        elf::SHT_STRTAB,
        0,
        Class::NonAlloc,
        Some(Synth::ShStrTab),
    );
    shstr.offset = offset;
    shstr.size = shstrtab.len() as u64;
    offset += shstr.size;
    sorted.push(shstr);
    offset = offset.next_multiple_of(8);
    l.section_header_offset = offset;
    offset += 64 * (sorted.len() as u64 + 1);

    l.sections = sorted;
    l.segments = phdrs;
    l.shstrtab = shstrtab;
    l.section_name_offsets = name_offsets;
    l.file_size = offset;
    // Links between sections (sh_link / sh_info), by name now that indices are final.
    let index_of = |l: &Layout<'_, '_>, name: &str| {
        l.sections
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as u32 + 1)
            .unwrap_or(0)
    };
    let dynstr = index_of(l, ".dynstr");
    let dynsym = index_of(l, ".dynsym");
    let version_r_count = l.version_needs.len() as u32;
    let version_d_count = l.version_defs.len() as u32;
    let strtab = index_of(l, ".strtab");
    let got_plt = index_of(l, ".got.plt");
    let symtab_first_global = l.symtab.as_ref().map(|t| t.first_global).unwrap_or(0);
    for s in l.sections.iter_mut() {
        match s.synth {
            Some(Synth::DynSym) => {
                s.link = dynstr;
                s.info = 1;
            }
            Some(Synth::Dynamic) => s.link = dynstr,
            Some(Synth::GnuVersionR) => {
                s.link = dynstr;
                s.info = version_r_count;
            }
            Some(Synth::GnuVersionD) => {
                s.link = dynstr;
                s.info = version_d_count;
            }
            Some(Synth::GnuHash | Synth::SysvHash | Synth::GnuVersion | Synth::RelaDyn) => {
                s.link = dynsym
            }
            Some(Synth::RelaPlt) => {
                s.link = dynsym;
                s.info = got_plt;
            }
            Some(Synth::SymTab) => {
                s.link = strtab;
                s.info = symtab_first_global;
            }
            _ => {}
        }
    }
    Ok(())
}

impl Layout<'_, '_> {
    /// The address and facts of a relocation target: its own address, or for imported and
    /// indirect functions their PLT entry, for copied imports their copy.
    pub fn value(&self, t: SymbolRef) -> SymValue {
        match t {
            SymbolRef::Local { obj, sym } => self.value_of_object_symbol(obj, sym),
            SymbolRef::Global(id) => match self.res.globals[id as usize].def {
                // An indirect function's address, everywhere it is taken, is its PLT entry.
                Def::Object { obj, sym, .. }
                    if self.res.objects[obj as usize].symbols[sym as usize].kind
                        == SymbolKind::IFunc =>
                {
                    let index = self.plt.get_index_of(&id).unwrap_or(0);
                    SymValue {
                        addr: self.plt_entry(index).unwrap_or(0),
                        size: 0,
                        local: false,
                    }
                }
                Def::Object { obj, sym, .. } => self.value_of_object_symbol(obj, sym),
                Def::Common { obj, sym } => {
                    let bss = self
                        .sections
                        .iter()
                        .find(|s| s.name == ".bss" && s.synth.is_none());
                    let addr = bss
                        .map(|b| b.addr + self.common.get(&id).copied().unwrap_or(0))
                        .unwrap_or(0);
                    SymValue {
                        addr,
                        size: self.res.objects[obj as usize].symbols[sym as usize].size,
                        local: true,
                    }
                }
                Def::Dynamic { .. } if self.copies.contains(&id) => {
                    let index = self.copies.get_index_of(&id).unwrap_or(0);
                    let base = self.section(".dynbss").map(|s| s.addr).unwrap_or(0);
                    SymValue {
                        addr: base + self.copy_offsets[index],
                        size: copy_size(self.res, id),
                        local: false,
                    }
                }
                Def::Dynamic { .. } => {
                    let addr = self
                        .plt
                        .get_index_of(&id)
                        .and_then(|i| self.plt_entry(i))
                        .unwrap_or(0);
                    SymValue {
                        addr,
                        size: 0,
                        local: false,
                    }
                }
                Def::Synthetic => SymValue {
                    addr: self.synthetic.get(&id).copied().unwrap_or(0),
                    size: 0,
                    local: true,
                },
                Def::Undefined | Def::Host => SymValue {
                    addr: 0,
                    size: 0,
                    local: false,
                },
            },
        }
    }

    pub fn value_of_object_symbol(&self, obj: u32, sym: u32) -> SymValue {
        let s = &self.res.objects[obj as usize].symbols[sym as usize];
        let addr = match s.place {
            SymPlace::Section(sec) => self
                .address_in(obj as usize, sec as usize, s.value)
                .unwrap_or(0),
            SymPlace::Absolute => s.value,
            SymPlace::Common | SymPlace::Undefined => 0,
        };
        SymValue {
            addr,
            size: s.size,
            local: true,
        }
    }

    /// Facts about an output section's bytes, for relocations placed in it.
    fn place_of(&self, section: u32) -> PlaceInfo {
        let flags = self.sections[section as usize].flags;
        PlaceInfo {
            alloc: flags & elf::SHF_ALLOC.0 != 0,
            writable: flags & elf::SHF_WRITE.0 != 0,
            pie: self.pie,
            shared: self.shared,
            text_relocations: self.elf.text_relocations == Some(true),
        }
    }

    /// Address of a GOT entry's (first) slot.
    pub fn got_slot(&self, e: GotEntry) -> Option<u64> {
        let got = self.section(".got")?;
        let index = self.got.get_index_of(&e)?;
        Some(got.addr + 8 * self.got_offsets[index])
    }

    /// The address of PLT entry `index`.
    pub fn plt_entry(&self, index: usize) -> Option<u64> {
        let s = self.section(".plt")?;
        Some(s.addr + self.plt_header_size + self.plt_entry_size * index as u64)
    }

    /// The `.got.plt` slot PLT entry `index` jumps through.
    pub fn plt_slot(&self, index: usize) -> Option<u64> {
        let s = self.section(".got.plt")?;
        Some(s.addr + 8 * (GOT_PLT_RESERVED + index as u64))
    }

    /// Offset of a TLS address in this module's TLS block.
    pub fn dtpoff(&self, addr: u64) -> i64 {
        addr as i64 - self.tls.map(|(start, _, _)| start).unwrap_or(0) as i64
    }

    /// How many properties `.note.gnu.property` holds: FEATURE_1_AND if any bit is left,
    /// and the others.
    pub fn property_count(&self) -> usize {
        self.gnu_properties.len() + (self.gnu_features != 0) as usize
    }

    pub fn section(&self, name: &str) -> Option<&OutputSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Address of byte `offset` of an input section in the output, if it was placed; merged
    /// string sections are looked up piece by piece.
    pub fn address_in(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let p = self.placements.get(obj)?.get(sec)?.as_ref()?;
        let base = self.sections[p.section as usize].addr;
        // Addresses wrap, as in every linker: a symbol's value may lie outside its section
        // (assemblers allow it), and only the bits a relocation keeps matter.
        match self.merged.maps.get(p.merged as usize) {
            Some(map) => map.map(offset).map(|o| base.wrapping_add(o)),
            None => Some(base.wrapping_add(p.offset).wrapping_add(offset)),
        }
    }

    /// Whether an input section's strings were merged (its bytes are not copied as a block).
    pub fn is_merged(&self, obj: usize, sec: usize) -> bool {
        matches!(self.placements.get(obj).and_then(|p| p.get(sec)), Some(Some(p)) if p.merged != NOT_MERGED)
    }

    /// Address of an input section's start in the output, if it was placed.
    pub fn input_section_addr(&self, obj: usize, sec: usize) -> Option<u64> {
        let p = self.placements.get(obj)?.get(sec)?.as_ref()?;
        Some(self.sections[p.section as usize].addr + p.offset)
    }

    /// Thread-pointer offset of a TLS address, by the CPU's TLS variant.
    pub fn tpoff(&self, addr: u64) -> i64 {
        match (self.tls, self.tls_tcb_size) {
            // Variant I: the TCB is at the thread pointer, the block after it, aligned.
            (Some((start, _, align)), Some(tcb)) => {
                let block = tcb.next_multiple_of(align.max(1));
                addr as i64 - start as i64 + block as i64
            }
            // Variant II: the block ends at the thread pointer.
            (Some((start, memsz, align)), None) => {
                let end = start + memsz.next_multiple_of(align.max(1));
                addr as i64 - end as i64
            }
            (None, _) => 0,
        }
    }
}

impl PlacementInfo for Layout<'_, '_> {
    fn place_info(&self, obj: usize, sec: usize) -> Option<PlaceInfo> {
        let p = self.placements.get(obj)?.get(sec)?.as_ref()?;
        Some(self.place_of(p.section))
    }
}

impl OutputLayout for Layout<'_, '_> {
    fn copied_section(&self, obj: usize, sec: usize) -> Option<CopiedSection> {
        let p = self.placements.get(obj)?.get(sec)?.as_ref()?;
        let os = &self.sections[p.section as usize];
        if os.is_nobits() || p.merged != NOT_MERGED {
            return None;
        }
        Some(CopiedSection {
            file_offset: os.offset + p.offset,
            addr: os.addr + p.offset,
            place: self.place_of(p.section),
        })
    }

    fn address_in(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        Layout::address_in(self, obj, sec, offset)
    }

    fn is_merged(&self, obj: usize, sec: usize) -> bool {
        Layout::is_merged(self, obj, sec)
    }

    fn merged_pieces(&self, obj: usize, sec: usize) -> Option<(u64, &PieceMap)> {
        let p = self.placements.get(obj)?.get(sec)?.as_ref()?;
        let map = self.merged.maps.get(p.merged as usize)?;
        Some((self.sections[p.section as usize].addr, map))
    }

    fn symbol_value(&self, t: SymbolRef) -> SymValue {
        // A shared library's preemptible function is called through its PLT entry, which
        // the loader binds to whichever definition comes first; its symbols (`.dynsym`,
        // `.symtab`) still give the function's own address.
        if let SymbolRef::Global(id) = t {
            if matches!(self.res.globals[id as usize].def, Def::Object { .. })
                && self.plt.contains(&id)
            {
                let index = self.plt.get_index_of(&id).unwrap_or(0);
                return SymValue {
                    addr: self.plt_entry(index).unwrap_or(0),
                    size: 0,
                    local: false,
                };
            }
        }
        self.value(t)
    }

    fn got_slot(&self, e: GotEntry) -> Option<u64> {
        Layout::got_slot(self, e)
    }

    fn address_slots(&self, each: &mut dyn FnMut(SymbolRef, u64)) {
        let Some(got) = self.section(".got") else {
            return;
        };
        for (e, &offset) in self.got.iter().zip(&self.got_offsets) {
            if let GotEntry::Address(t) = *e {
                each(t, got.addr + 8 * offset);
            }
        }
    }

    fn got_base(&self) -> u64 {
        self.section(".got").map(|s| s.addr).unwrap_or(0)
    }

    fn tpoff(&self, addr: u64) -> i64 {
        Layout::tpoff(self, addr)
    }

    fn dtpoff(&self, addr: u64) -> i64 {
        Layout::dtpoff(self, addr)
    }

    fn is_shared(&self) -> bool {
        self.shared
    }

    fn thunk(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let &(island, slot) = self.thunk_sites.get(&(obj as u32, sec as u32, offset))?;
        let island = &self.islands[island as usize];
        let base = self.sections[island.section as usize].addr + island.offset;
        Some(base + self.thunk_size * u64::from(slot))
    }

    fn has_thunks(&self) -> bool {
        !self.thunk_sites.is_empty()
    }

    fn dynamic_sites(&self, obj: usize) -> &[rlink_linker::scan::DynSite] {
        self.dyn_sites.get(obj).map_or(&[], Vec::as_slice)
    }
}

/// Names the linker defines when nothing else does (GNU ld's and lld's set).
pub fn is_synthetic_name(name: &[u8]) -> bool {
    const NAMES: &[&[u8]] = &[
        b"__ehdr_start",
        b"__executable_start",
        b"_DYNAMIC",
        b"_GLOBAL_OFFSET_TABLE_",
        b"__init_array_start",
        b"__init_array_end",
        b"__fini_array_start",
        b"__fini_array_end",
        b"__preinit_array_start",
        b"__preinit_array_end",
        b"_end",
        b"end",
        b"_edata",
        b"edata",
        b"_etext",
        b"etext",
        b"__etext",
        b"__bss_start",
        b"__dso_handle",
        b"__GNU_EH_FRAME_HDR",
        b"__rela_iplt_start",
        b"__rela_iplt_end",
        b"_TLS_MODULE_BASE_",
    ];
    NAMES.contains(&name) || name.starts_with(b"__start_") || name.starts_with(b"__stop_")
}

/// Values of the symbols the linker defines (`__ehdr_start`, `__start_SEC`…), now that every
/// address is known.
pub fn define_synthetic_symbols(l: &mut Layout<'_, '_>) {
    let bounds =
        |l: &Layout<'_, '_>, name: &str| l.section(name).map(|s| (s.addr, s.addr + s.size));
    let end_of = |l: &Layout<'_, '_>, class: Class, file_only: bool| {
        l.sections
            .iter()
            .filter(|s| s.class == class && !(file_only && s.is_nobits()) && !s.is_tls())
            .map(|s| s.addr + s.size)
            .max()
    };
    let relro_start = l
        .sections
        .iter()
        .find(|s| s.class == Class::Relro)
        .map(|s| s.addr)
        .unwrap_or(l.base);
    let mut values = HashMap::default();
    for (id, g) in l.res.globals.iter().enumerate() {
        if g.def != Def::Synthetic {
            continue;
        }
        let name = std::str::from_utf8(g.name).unwrap_or("");
        let array = |n: &str, end: bool| {
            bounds(l, n)
                .map(|(s, e)| if end { e } else { s })
                .unwrap_or(relro_start)
        };
        let value = match name {
            "__ehdr_start" | "__executable_start" | "__dso_handle" => l.base,
            "_DYNAMIC" => bounds(l, ".dynamic").map(|b| b.0).unwrap_or(0),
            "_GLOBAL_OFFSET_TABLE_" => bounds(l, ".got").map(|b| b.0).unwrap_or(relro_start),
            "__init_array_start" => array(".init_array", false),
            "__init_array_end" => array(".init_array", true),
            "__fini_array_start" => array(".fini_array", false),
            "__fini_array_end" => array(".fini_array", true),
            "__preinit_array_start" => array(".preinit_array", false),
            "__preinit_array_end" => array(".preinit_array", true),
            "_etext" | "etext" | "__etext" => end_of(l, Class::Code, false).unwrap_or(l.base),
            "_edata" | "edata" => end_of(l, Class::Data, true)
                .or_else(|| end_of(l, Class::Relro, true))
                .unwrap_or(l.base),
            "__bss_start" => l
                .section(".bss")
                .map(|s| s.addr)
                .or_else(|| end_of(l, Class::Data, true))
                .unwrap_or(l.base),
            "_end" | "end" => l
                .sections
                .iter()
                .filter(|s| s.class != Class::NonAlloc && !s.is_tls())
                .map(|s| s.addr + s.size)
                .max()
                .unwrap_or(l.base),
            "__GNU_EH_FRAME_HDR" => bounds(l, ".eh_frame_hdr").map(|b| b.0).unwrap_or(0),
            // The IRELATIVE relocations a static executable's start-up code applies.
            "__rela_iplt_start" => bounds(l, ".rela.iplt").map(|b| b.0).unwrap_or(0),
            "__rela_iplt_end" => bounds(l, ".rela.iplt").map(|b| b.1).unwrap_or(0),
            // The base a local-dynamic sequence adds DTPOFF values to: the TLS block's start
            // in a shared library. In an executable those values are relaxed to offsets from
            // the thread pointer, so the base is where the thread pointer points.
            "_TLS_MODULE_BASE_" => match l.tls {
                Some((start, _, _)) if l.shared => start,
                Some((start, _, _)) => (start as i64).wrapping_sub(l.tpoff(start)) as u64,
                None => 0,
            },
            _ => {
                if let Some(sec) = name.strip_prefix("__start_") {
                    bounds(l, sec).map(|b| b.0).unwrap_or(0)
                } else if let Some(sec) = name.strip_prefix("__stop_") {
                    bounds(l, sec).map(|b| b.1).unwrap_or(0)
                } else {
                    0
                }
            }
        };
        values.insert(id as SymbolId, value);
    }
    l.synthetic = values;
}

/// The SysV hash table's bucket count for this many symbols, as GNU ld picks it.
pub fn sysv_buckets(symbols: u64) -> u64 {
    const SIZES: &[u64] = &[
        1, 3, 17, 37, 67, 97, 131, 197, 263, 521, 1031, 2053, 4099, 8209, 16411, 32771, 65537,
        131101, 262147,
    ];
    let mut buckets = 1;
    for &size in SIZES {
        if symbols < size * 2 {
            break;
        }
        buckets = size;
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_sections_merge_by_prefix() {
        assert_eq!(output_name(b".text._ZN3foo3barE"), b".text");
        assert_eq!(output_name(b".data.rel.ro.local"), b".data.rel.ro");
        assert_eq!(output_name(b".data.x"), b".data");
        assert_eq!(output_name(b".textual"), b".textual");
        assert_eq!(output_name(b"my_section"), b"my_section");
        assert_eq!(init_priority(b".init_array.00099"), 99);
        assert_eq!(init_priority(b".init_array"), 65536);
    }
}
