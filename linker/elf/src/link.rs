//! The internal ELF link, as a story: load every input (objects, archive members, shared
//! libraries, the scripts that name them) → resolve symbols → place sections and scan
//! relocations → assign addresses → write.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rlink_directives::DirectiveKind;
use rlink_linker::args::BuildMode;
use rlink_linker::format::{Combined, HostInput};
use rlink_linker::input::{archive_members, FileKind, MappedFile};
use rlink_linker::plan::{is_directives_text, rooted, search_library, LinkPlan};
use rlink_linker::script::{looks_like_script, parse_script, ScriptInput};
use rlink_linker::version_script::VersionScript;
use rlink_linker::{bail, Error, Result};
use rustc_hash::FxHashSet;

use crate::object::InputObject;
use crate::resolve::{self, Candidate, Def, SharedInput};
use crate::shared::SharedLibrary;
use crate::write;
use crate::{gc, layout};

const DEFAULT_INTERPRETER: &str = "/lib64/ld-linux-x86-64.so.2";

/// Files named by linker scripts (`libc.so` → `libc.so.6`, `libc_nonshared.a`), mapped for
/// the life of the link.
pub struct ExtraFile {
    file: MappedFile,
    position: usize,
}

/// Everything read from the inputs: objects and archive members (parsed, not yet resolved) and
/// shared libraries.
pub struct Loaded<'p> {
    pub candidates: Vec<Candidate<'p>>,
    pub shared: Vec<SharedInput<'p>>,
}

/// Maps the files the linker scripts among the inputs name (`libc.so` → `libc.so.6`, ...).
pub fn script_inputs(plan: &LinkPlan) -> Result<Vec<ExtraFile>> {
    let mut extra: Vec<ExtraFile> = Vec::new();
    for (position, input) in plan.inputs.iter().enumerate() {
        if input.kind == FileKind::Text && !is_directives_text(input.file.data()) {
            let text = String::from_utf8_lossy(input.file.data());
            expand_script(&input.file.path, &text, position, plan, &mut extra, 0)?;
        }
    }
    Ok(extra)
}

/// Reads every object, archive member and shared library, in parallel and in place. Objects
/// rustc did not produce (C objects, members of archives that are not rlibs) are marked as
/// host objects: external linking passes them to the host linker as they are.
pub fn load<'p>(plan: &'p LinkPlan, extra: &'p [ExtraFile]) -> Result<Loaded<'p>> {
    /// An object to parse: where it is from, its bytes, its command-line position, whether it
    /// is loose (not an archive member), and for members whether the archive is an rlib.
    type Source<'d> = (String, &'d [u8], usize, bool, Option<bool>);
    let mut sources: Vec<Source<'_>> = Vec::new();
    let mut shared_data: Vec<(String, &[u8], usize)> = Vec::new();
    let files = plan
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (&input.file, i))
        .chain(extra.iter().map(|e| (&e.file, e.position)));
    for (file, position) in files {
        let name = file.display_name();
        let data = file.data();
        match FileKind::identify(data) {
            FileKind::Elf => {
                if is_shared_library(data) {
                    shared_data.push((name, data, position));
                } else {
                    sources.push((name, data, position, true, None));
                }
            }
            FileKind::Archive => {
                let members = archive_members(data).map_err(|e| e.at(&name))?;
                // An rlib carries rustc's metadata member; its objects are Rust objects.
                let rlib = members
                    .iter()
                    .any(|m| m.name == "lib.rmeta" || m.name.ends_with(".rmeta"));
                for m in members {
                    if FileKind::identify(m.data) == FileKind::Elf {
                        sources.push((
                            format!("{name}({})", m.name),
                            m.data,
                            position,
                            false,
                            Some(rlib),
                        ));
                    }
                }
            }
            FileKind::Text => {}
            other => bail!(
                "{name}: {} cannot be linked into an ELF executable",
                other.describe()
            ),
        }
    }
    let candidates: Vec<Candidate<'_>> = sources
        .into_par_iter()
        .map(|(place, data, position, loose, rlib)| {
            let object = InputObject::parse(place, data)?;
            let host = match rlib {
                Some(rlib) => !rlib,
                None => !object.is_from_rustc(),
            };
            Ok(Candidate {
                object,
                position,
                loose,
                host,
            })
        })
        .collect::<Result<_>>()?;
    let shared: Vec<SharedInput<'_>> = shared_data
        .into_par_iter()
        .map(|(name, data, position)| {
            let file_name = Path::new(&name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let library = SharedLibrary::parse(data, &file_name).map_err(|e| e.at(&name))?;
            Ok(SharedInput { library, position })
        })
        .collect::<Result<_>>()?;
    Ok(Loaded { candidates, shared })
}

