//! x86-64 relocations: what each type needs from the linker (scan) and how it is written
//! (apply), including the standard relaxations of the psABI (x86-64 System V ABI, §B.2 for
//! GOTPCRELX, and the TLS transitions of Drepper's "ELF Handling for Thread-Local Storage").
//! To learn how rlink links x86-64, read this file.

use object::elf;

/// What the linker must provide for one relocation, decided before layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing beyond the symbol's address.
    Nothing,
    /// A GOT slot holding the symbol's address.
    Got,
    /// A PLT entry (calls to an imported function).
    Plt,
    /// A GOT slot holding the symbol's offset from the thread pointer (initial-exec TLS).
    GotTpOff,
    /// A dynamic relocation at the place itself (absolute 64-bit data in a PIE, or any
    /// absolute reference to an imported symbol).
    DynamicAbsolute,
    /// A pair of GOT slots (module id, offset) for general-dynamic TLS in a shared library,
    /// where TLS cannot be relaxed: the library may be loaded by dlopen.
    TlsGd,
    /// The module's (module id, 0) pair for local-dynamic TLS in a shared library.
    TlsLd,
    /// A copy of imported data in the executable's own .bss (R_X86_64_COPY): non-PIC code
    /// reaches data directly, so the data must live in the executable.
    Copy,
}

/// How the symbol a relocation names is bound, as far as relocation processing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetInfo {
    /// Imported from a shared library.
    pub dynamic: bool,
    /// An imported symbol known to be data (a PC-relative reference would need a copy
    /// relocation).
    pub dynamic_data: bool,
    pub tls: bool,
    /// A weak reference no definition satisfied: its address is 0.
    pub undefined_weak: bool,
    /// An indirect function (STT_GNU_IFUNC) defined here: callers go through a PLT entry
    /// whose GOT slot an IRELATIVE relocation fills with the resolver's answer.
    pub ifunc: bool,
}

/// Facts about the place being relocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceInfo {
    /// The section is loaded (SHF_ALLOC); debug sections are not and get static values.
    pub alloc: bool,
    pub writable: bool,
    pub pie: bool,
    /// The output is a shared library: TLS stays dynamic.
    pub shared: bool,
}

/// Why a relocation cannot be linked.
pub type Refusal = String;

pub fn type_name(r_type: u32) -> String {
    match elf::machine_names(elf::EM_X86_64)
        .r
        .name(elf::RelocationType(r_type))
    {
        Some(n) => n.to_string(),
        None => format!("unknown relocation type {r_type}"),
    }
}

