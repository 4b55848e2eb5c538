//! External linking's first half for Apple targets: the Rust objects of the link merged into
//! one relocatable Mach-O object (`MH_OBJECT`) for the host linker (ld64, ld64.lld, zig), as
//! Go's linker writes `go.o`.
//!
//! The object says what rustc's objects said, in one file:
//! - Every kept piece of every input section (the view's atoms) goes into the output section
//!   of its name, in input order and at its alignment, so each input section's atoms stay
//!   contiguous. Debug sections are left out (Apple's linkers do not copy DWARF; they point
//!   debuggers at the objects, and this one is temporary); `__LD,__compact_unwind` is kept, so
//!   the host builds `__unwind_info` from it.
//! - `MH_SUBSECTIONS_VIA_SYMBOLS` with every input symbol where it was: the host's
//!   `-dead_strip` still drops one function at a time. A symbol inside its atom (an input's
//!   alternate entry, which the loader did not split at) is marked `N_ALT_ENTRY` so the host
//!   does not split there either.
//! - Global symbols stay global when the host side may need them — unmangled names, names host
//!   objects reference, exported names; mangled Rust names nothing outside uses become local,
//!   so two Rust programs' internals never clash. A definition another copy won (a weak
//!   duplicate) stays, as a local: what pointed at it still does, and the host strips it.
//! - Relocations are written back in the encoding each CPU's assembler uses: extern ones
//!   against the merged symbol table with the addend in the place (x86_64, arm64 data) or in a
//!   preceding `ARM64_RELOC_ADDEND`; references to a section by ordinal, with the target's
//!   address in this object stored in the place; differences as `SUBTRACTOR` pairs. An
//!   `__eh_frame` pointer (FDE `pc_begin`, LSDA) is what LLVM writes: on x86_64 the PC-relative
//!   value alone (ld64 and lld read such pointers without a relocation), on arm64 a pair
//!   against a symbol in `__eh_frame`.

use rlink_linker::object::{SectionFlags, SymPlace, SymbolKind as Kind, Visibility};
use rlink_linker::resolve::{Def, Resolution, LOCAL};
use rlink_linker::target::Cpu;
use rlink_linker::{bail, Error, Result};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::object::{
    decode_type, SUBTRACTOR, S_GB_ZEROFILL, S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_VARIABLES,
    S_THREAD_LOCAL_ZEROFILL, S_ZEROFILL, UNSIGNED,
};
use crate::MachArch;

const MH_MAGIC_64: u32 = 0xfeed_facf;
const MH_OBJECT: u32 = 1;
const MH_SUBSECTIONS_VIA_SYMBOLS: u32 = 0x2000;
const LC_SEGMENT_64: u32 = 0x19;
const LC_SYMTAB: u32 = 0x2;
const LC_DYSYMTAB: u32 = 0xb;
const LC_BUILD_VERSION: u32 = 0x32;
const PLATFORM_MACOS: u32 = 1;
const N_EXT: u8 = 0x01;
const N_PEXT: u8 = 0x10;
const N_SECT: u8 = 0x0e;
const N_ABS: u8 = 0x02;
const N_UNDF: u8 = 0x00;
const N_NO_DEAD_STRIP: u16 = 0x20;
const N_WEAK_REF: u16 = 0x40;
const N_WEAK_DEF: u16 = 0x80;
const N_ALT_ENTRY: u16 = 0x200;
const MAX_SECTIONS: usize = 255;

use crate::object::is_rust_mangled as is_mangled;

/// One section of the combined object.
struct OutSection {
    segname: Vec<u8>,
    sectname: Vec<u8>,
    flags: u32,
    align_log2: u8,
    size: u64,
    addr: u64,
    zero_fill: bool,
    data: Vec<u8>,
    /// Groups of raw relocations, each at one place (a pair, or an addend and its relocation).
    relocs: Vec<(u32, Vec<RawReloc>)>,
}

#[derive(Clone, Copy)]
struct RawReloc {
    address: u32,
    symbolnum: u32,
    pcrel: bool,
    length: u8,
    external: bool,
    r_type: u32,
}

