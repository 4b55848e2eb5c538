//! The `rlink` command: dispatch to the link or to a subcommand, and the one place that turns
//! an [`Error`] into `rlink: error: …` and exit status 1.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::args::{self, Arg, Command, FlagSpec, LinkArgs, LinkMode};
use crate::diag::{Error, Result};
use crate::format::Formats;
use crate::input::{archive_members, FileKind, MappedFile};
use crate::inspect::{name_from_bytes, InspectOptions, Report};
use crate::target::ObjectFormat;
use crate::{bail, gnu_args, msvc_args, output, plan};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// When the `rlink` command started, for `-v`'s timings.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn started() -> Option<std::time::Instant> {
    STARTED.get().copied()
}

/// Runs rlink with the process's arguments and the given back ends.
pub fn main(formats: Formats) -> ExitCode {
    let _ = STARTED.set(std::time::Instant::now());
    init_logging();
    let program = std::env::args_os()
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(a) => return report(Error::new(format!("argument is not valid UTF-8: {a:?}"))),
        }
    }
    // This process has one thread: its link may fork (see `background`).
    crate::background::allow_fork();
    crate::heap::tune();
    match run_as(&program, &args, formats) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

fn report(e: Error) -> ExitCode {
    eprintln!("rlink: error: {e}");
    ExitCode::from(1)
}

