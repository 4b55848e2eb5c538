//! The emitting macros: each expands to a `#[used]` static in the directive section whose bytes
//! are one canonical directive line followed by `\n`.
//!
//! Everything here must work in a `no_std` crate on stable Rust with only this crate as a
//! dependency (even with `default-features = false`), so the line is assembled by `concat!` and
//! copied into a byte array by a `const fn`, and bad names are rejected by const panics, which
//! turn into compile errors at the macro call.
//!
//! The section is chosen with `cfg_attr` inside the expansion, so it follows the target of the
//! crate that *uses* the macro, not the one this crate was built for. `unsafe(link_section)` is
//! the spelling edition 2024 requires and earlier editions accept.

/// Emits `cgo_import_dynamic local [remote ["library"]]`: when rlink links internally, an
/// undefined `local` is bound to symbol `remote` (default `local`, optionally versioned as
/// `name#VERSION` or `name@VERSION`) of the shared library `library`.
///
/// `local` is an identifier or a string literal; `remote` and `library` are string literals.
/// The line is written in canonical form: `remote` is left out when it equals `local` and no
/// library is given, and a version is always written with `#`.
///
/// ```
/// rlink_directives::cgo_import_dynamic!(puts);
/// rlink_directives::cgo_import_dynamic!(puts, "puts");
/// rlink_directives::cgo_import_dynamic!(my_sqrt, "sqrt#GLIBC_2.2.5", "libm.so.6");
/// rlink_directives::cgo_import_dynamic!("puts$UNIX2003", "puts", "/usr/lib/libSystem.B.dylib");
/// ```
#[macro_export]
macro_rules! cgo_import_dynamic {
    ($local:tt $(,)?) => {
        const _: () = {
            const LOCAL: &str = $crate::__cgo_name!($local);
            const _: () = $crate::__private::check_import_local(LOCAL);
            $crate::__cgo_emit!("cgo_import_dynamic ", $crate::__cgo_name!($local));
        };
    };
    ($local:tt, $remote:literal $(,)?) => {
        const _: () = {
            const LOCAL: &str = $crate::__cgo_name!($local);
            const REMOTE: &str = $remote;
            const _: () = $crate::__private::check_import_local(LOCAL);
            const _: () = $crate::__private::check_remote(REMOTE);
            const SHORT: &str =
                ::core::concat!("cgo_import_dynamic ", $crate::__cgo_name!($local), "\n");
            const FULL: &str = ::core::concat!(
                "cgo_import_dynamic ",
                $crate::__cgo_name!($local),
                " ",
                $remote,
                "\n"
            );
            const IS_SHORT: bool = $crate::__private::remote_is_local(LOCAL, REMOTE);
            const LINE: &str = if IS_SHORT { SHORT } else { FULL };
            // Where the version separator sits in LINE, so it can be written as `#`.
            const SEPARATOR: usize = if IS_SHORT {
                ::core::primitive::usize::MAX
            } else {
                $crate::__private::version_separator_at(
                    "cgo_import_dynamic ".len() + LOCAL.len() + 1,
                    REMOTE,
                )
            };
            $crate::__cgo_static!(LINE, SEPARATOR);
        };
    };
    ($local:tt, $remote:literal, $library:literal $(,)?) => {
        const _: () = {
            const LOCAL: &str = $crate::__cgo_name!($local);
            const REMOTE: &str = $remote;
            const _: () = $crate::__private::check_import_local(LOCAL);
            const _: () = $crate::__private::check_remote(REMOTE);
            const _: () = $crate::__private::check_quoted($library, true);
            const LINE: &str = ::core::concat!(
                "cgo_import_dynamic ",
                $crate::__cgo_name!($local),
                " ",
                $remote,
                " \"",
                $library,
                "\"\n",
            );
            const SEPARATOR: usize = $crate::__private::version_separator_at(
                "cgo_import_dynamic ".len() + LOCAL.len() + 1,
                REMOTE,
            );
            $crate::__cgo_static!(LINE, SEPARATOR);
        };
    };
}

