//! The tanh-squashed diagonal Gaussian: bounded actions in `(-1, 1)^D`, or in a box
//! `(low, high)` per dimension (rlax's `squashed_gaussian`).

use crate::check;
use crate::diag_gaussian::DiagGaussian;
use crate::error::{DistError, Result};
use crate::monte_carlo::{BatchDistribution, McEstimate};
use crate::real::Real;
use crate::squash::{log_abs_det_jacobian, log_abs_det_jacobian_derivative, squash, unsquash};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayView3, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A validated action box `[low_d, high_d]`, one interval per action dimension.
///
/// # Invariants
/// `low` and `high` have the same length `D >= 1`, are finite, and `low_d < high_d` for every
/// `d`. The squash maps `R` onto the open interval `(low_d, high_d)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "", try_from = "ActionBoundsRaw<F>")]
pub struct ActionBounds<F: Real> {
    low: Array1<F>,
    high: Array1<F>,
}

/// The serialized form; deserializing goes through the validating constructor.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct ActionBoundsRaw<F: Real> {
    low: Array1<F>,
    high: Array1<F>,
}

impl<F: Real> TryFrom<ActionBoundsRaw<F>> for ActionBounds<F> {
    type Error = DistError;
    fn try_from(r: ActionBoundsRaw<F>) -> Result<Self> {
        Self::new(r.low, r.high)
    }
}

impl<F: Real> ActionBounds<F> {
    /// Builds a box from per-dimension lower and upper bounds.
    ///
    /// # Errors
    /// [`DistError::Empty`] for `D = 0`; [`DistError::ShapeMismatch`] (`what = "high"`) if the
    /// lengths differ; [`DistError::NonFinite`] naming `low` or `high`; [`DistError::EmptyBox`]
    /// for the first `d` with `low_d >= high_d`.
    pub fn new(low: Array1<F>, high: Array1<F>) -> Result<Self> {
        if low.is_empty() {
            return Err(DistError::Empty { what: "low" });
        }
        check::shape("high", low.shape(), high.shape())?;
        check::finite("low", &low)?;
        check::finite("high", &high)?;
        if let Some(index) = (0..low.len()).find(|&i| low[i] >= high[i]) {
            return Err(DistError::EmptyBox {
                what: "bounds",
                index,
                low: low[index].as_f64(),
                high: high[index].as_f64(),
            });
        }
        Ok(Self { low, high })
    }

    /// The lower bounds, `[D]`.
    pub fn low(&self) -> ArrayView1<'_, F> {
        self.low.view()
    }

    /// The upper bounds, `[D]`.
    pub fn high(&self) -> ArrayView1<'_, F> {
        self.high.view()
    }

    /// Number of dimensions `D`.
    pub fn dim(&self) -> usize {
        self.low.len()
    }
}

