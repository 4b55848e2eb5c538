//! The internal link, one story for every format and CPU:
//!
//! 1. **load** — linker scripts expanded, every object, archive member and shared library read
//!    in place by the format's loader into the linker's own view ([`crate::object`]);
//! 2. **resolve** — archives searched as a group, every global name bound ([`crate::resolve`]);
//! 3. **gc** — sections nothing reaches dropped ([`crate::gc`]);
//! 4. **place** — the format puts input sections into output sections, strings merged;
//! 5. **scan** — what every relocation needs: GOT, PLT, copies, dynamic relocations
//!    ([`crate::scan`], decided by the CPU's [`Arch`]);
//! 6. **lay out** — the format assigns addresses and builds its dynamic-linking tables;
//! 7. **write** — the format writes its file, with the shared relocation pass
//!    ([`crate::relocate`]) copying and relocating every input section.
//!
//! A format is a [`Backend`]; its CPU an [`Arch`]. `-v` prints each phase's time.

use std::path::Path;
use std::time::{Duration, Instant};

use rlink_directives::DirectiveKind;
use rustc_hash::FxHashSet;

use crate::args::BuildMode;
use crate::bail;
use crate::diag::{Error, Result};
use crate::format::{Combined, HostInput};
use crate::gc::{self, Live};
use crate::input::{archive_members, FileKind};
use crate::library::SharedLibrary;
use crate::load::{self, is_rlib, Loaded};
use crate::object::{LinkerOption, ObjectView, SymPlace};
use crate::plan::{is_directives_text, LinkPlan};
use crate::reloc::Arch;
use crate::relocate::OutputLayout;
use crate::resolve::{self, Candidate, Resolution};
use crate::scan::{self, Needs};
use crate::version_script::VersionScript;

/// An object format's side of the link.
pub trait Backend: Sync {
    /// The CPU this backend links for (one backend value per (format, CPU)).
    type Arch: Arch;
    /// The format's layout: where every input section goes, then every address.
    type Layout<'r, 'a>: OutputLayout
    where
        'a: 'r;

    /// `ELF`, `Mach-O`, `PE/COFF`, for messages.
    fn name(&self) -> &'static str;
    /// The kind of file this format's objects and libraries are.
    fn object_kind(&self) -> FileKind;
    /// Reads a relocatable object in place, validating every index and offset.
    fn load_object<'a>(&self, place: String, data: &'a [u8]) -> Result<ObjectView<'a>>;
    fn is_shared_library(&self, data: &[u8]) -> bool;
    /// Reads what a shared library exports (errors carry no file name; the caller adds it).
    fn load_shared_library<'a>(&self, data: &'a [u8], file_name: &str)
        -> Result<SharedLibrary<'a>>;
    /// The object that provides the entry when no input does (rlink's runtime stub), named
    /// as diagnostics print it.
    fn entry_stub(&self) -> Option<(String, Vec<u8>)>;
    /// Names the format's linker defines itself (`__ehdr_start`, `__start_SEC`, …).
    fn is_synthetic(&self, name: &[u8]) -> bool;
    /// Puts every live input section into an output section.
    fn place<'r, 'a>(
        &self,
        res: &'r Resolution<'a>,
        live: &Live,
        options: OutputOptions,
    ) -> Result<Self::Layout<'r, 'a>>;
    /// With the relocations' needs known: the linker-made tables and every address.
    fn lay_out(&self, layout: &mut Self::Layout<'_, '_>, needs: Needs) -> Result<()>;
    /// Writes the output file.
    fn write(&self, layout: &Self::Layout<'_, '_>, path: &Path) -> Result<()>;
    /// Output sections of a finished layout, for `-v`.
    fn section_count(&self, layout: &Self::Layout<'_, '_>) -> usize;
    /// Whether a shared library's exported definitions may be interposed (ELF: yes; Mach-O's
    /// two-level namespace: no).
    fn interposable(&self) -> bool {
        true
    }
    /// Whether a shared library exports every global definition (ELF, Mach-O) or only the
    /// names it is told to (a Windows DLL), which decides what garbage collection keeps.
    fn shared_exports_all(&self) -> bool {
        true
    }
    /// External linking: whether the host linker has its own copies of the libraries rlink
    /// carries (mingw's import libraries for the Windows DLLs), so their `-l` names are passed.
    fn host_has_bundled_libraries(&self) -> bool {
        false
    }
    /// Objects of the runtime stubs offered like archive members after every input: linked
    /// only for the names they define that the program references (windows-gnu's unwinder).
    fn runtime_objects(&self, plan: &LinkPlan) -> Vec<(String, &'static [u8])> {
        let _ = plan;
        Vec::new()
    }
    /// Whether a shared library gets the runtime stubs' entry too (a DLL's
    /// `_DllMainCRTStartup`, which runs its C initializers).
    fn shared_library_entry(&self) -> bool {
        false
    }
    /// How each member of an archive is read: most are objects; an import library's members
    /// (COFF's) are imports of a DLL, read as that DLL's exports, or pieces of import tables
    /// the format builds itself, left out. `place` names the archive in errors.
    fn archive_members<'a>(
        &self,
        place: &str,
        members: &[crate::input::Member<'a>],
    ) -> Result<Vec<ArchiveMember<'a>>> {
        let _ = place;
        Ok(vec![ArchiveMember::Object; members.len()])
    }
    /// Names the code of an executable never calls once rlink relaxes what calls them
    /// (x86-64's `__tls_get_addr`: general- and local-dynamic TLS become initial- or
    /// local-exec): left undefined, they are no error.
    fn relaxed_away_in_executables(&self, name: &[u8]) -> bool {
        let _ = name;
        false
    }
    /// An object defining each name as an absolute symbol of the value (`--defsym
    /// NAME=NUMBER`).
    fn absolute_symbols_object(&self, symbols: &[(&str, u64)]) -> Result<Vec<u8>> {
        let _ = symbols;
        bail!("--defsym NAME=NUMBER is implemented for ELF outputs only")
    }
    /// External linking: the Rust objects merged into one relocatable object.
    fn combine_objects(
        &self,
        res: &Resolution<'_>,
        exported: &FxHashSet<Vec<u8>>,
        aliases: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<u8>>;
}

