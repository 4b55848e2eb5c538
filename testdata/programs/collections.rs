//! Randomly seeded hashing (std's `RandomState` asks the OS for random bytes: `getrandom` on
//! Linux, `ProcessPrng` from bcryptprimitives.dll on Windows), and big statics: a 16 MiB
//! zero-filled array and a 64 KiB initialized table, touched at both ends.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, Ordering};

static mut ZEROED: [u8; 16 << 20] = [0; 16 << 20];

const fn table() -> [u32; 16384] {
    let mut t = [0u32; 16384];
    let mut i = 0;
    while i < t.len() {
        t[i] = (i as u32).wrapping_mul(2654435761);
        i += 1;
    }
    t
}
static TABLE: [u32; 16384] = table();
static FLAG: AtomicU8 = AtomicU8::new(7);

fn main() {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *counts.entry(word.to_string()).or_default() += 1;
    }
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort();
    println!("{sorted:?}");
    let a: HashSet<u64> = (0..1000).collect();
    let b: HashSet<u64> = (500..1500).collect();
    println!("intersection {}", a.intersection(&b).count());
    // Two maps get different keys: the seeds are random.
    let s1 = std::collections::hash_map::RandomState::new();
    let s2 = std::collections::hash_map::RandomState::new();
    use std::hash::BuildHasher;
    println!("seeds differ: {}", s1.hash_one(1u32) != s2.hash_one(1u32));

    let zeroed = std::ptr::addr_of_mut!(ZEROED);
    unsafe {
        (*zeroed)[0] = 1;
        (*zeroed)[(16 << 20) - 1] = 2;
        let sum: u64 = (*zeroed).iter().map(|&b| u64::from(b)).sum();
        println!("zeroed sum {sum}");
    }
    println!("table ends {} {}", TABLE[1], TABLE[16383]);
    FLAG.fetch_add(1, Ordering::Relaxed);
    println!("flag {}", FLAG.load(Ordering::Relaxed));
}
