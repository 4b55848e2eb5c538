//! x86-64 for ELF: the relocation table, what each type needs from the linker (scan), the
//! standard relaxations of the psABI (x86-64 System V ABI, §B.2 for GOTPCRELX, and the TLS
//! transitions of Drepper's "ELF Handling for Thread-Local Storage"), PLT entries and the
//! dynamic relocation types. To learn how rlink links x86-64 ELF, read this file.

use object::elf;
use rlink_linker::reloc::{
    pcrel, signed32, write32, Applied, Arch, DynKind, Field, GotUse, Need, Overflow, PlaceInfo,
    Refusal, RelocInfo, RelocKind, TargetInfo, Values,
};
use rlink_linker::target::Cpu;

use crate::ElfArch;

/// GNU_PROPERTY_X86_FEATURE_1_AND's bits: indirect branches land on `endbr64` (IBT), and
/// returns are checked against a shadow stack (SHSTK).
const FEATURE_IBT: u32 = elf::GNU_PROPERTY_X86_FEATURE_1_IBT;
const FEATURE_SHSTK: u32 = elf::GNU_PROPERTY_X86_FEATURE_1_SHSTK;

/// The x86-64 CPU, as ELF numbers its relocations.
pub struct X86_64;

pub fn type_name(r_type: u32) -> String {
    match elf::machine_names(elf::EM_X86_64)
        .r
        .name(elf::RelocationType(r_type))
    {
        Some(n) => n.to_string(),
        None => format!("unknown relocation type {r_type}"),
    }
}

