//! External linking (`-linkmode=external`), as Go's linker does it: the format back end merges
//! the Rust objects into one relocatable object; the host C driver (`-extld`, default `$CC`,
//! else `cc`) links it with the host objects, the libraries and the `cgo_ldflag` flags.
//!
//! Which objects are Rust's: every member of an archive holding rustc metadata (an rlib), and
//! every loose object whose `.comment` names rustc. Everything else — C objects, archives from
//! the `cc` crate, shared libraries — is a host input, passed to the host linker as it is.

use std::path::{Path, PathBuf};
use std::process::Command;

use rlink_directives::DirectiveKind;

use crate::args::BuildMode;
use crate::diag::{Error, Result};
use crate::format::{Format, HostInput};
use crate::plan::LinkPlan;
use crate::target::Os;
use crate::{bail, ldflags, output};

/// The `cgo_ldflag` values in input order, duplicates dropped without reordering, each input's
/// flags checked against the allowlist first.
pub fn object_ldflags(plan: &LinkPlan) -> Result<Vec<String>> {
    let mut by_place: Vec<(String, Vec<String>)> = Vec::new();
    for d in &plan.directives {
        if let DirectiveKind::LdFlag { arg } = &d.directive.kind {
            match by_place.last_mut() {
                Some((place, flags)) if *place == d.place => flags.push(arg.clone()),
                _ => by_place.push((d.place.clone(), vec![arg.clone()])),
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (place, flags) in &by_place {
        ldflags::check(place, flags)?;
        for f in flags {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
    }
    Ok(out)
}

/// Where the combined object and copies of host objects go: `-tmpdir` (kept), or a private
/// directory removed when the link ends, successful or not.
enum WorkDir {
    Kept(PathBuf),
    Private(tempfile::TempDir),
}

impl WorkDir {
    fn path(&self) -> &Path {
        match self {
            WorkDir::Kept(p) => p,
            WorkDir::Private(t) => t.path(),
        }
    }
}

pub fn link(plan: &LinkPlan, format: &dyn Format) -> Result<()> {
    let args = &plan.args;
    // Refuse bad flags before doing any work.
    let ldflags = object_ldflags(plan)?;
    let combined = format.combine(plan)?;

    let work = match &args.tmpdir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(format!("-tmpdir {}: {e}", dir.display())))?;
            WorkDir::Kept(dir.clone())
        }
        None => WorkDir::Private(
            tempfile::Builder::new()
                .prefix("rlink-external-")
                .tempdir()
                .map_err(|e| Error::new(format!("cannot create a temporary directory: {e}")))?,
        ),
    };
    let combined_path = work.path().join("rlink-combined.o");
    std::fs::write(&combined_path, &combined.object)
        .map_err(|e| Error::new(format!("{}: {e}", combined_path.display())))?;

    let mut cmd: Vec<String> = args.extld.clone();
    // The host writes a temporary name beside the output; rename makes it appear whole.
    // A non-regular output (`-o /dev/null`) is checked before any work and later written in
    // place (see `output`).
    output::output_kind(&args.output)?;
    let staged = tempfile::Builder::new()
        .prefix(".rlink-")
        .tempfile_in(output::parent_dir(&args.output))
        .map_err(|e| {
            Error::new(format!(
                "{}: cannot create a temporary file: {e}",
                args.output.display()
            ))
        })?
        .into_temp_path();
    let _cleanup = output::CleanupGuard::register(&staged);
    cmd.push("-o".to_string());
    cmd.push(staged.display().to_string());
    // macOS drivers speak ld64's options: executables are always position-independent, a
    // shared library is a -dynamiclib, and rustc's own line dead-strips (the combined object
    // keeps one atom per function, so that still works function by function).
    let apple = plan.target.os == Os::MacOs;
    // Windows images are always relocatable: the mingw driver takes no -pie.
    let windows = plan.target.os == Os::Windows;
    match (apple, windows, args.build_mode) {
        (true, _, BuildMode::CShared) => cmd.push("-dynamiclib".to_string()),
        (true, _, _) => {}
        (false, _, BuildMode::CShared) => cmd.push("-shared".to_string()),
        (false, true, _) => {}
        (false, false, BuildMode::Pie) => cmd.push("-pie".to_string()),
        (false, false, BuildMode::Exe) => cmd.push("-no-pie".to_string()),
    }
    if apple {
        cmd.push("-Wl,-dead_strip".to_string());
    }
    cmd.push(combined_path.display().to_string());
    for dir in &args.library_dirs {
        cmd.push(format!("-L{}", dir.display()));
    }
    for (n, input) in combined.host_inputs.iter().enumerate() {
        match input {
            HostInput::Library(name) => cmd.push(format!("-l{name}")),
            HostInput::File(path) if args.tmpdir.is_some() && !is_shared_object(path) => {
                // Kept for inspection, like Go's host object copies.
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let copy = work.path().join(format!("{n:06}-{name}"));
                std::fs::copy(path, &copy)
                    .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
                cmd.push(copy.display().to_string());
            }
            HostInput::File(path) => cmd.push(path.display().to_string()),
        }
    }
    if apple {
        // dyld is the only interpreter, and every global of an executable is exported.
        if let Some(name) = &args.soname {
            cmd.push(format!("-Wl,-install_name,{name}"));
        }
        for runpath in args.runpath.iter().flat_map(|r| r.split(':')) {
            cmd.push(format!("-Wl,-rpath,{runpath}"));
        }
        if args.undefined_dynamic_lookup {
            cmd.push("-Wl,-undefined,dynamic_lookup".to_string());
        }
        if args.strip_symbols {
            cmd.push("-Wl,-S".to_string());
            cmd.push("-Wl,-x".to_string());
        } else if args.strip_debug {
            cmd.push("-Wl,-S".to_string());
        }
    } else if windows {
        // A DLL's exports, as a module-definition file both GNU ld and lld's MinGW driver read.
        if !args.exports.is_empty() {
            let def = work.path().join("rlink-exports.def");
            let mut text = String::from("EXPORTS\n");
            for e in &args.exports {
                text.push_str(&format!("    {}", e.name));
                if e.internal != e.name {
                    text.push_str(&format!(" = {}", e.internal));
                }
                if let Some(o) = e.ordinal {
                    text.push_str(&format!(" @{o}"));
                    if e.noname {
                        text.push_str(" NONAME");
                    }
                }
                if e.data {
                    text.push_str(" DATA");
                }
                text.push('\n');
            }
            std::fs::write(&def, text)
                .map_err(|e| Error::new(format!("{}: {e}", def.display())))?;
            cmd.push(def.display().to_string());
        }
        if args.strip_symbols {
            cmd.push("-s".to_string());
        } else if args.strip_debug {
            cmd.push("-Wl,--strip-debug".to_string());
        }
    } else {
        if let Some(interp) = &args.interpreter {
            cmd.push(format!("-Wl,--dynamic-linker={interp}"));
        }
        if let Some(soname) = &args.soname {
            cmd.push(format!("-Wl,-soname,{soname}"));
        }
        if let Some(runpath) = &args.runpath {
            cmd.push(format!("-Wl,-rpath,{runpath}"));
        }
        for d in &plan.directives {
            if let DirectiveKind::ExportDynamic { remote, .. } = &d.directive.kind {
                cmd.push(format!("-Wl,--export-dynamic-symbol={remote}"));
            }
        }
        if args.export_dynamic {
            cmd.push("-rdynamic".to_string());
        }
        if args.strip_symbols {
            cmd.push("-s".to_string());
        } else if args.strip_debug {
            cmd.push("-Wl,--strip-debug".to_string());
        }
    }
    cmd.extend(ldflags);
    cmd.extend(args.extldflags.iter().cloned());

    if args.verbose > 0 {
        eprintln!("rlink: host link: {}", shell_line(&cmd));
    }
    let status = Command::new(&cmd[0])
        .args(&cmd[1..])
        .status()
        .map_err(|e| Error::new(format!("cannot run the host linker {}: {e}", cmd[0])))?;
    if !status.success() {
        let code = status
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "a signal".to_string());
        bail!(
            "host linker failed with exit status {code}: {}",
            shell_line(&cmd)
        );
    }
    // `staged` removes itself when dropped, whether or not it was renamed into place.
    output::install_staged(&staged, &args.output)
}

