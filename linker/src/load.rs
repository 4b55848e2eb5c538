//! Loading every input of a link, for any format: the files linker scripts name are mapped
//! (`libc.so` → `libc.so.6`, `libc_nonshared.a`), then every object, archive member and
//! shared library is read in parallel, in place, by the format's loader.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::bail;
use crate::diag::{Error, Result};
use crate::input::{archive_members, FileKind, MappedFile};
use crate::object::ObjectView;
use crate::par::PerItem as _;
use crate::pipeline::Backend;
use crate::plan::{is_directives_text, rooted, search_library, LinkPlan};
use crate::resolve::{Candidate, SharedInput};
use crate::script::{looks_like_script, parse_script, ScriptInput};

/// A file named by a linker script, mapped for the life of the link, at the command-line
/// position of the script.
pub struct ExtraFile {
    file: MappedFile,
    position: usize,
    /// The script's `AS_NEEDED(…)` or the switches in force where the script was named.
    options: crate::plan::InputOptions,
    /// How diagnostics name it: a thin archive's member is `ARCHIVE(MEMBER)`.
    display: Option<String>,
}

/// Everything read from the inputs: objects and archive members (parsed, not yet resolved) and
/// shared libraries.
pub struct Loaded<'p> {
    pub candidates: Vec<Candidate<'p>>,
    pub shared: Vec<SharedInput<'p>>,
}

