//! Parallel loops over coarse items — objects, input files, shards, output pieces.
//!
//! Rayon splits an indexed parallel iterator adaptively: into a few pieces per thread, and
//! again only where a piece is stolen. A thread that runs out of work can then find the
//! other in the middle of a piece of a quarter of the loop that nothing can be taken from,
//! and wait for it: on debug ripgrep's relocation pass one thread often stood idle for 9 of
//! its 21 ms at two threads, because objects differ so much in size. Where the items are this
//! coarse (tens of microseconds and up), one rayon job per item costs nothing measurable and
//! lets an idle thread take any item not yet started.

use rayon::iter::{IndexedParallelIterator, MaxLen};

/// One rayon job per item: see the module documentation.
pub trait PerItem: IndexedParallelIterator + Sized {
    fn per_item(self) -> MaxLen<Self> {
        self.with_max_len(1)
    }
}

impl<I: IndexedParallelIterator> PerItem for I {}

/// Maps `items` in parallel, one job per item, starting with the heaviest (by `weight`, ties
/// in order), and returns the results in the items' order.
///
/// Where the items' costs differ by orders of magnitude (objects: from a few symbols to a
/// crate's whole standard library), an expensive item that happens to come last keeps one
/// thread busy after the others have run out of work; taken first, it runs beside the many
/// small ones, which then fill in the end.
pub fn map_heaviest_first<T, R>(
    items: Vec<T>,
    weight: impl Fn(&T) -> usize,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R>
where
    T: Send,
    R: Send,
{
    use rayon::prelude::*;
    let count = items.len();
    let mut weighed: Vec<(usize, usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (weight(&item), i, item))
        .collect();
    weighed.sort_by_key(|&(w, i, _)| (std::cmp::Reverse(w), i));
    let done: Vec<(usize, R)> = weighed
        .into_par_iter()
        .per_item()
        .map(|(_, i, item)| (i, f(item)))
        .collect();
    let mut slots: Vec<Option<R>> = (0..count).map(|_| None).collect();
    for (i, r) in done {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::map_heaviest_first;

    #[test]
    fn heaviest_first_keeps_the_items_order() {
        let items: Vec<u32> = vec![5, 1, 9, 9, 0, 3];
        let out = map_heaviest_first(items.clone(), |&x| x as usize, |x| x * 10);
        assert_eq!(out, vec![50, 10, 90, 90, 0, 30]);
        let none: Vec<u32> = map_heaviest_first(Vec::<u32>::new(), |_| 0, |x| x);
        assert!(none.is_empty());
    }
}
