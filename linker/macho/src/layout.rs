//! The layout of a Mach-O executable, as dyld and the kernel want it:
//!
//! ```text
//! __PAGEZERO   4 GiB, no access (catches null pointers; the image starts at 0x1_0000_0000)
//! __TEXT       r-x  header and load commands, __text, __stubs, __const, __cstring, ...
//! __DATA_CONST rw-  (read-only after fixups: SG_READ_ONLY) __got, __const, __mod_init_func
//! __DATA       rw-  __data, __thread_vars, __thread_data, then zero-fill: __thread_bss, __bss
//! __LINKEDIT   r--  chained fixups, exports trie, function starts, symbols, code signature
//! ```
//!
//! Every segment starts on a page (16 KiB on arm64, 4 KiB on x86_64) and file offsets equal
//! addresses minus the image base. Imports are bound eagerly through `__got` slots (no lazy
//! binding, no `__stub_helper`); calls to imported functions go through `__stubs`, which jump
//! through the same slots. `place` puts input sections into output sections; `lay_out` adds
//! the stubs and the GOT, assigns every address and sizes `__LINKEDIT`.
//!
//! Branch islands: on arm64 a `b`/`bl` reaches ±128 MiB. Before addresses are assigned,
//! `lay_out` finds the branches whose target — a function far away in `__text`, or an import's
//! `__stubs` entry after a huge `__text` — is out of reach (`plan_thunks`, as the ELF back end
//! does), and puts an island of 12-byte thunks (`adrp x16; add x16; br x16`) right after the
//! caller's atom, one per target, moving the atoms after it; the relocation pass sends those
//! branches to their thunk (`OutputLayout::thunk`). x86_64's branches reach ±2 GiB: no islands.

use rlink_linker::bail;
use rlink_linker::gc::Live;
use rlink_linker::object::{SectionFlags, SymPlace, SymbolKind, Visibility};
use rlink_linker::pipeline::OutputOptions;
use rlink_linker::reloc::PlaceInfo;
use rlink_linker::relocate::{CopiedSection, OutputLayout, SymValue};
use rlink_linker::resolve::{Def, Resolution, SymbolId};
use rlink_linker::scan::{GotEntry, IndexSet, Needs, Placement, SymbolRef};
use rlink_linker::Result;

use crate::linkedit;
use crate::object::{
    S_ATTR_PURE_INSTRUCTIONS, S_ATTR_SOME_INSTRUCTIONS, S_MOD_INIT_FUNC_POINTERS,
    S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_VARIABLES, S_THREAD_LOCAL_ZEROFILL, S_ZEROFILL,
};
use crate::MachArch;

/// Where the image is linked: after a 4 GiB `__PAGEZERO`, as ld64 and lld put it.
pub const IMAGE_BASE: u64 = 0x1_0000_0000;
/// `S_SYMBOL_STUBS` and `S_NON_LAZY_SYMBOL_POINTERS`.
pub const S_SYMBOL_STUBS: u32 = 0x8;
pub const S_NON_LAZY_SYMBOL_POINTERS: u32 = 0x6;
/// The names rlink defines itself.
pub const MH_EXECUTE_HEADER: &[u8] = b"__mh_execute_header";
pub const DSO_HANDLE: &[u8] = b"___dso_handle";

pub fn is_synthetic_name(name: &[u8]) -> bool {
    name == MH_EXECUTE_HEADER || name == DSO_HANDLE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synth {
    Stubs,
    Got,
    UnwindInfo,
    EhFrame,
}

/// One output section.
#[derive(Debug, Clone)]
pub struct OutSection {
    pub segment: Seg,
    pub name: String,
    /// Section type and attributes (`flags` of `section_64`).
    pub flags: u32,
    pub align_log2: u8,
    pub members: Vec<(u32, u32)>,
    pub synth: Option<Synth>,
    pub size: u64,
    pub addr: u64,
    /// File offset (0 for zero-fill sections).
    pub offset: u64,
    /// `reserved1` (first indirect symbol) and `reserved2` (stub size).
    pub reserved1: u32,
    pub reserved2: u32,
}

impl OutSection {
    pub fn zero_fill(&self) -> bool {
        matches!(
            self.flags & 0xff,
            S_ZEROFILL | S_THREAD_LOCAL_ZEROFILL | 0xc
        )
    }
}

/// The segments that hold sections, in address order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Text,
    DataConst,
    Data,
}

impl Seg {
    pub fn name(self) -> &'static str {
        match self {
            Seg::Text => "__TEXT",
            Seg::DataConst => "__DATA_CONST",
            Seg::Data => "__DATA",
        }
    }
}

/// A segment's extent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegExtent {
    pub addr: u64,
    pub vmsize: u64,
    pub fileoff: u64,
    pub filesize: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub section: u32,
    pub offset: u64,
}

