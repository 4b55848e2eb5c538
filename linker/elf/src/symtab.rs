//! The output's `.symtab` and `.strtab`: local symbols of every placed input section, then the
//! global definitions and imports. Debuggers, profilers and std's backtraces name functions
//! with it when there is no debug information (`-w`); `-s` leaves it out.

use object::elf;
use rayon::prelude::*;
use rlink_linker::object::{SymPlace, SymbolKind, Visibility};
use rlink_linker::par::PerItem as _;
use rlink_linker::plan::Discard;
use rlink_linker::resolve::Def;

use crate::layout::{Class, Layout, SymbolRef};
use crate::object::{elf_symbol_type, elf_visibility};

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub name: u32,
    pub target: SymbolRef,
    /// `st_info`.
    pub info: u8,
    pub other: u8,
    pub size: u64,
}

/// The table, kept as the pieces it was built in: each is written straight to its place in the
/// output, in parallel, rather than joined first (a serial copy of every entry and name).
#[derive(Default)]
pub struct Symtab {
    pieces: Vec<Piece>,
    /// Per piece: the offset of its first name in `.strtab` (after the empty name at 0).
    name_bases: Vec<u32>,
    /// Entries, not counting the null symbol.
    count: usize,
    strtab_len: usize,
    /// Index of the first global entry (`sh_info`), counting the null symbol.
    pub first_global: u32,
}

impl Symtab {
    /// Entries, not counting the null symbol.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of `.strtab`.
    pub fn strtab_len(&self) -> usize {
        self.strtab_len
    }

    /// Writes `.strtab`: the empty name, then each piece's names, copied from the inputs
    /// (building the table only counted their bytes).
    pub fn write_strtab(&self, l: &Layout<'_, '_>, dst: &mut [u8]) {
        let Some((first, mut rest)) = dst.split_first_mut() else {
            return;
        };
        *first = 0;
        let mut parts = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            let (here, after) = std::mem::take(&mut rest).split_at_mut(piece.strtab_len);
            parts.push((piece, here));
            rest = after;
        }
        parts.into_par_iter().per_item().for_each(|(piece, here)| {
            for e in &piece.entries {
                let name = name_of(l, e.target);
                let at = e.name as usize;
                here[at..at + name.len()].copy_from_slice(name);
                here[at + name.len()] = 0;
            }
        });
    }
}

/// The name an entry's symbol has in the inputs, which is its name in `.strtab`.
fn name_of<'a>(l: &Layout<'_, 'a>, target: SymbolRef) -> &'a [u8] {
    match target {
        SymbolRef::Local { obj, sym } => l.res.objects[obj as usize].symbols[sym as usize].name,
        SymbolRef::Global(id) => l.res.globals[id as usize].name,
    }
}

fn wanted_local(kind: SymbolKind, name: &[u8], discard: Discard) -> bool {
    matches!(
        kind,
        SymbolKind::Func | SymbolKind::Data | SymbolKind::Tls | SymbolKind::NoType
    ) && !name.is_empty()
        && match discard {
            Discard::None => true,
            Discard::Locals => !name.starts_with(b".L"),
            Discard::All => false,
        }
}

/// Symbols, gathered for one object (or one run of globals) in parallel, and the room their
/// names take: name offsets are relative to the piece's part of `.strtab` (its place in the
/// section is added when the entries are written). The names themselves are only read when
/// `.strtab` is written, from the inputs straight into the output.
#[derive(Default)]
struct Piece {
    entries: Vec<Entry>,
    strtab_len: usize,
}

impl Piece {
    fn add(&mut self, name: &[u8], target: SymbolRef, info: u8, other: u8, size: u64) {
        let off = self.strtab_len as u32;
        self.strtab_len += name.len() + 1;
        self.entries.push(Entry {
            name: off,
            target,
            info,
            other,
            size,
        });
    }
}

/// Globals per piece of the parallel build.
const GLOBALS_PER_PIECE: usize = 4096;

