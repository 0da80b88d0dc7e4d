//! The matrix product against an f64 product, on every path this processor has.

use crate::common::{config, max_abs_diff, rng, uniform, uniform32};
use bprl_compute::gemm::{gemm, gemm_on};
use bprl_compute::{Isa, Kernel};
use ndarray::{Array2, s};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(64))]

    /// `f32` against an f64 product, for plain, transposed and sliced operands, partial
    /// register blocks and panels (odd sizes), with and without accumulation, on each path
    /// (the micro-kernel on `avx2`).
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
        let c_init = uniform32(m, n + 5, &mut rng);
        let c0 = c_init.slice(s![.., ..n]).mapv(f64::from);
        let expect = a.mapv(f64::from).dot(&b.mapv(f64::from)) + if acc { c0.clone() } else { c0 * 0.0 };
        for kernel in Kernel::available() {
            let mut c_store = c_init.clone();
            let mut c = c_store.slice_mut(s![.., ..n]);
            gemm_on(kernel, &a, &b, &mut c, acc);
            let err = max_abs_diff(&c.mapv(f64::from), &expect);
            prop_assert!(err < 1e-6 * k as f64 + 1e-6, "{}: error {}", kernel, err);
        }
    }

    /// `f64` (always `ndarray`'s product) against `ndarray::dot`, on each path.
    #[test]
    fn gemm_f64_matches_product(
        seed in 0u64..1000, m in 1usize..40, k in 1usize..30, n in 1usize..40, acc in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let a = uniform(m, k, &mut rng);
        let b = uniform(n, k, &mut rng);
        let c_init = uniform(m, n, &mut rng);
        let expect = a.dot(&b.t()) + if acc { c_init.clone() } else { c_init.mapv(|_| 0.0) };
        for kernel in Kernel::available() {
            let mut c = c_init.clone();
            gemm_on(kernel, &a.view(), &b.t(), &mut c.view_mut(), acc);
            prop_assert!(max_abs_diff(&c, &expect) < 1e-12);
        }
    }

    /// On the micro-kernel, a row of `C` has the same bits whichever rows it is computed with
    /// (the claim that makes row splits of a product reproducible).
    #[test]
    fn micro_kernel_rows_do_not_depend_on_the_other_rows(
        seed in 0u64..1000, m in 2usize..200, k in 1usize..60, n in 1usize..50, cut in 0usize..200,
    ) {
        let Some(kernel) = Kernel::new(Isa::Avx2) else { return Ok(()) };
        let mut rng = rng(seed);
        let a = uniform32(m, k, &mut rng);
        let b = uniform32(k, n, &mut rng);
        let cut = cut % m;
        let mut whole = Array2::zeros((m, n));
        gemm_on(kernel, &a.view(), &b.view(), &mut whole.view_mut(), false);
        let mut part = Array2::zeros((m - cut, n));
        gemm_on(kernel, &a.slice(s![cut.., ..]), &b.view(), &mut part.view_mut(), false);
        let same = part.iter().zip(whole.slice(s![cut.., ..])).all(|(x, y)| x.to_bits() == y.to_bits());
        prop_assert!(same);
    }
}

/// `gemm` takes the process-wide path: the same bits as `gemm_on` with `Kernel::selected()`.
#[test]
fn gemm_takes_the_selected_path() {
    let mut rng = rng(3);
    let a = uniform32(37, 19, &mut rng);
    let b = uniform32(19, 23, &mut rng);
    let mut c1 = Array2::zeros((37, 23));
    let mut c2 = Array2::zeros((37, 23));
    gemm(&a.view(), &b.view(), &mut c1.view_mut(), false);
    gemm_on(
        Kernel::selected(),
        &a.view(),
        &b.view(),
        &mut c2.view_mut(),
        false,
    );
    assert!(
        c1.iter()
            .zip(&c2)
            .all(|(x, y): (&f32, &f32)| x.to_bits() == y.to_bits())
    );
}

/// Empty shapes are no-ops (or zero fills), on every path.
#[test]
fn empty_products() {
    for kernel in Kernel::available() {
        let a = Array2::<f32>::zeros((3, 0));
        let b = Array2::<f32>::zeros((0, 4));
        let mut c = Array2::<f32>::ones((3, 4));
        gemm_on(kernel, &a.view(), &b.view(), &mut c.view_mut(), true);
        assert!(c.iter().all(|&v| v == 1.0), "{kernel}");
        gemm_on(kernel, &a.view(), &b.view(), &mut c.view_mut(), false);
        assert!(c.iter().all(|&v| v == 0.0), "{kernel}");
    }
}
