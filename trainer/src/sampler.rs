//! Sharding with `torch.utils.data.DistributedSampler` semantics.
//!
//! Every rank must run the same number of collectives (gloo aborts a process
//! whose peer issues a different sequence), so every rank gets exactly
//! `ceil(n / world)` samples: the shuffled index list is padded by repeating
//! its head, then rank r takes positions r, r + world, r + 2·world, …
//! Concatenating the ranks' batches at one step gives the same *set* of
//! samples as a single process with a batch world times larger.

/// SplitMix64: tiny, seedable, and identical on every platform, which is all
/// that per-epoch shuffling needs (all ranks must compute the same order).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..bound (bound > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }
}

/// A permutation of 0..n determined by `seed` (Fisher–Yates).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[derive(Clone, Debug)]
pub struct DistributedSampler {
    pub dataset_len: usize,
    pub world_size: usize,
    pub rank: usize,
    pub shuffle: bool,
    pub seed: u64,
}

impl DistributedSampler {
    pub fn new(
        dataset_len: usize,
        world_size: usize,
        rank: usize,
        shuffle: bool,
        seed: u64,
    ) -> Self {
        assert!(
            world_size > 0 && rank < world_size,
            "rank {rank} outside world {world_size}"
        );
        DistributedSampler {
            dataset_len,
            world_size,
            rank,
            shuffle,
            seed,
        }
    }

    /// Samples per rank and epoch: `ceil(len / world)`.
    pub fn num_samples(&self) -> usize {
        self.dataset_len.div_ceil(self.world_size)
    }

    /// Optimizer steps per epoch for a per-rank batch size; the same on every rank.
    pub fn steps_per_epoch(&self, batch_size: usize) -> usize {
        self.num_samples().div_ceil(batch_size)
    }

    /// This rank's dataset indices for `epoch`.
    pub fn indices(&self, epoch: u64) -> Vec<usize> {
        if self.dataset_len == 0 {
            return Vec::new();
        }
        let mut order = if self.shuffle {
            permutation(self.dataset_len, self.seed.wrapping_add(epoch))
        } else {
            (0..self.dataset_len).collect()
        };
        let total = self.num_samples() * self.world_size;
        // Pad by repeating the head (more than once if world > len).
        let mut i = 0;
        while order.len() < total {
            order.push(order[i]);
            i += 1;
        }
        order
            .into_iter()
            .skip(self.rank)
            .step_by(self.world_size)
            .collect()
    }

    /// This rank's batches for `epoch` (the last one may be shorter; it is
    /// equally short on every rank).
    pub fn batches(&self, epoch: u64, batch_size: usize) -> Vec<Vec<usize>> {
        self.indices(epoch)
            .chunks(batch_size.max(1))
            .map(<[usize]>::to_vec)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let p = permutation(1000, 7);
        let set: BTreeSet<_> = p.iter().copied().collect();
        assert_eq!(set.len(), 1000);
        assert_eq!(*set.iter().next_back().unwrap(), 999);
        assert_eq!(p, permutation(1000, 7));
        assert_ne!(p, permutation(1000, 8));
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn ranks_get_equal_lengths_and_cover_everything() {
        for (n, world) in [(10, 3), (8000, 3), (7, 4), (2, 4), (1, 1), (9, 3)] {
            let samplers: Vec<_> = (0..world)
                .map(|r| DistributedSampler::new(n, world, r, true, 42))
                .collect();
            let per_rank: Vec<_> = samplers.iter().map(|s| s.indices(3)).collect();
            let expected = n.div_ceil(world);
            for idx in &per_rank {
                assert_eq!(idx.len(), expected, "n={n} world={world}");
            }
            let covered: BTreeSet<_> = per_rank.iter().flatten().copied().collect();
            assert_eq!(
                covered.len(),
                n,
                "every sample is seen, n={n} world={world}"
            );
            // Padding repeats exactly total - n samples.
            assert_eq!(
                per_rank.iter().map(Vec::len).sum::<usize>() - n,
                expected * world - n
            );
        }
    }

    #[test]
    fn ranks_are_disjoint_without_padding() {
        let idx: Vec<_> = (0..3)
            .map(|r| DistributedSampler::new(9, 3, r, true, 1).indices(0))
            .collect();
        let all: BTreeSet<_> = idx.iter().flatten().copied().collect();
        assert_eq!(all.len(), 9);
    }

    #[test]
    fn reshuffles_per_epoch_deterministically() {
        let s = DistributedSampler::new(100, 2, 1, true, 5);
        assert_eq!(s.indices(0), s.indices(0));
        assert_ne!(s.indices(0), s.indices(1));
        let unshuffled = DistributedSampler::new(10, 2, 1, false, 5);
        assert_eq!(unshuffled.indices(0), vec![1, 3, 5, 7, 9]);
        assert_eq!(unshuffled.indices(0), unshuffled.indices(4));
    }

    #[test]
    fn equal_steps_per_rank() {
        for world in 1..=4 {
            let steps: BTreeSet<_> = (0..world)
                .map(|r| {
                    DistributedSampler::new(8000, world, r, true, 0)
                        .batches(0, 64)
                        .len()
                })
                .collect();
            assert_eq!(steps.len(), 1, "world={world}");
            let s = DistributedSampler::new(8000, world, 0, true, 0);
            assert_eq!(*steps.iter().next().unwrap(), s.steps_per_epoch(64));
        }
    }

    #[test]
    fn sharded_step_equals_one_big_batch() {
        // Step s over 3 ranks with batch b covers the same samples as one
        // process with batch 3b: the basis of the DDP equivalence test.
        let (n, world, b) = (96, 3, 8);
        let single = DistributedSampler::new(n, 1, 0, true, 11).batches(2, world * b);
        let ranks: Vec<_> = (0..world)
            .map(|r| DistributedSampler::new(n, world, r, true, 11).batches(2, b))
            .collect();
        for (step, big) in single.iter().enumerate() {
            let mut merged: Vec<usize> = ranks.iter().flat_map(|r| r[step].clone()).collect();
            let mut big = big.clone();
            merged.sort_unstable();
            big.sort_unstable();
            assert_eq!(merged, big, "step {step}");
        }
    }
}
