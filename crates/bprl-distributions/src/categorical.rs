//! The batched categorical distribution over `K` categories, parameterized by logits.

use crate::check;
use crate::error::{DistError, Result};
use crate::real::{Real, logsumexp};
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A batch of categorical distributions `Cat(softmax(l_b / tau))`, one per row `b`.
///
/// `logits` is `[B, K]`; `tau > 0` is a temperature shared by the batch (`tau -> 0` tends to the
/// argmax, `tau -> inf` to uniform). Normalized log-probabilities are computed once at
/// construction with a stable log-softmax. All gradients are with respect to the *raw* logits
/// `l` (so they include the `1/tau` factor).
///
/// # Probability mass function
/// `ln p_b(k) = l_bk/tau - logsumexp_j(l_bj/tau)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "", try_from = "CategoricalRaw<F>", into = "CategoricalRaw<F>")]
pub struct Categorical<F: Real> {
    logits: Array2<F>,
    temperature: F,
    log_probs: Array2<F>,
}

/// The serialized form; deserializing goes through the validating constructor.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct CategoricalRaw<F: Real> {
    logits: Array2<F>,
    temperature: F,
}

impl<F: Real> TryFrom<CategoricalRaw<F>> for Categorical<F> {
    type Error = crate::DistError;
    fn try_from(r: CategoricalRaw<F>) -> Result<Self> {
        Self::with_temperature(r.logits, r.temperature)
    }
}

impl<F: Real> From<Categorical<F>> for CategoricalRaw<F> {
    fn from(c: Categorical<F>) -> Self {
        Self {
            logits: c.logits,
            temperature: c.temperature,
        }
    }
}

/// `p x` for `p = exp(log_p)`, with `0 x = 0` also for an infinite `x` (the limit of
/// `p ln p` and of `p (ln p - ln q)` as `p -> 0`).
fn times_p<F: Real>(log_p: F, x: F) -> F {
    if log_p == F::neg_infinity() {
        F::zero()
    } else {
        log_p.exp() * x
    }
}

/// `p ln p` for `p = exp(log_p)`, 0 at `p = 0`.
fn plogp<F: Real>(log_p: F) -> F {
    times_p(log_p, log_p)
}

impl<F: Real> Categorical<F> {
    /// Builds a batch from `[B, K]` logits at temperature 1.
    ///
    /// # Errors
    /// [`DistError::Empty`] for `K = 0`; [`DistError::NonFinite`] for a NaN or infinite logit.
    pub fn new(logits: Array2<F>) -> Result<Self> {
        Self::with_temperature(logits, F::one())
    }

    /// Builds a batch from `[B, K]` logits at temperature `tau`.
    ///
    /// # Errors
    /// As [`Categorical::new`], and [`DistError::NonPositive`] or [`DistError::NonFinite`] for
    /// a bad `tau`; [`DistError::OutOfRange`] for a `tau` so small that `1 / tau` overflows
    /// (the gradients, which carry `1 / tau`, would be infinite).
    ///
    /// # Notes
    /// The log-softmax is taken of `(l - max_j l_j) / tau`, so logits of any finite range
    /// (`[3e38, -3e38]` in `f32`) and tiny temperatures give finite log-probabilities for
    /// the largest logit; a category whose probability underflows has log-probability `-inf`
    /// and contributes exactly 0 to the entropy, KL and their gradients.
    pub fn with_temperature(logits: Array2<F>, temperature: F) -> Result<Self> {
        if logits.ncols() == 0 {
            return Err(DistError::Empty { what: "logits" });
        }
        check::finite("logits", &logits)?;
        check::positive_scalar("temperature", temperature)?;
        if !(F::one() / temperature).is_finite() {
            return Err(DistError::OutOfRange {
                what: "temperature",
                value: temperature.as_f64(),
                range: "(0, inf) with a finite 1 / temperature",
            });
        }
        let mut log_probs = logits.clone();
        for mut row in log_probs.rows_mut() {
            let m = row.iter().copied().fold(F::neg_infinity(), F::max);
            // `l - m` may round to -inf for a range beyond F::MAX: probability 0, as it is.
            row.mapv_inplace(|l| (l - m) / temperature);
            let lse = logsumexp(row.iter().copied());
            row.mapv_inplace(|v| v - lse);
        }
        Ok(Self {
            logits,
            temperature,
            log_probs,
        })
    }

