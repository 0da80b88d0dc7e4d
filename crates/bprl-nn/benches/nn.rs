//! Forward + backward of Acme-sized networks: `cargo bench -p bprl-nn`.
//!
//! Policy torso: LayerNormMLP 55 -> (200, 100) plus a 100 -> 16 head; critic: LayerNormMLP
//! 63 -> (400, 300) plus a 300 -> 1 output; batches 2560 (one learner batch of 256 x 10) and
//! 25600 (with 10 action samples). Reports the median time and GFLOP/s counting
//! `2 * in * out` flops per row per linear layer forward and twice that backward.
//!
//! Two ways: the plain passes ([`Mlp::forward`], [`Mlp::backward`]: whole-batch arrays) and the
//! fused tile passes ([`Mlp::forward_tile`], [`Mlp::backward_tile`]: 256-row tiles, split across
//! threads with [`parallel::map_ranges_indexed`], tiles kept in a [`TileCache`], per-thread
//! gradients summed), the learner's hot path.

use bprl_nn::{Mlp, Parameters, TileCache, TileInput, parallel};
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::time::Instant;

/// Rows per tile in the tiled passes (as the learner's).
const TILE: usize = 256;

/// One forward and backward pass over the batch in tiles, on all threads.
fn tiled_pass(net: &Mlp<f32>, tiles: &TileCache<f32>, x: &Array2<f32>, grad: &mut Mlp<f32>) {
    let n = x.nrows();
    let parts = parallel::map_ranges_indexed(n.div_ceil(TILE), 1, |slot, range| {
        let mut tile = tiles.take(slot, net, TILE);
        let mut g = net.zeros_like();
        for t in range {
            let rows = t * TILE..((t + 1) * TILE).min(n);
            let input = TileInput::Rows(x.slice_axis(ndarray::Axis(0), rows.into()));
            net.forward_tile(&mut tile, &input).expect("shapes");
            tile.output_grad_mut().fill(1e-3);
            net.backward_tile(&mut tile, &input, Some(&mut g), None)
                .expect("shapes");
        }
        tiles.put(slot, tile);
        g
    });
    for g in parts {
        grad.add_assign_params(&g);
    }
}

fn bench(name: &str, input: usize, sizes: &[usize], batch: usize, reps: usize, tiled: bool) {
    let mut rng = StdRng::seed_from_u64(0);
    let net = Mlp::<f32>::layer_norm_mlp(input, sizes, false, &mut rng);
    let x = Array2::from_shape_fn((batch, input), |(i, j)| {
        ((i + 3 * j) % 17) as f32 / 17.0 - 0.5
    });
    let d = Array2::from_elem((batch, net.output_dim()), 1e-3f32);
    let mut grad = net.zeros_like();
    let tiles = TileCache::new();
    let mut times = Vec::new();
    for r in 0..reps + 2 {
        let start = Instant::now();
        grad.fill_zero();
        if tiled {
            tiled_pass(&net, &tiles, &x, &mut grad);
        } else {
            let cache = net.forward(x.view());
            black_box(net.backward(&cache, d.view(), &mut grad));
        }
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
        "{name:<28} {:<6} batch {batch:>6}: {:>8.2} ms fwd+bwd, {:>6.1} GFLOP/s ({} params)",
        if tiled { "tiled" } else { "plain" },
        median * 1e3,
        flops / median / 1e9,
        net.num_params()
    );
}

fn main() {
    for batch in [2560, 25600] {
        let reps = if batch > 10_000 { 5 } else { 20 };
        for tiled in [false, true] {
            bench(
                "policy 55-(200,100)-16",
                55,
                &[200, 100, 16],
                batch,
                reps,
                tiled,
            );
            bench(
                "critic 63-(400,300)-1",
                63,
                &[400, 300, 1],
                batch,
                reps,
                tiled,
            );
        }
    }
}