/// Emits `cgo_import_dynamic _ _ "library"`: the library becomes a needed library (DT_NEEDED,
/// LC_LOAD_DYLIB, an import descriptor) when rlink links internally, whether or not any symbol
/// is imported from it.
///
/// ```
/// rlink_directives::cgo_needed_library!("libm.so.6");
/// ```
#[macro_export]
macro_rules! cgo_needed_library {
    ($library:literal $(,)?) => {
        const _: () = {
            const _: () = $crate::__private::check_quoted($library, false);
            $crate::__cgo_emit!("cgo_import_dynamic _ _ \"", $library, "\"");
        };
    };
}

/// Emits `cgo_import_static local`: `local` is defined by a host object, so it must not become a
/// dynamic import.
///
/// ```
/// rlink_directives::cgo_import_static!(my_c_helper);
/// ```
#[macro_export]
macro_rules! cgo_import_static {
    ($local:tt $(,)?) => {
        const _: () = {
            const _: () = $crate::__private::check_name($crate::__cgo_name!($local));
            $crate::__cgo_emit!("cgo_import_static ", $crate::__cgo_name!($local));
        };
    };
}

/// Emits `cgo_export_static local [remote]`: host objects may reference `local` under the name
/// `remote` (default `local`).
///
/// ```
/// rlink_directives::cgo_export_static!(rust_fn);
/// rlink_directives::cgo_export_static!(rust_fn, "c_name");
/// # #[no_mangle] pub extern "C" fn rust_fn() {}
/// ```
#[macro_export]
macro_rules! cgo_export_static {
    ($($args:tt)*) => {
        $crate::__cgo_export!("cgo_export_static ", $($args)*);
    };
}

/// Emits `cgo_export_dynamic local [remote]`: `local` goes into the dynamic symbol table as
/// `remote` (default `local`).
///
/// ```
/// rlink_directives::cgo_export_dynamic!(rust_fn);
/// rlink_directives::cgo_export_dynamic!(rust_fn, "c_name");
/// # #[no_mangle] pub extern "C" fn rust_fn() {}
/// ```
#[macro_export]
macro_rules! cgo_export_dynamic {
    ($($args:tt)*) => {
        $crate::__cgo_export!("cgo_export_dynamic ", $($args)*);
    };
}

/// Emits `cgo_dynamic_linker "path"`: the program interpreter (ELF `PT_INTERP`).
///
/// ```
/// rlink_directives::cgo_dynamic_linker!("/lib64/ld-linux-x86-64.so.2");
/// ```
#[macro_export]
macro_rules! cgo_dynamic_linker {
    ($path:literal $(,)?) => {
        const _: () = {
            const _: () = $crate::__private::check_quoted($path, false);
            $crate::__cgo_emit!("cgo_dynamic_linker \"", $path, "\"");
        };
    };
}

/// Emits `cgo_ldflag "arg"`: appended to the host linker's command line when linking externally
/// (after rlink's allowlist accepts it).
///
/// ```
/// rlink_directives::cgo_ldflag!("-lm");
/// ```
#[macro_export]
macro_rules! cgo_ldflag {
    ($arg:literal $(,)?) => {
        const _: () = {
            const _: () = $crate::__private::check_quoted($arg, false);
            $crate::__cgo_emit!("cgo_ldflag \"", $arg, "\"");
        };
    };
}

