//! The tanh-squashed diagonal Gaussian: bounded actions in `(-1, 1)^D`.

use crate::check;
use crate::diag_gaussian::DiagGaussian;
use crate::error::{DistError, Result};
use crate::monte_carlo::BatchDistribution;
use crate::real::{Real, softplus};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A batch of tanh-squashed Gaussians: `a = tanh(u)`, `u ~ N(mu, diag(sigma^2))`.
///
/// # Density function
/// By the change of variables `a = tanh(u)`:
/// `ln p(a) = ln N(u; mu, sigma^2) - sum_d ln(1 - tanh(u_d)^2)`, with
/// `ln(1 - tanh(u)^2) = 2 (ln 2 - u - softplus(-2u))` evaluated in that stable form.
///
/// # Notes
/// In `f32`, `tanh(u)` rounds to exactly `±1` for `|u| > 9`, where `atanh` is infinite. Scoring
/// the pre-squash value `u` ([`TanhGaussian::log_prob_pre_tanh`]) avoids that; samples carry
/// `u`, and the Monte-Carlo KL uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct TanhGaussian<F: Real> {
    base: DiagGaussian<F>,
}

/// A tanh-Gaussian sample: the pre-squash value, the action and the noise.
#[derive(Debug, Clone, PartialEq)]
pub struct TanhSample<F: Real> {
    /// `u = mu + sigma * eps`, `[B, D]`.
    pub pre_tanh: Array2<F>,
    /// `a = tanh(u)`, `[B, D]`.
    pub action: Array2<F>,
    /// `eps`, `[B, D]`.
    pub noise: Array2<F>,
}

/// `ln(1 - tanh(u)^2)`, stable for all `u`.
fn log_one_minus_tanh_sq<F: Real>(u: F) -> F {
    F::c(2.0) * (F::c(std::f64::consts::LN_2) - u - softplus(F::c(-2.0) * u))
}

impl<F: Real> TanhGaussian<F> {
    /// Squashes a diagonal Gaussian.
    pub fn new(base: DiagGaussian<F>) -> Self {
        Self { base }
    }

    /// The Gaussian before squashing.
    pub fn base(&self) -> &DiagGaussian<F> {
        &self.base
    }

    /// Number of rows `B`.
    pub fn batch_size(&self) -> usize {
        self.base.batch_size()
    }

    /// Per-row log-density of the action `tanh(u)`, given the pre-squash `[B, D]` values `u`.
    ///
    /// # Formula
    /// `ln N(u; mu, sigma^2) - sum_d ln(1 - tanh(u_d)^2)`.
    ///
    /// # Errors
    /// Shape mismatch or non-finite `u`.
    pub fn log_prob_pre_tanh(&self, u: ArrayView2<'_, F>) -> Result<Array1<F>> {
        let base = self.base.log_prob(u)?;
        let jac = u.map_axis(Axis(1), |r| {
            r.fold(F::zero(), |a, &v| a + log_one_minus_tanh_sq(v))
        });
        Ok(base - jac)
    }

    /// Per-row log-density of `[B, D]` actions in `(-1, 1)`.
    ///
    /// # Formula
    /// `u = atanh(a)`, then as [`TanhGaussian::log_prob_pre_tanh`].
    ///
    /// # Errors
    /// Shape mismatch, non-finite `a`, or [`DistError::OutOfSupport`] for `|a| >= 1`.
    pub fn log_prob(&self, a: ArrayView2<'_, F>) -> Result<Array1<F>> {
        check::finite("a", &a)?;
        if let Some(index) = a.iter().position(|v| v.abs() >= F::one()) {
            return Err(DistError::OutOfSupport {
                what: "a",
                index,
                value: a.iter().nth(index).map_or(f64::NAN, |v| v.as_f64()),
                support: "(-1, 1)",
            });
        }
        let u = a.mapv(|v| F::c(0.5) * ((F::one() + v) / (F::one() - v)).ln());
        self.log_prob_pre_tanh(u.view())
    }

    /// Draws one reparameterized sample per row.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TanhSample<F> {
        let r = self.base.rsample(rng);
        TanhSample {
            action: r.sample.mapv(F::tanh),
            pre_tanh: r.sample,
            noise: r.noise,
        }
    }
}

impl<F: Real> BatchDistribution<F> for TanhGaussian<F> {
    type Sample = TanhSample<F>;
    fn batch_size(&self) -> usize {
        TanhGaussian::batch_size(self)
    }
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Sample {
        self.sample(rng)
    }
    fn log_prob_of(&self, sample: &Self::Sample) -> Result<Array1<F>> {
        self.log_prob_pre_tanh(sample.pre_tanh.view())
    }
}