/// What an archive member is to the link.
#[derive(Debug, Clone, Copy)]
pub enum ArchiveMember<'a> {
    Object,
    Import(ImportMember<'a>),
    /// A piece of an import table the format builds itself.
    Skip,
}

/// One import an import library lists: the name the program references and the DLL exporting
/// it.
#[derive(Debug, Clone, Copy)]
pub struct ImportMember<'a> {
    pub name: &'a [u8],
    pub dll: &'a [u8],
    /// Data (`IMPORT_OBJECT_DATA`): only reachable through `__imp_NAME`.
    pub data: bool,
}

/// What the command line says about the output's shape, for the format's layout.
#[derive(Debug, Clone)]
pub struct OutputOptions {
    pub build_mode: BuildMode,
    /// The program interpreter (`-I`, `cgo_dynamic_linker`, else the target's).
    pub interpreter: String,
    /// `-w`: no debug sections.
    pub strip_debug: bool,
    /// `-s`: no symbol table either.
    pub strip_symbols: bool,
    pub runpath: Option<String>,
    pub soname: Option<String>,
    /// Export every global definition (`--export-dynamic`).
    pub export_all: bool,
    /// `cgo_export_dynamic` names: (local, remote).
    pub named_exports: Vec<(Vec<u8>, Vec<u8>)>,
    /// Which names a shared library exports (`--version-script`).
    pub version_script: Option<VersionScript>,
    /// A fully static executable: no interpreter and no dynamic-linking tables.
    pub static_exe: bool,
    /// The entry symbol.
    pub entry: Vec<u8>,
    /// macOS: the oldest version the output runs on and the SDK version, when given.
    pub macos_version_min: Option<(u32, u32, u32)>,
    pub macos_sdk_version: Option<(u32, u32, u32)>,
    /// `-exported_symbols_list`: the only names a shared library exports.
    pub exported_symbols: Option<Vec<Vec<u8>>>,
    /// The output's path as the command line gave it (a dylib's default install name).
    pub output_name: String,
    /// A DLL's exports: the command line's, then the objects'.
    pub exports: Vec<crate::exports::ExportSpec>,
    /// The main thread's stack reserve and commit.
    pub stack: Option<(u64, Option<u64>)>,
    /// A Windows GUI program.
    pub windows_gui: bool,
    /// `/MERGE:from=to` of the command line (objects' own are in their linker options).
    pub section_merges: Vec<(Vec<u8>, Vec<u8>)>,
    /// GNU ld's options for ELF outputs.
    pub elf: crate::plan::ElfOptions,
}

/// `-v` timings, phase by phase: the wall time of each, and how many cores it kept busy
/// (the process's CPU time over the wall time).
struct Phases {
    start: Instant,
    last: Instant,
    last_cpu: Duration,
    done: Vec<(&'static str, Duration, Option<Duration>)>,
}

/// The CPU time this process has used so far (user and system, every thread).
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return Duration::ZERO;
    }
    // SAFETY: initialised by the successful call.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

impl Phases {
    /// Phases timed from now; the time since the command started (reading the command line,
    /// finding and mapping the inputs, reading their directives) is the first, "plan".
    fn new() -> Self {
        let now = Instant::now();
        let cpu = cpu_time();
        let mut done = Vec::new();
        if let Some(start) = crate::cli::started() {
            done.push(("plan", now.saturating_duration_since(start), Some(cpu)));
        }
        Phases {
            start: now,
            last: now,
            last_cpu: cpu,
            done,
        }
    }

    fn mark(&mut self, phase: &'static str) {
        let now = Instant::now();
        let cpu = cpu_time();
        self.done.push((
            phase,
            now - self.last,
            Some(cpu.saturating_sub(self.last_cpu)),
        ));
        tracing::debug!(elapsed = ?(now - self.start), "{phase} done");
        self.last = now;
        self.last_cpu = cpu;
    }

