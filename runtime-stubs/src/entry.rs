//! The process entry rlink links in when no startup object defines `_start`.

use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{elf, Architecture, BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};

/// The name diagnostics use for the entry stub object.
pub const ENTRY_OBJECT_NAME: &str = "rlink-runtime-stubs(start.o)";

/// x86-64 `_start` for glibc, as the System V ABI hands a process over: `%rsp` points at
/// argc, then argv, envp and auxv; `%rdx` holds the dynamic linker's finalizer.
///
/// It calls `__libc_start_main(main, argc, argv, init = 0, fini = 0, rtld_fini, stack_end)`;
/// glibc 2.34+ runs the init arrays itself, so no crt init code is needed. `%ebp` is zeroed
/// to end frame-pointer walks, and the stack is aligned to 16 bytes before the call, as the
/// ABI requires at every call (the two pushes keep it aligned and pass `stack_end`).
const X86_64_GLIBC_START: &[u8] = &[
    0x31, 0xed, // xor %ebp,%ebp
    0x49, 0x89, 0xd1, // mov %rdx,%r9            rtld_fini
    0x5e, // pop %rsi                            argc
    0x48, 0x89, 0xe2, // mov %rsp,%rdx           argv
    0x48, 0x83, 0xe4, 0xf0, // and $-16,%rsp
    0x50, // push %rax                           padding, keeps alignment
    0x54, // push %rsp                           stack_end
    0x45, 0x31, 0xc0, // xor %r8d,%r8d           fini
    0x31, 0xc9, // xor %ecx,%ecx                 init
    0x48, 0x8b, 0x3d, 0, 0, 0, 0, // mov main@GOTPCREL(%rip),%rdi
    0xff, 0x15, 0, 0, 0, 0,    // call *__libc_start_main@GOTPCREL(%rip)
    0xf4, // hlt                                 __libc_start_main never returns
];
const MAIN_DISP: u64 = 23;
const START_MAIN_DISP: u64 = 29;

/// AArch64 `_start` for glibc, as the AAPCS64 hands a process over: `sp` points at argc,
/// then argv, envp and auxv; `x0` holds the dynamic linker's finalizer. The same call as on
/// x86-64, `__libc_start_main(main, argc, argv, init = 0, fini = 0, rtld_fini, stack_end)`;
/// the frame pointer and link register are zeroed to end stack walks, and `sp` is already
/// 16-byte aligned at entry. Instruction words, little-endian.
const AARCH64_GLIBC_START: &[u32] = &[
    0xd503_245f, // bti c                         the dynamic loader branches here indirectly
    0xd280_001d, // mov x29, #0
    0xd280_001e, // mov x30, #0
    0xaa00_03e5, // mov x5, x0                    rtld_fini
    0xf940_03e1, // ldr x1, [sp]                  argc
    0x9100_23e2, // add x2, sp, #8                argv
    0x9100_03e6, // mov x6, sp                    stack_end
    0x9000_0000, // adrp x0, :got:main
    0xf940_0000, // ldr x0, [x0, :got_lo12:main]
    0xd280_0003, // mov x3, #0                    init
    0xd280_0004, // mov x4, #0                    fini
    0x9400_0000, // bl __libc_start_main
    0xd420_0000, // brk #0                        __libc_start_main never returns
];

/// The entry stub for x86-64 Linux with glibc, as the bytes of an ELF relocatable object.
pub fn entry_object() -> Vec<u8> {
    let relocs: [(&[u8], u64, elf::RelocationType, i64); 2] = [
        (b"main", MAIN_DISP, elf::R_X86_64_REX_GOTPCRELX, -4),
        (
            b"__libc_start_main",
            START_MAIN_DISP,
            elf::R_X86_64_GOTPCRELX,
            -4,
        ),
    ];
    stub_object(Architecture::X86_64, X86_64_GLIBC_START, &relocs, None)
}

