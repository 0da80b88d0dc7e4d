//! The matrix product against an f64 product, on every path this processor has.

use crate::common::{config, max_abs_diff, rng, uniform, uniform32};
use bprl_compute::gemm::{
    continues_chain, gemm, gemm_continue, gemm_continue_on, gemm_on, uses_gemm_crate,
};
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
        let mut rng = rng(seed);
        let a = uniform32(m, k, &mut rng);
        let b = uniform32(k, n, &mut rng);
        let cut = cut % m;
        for kernel in [Isa::Avx2, Isa::Avx512].into_iter().filter_map(Kernel::new) {
            let mut whole = Array2::zeros((m, n));
            gemm_on(kernel, &a.view(), &b.view(), &mut whole.view_mut(), false);
            let mut part = Array2::zeros((m - cut, n));
            gemm_on(kernel, &a.slice(s![cut.., ..]), &b.view(), &mut part.view_mut(), false);
            prop_assert!(same_bits(&part.view(), &whole.slice(s![cut.., ..])), "{}", kernel);
        }
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// The `avx512` path gives exactly the `avx2` path's bits, on its own micro-kernel and on
    /// the `gemm` crate (the large products, `uses_gemm_crate`), for plain, transposed and
    /// sliced operands, with and without accumulation, and depths on both sides of
    /// `LARGE_K` (the claim of docs/architecture.md that the two paths are interchangeable).
    #[test]
    fn avx512_gives_the_avx2_bits(
        seed in 0u64..1000, m in 1usize..300, k in 1usize..600, n in 1usize..330,
        ta in any::<bool>(), tb in any::<bool>(), acc in any::<bool>(), large in any::<bool>(),
    ) {
        let (Some(avx2), Some(avx512)) = (Kernel::new(Isa::Avx2), Kernel::new(Isa::Avx512)) else {
            return Ok(());
        };
        // Half the cases in the `gemm` crate's range.
        let (m, k, n) = if large { (128 + m, 100 + k % 413, 64 + n) } else { (m, k, n) };
        if large { prop_assert!(uses_gemm_crate(m, k, n)); }
        let mut rng = rng(seed);
        let a_store = if ta { uniform32(k, m, &mut rng) } else { uniform32(m, k + 3, &mut rng) };
        let b_store = if tb { uniform32(n, k, &mut rng) } else { uniform32(k, n + 2, &mut rng) };
        let a = if ta { a_store.t() } else { a_store.slice(s![.., 1..k + 1]) };
        let b = if tb { b_store.t() } else { b_store.slice(s![.., 2..n + 2]) };
        let c_init = uniform32(m, n + 5, &mut rng);
        let mut results = Vec::new();
        for kernel in [avx2, avx512] {
            let mut c_store = c_init.clone();
            gemm_on(kernel, &a, &b, &mut c_store.slice_mut(s![.., ..n]), acc);
            results.push(c_store);
        }
        prop_assert!(
            same_bits(&results[0].view(), &results[1].view()),
            "{}x{}x{} (gemm crate: {})", m, k, n, uses_gemm_crate(m, k, n)
        );
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// `gemm_continue` is `C + A B` (against an f64 product) on every path, for plain and
    /// transposed operands.
    #[test]
    fn gemm_continue_adds_the_product(
        seed in 0u64..1000, m in 1usize..300, k in 1usize..40, n in 1usize..90, ta in any::<bool>(),
        tb in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let a_store = if ta { uniform32(k, m, &mut rng) } else { uniform32(m, k, &mut rng) };
        let a = if ta { a_store.t() } else { a_store.view() };
        // A transposed B has no contiguous rows: the unblocked loop.
        let b_store = if tb { uniform32(n, k, &mut rng) } else { uniform32(k, n, &mut rng) };
        let b = if tb { b_store.t().to_owned() } else { b_store.clone() };
        let b_view = if tb { b_store.t() } else { b_store.view() };
        let c_init = uniform32(m, n, &mut rng);
        let expect = a.mapv(f64::from).dot(&b.mapv(f64::from)) + c_init.mapv(f64::from);
        for kernel in Kernel::available() {
            let mut c = c_init.clone();
            gemm_continue_on(kernel, &a, &b_view, &mut c.view_mut());
            let err = max_abs_diff(&c.mapv(f64::from), &expect);
            prop_assert!(err < 1e-6 * k as f64 + 1e-6, "{}: error {}", kernel, err);
        }
    }

    /// Where `continues_chain` holds, `gemm(X, W_x)` then `gemm_continue(A, B)` has exactly
    /// the bits of `gemm([X, A], [W_x; B])`, also where the whole product goes to the `gemm`
    /// crate (a depth of 100 to 512 with large sides): the claim that lets a first layer share
    /// the product of a common input prefix without changing any number.
    #[test]
    fn gemm_continue_extends_the_sum_bit_for_bit(
        seed in 0u64..1000, m in 1usize..300, p in 1usize..80, e in 1usize..20, n in 1usize..260,
        large in any::<bool>(),
    ) {
        let (m, p, n) = if large { (128 + m, 100 + p, 64 + n) } else { (m, p, n) };
        let mut rng = rng(seed);
        let x = uniform32(m, p + e, &mut rng);
        let w = uniform32(p + e, n, &mut rng);
        for kernel in Kernel::available() {
            let mut whole = Array2::zeros((m, n));
            gemm_on(kernel, &x.view(), &w.view(), &mut whole.view_mut(), false);
            let mut split = Array2::zeros((m, n));
            gemm_on(kernel, &x.slice(s![.., ..p]), &w.slice(s![..p, ..]), &mut split.view_mut(), false);
            gemm_continue_on(kernel, &x.slice(s![.., p..]), &w.slice(s![p.., ..]), &mut split.view_mut());
            if continues_chain::<f32>(kernel) {
                prop_assert!(same_bits(&whole.view(), &split.view()), "{}: {}x({}+{})x{}", kernel, m, p, e, n);
            } else {
                let err = max_abs_diff(&whole.mapv(f64::from), &split.mapv(f64::from));
                prop_assert!(err < 1e-5, "{}: error {}", kernel, err);
            }
        }
    }
}

