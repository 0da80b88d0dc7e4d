//! Shared inputs.

use bprl_cuda::{GaussianBatch, StdParam};

/// Deterministic pseudo-random `f32`s in `[lo, hi)` (an LCG; inputs only).
pub fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

pub fn batch<'a>(mean: &'a [f32], scale: &'a [f32], rows: usize, dim: usize) -> GaussianBatch<'a> {
    GaussianBatch {
        mean,
        scale,
        param: StdParam::Std,
        rows,
        dim,
    }
}

/// Max absolute and relative difference of two slices.
pub fn max_diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold((0.0f32, 0.0f32), |(ma, mr), (x, y)| {
        let d = (x - y).abs();
        (ma.max(d), mr.max(d / y.abs().max(1e-6)))
    })
}
