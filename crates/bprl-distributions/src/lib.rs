//! # bprl-distributions
//!
//! Probability distributions, KL divergences with their gradients, and the identities of
//! KL-regularized reinforcement learning with behavior priors (Tirumala et al. 2020,
//! "Behavior Priors for Efficient Reinforcement Learning", arXiv 2010.14274; Galashov et al.
//! 2019, "Information asymmetry in KL-regularized RL", arXiv 1905.01240).
//!
//! ## The domain
//!
//! A KL-regularized agent maximizes `sum_t gamma^t [ r_t - alpha KL(pi(.|x_t) || pi0(.|x^D_t)) ]`:
//! reward, minus how far the policy `pi` strays from a *behavior prior* `pi0` that sees only the
//! task-agnostic part `x^D` of the observation. Every learner step therefore needs, in batch:
//! log-probabilities of actions (importance weights for Retrace), reparameterized samples
//! (SVG(0) policy gradients), entropies, and `KL(pi || pi0)` *with its gradient* with respect to
//! both sides (the policy is pushed towards the prior, the prior is distilled towards the
//! policy). This crate provides those, for the distributions the paper uses:
//!
//! | type | object | KL |
//! |---|---|---|
//! | [`DiagGaussian`] | `N(mu, diag(sigma^2))`, the flat policy and prior | analytic, with gradients |
//! | [`Categorical`] | `Cat(softmax(l / tau))`, discrete actions or latents | analytic, with gradients |
//! | [`DiagGaussianMixture`] | `sum_k w_k N(mu_k, sigma_k^2)`, the optimal prior of Eq. 7 | [`monte_carlo_kl`] |
//! | [`TanhGaussian`] | `tanh(u)`, or `low + (high - low)(tanh(u) + 1)/2` in an [`ActionBounds`] box, `u ~ N`: bounded actions | exact via the shared bijection ([`TanhGaussian::kl`]), or [`monte_carlo_kl`] |
//! | `FullGaussian` (feature `lapack`) | `N(mu, Sigma)` | analytic, and MPO's decoupled split |
//!
//! and, in [`theory`], the paper's claims as exact functions over discrete spaces: the
//! soft-optimal policy (Eq. 3-5), the optimal shared prior (Eq. 6-7), the information
//! bottleneck inequality (Eq. 9) and the hierarchical KL bound (Eq. 11).
//!
//! The squashed Gaussian has no closed-form entropy: [`TanhGaussian::entropy_estimate`] gives a
//! reparameterized estimate with its gradient. [`Categorical::clipped_entropy`] is rlax's
//! `clipped_entropy_softmax` entropy `min(H, c ln K)`. The element-wise kernels of the bounded
//! squash ([`squash()`], [`unsquash`], [`log_abs_det_jacobian`], the stable
//! [`log_one_minus_tanh_sq`], and their derivatives) live in [`squash`](mod@squash) for
//! learners that work row by row.
//!
//! ## Should I use this crate?
//!
//! Use it if you need batched KLs and log-probs with closed-form gradients and no autodiff
//! framework, or a verified reference for the identities. It depends only on `ndarray`, `rand`
//! and `serde`; no GPU, no system library (unless you enable `lapack`).
//!
//! ## Conventions (stated once, followed everywhere)
//!
//! - **KL direction** is always `KL(first || second)`: `p.kl(&q)` is `KL(p || q)`, policy first,
//!   prior second. (A reversed Gaussian KL shipped for years in a widely used library.)
//! - **Batches** are rows: a `[B, D]` array holds `B` distributions of dimension `D`, and every
//!   per-row quantity sums over `D` and returns `[B]`. Samples of `n` draws are `[n, B, D]`.
//! - **Scalars**: every type is generic over [`Real`] (`f32` on hot paths, `f64` where precision
//!   matters, as in finite-difference gradient checks). [`theory`] is `f64`.
//! - **Errors**: constructors and every method that takes user data return
//!   [`Result`]`<_, `[`DistError`]`>`; the error names the argument, the shape or the first bad
//!   element. Nothing panics on user data. Methods without a `Result` cannot fail once the value
//!   exists. The formulas without validation live in [`kernels`] as `*_unchecked` functions.
//! - **Randomness** always enters as `&mut R` with `R: rand::Rng`; there is no global RNG.
//! - **Gradients**: a method `foo_grad` returns `d foo / d parameter` for each parameter, in the
//!   same shape as the parameter; standard-deviation gradients come with their log-std twin.
//! - **Tolerances** are named constants in [`prec`].
//!
//! ## Example
//!
//! ```
//! use bprl_distributions::{DiagGaussian, monte_carlo_kl, KlEstimator};
//! use ndarray::array;
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! let pi = DiagGaussian::new(array![[0.5f64, -0.2]], array![[0.3, 0.8]])?;
//! let pi0 = DiagGaussian::new(array![[0.0f64, 0.0]], array![[1.0, 1.0]])?;
//! let exact = pi.kl(&pi0)?[0];
//! let grad = pi.kl_grad(&pi0)?; // d KL / d (mu_p, sigma_p, mu_q, sigma_q)
//! assert!(grad.d_mean_p[(0, 0)] > 0.0); // moving the policy mean towards 0 lowers the KL
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let mc = monte_carlo_kl(&pi, &pi0, 20_000, KlEstimator::NonNegative, &mut rng)?;
//! assert!((mc.mean[0] - exact).abs() < 5.0 * mc.std_error[0]);
//! # Ok::<(), bprl_distributions::DistError>(())
//! ```
//!
//! ## Features
//!
//! - `lapack`: the full-covariance `FullGaussian`, through `ndarray-linalg` and a system
//!   OpenBLAS (Debian: `libopenblas-dev`).

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod categorical;
mod check;
mod diag_gaussian;
mod error;
#[cfg(feature = "lapack")]
mod full_gaussian;
pub mod kernels;
mod mixture;
mod monte_carlo;
pub mod prec;
mod real;
pub mod squash;
mod tanh_gaussian;
pub mod theory;

pub use categorical::Categorical;
pub use diag_gaussian::{DiagGaussian, KlGrad, LogProbGrad, Reparameterized};
pub use error::{DistError, Result};
#[cfg(feature = "lapack")]
pub use full_gaussian::{DecoupledKl, FullGaussian};
pub use mixture::DiagGaussianMixture;
pub use monte_carlo::{BatchDistribution, KlEstimator, McEstimate, monte_carlo_kl};
pub use real::{LN_2PI, Real, logsumexp, softplus};
pub use squash::{
    log_abs_det_jacobian, log_abs_det_jacobian_derivative, log_one_minus_tanh_sq,
    log_one_minus_tanh_sq_derivative, squash, squash_derivative, unsquash, unsquash_derivative,
};
pub use tanh_gaussian::{ActionBounds, EntropyEstimate, TanhGaussian, TanhSample};
