//! GNU version scripts, the basic form build systems pass for shared libraries (rustc writes
//! one for every cdylib and proc-macro): which names a library exports.
//!
//! ```text
//! { global: rust_metadata_foo; __rustc_proc_macro_decls_foo__; local: *; };
//! VERS_1 { global: f*; };
//! ```
//!
//! Names may use `*` and `?` wildcards. A name matching a `global` pattern is exported; one
//! matching only a `local` pattern is not; anything else is exported. Version tags are read and
//! not recorded (rlink writes no version definitions).

use crate::bail;
use crate::diag::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionScript {
    pub global: Vec<String>,
    pub local: Vec<String>,
}

impl VersionScript {
    pub fn parse(text: &str) -> Result<VersionScript> {
        let mut script = VersionScript::default();
        // Comments: `#` to end of line and `/* */`.
        let mut clean = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find(['#', '/']) {
            clean.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with('#') {
                rest = tail.find('\n').map(|n| &tail[n..]).unwrap_or("");
            } else if let Some(body) = tail.strip_prefix("/*") {
                match body.find("*/") {
                    Some(end) => rest = &body[end + 2..],
                    None => bail!("version script: unterminated comment"),
                }
            } else {
                clean.push('/');
                rest = &tail[1..];
            }
        }
        clean.push_str(rest);
        let spaced = clean
            .replace('{', " { ")
            .replace('}', " } ")
            .replace(';', " ; ")
            .replace(':', " : ");
        let mut depth = 0usize;
        let mut target: Option<bool> = None; // Some(true) global, Some(false) local
        let mut words = spaced.split_whitespace().peekable();
        while let Some(w) = words.next() {
            match w {
                "{" => depth += 1,
                "}" => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| crate::diag::Error::new("version script: unbalanced }"))?;
                    target = None;
                }
                ";" | ":" => {}
                "global" | "local" if words.peek() == Some(&":") => target = Some(w == "global"),
                "extern" => bail!("version script: extern \"C++\" blocks are not supported"),
                _ if depth == 0 => {} // a version tag or a dependency after `}`
                name => match target {
                    Some(true) => script.global.push(name.trim_matches('"').to_string()),
                    Some(false) => script.local.push(name.trim_matches('"').to_string()),
                    // Names before any `global:` are global.
                    None => script.global.push(name.trim_matches('"').to_string()),
                },
            }
        }
        if depth != 0 {
            bail!("version script: unbalanced {{");
        }
        Ok(script)
    }

    /// Whether the script leaves `name` exported.
    pub fn exports(&self, name: &str) -> bool {
        if self.global.iter().any(|p| glob(p, name)) {
            return true;
        }
        !self.local.iter().any(|p| glob(p, name))
    }
}

/// `*` and `?` wildcards, as version scripts use them.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustc_style_script() {
        let s = VersionScript::parse("{\n  global:\n    rust_metadata_x_1;\n    __rustc_proc_macro_decls_1__;\n\n  local:\n    *;\n};\n").unwrap();
        assert!(s.exports("rust_metadata_x_1"));
        assert!(s.exports("__rustc_proc_macro_decls_1__"));
        assert!(!s.exports("_ZN3foo3barE"));
    }

    #[test]
    fn tags_wildcards_and_comments() {
        let s = VersionScript::parse("# exported API\nVERS_1 { global: api_*; /* all */ local: *; };\nVERS_2 { global: other; } VERS_1;").unwrap();
        assert!(s.exports("api_open") && s.exports("other") && !s.exports("helper"));
        assert!(glob("a?c*", "abcdef") && !glob("a?c", "abcd"));
        assert!(VersionScript::parse("{ global: x;").is_err());
    }
}
