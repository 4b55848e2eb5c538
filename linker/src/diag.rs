//! Diagnostics: the one error type every phase returns, and the helpers that keep messages in
//! the shape users grep for: `rlink: error: FILE(MEMBER): what is wrong`.
//!
//! Errors carry a context chain instead of a backtrace: each layer that knows more about *where*
//! (the file, the archive member, the section, the symbol) adds it, as Go's linker names
//! `libfoo.a(bar.o)` in every diagnostic. Panics are reserved for linker bugs.

use std::fmt;

/// A diagnostic that ends the link. The message is complete and user-facing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// Prefix the message with where it happened (`foo.o: `), the way every layer adds what
    /// it knows.
    pub fn at(self, place: impl fmt::Display) -> Self {
        Error {
            message: format!("{place}: {}", self.message),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(e.to_string())
    }
}

/// Adds a place to the error of a `Result`, lazily.
pub trait Context<T> {
    fn at<P: fmt::Display>(self, place: impl FnOnce() -> P) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn at<P: fmt::Display>(self, place: impl FnOnce() -> P) -> Result<T> {
        self.map_err(|e| Error::new(format!("{}: {e}", place())))
    }
}

/// Return early with an [`Error`] built like `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::diag::Error::new(format!($($arg)*))) };
}

/// `bail!` unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => { if !$cond { $crate::bail!($($arg)*); } };
}

/// Where a diagnostic points: a file, or a member of an archive, printed as `file(member)`
/// like every Unix linker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Place<'a> {
    pub file: &'a str,
    pub member: Option<&'a str>,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.member {
            Some(m) => write!(f, "{}({m})", self.file),
            None => f.write_str(self.file),
        }
    }
}

/// A symbol name as users should read it: Rust names demangled (legacy and v0), everything
/// else as written. Used in every message that names a symbol.
/// `--no-demangle` clears it: names in messages are printed as the objects spell them.
static DEMANGLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

pub fn set_demangle(on: bool) {
    DEMANGLE.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn demangle(name: &str) -> String {
    if !DEMANGLE.load(std::sync::atomic::Ordering::Relaxed) {
        return name.to_string();
    }
    match rustc_demangle::try_demangle(name) {
        // `{:#}` drops the hash suffix, which only makes messages noisier.
        Ok(d) => format!("{d:#}"),
        Err(_) => demangle_cpp(name).unwrap_or_else(|| name.to_string()),
    }
}

/// A C++ (Itanium ABI) name demangled, as GNU ld prints it: `_Z3fooi` → `foo(int)`.
pub fn demangle_cpp(name: &str) -> Option<String> {
    if !name.starts_with("_Z") {
        return None;
    }
    let symbol = cpp_demangle::Symbol::new(name).ok()?;
    symbol
        .demangle(&cpp_demangle::DemangleOptions::default())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_prints_member_in_parentheses() {
        let p = Place {
            file: "libfoo.rlib",
            member: Some("foo.o"),
        };
        assert_eq!(p.to_string(), "libfoo.rlib(foo.o)");
        let p = Place {
            file: "a.o",
            member: None,
        };
        assert_eq!(p.to_string(), "a.o");
    }

    #[test]
    fn errors_gain_places_outside_in() {
        let e = Error::new("bad relocation").at(".text").at("a.o");
        assert_eq!(e.to_string(), "a.o: .text: bad relocation");
        let r: std::result::Result<(), &str> = Err("truncated");
        assert_eq!(r.at(|| "x.o").unwrap_err().message(), "x.o: truncated");
    }

    #[test]
    fn rust_names_are_demangled_without_hash() {
        assert_eq!(
            demangle("_ZN4core9panicking5panic17h0123456789abcdefE"),
            "core::panicking::panic"
        );
        assert_eq!(demangle("puts"), "puts");
    }
}
