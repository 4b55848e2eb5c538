//! The one relocation pass every format shares: each placed input section's bytes are copied
//! into the output and its relocations applied through the CPU's [`Arch`], object by object
//! in parallel (input sections never overlap in the output). The format's layout answers where
//! things are ([`OutputLayout`]); the dynamic relocations the pass finds are returned in neutral
//! form for the format to encode.

use rayon::prelude::*;

use crate::diag::Result;
use crate::object::{SymPlace, SymbolKind};
use crate::output::OutBuf;
use crate::reloc::{self, Applied, Arch, DynKind, GotUse, Need, PlaceInfo, Values};
use crate::resolve::{Resolution, SymbolId};
use crate::scan::{
    reloc_error, symbol_display, target, target_info, GotEntry, Placement, SymbolRef,
};

/// The address and facts of a relocation target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymValue {
    pub addr: u64,
    pub size: u64,
    /// Defined in the output.
    pub local: bool,
}

/// Where an input section's copied bytes go.
#[derive(Debug, Clone, Copy)]
pub struct CopiedSection {
    pub file_offset: u64,
    pub addr: u64,
    pub place: PlaceInfo,
}

/// What the relocation pass asks of a format's finished layout.
pub trait OutputLayout: Placement {
    /// Where an input section's bytes are copied; `None` for sections that are not in the
    /// output, are zero-fill, or whose strings were merged (written by the format).
    fn copied_section(&self, obj: usize, sec: usize) -> Option<CopiedSection>;
    /// The output address of byte `offset` of an input section (merged strings piece by
    /// piece).
    fn address_in(&self, obj: usize, sec: usize, offset: u64) -> Option<u64>;
    fn is_merged(&self, obj: usize, sec: usize) -> bool;
    fn symbol_value(&self, t: SymbolRef) -> SymValue;
    fn got_slot(&self, e: GotEntry) -> Option<u64>;
    /// `_GLOBAL_OFFSET_TABLE_`, the base of GOT-relative relocations.
    fn got_base(&self) -> u64;
    /// The address the image is linked at, the base of image-relative values (PE's RVAs).
    fn image_base(&self) -> u64 {
        0
    }
    /// Thread-pointer offset of a TLS address.
    fn tpoff(&self, addr: u64) -> i64;
    /// Offset of a TLS address in this module's TLS block.
    fn dtpoff(&self, addr: u64) -> i64;
    fn is_shared(&self) -> bool;
    /// The range-extension thunk a branch at `offset` of an input section jumps to instead of
    /// its far target, if it has one.
    fn thunk(&self, obj: usize, sec: usize, offset: u64) -> Option<u64> {
        let _ = (obj, sec, offset);
        None
    }
    /// Whether any branch goes through a thunk (so the pass need not ask for each one).
    fn has_thunks(&self) -> bool {
        false
    }
}

/// A dynamic relocation the pass found at a place in an input section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynReloc {
    pub offset: u64,
    pub kind: DynKind,
    /// The imported symbol it binds, for [`DynKind::Absolute`] and the GOT's binds.
    pub symbol: Option<SymbolId>,
    pub addend: i64,
}

/// Per object: its relative dynamic relocations, then the others.
pub type ObjectDynRelocs = (Vec<DynReloc>, Vec<DynReloc>);

/// A relocation against the section symbol of a merged string section names a string by
/// its addend, which no longer is an offset from one base. The addend of a PC-relative
/// reference also carries the part that reaches from the field to the next instruction; the
/// string is at addend minus that bias. Returns the string's address and the bias to keep.
fn merged_section_target<A: Arch>(
    res: &Resolution<'_>,
    l: &impl OutputLayout,
    t: SymbolRef,
    r_type: u32,
    addend: i64,
) -> Option<(u64, i64)> {
    let SymbolRef::Local { obj, sym } = t else {
        return None;
    };
    let s = &res.objects[obj as usize].symbols[sym as usize];
    let SymPlace::Section(sec) = s.place else {
        return None;
    };
    if s.kind != SymbolKind::Section || !l.is_merged(obj as usize, sec as usize) {
        return None;
    }
    let bias = A::merged_string_bias(r_type);
    let offset = u64::try_from(addend - bias).ok()?;
    Some((l.address_in(obj as usize, sec as usize, offset)?, bias))
}