/// The entry stub for AArch64 Linux with glibc, as the bytes of an ELF relocatable object.
pub fn aarch64_entry_object() -> Vec<u8> {
    let code: Vec<u8> = AARCH64_GLIBC_START
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let relocs: [(&[u8], u64, elf::RelocationType, i64); 3] = [
        (b"main", 0x1c, elf::R_AARCH64_ADR_GOT_PAGE, 0),
        (b"main", 0x20, elf::R_AARCH64_LD64_GOT_LO12_NC, 0),
        (b"__libc_start_main", 0x2c, elf::R_AARCH64_CALL26, 0),
    ];
    // BTI and PAC compatible: `_start` begins with a landing pad (the dynamic loader jumps
    // to it with `br`), the stub's one call is direct, and it never returns (so it signs no
    // return address). Marked,
    // it lets programs whose objects are all BTI/PAC keep those bits.
    let features =
        elf::GNU_PROPERTY_AARCH64_FEATURE_1_BTI | elf::GNU_PROPERTY_AARCH64_FEATURE_1_PAC;
    stub_object(
        Architecture::Aarch64,
        &code,
        &relocs,
        Some((elf::GNU_PROPERTY_AARCH64_FEATURE_1_AND, features)),
    )
}

/// An object defining `_start` over `code`, with relocations (symbol, offset, type, addend)
/// against undefined symbols, and a GNU property (`pr_type`, bits) if given.
fn stub_object(
    arch: Architecture,
    code: &[u8],
    relocs: &[(&[u8], u64, elf::RelocationType, i64)],
    property: Option<(elf::GnuPropertyType, u32)>,
) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    if let Some((pr_type, value)) = property {
        obj.add_elf_gnu_property_u32(pr_type, value);
    }
    let text = obj.section_id(StandardSection::Text);
    let offset = obj.append_section_data(text, code, 16);
    obj.add_symbol(Symbol {
        name: b"_start".to_vec(),
        value: offset,
        size: code.len() as u64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    let mut symbols: Vec<(&[u8], object::write::SymbolId)> = Vec::new();
    for &(name, disp, r_type, addend) in relocs {
        let symbol = match symbols.iter().find(|(n, _)| *n == name) {
            Some(&(_, id)) => id,
            None => {
                let id = obj.add_symbol(Symbol {
                    name: name.to_vec(),
                    value: 0,
                    size: 0,
                    kind: SymbolKind::Text,
                    scope: SymbolScope::Unknown,
                    weak: false,
                    section: SymbolSection::Undefined,
                    flags: SymbolFlags::None,
                });
                symbols.push((name, id));
                id
            }
        };
        let relocation = Relocation {
            offset: offset + disp,
            symbol,
            addend,
            flags: object::RelocationFlags::Elf { r_type },
        };
        obj.add_relocation(text, relocation)
            .expect("relocation of a fixed stub is valid");
    }
    obj.write()
        .expect("writing a fixed stub object cannot fail")
}

/// x86-64 Windows `mainCRTStartup`, for programs linked without the MSVC C runtime: runs the
/// C initializers between `__xc_a` and `__xc_z` (`.CRT$XCA` … `.CRT$XCZ`, what `#[used]`
/// statics in `.CRT$XCU` register), calls `main(0, NULL)` (std reads its arguments from
/// `GetCommandLineW`, not from `main`'s) and passes its result to `ExitProcess`. At entry the
/// stack is 8 bytes off 16-byte alignment; two pushes and 40 bytes (the 32-byte shadow space
/// every call owes its callee, and padding) align it for the calls.
const X86_64_WINDOWS_START: &[u8] = &[
    0x53, // push rbx
    0x56, // push rsi
    0x48, 0x83, 0xec, 0x28, // sub rsp, 40
    0x48, 0x8d, 0x1d, 0, 0, 0, 0, // lea rbx, [rip + __xc_a]
    0x48, 0x8d, 0x35, 0, 0, 0, 0, // lea rsi, [rip + __xc_z]
    // next:
    0x48, 0x39, 0xf3, // cmp rbx, rsi
    0x73, 0x10, // jae done
    0x48, 0x8b, 0x03, // mov rax, [rbx]
    0x48, 0x85, 0xc0, // test rax, rax
    0x74, 0x02, // jz skip
    0xff, 0xd0, // call rax
    // skip:
    0x48, 0x83, 0xc3, 0x08, // add rbx, 8
    0xeb, 0xeb, // jmp next
    // done:
    0x31, 0xc9, // xor ecx, ecx
    0x31, 0xd2, // xor edx, edx
    0xe8, 0, 0, 0, 0, // call main
    0x89, 0xc1, // mov ecx, eax
    0xff, 0x15, 0, 0, 0, 0,    // call [rip + __imp_ExitProcess]
    0xcc, // int3: ExitProcess does not return
];

/// x86-64 Windows `_DllMainCRTStartup(instance, reason, reserved)`, a DLL's entry when no
/// C runtime is linked: on `DLL_PROCESS_ATTACH` (reason 1) it runs the C initializers as
/// `mainCRTStartup` does, then, for every reason, calls the DLL's `DllMain` with the same
/// arguments and returns its answer. `DllMain` is a weak definition here (it returns TRUE),
/// so a DLL defining its own gets that one, as with MSVC's CRT. The default's code follows the
/// entry's, at [`DLL_MAIN_DEFAULT`].
const X86_64_WINDOWS_DLL_START: &[u8] = &[
    0x53, // push rbx
    0x56, // push rsi
    0x57, // push rdi
    0x41, 0x54, // push r12
    0x41, 0x55, // push r13
    0x48, 0x83, 0xec, 0x20, // sub rsp, 32 (the shadow space; five pushes aligned the stack)
    0x48, 0x89, 0xcf, // mov rdi, rcx       instance
    0x41, 0x89, 0xd4, // mov r12d, edx      reason
    0x4d, 0x89, 0xc5, // mov r13, r8        reserved
    0x83, 0xfa, 0x01, // cmp edx, 1
    0x75, 0x23, // jne call
    0x48, 0x8d, 0x1d, 0, 0, 0, 0, // lea rbx, [rip + __xc_a]
    0x48, 0x8d, 0x35, 0, 0, 0, 0, // lea rsi, [rip + __xc_z]
    // next:
    0x48, 0x39, 0xf3, // cmp rbx, rsi
    0x73, 0x10, // jae call
    0x48, 0x8b, 0x03, // mov rax, [rbx]
    0x48, 0x85, 0xc0, // test rax, rax
    0x74, 0x02, // jz skip
    0xff, 0xd0, // call rax
    // skip:
    0x48, 0x83, 0xc3, 0x08, // add rbx, 8
    0xeb, 0xeb, // jmp next
    // call:
    0x48, 0x89, 0xf9, // mov rcx, rdi
    0x44, 0x89, 0xe2, // mov edx, r12d
    0x4d, 0x89, 0xe8, // mov r8, r13
    0xe8, 0, 0, 0, 0, // call DllMain
    0x48, 0x83, 0xc4, 0x20, // add rsp, 32
    0x41, 0x5d, // pop r13
    0x41, 0x5c, // pop r12
    0x5f, // pop rdi
    0x5e, // pop rsi
    0x5b, // pop rbx
    0xc3, // ret
    // DllMain's default:
    0xb8, 0x01, 0, 0, 0,    // mov eax, 1 (TRUE)
    0xc3, // ret
];

/// Where the default `DllMain` starts in [`X86_64_WINDOWS_DLL_START`].
const DLL_MAIN_DEFAULT: u64 = 86;

/// The name diagnostics use for the glibc compatibility object.
pub const GLIBC_COMPAT_OBJECT_NAME: &str = "rlink-runtime-stubs(glibc-compat.o)";

/// What glibc's `libc_nonshared.a` gave programs built for glibc before 2.33, which exported
/// the stat family only as `__xstat64(version, …)` and kin: `stat64`, `fstat64`, `lstat64`,
/// `fstatat64` (and the same without `64`, the same functions on 64-bit CPUs) as calls of
/// those with the kernel's `stat` layout version (1 on x86-64, 0 on AArch64). rlink links the
/// object like an archive member after every library, so it serves only when a glibc floor
/// older than 2.33 leaves those names out of libc.
pub fn glibc_compat_object(aarch64: bool) -> Vec<u8> {
    // Per shape (a path, a descriptor, a directory and a path): the code and where its
    // branch to patch is.
    /// Machine code and the offset of its branch.
    type Shape = (Vec<u8>, u64);
    let ((path, path_at), (fd, fd_at), (at, at_at)): (Shape, Shape, Shape) = if aarch64 {
        let words = |w: &[u32]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        (
            // mov x2, x1; mov x1, x0; mov w0, #0; b target
            (
                words(&[0xaa01_03e2, 0xaa00_03e1, 0x5280_0000, 0x1400_0000]),
                12,
            ),
            // mov x2, x1; mov w1, w0; mov w0, #0; b target
            (
                words(&[0xaa01_03e2, 0x2a00_03e1, 0x5280_0000, 0x1400_0000]),
                12,
            ),
            // mov w4, w3; mov x3, x2; mov x2, x1; mov w1, w0; mov w0, #0; b target
            (
                words(&[
                    0x2a03_03e4,
                    0xaa02_03e3,
                    0xaa01_03e2,
                    0x2a00_03e1,
                    0x5280_0000,
                    0x1400_0000,
                ]),
                20,
            ),
        )
    } else {
        (
            // mov rdx, rsi; mov rsi, rdi; mov edi, 1; jmp target
            (
                vec![
                    0x48, 0x89, 0xf2, 0x48, 0x89, 0xfe, 0xbf, 1, 0, 0, 0, 0xe9, 0, 0, 0, 0,
                ],
                12,
            ),
            // mov rdx, rsi; mov esi, edi; mov edi, 1; jmp target
            (
                vec![
                    0x48, 0x89, 0xf2, 0x89, 0xfe, 0xbf, 1, 0, 0, 0, 0xe9, 0, 0, 0, 0,
                ],
                11,
            ),
            // mov r8d, ecx; mov rcx, rdx; mov rdx, rsi; mov esi, edi; mov edi, 1; jmp target
            (
                vec![
                    0x41, 0x89, 0xc8, 0x48, 0x89, 0xd1, 0x48, 0x89, 0xf2, 0x89, 0xfe, 0xbf, 1, 0,
                    0, 0, 0xe9, 0, 0, 0, 0,
                ],
                17,
            ),
        )
    };
    // (name, code, offset of the branch to patch, the function it tail-calls).
    let mut shims: Vec<(String, &[u8], u64, String)> = Vec::new();
    for suffix in ["64", ""] {
        for (name, code, branch, target) in [
            ("stat", &path, path_at, "__xstat"),
            ("lstat", &path, path_at, "__lxstat"),
            ("fstat", &fd, fd_at, "__fxstat"),
            ("fstatat", &at, at_at, "__fxstatat"),
        ] {
            shims.push((
                format!("{name}{suffix}"),
                code.as_slice(),
                branch,
                format!("{target}{suffix}"),
            ));
        }
    }
    let arch = if aarch64 {
        Architecture::Aarch64
    } else {
        Architecture::X86_64
    };
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let mut targets: Vec<(String, object::write::SymbolId)> = Vec::new();
    for (name, code, at, target) in shims {
        // One section per function, so a link keeps only the ones it calls.
        let text = obj.add_section(
            Vec::new(),
            format!(".text.{name}").into_bytes(),
            object::SectionKind::Text,
        );
        let offset = obj.append_section_data(text, code, 16);
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: offset,
            size: code.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
        let symbol = match targets.iter().find(|(n, _)| *n == target) {
            Some(&(_, id)) => id,
            None => {
                let id = obj.add_symbol(Symbol {
                    name: target.as_bytes().to_vec(),
                    value: 0,
                    size: 0,
                    kind: SymbolKind::Text,
                    scope: SymbolScope::Unknown,
                    weak: false,
                    section: SymbolSection::Undefined,
                    flags: SymbolFlags::None,
                });
                targets.push((target.clone(), id));
                id
            }
        };
        let (r_type, addend) = if aarch64 {
            (elf::R_AARCH64_JUMP26, 0)
        } else {
            (elf::R_X86_64_PLT32, -4)
        };
        obj.add_relocation(
            text,
            Relocation {
                offset: offset + at,
                symbol,
                addend,
                flags: object::RelocationFlags::Elf { r_type },
            },
        )
        .expect("relocation of a fixed stub is valid");
    }
    obj.write()
        .expect("writing a fixed stub object cannot fail")
}

/// The name diagnostics use for the windows-gnu runtime object.
pub const WINDOWS_GNU_RUNTIME_OBJECT_NAME: &str = "rlink-runtime-stubs(gcc_seh.o)";

/// What x86_64-pc-windows-gnu programs take from mingw's libgcc_eh and libmingw32, as a COFF
/// object rlink links like an archive member (only when something references its names):
/// `__main` and GCC's `_Unwind_*` interface over SEH with `_GCC_specific_handler`, which
/// Rust's panics use on that target. Built from `windows-gnu/gcc_seh.c` by
/// `windows-gnu/build.sh` (clang, freestanding) and checked in, since rlink's own build has no
/// compiler for the target.
pub fn windows_gnu_runtime_object() -> &'static [u8] {
    include_bytes!("../windows-gnu/gcc_seh.o")
}

