//! AArch64 for ELF: the relocation table ("ELF for the Arm 64-bit Architecture (AArch64)",
//! §5.7), what each type needs from the linker, the relaxations (GOT loads of local symbols
//! to direct addresses, TLS descriptor and initial-exec sequences to local-exec or
//! initial-exec in executables), PLT entries and the dynamic relocation types. To learn how
//! rlink links AArch64 ELF, read this file.

use object::elf;
use rlink_linker::reloc::{
    Applied, Arch, DynKind, Field, GotUse, Need, Overflow, PlaceInfo, Refusal, RelocInfo,
    RelocKind, TargetInfo, Values,
};
use rlink_linker::target::Cpu;

use crate::ElfArch;

/// The AArch64 CPU, as ELF numbers its relocations.
pub struct Aarch64;

pub fn type_name(r_type: u32) -> String {
    match elf::machine_names(elf::EM_AARCH64)
        .r
        .name(elf::RelocationType(r_type))
    {
        Some(n) => n.to_string(),
        None => format!("unknown relocation type {r_type}"),
    }
}

/// The instruction words the relaxations write.
const NOP: u32 = 0xd503_201f;
/// `bti c`: a landing pad for indirect calls.
const BTI_C: u32 = 0xd503_245f;
/// GNU_PROPERTY_AARCH64_FEATURE_1_AND's BTI bit.
const FEATURE_BTI: u32 = elf::GNU_PROPERTY_AARCH64_FEATURE_1_BTI;
/// `movz xN, #imm16, lsl #16`.
const MOVZ_X_LSL16: u32 = 0xd2a0_0000;
/// `movk xN, #imm16`.
const MOVK_X: u32 = 0xf280_0000;

