//! rlink's Mach-O back end: `rlink inspect` for Mach-O files, and Mach-O's side of the link
//! pipeline (`rlink_linker::pipeline`) for x86_64 and arm64 macOS executables: the loader
//! (`object`), the layout of segments and sections with the stubs and GOT (`layout`), the
//! `__LINKEDIT` contents — chained fixups, exports trie, symbol tables (`linkedit`) — the
//! writer (`write`) and the ad-hoc code signature (`signature`). Each CPU is one file of
//! relocation facts and its stub (`x86_64`, `aarch64`); `data` holds what both share.

use std::marker::PhantomData;
use std::path::Path;

use rlink_linker::format::{Combined, Format};
use rlink_linker::gc::Live;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::library::SharedLibrary;
use rlink_linker::object::ObjectView;
use rlink_linker::pipeline::{self, Backend, OutputOptions};
use rlink_linker::plan::LinkPlan;
use rlink_linker::reloc::{Arch, Refusal};
use rlink_linker::resolve::Resolution;
use rlink_linker::scan::Needs;
use rlink_linker::target::{Cpu, Os, Target};
use rlink_linker::{bail, Result};
use rustc_hash::FxHashSet;

pub mod aarch64;
mod combine;
mod data;
mod inspect;
pub mod layout;
mod linkedit;
pub mod object;
mod signature;
mod tbd;
mod unwind;
mod write;
pub mod x86_64;

/// What Mach-O needs of a CPU beyond the neutral relocation facts.
pub trait MachArch: Arch {
    const CPUTYPE: u32;
    const CPUSUBTYPE: u32;
    /// The page size segments are aligned to (and chained fixups are counted in).
    const PAGE_SIZE: u64;
    const STUB_SIZE: u64;
    const STUB_ALIGN_LOG2: u8;
    /// Compact unwind encodings: the mode bits, and the mode that defers to the FDE.
    const UNWIND_MODE_MASK: u32 = 0x0f00_0000;
    const UNWIND_MODE_DWARF: u32;
    /// The oldest macOS rustc targets on this CPU (and so the default `minos`).
    const MIN_OS: (u32, u32, u32);
    /// Writes one stub at `stub_addr` that jumps through the GOT slot at `slot_addr`.
    fn write_stub(out: &mut [u8], stub_addr: u64, slot_addr: u64) -> Result<(), Refusal>;
    /// The size of a branch island's thunk (0: the CPU's branches reach everywhere, and no
    /// islands are planned).
    const THUNK_SIZE: u64 = 0;
    /// Writes a thunk at `at` (its first `THUNK_SIZE` bytes of `out`) that jumps to `target`.
    fn write_thunk(out: &mut [u8], at: u64, target: u64) -> Result<(), Refusal> {
        let _ = (out, at, target);
        Err("this CPU has no branch islands (linker bug)".to_string())
    }

    // How the loader reads a raw relocation type of this CPU.
    /// The first half of a difference (`SUBTRACTOR`).
    fn is_subtractor(raw: u32) -> bool;
    /// A relocation that only gives the next one its addend (arm64's `ADDEND`).
    fn is_addend_prefix(raw: u32) -> bool {
        let _ = raw;
        false
    }
    /// The CPU's number for `SUBTRACTOR`.
    const SUBTRACTOR_TYPE: u32;
    /// For a relocation whose addend is not in the place: the type of the relocation that
    /// carries it just before, in an object, if this type may have one (arm64's `ADDEND`,
    /// for branches and page references).
    fn addend_prefix_for(raw: u32) -> Option<u32> {
        let _ = raw;
        None
    }
    /// Whether the place holds the addend (else it is 0 or given by an addend prefix).
    fn addend_in_place(raw: u32, pcrel: bool) -> bool;
    /// Where a PC-relative value is measured from, in bytes after the field's start.
    fn pcrel_end(raw: u32) -> i64 {
        let _ = raw;
        0
    }
    /// What the assembler took off a stored PC-relative addend (x86_64's `SIGNED_1/2/4`).
    fn stored_bias(raw: u32) -> i64 {
        let _ = raw;
        0
    }
}

/// The Mach-O format back end.
pub struct MachO;

/// Mach-O for one CPU, as the link pipeline drives it.
pub struct MachBackend<A: MachArch>(PhantomData<A>);

impl<A: MachArch> MachBackend<A> {
    pub fn new() -> Self {
        MachBackend(PhantomData)
    }
}