/// `RLINK_LOG=debug` (tracing's env-filter syntax) shows what the phases do.
fn init_logging() {
    if let Ok(filter) = std::env::var("RLINK_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Everything `main` does, minus process plumbing, so tests can call it.
pub fn run(args: &[String], formats: Formats) -> Result<()> {
    run_as("rlink", args, formats)
}

/// As [`run`], for a program invoked as `program` (`ld`, `ld.rlink` and `*-ld` speak GNU ld).
pub fn run_as(program: &str, args: &[String], formats: Formats) -> Result<()> {
    // A link.exe line's response files follow Windows' quoting rules (a backslash is a path
    // separator), not a GNU shell's. The dialect shows in the name or the first words, or, when
    // the line is all response file, in what it holds.
    let windows =
        |a: &[String]| args::expand_response_files_with(a, msvc_args::split_response_text);
    let args = if msvc_args::speaks_link(program, args) {
        windows(args)?
    } else {
        match args::expand_response_files(args) {
            Ok(gnu) if !msvc_args::speaks_link(program, &gnu) => gnu,
            gnu => match windows(args) {
                Ok(w) if msvc_args::speaks_link(program, &w) => w,
                _ => gnu?,
            },
        }
    };
    match args.first().map(String::as_str) {
        Some("inspect") => return inspect_command(&args[1..], formats),
        Some("targets") => return print_stdout(&targets_text(&args[1..])?),
        Some("dynimport") => return dynimport_command(&args[1..]),
        _ => {}
    }
    let mut warn = |w: String| eprintln!("rlink: warning: {w}");
    if msvc_args::speaks_link(program, &args) {
        return link_command(msvc_args::parse_link(&args, &mut warn)?, formats);
    }
    let command = match gnu_args::dialect(program, &args) {
        gnu_args::Dialect::Go => args::parse_link_command(&args)?,
        gnu_args::Dialect::Cc => {
            gnu_args::parse_ld(&gnu_args::cc_to_ld(&args, &mut warn), &mut warn)?
        }
        gnu_args::Dialect::Ld => match gnu_args::parse_ld(&args, &mut warn)? {
            // GNU ld links what the line names: no start-up code of its own.
            args::Command::Link(mut link) => {
                link.runtime_stubs = false;
                link.elf.entry_required = false;
                // GNU ld writes text relocations where they are needed (`-z notext`).
                link.elf.text_relocations.get_or_insert(true);
                args::Command::Link(link)
            }
            other => other,
        },
    };
    link_command(command, formats)
}

/// One target `rlink targets` lists.
struct TargetRow {
    triple: &'static str,
    format: &'static str,
    /// What rlink brings so that nothing else is needed on the machine.
    bundled: &'static str,
}

const TARGETS: &[TargetRow] = &[
    TargetRow {
        triple: "x86_64-unknown-linux-gnu",
        format: "ELF",
        bundled: "glibc 2.36 manifest (x86_64), start-up stub, libc_nonshared stand-ins",
    },
    TargetRow {
        triple: "aarch64-unknown-linux-gnu",
        format: "ELF",
        bundled: "glibc 2.36 manifest (aarch64), start-up stub, libc_nonshared stand-ins",
    },
    TargetRow {
        triple: "x86_64-apple-darwin",
        format: "Mach-O",
        bundled: "libSystem manifest (x86_64), ad-hoc code signature",
    },
    TargetRow {
        triple: "aarch64-apple-darwin",
        format: "Mach-O",
        bundled: "libSystem manifest (arm64), ad-hoc code signature",
    },
    TargetRow {
        triple: "x86_64-pc-windows-msvc",
        format: "PE",
        bundled: "DLL manifests, CRT start-up and TLS directory",
    },
    TargetRow {
        triple: "x86_64-pc-windows-gnu",
        format: "PE",
        bundled: "DLL manifests, mingw start-up, __main and GCC unwinder over SEH",
    },
];

/// `rlink targets [-config]`: what rlink links for, what each target needs on the machine
/// (nothing), what rlink brings instead, and the cargo configuration that makes rlink the
/// linker (`-config` prints only that).
fn targets_text(args: &[String]) -> Result<String> {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "rlink".to_string());
    let mut config = String::new();
    for t in TARGETS {
        config.push_str(&format!("[target.{}]\nlinker = \"{exe}\"\n", t.triple));
    }
    match args {
        [] => {}
        [flag] if flag.trim_start_matches('-') == "config" => return Ok(config),
        [other, ..] => bail!("targets: unknown argument {other} (rlink targets [-config])"),
    }
    let mut out = String::from(
        "rlink links for these targets from any x86-64 or arm64 Linux machine; none needs a C\n\
         toolchain, an SDK or the target's libraries on the machine:\n\n",
    );
    out.push_str(&format!(
        "{:<28} {:<7} {:<9} {}\n",
        "target", "format", "needs", "bundled with rlink"
    ));
    for t in TARGETS {
        out.push_str(&format!(
            "{:<28} {:<7} {:<9} {}\n",
            t.triple, t.format, "nothing", t.bundled
        ));
    }
    out.push_str(
        "\nThe bundled manifests and where they come from:\n\
         \x20 glibc-x86_64, glibc-aarch64  every name of libc, libm, libpthread, libdl, librt,\n\
         \x20                              libutil, libgcc_s and ld-linux with its version nodes,\n\
         \x20                              from Debian 12's glibc 2.36 (linker/elf/manifests)\n\
         \x20 libSystem-x86_64, -arm64     libSystem.B.dylib's names, from a libSystem .tbd\n\
         \x20                              (linker/macho/manifests)\n\
         \x20 kernel32, ntdll, advapi32, … every name of each DLL, from wine 8.0's DLLs and\n\
         \x20                              mingw-w64's import libraries (linker/pe/manifests)\n\
         \nLimits: C code in crates still needs a compiler for the target (clang serves for all\n\
         six); macOS frameworks other than libSystem need their .tbd (-F); a glibc floor\n\
         (-glibc=2.17, or aarch64-unknown-linux-gnu.2.17) binds the names an older glibc had.\n\
         \nMake rlink cargo's linker for them (.cargo/config.toml; `rlink targets -config`\n\
         prints only this):\n\n",
    );
    out.push_str(&config);
    Ok(out)
}

pub fn help_text() -> String {
    format!(
        "rlink {VERSION}: a linker for Rust programs in the tradition of Go's cmd/link\n\n\
         usage: rlink [flags] inputs...       link .o, .a, .rlib, .so and directive files\n\
         \x20      rlink inspect [flags] FILE...  print a canonical dump of ELF, Mach-O and PE/COFF files\n\
         \x20      rlink dynimport [flags] FILE   print cgo_import_dynamic directives for a linked binary\n\
         \x20      rlink targets [-config]        list the targets, what they need and cargo's configuration\n\n\
         Flags take one or two dashes, and -flag=value or -flag value. @FILE reads arguments from FILE.\n\n\
         link flags:\n{}\n\
         inspect flags:\n{}\n\
         dynimport flags:\n{}\n\
         Status: Linux ELF executables (PIE, non-PIE, static) and shared libraries for x86-64\n\
         and aarch64 (-target=aarch64-unknown-linux-gnu, or taken from the objects), linked\n\
         internally or externally (-extld); macOS executables and dylibs for x86_64 and arm64\n\
         (Mach-O, no SDK: libSystem from a bundled manifest, .tbd stubs for frameworks),\n\
         linked internally or externally (-extld='zig cc -target aarch64-macos');\n\
         Windows x86-64 executables and DLLs (PE32+, x86_64-pc-windows-msvc from rustc's\n\
         link.exe line, x86_64-pc-windows-gnu from its gcc line; imports from bundled DLL\n\
         manifests), linked internally or externally (-extld=x86_64-w64-mingw32-gcc). Linux\n\
         targets link without their libraries (bundled glibc manifests; -glibc=2.17 floors).\n",
        args::flag_help(args::LINK_FLAGS),
        args::flag_help(INSPECT_FLAGS),
        args::flag_help(DYNIMPORT_FLAGS),
    )
}

fn link_command(command: Command, formats: Formats) -> Result<()> {
    let link = match command {
        Command::Help => return print_stdout(&help_text()),
        Command::LdHelp => return print_stdout(&gnu_args::ld_help_text()),
        Command::Version => return print_stdout(&format!("rlink {VERSION}\n")),
        Command::Link(link) => *link,
    };
    if !link.no_fork {
        crate::background::fork_for_link();
    }
    // The link runs in a pool of its own, sized by -threads (rayon's default otherwise: one
    // thread per core). A pool that cannot be made (too many threads for the memory or
    // process limits) is an error, not a panic later.
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = link.threads {
        pool = pool.num_threads(n);
    }
    // The `rlink` binary links once and exits: its own thread is one of the pool's, so a
    // link starts without waiting for a new thread to take it over (and -threads=1 makes no
    // thread). rayon leaks such a pool's registry, which is nothing to a process about to
    // exit but would be to a library caller linking again on the same thread.
    if crate::background::is_binary() {
        pool = pool.use_current_thread();
    }
    let pool = pool.build().map_err(|e| {
        Error::new(format!(
            "cannot start {} threads: {e}",
            link.threads.unwrap_or(0)
        ))
    })?;
    pool.install(|| link_with_plan(link, formats))
}

fn link_with_plan(link: LinkArgs, formats: Formats) -> Result<()> {
    let verbose = link.verbose;
    let plan = plan::load_with(
        link,
        &plan::BundledLibraries {
            directives: &|target, name| formats.bundled_library(target, name),
            shared: &|target, name| formats.bundled_shared_library(target, name),
        },
    )?;
    if verbose > 0 {
        for input in &plan.inputs {
            eprintln!(
                "rlink: input {} ({})",
                input.requested_as,
                input.kind.describe()
            );
        }
        for d in &plan.directives {
            eprintln!("rlink: {}: {}", d.place, d.directive);
        }
    }
    let kind = match plan.target.format {
        ObjectFormat::Elf => FileKind::Elf,
        ObjectFormat::MachO => FileKind::MachO,
        ObjectFormat::Coff => FileKind::Pe,
    };
    let format = formats.for_kind(kind);
    if verbose > 0 {
        eprintln!("rlink: target {}", plan.target);
    }
    if plan.args.relocatable {
        let Some(format) = format else {
            bail!("no back end reads {} objects", kind.describe());
        };
        return format.relocatable(&plan);
    }
    let internal_ok = format.is_some_and(|f| f.links_internally(&plan.target));
    let mode = match (
        plan.args.link_mode,
        crate::external::external_required(&plan, internal_ok),
    ) {
        (LinkMode::Internal, Some(reason)) => {
            bail!("internal linking requested but external linking required: {reason}")
        }
        (LinkMode::Auto, Some(reason)) => {
            if verbose > 0 {
                eprintln!("rlink: linking externally: {reason}");
            }
            LinkMode::External
        }
        (LinkMode::Auto, None) => {
            if verbose > 0 {
                eprintln!("rlink: linking internally: nothing requires the host linker");
            }
            LinkMode::Internal
        }
        (mode, _) => mode,
    };
    let Some(format) = format else {
        bail!("no back end writes {} output", kind.describe());
    };
    match mode {
        LinkMode::External => crate::external::link(&plan, format),
        _ => format.link(&plan),
    }
}

static INSPECT_FLAGS: &[FlagSpec] = &[
    args::switch("addresses", "also print addresses and file offsets"),
    args::switch("h", "print this help"),
    args::switch("help", "print this help"),
];

fn inspect_command(args: &[String], formats: Formats) -> Result<()> {
    let mut opts = InspectOptions::default();
    let mut files = Vec::new();
    for arg in args::parse(args, INSPECT_FLAGS)? {
        match arg {
            Arg::Positional(p) => files.push(p),
            Arg::Flag {
                name: "addresses",
                value,
            } => opts.addresses = value == "true",
            Arg::Flag { value, .. } if value == "true" => return print_stdout(&help_text()),
            Arg::Flag { .. } => {}
        }
    }
    if files.is_empty() {
        bail!("inspect: no input files (usage: rlink inspect [-addresses] FILE...)");
    }
    let mut out = String::new();
    for (i, path) in files.iter().enumerate() {
        if files.len() > 1 {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("file: {path}\n"));
        }
        let file = MappedFile::open(Path::new(path))?;
        out.push_str(&inspect_bytes(file.data(), &opts, formats).map_err(|e| e.at(path))?);
    }
    print_stdout(&out)
}

