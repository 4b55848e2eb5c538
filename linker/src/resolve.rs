//! Symbol resolution: which archive members join the link, which definition every global name
//! binds to (an object, a shared library, a directive, or the linker itself), and which
//! COMDAT copies are discarded.
//!
//! Archives are searched as one group, repeated until no member is needed any more, so the
//! order of `.rlib`s on the command line never causes "undefined symbol" surprises. An archive
//! member is pulled for a name no object defines, or that only a shared library *later* on the
//! command line defines: the GNU ld rule that makes `compiler_builtins` win over `libgcc_s`.

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use rayon::prelude::*;
use rlink_directives::DirectiveKind;

use crate::bail;
use crate::diag::{demangle, Result};
use crate::library::{ExportKind, SharedLibrary};
use crate::names::Names;
use crate::object::{LinkerOption, ObjectView, SymPlace};
use crate::par::PerItem as _;
use crate::plan::SourcedDirective;

pub type SymbolId = u32;

/// What a global name is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Def {
    Undefined,
    /// Defined by symbol `sym` of object `obj`.
    Object {
        obj: u32,
        sym: u32,
        weak: bool,
    },
    /// A tentative definition; the largest wins, placed in .bss.
    Common {
        obj: u32,
        sym: u32,
    },
    /// Imported from a shared library at run time.
    Dynamic {
        import: u32,
    },
    /// Defined by the linker (`__ehdr_start`, `__start_SEC`…), resolved during layout.
    Synthetic,
    /// Left to the host linker (external linking: `cgo_import_static`, or what the host's own
    /// libraries provide).
    Host,
}

#[derive(Debug, Clone)]
pub struct Global<'a> {
    pub name: &'a [u8],
    pub def: Def,
    /// Referenced by at least one non-weak undefined symbol.
    pub strong_ref: bool,
    /// Referenced at all (weak or strong).
    pub referenced: bool,
    /// Position on the command line of the shared library that defines it, for the
    /// archive-before-library rule.
    pub library_position: usize,
    /// Some reference to it is hidden (or internal): only the output itself may define it,
    /// never a shared library or the loader.
    pub hidden_ref: bool,
}

/// A dynamic import: one `.dynsym` entry of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The name in the library (differs from the local name under `cgo_import_dynamic`).
    pub remote: Vec<u8>,
    pub version: Option<Vec<u8>>,
    /// Index into the libraries, or [`NO_LIBRARY`]: a name the loader looks up in whatever is
    /// loaded (an ELF shared library's undefined symbol; Mach-O's `-undefined dynamic_lookup`).
    pub library: u32,
    pub kind: ExportKind,
    /// The definition's size in the library (0 when unknown): what a copy relocation copies.
    pub size: u64,
    /// The definition's address in the library (0 when unknown).
    pub value: u64,
}

pub const NO_LIBRARY: u32 = u32::MAX;

/// No archive member offers the name.
const NOT_LAZY: u32 = u32::MAX;

/// A library named in DT_NEEDED if used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    pub soname: String,
    /// Named by `cgo_import_dynamic _ _ "lib"`: needed even when nothing is imported.
    pub forced: bool,
    /// The output may run without it (ld64's `-weak_framework`): loaded weakly, and every
    /// name imported from it is a weak import.
    pub weak: bool,
}

/// One relocatable object that may join the link.
pub struct Candidate<'a> {
    pub object: ObjectView<'a>,
    /// Command-line position of the file it came from.
    pub position: usize,
    /// Loose objects are always in; archive members only when pulled.
    pub loose: bool,
    /// Not produced by rustc: in external linking, passed to the host linker as it is.
    pub host: bool,
    /// The whole read-only map of the file its bytes are in (see [`crate::input::release`]),
    /// when they are in one.
    pub mapped: Option<&'a [u8]>,
}

/// A shared library given to the link.
pub struct SharedInput<'a> {
    pub library: SharedLibrary<'a>,
    pub position: usize,
    /// The output may run without it (ld64's `-weak_framework`).
    pub weak: bool,
    /// Needed only when it binds a name; otherwise needed because the line names it.
    pub as_needed: bool,
}

/// What resolution built that the link no longer needs: the candidates that did not join it
/// and the binding's tables, each a few thousand allocations of both threads' heaps. Freed
/// as resolution ends, they were a millisecond of one thread waiting on the other's heap
/// lock (the other still splitting strings): [`Leftovers::free`] frees them in parallel
/// once both threads are free.
#[derive(Default)]
pub struct Leftovers<'a> {
    unused: Vec<Candidate<'a>>,
    known: Vec<Vec<SymbolId>>,
    discarded: Vec<Vec<bool>>,
}

impl Leftovers<'_> {
    /// Frees everything, in parallel.
    pub fn free(self) {
        let Leftovers {
            unused,
            known,
            discarded,
        } = self;
        rayon::join(
            || unused.into_par_iter().per_item().for_each(drop),
            || {
                rayon::join(
                    || known.into_par_iter().with_min_len(64).for_each(drop),
                    || discarded.into_par_iter().with_min_len(64).for_each(drop),
                )
            },
        );
    }
}