/// The two export verbs share their shape: `local [remote]`, remote left out when equal.
#[doc(hidden)]
#[macro_export]
macro_rules! __cgo_export {
    ($verb:literal, $local:tt $(,)?) => {
        const _: () = {
            const _: () = $crate::__private::check_name($crate::__cgo_name!($local));
            $crate::__cgo_emit!($verb, $crate::__cgo_name!($local));
        };
    };
    ($verb:literal, $local:tt, $remote:literal $(,)?) => {
        const _: () = {
            const LOCAL: &str = $crate::__cgo_name!($local);
            const REMOTE: &str = $remote;
            const _: () = $crate::__private::check_name(LOCAL);
            const _: () = $crate::__private::check_name(REMOTE);
            const SHORT: &str = ::core::concat!($verb, $crate::__cgo_name!($local), "\n");
            const FULL: &str =
                ::core::concat!($verb, $crate::__cgo_name!($local), " ", $remote, "\n");
            const LINE: &str = if $crate::__private::str_eq(LOCAL, REMOTE) {
                SHORT
            } else {
                FULL
            };
            $crate::__cgo_static!(LINE, ::core::primitive::usize::MAX);
        };
    };
}

/// A name given as an identifier or a string literal, as a string literal.
#[doc(hidden)]
#[macro_export]
macro_rules! __cgo_name {
    ($name:ident) => {
        ::core::stringify!($name)
    };
    ($name:literal) => {
        $name
    };
}

/// Emits the directive whose line is the concatenation of `parts`.
#[doc(hidden)]
#[macro_export]
macro_rules! __cgo_emit {
    ($($part:expr),+ $(,)?) => {
        const _: () = {
            const LINE: &str = ::core::concat!($($part,)+ "\n");
            $crate::__cgo_static!(LINE, ::core::primitive::usize::MAX);
        };
    };
}

/// The static itself. `$separator` is the index of a version separator to write as `#`, or
/// `usize::MAX` for none.
#[doc(hidden)]
#[macro_export]
macro_rules! __cgo_static {
    ($line:ident, $separator:expr) => {
        // `#[used]` keeps the static although nothing refers to it; the section is picked for
        // the target of the expanding crate. Placing inert bytes in a section of their own
        // cannot break anything, so crates that deny `unsafe_code` may still use the macros.
        #[used]
        #[allow(unsafe_code)]
        #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__RLINK,__directives"))]
        #[cfg_attr(
            not(target_vendor = "apple"),
            unsafe(link_section = ".rlink.directives")
        )]
        static DIRECTIVE: [u8; $line.len()] = $crate::__private::line_bytes($line, $separator);
    };
}