pub struct Layout<'r, 'a> {
    pub res: &'r Resolution<'a>,
    pub options: OutputOptions,
    pub page: u64,
    /// Per object, the relocations that need dynamic relocations (from scanning).
    pub dyn_sites: Vec<Vec<rlink_linker::scan::DynSite>>,
    pub placements: Vec<Vec<Option<Placed>>>,
    pub sections: Vec<OutSection>,
    pub segments: Vec<(Seg, SegExtent)>,
    pub linkedit: SegExtent,
    pub got: IndexSet<GotEntry>,
    pub stubs: IndexSet<SymbolId>,
    /// Imported symbols in the order of the chained-fixups import table.
    pub imports: IndexSet<SymbolId>,
    /// Install names of the dylibs, in `LC_LOAD_DYLIB` order (ordinal − 1), and the ordinal of
    /// each resolution library.
    pub dylibs: Vec<String>,
    /// Per dylib: loaded weakly (`LC_LOAD_WEAK_DYLIB`, from `-weak_framework`).
    pub dylib_weak: Vec<bool>,
    pub library_ordinal: Vec<u32>,
    pub tls_start: u64,
    /// Addresses of `__stubs` and `__got` (0 when absent), read on every relocation against an
    /// import or through the GOT.
    pub stubs_addr: u64,
    pub stub_size: u64,
    pub got_section_addr: u64,
    pub has_tlv: bool,
    pub header_size: u64,
    pub entry: u64,
    pub plan: linkedit::Plan,
    pub file_size: u64,
    pub cputype: u32,
    pub cpusubtype: u32,
    /// Live input `__eh_frame` sections (object, section), sorted: not placed as they are —
    /// `unwind` keeps the FDEs of live functions — but their relocations are scanned.
    pub eh_frames: Vec<(u32, u32)>,
    pub unwind: crate::unwind::Unwind,
    /// Where the image is linked: after `__PAGEZERO` for an executable, 0 for a dylib.
    pub base: u64,
    /// A dylib (`-dylib`): `MH_DYLIB`, `LC_ID_DYLIB`, no `__PAGEZERO`, entry or interpreter.
    pub dylib: bool,
    pub install_name: String,
    /// `-rpath` directories, one `LC_RPATH` each, in order.
    pub rpaths: Vec<String>,
    /// `-exported_symbols_list`'s names, when given: the only ones a dylib exports.
    pub exported_list: Option<rustc_hash::FxHashSet<Vec<u8>>>,
    /// `LC_BUILD_VERSION`'s minimum macOS and SDK versions.
    pub min_os: ((u32, u32, u32), (u32, u32, u32)),
    /// Branch islands: runs of thunks after an atom of a code section, each jumping to a
    /// target a branch cannot reach, in the order they were planned.
    pub islands: Vec<Island>,
    /// (object, atom, offset of the branch) → (island, slot).
    pub thunk_sites: rustc_hash::FxHashMap<(u32, u32, u64), (u32, u32)>,
    /// The atom an island follows → its index in `islands`.
    pub island_after: rustc_hash::FxHashMap<(u32, u32), u32>,
    pub thunk_size: u64,
}

/// Thunks placed together right after one atom of a code section (`__TEXT,__text`): each
/// slot jumps to a (target, addend) that a `b`/`bl` of the code around cannot reach.
#[derive(Debug, Clone)]
pub struct Island {
    /// The atom (object, view section) it follows; the island is in that atom's output
    /// section.
    pub after: (u32, u32),
    /// Offset of the first thunk in the output section.
    pub offset: u64,
    pub targets: Vec<(SymbolRef, i64)>,
}

/// The output section an input section goes to: (segment, section name, rank within the
/// segment).
fn output_of(segname: &str, sectname: &str, kind: u32) -> (Seg, String, u32) {
    let seg = match segname {
        "__TEXT" => Seg::Text,
        "__DATA_CONST" => Seg::DataConst,
        // ld64 and lld move what is read-only after fixups into __DATA_CONST.
        "__DATA" if sectname == "__const" || kind == S_MOD_INIT_FUNC_POINTERS => Seg::DataConst,
        _ => Seg::Data,
    };
    // Sections of other segments keep their section name, in __DATA.
    let name = sectname.to_string();
    let rank = match (seg, name.as_str()) {
        (Seg::Text, "__text") => 0,
        (Seg::Text, "__stubs") => 1,
        (Seg::Text, "__const") => 3,
        (Seg::Text, "__cstring") => 4,
        (Seg::Text, "__gcc_except_tab") => 6,
        (Seg::Text, "__unwind_info") => 8,
        (Seg::Text, "__eh_frame") => 9,
        (Seg::Text, _) => 5,
        (Seg::DataConst, "__got") => 0,
        (Seg::DataConst, "__const") => 1,
        (Seg::DataConst, _) => 2,
        (Seg::Data, "__data") => 0,
        (Seg::Data, _) if kind == S_THREAD_LOCAL_VARIABLES => 2,
        (Seg::Data, _) if kind == S_THREAD_LOCAL_REGULAR => 3,
        (Seg::Data, _) if kind == S_THREAD_LOCAL_ZEROFILL => 10,
        (Seg::Data, _) if kind == S_ZEROFILL || kind == 0xc => 11,
        (Seg::Data, _) => 1,
    };
    (seg, name, rank)
}

