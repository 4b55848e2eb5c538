//! rlink's core: the command lines, the link plan, input loading and the inspect dump, shared
//! by every object format. Format back ends (`rlink-elf`, `rlink-macho`, `rlink-pe`) plug in
//! through [`format::Format`]; this crate never depends on them.
//!
//! The link reads as its phases: [`args`] (command line) → [`plan`] (files found, mapped,
//! identified, directives read) → … → [`output`] (atomic write).

pub mod args;
pub mod cli;
pub mod diag;
pub mod external;
pub mod format;
pub mod gnu_args;
pub mod input;
pub mod inspect;
pub mod ldflags;
pub mod output;
pub mod plan;
pub mod script;
pub mod version_script;

pub use diag::{Error, Result};
