//! Make `cgo_import_dynamic` directives from linked ELF, Mach-O and PE files.
//!
//! [`dynimport`] lists what a linked binary imports (Go's `cgo -dynimport`);
//! [`library_exports`] lists what a shared library offers, so a program can import from it
//! without ever running the host linker.
//!
//! Two output formats are offered. [`OutputFormat::Go`] reproduces `go tool cgo -dynimport`
//! line for line (Go 1.19's `cmd/cgo`, `debug/elf`, `debug/macho` and `debug/pe` are the
//! reference, quirks included). [`OutputFormat::Rlink`] states the same facts as bare directive
//! lines, and states them better where Go loses information: the dylib of each Mach-O import,
//! the DLL name as written, weak and lazy dylibs, delay-loaded DLLs.

mod elf;
#[rustfmt::skip]
mod isprint_table;
mod macho;
mod pe;
mod quote;

use std::fmt;

use object::FileKind;

/// How directives are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Bare directive lines, as rlink reads them from `.rlink.directives`.
    Rlink,
    /// Exactly what `go tool cgo -dynimport` prints: a `package` line, then `//go:` lines.
    Go,
}

/// Options shared by [`dynimport`] and [`library_exports`].
#[derive(Clone, Debug)]
pub struct Options {
    pub format: OutputFormat,
    /// Also write the program interpreter as `cgo_dynamic_linker` (Go's `-dynlinker`).
    pub dynlinker: bool,
    /// The package named on the first line in Go format (Go's `-dynpackage`).
    pub package: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: OutputFormat::Rlink,
            dynlinker: false,
            package: "main".to_string(),
        }
    }
}

/// Why a file could not be turned into directives.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// One dynamic import: references to `local` bind to `remote` in `library`.
///
/// Fields are raw bytes from the file; the writer decides whether they can be printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Import {
    pub local: Vec<u8>,
    pub remote: Vec<u8>,
    pub library: Vec<u8>,
}

impl Import {
    /// An import whose local and remote names are the same.
    pub(crate) fn same_name(name: &[u8], library: &[u8]) -> Self {
        Import {
            local: name.to_vec(),
            remote: name.to_vec(),
            library: library.to_vec(),
        }
    }
}

/// What one file says about its dynamic linking, in the order it is to be written.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub dynamic_linker: Option<Vec<u8>>,
    pub imports: Vec<Import>,
    pub libraries: Vec<Vec<u8>>,
}

/// Directives for every symbol a linked binary imports, and every library it needs.
pub fn dynimport(data: &[u8], opts: &Options) -> std::result::Result<String, Error> {
    let facts = match file_kind(data)? {
        Kind::Elf => elf::imports(data, opts)?,
        Kind::MachO => macho::imports(data, opts.format)?,
        Kind::Pe => pe::imports(data, opts.format)?,
    };
    write_directives(&facts, opts)
}

/// Directives for every symbol a shared library (ELF `.so`, Mach-O dylib, PE DLL) exports,
/// followed by the library itself as needed.
///
/// The library is named by its own record of its name (ELF `DT_SONAME`, Mach-O
/// `LC_ID_DYLIB`, the PE export directory's DLL name); `soname_fallback` is used when the
/// file has none, and without either this is an error.
pub fn library_exports(
    data: &[u8],
    soname_fallback: Option<&str>,
    opts: &Options,
) -> std::result::Result<String, Error> {
    let (exports, own_name) = match file_kind(data)? {
        Kind::Elf => elf::exports(data)?,
        Kind::MachO => macho::exports(data)?,
        Kind::Pe => pe::exports(data)?,
    };
    let library =
        match (own_name, soname_fallback) {
            (Some(name), _) => name,
            (None, Some(fallback)) => fallback.as_bytes().to_vec(),
            (None, None) => return Err(Error(
                "the library does not record its own name (no DT_SONAME, LC_ID_DYLIB or export \
                 directory name); give the library name explicitly"
                    .to_string(),
            )),
        };
    let facts = Facts {
        dynamic_linker: None,
        imports: exports
            .into_iter()
            .map(|export| Import {
                local: export.name,
                remote: export.versioned_name,
                library: library.clone(),
            })
            .collect(),
        libraries: vec![library],
    };
    write_directives(&facts, opts)
}

