//! GNU version scripts: which names a shared library exports, and under which version.
//!
//! ```text
//! { global: rust_metadata_foo; __rustc_proc_macro_decls_foo__; local: *; };
//! VERS_1 { global: f*; extern "C++" { "ns::f(int)"; ns::g*; }; local: *; };
//! VERS_2 { global: g; } VERS_1;
//! ```
//!
//! A script without named nodes (the first form, which rustc writes for every cdylib) only
//! says what is exported. Named nodes also give each exported name its version: they become
//! the output's version definitions (`.gnu.version_d`), indices 2, 3, … in script order.
//!
//! Patterns use `*`, `?` and `[…]` (with `!` or `^` to negate) and `\` to escape. Inside
//! `extern "C++"` they match the demangled name, a quoted one exactly. Which rule decides a
//! name, as GNU ld and lld choose: an exact name first; else the last wildcard pattern that
//! matches, in script order; else a lone `*`. A name no rule matches is exported under the
//! base version.

use crate::bail;
use crate::diag::{Error, Result};

/// What a script says of one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Not exported (`local:`).
    Local,
    /// Exported, under the version node of this index in [`VersionScript::nodes`] (`None`:
    /// the anonymous node, that is the base version).
    Global(Option<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNode {
    pub name: String,
    /// The nodes it names after its `}`: its predecessors.
    pub parents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// The pattern as written, escapes removed when it has no wildcard.
    pattern: String,
    /// Has an unescaped `*`, `?` or `[`.
    wildcard: bool,
    /// Inside `extern "C++"`: matched against the demangled name.
    cpp: bool,
    binding: Binding,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionScript {
    pub nodes: Vec<VersionNode>,
    rules: Vec<Rule>,
}

/// The script's words: `{ } ; :`, quoted strings (kept with their quotes) and bare words.
fn words(text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            match text[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => bail!("version script: unterminated comment"),
            }
        } else if matches!(c, b'{' | b'}' | b';') {
            out.push((c as char).to_string());
            i += 1;
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            if i >= b.len() {
                bail!("version script: unterminated string");
            }
            i += 1;
            out.push(text[start..i].to_string());
        } else {
            let start = i;
            while i < b.len()
                && !b[i].is_ascii_whitespace()
                && !matches!(b[i], b'{' | b'}' | b';' | b'"')
                && !text[i..].starts_with("/*")
            {
                // `\` escapes the next character, `]` included, inside a pattern.
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                i += 1;
            }
            let word = &text[start..i];
            // `global:` / `local:` may be glued to their colon or to the next pattern.
            match word.split_once(':') {
                Some((head, tail)) if matches!(head, "global" | "local") => {
                    out.push(format!("{head}:"));
                    if !tail.is_empty() {
                        out.push(tail.to_string());
                    }
                }
                _ if word == ":" => {
                    if let Some(last) = out.last_mut() {
                        if last == "global" || last == "local" {
                            last.push(':');
                            continue;
                        }
                    }
                    bail!("version script: unexpected ':'");
                }
                _ => out.push(word.to_string()),
            }
        }
    }
    Ok(out)
}

impl VersionScript {
    pub fn parse(text: &str) -> Result<VersionScript> {
        let words = words(text)?;
        let mut script = VersionScript::default();
        let mut i = 0;
        let next = |i: &mut usize| -> Option<&str> {
            let w = words.get(*i).map(String::as_str);
            *i += 1;
            w
        };
        // Nodes: `[NAME] { … } [PARENT …] ;`
        while i < words.len() {
            let node = match words[i].as_str() {
                "{" => None,
                name => {
                    i += 1;
                    if words.get(i).map(String::as_str) != Some("{") {
                        bail!("version script: expected '{{' after {name}");
                    }
                    if script.nodes.iter().any(|n| n.name == name) {
                        bail!("version script: duplicate version {name}");
                    }
                    script.nodes.push(VersionNode {
                        name: name.to_string(),
                        parents: Vec::new(),
                    });
                    Some(script.nodes.len() - 1)
                }
            };
            i += 1; // `{`
            let mut binding = Binding::Global(node);
            let mut cpp = false;
            let mut depth = 1;
            while depth > 0 {
                let Some(w) = next(&mut i) else {
                    bail!("version script: unbalanced {{");
                };
                match w {
                    "global:" => binding = Binding::Global(node),
                    "local:" => binding = Binding::Local,
                    "extern" => {
                        let lang = next(&mut i).unwrap_or("");
                        match lang {
                            "\"C++\"" => cpp = true,
                            "\"C\"" => cpp = false,
                            _ => bail!("version script: extern {lang}: want \"C\" or \"C++\""),
                        }
                        if next(&mut i) != Some("{") {
                            bail!("version script: expected '{{' after extern {lang}");
                        }
                        depth += 1;
                    }
                    "{" => bail!("version script: unexpected '{{'"),
                    "}" => {
                        depth -= 1;
                        cpp = false;
                    }
                    ";" => {}
                    pattern => script.rules.push(rule(pattern, cpp, binding)?),
                }
            }
            // Predecessors, then `;`.
            loop {
                match next(&mut i) {
                    Some(";") => break,
                    None => break,
                    Some(parent) if node.is_some() && parent != "{" && parent != "}" => {
                        if let Some(n) = node {
                            script.nodes[n].parents.push(parent.to_string());
                        }
                    }
                    Some(other) => bail!("version script: unexpected {other:?} after '}}'"),
                }
            }
        }
        for n in &script.nodes {
            for p in &n.parents {
                if !script.nodes.iter().any(|m| &m.name == p) {
                    bail!(
                        "version script: {} depends on undefined version {p}",
                        n.name
                    );
                }
            }
        }
        Ok(script)
    }

