//! The other two front doors: the cc-driver line rustc passes to `linker = "rlink"`, and the
//! GNU ld line gcc's collect2 and clang pass when rlink is their `ld`
//! (what rustc passes is described in the README). Both end in the same [`LinkArgs`] the Go-style
//! flags build, so the link after them is the same.
//!
//! A cc line is first translated into ld words (`-Wl,a,b` → `a b`; driver-only options such as
//! `-m64`, `-nodefaultlibs`, `-fuse-ld=…`, `-B…` dropped, since rlink is the linker and its
//! entry stub replaces crt files), then parsed as an ld line. Unknown options get a warning and
//! the link goes on: a new rustc or compiler release must not break builds.

use std::path::PathBuf;

use crate::args::{BuildMode, Command, InputArg, LinkArgs, LinkMode};
use crate::bail;
use crate::diag::Result;
use crate::target::Target;

/// Which command-line dialect an invocation speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Go,
    Cc,
    Ld,
}

/// Decides the dialect from the program name and the arguments.
pub fn dialect(program: &str, args: &[String]) -> Dialect {
    let name = std::path::Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    // Installed as `ld`, `ld.rlink`, `x86_64-linux-gnu-ld`, or in the place of another GNU-ld
    // compatible linker (`mold`, `wild`, which drivers run for `-fuse-ld=`).
    if name == "ld"
        || name.starts_with("ld.")
        || name.ends_with("-ld")
        || name == "mold"
        || name == "wild"
    {
        return Dialect::Ld;
    }
    if args.first().map(String::as_str) == Some("-flavor") {
        return Dialect::Ld;
    }
    // Options only an ld line has (a cc line carries them inside `-Wl,`): checked first, since
    // both lines may hold `-pie`.
    let ld_marker = |a: &str| {
        a == "--eh-frame-hdr"
            || a == "-dynamic-linker"
            || a.starts_with("--hash-style")
            || a.starts_with("--build-id")
            || a == "--as-needed"
            || a == "-plugin"
            || a == "--gc-sections"
            || a == "-z"
            || a == "-m"
            || a == "--chroot"
    };
    if args.iter().any(|a| ld_marker(a)) {
        return Dialect::Ld;
    }
    let cc_marker = |a: &str| {
        a.starts_with("-Wl,")
            || a.starts_with("-fuse-ld=")
            || a.starts_with("--ld-path=")
            || a.starts_with("-B")
            || matches!(
                a,
                "-m64"
                    | "-nodefaultlibs"
                    | "-nostartfiles"
                    | "-no-pie"
                    | "-pie"
                    | "-fno-use-linker-plugin"
                    | "-Xlinker"
            )
    };
    if args.iter().any(|a| cc_marker(a)) {
        Dialect::Cc
    } else {
        Dialect::Go
    }
}

/// Translates a cc-driver line into ld words.
pub fn cc_to_ld(args: &[String], warn: &mut dyn FnMut(String)) -> Vec<String> {
    // As the drivers of Linux distributions do, a build id is asked for (rlink's quick one)
    // and the GNU hash table alone; the line may ask for other styles later.
    let mut out = vec![
        "--build-id=fast".to_string(),
        "--hash-style=gnu".to_string(),
    ];
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let a = a.as_str();
        if let Some(list) = a.strip_prefix("-Wl,") {
            out.extend(
                list.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        match a {
            "-Xlinker" => out.extend(it.next().cloned()),
            // The target, as clang's driver and Apple's name it: rlink reads both.
            "-target" | "-arch" => {
                out.push(format!("-{a}"));
                out.extend(it.next().cloned());
            }
            _ if a.starts_with("--target=") => out.push(a.to_string()),
            // The deployment target, as clang spells it for Apple platforms.
            _ if a.starts_with("-mmacosx-version-min=")
                || a.starts_with("-mmacos-version-min=") =>
            {
                out.push("-macos_version_min".to_string());
                out.push(
                    a.split_once('=')
                        .map(|x| x.1)
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            // Options of the driver itself: rlink is the linker, and its entry stub stands in
            // for the crt files these would add or remove.
            "-m64"
            | "-nodefaultlibs"
            | "-nostartfiles"
            | "-nostdlib"
            | "-fno-use-linker-plugin"
            | "-static-libgcc"
            | "-pthread"
            | "-no-canonical-prefixes" => {}
            "-B" => {
                it.next();
            }
            _ if a.starts_with("-fuse-ld=")
                || a.starts_with("--ld-path=")
                || a.starts_with("-B") => {}
            _ if a.starts_with("-march=")
                || a.starts_with("-mtune=")
                || a.starts_with("-O")
                || a.starts_with("-g") => {}
            "-rdynamic" => out.push("--export-dynamic".to_string()),
            "-o" | "-L" | "-l" | "-u" | "-framework" | "-weak_framework" | "-F" => {
                out.push(a.to_string());
                out.extend(it.next().cloned());
            }
            "-pie" | "-no-pie" | "-static" | "-shared" | "-static-pie" | "-s" | "-v" => {
                out.push(a.to_string())
            }
            // clang's spelling of ld64's -dylib.
            "-dynamiclib" => out.push("-dylib".to_string()),
            _ if a.starts_with("-l")
                || a.starts_with("-L")
                || a.starts_with("-o")
                || !a.starts_with('-')
                || a == "-" =>
            {
                out.push(a.to_string())
            }
            // rlink's own flags passed through rustc (`-C link-arg=-linkmode=external`,
            // `-C link-arg=--glibc=2.17`).
            _ if a.starts_with("-linkmode=")
                || a.starts_with("-extld=")
                || a.starts_with("-tmpdir=")
                || a.starts_with("--glibc=")
                || a.starts_with("-glibc=") =>
            {
                out.push(a.to_string())
            }
            // The driver's sysroot is the linker's.
            _ if a.starts_with("--sysroot=") => out.push(a.to_string()),
            "--sysroot" => {
                out.push(a.to_string());
                out.extend(it.next().cloned());
            }
            _ => warn(format!("ignoring unknown compiler-driver option {a}")),
        }
    }
    out
}

/// Whether a GNU ld option takes a value, and how it may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// A switch: `--gc-sections`.
    Nothing,
    /// `--opt=value`, `--opt value`, `-opt=value`, `-opt value`; short ones also `-ovalue`.
    Value,
    /// A value only after `=` (`--build-id`, `--build-id=sha1`): the next word is never
    /// taken, as GNU ld's getopt does for optional arguments.
    Optional,
}

/// What rlink does with an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Fork(bool),
    Output,
    Undefined,
    LibraryPath,
    Library,
    Bstatic,
    Bdynamic,
    Static,
    PushState,
    PopState,
    Emulation,
    Z,
    DynamicLinker,
    Pie,
    NoPie,
    Shared,
    Soname,
    StaticPie,
    Rpath,
    StripAll,
    StripDebug,
    Entry,
    ExportDynamic,
    VersionScript,
    Version,
    Help,
    Threads,
    /// `--target=TRIPLE` (a driver's, passed on) and ld64's `-arch NAME`.
    Target,
    AppleArch,
    /// ld64's `-macos_version_min X.Y[.Z]` (clang's `-mmacosx-version-min=`).
    MacosVersionMin,
    /// ld64's `-platform_version PLATFORM MIN SDK`: three words.
    PlatformVersion,
    /// ld64's `-framework NAME`, `-weak_framework NAME` and `-F DIR`.
    Framework,
    ExportedSymbolsList,
    Chroot,
    Sysroot,
    /// rlink's `--glibc=X.Y`.
    Glibc,
    /// `--require-defined SYMBOL`: as `-u`, and an error when nothing defines it.
    RequireDefined,
    /// GNU ld's PE `--subsystem console|windows` and `--stack reserve[,commit]`.
    Subsystem,
    Stack,
    /// rlink's own `-linkmode=`, `-extld=`, `-tmpdir=` passed through a driver.
    LinkMode,
    Extld,
    Tmpdir,
    AsNeeded(bool),
    NoUndefined,
    AllowMultipleDefinition,
    NewDtags(bool),
    Init,
    Fini,
    NoThreads,
    Demangle(bool),
    Defsym,
    ImageBase,
    UnresolvedSymbols,
    WarnUnresolved(bool),
    ShlibUndefined(bool),
    HashStyle,
    BuildId,
    CompressDebugSections,
    Discard(crate::plan::Discard),
    Symbolic,
    SymbolicFunctions,
    DynamicList,
    ExportDynamicSymbol,
    ExportDynamicSymbolList,
    ExcludeLibs,
    TraceSymbol,
    Trace,
    UndefinedGlob,
    Audit,
    DepAudit,
    Relocatable,
    WholeArchive(bool),
    GcSections(bool),
    NoSymbolic,
    SymbolicNonWeak,
    SymbolicNonWeakFunctions,
    DefaultSymver,
    Filter,
    Auxiliary,
    EhFrameHdr(bool),
    DynamicListData,
    RetainSymbolsFile,
    DependencyFile,
    Wrap,
    TextSegment,
    Lib(bool),
    NoInhibitExec,
    GdbIndex(bool),
    /// Read and accepted: rlink's output already is what the option asks for, or the option
    /// only tunes how the link runs (optimisation hints, plugins, diagnostics colours).
    Accepted,
    /// A GNU ld option rlink does not implement yet: an error, since going on would write an
    /// output other than the one asked for.
    NotImplemented,
}

/// One GNU ld option: its long spellings (each accepted with one dash or two), its short
/// letter, what it takes and what rlink does with it.
struct LdOption {
    long: &'static [&'static str],
    short: Option<char>,
    takes: Takes,
    act: Act,
}