/// Copies and relocates every object's sections into `out`; returns each object's dynamic
/// relocations, in object order.
pub fn relocate_sections<A: Arch>(
    res: &Resolution<'_>,
    l: &impl OutputLayout,
    out: OutBuf,
) -> Result<Vec<ObjectDynRelocs>> {
    let got_base = l.got_base();
    let image_base = l.image_base();
    let shared = l.is_shared();
    let thunks = l.has_thunks();
    res.objects
        .par_iter()
        .enumerate()
        .map(|(oi, o)| -> Result<ObjectDynRelocs> {
            let mut relative = Vec::new();
            let mut other = Vec::new();
            for (si, section) in o.sections.iter().enumerate() {
                let Some(copied) = l.copied_section(oi, si) else {
                    continue;
                };
                let data = section.data;
                // SAFETY: this input section's range belongs to this object alone.
                let dst = unsafe { out.range(copied.file_offset, data.len() as u64)? };
                dst.copy_from_slice(data);
                let place = copied.place;
                let mut skip = false;
                for r in o.relocations[si].iter() {
                    if std::mem::take(&mut skip) {
                        continue;
                    }
                    let t = target(res, oi, r.symbol);
                    let err = |why: &str| {
                        reloc_error(
                            o,
                            si,
                            r.offset,
                            &A::type_name(r.r_type),
                            &symbol_display(res, t),
                            why,
                        )
                    };
                    let sv = l.symbol_value(t);
                    let info = target_info(res, t);
                    // Only the GOT-relative types use a slot: no lookup for the rest (most
                    // relocations, and every debug one).
                    let got_slot = A::got_use(r.r_type, shared).and_then(|u| {
                        l.got_slot(match u {
                            GotUse::Address => GotEntry::Address(t),
                            GotUse::TpOff => GotEntry::TpOff(t),
                            GotUse::TlsGd => GotEntry::TlsGd(t),
                            GotUse::TlsLd => GotEntry::TlsLd,
                            GotUse::TlsDesc => GotEntry::TlsDesc(t),
                        })
                    });
                    let tls_addr = sv.addr;
                    let (s_addr, addend) =
                        merged_section_target::<A>(res, l, t, r.r_type, r.addend)
                            .unwrap_or((sv.addr, r.addend));
                    // A far branch goes to its thunk, which goes on to the target and addend.
                    let far = thunks && A::branch_range(r.r_type).is_some();
                    let (s_addr, addend) = match far.then(|| l.thunk(oi, si, r.offset)).flatten() {
                        Some(thunk) => (thunk, 0),
                        None => (s_addr, addend),
                    };
                    let v = Values {
                        p: copied.addr.wrapping_add(r.offset),
                        s: s_addr,
                        a: addend,
                        size: sv.size,
                        got_slot,
                        got_base,
                        image_base,
                        tpoff: if info.tls { l.tpoff(tls_addr) } else { 0 },
                        local: sv.local && !info.dynamic && !info.absolute,
                        shared,
                        dtpoff: if info.tls { l.dtpoff(tls_addr) } else { 0 },
                    };
                    let at = usize::try_from(r.offset).map_err(|_| err("offset out of range"))?;
                    // Debug sections never need the loader: skip the second look.
                    if place.alloc
                        && A::scan(r.r_type, info, place).map_err(|w| err(&w))?
                            == Need::DynamicAbsolute
                    {
                        if info.dynamic {
                            let symbol = match t {
                                SymbolRef::Global(id) => Some(id),
                                SymbolRef::Local { .. } => None,
                            };
                            other.push(DynReloc {
                                offset: v.p,
                                kind: DynKind::Absolute,
                                symbol,
                                addend: v.a,
                            });
                        } else {
                            relative.push(DynReloc {
                                offset: v.p,
                                kind: DynKind::Relative,
                                symbol: None,
                                addend: (v.s as i64).wrapping_add(v.a),
                            });
                        }
                    }
                    if reloc::apply::<A>(r.r_type, dst, at, &v).map_err(|w| err(&w))?
                        == Applied::SkipNext
                    {
                        skip = true;
                    }
                }
            }
            Ok((relative, other))
        })
        .collect()
}