pub fn link(plan: &LinkPlan) -> Result<()> {
    let timer = std::time::Instant::now();
    let verbose = plan.args.verbose > 0;
    let extra = script_inputs(plan)?;
    let stub = rlink_runtime_stubs::entry_object();
    let Loaded {
        mut candidates,
        shared,
    } = load(plan, &extra)?;

    // No startup object defines the entry: link the bundled `_start` stub, as Go's linker does
    // (a custom `-e` entry must be defined by the inputs).
    let entry_name = plan
        .args
        .entry
        .clone()
        .unwrap_or_else(|| "_start".to_string());
    let defines_start = plan.args.entry.is_some()
        || candidates.iter().any(|c| {
            c.loose
                && c.object.symbols.iter().any(|s| {
                    s.name == b"_start"
                        && !s.is_local()
                        && !matches!(s.place, crate::object::SymPlace::Undefined)
                })
        });
    let shared_output = plan.args.build_mode == BuildMode::CShared;
    if !defines_start && !shared_output {
        let object = InputObject::parse(rlink_runtime_stubs::ENTRY_OBJECT_NAME.to_string(), &stub)?;
        candidates.insert(
            0,
            Candidate {
                object,
                position: 0,
                loose: true,
                host: false,
            },
        );
    }
    let loaded = timer.elapsed();

    let mut resolution = resolve::resolve(
        candidates,
        &shared,
        &plan.directives,
        false,
        plan.args.build_mode == BuildMode::CShared,
    )?;
    let resolved = timer.elapsed();

    let interp = plan
        .args
        .interpreter
        .clone()
        .or_else(|| dynamic_linker_directive(plan))
        .unwrap_or_else(|| DEFAULT_INTERPRETER.to_string());
    let options = layout::LayoutOptions {
        build_mode: plan.args.build_mode,
        interpreter: interp,
        strip_debug: plan.args.strip_debug,
        strip_symbols: plan.args.strip_symbols,
        runpath: plan.args.runpath.clone(),
        soname: plan.args.soname.clone(),
        export_all: plan.args.export_dynamic,
        static_exe: plan.args.static_exe,
        named_exports: named_exports(plan),
        version_script: match &plan.args.version_script {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
                Some(VersionScript::parse(&text).map_err(|e| e.at(path.display()))?)
            }
            None => None,
        },
    };
    resolution.version_script = options.version_script.clone();
    let roots: Vec<&[u8]> = options
        .named_exports
        .iter()
        .map(|(local, _)| local.as_slice())
        .collect();
    let live = gc::collect(
        &resolution,
        entry_name.as_bytes(),
        shared_output || plan.args.export_dynamic,
        &roots,
        options.version_script.as_ref(),
    )?;
    tracing::debug!(elapsed = ?timer.elapsed(), "sections collected");
    let mut layout = layout::place_and_scan(&resolution, &live, options)?;
    layout::define_synthetic_symbols(&mut layout);
    layout.entry = match resolution.global(entry_name.as_bytes()).map(|g| g.def) {
        Some(Def::Object { obj, sym, .. }) => {
            let o = &resolution.objects[obj as usize];
            let s = &o.symbols[sym as usize];
            match s.place {
                crate::object::SymPlace::Section(sec) => layout
                    .input_section_addr(obj as usize, sec as usize)
                    .unwrap_or(0)
                    .wrapping_add(s.value),
                _ => s.value,
            }
        }
        _ if shared_output => 0,
        _ => bail!("no entry point: {entry_name} is not defined"),
    };
    let laid_out = timer.elapsed();
    write::write(&layout, &plan.args.output)?;
    if verbose {
        eprintln!(
            "rlink: {} objects, {} shared libraries, {} sections; load {:?}, resolve {:?}, layout {:?}, write {:?}",
            resolution.objects.len(),
            shared.len(),
            layout.sections.len(),
            loaded,
            resolved - loaded,
            laid_out - resolved,
            timer.elapsed() - laid_out
        );
    }
    Ok(())
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

