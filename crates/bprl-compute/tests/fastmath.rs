//! The vectorizable `f32` exponentials against libm, over their whole useful range.

use bprl_compute::fastmath;

fn grid(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
    (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
}

#[test]
fn exp_has_small_relative_error() {
    for x in grid(-87.0, 88.0, 200_000) {
        let (a, b) = (fastmath::exp(x), x.exp());
        assert!(((a - b) / b).abs() < 2e-7 * 2.0, "exp({x}): {a} vs {b}");
    }
    assert!(fastmath::exp(-1000.0) >= 0.0 && fastmath::exp(-1000.0) < 1e-37);
    assert!(fastmath::exp(1000.0).is_finite());
}

#[test]
fn tanh_and_exp_m1_have_small_absolute_error() {
    for x in grid(-20.0, 20.0, 200_000) {
        assert!((fastmath::tanh(x) - x.tanh()).abs() < 3e-7, "tanh({x})");
    }
    for x in grid(-30.0, 0.0, 100_000) {
        assert!(
            (fastmath::exp_m1(x) - x.exp_m1()).abs() < 3e-7,
            "exp_m1({x})"
        );
    }
    assert_eq!(fastmath::tanh(0.0), 0.0);
    assert!((fastmath::tanh(50.0) - 1.0).abs() < 1e-7);
    assert!((fastmath::tanh(-50.0) + 1.0).abs() < 1e-7);
}
