//! `__LINKEDIT`, what dyld and tools read besides the segments' bytes: the chained fixups
//! (`LC_DYLD_CHAINED_FIXUPS`), the exports trie (`LC_DYLD_EXPORTS_TRIE`), function starts, the
//! symbol table with its indirect table (`LC_SYMTAB`, `LC_DYSYMTAB`), and — last, written
//! when every other byte is final — the code signature.
//!
//! Everything but the fixups' page starts and the signature is built here, at layout; the
//! page starts are known once the relocation pass has found every pointer.

use rlink_linker::object::{SymPlace, SymbolKind, Visibility};
use rlink_linker::resolve::Def;
use rlink_linker::scan::{GotEntry, SymbolRef};
use rlink_linker::{bail, Result};

use crate::layout::{align_to, Layout, Seg, MH_EXECUTE_HEADER};

/// `DYLD_CHAINED_PTR_64_OFFSET`: rebases hold the target's offset from the image base.
pub const DYLD_CHAINED_PTR_64_OFFSET: u16 = 6;
/// `DYLD_CHAINED_IMPORT`: 32-bit imports (ordinal, weak, name offset).
pub const DYLD_CHAINED_IMPORT: u32 = 1;
pub const DYLD_CHAINED_PTR_START_NONE: u16 = 0xffff;

pub const N_UNDF: u8 = 0x0;
pub const N_EXT: u8 = 0x1;
pub const N_SECT: u8 = 0xe;
pub const N_PEXT: u8 = 0x10;
pub const N_WEAK_REF: u16 = 0x40;
pub const REFERENCED_DYNAMICALLY: u16 = 0x10;
pub const INDIRECT_SYMBOL_LOCAL: u32 = 0x8000_0000;

/// One `nlist_64`.
#[derive(Debug, Clone, Copy)]
pub struct Nlist {
    pub strx: u32,
    pub n_type: u8,
    pub n_sect: u8,
    pub n_desc: u16,
    pub value: u64,
}

/// The chained fixups of one segment: where its starts table sits in the blob.
#[derive(Debug, Clone, Default)]
pub struct SegmentStarts {
    /// Index of the segment among the `LC_SEGMENT_64` commands.
    pub segment_index: u32,
    pub vm_offset: u64,
    pub page_count: u16,
    /// Offset of its `dyld_chained_starts_in_segment` in the blob.
    pub starts_offset: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub fixups_off: u64,
    pub fixups_size: u64,
    pub segment_count: u32,
    pub starts: Vec<SegmentStarts>,
    pub imports_offset: u32,
    pub symbols_offset: u32,
    /// The import table entries and the names they point into.
    pub import_entries: Vec<u32>,
    pub import_names: Vec<u8>,
    pub exports_off: u64,
    pub exports: Vec<u8>,
    pub function_starts_off: u64,
    pub function_starts: Vec<u8>,
    pub data_in_code_off: u64,
    pub symtab_off: u64,
    pub symbols: Vec<Nlist>,
    pub nlocal: u32,
    pub nextdef: u32,
    pub nundef: u32,
    pub indirect_off: u64,
    pub indirect: Vec<u32>,
    pub strtab_off: u64,
    pub strtab: Vec<u8>,
    /// Where the code signature starts (16-aligned); it is sized when the output's name is
    /// known.
    pub signature_off: u64,
    pub end: u64,
}

