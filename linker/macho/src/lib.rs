//! rlink's Mach-O back end. Today it reads Mach-O files for `rlink inspect`.

use rlink_linker::format::Format;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::Result;

mod inspect;

/// The Mach-O format back end.
pub struct MachO;

impl Format for MachO {
    fn name(&self) -> &'static str {
        "Mach-O"
    }

    fn reads(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::MachO)
    }

    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report> {
        inspect::inspect(data, opts)
    }
}
