//! A low level's chain passes (`S` latents per observation, the observation part of the first
//! layer computed once per observation) and the critic's row passes, against the passes on
//! the stacked rows they replace: the same numbers, bit for bit in `f32` on the SIMD paths
//! (`gemm::continues_chain`), for batches below and above `BATCHED_ROWS` and tiles that
//! straddle two samples' copies; and the fused forward-gradient-backward pass against the
//! forward and backward passes it fuses, bit for bit on every path.

use crate::common::rand_distr_like::randn;
use crate::common::spec;
use bprl_nn::{Parameters, TileCache};
use bprl_policy::{
    BATCHED_ROWS, Critic, CriticConfig, GaussianPolicy, GaussianPolicyConfig, PolicyError,
};
use ndarray::{Array2, ArrayView2, Axis, concatenate, s};
use rand::SeedableRng;
use rand::rngs::StdRng;

const Z: usize = 3;
const A: usize = 2;

fn f32s(a: &Array2<f64>) -> Array2<f32> {
    a.mapv(|v| v as f32)
}

fn bits(a: ArrayView2<'_, f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// A low level over `proprio` and `targets` with a latent input, `f32`.
fn low_level(seed: u64) -> GaussianPolicy<f32> {
    policy(seed, A, Z)
}

/// A policy over `proprio` and `targets` with `extra` extra inputs and `out` outputs, `f32`,
/// its weights perturbed so that the head is not near zero.
fn policy(seed: u64, out: usize, extra: usize) -> GaussianPolicy<f32> {
    let cfg = GaussianPolicyConfig {
        hidden: vec![24, 10],
        output_dim: out,
        extra_input_dim: extra,
        min_scale: 0.1,
    };
    let sel = spec().select(&["proprio", "targets"]).unwrap();
    let mut p = GaussianPolicy::new(sel, &cfg, &mut StdRng::seed_from_u64(seed)).unwrap();
    // Weights large enough that the head is not near zero.
    let mut rng = StdRng::seed_from_u64(seed + 100);
    p.visit_mut("", &mut |_, mut w| {
        let noise = randn(1, w.len(), &mut rng);
        w.iter_mut()
            .zip(noise.iter())
            .for_each(|(v, n)| *v += 0.3 * *n as f32);
    });
    p
}

/// `S` stacked copies of `obs` (sample-major), the rows the chain passes stand for.
fn stacked(obs: &Array2<f32>, samples: usize) -> Array2<f32> {
    concatenate(Axis(0), &vec![obs.view(); samples]).unwrap()
}

fn exact() -> bool {
    bprl_nn::gemm::continues_chain::<f32>(bprl_compute::Kernel::selected())
}

/// Forward: `forward_chains_with` is `forward_with` on the stacked rows; backward:
/// `backward_extra_with` is the latent columns of `backward_with`, with the same parameter
/// gradients. Small batches (plain passes), large ones (tiles, with `n` not a multiple of the
/// tile so that tiles straddle two copies).
#[test]
fn chains_equal_the_stacked_rows() {
    for (n, samples) in [(7, 3), (150, 8), (256, 5)] {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let p = low_level(1);
        let tiles = TileCache::new();
        let obs = f32s(&randn(n, 7, &mut rng));
        let z = f32s(&randn(n * samples, Z, &mut rng));
        let chains = p.forward_chains_with(&tiles, obs.view(), z.view()).unwrap();
        let rows = stacked(&obs, samples);
        let whole = p.forward_with(&tiles, rows.view(), Some(z.view())).unwrap();
        let (dm, ds) = (
            f32s(&randn(n * samples, A, &mut rng)),
            f32s(&randn(n * samples, A, &mut rng)),
        );
        let mut g_chains = p.zeros_like();
        let dz = p.backward_extra_with(&tiles, &chains, dm.view(), ds.view(), &mut g_chains);
        let mut g_whole = p.zeros_like();
        let d_in = p.backward_with(&tiles, &whole, dm.view(), ds.view(), &mut g_whole);
        let dz_whole = d_in.slice(s![.., d_in.ncols() - Z..]).to_owned();
        let pairs = [
            (chains.dist.mean().to_owned(), whole.dist.mean().to_owned()),
            (chains.dist.std().to_owned(), whole.dist.std().to_owned()),
            (dz, dz_whole),
            (
                Array2::from_shape_vec((1, g_chains.num_params()), g_chains.flatten()).unwrap(),
                Array2::from_shape_vec((1, g_whole.num_params()), g_whole.flatten()).unwrap(),
            ),
        ];
        let large = n * samples >= BATCHED_ROWS;
        for (k, (a, b)) in pairs.iter().enumerate() {
            if exact() || !large {
                assert_eq!(
                    bits(a.view()),
                    bits(b.view()),
                    "n {n}, S {samples}, pair {k}"
                );
            } else {
                let err = (a - b).iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(err < 1e-4, "n {n}, S {samples}, pair {k}: {err}");
            }
        }
        // The whole rows' input gradient of a chain pass: the stacked rows' one.
        let mut g = p.zeros_like();
        let d_full = p.backward_with(&tiles, &chains, dm.view(), ds.view(), &mut g);
        assert_eq!(d_full.dim(), d_in.dim());
    }
}

/// The fused pass is the forward pass, then the gradient, then the backward pass, bit for bit
/// (on every path: the same tiles and sums).
#[test]
fn fused_pass_is_forward_then_backward() {
    let (n, samples) = (150, 8);
    let mut rng = StdRng::seed_from_u64(9);
    let p = low_level(2);
    let tiles = TileCache::new();
    let obs = f32s(&randn(n, 7, &mut rng));
    let z = f32s(&randn(n * samples, Z, &mut rng));
    let target = f32s(&randn(n * samples, A, &mut rng));
    // A loss whose gradient needs each row's distribution: (mean - target)^2 + std^2 / 2.
    let grad_of =
        |rows: std::ops::Range<usize>, m: ArrayView2<'_, f32>, sd: ArrayView2<'_, f32>| {
            let t = target.slice(s![rows, ..]);
            ((&m - &t) * 2.0, sd.to_owned())
        };
    let row_grad = |_slot: usize,
                    rows: std::ops::Range<usize>,
                    m: ArrayView2<'_, f32>,
                    sd: ArrayView2<'_, f32>|
     -> Result<_, PolicyError> { Ok(grad_of(rows, m, sd)) };
    let mut g_fused = p.zeros_like();
    let (fwd, dz) = p
        .chains_fused_with(&tiles, obs.view(), z.view(), &row_grad, &mut g_fused)
        .unwrap();
    let plain = p.forward_chains_with(&tiles, obs.view(), z.view()).unwrap();
    let (dm, ds) = grad_of(0..n * samples, plain.dist.mean(), plain.dist.std());
    let mut g = p.zeros_like();
    let dz_plain = p.backward_extra_with(&tiles, &plain, dm.view(), ds.view(), &mut g);
    assert_eq!(bits(fwd.dist.mean()), bits(plain.dist.mean()));
    assert_eq!(bits(fwd.dist.std()), bits(plain.dist.std()));
    assert_eq!(bits(dz.view()), bits(dz_plain.view()));
    let (a, b) = (g_fused.flatten(), g.flatten());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // Its forward pass serves a later backward pass as the chain pass's does.
    let mut g2 = p.zeros_like();
    let dz2 = p.backward_extra_with(&tiles, &fwd, dm.view(), ds.view(), &mut g2);
    assert_eq!(bits(dz2.view()), bits(dz_plain.view()));
}

/// Typed errors: chains that are not a multiple of the observations, a wrong extra width, a
/// network without extra input, a fused pass below `BATCHED_ROWS`, gradients of the wrong
/// shape, an error of the gradient function passed through.
#[test]
fn chain_passes_reject_bad_input() {
    let mut rng = StdRng::seed_from_u64(3);
    let p = low_level(3);
    let tiles = TileCache::new();
    let obs = f32s(&randn(10, 7, &mut rng));
    assert!(
        p.forward_chains_with(&tiles, obs.view(), f32s(&randn(25, Z, &mut rng)).view())
            .is_err()
    );
    assert!(
        p.forward_chains_with(&tiles, obs.view(), f32s(&randn(20, Z + 1, &mut rng)).view())
            .is_err()
    );
    let mut nan = f32s(&randn(20, Z, &mut rng));
    nan[[3, 1]] = f32::NAN;
    assert!(
        p.forward_chains_with(&tiles, obs.view(), nan.view())
            .is_err()
    );
    let ok =
        |_: usize, r: std::ops::Range<usize>, _: ArrayView2<'_, f32>, _: ArrayView2<'_, f32>| {
            Ok::<_, PolicyError>((Array2::zeros((r.len(), A)), Array2::zeros((r.len(), A))))
        };
    let z = f32s(&randn(20, Z, &mut rng));
    let mut g = p.zeros_like();
    assert!(
        p.chains_fused_with(&tiles, obs.view(), z.view(), &ok, &mut g)
            .is_err()
    );
    let big_obs = f32s(&randn(200, 7, &mut rng));
    let big_z = f32s(&randn(1200, Z, &mut rng));
    let wrong =
        |_: usize, r: std::ops::Range<usize>, _: ArrayView2<'_, f32>, _: ArrayView2<'_, f32>| {
            Ok::<_, PolicyError>((Array2::zeros((r.len(), A + 1)), Array2::zeros((r.len(), A))))
        };
    assert!(
        p.chains_fused_with(&tiles, big_obs.view(), big_z.view(), &wrong, &mut g)
            .is_err()
    );
    let failing =
        |_: usize, _: std::ops::Range<usize>, _: ArrayView2<'_, f32>, _: ArrayView2<'_, f32>| {
            Err::<(Array2<f32>, Array2<f32>), _>(PolicyError::Config {
                field: "test",
                value: 1.0,
                requirement: "passed through",
            })
        };
    assert!(matches!(
        p.chains_fused_with(&tiles, big_obs.view(), big_z.view(), &failing, &mut g),
        Err(PolicyError::Config { field: "test", .. })
    ));
    let flat = GaussianPolicy::<f32>::new(
        spec().select_all(),
        &GaussianPolicyConfig {
            hidden: vec![4],
            output_dim: A,
            extra_input_dim: 0,
            min_scale: 0.1,
        },
        &mut rng,
    )
    .unwrap();
    assert!(
        flat.forward_chains_with(&tiles, obs.view(), z.view())
            .is_err()
    );
}

/// The critic on rows given one by one (`rows_backward`, with the observations' first-layer
/// products computed once) is `backward_samples` on the same rows, bit for bit, for more
/// rows than a tile; and rows that do not agree with their products are refused.
#[test]
fn critic_rows_equal_the_sample_passes() {
    let mut rng = StdRng::seed_from_u64(5);
    let cfg = CriticConfig {
        hidden: vec![30, 12],
        action_dim: A,
        latent_dim: Z,
        output_init_std: 0.5,
    };
    let critic =
        Critic::<f32>::new(spec().select_all(), &cfg, &mut StdRng::seed_from_u64(6)).unwrap();
    let tiles = TileCache::new();
    let (n, samples) = (70, 6);
    let obs = f32s(&randn(n, 7, &mut rng));
    let actions = f32s(&(randn(samples * n, A, &mut rng) * 1.5));
    let latent = f32s(&randn(samples * n, Z, &mut rng));
    let w = f32s(&randn(1, samples * n, &mut rng));
    // Sample passes on [S, N, .].
    let a3 = actions
        .view()
        .into_shape_with_order((samples, n, A))
        .unwrap();
    let z3 = latent
        .view()
        .into_shape_with_order((samples, n, Z))
        .unwrap();
    let reference = critic
        .backward_samples(
            &tiles,
            obs.view(),
            a3,
            Some(z3),
            &|s, i, _| w[[0, s * n + i]],
            None,
            true,
        )
        .unwrap();
    // The same rows one by one: chain c reads observation c % n.
    let rows = stacked(&obs, samples);
    let (x, product) = critic.obs_product(rows.view()).unwrap();
    let dq = |c: usize, _: f32| w[[0, c]];
    let (q, d) = critic
        .rows_backward(
            &tiles,
            0,
            x.view(),
            product.view(),
            actions.view(),
            Some(latent.view()),
            Some(&dq),
        )
        .unwrap();
    let q_ref: Vec<u32> = reference.q.iter().map(|v| v.to_bits()).collect();
    assert_eq!(q.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), q_ref);
    let d_ref = reference
        .d_action
        .unwrap()
        .into_shape_with_order((samples * n, A))
        .unwrap();
    assert_eq!(bits(d.unwrap().view()), bits(d_ref.view()));
    // Forward only.
    let (q2, none) = critic
        .rows_backward(
            &tiles,
            1,
            x.view(),
            product.view(),
            actions.view(),
            Some(latent.view()),
            None,
        )
        .unwrap();
    assert!(none.is_none());
    assert_eq!(q2.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), q_ref);
    // Mismatched rows, a missing latent.
    assert!(
        critic
            .rows_backward(
                &tiles,
                0,
                x.view(),
                product.slice(s![1.., ..]),
                actions.view(),
                Some(latent.view()),
                None
            )
            .is_err()
    );
    assert!(
        critic
            .rows_backward(
                &tiles,
                0,
                x.view(),
                product.view(),
                actions.view(),
                None,
                None
            )
            .is_err()
    );
}

