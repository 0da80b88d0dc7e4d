//! Shared helpers: seeded operands and comparisons.

use ndarray::Array2;
use proptest::test_runner::{Config, RngSeed};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A seeded generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `[rows, cols]` of independent uniform values in `[-1, 1)`.
pub fn uniform(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random::<f64>() * 2.0 - 1.0)
}

/// As [`uniform`], rounded to `f32`.
pub fn uniform32(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f32> {
    uniform(rows, cols, rng).mapv(|v| v as f32)
}

/// The largest `|a_i - b_i|`.
pub fn max_abs_diff<'a>(
    a: impl IntoIterator<Item = &'a f64>,
    b: impl IntoIterator<Item = &'a f64>,
) -> f64 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Property-test settings: a fixed seed, no persistence files.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0xc0de),
        failure_persistence: None,
        ..Config::default()
    }
}