    /// What the script says of `name` (`demangled`: its C++ demangling, when it has one;
    /// `extern "C++"` patterns match a name that has none as it is).
    pub fn binding(&self, name: &str, demangled: Option<&str>) -> Option<Binding> {
        let subject = |r: &Rule| {
            if r.cpp {
                demangled.unwrap_or(name)
            } else {
                name
            }
        };
        let exact = self
            .rules
            .iter()
            .find(|r| !r.wildcard && subject(r) == r.pattern);
        if let Some(r) = exact {
            return Some(r.binding);
        }
        // Wildcards: global ones before local ones, and among either the last node's first;
        // a lone `*` only when nothing else matched.
        let matching = |star: bool, local: bool| {
            self.rules
                .iter()
                .rev()
                .filter(|r| {
                    r.wildcard
                        && (r.pattern == "*") == star
                        && (r.binding == Binding::Local) == local
                })
                .find(|r| glob(&r.pattern, subject(r)))
                .map(|r| r.binding)
        };
        matching(false, false)
            .or_else(|| matching(false, true))
            .or_else(|| matching(true, false))
            .or_else(|| matching(true, true))
    }

    /// Whether the script leaves `name` exported.
    pub fn exports(&self, name: &str) -> bool {
        let demangled = self
            .has_cpp()
            .then(|| crate::diag::demangle_cpp(name))
            .flatten();
        self.binding(name, demangled.as_deref()) != Some(Binding::Local)
    }

    /// Whether a global rule names `name`: a dynamic list's question.
    pub fn lists(&self, name: &str) -> bool {
        let demangled = self
            .has_cpp()
            .then(|| crate::diag::demangle_cpp(name))
            .flatten();
        matches!(
            self.binding(name, demangled.as_deref()),
            Some(Binding::Global(_))
        )
    }

    /// Whether any rule is inside `extern "C++"` (only then are names demangled to match).
    pub fn has_cpp(&self) -> bool {
        self.rules.iter().any(|r| r.cpp)
    }

    /// The version node of this name, if any.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }
}

