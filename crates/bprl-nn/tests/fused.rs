//! The fused tile passes against the plain passes: same outputs, same parameter gradients,
//! same input gradients, for both kinds of tile input and every activation (f64), and to f32
//! accuracy for an f32 network (whose tiles take the micro-kernel).

use bprl_nn::{Activation, Mlp, MlpTile, Parameters, Scalar, TileCache, TileInput, parallel};
use ndarray::{Array2, Axis, concatenate};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

fn randn(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || StandardNormal.sample(rng))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn net<F: Scalar>(kind: u8, input: usize, sizes: &[usize], rng: &mut StdRng) -> Mlp<F> {
    let act = [
        Activation::Tanh,
        Activation::Elu,
        Activation::Relu,
        Activation::Softplus,
        Activation::Identity,
    ][usize::from(kind % 5)];
    if kind < 5 {
        Mlp::new(input, sizes, act, kind.is_multiple_of(2), rng)
    } else {
        let mut m = Mlp::layer_norm_mlp(input, sizes, true, rng);
        // Non-trivial LayerNorm parameters.
        if let Some(ln) = m.layers[0].norm.as_mut() {
            ln.scale.mapv_inplace(|v| v + F::c(0.3));
            ln.offset.fill(F::c(0.1));
        }
        m
    }
}

