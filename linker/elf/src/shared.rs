//! What an ELF shared library offers a link: its soname (what goes into `DT_NEEDED`) and the
//! dynamic symbols other modules may bind to, with their versions.
//!
//! The library is read in place (every name borrows the mapped file) and indexed once by name,
//! because the linker asks libc about tens of thousands of names per link.
//!
//! Version rules follow the GNU scheme (`.gnu.version` holds one index per `.dynsym` entry,
//! `.gnu.version_d` names them): index 1 is the base version, which binds like an unversioned
//! symbol; the high bit hides a version (`name@VER`) from plain references, which then bind to
//! the default (`name@@VER`).

use object::elf;
use object::read::elf::{Dyn as _, FileHeader, Sym as _, SymbolTable, VersionTable};
use object::read::SymbolIndex;
use object::Endianness;
pub use rlink_linker::library::{Export, ExportKind, Reference, SharedLibrary};
use rlink_linker::{bail, Error, Result};

/// Object's messages are terse ("Invalid ELF section header offset"); say which kind of file.
fn malformed(e: object::read::Error) -> Error {
    Error::new(format!("truncated or malformed shared library: {e}"))
}

/// Reads a shared library (ELF32 or ELF64, either byte order, any machine). Errors carry no
/// file name: the caller adds its place with [`Error::at`].
pub fn parse<'a>(data: &'a [u8], file_name: &str) -> Result<SharedLibrary<'a>> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf64) => parse_as::<elf::FileHeader64<Endianness>>(data, file_name),
        Ok(object::FileKind::Elf32) => parse_as::<elf::FileHeader32<Endianness>>(data, file_name),
        _ => bail!("not a shared library: not an ELF file"),
    }
}

fn parse_as<'a, Elf: FileHeader<Endian = Endianness>>(
    data: &'a [u8],
    file_name: &str,
) -> Result<SharedLibrary<'a>> {
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let e_type = header.e_type(endian);
    if e_type != elf::ET_DYN {
        let what = match e_type {
            elf::ET_REL => "a relocatable object",
            elf::ET_EXEC => "an executable",
            elf::ET_CORE => "a core file",
            _ => "an ELF file of unknown type",
        };
        bail!("not a shared library: {what}");
    }
    let sections = header.sections(endian, data).map_err(malformed)?;
    let (soname, needed) = dynamic_names(&sections, endian, data)?;
    let soname = soname
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_else(|| file_name.to_string());
    let dynsym = sections
        .symbols(endian, data, elf::SHT_DYNSYM)
        .map_err(malformed)?;
    // Every shared library has one, if only for its null symbol: a library without it is
    // damaged, and reading it as exporting nothing would only end in "undefined symbol".
    if dynsym.is_empty() {
        bail!("truncated or malformed shared library: no dynamic symbol table (.dynsym)");
    }
    let versions = sections.versions(endian, data).map_err(malformed)?;
    let exports = exports(&dynsym, versions.as_ref(), endian)?;
    let references = references(&dynsym, versions.as_ref(), endian)?;
    let cpu = if header.is_class_64() {
        crate::object::cpu_of(header.e_machine(endian))
    } else {
        None
    };
    let mut library = SharedLibrary::new(soname, cpu, exports)?;
    library.references = references;
    library.needed = needed;
    Ok(library)
}

/// The names the library leaves undefined (global or weak undefined dynamic symbols), with
/// whether each is weak and the version each asks for.
fn references<'a, Elf: FileHeader<Endian = Endianness>>(
    dynsym: &SymbolTable<'a, Elf>,
    versions: Option<&VersionTable<'a, Elf>>,
    endian: Endianness,
) -> Result<Vec<Reference<'a>>> {
    let strings = dynsym.strings();
    let mut names = Vec::new();
    for (index, sym) in dynsym.symbols().iter().enumerate().skip(1) {
        if sym.is_undefined(endian) && sym.st_bind() != elf::STB_LOCAL {
            let name = sym.name(endian, strings).map_err(malformed)?;
            if name.is_empty() {
                continue;
            }
            let version = match versions {
                Some(table) => {
                    let versym = table.version_index(endian, SymbolIndex(index));
                    table
                        .version(versym.index())
                        .map_err(malformed)?
                        .map(|v| v.name())
                }
                None => None,
            };
            names.push(Reference {
                name,
                weak: sym.st_bind() == elf::STB_WEAK,
                version,
            });
        }
    }
    Ok(names)
}

/// DT_SONAME (the first, if any) and the DT_NEEDED names.
type DynamicNames<'a> = (Option<&'a [u8]>, Vec<&'a [u8]>);