/// A batch of tanh-squashed Gaussians: `a = low + (high - low)(tanh(u) + 1)/2`,
/// `u ~ N(mu, diag(sigma^2))`; without bounds the box is `[-1, 1]` and `a = tanh(u)`.
///
/// # Density function
/// By the change of variables `a = s(u)` (rlax `squashed_gaussian`, `rlax/_src/distributions.py`):
/// `ln p(a) = ln N(u; mu, sigma^2) - sum_d [ ln((high_d - low_d)/2) + ln(1 - tanh(u_d)^2) ]`,
/// `u = s^{-1}(a)`, with `ln(1 - tanh(u)^2) = 2 (ln 2 - u - softplus(-2u))` evaluated in that
/// stable form ([`crate::squash::log_one_minus_tanh_sq`]). (rlax's `logprob_fn` evaluates the
/// tanh term at the action instead of its pre-image `u`; this is the exact density.)
///
/// # KL between squashed Gaussians
/// KL divergence is invariant under a bijection applied to both sides: for `p = s#P`,
/// `q = s#Q` with the same squash `s` (same box), `ln p(a) - ln q(a) = ln P(u) - ln Q(u)` at
/// `a = s(u)` (the Jacobians cancel), so `KL(p || q) = KL(P || Q)`, the pre-squash Gaussians'
/// analytic KL. [`TanhGaussian::kl`] returns that, and refuses two different boxes.
///
/// # Entropy
/// There is no closed form. `H(a) = H(u) + E_u[ sum_d ln |da_d/du_d| ]`, estimated with
/// reparameterized samples `u = mu + sigma eps` whose gradient flows through the sample
/// ([`TanhGaussian::entropy_estimate`]).
///
/// # Notes
/// In `f32`, `tanh(u)` rounds to exactly `±1` for `|u| > 9`, where `atanh` is infinite. Scoring
/// the pre-squash value `u` ([`TanhGaussian::log_prob_pre_tanh`]) avoids that; samples carry
/// `u`, and the Monte-Carlo KL uses it. The unbounded constructor [`TanhGaussian::new`] and the
/// box `[-1, 1]` give bit-identical results (the squash is evaluated as `m + h tanh(u)` with
/// centre `m` and half-width `h`, exact for `m = 0`, `h = 1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "", try_from = "TanhGaussianRaw<F>")]
pub struct TanhGaussian<F: Real> {
    base: DiagGaussian<F>,
    #[serde(default)]
    bounds: Option<ActionBounds<F>>,
}

/// The serialized form; deserializing checks the box against the Gaussian's dimension.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct TanhGaussianRaw<F: Real> {
    base: DiagGaussian<F>,
    #[serde(default)]
    bounds: Option<ActionBounds<F>>,
}

impl<F: Real> TryFrom<TanhGaussianRaw<F>> for TanhGaussian<F> {
    type Error = DistError;
    fn try_from(r: TanhGaussianRaw<F>) -> Result<Self> {
        match r.bounds {
            None => Ok(Self::new(r.base)),
            Some(b) => Self::with_box(r.base, b),
        }
    }
}

/// A tanh-Gaussian sample: the pre-squash value, the action and the noise.
#[derive(Debug, Clone, PartialEq)]
pub struct TanhSample<F: Real> {
    /// `u = mu + sigma * eps`, `[B, D]`.
    pub pre_tanh: Array2<F>,
    /// `a = s(u)` (`tanh(u)` without bounds), `[B, D]`.
    pub action: Array2<F>,
    /// `eps`, `[B, D]`.
    pub noise: Array2<F>,
}

/// A reparameterized Monte-Carlo entropy estimate of a squashed Gaussian with its gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct EntropyEstimate<F: Real> {
    /// `H(u) + (1/n) sum_s sum_d ln |da/du|(u_s)` per row, with the standard error of the
    /// sample mean (unbiased variance; `+inf` for `n = 1`, where no spread can be measured).
    pub entropy: McEstimate<F>,
    /// `d H_est / d mu = (1/n) sum_s (-2 tanh u_s)`, `[B, D]`.
    pub d_mean: Array2<F>,
    /// `d H_est / d sigma = 1/sigma + (1/n) sum_s (-2 tanh u_s) eps_s`, `[B, D]`.
    pub d_std: Array2<F>,
    /// `d H_est / d ln sigma = sigma * d_std`, `[B, D]`.
    pub d_log_std: Array2<F>,
}

impl<F: Real> TanhGaussian<F> {
    /// Squashes a diagonal Gaussian into `(-1, 1)^D` with `a = tanh(u)`.
    pub fn new(base: DiagGaussian<F>) -> Self {
        Self { base, bounds: None }
    }

    /// Squashes a diagonal Gaussian into the box `(low_d, high_d)` with
    /// `a = low + (high - low)(tanh(u) + 1)/2` (rlax `squashed_gaussian`).
    ///
    /// # Errors
    /// As [`ActionBounds::new`], and [`DistError::ShapeMismatch`] (`what = "low"`) if the box
    /// has not the Gaussian's dimension `D`.
    pub fn with_bounds(base: DiagGaussian<F>, low: Array1<F>, high: Array1<F>) -> Result<Self> {
        check::shape("low", &[base.dim()], low.shape())?;
        Self::with_box(base, ActionBounds::new(low, high)?)
    }

