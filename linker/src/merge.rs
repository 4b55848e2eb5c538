//! String merging (`SHF_MERGE|SHF_STRINGS`): equal strings from every input share one copy in
//! the output. C compilers put literals in `.rodata.str1.1`; every object's debug info names
//! the same types and paths in `.debug_str`, so this is where most of the saving is.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::par::PerItem as _;
use crate::{bail, diag::Result};

/// Input offset → output offset, for the strings of one input section.
#[derive(Debug, Default, Clone)]
pub struct PieceMap {
    /// Each string's input offset, ascending, beside its output offset: a lookup reads both
    /// from one cache line (a debug link looks up hundreds of thousands of strings, most in
    /// memory no other lookup has touched lately). Merged sections are far smaller than
    /// 4 GiB (checked), so 32 bits each. A sentinel past every string ends the table.
    pieces: Vec<(u32, u32)>,
    /// Per [`BUCKET`] bytes of the input, the last string starting at or before the bucket's
    /// first byte: a lookup starts there and steps over the few strings in between, where a
    /// binary search would take a dozen dependent loads.
    buckets: Vec<u32>,
}

/// Input bytes per bucket of a [`PieceMap`]: a string or two each (most strings of debug
/// information are short type and field names), an eighth of the input's size in index.
const BUCKET: u64 = 32;

/// Per [`BUCKET`] bytes of an input of `len` bytes whose strings start at `starts`
/// (ascending), the index of the last string starting at or before the bucket's first byte
/// (0 before the first string).
fn buckets(starts: impl Iterator<Item = u32>, len: u64) -> Vec<u32> {
    let count = (len / BUCKET + 1) as usize;
    let mut buckets = Vec::with_capacity(count);
    // The buckets before string `i`'s start (those not filled yet) end with string `i - 1`;
    // those from the last string's start on, with the last string.
    let mut strings = 0usize;
    for start in starts {
        let before = (u64::from(start).div_ceil(BUCKET) as usize).min(count);
        if before > buckets.len() {
            buckets.resize(before, strings.saturating_sub(1) as u32);
        }
        strings += 1;
    }
    buckets.resize(count, strings.saturating_sub(1) as u32);
    buckets
}

impl PieceMap {
    /// The map of an input's strings, given (input offset, output offset) of each,
    /// ascending, and the input's [`buckets`].
    fn new(mut pieces: Vec<(u32, u32)>, buckets: Vec<u32>) -> PieceMap {
        // The sentinel (inputs are under 4 GiB, checked): lookups step forward without a
        // bounds check.
        pieces.push((u32::MAX, 0));
        PieceMap { pieces, buckets }
    }

    /// The number of strings.
    fn len(&self) -> usize {
        self.pieces.len().saturating_sub(1)
    }

    /// Where byte `offset` of the input section landed; an offset inside a string keeps its
    /// distance from the string's start. `None` before the first string.
    #[inline]
    pub fn map(&self, offset: u64) -> Option<u64> {
        if self.len() == 0 || offset >= u64::from(u32::MAX) {
            return self.map_far(offset);
        }
        let pieces = &self.pieces;
        let mut i = match self.buckets.get((offset / BUCKET) as usize) {
            Some(&b) => b as usize,
            // Past the input's end: from the last bucket on.
            None => *self.buckets.last()? as usize,
        };
        if u64::from(pieces[i].0) > offset {
            return None;
        }
        // The sentinel stops the walk at the last string.
        while u64::from(pieces[i + 1].0) <= offset {
            i += 1;
        }
        let (start, out) = pieces[i];
        Some(u64::from(out).wrapping_add(offset - u64::from(start)))
    }

