//! The allowlist for linker flags that arrive inside inputs (`cgo_ldflag`).
//!
//! A dependency's author writes those flags, and driver flags can run code (`-fplugin=`,
//! `-Wl,-plugin`, `-B`, `@file`, linker scripts). Go learned this through a chain of CVEs;
//! rlink follows Go's rule (docs/ldflags.md lists the patterns): a flag passes only if
//! one allowed pattern matches it in full. Users widen or narrow the set with
//! `RLINK_LDFLAGS_ALLOW` and `RLINK_LDFLAGS_DISALLOW` (regular expressions, matched in full;
//! disallow wins). Flags the user typed (`-extldflags`) are trusted and never checked.

use regex::Regex;

use crate::bail;
use crate::diag::Result;

/// The patterns, each matched against a whole flag.
const ALLOWED: &[&str] = &[
    r"-l[^@\-].*",
    r"-L[^@\-].*",
    r"-F[^@\-].*",
    r"-O[^@\-]*",
    r"-f(no-)?(pic|PIC|pie|PIE)",
    r"-pthread",
    r"-rdynamic",
    r"-shared",
    r"-static(-libgcc|-libstdc\+\+|-pie)?",
    r"-g[^@\-]*",
    r"-m(arch|cpu|tune|abi|fpu)=[^@\-].*",
    r"-mmacosx-[^@\-].*",
    r"-mwindows",
    r"-mthreads",
    r"[a-zA-Z0-9_/][a-zA-Z0-9_./+\-]*\.(a|o|obj|so|dylib|dll|tbd)",
    r"-Wl,--(no-)?as-needed",
    r"-Wl,-Bdynamic",
    r"-Wl,-Bstatic",
    r"-Wl,--(no-)?allow-shlib-undefined",
    r"-Wl,--(no-)?export-dynamic",
    r"-Wl,-E",
    r"-Wl,--hash-style=(sysv|gnu|both)",
    r"-Wl,--no-undefined",
    r"-Wl,--push-state",
    r"-Wl,--pop-state",
    r"-Wl,--start-group",
    r"-Wl,--end-group",
    r"-Wl,-rpath(-link)?[=,][^,@\-][^,]*",
    r"-Wl,-z,(relro|now|(no)?execstack)",
    r"-Wl,-s",
    r"-Wl,-O[0-9]+",
    r"-Wl,--(no-)?warn-[^,@\-][^,]*",
    r"-Wl,--wrap[=,][^,@\-][^,]*",
    r"-Wl,-framework,[^,@\-][^,]*",
    r"-Wl,-search_paths_first",
    r"-Wl,-headerpad_max_install_names",
    r"-Wl,-undefined[=,][^,@\-][^,]*",
];

/// Flags whose value comes as the next flag; the value is checked too.
const TWO_WORD: &[(&str, &str)] = &[
    ("-framework", r"[^@\-].*"),
    ("-L", r"[^@\-].*"),
    ("-l", r"[^@\-].*"),
    ("-Wl,-rpath", r"-Wl,[^,@\-][^,]*"),
    ("-Wl,-rpath-link", r"-Wl,[^,@\-][^,]*"),
    ("-Wl,-framework", r"-Wl,[^,@\-][^,]*"),
];

fn full(pattern: &str) -> Regex {
    // The built-in patterns are constants; a typo in them is a linker bug caught by the tests.
    Regex::new(&format!("^(?:{pattern})$")).expect("built-in pattern compiles")
}

fn env_pattern(var: &str) -> Result<Option<Regex>> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => match Regex::new(&format!("^(?:{p})$")) {
            Ok(r) => Ok(Some(r)),
            Err(e) => bail!("${var}: invalid regular expression: {e}"),
        },
        _ => Ok(None),
    }
}

/// Checks the flags one input carries, in order. `place` names the input in errors.
pub fn check(place: &str, flags: &[String]) -> Result<()> {
    let allow = env_pattern("RLINK_LDFLAGS_ALLOW")?;
    let disallow = env_pattern("RLINK_LDFLAGS_DISALLOW")?;
    let allowed: Vec<Regex> = ALLOWED.iter().map(|p| full(p)).collect();
    let ok = |flag: &str| {
        if disallow.as_ref().is_some_and(|d| d.is_match(flag)) {
            return false;
        }
        allow.as_ref().is_some_and(|a| a.is_match(flag)) || allowed.iter().any(|r| r.is_match(flag))
    };
    let mut i = 0;
    while i < flags.len() {
        let flag = flags[i].as_str();
        if let Some((_, value_pattern)) = TWO_WORD.iter().find(|(f, _)| *f == flag) {
            let Some(value) = flags.get(i + 1) else {
                bail!("{place}: invalid flag in cgo_ldflag: {flag} (missing its argument)");
            };
            let refused = disallow.as_ref().is_some_and(|d| d.is_match(flag));
            if refused || !full(value_pattern).is_match(value) {
                bail!("{place}: invalid flag in cgo_ldflag: {flag} {value}");
            }
            i += 2;
            continue;
        }
        if !ok(flag) {
            bail!(
                "{place}: invalid flag in cgo_ldflag: {flag} (not on the allowlist; set RLINK_LDFLAGS_ALLOW to a regular expression to permit it)"
            );
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn safe_flags_pass() {
        for f in [
            "-lm",
            "-L/usr/lib",
            "-pthread",
            "-Wl,--as-needed",
            "-Wl,-z,relro",
            "libfoo.a",
            "x/y.o",
            "-O2",
            "-fPIC",
        ] {
            check("x.o", &strings(&[f])).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        check("x.o", &strings(&["-L", "/opt/lib", "-framework", "Cocoa"])).unwrap();
        check("x.o", &strings(&["-Wl,-rpath", "-Wl,/opt/lib"])).unwrap();
    }

    #[test]
    fn dangerous_flags_are_refused_with_the_object_named() {
        for f in [
            "-fplugin=x.so",
            "-Wl,-plugin,x.so",
            "-fuse-ld=gold",
            "-B/tmp",
            "@/tmp/args",
            "-Wl,-T,script.ld",
            "-Wl,--dynamic-linker,/tmp/x",
            "-L@foo",
            "-l-x",
            "-Wl,-rpath,/a,--dynamic-linker,/x",
        ] {
            let e = check("libbad.rlib(bad.o)", &strings(&[f])).unwrap_err();
            assert!(
                e.message()
                    .starts_with("libbad.rlib(bad.o): invalid flag in cgo_ldflag: "),
                "{f}: {e}"
            );
            assert!(e.message().contains(f), "{f}: {e}");
        }
        assert!(check("x.o", &strings(&["-L", "-Wl,-plugin"])).is_err());
        assert!(check("x.o", &strings(&["-Wl,-rpath", "-Wl,@x"])).is_err());
        assert!(check("x.o", &strings(&["-framework"])).is_err());
    }
}
