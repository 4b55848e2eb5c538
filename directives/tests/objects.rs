//! Reading directive sections from real objects and archives built at test time, and surviving
//! broken ones.

mod common;

use common::{archive, clang_object, cross_object, host_directives_source, rustc_object, Scratch};
use rlink_directives::{
    directives_in_file, parse, section_in_object, sections_in_object, Directive, FileError,
    ObjectError,
};

const LINE_A: &[u8] = b"cgo_import_dynamic puts puts#GLIBC_2.2.5 \"libc.so.6\"\n";
const LINE_B: &[u8] = b"cgo_ldflag \"-lm\"\n";
const LINE_C: &[u8] = b"cgo_import_dynamic _ _ \"libm.so.6\"\n";

const ELF: &str = ".rlink.directives";
const MACHO: &str = "__RLINK,__directives";

fn lines(directives: &[Directive]) -> Vec<String> {
    directives.iter().map(ToString::to_string).collect()
}

fn line_text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).trim_end().to_string()
}

fn expected_lines() -> Vec<String> {
    sorted(
        [LINE_A, LINE_B, LINE_C]
            .iter()
            .map(|line| line_text(line))
            .collect(),
    )
}

/// Three directives, the middle one 16-aligned so the section holds NUL padding.
fn padded_lines() -> [(&'static [u8], usize); 3] {
    [(LINE_A, 1), (LINE_B, 16), (LINE_C, 1)]
}

fn host_elf(scratch: &Scratch, name: &str, lines: &[(&[u8], usize)]) -> Vec<u8> {
    rustc_object(
        scratch,
        name,
        &host_directives_source(ELF, lines),
        &["--edition=2021"],
    )
}

/// Checks that `object` carries exactly the padded directives in `section`.
///
/// Whether the statics share one section depends on the format: LLVM gives each `#[used]`
/// static its own ELF section (`SHF_GNU_RETAIN` is per section) but packs them into one Mach-O
/// section, with NUL padding before the aligned one. Their order is the compiler's business,
/// so lines are compared sorted.
fn assert_padded_directives(object: &[u8], section: &str, target: &str) {
    let (name, sections) = sections_in_object(object)
        .expect("readable object")
        .expect("object has the section");
    assert_eq!(name, section, "{target}");
    if let [bytes] = sections[..] {
        assert!(
            bytes.contains(&0),
            "{target}: the aligned static should leave NUL padding"
        );
        assert_eq!(
            section_in_object(object),
            Ok(Some((name, bytes))),
            "{target}"
        );
    } else {
        assert_eq!(sections.len(), 3, "{target}");
        assert_eq!(
            section_in_object(object),
            Err(ObjectError::SeveralSections {
                section: name,
                count: 3
            }),
            "{target}"
        );
    }
    let found = directives_in_file(object).expect("directives");
    assert_eq!(found.len(), 1, "{target}");
    assert_eq!(found[0].member, None, "{target}");
    assert_eq!(found[0].section, section, "{target}");
    assert_eq!(
        sorted(lines(&found[0].directives)),
        expected_lines(),
        "{target}"
    );
    // Lines are numbered through the sections as if concatenated.
    let mut numbers: Vec<_> = found[0].directives.iter().map(|d| d.line).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2, 3], "{target}");
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

#[test]
fn host_elf_object() {
    let scratch = Scratch::new("host-elf");
    let object = host_elf(&scratch, "directives", &padded_lines());
    assert_padded_directives(&object, ELF, "host");
}

#[test]
fn nul_padding_inside_one_section() {
    // What a linker leaves when it merges aligned directive sections: NULs between lines.
    let scratch = Scratch::new("host-elf-nul");
    let text = b"cgo_ldflag \"-lm\"\n\0\0\0cgo_import_static x\0\0\n\0cgo_ldflag \"-lc\"\n\0\0";
    let object = host_elf(&scratch, "nul", &[(text, 1)]);
    assert_eq!(section_in_object(&object), Ok(Some((ELF, &text[..]))));
    let found = directives_in_file(&object).unwrap();
    let summary: Vec<_> = found[0]
        .directives
        .iter()
        .map(|d| (d.line, d.to_string()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "cgo_ldflag \"-lm\"".to_string()),
            (2, "cgo_import_static x".to_string()),
            (3, "cgo_ldflag \"-lc\"".to_string()),
        ]
    );
}