const fn opt(
    long: &'static [&'static str],
    short: Option<char>,
    takes: Takes,
    act: Act,
) -> LdOption {
    LdOption {
        long,
        short,
        takes,
        act,
    }
}

use Takes::{Nothing, Optional, Value};

/// GNU ld's options (and lld's additions that build systems pass), so that every one is read
/// with the right number of words even when rlink does not act on it.
static LD_OPTIONS: &[LdOption] = &[
    opt(&["output"], Some('o'), Value, Act::Output),
    opt(&["library-path"], Some('L'), Value, Act::LibraryPath),
    opt(&["library"], Some('l'), Value, Act::Library),
    opt(
        &["Bstatic", "dn", "non_shared"],
        None,
        Nothing,
        Act::Bstatic,
    ),
    opt(&["static"], None, Nothing, Act::Static),
    opt(
        &["Bdynamic", "dy", "call_shared"],
        None,
        Nothing,
        Act::Bdynamic,
    ),
    opt(&["push-state"], None, Nothing, Act::PushState),
    opt(&["pop-state"], None, Nothing, Act::PopState),
    opt(&["emulation"], Some('m'), Value, Act::Emulation),
    opt(&[], Some('z'), Value, Act::Z),
    opt(&["dynamic-linker"], Some('I'), Value, Act::DynamicLinker),
    opt(&["pie", "pic-executable"], None, Nothing, Act::Pie),
    opt(&["no-pie", "no-pic-executable"], None, Nothing, Act::NoPie),
    opt(&["shared", "Bshareable"], None, Nothing, Act::Shared),
    opt(&["soname"], Some('h'), Value, Act::Soname),
    opt(&["static-pie"], None, Nothing, Act::StaticPie),
    opt(&["rpath"], Some('R'), Value, Act::Rpath),
    opt(&["strip-all"], Some('s'), Nothing, Act::StripAll),
    opt(&["strip-debug"], Some('S'), Nothing, Act::StripDebug),
    opt(&["entry"], Some('e'), Value, Act::Entry),
    opt(&["export-dynamic"], Some('E'), Nothing, Act::ExportDynamic),
    opt(&["version-script"], None, Value, Act::VersionScript),
    opt(&["version"], Some('v'), Nothing, Act::Version),
    opt(&[], Some('V'), Nothing, Act::Version),
    opt(&["help"], None, Nothing, Act::Help),
    opt(&["threads", "thread-count"], None, Optional, Act::Threads),
    opt(&["target"], None, Value, Act::Target),
    // rlink's own: the oldest glibc the output runs on.
    opt(&["glibc"], None, Value, Act::Glibc),
    opt(&["arch"], None, Value, Act::AppleArch),
    // ld64's spellings (rustc's line for Apple targets passes them through -Wl,).
    opt(
        &["macos_version_min", "macosx_version_min"],
        None,
        Value,
        Act::MacosVersionMin,
    ),
    opt(&["platform_version"], None, Value, Act::PlatformVersion),
    // ld64's `-undefined dynamic_lookup|error`; GNU ld's `--undefined=SYM` (`-u`) otherwise.
    opt(&["undefined"], None, Value, Act::Undefined),
    opt(&["require-defined"], None, Value, Act::RequireDefined),
    opt(&["dylib"], None, Nothing, Act::Shared),
    opt(
        &["install_name", "dylib_install_name"],
        None,
        Value,
        Act::Soname,
    ),
    // rlink always removes what nothing reaches; the rest change nothing in its output.
    opt(
        &[
            "dead_strip_dylibs",
            "headerpad_max_install_names",
            "no_deduplicate",
        ],
        None,
        Nothing,
        Act::Accepted,
    ),
    opt(&["dead_strip"], None, Nothing, Act::GcSections(true)),
    opt(
        &["framework", "weak_framework"],
        None,
        Value,
        Act::Framework,
    ),
    opt(
        &["exported_symbols_list"],
        None,
        Value,
        Act::ExportedSymbolsList,
    ),
    opt(
        &["unexported_symbols_list", "headerpad", "object_path_lto"],
        None,
        Value,
        Act::NotImplemented,
    ),
    // GNU ld's PE switches for what rlink's Windows images always are (relocatable, ASLR with
    // 64-bit entropy, NX-compatible; no automatic image base), as rustc passes them for
    // windows-gnu targets.
    opt(
        &[
            "dynamicbase",
            "high-entropy-va",
            "nxcompat",
            "disable-auto-image-base",
            "tsaware",
        ],
        None,
        Nothing,
        Act::Accepted,
    ),
    opt(&["subsystem"], None, Value, Act::Subsystem),
    opt(&["stack"], None, Value, Act::Stack),
    opt(&["chroot"], None, Value, Act::Chroot),
    // ld64 names it -syslibroot.
    opt(&["sysroot", "syslibroot"], None, Value, Act::Sysroot),
    opt(&["linkmode"], None, Value, Act::LinkMode),
    opt(&["extld"], None, Value, Act::Extld),
    opt(&["tmpdir"], None, Value, Act::Tmpdir),
    // Accepted: rlink already does this, or it does not change the output.
    opt(
        &[
            // Checks of the version script against the definitions: it is read as written
            // either way.
            "no-undefined-version",
            "undefined-version",
            "start-group",
            "end-group",
            "(",
            ")",
            "fatal-warnings",
            "no-fatal-warnings",
            "nostdlib",
            "no-copy-dt-needed-entries",
            "warn-common",
            "no-warn-mismatch",
            "warn-shared-textrel",
            "fix-cortex-a53-843419",
            "no-keep-memory",
            "reduce-memory-overheads",
            "stats",
            "relax",
            "no-relax",
            "sort-common",
        ],
        None,
        Nothing,
        Act::Accepted,
    ),
    opt(&["as-needed"], None, Nothing, Act::AsNeeded(true)),
    opt(&["no-undefined"], None, Nothing, Act::NoUndefined),
    opt(
        &["allow-multiple-definition"],
        None,
        Nothing,
        Act::AllowMultipleDefinition,
    ),
    opt(&["enable-new-dtags"], None, Nothing, Act::NewDtags(true)),
    opt(&["disable-new-dtags"], None, Nothing, Act::NewDtags(false)),
    opt(&["init"], None, Value, Act::Init),
    opt(&["defsym"], None, Value, Act::Defsym),
    opt(&["Bsymbolic"], None, Nothing, Act::Symbolic),
    opt(&["Bno-symbolic"], None, Nothing, Act::NoSymbolic),
    opt(&["Bsymbolic-non-weak"], None, Nothing, Act::SymbolicNonWeak),
    opt(
        &["Bsymbolic-non-weak-functions"],
        None,
        Nothing,
        Act::SymbolicNonWeakFunctions,
    ),
    opt(&["default-symver"], None, Nothing, Act::DefaultSymver),
    opt(&["filter"], Some('F'), Value, Act::Filter),
    opt(&["auxiliary"], Some('f'), Value, Act::Auxiliary),
    opt(&["no-eh-frame-hdr"], None, Nothing, Act::EhFrameHdr(false)),
    opt(&["dynamic-list-data"], None, Nothing, Act::DynamicListData),
    opt(
        &["retain-symbols-file"],
        None,
        Value,
        Act::RetainSymbolsFile,
    ),
    opt(&["dependency-file"], None, Value, Act::DependencyFile),
    opt(&["wrap"], None, Value, Act::Wrap),
    opt(&["Ttext-segment"], None, Value, Act::TextSegment),
    opt(&["start-lib"], None, Nothing, Act::Lib(true)),
    opt(&["noinhibit-exec"], None, Nothing, Act::NoInhibitExec),
    opt(&["gdb-index"], None, Nothing, Act::GdbIndex(true)),
    opt(&["no-gdb-index"], None, Nothing, Act::GdbIndex(false)),
    opt(&["end-lib"], None, Nothing, Act::Lib(false)),
    opt(
        &["Bsymbolic-functions"],
        None,
        Nothing,
        Act::SymbolicFunctions,
    ),
    opt(&["dynamic-list"], None, Value, Act::DynamicList),
    opt(&["eh-frame-hdr"], None, Nothing, Act::EhFrameHdr(true)),
    opt(
        &["export-dynamic-symbol"],
        None,
        Value,
        Act::ExportDynamicSymbol,
    ),
    opt(
        &["export-dynamic-symbol-list"],
        None,
        Value,
        Act::ExportDynamicSymbolList,
    ),
    opt(&["exclude-libs"], None, Value, Act::ExcludeLibs),
    opt(&["trace-symbol"], Some('y'), Value, Act::TraceSymbol),
    opt(&["trace"], Some('t'), Nothing, Act::Trace),
    opt(&["undefined-glob"], None, Value, Act::UndefinedGlob),
    opt(&["image-base"], None, Value, Act::ImageBase),
    opt(&["unresolved-symbols"], None, Value, Act::UnresolvedSymbols),
    opt(
        &["warn-unresolved-symbols"],
        None,
        Nothing,
        Act::WarnUnresolved(true),
    ),
    opt(
        &["error-unresolved-symbols"],
        None,
        Nothing,
        Act::WarnUnresolved(false),
    ),
    opt(
        &["no-allow-shlib-undefined"],
        None,
        Nothing,
        Act::ShlibUndefined(false),
    ),
    opt(
        &["allow-shlib-undefined"],
        None,
        Nothing,
        Act::ShlibUndefined(true),
    ),
    opt(&["hash-style"], None, Value, Act::HashStyle),
    opt(&["build-id"], None, Optional, Act::BuildId),
    opt(
        &["compress-debug-sections"],
        None,
        Optional,
        Act::CompressDebugSections,
    ),
    opt(&["audit"], None, Value, Act::Audit),
    opt(&["depaudit"], Some('P'), Value, Act::DepAudit),
    opt(&["fini"], None, Value, Act::Fini),
    // GNU ld prints its version and default script; rlink has no default script to show.
    opt(&["verbose"], None, Optional, Act::Version),
    opt(&["no-threads"], None, Nothing, Act::NoThreads),
    // mold's and wild's: whether the clean-up runs in a background process.
    opt(&["fork"], None, Nothing, Act::Fork(true)),
    opt(&["no-fork"], None, Nothing, Act::Fork(false)),
    // ld64 spells it -demangle too.
    opt(&["demangle"], None, Optional, Act::Demangle(true)),
    opt(&["no-demangle"], None, Nothing, Act::Demangle(false)),
    opt(&["no-as-needed"], None, Nothing, Act::AsNeeded(false)),
    opt(&["whole-archive"], None, Nothing, Act::WholeArchive(true)),
    opt(
        &["no-whole-archive"],
        None,
        Nothing,
        Act::WholeArchive(false),
    ),
    opt(&["gc-sections"], None, Nothing, Act::GcSections(true)),
    opt(&["no-gc-sections"], None, Nothing, Act::GcSections(false)),
    opt(
        &["discard-locals"],
        Some('X'),
        Nothing,
        Act::Discard(crate::plan::Discard::Locals),
    ),
    opt(
        &["discard-all"],
        Some('x'),
        Nothing,
        Act::Discard(crate::plan::Discard::All),
    ),
    opt(
        &["discard-none"],
        None,
        Nothing,
        Act::Discard(crate::plan::Discard::None),
    ),
    // Little-endian output: the only kind rlink writes.
    opt(&["EL"], None, Nothing, Act::Accepted),
    opt(&[], Some('g'), Nothing, Act::Accepted),
    opt(&["color-diagnostics"], None, Optional, Act::Accepted),
    opt(
        &[
            "plugin",
            "plugin-opt",
            "error-limit",
            "lto-O",
            "lto-partitions",
            "thinlto-jobs",
            "thinlto-cache-dir",
            "thinlto-cache-policy",
            "mllvm",
            "reproduce",
        ],
        None,
        Value,
        Act::Accepted,
    ),
    opt(&[], Some('O'), Value, Act::Accepted),
    // GNU ld options rlink does not implement yet.
    opt(
        &[
            "script",
            "default-script",
            "dT",
            "rpath-link",
            "Map",
            "Ttext",
            "Tdata",
            "Tbss",
            "Trodata-segment",
            "Tldata-segment",
            "section-start",
            "oformat",
            "format",
            "architecture",
            "version-exports-section",
            "orphan-handling",
            "sort-section",
            "spare-dynamic-tags",
            "hash-size",
            "gpsize",
            "mri-script",
            "just-symbols",
            "symbol-ordering-file",
            "call-graph-ordering-file",
            "icf",
            "pack-dyn-relocs",
            "keep-unique",
            "warn-backrefs-exclude",
            "error-handling-script",
            "exclude-modules-for-implib",
        ],
        None,
        Value,
        Act::NotImplemented,
    ),
    opt(&[], Some('T'), Value, Act::NotImplemented),
    opt(&["package-metadata"], None, Value, Act::NotImplemented),
    opt(
        &["copy-dt-needed-entries"],
        None,
        Nothing,
        Act::NotImplemented,
    ),
    opt(&[], Some('u'), Value, Act::Undefined),
    opt(&[], Some('G'), Value, Act::NotImplemented),
    opt(&[], Some('A'), Value, Act::NotImplemented),
    opt(&[], Some('b'), Value, Act::NotImplemented),
    opt(&[], Some('c'), Value, Act::NotImplemented),
    opt(&[], Some('Y'), Value, Act::NotImplemented),
    opt(
        &[
            "emit-relocs",
            "print-map",
            "print-gc-sections",
            "warn-once",
            "warn-backrefs",
            "nmagic",
            "omagic",
            "no-omagic",
            "no-export-dynamic",
            "dynamic-list-cpp-new",
            "dynamic-list-cpp-typeinfo",
            "no-dynamic-linker",
            "print-memory-usage",
            "print-archive-stats",
            "cref",
            "check-sections",
            "no-check-sections",
            "define-common",
            "no-define-common",
            "ignore-data-address-equality",
        ],
        None,
        Nothing,
        Act::NotImplemented,
    ),
    opt(&["relocatable"], Some('r'), Nothing, Act::Relocatable),
    opt(&[], Some('i'), Nothing, Act::NotImplemented),
    opt(&[], Some('q'), Nothing, Act::NotImplemented),
    opt(&[], Some('M'), Nothing, Act::NotImplemented),
    opt(&[], Some('n'), Nothing, Act::NotImplemented),
    opt(&[], Some('N'), Nothing, Act::NotImplemented),
    opt(&[], Some('d'), Nothing, Act::NotImplemented),
];

