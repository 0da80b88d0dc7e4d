//! # bprl-agents
//!
//! Algorithms 1 and 2 of Tirumala et al. 2020 ("Behavior Priors for Efficient Reinforcement
//! Learning"), assembled from the workspace's crates: an agent is networks + learner + actor +
//! config, as in Acme.
//!
//! ## The algorithms
//!
//! - **Algorithm 1** ([`flat::FlatLearner`]): SVG(0) policy loss through the target critic with
//!   `S` reparameterized samples, the analytic entropy bonus `beta H(pi)` and
//!   `alpha KL(pi || pi0')`; a critic regressed on Retrace targets built from the
//!   KL-regularized value `V = mean_s Q'(x, a_s) - alpha KL`; a prior distilled with
//!   `KL(sg(pi) || pi0)` on its own parameters, seeing only its observation groups; target
//!   networks hard-copied every `P` steps; three Adam optimizers.
//! - **Algorithm 2** ([`hierarchical::HierLearner`]): a latent `z` resampled in the learner,
//!   the critic `Q(x, a, z)`, the KL bound of Eq. 11 (`KL_H + KL_L`, exactly `KL_H` with a
//!   shared low level), traces from `pi^H pi^L / mu`, and the policy gradient through the action
//!   but not through `Q`'s latent input.
//! - **Baselines** are configurations of the same code ([`PriorConfig`]): no prior, a fixed
//!   `N(0, I)` prior, a learned prior with full information.
//! - **Transfer**: [`Learner::load_prior_from`] starts a new task from a trained prior (and
//!   optionally the low level), frozen ([`Learner::set_prior_frozen`]) or still learning.
//!
//! ## The loop
//!
//! [`Trainer`] runs actors and the learner around a `bprl-replay` replay: the synchronous mode
//! is seeded and bit-reproducible (environment seeds, action noise and learner noise all derive
//! from `run.seed` and counters); the threaded mode ([`Trainer::train_threaded`]) runs several
//! actor threads against a samples-per-insert rate limiter and trades reproducibility for
//! speed. Checkpoints ([`checkpoint`]) hold networks, optimizers, targets, counters, history and
//! the replay, written atomically with a `LATEST` pointer, so `kill -9` at any moment loses at
//! most the work since the last checkpoint. NaN or infinity in a loss or a batch stops the
//! run with [`AgentError::NonFinite`] naming where it appeared.
//!
//! ## Conventions
//!
//! - Configuration is TOML ([`AgentConfig`]); every default is Acme `svg0_prior`'s and is
//!   documented at its field; validation names the bad field.
//! - Learners are generic over the scalar (`f64` for the tests that check every gradient by
//!   finite differences); training runs in `f32`.
//! - `KL(policy || prior)`, time-major batches `[T+1, B, ...]` flattened to rows `t * B + b`.

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

pub mod actor;
mod agent;
pub mod batch;
pub mod checkpoint;
pub mod config;
mod error;
pub mod learner;
pub mod trainer;

pub use agent::{ActorState, Learner};
pub use bprl_envs::{TaskFamily, TaskSplit};
pub use config::{
    AgentConfig, HierarchyConfig, LearnerConfig, LowLevel, PriorConfig, RatioPolicy, RunConfig,
};
pub use error::{AgentError, ConfigError, Result};
pub use learner::{
    FlatLearner, HierLearner, HierNoise, LearnerState, Metrics, UpdateNoise, flat, hierarchical,
};
pub use trainer::{Counters, EpisodeRecord, EvalRecord, Trainer};

/// An `f64` constant in the learner's scalar type.
pub(crate) fn cst<F: bprl_policy::Float>(x: f64) -> F {
    <F as bprl_nn::Scalar>::c(x)
}