impl RawReloc {
    fn encode(&self) -> [u8; 8] {
        let info = (self.symbolnum & 0x00ff_ffff)
            | u32::from(self.pcrel) << 24
            | u32::from(self.length & 3) << 25
            | u32::from(self.external) << 27
            | (self.r_type & 0xf) << 28;
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.address.to_le_bytes());
        out[4..].copy_from_slice(&info.to_le_bytes());
        out
    }
}

/// A symbol of the combined object before the table is sorted.
struct OutSymbol {
    name: Vec<u8>,
    n_type: u8,
    /// 1-based output section ordinal, 0 for none.
    n_sect: u8,
    n_desc: u16,
    value: u64,
}

/// Which table group a symbol goes in (`LC_DYSYMTAB`'s order).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Local,
    Defined,
    Undefined,
}

impl OutSymbol {
    fn group(&self) -> Group {
        if self.n_type & N_EXT == 0 {
            Group::Local
        } else if self.n_type & 0x0e == N_UNDF {
            Group::Undefined
        } else {
            Group::Defined
        }
    }
}

/// Builds the combined object from the resolution's Rust objects (`host[i]` marks objects
/// the host linker reads itself). `exported` names must stay global; `aliases` are
/// `cgo_export_static local remote` pairs, `remote` another name for `local`.
pub fn combine<A: MachArch>(
    res: &Resolution<'_>,
    exported: &FxHashSet<Vec<u8>>,
    aliases: &[(Vec<u8>, Vec<u8>)],
) -> Result<Vec<u8>> {
    let host = &res.host;
    // Output sections by name, non-zero-fill ones first (their bytes are the file's).
    let mut by_name: FxHashMap<&[u8], usize> = FxHashMap::default();
    let mut sections: Vec<OutSection> = Vec::new();
    // Per object, per view section: (output section, offset in it).
    let mut placed: Vec<Vec<Option<(usize, u64)>>> = res
        .objects
        .iter()
        .map(|o| vec![None; o.sections.len()])
        .collect();
    for zero_fill_pass in [false, true] {
        for (oi, o) in res.objects.iter().enumerate() {
            if host[oi] {
                continue;
            }
            for (si, s) in o.sections.iter().enumerate().skip(1) {
                let keep = s.name == b"__LD,__compact_unwind"
                    || (s.is_alloc() && !s.has(SectionFlags::INPUT_ONLY));
                if !keep || s.is_zero_fill() != zero_fill_pass {
                    continue;
                }
                let index = match by_name.get(s.name) {
                    Some(&i) => i,
                    None => {
                        let (seg, sect) = match s.name.iter().position(|&c| c == b',') {
                            Some(p) => (&s.name[..p], &s.name[p + 1..]),
                            None => (&b"__DATA"[..], s.name),
                        };
                        if seg.len() > 16 || sect.len() > 16 {
                            bail!("{}: section name {} too long", o.place, lossy(s.name));
                        }
                        sections.push(OutSection {
                            segname: seg.to_vec(),
                            sectname: sect.to_vec(),
                            flags: s.raw_flags | s.raw_type,
                            align_log2: 0,
                            size: 0,
                            addr: 0,
                            zero_fill: s.is_zero_fill(),
                            data: Vec::new(),
                            relocs: Vec::new(),
                        });
                        by_name.insert(s.name, sections.len() - 1);
                        sections.len() - 1
                    }
                };
                let out = &mut sections[index];
                let at = out
                    .size
                    .checked_next_multiple_of(s.align())
                    .and_then(|at| at.checked_add(s.size).map(|end| (at, end)));
                let Some((at, end)) = at.filter(|&(_, end)| end < 1 << 32) else {
                    bail!("the combined object's {} passes 4 GiB", lossy(s.name));
                };
                out.align_log2 = out.align_log2.max(s.align_log2);
                if !out.zero_fill {
                    out.data.resize(at as usize, 0);
                    out.data.extend_from_slice(s.data);
                }
                out.size = end;
                placed[oi][si] = Some((index, at));
            }
        }
    }
    if sections.len() > MAX_SECTIONS {
        bail!(
            "the combined object would have {} sections; Mach-O allows {MAX_SECTIONS}",
            sections.len()
        );
    }
    // Addresses in this object's own space, as an assembler gives them.
    let mut addr = 0u64;
    for s in &mut sections {
        addr = addr
            .checked_next_multiple_of(1 << s.align_log2)
            .ok_or_else(|| Error::new("the combined object passes 4 GiB"))?;
        s.addr = addr;
        addr += s.size;
    }
    if addr >= 1 << 32 {
        bail!("the combined object passes 4 GiB");
    }

    // Names the host objects reference must stay visible to them.
    let host_refs = res.host_references();

    let mut symbols: Vec<OutSymbol> = Vec::new();
    // Per object, per view symbol: the output symbol (before sorting).
    let mut sym_out: Vec<Vec<Option<u32>>> = res
        .objects
        .iter()
        .map(|o| vec![None; o.symbols.len()])
        .collect();
    // Per global: its output symbol.
    let mut global_out: FxHashMap<u32, u32> = FxHashMap::default();
    // Per output section and offset: a local symbol there, for references that need one.
    let mut local_at: FxHashMap<(usize, u64), u32> = FxHashMap::default();
    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        for (i, s) in o.symbols.iter().enumerate().skip(1) {
            if matches!(s.kind, Kind::Section | Kind::File | Kind::Other(_)) {
                continue;
            }
            let global = res.symbol_ids[oi].get(i).copied().filter(|&id| id != LOCAL);
            let winner = global.is_some_and(|id| {
                matches!(res.globals[id as usize].def,
                    Def::Object { obj, sym, .. } if obj as usize == oi && sym as usize == i)
            });
            let (n_sect, value, mut n_desc, n_type_base) = match s.place {
                SymPlace::Section(sec) => {
                    let Some((out, at)) = placed[oi].get(sec as usize).copied().flatten() else {
                        continue;
                    };
                    let section = &o.sections[sec as usize];
                    let mut desc = 0;
                    // Inside its atom: an alternate entry the host must not split at.
                    let regular = matches!(
                        section.raw_type,
                        0 | S_ZEROFILL
                            | S_GB_ZEROFILL
                            | S_THREAD_LOCAL_REGULAR
                            | S_THREAD_LOCAL_ZEROFILL
                            | S_THREAD_LOCAL_VARIABLES
                    ) && !section.name.ends_with(b",__eh_frame");
                    if s.value != 0 && regular {
                        desc |= N_ALT_ENTRY;
                    }
                    if s.value == 0 && section.has(SectionFlags::GC_ROOT) {
                        desc |= N_NO_DEAD_STRIP;
                    }
                    (
                        out as u8 + 1,
                        sections[out].addr + at + s.value,
                        desc,
                        N_SECT,
                    )
                }
                SymPlace::Absolute => (0, s.value, 0, N_ABS),
                _ => continue,
            };
            let mut n_type = n_type_base;
            if winner {
                let name = s.name;
                let visible =
                    !is_mangled(name) || host_refs.contains(name) || exported.contains(name);
                if visible {
                    n_type |= N_EXT;
                    if matches!(s.visibility, Visibility::Hidden | Visibility::Internal) {
                        n_type |= N_PEXT;
                    }
                    if s.is_weak() {
                        n_desc |= N_WEAK_DEF;
                    }
                }
            }
            let index = symbols.len() as u32;
            if n_type & N_EXT == 0 && n_sect != 0 {
                local_at
                    .entry((n_sect as usize - 1, value))
                    .or_insert(index);
            }
            symbols.push(OutSymbol {
                name: s.name.to_vec(),
                n_type,
                n_sect,
                n_desc,
                value,
            });
            sym_out[oi][i] = Some(index);
            if winner {
                if let Some(id) = global {
                    global_out.insert(id, index);
                }
            }
        }
    }
    // Names the Rust objects reference that nothing here defines: the host resolves them.
    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        for (i, s) in o.symbols.iter().enumerate().skip(1) {
            if s.is_local() || s.place != SymPlace::Undefined {
                continue;
            }
            let Some(&id) = res.symbol_ids[oi].get(i).filter(|&&id| id != LOCAL) else {
                continue;
            };
            if global_out.contains_key(&id) {
                continue;
            }
            let g = &res.globals[id as usize];
            let name = match g.def {
                Def::Dynamic { import } => res.imports[import as usize].remote.clone(),
                _ => g.name.to_vec(),
            };
            global_out.insert(id, symbols.len() as u32);
            symbols.push(OutSymbol {
                name,
                n_type: N_UNDF | N_EXT,
                n_sect: 0,
                n_desc: if g.strong_ref { 0 } else { N_WEAK_REF },
                value: 0,
            });
        }
    }
    // `cgo_export_static local remote`: host objects call `local` by the name `remote`.
    for (local, remote) in aliases {
        let Some(&id) = res.names.get(local.as_slice()) else {
            continue;
        };
        let Some(&index) = global_out.get(&id) else {
            continue;
        };
        let target = &symbols[index as usize];
        if target.n_type & 0x0e == N_UNDF {
            continue;
        }
        let alias = OutSymbol {
            name: remote.clone(),
            n_type: (target.n_type & 0x0e) | N_EXT,
            n_sect: target.n_sect,
            n_desc: 0,
            value: target.value,
        };
        symbols.push(alias);
    }

    // Relocations, atom by atom. Labels made for references that need a symbol where the
    // inputs had none are appended to the symbol list as they are needed.
    let mut labels = 0u32;
    for (oi, o) in res.objects.iter().enumerate() {
        if host[oi] {
            continue;
        }
        for (si, relocs) in o.relocations.iter().enumerate() {
            let Some((out, at)) = placed[oi].get(si).copied().flatten() else {
                continue;
            };
            let place_name = || format!("{}: {}", o.place, lossy(o.sections[si].name));
            let list: Vec<_> = relocs.iter().collect();
            let mut k = 0;
            while k < list.len() {
                let r = list[k];
                let (raw, length, pcrel, _) = decode_type(r.r_type);
                let subtractor = r.r_type & SUBTRACTOR != 0;
                let place_off = at + r.offset;
                let place_addr = sections[out].addr + place_off;
                let target = Target::of(res, &placed, &sym_out, &global_out, oi, r.symbol)
                    .ok_or_else(|| {
                        Error::new(format!(
                            "{}+{:#x}: a relocation whose target is not in the combined object",
                            place_name(),
                            r.offset
                        ))
                    })?;
                let mut group = Vec::new();
                if subtractor {
                    // A − B + c: the SUBTRACTOR names B, the UNSIGNED after it A.
                    let Some(second) = list.get(k + 1).copied() else {
                        bail!("{}: a SUBTRACTOR ends the relocations", place_name());
                    };
                    let minuend =
                        Target::of(res, &placed, &sym_out, &global_out, oi, second.symbol)
                            .ok_or_else(|| {
                                Error::new(format!(
                                "{}+{:#x}: a difference whose target is not in the combined object",
                                place_name(),
                                r.offset
                            ))
                            })?;
                    let b =
                        symbol_for(&target, &mut symbols, &mut local_at, &sections, &mut labels)?;
                    group.push(RawReloc {
                        address: place_off as u32,
                        symbolnum: b,
                        pcrel: false,
                        length,
                        external: true,
                        r_type: raw,
                    });
                    let constant = r.addend.wrapping_add(second.addend);
                    let (stored, a) = match minuend {
                        Target::Section { out: t, offset } => {
                            let addr = sections[t].addr + offset;
                            (constant.wrapping_add(addr as i64), (t as u32 + 1, false))
                        }
                        Target::Symbol(index) => (constant, (index, true)),
                    };
                    write_value(&mut sections[out].data, place_off, length, stored);
                    group.push(RawReloc {
                        address: place_off as u32,
                        symbolnum: a.0,
                        pcrel: false,
                        length,
                        external: a.1,
                        r_type: UNSIGNED,
                    });
                    sections[out].relocs.push((place_off as u32, group));
                    k += 2;
                    continue;
                }
                k += 1;
                if raw == UNSIGNED && pcrel {
                    // An `__eh_frame` pointer (the loader's PC-relative UNSIGNED, which Mach-O
                    // itself has not): S + A − P.
                    let s_addr = target.address(&sections, &symbols).ok_or_else(|| {
                        Error::new(format!(
                            "{}+{:#x}: a frame pointer to a symbol outside the combined object",
                            place_name(),
                            r.offset
                        ))
                    })?;
                    let value = (s_addr as i64)
                        .wrapping_add(r.addend)
                        .wrapping_sub(place_addr as i64);
                    match A::CPU {
                        Cpu::X86_64 => {
                            write_value(&mut sections[out].data, place_off, length, value);
                        }
                        Cpu::Aarch64 => {
                            // A pair against a symbol at this piece of `__eh_frame`'s start.
                            let here = Target::Section { out, offset: at };
                            let b = symbol_for(
                                &here,
                                &mut symbols,
                                &mut local_at,
                                &sections,
                                &mut labels,
                            )?;
                            let a = symbol_for(
                                &target,
                                &mut symbols,
                                &mut local_at,
                                &sections,
                                &mut labels,
                            )?;
                            let b_addr = sections[out].addr + at;
                            // A + stored − B = S + addend − P.
                            let stored = (value)
                                .wrapping_sub(s_addr as i64)
                                .wrapping_add(b_addr as i64);
                            write_value(&mut sections[out].data, place_off, length, stored);
                            let pair = vec![
                                RawReloc {
                                    address: place_off as u32,
                                    symbolnum: b,
                                    pcrel: false,
                                    length,
                                    external: true,
                                    r_type: A::SUBTRACTOR_TYPE,
                                },
                                RawReloc {
                                    address: place_off as u32,
                                    symbolnum: a,
                                    pcrel: false,
                                    length,
                                    external: true,
                                    r_type: UNSIGNED,
                                },
                            ];
                            sections[out].relocs.push((place_off as u32, pair));
                        }
                    }
                    continue;
                }
                let in_place = A::addend_in_place(raw, pcrel);
                let (symbolnum, external) = match target {
                    Target::Symbol(index) => (index, true),
                    Target::Section { out: t, .. } if in_place => (t as u32 + 1, false),
                    Target::Section { .. } => (
                        symbol_for(&target, &mut symbols, &mut local_at, &sections, &mut labels)?,
                        true,
                    ),
                };
                if in_place {
                    let end = if pcrel { A::pcrel_end(raw) } else { 0 };
                    let stored = match target {
                        Target::Symbol(_) if pcrel => {
                            r.addend.wrapping_add(end).wrapping_sub(A::stored_bias(raw))
                        }
                        Target::Symbol(_) => r.addend,
                        Target::Section { out: t, offset } => {
                            // The target's address in this object (PC-relative: its distance
                            // from where the CPU measures).
                            let t_addr = sections[t].addr + offset;
                            let target_addr = (t_addr as i64).wrapping_add(r.addend);
                            if pcrel {
                                target_addr.wrapping_sub(place_addr as i64)
                            } else {
                                target_addr
                            }
                        }
                    };
                    write_value(&mut sections[out].data, place_off, length, stored);
                } else {
                    let addend = r.addend;
                    if addend != 0 {
                        let prefix = A::addend_prefix_for(raw);
                        let Some(prefix) =
                            prefix.filter(|_| (-(1 << 23)..1 << 23).contains(&addend))
                        else {
                            bail!(
                                "{}+{:#x}: {} with addend {addend} cannot be written to an object",
                                place_name(),
                                r.offset,
                                A::type_name(raw)
                            );
                        };
                        group.push(RawReloc {
                            address: place_off as u32,
                            symbolnum: (addend as u32) & 0x00ff_ffff,
                            pcrel: false,
                            length: 2,
                            external: false,
                            r_type: prefix,
                        });
                    }
                }
                group.push(RawReloc {
                    address: place_off as u32,
                    symbolnum,
                    pcrel,
                    length,
                    external,
                    r_type: raw,
                });
                sections[out].relocs.push((place_off as u32, group));
            }
        }
    }
    write_object::<A>(sections, symbols)
}