/// Decides what a relocation needs.
fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
    use elf::*;
    let t = RelocationType(r_type);
    if target.ifunc {
        return Ok(match t {
            R_X86_64_PC32 | R_X86_64_PLT32 => Need::Plt,
            R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => Need::Got,
            // The PLT entry is the function's address everywhere else.
            R_X86_64_64 | R_X86_64_32 | R_X86_64_32S if !place.pie || !place.alloc => Need::Plt,
            _ => {
                return Err(format!(
                    "{} against an indirect function (IFUNC)",
                    type_name(r_type)
                ))
            }
        });
    }
    Ok(match t {
        R_X86_64_NONE => Need::Nothing,
        R_X86_64_64 => {
            if !place.alloc {
                Need::Nothing
            } else if !place.writable
                && !place.pie
                && !place.shared
                && target.dynamic
                && !target.tls
            {
                // A constant address of imported data or of an imported function in a
                // position-dependent executable: the data is copied here, the function's PLT
                // entry stands for it.
                if target.dynamic_data {
                    Need::Copy
                } else {
                    Need::CanonicalPlt
                }
            } else if target.dynamic || (place.pie && !target.is_absolute() && !target.tls) {
                if !place.writable && !place.text_relocations {
                    return Err(
                        "absolute address in a read-only section needs a text relocation; \
                                recompile with -fPIC or put the data in a writable section"
                            .to_string(),
                    );
                }
                Need::DynamicAbsolute
            } else {
                Need::Nothing
            }
        }
        R_X86_64_32 | R_X86_64_32S
            if place.alloc && !place.pie && target.dynamic_data && !place.shared =>
        {
            Need::Copy
        }
        // A position-dependent executable's constant address of an imported function: its
        // PLT entry stands for it everywhere.
        R_X86_64_32 | R_X86_64_32S
            if place.alloc && !place.pie && target.dynamic && !place.shared =>
        {
            Need::CanonicalPlt
        }
        R_X86_64_32 | R_X86_64_32S => {
            if place.alloc && (place.pie || target.dynamic) && !target.is_absolute() {
                return Err(
                    "32-bit absolute address cannot be used in a PIE; recompile with -fPIC, \
                            or link with -buildmode=exe"
                        .to_string(),
                );
            }
            Need::Nothing
        }
        R_X86_64_PC32 | R_X86_64_PLT32 | R_X86_64_PC64 => {
            if target.dynamic {
                if target.dynamic_data && t != R_X86_64_PLT32 {
                    if place.shared {
                        return Err("PC-relative reference to imported data in a shared library; recompile with -fPIC"
                            .to_string());
                    }
                    return Ok(Need::Copy);
                }
                Need::Plt
            } else {
                Need::Nothing
            }
        }
        R_X86_64_GOTPCREL
        | R_X86_64_GOTPCRELX
        | R_X86_64_REX_GOTPCRELX
        | R_X86_64_GOTPCREL64
        | R_X86_64_GOT64 => Need::Got,
        R_X86_64_GOTPC32 | R_X86_64_GOTPC64 | R_X86_64_GOTOFF64 => Need::Nothing,
        // The large code model's calls: `movabs $f@pltoff, %reg; add %got, %reg; call *%reg`.
        R_X86_64_PLTOFF64 => {
            if target.dynamic {
                Need::Plt
            } else {
                Need::Nothing
            }
        }
        // A shared library keeps TLS dynamic: it may be dlopen'ed, so no offset from the
        // thread pointer is known, and local-exec is impossible.
        R_X86_64_TLSGD if place.shared => Need::TlsGd,
        R_X86_64_TLSLD if place.shared => Need::TlsLd,
        R_X86_64_TPOFF32 | R_X86_64_TPOFF64 if place.shared => {
            return Err(
                "local-exec TLS cannot be used in a shared library; recompile with -fPIC"
                    .to_string(),
            );
        }
        R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 if place.shared => Need::Nothing,
        R_X86_64_GOTTPOFF if place.shared => Need::GotTpOff,
        // TLS descriptors (`-mtls-dialect=gnu2`): a shared library keeps the descriptor; an
        // executable relaxes the sequence to initial-exec (imported) or local-exec (its own).
        R_X86_64_GOTPC32_TLSDESC if place.shared => Need::TlsDesc,
        R_X86_64_GOTPC32_TLSDESC => {
            if target.dynamic {
                Need::GotTpOff
            } else {
                Need::Nothing
            }
        }
        R_X86_64_TLSDESC_CALL => Need::Nothing,
        R_X86_64_TLSGD => {
            if target.dynamic {
                Need::GotTpOff
            } else {
                Need::Nothing
            }
        }
        R_X86_64_TLSLD | R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 | R_X86_64_TPOFF32
        | R_X86_64_TPOFF64 => {
            if target.dynamic {
                return Err(
                    "local-exec or local-dynamic TLS access to an imported variable".to_string(),
                );
            }
            Need::Nothing
        }
        R_X86_64_GOTTPOFF => {
            if target.dynamic {
                Need::GotTpOff
            } else {
                Need::Nothing
            }
        }
        R_X86_64_SIZE32 | R_X86_64_SIZE64 => Need::Nothing,
        _ => return Err("this relocation type is not supported".to_string()),
    })
}