#[test]
fn elf_object_without_directives() {
    let scratch = Scratch::new("elf-none");
    let object = rustc_object(
        &scratch,
        "plain",
        "#![no_std]\npub fn f() -> u32 { 42 }\n",
        &["--edition=2021"],
    );
    assert_eq!(section_in_object(&object), Ok(None));
    assert_eq!(directives_in_file(&object), Ok(Vec::new()));
}

#[test]
fn cross_target_objects() {
    // Mach-O (64- and 32-bit), COFF (x86-64, x86, arm64) and ELF of the other widths and byte
    // order, all made by the stable compiler from a no_core crate.
    let cases = [
        ("x86_64-apple-darwin", MACHO),
        ("aarch64-apple-darwin", MACHO),
        ("i686-apple-darwin", MACHO),
        ("x86_64-pc-windows-msvc", ELF),
        ("i686-pc-windows-msvc", ELF),
        ("aarch64-pc-windows-msvc", ELF),
        ("i686-unknown-linux-gnu", ELF),
        ("powerpc64-unknown-linux-gnu", ELF),
        ("s390x-unknown-linux-gnu", ELF),
    ];
    let scratch = Scratch::new("cross");
    for (index, (target, section)) in cases.into_iter().enumerate() {
        let object = cross_object(
            &scratch,
            &format!("cross{index}"),
            target,
            section,
            &padded_lines(),
        );
        assert_padded_directives(&object, section, target);
        if target.contains("windows") {
            assert!(
                coff_has_long_section_name(&object),
                "{target}: .rlink.directives should be a string-table name"
            );
        }
    }
}

/// Whether a COFF object names some section through the string table (`/N`), which is how
/// names longer than eight bytes like `.rlink.directives` are stored.
fn coff_has_long_section_name(object: &[u8]) -> bool {
    let count = u16::from_le_bytes([object[2], object[3]]) as usize;
    let optional = u16::from_le_bytes([object[16], object[17]]) as usize;
    (0..count).any(|i| object.get(20 + optional + 40 * i) == Some(&b'/'))
}

#[test]
fn mach_o_section_needs_the_right_segment() {
    // `__directives` in another segment is not ours.
    let scratch = Scratch::new("macho-segment");
    let object = cross_object(
        &scratch,
        "other",
        "x86_64-apple-darwin",
        "__DATA,__directives",
        &[(LINE_A, 1)],
    );
    assert_eq!(section_in_object(&object), Ok(None));
}

#[test]
fn several_sections_of_the_name_are_all_read() {
    // COFF allows two sections with one name; a COMDAT-like split would put statics in both.
    let directives = b"cgo_ldflag \"-la\"\n";
    let other = b"cgo_ldflag \"-lb\"\n";
    let object = coff_object(
        false,
        &[
            (".rlink.directives", directives),
            (".rlink.directives", other),
        ],
    );
    let (name, sections) = sections_in_object(&object).unwrap().unwrap();
    assert_eq!(name, ELF);
    assert_eq!(sections, [&directives[..], &other[..]]);
    assert_eq!(
        section_in_object(&object),
        Err(ObjectError::SeveralSections {
            section: ELF,
            count: 2
        })
    );
    assert_eq!(
        section_in_object(&object).unwrap_err().to_string(),
        "2 sections named .rlink.directives: read them with sections_in_object"
    );
    let found = directives_in_file(&object).unwrap();
    assert_eq!(
        lines(&found[0].directives),
        ["cgo_ldflag \"-la\"", "cgo_ldflag \"-lb\""]
    );
}

