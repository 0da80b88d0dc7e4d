//! # bprl-agents
//!
//! Algorithms 1 and 2 of Tirumala et al. 2020 ("Behavior Priors for Efficient Reinforcement
//! Learning"), assembled from the workspace's crates: an agent is networks + learner + actor +
//! config, as in Acme.
//!
//! ## The algorithms
//!
//! Both algorithms are one learner skeleton, [`LearnerState`] (networks, targets, optimizers,
//! the update driver), with the soft value, Retrace targets and critic loss shared
//! ([`learner::targets`]); each algorithm contributes only its networks, its noise and its
//! named losses ([`learner::update::Algorithm`]).
//!
//! - **Algorithm 1** ([`FlatLearner`]): SVG(0) policy loss through the target critic with
//!   `S` reparameterized samples, the analytic entropy bonus `beta H(pi)` and
//!   `alpha KL(pi || pi0')`; a critic regressed on Retrace targets built from the
//!   KL-regularized value `V = mean_s Q'(x, a_s) - alpha KL`; a prior distilled with
//!   `KL(sg(pi) || pi0)` on its own parameters, seeing only its observation groups; target
//!   networks hard-copied every `P` steps; three Adam optimizers.
//! - **Algorithm 2** ([`HierLearner`]): a latent `z` resampled in the learner,
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
//! [`Trainer`] trains on any environment: it takes a [`TaskFamily`] (environments over the
//! training tasks and the held-out tasks of any [`bprl_envs::Env`]; the built-in suite is one)
//! and checks the prior's observation groups, named in the configuration, against the
//! environment's spec. It runs actors and the learner around a `bprl-replay` replay, with one
//! acting loop for every mode: the synchronous mode
//! is seeded and bit-reproducible (environment seeds, action noise and learner noise all derive
//! from `run.seed` and counters); the threaded mode ([`Trainer::train_threaded`]) runs several
//! actor threads against a samples-per-insert rate limiter and trades reproducibility for
//! speed; both modes report every episode, evaluate and checkpoint on the same schedule.
//! Checkpoints ([`checkpoint`]) hold the task family, networks, optimizers, targets,
//! counters, history and the replay, written atomically with a `LATEST` pointer and bound
//! together by the run id, the episode and the replay's digest, so `kill -9` at any moment
//! loses at most the work since the last checkpoint and a mixed-up file is refused.
//! Configuration files are strict ([`strict`]) and every size is bounded
//! ([`config::limits`]). NaN or infinity in a loss or a batch stops the
//! run with [`AgentError::NonFinite`] naming where it appeared.
//!
//! ## Your own environment
//!
//! Implement [`bprl_envs::Env`] (named observation groups, a box of actions, `reset(seed)`,
//! `step`) and a [`TaskFamily`] that makes it over training and held-out tasks (or wrap one
//! environment in [`bprl_envs::SingleTask`]), then:
//!
//! ```
//! use bprl_agents::{AgentConfig, PriorConfig, TaskSplit, Trainer};
//! use bprl_envs::Suite; // any TaskFamily; the built-in suite here
//!
//! let mut config = AgentConfig {
//!     prior: PriorConfig::learned(&["proprio"]), // the prior sees this group only
//!     ..AgentConfig::default()
//! };
//! config.learner.batch_size = 4;
//! config.learner.policy_hidden = vec![8];
//! config.learner.critic_hidden = vec![8];
//! config.run.env_steps = 60;
//! config.run.min_replay = 4;
//! let mut trainer = Trainer::new(config, Suite::point_mass_default(), TaskSplit::Train)?;
//! trainer.train(None, &mut |_episode, _eval| Ok(()))?;
//! let eval = trainer.evaluate(2)?;
//! assert!(eval.mean_return.is_finite());
//!
//! // A group the environment does not have is a typed error naming it.
//! let bad = AgentConfig {
//!     prior: PriorConfig::learned(&["joints"]),
//!     ..AgentConfig::default()
//! };
//! let err = Trainer::new(bad, Suite::point_mass_default(), TaskSplit::Train).unwrap_err();
//! assert!(err.to_string().contains("`joints`"));
//! # Ok::<(), bprl_agents::AgentError>(())
//! ```
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
pub mod strict;
pub mod trainer;

pub use agent::{ActorState, Learner, Policy};
pub use bprl_envs::{TaskFamily, TaskSplit};
pub use config::{
    AgentConfig, CriticChoice, HierarchyConfig, LearnerConfig, LowLevel, Preset, PriorConfig,
    RatioPolicy, RunConfig, with_preset,
};
pub use error::{AgentError, ConfigError, Result};
pub use learner::{
    FlatLearner, HierLearner, HierNoise, LearnerState, LossPasses, Metrics, UpdateNoise, flat,
    hierarchical,
};
pub use trainer::{
    Counters, Diagnostics, EpisodeRecord, EvalRecord, StateInfo, Trainer, inspect_state,
};

/// An `f64` constant in the learner's scalar type.
pub(crate) fn cst<F: bprl_policy::Float>(x: f64) -> F {
    <F as bprl_nn::Scalar>::c(x)
}