/// `--help` on a GNU ld line: every option rlink reads, from [`LD_OPTIONS`].
pub fn ld_help_text() -> String {
    let spell = |o: &LdOption| {
        let mut names: Vec<String> = Vec::new();
        if let Some(c) = o.short {
            names.push(format!("-{c}"));
        }
        names.extend(o.long.iter().map(|l| format!("--{l}")));
        let value = match o.takes {
            Nothing => "",
            Value => " VALUE",
            Optional => "[=VALUE]",
        };
        format!("  {}{value}\n", names.join(", "))
    };
    let mut text = String::from(
        "Usage: rlink [options] file...   (as GNU ld; -flavor gnu, or installed as ld)\n\n\
         Options that change the output (long ones take one dash or two):\n",
    );
    for o in LD_OPTIONS
        .iter()
        .filter(|o| !matches!(o.act, Act::Accepted | Act::NotImplemented))
    {
        text.push_str(&spell(o));
    }
    text.push_str(
        "  -z KEYWORD: relro norelro now lazy execstack noexecstack execstack-if-needed\n\
         \x20            stack-size=N max-page-size=N defs undefs muldefs origin nodelete\n\
         \x20            initfirst interpose nodefaultlib nodump nodlopen rodynamic\n\
         \x20            nosectionheader separate-code text notext\n\
         \x20            start-stop-visibility=hidden; x86-64: ibt shstk ibtplt x86-64-v2..v4\n\n\
         Accepted with no effect on what rlink writes (hints, plugins, diagnostics):\n",
    );
    for o in LD_OPTIONS.iter().filter(|o| o.act == Act::Accepted) {
        text.push_str(&spell(o));
    }
    text.push_str("\nAny other option is an error: rlink: error: unsupported option: OPTION\n");
    text
}