/// The low level's first layer at the benchmark sizes (a 256-row tile, 55 observation floats,
/// an 8-float latent, 200 units): split and whole products agree bit for bit on the paths that
/// continue the sum, and the portable path does not claim to.
#[test]
fn gemm_continue_on_the_low_level_tile() {
    let mut rng = rng(5);
    let x = uniform32(256, 63, &mut rng);
    let w = uniform32(63, 200, &mut rng);
    for kernel in Kernel::available() {
        let mut whole = Array2::zeros((256, 200));
        gemm_on(kernel, &x.view(), &w.view(), &mut whole.view_mut(), false);
        let mut split = Array2::zeros((256, 200));
        gemm_on(
            kernel,
            &x.slice(s![.., ..55]),
            &w.slice(s![..55, ..]),
            &mut split.view_mut(),
            false,
        );
        gemm_continue_on(
            kernel,
            &x.slice(s![.., 55..]),
            &w.slice(s![55.., ..]),
            &mut split.view_mut(),
        );
        if continues_chain::<f32>(kernel) {
            assert!(same_bits(&whole.view(), &split.view()), "{kernel}");
        }
    }
    assert!(!continues_chain::<f32>(Kernel::PORTABLE));
    assert!(!continues_chain::<f64>(Kernel::selected()));
    // The process-wide entry point is the selected path's.
    let (a, b) = (uniform32(7, 3, &mut rng), uniform32(3, 5, &mut rng));
    let (mut c1, mut c2) = (uniform32(7, 5, &mut rng), Array2::zeros((7, 5)));
    c2.assign(&c1);
    gemm_continue(&a.view(), &b.view(), &mut c1.view_mut());
    gemm_continue_on(Kernel::selected(), &a.view(), &b.view(), &mut c2.view_mut());
    assert!(same_bits(&c1.view(), &c2.view()));
}