fn is_shared_object(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".so") || name.contains(".so.")
}

/// A command line as a shell would read it back; words made only of characters no shell
/// treats specially (linker flags such as `-Wl,-z,now`) are left unquoted.
pub fn shell_line(words: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    words
        .iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(plain) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why this link cannot be internal, if it cannot (auto mode's question).
pub fn external_required(plan: &LinkPlan, target_supported: bool) -> Option<String> {
    if !target_supported {
        return Some(format!(
            "target {} has no internal linker support yet",
            plan.target
        ));
    }
    // Each archive's marker was found with its directives (`plan::LoadedInput`); the first
    // archive on the line with one is named.
    let marked = plan.inputs.iter().find_map(|input| {
        let member = input.external_marker.as_ref()?;
        Some(format!(
            "{}({member}) asks for external linking",
            input.file.display_name()
        ))
    });
    marked.or_else(|| {
        plan.directives
            .iter()
            .find_map(|d| match &d.directive.kind {
                DirectiveKind::ImportStatic { local } => Some(format!(
                    "{}: cgo_import_static {local}: its definition comes from a host object",
                    d.place
                )),
                _ => None,
            })
    })
}

/// An archive member with this name makes auto mode link externally (Go's `dynimportfail`
/// member is honoured too).
pub const MARKER: &str = "rlink.external";

/// Whether an archive member's name asks for external linking.
pub fn is_marker(name: &[u8]) -> bool {
    name == MARKER.as_bytes() || name == b"dynimportfail"
}
