//! rlink's PE/COFF back end: `rlink inspect` for PE/COFF files, and the first parts of the
//! Windows link — the COFF loader (`object`) and the x86-64 relocation table (`x86_64`).

use rlink_linker::format::Format;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::Result;

mod inspect;
pub mod object;
pub mod x86_64;

/// The PE/COFF format back end.
pub struct Pe;

impl Format for Pe {
    fn name(&self) -> &'static str {
        "PE/COFF"
    }

    fn reads(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::Coff | FileKind::Pe)
    }

    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report> {
        inspect::inspect(data, opts)
    }
}