/// The dump of one file's bytes; archives list their members and dump each object member.
pub fn inspect_bytes(data: &[u8], opts: &InspectOptions, formats: Formats) -> Result<String> {
    let kind = FileKind::identify(data);
    if kind == FileKind::Archive {
        let members = archive_members(data)?;
        let mut out = format!("archive: {} members\n", members.len());
        for m in members {
            let member_kind = FileKind::identify(m.data);
            let place = |e: Error| e.at(format_args!("({})", m.name));
            match formats.for_kind(member_kind) {
                Some(_) => {
                    out.push_str(&format!("\nmember: {}\n", m.name));
                    out.push_str(
                        &inspect_object(m.data, member_kind, opts, formats).map_err(place)?,
                    );
                }
                None => out.push_str(&format!(
                    "\nmember: {} ({}, {} bytes)\n",
                    m.name,
                    member_kind.describe(),
                    m.data.len()
                )),
            }
        }
        return Ok(out);
    }
    inspect_object(data, kind, opts, formats)
}

fn inspect_object(
    data: &[u8],
    kind: FileKind,
    opts: &InspectOptions,
    formats: Formats,
) -> Result<String> {
    let Some(format) = formats.for_kind(kind) else {
        bail!(
            "not an ELF, Mach-O or PE/COFF file (it is {})",
            kind.describe()
        );
    };
    let mut report: Report = format.inspect(data, opts)?;
    // Directives live in objects; a PE image keeps none (the section is input-only).
    if kind != FileKind::Pe {
        add_directives(&mut report, data)?;
    }
    Ok(report.render(opts))
}

