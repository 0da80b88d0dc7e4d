//! # bprl-agents
//!
//! Algorithms 1 and 2 of Tirumala et al. 2020 ("Behavior Priors for Efficient Reinforcement
//! Learning"), assembled from the workspace's crates: an agent is networks + learner + actor +
//! config, as in Acme.
#![deny(missing_docs)]

pub mod actor;
pub mod batch;
pub mod checkpoint;
pub mod config;
mod error;
pub mod flat;
pub mod hierarchical;
pub mod learner;
pub mod trainer;

pub use config::{AgentConfig, HierarchyConfig, LearnerConfig, LowLevel, PriorConfig, RatioPolicy, RunConfig};
pub use error::{AgentError, ConfigError, Result};
pub use learner::Learner;
pub use trainer::{Counters, EpisodeRecord, EvalRecord, Tasks, Trainer};

/// An `f64` constant in the learner's scalar type.
pub(crate) fn cst<F: bprl_policy::Float>(x: f64) -> F {
    <F as bprl_nn::Scalar>::c(x)
}