/// Plain passes on the stacked rows and tile passes with the shared prefix, flattened to f64:
/// `[(plain, tiled)]` for the output, the parameter gradient and the `extra` input gradient.
fn plain_vs_shared_tile<F: Scalar>(
    m: &Mlp<F>,
    shared: &Array2<F>,
    extra: &Array2<F>,
    dy: &Array2<F>,
) -> [(Vec<f64>, Vec<f64>); 3] {
    let samples = extra.nrows() / shared.nrows();
    let p = shared.ncols();
    let repeated = concatenate(Axis(0), &vec![shared.view(); samples]).unwrap();
    let full = concatenate(Axis(1), &[repeated.view(), extra.view()]).unwrap();
    let cache = m.forward(full.view());
    let mut g_plain = m.zeros_like();
    let dx_plain = m.backward(&cache, dy.view(), &mut g_plain);
    let mut tile = MlpTile::new(m, extra.nrows());
    let input = TileInput::Shared {
        shared: shared.view(),
        extra: extra.view(),
    };
    m.forward_tile(&mut tile, &input).unwrap();
    let out = tile.output().to_owned();
    tile.output_grad_mut().assign(dy);
    let mut g = m.zeros_like();
    let mut dx = Array2::zeros(extra.dim());
    m.backward_tile(&mut tile, &input, Some(&mut g), Some(dx.view_mut()))
        .unwrap();
    let f = |a: Vec<F>| {
        a.into_iter()
            .map(|v| v.to_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    let flat = |a: ndarray::ArrayView2<'_, F>| f(a.iter().copied().collect());
    [
        (flat(cache.output().view()), flat(out.view())),
        (f(g_plain.flatten()), f(g.flatten())),
        (
            flat(dx_plain.slice_axis(Axis(1), (p..).into())),
            flat(dx.view()),
        ),
    ]
}

/// Tile passes on whole rows and on the same rows with a known prefix product
/// ([`Mlp::prefix_product`] of `x`, one row each), as raw values:
/// `[(whole rows, prefixed)]` for the output, the parameter gradient and the `extra` input
/// gradient.
fn rows_vs_prefixed_tile<F: Scalar>(
    m: &Mlp<F>,
    x: &Array2<F>,
    extra: &Array2<F>,
    dy: &Array2<F>,
) -> [(Vec<F>, Vec<F>); 3] {
    let (r, p) = x.dim();
    let full = concatenate(Axis(1), &[x.view(), extra.view()]).unwrap();
    let pass = |input: &TileInput<'_, F>, dx_cols: usize| {
        let mut tile = MlpTile::new(m, r);
        m.forward_tile(&mut tile, input).unwrap();
        let out: Vec<F> = tile.output().iter().copied().collect();
        tile.output_grad_mut().assign(dy);
        let mut g = m.zeros_like();
        let mut dx = Array2::zeros((r, dx_cols));
        m.backward_tile(&mut tile, input, Some(&mut g), Some(dx.view_mut()))
            .unwrap();
        (out, g.flatten(), dx)
    };
    let (out_w, g_w, dx_w) = pass(&TileInput::Rows(full.view()), full.ncols());
    let prefix = m.prefix_product(x.view()).unwrap();
    let prefixed = TileInput::Prefixed {
        prefix: prefix.view(),
        x: x.view(),
        extra: extra.view(),
    };
    let (out_p, g_p, dx_p) = pass(&prefixed, extra.ncols());
    let dx_w: Vec<F> = dx_w
        .slice_axis(Axis(1), (p..).into())
        .iter()
        .copied()
        .collect();
    [
        (out_w, out_p),
        (g_w, g_p),
        (dx_w, dx_p.iter().copied().collect()),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xf05e),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Plain rows: forward, parameter gradients and input gradients agree with `Mlp`.
    #[test]
    fn tile_rows_match_plain_passes(
        seed in 0u64..1000, kind in 0u8..7, n in 1usize..20, i in 1usize..9,
        h1 in 1usize..12, h2 in 1usize..12,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = net(kind, i, &[h1, h2], &mut rng);
        let x = randn(n, i, &mut rng);
        let dy = randn(n, h2, &mut rng);
        let cache = m.forward(x.view());
        let mut g_plain = m.zeros_like();
        let dx_plain = m.backward(&cache, dy.view(), &mut g_plain);

        let mut tile = MlpTile::new(&m, n + 3);
        let input = TileInput::Rows(x.view());
        m.forward_tile(&mut tile, &input).unwrap();
        let out = tile.output().to_owned();
        prop_assert!(max_abs_diff(out.as_slice().unwrap(), cache.output().as_slice().unwrap()) < 1e-12);
        tile.output_grad_mut().assign(&dy);
        let mut g = m.zeros_like();
        let mut dx = Array2::zeros((n, i));
        m.backward_tile(&mut tile, &input, Some(&mut g), Some(dx.view_mut())).unwrap();
        prop_assert!(max_abs_diff(&g.flatten(), &g_plain.flatten()) < 1e-10);
        prop_assert!(max_abs_diff(dx.as_slice().unwrap(), dx_plain.as_slice().unwrap()) < 1e-10);
    }

    /// Shared prefixes: `S` samples of `n` shared rows equal the plain passes on the
    /// concatenated rows; the input gradient is the `extra` columns of the plain one.
    #[test]
    fn tile_shared_matches_plain_passes(
        seed in 0u64..1000, kind in 0u8..7, n in 1usize..6, samples in 1usize..5,
        p in 1usize..6, e in 1usize..4, h1 in 1usize..12,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = net(kind, p + e, &[h1, 5], &mut rng);
        let shared = randn(n, p, &mut rng);
        let extra = randn(n * samples, e, &mut rng);
        let dy = randn(n * samples, 5, &mut rng);
        let [out, g, dx] = plain_vs_shared_tile(&m, &shared, &extra, &dy);
        prop_assert!(max_abs_diff(&out.1, &out.0) < 1e-12);
        prop_assert!(max_abs_diff(&g.1, &g.0) < 1e-10);
        prop_assert!(max_abs_diff(&dx.1, &dx.0) < 1e-10);
    }
}

proptest! {
    #![proptest_config(config())]

    /// Known prefix products: the tile passes equal the whole rows' tile passes, to rounding
    /// in f64 and **bit for bit** in f32 on the paths whose products continue exactly
    /// (`gemm::continues_chain`: AVX2 and AVX-512), for every activation and LayerNorm.
    #[test]
    fn tile_prefixed_matches_whole_rows(
        seed in 0u64..1000, kind in 0u8..7, r in 1usize..40,
        p in 1usize..70, e in 1usize..10, h1 in 1usize..40,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = net::<f64>(kind, p + e, &[h1, 5], &mut StdRng::seed_from_u64(seed));
        let (x, extra, dy) = (randn(r, p, &mut rng), randn(r, e, &mut rng), randn(r, 5, &mut rng));
        for (whole, prefixed) in rows_vs_prefixed_tile(&m, &x, &extra, &dy) {
            prop_assert!(max_abs_diff(&whole, &prefixed) < 1e-10);
        }
        let m32 = net::<f32>(kind, p + e, &[h1, 5], &mut StdRng::seed_from_u64(seed));
        let f32s = |a: &Array2<f64>| a.mapv(|v| v as f32);
        let exact = bprl_nn::gemm::continues_chain::<f32>(bprl_compute::Kernel::selected());
        for (whole, prefixed) in rows_vs_prefixed_tile(&m32, &f32s(&x), &f32s(&extra), &f32s(&dy)) {
            if exact {
                prop_assert!(whole.iter().zip(&prefixed).all(|(a, b)| a.to_bits() == b.to_bits()));
            } else {
                let (w, q): (Vec<f64>, Vec<f64>) =
                    whole.iter().zip(&prefixed).map(|(&a, &b)| (f64::from(a), f64::from(b))).unzip();
                prop_assert!(max_abs_diff(&w, &q) < 1e-3);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// A shared prefix whose product is given (`SharedProduct`, from `prefix_product`) is the
    /// `Shared` tile bit for bit: output, parameter gradients and the `extra` input gradient.
    #[test]
    fn tile_shared_product_is_the_shared_tile(
        seed in 0u64..1000, kind in 0u8..7, n in 1usize..6, samples in 1usize..5,
        p in 1usize..9, e in 1usize..5, h1 in 1usize..30,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m = net::<f32>(kind, p + e, &[h1, 5], &mut StdRng::seed_from_u64(seed));
        let f32s = |a: Array2<f64>| a.mapv(|v| v as f32);
        let shared = f32s(randn(n, p, &mut rng));
        let extra = f32s(randn(n * samples, e, &mut rng));
        let dy = f32s(randn(n * samples, 5, &mut rng));
        let product = m.prefix_product(shared.view()).unwrap();
        let pass = |input: &TileInput<'_, f32>| {
            let mut tile = MlpTile::new(&m, extra.nrows());
            m.forward_tile(&mut tile, input).unwrap();
            let out: Vec<f32> = tile.output().iter().copied().collect();
            tile.output_grad_mut().assign(&dy);
            let mut g = m.zeros_like();
            let mut dx = Array2::zeros(extra.dim());
            m.backward_tile(&mut tile, input, Some(&mut g), Some(dx.view_mut())).unwrap();
            let mut all = out;
            all.extend(g.flatten());
            all.extend(dx.iter().copied());
            all
        };
        let a = pass(&TileInput::Shared { shared: shared.view(), extra: extra.view() });
        let b = pass(&TileInput::SharedProduct {
            shared: shared.view(),
            product: product.view(),
            extra: extra.view(),
        });
        prop_assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        // A product that is not one contiguous block (column-major) is copied, same bits.
        let column_major = product.t().to_owned();
        let c = pass(&TileInput::SharedProduct {
            shared: shared.view(),
            product: column_major.t(),
            extra: extra.view(),
        });
        prop_assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

/// Misuse is a typed error, not a panic: too many rows, a tile made for another network,
/// shared rows that do not divide the rows, a wrong `d_input`.
#[test]
fn tile_shape_errors() {
    let mut rng = StdRng::seed_from_u64(1);
    let m = Mlp::<f64>::layer_norm_mlp(4, &[6, 3], true, &mut rng);
    let other = Mlp::<f64>::layer_norm_mlp(4, &[7, 3], true, &mut rng);
    let mut tile = MlpTile::new(&m, 4);
    let x = randn(5, 4, &mut rng);
    assert!(
        m.forward_tile(&mut tile, &TileInput::Rows(x.view()))
            .is_err()
    );
    let mut wrong = MlpTile::new(&other, 8);
    assert!(
        m.forward_tile(&mut wrong, &TileInput::Rows(x.view()))
            .is_err()
    );
    let shared = randn(2, 2, &mut rng);
    let extra = randn(3, 2, &mut rng);
    let bad = TileInput::Shared {
        shared: shared.view(),
        extra: extra.view(),
    };
    assert!(m.forward_tile(&mut tile, &bad).is_err());
    // A prefix product of the wrong shape, a prefix wider than the input.
    let x2 = randn(3, 2, &mut rng);
    let prefix = m.prefix_product(x2.view()).unwrap();
    let short = TileInput::Prefixed {
        prefix: prefix.slice_axis(Axis(0), (..2).into()),
        x: x2.view(),
        extra: extra.view(),
    };
    assert!(m.forward_tile(&mut tile, &short).is_err());
    assert!(m.prefix_product(randn(2, 5, &mut rng).view()).is_err());
    // A shared product with the wrong rows or width.
    let shared = randn(1, 2, &mut rng);
    let wrong = TileInput::SharedProduct {
        shared: shared.view(),
        product: prefix.view(),
        extra: extra.view(),
    };
    assert!(m.forward_tile(&mut tile, &wrong).is_err());
    let x = randn(3, 4, &mut rng);
    let input = TileInput::Rows(x.view());
    m.forward_tile(&mut tile, &input).unwrap();
    let mut dx = Array2::zeros((3, 5));
    assert!(
        m.backward_tile(&mut tile, &input, None, Some(dx.view_mut()))
            .is_err()
    );
}

/// A tile cache hands a tile back only to a network it fits, keeps tiles per slot, starts
/// empty when cloned, and a reused tile (full of an earlier pass's values) gives the same bits
/// as a fresh one.
#[test]
fn tile_cache_reuses_fitting_tiles_with_the_same_results() {
    let mut rng = StdRng::seed_from_u64(2);
    let m = Mlp::<f32>::layer_norm_mlp(5, &[9, 4], true, &mut rng);
    let other = Mlp::<f32>::layer_norm_mlp(5, &[8, 4], true, &mut rng);
    let x = randn(7, 5, &mut rng).mapv(|v| v as f32);
    let junk = randn(7, 5, &mut rng).mapv(|v| 10.0 * v as f32);
    let pass = |tile: &mut MlpTile<f32>, x: &Array2<f32>| {
        let input = TileInput::Rows(x.view());
        m.forward_tile(tile, &input).unwrap();
        let out = tile.output().to_owned();
        tile.output_grad_mut().fill(0.5);
        let mut g = m.zeros_like();
        let mut dx = Array2::zeros((7, 5));
        m.backward_tile(tile, &input, Some(&mut g), Some(dx.view_mut()))
            .unwrap();
        (out, g.flatten(), dx)
    };
    let tiles = TileCache::new();
    assert!(tiles.is_empty());
    let mut fresh = tiles.take(0, &m, 8);
    let want = pass(&mut fresh, &x);
    pass(&mut fresh, &junk);
    tiles.put(0, fresh);
    assert_eq!(tiles.len(), 1);
    // Another network's shape or another capacity gets a new tile; the cached one stays.
    let _ = tiles.take(0, &other, 8);
    let _ = tiles.take(0, &m, 16);
    assert_eq!(tiles.len(), 1);
    assert!(tiles.clone().is_empty());
    let mut reused = tiles.take(0, &m, 8);
    assert!(tiles.is_empty());
    assert_eq!(pass(&mut reused, &x), want);
    // A slot past the last drops what it is given.
    tiles.put(usize::MAX, reused);
    assert!(tiles.is_empty());
}

/// The fixed chunks of a reduction cover every index once, in order, and are the same for
/// every thread count; `with_threads` splits `map_ranges` as a machine with that many cores.
#[test]
fn map_chunks_are_fixed_whatever_the_thread_count() {
    for n in [0usize, 1, 2, 5, 7, 100] {
        let reference = parallel::with_threads(1, || parallel::map_chunks(n, 8, |r| r));
        assert_eq!(reference.len(), n.clamp(1, 8), "n={n}");
        let flat: Vec<usize> = reference.iter().cloned().flatten().collect();
        assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n={n}");
        for threads in [2usize, 3, 5, 16] {
            let chunks = parallel::with_threads(threads, || parallel::map_chunks(n, 8, |r| r));
            assert_eq!(chunks, reference, "n={n} threads={threads}");
            let ranges = parallel::with_threads(threads, || parallel::map_ranges(n, 1, |r| r));
            assert_eq!(
                ranges.len(),
                threads.min(n).max(1),
                "n={n} threads={threads}"
            );
        }
    }
    let direct = parallel::map_chunks(20, 8, |r| r);
    assert_eq!(
        direct,
        parallel::with_threads(1, || parallel::map_chunks(20, 8, |r| r))
    );
}

/// Regression test (issue 13): a large `x^T dy` (split into partial sums) is bit-identical for
/// every thread count, in f32 through the micro-kernel.
#[test]
fn add_at_b_is_bit_identical_for_every_thread_count() {
    let mut rng = StdRng::seed_from_u64(3);
    let (n, k, m) = (16_000, 40, 30);
    let x = randn(n, k, &mut rng).mapv(|v| v as f32);
    let dy = randn(n, m, &mut rng).mapv(|v| v as f32);
    let run = |threads: usize| {
        let mut acc = Array2::<f32>::ones((k, m));
        parallel::with_threads(threads, || {
            parallel::add_at_b(x.view(), dy.view(), &mut acc.view_mut())
        });
        acc.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
    };
    let reference = run(1);
    for threads in [2, 3, 4, 7, 8] {
        assert!(run(threads) == reference, "threads={threads}");
    }
    let mut acc = Array2::<f32>::ones((k, m));
    parallel::add_at_b(x.view(), dy.view(), &mut acc.view_mut());
    assert!(
        acc.iter()
            .map(|v| v.to_bits())
            .eq(reference.iter().copied())
    );
}

mod f32_kernel {
    use super::*;

    fn randn32(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f32> {
        randn(rows, cols, rng).mapv(|v| v as f32)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..config() })]

        /// An f32 network's tile passes (which take the micro-kernel) agree with its plain
        /// passes to f32 accuracy.
        #[test]
        fn f32_tiles_match_plain_passes(seed in 0u64..1000, n in 1usize..40, samples in 1usize..4) {
            let mut rng = StdRng::seed_from_u64(seed);
            let m = Mlp::<f32>::layer_norm_mlp(9, &[37, 21], true, &mut rng);
            let shared = randn32(n, 6, &mut rng);
            let extra = randn32(n * samples, 3, &mut rng);
            let dy = randn32(n * samples, 21, &mut rng);
            let close = |(want, got): &(Vec<f64>, Vec<f64>), tol: f64| {
                want.iter().zip(got).all(|(y, x)| (x - y).abs() <= tol * (1.0 + y.abs()))
            };
            let [out, g, dx] = plain_vs_shared_tile(&m, &shared, &extra, &dy);
            prop_assert!(close(&out, 1e-4));
            prop_assert!(close(&g, 1e-3));
            prop_assert!(close(&dx, 1e-3));
        }
    }
}