/// A symbol a library offers: `versioned_name` is `name#VERSION` where the format has versions.
#[derive(Debug)]
pub(crate) struct Export {
    pub name: Vec<u8>,
    pub versioned_name: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Elf,
    MachO,
    Pe,
}

fn file_kind(data: &[u8]) -> Result<Kind> {
    const NOT_SUPPORTED: &str = "not an ELF, Mach-O or PE file";
    match FileKind::parse(data) {
        Ok(FileKind::Elf32 | FileKind::Elf64) => Ok(Kind::Elf),
        Ok(FileKind::MachO32 | FileKind::MachO64) => Ok(Kind::MachO),
        Ok(FileKind::Pe32 | FileKind::Pe64) => Ok(Kind::Pe),
        Ok(FileKind::MachOFat32 | FileKind::MachOFat64) => Err(Error(
            "universal (fat) Mach-O files are not supported; extract one architecture first"
                .to_string(),
        )),
        Ok(_) => Err(Error(NOT_SUPPORTED.to_string())),
        Err(_) if data.starts_with(b"\x7fELF") => Err(Error(
            "truncated or malformed ELF file: bad header".to_string(),
        )),
        Err(_) if data.starts_with(b"MZ") => Err(Error(
            "truncated or malformed PE file: bad header".to_string(),
        )),
        Err(_) => Err(Error(NOT_SUPPORTED.to_string())),
    }
}

/// Render facts in the requested format.
fn write_directives(facts: &Facts, opts: &Options) -> Result<String> {
    match opts.format {
        OutputFormat::Go => write_go(facts, &opts.package),
        OutputFormat::Rlink => write_rlink(facts),
    }
}

/// Go's `cmd/cgo` layout: names unquoted (and checked as Go's `checkImportSymName` does),
/// strings in `%q` form.
fn write_go(facts: &Facts, package: &str) -> Result<String> {
    let mut out = format!("package {package}\n");
    if let Some(linker) = &facts.dynamic_linker {
        out.push_str("//go:cgo_dynamic_linker ");
        out.push_str(&quote::go_quote(linker));
        out.push('\n');
    }
    for import in &facts.imports {
        let local = quote::go_import_sym_name(&import.local)?;
        let remote = quote::go_import_sym_name(&import.remote)?;
        out.push_str(&format!(
            "//go:cgo_import_dynamic {local} {remote} {}\n",
            quote::go_quote(&import.library)
        ));
    }
    for library in &facts.libraries {
        out.push_str("//go:cgo_import_dynamic _ _ ");
        out.push_str(&quote::go_quote(library));
        out.push('\n');
    }
    Ok(out)
}

/// rlink's directive syntax, written by the directives crate's writer (one writer for one
/// grammar): space-separated fields, strings in plain double quotes with no escapes. Names that
/// grammar cannot carry are refused here. Identical lines are written once.
fn write_rlink(facts: &Facts) -> Result<String> {
    use rlink_directives::DirectiveKind;
    let mut lines: Vec<String> = Vec::new();
    if let Some(linker) = &facts.dynamic_linker {
        let path = quote::rlink_string(linker, "dynamic linker path")?.to_string();
        lines.push(DirectiveKind::DynamicLinker { path }.to_string());
    }
    for import in &facts.imports {
        let local = quote::rlink_name(&import.local)?.to_string();
        // An ELF import names its version as Go does, `name#VERSION`.
        let remote = quote::rlink_name(&import.remote)?;
        let (remote, version) = match remote.split_once('#') {
            Some((name, version)) => (name.to_string(), Some(version.to_string())),
            None => (remote.to_string(), None),
        };
        let library = quote::rlink_string(&import.library, "library name")?.to_string();
        lines.push(
            DirectiveKind::ImportDynamic {
                local,
                remote,
                version,
                library: Some(library),
            }
            .to_string(),
        );
    }
    for library in &facts.libraries {
        let library = quote::rlink_string(library, "library name")?.to_string();
        lines.push(DirectiveKind::NeededLibrary { library }.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for line in lines {
        if seen.insert(line.clone()) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}
