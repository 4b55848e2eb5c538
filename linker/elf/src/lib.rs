//! rlink's ELF back end. Today it reads ELF files for `rlink inspect`; the internal ELF link
//! (loading, relocation per CPU in `x86_64.rs`, writing) grows here.

use rlink_linker::format::Format;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::Result;

mod inspect;

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
}
