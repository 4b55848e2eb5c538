//! The link plan: the command line turned into files on disk, mapped, identified, with the
//! directives they carry and the target decided. Every front door (Go-style flags, the
//! cc-style and GNU ld lines) builds a [`LinkArgs`] and ends here, so the phases after it see
//! one shape.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rlink_directives::Directive;

use crate::bail;
use crate::diag::{Error, Place, Result};
use crate::input::{archive_members, FileKind, MappedFile};
use crate::par::PerItem as _;
use crate::target::{Cpu, ObjectFormat, Target};

/// How rlink writes the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    Internal,
    External,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildMode {
    Exe,
    Pie,
    /// A shared library (Go's `c-shared`; ld's `-shared`).
    CShared,
}

/// A positional input or a library request, kept in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputArg {
    Path(PathBuf),
    /// `-lNAME`; `-l:file` names a file to find on the search path verbatim.
    Library(String),
    /// `-lNAME` after `-Bstatic`: only `libNAME.a` will do.
    StaticLibrary(String),
    /// ld64's `-framework NAME` (`weak`: `-weak_framework`, a framework the program runs
    /// without): `NAME.framework/NAME(.tbd)` on the framework search path.
    Framework {
        name: String,
        weak: bool,
    },
}

/// How one input is read: the position-dependent switches of GNU ld in force where the line
/// named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputOptions {
    /// A shared library becomes `DT_NEEDED` only when it binds a name (`--as-needed`);
    /// otherwise it is needed because the line names it, as GNU ld does by default.
    pub as_needed: bool,
    /// Every member of an archive is linked, not only those that define a needed name
    /// (`--whole-archive`).
    pub whole_archive: bool,
    /// Between `--start-lib` and `--end-lib`: objects join the link as archive members
    /// do, only when they define a needed name.
    pub lazy: bool,
}

impl Default for InputOptions {
    /// What the Go-style door gives every input: libraries are needed only when used.
    fn default() -> Self {
        InputOptions {
            as_needed: true,
            whole_archive: false,
            lazy: false,
        }
    }
}

/// What GNU ld's options ask of an ELF output beyond what every door sets; each default is
/// what rlink writes without the option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfOptions {
    /// `-z execstack`: PT_GNU_STACK allows execution.
    pub execstack: bool,
    /// `-z stack-size=N`: the main thread's stack size, in PT_GNU_STACK's p_memsz.
    pub stack_size: u64,
    /// `-z norelro` clears it: no PT_GNU_RELRO.
    pub relro: bool,
    /// `--disable-new-dtags` clears it: `-rpath` goes into DT_RPATH, not DT_RUNPATH.
    pub new_dtags: bool,
    /// What `-z` keywords ask of the loader (the format writes them as its flags).
    pub loader_flags: Vec<LoaderFlag>,
    /// `-init NAME`, `-fini NAME`: the functions DT_INIT and DT_FINI name.
    pub init: String,
    pub fini: String,
    /// `-z defs` / `--no-undefined` (a shared library must define or import every name it
    /// references) or `-z undefs`; unset, the build mode's default.
    pub no_undefined: Option<bool>,
    /// `--allow-multiple-definition` / `-z muldefs`: the first definition wins.
    pub allow_multiple_definition: bool,
    /// `--image-base`: the address the output is linked at.
    pub image_base: Option<u64>,
    /// `-z max-page-size`: the page size segments are aligned to in memory.
    pub max_page_size: Option<u64>,
    /// `--audit` and `--depaudit` libraries (DT_AUDIT, DT_DEPAUDIT).
    pub audit: Vec<String>,
    pub depaudit: Vec<String>,
    /// `-Bsymbolic`: a shared library's references bind to its own definitions.
    pub symbolic: bool,
    /// `-Bsymbolic-functions`: its calls bind to its own functions.
    pub symbolic_functions: bool,
    /// `--dynamic-list`, `--export-dynamic-symbol(-list)`: names an executable exports, and
    /// the only names a `-Bsymbolic` (or dynamic-listed) shared library leaves preemptible.
    pub export_list: Option<crate::version_script::VersionScript>,
    /// `--exclude-libs`: archives (file names, or `ALL`) whose definitions are not exported.
    pub exclude_libs: Vec<String>,
    /// `-y` / `--trace-symbol`: names whose references and definitions are printed.
    pub trace_symbols: Vec<String>,
    /// `-t` / `--trace`: print each input file the link reads.
    pub trace: bool,
    /// `--undefined-glob`: patterns of names archive members are pulled for.
    pub undefined_globs: Vec<String>,
    /// `--hash-style`: which dynamic symbol hash tables are written (GNU's by default).
    pub gnu_hash: bool,
    pub sysv_hash: bool,
    pub build_id: BuildId,
    /// Which local symbols `.symtab` keeps.
    pub discard: Discard,
    /// A missing entry symbol is an error (rlink's doors) or a warning (GNU ld's line).
    pub entry_required: bool,
    /// `--no-allow-shlib-undefined`: the line's shared libraries' references must be bound.
    pub no_allow_shlib_undefined: bool,
    /// What a reference nothing defines is (`--unresolved-symbols`,
    /// `--warn-unresolved-symbols`).
    pub unresolved: Unresolved,
    /// `-Bsymbolic-non-weak`: as `-Bsymbolic`, for non-weak definitions only.
    pub symbolic_non_weak: bool,
    /// `-Bsymbolic-non-weak-functions`: as `-Bsymbolic-functions`, for non-weak ones only.
    pub symbolic_non_weak_functions: bool,
    /// `--default-symver`: unversioned exports get a version named after the library.
    pub default_symver: bool,
    /// `--filter`/`-F` and `--auxiliary`/`-f`: DT_FILTER and DT_AUXILIARY names.
    pub filters: Vec<String>,
    pub auxiliaries: Vec<String>,
    /// `-z rodynamic`: `.dynamic` is read-only (and has no DT_DEBUG).
    pub rodynamic: bool,
    /// `--eh-frame-hdr` (rlink's default) or `--no-eh-frame-hdr`.
    pub eh_frame_hdr: bool,
    /// `--dynamic-list-data`: an executable exports its data definitions.
    pub dynamic_list_data: bool,
    /// `-z execstack-if-needed`: the stack is executable when an input's `.note.GNU-stack`
    /// asks for it.
    pub execstack_if_needed: bool,
    /// `-z nosectionheader`: no section header table.
    pub section_headers: bool,
    /// `--retain-symbols-file`: `.symtab` holds only these global names.
    pub retain_symbols: Option<Vec<String>>,
    /// `--dependency-file`: a Makefile rule naming the output's inputs.
    pub dependency_file: Option<std::path::PathBuf>,
    /// Dynamic relocations may patch read-only sections (`-z notext`); `None` is the door's
    /// default: GNU ld's line allows them, rlink's other doors do not.
    pub text_relocations: Option<bool>,
    /// x86-64 CET: `-z ibt` and `-z shstk` mark the output whatever its inputs say;
    /// `-z ibtplt` gives PLT entries landing pads without marking it.
    pub ibt: bool,
    pub shstk: bool,
    pub ibtplt: bool,
    /// `-z x86-64-v2` … `-v4`: the ISA level the output needs (0: what its inputs say).
    pub isa_level: u32,
    /// `--gdb-index`: a `.gdb_index` section for gdb.
    pub gdb_index: bool,
    /// `--compress-debug-sections=zlib|zstd[:LEVEL]`.
    pub compress_debug: Option<(DebugCompression, Option<u32>)>,
    /// `--noinhibit-exec`: errors about undefined names are warnings, and the output is
    /// written.
    pub noinhibit_exec: bool,
    /// `--wrap=SYM`: (SYM, `__wrap_SYM`, `__real_SYM`).
    pub wrap: Vec<(String, String, String)>,
}

