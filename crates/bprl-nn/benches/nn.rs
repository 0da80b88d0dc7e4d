//! Forward + backward of Acme-sized networks: `cargo bench -p bprl-nn`.
//!
//! Policy torso: LayerNormMLP 55 -> (200, 100) plus a 100 -> 16 head; critic: LayerNormMLP
//! 63 -> (400, 300) plus a 300 -> 1 output; batches 2560 (one learner batch of 256 x 10) and
//! 25600 (with 10 action samples). Reports the median time and GFLOP/s counting
//! `2 * in * out` flops per row per linear layer forward and twice that backward.

use bprl_nn::{Mlp, Parameters};
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::time::Instant;

fn bench(name: &str, input: usize, sizes: &[usize], batch: usize, reps: usize) {
    let mut rng = StdRng::seed_from_u64(0);
    let net = Mlp::<f32>::layer_norm_mlp(input, sizes, false, &mut rng);
    let x = Array2::from_shape_fn((batch, input), |(i, j)| {
        ((i + 3 * j) % 17) as f32 / 17.0 - 0.5
    });
    let d = Array2::from_elem((batch, net.output_dim()), 1e-3f32);
    let mut grad = net.zeros_like();
    let mut times = Vec::new();
    for r in 0..reps + 2 {
        let start = Instant::now();
        let cache = net.forward(x.view());
        grad.fill_zero();
        black_box(net.backward(&cache, d.view(), &mut grad));
        if r >= 2 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mut dims = vec![input];
    dims.extend_from_slice(sizes);
    let flops: f64 = dims
        .windows(2)
        .map(|w| 6.0 * (w[0] * w[1]) as f64)
        .sum::<f64>()
        * batch as f64;
    println!(
        "{name:<28} batch {batch:>6}: {:>8.2} ms fwd+bwd, {:>6.1} GFLOP/s ({} params)",
        median * 1e3,
        flops / median / 1e9,
        net.num_params()
    );
}

fn main() {
    for batch in [2560, 25600] {
        let reps = if batch > 10_000 { 5 } else { 20 };
        bench("policy 55-(200,100)-16", 55, &[200, 100, 16], batch, reps);
        bench("critic 63-(400,300)-1", 63, &[400, 300, 1], batch, reps);
    }
}
