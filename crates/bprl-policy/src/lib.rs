//! # bprl-policy
//!
//! Policies, priors and critics for KL-regularized RL with behavior priors (Tirumala et al.
//! 2020): flat Gaussian policies, latent hierarchical policies, and the critics SVG(0) learns
//! through, each with explicit gradients.
//!
//! ## The domain
//!
//! - **Information asymmetry** (Galashov et al. 2019). An observation is a row of named groups
//!   ([`ObservationSpec`]); each network reads a [`Selection`] of them. The policy sees
//!   everything, the prior only task-agnostic groups `x^D` (e.g. proprioception), so the prior
//!   learns behavior common to all tasks. A selection of a missing group is a typed error, and
//!   a network cannot read a column outside its selection.
//! - **Flat policies and priors**: [`GaussianPolicy`], a LayerNormMLP torso and Acme's
//!   [`GaussianHead`] (`mean = tanh(.)`, `std = softplus(.) * 0.7 / ln 2 + min_scale`).
//! - **Critics**: [`Critic`] for `Q(x, a)` and `Q(x, a, z)`; its backward pass returns
//!   `dQ/da` (the SVG(0) signal) and `dQ/dz` (which Algorithm 2 stops).
//! - **Hierarchical policies** ([`HierarchicalPolicy`], [`HierarchicalPrior`]): a latent
//!   `z ~ pi^H(z|x)` then `a ~ pi^L(a|z, x_L)`. The prior's low level is either
//!   [`LowLevelPrior::Shared`] (same parameters, so its KL term is exactly 0) or
//!   [`LowLevelPrior::Separate`]. The reparameterized chain `a = f^L(x, f^H(x, eta), eps)`
//!   carries `dL/da` to both levels ([`HierarchicalPolicy::backward`]); [`latent_kl`] gives the
//!   per-step bound of Eq. 11 and its gradients for the policy ([`latent_kl_policy_grad`]) and
//!   the prior ([`latent_kl_prior_backward`]) separately.
//! - **Acting**: [`LatentHold`] resamples `z` every `k` steps and at episode starts.
//! - **Batched passes for learners**: [`Critic::q_samples`] and [`Critic::backward_samples`]
//!   evaluate `Q(x_n, a_{s,n})` for `S` action samples per observation (the expectation inside
//!   the soft value, Eq. 4, and SVG(0)'s `mean_s Q(x, a_s(theta))`) in cache-sized tiles on all
//!   cores, computing the observation part of the first layer once per observation;
//!   [`GaussianPolicy::dist_batched`] and [`GaussianPolicy::backward_batched`] do the same for
//!   policies and priors. They return the same values as the plain passes (tested to 1e-9 in
//!   f64). Their scratch tiles come from a [`bprl_nn::TileCache`] the caller owns and lends to
//!   each call (as do [`GaussianPolicy::forward_with`] and the hierarchical passes); the plain
//!   [`GaussianPolicy::forward`] makes its own for a large batch.
//!
//! ## Conventions
//!
//! - Observations are `[B, width]` rows in spec order; outputs are `[B, ...]`.
//! - A network's gradient is a value of its own type (`zeros_like`), accumulated by
//!   backward passes (see `bprl-nn`).
//! - Backward passes take gradients with respect to a distribution's *mean and std*; the KL,
//!   log-prob and entropy gradients that produce them come from `bprl-distributions`.
//! - `KL(policy || prior)`, policy first.
//! - Generic over [`Float`] (`f32`, `f64`).

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod batch_input;
mod critic;
mod critic_samples;
mod error;
mod gaussian_policy;
mod head;
mod hierarchical;
mod hold;
mod obs;
mod policy_batched;

pub use critic::{Critic, CriticConfig, CriticForward, CriticInputGrad};
pub use critic_samples::{CriticSamples, DqFn};
pub use error::{PolicyError, Result};
pub use gaussian_policy::{BATCHED_ROWS, GaussianPolicy, GaussianPolicyConfig, PolicyForward};
pub use head::{GaussianHead, HeadCache};
pub use hierarchical::{
    ChainGrad, HierarchicalConfig, HierarchicalPolicy, HierarchicalPrior, HierarchicalSample,
    LatentKl, LowLevelPrior, PriorForward, latent_kl, latent_kl_policy_grad,
    latent_kl_prior_backward,
};
pub use hold::LatentHold;
pub use obs::{ObservationSpec, Selection};
pub use policy_batched::RowGradFn;

/// The scalars policies compute in: both a distribution scalar and a network scalar
/// (`f32`, `f64`).
pub trait Float: bprl_distributions::Real + bprl_nn::Scalar {}

impl<F: bprl_distributions::Real + bprl_nn::Scalar> Float for F {}
