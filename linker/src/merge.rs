//! String merging (`SHF_MERGE|SHF_STRINGS`): equal strings from every input share one copy in
//! the output. C compilers put literals in `.rodata.str1.1`; every object's debug info names
//! the same types and paths in `.debug_str`, so this is where most of the saving is.

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::{bail, diag::Result};

/// Input offset → output offset, for the strings of one input section.
#[derive(Debug, Default, Clone)]
pub struct PieceMap {
    /// (input offset, output offset) of each string, sorted by input offset. Merged sections
    /// are far smaller than 4 GiB (checked), so 32 bits each: a ripgrep debug link maps
    /// hundreds of thousands of strings.
    pieces: Vec<(u32, u32)>,
}

impl PieceMap {
    /// Where byte `offset` of the input section landed; an offset inside a string keeps its
    /// distance from the string's start. `None` past the section's end.
    pub fn map(&self, offset: u64) -> Option<u64> {
        let i = self
            .pieces
            .partition_point(|&(start, _)| u64::from(start) <= offset);
        let (start, out) = *self.pieces.get(i.checked_sub(1)?)?;
        Some(u64::from(out).wrapping_add(offset - u64::from(start)))
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
    if entsize == 0 || !data.len().is_multiple_of(entsize) {
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

/// One string of an input: where it starts, how long it is (with its terminator) and its
/// hash, computed once.
#[derive(Clone, Copy)]
struct Piece {
    start: u32,
    len: u32,
    hash: u64,
}

/// One shard's distinct strings, in first-seen order.
struct Shard {
    /// Indices into `firsts`, found by hash and compared by bytes.
    table: HashTable<u32>,
    /// Where each distinct string was first seen: (input, piece).
    firsts: Vec<(u32, u32)>,
    /// Each distinct string's offset in the shard.
    offsets: Vec<u32>,
    size: u64,
}

/// Merges the given input sections (in link order) and returns the output contents and one
/// piece map per input. Inputs are split and hashed in parallel, shards deduplicate in
/// parallel (each in input order), and shards are laid out in shard order: the same bytes at
/// any thread count. Strings are referred to by (input, piece) indices rather than slices, so
/// the tables stay small.
pub fn merge<'a>(inputs: &[&'a [u8]], entsize: usize) -> Result<(Merged<'a>, Vec<PieceMap>)> {
    if inputs.len() > u32::MAX as usize {
        bail!("too many mergeable string sections ({})", inputs.len());
    }
    let split: Vec<Vec<Piece>> = inputs
        .par_iter()
        .map(|data| {
            if data.len() > u32::MAX as usize {
                bail!(
                    "mergeable string section of {} bytes is larger than 4 GiB",
                    data.len()
                );
            }
            Ok(split(data, entsize)?
                .into_iter()
                .map(|(start, bytes)| Piece {
                    start: start as u32,
                    len: bytes.len() as u32,
                    hash: hash(bytes),
                })
                .collect())
        })
        .collect::<Result<_>>()?;
    let bytes_of = |(input, piece): (u32, u32)| -> &'a [u8] {
        let p = &split[input as usize][piece as usize];
        &inputs[input as usize][p.start as usize..(p.start + p.len) as usize]
    };
    let shard_of = |hash: u64| (hash % SHARDS as u64) as usize;
    // Within a shard the low bits of every hash are the same (they chose the shard): the
    // table indexes by the rest.
    let table_hash = |hash: u64| hash.rotate_right(SHARDS.trailing_zeros());
    let mut by_shard: Vec<Vec<(u32, u32)>> = vec![Vec::new(); SHARDS];
    for (input, pieces) in split.iter().enumerate() {
        for (piece, p) in pieces.iter().enumerate() {
            by_shard[shard_of(p.hash)].push((input as u32, piece as u32));
        }
    }
    let shards: Vec<Shard> = by_shard
        .into_par_iter()
        .map(|refs| {
            let mut shard = Shard {
                table: HashTable::new(),
                firsts: Vec::new(),
                offsets: Vec::new(),
                size: 0,
            };
            for r in refs {
                let hash = table_hash(split[r.0 as usize][r.1 as usize].hash);
                let bytes = bytes_of(r);
                let firsts = &shard.firsts;
                let seen = shard
                    .table
                    .find(hash, |&i| bytes_of(firsts[i as usize]) == bytes)
                    .is_some();
                if !seen {
                    let index = shard.firsts.len() as u32;
                    shard.firsts.push(r);
                    let firsts = &shard.firsts;
                    shard.table.insert_unique(hash, index, |&i| {
                        let (input, piece) = firsts[i as usize];
                        table_hash(split[input as usize][piece as usize].hash)
                    });
                    shard.offsets.push(shard.size as u32);
                    shard.size += bytes.len() as u64;
                }
            }
            shard
        })
        .collect();
    let mut bases = Vec::with_capacity(SHARDS);
    let mut total = 0u64;
    for shard in &shards {
        bases.push(total);
        total += shard.size;
    }
    if total > u64::from(u32::MAX) {
        bail!("merged strings would be larger than 4 GiB ({total} bytes)");
    }
    let maps: Vec<PieceMap> = split
        .par_iter()
        .enumerate()
        .map(|(input, pieces)| PieceMap {
            pieces: pieces
                .iter()
                .enumerate()
                .map(|(piece, p)| {
                    let s = shard_of(p.hash);
                    let shard = &shards[s];
                    let bytes = bytes_of((input as u32, piece as u32));
                    let index = shard
                        .table
                        .find(table_hash(p.hash), |&i| {
                            bytes_of(shard.firsts[i as usize]) == bytes
                        })
                        .copied()
                        .unwrap_or(0);
                    let out = bases[s] + u64::from(shard.offsets[index as usize]);
                    (p.start, out as u32)
                })
                .collect(),
        })
        .collect();
    let strings = shards
        .iter()
        .flat_map(|shard| shard.firsts.iter().map(|&r| bytes_of(r)))
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