/// Puts every live input section into an output section, in input order.
pub fn place<'r, 'a, A: MachArch>(
    res: &'r Resolution<'a>,
    live: &Live,
    options: OutputOptions,
) -> Result<Layout<'r, 'a>> {
    let mut sections: Vec<OutSection> = Vec::new();
    let mut ranks: Vec<u32> = Vec::new();
    let mut by_name: rustc_hash::FxHashMap<(Seg, String), u32> = Default::default();
    let mut placements = Vec::with_capacity(res.objects.len());
    let mut eh_frames = Vec::new();
    for (oi, o) in res.objects.iter().enumerate() {
        let mut per = vec![None; o.sections.len()];
        for (si, s) in o.sections.iter().enumerate().skip(1) {
            if !live[oi][si] || res.discarded[oi][si] || !s.is_alloc() {
                continue;
            }
            if s.has(SectionFlags::INPUT_ONLY) {
                continue;
            }
            let name = String::from_utf8_lossy(s.name);
            let (segname, sectname) = name.split_once(',').unwrap_or(("__DATA", &name));
            if s.has(SectionFlags::EH_FRAME) {
                eh_frames.push((oi as u32, si as u32));
                continue;
            }
            let (seg, out_name, rank) = output_of(segname, sectname, s.raw_type);
            let index = *by_name.entry((seg, out_name.clone())).or_insert_with(|| {
                sections.push(OutSection {
                    segment: seg,
                    name: out_name.clone(),
                    flags: s.raw_type | s.raw_flags,
                    align_log2: 0,
                    members: Vec::new(),
                    synth: None,
                    size: 0,
                    addr: 0,
                    offset: 0,
                    reserved1: 0,
                    reserved2: 0,
                });
                ranks.push(rank);
                sections.len() as u32 - 1
            });
            let out = &mut sections[index as usize];
            out.align_log2 = out.align_log2.max(s.align_log2);
            out.flags |= s.raw_flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS);
            let offset = align_to(out.size, s.align());
            out.size = offset
                .checked_add(s.size)
                .filter(|&e| e < 1 << 40)
                .ok_or_else(|| {
                    rlink_linker::Error::new(format!("{}: section {} too large", o.place, name))
                })?;
            out.members.push((oi as u32, si as u32));
            per[si] = Some(Placed {
                section: index,
                offset,
            });
        }
        placements.push(per);
    }
    // Common symbols need a __common section rlink does not make yet.
    for g in &res.globals {
        if let Def::Common { obj, .. } = g.def {
            bail!(
                "{}: common symbol {} (compile with -fno-common)",
                res.objects[obj as usize].place,
                String::from_utf8_lossy(g.name)
            );
        }
    }
    // Keep the output order (segment, rank, first appearance) and renumber.
    let mut order: Vec<u32> = (0..sections.len() as u32).collect();
    order.sort_by_key(|&i| (sections[i as usize].segment, ranks[i as usize], i));
    let mut renumber = vec![0u32; sections.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old as usize] = new as u32;
    }
    let sections: Vec<OutSection> = order
        .iter()
        .map(|&i| sections[i as usize].clone())
        .collect();
    for per in placements.iter_mut() {
        for p in per.iter_mut().flatten() {
            p.section = renumber[p.section as usize];
        }
    }
    let min_os = {
        let min = options.macos_version_min.unwrap_or(A::MIN_OS);
        (min, options.macos_sdk_version.unwrap_or(min))
    };
    let dylib = options.build_mode == rlink_linker::args::BuildMode::CShared;
    let install_name = options
        .soname
        .clone()
        .unwrap_or_else(|| options.output_name.clone());
    let exported_list = options
        .exported_symbols
        .as_ref()
        .map(|names| names.iter().cloned().collect());
    let rpaths = options
        .runpath
        .iter()
        .flat_map(|r| r.split(':'))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Layout {
        dyn_sites: Vec::new(),
        exported_list,
        rpaths,
        base: if dylib { 0 } else { IMAGE_BASE },
        dylib,
        install_name,
        res,
        options,
        page: A::PAGE_SIZE,
        placements,
        sections,
        segments: Vec::new(),
        linkedit: SegExtent::default(),
        got: IndexSet::default(),
        stubs: IndexSet::default(),
        imports: IndexSet::default(),
        dylibs: Vec::new(),
        dylib_weak: Vec::new(),
        library_ordinal: Vec::new(),
        tls_start: 0,
        stubs_addr: 0,
        stub_size: A::STUB_SIZE,
        got_section_addr: 0,
        has_tlv: false,
        header_size: 0,
        entry: 0,
        plan: linkedit::Plan::default(),
        file_size: 0,
        cputype: A::CPUTYPE,
        cpusubtype: A::CPUSUBTYPE,
        min_os,
        eh_frames,
        unwind: Default::default(),
        islands: Vec::new(),
        thunk_sites: Default::default(),
        island_after: Default::default(),
        thunk_size: A::THUNK_SIZE,
    })
}

