//! The output's `.symtab` and `.strtab`: local symbols of every placed input section, then the
//! global definitions and imports. Debuggers, profilers and std's backtraces name functions
//! with it when there is no debug information (`-w`); `-s` leaves it out.

use object::elf;
use rlink_linker::object::{SymPlace, SymbolKind, Visibility};
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

#[derive(Debug, Default)]
pub struct Symtab {
    pub entries: Vec<Entry>,
    pub strtab: Vec<u8>,
    /// Index of the first global entry (`sh_info`), counting the null symbol.
    pub first_global: u32,
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

/// Chooses the symbols and builds the string table; values are filled when writing.
pub fn build(l: &Layout<'_, '_>) -> Symtab {
    let mut t = Symtab {
        strtab: vec![0],
        ..Default::default()
    };
    let add = |t: &mut Symtab, name: &[u8], target: SymbolRef, info: u8, other: u8, size: u64| {
        let off = t.strtab.len() as u32;
        t.strtab.extend_from_slice(name);
        t.strtab.push(0);
        t.entries.push(Entry {
            name: off,
            target,
            info,
            other,
            size,
        });
    };
    // `--retain-symbols-file`: only the listed global names, and no local symbol.
    let retain: Option<std::collections::HashSet<&[u8]>> = l
        .elf
        .retain_symbols
        .as_ref()
        .map(|names| names.iter().map(|n| n.as_bytes()).collect());
    for (oi, o) in l.res.objects.iter().enumerate() {
        if retain.is_some() {
            break;
        }
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
            add(
                &mut t,
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
    }
    t.first_global = t.entries.len() as u32 + 1;
    for (id, g) in l.res.globals.iter().enumerate() {
        if retain.as_ref().is_some_and(|r| !r.contains(g.name)) {
            continue;
        }
        let (kind, size, weak, visibility) = match g.def {
            Def::Object { obj, sym, weak } => {
                let s = &l.res.objects[obj as usize].symbols[sym as usize];
                // A local indirect function's own global (for its PLT entry): the local
                // symbol is already in the table.
                if s.is_local() {
                    continue;
                }
                if let SymPlace::Section(sec) = s.place {
                    if l.placements[obj as usize][sec as usize].is_none() {
                        continue;
                    }
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
                    continue;
                }
                (elf::STT_NOTYPE.0, 0, true, 0)
            }
        };
        // Hidden symbols become local in an executable, as every linker writes them.
        let bind = if weak { elf::STB_WEAK } else { elf::STB_GLOBAL };
        add(
            &mut t,
            g.name,
            SymbolRef::Global(id as u32),
            (bind.0 << 4) | kind,
            visibility,
            size,
        );
    }
    t
}

/// Writes `.symtab`; `value` gives each target's address and whether it is defined here.
pub fn write(
    l: &Layout<'_, '_>,
    t: &Symtab,
    dst: &mut [u8],
    value: impl Fn(SymbolRef) -> Option<u64>,
) {
    let tls_start = l.tls.map(|(start, _, _)| start).unwrap_or(0);
    for (i, e) in t.entries.iter().enumerate() {
        let out = &mut dst[24 * (i + 1)..24 * (i + 2)];
        let addr = value(e.target);
        let shndx = addr.and_then(|a| section_index_of(l, a, e.info & 0xf == elf::STT_TLS.0));
        let mut v = addr.unwrap_or(0);
        // In executables a TLS symbol's value is its offset in the TLS segment (gABI).
        if e.info & 0xf == elf::STT_TLS.0 {
            v = v.wrapping_sub(tls_start);
        }
        out[0..4].copy_from_slice(&e.name.to_le_bytes());
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