impl ExtraFile {
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

/// What the linker scripts among the inputs add to the link besides files.
#[derive(Default)]
pub struct ScriptExtras {
    /// `VERSION { … }` bodies, in the order read: version-script text.
    pub versions: Vec<String>,
    /// `NAME = VALUE;` assignments, read as `--defsym` is.
    pub assignments: Vec<(String, String)>,
}

/// Maps the files the linker scripts among the inputs name (and thin archives' members).
pub fn script_inputs(plan: &LinkPlan) -> Result<Vec<ExtraFile>> {
    Ok(script_inputs_and_extras(plan)?.0)
}

/// [`script_inputs`], with what the scripts say besides.
pub fn script_inputs_and_extras(plan: &LinkPlan) -> Result<(Vec<ExtraFile>, ScriptExtras)> {
    let mut extras = ScriptExtras::default();
    let mut extra: Vec<ExtraFile> = Vec::new();
    for (position, input) in plan.inputs.iter().enumerate() {
        if crate::input::is_thin_archive(input.file.data()) {
            thin_archive_members(&input.file, position, input.options, &mut extra)?;
            continue;
        }
        if input.kind == FileKind::Text && !is_directives_text(input.file.data()) {
            let text = String::from_utf8_lossy(input.file.data());
            expand_script(
                &input.file.path,
                &text,
                (position, input.options),
                plan,
                &mut extra,
                &mut extras,
                0,
            )?;
        }
    }
    Ok((extra, extras))
}

/// A thin archive's members are files of their own, named relative to the archive: each is
/// mapped, and offered to the link as an archive member is (unless `--whole-archive`).
fn thin_archive_members(
    archive: &MappedFile,
    position: usize,
    options: crate::plan::InputOptions,
    extra: &mut Vec<ExtraFile>,
) -> Result<()> {
    let name = archive.display_name();
    for (member_name, path) in crate::input::thin_archive_members(archive)? {
        let file = MappedFile::open(&path).map_err(|e| e.at(&name))?;
        extra.push(ExtraFile {
            file,
            position,
            options: crate::plan::InputOptions {
                lazy: !options.whole_archive,
                ..options
            },
            display: Some(format!("{name}({member_name})")),
        });
    }
    Ok(())
}

/// An rlib carries rustc's metadata member; its objects are Rust objects.
pub fn is_rlib(members: &[crate::input::Member<'_>]) -> bool {
    members
        .iter()
        .any(|m| m.name == "lib.rmeta" || m.name.ends_with(".rmeta"))
}

/// Reads every object, archive member and shared library, in parallel and in place. Objects
/// rustc did not produce (C objects, members of archives that are not rlibs) are marked as
/// host objects: external linking passes them to the host linker as they are.
pub fn load<'p, B: Backend>(
    backend: &B,
    plan: &'p LinkPlan,
    extra: &'p [ExtraFile],
) -> Result<Loaded<'p>> {
    /// An object to parse: where it is from, its bytes, its command-line position, whether it
    /// is loose (not an archive member), for members whether the archive is an rlib, and
    /// the map of the file its bytes are in, if they are in one.
    type Source<'d> = (
        String,
        &'d [u8],
        usize,
        bool,
        Option<bool>,
        Option<&'d [u8]>,
    );
    let mut sources: Vec<Source<'_>> = Vec::new();
    // Shared libraries: (name, bytes, position, weak, as-needed, the name DT_NEEDED records
    // when the library has no soname).
    type SharedData<'d> = (String, &'d [u8], usize, bool, bool, String);
    let mut shared_data: Vec<SharedData<'_>> = Vec::new();
    // Import libraries' members, per DLL and archive: (DLL, position, exports).
    let mut import_libraries: Vec<(String, usize, Vec<crate::library::Export<'_>>)> = Vec::new();
    let files = plan
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            // GNU ld records a library without a soname as the line named it: by its path
            // as given, or by its file name when a `-l` found it.
            let dt_name = if input.requested_as.starts_with("-l") {
                file_name_of(&input.file.path)
            } else {
                input.requested_as.clone()
            };
            (&input.file, i, input.weak, input.options, dt_name, None)
        })
        .chain(extra.iter().map(|e| {
            let dt_name = file_name_of(&e.file.path);
            (
                &e.file,
                e.position,
                false,
                e.options,
                dt_name,
                e.display.clone(),
            )
        }));
    let object_kind = backend.object_kind();
    // Archives' member lists (checking each against the archive's symbol table: a page or
    // more of each archive's headers to fault in) in parallel; the walk below is in order.
    let files: Vec<_> = files.collect();
    let member_lists: Vec<Option<Result<Vec<crate::input::Member<'_>>>>> = files
        .par_iter()
        .per_item()
        .map(|(file, ..)| {
            let data = file.data();
            (FileKind::identify(data) == FileKind::Archive && !crate::input::is_thin_archive(data))
                .then(|| archive_members(data))
        })
        .collect();
    for ((file, position, weak, options, dt_name, display), members) in
        files.into_iter().zip(member_lists)
    {
        let name = display.unwrap_or_else(|| file.display_name());
        let data = file.data();
        match FileKind::identify(data) {
            kind if kind == object_kind => {
                if backend.is_shared_library(data) {
                    if plan.args.static_exe {
                        bail!("{name}: attempted static link of a dynamic object (-static)");
                    }
                    shared_data.push((name, data, position, weak, options.as_needed, dt_name));
                } else {
                    sources.push((
                        name,
                        data,
                        position,
                        !options.lazy,
                        None,
                        file.is_mapped().then(|| file.data()),
                    ));
                }
            }
            // Its members were mapped as files of their own (`thin_archive_members`).
            FileKind::Archive if crate::input::is_thin_archive(data) => {}
            FileKind::Archive => {
                let members = members.expect("listed above").map_err(|e| e.at(&name))?;
                let rlib = is_rlib(&members);
                let uses = backend.archive_members(&name, &members)?;
                for (m, use_) in members.into_iter().zip(uses) {
                    if let crate::pipeline::ArchiveMember::Skip = use_ {
                        continue;
                    }
                    if let crate::pipeline::ArchiveMember::Import(import) = use_ {
                        let dll = String::from_utf8_lossy(import.dll).into_owned();
                        let export = crate::library::Export {
                            name: import.name,
                            version: None,
                            is_default: true,
                            kind: if import.data {
                                crate::library::ExportKind::Object
                            } else {
                                crate::library::ExportKind::Function
                            },
                            weak: false,
                            size: 0,
                            value: 0,
                        };
                        match import_libraries
                            .iter_mut()
                            .find(|(d, p, _)| *d == dll && *p == position)
                        {
                            Some((_, _, list)) => list.push(export),
                            None => import_libraries.push((dll, position, vec![export])),
                        }
                        continue;
                    }
                    if FileKind::identify(m.data) == object_kind {
                        sources.push((
                            format!("{name}({})", m.name),
                            m.data,
                            position,
                            // `--whole-archive`: every member is in, like a loose object.
                            options.whole_archive,
                            Some(rlib),
                            file.is_mapped().then(|| file.data()),
                        ));
                    }
                }
            }
            FileKind::Text => {}
            // A dylib's exports in text: the format back end reads it as a shared library.
            // A bundled library's exports: the format back end reads it as a shared library.
            FileKind::Exports => {
                shared_data.push((name, data, position, weak, options.as_needed, dt_name))
            }
            FileKind::Tbd if object_kind == FileKind::MachO => {
                shared_data.push((name, data, position, weak, true, dt_name))
            }
            other => bail!(
                "{name}: {} cannot be linked into {} output",
                other.describe(),
                backend.name()
            ),
        }
    }
    let cpu = plan.target.cpu;
    let load_one = |(place, data, position, loose, rlib, mapped): Source<'p>| {
        let object = backend.load_object(place, data)?;
        check_cpu(&object, cpu)?;
        let host = match rlib {
            Some(rlib) => !rlib,
            None => !object.is_from_rustc(),
        };
        Ok(Candidate {
            object,
            position,
            loose,
            host,
            mapped,
        })
    };
    // Largest first (`map_heaviest_first`): a parse takes time in proportion to the object's
    // size, from microseconds to a millisecond (std's one codegen unit). The first error in
    // command-line order is the one reported.
    let load_objects = || {
        crate::par::map_heaviest_first(sources, |source| source.1.len(), load_one)
            .into_iter()
            .collect::<Result<Vec<Candidate<'_>>>>()
    };
    let load_shared = || {
        shared_data
            .into_par_iter()
            .per_item()
            .map(|(name, data, position, weak, as_needed, dt_name)| {
                let mut library = backend
                    .load_shared_library(data, &dt_name)
                    .map_err(|e| e.at(&name))?;
                if let Some(floor) = plan.args.glibc_floor {
                    library = library.with_glibc_floor(floor).map_err(|e| e.at(&name))?;
                }
                Ok(SharedInput {
                    library,
                    position,
                    weak,
                    as_needed,
                })
            })
            .collect::<Result<Vec<SharedInput<'_>>>>()
    };
    // Objects and shared libraries side by side: a C library's symbol and version tables
    // are one of the larger single pieces of work, and would otherwise start only after the
    // last object.
    let (candidates, shared) = rayon::join(load_objects, load_shared);
    // An object's error is reported before a shared library's, as the inputs are ordered.
    let candidates = candidates?;
    let mut shared = shared?;
    for (dll, position, exports) in import_libraries {
        shared.push(SharedInput {
            library: crate::library::SharedLibrary::new(dll, Some(cpu), exports)?,
            position,
            weak: false,
            as_needed: true,
        });
    }
    // Command-line order, which names libraries' ordinals and search order.
    shared.sort_by_key(|s| s.position);
    Ok(Loaded { candidates, shared })
}