/// The outcome of resolution: everything layout needs to know about symbols.
pub struct Resolution<'a> {
    /// The objects in the link, in a deterministic order (command line, then pull order).
    pub objects: Vec<ObjectView<'a>>,
    pub globals: Vec<Global<'a>>,
    pub names: Names<'a>,
    /// Per object, per symbol index: the global it names (`LOCAL` for locals).
    pub symbol_ids: Vec<Vec<SymbolId>>,
    /// Per object, per section: discarded as a duplicate COMDAT copy.
    pub discarded: Vec<Vec<bool>>,
    pub imports: Vec<Import>,
    pub libraries: Vec<Library>,
    /// Per object: a host object (external linking passes it to the host linker).
    pub host: Vec<bool>,
    /// Per object: the read-only map of the file its bytes are in, whose pages may be released
    /// once the output has what it needs of every object in it.
    pub mapped: Vec<Option<&'a [u8]>>,
    /// The output is a shared library (its exported data is preemptible).
    pub shared_output: bool,
    /// A shared library's exported definitions can be interposed by other modules (ELF's
    /// flat namespace); in Mach-O's two-level namespace a dylib's references to its own
    /// definitions stay its own. Set by the format.
    pub interposable: bool,
    /// A shared library's version script: names it keeps local are not preemptible.
    pub version_script: Option<crate::version_script::VersionScript>,
    /// A shared library binds its own definitions to themselves (`-Bsymbolic`,
    /// `--dynamic-list`), except the names `preemptible` lists.
    pub symbolic: bool,
    pub preemptible: Option<crate::version_script::VersionScript>,
    /// Its calls to its own functions bind to them (`-Bsymbolic-functions`).
    pub symbolic_functions: bool,
    /// `-Bsymbolic-non-weak(-functions)`: as the two above, for non-weak definitions only.
    pub symbolic_non_weak: bool,
    pub symbolic_non_weak_functions: bool,
    /// The globals the shared libraries of the link reference or define, in order: an
    /// executable exports its definitions of them, so those libraries bind to the program's
    /// (set by the pipeline for formats whose libraries may be interposed).
    pub library_globals: Vec<SymbolId>,
    /// Why a name the bound shared libraries do not export is not there, when one knows
    /// (a glibc manifest cut to a floor: the name came in a later release).
    pub unavailable: HashMap<&'a [u8], String>,
    /// What resolution no longer needs, for the caller to free ([`Leftovers::free`]) when
    /// it suits it (dropped with the resolution otherwise).
    pub leftovers: Leftovers<'a>,
    /// Every global's relocation facts ([`crate::scan::target_info`]), computed once by
    /// [`Resolution::settle`] when resolution is final; empty before.
    pub infos: Vec<crate::reloc::TargetInfo>,
    /// Mergeable string sections split ahead, while resolution ran (see
    /// [`crate::merge::Prepared`]).
    pub prepared_strings: crate::merge::Prepared,
}

pub const LOCAL: SymbolId = u32::MAX;

impl<'a> Global<'a> {
    /// A name nothing has defined or referenced yet.
    fn named(name: &'a [u8]) -> Global<'a> {
        Global {
            name,
            def: Def::Undefined,
            strong_ref: false,
            referenced: false,
            library_position: 0,
            hidden_ref: false,
        }
    }
}

impl<'a> Resolution<'a> {
    /// Resolution is final: every global's relocation facts are computed now, in parallel,
    /// so the phases after it (scanning, layout, the relocation pass, the tables) read them
    /// instead of following each global to its defining symbol again and again.
    pub fn settle(&mut self) {
        self.infos = Vec::new();
        let infos: Vec<crate::reloc::TargetInfo> = (0..self.globals.len())
            .into_par_iter()
            .with_min_len(1024)
            .map(|id| crate::scan::target_info(self, crate::scan::SymbolRef::Global(id as u32)))
            .collect();
        self.infos = infos;
    }

    pub fn global(&self, name: &[u8]) -> Option<&Global<'a>> {
        self.names.get(name).map(|&id| &self.globals[id as usize])
    }

    pub fn global_id(&self, name: &[u8]) -> Option<SymbolId> {
        self.names.get(name).copied()
    }

    /// External linking: the global names the host objects reference, which the combined
    /// object must keep visible to them.
    pub fn host_references(&self) -> FxHashSet<&'a [u8]> {
        let mut refs = FxHashSet::default();
        for (oi, o) in self.objects.iter().enumerate() {
            if self.host[oi] {
                for s in &o.symbols {
                    if !s.is_local() && s.place == SymPlace::Undefined {
                        refs.insert(s.name);
                    }
                }
            }
        }
        refs
    }
}

struct Resolver<'a, 'c> {
    candidates: &'c [Candidate<'a>],
    unavailable: HashMap<&'a [u8], String>,
    globals: Vec<Global<'a>>,
    names: Names<'a>,
    /// Per candidate, per symbol: the global its name already was when binding began
    /// (looked up in parallel; `LOCAL` for names new then, and for every name under `--wrap`).
    known: Vec<Vec<SymbolId>>,
    /// Per global, the first archive member defining it ([`NOT_LAZY`]: none).
    lazy: Vec<u32>,
    /// Per global, the first archive member offering it only as a common symbol: an undefined
    /// reference pulls it (when no member defines the name outright), a common one does not.
    lazy_common: Vec<u32>,
    /// Per candidate that joined the link, per symbol: the global it names (`LOCAL` for
    /// locals), recorded as its symbols are bound.
    symbol_ids: Vec<Vec<SymbolId>>,
    in_link: Vec<bool>,
    /// Candidates in the order they joined.
    order: Vec<u32>,
    queue: std::collections::VecDeque<u32>,
    /// COMDAT signatures already kept, and per candidate the sections dropped as copies.
    /// Each COMDAT signature's kept group: (candidate, group index).
    groups_seen: HashMap<&'a [u8], (u32, u32)>,
    discarded: Vec<Vec<bool>>,
    /// `--allow-multiple-definition`: a second strong definition is ignored.
    allow_multiple_definition: bool,
    wrap: HashMap<&'a [u8], &'a [u8]>,
    /// Local indirect functions (candidate, symbol), in the order their objects joined: each
    /// gets a global of its own after binding.
    local_ifuncs: Vec<(u32, u32)>,
}

impl<'a> Resolver<'a, '_> {
    fn id(&mut self, name: &'a [u8]) -> SymbolId {
        let next = self.globals.len() as SymbolId;
        let (id, new) = self
            .names
            .find_or_insert(name, crate::names::hash(name), || next);
        if new {
            self.lazy.push(NOT_LAZY);
            self.lazy_common.push(NOT_LAZY);
            self.globals.push(Global::named(name));
        }
        id
    }

    /// A strong reference from outside any object's symbol table (a required name, an
    /// object's `/INCLUDE`): an archive member defining it is pulled.
    fn reference(&mut self, name: &'a [u8]) {
        let id = self.id(name);
        let g = &mut self.globals[id as usize];
        g.referenced = true;
        g.strong_ref = true;
        if matches!(g.def, Def::Undefined) {
            if let Some(candidate) = self.lazy_definition(id) {
                self.pull(candidate);
            }
        }
    }

    /// The archive member an undefined reference to global `id` pulls: the first defining
    /// it, else the first offering it as a common symbol.
    fn lazy_definition(&self, id: SymbolId) -> Option<u32> {
        match (self.lazy[id as usize], self.lazy_common[id as usize]) {
            (NOT_LAZY, NOT_LAZY) => None,
            (NOT_LAZY, common) => Some(common),
            (defining, _) => Some(defining),
        }
    }

    fn pull(&mut self, candidate: u32) {
        if !self.in_link[candidate as usize] {
            self.in_link[candidate as usize] = true;
            self.queue.push_back(candidate);
        }
    }
}