fn is_shared_library(data: &[u8]) -> bool {
    // e_type at offset 16: ET_DYN.
    data.get(16..18) == Some(&[3, 0][..])
}

fn dynamic_linker_directive(plan: &LinkPlan) -> Option<String> {
    plan.directives
        .iter()
        .find_map(|d| match &d.directive.kind {
            rlink_directives::DirectiveKind::DynamicLinker { path } => Some(path.clone()),
            _ => None,
        })
}

/// Maps the files a GNU linker script names. Relative names are looked up next to the script
/// and on the library path; `-lNAME` inside a script is searched like one on the command line.
fn expand_script(
    script_path: &Path,
    text: &str,
    position: usize,
    plan: &LinkPlan,
    extra: &mut Vec<ExtraFile>,
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
    for input in script.inputs {
        let path: PathBuf = match &input {
            ScriptInput::File { path, .. } => {
                let p = PathBuf::from(path);
                if p.is_absolute() {
                    rooted(plan.args.chroot.as_deref(), &p)
                } else {
                    let beside = script_path.parent().map(|d| d.join(&p));
                    match beside.filter(|b| b.is_file()) {
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
            expand_script(&path, &inner, position, plan, extra, depth + 1)?;
        } else {
            extra.push(ExtraFile { file, position });
        }
    }
    Ok(())
}

/// External linking's ELF half: resolve like an internal link (so undefined symbols are
/// reported before the host linker runs), then merge the Rust objects into one relocatable
/// object and list what the host linker must read itself, in command-line order.
pub fn combine(plan: &LinkPlan) -> Result<Combined> {
    let extra = script_inputs(plan)?;
    let Loaded { candidates, shared } = load(plan, &extra)?;
    let resolution = resolve::resolve(candidates, &shared, &plan.directives, true, false)?;
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
    let object = crate::combine::combine(&resolution, &resolution.host, &exported, &aliases)?;
    let mut host_inputs = Vec::new();
    for input in &plan.inputs {
        if let Some(name) = input.requested_as.strip_prefix("-l") {
            host_inputs.push(HostInput::Library(name.to_string()));
            continue;
        }
        let data = input.file.data();
        let rust = match input.kind {
            FileKind::Elf if !is_shared_library(data) => {
                InputObject::parse(input.file.display_name(), data)?.is_from_rustc()
            }
            FileKind::Archive => {
                let members = archive_members(data).map_err(|e| e.at(input.file.display_name()))?;
                let rlib = members
                    .iter()
                    .any(|m| m.name == "lib.rmeta" || m.name.ends_with(".rmeta"));
                // An archive without objects (a marker archive) gives the host nothing to read.
                let objects = members
                    .iter()
                    .any(|m| FileKind::identify(m.data) == FileKind::Elf);
                rlib || !objects
            }
            // Directive files are rlink's alone; linker scripts go to the host linker.
            FileKind::Text => is_directives_text(data),
            _ => false,
        };
        if !rust {
            host_inputs.push(HostInput::File(input.file.path.clone()));
        }
    }
    Ok(Combined {
        object,
        host_inputs,
    })
}