/// A minimal COFF object, regular or bigobj, with the given sections: names longer than eight
/// bytes go through the string table, as compilers write them.
fn coff_object(bigobj: bool, sections: &[(&str, &[u8])]) -> Vec<u8> {
    const MACHINE_AMD64: u16 = 0x8664;
    const CNT_INITIALIZED_DATA: u32 = 0x40;
    const MEM_READ: u32 = 0x4000_0000;
    const BIGOBJ_CLASS_ID: [u8; 16] = [
        0xC7, 0xA1, 0xBA, 0xD1, 0xEE, 0xBA, 0xA9, 0x4B, 0xAF, 0x20, 0xFA, 0xF6, 0x6A, 0xA4, 0xDC,
        0xB8,
    ];
    let header_size = if bigobj { 56 } else { 20 };
    let mut data_offset = header_size + 40 * sections.len();
    let mut strings = Vec::new();
    let mut headers = Vec::new();
    let mut data = Vec::new();
    for (name, bytes) in sections {
        let mut field = [0u8; 8];
        if name.len() <= 8 {
            field[..name.len()].copy_from_slice(name.as_bytes());
        } else {
            // Offsets count the string table's own four-byte size.
            let reference = format!("/{}", 4 + strings.len());
            field[..reference.len()].copy_from_slice(reference.as_bytes());
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
        }
        headers.extend_from_slice(&field);
        headers.extend_from_slice(&0u32.to_le_bytes()); // virtual size
        headers.extend_from_slice(&0u32.to_le_bytes()); // virtual address
        headers.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        headers.extend_from_slice(&(data_offset as u32).to_le_bytes());
        headers.extend_from_slice(&[0; 12]); // relocations, line numbers and their counts
        headers.extend_from_slice(&(CNT_INITIALIZED_DATA | MEM_READ).to_le_bytes());
        data.extend_from_slice(bytes);
        data_offset += bytes.len();
    }
    let symbol_table = data_offset as u32;
    let mut file = Vec::new();
    if bigobj {
        file.extend_from_slice(&0u16.to_le_bytes()); // IMAGE_FILE_MACHINE_UNKNOWN
        file.extend_from_slice(&0xffffu16.to_le_bytes());
        file.extend_from_slice(&2u16.to_le_bytes()); // version
        file.extend_from_slice(&MACHINE_AMD64.to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes()); // time stamp
        file.extend_from_slice(&BIGOBJ_CLASS_ID);
        file.extend_from_slice(&[0; 16]); // size of data, flags, metadata size and offset
        file.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        file.extend_from_slice(&symbol_table.to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes()); // no symbols
    } else {
        file.extend_from_slice(&MACHINE_AMD64.to_le_bytes());
        file.extend_from_slice(&(sections.len() as u16).to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes()); // time stamp
        file.extend_from_slice(&symbol_table.to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes()); // no symbols
        file.extend_from_slice(&0u16.to_le_bytes()); // no optional header
        file.extend_from_slice(&0u16.to_le_bytes()); // characteristics
    }
    assert_eq!(file.len(), header_size);
    file.extend_from_slice(&headers);
    file.extend_from_slice(&data);
    file.extend_from_slice(&(4 + strings.len() as u32).to_le_bytes());
    file.extend_from_slice(&strings);
    file
}

#[test]
fn coff_bigobj() {
    let text = b"cgo_import_dynamic f f \"f.dll\"\n";
    let object = coff_object(true, &[(".text", b"\xc3"), (".rlink.directives", text)]);
    assert_eq!(section_in_object(&object), Ok(Some((ELF, &text[..]))));
    let found = directives_in_file(&object).unwrap();
    assert_eq!(
        lines(&found[0].directives),
        ["cgo_import_dynamic f f \"f.dll\""]
    );
    // The same through a regular header, and a short name that only looks similar.
    let object = coff_object(false, &[(".rlink", b"x"), (".rlink.directives", text)]);
    assert_eq!(section_in_object(&object), Ok(Some((ELF, &text[..]))));
}

#[test]
fn zero_fill_sections_are_empty() {
    let scratch = Scratch::new("zerofill");
    let cases = [
        (
            "x86_64-unknown-linux-gnu",
            ".section .rlink.directives,\"aw\",@nobits\n.zero 16\n",
            ELF,
        ),
        (
            "x86_64-apple-darwin",
            ".zerofill __RLINK,__directives,_buf,16\n",
            MACHO,
        ),
        (
            "x86_64-pc-windows-msvc",
            ".section .rlink.directives,\"bw\"\n.zero 16\n",
            ELF,
        ),
    ];
    for (index, (target, source, section)) in cases.into_iter().enumerate() {
        let Some(object) = clang_object(&scratch, &format!("zero{index}"), target, source) else {
            return;
        };
        assert_eq!(
            section_in_object(&object),
            Ok(Some((section, &[][..]))),
            "{target}"
        );
        let found = directives_in_file(&object).unwrap();
        assert_eq!(found.len(), 1, "{target}");
        assert!(found[0].directives.is_empty(), "{target}");
    }
}