/// How a link resolves, beyond its inputs.
pub struct ResolveOptions<'a, 's> {
    /// External linking: undefined names are reported here, before the host linker runs.
    pub external: bool,
    pub shared_output: bool,
    /// Names nothing defines are left to the loader.
    pub allow_undefined: bool,
    /// Names only weakly referenced that nothing defines are left to the loader even when
    /// the others are errors (an ELF shared library under `-z defs`).
    pub weak_undefined_dynamic: bool,
    /// The names the output format's linker defines itself (`__ehdr_start`, `__start_SEC`, …).
    pub synthetic: &'s (dyn Fn(&[u8]) -> bool + Sync),
    /// Names the command line wants defined, as if an object referenced them (exports,
    /// `/INCLUDE`): archive members that define them are pulled.
    pub required: Vec<&'a [u8]>,
    /// `/ALTERNATENAME` pairs of the command line: `from`, when nothing defines it, is `to`.
    pub alternate_names: Vec<(&'a [u8], &'a [u8])>,
    /// `--allow-multiple-definition`: the first of two strong definitions wins.
    pub allow_multiple_definition: bool,
    /// `--wrap`: undefined names bound to another name (`foo` → `__wrap_foo`,
    /// `__real_foo` → `foo`).
    pub wrap: Vec<(&'a [u8], &'a [u8])>,
}

/// `/ALTERNATENAME:from=to`, from the command line and from the objects in the link: a
/// referenced `from` that nothing defined becomes `to`'s definition (link.exe's rule; MSVC's
/// runtime uses it for defaults a program may override).
fn apply_alternate_names(r: &mut Resolver<'_, '_>, command_line: &[(&[u8], &[u8])]) {
    let from_objects = r.order.iter().flat_map(|&i| {
        r.candidates[i as usize]
            .object
            .linker_options
            .iter()
            .filter_map(|o| match o {
                LinkerOption::AlternateName(from, to) => Some((*from, *to)),
                _ => None,
            })
    });
    let pairs: Vec<(&[u8], &[u8])> = command_line.iter().copied().chain(from_objects).collect();
    for (from, to) in pairs {
        let (Some(&f), Some(&t)) = (r.names.get(from), r.names.get(to)) else {
            continue;
        };
        if matches!(r.globals[f as usize].def, Def::Undefined)
            && !matches!(r.globals[t as usize].def, Def::Undefined)
        {
            r.globals[f as usize].def = r.globals[t as usize].def;
        }
    }
}

