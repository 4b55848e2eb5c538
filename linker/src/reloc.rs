//! Relocations, CPU-neutrally: what a relocation needs from the linker (decided by scanning,
//! before addresses exist), and the one routine that applies every relocation of every CPU.
//!
//! A CPU is described by an [`Arch`]: a table that says, per raw relocation type, what value is
//! computed ([`RelocKind`]), into which field it goes ([`Field`]) and what range it must fit
//! ([`Overflow`]); plus hooks for what no table can say — the scan decision (GOT slot, PLT entry,
//! copy, dynamic relocation), the relaxations that rewrite instructions, and diagnostics'
//! names. This is the shape of wild's `Arch` and mold's per-CPU hooks. Each (format, CPU)
//! implements it in one file of its format's crate (`linker/elf/src/x86_64.rs`).

use crate::target::Cpu;

/// What the linker must provide for one relocation, decided before layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing beyond the symbol's address.
    Nothing,
    /// A GOT slot holding the symbol's address.
    Got,
    /// A PLT entry (calls to an imported function, or to an indirect function).
    Plt,
    /// A PLT entry that is the imported function's address in the whole process: a
    /// position-dependent executable takes the address as a constant, so the executable's
    /// dynamic symbol carries the entry's address and the libraries' references bind to it.
    CanonicalPlt,
    /// A GOT slot holding the symbol's offset from the thread pointer (initial-exec TLS).
    GotTpOff,
    /// A dynamic relocation at the place itself (absolute data in a position-independent
    /// output, or any absolute reference to an imported symbol).
    DynamicAbsolute,
    /// A pair of GOT slots (module id, offset) for general-dynamic TLS in a shared library,
    /// where TLS cannot be relaxed: the library may be loaded by dlopen.
    TlsGd,
    /// A TLS descriptor (resolver, argument): two GOT slots the loader fills, for the
    /// descriptor sequences of a shared library.
    TlsDesc,
    /// The module's (module id, 0) pair for local-dynamic TLS in a shared library.
    TlsLd,
    /// A copy of imported data in the executable's own zero-fill section (a copy
    /// relocation): position-dependent code reaches data directly, so the data must live in
    /// the executable.
    Copy,
}

/// How the symbol a relocation names is bound, as far as relocation processing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetInfo {
    /// Imported from a shared library (or preemptible data of a shared output).
    pub dynamic: bool,
    /// An imported symbol known to be data (a PC-relative reference would need a copy).
    pub dynamic_data: bool,
    pub tls: bool,
    /// A weak reference no definition satisfied: its address is 0.
    pub undefined_weak: bool,
    /// Defined with an absolute value (`SHN_ABS`, `--defsym NAME=NUMBER`): not moved with
    /// the output's load address.
    pub absolute: bool,
    /// An indirect function defined here: callers go through a PLT entry whose GOT slot the
    /// resolver's answer fills at start-up.
    pub ifunc: bool,
}

impl TargetInfo {
    /// Its address is the same wherever the output is loaded (0 for an undefined weak).
    pub fn is_absolute(&self) -> bool {
        self.undefined_weak || self.absolute
    }
}

/// Facts about the place being relocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceInfo {
    /// The section is loaded; debug sections are not and get static values.
    pub alloc: bool,
    pub writable: bool,
    pub pie: bool,
    /// The output is a shared library: TLS stays dynamic.
    pub shared: bool,
    /// A dynamic relocation may patch this read-only section (a text relocation: GNU ld's
    /// `-z notext`, its default); otherwise one is an error.
    pub text_relocations: bool,
}

/// Why a relocation cannot be linked (the caller adds file, section, offset and symbol).
pub type Refusal = String;

/// Everything a relocation's value can be computed from.
#[derive(Debug, Clone, Copy)]
pub struct Values {
    /// Address of the place.
    pub p: u64,
    /// Address of the symbol (its PLT entry for imported and indirect functions).
    pub s: u64,
    pub a: i64,
    /// The symbol's size.
    pub size: u64,
    /// Address of the symbol's GOT slot (its TP-offset slot or TLS pair for TLS relocations),
    /// if it has one.
    pub got_slot: Option<u64>,
    /// The GOT's base (`_GLOBAL_OFFSET_TABLE_`).
    pub got_base: u64,
    /// The address the image is linked at (PE's image-relative values are from it).
    pub image_base: u64,
    /// For TLS symbols: the offset from the thread pointer.
    pub tpoff: i64,
    /// The symbol is defined in the output (not imported, not undefined weak).
    pub local: bool,
    /// The output is a shared library: TLS sequences stay, and DTP offsets are the offset in
    /// the module's own TLS block (`dtpoff`).
    pub shared: bool,
    pub dtpoff: i64,
}

