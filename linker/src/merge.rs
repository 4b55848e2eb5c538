//! String merging (`SHF_MERGE|SHF_STRINGS`): equal strings from every input share one copy in
//! the output. C compilers put literals in `.rodata.str1.1`; every object's debug info names
//! the same types and paths in `.debug_str`, so this is where most of the saving is.

use std::sync::atomic::{AtomicU32, Ordering};

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::{bail, diag::Result};

/// Input offset → output offset, for the strings of one input section.
#[derive(Debug, Default, Clone)]
pub struct PieceMap {
    /// The input offset of each string, ascending, and its output offset. Merged sections
    /// are far smaller than 4 GiB (checked), so 32 bits each: a ripgrep debug link maps
    /// hundreds of thousands of strings.
    starts: Vec<u32>,
    outs: Vec<u32>,
    /// Per [`BUCKET`] bytes of the input, the last string starting at or before the bucket's
    /// first byte: a lookup starts there and steps over the few strings in between, where a
    /// binary search would take a dozen dependent loads (a debug link looks up a string for
    /// every name its debug information mentions).
    buckets: Vec<u32>,
}

/// Input bytes per bucket of a [`PieceMap`]: a string or two each (most strings of debug
/// information are short type and field names), an eighth of the input's size in index.
const BUCKET: u64 = 32;

impl PieceMap {
    /// The map of strings starting at the given offsets (ascending) of an input of `len`
    /// bytes, with their output offsets.
    fn new(mut starts: Vec<u32>, outs: Vec<u32>, len: u64) -> PieceMap {
        let count = len / BUCKET + 1;
        let mut buckets = Vec::with_capacity(count as usize);
        let mut last = 0u32;
        for b in 0..count {
            let at = b * BUCKET;
            while starts
                .get(last as usize + 1)
                .is_some_and(|&s| u64::from(s) <= at)
            {
                last += 1;
            }
            buckets.push(last);
        }
        // A sentinel past every string's start (inputs are under 4 GiB, checked): lookups
        // step forward without a bounds check.
        starts.push(u32::MAX);
        PieceMap {
            starts,
            outs,
            buckets,
        }
    }

    /// Where byte `offset` of the input section landed; an offset inside a string keeps its
    /// distance from the string's start. `None` before the first string.
    #[inline]
    pub fn map(&self, offset: u64) -> Option<u64> {
        if self.outs.is_empty() || offset >= u64::from(u32::MAX) {
            return self.map_far(offset);
        }
        let starts = &self.starts;
        let mut i = match self.buckets.get((offset / BUCKET) as usize) {
            Some(&b) => b as usize,
            // Past the input's end: from the last bucket on.
            None => *self.buckets.last()? as usize,
        };
        if u64::from(starts[i]) > offset {
            return None;
        }
        // The sentinel stops the walk at the last string.
        while u64::from(starts[i + 1]) <= offset {
            i += 1;
        }
        Some(u64::from(self.outs[i]).wrapping_add(offset - u64::from(starts[i])))
    }

    /// [`PieceMap::map`] for an offset no input section reaches (or an empty map).
    #[cold]
    fn map_far(&self, offset: u64) -> Option<u64> {
        let last = self.outs.len().checked_sub(1)?;
        let start = u64::from(self.starts[last]);
        (start <= offset).then(|| u64::from(self.outs[last]).wrapping_add(offset - start))
    }
}

/// The merged contents of one output section: each shard's distinct strings, the shards one
/// after another.
#[derive(Debug, Default)]
pub struct Merged<'a> {
    /// Per shard, its strings in output order, each with its terminator.
    pub shards: Vec<Vec<&'a [u8]>>,
    /// Each shard's offset in the section.
    pub shard_offsets: Vec<u64>,
    pub size: u64,
}

impl Merged<'_> {
    /// Writes the section's bytes (`out` is exactly [`Merged::size`] long), a shard per task.
    pub fn write(&self, out: &mut [u8]) {
        let mut pieces: Vec<(&[&[u8]], &mut [u8])> = Vec::with_capacity(self.shards.len());
        let mut rest = out;
        for (k, strings) in self.shards.iter().enumerate() {
            let end = self.shard_offsets.get(k + 1).copied().unwrap_or(self.size);
            let len = (end - self.shard_offsets[k]) as usize;
            let (here, after) = std::mem::take(&mut rest).split_at_mut(len);
            pieces.push((strings, here));
            rest = after;
        }
        pieces.into_par_iter().for_each(|(strings, out)| {
            let mut at = 0;
            for s in strings {
                out[at..at + s.len()].copy_from_slice(s);
                at += s.len();
            }
        });
    }
}

/// Strings are deduplicated in this many independent shards, chosen by hash, so the work
/// spreads over threads while the output stays the same at any thread count.
const SHARDS: usize = 32;

/// xxh3: fast on short and long strings alike, and well mixed in every bit, so both the shard
/// choice (low bits) and the table (high bits) see well-spread values. Stable across runs and
/// machines.
fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