/// Binds every global name, pulling archive members as needed.
pub fn resolve<'a>(
    candidates: Vec<Candidate<'a>>,
    shared: &[SharedInput<'a>],
    directives: &[SourcedDirective],
    options: &ResolveOptions<'a, '_>,
) -> Result<Resolution<'a>> {
    let external = options.external;
    let shared_output = options.shared_output;
    let allow_undefined = options.allow_undefined;
    let synthetic = options.synthetic;
    // Every archive member offers its definitions lazily; the first archive on the command
    // line that defines a name is the one searched. The members' names are numbered as a walk
    // over them would first meet them, in parallel (`register_archive_definitions`); then
    // every candidate's global names are looked up in parallel, so binding, which is serial,
    // mostly finds its numbers ready. The loaders hashed every global's name
    // (`ObjectView::name_hashes`).
    let timer = std::time::Instant::now();
    let registered = register_archive_definitions(&candidates);
    tracing::debug!(elapsed = ?timer.elapsed(), "resolve: archive members' definitions numbered");
    let known: Vec<Vec<SymbolId>> = match options.wrap.is_empty() {
        true => candidates
            .par_iter()
            .per_item()
            .map(|c| {
                c.object
                    .symbols
                    .iter()
                    .zip(&c.object.name_hashes)
                    .map(|(s, &h)| match s.is_local() {
                        true => LOCAL,
                        false => registered.names.get_hashed(s.name, h).unwrap_or(LOCAL),
                    })
                    .collect()
            })
            .collect(),
        false => vec![Vec::new(); candidates.len()],
    };
    tracing::debug!(elapsed = ?timer.elapsed(), "resolve: global names looked up");
    let mut r = Resolver {
        candidates: &candidates,
        unavailable: unavailable_names(shared),
        globals: registered.globals,
        names: registered.names,
        known,
        lazy: registered.lazy,
        lazy_common: registered.lazy_common,
        symbol_ids: vec![Vec::new(); candidates.len()],
        in_link: vec![false; candidates.len()],
        order: Vec::new(),
        queue: Default::default(),
        groups_seen: Default::default(),
        discarded: candidates
            .iter()
            .map(|c| vec![false; c.object.sections.len()])
            .collect(),
        allow_multiple_definition: options.allow_multiple_definition,
        wrap: options.wrap.iter().copied().collect(),
        local_ifuncs: Vec::new(),
    };
    for (index, c) in candidates.iter().enumerate() {
        if c.loose {
            r.pull(index as u32);
        }
    }

    let mut libraries: Vec<Library> = Vec::new();
    let mut imports: Vec<Import> = Vec::new();
    let mut shared_bound = false;
    let mut required_done = false;
    loop {
        while let Some(next) = r.queue.pop_front() {
            r.order.push(next);
            add_object(&mut r, next)?;
        }
        // The command line's required names, once the loose objects have had their say.
        if !required_done {
            required_done = true;
            for &name in &options.required {
                r.reference(name);
            }
            if !r.queue.is_empty() {
                continue;
            }
        }
        // Shared libraries bind what objects left undefined (once: later objects only add
        // references, which the loop below offers to archives first).
        if !shared_bound {
            bind_shared_libraries(&mut r, shared, &mut imports, &mut libraries);
            shared_bound = true;
            // A name a shared library needs and nothing defines pulls the archive member
            // that defines it, as GNU ld and lld do: the program then exports it.
            for lib in shared {
                for reference in &lib.library.references {
                    if reference.weak || reference.version.is_some() {
                        continue;
                    }
                    let Some(&id) = r.names.get(reference.name) else {
                        continue;
                    };
                    let candidate = r.lazy[id as usize];
                    if candidate != NOT_LAZY && r.globals[id as usize].def == Def::Undefined {
                        r.pull(candidate);
                    }
                }
            }
        }
        // An archive earlier on the command line than the library wins, as in GNU ld.
        for id in 0..r.globals.len() {
            let g = &r.globals[id];
            if !g.strong_ref || !matches!(g.def, Def::Dynamic { .. }) {
                continue;
            }
            let candidate = r.lazy[id];
            if candidate != NOT_LAZY && candidates[candidate as usize].position < g.library_position
            {
                r.pull(candidate);
            }
        }
        if r.queue.is_empty() {
            break;
        }
    }
    tracing::debug!(elapsed = ?timer.elapsed(), "resolve: objects added, libraries bound");
    // Names still unbound after objects and libraries get a last chance at a library bound
    // later (a reference added by a member pulled in the loop above).
    bind_shared_libraries(&mut r, shared, &mut imports, &mut libraries);
    apply_directives(&mut r, directives, &mut imports, &mut libraries, external)?;
    mark_synthetic(&mut r, synthetic);
    apply_alternate_names(&mut r, &options.alternate_names);
    if allow_undefined || options.weak_undefined_dynamic {
        // The loader finds these names in the program or in other libraries: what every ELF
        // linker allows by default for -shared, and ld64's -undefined dynamic_lookup.
        for g in r.globals.iter_mut().filter(|g| {
            g.referenced
                && g.def == Def::Undefined
                && !g.hidden_ref
                && (allow_undefined || !g.strong_ref)
        }) {
            imports.push(Import {
                remote: g.name.to_vec(),
                version: None,
                library: NO_LIBRARY,
                kind: ExportKind::Other,
                size: 0,
                value: 0,
            });
            g.def = Def::Dynamic {
                import: imports.len() as u32 - 1,
            };
        }
    }
    // An internal link reports undefined names after garbage collection, for the references
    // live code makes (`report_undefined_references`), as lld and ld64 do: a dead function
    // or an unwind table rlink does not link may name what nothing defines. External linking
    // reports them here, before the host linker runs.
    if external {
        report_undefined(&r)?;
    }

    tracing::debug!(elapsed = ?timer.elapsed(), "resolve: last bindings and directives applied");
    // Keep only the objects in the link, in the order they joined it.
    let order = std::mem::take(&mut r.order);
    let mut renumber = vec![u32::MAX; candidates.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old as usize] = new as u32;
    }
    let Resolver {
        mut globals,
        names,
        mut discarded,
        symbol_ids: mut ids_by_candidate,
        local_ifuncs,
        known,
        ..
    } = r;
    for g in &mut globals {
        if let Def::Object { obj, .. } | Def::Common { obj, .. } = &mut g.def {
            *obj = renumber[*obj as usize];
        }
    }
    let mut slots: Vec<Option<Candidate<'a>>> = candidates.into_iter().map(Some).collect();
    let mut objects = Vec::with_capacity(order.len());
    let mut host = Vec::with_capacity(order.len());
    let mut kept_discarded = Vec::with_capacity(order.len());
    let mut mapped = Vec::with_capacity(order.len());
    for &old in &order {
        if let Some(c) = slots[old as usize].take() {
            host.push(c.host);
            mapped.push(c.mapped);
            objects.push(c.object);
            kept_discarded.push(std::mem::take(&mut discarded[old as usize]));
        }
    }
    let mut symbol_ids: Vec<Vec<SymbolId>> = order
        .iter()
        .map(|&old| std::mem::take(&mut ids_by_candidate[old as usize]))
        .collect();
    // A local indirect function (`static` with `__attribute__((ifunc))`) needs a PLT entry
    // and an IRELATIVE relocation like a global one, and those are kept per global: it gets
    // a global of its own that no name finds. Adding the objects found them.
    for (candidate, si) in local_ifuncs {
        let oi = renumber[candidate as usize];
        symbol_ids[oi as usize][si as usize] = globals.len() as SymbolId;
        globals.push(Global {
            name: objects[oi as usize].symbols[si as usize].name,
            def: Def::Object {
                obj: oi,
                sym: si,
                weak: false,
            },
            strong_ref: true,
            referenced: true,
            library_position: 0,
            hidden_ref: false,
        });
    }
    Ok(Resolution {
        objects,
        globals,
        names,
        symbol_ids,
        discarded: kept_discarded,
        imports,
        libraries,
        host,
        mapped,
        shared_output,
        interposable: true,
        version_script: None,
        symbolic: false,
        preemptible: None,
        symbolic_functions: false,
        symbolic_non_weak: false,
        symbolic_non_weak_functions: false,
        library_globals: Vec::new(),
        unavailable: unavailable_names(shared),
        infos: Vec::new(),
        prepared_strings: Default::default(),
        leftovers: Leftovers {
            unused: slots.into_iter().flatten().collect(),
            known,
            discarded,
        },
    })
}

/// Archive members' definitions, numbered.
struct Registered<'a> {
    names: Names<'a>,
    globals: Vec<Global<'a>>,
    lazy: Vec<u32>,
    lazy_common: Vec<u32>,
}

