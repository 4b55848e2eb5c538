//! `.gnu.hash` (DT_GNU_HASH): the symbol lookup table glibc's ld.so and every modern loader use
//! for `.dynsym`.
//!
//! Layout for ELFCLASS64 (the format has no spec document; this follows the glibc `dl-lookup.c`
//! reader and the description in Ali Bahrami's "GNU Hash ELF Sections"):
//!
//! ```text
//! u32 nbuckets, u32 symoffset, u32 bloom_size, u32 bloom_shift
//! u64 bloom[bloom_size]
//! u32 buckets[nbuckets]      first .dynsym index of each bucket, 0 if empty
//! u32 chain[nsyms]           hash of each hashed symbol, low bit set on a bucket's last
//! ```
//!
//! The hashed symbols must be the tail of `.dynsym`, grouped by bucket, which is why the
//! builder hands back the order they must be emitted in.

/// Bits of the bloom filter per symbol; 12 keeps the false-positive rate low (lld and mold use
/// the same figure).
const BLOOM_BITS_PER_SYMBOL: usize = 12;
/// Bits in one bloom word of a 64-bit ELF.
const BLOOM_WORD_BITS: usize = 64;
/// Second bloom bit is taken from `hash >> BLOOM_SHIFT`, as GNU ld, lld and mold do.
const BLOOM_SHIFT: u32 = 26;
/// Average chain length aimed for; short chains cost a little memory and save string compares.
const SYMBOLS_PER_BUCKET: usize = 4;
const HEADER_SIZE: usize = 16;

/// The `dl_new_hash` function: Bernstein's `h = h * 33 + c` from 5381, over unsigned bytes.
pub fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &c| {
        h.wrapping_mul(33).wrapping_add(u32::from(c))
    })
}

/// A `.gnu.hash` section for a set of hashed (defined, exported) dynamic symbols.
#[derive(Debug, Clone)]
pub struct GnuHash {
    symoffset: u32,
    nbuckets: u32,
    bloom_words: usize,
    /// `order[i]` is the index into the caller's names of the `i`-th hashed `.dynsym` entry.
    order: Vec<usize>,
    /// Hash of each hashed symbol, in `order`.
    hashes: Vec<u32>,
}

impl GnuHash {
    /// `symoffset` is the `.dynsym` index of the first hashed symbol; every unhashed
    /// (undefined/imported) symbol, and the null symbol, comes before it. With no names the
    /// table is still valid (one empty bucket, an all-zero bloom word), since glibc's ld.so
    /// wants a hash table in every module.
    pub fn new(names: &[&[u8]], symoffset: u32) -> GnuHash {
        let n = names.len();
        // Fits u32: .dynsym indices are u32, so a caller cannot have more hashed symbols.
        let nbuckets = (n / SYMBOLS_PER_BUCKET + 1) as u32;
        // ld.so masks the word index with bloom_size - 1, so the size must be a power of two.
        let bloom_words = (n * BLOOM_BITS_PER_SYMBOL)
            .div_ceil(BLOOM_WORD_BITS)
            .max(1)
            .next_power_of_two();
        let all_hashes: Vec<u32> = names.iter().map(|name| gnu_hash(name)).collect();
        let mut order: Vec<usize> = (0..n).collect();
        // Stable, so symbols in one bucket keep the caller's order.
        order.sort_by_key(|&i| all_hashes[i] % nbuckets);
        let hashes = order.iter().map(|&i| all_hashes[i]).collect();
        GnuHash {
            symoffset,
            nbuckets,
            bloom_words,
            order,
            hashes,
        }
    }

    /// Permutation: `order()[i]` = index into `names` of the `i`-th hashed `.dynsym` entry
    /// (at `.dynsym` index `symoffset + i`).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Section size in bytes.
    pub fn size(&self) -> usize {
        HEADER_SIZE + 8 * self.bloom_words + 4 * self.nbuckets as usize + 4 * self.hashes.len()
    }

