//! Monte-Carlo KL: agrees with analytic KLs within a few standard errors, the non-negative
//! estimator never goes negative, KL is invariant under the tanh bijection, and a mixture's
//! KL matches numerical integration.

use crate::common::{array2, config};
use bprl_distributions::prec::MC_SIGMAS;
use bprl_distributions::{
    Categorical, DiagGaussian, DiagGaussianMixture, KlEstimator, TanhGaussian, monte_carlo_kl,
};
use ndarray::{Array3, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const N: usize = 4_000;

fn within(mc: f64, se: f64, exact: f64) -> bool {
    (mc - exact).abs() <= MC_SIGMAS * se + 1e-9
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gaussian_log_ratio_mc_matches_analytic(
        mp in array2(2, 2, -1.0..1.0),
        sp in array2(2, 2, 0.6..1.5),
        mq in array2(2, 2, -1.0..1.0),
        sq in array2(2, 2, 0.6..1.5),
        seed in 0u64..1000,
    ) {
        let p = DiagGaussian::new(mp, sp).unwrap();
        let q = DiagGaussian::new(mq, sq).unwrap();
        let exact = p.kl(&q).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mc = monte_carlo_kl(&p, &q, N, KlEstimator::LogRatio, &mut rng).unwrap();
        for b in 0..2 {
            prop_assert!(within(mc.mean[b], mc.std_error[b], exact[b]),
                "row {b}: {} ± {} vs {}", mc.mean[b], mc.std_error[b], exact[b]);
        }
    }

    /// The non-negative estimator, where its variance is finite and moderate: `q` close to `p`
    /// (std ratio in [0.8, 1.25], so `sigma_q^2 < 2 sigma_p^2`, and means within 0.5).
    #[test]
    fn gaussian_nonnegative_mc_matches_analytic(
        mp in array2(2, 2, -1.0..1.0),
        sp in array2(2, 2, 0.6..1.5),
        shift in array2(2, 2, -0.5..0.5),
        ratio in array2(2, 2, 0.8..1.25),
        seed in 0u64..1000,
    ) {
        let p = DiagGaussian::new(mp.clone(), sp.clone()).unwrap();
        let q = DiagGaussian::new(&mp + &shift, &sp * &ratio).unwrap();
        let exact = p.kl(&q).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mc = monte_carlo_kl(&p, &q, N, KlEstimator::NonNegative, &mut rng).unwrap();
        for b in 0..2 {
            prop_assert!(mc.mean[b] >= 0.0);
            prop_assert!(within(mc.mean[b], mc.std_error[b], exact[b]),
                "row {b}: {} ± {} vs {}", mc.mean[b], mc.std_error[b], exact[b]);
        }
    }

    #[test]
    fn categorical_mc_matches_analytic(
        lp in array2(2, 4, -2.0..2.0),
        lq in array2(2, 4, -2.0..2.0),
        seed in 0u64..1000,
    ) {
        let (p, q) = (Categorical::new(lp).unwrap(), Categorical::new(lq).unwrap());
        let exact = p.kl(&q).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mc = monte_carlo_kl(&p, &q, N, KlEstimator::NonNegative, &mut rng).unwrap();
        for b in 0..2 {
            prop_assert!(within(mc.mean[b], mc.std_error[b], exact[b]));
            prop_assert!(mc.mean[b] >= 0.0);
        }
    }

    /// KL is invariant under the bijection tanh: KL(tanh p || tanh q) = KL(p || q).
    #[test]
    fn tanh_kl_equals_base_kl(
        mp in array2(1, 2, -1.0..1.0),
        sp in array2(1, 2, 0.6..1.5),
        mq in array2(1, 2, -1.0..1.0),
        sq in array2(1, 2, 0.6..1.5),
        seed in 0u64..1000,
    ) {
        let p = DiagGaussian::new(mp, sp).unwrap();
        let q = DiagGaussian::new(mq, sq).unwrap();
        let exact = p.kl(&q).unwrap()[0];
        let mut rng = StdRng::seed_from_u64(seed);
        let mc = monte_carlo_kl(
            &TanhGaussian::new(p), &TanhGaussian::new(q), N, KlEstimator::LogRatio, &mut rng,
        ).unwrap();
        prop_assert!(within(mc.mean[0], mc.std_error[0], exact));
    }
}

#[test]
fn mixture_kl_matches_quadrature() {
    // p: a bimodal 1-D mixture (the Eq. 7 prior shape); q: one Gaussian between the modes.
    let p = DiagGaussianMixture::new(
        array![[0.3f64.ln(), 0.7f64.ln()]],
        Array3::from_shape_vec((1, 2, 1), vec![-1.5, 1.0]).unwrap(),
        Array3::from_shape_vec((1, 2, 1), vec![0.5, 0.4]).unwrap(),
    )
    .unwrap();
    let q = DiagGaussian::new(array![[0.2f64]], array![[1.2]]).unwrap();
    // Midpoint rule on [-10, 10].
    let n = 40_000;
    let h = 20.0 / n as f64;
    let mut exact = 0.0;
    for i in 0..n {
        let x = array![[-10.0 + (i as f64 + 0.5) * h]];
        let lp = p.log_prob(x.view()).unwrap()[0];
        let lq = q.log_prob(x.view()).unwrap()[0];
        exact += lp.exp() * (lp - lq) * h;
    }
    let mut rng = StdRng::seed_from_u64(42);
    let mc = monte_carlo_kl(&p, &q, 20_000, KlEstimator::LogRatio, &mut rng).unwrap();
    assert!(
        within(mc.mean[0], mc.std_error[0], exact),
        "{:?} vs {exact}",
        mc
    );
    // The reverse direction differs: the Gaussian puts mass between the modes.
    let rev = monte_carlo_kl(&q, &p, 20_000, KlEstimator::LogRatio, &mut rng).unwrap();
    assert!((rev.mean[0] - mc.mean[0]).abs() > MC_SIGMAS * (rev.std_error[0] + mc.std_error[0]));
}

#[test]
fn needs_two_samples_and_matching_batches() {
    let p = DiagGaussian::<f64>::standard_normal(2, 1);
    let q = DiagGaussian::<f64>::standard_normal(3, 1);
    let mut rng = StdRng::seed_from_u64(0);
    assert!(monte_carlo_kl(&p, &p, 1, KlEstimator::LogRatio, &mut rng).is_err());
    assert!(monte_carlo_kl(&p, &q, 10, KlEstimator::LogRatio, &mut rng).is_err());
}
