//! The full-covariance Gaussian `N(mu, Sigma)` (feature `lapack`).

use crate::error::{DistError, Result};
use crate::real::LN_2PI;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use ndarray_linalg::{Cholesky, Diag, SolveTriangular, UPLO};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A multivariate Gaussian `N(mu, Sigma)` with a full `D x D` covariance, in `f64`.
///
/// The Cholesky factor `L` (`Sigma = L L^T`) is computed once at construction through LAPACK;
/// every method then uses triangular solves, never an explicit inverse.
///
/// # Density function
/// `ln p(x) = -(x - mu)^T Sigma^{-1} (x - mu)/2 - ln|Sigma|/2 - D ln(2 pi)/2`.
#[derive(Debug, Clone, PartialEq)]
pub struct FullGaussian {
    mean: Array1<f64>,
    cov: Array2<f64>,
    chol: Array2<f64>,
}

/// The MPO split of `KL(p || q)` into a mean part and a covariance part
/// (Abdolmaleki et al. 2018, "Maximum a Posteriori Policy Optimisation", section 4.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecoupledKl {
    /// `C_mu = KL(N(mu_p, Sigma_p) || N(mu_q, Sigma_p)) = (mu_q - mu_p)^T Sigma_p^{-1} (mu_q - mu_p)/2`.
    pub mean: f64,
    /// `C_Sigma = KL(N(mu_p, Sigma_p) || N(mu_p, Sigma_q))
    /// = (tr(Sigma_q^{-1} Sigma_p) - D + ln(|Sigma_q|/|Sigma_p|))/2`.
    pub covariance: f64,
}

