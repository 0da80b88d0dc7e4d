//! Unchecked element-wise kernels of the bounded tanh squash `a = low + (high - low)(tanh u + 1)/2`.
//!
//! The convention is rlax's `squashed_gaussian` (`rlax/_src/distributions.py`, its `transform`,
//! `inv_transform` and `log_det_jacobian`): a pre-squash value `u in R` maps to an action in the
//! open box `(low, high)`. It is evaluated here in the algebraically equal centred form
//! `a = m + h tanh(u)` with `m = (low + high)/2` and `h = (high - low)/2`, so that the box
//! `[-1, 1]` (`m = 0`, `h = 1`) gives exactly `tanh(u)` with no rounding.
//!
//! Every function is one element; a row's log-Jacobian is the sum over its dimensions. The
//! caller guarantees finite arguments and `low < high` (as [`crate::kernels`]);
//! [`crate::TanhGaussian::with_bounds`] validates once and then calls these, and a learner can
//! call them row by row on values it has already checked.

use crate::real::{Real, softplus};

/// `ln(1 - tanh(u)^2)`, stable for every finite `u`.
///
/// # Formula
/// `1 - tanh(u)^2 = 4 e^{-2u} / (1 + e^{-2u})^2`, hence
/// `ln(1 - tanh(u)^2) = 2 (ln 2 - u - softplus(-2u))` (the form rlax's `log_det_jacobian` uses).
///
/// # Notes
/// The naive `(1 - tanh(u)^2).ln()` is accurate for small `|u|` but loses all digits once
/// `tanh(u)` rounds to `±1` (`|u| > 19` in `f64`, `|u| > 9` in `f32`), where it returns `-inf`;
/// this form stays finite (about `-2|u| + 2 ln 2`).
#[inline]
pub fn log_one_minus_tanh_sq<F: Real>(u: F) -> F {
    F::c(2.0) * (F::c(std::f64::consts::LN_2) - u - softplus(F::c(-2.0) * u))
}

/// `d/du ln(1 - tanh(u)^2) = -2 tanh(u)`.
#[inline]
pub fn log_one_minus_tanh_sq_derivative<F: Real>(u: F) -> F {
    F::c(-2.0) * u.tanh()
}

/// The centre `m = (low + high)/2` and half-width `h = (high - low)/2` of a box dimension.
#[inline]
fn centre_half<F: Real>(low: F, high: F) -> (F, F) {
    let half = F::c(0.5);
    (half * (low + high), half * (high - low))
}

/// The bounded squash of one element: `a = low + (high - low)(tanh(u) + 1)/2`.
///
/// # Formula
/// Evaluated as `m + h tanh(u)` with `m = (low + high)/2`, `h = (high - low)/2` (exactly
/// `tanh(u)` for the box `[-1, 1]`). Source: rlax `squashed_gaussian`'s `transform`.
#[inline]
pub fn squash<F: Real>(u: F, low: F, high: F) -> F {
    let (m, h) = centre_half(low, high);
    m + h * u.tanh()
}

/// `da/du = (high - low)/2 (1 - tanh(u)^2)`, the derivative of [`squash`].
#[inline]
pub fn squash_derivative<F: Real>(u: F, low: F, high: F) -> F {
    let (_, h) = centre_half(low, high);
    h * log_one_minus_tanh_sq(u).exp()
}

/// The inverse of [`squash`]: `u = atanh(y)` with `y = (a - m)/h = 2(a - low)/(high - low) - 1`.
///
/// # Clamping
/// `y` is clamped to `[-(1 - e/2), 1 - e/2]`, `e` the machine epsilon of `F` (`1 - e/2` is the
/// largest float below one), so an action on or past the boundary (`a <= low` or `a >= high`,
/// which rounding of a squashed sample can produce in `f32` for `|u| > 9`) maps to the finite
/// `u = ±atanh(1 - e/2)` (about `±18.7` in `f64`, `±8.7` in `f32`) instead of `±inf`. Strictly
/// inside the box the clamp never acts. Callers that need to reject the boundary check the
/// support themselves, as [`crate::TanhGaussian::log_prob`] does.
///
/// # Formula
/// `atanh(y) = ln((1 + y)/(1 - y))/2`. Source: rlax `squashed_gaussian`'s `inv_transform`
/// (which does not clamp).
#[inline]
pub fn unsquash<F: Real>(a: F, low: F, high: F) -> F {
    let (m, h) = centre_half(low, high);
    let edge = F::one() - F::c(0.5) * F::epsilon();
    let y = ((a - m) / h).max(-edge).min(edge);
    F::c(0.5) * ((F::one() + y) / (F::one() - y)).ln()
}

/// `du/da = 1 / (h (1 - y^2))`, the derivative of [`unsquash`] inside the box (where the clamp
/// does not act; on the clamped boundary it is the value at the clamped `y`).
#[inline]
pub fn unsquash_derivative<F: Real>(a: F, low: F, high: F) -> F {
    let (m, h) = centre_half(low, high);
    let edge = F::one() - F::c(0.5) * F::epsilon();
    let y = ((a - m) / h).max(-edge).min(edge);
    F::one() / (h * (F::one() - y) * (F::one() + y))
}

/// `ln |da/du| = ln((high - low)/2) + ln(1 - tanh(u)^2)` for one element.
///
/// # Formula
/// The second term in the stable form of [`log_one_minus_tanh_sq`]. Source: rlax
/// `squashed_gaussian`'s `log_det_jacobian` (which sums this over dimensions).
#[inline]
pub fn log_abs_det_jacobian<F: Real>(u: F, low: F, high: F) -> F {
    let (_, h) = centre_half(low, high);
    h.ln() + log_one_minus_tanh_sq(u)
}

/// `d/du ln |da/du| = -2 tanh(u)` (the box only shifts the log-Jacobian by a constant).
#[inline]
pub fn log_abs_det_jacobian_derivative<F: Real>(u: F) -> F {
    log_one_minus_tanh_sq_derivative(u)
}