    /// Squashes a diagonal Gaussian into a validated box.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] (`what = "low"`) if the box has not the dimension `D`.
    pub fn with_box(base: DiagGaussian<F>, bounds: ActionBounds<F>) -> Result<Self> {
        check::shape("low", &[base.dim()], &[bounds.dim()])?;
        Ok(Self {
            base,
            bounds: Some(bounds),
        })
    }

    /// The Gaussian before squashing.
    pub fn base(&self) -> &DiagGaussian<F> {
        &self.base
    }

    /// The action box, `None` for the unbounded constructor (box `[-1, 1]`).
    pub fn bounds(&self) -> Option<&ActionBounds<F>> {
        self.bounds.as_ref()
    }

    /// Number of rows `B`.
    pub fn batch_size(&self) -> usize {
        self.base.batch_size()
    }

    /// Number of action dimensions `D`.
    pub fn dim(&self) -> usize {
        self.base.dim()
    }

    /// `(low_d, high_d)`; `d < D` is guaranteed by the caller.
    fn box_of(&self, d: usize) -> (F, F) {
        match &self.bounds {
            None => (-F::one(), F::one()),
            Some(b) => (b.low[d], b.high[d]),
        }
    }

    fn check_points(&self, what: &'static str, x: &ArrayView2<'_, F>) -> Result<()> {
        check::shape(what, self.base.mean().shape(), x.shape())?;
        check::finite(what, x)
    }

    /// Applies `f(x_bd, low_d, high_d)` element-wise to a checked `[B, D]` array.
    fn map_boxed(&self, x: ArrayView2<'_, F>, f: impl Fn(F, F, F) -> F) -> Array2<F> {
        Array2::from_shape_fn(x.raw_dim(), |(b, d)| {
            let (lo, hi) = self.box_of(d);
            f(x[(b, d)], lo, hi)
        })
    }

    /// `sum_d ln |da_d/du_d|` of each row of a checked `[B, D]` array of pre-squash values.
    fn log_det_rows(&self, u: ArrayView2<'_, F>) -> Array1<F> {
        u.map_axis(Axis(1), |r| {
            r.iter().enumerate().fold(F::zero(), |acc, (d, &v)| {
                let (lo, hi) = self.box_of(d);
                acc + log_abs_det_jacobian(v, lo, hi)
            })
        })
    }

    /// The actions `a = s(u)` of `[B, D]` pre-squash values.
    ///
    /// # Errors
    /// Shape mismatch or non-finite `u`.
    pub fn squash(&self, u: ArrayView2<'_, F>) -> Result<Array2<F>> {
        self.check_points("u", &u)?;
        Ok(self.map_boxed(u, squash))
    }

    /// The pre-squash values `u = s^{-1}(a)` of `[B, D]` actions, with the clamp documented at
    /// [`crate::squash::unsquash`] (an action on or past the boundary maps to a large finite
    /// `u`; no support check).
    ///
    /// # Errors
    /// Shape mismatch or non-finite `a`.
    pub fn unsquash(&self, a: ArrayView2<'_, F>) -> Result<Array2<F>> {
        self.check_points("a", &a)?;
        Ok(self.map_boxed(a, unsquash))
    }

    /// Per-row log-density of the action `s(u)`, given the pre-squash `[B, D]` values `u`.
    ///
    /// # Formula
    /// `ln N(u; mu, sigma^2) - sum_d [ ln((high_d - low_d)/2) + ln(1 - tanh(u_d)^2) ]` (the
    /// first term of the bracket is 0 without bounds).
    ///
    /// # Errors
    /// Shape mismatch or non-finite `u`.
    pub fn log_prob_pre_tanh(&self, u: ArrayView2<'_, F>) -> Result<Array1<F>> {
        let base = self.base.log_prob(u)?;
        Ok(base - self.log_det_rows(u))
    }

