//! The batched sample passes of the critic against the plain passes on stacked rows, and
//! against finite differences.

use crate::common::rand_distr_like::randn;
use crate::common::{STEP, assert_close, obs, spec};
use bprl_nn::gradcheck::finite_difference;
use bprl_nn::{Parameters, TileCache};
use bprl_policy::{Critic, CriticConfig};
use ndarray::{Array1, Array2, Array3, Axis, concatenate};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn critic(latent_dim: usize, rng: &mut StdRng) -> Critic<f64> {
    let cfg = CriticConfig {
        hidden: vec![9, 7],
        action_dim: 2,
        latent_dim,
        output_init_std: 0.5,
    };
    Critic::new(spec().select_all(), &cfg, rng).unwrap()
}

/// `[S, N, k]` to the stacked `[S N, k]` rows.
fn stack(a: &Array3<f64>) -> Array2<f64> {
    let (s, n, k) = a.dim();
    a.to_owned().into_shape_with_order((s * n, k)).unwrap()
}

fn random3(s: usize, n: usize, k: usize, scale: f64, rng: &mut StdRng) -> Array3<f64> {
    randn(s * n, k, rng)
        .mapv(|v| v * scale)
        .into_shape_with_order((s, n, k))
        .unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5a5a),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Values, parameter gradients and input gradients (some actions outside [-1, 1], so
    /// clipping is exercised) equal the plain passes over `S` stacked copies; several tiles
    /// and threads are involved for the larger sizes.
    #[test]
    fn samples_match_stacked_rows(seed in 0u64..1000, n in 1usize..70, s in 1usize..13, latent in 0usize..2) {
        let mut rng = StdRng::seed_from_u64(seed);
        let z_dim = latent * 3;
        let tiles = TileCache::new();
        let c = critic(z_dim, &mut rng);
        let x = obs(n, &mut rng);
        let a = random3(s, n, 2, 0.8, &mut rng);
        let z = (z_dim > 0).then(|| random3(s, n, z_dim, 1.0, &mut rng));
        let w = randn(s, n, &mut rng);

        let x_rep = concatenate(Axis(0), &vec![x.view(); s]).unwrap();
        let a_rows = stack(&a);
        let z_rows = z.as_ref().map(stack);
        let fwd = c.forward(x_rep.view(), a_rows.view(), z_rows.as_ref().map(|z| z.view())).unwrap();
        let w_rows = Array1::from(w.iter().copied().collect::<Vec<_>>());
        let mut g_plain = c.zeros_like();
        let d_plain = c.backward(&fwd, w_rows.view(), &mut g_plain);

        let q = c.q_samples(&tiles, x.view(), a.view(), z.as_ref().map(|z| z.view())).unwrap();
        prop_assert!(max_diff(&q.iter().copied().collect::<Vec<_>>(), &fwd.q.to_vec()) < 1e-12);

        let mut g = c.zeros_like();
        let out = c
            .backward_samples(&tiles, x.view(), a.view(), z.as_ref().map(|z| z.view()), &|si, ni, _| w[(si, ni)], Some(&mut g), true)
            .unwrap();
        prop_assert!(max_diff(&out.q.iter().copied().collect::<Vec<_>>(), &fwd.q.to_vec()) < 1e-12);
        prop_assert!(max_diff(&g.flatten(), &g_plain.flatten()) < 1e-9);
        let da = stack(out.d_action.as_ref().unwrap());
        prop_assert!(max_diff(&da.iter().copied().collect::<Vec<_>>(), &d_plain.d_action.iter().copied().collect::<Vec<_>>()) < 1e-9);
        match (out.d_latent, d_plain.d_latent) {
            (Some(dz), Some(dz_plain)) => {
                prop_assert!(max_diff(&stack(&dz).iter().copied().collect::<Vec<_>>(), &dz_plain.iter().copied().collect::<Vec<_>>()) < 1e-9);
            }
            (None, None) => {}
            _ => prop_assert!(false, "latent gradient present on one side only"),
        }

        // Input gradients only (a target critic): same action gradient, no parameter change.
        let only = c.backward_samples(&tiles, x.view(), a.view(), z.as_ref().map(|z| z.view()), &|si, ni, _| w[(si, ni)], None, true).unwrap();
        prop_assert_eq!(only.d_action, Some(stack_back(&da, s, n)));
    }
}