/// What a relocation points at in the combined object.
#[derive(Clone, Copy)]
enum Target {
    Symbol(u32),
    /// A place in an output section (a reference to a section, or to a piece of one).
    Section {
        out: usize,
        offset: u64,
    },
}

impl Target {
    fn of(
        res: &Resolution<'_>,
        placed: &[Vec<Option<(usize, u64)>>],
        sym_out: &[Vec<Option<u32>>],
        global_out: &FxHashMap<u32, u32>,
        oi: usize,
        symbol: u32,
    ) -> Option<Target> {
        let o = &res.objects[oi];
        let s = o.symbols.get(symbol as usize)?;
        if let Some(&id) = res.symbol_ids[oi]
            .get(symbol as usize)
            .filter(|&&id| id != LOCAL)
        {
            return global_out.get(&id).map(|&i| Target::Symbol(i));
        }
        if s.kind == Kind::Section {
            let SymPlace::Section(sec) = s.place else {
                return None;
            };
            let (out, at) = placed[oi].get(sec as usize).copied().flatten()?;
            return Some(Target::Section { out, offset: at });
        }
        sym_out[oi][symbol as usize].map(Target::Symbol)
    }

    /// The target's address in the combined object, when it is defined there.
    fn address(&self, sections: &[OutSection], symbols: &[OutSymbol]) -> Option<u64> {
        match *self {
            Target::Section { out, offset } => Some(sections[out].addr + offset),
            Target::Symbol(i) => {
                let s = &symbols[i as usize];
                (s.n_type & 0x0e == N_SECT).then_some(s.value)
            }
        }
    }
}

