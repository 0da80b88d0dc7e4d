//! Issue 15: property fuzz of the public entry points with NaN, inf, huge, empty and
//! mismatched inputs: every call returns `Ok` or a typed error, never panics, and what is
//! accepted never yields NaN.

use bprl_retrace::{
    DiscreteSequence, Lambda, Sequence, kl_regularized_value, latent_log_rho, n_step_returns,
    retrace, retrace_discrete, retrace_latent,
};
use ndarray::{Array2, Array3};
use proptest::prelude::*;

fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -2.0f64..2.0,
        2 => 0.0f64..1.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e300),
        1 => Just(-1e300),
        1 => Just(0.0),
        1 => Just(1.0),
    ]
}

/// `[T, B]` arrays cut from one value pool, each with its own (possibly wrong) shape.
fn arrays(pool: &[f64], shapes: &[(usize, usize)]) -> Vec<Array2<f64>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, &(t, b))| {
            let v: Vec<f64> = pool
                .iter()
                .cycle()
                .skip(i * 3)
                .take(t * b)
                .copied()
                .collect();
            Array2::from_shape_vec((t, b), v).unwrap()
        })
        .collect()
}

fn no_nan(a: &Array2<f64>) -> bool {
    a.iter().all(|v| !v.is_nan())
}

fn shape_set() -> impl Strategy<Value = Vec<(usize, usize)>> {
    // Mostly equal shapes (so the arithmetic is reached), sometimes mismatched ones.
    (
        0usize..5,
        0usize..4,
        proptest::bool::weighted(0.2),
        0usize..4,
        0usize..4,
    )
        .prop_map(|(t, b, mismatch, t2, b2)| {
            let mut v = vec![(t, b); 7];
            if mismatch {
                v[(t2 + b2) % 7] = (t2, b2);
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn retrace_family_never_panics_or_nans(
        shapes in shape_set(),
        pool in proptest::collection::vec(wild(), 32),
        lambda in wild(),
        alpha in wild(),
        n in prop_oneof![Just(0usize), 1usize..6, Just(usize::MAX)],
    ) {
        let a = arrays(&pool, &shapes);
        let seq = Sequence { q_t: a[0].view(), v_tp1: a[1].view(), r_t: a[2].view(), discount_t: a[3].view() };
        if let Ok(out) = retrace(&seq, a[4].view(), Lambda::Constant(lambda)) {
            prop_assert!(no_nan(&out.targets));
        }
        let _ = retrace(&seq, a[4].view(), Lambda::PerStep(a[5].view()));
        if let Ok(out) = retrace_latent(&seq, a[4].view(), a[5].view(), a[6].view(), Lambda::Constant(lambda)) {
            prop_assert!(no_nan(&out.targets));
        }
        let _ = latent_log_rho(a[4].view(), a[5].view(), a[6].view());
        if let Ok(g) = n_step_returns(a[2].view(), a[3].view(), a[1].view(), n) {
            prop_assert!(no_nan(&g));
        }
        let q3 = a[0].clone().insert_axis(ndarray::Axis(0));
        let kl = a[5].clone();
        if let Ok(v) = kl_regularized_value(q3.view(), kl.view(), alpha) {
            prop_assert!(no_nan(&v));
        }
    }

    #[test]
    fn retrace_discrete_never_panics(
        (t, b, k) in (0usize..4, 0usize..3, 0usize..3),
        pool in proptest::collection::vec(wild(), 32),
        actions in proptest::collection::vec(prop_oneof![0usize..3, Just(usize::MAX)], 16),
        lambda in wild(),
        wrong in 0usize..3,
    ) {
        let take = |n: usize, off: usize| -> Vec<f64> { pool.iter().cycle().skip(off).take(n).copied().collect() };
        let t1 = t + 1;
        let q = Array3::from_shape_vec((t1, b, k), take(t1 * b * k, 0)).unwrap();
        let pi = Array3::from_shape_vec((t1, b, k + usize::from(wrong == 1)), take(t1 * b * (k + usize::from(wrong == 1)), 1)).unwrap();
        let a = Array2::from_shape_vec((t1, b), actions.iter().cycle().take(t1 * b).copied().collect()).unwrap();
        let mu = Array2::from_shape_vec((t1, b), take(t1 * b, 2)).unwrap();
        let r = Array2::from_shape_vec((t + usize::from(wrong == 2), b), take((t + usize::from(wrong == 2)) * b, 3)).unwrap();
        let d = Array2::from_shape_vec((t, b), take(t * b, 4)).unwrap();
        let seq = DiscreteSequence { q_t: q.view(), a_t: a.view(), pi_t: pi.view(), mu_t: mu.view(), r_t: r.view(), discount_t: d.view() };
        if let Ok(out) = retrace_discrete(&seq, lambda) {
            prop_assert!(no_nan(&out.targets));
        }
    }
}
