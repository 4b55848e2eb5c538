//! rlink's PE/COFF back end. Today it reads PE/COFF files for `rlink inspect`.

use rlink_linker::format::Format;
use rlink_linker::input::FileKind;
use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::Result;

mod inspect;

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