    fn summary(&self) -> String {
        self.done
            .iter()
            .map(|(p, d, cpu)| {
                let cores = cpu
                    .filter(|_| !d.is_zero())
                    .map(|c| format!(" ({:.1} cores)", c.as_secs_f64() / d.as_secs_f64()))
                    .unwrap_or_default();
                format!("{p} {:.1}ms{cores}", d.as_secs_f64() * 1000.0)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Links the plan's inputs into an executable or shared library, internally.
pub fn link<B: Backend>(backend: &B, plan: &LinkPlan) -> Result<()> {
    let mut phases = Phases::new();
    let (extra, script_extras) = load::script_inputs_and_extras(plan)?;
    let stub = backend.entry_stub();
    let Loaded {
        mut candidates,
        shared,
    } = load::load(backend, plan, &extra)?;
    let mut options = output_options(plan, &script_extras.versions)?;
    let shared_output = options.build_mode == BuildMode::CShared;
    // No startup object defines the entry: link the bundled entry stub, as Go's linker does
    // (a custom `-e` entry must be defined by the inputs).
    if plan.args.entry.is_none()
        && (plan.args.runtime_stubs || plan.target.format != crate::target::ObjectFormat::Elf)
        && (!shared_output || backend.shared_library_entry())
        && !defines_entry(&candidates, &options.entry)
    {
        if let Some((name, bytes)) = &stub {
            let object = backend.load_object(name.clone(), bytes)?;
            candidates.insert(
                0,
                Candidate {
                    object,
                    position: 0,
                    loose: true,
                    host: false,
                    mapped: None,
                },
            );
        }
    }
    let runtime = backend.runtime_objects(plan);
    offer_lazily(backend, &mut candidates, &runtime, false)?;
    // `--defsym NAME=NUMBER` names are defined by an object of absolute symbols; `NAME=OTHER`
    // makes NAME an alias of OTHER once OTHER is resolved.
    let (absolute, aliases) = defsyms(plan, &script_extras.assignments)?;
    let absolute_object = match absolute.is_empty() {
        true => None,
        false => Some(backend.absolute_symbols_object(&absolute)?),
    };
    if let Some(bytes) = &absolute_object {
        candidates.push(Candidate {
            object: backend.load_object("--defsym".to_string(), bytes)?,
            position: 0,
            loose: true,
            host: false,
            mapped: None,
        });
    }
    phases.mark("load");

    let mut required = required_names(plan);
    required.extend(undefined_globs(plan, &candidates));
    let resolve_options = resolve::ResolveOptions {
        external: false,
        shared_output,
        allow_undefined: allow_undefined(backend, plan, shared_output)?,
        weak_undefined_dynamic: shared_output && backend.interposable(),
        synthetic: &|name| {
            backend.is_synthetic(name)
                || (!shared_output && backend.relaxed_away_in_executables(name))
        },
        required,
        alternate_names: plan
            .args
            .alternate_names
            .iter()
            .map(|(f, t)| (f.as_bytes(), t.as_bytes()))
            .collect(),
        allow_multiple_definition: plan.args.elf.allow_multiple_definition,
        wrap: wrap_names(plan),
    };
    // Resolution is partly serial: meanwhile the other threads split the mergeable string
    // sections (debug information's names) into strings, the first half of merging them.
    // Finding them reads every candidate's section list (archive members not yet known to be
    // needed among them): in parallel, in candidate order.
    let mergeable: Vec<(&[u8], usize)> = {
        use crate::par::PerItem as _;
        use rayon::prelude::*;
        candidates
            .par_iter()
            .per_item()
            .flat_map_iter(|c| {
                c.object
                    .sections
                    .iter()
                    .filter(|s| {
                        s.has(crate::object::SectionFlags::MERGE_STRINGS) && !s.is_zero_fill()
                    })
                    .map(|s| (s.data, usize::from(s.merge_entsize)))
            })
            .collect()
    };
    let resolved = std::sync::atomic::AtomicBool::new(false);
    let (res, prepared) = rayon::join(
        || {
            let res = resolve::resolve(candidates, &shared, &plan.directives, &resolve_options);
            resolved.store(true, std::sync::atomic::Ordering::Relaxed);
            res
        },
        || crate::merge::Prepared::split_all(&mergeable, &resolved),
    );
    let mut res = res?;
    res.prepared_strings = prepared;
    std::mem::take(&mut res.leftovers).free();
    resolve::define_aliases(&mut res, &aliases)?;
    tracing::debug!(
        objects = res.objects.len(),
        sections = res.objects.iter().map(|o| o.sections.len()).sum::<usize>(),
        symbols = res.objects.iter().map(|o| o.symbols.len()).sum::<usize>(),
        relocations = res
            .objects
            .iter()
            .flat_map(|o| &o.relocations)
            .map(|r| r.len())
            .sum::<usize>(),
        "in the link"
    );
    res.version_script = options.version_script.clone();
    // GNU ld writes a program that names no shared library and no interpreter as a static
    // executable.
    if plan.args.gnu_line
        && plan.args.interpreter.is_none()
        && options.build_mode == BuildMode::Exe
        && res.libraries.is_empty()
        && plan.target.format == crate::target::ObjectFormat::Elf
    {
        options.static_exe = true;
    }
    if res.interposable && !shared_output {
        res.library_globals = library_globals(&res, &shared);
    }
    if plan.args.elf.no_allow_shlib_undefined {
        check_shared_library_references(&res, &shared)?;
    }
    res.symbolic = plan.args.elf.symbolic;
    res.symbolic_functions = plan.args.elf.symbolic_functions;
    res.symbolic_non_weak = plan.args.elf.symbolic_non_weak;
    res.symbolic_non_weak_functions = plan.args.elf.symbolic_non_weak_functions;
    res.preemptible = plan.args.elf.export_list.clone();
    trace(plan, &res, &shared);
    res.interposable = backend.interposable();
    res.settle();
    check_default_libraries(plan, &res)?;
    for name in &plan.args.require_defined {
        // A name left to the loader (a shared library's undefined one) is not defined.
        let defined = res.global(name.as_bytes()).is_some_and(|g| match g.def {
            resolve::Def::Undefined => false,
            resolve::Def::Dynamic { import } => {
                res.imports[import as usize].library != resolve::NO_LIBRARY
            }
            _ => true,
        });
        if !defined {
            let message = format!(
                "undefined symbol: {}\n>>> required by --require-defined",
                crate::diag::demangle(name)
            );
            // `--noinhibit-exec`: the output is written all the same.
            if plan.args.elf.noinhibit_exec {
                eprintln!("rlink: warning: {message}");
            } else {
                bail!("{message}");
            }
        }
    }
    // What the objects ask for: exports (`__declspec(dllexport)`, after the command line's)
    // and names to keep (`/INCLUDE`).
    let mut included: Vec<&[u8]> = Vec::new();
    for option in res.objects.iter().flat_map(|o| &o.linker_options) {
        match option {
            LinkerOption::Export(spec) if !options.exports.iter().any(|e| e.name == spec.name) => {
                options.exports.push(spec.clone())
            }
            LinkerOption::Include(name) => included.push(name),
            _ => {}
        }
    }
    phases.mark("resolve");

    let mut roots: Vec<&[u8]> = options
        .named_exports
        .iter()
        .map(|(local, _)| local.as_slice())
        .collect();
    roots.extend(
        options
            .exports
            .iter()
            .filter(|e| e.forwarder().is_none())
            .map(|e| e.internal.as_bytes()),
    );
    roots.extend(plan.args.include_symbols.iter().map(|s| s.as_bytes()));
    roots.extend(included);
    // What the shared libraries reference, the program exports: it must be there.
    roots.extend(
        res.library_globals
            .iter()
            .map(|&id| &res.globals[id as usize])
            .filter(|g| matches!(g.def, resolve::Def::Object { .. }))
            .map(|g| g.name),
    );
    // What DT_INIT and DT_FINI name runs without a reference.
    if plan.target.format == crate::target::ObjectFormat::Elf {
        roots.extend([plan.args.elf.init.as_bytes(), plan.args.elf.fini.as_bytes()]);
    }
    let live = gc::collect(
        &res,
        plan.args.gc_sections,
        &options.entry,
        (shared_output && backend.shared_exports_all()) || options.export_all,
        &roots,
        options.version_script.as_ref(),
    )?;
    match plan.args.elf.unresolved {
        crate::plan::Unresolved::Error => resolve::report_undefined_references(&res, &live)?,
        // `--warn-unresolved-symbols`: the same report, as a warning; the names are 0.
        crate::plan::Unresolved::Warn => {
            if let Err(e) = resolve::report_undefined_references(&res, &live) {
                eprintln!("rlink: warning: {}", e.message());
            }
        }
        crate::plan::Unresolved::Ignore => {}
    }
    phases.mark("gc");

    let mut layout = backend.place(&res, &live, options)?;
    phases.mark("place");
    let needs = scan::scan_relocations::<B::Arch>(&res, &layout)?;
    phases.mark("scan");
    backend.lay_out(&mut layout, needs)?;
    phases.mark("lay out");
    backend.write(&layout, &plan.args.output)?;
    phases.mark("write");
    if let Some(deps) = &plan.args.elf.dependency_file {
        write_dependency_file(deps, &plan.args.output, plan, &extra)?;
    }
    if plan.args.verbose > 0 {
        eprintln!(
            "rlink: {} objects, {} shared libraries, {} sections; {}",
            res.objects.len(),
            shared.len(),
            backend.section_count(&layout),
            phases.summary()
        );
    }
    // Done: a background clean-up process ends here (see `background`).
    crate::background::link_complete();
    Ok(())
}

/// `--wrap=SYM`: what each undefined name becomes (SYM → `__wrap_SYM`, `__real_SYM` → SYM).
fn wrap_names(plan: &LinkPlan) -> Vec<(&[u8], &[u8])> {
    plan.args
        .elf
        .wrap
        .iter()
        .flat_map(|(name, wrap, real)| {
            [
                (name.as_bytes(), wrap.as_bytes()),
                (real.as_bytes(), name.as_bytes()),
            ]
        })
        .collect()
}

/// `--dependency-file`: a Makefile rule making the output depend on every file the link read,
/// and an empty rule per file, so that make carries on when one of them goes away.
fn write_dependency_file(
    deps: &std::path::Path,
    output: &std::path::Path,
    plan: &LinkPlan,
    extra: &[load::ExtraFile],
) -> Result<()> {
    fn escape(p: &std::path::Path) -> String {
        let mut s = String::new();
        for c in p.display().to_string().chars() {
            match c {
                ' ' | '#' => {
                    s.push('\\');
                    s.push(c);
                }
                '$' => s.push_str("$$"),
                _ => s.push(c),
            }
        }
        s
    }
    let mut files: Vec<&std::path::Path> = Vec::new();
    for p in plan
        .inputs
        .iter()
        .map(|i| i.file.path.as_path())
        .chain(extra.iter().map(|e| e.path()))
    {
        if !files.contains(&p) {
            files.push(p);
        }
    }
    let mut text = format!("{}:", escape(output));
    for f in &files {
        text.push(' ');
        text.push_str(&escape(f));
    }
    text.push('\n');
    for f in &files {
        text.push_str(&format!("\n{}:\n", escape(f)));
    }
    std::fs::write(deps, text).map_err(|e| Error::new(format!("{}: {e}", deps.display())))
}

/// Offers runtime-stub objects to resolution like archive members after every input: each is
/// linked only for names the program references. `host` marks them as objects the host's own
/// runtime stands for (external linking: they satisfy resolution and are not emitted).
fn offer_lazily<'a, B: Backend>(
    backend: &B,
    candidates: &mut Vec<Candidate<'a>>,
    objects: &[(String, &'a [u8])],
    host: bool,
) -> Result<()> {
    for (name, bytes) in objects {
        candidates.push(Candidate {
            object: backend.load_object(name.clone(), bytes)?,
            position: usize::MAX,
            loose: false,
            host,
            mapped: None,
        });
    }
    Ok(())
}

/// The names the command line wants defined: a DLL's exports (forwarders excepted) and
/// `/INCLUDE`s.
fn required_names(plan: &LinkPlan) -> Vec<&[u8]> {
    let args = &plan.args;
    let alias_targets = args
        .defsyms
        .iter()
        .filter(|(_, value)| parse_number(value).is_none())
        .map(|(_, target)| target.as_bytes());
    args.exports
        .iter()
        .filter(|e| e.forwarder().is_none())
        .map(|e| e.internal.as_bytes())
        .chain(args.include_symbols.iter().map(|s| s.as_bytes()))
        .chain(alias_targets)
        .collect()
}

/// `--no-allow-shlib-undefined`: every name a shared library of the line references strongly
/// must be defined by the program or by one of the line's libraries. As in lld, a library is
/// checked only when every library it needs is on the line too: otherwise the name may come
/// from one the linker never saw.
fn check_shared_library_references(
    res: &Resolution<'_>,
    shared: &[resolve::SharedInput<'_>],
) -> Result<()> {
    for lib in shared {
        let all_needed_known = lib
            .library
            .needed
            .iter()
            .all(|n| shared.iter().any(|s| s.library.soname.as_bytes() == *n));
        if !all_needed_known {
            continue;
        }
        for r in &lib.library.references {
            let name = r.name;
            if r.weak {
                continue;
            }
            let defined_here = res.global(name).is_some_and(|g| {
                matches!(
                    g.def,
                    resolve::Def::Object { .. }
                        | resolve::Def::Common { .. }
                        | resolve::Def::Synthetic
                ) && !matches!(g.def, resolve::Def::Object { obj, sym, .. }
                    if matches!(res.objects[obj as usize].symbols[sym as usize].visibility,
                        crate::object::Visibility::Hidden | crate::object::Visibility::Internal))
            });
            let in_a_library = shared.iter().any(|s| match r.version {
                Some(v) => s.library.lookup_version(name, v).is_some(),
                None => s.library.lookup(name).is_some(),
            });
            if !defined_here && !in_a_library {
                bail!(
                    "{}: --no-allow-shlib-undefined: undefined symbol: {}",
                    lib.library.soname,
                    crate::diag::demangle(&String::from_utf8_lossy(name))
                );
            }
        }
    }
    Ok(())
}

/// `--undefined-glob`: the names archive members define that match, to be pulled as `-u`
/// names are.
fn undefined_globs<'a>(plan: &LinkPlan, candidates: &[Candidate<'a>]) -> Vec<&'a [u8]> {
    let globs = &plan.args.elf.undefined_globs;
    if globs.is_empty() {
        return Vec::new();
    }
    let mut names = Vec::new();
    for c in candidates.iter().filter(|c| !c.loose) {
        for s in &c.object.symbols {
            if s.is_local() || s.place == crate::object::SymPlace::Undefined {
                continue;
            }
            let name = String::from_utf8_lossy(s.name);
            if globs.iter().any(|g| crate::version_script::glob(g, &name)) {
                names.push(s.name);
            }
        }
    }
    names
}

/// The globals the shared libraries name (reference or export), sorted: a C library's
/// thousands of names are looked up in parallel, once, for every later use.
fn library_globals(
    res: &Resolution<'_>,
    shared: &[resolve::SharedInput<'_>],
) -> Vec<resolve::SymbolId> {
    use rayon::prelude::*;
    let names: Vec<&[u8]> = shared
        .iter()
        .flat_map(|s| {
            let lib = &s.library;
            lib.references
                .iter()
                .map(|r| r.name)
                .chain(lib.exports.iter().map(|e| e.name))
        })
        .collect();
    let mut ids: Vec<resolve::SymbolId> = names
        .par_iter()
        .with_min_len(256)
        .filter_map(|name| res.global_id(name))
        .collect();
    ids.par_sort_unstable();
    ids.dedup();
    ids
}

/// `-t` and `-y`: the inputs the link reads, and where traced names are referenced and
/// defined, on standard output as GNU ld prints them.
fn trace(plan: &LinkPlan, res: &Resolution<'_>, shared: &[resolve::SharedInput<'_>]) {
    let elf = &plan.args.elf;
    if elf.trace {
        for o in &res.objects {
            println!("{}", o.place);
        }
        for lib in shared {
            println!("{}", lib.library.soname);
        }
    }
    if elf.trace_symbols.is_empty() {
        return;
    }
    for o in &res.objects {
        for s in &o.symbols {
            let name = String::from_utf8_lossy(s.name);
            if s.is_local() || !elf.trace_symbols.iter().any(|t| *t == name) {
                continue;
            }
            let what = match s.place {
                crate::object::SymPlace::Undefined => "reference to",
                _ => "definition of",
            };
            println!("rlink: trace-symbol: {}: {what} {name}", o.place);
        }
    }
    for lib in shared {
        for name in &elf.trace_symbols {
            if lib.library.lookup(name.as_bytes()).is_some() {
                println!(
                    "rlink: trace-symbol: {}: definition of {name}",
                    lib.library.soname
                );
            }
        }
    }
}

/// A number as GNU ld reads one: decimal, `0x` hexadecimal or `0` octal.
pub fn parse_number(v: &str) -> Option<u64> {
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') {
        u64::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    }
}

/// `--defsym` definitions, split into absolute values and aliases of other names.
type Defsyms<'p> = (Vec<(&'p str, u64)>, Vec<(&'p [u8], &'p [u8])>);