fn read_insn(buf: &[u8], at: usize) -> Result<u32, Refusal> {
    let b = at
        .checked_add(4)
        .and_then(|end| buf.get(at..end))
        .ok_or("relocation place outside its section")?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn write_insn(buf: &mut [u8], at: usize, insn: u32) -> Result<(), Refusal> {
    rlink_linker::reloc::write32(buf, at, insn)
}

/// The relocation table. The TLS sequences of executables and the GOT loads of local symbols
/// are rewritten by [`relax`] instead.
fn reloc_info(r_type: u32, shared: bool) -> Option<RelocInfo> {
    use elf::*;
    use Field::{A64Adr, A64Branch26, A64Imm12, A64Imm14, A64Imm19, A64MovW, Le16, Le32, Le64};
    use RelocKind::*;
    let row = RelocInfo::new;
    let s = Overflow::Signed;
    let u = Overflow::Unsigned;
    let any = Overflow::None;
    let imm12 = |scale| A64Imm12 { shift: 0, scale };
    let movw = |shift, signed| A64MovW { shift, signed };
    Some(match RelocationType(r_type) {
        R_AARCH64_NONE => RelocInfo::NONE,
        R_AARCH64_ABS64 => row(Absolute, Le64, any),
        // ABS32/ABS16 hold a signed or an unsigned value (the psABI checks both ranges).
        R_AARCH64_ABS32 => row(Absolute, Le32, s(33)),
        R_AARCH64_ABS16 => row(Absolute, Le16, s(17)),
        R_AARCH64_PREL64 => row(PcRelative, Le64, any),
        R_AARCH64_PREL32 => row(PcRelative, Le32, s(33)),
        R_AARCH64_PREL16 => row(PcRelative, Le16, s(17)),
        R_AARCH64_PLT32 => row(PcRelative, Le32, s(32)),
        R_AARCH64_MOVW_UABS_G0 => row(Absolute, movw(0, false), u(16)),
        R_AARCH64_MOVW_UABS_G0_NC => row(Absolute, movw(0, false), any),
        R_AARCH64_MOVW_UABS_G1 => row(Absolute, movw(16, false), u(32)),
        R_AARCH64_MOVW_UABS_G1_NC => row(Absolute, movw(16, false), any),
        R_AARCH64_MOVW_UABS_G2 => row(Absolute, movw(32, false), u(48)),
        R_AARCH64_MOVW_UABS_G2_NC => row(Absolute, movw(32, false), any),
        R_AARCH64_MOVW_UABS_G3 => row(Absolute, movw(48, false), any),
        R_AARCH64_MOVW_SABS_G0 => row(Absolute, movw(0, true), s(17)),
        R_AARCH64_MOVW_SABS_G1 => row(Absolute, movw(16, true), s(33)),
        R_AARCH64_MOVW_SABS_G2 => row(Absolute, movw(32, true), s(49)),
        R_AARCH64_MOVW_PREL_G0 => row(PcRelative, movw(0, true), s(17)),
        R_AARCH64_MOVW_PREL_G0_NC => row(PcRelative, movw(0, false), any),
        R_AARCH64_MOVW_PREL_G1 => row(PcRelative, movw(16, true), s(33)),
        R_AARCH64_MOVW_PREL_G1_NC => row(PcRelative, movw(16, false), any),
        R_AARCH64_MOVW_PREL_G2 => row(PcRelative, movw(32, true), s(49)),
        R_AARCH64_MOVW_PREL_G2_NC => row(PcRelative, movw(32, false), any),
        R_AARCH64_MOVW_PREL_G3 => row(PcRelative, movw(48, false), any),
        R_AARCH64_LD_PREL_LO19 => row(PcRelative, A64Imm19, s(21)),
        R_AARCH64_ADR_PREL_LO21 => row(PcRelative, A64Adr { shift: 0 }, s(21)),
        R_AARCH64_ADR_PREL_PG_HI21 => row(PageRelative, A64Adr { shift: 12 }, s(33)),
        R_AARCH64_ADR_PREL_PG_HI21_NC => row(PageRelative, A64Adr { shift: 12 }, any),
        R_AARCH64_ADD_ABS_LO12_NC => row(Absolute, imm12(0), any),
        R_AARCH64_LDST8_ABS_LO12_NC => row(Absolute, imm12(0), any),
        R_AARCH64_LDST16_ABS_LO12_NC => row(Absolute, imm12(1), any),
        R_AARCH64_LDST32_ABS_LO12_NC => row(Absolute, imm12(2), any),
        R_AARCH64_LDST64_ABS_LO12_NC => row(Absolute, imm12(3), any),
        R_AARCH64_LDST128_ABS_LO12_NC => row(Absolute, imm12(4), any),
        R_AARCH64_TSTBR14 => row(PcRelative, A64Imm14, s(16)),
        R_AARCH64_CONDBR19 => row(PcRelative, A64Imm19, s(21)),
        R_AARCH64_JUMP26 | R_AARCH64_CALL26 => row(PcRelative, A64Branch26, s(28)),
        R_AARCH64_GOTREL64 => row(SymbolGotOffset, Le64, any),
        R_AARCH64_GOTREL32 => row(SymbolGotOffset, Le32, s(32)),
        R_AARCH64_GOT_LD_PREL19 => row(GotPcRelative, A64Imm19, s(21)),
        R_AARCH64_ADR_GOT_PAGE => row(GotPageRelative, A64Adr { shift: 12 }, s(33)),
        R_AARCH64_LD64_GOT_LO12_NC => row(GotAddress, imm12(3), any),
        R_AARCH64_LD64_GOTPAGE_LO15 => {
            row(GotOffsetFromGotPage, A64Imm12 { shift: 0, scale: 3 }, u(15))
        }
        R_AARCH64_GOTPCREL32 => row(GotPcRelative, Le32, s(32)),
        // Initial-exec through a GOT slot holding the TP offset (kept in shared libraries and
        // for imported variables; relaxed for the executable's own).
        R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 => row(GotPageRelative, A64Adr { shift: 12 }, s(33)),
        R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC => row(GotAddress, imm12(3), any),
        R_AARCH64_TLSIE_LD_GOTTPREL_PREL19 => row(GotPcRelative, A64Imm19, s(21)),
        // Local-exec: offsets from the thread pointer.
        R_AARCH64_TLSLE_MOVW_TPREL_G2 => row(TpOff, movw(32, true), s(49)),
        R_AARCH64_TLSLE_MOVW_TPREL_G1 => row(TpOff, movw(16, true), s(33)),
        R_AARCH64_TLSLE_MOVW_TPREL_G1_NC => row(TpOff, movw(16, false), any),
        R_AARCH64_TLSLE_MOVW_TPREL_G0 => row(TpOff, movw(0, true), s(17)),
        R_AARCH64_TLSLE_MOVW_TPREL_G0_NC => row(TpOff, movw(0, false), any),
        R_AARCH64_TLSLE_ADD_TPREL_HI12 => row(
            TpOff,
            A64Imm12 {
                shift: 12,
                scale: 0,
            },
            u(24),
        ),
        R_AARCH64_TLSLE_ADD_TPREL_LO12 => row(TpOff, imm12(0), u(12)),
        R_AARCH64_TLSLE_ADD_TPREL_LO12_NC => row(TpOff, imm12(0), any),
        R_AARCH64_TLSLE_LDST8_TPREL_LO12 => row(TpOff, imm12(0), u(12)),
        R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC => row(TpOff, imm12(0), any),
        R_AARCH64_TLSLE_LDST16_TPREL_LO12 => row(TpOff, imm12(1), u(12)),
        R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC => row(TpOff, imm12(1), any),
        R_AARCH64_TLSLE_LDST32_TPREL_LO12 => row(TpOff, imm12(2), u(12)),
        R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC => row(TpOff, imm12(2), any),
        R_AARCH64_TLSLE_LDST64_TPREL_LO12 => row(TpOff, imm12(3), u(12)),
        R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC => row(TpOff, imm12(3), any),
        R_AARCH64_TLSLE_LDST128_TPREL_LO12 => row(TpOff, imm12(4), u(12)),
        R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC => row(TpOff, imm12(4), any),
        // TLS descriptors, kept in a shared library: the sequence loads the descriptor's
        // resolver from its pair of GOT slots and calls it.
        R_AARCH64_TLSDESC_ADR_PAGE21 if shared => row(GotPageRelative, A64Adr { shift: 12 }, s(33)),
        R_AARCH64_TLSDESC_LD64_LO12 if shared => row(GotAddress, imm12(3), any),
        R_AARCH64_TLSDESC_ADD_LO12 if shared => row(GotAddress, imm12(0), any),
        R_AARCH64_TLSDESC_CALL if shared => RelocInfo::NONE,
        _ => return None,
    })
}

/// Decides what a relocation needs.
fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
    use elf::*;
    let t = RelocationType(r_type);
    if target.ifunc {
        return Ok(match t {
            R_AARCH64_CALL26 | R_AARCH64_JUMP26 => Need::Plt,
            R_AARCH64_ADR_GOT_PAGE | R_AARCH64_LD64_GOT_LO12_NC | R_AARCH64_LD64_GOTPAGE_LO15 => {
                Need::Got
            }
            // The PLT entry is the function's address everywhere else.
            R_AARCH64_ADR_PREL_PG_HI21 | R_AARCH64_ADD_ABS_LO12_NC | R_AARCH64_PREL32 => Need::Plt,
            R_AARCH64_ABS64 if !place.pie || !place.alloc => Need::Plt,
            _ => {
                return Err(format!(
                    "{} against an indirect function (IFUNC)",
                    type_name(r_type)
                ))
            }
        });
    }
    Ok(match t {
        R_AARCH64_NONE => Need::Nothing,
        R_AARCH64_ABS64 => {
            if !place.alloc {
                Need::Nothing
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
        // An address made in code from its parts: the symbol must sit at a fixed place.
        R_AARCH64_ABS32
        | R_AARCH64_ABS16
        | R_AARCH64_MOVW_UABS_G0
        | R_AARCH64_MOVW_UABS_G0_NC
        | R_AARCH64_MOVW_UABS_G1
        | R_AARCH64_MOVW_UABS_G1_NC
        | R_AARCH64_MOVW_UABS_G2
        | R_AARCH64_MOVW_UABS_G2_NC
        | R_AARCH64_MOVW_UABS_G3
        | R_AARCH64_MOVW_SABS_G0
        | R_AARCH64_MOVW_SABS_G1
        | R_AARCH64_MOVW_SABS_G2 => {
            if place.alloc && !place.pie && target.dynamic_data && !place.shared {
                Need::Copy
            } else if place.alloc && (place.pie || target.dynamic) && !target.is_absolute() {
                return Err(
                    "an absolute address written into code or a 16/32-bit word \
                            cannot be used in position-independent output (the loader cannot \
                            relocate it); recompile with -fPIC, or link a \
                            position-dependent executable (-buildmode=exe; -no-pie to a C driver)"
                        .to_string(),
                );
            } else {
                Need::Nothing
            }
        }
        R_AARCH64_PREL64
        | R_AARCH64_PREL32
        | R_AARCH64_PREL16
        | R_AARCH64_PLT32
        | R_AARCH64_MOVW_PREL_G0
        | R_AARCH64_MOVW_PREL_G0_NC
        | R_AARCH64_MOVW_PREL_G1
        | R_AARCH64_MOVW_PREL_G1_NC
        | R_AARCH64_MOVW_PREL_G2
        | R_AARCH64_MOVW_PREL_G2_NC
        | R_AARCH64_MOVW_PREL_G3
        | R_AARCH64_LD_PREL_LO19
        | R_AARCH64_ADR_PREL_LO21
        | R_AARCH64_ADR_PREL_PG_HI21
        | R_AARCH64_ADR_PREL_PG_HI21_NC
        | R_AARCH64_ADD_ABS_LO12_NC
        | R_AARCH64_LDST8_ABS_LO12_NC
        | R_AARCH64_LDST16_ABS_LO12_NC
        | R_AARCH64_LDST32_ABS_LO12_NC
        | R_AARCH64_LDST64_ABS_LO12_NC
        | R_AARCH64_LDST128_ABS_LO12_NC => {
            if target.dynamic {
                if target.dynamic_data {
                    if place.shared {
                        return Err(format!(
                            "{} against imported data in a shared library; recompile with -fPIC",
                            type_name(r_type)
                        ));
                    }
                    return Ok(Need::Copy);
                }
                // A function's address: its PLT entry stands for it.
                Need::Plt
            } else {
                Need::Nothing
            }
        }
        R_AARCH64_CALL26 | R_AARCH64_JUMP26 => {
            if target.dynamic {
                Need::Plt
            } else {
                Need::Nothing
            }
        }
        R_AARCH64_TSTBR14 | R_AARCH64_CONDBR19 => {
            if target.dynamic {
                return Err(format!(
                    "{} cannot reach an imported function (conditional branches have no PLT)",
                    type_name(r_type)
                ));
            }
            Need::Nothing
        }
        R_AARCH64_GOTREL64 | R_AARCH64_GOTREL32 => Need::Nothing,
        R_AARCH64_GOT_LD_PREL19
        | R_AARCH64_ADR_GOT_PAGE
        | R_AARCH64_LD64_GOT_LO12_NC
        | R_AARCH64_LD64_GOTPAGE_LO15
        | R_AARCH64_GOTPCREL32 => Need::Got,
        // The literal load has no one-instruction local-exec form: it keeps its GOT slot,
        // which then holds a link-time constant.
        R_AARCH64_TLSIE_LD_GOTTPREL_PREL19 => Need::GotTpOff,
        R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 | R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC => {
            if place.shared || target.dynamic {
                Need::GotTpOff
            } else {
                Need::Nothing
            }
        }
        R_AARCH64_TLSLE_MOVW_TPREL_G2
        | R_AARCH64_TLSLE_MOVW_TPREL_G1
        | R_AARCH64_TLSLE_MOVW_TPREL_G1_NC
        | R_AARCH64_TLSLE_MOVW_TPREL_G0
        | R_AARCH64_TLSLE_MOVW_TPREL_G0_NC
        | R_AARCH64_TLSLE_ADD_TPREL_HI12
        | R_AARCH64_TLSLE_ADD_TPREL_LO12
        | R_AARCH64_TLSLE_ADD_TPREL_LO12_NC
        | R_AARCH64_TLSLE_LDST8_TPREL_LO12
        | R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC
        | R_AARCH64_TLSLE_LDST16_TPREL_LO12
        | R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC
        | R_AARCH64_TLSLE_LDST32_TPREL_LO12
        | R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC
        | R_AARCH64_TLSLE_LDST64_TPREL_LO12
        | R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC
        | R_AARCH64_TLSLE_LDST128_TPREL_LO12
        | R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC => {
            if place.shared {
                return Err(
                    "local-exec TLS cannot be used in a shared library; recompile with -fPIC"
                        .to_string(),
                );
            }
            if target.dynamic {
                return Err("local-exec TLS access to an imported variable".to_string());
            }
            Need::Nothing
        }
        // A shared library keeps TLS dynamic: it may be dlopen'ed, so no offset from the
        // thread pointer is known. An executable relaxes the descriptor sequence to
        // initial-exec (imported) or local-exec (its own).
        R_AARCH64_TLSDESC_ADR_PAGE21 | R_AARCH64_TLSDESC_LD64_LO12 | R_AARCH64_TLSDESC_ADD_LO12 => {
            if place.shared {
                Need::TlsDesc
            } else if target.dynamic {
                Need::GotTpOff
            } else {
                Need::Nothing
            }
        }
        R_AARCH64_TLSDESC_CALL => Need::Nothing,
        R_AARCH64_TLSGD_ADR_PAGE21
        | R_AARCH64_TLSGD_ADD_LO12_NC
        | R_AARCH64_TLSGD_ADR_PREL21
        | R_AARCH64_TLSLD_ADR_PAGE21
        | R_AARCH64_TLSLD_ADD_LO12_NC => {
            return Err(
                "traditional general- and local-dynamic TLS are not supported; compile with \
                 TLS descriptors (-mtls-dialect=desc, the default)"
                    .to_string(),
            )
        }
        _ => return Err("this relocation type is not supported".to_string()),
    })
}

/// The rewrites no table can express. In executables the TLS sequences become local-exec
/// for the output's own variables (`movz`/`movk` of the TP offset) or initial-exec for
/// imported ones (a GOT load of the TP offset); GOT loads of symbols defined here become
/// address computations (`adrp` of the symbol's page, `add` of its low bits).
fn relax(r_type: u32, buf: &mut [u8], at: usize, v: &Values) -> Option<Result<Applied, Refusal>> {
    use elf::*;
    let t = RelocationType(r_type);
    let done = |r: Result<(), Refusal>| Some(r.map(|()| Applied::Done));
    let reg = |buf: &[u8]| read_insn(buf, at).map(|i| i & 0x1f);
    let tpoff = || -> Result<u32, Refusal> {
        let off = v.tpoff.wrapping_add(v.a);
        u32::try_from(off).map_err(|_| format!("TP offset {off:#x} does not fit in 32 bits"))
    };
    let le = |buf: &mut [u8], high: bool| -> Result<(), Refusal> {
        let rd = reg(buf)?;
        let off = tpoff()?;
        let insn = if high {
            MOVZ_X_LSL16 | ((off >> 16) << 5) | rd
        } else {
            MOVK_X | ((off & 0xffff) << 5) | rd
        };
        write_insn(buf, at, insn)
    };
    let local = v.local || v.got_slot.is_none();
    match t {
        // adrp x0, :tlsdesc:v / ldr x1, [x0, :tlsdesc_lo12:v] / add x0, x0, :tlsdesc_lo12:v /
        // blr x1 → movz x0, #tp_hi, lsl 16 / movk x0, #tp_lo / nop / nop (local-exec), or
        // adrp x0, :gottprel:v / ldr x0, [x0, :gottprel_lo12:v] / nop / nop (initial-exec).
        R_AARCH64_TLSDESC_ADR_PAGE21 if !v.shared && local => done(le(buf, true)),
        R_AARCH64_TLSDESC_LD64_LO12 if !v.shared && local => done((|| {
            let off = tpoff()?;
            write_insn(buf, at, MOVK_X | ((off & 0xffff) << 5))
        })()),
        R_AARCH64_TLSDESC_ADR_PAGE21 if !v.shared => done((|| {
            let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
            let delta = (slot & !0xfff).wrapping_sub(v.p & !0xfff) as i64;
            check_page_delta(delta)?;
            // adrp x0, the slot's page
            write_insn(buf, at, 0x9000_0000)?;
            rlink_linker::reloc::write_field(Field::A64Adr { shift: 12 }, buf, at, delta)
        })()),
        R_AARCH64_TLSDESC_LD64_LO12 if !v.shared => done((|| {
            let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
            // ldr x0, [x0, #lo12(slot)]
            let imm = ((slot & 0xfff) >> 3) as u32;
            write_insn(buf, at, 0xf940_0000 | (imm << 10))
        })()),
        R_AARCH64_TLSDESC_ADD_LO12 | R_AARCH64_TLSDESC_CALL if !v.shared => {
            done(write_insn(buf, at, NOP))
        }
        // adrp xN, :gottprel:v / ldr xN, [xN, :gottprel_lo12:v] → movz xN / movk xN.
        R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 if !v.shared && local => done(le(buf, true)),
        R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC if !v.shared && local => done((|| {
            let rt = reg(buf)?;
            let off = tpoff()?;
            write_insn(buf, at, MOVK_X | ((off & 0xffff) << 5) | rt)
        })()),
        // adrp xN, :got:s / ldr xN, [xN, :got_lo12:s] → adrp xN, s / add xN, xN, :lo12:s.
        R_AARCH64_ADR_GOT_PAGE if v.local => done((|| {
            let delta = (v.s.wrapping_add(v.a as u64) & !0xfff).wrapping_sub(v.p & !0xfff) as i64;
            check_page_delta(delta)?;
            rlink_linker::reloc::write_field(Field::A64Adr { shift: 12 }, buf, at, delta)
        })()),
        R_AARCH64_LD64_GOT_LO12_NC if v.local => done((|| {
            let insn = read_insn(buf, at)?;
            // Only `ldr xT, [xN, #imm]` (64-bit, unsigned offset) becomes `add xT, xN, #imm`.
            if insn & 0xffc0_0000 != 0xf940_0000 {
                return Err(format!(
                    "unexpected instruction {insn:#010x} with LD64_GOT_LO12_NC"
                ));
            }
            let rt = insn & 0x1f;
            let rn = (insn >> 5) & 0x1f;
            let lo12 = (v.s.wrapping_add(v.a as u64) & 0xfff) as u32;
            write_insn(buf, at, 0x9100_0000 | (lo12 << 10) | (rn << 5) | rt)
        })()),
        _ => None,
    }
}

fn check_page_delta(delta: i64) -> Result<(), Refusal> {
    if (-(1i64 << 32)..(1i64 << 32)).contains(&delta) {
        Ok(())
    } else {
        Err(format!(
            "page offset {delta:#x} does not fit in 33 bits (overflow)"
        ))
    }
}

impl Arch for Aarch64 {
    const CPU: Cpu = Cpu::Aarch64;
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
            R_AARCH64_TLSDESC_ADR_PAGE21
                | R_AARCH64_TLSDESC_LD64_LO12
                | R_AARCH64_TLSDESC_ADD_LO12
                | R_AARCH64_TLSDESC_CALL
                | R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21
                | R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC
                | R_AARCH64_ADR_GOT_PAGE
                | R_AARCH64_LD64_GOT_LO12_NC
        )
    }

    fn got_use(r_type: u32, shared: bool) -> Option<GotUse> {
        use elf::*;
        Some(match RelocationType(r_type) {
            R_AARCH64_TLSDESC_ADR_PAGE21
            | R_AARCH64_TLSDESC_LD64_LO12
            | R_AARCH64_TLSDESC_ADD_LO12
                if shared =>
            {
                GotUse::TlsDesc
            }
            R_AARCH64_TLSDESC_ADR_PAGE21
            | R_AARCH64_TLSDESC_LD64_LO12
            | R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21
            | R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC
            | R_AARCH64_TLSIE_LD_GOTTPREL_PREL19 => GotUse::TpOff,
            R_AARCH64_GOT_LD_PREL19
            | R_AARCH64_ADR_GOT_PAGE
            | R_AARCH64_LD64_GOT_LO12_NC
            | R_AARCH64_LD64_GOTPAGE_LO15
            | R_AARCH64_GOTPCREL32 => GotUse::Address,
            _ => return None,
        })
    }

    /// AArch64 addends are plain offsets: no instruction-length bias.
    fn merged_string_bias(_r_type: u32) -> i64 {
        0
    }

    /// `b` and `bl` reach ±128 MiB; farther targets go through a thunk.
    fn branch_range(r_type: u32) -> Option<(i64, i64)> {
        use elf::*;
        matches!(RelocationType(r_type), R_AARCH64_CALL26 | R_AARCH64_JUMP26)
            .then_some((-(1 << 27), 1 << 27))
    }
}