    /// [`PieceMap::map`] for an offset no input section reaches (or an empty map).
    #[cold]
    fn map_far(&self, offset: u64) -> Option<u64> {
        let (start, out) = *self.pieces.get(self.len().checked_sub(1)?)?;
        let start = u64::from(start);
        (start <= offset).then(|| u64::from(out).wrapping_add(offset - start))
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
        pieces
            .into_par_iter()
            .per_item()
            .for_each(|(strings, out)| {
                // Each string is copied from wherever its first input had it, mostly not in
                // any cache: its first two cache lines (most strings fit) are asked for a few
                // strings ahead, as deduplication does, so that the reads overlap.
                let mut at = 0;
                for (j, s) in strings.iter().enumerate() {
                    if let Some(ahead) = strings.get(j + AHEAD) {
                        prefetch(ahead);
                        if let Some(tail) = ahead.get(64..) {
                            prefetch(tail);
                        }
                    }
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

/// One input split into its strings, grouped by shard (each group in input order), so each
/// shard reads its own strings one after another.
struct Split {
    /// The strings, shard by shard: shard `k`'s are `pieces[bounds[k]..bounds[k + 1]]`.
    pieces: Vec<Piece>,
    /// Each of those strings' index in input order.
    order: Vec<u32>,
    bounds: [u32; SHARDS + 1],
    /// The input's [`buckets`], made with the split so the merge has only output offsets
    /// left to find.
    buckets: Vec<u32>,
    /// Each string's offset in its shard (by its place in `pieces`), written by the shard
    /// that keeps it: each entry by exactly one shard, so relaxed stores suffice.
    in_shard: Vec<AtomicU32>,
}

impl Split {
    /// The strings in input order: (start, offset in the output section), given each shard's
    /// offset in the section.
    fn placed(&self, bases: &[u64]) -> Vec<(u32, u32)> {
        let mut out = vec![(0, 0); self.pieces.len()];
        for (k, base) in bases.iter().enumerate() {
            let group = self.bounds[k] as usize..self.bounds[k + 1] as usize;
            for j in group {
                let at = base + u64::from(self.in_shard[j].load(Ordering::Relaxed));
                out[self.order[j] as usize] = (self.pieces[j].start, at as u32);
            }
        }
        out
    }
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
    // Debug information's strings (most of what is merged) average some 60 bytes.
    let mut pieces = Vec::with_capacity(data.len() / 32 + 1);
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
    let buckets = buckets(pieces.iter().map(|p| p.start), data.len() as u64);
    // A counting sort of the strings by shard.
    let mut bounds = [0u32; SHARDS + 1];
    for p in &pieces {
        bounds[shard_of(p.hash) + 1] += 1;
    }
    for k in 0..SHARDS {
        bounds[k + 1] += bounds[k];
    }
    let mut next = bounds;
    let mut grouped = vec![
        Piece {
            start: 0,
            len: 0,
            hash: 0
        };
        pieces.len()
    ];
    let mut order = vec![0u32; pieces.len()];
    for (i, p) in pieces.iter().enumerate() {
        let k = shard_of(p.hash);
        grouped[next[k] as usize] = *p;
        order[next[k] as usize] = i as u32;
        next[k] += 1;
    }
    let in_shard = pieces.iter().map(|_| AtomicU32::new(0)).collect();
    Ok(Split {
        pieces: grouped,
        order,
        bounds,
        buckets,
        in_shard,
    })
}

/// One shard's distinct strings, in first-seen order.
struct Shard<'a> {
    strings: Vec<&'a [u8]>,
    size: u64,
}

/// A distinct string of a shard, as its table holds it: everything a lookup compares is here
/// or in the string's bytes, so a lookup that finds nothing touches one slot.
struct Kept {
    hash: u64,
    input: u32,
    start: u32,
    len: u32,
    /// Its offset in the shard.
    at: u32,
}

/// How many strings ahead of the one it looks up a shard asks for the bytes of: each string
/// of a shard lies somewhere else in its input, and waiting for each in turn was much of the
/// deduplication's time (debug ripgrep: about 10 ms without, 8 with).
const AHEAD: usize = 8;

/// Hints that the bytes at `bytes` will be read soon (nothing where no stable hint exists).
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
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
    let mut strings: Vec<&'a [u8]> = Vec::with_capacity(count);
    let mut table: HashTable<Kept> = HashTable::with_capacity(count);
    let mut size = 0u64;
    for (input, s) in split.iter().enumerate() {
        let data = inputs[input];
        let group = s.bounds[k] as usize..s.bounds[k + 1] as usize;
        let pieces = &s.pieces[group.clone()];
        for (j, (p, at)) in pieces.iter().zip(&s.in_shard[group]).enumerate() {
            if let Some(ahead) = pieces.get(j + AHEAD) {
                prefetch(&data[ahead.start as usize..]);
            }
            let bytes = &data[p.start as usize..(p.start + p.len) as usize];
            let found = table.find(table_hash(p.hash), |e| {
                e.hash == p.hash
                    && e.len == p.len
                    && inputs[e.input as usize][e.start as usize..(e.start + e.len) as usize]
                        == *bytes
            });
            let offset = match found {
                Some(e) => e.at,
                None => {
                    let offset = size as u32;
                    strings.push(bytes);
                    table.insert_unique(
                        table_hash(p.hash),
                        Kept {
                            hash: p.hash,
                            input: input as u32,
                            start: p.start,
                            len: p.len,
                            at: offset,
                        },
                        |e| table_hash(e.hash),
                    );
                    size += bytes.len() as u64;
                    offset
                }
            };
            at.store(offset, Ordering::Relaxed);
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
    ///
    /// Once `stop` is set (resolution is over), sections not yet started are left alone:
    /// from then on the split is no longer work done while a core would idle, and some of
    /// them belong to archive members the link does not use. The merge splits those it
    /// needs itself.
    ///
    /// The largest go first: resolution's end waits for the sections being split at that
    /// moment, and by then only small ones are left (a standard library's `.debug_str` alone
    /// takes a millisecond or more to split, which the caller would spend waiting).
    pub fn split_all(sections: &[(&[u8], usize)], stop: &AtomicBool) -> Prepared {
        let mut order: Vec<&(&[u8], usize)> = sections.iter().collect();
        order.sort_by_key(|(data, _)| std::cmp::Reverse(data.len()));
        let splits = order
            .into_par_iter()
            .per_item()
            .filter_map(|&(data, entsize)| {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                Some((
                    (data.as_ptr() as usize, data.len(), entsize),
                    std::sync::Mutex::new(Some(split(data, entsize))),
                ))
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
    let mut split: Vec<Split> = inputs
        .par_iter()
        .per_item()
        .map(|data| match prepared.take(data, entsize) {
            Some(split) => split,
            None => split(data, entsize),
        })
        .collect::<Result<_>>()?;
    let shards: Vec<Shard<'a>> = (0..SHARDS)
        .into_par_iter()
        .per_item()
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
        .par_iter_mut()
        .per_item()
        .map(|s| PieceMap::new(s.placed(&bases), std::mem::take(&mut s.buckets)))
        .collect();
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
        let strings = &map.pieces[..map.len()];
        let expect = |offset: u64| {
            let i = strings.partition_point(|p| u64::from(p.0) <= offset) - 1;
            let (start, out) = strings[i];
            Some(u64::from(out) + offset - u64::from(start))
        };
        for offset in 0..data.len() as u64 + 100 {
            assert_eq!(map.map(offset), expect(offset));
        }
        let empty = PieceMap::new(Vec::new(), buckets(std::iter::empty(), 0));
        assert_eq!(empty.map(0), None);
        let late = PieceMap::new(vec![(100, 7)], buckets([100].into_iter(), 200));
        assert_eq!(late.map(99), None);
        assert_eq!(late.map(130), Some(37));
    }

    #[test]
    fn every_string_of_many_inputs_maps_to_its_one_copy() {
        // Enough strings that every shard holds many, repeated across inputs in other orders.
        let inputs: Vec<Vec<u8>> = (0..7u64)
            .map(|input| {
                let mut data = Vec::new();
                for i in 0..2000u64 {
                    let n = (i * 7919 + input * 104729) % 3000;
                    data.extend(format!("string-{n}-{}", "x".repeat((n % 40) as usize)).bytes());
                    data.push(0);
                }
                data
            })
            .collect();
        let slices: Vec<&[u8]> = inputs.iter().map(|d| d.as_slice()).collect();
        let (m, maps) = merge(&slices, 1).unwrap();
        let out = written(&m);
        let mut distinct: Vec<&[u8]> = out.split_inclusive(|&b| b == 0).collect();
        let count = distinct.len();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), count, "each string once");
        for (data, map) in inputs.iter().zip(&maps) {
            let mut start = 0;
            for s in data.split_inclusive(|&b| b == 0) {
                let at = map.map(start as u64).unwrap() as usize;
                assert_eq!(&out[at..at + s.len()], s);
                start += s.len();
            }
        }
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