/// Numbers the names archive members define (outright or as common symbols) as a walk over
/// the members in command-line order, each member's symbols in order, would first meet them,
/// and records for each the first member defining it and the first offering it as common.
/// Each shard of the name table is filled by one task, walking the members in order over the
/// names whose hash chose it; the names' first meetings, sorted, give their numbers. The
/// result is the same at any thread count.
fn register_archive_definitions<'a>(candidates: &[Candidate<'a>]) -> Registered<'a> {
    use crate::names::{shard_of, Shard, SHARDS};
    // Per candidate, its definitions grouped by shard (each group in symbol order).
    struct Definitions {
        by_shard: Vec<u32>,
        bounds: [u32; SHARDS + 1],
    }
    let defining = |s: &crate::object::Symbol<'_>| {
        !s.is_local()
            && matches!(
                s.place,
                SymPlace::Section(_) | SymPlace::Absolute | SymPlace::Common
            )
    };
    let definitions: Vec<Definitions> = candidates
        .par_iter()
        .per_item()
        .map(|c| {
            let mut bounds = [0u32; SHARDS + 1];
            if c.loose {
                return Definitions {
                    by_shard: Vec::new(),
                    bounds,
                };
            }
            let (symbols, hashes) = (&c.object.symbols, &c.object.name_hashes);
            for (s, &h) in symbols.iter().zip(hashes) {
                if defining(s) {
                    bounds[shard_of(h) + 1] += 1;
                }
            }
            for k in 0..SHARDS {
                bounds[k + 1] += bounds[k];
            }
            let mut next = bounds;
            let mut by_shard = vec![0u32; bounds[SHARDS] as usize];
            for (i, (s, &h)) in symbols.iter().zip(hashes).enumerate() {
                if defining(s) {
                    let k = shard_of(h);
                    by_shard[next[k] as usize] = i as u32;
                    next[k] += 1;
                }
            }
            Definitions { by_shard, bounds }
        })
        .collect();
    // Per shard: its table (numbered by first meeting within the shard), each name's first
    // meeting (candidate, symbol), and its first defining and first common members.
    type Filled<'a> = (Shard<'a>, Vec<(u32, u32)>, Vec<u32>, Vec<u32>);
    let shards: Vec<Filled<'a>> = (0..SHARDS)
        .into_par_iter()
        .per_item()
        .map(|k| {
            let count: usize = definitions
                .iter()
                .map(|d| (d.bounds[k + 1] - d.bounds[k]) as usize)
                .sum();
            let mut shard = Shard::with_capacity(count);
            let mut first = Vec::new();
            let mut lazy = Vec::new();
            let mut lazy_common = Vec::new();
            for (ci, d) in definitions.iter().enumerate() {
                let object = &candidates[ci].object;
                let symbols = &object.symbols;
                for &si in &d.by_shard[d.bounds[k] as usize..d.bounds[k + 1] as usize] {
                    let sym = &symbols[si as usize];
                    let next = first.len() as SymbolId;
                    let (local, new) =
                        shard.find_or_insert(sym.name, object.name_hashes[si as usize], || next);
                    if new {
                        first.push((ci as u32, si));
                        lazy.push(NOT_LAZY);
                        lazy_common.push(NOT_LAZY);
                    }
                    let slot = match sym.place {
                        SymPlace::Common => &mut lazy_common[local as usize],
                        _ => &mut lazy[local as usize],
                    };
                    if *slot == NOT_LAZY {
                        *slot = ci as u32;
                    }
                }
            }
            (shard, first, lazy, lazy_common)
        })
        .collect();
    // Number the names by first meeting: (candidate, symbol) order.
    let mut order: Vec<(u32, u32, u32, u32)> = shards
        .iter()
        .enumerate()
        .flat_map(|(k, (_, first, ..))| {
            first
                .iter()
                .enumerate()
                .map(move |(local, &(c, s))| (c, s, k as u32, local as u32))
        })
        .collect();
    order.par_sort_unstable();
    // The names' numbers are their places in `order`: each shard's, in its own order (a
    // shard's names are in first-meeting order too), are found by pieces of `order` in
    // parallel, each piece writing the run of each shard's numbers that falls in it.
    let piece_len = order.len().div_ceil(SHARDS).max(1);
    let counts: Vec<[u32; SHARDS]> = order
        .par_chunks(piece_len)
        .map(|piece| {
            let mut count = [0u32; SHARDS];
            for &(_, _, k, _) in piece {
                count[k as usize] += 1;
            }
            count
        })
        .collect();
    let mut number: Vec<Vec<SymbolId>> = shards
        .iter()
        .map(|(_, first, ..)| vec![0; first.len()])
        .collect();
    let mut runs: Vec<Vec<&mut [SymbolId]>> =
        counts.iter().map(|_| Vec::with_capacity(SHARDS)).collect();
    for (k, shard_numbers) in number.iter_mut().enumerate() {
        let mut rest = shard_numbers.as_mut_slice();
        for (count, piece_runs) in counts.iter().zip(&mut runs) {
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(count[k] as usize);
            piece_runs.push(run);
            rest = tail;
        }
    }
    order
        .par_chunks(piece_len)
        .zip(runs)
        .enumerate()
        .for_each(|(p, (piece, mut piece_runs))| {
            let mut at = [0usize; SHARDS];
            for (i, &(_, _, k, _)) in piece.iter().enumerate() {
                let k = k as usize;
                piece_runs[k][at[k]] = (p * piece_len + i) as SymbolId;
                at[k] += 1;
            }
        });
    debug_assert!(
        number.iter().enumerate().all(|(k, numbers)| {
            numbers.iter().enumerate().all(|(local, &id)| {
                let (.., shard, at) = order[id as usize];
                (shard as usize, at as usize) == (k, local)
            })
        }),
        "a name numbered out of its place (linker bug)"
    );
    let globals: Vec<Global<'a>> = order
        .par_iter()
        .map(|&(c, s, ..)| Global::named(candidates[c as usize].object.symbols[s as usize].name))
        .collect();
    let (lazy, lazy_common): (Vec<u32>, Vec<u32>) = order
        .par_iter()
        .map(|&(.., k, local)| {
            let (_, _, lazy, common) = &shards[k as usize];
            (lazy[local as usize], common[local as usize])
        })
        .unzip();
    let tables: Vec<Shard<'a>> = shards
        .into_par_iter()
        .per_item()
        .zip(number)
        .map(|((mut shard, ..), number)| {
            for id in shard.ids_mut() {
                *id = number[*id as usize];
            }
            shard
        })
        .collect();
    Registered {
        names: Names::from_shards(tables),
        globals,
        lazy,
        lazy_common,
    }
}

/// The names shared libraries leave out on purpose, and why.
fn unavailable_names<'a>(shared: &[SharedInput<'a>]) -> HashMap<&'a [u8], String> {
    let mut out = HashMap::default();
    for s in shared {
        for (name, why) in &s.library.unavailable {
            out.entry(*name).or_insert_with(|| why.clone());
        }
    }
    out
}

