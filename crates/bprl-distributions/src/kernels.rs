//! Unchecked per-element kernels of the diagonal Gaussian.
//!
//! These are the formulas, with no validation: the caller guarantees finite inputs and
//! standard deviations `> 0` (as statrs' `*_unchecked` functions). [`crate::DiagGaussian`]
//! validates once and then calls these; so will the CUDA crate's CPU reference, so that the
//! two share semantics exactly. Each function is one dimension `d` of a row; a row's value is
//! the sum over `d`.

use crate::real::{LN_2PI, Real};

/// One dimension of the diagonal-Gaussian KL, `KL(p || q)` (DESIGN.md section 3).
///
/// # Formula
/// `ln(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2`, evaluated as
/// `expm1(2 l)/2 - l + ((mp - mq)/sq)^2 / 2` with `l = ln(sp/sq)`, which never squares a
/// standard deviation on its own (safe for stds in `[1e-6, 1e6]` in `f32`) and keeps the
/// `sp ≈ sq` case free of the cancellation between `ln` and the quadratic.
#[doc(alias = "kl_divergence")]
#[inline]
pub fn kl_term_unchecked<F: Real>(mp: F, sp: F, mq: F, sq: F) -> F {
    let half = F::c(0.5);
    let l = (sp / sq).ln();
    let dm = (mp - mq) / sq;
    half * (l + l).exp_m1() - l + half * dm * dm
}

/// Gradient of [`kl_term_unchecked`] with respect to `(mp, sp, mq, sq)`.
///
/// # Formula
/// With `r = sp/sq` and `u = (mp - mq)/sq`:
/// `d/dmp = u/sq`, `d/dsp = (r^2 - 1)/sp`, `d/dmq = -u/sq`, `d/dsq = (1 - r^2 - u^2)/sq`.
#[inline]
pub fn kl_term_grad_unchecked<F: Real>(mp: F, sp: F, mq: F, sq: F) -> [F; 4] {
    let r = sp / sq;
    let u = (mp - mq) / sq;
    let r2m1 = r * r - F::one();
    [u / sq, r2m1 / sp, -u / sq, (-r2m1 - u * u) / sq]
}

/// Gradient of [`kl_term_unchecked`] with respect to `(mp, ln sp, mq, ln sq)`.
///
/// # Formula
/// `d/d ln sp = r^2 - 1`, `d/d ln sq = 1 - r^2 - u^2` (each is `s * d/ds`).
#[inline]
pub fn kl_term_grad_log_std_unchecked<F: Real>(mp: F, sp: F, mq: F, sq: F) -> [F; 4] {
    let r = sp / sq;
    let u = (mp - mq) / sq;
    let r2m1 = r * r - F::one();
    [u / sq, r2m1, -u / sq, -r2m1 - u * u]
}

/// One dimension of the Gaussian log-density `ln N(x; m, s^2)`.
///
/// # Formula
/// `-z^2/2 - ln s - ln(2 pi)/2` with `z = (x - m)/s`.
#[inline]
pub fn log_prob_term_unchecked<F: Real>(x: F, m: F, s: F) -> F {
    let z = (x - m) / s;
    F::c(-0.5) * z * z - s.ln() - F::c(0.5 * LN_2PI)
}

/// Gradient of [`log_prob_term_unchecked`] with respect to `(x, m, s)`.
///
/// # Formula
/// `d/dx = -z/s`, `d/dm = z/s`, `d/ds = (z^2 - 1)/s`.
#[inline]
pub fn log_prob_term_grad_unchecked<F: Real>(x: F, m: F, s: F) -> [F; 3] {
    let z = (x - m) / s;
    [-z / s, z / s, (z * z - F::one()) / s]
}

/// One dimension of the Gaussian differential entropy.
///
/// # Formula
/// `ln s + (1 + ln(2 pi))/2`; its derivative is `1/s` (and `1` with respect to `ln s`).
#[inline]
pub fn entropy_term_unchecked<F: Real>(s: F) -> F {
    s.ln() + F::c(0.5 * (1.0 + LN_2PI))
}
