//! The layout of a PE32+ image, as the Windows loader wants it:
//!
//! ```text
//! headers   DOS header, PE signature, COFF header, optional header, section table
//! .text     r-x  code, then the thunks through which direct calls reach imports
//! .rdata    r--  read-only data, .xdata, then the import tables (IAT, descriptors, lookup
//!                tables, hint/name entries, DLL names)
//! .data     rw-  data
//! .pdata    r--  the functions' unwind entries, sorted by address when written
//! .tls      rw-  the thread-local template
//! .bss      rw-  zero-filled
//! .reloc    r--  base relocations (DIR64) for every absolute address
//! ```
//!
//! Input sections join the output section of their kind; within it they are ordered by their
//! full name, so the `$` suffix orders the pieces of a group (`.CRT$XCA` … `.CRT$XCZ`) as
//! link.exe orders them, input order breaking ties. Sections start on 4 KiB in memory and on
//! 512 bytes in the file. Imports are bound through the import address table: a reference to
//! `__imp_NAME` reads the slot (the core's GOT entry for `NAME`), a direct call goes to a
//! 6-byte `jmp *[rip + slot]` thunk.

use rlink_linker::gc::Live;
use rlink_linker::object::{SectionFlags, SymPlace};
use rlink_linker::pipeline::OutputOptions;
use rlink_linker::reloc::PlaceInfo;
use rlink_linker::relocate::{CopiedSection, OutputLayout, SymValue};
use rlink_linker::resolve::{Def, Resolution, SymbolId};
use rlink_linker::scan::{GotEntry, IndexSet, Needs, Placement, SymbolRef};
use rlink_linker::{bail, Error, Result};

use crate::x86_64::{is_absolute64, reads_iat_slot};

/// Where executables are linked, as link.exe and lld-link put them (above 4 GiB, so 32-bit
/// absolute addresses cannot creep in).
pub const IMAGE_BASE: u64 = 0x1_4000_0000;
/// DLLs' preferred base.
pub const DLL_IMAGE_BASE: u64 = 0x1_8000_0000;
/// The linker-defined name of the image's own address.
pub const IMAGE_BASE_SYMBOL: &[u8] = b"__ImageBase";
pub const SECTION_ALIGNMENT: u64 = 0x1000;
pub const FILE_ALIGNMENT: u64 = 0x200;
/// `jmp *[rip + disp32]`.
pub const THUNK_SIZE: u64 = 6;

/// The output sections, in image order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Text,
    Rdata,
    Data,
    Pdata,
    Tls,
    Bss,
    Reloc,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Text,
        Kind::Rdata,
        Kind::Data,
        Kind::Pdata,
        Kind::Tls,
        Kind::Bss,
        Kind::Reloc,
    ];

    pub fn name(self) -> &'static [u8] {
        match self {
            Kind::Text => b".text",
            Kind::Rdata => b".rdata",
            Kind::Data => b".data",
            Kind::Pdata => b".pdata",
            Kind::Tls => b".tls",
            Kind::Bss => b".bss",
            Kind::Reloc => b".reloc",
        }
    }

    /// `IMAGE_SCN_*` characteristics.
    pub fn characteristics(self) -> u32 {
        const CODE: u32 = 0x20;
        const INITIALIZED: u32 = 0x40;
        const UNINITIALIZED: u32 = 0x80;
        const DISCARDABLE: u32 = 0x0200_0000;
        const EXECUTE: u32 = 0x2000_0000;
        const READ: u32 = 0x4000_0000;
        const WRITE: u32 = 0x8000_0000;
        match self {
            Kind::Text => CODE | EXECUTE | READ,
            Kind::Rdata | Kind::Pdata => INITIALIZED | READ,
            Kind::Data | Kind::Tls => INITIALIZED | READ | WRITE,
            Kind::Bss => UNINITIALIZED | READ | WRITE,
            Kind::Reloc => INITIALIZED | DISCARDABLE | READ,
        }
    }

    fn of(name: &[u8], flags: SectionFlags) -> Kind {
        let base = name.split(|&c| c == b'$').next().unwrap_or(name);
        match base {
            b".pdata" => Kind::Pdata,
            b".tls" => Kind::Tls,
            b".bss" => Kind::Bss,
            _ if flags.contains(SectionFlags::EXEC) => Kind::Text,
            _ if flags.contains(SectionFlags::ZERO_FILL) => Kind::Bss,
            _ if flags.contains(SectionFlags::WRITE) => Kind::Data,
            _ => Kind::Rdata,
        }
    }
}

