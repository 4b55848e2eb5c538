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
    /// A GOT slot holding the symbol's offset from the thread pointer (initial-exec TLS).
    GotTpOff,
    /// A dynamic relocation at the place itself (absolute data in a position-independent
    /// output, or any absolute reference to an imported symbol).
    DynamicAbsolute,
    /// A pair of GOT slots (module id, offset) for general-dynamic TLS in a shared library,
    /// where TLS cannot be relaxed: the library may be loaded by dlopen.
    TlsGd,
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
    /// An indirect function defined here: callers go through a PLT entry whose GOT slot the
    /// resolver's answer fills at start-up.
    pub ifunc: bool,
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
    /// The symbol's size + A.
    Size,
    /// TP + A: local-exec TLS.
    TpOff,
    /// The offset in the module's TLS block + A; in an executable, where local-dynamic was
    /// relaxed to local-exec, the module's block is at the thread pointer, so this is TP + A.
    DtpOff,
}

/// Where the value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Nothing is written (`R_X86_64_NONE`).
    None,
    /// A little-endian data word of 4 bytes.
    Le32,
    /// A little-endian data word of 8 bytes.
    Le64,
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

    /// The part of a PC-relative addend that reaches from the field to the end of its
    /// instruction (x86's −4): a reference into merged strings names the string at
    /// addend − bias.
    fn merged_string_bias(r_type: u32) -> i64;
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
    let value: i64 = match info.kind {
        RelocKind::Absolute => (v.s as i64).wrapping_add(v.a),
        RelocKind::PcRelative => pcrel(v.s, v),
        RelocKind::GotPcRelative => pcrel(slot()?, v),
        RelocKind::GotOffset => (slot()?.wrapping_sub(v.got_base) as i64).wrapping_add(v.a),
        RelocKind::GotBasePcRelative => pcrel(v.got_base, v),
        RelocKind::SymbolGotOffset => (v.s.wrapping_sub(v.got_base) as i64).wrapping_add(v.a),
        RelocKind::Size => (v.size as i64).wrapping_add(v.a),
        RelocKind::TpOff => v.tpoff.wrapping_add(v.a),
        RelocKind::DtpOff if v.shared => v.dtpoff.wrapping_add(v.a),
        RelocKind::DtpOff => v.tpoff.wrapping_add(v.a),
    };
    check_range(value, info.overflow, || A::type_name(r_type))?;
    match info.field {
        Field::None => {}
        Field::Le32 => write32(buf, at, value as u32)?,
        Field::Le64 => write64(buf, at, value as u64)?,
    }
    Ok(Applied::Done)
}

/// S + A − P, wrapping as addresses do.
#[inline]
pub fn pcrel(target: u64, v: &Values) -> i64 {
    (target as i64).wrapping_add(v.a).wrapping_sub(v.p as i64)
}

fn check_range(value: i64, overflow: Overflow, name: impl Fn() -> String) -> Result<(), Refusal> {
    match overflow {
        Overflow::None => Ok(()),
        Overflow::Signed(bits) => {
            let limit = 1i64 << (bits - 1);
            if (-limit..limit).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{} value {value:#x} does not fit in {bits} bits (overflow)",
                    name()
                ))
            }
        }
        Overflow::Unsigned(bits) => {
            if (value as u64) >> bits == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{} value {:#x} does not fit in {bits} unsigned bits (overflow)",
                    name(),
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

pub fn write32(buf: &mut [u8], at: usize, v: u32) -> Result<(), Refusal> {
    match at.checked_add(4).and_then(|end| buf.get_mut(at..end)) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err("relocation place outside its section".to_string()),
    }
}

pub fn write64(buf: &mut [u8], at: usize, v: u64) -> Result<(), Refusal> {
    match at.checked_add(8).and_then(|end| buf.get_mut(at..end)) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err("relocation place outside its section".to_string()),
    }
}