/// The relocation table: what value each type computes and where it goes. The TLS sequences
/// of executables and the GOT loads of local symbols are rewritten by [`relax`] instead.
fn reloc_info(r_type: u32, shared: bool) -> Option<RelocInfo> {
    use elf::*;
    use Field::{Le32, Le64};
    use RelocKind::*;
    const S32: Overflow = Overflow::Signed(32);
    const U32: Overflow = Overflow::Unsigned(32);
    const ANY: Overflow = Overflow::None;
    let row = RelocInfo::new;
    Some(match RelocationType(r_type) {
        R_X86_64_NONE => RelocInfo::NONE,
        R_X86_64_64 => row(Absolute, Le64, ANY),
        R_X86_64_32 => row(Absolute, Le32, U32),
        R_X86_64_32S => row(Absolute, Le32, S32),
        R_X86_64_PC32 | R_X86_64_PLT32 => row(PcRelative, Le32, S32),
        R_X86_64_PC64 => row(PcRelative, Le64, ANY),
        R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
            row(GotPcRelative, Le32, S32)
        }
        R_X86_64_GOTPCREL64 => row(GotPcRelative, Le64, ANY),
        R_X86_64_GOT64 => row(GotOffset, Le64, ANY),
        R_X86_64_GOTPC32 => row(GotBasePcRelative, Le32, S32),
        R_X86_64_GOTPC64 => row(GotBasePcRelative, Le64, ANY),
        R_X86_64_GOTOFF64 => row(SymbolGotOffset, Le64, ANY),
        // The symbol's value is its PLT entry when it has one.
        R_X86_64_PLTOFF64 => row(SymbolGotOffset, Le64, ANY),
        R_X86_64_SIZE32 => row(Size, Le32, U32),
        R_X86_64_SIZE64 => row(Size, Le64, ANY),
        R_X86_64_TPOFF32 => row(TpOff, Le32, S32),
        R_X86_64_TPOFF64 => row(TpOff, Le64, ANY),
        // In a shared library the TLS sequences call __tls_get_addr through a GOT pair.
        R_X86_64_TLSGD | R_X86_64_TLSLD if shared => row(GotPcRelative, Le32, S32),
        R_X86_64_DTPOFF32 => row(DtpOff, Le32, S32),
        R_X86_64_DTPOFF64 => row(DtpOff, Le64, ANY),
        R_X86_64_GOTTPOFF => row(GotPcRelative, Le32, S32),
        R_X86_64_GOTPC32_TLSDESC if shared => row(GotPcRelative, Le32, S32),
        // The descriptor's call stays as the compiler wrote it.
        R_X86_64_TLSDESC_CALL if shared => RelocInfo::NONE,
        _ => return None,
    })
}

/// The rewrites no table can express: GOT loads of symbols defined here become direct
/// references, and in executables the TLS sequences become local-exec (or initial-exec).
fn relax(r_type: u32, buf: &mut [u8], at: usize, v: &Values) -> Option<Result<Applied, Refusal>> {
    use elf::*;
    let t = RelocationType(r_type);
    let done = |r: Result<(), Refusal>| Some(r.map(|()| Applied::Done));
    match t {
        R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX if v.local => {
            done(relax_got_load(buf, at, t == R_X86_64_REX_GOTPCRELX, v))
        }
        // Defined here (or an undefined weak variable, which scan gave no slot): local-exec.
        R_X86_64_GOTTPOFF if !v.shared && (v.local || v.got_slot.is_none()) => {
            done(relax_ie_to_le(buf, at, v))
        }
        R_X86_64_GOTPC32_TLSDESC if !v.shared => {
            done(relax_tlsdesc(buf, at, v, v.local || v.got_slot.is_none()))
        }
        // `call *x@tlscall(%rax)` → `xchg %ax, %ax`: %rax already holds the offset.
        R_X86_64_TLSDESC_CALL if !v.shared => done(match buf.get_mut(at..at + 2) {
            Some(call @ [0xff, 0x10]) => {
                call.copy_from_slice(&[0x66, 0x90]);
                Ok(())
            }
            _ => Err("TLSDESC_CALL not at a `call *(%rax)`".to_string()),
        }),
        R_X86_64_TLSGD if !v.shared => Some(relax_gd(buf, at, v).map(|()| Applied::SkipNext)),
        R_X86_64_TLSLD if !v.shared => Some(relax_ld_to_le(buf, at).map(|()| Applied::SkipNext)),
        _ => None,
    }
}

impl Arch for X86_64 {
    const CPU: Cpu = Cpu::X86_64;
    // Every relaxation rewrites an instruction.
    const RELAXES_UNLOADED: bool = false;

    fn type_name(r_type: u32) -> String {
        type_name(r_type)
    }

    fn reloc_info(r_type: u32, shared: bool) -> Option<RelocInfo> {
        reloc_info(r_type, shared)
    }

    fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
        scan(r_type, target, place)
    }

    fn relax(
        r_type: u32,
        buf: &mut [u8],
        at: usize,
        v: &Values,
    ) -> Option<Result<Applied, Refusal>> {
        relax(r_type, buf, at, v)
    }

    fn may_relax(r_type: u32) -> bool {
        use elf::*;
        matches!(
            RelocationType(r_type),
            R_X86_64_GOTPCRELX
                | R_X86_64_REX_GOTPCRELX
                | R_X86_64_GOTTPOFF
                | R_X86_64_GOTPC32_TLSDESC
                | R_X86_64_TLSDESC_CALL
                | R_X86_64_TLSGD
                | R_X86_64_TLSLD
        )
    }

    fn got_use(r_type: u32, shared: bool) -> Option<GotUse> {
        use elf::*;
        Some(match RelocationType(r_type) {
            R_X86_64_TLSGD if shared => GotUse::TlsGd,
            R_X86_64_TLSLD if shared => GotUse::TlsLd,
            R_X86_64_GOTPC32_TLSDESC if shared => GotUse::TlsDesc,
            R_X86_64_GOTTPOFF | R_X86_64_TLSGD | R_X86_64_GOTPC32_TLSDESC => GotUse::TpOff,
            R_X86_64_GOTPCREL
            | R_X86_64_GOTPCRELX
            | R_X86_64_REX_GOTPCRELX
            | R_X86_64_GOTPCREL64
            | R_X86_64_GOT64 => GotUse::Address,
            _ => return None,
        })
    }

    fn merged_string_bias(r_type: u32) -> i64 {
        use elf::*;
        match RelocationType(r_type) {
            R_X86_64_PC32
            | R_X86_64_PLT32
            | R_X86_64_GOTPCREL
            | R_X86_64_GOTPCRELX
            | R_X86_64_REX_GOTPCRELX => -4,
            _ => 0,
        }
    }
}

impl ElfArch for X86_64 {
    const MACHINE: elf::Machine = elf::EM_X86_64;
    const EH_FRAME_TYPE: elf::SectionType = elf::SHT_X86_64_UNWIND;
    const TLS_TCB_SIZE: Option<u64> = None;

    fn dynamic_type(kind: DynKind) -> u32 {
        use elf::*;
        match kind {
            DynKind::Relative => R_X86_64_RELATIVE,
            DynKind::Absolute => R_X86_64_64,
            DynKind::GlobDat => R_X86_64_GLOB_DAT,
            DynKind::TpOff => R_X86_64_TPOFF64,
            DynKind::DtpMod => R_X86_64_DTPMOD64,
            DynKind::DtpOff => R_X86_64_DTPOFF64,
            DynKind::IRelative => R_X86_64_IRELATIVE,
            DynKind::Copy => R_X86_64_COPY,
            DynKind::TlsDesc => R_X86_64_TLSDESC,
            DynKind::JumpSlot => R_X86_64_JUMP_SLOT,
        }
        .0
    }

    /// A PLT entry: `jmp *slot(%rip)` padded to 8 bytes. With bind-now every slot is filled by
    /// the dynamic loader before the program runs, so no lazy-binding header is needed.
    /// With IBT (`endbr64` landing pads), an entry is `endbr64; jmp *slot(%rip)`, padded to
    /// 16 bytes.
    fn plt_sizes(features: u32) -> (u64, u64) {
        if features & FEATURE_IBT != 0 {
            (0, 16)
        } else {
            (0, 8)
        }
    }

    const FEATURE_1_AND: Option<u32> = Some(elf::GNU_PROPERTY_X86_FEATURE_1_AND.0);
    const FEATURE_LANDING_PADS: u32 = FEATURE_IBT;

    /// The x86 property ranges of the psABI: AND (CET features), OR (ISA needed, features
    /// needed) and OR-if-all-have-it (ISA used, features used).
    fn property_merge(pr_type: u32) -> crate::PropertyMerge {
        use crate::PropertyMerge::*;
        match pr_type {
            0xc000_0002..=0xc000_7fff => And,
            0xc000_8000..=0xc000_ffff => Or,
            0xc001_0000..=0xc001_7fff => OrAnd,
            _ => Drop,
        }
    }