fn stack_back(a: &Array2<f64>, s: usize, n: usize) -> Array3<f64> {
    a.to_owned()
        .into_shape_with_order((s, n, a.ncols()))
        .unwrap()
}

/// A loss that depends on `Q` itself (`1/2 (Q - y)^2`, the critic loss): the parameter
/// gradient matches central finite differences.
#[test]
fn samples_gradient_of_squared_error_matches_finite_differences() {
    let tiles = TileCache::new();
    let mut rng = StdRng::seed_from_u64(11);
    let c = critic(0, &mut rng);
    let x = obs(5, &mut rng);
    let a = random3(3, 5, 2, 0.5, &mut rng);
    let y = randn(3, 5, &mut rng);
    let loss = |c: &Critic<f64>| {
        let q = c.q_samples(&tiles, x.view(), a.view(), None).unwrap();
        0.5 * (&q - &y).mapv(|d| d * d).sum()
    };
    let mut g = c.zeros_like();
    c.backward_samples(
        &tiles,
        x.view(),
        a.view(),
        None,
        &|si, ni, q| q - y[(si, ni)],
        Some(&mut g),
        false,
    )
    .unwrap();
    assert_close(
        "critic params",
        &g.flatten(),
        &finite_difference(&c, STEP, loss),
    );
}

/// Bad shapes and non-finite inputs are typed errors.
#[test]
fn samples_reject_bad_input() {
    let tiles = TileCache::new();
    let mut rng = StdRng::seed_from_u64(3);
    let c = critic(0, &mut rng);
    let x = obs(4, &mut rng);
    let a = random3(2, 4, 2, 0.5, &mut rng);
    assert!(
        c.q_samples(
            &tiles,
            x.view(),
            random3(2, 3, 2, 0.5, &mut rng).view(),
            None
        )
        .is_err()
    );
    assert!(
        c.q_samples(
            &tiles,
            x.view(),
            random3(2, 4, 3, 0.5, &mut rng).view(),
            None
        )
        .is_err()
    );
    assert!(
        c.q_samples(&tiles, x.view(), a.view(), Some(a.view()))
            .is_err()
    );
    let mut bad = a.clone();
    bad[(1, 2, 0)] = f64::NAN;
    assert!(c.q_samples(&tiles, x.view(), bad.view(), None).is_err());
    let lc = critic(3, &mut rng);
    assert!(lc.q_samples(&tiles, x.view(), a.view(), None).is_err());
}