    /// Per-row log-density of `[B, D]` actions strictly inside the box (`(-1, 1)` unbounded).
    ///
    /// # Formula
    /// `u = s^{-1}(a)` ([`crate::squash::unsquash`]; its clamp only acts where an action strictly
    /// inside the box rounds onto the boundary in `(a - m)/h`), then as
    /// [`TanhGaussian::log_prob_pre_tanh`].
    ///
    /// # Errors
    /// Non-finite `a`, shape mismatch, or [`DistError::OutOfSupport`] for the first `a_bd`
    /// outside `(low_d, high_d)` (`|a| >= 1` unbounded).
    pub fn log_prob(&self, a: ArrayView2<'_, F>) -> Result<Array1<F>> {
        check::finite("a", &a)?;
        check::shape("a", self.base.mean().shape(), a.shape())?;
        let outside = a.indexed_iter().position(|((_, d), &v)| {
            let (lo, hi) = self.box_of(d);
            v <= lo || v >= hi
        });
        if let Some(index) = outside {
            return Err(DistError::OutOfSupport {
                what: "a",
                index,
                value: a.iter().nth(index).map_or(f64::NAN, |v| v.as_f64()),
                support: if self.bounds.is_some() {
                    "(low, high)"
                } else {
                    "(-1, 1)"
                },
            });
        }
        let u = self.map_boxed(a, unsquash);
        self.log_prob_pre_tanh(u.view())
    }