/// How the objects' references to names nothing defines are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    Error,
    /// Reported as a warning; the names resolve to 0.
    Warn,
    /// Not reported; the names resolve to 0 (`ignore-all`, `ignore-in-object-files`).
    Ignore,
}

/// `--discard-none`, `--discard-locals` (`-X`, rlink's default: compiler temporaries such
/// as `.L` labels go) and `--discard-all` (`-x`: every local symbol goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    None,
    Locals,
    All,
}

impl Default for ElfOptions {
    fn default() -> Self {
        ElfOptions {
            execstack: false,
            stack_size: 0,
            relro: true,
            new_dtags: true,
            loader_flags: Vec::new(),
            init: "_init".to_string(),
            fini: "_fini".to_string(),
            no_undefined: None,
            allow_multiple_definition: false,
            image_base: None,
            max_page_size: None,
            audit: Vec::new(),
            depaudit: Vec::new(),
            symbolic: false,
            symbolic_functions: false,
            export_list: None,
            exclude_libs: Vec::new(),
            trace_symbols: Vec::new(),
            trace: false,
            undefined_globs: Vec::new(),
            gnu_hash: true,
            sysv_hash: false,
            build_id: BuildId::Fast,
            discard: Discard::Locals,
            entry_required: true,
            no_allow_shlib_undefined: false,
            unresolved: Unresolved::Error,
            symbolic_non_weak: false,
            symbolic_non_weak_functions: false,
            default_symver: false,
            filters: Vec::new(),
            auxiliaries: Vec::new(),
            rodynamic: false,
            eh_frame_hdr: true,
            dynamic_list_data: false,
            execstack_if_needed: false,
            section_headers: true,
            retain_symbols: None,
            dependency_file: None,
            wrap: Vec::new(),
            text_relocations: None,
            noinhibit_exec: false,
            compress_debug: None,
            gdb_index: false,
            ibt: false,
            shstk: false,
            ibtplt: false,
            isa_level: 0,
        }
    }
}

/// How `--compress-debug-sections` compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCompression {
    Zlib,
    Zstd,
}

/// `--build-id`: what identifies the output in its build-id note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildId {
    /// No note (`--build-id=none`, and GNU ld's default).
    None,
    /// rlink's own: 16 bytes of XXH3-128 over the file, the quickest (`--build-id`,
    /// `--build-id=fast`).
    Fast,
    Md5,
    Sha1,
    Sha256,
    /// 16 random bytes, as an RFC 4122 version-4 UUID.
    Uuid,
    /// `--build-id=0xHEX`: these bytes.
    Hex(Vec<u8>),
}