/// One word (or two) of an ld line, read against [`LD_OPTIONS`].
enum LdWord<'t> {
    Input(&'t str),
    Option {
        /// As written, for messages.
        written: &'t str,
        spec: &'static LdOption,
        value: Option<String>,
    },
    Unknown(&'t str),
}

/// Reads the next word as GNU ld's `getopt_long_only` does: a long option with one dash or
/// two (`--soname=x`, `-soname x`), else, after one dash, a short option whose value may be
/// glued (`-lm`, `-zrelro`) or the next word (`-l m`, `-z relro`).
fn next_word<'t>(
    it: &mut std::iter::Peekable<std::slice::Iter<'t, String>>,
) -> Result<Option<LdWord<'t>>> {
    let Some(a) = it.next() else {
        return Ok(None);
    };
    let a = a.as_str();
    let Some(body) = a.strip_prefix('-').filter(|b| !b.is_empty()) else {
        return Ok(Some(LdWord::Input(a)));
    };
    let (double, body) = match body.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let (name, inline) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    let mut take_value =
        |spec: &'static LdOption, inline: Option<&str>| -> Result<Option<String>> {
            Ok(match (spec.takes, inline) {
                (Nothing, Some(_)) => bail!("{a}: option takes no value"),
                (Nothing, None) | (Optional, None) => None,
                (_, Some(v)) => Some(v.to_string()),
                (Value, None) => match it.next() {
                    Some(v) => Some(v.clone()),
                    None => bail!("{a}: missing argument"),
                },
            })
        };
    if let Some(spec) = LD_OPTIONS.iter().find(|o| o.long.contains(&name)) {
        let value = take_value(spec, inline)?;
        return Ok(Some(LdWord::Option {
            written: a,
            spec,
            value,
        }));
    }
    if !double {
        let mut chars = body.chars();
        let letter = chars.next();
        let rest = chars.as_str();
        if let Some(spec) = LD_OPTIONS
            .iter()
            .find(|o| o.short == letter && letter.is_some())
        {
            let value = match spec.takes {
                Value if !rest.is_empty() => Some(rest.to_string()),
                _ if rest.is_empty() => take_value(spec, None)?,
                _ => return Ok(Some(LdWord::Unknown(a))),
            };
            return Ok(Some(LdWord::Option {
                written: a,
                spec,
                value,
            }));
        }
    }
    Ok(Some(LdWord::Unknown(a)))
}

/// `X`, `X.Y` or `X.Y.Z`, as ld64 reads its version options.
fn parse_version(option: &str, v: &str) -> Result<(u32, u32, u32)> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>());
    let mut next = || parts.next().transpose();
    let parsed = (|| -> Result<(u32, u32, u32), std::num::ParseIntError> {
        Ok((
            next()?.unwrap_or(0),
            next()?.unwrap_or(0),
            next()?.unwrap_or(0),
        ))
    })();
    match parsed {
        Ok((major, minor, patch))
            if major <= 0xffff && minor <= 0xff && patch <= 0xff && !v.is_empty() =>
        {
            Ok((major, minor, patch))
        }
        _ => bail!("{option} {v}: not a version (want X, X.Y or X.Y.Z)"),
    }
}