    /// Draws one reparameterized sample per row.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TanhSample<F> {
        let r = self.base.rsample(rng);
        TanhSample {
            action: self.map_boxed(r.sample.view(), squash),
            pre_tanh: r.sample,
            noise: r.noise,
        }
    }

    /// The sample for given `[B, D]` standard-normal noise: `u = mu + sigma eps`, `a = s(u)`.
    ///
    /// # Errors
    /// Shape mismatch or non-finite noise.
    pub fn sample_from_noise(&self, noise: ArrayView2<'_, F>) -> Result<TanhSample<F>> {
        let u = self.base.sample_from_noise(noise)?;
        Ok(TanhSample {
            action: self.map_boxed(u.view(), squash),
            pre_tanh: u,
            noise: noise.to_owned(),
        })
    }

    /// The deterministic (greedy, evaluation) action `s(mu)`, `[B, D]`.
    ///
    /// # Notes
    /// Because `s` is increasing per dimension, `s(mu_d)` is the *median* of the action's
    /// marginal in dimension `d`. It is neither the action mean `E[s(u)]` nor, in general, the
    /// density mode (the Jacobian moves the mode; for large `sigma` the density is bimodal at
    /// the box edges). It is what rlax and Acme act with at evaluation time.
    #[doc(alias = "mode")]
    #[doc(alias = "mean_action")]
    pub fn deterministic_action(&self) -> Array2<F> {
        self.map_boxed(self.base.mean(), squash)
    }

    /// Monte-Carlo entropy estimate from given standard-normal noise `[n, B, D]`, with its
    /// reparameterization gradient.
    ///
    /// # Formula
    /// `u_s = mu + sigma eps_s`;
    /// `H_est = H(N(mu, sigma^2)) + (1/n) sum_s sum_d ln |da_d/du_d|(u_sd)`, an unbiased
    /// estimate of `H(a) = H(u) + E[ln |det da/du|]`. With
    /// `d/du ln |da/du| = d/du ln(1 - tanh^2 u) = -2 tanh u` and `du/dmu = 1`,
    /// `du/dsigma = eps`:
    /// `dH/dmu_d = (1/n) sum_s -2 tanh(u_sd)`,
    /// `dH/dsigma_d = 1/sigma_d + (1/n) sum_s -2 tanh(u_sd) eps_sd`.
    /// The gradient flows through the sample (unlike a stop-gradient estimate, whose expected
    /// gradient is zero).
    ///
    /// # Errors
    /// [`DistError::Empty`] for `n = 0`; [`DistError::ShapeMismatch`] if `noise` is not
    /// `[n, B, D]`; [`DistError::NonFinite`] for non-finite noise.
    pub fn entropy_estimate(&self, noise: ArrayView3<'_, F>) -> Result<EntropyEstimate<F>> {
        let (n, b, d) = noise.dim();
        if n == 0 {
            return Err(DistError::Empty { what: "noise" });
        }
        check::shape("noise", &[n, b, d], &[n, self.batch_size(), self.dim()])?;
        check::finite("noise", &noise)?;
        let (mean, std) = (self.base.mean(), self.base.std());
        let mut sum = vec![0.0f64; b];
        let mut sum_sq = vec![0.0f64; b];
        let mut d_mean = Array2::<F>::zeros((b, d));
        let mut d_std = Array2::<F>::zeros((b, d));
        for eps in noise.outer_iter() {
            let u = &mean + &(&std * &eps);
            let j = self.log_det_rows(u.view());
            for (i, &v) in j.iter().enumerate() {
                sum[i] += v.as_f64();
                sum_sq[i] += v.as_f64() * v.as_f64();
            }
            Zip::from(&mut d_mean)
                .and(&mut d_std)
                .and(&u)
                .and(&eps)
                .for_each(|gm, gs, &u, &e| {
                    let g = log_abs_det_jacobian_derivative(u);
                    *gm += g;
                    *gs += g * e;
                });
        }
        let nf = F::c(n as f64);
        d_mean.mapv_inplace(|v| v / nf);
        Zip::from(&mut d_std)
            .and(&std)
            .for_each(|g, &s| *g = *g / nf + s.recip());
        let d_log_std = &d_std * &std;
        let h_base = self.base.entropy();
        Ok(EntropyEstimate {
            entropy: mc_estimate(&h_base, &sum, &sum_sq, n),
            d_mean,
            d_std,
            d_log_std,
        })
    }

    /// [`TanhGaussian::entropy_estimate`] with `n` fresh noise draws per row.
    ///
    /// # Errors
    /// [`DistError::Empty`] for `n = 0`.
    pub fn entropy_estimate_sampled<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> Result<EntropyEstimate<F>> {
        let noise = self.base.rsample_n(n, rng).noise;
        self.entropy_estimate(noise.view())
    }

    /// Exact per-row `KL(self || other)` of two Gaussians squashed by the same bijection: the
    /// pre-squash Gaussians' analytic KL (see the type's docs), policy first, prior second.
    ///
    /// # Errors
    /// [`DistError::BoundsMismatch`] if the boxes differ (an unbounded squash is the box
    /// `[-1, 1]`); [`DistError::ShapeMismatch`] if the batches differ in shape.
    #[doc(alias = "kl_divergence")]
    pub fn kl(&self, other: &Self) -> Result<Array1<F>> {
        check::shape(
            "other.mean",
            self.base.mean().shape(),
            other.base.mean().shape(),
        )?;
        for d in 0..self.dim() {
            let (a, b) = (self.box_of(d), other.box_of(d));
            if a != b {
                return Err(DistError::BoundsMismatch {
                    what: "other.bounds",
                    index: d,
                    this: [a.0.as_f64(), a.1.as_f64()],
                    other: [b.0.as_f64(), b.1.as_f64()],
                });
            }
        }
        self.base.kl(&other.base)
    }
}

/// `h_base + mean`, with the standard error of the mean from `f64` sums (`+inf` for `n = 1`).
fn mc_estimate<F: Real>(
    h_base: &Array1<F>,
    sum: &[f64],
    sum_sq: &[f64],
    n: usize,
) -> McEstimate<F> {
    let nf = n as f64;
    let mean = Zip::from(h_base)
        .and(&ArrayView1::from(sum))
        .map_collect(|&h, &s| h + F::c(s / nf));
    let std_error = sum
        .iter()
        .zip(sum_sq)
        .map(|(s, s2)| {
            if n < 2 {
                return F::infinity();
            }
            let m = s / nf;
            let var = ((s2 - nf * m * m) / (nf - 1.0)).max(0.0);
            F::c((var / nf).sqrt())
        })
        .collect();
    McEstimate {
        mean,
        std_error,
        samples: n,
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
