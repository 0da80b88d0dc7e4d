//! The scalar types the crate computes in.

use ndarray::NdFloat;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

/// A floating-point scalar the distributions are generic over: `f32` on hot paths, `f64` where
/// a test needs the precision (finite-difference gradient checks).
///
/// This is [`ndarray::NdFloat`] (hence [`num_traits::Float`]) plus the two things the crate
/// needs beyond it: lossy conversion from `f64` constants and standard-normal sampling.
pub trait Real: NdFloat + serde::Serialize + for<'de> serde::Deserialize<'de> {
    /// Converts an `f64` constant (rounding to nearest for `f32`).
    fn c(x: f64) -> Self;
    /// Converts to `f64` (exact for both implementations).
    fn as_f64(self) -> f64;
    /// Draws one standard-normal variate.
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self;
    /// Draws one uniform variate in `[0, 1)`.
    fn uniform01<R: Rng + ?Sized>(rng: &mut R) -> Self;
}

impl Real for f32 {
    #[inline]
    fn c(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        StandardNormal.sample(rng)
    }
    #[inline]
    fn uniform01<R: Rng + ?Sized>(rng: &mut R) -> Self {
        rng.random::<f32>()
    }
}

impl Real for f64 {
    #[inline]
    fn c(x: f64) -> Self {
        x
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline]
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        StandardNormal.sample(rng)
    }
    #[inline]
    fn uniform01<R: Rng + ?Sized>(rng: &mut R) -> Self {
        rng.random::<f64>()
    }
}

/// `ln(2 pi)`.
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Numerically stable `ln(sum_i exp(x_i))` of a slice; `-inf` for an empty slice or all `-inf`.
///
/// # Formula
/// `logsumexp(x) = m + ln sum_i exp(x_i - m)` with `m = max_i x_i`.
pub fn logsumexp<F: Real>(x: impl IntoIterator<Item = F> + Clone) -> F {
    let m = x.clone().into_iter().fold(F::neg_infinity(), F::max);
    if m == F::neg_infinity() || !m.is_finite() {
        return m;
    }
    let s = x.into_iter().fold(F::zero(), |acc, v| acc + (v - m).exp());
    m + s.ln()
}

/// Stable `ln(1 + exp(x))`.
///
/// # Formula
/// `softplus(x) = max(x, 0) + ln(1 + exp(-|x|))`.
pub fn softplus<F: Real>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}