/// What [`apply`] did beyond writing the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The relocation began a TLS sequence rewritten as a whole: the next relocation (the
    /// call to `__tls_get_addr`) must be skipped.
    SkipNext,
}

/// The value a relocation computes (S: symbol, A: addend, P: place, G: GOT slot, GOT: GOT
/// base, TP: thread-pointer offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocKind {
    /// S + A.
    Absolute,
    /// S + A − P.
    PcRelative,
    /// G + A − P.
    GotPcRelative,
    /// G − GOT + A.
    GotOffset,
    /// GOT + A − P.
    GotBasePcRelative,
    /// S − GOT + A.
    SymbolGotOffset,
    /// Page(S + A) − Page(P), pages of 4 KiB (AArch64 ADRP).
    PageRelative,
    /// Page(G + A) − Page(P).
    GotPageRelative,
    /// G + A: the slot's own address (the low bits of an AArch64 GOT load).
    GotAddress,
    /// G + A − Page(GOT).
    GotOffsetFromGotPage,
    /// The symbol's size + A.
    Size,
    /// TP + A: local-exec TLS.
    TpOff,
    /// S + A − the image base: PE's RVAs (`IMAGE_REL_AMD64_ADDR32NB`).
    ImageRelative,
    /// The offset in the module's TLS block + A; in an executable, where local-dynamic was
    /// relaxed to local-exec, the module's block is at the thread pointer, so this is TP + A.
    DtpOff,
}

/// Where the value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Nothing is written (`R_X86_64_NONE`).
    None,
    /// A little-endian data word of 2 bytes.
    Le16,
    /// A little-endian data word of 4 bytes.
    Le32,
    /// A little-endian data word of 8 bytes.
    Le64,
    /// An AArch64 ADR/ADRP immediate: 21 bits, the low two in bits 29–30 and the rest in bits
    /// 5–23 of the instruction; `shift` is 12 for ADRP (the value is a page delta).
    A64Adr {
        shift: u8,
    },
    /// The 12-bit unsigned immediate of an AArch64 ADD or load/store (bits 10–21): bits
    /// `shift..shift + 12` of the value, divided by the access size `1 << scale`, which the
    /// value must be a multiple of.
    A64Imm12 {
        shift: u8,
        scale: u8,
    },
    /// A branch or literal-load offset in words: B/BL imm26 (bits 0–25), B.cond/CBZ/LDR
    /// literal imm19 (bits 5–23), TBZ imm14 (bits 5–18). The value must be 4-aligned.
    A64Branch26,
    A64Imm19,
    A64Imm14,
    /// The 16-bit immediate of MOVZ/MOVK/MOVN (bits 5–20): bits `shift..shift + 16` of the
    /// value. `signed`: a negative value turns MOVZ into MOVN of the inverted bits.
    A64MovW {
        shift: u8,
        signed: bool,
    },
}

impl Field {
    /// How many bytes of the place the field covers.
    pub fn width(self) -> u64 {
        match self {
            Field::None => 0,
            Field::Le16 => 2,
            Field::Le64 => 8,
            _ => 4,
        }
    }
}

/// The range the value must fit before it is truncated to its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// The field holds every value (it is as wide as the address space).
    None,
    Signed(u8),
    Unsigned(u8),
}

/// One row of a CPU's relocation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelocInfo {
    pub kind: RelocKind,
    pub field: Field,
    pub overflow: Overflow,
}

impl RelocInfo {
    pub const NONE: RelocInfo = RelocInfo {
        kind: RelocKind::Absolute,
        field: Field::None,
        overflow: Overflow::None,
    };

    pub const fn new(kind: RelocKind, field: Field, overflow: Overflow) -> Self {
        RelocInfo {
            kind,
            field,
            overflow,
        }
    }
}

/// Which GOT entry a relocation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GotUse {
    Address,
    TpOff,
    TlsGd,
    TlsLd,
    TlsDesc,
}