/// Chooses the symbols and builds the string table; values are filled when writing. Pieces
/// are built in parallel (locals per object, globals in runs) and laid out in order, so the
/// table is the same at any thread count.
pub fn build(l: &Layout<'_, '_>) -> rlink_linker::diag::Result<Symtab> {
    // `--retain-symbols-file`: only the listed global names, and no local symbol.
    let retain: Option<std::collections::HashSet<&[u8]>> = l
        .elf
        .retain_symbols
        .as_ref()
        .map(|names| names.iter().map(|n| n.as_bytes()).collect());
    // Locals (a piece per object, some far larger than others) and globals (pieces of a
    // fixed size) side by side, so the globals fill in behind the largest objects.
    let locals = || -> Vec<Piece> {
        match retain {
            Some(_) => Vec::new(),
            None => l
                .res
                .objects
                .par_iter()
                .per_item()
                .enumerate()
                .map(|(oi, o)| {
                    let mut piece = Piece::default();
                    for (si, s) in o.symbols.iter().enumerate().skip(1) {
                        if !s.is_local() || !wanted_local(s.kind, s.name, l.elf.discard) {
                            continue;
                        }
                        let SymPlace::Section(sec) = s.place else {
                            continue;
                        };
                        if l.placements[oi][sec as usize].is_none() {
                            continue;
                        }
                        let info = (elf::STB_LOCAL.0 << 4) | elf_symbol_type(s.kind);
                        piece.add(
                            s.name,
                            SymbolRef::Local {
                                obj: oi as u32,
                                sym: si as u32,
                            },
                            info,
                            0,
                            s.size,
                        );
                    }
                    piece
                })
                .collect(),
        }
    };
    let globals = || -> Vec<Piece> {
        l.res
            .globals
            .par_chunks(GLOBALS_PER_PIECE)
            .per_item()
            .enumerate()
            .map(|(chunk, globals)| {
                let mut piece = Piece::default();
                for (k, g) in globals.iter().enumerate() {
                    let id = chunk * GLOBALS_PER_PIECE + k;
                    if retain.as_ref().is_some_and(|r| !r.contains(g.name)) {
                        continue;
                    }
                    let Some((kind, size, weak, visibility)) = global_entry(l, g) else {
                        continue;
                    };
                    // Hidden symbols become local in an executable, as every linker writes them.
                    let bind = if weak { elf::STB_WEAK } else { elf::STB_GLOBAL };
                    piece.add(
                        g.name,
                        SymbolRef::Global(id as u32),
                        (bind.0 << 4) | kind,
                        visibility,
                        size,
                    );
                }
                piece
            })
            .collect()
    };
    let (locals, globals) = rayon::join(locals, globals);
    let mut t = Symtab::default();
    let (mut entry, mut name) = (1u64, 1u64);
    for (n, piece) in locals.iter().chain(&globals).enumerate() {
        if n == locals.len() {
            t.first_global = entry as u32;
        }
        t.name_bases.push(name as u32);
        entry += piece.entries.len() as u64;
        name += piece.strtab_len as u64;
    }
    if globals.is_empty() {
        t.first_global = entry as u32;
    }
    // ELF gives a symbol's index and its name's offset 32 bits.
    if entry > u64::from(u32::MAX) || name > u64::from(u32::MAX) {
        rlink_linker::bail!(
            "the symbol table would have {} entries and {name} bytes of names, more than ELF \
             can index (use -s or --discard-all to leave symbols out)",
            entry - 1
        );
    }
    t.count = entry as usize - 1;
    t.strtab_len = name as usize;
    t.pieces = locals;
    t.pieces.extend(globals);
    Ok(t)
}

/// A global's `.symtab` entry: (type, size, weak, visibility), or `None` when it has none.
fn global_entry(
    l: &Layout<'_, '_>,
    g: &rlink_linker::resolve::Global<'_>,
) -> Option<(u8, u64, bool, u8)> {
    Some(match g.def {
        Def::Object { obj, sym, weak } => {
            let s = &l.res.objects[obj as usize].symbols[sym as usize];
            // A local indirect function's own global (for its PLT entry): the local
            // symbol is already in the table.
            if s.is_local() {
                return None;
            }
            if let SymPlace::Section(sec) = s.place {
                l.placements[obj as usize][sec as usize]?;
            }
            (
                elf_symbol_type(s.kind),
                s.size,
                weak,
                elf_visibility(s.visibility),
            )
        }
        Def::Common { obj, sym } => (
            elf::STT_OBJECT.0,
            l.res.objects[obj as usize].symbols[sym as usize].size,
            false,
            0,
        ),
        Def::Synthetic => (
            elf::STT_NOTYPE.0,
            0,
            false,
            elf_visibility(Visibility::Hidden),
        ),
        Def::Dynamic { .. } => (elf::STT_NOTYPE.0, 0, !g.strong_ref, 0),
        Def::Undefined | Def::Host => {
            if !g.referenced {
                return None;
            }
            (elf::STT_NOTYPE.0, 0, true, 0)
        }
    })
}

/// Entries per task when `.symtab` is written in parallel.
const ENTRIES_PER_TASK: usize = 4096;

