//! rlink's ELF back end: `rlink inspect` for ELF files, and ELF's side of the link pipeline
//! (`rlink_linker::pipeline`): the loader that turns objects into the linker's view
//! (`object`) and shared libraries into their exports (`shared`), the layout of sections and
//! segments (`layout`) with the dynamic-linking tables (`dynamic`, `gnu_hash`) and the symbol
//! table (`symtab`), and the writer (`write`). Each CPU is one file of relocation facts and
//! hooks (`x86_64`); `combine` writes external linking's relocatable object.

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
use rlink_linker::reloc::{Arch, DynKind, Refusal};
use rlink_linker::resolve::Resolution;
use rlink_linker::scan::Needs;
use rlink_linker::target::{Cpu, Target};
use rlink_linker::Result;
use rustc_hash::FxHashSet;

pub mod aarch64;
mod combine;
mod compress;
mod dynamic;
mod gdb_index;
pub mod glibc;
pub mod gnu_hash;
mod inspect;
pub mod layout;
pub mod object;
pub mod shared;
mod symtab;
#[cfg(test)]
mod test_util;
mod write;
pub mod x86_64;

/// What ELF needs of a CPU beyond the neutral relocation facts: its `e_machine`, its dynamic
/// relocation numbers and its PLT entries.
pub trait ElfArch: Arch {
    const MACHINE: ::object::elf::Machine;
    /// The section type of `.eh_frame` in outputs (x86-64 has its own, `SHT_X86_64_UNWIND`).
    const EH_FRAME_TYPE: ::object::elf::SectionType;
    /// The TLS ABI: `Some(size)` for variant I (AArch64: the thread pointer points at a TCB of
    /// this size, the TLS block after it), `None` for variant II (x86-64: the block ends at
    /// the thread pointer).
    const TLS_TCB_SIZE: Option<u64>;
    /// The CPU's `R_*` number for a dynamic relocation.
    fn dynamic_type(kind: DynKind) -> u32;
    /// The sizes of the PLT header (0: none) and of each entry, for an output with the CPU
    /// features `features` (the `FEATURE_1_AND` property's bits).
    fn plt_sizes(features: u32) -> (u64, u64);
    /// Writes one PLT entry at `entry_addr` that jumps through the GOT slot at `slot_addr`.
    fn write_plt_entry(
        out: &mut [u8],
        entry_addr: u64,
        slot_addr: u64,
        features: u32,
    ) -> Result<(), Refusal>;
    /// Writes the PLT header at `plt_addr`, for `.got.plt` at `got_plt_addr`.
    fn write_plt_header(
        out: &mut [u8],
        plt_addr: u64,
        got_plt_addr: u64,
        features: u32,
    ) -> Result<(), Refusal> {
        let _ = (out, plt_addr, got_plt_addr, features);
        Ok(())
    }
    /// Dynamic tags that describe the PLT to tools (AArch64: DT_AARCH64_BTI_PLT).
    fn plt_dynamic_tags(features: u32) -> Vec<::object::elf::DynamicTag> {
        let _ = features;
        Vec::new()
    }
    /// The GNU property (`pr_type`) whose bits every input must have for the output to have
    /// them, as GNU ld ANDs them (AArch64: BTI and PAC); `None`: outputs carry no property.
    const FEATURE_1_AND: Option<u32> = None;
    /// The `FEATURE_1_AND` bit that makes indirect branches land only on landing pads (BTI).
    const FEATURE_LANDING_PADS: u32 = 0;
    /// How inputs' values of a GNU property (`pr_type`, a 4-byte value) combine in the
    /// output. By default only [`Self::FEATURE_1_AND`] is kept, ANDed.
    fn property_merge(pr_type: u32) -> PropertyMerge {
        if Some(pr_type) == Self::FEATURE_1_AND {
            PropertyMerge::And
        } else {
            PropertyMerge::Drop
        }
    }
    /// Property bits the command line adds (`-z ibt`, `-z x86-64-v2`): (`pr_type`, bits).
    fn forced_properties(options: &rlink_linker::plan::ElfOptions) -> Vec<(u32, u32)> {
        let _ = options;
        Vec::new()
    }
    /// Whether `insn` (a function's first instruction) is a landing pad for an indirect call.
    fn is_landing_pad(insn: [u8; 4]) -> bool {
        let _ = insn;
        true
    }
    /// The size of a range-extension thunk (0: the CPU's branches reach everywhere).
    const THUNK_SIZE: u64 = 0;
    /// Writes a thunk at `at` that jumps to `target`.
    fn write_thunk(out: &mut [u8], at: u64, target: u64) -> Result<(), Refusal> {
        let _ = (out, at, target);
        Err("this CPU has no range-extension thunks (linker bug)".to_string())
    }
}

/// How one GNU property of the inputs becomes the output's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyMerge {
    /// The bits every input has (an input without the property has none).
    And,
    /// The bits any input has.
    Or,
    /// The bits any input has, if every input has the property; else no property.
    OrAnd,
    /// Not carried into the output.
    Drop,
}

/// The ELF format back end.
pub struct Elf;

/// ELF for one CPU, as the link pipeline drives it.
pub struct ElfBackend<A: ElfArch>(PhantomData<A>);

