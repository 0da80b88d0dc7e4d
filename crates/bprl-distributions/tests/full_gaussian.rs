//! Full-covariance Gaussian (feature `lapack`): log-prob and entropy vs statrs'
//! MultivariateNormal, KL vs the diagonal closed form and Monte Carlo, MPO's decoupled split.

use crate::common::config;
use bprl_distributions::prec::{F64_TOL, MC_SIGMAS};
use bprl_distributions::{DiagGaussian, DistError, FullGaussian};
use nalgebra::DVector;
use ndarray::{Array1, Array2, Axis, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use statrs::distribution::{Continuous, MultivariateNormal};

/// A random SPD covariance `A A^T + 0.5 I`, and a mean.
fn gaussian(d: usize) -> impl Strategy<Value = (Array1<f64>, Array2<f64>)> {
    (
        proptest::collection::vec(-2.0f64..2.0, d),
        proptest::collection::vec(-1.0f64..1.0, d * d),
    )
        .prop_map(move |(m, a)| {
            let a = Array2::from_shape_vec((d, d), a).unwrap();
            let cov = a.dot(&a.t()) + Array2::<f64>::eye(d) * 0.5;
            (Array1::from(m), cov)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn log_prob_and_entropy_match_statrs((m, c) in gaussian(3), x in proptest::collection::vec(-3.0f64..3.0, 3)) {
        let g = FullGaussian::new(m.clone(), c.clone()).unwrap();
        let s = MultivariateNormal::new(m.to_vec(), c.iter().copied().collect()).unwrap();
        let lp = g.log_prob(Array2::from_shape_vec((1, 3), x.clone()).unwrap().view()).unwrap()[0];
        let lp_ref = s.ln_pdf(&DVector::from_vec(x));
        prop_assert!((lp - lp_ref).abs() <= 1e-9 * (1.0 + lp_ref.abs()));
        prop_assert!((g.entropy() - s.entropy().unwrap()).abs() <= 1e-9);
    }

    #[test]
    fn kl_properties_and_decoupled_split((mp, cp) in gaussian(3), (mq, cq) in gaussian(3)) {
        let p = FullGaussian::new(mp.clone(), cp.clone()).unwrap();
        let q = FullGaussian::new(mq.clone(), cq.clone()).unwrap();
        let kl = p.kl(&q).unwrap();
        prop_assert!(kl >= -F64_TOL);
        prop_assert!(p.kl(&p).unwrap().abs() <= 1e-9);
        let split = p.kl_decoupled(&q).unwrap();
        // Each part is an exact KL with the other half held at p's value.
        let mean_only = FullGaussian::new(mq.clone(), cp.clone()).unwrap();
        let cov_only = FullGaussian::new(mp.clone(), cq.clone()).unwrap();
        prop_assert!((split.mean - p.kl(&mean_only).unwrap()).abs() <= 1e-9 * (1.0 + split.mean));
        prop_assert!((split.covariance - p.kl(&cov_only).unwrap()).abs() <= 1e-9 * (1.0 + split.covariance));
        // With equal covariances the mean part is the whole KL.
        prop_assert!((p.kl(&mean_only).unwrap() - split.mean).abs() <= 1e-9 * (1.0 + kl));
    }
}

#[test]
fn diagonal_case_matches_diag_gaussian() {
    let p = FullGaussian::new(array![0.5, -1.0], Array2::from_diag(&array![0.25, 4.0])).unwrap();
    let q = FullGaussian::new(array![0.0, 1.0], Array2::from_diag(&array![1.0, 2.25])).unwrap();
    let dp = DiagGaussian::new(array![[0.5, -1.0]], array![[0.5, 2.0]]).unwrap();
    let dq = DiagGaussian::new(array![[0.0, 1.0]], array![[1.0, 1.5]]).unwrap();
    assert!((p.kl(&q).unwrap() - dp.kl(&dq).unwrap()[0]).abs() < F64_TOL);
    assert!((p.entropy() - dp.entropy()[0]).abs() < F64_TOL);
}

#[test]
fn kl_matches_monte_carlo_and_samples_have_the_covariance() {
    let cp = array![[1.0, 0.6], [0.6, 2.0]];
    let p = FullGaussian::new(array![0.3, -0.2], cp.clone()).unwrap();
    let q = FullGaussian::new(array![-0.5, 0.4], array![[1.5, -0.3], [-0.3, 1.0]]).unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    let n = 50_000;
    let x = p.sample(n, &mut rng);
    let k = p.log_prob(x.view()).unwrap() - q.log_prob(x.view()).unwrap();
    let mean = k.mean().unwrap();
    let se = k.std(1.0) / (n as f64).sqrt();
    assert!((mean - p.kl(&q).unwrap()).abs() < MC_SIGMAS * se);
    let centered = &x - &x.mean_axis(Axis(0)).unwrap();
    let cov = centered.t().dot(&centered) / (n as f64 - 1.0);
    for (a, b) in cov.iter().zip(cp.iter()) {
        assert!((a - b).abs() < 0.05, "sample covariance {cov} vs {cp}");
    }
}

#[test]
fn non_spd_covariance_is_a_typed_error() {
    let e = FullGaussian::new(array![0.0, 0.0], array![[1.0, 2.0], [2.0, 1.0]]).unwrap_err();
    assert!(matches!(
        e,
        DistError::NotPositiveDefinite { what: "cov", .. }
    ));
    let e = FullGaussian::new(array![0.0, 0.0], array![[1.0, 0.5], [0.0, 1.0]]).unwrap_err();
    assert!(matches!(e, DistError::NotPositiveDefinite { .. }));
    let e = FullGaussian::new(array![0.0], array![[1.0, 0.0], [0.0, 1.0]]).unwrap_err();
    assert!(matches!(e, DistError::ShapeMismatch { .. }));
}