/// Adds one object's definitions and references; references to lazily defined names pull the
/// defining member. Sections of a COMDAT group already kept are dropped here, in join order,
/// and the symbols they define become references to the kept copy.
/// A second copy of a COMDAT group: whether it replaces the kept one, by the kept one's
/// selection rule (COFF spells it out; ELF's groups are always "any"). The rules that forbid
/// a difference make it an error naming both objects.
fn comdat_replaces(
    kept_object: &ObjectView<'_>,
    kept: &crate::object::Group<'_>,
    object: &ObjectView<'_>,
    group: &crate::object::Group<'_>,
) -> Result<bool> {
    use crate::object::ComdatSelection as S;
    fn leader<'o>(o: &'o ObjectView<'_>, g: &crate::object::Group<'_>) -> (u64, &'o [u8]) {
        g.members
            .first()
            .and_then(|&m| o.sections.get(m as usize))
            .map(|s| (s.size, s.data))
            .unwrap_or((0, &[][..]))
    }
    let (old_size, old_data) = leader(kept_object, kept);
    let (new_size, new_data) = leader(object, group);
    let conflict = |why: &str| -> Result<bool> {
        bail!(
            "duplicate COMDAT {}: {why}\n>>> defined in {}\n>>> defined in {}",
            demangle(&String::from_utf8_lossy(group.signature)),
            kept_object.place,
            object.place
        )
    };
    match (kept.selection, group.selection) {
        (S::NoDuplicates, _) | (_, S::NoDuplicates) => conflict("its selection allows one copy"),
        (S::SameSize, _) if old_size != new_size => conflict("the copies' sizes differ"),
        (S::ExactMatch, _) if old_size != new_size || old_data != new_data => {
            conflict("the copies' contents differ")
        }
        (S::Largest, _) => Ok(new_size > old_size),
        _ => Ok(false),
    }
}

fn add_object(r: &mut Resolver<'_, '_>, index: u32) -> Result<()> {
    let candidates = r.candidates;
    let object = &candidates[index as usize].object;
    for option in &object.linker_options {
        if let LinkerOption::Include(name) = option {
            r.reference(name);
        }
    }
    for (gi, group) in object.groups.iter().enumerate() {
        let Some(&(kept_obj, kept_gi)) = r.groups_seen.get(group.signature) else {
            r.groups_seen.insert(group.signature, (index, gi as u32));
            continue;
        };
        let kept_object = &candidates[kept_obj as usize].object;
        let kept = &kept_object.groups[kept_gi as usize];
        if comdat_replaces(kept_object, kept, object, group)? {
            // The new copy wins (`largest`): the kept one's sections go, and its names are
            // bound again by this object's definitions below.
            for &m in &kept.members {
                r.discarded[kept_obj as usize][m as usize] = true;
            }
            for (k, sym) in kept_object.symbols.iter().enumerate() {
                let SymPlace::Section(sec) = sym.place else {
                    continue;
                };
                if sym.is_local() || !kept.members.contains(&sec) {
                    continue;
                }
                if let Some(&id) = r.names.get(sym.name) {
                    let g = &mut r.globals[id as usize];
                    if matches!(g.def, Def::Object { obj, sym, .. } if obj == kept_obj && sym == k as u32)
                    {
                        g.def = Def::Undefined;
                    }
                }
            }
            r.groups_seen.insert(group.signature, (index, gi as u32));
        } else {
            for &m in &group.members {
                r.discarded[index as usize][m as usize] = true;
            }
        }
    }
    let mut ids = vec![LOCAL; object.symbols.len()];
    for (sym_index, sym) in object.symbols.iter().enumerate().skip(1) {
        if sym.is_local() {
            if sym.kind == crate::object::SymbolKind::IFunc
                && matches!(sym.place, SymPlace::Section(_))
            {
                r.local_ifuncs.push((index, sym_index as u32));
            }
            continue;
        }
        // A definition of `foo@@V` (`.symver foo_impl, foo@@V`) is also the definition of
        // plain `foo`, which references name: the default version.
        let default_base = (r.candidates[index as usize].object.defines_versioned
            && sym.place != SymPlace::Undefined)
            .then(|| default_version_base(sym.name))
            .flatten();
        let name = wrapped(&r.wrap, sym);
        let id = match r.known[index as usize].get(sym_index) {
            Some(&id) if id != LOCAL => id,
            _ => r.id(name),
        };
        ids[sym_index] = bind_symbol(r, candidates, index, sym_index, sym, id)?;
        if let Some(base) = default_base {
            // The alias yields to a definition of its own (`foo` beside `foo@@V`).
            let id = r.id(base);
            if !matches!(r.globals[id as usize].def, Def::Object { .. }) {
                bind_symbol(r, candidates, index, sym_index, sym, id)?;
            }
        }
    }
    r.symbol_ids[index as usize] = ids;
    // Bound once: its numbers are not needed again.
    r.known[index as usize] = Vec::new();
    Ok(())
}

/// The name an object's global symbol binds: its own, unless `--wrap` redirects an undefined
/// reference.
fn wrapped<'a>(wrap: &HashMap<&'a [u8], &'a [u8]>, sym: &crate::object::Symbol<'a>) -> &'a [u8] {
    if sym.place == SymPlace::Undefined && !wrap.is_empty() {
        if let Some(&to) = wrap.get(sym.name) {
            return to;
        }
    }
    sym.name
}

/// `foo` of `foo@@V`.
fn default_version_base(name: &[u8]) -> Option<&[u8]> {
    // Most names have no `@` at all: a vectorised search rules them out.
    let first = memchr::memchr(b'@', name)?;
    let at = first + name[first..].windows(2).position(|w| w == b"@@")?;
    Some(&name[..at])
}