pub fn uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn uleb_len(v: u64) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v != 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// The exports trie: a prefix tree over the names, each terminal node holding the flags and
/// the offset of the symbol from the image base. Node offsets are ULEB128-encoded in their
/// parents, so sizes and offsets are iterated until they settle (the loop ld64 and lld run).
pub fn exports_trie(entries: &mut [(Vec<u8>, u64)]) -> Vec<u8> {
    entries.sort();
    struct Node {
        terminal: Option<u64>,
        edges: Vec<(Vec<u8>, usize)>,
        offset: usize,
    }
    let mut nodes = vec![Node {
        terminal: None,
        edges: Vec::new(),
        offset: 0,
    }];
    for (name, value) in entries.iter() {
        let mut node = 0;
        let mut rest: &[u8] = name;
        'walk: loop {
            if rest.is_empty() {
                nodes[node].terminal = Some(*value);
                break;
            }
            for e in 0..nodes[node].edges.len() {
                let (label, child) = nodes[node].edges[e].clone();
                let common = label.iter().zip(rest).take_while(|(a, b)| a == b).count();
                if common == 0 {
                    continue;
                }
                if common < label.len() {
                    // Split the edge.
                    let mid = nodes.len();
                    nodes.push(Node {
                        terminal: None,
                        edges: vec![(label[common..].to_vec(), child)],
                        offset: 0,
                    });
                    nodes[node].edges[e] = (label[..common].to_vec(), mid);
                    node = mid;
                } else {
                    node = child;
                }
                rest = &rest[common..];
                continue 'walk;
            }
            let leaf = nodes.len();
            nodes.push(Node {
                terminal: None,
                edges: Vec::new(),
                offset: 0,
            });
            nodes[node].edges.push((rest.to_vec(), leaf));
            node = leaf;
            rest = &[];
        }
    }
    // Breadth-first order, as ld64 writes it.
    let mut order = vec![0usize];
    let mut i = 0;
    while i < order.len() {
        let n = order[i];
        for (_, c) in &nodes[n].edges {
            order.push(*c);
        }
        i += 1;
    }
    let node_size = |nodes: &Vec<Node>, n: usize| -> usize {
        let node = &nodes[n];
        let info = match node.terminal {
            Some(v) => 1 + uleb_len(v),
            None => 0,
        };
        let term = uleb_len(info as u64) + info;
        let mut size = term + 1;
        for (label, child) in &node.edges {
            size += label.len() + 1 + uleb_len(nodes[*child].offset as u64);
        }
        size
    };
    loop {
        let mut offset = 0;
        let mut changed = false;
        for &n in &order {
            if nodes[n].offset != offset {
                nodes[n].offset = offset;
                changed = true;
            }
            offset += node_size(&nodes, n);
        }
        if !changed {
            break;
        }
    }
    let mut out = Vec::new();
    for &n in &order {
        let node = &nodes[n];
        match node.terminal {
            Some(v) => {
                let mut info = vec![0u8]; // flags: EXPORT_SYMBOL_FLAGS_KIND_REGULAR
                uleb(&mut info, v);
                uleb(&mut out, info.len() as u64);
                out.extend(info);
            }
            None => out.push(0),
        }
        out.push(node.edges.len() as u8);
        for (label, child) in &node.edges {
            out.extend_from_slice(label);
            out.push(0);
            uleb(&mut out, nodes[*child].offset as u64);
        }
    }
    while out.len() % 8 != 0 {
        out.push(0);
    }
    out
}

/// Output section ordinal (1-based, in load-command order) of every section.
fn section_ordinals(l: &Layout<'_, '_>) -> Vec<u8> {
    (1..=l.sections.len()).map(|i| i.min(255) as u8).collect()
}

