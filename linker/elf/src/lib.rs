//! rlink's ELF back end: `rlink inspect` for ELF files and the internal x86-64 link.
//!
//! The link's phases, one module each: `object` (loading relocatable objects in place),
//! `shared` (what shared libraries export), `resolve` (archive members, symbol binding,
//! COMDAT), `gc` (unused sections), `merge` (string merging), `layout` (sections and
//! addresses) with `scan` (what relocations need) and `dynamic` (the dynamic-linking tables),
//! `x86_64` (relocations), `symtab`, `write` (the output file), with `link` telling the story
//! in order; `combine` writes external linking's relocatable object. `eh_frame` and `gnu_hash`
//! build the unwind search table and the dynamic symbol hash table.

use rlink_linker::format::Format;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::plan::LinkPlan;
use rlink_linker::Result;

mod combine;
mod dynamic;
pub mod eh_frame;
mod gc;
pub mod gnu_hash;
mod inspect;
pub mod layout;
mod link;
mod merge;
pub mod object;
pub mod resolve;
mod scan;
pub mod shared;
mod symtab;
mod write;
pub mod x86_64;

/// The ELF format back end.
pub struct Elf;

impl Format for Elf {
    fn name(&self) -> &'static str {
        "ELF"
    }

    fn reads(&self, kind: FileKind) -> bool {
        kind == FileKind::Elf
    }

    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report> {
        inspect::inspect(data, opts)
    }

    fn link(&self, plan: &LinkPlan) -> Result<()> {
        link::link(plan)
    }

    fn combine(&self, plan: &LinkPlan) -> Result<rlink_linker::format::Combined> {
        link::combine(plan)
    }
}