/// The last part of a path, which names a library found on the search path.
fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Objects of another machine than the target's are an error naming the object.
pub fn check_cpu(object: &ObjectView<'_>, cpu: crate::target::Cpu) -> Result<()> {
    if object.cpu != cpu {
        bail!(
            "{}: object is for {} but the link is for {} (see -target)",
            object.place,
            object.cpu.name(),
            cpu.name()
        );
    }
    Ok(())
}

/// Maps the files a GNU linker script names. Relative names are looked up next to the script
/// and on the library path; `-lNAME` inside a script is searched like one on the command line.
fn expand_script(
    script_path: &Path,
    text: &str,
    (position, options): (usize, crate::plan::InputOptions),
    plan: &LinkPlan,
    extra: &mut Vec<ExtraFile>,
    extras: &mut ScriptExtras,
    depth: usize,
) -> Result<()> {
    let name = script_path.display().to_string();
    if depth > 8 {
        bail!("{name}: linker scripts nested too deep");
    }
    let script = parse_script(text).map_err(|e| {
        if looks_like_script(text) {
            e.at(&name)
        } else {
            // GNU ld reads a file of no known format as a script, and says so.
            Error::new(format!(
                "{name}: not an object, archive, shared library, directives file or linker \
                 script ({})",
                e.message()
            ))
        }
    })?;
    extras.versions.extend(script.versions);
    extras.assignments.extend(script.assignments);
    for input in script.inputs {
        let input_as_needed = match &input {
            ScriptInput::File { as_needed, .. } | ScriptInput::Library { as_needed, .. } => {
                *as_needed
            }
        };
        let path: PathBuf = match &input {
            ScriptInput::File { path, .. } => {
                let p = PathBuf::from(path);
                // As in GNU ld, a script inside the sysroot names absolute paths within it.
                let sysroot = plan.args.sysroot.as_deref().filter(|root| {
                    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
                    matches!((canonical(script_path), canonical(root)),
                        (Some(s), Some(r)) if s.starts_with(&r))
                });
                let prefixed = crate::plan::sysroot_relative(path);
                if let (Some(rest), Some(root)) = (prefixed, plan.args.sysroot.as_deref()) {
                    rooted(
                        plan.args.chroot.as_deref(),
                        &root.join(rest.trim_start_matches('/')),
                    )
                } else if let (true, Some(root)) = (p.is_absolute(), sysroot) {
                    rooted(
                        plan.args.chroot.as_deref(),
                        &root.join(p.strip_prefix("/").unwrap_or(&p)),
                    )
                } else if p.is_absolute() {
                    rooted(plan.args.chroot.as_deref(), &p)
                } else {
                    // GNU ld looks in the current directory first, lld beside the script;
                    // then both search the library path.
                    let beside = script_path.parent().map(|d| d.join(&p));
                    let here = Some(p.clone()).filter(|p| p.is_file());
                    match here.or(beside.filter(|b| b.is_file())) {
                        Some(b) => b,
                        None => search_library(&format!(":{path}"), &plan.search_dirs)
                            .ok_or_else(|| Error::new(format!("{name}: cannot find {path}")))?,
                    }
                }
            }
            ScriptInput::Library { name: lib, .. } => {
                match search_library(lib, &plan.search_dirs) {
                    Some(p) => p,
                    None => bail!("{name}: cannot find -l{lib}"),
                }
            }
        };
        let file = MappedFile::open(&path)?;
        if FileKind::identify(file.data()) == FileKind::Text {
            let inner = String::from_utf8_lossy(file.data()).into_owned();
            expand_script(
                &path,
                &inner,
                (position, options),
                plan,
                extra,
                extras,
                depth + 1,
            )?;
        } else {
            let mut options = options;
            options.as_needed |= input_as_needed;
            extra.push(ExtraFile {
                file,
                position,
                options,
                display: None,
            });
        }
    }
    Ok(())
}