/// A dynamic relocation, as the loader (or a static executable's start-up code) must apply
/// it; each (format, CPU) encodes these in its own numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynKind {
    /// Load base + addend.
    Relative,
    /// An imported symbol's address + addend, at a place in the data.
    Absolute,
    /// An imported symbol's address, into its GOT slot.
    GlobDat,
    /// An imported variable's offset from the thread pointer, into its GOT slot.
    TpOff,
    /// The TLS module id of a symbol (or of this module).
    DtpMod,
    /// The offset of a symbol in its module's TLS block.
    DtpOff,
    /// What an indirect function's resolver returns (resolver address in the addend).
    IRelative,
    /// Copy the imported data's initial value into the executable's copy.
    Copy,
    /// A TLS descriptor: the loader fills the two slots with a resolver and its argument.
    TlsDesc,
    /// An imported function's address, into the PLT's slot (`.rela.plt`).
    JumpSlot,
}

/// A CPU's relocation facts and hooks, for one object format's numbering.
pub trait Arch: Sync + Send + 'static {
    const CPU: Cpu;

    /// The type's name for diagnostics (`R_X86_64_PC32`).
    fn type_name(r_type: u32) -> String;

    /// The table row for a type, in this kind of output (some types mean something else in a
    /// shared library, where TLS is not relaxed); `None` for types rlink does not apply.
    fn reloc_info(r_type: u32, shared: bool) -> Option<RelocInfo>;

    /// What the relocation needs from the linker.
    fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal>;

    /// Relaxations and instruction rewrites: `Some` when this hook wrote the place itself
    /// (a GOT load turned into a direct reference, a TLS sequence into local-exec), `None` to
    /// let the table apply the relocation.
    fn relax(
        r_type: u32,
        buf: &mut [u8],
        at: usize,
        v: &Values,
    ) -> Option<Result<Applied, Refusal>>;

    /// The GOT entry a relocation reads, if any.
    fn got_use(r_type: u32, shared: bool) -> Option<GotUse>;

    /// Whether [`Arch::relax`] may rewrite relocations of non-loaded sections (debug
    /// information), or only code: `false` lets the relocation pass apply those by the table
    /// alone.
    const RELAXES_UNLOADED: bool = true;

    /// Whether [`Arch::relax`] may act on relocations of this type; `false` lets the
    /// relocation pass apply them by the table alone. By default every type may be relaxed.
    fn may_relax(r_type: u32) -> bool {
        let _ = r_type;
        true
    }

    /// The part of a PC-relative addend that reaches from the field to the end of its
    /// instruction (x86's −4): a reference into merged strings names the string at
    /// addend − bias.
    fn merged_string_bias(r_type: u32) -> i64;

    /// For branches that may go through a range-extension thunk when their target is too far:
    /// the reach, as the half-open range of `target − place` the instruction can encode.
    fn branch_range(r_type: u32) -> Option<(i64, i64)> {
        let _ = r_type;
        None
    }
}

/// Applies one relocation at `at` in `buf` (the section's output bytes): the CPU's relaxation
/// hook first, then its table.
#[inline]
pub fn apply<A: Arch>(
    r_type: u32,
    buf: &mut [u8],
    at: usize,
    v: &Values,
) -> Result<Applied, Refusal> {
    if let Some(done) = A::relax(r_type, buf, at, v) {
        return done;
    }
    apply_table::<A>(r_type, buf, at, v)
}

