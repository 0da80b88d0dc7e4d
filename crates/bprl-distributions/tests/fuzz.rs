//! Issue 15: property fuzz of the public constructors (NaN, inf, empty, huge, tiny,
//! mismatched shapes): nothing panics, and what a constructor accepts computes without NaN
//! where the result is defined. Regression tests of the reported NaNs open the module.

use bprl_distributions::theory::{kl_discrete, soft_optimal_policy};
use bprl_distributions::{Categorical, DiagGaussian, DiagGaussianMixture, DistError, TanhGaussian};
use ndarray::{Array1, Array2, Array3, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Issue 15: `Categorical::with_temperature(.., 1e-45)` returned NaN log-probabilities; a
/// temperature whose reciprocal overflows is now a typed error, and a tiny one that does not
/// overflow gives the argmax.
#[test]
fn categorical_temperature_1e_45_is_not_nan() {
    let e = Categorical::with_temperature(array![[1.0f32, 2.0]], 1e-45).unwrap_err();
    assert!(
        matches!(
            e,
            DistError::OutOfRange {
                what: "temperature",
                ..
            }
        ),
        "{e:?}"
    );
    let c = Categorical::with_temperature(array![[1.0f32, 2.0]], 1e-37).unwrap();
    assert_eq!(c.log_probs()[(0, 1)], 0.0);
    assert_eq!(c.log_probs()[(0, 0)], -1e37);
    assert_eq!(c.probs()[(0, 0)], 0.0);
    assert_eq!(c.entropy()[0], 0.0);
    assert!(c.entropy_grad().iter().all(|g| g.is_finite()));
}

/// Issue 15: logits `[3e38, -3e38]` (a range beyond `f32::MAX`) gave a NaN entropy.
#[test]
fn categorical_logits_3e38_are_not_nan() {
    let c = Categorical::new(array![[3e38f32, -3e38]]).unwrap();
    assert_eq!(c.probs()[(0, 0)], 1.0);
    assert_eq!(c.probs()[(0, 1)], 0.0);
    assert_eq!(c.entropy()[0], 0.0);
    assert!(c.entropy_grad().iter().all(|g| g.is_finite()));
    let kl = c.kl(&c).unwrap();
    assert_eq!(kl[0], 0.0);
    let (dp, dq) = c.kl_grad(&c).unwrap();
    assert!(dp.iter().chain(dq.iter()).all(|g| g.is_finite()));
    assert!(c.log_prob_grad(&[0]).unwrap().iter().all(|g| g.is_finite()));
}

/// Issue 15: `soft_optimal_policy(alpha = 1e-310)` returned NaN; it is the argmax policy
/// with the largest action value as its value.
#[test]
fn soft_optimal_policy_alpha_1e_310_is_not_nan() {
    let s = soft_optimal_policy(
        array![1.0, 3.0, 2.0].view(),
        array![0.2, 0.3, 0.5].view(),
        1e-310,
    )
    .unwrap();
    assert_eq!(s.policy.to_vec(), vec![0.0, 1.0, 0.0]);
    assert!((s.value - 3.0).abs() < 1e-12, "{}", s.value);
    // An action outside the prior's support never wins, whatever its value.
    let s = soft_optimal_policy(array![1.0, 30.0].view(), array![1.0, 0.0].view(), 1e-310).unwrap();
    assert_eq!(s.policy.to_vec(), vec![1.0, 0.0]);
    assert_eq!(s.value, 1.0);
}

/// Floats a user might pass: ordinary, huge, tiny, subnormal, zero, negative, NaN, inf.
fn wild_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -10.0f32..10.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(3e38f32),
        1 => Just(-3e38f32),
        1 => Just(1e-45f32),
        1 => Just(0.0f32),
        1 => Just(1e-30f32),
    ]
}

fn wild_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0f64..10.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(1e308),
        1 => Just(-1e308),
        1 => Just(1e-310),
        1 => Just(0.0),
    ]
}

fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f32>> {
    proptest::collection::vec(wild_f32(), rows * cols)
        .prop_map(move |v| Array2::from_shape_vec((rows, cols), v).unwrap())
}

