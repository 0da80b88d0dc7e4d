//! The matrix product against an f64 product.

use crate::common::{config, max_abs_diff, rng, uniform, uniform32};
use bprl_compute::gemm::gemm;
use ndarray::s;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(64))]

    /// `f32` (the micro-kernel) against an f64 product, for plain, transposed and sliced
    /// operands, partial register blocks and panels, with and without accumulation.
    #[test]
    fn gemm_f32_matches_f64_product(
        seed in 0u64..1000, m in 1usize..400, k in 1usize..50, n in 1usize..70,
        ta in any::<bool>(), tb in any::<bool>(), acc in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let a_store = if ta { uniform32(k, m, &mut rng) } else { uniform32(m, k + 3, &mut rng) };
        let b_store = if tb { uniform32(n, k, &mut rng) } else { uniform32(k, n + 2, &mut rng) };
        let a = if ta { a_store.t() } else { a_store.slice(s![.., 1..k + 1]) };
        let b = if tb { b_store.t() } else { b_store.slice(s![.., 2..n + 2]) };
        let mut c_store = uniform32(m, n + 5, &mut rng);
        let c0 = c_store.slice(s![.., ..n]).mapv(f64::from);
        let mut c = c_store.slice_mut(s![.., ..n]);
        gemm(&a, &b, &mut c, acc);
        let expect = a.mapv(f64::from).dot(&b.mapv(f64::from)) + if acc { c0 } else { c0 * 0.0 };
        let err = max_abs_diff(&c.mapv(f64::from), &expect);
        prop_assert!(err < 1e-6 * k as f64 + 1e-6, "error {}", err);
    }

    /// `f64` (ndarray's product) against the same product computed by `ndarray::dot`.
    #[test]
    fn gemm_f64_matches_product(
        seed in 0u64..1000, m in 1usize..40, k in 1usize..30, n in 1usize..40, acc in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let a = uniform(m, k, &mut rng);
        let b = uniform(n, k, &mut rng);
        let mut c = uniform(m, n, &mut rng);
        let expect = a.dot(&b.t()) + if acc { c.clone() } else { c.mapv(|_| 0.0) };
        gemm(&a.view(), &b.t(), &mut c.view_mut(), acc);
        prop_assert!(max_abs_diff(&c, &expect) < 1e-12);
    }
}
