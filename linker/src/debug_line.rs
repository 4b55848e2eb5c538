//! Source lines for diagnostics: where in the source a place of an input section is, read
//! from the object's own `.debug_line` (gimli runs the line programs).
//!
//! An object's line programs are not relocated: each sequence's `DW_LNE_set_address` is a
//! relocation against the section the code is in, and DWARF 5's file names are offsets into
//! `.debug_line_str` by relocation too. So a copy of `.debug_line` is patched first: every
//! 8-byte address field gets its target's section index in the top 16 bits and its offset
//! below, every 4-byte string offset its target offset. A row's address then says both the
//! section and the offset. This runs only when an error is reported.

use crate::object::{ObjectView, SymPlace};

const SECTION_SHIFT: u32 = 48;

/// `file:line` of byte `offset` of section `sec`, when the object has line information there.
pub fn source_line(o: &ObjectView<'_>, sec: u32, offset: u64) -> Option<String> {
    let find = |names: &[&[u8]]| o.sections.iter().position(|s| names.contains(&s.name));
    let line_index = find(&[b".debug_line", b"__debug_line"])?;
    let line_str = find(&[b".debug_line_str", b"__debug_line_str"])
        .map(|i| o.sections[i].data)
        .unwrap_or_default();
    let mut data = o.sections[line_index].data.to_vec();
    for r in o.relocations.get(line_index)?.iter() {
        let s = o.symbols.get(r.symbol as usize)?;
        let SymPlace::Section(target) = s.place else {
            continue;
        };
        let value = s.value.wrapping_add(r.addend as u64);
        let at = usize::try_from(r.offset).ok()?;
        let code = o
            .sections
            .get(target as usize)
            .is_some_and(|t| t.flags.contains(crate::object::SectionFlags::ALLOC));
        if code {
            let v = (u64::from(target) << SECTION_SHIFT) | (value & ((1 << SECTION_SHIFT) - 1));
            data.get_mut(at..at + 8)?.copy_from_slice(&v.to_le_bytes());
        } else if let Some(field) = data.get_mut(at..at + 4) {
            field.copy_from_slice(&(value as u32).to_le_bytes());
        }
    }
    let endian = gimli::LittleEndian;
    let debug_line = gimli::DebugLine::new(&data, endian);
    let debug_line_str = gimli::DebugLineStr::new(line_str, endian);
    let want = (u64::from(sec) << SECTION_SHIFT) | offset;
    let mut program_offset = 0usize;
    while program_offset < data.len() {
        let program = debug_line
            .program(gimli::DebugLineOffset(program_offset), 8, None, None)
            .ok()?;
        let header = program.header().clone();
        // The next program follows this one's unit.
        let length =
            header
                .unit_length()
                .checked_add(if header.format() == gimli::Format::Dwarf64 {
                    12
                } else {
                    4
                })?;
        let mut rows = program.rows();
        let mut previous: Option<(u64, u64, u64)> = None; // address, file, line
        while let Ok(Some((_, row))) = rows.next_row() {
            let address = row.address();
            if let Some((start, file, line)) = previous {
                if start <= want && want < address && start >> SECTION_SHIFT == u64::from(sec) {
                    return file_line(&header, &debug_line_str, file, line);
                }
            }
            previous = if row.end_sequence() {
                None
            } else {
                Some((address, row.file_index(), row.line().map_or(0, |l| l.get())))
            };
        }
        program_offset = program_offset.checked_add(length)?;
    }
    None
}

fn file_line<R: gimli::Reader>(
    header: &gimli::LineProgramHeader<R>,
    line_str: &gimli::DebugLineStr<R>,
    file: u64,
    line: u64,
) -> Option<String> {
    let entry = header.file(file)?;
    let name = match entry.path_name() {
        gimli::AttributeValue::String(s) => s.to_string_lossy().ok()?.into_owned(),
        gimli::AttributeValue::DebugLineStrRef(o) => line_str
            .get_str(o)
            .ok()?
            .to_string_lossy()
            .ok()?
            .into_owned(),
        _ => return None,
    };
    (line > 0).then(|| format!("{name}:{line}"))
}
