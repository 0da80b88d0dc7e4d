//! Gaussian mixture: one component is a Gaussian, log-prob is the weighted sum of densities,
//! responsibilities normalize, samples follow the weights.

use crate::common::{array2, config};
use bprl_distributions::prec::{F64_TOL, MC_SIGMAS};
use bprl_distributions::{DiagGaussian, DiagGaussianMixture};
use ndarray::{Array2, Array3, Axis, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn log_prob_is_log_of_weighted_density_sum(
        logits in array2(2, 3, -2.0..2.0),
        means in proptest::collection::vec(-2.0f64..2.0, 2 * 3 * 2),
        stds in proptest::collection::vec(0.3f64..2.0, 2 * 3 * 2),
        x in array2(2, 2, -3.0..3.0),
    ) {
        let means = Array3::from_shape_vec((2, 3, 2), means).unwrap();
        let stds = Array3::from_shape_vec((2, 3, 2), stds).unwrap();
        let mix = DiagGaussianMixture::new(logits.clone(), means.clone(), stds.clone()).unwrap();
        let lp = mix.log_prob(x.view()).unwrap();
        for b in 0..2 {
            let z: f64 = logits.row(b).iter().map(|l| l.exp()).sum();
            let mut dens = 0.0;
            for k in 0..3 {
                let g = DiagGaussian::new(
                    means.index_axis(Axis(0), b).slice(ndarray::s![k..k + 1, ..]).to_owned(),
                    stds.index_axis(Axis(0), b).slice(ndarray::s![k..k + 1, ..]).to_owned(),
                ).unwrap();
                let xb = x.slice(ndarray::s![b..b + 1, ..]);
                dens += logits[(b, k)].exp() / z * g.log_prob(xb).unwrap()[0].exp();
            }
            prop_assert!((lp[b] - dens.ln()).abs() <= 1e-9 * (1.0 + lp[b].abs()));
        }
        let r = mix.responsibilities(x.view()).unwrap();
        for row in r.rows() {
            prop_assert!((row.sum() - 1.0).abs() <= F64_TOL);
        }
    }
}

#[test]
fn single_component_equals_gaussian() {
    let m = array![[0.3f64, -1.0]];
    let s = array![[0.7f64, 1.3]];
    let g = DiagGaussian::new(m.clone(), s.clone()).unwrap();
    let mix = DiagGaussianMixture::new(
        Array2::zeros((1, 1)),
        m.insert_axis(Axis(1)),
        s.insert_axis(Axis(1)),
    )
    .unwrap();
    let x = array![[1.0f64, 2.0]];
    let a = g.log_prob(x.view()).unwrap()[0];
    let b = mix.log_prob(x.view()).unwrap()[0];
    assert!((a - b).abs() < F64_TOL);
}

#[test]
fn samples_follow_weights() {
    // Two far-apart components with weights 0.2 / 0.8 in 1-D.
    let logits = array![[0.2f64.ln(), 0.8f64.ln()]];
    let means = Array3::from_shape_vec((1, 2, 1), vec![-10.0, 10.0]).unwrap();
    let stds = Array3::from_elem((1, 2, 1), 0.5);
    let mix = DiagGaussianMixture::new(logits, means, stds).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let n = 20_000;
    let right = (0..n)
        .filter(|_| mix.sample(&mut rng)[(0, 0)] > 0.0)
        .count();
    let se = (0.2f64 * 0.8 / n as f64).sqrt();
    assert!((right as f64 / n as f64 - 0.8).abs() < MC_SIGMAS * se);
}