impl<A: MachArch> Default for MachBackend<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: MachArch> Backend for MachBackend<A> {
    type Arch = A;
    type Layout<'r, 'a>
        = layout::Layout<'r, 'a>
    where
        'a: 'r;

    fn name(&self) -> &'static str {
        "Mach-O"
    }

    fn object_kind(&self) -> FileKind {
        FileKind::MachO
    }

    fn load_object<'a>(&self, place: String, data: &'a [u8]) -> Result<ObjectView<'a>> {
        object::load::<A>(place, data)
    }

    fn is_shared_library(&self, data: &[u8]) -> bool {
        // filetype at offset 12: MH_DYLIB (6) or MH_DYLIB_STUB (9).
        matches!(data.get(12..16), Some([6 | 9, 0, 0, 0]))
    }

    fn load_shared_library<'a>(
        &self,
        data: &'a [u8],
        _file_name: &str,
    ) -> Result<SharedLibrary<'a>> {
        if FileKind::identify(data) == FileKind::Tbd {
            return tbd::parse(data, A::CPU);
        }
        bail!(
            "reading Mach-O dylibs is not implemented yet: give the dylib's .tbd, or bind its \
             names with cgo_import_dynamic directives"
        )
    }

    fn interposable(&self) -> bool {
        false
    }

    fn entry_stub(&self) -> Option<(String, Vec<u8>)> {
        // dyld calls main itself (LC_MAIN).
        None
    }

    fn is_synthetic(&self, name: &[u8]) -> bool {
        layout::is_synthetic_name(name)
    }

    fn place<'r, 'a>(
        &self,
        res: &'r Resolution<'a>,
        live: &Live,
        options: OutputOptions,
    ) -> Result<Self::Layout<'r, 'a>> {
        layout::place::<A>(res, live, options)
    }

    fn lay_out(&self, layout: &mut Self::Layout<'_, '_>, needs: Needs) -> Result<()> {
        layout::lay_out::<A>(layout, needs)
    }

    fn write(&self, layout: &Self::Layout<'_, '_>, path: &Path) -> Result<()> {
        write::write::<A>(layout, path)
    }

    fn section_count(&self, layout: &Self::Layout<'_, '_>) -> usize {
        layout.sections.len()
    }

    fn combine_objects(
        &self,
        res: &Resolution<'_>,
        exported: &FxHashSet<Vec<u8>>,
        aliases: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<u8>> {
        combine::combine::<A>(res, exported, aliases)
    }
}

impl Format for MachO {
    fn name(&self) -> &'static str {
        "Mach-O"
    }

    fn reads(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::MachO)
    }

    fn links_internally(&self, target: &Target) -> bool {
        target.os == Os::MacOs
    }

    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report> {
        inspect::inspect(data, opts)
    }

    /// libSystem and the names macOS links to it (`/usr/lib/libc.dylib` and the rest are
    /// symbolic links to libSystem there): a manifest of what it exports, generated from a
    /// `.tbd` by `manifests/generate.py`, so no SDK is needed.
    fn bundled_library(&self, target: &Target, name: &str) -> rlink_linker::plan::Bundled {
        if target.os != Os::MacOs
            || !matches!(
                name,
                "System"
                    | "c"
                    | "m"
                    | "pthread"
                    | "dl"
                    | "info"
                    | "dbm"
                    | "poll"
                    | "proc"
                    | "rpcsvc"
            )
        {
            return None;
        }
        Some(match target.cpu {
            Cpu::X86_64 => (
                "libSystem (bundled manifest, x86_64)",
                include_str!("../manifests/libSystem-x86_64.directives"),
            ),
            Cpu::Aarch64 => (
                "libSystem (bundled manifest, arm64)",
                include_str!("../manifests/libSystem-arm64.directives"),
            ),
        })
    }

    fn link(&self, plan: &LinkPlan) -> Result<()> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::link(&MachBackend::<x86_64::X86_64>::new(), plan),
            Cpu::Aarch64 => pipeline::link(&MachBackend::<aarch64::Aarch64>::new(), plan),
        }
    }

    fn combine(&self, plan: &LinkPlan) -> Result<Combined> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::combine(&MachBackend::<x86_64::X86_64>::new(), plan),
            Cpu::Aarch64 => pipeline::combine(&MachBackend::<aarch64::Aarch64>::new(), plan),
        }
    }
}
