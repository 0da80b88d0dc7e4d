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