/// Parses a GNU ld line (after `@file` handling; a leading `-flavor gnu` is skipped).
pub fn parse_ld(args: &[String], _warn: &mut dyn FnMut(String)) -> Result<Command> {
    let mut link = LinkArgs::new();
    link.gnu_line = true;
    link.build_mode = BuildMode::Exe;
    let mut static_libs = false;
    // GNU ld's defaults: every named library is needed, archives give what is used, and
    // nothing is collected unless `--gc-sections` asks.
    let mut options = crate::plan::InputOptions {
        as_needed: false,
        whole_archive: false,
        lazy: false,
    };
    link.gc_sections = false;
    // GNU ld writes no build id unless asked (drivers ask: gcc passes --build-id, and so
    // does rlink's own cc door).
    link.elf.build_id = crate::plan::BuildId::None;
    // Both hash tables, GNU ld's default (gcc asks for the GNU one alone).
    link.elf.sysv_hash = true;
    let mut states: Vec<(bool, crate::plan::InputOptions)> = Vec::new();
    let mut runpaths: Vec<String> = Vec::new();
    let mut args = args;
    if args.first().map(String::as_str) == Some("-flavor") {
        args = args.get(2..).unwrap_or(&[]);
    }
    let mut it = args.iter().peekable();
    let mut saw_input = false;
    let mut bstatic_first = false;
    let mut version_only = false;
    // The texts of `--dynamic-list` files and `--export-dynamic-symbol` names, read as one.
    let mut export_lists: Vec<String> = Vec::new();
    // `-F X` is GNU ld's filter and ld64's framework directory: which one, the target says
    // once the line is read.
    let mut short_f: Vec<String> = Vec::new();
    loop {
        // The inputs named so far are read with the switches in force where they were named.
        link.input_options.resize(link.inputs.len(), options);
        let Some(word) = next_word(&mut it)? else {
            break;
        };
        let (written, spec, value) = match word {
            // A module-definition file names a DLL's exports (rustc passes one for
            // windows-gnu cdylibs, as GNU ld reads it).
            LdWord::Input(path) if path.to_ascii_lowercase().ends_with(".def") => {
                crate::exports::read_def_into(&mut link, path)?;
                continue;
            }
            LdWord::Input(path) => {
                saw_input = true;
                link.inputs.push(InputArg::Path(PathBuf::from(path)));
                continue;
            }
            LdWord::Unknown(a) => bail!("unsupported option: {a}"),
            LdWord::Option {
                written,
                spec,
                value,
            } => (written, spec, value),
        };
        // Options that take a value always have one here (`next_word` checked).
        let given = value;
        let value = || given.clone().unwrap_or_default();
        match spec.act {
            Act::Output => link.output = PathBuf::from(value()),
            Act::Subsystem => {
                let v = value();
                match v.split(':').next().unwrap_or("") {
                    "console" => link.windows_gui = false,
                    "windows" => link.windows_gui = true,
                    _ => bail!("{written} {v}: rlink writes console and windows programs only"),
                }
            }
            Act::Stack => {
                let v = value();
                link.stack =
                    Some(crate::exports::parse_sizes(&v).ok_or_else(|| {
                        crate::diag::Error::new(format!("{written} {v}: bad size"))
                    })?);
            }
            Act::LibraryPath => link.library_dirs.push(PathBuf::from(value())),
            Act::Library => {
                saw_input = true;
                let lib = value();
                if lib.is_empty() {
                    bail!("{written}: empty library name");
                }
                link.inputs.push(library(lib, static_libs));
            }
            Act::Static => {
                // Before any input, -static asks for a fully static executable; later it only
                // means -Bstatic, as in GNU ld.
                if !saw_input {
                    link.static_exe = true;
                }
                static_libs = true
            }
            Act::Bstatic => {
                if !saw_input {
                    bstatic_first = true;
                }
                static_libs = true
            }
            Act::Bdynamic => static_libs = false,
            Act::PushState => states.push((static_libs, options)),
            Act::PopState => {
                if let Some((s, o)) = states.pop() {
                    (static_libs, options) = (s, o);
                }
            }
            Act::AsNeeded(on) => options.as_needed = on,
            Act::NoUndefined => link.elf.no_undefined = Some(true),
            Act::AllowMultipleDefinition => link.elf.allow_multiple_definition = true,
            Act::NewDtags(on) => link.elf.new_dtags = on,
            Act::Init => link.elf.init = value(),
            Act::Fini => link.elf.fini = value(),
            Act::NoThreads => link.threads = Some(1),
            Act::Fork(on) => link.no_fork = !on,
            Act::Demangle(on) => crate::diag::set_demangle(on),
            Act::ImageBase => {
                let v = value();
                link.elf.image_base = Some(crate::pipeline::parse_number(&v).ok_or_else(|| {
                    crate::diag::Error::new(format!("{written} {v}: not a number"))
                })?);
            }
            Act::Audit => link.elf.audit.push(value()),
            Act::UnresolvedSymbols => {
                use crate::plan::Unresolved;
                link.elf.unresolved = match value().as_str() {
                    "report-all" | "ignore-in-shared-libs" => Unresolved::Error,
                    // rlink reports only the objects' references (a library's are the
                    // loader's, unless --no-allow-shlib-undefined).
                    "ignore-all" | "ignore-in-object-files" => Unresolved::Ignore,
                    other => bail!(
                        "{written}={other}: want report-all, ignore-all, ignore-in-object-files \
                         or ignore-in-shared-libs"
                    ),
                }
            }
            Act::WarnUnresolved(warn) => {
                use crate::plan::Unresolved;
                link.elf.unresolved = if warn {
                    Unresolved::Warn
                } else {
                    Unresolved::Error
                }
            }
            Act::ShlibUndefined(allow) => link.elf.no_allow_shlib_undefined = !allow,
            Act::BuildId => {
                link.elf.build_id = match &given {
                    // GNU ld's bare `--build-id` is a SHA-1 of the output.
                    None => crate::plan::BuildId::Sha1,
                    Some(style) => crate::plan::BuildId::parse(style).ok_or_else(|| {
                        crate::diag::Error::new(format!(
                            "{written}: want none, fast, md5, sha1, sha256, uuid or 0xHEX"
                        ))
                    })?,
                }
            }
            Act::CompressDebugSections => {
                use crate::plan::DebugCompression::{Zlib, Zstd};
                let v = given.clone().unwrap_or_else(|| "zlib".to_string());
                let (method, level) = match v.split_once(':') {
                    Some((m, l)) => (m.to_string(), Some(l.to_string())),
                    None => (v.clone(), None),
                };
                let how = match method.as_str() {
                    "none" => None,
                    "zlib" | "zlib-gabi" => Some(Zlib),
                    "zstd" => Some(Zstd),
                    _ => bail!("unsupported option: {written}"),
                };
                let (min, max, name) = match how {
                    Some(Zstd) => (1, 22, "zstd"),
                    _ => (0, 9, "zlib"),
                };
                let level = match level {
                    None => None,
                    Some(l) => match l.parse::<u32>() {
                        Ok(n) if (min..=max).contains(&n) => Some(n),
                        _ => bail!("{written}: {name} level must be between {min} and {max}"),
                    },
                };
                link.elf.compress_debug = how.map(|h| (h, level));
            }
            Act::Discard(d) => link.elf.discard = d,
            Act::HashStyle => {
                (link.elf.gnu_hash, link.elf.sysv_hash) = match value().as_str() {
                    "gnu" => (true, false),
                    "sysv" => (false, true),
                    "both" => (true, true),
                    "none" => (false, false),
                    other => bail!("{written} {other}: want sysv, gnu, both or none"),
                }
            }
            Act::Symbolic => link.elf.symbolic = true,
            Act::NoSymbolic => {
                link.elf.symbolic = false;
                link.elf.symbolic_functions = false;
                link.elf.symbolic_non_weak = false;
                link.elf.symbolic_non_weak_functions = false;
            }
            Act::SymbolicNonWeak => link.elf.symbolic_non_weak = true,
            Act::SymbolicNonWeakFunctions => link.elf.symbolic_non_weak_functions = true,
            Act::DefaultSymver => link.elf.default_symver = true,
            Act::Filter if written == "-F" => short_f.push(value()),
            Act::Filter => link.elf.filters.push(value()),
            Act::Auxiliary => link.elf.auxiliaries.push(value()),
            Act::EhFrameHdr(on) => link.elf.eh_frame_hdr = on,
            Act::DynamicListData => link.elf.dynamic_list_data = true,
            Act::RetainSymbolsFile => {
                let path = value();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| crate::diag::Error::new(format!("{path}: {e}")))?;
                link.elf.retain_symbols = Some(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect(),
                );
            }
            Act::DependencyFile => link.elf.dependency_file = Some(PathBuf::from(value())),
            Act::Wrap => {
                let name = value();
                link.elf.wrap.push((
                    name.clone(),
                    format!("__wrap_{name}"),
                    format!("__real_{name}"),
                ));
            }
            Act::TextSegment => {
                let v = value();
                link.elf.image_base = Some(crate::pipeline::parse_number(&v).ok_or_else(|| {
                    crate::diag::Error::new(format!("{written} {v}: not an address"))
                })?);
            }
            Act::SymbolicFunctions => link.elf.symbolic_functions = true,
            Act::DynamicList | Act::ExportDynamicSymbolList => {
                let path = value();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| crate::diag::Error::new(format!("{path}: {e}")))?;
                // A dynamic list is a version script's anonymous node.
                crate::version_script::VersionScript::parse(&text).map_err(|e| e.at(&path))?;
                export_lists.push(text);
                // In a shared library, a dynamic list binds everything it does not name
                // to the library's own definitions.
                if spec.act == Act::DynamicList {
                    link.elf.symbolic = true;
                }
            }
            Act::ExportDynamicSymbol => {
                // A name is matched exactly (quoted); a pattern with wildcards as one.
                let v = value();
                export_lists.push(if v.contains(['*', '?', '[']) {
                    format!("{{ {v}; }};")
                } else {
                    format!("{{ \"{}\"; }};", v.replace('"', ""))
                });
            }
            Act::ExcludeLibs => link
                .elf
                .exclude_libs
                .extend(value().split([',', ':']).map(str::to_string)),
            Act::TraceSymbol => link.elf.trace_symbols.push(value()),
            Act::Trace => link.elf.trace = true,
            Act::UndefinedGlob => link.elf.undefined_globs.push(value()),
            Act::DepAudit => link.elf.depaudit.push(value()),
            Act::Defsym => {
                let v = value();
                let Some((name, value)) = v.split_once('=') else {
                    bail!("{written} {v}: want NAME=VALUE");
                };
                link.defsyms
                    .push((name.trim().to_string(), value.trim().to_string()));
            }
            Act::Relocatable => link.relocatable = true,
            Act::WholeArchive(on) => options.whole_archive = on,
            Act::Lib(on) => options.lazy = on,
            Act::GdbIndex(on) => link.elf.gdb_index = on,
            Act::NoInhibitExec => {
                link.elf.noinhibit_exec = true;
                link.elf.unresolved = crate::plan::Unresolved::Warn;
            }
            Act::GcSections(on) => link.gc_sections = on,
            Act::Emulation => link.target = Some(Target::from_emulation(&value())?),
            Act::Target => {
                link.target = Some(Target::from_triple(&value())?);
                if let Some(floor) = Target::glibc_floor_of(&value())? {
                    link.glibc_floor = Some(floor);
                }
            }
            Act::Glibc => {
                let v = value();
                link.glibc_floor =
                    Some(crate::target::parse_glibc_version(&v).ok_or_else(|| {
                        crate::diag::Error::new(format!(
                            "{written}: want a glibc release such as 2.17"
                        ))
                    })?)
            }
            Act::AppleArch => link.target = Some(Target::from_apple_arch(&value())?),
            Act::Framework => {
                saw_input = true;
                let weak = written.trim_start_matches('-') == "weak_framework";
                link.inputs.push(InputArg::Framework {
                    name: value(),
                    weak,
                });
            }
            Act::ExportedSymbolsList => link.exported_symbols_list = Some(PathBuf::from(value())),
            Act::MacosVersionMin => {
                link.macos_version_min = Some(parse_version(written, &value())?)
            }
            Act::PlatformVersion => {
                // PLATFORM (macos or 1) MIN SDK.
                let platform = value();
                let (Some(min), Some(sdk)) = (it.next(), it.next()) else {
                    bail!("{written}: wants three words: PLATFORM MIN_VERSION SDK_VERSION");
                };
                if platform != "macos" && platform != "1" {
                    bail!("{written} {platform}: rlink links for macos only");
                }
                link.macos_version_min = Some(parse_version(written, min)?);
                link.macos_sdk_version = Some(parse_version(written, sdk)?);
            }
            Act::Z => z_keyword(&mut link, &value())?,
            Act::DynamicLinker => link.interpreter = Some(value()),
            Act::Pie => link.build_mode = BuildMode::Pie,
            Act::NoPie => link.build_mode = BuildMode::Exe,
            Act::Shared => link.build_mode = BuildMode::CShared,
            Act::Soname => link.soname = Some(value()),
            Act::StaticPie => bail!("-static-pie: static PIE executables are not implemented yet"),
            Act::Rpath => runpaths.push(value()),
            Act::StripAll => link.strip_symbols = true,
            Act::StripDebug => link.strip_debug = true,
            Act::Entry => link.entry = Some(value()),
            Act::ExportDynamic => link.export_dynamic = true,
            Act::VersionScript => link.version_script = Some(PathBuf::from(value())),
            Act::Version => version_only = true,
            Act::Help => return Ok(Command::LdHelp),
            Act::Threads => {
                if let Some(n) = &given {
                    link.threads = Some(crate::args::parse_threads(n)?);
                }
            }
            Act::Chroot => link.chroot = Some(PathBuf::from(value())),
            Act::Sysroot => link.sysroot = Some(PathBuf::from(value())),
            Act::LinkMode => {
                link.link_mode = match value().as_str() {
                    "external" => LinkMode::External,
                    "internal" => LinkMode::Internal,
                    "auto" => LinkMode::Auto,
                    other => bail!(
                        "-linkmode: unknown link mode {other:?} (want internal, external or auto)"
                    ),
                }
            }
            Act::Extld => {
                link.extld = shlex::split(&value()).unwrap_or_default();
                if link.extld.is_empty() {
                    bail!("-extld: empty command");
                }
            }
            Act::Tmpdir => link.tmpdir = Some(PathBuf::from(value())),
            Act::Accepted => {}
            // ld64's `-undefined dynamic_lookup|error` shares GNU ld's spelling of `-u SYMBOL`.
            Act::Undefined => match value().as_str() {
                "dynamic_lookup" => link.undefined_dynamic_lookup = true,
                "error" => link.undefined_dynamic_lookup = false,
                "warning" | "suppress" => {
                    bail!(
                        "{written} {}: only dynamic_lookup and error are supported",
                        value()
                    )
                }
                symbol => link.include_symbols.push(symbol.to_string()),
            },
            Act::RequireDefined => {
                let symbol = value();
                link.include_symbols.push(symbol.clone());
                link.require_defined.push(symbol);
            }
            Act::NotImplemented => bail!("unsupported option: {written}"),
        }
    }
    if !runpaths.is_empty() {
        // Each directory once, in the order first named, as GNU ld writes them.
        let mut dirs: Vec<&str> = Vec::new();
        for dir in runpaths.iter().flat_map(|r| r.split(':')) {
            if !dir.is_empty() && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        link.runpath = Some(dirs.join(":"));
    }
    if !link.elf.auxiliaries.is_empty() && link.build_mode != BuildMode::CShared {
        bail!("-f/--auxiliary may not be used without -shared");
    }
    let mach_o = link
        .target
        .is_some_and(|t| t.format == crate::target::ObjectFormat::MachO);
    for f in short_f {
        if mach_o {
            link.framework_dirs.push(PathBuf::from(f));
        } else {
            link.elf.filters.push(f);
        }
    }
    if !export_lists.is_empty() {
        link.elf.export_list = Some(crate::version_script::VersionScript::parse(
            &export_lists.join("\n"),
        )?);
    }
    // Some drivers (gcc for AArch64) say `-static` as `-Bstatic` before the inputs and simply
    // name no dynamic linker: GNU ld then writes a static executable.
    if bstatic_first && link.interpreter.is_none() && link.build_mode == BuildMode::Exe {
        link.static_exe = true;
    }
    if version_only && link.inputs.is_empty() {
        return Ok(Command::Version);
    }
    if let Ok(mode) = std::env::var("RLINK_LINKMODE") {
        link.link_mode = match mode.as_str() {
            "external" => LinkMode::External,
            "internal" => LinkMode::Internal,
            _ => LinkMode::Auto,
        };
    }
    Ok(Command::Link(Box::new(link)))
}

