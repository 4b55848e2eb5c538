//! arm64 Mach-O: the `ARM64_RELOC_*` types (`<mach-o/arm64/reloc.h>`), what each needs, the
//! stub through which calls reach an imported function (`adrp x16; ldr x16; br x16`), and the
//! branch islands' thunk through which a `b`/`bl` reaches beyond ±128 MiB
//! (`adrp x16; add x16; br x16`).
//!
//! Unlike ELF's, Mach-O's `PAGEOFF12` does not say the access size of the instruction it
//! patches: it is read from the instruction ([`pageoff_scale`]).

use rlink_linker::reloc::{
    write_field, Applied, Arch, Field, GotUse, Need, Overflow, PlaceInfo, Refusal, RelocInfo,
    RelocKind, TargetInfo, Values,
};
use rlink_linker::target::Cpu;

use crate::data;
use crate::object::decode_type;
use crate::MachArch;

pub const ARM64_RELOC_UNSIGNED: u32 = 0;
pub const ARM64_RELOC_SUBTRACTOR: u32 = 1;
pub const ARM64_RELOC_BRANCH26: u32 = 2;
pub const ARM64_RELOC_PAGE21: u32 = 3;
pub const ARM64_RELOC_PAGEOFF12: u32 = 4;
pub const ARM64_RELOC_GOT_LOAD_PAGE21: u32 = 5;
pub const ARM64_RELOC_GOT_LOAD_PAGEOFF12: u32 = 6;
pub const ARM64_RELOC_POINTER_TO_GOT: u32 = 7;
pub const ARM64_RELOC_TLVP_LOAD_PAGE21: u32 = 8;
pub const ARM64_RELOC_TLVP_LOAD_PAGEOFF12: u32 = 9;
/// The addend of the next relocation (the loader folds it in).
pub const ARM64_RELOC_ADDEND: u32 = 10;

const NAMES: [&str; 11] = [
    "ARM64_RELOC_UNSIGNED",
    "ARM64_RELOC_SUBTRACTOR",
    "ARM64_RELOC_BRANCH26",
    "ARM64_RELOC_PAGE21",
    "ARM64_RELOC_PAGEOFF12",
    "ARM64_RELOC_GOT_LOAD_PAGE21",
    "ARM64_RELOC_GOT_LOAD_PAGEOFF12",
    "ARM64_RELOC_POINTER_TO_GOT",
    "ARM64_RELOC_TLVP_LOAD_PAGE21",
    "ARM64_RELOC_TLVP_LOAD_PAGEOFF12",
    "ARM64_RELOC_ADDEND",
];

pub struct Aarch64;

/// log2 of the access size of the load or store at `insn` (0 for ADD and byte accesses): the
/// scale of its 12-bit offset.
fn pageoff_scale(insn: u32) -> u8 {
    // Loads and stores with an unsigned immediate: bits 27–29 = 0b111, bit 24 = 1.
    if insn & 0x3b00_0000 != 0x3900_0000 {
        return 0;
    }
    let size = (insn >> 30) as u8;
    // A SIMD&FP register (bit 26) with opc bit 1 set (bit 23) is a 128-bit access.
    if insn & 0x0480_0000 == 0x0480_0000 {
        4
    } else {
        size
    }
}

impl Arch for Aarch64 {
    const CPU: Cpu = Cpu::Aarch64;

    fn type_name(r_type: u32) -> String {
        let (t, ..) = decode_type(r_type);
        NAMES
            .get(t as usize)
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("ARM64_RELOC type {t}"))
    }

    fn reloc_info(r_type: u32, _shared: bool) -> Option<RelocInfo> {
        let (t, length, pcrel, _) = decode_type(r_type);
        let row = |kind, field, overflow| Some(RelocInfo::new(kind, field, overflow));
        let adrp = Field::A64Adr { shift: 12 };
        let lo12 = |scale| Field::A64Imm12 { shift: 0, scale };
        match t {
            ARM64_RELOC_UNSIGNED => data::word_info(r_type, length),
            ARM64_RELOC_SUBTRACTOR if !pcrel => data::word_info(r_type, length),
            ARM64_RELOC_BRANCH26 => row(
                RelocKind::PcRelative,
                Field::A64Branch26,
                Overflow::Signed(28),
            ),
            ARM64_RELOC_PAGE21 => row(RelocKind::PageRelative, adrp, Overflow::Signed(33)),
            // The scale is the instruction's: `relax` writes these.
            ARM64_RELOC_PAGEOFF12 => row(RelocKind::Absolute, lo12(0), Overflow::None),
            ARM64_RELOC_GOT_LOAD_PAGE21 | ARM64_RELOC_TLVP_LOAD_PAGE21 => {
                row(RelocKind::GotPageRelative, adrp, Overflow::Signed(33))
            }
            ARM64_RELOC_GOT_LOAD_PAGEOFF12 | ARM64_RELOC_TLVP_LOAD_PAGEOFF12 => {
                row(RelocKind::GotAddress, lo12(3), Overflow::None)
            }
            ARM64_RELOC_POINTER_TO_GOT if pcrel && length == 2 => {
                row(RelocKind::GotPcRelative, Field::Le32, Overflow::Signed(32))
            }
            _ => None,
        }
    }

    fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
        let (t, length, _, _) = decode_type(r_type);
        match t {
            ARM64_RELOC_UNSIGNED | ARM64_RELOC_SUBTRACTOR => {
                data::word_scan(r_type, length, target, place)
            }
            ARM64_RELOC_BRANCH26 if target.dynamic => Ok(Need::Plt),
            ARM64_RELOC_GOT_LOAD_PAGE21
            | ARM64_RELOC_GOT_LOAD_PAGEOFF12
            | ARM64_RELOC_POINTER_TO_GOT
            | ARM64_RELOC_TLVP_LOAD_PAGE21
            | ARM64_RELOC_TLVP_LOAD_PAGEOFF12 => Ok(Need::Got),
            _ if target.dynamic => Err(
                "a PC-relative reference to an imported symbol (it must go through the GOT)"
                    .to_string(),
            ),
            _ => Ok(Need::Nothing),
        }
    }

    fn relax(
        r_type: u32,
        buf: &mut [u8],
        at: usize,
        v: &Values,
    ) -> Option<Result<Applied, Refusal>> {
        let (t, ..) = decode_type(r_type);
        if t == ARM64_RELOC_PAGEOFF12 {
            let Some(bytes) = at.checked_add(4).and_then(|end| buf.get(at..end)) else {
                return Some(Err("relocation place outside its section".to_string()));
            };
            let insn = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let value = (v.s as i64).wrapping_add(v.a);
            let field = Field::A64Imm12 {
                shift: 0,
                scale: pageoff_scale(insn),
            };
            return Some(write_field(field, buf, at, value).map(|()| Applied::Done));
        }
        data::apply_pair(r_type, buf, at, v)
    }

    fn got_use(r_type: u32, _shared: bool) -> Option<GotUse> {
        let (t, ..) = decode_type(r_type);
        matches!(
            t,
            ARM64_RELOC_GOT_LOAD_PAGE21
                | ARM64_RELOC_GOT_LOAD_PAGEOFF12
                | ARM64_RELOC_POINTER_TO_GOT
                | ARM64_RELOC_TLVP_LOAD_PAGE21
                | ARM64_RELOC_TLVP_LOAD_PAGEOFF12
        )
        .then_some(GotUse::Address)
    }

    fn merged_string_bias(_r_type: u32) -> i64 {
        0
    }

    fn branch_range(r_type: u32) -> Option<(i64, i64)> {
        let (t, ..) = decode_type(r_type);
        (t == ARM64_RELOC_BRANCH26).then_some((-(1 << 27), 1 << 27))
    }
}