#[test]
fn parse_errors_name_the_section_and_line() {
    let scratch = Scratch::new("bad-directive");
    let bad = b"cgo_ldflag \"-lm\"\n\ncgo_import_dynamic \"puts\"\n";
    let elf = host_elf(&scratch, "bad", &[(bad, 1)]);
    let error = directives_in_file(&elf).unwrap_err();
    assert_eq!(
        error,
        FileError {
            member: None,
            message: ".rlink.directives:3: invalid cgo directive: cgo_import_dynamic: usage: \
                      cgo_import_dynamic local [remote [\"library\"]]"
                .to_string()
        }
    );
    assert_eq!(error.to_string(), error.message);

    let macho = cross_object(
        &scratch,
        "badmacho",
        "x86_64-apple-darwin",
        MACHO,
        &[(bad, 1)],
    );
    let error = directives_in_file(&macho).unwrap_err();
    assert!(
        error
            .message
            .starts_with("__RLINK,__directives:3: invalid cgo directive: "),
        "{error}"
    );

    let invalid_utf8 = host_elf(&scratch, "utf8", &[(b"cgo_ldflag \"-l\xff\"\n", 1)]);
    let error = directives_in_file(&invalid_utf8).unwrap_err();
    assert!(
        error
            .message
            .starts_with(".rlink.directives:1: invalid cgo directive: invalid UTF-8"),
        "{error}"
    );
}

#[test]
fn archives_list_object_members_in_order() {
    let scratch = Scratch::new("archive");
    let first = host_elf(&scratch, "first", &[(LINE_A, 1), (LINE_B, 1)]);
    let second = host_elf(&scratch, "second", &[(LINE_C, 1)]);
    let plain = rustc_object(
        &scratch,
        "plain",
        "#![no_std]\npub fn f() {}\n",
        &["--edition=2021"],
    );
    // rustc metadata and other non-objects in an rlib are skipped, whatever their name.
    let rmeta = b"rust\0\0\0\x09 not an object, just metadata bytes";
    let members: [(&str, &[u8]); 6] = [
        ("first.o", &first),
        ("lib.rmeta", rmeta),
        ("plain.o", &plain),
        ("notes.txt", b"cgo_ldflag \"-lhidden\"\n"),
        // Long enough for the GNU `//` name table and BSD `#1/` names.
        ("second-member-with-a-long-name.o", &second),
        ("x.rcgu.rmeta", b"short"),
    ];
    for (tool, flags) in [
        ("ar", &[][..]),
        ("llvm-ar", &["--format=gnu"][..]),
        ("llvm-ar", &["--format=bsd"][..]),
        ("llvm-ar", &["--format=darwin"][..]),
    ] {
        let Some(bytes) = archive(&scratch, tool, flags, &members) else {
            continue;
        };
        let found = directives_in_file(&bytes).unwrap_or_else(|e| panic!("{tool} {flags:?}: {e}"));
        let summary: Vec<_> = found
            .iter()
            .map(|f| (f.member.as_deref(), f.section, sorted(lines(&f.directives))))
            .collect();
        let expected_first = sorted(vec![line_text(LINE_A), line_text(LINE_B)]);
        assert_eq!(
            summary,
            [
                (Some("first.o"), ELF, expected_first),
                (
                    Some("second-member-with-a-long-name.o"),
                    ELF,
                    vec![line_text(LINE_C)]
                ),
            ],
            "{tool} {flags:?}"
        );
    }
}