fn library(name: String, static_only: bool) -> InputArg {
    if static_only {
        InputArg::StaticLibrary(name)
    } else {
        InputArg::Library(name)
    }
}

/// `-z KEYWORD` (several may be given with commas, as `-z relro,now`).
fn z_keyword(link: &mut LinkArgs, keyword: &str) -> Result<()> {
    use crate::plan::LoaderFlag;
    let elf = &mut link.elf;
    let size = |v: &str| -> Result<u64> {
        crate::pipeline::parse_number(v)
            .ok_or_else(|| crate::diag::Error::new(format!("-z {keyword}: {v:?} is not a number")))
    };
    match keyword {
        // What rlink's output already is: RELRO, bound at load time, a non-executable stack,
        // code in its own segment, text without relocations.
        // rlink starts every segment on its own page of the file, which is what both
        // separate-code and separate-loadable-segments ask.
        "relro" | "now" | "separate-code" | "separate-loadable-segments" => {}
        "text" => elf.text_relocations = Some(false),
        "notext" => elf.text_relocations = Some(true),
        "noexecstack" => elf.execstack = false,
        // rlink binds every import at load time; lazy binding only defers that work.
        "lazy" => {}
        "norelro" => elf.relro = false,
        "execstack" => elf.execstack = true,
        "execstack-if-needed" => elf.execstack_if_needed = true,
        "ibt" => elf.ibt = true,
        "shstk" => elf.shstk = true,
        "ibtplt" => elf.ibtplt = true,
        "x86-64-baseline" => elf.isa_level = elf.isa_level.max(1),
        "x86-64-v2" => elf.isa_level = elf.isa_level.max(2),
        "x86-64-v3" => elf.isa_level = elf.isa_level.max(3),
        "x86-64-v4" => elf.isa_level = elf.isa_level.max(4),
        "rodynamic" => elf.rodynamic = true,
        "nosectionheader" => elf.section_headers = false,
        "sectionheader" => elf.section_headers = true,
        // rlink's `__start_`/`__stop_` symbols are hidden, never exported.
        "start-stop-visibility=hidden" | "start-stop-visibility=internal" => {}
        "defs" => elf.no_undefined = Some(true),
        "undefs" => elf.no_undefined = Some(false),
        "muldefs" => elf.allow_multiple_definition = true,
        "origin" => elf.loader_flags.push(LoaderFlag::Origin),
        "nodelete" => elf.loader_flags.push(LoaderFlag::NoDelete),
        "initfirst" => elf.loader_flags.push(LoaderFlag::InitFirst),
        "interpose" => elf.loader_flags.push(LoaderFlag::Interpose),
        "nodefaultlib" => elf.loader_flags.push(LoaderFlag::NoDefaultLib),
        "nodump" => elf.loader_flags.push(LoaderFlag::NoDump),
        "nodlopen" => elf.loader_flags.push(LoaderFlag::NoOpen),
        _ if keyword.starts_with("max-page-size=") => {
            let page = size(&keyword["max-page-size=".len()..])?;
            if !page.is_power_of_two() {
                bail!("-z {keyword}: the page size must be a power of two");
            }
            elf.max_page_size = Some(page)
        }
        // rlink lays the file out in 4 KiB pages: that size is accepted, no other.
        "common-page-size=4096" | "common-page-size=0x1000" => {}
        _ if keyword.starts_with("stack-size=") => {
            elf.stack_size = size(&keyword["stack-size=".len()..])?
        }
        _ if keyword.contains(',') => {
            for k in keyword.split(',') {
                z_keyword(link, k)?;
            }
        }
        _ => bail!("unsupported option: -z {keyword}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn dialects() {
        assert_eq!(
            dialect("/usr/bin/rlink", &s(&["-o", "x", "a.o"])),
            Dialect::Go
        );
        assert_eq!(
            dialect("rlink", &s(&["-m64", "a.o", "-Wl,--as-needed"])),
            Dialect::Cc
        );
        assert_eq!(dialect("/tmp/b/ld", &s(&["-o", "x"])), Dialect::Ld);
        assert_eq!(dialect("ld.rlink", &s(&[])), Dialect::Ld);
        assert_eq!(dialect("x86_64-linux-gnu-ld", &s(&[])), Dialect::Ld);
        assert_eq!(
            dialect("rlink", &s(&["-flavor", "gnu", "a.o"])),
            Dialect::Ld
        );
        assert_eq!(
            dialect("rlink", &s(&["--eh-frame-hdr", "-m", "elf_x86_64", "a.o"])),
            Dialect::Ld
        );
        // clang --ld-path=rlink: an ld line that also holds -pie.
        assert_eq!(
            dialect(
                "rlink",
                &s(&["-pie", "--eh-frame-hdr", "-o", "x", "Scrt1.o"])
            ),
            Dialect::Ld
        );
    }

    #[test]
    fn rustc_cc_line() {
        let line = s(&[
            "-m64",
            "/tmp/r/symbols.o",
            "a.rcgu.o",
            "-Wl,--as-needed",
            "-Wl,-Bstatic",
            "libstd.rlib",
            "-Wl,-Bdynamic",
            "-lgcc_s",
            "-lc",
            "-L",
            "/tmp/r/raw-dylibs",
            "-B/sysroot/gcc-ld",
            "-fuse-ld=lld",
            "-Wl,--eh-frame-hdr",
            "-Wl,-z,noexecstack",
            "-L",
            "/sysroot/lib",
            "-o",
            "out",
            "-Wl,--gc-sections",
            "-pie",
            "-Wl,-z,relro,-z,now",
            "-nodefaultlibs",
            "-fnew-thing",
        ]);
        let mut warnings = Vec::new();
        let ld = cc_to_ld(&line, &mut |w| warnings.push(w));
        assert_eq!(
            warnings,
            vec!["ignoring unknown compiler-driver option -fnew-thing".to_string()]
        );
        let Command::Link(link) = parse_ld(&ld, &mut |w| warnings.push(w)).unwrap() else {
            panic!()
        };
        assert_eq!(link.output, PathBuf::from("out"));
        assert_eq!(link.build_mode, BuildMode::Pie);
        assert_eq!(
            link.inputs,
            vec![
                InputArg::Path("/tmp/r/symbols.o".into()),
                InputArg::Path("a.rcgu.o".into()),
                InputArg::Path("libstd.rlib".into()),
                InputArg::Library("gcc_s".into()),
                InputArg::Library("c".into()),
            ]
        );
        assert_eq!(
            link.library_dirs,
            vec![
                PathBuf::from("/tmp/r/raw-dylibs"),
                PathBuf::from("/sysroot/lib")
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn collect2_line() {
        let line = s(&[
            "-plugin",
            "/usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so",
            "-plugin-opt=-pass-through=-lgcc",
            "--build-id",
            "--eh-frame-hdr",
            "-m",
            "elf_x86_64",
            "--hash-style=gnu",
            "--as-needed",
            "-dynamic-linker",
            "/lib64/ld-linux-x86-64.so.2",
            "-pie",
            "-o",
            "prog",
            "Scrt1.o",
            "crti.o",
            "-L/usr/lib",
            "main.o",
            "--push-state",
            "-Bstatic",
            "-lfoo",
            "--pop-state",
            "-lgcc_s",
            "-l:libbar.so.1",
            "-z",
            "noexecstack",
            "-rpath",
            "/opt/a",
            "-rpath=/opt/b",
            "-e",
            "my_entry",
            "crtn.o",
        ]);
        let mut warnings = Vec::new();
        let Command::Link(link) = parse_ld(&line, &mut |w| warnings.push(w)).unwrap() else {
            panic!()
        };
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            link.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(link.build_mode, BuildMode::Pie);
        assert_eq!(link.runpath.as_deref(), Some("/opt/a:/opt/b"));
        assert_eq!(link.entry.as_deref(), Some("my_entry"));
        assert_eq!(
            link.inputs,
            vec![
                InputArg::Path("Scrt1.o".into()),
                InputArg::Path("crti.o".into()),
                InputArg::Path("main.o".into()),
                InputArg::StaticLibrary("foo".into()),
                InputArg::Library("gcc_s".into()),
                InputArg::Library(":libbar.so.1".into()),
                InputArg::Path("crtn.o".into()),
            ]
        );
    }

    /// Every value-taking option reads `--opt=v`, `--opt v`, `-opt=v` and `-opt v`; short ones
    /// glued or separate (GNU ld's getopt_long_only), so lld's `--reproduce` response files
    /// (`--hash-style gnu`, `-O 1`, `-m elf_x86_64`, `-l c`) read as they were meant.
    #[test]
    fn two_word_options() {
        let spellings: &[&[&str]] = &[
            &["--soname=libx.so.1"],
            &["--soname", "libx.so.1"],
            &["-soname=libx.so.1"],
            &["-soname", "libx.so.1"],
            &["-h", "libx.so.1"],
            &["-hlibx.so.1"],
        ];
        for words in spellings {
            let mut line = s(words);
            line.extend(s(&[
                "--hash-style",
                "gnu",
                "-O",
                "1",
                "-z",
                "now",
                "-zrelro",
                "a.o",
            ]));
            let mut warnings = Vec::new();
            let Command::Link(l) = parse_ld(&line, &mut |w| warnings.push(w)).unwrap() else {
                panic!("a link")
            };
            assert_eq!(l.soname.as_deref(), Some("libx.so.1"), "{words:?}");
            assert_eq!(l.inputs, vec![InputArg::Path("a.o".into())], "{words:?}");
            assert!(warnings.is_empty(), "{warnings:?}");
        }
        let line = s(&[
            "-o",
            "out",
            "-L",
            "/d1",
            "-L/d2",
            "--library-path=/d3",
            "-l",
            "m",
            "-lc",
            "--library=dl",
            "-e",
            "start",
            "--threads=2",
            "--build-id",
            "b.o",
            "--chroot",
            "r",
            "-rpath=/x",
            "--rpath",
            "/y",
            "-R",
            "/z",
            "-dynamic-linker",
            "/ld.so",
        ]);
        let Command::Link(l) = parse_ld(&line, &mut |w| panic!("{w}")).unwrap() else {
            panic!("a link")
        };
        assert_eq!(l.output, PathBuf::from("out"));
        assert_eq!(
            l.library_dirs,
            vec![
                PathBuf::from("/d1"),
                PathBuf::from("/d2"),
                PathBuf::from("/d3")
            ]
        );
        assert_eq!(
            l.inputs,
            vec![
                InputArg::Library("m".into()),
                InputArg::Library("c".into()),
                InputArg::Library("dl".into()),
                InputArg::Path("b.o".into()),
            ]
        );
        assert_eq!(l.entry.as_deref(), Some("start"));
        assert_eq!(l.threads, Some(2));
        assert_eq!(l.chroot, Some(PathBuf::from("r")));
        assert_eq!(l.runpath.as_deref(), Some("/x:/y:/z"));
        assert_eq!(l.interpreter.as_deref(), Some("/ld.so"));
        // An optional value is only ever glued: the next word stays an input.
        let Command::Link(l) = parse_ld(&s(&["--build-id", "x.o"]), &mut |_| {}).unwrap() else {
            panic!()
        };
        assert_eq!(l.inputs, vec![InputArg::Path("x.o".into())]);
        // An option rlink does not implement, or does not know, is an error naming it:
        // going on would write another output than the one asked for.
        for (line, named) in [
            (&["-T", "x.ld", "y.o"][..], "-T"),
            (&["y.o", "--emit-relocs"], "--emit-relocs"),
            (&["--frobnicate", "y.o"], "--frobnicate"),
            (&["-z", "frob"], "-z frob"),
        ] {
            let e = parse_ld(&s(line), &mut |_| {}).unwrap_err();
            assert_eq!(e.message(), format!("unsupported option: {named}"));
        }
        for bad in [&["-o"][..], &["--gc-sections=yes"], &["-l"]] {
            assert!(parse_ld(&s(bad), &mut |_| {}).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ld_defaults_and_position_dependent_switches() {
        let Command::Link(l) = parse_ld(
            &s(&[
                "a.so",
                "--as-needed",
                "b.so",
                "--push-state",
                "--no-as-needed",
                "--whole-archive",
                "c.a",
                "--pop-state",
                "d.a",
                "-z",
                "execstack,norelro,stack-size=0x900000,nodelete",
                "--disable-new-dtags",
                "-init",
                "my_init",
            ]),
            &mut |_| {},
        )
        .unwrap() else {
            panic!()
        };
        // Without --gc-sections nothing is collected, as in GNU ld.
        assert!(!l.gc_sections);
        let flags: Vec<(bool, bool)> = l
            .input_options
            .iter()
            .map(|o| (o.as_needed, o.whole_archive))
            .collect();
        assert_eq!(
            flags,
            [(false, false), (true, false), (false, true), (true, false)]
        );
        assert!(l.elf.execstack && !l.elf.relro && !l.elf.new_dtags);
        assert_eq!(l.elf.stack_size, 0x900000);
        assert_eq!(l.elf.loader_flags, [crate::plan::LoaderFlag::NoDelete]);
        assert_eq!(l.elf.init, "my_init");
        let Command::Link(l) = parse_ld(&s(&["--gc-sections", "-r", "a.o"]), &mut |_| {}).unwrap()
        else {
            panic!()
        };
        assert!(l.gc_sections && l.relocatable);
        for (line, want) in [
            (
                &["--unresolved-symbols=ignore-all"][..],
                crate::plan::Unresolved::Ignore,
            ),
            (
                &["--warn-unresolved-symbols"],
                crate::plan::Unresolved::Warn,
            ),
            (
                &["--warn-unresolved-symbols", "--error-unresolved-symbols"],
                crate::plan::Unresolved::Error,
            ),
        ] {
            let mut words = line.to_vec();
            words.push("a.o");
            let Command::Link(l) = parse_ld(&s(&words), &mut |_| {}).unwrap() else {
                panic!()
            };
            assert_eq!(l.elf.unresolved, want, "{line:?}");
        }
    }

    #[test]
    fn version_probe_and_flavor() {
        assert_eq!(
            parse_ld(&s(&["--version"]), &mut |_| {}).unwrap(),
            Command::Version
        );
        assert_eq!(
            parse_ld(&s(&["-flavor", "gnu", "-v"]), &mut |_| {}).unwrap(),
            Command::Version
        );
        let Command::Link(l) =
            parse_ld(&s(&["-shared", "-soname", "libx.so.1", "a.o"]), &mut |_| {}).unwrap()
        else {
            panic!("a link")
        };
        assert_eq!(
            (l.build_mode, l.soname.as_deref()),
            (BuildMode::CShared, Some("libx.so.1"))
        );
        let e = parse_ld(&s(&["-m", "elf_i386"]), &mut |_| {}).unwrap_err();
        assert!(e.message().contains("unknown emulation"), "{e}");
        let Command::Link(l) = parse_ld(&s(&["-m", "aarch64linux", "a.o"]), &mut |_| {}).unwrap()
        else {
            panic!("a link")
        };
        assert_eq!(l.target, Some(Target::linux(crate::target::Cpu::Aarch64)));
    }
}
