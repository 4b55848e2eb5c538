//! The seam between the core and the object formats.
//!
//! The core never matches on ELF, Mach-O or PE: it asks each registered [`Format`] whether it
//! reads a file and hands the work over. A fourth format is one new crate implementing this
//! trait and one line in the binary that lists the back ends; a second CPU lives inside its
//! format's crate, one file per (format, CPU).

use crate::bail;
use crate::diag::Result;
use crate::input::FileKind;
use crate::inspect::{InspectOptions, Report};
use crate::plan::LinkPlan;
use crate::target::Target;

/// One object-file format back end.
pub trait Format: Sync {
    /// The name used in messages: `ELF`, `Mach-O`, `PE/COFF`.
    fn name(&self) -> &'static str;

    /// Whether this back end reads files of this kind.
    fn reads(&self, kind: FileKind) -> bool;

    /// Whether this back end links for the target itself (internal linking); without, a
    /// link for it goes through the host linker.
    fn links_internally(&self, target: &Target) -> bool {
        let _ = target;
        false
    }

    /// The canonical dump of one file (an object, an executable or a shared library) for
    /// `rlink inspect`. The data is hostile: malformed input is an error, never a panic.
    fn inspect(&self, data: &[u8], opts: &InspectOptions) -> Result<Report>;

    /// External linking's first half: the Rust objects merged into one relocatable object,
    /// and the inputs the host linker reads itself.
    fn combine(&self, plan: &LinkPlan) -> Result<Combined> {
        let _ = plan;
        bail!(
            "external linking of {} output is not implemented yet",
            self.name()
        )
    }

    /// `-r`: the inputs merged into one relocatable object, written to the output.
    fn relocatable(&self, plan: &LinkPlan) -> Result<()> {
        let _ = plan;
        bail!(
            "-r (--relocatable) is implemented for ELF only, not {} objects",
            self.name()
        )
    }

    /// A library this back end carries for `target`, read when `-lNAME` is not on the search
    /// path (see [`crate::plan::Bundled`]).
    fn bundled_library(&self, target: &Target, name: &str) -> crate::plan::Bundled {
        let _ = (target, name);
        None
    }

    /// A shared library this back end carries for `target` (see
    /// [`crate::plan::BundledShared`]), read when `-lNAME` is not on the search path.
    fn bundled_shared_library(&self, target: &Target, name: &str) -> crate::plan::BundledShared {
        let _ = (target, name);
        Vec::new()
    }

    /// Links the plan's inputs into an executable, internally (no host linker).
    fn link(&self, plan: &LinkPlan) -> Result<()> {
        let _ = plan;
        bail!(
            "internal linking of {} output is not implemented yet",
            self.name()
        )
    }
}

/// What external linking hands the host linker besides its own flags.
pub struct Combined {
    /// The combined relocatable object.
    pub object: Vec<u8>,
    /// Host objects, archives, shared libraries and `-l` names, in command-line order.
    pub host_inputs: Vec<HostInput>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostInput {
    File(std::path::PathBuf),
    Library(String),
}

/// The registered back ends, in the order they are asked.
#[derive(Clone, Copy)]
pub struct Formats(pub &'static [&'static dyn Format]);

impl Formats {
    pub fn for_kind(&self, kind: FileKind) -> Option<&'static dyn Format> {
        self.0.iter().copied().find(|f| f.reads(kind))
    }

    /// The first bundled shared library any back end has for `-lNAME`.
    pub fn bundled_shared_library(
        &self,
        target: &Target,
        name: &str,
    ) -> crate::plan::BundledShared {
        self.0
            .iter()
            .map(|f| f.bundled_shared_library(target, name))
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    }

    /// The first bundled library any back end has for `-lNAME`.
    pub fn bundled_library(&self, target: &Target, name: &str) -> crate::plan::Bundled {
        self.0.iter().find_map(|f| f.bundled_library(target, name))
    }
}