#[test]
fn archive_errors_name_the_member() {
    let scratch = Scratch::new("archive-bad");
    let good = host_elf(&scratch, "good", &[(LINE_A, 1)]);
    let bad_directive = host_elf(&scratch, "baddir", &[(b"cgo_import_static\n", 1)]);
    let mut garbage = b"\x7fELF\x02\x01\x01".to_vec();
    garbage.extend(std::iter::repeat_n(0xa5, 100));

    let Some(bytes) = archive(
        &scratch,
        "ar",
        &[],
        &[("good.o", &good), ("bad.o", &garbage)],
    ) else {
        return;
    };
    let error = directives_in_file(&bytes).unwrap_err();
    assert_eq!(error.member.as_deref(), Some("bad.o"));
    assert!(
        error
            .message
            .starts_with("truncated or malformed ELF file: "),
        "{error}"
    );

    let Some(bytes) = archive(
        &scratch,
        "ar",
        &[],
        &[("good.o", &good), ("foo.o", &bad_directive)],
    ) else {
        return;
    };
    let error = directives_in_file(&bytes).unwrap_err();
    assert_eq!(error.member.as_deref(), Some("foo.o"));
    assert_eq!(
        error.message,
        ".rlink.directives:1: invalid cgo directive: cgo_import_static: usage: cgo_import_static local"
    );

    // A member running past the end of the archive.
    let Some(mut bytes) = archive(&scratch, "ar", &[], &[("good.o", &good)]) else {
        return;
    };
    bytes.truncate(bytes.len() - 10);
    assert!(directives_in_file(&bytes).is_err());

    // Thin archives keep members elsewhere; silently finding nothing would lose directives.
    if let Some(bytes) = archive(&scratch, "llvm-ar", &["--thin"], &[("good.o", &good)]) {
        let error = directives_in_file(&bytes).unwrap_err();
        // Thin archives record the member's path.
        let member = error.member.expect("thin member named");
        assert!(member.ends_with("good.o"), "{member}");
    }
}

#[test]
fn not_objects_and_bad_magic() {
    for data in [
        &b"cgo_ldflag \"-lm\"\n"[..],
        b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        b"\x7fELG\x02\x01\x01\0\0\0\0\0\0\0\0\0\0\0\0\0",
    ] {
        assert_eq!(section_in_object(data), Err(ObjectError::NotAnObject));
        let error = directives_in_file(data).unwrap_err();
        assert_eq!(error.member, None);
        assert_eq!(error.message, "not an ELF, Mach-O or COFF object");
    }
}

#[test]
fn truncated_and_corrupted_objects_never_panic() {
    let scratch = Scratch::new("fuzz");
    let elf = host_elf(&scratch, "fuzz", &padded_lines());
    let macho = cross_object(
        &scratch,
        "fuzzmacho",
        "x86_64-apple-darwin",
        MACHO,
        &padded_lines(),
    );
    let coff = cross_object(
        &scratch,
        "fuzzcoff",
        "x86_64-pc-windows-msvc",
        ELF,
        &padded_lines(),
    );
    let bigobj = coff_object(true, &[(".rlink.directives", LINE_A)]);
    let mut inputs = vec![elf.clone(), macho, coff, bigobj];
    if let Some(bytes) = archive(
        &scratch,
        "ar",
        &[],
        &[("a.o", &elf), ("lib.rmeta", b"meta")],
    ) {
        inputs.push(bytes);
    }
    for input in &inputs {
        // Every prefix: a truncated object must be an error or a (possibly partial) answer.
        for len in 0..input.len() {
            let prefix = &input[..len];
            let _ = section_in_object(prefix);
            let _ = directives_in_file(prefix);
        }
        // Every single-byte corruption, with two different patterns.
        for index in 0..input.len() {
            for pattern in [0xff, 0x80] {
                let mut corrupt = input.clone();
                corrupt[index] ^= pattern;
                let _ = section_in_object(&corrupt);
                let _ = directives_in_file(&corrupt);
            }
        }
    }
    // A truncated ELF is reported as such.
    let error = section_in_object(&elf[..100]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("truncated or malformed ELF file: "),
        "{error}"
    );
}

#[test]
fn section_text_matches_the_text_parser() {
    let scratch = Scratch::new("agree");
    let object = host_elf(&scratch, "agree", &padded_lines());
    let (_, sections) = sections_in_object(&object).unwrap().unwrap();
    let text: String = sections
        .iter()
        .map(|bytes| std::str::from_utf8(bytes).unwrap())
        .collect();
    assert_eq!(
        directives_in_file(&object).unwrap()[0].directives,
        parse(&text).unwrap()
    );
}