    fn forced_properties(options: &rlink_linker::plan::ElfOptions) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let features = (options.ibt as u32 * FEATURE_IBT) | (options.shstk as u32 * FEATURE_SHSTK);
        if features != 0 {
            out.push((elf::GNU_PROPERTY_X86_FEATURE_1_AND.0, features));
        }
        if options.isa_level > 0 {
            // Bit 0 is the baseline, bit 1 x86-64-v2, and so on.
            out.push((
                elf::GNU_PROPERTY_X86_ISA_1_NEEDED.0,
                1 << (options.isa_level - 1),
            ));
        }
        out
    }

    fn write_plt_entry(
        out: &mut [u8],
        entry_addr: u64,
        slot_addr: u64,
        features: u32,
    ) -> Result<(), Refusal> {
        if features & FEATURE_IBT != 0 {
            let entry = out
                .get_mut(..16)
                .ok_or("PLT entry outside .plt (linker bug)")?;
            let disp = signed32(
                (slot_addr as i64).wrapping_sub(entry_addr as i64 + 10),
                "PLT",
            )?;
            entry[..4].copy_from_slice(&[0xf3, 0x0f, 0x1e, 0xfa]);
            entry[4..6].copy_from_slice(&[0xff, 0x25]);
            entry[6..10].copy_from_slice(&disp.to_le_bytes());
            entry[10..16].copy_from_slice(&[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00]);
            return Ok(());
        }
        let disp = signed32(
            (slot_addr as i64).wrapping_sub(entry_addr as i64 + 6),
            "PLT",
        )?;
        let entry = out
            .get_mut(..8)
            .ok_or("PLT entry outside .plt (linker bug)")?;
        entry[..2].copy_from_slice(&[0xff, 0x25]);
        entry[2..6].copy_from_slice(&disp.to_le_bytes());
        entry[6..8].copy_from_slice(&[0x66, 0x90]);
        Ok(())
    }
}

/// GOTPCRELX relaxation (psABI B.2): a GOT load of a symbol defined in the output becomes a
/// direct reference: `mov foo@GOTPCREL(%rip), %reg` → `lea foo(%rip), %reg`;
/// `call/jmp *foo@GOTPCREL(%rip)` → `addr32 call foo` / `jmp foo; nop`. Other instructions keep
/// the GOT slot.
fn relax_got_load(buf: &mut [u8], at: usize, rex: bool, v: &Values) -> Result<(), Refusal> {
    let Ok(direct) = signed32(pcrel(v.s, v), "relaxed GOTPCRELX") else {
        // The symbol is out of a direct reference's reach (over 2 GiB away): the load goes
        // through its GOT slot as written.
        let slot = v
            .got_slot
            .ok_or("GOTPCRELX target out of reach and no GOT slot (linker bug)")?;
        return write32(buf, at, signed32(pcrel(slot, v), "GOTPCRELX")?);
    };
    let op = at.checked_sub(2).and_then(|i| buf.get(i).copied());
    let modrm = at.checked_sub(1).and_then(|i| buf.get(i).copied());
    match (op, modrm) {
        (Some(0x8b), _) => {
            // mov → lea: same ModRM, same operands.
            buf[at - 2] = 0x8d;
            write32(buf, at, direct)
        }
        (Some(0xff), Some(0x15)) if !rex => {
            // call *disp(%rip) → addr32 call rel32: same length, same end.
            buf[at - 2] = 0x67;
            buf[at - 1] = 0xe8;
            write32(buf, at, direct)
        }
        (Some(0xff), Some(0x25)) if !rex => {
            // jmp *disp(%rip) → jmp rel32; nop: the jmp ends one byte earlier.
            buf[at - 2] = 0xe9;
            write32(buf, at - 1, signed32(pcrel(v.s, v) + 1, "relaxed jmp")?)?;
            match buf.get_mut(at + 3) {
                Some(b) => *b = 0x90,
                None => return Err("relocation place outside its section".to_string()),
            }
            Ok(())
        }
        _ => {
            // Not a relaxable instruction: use a slot after all.
            let slot = v
                .got_slot
                .ok_or("GOT slot missing for a non-relaxable GOTPCRELX (linker bug)")?;
            write32(buf, at, signed32(pcrel(slot, v), "GOTPCRELX")?)
        }
    }
}