fn defsyms<'p>(plan: &'p LinkPlan, script: &'p [(String, String)]) -> Result<Defsyms<'p>> {
    let mut absolute = Vec::new();
    let mut aliases = Vec::new();
    for (name, value) in plan.args.defsyms.iter().chain(script) {
        match parse_number(value) {
            Some(n) => absolute.push((name.as_str(), n)),
            None if !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.$@".contains(&b)) =>
            {
                aliases.push((name.as_bytes(), value.as_bytes()))
            }
            None => bail!(
                "--defsym {name}={value}: rlink reads a number or a symbol name, not an expression"
            ),
        }
    }
    Ok((absolute, aliases))
}

/// An object's `/DEFAULTLIB:` must name a library the link already has: rlink reads no
/// library the command line does not name (a Windows library is `NAME.lib` or `-lNAME`).
fn check_default_libraries(plan: &LinkPlan, res: &Resolution<'_>) -> Result<()> {
    for o in &res.objects {
        for option in &o.linker_options {
            let LinkerOption::DefaultLib(lib) = option else {
                continue;
            };
            let stem = lib
                .strip_suffix(".lib")
                .or_else(|| lib.strip_suffix(".LIB"))
                .unwrap_or(lib);
            let named = plan.args.inputs.iter().any(|i| match i {
                crate::plan::InputArg::Library(l) => l.eq_ignore_ascii_case(stem),
                crate::plan::InputArg::Path(p) => p
                    .file_stem()
                    .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(stem)),
                _ => false,
            });
            if !named {
                bail!(
                    "{}: .drectve asks for /DEFAULTLIB:{lib}, which the command line does not \
                     name (add {stem}.lib, or -l{stem})",
                    o.place
                );
            }
        }
    }
    Ok(())
}

