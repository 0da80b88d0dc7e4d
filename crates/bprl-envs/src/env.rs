//! The environment interface (in the spirit of dm_env / Gymnasium).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a time step stands in its episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepType {
    /// The first observation after `reset`.
    First,
    /// A step inside the episode.
    Mid,
    /// The episode's final observation.
    Last,
}

/// Why an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EpisodeEnd {
    /// The task was completed: no future; the discount is 0.
    Terminated,
    /// The time limit was hit: the future exists but is cut; the discount stays 1.
    Truncated,
    /// The episode ended in failure (the walker flipped over): no future, the discount is 0,
    /// and it is not a success.
    Failed,
}

impl EpisodeEnd {
    /// Whether the task was completed: what the trainer and the evaluations count as a
    /// success (only [`EpisodeEnd::Terminated`]).
    pub fn is_success(self) -> bool {
        self == EpisodeEnd::Terminated
    }

    /// Whether the episode has no future (discount 0): completed or failed, as Gymnasium's
    /// `terminated`.
    pub fn is_terminal(self) -> bool {
        matches!(self, EpisodeEnd::Terminated | EpisodeEnd::Failed)
    }
}

/// What `reset` and `step` return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeStep {
    /// First, middle or last.
    pub step_type: StepType,
    /// Observation groups in the order of [`Env::observation_spec`].
    pub observation: Vec<Vec<f32>>,
    /// The reward of the transition into this observation (0 for `First`).
    pub reward: f32,
    /// The discount of that transition: 0 on termination, 1 otherwise.
    pub discount: f32,
    /// Set on the `Last` step.
    pub end: Option<EpisodeEnd>,
}

impl TimeStep {
    /// All groups concatenated in spec order.
    pub fn flat_observation(&self) -> Vec<f32> {
        self.observation.iter().flatten().copied().collect()
    }

    /// Whether this is the episode's last step.
    pub fn is_last(&self) -> bool {
        self.step_type == StepType::Last
    }
}

/// A box of actions `[low, high]^dim`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// Number of action dimensions.
    pub dim: usize,
    /// Lower bound of every dimension.
    pub low: f32,
    /// Upper bound of every dimension.
    pub high: f32,
}

/// What went wrong with a call into an environment.
#[derive(Debug, Error)]
pub enum EnvError {
    /// An action of the wrong length.
    #[error("action has {actual} values, the action spec has {expected}")]
    ActionShape {
        /// Expected length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// A NaN or infinite action component.
    #[error("action component {index} is {value}, not finite")]
    NonFiniteAction {
        /// Its index.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// `step` after the episode ended, or before the first `reset`.
    #[error("step called without a running episode: call reset first")]
    NeedsReset,
    /// A task or layout the environment cannot take.
    #[error("invalid task: {reason}")]
    InvalidTask {
        /// What is wrong.
        reason: String,
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
    /// Rendering or writing a picture failed.
    #[error("render {path}: {reason}")]
    Render {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        reason: String,
    },
}

/// An episodic environment with named observation groups and a box action space.
///
/// # Contract
/// - `reset(seed)` starts an episode (deterministically for a seed) and returns a `First` step.
/// - `step(action)` advances one step; the action is checked (wrong length or NaN: a typed
///   error, the state unchanged) and **clipped** to the action box. After a `Last` step, `step`
///   returns [`EnvError::NeedsReset`] until the next `reset`.
/// - Every returned observation has the groups and lengths of `observation_spec`.
pub trait Env {
    /// The observation groups `(name, length)` in order.
    fn observation_spec(&self) -> &[(String, usize)];
    /// The action box.
    fn action_spec(&self) -> ActionSpec;
    /// Starts a new episode.
    fn reset(&mut self, seed: u64) -> TimeStep;
    /// Advances one step.
    ///
    /// # Errors
    /// [`EnvError::ActionShape`], [`EnvError::NonFiniteAction`], [`EnvError::NeedsReset`].
    fn step(&mut self, action: &[f32]) -> Result<TimeStep, EnvError>;
}

/// Checks an action against the spec and returns it clipped to the box.
///
/// # Errors
/// [`EnvError::ActionShape`] or [`EnvError::NonFiniteAction`].
pub fn clip_action(spec: ActionSpec, action: &[f32]) -> Result<Vec<f32>, EnvError> {
    if action.len() != spec.dim {
        return Err(EnvError::ActionShape {
            expected: spec.dim,
            actual: action.len(),
        });
    }
    if let Some(index) = action.iter().position(|a| !a.is_finite()) {
        return Err(EnvError::NonFiniteAction {
            index,
            value: action[index],
        });
    }
    Ok(action
        .iter()
        .map(|a| a.clamp(spec.low, spec.high))
        .collect())
}