fn rule(word: &str, cpp: bool, binding: Binding) -> Result<Rule> {
    if let Some(quoted) = word.strip_prefix('"') {
        let text = quoted.strip_suffix('"').unwrap_or(quoted);
        return Ok(Rule {
            pattern: text.to_string(),
            wildcard: false,
            cpp,
            binding,
        });
    }
    let b = word.as_bytes();
    let mut wildcard = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'*' | b'?' => wildcard = true,
            b'[' => {
                wildcard = true;
                if class_end(b, i).is_none() {
                    return Err(Error::new(format!(
                        "version script: invalid version pattern {word:?}: unterminated '['"
                    )));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let pattern = if wildcard {
        word.to_string()
    } else {
        unescape(word)
    };
    Ok(Rule {
        pattern,
        wildcard,
        cpp,
        binding,
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The index of the `]` closing the class that opens at `open`.
fn class_end(p: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if i < p.len() && (p[i] == b'!' || p[i] == b'^') {
        i += 1;
    }
    // A `]` first in the class is a member.
    if i < p.len() && p[i] == b']' {
        i += 1;
    }
    while i < p.len() {
        match p[i] {
            b'\\' => i += 2,
            b']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Whether the class at `p[open..=close]` holds `c`.
fn class_matches(p: &[u8], open: usize, close: usize, c: u8) -> bool {
    let mut i = open + 1;
    let negate = i < close && (p[i] == b'!' || p[i] == b'^');
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < close {
        let mut lo = p[i];
        if lo == b'\\' && i + 1 < close {
            i += 1;
            lo = p[i];
        } else if lo == b']' && !first {
            break;
        }
        first = false;
        let mut hi = lo;
        if i + 2 < close && p[i + 1] == b'-' {
            hi = p[i + 2];
            if hi == b'\\' && i + 3 < close {
                hi = p[i + 3];
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            found = true;
        }
        i += 1;
    }
    found != negate
}

/// `*`, `?`, `[…]` and `\` as version scripts (and shell globs) read them.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // Backtracking to the last `*`: (pattern index after it, name index it covers up to).
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                b'?' if ni < n.len() => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' if ni < n.len() => {
                    if let Some(close) = class_end(p, pi) {
                        if class_matches(p, pi, close, n[ni]) {
                            pi = close + 1;
                            ni += 1;
                            continue;
                        }
                    }
                }
                b'\\' if pi + 1 < p.len() && ni < n.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c != b'\\' && c != b'[' && c != b'?' && ni < n.len() && c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        } else if ni == n.len() {
            return true;
        }
        // Mismatch: let the last `*` take one more character.
        match star {
            Some((after, covered)) if covered < n.len() => {
                star = Some((after, covered + 1));
                pi = after;
                ni = covered + 1;
            }
            _ => return false,
        }
    }
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
        assert!(s.nodes.is_empty());
    }

    #[test]
    fn tags_wildcards_and_comments() {
        let s = VersionScript::parse("# exported API\nVERS_1 { global: api_*; /* all */ local: *; };\nVERS_2 { global: other; } VERS_1;").unwrap();
        assert!(s.exports("api_open") && s.exports("other") && !s.exports("helper"));
        assert!(glob("a?c*", "abcdef") && !glob("a?c", "abcd"));
        assert!(VersionScript::parse("{ global: x;").is_err());
        assert_eq!(s.nodes.len(), 2);
        assert_eq!(s.nodes[1].parents, vec!["VERS_1".to_string()]);
        assert_eq!(s.binding("api_x", None), Some(Binding::Global(Some(0))));
        assert_eq!(s.binding("other", None), Some(Binding::Global(Some(1))));
    }

    #[test]
    fn which_rule_decides() {
        // The last node's matching wildcard wins, a global one over a local one; an exact
        // name beats every wildcard; a lone `*` is asked last.
        let s = VersionScript::parse(
            "V1 { foo*; }; V2 { foo*bar*; }; V3 { *she*; }; V4 { *he*; exact_one; }; \
             V5 { exact_*; local: *; };",
        )
        .unwrap();
        assert_eq!(s.binding("foo_bar", None), Some(Binding::Global(Some(1))));
        assert_eq!(s.binding("she", None), Some(Binding::Global(Some(3))));
        assert_eq!(s.binding("exact_one", None), Some(Binding::Global(Some(3))));
        assert_eq!(s.binding("exact_two", None), Some(Binding::Global(Some(4))));
        assert_eq!(s.binding("zzz", None), Some(Binding::Local));
        let s = VersionScript::parse("{ global: *; *foo_*; local: *foo*; };").unwrap();
        assert_eq!(s.binding("foo_bar", None), Some(Binding::Global(None)));
        assert_eq!(s.binding("foo", None), Some(Binding::Local));
        assert_eq!(s.binding("xyz", None), Some(Binding::Global(None)));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(glob("[abc][^abc][^\\]a-zABC]", "azZ"));
        assert!(!glob("[abc][^abc][^\\]a-zABC]", "azC"));
        assert!(!glob("[abc][^abc][^\\]a-zABC]", "aaZ"));
        assert!(glob("[abc][!abc][!\\]a-zABC]_", "czZ_"));
        assert!(glob("foo*bar*[abc]x", "foo123bar456bx"));
        assert!(!glob("foo*bar*[abc]x", "foobarzx"));
        assert!(glob("*foo\\bar*", "xfoobarx"));
        let s = VersionScript::parse("V0 { **; }; V1 { foo\\?; };").unwrap();
        assert_eq!(s.binding("foo?", None), Some(Binding::Global(Some(1))));
        assert_eq!(s.binding("fooX", None), Some(Binding::Global(Some(0))));
        assert!(VersionScript::parse("{ foo[; };").is_err());
    }

    #[test]
    fn extern_cpp_matches_demangled_names() {
        let s =
            VersionScript::parse("V1 { extern \"C++\" { \"ns::f(int)\"; ns::g*; }; local: *; };")
                .unwrap();
        assert_eq!(
            s.binding("_ZN2ns1fEi", Some("ns::f(int)")),
            Some(Binding::Global(Some(0)))
        );
        assert_eq!(
            s.binding("_ZN2ns1gEv", Some("ns::g()")),
            Some(Binding::Global(Some(0)))
        );
        assert_eq!(
            s.binding("_ZN2ns1hEv", Some("ns::h()")),
            Some(Binding::Local)
        );
        // A C name is its own demangling.
        let s = VersionScript::parse("{ local: *; global: extern \"C++\" { *foo*; }; };").unwrap();
        assert_eq!(s.binding("foobar", None), Some(Binding::Global(None)));
    }
}
