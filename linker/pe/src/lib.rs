//! rlink's PE/COFF back end: `rlink inspect` for PE/COFF files, and Windows x86-64 executables
//! on the shared link pipeline — the COFF loader (`object`), the relocation table (`x86_64`),
//! the image layout with the import tables (`layout`) and the writer (`write`). Imports come
//! from DLL manifests bundled with rlink (`manifests/`, generated from wine's DLLs) or from
//! `cgo_import_dynamic` directives; no import library is needed.

use std::path::Path;

use rlink_linker::format::Format;
use rlink_linker::gc::Live;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::library::SharedLibrary;
use rlink_linker::object::ObjectView;
use rlink_linker::pipeline::{self, ArchiveMember, Backend, OutputOptions};
use rlink_linker::plan::LinkPlan;
use rlink_linker::resolve::Resolution;
use rlink_linker::scan::Needs;
use rlink_linker::target::{Cpu, Env, Os, Target};
use rlink_linker::{bail, Result};
use rustc_hash::FxHashSet;

mod combine;
mod import_library;
mod inspect;
pub mod layout;
pub mod object;
mod write;
pub mod x86_64;

/// The PE/COFF format back end.
pub struct Pe;

/// PE for x86-64, as the link pipeline drives it.
pub struct PeBackend;

impl Backend for PeBackend {
    type Arch = x86_64::X86_64;
    type Layout<'r, 'a>
        = layout::Layout<'r, 'a>
    where
        'a: 'r;

    fn name(&self) -> &'static str {
        "PE"
    }

    fn object_kind(&self) -> FileKind {
        FileKind::Coff
    }

    fn load_object<'a>(&self, place: String, data: &'a [u8]) -> Result<ObjectView<'a>> {
        object::load(place, data, &x86_64::width)
    }

    fn is_shared_library(&self, _data: &[u8]) -> bool {
        false
    }

    fn load_shared_library<'a>(
        &self,
        _data: &'a [u8],
        file_name: &str,
    ) -> Result<SharedLibrary<'a>> {
        bail!(
            "{file_name}: reading DLLs and import libraries is not implemented yet: rlink binds \
             imports through its bundled DLL manifests or cgo_import_dynamic directives"
        )
    }

    fn interposable(&self) -> bool {
        // Each import names its DLL; the image's own definitions are its own.
        false
    }

    /// A DLL exports what it is told to (`/EXPORT`, `.def`, `dllexport`), so `/OPT:REF`
    /// keeps only what those names and the entry reach.
    fn shared_exports_all(&self) -> bool {
        false
    }

    /// windows-gnu: what mingw's libgcc_eh and libmingw32 would give (`__main`, the GCC
    /// unwinder over SEH), for the names the program references.
    fn runtime_objects(&self, plan: &LinkPlan) -> Vec<(String, &'static [u8])> {
        match plan.target.env {
            Env::Gnu => vec![(
                rlink_runtime_stubs::WINDOWS_GNU_RUNTIME_OBJECT_NAME.to_string(),
                rlink_runtime_stubs::windows_gnu_runtime_object(),
            )],
            _ => Vec::new(),
        }
    }

    /// mingw has an import library for every DLL rlink carries a manifest of.
    fn host_has_bundled_libraries(&self) -> bool {
        true
    }

    /// A DLL's `_DllMainCRTStartup`, which runs its C initializers.
    fn shared_library_entry(&self) -> bool {
        true
    }

    /// No C runtime is there to start the program: the runtime stubs' `mainCRTStartup`,
    /// with the TLS directory and the initializer tables the C runtime would bring.
    fn entry_stub(&self) -> Option<(String, Vec<u8>)> {
        Some((
            rlink_runtime_stubs::WINDOWS_ENTRY_OBJECT_NAME.to_string(),
            rlink_runtime_stubs::windows_entry_object(),
        ))
    }

    /// `__ImageBase`: the image's own address (its DOS header), as link.exe defines it.
    fn is_synthetic(&self, name: &[u8]) -> bool {
        name == layout::IMAGE_BASE_SYMBOL
    }

    fn place<'r, 'a>(
        &self,
        res: &'r Resolution<'a>,
        live: &Live,
        options: OutputOptions,
    ) -> Result<Self::Layout<'r, 'a>> {
        layout::place(res, live, options)
    }

    fn lay_out(&self, layout: &mut Self::Layout<'_, '_>, needs: Needs) -> Result<()> {
        layout::lay_out(layout, needs)
    }

    fn write(&self, layout: &Self::Layout<'_, '_>, path: &Path) -> Result<()> {
        write::write(layout, path)
    }

    fn section_count(&self, layout: &Self::Layout<'_, '_>) -> usize {
        layout.sections.iter().filter(|(_, s)| s.size > 0).count()
    }

    /// Import libraries' members: short imports and GNU dlltool's long form.
    fn archive_members<'a>(
        &self,
        place: &str,
        members: &[rlink_linker::input::Member<'a>],
    ) -> Result<Vec<ArchiveMember<'a>>> {
        import_library::archive_members(place, members)
    }

    fn combine_objects(
        &self,
        res: &Resolution<'_>,
        exported: &FxHashSet<Vec<u8>>,
        aliases: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<u8>> {
        combine::combine(res, exported, aliases)
    }
}