/// One output section.
#[derive(Debug, Clone, Default)]
pub struct OutSection {
    /// Input sections, in output order.
    pub members: Vec<(u32, u32)>,
    /// Bytes of input sections (the synthesized tail follows).
    pub input_size: u64,
    pub size: u64,
    pub rva: u64,
    pub file_offset: u64,
    pub raw_size: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub kind: Kind,
    pub offset: u64,
}

/// A place holding a 64-bit absolute address, which the loader rebases.
struct AbsolutePlace {
    kind: Kind,
    /// From the start of its output section.
    offset: u64,
    target: SymbolRef,
    /// The address of an `__imp_` slot (never 0).
    through_iat: bool,
}

/// The import tables' places, as offsets from their start in `.rdata`.
#[derive(Debug, Clone, Default)]
pub struct Imports {
    /// Per DLL: its name and its imports (global ids), in table order.
    pub dlls: Vec<(String, Vec<SymbolId>)>,
    pub iat: u64,
    pub iat_size: u64,
    pub descriptors: u64,
    pub lookup: u64,
    pub hint_names: Vec<u64>,
    pub dll_names: Vec<u64>,
    pub size: u64,
}

/// One export of the image.
#[derive(Debug, Clone)]
pub struct Export {
    pub name: Vec<u8>,
    pub ordinal: u16,
    /// In the name table (not `NONAME`).
    pub named: bool,
    pub target: ExportTarget,
}

#[derive(Debug, Clone)]
pub enum ExportTarget {
    Symbol(SymbolRef),
    /// `DLL.name`: the loader looks the export up there.
    Forwarder(Vec<u8>),
}

/// The export directory (`.edata`'s contents, in `.rdata`), offsets from its start.
#[derive(Debug, Clone, Default)]
pub struct Exports {
    pub dll_name: Vec<u8>,
    /// Sorted by ordinal.
    pub list: Vec<Export>,
    pub base: u16,
    /// Address table entries (ordinals `base` … `base + count - 1`; holes are 0).
    pub count: u32,
    pub functions: u64,
    pub names: u64,
    pub ordinals: u64,
    /// Per export (as `list`), where its name string is; then forwarder strings.
    pub name_at: Vec<u64>,
    pub forwarder_at: Vec<u64>,
    pub dll_name_at: u64,
    pub size: u64,
    pub rva: u64,
}

pub struct Layout<'r, 'a> {
    pub res: &'r Resolution<'a>,
    pub options: OutputOptions,
    pub dll: bool,
    /// Per object, the relocations that need dynamic relocations (from scanning).
    pub dyn_sites: Vec<Vec<rlink_linker::scan::DynSite>>,
    pub image_base: u64,
    pub placements: Vec<Vec<Option<Placed>>>,
    pub sections: Vec<(Kind, OutSection)>,
    /// Every import, in IAT order; each has a slot and a thunk of the same index.
    pub slots: IndexSet<SymbolId>,
    /// Per import (as `slots`), its slot's offset in the IAT (each DLL's list ends in a null).
    pub slot_offsets: Vec<u64>,
    /// `__imp_NAME` slots of names the program defines itself (a `dllimport` reference to a
    /// static of another crate): pointers in `.rdata`, rebased by the loader.
    pub local_slots: IndexSet<SymbolRef>,
    pub local_slots_rva: u64,
    pub imports: Imports,
    /// Where the import tables start (an RVA).
    pub imports_rva: u64,
    pub thunks_rva: u64,
    /// RVAs of the 64-bit addresses the loader rebases, sorted.
    pub base_relocs: Vec<u64>,
    pub exports: Exports,
    /// `_tls_used`, the TLS directory, when the program has one (an RVA).
    pub tls_directory: u64,
    pub headers_size: u64,
    pub image_size: u64,
    pub file_size: u64,
    pub entry: u64,
}

fn too_large() -> Error {
    Error::new("the image is larger than PE32+ allows (4 GiB)")
}

fn plain(addr: u64) -> SymValue {
    SymValue {
        addr,
        size: 0,
        local: true,
    }
}

