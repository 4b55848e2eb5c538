//! The table of global names: each name the link mentions, and the global it is. The table is
//! split by hash into shards, so that it can be filled in parallel (each shard by one thread,
//! in input order, which keeps every name's number the same at any thread count), and every
//! entry keeps its name's hash, so that a name is compared byte by byte only when its whole
//! hash matches.

use hashbrown::HashTable;

use crate::resolve::SymbolId;

/// Shards of the table: a power of two, well above any thread count rlink runs with.
pub const SHARDS: usize = 64;

/// The hash of a name: xxh3, fast on the long mangled names of Rust programs and well mixed
/// in every bit (the low ones choose the shard, the rest place the name in it).
#[inline]
pub fn hash(name: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name)
}

/// The shard a name's hash belongs to.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash as usize) & (SHARDS - 1)
}

/// Within a shard the low bits of every hash are the same (they chose the shard): the shard's
/// table indexes by the rest.
#[inline]
fn in_shard(hash: u64) -> u64 {
    hash.rotate_right(SHARDS.trailing_zeros())
}

/// Whether two names are the same. Most lookups of a name that is there are by the very
/// symbol it was entered for, whose bytes are the entry's own: equal addresses and lengths
/// settle it without reading the (long, mangled, usually uncached) bytes of both.
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    std::ptr::eq(a, b) || a == b
}

#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    hash: u64,
    name: &'a [u8],
    id: SymbolId,
}

/// One shard: the names whose hash chose it.
#[derive(Debug, Default, Clone)]
pub struct Shard<'a> {
    table: HashTable<Entry<'a>>,
}

impl<'a> Shard<'a> {
    pub fn with_capacity(n: usize) -> Shard<'a> {
        Shard {
            table: HashTable::with_capacity(n),
        }
    }

    /// The value kept for `name` (of hash `hash`, which must choose this shard), inserting
    /// `new()`'s when the name is not there yet; `true` when it was inserted.
    pub fn find_or_insert(
        &mut self,
        name: &'a [u8],
        hash: u64,
        new: impl FnOnce() -> SymbolId,
    ) -> (SymbolId, bool) {
        let h = in_shard(hash);
        if let Some(e) = self
            .table
            .find(h, |e| e.hash == hash && same_name(e.name, name))
        {
            return (e.id, false);
        }
        let id = new();
        self.table
            .insert_unique(h, Entry { hash, name, id }, |e| in_shard(e.hash));
        (id, true)
    }

    /// Every value, for renumbering (a shard filled with its own numbers is given the
    /// table's).
    pub fn ids_mut(&mut self) -> impl Iterator<Item = &mut SymbolId> + use<'_, 'a> {
        self.table.iter_mut().map(|e| &mut e.id)
    }
}

/// Name → global.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    shards: Vec<Shard<'a>>,
    len: usize,
}

impl Default for Names<'_> {
    fn default() -> Self {
        Names::from_shards(vec![Shard::default(); SHARDS])
    }
}

impl<'a> Names<'a> {
    /// The table made of shards filled on their own (`shards[k]` holding exactly the names
    /// whose hash chooses shard `k`).
    pub fn from_shards(shards: Vec<Shard<'a>>) -> Names<'a> {
        assert_eq!(shards.len(), SHARDS, "one shard per hash class");
        let len = shards.iter().map(|s| s.table.len()).sum();
        Names { shards, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The global named `name`, whose hash is `hash`.
    #[inline]
    pub fn get_hashed(&self, name: &[u8], hash: u64) -> Option<SymbolId> {
        self.shards[shard_of(hash)]
            .table
            .find(in_shard(hash), |e| {
                e.hash == hash && same_name(e.name, name)
            })
            .map(|e| e.id)
    }

    /// The global named `name`.
    pub fn get(&self, name: &[u8]) -> Option<&SymbolId> {
        let hash = hash(name);
        self.shards[shard_of(hash)]
            .table
            .find(in_shard(hash), |e| {
                e.hash == hash && same_name(e.name, name)
            })
            .map(|e| &e.id)
    }

    pub fn contains_key(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// The global named `name` (of hash `hash`), or `new()`'s, recorded for it, when the
    /// name is new; `true` when it was.
    pub fn find_or_insert(
        &mut self,
        name: &'a [u8],
        hash: u64,
        new: impl FnOnce() -> SymbolId,
    ) -> (SymbolId, bool) {
        let found = self.shards[shard_of(hash)].find_or_insert(name, hash, new);
        self.len += found.1 as usize;
        found
    }

    /// Records `name` as global `id` (the name must not be there yet).
    pub fn insert(&mut self, name: &'a [u8], id: SymbolId) {
        self.find_or_insert(name, hash(name), || id);
    }

    /// Every (name, global), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], SymbolId)> + '_ {
        self.shards
            .iter()
            .flat_map(|s| s.table.iter().map(|e| (e.name, e.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_in_their_shard() {
        let words: Vec<String> = (0..1000).map(|i| format!("name{i}")).collect();
        let mut names = Names::default();
        for (i, w) in words.iter().enumerate() {
            let (id, new) = names.find_or_insert(w.as_bytes(), hash(w.as_bytes()), || i as u32);
            assert!(new);
            assert_eq!(id, i as u32);
        }
        assert_eq!(names.len(), 1000);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(names.get(w.as_bytes()), Some(&(i as u32)));
            let again = names.find_or_insert(w.as_bytes(), hash(w.as_bytes()), || 7);
            assert_eq!(again, (i as u32, false));
        }
        assert_eq!(names.get(b"absent"), None);
        assert_eq!(names.iter().count(), 1000);
    }
}