/// Applies one relocation by the CPU's table alone, with no relaxation: what [`apply`] does
/// when [`Arch::relax`] leaves a relocation alone, and all a non-loaded section's relocations
/// need on CPUs whose relaxations are all in code ([`Arch::RELAXES_UNLOADED`]).
#[inline]
pub fn apply_table<A: Arch>(
    r_type: u32,
    buf: &mut [u8],
    at: usize,
    v: &Values,
) -> Result<Applied, Refusal> {
    let Some(info) = A::reloc_info(r_type, v.shared) else {
        return Err("this relocation type is not supported".to_string());
    };
    if info.field == Field::None {
        return Ok(Applied::Done);
    }
    let slot = || {
        v.got_slot
            .ok_or("GOT slot missing (linker bug)".to_string())
    };
    let page = |x: u64| x & !0xfff;
    let value: i64 = match info.kind {
        RelocKind::Absolute => (v.s as i64).wrapping_add(v.a),
        RelocKind::PcRelative => pcrel(v.s, v),
        RelocKind::GotPcRelative => pcrel(slot()?, v),
        RelocKind::GotOffset => (slot()?.wrapping_sub(v.got_base) as i64).wrapping_add(v.a),
        RelocKind::GotBasePcRelative => pcrel(v.got_base, v),
        RelocKind::SymbolGotOffset => (v.s.wrapping_sub(v.got_base) as i64).wrapping_add(v.a),
        RelocKind::Size => (v.size as i64).wrapping_add(v.a),
        RelocKind::TpOff => v.tpoff.wrapping_add(v.a),
        RelocKind::ImageRelative => (v.s.wrapping_sub(v.image_base) as i64).wrapping_add(v.a),
        RelocKind::DtpOff if v.shared => v.dtpoff.wrapping_add(v.a),
        RelocKind::DtpOff => v.tpoff.wrapping_add(v.a),
        RelocKind::PageRelative => {
            page(v.s.wrapping_add(v.a as u64)).wrapping_sub(page(v.p)) as i64
        }
        RelocKind::GotPageRelative => {
            page(slot()?.wrapping_add(v.a as u64)).wrapping_sub(page(v.p)) as i64
        }
        RelocKind::GotAddress => slot()?.wrapping_add(v.a as u64) as i64,
        RelocKind::GotOffsetFromGotPage => slot()?
            .wrapping_add(v.a as u64)
            .wrapping_sub(page(v.got_base)) as i64,
    };
    check_range(value, info.overflow)?;
    // Data words are most relocations (and all of debug info's): written here; instruction
    // fields go through the general writer.
    match info.field {
        Field::Le32 => write32(buf, at, value as u32)?,
        Field::Le64 => write64(buf, at, value as u64)?,
        // The caller's message names the relocation type and symbol.
        field => write_field(field, buf, at, value)?,
    }
    Ok(Applied::Done)
}

/// Writes `value` into `field` at `at`: data words little-endian, AArch64 immediates into
/// their instruction's bit fields (the rest of the instruction kept).
pub fn write_field(field: Field, buf: &mut [u8], at: usize, value: i64) -> Result<(), Refusal> {
    let insn = |buf: &mut [u8], f: &dyn Fn(u32) -> u32| -> Result<(), Refusal> {
        let bytes = at
            .checked_add(4)
            .and_then(|end| buf.get_mut(at..end))
            .ok_or("relocation place outside its section")?;
        let old = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        bytes.copy_from_slice(&f(old).to_le_bytes());
        Ok(())
    };
    let aligned = |bits: u32| -> Result<(), Refusal> {
        if value & ((1 << bits) - 1) == 0 {
            Ok(())
        } else {
            Err(format!(
                "value {value:#x} is not a multiple of {} (misaligned)",
                1u64 << bits
            ))
        }
    };
    match field {
        Field::None => Ok(()),
        Field::Le16 => match at.checked_add(2).and_then(|end| buf.get_mut(at..end)) {
            Some(b) => {
                b.copy_from_slice(&(value as u16).to_le_bytes());
                Ok(())
            }
            None => Err("relocation place outside its section".to_string()),
        },
        Field::Le32 => write32(buf, at, value as u32),
        Field::Le64 => write64(buf, at, value as u64),
        Field::A64Adr { shift } => {
            let imm = (value >> shift) as u32;
            insn(buf, &|old| {
                (old & !((0x3 << 29) | (0x7ffff << 5)))
                    | ((imm & 0x3) << 29)
                    | (((imm >> 2) & 0x7ffff) << 5)
            })
        }
        Field::A64Imm12 { shift, scale } => {
            let bits = (value >> shift) & 0xfff;
            if bits & ((1 << scale) - 1) != 0 {
                return Err(format!(
                    "value {value:#x} is not aligned to the {}-byte access (misaligned)",
                    1u64 << scale
                ));
            }
            let imm = (bits >> scale) as u32;
            insn(buf, &|old| (old & !(0xfff << 10)) | (imm << 10))
        }
        Field::A64Branch26 => {
            aligned(2)?;
            let imm = ((value >> 2) as u32) & 0x3ff_ffff;
            insn(buf, &|old| (old & !0x3ff_ffff) | imm)
        }
        Field::A64Imm19 => {
            aligned(2)?;
            let imm = ((value >> 2) as u32) & 0x7ffff;
            insn(buf, &|old| (old & !(0x7ffff << 5)) | (imm << 5))
        }
        Field::A64Imm14 => {
            aligned(2)?;
            let imm = ((value >> 2) as u32) & 0x3fff;
            insn(buf, &|old| (old & !(0x3fff << 5)) | (imm << 5))
        }
        Field::A64MovW { shift, signed } => {
            // MOVZ is opc 10, MOVN opc 00 (bits 29–30); a negative value is written as MOVN
            // of its complement, which the instruction inverts back.
            let negative = signed && value < 0;
            let v = if negative { !value } else { value };
            let imm = ((v >> shift) as u32) & 0xffff;
            insn(buf, &|old| {
                let mut new = (old & !(0xffff << 5)) | (imm << 5);
                if signed {
                    new = (new & !(0x3 << 29)) | if negative { 0 } else { 0x2 << 29 };
                }
                new
            })
        }
    }
}