impl<A: ElfArch> ElfBackend<A> {
    pub fn new() -> Self {
        ElfBackend(PhantomData)
    }
}

impl<A: ElfArch> Default for ElfBackend<A> {
    fn default() -> Self {
        Self::new()
    }
}

/// e_type at offset 16: ET_DYN.
fn is_shared_library(data: &[u8]) -> bool {
    data.get(16..18) == Some(&[3, 0][..])
}

impl<A: ElfArch> Backend for ElfBackend<A> {
    type Arch = A;
    type Layout<'r, 'a>
        = layout::Layout<'r, 'a>
    where
        'a: 'r;

    fn name(&self) -> &'static str {
        "ELF"
    }

    fn object_kind(&self) -> FileKind {
        FileKind::Elf
    }

    fn load_object<'a>(&self, place: String, data: &'a [u8]) -> Result<ObjectView<'a>> {
        object::load(place, data)
    }

    fn is_shared_library(&self, data: &[u8]) -> bool {
        is_shared_library(data)
    }

    fn load_shared_library<'a>(
        &self,
        data: &'a [u8],
        file_name: &str,
    ) -> Result<SharedLibrary<'a>> {
        if data.starts_with(rlink_linker::input::EXPORTS_MAGIC) {
            return glibc::parse(data, file_name);
        }
        shared::parse(data, file_name)
    }

    /// What `libc_nonshared.a` gave programs for glibc before 2.33 (the stat family), for a
    /// link whose glibc floor is older than 2.33, which leaves those names out of libc.
    fn runtime_objects(&self, plan: &LinkPlan) -> Vec<(String, &'static [u8])> {
        static COMPAT: std::sync::OnceLock<[Vec<u8>; 2]> = std::sync::OnceLock::new();
        let old_floor = plan.args.glibc_floor.is_some_and(|f| f < (2, 33));
        if plan.target.os != rlink_linker::target::Os::Linux || !old_floor {
            return Vec::new();
        }
        let compat = COMPAT.get_or_init(|| {
            [
                rlink_runtime_stubs::glibc_compat_object(false),
                rlink_runtime_stubs::glibc_compat_object(true),
            ]
        });
        let bytes = match A::CPU {
            Cpu::X86_64 => &compat[0],
            Cpu::Aarch64 => &compat[1],
        };
        vec![(
            rlink_runtime_stubs::GLIBC_COMPAT_OBJECT_NAME.to_string(),
            bytes.as_slice(),
        )]
    }

    fn entry_stub(&self) -> Option<(String, Vec<u8>)> {
        match A::CPU {
            Cpu::X86_64 => Some((
                rlink_runtime_stubs::ENTRY_OBJECT_NAME.to_string(),
                rlink_runtime_stubs::entry_object(),
            )),
            Cpu::Aarch64 => Some((
                rlink_runtime_stubs::ENTRY_OBJECT_NAME.to_string(),
                rlink_runtime_stubs::aarch64_entry_object(),
            )),
        }
    }

    fn is_synthetic(&self, name: &[u8]) -> bool {
        layout::is_synthetic_name(name)
    }

    fn relaxed_away_in_executables(&self, name: &[u8]) -> bool {
        A::CPU == Cpu::X86_64 && name == b"__tls_get_addr"
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

    fn absolute_symbols_object(&self, symbols: &[(&str, u64)]) -> Result<Vec<u8>> {
        combine::absolute_symbols::<A>(symbols)
    }

    fn combine_objects(
        &self,
        res: &Resolution<'_>,
        exported: &FxHashSet<Vec<u8>>,
        aliases: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<u8>> {
        combine::combine::<A>(res, &res.host, exported, aliases)
    }
}

impl Format for Elf {
    fn name(&self) -> &'static str {
        "ELF"
    }

    fn reads(&self, kind: FileKind) -> bool {
        kind == FileKind::Elf
    }

    fn links_internally(&self, target: &Target) -> bool {
        matches!(target.cpu, Cpu::X86_64 | Cpu::Aarch64)
    }

    /// glibc's libraries, from the bundled manifests, for `-lc`, `-lm`, `-lgcc_s`, … not on
    /// the search path.
    fn bundled_shared_library(
        &self,
        target: &Target,
        name: &str,
    ) -> rlink_linker::plan::BundledShared {
        glibc::bundled(target, name)
    }

    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report> {
        inspect::inspect(data, opts)
    }

    fn link(&self, plan: &LinkPlan) -> Result<()> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::link(&ElfBackend::<x86_64::X86_64>::new(), plan),
            Cpu::Aarch64 => pipeline::link(&ElfBackend::<aarch64::Aarch64>::new(), plan),
        }
    }

    fn relocatable(&self, plan: &LinkPlan) -> Result<()> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::relocatable(&ElfBackend::<x86_64::X86_64>::new(), plan),
            Cpu::Aarch64 => pipeline::relocatable(&ElfBackend::<aarch64::Aarch64>::new(), plan),
        }
    }

    fn combine(&self, plan: &LinkPlan) -> Result<Combined> {
        match plan.target.cpu {
            Cpu::X86_64 => pipeline::combine(&ElfBackend::<x86_64::X86_64>::new(), plan),
            Cpu::Aarch64 => pipeline::combine(&ElfBackend::<aarch64::Aarch64>::new(), plan),
        }
    }
}