impl BuildId {
    pub fn parse(style: &str) -> Option<BuildId> {
        Some(match style {
            "none" => BuildId::None,
            "fast" | "tree" => BuildId::Fast,
            "md5" => BuildId::Md5,
            "sha1" => BuildId::Sha1,
            "sha256" => BuildId::Sha256,
            "uuid" => BuildId::Uuid,
            _ => {
                let hex = style
                    .strip_prefix("0x")
                    .or_else(|| style.strip_prefix("0X"))?;
                if hex.is_empty() || hex.len() % 2 != 0 {
                    return None;
                }
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                BuildId::Hex(bytes)
            }
        })
    }

    /// The id's length in bytes (0: no note).
    pub fn len(&self) -> usize {
        match self {
            BuildId::None => 0,
            BuildId::Fast | BuildId::Md5 | BuildId::Uuid => 16,
            BuildId::Sha1 => 20,
            BuildId::Sha256 => 32,
            BuildId::Hex(bytes) => bytes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A request to the dynamic loader, from a `-z` keyword of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderFlag {
    /// `$ORIGIN` in the output's paths must be expanded (`-z origin`).
    Origin,
    /// Never unloaded (`-z nodelete`).
    NoDelete,
    /// Initialized before the other libraries (`-z initfirst`).
    InitFirst,
    /// Its definitions come before the program's (`-z interpose`).
    Interpose,
    /// The default library directories are not searched for its needs (`-z nodefaultlib`).
    NoDefaultLib,
    /// Not to be dumped by `dldump` (`-z nodump`).
    NoDump,
    /// Not to be opened with `dlopen` (`-z nodlopen`).
    NoOpen,
}

/// Everything a command line says about a link, before any file is opened: what every front
/// door (Go-style flags, the cc-style and GNU ld lines) builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkArgs {
    pub output: PathBuf,
    pub link_mode: LinkMode,
    pub build_mode: BuildMode,
    /// The host driver command, already split like a shell would.
    pub extld: Vec<String>,
    pub extldflags: Vec<String>,
    pub tmpdir: Option<PathBuf>,
    pub interpreter: Option<String>,
    pub library_dirs: Vec<PathBuf>,
    pub inputs: Vec<InputArg>,
    /// Per input (same index), how it is read; an input without an entry gets the default.
    pub input_options: Vec<InputOptions>,
    pub directive_files: Vec<PathBuf>,
    /// `-r`: DT_RUNPATH, colon-separated directories.
    pub runpath: Option<String>,
    /// DT_SONAME of a shared library (`-soname`).
    pub soname: Option<String>,
    /// Put every global definition of an executable in `.dynsym` (`--export-dynamic`).
    pub export_dynamic: bool,
    /// The entry symbol (`-e`); `_start` by default.
    pub entry: Option<String>,
    /// A fully static executable (`-static`): no interpreter, no dynamic section.
    pub static_exe: bool,
    /// `--version-script`: which names a shared library exports.
    pub version_script: Option<PathBuf>,
    pub strip_symbols: bool,
    pub strip_debug: bool,
    pub verbose: u32,
    pub threads: Option<usize>,
    /// `-no-fork` (`--no-fork`): no background clean-up process.
    pub no_fork: bool,
    /// `-target`, `-m`, `--target=`, `-arch`; `None` takes the first object's.
    pub target: Option<Target>,
    /// `--chroot DIR` (lld): absolute input and library paths are read inside DIR.
    pub chroot: Option<PathBuf>,
    /// `--sysroot DIR`: the system library directories and `=`-prefixed `-L` paths are
    /// under DIR.
    pub sysroot: Option<PathBuf>,
    /// The oldest macOS the output runs on (`-macos_version_min`, `-platform_version`,
    /// clang's `-mmacosx-version-min=`) and the SDK it was built against.
    pub macos_version_min: Option<(u32, u32, u32)>,
    pub macos_sdk_version: Option<(u32, u32, u32)>,
    /// ld64's `-F DIR`: where `-framework` looks first.
    pub framework_dirs: Vec<PathBuf>,
    /// ld64's `-exported_symbols_list FILE`: the names a dylib exports, one per line.
    pub exported_symbols_list: Option<PathBuf>,
    /// ld64's `-undefined dynamic_lookup`: names nothing defines are looked up by dyld in
    /// every loaded image at run time (Python extension modules link this way).
    pub undefined_dynamic_lookup: bool,
    /// A DLL's exports (`/EXPORT`, `/DEF`, a `.def` input); its name is `soname`.
    pub exports: Vec<crate::exports::ExportSpec>,
    /// Names that are kept and pulled from archives, as if referenced (`/INCLUDE`, `-u`).
    pub include_symbols: Vec<String>,
    /// Names the output must define (`--require-defined`).
    pub require_defined: Vec<String>,
    /// `/ALTERNATENAME:from=to`: `from`, when nothing defines it, is `to`.
    pub alternate_names: Vec<(String, String)>,
    /// The main thread's stack: reserve and commit (`/STACK`, `STACKSIZE`).
    pub stack: Option<(u64, Option<u64>)>,
    /// `/SUBSYSTEM:WINDOWS`: a GUI program (no console is opened for it).
    pub windows_gui: bool,
    /// `/MERGE:from=to` pairs of the command line.
    pub section_merges: Vec<(String, String)>,
    /// The oldest glibc the output must run on (`--glibc=2.17`, `-target=…-gnu.2.17`): bundled
    /// glibc manifests bind each name to the newest version that release had.
    pub glibc_floor: Option<(u32, u32)>,
    /// The line is a GNU driver's or GNU ld's: COFF objects link for `*-windows-gnu`
    /// (mingw's library names) unless a target is given.
    pub gnu_line: bool,
    /// Sections nothing reaches are left out (`--gc-sections`): always for the Go-style door,
    /// as Go's linker does, and in GNU ld's only when asked for, as rustc does.
    pub gc_sections: bool,
    /// `-r`: the output is one relocatable object, not a linked program.
    pub relocatable: bool,
    /// The bundled entry stub is linked when no object defines the entry (every door but
    /// GNU ld's: `ld` links only what its line names).
    pub runtime_stubs: bool,
    /// `--defsym NAME=VALUE`: VALUE is a number or another symbol's name.
    pub defsyms: Vec<(String, String)>,
    pub elf: ElfOptions,
}

impl Default for LinkArgs {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkArgs {
    /// The defaults every front door starts from.
    pub fn new() -> Self {
        LinkArgs {
            output: PathBuf::from("a.out"),
            link_mode: LinkMode::Auto,
            build_mode: BuildMode::Pie,
            extld: default_extld(),
            extldflags: Vec::new(),
            tmpdir: None,
            interpreter: None,
            library_dirs: Vec::new(),
            inputs: Vec::new(),
            input_options: Vec::new(),
            directive_files: Vec::new(),
            runpath: None,
            soname: None,
            export_dynamic: false,
            entry: None,
            static_exe: false,
            version_script: None,
            strip_symbols: false,
            strip_debug: false,
            verbose: 0,
            threads: None,
            no_fork: false,
            target: None,
            chroot: None,
            sysroot: None,
            macos_version_min: None,
            macos_sdk_version: None,
            framework_dirs: Vec::new(),
            exported_symbols_list: None,
            undefined_dynamic_lookup: false,
            exports: Vec::new(),
            include_symbols: Vec::new(),
            require_defined: Vec::new(),
            alternate_names: Vec::new(),
            stack: None,
            windows_gui: false,
            section_merges: Vec::new(),
            glibc_floor: None,
            gnu_line: false,
            gc_sections: true,
            relocatable: false,
            runtime_stubs: true,
            defsyms: Vec::new(),
            elf: ElfOptions::default(),
        }
    }
}

/// `$CC` as a shell would split it, else `cc`: the same default Go's linker uses.
pub fn default_extld() -> Vec<String> {
    std::env::var("CC")
        .ok()
        .and_then(|cc| shlex::split(&cc))
        .filter(|words| !words.is_empty())
        .unwrap_or_else(|| vec!["cc".to_string()])
}

/// One input file, mapped and identified.
pub struct LoadedInput {
    pub file: MappedFile,
    pub kind: FileKind,
    /// How it got here: a path on the command line, or the `-l` that found it.
    pub requested_as: String,
    /// A library the output may run without (ld64's `-weak_framework`): its imports are weak.
    pub weak: bool,
    pub options: InputOptions,
    /// For an archive, the member that asks for external linking, if it has one
    /// ([`crate::external::MARKER`], or Go's `dynimportfail`): read with its directives.
    pub external_marker: Option<String>,
}

/// A directive with the place it came from, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedDirective {
    /// `file`, `file(member)`.
    pub place: String,
    pub directive: Directive,
}

pub struct LinkPlan {
    pub args: LinkArgs,
    /// What is linked for: from the command line, else the first object's machine.
    pub target: Target,
    /// Where `-lNAME` is searched, in order: the `-L` directories, then the system ones (both
    /// under `--chroot`; the system ones under `--sysroot` too).
    pub search_dirs: Vec<PathBuf>,
    pub inputs: Vec<LoadedInput>,
    /// Directives from every input object, archive member and `-directives` file, in
    /// command-line order.
    pub directives: Vec<SourcedDirective>,
}

/// A path as the link reads it: under `--chroot DIR` (lld's option, which its `--reproduce`
/// archives use) an absolute path names a file inside DIR.
pub fn rooted(chroot: Option<&Path>, path: &Path) -> PathBuf {
    match (chroot, path.strip_prefix("/")) {
        (Some(root), Ok(rest)) => root.join(rest),
        _ => path.to_path_buf(),
    }
}

/// A path GNU ld reads under the sysroot: `=PATH` or `$SYSROOTPATH`.
pub fn sysroot_relative(path: &str) -> Option<&str> {
    path.strip_prefix('=')
        .or_else(|| path.strip_prefix("$SYSROOT"))
}

/// The library search path of a link: `-L` directories in order (`=DIR` is under the
/// sysroot, as in GNU ld), then the target's system directories, under the sysroot when one
/// is given; all of them inside `--chroot`.
pub fn search_dirs(args: &LinkArgs, target: &Target) -> Vec<PathBuf> {
    let chroot = args.chroot.as_deref();
    let in_sysroot = |dir: &str| match &args.sysroot {
        Some(root) => root.join(dir.trim_start_matches('/')),
        None => PathBuf::from(dir),
    };
    let mut dirs: Vec<PathBuf> = args
        .library_dirs
        .iter()
        .map(|d| match d.to_str().and_then(sysroot_relative) {
            Some(rest) => in_sysroot(rest),
            None => d.clone(),
        })
        .map(|d| rooted(chroot, &d))
        .collect();
    dirs.extend(
        target
            .system_library_dirs(args.sysroot.as_deref())
            .iter()
            .map(|d| rooted(chroot, d)),
    );
    dirs
}

/// The target an object (or the first object of an archive) is for, from its header.
pub fn object_target(data: &[u8]) -> Option<Target> {
    use object::read::Object as _;
    if FileKind::identify(data) == FileKind::Archive {
        return archive_members(data)
            .ok()?
            .iter()
            .find_map(|m| object_target(m.data));
    }
    let file = object::read::File::parse(data).ok()?;
    let cpu = match file.architecture() {
        object::Architecture::X86_64 => Cpu::X86_64,
        object::Architecture::Aarch64 => Cpu::Aarch64,
        _ => return None,
    };
    let format = match file.format() {
        object::BinaryFormat::Elf => ObjectFormat::Elf,
        object::BinaryFormat::MachO => ObjectFormat::MachO,
        object::BinaryFormat::Coff | object::BinaryFormat::Pe => ObjectFormat::Coff,
        _ => return None,
    };
    Some(match format {
        ObjectFormat::Elf => Target::linux(cpu),
        ObjectFormat::MachO => Target {
            cpu,
            os: crate::target::Os::MacOs,
            format,
            env: crate::target::Env::None,
        },
        ObjectFormat::Coff => Target {
            cpu,
            os: crate::target::Os::Windows,
            format,
            env: crate::target::Env::Msvc,
        },
    })
}

/// Finds `-lNAME` the way GNU ld does: `libNAME.so` before `libNAME.a` in each directory of
/// `dirs` (see [`search_dirs`]); `-l:FILE` names the file verbatim. On machines with runtime
/// libraries only there is no `libNAME.so` development link, so the runtime library
/// `libNAME.so.N` found in the same directory is taken instead.
pub fn search_library(name: &str, all: &[PathBuf]) -> Option<PathBuf> {
    search_library_for(name, all, false)
}

/// [`search_library`]; for Apple targets, ld64's order: `libNAME.tbd`, `libNAME.dylib`,
/// `libNAME.a` in each directory.
pub fn search_library_for(name: &str, all: &[PathBuf], apple: bool) -> Option<PathBuf> {
    if let Some(file) = name.strip_prefix(':') {
        return all.iter().map(|d| d.join(file)).find(|p| p.is_file());
    }
    if apple {
        let candidates = [
            format!("lib{name}.tbd"),
            format!("lib{name}.dylib"),
            format!("lib{name}.a"),
        ];
        return all
            .iter()
            .flat_map(|d| candidates.iter().map(move |c| d.join(c)))
            .find(|p| p.is_file());
    }
    let candidates = [format!("lib{name}.so"), format!("lib{name}.a")];
    for dir in all {
        for c in &candidates {
            let p = dir.join(c);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    all.iter().find_map(|dir| runtime_library(dir, name))
}

/// `-lNAME` under `-Bstatic`: `libNAME.a` only (or `-l:FILE`).
pub fn search_static_library(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let file = match name.strip_prefix(':') {
        Some(f) => f.to_string(),
        None => format!("lib{name}.a"),
    };
    dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file())
}

/// `libNAME.so.N` in `dir`, the lowest N when there are several (the ABI major version a
/// program built today most likely wants is the only one installed; ties are broken the
/// same way every time so links are reproducible). N is a number written without leading
/// zeros. The usual majors are looked for by name first: listing a system library directory
/// (over a thousand entries on Debian) costs far more than ten failed lookups.
fn runtime_library(dir: &Path, name: &str) -> Option<PathBuf> {
    if let Some(found) = (0..10)
        .map(|major| dir.join(format!("lib{name}.so.{major}")))
        .find(|p| p.is_file())
    {
        return Some(found);
    }
    let prefix = format!("lib{name}.so.");
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let file_name = e.file_name().into_string().ok()?;
            let digits = file_name.strip_prefix(&prefix)?;
            if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let major = digits.parse::<u64>().ok()?;
            Some((major, e.path()))
        })
        .filter(|(_, path)| path.is_file())
        .collect();
    found.sort();
    found.into_iter().next().map(|(_, p)| p)
}

/// A library rlink carries for a target, used when `-lNAME` is not on the search path: the
/// name messages give it and its contents in the directives grammar (a manifest of what the
/// library exports, such as libSystem's for macOS).
pub type Bundled = Option<(&'static str, &'static str)>;

/// The shared libraries rlink carries for a target's `-lNAME` when it is not on the search
/// path: file names and contents the format's loader reads as those libraries (glibc's export
/// manifests; `-lc` is libc and the dynamic loader, as glibc's `libc.so` script names both).
/// Empty when there is none.
pub type BundledShared = Vec<(String, Vec<u8>)>;

/// The libraries the format back ends carry, asked in turn when `-lNAME` is not found.
pub struct BundledLibraries<'f> {
    pub directives: &'f dyn Fn(&Target, &str) -> Bundled,
    pub shared: &'f dyn Fn(&Target, &str) -> BundledShared,
}