impl ElfArch for Aarch64 {
    const MACHINE: elf::Machine = elf::EM_AARCH64;
    const EH_FRAME_TYPE: elf::SectionType = elf::SHT_PROGBITS;
    /// Variant I: the thread pointer points at a 16-byte TCB; the TLS block follows it.
    const TLS_TCB_SIZE: Option<u64> = Some(16);

    fn dynamic_type(kind: DynKind) -> u32 {
        use elf::*;
        match kind {
            DynKind::Relative => R_AARCH64_RELATIVE,
            DynKind::Absolute => R_AARCH64_ABS64,
            DynKind::GlobDat => R_AARCH64_GLOB_DAT,
            DynKind::TpOff => R_AARCH64_TLS_TPREL,
            DynKind::DtpMod => R_AARCH64_TLS_DTPMOD,
            DynKind::DtpOff => R_AARCH64_TLS_DTPREL,
            DynKind::IRelative => R_AARCH64_IRELATIVE,
            DynKind::Copy => R_AARCH64_COPY,
            DynKind::TlsDesc => R_AARCH64_TLSDESC,
            DynKind::JumpSlot => R_AARCH64_JUMP_SLOT,
        }
        .0
    }

    /// A thunk: `adrp x16, target; add x16, x16, :lo12:target; br x16` — x16 (IP0) is the
    /// register the procedure-call standard leaves to veneers.
    const THUNK_SIZE: u64 = 12;