/// Whether a loose object defines the entry symbol (a crt file's `_start`).
fn defines_entry(candidates: &[Candidate<'_>], entry: &[u8]) -> bool {
    candidates.iter().any(|c| {
        c.loose
            && c.object.symbols.iter().any(|s| {
                s.name == entry && !s.is_local() && !matches!(s.place, SymPlace::Undefined)
            })
    })
}

fn output_options(plan: &LinkPlan, script_versions: &[String]) -> Result<OutputOptions> {
    let args = &plan.args;
    let interpreter = args
        .interpreter
        .clone()
        .or_else(|| {
            plan.directives
                .iter()
                .find_map(|d| match &d.directive.kind {
                    DirectiveKind::DynamicLinker { path } => Some(path.clone()),
                    _ => None,
                })
        })
        .or_else(|| plan.target.default_interpreter().map(str::to_string))
        .unwrap_or_default();
    let version_script = match &args.version_script {
        Some(path) => {
            // A relative name not found from here is looked for on the library path, as
            // GNU ld looks for scripts.
            let found = match path.is_relative() && !path.exists() {
                true => args
                    .library_dirs
                    .iter()
                    .map(|d| d.join(path))
                    .find(|p| p.is_file())
                    .unwrap_or_else(|| path.clone()),
                false => path.clone(),
            };
            let text = std::fs::read_to_string(&found)
                .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
            let text = [text]
                .iter()
                .chain(script_versions)
                .cloned()
                .collect::<Vec<_>>();
            Some(VersionScript::parse(&text.join("\n")).map_err(|e| e.at(found.display()))?)
        }
        // Linker scripts' `VERSION { … }` commands are version scripts too.
        None if !script_versions.is_empty() => Some(
            VersionScript::parse(&script_versions.join("\n"))
                .map_err(|e| e.at("VERSION command of a linker script"))?,
        ),
        None => None,
    };
    let entry = args
        .entry
        .clone()
        .unwrap_or_else(|| match args.build_mode {
            BuildMode::CShared => plan.target.default_shared_entry().to_string(),
            _ => plan.target.default_entry().to_string(),
        })
        .into_bytes();
    Ok(OutputOptions {
        build_mode: args.build_mode,
        interpreter,
        strip_debug: args.strip_debug,
        strip_symbols: args.strip_symbols,
        runpath: args.runpath.clone(),
        soname: args.soname.clone(),
        export_all: args.export_dynamic,
        named_exports: named_exports(plan),
        version_script,
        static_exe: args.static_exe,
        entry,
        macos_version_min: args.macos_version_min,
        macos_sdk_version: args.macos_sdk_version,
        exported_symbols: match &args.exported_symbols_list {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
                Some(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(|l| l.as_bytes().to_vec())
                        .collect(),
                )
            }
            None => None,
        },
        output_name: args.output.display().to_string(),
        exports: args.exports.clone(),
        stack: args.stack,
        windows_gui: args.windows_gui,
        section_merges: args
            .section_merges
            .iter()
            .map(|(f, t)| (f.as_bytes().to_vec(), t.as_bytes().to_vec()))
            .collect(),
        elf: args.elf.clone(),
    })
}