/// Initial-exec → local-exec: `mov foo@GOTTPOFF(%rip), %reg` → `mov $tpoff, %reg`;
/// `add foo@GOTTPOFF(%rip), %reg` → `add $tpoff, %reg` (the psABI's listed forms).
fn relax_ie_to_le(buf: &mut [u8], at: usize, v: &Values) -> Result<(), Refusal> {
    let Some(&[rex, op, modrm]) = at.checked_sub(3).and_then(|start| buf.get(start..at)) else {
        return Err("GOTTPOFF relocation too close to the section start".to_string());
    };
    let reg = (modrm >> 3) & 7;
    let value = signed32(v.tpoff.wrapping_add(v.a).wrapping_add(4), "TPOFF")?;
    // The register moves from ModRM.reg to ModRM.rm, so REX.R becomes REX.B.
    let new_rex = match rex {
        0x48 => 0x48,
        0x4c => 0x49,
        _ => {
            return Err(format!(
                "unexpected instruction prefix {rex:#x} before GOTTPOFF"
            ))
        }
    };
    match op {
        0x8b => {
            buf[at - 3] = new_rex;
            buf[at - 2] = 0xc7;
            buf[at - 1] = 0xc0 | reg;
        }
        0x03 => {
            buf[at - 3] = new_rex;
            buf[at - 2] = 0x81;
            buf[at - 1] = 0xc0 | reg;
        }
        _ => return Err(format!("unexpected instruction {op:#x} with GOTTPOFF")),
    }
    write32(buf, at, value)
}

/// TLS descriptor → local-exec or initial-exec: `lea x@tlsdesc(%rip), %reg` becomes
/// `mov $tpoff, %reg` (its own variable) or `mov x@gottpoff(%rip), %reg` (an imported one);
/// the descriptor call, made through %rax, is replaced by a two-byte nop, and %rax is given the
/// offset from the thread pointer by the compiler's own `mov %reg, %rax` before it.
fn relax_tlsdesc(buf: &mut [u8], at: usize, v: &Values, local: bool) -> Result<(), Refusal> {
    let Some(&[rex, 0x8d, modrm]) = at.checked_sub(3).and_then(|start| buf.get(start..at)) else {
        return Err("GOTPC32_TLSDESC not at a `lea x@tlsdesc(%rip), %reg`".to_string());
    };
    if modrm & 0xc7 != 0x05 || (rex != 0x48 && rex != 0x4c) {
        return Err("GOTPC32_TLSDESC not at a `lea x@tlsdesc(%rip), %reg`".to_string());
    }
    let reg = (modrm >> 3) & 7;
    if local {
        // The register moves from ModRM.reg to ModRM.rm, so REX.R becomes REX.B.
        buf[at - 3] = if rex == 0x4c { 0x49 } else { 0x48 };
        buf[at - 2] = 0xc7;
        buf[at - 1] = 0xc0 | reg;
        write32(
            buf,
            at,
            signed32(v.tpoff.wrapping_add(v.a).wrapping_add(4), "TPOFF")?,
        )
    } else {
        let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
        buf[at - 2] = 0x8b;
        write32(buf, at, signed32(pcrel(slot, v), "GOTTPOFF")?)
    }
}

