//! cgo-style linker directives: the small text language through which objects tell rlink where
//! their undefined symbols come from and what the host linker must be told.
//!
//! rlink reads the same directives Go's linker reads (`cgo_import_dynamic`, `cgo_import_static`,
//! `cgo_export_static`, `cgo_export_dynamic`, `cgo_dynamic_linker`, `cgo_ldflag`), one per line,
//! from a section of every input object: [`ELF_SECTION`] in ELF, [`COFF_SECTION`] in COFF, and
//! [`MACHO_SECTION`] in segment [`MACHO_SEGMENT`] in Mach-O.
//!
//! This crate holds every piece that touches that text:
//! - the emitting macros ([`cgo_import_dynamic!`], [`cgo_needed_library!`], [`cgo_import_static!`],
//!   [`cgo_export_static!`], [`cgo_export_dynamic!`], [`cgo_dynamic_linker!`], [`cgo_ldflag!`]),
//!   which work in `no_std` crates on stable Rust;
//! - with the `std` feature (default): the parser ([`parse`], [`parse_bytes`]), the writer (the
//!   [`Display`](core::fmt::Display) impl of [`DirectiveKind`]) and the readers that find the
//!   section in objects and archives ([`directives_in_file`], [`sections_in_object`],
//!   [`section_in_object`]). An object usually has one directive section per static (LLVM emits
//!   each `#[used]` ELF static in its own section), so prefer the first two.
//!
//! # Emitting directives from a Rust crate
//!
//! ```
//! // Bind `my_sqrt` to the versioned `sqrt` of libm when rlink links internally.
//! rlink_directives::cgo_import_dynamic!(my_sqrt, "sqrt#GLIBC_2.2.5", "libm.so.6");
//! rlink_directives::cgo_import_dynamic!(puts, "puts", "libc.so.6");
//! // Make libm a DT_NEEDED even if no symbol of it is imported.
//! rlink_directives::cgo_needed_library!("libm.so.6");
//! // When linking externally, the host linker has to find libm itself.
//! rlink_directives::cgo_ldflag!("-lm");
//! // Host objects call `rust_callback` by the name `c_callback`.
//! rlink_directives::cgo_export_static!(rust_callback, "c_callback");
//!
//! #[no_mangle]
//! pub extern "C" fn rust_callback() {}
//! ```
//!
//! # Reading them back
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use rlink_directives::{parse, DirectiveKind};
//!
//! let directives = parse("cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"\n").unwrap();
//! assert_eq!(
//!     directives[0].kind,
//!     DirectiveKind::ImportDynamic {
//!         local: "puts".into(),
//!         remote: "puts".into(),
//!         version: Some("GLIBC_2.2.5".into()),
//!         library: Some("libc.so.6".into()),
//!     }
//! );
//! // The writer gives the canonical line back.
//! assert_eq!(
//!     directives[0].to_string(),
//!     "cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\""
//! );
//! # }
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

mod macros;

// Const helpers of the macros, reached through `$crate`; not part of the API.
#[doc(hidden)]
pub use macros::__private;

#[cfg(feature = "std")]
mod parse;
#[cfg(feature = "std")]
mod section;
#[cfg(feature = "std")]
mod write;

#[cfg(feature = "std")]
pub use parse::{parse, parse_bytes, Directive, DirectiveKind, ParseError};
#[cfg(feature = "std")]
pub use section::{
    archive_objects, directives_in_file, directives_in_member, section_in_object,
    sections_in_object, FileError, FoundDirectives, NamedSections, ObjectError,
};

// The section names are not gated on `std`: they are the macros' contract with the reader, and a
// `no_std` crate may want to name them too. The macros repeat them as literals because attribute
// arguments cannot refer to constants; a unit test keeps the two in step.

/// Section holding directives in ELF objects.
pub const ELF_SECTION: &str = ".rlink.directives";
/// Section holding directives in COFF objects. Longer than eight bytes, so COFF stores it in
/// the string table (`/4`-style names).
pub const COFF_SECTION: &str = ".rlink.directives";
/// Segment of the Mach-O section holding directives.
pub const MACHO_SEGMENT: &str = "__RLINK";
/// Mach-O section (in [`MACHO_SEGMENT`]) holding directives.
pub const MACHO_SECTION: &str = "__directives";