/// `cgo_export_dynamic local remote` pairs.
fn named_exports(plan: &LinkPlan) -> Vec<(Vec<u8>, Vec<u8>)> {
    plan.directives
        .iter()
        .filter_map(|d| match &d.directive.kind {
            DirectiveKind::ExportDynamic { local, remote } => {
                Some((local.as_bytes().to_vec(), remote.as_bytes().to_vec()))
            }
            _ => None,
        })
        .collect()
}

/// Whether names nothing defines are left for the loader to find: by default in a shared
/// library of a flat-namespace format (ELF, as every ELF linker allows); in Mach-O's two-level
/// namespace only under ld64's `-undefined dynamic_lookup`.
fn allow_undefined<B: Backend>(backend: &B, plan: &LinkPlan, shared_output: bool) -> Result<bool> {
    if backend.interposable() {
        if plan.args.undefined_dynamic_lookup {
            bail!(
                "-undefined dynamic_lookup is ld64's option (macOS targets); an {} shared \
                 library leaves undefined names to the loader by default",
                backend.name()
            );
        }
        // A shared library leaves what it does not define to the loader, unless `-z defs`
        // (`--no-undefined`) asks for every name to be bound now.
        return Ok(shared_output && plan.args.elf.no_undefined != Some(true));
    }
    Ok(plan.args.undefined_dynamic_lookup)
}