/// Writes `.symtab`; `value` gives each target's address and whether it is defined here.
pub fn write(
    l: &Layout<'_, '_>,
    t: &Symtab,
    dst: &mut [u8],
    value: impl Fn(SymbolRef) -> Option<u64> + Sync,
) {
    let tls_start = l.tls.map(|(start, _, _)| start).unwrap_or(0);
    let index = SectionIndex::new(l);
    // Entry 0 is the null symbol (written: the table is one of the ranges an output written
    // in place does not zero first); each piece's entries follow at its start.
    let Some((null, mut rest)) = dst.split_at_mut_checked(24) else {
        return;
    };
    null.fill(0);
    let mut parts = Vec::with_capacity(t.pieces.len());
    for (piece, &name_base) in t.pieces.iter().zip(&t.name_bases) {
        let (here, after) = std::mem::take(&mut rest).split_at_mut(24 * piece.entries.len());
        parts.push((piece, name_base, here));
        rest = after;
    }
    parts.into_par_iter().for_each(|(piece, name_base, here)| {
        here.par_chunks_mut(24 * ENTRIES_PER_TASK)
            .zip(piece.entries.par_chunks(ENTRIES_PER_TASK))
            .per_item()
            .for_each(|(out, entries)| {
                for (e, out) in entries.iter().zip(out.chunks_exact_mut(24)) {
                    let addr = value(e.target);
                    let tls = e.info & 0xf == elf::STT_TLS.0;
                    let shndx = addr.and_then(|a| index.of(a, tls));
                    let mut v = addr.unwrap_or(0);
                    // In executables a TLS symbol's value is its offset in the TLS segment
                    // (gABI).
                    if tls {
                        v = v.wrapping_sub(tls_start);
                    }
                    out[0..4].copy_from_slice(&(e.name + name_base).to_le_bytes());
                    out[4] = e.info;
                    out[5] = e.other;
                    let shndx: u16 = match (addr, shndx) {
                        (Some(_), Some(s)) => s,
                        (Some(_), None) => elf::SHN_ABS.0,
                        (None, _) => 0,
                    };
                    out[6..8].copy_from_slice(&shndx.to_le_bytes());
                    out[8..16].copy_from_slice(&v.to_le_bytes());
                    out[16..24].copy_from_slice(&e.size.to_le_bytes());
                }
            });
    });
}

/// The output section (header index) holding an address.
pub(crate) fn section_index_of(l: &Layout<'_, '_>, addr: u64, tls: bool) -> Option<u16> {
    l.sections
        .iter()
        .position(|s| {
            s.class != Class::NonAlloc
                && s.is_tls() == tls
                && addr >= s.addr
                && (addr < s.addr + s.size || (s.size == 0 && addr == s.addr))
        })
        .and_then(|i| u16::try_from(i + 1).ok())
}

/// [`section_index_of`] for many addresses: the loaded sections of each kind (TLS or not) by
/// address, searched by bisection. The first section in header order that holds an address
/// wins, as there: sections of one kind never overlap but for empty ones at a boundary.
struct SectionIndex {
    /// (start, end, header index, empty) per loaded section, by start then header index.
    plain: Vec<(u64, u64, u16, bool)>,
    tls: Vec<(u64, u64, u16, bool)>,
}

impl SectionIndex {
    fn new(l: &Layout<'_, '_>) -> SectionIndex {
        let mut plain = Vec::new();
        let mut tls = Vec::new();
        for (i, s) in l.sections.iter().enumerate() {
            let Ok(header) = u16::try_from(i + 1) else {
                continue;
            };
            if s.class == Class::NonAlloc {
                continue;
            }
            let entry = (s.addr, s.addr + s.size, header, s.size == 0);
            if s.is_tls() {
                tls.push(entry);
            } else {
                plain.push(entry);
            }
        }
        plain.sort_by_key(|&(start, _, header, _)| (start, header));
        tls.sort_by_key(|&(start, _, header, _)| (start, header));
        SectionIndex { plain, tls }
    }

    fn of(&self, addr: u64, tls: bool) -> Option<u16> {
        let list = if tls { &self.tls } else { &self.plain };
        // Sections of one kind do not overlap, so at most one that is not empty holds the
        // address: the last one starting at or before it. Empty sections hold only their own
        // start.
        let upto = list.partition_point(|&(start, ..)| start <= addr);
        let mut best: Option<u16> = None;
        for &(start, end, header, empty) in list[..upto].iter().rev() {
            let holds = addr < end || (empty && addr == start);
            if holds {
                best = Some(best.map_or(header, |b| b.min(header)));
            }
            if !empty && start < addr {
                break;
            }
        }
        best
    }
}