/// Maps every input in parallel and collects the directives they carry.
pub fn load(args: LinkArgs) -> Result<LinkPlan> {
    load_with(
        args,
        &BundledLibraries {
            directives: &|_, _| None,
            shared: &|_, _| Vec::new(),
        },
    )
}

/// [`load`], with the libraries the formats bundle for `-lNAME` not found on the search path.
pub fn load_with(args: LinkArgs, bundled: &BundledLibraries<'_>) -> Result<LinkPlan> {
    let chroot = args.chroot.as_deref();
    // Without a -target, the first object says what is linked: it is mapped first (once).
    let mut first: Option<(usize, MappedFile)> = None;
    let target = match args.target {
        Some(t) => t,
        None => {
            let mut found = None;
            for (i, input) in args.inputs.iter().enumerate() {
                let InputArg::Path(p) = input else { continue };
                let file = MappedFile::open(&rooted(chroot, p))?;
                found = object_target(file.data());
                first = Some((i, file));
                if found.is_some() {
                    break;
                }
            }
            let mut t = found.or_else(Target::host).unwrap_or(Target::X86_64_LINUX);
            // A GNU driver's line links COFF objects for mingw (`*-windows-gnu`).
            if t.format == crate::target::ObjectFormat::Coff && args.gnu_line {
                t.env = crate::target::Env::Gnu;
            }
            t
        }
    };
    let search_dirs = search_dirs(&args, &target);
    // `-lNAME`s looked up in parallel (each is a few file-system lookups per directory),
    // then taken in command-line order below.
    let apple = target.format == ObjectFormat::MachO;
    let found_libraries: std::collections::HashMap<&str, Option<PathBuf>> = args
        .inputs
        .iter()
        .filter_map(|input| match input {
            InputArg::Library(name) => Some(name.as_str()),
            _ => None,
        })
        .collect::<std::collections::HashSet<&str>>()
        .into_par_iter()
        .map(|name| (name, search_library_for(name, &search_dirs, apple)))
        .collect();
    let mut paths = Vec::with_capacity(args.inputs.len());
    let mut manifests: Vec<(&'static str, &'static str)> = Vec::new();
    // Bundled shared libraries, by their position in `paths` (their path is their name).
    let mut in_memory: Vec<(usize, Vec<u8>)> = Vec::new();
    // How each entry of `paths` is read.
    let mut options: Vec<InputOptions> = Vec::with_capacity(args.inputs.len());
    for (index, input) in args.inputs.iter().enumerate() {
        let mut opts = args.input_options.get(index).copied().unwrap_or_default();
        // Mach-O and PE name the libraries they import from by what binds, as ld64 and
        // link.exe do; only ELF has GNU ld's libraries needed for being named.
        if target.format != ObjectFormat::Elf {
            opts.as_needed = true;
        }
        // Bundled libraries beyond the first (ld-linux beside libc) are as-needed, as in
        // the linker script a system's libc.so is.
        let mut carried_opts = opts;
        carried_opts.as_needed = true;
        let before = paths.len();
        match input {
            InputArg::Path(p) => {
                let in_sysroot = match (&args.sysroot, p.to_str().and_then(sysroot_relative)) {
                    (Some(root), Some(rest)) => Some(root.join(rest.trim_start_matches('/'))),
                    _ => None,
                };
                let p = in_sysroot.as_ref().unwrap_or(p);
                paths.push((rooted(chroot, p), p.display().to_string()))
            }
            InputArg::StaticLibrary(name) => match search_static_library(name, &search_dirs) {
                Some(p) => paths.push((p, format!("-l{name}"))),
                None => bail!("cannot find -l{name} (static: libNAME.a only, after -Bstatic)"),
            },
            InputArg::Framework { name, weak } => {
                let mut dirs: Vec<PathBuf> = args.framework_dirs.clone();
                let system = Path::new("System/Library/Frameworks");
                dirs.push(match &args.sysroot {
                    Some(root) => root.join(system),
                    None => Path::new("/").join(system),
                });
                let found = dirs.iter().find_map(|d| {
                    let base = d.join(format!("{name}.framework"));
                    [base.join(format!("{name}.tbd")), base.join(name)]
                        .into_iter()
                        .find(|p| p.is_file())
                });
                match found {
                    Some(p) => {
                        let option = if *weak {
                            "-weak_framework"
                        } else {
                            "-framework"
                        };
                        paths.push((p, format!("{option} {name}")))
                    }
                    None => bail!(
                        "cannot find -framework {name}: rlink reads a framework's exports from \
                         {name}.framework/{name}.tbd (the stub an SDK ships); put one under a \
                         -F directory or -syslibroot SDK/System/Library/Frameworks, or bind \
                         its names with cgo_import_dynamic directives naming its install path"
                    ),
                }
            }
            InputArg::Library(name) => {
                match found_libraries.get(name.as_str()).cloned().flatten() {
                    Some(p) => paths.push((p, format!("-l{name}"))),
                    None => {
                        // Not on the search path: a library the format carries, else an error.
                        let carried = (bundled.shared)(&target, name);
                        if !carried.is_empty() {
                            for (file_name, bytes) in carried {
                                if !paths.iter().any(|(p, _)| *p == Path::new(&file_name)) {
                                    in_memory.push((paths.len(), bytes));
                                    paths.push((PathBuf::from(file_name), format!("-l{name}")));
                                    options.push(if paths.len() == before + 1 {
                                        opts
                                    } else {
                                        carried_opts
                                    });
                                }
                            }
                            continue;
                        }
                        let Some(found) = (bundled.directives)(&target, name) else {
                            bail!(
                                "cannot find -l{name} (searched {})",
                                search_dirs
                                    .iter()
                                    .map(|d| d.display().to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        if !manifests.iter().any(|m| m.0 == found.0) {
                            manifests.push(found);
                        }
                    }
                }
            }
        }
        if paths.len() > before && options.len() < paths.len() {
            options.push(opts);
        }
    }
    if paths.is_empty() && args.directive_files.is_empty() && manifests.is_empty() {
        bail!("no input files");
    }

    // One path per input, in order; the one mapped to find the target is not mapped again.
    let mut mapped: Vec<Option<MappedFile>> = (0..paths.len()).map(|_| None).collect();
    if let Some((at, file)) = first {
        mapped[at] = Some(file);
    }
    for (at, bytes) in in_memory {
        mapped[at] = Some(MappedFile::from_bytes(paths[at].0.clone(), bytes));
    }
    // Each is opened and mapped in `finish`'s pass over the inputs.
    let files: Vec<(InputFile, String, InputOptions)> = paths
        .into_iter()
        .zip(mapped)
        .zip(options)
        .map(|(((path, requested_as), mapped), options)| {
            let file = match mapped {
                Some(file) => InputFile::Mapped(file),
                None => InputFile::Path(path),
            };
            (file, requested_as, options)
        })
        .collect();
    let mut directives = Vec::new();
    for path in &args.directive_files {
        directives.extend(directives_of_text_file(path)?);
    }
    for (name, text) in manifests {
        directives.extend(parse_directive_text(name, text.as_bytes())?);
    }
    finish(args, target, search_dirs, files, directives)
}

/// A plan over inputs already in memory (`(name, bytes)`, in command-line order): what a
/// link without a file system sees — the fuzz targets' whole links, for one.
pub fn from_memory(args: LinkArgs, files: Vec<(String, Vec<u8>)>) -> Result<LinkPlan> {
    let target = args
        .target
        .or_else(|| files.iter().find_map(|(_, data)| object_target(data)))
        .unwrap_or(Target::X86_64_LINUX);
    let search_dirs = search_dirs(&args, &target);
    let files = files
        .into_iter()
        .map(|(name, data)| {
            (
                InputFile::Mapped(MappedFile::from_bytes(&name, data)),
                name,
                InputOptions::default(),
            )
        })
        .collect();
    finish(args, target, search_dirs, files, Vec::new())
}

/// An input for [`finish`]: in memory already, or a file to open and map.
enum InputFile {
    Mapped(MappedFile),
    Path(PathBuf),
}

/// Maps each input, identifies it and collects the directives it carries, in parallel; the
/// directives of `-directives` files come last.
fn finish(
    args: LinkArgs,
    target: Target,
    search_dirs: Vec<PathBuf>,
    files: Vec<(InputFile, String, InputOptions)>,
    extra_directives: Vec<SourcedDirective>,
) -> Result<LinkPlan> {
    // Per input, in one parallel pass: its file mapped, what it is (the first touch of its
    // bytes), its directives and, for an archive, its external-linking marker (a look at the
    // member names, whose headers reading the directives has just brought in). One pass, not
    // one per step: every step waits for the largest input, and a pass's end leaves a thread
    // idle while the other finishes.
    let per_input: Vec<(LoadedInput, Vec<SourcedDirective>)> = files
        .into_par_iter()
        .per_item()
        .map(|(file, requested_as, options)| {
            let file = match file {
                InputFile::Mapped(file) => file,
                InputFile::Path(path) => MappedFile::open(&path)?,
            };
            let kind = FileKind::identify(file.data());
            let mut input = LoadedInput {
                file,
                kind,
                weak: requested_as.starts_with("-weak_framework "),
                requested_as,
                options,
                external_marker: None,
            };
            let directives = directives_of_input(&input)?;
            if input.kind == FileKind::Archive {
                input.external_marker = crate::input::archive_member_names(input.file.data())
                    .find(|name| crate::external::is_marker(name))
                    .map(|name| String::from_utf8_lossy(name).into_owned());
            }
            Ok((input, directives))
        })
        .collect::<Result<_>>()?;
    let (inputs, found): (Vec<LoadedInput>, Vec<Vec<SourcedDirective>>) =
        per_input.into_iter().unzip();
    let mut directives: Vec<SourcedDirective> = found.into_iter().flatten().collect();
    directives.extend(extra_directives);
    Ok(LinkPlan {
        args,
        target,
        search_dirs,
        inputs,
        directives,
    })
}

/// A thin archive's members are files beside it: each is read for directives.
fn directives_of_thin_archive(input: &LoadedInput) -> Result<Vec<SourcedDirective>> {
    let name = input.file.display_name();
    let mut out = Vec::new();
    for (member_name, path) in crate::input::thin_archive_members(&input.file)? {
        let place = format!("{name}({member_name})");
        let bytes = std::fs::read(path).map_err(|e| Error::new(format!("{place}: {e}")))?;
        let found = rlink_directives::directives_in_file(&bytes)
            .map_err(|e| Error::new(format!("{place}: {e}")))?;
        for f in found {
            out.extend(f.directives.into_iter().map(|directive| SourcedDirective {
                place: place.clone(),
                directive,
            }));
        }
    }
    Ok(out)
}

fn directives_of_input(input: &LoadedInput) -> Result<Vec<SourcedDirective>> {
    let name = input.file.display_name();
    match input.kind {
        FileKind::Elf | FileKind::MachO | FileKind::Coff | FileKind::Archive => {}
        FileKind::Text => return directives_of_text(&name, input.file.data()),
        FileKind::Tbd | FileKind::Exports => return Ok(Vec::new()),
        FileKind::Unknown if input.file.data().is_empty() => {
            bail!("{name}: unknown file type: the file is empty")
        }
        FileKind::Unknown => bail!(
            "{name}: unknown file type: not an object, archive, shared library, linker script \
             or directives file"
        ),
        FileKind::Pe | FileKind::MachOFat => {
            bail!(
                "{name}: not an object, archive, shared library or directives file (it is {})",
                input.kind.describe()
            )
        }
    }
    if crate::input::is_thin_archive(input.file.data()) {
        return directives_of_thin_archive(input);
    }
    let error = |e: rlink_directives::FileError| {
        let place = Place {
            file: &name,
            member: e.member.as_deref(),
        };
        Error::new(format!("{place}: {e}"))
    };
    let found = if input.kind == FileKind::Archive {
        // Member by member in parallel: reading each member's section headers is a page
        // fault or two, and one archive (a crate's rlib of many codegen units) would
        // otherwise hold up the phase.
        let members = rlink_directives::archive_objects(input.file.data()).map_err(error)?;
        let found: Vec<Option<_>> = members
            .into_par_iter()
            .per_item()
            .map(|(member, data)| rlink_directives::directives_in_member(data, member))
            .collect::<Result<_, _>>()
            .map_err(error)?;
        found.into_iter().flatten().collect()
    } else {
        rlink_directives::directives_in_file(input.file.data()).map_err(error)?
    };
    Ok(found
        .into_iter()
        .flat_map(|f| {
            let place = Place {
                file: &name,
                member: f.member.as_deref(),
            }
            .to_string();
            f.directives
                .into_iter()
                .map(move |directive| SourcedDirective {
                    place: place.clone(),
                    directive,
                })
        })
        .collect())
}

/// A text input is either a directives file, whose first non-blank line is a directive, or —
/// anything else, as GNU ld treats a file of no known format — a linker script, read by the
/// format's loader later (and reported there if it is not one).
pub fn is_directives_text(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&data[..data.len().min(4096)]);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    ["cgo_", "//go:cgo_", "#pragma dyn"]
        .iter()
        .any(|p| first.starts_with(p))
}

fn directives_of_text(name: &str, data: &[u8]) -> Result<Vec<SourcedDirective>> {
    if !is_directives_text(data) {
        return Ok(Vec::new());
    }
    parse_directive_text(name, data)
}

fn directives_of_text_file(path: &Path) -> Result<Vec<SourcedDirective>> {
    let name = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| Error::new(format!("{name}: {e}")))?;
    parse_directive_text(&name, &data)
}

fn parse_directive_text(name: &str, data: &[u8]) -> Result<Vec<SourcedDirective>> {
    let parsed =
        rlink_directives::parse_bytes(data).map_err(|e| Error::new(format!("{name}:{e}")))?;
    Ok(parsed
        .into_iter()
        .map(|directive| SourcedDirective {
            place: name.to_string(),
            directive,
        })
        .collect())
}

/// The object members of an archive, for phases that walk them.
pub fn object_members(input: &LoadedInput) -> Result<Vec<crate::input::Member<'_>>> {
    let name = input.file.display_name();
    let members = archive_members(input.file.data()).map_err(|e| e.at(&name))?;
    Ok(members
        .into_iter()
        .filter(|m| FileKind::identify(m.data) != FileKind::Unknown)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_libraries_are_the_lowest_major_written_plainly() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "libbar.so.12",
            "libbar.so.10",
            "libbar.so.010",
            "libbar.so.1x",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let found = search_library("bar", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("libbar.so.10"));
        std::fs::write(dir.path().join("libbar.so.03"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("libbar.so.2")).unwrap();
        let found = search_library("bar", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("libbar.so.10"));
        std::fs::write(dir.path().join("libbar.so.7"), b"x").unwrap();
        let found = search_library("bar", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("libbar.so.7"));
    }

    #[test]
    fn runtime_libraries_stand_in_for_missing_dev_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libfoo.so.2"), b"x").unwrap();
        std::fs::write(dir.path().join("libfoo.so.1"), b"x").unwrap();
        let found = search_library("foo", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("libfoo.so.1"));

        std::fs::write(dir.path().join("libfoo.a"), b"x").unwrap();
        let found = search_library("foo", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("libfoo.a"));

        std::fs::write(dir.path().join("libfoo.so"), b"x").unwrap();
        let found = search_library("foo", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("libfoo.so"));

        std::fs::write(dir.path().join("exact.bin"), b"x").unwrap();
        let found = search_library(":exact.bin", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(found, dir.path().join("exact.bin"));
        assert_eq!(
            search_library("surely-not-a-library-name", &[dir.path().to_path_buf()]),
            None
        );
    }
}
