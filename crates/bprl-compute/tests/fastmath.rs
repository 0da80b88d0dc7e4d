//! The vectorizable `f32` exponentials against f64 libm, over their whole useful range: as
//! scalar functions, and inside the row kernels (where they are vectorized) on every path.

use bprl_compute::rows::{RowsForward, rows_forward_on};
use bprl_compute::{Activation, Kernel, fastmath};

fn grid(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    (0..=n)
        .map(|i| lo + (hi - lo) * i as f32 / n as f32)
        .collect()
}

/// The documented bound of `exp`: relative error below `3e-7` (about 2.5 ulp).
const EXP_REL: f64 = 3e-7;
/// The documented bound of `tanh` and `exp_m1`: absolute error below `3e-7`.
const ABS: f64 = 3e-7;

#[test]
fn exp_has_small_relative_error() {
    for x in grid(-87.0, 88.0, 200_000) {
        let (a, b) = (f64::from(fastmath::exp(x)), f64::from(x).exp());
        assert!(((a - b) / b).abs() < EXP_REL, "exp({x}): {a} vs {b}");
    }
    assert!(fastmath::exp(-1000.0) >= 0.0 && fastmath::exp(-1000.0) < 1e-37);
    assert!(fastmath::exp(1000.0).is_finite());
}

#[test]
fn tanh_and_exp_m1_have_small_absolute_error() {
    for x in grid(-20.0, 20.0, 200_000) {
        let err = (f64::from(fastmath::tanh(x)) - f64::from(x).tanh()).abs();
        assert!(err < ABS, "tanh({x}): error {err}");
    }
    for x in grid(-30.0, 0.0, 100_000) {
        let err = (f64::from(fastmath::exp_m1(x)) - f64::from(x).exp_m1()).abs();
        assert!(err < ABS, "exp_m1({x}): error {err}");
    }
    assert_eq!(fastmath::tanh(0.0), 0.0);
    assert!((fastmath::tanh(50.0) - 1.0).abs() < 1e-7);
    assert!((fastmath::tanh(-50.0) + 1.0).abs() < 1e-7);
}

/// `ln_1p_unit` on `[0, 1]` and `softplus` over `[-90, 90]` (both sides of the point where
/// `exp` clamps): the documented bounds, relative for `ln_1p_unit` (so accurate near 0, where
/// `ln(1 + y) = y` to first order) and for positive `softplus`, absolute for negative
/// `softplus`; `softplus` positive and increasing on the grid.
#[test]
fn ln_1p_unit_and_softplus_have_small_errors() {
    for y in grid(0.0, 1.0, 200_000)
        .into_iter()
        .chain((1..40).map(|k| 2f32.powi(-k)))
    {
        let (a, b) = (f64::from(fastmath::ln_1p_unit(y)), f64::from(y).ln_1p());
        let err = if b == 0.0 {
            a.abs()
        } else {
            ((a - b) / b).abs()
        };
        assert!(err < EXP_REL, "ln_1p_unit({y}): {a} vs {b}");
    }
    let mut last = 0.0f32;
    for x in grid(-90.0, 90.0, 400_000) {
        let a = fastmath::softplus(x);
        let b = f64::from(x).max(0.0) + (-f64::from(x).abs()).exp().ln_1p();
        let err = if x > 0.0 {
            ((f64::from(a) - b) / b).abs()
        } else {
            (f64::from(a) - b).abs()
        };
        let bound = if x > 0.0 { EXP_REL } else { ABS };
        assert!(err < bound, "softplus({x}): {a} vs {b}");
        assert!(a > 0.0 && a >= last, "softplus({x}) = {a} after {last}");
        last = a;
    }
    assert_eq!(fastmath::softplus(0.0), std::f32::consts::LN_2);
}

/// Vectorized inside the row kernels (tanh, and ELU's `exp_m1`), on each path: the same bits
/// as the scalar functions, so the same error bounds.
#[test]
fn vectorized_in_the_row_kernels_on_every_path() {
    let x = grid(-20.0, 20.0, 40_959); // 40,960 values: 64 rows of 640
    for kernel in Kernel::available() {
        for (act, scalar) in [
            (Activation::Tanh, fastmath::tanh as fn(f32) -> f32),
            (Activation::Elu, |v: f32| {
                if v > 0.0 { v } else { fastmath::exp_m1(v) }
            }),
        ] {
            let mut pre = x.clone();
            let mut out = vec![0.0f32; x.len()];
            rows_forward_on(
                kernel,
                RowsForward {
                    activation: act,
                    width: 640,
                    pre: &mut pre,
                    bias: &[0.0; 640],
                    shared: None,
                    norm: None,
                    out: &mut out,
                },
            );
            for (&v, &y) in x.iter().zip(&out) {
                assert_eq!(y.to_bits(), scalar(v).to_bits(), "{kernel} {act:?}({v})");
            }
        }
    }
}