    /// Number of rows `B`.
    pub fn batch_size(&self) -> usize {
        self.logits.nrows()
    }

    /// Number of categories `K`.
    pub fn num_categories(&self) -> usize {
        self.logits.ncols()
    }

    /// The raw `[B, K]` logits.
    pub fn logits(&self) -> ArrayView2<'_, F> {
        self.logits.view()
    }

    /// The temperature `tau`.
    pub fn temperature(&self) -> F {
        self.temperature
    }

    /// Normalized `[B, K]` log-probabilities.
    pub fn log_probs(&self) -> ArrayView2<'_, F> {
        self.log_probs.view()
    }

    /// `[B, K]` probabilities.
    pub fn probs(&self) -> Array2<F> {
        self.log_probs.mapv(F::exp)
    }

    fn check_actions(&self, actions: &[usize]) -> Result<()> {
        check::shape("actions", &[self.batch_size()], &[actions.len()])?;
        let k = self.num_categories();
        match actions.iter().position(|&a| a >= k) {
            None => Ok(()),
            Some(row) => Err(DistError::CategoryOutOfRange {
                what: "actions",
                row,
                index: actions[row],
                categories: k,
            }),
        }
    }

    /// Log-probability of one category per row, shape `[B]`.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] if `actions.len() != B`; [`DistError::CategoryOutOfRange`].
    pub fn log_prob(&self, actions: &[usize]) -> Result<Array1<F>> {
        self.check_actions(actions)?;
        Ok(actions
            .iter()
            .enumerate()
            .map(|(b, &a)| self.log_probs[(b, a)])
            .collect())
    }

    /// Gradient of [`Categorical::log_prob`] with respect to the raw logits, `[B, K]`.
    ///
    /// # Formula
    /// `d ln p(k) / d l_j = (1[j = k] - p_j) / tau`.
    ///
    /// # Errors
    /// As [`Categorical::log_prob`].
    pub fn log_prob_grad(&self, actions: &[usize]) -> Result<Array2<F>> {
        self.check_actions(actions)?;
        let mut g = self.probs().mapv(|p| -p);
        for (b, &a) in actions.iter().enumerate() {
            g[(b, a)] += F::one();
        }
        Ok(g.mapv(|v| v / self.temperature))
    }

    /// Per-row entropy `H = -sum_k p_k ln p_k`, shape `[B]`.
    pub fn entropy(&self) -> Array1<F> {
        self.log_probs
            .map_axis(Axis(1), |lp| lp.fold(F::zero(), |a, &l| a - plogp(l)))
    }

    /// Gradient of the entropy with respect to the raw logits, `[B, K]`.
    ///
    /// # Formula
    /// `dH / d l_j = -p_j (ln p_j + H) / tau`.
    pub fn entropy_grad(&self) -> Array2<F> {
        let h = self.entropy();
        let mut g = self.log_probs.clone();
        Zip::from(g.rows_mut()).and(&h).for_each(|mut row, &h| {
            row.mapv_inplace(|l| -times_p(l, l + h) / self.temperature);
        });
        g
    }

    /// Per-row entropy clipped from above at a fraction of its maximum, shape `[B]`: rlax's
    /// `clipped_entropy_softmax(temperature, entropy_clip)` entropy.
    ///
    /// # Formula
    /// `min(H, c ln K)` with `H = -sum_k p_k ln p_k` ([`Categorical::entropy`]), `c` the
    /// `entropy_clip` and `K` the number of categories (rlax `rlax/_src/distributions.py`,
    /// `clipped_entropy_softmax`'s `entropy_fn`; its default `c = 1` is no clipping, since
    /// `H <= ln K`). Used as an entropy bonus, it stops rewarding entropy once the policy is
    /// within the threshold of uniform.
    ///
    /// # Errors
    /// [`DistError::NonFinite`] or [`DistError::OutOfRange`] for an `entropy_clip` that is not
    /// finite and `>= 0`.
    #[doc(alias = "clipped_entropy_softmax")]
    pub fn clipped_entropy(&self, entropy_clip: F) -> Result<Array1<F>> {
        let cap = self.entropy_cap(entropy_clip)?;
        Ok(self.entropy().mapv(|h| h.min(cap)))
    }

    /// Gradient of [`Categorical::clipped_entropy`] with respect to the raw logits, `[B, K]`.
    ///
    /// # Formula
    /// `dH/dl` ([`Categorical::entropy_grad`]) in rows where `H < c ln K`, `0` where
    /// `H > c ln K`, and `dH/dl / 2` on a tie (the convention of JAX's `jnp.minimum`, which rlax
    /// differentiates; a tie away from the uniform policy is a measure-zero event).
    ///
    /// # Errors
    /// As [`Categorical::clipped_entropy`].
    pub fn clipped_entropy_grad(&self, entropy_clip: F) -> Result<Array2<F>> {
        let cap = self.entropy_cap(entropy_clip)?;
        let h = self.entropy();
        let mut g = self.entropy_grad();
        Zip::from(g.rows_mut()).and(&h).for_each(|mut row, &h| {
            let w = if h < cap {
                F::one()
            } else if h > cap {
                F::zero()
            } else {
                F::c(0.5)
            };
            row.mapv_inplace(|v| v * w);
        });
        Ok(g)
    }

    /// The clipping threshold `c ln K`, after validating `c`.
    fn entropy_cap(&self, entropy_clip: F) -> Result<F> {
        check::finite("entropy_clip", &ndarray::arr0(entropy_clip))?;
        if entropy_clip < F::zero() {
            return Err(DistError::OutOfRange {
                what: "entropy_clip",
                value: entropy_clip.as_f64(),
                range: "[0, inf)",
            });
        }
        Ok(entropy_clip * F::c(self.num_categories() as f64).ln())
    }

    /// Draws one category per row (inverse-CDF sampling).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<usize> {
        let k = self.num_categories();
        self.log_probs
            .rows()
            .into_iter()
            .map(|lp| {
                let u = F::uniform01(rng);
                let mut acc = F::zero();
                for (j, &l) in lp.iter().enumerate() {
                    acc += l.exp();
                    if u < acc {
                        return j;
                    }
                }
                k - 1
            })
            .collect()
    }

    fn check_same_shape(&self, other: &Self) -> Result<()> {
        check::shape("other.logits", self.logits.shape(), other.logits.shape())
    }

    /// Per-row `KL(self || other) = sum_k p_k (ln p_k - ln q_k)`, shape `[B]`.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] if the batches differ in shape.
    #[doc(alias = "kl_divergence")]
    pub fn kl(&self, other: &Self) -> Result<Array1<F>> {
        self.check_same_shape(other)?;
        let mut out = Array1::zeros(self.batch_size());
        Zip::from(&mut out)
            .and(self.log_probs.rows())
            .and(other.log_probs.rows())
            .for_each(|o, lp, lq| {
                *o = Zip::from(&lp)
                    .and(&lq)
                    .fold(F::zero(), |a, &p, &q| a + times_p(p, p - q));
            });
        Ok(out)
    }

    /// Gradients of the per-row `KL(self || other)` with respect to both sides' raw logits.
    ///
    /// # Formula
    /// `d KL / d l^p_j = p_j (ln p_j - ln q_j - KL) / tau_p`, `d KL / d l^q_j = (q_j - p_j) / tau_q`.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] if the batches differ in shape.
    pub fn kl_grad(&self, other: &Self) -> Result<(Array2<F>, Array2<F>)> {
        let kl = self.kl(other)?;
        let mut dp = Array2::zeros(self.logits.raw_dim());
        let mut dq = Array2::zeros(self.logits.raw_dim());
        Zip::indexed(&mut dp)
            .and(&mut dq)
            .for_each(|(b, k), dp, dq| {
                let (lp, lq) = (self.log_probs[(b, k)], other.log_probs[(b, k)]);
                let (p, q) = (lp.exp(), lq.exp());
                *dp = times_p(lp, lp - lq - kl[b]) / self.temperature;
                *dq = (q - p) / other.temperature;
            });
        Ok((dp, dq))
    }
}
