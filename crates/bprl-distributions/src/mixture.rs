//! The batched mixture of diagonal Gaussians: the multi-modal prior of Eq. 7.

use crate::check;
use crate::error::{DistError, Result};
use crate::kernels::log_prob_term_unchecked;
use crate::monte_carlo::BatchDistribution;
use crate::real::{Real, logsumexp};
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A batch of mixtures `p_b(x) = sum_k w_bk N(x; mu_bk, diag(sigma_bk^2))`, one per row `b`.
///
/// Weights come as `[B, K]` logits (`w = softmax(logits)`), component means and standard
/// deviations as `[B, K, D]`. This is the form of the optimal shared prior of Eq. 7: when the
/// prior cannot see which task is active, the best it can do is the posterior-weighted mixture
/// of the task policies, which a single Gaussian cannot represent.
///
/// # Density function
/// `ln p(x) = logsumexp_k [ ln w_k + ln N(x; mu_k, sigma_k^2) ]`.
///
/// KL to or from a mixture has no closed form: use [`crate::monte_carlo_kl`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "", try_from = "MixtureRaw<F>")]
pub struct DiagGaussianMixture<F: Real> {
    log_weights: Array2<F>,
    means: Array3<F>,
    stds: Array3<F>,
}

/// The serialized form (`log_weights` are valid logits); deserializing validates.
#[derive(Deserialize)]
#[serde(bound = "")]
struct MixtureRaw<F: Real> {
    log_weights: Array2<F>,
    means: Array3<F>,
    stds: Array3<F>,
}

impl<F: Real> TryFrom<MixtureRaw<F>> for DiagGaussianMixture<F> {
    type Error = DistError;
    fn try_from(r: MixtureRaw<F>) -> Result<Self> {
        Self::new(r.log_weights, r.means, r.stds)
    }
}

impl<F: Real> DiagGaussianMixture<F> {
    /// Builds a batch from `[B, K]` weight logits and `[B, K, D]` means and stds.
    ///
    /// # Errors
    /// [`DistError::Empty`] for `K = 0`; shape mismatch; non-finite entries; `sigma <= 0`.
    pub fn new(logits: Array2<F>, means: Array3<F>, stds: Array3<F>) -> Result<Self> {
        if logits.ncols() == 0 {
            return Err(DistError::Empty { what: "logits" });
        }
        check::finite("logits", &logits)?;
        let (b, k) = logits.dim();
        check::shape("means", &[b, k, means.shape()[2]], means.shape())?;
        check::shape("stds", means.shape(), stds.shape())?;
        check::finite("means", &means)?;
        check::positive("stds", &stds)?;
        let mut log_weights = logits;
        for mut row in log_weights.rows_mut() {
            let lse = logsumexp(row.iter().copied());
            row.mapv_inplace(|v| v - lse);
        }
        Ok(Self {
            log_weights,
            means,
            stds,
        })
    }

    /// Number of rows `B`.
    pub fn batch_size(&self) -> usize {
        self.means.shape()[0]
    }

    /// Number of components `K`.
    pub fn num_components(&self) -> usize {
        self.means.shape()[1]
    }

    /// Number of dimensions `D`.
    pub fn dim(&self) -> usize {
        self.means.shape()[2]
    }

    /// Normalized `[B, K]` log mixture weights.
    pub fn log_weights(&self) -> ArrayView2<'_, F> {
        self.log_weights.view()
    }

    /// `[B, K, D]` component means.
    pub fn means(&self) -> ArrayView3<'_, F> {
        self.means.view()
    }

    /// `[B, K, D]` component standard deviations.
    pub fn stds(&self) -> ArrayView3<'_, F> {
        self.stds.view()
    }

    /// Per-row, per-component joint log-density `ln w_k + ln N(x; mu_k, sigma_k^2)`, `[B, K]`.
    ///
    /// # Errors
    /// `x` not `[B, D]`, or non-finite.
    pub fn component_log_probs(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check::shape("x", &[self.batch_size(), self.dim()], x.shape())?;
        check::finite("x", &x)?;
        let mut out = self.log_weights.clone();
        for ((b, k), o) in out.indexed_iter_mut() {
            let m = self.means.index_axis(Axis(0), b);
            let s = self.stds.index_axis(Axis(0), b);
            let (m, s) = (m.row(k), s.row(k));
            for d in 0..x.ncols() {
                *o += log_prob_term_unchecked(x[(b, d)], m[d], s[d]);
            }
        }
        Ok(out)
    }

    /// Per-row log-density, shape `[B]`.
    ///
    /// # Formula
    /// `logsumexp_k [ ln w_k + ln N(x; mu_k, sigma_k^2) ]`.
    ///
    /// # Errors
    /// `x` not `[B, D]`, or non-finite.
    pub fn log_prob(&self, x: ArrayView2<'_, F>) -> Result<Array1<F>> {
        let c = self.component_log_probs(x)?;
        Ok(c.map_axis(Axis(1), |r| logsumexp(r.iter().copied())))
    }

    /// Posterior responsibilities `p(k | x)`, `[B, K]`.
    ///
    /// # Errors
    /// As [`DiagGaussianMixture::log_prob`].
    pub fn responsibilities(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        let mut c = self.component_log_probs(x)?;
        for mut row in c.rows_mut() {
            let lse = logsumexp(row.iter().copied());
            row.mapv_inplace(|v| (v - lse).exp());
        }
        Ok(c)
    }

    /// Draws one `[B, D]` sample: a component per row from the weights, then a Gaussian draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array2<F> {
        let (b, kk, d) = self.means.dim();
        let mut out = Array2::zeros((b, d));
        for i in 0..b {
            let u = F::uniform01(rng);
            let mut acc = F::zero();
            let mut k = kk - 1;
            for j in 0..kk {
                acc += self.log_weights[(i, j)].exp();
                if u < acc {
                    k = j;
                    break;
                }
            }
            for j in 0..d {
                let eps = F::standard_normal(rng);
                out[(i, j)] = self.means[(i, k, j)] + self.stds[(i, k, j)] * eps;
            }
        }
        out
    }
}

impl<F: Real> BatchDistribution<F> for DiagGaussianMixture<F> {
    type Sample = Array2<F>;
    fn batch_size(&self) -> usize {
        DiagGaussianMixture::batch_size(self)
    }
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Sample {
        self.sample(rng)
    }
    fn log_prob_of(&self, sample: &Self::Sample) -> Result<Array1<F>> {
        self.log_prob(sample.view())
    }
}
