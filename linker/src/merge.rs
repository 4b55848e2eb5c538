//! String merging (`SHF_MERGE|SHF_STRINGS`): equal strings from every input share one copy in
//! the output. C compilers put literals in `.rodata.str1.1`; every object's debug info names
//! the same types and paths in `.debug_str`, so this is where most of the saving is.

use std::collections::HashMap;

use crate::{bail, diag::Result};
use rayon::prelude::*;

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
        Some(out.wrapping_add(offset - start))
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
    if entsize == 1 {
        // The common case (.rodata.str1.1, .debug_str): a vectorised search for each NUL.
        for end in memchr::memchr_iter(0, data) {
            out.push((start, &data[start..=end]));
            start = end + 1;
        }
    } else {
        let mut at = 0;
        while at < data.len() {
            if data[at..at + entsize].iter().all(|&b| b == 0) {
                out.push((start, &data[start..at + entsize]));
                start = at + entsize;
            }
            at += entsize;
        }
    }
    if start < data.len() {
        out.push((start, &data[start..]));
    }
    Ok(out)
}

/// Strings are deduplicated in this many independent shards, chosen by hash, so the work
/// spreads over threads while the output stays the same at any thread count.
const SHARDS: usize = 32;

/// A word-at-a-time multiplicative hash with a final mix (the finaliser of MurmurHash3), so
/// both the shard choice (low bits) and the table (high bits) see well-spread values. Stable
/// across runs and machines.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let mut tail = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        tail |= u64::from(b) << (8 * i);
    }
    h = (h.rotate_left(5) ^ tail).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// A string with its hash computed once; the table reuses it instead of hashing again.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key<'a> {
    hash: u64,
    bytes: &'a [u8],
}

impl std::hash::Hash for Key<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Passes a precomputed hash through.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table<'a> = HashMap<Key<'a>, u64, std::hash::BuildHasherDefault<Prehashed>>;

/// Merges the given input sections (in link order) and returns the output contents and one
/// piece map per input. Inputs are split and hashed in parallel, shards deduplicate in
/// parallel (each in input order), and shards are laid out in shard order: the same bytes at
/// any thread count.
pub fn merge<'a>(inputs: &[&'a [u8]], entsize: usize) -> Result<(Merged<'a>, Vec<PieceMap>)> {
    let split: Vec<Vec<(usize, Key<'a>)>> = inputs
        .par_iter()
        .map(|data| {
            Ok(split(data, entsize)?
                .into_iter()
                .map(|(start, bytes)| {
                    (
                        start,
                        Key {
                            hash: hash(bytes),
                            bytes,
                        },
                    )
                })
                .collect())
        })
        .collect::<Result<_>>()?;
    let mut by_shard: Vec<Vec<Key<'a>>> = vec![Vec::new(); SHARDS];
    for strings in &split {
        for &(_, key) in strings {
            by_shard[(key.hash % SHARDS as u64) as usize].push(key);
        }
    }
    let shards: Vec<(Vec<&'a [u8]>, Table<'a>, u64)> = by_shard
        .into_par_iter()
        .map(|keys| {
            let mut table = Table::default();
            let mut strings = Vec::new();
            let mut size = 0u64;
            for key in keys {
                table.entry(key).or_insert_with(|| {
                    let at = size;
                    strings.push(key.bytes);
                    size += key.bytes.len() as u64;
                    at
                });
            }
            (strings, table, size)
        })
        .collect();
    let mut bases = Vec::with_capacity(SHARDS);
    let mut total = 0u64;
    for (_, _, size) in &shards {
        bases.push(total);
        total += size;
    }
    let maps: Vec<PieceMap> = split
        .par_iter()
        .map(|strings| PieceMap {
            pieces: strings
                .iter()
                .map(|&(start, key)| {
                    let shard = (key.hash % SHARDS as u64) as usize;
                    (start as u64, bases[shard] + shards[shard].1[&key])
                })
                .collect(),
        })
        .collect();
    let strings = shards
        .into_iter()
        .flat_map(|(strings, _, _)| strings)
        .collect();
    Ok((
        Merged {
            strings,
            size: total,
        },
        maps,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy() {
        let a: &[u8] = b"hello\0world\0";
        let b: &[u8] = b"world\0hello\0new\0";
        let (m, maps) = merge(&[a, b], 1).unwrap();
        let out = m.strings.concat();
        assert_eq!(out.len(), 16, "three distinct strings");
        let at = |s: &[u8]| out.windows(s.len()).position(|w| w == s).unwrap() as u64;
        assert_eq!(maps[0].map(0), Some(at(b"hello\0")));
        assert_eq!(maps[0].map(6), Some(at(b"world\0")));
        assert_eq!(maps[1].map(0), Some(at(b"world\0")));
        assert_eq!(maps[1].map(6), Some(at(b"hello\0")));
        // An offset inside a string keeps its distance from the start (a suffix reference).
        assert_eq!(maps[1].map(8), Some(at(b"hello\0") + 2));
        assert_eq!(maps[1].map(12), Some(at(b"new\0")));
    }

    #[test]
    fn wide_strings_and_ragged_sections() {
        let a: &[u8] = b"a\0b\0\0\0";
        let (m, maps) = merge(&[a, a], 2).unwrap();
        assert_eq!(m.size, 6);
        assert_eq!(maps[1].map(4), maps[0].map(4));
        assert_ne!(maps[0].map(0), maps[0].map(2));
        assert!(merge(&[b"abc"], 2).is_err());
        let (m, _) = merge(&[b"no terminator"], 1).unwrap();
        assert_eq!(m.size, 13);
    }
}