fn shard_of(hash: u64) -> usize {
    (hash % SHARDS as u64) as usize
}

/// One string of an input: where it starts, how long it is (with its terminator) and its
/// hash, computed once.
#[derive(Clone, Copy)]
struct Piece {
    start: u32,
    len: u32,
    hash: u64,
}

/// One input split into its strings, with the strings' indices grouped by shard (each
/// group in input order), so every shard finds its own at once.
struct Split {
    pieces: Vec<Piece>,
    by_shard: Vec<u32>,
    /// Shard `k`'s group is `by_shard[bounds[k]..bounds[k + 1]]`.
    bounds: [u32; SHARDS + 1],
    /// Each string's offset in its shard, written by the shard that keeps it (each entry by
    /// exactly one shard, so relaxed stores suffice).
    in_shard: Vec<AtomicU32>,
}

/// Splits `data` into `entsize`-wide-character strings, each ending with its terminator (the
/// last one may lack it), hashed and grouped by shard.
fn split(data: &[u8], entsize: usize) -> Result<Split> {
    if entsize == 0 || !data.len().is_multiple_of(entsize) {
        bail!(
            "mergeable string section of {} bytes is not a multiple of its entry size {entsize}",
            data.len()
        );
    }
    if data.len() > u32::MAX as usize {
        bail!(
            "mergeable string section of {} bytes is larger than 4 GiB",
            data.len()
        );
    }
    let mut pieces = Vec::new();
    let mut push = |start: usize, end: usize| {
        let bytes = &data[start..end];
        pieces.push(Piece {
            start: start as u32,
            len: bytes.len() as u32,
            hash: hash(bytes),
        })
    };
    let mut start = 0;
    if entsize == 1 {
        // The common case (.rodata.str1.1, .debug_str): a vectorised search for each NUL.
        for end in memchr::memchr_iter(0, data) {
            push(start, end + 1);
            start = end + 1;
        }
    } else {
        let mut at = 0;
        while at < data.len() {
            if data[at..at + entsize].iter().all(|&b| b == 0) {
                push(start, at + entsize);
                start = at + entsize;
            }
            at += entsize;
        }
    }
    if start < data.len() {
        push(start, data.len());
    }
    // A counting sort of the strings' indices by shard.
    let mut bounds = [0u32; SHARDS + 1];
    for p in &pieces {
        bounds[shard_of(p.hash) + 1] += 1;
    }
    for k in 0..SHARDS {
        bounds[k + 1] += bounds[k];
    }
    let mut next = bounds;
    let mut by_shard = vec![0u32; pieces.len()];
    for (i, p) in pieces.iter().enumerate() {
        let k = shard_of(p.hash);
        by_shard[next[k] as usize] = i as u32;
        next[k] += 1;
    }
    let in_shard = pieces.iter().map(|_| AtomicU32::new(0)).collect();
    Ok(Split {
        pieces,
        by_shard,
        bounds,
        in_shard,
    })
}

/// One shard's distinct strings, in first-seen order.
struct Shard<'a> {
    strings: Vec<&'a [u8]>,
    size: u64,
}

/// Deduplicates shard `k`'s strings of every input, in input order: the first copy of each is
/// kept; every copy's offset in the shard is recorded.
fn dedupe_shard<'a>(k: usize, inputs: &[&'a [u8]], split: &[Split]) -> Shard<'a> {
    // Within a shard the low bits of every hash are the same (they chose the shard): the
    // table indexes by the rest.
    let table_hash = |hash: u64| hash.rotate_right(SHARDS.trailing_zeros());
    let count: usize = split
        .iter()
        .map(|s| (s.bounds[k + 1] - s.bounds[k]) as usize)
        .sum();
    // (hash, offset in the shard) of each distinct string, found by index from the table.
    let mut kept: Vec<(u64, u32)> = Vec::with_capacity(count);
    let mut strings: Vec<&'a [u8]> = Vec::with_capacity(count);
    let mut table: HashTable<u32> = HashTable::with_capacity(count);
    let mut size = 0u64;
    for (input, s) in split.iter().enumerate() {
        let data = inputs[input];
        for &i in &s.by_shard[s.bounds[k] as usize..s.bounds[k + 1] as usize] {
            let p = s.pieces[i as usize];
            let bytes = &data[p.start as usize..(p.start + p.len) as usize];
            let h = table_hash(p.hash);
            let found = table.find(h, |&e| {
                kept[e as usize].0 == p.hash && strings[e as usize] == bytes
            });
            let at = match found {
                Some(&e) => kept[e as usize].1,
                None => {
                    let at = size as u32;
                    let e = strings.len() as u32;
                    kept.push((p.hash, at));
                    strings.push(bytes);
                    table.insert_unique(h, e, |&e| table_hash(kept[e as usize].0));
                    size += bytes.len() as u64;
                    at
                }
            };
            s.in_shard[i as usize].store(at, Ordering::Relaxed);
        }
    }
    Shard { strings, size }
}

