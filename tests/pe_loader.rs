//! The COFF loader (the first part of Windows linking): clang's x86-64 COFF objects, for the
//! msvc and the mingw flavour, read into the linker's view — COMDAT groups with their
//! associative `.pdata`/`.xdata`, thread-local data, weak externals, explicit addends — and
//! every truncation or corruption of such an object is an error, never a panic.

mod common;

use std::path::Path;

use rlink_linker::object::{Binding, ComdatSelection, ObjectView, SectionFlags, SymPlace};
use rlink_pe::x86_64::{
    width, IMAGE_REL_AMD64_ADDR32NB, IMAGE_REL_AMD64_REL32, IMAGE_REL_AMD64_SECREL,
};

const SOURCE: &str = "__declspec(thread) int counter = 5;\n\
    extern int imported(int);\n\
    __declspec(selectany) int shared_value = 3;\n\
    __attribute__((weak)) int maybe(void);\n\
    int call_it(int x) { counter += x; return imported(x) + shared_value + (maybe ? maybe() : 0); }\n";

fn compile(dir: &Path, target: &str) -> Vec<u8> {
    std::fs::write(dir.join("t.c"), SOURCE).unwrap();
    let obj = dir.join(format!("{target}.o"));
    common::run(
        "clang",
        &[
            &format!("--target={target}"),
            "-O1",
            "-ffunction-sections",
            "-fdata-sections",
            "-c",
            "t.c",
            "-o",
            obj.to_str().unwrap(),
        ],
        dir,
    );
    std::fs::read(obj).unwrap()
}

fn load(data: &[u8]) -> rlink_linker::Result<ObjectView<'_>> {
    rlink_pe::object::load("t.o".to_string(), data, &|t| width(t))
}

/// Sections named `name` or `name$…` (mingw's `.pdata$f`).
fn section_index(o: &ObjectView<'_>, name: &[u8]) -> Vec<usize> {
    o.sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name.split(|&c| c == b'$').next() == Some(name))
        .map(|(i, _)| i)
        .collect()
}

fn symbol<'a>(o: &'a ObjectView<'a>, name: &[u8]) -> (u32, &'a rlink_linker::object::Symbol<'a>) {
    let (i, s) = o
        .symbols
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {}", String::from_utf8_lossy(name)));
    (i as u32, s)
}

#[test]
fn clang_objects_read_into_the_view() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["x86_64-pc-windows-msvc", "x86_64-w64-windows-gnu"] {
        let data = compile(dir.path(), target);
        let o = load(&data).unwrap_or_else(|e| panic!("{target}: {e}"));

        // call_it's own `.text` is a COMDAT (NODUPLICATES, LLVM's function sections) named
        // by its symbol; its `.pdata` and `.xdata` are associative members of that group and
        // follow it through garbage collection.
        let (_, call_it) = symbol(&o, b"call_it");
        let SymPlace::Section(text) = call_it.place else {
            panic!("{target}: call_it is not defined in a section");
        };
        assert!(
            o.sections[text as usize].has(SectionFlags::EXEC),
            "{target}"
        );
        let group = o
            .groups
            .iter()
            .find(|g| g.signature == b"call_it")
            .unwrap_or_else(|| panic!("{target}: no COMDAT group for call_it"));
        assert_eq!(group.selection, ComdatSelection::NoDuplicates, "{target}");
        assert_eq!(group.members[0], text, "{target}");
        for unwind in [&b".pdata"[..], b".xdata"] {
            let s = section_index(&o, unwind);
            assert!(
                s.iter().any(|&s| group.members.contains(&(s as u32))
                    && o.associated.contains(&(s as u32, text))),
                "{target}: {} is not associative to call_it's section: {:?} {:?}",
                String::from_utf8_lossy(unwind),
                group.members,
                o.associated
            );
        }
        // selectany data: a COMDAT ANY group.
        assert!(
            o.groups
                .iter()
                .any(|g| g.signature == b"shared_value" && g.selection == ComdatSelection::Any),
            "{target}: shared_value's group"
        );

        // The call to the import: REL32 with the ELF-style addend −4.
        let (imported, s) = symbol(&o, b"imported");
        assert_eq!(s.place, SymPlace::Undefined, "{target}");
        let call = o.relocations[text as usize]
            .iter()
            .find(|r| r.symbol == imported)
            .unwrap_or_else(|| panic!("{target}: no relocation against imported"));
        assert_eq!(
            (call.r_type, call.addend),
            (IMAGE_REL_AMD64_REL32, -4),
            "{target}"
        );

        // `.pdata` points at the function with image-relative words.
        let pdata = section_index(&o, b".pdata")[0];
        let relocs: Vec<_> = o.relocations[pdata].iter().collect();
        assert!(
            relocs.len() >= 3 && relocs.iter().all(|r| r.r_type == IMAGE_REL_AMD64_ADDR32NB),
            "{target}: .pdata relocations"
        );

        if target.ends_with("msvc") {
            // The thread-local: in `.tls$`, reached section-relative.
            let (counter, s) = symbol(&o, b"counter");
            let SymPlace::Section(tls) = s.place else {
                panic!("{target}: counter is not defined in a section");
            };
            assert!(o.sections[tls as usize].has(SectionFlags::TLS), "{target}");
            assert!(
                o.relocations[text as usize]
                    .iter()
                    .any(|r| r.symbol == counter && r.r_type == IMAGE_REL_AMD64_SECREL),
                "{target}: SECREL against counter"
            );
            // The weak external.
            let (_, maybe) = symbol(&o, b"maybe");
            assert_eq!(
                (maybe.binding, maybe.place),
                (Binding::Weak, SymPlace::Undefined),
                "{target}"
            );
        }
    }
}