/// A high level over `proprio` and `targets` (no extra input), `f32`.
fn high_level(seed: u64) -> GaussianPolicy<f32> {
    policy(seed, Z, 0)
}

/// `head_rows(n)` of a batched pass is, bit for bit on every path, the pass on the first `n`
/// rows: its distribution, and the parameter gradients of a backward pass from it; for `n` a
/// multiple of the tile and not (a last tile partial in one pass and full in the other), up
/// to all rows. `None` below `BATCHED_ROWS` or past the rows, and for plain passes.
#[test]
fn head_rows_equal_the_pass_on_those_rows() {
    let p = high_level(4);
    let tiles = TileCache::new();
    for (n, total) in [
        (1024, 1024),
        (1050, 1200),
        (1050, 1280),
        (1280, 1536),
        (1500, 1501),
    ] {
        let mut rng = StdRng::seed_from_u64(n as u64);
        let obs = f32s(&randn(total, 7, &mut rng));
        let all = p.forward_with(&tiles, obs.view(), None).unwrap();
        let head = all.head_rows(n).expect("batched pass, n >= BATCHED_ROWS");
        let fresh = p
            .forward_with(&tiles, obs.slice(s![..n, ..]), None)
            .unwrap();
        assert_eq!(bits(head.dist.mean()), bits(fresh.dist.mean()), "n={n}");
        assert_eq!(bits(head.dist.std()), bits(fresh.dist.std()), "n={n}");
        let (dm, ds) = (f32s(&randn(n, Z, &mut rng)), f32s(&randn(n, Z, &mut rng)));
        let mut g_head = p.zeros_like();
        p.backward_with(&tiles, &head, dm.view(), ds.view(), &mut g_head);
        let mut g_fresh = p.zeros_like();
        p.backward_with(&tiles, &fresh, dm.view(), ds.view(), &mut g_fresh);
        let flat =
            |g: &GaussianPolicy<f32>| g.flatten().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(flat(&g_head), flat(&g_fresh), "n={n}: gradients");
        assert!(g_head.flatten().iter().any(|&v| v != 0.0));
        assert!(all.head_rows(BATCHED_ROWS - 1).is_none());
        assert!(all.head_rows(total + 1).is_none());
    }
    let mut rng = StdRng::seed_from_u64(5);
    let small = f32s(&randn(BATCHED_ROWS - 1, 7, &mut rng));
    let plain = p.forward_with(&tiles, small.view(), None).unwrap();
    assert!(plain.head_rows(10).is_none() && plain.head_rows(BATCHED_ROWS - 1).is_none());
}