/// Merges the given input sections (in link order) and returns the output contents and one
/// piece map per input. Inputs are split and hashed in parallel, shards deduplicate in
/// parallel (each in input order), and shards are laid out in shard order: the same bytes at
/// any thread count.
pub fn merge<'a>(inputs: &[&'a [u8]], entsize: usize) -> Result<(Merged<'a>, Vec<PieceMap>)> {
    merge_prepared(inputs, entsize, &Prepared::default())
}

/// A split made ahead, until a merge takes it: the split, or why it could not be made
/// (reported only if the section is merged).
type Ahead = std::sync::Mutex<Option<Result<Split>>>;

/// Input sections split into their strings ahead of the merge, while the link did other
/// things (see [`Prepared::split_all`]).
#[derive(Default)]
pub struct Prepared {
    /// By the address and length of the section's bytes, with its character size.
    splits: rustc_hash::FxHashMap<(usize, usize, usize), Ahead>,
}

impl Prepared {
    /// Splits and hashes these sections (bytes, character size), in parallel: all a merge
    /// does before it deduplicates, so it can run beside work that leaves a core idle (the
    /// serial part of symbol resolution) for sections that may yet join the link.
    pub fn split_all(sections: &[(&[u8], usize)]) -> Prepared {
        let splits = sections
            .par_iter()
            .map(|&(data, entsize)| {
                (
                    (data.as_ptr() as usize, data.len(), entsize),
                    std::sync::Mutex::new(Some(split(data, entsize))),
                )
            })
            .collect();
        Prepared { splits }
    }

    /// The split of `data` made ahead, if there is one (each is taken once).
    fn take(&self, data: &[u8], entsize: usize) -> Option<Result<Split>> {
        let slot = self
            .splits
            .get(&(data.as_ptr() as usize, data.len(), entsize))?;
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.take()
    }
}

/// [`merge`], using the splits `prepared` made ahead where it has them.
pub fn merge_prepared<'a>(
    inputs: &[&'a [u8]],
    entsize: usize,
    prepared: &Prepared,
) -> Result<(Merged<'a>, Vec<PieceMap>)> {
    if inputs.len() > u32::MAX as usize {
        bail!("too many mergeable string sections ({})", inputs.len());
    }
    let split: Vec<Split> = inputs
        .par_iter()
        .map(|data| match prepared.take(data, entsize) {
            Some(split) => split,
            None => split(data, entsize),
        })
        .collect::<Result<_>>()?;
    let shards: Vec<Shard<'a>> = (0..SHARDS)
        .into_par_iter()
        .map(|k| dedupe_shard(k, inputs, &split))
        .collect();
    tracing::debug!(
        inputs = inputs.len(),
        pieces = split.iter().map(|s| s.pieces.len()).sum::<usize>(),
        bytes = inputs.iter().map(|i| i.len()).sum::<usize>(),
        unique = shards.iter().map(|s| s.strings.len()).sum::<usize>(),
        "merged strings"
    );
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
        .zip(inputs)
        .map(|(s, data)| {
            let starts = s.pieces.iter().map(|p| p.start).collect();
            let outs = s
                .pieces
                .iter()
                .zip(&s.in_shard)
                .map(|(p, at)| {
                    (bases[shard_of(p.hash)] + u64::from(at.load(Ordering::Relaxed))) as u32
                })
                .collect();
            PieceMap::new(starts, outs, data.len() as u64)
        })
        .collect();
    crate::background::drop_late(split);
    Ok((
        Merged {
            shards: shards.into_iter().map(|s| s.strings).collect(),
            shard_offsets: bases,
            size: total,
        },
        maps,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(m: &Merged<'_>) -> Vec<u8> {
        let mut out = vec![0; m.size as usize];
        m.write(&mut out);
        assert_eq!(out, m.shards.concat().concat());
        out
    }

    #[test]
    fn equal_strings_share_one_copy() {
        let a: &[u8] = b"hello\0world\0";
        let b: &[u8] = b"world\0hello\0new\0";
        let (m, maps) = merge(&[a, b], 1).unwrap();
        let out = written(&m);
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
    fn lookups_agree_with_a_search_of_every_string() {
        // Strings of many lengths, some longer than a bucket, and every offset looked up.
        let mut data = Vec::new();
        for i in 0..300usize {
            data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 150));
            data.push(0);
        }
        let (_, maps) = merge(&[&data], 1).unwrap();
        let map = &maps[0];
        for offset in 0..data.len() as u64 + 100 {
            let i = map.starts[..map.outs.len()].partition_point(|&s| u64::from(s) <= offset) - 1;
            let (start, out) = (map.starts[i], map.outs[i]);
            assert_eq!(
                map.map(offset),
                Some(u64::from(out) + offset - u64::from(start))
            );
        }
        let empty = PieceMap::new(Vec::new(), Vec::new(), 0);
        assert_eq!(empty.map(0), None);
        let late = PieceMap::new(vec![100], vec![7], 200);
        assert_eq!(late.map(99), None);
        assert_eq!(late.map(130), Some(37));
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
