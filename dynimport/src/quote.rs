//! Writing names and strings: Go's `%q` and `checkImportSymName`, and rlink's token rules.

use crate::isprint_table::PRINTABLE_RANGES;
use crate::{Error, Result};

/// Go's `strconv.IsPrint`.
fn is_print(c: char) -> bool {
    let c = u32::from(c);
    PRINTABLE_RANGES
        .binary_search_by(|&(low, high)| {
            if high < c {
                std::cmp::Ordering::Less
            } else if low > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// One step of decoding bytes the way Go's `range` over a string does: a valid UTF-8
/// sequence gives its character; any other byte gives `Err(byte)` and is consumed alone.
enum Piece {
    Char(char),
    Invalid(u8),
}

fn go_decode(bytes: &[u8]) -> impl Iterator<Item = Piece> + '_ {
    // `Utf8Chunks` yields maximal invalid prefixes; their bytes are a lead byte followed by
    // continuation bytes, none of which can start a valid sequence, so Go would reject each
    // of them individually too.
    bytes.utf8_chunks().flat_map(|chunk| {
        chunk
            .valid()
            .chars()
            .map(Piece::Char)
            .chain(chunk.invalid().iter().map(|&b| Piece::Invalid(b)))
    })
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, prefix: &str, value: u32, digits: u32) {
    out.push_str(prefix);
    for shift in (0..digits).rev() {
        let nibble = (value >> (shift * 4)) & 0xf;
        out.push(char::from(LOWER_HEX[nibble as usize]));
    }
}

/// Go's `fmt.Sprintf("%q", string(bytes))`, i.e. `strconv.Quote`.
pub(crate) fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for piece in go_decode(bytes) {
        let c = match piece {
            Piece::Invalid(b) => {
                push_hex(&mut out, "\\x", u32::from(b), 2);
                continue;
            }
            Piece::Char(c) => c,
        };
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            _ if c < ' ' || c == '\u{7f}' => push_hex(&mut out, "\\x", u32::from(c), 2),
            _ if u32::from(c) < 0x10000 => push_hex(&mut out, "\\u", u32::from(c), 4),
            _ => push_hex(&mut out, "\\U", u32::from(c), 8),
        }
    }
    out.push('"');
    out
}

/// Go's `strings.ToLower`: ASCII bytes lowered in place; otherwise every character mapped by
/// its simple lower-case mapping and every invalid byte replaced by U+FFFD.
pub(crate) fn go_to_lower(bytes: &[u8]) -> Vec<u8> {
    if bytes.is_ascii() {
        return bytes.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(bytes.len());
    for piece in go_decode(bytes) {
        match piece {
            Piece::Invalid(_) => out.push(char::REPLACEMENT_CHARACTER),
            // U+0130 is the one character whose full lower-case mapping (Rust's) is longer
            // than its simple mapping (Go's).
            Piece::Char('\u{130}') => out.push('i'),
            Piece::Char(c) => out.extend(c.to_lowercase()),
        }
    }
    out.into_bytes()
}

/// A symbol name as Go's cgo writes it, unquoted: `checkImportSymName` rejects anything but
/// graphic, non-space characters, and Go comment openers.
///
/// Go would print a name that is not UTF-8 as raw bytes; a Rust `String` cannot hold that, so
/// it is an error here.
pub(crate) fn go_import_sym_name(bytes: &[u8]) -> Result<&str> {
    let name = std::str::from_utf8(bytes).map_err(|_| {
        Error(format!(
            "dynamic symbol {} is not valid UTF-8",
            go_quote(bytes)
        ))
    })?;
    // For Go, graphic and not space is exactly printable (strconv.IsPrint) minus ' '.
    if name.chars().any(|c| c == ' ' || !is_print(c)) {
        return Err(Error(format!(
            "dynamic symbol {} contains unsupported character",
            go_quote(bytes)
        )));
    }
    if name.contains("//") || name.contains("/*") {
        return Err(Error(format!(
            "dynamic symbol {} contains Go comment",
            go_quote(bytes)
        )));
    }
    Ok(name)
}

/// A bare field of an rlink directive: not empty, UTF-8, no spaces, quotes or control
/// characters.
pub(crate) fn rlink_name(bytes: &[u8]) -> Result<&str> {
    let name = std::str::from_utf8(bytes).ok().filter(|name| {
        !name.is_empty()
            && !name
                .chars()
                .any(|c| c == ' ' || c == '"' || c.is_control() || c.is_whitespace())
    });
    name.ok_or_else(|| {
        Error(format!(
            "symbol name {} cannot be written in a directive",
            go_quote(bytes)
        ))
    })
}

/// The inside of a quoted rlink directive field: UTF-8 with no `"` or control characters
/// (the directive syntax has no escapes).
pub(crate) fn rlink_string<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.chars().any(|c| c == '"' || c.is_control()));
    text.ok_or_else(|| {
        Error(format!(
            "{what} {} cannot be written in a directive",
            go_quote(bytes)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(b"libc.so.6"), r#""libc.so.6""#);
        assert_eq!(go_quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote(b"\x00\x07\x1b\x7f\n"), r#""\x00\a\x1b\x7f\n""#);
        assert_eq!(go_quote("é\u{a0}\u{ad}".as_bytes()), r#""é\u00a0\u00ad""#);
        assert_eq!(go_quote("\u{e0000}".as_bytes()), r#""\U000e0000""#);
        assert_eq!(go_quote(b"\xe2\x82x\xff"), r#""\xe2\x82x\xff""#);
    }

    #[test]
    fn lowers_like_go() {
        assert_eq!(go_to_lower(b"KERNEL32.DLL"), b"kernel32.dll");
        assert_eq!(go_to_lower("ÄB\u{130}".as_bytes()), "äbi".as_bytes());
        assert_eq!(go_to_lower(b"A\xff"), "a\u{fffd}".as_bytes());
    }

    #[test]
    fn checks_names_like_go() {
        assert!(go_import_sym_name(b"puts").is_ok());
        assert!(go_import_sym_name("naïve".as_bytes()).is_ok());
        assert!(go_import_sym_name(b"a b").is_err());
        assert!(go_import_sym_name(b"a//b").is_err());
        assert!(go_import_sym_name(b"a\x01").is_err());
        assert!(rlink_name(b"").is_err());
        assert!(rlink_name(b"a\"").is_err());
        assert!(rlink_string(b"lib\"c", "library").is_err());
    }
}
