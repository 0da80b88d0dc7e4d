//! Tanh-squashed Gaussian: the density integrates to one, matches the change-of-variables
//! formula, and the pre-tanh path stays finite where `atanh` would not.

use crate::common::{array2, config};
use bprl_distributions::{DiagGaussian, TanhGaussian};
use ndarray::{Array2, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn density_integrates_to_one() {
    // Midpoint rule over (-1, 1) in 1-D; mass near the ends is small for these parameters.
    for (m, s) in [(0.0f64, 0.5f64), (0.8, 0.3), (-0.5, 1.0)] {
        let n = 200_000;
        let h = 2.0 / n as f64;
        let xs = Array2::from_shape_fn((n, 1), |(i, _)| -1.0 + (i as f64 + 0.5) * h);
        let wide = TanhGaussian::new(
            DiagGaussian::new(Array2::from_elem((n, 1), m), Array2::from_elem((n, 1), s)).unwrap(),
        );
        let total: f64 = wide.log_prob(xs.view()).unwrap().mapv(f64::exp).sum() * h;
        assert!((total - 1.0).abs() < 1e-4, "mass {total} for ({m}, {s})");
    }
}

#[test]
fn pre_tanh_path_is_finite_where_tanh_saturates() {
    let t = TanhGaussian::new(DiagGaussian::new(array![[12.0f32]], array![[0.1]]).unwrap());
    let s = t.sample(&mut StdRng::seed_from_u64(0));
    assert_eq!(s.action[(0, 0)], 1.0, "f32 tanh saturates at u = 12");
    assert!(t.log_prob(s.action.view()).is_err());
    assert!(t.log_prob_pre_tanh(s.pre_tanh.view()).unwrap()[0].is_finite());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn log_prob_is_change_of_variables(
        m in array2(2, 3, -1.5..1.5),
        s in array2(2, 3, 0.2..1.5),
        u in array2(2, 3, -3.0..3.0),
    ) {
        let g = DiagGaussian::new(m, s).unwrap();
        let t = TanhGaussian::new(g.clone());
        let a = u.mapv(f64::tanh);
        let naive = g.log_prob(u.view()).unwrap()
            - a.mapv(|v| (1.0 - v * v).ln()).sum_axis(ndarray::Axis(1));
        let via_a = t.log_prob(a.view()).unwrap();
        let via_u = t.log_prob_pre_tanh(u.view()).unwrap();
        for b in 0..2 {
            prop_assert!((via_u[b] - naive[b]).abs() <= 1e-9 * (1.0 + naive[b].abs()));
            prop_assert!((via_a[b] - via_u[b]).abs() <= 1e-6 * (1.0 + naive[b].abs()));
        }
    }
}

// ---- Bounded boxes (rlax `squashed_gaussian`), the element-wise kernels, the entropy
// estimate and the KL invariance.

use crate::common::{assert_grad_close, fd_grad};
use bprl_distributions::prec::{FD_STEP, FD_TOL, MC_SIGMAS};
use bprl_distributions::{
    KlEstimator, log_abs_det_jacobian, log_abs_det_jacobian_derivative, log_one_minus_tanh_sq,
    log_one_minus_tanh_sq_derivative, monte_carlo_kl, squash, squash_derivative, unsquash,
    unsquash_derivative,
};
use ndarray::{Array1, Array3, Axis};

/// Tolerance of the closed-form log-density against the finite-difference change of variables
/// (a central difference of `squash` with step `FD_STEP` is accurate to about `1e-10`).
const CHANGE_OF_VARIABLES_TOL: f64 = 1e-7;
/// Tolerance of `f64` round trips through `tanh` and `atanh` for `|u| <= 8`.
const ROUND_TRIP_TOL: f64 = 1e-6;

/// A box of dimension `d`: lower bounds in `[-3, 0]`, widths in `[0.5, 4]`.
fn boxes(d: usize) -> impl Strategy<Value = (Array1<f64>, Array1<f64>)> {
    (
        proptest::collection::vec(-3.0f64..0.0, d),
        proptest::collection::vec(0.5f64..4.0, d),
    )
        .prop_map(|(lo, w)| {
            let lo = Array1::from(lo);
            let hi = &lo + &Array1::from(w);
            (lo, hi)
        })
}

fn bounded(
    m: &Array2<f64>,
    s: &Array2<f64>,
    lo: &Array1<f64>,
    hi: &Array1<f64>,
) -> TanhGaussian<f64> {
    let g = DiagGaussian::new(m.clone(), s.clone()).expect("valid Gaussian");
    TanhGaussian::with_bounds(g, lo.clone(), hi.clone()).expect("valid box")
}

/// Central finite difference of a scalar function.
fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = FD_STEP * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn bounded_density_integrates_to_one() {
    for (m, s, lo, hi) in [
        (0.0f64, 0.5f64, -2.0f64, 3.0f64),
        (0.8, 0.3, 0.0, 0.5),
        (-0.5, 1.0, -10.0, -4.0),
    ] {
        let n = 200_000;
        let h = (hi - lo) / n as f64;
        let xs = Array2::from_shape_fn((n, 1), |(i, _)| lo + (i as f64 + 0.5) * h);
        let g =
            DiagGaussian::new(Array2::from_elem((n, 1), m), Array2::from_elem((n, 1), s)).unwrap();
        let t = TanhGaussian::with_bounds(g, array![lo], array![hi]).unwrap();
        let total: f64 = t.log_prob(xs.view()).unwrap().mapv(f64::exp).sum() * h;
        assert!(
            (total - 1.0).abs() < 1e-4,
            "mass {total} for ({m}, {s}) on [{lo}, {hi}]"
        );
    }
}

#[test]
fn stable_log_one_minus_tanh_sq_stays_finite_where_naive_is_not() {
    for u in [20.0f64, -20.0, 50.0, -50.0] {
        let naive = (1.0 - u.tanh().powi(2)).ln();
        assert_eq!(naive, f64::NEG_INFINITY, "tanh({u}) rounds to ±1 in f64");
        let stable = log_one_minus_tanh_sq(u);
        // 1 - tanh^2 u = 4 e^{-2|u|} / (1 + e^{-2|u|})^2, and e^{-40} is below f64 resolution.
        let asymptote = 2.0 * std::f64::consts::LN_2 - 2.0 * u.abs();
        assert!(
            stable.is_finite() && close(stable, asymptote, 1e-15),
            "u = {u}: {stable}"
        );
        let stable32 = log_one_minus_tanh_sq(u as f32);
        assert!(stable32.is_finite());
        assert!(
            close(f64::from(stable32), asymptote, 1e-6),
            "f32 u = {u}: {stable32}"
        );
        assert!(log_abs_det_jacobian(u, -2.0, 5.0).is_finite());
    }
}

#[test]
fn unsquash_clamps_the_boundary_to_a_finite_value() {
    for (lo, hi) in [(-1.0f64, 1.0f64), (-2.0, 5.0)] {
        let at_high = unsquash(hi, lo, hi);
        let past_low = unsquash(lo - 1.0, lo, hi);
        assert!(at_high.is_finite() && at_high > 18.0, "{at_high}");
        assert!(past_low.is_finite() && past_low < -18.0, "{past_low}");
    }
    assert!(unsquash(1.0f32, -1.0, 1.0).is_finite());
}

#[test]
fn entropy_estimate_matches_quadrature() {
    // 1-D: H(a) = -∫ p(a) ln p(a) da by the midpoint rule, against the reparameterized estimate.
    let (m, s, lo, hi) = (0.7f64, 0.9f64, -2.0f64, 1.0f64);
    let n = 100_000;
    let h = (hi - lo) / n as f64;
    let xs = Array2::from_shape_fn((n, 1), |(i, _)| lo + (i as f64 + 0.5) * h);
    let g = DiagGaussian::new(Array2::from_elem((n, 1), m), Array2::from_elem((n, 1), s)).unwrap();
    let wide = TanhGaussian::with_bounds(g, array![lo], array![hi]).unwrap();
    let lp = wide.log_prob(xs.view()).unwrap();
    let exact: f64 = -lp.iter().map(|l| l.exp() * l).sum::<f64>() * h;
    let t = bounded(&array![[m]], &array![[s]], &array![lo], &array![hi]);
    let est = t
        .entropy_estimate_sampled(40_000, &mut StdRng::seed_from_u64(11))
        .unwrap();
    let (mean, se) = (est.entropy.mean[0], est.entropy.std_error[0]);
    assert!(
        (mean - exact).abs() < MC_SIGMAS * se,
        "{mean} ± {se} vs quadrature {exact}"
    );
}

#[test]
fn kl_refuses_different_boxes() {
    let g = DiagGaussian::<f64>::standard_normal(1, 2);
    let a = TanhGaussian::with_bounds(g.clone(), array![-1.0, -2.0], array![1.0, 2.0]).unwrap();
    let b = TanhGaussian::new(g.clone());
    assert!(a.kl(&b).is_err());
    // The box [-1, 1] is the unbounded squash.
    let c = TanhGaussian::with_bounds(g.clone(), array![-1.0, -1.0], array![1.0, 1.0]).unwrap();
    assert_eq!(c.kl(&b).unwrap(), g.kl(&g).unwrap());
}

proptest! {
    #![proptest_config(config())]

    /// `ln p(a)` equals `ln N(u) - sum ln |da/du|` with the Jacobian by finite differences of
    /// the squash, through both entry points.
    #[test]
    fn bounded_log_prob_is_numerical_change_of_variables(
        m in array2(2, 3, -1.5..1.5),
        s in array2(2, 3, 0.2..1.5),
        u in array2(2, 3, -3.0..3.0),
        (lo, hi) in boxes(3),
    ) {
        let t = bounded(&m, &s, &lo, &hi);
        let g = t.base().clone();
        let a = t.squash(u.view()).unwrap();
        let fd_log_jac = Array2::from_shape_fn((2, 3), |(b, d)| {
            fd(|x| squash(x, lo[d], hi[d]), u[(b, d)]).ln()
        });
        let numeric = g.log_prob(u.view()).unwrap() - fd_log_jac.sum_axis(Axis(1));
        let via_u = t.log_prob_pre_tanh(u.view()).unwrap();
        let via_a = t.log_prob(a.view()).unwrap();
        for b in 0..2 {
            prop_assert!(close(via_u[b], numeric[b], CHANGE_OF_VARIABLES_TOL), "{} vs {}", via_u[b], numeric[b]);
            prop_assert!(close(via_a[b], via_u[b], ROUND_TRIP_TOL), "{} vs {}", via_a[b], via_u[b]);
        }
    }

    /// `unsquash(squash(u)) = u`, `squash(unsquash(a)) = a`, and every derivative the module
    /// provides matches a central finite difference.
    #[test]
    fn squash_kernels_are_inverse_with_correct_derivatives(
        u in -8.0f64..8.0,
        frac in 0.001f64..0.999,
        lo in -3.0f64..0.0,
        width in 0.5f64..4.0,
    ) {
        let hi = lo + width;
        prop_assert!(close(unsquash(squash(u, lo, hi), lo, hi), u, ROUND_TRIP_TOL));
        let a = lo + frac * width;
        prop_assert!(close(squash(unsquash(a, lo, hi), lo, hi), a, 1e-12));
        let u_small = u / 4.0; // keep the finite difference of tanh well conditioned
        prop_assert!(close(squash_derivative(u_small, lo, hi), fd(|x| squash(x, lo, hi), u_small), FD_TOL));
        prop_assert!(close(unsquash_derivative(a, lo, hi), fd(|x| unsquash(x, lo, hi), a), FD_TOL));
        prop_assert!(close(
            log_abs_det_jacobian_derivative(u_small),
            fd(|x| log_abs_det_jacobian(x, lo, hi), u_small),
            FD_TOL,
        ));
        prop_assert!(close(
            log_one_minus_tanh_sq_derivative(u_small),
            fd(log_one_minus_tanh_sq, u_small),
            FD_TOL,
        ));
        prop_assert!(close(
            log_abs_det_jacobian(u, lo, hi),
            squash_derivative(u, lo, hi).ln(),
            1e-9,
        ));
    }

    /// Where `tanh` has not saturated the stable form agrees with the naive one.
    #[test]
    fn stable_log_one_minus_tanh_sq_matches_naive(u in -5.0f64..5.0) {
        let naive = (1.0 - u.tanh() * u.tanh()).ln();
        prop_assert!(close(log_one_minus_tanh_sq(u), naive, 1e-9));
    }

    /// The reparameterized entropy estimate's gradient equals finite differences of the
    /// estimate itself (same noise), with respect to the mean and the standard deviation.
    #[test]
    fn entropy_estimate_gradient_matches_finite_differences(
        m in array2(2, 3, -1.5..1.5),
        s in array2(2, 3, 0.2..1.5),
        (lo, hi) in boxes(3),
        seed in 0u64..1000,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let noise = Array3::from_shape_fn((8, 2, 3), |_| rand_distr::Distribution::<f64>::sample(&rand_distr::StandardNormal, &mut rng));
        let h = |m: &Array2<f64>, s: &Array2<f64>| {
            bounded(m, s, &lo, &hi).entropy_estimate(noise.view()).unwrap().entropy.mean.sum()
        };
        let est = bounded(&m, &s, &lo, &hi).entropy_estimate(noise.view()).unwrap();
        assert_grad_close("d H / d mean", &est.d_mean, &fd_grad(&m, |v| h(v, &s)));
        assert_grad_close("d H / d std", &est.d_std, &fd_grad(&s, |v| h(&m, v)));
        assert_grad_close("d H / d log std", &est.d_log_std, &(&est.d_std * &s));
    }

    /// The box `[-1, 1]` is bit-for-bit the unbounded squash.
    #[test]
    fn unit_box_equals_unbounded(
        m in array2(2, 3, -1.5..1.5),
        s in array2(2, 3, 0.2..1.5),
        u in array2(2, 3, -4.0..4.0),
        seed in 0u64..1000,
    ) {
        let ones = Array1::<f64>::ones(3);
        let boxed = bounded(&m, &s, &ones.mapv(|v| -v), &ones);
        let plain = TanhGaussian::new(boxed.base().clone());
        let a = u.mapv(f64::tanh);
        prop_assert_eq!(boxed.log_prob_pre_tanh(u.view()).unwrap(), plain.log_prob_pre_tanh(u.view()).unwrap());
        prop_assert_eq!(boxed.log_prob(a.view()).unwrap(), plain.log_prob(a.view()).unwrap());
        prop_assert_eq!(boxed.squash(u.view()).unwrap(), a.clone());
        prop_assert_eq!(boxed.unsquash(a.view()).unwrap(), plain.unsquash(a.view()).unwrap());
        prop_assert_eq!(boxed.deterministic_action(), m.mapv(f64::tanh));
        let sb = boxed.sample(&mut StdRng::seed_from_u64(seed));
        let sp = plain.sample(&mut StdRng::seed_from_u64(seed));
        prop_assert_eq!(&sb, &sp);
        prop_assert_eq!(sp.action, sp.pre_tanh.mapv(f64::tanh));
        let eb = boxed.entropy_estimate_sampled(4, &mut StdRng::seed_from_u64(seed)).unwrap();
        let ep = plain.entropy_estimate_sampled(4, &mut StdRng::seed_from_u64(seed)).unwrap();
        prop_assert_eq!(eb, ep);
    }

    /// KL is invariant under the shared squash: the squashed log-ratio equals the pre-squash
    /// one at every sample (the Jacobians cancel), and the Monte-Carlo KL of the squashed pair
    /// agrees with the pre-squash Gaussians' analytic KL.
    #[test]
    fn kl_is_invariant_under_a_shared_squash(
        mp in array2(1, 2, -1.0..1.0),
        sp in array2(1, 2, 0.3..1.2),
        mq in array2(1, 2, -1.0..1.0),
        sq in array2(1, 2, 0.6..1.2),
        (lo, hi) in boxes(2),
        seed in 0u64..1000,
    ) {
        let (p, q) = (bounded(&mp, &sp, &lo, &hi), bounded(&mq, &sq, &lo, &hi));
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..8 {
            let x = p.sample(&mut rng);
            let squashed = p.log_prob_pre_tanh(x.pre_tanh.view()).unwrap()
                - q.log_prob_pre_tanh(x.pre_tanh.view()).unwrap();
            let gauss = p.base().log_prob(x.pre_tanh.view()).unwrap()
                - q.base().log_prob(x.pre_tanh.view()).unwrap();
            prop_assert!(close(squashed[0], gauss[0], 1e-9));
        }
        let exact = p.kl(&q).unwrap()[0];
        prop_assert_eq!(exact, p.base().kl(q.base()).unwrap()[0]);
        let mc = monte_carlo_kl(&p, &q, 4_000, KlEstimator::LogRatio, &mut rng).unwrap();
        prop_assert!((mc.mean[0] - exact).abs() < MC_SIGMAS * mc.std_error[0] + 1e-9,
            "MC {} ± {} vs analytic {}", mc.mean[0], mc.std_error[0], exact);
    }
}