/// Binds global `id`, named by an object's symbol: a reference or a definition. Returns it.
fn bind_symbol<'a>(
    r: &mut Resolver<'a, '_>,
    candidates: &[Candidate<'a>],
    index: u32,
    sym_index: usize,
    sym: &crate::object::Symbol<'a>,
    id: SymbolId,
) -> Result<SymbolId> {
    let object = &candidates[index as usize].object;
    let in_discarded =
        matches!(sym.place, SymPlace::Section(s) if r.discarded[index as usize][s as usize]);
    let place = if in_discarded {
        SymPlace::Undefined
    } else {
        sym.place
    };
    match place {
        SymPlace::Undefined => {
            let g = &mut r.globals[id as usize];
            g.referenced = true;
            g.hidden_ref |= matches!(
                sym.visibility,
                crate::object::Visibility::Hidden | crate::object::Visibility::Internal
            );
            if !sym.is_weak() || in_discarded {
                g.strong_ref = true;
                if matches!(g.def, Def::Undefined) {
                    if let Some(candidate) = r.lazy_definition(id) {
                        r.pull(candidate);
                    }
                }
            }
        }
        SymPlace::Common => {
            let g = &mut r.globals[id as usize];
            // As in GNU ld, an archive member that really defines a name common so far joins
            // the link (its initialised definition then replaces the common one).
            if matches!(g.def, Def::Undefined | Def::Common { .. })
                && r.lazy[id as usize] != NOT_LAZY
            {
                let candidate = r.lazy[id as usize];
                r.pull(candidate);
            }
            let g = &mut r.globals[id as usize];
            match g.def {
                Def::Object { weak: false, .. } => {}
                Def::Common { obj, sym: other } => {
                    let other_size = candidates[obj as usize].object.symbols[other as usize].size;
                    if sym.size > other_size {
                        g.def = Def::Common {
                            obj: index,
                            sym: sym_index as u32,
                        };
                    }
                }
                _ => {
                    g.def = Def::Common {
                        obj: index,
                        sym: sym_index as u32,
                    }
                }
            }
        }
        SymPlace::Absolute | SymPlace::Section(_) => {
            let weak = sym.is_weak();
            let g = &mut r.globals[id as usize];
            match g.def {
                Def::Object { weak: false, .. } if !weak && r.allow_multiple_definition => {}
                Def::Object {
                    weak: false,
                    obj,
                    sym: first,
                } if !weak => {
                    let first_object = &candidates[obj as usize].object;
                    bail!(
                        "duplicate symbol: {}\n>>> {}\n>>> {}",
                        demangle(&String::from_utf8_lossy(sym.name)),
                        definition_place(first_object, &first_object.symbols[first as usize]),
                        definition_place(object, sym)
                    );
                }
                Def::Object { weak: false, .. } | Def::Object { weak: true, .. } if weak => {}
                _ => {
                    g.def = Def::Object {
                        obj: index,
                        sym: sym_index as u32,
                        weak,
                    }
                }
            }
        }
    }
    Ok(id)
}

/// Where a definition is, for a duplicate-symbol report: `defined in OBJECT`, or as lld says
/// it when the object has line information, `defined at FILE:LINE` with the object under it.
fn definition_place(o: &ObjectView<'_>, s: &crate::object::Symbol<'_>) -> String {
    let line = match s.place {
        SymPlace::Section(sec) => crate::debug_line::source_line(o, sec, s.value),
        _ => None,
    };
    match line {
        Some(line) => format!("defined at {line}\n>>>            {}", o.place),
        None => format!("defined in {}", o.place),
    }
}

fn bind_shared_libraries<'a>(
    r: &mut Resolver<'a, '_>,
    shared: &[SharedInput<'a>],
    imports: &mut Vec<Import>,
    libraries: &mut Vec<Library>,
) {
    // Libraries are numbered in command-line order, as GNU ld orders DT_NEEDED and ld64 the
    // LC_LOAD_DYLIBs (the loader searches them in that order), not in the order names bind.
    for lib in shared {
        let i = library_index(libraries, &lib.library.soname);
        libraries[i as usize].weak |= lib.weak;
        libraries[i as usize].forced |= !lib.as_needed;
    }
    for g in r.globals.iter_mut() {
        if g.def != Def::Undefined || !g.referenced || g.hidden_ref {
            continue;
        }
        // A reference named `foo@VER` (`.symver` on an undefined name) asks for that version
        // of `foo`, default or not.
        let versioned = g.name.iter().position(|&b| b == b'@').map(|at| {
            let version = &g.name[at + 1..];
            (&g.name[..at], version.strip_prefix(b"@").unwrap_or(version))
        });
        for lib in shared {
            let found = match versioned {
                Some((base, version)) => lib.library.lookup_version(base, version),
                None => lib.library.lookup(g.name),
            };
            if let Some(export) = found {
                let library = library_index(libraries, &lib.library.soname);
                imports.push(Import {
                    remote: export.name.to_vec(),
                    version: export.version.map(|v| v.to_vec()),
                    library,
                    kind: export.kind,
                    size: export.size,
                    value: export.value,
                });
                g.def = Def::Dynamic {
                    import: imports.len() as u32 - 1,
                };
                g.library_position = lib.position;
                break;
            }
        }
    }
}

fn library_index(libraries: &mut Vec<Library>, soname: &str) -> u32 {
    match libraries.iter().position(|l| l.soname == soname) {
        Some(i) => i as u32,
        None => {
            libraries.push(Library {
                soname: soname.to_string(),
                forced: false,
                weak: false,
            });
            libraries.len() as u32 - 1
        }
    }
}

/// `cgo_import_dynamic` binds names no object defines, even with no library on the machine;
/// an explicit directive wins over what a shared library offered.
fn apply_directives(
    r: &mut Resolver<'_, '_>,
    directives: &[SourcedDirective],
    imports: &mut Vec<Import>,
    libraries: &mut Vec<Library>,
    external: bool,
) -> Result<()> {
    for d in directives {
        match &d.directive.kind {
            DirectiveKind::NeededLibrary { library } => {
                let i = library_index(libraries, library);
                libraries[i as usize].forced = true;
            }
            // The definition comes from a host object the host linker reads.
            DirectiveKind::ImportStatic { local } if external => {
                if let Some(&id) = r.names.get(local.as_bytes()) {
                    let g = &mut r.globals[id as usize];
                    if g.def == Def::Undefined {
                        g.def = Def::Host;
                    }
                }
            }
            DirectiveKind::ImportDynamic {
                local,
                remote,
                version,
                library,
            } => {
                let Some(&id) = r.names.get(local.as_bytes()) else {
                    continue;
                };
                let g = &mut r.globals[id as usize];
                if matches!(g.def, Def::Object { .. } | Def::Common { .. }) {
                    continue;
                }
                let Some(library) = library.as_deref().filter(|l| !l.is_empty()) else {
                    bail!("{}: cgo_import_dynamic {local}: no library named; rlink needs one to import {remote}", d.place);
                };
                let library = library_index(libraries, library);
                let (kind, size, value) = match g.def {
                    Def::Dynamic { import } => {
                        let i = &imports[import as usize];
                        (i.kind, i.size, i.value)
                    }
                    _ => (ExportKind::Other, 0, 0),
                };
                imports.push(Import {
                    remote: remote.as_bytes().to_vec(),
                    version: version.as_ref().map(|v| v.as_bytes().to_vec()),
                    library,
                    kind,
                    size,
                    value,
                });
                g.def = Def::Dynamic {
                    import: imports.len() as u32 - 1,
                };
            }
            _ => {}
        }
    }
    Ok(())
}

fn mark_synthetic(r: &mut Resolver<'_, '_>, synthetic: &dyn Fn(&[u8]) -> bool) {
    for g in r.globals.iter_mut() {
        if g.def == Def::Undefined && g.referenced && synthetic(g.name) {
            g.def = Def::Synthetic;
        }
    }
}

