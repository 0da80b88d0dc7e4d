//! Errors of building a MuJoCo environment (stepping one returns [`bprl_envs::EnvError`]).

use bprl_envs::EnvError;
use thiserror::Error;

/// What went wrong building a model or an environment.
#[derive(Debug, Error)]
pub enum MujocoError {
    /// MuJoCo rejected the MJCF (its compiler's message).
    #[error("MuJoCo could not load the model: {reason}")]
    ModelLoad {
        /// MuJoCo's message.
        reason: String,
    },
    /// MuJoCo could not allocate the simulation data.
    #[error("MuJoCo could not allocate mjData: {reason}")]
    DataAlloc {
        /// What failed.
        reason: String,
    },
    /// The model lacks a part the environment needs.
    #[error("the model has no {kind} named `{name}`")]
    MissingObject {
        /// `body`, `site`, `joint` or `sensor`.
        kind: &'static str,
        /// The name looked up.
        name: String,
    },
    /// An invalid configuration value.
    #[error("`{field}` = {value} is invalid: {requirement}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A task or start state the environment cannot take.
    #[error("invalid task: {reason}")]
    InvalidTask {
        /// What is wrong.
        reason: String,
    },
}

impl From<MujocoError> for EnvError {
    fn from(e: MujocoError) -> Self {
        match e {
            MujocoError::Config {
                field,
                value,
                requirement,
            } => EnvError::Config {
                field,
                value,
                requirement,
            },
            MujocoError::InvalidTask { reason } => EnvError::InvalidTask { reason },
            other => EnvError::InvalidTask {
                reason: other.to_string(),
            },
        }
    }
}
