//! `--gdb-index`: the `.gdb_index` section (version 7) gdb reads instead of scanning every
//! compilation unit, built from the output's relocated DWARF once it is written.
//!
//! - The CU list names each compilation unit of `.debug_info` (type units are left out).
//! - The address area maps each unit's code ranges (gimli reads `DW_AT_low_pc`/`high_pc`,
//!   `DW_AT_ranges`, DWARF 5's range lists and address table) to its unit.
//! - The symbol table comes from `.debug_gnu_pubnames` and `.debug_gnu_pubtypes` (what
//!   `-ggnu-pubnames` emits): each name, with the units that define it and the kind and
//!   linkage byte the compiler wrote.

use std::collections::BTreeMap;

use rlink_linker::{Error, Result};

/// The sections the index is read from, by name.
pub type Sections<'b> = dyn Fn(&str) -> &'b [u8] + 'b;

/// gdb's string hash of symbol names (`mapped_index_string_hash`, index versions 5 and up).
fn name_hash(name: &[u8]) -> u32 {
    name.iter().fold(0u32, |r, &c| {
        r.wrapping_mul(67)
            .wrapping_add(u32::from(c.to_ascii_lowercase()))
            .wrapping_sub(113)
    })
}

/// One name table set (`.debug_gnu_pubnames` or `.debug_gnu_pubtypes`): its entries, with
/// the `.debug_info` offset of the unit each set describes.
fn read_pubnames<'b>(data: &'b [u8], out: &mut Vec<(u64, u8, &'b [u8])>) -> Result<()> {
    let bad = || Error::new("--gdb-index: malformed .debug_gnu_pubnames/pubtypes");
    let mut at = 0usize;
    let u32_at = |at: usize| -> Result<u32> {
        Ok(u32::from_le_bytes(
            data.get(at..at + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    let u64_at = |at: usize| -> Result<u64> {
        Ok(u64::from_le_bytes(
            data.get(at..at + 8)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    while at < data.len() {
        let (length, offset_size, body) = match u32_at(at)? {
            0xffff_ffff => (u64_at(at + 4)?, 8usize, at + 12),
            n => (u64::from(n), 4usize, at + 4),
        };
        let end = body
            .checked_add(usize::try_from(length).map_err(|_| bad())?)
            .filter(|&e| e <= data.len())
            .ok_or_else(bad)?;
        let offset = |at: usize| -> Result<u64> {
            match offset_size {
                8 => u64_at(at),
                _ => u32_at(at).map(u64::from),
            }
        };
        // version (2), then the unit's offset and length in .debug_info.
        let unit = offset(body + 2)?;
        let mut p = body + 2 + 2 * offset_size;
        while p < end {
            let die = offset(p)?;
            p += offset_size;
            if die == 0 {
                break;
            }
            let flags = *data.get(p).ok_or_else(bad)?;
            p += 1;
            let rest = data.get(p..end).ok_or_else(bad)?;
            let len = rest.iter().position(|&b| b == 0).ok_or_else(bad)?;
            out.push((unit, flags, &rest[..len]));
            p += len + 1;
        }
        at = end;
    }
    Ok(())
}

/// The index, or `None` when the output has no compilation unit to index.
pub fn build(section: &Sections<'_>) -> Result<Option<Vec<u8>>> {
    use gimli::{EndianSlice, LittleEndian};
    let load = |id: gimli::SectionId| -> std::result::Result<_, gimli::Error> {
        Ok(EndianSlice::new(section(id.name()), LittleEndian))
    };
    let dwarf = gimli::Dwarf::load(load).map_err(|e| Error::new(format!("--gdb-index: {e}")))?;
    let dwarf_error = |e: gimli::Error| Error::new(format!("--gdb-index: malformed DWARF: {e}"));
    // Compilation units: (offset, length), and their code ranges.
    let mut units: Vec<(u64, u64)> = Vec::new();
    let mut ranges: Vec<(u64, u64, u32)> = Vec::new();
    let mut headers = dwarf.units();
    while let Some(header) = headers.next().map_err(dwarf_error)? {
        if !matches!(
            header.type_(),
            gimli::UnitType::Compilation | gimli::UnitType::Partial | gimli::UnitType::Skeleton(_)
        ) {
            continue;
        }
        let Some(offset) = header.debug_info_offset() else {
            continue;
        };
        let length = header.length_including_self() as u64;
        let index = units.len() as u32;
        units.push((offset.0 as u64, length));
        let unit = dwarf.unit(header).map_err(dwarf_error)?;
        let mut r = dwarf.unit_ranges(&unit).map_err(dwarf_error)?;
        while let Some(range) = r.next().map_err(dwarf_error)? {
            // Ranges of code the link dropped start at 0: gdb must not find them.
            if range.begin < range.end && range.begin != 0 {
                ranges.push((range.begin, range.end, index));
            }
        }
    }
    if units.is_empty() {
        return Ok(None);
    }
    let unit_of: BTreeMap<u64, u32> = units
        .iter()
        .enumerate()
        .map(|(i, &(off, _))| (off, i as u32))
        .collect();
    let mut names = Vec::new();
    read_pubnames(section(".debug_gnu_pubnames"), &mut names)?;
    read_pubnames(section(".debug_gnu_pubtypes"), &mut names)?;
    // Name → CU vector, each value the unit's index with the kind and linkage byte on top.
    let mut symbols: BTreeMap<&[u8], Vec<u32>> = BTreeMap::new();
    for (unit, flags, name) in names {
        let Some(&index) = unit_of.get(&unit) else {
            continue;
        };
        let value = index | (u32::from(flags) << 24);
        let v = symbols.entry(name).or_default();
        if !v.contains(&value) {
            v.push(value);
        }
    }
    // The constant pool: CU vectors, then names.
    let mut pool: Vec<u8> = Vec::new();
    let mut slots_of: Vec<(&[u8], u32, u32)> = Vec::new();
    let mut vector_at = Vec::with_capacity(symbols.len());
    for values in symbols.values() {
        vector_at.push(pool.len() as u32);
        pool.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for v in values {
            pool.extend_from_slice(&v.to_le_bytes());
        }
    }
    for ((name, _), vector) in symbols.iter().zip(vector_at) {
        slots_of.push((name, pool.len() as u32, vector));
        pool.extend_from_slice(name);
        pool.push(0);
    }
    // An open-addressed table at most three quarters full, probed as gdb probes it.
    let size = (slots_of.len() * 4 / 3 + 1).next_power_of_two().max(1);
    let mut table = vec![(0u32, 0u32); size];
    let mask = size as u32 - 1;
    for &(name, name_at, vector) in &slots_of {
        let hash = name_hash(name);
        let mut i = hash & mask;
        let step = (hash.wrapping_mul(17) & mask) | 1;
        while table[i as usize] != (0, 0) {
            i = (i + step) & mask;
        }
        table[i as usize] = (name_at, vector);
    }
    let mut out: Vec<u8> = Vec::new();
    let cu_list = 24u32;
    let types_list = cu_list + 16 * units.len() as u32;
    let address_area = types_list;
    let symbol_table = address_area + 20 * ranges.len() as u32;
    let constant_pool = symbol_table + 8 * size as u32;
    for v in [
        7,
        cu_list,
        types_list,
        address_area,
        symbol_table,
        constant_pool,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (offset, length) in &units {
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
    }
    for (begin, end, index) in &ranges {
        out.extend_from_slice(&begin.to_le_bytes());
        out.extend_from_slice(&end.to_le_bytes());
        out.extend_from_slice(&index.to_le_bytes());
    }
    for (name_at, vector) in &table {
        out.extend_from_slice(&name_at.to_le_bytes());
        out.extend_from_slice(&vector.to_le_bytes());
    }
    out.extend_from_slice(&pool);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_gdbs() {
        // r = r * 67 + tolower(c) - 113, from 0.
        assert_eq!(name_hash(b""), 0);
        assert_eq!(name_hash(b"a"), u32::from(b'a').wrapping_sub(113));
        assert_eq!(name_hash(b"Main"), name_hash(b"main"));
    }

    #[test]
    fn pubnames_sets_are_read_and_bad_ones_refused() {
        // One 32-bit set: version 2, unit at 0x10 of length 0x20, one entry `f` (flags 0x30).
        let mut set = vec![];
        set.extend_from_slice(&2u16.to_le_bytes());
        set.extend_from_slice(&0x10u32.to_le_bytes());
        set.extend_from_slice(&0x20u32.to_le_bytes());
        set.extend_from_slice(&0x2au32.to_le_bytes());
        set.push(0x30);
        set.extend_from_slice(b"f\0");
        set.extend_from_slice(&0u32.to_le_bytes());
        let mut data = (set.len() as u32).to_le_bytes().to_vec();
        data.extend_from_slice(&set);
        let mut out = Vec::new();
        read_pubnames(&data, &mut out).unwrap();
        assert_eq!(out, vec![(0x10, 0x30, &b"f"[..])]);
        data[0] = 0xff;
        assert!(read_pubnames(&data, &mut Vec::new()).is_err());
    }
}
