//! String merging (`SHF_MERGE|SHF_STRINGS`): equal strings from every input share one copy in
//! the output. C compilers put literals in `.rodata.str1.1`; every object's debug info names
//! the same types and paths in `.debug_str`, so this is where most of the saving is.

use std::collections::HashMap;

use rlink_linker::{bail, Result};

/// Input offset → output offset, for the strings of one input section.
#[derive(Debug, Default, Clone)]
pub struct PieceMap {
    /// (input offset, output offset) of each string, sorted by input offset.
    pieces: Vec<(u64, u64)>,
}

impl PieceMap {
    /// Where byte `offset` of the input section landed; an offset inside a string keeps its
    /// distance from the string's start. `None` past the section's end.
    pub fn map(&self, offset: u64) -> Option<u64> {
        let i = self.pieces.partition_point(|&(start, _)| start <= offset);
        let (start, out) = *self.pieces.get(i.checked_sub(1)?)?;
        Some(out + (offset - start))
    }
}

/// The merged contents of one output section.
#[derive(Debug, Default)]
pub struct Merged<'a> {
    /// Strings in output order, each with its terminator.
    pub strings: Vec<&'a [u8]>,
    pub size: u64,
}

/// Splits `data` into `entsize`-wide-character strings, each ending with its terminator (the
/// last one may lack it).
fn split(data: &[u8], entsize: usize) -> Result<Vec<(usize, &[u8])>> {
    if entsize == 0 || data.len() % entsize != 0 {
        bail!(
            "mergeable string section of {} bytes is not a multiple of its entry size {entsize}",
            data.len()
        );
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < data.len() {
        if data[at..at + entsize].iter().all(|&b| b == 0) {
            out.push((start, &data[start..at + entsize]));
            start = at + entsize;
        }
        at += entsize;
    }
    if start < data.len() {
        out.push((start, &data[start..]));
    }
    Ok(out)
}

/// Merges the given input sections (in link order, so the result is the same at any thread
/// count) and returns the output contents and one piece map per input.
pub fn merge<'a>(inputs: &[&'a [u8]], entsize: usize) -> Result<(Merged<'a>, Vec<PieceMap>)> {
    let mut merged = Merged::default();
    let mut seen: HashMap<&'a [u8], u64> = HashMap::new();
    let mut maps = Vec::with_capacity(inputs.len());
    for data in inputs {
        let mut map = PieceMap::default();
        for (start, s) in split(data, entsize)? {
            let out = *seen.entry(s).or_insert_with(|| {
                let at = merged.size;
                merged.strings.push(s);
                merged.size += s.len() as u64;
                at
            });
            map.pieces.push((start as u64, out));
        }
        maps.push(map);
    }
    Ok((merged, maps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy() {
        let a: &[u8] = b"hello\0world\0";
        let b: &[u8] = b"world\0hello\0new\0";
        let (m, maps) = merge(&[a, b], 1).unwrap();
        assert_eq!(m.strings.concat(), b"hello\0world\0new\0");
        assert_eq!(maps[0].map(0), Some(0));
        assert_eq!(maps[0].map(6), Some(6));
        assert_eq!(maps[1].map(0), Some(6));
        assert_eq!(maps[1].map(6), Some(0));
        // An offset inside a string keeps its distance from the start (a suffix reference).
        assert_eq!(maps[1].map(8), Some(2));
        assert_eq!(maps[1].map(12), Some(12));
    }

    #[test]
    fn wide_strings_and_ragged_sections() {
        let a: &[u8] = b"a\0b\0\0\0";
        let (m, maps) = merge(&[a, a], 2).unwrap();
        assert_eq!(m.size, 6);
        assert_eq!(maps[1].map(4), Some(4));
        assert!(merge(&[b"abc"], 2).is_err());
        let (m, _) = merge(&[b"no terminator"], 1).unwrap();
        assert_eq!(m.size, 13);
    }
}
