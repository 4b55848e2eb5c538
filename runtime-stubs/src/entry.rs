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

/// The entry stub for x86-64 Linux with glibc, as the bytes of an ELF relocatable object.
pub fn entry_object() -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    let offset = obj.append_section_data(text, X86_64_GLIBC_START, 16);
    obj.add_symbol(Symbol {
        name: b"_start".to_vec(),
        value: offset,
        size: X86_64_GLIBC_START.len() as u64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    for (name, disp, r_type) in [
        (&b"main"[..], MAIN_DISP, elf::R_X86_64_REX_GOTPCRELX),
        (
            &b"__libc_start_main"[..],
            START_MAIN_DISP,
            elf::R_X86_64_GOTPCRELX,
        ),
    ] {
        let symbol = obj.add_symbol(Symbol {
            name: name.to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Text,
            scope: SymbolScope::Unknown,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        });
        let relocation = Relocation {
            offset: offset + disp,
            symbol,
            addend: -4,
            flags: object::RelocationFlags::Elf { r_type },
        };
        obj.add_relocation(text, relocation)
            .expect("relocation of a fixed stub is valid");
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
    fn the_object_parses_and_defines_start() {
        let bytes = entry_object();
        assert_eq!(&bytes[..4], b"\x7fELF");
        assert!(bytes.windows(7).any(|w| w == b"_start\0"));
        assert!(bytes.windows(18).any(|w| w == b"__libc_start_main\0"));
    }
}