pub fn align_to(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

/// Puts every live input section into its output section, in link.exe's order.
pub fn place<'r, 'a>(
    res: &'r Resolution<'a>,
    live: &Live,
    options: OutputOptions,
) -> Result<Layout<'r, 'a>> {
    let merges = section_merges(res, &options)?;
    let mut members: Vec<Vec<(&[u8], u32, u32)>> = vec![Vec::new(); Kind::ALL.len()];
    for (oi, o) in res.objects.iter().enumerate() {
        for (si, s) in o.sections.iter().enumerate().skip(1) {
            if !live[oi][si]
                || res.discarded[oi][si]
                || !s.is_alloc()
                || s.has(SectionFlags::INPUT_ONLY)
            {
                continue;
            }
            let base = s.name.split(|&c| c == b'$').next().unwrap_or(s.name);
            let kind = match merges.iter().find(|(from, _)| from.as_slice() == base) {
                Some(&(_, kind)) => kind,
                None => Kind::of(s.name, s.flags),
            };
            members[kind as usize].push((s.name, oi as u32, si as u32));
        }
    }
    for g in &res.globals {
        if let Def::Common { obj, .. } = g.def {
            bail!(
                "{}: common symbol {} (compile with -fno-common)",
                res.objects[obj as usize].place,
                String::from_utf8_lossy(g.name)
            );
        }
    }
    let mut placements: Vec<Vec<Option<Placed>>> = res
        .objects
        .iter()
        .map(|o| vec![None; o.sections.len()])
        .collect();
    let mut sections = Vec::new();
    for kind in Kind::ALL {
        let list = &mut members[kind as usize];
        // The `$` suffix orders a group; a stable sort keeps input order among equals.
        list.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = OutSection::default();
        for &(_, oi, si) in list.iter() {
            let s = &res.objects[oi as usize].sections[si as usize];
            let at = align_to(out.size, s.align());
            out.size = at.checked_add(s.size).ok_or_else(too_large)?;
            out.members.push((oi, si));
            placements[oi as usize][si as usize] = Some(Placed { kind, offset: at });
        }
        out.input_size = out.size;
        sections.push((kind, out));
    }
    let dll = options.build_mode == rlink_linker::args::BuildMode::CShared;
    Ok(Layout {
        dyn_sites: Vec::new(),
        res,
        image_base: if dll { DLL_IMAGE_BASE } else { IMAGE_BASE },
        dll,
        options,
        placements,
        sections,
        slots: IndexSet::default(),
        slot_offsets: Vec::new(),
        local_slots: IndexSet::default(),
        local_slots_rva: 0,
        imports: Imports::default(),
        exports: Exports::default(),
        imports_rva: 0,
        thunks_rva: 0,
        base_relocs: Vec::new(),
        tls_directory: 0,
        headers_size: 0,
        image_size: 0,
        file_size: 0,
        entry: 0,
    })
}

/// `/MERGE:from=to`, from the command line and the objects' `.drectve`: which output section
/// sections named `from` join. A chain (`a=b`, `b=.rdata`) is followed; the target must be one
/// of the output sections rlink writes.
fn section_merges(res: &Resolution<'_>, options: &OutputOptions) -> Result<Vec<(Vec<u8>, Kind)>> {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = options.section_merges.clone();
    for o in &res.objects {
        for option in &o.linker_options {
            if let rlink_linker::object::LinkerOption::Merge(from, to) = option {
                pairs.push((from.to_vec(), to.to_vec()));
            }
        }
    }
    let mut out = Vec::new();
    for (from, to) in &pairs {
        let mut target = to.clone();
        for _ in 0..pairs.len() {
            match pairs.iter().find(|(f, _)| *f == target) {
                Some((_, next)) if next != from => target = next.clone(),
                Some(_) => bail!("/MERGE:{}: a cycle", String::from_utf8_lossy(from)),
                None => break,
            }
        }
        let Some(kind) = Kind::ALL
            .into_iter()
            .find(|k| k.name() == target.as_slice() && *k != Kind::Reloc)
        else {
            bail!(
                "/MERGE:{}={}: rlink writes only .text, .rdata, .data, .pdata, .tls and .bss",
                String::from_utf8_lossy(from),
                String::from_utf8_lossy(to)
            );
        };
        out.push((from.clone(), kind));
    }
    Ok(out)
}

/// The import tables for `dlls`, their offsets from the tables' start.
fn plan_imports(res: &Resolution<'_>, dlls: Vec<(String, Vec<SymbolId>)>) -> Imports {
    let n: u64 = dlls.iter().map(|(_, v)| v.len() as u64 + 1).sum();
    let mut t = Imports {
        iat: 0,
        iat_size: 8 * n,
        ..Imports::default()
    };
    t.descriptors = t.iat_size;
    t.lookup = t.descriptors + 20 * (dlls.len() as u64 + 1);
    let mut at = t.lookup + 8 * n;
    for (_, ids) in &dlls {
        for &id in ids {
            at = align_to(at, 2);
            t.hint_names.push(at);
            at += 2 + import_name(res, id).len() as u64 + 1;
        }
    }
    for (name, _) in &dlls {
        t.dll_names.push(at);
        at += name.len() as u64 + 1;
    }
    t.size = align_to(at, 8);
    t.dlls = dlls;
    t
}

/// The name an import is bound by in its DLL.
pub fn import_name<'a>(res: &'a Resolution<'_>, id: SymbolId) -> &'a [u8] {
    match res.globals[id as usize].def {
        Def::Dynamic { import } => &res.imports[import as usize].remote,
        _ => res.globals[id as usize].name,
    }
}

/// With the relocations' needs known: thunks, the IAT and import tables, base relocations,
/// and every address.
pub fn lay_out(l: &mut Layout<'_, '_>, needs: Needs) -> Result<()> {
    let res = l.res;
    // Every used import gets a slot and a thunk (a direct call or an address taken needs the
    // thunk; `__imp_` references need the slot).
    l.dyn_sites = needs.dyn_sites;
    let mut imports: Vec<SymbolId> = needs.used_imports.iter().copied().collect();
    for e in &needs.got {
        match *e {
            GotEntry::Address(SymbolRef::Global(id))
                if matches!(res.globals[id as usize].def, Def::Dynamic { .. }) =>
            {
                imports.push(id)
            }
            GotEntry::Address(t) => {
                l.local_slots.insert(t);
            }
            other => bail!("PE has no GOT entry of kind {other:?} (linker bug)"),
        }
    }
    // Grouped by DLL in library order, each DLL's names in first-use order.
    let mut by_dll: Vec<Vec<SymbolId>> = vec![Vec::new(); res.libraries.len()];
    for &id in &imports {
        let Def::Dynamic { import } = res.globals[id as usize].def else {
            continue;
        };
        let lib = res.imports[import as usize].library as usize;
        let Some(list) = by_dll.get_mut(lib) else {
            bail!(
                "{}: imported with no DLL named (bind it with cgo_import_dynamic NAME NAME \"X.dll\")",
                String::from_utf8_lossy(res.globals[id as usize].name)
            );
        };
        if !list.contains(&id) {
            list.push(id);
        }
    }
    let dlls: Vec<(String, Vec<SymbolId>)> = res
        .libraries
        .iter()
        .zip(by_dll)
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(lib, ids)| (lib.soname.clone(), ids))
        .collect();
    l.slots = dlls
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    // Slot i of DLL d sits after the i imports and d null entries before it.
    l.slot_offsets = dlls
        .iter()
        .enumerate()
        .flat_map(|(d, (_, ids))| std::iter::repeat_n(d as u64, ids.len()))
        .enumerate()
        .map(|(i, d)| 8 * (i as u64 + d))
        .collect();
    l.imports = plan_imports(res, dlls);

    // Synthesized tails: thunks after the code, import tables after the read-only data.
    let thunk_at = {
        let text = &mut l.sections[Kind::Text as usize].1;
        let at = align_to(text.size, 8);
        text.size = at + THUNK_SIZE * l.slots.len() as u64;
        at
    };
    l.exports = plan_exports(l)?;
    let imports_at = {
        let rdata = &mut l.sections[Kind::Rdata as usize].1;
        let at = align_to(rdata.size, 8);
        rdata.size = at + l.imports.size + 8 * l.local_slots.len() as u64 + l.exports.size;
        at
    };

    // The 64-bit absolute addresses (one walk over the relocations): whether there are any
    // decides whether `.reloc` exists, before addresses are known.
    let absolute = l.absolute_places();
    let has_relocs = !l.local_slots.is_empty() || !absolute.is_empty();
    let nsections = l
        .sections
        .iter()
        .filter(|(k, s)| s.size > 0 || (*k == Kind::Reloc && has_relocs))
        .count() as u64;
    l.headers_size = align_to(0x40 + 4 + 20 + 240 + 40 * nsections, FILE_ALIGNMENT);
    let mut rva = SECTION_ALIGNMENT;
    let mut file = l.headers_size;
    for (kind, s) in l.sections.iter_mut() {
        if *kind == Kind::Reloc {
            continue;
        }
        if s.size == 0 {
            continue;
        }
        s.rva = rva;
        rva = align_to(
            rva.checked_add(s.size).ok_or_else(too_large)?,
            SECTION_ALIGNMENT,
        );
        if *kind != Kind::Bss {
            s.file_offset = file;
            s.raw_size = align_to(s.size, FILE_ALIGNMENT);
            file += s.raw_size;
        }
    }
    l.thunks_rva = l.sections[Kind::Text as usize].1.rva + thunk_at;
    l.imports_rva = l.sections[Kind::Rdata as usize].1.rva + imports_at;
    l.local_slots_rva = l.imports_rva + l.imports.size;
    if l.exports.size > 0 {
        l.exports.rva = l.local_slots_rva + 8 * l.local_slots.len() as u64;
    }

    // Base relocations: the places of 64-bit addresses, now that addresses are known.
    // Weak references nothing defined stay 0, and 0 is not rebased.
    let mut relocs: Vec<u64> = absolute
        .iter()
        .filter(|a| a.through_iat || !is_undefined(res, a.target))
        .map(|a| l.section(a.kind).rva + a.offset)
        .collect();
    for (k, &t) in l.local_slots.iter().enumerate() {
        if l.value(t).addr != 0 {
            relocs.push(l.local_slots_rva + 8 * k as u64);
        }
    }
    relocs.sort_unstable();
    relocs.dedup();
    let reloc_size = base_reloc_block_size(&relocs);
    l.base_relocs = relocs;
    if has_relocs {
        let s = &mut l.sections[Kind::Reloc as usize].1;
        s.size = reloc_size;
        s.rva = rva;
        rva = align_to(rva + reloc_size, SECTION_ALIGNMENT);
        s.file_offset = file;
        s.raw_size = align_to(reloc_size, FILE_ALIGNMENT);
        file += s.raw_size;
    }
    if rva >= 1 << 32 {
        return Err(too_large());
    }
    l.image_size = rva;
    l.file_size = file;

    // The TLS directory the C runtime (or the runtime stubs) defines, as link.exe finds it.
    l.tls_directory = match res.global(b"_tls_used").map(|g| g.def) {
        Some(Def::Object { obj, sym, .. }) => l.object_symbol_rva(obj, sym),
        _ => 0,
    };
    if l.section(Kind::Tls).size > 0 && l.tls_directory == 0 {
        bail!("thread-local data (.tls) but no TLS directory (_tls_used) to describe it");
    }
    let entry = &l.options.entry;
    l.entry = match res.global(entry) {
        Some(g) => match g.def {
            Def::Object { obj, sym, .. } => l.object_symbol_rva(obj, sym),
            _ => 0,
        },
        None => 0,
    };
    if l.entry == 0 && !l.dll {
        bail!(
            "the entry point {} is not defined (a console program's is mainCRTStartup; rlink's \
             runtime stubs do not provide it yet)",
            String::from_utf8_lossy(entry)
        );
    }
    Ok(())
}

