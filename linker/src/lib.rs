//! rlink's core: the command lines, the link plan, and the link pipeline every object format
//! and CPU shares. Format back ends (`rlink-elf`, `rlink-macho`, `rlink-pe`) plug in through
//! [`format::Format`] and [`pipeline::Backend`], CPUs through [`reloc::Arch`]; this crate never
//! depends on them, and never reads a format's structures (a test checks).
//!
//! The link reads as its phases: the front doors ([`args`], [`gnu_args`]) → [`plan`] (files
//! found, mapped, identified, directives read, [`target`] decided) → [`pipeline`]: [`load`]
//! ([`object`] views, [`library`] exports) → [`resolve`] → [`gc`] → the format's placement
//! ([`merge`] for strings) → [`scan`] → the format's layout → [`relocate`] and the format's
//! writer → [`output`].

pub mod args;
pub mod background;
pub mod cli;
pub mod debug_line;
pub mod diag;
pub mod eh_frame;
pub mod exports;
pub mod external;
pub mod format;
pub mod gc;
pub mod gnu_args;
pub mod heap;
pub mod input;
pub mod inspect;
pub mod ldflags;
pub mod library;
pub mod load;
pub mod merge;
pub mod msvc_args;
pub mod names;
pub mod object;
pub mod output;
pub mod par;
pub mod pipeline;
pub mod plan;
pub mod reloc;
pub mod relocate;
pub mod resolve;
pub mod scan;
pub mod script;
pub mod target;
pub mod version_script;

pub use diag::{Error, Result};