/// Directives are read by the directives crate for every format, so back ends need not.
fn add_directives(report: &mut Report, data: &[u8]) -> Result<()> {
    let found =
        rlink_directives::directives_in_file(data).map_err(|e| Error::new(e.to_string()))?;
    if let Some(f) = found.into_iter().next() {
        report.directives = Some((
            f.section.to_string(),
            f.directives.iter().map(|d| d.to_string()).collect(),
        ));
    }
    Ok(())
}

static DYNIMPORT_FLAGS: &[FlagSpec] = &[
    args::switch(
        "dynlinker",
        "also print the program interpreter (cgo_dynamic_linker)",
    ),
    args::flag(
        "format",
        "rlink|go",
        "output syntax: rlink directives (default) or go tool cgo -dynimport's",
    ),
    args::flag(
        "dynpackage",
        "NAME",
        "package name for -format=go (default main)",
    ),
    args::flag("o", "FILE", "write to FILE instead of standard output"),
    args::switch("lib", "inputs are shared libraries: list what they export"),
    args::switch("h", "print this help"),
    args::switch("help", "print this help"),
];

fn dynimport_command(args: &[String]) -> Result<()> {
    use rlink_dynimport::{Options, OutputFormat};
    let mut opts = Options::default();
    let mut files = Vec::new();
    let mut output_path = None;
    let mut lib_mode = false;
    for arg in args::parse(args, DYNIMPORT_FLAGS)? {
        match arg {
            Arg::Positional(p) => files.push(p),
            Arg::Flag { name, value } => match name {
                "dynlinker" => opts.dynlinker = value == "true",
                "format" => {
                    opts.format = match value.as_str() {
                        "rlink" => OutputFormat::Rlink,
                        "go" => OutputFormat::Go,
                        other => {
                            bail!("dynimport: -format: unknown format {other:?} (want rlink or go)")
                        }
                    }
                }
                "dynpackage" => opts.package = value,
                "o" => output_path = Some(value),
                "lib" => lib_mode = value == "true",
                _ if value == "true" => return print_stdout(&help_text()),
                _ => {}
            },
        }
    }
    let text = if lib_mode {
        if files.is_empty() {
            bail!("dynimport: -lib needs at least one shared library");
        }
        let mut text = String::new();
        for path in &files {
            let file = MappedFile::open(Path::new(path))?;
            let fallback = Path::new(path)
                .file_name()
                .map(|n| name_from_bytes(n.as_encoded_bytes()));
            let part = rlink_dynimport::library_exports(file.data(), fallback.as_deref(), &opts)
                .map_err(|e| Error::new(format!("{path}: {e}")))?;
            text.push_str(&part);
        }
        text
    } else {
        let [path] = files.as_slice() else {
            bail!("dynimport: want exactly one binary (usage: rlink dynimport [flags] BINARY)");
        };
        let file = MappedFile::open(Path::new(path))?;
        rlink_dynimport::dynimport(file.data(), &opts)
            .map_err(|e| Error::new(format!("{path}: {e}")))?
    };
    match output_path {
        Some(p) => output::write_file_atomically(Path::new(&p), text.as_bytes(), 0o644),
        None => print_stdout(&text),
    }
}

fn print_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => Ok(()),
        // A closed pipe (`rlink inspect x | head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => bail!("writing to standard output: {e}"),
    }
}