/// The learner's own tile products (`bprl bench kernels`): `avx512`, with the `gemm` crate
/// where it takes them, gives the `avx2` path's bits.
#[test]
fn avx512_gives_the_avx2_bits_on_the_learner_tiles() {
    let (Some(avx2), Some(avx512)) = (Kernel::new(Isa::Avx2), Kernel::new(Isa::Avx512)) else {
        println!("skipped: this processor lacks AVX2 or AVX-512");
        return;
    };
    let mut rng = rng(11);
    // (m, k, n, A transposed, B transposed, accumulate)
    let shapes = [
        (250, 400, 300, false, false, false),
        (400, 250, 300, true, false, true),
        (250, 300, 400, false, true, false),
        (256, 200, 100, false, false, false),
        (200, 256, 100, true, false, true),
        (2000, 400, 300, false, false, false),
    ];
    for (m, k, n, ta, tb, acc) in shapes {
        assert!(uses_gemm_crate(m, k, n));
        let a_store = if ta {
            uniform32(k, m, &mut rng)
        } else {
            uniform32(m, k, &mut rng)
        };
        let b_store = if tb {
            uniform32(n, k, &mut rng)
        } else {
            uniform32(k, n, &mut rng)
        };
        let a = if ta { a_store.t() } else { a_store.view() };
        let b = if tb { b_store.t() } else { b_store.view() };
        let c_init = uniform32(m, n, &mut rng);
        let (mut c2, mut c5) = (c_init.clone(), c_init);
        gemm_on(avx2, &a, &b, &mut c2.view_mut(), acc);
        gemm_on(avx512, &a, &b, &mut c5.view_mut(), acc);
        assert!(same_bits(&c2.view(), &c5.view()), "{m}x{k}x{n}");
    }
}

fn same_bits(x: &ndarray::ArrayView2<'_, f32>, y: &ndarray::ArrayView2<'_, f32>) -> bool {
    x.shape() == y.shape() && x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits())
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

/// The policy heads' tile products (a 256-row tile of 100 or 128 units times an 8- or 2-column
/// head; the weight gradients `H^T D`, accumulated; the input gradients `D W^T`): every path
/// gives `ndarray`'s (`matrixmultiply`'s) bits, the product the heads took before they moved
/// onto `gemm`, so that move changed no number (Algorithm 1's results included).
#[test]
fn head_products_have_the_bits_of_ndarray() {
    let mut rng = rng(17);
    // (m, k, n, A transposed, B transposed, accumulate)
    let shapes = [
        (256, 100, 8, false, false, false),
        (100, 256, 8, true, false, true),
        (256, 8, 100, false, true, false),
        (256, 8, 100, false, true, true),
        (37, 100, 8, false, false, false),
        (256, 128, 2, false, false, false),
        (128, 256, 2, true, false, true),
        (256, 2, 128, false, true, true),
    ];
    for (m, k, n, ta, tb, acc) in shapes {
        let a_store = if ta {
            uniform32(k, m, &mut rng)
        } else {
            uniform32(m, k, &mut rng)
        };
        let b_store = if tb {
            uniform32(n, k, &mut rng)
        } else {
            uniform32(k, n, &mut rng)
        };
        let a = if ta { a_store.t() } else { a_store.view() };
        let b = if tb { b_store.t() } else { b_store.view() };
        let c_init = uniform32(m, n, &mut rng);
        let mut reference = c_init.clone();
        let beta = if acc { 1.0 } else { 0.0 };
        ndarray::linalg::general_mat_mul(1.0, &a, &b, beta, &mut reference);
        for kernel in Kernel::available() {
            let mut c = c_init.clone();
            gemm_on(kernel, &a, &b, &mut c.view_mut(), acc);
            assert!(
                same_bits(&c.view(), &reference.view()),
                "{kernel}: {m}x{k}x{n}"
            );
        }
    }
}