/// The export directory: the command line's and the objects' exports (`/EXPORT`, `.def`,
/// `dllexport`) and `cgo_export_dynamic` names, numbered (explicit ordinals kept, the rest
/// given the free ones in name order, as link.exe does) and sized.
fn plan_exports(l: &Layout<'_, '_>) -> Result<Exports> {
    let res = l.res;
    let mut wanted: Vec<(Vec<u8>, Option<u16>, bool, ExportTarget)> = Vec::new();
    let target_of = |internal: &[u8], name: &[u8], origin: &str| -> Result<ExportTarget> {
        match res.global_id(internal) {
            Some(id) if matches!(res.globals[id as usize].def, Def::Object { .. }) => {
                Ok(ExportTarget::Symbol(SymbolRef::Global(id)))
            }
            _ => bail!(
                "undefined symbol: {}\n>>> referenced by {origin} (the export {})",
                String::from_utf8_lossy(internal),
                String::from_utf8_lossy(name)
            ),
        }
    };
    for e in &l.options.exports {
        let target = match e.forwarder() {
            Some(f) => ExportTarget::Forwarder(f.as_bytes().to_vec()),
            None => target_of(e.internal.as_bytes(), e.name.as_bytes(), &e.origin)?,
        };
        wanted.push((e.name.as_bytes().to_vec(), e.ordinal, !e.noname, target));
    }
    for (local, remote) in &l.options.named_exports {
        if !wanted.iter().any(|w| w.0 == *remote) {
            wanted.push((
                remote.clone(),
                None,
                true,
                target_of(local, remote, "cgo_export_dynamic")?,
            ));
        }
    }
    if wanted.is_empty() {
        return Ok(Exports::default());
    }
    wanted.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = wanted.windows(2).find(|w| w[0].0 == w[1].0) {
        bail!("{}: exported twice", String::from_utf8_lossy(&w[0].0));
    }
    let mut taken: Vec<u16> = wanted.iter().filter_map(|w| w.1).collect();
    taken.sort_unstable();
    if let Some(w) = taken.windows(2).find(|w| w[0] == w[1]) {
        bail!("ordinal @{} is given to two exports", w[0]);
    }
    let base = taken.first().copied().unwrap_or(1);
    let mut next = base;
    let mut list = Vec::with_capacity(wanted.len());
    for (name, ordinal, named, target) in wanted {
        let ordinal = match ordinal {
            Some(o) => o,
            None => {
                while taken.binary_search(&next).is_ok() {
                    next = next
                        .checked_add(1)
                        .ok_or_else(|| Error::new("more than 65535 exports"))?;
                }
                let o = next;
                taken.insert(taken.binary_search(&o).unwrap_or_else(|i| i), o);
                o
            }
        };
        list.push(Export {
            name,
            ordinal,
            named,
            target,
        });
    }
    // Name table order: by name (the loader searches it by bisection); `list` is in it.
    let max = list.iter().map(|e| e.ordinal).max().unwrap_or(base);
    let count = u32::from(max - base) + 1;
    let nnames = list.iter().filter(|e| e.named).count() as u64;
    let dll_name = l
        .options
        .soname
        .clone()
        .unwrap_or_else(|| {
            std::path::Path::new(&l.options.output_name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .into_bytes();
    let mut t = Exports {
        base,
        count,
        functions: 40,
        ..Exports::default()
    };
    t.names = t.functions + 4 * u64::from(count);
    t.ordinals = t.names + 4 * nnames;
    let mut at = t.ordinals + 2 * nnames;
    t.dll_name_at = at;
    at += dll_name.len() as u64 + 1;
    for e in &list {
        t.name_at.push(at);
        if e.named {
            at += e.name.len() as u64 + 1;
        }
    }
    for e in &list {
        t.forwarder_at.push(at);
        if let ExportTarget::Forwarder(f) = &e.target {
            at += f.len() as u64 + 1;
        }
    }
    t.size = align_to(at, 8);
    t.dll_name = dll_name;
    t.list = list;
    Ok(t)
}

/// A weak reference nothing defined: its address stays 0, which the loader must not rebase
/// (the relocation pass leaves it alone too).
fn is_undefined(res: &Resolution<'_>, t: SymbolRef) -> bool {
    matches!(t, SymbolRef::Global(id) if res.globals[id as usize].def == Def::Undefined)
}

/// The bytes of `.reloc` for sorted `rvas`: per 4 KiB page a block (page RVA, block size)
/// of 16-bit entries, padded to 4 bytes.
pub fn base_reloc_block_size(rvas: &[u64]) -> u64 {
    let mut size = 0;
    let mut i = 0;
    while i < rvas.len() {
        let page = rvas[i] & !0xfff;
        let n = rvas[i..]
            .iter()
            .take_while(|&&r| r & !0xfff == page)
            .count() as u64;
        size += 8 + align_to(2 * n, 4);
        i += n as usize;
    }
    size
}

impl Layout<'_, '_> {
    pub fn section(&self, kind: Kind) -> &OutSection {
        &self.sections[kind as usize].1
    }

    fn object_symbol_rva(&self, obj: u32, sym: u32) -> u64 {
        let s = &self.res.objects[obj as usize].symbols[sym as usize];
        match s.place {
            SymPlace::Section(sec) => match self.placements[obj as usize][sec as usize] {
                Some(p) => self.section(p.kind).rva + p.offset + s.value,
                None => 0,
            },
            _ => 0,
        }
    }

    /// Every place in a placed section that holds a 64-bit absolute address.
    fn absolute_places(&self) -> Vec<AbsolutePlace> {
        let res = self.res;
        let mut out = Vec::new();
        for (oi, o) in res.objects.iter().enumerate() {
            for (si, p) in self.placements[oi].iter().enumerate() {
                let Some(p) = p else { continue };
                for r in o.relocations[si].iter().filter(|r| is_absolute64(r.r_type)) {
                    out.push(AbsolutePlace {
                        kind: p.kind,
                        offset: p.offset + r.offset,
                        target: rlink_linker::scan::target(res, oi, r.symbol),
                        through_iat: reads_iat_slot(r.r_type),
                    });
                }
            }
        }
        out
    }

    pub fn value(&self, t: SymbolRef) -> SymValue {
        let rva = match t {
            SymbolRef::Local { obj, sym } => return self.object_symbol_value(obj, sym),
            SymbolRef::Global(id) => match self.res.globals[id as usize].def {
                Def::Object { obj, sym, .. } => return self.object_symbol_value(obj, sym),
                Def::Dynamic { .. } => match self.slots.get_index_of(&id) {
                    Some(i) => self.thunks_rva + THUNK_SIZE * i as u64,
                    None => 0,
                },
                Def::Synthetic => return plain(self.image_base),
                _ => 0,
            },
        };
        plain(if rva == 0 { 0 } else { self.image_base + rva })
    }

    /// A symbol of an object: an absolute value as it is, else its address (0 when its
    /// section is not in the image).
    fn object_symbol_value(&self, obj: u32, sym: u32) -> SymValue {
        let s = &self.res.objects[obj as usize].symbols[sym as usize];
        if s.place == SymPlace::Absolute {
            return plain(s.value);
        }
        let rva = self.object_symbol_rva(obj, sym);
        plain(if rva == 0 { 0 } else { self.image_base + rva })
    }

    /// An import's IAT slot (an RVA).
    pub fn slot_rva(&self, id: SymbolId) -> Option<u64> {
        let i = self.slots.get_index_of(&id)?;
        Some(self.imports_rva + self.imports.iat + self.slot_offsets[i])
    }
}

impl Placement for Layout<'_, '_> {
    fn place_info(&self, obj: usize, sec: usize) -> Option<PlaceInfo> {
        self.placements[obj][sec]?;
        // The loader applies base relocations anywhere in the image.
        Some(PlaceInfo {
            alloc: true,
            writable: true,
            pie: true,
            shared: self.dll,
            text_relocations: false,
        })
    }
}

impl OutputLayout for Layout<'_, '_> {
    fn copied_section(&self, obj: usize, sec: usize) -> Option<CopiedSection> {
        let p = self.placements[obj][sec]?;
        if p.kind == Kind::Bss || self.res.objects[obj].sections[sec].is_zero_fill() {
            return None;
        }
        let s = self.section(p.kind);
        Some(CopiedSection {
            file_offset: s.file_offset + p.offset,
            addr: self.image_base + s.rva + p.offset,
            place: self.place_info(obj, sec)?,
        })
    }

    fn address_in(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let p = self.placements[obj][sec]?;
        Some(self.image_base + self.section(p.kind).rva + p.offset + offset)
    }

    fn is_merged(&self, _obj: usize, _sec: usize) -> bool {
        false
    }

    fn symbol_value(&self, t: SymbolRef) -> SymValue {
        self.value(t)
    }

    fn got_slot(&self, e: GotEntry) -> Option<u64> {
        let GotEntry::Address(t) = e else {
            return None;
        };
        if let Some(k) = self.local_slots.get_index_of(&t) {
            return Some(self.image_base + self.local_slots_rva + 8 * k as u64);
        }
        let SymbolRef::Global(id) = t else {
            return None;
        };
        Some(self.image_base + self.slot_rva(id)?)
    }

    fn got_base(&self) -> u64 {
        self.image_base
    }

    fn image_base(&self) -> u64 {
        self.image_base
    }

    /// A thread-local's offset in the image's TLS template (what `SECREL` asks).
    fn tpoff(&self, addr: u64) -> i64 {
        addr.wrapping_sub(self.image_base + self.section(Kind::Tls).rva) as i64
    }

    fn dtpoff(&self, addr: u64) -> i64 {
        self.tpoff(addr)
    }

    fn is_shared(&self) -> bool {
        self.dll
    }

    fn dynamic_sites(&self, obj: usize) -> &[rlink_linker::scan::DynSite] {
        self.dyn_sites.get(obj).map_or(&[], Vec::as_slice)
    }
}
