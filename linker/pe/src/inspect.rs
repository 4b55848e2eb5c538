use rlink_linker::inspect::{InspectOptions, Report};
use rlink_linker::{bail, Result};

pub fn inspect(_data: &[u8], _opts: &InspectOptions) -> Result<Report> {
    bail!("not implemented")
}