/// Decides what a relocation needs. The instruction bytes are needed to know whether a
/// GOT load can be relaxed away.
pub fn scan(r_type: u32, target: TargetInfo, place: PlaceInfo) -> Result<Need, Refusal> {
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
            } else if target.dynamic || (place.pie && !target.undefined_weak && !target.tls) {
                if !place.writable {
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
        R_X86_64_32 | R_X86_64_32S => {
            if place.alloc && (place.pie || target.dynamic) && !target.undefined_weak {
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

/// Everything `apply` needs to compute one relocation's value.
#[derive(Debug, Clone, Copy)]
pub struct Values {
    /// Address of the place.
    pub p: u64,
    /// The symbol's address (its PLT entry's for an imported function).
    pub s: u64,
    pub a: i64,
    /// The symbol's size.
    pub size: u64,
    /// Address of the symbol's GOT slot (or its TP-offset slot for TLS), if it has one.
    pub got_slot: Option<u64>,
    /// `_GLOBAL_OFFSET_TABLE_`.
    pub got_base: u64,
    /// For TLS symbols: offset from the thread pointer (negative on x86-64).
    pub tpoff: i64,
    /// The symbol is defined in the output (not imported, not undefined weak).
    pub local: bool,
    /// The output is a shared library: TLS sequences stay as they are, and DTPOFF is the
    /// offset in the module's own TLS block (`dtpoff`).
    pub shared: bool,
    pub dtpoff: i64,
}

/// What `apply` did beyond writing the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The relocation was part of a TLS sequence rewritten as a whole: the next relocation
    /// (the call to `__tls_get_addr`) must be skipped.
    SkipNext,
}

fn write32(buf: &mut [u8], at: usize, v: u32) -> Result<(), Refusal> {
    match buf.get_mut(at..at + 4) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err("relocation place outside its section".to_string()),
    }
}

fn write64(buf: &mut [u8], at: usize, v: u64) -> Result<(), Refusal> {
    match buf.get_mut(at..at + 8) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        None => Err("relocation place outside its section".to_string()),
    }
}

fn signed32(v: i64, what: &str) -> Result<u32, Refusal> {
    i32::try_from(v)
        .map(|v| v as u32)
        .map_err(|_| format!("{what} value {v:#x} does not fit in 32 bits (overflow)"))
}

fn unsigned32(v: u64, what: &str) -> Result<u32, Refusal> {
    u32::try_from(v)
        .map_err(|_| format!("{what} value {v:#x} does not fit in 32 unsigned bits (overflow)"))
}

fn pcrel(target: u64, v: &Values) -> i64 {
    (target as i64).wrapping_add(v.a).wrapping_sub(v.p as i64)
}

/// Writes one relocation at `at` in `buf` (the section's output bytes).
pub fn apply(r_type: u32, buf: &mut [u8], at: usize, v: &Values) -> Result<Applied, Refusal> {
    use elf::*;
    let t = RelocationType(r_type);
    let name = || type_name(r_type);
    match t {
        R_X86_64_NONE => {}
        R_X86_64_64 => write64(buf, at, (v.s as i64).wrapping_add(v.a) as u64)?,
        R_X86_64_32 => write32(
            buf,
            at,
            unsigned32((v.s as i64).wrapping_add(v.a) as u64, &name())?,
        )?,
        R_X86_64_32S => write32(buf, at, signed32((v.s as i64).wrapping_add(v.a), &name())?)?,
        R_X86_64_PC32 | R_X86_64_PLT32 => write32(buf, at, signed32(pcrel(v.s, v), &name())?)?,
        R_X86_64_PC64 => write64(buf, at, pcrel(v.s, v) as u64)?,
        R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX if v.local => {
            relax_got_load(buf, at, t == R_X86_64_REX_GOTPCRELX, v)?;
        }
        R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
            let slot = v.got_slot.ok_or("GOT slot missing (linker bug)")?;
            write32(buf, at, signed32(pcrel(slot, v), &name())?)?
        }
        R_X86_64_GOTPCREL64 => {
            let slot = v.got_slot.ok_or("GOT slot missing (linker bug)")?;
            write64(buf, at, pcrel(slot, v) as u64)?
        }
        R_X86_64_GOT64 => {
            let slot = v.got_slot.ok_or("GOT slot missing (linker bug)")?;
            write64(
                buf,
                at,
                (slot.wrapping_sub(v.got_base) as i64).wrapping_add(v.a) as u64,
            )?
        }
        R_X86_64_GOTPC32 => write32(buf, at, signed32(pcrel(v.got_base, v), &name())?)?,
        R_X86_64_GOTPC64 => write64(buf, at, pcrel(v.got_base, v) as u64)?,
        R_X86_64_GOTOFF64 => write64(
            buf,
            at,
            (v.s.wrapping_sub(v.got_base) as i64).wrapping_add(v.a) as u64,
        )?,
        R_X86_64_SIZE32 => write32(
            buf,
            at,
            unsigned32((v.size as i64).wrapping_add(v.a) as u64, &name())?,
        )?,
        R_X86_64_SIZE64 => write64(buf, at, (v.size as i64).wrapping_add(v.a) as u64)?,
        R_X86_64_TPOFF32 => write32(buf, at, signed32(v.tpoff.wrapping_add(v.a), &name())?)?,
        R_X86_64_TPOFF64 => write64(buf, at, v.tpoff.wrapping_add(v.a) as u64)?,
        // In a shared library the TLS sequences call __tls_get_addr through a GOT pair.
        R_X86_64_TLSGD | R_X86_64_TLSLD if v.shared => {
            let slot = v.got_slot.ok_or("TLS GOT pair missing (linker bug)")?;
            write32(buf, at, signed32(pcrel(slot, v), &name())?)?
        }
        R_X86_64_DTPOFF32 if v.shared => {
            write32(buf, at, signed32(v.dtpoff.wrapping_add(v.a), &name())?)?
        }
        R_X86_64_DTPOFF64 if v.shared => write64(buf, at, v.dtpoff.wrapping_add(v.a) as u64)?,
        R_X86_64_GOTTPOFF if v.shared => {
            let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
            write32(buf, at, signed32(pcrel(slot, v), &name())?)?
        }
        // After LD→LE relaxation the module base is the thread pointer, so a DTPOFF is a TPOFF.
        R_X86_64_DTPOFF32 => write32(buf, at, signed32(v.tpoff.wrapping_add(v.a), &name())?)?,
        R_X86_64_DTPOFF64 => write64(buf, at, v.tpoff.wrapping_add(v.a) as u64)?,
        // Defined here (or an undefined weak variable, which scan gave no slot): local-exec.
        R_X86_64_GOTTPOFF if v.local || v.got_slot.is_none() => relax_ie_to_le(buf, at, v)?,
        R_X86_64_GOTTPOFF => {
            let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
            write32(buf, at, signed32(pcrel(slot, v), &name())?)?
        }
        R_X86_64_TLSGD => {
            relax_gd(buf, at, v)?;
            return Ok(Applied::SkipNext);
        }
        R_X86_64_TLSLD => {
            relax_ld_to_le(buf, at)?;
            return Ok(Applied::SkipNext);
        }
        _ => return Err("this relocation type is not supported".to_string()),
    }
    Ok(Applied::Done)
}