    /// Writes the section, little-endian. `out` must be exactly [`GnuHash::size`] bytes; a
    /// wrong size is a linker bug, not bad input.
    pub fn write(&self, out: &mut [u8]) {
        assert_eq!(out.len(), self.size(), ".gnu.hash buffer size");
        let (header, rest) = out.split_at_mut(HEADER_SIZE);
        let (bloom_out, rest) = rest.split_at_mut(8 * self.bloom_words);
        let (buckets_out, chain_out) = rest.split_at_mut(4 * self.nbuckets as usize);

        for (slot, value) in header.chunks_exact_mut(4).zip([
            self.nbuckets,
            self.symoffset,
            self.bloom_words as u32,
            BLOOM_SHIFT,
        ]) {
            slot.copy_from_slice(&value.to_le_bytes());
        }

        let mut bloom = vec![0u64; self.bloom_words];
        let mut buckets = vec![0u32; self.nbuckets as usize];
        for (i, &h) in self.hashes.iter().enumerate() {
            let word = (h as usize / BLOOM_WORD_BITS) & (self.bloom_words - 1);
            bloom[word] |= 1 << (h % 64) | 1 << ((h >> BLOOM_SHIFT) % 64);
            let bucket = &mut buckets[(h % self.nbuckets) as usize];
            if *bucket == 0 {
                *bucket = self.symoffset + i as u32;
            }
            // The chain's low bit ends a bucket: set it on the last symbol of each group.
            let last = self
                .hashes
                .get(i + 1)
                .is_none_or(|&next| next % self.nbuckets != h % self.nbuckets);
            let chain = (h & !1) | u32::from(last);
            chain_out[4 * i..4 * i + 4].copy_from_slice(&chain.to_le_bytes());
        }
        for (slot, word) in bloom_out.chunks_exact_mut(8).zip(bloom) {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        for (slot, bucket) in buckets_out.chunks_exact_mut(4).zip(buckets) {
            slot.copy_from_slice(&bucket.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{run, scratch_dir};
    use object::{Object, ObjectSection, ObjectSymbol, ObjectSymbolTable, SymbolIndex};

    fn u32_at(data: &[u8], pos: usize) -> u32 {
        u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap())
    }

    /// What glibc's `do_lookup_x` does with DT_GNU_HASH (64-bit class), written from the format
    /// description independently of the builder: bloom filter, bucket, chain walk until the
    /// end bit. `name_of(i)` gives the name of `.dynsym` entry `i`.
    fn lookup<'a>(table: &[u8], name: &[u8], name_of: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        let nbuckets = u32_at(table, 0);
        let symoffset = u32_at(table, 4);
        let bloom_size = u32_at(table, 8) as usize;
        let shift = u32_at(table, 12);
        assert!(bloom_size.is_power_of_two());
        let bloom_at = 16;
        let buckets_at = bloom_at + 8 * bloom_size;
        let chain_at = buckets_at + 4 * nbuckets as usize;

        let h = gnu_hash(name);
        let word_at = bloom_at + 8 * ((h as usize / 64) & (bloom_size - 1));
        let word = u64::from_le_bytes(table[word_at..word_at + 8].try_into().unwrap());
        let mask = 1u64 << (h % 64) | 1u64 << ((h >> shift) % 64);
        if word & mask != mask {
            return None;
        }
        let mut index = u32_at(table, buckets_at + 4 * (h % nbuckets) as usize);
        if index == 0 {
            return None;
        }
        loop {
            let chain = u32_at(table, chain_at + 4 * (index - symoffset) as usize);
            if chain | 1 == h | 1 && name_of(index) == name {
                return Some(index);
            }
            if chain & 1 != 0 {
                return None;
            }
            index += 1;
        }
    }

    #[test]
    fn hash_function_matches_dl_new_hash() {
        // Values computed independently (Python: h = (h * 33 + c) & 0xffffffff from 5381).
        assert_eq!(gnu_hash(b""), 5381);
        assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
        assert_eq!(gnu_hash(b"exit"), 0x7c96_7e3f);
        assert_eq!(
            gnu_hash(b"_ZN4core9panicking5panic17h0123456789abcdefE"),
            0x2356_492d
        );
        // Bytes are unsigned, as glibc's `unsigned char` loop.
        assert_eq!(gnu_hash(&[0xff, 0x80]), 0x0059_8ba4);
    }

    #[test]
    fn empty_table_is_valid() {
        let table = GnuHash::new(&[], 7);
        assert_eq!(table.order(), &[] as &[usize]);
        let mut out = vec![0xaa; table.size()];
        table.write(&mut out);
        let mut expected = Vec::new();
        for v in [1u32, 7, 1, 26] {
            expected.extend(v.to_le_bytes());
        }
        expected.extend(0u64.to_le_bytes());
        expected.extend(0u32.to_le_bytes());
        assert_eq!(out, expected);
        assert_eq!(lookup(&out, b"printf", |_| unreachable!()), None);
    }

    #[test]
    fn built_tables_find_every_name_and_reject_others() {
        for n in [1usize, 2, 3, 4, 5, 17, 64, 1000] {
            let owned: Vec<Vec<u8>> = (0..n).map(|i| format!("sym_{i}").into_bytes()).collect();
            let names: Vec<&[u8]> = owned.iter().map(|s| s.as_slice()).collect();
            let symoffset = 3;
            let table = GnuHash::new(&names, symoffset);
            let order = table.order();

            let mut sorted = order.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
            // Grouped by bucket, stably within a bucket.
            let nbuckets = (n / SYMBOLS_PER_BUCKET + 1) as u32;
            let key = |i: usize| (gnu_hash(names[i]) % nbuckets, i);
            assert!(order.windows(2).all(|w| key(w[0]) < key(w[1])), "n={n}");

            let mut out = vec![0; table.size()];
            table.write(&mut out);
            let name_of = |index: u32| names[order[(index - symoffset) as usize]];
            for (i, name) in names.iter().enumerate() {
                let index = lookup(&out, name, name_of);
                let position = order.iter().position(|&o| o == i).unwrap() as u32;
                assert_eq!(index, Some(symoffset + position), "{}", i);
            }
            for absent in ["printf", "sym_", "sym_1000000", "", "main"] {
                assert_eq!(lookup(&out, absent.as_bytes(), name_of), None, "{absent}");
            }
        }
    }

    #[test]
    fn colliding_hashes_share_a_chain() {
        // "ab" and "bA" collide in dl_new_hash (33*'a'+'b' = 33*'b'+'A'); the chain keeps both
        // and the name compare picks the right one.
        assert_eq!(gnu_hash(b"ab"), gnu_hash(b"bA"));
        let names: [&[u8]; 3] = [b"ab", b"x", b"bA"];
        let table = GnuHash::new(&names, 1);
        let mut out = vec![0; table.size()];
        table.write(&mut out);
        let order = table.order();
        let name_of = |index: u32| names[order[(index - 1) as usize]];
        for name in names {
            let index = lookup(&out, name, name_of).unwrap();
            assert_eq!(name_of(index), name);
        }
    }

    /// Validates `lookup` itself on a table GNU ld built: every defined dynamic symbol of a
    /// shared library is found at its own index, absent names are not.
    #[test]
    fn reference_lookup_agrees_with_gnu_ld() {
        let dir = scratch_dir("gnu-hash");
        let mut source = String::from("extern int printf(const char *, ...);\n");
        for i in 0..40 {
            source += &format!("int exported_{i}(int x) {{ return printf(\"%d\", x + {i}); }}\n");
        }
        std::fs::write(dir.join("lib.c"), source).unwrap();
        let args = [
            "-shared",
            "-fPIC",
            "-O1",
            "-fuse-ld=bfd",
            "-Wl,--hash-style=gnu",
            "-o",
            "lib.so",
            "lib.c",
        ];
        if run("gcc", &args, &dir).is_none() {
            return;
        }
        let data = std::fs::read(dir.join("lib.so")).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let table = file
            .section_by_name(".gnu.hash")
            .unwrap()
            .data()
            .unwrap()
            .to_vec();
        let dynsym = file.dynamic_symbol_table().unwrap();
        let names: Vec<&[u8]> = dynsym.symbols().map(|s| s.name_bytes().unwrap()).collect();
        // object skips the null symbol, so .dynsym index i is names[i - 1].
        let name_of = |index: u32| names[index as usize - 1];
        let symoffset = u32_at(&table, 4);
        let mut found = 0;
        for (i, sym) in dynsym.symbols().enumerate() {
            assert_eq!(sym.index(), SymbolIndex(i + 1));
            if sym.is_undefined() {
                assert!((i as u32 + 1) < symoffset);
                continue;
            }
            let name = sym.name_bytes().unwrap();
            assert_eq!(lookup(&table, name, name_of), Some(i as u32 + 1));
            found += 1;
        }
        assert!(found >= 40, "found {found}");
        for absent in ["exported_40", "printf", "main", ""] {
            assert_eq!(lookup(&table, absent.as_bytes(), name_of), None, "{absent}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