/// General-dynamic → local-exec (or initial-exec for imported variables). The psABI's GD
/// sequence is `data16 lea x@tlsgd(%rip), %rdi; data16 data16 rex64 call __tls_get_addr@PLT`
/// (16 bytes from `at - 4`); with `-fno-plt` the call is `data16 rex64 call
/// *__tls_get_addr@GOTPCREL(%rip)`, as long; in the large code model it is `lea x@tlsgd(%rip),
/// %rdi; movabs $__tls_get_addr@pltoff, %rax; add %got, %rax; call *%rax` (22 bytes from
/// `at - 3`). Each becomes `mov %fs:0, %rax; lea x@tpoff(%rax), %rax` or `mov %fs:0, %rax;
/// add x@gottpoff(%rip), %rax`, padded with a nop to the sequence's length.
fn relax_gd(buf: &mut [u8], at: usize, v: &Values) -> Result<(), Refusal> {
    const GD: [u8; 4] = [0x66, 0x48, 0x8d, 0x3d];
    let (start, len) = if at >= 4 && buf.get(at - 4..at) == Some(&GD[..]) {
        match buf.get(at + 4..at + 8) {
            Some([0x66, 0x66, 0x48, 0xe8]) | Some([0x66, 0x48, 0xff, 0x15]) => (at - 4, 16),
            _ => return Err(not_standard("TLSGD")),
        }
    } else if at >= 3
        && buf.get(at - 3..at) == Some(&[0x48, 0x8d, 0x3d][..])
        && large_call(buf, at + 4)
    {
        (at - 3, 22)
    } else {
        return Err(not_standard("TLSGD"));
    };
    let seq_end = start + len;
    if v.local || v.got_slot.is_none() {
        let tpoff = signed32(v.tpoff.wrapping_add(v.a).wrapping_add(4), "TPOFF")?;
        buf[start..start + 12]
            .copy_from_slice(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x8d, 0x80]);
        write32(buf, start + 12, tpoff)?;
    } else {
        let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
        buf[start..start + 12]
            .copy_from_slice(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x03, 0x05]);
        // RIP is the instruction after the `add`, 16 bytes into the sequence.
        let next = (v.p as i64) - (at as i64 - start as i64) + 16;
        write32(
            buf,
            start + 12,
            signed32((slot as i64).wrapping_sub(next), "GOTTPOFF")?,
        )?;
    }
    nop_fill(&mut buf[start + 16..seq_end]);
    Ok(())
}

/// `movabs $__tls_get_addr@pltoff, %rax; add %reg, %rax; call *%rax` at `from`: the large
/// code model's call of `__tls_get_addr`.
fn large_call(buf: &[u8], from: usize) -> bool {
    match buf.get(from..from + 15) {
        Some(seq) => {
            seq[..2] == [0x48, 0xb8]
                && (seq[10] == 0x48 || seq[10] == 0x4c)
                && seq[11] == 0x01
                && seq[12] & 0xc7 == 0xc0
                && seq[13..15] == [0xff, 0xd0]
        }
        None => false,
    }
}

fn not_standard(what: &str) -> Refusal {
    format!("{what} relocation not in a `lea; call __tls_get_addr` sequence rlink knows (standard, -fno-plt or large code model)")
}