/// Builds every `__LINKEDIT` blob but the fixups' page starts and the signature.
pub fn plan(l: &Layout<'_, '_>, start: u64) -> Result<Plan> {
    let res = l.res;
    let mut p = Plan::default();
    let ordinals = section_ordinals(l);

    // Chained fixups: header, starts in image, one starts table per data segment, imports,
    // names. An executable's segment 0 is __PAGEZERO.
    let first_segment = u32::from(!l.dylib);
    let data_segments: Vec<(u32, Seg, u64, u64)> = l
        .segments
        .iter()
        .enumerate()
        .filter(|(_, (seg, _))| *seg != Seg::Text)
        .map(|(i, (seg, e))| (i as u32 + first_segment, *seg, e.addr - l.base, e.filesize))
        .collect();
    // (__PAGEZERO,) the section segments, __LINKEDIT.
    p.segment_count = l.segments.len() as u32 + first_segment + 1;
    let mut size = 32u64; // dyld_chained_fixups_header (28) padded
    size += 4 + 4 * u64::from(p.segment_count);
    for &(index, _, vm_offset, filesize) in &data_segments {
        size = align_to(size, 8);
        let pages = filesize.div_ceil(l.page);
        if pages > u64::from(u16::MAX) {
            bail!("a data segment of {filesize:#x} bytes has too many pages for chained fixups");
        }
        p.starts.push(SegmentStarts {
            segment_index: index,
            vm_offset,
            page_count: pages as u16,
            starts_offset: size as u32,
        });
        size += 22 + 2 * pages;
    }
    size = align_to(size, 4);
    p.imports_offset = size as u32;
    for &id in &l.imports {
        let g = &res.globals[id as usize];
        let Def::Dynamic { import } = g.def else {
            bail!(
                "{} is imported but not bound (linker bug)",
                String::from_utf8_lossy(g.name)
            );
        };
        let imp = &res.imports[import as usize];
        let ordinal = l.import_ordinal(imp);
        let name_offset = p.import_names.len() as u32;
        if name_offset >= 1 << 23 {
            bail!("too many imported names for a chained-fixups table");
        }
        p.import_names.extend_from_slice(&imp.remote);
        p.import_names.push(0);
        let weak = !g.strong_ref || l.import_is_weak(imp);
        p.import_entries
            .push((ordinal & 0xff) | (u32::from(weak) << 8) | (name_offset << 9));
    }
    size += 4 * p.import_entries.len() as u64;
    p.symbols_offset = size as u32;
    size += p.import_names.len() as u64;
    p.fixups_off = start;
    p.fixups_size = align_to(size, 8);
    let mut at = start + p.fixups_size;

    // Exports: the header's own symbol, then the exported definitions.
    let exported: Vec<u32> = (0..res.globals.len() as u32)
        .filter(|&id| l.is_exported(id))
        .collect();
    let mut entries: Vec<(Vec<u8>, u64)> = Vec::new();
    if !l.dylib {
        entries.push((MH_EXECUTE_HEADER.to_vec(), 0));
    }
    for &id in &exported {
        let addr = l.value(SymbolRef::Global(id)).addr;
        entries.push((res.globals[id as usize].name.to_vec(), addr - l.base));
    }
    p.exports_off = at;
    p.exports = exports_trie(&mut entries);
    at += p.exports.len() as u64;

    // Function starts: every function symbol in executable sections, as ULEB deltas.
    let mut starts: Vec<u64> = Vec::new();
    for (oi, o) in res.objects.iter().enumerate() {
        for (si, s) in o.symbols.iter().enumerate() {
            if s.kind != SymbolKind::Func {
                continue;
            }
            let SymPlace::Section(sec) = s.place else {
                continue;
            };
            if l.placements[oi][sec as usize].is_none() {
                continue;
            }
            starts.push(l.object_symbol_value(oi as u32, si as u32).addr);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut prev = l.base;
    for a in starts {
        uleb(&mut p.function_starts, a - prev);
        prev = a;
    }
    if !p.function_starts.is_empty() {
        p.function_starts.push(0);
    }
    while p.function_starts.len() % 8 != 0 {
        p.function_starts.push(0);
    }
    p.function_starts_off = at;
    at += p.function_starts.len() as u64;
    p.data_in_code_off = at;

    // The symbol table: locals, external definitions, undefined (imports).
    p.strtab = b" \0".to_vec();
    let name = |strtab: &mut Vec<u8>, n: &[u8]| -> u32 {
        let x = strtab.len() as u32;
        strtab.extend_from_slice(n);
        strtab.push(0);
        x
    };
    let sect_of = |oi: usize, sec: u32| -> u8 {
        l.placements[oi][sec as usize]
            .map(|p| ordinals[p.section as usize])
            .unwrap_or(0)
    };
    if !l.options.strip_symbols {
        for (oi, o) in res.objects.iter().enumerate() {
            for (si, s) in o.symbols.iter().enumerate().skip(1) {
                let SymPlace::Section(sec) = s.place else {
                    continue;
                };
                if s.kind == SymbolKind::Section || s.name.is_empty() {
                    continue;
                }
                let hidden_global = !s.is_local() && s.visibility != Visibility::Default;
                if !(s.is_local() || hidden_global) {
                    continue;
                }
                // Assembler temporaries.
                if s.is_local() && matches!(s.name.first(), Some(b'L' | b'l')) {
                    continue;
                }
                let n_sect = sect_of(oi, sec);
                if n_sect == 0 {
                    continue;
                }
                if hidden_global {
                    // Only the definition that won resolution.
                    let id = res.symbol_ids[oi][si];
                    let winner = res.globals.get(id as usize).is_some_and(|g| {
                        matches!(g.def, Def::Object { obj, sym, .. } if obj as usize == oi && sym as usize == si)
                    });
                    if !winner {
                        continue;
                    }
                }
                let strx = name(&mut p.strtab, s.name);
                p.symbols.push(Nlist {
                    strx,
                    n_type: N_SECT | if hidden_global { N_PEXT } else { 0 },
                    n_sect,
                    n_desc: 0,
                    value: l.object_symbol_value(oi as u32, si as u32).addr,
                });
            }
        }
    }
    p.nlocal = p.symbols.len() as u32;
    let mut extdefs: Vec<(Vec<u8>, Nlist)> = Vec::new();
    if !l.dylib {
        extdefs.push((
            MH_EXECUTE_HEADER.to_vec(),
            Nlist {
                strx: 0,
                n_type: N_SECT | N_EXT,
                n_sect: 1,
                n_desc: REFERENCED_DYNAMICALLY,
                value: l.base,
            },
        ));
    }
    for &id in &exported {
        let g = &res.globals[id as usize];
        let Def::Object { obj, sym, .. } = g.def else {
            continue;
        };
        let s = &res.objects[obj as usize].symbols[sym as usize];
        let n_sect = match s.place {
            SymPlace::Section(sec) => sect_of(obj as usize, sec),
            _ => 0,
        };
        extdefs.push((
            g.name.to_vec(),
            Nlist {
                strx: 0,
                n_type: if n_sect == 0 { 0x2 } else { N_SECT } | N_EXT,
                n_sect,
                n_desc: 0,
                value: l.value(SymbolRef::Global(id)).addr,
            },
        ));
    }
    extdefs.sort_by(|a, b| a.0.cmp(&b.0));
    for (n, mut e) in extdefs {
        e.strx = name(&mut p.strtab, &n);
        p.symbols.push(e);
    }
    p.nextdef = p.symbols.len() as u32 - p.nlocal;
    let mut undef: Vec<u32> = l.imports.iter().copied().collect();
    undef.sort_by(|&a, &b| {
        res.globals[a as usize]
            .name
            .cmp(res.globals[b as usize].name)
    });
    let first_undef = p.symbols.len() as u32;
    let mut undef_index = rustc_hash::FxHashMap::default();
    for (k, &id) in undef.iter().enumerate() {
        let g = &res.globals[id as usize];
        let Def::Dynamic { import } = g.def else {
            continue;
        };
        let imp = &res.imports[import as usize];
        let ordinal = l.import_ordinal(imp);
        let strx = name(&mut p.strtab, &imp.remote);
        p.symbols.push(Nlist {
            strx,
            n_type: N_UNDF | N_EXT,
            n_sect: 0,
            n_desc: ((ordinal as u16) << 8)
                | if g.strong_ref && !l.import_is_weak(imp) {
                    0
                } else {
                    N_WEAK_REF
                },
            value: 0,
        });
        undef_index.insert(id, first_undef + k as u32);
    }
    p.nundef = p.symbols.len() as u32 - first_undef;
    while p.strtab.len() % 8 != 0 {
        p.strtab.push(0);
    }

    // Indirect symbols: one per stub, then one per GOT slot.
    for &id in &l.stubs {
        p.indirect.push(
            undef_index
                .get(&id)
                .copied()
                .unwrap_or(INDIRECT_SYMBOL_LOCAL),
        );
    }
    for e in &l.got {
        let index = match e {
            GotEntry::Address(SymbolRef::Global(id)) => undef_index.get(id).copied(),
            _ => None,
        };
        p.indirect.push(index.unwrap_or(INDIRECT_SYMBOL_LOCAL));
    }

    p.symtab_off = at;
    at += 16 * p.symbols.len() as u64;
    p.indirect_off = at;
    at += 4 * p.indirect.len() as u64;
    at = align_to(at, 8);
    p.strtab_off = at;
    at += p.strtab.len() as u64;
    p.signature_off = align_to(at, 16);
    p.end = p.signature_off;
    Ok(p)
}