impl FullGaussian {
    /// Builds `N(mean, cov)` from a `[D]` mean and a `[D, D]` covariance.
    ///
    /// # Errors
    /// [`DistError::Empty`] for `D = 0`, shape mismatch, non-finite entries, or
    /// [`DistError::NotPositiveDefinite`] when `cov` is not symmetric or its Cholesky
    /// factorization fails.
    pub fn new(mean: Array1<f64>, cov: Array2<f64>) -> Result<Self> {
        let d = mean.len();
        if d == 0 {
            return Err(DistError::Empty { what: "mean" });
        }
        crate::check::shape("cov", &[d, d], cov.shape())?;
        crate::check::finite("mean", &mean)?;
        crate::check::finite("cov", &cov)?;
        let scale = cov.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for ((i, j), &c) in cov.indexed_iter() {
            if (c - cov[(j, i)]).abs() > 1e-12 * scale.max(1.0) {
                return Err(DistError::NotPositiveDefinite {
                    what: "cov",
                    reason: format!("not symmetric at ({i}, {j})"),
                });
            }
        }
        let chol = cov
            .cholesky(UPLO::Lower)
            .map_err(|e| DistError::NotPositiveDefinite {
                what: "cov",
                reason: e.to_string(),
            })?;
        if chol.diag().iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(DistError::NotPositiveDefinite {
                what: "cov",
                reason: "Cholesky factor has a non-positive diagonal".into(),
            });
        }
        Ok(Self { mean, cov, chol })
    }

    /// The dimension `D`.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The mean `mu`.
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.mean.view()
    }

    /// The covariance `Sigma`.
    pub fn cov(&self) -> ArrayView2<'_, f64> {
        self.cov.view()
    }

    /// The lower Cholesky factor `L`, `Sigma = L L^T`.
    pub fn cholesky_factor(&self) -> ArrayView2<'_, f64> {
        self.chol.view()
    }

    /// `ln |Sigma| = 2 sum_i ln L_ii`.
    pub fn log_det(&self) -> f64 {
        2.0 * self.chol.diag().iter().map(|v| v.ln()).sum::<f64>()
    }

    /// Solves `L X = B` for `[D, N]` right-hand sides.
    fn solve_lower(l: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
        l.solve_triangular(UPLO::Lower, Diag::NonUnit, b)
            .unwrap_or_else(|_| unreachable!("L has a positive diagonal by construction"))
    }

    /// Log-density of each of `[N, D]` points, shape `[N]`.
    ///
    /// # Errors
    /// Shape mismatch or non-finite `x`.
    pub fn log_prob(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        crate::check::shape("x columns", &[self.dim()], &[x.ncols()])?;
        crate::check::finite("x", &x)?;
        let diff = (&x - &self.mean).reversed_axes().to_owned(); // [D, N]
        let y = Self::solve_lower(&self.chol, &diff);
        let maha = y.mapv(|v| v * v).sum_axis(Axis(0));
        let c = 0.5 * (self.log_det() + self.dim() as f64 * LN_2PI);
        Ok(maha.mapv(|m| -0.5 * m - c))
    }

    /// Differential entropy `D (1 + ln 2 pi)/2 + ln|Sigma|/2`.
    pub fn entropy(&self) -> f64 {
        0.5 * (self.dim() as f64 * (1.0 + LN_2PI) + self.log_det())
    }

    /// Draws `n` samples `mu + L eps`, shape `[n, D]`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Array2<f64> {
        let eps = Array2::from_shape_simple_fn((n, self.dim()), || StandardNormal.sample(rng));
        eps.dot(&self.chol.t()) + &self.mean
    }

    fn check_dim(&self, other: &Self) -> Result<()> {
        crate::check::shape("other.mean", &[self.dim()], &[other.dim()])
    }

    /// `tr(Sigma_q^{-1} Sigma_p) = ||L_q^{-1} L_p||_F^2` with `q = other`.
    fn trace_term(&self, other: &Self) -> f64 {
        Self::solve_lower(&other.chol, &self.chol)
            .mapv(|v| v * v)
            .sum()
    }

    /// `(mu_q - mu_p)^T Sigma^{-1} (mu_q - mu_p)` for `Sigma = L L^T`.
    fn mahalanobis(chol: &Array2<f64>, p: &Self, q: &Self) -> f64 {
        let dm = (&q.mean - &p.mean).insert_axis(Axis(1));
        Self::solve_lower(chol, &dm).mapv(|v| v * v).sum()
    }

    /// Analytic `KL(self || other)`.
    ///
    /// # Formula
    /// `(tr(Sigma_q^{-1} Sigma_p) + (mu_q - mu_p)^T Sigma_q^{-1} (mu_q - mu_p) - D
    /// + ln(|Sigma_q|/|Sigma_p|))/2`, with `tr(Sigma_q^{-1} Sigma_p) = ||L_q^{-1} L_p||_F^2`.
    ///
    /// # Errors
    /// Dimension mismatch.
    #[doc(alias = "kl_divergence")]
    pub fn kl(&self, other: &Self) -> Result<f64> {
        self.check_dim(other)?;
        let maha = Self::mahalanobis(&other.chol, self, other);
        let log_det_ratio = other.log_det() - self.log_det();
        Ok(0.5 * (self.trace_term(other) + maha - self.dim() as f64 + log_det_ratio))
    }

    /// The decoupled mean and covariance parts of `KL(self || other)` used by MPO, where `self`
    /// is the old (target) policy and `other` the new one.
    ///
    /// Each part is itself an exact KL with the other half held at `self`'s value; when the
    /// covariances are equal, `mean` is the whole KL, and when the means are equal,
    /// `covariance` is.
    ///
    /// # Errors
    /// Dimension mismatch.
    pub fn kl_decoupled(&self, other: &Self) -> Result<DecoupledKl> {
        self.check_dim(other)?;
        let log_det_ratio = other.log_det() - self.log_det();
        Ok(DecoupledKl {
            mean: 0.5 * Self::mahalanobis(&self.chol, self, other),
            covariance: 0.5 * (self.trace_term(other) - self.dim() as f64 + log_det_ratio),
        })
    }
}