/// `--defsym NAME=OTHER`: NAME is defined as OTHER is, which must be defined.
pub fn define_aliases<'a>(
    res: &mut Resolution<'a>,
    aliases: &[(&'a [u8], &'a [u8])],
) -> Result<()> {
    for &(name, target) in aliases {
        let def = match res.global(target) {
            Some(g) if !matches!(g.def, Def::Undefined) => g.def,
            _ => bail!(
                "--defsym {}={}: undefined symbol: {}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(target),
                demangle(&String::from_utf8_lossy(target))
            ),
        };
        match res.names.get(name) {
            Some(&id) => res.globals[id as usize].def = def,
            None => {
                res.names.insert(name, res.globals.len() as SymbolId);
                res.globals.push(Global {
                    def,
                    ..Global::named(name)
                });
            }
        }
    }
    Ok(())
}

/// Every undefined name a live section references strongly (through a relocation, from an
/// object whose symbol is not weak), demangled, with the objects that reference it.
pub fn report_undefined_references(res: &Resolution<'_>, live: &[Vec<bool>]) -> Result<()> {
    if !res
        .globals
        .iter()
        .any(|g| g.strong_ref && g.def == Def::Undefined)
    {
        return Ok(());
    }
    // Per object: each undefined name it references, with the function of its first
    // reference and, from the object's line table, its source line.
    type Use = (SymbolId, Option<String>, Option<String>);
    let per_object: Vec<Vec<Use>> = res
        .objects
        .par_iter()
        .per_item()
        .enumerate()
        .map(|(oi, o)| {
            let mut found: Vec<Use> = Vec::new();
            for (si, relocs) in o.relocations.iter().enumerate() {
                if !live[oi].get(si).copied().unwrap_or(false) || res.discarded[oi][si] {
                    continue;
                }
                for r in relocs.iter() {
                    let Some(&id) = res.symbol_ids[oi].get(r.symbol as usize) else {
                        continue;
                    };
                    if id == LOCAL
                        || res.globals[id as usize].def != Def::Undefined
                        || o.symbols[r.symbol as usize].is_weak()
                    {
                        continue;
                    }
                    if !found.iter().any(|(f, _, _)| *f == id) {
                        found.push((
                            id,
                            enclosing_function(o, si as u32, r.offset),
                            crate::debug_line::source_line(o, si as u32, r.offset),
                        ));
                    }
                }
            }
            found
        })
        .collect();
    let mut users: std::collections::BTreeMap<SymbolId, Vec<String>> = Default::default();
    for (oi, ids) in per_object.iter().enumerate() {
        for (id, function, line) in ids {
            let place = &res.objects[oi].place;
            let object = match function {
                Some(f) => format!("{place}:({f})"),
                None => place.clone(),
            };
            // As lld words it: the source line, then the object and function under it.
            users.entry(*id).or_default().push(match line {
                Some(line) => format!("{line}\n>>>               {object}"),
                None => object,
            });
        }
    }
    if users.is_empty() {
        return Ok(());
    }
    let users: Vec<(SymbolId, Vec<String>)> = users.into_iter().collect();
    Err(undefined_symbols_error(
        users.len(),
        users.iter().map(|(id, places)| {
            (
                res.globals[*id as usize].name,
                places.iter().map(String::as_str).collect(),
            )
        }),
        &|name| res.unavailable.get(name).cloned(),
    ))
}

/// The function a place of section `sec` lies in, demangled, as lld names it after the object
/// (`>>> referenced by main.o:(app::main)`): the symbol covering the offset, or with no sizes
/// (COFF, Mach-O), the nearest function symbol before it.
fn enclosing_function(o: &ObjectView<'_>, sec: u32, offset: u64) -> Option<String> {
    let mut best: Option<&crate::object::Symbol<'_>> = None;
    for s in &o.symbols {
        if s.place != SymPlace::Section(sec)
            || s.kind != crate::object::SymbolKind::Func
            || s.name.is_empty()
            || s.value > offset
        {
            continue;
        }
        if s.size > 0 && offset >= s.value + s.size {
            continue;
        }
        if best.is_none_or(|b| s.value > b.value) {
            best = Some(s);
        }
    }
    best.map(|s| demangle(&String::from_utf8_lossy(s.name)).to_string())
}

/// The one message every undefined-symbol report gives: up to 50 names, demangled, each with
/// up to five of the objects that reference it.
fn undefined_symbols_error<'n>(
    total: usize,
    missing: impl Iterator<Item = (&'n [u8], Vec<&'n str>)>,
    explain: &dyn Fn(&[u8]) -> Option<String>,
) -> crate::diag::Error {
    let mut msg = String::new();
    for (n, (name, users)) in missing.take(50).enumerate() {
        if n > 0 {
            msg.push('\n');
        }
        let shown: Vec<&str> = users.into_iter().take(5).collect();
        msg.push_str(&format!(
            "undefined symbol: {}\n>>> referenced by {}",
            demangle(&String::from_utf8_lossy(name)),
            shown.join("\n>>> referenced by ")
        ));
        if let Some(why) = explain(name) {
            msg.push_str(&format!("\n>>> {why}"));
        }
    }
    if total > 50 {
        msg.push_str(&format!("\n... and {} more undefined symbols", total - 50));
    }
    crate::diag::Error::new(msg)
}

/// Every undefined non-weak name, demangled, with the objects that reference it.
fn report_undefined(r: &Resolver<'_, '_>) -> Result<()> {
    let missing: Vec<&Global<'_>> = r
        .globals
        .iter()
        .filter(|g| g.strong_ref && g.def == Def::Undefined)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // Referencing objects are looked up only for the names the message shows.
    let users = |g: &Global<'_>| -> Vec<&str> {
        r.order
            .iter()
            .map(|&i| &r.candidates[i as usize].object)
            .filter(|o| {
                o.symbols.iter().any(|s| {
                    s.name == g.name && !s.is_local() && matches!(s.place, SymPlace::Undefined)
                })
            })
            .map(|o| o.place.as_str())
            .take(5)
            .collect()
    };
    Err(undefined_symbols_error(
        missing.len(),
        missing.iter().map(|g| (g.name, users(g))),
        &|name| r.unavailable.get(name).cloned(),
    ))
}
