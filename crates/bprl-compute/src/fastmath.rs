//! Branch-free `f32` exponentials for the activations: they vectorize, unlike libm's scalar
//! calls, and the learner evaluates tens of millions of them per update.
//!
//! Accuracy, against the exact values (the tests compare with `f64` libm): relative error below
//! `3e-7` for `exp` over `[-87, 88]` (at most about 2.5 ulp; the worst seen is `2.5e-7`),
//! absolute error below `3e-7` for `tanh` and `exp_m1` (the forms near 0 trade relative for
//! absolute accuracy, which is what activations need). `f64` networks (gradient checks) use the
//! exact libm functions.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two (Cody and Waite): `LN_2_HI` has trailing zero bits so `k * LN_2_HI` is
/// exact for the `k` that occur.
const LN_2_HI: f32 = 0.693_145_75;
const LN_2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting `1.5 * 2^23` rounds an `f32` in `(-2^22, 2^22)` to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// `e^x` for `f32`, as `2^k * e^r` with `k = round(x log2 e)`, `r = x - k ln 2` in
/// `[-ln2/2, ln2/2]` (Cody-Waite reduction), and `e^r` by its degree-6 Taylor polynomial
/// (Horner form).
/// Inputs are clamped to `[-87, 88]` (the normal range of `f32`).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let rounded = x * LOG2_E + ROUND;
    let k = rounded - ROUND;
    let r = (x - k * LN_2_HI) - k * LN_2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // `2^k` from the bits of `rounded`, whose low mantissa bits hold `k` (two's complement):
    // integer operations only, because a float-to-integer `as` cast saturates and so does not
    // vectorize.
    let k_bits = rounded.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(k_bits.wrapping_add(127) << 23);
    p * scale
}

/// `e^x - 1` for `f32` (absolute error below `3e-7`).
#[inline(always)]
pub fn exp_m1(x: f32) -> f32 {
    exp(x) - 1.0
}

/// `tanh x` for `f32`, as `1 - 2 / (e^{2x} + 1)` (absolute error below `3e-7`; within one
/// ulp of `+-1` for `|x| > 9`).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-9.0, 9.0);
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// `ln(1 + y)` for `y` in `[0, 1]`, as `2 atanh(s)` with `s = y / (2 + y)` in `[0, 1/3]` and
/// the odd series of `atanh` to `s^13` (truncation below `2e-8` relative): no range
/// reduction, and accurate near 0, where `ln(1 + y) = y` to first order (relative error below
/// `3e-7` over the interval).
#[inline(always)]
pub fn ln_1p_unit(y: f32) -> f32 {
    let s = y / (2.0 + y);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    2.0 * s * series
}

/// `softplus(x) = ln(1 + e^x)` for `f32`, as `max(x, 0) + ln(1 + e^{-|x|})` with [`exp`] and
/// [`ln_1p_unit`] (absolute error below `3e-7` for `x <= 0`, relative error below `3e-7` for
/// `x > 0`).
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p_unit(exp(-x.abs()))
}