fn shapes() -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (0usize..4, 0usize..4, 0usize..4, 0usize..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn categorical_constructor_never_panics_and_never_nans(
        l in (0usize..4, 0usize..5).prop_flat_map(|(b, k)| matrix(b, k)),
        seed in any::<u64>(),
        tau in wild_f32(),
    ) {
        let k = l.ncols();
        if let Ok(c) = Categorical::with_temperature(l, tau) {
            prop_assert!(c.log_probs().iter().all(|v| !v.is_nan()));
            prop_assert!(c.entropy().iter().all(|v| v.is_finite()));
            prop_assert!(c.entropy_grad().iter().all(|v| !v.is_nan()));
            prop_assert!(c.kl(&c).unwrap().iter().all(|v| !v.is_nan()));
            let mut rng = StdRng::seed_from_u64(seed);
            let a = c.sample(&mut rng);
            prop_assert!(a.iter().all(|&i| i < k));
            prop_assert!(c.log_prob(&a).unwrap().iter().all(|v| !v.is_nan()));
        }
    }

    #[test]
    fn gaussian_constructors_never_panic(
        (b, d, b2, d2) in shapes(),
        values in proptest::collection::vec(wild_f32(), 64),
        seed in any::<u64>(),
    ) {
        let take = |n: usize, off: usize| -> Vec<f32> { values.iter().cycle().skip(off).take(n).copied().collect() };
        let mean = Array2::from_shape_vec((b, d), take(b * d, 0)).unwrap();
        let std = Array2::from_shape_vec((b2, d2), take(b2 * d2, 7)).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        if let Ok(g) = DiagGaussian::new(mean.clone(), std.clone()) {
            let _ = g.entropy();
            let _ = g.kl(&g);
            let _ = g.kl_grad(&DiagGaussian::standard_normal(b, d));
            let _ = g.log_prob(mean.view());
            let _ = g.log_prob(std.view());
            let s = g.rsample(&mut rng);
            let _ = g.rsample_backward(s.sample.view(), s.noise.view());
            let _ = g.rsample_backward(mean.view(), std.view());
            let t = TanhGaussian::new(g.clone());
            let _ = t.log_prob(mean.view());
            let low = Array1::from(take(d2, 3));
            let high = Array1::from(take(d2, 5));
            let _ = TanhGaussian::with_bounds(g, low, high);
        }
        let _ = DiagGaussian::from_log_std(mean, std);
    }

    #[test]
    fn mixture_constructor_never_panics(
        (b, k, d, _) in shapes(),
        values in proptest::collection::vec(wild_f32(), 64),
    ) {
        let take = |n: usize, off: usize| -> Vec<f32> { values.iter().cycle().skip(off).take(n).copied().collect() };
        let logits = Array2::from_shape_vec((b, k), take(b * k, 0)).unwrap();
        let means = Array3::from_shape_vec((b, k, d), take(b * k * d, 1)).unwrap();
        let stds = Array3::from_shape_vec((b, k, d), take(b * k * d, 2)).unwrap();
        if let Ok(m) = DiagGaussianMixture::new(logits, means, stds) {
            let x = Array2::from_shape_vec((b, d), take(b * d, 3)).unwrap();
            let _ = m.log_prob(x.view());
            let _ = m.responsibilities(x.view());
            let mut rng = StdRng::seed_from_u64(1);
            let _ = m.sample(&mut rng);
        }
    }

    #[test]
    fn theory_functions_never_panic_and_soft_optimal_never_nans(
        n in 0usize..5,
        m in 0usize..5,
        values in proptest::collection::vec(wild_f64(), 16),
        alpha in wild_f64(),
    ) {
        let take = |n: usize, off: usize| -> Array1<f64> { values.iter().cycle().skip(off).take(n).copied().collect() };
        let (q, p) = (take(n, 0), take(m, 4));
        let _ = kl_discrete(p.view(), q.view());
        // A valid prior from the first values, to reach the arithmetic.
        let raw = take(n, 8).mapv(|v| if v.is_finite() { v.abs().min(1e6) } else { 1.0 });
        let total = raw.sum();
        let prior = if total > 0.0 { raw / total } else { Array1::from_elem(n, 1.0 / n.max(1) as f64) };
        if let Ok(s) = soft_optimal_policy(q.view(), prior.view(), alpha) {
            prop_assert!(s.policy.iter().all(|v| v.is_finite()), "{:?}", s.policy);
            prop_assert!(!s.value.is_nan());
            prop_assert!((s.policy.sum() - 1.0).abs() < 1e-9);
        }
        let _ = soft_optimal_policy(q.view(), p.view(), alpha);
    }
}