/// `-r`: every input merged into one relocatable object, as GNU ld's `--relocatable` writes
/// it. Archive members join for the names the objects leave undefined; what nothing defines
/// stays undefined for the link that reads the object, and every global keeps its name.
pub fn relocatable<B: Backend>(backend: &B, plan: &LinkPlan) -> Result<()> {
    let extra = load::script_inputs(plan)?;
    let Loaded { candidates, shared } = load::load(backend, plan, &extra)?;
    let resolve_options = resolve::ResolveOptions {
        external: false,
        shared_output: false,
        allow_undefined: true,
        weak_undefined_dynamic: false,
        synthetic: &|_| false,
        required: required_names(plan),
        alternate_names: Vec::new(),
        allow_multiple_definition: plan.args.elf.allow_multiple_definition,
        wrap: wrap_names(plan),
    };
    let mut res = resolve::resolve(candidates, &shared, &plan.directives, &resolve_options)?;
    // Nothing is left to another linker's own reading: every object goes in.
    res.host = vec![false; res.objects.len()];
    let exported: FxHashSet<Vec<u8>> = res.globals.iter().map(|g| g.name.to_vec()).collect();
    let object = backend.combine_objects(&res, &exported, &[])?;
    crate::output::write_file_atomically(&plan.args.output, &object, 0o644)
}

