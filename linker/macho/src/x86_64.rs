//! x86_64 Mach-O: the `X86_64_RELOC_*` types (`<mach-o/x86_64/reloc.h>`), what each needs,
//! and the stub through which calls reach an imported function (`jmp *slot(%rip)`).
//!
//! The loader has made every addend explicit (PC-relative ones as S + A − P, A = stored − 4);
//! the data words and differences shared with arm64 are in [`crate::data`].

use rlink_linker::reloc::{
    Applied, Arch, Field, GotUse, Need, Overflow, PlaceInfo, Refusal, RelocInfo, RelocKind,
    TargetInfo, Values,
};
use rlink_linker::target::Cpu;

use crate::data;
use crate::object::decode_type;
use crate::MachArch;

pub const X86_64_RELOC_UNSIGNED: u32 = 0;
pub const X86_64_RELOC_SIGNED: u32 = 1;
pub const X86_64_RELOC_BRANCH: u32 = 2;
pub const X86_64_RELOC_GOT_LOAD: u32 = 3;
pub const X86_64_RELOC_GOT: u32 = 4;
pub const X86_64_RELOC_SUBTRACTOR: u32 = 5;
pub const X86_64_RELOC_SIGNED_1: u32 = 6;
pub const X86_64_RELOC_SIGNED_2: u32 = 7;
pub const X86_64_RELOC_SIGNED_4: u32 = 8;
pub const X86_64_RELOC_TLV: u32 = 9;

const NAMES: [&str; 10] = [
    "X86_64_RELOC_UNSIGNED",
    "X86_64_RELOC_SIGNED",
    "X86_64_RELOC_BRANCH",
    "X86_64_RELOC_GOT_LOAD",
    "X86_64_RELOC_GOT",
    "X86_64_RELOC_SUBTRACTOR",
    "X86_64_RELOC_SIGNED_1",
    "X86_64_RELOC_SIGNED_2",
    "X86_64_RELOC_SIGNED_4",
    "X86_64_RELOC_TLV",
];

pub struct X86_64;

impl Arch for X86_64 {
    const CPU: Cpu = Cpu::X86_64;

    fn type_name(r_type: u32) -> String {
        let (t, ..) = decode_type(r_type);
        NAMES
            .get(t as usize)
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("X86_64_RELOC type {t}"))
    }

    fn reloc_info(r_type: u32, _shared: bool) -> Option<RelocInfo> {
        let (t, length, pcrel, _) = decode_type(r_type);
        let pc32 = |kind| Some(RelocInfo::new(kind, Field::Le32, Overflow::Signed(32)));
        match t {
            X86_64_RELOC_UNSIGNED => data::word_info(r_type, length),
            X86_64_RELOC_SUBTRACTOR if !pcrel => data::word_info(r_type, length),
            X86_64_RELOC_SIGNED
            | X86_64_RELOC_SIGNED_1
            | X86_64_RELOC_SIGNED_2
            | X86_64_RELOC_SIGNED_4
            | X86_64_RELOC_BRANCH
                if pcrel && length == 2 =>
            {
                pc32(RelocKind::PcRelative)
            }
            X86_64_RELOC_GOT_LOAD | X86_64_RELOC_GOT | X86_64_RELOC_TLV if pcrel && length == 2 => {
                pc32(RelocKind::GotPcRelative)
            }
            _ => None,
        }
    }

    fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
        let (t, length, _, _) = decode_type(r_type);
        match t {
            X86_64_RELOC_UNSIGNED | X86_64_RELOC_SUBTRACTOR => {
                data::word_scan(r_type, length, target, place)
            }
            X86_64_RELOC_BRANCH if target.dynamic => Ok(Need::Plt),
            X86_64_RELOC_GOT_LOAD | X86_64_RELOC_GOT | X86_64_RELOC_TLV => Ok(Need::Got),
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
        data::apply_pair(r_type, buf, at, v)
    }

    fn got_use(r_type: u32, _shared: bool) -> Option<GotUse> {
        let (t, ..) = decode_type(r_type);
        matches!(
            t,
            X86_64_RELOC_GOT_LOAD | X86_64_RELOC_GOT | X86_64_RELOC_TLV
        )
        .then_some(GotUse::Address)
    }

    fn merged_string_bias(r_type: u32) -> i64 {
        let (t, _, pcrel, _) = decode_type(r_type);
        match t {
            _ if !pcrel => 0,
            X86_64_RELOC_SIGNED_1 => -5,
            X86_64_RELOC_SIGNED_2 => -6,
            X86_64_RELOC_SIGNED_4 => -8,
            _ => -4,
        }
    }
}

impl MachArch for X86_64 {
    const CPUTYPE: u32 = 0x0100_0007;
    /// CPU_SUBTYPE_X86_64_ALL.
    const CPUSUBTYPE: u32 = 3;
    const PAGE_SIZE: u64 = 0x1000;
    const MIN_OS: (u32, u32, u32) = (10, 12, 0);
    const UNWIND_MODE_DWARF: u32 = 0x0400_0000;
    const STUB_SIZE: u64 = 6;
    const STUB_ALIGN_LOG2: u8 = 1;

    fn is_subtractor(raw: u32) -> bool {
        raw == X86_64_RELOC_SUBTRACTOR
    }

    const SUBTRACTOR_TYPE: u32 = X86_64_RELOC_SUBTRACTOR;

    /// x86_64 keeps every addend in the place.
    fn addend_in_place(_raw: u32, _pcrel: bool) -> bool {
        true
    }

    /// A PC-relative field is relative to the end of its instruction: 4 bytes after the field,
    /// plus the 1, 2 or 4 bytes of immediate `SIGNED_1/2/4` say follow it.
    fn pcrel_end(raw: u32) -> i64 {
        4 + Self::stored_bias(raw)
    }

    /// The assembler stores those immediates' bytes off the addend.
    fn stored_bias(raw: u32) -> i64 {
        match raw {
            X86_64_RELOC_SIGNED_1 => 1,
            X86_64_RELOC_SIGNED_2 => 2,
            X86_64_RELOC_SIGNED_4 => 4,
            _ => 0,
        }
    }

    fn write_stub(out: &mut [u8], stub_addr: u64, slot_addr: u64) -> Result<(), Refusal> {
        // jmp *slot(%rip)
        let disp = (slot_addr as i64).wrapping_sub(stub_addr as i64 + 6);
        let disp = i32::try_from(disp).map_err(|_| "stub too far from its GOT slot".to_string())?;
        out[..2].copy_from_slice(&[0xff, 0x25]);
        out[2..6].copy_from_slice(&disp.to_le_bytes());
        Ok(())
    }
}