mod policy {
    use super::*;
    use bprl_policy::{GaussianPolicy, GaussianPolicyConfig};

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 8,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x9011),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// The tiled, threaded policy passes equal the plain ones (several tiles for the
        /// larger sizes), with and without an extra input.
        #[test]
        fn batched_policy_matches_plain_passes(seed in 0u64..1000, n in 1usize..700, extra in 0usize..3) {
            let tiles = TileCache::new();
            let mut rng = StdRng::seed_from_u64(seed);
            let cfg = GaussianPolicyConfig { hidden: vec![6, 5], output_dim: 2, extra_input_dim: extra, min_scale: 0.1 };
            let mut pol = GaussianPolicy::<f64>::new(spec().select(&["proprio", "goal"]).unwrap(), &cfg, &mut rng).unwrap();
            // Heads far from zero, so tanh and softplus are exercised away from their origin.
            pol.head.mean.weight.mapv_inplace(|w| w * 50.0);
            pol.head.std.weight.mapv_inplace(|w| w * 50.0);
            let x = obs(n, &mut rng);
            let e = (extra > 0).then(|| randn(n, extra, &mut rng));
            let dm = randn(n, 2, &mut rng);
            let ds = randn(n, 2, &mut rng);
            let fwd = pol.forward(x.view(), e.as_ref().map(|e| e.view())).unwrap();
            let mut g_plain = pol.zeros_like();
            let dx_plain = pol.backward(&fwd, dm.view(), ds.view(), &mut g_plain);

            let dist = pol.dist_batched(&tiles, x.view(), e.as_ref().map(|e| e.view())).unwrap();
            let flat = |a: ndarray::ArrayView2<'_, f64>| a.iter().copied().collect::<Vec<_>>();
            prop_assert!(max_diff(&flat(dist.mean()), &flat(fwd.dist.mean())) < 1e-12);
            prop_assert!(max_diff(&flat(dist.std()), &flat(fwd.dist.std())) < 1e-12);
            let mut g = pol.zeros_like();
            let dx = pol
                .backward_batched(&tiles, x.view(), e.as_ref().map(|e| e.view()), dm.view(), ds.view(), &mut g, true)
                .unwrap()
                .unwrap();
            prop_assert!(max_diff(&g.flatten(), &g_plain.flatten()) < 1e-9);
            prop_assert!(max_diff(&flat(dx.view()), &flat(dx_plain.view())) < 1e-9);
        }
    }

    /// From `BATCHED_ROWS` rows the ordinary `forward`/`backward` take the tiled passes
    /// (keeping only the input, recomputing the forward pass in the backward pass): the same
    /// distribution, parameter gradients and input gradient as the plain passes.
    #[test]
    fn large_batches_switch_to_tiles_with_the_same_results() {
        let mut rng = StdRng::seed_from_u64(8);
        let cfg = GaussianPolicyConfig {
            hidden: vec![6, 5],
            output_dim: 2,
            extra_input_dim: 1,
            min_scale: 0.1,
        };
        let mut pol = GaussianPolicy::<f64>::new(spec().select_all(), &cfg, &mut rng).unwrap();
        pol.head.mean.weight.mapv_inplace(|w| w * 50.0);
        pol.head.std.weight.mapv_inplace(|w| w * 50.0);
        let n = bprl_policy::BATCHED_ROWS + 37;
        let x = obs(n, &mut rng);
        let e = randn(n, 1, &mut rng);
        let dm = randn(n, 2, &mut rng);
        let ds = randn(n, 2, &mut rng);
        let input = pol.input(x.view(), Some(e.view())).unwrap();
        let plain = pol.forward_input_plain(input.view()).unwrap();
        let tiled = pol.forward(x.view(), Some(e.view())).unwrap();
        let flat = |a: ndarray::ArrayView2<'_, f64>| a.iter().copied().collect::<Vec<_>>();
        assert!(max_diff(&flat(tiled.dist.mean()), &flat(plain.dist.mean())) < 1e-12);
        assert!(max_diff(&flat(tiled.dist.std()), &flat(plain.dist.std())) < 1e-12);
        let mut g_plain = pol.zeros_like();
        let dx_plain = pol.backward(&plain, dm.view(), ds.view(), &mut g_plain);
        let mut g = pol.zeros_like();
        let dx = pol.backward(&tiled, dm.view(), ds.view(), &mut g);
        assert!(max_diff(&g.flatten(), &g_plain.flatten()) < 1e-9);
        assert!(max_diff(&flat(dx.view()), &flat(dx_plain.view())) < 1e-9);
        // With lent tiles (twice, the second time reusing them): the same bits as with the
        // pass's own tiles.
        let tiles = TileCache::new();
        for _ in 0..2 {
            let lent = pol.forward_with(&tiles, x.view(), Some(e.view())).unwrap();
            assert_eq!(lent.dist, tiled.dist);
            let mut g_lent = pol.zeros_like();
            let dx_lent = pol.backward_with(&tiles, &lent, dm.view(), ds.view(), &mut g_lent);
            assert_eq!((g_lent.flatten(), dx_lent), (g.flatten(), dx.clone()));
        }
        assert!(!tiles.is_empty());
    }

    /// Gradients of the wrong shape are typed errors.
    #[test]
    fn batched_policy_rejects_bad_gradients() {
        let tiles = TileCache::new();
        let mut rng = StdRng::seed_from_u64(5);
        let cfg = GaussianPolicyConfig {
            hidden: vec![4],
            output_dim: 2,
            extra_input_dim: 0,
            min_scale: 0.1,
        };
        let pol = GaussianPolicy::<f64>::new(spec().select_all(), &cfg, &mut rng).unwrap();
        let x = obs(3, &mut rng);
        let mut g = pol.zeros_like();
        let bad = Array2::zeros((3, 3));
        let good = Array2::zeros((3, 2));
        assert!(
            pol.backward_batched(
                &tiles,
                x.view(),
                None,
                bad.view(),
                good.view(),
                &mut g,
                false
            )
            .is_err()
        );
        assert!(
            pol.backward_batched(
                &tiles,
                x.view(),
                None,
                good.view(),
                bad.view(),
                &mut g,
                false
            )
            .is_err()
        );
    }
}