/// External linking's first half: resolve like an internal link (so undefined symbols are
/// reported before the host linker runs), then merge the Rust objects into one relocatable
/// object and list what the host linker must read itself, in command-line order.
pub fn combine<B: Backend>(backend: &B, plan: &LinkPlan) -> Result<Combined> {
    let extra = load::script_inputs(plan)?;
    let Loaded {
        mut candidates,
        shared,
    } = load::load(backend, plan, &extra)?;
    // What the runtime stubs would give an internal link (the Windows start-up's TLS
    // directory, windows-gnu's unwinder) the host's C runtime gives here: offered to
    // resolution only, as host objects, so those names count as defined and nothing of the
    // stubs goes into the combined object.
    let stub = backend.entry_stub();
    let runtime: Vec<(String, &[u8])> = backend
        .runtime_objects(plan)
        .into_iter()
        .chain(stub.as_ref().map(|(n, b)| (n.clone(), b.as_slice())))
        .collect();
    offer_lazily(backend, &mut candidates, &runtime, true)?;
    let resolve_options = resolve::ResolveOptions {
        external: true,
        shared_output: false,
        allow_undefined: allow_undefined(backend, plan, false)?,
        weak_undefined_dynamic: false,
        synthetic: &|name| backend.is_synthetic(name),
        required: required_names(plan),
        alternate_names: Vec::new(),
        allow_multiple_definition: plan.args.elf.allow_multiple_definition,
        wrap: wrap_names(plan),
    };
    let res = resolve::resolve(candidates, &shared, &plan.directives, &resolve_options)?;
    let mut exported: FxHashSet<Vec<u8>> = FxHashSet::default();
    let mut aliases = Vec::new();
    for d in &plan.directives {
        if let DirectiveKind::ExportStatic { local, remote }
        | DirectiveKind::ExportDynamic { local, remote } = &d.directive.kind
        {
            exported.insert(local.as_bytes().to_vec());
            if local != remote {
                aliases.push((local.as_bytes().to_vec(), remote.as_bytes().to_vec()));
            }
        }
    }
    let object = backend.combine_objects(&res, &exported, &aliases)?;
    let object_kind = backend.object_kind();
    let mut host_inputs = Vec::new();
    for input in &plan.inputs {
        if let Some(name) = input.requested_as.strip_prefix("-l") {
            host_inputs.push(HostInput::Library(name.to_string()));
            continue;
        }
        let data = input.file.data();
        let rust = match input.kind {
            kind if kind == object_kind && !backend.is_shared_library(data) => backend
                .load_object(input.file.display_name(), data)?
                .is_from_rustc(),
            FileKind::Archive => {
                let members = archive_members(data).map_err(|e| e.at(input.file.display_name()))?;
                // An archive without objects (a marker archive) gives the host nothing to read.
                let objects = members
                    .iter()
                    .any(|m| FileKind::identify(m.data) == object_kind);
                // An rlib carrying import members (rustc's raw-dylib imports on Windows) goes
                // to the host linker too, which builds those imports from them; its Rust
                // objects are never pulled, the combined object defining their names.
                let imports = backend
                    .archive_members(&input.file.display_name(), &members)?
                    .iter()
                    .any(|m| !matches!(m, crate::pipeline::ArchiveMember::Object));
                (is_rlib(&members) && !imports) || !objects
            }
            // Directive files are rlink's alone; linker scripts go to the host linker.
            FileKind::Text => is_directives_text(data),
            _ => false,
        };
        if !rust {
            host_inputs.push(HostInput::File(input.file.path.clone()));
        }
    }
    // Libraries rlink bound through a bundled manifest (Windows' DLLs, mingw's runtime
    // libraries) are no file here; the host linker has its own, named the same.
    // In command-line order, repeats kept (mingw's line names its libraries twice, for the
    // host's single pass over archives). Only where the host has them (mingw's import
    // libraries): an Apple driver finds libSystem itself and has no `-lc` to give.
    let found: FxHashSet<&str> = plan
        .inputs
        .iter()
        .filter_map(|i| i.requested_as.strip_prefix("-l"))
        .collect();
    for input in &plan.args.inputs {
        match input {
            crate::plan::InputArg::Library(name)
                if backend.host_has_bundled_libraries() && !found.contains(name.as_str()) =>
            {
                host_inputs.push(HostInput::Library(name.clone()))
            }
            _ => {}
        }
    }
    Ok(Combined {
        object,
        host_inputs,
    })
}
