//! x86-64 COFF: the `IMAGE_REL_AMD64_*` types, what each needs, and the thunk through which a
//! direct call reaches an imported function (`jmp *[rip + IAT slot]`).
//!
//! The loader has made every addend explicit, PC-relative ones in ELF's form: S + A − P with
//! A = stored − 4 − k for `REL32_k` (the field is measured from the end of the instruction,
//! k bytes of immediate after the field).

use rlink_linker::reloc::{
    Applied, Arch, Field, GotUse, Need, Overflow, PlaceInfo, Refusal, RelocInfo, RelocKind,
    TargetInfo, Values,
};
use rlink_linker::target::Cpu;

pub const IMAGE_REL_AMD64_ABSOLUTE: u32 = 0x0;
pub const IMAGE_REL_AMD64_ADDR64: u32 = 0x1;
pub const IMAGE_REL_AMD64_ADDR32: u32 = 0x2;
pub const IMAGE_REL_AMD64_ADDR32NB: u32 = 0x3;
pub const IMAGE_REL_AMD64_REL32: u32 = 0x4;
pub const IMAGE_REL_AMD64_REL32_5: u32 = 0x9;
pub const IMAGE_REL_AMD64_SECTION: u32 = 0xa;
pub const IMAGE_REL_AMD64_SECREL: u32 = 0xb;

/// The view's mark on a relocation against `__imp_NAME`: the loader renames the symbol to
/// `NAME` and the relocation reads `NAME`'s import-address-table slot (the PE counterpart of
/// a GOT entry) instead of `NAME` itself.
pub const THROUGH_IAT: u32 = 1 << 16;

const NAMES: [&str; 17] = [
    "IMAGE_REL_AMD64_ABSOLUTE",
    "IMAGE_REL_AMD64_ADDR64",
    "IMAGE_REL_AMD64_ADDR32",
    "IMAGE_REL_AMD64_ADDR32NB",
    "IMAGE_REL_AMD64_REL32",
    "IMAGE_REL_AMD64_REL32_1",
    "IMAGE_REL_AMD64_REL32_2",
    "IMAGE_REL_AMD64_REL32_3",
    "IMAGE_REL_AMD64_REL32_4",
    "IMAGE_REL_AMD64_REL32_5",
    "IMAGE_REL_AMD64_SECTION",
    "IMAGE_REL_AMD64_SECREL",
    "IMAGE_REL_AMD64_SECREL7",
    "IMAGE_REL_AMD64_TOKEN",
    "IMAGE_REL_AMD64_SREL32",
    "IMAGE_REL_AMD64_PAIR",
    "IMAGE_REL_AMD64_SSPAN32",
];

/// A 64-bit absolute address (of a symbol, or of an `__imp_` slot): the loader rebases it.
/// The COFF relocation type of a 64-bit absolute address (what a combined object's own
/// pointer slots use).
pub const ABSOLUTE64: u16 = IMAGE_REL_AMD64_ADDR64 as u16;

pub fn is_absolute64(r_type: u32) -> bool {
    r_type & !THROUGH_IAT == IMAGE_REL_AMD64_ADDR64
}

/// A reference to an `__imp_` slot rather than to the symbol.
pub fn reads_iat_slot(r_type: u32) -> bool {
    r_type & THROUGH_IAT != 0
}

/// Bytes a relocation type writes.
pub fn width(r_type: u32) -> u64 {
    match r_type & !THROUGH_IAT {
        IMAGE_REL_AMD64_ABSOLUTE => 0,
        IMAGE_REL_AMD64_ADDR64 => 8,
        IMAGE_REL_AMD64_SECTION => 2,
        _ => 4,
    }
}

/// What the CPU measures a PC-relative field from, past the field's start: the stored value
/// is taken as the ELF-style addend plus this.
pub fn pcrel_bias(r_type: u32) -> i64 {
    let r_type = r_type & !THROUGH_IAT;
    match r_type {
        IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 => {
            4 + i64::from(r_type - IMAGE_REL_AMD64_REL32)
        }
        _ => 0,
    }
}