/// Every prefix of a real object, and the object with each header and table byte flipped,
/// loads or fails with a message; nothing panics.
#[test]
fn truncated_and_corrupted_objects_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = compile(dir.path(), "x86_64-pc-windows-msvc");
    let mut errors = 0;
    for len in 0..data.len() {
        if load(&data[..len]).is_err() {
            errors += 1;
        }
    }
    assert!(
        errors > data.len() / 2,
        "{errors} of {} prefixes refused",
        data.len()
    );
    for at in 0..data.len().min(2048) {
        let mut bad = data.clone();
        bad[at] ^= 0xff;
        let _ = load(&bad);
    }
}

/// The bundled DLL manifests (`linker/pe/manifests/`, generated from wine's DLLs) parse, one
/// `cgo_import_dynamic` per line, each naming its DLL, and hold what std and C programs call.
#[test]
fn dll_manifests_parse() {
    let dir = common::repo().join("linker/pe/manifests");
    let mut names = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "directives") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let directives =
            rlink_directives::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(directives.len(), text.lines().count(), "{}", path.display());
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for d in directives {
            let rlink_directives::DirectiveKind::ImportDynamic {
                local,
                remote,
                library,
                ..
            } = d.kind
            else {
                panic!("{}: not an import: {d:?}", path.display());
            };
            assert_eq!(local, remote, "{}", path.display());
            let library = library.unwrap_or_else(|| panic!("{}: {local}: no DLL", path.display()));
            assert!(library.to_ascii_lowercase().ends_with(".dll"), "{library}");
            names.insert((stem.clone(), local), library);
        }
    }
    for (manifest, name, dll) in [
        ("kernel32", "ExitProcess", "KERNEL32.dll"),
        ("kernel32", "WriteFile", "KERNEL32.dll"),
        ("advapi32", "SystemFunction036", "advapi32.dll"),
        (
            "api-ms-win-core-synch-l1-2-0",
            "WaitOnAddress",
            "api-ms-win-core-synch-l1-2-0.dll",
        ),
        ("msvcrt-lib", "memcpy", "vcruntime140.dll"),
        ("msvcrt-lib", "__CxxFrameHandler3", "vcruntime140.dll"),
        ("msvcrt-lib", "strlen", "api-ms-win-crt-string-l1-1-0.dll"),
        ("msvcrt-lib", "malloc", "api-ms-win-crt-heap-l1-1-0.dll"),
        ("msvcrt", "puts", "msvcrt.dll"),
    ] {
        assert_eq!(
            names
                .get(&(manifest.to_string(), name.to_string()))
                .map(String::as_str),
            Some(dll),
            "{manifest}: {name}"
        );
    }
}