pub fn align_to(x: u64, align: u64) -> u64 {
    x.div_ceil(align) * align
}

/// Adds the stubs and GOT the relocations need, assigns every address and sizes the
/// `__LINKEDIT` blobs.
pub fn lay_out<A: MachArch>(l: &mut Layout<'_, '_>, needs: Needs) -> Result<()> {
    let res = l.res;
    l.dyn_sites = needs.dyn_sites;
    l.stubs = needs.plt;
    l.got = needs.got;
    // Stubs jump through the GOT slot of their import.
    for &id in &l.stubs {
        l.got.insert(GotEntry::Address(SymbolRef::Global(id)));
    }
    // Branch islands first: they size the code sections, and `__unwind_info` lists them.
    plan_thunks::<A>(l)?;
    // Unwind tables: their personality functions are read through GOT slots.
    l.unwind = crate::unwind::plan::<A>(l)?;
    for p in l.unwind.personalities.clone() {
        l.got.insert(GotEntry::Address(p));
    }
    if let Some(e) = l.got.iter().find(|e| !matches!(e, GotEntry::Address(_))) {
        bail!("Mach-O has no GOT entry of kind {e:?} (linker bug)");
    }
    l.imports = needs.used_imports;
    for e in &l.got {
        if let GotEntry::Address(SymbolRef::Global(id)) = e {
            if matches!(res.globals[*id as usize].def, Def::Dynamic { .. }) {
                l.imports.insert(*id);
            }
        }
    }
    // Dylibs: those imports use, in command-line order (ld64's), and libSystem always (a
    // Mach-O executable needs it), last if nothing named it.
    const LIBSYSTEM: &str = "/usr/lib/libSystem.B.dylib";
    l.dylibs = Vec::new();
    let mut used = vec![false; res.libraries.len()];
    for &id in &l.imports {
        if let Def::Dynamic { import } = res.globals[id as usize].def {
            let lib = res.imports[import as usize].library;
            if let Some(u) = used.get_mut(lib as usize) {
                *u = true;
            }
        }
    }
    l.library_ordinal = vec![0; res.libraries.len()];
    for (i, lib) in res.libraries.iter().enumerate() {
        if !(used[i] || lib.forced) {
            continue;
        }
        let ordinal = match l.dylibs.iter().position(|d| *d == lib.soname) {
            Some(p) => p,
            None => {
                l.dylibs.push(lib.soname.clone());
                l.dylibs.len() - 1
            }
        };
        l.library_ordinal[i] = ordinal as u32 + 1;
    }
    if !l.dylibs.iter().any(|d| d == LIBSYSTEM) {
        l.dylibs.push(LIBSYSTEM.to_string());
    }
    l.dylib_weak = l
        .dylibs
        .iter()
        .map(|d| res.libraries.iter().any(|lib| lib.weak && lib.soname == *d))
        .collect();

    // The linker-made sections.
    let insert = |l: &mut Layout<'_, '_>,
                  seg: Seg,
                  name: &str,
                  flags: u32,
                  align: u8,
                  size: u64,
                  synth: Synth,
                  before: &dyn Fn(&OutSection) -> bool| {
        let at = l
            .sections
            .iter()
            .position(|s| s.segment > seg || (s.segment == seg && before(s)))
            .unwrap_or(l.sections.len());
        l.sections.insert(
            at,
            OutSection {
                segment: seg,
                name: name.to_string(),
                flags,
                align_log2: align,
                members: Vec::new(),
                synth: Some(synth),
                size,
                addr: 0,
                offset: 0,
                reserved1: 0,
                reserved2: 0,
            },
        );
        for per in l.placements.iter_mut() {
            for p in per.iter_mut().flatten() {
                if p.section as usize >= at {
                    p.section += 1;
                }
            }
        }
    };
    if !l.stubs.is_empty() {
        let size = A::STUB_SIZE * l.stubs.len() as u64;
        insert(
            l,
            Seg::Text,
            "__stubs",
            S_SYMBOL_STUBS | S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS,
            A::STUB_ALIGN_LOG2,
            size,
            Synth::Stubs,
            &|s| s.name != "__text",
        );
    }
    if !l.unwind.entries.is_empty() {
        let size = l.unwind.unwind_info_size;
        insert(
            l,
            Seg::Text,
            "__unwind_info",
            0,
            2,
            size,
            Synth::UnwindInfo,
            &|s| s.name == "__eh_frame",
        );
    }
    if l.unwind.eh_frame_size > 0 {
        let size = l.unwind.eh_frame_size;
        insert(
            l,
            Seg::Text,
            "__eh_frame",
            0,
            3,
            size,
            Synth::EhFrame,
            &|_| false,
        );
    }
    if !l.got.is_empty() {
        let size = 8 * l.got.len() as u64;
        insert(
            l,
            Seg::DataConst,
            "__got",
            S_NON_LAZY_SYMBOL_POINTERS,
            3,
            size,
            Synth::Got,
            &|_| true,
        );
    }
    // Indirect symbol table: stubs first, then GOT slots.
    let nstubs = l.stubs.len() as u32;
    for s in l.sections.iter_mut() {
        match s.synth {
            Some(Synth::Stubs) => {
                s.reserved1 = 0;
                s.reserved2 = A::STUB_SIZE as u32;
            }
            Some(Synth::Got) => s.reserved1 = nstubs,
            _ => {}
        }
    }
    l.has_tlv = l
        .sections
        .iter()
        .any(|s| s.flags & 0xff == S_THREAD_LOCAL_VARIABLES);

    // Addresses. The header and load commands open __TEXT.
    l.header_size = crate::write::header_size(l);
    let page = l.page;
    let base = l.base;
    let mut addr = base + l.header_size;
    let mut file = l.header_size;
    l.segments.clear();
    for seg in [Seg::Text, Seg::DataConst, Seg::Data] {
        let members: Vec<usize> = (0..l.sections.len())
            .filter(|&i| l.sections[i].segment == seg)
            .collect();
        if members.is_empty() && seg != Seg::Text {
            continue;
        }
        let start = if seg == Seg::Text {
            base
        } else {
            align_to(addr, page)
        };
        let fileoff = start - base;
        if seg != Seg::Text {
            addr = start;
            file = fileoff;
        }
        let mut file_end = file;
        for &i in &members {
            let s = &mut l.sections[i];
            addr = align_to(addr, 1 << s.align_log2);
            s.addr = addr;
            if s.zero_fill() {
                s.offset = 0;
            } else {
                s.offset = addr - base;
                file_end = s.offset + s.size;
            }
            addr = addr
                .checked_add(s.size)
                .filter(|&a| a < base + (1 << 40))
                .ok_or_else(|| rlink_linker::Error::new("the image exceeds 1 TiB"))?;
        }
        let end = align_to(addr, page);
        let filesize = if seg == Seg::Text {
            align_to(file_end.max(l.header_size), page)
        } else {
            align_to(file_end - fileoff, page)
        };
        l.segments.push((
            seg,
            SegExtent {
                addr: start,
                vmsize: end - start,
                fileoff,
                filesize,
            },
        ));
        addr = end;
        file = fileoff + filesize;
    }
    l.stubs_addr = l.section_of(Synth::Stubs).map_or(0, |s| s.addr);
    l.got_section_addr = l.section_of(Synth::Got).map_or(0, |s| s.addr);
    // The thread-local template: __thread_data then __thread_bss.
    l.tls_start = l
        .sections
        .iter()
        .filter(|s| {
            matches!(
                s.flags & 0xff,
                S_THREAD_LOCAL_REGULAR | S_THREAD_LOCAL_ZEROFILL
            )
        })
        .map(|s| s.addr)
        .min()
        .unwrap_or(0);

    let entry_name = l.options.entry.clone();
    if !l.dylib {
        let Some(g) = res.global(&entry_name) else {
            bail!(
                "entry symbol {} is not defined",
                String::from_utf8_lossy(&entry_name)
            );
        };
        let Def::Object { obj, sym, .. } = g.def else {
            bail!(
                "entry symbol {} is not defined",
                String::from_utf8_lossy(&entry_name)
            );
        };
        l.entry = l.object_symbol_value(obj, sym).addr;
    }

    // __LINKEDIT: after the last segment.
    let linkedit_addr = addr;
    let linkedit_off = file;
    l.plan = linkedit::plan(l, linkedit_off)?;
    l.file_size = l.plan.end;
    l.linkedit = SegExtent {
        addr: linkedit_addr,
        vmsize: align_to(l.file_size - linkedit_off, page),
        fileoff: linkedit_off,
        filesize: l.file_size - linkedit_off,
    };
    Ok(())
}