pub struct X86_64;

impl Arch for X86_64 {
    const CPU: Cpu = Cpu::X86_64;

    fn type_name(r_type: u32) -> String {
        let base = r_type & !THROUGH_IAT;
        let name = NAMES
            .get(base as usize)
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("IMAGE_REL_AMD64 type {base:#x}"));
        if r_type & THROUGH_IAT != 0 {
            format!("{name} (through __imp_)")
        } else {
            name
        }
    }

    fn reloc_info(r_type: u32, _shared: bool) -> Option<RelocInfo> {
        use RelocKind::*;
        if r_type & THROUGH_IAT != 0 {
            return Some(match r_type & !THROUGH_IAT {
                IMAGE_REL_AMD64_ADDR64 => RelocInfo::new(GotAddress, Field::Le64, Overflow::None),
                IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 => {
                    RelocInfo::new(GotPcRelative, Field::Le32, Overflow::Signed(32))
                }
                _ => return None,
            });
        }
        Some(match r_type {
            IMAGE_REL_AMD64_ABSOLUTE => RelocInfo::NONE,
            IMAGE_REL_AMD64_ADDR64 => RelocInfo::new(Absolute, Field::Le64, Overflow::None),
            IMAGE_REL_AMD64_ADDR32 => RelocInfo::new(Absolute, Field::Le32, Overflow::Unsigned(32)),
            IMAGE_REL_AMD64_ADDR32NB => {
                RelocInfo::new(ImageRelative, Field::Le32, Overflow::Unsigned(32))
            }
            IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 => {
                RelocInfo::new(PcRelative, Field::Le32, Overflow::Signed(32))
            }
            // The offset of a thread-local variable in the image's TLS template (`.tls`),
            // which the PE layout answers as the thread-pointer offset.
            IMAGE_REL_AMD64_SECREL => RelocInfo::new(TpOff, Field::Le32, Overflow::Unsigned(32)),
            _ => return None,
        })
    }

    fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
        if r_type & THROUGH_IAT != 0 {
            return match r_type & !THROUGH_IAT {
                IMAGE_REL_AMD64_ADDR64 | IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 => {
                    Ok(Need::Got)
                }
                _ => Err("this reference to an __imp_ slot".to_string()),
            };
        }
        match r_type {
            // A 64-bit address is rebased by the loader (a base relocation); an import's is
            // its thunk's.
            IMAGE_REL_AMD64_ADDR64 if place.alloc && !target.undefined_weak => {
                Ok(Need::DynamicAbsolute)
            }
            // A direct call or jump to an import goes through a thunk; `__imp_NAME` references
            // (the IAT slot itself) are resolved to the slot by the layout.
            IMAGE_REL_AMD64_REL32..=IMAGE_REL_AMD64_REL32_5 if target.dynamic => Ok(Need::Plt),
            // An image-relative address of an import (an exception handler in `.xdata`) is its
            // thunk's, as link.exe makes it.
            IMAGE_REL_AMD64_ADDR32NB if target.dynamic => Ok(Need::Plt),
            IMAGE_REL_AMD64_ADDR32 if target.dynamic => {
                Err("a 32-bit absolute reference to an imported symbol".to_string())
            }
            IMAGE_REL_AMD64_SECREL if !target.tls && place.alloc => Err(
                "a section-relative reference outside thread-local storage (only debug info \
                 uses those)"
                    .to_string(),
            ),
            IMAGE_REL_AMD64_SECTION if place.alloc => {
                Err("a section-index relocation in loaded code or data".to_string())
            }
            _ => Ok(Need::Nothing),
        }
    }

    fn relax(
        _r_type: u32,
        _buf: &mut [u8],
        _at: usize,
        _v: &Values,
    ) -> Option<Result<Applied, Refusal>> {
        None
    }

    fn got_use(r_type: u32, _shared: bool) -> Option<GotUse> {
        (r_type & THROUGH_IAT != 0).then_some(GotUse::Address)
    }

    fn merged_string_bias(r_type: u32) -> i64 {
        -pcrel_bias(r_type)
    }
}
