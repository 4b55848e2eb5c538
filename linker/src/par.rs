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