/// The symbol a relocation can name for `target`: the symbol itself, else a local symbol at
/// that place (one of the inputs' own, or a label made for it).
fn symbol_for(
    target: &Target,
    symbols: &mut Vec<OutSymbol>,
    local_at: &mut FxHashMap<(usize, u64), u32>,
    sections: &[OutSection],
    labels: &mut u32,
) -> Result<u32> {
    match *target {
        Target::Symbol(i) => Ok(i),
        Target::Section { out, offset } => {
            let addr = sections[out].addr + offset;
            if let Some(&i) = local_at.get(&(out, addr)) {
                return Ok(i);
            }
            let index = symbols.len() as u32;
            symbols.push(OutSymbol {
                name: format!("ltmp.rlink.{labels}").into_bytes(),
                n_type: N_SECT,
                n_sect: out as u8 + 1,
                n_desc: 0,
                value: addr,
            });
            *labels += 1;
            local_at.insert((out, addr), index);
            Ok(index)
        }
    }
}

fn write_value(data: &mut [u8], at: u64, length: u8, value: i64) {
    let at = at as usize;
    let bytes = value.to_le_bytes();
    let width = 1usize << length;
    if let Some(place) = data.get_mut(at..at + width) {
        place.copy_from_slice(&bytes[..width]);
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn name16(out: &mut Vec<u8>, name: &[u8]) {
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name);
    out.extend_from_slice(&b);
}

/// Lays the object out — header and load commands, section contents, relocations, symbol
/// table, strings — with the symbols sorted as `LC_DYSYMTAB` wants them: locals in input
/// order, then defined and undefined externals, each sorted by name.
fn write_object<A: MachArch>(
    mut sections: Vec<OutSection>,
    symbols: Vec<OutSymbol>,
) -> Result<Vec<u8>> {
    let mut order: Vec<u32> = (0..symbols.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (&symbols[a as usize], &symbols[b as usize]);
        sa.group().cmp(&sb.group()).then_with(|| match sa.group() {
            Group::Local => a.cmp(&b),
            _ => sa.name.cmp(&sb.name).then(a.cmp(&b)),
        })
    });
    let mut new_index = vec![0u32; symbols.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old as usize] = new as u32;
    }
    let count = |g: Group| symbols.iter().filter(|s| s.group() == g).count() as u32;
    let (nlocal, ndefined, nundefined) = (
        count(Group::Local),
        count(Group::Defined),
        count(Group::Undefined),
    );

    let nsects = sections.len() as u32;
    let segment_size = 72 + 80 * nsects;
    let sizeofcmds = segment_size + 24 + 24 + 80;
    let header_end = 32 + u64::from(sizeofcmds);
    let vmsize = sections.last().map(|s| s.addr + s.size).unwrap_or(0);
    let filesize = sections
        .iter()
        .filter(|s| !s.zero_fill)
        .map(|s| s.addr + s.size)
        .max()
        .unwrap_or(0);
    let mut at = header_end + filesize;
    at = at.next_multiple_of(8);
    let mut reloff = Vec::with_capacity(sections.len());
    for s in &mut sections {
        // Descending addresses within a section, as LLVM writes them (Apple's ld expects it);
        // each group keeps its own order.
        s.relocs.sort_by_key(|g| std::cmp::Reverse(g.0));
        let n: usize = s.relocs.iter().map(|g| g.1.len()).sum();
        reloff.push((at, n as u32));
        at += 8 * n as u64;
    }
    let symoff = at.next_multiple_of(8);
    let stroff = symoff + 16 * symbols.len() as u64;
    let mut strtab = vec![0u8];
    let mut strx = vec![0u32; symbols.len()];
    for &old in &order {
        let s = &symbols[old as usize];
        strx[old as usize] = strtab.len() as u32;
        strtab.extend_from_slice(&s.name);
        strtab.push(0);
    }
    strtab.resize(strtab.len().next_multiple_of(8), 0);
    let total = stroff + strtab.len() as u64;
    if total >= 1 << 32 {
        bail!("the combined object passes 4 GiB");
    }

    let mut out = Vec::with_capacity(total as usize);
    put32(&mut out, MH_MAGIC_64);
    put32(&mut out, A::CPUTYPE);
    put32(&mut out, A::CPUSUBTYPE & 0x00ff_ffff);
    put32(&mut out, MH_OBJECT);
    put32(&mut out, 4);
    put32(&mut out, sizeofcmds);
    put32(&mut out, MH_SUBSECTIONS_VIA_SYMBOLS);
    put32(&mut out, 0);

    put32(&mut out, LC_SEGMENT_64);
    put32(&mut out, segment_size);
    name16(&mut out, b"");
    put64(&mut out, 0);
    put64(&mut out, vmsize);
    put64(&mut out, header_end);
    put64(&mut out, filesize);
    put32(&mut out, 7);
    put32(&mut out, 7);
    put32(&mut out, nsects);
    put32(&mut out, 0);
    for (s, &(roff, nreloc)) in sections.iter().zip(&reloff) {
        name16(&mut out, &s.sectname);
        name16(&mut out, &s.segname);
        put64(&mut out, s.addr);
        put64(&mut out, s.size);
        put32(
            &mut out,
            if s.zero_fill {
                0
            } else {
                (header_end + s.addr) as u32
            },
        );
        put32(&mut out, u32::from(s.align_log2));
        put32(&mut out, if nreloc == 0 { 0 } else { roff as u32 });
        put32(&mut out, nreloc);
        put32(&mut out, s.flags);
        put32(&mut out, 0);
        put32(&mut out, 0);
        put32(&mut out, 0);
    }

    let (maj, min, patch) = A::MIN_OS;
    let version = maj << 16 | min << 8 | patch;
    put32(&mut out, LC_BUILD_VERSION);
    put32(&mut out, 24);
    put32(&mut out, PLATFORM_MACOS);
    put32(&mut out, version);
    put32(&mut out, version);
    put32(&mut out, 0);

    put32(&mut out, LC_SYMTAB);
    put32(&mut out, 24);
    put32(&mut out, symoff as u32);
    put32(&mut out, symbols.len() as u32);
    put32(&mut out, stroff as u32);
    put32(&mut out, strtab.len() as u32);

    put32(&mut out, LC_DYSYMTAB);
    put32(&mut out, 80);
    put32(&mut out, 0);
    put32(&mut out, nlocal);
    put32(&mut out, nlocal);
    put32(&mut out, ndefined);
    put32(&mut out, nlocal + ndefined);
    put32(&mut out, nundefined);
    out.resize(out.len() + 12 * 4, 0);
    debug_assert_eq!(out.len() as u64, header_end);

    for s in sections.iter().filter(|s| !s.zero_fill) {
        out.resize((header_end + s.addr) as usize, 0);
        out.extend_from_slice(&s.data);
        out.resize((header_end + s.addr + s.size) as usize, 0);
    }
    for (s, &(roff, _)) in sections.iter().zip(&reloff) {
        out.resize(roff as usize, 0);
        for (_, group) in &s.relocs {
            for r in group {
                let mut r = *r;
                if r.external {
                    r.symbolnum = new_index[r.symbolnum as usize];
                }
                out.extend_from_slice(&r.encode());
            }
        }
    }
    out.resize(symoff as usize, 0);
    for &old in &order {
        let s = &symbols[old as usize];
        put32(&mut out, strx[old as usize]);
        out.push(s.n_type);
        out.push(s.n_sect);
        out.extend_from_slice(&s.n_desc.to_le_bytes());
        put64(&mut out, s.value);
    }
    out.extend_from_slice(&strtab);
    Ok(out)
}
