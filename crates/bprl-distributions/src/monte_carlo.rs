//! Monte-Carlo KL estimation for any pair of batched distributions that can sample and score.
//!
//! Analytic KLs exist for Gaussian and categorical pairs; for mixtures and tanh-squashed
//! Gaussians they do not, and the paper estimates them from samples. With `x ~ p` and
//! `log_r = ln q(x) - ln p(x)`, two estimators of `KL(p || q) = E_p[-log_r]` are offered:
//!
//! - [`KlEstimator::LogRatio`]: `k1 = -log_r`, unbiased, can be negative, high variance;
//! - [`KlEstimator::NonNegative`]: `k3 = (r - 1) - log_r` with `r = exp(log_r)`, unbiased
//!   (because `E_p[r] = 1`), always `>= 0` and of lower variance when `p` and `q` are close
//!   (Schulman 2020, "Approximating KL divergence"). `log_r` is clamped to
//!   [`crate::prec::MAX_LOG_RATIO`] before `exp`.
//!
//! The variance of `k3` involves `E_p[r^2] = ∫ q^2/p`, which is infinite when `q` has heavier
//! tails than `p` allows (for Gaussians: `sigma_q^2 >= 2 sigma_p^2`); there the standard error
//! it reports is meaningless. Prefer `k1` unless `q` is known to be close to `p`.

use crate::error::{DistError, Result};
use crate::prec::MAX_LOG_RATIO;
use crate::real::Real;
use ndarray::Array1;
use rand::Rng;

/// A batch of distributions (one per row) that can draw one sample per row and score a batch of
/// samples: the small trait the Monte-Carlo estimators need.
///
/// Two distributions can be compared when they share the `Sample` type (for example a diagonal
/// Gaussian and a Gaussian mixture both sample `[B, D]` arrays).
pub trait BatchDistribution<F: Real> {
    /// One sample per row (for example `[B, D]` points, or `B` category indices).
    type Sample;
    /// Number of rows `B`.
    fn batch_size(&self) -> usize;
    /// Draws one sample per row.
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Sample;
    /// Per-row log-density (or log-mass) of a sample, shape `[B]`.
    ///
    /// # Errors
    /// A sample whose shape does not match the batch, or outside the support.
    fn log_prob_of(&self, sample: &Self::Sample) -> Result<Array1<F>>;
}

/// Which per-sample quantity is averaged (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KlEstimator {
    /// `k1 = ln p(x) - ln q(x)`: unbiased, may be negative.
    LogRatio,
    /// `k3 = (r - 1) - ln r`, `r = q(x)/p(x)`: unbiased and non-negative.
    NonNegative,
}

/// A per-row Monte-Carlo estimate with its standard error.
#[derive(Debug, Clone, PartialEq)]
pub struct McEstimate<F: Real> {
    /// Sample mean per row, shape `[B]`.
    pub mean: Array1<F>,
    /// Standard error of the mean per row (`sample std / sqrt(n)`), shape `[B]`.
    pub std_error: Array1<F>,
    /// Number of samples per row.
    pub samples: usize,
}

/// Estimates the per-row `KL(p || q)` from `n` samples of `p`.
///
/// # Formula
/// `KL(p || q) ≈ (1/n) sum_i k(x_i)`, `x_i ~ p`, with `k` chosen by `estimator`; the standard
/// error is `sqrt(var_i k(x_i) / n)` (unbiased variance). Accumulation is in `f64`.
///
/// # Errors
/// [`DistError::OutOfRange`] for `n < 2`; [`DistError::ShapeMismatch`] if the batch sizes
/// differ; whatever `log_prob_of` reports.
pub fn monte_carlo_kl<F, P, Q, R>(
    p: &P,
    q: &Q,
    n: usize,
    estimator: KlEstimator,
    rng: &mut R,
) -> Result<McEstimate<F>>
where
    F: Real,
    P: BatchDistribution<F>,
    Q: BatchDistribution<F, Sample = P::Sample>,
    R: Rng + ?Sized,
{
    if n < 2 {
        return Err(DistError::OutOfRange {
            what: "n",
            value: n as f64,
            range: "[2, inf)",
        });
    }
    let b = p.batch_size();
    if q.batch_size() != b {
        return Err(DistError::ShapeMismatch {
            what: "q batch",
            expected: vec![b],
            actual: vec![q.batch_size()],
        });
    }
    let mut sum = vec![0.0f64; b];
    let mut sum_sq = vec![0.0f64; b];
    for _ in 0..n {
        let x = p.draw(rng);
        let lp = p.log_prob_of(&x)?;
        let lq = q.log_prob_of(&x)?;
        for i in 0..b {
            let log_r = lq[i].as_f64() - lp[i].as_f64();
            let k = match estimator {
                KlEstimator::LogRatio => -log_r,
                KlEstimator::NonNegative => log_r.min(MAX_LOG_RATIO).exp_m1() - log_r,
            };
            sum[i] += k;
            sum_sq[i] += k * k;
        }
    }
    let nf = n as f64;
    let mean: Array1<F> = sum.iter().map(|s| F::c(s / nf)).collect();
    let std_error = sum
        .iter()
        .zip(&sum_sq)
        .map(|(s, s2)| {
            let m = s / nf;
            let var = ((s2 - nf * m * m) / (nf - 1.0)).max(0.0);
            F::c((var / nf).sqrt())
        })
        .collect();
    Ok(McEstimate {
        mean,
        std_error,
        samples: n,
    })
}

impl<F: Real> BatchDistribution<F> for crate::DiagGaussian<F> {
    type Sample = ndarray::Array2<F>;
    fn batch_size(&self) -> usize {
        crate::DiagGaussian::batch_size(self)
    }
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Sample {
        self.rsample(rng).sample
    }
    fn log_prob_of(&self, sample: &Self::Sample) -> Result<Array1<F>> {
        self.log_prob(sample.view())
    }
}

impl<F: Real> BatchDistribution<F> for crate::Categorical<F> {
    type Sample = Vec<usize>;
    fn batch_size(&self) -> usize {
        crate::Categorical::batch_size(self)
    }
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Sample {
        self.sample(rng)
    }
    fn log_prob_of(&self, sample: &Self::Sample) -> Result<Array1<F>> {
        self.log_prob(sample)
    }
}
