//! The `rlink` binary: the core plus the format back ends it can use.

use rlink_linker::format::{Format, Formats};

static FORMATS: &[&dyn Format] = &[&rlink_elf::Elf, &rlink_macho::MachO, &rlink_pe::Pe];

fn main() -> std::process::ExitCode {
    rlink_linker::cli::main(Formats(FORMATS))
}