/// GOTPCRELX relaxation (psABI B.2): a GOT load of a symbol defined in the output becomes a
/// direct reference: `mov foo@GOTPCREL(%rip), %reg` → `lea foo(%rip), %reg`;
/// `call/jmp *foo@GOTPCREL(%rip)` → `addr32 call foo` / `jmp foo; nop`. Other instructions keep
/// the GOT slot.
fn relax_got_load(buf: &mut [u8], at: usize, rex: bool, v: &Values) -> Result<(), Refusal> {
    let direct = signed32(pcrel(v.s, v), "relaxed GOTPCRELX")?;
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

/// General-dynamic → local-exec (or initial-exec for imported variables). The psABI's GD
/// sequence is `data16 lea x@tlsgd(%rip), %rdi; data16 data16 rex64 call __tls_get_addr@PLT`
/// (16 bytes from `at - 4`); it becomes `mov %fs:0, %rax; lea x@tpoff(%rax), %rax` or
/// `mov %fs:0, %rax; add x@gottpoff(%rip), %rax`.
fn relax_gd(buf: &mut [u8], at: usize, v: &Values) -> Result<(), Refusal> {
    const GD: [u8; 4] = [0x66, 0x48, 0x8d, 0x3d];
    let start = at
        .checked_sub(4)
        .ok_or("TLSGD relocation too close to the section start")?;
    let seq = buf
        .get(start..start + 16)
        .ok_or("TLSGD sequence runs past the section end")?;
    if seq[..4] != GD || seq[8..12] != [0x66, 0x66, 0x48, 0xe8] {
        return Err(
            "TLSGD relocation not in the standard `data16 lea; data16 data16 rex64 call` sequence"
                .to_string(),
        );
    }
    if v.local || v.got_slot.is_none() {
        let tpoff = signed32(v.tpoff.wrapping_add(v.a).wrapping_add(4), "TPOFF")?;
        buf[start..start + 12]
            .copy_from_slice(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x8d, 0x80]);
        write32(buf, start + 12, tpoff)
    } else {
        let slot = v.got_slot.ok_or("TLS GOT slot missing (linker bug)")?;
        buf[start..start + 12]
            .copy_from_slice(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x03, 0x05]);
        // The displacement ends the 16-byte sequence; RIP is the next instruction.
        let disp = (slot as i64).wrapping_sub((v.p as i64) - 4 + 16);
        write32(buf, start + 12, signed32(disp, "GOTTPOFF")?)
    }
}

/// Local-dynamic → local-exec: `lea x@tlsld(%rip), %rdi; call __tls_get_addr@PLT` (12 bytes
/// from `at - 3`) becomes `data16 data16 data16 mov %fs:0, %rax`; the DTPOFF relocations that
/// follow then hold TP offsets.
fn relax_ld_to_le(buf: &mut [u8], at: usize) -> Result<(), Refusal> {
    let start = at
        .checked_sub(3)
        .ok_or("TLSLD relocation too close to the section start")?;
    let seq = buf
        .get_mut(start..start + 12)
        .ok_or("TLSLD sequence runs past the section end")?;
    if seq[..3] != [0x48, 0x8d, 0x3d] || seq[7] != 0xe8 {
        return Err(
            "TLSLD relocation not in the standard `lea; call __tls_get_addr` sequence".to_string(),
        );
    }
    seq.copy_from_slice(&[0x66, 0x66, 0x66, 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]);
    Ok(())
}

/// A PLT entry: `jmp *slot(%rip)` padded to 8 bytes. With bind-now every slot is filled by the
/// dynamic loader before the program runs, so no lazy-binding header is needed.
pub const PLT_ENTRY_SIZE: u64 = 8;

pub fn write_plt_entry(out: &mut [u8], entry_addr: u64, slot_addr: u64) -> Result<(), Refusal> {
    let disp = signed32(
        (slot_addr as i64).wrapping_sub(entry_addr as i64 + 6),
        "PLT",
    )?;
    out[..2].copy_from_slice(&[0xff, 0x25]);
    out[2..6].copy_from_slice(&disp.to_le_bytes());
    out[6..8].copy_from_slice(&[0x66, 0x90]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(p: u64, s: u64, a: i64) -> Values {
        Values {
            p,
            s,
            a,
            size: 0,
            got_slot: Some(0x3000),
            got_base: 0x3000,
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
            ifunc: false,
        };
        let place = PlaceInfo {
            alloc: true,
            writable: false,
            pie: true,
            shared: false,
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
