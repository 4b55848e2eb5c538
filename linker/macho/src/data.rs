//! What both Mach-O CPUs share: data words (`UNSIGNED`), differences (`SUBTRACTOR` followed by
//! a paired `UNSIGNED`), and the offsets in thread-variable descriptors.

use rlink_linker::reloc::{
    Applied, Field, Need, Overflow, PlaceInfo, Refusal, RelocInfo, RelocKind, TargetInfo, Values,
};

use crate::object::{decode_type, PAIRED, TLV_OFFSET, UNSIGNED};

/// The table row of a data word of `1 << length` bytes.
pub fn word_info(r_type: u32, length: u8) -> Option<RelocInfo> {
    let field = match length {
        3 => Field::Le64,
        2 => Field::Le32,
        _ => return None,
    };
    let (t, _, pcrel, _) = decode_type(r_type);
    let kind = if r_type & TLV_OFFSET != 0 {
        RelocKind::TpOff
    } else if pcrel {
        // The loader's form of a difference against the place's own section.
        RelocKind::PcRelative
    } else {
        RelocKind::Absolute
    };
    // Differences are applied by `apply_pair`; their row only gives the width.
    let overflow = if field == Field::Le32 && pcrel {
        Overflow::Signed(32)
    } else if field == Field::Le32 && t == UNSIGNED && r_type & PAIRED == 0 {
        Overflow::Unsigned(32)
    } else {
        Overflow::None
    };
    Some(RelocInfo::new(kind, field, overflow))
}

/// What a data word needs: in a position-independent image every absolute address is a
/// fixup (a rebase, or a bind for an import); a difference or a descriptor offset needs none.
pub fn word_scan(
    r_type: u32,
    length: u8,
    target: TargetInfo,
    place: PlaceInfo,
) -> Result<Need, Refusal> {
    let (t, ..) = decode_type(r_type);
    if t != UNSIGNED || r_type & PAIRED != 0 {
        if target.dynamic {
            return Err("a difference involving an imported symbol".to_string());
        }
        return Ok(Need::Nothing);
    }
    let (_, _, pcrel, _) = decode_type(r_type);
    if pcrel {
        if target.dynamic {
            return Err("a PC-relative reference to an imported symbol".to_string());
        }
        return Ok(Need::Nothing);
    }
    if r_type & TLV_OFFSET != 0 || !place.alloc {
        return Ok(Need::Nothing);
    }
    match length {
        3 => Ok(Need::DynamicAbsolute),
        _ if target.dynamic || place.pie => Err(
            "a 32-bit absolute address in a position-independent image (it cannot be rebased)"
                .to_string(),
        ),
        _ => Ok(Need::Nothing),
    }
}

/// Applies the two halves of a difference A − B + c: the SUBTRACTOR writes c − B, the paired
/// UNSIGNED adds A. `None` for every other type.
pub fn apply_pair(
    r_type: u32,
    buf: &mut [u8],
    at: usize,
    v: &Values,
) -> Option<Result<Applied, Refusal>> {
    let (t, length, _, paired) = decode_type(r_type);
    let subtractor = t != UNSIGNED && !paired && is_subtractor(r_type);
    if !subtractor && !paired {
        return None;
    }
    let width = 1usize << length;
    let Some(place) = at.checked_add(width).and_then(|end| buf.get_mut(at..end)) else {
        return Some(Err("relocation place outside its section".to_string()));
    };
    let value = if subtractor {
        v.a.wrapping_sub(v.s as i64)
    } else {
        let mut old = [0u8; 8];
        old[..width].copy_from_slice(place);
        let old = if width == 8 {
            i64::from_le_bytes(old)
        } else {
            i64::from(i32::from_le_bytes([old[0], old[1], old[2], old[3]]))
        };
        old.wrapping_add(v.s as i64).wrapping_add(v.a)
    };
    // A 32-bit difference is carried between the halves in its 32 bits: the SUBTRACTOR's
    // partial value (c − B, an address apart) does not fit them, so both halves compute modulo
    // 2^32, which gives A − B + c exactly when the difference itself fits.
    place.copy_from_slice(&value.to_le_bytes()[..width]);
    Some(Ok(Applied::Done))
}

/// The SUBTRACTOR type number differs per CPU (x86_64 5, arm64 1); the loader marks it.
fn is_subtractor(r_type: u32) -> bool {
    r_type & crate::object::SUBTRACTOR != 0
}