impl MachArch for Aarch64 {
    const CPUTYPE: u32 = 0x0100_000c;
    /// CPU_SUBTYPE_ARM64_ALL.
    const CPUSUBTYPE: u32 = 0;
    const PAGE_SIZE: u64 = 0x4000;
    const MIN_OS: (u32, u32, u32) = (11, 0, 0);
    const UNWIND_MODE_DWARF: u32 = 0x0300_0000;
    const STUB_SIZE: u64 = 12;
    const STUB_ALIGN_LOG2: u8 = 2;

    fn is_subtractor(raw: u32) -> bool {
        raw == ARM64_RELOC_SUBTRACTOR
    }

    fn is_addend_prefix(raw: u32) -> bool {
        raw == ARM64_RELOC_ADDEND
    }

    const SUBTRACTOR_TYPE: u32 = ARM64_RELOC_SUBTRACTOR;

    fn addend_prefix_for(raw: u32) -> Option<u32> {
        matches!(
            raw,
            ARM64_RELOC_BRANCH26 | ARM64_RELOC_PAGE21 | ARM64_RELOC_PAGEOFF12
        )
        .then_some(ARM64_RELOC_ADDEND)
    }

    /// Only `UNSIGNED` data words store their addend. Instructions hold none, and what the
    /// assembler leaves in a `POINTER_TO_GOT` word is its own provisional PC-relative value
    /// (minus the field's offset in the section), which ld64 and lld ignore.
    fn addend_in_place(raw: u32, _pcrel: bool) -> bool {
        raw == ARM64_RELOC_UNSIGNED
    }

    fn write_stub(out: &mut [u8], stub_addr: u64, slot_addr: u64) -> Result<(), Refusal> {
        // adrp x16, slot@PAGE; ldr x16, [x16, slot@PAGEOFF]; br x16
        let words: [u32; 3] = [0x9000_0010, 0xf940_0210, 0xd61f_0200];
        for (i, w) in words.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        let page = |x: u64| x & !0xfff;
        let delta = page(slot_addr).wrapping_sub(page(stub_addr)) as i64;
        if !(-(1i64 << 32)..(1i64 << 32)).contains(&delta) {
            return Err("stub too far from its GOT slot".to_string());
        }
        write_field(Field::A64Adr { shift: 12 }, out, 0, delta)?;
        write_field(
            Field::A64Imm12 { shift: 0, scale: 3 },
            out,
            4,
            slot_addr as i64,
        )
    }

    /// A branch island's thunk, as ld64 and lld write it: `adrp x16, target@PAGE; add x16,
    /// x16, target@PAGEOFF; br x16`. x16 (IP0) is the register the procedure-call standard
    /// leaves to veneers, and the stubs use it too.
    const THUNK_SIZE: u64 = 12;

    fn write_thunk(out: &mut [u8], at: u64, target: u64) -> Result<(), Refusal> {
        let thunk = out
            .get_mut(..12)
            .ok_or("thunk outside its island (linker bug)")?;
        let page = |x: u64| x & !0xfff;
        let delta = page(target).wrapping_sub(page(at)) as i64;
        if !(-(1i64 << 32)..(1i64 << 32)).contains(&delta) {
            return Err(format!(
                "a branch island at {at:#x} cannot reach its target {target:#x} (more than \
                 4 GiB away)"
            ));
        }
        let lo = (target & 0xfff) as u32;
        let words: [u32; 3] = [0x9000_0010, 0x9100_0210 | (lo << 10), 0xd61f_0200];
        for (i, w) in words.iter().enumerate() {
            thunk[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        write_field(Field::A64Adr { shift: 12 }, thunk, 0, delta)
    }
}