/// S + A − P, wrapping as addresses do.
#[inline]
pub fn pcrel(target: u64, v: &Values) -> i64 {
    (target as i64).wrapping_add(v.a).wrapping_sub(v.p as i64)
}

/// Applies a relocation whose value is S + A, S + A − P or their page difference, straight
/// from the CPU's table (most relocations of code and data, nearly all of debug
/// information's), without the general [`Values`]. Returns `None`, having written nothing, for
/// every other kind, which [`apply`] handles. The caller has ruled out relaxations
/// ([`Arch::may_relax`]) and GOT slots.
#[inline(always)]
pub fn apply_simple<A: Arch>(
    r_type: u32,
    buf: &mut [u8],
    at: usize,
    s: u64,
    a: i64,
    p: u64,
    shared: bool,
) -> Option<Result<(), Refusal>> {
    let info = A::reloc_info(r_type, shared)?;
    let page = |x: u64| x & !0xfff;
    let value = match info.kind {
        RelocKind::Absolute => (s as i64).wrapping_add(a),
        RelocKind::PcRelative => (s as i64).wrapping_add(a).wrapping_sub(p as i64),
        RelocKind::PageRelative => page(s.wrapping_add(a as u64)).wrapping_sub(page(p)) as i64,
        _ => return None,
    };
    Some(match info.field {
        Field::None => Ok(()),
        Field::Le64 => {
            check_range(value, info.overflow).and_then(|()| write64(buf, at, value as u64))
        }
        Field::Le32 => {
            check_range(value, info.overflow).and_then(|()| write32(buf, at, value as u32))
        }
        field => {
            check_range(value, info.overflow).and_then(|()| write_field(field, buf, at, value))
        }
    })
}

#[inline(always)]
fn check_range(value: i64, overflow: Overflow) -> Result<(), Refusal> {
    match overflow {
        Overflow::None => Ok(()),
        Overflow::Signed(bits) => {
            let limit = 1i64 << (bits - 1);
            if (-limit..limit).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "value {value:#x} does not fit in {bits} bits (overflow)"
                ))
            }
        }
        Overflow::Unsigned(bits) => {
            if (value as u64) >> bits == 0 {
                Ok(())
            } else {
                Err(format!(
                    "value {:#x} does not fit in {bits} unsigned bits (overflow)",
                    value as u64
                ))
            }
        }
    }
}

/// A signed value that must fit 32 bits, for relaxations that write their own fields.
pub fn signed32(v: i64, what: &str) -> Result<u32, Refusal> {
    i32::try_from(v)
        .map(|v| v as u32)
        .map_err(|_| format!("{what} value {v:#x} does not fit in 32 bits (overflow)"))
}

#[inline]
pub fn write32(buf: &mut [u8], at: usize, v: u32) -> Result<(), Refusal> {
    match at.checked_add(4).and_then(|end| buf.get_mut(at..end)) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err("relocation place outside its section".to_string()),
    }
}

#[inline]
pub fn write64(buf: &mut [u8], at: usize, v: u64) -> Result<(), Refusal> {
    match at.checked_add(8).and_then(|end| buf.get_mut(at..end)) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err("relocation place outside its section".to_string()),
    }
}
