//! The batched diagonal Gaussian `N(mu, diag(sigma^2))`.

use crate::check;
use crate::error::Result;
use crate::kernels::{
    entropy_term_unchecked, kl_term_grad_log_std_unchecked, kl_term_grad_unchecked,
    kl_term_unchecked, log_prob_term_grad_unchecked, log_prob_term_unchecked,
};
use crate::real::Real;
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A batch of diagonal Gaussians `N(mu_b, diag(sigma_b^2))`, one per row `b`.
///
/// Means and standard deviations are `[B, D]` arrays (rows = batch, columns = dimensions).
/// Every per-row quantity (log-prob, entropy, KL) is the sum over the `D` columns.
///
/// # Density function
/// `ln p(x) = sum_d [ -((x_d - mu_d)/sigma_d)^2 / 2 - ln sigma_d - ln(2 pi)/2 ]`.
///
/// # Invariants
/// Constructors reject non-finite entries and `sigma <= 0` ([`crate::DistError`]); after that,
/// every method is total. Numerically safe for `sigma` in `[1e-6, 1e6]` in `f32`.
///
/// # Example
/// ```
/// use bprl_distributions::DiagGaussian;
/// use ndarray::array;
/// let pi = DiagGaussian::new(array![[0.0f64, 1.0]], array![[1.0, 0.5]])?;
/// let pi0 = DiagGaussian::standard_normal(1, 2);
/// let kl = pi.kl(&pi0)?; // KL(pi || pi0), policy first
/// assert!(kl[0] > 0.0);
/// # Ok::<(), bprl_distributions::DistError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "", try_from = "DiagGaussianRaw<F>")]
pub struct DiagGaussian<F: Real> {
    mean: Array2<F>,
    std: Array2<F>,
}

/// The serialized form; deserializing goes through the validating constructor.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct DiagGaussianRaw<F: Real> {
    mean: Array2<F>,
    std: Array2<F>,
}

impl<F: Real> TryFrom<DiagGaussianRaw<F>> for DiagGaussian<F> {
    type Error = crate::DistError;
    fn try_from(r: DiagGaussianRaw<F>) -> Result<Self> {
        Self::new(r.mean, r.std)
    }
}

/// Gradients of a per-row log-prob `ln p(x_b)` with respect to each input, all `[B, D]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogProbGrad<F: Real> {
    /// `d ln p / d x = -(x - mu)/sigma^2`.
    pub d_x: Array2<F>,
    /// `d ln p / d mu = (x - mu)/sigma^2`.
    pub d_mean: Array2<F>,
    /// `d ln p / d sigma = (z^2 - 1)/sigma`, `z = (x - mu)/sigma`.
    pub d_std: Array2<F>,
    /// `d ln p / d ln sigma = z^2 - 1`.
    pub d_log_std: Array2<F>,
}

/// Gradients of the per-row `KL(p || q)` with respect to both sides' parameters, all `[B, D]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KlGrad<F: Real> {
    /// `d KL / d mu_p`.
    pub d_mean_p: Array2<F>,
    /// `d KL / d sigma_p`.
    pub d_std_p: Array2<F>,
    /// `d KL / d ln sigma_p`.
    pub d_log_std_p: Array2<F>,
    /// `d KL / d mu_q`.
    pub d_mean_q: Array2<F>,
    /// `d KL / d sigma_q`.
    pub d_std_q: Array2<F>,
    /// `d KL / d ln sigma_q`.
    pub d_log_std_q: Array2<F>,
}

/// A reparameterized sample `x = mu + sigma * eps` together with the noise `eps` that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reparameterized<A> {
    /// The sample.
    pub sample: A,
    /// The standard-normal noise, same shape as `sample`.
    pub noise: A,
}

impl<F: Real> DiagGaussian<F> {
    /// Builds a batch from `[B, D]` means and standard deviations.
    ///
    /// # Errors
    /// [`crate::DistError::ShapeMismatch`] if the shapes differ,
    /// [`crate::DistError::NonFinite`] for a NaN or infinite entry,
    /// [`crate::DistError::NonPositive`] for `sigma <= 0`.
    pub fn new(mean: Array2<F>, std: Array2<F>) -> Result<Self> {
        check::shape("std", mean.shape(), std.shape())?;
        check::finite("mean", &mean)?;
        check::positive("std", &std)?;
        Ok(Self { mean, std })
    }

    /// Builds a batch from means and log standard deviations (`sigma = exp(log_std)`).
    ///
    /// # Errors
    /// As [`DiagGaussian::new`]; a `log_std` so small that `exp` underflows to 0 is
    /// [`crate::DistError::NonPositive`].
    pub fn from_log_std(mean: Array2<F>, log_std: Array2<F>) -> Result<Self> {
        check::finite("log_std", &log_std)?;
        Self::new(mean, log_std.mapv(F::exp))
    }