/// The bundled manifest standing for a Windows library name (`-lkernel32`, and what
/// `kernel32.lib` names).
fn manifest(target: &Target, name: &str) -> Option<(&'static str, &'static str)> {
    macro_rules! m {
        ($file:literal) => {
            (
                concat!($file, " (bundled DLL manifest)"),
                include_str!(concat!("../manifests/", $file, ".directives")),
            )
        };
    }
    Some(match name.to_ascii_lowercase().as_str() {
        "kernel32" => m!("kernel32"),
        "ntdll" => m!("ntdll"),
        "advapi32" => m!("advapi32"),
        "userenv" => m!("userenv"),
        "ws2_32" => m!("ws2_32"),
        "dbghelp" => m!("dbghelp"),
        "bcrypt" => m!("bcrypt"),
        "shell32" => m!("shell32"),
        "ole32" => m!("ole32"),
        "user32" => m!("user32"),
        "ucrtbase" => m!("ucrtbase"),
        "vcruntime140" => m!("vcruntime140"),
        "synchronization" | "api-ms-win-core-synch-l1-2-0" => {
            m!("api-ms-win-core-synch-l1-2-0")
        }
        // mingw's static runtime libraries, which rustc names for windows-gnu targets: what
        // std needs from them (`__main`, the GCC unwinder over SEH, the TLS directory) is in
        // rlink's runtime stubs, so they bind nothing.
        "gcc_eh" | "gcc" | "mingw32" | "mingwex" | "ssp" | "ssp_nonshared" | "pthread"
        | ":libpthread.a" | "moldname" | "mingwthrd"
            if target.env == Env::Gnu =>
        {
            m!("mingw-runtime")
        }
        // mingw's -lmsvcrt is msvcrt.dll; MSVC's msvcrt.lib is the dynamic CRT.
        "msvcrt" if target.env == Env::Gnu => m!("msvcrt"),
        "msvcrt" | "ucrt" | "vcruntime" => m!("msvcrt-lib"),
        _ => return None,
    })
}

impl Format for Pe {
    fn name(&self) -> &'static str {
        "PE/COFF"
    }

    fn reads(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::Coff | FileKind::Pe)
    }

    fn links_internally(&self, target: &Target) -> bool {
        target.os == Os::Windows && target.cpu == Cpu::X86_64
    }

    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report> {
        inspect::inspect(data, opts)
    }

    fn bundled_library(&self, target: &Target, name: &str) -> rlink_linker::plan::Bundled {
        if target.os != Os::Windows {
            return None;
        }
        manifest(target, name)
    }

    fn link(&self, plan: &LinkPlan) -> Result<()> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::link(&PeBackend, plan),
            Cpu::Aarch64 => bail!("Windows on arm64 is not supported"),
        }
    }

    fn combine(&self, plan: &LinkPlan) -> Result<rlink_linker::format::Combined> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::combine(&PeBackend, plan),
            Cpu::Aarch64 => bail!("Windows on arm64 is not supported"),
        }
    }
}