/// Whether an output section holds code that branch islands may go between the atoms of:
/// an input code section of `__TEXT` (`__text`, and any other with instructions).
fn is_code(s: &OutSection) -> bool {
    s.synth.is_none()
        && s.segment == Seg::Text
        && s.flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS) != 0
        && !s.members.is_empty()
}

fn text_too_large() -> rlink_linker::Error {
    rlink_linker::Error::new("__TEXT too large for the address space")
}

/// Where `__TEXT`'s sections would go, measured from the first one, before addresses are
/// assigned: `__stubs` (not made yet) right after `__text`, as `lay_out` puts it. Every
/// section of the segment moves by the same header size later; only their alignment padding
/// can change, by less than `align_slack` in all.
struct TextPlan {
    /// Per output section (`None` outside `__TEXT`).
    offsets: Vec<Option<u64>>,
    stubs: u64,
    /// The end of the last section.
    end: u64,
    /// The sum of the sections' alignments.
    align_slack: u64,
}

impl TextPlan {
    fn new<A: MachArch>(l: &Layout<'_, '_>) -> Result<TextPlan> {
        let stubs_size = A::STUB_SIZE
            .checked_mul(l.stubs.len() as u64)
            .ok_or_else(text_too_large)?;
        let stub_align = 1u64 << A::STUB_ALIGN_LOG2;
        let mut align_slack = stub_align;
        let mut at = 0u64;
        let mut stubs = None;
        let place_stubs = |at: &mut u64| -> Result<u64> {
            let start = at
                .checked_next_multiple_of(stub_align)
                .ok_or_else(text_too_large)?;
            *at = start.checked_add(stubs_size).ok_or_else(text_too_large)?;
            Ok(start)
        };
        let mut offsets = Vec::with_capacity(l.sections.len());
        for s in &l.sections {
            if s.segment != Seg::Text || s.synth.is_some() {
                offsets.push(None);
                continue;
            }
            if stubs.is_none() && s.name != "__text" {
                stubs = Some(place_stubs(&mut at)?);
            }
            let align = 1u64
                .checked_shl(u32::from(s.align_log2))
                .ok_or_else(text_too_large)?;
            align_slack = align_slack.saturating_add(align);
            at = at
                .checked_next_multiple_of(align)
                .ok_or_else(text_too_large)?;
            offsets.push(Some(at));
            at = at.checked_add(s.size).ok_or_else(text_too_large)?;
        }
        let stubs = match stubs {
            Some(s) => s,
            None => place_stubs(&mut at)?,
        };
        if at >= 1 << 40 {
            return Err(text_too_large());
        }
        Ok(TextPlan {
            offsets,
            stubs,
            end: at,
            align_slack,
        })
    }