    /// `B` standard normals `N(0, I_D)`.
    pub fn standard_normal(batch: usize, dim: usize) -> Self {
        Self {
            mean: Array2::zeros((batch, dim)),
            std: Array2::ones((batch, dim)),
        }
    }

    /// Number of rows `B`.
    pub fn batch_size(&self) -> usize {
        self.mean.nrows()
    }

    /// Number of dimensions `D`.
    pub fn dim(&self) -> usize {
        self.mean.ncols()
    }

    /// The `[B, D]` means.
    pub fn mean(&self) -> ArrayView2<'_, F> {
        self.mean.view()
    }

    /// The `[B, D]` standard deviations.
    pub fn std(&self) -> ArrayView2<'_, F> {
        self.std.view()
    }

    /// The `[B, D]` log standard deviations.
    pub fn log_std(&self) -> Array2<F> {
        self.std.mapv(F::ln)
    }

    fn check_points(&self, what: &'static str, x: &ArrayView2<'_, F>) -> Result<()> {
        check::shape(what, self.mean.shape(), x.shape())?;
        check::finite(what, x)
    }

    fn check_same_shape(&self, other: &Self) -> Result<()> {
        check::shape("other.mean", self.mean.shape(), other.mean.shape())
    }

    /// Per-row log-density `ln p(x_b)` of `[B, D]` points, shape `[B]`.
    ///
    /// # Formula
    /// `sum_d [ -z_d^2/2 - ln sigma_d - ln(2 pi)/2 ]`, `z = (x - mu)/sigma`.
    ///
    /// # Errors
    /// Shape mismatch or non-finite `x`.
    #[doc(alias = "log_pdf")]
    pub fn log_prob(&self, x: ArrayView2<'_, F>) -> Result<Array1<F>> {
        self.check_points("x", &x)?;
        Ok(self.log_prob_unchecked(x))
    }

    pub(crate) fn log_prob_unchecked(&self, x: ArrayView2<'_, F>) -> Array1<F> {
        let mut out = Array1::zeros(self.batch_size());
        Zip::from(&mut out)
            .and(x.rows())
            .and(self.mean.rows())
            .and(self.std.rows())
            .for_each(|o, x, m, s| {
                *o = Zip::from(&x)
                    .and(&m)
                    .and(&s)
                    .fold(F::zero(), |acc, &x, &m, &s| {
                        acc + log_prob_term_unchecked(x, m, s)
                    });
            });
        out
    }

    /// Gradients of the per-row log-density at `x` with respect to `x`, `mu`, `sigma` and
    /// `ln sigma`.
    ///
    /// # Errors
    /// Shape mismatch or non-finite `x`.
    pub fn log_prob_grad(&self, x: ArrayView2<'_, F>) -> Result<LogProbGrad<F>> {
        self.check_points("x", &x)?;
        let shape = self.mean.raw_dim();
        let mut g = LogProbGrad {
            d_x: Array2::zeros(shape),
            d_mean: Array2::zeros(shape),
            d_std: Array2::zeros(shape),
            d_log_std: Array2::zeros(shape),
        };
        Zip::indexed(&x).for_each(|(b, d), &x| {
            let (m, s) = (self.mean[(b, d)], self.std[(b, d)]);
            let [gx, gm, gs] = log_prob_term_grad_unchecked(x, m, s);
            g.d_x[(b, d)] = gx;
            g.d_mean[(b, d)] = gm;
            g.d_std[(b, d)] = gs;
            g.d_log_std[(b, d)] = gs * s;
        });
        Ok(g)
    }

    /// Per-row differential entropy `H(p_b)`, shape `[B]`.
    ///
    /// # Formula
    /// `sum_d [ ln sigma_d + (1 + ln(2 pi))/2 ]`. Its gradient is `1/sigma` with respect to
    /// `sigma` ([`DiagGaussian::entropy_grad_std`]) and `1` with respect to `ln sigma`.
    pub fn entropy(&self) -> Array1<F> {
        self.std.map_axis(Axis(1), |s| {
            s.fold(F::zero(), |a, &s| a + entropy_term_unchecked(s))
        })
    }

    /// `d H / d sigma = 1/sigma`, shape `[B, D]`.
    pub fn entropy_grad_std(&self) -> Array2<F> {
        self.std.mapv(F::recip)
    }

    /// Analytic per-row `KL(self || other)`, policy first, prior second; shape `[B]`.
    ///
    /// # Formula
    /// `sum_d [ ln(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2 ]` (DESIGN.md section 3),
    /// evaluated as in [`crate::kernels::kl_term_unchecked`].
    ///
    /// # Errors
    /// [`crate::DistError::ShapeMismatch`] if the batches differ in shape.
    #[doc(alias = "kl_divergence")]
    pub fn kl(&self, other: &Self) -> Result<Array1<F>> {
        self.check_same_shape(other)?;
        let mut out = Array1::zeros(self.batch_size());
        Zip::from(&mut out)
            .and(self.mean.rows())
            .and(self.std.rows())
            .and(other.mean.rows())
            .and(other.std.rows())
            .for_each(|o, mp, sp, mq, sq| {
                *o = Zip::from(&mp)
                    .and(&sp)
                    .and(&mq)
                    .and(&sq)
                    .fold(F::zero(), |acc, &mp, &sp, &mq, &sq| {
                        acc + kl_term_unchecked(mp, sp, mq, sq)
                    });
            });
        Ok(out)
    }

    /// Per-row `KL(self || N(0, I))`, shape `[B]`.
    ///
    /// # Formula
    /// `sum_d [ -ln sigma_d + (sigma_d^2 + mu_d^2)/2 - 1/2 ]`.
    pub fn kl_to_standard_normal(&self) -> Array1<F> {
        let n = Self::standard_normal(self.batch_size(), self.dim());
        self.kl(&n)
            .unwrap_or_else(|_| unreachable!("same shape by construction"))
    }

    /// Gradients of the per-row `KL(self || other)` with respect to both sides' means,
    /// standard deviations and log standard deviations.
    ///
    /// # Formula
    /// See [`crate::kernels::kl_term_grad_unchecked`].
    ///
    /// # Errors
    /// [`crate::DistError::ShapeMismatch`] if the batches differ in shape.
    pub fn kl_grad(&self, other: &Self) -> Result<KlGrad<F>> {
        self.check_same_shape(other)?;
        let shape = self.mean.raw_dim();
        let z = || Array2::zeros(shape);
        let mut g = KlGrad {
            d_mean_p: z(),
            d_std_p: z(),
            d_log_std_p: z(),
            d_mean_q: z(),
            d_std_q: z(),
            d_log_std_q: z(),
        };
        Zip::indexed(&self.mean).for_each(|(b, d), &mp| {
            let (sp, mq, sq) = (self.std[(b, d)], other.mean[(b, d)], other.std[(b, d)]);
            let [a, s1, c, s2] = kl_term_grad_unchecked(mp, sp, mq, sq);
            let [_, l1, _, l2] = kl_term_grad_log_std_unchecked(mp, sp, mq, sq);
            g.d_mean_p[(b, d)] = a;
            g.d_std_p[(b, d)] = s1;
            g.d_log_std_p[(b, d)] = l1;
            g.d_mean_q[(b, d)] = c;
            g.d_std_q[(b, d)] = s2;
            g.d_log_std_q[(b, d)] = l2;
        });
        Ok(g)
    }

    /// Draws one reparameterized sample per row, `x = mu + sigma * eps`, returning the noise.
    pub fn rsample<R: Rng + ?Sized>(&self, rng: &mut R) -> Reparameterized<Array2<F>> {
        let noise = Array2::from_shape_simple_fn(self.mean.raw_dim(), || F::standard_normal(rng));
        let sample = &self.mean + &(&self.std * &noise);
        Reparameterized { sample, noise }
    }

    /// Draws `n` reparameterized samples per row: `[n, B, D]` samples and their noise.
    pub fn rsample_n<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Reparameterized<Array3<F>> {
        let (b, d) = self.mean.dim();
        let noise = Array3::from_shape_simple_fn((n, b, d), || F::standard_normal(rng));
        let sample = &noise * &self.std + &self.mean;
        Reparameterized { sample, noise }
    }

    /// The sample `mu + sigma * eps` for given `[B, D]` noise (the deterministic half of
    /// reparameterized sampling).
    ///
    /// # Errors
    /// Shape mismatch or non-finite noise.
    pub fn sample_from_noise(&self, noise: ArrayView2<'_, F>) -> Result<Array2<F>> {
        self.check_points("noise", &noise)?;
        Ok(&self.mean + &(&self.std * &noise))
    }

    /// Backward pass of the reparameterized sample: given `dL/dx` at `x = mu + sigma * eps`,
    /// returns `(dL/dmu, dL/dsigma) = (dL/dx, dL/dx * eps)`.
    ///
    /// # Errors
    /// Shape mismatch between `d_sample`, `noise` and the batch.
    pub fn rsample_backward(
        &self,
        d_sample: ArrayView2<'_, F>,
        noise: ArrayView2<'_, F>,
    ) -> Result<(Array2<F>, Array2<F>)> {
        self.check_points("d_sample", &d_sample)?;
        self.check_points("noise", &noise)?;
        Ok((d_sample.to_owned(), &d_sample * &noise))
    }
}