    fn write_thunk(out: &mut [u8], at: u64, target: u64) -> Result<(), Refusal> {
        let thunk = out
            .get_mut(..12)
            .ok_or("thunk outside its island (linker bug)")?;
        let delta = (target & !0xfff).wrapping_sub(at & !0xfff) as i64;
        check_page_delta(delta)?;
        let lo = (target & 0xfff) as u32;
        let words = [0x9000_0010, 0x9100_0210 | (lo << 10), 0xd61f_0200];
        for (i, w) in words.iter().enumerate() {
            thunk[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        rlink_linker::reloc::write_field(Field::A64Adr { shift: 12 }, thunk, 0, delta)
    }

    /// The ABI's PLT: a 32-byte lazy-binding header (it pushes x16/x30 and jumps through
    /// `.got.plt`'s third word, the loader's resolver), then per entry `adrp x16, slot;
    /// ldr x17, [x16, :lo12:slot]; add x16, x16, :lo12:slot; br x17`. Bind-now never runs the
    /// header, but tools (objdump, gdb) find the entries by these sizes, and it keeps the PLT
    /// ready for lazy binding. With BTI every entry (an indirect call may reach it: a
    /// function pointer to an import is its PLT entry) and the header start with `bti c`,
    /// and entries grow to 24 bytes, as GNU ld and lld lay them out.
    fn plt_sizes(features: u32) -> (u64, u64) {
        if features & FEATURE_BTI != 0 {
            (32, 24)
        } else {
            (32, 16)
        }
    }

    fn write_plt_header(
        out: &mut [u8],
        plt_addr: u64,
        got_plt_addr: u64,
        features: u32,
    ) -> Result<(), Refusal> {
        let header = out
            .get_mut(..32)
            .ok_or("PLT header outside .plt (linker bug)")?;
        let bti = features & FEATURE_BTI != 0;
        let mut words: Vec<u32> = Vec::with_capacity(8);
        if bti {
            words.push(BTI_C);
        }
        let adrp_at = 4 * (words.len() as u64 + 1);
        let target = got_plt_addr + 16;
        let lo = (target & 0xfff) as u32;
        words.extend([
            0xa9bf_7bf0,                     // stp x16, x30, [sp, #-16]!
            0x9000_0010,                     // adrp x16, target
            0xf940_0211 | ((lo >> 3) << 10), // ldr x17, [x16, :lo12:target]
            0x9100_0210 | (lo << 10),        // add x16, x16, :lo12:target
            0xd61f_0220,                     // br x17
        ]);
        words.resize(8, NOP);
        for (i, w) in words.iter().enumerate() {
            header[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        let delta = (target & !0xfff).wrapping_sub((plt_addr + adrp_at) & !0xfff) as i64;
        check_page_delta(delta)?;
        rlink_linker::reloc::write_field(
            Field::A64Adr { shift: 12 },
            header,
            adrp_at as usize,
            delta,
        )
    }

    fn write_plt_entry(
        out: &mut [u8],
        entry_addr: u64,
        slot_addr: u64,
        features: u32,
    ) -> Result<(), Refusal> {
        let bti = features & FEATURE_BTI != 0;
        let size = Self::plt_sizes(features).1 as usize;
        let entry = out
            .get_mut(..size)
            .ok_or("PLT entry outside .plt (linker bug)")?;
        let adrp_at = if bti { 4 } else { 0 };
        let delta = (slot_addr & !0xfff).wrapping_sub((entry_addr + adrp_at) & !0xfff) as i64;
        check_page_delta(delta)?;
        let lo = (slot_addr & 0xfff) as u32;
        let mut words: Vec<u32> = Vec::with_capacity(6);
        if bti {
            words.push(BTI_C);
        }
        words.extend([
            0x9000_0010,
            0xf940_0211 | ((lo >> 3) << 10),
            0x9100_0210 | (lo << 10),
            0xd61f_0220,
        ]);
        words.resize(size / 4, NOP);
        for (i, w) in words.iter().enumerate() {
            entry[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        rlink_linker::reloc::write_field(
            Field::A64Adr { shift: 12 },
            entry,
            adrp_at as usize,
            delta,
        )
    }

    /// binutils and gdb size the entries by this tag, not by the property note.
    fn plt_dynamic_tags(features: u32) -> Vec<elf::DynamicTag> {
        if features & FEATURE_BTI != 0 {
            vec![elf::DT_AARCH64_BTI_PLT]
        } else {
            Vec::new()
        }
    }

    const FEATURE_1_AND: Option<u32> = Some(elf::GNU_PROPERTY_AARCH64_FEATURE_1_AND.0);
    const FEATURE_LANDING_PADS: u32 = FEATURE_BTI;

    /// `bti c`, `bti jc`, and `paciasp`/`pacibsp` (which act as `bti c` where BTI is on).
    fn is_landing_pad(insn: [u8; 4]) -> bool {
        matches!(
            u32::from_le_bytes(insn),
            BTI_C | 0xd503_24df | 0xd503_233f | 0xd503_237f
        )
    }
}