/// Const helpers of the macros. Not part of the API: only the macros may call them.
#[doc(hidden)]
pub mod __private {
    /// `line` as a byte array, with the byte at `separator` (if in range) replaced by `#`.
    pub const fn line_bytes<const N: usize>(line: &str, separator: usize) -> [u8; N] {
        let bytes = line.as_bytes();
        if bytes.len() != N {
            panic!("rlink_directives: directive length mismatch");
        }
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = if i == separator { b'#' } else { bytes[i] };
            i += 1;
        }
        out
    }

    pub const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Whether `bytes[i]` starts a control character: C0, DEL, or C1 (U+0080..U+009F, encoded
    /// as `C2 80`..`C2 9F`), the same set the parser rejects.
    const fn is_control_at(bytes: &[u8], i: usize) -> bool {
        let byte = bytes[i];
        byte < 0x20
            || byte == 0x7f
            || (byte == 0xc2 && i + 1 < bytes.len() && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9f)
    }

    /// An unquoted name: non-empty, without spaces, quotes or control characters.
    pub const fn check_name(name: &str) {
        let bytes = name.as_bytes();
        if bytes.is_empty() {
            panic!("cgo directive: a name must not be empty");
        }
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b' ' || bytes[i] == b'"' || is_control_at(bytes, i) {
                panic!(
                    "cgo directive: a name must not contain whitespace, '\"' or control characters"
                );
            }
            i += 1;
        }
    }

    /// The local name of `cgo_import_dynamic`, where `_` is reserved for `cgo_needed_library!`.
    pub const fn check_import_local(name: &str) {
        check_name(name);
        if str_eq(name, "_") {
            panic!("cgo_import_dynamic: `_` is not a symbol; use cgo_needed_library! to link a library");
        }
    }

    /// Where the first version separator (`#` or `@`) is in `remote`, if anywhere.
    const fn find_separator(remote: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < remote.len() {
            if remote[i] == b'#' || remote[i] == b'@' {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// A remote name: a name whose optional `#VERSION`/`@VERSION` has both parts non-empty.
    pub const fn check_remote(remote: &str) {
        check_name(remote);
        let bytes = remote.as_bytes();
        if let Some(at) = find_separator(bytes) {
            if at == 0 {
                panic!("cgo_import_dynamic: empty symbol name before the version");
            }
            if at + 1 == bytes.len() {
                panic!("cgo_import_dynamic: empty symbol version");
            }
        }
    }

    /// A quoted field (library, path, ldflag): no quotes or control characters; spaces are fine.
    pub const fn check_quoted(text: &str, allow_empty: bool) {
        let bytes = text.as_bytes();
        if bytes.is_empty() && !allow_empty {
            panic!("cgo directive: a quoted argument must not be empty");
        }
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'"' || is_control_at(bytes, i) {
                panic!(
                    "cgo directive: a quoted argument must not contain '\"' or control characters"
                );
            }
            i += 1;
        }
    }

    /// Whether the canonical line may leave `remote` out: it names the same symbol as `local`
    /// without a version. (A `local` containing `#` still needs its remote written, or the
    /// reader would take the `#` in the remote position as a version.)
    pub const fn remote_is_local(local: &str, remote: &str) -> bool {
        str_eq(local, remote) && find_separator(remote.as_bytes()).is_none()
    }

    /// The index in the line of the version separator of `remote`, which starts at `remote_at`;
    /// `usize::MAX` when it has no version.
    pub const fn version_separator_at(remote_at: usize, remote: &str) -> usize {
        match find_separator(remote.as_bytes()) {
            Some(at) => remote_at + at,
            None => usize::MAX,
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::__private::*;

    #[test]
    fn line_bytes_rewrites_the_separator() {
        let bytes: [u8; 5] = line_bytes("a@b\n\0", 1);
        assert_eq!(&bytes, b"a#b\n\0");
        let bytes: [u8; 4] = line_bytes("a@b\n", usize::MAX);
        assert_eq!(&bytes, b"a@b\n");
    }

    #[test]
    fn separator_position() {
        let line = "cgo_import_dynamic s sqrt@V\n";
        let at = version_separator_at("cgo_import_dynamic s ".len(), "sqrt@V");
        assert_eq!(line.as_bytes()[at], b'@');
        assert_eq!(version_separator_at(21, "sqrt"), usize::MAX);
        assert!(remote_is_local("puts", "puts"));
        assert!(!remote_is_local("puts", "putz"));
        assert!(!remote_is_local("a#b", "a#b"));
    }

    #[test]
    fn checks_accept_valid_names() {
        check_name("puts$UNIX2003");
        check_name("名前");
        check_import_local("x_");
        check_remote("sqrt#GLIBC_2.2.5");
        check_remote("sqrt@V");
        check_quoted("C:/Program Files/x.dll", false);
        check_quoted("", true);
        assert!(str_eq("abc", "abc"));
        assert!(!str_eq("abc", "abd"));
        assert!(!str_eq("abc", "ab"));
    }

    fn panics(f: fn()) -> bool {
        std::panic::catch_unwind(f).is_err()
    }

    #[test]
    fn checks_reject_invalid_names() {
        assert!(panics(|| check_name("")));
        assert!(panics(|| check_name("a b")));
        assert!(panics(|| check_name("a\"b")));
        assert!(panics(|| check_name("a\tb")));
        assert!(panics(|| check_name("a\u{7f}")));
        assert!(panics(|| check_name("a\u{85}")));
        assert!(panics(|| check_import_local("_")));
        assert!(panics(|| check_remote("#V")));
        assert!(panics(|| check_remote("a#")));
        assert!(panics(|| check_remote("a@")));
        assert!(panics(|| check_quoted("", false)));
        assert!(panics(|| check_quoted("a\"b", true)));
        assert!(panics(|| check_quoted("a\nb", true)));
    }
}