/// The library's DT_SONAME and DT_NEEDED names, from one walk of its dynamic section.
fn dynamic_names<'a, Elf: FileHeader<Endian = Endianness>>(
    sections: &object::read::elf::SectionTable<'a, Elf>,
    endian: Endianness,
    data: &'a [u8],
) -> Result<DynamicNames<'a>> {
    let table = sections.dynamic_table(endian, data).map_err(malformed)?;
    let mut soname = None;
    let mut needed = Vec::new();
    for entry in table.dynamics() {
        match entry.tag(endian) {
            elf::DT_NULL => break,
            // The first DT_SONAME counts.
            elf::DT_SONAME if soname.is_none() => {
                soname = Some(entry.string(endian, *table.strings()).map_err(malformed)?)
            }
            elf::DT_NEEDED => {
                needed.push(entry.string(endian, *table.strings()).map_err(malformed)?)
            }
            _ => {}
        }
    }
    Ok((soname, needed))
}

fn exports<'a, Elf: FileHeader<Endian = Endianness>>(
    dynsym: &SymbolTable<'a, Elf>,
    versions: Option<&VersionTable<'a, Elf>>,
    endian: Endianness,
) -> Result<Vec<Export<'a>>> {
    let strings = dynsym.strings();
    let mut exports = Vec::with_capacity(dynsym.symbols().len());
    // Entry 0 is the reserved null symbol.
    for (index, sym) in dynsym.symbols().iter().enumerate().skip(1) {
        let weak = match sym.st_bind() {
            elf::STB_GLOBAL | elf::STB_GNU_UNIQUE => false,
            elf::STB_WEAK => true,
            _ => continue,
        };
        // Hidden and internal symbols bind only inside the library itself.
        if !matches!(sym.st_visibility(), elf::STV_DEFAULT | elf::STV_PROTECTED)
            || sym.is_undefined(endian)
        {
            continue;
        }
        let (version, is_default) = match versions {
            None => (None, true),
            Some(table) => {
                let versym = table.version_index(endian, SymbolIndex(index));
                // VER_NDX_LOCAL on a definition means a version script made it local; lld
                // skips such symbols too.
                if versym.is_local() {
                    continue;
                }
                let version = table.version(versym.index()).map_err(malformed)?;
                (version.map(|v| v.name()), !versym.is_hidden())
            }
        };
        let name = sym.name(endian, strings).map_err(malformed)?;
        if name.is_empty() {
            continue;
        }
        let kind = match sym.st_type() {
            elf::STT_FUNC | elf::STT_GNU_IFUNC => ExportKind::Function,
            elf::STT_OBJECT | elf::STT_COMMON => ExportKind::Object,
            elf::STT_TLS => ExportKind::Tls,
            _ => ExportKind::Other,
        };
        exports.push(Export {
            name,
            version,
            is_default,
            kind,
            weak,
            size: sym.st_size(endian).into(),
            value: sym.st_value(endian).into(),
        });
    }
    Ok(exports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::scratch_dir;
    use std::path::Path;
    use std::process::Command;

    const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
    const LIBM: &str = "/lib/x86_64-linux-gnu/libm.so.6";
    const LIBGCC_S: &str = "/lib/x86_64-linux-gnu/libgcc_s.so.1";

    fn read(path: &str) -> Option<Vec<u8>> {
        match std::fs::read(path) {
            Ok(data) => Some(data),
            // CI installs every tool and library the tests use: a miss is a broken setup.
            Err(e) => panic!("{path} is required by this test: {e}"),
        }
    }

    /// Builds a shared library with the system C compiler; `None` (test skipped) without one.
    fn build_library(dir: &Path, source: &str, extra_args: &[&str]) -> Option<Vec<u8>> {
        let c = dir.join("lib.c");
        let out = dir.join("lib.so");
        std::fs::write(&c, source).unwrap();
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&out)
            .arg(&c)
            .args(extra_args)
            .status();
        match status {
            Ok(s) if s.success() => Some(std::fs::read(&out).unwrap()),
            other => panic!("cc -shared is required by this test and failed: {other:?}"),
        }
    }

    #[test]
    fn libc_exports() {
        let Some(data) = read(LIBC) else { return };
        let lib = parse(&data, "libc.so.6").unwrap();
        assert_eq!(lib.soname, "libc.so.6");
        assert_eq!(lib.cpu, Some(rlink_linker::target::Cpu::X86_64));
        assert!(lib.exports.len() > 1000);

        let puts = lib.lookup(b"puts").unwrap();
        assert_eq!(puts.version, Some(&b"GLIBC_2.2.5"[..]));
        assert!(puts.is_default);
        assert_eq!(puts.kind, ExportKind::Function);
        assert!(puts.weak);
        assert_eq!(lib.lookup_version(b"puts", b"GLIBC_2.2.5"), Some(puts));

        let stdout = lib.lookup(b"stdout").unwrap();
        assert_eq!(stdout.kind, ExportKind::Object);
        assert_eq!(stdout.size, 8);

        // errno is glibc's thread-local, exported at GLIBC_PRIVATE for libm and friends.
        let errno = lib.lookup(b"errno").unwrap();
        assert_eq!(errno.kind, ExportKind::Tls);
        assert_eq!(errno.version, Some(&b"GLIBC_PRIVATE"[..]));

        // memcpy is an IFUNC; the 2.14 default and the old 2.2.5 one both exist.
        let memcpy = lib.lookup(b"memcpy").unwrap();
        assert_eq!(memcpy.kind, ExportKind::Function);
        assert_eq!(memcpy.version, Some(&b"GLIBC_2.14"[..]));
        let old = lib.lookup_version(b"memcpy", b"GLIBC_2.2.5").unwrap();
        assert!(!old.is_default);
        assert_eq!(lib.same_name(b"memcpy").count(), 2);

        assert_eq!(lib.lookup(b"no_such_symbol_in_libc"), None);
        assert_eq!(lib.lookup_version(b"puts", b"GLIBC_9.9"), None);
        // Undefined references of libc (to ld.so) are not exports.
        assert_eq!(lib.lookup(b"_dl_argv"), None);
    }

    #[test]
    fn libm_and_libgcc_s_exports() {
        if let Some(data) = read(LIBM) {
            let lib = parse(&data, "libm.so.6").unwrap();
            assert_eq!(lib.soname, "libm.so.6");
            let sqrt = lib.lookup(b"sqrt").unwrap();
            assert_eq!(sqrt.kind, ExportKind::Function);
            assert!(sqrt.version.is_some());
            // libm uses errno but does not define it.
            assert_eq!(lib.lookup(b"errno"), None);
        }
        if let Some(data) = read(LIBGCC_S) {
            let lib = parse(&data, "libgcc_s.so.1").unwrap();
            assert_eq!(lib.soname, "libgcc_s.so.1");
            let resume = lib.lookup(b"_Unwind_Resume").unwrap();
            assert_eq!(resume.version, Some(&b"GCC_3.0"[..]));
            assert!(resume.is_default);
            assert_eq!(resume.kind, ExportKind::Function);
        }
    }

    #[test]
    fn default_and_non_default_versions_of_one_symbol() {
        let dir = scratch_dir("versions");
        let map = dir.join("lib.map");
        std::fs::write(
            &map,
            "VERS_1 { global: foo; local: *; };\n\
             VERS_2 { global: foo; counter; per_thread; weak_fn; prot_fn; } VERS_1;\n",
        )
        .unwrap();
        let source = r#"
            int foo_v1(void) { return 1; }
            int foo_v2(void) { return 2; }
            __asm__(".symver foo_v1, foo@VERS_1");
            __asm__(".symver foo_v2, foo@@VERS_2");
            int counter[4];
            __thread int per_thread;
            __attribute__((weak)) int weak_fn(void) { return 3; }
            __attribute__((visibility("protected"))) int prot_fn(void) { return 4; }
            int not_exported(void) { return 5; }
        "#;
        let map_arg = format!("-Wl,--version-script={}", map.display());
        let Some(data) = build_library(&dir, source, &[&map_arg, "-Wl,-soname,libvers.so.2"])
        else {
            return;
        };
        let lib = parse(&data, "lib.so").unwrap();
        assert_eq!(lib.soname, "libvers.so.2");

        let plain = lib.lookup(b"foo").unwrap();
        assert_eq!(plain.version, Some(&b"VERS_2"[..]));
        assert!(plain.is_default);
        let v2 = lib.lookup_version(b"foo", b"VERS_2").unwrap();
        assert_eq!(v2, plain);
        let v1 = lib.lookup_version(b"foo", b"VERS_1").unwrap();
        assert_eq!(v1.version, Some(&b"VERS_1"[..]));
        assert!(!v1.is_default);
        assert_eq!(v1.kind, ExportKind::Function);

        let counter = lib.lookup(b"counter").unwrap();
        assert_eq!((counter.kind, counter.size), (ExportKind::Object, 16));
        assert_eq!(lib.lookup(b"per_thread").unwrap().kind, ExportKind::Tls);
        assert!(lib.lookup(b"weak_fn").unwrap().weak);
        assert!(!lib.lookup(b"prot_fn").unwrap().weak);
        // Made local by the version script, and the implementation names never were global.
        assert_eq!(lib.lookup(b"not_exported"), None);
        assert_eq!(lib.lookup(b"foo_v1"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unversioned_library_without_soname() {
        let dir = scratch_dir("plain");
        let source = "int answer(void) { return 42; }\nlong table[3];\n";
        let Some(data) = build_library(&dir, source, &[]) else {
            return;
        };
        let lib = parse(&data, "libplain.so").unwrap();
        assert_eq!(lib.soname, "libplain.so");
        let answer = lib.lookup(b"answer").unwrap();
        assert_eq!(answer.version, None);
        assert!(answer.is_default);
        assert_eq!(answer.kind, ExportKind::Function);
        assert_eq!(lib.lookup_version(b"answer", b"V1"), None);
        assert_eq!(lib.lookup(b"table").unwrap().size, 24);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// ELF32 and big-endian libraries, if clang and lld can make them here.
    #[test]
    fn other_classes_and_byte_orders() {
        let dir = scratch_dir("targets");
        let c = dir.join("lib.c");
        std::fs::write(&c, "int answer(void) { return 42; }\nint data32 = 1;\n").unwrap();
        // None of these is a CPU rlink links for; they are read all the same.
        for target in [
            "i686-linux-gnu",
            "powerpc64-linux-gnu",
            "armv7-linux-gnueabihf",
        ] {
            let out = dir.join(format!("{target}.so"));
            let status = Command::new("clang")
                .arg(format!("--target={target}"))
                .args(["-fuse-ld=lld", "-nostdlib", "-shared", "-fPIC"])
                .arg("-o")
                .arg(&out)
                .arg(&c)
                .status();
            assert!(
                matches!(status, Ok(s) if s.success()),
                "clang/lld could not build a library for {target}"
            );
            let data = std::fs::read(&out).unwrap();
            let lib = parse(&data, "lib.so").unwrap();
            assert_eq!(lib.cpu, None, "{target}");
            assert_eq!(lib.lookup(b"answer").unwrap().kind, ExportKind::Function);
            assert_eq!(lib.lookup(b"data32").unwrap().size, 4, "{target}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn non_libraries_are_refused() {
        let err = |data: &[u8]| parse(data, "x").unwrap_err().to_string();
        assert!(err(b"GROUP ( libc.so.6 )").contains("not a shared library"));
        assert!(err(b"").contains("not a shared library"));
        if let Ok(exe) = std::fs::read("/bin/true") {
            // /bin/true may be a PIE (ET_DYN); only a fixed-address executable is refused.
            if exe.get(16) == Some(&2) {
                assert!(err(&exe).contains("not a shared library: an executable"));
            }
        }
        let dir = scratch_dir("object");
        let c = dir.join("a.c");
        let o = dir.join("a.o");
        std::fs::write(&c, "int f(void) { return 0; }\n").unwrap();
        let built = Command::new("cc")
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .status();
        if matches!(built, Ok(s) if s.success()) {
            let data = std::fs::read(&o).unwrap();
            assert_eq!(
                err(&data),
                "not a shared library: a relocatable object".to_string()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A small deterministic generator; enough to make hostile bytes without a dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn truncated_libc_is_an_error_not_a_panic() {
        let Some(data) = read(LIBC) else { return };
        let mut lengths: Vec<usize> = (0..1024).collect();
        let step = (data.len() / 3000).max(1);
        lengths.extend((1024..data.len()).step_by(step));
        lengths.extend(data.len().saturating_sub(512)..data.len());
        for len in lengths {
            let prefix = data.get(..len).unwrap_or_default();
            assert!(
                parse(prefix, "libc.so.6").is_err(),
                "truncated at {len} still parsed"
            );
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for len in [0, 1, 16, 63, 64, 65, 200, 4096] {
            for _ in 0..50 {
                let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let _ = parse(&bytes, "random");
                // Same noise behind a plausible ELF64 shared-library header.
                let header = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0";
                for (dst, src) in bytes.iter_mut().zip(header) {
                    *dst = *src;
                }
                let _ = parse(&bytes, "random");
            }
        }

        // Every byte of a real (small) library, overwritten one at a time: headers, .dynsym,
        // .gnu.version*, .dynamic and string tables all get hit.
        let dir = scratch_dir("corrupt");
        std::fs::write(
            dir.join("lib.map"),
            "V1 { global: f; g; }; V2 { global: f; } V1;\n",
        )
        .unwrap();
        let map_arg = format!("-Wl,--version-script={}", dir.join("lib.map").display());
        let source = "int f1(void){return 1;} int f2(void){return 2;} int g;\n\
                      __asm__(\".symver f1, f@V1\"); __asm__(\".symver f2, f@@V2\");\n";
        let Some(data) = build_library(&dir, source, &[&map_arg, "-Wl,-soname,libc0.so"]) else {
            return;
        };
        assert!(parse(&data, "x").is_ok());
        let mut copy = data.clone();
        for i in 0..data.len() {
            for value in [0xff, 0x00, 0x7f] {
                if let Some(b) = copy.get_mut(i) {
                    *b = value;
                }
                if let Ok(lib) = parse(&copy, "x") {
                    for export in &lib.exports {
                        let _ = lib.lookup(export.name);
                    }
                }
            }
            if let (Some(b), Some(&orig)) = (copy.get_mut(i), data.get(i)) {
                *b = orig;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
