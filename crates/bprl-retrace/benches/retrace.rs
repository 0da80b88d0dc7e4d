//! Retrace throughput: `cargo bench -p bprl-retrace`.
//!
//! Times `retrace` (continuous, f32, with validation) on `[T, B]` batches of the learner's size
//! (`T = 10, B = 256`) and a large one (`T = 100, B = 4096`), and prints the median time per call
//! and the throughput in transitions per second. No harness: plain `Instant` timing with warm-up
//! and a median over repeats.

use bprl_retrace::{Lambda, Sequence, retrace};
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::hint::black_box;
use std::time::Instant;

fn bench(t: usize, b: usize, reps: usize) {
    let mut rng = StdRng::seed_from_u64(0);
    let mut arr =
        |lo: f32, hi: f32| Array2::from_shape_simple_fn((t, b), || rng.random_range(lo..hi));
    let (q, v, r) = (arr(-1.0, 1.0), arr(-1.0, 1.0), arr(-1.0, 1.0));
    let d = Array2::from_elem((t, b), 0.99f32);
    let log_rho = arr(-2.0, 1.0);
    let seq = Sequence {
        q_t: q.view(),
        v_tp1: v.view(),
        r_t: r.view(),
        discount_t: d.view(),
    };
    let run = || {
        retrace(
            black_box(&seq),
            black_box(log_rho.view()),
            Lambda::Constant(1.0f32),
        )
    };
    for _ in 0..reps.min(10) {
        black_box(run().expect("valid inputs"));
    }
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            black_box(run().expect("valid inputs"));
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "retrace f32 [T={t:>3}, B={b:>4}]: median {:>9.3} us/call, {:>8.1} M transitions/s, {:>9.0} calls/s",
        median * 1e6,
        (t * b) as f64 / median / 1e6,
        1.0 / median
    );
}

fn main() {
    bench(10, 256, 2000);
    bench(100, 4096, 50);
}