/// The name diagnostics use for the Windows start-up object.
pub const WINDOWS_ENTRY_OBJECT_NAME: &str = "rlink-runtime-stubs(crt.obj)";

/// The start-up object of x86-64 Windows programs linked without the MSVC C runtime, as the
/// bytes of a COFF object: `mainCRTStartup` above, the bounds of the C initializer table, and
/// what the C runtime's `tlssup` gives thread-local storage — `_tls_index` (the slot the
/// loader stores the image's TLS index in), `_tls_start`/`_tls_end` around the `.tls$`
/// template, the bounds of the TLS callback table (`.CRT$XLA` … `.CRT$XLZ`) and `_tls_used`,
/// the TLS directory the PE header points at. `??_7type_info@@6B@`, the vtable MSVC's type
/// descriptors point at (Rust's panic catching refers to it), is a null one: the C++
/// exception machinery matches type descriptors by name and never calls through it.
pub fn windows_entry_object() -> Vec<u8> {
    use object::pe;
    use object::write::SectionId;
    use object::SectionKind;

    let mut obj = Object::new(BinaryFormat::Coff, Architecture::X86_64, Endianness::Little);
    let section = |obj: &mut Object<'_>, name: &str, kind: SectionKind, flags: u32| {
        let id = obj.add_section(Vec::new(), name.as_bytes().to_vec(), kind);
        obj.section_mut(id).flags = object::SectionFlags::Coff {
            characteristics: pe::SectionFlags(flags),
        };
        id
    };
    const RDATA: u32 = pe::IMAGE_SCN_CNT_INITIALIZED_DATA.0 | pe::IMAGE_SCN_MEM_READ.0;
    const DATA: u32 = RDATA | pe::IMAGE_SCN_MEM_WRITE.0;
    const ALIGN8: u32 = pe::IMAGE_SCN_ALIGN_8BYTES.0;
    let define = |obj: &mut Object<'_>, name: &str, section: SectionId, bytes: &[u8], align| {
        let value = obj.append_section_data(section, bytes, align);
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size: bytes.len() as u64,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        })
    };
    let undefined = |obj: &mut Object<'_>, name: &str| {
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Unknown,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        })
    };

    // Each entry is a COMDAT of its own, so the one the image does not start at is dropped
    // (a DLL has no `main` for `mainCRTStartup` to call).
    let entry = |obj: &mut Object<'_>, name: &str, code: &[u8]| {
        let text = obj.add_section(
            Vec::new(),
            format!(".text${name}").into_bytes(),
            SectionKind::Text,
        );
        let start = obj.append_section_data(text, code, 16);
        // COFF names a COMDAT's section by its section symbol.
        obj.section_symbol(text);
        let symbol = obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: start,
            size: code.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
        obj.add_comdat(object::write::Comdat {
            kind: object::ComdatKind::NoDuplicates,
            symbol,
            sections: vec![text],
        });
        (text, start)
    };
    let (text, start) = entry(&mut obj, "mainCRTStartup", X86_64_WINDOWS_START);
    let (dll_text, dll_start) = entry(&mut obj, "_DllMainCRTStartup", X86_64_WINDOWS_DLL_START);
    let zero = [0u8; 8];
    let xca = section(
        &mut obj,
        ".CRT$XCA",
        SectionKind::ReadOnlyData,
        RDATA | ALIGN8,
    );
    let xc_a = define(&mut obj, "__xc_a", xca, &zero, 8);
    let xcz = section(
        &mut obj,
        ".CRT$XCZ",
        SectionKind::ReadOnlyData,
        RDATA | ALIGN8,
    );
    let xc_z = define(&mut obj, "__xc_z", xcz, &zero, 8);
    let xla = section(
        &mut obj,
        ".CRT$XLA",
        SectionKind::ReadOnlyData,
        RDATA | ALIGN8,
    );
    let xl_a = define(&mut obj, "__xl_a", xla, &zero, 8);
    let xlz = section(
        &mut obj,
        ".CRT$XLZ",
        SectionKind::ReadOnlyData,
        RDATA | ALIGN8,
    );
    define(&mut obj, "__xl_z", xlz, &zero, 8);
    let data = section(&mut obj, ".data", SectionKind::Data, DATA | ALIGN8);
    let tls_index = define(&mut obj, "_tls_index", data, &[0; 4], 4);
    // The template's bounds: `.tls` sorts before every `.tls$…` piece, `.tls$ZZZ` after.
    let tls = section(&mut obj, ".tls", SectionKind::Data, DATA | ALIGN8);
    let tls_start = define(&mut obj, "_tls_start", tls, &[0; 8], 8);
    let tls_z = section(&mut obj, ".tls$ZZZ", SectionKind::Data, DATA | ALIGN8);
    let tls_end = define(&mut obj, "_tls_end", tls_z, &[0; 8], 8);
    // IMAGE_TLS_DIRECTORY64: start and end of the template, &_tls_index, the callbacks
    // (after __xl_a's null), zero-fill size, characteristics.
    let rdata_t = section(
        &mut obj,
        ".rdata$T",
        SectionKind::ReadOnlyData,
        RDATA | ALIGN8,
    );
    let tls_used = define(&mut obj, "_tls_used", rdata_t, &[0; 40], 8);
    let _ = tls_used;
    let rdata = section(
        &mut obj,
        ".rdata",
        SectionKind::ReadOnlyData,
        RDATA | ALIGN8,
    );
    define(&mut obj, "??_7type_info@@6B@", rdata, &zero, 8);

    let main = undefined(&mut obj, "main");
    let exit = undefined(&mut obj, "__imp_ExitProcess");
    let rel = |obj: &mut Object<'_>, section, offset, symbol, typ, addend| {
        obj.add_relocation(
            section,
            Relocation {
                offset,
                symbol,
                addend,
                flags: object::RelocationFlags::Coff { typ },
            },
        )
        .expect("relocation of a fixed stub is valid");
    };
    rel(
        &mut obj,
        text,
        start + 9,
        xc_a,
        pe::IMAGE_REL_AMD64_REL32,
        -4,
    );
    rel(
        &mut obj,
        text,
        start + 16,
        xc_z,
        pe::IMAGE_REL_AMD64_REL32,
        -4,
    );
    rel(
        &mut obj,
        text,
        start + 46,
        main,
        pe::IMAGE_REL_AMD64_REL32,
        -4,
    );
    rel(
        &mut obj,
        text,
        start + 54,
        exit,
        pe::IMAGE_REL_AMD64_REL32,
        -4,
    );
    let dll_main = obj.add_symbol(Symbol {
        name: b"DllMain".to_vec(),
        value: dll_start + DLL_MAIN_DEFAULT,
        size: X86_64_WINDOWS_DLL_START.len() as u64 - DLL_MAIN_DEFAULT,
        kind: SymbolKind::Text,
        scope: SymbolScope::Linkage,
        weak: true,
        section: SymbolSection::Section(dll_text),
        flags: SymbolFlags::None,
    });
    for (at, symbol) in [(28, xc_a), (35, xc_z), (70, dll_main)] {
        rel(
            &mut obj,
            dll_text,
            dll_start + at,
            symbol,
            pe::IMAGE_REL_AMD64_REL32,
            -4,
        );
    }
    for (at, symbol, addend) in [
        (0, tls_start, 0),
        (8, tls_end, 0),
        (16, tls_index, 0),
        (24, xl_a, 8),
    ] {
        rel(
            &mut obj,
            rdata_t,
            at,
            symbol,
            pe::IMAGE_REL_AMD64_ADDR64,
            addend,
        );
    }
    obj.write()
        .expect("writing a fixed stub object cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displacements_point_at_the_instructions_operands() {
        // The opcode bytes before each displacement: a REX.W mov from memory, an indirect call.
        assert_eq!(
            &X86_64_GLIBC_START[MAIN_DISP as usize - 3..MAIN_DISP as usize],
            &[0x48, 0x8b, 0x3d]
        );
        assert_eq!(
            &X86_64_GLIBC_START[START_MAIN_DISP as usize - 2..START_MAIN_DISP as usize],
            &[0xff, 0x15]
        );
        assert_eq!(X86_64_GLIBC_START.last(), Some(&0xf4));
    }

    #[test]
    fn aarch64_relocations_point_at_their_instructions() {
        let word = |at: usize| AARCH64_GLIBC_START[at / 4];
        assert_eq!(word(0), 0xd503_245f, "bti c");
        assert_eq!(word(0x1c) & 0x9f00_0000, 0x9000_0000, "adrp");
        assert_eq!(word(0x20) & 0xffc0_0000, 0xf940_0000, "ldr");
        assert_eq!(word(0x2c) & 0xfc00_0000, 0x9400_0000, "bl");
        let bytes = aarch64_entry_object();
        assert_eq!(
            u16::from_le_bytes([bytes[18], bytes[19]]),
            183,
            "EM_AARCH64"
        );
    }

    #[test]
    fn the_object_parses_and_defines_start() {
        let bytes = entry_object();
        assert_eq!(&bytes[..4], b"\x7fELF");
        assert!(bytes.windows(7).any(|w| w == b"_start\0"));
        assert!(bytes.windows(18).any(|w| w == b"__libc_start_main\0"));
    }
}