/// Fills `dst` with nops: the longest multi-byte ones first.
fn nop_fill(dst: &mut [u8]) {
    const NOPS: [&[u8]; 10] = [
        &[],
        &[0x90],
        &[0x66, 0x90],
        &[0x0f, 0x1f, 0x00],
        &[0x0f, 0x1f, 0x40, 0x00],
        &[0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
        &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    let mut rest = dst;
    while !rest.is_empty() {
        let n = rest.len().min(NOPS.len() - 1);
        let (head, tail) = rest.split_at_mut(n);
        head.copy_from_slice(NOPS[n]);
        rest = tail;
    }
}

/// Local-dynamic → local-exec: `lea x@tlsld(%rip), %rdi; call __tls_get_addr@PLT` (12 bytes
/// from `at - 3`; 13 with `-fno-plt`'s `call *…@GOTPCREL(%rip)`, 22 with the large code
/// model's `movabs; add; call *%rax`) becomes `data16 data16 data16 mov %fs:0, %rax` and
/// nops; the DTPOFF relocations that follow then hold TP offsets.
fn relax_ld_to_le(buf: &mut [u8], at: usize) -> Result<(), Refusal> {
    let start = at
        .checked_sub(3)
        .ok_or("TLSLD relocation too close to the section start")?;
    if buf.get(start..at) != Some(&[0x48, 0x8d, 0x3d][..]) {
        return Err(not_standard("TLSLD"));
    }
    let len = match buf.get(at + 4..at + 6) {
        Some([0xe8, _]) => 12,
        Some([0xff, 0x15]) => 13,
        _ if large_call(buf, at + 4) => 22,
        _ => return Err(not_standard("TLSLD")),
    };
    let seq = buf
        .get_mut(start..start + len)
        .ok_or("TLSLD sequence runs past the section end")?;
    seq[..12].copy_from_slice(&[0x66, 0x66, 0x66, 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]);
    nop_fill(&mut seq[12..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(r_type: u32, buf: &mut [u8], at: usize, v: &Values) -> Result<Applied, Refusal> {
        rlink_linker::reloc::apply::<X86_64>(r_type, buf, at, v)
    }

    fn values(p: u64, s: u64, a: i64) -> Values {
        Values {
            p,
            s,
            a,
            size: 0,
            got_slot: Some(0x3000),
            got_base: 0x3000,
            image_base: 0,
            tpoff: -16,
            local: true,
            shared: false,
            dtpoff: 0,
        }
    }

    #[test]
    fn pc32_overflow_is_reported() {
        let mut buf = [0u8; 8];
        let v = values(0, 0x1_0000_0000, 0);
        let e = apply(elf::R_X86_64_PC32.0, &mut buf, 0, &v).unwrap_err();
        assert!(e.contains("overflow"), "{e}");
        let v = values(0x1000, 0x2000, -4);
        apply(elf::R_X86_64_PC32.0, &mut buf, 0, &v).unwrap();
        assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), 0xffc);
    }

    #[test]
    fn mov_from_got_relaxes_to_lea() {
        // mov 0(%rip), %rax
        let mut buf = [0x48, 0x8b, 0x05, 0, 0, 0, 0];
        let v = values(0x1003, 0x2000, -4);
        apply(elf::R_X86_64_REX_GOTPCRELX.0, &mut buf, 3, &v).unwrap();
        assert_eq!(buf[..3], [0x48, 0x8d, 0x05]);
        assert_eq!(
            i32::from_le_bytes(buf[3..].try_into().unwrap()),
            0x2000 - 4 - 0x1003
        );
    }

    #[test]
    fn tls_ld_sequence_becomes_fs_load() {
        let mut buf = [0x48, 0x8d, 0x3d, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0];
        assert_eq!(
            apply(elf::R_X86_64_TLSLD.0, &mut buf, 3, &values(0, 0, -4)).unwrap(),
            Applied::SkipNext
        );
        assert_eq!(
            buf,
            [0x66, 0x66, 0x66, 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]
        );
    }

    #[test]
    fn tls_gd_sequence_becomes_local_exec() {
        let mut buf = [
            0x66, 0x48, 0x8d, 0x3d, 0, 0, 0, 0, 0x66, 0x66, 0x48, 0xe8, 0, 0, 0, 0,
        ];
        apply(elf::R_X86_64_TLSGD.0, &mut buf, 4, &values(0, 0, -4)).unwrap();
        assert_eq!(
            buf[..12],
            [0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x8d, 0x80]
        );
        assert_eq!(i32::from_le_bytes(buf[12..].try_into().unwrap()), -16);
    }

    #[test]
    fn unknown_types_are_named_errors() {
        let info = TargetInfo {
            dynamic: false,
            dynamic_data: false,
            tls: false,
            undefined_weak: false,
            absolute: false,
            ifunc: false,
        };
        let place = PlaceInfo {
            alloc: true,
            writable: false,
            pie: true,
            shared: false,
            text_relocations: false,
        };
        let e = scan(elf::R_X86_64_COPY.0, info, place).unwrap_err();
        assert!(e.contains("not supported"), "{e}");
        let e = scan(elf::R_X86_64_32.0, info, place).unwrap_err();
        assert!(e.contains("PIE"), "{e}");
        let shared = PlaceInfo {
            shared: true,
            ..place
        };
        assert_eq!(scan(elf::R_X86_64_TLSGD.0, info, shared), Ok(Need::TlsGd));
        assert_eq!(scan(elf::R_X86_64_TLSLD.0, info, shared), Ok(Need::TlsLd));
        assert!(scan(elf::R_X86_64_TPOFF32.0, info, shared)
            .unwrap_err()
            .contains("shared library"));
    }
}