    /// Where a branch target lies in this plan: a symbol of an atom in `__TEXT`, or an
    /// import's stub; `None` when it is elsewhere (another segment, an absolute address).
    fn target_offset<A: MachArch>(&self, l: &Layout<'_, '_>, t: SymbolRef) -> Option<u64> {
        let res = l.res;
        let (obj, sym) = match t {
            SymbolRef::Local { obj, sym } => (obj, sym),
            SymbolRef::Global(id) => match res.globals[id as usize].def {
                Def::Object { obj, sym, .. } => (obj, sym),
                Def::Dynamic { .. } => {
                    let i = l.stubs.get_index_of(&id)? as u64;
                    return self.stubs.checked_add(i.checked_mul(A::STUB_SIZE)?);
                }
                _ => return None,
            },
        };
        let s = &res.objects[obj as usize].symbols[sym as usize];
        let SymPlace::Section(sec) = s.place else {
            return None;
        };
        let p = l.placements[obj as usize][sec as usize]?;
        self.offsets[p.section as usize]?
            .checked_add(p.offset)?
            .checked_add(s.value)
    }
}

/// Branch islands (range-extension thunks), as the ELF back end makes them for AArch64: a
/// `b`/`bl` (`ARM64_RELOC_BRANCH26`, ±128 MiB) whose target is out of reach — a function far
/// away in `__text`, or an import's `__stubs` entry after a huge `__text` — goes to a thunk
/// placed right after its own atom, which reaches ±4 GiB. Atoms of an object built with
/// `MH_SUBSECTIONS_VIA_SYMBOLS` never run into each other (the linker may drop or move each),
/// and an object without it is one atom per section, so nothing falls through an island.
/// Distances are measured in a plan of `__TEXT` (`TextPlan`), known before addresses are;
/// islands move the atoms after them, which can put more branches out of reach: repeated
/// until nothing changes, as lld does. Planned in input order, so the same inputs give the
/// same islands.
fn plan_thunks<A: MachArch>(l: &mut Layout<'_, '_>) -> Result<()> {
    if A::THUNK_SIZE == 0 {
        return Ok(());
    }
    let code: Vec<usize> = (0..l.sections.len())
        .filter(|&i| is_code(&l.sections[i]))
        .collect();
    if code.is_empty() {
        return Ok(());
    }
    let res = l.res;
    for _round in 0..16 {
        let text = TextPlan::new::<A>(l)?;
        // A margin for the thunks this round adds between place and target, and for the
        // alignment padding the header's size may change.
        let margin = (1i64 << 20) + text.align_slack.min(1 << 25) as i64;
        let mut added = false;
        for &out in &code {
            let Some(section_at) = text.offsets[out] else {
                continue;
            };
            for &(obj, sec) in &l.sections[out].members {
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
                    let place = section_at + p.offset + r.offset;
                    let t = rlink_linker::scan::target(res, obj as usize, r.symbol);
                    // A target elsewhere is taken to be as far as `__TEXT` is long.
                    let distance = text
                        .target_offset::<A>(l, t)
                        .and_then(|at| (at as i64).checked_add(r.addend))
                        .and_then(|at| at.checked_sub(place as i64))
                        .unwrap_or(text.end as i64);
                    if distance >= lo + margin && distance < hi - margin {
                        continue;
                    }
                    let island = match l.island_after.get(&(obj, sec)) {
                        Some(&i) => i as usize,
                        None => {
                            l.islands.push(Island {
                                after: (obj, sec),
                                offset: 0,
                                targets: Vec::new(),
                            });
                            let i = l.islands.len() - 1;
                            l.island_after.insert((obj, sec), i as u32);
                            i
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
            return check_island_reach::<A>(l, &code);
        }
        relayout_code_sections(l, &code)?;
    }
    bail!("branch islands did not settle after 16 rounds (linker bug)")
}

/// Lays the code sections out again with their islands: each island right after its atom
/// (4-aligned), the atoms after it moved along, each at its alignment as `place` put it.
fn relayout_code_sections(l: &mut Layout<'_, '_>, code: &[usize]) -> Result<()> {
    let res = l.res;
    for &out in code {
        let mut size = 0u64;
        for &(obj, sec) in &l.sections[out].members {
            let s = &res.objects[obj as usize].sections[sec as usize];
            let Some(p) = l.placements[obj as usize][sec as usize].as_mut() else {
                continue;
            };
            let at = size
                .checked_next_multiple_of(s.align())
                .ok_or_else(text_too_large)?;
            p.offset = at;
            size = at.checked_add(s.size).ok_or_else(text_too_large)?;
            if let Some(&i) = l.island_after.get(&(obj, sec)) {
                let island = &mut l.islands[i as usize];
                let thunks = l
                    .thunk_size
                    .checked_mul(island.targets.len() as u64)
                    .ok_or_else(text_too_large)?;
                island.offset = size
                    .checked_next_multiple_of(4)
                    .ok_or_else(text_too_large)?;
                size = island
                    .offset
                    .checked_add(thunks)
                    .ok_or_else(text_too_large)?;
            }
        }
        if size >= 1 << 40 {
            return Err(text_too_large());
        }
        let section = &mut l.sections[out];
        section.size = size;
        section.align_log2 = section.align_log2.max(2);
    }
    Ok(())
}

/// Every branch given a thunk reaches it: not so when its atom is itself larger than a
/// branch's reach (the island follows the atom). A clear error rather than the relocation
/// pass's overflow.
fn check_island_reach<A: MachArch>(l: &Layout<'_, '_>, code: &[usize]) -> Result<()> {
    let res = l.res;
    for &out in code {
        for &(obj, sec) in &l.sections[out].members {
            let o = &res.objects[obj as usize];
            let Some(p) = l.placements[obj as usize][sec as usize] else {
                continue;
            };
            for r in o.relocations[sec as usize].iter() {
                let Some((lo, hi)) = A::branch_range(r.r_type) else {
                    continue;
                };
                let Some(&(island, slot)) = l.thunk_sites.get(&(obj, sec, r.offset)) else {
                    continue;
                };
                let thunk = l.islands[island as usize].offset + l.thunk_size * u64::from(slot);
                let distance = thunk as i64 - (p.offset + r.offset) as i64;
                if !(lo..hi).contains(&distance) {
                    let t = rlink_linker::scan::target(res, obj as usize, r.symbol);
                    return Err(rlink_linker::scan::reloc_error(
                        o,
                        sec as usize,
                        r.offset,
                        &A::type_name(r.r_type),
                        &rlink_linker::scan::symbol_display(res, t),
                        "the target is out of the branch's reach, and so is the branch island \
                         after this atom (the atom is too large)",
                    ));
                }
            }
        }
    }
    Ok(())
}

impl Layout<'_, '_> {
    pub fn object_symbol_value(&self, obj: u32, sym: u32) -> SymValue {
        let s = &self.res.objects[obj as usize].symbols[sym as usize];
        let addr = match s.place {
            SymPlace::Section(sec) => match self.placements[obj as usize][sec as usize] {
                Some(p) => self.sections[p.section as usize].addr + p.offset + s.value,
                None => 0,
            },
            SymPlace::Absolute => s.value,
            _ => 0,
        };
        SymValue {
            addr,
            size: s.size,
            local: true,
        }
    }

    pub fn value(&self, t: SymbolRef) -> SymValue {
        match t {
            SymbolRef::Local { obj, sym } => self.object_symbol_value(obj, sym),
            SymbolRef::Global(id) => {
                let g = &self.res.globals[id as usize];
                match g.def {
                    Def::Object { obj, sym, .. } => self.object_symbol_value(obj, sym),
                    Def::Dynamic { .. } => SymValue {
                        addr: self.stub_addr(id).unwrap_or(0),
                        size: 0,
                        local: false,
                    },
                    Def::Synthetic => SymValue {
                        addr: self.base,
                        size: 0,
                        local: true,
                    },
                    _ => SymValue {
                        addr: 0,
                        size: 0,
                        local: false,
                    },
                }
            }
        }
    }

    /// The library ordinal dyld binds an import from: its dylib's (1-based, in
    /// `LC_LOAD_DYLIB` order), or for a name left to `-undefined dynamic_lookup` the flat
    /// lookup (`BIND_SPECIAL_DYLIB_FLAT_LOOKUP`, −2, in the 8 bits the tables keep).
    pub fn import_ordinal(&self, imp: &rlink_linker::resolve::Import) -> u32 {
        if imp.library == rlink_linker::resolve::NO_LIBRARY {
            return 0xfe;
        }
        self.library_ordinal
            .get(imp.library as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Whether an import comes from a weakly loaded dylib (its binds are weak: dyld leaves
    /// them 0 when the dylib is missing).
    pub fn import_is_weak(&self, imp: &rlink_linker::resolve::Import) -> bool {
        self.res
            .libraries
            .get(imp.library as usize)
            .is_some_and(|lib| lib.weak)
    }

    /// Whether some import is looked up in every loaded image (no `MH_NOUNDEFS` then).
    pub fn has_flat_lookups(&self) -> bool {
        self.imports.iter().any(|&id| {
            matches!(self.res.globals[id as usize].def,
                Def::Dynamic { import }
                    if self.res.imports[import as usize].library == rlink_linker::resolve::NO_LIBRARY)
        })
    }

    /// The output section an island is in (its atom's) and the island's address.
    pub fn island_place(&self, island: &Island) -> Option<(&OutSection, u64)> {
        let (obj, sec) = island.after;
        let p = self.placements[obj as usize][sec as usize]?;
        let s = &self.sections[p.section as usize];
        Some((s, s.addr + island.offset))
    }

    pub fn section_of(&self, synth: Synth) -> Option<&OutSection> {
        self.sections.iter().find(|s| s.synth == Some(synth))
    }

    pub fn stub_addr(&self, id: SymbolId) -> Option<u64> {
        let i = self.stubs.get_index_of(&id)?;
        Some(self.stubs_addr + i as u64 * self.stub_size)
    }

    pub fn got_addr(&self, e: &GotEntry) -> Option<u64> {
        let i = self.got.get_index_of(e)?;
        Some(self.got_section_addr + 8 * i as u64)
    }

    /// Whether a global is exported (in the exports trie and external in the symbol table).
    pub fn is_exported(&self, id: SymbolId) -> bool {
        let g = &self.res.globals[id as usize];
        if let Some(list) = &self.exported_list {
            if !list.contains(g.name) {
                return false;
            }
        }
        let Def::Object { obj, sym, .. } = g.def else {
            return false;
        };
        let s = &self.res.objects[obj as usize].symbols[sym as usize];
        s.visibility == Visibility::Default
            && s.kind != SymbolKind::Section
            && match s.place {
                SymPlace::Section(sec) => self.placements[obj as usize][sec as usize].is_some(),
                SymPlace::Absolute => true,
                _ => false,
            }
    }
}

impl Placement for Layout<'_, '_> {
    fn place_info(&self, obj: usize, sec: usize) -> Option<PlaceInfo> {
        let shared = self.options.build_mode == rlink_linker::args::BuildMode::CShared;
        if self
            .eh_frames
            .binary_search(&(obj as u32, sec as u32))
            .is_ok()
        {
            return Some(PlaceInfo {
                alloc: true,
                writable: false,
                pie: true,
                shared,
                text_relocations: false,
            });
        }
        let p = self.placements[obj][sec]?;
        let s = &self.sections[p.section as usize];
        Some(PlaceInfo {
            alloc: true,
            writable: s.segment != Seg::Text,
            pie: true,
            shared: self.dylib,
            text_relocations: false,
        })
    }
}

impl OutputLayout for Layout<'_, '_> {
    fn copied_section(&self, obj: usize, sec: usize) -> Option<CopiedSection> {
        let p = self.placements[obj][sec]?;
        let s = &self.sections[p.section as usize];
        if s.zero_fill() || self.res.objects[obj].sections[sec].is_zero_fill() {
            return None;
        }
        Some(CopiedSection {
            file_offset: s.offset + p.offset,
            addr: s.addr + p.offset,
            place: self.place_info(obj, sec)?,
        })
    }

    fn address_in(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let p = self.placements[obj][sec]?;
        Some(self.sections[p.section as usize].addr + p.offset + offset)
    }

    fn is_merged(&self, _obj: usize, _sec: usize) -> bool {
        false
    }

    fn symbol_value(&self, t: SymbolRef) -> SymValue {
        self.value(t)
    }

    fn got_slot(&self, e: GotEntry) -> Option<u64> {
        self.got_addr(&e)
    }

    fn got_base(&self) -> u64 {
        self.got_section_addr
    }

    fn tpoff(&self, addr: u64) -> i64 {
        addr.wrapping_sub(self.tls_start) as i64
    }

    fn dtpoff(&self, addr: u64) -> i64 {
        self.tpoff(addr)
    }

    fn is_shared(&self) -> bool {
        self.dylib
    }

    fn thunk(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let &(island, slot) = self.thunk_sites.get(&(obj as u32, sec as u32, offset))?;
        let (_, at) = self.island_place(&self.islands[island as usize])?;
        Some(at + self.thunk_size * u64::from(slot))
    }

    fn has_thunks(&self) -> bool {
        !self.thunk_sites.is_empty()
    }

    fn dynamic_sites(&self, obj: usize) -> &[rlink_linker::scan::DynSite] {
        self.dyn_sites.get(obj).map_or(&[], Vec::as_slice)
    }
}
